// SPDX-License-Identifier: LGPL-2.1-or-later
//! Generates one test per case of the networkxml2conf and
//! networkxml2firewall manifests (tests/corpus.rs includes them).

use std::fmt::Write as _;
use std::path::PathBuf;

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let corpus = manifest_dir.join("../../../shared/conformance/libvirt-9.6/manifests");
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_default());
    let mut code = String::new();
    for name in ["networkxml2conf", "networkxml2firewall"] {
        let path = corpus.join(format!("{name}.tsv"));
        println!("cargo:rerun-if-changed={}", path.display());
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let _ = writeln!(code, "mod {name} {{\n    use super::*;");
        for line in text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        {
            let mut cols = line.split('\t').map(str::trim);
            let (case, mode, extra) = (
                cols.next().unwrap_or(""),
                cols.next().unwrap_or(""),
                cols.next().unwrap_or(""),
            );
            let mut ident: String = case
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect();
            if ident.starts_with(|c: char| c.is_ascii_digit()) {
                ident.insert(0, '_');
            }
            let _ = writeln!(
                code,
                "    #[test]\n    fn {ident}() {{ run_case({name:?}, {case:?}, {mode:?}, {extra:?}); }}"
            );
        }
        code.push_str("}\n");
    }
    let _ = std::fs::write(out_dir.join("corpus_cases.rs"), code);
}

// SPDX-License-Identifier: LGPL-2.1-or-later
//! Generates one test per corpus case from the conformance manifests.

use std::fmt::Write as _;
use std::path::PathBuf;

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let corpus = manifest_dir.join("../../../shared/conformance/libvirt-9.6");
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_default());
    let known =
        std::fs::read_to_string(manifest_dir.join("tests/known_failures.txt")).unwrap_or_default();
    println!("cargo:rerun-if-changed=tests/known_failures.txt");
    let mut code = String::new();
    for corpus_name in ["genericxml2xml", "lxcxml2xml"] {
        let path = corpus.join("manifests").join(format!("{corpus_name}.tsv"));
        println!("cargo:rerun-if-changed={}", path.display());
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let _ = writeln!(code, "mod {corpus_name} {{\n    use super::*;");
        for line in text.lines() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let mut cols = line.split('\t');
            let case = cols.next().unwrap_or("").trim();
            let mode = cols.next().unwrap_or("").trim();
            let extra = cols.next().unwrap_or("").trim();
            if case.is_empty() {
                continue;
            }
            let ident: String = case
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect();
            let key = format!("{corpus_name}::{case}");
            let reason = known.lines().find_map(|l| {
                let (k, r) = l.split_once('\t')?;
                (k.trim() == key).then(|| r.trim().to_string())
            });
            if let Some(r) = reason {
                let _ = writeln!(code, "    #[ignore = {:?}]", r);
            }
            let _ = writeln!(
                code,
                "    #[test]\n    fn {ident}() {{ run_case({corpus_name:?}, {case:?}, {mode:?}, {extra:?}); }}"
            );
        }
        code.push_str("}\n");
    }
    let _ = std::fs::write(out_dir.join("corpus_cases.rs"), code);
}

// SPDX-License-Identifier: LGPL-2.1-or-later
//! Generates one test per line of the domaincaps manifest
//! (`domaincaps_cases.rs`, used by tests/domaincaps_corpus.rs).

use std::fmt::Write as _;
use std::path::PathBuf;

/// The Rust test name of a case: non-alphanumerics become `_`, a leading
/// digit gets a `_` before it.
fn ident(case: &str) -> String {
    let s: String = case
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if s.starts_with(|c: char| c.is_ascii_digit()) {
        format!("_{s}")
    } else {
        s
    }
}

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let corpus = manifest_dir.join("../../../shared/conformance/libvirt-9.6");
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_default());
    let known =
        std::fs::read_to_string(manifest_dir.join("tests/known_failures.txt")).unwrap_or_default();
    println!("cargo:rerun-if-changed=tests/known_failures.txt");
    let path = corpus.join("manifests/domaincaps.tsv");
    println!("cargo:rerun-if-changed={}", path.display());
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let mut code = String::from("mod domaincaps {\n    use super::*;\n");
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let mut cols = line.split('\t');
        let case = cols.next().unwrap_or("").trim();
        let mode = cols.next().unwrap_or("").trim();
        let extra = cols.next().unwrap_or("").trim();
        let caps = cols.next().unwrap_or("").trim();
        if case.is_empty() {
            continue;
        }
        let key = format!("domaincaps::{case}");
        if let Some(r) = known.lines().find_map(|l| {
            let (k, r) = l.split_once('\t')?;
            (k.trim() == key).then(|| r.trim().to_string())
        }) {
            let _ = writeln!(code, "    #[ignore = {r:?}]");
        }
        let _ = writeln!(
            code,
            "    #[test]\n    fn {}() {{ run_case({case:?}, {mode:?}, {extra:?}, {caps:?}); }}",
            ident(case)
        );
    }
    code.push_str("}\n");
    let _ = std::fs::write(out_dir.join("domaincaps_cases.rs"), code);
}

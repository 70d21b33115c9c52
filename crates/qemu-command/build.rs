// SPDX-License-Identifier: LGPL-2.1-or-later
//! Generates one test per qemuxml2argv corpus case (tests/corpus.rs), named
//! `qemuxml2argv::CASE`; cases listed in tests/known_failures.txt
//! (`qemuxml2argv::CASE<TAB>reason`) are ignored with their reason.

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
    let dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let corpus = dir.join("../../../shared/conformance/libvirt-9.6");
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_default());
    let known = std::fs::read_to_string(dir.join("tests/known_failures.txt")).unwrap_or_default();
    println!("cargo:rerun-if-changed=tests/known_failures.txt");
    let manifest = corpus.join("manifests/qemuxml2argv.tsv");
    println!("cargo:rerun-if-changed={}", manifest.display());
    let text = std::fs::read_to_string(&manifest).unwrap_or_default();
    let mut code = String::from("mod qemuxml2argv {\n    use super::*;\n");
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
        let key = format!("qemuxml2argv::{case}");
        let reason = known.lines().find_map(|l| {
            let (k, r) = l.split_once('\t')?;
            (k.trim() == key).then(|| r.trim().to_string())
        });
        if let Some(r) = reason {
            let _ = writeln!(code, "    #[ignore = {r:?}]");
        }
        let name = ident(case);
        if name.chars().any(|c| c.is_ascii_uppercase()) {
            code.push_str("    #[allow(non_snake_case)]\n");
        }
        let _ = writeln!(
            code,
            "    #[test]\n    fn {name}() {{ run_case({case:?}, {mode:?}, {extra:?}); }}"
        );
    }
    code.push_str("}\n");
    let _ = std::fs::write(out.join("qemuxml2argv_cases.rs"), code);
}

// SPDX-License-Identifier: LGPL-2.1-or-later
//! Build-time generator of corpus tests, used from a crate's `build.rs`
//! as a build-dependency: [`generate`] writes one `#[test]` per case of a
//! suite of ../shared/conformance/libvirt-9.6 (its manifest
//! `manifests/SUITE.tsv`: case, mode, extra, tab-separated) into
//! `OUT_DIR/SUITE_cases.rs`, as `SUITE::CASE` calling the including
//! test file's `run_case(case, mode, extra)`. Cases listed in the crate's
//! tests/known_failures.txt (`SUITE::CASE<TAB>reason`) are ignored with
//! their reason.
//!
//! Must not depend on: other project crates (it runs inside build
//! scripts).
#![forbid(unsafe_code)]

use std::fmt::Write as _;
use std::path::PathBuf;

/// The Rust test name of a case: non-alphanumerics become `_`, a leading
/// digit gets a `_` before it.
pub fn ident(case: &str) -> String {
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

/// The test module for `suite` from its manifest text and the crate's
/// known failures.
pub fn cases_module(suite: &str, manifest: &str, known: &str) -> String {
    let mut code = format!("mod {suite} {{\n    use super::*;\n");
    for line in manifest.lines() {
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
        let key = format!("{suite}::{case}");
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
    code
}

/// Called from `build.rs`: writes `OUT_DIR/SUITE_cases.rs` for the
/// calling crate (its manifest directory is `CARGO_MANIFEST_DIR`).
pub fn generate(suite: &str) {
    let dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let corpus = dir.join("../../../shared/conformance/libvirt-9.6");
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_default());
    let known = std::fs::read_to_string(dir.join("tests/known_failures.txt")).unwrap_or_default();
    println!("cargo:rerun-if-changed=tests/known_failures.txt");
    let manifest = corpus.join(format!("manifests/{suite}.tsv"));
    println!("cargo:rerun-if-changed={}", manifest.display());
    let text = std::fs::read_to_string(&manifest).unwrap_or_default();
    let code = cases_module(suite, &text, &known);
    let _ = std::fs::write(out.join(format!("{suite}_cases.rs")), code);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cases_become_tests_and_known_failures_are_ignored() {
        let m = "# case\tmode\n1-cpu\targv\t\nfoo-Bar\targv\tx\n";
        let known = "s::foo-Bar\tnot done\n";
        let code = cases_module("s", m, known);
        assert!(code.contains("fn _1_cpu() { run_case(\"1-cpu\", \"argv\", \"\"); }"));
        assert!(code.contains(
            "#[ignore = \"not done\"]\n    #[allow(non_snake_case)]\n    #[test]\n    fn foo_Bar()"
        ));
        assert_eq!(code.matches("#[test]").count(), 2);
    }
}

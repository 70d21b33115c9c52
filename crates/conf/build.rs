// SPDX-License-Identifier: LGPL-2.1-or-later
//! Generates one test per corpus case from the conformance manifests:
//! `corpus_cases.rs` (domain corpora, tests/corpus.rs) and
//! `network_cases.rs` (network and network port corpora,
//! tests/network_corpus.rs), `secret_cases.rs` (tests/secret_corpus.rs), `nodedev_cases.rs`
//! (tests/nodedev_corpus.rs) and `interface_cases.rs` (tests/interface_corpus.rs).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

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

fn generate(corpus: &Path, known: &str, corpora: &[&str]) -> String {
    let mut code = String::new();
    for corpus_name in corpora {
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
            let key = format!("{corpus_name}::{case}");
            let reason = known.lines().find_map(|l| {
                let (k, r) = l.split_once('\t')?;
                (k.trim() == key).then(|| r.trim().to_string())
            });
            if let Some(r) = reason {
                let _ = writeln!(code, "    #[ignore = {:?}]", r);
            }
            let name = ident(case);
            if name.chars().any(|c| c.is_ascii_uppercase()) {
                code.push_str("    #[allow(non_snake_case)]\n");
            }
            let _ = writeln!(
                code,
                "    #[test]\n    fn {name}() {{ run_case({corpus_name:?}, {case:?}, {mode:?}, {extra:?}); }}"
            );
        }
        code.push_str("}\n");
    }
    code
}

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let corpus = manifest_dir.join("../../../shared/conformance/libvirt-9.6");
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_default());
    let known =
        std::fs::read_to_string(manifest_dir.join("tests/known_failures.txt")).unwrap_or_default();
    println!("cargo:rerun-if-changed=tests/known_failures.txt");
    let domain = generate(&corpus, &known, &["genericxml2xml", "lxcxml2xml"]);
    let _ = std::fs::write(out_dir.join("corpus_cases.rs"), domain);
    let network = generate(&corpus, &known, &["networkxml2xml", "networkportxml2xml"]);
    let _ = std::fs::write(out_dir.join("network_cases.rs"), network);
    let secret = generate(&corpus, &known, &["secretxml2xml"]);
    let _ = std::fs::write(out_dir.join("secret_cases.rs"), secret);
    let storage = generate(
        &corpus,
        &known,
        &[
            "storagepoolxml2xml",
            "storagevolxml2xml",
            "storagepoolcaps",
            "storagevolxml2argv",
            "storagepoolxml2argv",
        ],
    );
    let _ = std::fs::write(out_dir.join("storage_cases.rs"), storage);
    let nodedev = generate(&corpus, &known, &["nodedevxml2xml"]);
    let _ = std::fs::write(out_dir.join("nodedev_cases.rs"), nodedev);
    let interface = generate(&corpus, &known, &["interfacexml2xml"]);
    let _ = std::fs::write(out_dir.join("interface_cases.rs"), interface);
}

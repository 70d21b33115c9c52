// SPDX-License-Identifier: LGPL-2.1-or-later
//! Generates one test per corpus case: xlconfig and libxlxml2domconfig from
//! their manifests, xmconfig from the .cfg/.xml pairs in xmconfigdata.

use std::fmt::Write as _;
use std::path::PathBuf;

/// xm cases libvirt checks only in the cfg → XML direction.
const XM_CFG_TO_XML_ONLY: &[&str] = &[
    "paravirt-root",
    "paravirt-extra-root",
    "fullvirt-default-feature",
    "pci-dev-syntax",
];

fn ident(case: &str) -> String {
    case.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

fn emit(code: &mut String, known: &str, corpus: &str, case: &str, args: &str) {
    let key = format!("{corpus}::{case}");
    let reason = known.lines().find_map(|l| {
        let (k, r) = l.split_once('\t')?;
        (k.trim() == key).then(|| r.trim().to_string())
    });
    if let Some(r) = reason {
        let _ = writeln!(code, "    #[ignore = {r:?}]");
    }
    let _ = writeln!(
        code,
        "    #[test]\n    fn {}() {{ run_{corpus}({case:?}, {args}); }}",
        ident(case)
    );
}

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let corpus = manifest_dir.join("../../../shared/conformance/libvirt-9.6");
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_default());
    let known =
        std::fs::read_to_string(manifest_dir.join("tests/known_failures.txt")).unwrap_or_default();
    println!("cargo:rerun-if-changed=tests/known_failures.txt");
    let mut code = String::new();

    for corpus_name in ["xlconfig", "libxlxml2domconfig"] {
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
            if case.is_empty() {
                continue;
            }
            emit(&mut code, &known, corpus_name, case, &format!("{mode:?}"));
        }
        code.push_str("}\n");
    }

    let xm_dir = corpus.join("xmconfigdata");
    println!("cargo:rerun-if-changed={}", xm_dir.display());
    let mut names: Vec<String> = std::fs::read_dir(&xm_dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter_map(|e| e.file_name().to_str().map(str::to_string))
                .filter_map(|n| n.strip_suffix(".cfg").map(str::to_string))
                .filter(|n| xm_dir.join(format!("{n}.xml")).exists())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    code.push_str("mod xmconfig {\n    use super::*;\n");
    for file in names {
        let case = file.strip_prefix("test-").unwrap_or(&file).to_string();
        let both = !XM_CFG_TO_XML_ONLY.contains(&case.as_str());
        emit(
            &mut code,
            &known,
            "xmconfig",
            &case,
            &format!("{file:?}, {both}"),
        );
    }
    code.push_str("}\n");
    let _ = std::fs::write(out_dir.join("corpus_cases.rs"), code);
}

// SPDX-License-Identifier: LGPL-2.1-or-later
//! Generates one test per case of the lxcconf2xml conformance manifest.

use std::fmt::Write as _;
use std::path::PathBuf;

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let manifest =
        manifest_dir.join("../../../shared/conformance/libvirt-9.6/manifests/lxcconf2xml.tsv");
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_default());
    println!("cargo:rerun-if-changed={}", manifest.display());
    println!("cargo:rerun-if-changed=build.rs");
    let text = std::fs::read_to_string(&manifest).unwrap_or_default();
    let mut code = String::from("mod lxcconf2xml {\n    use super::*;\n");
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let mut cols = line.split('\t');
        let case = cols.next().unwrap_or("").trim();
        let mode = cols.next().unwrap_or("").trim();
        let fail = cols.next().unwrap_or("").trim() == "true";
        if case.is_empty() {
            continue;
        }
        let ident: String = case
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        let _ = writeln!(
            code,
            "    #[test]\n    fn {ident}() {{ run_case({case:?}, {mode:?}, {fail}); }}"
        );
    }
    code.push_str("}\n");
    let _ = std::fs::write(out_dir.join("lxcconf2xml_cases.rs"), code);
}

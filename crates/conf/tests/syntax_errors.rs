// SPDX-License-Identifier: LGPL-2.1-or-later
//! Malformed documents get the report Debian's C libvirtd (libvirt 9.0 on
//! libxml2 2.9.14) gives: libxml2's first fatal error with its line, the
//! source line and the caret, under the document kind's file name. The
//! expected texts in data/libxml2-syntax-errors.json were captured from the
//! C daemon by `scripts/xml-differential.py --capture-syntax`.

use conf::error::XML_DETAIL;
use conf::xml::parse_document;

#[test]
fn syntax_errors_match_c_libvirtd() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/libxml2-syntax-errors.json"
    );
    let data = std::fs::read_to_string(path).expect("golden data");
    let cases: Vec<serde_json::Value> = serde_json::from_str(&data).expect("valid JSON");
    let mut checked = 0;
    let mut failures = Vec::new();
    for c in &cases {
        let docname = c["docname"].as_str().unwrap_or_default();
        let Some(message) = c["message"].as_str() else {
            continue;
        };
        // Errors of later stages (a well-formed document C refuses for
        // another reason) are the differential harness's business.
        if !message.starts_with(docname) {
            continue;
        }
        let root = match c["kind"].as_str() {
            Some("pool") => "pool",
            Some("volume") => "volume",
            Some("network") => "network",
            _ => "domain",
        };
        let input = c["input"].as_str().unwrap_or_default();
        checked += 1;
        match parse_document(input, docname, root) {
            Ok(_) => failures.push(format!("{}/{}: parsed", c["kind"], c["case"])),
            Err(e) => {
                if e.code != XML_DETAIL || e.detail_text() != message {
                    failures.push(format!(
                        "{}/{}:\n  want {message:?}\n  got  {:?}",
                        c["kind"],
                        c["case"],
                        e.detail_text()
                    ));
                }
            }
        }
    }
    assert!(checked > 100, "only {checked} cases checked");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn undeclared_prefix_is_not_an_error() {
    // libxml2 only warns: the element keeps its prefixed name.
    let e = parse_document(
        "<domain type='test'>\n  <foo:bar/>\n</domain>\n",
        "(domain_definition)",
        "domain",
    )
    .expect("well formed for libxml2");
    assert_eq!(
        e.elements().next().map(|c| c.name.as_str()),
        Some("foo:bar")
    );
    assert!(e.attrs.iter().all(|(k, _)| !k.starts_with("xmlns")));
}

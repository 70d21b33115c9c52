// SPDX-License-Identifier: LGPL-2.1-or-later
//! libvirt's lxcconf2xml corpus: native LXC configs (legacy and 3.0
//! dialects) converted to domain XML, compared byte for byte. The harness
//! facts follow libvirt's test: the UUID is fixed afterwards, the
//! emulator is /usr/libexec/libvirt_lxc, the XML is formatted inactive.

use std::path::PathBuf;

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/conformance/libvirt-9.6/lxcconf2xmldata")
}

/// `NAME-v3` reads `lxcconf2xml-NAME-v3.config` and expects `lxcconf2xml-NAME.xml`.
fn run_case(case: &str, _mode: &str, expect_error: bool) {
    let dir = corpus();
    let config = std::fs::read_to_string(dir.join(format!("lxcconf2xml-{case}.config")))
        .unwrap_or_else(|e| panic!("reading config of {case}: {e}"));
    let base = case.strip_suffix("-v3").unwrap_or(case);
    let res = driver_lxc::native::lxc_config_to_def(&config, "/usr/libexec/libvirt_lxc");
    if expect_error {
        assert!(res.is_err(), "{case}: conversion should fail");
        return;
    }
    let mut def = res.unwrap_or_else(|e| panic!("{case}: {}", e.message()));
    def.uuid =
        conf::Uuid::parse("c7a5fdbd-edaf-9455-926a-d65c16db1809").unwrap_or_else(|| panic!("uuid"));
    let actual = def.to_xml(&conf::FormatFlags::default());
    let expected = std::fs::read_to_string(dir.join(format!("lxcconf2xml-{base}.xml")))
        .unwrap_or_else(|e| panic!("reading expected XML of {case}: {e}"));
    assert_eq!(actual, expected, "{case}");
}

include!(concat!(env!("OUT_DIR"), "/lxcconf2xml_cases.rs"));

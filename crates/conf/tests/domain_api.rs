// SPDX-License-Identifier: LGPL-2.1-or-later
//! Domain API behaviour drivers depend on: error codes and wording,
//! units, live id handling, metadata setters and getters.

use conf::domain::{METADATA_DESCRIPTION, METADATA_ELEMENT, METADATA_TITLE};
use conf::error::{
    CONFIG_UNSUPPORTED, INTERNAL_ERROR, NO_DOMAIN_METADATA, NO_NAME, XML_DETAIL, XML_ERROR,
};
use conf::{DomainDef, FormatFlags, ParseFlags};

const BASE: &str = "<domain type='test' id='3'><name>t</name><uuid>c7a5fdbd-edaf-9455-926a-d65c16db1809</uuid><memory unit='MiB'>8</memory><os><type>hvm</type></os></domain>";

fn live() -> ParseFlags {
    ParseFlags::default()
}

#[test]
fn units_are_normalised_to_kib_and_defaults_filled() {
    let d = DomainDef::parse_str(BASE, &live()).unwrap();
    assert_eq!(d.memory_kib, 8192);
    assert_eq!(d.current_memory_kib, 8192);
    assert_eq!(d.id, Some(3));
    assert_eq!(d.os.boot_devs, vec!["hd".to_string()]);
    let x = d.to_xml(&FormatFlags::default());
    assert!(
        x.starts_with("<domain type='test' id='3'>\n  <name>t</name>\n"),
        "{x}"
    );
    assert!(x.contains("  <memory unit='KiB'>8192</memory>\n  <currentMemory unit='KiB'>8192</currentMemory>\n  <vcpu placement='static'>1</vcpu>\n"));
    let inactive = d.to_xml(&FormatFlags {
        inactive: true,
        ..Default::default()
    });
    assert!(inactive.starts_with("<domain type='test'>\n"));
}

#[test]
fn inactive_parse_ignores_id() {
    let d = DomainDef::parse_str(
        BASE,
        &ParseFlags {
            inactive: true,
            validate_schema: false,
        },
    )
    .unwrap();
    assert_eq!(d.id, None);
}

#[test]
fn missing_uuid_is_generated() {
    let d = DomainDef::parse_str(
        &BASE.replace("<uuid>c7a5fdbd-edaf-9455-926a-d65c16db1809</uuid>", ""),
        &live(),
    )
    .unwrap();
    assert!(!d.uuid.is_all_zero());
}

#[test]
fn errors_carry_libvirt_codes() {
    let cases: &[(&str, conf::error::ErrorCode, &str)] = &[
        (
            &BASE.replace("<name>t</name>", ""),
            NO_NAME,
            // No detail: the code's own words are the whole message.
            "",
        ),
        (
            &BASE.replace("c7a5fdbd-edaf", "zzz"),
            INTERNAL_ERROR,
            "malformed uuid element",
        ),
        (
            &BASE.replace("type='test'", "type='bogus'"),
            CONFIG_UNSUPPORTED,
            "invalid domain type bogus",
        ),
        (
            &BASE.replace("<os><type>hvm</type></os>", ""),
            XML_ERROR,
            "an os <type> must be specified",
        ),
        (
            &BASE.replace("<type>hvm</type>", "<type>dos</type>"),
            CONFIG_UNSUPPORTED,
            "unknown OS type 'dos'",
        ),
        (
            &BASE.replace("<name>t</name>", "<name>a/b</name>"),
            XML_ERROR,
            "name a/b cannot contain '/'",
        ),
        (
            &BASE.replace("<memory unit='MiB'>8</memory>", ""),
            XML_ERROR,
            "Memory size must be specified via <memory> or in the <numa> configuration",
        ),
        (
            &BASE.replace("<type>hvm</type>", "<type>exe</type>"),
            XML_ERROR,
            "init binary must be specified",
        ),
        (
            "<network/>",
            XML_ERROR,
            "expecting root element of 'domain', not 'network'",
        ),
    ];
    for (xml, code, msg) in cases {
        let e = DomainDef::parse_str(xml, &live()).unwrap_err();
        assert_eq!((e.code, e.detail_text()), (*code, *msg), "for {xml}");
        if *code == NO_NAME {
            assert_eq!(e.message(), "missing name information");
        }
    }
    let e = DomainDef::parse_str("<domain type='test'><name>", &live()).unwrap_err();
    assert_eq!(e.code, XML_DETAIL);
    assert!(
        e.detail_text().starts_with("(domain_definition):1: "),
        "{}",
        e.detail_text()
    );
    let e =
        DomainDef::parse_str(&BASE.replace("unit='MiB'", "unit='parsec'"), &live()).unwrap_err();
    assert_eq!(e.detail_text(), "unknown suffix 'parsec'");
}

#[test]
fn title_and_description_metadata() {
    let mut d = DomainDef::parse_str(BASE, &live()).unwrap();
    let e = d.get_metadata(METADATA_TITLE, None).unwrap_err();
    assert_eq!(e.code, NO_DOMAIN_METADATA);
    d.set_metadata(METADATA_TITLE, Some("My <guest>"), None, None)
        .unwrap();
    d.set_metadata(METADATA_DESCRIPTION, Some("desc"), None, None)
        .unwrap();
    assert_eq!(d.get_metadata(METADATA_TITLE, None).unwrap(), "My <guest>");
    let x = d.to_xml(&FormatFlags::default());
    assert!(
        x.contains("  <title>My &lt;guest&gt;</title>\n  <description>desc</description>\n"),
        "{x}"
    );
    assert!(d
        .set_metadata(METADATA_TITLE, Some("a\nb"), None, None)
        .is_err());
    d.set_metadata(METADATA_TITLE, None, None, None).unwrap();
    assert_eq!(
        d.get_metadata(METADATA_TITLE, None).unwrap_err().code,
        NO_DOMAIN_METADATA
    );
}

#[test]
fn element_metadata_round_trips_in_libxml_style() {
    let mut d = DomainDef::parse_str(BASE, &live()).unwrap();
    d.set_metadata(
        METADATA_ELEMENT,
        Some("<foo bar='1'><baz>x</baz></foo>"),
        Some("app"),
        Some("http://example.org/app"),
    )
    .unwrap();
    let got = d
        .get_metadata(METADATA_ELEMENT, Some("http://example.org/app"))
        .unwrap();
    // As C answers: the element comes back out of the caller's namespace.
    assert_eq!(got, "<foo bar=\"1\">\n  <baz>x</baz>\n</foo>");
    let x = d.to_xml(&FormatFlags::default());
    assert!(
        x.contains("  <metadata>\n    <app:foo xmlns:app=\"http://example.org/app\" bar=\"1\">\n      <app:baz>x</app:baz>\n    </app:foo>\n  </metadata>\n"),
        "{x}"
    );
    // The formatted document parses back to the same metadata.
    let again = DomainDef::parse_str(&x, &live()).unwrap();
    assert_eq!(again.to_xml(&FormatFlags::default()), x);
    let e = d
        .get_metadata(METADATA_ELEMENT, Some("http://other"))
        .unwrap_err();
    assert_eq!(e.code, NO_DOMAIN_METADATA);
    d.set_metadata(METADATA_ELEMENT, None, None, Some("http://example.org/app"))
        .unwrap();
    assert!(d.metadata.is_none());
}

#[test]
fn element_metadata_keeps_namespaces_it_brings() {
    let mut d = DomainDef::parse_str(BASE, &live()).unwrap();
    // An element already in a namespace stays in it and only gains the
    // key's declaration (C's virXMLInjectNamespace).
    d.set_metadata(
        METADATA_ELEMENT,
        Some("<o:thing xmlns:o='http://o/'>t</o:thing>"),
        Some("k"),
        Some("http://k/"),
    )
    .unwrap();
    assert_eq!(
        d.metadata.as_deref(),
        Some("<o:thing xmlns:o=\"http://o/\" xmlns:k=\"http://k/\">t</o:thing>")
    );
    assert_eq!(
        d.get_metadata(METADATA_ELEMENT, Some("http://k/"))
            .unwrap_err()
            .code,
        NO_DOMAIN_METADATA
    );
    assert_eq!(
        d.get_metadata(METADATA_ELEMENT, Some("http://o/")).unwrap(),
        "<thing xmlns:k=\"http://k/\">t</thing>"
    );
    // Only unqualified elements without a default namespace move into it.
    d.set_metadata(
        METADATA_ELEMENT,
        Some("<r><d/><e xmlns='http://def/'><f/></e></r>"),
        Some("n"),
        Some("http://n/"),
    )
    .unwrap();
    let x = d.to_xml(&FormatFlags::default());
    assert!(
        x.contains("    <n:r xmlns:n=\"http://n/\">\n      <n:d/>\n      <e xmlns=\"http://def/\">\n        <f/>\n      </e>\n    </n:r>\n"),
        "{x}"
    );
    for (key, code) in [("1x", INTERNAL_ERROR), ("a:b", INTERNAL_ERROR)] {
        let e = d
            .set_metadata(METADATA_ELEMENT, Some("<a/>"), Some(key), Some("http://a/"))
            .unwrap_err();
        assert_eq!(
            (e.code, e.detail_text()),
            (code, "failed to validate prefix for a new XML namespace")
        );
    }
    let e = d
        .set_metadata(
            METADATA_ELEMENT,
            Some("<a/><b/>"),
            Some("a"),
            Some("http://a/"),
        )
        .unwrap_err();
    assert_eq!(e.code, XML_DETAIL);
}

#[test]
fn metadata_drops_unnamespaced_and_duplicate_children() {
    let xml = BASE.replace(
        "<memory",
        "<metadata><plain/><a:x xmlns:a='urn:a'>1</a:x><b:y xmlns:b='urn:a'>2</b:y></metadata><memory",
    );
    let d = DomainDef::parse_str(&xml, &live()).unwrap();
    let x = d.to_xml(&FormatFlags::default());
    assert!(
        x.contains("  <metadata>\n    <a:x xmlns:a=\"urn:a\">1</a:x>\n  </metadata>\n"),
        "{x}"
    );
}

#[test]
fn setters_enforce_limits() {
    let mut d = DomainDef::parse_str(BASE, &live()).unwrap();
    d.set_vcpus_max(4).unwrap();
    d.set_vcpus(2).unwrap();
    assert!(d.set_vcpus(5).is_err());
    assert!(d
        .to_xml(&FormatFlags::default())
        .contains("<vcpu placement='static' current='2'>4</vcpu>"));
    d.set_memory_kib(4096);
    assert_eq!(d.current_memory_kib, 4096);
    assert!(d.set_current_memory_kib(8192).is_err());
}

#[test]
fn lxc_typed_views() {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/conformance/libvirt-9.6/lxcxml2xmldata/lxc-idmap.xml");
    let d = DomainDef::parse_str(&std::fs::read_to_string(path).unwrap(), &live()).unwrap();
    assert_eq!(d.os.boot.init.as_deref(), Some("/sbin/init"));
    assert_eq!(d.idmap.uid[0].target, 100000);
    assert_eq!(d.resource_partition().as_deref(), Some("/machine"));
    let fs = d.filesystems();
    assert_eq!(
        (fs[0].source.as_deref(), fs[0].target.as_str()),
        (Some("/mach/jessie"), "/")
    );
    let net = d.interfaces();
    assert_eq!(net[0].bridge.as_deref(), Some("bri0"));
    assert_eq!(net[0].ips.len(), 2);
    assert_eq!(d.consoles()[0].target_type.as_deref(), Some("lxc"));
}

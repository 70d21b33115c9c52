// SPDX-License-Identifier: LGPL-2.1-or-later
//! Unprivileged checks of the LXC driver's documents: capabilities and
//! defined domains validate against libvirt's RELAX NG schemas (when
//! xmllint is installed), the VALIDATE flags refuse schema-invalid
//! documents, and domain capabilities are unsupported as in libvirt.
//! Nothing here starts a container; the driver works on temporary
//! directories.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

use driver::consts::{create, define};
use driver::error::ErrorCode;
use driver::{ConnectAuth, Connection, DriverFactory, Uri};
use driver_lxc::{LxcDriverConfig, LxcDriverFactory};

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/libvirt-9.6")
}

fn xmllint_available() -> bool {
    Command::new("xmllint")
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

fn relaxng_check(doc: &str, schema: &str, tag: &str) -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!("driver-lxc-schema-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let file = dir.join(format!("{tag}.xml"));
    std::fs::write(&file, doc).map_err(|e| e.to_string())?;
    let out = Command::new("xmllint")
        .arg("--noout")
        .arg("--relaxng")
        .arg(corpus().join("schemas").join(schema))
        .arg(&file)
        .output()
        .map_err(|e| e.to_string())?;
    let _ = std::fs::remove_file(&file);
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// A connection on private temporary directories. `privileged` is the
/// driver's configuration flag; opening a connection and defining domains
/// needs no root.
fn open(tag: &str) -> (Arc<dyn Connection>, PathBuf) {
    let base = std::env::temp_dir().join(format!("driver-lxc-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let cfg =
        LxcDriverConfig::from_dirs(true, base.join("etc"), base.join("run"), base.join("log"));
    let f = LxcDriverFactory::new(cfg);
    let c = f
        .open(
            &Uri::parse("lxc:///system").expect("uri"),
            &ConnectAuth::default(),
        )
        .expect("open");
    (c, base)
}

fn lxc_corpus_inputs() -> Vec<(String, String)> {
    let text =
        std::fs::read_to_string(corpus().join("manifests/lxcxml2xml.tsv")).unwrap_or_default();
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split('\t').next())
        .filter(|c| !c.is_empty())
        .map(|c| {
            let p = corpus().join(format!("lxcxml2xmldata/lxc-{c}.xml"));
            (
                c.to_string(),
                std::fs::read_to_string(p).unwrap_or_default(),
            )
        })
        .collect()
}

#[test]
fn capabilities_and_defined_domains_validate() {
    let (c, base) = open("schemas");
    let mut docs = vec![(
        "capability.rng",
        "caps".to_string(),
        c.capabilities().expect("caps"),
    )];
    let inputs = lxc_corpus_inputs();
    assert!(inputs.len() >= 10);
    for (case, xml) in &inputs {
        // The VALIDATE flag accepts every corpus document.
        let d = c
            .domain_define_xml(xml, define::VALIDATE)
            .unwrap_or_else(|e| panic!("{case}: {e}"));
        for (flags, what) in [(0, "live"), (2, "inactive")] {
            docs.push((
                "domain.rng",
                format!("dom-{case}-{what}"),
                c.domain_get_xml_desc(&d, flags).expect("xml"),
            ));
        }
        c.domain_undefine(&d, 0).expect("undefine");
    }
    let _ = std::fs::remove_dir_all(&base);
    assert!(docs[0].2.contains("<os_type>exe</os_type>"));
    if !xmllint_available() {
        eprintln!("skipping: xmllint is not installed");
        return;
    }
    let failures: Vec<String> = docs
        .iter()
        .filter_map(|(schema, tag, doc)| {
            relaxng_check(doc, schema, tag)
                .err()
                .map(|e| format!("{tag}: {e}\n{doc}"))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn validate_flags_refuse_schema_invalid_documents() {
    let (c, base) = open("validate");
    let (_, xml) = lxc_corpus_inputs()
        .into_iter()
        .find(|(c, _)| c == "systemd")
        .expect("systemd case");
    let bad = xml.replace("<devices>", "<devicez/>\n  <devices>");
    assert_ne!(bad, xml);
    let e = c
        .domain_define_xml(&bad, define::VALIDATE)
        .expect_err("refused");
    assert_eq!(e.code, ErrorCode::XmlInvalidSchema);
    assert_eq!(
        e.message(),
        "XML document failed to validate against schema: Unable to validate doc against /usr/share/libvirt/schemas/domain.rng\nExtra element devicez in interleave\nElement domain failed to validate content\n"
    );
    let e = c
        .domain_create_xml(&bad, create::START_VALIDATE)
        .expect_err("refused");
    assert_eq!(e.code, ErrorCode::XmlInvalidSchema);
    // Without the flag, libvirt ignores the unknown element.
    let d = c
        .domain_define_xml(&bad, 0)
        .expect("define without VALIDATE");
    assert!(!c
        .domain_get_xml_desc(&d, 0)
        .expect("xml")
        .contains("devicez"));
    c.domain_undefine(&d, 0).expect("undefine");
    let _ = std::fs::remove_dir_all(&base);
}

#[test]
fn domain_capabilities_are_not_supported_as_in_libvirt() {
    // libvirt 9.6's LXC driver has no connectGetDomainCapabilities.
    let (c, base) = open("domcaps");
    let e = c
        .domain_capabilities(None, None, None, Some("lxc"), 0)
        .expect_err("unsupported");
    assert_eq!(e.code, ErrorCode::NoSupport);
    let _ = std::fs::remove_dir_all(&base);
}

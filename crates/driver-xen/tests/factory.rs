// SPDX-License-Identifier: LGPL-2.1-or-later
//! The factory on a host without Xen: URI claims, the limited connection,
//! the refusal policy and the native conversions.

use driver::error::{ErrorCode, ErrorDomain};
use driver::{ConnectAuth, DriverFactory, Uri};
use driver_xen::{HostPaths, InactivePolicy, XenFactory, XenOptions};
use std::path::PathBuf;

fn no_xen(policy: InactivePolicy) -> XenFactory {
    let d = std::env::temp_dir().join(format!("driver-xen-factory-{}", std::process::id()));
    XenFactory::new(XenOptions {
        config_file: d.join("libxl.conf"),
        host_paths: HostPaths {
            capabilities: d.join("capabilities"),
            xenstored: d.join("xenstored"),
        },
        privileged: Some(true),
        inactive_policy: policy,
        network: None,
        storage: None,
    })
}

fn open(f: &XenFactory, uri: &str) -> driver::Result<std::sync::Arc<dyn driver::Connection>> {
    f.open(&Uri::parse(uri).unwrap(), &ConnectAuth::default())
}

#[test]
fn claims_xen_uris_only() {
    let f = no_xen(InactivePolicy::Limited);
    assert!(f.claims(&Uri::parse("xen:///system").unwrap()));
    assert!(f.claims(&Uri::parse("xen:///").unwrap()));
    assert!(!f.claims(&Uri::parse("qemu:///system").unwrap()));
}

#[test]
fn session_uri_is_rejected_with_libvirt_wording() {
    let f = no_xen(InactivePolicy::Limited);
    let e = open(&f, "xen:///session").err().unwrap();
    assert_eq!(e.code, ErrorCode::InternalError);
    assert_eq!(
        e.detail.as_deref(),
        Some("unexpected Xen URI path '/session', try xen:///system")
    );
}

#[test]
fn inactive_host_gives_a_limited_connection() {
    let f = no_xen(InactivePolicy::Limited);
    assert_eq!(f.default_uri(), None, "an inactive driver answers no probe");
    let c = open(&f, "xen:///system").unwrap();
    assert_eq!(c.get_type(), "Xen");
    assert_eq!(c.uri(), "xen:///system");
    let caps = c.capabilities().unwrap();
    assert!(caps.contains("<os_type>hvm</os_type>"), "{caps}");
    assert!(caps.contains("<domain type='xen'"), "{caps}");
    let e = c.list_all_domains(0).unwrap_err();
    assert_eq!(e.code, ErrorCode::InternalError);
    assert_eq!(e.domain, ErrorDomain::Libxl);
    assert_eq!(
        e.detail.as_deref(),
        Some("libxenlight state driver is not active")
    );
    assert!(f.inactive_reason().is_some());
}

#[test]
fn refuse_policy_reports_no_connection_driver() {
    let f = no_xen(InactivePolicy::Refuse);
    let e = open(&f, "xen:///system").err().unwrap();
    assert_eq!(e.code, ErrorCode::NoConnect);
    assert_eq!(e.detail.as_deref(), Some("xen:///system"));
    assert_eq!(
        e.to_string(),
        "no connection driver available for xen:///system"
    );
}

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/libvirt-9.6")
}

#[test]
fn native_conversions_work_without_xen() {
    let f = no_xen(InactivePolicy::Limited);
    let c = open(&f, "xen:///system").unwrap();
    let dir = corpus().join("xlconfigdata");
    let cfg = std::fs::read_to_string(dir.join("test-paravirt-cmdline.cfg")).unwrap();
    let xml = std::fs::read_to_string(dir.join("test-paravirt-cmdline.xml")).unwrap();
    assert_eq!(c.domain_xml_from_native("xen-xl", &cfg, 0).unwrap(), xml);
    assert_eq!(c.domain_xml_to_native("xen-xl", &xml, 0).unwrap(), cfg);
    let e = c.domain_xml_from_native("xen-sxpr", "", 0).unwrap_err();
    assert_eq!(e.code, ErrorCode::OperationUnsupported);
    let e = c.domain_xml_to_native("vmware-vmx", &xml, 0).unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidArg);
    assert_eq!(
        e.detail.as_deref(),
        Some("unsupported config type vmware-vmx")
    );
    let e = c.domain_xml_from_native("xen-xl", &cfg, 1).unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidArg);
}

#[test]
fn conversion_errors_keep_libvirt_codes() {
    let f = no_xen(InactivePolicy::Limited);
    let c = open(&f, "xen:///").unwrap();
    let e = c
        .domain_xml_from_native("xen-xl", "memory = 5\n", 0)
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::InternalError);
    assert_eq!(e.domain, ErrorDomain::Xenxl);
    assert_eq!(e.detail.as_deref(), Some("config value name was missing"));
}

#[test]
fn domain_capabilities_work_without_a_xen_host() {
    let xml = driver_xen::caps::domain_capabilities_xml(
        None,
        Some("x86_64"),
        Some("xenpv"),
        Some("xen"),
        0,
    )
    .unwrap();
    assert!(xml.starts_with("<domainCapabilities>"), "{xml}");
    assert!(xml.contains("<domain>xen</domain>"), "{xml}");
    assert!(xml.contains("<machine>xenpv</machine>"), "{xml}");
    let e =
        driver_xen::caps::domain_capabilities_xml(None, None, None, Some("kvm"), 0).unwrap_err();
    assert!(
        e.message().contains("unknown virttype: kvm"),
        "{}",
        e.message()
    );
}

// SPDX-License-Identifier: LGPL-2.1-or-later
//! NMIs, process signals, lifecycle actions, guest filesystems and memory
//! peeking of the test driver, asserting the answers Debian's C libvirtd
//! 9.0 gives for test:///default (observed through libvirt-python against
//! both daemons).

mod common;

use common::default_conn;
use driver::consts::affect;
use driver::error::{ErrorCode, ErrorDomain};
use driver::Connection;

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn filesystems_freeze_and_thaw_counting_changes_across_restarts() {
    let (_g, c, d) = default_conn();
    let fs = c.domain_get_fs_info(&d, 0).unwrap();
    let names: Vec<_> = fs
        .iter()
        .map(|f| (f.mountpoint.as_str(), f.name.as_str()))
        .collect();
    assert_eq!(names, vec![("/", "vda1"), ("/boot", "vda2")]);
    assert_eq!(fs[0].dev_aliases, strings(&["vda"]));
    assert_eq!(c.domain_fs_freeze(&d, &strings(&["/"]), 0).unwrap(), 1);
    assert_eq!(c.domain_fs_freeze(&d, &strings(&["/"]), 0).unwrap(), 0);
    assert_eq!(c.domain_fs_freeze(&d, &[], 0).unwrap(), 1);
    let e = c
        .domain_fs_thaw(&d, &strings(&["/", "/home"]), 0)
        .unwrap_err();
    assert_eq!(
        (e.code, e.domain),
        (ErrorCode::OperationInvalid, ErrorDomain::Test)
    );
    assert_eq!(e.detail.as_deref(), Some("mount point not found: /home"));
    // Nothing changed by the failed call; the state outlives a restart.
    c.domain_destroy(&d, 0).unwrap();
    assert_eq!(
        c.domain_fs_freeze(&d, &[], 0)
            .unwrap_err()
            .detail
            .as_deref(),
        Some("domain is not running")
    );
    let d = c.domain_create(&d, 0).unwrap();
    assert_eq!(c.domain_fs_thaw(&d, &[], 0).unwrap(), 2);
    c.domain_fs_trim(&d, Some("/boot"), 0, 0).unwrap();
    let e = c.domain_fs_trim(&d, Some("/var"), 0, 0).unwrap_err();
    assert_eq!(e.detail.as_deref(), Some("mount point not found: /var"));
}

#[test]
fn signals_nmi_peek_and_lifecycle_actions() {
    let (_g, c, d) = default_conn();
    c.domain_inject_nmi(&d, 0).unwrap();
    c.domain_send_process_signal(&d, 1, 64, 0).unwrap();
    let e = c.domain_send_process_signal(&d, 2, 9, 0).unwrap_err();
    assert_eq!(
        e.detail.as_deref(),
        Some("only sending a signal to pid 1 is supported")
    );
    let e = c.domain_send_process_signal(&d, 1, 65, 0).unwrap_err();
    assert_eq!(e.detail.as_deref(), Some("signum value 65 is out of range"));
    assert_eq!(
        c.domain_memory_peek(&d, 250, 8, 1).unwrap(),
        vec![250, 251, 252, 253, 254, 255, 0, 1]
    );
    let e = c.domain_memory_peek(&d, 0, 4, 0).unwrap_err();
    assert_eq!(
        (e.code, e.domain),
        (ErrorCode::InvalidArg, ErrorDomain::Test)
    );
    c.domain_set_lifecycle_action(&d, 1, 2, affect::LIVE)
        .unwrap();
    c.domain_set_lifecycle_action(&d, 2, 4, affect::CONFIG)
        .unwrap();
    let e = c.domain_set_lifecycle_action(&d, 0, 4, 0).unwrap_err();
    assert_eq!(
        (e.code, e.domain),
        (ErrorCode::ConfigUnsupported, ErrorDomain::Domain)
    );
    assert_eq!(
        e.detail.as_deref(),
        Some("Lifecycle event 'poweroff' doesn't support 'coredump-destroy' action")
    );
    let live = c.domain_get_xml_desc(&d, 0).unwrap();
    assert!(live.contains("<on_reboot>rename-restart</on_reboot>"));
    assert!(live.contains("<on_crash>destroy</on_crash>"));
    let config = c.domain_get_xml_desc(&d, 2).unwrap();
    assert!(config.contains("<on_reboot>restart</on_reboot>"));
    assert!(config.contains("<on_crash>coredump-destroy</on_crash>"));
}

// SPDX-License-Identifier: LGPL-2.1-or-later
//! NMIs, process signals, lifecycle actions, guest filesystems, memory
//! peeking, perf events, the balloon's period and interface transactions
//! of the test driver, asserting the answers Debian's C libvirtd
//! 9.0 gives for test:///default (observed through libvirt-python against
//! both daemons).

mod common;

use common::default_conn;
use driver::consts::affect;
use driver::error::{ErrorCode, ErrorDomain};
use driver::{Connection, TypedValue};

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

#[test]
fn perf_events_and_balloon_period_live_in_the_selected_definition() {
    let (_g, c, d) = default_conn();
    let v = c.domain_get_perf_events(&d, 0).unwrap();
    assert_eq!(v.len(), 22);
    assert!(v.iter().all(|(_, x)| *x == TypedValue::Boolean(false)));
    let ps = vec![
        ("cmt".to_string(), TypedValue::Boolean(true)),
        ("cpu_cycles".to_string(), TypedValue::Boolean(false)),
    ];
    c.domain_set_perf_events(&d, &ps, 0).unwrap();
    let v = c.domain_get_perf_events(&d, affect::LIVE).unwrap();
    assert_eq!(v[0], ("cmt".to_string(), TypedValue::Boolean(true)));
    let xml = c.domain_get_xml_desc(&d, 0).unwrap();
    assert!(xml.contains(
        "  <perf>\n    <event name='cmt' enabled='yes'/>\n    <event name='cpu_cycles' enabled='no'/>\n  </perf>\n"
    ));
    assert!(!c.domain_get_xml_desc(&d, 2).unwrap().contains("<perf>"));
    let e = c
        .domain_set_perf_events(&d, &vec![("cmt".to_string(), TypedValue::Int(1))], 0)
        .unwrap_err();
    assert_eq!(
        e.detail.as_deref(),
        Some("invalid type 'int' for parameter 'cmt', expected 'boolean'")
    );

    c.domain_set_memory_stats_period(&d, 10, 0).unwrap();
    let xml = c.domain_get_xml_desc(&d, 0).unwrap();
    assert!(xml.contains("<memballoon model='virtio'>\n      <stats period='10'/>\n"));
    c.domain_set_memory_stats_period(&d, 0, 0).unwrap();
    assert!(!c.domain_get_xml_desc(&d, 0).unwrap().contains("<stats"));
    let nb = c
        .domain_define_xml(
            "<domain type='test'><name>nb</name><memory>1024</memory><os><type>hvm</type></os>\
             <devices><memballoon model='none'/></devices></domain>",
            0,
        )
        .unwrap();
    let e = c.domain_set_memory_stats_period(&nb, 3, 0).unwrap_err();
    assert_eq!(
        (e.code, e.domain),
        (ErrorCode::InternalError, ErrorDomain::Test)
    );
}

#[test]
fn interface_transactions_roll_back_definitions_inactive() {
    let (_g, c, _d) = default_conn();
    let e = c.interface_change_commit(0).unwrap_err();
    assert_eq!(
        e.detail.as_deref(),
        Some("no transaction running, nothing to be committed.")
    );
    c.interface_change_begin(0).unwrap();
    let e = c.interface_change_begin(0).unwrap_err();
    assert_eq!(e.code, ErrorCode::OperationInvalid);
    let eth1 = c.interface_lookup_by_name("eth1").unwrap();
    assert!(c.interface_is_active(&eth1).unwrap());
    c.interface_undefine(&eth1).unwrap();
    c.interface_define_xml(
        "<interface type='ethernet' name='eth9'><mac address='aa:bb:cc:dd:ee:09'/></interface>",
        0,
    )
    .unwrap();
    c.interface_change_rollback(0).unwrap();
    let names: Vec<_> = c
        .list_all_interfaces(0)
        .unwrap()
        .into_iter()
        .map(|i| i.name)
        .collect();
    assert_eq!(names, vec!["eth1"]);
    assert!(!c.interface_is_active(&eth1).unwrap());
    let e = c.interface_change_rollback(0).unwrap_err();
    assert_eq!(
        e.detail.as_deref(),
        Some("no transaction running, nothing to rollback.")
    );
    c.interface_change_begin(0).unwrap();
    c.interface_change_commit(0).unwrap();
}

#[test]
fn core_dumps_and_save_images() {
    let (_g, c, d) = default_conn();
    let dir = std::env::temp_dir().join(format!("driver-test-images-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let core = dir.join("core").to_string_lossy().into_owned();
    let image = dir.join("image").to_string_lossy().into_owned();
    c.domain_core_dump(&d, &core, 0, 0).unwrap();
    assert_eq!(std::fs::read(&core).unwrap(), b"TestGuestMagic\0");
    // Another format is refused once the file is written.
    let e = c.domain_core_dump(&d, &core, 1, 0).unwrap_err();
    assert_eq!(
        (e.code, e.domain),
        (ErrorCode::OperationUnsupported, ErrorDomain::Test)
    );
    let e = c.domain_save_image_get_xml_desc(&core, 0).unwrap_err();
    assert_eq!(
        e.detail.as_deref(),
        Some(format!("failed to read metadata length in '{core}': Success").as_str())
    );
    c.domain_save(&d, &image, None, 0).unwrap();
    let xml = c.domain_save_image_get_xml_desc(&image, 0).unwrap();
    assert!(xml.starts_with("<domain type='test'>\n  <name>test</name>\n"));
    c.domain_save_image_define_xml(
        &image,
        "<domain type='test'><name>test</name><uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid>\
         <description>redefined</description><memory>2048</memory><os><type>hvm</type></os></domain>",
        4,
    )
    .unwrap();
    assert!(c
        .domain_save_image_get_xml_desc(&image, 1)
        .unwrap()
        .contains("<description>redefined</description>"));
    c.domain_restore(&image, None, 0).unwrap();
    let d = c.domain_lookup_by_name("test").unwrap();
    assert!(c
        .domain_get_xml_desc(&d, 0)
        .unwrap()
        .contains("<memory unit='KiB'>2048</memory>"));
    c.domain_core_dump(&d, &core, 0, 1).unwrap();
    assert_eq!(c.domain_get_state(&d, 0).unwrap(), (5, 3));
    std::fs::remove_dir_all(&dir).unwrap();
}

// SPDX-License-Identifier: LGPL-2.1-or-later
//! Domain APIs of the test driver, called through `driver::Connection`.

use std::sync::{Arc, Mutex, MutexGuard};

use driver::consts::{affect, lifecycle as lc, list, reason, state as st, xml as xmlf};
use driver::error::{ErrorCode, ErrorDomain};
use driver::{Connection, DomainRef, Event};
use driver_test::TestConnection;

/// test:///default is process-wide; tests that open it run one at a time.
static DEFAULT_LOCK: Mutex<()> = Mutex::new(());

fn default_conn() -> (MutexGuard<'static, ()>, TestConnection) {
    let g = DEFAULT_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    let c = driver_test::open_path("/default", "test:///default".into()).unwrap();
    (g, c)
}

fn examples() -> String {
    format!(
        "{}/../../../shared/conformance/libvirt-9.6/examples-test",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn node_conn() -> TestConnection {
    let p = format!("{}/testnode.xml", examples());
    driver_test::open_path(&p, format!("test://{p}")).unwrap()
}

fn record(c: &TestConnection) -> Arc<Mutex<Vec<Event>>> {
    let v = Arc::new(Mutex::new(Vec::new()));
    let v2 = v.clone();
    c.subscribe(Arc::new(move |e: &Event| {
        v2.lock().unwrap().push(e.clone())
    }))
    .unwrap();
    v
}

fn lifecycles(v: &Arc<Mutex<Vec<Event>>>) -> Vec<(String, i32, i32)> {
    v.lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            Event::DomainLifecycle { dom, event, detail } => {
                Some((dom.name.clone(), *event, *detail))
            }
            _ => None,
        })
        .collect()
}

const DOM_XML: &str = "<domain type='test'>
  <name>vm1</name>
  <uuid>11111111-2222-3333-4444-555555555555</uuid>
  <memory>1048576</memory>
  <currentMemory>524288</currentMemory>
  <vcpu current='1'>4</vcpu>
  <os><type>hvm</type></os>
</domain>";

fn dom_xml(name: &str, uuid: &str) -> String {
    DOM_XML
        .replace("vm1", name)
        .replace("11111111-2222-3333-4444-555555555555", uuid)
}

#[test]
fn default_host_has_running_test_domain() {
    let (_g, c) = default_conn();
    let d = c.domain_lookup_by_name("test").unwrap();
    assert_eq!(d.id, 1);
    assert_eq!(c.domain_get_state(&d, 0).unwrap().0, st::RUNNING);
    assert!(c.domain_is_active(&d).unwrap());
    assert!(c.domain_is_persistent(&d).unwrap());
    let info = c.domain_get_info(&d).unwrap();
    assert_eq!(info.max_mem, 8388608);
    assert_eq!(info.memory, 2097152);
    assert_eq!(info.nr_virt_cpu, 2);
    let x = c.domain_get_xml_desc(&d, 0).unwrap();
    assert!(x.starts_with("<domain type='test' id='1'>"), "{x}");
    assert!(x.contains("<target dev='testnet0'/>"));
    let x = c.domain_get_xml_desc(&d, xmlf::INACTIVE).unwrap();
    assert!(x.starts_with("<domain type='test'>\n"));
    assert_eq!(c.get_type(), "TEST");
    assert_eq!(c.version().unwrap(), 2);
    assert_eq!(c.max_vcpus(None).unwrap(), 32);
    let ni = c.node_info().unwrap();
    assert_eq!(
        (ni.model.as_str(), ni.memory, ni.cpus, ni.mhz),
        ("i686", 3145728, 16, 1400)
    );
    assert_eq!(
        c.node_cells_free_memory(0, 8).unwrap(),
        vec![2097152, 4194304]
    );
    assert_eq!(c.node_free_memory().unwrap(), 3145728);
    let e = c.node_cells_free_memory(2, 1).unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidArg);
    assert!(c
        .capabilities()
        .unwrap()
        .contains("<model>testSecurity</model>"));
    assert!(c.sysinfo(0).unwrap().contains("LENOVO"));
}

#[test]
fn default_state_is_shared_and_reset_after_last_close() {
    let (_g, c1) = default_conn();
    let c2 = driver_test::open_path("/default", "test:///default".into()).unwrap();
    let d = c1.domain_define_xml(DOM_XML, 0).unwrap();
    assert_eq!(c2.domain_lookup_by_name("vm1").unwrap().uuid, d.uuid);
    drop(c1);
    // Still open through c2: the domain stays.
    let c3 = driver_test::open_path("/default", "test:///default".into()).unwrap();
    assert!(c3.domain_lookup_by_name("vm1").is_ok());
    drop(c2);
    drop(c3);
    let c4 = driver_test::open_path("/default", "test:///default".into()).unwrap();
    let e = c4.domain_lookup_by_name("vm1").unwrap_err();
    assert_eq!(e.code, ErrorCode::NoDomain);
}

#[test]
fn events_from_one_connection_reach_another() {
    let (_g, c1) = default_conn();
    let c2 = driver_test::open_path("/default", "test:///default".into()).unwrap();
    let ev = record(&c2);
    let d = c1.domain_lookup_by_name("test").unwrap();
    c1.domain_suspend(&d).unwrap();
    c1.domain_resume(&d).unwrap();
    assert_eq!(
        lifecycles(&ev),
        vec![
            ("test".into(), lc::SUSPENDED, lc::SUSPENDED_PAUSED),
            ("test".into(), lc::RESUMED, lc::RESUMED_UNPAUSED)
        ]
    );
    drop(c2);
    // c2's subscription went with it.
    c1.domain_suspend(&d).unwrap();
    assert_eq!(lifecycles(&ev).len(), 2);
    c1.domain_resume(&d).unwrap();
}

#[test]
fn lookup_errors_use_libvirt_wording() {
    let c = node_conn();
    let e = c.domain_lookup_by_name("nope").unwrap_err();
    assert_eq!((e.code, e.domain), (ErrorCode::NoDomain, ErrorDomain::Test));
    assert_eq!(e.message(), "Domain not found");
    assert_eq!(
        c.domain_lookup_by_id(99).unwrap_err().code,
        ErrorCode::NoDomain
    );
    assert_eq!(
        c.domain_lookup_by_uuid(&[7; 16]).unwrap_err().code,
        ErrorCode::NoDomain
    );
    let gone = DomainRef {
        name: "ghost".into(),
        uuid: [0xab; 16],
        id: -1,
    };
    let e = c.domain_get_info(&gone).unwrap_err();
    assert_eq!(
        e.message(),
        "Domain not found: no domain with matching uuid 'abababab-abab-abab-abab-abababababab' (ghost)"
    );
}

#[test]
fn define_start_stop_undefine_with_events_in_order() {
    let c = node_conn();
    let ev = record(&c);
    let d = c.domain_define_xml(DOM_XML, 0).unwrap();
    assert_eq!(d.id, -1);
    assert!(!c.domain_is_active(&d).unwrap());
    assert_eq!(c.domain_get_state(&d, 0).unwrap(), (st::SHUTOFF, 0));
    let d2 = c.domain_create(&d, 0).unwrap();
    assert_eq!(d2.id, 4, "node file booted ids 1..3");
    assert_eq!(c.domain_lookup_by_id(4).unwrap().name, "vm1");
    assert_eq!(
        c.domain_get_state(&d, 0).unwrap(),
        (st::RUNNING, reason::RUNNING_BOOTED)
    );
    let e = c.domain_create(&d, 0).unwrap_err();
    assert_eq!(
        e.message(),
        "internal error: Domain 'vm1' is already running"
    );
    c.domain_shutdown(&d, 0).unwrap();
    assert_eq!(
        c.domain_get_state(&d, 0).unwrap(),
        (st::SHUTOFF, reason::SHUTOFF_SHUTDOWN)
    );
    let e = c.domain_shutdown(&d, 0).unwrap_err();
    assert_eq!(e.message(), "internal error: domain 'vm1' not running");
    let e = c.domain_destroy(&d, 0).unwrap_err();
    assert_eq!(e.code, ErrorCode::OperationInvalid);
    assert_eq!(
        e.message(),
        "Requested operation is not valid: domain is not running"
    );
    assert_eq!(c.domain_create(&d, 0).unwrap().id, 5);
    c.domain_destroy(&d, 0).unwrap();
    assert_eq!(
        c.domain_get_state(&d, 0).unwrap(),
        (st::SHUTOFF, reason::SHUTOFF_DESTROYED)
    );
    assert!(c.domain_lookup_by_id(5).is_err());
    c.domain_undefine(&d, 0).unwrap();
    assert!(c.domain_lookup_by_name("vm1").is_err());
    assert_eq!(
        lifecycles(&ev),
        vec![
            ("vm1".into(), lc::DEFINED, lc::DEFINED_ADDED),
            ("vm1".into(), lc::STARTED, lc::STARTED_BOOTED),
            ("vm1".into(), lc::STOPPED, lc::STOPPED_SHUTDOWN),
            ("vm1".into(), lc::STARTED, lc::STARTED_BOOTED),
            ("vm1".into(), lc::STOPPED, lc::STOPPED_DESTROYED),
            ("vm1".into(), lc::UNDEFINED, lc::UNDEFINED_REMOVED),
        ]
    );
}

#[test]
fn redefine_updates_and_uuid_or_name_clash_fails() {
    let c = node_conn();
    let ev = record(&c);
    c.domain_define_xml(DOM_XML, 0).unwrap();
    let d = c
        .domain_define_xml(&DOM_XML.replace("1048576", "2097152"), 0)
        .unwrap();
    assert_eq!(c.domain_get_max_memory(&d).unwrap(), 2097152);
    assert_eq!(
        lifecycles(&ev)[1],
        ("vm1".into(), lc::DEFINED, lc::DEFINED_UPDATED)
    );
    let e = c
        .domain_define_xml(&dom_xml("vm1", "99999999-2222-3333-4444-555555555555"), 0)
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::OperationFailed);
    assert_eq!(
        e.message(),
        "operation failed: domain 'vm1' already exists with uuid 11111111-2222-3333-4444-555555555555"
    );
    let e = c
        .domain_define_xml(&dom_xml("other", "11111111-2222-3333-4444-555555555555"), 0)
        .unwrap_err();
    assert_eq!(
        e.message(),
        "operation failed: domain 'vm1' is already defined with uuid 11111111-2222-3333-4444-555555555555"
    );
}

#[test]
fn undefine_of_running_domain_makes_it_transient_then_destroy_removes_it() {
    let c = node_conn();
    let d = c.domain_lookup_by_name("fv0").unwrap();
    c.domain_undefine(&d, 0).unwrap();
    assert!(c.domain_is_active(&d).unwrap());
    assert!(!c.domain_is_persistent(&d).unwrap());
    let t = c
        .list_all_domains(list::TRANSIENT)
        .unwrap()
        .into_iter()
        .map(|d| d.name)
        .collect::<Vec<_>>();
    assert_eq!(t, vec!["fv0"]);
    c.domain_destroy(&d, 0).unwrap();
    assert!(c.domain_lookup_by_name("fv0").is_err());
}

#[test]
fn create_xml_is_transient_and_running() {
    let c = node_conn();
    let ev = record(&c);
    let d = c.domain_create_xml(DOM_XML, 0).unwrap();
    assert!(d.id > 0);
    assert!(!c.domain_is_persistent(&d).unwrap());
    let e = c.domain_create_xml(DOM_XML, 0).unwrap_err();
    assert_eq!(
        e.message(),
        "Requested operation is not valid: domain 'vm1' is already active"
    );
    let e = c.domain_managed_save(&d, 0).unwrap_err();
    assert_eq!(
        e.message(),
        "Requested operation is not valid: cannot do managed save for transient domain"
    );
    c.domain_shutdown(&d, 0).unwrap();
    assert!(c.domain_lookup_by_name("vm1").is_err());
    assert_eq!(
        lifecycles(&ev),
        vec![
            ("vm1".into(), lc::STARTED, lc::STARTED_BOOTED),
            ("vm1".into(), lc::STOPPED, lc::STOPPED_SHUTDOWN)
        ]
    );
}

#[test]
fn suspend_resume_errors() {
    let c = node_conn();
    let d = c.domain_lookup_by_name("fc4").unwrap();
    let e = c.domain_resume(&d).unwrap_err();
    assert_eq!(e.message(), "internal error: domain 'fc4' not paused");
    c.domain_suspend(&d).unwrap();
    assert_eq!(c.domain_get_state(&d, 0).unwrap(), (st::PAUSED, 1));
    let e = c.domain_suspend(&d).unwrap_err();
    assert_eq!(e.message(), "internal error: domain 'fc4' not running");
    c.domain_resume(&d).unwrap();
    assert_eq!(
        c.domain_get_state(&d, 0).unwrap(),
        (st::RUNNING, reason::RUNNING_UNPAUSED)
    );
}

#[test]
fn reboot_keeps_running_and_reset_needs_active() {
    let c = node_conn();
    let d = c.domain_lookup_by_name("fc4").unwrap();
    c.domain_reboot(&d, 0).unwrap();
    assert_eq!(c.domain_get_state(&d, 0).unwrap().0, st::RUNNING);
    c.domain_reset(&d, 0).unwrap();
    c.domain_destroy(&d, 0).unwrap();
    assert_eq!(
        c.domain_reset(&d, 0).unwrap_err().code,
        ErrorCode::OperationInvalid
    );
    assert_eq!(
        c.domain_reboot(&d, 0).unwrap_err().code,
        ErrorCode::OperationInvalid
    );
    assert_eq!(
        c.domain_reboot(&d, 1 << 10).unwrap_err().code,
        ErrorCode::InvalidArg
    );
}

#[test]
fn managed_save_then_start_clears_it() {
    let c = node_conn();
    let ev = record(&c);
    let d = c.domain_lookup_by_name("fc5").unwrap();
    c.domain_managed_save(&d, 0).unwrap();
    assert_eq!(
        c.domain_get_state(&d, 0).unwrap(),
        (st::SHUTOFF, reason::SHUTOFF_SAVED)
    );
    assert!(c.domain_has_managed_save(&d, 0).unwrap());
    let ms: Vec<_> = c
        .list_all_domains(list::MANAGEDSAVE)
        .unwrap()
        .into_iter()
        .map(|d| d.name)
        .collect();
    assert_eq!(ms, vec!["fc5"]);
    let e = c.domain_undefine(&d, 0).unwrap_err();
    assert_eq!(
        e.message(),
        "Requested operation is not valid: Refusing to undefine while domain managed save image exists"
    );
    c.domain_create(&d, 0).unwrap();
    assert!(!c.domain_has_managed_save(&d, 0).unwrap());
    assert_eq!(
        lifecycles(&ev),
        vec![
            ("fc5".into(), lc::STOPPED, lc::STOPPED_SAVED),
            ("fc5".into(), lc::STARTED, lc::STARTED_BOOTED)
        ]
    );
}

#[test]
fn save_and_restore_through_a_file() {
    let c = node_conn();
    let d = c.domain_lookup_by_name("fc4").unwrap();
    let path = std::env::temp_dir().join(format!("driver-test-save-{}", std::process::id()));
    let p = path.to_str().unwrap();
    c.domain_save(&d, p, None, 0).unwrap();
    assert_eq!(
        c.domain_get_state(&d, 0).unwrap(),
        (st::SHUTOFF, reason::SHUTOFF_SAVED)
    );
    c.domain_restore(p, None, 0).unwrap();
    assert_eq!(
        c.domain_get_state(&d, 0).unwrap(),
        (st::RUNNING, reason::RUNNING_RESTORED)
    );
    let e = c.domain_restore(p, None, 0).unwrap_err();
    assert_eq!(e.code, ErrorCode::OperationInvalid);
    std::fs::write(p, b"garbage garbage garbage").unwrap();
    let e = c.domain_restore(p, None, 0).unwrap_err();
    assert_eq!(e.message(), "internal error: mismatched header magic");
    std::fs::remove_file(p).unwrap();
    let e = c.domain_restore(p, None, 0).unwrap_err();
    assert_eq!(e.code, ErrorCode::SystemError);
}

#[test]
fn memory_and_vcpu_setters_follow_flags() {
    let c = node_conn();
    let d = c.domain_define_xml(DOM_XML, 0).unwrap();
    // Inactive: CURRENT means CONFIG; LIVE is refused.
    let e = c.domain_set_memory(&d, 1000, affect::LIVE).unwrap_err();
    assert_eq!(
        e.message(),
        "Requested operation is not valid: domain is not running"
    );
    let e = c
        .domain_set_memory(&d, 1000, affect::LIVE | affect::CONFIG)
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidArg);
    let e = c.domain_set_memory(&d, 2_000_000, 0).unwrap_err();
    assert_eq!(
        e.message(),
        "invalid argument: cannot set memory higher than max memory"
    );
    c.domain_set_memory(&d, 300_000, 0).unwrap();
    assert_eq!(c.domain_get_info(&d).unwrap().memory, 300_000);
    c.domain_set_max_memory(&d, 200_000).unwrap();
    let info = c.domain_get_info(&d).unwrap();
    assert_eq!((info.max_mem, info.memory), (200_000, 200_000));

    assert_eq!(c.domain_get_vcpus_flags(&d, 0).unwrap(), 1);
    assert_eq!(c.domain_get_vcpus_flags(&d, affect::MAXIMUM).unwrap(), 4);
    c.domain_set_vcpus(&d, 3, 0).unwrap();
    assert_eq!(c.domain_get_vcpus_flags(&d, affect::CONFIG).unwrap(), 3);
    let e = c.domain_set_vcpus(&d, 5, 0).unwrap_err();
    assert_eq!(
        e.message(),
        "invalid argument: requested cpu amount exceeds maximum (5 > 4)"
    );
    let e = c.domain_set_vcpus(&d, 33, 0).unwrap_err();
    assert_eq!(
        e.message(),
        "invalid argument: requested cpu amount exceeds maximum supported amount (33 > 32)"
    );
    c.domain_set_vcpus(&d, 8, affect::MAXIMUM).unwrap();
    assert_eq!(c.domain_get_vcpus_flags(&d, affect::MAXIMUM).unwrap(), 8);

    // Running: LIVE changes leave the persistent definition alone.
    c.domain_create(&d, 0).unwrap();
    let e = c.domain_set_max_memory(&d, 100_000).unwrap_err();
    assert_eq!(
        e.message(),
        "Requested operation is not valid: cannot resize the maximum memory on an active domain"
    );
    c.domain_set_memory(&d, 100_000, affect::LIVE).unwrap();
    c.domain_set_vcpus(&d, 2, affect::LIVE).unwrap();
    assert_eq!(c.domain_get_vcpus_flags(&d, affect::LIVE).unwrap(), 2);
    assert_eq!(c.domain_get_vcpus_flags(&d, affect::CONFIG).unwrap(), 3);
    let (infos, maps) = c.domain_get_vcpus(&d, 8, 2).unwrap();
    assert_eq!(infos.len(), 2);
    assert_eq!(maps, vec![0xff, 0xff, 0xff, 0xff]);
    let x = c.domain_get_xml_desc(&d, xmlf::INACTIVE).unwrap();
    assert!(
        x.contains("<currentMemory unit='KiB'>200000</currentMemory>"),
        "{x}"
    );
    c.domain_destroy(&d, 0).unwrap();
    assert_eq!(c.domain_get_info(&d).unwrap().memory, 200_000);
}

#[test]
fn autostart_rename_and_list_filters() {
    let c = node_conn();
    let ev = record(&c);
    let d = c.domain_define_xml(DOM_XML, 0).unwrap();
    assert!(!c.domain_get_autostart(&d).unwrap());
    c.domain_set_autostart(&d, true).unwrap();
    assert!(c.domain_get_autostart(&d).unwrap());
    let names = |f| -> Vec<String> {
        c.list_all_domains(f)
            .unwrap()
            .into_iter()
            .map(|d| d.name)
            .collect()
    };
    assert_eq!(names(list::AUTOSTART), vec!["vm1"]);
    assert_eq!(names(list::INACTIVE), vec!["vm1"]);
    assert_eq!(names(list::ACTIVE), vec!["fc4", "fc5", "fv0"]);
    assert_eq!(names(list::ACTIVE | list::INACTIVE).len(), 4);
    assert_eq!(names(list::SHUTOFF), vec!["vm1"]);
    assert_eq!(names(list::OTHER), Vec::<String>::new());
    assert_eq!(names(list::HAS_SNAPSHOT), Vec::<String>::new());
    assert_eq!(names(list::NO_SNAPSHOT).len(), 4);
    assert_eq!(
        c.list_all_domains(1 << 20).unwrap_err().code,
        ErrorCode::InvalidArg
    );
    assert_eq!(c.list_defined_domains(10).unwrap(), vec!["vm1"]);
    assert_eq!(c.list_domain_ids(10).unwrap(), vec![1, 2, 3]);
    assert_eq!(c.num_of_defined_domains().unwrap(), 1);

    c.domain_rename(&d, "vm2", 0).unwrap();
    assert!(c.domain_lookup_by_name("vm1").is_err());
    assert_eq!(c.domain_lookup_by_name("vm2").unwrap().uuid, d.uuid);
    let e = c.domain_rename(&d, "fc4", 0).unwrap_err();
    assert_eq!(
        e.message(),
        "Requested operation is not valid: domain with name 'fc4' already exists"
    );
    let running = c.domain_lookup_by_name("fc4").unwrap();
    let e = c.domain_rename(&running, "x", 0).unwrap_err();
    assert_eq!(
        e.message(),
        "Requested operation is not valid: cannot rename active domain"
    );
    let evs = lifecycles(&ev);
    assert_eq!(evs[1], ("vm1".into(), lc::UNDEFINED, lc::UNDEFINED_RENAMED));
    assert_eq!(evs[2], ("vm2".into(), lc::DEFINED, lc::DEFINED_RENAMED));
}

#[test]
fn metadata_roundtrip_emits_change_event() {
    let c = node_conn();
    let ev = record(&c);
    let d = c.domain_lookup_by_name("fc4").unwrap();
    let e = c.domain_get_metadata(&d, 1, None, 0).unwrap_err();
    assert_eq!(e.code, ErrorCode::NoDomainMetadata);
    c.domain_set_metadata(&d, 1, Some("A title"), None, None, 0)
        .unwrap();
    assert_eq!(c.domain_get_metadata(&d, 1, None, 0).unwrap(), "A title");
    c.domain_set_metadata(&d, 2, Some("<x>1</x>"), Some("app"), Some("http://app/"), 0)
        .unwrap();
    let m = c
        .domain_get_metadata(&d, 2, Some("http://app/"), 0)
        .unwrap();
    // C hands the element back out of the caller's namespace.
    assert_eq!(m, "<x>1</x>");
    let x = c.domain_get_xml_desc(&d, 0).unwrap();
    assert!(
        x.contains("  <metadata>\n    <app:x xmlns:app=\"http://app/\">1</app:x>\n  </metadata>\n"),
        "{x}"
    );
    let kinds: Vec<i32> = ev
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            Event::DomainMetadataChange { kind, .. } => Some(*kind),
            _ => None,
        })
        .collect();
    assert_eq!(kinds, vec![1, 2]);
}

#[test]
fn security_label_messages_and_misc() {
    let c = node_conn();
    let d = c.domain_lookup_by_name("fv0").unwrap();
    let l = c.domain_security_label(&d).unwrap();
    assert_eq!((l.label.as_str(), l.enforcing), ("libvirt-test", true));
    assert_eq!(c.node_security_model().unwrap().model, "testSecurity");
    assert_eq!(
        c.domain_get_messages(&d, 0).unwrap(),
        vec!["tainted: network configuration using opaque shell scripts"]
    );
    assert_eq!(c.domain_get_os_type(&d).unwrap(), "linux");
    assert_eq!(c.domain_snapshot_num(&d, 0).unwrap(), 0);
    c.domain_destroy(&d, 0).unwrap();
    assert_eq!(c.domain_security_label(&d).unwrap().label, "");
}

#[test]
fn node_file_values_and_bad_files() {
    let c = node_conn();
    let ni = c.node_info().unwrap();
    assert_eq!(
        (ni.model.as_str(), ni.cpus, ni.mhz, ni.memory),
        ("i986", 50, 6000, 8192000)
    );
    assert_eq!(c.num_of_domains().unwrap(), 3);
    let inline = format!("{}/testnodeinline.xml", examples());
    let c2 = driver_test::open_path(&inline, "x".into()).unwrap();
    assert!(c2.domain_lookup_by_name("fv0").is_ok());
    let e = driver_test::open_path("/nonexistent/node.xml", "x".into())
        .err()
        .unwrap();
    assert_eq!(e.code, ErrorCode::XmlError);
    assert_eq!(
        e.message(),
        "XML error: failed to parse xml document '/nonexistent/node.xml'"
    );
    let e = driver_test::open_path("/", "x".into()).err().unwrap();
    assert_eq!(e.code, ErrorCode::InvalidArg);
    // Each file-backed open has its own state.
    let c3 = node_conn();
    c.domain_destroy(&c.domain_lookup_by_name("fc4").unwrap(), 0)
        .unwrap();
    assert!(c3
        .domain_is_active(&c3.domain_lookup_by_name("fc4").unwrap())
        .unwrap());
}

#[test]
fn test_namespace_sets_runstate_and_transient() {
    let dir = std::env::temp_dir().join(format!("driver-test-ns-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let node = dir.join("node.xml");
    std::fs::write(
        &node,
        "<node>
  <domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>
    <name>off</name><memory>1024</memory><os><type>hvm</type></os>
    <test:runstate>5</test:runstate><test:hasmanagedsave/>
  </domain>
  <domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>
    <name>paused</name><memory>1024</memory><os><type>hvm</type></os>
    <test:runstate>3</test:runstate><test:transient/>
  </domain>
</node>",
    )
    .unwrap();
    let c = driver_test::open_path(node.to_str().unwrap(), "x".into()).unwrap();
    let off = c.domain_lookup_by_name("off").unwrap();
    assert_eq!(off.id, -1);
    assert!(c.domain_has_managed_save(&off, 0).unwrap());
    let p = c.domain_lookup_by_name("paused").unwrap();
    assert_eq!(p.id, 1);
    assert_eq!(c.domain_get_state(&p, 0).unwrap().0, st::PAUSED);
    assert!(!c.domain_is_persistent(&p).unwrap());
    let x = c.domain_get_xml_desc(&p, 0).unwrap();
    assert!(!x.contains("test:"), "{x}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn listing_ten_thousand_domains() {
    let c = node_conn();
    for i in 0..10_000u32 {
        let uuid = format!("{i:08x}-0000-4000-8000-000000000000");
        c.domain_define_xml(&dom_xml(&format!("d{i:05}"), &uuid), 0)
            .unwrap();
    }
    let all = c.list_all_domains(0).unwrap();
    assert_eq!(all.len(), 10_003);
    assert!(all.windows(2).all(|w| w[0].name < w[1].name));
    assert_eq!(c.list_all_domains(list::INACTIVE).unwrap().len(), 10_000);
    assert_eq!(c.domain_lookup_by_name("d09999").unwrap().id, -1);
}

#[test]
fn all_domain_stats_report_state() {
    let c = node_conn();
    let d = c.domain_define_xml(DOM_XML, 0).unwrap();
    let all = c.domain_stats(&[], 0, 0).unwrap();
    assert_eq!(all.len(), 4);
    let active = c.domain_stats(&[], 1, list::ACTIVE).unwrap();
    assert_eq!(active.len(), 3);
    let one = c.domain_stats(std::slice::from_ref(&d), 1, 0).unwrap();
    assert_eq!(one.len(), 1);
    assert_eq!(
        one[0].1,
        vec![
            (
                "state.state".to_string(),
                driver::TypedValue::Int(st::SHUTOFF)
            ),
            ("state.reason".to_string(), driver::TypedValue::Int(0)),
        ]
    );
    let e = c.domain_stats(&[], 1 << 3, 1 << 31).unwrap_err();
    assert_eq!(e.code, ErrorCode::ArgumentUnsupported);
}

#[test]
fn concurrent_defines_and_starts_get_unique_ids() {
    let c = Arc::new(node_conn());
    let ev = record(&c);
    let threads: Vec<_> = (0..8u32)
        .map(|t| {
            let c = c.clone();
            std::thread::spawn(move || {
                let mut ids = Vec::new();
                for i in 0..50u32 {
                    let n = t * 100 + i;
                    let uuid = format!("{n:08x}-1111-4000-8000-000000000000");
                    let d = c
                        .domain_define_xml(&dom_xml(&format!("c{n}"), &uuid), 0)
                        .unwrap();
                    ids.push(c.domain_create(&d, 0).unwrap().id);
                }
                ids
            })
        })
        .collect();
    let mut ids: Vec<i32> = threads
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 400);
    assert_eq!(c.num_of_domains().unwrap(), 403);
    // Every define and every start was announced.
    assert_eq!(lifecycles(&ev).len(), 800);
}

#[test]
fn unfiltered_listing_follows_define_start_rename_and_undefine() {
    let c = node_conn();
    let listed = |c: &TestConnection| -> Vec<(String, i32)> {
        c.list_all_domains(0)
            .unwrap()
            .into_iter()
            .map(|d| (d.name, d.id))
            .collect()
    };
    let before = listed(&c);
    assert_eq!(before, listed(&c));
    let d = c.domain_define_xml(DOM_XML, 0).unwrap();
    assert!(listed(&c).contains(&("vm1".to_string(), -1)));
    c.domain_create(&d, 0).unwrap();
    let d = c.domain_lookup_by_name("vm1").unwrap();
    assert!(d.id > 0);
    assert!(listed(&c).contains(&("vm1".to_string(), d.id)));
    c.domain_destroy(&d, 0).unwrap();
    assert!(listed(&c).contains(&("vm1".to_string(), -1)));
    c.domain_rename(&d, "vm2", 0).unwrap();
    let now = listed(&c);
    assert!(now.contains(&("vm2".to_string(), -1)), "{now:?}");
    assert!(!now.iter().any(|(n, _)| n == "vm1"), "{now:?}");
    let d = c.domain_lookup_by_name("vm2").unwrap();
    c.domain_undefine(&d, 0).unwrap();
    assert_eq!(listed(&c), before);
}

#[test]
fn start_autodestroy_is_refused_as_the_c_test_driver_refuses_it() {
    // libvirt's test driver accepts no flag on virDomainCreateWithFlags and
    // only VIR_DOMAIN_START_VALIDATE on virDomainCreateXML.
    let c = node_conn();
    let autodestroy = driver::consts::create::START_AUTODESTROY;
    let e = c.domain_create_xml(DOM_XML, autodestroy).unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidArg);
    assert_eq!(
        e.detail.as_deref(),
        Some("unsupported flags (0x2) in function testDomainCreateXML")
    );
    let d = c.domain_define_xml(DOM_XML, 0).unwrap();
    let e = c.domain_create(&d, autodestroy).unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidArg);
    assert_eq!(
        e.detail.as_deref(),
        Some("unsupported flags (0x2) in function testDomainCreateWithFlags")
    );
    assert!(!c.domain_is_active(&d).unwrap());
}

#[test]
fn listing_stays_consistent_while_other_clients_define_start_and_undefine() {
    let c = Arc::new(node_conn());
    let before = c.list_all_domains(0).unwrap();
    let workers: Vec<_> = (0..2)
        .map(|w| {
            let c = c.clone();
            std::thread::spawn(move || {
                for i in 0..100 {
                    let xml = format!(
                        "<domain type='test'><name>churn-{w}-{i}</name>\
                         <memory>1024</memory><os><type>hvm</type></os></domain>"
                    );
                    let d = c.domain_define_xml(&xml, 0).unwrap();
                    let d = c.domain_create(&d, 0).unwrap();
                    assert!(d.id > 0);
                    c.domain_destroy(&d, 0).unwrap();
                    c.domain_undefine(&d, 0).unwrap();
                }
            })
        })
        .collect();
    for _ in 0..200 {
        let all = c.list_all_domains(0).unwrap();
        // Sorted by name, and the node file's domains are always there.
        assert!(all.windows(2).all(|w| w[0].name < w[1].name));
        assert!(before.iter().all(|b| all.contains(b)));
        let active = c.list_all_domains(list::ACTIVE).unwrap();
        assert!(active.iter().all(|d| d.id > 0));
    }
    for w in workers {
        w.join().unwrap();
    }
    assert_eq!(c.list_all_domains(0).unwrap(), before);
}

#[test]
fn concurrent_defines_of_one_domain_add_it_once() {
    let c = Arc::new(node_conn());
    let events = record(&c);
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let c = c.clone();
            std::thread::spawn(move || c.domain_define_xml(DOM_XML, 0).unwrap())
        })
        .collect();
    let refs: Vec<DomainRef> = workers.into_iter().map(|w| w.join().unwrap()).collect();
    assert!(refs.windows(2).all(|w| w[0] == w[1]));
    let added = lifecycles(&events)
        .iter()
        .filter(|(n, e, d)| n == "vm1" && *e == lc::DEFINED && *d == lc::DEFINED_ADDED)
        .count();
    assert_eq!(added, 1);
    let updated = lifecycles(&events)
        .iter()
        .filter(|(n, e, d)| n == "vm1" && *e == lc::DEFINED && *d == lc::DEFINED_UPDATED)
        .count();
    assert_eq!(updated, 3);
}

// SPDX-License-Identifier: LGPL-2.1-or-later
//! vCPU, emulator and IOThread pinning, IOThreads, hostname, clock and
//! block info of the test driver,
//! asserting the answers Debian's C libvirtd 9.0 gives for test:///default
//! (observed through libvirt-python and virsh against both daemons).

use std::sync::{Mutex, MutexGuard};

use driver::consts::affect;
use driver::error::{ErrorCode, ErrorDomain};
use driver::{Connection, DomainRef, TypedValue};
use driver_test::TestConnection;

static DEFAULT_LOCK: Mutex<()> = Mutex::new(());

fn default_conn() -> (MutexGuard<'static, ()>, TestConnection, DomainRef) {
    let g = DEFAULT_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    let c = driver_test::open_path("/default", "test:///default".into()).unwrap();
    let d = c.domain_lookup_by_name("test").unwrap();
    (g, c, d)
}

fn cputune(xml: &str) -> Option<&str> {
    let a = xml.find("  <cputune>\n")?;
    let b = xml[a..].find("  </cputune>\n")? + a + "  </cputune>\n".len();
    Some(&xml[a..b])
}

#[test]
fn vcpu_pins_show_in_vcpus_pin_info_and_live_xml_only() {
    let (_g, c, d) = default_conn();
    // Unpinned: every one of the 16 host cpus, on the last of them.
    let (info, maps) = c.domain_get_vcpus(&d, 2, 2).unwrap();
    assert_eq!(maps, vec![0xff, 0xff, 0xff, 0xff]);
    assert_eq!(info.iter().map(|i| i.cpu).collect::<Vec<_>>(), vec![15, 15]);

    c.domain_pin_vcpu(&d, 0, &[0b101], 0).unwrap();
    c.domain_pin_vcpu(&d, 1, &[0b1], 0).unwrap();
    // An empty map is accepted for a vcpu (C prints cpuset='').
    c.domain_pin_vcpu(&d, 0, &[0], 0).unwrap();
    let (info, maps) = c.domain_get_vcpus(&d, 2, 1).unwrap();
    assert_eq!(maps, vec![0, 1]);
    assert_eq!(info.iter().map(|i| i.cpu).collect::<Vec<_>>(), vec![-1, 0]);
    let (n, maps) = c.domain_get_vcpu_pin_info(&d, 2, 1, 0).unwrap();
    assert_eq!((n, maps), (2, vec![0, 1]));
    let (_, maps) = c
        .domain_get_vcpu_pin_info(&d, 2, 1, affect::CONFIG)
        .unwrap();
    assert_eq!(maps, vec![0xff, 0xff]);
    let xml = c.domain_get_xml_desc(&d, 0).unwrap();
    assert_eq!(
        cputune(&xml),
        Some("  <cputune>\n    <vcpupin vcpu='0' cpuset=''/>\n    <vcpupin vcpu='1' cpuset='0'/>\n  </cputune>\n")
    );
    assert_eq!(cputune(&c.domain_get_xml_desc(&d, 2).unwrap()), None);

    let e = c.domain_pin_vcpu(&d, 0, &[1], affect::LIVE).unwrap_err();
    assert_eq!(
        e.detail.as_deref(),
        Some("unsupported flags (0x1) in function testDomainPinVcpuFlags")
    );
    let e = c.domain_pin_vcpu(&d, 2, &[1], 0).unwrap_err();
    assert_eq!(
        (e.code, e.domain),
        (ErrorCode::InvalidArg, ErrorDomain::Test)
    );
    assert_eq!(
        e.message(),
        "invalid argument: requested vcpu '2' is not present in the domain"
    );
    let e = c
        .domain_get_vcpu_pin_info(&d, 2, 1, affect::LIVE | affect::CONFIG)
        .unwrap_err();
    assert_eq!(
        (e.code, e.domain),
        (ErrorCode::InvalidArg, ErrorDomain::Domain)
    );

    c.domain_destroy(&d, 0).unwrap();
    let e = c.domain_pin_vcpu(&d, 0, &[1], 0).unwrap_err();
    assert_eq!(
        (e.code, e.domain),
        (ErrorCode::OperationInvalid, ErrorDomain::Test)
    );
    assert_eq!(
        e.message(),
        "Requested operation is not valid: cannot pin vcpus on an inactive domain"
    );
    let e = c.domain_get_vcpus(&d, 2, 1).unwrap_err();
    assert_eq!(
        e.message(),
        "Requested operation is not valid: cannot list vcpus for an inactive domain"
    );
    // The pins lived in the running definition only.
    let (_, maps) = c.domain_get_vcpu_pin_info(&d, 2, 1, 0).unwrap();
    assert_eq!(maps, vec![0xff, 0xff]);
    let e = c
        .domain_get_vcpu_pin_info(&d, 2, 1, affect::LIVE)
        .unwrap_err();
    assert_eq!(
        (e.code, e.domain, e.message()),
        (
            ErrorCode::OperationInvalid,
            ErrorDomain::Domain,
            "Requested operation is not valid: domain is not running".to_string()
        )
    );
}

#[test]
fn emulator_pin_follows_flags_and_refuses_an_empty_map() {
    let (_g, c, d) = default_conn();
    assert_eq!(
        c.domain_get_emulator_pin_info(&d, 1, 0).unwrap(),
        (1, vec![0xff])
    );
    c.domain_pin_emulator(&d, &[0b110], 0).unwrap();
    c.domain_pin_emulator(&d, &[0b1], affect::CONFIG).unwrap();
    let e = c.domain_pin_emulator(&d, &[0, 0], 0).unwrap_err();
    assert_eq!(
        (e.code, e.domain),
        (ErrorCode::InvalidArg, ErrorDomain::Test)
    );
    assert_eq!(e.message(), "invalid argument: Empty cpu list for pinning");
    assert_eq!(
        c.domain_get_emulator_pin_info(&d, 1, 0).unwrap(),
        (1, vec![0b110])
    );
    assert_eq!(
        c.domain_get_emulator_pin_info(&d, 1, affect::CONFIG)
            .unwrap(),
        (1, vec![0b1])
    );
    let live = c.domain_get_xml_desc(&d, 0).unwrap();
    assert!(live.contains("  <cputune>\n    <emulatorpin cpuset='1-2'/>\n  </cputune>\n"));
    let e = c.domain_get_emulator_pin_info(&d, 1, 4).unwrap_err();
    assert_eq!(
        e.detail.as_deref(),
        Some("unsupported flags (0x4) in function testDomainGetEmulatorPinInfo")
    );
    c.domain_destroy(&d, 0).unwrap();
    assert_eq!(
        c.domain_get_emulator_pin_info(&d, 1, 0).unwrap(),
        (1, vec![0b1])
    );
}

#[test]
fn iothreads_add_pin_delete_and_their_polling_statistics() {
    let (_g, c, d) = default_conn();
    assert!(c.domain_get_iothread_info(&d, 0).unwrap().is_empty());
    c.domain_add_iothread(&d, 3, 0).unwrap();
    c.domain_add_iothread(&d, 5, affect::CONFIG).unwrap();
    let e = c.domain_add_iothread(&d, 3, 0).unwrap_err();
    assert_eq!(
        (e.code, e.domain),
        (ErrorCode::InvalidArg, ErrorDomain::Domain)
    );
    assert_eq!(
        e.message(),
        "invalid argument: an IOThread is already using iothread_id '3'"
    );
    let e = c.domain_add_iothread(&d, 0, 0).unwrap_err();
    assert_eq!(
        (e.code, e.domain),
        (ErrorCode::InvalidArg, ErrorDomain::Test)
    );
    assert_eq!(
        e.message(),
        "invalid argument: invalid value of 0 for iothread_id"
    );
    // Unpinned IOThreads may use one cpu per online vcpu.
    assert_eq!(
        c.domain_get_iothread_info(&d, 0).unwrap(),
        vec![(3, vec![0b11])]
    );
    assert_eq!(
        c.domain_get_iothread_info(&d, affect::CONFIG).unwrap(),
        vec![(5, vec![0b11])]
    );
    c.domain_pin_iothread(&d, 3, &[0b11], 0).unwrap();
    c.domain_pin_iothread(&d, 5, &[0b10], affect::CONFIG)
        .unwrap();
    let e = c.domain_pin_iothread(&d, 9, &[1], 0).unwrap_err();
    assert_eq!(e.message(), "invalid argument: iothreadid 9 not found");
    let e = c.domain_pin_iothread(&d, 3, &[0], 0).unwrap_err();
    assert_eq!(
        e.message(),
        "invalid argument: Empty iothread cpumap list for pinning"
    );
    assert_eq!(
        c.domain_get_iothread_info(&d, affect::CONFIG).unwrap(),
        vec![(5, vec![0b10])]
    );
    let live = c.domain_get_xml_desc(&d, 0).unwrap();
    assert!(live.contains(
        "  <vcpu placement='static'>2</vcpu>\n  <iothreads>1</iothreads>\n  <iothreadids>\n    <iothread id='3'/>\n  </iothreadids>\n  <cputune>\n    <iothreadpin iothread='3' cpuset='0-1'/>\n  </cputune>\n"
    ));

    // Polling parameters belong to the object: both IOThreads are there.
    let p = vec![
        ("poll_max_ns".to_string(), TypedValue::ULLong(100)),
        ("poll_grow".to_string(), TypedValue::UInt(2)),
    ];
    c.domain_set_iothread_params(&d, 3, &p, 0).unwrap();
    let e = c
        .domain_set_iothread_params(&d, 3, &p, affect::CONFIG)
        .unwrap_err();
    assert_eq!(
        e.detail.as_deref(),
        Some("unsupported flags (0x2) in function testDomainSetIOThreadParams")
    );
    let e = c.domain_set_iothread_params(&d, 9, &p, 0).unwrap_err();
    assert_eq!(
        e.message(),
        "invalid argument: cannot find IOThread '9' in iothreadids"
    );
    let bad = vec![("bogus".to_string(), TypedValue::ULLong(1))];
    let e = c.domain_set_iothread_params(&d, 3, &bad, 0).unwrap_err();
    assert_eq!(
        (e.code, e.domain, e.message()),
        (
            ErrorCode::ArgumentUnsupported,
            ErrorDomain::None,
            "argument unsupported: parameter 'bogus' not supported".to_string()
        )
    );
    let stats = c.domain_stats(std::slice::from_ref(&d), 1 << 7, 0).unwrap();
    let keys: Vec<(String, TypedValue)> = stats[0].1.clone();
    assert_eq!(
        keys,
        vec![
            ("iothread.count".to_string(), TypedValue::UInt(2)),
            (
                "iothread.3.poll-max-ns".to_string(),
                TypedValue::ULLong(100)
            ),
            ("iothread.3.poll-grow".to_string(), TypedValue::UInt(2)),
            ("iothread.3.poll-shrink".to_string(), TypedValue::UInt(0)),
            (
                "iothread.5.poll-max-ns".to_string(),
                TypedValue::ULLong(32768)
            ),
            ("iothread.5.poll-grow".to_string(), TypedValue::UInt(0)),
            ("iothread.5.poll-shrink".to_string(), TypedValue::UInt(0)),
        ]
    );

    c.domain_del_iothread(&d, 3, 0).unwrap();
    let e = c.domain_del_iothread(&d, 3, 0).unwrap_err();
    assert_eq!(
        (e.code, e.domain),
        (ErrorCode::InvalidArg, ErrorDomain::Domain)
    );
    assert_eq!(
        e.message(),
        "invalid argument: cannot find IOThread '3' in iothreadids list"
    );
    let live = c.domain_get_xml_desc(&d, 0).unwrap();
    assert!(!live.contains("iothread"), "{live}");
}

#[test]
fn implied_iothreads_are_listed_after_explicit_ones_and_disks_keep_theirs() {
    let (_g, c, _d) = default_conn();
    let d = c
        .domain_define_xml(
            "<domain type='test'><name>io</name><memory>1024</memory>\
             <vcpu cpuset='1-3' current='2'>4</vcpu><iothreads>3</iothreads>\
             <iothreadids><iothread id='7'/></iothreadids>\
             <cputune><iothreadpin iothread='7' cpuset='5'/></cputune>\
             <os><type>hvm</type></os><devices><disk type='file' device='disk'>\
             <driver name='qemu' iothread='1'/><source file='/x'/>\
             <target dev='vda' bus='virtio'/></disk></devices></domain>",
            0,
        )
        .unwrap();
    let xml = c.domain_get_xml_desc(&d, 0).unwrap();
    assert!(xml.contains(
        "  <iothreads>3</iothreads>\n  <iothreadids>\n    <iothread id='7'/>\n    <iothread id='1'/>\n    <iothread id='2'/>\n  </iothreadids>\n"
    ));
    // The domain's cpuset stands in for a missing pin.
    assert_eq!(
        c.domain_get_iothread_info(&d, 0).unwrap(),
        vec![(7, vec![0b100000]), (1, vec![0b1110]), (2, vec![0b1110])]
    );
    assert_eq!(
        c.domain_get_emulator_pin_info(&d, 1, 0).unwrap(),
        (1, vec![0b1110])
    );
    let e = c.domain_del_iothread(&d, 1, 0).unwrap_err();
    assert_eq!(
        e.message(),
        "invalid argument: cannot remove IOThread 1 since it is being used by disk 'vda'"
    );
    c.domain_del_iothread(&d, 7, 0).unwrap();
    let xml = c.domain_get_xml_desc(&d, 0).unwrap();
    assert!(xml.contains(
        "  <iothreads>2</iothreads>\n  <iothreadids>\n    <iothread id='1'/>\n    <iothread id='2'/>\n  </iothreadids>\n  <os>"
    ));
    // Defined through the API, its IOThreads have no polling state: C
    // fails without saying why.
    c.domain_create(&d, 0).unwrap();
    let p = vec![("poll_max_ns".to_string(), TypedValue::ULLong(5))];
    let e = c.domain_set_iothread_params(&d, 1, &p, 0).unwrap_err();
    assert_eq!(
        (e.code, e.domain),
        (ErrorCode::InternalError, ErrorDomain::None)
    );
    c.domain_destroy(&d, 0).unwrap();
    c.domain_undefine(&d, 0).unwrap();
}

#[test]
fn node_cpu_map_is_c_fixed_answer() {
    let (_g, c, _d) = default_conn();
    assert_eq!(c.node_cpu_map(0).unwrap(), (8, vec![0x15], 3));
    assert!(c.node_cpu_map(1).is_err());
}

#[test]
fn hostname_time_and_block_info_are_c_made_up_answers() {
    let (_g, c, d) = default_conn();
    assert_eq!(c.domain_get_hostname(&d, 0).unwrap(), "testhost");
    assert_eq!(c.domain_get_time(&d, 0).unwrap(), (627_319_920, 0));
    c.domain_set_time(&d, 1234, 5, 0).unwrap();
    assert_eq!(c.domain_get_time(&d, 0).unwrap(), (1234, 5));
    assert_eq!(
        c.domain_get_block_info(&d, "vda", 0).unwrap(),
        (1_099_506_450_432, 1_099_511_627_776, 1_099_511_627_776)
    );
    assert!(c.domain_get_block_info(&d, "/guest/diskimage1", 0).is_ok());
    let e = c.domain_get_block_info(&d, "vdz", 0).unwrap_err();
    assert_eq!(
        (e.code, e.domain),
        (ErrorCode::InvalidArg, ErrorDomain::Test)
    );
    assert_eq!(
        e.message(),
        "invalid argument: invalid path vdz not assigned to domain"
    );
    c.domain_suspend(&d).unwrap();
    let e = c.domain_get_time(&d, 0).unwrap_err();
    assert_eq!(
        (e.code, e.domain),
        (ErrorCode::OperationInvalid, ErrorDomain::Test)
    );
    assert_eq!(c.domain_get_hostname(&d, 0).unwrap(), "testhost");
    c.domain_destroy(&d, 0).unwrap();
    let e = c.domain_get_hostname(&d, 0).unwrap_err();
    assert_eq!(
        (e.code, e.domain, e.message()),
        (
            ErrorCode::OperationInvalid,
            ErrorDomain::Domain,
            "Requested operation is not valid: domain is not running".to_string()
        )
    );
    // The clock belongs to the domain object: a restart keeps it.
    c.domain_create(&d, 0).unwrap();
    assert_eq!(c.domain_get_time(&d, 0).unwrap(), (1234, 5));
}

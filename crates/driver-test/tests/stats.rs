// SPDX-License-Identifier: LGPL-2.1-or-later
//! CPU statistics, free pages and guest interface addresses of the test
//! driver, asserting the answers Debian's C libvirtd 9.0 gives for
//! test:///default (observed through libvirt-python against both daemons).

mod common;

use common::default_conn;
use driver::error::{ErrorCode, ErrorDomain};
use driver::{Connection, TypedValue};

fn ull(v: &[(String, TypedValue)]) -> Vec<(&str, u64)> {
    v.iter()
        .map(|(k, x)| match x {
            TypedValue::ULLong(n) => (k.as_str(), *n),
            other => panic!("{k} is {other:?}"),
        })
        .collect()
}

#[test]
fn node_cpu_stats_are_four_fixed_times() {
    let (_g, c, _d) = default_conn();
    let all = c.node_get_cpu_stats(-1, 0, 0).unwrap();
    assert_eq!(
        all,
        vec![
            ("user".to_string(), 9_797_400_000),
            ("kernel".to_string(), 34_678_723_400_000),
            ("idle".to_string(), 87_264_900_000),
            ("iowait".to_string(), 763_600_000),
        ]
    );
    assert_eq!(c.node_get_cpu_stats(3, 2, 0).unwrap(), all[..2].to_vec());
    let e = c.node_get_cpu_stats(0, 4, 1).unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidArg);
    assert_eq!(
        e.detail.as_deref(),
        Some("unsupported flags (0x1) in function testNodeGetCPUStats")
    );
    // C's driver fills nothing in: its daemon then fails the call.
    assert_eq!(
        c.node_get_free_pages(&[4, 2048], 0, 2, 0).unwrap(),
        Vec::<u64>::new()
    );
    assert!(c.node_get_free_pages(&[4], 0, 1, 1).is_err());
}

#[test]
fn domain_cpu_stats_total_and_per_host_core() {
    let (_g, c, d) = default_conn();
    assert_eq!(c.domain_get_cpu_stats(&d, 0, -1, 1, 0).unwrap().1, 3);
    let (v, n) = c.domain_get_cpu_stats(&d, 3, -1, 1, 0).unwrap();
    assert_eq!(n, 3);
    assert_eq!(
        ull(&v),
        vec![
            ("cpu_time", 48_772_617_035),
            ("user_time", 5_540_000_000),
            ("system_time", 6_460_000_000)
        ]
    );
    // Per core: the number of host cores, the parameters per core.
    assert_eq!(c.domain_get_cpu_stats(&d, 0, 0, 0, 0).unwrap().1, 2);
    assert_eq!(c.domain_get_cpu_stats(&d, 0, 0, 2, 0).unwrap().1, 2);
    let (v, n) = c.domain_get_cpu_stats(&d, 2, 0, 5, 0).unwrap();
    assert_eq!(n, 2);
    assert_eq!(
        ull(&v),
        vec![
            ("cpu_time", 24_386_308_517),
            ("vcpu_time", 23_151_740_627),
            ("cpu_time", 24_386_308_518),
            ("vcpu_time", 23_151_740_628)
        ]
    );
    let (v, n) = c.domain_get_cpu_stats(&d, 1, 1, 1, 0).unwrap();
    assert_eq!((ull(&v), n), (vec![("cpu_time", 24_386_308_518)], 1));
    let e = c.domain_get_cpu_stats(&d, 2, 2, 1, 0).unwrap_err();
    assert_eq!(
        (e.code, e.domain),
        (ErrorCode::InvalidArg, ErrorDomain::Test)
    );
    assert_eq!(
        e.detail.as_deref(),
        Some("start_cpu 2 larger than maximum of 1")
    );
    c.domain_destroy(&d, 0).unwrap();
    let e = c.domain_get_cpu_stats(&d, 3, -1, 1, 0).unwrap_err();
    assert_eq!(e.code, ErrorCode::OperationInvalid);
}

#[test]
fn interface_addresses_follow_the_network_and_the_domain_id() {
    let (_g, c, d) = default_conn();
    let v = c.domain_interface_addresses(&d, 2, 0).unwrap();
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].name, "testnet0");
    assert_eq!(v[0].hwaddr.as_deref(), Some("aa:bb:cc:dd:ee:ff"));
    assert_eq!(
        (
            v[0].addrs[0].addr.as_str(),
            v[0].addrs[0].prefix,
            v[0].addrs[0].addr_type
        ),
        ("192.168.122.3", 24, 0)
    );
    let e = c.domain_interface_addresses(&d, 3, 0).unwrap_err();
    assert_eq!(
        (e.code, e.domain),
        (ErrorCode::ArgumentUnsupported, ErrorDomain::Test)
    );
    assert_eq!(
        e.detail.as_deref(),
        Some("Unknown IP address data source 3")
    );
    let x = c
        .domain_create_xml(
            "<domain type='test'><name>ia</name><memory>1024</memory><os><type>hvm</type></os>\
             <devices><interface type='network'><mac address='52:54:00:11:22:3'/>\
             <source network='default'/><target dev='vn0'/></interface>\
             <interface type='bridge'><source bridge='br0'/></interface>\
             <interface type='network'><source network='default'/></interface></devices></domain>",
            0,
        )
        .unwrap();
    let v = c.domain_interface_addresses(&x, 0, 0).unwrap();
    let got: Vec<_> = v
        .iter()
        .map(|i| (i.name.as_str(), i.addrs[0].addr.as_str()))
        .collect();
    // Domain id 2: 20 further on, plus one per interface.
    assert_eq!(
        got,
        vec![
            ("vn0", "192.168.122.23"),
            ("testnet0", "192.168.0.2"),
            ("testnet1", "192.168.122.25")
        ]
    );
    assert_eq!(v[0].hwaddr.as_deref(), Some("52:54:00:11:22:03"));
    c.domain_destroy(&d, 0).unwrap();
    let e = c.domain_interface_addresses(&d, 0, 0).unwrap_err();
    assert_eq!(e.detail.as_deref(), Some("domain is not running"));
}

// SPDX-License-Identifier: LGPL-2.1-or-later
//! NUMA, block I/O, interface bandwidth and block throttling parameters of
//! the test driver, asserting the answers Debian's C libvirtd 9.0 gives
//! for test:///default (observed through libvirt-python against both
//! daemons).

mod common;

use common::default_conn;
use driver::consts::affect;
use driver::error::{ErrorCode, ErrorDomain};
use driver::{Connection, TypedValue};

fn s(v: &str) -> TypedValue {
    TypedValue::String(v.into())
}

fn p(k: &str, v: TypedValue) -> Vec<(String, TypedValue)> {
    vec![(k.to_string(), v)]
}

fn get<'a>(v: &'a [(String, TypedValue)], k: &str) -> &'a TypedValue {
    &v.iter().find(|(n, _)| n == k).unwrap().1
}

#[test]
fn numa_mode_is_fixed_while_running_and_needs_a_nodeset() {
    let (_g, c, d) = default_conn();
    let v = c.domain_get_numa_parameters(&d, 2, 0).unwrap();
    assert_eq!(
        v,
        vec![
            ("numa_mode".into(), TypedValue::Int(0)),
            ("numa_nodeset".into(), s(""))
        ]
    );
    assert_eq!(c.domain_get_numa_parameters(&d, 0, 0).unwrap().len(), 2);
    let e = c
        .domain_set_numa_parameters(&d, &p("numa_mode", TypedValue::Int(1)), 0)
        .unwrap_err();
    assert_eq!(
        (e.code, e.domain),
        (ErrorCode::ConfigUnsupported, ErrorDomain::Domain)
    );
    let mut both = p("numa_mode", TypedValue::Int(1));
    both.extend(p("numa_nodeset", s("0-1")));
    c.domain_set_numa_parameters(&d, &both, 0).unwrap();
    let e = c
        .domain_set_numa_parameters(&d, &p("numa_mode", TypedValue::Int(2)), affect::LIVE)
        .unwrap_err();
    assert_eq!(
        e.detail.as_deref(),
        Some("can't change numatune mode for running domain")
    );
    c.domain_set_numa_parameters(&d, &p("numa_nodeset", s("1,3-4,^3")), 0)
        .unwrap();
    let v = c.domain_get_numa_parameters(&d, 2, 0).unwrap();
    assert_eq!(get(&v, "numa_nodeset"), &s("1,4"));
    assert_eq!(get(&v, "numa_mode"), &TypedValue::Int(1));
    let xml = c.domain_get_xml_desc(&d, 0).unwrap();
    assert!(
        xml.contains("  <numatune>\n    <memory mode='preferred' nodeset='1,4'/>\n  </numatune>\n")
    );
    // The persistent definition is untouched.
    let v = c.domain_get_numa_parameters(&d, 2, affect::CONFIG).unwrap();
    assert_eq!(get(&v, "numa_nodeset"), &s(""));
    let e = c
        .domain_set_numa_parameters(&d, &p("numa_nodeset", s("^1")), 0)
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::OperationInvalid);
    assert_eq!(
        e.detail.as_deref(),
        Some("Invalid nodeset of 'numatune': ^1")
    );
    let e = c
        .domain_set_numa_parameters(&d, &p("numa_nodeset", s("x")), 0)
        .unwrap_err();
    assert_eq!(
        (e.code, e.domain),
        (ErrorCode::InvalidArg, ErrorDomain::None)
    );
    let e = c
        .domain_set_numa_parameters(&d, &p("numa_mode", TypedValue::Int(4)), 0)
        .unwrap_err();
    assert_eq!(e.detail.as_deref(), Some("unsupported numatune mode: '4'"));
    let e = c
        .domain_set_numa_parameters(&d, &p("numa_bogus", TypedValue::Int(4)), 0)
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::ArgumentUnsupported);
}

#[test]
fn blkio_devices_merge_by_path_and_bad_strings_fail_after_the_rest() {
    let (_g, c, d) = default_conn();
    let v = c.domain_get_blkio_parameters(&d, 6, 0).unwrap();
    assert_eq!(v.len(), 6);
    assert_eq!(get(&v, "weight"), &TypedValue::UInt(0));
    let mut ps = p("device_weight", s("/dev/sda,100"));
    ps.extend(p("device_read_iops_sec", s("/dev/sda,20,/dev/sdb,30")));
    c.domain_set_blkio_parameters(&d, &ps, 0).unwrap();
    // The weight is kept although the device string fails the call.
    let mut ps = p("weight", TypedValue::UInt(7));
    ps.extend(p("device_weight", s("/dev/sda,1x,/dev/sdb,2")));
    let e = c.domain_set_blkio_parameters(&d, &ps, 0).unwrap_err();
    assert_eq!(
        e.detail.as_deref(),
        Some("unable to parse blkio device 'device_weight' '/dev/sda,1x,/dev/sdb,2'")
    );
    let e = c
        .domain_set_blkio_parameters(&d, &p("device_weight", s("/dev/sda,4294967296")), 0)
        .unwrap_err();
    assert_eq!(
        e.detail.as_deref(),
        Some("invalid value '4294967296' for parameter 'device_weight' of device '/dev/sda'")
    );
    let v = c.domain_get_blkio_parameters(&d, 6, 0).unwrap();
    assert_eq!(get(&v, "weight"), &TypedValue::UInt(7));
    assert_eq!(get(&v, "device_weight"), &s("/dev/sda,100"));
    assert_eq!(
        get(&v, "device_read_iops_sec"),
        &s("/dev/sda,20,/dev/sdb,30")
    );
    let xml = c.domain_get_xml_desc(&d, 0).unwrap();
    assert!(xml.contains(
        "  <blkiotune>\n    <weight>7</weight>\n    <device>\n      <path>/dev/sda</path>\n      \
         <weight>100</weight>\n      <read_iops_sec>20</read_iops_sec>\n    </device>\n"
    ));
    assert!(!c.domain_get_xml_desc(&d, 2).unwrap().contains("blkiotune"));
    // Asked for none: the number there are.
    assert_eq!(c.domain_get_blkio_parameters(&d, 0, 0).unwrap().len(), 6);
}

#[test]
fn interface_bandwidth_directions_replace_or_clear() {
    let (_g, c, d) = default_conn();
    let v = c
        .domain_get_interface_parameters(&d, "aa:bb:cc:dd:ee:ff", 7, 0)
        .unwrap();
    assert_eq!(v.len(), 7);
    assert!(v.iter().all(|(_, x)| *x == TypedValue::UInt(0)));
    let e = c
        .domain_get_interface_parameters(&d, "vnet9", 7, 0)
        .unwrap_err();
    assert_eq!(
        (e.code, e.domain),
        (ErrorCode::InvalidArg, ErrorDomain::Domain)
    );
    assert_eq!(
        e.detail.as_deref(),
        Some("'vnet9' is not a known interface")
    );
    let mut ps = p("inbound.average", TypedValue::UInt(100));
    ps.extend(p("inbound.burst", TypedValue::UInt(5)));
    ps.extend(p("outbound.average", TypedValue::UInt(50)));
    c.domain_set_interface_parameters(&d, "testnet0", &ps, 0)
        .unwrap();
    let xml = c.domain_get_xml_desc(&d, 0).unwrap();
    assert!(xml.contains(
        "      <source network='default'/>\n      <bandwidth>\n        \
         <inbound average='100' burst='5'/>\n        <outbound average='50'/>\n      </bandwidth>\n      <target"
    ));
    // A peak alone changes nothing; a zero average clears its direction.
    c.domain_set_interface_parameters(&d, "testnet0", &p("outbound.peak", TypedValue::UInt(9)), 0)
        .unwrap();
    c.domain_set_interface_parameters(
        &d,
        "testnet0",
        &p("inbound.average", TypedValue::UInt(0)),
        0,
    )
    .unwrap();
    let v = c
        .domain_get_interface_parameters(&d, "testnet0", 7, 0)
        .unwrap();
    assert_eq!(get(&v, "inbound.average"), &TypedValue::UInt(0));
    assert_eq!(get(&v, "outbound.average"), &TypedValue::UInt(50));
    assert_eq!(get(&v, "outbound.peak"), &TypedValue::UInt(0));
    c.domain_set_interface_parameters(
        &d,
        "testnet0",
        &p("outbound.average", TypedValue::UInt(0)),
        0,
    )
    .unwrap();
    let xml = c.domain_get_xml_desc(&d, 0).unwrap();
    assert!(xml.contains("      <bandwidth>\n      </bandwidth>\n"));
}

#[test]
fn block_io_tune_needs_maxima_and_keeps_totals_apart() {
    let (_g, c, d) = default_conn();
    let v = c.domain_get_block_io_tune(&d, Some("vda"), 20, 0).unwrap();
    assert_eq!(v.len(), 20);
    assert_eq!(get(&v, "group_name"), &s(""));
    let e = c
        .domain_get_block_io_tune(&d, Some("vdz"), 20, 0)
        .unwrap_err();
    assert_eq!(
        e.detail.as_deref(),
        Some("disk 'vdz' was not found in the domain config")
    );
    let e = c
        .domain_set_block_io_tune(
            &d,
            "vda",
            &p("total_bytes_sec", TypedValue::ULLong(1000)),
            0,
        )
        .unwrap_err();
    assert_eq!(
        e.detail.as_deref(),
        Some("total_bytes_sec cannot be set higher than total_bytes_sec_max ")
    );
    let mut ps = p("total_bytes_sec", TypedValue::ULLong(1000));
    ps.extend(p("total_bytes_sec_max", TypedValue::ULLong(2000)));
    ps.extend(p("group_name", s("g1")));
    c.domain_set_block_io_tune(&d, "/guest/diskimage1", &ps, 0)
        .unwrap();
    let mut ps = p("read_bytes_sec", TypedValue::ULLong(5));
    ps.extend(p("read_bytes_sec_max", TypedValue::ULLong(5)));
    let e = c.domain_set_block_io_tune(&d, "vda", &ps, 0).unwrap_err();
    assert_eq!(
        e.detail.as_deref(),
        Some("total and read/write of bytes_sec cannot be set at the same time")
    );
    let e = c
        .domain_set_block_io_tune(
            &d,
            "vda",
            &p("size_iops_sec", TypedValue::ULLong(10u64.pow(16))),
            0,
        )
        .unwrap_err();
    assert_eq!(
        (e.code, e.domain),
        (ErrorCode::ArgumentUnsupported, ErrorDomain::Test)
    );
    let v = c.domain_get_block_io_tune(&d, Some("vda"), 20, 0).unwrap();
    assert_eq!(get(&v, "total_bytes_sec"), &TypedValue::ULLong(1000));
    assert_eq!(get(&v, "group_name"), &s("g1"));
    let xml = c.domain_get_xml_desc(&d, 0).unwrap();
    assert!(xml.contains(
        "<target dev='vda' bus='virtio'/>\n      <iotune>\n        <total_bytes_sec>1000</total_bytes_sec>\n        \
         <total_bytes_sec_max>2000</total_bytes_sec_max>\n        <group_name>g1</group_name>\n      </iotune>\n"
    ));
    c.domain_destroy(&d, 0).unwrap();
    let e = c
        .domain_get_block_io_tune(&d, Some("vda"), 20, affect::LIVE)
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::OperationInvalid);
}

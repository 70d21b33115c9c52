// SPDX-License-Identifier: LGPL-2.1-or-later
//! Tuning parameters kept in a test domain's definition, as libvirt's
//! test driver keeps them: NUMA memory (`<numatune>`), block I/O weights
//! and limits (`<blkiotune>`) and interface bandwidth (`<bandwidth>` of an
//! `<interface>`), block throttling (`<iotune>` of a `<disk>`), perf
//! events (`<perf>`) and the balloon's statistics period. Each getter answers from the one definition its flags
//! select; each setter changes that one definition. A getter asked for no
//! parameters answers only how many it has, without looking at the domain.

use conf::xml::Element;
use conf::DomainDef;
use driver::consts::affect;
use driver::error::{ErrorCode, ErrorDomain};
use driver::{DomainRef, Error, Result, TypedParams, TypedValue};

use crate::domain_config::{one_def, one_def_mut, parse_mac};
use crate::errors;
use crate::state::Shared;

/// VIR_TYPED_PARAM_STRING_OKAY.
const STRING_OKAY: u32 = 1 << 2;
const AFFECT: u32 = affect::LIVE | affect::CONFIG;
/// The largest node number taken in a node set (libvirt grows its bitmap
/// as far as the string asks).
const NODESET_LIMIT: usize = 1 << 20;
/// virDomainNumatuneMemMode names, by value.
const NUMA_MODES: [&str; 4] = ["strict", "preferred", "interleave", "restrictive"];

/// virTypedParamsValidate.
pub(crate) use driver::types::validate_params as validate;

/// A top-level element of the definition.
fn top<'a>(def: &'a DomainDef, name: &str) -> Option<&'a Element> {
    def.other.iter().find(|e| e.name == name)
}

/// Replaces (or, with `None`, removes) a top-level element.
fn put_top(def: &mut DomainDef, name: &str, e: Option<Element>) {
    let pos = def.other.iter().position(|x| x.name == name);
    match (pos, e) {
        (Some(i), Some(e)) => def.other[i] = e,
        (Some(i), None) => {
            def.other.remove(i);
        }
        (None, Some(e)) => def.other.push(e),
        (None, None) => {}
    }
}

// ---- NUMA ----

/// `<numatune><memory>` as libvirt keeps it: mode, and either a node set
/// (static placement) or automatic placement.
struct NumaMemory {
    mode: i32,
    nodeset: Option<Vec<usize>>,
}

fn numa_memory(def: &DomainDef) -> Option<NumaMemory> {
    let m = top(def, "numatune")?.child("memory")?;
    let mode = m
        .attr("mode")
        .and_then(|s| NUMA_MODES.iter().position(|x| *x == s))
        .unwrap_or(0) as i32;
    let nodeset = if m.attr("placement") == Some("auto") {
        None
    } else {
        m.attr("nodeset")
            .and_then(|s| conf::parse_bitmap(s, NODESET_LIMIT))
    };
    Some(NumaMemory { mode, nodeset })
}

/// virBitmapParse: like the CPU sets, but a set made only of exclusions
/// ("^1") is an empty set rather than an error.
fn parse_nodeset(s: &str) -> Option<Vec<usize>> {
    conf::parse_bitmap(s, NODESET_LIMIT).or_else(|| {
        s.split(',')
            .all(|p| {
                p.trim()
                    .strip_prefix('^')
                    .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            })
            .then(Vec::new)
    })
}

/// virDomainGetNumaParameters: the memory mode (strict when none is
/// defined) and node set ("" when none).
pub(crate) fn get_numa(
    sh: &Shared,
    r: &DomainRef,
    nparams: i32,
    flags: u32,
) -> Result<TypedParams> {
    Error::check_flags(flags, AFFECT | STRING_OKAY, "testDomainGetNumaParameters")?;
    let answer = |m: Option<NumaMemory>| {
        let (mode, nodeset) = m.map_or((0, None), |m| (m.mode, m.nodeset));
        vec![
            ("numa_mode".to_string(), TypedValue::Int(mode)),
            (
                "numa_nodeset".to_string(),
                TypedValue::String(nodeset.map_or(String::new(), |n| conf::format_bitmap(&n))),
            ),
        ]
    };
    if nparams == 0 {
        return Ok(answer(None));
    }
    sh.with_dom(r, |d| {
        let (def, _) = one_def(d, flags)?;
        Ok(answer(numa_memory(def)))
    })
}

/// virDomainSetNumaParameters: a running domain keeps its mode; setting
/// only a mode where none is defined needs a node set unless the vCPUs
/// are placed automatically.
pub(crate) fn set_numa(sh: &Shared, r: &DomainRef, params: &TypedParams, flags: u32) -> Result<()> {
    Error::check_flags(flags, AFFECT, "testDomainSetNumaParameters")?;
    validate(params, &[("numa_mode", "int"), ("numa_nodeset", "string")])?;
    sh.change_dom(r, |_, d, _| {
        let (def, live) = one_def_mut(d, flags)?;
        let mut mode = None;
        let mut nodeset = None;
        for (k, v) in params {
            match (k.as_str(), v) {
                ("numa_mode", TypedValue::Int(m)) => {
                    if !(0..NUMA_MODES.len() as i32).contains(m) {
                        return Err(errors::test(
                            ErrorCode::InvalidArg,
                            format!("unsupported numatune mode: '{m}'"),
                        ));
                    }
                    mode = Some(*m);
                }
                ("numa_nodeset", TypedValue::String(s)) => {
                    let set = parse_nodeset(s).ok_or_else(|| {
                        Error::invalid_arg(
                            ErrorDomain::None,
                            format!("Failed to parse bitmap '{s}'"),
                        )
                    })?;
                    if set.is_empty() {
                        return Err(errors::test(
                            ErrorCode::OperationInvalid,
                            format!("Invalid nodeset of 'numatune': {s}"),
                        ));
                    }
                    nodeset = Some(set);
                }
                _ => {}
            }
        }
        let cur = numa_memory(def);
        if let (true, Some(m), Some(c)) = (live, mode, cur.as_ref()) {
            if c.mode != m {
                return Err(errors::test(
                    ErrorCode::OperationInvalid,
                    "can't change numatune mode for running domain",
                ));
            }
        }
        if mode.is_none() && nodeset.is_none() {
            return Ok(());
        }
        // virDomainNumatuneSet.
        let (mode, nodeset) = match cur {
            Some(c) => (mode.unwrap_or(c.mode), nodeset.or(c.nodeset)),
            None => {
                if nodeset.is_none() && def.vcpu_placement != "auto" {
                    return Err(Error::new(
                        ErrorCode::ConfigUnsupported,
                        ErrorDomain::Domain,
                        "nodeset for NUMA memory tuning must be set if 'placement' is 'static'",
                    ));
                }
                (mode.unwrap_or(0), nodeset)
            }
        };
        let mut mem = Element::new("memory").with_attr("mode", NUMA_MODES[mode as usize]);
        match nodeset {
            Some(n) => mem.set_attr("nodeset", &conf::format_bitmap(&n)),
            None => mem.set_attr("placement", "auto"),
        }
        let mut nt = top(def, "numatune")
            .cloned()
            .unwrap_or_else(|| Element::new("numatune"));
        nt.remove_children("memory");
        nt.children.insert(0, conf::xml::Node::Element(mem));
        put_top(def, "numatune", Some(nt));
        Ok(())
    })
}

// ---- block I/O ----

/// The per-device fields of `<blkiotune><device>`, in the order of the
/// API's parameters.
const BLKIO_FIELDS: [(&str, &str); 5] = [
    ("device_weight", "weight"),
    ("device_read_iops_sec", "read_iops_sec"),
    ("device_write_iops_sec", "write_iops_sec"),
    ("device_read_bytes_sec", "read_bytes_sec"),
    ("device_write_bytes_sec", "write_bytes_sec"),
];

/// `<blkiotune>`: the weight and, per device path, the five values.
#[derive(Default)]
struct Blkio {
    weight: u32,
    devices: Vec<(String, [u64; 5])>,
}

fn blkio(def: &DomainDef) -> Blkio {
    let Some(e) = top(def, "blkiotune") else {
        return Blkio::default();
    };
    let num = |e: &Element, n: &str| e.child_text(n).and_then(|t| t.trim().parse::<u64>().ok());
    Blkio {
        weight: num(e, "weight").unwrap_or(0) as u32,
        devices: e
            .children_named("device")
            .map(|d| {
                let mut v = [0u64; 5];
                for (i, (_, tag)) in BLKIO_FIELDS.iter().enumerate() {
                    v[i] = num(d, tag).unwrap_or(0);
                }
                (d.child_text("path").unwrap_or_default(), v)
            })
            .collect(),
    }
}

/// virDomainDefFormatBlkiotune: devices with no value are left out.
fn blkio_element(b: &Blkio) -> Option<Element> {
    let mut e = Element::new("blkiotune");
    if b.weight != 0 {
        e.push(Element::new("weight").with_text(&b.weight.to_string()));
    }
    for (path, v) in &b.devices {
        if v.iter().all(|x| *x == 0) {
            continue;
        }
        let mut d = Element::new("device").with_child(Element::new("path").with_text(path));
        for (i, (_, tag)) in BLKIO_FIELDS.iter().enumerate() {
            if v[i] != 0 {
                d.push(Element::new(tag).with_text(&v[i].to_string()));
            }
        }
        e.push(d);
    }
    (!e.is_empty()).then_some(e)
}

/// virDomainGetBlkioParameters: the weight, then per field the devices
/// having it as "path,value,path,value".
pub(crate) fn get_blkio(
    sh: &Shared,
    r: &DomainRef,
    nparams: i32,
    flags: u32,
) -> Result<TypedParams> {
    Error::check_flags(flags, AFFECT | STRING_OKAY, "testDomainGetBlkioParameters")?;
    let answer = |b: Blkio| {
        let mut v = vec![("weight".to_string(), TypedValue::UInt(b.weight))];
        for (i, (name, _)) in BLKIO_FIELDS.iter().enumerate() {
            let s: Vec<String> = b
                .devices
                .iter()
                .filter(|(_, x)| x[i] != 0)
                .map(|(p, x)| format!("{p},{}", x[i]))
                .collect();
            v.push((name.to_string(), TypedValue::String(s.join(","))));
        }
        v
    };
    if nparams == 0 {
        return Ok(answer(Blkio::default()));
    }
    sh.with_dom(r, |d| Ok(answer(blkio(one_def(d, flags)?.0))))
}

/// virDomainDriverParseBlkioDeviceStr: "path,value[,path,value...]".
fn parse_blkio_devices(field: &str, s: &str, index: usize) -> Result<Vec<(String, u64)>> {
    if s.is_empty() {
        return Ok(Vec::new());
    }
    let bad = || {
        Error::invalid_arg(
            ErrorDomain::Domain,
            format!("unable to parse blkio device '{field}' '{s}'"),
        )
    };
    if s.matches(',').count().is_multiple_of(2) {
        return Err(bad());
    }
    let mut out = Vec::new();
    let mut rest = s;
    loop {
        let (path, value) = rest.split_once(',').ok_or_else(bad)?;
        let digits = value.bytes().take_while(u8::is_ascii_digit).count();
        let n = value[..digits]
            .parse::<u64>()
            .ok()
            .filter(|n| index >= 3 || *n <= u64::from(u32::MAX))
            .ok_or_else(|| {
                Error::invalid_arg(
                    ErrorDomain::Domain,
                    format!("invalid value '{value}' for parameter '{field}' of device '{path}'"),
                )
            })?;
        out.push((path.to_string(), n));
        match value[digits..].strip_prefix(',') {
            None if digits == value.len() => return Ok(out),
            None => return Err(bad()),
            Some(next) => rest = next,
        }
    }
}

/// virDomainSetBlkioParameters: the weight (not range checked) and
/// per-device values merged by path. Like libvirt, a device string that
/// does not parse fails the call but does not stop the other parameters.
pub(crate) fn set_blkio(
    sh: &Shared,
    r: &DomainRef,
    params: &TypedParams,
    flags: u32,
) -> Result<()> {
    Error::check_flags(flags, AFFECT, "testDomainSetBlkioParameters")?;
    let mut spec = vec![("weight", "uint")];
    spec.extend(BLKIO_FIELDS.iter().map(|(n, _)| (*n, "string")));
    validate(params, &spec)?;
    sh.change_dom(r, |_, d, _| {
        let (def, _) = one_def_mut(d, flags)?;
        let mut b = blkio(def);
        let mut failure = None;
        for (k, v) in params {
            match (k.as_str(), v) {
                ("weight", TypedValue::UInt(w)) => b.weight = *w,
                (field, TypedValue::String(s)) => {
                    let Some(i) = BLKIO_FIELDS.iter().position(|(n, _)| *n == field) else {
                        continue;
                    };
                    match parse_blkio_devices(field, s, i) {
                        Err(e) => failure = Some(e),
                        Ok(devs) => {
                            for (path, n) in devs {
                                match b.devices.iter_mut().find(|(p, _)| *p == path) {
                                    Some((_, x)) => x[i] = n,
                                    None if n != 0 => {
                                        let mut x = [0; 5];
                                        x[i] = n;
                                        b.devices.push((path, x));
                                    }
                                    None => {}
                                }
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        put_top(def, "blkiotune", blkio_element(&b));
        failure.map_or(Ok(()), Err)
    })
}

// ---- interface bandwidth ----

/// The parameters of one direction, by attribute.
const BW_IN: [&str; 4] = ["average", "peak", "burst", "floor"];
const BW_OUT: [&str; 3] = ["average", "peak", "burst"];

/// virDomainNetFind: the index in the devices of the (first) interface
/// named by MAC address or host-side name. (libvirt 9.6 refuses a MAC
/// shared by several interfaces; 9.0, followed here, takes the first.)
fn net_find(def: &DomainDef, device: &str) -> Result<usize> {
    let nets = def
        .devices
        .iter()
        .enumerate()
        .filter(|(_, e)| e.name == "interface");
    let found: Vec<usize> = match parse_mac(device) {
        Some(mac) => nets
            .filter(|(_, e)| {
                e.child("mac")
                    .and_then(|m| m.attr("address"))
                    .and_then(parse_mac)
                    == Some(mac)
            })
            .map(|(i, _)| i)
            .take(1)
            .collect(),
        None => nets
            .filter(|(_, e)| e.child("target").and_then(|t| t.attr("dev")) == Some(device))
            .map(|(i, _)| i)
            .take(1)
            .collect(),
    };
    found.first().copied().ok_or_else(|| {
        Error::invalid_arg(
            ErrorDomain::Domain,
            format!("'{device}' is not a known interface"),
        )
    })
}

fn bw_value(net: &Element, dir: &str, attr: &str) -> u32 {
    net.child("bandwidth")
        .and_then(|b| b.child(dir))
        .and_then(|d| d.attr(attr))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// virDomainGetInterfaceParameters: inbound average, peak, burst, floor,
/// outbound average, peak, burst (0 when unset).
pub(crate) fn get_interface(
    sh: &Shared,
    r: &DomainRef,
    device: &str,
    nparams: i32,
    flags: u32,
) -> Result<TypedParams> {
    Error::check_flags(
        flags,
        AFFECT | STRING_OKAY,
        "testDomainGetInterfaceParameters",
    )?;
    let answer = |net: Option<&Element>| {
        let v = |dir, a| net.map_or(0, |n| bw_value(n, dir, a));
        let ins = BW_IN
            .iter()
            .map(|a| (format!("inbound.{a}"), TypedValue::UInt(v("inbound", a))));
        let outs = BW_OUT
            .iter()
            .map(|a| (format!("outbound.{a}"), TypedValue::UInt(v("outbound", a))));
        ins.chain(outs).collect()
    };
    if nparams == 0 {
        return Ok(answer(None));
    }
    sh.with_dom(r, |d| {
        let (def, _) = one_def(d, flags)?;
        let i = net_find(def, device)?;
        Ok(answer(def.devices.get(i)))
    })
}

/// virDomainSetInterfaceParameters: a direction given an average (or, in
/// bound, a floor) replaces the old one; one given only zero or no
/// average and floor clears it, if any of them was named.
pub(crate) fn set_interface(
    sh: &Shared,
    r: &DomainRef,
    device: &str,
    params: &TypedParams,
    flags: u32,
) -> Result<()> {
    Error::check_flags(flags, AFFECT, "testDomainSetInterfaceParameters")?;
    let names: Vec<String> = BW_IN
        .iter()
        .map(|a| format!("inbound.{a}"))
        .chain(BW_OUT.iter().map(|a| format!("outbound.{a}")))
        .collect();
    let spec: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "uint")).collect();
    validate(params, &spec)?;
    sh.change_dom(r, |_, d, _| {
        let (def, _) = one_def_mut(d, flags)?;
        let i = net_find(def, device)?;
        let mut dirs = [[0u32; 4], [0u32; 4]];
        let mut named = [false, false];
        for (k, v) in params {
            let TypedValue::UInt(v) = v else { continue };
            let Some((dir, attr)) = k.split_once('.') else {
                continue;
            };
            let di = usize::from(dir == "outbound");
            let Some(ai) = BW_IN.iter().position(|a| *a == attr) else {
                continue;
            };
            dirs[di][ai] = *v;
            if attr == "average" || attr == "floor" {
                named[di] = true;
            }
        }
        let net = &mut def.devices[i];
        let old = net.child("bandwidth");
        let mut kept = [
            old.and_then(|b| b.child("inbound")).cloned(),
            old.and_then(|b| b.child("outbound")).cloned(),
        ];
        for (di, tag) in ["inbound", "outbound"].into_iter().enumerate() {
            let [avg, peak, burst, floor] = dirs[di];
            if avg != 0 || (di == 0 && floor != 0) {
                let mut e = Element::new(tag);
                for (a, val) in [
                    ("average", avg),
                    ("peak", peak),
                    ("burst", burst),
                    ("floor", floor),
                ] {
                    if val != 0 {
                        e.set_attr(a, &val.to_string());
                    }
                }
                kept[di] = Some(e);
            } else if named[di] {
                kept[di] = None;
            }
        }
        // Once set, the interface has a bandwidth even when it limits
        // nothing: libvirt then prints it open and closed on two lines.
        let mut bw = Element::new("bandwidth");
        for e in kept.into_iter().flatten() {
            bw.push(e);
        }
        if bw.children.is_empty() {
            bw = bw.with_text("\n      ");
        }
        net.remove_children("bandwidth");
        net.insert_after_names(bw, &["mac", "source", "vlan", "virtualport"]);
        Ok(())
    })
}

// ---- block I/O throttling ----

/// The parameters of `<iotune>`, in the API's order; all unsigned long
/// long but `group_name`.
const IOTUNE: [&str; 20] = [
    "total_bytes_sec",
    "read_bytes_sec",
    "write_bytes_sec",
    "total_iops_sec",
    "read_iops_sec",
    "write_iops_sec",
    "total_bytes_sec_max",
    "read_bytes_sec_max",
    "write_bytes_sec_max",
    "total_iops_sec_max",
    "read_iops_sec_max",
    "write_iops_sec_max",
    "size_iops_sec",
    "group_name",
    "total_bytes_sec_max_length",
    "read_bytes_sec_max_length",
    "write_bytes_sec_max_length",
    "total_iops_sec_max_length",
    "read_iops_sec_max_length",
    "write_iops_sec_max_length",
];
const GROUP_NAME: usize = 13;
/// The largest limit libvirt's test driver takes.
const IOTUNE_MAX: u64 = 1_000_000_000_000_000;

/// virDomainDiskIndexByName: a path names a disk by source, anything else
/// by target.
fn disk_find(def: &DomainDef, name: &str) -> Option<usize> {
    def.devices.iter().position(|e| {
        e.name == "disk"
            && if name.starts_with('/') {
                e.child("source").is_some_and(|s| {
                    ["file", "dev", "dir", "name", "volume"]
                        .iter()
                        .any(|a| s.attr(a) == Some(name))
                })
            } else {
                e.child("target").and_then(|t| t.attr("dev")) == Some(name)
            }
    })
}

/// A disk's `<iotune>` values, 0 (or no group) when unset.
fn iotune(disk: &Element) -> ([u64; 20], Option<String>) {
    let mut v = [0u64; 20];
    let Some(t) = disk.child("iotune") else {
        return (v, None);
    };
    for (i, n) in IOTUNE.iter().enumerate() {
        v[i] = t
            .child_text(n)
            .and_then(|x| x.trim().parse().ok())
            .unwrap_or(0);
    }
    (v, t.child_text("group_name"))
}

/// virDomainGetBlockIoTune of a disk of the selected definition.
pub(crate) fn get_block_io_tune(
    sh: &Shared,
    r: &DomainRef,
    disk: Option<&str>,
    nparams: i32,
    flags: u32,
) -> Result<TypedParams> {
    Error::check_flags(flags, AFFECT | STRING_OKAY, "testDomainGetBlockIoTune")?;
    let answer = |(v, group): ([u64; 20], Option<String>)| {
        IOTUNE
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let x = if i == GROUP_NAME {
                    TypedValue::String(group.clone().unwrap_or_default())
                } else {
                    TypedValue::ULLong(v[i])
                };
                (n.to_string(), x)
            })
            .collect()
    };
    if nparams == 0 {
        return Ok(answer(([0; 20], None)));
    }
    sh.with_dom(r, |d| {
        let (def, _) = one_def(d, flags & !STRING_OKAY)?;
        let name = disk.unwrap_or("");
        let i = disk_find(def, name).ok_or_else(|| {
            errors::test(
                ErrorCode::InvalidArg,
                format!("disk '{name}' was not found in the domain config"),
            )
        })?;
        Ok(answer(iotune(&def.devices[i])))
    })
}

/// virDomainSetBlockIoTune: the values given replace the disk's, within
/// libvirt's limits and consistency rules (no total with read or write,
/// no value above its maximum).
pub(crate) fn set_block_io_tune(
    sh: &Shared,
    r: &DomainRef,
    disk: &str,
    params: &TypedParams,
    flags: u32,
) -> Result<()> {
    Error::check_flags(flags, AFFECT, "testDomainSetBlockIoTune")?;
    let spec: Vec<(&str, &str)> = IOTUNE
        .iter()
        .enumerate()
        .map(|(i, n)| (*n, if i == GROUP_NAME { "string" } else { "ullong" }))
        .collect();
    validate(params, &spec)?;
    sh.change_dom(r, |_, d, _| {
        let (def, _) = one_def_mut(d, flags)?;
        let i = disk_find(def, disk).ok_or_else(|| {
            errors::test(
                ErrorCode::InvalidArg,
                format!("missing persistent configuration for disk '{disk}'"),
            )
        })?;
        let (mut v, mut group) = iotune(&def.devices[i]);
        for (k, x) in params {
            match x {
                TypedValue::ULLong(n) => {
                    if *n > IOTUNE_MAX {
                        return Err(errors::test(
                            ErrorCode::ArgumentUnsupported,
                            format!(
                                "block I/O throttle limit value must be no more than {IOTUNE_MAX}"
                            ),
                        ));
                    }
                    if let Some(j) = IOTUNE.iter().position(|f| f == k) {
                        v[j] = *n;
                    }
                }
                TypedValue::String(s) => group = Some(s.clone()),
                _ => {}
            }
        }
        for (what, t) in [
            ("bytes_sec", 0),
            ("iops_sec", 3),
            ("bytes_sec_max", 6),
            ("iops_sec_max", 9),
        ] {
            if v[t] != 0 && (v[t + 1] != 0 || v[t + 2] != 0) {
                return Err(errors::test(
                    ErrorCode::InvalidArg,
                    format!("total and read/write of {what} cannot be set at the same time"),
                ));
            }
        }
        // libvirt 9.0's message ends in a space (9.6's does not).
        for j in 0..6 {
            if v[j] > v[j + 6] {
                return Err(errors::test(
                    ErrorCode::InvalidArg,
                    format!("{} cannot be set higher than {} ", IOTUNE[j], IOTUNE[j + 6]),
                ));
            }
        }
        let mut t = Element::new("iotune");
        for (j, n) in IOTUNE.iter().enumerate() {
            if j == GROUP_NAME {
                if let Some(g) = &group {
                    t.push(Element::new("group_name").with_text(g));
                }
            } else if v[j] != 0 {
                t.push(Element::new(n).with_text(&v[j].to_string()));
            }
        }
        let e = &mut def.devices[i];
        e.remove_children("iotune");
        if !t.is_empty() {
            e.insert_after_names(
                t,
                &[
                    "driver",
                    "auth",
                    "source",
                    "backingStore",
                    "backenddomain",
                    "geometry",
                    "blockio",
                    "mirror",
                    "target",
                ],
            );
        }
        Ok(())
    })
}

// ---- balloon statistics and perf events ----

/// virDomainSetMemoryStatsPeriod: `<stats period>` of the balloon of the
/// selected definition (none for 0).
pub(crate) fn set_memory_stats_period(
    sh: &Shared,
    r: &DomainRef,
    period: i32,
    flags: u32,
) -> Result<()> {
    Error::check_flags(flags, AFFECT, "testDomainSetMemoryStatsPeriod")?;
    sh.change_dom(r, |_, d, _| {
        let (def, _) = one_def_mut(d, flags)?;
        let balloon = def
            .devices
            .iter_mut()
            .find(|e| e.name == "memballoon" && e.attr("model") != Some("none"))
            .ok_or_else(|| {
                errors::internal(
                    "No memory balloon device configured, can not set the collection period",
                )
            })?;
        balloon.remove_children("stats");
        if period != 0 {
            let stats = Element::new("stats").with_attr("period", &period.to_string());
            balloon.children.insert(0, conf::xml::Node::Element(stats));
        }
        Ok(())
    })
}

/// virPerfEvent names, by value.
const PERF_EVENTS: [&str; 22] = [
    "cmt",
    "mbmt",
    "mbml",
    "cpu_cycles",
    "instructions",
    "cache_references",
    "cache_misses",
    "branch_instructions",
    "branch_misses",
    "bus_cycles",
    "stalled_cycles_frontend",
    "stalled_cycles_backend",
    "ref_cpu_cycles",
    "cpu_clock",
    "task_clock",
    "page_faults",
    "context_switches",
    "cpu_migrations",
    "page_faults_min",
    "page_faults_maj",
    "alignment_faults",
    "emulation_faults",
];

/// `<perf>`'s events: Some(enabled) for those it names.
fn perf_events(def: &DomainDef) -> [Option<bool>; 22] {
    let mut v = [None; 22];
    if let Some(p) = top(def, "perf") {
        for e in p.children_named("event") {
            if let Some(i) = PERF_EVENTS.iter().position(|n| Some(*n) == e.attr("name")) {
                v[i] = Some(e.attr("enabled") == Some("yes"));
            }
        }
    }
    v
}

/// virDomainGetPerfEvents: every event, enabled only when set so.
pub(crate) fn get_perf_events(sh: &Shared, r: &DomainRef, flags: u32) -> Result<TypedParams> {
    Error::check_flags(flags, AFFECT | STRING_OKAY, "testDomainGetPerfEvents")?;
    sh.with_dom(r, |d| {
        let (def, _) = one_def(d, flags & !STRING_OKAY)?;
        let v = perf_events(def);
        Ok(PERF_EVENTS
            .iter()
            .zip(v)
            .map(|(n, x)| (n.to_string(), TypedValue::Boolean(x == Some(true))))
            .collect())
    })
}

/// virDomainSetPerfEvents: each event named is set enabled or disabled
/// in the selected definition.
pub(crate) fn set_perf_events(
    sh: &Shared,
    r: &DomainRef,
    params: &TypedParams,
    flags: u32,
) -> Result<()> {
    Error::check_flags(flags, AFFECT, "testDomainSetPerfEvents")?;
    let spec: Vec<(&str, &str)> = PERF_EVENTS.iter().map(|n| (*n, "boolean")).collect();
    validate(params, &spec)?;
    sh.change_dom(r, |_, d, _| {
        let (def, _) = one_def_mut(d, flags)?;
        let mut v = perf_events(def);
        for (k, x) in params {
            if let (Some(i), TypedValue::Boolean(b)) = (PERF_EVENTS.iter().position(|n| n == k), x)
            {
                v[i] = Some(*b);
            }
        }
        let mut p = Element::new("perf");
        for (n, x) in PERF_EVENTS.iter().zip(v) {
            if let Some(b) = x {
                p.push(
                    Element::new("event")
                        .with_attr("name", n)
                        .with_attr("enabled", if b { "yes" } else { "no" }),
                );
            }
        }
        put_top(def, "perf", (!p.is_empty()).then_some(p));
        Ok(())
    })
}

// SPDX-License-Identifier: LGPL-2.1-or-later
//! vCPU, emulator and IOThread pinning, and IOThreads themselves, as
//! libvirt's test driver keeps them: in the definition (`<cputune>`'s
//! `vcpupin`, `emulatorpin` and `iothreadpin`, `<iothreads>` and
//! `<iothreadids>`), plus the polling parameters of each IOThread, which
//! belong to the domain object and only show in the IOThread statistics.
//!
//! The definition keeps these elements as XML (`DomainDef::other`); this
//! module reads and rewrites them in libvirt's order, so the formatted
//! XML matches C's.

use conf::xml::{Element, Node};
use conf::DomainDef;
use driver::consts::affect;
use driver::error::{ErrorCode, ErrorDomain};
use driver::{DomainRef, Error, NodeInfo, Result, TypedParams, TypedValue};

use crate::domain_config::{one_def, one_def_mut};
use crate::errors;
use crate::state::{Dom, IoThreadPoll, Shared};

/// The polling defaults the test driver gives a new IOThread.
const POLL_MAX_NS: u64 = 32768;

/// VIR_NODEINFO_MAXCPUS: every cpu of the fake host.
fn host_cpus(ni: &NodeInfo) -> usize {
    let n = u64::from(ni.nodes)
        .saturating_mul(u64::from(ni.sockets))
        .saturating_mul(u64::from(ni.cores))
        .saturating_mul(u64::from(ni.threads));
    usize::try_from(n).unwrap_or(usize::MAX).min(1 << 16)
}

/// virBitmapNewData: the cpus set in a client's cpumap.
fn bits_of_map(map: &[u8]) -> Vec<usize> {
    let mut v = Vec::new();
    for (i, b) in map.iter().enumerate() {
        for bit in 0..8 {
            if b & (1 << bit) != 0 {
                v.push(i * 8 + bit);
            }
        }
    }
    v
}

/// virBitmapToDataBuf: `bits` into `out`, dropping those beyond it.
fn fill_map(bits: &[usize], out: &mut [u8]) {
    for &b in bits {
        if let Some(byte) = out.get_mut(b / 8) {
            *byte |= 1 << (b % 8);
        }
    }
}

/// virBitmapToData: just enough bytes for the last cpu set (one when none).
fn map_of(bits: &[usize]) -> Vec<u8> {
    let len = bits.iter().max().map_or(1, |m| m / 8 + 1);
    let mut v = vec![0u8; len];
    fill_map(bits, &mut v);
    v
}

/// virBitmapFormat: "0-2,5"; empty for no cpu.
fn format_set(bits: &[usize]) -> String {
    let mut sorted = bits.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut parts = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let start = sorted[i];
        let mut end = start;
        while i + 1 < sorted.len() && sorted[i + 1] == end + 1 {
            i += 1;
            end = sorted[i];
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
        i += 1;
    }
    parts.join(",")
}

/// The cpus of a (normalised) cpuset attribute.
fn parse_set(s: &str) -> Vec<usize> {
    let mut v = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        if let (Ok(a), Ok(b)) = (a.trim().parse::<usize>(), b.trim().parse::<usize>()) {
            v.extend(a..=b.min(a.saturating_add(1 << 16)));
        }
    }
    v
}

fn top<'a>(def: &'a DomainDef, name: &str) -> Option<&'a Element> {
    def.other.iter().find(|e| e.name == name)
}

fn cputune_child<'a>(
    def: &'a DomainDef,
    name: &'a str,
    attr: &str,
    id: &str,
) -> Option<&'a Element> {
    top(def, "cputune")?
        .children_named(name)
        .find(|e| e.attr(attr) == Some(id))
}

/// `<vcpu cpuset>`: the domain-wide cpumask.
fn def_cpumask(def: &DomainDef) -> Option<Vec<usize>> {
    def.vcpu_cpuset.as_deref().map(parse_set)
}

fn vcpu_pin(def: &DomainDef, vcpu: usize) -> Option<Vec<usize>> {
    cputune_child(def, "vcpupin", "vcpu", &vcpu.to_string())
        .map(|e| parse_set(e.attr("cpuset").unwrap_or("")))
}

fn emulator_pin(def: &DomainDef) -> Option<Vec<usize>> {
    top(def, "cputune")?
        .child("emulatorpin")
        .map(|e| parse_set(e.attr("cpuset").unwrap_or("")))
}

fn iothread_pin(def: &DomainDef, id: u32) -> Option<Vec<usize>> {
    cputune_child(def, "iothreadpin", "iothread", &id.to_string())
        .map(|e| parse_set(e.attr("cpuset").unwrap_or("")))
}

/// The position of a `<cputune>` child in libvirt's formatter.
fn cputune_rank(name: &str) -> usize {
    const ORDER: &[&str] = &[
        "shares",
        "period",
        "quota",
        "global_period",
        "global_quota",
        "emulator_period",
        "emulator_quota",
        "iothread_period",
        "iothread_quota",
        "vcpupin",
        "emulatorpin",
        "iothreadpin",
        "emulatorsched",
        "vcpusched",
        "iothreadsched",
        "cachetune",
        "memorytune",
    ];
    ORDER.iter().position(|n| *n == name).unwrap_or(ORDER.len())
}

/// Replaces the `<cputune>` children named `name` for which `matches`
/// holds by `new` (placed in libvirt's order, vcpupins by vcpu), and drops
/// an emptied `<cputune>`.
fn put_cputune(
    def: &mut DomainDef,
    name: &str,
    matches: impl Fn(&Element) -> bool,
    new: Option<Element>,
) {
    if top(def, "cputune").is_none() {
        if new.is_none() {
            return;
        }
        def.other.push(Element::new("cputune"));
    }
    let Some(ct) = def.other.iter_mut().find(|e| e.name == "cputune") else {
        return;
    };
    ct.children
        .retain(|n| !matches!(n, Node::Element(e) if e.name == name && matches(e)));
    if let Some(new) = new {
        let vcpu_of = |e: &Element| e.attr("vcpu").and_then(|v| v.parse::<usize>().ok());
        let rank = cputune_rank(name);
        let pos = ct
            .children
            .iter()
            .position(|n| match n {
                Node::Element(e) => {
                    let r = cputune_rank(&e.name);
                    r > rank || (r == rank && name == "vcpupin" && vcpu_of(e) > vcpu_of(&new))
                }
                _ => false,
            })
            .unwrap_or(ct.children.len());
        ct.children.insert(pos, Node::Element(new));
    }
    if ct.elements().next().is_none() {
        def.other.retain(|e| e.name != "cputune");
    }
}

/// The IOThread ids of a definition in libvirt's order: those of
/// `<iothreadids>`, then the ones `<iothreads>` adds (lowest free first).
pub(crate) fn iothread_ids(def: &DomainDef) -> Vec<u32> {
    let mut ids: Vec<u32> = top(def, "iothreadids")
        .map(|e| {
            e.children_named("iothread")
                .filter_map(|t| t.attr("id").and_then(|v| v.trim().parse().ok()))
                .collect()
        })
        .unwrap_or_default();
    let count = top(def, "iothreads")
        .and_then(|e| e.text().trim().parse::<usize>().ok())
        .unwrap_or(0)
        .min(1 << 16);
    let mut next = 1u32;
    while ids.len() < count {
        if !ids.contains(&next) {
            ids.push(next);
        }
        next += 1;
    }
    ids
}

/// Writes the IOThread list back: `<iothreads>` with the count and every
/// id listed in `<iothreadids>` (both gone when the list is empty); pins
/// of removed ids go with them, the others follow the list's order.
fn write_iothread_ids(def: &mut DomainDef, ids: &[u32]) {
    let kept: Vec<Element> = top(def, "iothreadids")
        .map(|e| e.children_named("iothread").cloned().collect())
        .unwrap_or_default();
    def.other
        .retain(|e| e.name != "iothreads" && e.name != "iothreadids");
    let pins: Vec<(u32, Element)> = top(def, "cputune")
        .map(|ct| {
            ct.children_named("iothreadpin")
                .filter_map(|e| Some((e.attr("iothread")?.parse().ok()?, e.clone())))
                .collect()
        })
        .unwrap_or_default();
    put_cputune(def, "iothreadpin", |_| true, None);
    for id in ids {
        if let Some((_, pin)) = pins.iter().find(|(i, _)| i == id) {
            put_cputune(def, "iothreadpin", |_| false, Some(pin.clone()));
        }
    }
    if ids.is_empty() {
        return;
    }
    def.other
        .push(Element::new("iothreads").with_text(&ids.len().to_string()));
    let mut list = Element::new("iothreadids");
    for id in ids {
        let key = id.to_string();
        let t = kept
            .iter()
            .find(|t| t.attr("id").map(str::trim) == Some(key.as_str()))
            .cloned()
            .unwrap_or_else(|| Element::new("iothread").with_attr("id", &key));
        list.push(t);
    }
    def.other.push(list);
}

/// The polling parameters libvirt's test driver gives the IOThreads of a
/// domain read from a node file.
pub(crate) fn initial_polls(def: &DomainDef) -> Vec<IoThreadPoll> {
    iothread_ids(def)
        .into_iter()
        .map(IoThreadPoll::new)
        .collect()
}

fn positive(n: usize, arg: &str, api: &str) -> Result<()> {
    if n == 0 {
        return Err(Error::invalid_arg(
            ErrorDomain::Domain,
            format!("{arg} in {api} must be greater than zero"),
        ));
    }
    Ok(())
}

/// The cpus of a LIVE/CONFIG pinning request, after the public API's and
/// the driver's checks.
fn pin_map(cpumap: &[u8], flags: u32, api: &str, func: &str) -> Result<Vec<usize>> {
    positive(cpumap.len(), "maplen", api)?;
    Error::check_flags(flags, affect::LIVE | affect::CONFIG, func)?;
    Ok(bits_of_map(cpumap))
}

fn zero_id() -> Error {
    errors::test(ErrorCode::InvalidArg, "invalid value of 0 for iothread_id")
}

/// virDomainPinVcpuFlags: the running domain only (no flags).
pub(crate) fn domain_pin_vcpu(
    sh: &Shared,
    r: &DomainRef,
    vcpu: u32,
    cpumap: &[u8],
    flags: u32,
) -> Result<()> {
    positive(cpumap.len(), "maplen", "virDomainPinVcpuFlags")?;
    Error::check_flags(flags, 0, "testDomainPinVcpuFlags")?;
    let bits = bits_of_map(cpumap);
    sh.change_dom(r, |_, d, _| {
        if !d.is_active() {
            return Err(errors::op_invalid("cannot pin vcpus on an inactive domain"));
        }
        if vcpu >= d.def.vcpus_current {
            return Err(errors::test(
                ErrorCode::InvalidArg,
                format!("requested vcpu '{vcpu}' is not present in the domain"),
            ));
        }
        let id = vcpu.to_string();
        let pin = Element::new("vcpupin")
            .with_attr("vcpu", &id)
            .with_attr("cpuset", &format_set(&bits));
        put_cputune(
            &mut d.def,
            "vcpupin",
            |e| e.attr("vcpu") == Some(&id),
            Some(pin),
        );
        Ok(())
    })
}

/// The cpus a vcpu may run on: its pin, else the domain's cpumask, else
/// every host cpu.
fn vcpu_cpus(def: &DomainDef, vcpu: usize, hostcpus: usize) -> Vec<usize> {
    vcpu_pin(def, vcpu)
        .or_else(|| def_cpumask(def))
        .unwrap_or_else(|| (0..hostcpus).collect())
}

/// virDomainGetVcpus: the online vcpus of a running domain with made-up
/// times, each running on the last cpu it may use.
pub(crate) fn domain_get_vcpus(
    sh: &Shared,
    r: &DomainRef,
    maxinfo: usize,
    maplen: usize,
) -> Result<(Vec<driver::VcpuInfo>, Vec<u8>)> {
    let hostcpus = host_cpus(&sh.lock().node_info);
    sh.with_dom(r, |d| {
        if !d.is_active() {
            return Err(errors::op_invalid(
                "cannot list vcpus for an inactive domain",
            ));
        }
        let n = maxinfo.min(d.def.vcpus_current as usize);
        let total = n
            .checked_mul(maplen)
            .filter(|t| *t <= 1 << 24)
            .ok_or_else(|| Error::invalid_arg(ErrorDomain::Test, "cpumap size too large"))?;
        let mut maps = vec![0u8; total];
        let t = crate::conn::now_micros() / 10;
        let mut infos = Vec::with_capacity(n);
        for (i, map) in maps.chunks_mut(maplen.max(1)).take(n).enumerate() {
            let cpus = vcpu_cpus(&d.def, i, hostcpus);
            if maplen > 0 {
                fill_map(&cpus, map);
            }
            infos.push(driver::VcpuInfo {
                number: i as u32,
                state: 1, // VIR_VCPU_RUNNING
                cpu_time: t,
                cpu: cpus
                    .iter()
                    .max()
                    .map_or(-1, |c| i32::try_from(*c).unwrap_or(i32::MAX)),
            });
        }
        if maplen == 0 {
            infos.truncate(n);
        }
        Ok((infos, maps))
    })
}

/// virDomainGetVcpuPinInfo: (vcpus filled, `ncpumaps` maps of `maplen`
/// bytes).
pub(crate) fn domain_get_vcpu_pin_info(
    sh: &Shared,
    r: &DomainRef,
    ncpumaps: usize,
    maplen: usize,
    flags: u32,
) -> Result<(i32, Vec<u8>)> {
    positive(ncpumaps, "ncpumaps", "virDomainGetVcpuPinInfo")?;
    positive(maplen, "maplen", "virDomainGetVcpuPinInfo")?;
    let total = ncpumaps
        .checked_mul(maplen)
        .filter(|t| *t <= 1 << 24)
        .ok_or_else(|| {
            Error::new(
                ErrorCode::Overflow,
                ErrorDomain::Domain,
                format!("input too large: {ncpumaps} * {maplen}"),
            )
        })?;
    let hostcpus = host_cpus(&sh.lock().node_info);
    sh.with_dom(r, |d| {
        let (def, _) = one_def(d, flags)?;
        let n = ncpumaps.min(def.vcpus_max as usize);
        let mut maps = vec![0u8; total];
        for (i, map) in maps.chunks_mut(maplen).take(n).enumerate() {
            fill_map(&vcpu_cpus(def, i, hostcpus), map);
        }
        Ok((i32::try_from(n).unwrap_or(i32::MAX), maps))
    })
}

/// virDomainPinEmulator.
pub(crate) fn domain_pin_emulator(
    sh: &Shared,
    r: &DomainRef,
    cpumap: &[u8],
    flags: u32,
) -> Result<()> {
    let bits = pin_map(
        cpumap,
        flags,
        "virDomainPinEmulator",
        "testDomainPinEmulator",
    )?;
    sh.change_dom(r, |_, d, _| {
        let (def, _) = one_def_mut(d, flags)?;
        if bits.is_empty() {
            return Err(errors::test(
                ErrorCode::InvalidArg,
                "Empty cpu list for pinning",
            ));
        }
        let pin = Element::new("emulatorpin").with_attr("cpuset", &format_set(&bits));
        put_cputune(def, "emulatorpin", |_| true, Some(pin));
        Ok(())
    })
}

/// virDomainGetEmulatorPinInfo: (1, `maplen` bytes).
pub(crate) fn domain_get_emulator_pin_info(
    sh: &Shared,
    r: &DomainRef,
    maplen: usize,
    flags: u32,
) -> Result<(i32, Vec<u8>)> {
    positive(maplen, "maplen", "virDomainGetEmulatorPinInfo")?;
    Error::check_flags(
        flags,
        affect::LIVE | affect::CONFIG,
        "testDomainGetEmulatorPinInfo",
    )?;
    if maplen > 1 << 16 {
        return Err(Error::invalid_arg(
            ErrorDomain::Test,
            "cpumap size too large",
        ));
    }
    let hostcpus = host_cpus(&sh.lock().node_info);
    sh.with_dom(r, |d| {
        let (def, _) = one_def(d, flags)?;
        let cpus = emulator_pin(def)
            .or_else(|| def_cpumask(def))
            .unwrap_or_else(|| (0..hostcpus).collect());
        let mut map = vec![0u8; maplen];
        fill_map(&cpus, &mut map);
        Ok((1, map))
    })
}

/// virDomainGetIOThreadInfo: each IOThread's id and the cpus it may use
/// (its pin, else the domain's cpumask, else one cpu per online vcpu).
pub(crate) fn domain_get_iothread_info(
    sh: &Shared,
    r: &DomainRef,
    flags: u32,
) -> Result<Vec<(u32, Vec<u8>)>> {
    Error::check_flags(
        flags,
        affect::LIVE | affect::CONFIG,
        "testDomainGetIOThreadInfo",
    )?;
    sh.with_dom(r, |d| {
        let (def, _) = one_def(d, flags)?;
        Ok(iothread_ids(def)
            .into_iter()
            .map(|id| {
                let cpus = iothread_pin(def, id)
                    .or_else(|| def_cpumask(def))
                    .unwrap_or_else(|| (0..def.vcpus_current as usize).collect());
                (id, map_of(&cpus))
            })
            .collect())
    })
}

/// virDomainPinIOThread.
pub(crate) fn domain_pin_iothread(
    sh: &Shared,
    r: &DomainRef,
    id: u32,
    cpumap: &[u8],
    flags: u32,
) -> Result<()> {
    let bits = pin_map(
        cpumap,
        flags,
        "virDomainPinIOThread",
        "testDomainPinIOThread",
    )?;
    sh.change_dom(r, |_, d, _| {
        let (def, _) = one_def_mut(d, flags)?;
        if bits.is_empty() {
            return Err(errors::test(
                ErrorCode::InvalidArg,
                "Empty iothread cpumap list for pinning",
            ));
        }
        let ids = iothread_ids(def);
        if !ids.contains(&id) {
            return Err(errors::test(
                ErrorCode::InvalidArg,
                format!("iothreadid {id} not found"),
            ));
        }
        // A pinned IOThread is no longer implied by <iothreads>: list it.
        write_iothread_ids(def, &ids);
        let key = id.to_string();
        let pin = Element::new("iothreadpin")
            .with_attr("iothread", &key)
            .with_attr("cpuset", &format_set(&bits));
        put_cputune(
            def,
            "iothreadpin",
            |e| e.attr("iothread") == Some(&key),
            Some(pin),
        );
        // Keep the pins in the order of the IOThreads.
        write_iothread_ids(def, &ids);
        Ok(())
    })
}

/// virDomainAddIOThread.
pub(crate) fn domain_add_iothread(sh: &Shared, r: &DomainRef, id: u32, flags: u32) -> Result<()> {
    Error::check_flags(
        flags,
        affect::LIVE | affect::CONFIG,
        "testDomainAddIOThread",
    )?;
    if id == 0 {
        return Err(zero_id());
    }
    sh.change_dom(r, |_, d, _| {
        let (def, _) = one_def_mut(d, flags)?;
        let mut ids = iothread_ids(def);
        if ids.contains(&id) {
            return Err(Error::invalid_arg(
                ErrorDomain::Domain,
                format!("an IOThread is already using iothread_id '{id}'"),
            ));
        }
        ids.push(id);
        write_iothread_ids(def, &ids);
        d.iothreads.push(IoThreadPoll::new(id));
        Ok(())
    })
}

/// virDomainDelIOThread: refused while a disk uses the IOThread.
pub(crate) fn domain_del_iothread(sh: &Shared, r: &DomainRef, id: u32, flags: u32) -> Result<()> {
    Error::check_flags(
        flags,
        affect::LIVE | affect::CONFIG,
        "testDomainDelIOThread",
    )?;
    if id == 0 {
        return Err(zero_id());
    }
    sh.change_dom(r, |_, d, _| {
        let (def, _) = one_def_mut(d, flags)?;
        let mut ids = iothread_ids(def);
        if !ids.contains(&id) {
            return Err(Error::invalid_arg(
                ErrorDomain::Domain,
                format!("cannot find IOThread '{id}' in iothreadids list"),
            ));
        }
        let key = id.to_string();
        let uses = |e: &Element| {
            e.child("driver")
                .is_some_and(|dr| dr.attr("iothread") == Some(&key))
        };
        if let Some(disk) = def.devices.iter().find(|e| e.name == "disk" && uses(e)) {
            let dst = disk
                .child("target")
                .and_then(|t| t.attr("dev"))
                .unwrap_or("");
            return Err(Error::invalid_arg(
                ErrorDomain::Domain,
                format!("cannot remove IOThread {id} since it is being used by disk '{dst}'"),
            ));
        }
        if def
            .devices
            .iter()
            .any(|e| e.name == "controller" && uses(e))
        {
            return Err(Error::invalid_arg(
                ErrorDomain::Domain,
                format!("cannot remove IOThread '{id}' since it is being used by controller"),
            ));
        }
        ids.retain(|i| *i != id);
        write_iothread_ids(def, &ids);
        if let Some(pos) = d.iothreads.iter().position(|t| t.id == id) {
            d.iothreads.remove(pos);
        }
        Ok(())
    })
}

/// virTypedParamsValidate over the IOThread polling parameters.
fn validate_poll_params(params: &TypedParams) -> Result<()> {
    crate::tuning::validate(
        params,
        &[
            ("poll_max_ns", "ullong"),
            ("poll_grow", "uint"),
            ("poll_shrink", "uint"),
        ],
    )
}

/// virDomainSetIOThreadParams: the polling parameters of one IOThread of
/// the selected definition; like C, an IOThread the domain object does
/// not track (defined through the API rather than read from a node file)
/// fails without a reason.
pub(crate) fn domain_set_iothread_params(
    sh: &Shared,
    r: &DomainRef,
    id: u32,
    params: &TypedParams,
    flags: u32,
) -> Result<()> {
    Error::check_flags(flags, affect::LIVE, "testDomainSetIOThreadParams")?;
    if id == 0 {
        return Err(zero_id());
    }
    sh.change_dom(r, |_, d, _| {
        let (def, _) = one_def(d, flags)?;
        if !iothread_ids(def).contains(&id) {
            return Err(errors::test(
                ErrorCode::InvalidArg,
                format!("cannot find IOThread '{id}' in iothreadids"),
            ));
        }
        let Some(t) = d.iothreads.iter_mut().find(|t| t.id == id) else {
            return Err(Error::bare(ErrorCode::InternalError, ErrorDomain::None));
        };
        validate_poll_params(params)?;
        for (k, v) in params {
            match (k.as_str(), v) {
                ("poll_max_ns", TypedValue::ULLong(n)) => t.poll_max_ns = *n,
                ("poll_grow", TypedValue::UInt(n)) => t.poll_grow = *n,
                ("poll_shrink", TypedValue::UInt(n)) => t.poll_shrink = *n,
                _ => {}
            }
        }
        Ok(())
    })
}

/// The `iothread.*` statistics of a running domain.
pub(crate) fn iothread_stats(d: &Dom, out: &mut TypedParams) {
    if !d.is_active() || d.iothreads.is_empty() {
        return;
    }
    out.push((
        "iothread.count".into(),
        TypedValue::UInt(u32::try_from(d.iothreads.len()).unwrap_or(u32::MAX)),
    ));
    for t in &d.iothreads {
        let id = t.id;
        out.push((
            format!("iothread.{id}.poll-max-ns"),
            TypedValue::ULLong(t.poll_max_ns),
        ));
        out.push((
            format!("iothread.{id}.poll-grow"),
            TypedValue::UInt(t.poll_grow),
        ));
        out.push((
            format!("iothread.{id}.poll-shrink"),
            TypedValue::UInt(t.poll_shrink),
        ));
    }
}

impl IoThreadPoll {
    pub(crate) fn new(id: u32) -> Self {
        IoThreadPoll {
            id,
            poll_max_ns: POLL_MAX_NS,
            poll_grow: 0,
            poll_shrink: 0,
        }
    }
}

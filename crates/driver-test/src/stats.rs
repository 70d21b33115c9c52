// SPDX-License-Identifier: LGPL-2.1-or-later
//! Usage figures libvirt's test driver makes up: the host's CPU times and
//! free pages, a guest's CPU times (in total and per host CPU) and the
//! addresses of its interfaces, derived from the network each is on.

use std::net::IpAddr;

use driver::error::{ErrorCode, ErrorDomain};
use driver::{DomainInterface, DomainRef, Error, IpAddress, Result, TypedParams, TypedValue};

use crate::errors;
use crate::state::Shared;

/// VIR_TYPED_PARAM_STRING_OKAY.
const STRING_OKAY: u32 = 1 << 2;
/// VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_LAST.
const ADDR_SRC_LAST: u32 = 3;
/// The guest's total CPU time, the base of every per-CPU figure.
const TOTAL_CPUTIME: u64 = 48_772_617_035;

/// virNodeGetCPUStats: the same four times for every CPU.
pub(crate) fn node_get_cpu_stats(nparams: i32, flags: u32) -> Result<Vec<(String, u64)>> {
    Error::check_flags(flags, 0, "testNodeGetCPUStats")?;
    let all = [
        ("user", 9_797_400_000),
        ("kernel", 34_678_723_400_000),
        ("idle", 87_264_900_000),
        ("iowait", 763_600_000),
    ];
    let n = if nparams <= 0 {
        all.len()
    } else {
        nparams as usize
    };
    Ok(all
        .into_iter()
        .take(n)
        .map(|(f, v)| (f.to_string(), v))
        .collect())
}

/// virNodeGetFreePages: libvirt's test driver makes the counts up but
/// answers that it filled none in (its return value is 0), which libvirt's
/// daemon then reports as a failure without an error.
pub(crate) fn node_get_free_pages(flags: u32) -> Result<Vec<u64>> {
    Error::check_flags(flags, 0, "testNodeGetFreePages")?;
    Ok(Vec::new())
}

/// virDomainGetCPUStats of a running domain: the totals (`start_cpu` -1)
/// or, per host core from `start_cpu`, the CPU time and vCPU time.
pub(crate) fn domain_get_cpu_stats(
    sh: &Shared,
    r: &DomainRef,
    nparams: u32,
    start_cpu: i32,
    ncpus: u32,
    flags: u32,
) -> Result<(TypedParams, i32)> {
    Error::check_flags(flags, STRING_OKAY, "testDomainGetCPUStats")?;
    let total_cpus = sh.lock().node_info.cores.max(1);
    sh.with_dom(r, |d| {
        if !d.is_active() {
            return Err(errors::not_running());
        }
        if start_cpu == -1 {
            if nparams == 0 {
                return Ok((Vec::new(), 3));
            }
            let all = [
                ("cpu_time", TOTAL_CPUTIME),
                ("user_time", 5_540_000_000),
                ("system_time", 6_460_000_000),
            ];
            let v: TypedParams = all
                .into_iter()
                .take(nparams as usize)
                .map(|(f, x)| (f.to_string(), TypedValue::ULLong(x)))
                .collect();
            let n = v.len() as i32;
            return Ok((v, n));
        }
        if ncpus == 0 {
            return Ok((Vec::new(), total_cpus as i32));
        }
        if nparams == 0 {
            return Ok((Vec::new(), 2));
        }
        let start = u32::try_from(start_cpu).unwrap_or(u32::MAX);
        if start >= total_cpus {
            return Err(errors::test(
                ErrorCode::InvalidArg,
                format!(
                    "start_cpu {start_cpu} larger than maximum of {}",
                    total_cpus - 1
                ),
            ));
        }
        let percpu = TOTAL_CPUTIME / u64::from(total_cpus);
        let end = total_cpus.min(start.saturating_add(ncpus));
        let mut v = Vec::new();
        for cpu in start..end {
            let t = percpu + u64::from(cpu);
            v.push(("cpu_time".to_string(), TypedValue::ULLong(t)));
            if nparams > 1 {
                v.push((
                    "vcpu_time".to_string(),
                    TypedValue::ULLong(t.wrapping_sub(1_234_567_890)),
                ));
            }
        }
        Ok((v, if nparams > 1 { 2 } else { 1 }))
    })
}

/// virDomainInterfaceAddresses: one address per interface of a running
/// domain, whatever the source. An interface on a network gets the
/// network's first address (its first DHCP range's start, else its own)
/// moved on by 20 per domain id and one per interface; any other gets
/// 192.168.0.(index + 1)/24.
pub(crate) fn domain_interface_addresses(
    sh: &Shared,
    r: &DomainRef,
    source: u32,
    flags: u32,
) -> Result<Vec<DomainInterface>> {
    Error::check_flags(flags, 0, "testDomainInterfaceAddresses")?;
    if source >= ADDR_SRC_LAST {
        return Err(errors::test(
            ErrorCode::ArgumentUnsupported,
            format!("Unknown IP address data source {source}"),
        ));
    }
    let (id, nets) = sh.with_dom(r, |d| {
        if !d.is_active() {
            return Err(errors::not_running());
        }
        Ok((d.id(), d.def.interfaces()))
    })?;
    let mut out = Vec::with_capacity(nets.len());
    for (i, net) in nets.iter().enumerate() {
        let addr = if net.net_type == "network" {
            let offset = 20 * (i64::from(id) - 1) + i as i64 + 1;
            network_address(sh, net.network.as_deref().unwrap_or(""), offset)?
        } else {
            IpAddress {
                addr_type: 0,
                addr: format!("192.168.0.{}", i + 1),
                prefix: 24,
            }
        };
        out.push(DomainInterface {
            name: net.target_dev.clone().unwrap_or_default(),
            hwaddr: Some(format_mac(net.mac.as_deref().unwrap_or(""))),
            addrs: vec![addr],
        });
    }
    Ok(out)
}

/// virMacAddrFormat of a parsed address: two lower-case hex digits a byte.
fn format_mac(mac: &str) -> String {
    mac.split(':')
        .map(|b| format!("{:02x}", u8::from_str_radix(b, 16).unwrap_or(0)))
        .collect::<Vec<_>>()
        .join(":")
}

/// The address `offset` after the first of network `name`'s first IP
/// definition (IPv6 moves only its last byte, as libvirt's test driver
/// does).
fn network_address(sh: &Shared, name: &str, offset: i64) -> Result<IpAddress> {
    let entry = sh
        .networks
        .entry_by_name(name)
        .ok_or_else(|| errors::no_network_name(name))?;
    let n = entry.obj.lock();
    let ip = n.def.ips.first().ok_or_else(|| {
        Error::new(
            ErrorCode::InternalError,
            ErrorDomain::Test,
            format!("network '{name}' has no IP address"),
        )
    })?;
    let base = ip.ranges.first().map_or(ip.address, |rg| rg.start);
    let prefix = ip.effective_prefix() as u32;
    let (addr_type, addr) = match base {
        IpAddr::V6(a) if ip.family.as_deref() == Some("ipv6") => {
            let mut b = a.octets();
            b[15] = b[15].wrapping_add(offset as u8);
            (1, IpAddr::from(b))
        }
        IpAddr::V6(a) => (0, IpAddr::V6(a)),
        IpAddr::V4(a) => {
            let v = u32::from(a).wrapping_add(offset as u32);
            (0, IpAddr::from(std::net::Ipv4Addr::from(v)))
        }
    };
    Ok(IpAddress {
        addr_type,
        addr: addr.to_string(),
        prefix,
    })
}

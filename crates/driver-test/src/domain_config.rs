// SPDX-License-Identifier: LGPL-2.1-or-later
//! A test domain's state and configuration: info, state, XML, memory,
//! vcpus, autostart, security label, messages, metadata, scheduler and
//! statistics, with libvirt's rules for which definition (live or
//! persistent) a flags value selects.

use conf::{DomainDef, FormatFlags};
use driver::consts::{affect, list, xml as xmlf};
use driver::error::{ErrorCode, ErrorDomain};
use driver::{DomainInfo, DomainRef, Error, Event, Result, SecurityLabel, TypedParams, TypedValue};

use crate::conn::now_micros;
use crate::domain::{dom_matches, MAX_VCPUS};
use crate::errors;
use crate::state::{Dom, DomObj, Shared};

/// libvirt's virDomainObjUpdateModificationImpact: resolves CURRENT and
/// checks the request against the domain.
fn modification_impact(d: &Dom, mut flags: u32) -> Result<u32> {
    let active = d.is_active();
    if flags & (affect::LIVE | affect::CONFIG) == 0 {
        flags |= if active { affect::LIVE } else { affect::CONFIG };
    }
    if !active && flags & affect::LIVE != 0 {
        return Err(errors::not_running());
    }
    if !d.persistent && flags & affect::CONFIG != 0 {
        return Err(errors::dom_op_invalid(
            "transient domains do not have any persistent config",
        ));
    }
    Ok(flags)
}

fn live_config_exclusive(flags: u32) -> Result<()> {
    if flags & affect::LIVE != 0 && flags & affect::CONFIG != 0 {
        // VIR_EXCLUSIVE_FLAGS_RET: the message without the code's prefix.
        return Err(Error::verbatim(
            ErrorCode::InvalidArg,
            ErrorDomain::Domain,
            "Flags 'VIR_DOMAIN_AFFECT_LIVE' and 'VIR_DOMAIN_AFFECT_CONFIG' are mutually exclusive",
        ));
    }
    Ok(())
}

/// virDomainObjGetOneDefState: the one definition `flags` selects and
/// whether it is the live one.
pub(crate) fn one_def(d: &Dom, flags: u32) -> Result<(&DomainDef, bool)> {
    live_config_exclusive(flags)?;
    let flags = modification_impact(d, flags)?;
    let live = flags & affect::LIVE != 0;
    if d.is_active() && flags & affect::CONFIG != 0 {
        return Ok((d.new_def.as_deref().unwrap_or(&d.def), live));
    }
    Ok((&d.def, live))
}

pub(crate) fn one_def_mut(d: &mut Dom, flags: u32) -> Result<(&mut DomainDef, bool)> {
    live_config_exclusive(flags)?;
    let flags = modification_impact(d, flags)?;
    let live = flags & affect::LIVE != 0;
    if d.is_active() && flags & affect::CONFIG != 0 {
        if d.new_def.is_none() {
            d.new_def = Some(Box::new(d.def.clone()));
        }
        if let Some(nd) = d.new_def.as_deref_mut() {
            return Ok((nd, live));
        }
    }
    Ok((&mut d.def, live))
}

/// virDomainObjGetDefs: (live, persistent) definitions `flags` selects.
pub(crate) fn defs_mut(
    d: &mut Dom,
    flags: u32,
) -> Result<(Option<&mut DomainDef>, Option<&mut DomainDef>)> {
    let flags = modification_impact(d, flags)?;
    if d.is_active() {
        if flags & affect::CONFIG != 0 && d.new_def.is_none() {
            d.new_def = Some(Box::new(d.def.clone()));
        }
        let live = if flags & affect::LIVE != 0 {
            Some(&mut d.def)
        } else {
            None
        };
        let pers = if flags & affect::CONFIG != 0 {
            d.new_def.as_deref_mut()
        } else {
            None
        };
        Ok((live, pers))
    } else {
        Ok((None, Some(&mut d.def)))
    }
}

pub(crate) fn domain_get_info(sh: &Shared, r: &DomainRef) -> Result<DomainInfo> {
    sh.with_dom(r, |d| {
        Ok(DomainInfo {
            state: d.state,
            max_mem: d.def.memory_kib,
            memory: d.def.current_memory_kib,
            nr_virt_cpu: d.def.vcpus_current,
            cpu_time: now_micros().saturating_mul(1000),
        })
    })
}

pub(crate) fn domain_get_state(sh: &Shared, r: &DomainRef, flags: u32) -> Result<(i32, i32)> {
    Error::check_flags(flags, 0, "testDomainGetState")?;
    sh.with_dom(r, |d| Ok((d.state, d.reason)))
}

pub(crate) fn domain_get_xml_desc(sh: &Shared, r: &DomainRef, flags: u32) -> Result<String> {
    Error::check_flags(
        flags,
        xmlf::SECURE | xmlf::INACTIVE | xmlf::UPDATE_CPU | xmlf::MIGRATABLE,
        "testDomainGetXMLDesc",
    )?;
    sh.with_dom(r, |d| {
        let def = if flags & xmlf::INACTIVE != 0 {
            d.new_def.as_deref().unwrap_or(&d.def)
        } else {
            &d.def
        };
        Ok(def.to_xml(&FormatFlags {
            inactive: flags & xmlf::INACTIVE != 0,
            secure: flags & xmlf::SECURE != 0,
            migratable: flags & xmlf::MIGRATABLE != 0,
            update_cpu: flags & xmlf::UPDATE_CPU != 0,
        }))
    })
}

pub(crate) fn domain_get_os_type(sh: &Shared, r: &DomainRef) -> Result<String> {
    // libvirt's test driver answers "linux" whatever the guest.
    sh.with_dom(r, |_| Ok("linux".to_string()))
}

pub(crate) fn domain_get_max_memory(sh: &Shared, r: &DomainRef) -> Result<u64> {
    sh.with_dom(r, |d| Ok(d.def.memory_kib))
}

pub(crate) fn domain_set_max_memory(sh: &Shared, r: &DomainRef, kib: u64) -> Result<()> {
    domain_set_memory(sh, r, kib, affect::MAXIMUM)
}

pub(crate) fn domain_set_memory(sh: &Shared, r: &DomainRef, kib: u64, flags: u32) -> Result<()> {
    Error::check_flags(
        flags,
        affect::LIVE | affect::CONFIG | affect::MAXIMUM,
        "testDomainSetMemoryFlags",
    )?;
    sh.change_dom(r, |_, d, _| {
        let (def, live) = one_def_mut(d, flags)?;
        if flags & affect::MAXIMUM != 0 {
            if live {
                return Err(errors::op_invalid(
                    "cannot resize the maximum memory on an active domain",
                ));
            }
            let has_numa = def
                .other_element("cpu")
                .and_then(|c| c.child("numa"))
                .is_some_and(|n| n.children_named("cell").next().is_some());
            if has_numa {
                return Err(errors::op_invalid(
                    "initial memory size of a domain with NUMA nodes cannot be modified with this API",
                ));
            }
            if def.max_memory_kib != 0 && def.max_memory_kib < kib {
                return Err(errors::op_invalid(
                    "cannot set initial memory size greater than the maximum memory size",
                ));
            }
            def.memory_kib = kib;
            if def.current_memory_kib > kib {
                def.current_memory_kib = kib;
            }
        } else {
            if kib > def.memory_kib {
                return Err(Error::invalid_arg(
                    ErrorDomain::Test,
                    "cannot set memory higher than max memory",
                ));
            }
            def.current_memory_kib = kib;
        }
        Ok(())
    })
}

pub(crate) fn domain_get_memory_parameters(
    sh: &Shared,
    r: &DomainRef,
    flags: u32,
) -> Result<TypedParams> {
    Error::check_flags(
        flags,
        affect::LIVE | affect::CONFIG | 4,
        "testDomainGetMemoryParameters",
    )?;
    sh.with_dom(r, |d| {
        let (def, _) = one_def(d, flags & !4)?;
        // Unset limits read as VIR_DOMAIN_MEMORY_PARAM_UNLIMITED.
        let unlimited = 9_007_199_254_740_991u64;
        let get = |name: &str| -> u64 {
            def.other_element("memtune")
                .and_then(|m| m.child_text(name))
                .and_then(|t| t.trim().parse().ok())
                .unwrap_or(unlimited)
        };
        Ok(vec![
            ("hard_limit".into(), TypedValue::ULLong(get("hard_limit"))),
            ("soft_limit".into(), TypedValue::ULLong(get("soft_limit"))),
            (
                "swap_hard_limit".into(),
                TypedValue::ULLong(get("swap_hard_limit")),
            ),
        ])
    })
}

pub(crate) fn domain_set_vcpus(sh: &Shared, r: &DomainRef, n: u32, flags: u32) -> Result<()> {
    Error::check_flags(
        flags,
        affect::LIVE | affect::CONFIG | affect::MAXIMUM,
        "testDomainSetVcpusFlags",
    )?;
    if n > MAX_VCPUS {
        return Err(Error::invalid_arg(
            ErrorDomain::Test,
            format!("requested cpu amount exceeds maximum supported amount ({n} > {MAX_VCPUS})"),
        ));
    }
    sh.change_dom(r, |_, d, _| {
        let (live, pers) = defs_mut(d, flags)?;
        let exceeds = |max: u32| {
            Error::invalid_arg(
                ErrorDomain::Test,
                format!("requested cpu amount exceeds maximum ({n} > {max})"),
            )
        };
        if let Some(l) = &live {
            if l.vcpus_max < n {
                return Err(exceeds(l.vcpus_max));
            }
        }
        if let Some(p) = &pers {
            if flags & affect::MAXIMUM == 0 && p.vcpus_max < n {
                return Err(exceeds(p.vcpus_max));
            }
        }
        let conf_err = |e| errors::conf(e, ErrorDomain::Domain);
        if let Some(l) = live {
            l.set_vcpus(n).map_err(conf_err)?;
        }
        if let Some(p) = pers {
            if flags & affect::MAXIMUM != 0 {
                p.set_vcpus_max(n).map_err(conf_err)?;
            } else {
                p.set_vcpus(n).map_err(conf_err)?;
            }
        }
        Ok(())
    })
}

pub(crate) fn domain_get_vcpus_flags(sh: &Shared, r: &DomainRef, flags: u32) -> Result<i32> {
    Error::check_flags(
        flags,
        affect::LIVE | affect::CONFIG | affect::MAXIMUM,
        "testDomainGetVcpusFlags",
    )?;
    sh.with_dom(r, |d| {
        let (def, _) = one_def(d, flags & !affect::MAXIMUM)?;
        let n = if flags & affect::MAXIMUM != 0 {
            def.vcpus_max
        } else {
            def.vcpus_current
        };
        Ok(i32::try_from(n).unwrap_or(i32::MAX))
    })
}

pub(crate) fn domain_get_autostart(sh: &Shared, r: &DomainRef) -> Result<bool> {
    sh.with_dom(r, |d| Ok(d.autostart))
}

pub(crate) fn domain_set_autostart(sh: &Shared, r: &DomainRef, on: bool) -> Result<()> {
    sh.change_dom(r, |_, d, _| {
        d.autostart = on;
        Ok(())
    })
}

pub(crate) fn domain_is_active(sh: &Shared, r: &DomainRef) -> Result<bool> {
    sh.with_dom(r, |d| Ok(d.is_active()))
}

pub(crate) fn domain_is_persistent(sh: &Shared, r: &DomainRef) -> Result<bool> {
    sh.with_dom(r, |d| Ok(d.persistent))
}

pub(crate) fn domain_is_updated(_sh: &Shared, _r: &DomainRef) -> Result<bool> {
    Ok(false)
}

pub(crate) fn domain_security_label(sh: &Shared, r: &DomainRef) -> Result<SecurityLabel> {
    sh.with_dom(r, |d| {
        if d.is_active() {
            Ok(SecurityLabel {
                label: "libvirt-test".into(),
                enforcing: true,
            })
        } else {
            Ok(SecurityLabel::default())
        }
    })
}

pub(crate) fn domain_get_messages(sh: &Shared, r: &DomainRef, flags: u32) -> Result<Vec<String>> {
    // VIR_DOMAIN_MESSAGE_DEPRECATION, VIR_DOMAIN_MESSAGE_TAINTING.
    Error::check_flags(flags, 0x3, "testDomainGetMessages")?;
    sh.with_dom(r, |d| {
        let mut v = Vec::new();
        if flags == 0 || flags & 0x2 != 0 {
            for bit in 0..32 {
                if d.taint & (1 << bit) != 0 {
                    if let Some(m) = errors::taint_message(bit) {
                        v.push(format!("tainted: {m}"));
                    }
                }
            }
        }
        if flags == 0 || flags & 0x1 != 0 {
            for m in &d.deprecations {
                v.push(format!("deprecated configuration: {m}"));
            }
        }
        Ok(v)
    })
}

pub(crate) fn domain_set_metadata(
    sh: &Shared,
    r: &DomainRef,
    kind: i32,
    metadata: Option<&str>,
    key: Option<&str>,
    uri: Option<&str>,
    flags: u32,
) -> Result<()> {
    Error::check_flags(
        flags,
        affect::LIVE | affect::CONFIG,
        "testDomainSetMetadata",
    )?;
    sh.change_dom(r, |_, d, ev| {
        // The namespace checks are virxml's, reported from its domain.
        let conf_err = |e: conf::ConfError| match e.code {
            ErrorCode::InternalError => errors::conf(e, ErrorDomain::Xml),
            _ => errors::conf(e, ErrorDomain::Domain),
        };
        let (live, pers) = defs_mut(d, flags)?;
        if let Some(l) = live {
            l.set_metadata(kind, metadata, key, uri).map_err(conf_err)?;
        }
        if let Some(p) = pers {
            p.set_metadata(kind, metadata, key, uri).map_err(conf_err)?;
        }
        ev.push(Event::DomainMetadataChange {
            dom: d.dref(),
            kind,
            nsuri: uri.map(str::to_string),
        });
        Ok(())
    })
}

pub(crate) fn domain_get_metadata(
    sh: &Shared,
    r: &DomainRef,
    kind: i32,
    uri: Option<&str>,
    flags: u32,
) -> Result<String> {
    Error::check_flags(
        flags,
        affect::LIVE | affect::CONFIG,
        "testDomainGetMetadata",
    )?;
    sh.with_dom(r, |d| {
        let (def, _) = one_def(d, flags)?;
        def.get_metadata(kind, uri)
            .map_err(|e| errors::conf(e, ErrorDomain::Domain))
    })
}

pub(crate) fn domain_get_scheduler_type(sh: &Shared, r: &DomainRef) -> Result<(String, i32)> {
    sh.with_dom(r, |_| Ok(("fair".to_string(), 1)))
}

pub(crate) fn domain_get_scheduler_parameters(
    sh: &Shared,
    r: &DomainRef,
    flags: u32,
) -> Result<TypedParams> {
    Error::check_flags(flags, 0, "testDomainGetSchedulerParametersFlags")?;
    sh.with_dom(r, |_| Ok(vec![("weight".into(), TypedValue::UInt(50))]))
}

pub(crate) fn domain_stats(
    sh: &Shared,
    doms: &[DomainRef],
    stats: u32,
    flags: u32,
) -> Result<Vec<(DomainRef, TypedParams)>> {
    const STATS_STATE: u32 = 1;
    const STATS_IOTHREAD: u32 = 1 << 7;
    const ENFORCE: u32 = 1 << 31;
    let filters = list::ACTIVE
        | list::INACTIVE
        | list::PERSISTENT
        | list::TRANSIENT
        | list::RUNNING
        | list::PAUSED
        | list::SHUTOFF
        | list::OTHER;
    Error::check_flags(
        flags,
        filters | (1 << 29) | (1 << 30) | ENFORCE,
        "testConnectGetAllDomainStats",
    )?;
    let supported = STATS_STATE | STATS_IOTHREAD;
    let stats = if stats == 0 { supported } else { stats };
    if flags & ENFORCE != 0 && stats & !supported != 0 {
        return Err(errors::test(
            ErrorCode::ArgumentUnsupported,
            format!(
                "Stats types bits 0x{:x} are not supported by this daemon",
                stats & !supported
            ),
        ));
    }
    let lflags = flags & filters;
    let record = |d: &Dom| {
        let mut p: TypedParams = Vec::new();
        if stats & STATS_STATE != 0 {
            p.push(("state.state".into(), TypedValue::Int(d.state)));
            p.push(("state.reason".into(), TypedValue::Int(d.reason)));
        }
        if stats & STATS_IOTHREAD != 0 {
            crate::pinning::iothread_stats(d, &mut p);
        }
        (d.dref(), p)
    };
    let pick = |obj: &DomObj| {
        let d = obj.lock_live()?;
        dom_matches(&d, lflags).then(|| record(&d))
    };
    if doms.is_empty() {
        return Ok(sh
            .domains
            .snapshot()
            .iter()
            .filter_map(|e| pick(&e.obj))
            .collect());
    }
    Ok(doms
        .iter()
        .filter_map(|r| sh.domains.get(&r.uuid))
        .filter_map(|obj| pick(&obj))
        .collect())
}

/// virTypedParamsValidate for a single unsigned int parameter `key`.
fn validate_one_uint(params: &TypedParams, key: &str) -> Result<()> {
    crate::tuning::validate(params, &[(key, "uint")])
}

/// virDomainSetSchedulerParametersFlags: the weight is checked, not kept
/// (libvirt's test driver keeps reporting 50).
pub(crate) fn domain_set_scheduler_parameters(
    sh: &Shared,
    r: &DomainRef,
    params: &TypedParams,
    flags: u32,
) -> Result<()> {
    Error::check_flags(flags, 0, "testDomainSetSchedulerParametersFlags")?;
    validate_one_uint(params, "weight")?;
    sh.with_dom(r, |_| Ok(()))
}

/// Microseconds since the epoch, the base of the made-up statistics.
fn statbase() -> i64 {
    i64::try_from(now_micros()).unwrap_or(i64::MAX)
}

/// virDomainMemoryStats: figures derived from the balloon, when the
/// domain has one.
pub(crate) fn domain_memory_stats(
    sh: &Shared,
    r: &DomainRef,
    nr: u32,
    flags: u32,
) -> Result<Vec<(i32, u64)>> {
    Error::check_flags(flags, 0, "testDomainMemoryStats")?;
    sh.with_dom(r, |d| {
        if !d.is_active() {
            return Err(errors::not_running());
        }
        let balloon = d
            .def
            .devices
            .iter()
            .any(|e| e.name == "memballoon" && e.attr("model") != Some("none"));
        if !balloon {
            return Ok(Vec::new());
        }
        let cur = d.def.current_memory_kib;
        let all = [
            (6, cur),
            (0, 0),
            (1, 0),
            (2, 0),
            (3, 0),
            (4, cur / 2),
            (5, cur),
            (8, cur / 2),
            (9, 627_319_920),
            (10, cur / 8),
            (11, 0),
            (12, 0),
            (7, cur / 2),
        ];
        Ok(all.into_iter().take(nr as usize).collect())
    })
}

/// virDomainBlockStats of a disk named by target or source path.
pub(crate) fn domain_block_stats(sh: &Shared, r: &DomainRef, path: &str) -> Result<[i64; 5]> {
    if path.is_empty() {
        return Err(errors::test(
            ErrorCode::OperationUnsupported,
            "summary statistics are not supported yet",
        ));
    }
    sh.with_dom(r, |d| {
        if !d.is_active() {
            return Err(errors::not_running());
        }
        let disks = d.def.disks();
        let known = disks.iter().any(|x| x.target_dev == path)
            || disks.iter().any(|x| x.source.as_deref() == Some(path));
        if !known {
            return Err(Error::invalid_arg(
                ErrorDomain::Test,
                format!("invalid path: {path}"),
            ));
        }
        let b = statbase();
        Ok([b / 10, b / 20, b / 30, b / 40, b / (1000 * 1000 * 2)])
    })
}

/// virMacAddrParse: six hex bytes separated by colons.
pub(crate) fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let mut out = [0u8; 6];
    let mut parts = s.split(':');
    for b in &mut out {
        let p = parts.next()?;
        if p.is_empty() || p.len() > 2 {
            return None;
        }
        *b = u8::from_str_radix(p, 16).ok()?;
    }
    parts.next().is_none().then_some(out)
}

/// virDomainInterfaceStats of an interface named by MAC or host-side name.
pub(crate) fn domain_interface_stats(sh: &Shared, r: &DomainRef, dev: &str) -> Result<[i64; 8]> {
    sh.with_dom(r, |d| {
        if !d.is_active() {
            return Err(errors::not_running());
        }
        let nets = d.def.interfaces();
        let found = match parse_mac(dev) {
            Some(mac) => nets.iter().any(|n| {
                n.mac
                    .as_deref()
                    .and_then(parse_mac)
                    .is_some_and(|m| m == mac)
            }),
            None => nets.iter().any(|n| n.target_dev.as_deref() == Some(dev)),
        };
        if !found {
            return Err(Error::invalid_arg(
                ErrorDomain::Domain,
                format!("'{dev}' is not a known interface"),
            ));
        }
        let b = statbase();
        let m = 1000 * 1000;
        Ok([
            b / 10,
            b / 100,
            b / m,
            b / (m * 2),
            b / 20,
            b / 110,
            b / (m * 3),
            b / (m * 4),
        ])
    })
}

/// Where libvirt installs the test driver's screenshot (its PKGDATADIR).
const SCREENSHOT: &str = "/usr/share/libvirt/test-screenshot.png";

/// virDomainScreenshot: libvirt's own test image, whatever the domain
/// (libvirt's test driver does not even look the domain up). The image is
/// fed to the stream through a socket pair by a short-lived thread.
pub(crate) fn domain_screenshot(flags: u32) -> Result<(String, std::os::fd::OwnedFd)> {
    Error::check_flags(flags, 0, "testDomainScreenshot")?;
    let data = std::fs::read(SCREENSHOT).map_err(|e| {
        Error::new(
            ErrorCode::SystemError,
            ErrorDomain::Streams,
            format!(
                "Unable to open stream for '{SCREENSHOT}': {}",
                virterror::os_error_text(&e)
            ),
        )
    })?;
    let (ours, theirs) = std::os::unix::net::UnixStream::pair()
        .map_err(|e| errors::internal(format!("cannot create a socket pair: {e}")))?;
    std::thread::Builder::new()
        .name("test-screenshot".into())
        .spawn(move || {
            use std::io::Write;
            let mut ours = ours;
            // The client may abort the stream; nothing to report then.
            let _ = ours.write_all(&data);
        })
        .map_err(|e| errors::internal(format!("cannot start the screenshot writer: {e}")))?;
    Ok(("image/png".to_string(), theirs.into()))
}

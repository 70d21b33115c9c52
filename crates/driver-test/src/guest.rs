// SPDX-License-Identifier: LGPL-2.1-or-later
//! What libvirt's test driver makes up about a guest's inside: its
//! hostname, its clock (kept per domain object, starting at C's fixed
//! value), the sizes of its disks, its two filesystems ("/" and "/boot"
//! on the first disk, frozen and thawed per domain object) and its
//! memory; and what it accepts without doing anything: NMIs, signals to
//! its init, lifecycle actions (kept in the definitions).

use driver::consts::affect;
use driver::error::{ErrorCode, ErrorDomain};
use driver::keycodes::{self, Codeset};
use driver::{DomainRef, Error, FsInfo, Result};

use crate::errors;
use crate::state::Shared;

/// VIR_DOMAIN_TIME_SYNC.
const TIME_SYNC: u32 = 1;

/// virDomainGetHostname: "<name>host" for a running domain.
pub(crate) fn domain_get_hostname(sh: &Shared, r: &DomainRef, flags: u32) -> Result<String> {
    Error::check_flags(flags, 0, "testDomainGetHostname")?;
    sh.with_dom(r, |d| {
        if !d.is_active() {
            return Err(errors::not_running());
        }
        Ok(format!("{}host", r.name))
    })
}

/// virDomainGetTime: the clock last set (running domains only).
pub(crate) fn domain_get_time(sh: &Shared, r: &DomainRef, flags: u32) -> Result<(i64, u32)> {
    Error::check_flags(flags, 0, "testDomainGetTime")?;
    sh.with_dom(r, |d| {
        if d.state != driver::consts::state::RUNNING {
            return Err(errors::op_invalid("domain is not running"));
        }
        Ok(d.guest_time)
    })
}

/// virDomainSetTime.
pub(crate) fn domain_set_time(
    sh: &Shared,
    r: &DomainRef,
    seconds: i64,
    nseconds: u32,
    flags: u32,
) -> Result<()> {
    Error::check_flags(flags, TIME_SYNC, "testDomainSetTime")?;
    sh.change_dom(r, |_, d, _| {
        if !d.is_active() {
            return Err(errors::not_running());
        }
        d.guest_time = (seconds, nseconds);
        Ok(())
    })
}

/// virDomainGetBlockInfo: (capacity, allocation, physical) of a disk named
/// by target or source, the same made-up sizes for every disk.
pub(crate) fn domain_get_block_info(
    sh: &Shared,
    r: &DomainRef,
    path: &str,
    flags: u32,
) -> Result<(u64, u64, u64)> {
    Error::check_flags(flags, 0, "testDomainGetBlockInfo")?;
    sh.with_dom(r, |d| {
        let disks = d.def.disks();
        let disk = disks
            .iter()
            .find(|x| x.target_dev == path)
            .or_else(|| disks.iter().find(|x| x.source.as_deref() == Some(path)))
            .ok_or_else(|| {
                errors::test(
                    ErrorCode::InvalidArg,
                    format!("invalid path {path} not assigned to domain"),
                )
            })?;
        if disk.source.as_deref().is_none_or(str::is_empty) {
            return Err(Error::invalid_arg(
                ErrorDomain::Test,
                format!("disk '{path}' does not currently have a source assigned"),
            ));
        }
        Ok((1_099_506_450_432, 1_099_511_627_776, 1_099_511_627_776))
    })
}

/// The running domain's object, or "domain is not running".
fn active<R>(
    sh: &Shared,
    r: &DomainRef,
    f: impl FnOnce(&mut crate::state::Dom) -> Result<R>,
) -> Result<R> {
    sh.change_dom(r, |_, d, _| {
        if !d.is_active() {
            return Err(errors::not_running());
        }
        f(d)
    })
}

/// virDomainInjectNMI: accepted by a running domain.
pub(crate) fn domain_inject_nmi(sh: &Shared, r: &DomainRef, flags: u32) -> Result<()> {
    Error::check_flags(flags, 0, "testDomainInjectNMI")?;
    active(sh, r, |_| Ok(()))
}

/// virDomainSendKey: accepted by a running domain when every key code is
/// one of its code set's.
pub(crate) fn domain_send_key(
    sh: &Shared,
    r: &DomainRef,
    codeset: u32,
    keycodes: &[u32],
    flags: u32,
) -> Result<()> {
    Error::check_flags(flags, 0, "testDomainSendKey")?;
    active(sh, r, |_| Ok(()))?;
    let set = Codeset::from_u32(codeset)
        .ok_or_else(|| errors::internal(format!("Unsupported codeset '{codeset}'")))?;
    match keycodes.iter().find(|k| !keycodes::is_valid(set, **k)) {
        Some(k) => Err(errors::internal(format!(
            "invalid keycode {k} of {} codeset",
            set.name()
        ))),
        None => Ok(()),
    }
}

/// VIR_DOMAIN_PROCESS_SIGNAL_LAST.
const SIGNAL_LAST: u32 = 65;

/// virDomainSendProcessSignal: only to pid 1, of any state of domain.
pub(crate) fn domain_send_process_signal(
    sh: &Shared,
    r: &DomainRef,
    pid: i64,
    signum: u32,
    flags: u32,
) -> Result<()> {
    Error::check_flags(flags, 0, "testDomainSendProcessSignal")?;
    if pid != 1 {
        return Err(errors::test(
            ErrorCode::InvalidArg,
            "only sending a signal to pid 1 is supported",
        ));
    }
    if signum >= SIGNAL_LAST {
        return Err(errors::test(
            ErrorCode::InvalidArg,
            format!("signum value {signum} is out of range"),
        ));
    }
    sh.with_dom(r, |_| Ok(()))
}

const LIFECYCLE_TYPES: [&str; 3] = ["poweroff", "reboot", "crash"];

/// virDomainSetLifecycleAction: the action of one event in the live
/// and/or persistent definition (core dumps only on crash).
pub(crate) fn domain_set_lifecycle_action(
    sh: &Shared,
    r: &DomainRef,
    kind: u32,
    action: u32,
    flags: u32,
) -> Result<()> {
    Error::check_flags(
        flags,
        affect::LIVE | affect::CONFIG,
        "testDomainSetLifecycleAction",
    )?;
    let (Some(&t), Some(&a)) = (
        LIFECYCLE_TYPES.get(kind as usize),
        conf::domain::LIFECYCLE.get(action as usize),
    ) else {
        // virDomainSetLifecycleAction's own argument checks.
        return Err(Error::invalid_arg(
            ErrorDomain::Domain,
            if kind as usize >= LIFECYCLE_TYPES.len() {
                format!("invalid lifecycle type '{kind}'")
            } else {
                format!("invalid lifecycle action '{action}'")
            },
        ));
    };
    if t != "crash" && a.starts_with("coredump") {
        return Err(Error::new(
            ErrorCode::ConfigUnsupported,
            ErrorDomain::Domain,
            format!("Lifecycle event '{t}' doesn't support '{a}' action"),
        ));
    }
    sh.change_dom(r, |_, d, _| {
        let (live, pers) = crate::domain_config::defs_mut(d, flags)?;
        for def in [live, pers].into_iter().flatten() {
            let slot = match kind {
                0 => &mut def.on_poweroff,
                1 => &mut def.on_reboot,
                _ => &mut def.on_crash,
            };
            *slot = a.to_string();
        }
        Ok(())
    })
}

/// The guest's filesystems, by mount point.
const MOUNTS: [&str; 2] = ["/", "/boot"];

fn mount_index(m: &str) -> Result<usize> {
    MOUNTS.iter().position(|x| *x == m).ok_or_else(|| {
        errors::test(
            ErrorCode::OperationInvalid,
            format!("mount point not found: {m}"),
        )
    })
}

/// virDomainFSFreeze (`freeze`) and virDomainFSThaw: how many of the
/// named filesystems (all when none is named) changed.
pub(crate) fn domain_fs_freeze(
    sh: &Shared,
    r: &DomainRef,
    mountpoints: &[String],
    freeze: bool,
    flags: u32,
) -> Result<i32> {
    let func = if freeze {
        "testDomainFSFreeze"
    } else {
        "testDomainFSThaw"
    };
    Error::check_flags(flags, 0, func)?;
    active(sh, r, |d| {
        let mut next = d.fs_frozen;
        if mountpoints.is_empty() {
            next = [freeze; 2];
        } else {
            for m in mountpoints {
                next[mount_index(m)?] = freeze;
            }
        }
        let changed = (0..2).filter(|&i| next[i] != d.fs_frozen[i]).count() as i32;
        d.fs_frozen = next;
        Ok(changed)
    })
}

/// virDomainFSTrim: of "/", "/boot" or every filesystem.
pub(crate) fn domain_fs_trim(
    sh: &Shared,
    r: &DomainRef,
    mountpoint: Option<&str>,
    flags: u32,
) -> Result<()> {
    Error::check_flags(flags, 0, "testDomainFSTrim")?;
    active(sh, r, |_| mountpoint.map_or(Ok(0), mount_index).map(|_| ()))
}

/// virDomainGetFSInfo: "/" and "/boot" (ext4) as partitions 1 and 2 of
/// the first disk, none without one.
pub(crate) fn domain_get_fs_info(sh: &Shared, r: &DomainRef, flags: u32) -> Result<Vec<FsInfo>> {
    Error::check_flags(flags, 0, "testDomainGetFSInfo")?;
    active(sh, r, |d| {
        let disks = d.def.disks();
        let Some(disk) = disks.iter().find(|x| x.device == "disk") else {
            return Ok(Vec::new());
        };
        Ok(MOUNTS
            .iter()
            .enumerate()
            .map(|(i, m)| FsInfo {
                mountpoint: m.to_string(),
                name: format!("{}{}", disk.target_dev, i + 1),
                fstype: "ext4".into(),
                dev_aliases: vec![disk.target_dev.clone()],
            })
            .collect())
    })
}

/// VIR_MEMORY_VIRTUAL, VIR_MEMORY_PHYSICAL.
const MEMORY_VIRTUAL: u32 = 1;
const MEMORY_PHYSICAL: u32 = 2;

/// virDomainMemoryPeek: bytes counting up from the offset's low byte.
pub(crate) fn domain_memory_peek(
    sh: &Shared,
    r: &DomainRef,
    offset: u64,
    size: u32,
    flags: u32,
) -> Result<Vec<u8>> {
    Error::check_flags(
        flags,
        MEMORY_VIRTUAL | MEMORY_PHYSICAL,
        "testDomainMemoryPeek",
    )?;
    if flags != MEMORY_VIRTUAL && flags != MEMORY_PHYSICAL {
        return Err(errors::test(
            ErrorCode::InvalidArg,
            "flags parameter must be VIR_MEMORY_VIRTUAL or VIR_MEMORY_PHYSICAL",
        ));
    }
    sh.with_dom(r, |d| {
        if !d.is_active() {
            return Err(errors::not_running());
        }
        Ok((0..size)
            .map(|i| (offset as u8).wrapping_add(i as u8))
            .collect())
    })
}

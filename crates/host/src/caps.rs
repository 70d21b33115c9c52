// SPDX-License-Identifier: LGPL-2.1-or-later
//! Capabilities: names as used in domain XML `<features><capabilities>`,
//! and dropping them from the bounding, effective, permitted and inheritable
//! sets of the current process.

use crate::{Error, Result};

/// Capability names (as in domain XML) and their kernel numbers.
pub const NAMES: &[(&str, u32)] = &[
    ("chown", 0),
    ("dac_override", 1),
    ("dac_read_search", 2),
    ("fowner", 3),
    ("fsetid", 4),
    ("kill", 5),
    ("setgid", 6),
    ("setuid", 7),
    ("setpcap", 8),
    ("linux_immutable", 9),
    ("net_bind_service", 10),
    ("net_broadcast", 11),
    ("net_admin", 12),
    ("net_raw", 13),
    ("ipc_lock", 14),
    ("ipc_owner", 15),
    ("sys_module", 16),
    ("sys_rawio", 17),
    ("sys_chroot", 18),
    ("sys_ptrace", 19),
    ("sys_pacct", 20),
    ("sys_admin", 21),
    ("sys_boot", 22),
    ("sys_nice", 23),
    ("sys_resource", 24),
    ("sys_time", 25),
    ("sys_tty_config", 26),
    ("mknod", 27),
    ("lease", 28),
    ("audit_write", 29),
    ("audit_control", 30),
    ("setfcap", 31),
    ("mac_override", 32),
    ("mac_admin", 33),
    ("syslog", 34),
    ("wake_alarm", 35),
    ("block_suspend", 36),
];

/// Kernel number of a capability name.
pub fn by_name(name: &str) -> Option<u32> {
    NAMES.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
}

/// The capabilities a container loses by default (the "default" policy):
/// kernel modules, the clock, device node creation, audit and LSM control.
pub const DEFAULT_DROPPED: &[&str] = &[
    "sys_module",
    "sys_time",
    "mknod",
    "audit_control",
    "mac_admin",
];

/// Policy of `<capabilities policy=...>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Drop the default set plus those turned off.
    Default,
    /// Keep everything except those turned off.
    Allow,
    /// Drop everything except those turned on.
    Deny,
}

/// Computes the capability numbers to drop for `policy`, given the
/// explicit per-capability switches (`true` = on, `false` = off).
pub fn to_drop(policy: Policy, switches: &[(u32, bool)], last_cap: u32) -> Vec<u32> {
    let state = |c: u32| {
        switches
            .iter()
            .rev()
            .find(|(n, _)| *n == c)
            .map(|(_, s)| *s)
    };
    (0..=last_cap)
        .filter(|&c| match policy {
            Policy::Deny => state(c) != Some(true),
            Policy::Allow => state(c) == Some(false),
            Policy::Default => {
                let default_drop = NAMES
                    .iter()
                    .any(|(n, v)| *v == c && DEFAULT_DROPPED.contains(n));
                if default_drop {
                    state(c) != Some(true)
                } else {
                    state(c) == Some(false)
                }
            }
        })
        .collect()
}

/// Highest capability number of the running kernel.
pub fn last_cap() -> u32 {
    std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(40)
}

/// Removes `caps` from the bounding set (needs CAP_SETPCAP).
pub fn drop_bounding(caps: &[u32]) -> Result<()> {
    for &c in caps {
        // SAFETY: prctl with integer arguments only.
        let r = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, libc::c_ulong::from(c), 0, 0, 0) };
        if r < 0 {
            let e = std::io::Error::last_os_error();
            // EINVAL: the kernel does not know this capability.
            if e.raw_os_error() != Some(libc::EINVAL) {
                return Err(Error::sys(format!("Failed to remove capability {c}"), e));
            }
        }
    }
    Ok(())
}

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

const CAP_V3: u32 = 0x2008_0522;

/// Removes `caps` from the effective, permitted and inheritable sets.
pub fn drop_process(caps: &[u32]) -> Result<()> {
    let mut hdr = CapHeader {
        version: CAP_V3,
        pid: 0,
    };
    let mut data = [CapData::default(); 2];
    // SAFETY: hdr and data match the kernel's v3 layout (header + 2 data words).
    let r = unsafe {
        libc::syscall(
            libc::SYS_capget,
            &mut hdr as *mut CapHeader,
            data.as_mut_ptr(),
        )
    };
    if r < 0 {
        return Err(Error::last("capget"));
    }
    for &c in caps {
        let (idx, bit) = ((c / 32) as usize, 1u32 << (c % 32));
        if let Some(d) = data.get_mut(idx) {
            d.effective &= !bit;
            d.permitted &= !bit;
            d.inheritable &= !bit;
        }
    }
    // SAFETY: same layout as above; capset only reads the structs.
    let r = unsafe { libc::syscall(libc::SYS_capset, &mut hdr as *mut CapHeader, data.as_ptr()) };
    if r < 0 {
        return Err(Error::last("Failed to apply capabilities"));
    }
    Ok(())
}

/// Whether capability `c` is in this process's bounding set.
pub fn in_bounding(c: u32) -> bool {
    // SAFETY: prctl with integer arguments only.
    unsafe { libc::prctl(libc::PR_CAPBSET_READ, libc::c_ulong::from(c), 0, 0, 0) == 1 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_policy_drops_the_dangerous_five() {
        let d = to_drop(Policy::Default, &[], 40);
        let mut names: Vec<&str> = NAMES
            .iter()
            .filter(|(_, v)| d.contains(v))
            .map(|(n, _)| *n)
            .collect();
        names.sort_unstable();
        assert_eq!(
            names,
            vec![
                "audit_control",
                "mac_admin",
                "mknod",
                "sys_module",
                "sys_time"
            ]
        );
    }

    #[test]
    fn explicit_switches_override_the_policy() {
        let mknod = by_name("mknod").unwrap_or(0);
        let kill = by_name("kill").unwrap_or(0);
        let d = to_drop(Policy::Default, &[(mknod, true), (kill, false)], 40);
        assert!(!d.contains(&mknod));
        assert!(d.contains(&kill));
        let allow = to_drop(Policy::Allow, &[(kill, false)], 40);
        assert_eq!(allow, vec![kill]);
        let deny = to_drop(Policy::Deny, &[(kill, true)], 40);
        assert_eq!(deny.len(), 40);
        assert!(!deny.contains(&kill));
    }
}

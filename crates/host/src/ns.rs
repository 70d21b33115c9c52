// SPDX-License-Identifier: LGPL-2.1-or-later
//! Namespaces: a fork-like clone into new namespaces, id maps, setns,
//! unshare and the hostname.

use crate::{check, cpath, Error, Result};
use std::os::fd::{AsRawFd, BorrowedFd};

pub use libc::{
    CLONE_NEWCGROUP, CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWUSER,
    CLONE_NEWUTS,
};

/// Creates a child like fork(2), in the new namespaces named by `flags`
/// (CLONE_NEW*). Returns 0 in the child and the child's pid in the parent.
///
/// Refuses to run in a multi-threaded process: the child is a copy of the
/// caller's memory and must not inherit locks held by other threads.
pub fn clone_process(flags: libc::c_int) -> Result<u32> {
    let threads = crate::process::thread_count()?;
    if threads != 1 {
        return Err(Error::Invalid(format!(
            "refusing to fork a process with {threads} threads"
        )));
    }
    let all = libc::c_ulong::try_from(flags | libc::SIGCHLD)
        .map_err(|_| Error::Invalid("bad clone flags".into()))?;
    // SAFETY: raw clone without a new stack behaves like fork: the child
    // continues on a copy of this (single-threaded, checked above) process.
    // The pointer arguments are null, so the kernel writes nothing.
    let r = unsafe {
        libc::syscall(
            libc::SYS_clone,
            all,
            std::ptr::null_mut::<libc::c_void>(),
            std::ptr::null_mut::<libc::c_int>(),
            std::ptr::null_mut::<libc::c_int>(),
            0 as libc::c_ulong,
        )
    };
    if r < 0 {
        return Err(Error::last(format!("clone(flags {flags:#x})")));
    }
    u32::try_from(r).map_err(|_| Error::Invalid("clone returned an odd pid".into()))
}

/// `clone_args` of clone3(2), version 2 (with `cgroup`).
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

/// clone3 flag: start the child in the cgroup v2 directory given by fd.
const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// Like [`clone_process`], but the child starts in the unified-hierarchy
/// group open at `cgroup` (CLONE_INTO_CGROUP): no migration afterwards, so
/// none of the grace-period wait a `cgroup.procs` write can cost.
/// Fails (and creates nothing) when the kernel refuses; callers fall back
/// to [`clone_process`] and a `cgroup.procs` write.
pub fn clone_process_into(flags: libc::c_int, cgroup: BorrowedFd<'_>) -> Result<u32> {
    let threads = crate::process::thread_count()?;
    if threads != 1 {
        return Err(Error::Invalid(format!(
            "refusing to fork a process with {threads} threads"
        )));
    }
    let ns = u64::try_from(flags).map_err(|_| Error::Invalid("bad clone flags".into()))?;
    let fd =
        u64::try_from(cgroup.as_raw_fd()).map_err(|_| Error::Invalid("bad cgroup fd".into()))?;
    let mut args = CloneArgs {
        flags: ns | CLONE_INTO_CGROUP,
        exit_signal: libc::SIGCHLD as u64,
        cgroup: fd,
        ..CloneArgs::default()
    };
    // SAFETY: clone3 without CLONE_VM and with a zero stack behaves like
    // fork: the child continues on a copy of this process, which is
    // single-threaded (checked above). `args` is a valid clone_args of the
    // size passed and outlives the call; its pointer fields are zero, so
    // the kernel writes nothing back.
    let r = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &mut args as *mut CloneArgs,
            std::mem::size_of::<CloneArgs>(),
        )
    };
    if r < 0 {
        return Err(Error::last("clone3(CLONE_INTO_CGROUP)".to_string()));
    }
    u32::try_from(r).map_err(|_| Error::Invalid("clone3 returned an odd pid".into()))
}

/// One line of an id map: `count` ids from `inside` map to `outside`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdMap {
    /// First id inside the namespace.
    pub inside: u32,
    /// First id outside (in the parent namespace).
    pub outside: u32,
    /// Number of ids.
    pub count: u32,
}

fn render_map(maps: &[IdMap]) -> String {
    maps.iter()
        .map(|m| format!("{} {} {}\n", m.inside, m.outside, m.count))
        .collect()
}

/// Writes uid and gid maps of the user namespace of `pid`. `deny_setgroups`
/// writes "deny" to setgroups first (needed when the writer lacks
/// CAP_SETGID in the parent namespace).
pub fn write_id_maps(pid: u32, uid: &[IdMap], gid: &[IdMap], deny_setgroups: bool) -> Result<()> {
    if deny_setgroups {
        let p = format!("/proc/{pid}/setgroups");
        std::fs::write(&p, "deny").map_err(|e| Error::sys(format!("writing {p}"), e))?;
    }
    for (file, maps) in [("uid_map", uid), ("gid_map", gid)] {
        if maps.is_empty() {
            continue;
        }
        let p = format!("/proc/{pid}/{file}");
        std::fs::write(&p, render_map(maps)).map_err(|e| Error::sys(format!("writing {p}"), e))?;
    }
    Ok(())
}

/// Joins the namespace `kind` ("net", "mnt", ...) of process `pid`.
pub fn setns_pid(pid: u32, kind: &str) -> Result<()> {
    let path = format!("/proc/{pid}/ns/{kind}");
    let f = std::fs::File::open(&path).map_err(|e| Error::sys(format!("opening {path}"), e))?;
    // SAFETY: setns on a valid namespace fd; nstype 0 accepts any kind.
    check(unsafe { libc::setns(f.as_raw_fd(), 0) }, || {
        format!("setns {path}")
    })?;
    Ok(())
}

/// Moves this process into new namespaces.
pub fn unshare(flags: libc::c_int) -> Result<()> {
    // SAFETY: unshare takes flags only.
    check(unsafe { libc::unshare(flags) }, || {
        format!("unshare({flags:#x})")
    })?;
    Ok(())
}

/// The hostname of the current UTS namespace, as the kernel reports it.
pub fn hostname() -> Result<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .map_err(|e| Error::sys("reading /proc/sys/kernel/hostname", e))
}

/// Sets the hostname of the current UTS namespace.
pub fn sethostname(name: &str) -> Result<()> {
    check(
        // SAFETY: the pointer and length describe the bytes of `name`.
        unsafe { libc::sethostname(name.as_ptr().cast(), name.len()) },
        || format!("Failed to set hostname '{name}'"),
    )?;
    Ok(())
}

/// The namespace link of `pid` (e.g. "pid:[4026531836]"), to compare namespaces.
pub fn ns_id(pid: u32, kind: &str) -> Result<String> {
    let p = format!("/proc/{pid}/ns/{kind}");
    let target = std::fs::read_link(&p).map_err(|e| Error::sys(format!("reading {p}"), e))?;
    Ok(target.to_string_lossy().into_owned())
}

/// Whether this kernel offers namespace `kind` (checks /proc/self/ns/KIND).
pub fn available(kind: &str) -> bool {
    std::path::Path::new(&format!("/proc/self/ns/{kind}")).exists()
}

/// Changes directory (used inside a container before exec).
pub fn chdir(path: &std::path::Path) -> Result<()> {
    let c = cpath(path)?;
    // SAFETY: c is a valid NUL-terminated path.
    check(unsafe { libc::chdir(c.as_ptr()) }, || {
        format!("chdir {}", path.display())
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_maps_render_one_line_each() {
        let m = [
            IdMap {
                inside: 0,
                outside: 100000,
                count: 65536,
            },
            IdMap {
                inside: 65536,
                outside: 1,
                count: 1,
            },
        ];
        assert_eq!(render_map(&m), "0 100000 65536\n65536 1 1\n");
    }
}

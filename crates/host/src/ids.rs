// SPDX-License-Identifier: LGPL-2.1-or-later
//! User and group ids: lookups in passwd/group files (the container's own,
//! read after pivot_root) and switching identity.

use crate::{check, Error, Result};

/// Finds `name` (or a number) in passwd text; returns (uid, primary gid).
pub fn lookup_user(passwd: &str, name: &str) -> Option<(u32, u32)> {
    for line in passwd.lines() {
        let f: Vec<&str> = line.split(':').collect();
        if f.len() < 4 {
            continue;
        }
        if f[0] == name || f[2] == name {
            return Some((f[2].parse().ok()?, f[3].parse().ok()?));
        }
    }
    name.parse().ok().map(|u| (u, u))
}

/// Finds `name` (or a number) in group text.
pub fn lookup_group(group: &str, name: &str) -> Option<u32> {
    for line in group.lines() {
        let f: Vec<&str> = line.split(':').collect();
        if f.len() < 3 {
            continue;
        }
        if f[0] == name || f[2] == name {
            return f[2].parse().ok();
        }
    }
    name.parse().ok()
}

/// The name of id `id` in passwd or group text (the third field holds the
/// id in both).
pub fn name_of(text: &str, id: u32) -> Option<String> {
    text.lines().find_map(|l| {
        let mut f = l.split(':');
        let name = f.next()?;
        let _ = f.next();
        let n = f.next()?.parse::<u32>().ok()?;
        (n == id).then(|| name.to_owned())
    })
}

/// The host's name of user `uid` (/etc/passwd), if it has one.
pub fn user_name(uid: u32) -> Option<String> {
    name_of(&std::fs::read_to_string("/etc/passwd").ok()?, uid)
}

/// The host's name of group `gid` (/etc/group), if it has one.
pub fn group_name(gid: u32) -> Option<String> {
    name_of(&std::fs::read_to_string("/etc/group").ok()?, gid)
}

/// Switches to `gid` (clearing supplementary groups) and `uid`.
pub fn switch_to(uid: u32, gid: u32) -> Result<()> {
    let groups = [gid];
    // SAFETY: the pointer and length describe a one-element array.
    let r = unsafe { libc::setgroups(1, groups.as_ptr()) };
    if r < 0 {
        let e = std::io::Error::last_os_error();
        // A user namespace with setgroups denied refuses this; that is fine.
        if e.raw_os_error() != Some(libc::EPERM) {
            return Err(Error::sys("setgroups", e));
        }
    }
    // SAFETY: setgid/setuid take integers only.
    check(unsafe { libc::setgid(gid) }, || {
        format!("Failed to set gid {gid}")
    })?;
    // SAFETY: as above.
    check(unsafe { libc::setuid(uid) }, || {
        format!("Failed to set uid {uid}")
    })?;
    Ok(())
}

/// The groups of user `user` in group text: `primary` first, then every
/// group that lists the user as a member.
pub fn groups_of(group: &str, user: &str, primary: u32) -> Vec<u32> {
    let mut out = vec![primary];
    for line in group.lines() {
        let f: Vec<&str> = line.split(':').collect();
        if f.len() < 4 {
            continue;
        }
        if f[3].split(',').any(|m| m.trim() == user) {
            if let Ok(g) = f[2].parse::<u32>() {
                if !out.contains(&g) {
                    out.push(g);
                }
            }
        }
    }
    out
}

/// Makes `cmd`'s child take `groups` (the first one as its group), then
/// user `uid`, after the hooks registered before this one and before
/// anything registered after it: a child that must still act as root (join
/// a cgroup) registers that first.
pub fn switch_before_exec(cmd: &mut std::process::Command, uid: u32, groups: Vec<u32>) {
    use std::os::unix::process::CommandExt;
    let gid = groups.first().copied().unwrap_or(0);
    // SAFETY: between fork and exec the closure calls setgroups, setgid and
    // setuid (async-signal-safe) on a buffer allocated before the fork.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setgroups(groups.len(), groups.as_ptr()) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::setgid(gid) < 0 || libc::setuid(uid) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_and_groups_resolve_by_name_or_number() {
        let pw = "root:x:0:0:root:/root:/bin/sh\nweb:x:33:44::/:/bin/sh\n";
        assert_eq!(lookup_user(pw, "web"), Some((33, 44)));
        assert_eq!(lookup_user(pw, "1000"), Some((1000, 1000)));
        assert_eq!(lookup_user(pw, "nobody"), None);
        let gr = "root:x:0:\nwww:x:44:\n";
        assert_eq!(lookup_group(gr, "www"), Some(44));
        assert_eq!(lookup_group(gr, "nogroup"), None);
        let gr = "root:x:0:\nkvm:x:104:web,other\nwww:x:44:\ndisk:x:6:web\n";
        assert_eq!(groups_of(gr, "web", 44), vec![44, 104, 6]);
    }
}

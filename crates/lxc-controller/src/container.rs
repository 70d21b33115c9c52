// SPDX-License-Identifier: LGPL-2.1-or-later
//! The container side: code that runs in the cloned child, inside the new
//! namespaces, from the first instruction up to the exec of init.
//!
//! Protocol with the controller over a SOCK_SEQPACKET pair (close-on-exec):
//! 0. the child joins the cgroups it did not inherit;
//! 1. the child waits for `g` (ids mapped, network moved in);
//! 2. it builds the root, then sends `P` with the console pty master attached;
//! 3. on any failure it sends `E<message>` and exits; on success the exec
//!    closes its end and the controller reads end-of-stream.

use crate::spec::{ContainerSpec, FsType};
use host::mount::{self, MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_RDONLY};
use std::fmt::Display;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

/// Message tags of the setup protocol.
pub const MSG_GO: u8 = b'g';
/// Console master attached.
pub const MSG_PTY: u8 = b'P';
/// Setup error follows.
pub const MSG_ERR: u8 = b'E';

/// Everything the child needs besides the spec.
pub struct ChildArgs<'a> {
    /// The spec.
    pub spec: &'a ContainerSpec,
    /// Directory used as the mount point of the new root.
    pub staging: PathBuf,
    /// Whether a user namespace was requested.
    pub userns: bool,
    /// The child's end of the setup socket.
    pub sock: OwnedFd,
    /// The container's cgroup.
    pub cgroup: &'a host::cgroup::Cgroup,
    /// v1 controllers the child joins itself (it inherited the others).
    pub join_v1: &'a [&'a str],
}

/// Runs in the cloned child; never returns.
pub fn child_main(args: ChildArgs<'_>) -> ! {
    let err = match setup_and_exec(&args) {
        Ok(never) => match never {},
        Err(e) => e,
    };
    let mut msg = vec![MSG_ERR];
    msg.extend_from_slice(err.as_bytes());
    msg.truncate(4096);
    let _ = host::fd::send_with_fds(args.sock.as_fd(), &msg, &[]);
    host::process::exit_now(1)
}

enum Never {}

fn ctx<T, E: Display>(r: Result<T, E>, what: impl FnOnce() -> String) -> Result<T, String> {
    r.map_err(|e| format!("{}: {e}", what()))
}

fn herr<T>(r: host::Result<T>) -> Result<T, String> {
    r.map_err(|e| e.to_string())
}

/// Joins `rel` (absolute inside the container) below `root`.
fn under(root: &Path, rel: &Path) -> PathBuf {
    root.join(rel.strip_prefix("/").unwrap_or(rel))
}

fn ensure_dir(p: &Path) -> Result<(), String> {
    ctx(std::fs::create_dir_all(p), || {
        format!("Failed to create {}", p.display())
    })
}

fn ensure_file(p: &Path) -> Result<(), String> {
    if p.exists() {
        return Ok(());
    }
    if let Some(parent) = p.parent() {
        ensure_dir(parent)?;
    }
    ctx(std::fs::File::create(p).map(drop), || {
        format!("Failed to create {}", p.display())
    })
}

/// Character devices every container gets: name, mode, major, minor.
const DEV_NODES: &[(&str, u32, u32, u32)] = &[
    ("null", 0o666, 1, 3),
    ("zero", 0o666, 1, 5),
    ("full", 0o666, 1, 7),
    ("random", 0o666, 1, 8),
    ("urandom", 0o666, 1, 9),
    ("tty", 0o666, 5, 0),
];

fn setup_and_exec(a: &ChildArgs<'_>) -> Result<Never, String> {
    let spec = a.spec;
    // 0. Join the rest of the cgroup while still holding the host's root
    // credentials (a user namespace has no ids mapped yet): a freshly
    // cloned child is single-threaded, so it moves itself without the
    // grace-period wait of moving another process.
    herr(a.cgroup.join_v1(|c| a.join_v1.contains(&c)))?;
    // 1. Wait until the controller has prepared ids, cgroup and network.
    let mut b = [0u8; 1];
    let (n, _) = herr(host::fd::recv_with_fds(a.sock.as_fd(), &mut b))?;
    if n == 0 || b[0] != MSG_GO {
        // The controller gave up; leave quietly.
        host::process::exit_now(1);
    }
    if a.userns {
        // Until now the child kept the host's root credentials, which mean
        // nothing in the new namespace; become its (mapped) root.
        herr(host::ids::switch_to(0, 0))?;
    }
    if host::ns::available("cgroup") {
        // The cgroup namespace root becomes the container's own group.
        herr(host::ns::unshare(host::ns::CLONE_NEWCGROUP))?;
    }

    // 2. Root filesystem.
    herr(mount::set_propagation(Path::new("/"), mount::MS_SLAVE))?;
    let root_src = spec.root.clone().unwrap_or_else(|| PathBuf::from("/"));
    if !root_src.is_dir() {
        return Err(format!(
            "root directory '{}' does not exist",
            root_src.display()
        ));
    }
    let nr = a.staging.as_path();
    ensure_dir(nr)?;
    herr(mount::bind(&root_src, nr, true, false))?;

    let proc_dir = nr.join("proc");
    ensure_dir(&proc_dir)?;
    herr(mount::mount(
        Some("proc"),
        &proc_dir,
        Some("proc"),
        MS_NOSUID | MS_NODEV | MS_NOEXEC,
        None,
    ))?;

    let sys_dir = nr.join("sys");
    ensure_dir(&sys_dir)?;
    let sysfs = mount::mount(
        Some("sysfs"),
        &sys_dir,
        Some("sysfs"),
        MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY,
        None,
    );
    if sysfs.is_err() {
        // A user namespace that does not own the network namespace may not
        // mount sysfs; the host's, read-only, is the fallback.
        herr(mount::bind(Path::new("/sys"), &sys_dir, true, true))?;
    }

    // 3. /dev: a tmpfs with the usual nodes, a private devpts and the console.
    let dev = nr.join("dev");
    ensure_dir(&dev)?;
    herr(mount::mount(
        Some("devfs"),
        &dev,
        Some("tmpfs"),
        MS_NOSUID,
        Some("mode=755,size=65536k"),
    ))?;
    let old_mask = mount::umask(0);
    for (name, mode, major, minor) in DEV_NODES {
        let p = dev.join(name);
        let made = if a.userns {
            Err(host::Error::Invalid("no mknod in a user namespace".into()))
        } else {
            mount::mknod_char(&p, *mode, *major, *minor)
        };
        if made.is_err() {
            ensure_file(&p)?;
            herr(mount::bind(&Path::new("/dev").join(name), &p, false, false))?;
        }
    }
    mount::umask(old_mask);
    let pts = dev.join("pts");
    ensure_dir(&pts)?;
    let pts_opts = if a.userns {
        "newinstance,ptmxmode=0666,mode=0620"
    } else {
        "newinstance,ptmxmode=0666,mode=0620,gid=5"
    };
    herr(mount::mount(
        Some("devpts"),
        &pts,
        Some("devpts"),
        MS_NOSUID | MS_NOEXEC,
        Some(pts_opts),
    ))?;
    ctx(
        std::os::unix::fs::symlink("pts/ptmx", dev.join("ptmx")),
        || "Failed to create /dev/ptmx".into(),
    )?;
    let (master, idx) = herr(host::pty::open_master(&pts.join("ptmx")))?;
    let console = dev.join("console");
    ensure_file(&console)?;
    herr(mount::bind(
        &pts.join(idx.to_string()),
        &console,
        false,
        false,
    ))?;
    let shm = dev.join("shm");
    ensure_dir(&shm)?;
    herr(mount::mount(
        Some("shm"),
        &shm,
        Some("tmpfs"),
        MS_NOSUID | MS_NODEV,
        Some("mode=1777,size=65536k"),
    ))?;
    for (link, target) in [
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ] {
        ctx(std::os::unix::fs::symlink(target, dev.join(link)), || {
            format!("Failed to create /dev/{link}")
        })?;
    }
    herr(host::fd::send_with_fds(
        a.sock.as_fd(),
        &[MSG_PTY],
        &[master.as_fd()],
    ))?;
    drop(master);

    // 4. The domain's other filesystems.
    for fs in &spec.filesystems {
        if fs.target == Path::new("/") {
            continue;
        }
        let dst = under(nr, &fs.target);
        match fs.fs_type {
            FsType::Mount => {
                let src = fs.source.as_deref().unwrap_or(Path::new("/"));
                if !src.exists() {
                    return Err(format!(
                        "filesystem source '{}' does not exist",
                        src.display()
                    ));
                }
                if src.is_dir() {
                    ensure_dir(&dst)?;
                } else {
                    ensure_file(&dst)?;
                }
                herr(mount::bind(src, &dst, true, fs.readonly))?;
            }
            FsType::Ram => {
                ensure_dir(&dst)?;
                let size = format!("size={}k", fs.usage_kib.unwrap_or(0));
                let ro = if fs.readonly { MS_RDONLY } else { 0 };
                herr(mount::mount(
                    Some("tmpfs"),
                    &dst,
                    Some("tmpfs"),
                    MS_NOSUID | MS_NODEV | ro,
                    Some(&size),
                ))?;
            }
            FsType::Block => {
                let src = fs.source.as_deref().unwrap_or(Path::new(""));
                ensure_dir(&dst)?;
                mount_block(src, &dst, fs.format.as_deref(), fs.readonly)?;
            }
            FsType::File => {
                // The controller turns image files into loop devices first.
                return Err(format!(
                    "filesystem type 'file' for '{}' reached the container unprepared",
                    fs.target.display()
                ));
            }
        }
    }

    // 5. Switch root.
    herr(mount::pivot_into(nr))?;
    herr(host::ns::sethostname(&spec.effective_hostname()))?;

    // 6. Console as stdio and controlling terminal.
    herr(host::process::setsid())?;
    let tty = herr(host::pty::open_tty(Path::new(&format!("/dev/pts/{idx}"))))?;
    herr(host::pty::set_controlling(tty.as_fd()))?;
    for target in 0..3 {
        herr(host::fd::dup_onto(tty.as_fd(), target))?;
    }
    drop(tty);

    // 7. Identity and capabilities.
    let mut ids = None;
    if spec.user.is_some() || spec.group.is_some() {
        let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
        let group = std::fs::read_to_string("/etc/group").unwrap_or_default();
        let (mut uid, mut gid) = (0, 0);
        if let Some(u) = &spec.user {
            let (pu, pg) = host::ids::lookup_user(&passwd, u)
                .ok_or_else(|| format!("user '{u}' not found in the container"))?;
            uid = pu;
            gid = pg;
        }
        if let Some(g) = &spec.group {
            gid = host::ids::lookup_group(&group, g)
                .ok_or_else(|| format!("group '{g}' not found in the container"))?;
        }
        ids = Some((uid, gid));
    }
    let policy = match spec.caps.policy {
        crate::spec::CapsPolicy::Default => host::caps::Policy::Default,
        crate::spec::CapsPolicy::Allow => host::caps::Policy::Allow,
        crate::spec::CapsPolicy::Deny => host::caps::Policy::Deny,
    };
    let switches: Vec<(u32, bool)> = spec
        .caps
        .switches
        .iter()
        .filter_map(|s| host::caps::by_name(&s.name).map(|c| (c, s.on)))
        .collect();
    let drop_caps = host::caps::to_drop(policy, &switches, host::caps::last_cap());
    herr(host::caps::drop_bounding(&drop_caps))?;
    if let Some((uid, gid)) = ids {
        herr(host::ids::switch_to(uid, gid))?;
    }
    herr(host::caps::drop_process(&drop_caps))?;

    let dir = spec.initdir.clone().unwrap_or_else(|| PathBuf::from("/"));
    herr(host::ns::chdir(&dir))?;

    // 8. Exec init with a clean environment and default signal handling.
    herr(host::process::unblock_all_signals())?;
    let _ = host::process::default_signal(libc_sig::SIGHUP);
    let _ = host::process::default_signal(libc_sig::SIGPIPE);
    let err = std::process::Command::new(&spec.init)
        .args(&spec.args)
        .env_clear()
        .envs(spec.init_env())
        .exec();
    Err(format!(
        "Failed to exec init '{}': {err}",
        spec.init.display()
    ))
}

/// Signal numbers used here (kept local so this module needs no libc).
mod libc_sig {
    pub const SIGHUP: i32 = 1;
    pub const SIGPIPE: i32 = 13;
}

fn mount_block(src: &Path, dst: &Path, format: Option<&str>, ro: bool) -> Result<(), String> {
    let s = src
        .to_str()
        .ok_or_else(|| format!("non-UTF-8 path {}", src.display()))?;
    let flags = if ro { MS_RDONLY } else { 0 };
    let candidates: Vec<String> = match format {
        Some(f) => vec![f.to_string()],
        None => mount::block_filesystems(),
    };
    let mut last = None;
    for fst in &candidates {
        match mount::mount(Some(s), dst, Some(fst), flags, None) {
            Ok(()) => return Ok(()),
            Err(e) => last = Some(e),
        }
    }
    Err(match last {
        Some(e) => format!("Failed to mount block device {}: {e}", src.display()),
        None => format!("no filesystem type to mount {}", src.display()),
    })
}

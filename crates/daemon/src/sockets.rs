// SPDX-License-Identifier: LGPL-2.1-or-later
//! Creating the listening sockets, or taking them from systemd.

use std::os::fd::{FromRawFd, RawFd};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use daemon_support::DaemonConfig;
use tokio::net::{TcpListener, UnixListener};

use crate::DaemonContext;

pub struct Listeners {
    /// (listener, read-only)
    pub unix: Vec<(UnixListener, bool)>,
    pub admin: Option<UnixListener>,
    pub tcp: Vec<TcpListener>,
    /// Socket files we created and remove at exit.
    pub paths: Vec<PathBuf>,
}

fn bind_unix(path: &Path, mode: u32, group: Option<u32>) -> Result<UnixListener, String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("Failed to create {}: {e}", dir.display()))?;
    }
    // A stale socket from a previous run: refuse if something still
    // answers on it, else replace it.
    if path.exists() {
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(format!(
                "Failed to bind socket to '{}': another daemon is listening",
                path.display()
            ));
        }
        let _ = std::fs::remove_file(path);
    }
    let std_l = std::os::unix::net::UnixListener::bind(path)
        .map_err(|e| format!("Failed to bind socket to '{}': {e}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| format!("Failed to set permissions on '{}': {e}", path.display()))?;
    if let Some(gid) = group {
        std::os::unix::fs::chown(path, None, Some(gid))
            .map_err(|e| format!("Failed to change group of '{}': {e}", path.display()))?;
    }
    std_l.set_nonblocking(true).map_err(|e| e.to_string())?;
    UnixListener::from_std(std_l).map_err(|e| e.to_string())
}

fn group_id(name: &str) -> Result<u32, String> {
    if let Ok(n) = name.parse::<u32>() {
        return Ok(n);
    }
    let text = std::fs::read_to_string("/etc/group").map_err(|e| e.to_string())?;
    text.lines()
        .filter_map(|l| {
            let mut f = l.split(':');
            let n = f.next()?;
            let _ = f.next();
            let gid = f.next()?.parse::<u32>().ok()?;
            (n == name).then_some(gid)
        })
        .next()
        .ok_or_else(|| format!("Failed to lookup group '{name}'"))
}

fn mode(s: &str, key: &str) -> Result<u32, String> {
    DaemonConfig::parse_mode(s).map_err(|e| format!("invalid {key} '{s}': {e}"))
}

fn unix_from_fd(fd: RawFd) -> Result<UnixListener, String> {
    // SAFETY: the fd was passed to us by the service manager for this
    // purpose (LISTEN_FDS) and nothing else in the process owns it.
    let l = unsafe { std::os::unix::net::UnixListener::from_raw_fd(fd) };
    l.set_nonblocking(true).map_err(|e| e.to_string())?;
    UnixListener::from_std(l).map_err(|e| e.to_string())
}

fn tcp_from_fd(fd: RawFd) -> Result<TcpListener, String> {
    // SAFETY: as above, a listening socket handed over by the service manager.
    let l = unsafe { std::net::TcpListener::from_raw_fd(fd) };
    l.set_nonblocking(true).map_err(|e| e.to_string())?;
    TcpListener::from_std(l).map_err(|e| e.to_string())
}

/// Open every socket this daemon serves.
pub fn open(ctx: &DaemonContext, config: &DaemonConfig, listen: bool) -> Result<Listeners, String> {
    let mut out = Listeners {
        unix: Vec::new(),
        admin: None,
        tcp: Vec::new(),
        paths: Vec::new(),
    };
    let name = ctx.profile.name;

    if let Some(mut act) = daemon_support::activation_from_env().map_err(|e| e.to_string())? {
        if listen {
            return Err("--listen parameter not permitted with systemd activation sockets, see 'man libvirtd' for further guidance".into());
        }
        for fd in act.claim(&format!("{name}.socket")) {
            out.unix.push((unix_from_fd(fd)?, false));
        }
        for fd in act.claim(&format!("{name}-ro.socket")) {
            out.unix.push((unix_from_fd(fd)?, true));
        }
        if let Some(fd) = act
            .claim(&format!("{name}-admin.socket"))
            .into_iter()
            .next()
        {
            out.admin = Some(unix_from_fd(fd)?);
        }
        for fd in act.claim(&format!("{name}-tcp.socket")) {
            out.tcp.push(tcp_from_fd(fd)?);
        }
        for fd in act.claim(&format!("{name}-tls.socket")) {
            out.tcp.push(tcp_from_fd(fd)?);
        }
        act.complete().map_err(|e| e.to_string())?;
        return Ok(out);
    }

    let group = match &config.unix_sock_group {
        Some(g) if ctx.privileged => Some(group_id(g)?),
        _ => None,
    };
    let rw_mode = mode(&config.unix_sock_rw_perms, "unix_sock_rw_perms")?;
    out.unix
        .push((bind_unix(&ctx.paths.sock, rw_mode, group)?, false));
    out.paths.push(ctx.paths.sock.clone());
    if let Some(ro) = &ctx.paths.sock_ro {
        let ro_mode = mode(&config.unix_sock_ro_perms, "unix_sock_ro_perms")?;
        out.unix.push((bind_unix(ro, ro_mode, group)?, true));
        out.paths.push(ro.clone());
    }
    if let Some(admin) = &ctx.paths.sock_admin {
        let admin_mode = mode(&config.unix_sock_admin_perms, "unix_sock_admin_perms")?;
        out.admin = Some(bind_unix(admin, admin_mode, group)?);
        out.paths.push(admin.clone());
    }
    if listen && ctx.profile.with_ip && config.listen_tcp {
        let addr = config
            .listen_addr
            .clone()
            .unwrap_or_else(|| "0.0.0.0".into());
        let l = std::net::TcpListener::bind(format!("{}:{}", addr, config.tcp_port))
            .map_err(|e| format!("Failed to bind TCP socket {addr}:{}: {e}", config.tcp_port))?;
        l.set_nonblocking(true).map_err(|e| e.to_string())?;
        out.tcp
            .push(TcpListener::from_std(l).map_err(|e| e.to_string())?);
    }
    Ok(out)
}

pub fn cleanup(paths: &[PathBuf]) {
    for p in paths {
        let _ = std::fs::remove_file(p);
    }
}

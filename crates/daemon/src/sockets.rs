// SPDX-License-Identifier: LGPL-2.1-or-later
//! Creating the listening sockets, or taking them from systemd.

use std::os::fd::RawFd;
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
    /// TLS listeners and the credentials they use.
    pub tls: Vec<TcpListener>,
    pub tls_setup: Option<crate::tls::TlsSetup>,
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
    // Bound under a temporary name and renamed once its mode and group
    // are set: whoever finds the socket finds it as configured.
    let tmp = path.with_file_name(format!(
        ".{}.{}",
        path.file_name()
            .map(|f| f.to_string_lossy())
            .unwrap_or_default(),
        std::process::id()
    ));
    let _ = std::fs::remove_file(&tmp);
    let std_l = std::os::unix::net::UnixListener::bind(&tmp)
        .map_err(|e| format!("Failed to bind socket to '{}': {e}", path.display()))?;
    let placed = (|| {
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(mode))
            .map_err(|e| format!("Failed to set permissions on '{}': {e}", path.display()))?;
        if let Some(gid) = group {
            std::os::unix::fs::chown(&tmp, None, Some(gid))
                .map_err(|e| format!("Failed to change group of '{}': {e}", path.display()))?;
        }
        std::fs::rename(&tmp, path)
            .map_err(|e| format!("Failed to bind socket to '{}': {e}", path.display()))
    })();
    if let Err(e) = placed {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
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

/// Takes a UNIX socket the service manager passed (LISTEN_FDS); each
/// claimed descriptor is adopted once.
fn unix_from_fd(fd: RawFd) -> Result<UnixListener, String> {
    let l = host::fd::adopt_unix_listener(fd).map_err(|e| e.to_string())?;
    l.set_nonblocking(true).map_err(|e| e.to_string())?;
    UnixListener::from_std(l).map_err(|e| e.to_string())
}

/// Takes a TCP socket the service manager passed, like [`unix_from_fd`].
fn tcp_from_fd(fd: RawFd) -> Result<TcpListener, String> {
    let l = host::fd::adopt_tcp_listener(fd).map_err(|e| e.to_string())?;
    l.set_nonblocking(true).map_err(|e| e.to_string())?;
    TcpListener::from_std(l).map_err(|e| e.to_string())
}

/// Opens every socket this daemon serves. With systemd activation
/// (`act`), a socket passed under its unit name is used as is (the
/// permission and group settings do not apply to it); a UNIX socket that
/// was not passed is created as usual, as libvirt does; TCP/TLS come only
/// from activation then.
pub fn open(
    ctx: &DaemonContext,
    config: &DaemonConfig,
    listen: bool,
    act: Option<daemon_support::Activation>,
) -> Result<Listeners, String> {
    let mut out = Listeners {
        unix: Vec::new(),
        admin: None,
        tcp: Vec::new(),
        tls: Vec::new(),
        tls_setup: None,
        paths: Vec::new(),
    };
    let name = ctx.profile.name;
    let mut act = act;
    let activated = act.is_some();
    if activated && listen {
        return Err("--listen parameter not permitted with systemd activation sockets, see 'man libvirtd' for further guidance".into());
    }
    let mut claim =
        |unit: String| -> Vec<RawFd> { act.as_mut().map(|a| a.claim(&unit)).unwrap_or_default() };

    let group = match &config.unix_sock_group {
        Some(g) if ctx.privileged => Some(group_id(g)?),
        _ => None,
    };

    let fds = claim(format!("{name}-ro.socket"));
    if fds.is_empty() {
        if let Some(ro) = &ctx.paths.sock_ro {
            let ro_mode = mode(&config.unix_sock_ro_perms, "unix_sock_ro_perms")?;
            out.unix.push((bind_unix(ro, ro_mode, group)?, true));
            out.paths.push(ro.clone());
        }
    }
    for fd in fds {
        out.unix.push((unix_from_fd(fd)?, true));
    }

    let fds = claim(format!("{name}-admin.socket"));
    if fds.is_empty() {
        if let Some(admin) = &ctx.paths.sock_admin {
            let admin_mode = mode(&config.unix_sock_admin_perms, "unix_sock_admin_perms")?;
            out.admin = Some(bind_unix(admin, admin_mode, group)?);
            out.paths.push(admin.clone());
        }
    }
    for fd in fds {
        // One admin listener is served; extra ones are closed.
        let l = unix_from_fd(fd)?;
        if out.admin.is_none() {
            out.admin = Some(l);
        }
    }

    // The read-write socket last: once it answers, every UNIX socket of
    // the daemon is there.
    let fds = claim(format!("{name}.socket"));
    if fds.is_empty() {
        let rw_mode = mode(&config.unix_sock_rw_perms, "unix_sock_rw_perms")?;
        out.unix
            .push((bind_unix(&ctx.paths.sock, rw_mode, group)?, false));
        out.paths.push(ctx.paths.sock.clone());
    }
    for fd in fds {
        out.unix.push((unix_from_fd(fd)?, false));
    }

    if ctx.profile.with_ip {
        let tcp_fds = claim(format!("{name}-tcp.socket"));
        let tls_fds = claim(format!("{name}-tls.socket"));
        for fd in tcp_fds {
            out.tcp.push(tcp_from_fd(fd)?);
        }
        for fd in tls_fds {
            out.tls.push(tcp_from_fd(fd)?);
        }
        // libvirtd honours listen_* only with --listen; virtproxyd always.
        let ipsock = !activated && (listen || !ctx.profile.has_listen);
        if ipsock && config.listen_tls {
            let addr = config
                .listen_addr
                .clone()
                .unwrap_or_else(|| "0.0.0.0".into());
            let port: u16 = config
                .tls_port
                .parse()
                .map_err(|_| format!("Invalid tls_port '{}'", config.tls_port))?;
            // Credentials first: a daemon that cannot serve TLS stops
            // before it binds anything.
            out.tls_setup = Some(crate::tls::load(ctx, config)?);
            out.tls.push(bind_tcp(&addr, port)?);
        }
        if !out.tls.is_empty() && out.tls_setup.is_none() {
            out.tls_setup = Some(crate::tls::load(ctx, config)?);
        }
        if ipsock && config.listen_tcp {
            let addr = config
                .listen_addr
                .clone()
                .unwrap_or_else(|| "0.0.0.0".into());
            let port: u16 = config
                .tcp_port
                .parse()
                .map_err(|_| format!("Invalid tcp_port '{}'", config.tcp_port))?;
            let l = bind_tcp(&addr, port)?;
            out.tcp.push(l);
        }
    }
    if let Some(a) = act {
        a.complete().map_err(|e| e.to_string())?;
    }
    Ok(out)
}

fn bind_tcp(addr: &str, port: u16) -> Result<TcpListener, String> {
    let host = addr.trim_start_matches('[').trim_end_matches(']');
    let l = std::net::TcpListener::bind((host, port))
        .map_err(|e| format!("Failed to bind TCP socket {addr}:{port}: {e}"))?;
    l.set_nonblocking(true).map_err(|e| e.to_string())?;
    TcpListener::from_std(l).map_err(|e| e.to_string())
}

pub fn cleanup(paths: &[PathBuf]) {
    for p in paths {
        let _ = std::fs::remove_file(p);
    }
}

// SPDX-License-Identifier: LGPL-2.1-or-later
//! What a guest's start needs around its command line: the settings
//! `qemu_command::build_command` takes from qemu.conf and the host, the
//! descriptors it names (opened here and inherited by QEMU), the guest's
//! master key, and its log file (`LOG_DIR/NAME.log`: a header and the
//! command line, then QEMU's own output, the tail of which is the error
//! of a QEMU that fails to start).

use std::io::{Read, Seek, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use driver::error::ErrorCode;
use driver::{Error, Result};
use qemu_caps::QemuCaps;
use qemu_command::{CommandConfig, FdNumbering, FdSource, PassedFd, QemuCommand};

use crate::state::QEMU;

/// The first descriptor number QEMU inherits (after stdio).
pub(crate) const FIRST_FD: u32 = 3;

/// The most of QEMU's log a start error quotes (as libvirt: 1 KiB).
const LOG_ERROR_MAX: usize = 1024;

fn system_error(what: String, e: &std::io::Error) -> Error {
    Error::new(
        ErrorCode::SystemError,
        QEMU,
        format!("{what}: {}", virterror::os_error_text(e)),
    )
}

/// The host's NUMA node count (at least 1).
fn host_numa_nodes() -> u64 {
    let n = std::fs::read_dir("/sys/devices/system/node")
        .map(|d| {
            d.flatten()
                .filter(|e| {
                    let name = e.file_name();
                    let name = name.to_string_lossy();
                    name.strip_prefix("node")
                        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
                })
                .count()
        })
        .unwrap_or(0);
    u64::try_from(n).unwrap_or(1).max(1)
}

/// The host's first DRM render node (`/dev/dri/renderD128`).
fn render_node() -> Option<String> {
    let mut nodes: Vec<String> = std::fs::read_dir("/dev/dri")
        .ok()?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("renderD"))
        .collect();
    nodes.sort();
    nodes.first().map(|n| format!("/dev/dri/{n}"))
}

/// The command-line settings of a guest started by this driver: qemu.conf
/// (`conf`), the daemon's environment, the host, and a fresh master key.
pub(crate) fn command_config(
    conf: &crate::config::QemuConf,
    lib_dir: &Path,
    caps: &QemuCaps,
) -> Result<CommandConfig> {
    let mut master_key = [0u8; 32];
    getrandom::getrandom(&mut master_key).map_err(|e| {
        Error::new(
            ErrorCode::InternalError,
            QEMU,
            format!("cannot generate the master key: {e}"),
        )
    })?;
    let daemon_env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    Ok(CommandConfig {
        lib_dir: lib_dir.display().to_string(),
        fd_numbering: FdNumbering::From(FIRST_FD),
        seccomp_sandbox: match conf.seccomp_sandbox {
            0 => false,
            1 => true,
            _ => caps.has("seccomp-sandbox"),
        },
        env_path: daemon_env("PATH").unwrap_or_else(|| CommandConfig::default().env_path),
        env_user: daemon_env("USER").or_else(|| daemon_env("LOGNAME")),
        env_pass: ["LD_PRELOAD", "LD_LIBRARY_PATH"]
            .iter()
            .filter_map(|k| daemon_env(k).map(|v| (k.to_string(), v)))
            .collect(),
        host_numa_nodes: host_numa_nodes(),
        render_node: render_node(),
        master_key,
        ..CommandConfig::default()
    })
}

/// Writes the guest's master key (`PRIV_DIR/master-key.aes`, mode 0600,
/// owned by QEMU's user when `owner` is given).
pub(crate) fn write_master_key(
    priv_dir: &Path,
    key: &[u8; 32],
    owner: Option<(u32, u32)>,
) -> Result<()> {
    let path = priv_dir.join("master-key.aes");
    host::fs::write_atomic(&path, key, 0o600).map_err(|e| {
        Error::new(
            ErrorCode::SystemError,
            QEMU,
            format!("failed to write master key file for domain: {e}"),
        )
    })?;
    if let Some((uid, gid)) = owner {
        std::os::unix::fs::chown(&path, Some(uid), Some(gid)).map_err(|e| {
            system_error(
                format!(
                    "unable to set user and group to '{uid}:{gid}' on '{}'",
                    path.display()
                ),
                &e,
            )
        })?;
    }
    Ok(())
}

/// The descriptors QEMU inherits, opened in the order (and so with the
/// numbers) the command line gives them; the files of listening sockets
/// this creates, to remove when the guest stops.
pub(crate) struct Passed {
    pub fds: Vec<OwnedFd>,
    pub sockets: Vec<PathBuf>,
}

impl Passed {
    /// The raw descriptors, for `host::process::pass_fds`.
    pub fn raw(&self) -> Vec<std::os::fd::RawFd> {
        self.fds.iter().map(AsRawFd::as_raw_fd).collect()
    }
}

fn listen(path: &Path) -> std::io::Result<OwnedFd> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let _ = std::fs::remove_file(path);
    let l = std::os::unix::net::UnixListener::bind(path)?;
    Ok(OwnedFd::from(l))
}

/// Opens what `cmd.fds` lists (the monitor socket at `monitor`).
pub(crate) fn open_fds(cmd: &QemuCommand, monitor: &Path) -> Result<Passed> {
    let mut out = Passed {
        fds: Vec::new(),
        sockets: Vec::new(),
    };
    for (i, PassedFd { fd, source }) in cmd.fds.iter().enumerate() {
        if u32::try_from(i).ok().map(|i| i + FIRST_FD) != Some(*fd) {
            return Err(Error::internal(QEMU, format!("unexpected descriptor {fd}")));
        }
        let opened = match source {
            FdSource::Monitor => {
                out.sockets.push(monitor.to_path_buf());
                listen(monitor).map_err(|e| {
                    system_error(
                        format!("Failed to bind socket to '{}'", monitor.display()),
                        &e,
                    )
                })?
            }
            FdSource::ListenSocket(p) => {
                out.sockets.push(PathBuf::from(p));
                listen(Path::new(p))
                    .map_err(|e| system_error(format!("Failed to bind socket to '{p}'"), &e))?
            }
            FdSource::AppendFile(p) => std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .map(OwnedFd::from)
                .map_err(|e| system_error(format!("Unable to open '{p}'"), &e))?,
            FdSource::ReadWrite(p) => std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(p)
                .map(OwnedFd::from)
                .map_err(|e| system_error(format!("Unable to open '{p}'"), &e))?,
            FdSource::VhostVsock => std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open("/dev/vhost-vsock")
                .map(OwnedFd::from)
                .map_err(|e| system_error("unable to open vhost-vsock device".into(), &e))?,
            FdSource::Tap(_) | FdSource::VhostNet => crate::netdev::open_nic_fd(source)?,
        };
        out.fds.push(opened);
    }
    Ok(out)
}

/// Opens the guest's log file for appending and writes the start header
/// and the command line; gives the file (QEMU's stderr) and the offset
/// QEMU's own output starts at.
pub(crate) fn open_log(
    log_dir: &Path,
    name: &str,
    caps: &QemuCaps,
    cmd: &QemuCommand,
) -> Result<(std::fs::File, PathBuf, u64)> {
    std::fs::create_dir_all(log_dir).map_err(|e| {
        system_error(
            format!("cannot create directory '{}'", log_dir.display()),
            &e,
        )
    })?;
    let path = log_dir.join(format!("{name}.log"));
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .read(true)
        .open(&path)
        .map_err(|e| system_error(format!("failed to open log '{}'", path.display()), &e))?;
    let (a, b, c) = caps.version_triple();
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let header = format!(
        "{}: starting up libvirt version: 9.6.0, qemu version: {a}.{b}.{c}{}, kernel: {}, hostname: {}\n{}",
        log_timestamp(),
        caps.package.as_deref().unwrap_or(""),
        kernel.trim(),
        host.trim(),
        cmd.to_test_string()
    );
    let _ = f.write_all(header.as_bytes());
    let pos = f.seek(std::io::SeekFrom::End(0)).unwrap_or(0);
    Ok((f, path, pos))
}

/// Appends the stop of a guest to its log (`TIME: shutting down,
/// reason=destroyed`), as libvirt does; `reason` is the shut-off reason.
pub(crate) fn log_stop(log_dir: &Path, name: &str, reason: i32) {
    const REASONS: [&str; 9] = [
        "unknown",
        "shutdown",
        "destroyed",
        "crashed",
        "migrated",
        "saved",
        "failed",
        "from-snapshot",
        "daemon",
    ];
    let word = usize::try_from(reason)
        .ok()
        .and_then(|i| REASONS.get(i))
        .copied()
        .unwrap_or("unknown");
    let path = log_dir.join(format!("{name}.log"));
    if let Ok(mut f) = std::fs::OpenOptions::new().append(true).open(&path) {
        let _ = writeln!(f, "{}: shutting down, reason={word}", log_timestamp());
    }
}

/// `YYYY-MM-DD HH:MM:SS.mmm+0000`, libvirt's log time stamp.
fn log_timestamp() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs();
    let (days, rem) = (secs / 86400, secs % 86400);
    let (y, m, d) = qemu_command::civil_from_days(i64::try_from(days).unwrap_or(0));
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}.{:03}+0000",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        now.subsec_millis()
    )
}

/// QEMU's output in its log since `from`, as a start error quotes it:
/// libvirt's own log lines and chardev notices dropped, the last 1 KiB
/// (cut at a line start), no final newline.
pub(crate) fn log_error_text(path: &Path, from: u64) -> String {
    let mut text = String::new();
    if let Ok(mut f) = std::fs::File::open(path) {
        if f.seek(std::io::SeekFrom::Start(from)).is_ok() {
            let _ = f.read_to_string(&mut text);
        }
    }
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| !l.contains("char device redirected to") && !is_libvirt_log_line(l))
        .collect();
    let joined = kept.join("\n");
    if joined.len() <= LOG_ERROR_MAX {
        return joined;
    }
    let mut cut = joined.len() - LOG_ERROR_MAX;
    while !joined.is_char_boundary(cut) {
        cut += 1;
    }
    let tail = &joined[cut..];
    let starts_line = joined.as_bytes().get(cut.wrapping_sub(1)) == Some(&b'\n');
    match tail.find('\n') {
        Some(i) if !starts_line && !tail[i + 1..].trim().is_empty() => tail[i + 1..].to_string(),
        _ => tail.to_string(),
    }
}

/// A line of libvirt's own log format (`YYYY-MM-DD HH:MM:SS.mmm+ZZZZ: `).
fn is_libvirt_log_line(l: &str) -> bool {
    let b = l.as_bytes();
    b.len() > 30
        && b.get(4) == Some(&b'-')
        && b.get(10) == Some(&b' ')
        && b.get(13) == Some(&b':')
        && b.get(19) == Some(&b'.')
        && b.get(28) == Some(&b':')
}

impl crate::state::Driver {
    /// virConnectDomainXMLToNative (`qemu-argv`): the command line a
    /// definition would start with, nothing opened or passed (the monitor
    /// and chardev files named by path), as domain -1.
    pub(crate) fn xml_to_native(&self, format: &str, xml: &str) -> Result<String> {
        if format != "qemu-argv" {
            return Err(Error::new(
                ErrorCode::InvalidArg,
                QEMU,
                format!("unsupported config type {format}"),
            ));
        }
        let def = self.parse_def(xml, false)?;
        let emulator = def
            .emulator
            .clone()
            .ok_or_else(|| Error::internal(QEMU, "no emulator"))?;
        let caps = crate::caps::lookup(&self.caps, &emulator)?;
        let mut cfg = command_config(&self.conf, &self.opts.lib_dir, &caps)?;
        cfg.fd_numbering = FdNumbering::Pretend;
        let cmd = qemu_command::build_command(&def, &caps, &cfg, -1)?;
        Ok(cmd.to_shell_line())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_errors_quote_qemus_lines_only() {
        let dir = std::env::temp_dir().join(format!("qemu-log-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let p = dir.join("g.log");
        std::fs::write(
            &p,
            "header\n2026-12-07 18:30:00.123+0000: 42: info : libvirt line\nchar device redirected to /dev/pts/3 (label charserial0)\nqemu-system-x86_64: -blockdev x: Could not open 'x'\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            log_error_text(&p, 7),
            "qemu-system-x86_64: -blockdev x: Could not open 'x'"
        );
        let long = "y".repeat(600);
        std::fs::write(&p, format!("{long}\n{long}\nlast\n")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(log_error_text(&p, 0), format!("{long}\nlast"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}

// SPDX-License-Identifier: LGPL-2.1-or-later
//! Probing an emulator binary and caching the result, as libvirt's
//! `virQEMUCapsCache` does: one file per binary,
//! `<cache dir>/<sha256 of the binary path>.xml` (mode 0600, written
//! atomically), reused while the binary's ctime, QEMU's module directory,
//! our own binary (ctime and version), KVM's availability and the host's
//! microcode and kernel versions are unchanged; probed again otherwise.
//!
//! The probe runs the binary as libvirt does:
//! `BINARY -S -no-user-config -nodefaults -nographic -machine
//! none,accel=kvm:tcg -qmp unix:DIR/qmp.monitor,server=on,wait=off
//! -pidfile DIR/qmp.pid -daemonize` in a fresh `LIBDIR/qmp-XXXXXX`
//! directory, then a second time with `accel=tcg` when KVM and TCG are
//! both there.

use crate::probe;
use crate::qmp::Qmp;
use qemu_caps::QemuCaps;
use std::collections::HashMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use virterror::{ErrorCode, ErrorDomain, VirError};

/// Where QEMU keeps its loadable modules on Debian (libvirt's
/// `QEMU_MODDIR`): a change there invalidates the cache.
pub const QEMU_MODDIR: &str = "/usr/lib/x86_64-linux-gnu/qemu";

/// What the probe and the validity checks need to know about the host and
/// about us.
#[derive(Debug, Clone)]
pub struct ProbeEnv {
    /// Directory for the probe's private `qmp-XXXXXX` directories
    /// (`/var/lib/libvirt/qemu` for root).
    pub lib_dir: PathBuf,
    /// User and group the probed QEMU runs as (None: ours).
    pub run_uid: Option<u32>,
    /// See `run_uid`.
    pub run_gid: Option<u32>,
    /// The ctime of our daemon binary (`selfctime`).
    pub self_ctime: i64,
    /// Our libvirt version number (`selfvers`).
    pub self_vers: u64,
    /// The host CPU's microcode version (recorded when KVM is there).
    pub microcode_version: u32,
    /// The host kernel's version string (recorded when KVM is there).
    pub kernel_version: Option<String>,
    /// Whether /dev/kvm can be used.
    pub kvm_usable: bool,
    /// Deadline of each monitor command.
    pub timeout: Duration,
}

impl ProbeEnv {
    /// The facts of this host: microcode from /proc/cpuinfo, the kernel
    /// release and version, /dev/kvm read-write access, our binary's ctime.
    pub fn for_host(lib_dir: PathBuf, run_uid: Option<u32>, run_gid: Option<u32>) -> ProbeEnv {
        let microcode_version = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|t| {
                t.lines()
                    .find(|l| l.starts_with("microcode"))
                    .and_then(|l| l.split(':').nth(1))
                    .map(|v| v.trim().trim_start_matches("0x").to_string())
            })
            .and_then(|v| u32::from_str_radix(&v, 16).ok())
            .unwrap_or(0);
        let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
        let version = std::fs::read_to_string("/proc/sys/kernel/version").unwrap_or_default();
        let kernel_version = Some(format!("{} {}", release.trim(), version.trim()));
        let kvm_usable = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/kvm")
            .is_ok();
        let self_ctime = std::env::current_exe()
            .and_then(std::fs::metadata)
            .map(|m| m.ctime())
            .unwrap_or(0);
        ProbeEnv {
            lib_dir,
            run_uid,
            run_gid,
            self_ctime,
            self_vers: 9_006_000,
            microcode_version,
            kernel_version,
            kvm_usable,
            timeout: Duration::from_secs(30),
        }
    }
}

fn sys_err(code: ErrorCode, detail: String) -> VirError {
    VirError::new(code, ErrorDomain::Qemu, detail)
}

/// The cache file name libvirt uses for `binary`: the SHA-256 of its path
/// in hex, with `.xml`.
pub fn cache_file_name(binary: &str) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, binary.as_bytes());
    let mut s = String::with_capacity(68);
    for b in d.as_ref() {
        s.push_str(&format!("{b:02x}"));
    }
    s.push_str(".xml");
    s
}

fn moddir_mtime() -> i64 {
    std::fs::metadata(QEMU_MODDIR)
        .map(|m| m.mtime())
        .unwrap_or(0)
}

/// A private directory for one probe, removed with everything in it when
/// dropped.
struct ProbeDir(PathBuf);

impl ProbeDir {
    fn new(lib_dir: &Path) -> Result<ProbeDir, VirError> {
        std::fs::create_dir_all(lib_dir).map_err(|e| {
            sys_err(
                ErrorCode::SystemError,
                format!("cannot create directory '{}': {e}", lib_dir.display()),
            )
        })?;
        for _ in 0..100 {
            let mut rnd = [0u8; 6];
            let _ = getrandom(&mut rnd);
            let suffix: String = rnd
                .iter()
                .map(|b| {
                    char::from(
                        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
                            [usize::from(*b) % 62],
                    )
                })
                .collect();
            let p = lib_dir.join(format!("qmp-{suffix}"));
            match std::fs::create_dir(&p) {
                Ok(()) => {
                    let _ = std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o700));
                    return Ok(ProbeDir(p));
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => {
                    return Err(sys_err(
                        ErrorCode::SystemError,
                        format!(
                            "Failed to create unique directory with template '{}/qmp-XXXXXX' for probing QEMU: {e}",
                            lib_dir.display()
                        ),
                    ))
                }
            }
        }
        Err(sys_err(
            ErrorCode::SystemError,
            "Failed to create unique directory for probing QEMU".into(),
        ))
    }
}

fn getrandom(buf: &mut [u8]) -> std::io::Result<()> {
    use std::io::Read;
    std::fs::File::open("/dev/urandom")?.read_exact(buf)
}

impl Drop for ProbeDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A QEMU started for probing, killed when dropped.
struct ProbeProcess {
    pid: Option<u32>,
    _dir: ProbeDir,
}

impl Drop for ProbeProcess {
    fn drop(&mut self) {
        // The probe is over and QEMU holds nothing worth a clean exit;
        // SIGKILL also ends one that hangs.
        if let Some(pid) = self.pid.take() {
            let _ = host::process::kill(pid, libc::SIGKILL);
        }
    }
}

/// Starts `binary` for probing and connects to its monitor.
async fn launch(
    binary: &str,
    env: &ProbeEnv,
    only_tcg: bool,
) -> Result<(ProbeProcess, Qmp), VirError> {
    let dir = ProbeDir::new(&env.lib_dir)?;
    if let (Some(uid), Some(gid)) = (env.run_uid, env.run_gid) {
        let _ = std::os::unix::fs::chown(&dir.0, Some(uid), Some(gid));
    }
    let monpath = dir.0.join("qmp.monitor");
    let pidfile = dir.0.join("qmp.pid");
    let machine = if only_tcg {
        "none,accel=tcg"
    } else {
        "none,accel=kvm:tcg"
    };
    let mut cmd = tokio::process::Command::new(binary);
    cmd.args([
        "-S",
        "-no-user-config",
        "-nodefaults",
        "-nographic",
        "-machine",
        machine,
        "-qmp",
    ])
    .arg(format!("unix:{},server=on,wait=off", monpath.display()))
    .arg("-pidfile")
    .arg(&pidfile)
    .arg("-daemonize")
    .env_clear()
    .env("LC_ALL", "C")
    .env(
        "PATH",
        "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    )
    .stdin(std::process::Stdio::null())
    .stdout(std::process::Stdio::null())
    .stderr(std::process::Stdio::piped())
    .kill_on_drop(true);
    if let Some(uid) = env.run_uid {
        cmd.uid(uid);
    }
    if let Some(gid) = env.run_gid {
        cmd.gid(gid);
    }
    let out = tokio::time::timeout(env.timeout, cmd.output())
        .await
        .map_err(|_| {
            sys_err(
                ErrorCode::InternalError,
                format!("Failed to start QEMU binary {binary} for probing: timed out"),
            )
        })?
        .map_err(|e| {
            sys_err(
                ErrorCode::InternalError,
                format!("Failed to start QEMU binary {binary} for probing: {e}"),
            )
        })?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
        return Err(sys_err(
            ErrorCode::InternalError,
            format!(
                "Failed to start QEMU binary {binary} for probing: {}",
                if stderr.is_empty() {
                    "unknown error"
                } else {
                    &stderr
                }
            ),
        ));
    }
    let pid = std::fs::read_to_string(&pidfile)
        .ok()
        .and_then(|s| s.trim().parse::<u32>().ok())
        .ok_or_else(|| {
            sys_err(
                ErrorCode::SystemError,
                format!("Failed to read pidfile {}", pidfile.display()),
            )
        })?;
    let proc = ProbeProcess {
        pid: Some(pid),
        _dir: dir,
    };
    let stream = tokio::net::UnixStream::connect(&monpath)
        .await
        .map_err(|e| {
            sys_err(
                ErrorCode::SystemError,
                format!("failed to connect to monitor socket: {e}"),
            )
        })?;
    let mon = tokio::time::timeout(env.timeout, Qmp::connect(stream, None))
        .await
        .map_err(|_| {
            sys_err(
                ErrorCode::InternalError,
                "timed out waiting for the QMP greeting".into(),
            )
        })?
        .map_err(|e| probe::qmp_error("greeting", e))?;
    mon.set_timeout(env.timeout);
    mon.negotiate()
        .await
        .map_err(|e| probe::qmp_error("qmp_capabilities", e))?;
    Ok((proc, mon))
}

/// Probes `binary` (libvirt's `virQEMUCapsNewForBinaryInternal`).
pub async fn probe_binary(binary: &str, env: &ProbeEnv) -> Result<QemuCaps, VirError> {
    let meta = std::fs::metadata(binary).map_err(|e| {
        sys_err(
            ErrorCode::SystemError,
            format!("Cannot check QEMU binary {binary}: {e}"),
        )
    })?;
    if !meta.is_file() || meta.permissions().mode() & 0o111 == 0 {
        return Err(sys_err(
            ErrorCode::SystemError,
            format!("QEMU binary {binary} is not executable"),
        ));
    }
    let mut caps = QemuCaps::new(binary);
    caps.qemu_ctime = meta.ctime();
    caps.qemu_moddir_mtime = moddir_mtime();
    {
        let (_proc, mon) = launch(binary, env, false).await?;
        probe::probe_monitor(&mon, &mut caps).await?;
    }
    if probe::needs_tcg_probe(&caps) {
        let (_proc, mon) = launch(binary, env, true).await?;
        probe::probe_monitor_tcg(&mon, &mut caps).await?;
    }
    caps.self_ctime = env.self_ctime;
    caps.self_vers = env.self_vers;
    if caps.have_accel() {
        caps.microcode_version = env.microcode_version;
        caps.kernel_version = env.kernel_version.clone();
    }
    if caps.has("kvm") {
        caps.kvm_supports_nesting = kvm_supports_nesting();
    }
    Ok(caps)
}

fn kvm_supports_nesting() -> bool {
    ["kvm_intel", "kvm_amd"].iter().any(|m| {
        std::fs::read_to_string(format!("/sys/module/{m}/parameters/nested"))
            .map(|v| matches!(v.trim(), "1" | "Y" | "y"))
            .unwrap_or(false)
    })
}

/// Whether cached capabilities still describe `binary` on this host
/// (libvirt's `virQEMUCapsIsValid`).
pub fn is_valid(caps: &QemuCaps, env: &ProbeEnv) -> bool {
    if caps.qemu_moddir_mtime != moddir_mtime() {
        return false;
    }
    if caps.self_ctime != env.self_ctime || caps.self_vers != env.self_vers {
        return false;
    }
    match std::fs::metadata(&caps.emulator) {
        Ok(m) if m.ctime() == caps.qemu_ctime => {}
        _ => return false,
    }
    let host_arch = std::env::consts::ARCH;
    let native = caps.arch == host_arch || (host_arch == "x86_64" && caps.arch == "i686");
    if !native {
        return true;
    }
    if caps.has("kvm") != env.kvm_usable {
        return false;
    }
    if caps.have_accel()
        && (caps.microcode_version != env.microcode_version
            || caps.kernel_version != env.kernel_version)
    {
        return false;
    }
    if caps.has("kvm") && caps.kvm_supports_nesting != kvm_supports_nesting() {
        return false;
    }
    true
}

/// The per-binary capability cache: in memory, backed by `dir`.
pub struct CapsCache {
    dir: PathBuf,
    env: ProbeEnv,
    entries: Mutex<HashMap<String, Arc<QemuCaps>>>,
    /// One probe per binary at a time.
    probing: tokio::sync::Mutex<()>,
}

impl CapsCache {
    /// A cache in `dir` (`/var/cache/libvirt/qemu/capabilities` for root).
    pub fn new(dir: PathBuf, env: ProbeEnv) -> CapsCache {
        CapsCache {
            dir,
            env,
            entries: Mutex::new(HashMap::new()),
            probing: tokio::sync::Mutex::new(()),
        }
    }

    /// The cache directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The capabilities of `binary`: from memory or the cache file while
    /// still valid, else probed (and saved).
    pub async fn lookup(&self, binary: &str) -> Result<Arc<QemuCaps>, VirError> {
        if let Some(c) = self.cached(binary) {
            return Ok(c);
        }
        let _one = self.probing.lock().await;
        if let Some(c) = self.cached(binary) {
            return Ok(c);
        }
        let file = self.dir.join(cache_file_name(binary));
        if let Ok(text) = std::fs::read_to_string(&file) {
            if let Ok(c) = QemuCaps::parse_cache(&text) {
                if c.emulator == binary && is_valid(&c, &self.env) {
                    let c = Arc::new(c);
                    self.remember(binary, c.clone());
                    return Ok(c);
                }
            }
        }
        let caps = probe_binary(binary, &self.env).await?;
        let _ = std::fs::create_dir_all(&self.dir);
        if let Err(e) = host::fs::write_atomic(&file, caps.format_cache().as_bytes(), 0o600) {
            return Err(sys_err(
                ErrorCode::SystemError,
                format!("Failed to save '{}' for '{binary}': {e}", file.display()),
            ));
        }
        let caps = Arc::new(caps);
        self.remember(binary, caps.clone());
        Ok(caps)
    }

    fn cached(&self, binary: &str) -> Option<Arc<QemuCaps>> {
        let c = self
            .entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(binary)
            .cloned()?;
        is_valid(&c, &self.env).then_some(c)
    }

    fn remember(&self, binary: &str, caps: Arc<QemuCaps>) {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(binary.to_string(), caps);
    }
}

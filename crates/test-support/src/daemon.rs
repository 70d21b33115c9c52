// SPDX-License-Identifier: LGPL-2.1-or-later
//! Daemons as processes: how to start one ([`Spec`], kept so a test can
//! start it again after a kill), and the running process ([`Daemon`]),
//! killed on drop.

use std::os::fd::RawFd;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::{bin, TempDir, WAIT};

/// How to start a daemon; kept so it can be started again after a kill.
#[derive(Clone)]
pub struct Spec {
    /// The executable.
    pub program: PathBuf,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    /// The socket that accepts connections once the daemon serves.
    pub ready: PathBuf,
    /// Where stderr logs go.
    pub log_dir: PathBuf,
}

impl Spec {
    /// Daemon `name` of the target directory as
    /// `name -f DIR/daemon.conf -p DIR/daemon.pid`, with `unix_sock_dir`
    /// DIR/run plus `extra_conf`, system paths under DIR/root
    /// (`LIBVIRT_RS_ROOT_PREFIX`), ready once its read-write socket serves.
    pub fn new(name: &str, dir: &TempDir, extra_conf: &str) -> Spec {
        let conf = dir.config(extra_conf);
        let prefix = if name == "libvirtd" { "libvirt" } else { name };
        Spec::with_conf(
            bin(name),
            dir,
            &conf,
            &dir.join("daemon.pid"),
            &dir.join("root"),
            dir.join(&format!("run/{prefix}-sock")),
        )
    }

    /// `program -f CONF -p PID_FILE` with system paths under
    /// `root_prefix` (`LIBVIRT_RS_ROOT_PREFIX`), stderr logs in `dir`,
    /// ready once `ready` serves.
    pub fn with_conf(
        program: impl Into<PathBuf>,
        dir: &TempDir,
        conf: &Path,
        pid_file: &Path,
        root_prefix: &Path,
        ready: PathBuf,
    ) -> Spec {
        Spec {
            program: program.into(),
            args: vec![
                "-f".into(),
                conf.display().to_string(),
                "-p".into(),
                pid_file.display().to_string(),
            ],
            env: vec![(
                "LIBVIRT_RS_ROOT_PREFIX".into(),
                root_prefix.display().to_string(),
            )],
            ready,
            log_dir: dir.path().to_path_buf(),
        }
    }

    pub fn env(mut self, k: &str, v: &str) -> Spec {
        self.env.push((k.to_owned(), v.to_owned()));
        self
    }

    /// The read-only socket beside the read-write one.
    pub fn ro_socket(&self) -> PathBuf {
        let mut s = self.ready.clone().into_os_string();
        s.push("-ro");
        PathBuf::from(s)
    }

    /// Starts the daemon and waits until [`Spec::ready`] serves.
    pub fn start(&self) -> Daemon {
        self.start_with(None)
    }

    /// Starts the daemon as user and group `uid` with only [`Spec::env`]
    /// in its environment.
    pub fn start_as(&self, uid: u32) -> Daemon {
        self.start_with(Some(uid))
    }

    fn start_with(&self, uid: Option<u32>) -> Daemon {
        use std::os::unix::process::CommandExt;
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args)
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        if let Some(uid) = uid {
            cmd.uid(uid)
                .gid(uid)
                .env_clear()
                .envs(self.env.iter().map(|(k, v)| (k, v)));
        }
        Daemon::start_cmd(cmd, &self.log_dir, &self.ready)
    }
}

/// A running daemon, killed on drop.
pub struct Daemon {
    pub child: Child,
    /// The file its stderr goes to.
    pub stderr: PathBuf,
}

impl Daemon {
    /// Starts daemon `name` of the target directory with `args`, stderr
    /// to a file in `log_dir`, and waits until `ready` (a socket path)
    /// accepts connections.
    pub fn start(name: &str, log_dir: impl AsRef<Path>, args: &[&str], ready: &Path) -> Daemon {
        let mut cmd = Command::new(bin(name));
        cmd.args(args);
        Self::start_cmd(cmd, log_dir, ready)
    }

    /// Starts `cmd` (stdin and stdout null, stderr to a file in
    /// `log_dir`) and waits until `ready` accepts connections.
    pub fn start_cmd(cmd: Command, log_dir: impl AsRef<Path>, ready: &Path) -> Daemon {
        let mut d = Self::spawn(cmd, log_dir);
        d.wait_socket(ready);
        d
    }

    /// Starts `cmd` like [`Daemon::start_cmd`] without waiting for it.
    pub fn spawn(mut cmd: Command, log_dir: impl AsRef<Path>) -> Daemon {
        static N: AtomicU32 = AtomicU32::new(0);
        let name = Path::new(cmd.get_program())
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let stderr = log_dir
            .as_ref()
            .join(format!("{name}-{}.log", N.fetch_add(1, Ordering::Relaxed)));
        let f = std::fs::File::create(&stderr)
            .unwrap_or_else(|e| panic!("create {}: {e}", stderr.display()));
        cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(f);
        let child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {name}: {e}"));
        Daemon { child, stderr }
    }

    /// Waits until `path` accepts connections; panics with the daemon's
    /// stderr when it exits first or [`WAIT`] passes.
    pub fn wait_socket(&mut self, path: &Path) {
        let start = Instant::now();
        loop {
            if UnixStream::connect(path).is_ok() {
                return;
            }
            if let Ok(Some(st)) = self.child.try_wait() {
                panic!(
                    "daemon exited ({st}) before {} served: {}",
                    path.display(),
                    self.stderr_text()
                );
            }
            assert!(
                start.elapsed() < WAIT,
                "{} never served: {}",
                path.display(),
                self.stderr_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends signal `sig` (`libc::SIGTERM`, ...). The child is not reaped
    /// while this is held, so its pid cannot have been reused.
    pub fn signal(&self, sig: i32) {
        if let Err(e) = host::process::kill(self.pid(), sig) {
            panic!("signal {sig} to {}: {e}", self.pid());
        }
    }

    /// SIGTERM, then SIGKILL if it has not exited after `grace`; reaped
    /// either way.
    pub fn stop(&mut self, grace: Duration) {
        if self.running() {
            let _ = host::process::kill(self.pid(), 15);
            if self.wait_exit(grace).is_none() {
                self.kill9();
            }
        }
    }

    /// SIGKILL and reap.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits for the process to exit on its own.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Ok(Some(st)) = self.child.try_wait() {
                return Some(st);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// What the daemon wrote to stderr so far.
    pub fn stderr_text(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Resident memory in KiB (VmRSS).
    pub fn rss_kib(&self) -> u64 {
        proc_status_number(self.pid(), "VmRSS:")
    }

    /// Number of open file descriptors.
    pub fn fd_count(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid()))
            .map(|d| d.count())
            .unwrap_or(0)
    }

    /// Number of threads.
    pub fn threads(&self) -> u64 {
        proc_status_number(self.pid(), "Threads:")
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.running() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// A numeric field of /proc/PID/status (0 when absent).
pub fn proc_status_number(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// A command starting daemon binary `path` as systemd's socket activation
/// does: the daemon inherits `fds` as descriptors 3, 4, ..., named by
/// `names` (LISTEN_FDS, LISTEN_FDNAMES), and LISTEN_PID is its own pid
/// (set by a shell that then execs it). The caller adds the daemon's
/// arguments.
pub fn socket_activated(path: &Path, fds: &[RawFd], names: &[&str]) -> Command {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg("LISTEN_PID=$$ exec \"$0\" \"$@\"")
        .arg(path)
        .env("LISTEN_FDS", fds.len().to_string())
        .env("LISTEN_FDNAMES", names.join(":"));
    host::process::pass_fds(&mut cmd, fds.to_vec(), 3);
    cmd
}

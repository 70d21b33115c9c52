// SPDX-License-Identifier: LGPL-2.1-or-later
//! Running the daemon binaries as processes: where they are, a scratch
//! directory with a config file, start / SIGKILL / restart, and what a
//! process holds (resident memory, open descriptors) read from /proc.
// The client's error is the wire error by value, large by nature.
#![allow(clippy::result_large_err)]

use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use protocol::remote as r;
use rpc::client::{ClientError, RpcClient};

/// How long a daemon may take to start before a test gives up.
pub const WAIT: Duration = Duration::from_secs(60);

/// A binary built into the same target directory as the running test
/// (`target/debug/deps/TEST` → `target/debug/NAME`).
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let p = dir.join(name);
    assert!(
        p.exists(),
        "{} is missing: build the daemons first with `cargo build --bins` \
         (same CARGO_TARGET_DIR), then run `cargo test -p reliability-tests`",
        p.display()
    );
    p
}

/// Whether this process runs with effective uid 0.
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .is_some_and(|l| l.split_whitespace().nth(2) == Some("0"))
}

/// A scratch directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicU32 = AtomicU32::new(0);
        let p = std::env::temp_dir().join(format!(
            "reliab-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&p);
        if let Err(e) = std::fs::create_dir_all(&p) {
            panic!("create {}: {e}", p.display());
        }
        TempDir(p)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn join(&self, s: &str) -> PathBuf {
        self.0.join(s)
    }

    /// Writes `daemon.conf` with `unix_sock_dir` in `run/` plus `extra`.
    pub fn config(&self, extra: &str) -> PathBuf {
        let p = self.join("daemon.conf");
        let text = format!(
            "unix_sock_dir = \"{}\"\n{extra}\n",
            self.join("run").display()
        );
        if let Err(e) = std::fs::write(&p, text) {
            panic!("write config: {e}");
        }
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// How to start a daemon; kept so it can be started again after a kill.
#[derive(Clone)]
pub struct Spec {
    pub name: String,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    /// The socket that accepts connections once the daemon serves.
    pub ready: PathBuf,
    /// Where stderr logs go.
    pub log_dir: PathBuf,
}

impl Spec {
    /// `name -f DIR/daemon.conf -p DIR/daemon.pid`, sockets in DIR/run,
    /// system paths under DIR/root (LIBVIRT_RS_ROOT_PREFIX).
    pub fn new(name: &str, dir: &TempDir, extra_conf: &str) -> Spec {
        let conf = dir.config(extra_conf);
        let prefix = if name == "libvirtd" { "libvirt" } else { name };
        Spec {
            name: name.to_owned(),
            args: vec![
                "-f".into(),
                conf.display().to_string(),
                "-p".into(),
                dir.join("daemon.pid").display().to_string(),
            ],
            env: vec![(
                "LIBVIRT_RS_ROOT_PREFIX".into(),
                dir.join("root").display().to_string(),
            )],
            ready: dir.join(&format!("run/{prefix}-sock")),
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
        static N: AtomicU32 = AtomicU32::new(0);
        let stderr = self.log_dir.join(format!(
            "{}-{}.log",
            self.name,
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let f = match std::fs::File::create(&stderr) {
            Ok(f) => f,
            Err(e) => panic!("stderr file: {e}"),
        };
        let mut cmd = Command::new(bin(&self.name));
        cmd.args(&self.args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(f);
        if let Some(uid) = uid {
            cmd.uid(uid)
                .gid(uid)
                .env_clear()
                .envs(self.env.iter().map(|(k, v)| (k, v)));
        }
        let child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => panic!("spawn {}: {e}", self.name),
        };
        let mut d = Daemon { child, stderr };
        d.wait_socket(&self.ready);
        d
    }
}

/// A running daemon, killed on drop.
pub struct Daemon {
    pub child: Child,
    pub stderr: PathBuf,
}

impl Daemon {
    fn wait_socket(&mut self, path: &Path) {
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

    /// SIGKILL and reap.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    pub fn stderr_text(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Resident memory in KiB (VmRSS).
    pub fn rss_kib(&self) -> u64 {
        proc_status_kib(self.pid(), "VmRSS:")
    }

    /// Number of open file descriptors.
    pub fn fd_count(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid()))
            .map(|d| d.count())
            .unwrap_or(0)
    }

    /// Number of threads.
    pub fn threads(&self) -> u64 {
        proc_status_kib(self.pid(), "Threads:")
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
pub fn proc_status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Connects to `sock` and opens `uri` on the remote program.
pub fn open(sock: &Path, uri: &str) -> Result<RpcClient, ClientError> {
    let mut c = RpcClient::connect(sock, r::PROGRAM, r::PROTOCOL_VERSION)?;
    c.call::<_, ()>(
        1,
        &r::ConnectOpenArgs {
            name: Some(uri.to_owned()),
            flags: 0,
        },
    )?;
    Ok(c)
}

/// Polls `f` until it returns true or `limit` passes.
pub fn eventually(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// Sends one call with a raw payload and returns the answer's status and
/// body (an error is decoded into a [`protocol::RemoteError`]).
pub fn raw_call(
    c: &mut RpcClient,
    prog: u32,
    vers: u32,
    proc_: i32,
    serial: u32,
    payload: &[u8],
) -> Result<Result<Vec<u8>, protocol::RemoteError>, ClientError> {
    use protocol::header::{frame, Header, MessageType, Status};
    let h = Header::new(prog, vers, proc_, MessageType::Call, serial, Status::Ok);
    c.send_raw(&frame(&h, payload))?;
    loop {
        let (rh, body) = c.read_frame()?;
        if rh.prog == protocol::keepalive::PROGRAM
            || rh.message_type() == Some(MessageType::Message)
        {
            continue;
        }
        if rh.serial != serial || rh.proc_ != proc_ {
            return Err(ClientError::Protocol(format!(
                "reply serial {} proc {} to call {serial} proc {proc_}",
                rh.serial, rh.proc_
            )));
        }
        if rh.status == Status::Ok as i32 {
            return Ok(Ok(body));
        }
        let raw: r::Error = xdr::from_bytes(&body).map_err(ClientError::Decode)?;
        return Ok(Err(protocol::RemoteError::from_raw(raw)));
    }
}

// SPDX-License-Identifier: LGPL-2.1-or-later
//! Starting daemons as processes and talking to them.
#![allow(dead_code)]

use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// How long a daemon may take to start or stop before a test gives up.
pub const WAIT: Duration = Duration::from_secs(30);

/// A daemon binary built into the same target directory as this test.
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    // target/debug/deps/daemons-HASH -> target/debug/NAME
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let p = dir.join(name);
    assert!(
        p.exists(),
        "{} is missing: build the daemons first with `cargo build --bins` \
         (same CARGO_TARGET_DIR), then run `cargo test -p daemon-tests`",
        p.display()
    );
    p
}

pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// A scratch directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicU32 = AtomicU32::new(0);
        let p = std::env::temp_dir().join(format!(
            "daemon-tests-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("create temp dir");
        TempDir(p)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn join(&self, s: &str) -> PathBuf {
        self.0.join(s)
    }

    /// Writes a config file with `unix_sock_dir` in `run/` plus `extra`.
    pub fn config(&self, extra: &str) -> PathBuf {
        let p = self.join("daemon.conf");
        let text = format!(
            "unix_sock_dir = \"{}\"\n{extra}\n",
            self.join("run").display()
        );
        std::fs::write(&p, text).expect("write config");
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running daemon, killed on drop.
pub struct Daemon {
    pub child: Child,
    pub stderr: PathBuf,
}

impl Daemon {
    /// Starts `name` with `args`, stderr to a file in `dir`, and waits
    /// until `ready` (a socket path) accepts connections.
    pub fn start(name: &str, dir: &TempDir, args: &[&str], ready: &Path) -> Daemon {
        let mut cmd = Command::new(bin(name));
        cmd.args(args);
        Self::start_cmd(cmd, dir, ready)
    }

    pub fn start_cmd(mut cmd: Command, dir: &TempDir, ready: &Path) -> Daemon {
        let stderr = dir.join(&format!(
            "stderr-{}.log",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        ));
        let f = std::fs::File::create(&stderr).expect("stderr file");
        cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(f);
        let child = cmd.spawn().expect("spawn daemon");
        let mut d = Daemon { child, stderr };
        d.wait_socket(ready);
        d
    }

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
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn pid(&self) -> i32 {
        i32::try_from(self.child.id()).unwrap_or(0)
    }

    pub fn signal(&self, sig: i32) {
        // SAFETY: signals our own child, which has not been reaped (the
        // Child is still held), so the pid cannot have been reused.
        unsafe {
            libc::kill(self.pid(), sig);
        }
    }

    pub fn stderr_text(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Waits for the process to exit on its own.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Ok(Some(st)) = self.child.try_wait() {
                return Some(st);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
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

/// Runs a daemon binary to completion (for --version, bad options, ...).
pub fn run(name: &str, args: &[&str]) -> Output {
    Command::new(bin(name))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run daemon")
}

/// Runs a daemon binary to completion with a timeout guard.
pub fn run_cmd(mut cmd: Command) -> Output {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = cmd.spawn().expect("spawn");
    child.wait_with_output().expect("wait")
}

pub fn tool_exists(name: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {name}"))
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// Runs `virt-admin -c URI args...` against an admin socket.
pub fn virt_admin(sock: &Path, args: &[&str]) -> Output {
    Command::new("virt-admin")
        .arg("-c")
        .arg(format!("libvirtd+unix:///system?socket={}", sock.display()))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run virt-admin")
}

/// Runs `virsh [-r] -c URI args...`.
pub fn virsh(uri: &str, readonly: bool, args: &[&str]) -> Output {
    let mut c = Command::new("virsh");
    if readonly {
        c.arg("-r");
    }
    c.arg("-c")
        .arg(uri)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run virsh")
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Polls `f` until it returns true or [`WAIT`] passes.
pub fn eventually(mut f: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < WAIT {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// The SASL user the tests create, and its password.
pub const SASL_USER: &str = "alice";
pub const SASL_PASSWORD: &str = "wonderland";

/// A SASL configuration directory for the daemon (give it as
/// `SASL_CONF_PATH`): `libvirt.conf` offering `mechs`, and a sasldb made
/// with `saslpasswd2 -a libvirt` holding [`SASL_USER`].
pub fn sasl_dir(t: &TempDir, mechs: &str) -> PathBuf {
    use std::io::Write;
    let dir = t.join("sasl");
    std::fs::create_dir_all(&dir).expect("sasl dir");
    let db = dir.join("passwd.db");
    std::fs::write(
        dir.join("libvirt.conf"),
        format!("mech_list: {mechs}\nsasldb_path: {}\n", db.display()),
    )
    .expect("libvirt.conf");
    let mut c = Command::new("saslpasswd2")
        .args(["-a", "libvirt", "-f", db.to_str().unwrap_or(""), "-p", "-c", SASL_USER])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("saslpasswd2");
    if let Some(mut i) = c.stdin.take() {
        i.write_all(SASL_PASSWORD.as_bytes()).expect("password");
    }
    assert!(c.wait().expect("saslpasswd2").success(), "saslpasswd2 failed");
    dir
}

/// A libvirt client auth file (for `LIBVIRT_AUTH_FILE`) giving `user` and
/// `password` for 127.0.0.1.
pub fn auth_file(t: &TempDir, name: &str, user: &str, password: &str) -> PathBuf {
    let p = t.join(name);
    std::fs::write(
        &p,
        format!(
            "[credentials-t]\nauthname={user}\npassword={password}\n\n\
             [auth-libvirt-127.0.0.1]\ncredentials=t\n"
        ),
    )
    .expect("auth file");
    p
}

/// Runs `virsh -c URI args...` with credentials from `auth` (none: a file
/// that does not exist, so nothing is answered for it).
pub fn virsh_auth(uri: &str, auth: Option<&Path>, args: &[&str]) -> Output {
    Command::new("virsh")
        .arg("-c")
        .arg(uri)
        .args(args)
        .env("LIBVIRT_AUTH_FILE", auth.unwrap_or(Path::new("/nonexistent")))
        .stdin(Stdio::null())
        .output()
        .expect("run virsh")
}

// SPDX-License-Identifier: LGPL-2.1-or-later
//! Test harness: a real libvirtd process on a private socket directory,
//! and the real clients (virsh, libvirt-python) pointed at it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

static SEQ: AtomicU32 = AtomicU32::new(0);

/// A fresh directory under the system temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!(
            "lvrs-{tag}-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("create temp dir");
        TempDir(p)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running libvirtd.
pub struct Daemon {
    pub child: Child,
    pub dir: TempDir,
    pub sock: PathBuf,
}

impl Daemon {
    pub fn start() -> Daemon {
        Self::start_with("")
    }

    /// Start with extra config lines appended to the default test config.
    pub fn start_with(extra: &str) -> Daemon {
        let dir = TempDir::new("libvirtd");
        let (child, sock) = Self::spawn(&dir, extra);
        Daemon { child, dir, sock }
    }

    /// Kill the daemon with SIGKILL (guests must survive) and start it
    /// again on the same directories.
    pub fn kill_and_restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let (child, sock) = Self::spawn(&self.dir, "");
        self.child = child;
        self.sock = sock;
    }

    fn spawn(dir: &TempDir, extra: &str) -> (Child, PathBuf) {
        let run = dir.path().join("run");
        let conf = dir.path().join("libvirtd.conf");
        std::fs::write(
            &conf,
            format!(
                "unix_sock_dir = \"{}\"\nauth_unix_rw = \"none\"\nauth_unix_ro = \"none\"\nunix_sock_ro_perms = \"0777\"\nlog_outputs = \"3:file:{}\"\n{extra}\n",
                run.display(),
                dir.path().join("libvirtd.log").display()
            ),
        )
        .expect("write config");
        let child = Command::new(env!("CARGO_BIN_EXE_libvirtd"))
            .arg("-f")
            .arg(&conf)
            .arg("-p")
            .arg(dir.path().join("libvirtd.pid"))
            .env("LIBVIRT_RS_ROOT_PREFIX", dir.path())
            .env("LIBVIRT_LXC_BINARY", lxc_binary())
            .stdin(Stdio::null())
            .spawn()
            .expect("spawn libvirtd");
        let sock = run.join("libvirt-sock");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::os::unix::net::UnixStream::connect(&sock).is_err() {
            assert!(
                Instant::now() < deadline,
                "libvirtd did not start listening on {}",
                sock.display()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        (child, sock)
    }

    pub fn uri(&self, driver: &str) -> String {
        format!(
            "{driver}+unix:///{}?socket={}",
            if driver == "test" {
                "default"
            } else {
                "system"
            },
            self.sock.display()
        )
    }

    pub fn ro_uri(&self) -> String {
        format!("test+unix:///default?socket={}-ro", self.sock.display())
    }

    pub fn test_uri(&self) -> String {
        self.uri("test")
    }

    /// Keep test:///default alive between virsh invocations: its state is
    /// freed when the last connection closes, as in libvirt.
    pub fn keeper(&self) -> rpc::client::RpcClient {
        let mut c = rpc::client::RpcClient::connect(&self.sock, protocol::remote::PROGRAM, 1)
            .expect("connect");
        let _: () = c
            .call(
                protocol::RemoteProc::ConnectOpen as i32,
                &protocol::remote::ConnectOpenArgs {
                    name: Some("test:///default".into()),
                    flags: 0,
                },
            )
            .expect("open test:///default");
        c
    }

    pub fn virsh(&self, args: &[&str]) -> Out {
        virsh_uri(&self.test_uri(), args)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // SAFETY-free: ask politely, then make sure.
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The controller binary built beside the daemon.
pub fn lxc_binary() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_libvirtd")).with_file_name("libvirt_lxc")
}

/// What a client command printed.
#[derive(Debug)]
pub struct Out {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Out {
    fn from(o: Output) -> Out {
        Out {
            ok: o.status.success(),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Out {
    /// Assert success and return stdout.
    #[track_caller]
    pub fn success(self) -> String {
        assert!(self.ok, "command failed: {}", self.stderr);
        self.stdout
    }
    /// Assert failure and return stderr.
    #[track_caller]
    pub fn failure(self) -> String {
        assert!(!self.ok, "command unexpectedly succeeded: {}", self.stdout);
        self.stderr
    }
}

pub fn have(cmd: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {cmd}"))
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// Skip (return true) with a printed reason when a client is missing.
pub fn skip_without(cmd: &str) -> bool {
    if have(cmd) {
        return false;
    }
    eprintln!("SKIP: {cmd} is not installed (apt-get install libvirt-clients python3-libvirt)");
    true
}

pub fn virsh_uri(uri: &str, args: &[&str]) -> Out {
    Command::new("virsh")
        .arg("-c")
        .arg(uri)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run virsh")
        .into()
}

/// Run a python snippet with libvirt-python (Debian's /usr/bin/python3).
pub fn python(script: &str, args: &[&str]) -> Out {
    Command::new("/usr/bin/python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run python")
        .into()
}

pub fn python_available() -> bool {
    Command::new("/usr/bin/python3")
        .args(["-c", "import libvirt"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

// SPDX-License-Identifier: LGPL-2.1-or-later
//! The real clients (virsh, virt-admin, libvirt-python) and other
//! commands run to completion, each under a timeout guard so a hung
//! client fails its test instead of stalling the run.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::bin;

/// How long one client command may run before it is killed and its test
/// fails.
pub const CLIENT_WAIT: Duration = Duration::from_secs(300);

/// Debian's python3, the one with libvirt-python (python3-libvirt).
pub const PYTHON: &str = "/usr/bin/python3";

/// Runs `cmd` to completion (stdin null, stdout and stderr captured)
/// under the [`CLIENT_WAIT`] guard.
pub fn run_cmd(cmd: Command) -> Output {
    run_cmd_within(cmd, CLIENT_WAIT)
}

/// Runs `cmd` to completion (stdin null, stdout and stderr captured);
/// panics when it runs longer than `limit`, after killing it.
pub fn run_cmd_within(mut cmd: Command, limit: Duration) -> Output {
    let what = cmd.get_program().to_string_lossy().into_owned();
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("run {what}: {e}"));
    // Both pipes are drained while the command runs, so a chatty one
    // cannot block on a full pipe.
    let drain = |r: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut r) = r {
                let _ = r.read_to_end(&mut buf);
            }
            buf
        })
    };
    let out = drain(
        child
            .stdout
            .take()
            .map(|r| Box::new(r) as Box<dyn Read + Send>),
    );
    let err = drain(
        child
            .stderr
            .take()
            .map(|r| Box::new(r) as Box<dyn Read + Send>),
    );
    let start = Instant::now();
    let mut pause = Duration::from_millis(1);
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break st,
            Ok(None) if start.elapsed() > limit => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{what} ran longer than {limit:?} and was killed");
            }
            Ok(None) => {}
            Err(e) => panic!("wait for {what}: {e}"),
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    }
}

/// Runs daemon binary `name` to completion (for --version, bad options,
/// ...).
pub fn run(name: &str, args: &[&str]) -> Output {
    let mut c = Command::new(bin(name));
    c.args(args);
    run_cmd(c)
}

/// Runs `virsh [-r] -c URI args...`.
pub fn virsh(uri: &str, readonly: bool, args: &[&str]) -> Output {
    let mut c = Command::new("virsh");
    if readonly {
        c.arg("-r");
    }
    c.arg("-c").arg(uri).args(args);
    run_cmd(c)
}

/// Runs `virsh -c URI args...`.
pub fn virsh_uri(uri: &str, args: &[&str]) -> Out {
    virsh(uri, false, args).into()
}

/// Runs `virt-admin -c URI args...` against an admin socket.
pub fn virt_admin(sock: &Path, args: &[&str]) -> Output {
    let mut c = Command::new("virt-admin");
    c.arg("-c")
        .arg(format!("libvirtd+unix:///system?socket={}", sock.display()))
        .args(args);
    run_cmd(c)
}

/// Runs a python snippet with libvirt-python ([`PYTHON`]); `args` are its
/// `sys.argv[1:]`.
pub fn python(script: &str, args: &[&str]) -> Out {
    let mut c = Command::new(PYTHON);
    c.arg("-c").arg(script).args(args);
    run_cmd(c).into()
}

/// Whether [`PYTHON`] can import libvirt.
pub fn python_available() -> bool {
    Command::new(PYTHON)
        .args(["-c", "import libvirt"])
        .stdin(Stdio::null())
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
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
            stdout: text(&o.stdout),
            stderr: text(&o.stderr),
        }
    }
}

impl Out {
    /// Asserts success and returns stdout.
    #[track_caller]
    pub fn success(self) -> String {
        assert!(self.ok, "command failed: {}", self.stderr);
        self.stdout
    }

    /// Asserts failure and returns stderr.
    #[track_caller]
    pub fn failure(self) -> String {
        assert!(!self.ok, "command unexpectedly succeeded: {}", self.stdout);
        self.stderr
    }
}

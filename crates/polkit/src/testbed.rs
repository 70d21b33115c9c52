// SPDX-License-Identifier: LGPL-2.1-or-later
//! A real polkitd on a private system bus, for tests (feature `testbed`).
//!
//! [`PolkitBus::start`] runs `dbus-daemon` as a system bus listening on a
//! socket in a fresh temporary directory, then Debian's polkitd attached to
//! it. polkitd runs in a mount namespace of its own (`unshare -m`) where
//! three directories are replaced by bind mounts of temporary ones:
//!
//! - `/etc/polkit-1/rules.d` holds only the test's JavaScript rules;
//! - `/usr/share/polkit-1/rules.d` is empty (no distribution rules);
//! - `/usr/share/polkit-1/actions` holds only the project's
//!   `data/polkit/org.libvirt.unix.policy` ([`POLICY`]).
//!
//! So the verdicts come from the test's rules alone, and neither the host's
//! system bus nor its polkit configuration is touched. Needs root (mount
//! namespaces; polkitd itself switches to the `polkitd` user). Call
//! [`unavailable`] first and skip when it returns a reason.
//!
//! Everything started is killed, and the directory removed, when the
//! [`PolkitBus`] (or [`SubjectProcess`]) is dropped, panics included.
//!
//! Using it from another crate's tests:
//!
//! ```toml
//! [dev-dependencies]
//! polkit = { path = "../polkit", features = ["testbed"] }
//! ```
//!
//! ```no_run
//! use polkit::testbed::{self, PolkitBus};
//!
//! if let Some(why) = testbed::unavailable() {
//!     eprintln!("SKIP: {why}");
//!     return;
//! }
//! let bus = PolkitBus::start(testbed::RULES_NOBODY_MANAGES).unwrap();
//! // A daemon started with this variable asks this polkitd:
//! let env = ("DBUS_SYSTEM_BUS_ADDRESS", bus.address().to_string());
//! # let _ = env;
//! ```

use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The project's policy file, installed as the only action definitions.
pub const POLICY: &str = include_str!("../../../data/polkit/org.libvirt.unix.policy");

/// The polkit daemon Debian installs (package `polkitd`).
pub const POLKITD: &str = "/usr/lib/polkit-1/polkitd";
/// The reference bus daemon (package `dbus-daemon`).
pub const DBUS_DAEMON: &str = "/usr/bin/dbus-daemon";

/// Rules for the common case: user `nobody` (uid 65534) may manage, any
/// other non-root user may not; everyone may monitor. Pair with
/// [`SubjectProcess::spawn`]`(65534, 65534)` for "allowed" and e.g.
/// `(1, 1)` (`daemon`) for "denied".
pub const RULES_NOBODY_MANAGES: &str = r#"
polkit.addRule(function(action, subject) {
    if (action.id == "org.libvirt.unix.monitor") {
        return polkit.Result.YES;
    }
    if (action.id == "org.libvirt.unix.manage") {
        return subject.user == "nobody" ? polkit.Result.YES : polkit.Result.NO;
    }
});
"#;

const BUS_NAME: &str = "org.freedesktop.PolicyKit1";
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// Why the testbed cannot run here, or `None` when it can: not root, a
/// binary or the `polkitd` user missing, or a directory it must cover
/// absent. Tests print `SKIP: <reason>` and return.
pub fn unavailable() -> Option<String> {
    if !is_root() {
        return Some("polkit testbed needs root (mount namespace for polkitd)".into());
    }
    for (bin, pkg) in [
        (POLKITD, "polkitd"),
        (DBUS_DAEMON, "dbus-daemon"),
        ("/usr/bin/unshare", "util-linux"),
        ("/usr/bin/setpriv", "util-linux"),
    ] {
        if !Path::new(bin).exists() {
            return Some(format!("{bin} is not installed (apt-get install {pkg})"));
        }
    }
    for dir in [
        "/etc/polkit-1/rules.d",
        "/usr/share/polkit-1/rules.d",
        "/usr/share/polkit-1/actions",
    ] {
        if !Path::new(dir).is_dir() {
            return Some(format!("{dir} is missing (polkitd not fully installed)"));
        }
    }
    if !user_exists("polkitd") {
        return Some("the polkitd user does not exist (polkitd not configured)".into());
    }
    None
}

fn is_root() -> bool {
    // The effective uid, read without libc: this crate forbids unsafe.
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|ids| ids.split_whitespace().nth(1).map(|e| e == "0"))
        })
        .unwrap_or(false)
}

fn user_exists(name: &str) -> bool {
    Command::new("getent")
        .args(["passwd", name])
        .stdout(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// A private system bus, with or without polkitd on it. Dropping it kills
/// both daemons and removes its directory.
pub struct PolkitBus {
    dir: PathBuf,
    address: String,
    bus: Option<Child>,
    polkitd: Option<Child>,
}

impl PolkitBus {
    /// Start a private system bus and polkitd on it, with `rules` (polkit
    /// JavaScript, e.g. [`RULES_NOBODY_MANAGES`]) as its only rules file and
    /// [`POLICY`] as its only actions. Returns once polkitd owns its bus
    /// name, so the first question is answered by it. The error says what
    /// failed and includes polkitd's output.
    pub fn start(rules: &str) -> std::io::Result<PolkitBus> {
        let mut pb = PolkitBus::start_without_polkitd()?;
        pb.start_polkitd(rules)?;
        Ok(pb)
    }

    /// Start only the private system bus: questions to polkit on it fail
    /// because nobody owns `org.freedesktop.PolicyKit1` (the "polkit is not
    /// running" case).
    pub fn start_without_polkitd() -> std::io::Result<PolkitBus> {
        let dir = make_temp_dir()?;
        // From here on, Drop cleans up whatever was started.
        let mut pb = PolkitBus {
            dir,
            address: String::new(),
            bus: None,
            polkitd: None,
        };
        pb.start_bus()?;
        Ok(pb)
    }

    /// The bus's D-Bus address (`unix:path=...`): the value for
    /// `DBUS_SYSTEM_BUS_ADDRESS`, or for [`crate::check_auth_on_bus`].
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The temporary directory holding the bus socket, configuration,
    /// `dbus-daemon.log` and `polkitd.log`.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// What polkitd has printed so far (empty with `--no-debug` unless it
    /// complained); for failure messages.
    pub fn polkitd_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("polkitd.log")).unwrap_or_default()
    }

    fn start_bus(&mut self) -> std::io::Result<()> {
        let socket = self.dir.join("system_bus_socket");
        let config = self.dir.join("system.conf");
        let mut xml = String::new();
        let _ = write!(
            xml,
            r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_type="method_return"/>
    <allow send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="signal"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
  </policy>
</busconfig>
"#,
            socket.display()
        );
        write_file(&config, &xml, 0o644)?;

        let log = std::fs::File::create(self.dir.join("dbus-daemon.log"))?;
        let mut child = Command::new(DBUS_DAEMON)
            .arg(format!("--config-file={}", config.display()))
            .args(["--nofork", "--nopidfile", "--print-address"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .map_err(|e| annotate(e, "cannot run dbus-daemon"))?;
        let stdout = child.stdout.take();
        self.bus = Some(child);

        // dbus-daemon prints its address once it listens; read it on a
        // thread so a daemon that hangs cannot hang the test.
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            if let Some(out) = stdout {
                let _ = BufReader::new(out).read_line(&mut line);
            }
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(START_TIMEOUT).unwrap_or_default();
        let address = line.trim();
        if address.is_empty() {
            if let Some(bus) = self.bus.as_mut() {
                let _ = bus.kill();
                let _ = bus.wait();
            }
            let err = std::fs::read_to_string(self.dir.join("dbus-daemon.log")).unwrap_or_default();
            return Err(std::io::Error::other(format!(
                "dbus-daemon did not start: {}",
                err.trim()
            )));
        }
        // The address dbus-daemon prints carries a guid; the plain path is
        // what a daemon would be configured with, and works the same.
        self.address = format!("unix:path={}", socket.display());
        Ok(())
    }

    fn start_polkitd(&mut self, rules: &str) -> std::io::Result<()> {
        let etc_rules = self.dir.join("etc-rules.d");
        let usr_rules = self.dir.join("usr-rules.d");
        let actions = self.dir.join("actions");
        for d in [&etc_rules, &usr_rules, &actions] {
            std::fs::create_dir(d)?;
            std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755))?;
        }
        write_file(&etc_rules.join("50-testbed.rules"), rules, 0o644)?;
        write_file(&actions.join("org.libvirt.unix.policy"), POLICY, 0o644)?;
        let log = std::fs::File::create(self.dir.join("polkitd.log"))?;

        // unshare(1) makes the new mount namespace's propagation private,
        // so none of these mounts is seen outside, and they vanish with
        // polkitd.
        let script = r#"set -e
mount --bind "$1" /etc/polkit-1/rules.d
mount --bind "$2" /usr/share/polkit-1/rules.d
mount --bind "$3" /usr/share/polkit-1/actions
exec "$4" --no-debug"#;
        let child = Command::new("/usr/bin/unshare")
            .args(["--mount", "--propagation", "private", "--", "/bin/sh", "-c"])
            .arg(script)
            .arg("sh")
            .arg(&etc_rules)
            .arg(&usr_rules)
            .arg(&actions)
            .arg(POLKITD)
            .env("DBUS_SYSTEM_BUS_ADDRESS", &self.address)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .map_err(|e| annotate(e, "cannot run unshare for polkitd"))?;
        self.polkitd = Some(child);

        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(p) = self.polkitd.as_mut() {
                if let Ok(Some(status)) = p.try_wait() {
                    return Err(std::io::Error::other(format!(
                        "polkitd exited ({status}) before taking its bus name: {}",
                        self.polkitd_log().trim()
                    )));
                }
            }
            match name_has_owner(&self.address, BUS_NAME) {
                Ok(true) => return Ok(()),
                Ok(false) => {}
                Err(e) if Instant::now() >= deadline => {
                    return Err(std::io::Error::other(format!(
                        "cannot ask the private bus about polkitd: {e}"
                    )))
                }
                Err(_) => {}
            }
            if Instant::now() >= deadline {
                return Err(std::io::Error::other(format!(
                    "polkitd did not take its bus name within {START_TIMEOUT:?}: {}",
                    self.polkitd_log().trim()
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for PolkitBus {
    fn drop(&mut self) {
        // polkitd first, while its bus is still there to say goodbye to.
        for child in [self.polkitd.as_mut(), self.bus.as_mut()]
            .into_iter()
            .flatten()
        {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A `sleep` running as a given uid and gid: a process for polkit to judge.
/// Killed on drop.
pub struct SubjectProcess {
    child: Child,
    subject: crate::Subject,
}

impl SubjectProcess {
    /// Start `sleep` as `uid`:`gid` with no supplementary groups (through
    /// `setpriv`), and return once it runs as that user, with its pid and
    /// start time known.
    pub fn spawn(uid: u32, gid: u32) -> std::io::Result<SubjectProcess> {
        let child = Command::new("/usr/bin/setpriv")
            .arg(format!("--reuid={uid}"))
            .arg(format!("--regid={gid}"))
            .args(["--clear-groups", "--", "sleep", "600"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| annotate(e, "cannot run setpriv"))?;
        let pid = i32::try_from(child.id()).map_err(std::io::Error::other)?;
        let mut sp = SubjectProcess {
            child,
            subject: crate::Subject {
                pid,
                start_time: 0,
                uid,
            },
        };
        // setpriv changes ids and then execs sleep; once the command name
        // is "sleep" the process is in its final shape.
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            if comm.trim() == "sleep" {
                break;
            }
            if let Ok(Some(status)) = sp.child.try_wait() {
                return Err(std::io::Error::other(format!(
                    "setpriv --reuid={uid} sleep exited early ({status})"
                )));
            }
            if Instant::now() >= deadline {
                return Err(std::io::Error::other("setpriv did not exec sleep in time"));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        sp.subject.start_time = crate::process_start_time(pid)
            .ok_or_else(|| std::io::Error::other(format!("no start time for pid {pid}")))?;
        Ok(sp)
    }

    /// The polkit subject for this process.
    pub fn subject(&self) -> crate::Subject {
        self.subject
    }
}

impl Drop for SubjectProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn name_has_owner(address: &str, name: &str) -> zbus::Result<bool> {
    let conn = zbus::blocking::connection::Builder::address(address)?.build()?;
    let reply = conn.call_method(
        Some("org.freedesktop.DBus"),
        "/org/freedesktop/DBus",
        Some("org.freedesktop.DBus"),
        "NameHasOwner",
        &(name,),
    )?;
    reply.body().deserialize::<bool>()
}

fn make_temp_dir() -> std::io::Result<PathBuf> {
    static SEQ: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!(
        "polkit-testbed-{}-{}-{nanos}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir(&dir)?;
    // polkitd reads the rules and actions as the polkitd user.
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755))?;
    Ok(dir)
}

fn write_file(path: &Path, text: &str, mode: u32) -> std::io::Result<()> {
    std::fs::write(path, text)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

fn annotate(e: std::io::Error, what: &str) -> std::io::Error {
    std::io::Error::new(e.kind(), format!("{what}: {e}"))
}

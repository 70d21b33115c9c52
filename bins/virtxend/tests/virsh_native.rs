// SPDX-License-Identifier: LGPL-2.1-or-later
//! virtxend as a process on a host that is not a Xen dom0, driven by the
//! real virsh: native config conversions work against the libvirt
//! corpus in both directions, guest operations fail with libvirt's
//! "libxenlight state driver is not active", and the daemon logs why the
//! driver is inactive. Needs root (virtxend refuses to run otherwise) and
//! virsh; each test says why it skips.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use test_support::{have, is_root, run_cmd, Spec, TempDir};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/conformance/libvirt-9.6/xlconfigdata")
}

fn skip_reason() -> Option<String> {
    if !is_root() {
        return Some("virtxend must run as root".into());
    }
    if !have("virsh") {
        return Some("virsh (libvirt-clients) is not installed".into());
    }
    if !corpus().is_dir() {
        return Some(format!("corpus {} is missing", corpus().display()));
    }
    if Path::new("/proc/xen/capabilities").exists() || Path::new("/dev/xen/xenstored").exists() {
        return Some("this host runs Xen; the inactive-driver checks do not apply".into());
    }
    None
}

macro_rules! skip_unless_ready {
    () => {
        test_support::skip_if!(skip_reason())
    };
}

/// virtxend on a private directory tree (LIBVIRT_RS_ROOT_PREFIX).
struct Daemon {
    process: test_support::Daemon,
    sock: PathBuf,
    _dir: TempDir,
}

impl Daemon {
    fn start() -> Daemon {
        let dir = TempDir::new("virtxend");
        let conf = dir.join("virtxend.conf");
        std::fs::write(
            &conf,
            format!(
                "unix_sock_dir = \"{}\"\nauth_unix_rw = \"none\"\nauth_unix_ro = \"none\"\n",
                dir.join("run").display()
            ),
        )
        .expect("write config");
        let spec = Spec::with_conf(
            env!("CARGO_BIN_EXE_virtxend"),
            &dir,
            &conf,
            &dir.join("virtxend.pid"),
            dir.path(),
            dir.join("run/virtxend-sock"),
        );
        Daemon {
            process: spec.start(),
            sock: spec.ready,
            _dir: dir,
        }
    }

    fn uri(&self) -> String {
        format!("xen+unix:///system?socket={}", self.sock.display())
    }

    fn log(&self) -> String {
        self.process.stderr_text()
    }

    fn virsh(&self, args: &[&str]) -> Output {
        let mut c = Command::new("virsh");
        c.arg("-q")
            .arg("-c")
            .arg(self.uri())
            .args(args)
            .env("LIBVIRT_DEFAULT_URI", self.uri());
        run_cmd(c)
    }
}

fn stdout(o: &Output) -> String {
    assert!(
        o.status.success(),
        "virsh failed: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Cases the corpus checks in both directions (xlconfig manifest
/// `parse+format`), a PV and an HVM guest among them.
const CASES: [&str; 4] = [
    "paravirt-cmdline",
    "paravirt-maxvcpus",
    "fullvirt-ovswitch-tagged",
    "new-disk",
];

#[test]
fn domxml_from_native_xen_xl_matches_corpus_xml() {
    skip_unless_ready!();
    let d = Daemon::start();
    for case in CASES {
        let cfg = corpus().join(format!("test-{case}.cfg"));
        let want = std::fs::read_to_string(corpus().join(format!("test-{case}.xml"))).unwrap();
        let got = stdout(&d.virsh(&["domxml-from-native", "xen-xl", cfg.to_str().unwrap()]));
        assert_eq!(got.trim_end(), want.trim_end(), "case {case}");
    }
}

#[test]
fn domxml_to_native_xen_xl_matches_corpus_cfg() {
    skip_unless_ready!();
    let d = Daemon::start();
    for case in CASES {
        let xml = corpus().join(format!("test-{case}.xml"));
        let want = std::fs::read_to_string(corpus().join(format!("test-{case}.cfg"))).unwrap();
        let got = stdout(&d.virsh(&["domxml-to-native", "xen-xl", xml.to_str().unwrap()]));
        assert_eq!(got.trim_end(), want.trim_end(), "case {case}");
    }
}

#[test]
fn unknown_native_format_is_refused() {
    skip_unless_ready!();
    let d = Daemon::start();
    let cfg = corpus().join("test-paravirt-cmdline.cfg");
    let o = d.virsh(&["domxml-from-native", "xen-bogus", cfg.to_str().unwrap()]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("unsupported config type xen-bogus"), "{err}");
}

#[test]
fn guest_operations_say_the_driver_is_inactive_and_the_log_says_why() {
    skip_unless_ready!();
    let d = Daemon::start();
    // What needs no hypervisor still works.
    let caps = stdout(&d.virsh(&["capabilities"]));
    assert!(caps.contains("<os_type>xen</os_type>"), "{caps}");
    assert!(caps.contains("<os_type>hvm</os_type>"), "{caps}");
    let host = stdout(&d.virsh(&["hostname"]));
    assert!(!host.trim().is_empty());
    for args in [
        &["list", "--all"][..],
        &["restore", "/dev/null"][..],
        &["define", "/dev/null"][..],
        &["nodeinfo"][..],
    ] {
        let o = d.virsh(args);
        assert!(!o.status.success(), "{args:?} succeeded");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("libxenlight state driver is not active"),
            "{args:?}: {err}"
        );
    }
    let log = d.log();
    assert!(
        log.contains("libxl driver inactive")
            && (log.contains("neither /proc/xen/capabilities nor /dev/xen/xenstored exist")
                || log.contains("disabling libxenlight driver")),
        "daemon log does not say why the driver is inactive: {log}"
    );
}

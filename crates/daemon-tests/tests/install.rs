// SPDX-License-Identifier: LGPL-2.1-or-later
//! scripts/install.sh: installing into a directory puts every file where
//! Debian's libvirt puts its own, with the right modes; the installed
//! daemon starts on the installed configuration; a changed configuration
//! survives a reinstall and an uninstall, which removes everything else;
//! the Debian package holds the same files and marks the configurations
//! as conffiles.

#![forbid(unsafe_code)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use test_support::*;

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/install.sh")
}

fn run_script(args: &[&str]) -> Out {
    let mut c = Command::new("bash");
    c.arg(script()).args(args);
    run_cmd(c).into()
}

fn files_under(root: &Path) -> Vec<String> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, root, out);
            } else {
                out.push(p.strip_prefix(root).unwrap_or(&p).display().to_string());
            }
        }
    }
    let mut v = Vec::new();
    walk(root, root, &mut v);
    v.sort();
    v
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o7777
}

#[test]
fn install_start_reinstall_and_uninstall_into_a_directory() {
    let bins = target_dir();
    if !bins.join("libvirtd").exists() || !bins.join("libvirt_lxc").exists() {
        skip("the daemons are not built (cargo build --bins)");
        return;
    }
    let t = TempDir::new("install");
    let dest = t.join("dest");
    let (d, b) = (
        dest.to_string_lossy().into_owned(),
        bins.to_string_lossy().into_owned(),
    );
    let out = run_script(&["install", "--destdir", &d, "--bin-dir", &b]);
    assert!(out.ok, "{}", out.stderr);
    let files = files_under(&dest);
    for f in [
        "usr/sbin/libvirtd",
        "usr/sbin/virtlxcd",
        "usr/sbin/virtxend",
        "usr/sbin/virtvzd",
        "usr/sbin/virtnetworkd",
        "usr/sbin/virtsecretd",
        "lib/systemd/system/virtsecretd-ro.socket",
        "etc/libvirt/virtsecretd.conf",
        "usr/share/man/man8/virtsecretd.8.gz",
        "usr/sbin/virtstoraged",
        "lib/systemd/system/virtstoraged-ro.socket",
        "etc/libvirt/virtstoraged.conf",
        "usr/share/man/man8/virtstoraged.8.gz",
        "usr/sbin/virtqemud",
        "lib/systemd/system/virtqemud.service",
        "etc/libvirt/virtqemud.conf",
        "etc/libvirt/qemu.conf",
        "usr/share/man/man8/virtqemud.8.gz",
        "usr/sbin/virtnodedevd",
        "lib/systemd/system/virtnodedevd.socket",
        "etc/libvirt/virtnodedevd.conf",
        "usr/share/man/man8/virtnodedevd.8.gz",
        "usr/sbin/virtinterfaced",
        "lib/systemd/system/virtinterfaced.socket",
        "etc/libvirt/virtinterfaced.conf",
        "usr/share/man/man8/virtinterfaced.8.gz",
        "usr/sbin/virtproxyd",
        "usr/lib/libvirt/libvirt_lxc",
        "usr/lib/libvirt/libvirt_leaseshelper",
        "lib/systemd/system/libvirtd.service",
        "lib/systemd/system/libvirtd-tls.socket",
        "lib/systemd/system/virtproxyd-tcp.socket",
        "etc/libvirt/libvirtd.conf",
        "etc/libvirt/virtlxcd.conf",
        "etc/libvirt/lxc.conf",
        "etc/libvirt/libxl.conf",
        "etc/libvirt/network.conf",
        "lib/systemd/system/virtnetworkd-ro.socket",
        "usr/share/man/man8/libvirtd.8.gz",
        "usr/share/polkit-1/actions/org.libvirt.unix.policy",
    ] {
        assert!(
            files.contains(&f.to_string()),
            "{f} not installed: {files:?}"
        );
    }
    assert_eq!(mode(&dest.join("usr/sbin/libvirtd")), 0o755);
    assert_eq!(mode(&dest.join("etc/libvirt/libvirtd.conf")), 0o644);

    // The installed daemon runs on the installed configuration.
    let root = t.join("root");
    let conf = dest.join("etc/libvirt/virtvzd.conf");
    let spec = Spec::with_conf(
        dest.join("usr/sbin/virtvzd"),
        &t,
        &conf,
        &t.join("vz.pid"),
        &root,
        root.join("run/libvirt/virtvzd-sock"),
    );
    let mut daemon = spec.start();
    assert!(daemon.running());
    daemon.stop(std::time::Duration::from_secs(10));

    // A changed configuration is kept; the shipped one goes beside it.
    let changed = "max_clients = 7\n";
    std::fs::write(dest.join("etc/libvirt/libvirtd.conf"), changed).expect("edit");
    let out = run_script(&["install", "--destdir", &d, "--bin-dir", &b]);
    assert!(out.ok, "{}", out.stderr);
    let kept = std::fs::read_to_string(dest.join("etc/libvirt/libvirtd.conf")).expect("conf");
    assert_eq!(kept, changed);
    assert!(dest.join("etc/libvirt/libvirtd.conf.dist").exists());

    let out = run_script(&["uninstall", "--destdir", &d]);
    assert!(out.ok, "{}", out.stderr);
    assert_eq!(
        files_under(&dest),
        vec!["etc/libvirt/libvirtd.conf".to_string()]
    );
}

#[test]
fn debian_package_holds_the_files_and_conffiles() {
    let bins = target_dir();
    if !bins.join("libvirtd").exists() || !bins.join("libvirt_lxc").exists() {
        skip("the daemons are not built (cargo build --bins)");
        return;
    }
    if !have("dpkg-deb") {
        skip("dpkg-deb is not installed");
        return;
    }
    let t = TempDir::new("deb");
    let (o, b) = (
        t.path().to_string_lossy().into_owned(),
        bins.to_string_lossy().into_owned(),
    );
    // Uncompressed: debug binaries are large and xz is slow.
    let out = run_script(&["deb", "--bin-dir", &b, "--out", &o, "--compression", "none"]);
    assert!(out.ok, "{}", out.stderr);
    let deb = out.stdout.trim().to_string();
    assert!(deb.ends_with(".deb"), "{deb}");
    let mut c = Command::new("dpkg-deb");
    c.args(["-c", &deb]);
    let list: Out = run_cmd(c).into();
    for f in [
        "./usr/sbin/libvirtd",
        "./usr/lib/libvirt/libvirt_lxc",
        "./lib/systemd/system/virtlxcd.socket",
    ] {
        assert!(
            list.stdout.contains(f),
            "{f} not in the package:\n{}",
            list.stdout
        );
    }
    assert!(!list.stdout.contains("installed-files"), "{}", list.stdout);
    let mut c = Command::new("dpkg-deb");
    c.args(["-I", &deb, "conffiles"]);
    let conffiles: Out = run_cmd(c).into();
    assert!(
        conffiles.stdout.contains("/etc/libvirt/libvirtd.conf"),
        "{}",
        conffiles.stdout
    );
    let mut c = Command::new("dpkg-deb");
    c.args(["-f", &deb, "Package", "Conflicts"]);
    let fields: Out = run_cmd(c).into();
    assert!(
        fields.stdout.contains("libvirt-daemons-rs"),
        "{}",
        fields.stdout
    );
    assert!(
        fields.stdout.contains("Conflicts: libvirt-daemon"),
        "{}",
        fields.stdout
    );
}

// SPDX-License-Identifier: LGPL-2.1-or-later
//! Devices of QEMU domains driven by the real virsh: persistent
//! (`--config`) attach, detach and update of disks and NICs on an
//! inactive domain, compared step by step with Debian's C libvirtd
//! (outputs, errors and the resulting definition).
//!
//! Run: `cargo build --bins && cargo test -p driver-qemu --test devices_e2e`.

use std::path::Path;

use test_support::*;

const UUID: &str = "0f4c3a52-8d47-4f4b-9a0e-3c1d2b6a7e11";

/// An inactive domain with one virtio disk.
fn domain_xml(disk: &Path) -> String {
    format!(
        "<domain type='qemu'>\n  <name>devs</name>\n  <uuid>{UUID}</uuid>\n  \
         <memory unit='MiB'>128</memory>\n  <vcpu>1</vcpu>\n  \
         <os><type arch='x86_64' machine='pc'>hvm</type></os>\n  <devices>\n    \
         <emulator>{QEMU}</emulator>\n    <disk type='file' device='disk'>\n      \
         <driver name='qemu' type='qcow2'/>\n      <source file='{}'/>\n      \
         <target dev='vda' bus='virtio'/>\n    </disk>\n  </devices>\n</domain>\n",
        disk.display()
    )
}

fn qemu_img_create(path: &Path, fmt: &str, size: &str) {
    let out = std::process::Command::new("qemu-img")
        .args(["create", "-q", "-f", fmt])
        .arg(path)
        .arg(size)
        .output()
        .unwrap_or_else(|e| panic!("qemu-img: {e}"));
    assert!(out.status.success(), "{}", text(&out.stderr));
}

/// Runs `args` on both daemons: same success, same output and error.
fn same(ours: &str, theirs: &str, args: &[&str]) -> Out {
    let o = virsh_uri(ours, args);
    let c = virsh_uri(theirs, args);
    assert_eq!(
        (o.ok, &o.stderr),
        (c.ok, &c.stderr),
        "{args:?}: ours {} / C {}",
        o.stdout,
        c.stdout
    );
    assert_eq!(o.stdout, c.stdout, "{args:?}");
    o
}

/// [`same`] for a call that must succeed.
fn same_ok(ours: &str, theirs: &str, args: &[&str]) -> Out {
    let o = same(ours, theirs, args);
    assert!(o.ok, "{args:?}: {}", o.stderr);
    o
}

/// The persistent definitions of both daemons are the same.
fn same_config(ours: &str, theirs: &str, what: &str) -> String {
    let args = ["dumpxml", "--inactive", "devs"];
    let o = virsh_uri(ours, &args);
    let c = virsh_uri(theirs, &args);
    assert!(o.ok && c.ok, "{what}: {} / {}", o.stderr, c.stderr);
    assert_eq!(o.stdout, c.stdout, "{what}");
    o.stdout
}

#[test]
fn config_attach_detach_and_update_match_c_libvirtd() {
    skip_if!(qemu_cant_run());
    if !is_root() {
        return skip("the C libvirtd reference runs as root");
    }
    let t = TempDir::new("qemu-devcfg");
    let Some((_c, c_sock)) = start_c_libvirtd(&t, &["qemu"]) else {
        return;
    };
    let (_d, uri) = start_virtqemud(&t);
    let c_uri = format!("qemu:///system?socket={}", c_sock.display());
    let vda = t.join("vda.qcow2");
    let vdb = t.join("vdb.qcow2");
    let iso = t.join("cd.iso");
    qemu_img_create(&vda, "qcow2", "16M");
    qemu_img_create(&vdb, "qcow2", "16M");
    std::fs::write(&iso, vec![0u8; 2048 * 16]).unwrap_or_else(|e| panic!("{e}"));
    let xml = t.join("devs.xml");
    std::fs::write(&xml, domain_xml(&vda)).unwrap_or_else(|e| panic!("{e}"));
    let x = xml.display().to_string();
    same_ok(&uri, &c_uri, &["define", &x]);
    same_config(&uri, &c_uri, "defined");

    let (vdb_s, iso_s) = (vdb.display().to_string(), iso.display().to_string());
    // A virtio disk: bus from its name, a PCI slot assigned.
    same_ok(
        &uri,
        &c_uri,
        &[
            "attach-disk",
            "devs",
            &vdb_s,
            "vdb",
            "--subdriver",
            "qcow2",
            "--config",
        ],
    );
    let cfg = same_config(&uri, &c_uri, "vdb attached");
    assert!(cfg.contains("<target dev='vdb' bus='virtio'/>"), "{cfg}");
    // The same target again is refused.
    let o = same(
        &uri,
        &c_uri,
        &["attach-disk", "devs", &vdb_s, "vdb", "--config"],
    );
    assert!(
        o.stderr.contains("target vdb already exists"),
        "{}",
        o.stderr
    );
    // An IDE CD-ROM (a controller address), current = config when off.
    same_ok(
        &uri,
        &c_uri,
        &[
            "attach-disk",
            "devs",
            &iso_s,
            "hdc",
            "--type",
            "cdrom",
            "--mode",
            "readonly",
            "--current",
        ],
    );
    same_config(&uri, &c_uri, "cdrom attached");
    // Its medium changed and ejected in the definition.
    same_ok(
        &uri,
        &c_uri,
        &["change-media", "devs", "hdc", "--eject", "--config"],
    );
    same_config(&uri, &c_uri, "cdrom ejected");
    same_ok(
        &uri,
        &c_uri,
        &[
            "change-media",
            "devs",
            "hdc",
            &iso_s,
            "--insert",
            "--config",
        ],
    );
    same_config(&uri, &c_uri, "cdrom inserted");
    // NICs: on a network and a bridge (neither needs to exist for the
    // definition), with MACs given, virtio and the default model.
    same_ok(
        &uri,
        &c_uri,
        &[
            "attach-interface",
            "devs",
            "--type",
            "network",
            "--source",
            "default",
            "--mac",
            "52:54:00:12:34:56",
            "--model",
            "virtio",
            "--config",
        ],
    );
    same_ok(
        &uri,
        &c_uri,
        &[
            "attach-interface",
            "devs",
            "bridge",
            "br-none",
            "--mac",
            "52:54:00:12:34:57",
            "--config",
        ],
    );
    let cfg = same_config(&uri, &c_uri, "nics attached");
    assert!(cfg.contains("52:54:00:12:34:57"), "{cfg}");
    // Live changes of an inactive domain are refused.
    let o = same(
        &uri,
        &c_uri,
        &["attach-disk", "devs", &vdb_s, "vdc", "--live"],
    );
    assert!(o.stderr.contains("domain is not running"), "{}", o.stderr);
    // Devices that cannot be added persistently, and unknown ones.
    let dev = t.join("dev.xml");
    let d = dev.display().to_string();
    for (body, want) in [
        (
            "<video><model type='virtio' heads='1'/></video>",
            "persistent attach of device 'video' is not supported",
        ),
        ("<bogus/>", "unknown device type 'bogus'"),
        ("<disk", ""),
    ] {
        std::fs::write(&dev, body).unwrap_or_else(|e| panic!("{e}"));
        let o = same(&uri, &c_uri, &["attach-device", "devs", &d, "--config"]);
        assert!(!o.ok);
        assert!(o.stderr.contains(want), "{}", o.stderr);
    }
    // Detaching: by target, by MAC; what is not there.
    same_ok(&uri, &c_uri, &["detach-disk", "devs", "vdb", "--config"]);
    same_config(&uri, &c_uri, "vdb detached");
    let o = same(&uri, &c_uri, &["detach-disk", "devs", "vdz", "--config"]);
    assert!(!o.ok);
    same_ok(
        &uri,
        &c_uri,
        &[
            "detach-interface",
            "devs",
            "network",
            "--mac",
            "52:54:00:12:34:56",
            "--config",
        ],
    );
    same_config(&uri, &c_uri, "nic detached");
    std::fs::write(
        &dev,
        "<interface type='user'><mac address='52:54:00:99:99:99'/></interface>",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let o = same(&uri, &c_uri, &["detach-device", "devs", &d, "--config"]);
    assert!(
        o.stderr
            .contains("matching MAC address '52:54:00:99:99:99'"),
        "{}",
        o.stderr
    );
    // The definition on disk is the one reported.
    let file = t.join("root/etc/libvirt/qemu/devs.xml");
    let saved = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        saved.contains("52:54:00:12:34:57") && !saved.contains("vdb"),
        "{saved}"
    );
    same_ok(&uri, &c_uri, &["undefine", "devs"]);
}

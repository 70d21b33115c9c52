// SPDX-License-Identifier: LGPL-2.1-or-later
//! Devices and snapshots of QEMU domains driven by the real virsh:
//! persistent (`--config`) attach, detach and update of disks and NICs on
//! an inactive domain, compared step by step with Debian's C libvirtd
//! (outputs, errors and the resulting definition); disks, a NIC and
//! CD-ROM media changed in a running test guest, seen from its shell on
//! a console socket and in QEMU's open files, with the device-removed
//! event; internal and disk-only snapshots of a shut-off domain (data
//! checked with qemu-io and qemu-img, metadata across a daemon restart)
//! and of a running guest (its memory and disk brought back by a revert,
//! its writes going to the new overlay).
//!
//! Run: `cargo build --bins && cargo test -p driver-qemu --test devices_e2e`.

use std::path::Path;
use std::time::Duration;

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

/// The test guest with a virtio disk, an IDE CD-ROM holding `iso`, its
/// console (ttyS0) on a Unix socket the test types into, and ttyS1 into
/// the file `serial`.
fn guest_xml(g: &TestGuest, disk: &Path, iso: &Path, console: &Path, serial: &Path) -> String {
    format!(
        "<domain type='qemu'>\n  <name>hot</name>\n  <memory unit='MiB'>160</memory>\n  \
         <vcpu>1</vcpu>\n  {}\n  <features><acpi/></features>\n  <devices>\n    \
         <disk type='file' device='disk'>\n      <driver name='qemu' type='qcow2'/>\n      \
         <source file='{}'/>\n      <target dev='vda' bus='virtio'/>\n    </disk>\n    \
         <disk type='file' device='cdrom'>\n      <driver name='qemu' type='raw'/>\n      \
         <source file='{}'/>\n      <target dev='hdc' bus='ide'/>\n      <readonly/>\n    \
         </disk>\n    <serial type='unix'><source mode='bind' path='{}'/><target port='0'/></serial>\n    \
         <serial type='file'><source path='{}'/><target port='1'/></serial>\n  \
         </devices>\n</domain>\n",
        g.os_xml(),
        disk.display(),
        iso.display(),
        console.display(),
        serial.display()
    )
}

/// Defines the test guest "hot" of [`guest_xml`] (with `tweak` applied to
/// its XML) on `uri`, boots it, and opens its shell.
fn boot_hot(
    t: &TempDir,
    uri: &str,
    g: &TestGuest,
    (vda, iso): (&Path, &Path),
    tweak: impl Fn(String) -> String,
) -> GuestShell {
    let (console, serial) = (t.join("console.sock"), t.join("serial1.log"));
    define_xml(
        t,
        uri,
        "hot",
        &tweak(guest_xml(g, vda, iso, &console, &serial)),
    );
    start_and_boot(uri, "hot", &serial);
    GuestShell::open(&console)
}

/// A blank CD image of 16 sectors.
fn blank_iso(path: &Path) {
    std::fs::write(path, vec![0u8; 2048 * 16]).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn disks_are_hot_plugged_resized_and_unplugged_in_a_running_guest() {
    let Some(g) = linux_guest_or_skip() else {
        return;
    };
    let t = TempDir::new("qemu-hotplug");
    let _reaper = reaper(&t);
    let (_d, uri) = start_virtqemud(&t);
    let (vda, vdb) = (t.join("vda.qcow2"), t.join("vdb.qcow2"));
    qemu_img_create(&vda, "qcow2", "16M");
    qemu_img_create(&vdb, "qcow2", "16M");
    let (iso1, iso2) = (t.join("one.iso"), t.join("two.iso"));
    blank_iso(&iso1);
    blank_iso(&iso2);
    let mut con = boot_hot(&t, &uri, &g, (&vda, &iso1), |x| x);
    let ok = |args: &[&str]| {
        let o = virsh_uri(&uri, args);
        assert!(o.ok, "{args:?}: {}{}", o.stdout, o.stderr);
        o.stdout
    };
    let before = con.run("ls /sys/block");
    assert!(
        before.contains("vda") && !before.contains("vdb"),
        "{before}"
    );

    let events = std::process::Command::new("virsh")
        .args([
            "-c",
            &uri,
            "event",
            "hot",
            "device-removed",
            "--timeout",
            "90",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("virsh event: {e}"));
    std::thread::sleep(Duration::from_millis(500));

    // Attached live: QEMU gets the file, the guest a new virtio disk, the
    // live definition its alias; the persistent one is unchanged.
    let vdb_s = vdb.display().to_string();
    let out = ok(&["attach-disk", "hot", &vdb_s, "vdb", "--subdriver", "qcow2"]);
    assert!(out.contains("Disk attached successfully"), "{out}");
    let live = ok(&["dumpxml", "hot"]);
    assert!(live.contains("<alias name='virtio-disk1'/>"), "{live}");
    assert!(!ok(&["dumpxml", "--inactive", "hot"]).contains("vdb"));
    let seen = con.wait_for("ls /sys/block", "vdb", true);
    assert!(seen.contains("vdb"), "the guest has no vdb: {seen}");
    let blk = ok(&["domblklist", "hot"]);
    assert!(blk.contains(&vdb_s), "{blk}");
    // The same target twice is refused.
    let o = virsh_uri(&uri, &["attach-disk", "hot", &vdb_s, "vdb"]);
    assert!(
        !o.ok && o.stderr.contains("target vdb already exists"),
        "{}",
        o.stderr
    );

    // Data the guest writes lands in the image.
    con.run("echo hot-plugged-data > /dev/vdb; sync");
    // Resized while running: the guest sees 32 MiB (65536 sectors).
    ok(&["blockresize", "hot", "vdb", "32M"]);
    let size = con.wait_for("cat /sys/block/vdb/size", "65536", true);
    assert!(size.contains("65536"), "{size}");
    let o = virsh_uri(&uri, &["blockresize", "hot", "vdz", "32M"]);
    assert!(
        o.stderr
            .contains("disk 'vdz' was not found in the domain config"),
        "{}",
        o.stderr
    );

    // Detached: the guest lets go, QEMU reports it, the event follows.
    let out = ok(&["detach-disk", "hot", "vdb"]);
    assert!(out.contains("Disk detached successfully"), "{out}");
    assert!(eventually_within(Duration::from_secs(30), || !ok(&[
        "dumpxml", "hot"
    ])
    .contains("vdb")));
    let gone = con.wait_for("ls /sys/block", "vdb", false);
    assert!(!gone.contains("vdb"), "{gone}");
    let o = virsh_uri(&uri, &["detach-disk", "hot", "vdb"]);
    assert!(!o.ok, "detached twice");
    let ev = events.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    let ev = text(&ev.stdout);
    assert!(
        ev.contains("event 'device-removed' for domain 'hot': virtio-disk1"),
        "{ev}"
    );

    // A NIC: user networking, seen by the guest as eth0, then unplugged.
    let nic = t.join("nic.xml");
    std::fs::write(
        &nic,
        "<interface type='user'><mac address='52:54:00:4e:1c:01'/><model type='virtio'/></interface>",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let nic_s = nic.display().to_string();
    let out = ok(&["attach-device", "hot", &nic_s]);
    assert!(out.contains("Device attached successfully"), "{out}");
    let live = ok(&["dumpxml", "hot"]);
    assert!(live.contains("<alias name='net0'/>"), "{live}");
    let seen = con.wait_for("ls /sys/class/net", "eth0", true);
    assert!(seen.contains("eth0"), "the guest has no eth0: {seen}");
    ok(&["detach-device", "hot", &nic_s]);
    assert!(eventually_within(Duration::from_secs(30), || !ok(&[
        "dumpxml", "hot"
    ])
    .contains("52:54:00:4e:1c:01")));
    let gone = con.wait_for("ls /sys/class/net", "eth0", false);
    assert!(!gone.contains("eth0"), "{gone}");

    // CD-ROM media: QEMU's open files follow the changes.
    let pid = guest_pid(&t, "hot");
    let open = |p: &Path| {
        std::fs::read_dir(format!("/proc/{pid}/fd"))
            .map(|d| {
                d.flatten()
                    .any(|f| std::fs::read_link(f.path()).is_ok_and(|l| l == p))
            })
            .unwrap_or(false)
    };
    assert!(open(&iso1) && !open(&iso2));
    let (iso1_s, iso2_s) = (iso1.display().to_string(), iso2.display().to_string());
    let out = ok(&["change-media", "hot", "hdc", &iso2_s, "--update"]);
    assert!(out.contains("Successfully updated media."), "{out}");
    assert!(open(&iso2) && !open(&iso1), "QEMU did not switch media");
    assert!(ok(&["domblklist", "hot"]).contains(&iso2_s));
    let out = ok(&["change-media", "hot", "hdc", "--eject"]);
    assert!(out.contains("Successfully ejected media."), "{out}");
    assert!(!open(&iso2) && !open(&iso1));
    let blk = ok(&["domblklist", "hot"]);
    assert!(!blk.contains(".iso"), "{blk}");
    ok(&["change-media", "hot", "hdc", &iso1_s, "--insert"]);
    assert!(open(&iso1));
    // Only removable drives change media.
    let o = virsh_uri(&uri, &["change-media", "hot", "vda", &iso2_s, "--update"]);
    assert!(!o.ok, "{}", o.stdout);

    ok(&["destroy", "hot"]);
    // The data is in the image, which QEMU grew.
    let info = std::process::Command::new("qemu-img")
        .args(["info", "--output=json", "-U", &vdb_s])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        text(&info.stdout).contains("\"virtual-size\": 33554432"),
        "{}",
        text(&info.stdout)
    );
    let bytes = std::process::Command::new("qemu-img")
        .args(["dd", "-f", "qcow2", "-O", "raw", "bs=512", "count=1"])
        .arg(format!("if={vdb_s}"))
        .arg(format!("of={}", t.join("head.raw").display()))
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(bytes.status.success(), "{}", text(&bytes.stderr));
    let head = std::fs::read(t.join("head.raw")).unwrap_or_default();
    assert!(
        text(&head).starts_with("hot-plugged-data"),
        "{:?}",
        &head[..32.min(head.len())]
    );
}

/// `qemu-io` on a qcow2 image no QEMU has open.
fn qemu_io(path: &Path, cmd: &str) -> String {
    let out = std::process::Command::new("qemu-io")
        .args(["-f", "qcow2", "-c", cmd])
        .arg(path)
        .output()
        .unwrap_or_else(|e| panic!("qemu-io: {e}"));
    assert!(out.status.success(), "{cmd}: {}", text(&out.stderr));
    text(&out.stdout)
}

/// The internal snapshots `qemu-img snapshot -l` lists.
fn image_snapshots(path: &Path) -> String {
    let out = std::process::Command::new("qemu-img")
        .args(["snapshot", "-U", "-l"])
        .arg(path)
        .output()
        .unwrap_or_else(|e| panic!("qemu-img: {e}"));
    text(&out.stdout)
}

/// Whether the first sector of `path` is filled with `byte`.
fn sector_is(path: &Path, byte: u8) -> bool {
    qemu_io(path, &format!("read -P {byte} 0 512")).contains("read 512/512")
}

#[test]
fn snapshots_of_a_shut_off_domain_keep_data_and_survive_a_restart() {
    if !system_qemu_or_skip() {
        return;
    }
    let t = TempDir::new("qemu-snap");
    let (d, uri) = start_virtqemud(&t);
    let vda = t.join("vda.qcow2");
    qemu_img_create(&vda, "qcow2", "16M");
    let xml = t.join("devs.xml");
    std::fs::write(&xml, domain_xml(&vda)).unwrap_or_else(|e| panic!("{e}"));
    let ok = |uri: &str, args: &[&str]| {
        let o = virsh_uri(uri, args);
        assert!(o.ok, "{args:?}: {}{}", o.stdout, o.stderr);
        o.stdout
    };
    ok(&uri, &["define", &xml.display().to_string()]);
    qemu_io(&vda, "write -P 65 0 512");
    ok(
        &uri,
        &["snapshot-create-as", "devs", "s1", "--description", "first"],
    );
    qemu_io(&vda, "write -P 66 0 512");
    ok(&uri, &["snapshot-create-as", "devs", "s2"]);
    qemu_io(&vda, "write -P 67 0 512");
    let listed = image_snapshots(&vda);
    assert!(listed.contains("s1") && listed.contains("s2"), "{listed}");
    let tree = ok(&uri, &["snapshot-list", "devs", "--tree"]);
    assert!(tree.contains("s1\n  |\n  +- s2"), "{tree}");
    assert_eq!(
        ok(&uri, &["snapshot-current", "devs", "--name"]).trim(),
        "s2"
    );
    assert_eq!(ok(&uri, &["snapshot-parent", "devs", "s2"]).trim(), "s1");
    let sx = ok(&uri, &["snapshot-dumpxml", "devs", "s1"]);
    assert!(sx.contains("<state>shutoff</state>"), "{sx}");
    assert!(sx.contains("<description>first</description>"), "{sx}");
    let list = ok(&uri, &["list", "--all", "--with-snapshot", "--name"]);
    assert!(list.contains("devs"), "{list}");
    // Reverting puts the image back to the data of then.
    ok(&uri, &["snapshot-revert", "devs", "s1"]);
    assert!(sector_is(&vda, 65), "the revert did not restore the data");
    assert_eq!(
        ok(&uri, &["snapshot-current", "devs", "--name"]).trim(),
        "s1"
    );
    let o = virsh_uri(&uri, &["snapshot-revert", "devs", "nope"]);
    assert!(
        o.stderr
            .contains("no domain snapshot with matching name 'nope'"),
        "{}",
        o.stderr
    );
    // The metadata survives the daemon.
    let meta = t.join("root/var/lib/libvirt/qemu/snapshot/devs/s2.xml");
    assert!(meta.exists(), "{}", meta.display());
    drop(d);
    let (_d, uri) = start_virtqemud(&t);
    let tree = ok(&uri, &["snapshot-list", "devs", "--tree"]);
    assert!(tree.contains("s1\n  |\n  +- s2"), "{tree}");
    assert_eq!(
        ok(&uri, &["snapshot-current", "devs", "--name"]).trim(),
        "s1"
    );
    // Deleting one takes it out of the image and the tree.
    ok(&uri, &["snapshot-delete", "devs", "s1"]);
    let listed = image_snapshots(&vda);
    assert!(!listed.contains("s1") && listed.contains("s2"), "{listed}");
    assert_eq!(ok(&uri, &["snapshot-list", "devs", "--name"]).trim(), "s2");
    assert!(!meta.with_file_name("s1.xml").exists());
    // A disk-only snapshot: a qcow2 overlay over the image, named in the
    // definition from now on.
    let over = t.join("vda-e1.qcow2");
    let spec = format!("vda,file={}", over.display());
    ok(
        &uri,
        &[
            "snapshot-create-as",
            "devs",
            "e1",
            "--disk-only",
            "--diskspec",
            &spec,
        ],
    );
    let info = std::process::Command::new("qemu-img")
        .args(["info", "-U"])
        .arg(&over)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let info = text(&info.stdout);
    assert!(
        info.contains(&format!("backing file: {}", vda.display())),
        "{info}"
    );
    let cfg = ok(&uri, &["dumpxml", "--inactive", "devs"]);
    assert!(
        cfg.contains(&format!("<source file='{}'/>", over.display())),
        "{cfg}"
    );
    let sx = ok(&uri, &["snapshot-dumpxml", "devs", "e1"]);
    assert!(sx.contains("<state>disk-snapshot</state>"), "{sx}");
    assert_eq!(
        ok(&uri, &["snapshot-current", "devs", "--name"]).trim(),
        "e1"
    );
    let o = virsh_uri(
        &uri,
        &[
            "snapshot-create-as",
            "devs",
            "e2",
            "--disk-only",
            "--diskspec",
            &spec,
        ],
    );
    assert!(o.stderr.contains("already exists"), "{}", o.stderr);
    ok(&uri, &["snapshot-delete", "devs", "e1", "--metadata"]);
    assert!(over.exists());
    // Undefining keeps no orphan metadata: refused while snapshots exist,
    // their metadata dropped when asked.
    let o = virsh_uri(&uri, &["undefine", "devs"]);
    assert!(
        o.stderr
            .contains("cannot delete inactive domain with 1 snapshots"),
        "{}",
        o.stderr
    );
    ok(&uri, &["undefine", "devs", "--snapshots-metadata"]);
    assert!(
        !meta.parent().is_some_and(Path::exists),
        "metadata left behind"
    );

    // A raw disk cannot hold internal snapshots.
    let raw = t.join("raw.img");
    qemu_img_create(&raw, "raw", "1M");
    let rx = domain_xml(&raw)
        .replace("type='qcow2'", "type='raw'")
        .replace("<name>devs</name>", "<name>rawdom</name>")
        .replace(UUID, "0f4c3a52-8d47-4f4b-9a0e-3c1d2b6a7e12");
    std::fs::write(&xml, rx).unwrap_or_else(|e| panic!("{e}"));
    ok(&uri, &["define", &xml.display().to_string()]);
    let o = virsh_uri(&uri, &["snapshot-create-as", "rawdom", "x"]);
    assert!(
        o.stderr
            .contains("internal snapshot for disk vda unsupported for storage type raw"),
        "{}",
        o.stderr
    );
}

#[test]
fn snapshots_of_a_running_guest_bring_back_its_state_and_overlay_its_disk() {
    let Some(g) = linux_guest_or_skip() else {
        return;
    };
    let t = TempDir::new("qemu-snaplive");
    let _reaper = reaper(&t);
    let (_d, uri) = start_virtqemud(&t);
    let vda = t.join("vda.qcow2");
    qemu_img_create(&vda, "qcow2", "16M");
    let iso = t.join("one.iso");
    blank_iso(&iso);
    let mut con = boot_hot(&t, &uri, &g, (&vda, &iso), |x| x);
    let ok = |args: &[&str]| {
        let o = virsh_uri(&uri, args);
        assert!(o.ok, "{args:?}: {}{}", o.stdout, o.stderr);
        o.stdout
    };
    con.run("echo before-snapshot > /tmp/mark; echo AAAA > /dev/vda; sync");
    // The CD-ROM is read-only: only vda is snapshotted.
    ok(&["snapshot-create-as", "hot", "r1"]);
    assert!(image_snapshots(&vda).contains("r1"));
    let sx = ok(&["snapshot-dumpxml", "hot", "r1"]);
    assert!(sx.contains("<state>running</state>"), "{sx}");
    con.run("echo after-snapshot > /tmp/mark; echo BBBB > /dev/vda; sync");
    ok(&["snapshot-revert", "hot", "r1"]);
    assert_eq!(ok(&["domstate", "hot"]).trim(), "running");
    // The guest's memory and disk are those of the snapshot.
    let mark = con.run("cat /tmp/mark; head -c 4 /dev/vda; echo");
    assert!(
        mark.contains("before-snapshot") && mark.contains("AAAA"),
        "{mark}"
    );
    ok(&["snapshot-delete", "hot", "r1"]);
    assert!(!image_snapshots(&vda).contains("r1"));
    // Disk-only: the guest's writes go to the new overlay from then on.
    let over = t.join("vda-over.qcow2");
    let spec = format!("vda,file={}", over.display());
    ok(&[
        "snapshot-create-as",
        "hot",
        "e2",
        "--disk-only",
        "--diskspec",
        &spec,
        "--diskspec",
        "hdc,snapshot=no",
    ]);
    assert!(ok(&["domblklist", "hot"]).contains(&over.display().to_string()));
    con.run("echo CCCC > /dev/vda; sync");
    // A block pull copies the backing chain into the overlay.
    let o = virsh_uri(&uri, &["blockjob", "hot", "vda", "--abort"]);
    assert!(
        o.stderr
            .contains("disk vda does not have an active block job"),
        "{}",
        o.stderr
    );
    let out = ok(&["blockpull", "hot", "vda", "--wait"]);
    assert!(out.contains("Pull complete"), "{out}");
    let info = ok(&["blockjob", "hot", "vda", "--info"]);
    assert!(info.contains("No current block job for vda"), "{info}");
    let o = virsh_uri(&uri, &["blockpull", "hot", "vdz"]);
    assert!(
        o.stderr.contains("disk 'vdz' not found in domain"),
        "{}",
        o.stderr
    );
    // An active commit: a second overlay's writes merged down into the
    // first, and the disk pivoted back onto it.
    let over2 = t.join("vda-over2.qcow2");
    let spec2 = format!("vda,file={}", over2.display());
    ok(&[
        "snapshot-create-as",
        "hot",
        "e3",
        "--disk-only",
        "--diskspec",
        &spec2,
        "--diskspec",
        "hdc,snapshot=no",
    ]);
    con.run("echo DDDD > /dev/vda; sync");
    let o = virsh_uri(&uri, &["blockcommit", "hot", "vda"]);
    assert!(
        o.stderr
            .contains("commit of 'vda' active layer requires active flag"),
        "{}",
        o.stderr
    );
    let out = ok(&["blockcommit", "hot", "vda", "--active", "--pivot", "--wait"]);
    assert!(out.contains("Successfully pivoted"), "{out}");
    let blk = ok(&["domblklist", "hot"]);
    assert!(
        blk.contains(&over.display().to_string()) && !blk.contains("vda-over2"),
        "{blk}"
    );
    ok(&["destroy", "hot"]);
    let top = qemu_io(&over, "read -v 0 4");
    assert!(top.contains("DDDD"), "{top}");
    let info = std::process::Command::new("qemu-img")
        .args(["info", "-U"])
        .arg(&over)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let info = text(&info.stdout);
    assert!(
        !info.contains("backing file"),
        "still layered after the pull: {info}"
    );
    // The layer under it keeps the data of before.
    let std::process::Output { stdout, .. } = std::process::Command::new("qemu-io")
        .args(["-f", "qcow2", "-r", "-c", "read -v 0 4"])
        .arg(&vda)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(text(&stdout).contains("AAAA"), "{}", text(&stdout));
}

#[test]
fn vcpus_are_plugged_into_a_running_guest() {
    let Some(g) = linux_guest_or_skip() else {
        return;
    };
    let t = TempDir::new("qemu-vcpu");
    let _reaper = reaper(&t);
    let (_d, uri) = start_virtqemud(&t);
    let vda = t.join("vda.qcow2");
    qemu_img_create(&vda, "qcow2", "16M");
    let iso = t.join("one.iso");
    blank_iso(&iso);
    let mut con = boot_hot(&t, &uri, &g, (&vda, &iso), |x| {
        x.replace("<vcpu>1</vcpu>", "<vcpu current='1'>2</vcpu>")
    });
    let ok = |args: &[&str]| {
        let o = virsh_uri(&uri, args);
        assert!(o.ok, "{args:?}: {}{}", o.stdout, o.stderr);
        o.stdout
    };
    assert_eq!(ok(&["vcpucount", "hot", "--live", "--active"]).trim(), "1");
    ok(&["setvcpus", "hot", "2", "--live"]);
    let online = con.wait_for("cat /sys/devices/system/cpu/online", "0-1", true);
    assert!(online.contains("0-1"), "{online}");
    assert_eq!(ok(&["vcpucount", "hot", "--live", "--active"]).trim(), "2");
    let o = virsh_uri(&uri, &["setvcpus", "hot", "3", "--live"]);
    assert!(
        o.stderr.contains(
            "requested vcpus is greater than max allowable vcpus for the live domain: 3 > 2"
        ),
        "{}",
        o.stderr
    );
    // Unplugging needs the guest to eject the vCPU, which the test
    // guest does not do within libvirt's wait: C's timeout error.
    let o = virsh_uri(&uri, &["setvcpus", "hot", "1", "--live"]);
    assert!(
        o.stderr.contains("vcpu unplug request timed out"),
        "{}",
        o.stderr
    );
    // The definition is separate.
    ok(&["setvcpus", "hot", "2", "--config"]);
    assert_eq!(
        ok(&["vcpucount", "hot", "--config", "--active"]).trim(),
        "2"
    );
    assert_eq!(ok(&["vcpucount", "hot", "--live", "--active"]).trim(), "2");
    ok(&["destroy", "hot"]);
}

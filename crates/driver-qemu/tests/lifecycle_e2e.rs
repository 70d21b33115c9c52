// SPDX-License-Identifier: LGPL-2.1-or-later
//! Guest lifecycle beyond start and stop, driven by the real virsh
//! against virtqemud and the real QEMU: save to a file in libvirt's save
//! image format and restore (running, paused, with the events virsh
//! shows), managed save kept across a daemon restart and restored by the
//! next start, the image's XML read and replaced, the completed save job
//! in `domjobinfo`, corrupt or truncated images refused with libvirt's
//! errors before any QEMU starts, a restored Linux guest carrying on
//! (its kernel answers the power button, it never boots again), an image
//! saved here restored by Debian's C libvirtd, and `domstats` with the
//! field names C libvirtd reports for the same guest.
//!
//! Run: `cargo build -p virtqemud && cargo test -p driver-qemu --test lifecycle_e2e`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use test_support::*;

/// `virsh event --all --loop` in the background.
fn events(uri: &str) -> std::process::Child {
    let child = Command::new("virsh")
        .args(["-c", uri, "event", "--all", "--loop", "--timeout", "120"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("virsh event: {e}"));
    std::thread::sleep(Duration::from_millis(500));
    child
}

/// The lifecycle events the watcher printed for `name`.
fn lifecycle_of(mut child: std::process::Child, name: &str) -> Vec<String> {
    std::thread::sleep(Duration::from_millis(500));
    let _ = child.kill();
    let out = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("virsh event: {e}"));
    text(&out.stdout)
        .lines()
        .filter(|l| l.contains("'lifecycle'") && l.contains(&format!("for domain '{name}'")))
        .map(|l| l.rsplit(": ").next().unwrap_or("").to_string())
        .collect()
}

/// The header fields of a save image: magic, version, data length,
/// was_running, compressed.
fn header(path: &Path) -> (String, u32, u32, u32, u32) {
    let b = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(b.len() > 92, "image too short: {}", b.len());
    let word = |i: usize| {
        let mut w = [0u8; 4];
        w.copy_from_slice(&b[16 + 4 * i..20 + 4 * i]);
        u32::from_ne_bytes(w)
    };
    (
        String::from_utf8_lossy(&b[..16]).into_owned(),
        word(0),
        word(1),
        word(2),
        word(3),
    )
}

/// The value of `label` in virsh's two-column output.
fn field(out: &str, label: &str) -> String {
    out.lines()
        .find_map(|l| l.strip_prefix(label))
        .map(|v| v.trim().to_string())
        .unwrap_or_default()
}

#[test]
fn a_running_guest_is_saved_to_a_file_and_restored() {
    if !system_qemu_or_skip() {
        return;
    }
    let t = TempDir::new("qemu-save");
    let _reaper = reaper(&t);
    let (_d, uri) = start_virtqemud(&t);
    define_bootsector(&t, &uri, "saved");
    let watch = events(&uri);
    ok(&virsh_uri(&uri, &["start", "saved"]), "start");
    let pid = guest_pid(&t, "saved");
    let image = t.join("saved.img");
    let img = image.display().to_string();
    let out = ok(&virsh_uri(&uri, &["save", "saved", &img]), "save");
    assert!(out.contains("Domain 'saved' saved to"), "{out}");
    assert_eq!(domstate(&uri, "saved"), "shut off (saved)");
    assert!(
        eventually(|| !host::process::exists(pid)),
        "QEMU {pid} still runs after the save"
    );
    // libvirt's image: complete magic, version 2, the XML with its
    // padding, the guest marked as running, no compression, then QEMU's
    // stream ("QEVM" magic) right after the data section.
    let (magic, version, data_len, running, compressed) = header(&image);
    assert_eq!(magic, "LibvirtQemudSave");
    assert_eq!((version, running, compressed), (2, 1, 0));
    let bytes = std::fs::read(&image).unwrap_or_default();
    let data = &bytes[92..92 + data_len as usize];
    let xml_end = data.iter().position(|b| *b == 0).unwrap_or(0);
    let xml = String::from_utf8_lossy(&data[..xml_end]);
    assert!(xml.contains("<name>saved</name>"), "{xml}");
    let first = xml.lines().next().unwrap_or("");
    assert!(
        !first.contains(" id="),
        "the image keeps the inactive XML: {xml}"
    );
    assert_eq!(data_len as usize, xml_end + 1 + 64 * 1024);
    assert_eq!(&bytes[92 + data_len as usize..][..4], b"QEVM");
    // The file is the daemon's: mode 0600.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&image).map(|m| m.permissions().mode() & 0o777);
    assert_eq!(mode.ok(), Some(0o600));

    let dump = ok(&virsh_uri(&uri, &["save-image-dumpxml", &img]), "dumpxml");
    assert!(dump.contains("<name>saved</name>"), "{dump}");
    let jobs = ok(
        &virsh_uri(&uri, &["domjobinfo", "saved", "--completed"]),
        "domjobinfo",
    );
    assert_eq!(field(&jobs, "Job type:"), "Completed", "{jobs}");
    assert_eq!(field(&jobs, "Operation:"), "Save", "{jobs}");
    assert!(!field(&jobs, "Memory processed:").is_empty(), "{jobs}");

    let out = ok(&virsh_uri(&uri, &["restore", &img]), "restore");
    assert!(out.contains("Domain restored from"), "{out}");
    assert_eq!(domstate(&uri, "saved"), "running (restored)");
    let pid2 = guest_pid(&t, "saved");
    assert_ne!(pid, pid2);
    // The restored QEMU took the stream over -incoming defer.
    let cmdline = text(&std::fs::read(format!("/proc/{pid2}/cmdline")).unwrap_or_default());
    assert!(cmdline.contains("-incoming\0defer"), "{cmdline}");
    // The guest obeys the new QEMU.
    ok(&virsh_uri(&uri, &["suspend", "saved"]), "suspend");
    assert_eq!(domstate(&uri, "saved"), "paused (user)");
    // A restore of a domain that runs is refused.
    let again = virsh_uri(&uri, &["restore", &img]);
    assert!(!again.ok);
    assert!(
        again.stderr.contains("domain 'saved' is already active"),
        "{}",
        again.stderr
    );
    ok(&virsh_uri(&uri, &["destroy", "saved"]), "destroy");
    assert_eq!(
        lifecycle_of(watch, "saved"),
        [
            "Started Booted",
            "Stopped Saved",
            "Started Restored",
            "Suspended Paused",
            "Stopped Destroyed"
        ]
    );
}

#[test]
fn a_paused_guest_restores_paused_unless_told_otherwise() {
    if !system_qemu_or_skip() {
        return;
    }
    let t = TempDir::new("qemu-save-paused");
    let _reaper = reaper(&t);
    let (_d, uri) = start_virtqemud(&t);
    define_bootsector(&t, &uri, "napper");
    ok(&virsh_uri(&uri, &["start", "--paused", "napper"]), "start");
    let img = t.join("napper.img").display().to_string();
    ok(&virsh_uri(&uri, &["save", "napper", &img]), "save");
    assert_eq!(header(Path::new(&img)).3, 0, "was_running is 0");
    let watch = events(&uri);
    ok(&virsh_uri(&uri, &["restore", &img]), "restore");
    let st = domstate(&uri, "napper");
    assert!(st.starts_with("paused"), "{st}");
    ok(&virsh_uri(&uri, &["destroy", "napper"]), "destroy");
    assert_eq!(
        lifecycle_of(watch, "napper"),
        [
            "Started Restored",
            "Suspended Restored",
            "Stopped Destroyed"
        ]
    );
    // --running overrides the image.
    ok(&virsh_uri(&uri, &["restore", "--running", &img]), "restore");
    assert_eq!(domstate(&uri, "napper"), "running (restored)");
    ok(&virsh_uri(&uri, &["destroy", "napper"]), "destroy");
    // save-image-define flips the image's state; the XML stays.
    let xml = ok(&virsh_uri(&uri, &["save-image-dumpxml", &img]), "dumpxml");
    let xml_file = t.join("napper-image.xml");
    std::fs::write(&xml_file, xml).unwrap_or_else(|e| panic!("{e}"));
    ok(
        &virsh_uri(
            &uri,
            &[
                "save-image-define",
                &img,
                &xml_file.display().to_string(),
                "--running",
            ],
        ),
        "save-image-define",
    );
    assert_eq!(header(Path::new(&img)).3, 1, "was_running is now 1");
    ok(&virsh_uri(&uri, &["restore", &img]), "restore");
    assert_eq!(domstate(&uri, "napper"), "running (restored)");
    ok(&virsh_uri(&uri, &["destroy", "napper"]), "destroy");
    // Both flags at once: refused.
    let both = virsh_uri(&uri, &["restore", "--running", "--paused", &img]);
    assert!(!both.ok);
}

#[test]
fn managed_save_survives_a_daemon_restart_and_the_next_start_restores_it() {
    if !system_qemu_or_skip() {
        return;
    }
    let t = TempDir::new("qemu-managedsave");
    let _reaper = reaper(&t);
    let (mut d, uri) = start_virtqemud(&t);
    define_bootsector(&t, &uri, "managed");
    ok(&virsh_uri(&uri, &["start", "managed"]), "start");
    let out = ok(&virsh_uri(&uri, &["managedsave", "managed"]), "managedsave");
    assert!(
        out.contains("Domain 'managed' state saved by libvirt"),
        "{out}"
    );
    let file: PathBuf = t.join("root/var/lib/libvirt/qemu/save/managed.save");
    assert_eq!(header(&file).0, "LibvirtQemudSave");
    assert_eq!(domstate(&uri, "managed"), "shut off (saved)");
    // Undefining with the image is refused.
    let undef = virsh_uri(&uri, &["undefine", "managed"]);
    assert!(
        undef
            .stderr
            .contains("Refusing to undefine while domain managed save image exists"),
        "{}",
        undef.stderr
    );

    d.stop(Duration::from_secs(30));
    let (_d2, uri) = start_virtqemud(&t);
    let info = ok(&virsh_uri(&uri, &["dominfo", "managed"]), "dominfo");
    assert!(
        info.lines()
            .any(|l| l.starts_with("Managed save:") && l.ends_with("yes")),
        "{info}"
    );
    let listed = ok(
        &virsh_uri(&uri, &["list", "--all", "--managed-save", "--name"]),
        "list",
    );
    assert!(listed.lines().any(|l| l == "managed"), "{listed}");
    let watch = events(&uri);
    ok(&virsh_uri(&uri, &["start", "managed"]), "start");
    assert_eq!(domstate(&uri, "managed"), "running (restored)");
    assert!(!file.exists(), "the image is removed once restored");
    let info = ok(&virsh_uri(&uri, &["dominfo", "managed"]), "dominfo");
    assert!(
        info.lines()
            .any(|l| l.starts_with("Managed save:") && l.ends_with("no")),
        "{info}"
    );
    // Managed save again, then throw the image away: the next start boots.
    ok(&virsh_uri(&uri, &["managedsave", "managed"]), "managedsave");
    ok(
        &virsh_uri(&uri, &["managedsave-remove", "managed"]),
        "managedsave-remove",
    );
    assert!(!file.exists());
    ok(&virsh_uri(&uri, &["start", "managed"]), "start");
    assert_eq!(domstate(&uri, "managed"), "running (booted)");
    ok(&virsh_uri(&uri, &["destroy", "managed"]), "destroy");
    assert_eq!(
        lifecycle_of(watch, "managed"),
        [
            "Started Restored",
            "Stopped Saved",
            "Started Booted",
            "Stopped Destroyed"
        ]
    );
}

#[test]
fn corrupt_and_truncated_images_are_refused_and_start_nothing() {
    if !system_qemu_or_skip() {
        return;
    }
    let t = TempDir::new("qemu-badimage");
    let _reaper = reaper(&t);
    let (_d, uri) = start_virtqemud(&t);
    define_bootsector(&t, &uri, "victim");
    ok(&virsh_uri(&uri, &["start", "victim"]), "start");
    let good = t.join("good.img");
    ok(
        &virsh_uri(&uri, &["save", "victim", &good.display().to_string()]),
        "save",
    );
    let bytes = std::fs::read(&good).unwrap_or_default();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "garbage",
            b"this is not a save image at all, not even close to one........................................".to_vec(),
            "image magic is incorrect",
        ),
        ("short", bytes[..50].to_vec(), "failed to read qemu header"),
        (
            "partial",
            {
                let mut b = bytes.clone();
                b[..16].copy_from_slice(b"LibvirtQemudPart");
                b
            },
            "save image is incomplete",
        ),
        (
            "newer",
            {
                let mut b = bytes.clone();
                b[16..20].copy_from_slice(&7u32.to_ne_bytes());
                b
            },
            "image version is not supported (117440512 > 2)",
        ),
        ("cut-in-xml", bytes[..300].to_vec(), "failed to read domain XML"),
    ];
    for (name, content, want) in cases {
        let p = t.join(&format!("{name}.img"));
        std::fs::write(&p, content).unwrap_or_else(|e| panic!("{e}"));
        let ps = p.display().to_string();
        let out = virsh_uri(&uri, &["restore", &ps]);
        assert!(!out.ok, "{name}: restore succeeded");
        assert!(
            out.stderr.contains(&format!("operation failed: {want}")),
            "{name}: {}",
            out.stderr
        );
        let out = virsh_uri(&uri, &["save-image-dumpxml", &ps]);
        assert!(out.stderr.contains(want), "{name}: {}", out.stderr);
        assert!(qemu_pids(&t.path().display().to_string()).is_empty());
        assert_eq!(domstate(&uri, "victim"), "shut off (saved)");
    }
    let missing = virsh_uri(&uri, &["restore", &t.join("nothing").display().to_string()]);
    assert!(
        missing.stderr.contains("Failed to open file")
            && missing.stderr.contains("No such file or directory"),
        "{}",
        missing.stderr
    );
    // A stream cut short: the header is fine, QEMU fails to load it, and
    // nothing is left running.
    let cut = t.join("cut.img");
    let end = bytes.len().min(92 + 70 * 1024 + 4096);
    std::fs::write(&cut, &bytes[..end]).unwrap_or_else(|e| panic!("{e}"));
    let out = virsh_uri(&uri, &["restore", &cut.display().to_string()]);
    assert!(!out.ok, "a cut stream restored");
    assert!(
        eventually(|| qemu_pids(&t.path().display().to_string()).is_empty()),
        "a QEMU is left running"
    );
    assert_eq!(domstate(&uri, "victim").split(' ').next(), Some("shut"));
    // The good image still restores.
    ok(
        &virsh_uri(&uri, &["restore", &good.display().to_string()]),
        "restore",
    );
    ok(&virsh_uri(&uri, &["destroy", "victim"]), "destroy");
}

/// The field names `virsh domstats` printed (the record's lines
/// `  name=value`).
fn stat_names(out: &str) -> Vec<String> {
    out.lines()
        .filter_map(|l| l.trim().split_once('='))
        .map(|(n, _)| n.to_string())
        .collect()
}

fn stat_value(out: &str, name: &str) -> String {
    out.lines()
        .filter_map(|l| l.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.to_string())
        .unwrap_or_default()
}

#[test]
fn stats_of_a_running_guest_have_libvirts_groups_and_values() {
    if !system_qemu_or_skip() {
        return;
    }
    let t = TempDir::new("qemu-stats");
    let _reaper = reaper(&t);
    let (_d, uri) = start_virtqemud(&t);
    define_bootsector(&t, &uri, "counted");
    ok(&virsh_uri(&uri, &["start", "counted"]), "start");
    let out = ok(&virsh_uri(&uri, &["domstats", "counted"]), "domstats");
    assert!(out.contains("Domain: 'counted'"), "{out}");
    let names = stat_names(&out);
    for want in [
        "state.state",
        "state.reason",
        "cpu.time",
        "cpu.user",
        "cpu.system",
        "balloon.current",
        "balloon.maximum",
        "balloon.rss",
        "vcpu.current",
        "vcpu.maximum",
        "vcpu.0.state",
        "vcpu.0.time",
        "vcpu.0.wait",
        "vcpu.0.delay",
        "net.count",
        "block.count",
        "block.0.name",
        "block.0.path",
        "block.0.rd.reqs",
        "block.0.rd.bytes",
        "block.0.rd.times",
        "block.0.wr.reqs",
        "block.0.fl.reqs",
        "block.0.allocation",
        "block.0.capacity",
        "block.0.physical",
        "dirtyrate.calc_status",
        "dirtyrate.calc_mode",
    ] {
        assert!(names.iter().any(|n| n == want), "{want} missing:\n{out}");
    }
    assert_eq!(stat_value(&out, "state.state"), "1");
    assert_eq!(stat_value(&out, "balloon.maximum"), "32768");
    assert_eq!(stat_value(&out, "block.0.name"), "fda");
    assert_eq!(stat_value(&out, "block.0.capacity"), "1474560");
    // Groups asked for one at a time.
    let only = ok(
        &virsh_uri(&uri, &["domstats", "--state", "counted"]),
        "domstats --state",
    );
    assert_eq!(stat_names(&only), ["state.state", "state.reason"]);
    // The single calls.
    let mem = ok(&virsh_uri(&uri, &["dommemstat", "counted"]), "dommemstat");
    assert!(mem.lines().any(|l| l.starts_with("rss ")), "{mem}");
    let blk = ok(
        &virsh_uri(&uri, &["domblkstat", "counted", "fda"]),
        "domblkstat",
    );
    assert!(blk.contains("fda rd_bytes"), "{blk}");
    let bad = virsh_uri(&uri, &["domblkstat", "counted", "vdz"]);
    assert!(bad.stderr.contains("invalid path: vdz"), "{}", bad.stderr);
    ok(&virsh_uri(&uri, &["destroy", "counted"]), "destroy");
    // A stopped guest: its state and what its definition says.
    let off = ok(&virsh_uri(&uri, &["domstats", "counted"]), "domstats");
    assert_eq!(stat_value(&off, "state.state"), "5");
    assert_eq!(stat_value(&off, "cpu.time"), "0", "{off}");
    assert!(
        !stat_names(&off).iter().any(|n| n.starts_with("vcpu.0.")),
        "{off}"
    );
}

#[test]
fn stats_field_names_match_c_libvirtd_for_the_same_guest() {
    if !system_qemu_or_skip() {
        return;
    }
    let t = TempDir::new("qemu-stats-c");
    let _reaper = reaper(&t);
    let (_d, uri) = start_virtqemud(&t);
    let conf = "stdio_handler = \"file\"\nuser = \"root\"\ngroup = \"root\"\n";
    let Some((_c, c_sock)) = start_c_libvirtd_with(&t, &["qemu"], Some(conf)) else {
        return;
    };
    let c_uri = format!("qemu:///system?socket={}", c_sock.display());
    for u in [&uri, &c_uri] {
        define_bootsector(&t, u, "twin");
    }
    // Defined, not running: the same fields on both sides.
    let ours = ok(&virsh_uri(&uri, &["domstats", "twin"]), "ours");
    let theirs = ok(&virsh_uri(&c_uri, &["domstats", "twin"]), "theirs");
    assert_eq!(
        stat_names(&ours),
        stat_names(&theirs),
        "\nours:\n{ours}\ntheirs:\n{theirs}"
    );
    for name in [
        "state.state",
        "state.reason",
        "balloon.current",
        "balloon.maximum",
        "vcpu.current",
        "vcpu.maximum",
        "block.count",
        "block.0.name",
        "block.0.path",
        "block.0.capacity",
    ] {
        assert_eq!(stat_value(&ours, name), stat_value(&theirs, name), "{name}");
    }
    // Running: the groups that do not depend on the command line.
    for u in [&uri, &c_uri] {
        ok(&virsh_uri(u, &["start", "twin"]), "start");
    }
    let groups = [
        "--state",
        "--cpu-total",
        "--balloon",
        "--vcpu",
        "--interface",
    ];
    let mut args = vec!["domstats"];
    args.extend(groups);
    args.push("twin");
    let ours = ok(&virsh_uri(&uri, &args), "ours");
    let theirs = ok(&virsh_uri(&c_uri, &args), "theirs");
    let cmdline = text(
        &std::fs::read(format!("/proc/{}/cmdline", guest_pid(&t, "twin"))).unwrap_or_default(),
    );
    for u in [&uri, &c_uri] {
        ok(&virsh_uri(u, &["destroy", "twin"]), "destroy");
    }
    let want = stat_names(&theirs);
    assert_eq!(
        stat_names(&ours),
        want,
        "\nours:\n{ours}\ntheirs:\n{theirs}\nour QEMU: {cmdline}"
    );
}

#[test]
fn a_restored_linux_guest_carries_on_where_it_was_saved() {
    let Some(g) = linux_guest_or_skip() else {
        return;
    };
    let t = TempDir::new("qemu-save-linux");
    let _reaper = reaper(&t);
    let (_d, uri) = start_virtqemud(&t);
    let serial = t.join("serial1.log");
    let xml = linux_guest_xml(&g, "carry", 160, "", &serial);
    define_xml(&t, &uri, "carry", &xml);
    start_and_boot(&uri, "carry", &serial);
    let img = t.join("carry.img").display().to_string();
    ok(&virsh_uri(&uri, &["save", "carry", &img]), "save");
    assert_eq!(domstate(&uri, "carry"), "shut off (saved)");
    ok(&virsh_uri(&uri, &["restore", &img]), "restore");
    assert_eq!(domstate(&uri, "carry"), "running (restored)");
    // The kernel that booted before the save answers the power button:
    // its acpid powers it off (a guest-initiated shutdown), and the
    // serial log (kept across QEMUs, appended to) shows it never booted a
    // second time.
    std::thread::sleep(Duration::from_secs(1));
    ok(&virsh_uri(&uri, &["shutdown", "carry"]), "shutdown");
    let off = eventually_within(Duration::from_secs(60), || {
        domstate(&uri, "carry") == "shut off (shutdown)"
    });
    let log = std::fs::read_to_string(&serial).unwrap_or_default();
    assert!(
        off,
        "the restored guest did not power off: {}\n{log}",
        domstate(&uri, "carry")
    );
    assert_eq!(
        log.matches("GUEST-BOOT-OK").count(),
        1,
        "the guest booted again:\n{log}"
    );
}

/// Saves boot-sector guest `name` on `from` into `img` and restores it
/// on `to`, where the domain is not defined: it runs there, restored.
fn save_here_restore_there(from: &str, to: &str, name: &str, img: &Path) {
    let i = img.display().to_string();
    ok(&virsh_uri(from, &["start", name]), "start");
    ok(&virsh_uri(from, &["save", name, &i]), "save");
    assert_eq!(header(img).0, "LibvirtQemudSave");
    let out = virsh_uri(to, &["restore", &i]);
    assert!(out.ok, "restore of {i}: {}", out.stderr);
    assert_eq!(domstate(to, name), "running (restored)");
    ok(&virsh_uri(to, &["destroy", name]), "destroy");
}

/// virtqemud and Debian's C libvirtd (guests as root, no virtlogd), with
/// their URIs.
fn both_daemons(t: &TempDir) -> Option<(Daemon, String, Daemon, String)> {
    let (d, uri) = start_virtqemud(t);
    let conf = "stdio_handler = \"file\"\nuser = \"root\"\ngroup = \"root\"\n";
    let (c, c_sock) = start_c_libvirtd_with(t, &["qemu"], Some(conf))?;
    let c_uri = format!("qemu:///system?socket={}", c_sock.display());
    Some((d, uri, c, c_uri))
}

#[test]
fn an_image_saved_here_restores_in_c_libvirtd() {
    if !system_qemu_or_skip() {
        return;
    }
    let t = TempDir::new("qemu-save-to-c");
    let _reaper = reaper(&t);
    let Some((_d, uri, _c, c_uri)) = both_daemons(&t) else {
        return;
    };
    define_bootsector(&t, &uri, "fromus");
    save_here_restore_there(&uri, &c_uri, "fromus", &t.join("fromus.img"));
}

#[test]
fn an_image_saved_by_c_libvirtd_restores_here() {
    if !system_qemu_or_skip() {
        return;
    }
    let t = TempDir::new("qemu-save-from-c");
    let _reaper = reaper(&t);
    let Some((_d, uri, _c, c_uri)) = both_daemons(&t) else {
        return;
    };
    define_bootsector(&t, &c_uri, "fromc");
    save_here_restore_there(&c_uri, &uri, "fromc", &t.join("fromc.img"));
}

#[test]
fn reboot_resets_the_guest_in_the_same_qemu_and_calls_without_an_agent_are_refused() {
    let Some(g) = linux_guest_or_skip() else {
        return;
    };
    let t = TempDir::new("qemu-reboot");
    let _reaper = reaper(&t);
    let (_d, uri) = start_virtqemud(&t);
    let serial = t.join("serial1.log");
    let xml = linux_guest_xml(&g, "rebooter", 160, "", &serial);
    define_xml(&t, &uri, "rebooter", &xml);
    start_and_boot(&uri, "rebooter", &serial);
    let pid = guest_pid(&t, "rebooter");
    let watch = events(&uri);
    ok(
        &virsh_uri(&uri, &["reboot", "--mode", "acpi", "rebooter"]),
        "reboot",
    );
    // The guest powers off, QEMU resets it: a second boot in the same
    // process.
    let again = eventually_within(Duration::from_secs(90), || {
        std::fs::read_to_string(&serial)
            .unwrap_or_default()
            .matches("GUEST-BOOT-OK")
            .count()
            == 2
    });
    assert!(
        again,
        "no second boot:\n{}",
        std::fs::read_to_string(&serial).unwrap_or_default()
    );
    assert_eq!(guest_pid(&t, "rebooter"), pid);
    assert_eq!(domstate(&uri, "rebooter"), "running (booted)");
    // The balloon: the guest's driver gives memory back, the live size
    // follows QEMU's BALLOON_CHANGE.
    ok(
        &virsh_uri(&uri, &["setmem", "rebooter", "131072", "--live"]),
        "setmem",
    );
    let used = || {
        field(
            &ok(&virsh_uri(&uri, &["dominfo", "rebooter"]), "dominfo"),
            "Used memory:",
        )
    };
    assert!(
        eventually_within(Duration::from_secs(30), || used() == "131072 KiB"),
        "{}",
        used()
    );
    let high = virsh_uri(&uri, &["setmem", "rebooter", "999999999", "--live"]);
    assert!(
        high.stderr
            .contains("cannot set memory higher than max memory"),
        "{}",
        high.stderr
    );
    let live_max = virsh_uri(&uri, &["setmaxmem", "rebooter", "200000"]);
    assert!(
        live_max
            .stderr
            .contains("cannot resize the maximum memory on an active domain"),
        "{}",
        live_max.stderr
    );
    ok(
        &virsh_uri(&uri, &["setmaxmem", "rebooter", "200000", "--config"]),
        "setmaxmem --config",
    );
    let inactive = ok(
        &virsh_uri(&uri, &["dumpxml", "--inactive", "rebooter"]),
        "dumpxml",
    );
    assert!(
        inactive.contains("<memory unit='KiB'>200000</memory>"),
        "{inactive}"
    );
    // Guest input and NMI reach QEMU.
    ok(
        &virsh_uri(&uri, &["send-key", "rebooter", "KEY_A", "KEY_ENTER"]),
        "send-key",
    );
    ok(&virsh_uri(&uri, &["inject-nmi", "rebooter"]), "inject-nmi");
    // Without a guest agent.
    for args in [
        vec!["dompmsuspend", "rebooter", "mem"],
        vec!["reboot", "--mode", "agent", "rebooter"],
    ] {
        let out = virsh_uri(&uri, &args);
        assert!(
            out.stderr.contains("QEMU guest agent is not configured"),
            "{args:?}: {}",
            out.stderr
        );
    }
    // Waking a guest that is not asleep: QEMU's refusal.
    let wake = virsh_uri(&uri, &["dompmwakeup", "rebooter"]);
    assert!(!wake.ok);
    assert!(wake.stderr.contains("system_wakeup"), "{}", wake.stderr);
    ok(&virsh_uri(&uri, &["destroy", "rebooter"]), "destroy");
    let got = lifecycle_of(watch, "rebooter");
    assert_eq!(
        got,
        [
            "Shutdown Finished after guest request",
            "Resumed Unpaused",
            "Stopped Destroyed"
        ],
        "{got:?}"
    );
}

#[test]
fn core_dumps_hold_the_guest_state_or_its_memory_in_the_format_asked() {
    if !system_qemu_or_skip() {
        return;
    }
    let t = TempDir::new("qemu-dump");
    let _reaper = reaper(&t);
    let (_d, uri) = start_virtqemud(&t);
    define_bootsector(&t, &uri, "dumped");
    ok(&virsh_uri(&uri, &["start", "dumped"]), "start");
    let first = |p: &Path, n: usize| {
        let b = std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        b.get(..n).unwrap_or_default().to_vec()
    };
    // The whole state: QEMU's stream; the guest runs on afterwards.
    let full = t.join("full.dump");
    let out = ok(
        &virsh_uri(&uri, &["dump", "dumped", &full.display().to_string()]),
        "dump",
    );
    assert!(out.contains("Domain 'dumped' dumped to"), "{out}");
    assert_eq!(first(&full, 4), b"QEVM");
    assert_eq!(domstate(&uri, "dumped"), "running (unpaused)");
    let jobs = ok(
        &virsh_uri(&uri, &["domjobinfo", "dumped", "--completed"]),
        "domjobinfo",
    );
    assert_eq!(field(&jobs, "Operation:"), "Dump", "{jobs}");
    // Memory only, as ELF and as compressed kdump.
    let elf = t.join("mem.elf");
    ok(
        &virsh_uri(
            &uri,
            &[
                "dump",
                "--memory-only",
                "dumped",
                &elf.display().to_string(),
            ],
        ),
        "dump --memory-only",
    );
    assert_eq!(first(&elf, 4), b"\x7fELF");
    let kdump = t.join("mem.kdump");
    ok(
        &virsh_uri(
            &uri,
            &[
                "dump",
                "--memory-only",
                "--format",
                "kdump-zlib",
                "dumped",
                &kdump.display().to_string(),
            ],
        ),
        "dump kdump-zlib",
    );
    // QEMU writes kdump to a descriptor in makedumpfile's flattened form.
    assert_eq!(first(&kdump, 12), b"makedumpfile");
    // virsh refuses a format without --memory-only itself; the daemon's
    // own check answers libvirt-python.
    if python_available() {
        let script = "import libvirt, sys\nc = libvirt.open(sys.argv[1])\ntry:\n    c.lookupByName('dumped').coreDumpWithFormat(sys.argv[2], 1, 0)\nexcept libvirt.libvirtError as e:\n    print(e.get_error_code(), e)\n";
        let no = t.join("no.dump").display().to_string();
        let out = python(script, &[&uri, &no]);
        // VIR_ERR_OPERATION_UNSUPPORTED.
        assert!(
            out.stdout.starts_with("84 ")
                && out
                    .stdout
                    .contains("kdump-compressed format is only supported with memory-only dump"),
            "{}{}",
            out.stdout,
            out.stderr
        );
    }
    assert!(!t.join("no.dump").exists());
    // --crash: dumped, then stopped as crashed.
    let crash = t.join("crash.dump");
    ok(
        &virsh_uri(
            &uri,
            &["dump", "--crash", "dumped", &crash.display().to_string()],
        ),
        "dump --crash",
    );
    assert_eq!(domstate(&uri, "dumped"), "shut off (crashed)");
}

#[test]
fn a_screenshot_of_the_guest_display_reaches_virsh_as_png() {
    if !system_qemu_or_skip() {
        return;
    }
    let t = TempDir::new("qemu-screenshot");
    let _reaper = reaper(&t);
    let (_d, uri) = start_virtqemud(&t);
    // Without a display: libvirt's refusal.
    define_bootsector(&t, &uri, "blind");
    ok(&virsh_uri(&uri, &["start", "blind"]), "start");
    let none = virsh_uri(
        &uri,
        &[
            "screenshot",
            "blind",
            &t.join("x.png").display().to_string(),
        ],
    );
    assert!(
        none.stderr.contains("no screens to take screenshot from"),
        "{}",
        none.stderr
    );
    ok(&virsh_uri(&uri, &["destroy", "blind"]), "destroy");
    // With VGA behind VNC.
    let floppy = t.join("boot.img");
    let xml = format!(
        "<domain type='{}'>\n  <name>seen</name>\n  <memory unit='KiB'>32768</memory>\n  <vcpu>1</vcpu>\n  <os>\n    <type arch='x86_64'>hvm</type>\n    <boot dev='fd'/>\n  </os>\n  <devices>\n    <disk type='file' device='floppy'>\n      <source file='{}'/>\n      <target dev='fda' bus='fdc'/>\n      <readonly/>\n    </disk>\n    <graphics type='vnc' autoport='yes' listen='127.0.0.1'/>\n    <video><model type='vga'/></video>\n  </devices>\n</domain>\n",
        system_guest_type(),
        floppy.display()
    );
    let path = t.join("seen.xml");
    std::fs::write(&path, xml).unwrap_or_else(|e| panic!("{e}"));
    ok(
        &virsh_uri(&uri, &["define", &path.display().to_string()]),
        "define",
    );
    ok(&virsh_uri(&uri, &["start", "seen"]), "start");
    let shot = t.join("seen.png");
    let out = ok(
        &virsh_uri(&uri, &["screenshot", "seen", &shot.display().to_string()]),
        "screenshot",
    );
    assert!(out.contains("image/png"), "{out}");
    let png = std::fs::read(&shot).unwrap_or_default();
    assert_eq!(
        png.get(..8),
        Some(&b"\x89PNG\r\n\x1a\n"[..]),
        "{} bytes",
        png.len()
    );
    // Nothing is left in the guest's directory.
    let left: Vec<_> = std::fs::read_dir(t.join("root/var/lib/libvirt/qemu"))
        .into_iter()
        .flatten()
        .flatten()
        .flat_map(|d| std::fs::read_dir(d.path()).into_iter().flatten().flatten())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("qemu.screendump")
        })
        .collect();
    assert!(left.is_empty(), "{left:?}");
    ok(&virsh_uri(&uri, &["destroy", "seen"]), "destroy");
}

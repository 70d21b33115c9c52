// SPDX-License-Identifier: LGPL-2.1-or-later
//! Real Linux guests (the test guest of `../shared/guest`, TCG) started by
//! virtqemud from the full command line, driven by the real virsh: the
//! boot marker on a `<serial type='file'>`, a virtio disk and a
//! user-mode NIC seen by the guest, ACPI shutdown and destroy with their
//! states and events, the per-guest files (private directory, master
//! key, log) made and removed; a QEMU that fails to start gives its own
//! error and leaves nothing behind, and a definition the command line
//! cannot express is refused before anything starts.
//!
//! Run: `cargo build --bins && cargo test -p driver-qemu --test guest_e2e`.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use test_support::*;

/// A blank qcow2 data disk made by the guest's build script.
fn data_disk(path: &Path) {
    let out = Command::new("bash")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/guest/build.sh"))
        .args(["disk", &path.display().to_string(), "16"])
        .output()
        .unwrap_or_else(|e| panic!("build.sh disk: {e}"));
    assert!(out.status.success(), "{}", text(&out.stderr));
}

/// The test guest with a virtio disk, a user-mode NIC, the console on a
/// pty (ttyS0) and a second serial port into `serial` (ttyS1).
fn guest_xml(g: &TestGuest, name: &str, disk: &Path, serial: &Path) -> String {
    format!(
        "<domain type='qemu'>\n  <name>{name}</name>\n  <memory unit='MiB'>192</memory>\n  <vcpu>1</vcpu>\n  {}\n  <features><acpi/></features>\n  <devices>\n    <disk type='file' device='disk'>\n      <driver name='qemu' type='qcow2'/>\n      <source file='{}'/>\n      <target dev='vda' bus='virtio'/>\n    </disk>\n    <interface type='user'><model type='virtio'/></interface>\n    <serial type='pty'><target port='0'/></serial>\n    <serial type='file'><source path='{}'/><target port='1'/></serial>\n    <console type='pty'><target type='serial' port='0'/></console>\n  </devices>\n</domain>\n",
        g.os_xml(),
        disk.display(),
        serial.display()
    )
}

fn priv_dirs(t: &TempDir) -> Vec<String> {
    std::fs::read_dir(t.join("root/var/lib/libvirt/qemu"))
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("domain-"))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_linux_guest_boots_sees_its_disk_and_nic_shuts_down_and_is_destroyed() {
    let Some(g) = linux_guest_or_skip() else {
        return;
    };
    let t = TempDir::new("qemu-guest");
    let _reaper = reaper(&t);
    let (_d, uri) = start_virtqemud(&t);
    let disk = t.join("d0.qcow2");
    data_disk(&disk);
    let serial = t.join("serial1.log");
    let path = t.join("linux.xml");
    std::fs::write(&path, guest_xml(&g, "linux", &disk, &serial)).unwrap_or_else(|e| panic!("{e}"));
    ok(
        &virsh_uri(&uri, &["define", &path.display().to_string()]),
        "define",
    );
    let mut events = Command::new("virsh")
        .args(["-c", &uri, "event", "--all", "--loop", "--timeout", "120"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("virsh event: {e}"));
    std::thread::sleep(Duration::from_millis(500));

    ok(&virsh_uri(&uri, &["start", "linux"]), "start");
    let (booted, log) = wait_for_marker(&serial, "GUEST-BOOT-OK", Duration::from_secs(90));
    assert!(booted, "no boot marker on the serial file:\n{log}");
    assert!(log.contains("GUEST-DISKS vda"), "{log}");
    let (ip, log) = wait_for_marker(&serial, "GUEST-IP 10.0.2.15", Duration::from_secs(60));
    assert!(ip, "no lease on the user-mode NIC:\n{log}");
    assert_eq!(domstate(&uri, "linux"), "running (booted)");

    // The run-time layout: the private directory with the master key
    // (32 bytes, 0600), the log with the command line, the status file.
    let dirs = priv_dirs(&t);
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    let key = t.join(&format!(
        "root/var/lib/libvirt/qemu/{}/master-key.aes",
        dirs[0]
    ));
    let meta = std::fs::metadata(&key).unwrap_or_else(|e| panic!("{}: {e}", key.display()));
    assert_eq!(meta.len(), 32);
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let qemu_log = t.join("root/var/log/libvirt/qemu/linux.log");
    let text_log = std::fs::read_to_string(&qemu_log).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        text_log.contains("starting up libvirt version"),
        "{text_log}"
    );
    assert!(
        text_log.contains(&format!("-kernel {}", g.vmlinux.display())),
        "{text_log}"
    );
    let pid = guest_pid(&t, "linux");
    let cmdline = text(&std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default());
    assert!(cmdline.contains("charmonitor,fd=3,server=on"), "{cmdline}");
    assert!(cmdline.contains("-no-shutdown"), "{cmdline}");

    // ACPI shutdown: the guest powers off, QEMU (kept by -no-shutdown)
    // is ended by the daemon, the domain is shut off as shut down.
    ok(&virsh_uri(&uri, &["shutdown", "linux"]), "shutdown");
    assert!(
        eventually_within(Duration::from_secs(60), || domstate(&uri, "linux")
            == "shut off (shutdown)"),
        "{}",
        domstate(&uri, "linux")
    );
    assert!(eventually(|| !host::process::exists(pid)));
    assert!(priv_dirs(&t).is_empty(), "{:?}", priv_dirs(&t));
    assert!(!t.join("root/run/libvirt/qemu/linux.xml").exists());
    // The disk went back to its owner.
    assert_eq!(std::fs::metadata(&disk).map(|m| m.uid()).ok(), Some(0));

    // Again, then destroyed.
    std::fs::write(&serial, "").unwrap_or_else(|e| panic!("{e}"));
    ok(&virsh_uri(&uri, &["start", "linux"]), "start again");
    let (booted, log) = wait_for_marker(&serial, "GUEST-BOOT-OK", Duration::from_secs(90));
    assert!(booted, "{log}");
    ok(&virsh_uri(&uri, &["destroy", "linux"]), "destroy");
    assert_eq!(domstate(&uri, "linux"), "shut off (destroyed)");
    // The log records each stop with its reason.
    let text_log = std::fs::read_to_string(&qemu_log).unwrap_or_else(|e| panic!("{e}"));
    let stops: Vec<&str> = text_log
        .lines()
        .filter_map(|l| l.split_once(": shutting down, reason=").map(|(_, r)| r))
        .collect();
    assert_eq!(stops, ["shutdown", "destroyed"], "{text_log}");
    assert!(priv_dirs(&t).is_empty(), "{:?}", priv_dirs(&t));

    let _ = events.kill();
    let out = events
        .wait_with_output()
        .map(|o| text(&o.stdout))
        .unwrap_or_default();
    let got = lifecycle_lines(&out, "linux");
    let want = [
        "Started Booted",
        "Shutdown Finished after guest request",
        "Stopped Shutdown",
        "Started Booted",
        "Stopped Destroyed",
    ];
    assert_eq!(got, want, "{out}");
    ok(&virsh_uri(&uri, &["undefine", "linux"]), "undefine");
}

#[test]
fn a_qemu_that_fails_to_start_gives_its_error_and_leaves_nothing() {
    if !system_qemu_or_skip() {
        return;
    }
    let t = TempDir::new("qemu-fail");
    let _reaper = reaper(&t);
    let (_d, uri) = start_virtqemud(&t);
    // Not a qcow2 image: QEMU refuses it once started.
    let disk = t.join("bogus.qcow2");
    std::fs::write(&disk, vec![0u8; 65536]).unwrap_or_else(|e| panic!("{e}"));
    let xml = format!(
        "<domain type='qemu'>\n  <name>broken</name>\n  <memory unit='MiB'>64</memory>\n  <vcpu>1</vcpu>\n  <os><type arch='x86_64'>hvm</type></os>\n  <devices>\n    <disk type='file' device='disk'>\n      <driver name='qemu' type='qcow2'/>\n      <source file='{}'/>\n      <target dev='vda' bus='virtio'/>\n    </disk>\n  </devices>\n</domain>\n",
        disk.display()
    );
    let path = t.join("broken.xml");
    std::fs::write(&path, xml).unwrap_or_else(|e| panic!("{e}"));
    ok(
        &virsh_uri(&uri, &["define", &path.display().to_string()]),
        "define",
    );
    let out = virsh_uri(&uri, &["start", "broken"]);
    assert!(!out.ok);
    assert!(
        out.stderr.contains(
            "error: internal error: QEMU unexpectedly closed the monitor (vm='broken'): "
        ),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("Image is not in qcow2 format"),
        "{}",
        out.stderr
    );
    // Nothing left: no process, private directory, status or pid file;
    // the disk is root's again. The log keeps what QEMU said.
    assert!(domstate(&uri, "broken").starts_with("shut off"));
    assert!(qemu_pids(&t.path().display().to_string()).is_empty());
    assert!(priv_dirs(&t).is_empty(), "{:?}", priv_dirs(&t));
    assert!(!t.join("root/run/libvirt/qemu/broken.xml").exists());
    assert!(!t.join("root/run/libvirt/qemu/broken.pid").exists());
    assert_eq!(std::fs::metadata(&disk).map(|m| m.uid()).ok(), Some(0));
    let log = std::fs::read_to_string(t.join("root/var/log/libvirt/qemu/broken.log"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(log.contains("Image is not in qcow2 format"), "{log}");
}

#[test]
fn a_definition_the_command_line_cannot_express_is_refused_before_anything_starts() {
    if !system_qemu_or_skip() {
        return;
    }
    let t = TempDir::new("qemu-unsup");
    let _reaper = reaper(&t);
    let (_d, uri) = start_virtqemud(&t);
    let xml = "<domain type='qemu'>\n  <name>vsock</name>\n  <memory unit='MiB'>64</memory>\n  <vcpu>1</vcpu>\n  <os><type arch='x86_64'>hvm</type></os>\n  <devices>\n    <vsock model='virtio'><cid auto='yes'/></vsock>\n  </devices>\n</domain>\n";
    let path = t.join("vsock.xml");
    std::fs::write(&path, xml).unwrap_or_else(|e| panic!("{e}"));
    ok(
        &virsh_uri(&uri, &["define", &path.display().to_string()]),
        "define",
    );
    let out = virsh_uri(&uri, &["start", "vsock"]);
    assert!(!out.ok);
    assert!(
        out.stderr.contains("error: unsupported configuration: "),
        "{}",
        out.stderr
    );
    assert!(qemu_pids(&t.path().display().to_string()).is_empty());
    assert!(priv_dirs(&t).is_empty(), "{:?}", priv_dirs(&t));
    assert!(!t.join("root/var/log/libvirt/qemu/vsock.log").exists());
    assert!(domstate(&uri, "vsock").starts_with("shut off"));
}

/// Types `lines` into `virsh console ARGS` (under `script`, which gives
/// it the terminal it wants), then the escape character; what the
/// terminal showed.
fn virsh_console(uri: &str, args: &str, lines: &[&str]) -> String {
    use std::io::Write;
    let mut child = Command::new("script")
        .args([
            "-qfc",
            &format!("virsh -c '{uri}' console {args}"),
            "/dev/null",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("script: {e}"));
    if let Some(mut input) = child.stdin.take() {
        std::thread::sleep(Duration::from_secs(2));
        let _ = input.write_all(b"\r");
        for l in lines {
            std::thread::sleep(Duration::from_secs(1));
            let _ = input.write_all(format!("{l}\r").as_bytes());
        }
        std::thread::sleep(Duration::from_secs(2));
        // ^] ends the session.
        let _ = input.write_all(b"\x1d");
        std::thread::sleep(Duration::from_millis(500));
    }
    let out = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("script: {e}"));
    text(&out.stdout)
}

#[test]
fn the_console_on_a_pty_reaches_the_guest_shell() {
    if !system_qemu_or_skip() {
        return;
    }
    if !tool_exists("script") {
        return skip("script (util-linux) is not installed");
    }
    let g = match test_guest() {
        Ok(g) => g,
        Err(e) => return skip(format!("no test guest: {e}")),
    };
    let t = TempDir::new("qemu-console");
    let _reaper = reaper(&t);
    let (_d, uri) = start_virtqemud(&t);
    let disk = t.join("d0.qcow2");
    data_disk(&disk);
    let serial = t.join("serial1.log");
    let path = t.join("con.xml");
    std::fs::write(&path, guest_xml(&g, "con", &disk, &serial)).unwrap_or_else(|e| panic!("{e}"));
    ok(
        &virsh_uri(&uri, &["define", &path.display().to_string()]),
        "define",
    );
    ok(&virsh_uri(&uri, &["start", "con"]), "start");
    let (booted, log) = wait_for_marker(&serial, "GUEST-BOOT-OK", Duration::from_secs(90));
    assert!(booted, "{log}");

    // The pty QEMU opened is in the live XML (and the legacy tty=).
    let tty = ok(&virsh_uri(&uri, &["ttyconsole", "con"]), "ttyconsole")
        .trim()
        .to_string();
    assert!(tty.starts_with("/dev/pts/"), "{tty}");
    let live = ok(&virsh_uri(&uri, &["dumpxml", "con"]), "dumpxml");
    assert!(
        live.contains(&format!(
            "<console type='pty' tty='{tty}'>\n      <source path='{tty}'/>"
        )),
        "{live}"
    );
    assert!(
        live.contains(&format!(
            "<serial type='pty'>\n      <source path='{tty}'/>"
        )),
        "{live}"
    );
    let inactive = ok(
        &virsh_uri(&uri, &["dumpxml", "--inactive", "con"]),
        "dumpxml --inactive",
    );
    assert!(!inactive.contains("/dev/pts/"), "{inactive}");
    // The status file keeps it for a restarted daemon.
    let status = std::fs::read_to_string(t.join("root/run/libvirt/qemu/con.xml"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        status.contains(&format!("<source path='{tty}'/>")),
        "{status}"
    );

    let out = virsh_console(&uri, "con", &["echo CONSOLE-$((40+2))"]);
    assert!(out.contains("Connected to domain 'con'"), "{out}");
    assert!(out.contains("CONSOLE-42"), "{out}");

    // A device that is not on a pty, and one that does not exist.
    let file = virsh_console(&uri, "con --devname serial1", &[]);
    assert!(
        file.contains("internal error: character device serial1 is not using a PTY"),
        "{file}"
    );
    let none = virsh_console(&uri, "con --devname serial7", &[]);
    assert!(
        none.contains("internal error: cannot find character device serial7"),
        "{none}"
    );
    ok(&virsh_uri(&uri, &["destroy", "con"]), "destroy");
}

/// The port virsh vncdisplay reports (`:N` is 5900 + N).
fn vnc_port(uri: &str, name: &str) -> u32 {
    let d = ok(&virsh_uri(uri, &["vncdisplay", name]), "vncdisplay");
    let n: u32 = d
        .trim()
        .rsplit(':')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{d}"));
    5900 + n
}

#[test]
fn vnc_displays_get_ports_from_the_configured_range_and_give_them_back() {
    if !system_qemu_or_skip() {
        return;
    }
    let t = TempDir::new("qemu-vnc");
    let _reaper = reaper(&t);
    let conf_dir = t.join("root/etc/libvirt");
    std::fs::create_dir_all(&conf_dir).unwrap_or_else(|e| panic!("{e}"));
    // A range of its own: other tests' guests use the default one.
    let (min, max) = (62_900u32, 62_949u32);
    std::fs::write(
        conf_dir.join("qemu.conf"),
        format!("remote_display_port_min = {min}\nremote_display_port_max = {max}\n"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let (_d, uri) = start_virtqemud(&t);
    let floppy = t.join("boot.img");
    boot_floppy(&floppy);
    for name in ["vnc-a", "vnc-b"] {
        let xml = format!(
            "<domain type='qemu'>\n  <name>{name}</name>\n  <memory unit='MiB'>32</memory>\n  <vcpu>1</vcpu>\n  <os><type arch='x86_64'>hvm</type><boot dev='fd'/></os>\n  <devices>\n    <disk type='file' device='floppy'><source file='{}'/><target dev='fda' bus='fdc'/><readonly/></disk>\n    <graphics type='vnc' autoport='yes'/>\n  </devices>\n</domain>\n",
            floppy.display()
        );
        let path = t.join(&format!("{name}.xml"));
        std::fs::write(&path, xml).unwrap_or_else(|e| panic!("{e}"));
        ok(
            &virsh_uri(&uri, &["define", &path.display().to_string()]),
            "define",
        );
        ok(&virsh_uri(&uri, &["start", name]), "start");
    }
    let a = vnc_port(&uri, "vnc-a");
    let b = vnc_port(&uri, "vnc-b");
    assert!(
        (min..=max).contains(&a) && (min..=max).contains(&b),
        "{a} {b}"
    );
    assert_ne!(a, b);
    // QEMU serves VNC there (the RFB greeting).
    let mut greeting = [0u8; 3];
    let mut s = std::net::TcpStream::connect(("127.0.0.1", u16::try_from(a).unwrap_or(0)))
        .unwrap_or_else(|e| panic!("connect {a}: {e}"));
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap_or_else(|e| panic!("{e}"));
    std::io::Read::read_exact(&mut s, &mut greeting).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(&greeting, b"RFB");
    drop(s);
    let live = ok(&virsh_uri(&uri, &["dumpxml", "vnc-a"]), "dumpxml");
    assert!(
        live.contains(&format!(
            "<graphics type='vnc' port='{a}' autoport='yes' listen='127.0.0.1'>\n      <listen type='address' address='127.0.0.1'/>"
        )),
        "{live}"
    );
    // Stopped, the port is free again: the next start gets it back.
    ok(&virsh_uri(&uri, &["destroy", "vnc-a"]), "destroy");
    let inactive = ok(&virsh_uri(&uri, &["dumpxml", "vnc-a"]), "dumpxml");
    assert!(
        inactive.contains("<graphics type='vnc' port='-1' autoport='yes'>"),
        "{inactive}"
    );
    ok(&virsh_uri(&uri, &["start", "vnc-a"]), "start again");
    assert_eq!(vnc_port(&uri, "vnc-a"), a);
    for name in ["vnc-a", "vnc-b"] {
        ok(&virsh_uri(&uri, &["destroy", name]), "destroy");
    }
}

/// A command line as words, with what differs by design between the
/// daemons made equal: our scratch root prefix, and the shapes libvirt
/// 9.6 changed after Debian's 9.0 (`-m size=Nk` for `-m MiB`; ACPI as
/// `acpi=on|off` of `-machine`, where 9.0 wrote `-no-acpi` or nothing;
/// q35's implicit iTCO watchdog, `-global ICH9-LPC.noreboot=off
/// -watchdog-action reset`, which 9.0 did not add), which the 9.6
/// qemuxml2argv corpus this crate matches byte for byte has.
fn native_words(line: &str, root: &str) -> Vec<String> {
    let line = line.trim().replace(root, "");
    let mut out = Vec::new();
    let mut words = line.split(' ').peekable();
    while let Some(w) = words.next() {
        match w {
            "-m" => {
                let v = words.next().unwrap_or("");
                let mib = v
                    .strip_prefix("size=")
                    .and_then(|k| k.strip_suffix('k'))
                    .and_then(|k| k.parse::<u64>().ok())
                    .map(|k| (k / 1024).to_string())
                    .unwrap_or_else(|| v.to_string());
                out.push(w.to_string());
                out.push(mib);
            }
            "-no-acpi" => {}
            "-global" if words.peek() == Some(&"ICH9-LPC.noreboot=off") => {
                words.next();
            }
            "-watchdog-action" if words.peek() == Some(&"reset") => {
                words.next();
            }
            _ => out.push(w.replace(",acpi=off", "").replace(",acpi=on", "")),
        }
    }
    out
}

#[test]
fn domxml_to_native_matches_c_libvirtd() {
    if !system_qemu_or_skip() {
        return;
    }
    let t = TempDir::new("qemu-native");
    let (_d, uri) = start_virtqemud(&t);
    let Some((_c, c_sock)) = start_c_libvirtd(&t, &["qemu"]) else {
        return;
    };
    let c_uri = format!("qemu:///system?socket={}", c_sock.display());
    // The corpus's 9.6 forms the normalisation stands for.
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/conformance/libvirt-9.6/qemuxml2argvdata/async-teardown.x86_64-latest.args");
    let args = std::fs::read_to_string(&corpus).unwrap_or_default();
    {
        assert!(args.contains("-m size=219136k"), "{args}");
        assert!(args.contains("acpi=off"), "{args}");
        assert!(!args.contains("-no-acpi"), "{args}");
        let on = corpus.with_file_name("cpu-eoi-disabled.x86_64-latest.args");
        let on = std::fs::read_to_string(on).unwrap_or_default();
        assert!(on.contains("memory-backend=pc.ram,acpi=on"), "{on}");
        let itco = corpus.with_file_name("boot-floppy-q35.x86_64-latest.args");
        let itco = std::fs::read_to_string(itco).unwrap_or_default();
        assert!(
            itco.contains("-global ICH9-LPC.noreboot=off \\\n-watchdog-action reset"),
            "{itco}"
        );
    }
    let disk = t.join("d0.qcow2");
    data_disk(&disk);
    let domains = [
        format!(
            "<domain type='qemu'>\n  <name>native-linux</name>\n  <uuid>6a0ddc4c-6de9-4a8c-9a61-5d6cbd7a5a11</uuid>\n  <memory unit='MiB'>128</memory>\n  <vcpu>1</vcpu>\n  <os><type arch='x86_64' machine='pc'>hvm</type><kernel>/boot/vmlinux</kernel><initrd>/boot/initrd.img</initrd><cmdline>console=ttyS0 quiet</cmdline></os>\n  <features><acpi/></features>\n  <devices>\n    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='{}'/><target dev='vda' bus='virtio'/></disk>\n    <serial type='pty'><target port='0'/></serial>\n    <console type='pty'><target type='serial' port='0'/></console>\n  </devices>\n</domain>\n",
            disk.display()
        ),
        "<domain type='qemu'>\n  <name>native-floppy</name>\n  <uuid>6a0ddc4c-6de9-4a8c-9a61-5d6cbd7a5a12</uuid>\n  <memory unit='KiB'>32768</memory>\n  <vcpu>1</vcpu>\n  <os><type arch='x86_64'>hvm</type><boot dev='fd'/></os>\n  <devices>\n    <disk type='file' device='floppy'><source file='/var/tmp/boot.img'/><target dev='fda' bus='fdc'/><readonly/></disk>\n  </devices>\n</domain>\n".to_string(),
        "<domain type='qemu'>\n  <name>native-q35</name>\n  <uuid>6a0ddc4c-6de9-4a8c-9a61-5d6cbd7a5a13</uuid>\n  <memory unit='MiB'>256</memory>\n  <vcpu>2</vcpu>\n  <os><type arch='x86_64' machine='q35'>hvm</type></os>\n  <features><acpi/><apic/></features>\n  <devices>\n    <disk type='file' device='cdrom'><source file='/var/tmp/x.iso'/><target dev='sda' bus='sata'/><readonly/></disk>\n  </devices>\n</domain>\n".to_string(),
    ];
    let root = t.join("root").display().to_string();
    for (i, xml) in domains.iter().enumerate() {
        let path = t.join(&format!("native{i}.xml"));
        std::fs::write(&path, xml).unwrap_or_else(|e| panic!("{e}"));
        let p = path.display().to_string();
        let ours = ok(
            &virsh_uri(&uri, &["domxml-to-native", "qemu-argv", &p]),
            "ours",
        );
        let theirs = ok(
            &virsh_uri(&c_uri, &["domxml-to-native", "qemu-argv", &p]),
            "theirs",
        );
        assert_eq!(
            native_words(&ours, &root),
            native_words(&theirs, &root),
            "\nours:   {ours}\ntheirs: {theirs}"
        );
    }
    // The same refusal of an unknown format.
    let p = t.join("native0.xml").display().to_string();
    let ours = virsh_uri(&uri, &["domxml-to-native", "bogus", &p]);
    let theirs = virsh_uri(&c_uri, &["domxml-to-native", "bogus", &p]);
    assert!(!ours.ok && !theirs.ok);
    assert_eq!(ours.stderr, theirs.stderr);
    assert!(
        ours.stderr
            .contains("invalid argument: unsupported config type bogus"),
        "{}",
        ours.stderr
    );
}

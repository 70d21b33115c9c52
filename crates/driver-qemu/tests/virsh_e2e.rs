// SPDX-License-Identifier: LGPL-2.1-or-later
//! virtqemud driven by the real virsh and libvirt-python against the real
//! `/usr/bin/qemu-system-x86_64`: capabilities and domain capabilities
//! checked against what QEMU itself says (`-machine help`), argument
//! errors with libvirt's wording, persistent domains defined, listed,
//! dumped and undefined, a boot-sector guest started, paused, resumed,
//! destroyed and crashed with the lifecycle events `virsh event` shows,
//! and a differential of `virsh domcapabilities` against Debian's C
//! libvirtd with its QEMU driver.
//!
//! Run: `cargo build --bins && cargo test -p driver-qemu --test virsh_e2e`.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Command;

use test_support::*;

/// `-machine help`: (name, the machine it aliases).
fn machine_help() -> Vec<(String, Option<String>)> {
    let out = Command::new(QEMU)
        .args(["-machine", "help"])
        .output()
        .unwrap_or_else(|e| panic!("{QEMU}: {e}"));
    text(&out.stdout)
        .lines()
        .skip(1)
        .filter_map(|l| {
            let name = l.split_whitespace().next()?.to_string();
            let alias = l
                .split("(alias of ")
                .nth(1)
                .and_then(|r| r.split(')').next())
                .map(str::to_string);
            Some((name, alias))
        })
        .filter(|(n, _)| n != "none")
        .collect()
}

#[test]
fn capabilities_list_the_machines_qemu_reports() {
    skip_if!(qemu_cant_run());
    let t = TempDir::new("qemu-caps");
    let (_d, uri) = start_virtqemud(&t);
    let caps = ok(&virsh_uri(&uri, &["capabilities"]), "capabilities");
    let guest = caps
        .split("<guest>")
        .find(|g| g.contains("<arch name='x86_64'>"))
        .unwrap_or_else(|| panic!("no x86_64 guest in\n{caps}"));
    assert!(guest.contains(&format!("<emulator>{QEMU}</emulator>")));
    for (name, alias_of) in machine_help() {
        let line = match &alias_of {
            Some(canon) => format!("canonical='{canon}'"),
            None => String::new(),
        };
        let found = guest
            .lines()
            .any(|l| l.contains(&format!(">{name}</machine>")) && l.contains(&line));
        assert!(found, "machine {name} ({alias_of:?}) missing");
    }
    assert!(guest.contains("<domain type='qemu'/>"));
    assert_eq!(
        guest.contains("<domain type='kvm'/>"),
        kvm_usable(),
        "kvm guest type iff /dev/kvm is usable"
    );
    // The probe result is cached under libvirt's name for the binary.
    let cache = t.join(if is_root() {
        "root/var/cache/libvirt/qemu/capabilities"
    } else {
        "root/var/cache/libvirt/qemu/cache/capabilities"
    });
    let files: Vec<PathBuf> = std::fs::read_dir(&cache)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    let want = qemu::cache::cache_file_name(QEMU);
    assert!(
        files
            .iter()
            .any(|f| f.file_name().is_some_and(|n| n == want.as_str())),
        "{want} not in {files:?}"
    );
}

#[test]
fn domcapabilities_follow_the_probe_and_check_arguments() {
    skip_if!(qemu_cant_run());
    if !is_root() {
        // A session daemon's cache lives under $XDG_CACHE_HOME; the test
        // below runs the same code as root.
        return skip("the test runs the system instance (root)");
    }
    let t = TempDir::new("qemu-domcaps");
    let (_d, uri) = start_virtqemud(&t);
    let help = machine_help();
    let canon_of = |alias: &str| {
        help.iter()
            .find(|(n, _)| n == alias)
            .and_then(|(_, a)| a.clone())
            .unwrap_or_else(|| panic!("QEMU has no {alias}"))
    };
    let dc = ok(&virsh_uri(&uri, &["domcapabilities"]), "domcapabilities");
    assert!(dc.contains(&format!("<path>{QEMU}</path>")));
    assert!(dc.contains(&format!("<machine>{}</machine>", canon_of("pc"))));
    let ty = if kvm_usable() { "kvm" } else { "qemu" };
    assert!(dc.contains(&format!("<domain>{ty}</domain>")), "{dc}");
    let q35 = ok(
        &virsh_uri(
            &uri,
            &["domcapabilities", "--machine", "q35", "--virttype", "qemu"],
        ),
        "q35",
    );
    assert!(q35.contains(&format!("<machine>{}</machine>", canon_of("q35"))));
    assert!(q35.contains("<domain>qemu</domain>"));
    // q35 has no built-in IDE controller; i440fx has.
    let bus = |x: &str| {
        x.split("<enum name='bus'>")
            .nth(1)
            .and_then(|r| r.split("</enum>").next())
            .unwrap_or("")
            .to_string()
    };
    assert!(bus(&dc).contains("<value>ide</value>"));
    assert!(!bus(&q35).contains("<value>ide</value>"));

    let err = |args: &[&str]| {
        let mut a = vec!["domcapabilities"];
        a.extend_from_slice(args);
        let o = virsh_uri(&uri, &a);
        assert!(!o.ok, "{args:?} succeeded");
        o.stderr
    };
    assert!(err(&["--virttype", "bogus"]).contains("invalid argument: unknown virttype: bogus"));
    assert!(err(&["--arch", "bogus"]).contains("invalid argument: unknown architecture: bogus"));
    assert!(err(&["--machine", "nope"]).contains(&format!(
        "invalid argument: the machine 'nope' is not supported by emulator '{QEMU}'"
    )));
    assert!(err(&["--virttype", "xen"]).contains(&format!(
        "invalid argument: Emulator '{QEMU}' does not support virt type 'xen'"
    )));
}

const DOMAIN: &str = "<domain type='qemu'>\n  <name>e2e-guest</name>\n  <uuid>6a0ddc4c-6de9-4a8c-9a61-5d6cbd7a5a11</uuid>\n  <memory unit='KiB'>65536</memory>\n  <vcpu>1</vcpu>\n  <os>\n    <type arch='x86_64'>hvm</type>\n  </os>\n</domain>\n";

#[test]
fn define_list_dumpxml_undefine_with_virsh_and_python() {
    skip_if!(qemu_cant_run());
    let t = TempDir::new("qemu-define");
    let (_d, uri) = start_virtqemud(&t);
    let xml = t.join("guest.xml");
    std::fs::write(&xml, DOMAIN).unwrap_or_else(|e| panic!("{e}"));
    let out = ok(
        &virsh_uri(&uri, &["define", &xml.display().to_string()]),
        "define",
    );
    assert!(out.contains("Domain 'e2e-guest' defined"), "{out}");
    let cfg = t.join(if is_root() {
        "root/etc/libvirt/qemu/e2e-guest.xml"
    } else {
        "xdg-config/libvirt/qemu/e2e-guest.xml"
    });
    if is_root() {
        let meta = std::fs::metadata(&cfg).unwrap_or_else(|e| panic!("{}: {e}", cfg.display()));
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    }
    let list = ok(&virsh_uri(&uri, &["list", "--all"]), "list");
    assert!(
        list.lines()
            .any(|l| l.contains("e2e-guest") && l.contains("shut off")),
        "{list}"
    );
    let dump = ok(&virsh_uri(&uri, &["dumpxml", "e2e-guest"]), "dumpxml");
    assert!(dump.contains("<name>e2e-guest</name>"));
    assert!(
        dump.contains(&format!("<emulator>{QEMU}</emulator>")),
        "{dump}"
    );
    // What is not implemented yet answers C's "not supported" wording.
    let snap = virsh_uri(&uri, &["backup-begin", "e2e-guest"]);
    assert!(!snap.ok);
    assert!(
        snap.stderr
            .contains("this function is not supported by the connection driver"),
        "{}",
        snap.stderr
    );
    if python_available() {
        let py = python(
            "import libvirt, sys\n\
             c = libvirt.open(sys.argv[1])\n\
             d = c.lookupByName('e2e-guest')\n\
             print(d.UUIDString(), d.isActive(), d.isPersistent(), c.getType())\n\
             try:\n    c.lookupByName('nope')\n\
             except libvirt.libvirtError as e:\n    print(e.get_error_code(), e.get_error_domain(), e)\n",
            &[&uri],
        );
        assert!(py.ok, "{}", py.stderr);
        assert!(py
            .stdout
            .contains("6a0ddc4c-6de9-4a8c-9a61-5d6cbd7a5a11 0 1 QEMU"));
        assert!(
            py.stdout
                .contains("42 10 Domain not found: no domain with matching name 'nope'"),
            "{}",
            py.stdout
        );
    }
    // A domain type QEMU cannot run is refused as C refuses it.
    let lxc = t.join("lxc.xml");
    std::fs::write(
        &lxc,
        DOMAIN
            .replace("type='qemu'", "type='lxc'")
            .replace("e2e-guest", "other"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let o = virsh_uri(&uri, &["define", &lxc.display().to_string()]);
    assert!(!o.ok);
    assert!(
        o.stderr
            .contains("could not find capabilities for arch=x86_64 domaintype=lxc"),
        "{}",
        o.stderr
    );
    let out = ok(&virsh_uri(&uri, &["undefine", "e2e-guest"]), "undefine");
    assert!(
        out.contains("Domain 'e2e-guest' has been undefined"),
        "{out}"
    );
    assert!(!cfg.exists());
    let list = ok(&virsh_uri(&uri, &["list", "--all", "--name"]), "list");
    assert!(!list.contains("e2e-guest"));
}

/// Debian's C libvirtd with only its QEMU driver, in a mount namespace
/// where /run/libvirt, /etc/libvirt, /var/lib/libvirt and
/// /var/cache/libvirt are empty (its probe and state stay private).
fn start_c_qemu(t: &TempDir) -> Option<(Daemon, PathBuf)> {
    start_c_libvirtd(t, &["qemu"])
}

/// What must differ between the two answers, removed from both:
/// - the host-model CPU: libvirt derives it from the host's CPUID data
///   and its CPU map, which this driver does not do yet (it reports
///   host-model as unsupported);
/// - `<crypto>` and `<async-teardown>`: reported since libvirt 9.1 / 9.6,
///   which this project follows, and absent from Debian's 9.0.
fn normalise(x: &str) -> String {
    let mut out = Vec::new();
    let mut skip_until: Option<&str> = None;
    for l in x.lines() {
        if let Some(end) = skip_until {
            if l.trim_start().starts_with(end) {
                skip_until = None;
            }
            continue;
        }
        let t = l.trim_start();
        if t.starts_with("<mode name='host-model'") {
            if !t.ends_with("/>") {
                skip_until = Some("</mode>");
            }
            continue;
        }
        if t.starts_with("<crypto") {
            if !t.ends_with("/>") {
                skip_until = Some("</crypto>");
            }
            continue;
        }
        if t.starts_with("<async-teardown") {
            continue;
        }
        out.push(l);
    }
    out.join("\n")
}

#[test]
fn domcapabilities_match_c_libvirtd_on_this_host() {
    skip_if!(qemu_cant_run());
    if !is_root() {
        return skip("the C libvirtd reference runs as root");
    }
    let t = TempDir::new("qemu-diff");
    let Some((_c, c_sock)) = start_c_qemu(&t) else {
        return;
    };
    let (_d, uri) = start_virtqemud(&t);
    let c_uri = format!("qemu:///system?socket={}", c_sock.display());
    for args in [
        vec![],
        vec!["--virttype", "qemu"],
        vec!["--machine", "q35"],
        vec!["--arch", "i686"],
        vec!["--emulatorbin", "/usr/bin/qemu-system-i386"],
        vec!["--machine", "nope"],
        vec!["--virttype", "xen"],
        vec!["--arch", "bogus"],
    ] {
        let mut a = vec!["domcapabilities"];
        a.extend_from_slice(&args);
        let ours = virsh_uri(&uri, &a);
        let theirs = virsh_uri(&c_uri, &a);
        assert_eq!(
            ours.ok, theirs.ok,
            "{args:?}: {} / {}",
            ours.stderr, theirs.stderr
        );
        assert_eq!(ours.stderr, theirs.stderr, "{args:?}");
        assert_eq!(
            normalise(&ours.stdout),
            normalise(&theirs.stdout),
            "{args:?}"
        );
    }
    // The guests of virsh capabilities are the same; the host part has
    // details (CPU model, caches, NUMA) not reported yet.
    let guests = |x: &str| x.split_once("<guest>").map(|(_, g)| g.to_string());
    let ours = ok(&virsh_uri(&uri, &["capabilities"]), "ours");
    let theirs = ok(&virsh_uri(&c_uri, &["capabilities"]), "theirs");
    assert_eq!(guests(&ours), guests(&theirs));
}

#[test]
fn a_boot_sector_guest_runs_pauses_resumes_and_is_destroyed() {
    if !system_qemu_or_skip() {
        return;
    }
    let t = TempDir::new("qemu-run");
    let _reaper = reaper(&t);
    let (_d, uri) = start_virtqemud(&t);
    let floppy = t.join("boot.img");
    boot_floppy(&floppy);
    let ty = system_guest_type();
    let xml = format!(
        "<domain type='{ty}'>\n  <name>bootsector</name>\n  <memory unit='KiB'>32768</memory>\n  <vcpu>1</vcpu>\n  <os>\n    <type arch='x86_64'>hvm</type>\n    <boot dev='fd'/>\n  </os>\n  <devices>\n    <disk type='file' device='floppy'>\n      <source file='{}'/>\n      <target dev='fda' bus='fdc'/>\n    </disk>\n  </devices>\n</domain>\n",
        floppy.display()
    );
    let path = t.join("bootsector.xml");
    std::fs::write(&path, xml).unwrap_or_else(|e| panic!("{e}"));
    ok(
        &virsh_uri(&uri, &["define", &path.display().to_string()]),
        "define",
    );
    // Lifecycle events as virsh shows them, collected while we work.
    let mut events = Command::new("virsh")
        .args(["-c", &uri, "event", "--all", "--loop", "--timeout", "60"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("virsh event: {e}"));
    std::thread::sleep(std::time::Duration::from_millis(500));

    let out = ok(&virsh_uri(&uri, &["start", "bootsector"]), "start");
    assert!(out.contains("Domain 'bootsector' started"), "{out}");
    assert_eq!(domstate_plain(&uri, "bootsector"), "running");
    let list = ok(&virsh_uri(&uri, &["list"]), "list");
    let id = list
        .lines()
        .find(|l| l.contains("bootsector"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("{list}"))
        .to_string();
    assert_eq!(
        ok(&virsh_uri(&uri, &["domname", &id]), "domname").trim(),
        "bootsector"
    );
    let status = t.join("root/run/libvirt/qemu/bootsector.xml");
    let st = std::fs::read_to_string(&status).unwrap_or_else(|e| panic!("{e}"));
    let pid: u32 = st
        .split("pid='")
        .nth(1)
        .and_then(|r| r.split('\'').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("{st}"));
    // The process is the emulator, running this guest.
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    assert!(text(&cmdline).contains("guest=bootsector"));
    // virsh itself refuses to start an active domain (it sees the id).
    let again = virsh_uri(&uri, &["start", "bootsector"]);
    assert!(
        again.stderr.contains("is already active"),
        "{}",
        again.stderr
    );

    ok(&virsh_uri(&uri, &["suspend", "bootsector"]), "suspend");
    assert_eq!(domstate_plain(&uri, "bootsector"), "paused");
    ok(&virsh_uri(&uri, &["resume", "bootsector"]), "resume");
    assert_eq!(domstate_plain(&uri, "bootsector"), "running");
    ok(&virsh_uri(&uri, &["reset", "bootsector"]), "reset");
    assert_eq!(domstate_plain(&uri, "bootsector"), "running");
    let live = ok(&virsh_uri(&uri, &["dumpxml", "bootsector"]), "dumpxml");
    assert!(
        live.contains(&format!("<domain type='{ty}' id='{id}'>")),
        "{live}"
    );

    ok(&virsh_uri(&uri, &["destroy", "bootsector"]), "destroy");
    assert_eq!(domstate_plain(&uri, "bootsector"), "shut off");
    assert!(
        !host::process::exists(pid) || {
            // a zombie of another parent is gone for us too
            std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |s| s.contains(") Z"))
        }
    );
    assert!(!status.exists());
    let not = virsh_uri(&uri, &["destroy", "bootsector"]);
    assert!(not
        .stderr
        .contains("Requested operation is not valid: domain is not running"));

    // QEMU dying on its own is a crash.
    ok(&virsh_uri(&uri, &["start", "bootsector"]), "start again");
    let st = std::fs::read_to_string(&status).unwrap_or_else(|e| panic!("{e}"));
    let pid: u32 = st
        .split("pid='")
        .nth(1)
        .and_then(|r| r.split('\'').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("{st}"));
    let _ = host::process::kill(pid, 9);
    assert!(eventually(
        || domstate_plain(&uri, "bootsector") == "shut off"
    ));

    let _ = events.kill();
    let out = events
        .wait_with_output()
        .map(|o| text(&o.stdout))
        .unwrap_or_default();
    let mut got = lifecycle_lines(&out, "bootsector");
    // Under TCG, SeaBIOS resets the machine once more after `virsh reset`
    // (QEMU's second RESET event says guest-reset); each RESET is a reboot
    // event, as with libvirt, so the run of them counts as one here.
    got.dedup_by(|a, b| a == b && a.starts_with("event 'reboot'"));
    let want = [
        "Started Booted",
        "Suspended Paused",
        "Resumed Unpaused",
        "event 'reboot' for domain 'bootsector'",
        "Stopped Destroyed",
        "Started Booted",
        "Stopped Failed",
    ];
    assert_eq!(got, want, "{out}");
    ok(&virsh_uri(&uri, &["undefine", "bootsector"]), "undefine");
}

#[test]
fn a_hung_qemu_blocks_only_calls_on_its_own_guest() {
    if !system_qemu_or_skip() {
        return;
    }
    let t = TempDir::new("qemu-hung");
    let _reaper = reaper(&t);
    let spec = Spec::new("virtqemud", &t, "").env("LIBVIRT_QEMU_MONITOR_TIMEOUT_MS", "120000");
    let sock = spec.ready.clone();
    let _d = spec.start();
    let uri = format!("qemu:///system?socket={}", sock.display());
    let floppy = t.join("boot.img");
    boot_floppy(&floppy);
    for name in ["hung", "fine"] {
        define_xml(&t, &uri, name, &bootsector_xml("qemu", name, &floppy));
        ok(&virsh_uri(&uri, &["start", name]), "start");
    }
    // Freeze one QEMU: its monitor stops answering.
    let pid = guest_pid(&t, "hung");
    host::process::kill(pid, libc::SIGSTOP).unwrap_or_else(|e| panic!("{e}"));
    let mut stuck = Command::new("virsh")
        .args(["-c", &uri, "suspend", "hung"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("virsh: {e}"));
    // The other guest, listings and lookups go on meanwhile.
    ok(&virsh_uri(&uri, &["suspend", "fine"]), "suspend fine");
    assert_eq!(domstate_plain(&uri, "fine"), "paused");
    ok(&virsh_uri(&uri, &["resume", "fine"]), "resume fine");
    let list = ok(&virsh_uri(&uri, &["list", "--all"]), "list");
    assert!(list.contains("hung") && list.contains("fine"), "{list}");
    assert_eq!(domstate_plain(&uri, "hung"), "running");
    // The frozen QEMU cannot have answered: the call still waits.
    assert!(matches!(stuck.try_wait(), Ok(None)));
    // Thawed, it answers the command it was sent.
    host::process::kill(pid, libc::SIGCONT).unwrap_or_else(|e| panic!("{e}"));
    let out = stuck.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(domstate_plain(&uri, "hung"), "paused");
    for name in ["hung", "fine"] {
        ok(&virsh_uri(&uri, &["destroy", name]), "destroy");
    }
}

#[test]
fn running_guests_are_found_again_after_a_daemon_restart() {
    if !system_qemu_or_skip() {
        return;
    }
    let t = TempDir::new("qemu-restart");
    let _reaper = reaper(&t);
    let (mut d, uri) = start_virtqemud(&t);
    let floppy = t.join("boot.img");
    boot_floppy(&floppy);
    for name in ["stays", "dies"] {
        define_xml(&t, &uri, name, &bootsector_xml("qemu", name, &floppy));
        ok(&virsh_uri(&uri, &["start", name]), "start");
    }
    ok(&virsh_uri(&uri, &["suspend", "stays"]), "suspend");
    // "dies" is marked for autostart: the next daemon starts it again.
    ok(&virsh_uri(&uri, &["autostart", "dies"]), "autostart");
    let list = ok(&virsh_uri(&uri, &["list"]), "list");
    let id_of = |list: &str, name: &str| {
        list.lines()
            .find(|l| l.contains(name))
            .and_then(|l| l.split_whitespace().next())
            .map(str::to_string)
    };
    let id = id_of(&list, "stays");
    let (pid_stays, pid_dies) = (guest_pid(&t, "stays"), guest_pid(&t, "dies"));
    // The daemon goes; the guests stay. One of them dies meanwhile.
    d.stop(std::time::Duration::from_secs(30));
    assert!(host::process::exists(pid_stays));
    host::process::kill(pid_dies, libc::SIGKILL).unwrap_or_else(|e| panic!("{e}"));
    assert!(eventually(|| std::fs::read_to_string(format!(
        "/proc/{pid_dies}/stat"
    ))
    .map_or(true, |s| s.contains(") Z"))));
    let (_d2, uri) = start_virtqemud(&t);
    let list = ok(&virsh_uri(&uri, &["list", "--all"]), "list");
    assert_eq!(id_of(&list, "stays"), id, "{list}");
    assert_eq!(domstate_plain(&uri, "stays"), "paused");
    // Its QEMU died while no daemon ran; being an autostart guest, the
    // new daemon started it again.
    assert_eq!(domstate_plain(&uri, "dies"), "running");
    assert_ne!(guest_pid(&t, "dies"), pid_dies);
    ok(&virsh_uri(&uri, &["destroy", "dies"]), "destroy");
    ok(
        &virsh_uri(&uri, &["autostart", "--disable", "dies"]),
        "autostart off",
    );
    // The monitor is back: the guest obeys.
    ok(&virsh_uri(&uri, &["resume", "stays"]), "resume");
    assert_eq!(domstate_plain(&uri, "stays"), "running");
    ok(&virsh_uri(&uri, &["destroy", "stays"]), "destroy");
    assert_eq!(domstate_plain(&uri, "stays"), "shut off");
    // A new guest gets an id after the ones in use before.
    ok(&virsh_uri(&uri, &["start", "dies"]), "start");
    let list = ok(&virsh_uri(&uri, &["list"]), "list");
    let new_id: i32 = id_of(&list, "dies")
        .and_then(|i| i.parse().ok())
        .unwrap_or(0);
    let old_id: i32 = id.and_then(|i| i.parse().ok()).unwrap_or(0);
    assert!(new_id > old_id, "{list}");
    ok(&virsh_uri(&uri, &["destroy", "dies"]), "destroy");
}

const NOBODY: u32 = 65534;

#[test]
fn a_user_daemon_serves_qemu_session_with_xdg_paths() {
    skip_if!(qemu_cant_run());
    if !is_root() {
        return skip("needs root to switch to the unprivileged user 'nobody'");
    }
    let t = TempDir::new("qemu-session");
    std::fs::set_permissions(t.path(), std::fs::Permissions::from_mode(0o777))
        .unwrap_or_else(|e| panic!("{e}"));
    let home = t.join("home");
    std::fs::create_dir_all(&home).unwrap_or_else(|e| panic!("{e}"));
    std::os::unix::fs::chown(&home, Some(NOBODY), Some(NOBODY)).unwrap_or_else(|e| panic!("{e}"));
    let mut spec = Spec::new("virtqemud", &t, "");
    spec.args.clear();
    spec.ready = home.join("xdg-run/libvirt/virtqemud-sock");
    let spec = spec
        .env("HOME", &home.display().to_string())
        .env(
            "XDG_RUNTIME_DIR",
            &home.join("xdg-run").display().to_string(),
        )
        .env(
            "XDG_CONFIG_HOME",
            &home.join("xdg-config").display().to_string(),
        )
        .env(
            "XDG_CACHE_HOME",
            &home.join("xdg-cache").display().to_string(),
        );
    let sock = spec.ready.clone();
    let _d = spec.start_as(NOBODY);
    let uri = format!("qemu:///session?socket={}", sock.display());
    // A user's daemon serves only the session instance, as libvirt's.
    let sys = virsh_uri(
        &format!("qemu:///system?socket={}", sock.display()),
        &["uri"],
    );
    assert!(!sys.ok);
    assert!(
        sys.stderr
            .contains("unexpected qemu URI path '/system', try qemu:///session"),
        "{}",
        sys.stderr
    );
    assert!(ok(&virsh_uri(&uri, &["uri"]), "uri").starts_with("qemu:///session"));
    let caps = ok(&virsh_uri(&uri, &["capabilities"]), "capabilities");
    assert!(caps.contains(&format!("<emulator>{QEMU}</emulator>")));
    // The probe ran as the user and was cached in the user's cache.
    let cache = home
        .join("xdg-cache/libvirt/qemu/cache/capabilities")
        .join(qemu::cache::cache_file_name(QEMU));
    let meta = std::fs::metadata(&cache).unwrap_or_else(|e| panic!("{}: {e}", cache.display()));
    assert_eq!(std::os::unix::fs::MetadataExt::uid(&meta), NOBODY);
    // Definitions live in the user's config directory.
    let xml = t.join("guest.xml");
    std::fs::write(&xml, DOMAIN).unwrap_or_else(|e| panic!("{e}"));
    std::fs::set_permissions(&xml, std::fs::Permissions::from_mode(0o644))
        .unwrap_or_else(|e| panic!("{e}"));
    ok(
        &virsh_uri(&uri, &["define", &xml.display().to_string()]),
        "define",
    );
    assert!(home.join("xdg-config/libvirt/qemu/e2e-guest.xml").exists());
    ok(&virsh_uri(&uri, &["undefine", "e2e-guest"]), "undefine");
}

#[test]
fn libvirtd_hosts_the_qemu_driver() {
    skip_if!(qemu_cant_run());
    let t = TempDir::new("qemu-libvirtd");
    let spec = Spec::new("libvirtd", &t, "");
    let sock = spec.ready.clone();
    let _d = spec.start();
    let scheme = if is_root() { "system" } else { "session" };
    let uri = format!("qemu:///{scheme}?socket={}", sock.display());
    let dc = ok(&virsh_uri(&uri, &["domcapabilities"]), "domcapabilities");
    assert!(dc.contains(&format!("<path>{QEMU}</path>")), "{dc}");
    let xml = t.join("guest.xml");
    std::fs::write(&xml, DOMAIN).unwrap_or_else(|e| panic!("{e}"));
    ok(
        &virsh_uri(&uri, &["define", &xml.display().to_string()]),
        "define",
    );
    let list = ok(&virsh_uri(&uri, &["list", "--all", "--name"]), "list");
    assert!(list.contains("e2e-guest"), "{list}");
    ok(&virsh_uri(&uri, &["undefine", "e2e-guest"]), "undefine");
}

/// Minimal guests for the define differential: what C's QEMU driver adds
/// to them (machine type, controllers, addresses, implicit devices) must
/// be what ours adds. UUIDs and MACs are given, so nothing is random.
const DIFF_GUESTS: [(&str, &str); 3] = [
    (
        "diff-i440fx",
        "<domain type='qemu'>\n  <name>diff-i440fx</name>\n  \
         <uuid>0b1e3c56-4a4b-4f7e-9f53-0c8d2a6d1b01</uuid>\n  \
         <memory unit='MiB'>128</memory>\n  <vcpu>1</vcpu>\n  \
         <os><type arch='x86_64'>hvm</type></os>\n  <devices>\n    \
         <disk type='file' device='disk'><driver name='qemu' type='raw'/>\
         <source file='/var/lib/libvirt/images/diff-i440fx.img'/>\
         <target dev='hda' bus='ide'/></disk>\n    \
         <interface type='user'><mac address='52:54:00:11:22:01'/></interface>\n    \
         <serial type='pty'/>\n    <console type='pty'/>\n  </devices>\n</domain>\n",
    ),
    (
        "diff-q35",
        "<domain type='qemu'>\n  <name>diff-q35</name>\n  \
         <uuid>0b1e3c56-4a4b-4f7e-9f53-0c8d2a6d1b02</uuid>\n  \
         <memory unit='MiB'>256</memory>\n  <vcpu>2</vcpu>\n  \
         <os><type arch='x86_64' machine='q35'>hvm</type></os>\n  <devices>\n    \
         <disk type='file' device='disk'><driver name='qemu' type='qcow2'/>\
         <source file='/var/lib/libvirt/images/diff-q35.qcow2'/>\
         <target dev='vda' bus='virtio'/></disk>\n    \
         <disk type='file' device='cdrom'><target dev='sda' bus='sata'/><readonly/></disk>\n    \
         <interface type='user'><mac address='52:54:00:11:22:02'/><model type='virtio'/></interface>\n    \
         <console type='pty'/>\n  </devices>\n</domain>\n",
    ),
    (
        "diff-pc",
        "<domain type='qemu'>\n  <name>diff-pc</name>\n  \
         <uuid>0b1e3c56-4a4b-4f7e-9f53-0c8d2a6d1b03</uuid>\n  \
         <memory unit='KiB'>65536</memory>\n  <vcpu>1</vcpu>\n  \
         <os><type arch='x86_64' machine='pc'>hvm</type></os>\n</domain>\n",
    ),
];

/// q35 guests get an implicit iTCO watchdog since libvirt 9.1
/// (qemuDomainDefAddDefaultDevices), which this project follows; Debian's
/// 9.0 reference does not add it, so it is dropped from our answer (only
/// that exact line, which the inputs never contain).
fn without_itco(xml: &str) -> String {
    xml.lines()
        .filter(|l| l.trim() != "<watchdog model='itco' action='reset'/>")
        .map(|l| format!("{l}\n"))
        .collect()
}

/// `virsh define` of the same minimal guests on Debian's C libvirtd (QEMU
/// driver) and on virtqemud, then `dumpxml` and `dumpxml --inactive` of
/// each compared line for line. The UUIDs and MACs are in the input and
/// both daemons probe the same emulator; the one normalisation is
/// [`without_itco`].
#[test]
fn defined_guests_get_c_libvirtds_defaults_and_addresses() {
    skip_if!(qemu_cant_run());
    if !is_root() {
        return skip("the C libvirtd reference runs as root");
    }
    let t = TempDir::new("qemu-define-diff");
    let Some((_c, c_sock)) = start_c_qemu(&t) else {
        return;
    };
    let (_d, uri) = start_virtqemud(&t);
    let c_uri = format!("qemu:///system?socket={}", c_sock.display());
    let mut failures = Vec::new();
    for (name, xml) in DIFF_GUESTS {
        let file = t.join(&format!("{name}.xml"));
        std::fs::write(&file, xml).unwrap_or_else(|e| panic!("{e}"));
        let file = file.display().to_string();
        let theirs = virsh_uri(&c_uri, &["define", &file]);
        let ours = virsh_uri(&uri, &["define", &file]);
        assert!(theirs.ok, "C define {name}: {}", theirs.stderr);
        assert!(ours.ok, "define {name}: {}", ours.stderr);
        for args in [vec!["dumpxml", name], vec!["dumpxml", "--inactive", name]] {
            let theirs = ok(&virsh_uri(&c_uri, &args), "C dumpxml");
            let ours = without_itco(&ok(&virsh_uri(&uri, &args), "dumpxml"));
            if ours != theirs {
                failures.push(format!("{args:?}\n--- C\n{theirs}\n--- ours\n{ours}"));
            }
        }
    }
    // Definitions the emulator cannot run are refused with C's error.
    // (Not compared: a machine type QEMU lacks, which C refuses while
    // assigning addresses, "No PCI buses available", as such a machine
    // gets no PCI root; qemu-conf does not fail there yet, and the
    // validation after it answers "does not support machine type".)
    let base = DIFF_GUESTS[2].1;
    for (what, xml) in [
        (
            "emulator",
            base.replace(
                "</os>",
                "</os>\n  <devices><emulator>/nope</emulator></devices>",
            ),
        ),
        (
            "arch",
            base.replace("arch='x86_64' machine='pc'", "arch='sparc'"),
        ),
        (
            "arch of the emulator",
            base.replace("arch='x86_64' machine='pc'", "arch='aarch64'")
                .replace(
                    "</os>",
                    "</os>\n  <devices><emulator>/usr/bin/qemu-system-x86_64</emulator></devices>",
                ),
        ),
    ] {
        let file = t.join("bad.xml");
        std::fs::write(&file, xml).unwrap_or_else(|e| panic!("{e}"));
        let file = file.display().to_string();
        let theirs = virsh_uri(&c_uri, &["define", &file]);
        let ours = virsh_uri(&uri, &["define", &file]);
        assert!(!theirs.ok, "{what}: C accepted it");
        assert_eq!(ours.ok, theirs.ok, "{what}");
        if ours.stderr != theirs.stderr {
            failures.push(format!("{what}: C {}\nours {}", theirs.stderr, ours.stderr));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Host PCI devices on qemu:///system, ours (virtqemud with virtnodedevd
/// beside it, as libvirt's modular daemons) and Debian's C libvirtd (QEMU
/// and node device drivers) side by side: `virsh nodedev-detach`,
/// `nodedev-reattach` and `nodedev-reset` give the same answers, and
/// libvirt-python sees the same error code, domain and message. Only
/// calls that change nothing are made: detaching on a host without VFIO
/// (the test skips a host with IOMMU groups), the other calls on unknown
/// or non-PCI devices.
#[test]
fn nodedev_detach_reattach_reset_answer_as_c_libvirtd() {
    skip_if!(qemu_cant_run());
    if !is_root() {
        return skip("the C libvirtd reference runs as root");
    }
    if driver_nodedev::hostdev::Hostdev::new(driver::error::ErrorDomain::Qemu).vfio_supported() {
        return skip("VFIO works here: detaching would unbind a host device");
    }
    let t = TempDir::new("qemu-hostdev");
    let Some((_c, c_sock)) = start_c_libvirtd(&t, &["qemu", "nodedev"]) else {
        return;
    };
    // virtnodedevd and virtqemud share the socket directory; each its own
    // pid file.
    let mut nd = Spec::new("virtnodedevd", &t, "");
    nd.args[3] = t.join("virtnodedevd.pid").display().to_string();
    let _nd = nd.start();
    let (_d, uri) = start_virtqemud(&t);
    let c_uri = format!("qemu:///system?socket={}", c_sock.display());
    let pci = ok(
        &virsh_uri(&uri, &["nodedev-list", "--cap", "pci"]),
        "nodedev-list",
    );
    let dev = pci.lines().next().unwrap_or("").trim().to_string();
    assert!(dev.starts_with("pci_"), "{pci}");
    let calls: Vec<Vec<&str>> = vec![
        vec!["nodedev-detach", &dev],
        vec!["nodedev-detach", "--driver", "vfio", &dev],
        vec!["nodedev-detach", "--driver", "kvm", &dev],
        vec!["nodedev-detach", "--driver", "bogus", &dev],
        vec!["nodedev-detach", "no-such-device"],
        vec!["nodedev-reattach", "no-such-device"],
        vec!["nodedev-reset", "no-such-device"],
        vec!["nodedev-reattach", "computer"],
        vec!["nodedev-reset", "computer"],
    ];
    for args in &calls {
        let ours = virsh_uri(&uri, args);
        let theirs = virsh_uri(&c_uri, args);
        assert!(!theirs.ok, "{args:?} succeeded on C: {}", theirs.stdout);
        assert_eq!(ours.ok, theirs.ok, "{args:?}: {}", ours.stdout);
        assert_eq!(ours.stderr, theirs.stderr, "{args:?}");
    }
    if python_available() {
        let script = "import libvirt, sys\n\
             c = libvirt.open(sys.argv[1])\n\
             d = c.nodeDeviceLookupByName(sys.argv[2])\n\
             for f in (lambda: d.dettach(), lambda: d.detachFlags('kvm', 0),\n\
                       lambda: d.detachFlags(None, 1), lambda: d.reAttach(),\n\
                       lambda: c.nodeDeviceLookupByName('computer').reset()):\n\
             \x20   try:\n\
             \x20       f(); print('ok')\n\
             \x20   except libvirt.libvirtError as e:\n\
             \x20       print(e.get_error_code(), e.get_error_domain(), e)\n";
        let ours = python(script, &[&uri, "computer"]);
        let theirs = python(script, &[&c_uri, "computer"]);
        assert!(theirs.ok, "{}", theirs.stderr);
        assert!(ours.ok, "{}", ours.stderr);
        assert_eq!(ours.stdout, theirs.stdout);
        let ours = python(script, &[&uri, &dev]);
        let theirs = python(script, &[&c_uri, &dev]);
        assert_eq!(ours.stdout, theirs.stdout);
        assert!(
            ours.stdout
                .contains("VFIO device assignment is currently not supported on this system"),
            "{}",
            ours.stdout
        );
    }
}

/// A guest of the system instance runs as qemu.conf's user and group
/// (libvirt's Debian defaults, libvirt-qemu:libvirt-qemu, as no qemu.conf
/// is written): QEMU's real, effective, saved and file-system ids are
/// theirs, its private directory is theirs (mode 0750), and with
/// dynamic_ownership its disk is theirs while it runs and goes back to
/// its previous owner when it stops.
#[test]
fn qemu_runs_as_qemu_conf_user_and_disks_are_handed_over_and_back() {
    use std::os::unix::fs::MetadataExt;
    if !system_qemu_or_skip() {
        return;
    }
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let groups = std::fs::read_to_string("/etc/group").unwrap_or_default();
    let (Some((uid, _)), Some(gid)) = (
        host::ids::lookup_user(&passwd, "libvirt-qemu"),
        host::ids::lookup_group(&groups, "libvirt-qemu"),
    ) else {
        return skip("no libvirt-qemu user and group (Debian's libvirt-daemon-system)");
    };
    let t = TempDir::new("qemu-dac");
    let _reaper = reaper(&t);
    let (_d, uri) = start_virtqemud(&t);
    let floppy = t.join("boot.img");
    boot_floppy(&floppy);
    std::os::unix::fs::chown(&floppy, Some(4242), Some(4343)).unwrap_or_else(|e| panic!("{e}"));
    let xml = format!(
        "<domain type='qemu'>\n  <name>dac</name>\n  <memory unit='KiB'>32768</memory>\n  <vcpu>1</vcpu>\n  <os>\n    <type arch='x86_64'>hvm</type>\n    <boot dev='fd'/>\n  </os>\n  <devices>\n    <disk type='file' device='floppy'>\n      <source file='{}'/>\n      <target dev='fda' bus='fdc'/>\n    </disk>\n  </devices>\n</domain>\n",
        floppy.display()
    );
    let path = t.join("dac.xml");
    std::fs::write(&path, xml).unwrap_or_else(|e| panic!("{e}"));
    ok(
        &virsh_uri(&uri, &["define", &path.display().to_string()]),
        "define",
    );
    ok(&virsh_uri(&uri, &["start", "dac"]), "start");
    let pid = guest_pid(&t, "dac");
    let status =
        std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_else(|e| panic!("{e}"));
    let ids = |key: &str| -> Vec<u32> {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .unwrap_or_else(|| panic!("{status}"))
            .split_whitespace()
            .filter_map(|x| x.parse().ok())
            .collect()
    };
    assert_eq!(ids("Uid:"), vec![uid; 4], "{status}");
    assert_eq!(ids("Gid:"), vec![gid; 4], "{status}");
    let meta = std::fs::metadata(&floppy).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((meta.uid(), meta.gid()), (uid, gid));
    let id = ok(&virsh_uri(&uri, &["domid", "dac"]), "domid");
    let dir = t.join(&format!(
        "root/var/lib/libvirt/qemu/domain-{}-dac",
        id.trim()
    ));
    let meta = std::fs::metadata(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    assert_eq!(
        (meta.uid(), meta.gid(), meta.mode() & 0o777),
        (uid, gid, 0o750)
    );
    ok(&virsh_uri(&uri, &["destroy", "dac"]), "destroy");
    let meta = std::fs::metadata(&floppy).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((meta.uid(), meta.gid()), (4242, 4343));
    ok(&virsh_uri(&uri, &["undefine", "dac"]), "undefine");
}

#[test]
fn virsh_create_runs_a_transient_guest_that_goes_when_it_stops() {
    if !system_qemu_or_skip() {
        return;
    }
    let t = TempDir::new("qemu-create");
    let _reaper = reaper(&t);
    let (_d, uri) = start_virtqemud(&t);
    let floppy = t.join("boot.img");
    boot_floppy(&floppy);
    let xml = t.join("passing.xml");
    std::fs::write(&xml, bootsector_xml("qemu", "passing", &floppy)).unwrap();
    let path = xml.display().to_string();
    let out = ok(&virsh_uri(&uri, &["create", "--paused", &path]), "create");
    assert!(out.contains("Domain 'passing' created from"), "{out}");
    assert_eq!(domstate(&uri, "passing"), "paused (user)");
    let info = ok(&virsh_uri(&uri, &["dominfo", "passing"]), "dominfo");
    assert!(
        info.lines()
            .any(|l| l.starts_with("Persistent:") && l.ends_with("no")),
        "{info}"
    );
    // The same file again: it names no UUID, so it gets a new one and
    // clashes by name.
    let again = virsh_uri(&uri, &["create", &path]);
    assert!(!again.ok);
    assert!(
        again
            .stderr
            .contains("domain 'passing' already exists with uuid"),
        "{}",
        again.stderr
    );
    ok(&virsh_uri(&uri, &["resume", "passing"]), "resume");
    assert_eq!(domstate(&uri, "passing"), "running (unpaused)");
    ok(&virsh_uri(&uri, &["destroy", "passing"]), "destroy");
    let list = ok(&virsh_uri(&uri, &["list", "--all", "--name"]), "list");
    assert!(!list.contains("passing"), "{list}");
    // A defined, shut-off domain runs the created definition and stays
    // defined afterwards; while it runs, creating it again is refused.
    let with_uuid = bootsector_xml("qemu", "kept", &floppy).replace(
        "<name>kept</name>",
        "<name>kept</name>\n  <uuid>5d1c0b6e-3f0a-4c55-9a57-6a0f3e2b8c41</uuid>",
    );
    define_xml(&t, &uri, "kept", &with_uuid);
    let live = t.join("kept-live.xml");
    std::fs::write(&live, &with_uuid).unwrap();
    let live = live.display().to_string();
    ok(&virsh_uri(&uri, &["create", &live]), "create kept");
    let o = virsh_uri(&uri, &["create", &live]);
    assert!(
        !o.ok && o.stderr.contains("domain 'kept' is already active"),
        "{}",
        o.stderr
    );
    ok(&virsh_uri(&uri, &["destroy", "kept"]), "destroy kept");
    assert_eq!(domstate(&uri, "kept"), "shut off (destroyed)");
}

#[test]
fn nodeinfo_matches_c_libvirtd() {
    if !system_qemu_or_skip() {
        return;
    }
    let t = TempDir::new("qemu-nodeinfo");
    let Some((_c, c_sock)) = start_c_qemu(&t) else {
        return;
    };
    let (_d, uri) = start_virtqemud(&t);
    let c_uri = format!("qemu:///system?socket={}", c_sock.display());
    // The clock rate is read anew by each daemon and may move between the
    // two reads; every other line is the same host's.
    let steady = |out: String| {
        out.lines()
            .filter(|l| !l.starts_with("CPU frequency:"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let ours = ok(&virsh_uri(&uri, &["nodeinfo"]), "nodeinfo");
    let theirs = ok(&virsh_uri(&c_uri, &["nodeinfo"]), "C nodeinfo");
    assert!(ours.contains("CPU frequency:"), "{ours}");
    assert_eq!(steady(ours), steady(theirs));
    // Free memory moves all the time: both answer a plausible figure.
    for u in [&uri, &c_uri] {
        let free = ok(&virsh_uri(u, &["freecell"]), "freecell");
        assert!(free.contains("KiB"), "{free}");
    }
}

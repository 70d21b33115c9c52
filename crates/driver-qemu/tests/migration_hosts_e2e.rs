// SPDX-License-Identifier: LGPL-2.1-or-later
//! Migration between two "hosts": two libvirtd instances in two network
//! namespaces joined by a veth pair (192.168.77.1 and .2), each with its
//! own state directory and host UUID, listening on plain TCP there. The
//! real virsh drives them over `qemu+tcp://192.168.77.N/system`, the
//! real QEMU moves the test guest of `../shared/guest` (Linux under TCG).
//!
//! The guest runs a counter typed on its console shell, written to its
//! second serial port (a file in a directory both hosts share). It
//! migrates back and forth ten times in live mode, client-managed and
//! peer-to-peer alternately; after every hop the counter continues where
//! it was (memory preserved), and at the end the console still answers
//! and the user-mode NIC still reaches its gateway. Each hop's total time
//! and downtime (`domjobinfo --completed`) are printed.
//!
//! Faults across the link: the network dropping mid-transfer (the veth
//! pair down, the job aborted) and the destination's QEMU killed
//! mid-transfer (peer-to-peer over TCP) leave the guest running on the
//! source, in the same QEMU, still counting, nothing on the destination,
//! and both daemons serving.
//!
//! Across implementations: Debian's C libvirtd on the other host takes
//! the guest from ours (client-managed) and hands it back peer-to-peer,
//! its daemon opening ours over TCP.
//!
//! Run: `cargo build --bins && cargo test -p driver-qemu --test migration_hosts_e2e -- --nocapture`.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use test_support::*;

/// How long a marker typed on the console may take to show.
const MARKER_WAIT: Duration = Duration::from_secs(30);

/// One "host": libvirtd inside a namespace of the pair.
struct Host {
    /// Which namespace of the pair.
    i: usize,
    t: TempDir,
    _d: Daemon,
    /// Its socket (what the test uses from outside the namespaces).
    uri: String,
    /// Its TCP URI (what the other host and clients in a namespace use).
    tcp: String,
    _reaper: Reaper,
}

impl Host {
    fn start(pair: &NetnsPair, i: usize) -> Host {
        let t = TempDir::new(&format!("mig-host{i}"));
        let r = reaper(&t);
        let conf_dir = t.join("root/etc/libvirt");
        std::fs::create_dir_all(&conf_dir).unwrap_or_else(|e| panic!("{e}"));
        // The incoming QEMU is reached at this host's address on the
        // link (the machine's name resolves to neither namespace).
        std::fs::write(
            conf_dir.join("qemu.conf"),
            format!("migration_host = \"{}\"\n", NETNS_ADDRS[i]),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let digit = char::from(b'1' + i as u8);
        let uuid = "xxxxxxxx-xxxx-4xxx-8xxx-xxxxxxxxxxxx".replace('x', &digit.to_string());
        let (d, uri, tcp) =
            pair.start_daemon(i, "libvirtd", &t, &format!("host_uuid = \"{uuid}\"\n"));
        Host {
            i,
            t,
            _d: d,
            uri,
            tcp,
            _reaper: r,
        }
    }

    fn ok(&self, args: &[&str]) -> String {
        let o = virsh_uri(&self.uri, args);
        assert!(o.ok, "virsh {args:?}: {}", o.stderr);
        o.stdout
    }

    /// virsh inside this host's namespace, on its socket (a client on
    /// this host: the other host is reached over the link only).
    fn virsh_here(&self, pair: &NetnsPair, args: &[&str]) -> Out {
        let mut c = pair.command(self.i, "virsh");
        c.arg("-c").arg(&self.uri).args(args);
        Out::from(run_cmd(c))
    }

    fn qemus(&self) -> Vec<u32> {
        qemu_pids(&self.t.path().display().to_string())
    }
}

/// A `domjobinfo` field's value (`Total downtime:   58  ms` → `58 ms`).
fn job_field(info: &str, name: &str) -> String {
    info.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .map(|v| v.split_whitespace().collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "?".into())
}

/// The counter values the guest wrote so far, in order.
fn counter(log: &std::path::Path) -> Vec<u64> {
    text(&std::fs::read(log).unwrap_or_default())
        .lines()
        .filter_map(|l| l.trim().strip_prefix("C=")?.parse().ok())
        .collect()
}

/// Waits until the counter passed `n`; its last value then.
fn wait_counter_past(log: &std::path::Path, n: u64) -> u64 {
    let mut last = 0;
    // Generous: TCG guests of parallel tests share two cores.
    let found = eventually_within(Duration::from_secs(90), || {
        last = counter(log).last().copied().unwrap_or(0);
        last > n
    });
    let tail: String = text(&std::fs::read(log).unwrap_or_default())
        .lines()
        .rev()
        .take(5)
        .collect::<Vec<_>>()
        .join(" | ");
    assert!(
        found,
        "the counter did not pass {n} (last {last}; log ends {tail})"
    );
    last
}

/// Types `line` on the guest's console (the pty of `h`'s QEMU, as
/// `virsh console` would) and waits for `marker` in the serial log.
fn type_on_console(h: &Host, name: &str, log: &std::path::Path, line: &str, marker: &str) {
    let pty = h.ok(&["ttyconsole", name]).trim().to_string();
    assert!(pty.starts_with("/dev/pts/"), "console on {pty:?}");
    // Raw, without echo: what the guest prints must not come back to it
    // as input.
    let st = run_cmd({
        let mut c = Command::new("stty");
        c.args(["-F", &pty, "raw", "-echo"]);
        c
    });
    assert!(st.status.success(), "stty: {}", text(&st.stderr));
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&pty)
        .unwrap_or_else(|e| panic!("{pty}: {e}"));
    // QEMU notices the open terminal within a second and reads what was
    // written meanwhile; the file stays open until the marker shows.
    f.write_all(format!("\r{line}\r").as_bytes())
        .unwrap_or_else(|e| panic!("{pty}: {e}"));
    let (found, seen) = wait_for_marker(log, marker, MARKER_WAIT);
    assert!(
        found,
        "{marker} never showed after typing {line:?}:\n{seen}"
    );
}

/// The guest: 192 MiB, one vCPU, the console on a pty (ttyS0), the
/// counter's serial port on a file (ttyS1) both hosts' QEMUs append to
/// (test_support's guest truncates it on open), a user-mode NIC.
fn guest_xml(g: &TestGuest, name: &str, log: &std::path::Path) -> String {
    format!(
        "<domain type='qemu'>\n  <name>{name}</name>\n  <memory unit='MiB'>192</memory>\n  \
         <vcpu>1</vcpu>\n  {}\n  <features><acpi/></features>\n  <devices>\n    \
         <interface type='user'><model type='virtio'/></interface>\n    \
         <serial type='pty'><target port='0'/></serial>\n    \
         <serial type='file'><source path='{}' append='on'/><target port='1'/></serial>\n    \
         <console type='pty'><target type='serial' port='0'/></console>\n  </devices>\n</domain>\n",
        g.os_xml(),
        log.display()
    )
}

/// A directory both hosts use, open to QEMU's user, with the serial log.
fn shared_log() -> (TempDir, PathBuf) {
    let shared = TempDir::new("mig-hosts-shared");
    let log = shared.join("serial.log");
    std::fs::write(&log, b"").unwrap_or_else(|e| panic!("{e}"));
    for (p, mode) in [(shared.path().to_path_buf(), 0o755), (log.clone(), 0o666)] {
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode))
            .unwrap_or_else(|e| panic!("{e}"));
    }
    (shared, log)
}

#[test]
fn linux_guest_migrates_ten_times_between_two_hosts_over_tcp_and_keeps_counting() {
    skip_if!(netns_cant_run());
    let Some(guest) = linux_guest_or_skip() else {
        return;
    };
    let pair = NetnsPair::create("mig").unwrap_or_else(|e| panic!("{e}"));
    let hosts = [Host::start(&pair, 0), Host::start(&pair, 1)];
    let (shared, log) = shared_log();
    let name = "counter";
    let xml = shared.join("counter.xml");
    std::fs::write(&xml, guest_xml(&guest, name, &log)).unwrap_or_else(|e| panic!("{e}"));
    hosts[0].ok(&["define", &xml.display().to_string()]);
    hosts[0].ok(&["start", name]);
    let (booted, seen) = wait_for_marker(&log, "GUEST-IP", MARKER_WAIT);
    assert!(booted, "the guest did not boot with its NIC:\n{seen}");
    type_on_console(&hosts[0], name, &log, "echo READY > /dev/ttyS1", "READY");
    type_on_console(
        &hosts[0],
        name,
        &log,
        "i=0; while true; do i=$((i+1)); echo C=$i > /dev/ttyS1; sleep 0.2; done &",
        "C=3",
    );

    let mut report = Vec::new();
    for hop in 0..10 {
        let (src, dst) = (&hosts[hop % 2], &hosts[(hop + 1) % 2]);
        let before = wait_counter_past(&log, 0);
        // Odd hops: the source daemon opens the destination itself.
        let p2p = hop % 2 == 1;
        let mut args = vec!["migrate", "--live", "--persistent", "--undefinesource"];
        if p2p {
            args.push("--p2p");
        }
        args.extend([name, dst.tcp.as_str()]);
        let o = src.virsh_here(&pair, &args);
        assert!(o.ok, "hop {hop} ({args:?}): {}", o.stderr);
        // The source forgot the domain (--undefinesource); the
        // destination has the statistics from the migration cookie.
        let info = dst.ok(&["domjobinfo", "--completed", name]);
        report.push(format!(
            "hop {:2} {} -> {} {:6}: total {}, downtime {}, data {}",
            hop + 1,
            NETNS_ADDRS[src.i],
            NETNS_ADDRS[dst.i],
            if p2p { "p2p" } else { "direct" },
            job_field(&info, "Time elapsed"),
            job_field(&info, "Total downtime"),
            job_field(&info, "Data processed"),
        ));
        assert_eq!(
            dst.ok(&["domstate", "--reason", name]).trim(),
            "running (migrated)",
            "hop {hop}"
        );
        let left = virsh_uri(&src.uri, &["domstate", name]);
        assert!(!left.ok, "hop {hop}: still on the source: {}", left.stdout);
        assert!(
            eventually(|| src.qemus().is_empty()),
            "hop {hop}: source QEMU left: {:?}",
            src.qemus()
        );
        // The counter goes on from where it was: memory came along.
        let after = wait_counter_past(&log, before + 2);
        assert!(after > before, "hop {hop}: {before} -> {after}");
    }
    for line in &report {
        println!("{line}");
    }
    // Never restarted or went back across the hops.
    let values = counter(&log);
    for w in values.windows(2) {
        assert!(
            w[1] >= w[0],
            "the counter went back: {} then {}",
            w[0],
            w[1]
        );
    }
    // The guest is back where it started; its console answers and its
    // NIC reaches the user-mode network's gateway.
    let home = &hosts[0];
    type_on_console(
        home,
        name,
        &log,
        "echo CONSOLE-$((6*7)) > /dev/ttyS1",
        "CONSOLE-42",
    );
    type_on_console(
        home,
        name,
        &log,
        "ping -c1 -W5 10.0.2.2 >/dev/null && echo NIC-OK > /dev/ttyS1",
        "NIC-OK",
    );
    assert!(hosts[1].qemus().is_empty(), "{:?}", hosts[1].qemus());
    home.ok(&["destroy", name]);
    home.ok(&["undefine", name]);
}

/// `virsh migrate ARGS` in host `src`'s namespace, in the background.
fn migrate_bg(pair: &NetnsPair, src: &Host, args: &[&str]) -> std::process::Child {
    pair.command(src.i, "virsh")
        .arg("-c")
        .arg(&src.uri)
        .arg("migrate")
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("virsh: {e}"))
}

#[test]
fn dropped_link_and_killed_destination_leave_the_guest_on_the_source() {
    skip_if!(netns_cant_run());
    let Some(guest) = linux_guest_or_skip() else {
        return;
    };
    let pair = NetnsPair::create("migf").unwrap_or_else(|e| panic!("{e}"));
    let (a, b) = (Host::start(&pair, 0), Host::start(&pair, 1));
    let (shared, log) = shared_log();
    let name = "stay";
    let xml = shared.join("stay.xml");
    std::fs::write(&xml, guest_xml(&guest, name, &log)).unwrap_or_else(|e| panic!("{e}"));
    a.ok(&["define", &xml.display().to_string()]);
    a.ok(&["start", name]);
    let (booted, seen) = wait_for_marker(&log, "GUEST-BOOT-OK", MARKER_WAIT);
    assert!(booted, "the guest did not boot:\n{seen}");
    type_on_console(
        &a,
        name,
        &log,
        "i=0; while true; do i=$((i+1)); echo C=$i > /dev/ttyS1; sleep 0.2; done &",
        "C=3",
    );
    let pid = a.qemus();
    assert_eq!(pid.len(), 1, "{pid:?}");

    for (fault, p2p) in [("link", false), ("qemu", true)] {
        // 1 MiB/s: the guest's RAM takes a minute to send, time enough
        // for the fault to land mid-transfer.
        let mut args = vec!["--live", "--bandwidth", "1"];
        if p2p {
            args.push("--p2p");
        }
        args.extend([name, b.tcp.as_str()]);
        let child = migrate_bg(&pair, &a, &args);
        let mut info = String::new();
        let running = eventually_within(Duration::from_secs(30), || {
            info = virsh_uri(&a.uri, &["domjobinfo", name]).stdout;
            info.contains("Unbounded") && b.qemus().len() == 1
        });
        assert!(running, "{fault}: no migration job: {info}");
        match fault {
            "link" => {
                // The network drops: the stream stalls, the user aborts
                // the job; the guest runs on at the source meanwhile.
                pair.set_link(false).unwrap_or_else(|e| panic!("{e}"));
                a.ok(&["domjobabort", name]);
                let before = counter(&log).last().copied().unwrap_or(0);
                wait_counter_past(&log, before + 2);
                assert!(
                    a.ok(&["domstate", name]).starts_with("running"),
                    "link down: the source stopped"
                );
                // Back up: the client's cancellation reaches the
                // destination, which drops what it prepared.
                pair.set_link(true).unwrap_or_else(|e| panic!("{e}"));
            }
            _ => {
                for p in b.qemus() {
                    let _ = host::process::kill(p, 9);
                }
            }
        }
        let out = Out::from(
            child
                .wait_with_output()
                .unwrap_or_else(|e| panic!("virsh: {e}")),
        );
        assert!(!out.ok, "{fault}: the migration succeeded: {}", out.stdout);
        println!("{fault}: virsh migrate said: {}", out.stderr.trim());
        // The guest runs on at the source, in the same QEMU, counting.
        assert!(
            eventually(|| a.ok(&["domstate", name]).starts_with("running")),
            "{fault}: {}",
            a.ok(&["domstate", "--reason", name])
        );
        assert_eq!(a.qemus(), pid, "{fault}");
        let before = counter(&log).last().copied().unwrap_or(0);
        wait_counter_past(&log, before + 2);
        // Nothing on the destination, which still serves.
        assert!(
            eventually(|| b.qemus().is_empty()),
            "{fault}: destination QEMU left: {:?}",
            b.qemus()
        );
        let absent = virsh_uri(&b.uri, &["domstate", name]);
        assert!(!absent.ok, "{fault}: on the destination: {}", absent.stdout);
        b.ok(&["list", "--all"]);
        a.ok(&["list", "--all"]);
    }
    // The counter never went back.
    let values = counter(&log);
    for w in values.windows(2) {
        assert!(
            w[1] >= w[0],
            "the counter went back: {} then {}",
            w[0],
            w[1]
        );
    }
    // The link works again: the guest moves.
    let o = a.virsh_here(&pair, &["migrate", "--live", name, &b.tcp]);
    assert!(o.ok, "{}", o.stderr);
    assert_eq!(
        b.ok(&["domstate", "--reason", name]).trim(),
        "running (migrated)"
    );
    b.ok(&["destroy", name]);
}

#[test]
fn linux_guest_migrates_to_c_libvirtd_on_the_other_host_and_back() {
    skip_if!(netns_cant_run());
    let Some(guest) = linux_guest_or_skip() else {
        return;
    };
    let pair = NetnsPair::create("migc").unwrap_or_else(|e| panic!("{e}"));
    let ours = Host::start(&pair, 0);
    let (shared, log) = shared_log();
    let ct = TempDir::new("mig-hosts-c");
    // Debian's libvirtd on the other host. Its QEMU reads the guest's
    // shared files as they are (no ownership changes under other tests).
    let c_conf = format!(
        "stdio_handler = \"file\"\ndynamic_ownership = 0\nmigration_host = \"{}\"\n",
        NETNS_ADDRS[1]
    );
    let Some((_cd, csock)) = start_c_libvirtd_in_netns(
        &ct,
        &["qemu"],
        Some(&c_conf),
        &pair.names[1],
        NETNS_ADDRS[1],
    ) else {
        return;
    };
    // C's QEMU names the shared directory's files.
    let _c_reaper = Reaper(format!("{}/", shared.path().display()));
    let c_uri = format!("qemu+unix:///system?socket={}", csock.display());
    let c_tcp = format!("qemu+tcp://{}/system", NETNS_ADDRS[1]);
    let name = "cross";
    let xml = shared.join("cross.xml");
    std::fs::write(&xml, guest_xml(&guest, name, &log)).unwrap_or_else(|e| panic!("{e}"));
    ours.ok(&["define", &xml.display().to_string()]);
    ours.ok(&["start", name]);
    let (booted, seen) = wait_for_marker(&log, "GUEST-BOOT-OK", MARKER_WAIT);
    assert!(booted, "the guest did not boot:\n{seen}");
    type_on_console(
        &ours,
        name,
        &log,
        "i=0; while true; do i=$((i+1)); echo C=$i > /dev/ttyS1; sleep 0.2; done &",
        "C=3",
    );

    // Ours to C, client-managed, the client on our host.
    let before = wait_counter_past(&log, 0);
    let o = ours.virsh_here(&pair, &["migrate", "--live", name, &c_tcp]);
    assert!(o.ok, "ours to C: {}", o.stderr);
    assert_eq!(
        virsh_uri(&c_uri, &["domstate", "--reason", name])
            .stdout
            .trim(),
        "running (migrated)"
    );
    assert_eq!(
        ours.ok(&["domstate", "--reason", name]).trim(),
        "shut off (migrated)"
    );
    let mid = wait_counter_past(&log, before + 2);

    // C to ours, peer-to-peer: C's daemon opens ours over TCP.
    let mut back = pair.command(1, "virsh");
    back.arg("-c")
        .arg(&c_uri)
        .args(["migrate", "--live", "--p2p", name, &ours.tcp]);
    let o = Out::from(run_cmd(back));
    assert!(o.ok, "C to ours: {}", o.stderr);
    assert_eq!(
        ours.ok(&["domstate", "--reason", name]).trim(),
        "running (migrated)"
    );
    let absent = virsh_uri(&c_uri, &["domstate", name]);
    assert!(!absent.ok, "still on C: {}", absent.stdout);
    wait_counter_past(&log, mid + 2);
    let values = counter(&log);
    for w in values.windows(2) {
        assert!(
            w[1] >= w[0],
            "the counter went back: {} then {}",
            w[0],
            w[1]
        );
    }
    type_on_console(
        &ours,
        name,
        &log,
        "echo CONSOLE-$((6*7)) > /dev/ttyS1",
        "CONSOLE-42",
    );
    ours.ok(&["destroy", name]);
}

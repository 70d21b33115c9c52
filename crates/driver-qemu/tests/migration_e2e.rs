// SPDX-License-Identifier: LGPL-2.1-or-later
//! Guests migrated between two virtqemud instances on this host (two
//! scratch roots, two sockets, two host UUIDs), driven by the real virsh
//! against the real QEMU: offline migration of definitions both ways
//! (client-managed and peer-to-peer, with `--undefinesource`), a running
//! guest moved back and forth with `virsh migrate --live` (direct and
//! `--p2p`) whose counter in guest memory continues on its serial port
//! after each move, storage migration (`--copy-storage-all` over NBD),
//! libvirt-python's migrate3/migrateToURI3, round trips with Debian's C
//! libvirtd in every mode, C's refusals for the same commands, and
//! rollbacks: an aborted migration, a killed destination and a vanished
//! client leave the guest running on the source and nothing on the
//! destination.
//!
//! The guest is a boot sector (see [`TICK_BOOT`]) that counts in its own
//! memory, prints `TICK NNNNN` on COM1 every 0.2 s and rewrites 576 KiB
//! of low memory each tick, so a bandwidth-limited migration never
//! converges (what the abort and kill tests need). Its serial port is a
//! file both QEMUs append to.
//!
//! Run: `cargo build --bins && cargo test -p driver-qemu --test migration_e2e`.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use test_support::*;

/// The guest's boot sector, without its zero padding and 0x55AA
/// signature; assembled (GNU as, `.code16`, linked at 0x7c00) from:
///
/// ```text
///     cli; xor %ax,%ax; mov %ax,%ds; mov %ax,%ss; mov $0x7c00,%sp; sti
///     movw $0, counter
/// again:
///     incw counter                       # the counter lives in RAM
///     mov counter,%ax; mov $buf_end,%di; mov $5,%cx
/// conv: xor %dx,%dx; mov $10,%bx; div %bx; add $'0',%dl
///     dec %di; mov %dl,(%di); loop conv  # five decimal digits
///     mov $msg,%si; mov $0x3f8,%dx
/// print: lodsb; test %al,%al; jz dirty; out %al,%dx; jmp print
/// dirty: mov $0x1000,%bx                 # rewrite 0x10000..0x9ffff
/// fill: mov %bx,%es; xor %di,%di; mov $0x8000,%cx; mov counter,%ax
///     cld; rep stosw; add $0x1000,%bx; cmp $0xa000,%bx; jne fill
///     mov $0x86,%ah; mov $3,%cx; mov $0x0d40,%dx; int $0x15  # 0.2 s
///     jmp again
/// msg: .ascii "TICK "
/// buf: .ascii "00000"
/// buf_end: .ascii "\r\n"; .byte 0
/// counter: .word 0
/// ```
const TICK_BOOT: [u8; 109] = [
    0xfa, 0x31, 0xc0, 0x8e, 0xd8, 0x8e, 0xd0, 0xbc, 0x00, 0x7c, 0xfb, 0xc7, 0x06, 0x6e, 0x7c, 0x00,
    0x00, 0xff, 0x06, 0x6e, 0x7c, 0xa1, 0x6e, 0x7c, 0xbf, 0x6b, 0x7c, 0xb9, 0x05, 0x00, 0x31, 0xd2,
    0xbb, 0x0a, 0x00, 0xf7, 0xf3, 0x80, 0xc2, 0x30, 0x4f, 0x88, 0x15, 0xe2, 0xf1, 0xbe, 0x61, 0x7c,
    0xba, 0xf8, 0x03, 0xac, 0x84, 0xc0, 0x74, 0x03, 0xee, 0xeb, 0xf8, 0xbb, 0x00, 0x10, 0x8e, 0xc3,
    0x31, 0xff, 0xb9, 0x00, 0x80, 0xa1, 0x6e, 0x7c, 0xfc, 0xf3, 0xab, 0x81, 0xc3, 0x00, 0x10, 0x81,
    0xfb, 0x00, 0xa0, 0x75, 0xe9, 0xb4, 0x86, 0xb9, 0x03, 0x00, 0xba, 0x40, 0x0d, 0xcd, 0x15, 0xeb,
    0xb0, 0x54, 0x49, 0x43, 0x4b, 0x20, 0x30, 0x30, 0x30, 0x30, 0x30, 0x0d, 0x0a,
];

/// One "host": a virtqemud with its own root, socket and host UUID.
struct Host {
    t: TempDir,
    _d: Daemon,
    uri: String,
    _reaper: Reaper,
}

impl Host {
    fn start(tag: &str, digit: char) -> Host {
        let t = TempDir::new(tag);
        let r = reaper(&t);
        let uuid: String = "xxxxxxxx-xxxx-4xxx-8xxx-xxxxxxxxxxxx".replace('x', &digit.to_string());
        // Migration ports of its own: the "hosts" of tests running at the
        // same time share this machine's ports (real hosts do not), and a
        // port found free by two daemons at once is bound by one QEMU only.
        static NEXT: std::sync::atomic::AtomicU16 = std::sync::atomic::AtomicU16::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let min = 61_000 + n * 16;
        let conf_dir = t.join("root/etc/libvirt");
        std::fs::create_dir_all(&conf_dir).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(
            conf_dir.join("qemu.conf"),
            format!(
                "migration_port_min = {min}\nmigration_port_max = {}\n",
                min + 15
            ),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let (d, uri) = start_virtqemud_with(&t, &format!("host_uuid = \"{uuid}\""));
        Host {
            t,
            _d: d,
            uri,
            _reaper: r,
        }
    }

    /// The URI a client or the other daemon reaches this one with.
    fn dest(&self) -> String {
        self.uri.replacen("qemu:", "qemu+unix:", 1)
    }

    fn virsh(&self, args: &[&str]) -> Out {
        virsh_uri(&self.uri, args)
    }

    fn ok(&self, args: &[&str]) -> String {
        let o = self.virsh(args);
        assert!(o.ok, "virsh {args:?}: {}", o.stderr);
        o.stdout
    }

    /// The QEMUs this daemon started.
    fn qemus(&self) -> Vec<u32> {
        qemu_pids(&self.t.path().display().to_string())
    }
}

/// The shared directory with the guest's floppy and serial log, open to
/// QEMU's user.
struct Shared {
    t: TempDir,
}

impl Shared {
    fn new() -> Shared {
        let t = TempDir::new("mig-shared");
        let mut img = vec![0u8; 1_474_560];
        img[..TICK_BOOT.len()].copy_from_slice(&TICK_BOOT);
        img[510] = 0x55;
        img[511] = 0xaa;
        std::fs::write(t.join("tick.img"), img).unwrap();
        std::fs::write(t.join("serial.log"), b"").unwrap();
        for (p, mode) in [("", 0o755), ("tick.img", 0o644), ("serial.log", 0o666)] {
            std::fs::set_permissions(t.join(p), std::fs::Permissions::from_mode(mode)).unwrap();
        }
        Shared { t }
    }

    fn log(&self) -> PathBuf {
        self.t.join("serial.log")
    }

    fn domain_xml(&self, name: &str) -> String {
        format!(
            "<domain type='qemu'>\n  <name>{name}</name>\n  <memory unit='MiB'>32</memory>\n  \
             <vcpu>1</vcpu>\n  <os><type arch='x86_64' machine='pc'>hvm</type><boot dev='fd'/></os>\n  \
             <devices>\n    <disk type='file' device='floppy'><driver name='qemu' type='raw'/>\
             <source file='{}'/><target dev='fda' bus='fdc'/><readonly/></disk>\n    \
             <serial type='file'><source path='{}' append='on'/><target port='0'/></serial>\n  \
             </devices>\n</domain>\n",
            self.t.join("tick.img").display(),
            self.log().display()
        )
    }

    fn write_xml(&self, name: &str) -> PathBuf {
        let p = self.t.join(&format!("{name}.xml"));
        std::fs::write(&p, self.domain_xml(name)).unwrap();
        p
    }

    /// The counter values printed so far, in order.
    fn ticks(&self) -> Vec<u32> {
        text(&std::fs::read(self.log()).unwrap_or_default())
            .lines()
            .filter_map(|l| l.trim().strip_prefix("TICK ")?.trim().parse().ok())
            .collect()
    }

    /// Waits until the counter passed `n`; the values then.
    fn wait_past(&self, n: u32) -> Vec<u32> {
        let mut seen = Vec::new();
        let found = eventually_within(Duration::from_secs(30), || {
            seen = self.ticks();
            seen.last().is_some_and(|l| *l > n)
        });
        assert!(found, "the counter did not pass {n}: {seen:?}");
        seen
    }

    /// The counter never restarted or skipped: 1, 2, 3, ...
    fn assert_continuous(&self) {
        let t = self.ticks();
        for (i, v) in t.iter().enumerate() {
            assert_eq!(
                *v as usize,
                i + 1,
                "the counter broke at line {i}: {:?}",
                &t[i.saturating_sub(3)..(i + 3).min(t.len())]
            );
        }
    }
}

fn skip_reason() -> Option<String> {
    if let Some(why) = qemu_cant_run() {
        return Some(why);
    }
    if !is_root() {
        return Some("the migration tests run the system instance (needs root)".into());
    }
    None
}

fn migrate_bg(src: &Host, args: &[&str]) -> Child {
    Command::new("virsh")
        .arg("-c")
        .arg(&src.uri)
        .arg("migrate")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("virsh")
}

fn finish(child: Child) -> Out {
    Out::from(child.wait_with_output().expect("virsh"))
}

fn domstate(h: &Host, name: &str) -> String {
    h.ok(&["domstate", "--reason", name]).trim().to_string()
}

/// The domain is not on host `h`.
fn assert_absent(h: &Host, name: &str) {
    let e = h.virsh(&["dominfo", name]).failure();
    assert!(e.contains("failed to get domain"), "{e}");
}

/// The source's domain stopped as migrated (or is gone, if it was
/// transient) and its QEMU with it.
fn assert_left(h: &Host, name: &str) {
    let st = h.virsh(&["domstate", "--reason", name]);
    assert!(
        !st.ok || st.stdout.trim() == "shut off (migrated)",
        "{}",
        st.stdout
    );
    assert!(
        eventually(|| h.qemus().is_empty()),
        "QEMU left behind: {:?}",
        h.qemus()
    );
}

#[test]
fn offline_migration_moves_the_definition_both_ways() {
    skip_if!(skip_reason());
    let a = Host::start("mig-off-a", '1');
    let b = Host::start("mig-off-b", '2');
    let s = Shared::new();
    let xml = s.write_xml("offg");
    a.ok(&["define", &xml.display().to_string()]);
    let uuid = a.ok(&["domuuid", "offg"]);

    // Managed by the client: the definition is copied.
    a.ok(&["migrate", "--offline", "--persistent", "offg", &b.dest()]);
    assert_eq!(b.ok(&["domuuid", "offg"]), uuid);
    assert_eq!(domstate(&b, "offg"), "shut off (unknown)");
    assert!(b
        .ok(&["dominfo", "offg"])
        .lines()
        .any(|l| l.starts_with("Persistent:") && l.ends_with("yes")));
    assert!(a.ok(&["list", "--all", "--name"]).contains("offg"));
    assert!(b.qemus().is_empty() && a.qemus().is_empty());

    // Peer to peer back, leaving nothing at the source.
    a.ok(&["undefine", "offg"]);
    b.ok(&[
        "migrate",
        "--offline",
        "--persistent",
        "--undefinesource",
        "--p2p",
        "offg",
        &a.dest(),
    ]);
    assert_eq!(a.ok(&["domuuid", "offg"]), uuid);
    assert_absent(&b, "offg");

    // libvirt's refusals.
    let e = a
        .virsh(&["migrate", "--offline", "offg", &b.dest()])
        .failure();
    assert!(
        e.contains("offline migration must be specified with the persistent flag set"),
        "{e}"
    );
    let e = a
        .virsh(&["migrate", "--offline", "--persistent", "offg", &a.dest()])
        .failure();
    assert!(
        e.contains("Attempt to migrate guest to the same host"),
        "{e}"
    );
    let e = a.virsh(&["migrate", "--live", "offg", &b.dest()]).failure();
    assert!(e.contains("domain is not running"), "{e}");
    assert_absent(&b, "offg");
}

#[test]
fn running_guest_migrates_back_and_forth_and_keeps_counting() {
    skip_if!(skip_reason());
    let a = Host::start("mig-live-a", '3');
    let b = Host::start("mig-live-b", '4');
    let s = Shared::new();
    let xml = s.write_xml("tick");
    a.ok(&["define", &xml.display().to_string()]);
    a.ok(&["start", "tick"]);
    s.wait_past(3);
    let (mut src, mut dst) = (&a, &b);
    for round in 0..6 {
        let p2p = round % 2 == 1;
        let before = src.qemus();
        assert_eq!(before.len(), 1, "one QEMU on the source: {before:?}");
        let last = *s.ticks().last().unwrap_or(&0);
        // Both sides' events for one round of each mode.
        let events = (round < 2).then(|| {
            [src, dst].map(|h| {
                Command::new("virsh")
                    .args(["-c", &h.uri, "event", "--all", "--loop", "--timeout", "20"])
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .expect("virsh event")
            })
        });
        std::thread::sleep(Duration::from_millis(300));
        let dest = dst.dest();
        let mut args = vec!["migrate", "--live", "--verbose"];
        if p2p {
            args.push("--p2p");
        }
        args.extend(["tick", dest.as_str()]);
        let t0 = Instant::now();
        let out = src.virsh(&args);
        let took = t0.elapsed();
        assert!(out.ok, "round {round}: {}", out.stderr);
        eprintln!(
            "round {round} ({}): migration took {took:?}",
            if p2p { "p2p" } else { "direct" }
        );
        assert_eq!(domstate(dst, "tick"), "running (migrated)");
        assert_left(src, "tick");
        let after = dst.qemus();
        assert_eq!(after.len(), 1, "one QEMU on the destination: {after:?}");
        assert!(!before.contains(&after[0]), "a new QEMU runs the guest");
        // The counter in guest memory continues where it was.
        s.wait_past(last + 3);
        s.assert_continuous();
        if let Some([src_ev, dst_ev]) = events {
            let (src_ev, dst_ev) = (finish(src_ev).stdout, finish(dst_ev).stdout);
            for want in ["Suspended Migrated", "Stopped Migrated"] {
                assert!(
                    src_ev.contains(want),
                    "source events lack {want}:\n{src_ev}"
                );
            }
            for want in ["Started Migrated", "Resumed Migrated"] {
                assert!(
                    dst_ev.contains(want),
                    "destination events lack {want}:\n{dst_ev}"
                );
            }
        }
        let job = src.virsh(&["domjobinfo", "--completed", "tick"]);
        // The source's domain is gone: its statistics with it.
        assert!(
            !job.ok || job.stdout.contains("Completed"),
            "{}",
            job.stdout
        );
        std::mem::swap(&mut src, &mut dst);
    }
    src.ok(&["destroy", "tick"]);
    assert!(eventually(|| src.qemus().is_empty()));
}

#[test]
fn aborted_migration_and_killed_destination_leave_the_guest_on_the_source() {
    skip_if!(skip_reason());
    let a = Host::start("mig-abort-a", '5');
    let b = Host::start("mig-abort-b", '6');
    let s = Shared::new();
    let xml = s.write_xml("stay");
    a.ok(&["define", &xml.display().to_string()]);
    a.ok(&["start", "stay"]);
    s.wait_past(2);
    let pid = a.qemus();
    assert_eq!(pid.len(), 1);
    assert_eq!(
        a.ok(&["migrate-getspeed", "stay"]).trim(),
        "8796093022207",
        "unlimited, as libvirt says it"
    );
    // 1 MiB/s against a guest rewriting 576 KiB every 0.2 s: the stream
    // never converges, the migration runs until stopped.
    a.ok(&["migrate-setspeed", "stay", "1"]);
    assert_eq!(a.ok(&["migrate-getspeed", "stay"]).trim(), "1");
    a.ok(&["migrate-setmaxdowntime", "stay", "50"]);
    assert_eq!(a.ok(&["migrate-getmaxdowntime", "stay"]).trim(), "50");
    let e = a.virsh(&["domjobabort", "stay"]).failure();
    assert!(e.contains("no job is active on the domain"), "{e}");

    for (kind, mode) in [
        ("abort", "direct"),
        ("kill", "direct"),
        ("abort", "p2p"),
        ("client", "direct"),
    ] {
        let dest = b.dest();
        let mut args = vec!["--live"];
        if mode == "p2p" {
            args.push("--p2p");
        }
        args.extend(["stay", dest.as_str()]);
        let child = migrate_bg(&a, &args);
        let mut info = String::new();
        let running = eventually_within(Duration::from_secs(20), || {
            info = a.virsh(&["domjobinfo", "stay"]).stdout;
            info.contains("Unbounded") && b.qemus().len() == 1
        });
        assert!(running, "{kind}/{mode}: no migration job: {info}");
        assert!(info.contains("Outgoing migration"), "{info}");
        match kind {
            "abort" => {
                a.ok(&["domjobabort", "stay"]);
                let err = finish(child).failure();
                assert!(
                    err.contains("operation aborted: job 'migration out' canceled by client"),
                    "{err}"
                );
            }
            "kill" => {
                for p in b.qemus() {
                    let _ = host::process::kill(p, 9);
                }
                let err = finish(child).failure();
                assert!(err.contains("migration out"), "{err}");
            }
            _ => {
                // The client dies half-way: the destination drops what
                // it prepared for it, which ends the stream.
                let mut child = child;
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        assert!(
            eventually_within(Duration::from_secs(30), || a
                .virsh(&["domjobinfo", "stay"])
                .stdout
                .contains("None")),
            "{kind}/{mode}: the migration job did not end"
        );
        // The guest runs on at the source, in the same QEMU.
        assert!(
            eventually(|| domstate(&a, "stay").starts_with("running")),
            "{}",
            domstate(&a, "stay")
        );
        assert_eq!(a.qemus(), pid);
        let last = *s.ticks().last().unwrap_or(&0);
        s.wait_past(last + 2);
        s.assert_continuous();
        // Nothing on the destination, which still serves.
        assert!(
            eventually(|| b.qemus().is_empty()),
            "destination QEMU left: {:?}",
            b.qemus()
        );
        assert_absent(&b, "stay");
        b.ok(&["list", "--all"]);
    }

    // Unlimited again, the guest moves.
    a.ok(&["migrate-setspeed", "stay", "8796093022207"]);
    a.ok(&["migrate", "--live", "stay", &b.dest()]);
    assert_eq!(domstate(&b, "stay"), "running (migrated)");
    assert_left(&a, "stay");
    b.ok(&["destroy", "stay"]);
}

#[test]
fn guest_migrates_between_c_libvirtd_and_ours_in_every_mode() {
    skip_if!(skip_reason());
    let s = Shared::new();
    let ct = TempDir::new("mig-c");
    // C's host UUID is this machine's; ours are the configured ones.
    let Some((cd, csock)) =
        start_c_libvirtd_with(&ct, &["qemu"], Some("stdio_handler = \"file\"\n"))
    else {
        return;
    };
    let c = Host {
        t: ct,
        _d: cd,
        uri: format!("qemu+unix:///system?socket={}", csock.display()),
        // C's QEMUs name the shared directory's files (the slash keeps
        // other tests' shared directories, `...-1` vs `...-12`, apart).
        _reaper: Reaper(format!("{}/", s.t.path().display())),
    };
    let ours = Host::start("mig-c-ours", '8');
    let xml = s.write_xml("ctick");
    c.ok(&["define", &xml.display().to_string()]);
    c.ok(&["start", "ctick"]);
    s.wait_past(3);
    let rounds: [(&Host, &Host, bool, &str); 4] = [
        (&c, &ours, false, "C to ours, client-managed"),
        (&ours, &c, true, "ours to C, peer-to-peer from ours"),
        (&c, &ours, true, "C to ours, peer-to-peer from C"),
        (&ours, &c, false, "ours to C, client-managed"),
    ];
    for (src, dst, p2p, what) in rounds {
        let last = *s.ticks().last().unwrap_or(&0);
        let dest = dst.dest();
        let mut args = vec!["migrate", "--live"];
        if p2p {
            args.push("--p2p");
        }
        args.extend(["ctick", dest.as_str()]);
        let t0 = Instant::now();
        let out = src.virsh(&args);
        assert!(out.ok, "{what}: {}", out.stderr);
        eprintln!("{what}: migration took {:?}", t0.elapsed());
        assert_eq!(domstate(dst, "ctick"), "running (migrated)", "{what}");
        let st = src.virsh(&["domstate", "--reason", "ctick"]);
        assert!(
            !st.ok || st.stdout.trim() == "shut off (migrated)",
            "{what}: {}",
            st.stdout
        );
        s.wait_past(last + 3);
        s.assert_continuous();
    }
    assert!(ours.qemus().is_empty());
    c.ok(&["destroy", "ctick"]);
}

#[test]
fn migration_refusals_match_c_libvirtd() {
    skip_if!(skip_reason());
    let s = Shared::new();
    let ct = TempDir::new("mig-cdiff");
    let Some((_cd, csock)) =
        start_c_libvirtd_with(&ct, &["qemu"], Some("stdio_handler = \"file\"\n"))
    else {
        return;
    };
    let c_uri = format!("qemu+unix:///system?socket={}", csock.display());
    let ours = Host::start("mig-cdiff-ours", '9');
    let xml = s.write_xml("refused");
    let dest = ours.dest();
    let cases: &[&[&str]] = &[
        &["migrate", "--offline", "refused", &dest],
        &[
            "migrate",
            "--offline",
            "--persistent",
            "--copy-storage-all",
            "refused",
            &dest,
        ],
        &["migrate", "--live", "refused", &dest],
        &["migrate", "--live", "--postcopy", "refused", &dest],
        &["migrate", "--tunnelled", "refused", &dest],
        &["domjobabort", "refused"],
        &["domjobinfo", "refused"],
        &["migrate-getspeed", "refused"],
        &["migrate-setspeed", "refused", "8796093022208"],
        &["migrate-setmaxdowntime", "refused", "100"],
        &["migrate-getmaxdowntime", "refused"],
    ];
    let answers = |uri: &str| -> Vec<(bool, String, String)> {
        let out = virsh_uri(uri, &["define", &xml.display().to_string()]);
        assert!(out.ok, "{uri}: {}", out.stderr);
        cases
            .iter()
            .map(|args| {
                let o = virsh_uri(uri, args);
                (
                    o.ok,
                    o.stdout.trim().to_string(),
                    o.stderr.trim().to_string(),
                )
            })
            .collect()
    };
    let theirs = answers(&c_uri);
    let mine = answers(&ours.uri);
    for ((args, c), o) in cases.iter().zip(&theirs).zip(&mine) {
        assert_eq!(o, c, "virsh {args:?}: ours vs C libvirtd");
    }
}

/// libvirt-python's migrate3 (client-managed) and migrateToURI3
/// (peer-to-peer) with typed parameters: a new name on the destination,
/// a bandwidth, and the job statistics of the finished migration.
const PY_MIGRATE: &str = r#"
import sys, libvirt
src = libvirt.open(sys.argv[1])
dst = libvirt.open(sys.argv[2])
dom = src.lookupByName("py")
moved = dom.migrate3(dst, {libvirt.VIR_MIGRATE_PARAM_DEST_NAME: "py-moved",
                           libvirt.VIR_MIGRATE_PARAM_BANDWIDTH: 1000},
                     libvirt.VIR_MIGRATE_LIVE)
print("moved", moved.name(), moved.state()[0] == libvirt.VIR_DOMAIN_RUNNING)
stats = dom.jobStats(libvirt.VIR_DOMAIN_JOB_STATS_COMPLETED)
print("stats", stats.get("type") == libvirt.VIR_DOMAIN_JOB_COMPLETED,
      stats.get("operation") == libvirt.VIR_DOMAIN_JOB_OPERATION_MIGRATION_OUT,
      stats.get("memory_total", 0) > 0)
print("source", dom.state()[0] == libvirt.VIR_DOMAIN_SHUTOFF,
      dom.state()[1] == libvirt.VIR_DOMAIN_SHUTOFF_MIGRATED)
moved.migrateToURI3(sys.argv[3], {libvirt.VIR_MIGRATE_PARAM_DEST_NAME: "py"},
                    libvirt.VIR_MIGRATE_LIVE | libvirt.VIR_MIGRATE_PEER2PEER)
back = src.lookupByName("py")
print("back", back.isActive() == 1, back.state()[1] == libvirt.VIR_DOMAIN_RUNNING_MIGRATED)
try:
    dst.lookupByName("py-moved")
    print("left", True)
except libvirt.libvirtError:
    print("left", False)
"#;

#[test]
fn libvirt_python_migrates_with_typed_parameters() {
    skip_if!(skip_reason());
    if !python_available() {
        return skip("libvirt-python is not installed");
    }
    let a = Host::start("mig-py-a", 'a');
    let b = Host::start("mig-py-b", 'b');
    let s = Shared::new();
    let xml = s.write_xml("py");
    a.ok(&["define", &xml.display().to_string()]);
    a.ok(&["start", "py"]);
    s.wait_past(2);
    let out = python(PY_MIGRATE, &[&a.uri, &b.uri, &a.dest()]);
    assert!(out.ok, "{}{}", out.stdout, out.stderr);
    assert_eq!(
        out.stdout.trim(),
        "moved py-moved True\nstats True True True\nsource True True\nback True True\nleft False"
    );
    let last = *s.ticks().last().unwrap_or(&0);
    s.wait_past(last + 2);
    s.assert_continuous();
    a.ok(&["destroy", "py"]);
}

#[test]
fn storage_migration_copies_the_disk_over_nbd_both_ways() {
    skip_if!(skip_reason());
    let a = Host::start("mig-nbd-a", 'c');
    let b = Host::start("mig-nbd-b", 'd');
    let s = Shared::new();
    // Each side's copy of the guest's data disk (one host, two files).
    let (img_a, img_b) = (s.t.join("disk-a.img"), s.t.join("disk-b.img"));
    let data: Vec<u8> = (0..4u32 << 20)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    std::fs::write(&img_a, &data).unwrap();
    std::fs::write(&img_b, vec![0u8; data.len()]).unwrap();
    for p in [&img_a, &img_b] {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o666)).unwrap();
    }
    let disk = |p: &PathBuf| {
        format!(
            "<disk type='file' device='disk'><driver name='qemu' type='raw'/>\
             <source file='{}'/><target dev='vda' bus='virtio'/></disk>\n  </devices>",
            p.display()
        )
    };
    let xml = s.domain_xml("nbd").replace("</devices>", &disk(&img_a));
    let path = s.t.join("nbd.xml");
    std::fs::write(&path, xml).unwrap();
    a.ok(&["define", &path.display().to_string()]);
    a.ok(&["start", "nbd"]);
    s.wait_past(2);

    // A local disk is not migrated without a copy, as libvirt refuses.
    let e = a.virsh(&["migrate", "--live", "nbd", &b.dest()]).failure();
    assert!(
        e.contains("Unsafe migration: Migration without shared storage is unsafe"),
        "{e}"
    );
    assert_eq!(domstate(&a, "nbd"), "running (booted)");

    let (mut src, mut dst) = (&a, &b);
    let (mut from, mut to) = (&img_a, &img_b);
    for round in 0..2 {
        let p2p = round == 1;
        // The destination's definition names its own copy of the disk.
        let live = src.ok(&["dumpxml", "--migratable", "nbd"]);
        let dxml = s.t.join(&format!("dest-{round}.xml"));
        std::fs::write(
            &dxml,
            live.replace(&from.display().to_string(), &to.display().to_string()),
        )
        .unwrap();
        let last = *s.ticks().last().unwrap_or(&0);
        let dest = dst.dest();
        let dxml_s = dxml.display().to_string();
        let mut args = vec!["migrate", "--live", "--copy-storage-all", "--xml", &dxml_s];
        if p2p {
            args.push("--p2p");
        }
        args.extend(["nbd", dest.as_str()]);
        let t0 = Instant::now();
        let out = src.virsh(&args);
        assert!(out.ok, "round {round}: {}", out.stderr);
        eprintln!(
            "storage round {round} ({}): {:?}",
            if p2p { "p2p" } else { "direct" },
            t0.elapsed()
        );
        assert_eq!(domstate(dst, "nbd"), "running (migrated)");
        assert_left(src, "nbd");
        assert!(
            std::fs::read(to).unwrap() == data,
            "round {round}: the destination's disk is not a copy of the source's"
        );
        let dumped = dst.ok(&["dumpxml", "nbd"]);
        assert!(dumped.contains(&to.display().to_string()), "{dumped}");
        s.wait_past(last + 2);
        s.assert_continuous();
        std::mem::swap(&mut src, &mut dst);
        std::mem::swap(&mut from, &mut to);
        // The old source's file, no longer open, is blanked: the next
        // round's copy must fill it again.
        std::fs::write(to, vec![0u8; data.len()]).unwrap();
    }
    src.ok(&["destroy", "nbd"]);
}

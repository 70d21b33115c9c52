// SPDX-License-Identifier: LGPL-2.1-or-later
//! The QEMU guest agent end to end: the test guest (TCG) with Debian's
//! qemu-ga added to its initramfs and started from its console, driven by
//! the real virsh and libvirt-python through virtqemud: the agent
//! lifecycle event, `qemu-agent-command`, `guestinfo`, `domtime`,
//! `domfsfreeze`/`domfsthaw`, `guestvcpus`, `domifaddr --source agent`
//! and `shutdown --mode agent`; a guest without an agent gets libvirt's
//! errors, the same as Debian's C libvirtd gives, and so does a second
//! client of a busy console (taken over only with FORCE). The `on_reboot` and
//! `on_poweroff` actions: a guest's own reboot ends it with
//! on_reboot=destroy, its power off restarts it with on_poweroff=restart;
//! `vcpuinfo` shows the vCPU thread's affinity and `vcpupin --live` sets it.
//!
//! Run: `cargo build --bins && cargo test -p driver-qemu --test agent_e2e`.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use test_support::*;

fn err(o: &Out, what: &str) -> String {
    assert!(!o.ok, "{what} succeeded: {}", o.stdout);
    o.stderr.trim().to_string()
}

/// Prints each agent lifecycle event of the daemon at argv[1] until
/// killed.
const AGENT_EVENTS: &str = r#"
import sys, libvirt
libvirt.virEventRegisterDefaultImpl()
c = libvirt.open(sys.argv[1])
def cb(conn, dom, state, reason, opaque):
    print("agent %s %d %d" % (dom.name(), state, reason), flush=True)
c.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_AGENT_LIFECYCLE, cb, None)
libvirt.virEventAddTimeout(200, lambda t, o: None, None)
print("ready", flush=True)
while True:
    libvirt.virEventRunDefaultImpl()
"#;

/// The test guest with the agent in its initramfs, its agent channel
/// (socket path left to the daemon), its shell on a Unix socket and
/// ttyS1 into `serial`.
fn agent_guest_xml(
    g: &TestGuest,
    initrd: &std::path::Path,
    console: &std::path::Path,
    serial: &std::path::Path,
) -> String {
    format!(
        "<domain type='qemu'>\n  <name>agent</name>\n  <memory unit='MiB'>192</memory>\n  \
         <vcpu>1</vcpu>\n  <os><type arch='x86_64' machine='pc'>hvm</type><kernel>{}</kernel>\
         <initrd>{}</initrd><cmdline>{}</cmdline></os>\n  <features><acpi/></features>\n  \
         <devices>\n    <serial type='unix'><source mode='bind' path='{}'/><target port='0'/></serial>\n    \
         <serial type='file'><source path='{}'/><target port='1'/></serial>\n    \
         <channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>\n  \
         </devices>\n</domain>\n",
        g.vmlinux.display(),
        initrd.display(),
        g.cmdline,
        console.display(),
        serial.display()
    )
}

/// A guest without an agent that needs no kernel: a looping boot sector.
fn floppy_xml(floppy: &std::path::Path) -> String {
    format!(
        "<domain type='qemu'>\n  <name>noagent</name>\n  <memory unit='MiB'>32</memory>\n  \
         <vcpu>1</vcpu>\n  <os><type arch='x86_64' machine='pc'>hvm</type><boot dev='fd'/></os>\n  \
         <devices>\n    <emulator>{}</emulator>\n    <disk type='file' device='floppy'>\n      \
         <source file='{}'/>\n      <target dev='fda' bus='fdc'/>\n    </disk>\n    \
         <serial type='pty'><target port='0'/></serial>\n  </devices>\n</domain>\n",
        QEMU,
        floppy.display()
    )
}

/// Opens the console of domain argv[2] twice, then with FORCE; prints
/// what each open gave and whether the first stream ended.
const CONSOLE_STEAL: &str = r#"
import sys, libvirt
c = libvirt.open(sys.argv[1])
d = c.lookupByName(sys.argv[2])
s1 = c.newStream(0)
d.openConsole(None, s1, 0)
print("first: opened")
s2 = c.newStream(0)
try:
    d.openConsole(None, s2, 0)
    print("second: opened")
except libvirt.libvirtError as e:
    print("second: %d %d %s" % (e.get_error_code(), e.get_error_domain(), e.get_error_message()))
s3 = c.newStream(0)
d.openConsole(None, s3, libvirt.VIR_DOMAIN_CONSOLE_FORCE)
print("forced: opened")
try:
    while True:
        data = s1.recv(4096)
        if not data:
            break
except libvirt.libvirtError:
    pass
print("first: ended")
"#;

/// What virsh answers for agent calls on a running guest without an
/// agent, one line per call.
fn agentless_errors(uri: &str) -> Vec<String> {
    [
        vec![
            "qemu-agent-command",
            "noagent",
            r#"{"execute":"guest-ping"}"#,
        ],
        vec!["domtime", "noagent"],
        vec!["domfsfreeze", "noagent"],
        vec!["guestinfo", "noagent", "--hostname"],
        vec!["shutdown", "--mode", "agent", "noagent"],
    ]
    .iter()
    .map(|args| err(&virsh_uri(uri, args), &args.join(" ")))
    .collect()
}

#[test]
fn agent_less_guest_gets_libvirts_errors_and_its_console_is_taken_over_only_by_force_like_c_libvirtd(
) {
    if !system_qemu_or_skip() {
        return;
    }
    let t = TempDir::new("qemu-noagent");
    let _reaper = reaper(&t);
    let floppy = t.join("boot.img");
    boot_floppy(&floppy);
    let xml = t.join("noagent.xml");
    std::fs::write(&xml, floppy_xml(&floppy)).unwrap_or_else(|e| panic!("{e}"));
    let xml = xml.display().to_string();

    let (_d, uri) = start_virtqemud(&t);
    ok(&virsh_uri(&uri, &["define", &xml]), "define");
    ok(&virsh_uri(&uri, &["start", "noagent"]), "start");
    let ours = agentless_errors(&uri);
    let our_console = ok(&python(CONSOLE_STEAL, &[&uri, "noagent"]), "console steal");
    assert!(
        our_console.contains(
            "second: 9 10 operation failed: Active console session exists for this domain"
        ),
        "{our_console}"
    );
    assert!(
        our_console.ends_with("forced: opened\nfirst: ended\n"),
        "{our_console}"
    );
    assert!(
        ours[0].contains("argument unsupported: QEMU guest agent is not configured"),
        "{ours:?}"
    );
    ok(&virsh_uri(&uri, &["destroy", "noagent"]), "destroy");
    ok(&virsh_uri(&uri, &["undefine", "noagent"]), "undefine");

    let Some((_c, sock)) = start_c_libvirtd_with(
        &t,
        &["qemu"],
        Some("stdio_handler = \"file\"\nuser = \"root\"\ngroup = \"root\"\n"),
    ) else {
        return;
    };
    let c_uri = format!("qemu:///system?socket={}", sock.display());
    ok(&virsh_uri(&c_uri, &["define", &xml]), "define (C)");
    ok(&virsh_uri(&c_uri, &["start", "noagent"]), "start (C)");
    let theirs = agentless_errors(&c_uri);
    let their_console = ok(
        &python(CONSOLE_STEAL, &[&c_uri, "noagent"]),
        "console steal (C)",
    );
    let _ = virsh_uri(&c_uri, &["destroy", "noagent"]);
    let _ = virsh_uri(&c_uri, &["undefine", "noagent"]);
    assert_eq!(ours, theirs);
    assert_eq!(our_console, their_console);
}

#[test]
fn a_guest_agent_answers_virsh_and_shuts_its_guest_down() {
    let Some(g) = linux_guest_or_skip() else {
        return;
    };
    if !python_available() {
        return skip("libvirt-python is not installed");
    }
    let initrd = match agent_initrd(&g) {
        Ok(i) => i,
        Err(e) => return skip(format!("no guest agent: {e}")),
    };
    let t = TempDir::new("qemu-agent");
    let _reaper = reaper(&t);
    let (_d, uri) = start_virtqemud(&t);
    let (console, serial) = (t.join("console.sock"), t.join("serial1.log"));
    let xml = t.join("agent.xml");
    std::fs::write(&xml, agent_guest_xml(&g, &initrd, &console, &serial))
        .unwrap_or_else(|e| panic!("{e}"));
    ok(
        &virsh_uri(&uri, &["define", &xml.display().to_string()]),
        "define",
    );

    let mut events = Command::new(PYTHON)
        .args(["-u", "-c", AGENT_EVENTS, &uri])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("python: {e}"));
    let mut ev_out = events.stdout.take().unwrap_or_else(|| panic!("no stdout"));
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for l in std::io::BufReader::new(&mut ev_out)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(l);
        }
    });
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(30)).as_deref(),
        Ok("ready"),
        "the event listener did not start"
    );

    ok(&virsh_uri(&uri, &["start", "agent"]), "start");
    let (booted, log) = wait_for_marker(&serial, "GUEST-BOOT-OK", Duration::from_secs(90));
    assert!(booted, "{log}");
    // The live definition names the socket the daemon made.
    let live = ok(&virsh_uri(&uri, &["dumpxml", "agent"]), "dumpxml");
    assert!(
        live.contains("/channel/target/domain-1-agent/org.qemu.guest_agent.0'"),
        "{live}"
    );
    // Not started yet: configured but not connected.
    let ping = r#"{"execute":"guest-ping"}"#;
    let e = err(
        &virsh_uri(&uri, &["qemu-agent-command", "agent", ping]),
        "early ping",
    );
    assert!(
        e.contains("Guest agent is not responding: QEMU guest agent is not connected"),
        "{e}"
    );

    let mut sock = std::os::unix::net::UnixStream::connect(&console)
        .unwrap_or_else(|e| panic!("{}: {e}", console.display()));
    sock.write_all(format!("{}\n", AGENT_START).as_bytes())
        .unwrap_or_else(|e| panic!("console: {e}"));
    // The guest opening its port is the agent's connection.
    let first = rx.recv_timeout(Duration::from_secs(60));
    assert_eq!(
        first.as_deref(),
        Ok("agent agent 1 2"),
        "no agent connected event"
    );
    assert!(ok(&virsh_uri(&uri, &["dumpxml", "agent"]), "dumpxml").contains("state='connected'"));

    let out = ok(
        &virsh_uri(&uri, &["qemu-agent-command", "agent", ping]),
        "ping",
    );
    assert_eq!(out.trim(), r#"{"return":{}}"#);
    let info = ok(
        &virsh_uri(
            &uri,
            &["qemu-agent-command", "agent", r#"{"execute":"guest-info"}"#],
        ),
        "guest-info",
    );
    let info: serde_json::Value =
        serde_json::from_str(info.trim()).unwrap_or_else(|e| panic!("{info}: {e}"));
    assert!(
        info["return"]["version"]
            .as_str()
            .is_some_and(|v| v.starts_with("7.")),
        "{info}"
    );
    // An agent error is libvirt's internal error naming the command.
    let e = err(
        &virsh_uri(
            &uri,
            &[
                "qemu-agent-command",
                "agent",
                r#"{"execute":"no-such-thing"}"#,
            ],
        ),
        "unknown command",
    );
    assert!(
        e.contains("internal error: unable to execute QEMU agent command 'no-such-thing'"),
        "{e}"
    );

    let gi = ok(
        &virsh_uri(&uri, &["guestinfo", "agent", "--os", "--hostname"]),
        "guestinfo",
    );
    let kernel =
        std::fs::read_to_string(g.vmlinux.with_file_name("kernel.version")).unwrap_or_default();
    assert!(gi.contains("os.kernel-release"), "{gi}");
    if !kernel.trim().is_empty() {
        assert!(gi.contains(kernel.trim()), "{gi} lacks {kernel}");
    }
    assert!(gi.lines().any(|l| l.starts_with("hostname")), "{gi}");

    // The guest's clock, set from the host's and read back.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    ok(
        &virsh_uri(&uri, &["domtime", "agent", "--time", &now.to_string()]),
        "domtime --time",
    );
    let tm = ok(
        &virsh_uri(&uri, &["domtime", "agent", "--pretty"]),
        "domtime",
    );
    assert!(tm.starts_with("Time: "), "{tm}");
    let secs = ok(&virsh_uri(&uri, &["domtime", "agent"]), "domtime");
    let secs: u64 = secs
        .trim()
        .trim_start_matches("Time: ")
        .parse()
        .unwrap_or_else(|e| panic!("{secs}: {e}"));
    assert!(secs >= now, "{secs} < {now}");

    // The initramfs has nothing to freeze.
    let f = ok(&virsh_uri(&uri, &["domfsfreeze", "agent"]), "domfsfreeze");
    assert!(f.contains("Froze 0 filesystem(s)"), "{f}");
    let f = ok(&virsh_uri(&uri, &["domfsthaw", "agent"]), "domfsthaw");
    assert!(f.contains("Thawed 0 filesystem(s)"), "{f}");

    let v = ok(&virsh_uri(&uri, &["guestvcpus", "agent"]), "guestvcpus");
    assert!(v.contains("vcpus          : 0"), "{v}");
    assert!(v.contains("online         : 0"), "{v}");

    let a = ok(
        &virsh_uri(&uri, &["domifaddr", "agent", "--source", "agent"]),
        "domifaddr",
    );
    assert!(a.contains("127.0.0.1/8"), "{a}");

    // The agent powers the guest off: the domain ends as shut down.
    ok(
        &virsh_uri(&uri, &["shutdown", "--mode", "agent", "agent"]),
        "shutdown --mode agent",
    );
    assert!(
        eventually_within(Duration::from_secs(60), || domstate(&uri, "agent")
            == "shut off (shutdown)"),
        "{}",
        domstate(&uri, "agent")
    );
    let second = rx.recv_timeout(Duration::from_secs(10));
    assert_eq!(
        second.as_deref(),
        Ok("agent agent 2 2"),
        "no agent disconnected event"
    );
    let _ = events.kill();
    let _ = events.wait();
    ok(&virsh_uri(&uri, &["undefine", "agent"]), "undefine");
}

/// The test guest without the agent, its shell on the Unix socket
/// `console`, ttyS1 into `serial`, with lifecycle actions `actions`
/// (`<on_reboot>destroy</on_reboot>` ...).
fn actions_xml(
    g: &TestGuest,
    console: &std::path::Path,
    serial: &std::path::Path,
    actions: &str,
) -> String {
    format!(
        "<domain type='qemu'>\n  <name>acts</name>\n  <uuid>7a3c6f0e-5b1d-4c2e-9f8a-0d1e2f3a4b5c</uuid>\n  <memory unit='MiB'>160</memory>\n  \
         <vcpu>1</vcpu>\n  {}\n  <features><acpi/></features>\n  {actions}\n  <devices>\n    \
         <serial type='unix'><source mode='bind' path='{}'/><target port='0'/></serial>\n    \
         <serial type='file'><source path='{}'/><target port='1'/></serial>\n  \
         </devices>\n</domain>\n",
        g.os_xml(),
        console.display(),
        serial.display()
    )
}

#[test]
fn on_reboot_destroy_ends_a_rebooting_guest_on_poweroff_restart_restarts_it_and_vcpupin_moves_its_thread(
) {
    let Some(g) = linux_guest_or_skip() else {
        return;
    };
    let t = TempDir::new("qemu-actions");
    let _reaper = reaper(&t);
    let (_d, uri) = start_virtqemud(&t);
    let (console, serial) = (t.join("console.sock"), t.join("serial1.log"));

    // The guest reboots itself: with on_reboot=destroy that is its end.
    define_xml(
        &t,
        &uri,
        "acts",
        &actions_xml(&g, &console, &serial, "<on_reboot>destroy</on_reboot>"),
    );
    start_and_boot(&uri, "acts", &serial);
    let pid = guest_pid(&t, "acts");
    let cmdline = text(&std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default());
    assert!(cmdline.contains("-no-shutdown"), "{cmdline}");
    let mut sock = std::os::unix::net::UnixStream::connect(&console)
        .unwrap_or_else(|e| panic!("{}: {e}", console.display()));
    sock.write_all(b"reboot\n")
        .unwrap_or_else(|e| panic!("console: {e}"));
    assert!(
        eventually_within(Duration::from_secs(60), || domstate(&uri, "acts")
            == "shut off (shutdown)"),
        "{}",
        domstate(&uri, "acts")
    );
    drop(sock);

    // Its power off, with on_poweroff=restart, starts it again in the
    // same QEMU.
    define_xml(
        &t,
        &uri,
        "acts",
        &actions_xml(&g, &console, &serial, "<on_poweroff>restart</on_poweroff>"),
    );
    start_and_boot(&uri, "acts", &serial);
    let pid = guest_pid(&t, "acts");
    ok(&virsh_uri(&uri, &["shutdown", "acts"]), "shutdown");
    let mut log = String::new();
    assert!(
        eventually_within(Duration::from_secs(90), || {
            log = std::fs::read(&serial).map(|b| text(&b)).unwrap_or_default();
            log.matches("GUEST-BOOT-OK").count() == 2
        }),
        "no second boot:\n{log}"
    );
    assert!(
        eventually_within(Duration::from_secs(10), || domstate(&uri, "acts")
            == "running (booted)"),
        "{}",
        domstate(&uri, "acts")
    );
    assert_eq!(guest_pid(&t, "acts"), pid);

    // vcpuinfo shows the vCPU thread's real affinity, vcpupin changes it.
    let ncpu = std::thread::available_parallelism().map_or(1, |n| n.get());
    let info = ok(&virsh_uri(&uri, &["vcpuinfo", "acts"]), "vcpuinfo");
    assert!(info.contains("State:          running"), "{info}");
    let last = ncpu - 1;
    ok(
        &virsh_uri(&uri, &["vcpupin", "acts", "0", &last.to_string(), "--live"]),
        "vcpupin",
    );
    let info = ok(&virsh_uri(&uri, &["vcpuinfo", "acts"]), "vcpuinfo");
    let want = format!("{}y", "-".repeat(last));
    assert!(info.contains(&format!("CPU Affinity:   {want}")), "{info}");
    // The kernel agrees: QEMU's thread "CPU 0/TCG" may run on that CPU only.
    let allowed: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|d| {
            d.flatten()
                .filter(|t| {
                    std::fs::read_to_string(t.path().join("comm"))
                        .is_ok_and(|c| c.starts_with("CPU 0/"))
                })
                .filter_map(|t| std::fs::read_to_string(t.path().join("status")).ok())
                .filter_map(|st| {
                    st.lines()
                        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
                        .map(|v| v.trim().to_string())
                })
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(allowed, [last.to_string()]);
    ok(&virsh_uri(&uri, &["destroy", "acts"]), "destroy");
    ok(&virsh_uri(&uri, &["undefine", "acts"]), "undefine");
}

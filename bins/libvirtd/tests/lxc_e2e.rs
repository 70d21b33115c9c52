// SPDX-License-Identifier: LGPL-2.1-or-later
//! Real containers through lxc:///system on our libvirtd, driven by the
//! real virsh and libvirt-python; the daemon is killed with SIGKILL and
//! restarted while containers run.

mod common;
use common::*;
use std::path::Path;

/// Why this machine cannot run the container tests, if it cannot.
fn cannot_run() -> Option<String> {
    if !is_root() {
        return Some("needs root".into());
    }
    if let Some(why) = missing_busybox() {
        return Some(why);
    }
    if !lxc_binary().exists() {
        return Some(format!(
            "{} is not built (cargo build --workspace --bins)",
            lxc_binary().display()
        ));
    }
    if !have("virsh") {
        return Some("needs virsh (apt-get install libvirt-clients)".into());
    }
    None
}

fn rootfs(dir: &Path) -> std::path::PathBuf {
    BusyboxRoot::new(dir.join("rootfs"))
        .applets(&["sh", "sleep", "cat", "echo", "ls", "hostname"])
        .build()
}

fn ct_xml(name: &str, root: &Path, mem_mib: u32) -> String {
    format!(
        "<domain type='lxc'>\n  <name>{name}</name>\n  <memory unit='MiB'>{mem_mib}</memory>\n  <os>\n    <type>exe</type>\n    <init>/bin/sh</init>\n  </os>\n  <devices>\n    <filesystem type='mount'><source dir='{}'/><target dir='/'/></filesystem>\n    <console type='pty'/>\n  </devices>\n</domain>\n",
        root.display()
    )
}

fn init_pid_of(d: &Daemon, name: &str) -> u32 {
    // the domain id is the controller's pid; its child is the container's init
    let id: u32 = virsh_uri(&d.uri("lxc"), &["domid", name])
        .success()
        .trim()
        .parse()
        .unwrap();
    let children =
        std::fs::read_to_string(format!("/proc/{id}/task/{id}/children")).unwrap_or_default();
    children
        .split_whitespace()
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or(id)
}

#[test]
fn container_lifecycle_with_virsh_and_restart() {
    skip_if!(cannot_run());
    let mut d = Daemon::start();
    let uri = d.uri("lxc");
    let root = rootfs(d.dir.path());
    let xml = d.dir.path().join("ct.xml");
    std::fs::write(&xml, ct_xml("e2e1", &root, 64)).unwrap();

    let out = virsh_uri(&uri, &["define", xml.to_str().unwrap()]).success();
    assert!(out.contains("Domain 'e2e1' defined"), "{out}");
    let out = virsh_uri(&uri, &["start", "e2e1"]).success();
    assert!(out.contains("Domain 'e2e1' started"), "{out}");
    assert_eq!(
        virsh_uri(&uri, &["domstate", "--reason", "e2e1"])
            .success()
            .trim(),
        "running (booted)"
    );

    // really in its own namespaces
    let pid = init_pid_of(&d, "e2e1");
    for ns in ["pid", "mnt", "uts", "ipc"] {
        let host = std::fs::read_link(format!("/proc/self/ns/{ns}")).unwrap();
        let ct = std::fs::read_link(format!("/proc/{pid}/ns/{ns}")).unwrap();
        assert_ne!(host, ct, "{ns} namespace is shared with the host");
    }
    let info = virsh_uri(&uri, &["dominfo", "e2e1"]).success();
    assert!(info.contains("Max memory:     65536 KiB"), "{info}");

    // suspend / resume freeze the container
    virsh_uri(&uri, &["suspend", "e2e1"]).success();
    assert_eq!(
        virsh_uri(&uri, &["domstate", "--reason", "e2e1"])
            .success()
            .trim(),
        "paused (user)"
    );
    virsh_uri(&uri, &["resume", "e2e1"]).success();

    // lxc-enter-namespace: the namespace fds are passed to virsh, which
    // runs a command inside (the container's hostname is its name)
    let out = virsh_uri(
        &uri,
        &[
            "lxc-enter-namespace",
            "e2e1",
            "--noseclabel",
            "--",
            "/bin/hostname",
        ],
    )
    .success();
    assert_eq!(out.trim(), "e2e1");

    // SIGKILL the daemon twice: the container keeps running and is found again
    for _ in 0..2 {
        d.kill_and_restart();
        assert_eq!(
            virsh_uri(&uri, &["domstate", "e2e1"]).success().trim(),
            "running"
        );
        assert_eq!(
            init_pid_of(&d, "e2e1"),
            pid,
            "the container was restarted, not reattached"
        );
    }
    assert!(Path::new(&format!("/proc/{pid}")).exists());

    let out = virsh_uri(&uri, &["destroy", "e2e1"]).success();
    assert!(out.contains("Domain 'e2e1' destroyed"), "{out}");
    assert_eq!(
        virsh_uri(&uri, &["domstate", "--reason", "e2e1"])
            .success()
            .trim(),
        "shut off (destroyed)"
    );
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists() || {
            std::thread::sleep(std::time::Duration::from_millis(200));
            !Path::new(&format!("/proc/{pid}")).exists()
        }
    );
    virsh_uri(&uri, &["undefine", "e2e1"]).success();
}

#[test]
fn container_console_and_events_with_python() {
    skip_if!(cannot_run());
    if !python_available() {
        skip("python3-libvirt is missing");
        return;
    }
    let d = Daemon::start();
    let root = rootfs(d.dir.path());
    let script = r#"
import sys, time, threading, libvirt
uri, xml = sys.argv[1], open(sys.argv[2]).read()
libvirt.virEventRegisterDefaultImpl()
c = libvirt.open(uri)
events = []
c.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                         lambda c, d, ev, det, op: events.append((ev, det)), None)
stop = [False]
def loop():
    while not stop[0]:
        libvirt.virEventRunDefaultImpl()
threading.Thread(target=loop, daemon=True).start()
d = c.createXML(xml, 0)
assert d.isActive() and not d.isPersistent()
st = c.newStream(0)
d.openConsole(None, st, 0)
st.send(b"echo console-$((6*7))\n")
buf = b""
t = time.time()
while b"console-42" not in buf.replace(b"$((6*7))", b"") and time.time() - t < 10:
    buf += st.recv(4096)
assert b"console-42" in buf.replace(b"$((6*7))", b""), buf
st.abort()
d.destroy()
t = time.time()
while len(events) < 2 and time.time() - t < 5:
    time.sleep(0.05)
stop[0] = True
assert events[:2] == [(libvirt.VIR_DOMAIN_EVENT_STARTED, libvirt.VIR_DOMAIN_EVENT_STARTED_BOOTED),
                      (libvirt.VIR_DOMAIN_EVENT_STOPPED, libvirt.VIR_DOMAIN_EVENT_STOPPED_DESTROYED)], events
try:
    c.lookupByName("e2e2")
    raise SystemExit("transient domain still exists after destroy")
except libvirt.libvirtError as e:
    assert e.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN
print("lxc python: ok")
"#;
    let xml = d.dir.path().join("ct2.xml");
    std::fs::write(&xml, ct_xml("e2e2", &root, 32)).unwrap();
    let out = python(script, &[&d.uri("lxc"), xml.to_str().unwrap()]);
    assert!(
        out.ok && out.stdout.contains("lxc python: ok"),
        "stdout: {}\nstderr: {}",
        out.stdout,
        out.stderr
    );
}

#[test]
fn impossible_config_is_refused_before_anything_is_created() {
    skip_if!(cannot_run());
    let d = Daemon::start();
    let xml = d.dir.path().join("bad.xml");
    std::fs::write(&xml, ct_xml("e2e3", &d.dir.path().join("no-such-root"), 32)).unwrap();
    let e = virsh_uri(&d.uri("lxc"), &["create", xml.to_str().unwrap()]).failure();
    assert!(e.contains("no-such-root"), "{e}");
    assert!(!Path::new("/sys/fs/cgroup/memory/machine/e2e3.libvirt-lxc").exists());
    assert!(virsh_uri(&d.uri("lxc"), &["list", "--all", "--name"])
        .success()
        .trim()
        .is_empty());
}

#[test]
fn a_container_that_reboots_itself_is_started_again() {
    skip_if!(cannot_run());
    let d = Daemon::start();
    let root = rootfs(d.dir.path());
    link_applets(&root, &["reboot"]);
    let xml = d.dir.path().join("rb.xml");
    // init waits for a marker file in the root, then reboots: the first run
    // creates the marker, the run after the reboot finds it and stays up.
    std::fs::write(
        &xml,
        format!(
            "<domain type='lxc'><name>e2e4</name><memory unit='MiB'>32</memory><os><type>exe</type>\
             <init>/bin/sh</init><initarg>-c</initarg>\
             <initarg>if [ -e /tmp/booted ]; then exec sleep 1000; fi; echo &gt; /tmp/booted; reboot -f; sleep 1000</initarg></os>\
             <devices><filesystem type='mount'><source dir='{}'/><target dir='/'/></filesystem></devices></domain>",
            root.display()
        ),
    )
    .unwrap();
    let uri = d.uri("lxc");
    virsh_uri(&uri, &["create", xml.to_str().unwrap()]).success();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !root.join("tmp/booted").exists() {
        assert!(std::time::Instant::now() < deadline, "first boot never ran");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // the controller reports init's exit with the reboot reason ...
    let log = d.dir.path().join("run/libvirt/lxc/e2e4.log");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !std::fs::read_to_string(&log)
        .unwrap_or_default()
        .contains("Reboot")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "no reboot reported in {}",
            log.display()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // ... and the driver starts the container again: it settles running
    let mut state = String::new();
    for _ in 0..200 {
        let o = virsh_uri(&uri, &["domstate", "--reason", "e2e4"]);
        state = o.stdout.trim().to_string();
        if o.ok && state == "running (booted)" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(state, "running (booted)");
    virsh_uri(&uri, &["destroy", "e2e4"]).success();
}

/// Waits (bounded) until `f` holds.
fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !f() {
        assert!(std::time::Instant::now() < deadline, "timed out: {what}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

fn domain_names(uri: &str) -> Vec<String> {
    virsh_uri(uri, &["list", "--all", "--name"])
        .success()
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn autodestroy_container_goes_with_the_connection_that_started_it() {
    skip_if!(cannot_run());
    if !python_available() {
        skip("python3-libvirt is missing");
        return;
    }
    let d = Daemon::start();
    let root = rootfs(d.dir.path());
    let script = r#"
import os, sys, time, threading, libvirt
uri, xml_auto, xml_plain = sys.argv[1], open(sys.argv[2]).read(), open(sys.argv[3]).read()
libvirt.virEventRegisterDefaultImpl()
owner = libvirt.open(uri)
watcher = libvirt.open(uri)
events = []
watcher.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                               lambda c, d, ev, det, op: events.append((d.name(), ev, det)), None)
stop = [False]
def loop():
    while not stop[0]:
        libvirt.virEventRunDefaultImpl()
threading.Thread(target=loop, daemon=True).start()
auto = owner.createXML(xml_auto, libvirt.VIR_DOMAIN_START_AUTODESTROY)
plain = owner.createXML(xml_plain, 0)
seen = watcher.lookupByName("e2e5")
assert seen.isActive() and not seen.isPersistent()
controller = seen.ID()
assert os.path.exists("/proc/%d" % controller)
# Domain objects hold their connection: drop them so close() really closes.
del auto, plain
owner.close()
t = time.time()
gone = False
while time.time() - t < 20:
    try:
        watcher.lookupByName("e2e5")
    except libvirt.libvirtError as e:
        assert e.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN, e
        gone = True
        break
    time.sleep(0.05)
assert gone, "the autodestroy container outlived its connection"
t = time.time()
while os.path.exists("/proc/%d" % controller) and time.time() - t < 10:
    time.sleep(0.05)
assert not os.path.exists("/proc/%d" % controller), "its processes are still there"
t = time.time()
while ("e2e5", libvirt.VIR_DOMAIN_EVENT_STOPPED, libvirt.VIR_DOMAIN_EVENT_STOPPED_DESTROYED) not in events and time.time() - t < 5:
    time.sleep(0.05)
assert ("e2e5", libvirt.VIR_DOMAIN_EVENT_STOPPED, libvirt.VIR_DOMAIN_EVENT_STOPPED_DESTROYED) in events, events
survivor = watcher.lookupByName("e2e6")
assert survivor.state() == [libvirt.VIR_DOMAIN_RUNNING, libvirt.VIR_DOMAIN_RUNNING_BOOTED], survivor.state()
survivor.destroy()
stop[0] = True
print("autodestroy: ok")
"#;
    let auto = d.dir.path().join("auto.xml");
    let plain = d.dir.path().join("plain.xml");
    std::fs::write(&auto, ct_xml("e2e5", &root, 32)).unwrap();
    std::fs::write(&plain, ct_xml("e2e6", &root, 32)).unwrap();
    let out = python(
        script,
        &[
            &d.uri("lxc"),
            auto.to_str().unwrap(),
            plain.to_str().unwrap(),
        ],
    );
    assert!(
        out.ok && out.stdout.contains("autodestroy: ok"),
        "stdout: {}\nstderr: {}",
        out.stdout,
        out.stderr
    );
}

/// A libvirt-python client that starts `xml` with autodestroy, prints the
/// domain id and waits to be killed.
fn spawn_autodestroy_owner(uri: &str, xml: &Path) -> (std::process::Child, i32) {
    use std::io::BufRead;
    let script = r#"
import sys, time, libvirt
c = libvirt.open(sys.argv[1])
d = c.createXML(open(sys.argv[2]).read(), libvirt.VIR_DOMAIN_START_AUTODESTROY)
print(d.ID(), flush=True)
while True:
    time.sleep(1000)
"#;
    let mut child = std::process::Command::new("/usr/bin/python3")
        .arg("-c")
        .arg(script)
        .arg(uri)
        .arg(xml)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("run python");
    let mut line = String::new();
    let stdout = child.stdout.take().expect("python's stdout");
    std::io::BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read the domain id");
    let id = line.trim().parse().unwrap_or_else(|_| {
        let _ = child.kill();
        panic!("python printed {line:?} instead of a domain id")
    });
    (child, id)
}

#[test]
fn autodestroy_container_goes_when_its_client_is_killed_but_not_when_the_daemon_restarts() {
    skip_if!(cannot_run());
    if !python_available() {
        skip("python3-libvirt is missing");
        return;
    }
    let mut d = Daemon::start();
    let uri = d.uri("lxc");
    let root = rootfs(d.dir.path());
    let xml = d.dir.path().join("owned.xml");
    std::fs::write(&xml, ct_xml("e2e7", &root, 32)).unwrap();

    // The client dies without closing: its socket drops, the guest goes.
    let (mut owner, id) = spawn_autodestroy_owner(&uri, &xml);
    assert_eq!(
        virsh_uri(&uri, &["domstate", "e2e7"]).success().trim(),
        "running"
    );
    owner.kill().unwrap();
    owner.wait().unwrap();
    wait_until("the container is gone after its client was killed", || {
        !domain_names(&uri).contains(&"e2e7".to_string())
    });
    wait_until("the container's processes are gone", || {
        !Path::new(&format!("/proc/{id}")).exists()
    });

    // The daemon is killed and restarted while the client lives: the
    // container is reattached and belongs to no connection any more, so
    // neither the old client's death nor a new client's close destroys it.
    let (mut owner, id) = spawn_autodestroy_owner(&uri, &xml);
    d.kill_and_restart();
    assert_eq!(
        virsh_uri(&uri, &["domstate", "e2e7"]).success().trim(),
        "running"
    );
    owner.kill().unwrap();
    owner.wait().unwrap();
    virsh_uri(&uri, &["list"]).success();
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(
        virsh_uri(&uri, &["domstate", "e2e7"]).success().trim(),
        "running"
    );
    assert!(Path::new(&format!("/proc/{id}")).exists());
    virsh_uri(&uri, &["destroy", "e2e7"]).success();
}

#[test]
fn a_console_nobody_reads_does_not_hold_up_calls_or_keepalive() {
    skip_if!(cannot_run());
    if !python_available() {
        skip("python3-libvirt is missing");
        return;
    }
    let d = Daemon::start();
    let root = rootfs(d.dir.path());
    // init sleeps: nothing in the container ever reads the console.
    let xml = d.dir.path().join("deaf.xml");
    std::fs::write(
        &xml,
        format!(
            "<domain type='lxc'><name>e2e8</name><memory unit='MiB'>32</memory><os><type>exe</type>\
             <init>/bin/sleep</init><initarg>1000</initarg></os>\
             <devices><filesystem type='mount'><source dir='{}'/><target dir='/'/></filesystem>\
             <console type='pty'/></devices></domain>",
            root.display()
        ),
    )
    .unwrap();
    let script = r#"
import sys, time, threading, libvirt
uri, xml = sys.argv[1], open(sys.argv[2]).read()
libvirt.virEventRegisterDefaultImpl()
stop = [False]
def loop():
    while not stop[0]:
        libvirt.virEventRunDefaultImpl()
threading.Thread(target=loop, daemon=True).start()
c = libvirt.open(uri)
c.setKeepAlive(1, 3)
d = c.createXML(xml, 0)
st = c.newStream(0)
d.openConsole(None, st, 0)
chunk = b"x" * 262144
sent, err = 0, None
for i in range(64):
    try:
        st.send(chunk)
        sent += len(chunk)
    except libvirt.libvirtError as e:
        err = e
        break
    if i % 4 == 3:
        # the same connection keeps answering while the console is stuck
        assert c.getHostname()
        assert [x.name() for x in c.listAllDomains()] == ["e2e8"]
# keepalive probes go both ways for a few seconds with no other traffic
time.sleep(4)
assert c.isAlive() == 1
assert c.getHostname()
print("sent %d bytes; stream error: %s" % (sent, err))
if err is not None:
    assert "not reading" in str(err), err
    try:
        st.abort()
    except libvirt.libvirtError:
        pass
d.destroy()
stop[0] = True
print("deaf console: ok")
"#;
    let out = python(script, &[&d.uri("lxc"), xml.to_str().unwrap()]);
    assert!(
        out.ok && out.stdout.contains("deaf console: ok"),
        "stdout: {}\nstderr: {}",
        out.stdout,
        out.stderr
    );
    eprintln!("{}", out.stdout.trim());
}

#[test]
fn a_console_whose_container_stops_reads_end_of_file_and_keeps_the_connection() {
    skip_if!(cannot_run());
    if !python_available() {
        skip("python3-libvirt is missing");
        return;
    }
    let d = Daemon::start();
    let root = rootfs(d.dir.path());
    let xml = d.dir.path().join("eof.xml");
    std::fs::write(&xml, ct_xml("e2e9", &root, 32)).unwrap();
    let script = r#"
import sys, libvirt
uri, xml = sys.argv[1], open(sys.argv[2]).read()
c = libvirt.open(uri)
other = libvirt.open(uri)
d = c.createXML(xml, 0)
st = c.newStream(0)
d.openConsole(None, st, 0)
other.lookupByName("e2e9").destroy()
while True:
    data = st.recv(65536)
    if data == b"" or data == -2:
        break
assert data == b"", data
st.finish()
# The end of the console did not take the connection with it.
assert c.isAlive() == 1
assert c.getHostname()
print("console eof: ok")
"#;
    let out = python(script, &[&d.uri("lxc"), xml.to_str().unwrap()]);
    assert!(
        out.ok && out.stdout.contains("console eof: ok"),
        "stdout: {}\nstderr: {}",
        out.stdout,
        out.stderr
    );
}

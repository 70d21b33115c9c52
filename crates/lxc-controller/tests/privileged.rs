// SPDX-License-Identifier: LGPL-2.1-or-later
//! Privileged tests: real containers built from a busybox root filesystem.
//! Each test checks that it can run (root, user namespaces, a static
//! busybox, cgroups) and prints why it skips otherwise.

use lxc_controller::client::{self, Client, StartOptions};
use lxc_controller::proto::{Event, ExitReason, RunState};
use lxc_controller::spec::{ContainerSpec, Filesystem, FsType, Interface, IpAddr, NetType};
use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};
use test_support::{container_skip_reason, link_applets, skip, BusyboxRoot, TempDir};

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// Why the privileged tests cannot run here, if they cannot.
fn skip_reason() -> Option<String> {
    container_skip_reason().or_else(|| {
        (!Path::new("/proc/self/ns/user").exists()).then(|| "kernel without user namespaces".into())
    })
}

macro_rules! require_privileges {
    () => {
        test_support::skip_if!(skip_reason())
    };
}

struct Env {
    dir: TempDir,
    root: PathBuf,
    state: PathBuf,
    name: String,
}

impl Env {
    fn new(tag: &str) -> Env {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let name = format!("t{}-{tag}-{n}", std::process::id());
        let dir = TempDir::new(&format!("ctl-{tag}"));
        let root = BusyboxRoot::new(dir.join("root"))
            .applets(&[
                "sh", "sleep", "cat", "ls", "hostname", "ps", "mount", "echo", "id", "ip", "test",
            ])
            .file(
                "etc/passwd",
                "root:x:0:0:root:/:/bin/sh\nweb:x:33:44::/:/bin/sh\n",
            )
            .file("etc/group", "root:x:0:\nwww:x:44:\n")
            .build();
        let state = dir.join("state");
        Env {
            dir,
            root,
            state,
            name,
        }
    }

    fn spec(&self, script: &str) -> ContainerSpec {
        ContainerSpec {
            name: self.name.clone(),
            uuid: "c7a5fdbd-edaf-9455-926a-d65c16db1809".into(),
            root: Some(self.root.clone()),
            init: "/bin/sh".into(),
            args: vec!["-c".into(), script.into()],
            ..Default::default()
        }
    }

    fn start(&self, spec: &ContainerSpec) -> lxc_controller::Result<client::Started> {
        client::start(spec, &self.state, &opts())
    }

    fn connect(&self) -> Client {
        client::connect(&self.state, &self.name, Duration::from_secs(10))
            .unwrap_or_else(|e| panic!("connect: {e}"))
    }

    /// Waits (bounded) for a file written by the container and returns it.
    fn wait_file(&self, rel: &str) -> String {
        let p = self.root.join(rel);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(s) = std::fs::read_to_string(&p) {
                if s.ends_with('\n') {
                    return s;
                }
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("container never wrote {rel}");
    }

    fn cgroup(&self) -> host::cgroup::Cgroup {
        let mounts = host::cgroup::detect().unwrap_or_else(|e| panic!("{e}"));
        host::cgroup::Cgroup::resolve(&mounts, 0, "/machine", &self.name)
            .unwrap_or_else(|e| panic!("{e}"))
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        if let Ok(mut c) = client::connect(&self.state, &self.name, Duration::from_secs(5)) {
            let _ = c.destroy();
        }
        // A test that killed its controller must not leave the container behind.
        let _ = client::cleanup_orphan(&self.state, &self.name, "/machine");
    }
}

fn opts() -> StartOptions {
    StartOptions {
        binary: PathBuf::from(env!("CARGO_BIN_EXE_libvirt_lxc")),
        timeout: Duration::from_secs(30),
    }
}

fn ok<T, E: std::fmt::Display>(r: Result<T, E>, what: &str) -> T {
    r.unwrap_or_else(|e| panic!("{what}: {e}"))
}

#[test]
fn container_runs_in_its_own_namespaces_with_hostname_and_pid_1() {
    require_privileges!();
    let env = Env::new("ns");
    let mut spec =
        env.spec("hostname > /tmp/hn; echo $$ > /tmp/pid; ls /proc > /tmp/procs; exec sleep 1000");
    spec.hostname = Some("box1".into());
    let st = ok(env.start(&spec), "start");
    assert!(st.init_pid > 1);
    for kind in ["pid", "mnt", "uts", "ipc"] {
        let inside = ok(host::ns::ns_id(st.init_pid, kind), "ns");
        let outside = ok(host::ns::ns_id(std::process::id(), kind), "ns");
        assert_ne!(inside, outside, "{kind} namespace is shared with the host");
    }
    // No interfaces and no private network asked for: the host network is shared.
    assert_eq!(
        ok(host::ns::ns_id(st.init_pid, "net"), "ns"),
        ok(host::ns::ns_id(std::process::id(), "net"), "ns")
    );
    assert_eq!(env.wait_file("tmp/hn").trim(), "box1");
    assert_eq!(env.wait_file("tmp/pid").trim(), "1");
    let procs = env.wait_file("tmp/procs");
    let pids: Vec<u32> = procs
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    assert!(pids.contains(&1));
    assert!(
        !pids.contains(&st.init_pid) || st.init_pid < 10,
        "host pids visible inside: {pids:?}"
    );
    // Seen from the host, init is pid 1 of its namespace.
    let status = ok(
        std::fs::read_to_string(format!("/proc/{}/status", st.init_pid)),
        "status",
    );
    let nspid = status
        .lines()
        .find(|l| l.starts_with("NSpid:"))
        .unwrap_or("");
    assert_eq!(nspid.split_whitespace().last(), Some("1"), "{nspid}");
    let mut c = env.connect();
    let s = ok(c.status(), "status");
    assert_eq!(s.init_pid, st.init_pid);
    assert_eq!(s.controller_pid, st.controller_pid);
    assert_eq!(s.state, RunState::Running);
}

#[test]
fn memory_limit_and_cpu_shares_land_in_the_cgroup() {
    require_privileges!();
    let mounts = ok(host::cgroup::detect(), "detect");
    if mounts.v1_for("memory").is_none() || mounts.v1_for("cpu").is_none() {
        skip("v1 memory/cpu controllers not mounted");
        return;
    }
    let env = Env::new("cg");
    let mut spec = env.spec("exec sleep 1000");
    spec.memory_kib = Some(65536);
    spec.soft_limit_kib = Some(32768);
    spec.cpu_shares = Some(512);
    let st = ok(env.start(&spec), "start");
    let cg = env.cgroup();
    let mem = cg
        .v1_dir("memory")
        .unwrap_or_else(|| panic!("no memory dir"));
    assert!(
        mem.ends_with(format!("machine/{}.libvirt-lxc", env.name)),
        "{}",
        mem.display()
    );
    let read = |p: PathBuf| ok(std::fs::read_to_string(&p), "read").trim().to_string();
    assert_eq!(
        read(mem.join("memory.limit_in_bytes")),
        (64u64 << 20).to_string()
    );
    assert_eq!(
        read(mem.join("memory.soft_limit_in_bytes")),
        (32u64 << 20).to_string()
    );
    let cpu = cg.v1_dir("cpu").unwrap_or_else(|| panic!("no cpu dir"));
    assert_eq!(read(cpu.join("cpu.shares")), "512");
    // init and the controller are accounted in the group.
    let procs = read(mem.join("cgroup.procs"));
    assert!(
        procs.lines().any(|l| l == st.init_pid.to_string()),
        "{procs}"
    );
    assert!(
        procs.lines().any(|l| l == st.controller_pid.to_string()),
        "{procs}"
    );
    // init joined the devices and freezer groups itself and was cloned into
    // the unified group; the controller stays out of those three.
    let mut own = Vec::new();
    own.extend(cg.v1_dir("devices").map(Path::to_path_buf));
    own.extend(cg.v1_dir("freezer").map(Path::to_path_buf));
    own.extend(cg.v2_dir().map(Path::to_path_buf));
    assert!(!own.is_empty());
    for d in own {
        let procs = read(d.join("cgroup.procs"));
        let pids: Vec<&str> = procs.lines().collect();
        assert_eq!(pids, [st.init_pid.to_string()], "{}", d.display());
    }
    let stats = ok(env.connect().stats(), "stats");
    assert!(stats.memory_bytes.unwrap_or(0) > 0);
    assert!(stats.cpu_ns.is_some());
}

#[test]
fn console_runs_a_command_and_returns_its_output() {
    require_privileges!();
    let env = Env::new("con");
    let mut spec = env.spec("");
    spec.args.clear();
    let _st = ok(env.start(&spec), "start");
    let mut con = ok(env.connect().console(), "console");
    // Only one console session at a time.
    let err = env
        .connect()
        .console()
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("Active console session exists"), "{err}");
    ok(con.write_all(b"echo marker-$((6*7))\n"), "write");
    let mut seen = con.take_pending();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline && !String::from_utf8_lossy(&seen).contains("marker-42") {
        let ready = ok(
            host::process::poll_read(&[con.stream().as_fd()], 200),
            "poll",
        );
        if ready[0] {
            let mut buf = [0u8; 1024];
            let n = ok(con.read(&mut buf), "read");
            assert!(n > 0, "console closed");
            seen.extend_from_slice(&buf[..n]);
        }
    }
    if String::from_utf8_lossy(&seen).contains("marker-42") {
        // Detach, and a new session can attach.
        drop(con);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match env.connect().console() {
                Ok(_) => return,
                Err(e) if Instant::now() > deadline => panic!("re-attach failed: {e}"),
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
    }
    panic!(
        "console output never showed the command result: {:?}",
        String::from_utf8_lossy(&seen)
    );
}

#[test]
fn veth_pair_is_created_configured_and_removed() {
    require_privileges!();
    let env = Env::new("net");
    let mut spec =
        env.spec("ip addr show eth0 > /tmp/addr; ip route > /tmp/route; exec sleep 1000");
    spec.interfaces = vec![Interface {
        net_type: NetType::Ethernet,
        mac: Some("52:54:00:12:34:56".into()),
        ips: vec![IpAddr {
            address: "10.213.7.2".into(),
            prefix: 24,
        }],
        gateway: Some("10.213.7.1".into()),
        ..Default::default()
    }];
    let st = ok(env.start(&spec), "start");
    assert_eq!(st.veths.len(), 1);
    let hostdev = st.veths[0].clone();
    assert!(hostdev.starts_with("veth"), "{hostdev}");
    let out = ok(
        std::process::Command::new("ip")
            .args(["link", "show", &hostdev])
            .output(),
        "ip",
    );
    assert!(out.status.success(), "ip link show {hostdev} failed");
    assert_ne!(
        ok(host::ns::ns_id(st.init_pid, "net"), "ns"),
        ok(host::ns::ns_id(std::process::id(), "net"), "ns")
    );
    let addr = env.wait_file("tmp/addr");
    assert!(addr.contains("10.213.7.2/24"), "{addr}");
    assert!(addr.contains("52:54:00:12:34:56"), "{addr}");
    assert!(addr.contains("UP"), "{addr}");
    let route = env.wait_file("tmp/route");
    assert!(route.contains("default via 10.213.7.1"), "{route}");
    let exit = ok(env.connect().destroy(), "destroy");
    assert_eq!(exit.reason, ExitReason::Destroyed);
    assert!(!host::net::link_exists(&hostdev), "{hostdev} left behind");
}

#[test]
fn freeze_and_thaw_change_the_freezer_state() {
    require_privileges!();
    let mounts = ok(host::cgroup::detect(), "detect");
    if mounts.v1_for("freezer").is_none() {
        skip("v1 freezer not mounted");
        return;
    }
    let env = Env::new("frz");
    let _st = ok(env.start(&env.spec("exec sleep 1000")), "start");
    let state_file = env
        .cgroup()
        .v1_dir("freezer")
        .map(|d| d.join("freezer.state"))
        .unwrap_or_else(|| panic!("no freezer dir"));
    let read = || {
        ok(std::fs::read_to_string(&state_file), "read")
            .trim()
            .to_string()
    };
    assert_eq!(read(), "THAWED");
    let mut c = env.connect();
    ok(c.freeze(), "freeze");
    assert_eq!(read(), "FROZEN");
    assert_eq!(ok(c.status(), "status").state, RunState::Paused);
    ok(c.thaw(), "thaw");
    assert_eq!(read(), "THAWED");
    assert_eq!(ok(c.status(), "status").state, RunState::Running);
    // Destroying a frozen container works too.
    ok(c.freeze(), "freeze");
    let exit = ok(c.destroy(), "destroy");
    assert_eq!(exit.signal, Some(9));
    assert!(!env.cgroup().exists());
}

#[test]
fn container_outlives_its_starter_and_clients() {
    require_privileges!();
    let env = Env::new("ind");
    let spec = env.spec("exec sleep 1000");
    ok(std::fs::create_dir_all(&env.state), "mkdir");
    let spec_file = client::spec_path(&env.state, &env.name);
    ok(
        std::fs::write(&spec_file, ok(serde_json::to_vec(&spec), "json")),
        "write spec",
    );
    // A starter shell that launches the controller and then lingers.
    let script = format!(
        "exec 7</dev/null; {} --name {} --spec {} --state-dir {}; exec sleep 1000",
        env!("CARGO_BIN_EXE_libvirt_lxc"),
        env.name,
        spec_file.display(),
        env.state.display()
    );
    let mut starter = ok(
        std::process::Command::new("/bin/sh")
            .args(["-c", &script])
            .stdout(std::process::Stdio::piped())
            .spawn(),
        "spawn starter",
    );
    let mut out = starter.stdout.take().unwrap_or_else(|| panic!("no stdout"));
    let mut line = Vec::new();
    let mut b = [0u8; 1];
    while !line.ends_with(b"\n") {
        if ok(out.read(&mut b), "read handshake") == 0 {
            break;
        }
        line.push(b[0]);
    }
    let hs: lxc_controller::proto::Handshake = ok(serde_json::from_slice(&line), "handshake");
    assert!(hs.ok, "{:?}", hs.error);
    // A client that goes away in the middle of a request.
    {
        let mut s = ok(
            std::os::unix::net::UnixStream::connect(env.state.join(format!("{}.sock", env.name))),
            "c",
        );
        ok(s.write_all(b"{\"op\":\"sta"), "partial");
    }
    // The starter dies hard, and its pipe with it.
    ok(starter.kill(), "kill starter");
    let _ = starter.wait();
    drop(out);
    assert!(host::process::exists(hs.init_pid));
    assert!(host::process::is_same_process(
        hs.init_pid,
        hs.init_start_time
    ));
    let mut c = env.connect();
    let s = ok(c.status(), "status after starter death");
    assert_eq!(s.init_pid, hs.init_pid);
    // The controller is in a session of its own.
    let stat = ok(
        std::fs::read_to_string(format!("/proc/{}/stat", hs.controller_pid)),
        "stat",
    );
    let after = &stat[stat.rfind(')').unwrap_or(0) + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    assert_eq!(
        fields.get(3).copied(),
        Some(hs.controller_pid.to_string().as_str()),
        "session id"
    );
}

#[test]
fn destroy_reports_exit_and_removes_cgroup_and_socket() {
    require_privileges!();
    let env = Env::new("des");
    let st = ok(env.start(&env.spec("exec sleep 1000")), "start");
    let mut watcher = env.connect();
    ok(watcher.subscribe(), "subscribe");
    assert!(env.cgroup().exists());
    let exit = ok(env.connect().destroy(), "destroy");
    assert_eq!(exit.reason, ExitReason::Destroyed);
    assert_eq!(exit.signal, Some(9));
    let ev = ok(watcher.wait_event(Some(Duration::from_secs(10))), "event");
    assert_eq!(ev, Event::Exited(exit.clone()));
    assert!(
        !host::process::exists(st.init_pid)
            || !host::process::is_same_process(st.init_pid, st.init_start_time)
    );
    assert!(!env.cgroup().exists(), "cgroup left behind");
    assert!(!env.state.join(format!("{}.sock", env.name)).exists());
    assert_eq!(client::last_exit(&env.state, &env.name), Some(exit));
}

#[test]
fn init_exit_is_reported_with_its_status() {
    require_privileges!();
    let env = Env::new("ex");
    let _st = ok(
        env.start(&env.spec("while [ ! -e /tmp/go ]; do sleep 0.02; done; exit 3")),
        "start",
    );
    let mut watcher = env.connect();
    ok(watcher.subscribe(), "subscribe");
    ok(std::fs::write(env.root.join("tmp/go"), ""), "go");
    let ev = ok(watcher.wait_event(Some(Duration::from_secs(10))), "event");
    let Event::Exited(info) = ev;
    assert_eq!(info.reason, ExitReason::Shutdown);
    assert_eq!(info.code, Some(3));
    assert!(!env.cgroup().exists(), "cgroup left behind");
}

#[test]
fn user_group_env_and_filesystems_apply() {
    require_privileges!();
    let env = Env::new("usr");
    let extra = env.dir.join("shared");
    ok(std::fs::create_dir_all(&extra), "mkdir");
    ok(std::fs::write(extra.join("hello"), "from-host\n"), "write");
    let mut spec = env.spec(
        "id -u > /tmp/uid.tmp; id -g >> /tmp/uid.tmp; echo $FOO $container $LIBVIRT_LXC_NAME >> /tmp/uid.tmp; \
         cat /mnt/shared/hello >> /tmp/uid.tmp; (echo x > /mnt/shared/w && echo rw || echo ro) >> /tmp/uid.tmp; \
         cat /proc/mounts | grep ' /scratch ' >> /tmp/uid.tmp; pwd >> /tmp/uid.tmp; mv /tmp/uid.tmp /tmp/uid; exec sleep 1000",
    );
    ok(
        std::fs::set_permissions(
            env.root.join("tmp"),
            std::os::unix::fs::PermissionsExt::from_mode(0o1777),
        ),
        "chmod",
    );
    spec.user = Some("web".into());
    spec.group = Some("www".into());
    spec.initdir = Some("/tmp".into());
    spec.env = vec![lxc_controller::spec::EnvVar {
        name: "FOO".into(),
        value: "bar".into(),
    }];
    spec.filesystems = vec![
        Filesystem {
            fs_type: FsType::Mount,
            source: Some(extra.clone()),
            target: "/mnt/shared".into(),
            readonly: true,
            ..Default::default()
        },
        Filesystem {
            fs_type: FsType::Ram,
            target: "/scratch".into(),
            usage_kib: Some(1024),
            ..Default::default()
        },
    ];
    let _st = ok(env.start(&spec), "start");
    let out = env.wait_file("tmp/uid");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.first().copied(), Some("33"), "{out}");
    assert_eq!(lines.get(1).copied(), Some("44"), "{out}");
    assert_eq!(
        lines.get(2).copied(),
        Some(format!("bar lxc-libvirt {}", env.name).as_str()),
        "{out}"
    );
    assert_eq!(lines.get(3).copied(), Some("from-host"), "{out}");
    assert_eq!(lines.get(4).copied(), Some("ro"), "{out}");
    assert!(
        lines
            .get(5)
            .is_some_and(|l| l.contains("tmpfs") && l.contains("size=1024k")),
        "{out}"
    );
    assert_eq!(lines.get(6).copied(), Some("/tmp"), "{out}");
}

#[test]
fn missing_root_fails_cleanly() {
    require_privileges!();
    let env = Env::new("bad");
    let mut spec = env.spec("exec sleep 1000");
    spec.root = Some(env.dir.join("no-such-root"));
    let err = env
        .start(&spec)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("does not exist"), "{err}");
    assert!(!env.cgroup().exists(), "cgroup left behind");
    assert!(!env.state.join(format!("{}.sock", env.name)).exists());
}

#[test]
fn unknown_user_fails_cleanly_without_leftovers() {
    require_privileges!();
    let env = Env::new("usr2");
    let mut spec = env.spec("exec sleep 1000");
    spec.user = Some("nosuchuser".into());
    let dev = format!("vt{}", std::process::id() % 100_000);
    spec.interfaces = vec![Interface {
        target: Some(dev.clone()),
        ..Default::default()
    }];
    let err = env
        .start(&spec)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("user 'nosuchuser' not found"), "{err}");
    assert!(!env.cgroup().exists(), "cgroup left behind");
    assert!(!host::net::link_exists(&dev), "veth left behind");
    assert!(!env.state.join(format!("{}.sock", env.name)).exists());
}

#[test]
fn reboot_is_refused_and_shutdown_signals_init() {
    require_privileges!();
    let env = Env::new("sd");
    // A shell that exits 0 on SIGTERM (pid 1 only gets signals it handles).
    let _st = ok(
        env.start(&env.spec("trap 'exit 0' TERM; while true; do sleep 0.05; done")),
        "start",
    );
    let mut c = env.connect();
    let err = c.reboot().err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err.contains("not supported"), "{err}");
    let mut watcher = env.connect();
    ok(watcher.subscribe(), "subscribe");
    // busybox ash can lose a trapped signal that lands while it forks the
    // loop's sleep, so the request is repeated until init reacts.
    let mut ev = Err(lxc_controller::Error::Timeout("no shutdown sent".into()));
    for _ in 0..10 {
        if c.shutdown(None).is_err() {
            // Init is already gone: the event is on its way.
            ev = watcher.wait_event(Some(Duration::from_secs(10)));
            break;
        }
        ev = watcher.wait_event(Some(Duration::from_secs(1)));
        if ev.is_ok() {
            break;
        }
    }
    let Event::Exited(info) = ok(ev, "event");
    assert_eq!(info.reason, ExitReason::Shutdown);
    assert_eq!(info.code, Some(0));
}

#[test]
fn id_maps_give_the_container_a_user_namespace() {
    require_privileges!();
    let env = Env::new("uns");
    ok(
        std::fs::set_permissions(
            env.root.join("tmp"),
            std::os::unix::fs::PermissionsExt::from_mode(0o1777),
        ),
        "chmod",
    );
    let mut spec = env.spec("id -u > /tmp/u.tmp; cat /proc/self/uid_map >> /tmp/u.tmp; mv /tmp/u.tmp /tmp/u; exec sleep 1000");
    let map = lxc_controller::spec::IdMapEntry {
        start: 0,
        target: 200_000,
        count: 65536,
    };
    spec.idmap.uid = vec![map];
    spec.idmap.gid = vec![map];
    let st = ok(env.start(&spec), "start");
    assert_ne!(
        ok(host::ns::ns_id(st.init_pid, "user"), "ns"),
        ok(host::ns::ns_id(std::process::id(), "user"), "ns")
    );
    let out = env.wait_file("tmp/u");
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("0"), "{out}");
    let fields: Vec<&str> = lines.next().unwrap_or("").split_whitespace().collect();
    assert_eq!(fields, vec!["0", "200000", "65536"], "{out}");
    // Seen from the host, init runs as the mapped uid.
    let status = ok(
        std::fs::read_to_string(format!("/proc/{}/status", st.init_pid)),
        "status",
    );
    let uid_line = status.lines().find(|l| l.starts_with("Uid:")).unwrap_or("");
    assert_eq!(
        uid_line.split_whitespace().nth(1),
        Some("200000"),
        "{uid_line}"
    );
}

#[test]
fn without_a_root_filesystem_the_host_root_is_shared_with_private_proc_and_dev() {
    require_privileges!();
    let env = Env::new("noroot");
    let out = env.dir.join("noroot-out");
    let script = format!(
        "echo $$ > {o}.tmp; ls /dev/pts >> {o}.tmp; mv {o}.tmp {o}; exec sleep 1000",
        o = out.display()
    );
    let mut spec = env.spec(&script);
    spec.root = None;
    let _st = ok(env.start(&spec), "start");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !out.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let text = ok(std::fs::read_to_string(&out), "read output");
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("1"), "{text}");
    // A private devpts instance: only the console pty and ptmx.
    let pts: Vec<&str> = lines.collect();
    assert!(
        pts.contains(&"ptmx") && pts.contains(&"0") && pts.len() == 2,
        "{pts:?}"
    );
}

fn make_ext4_image(path: &Path) -> bool {
    let Ok(f) = std::fs::File::create(path) else {
        return false;
    };
    if f.set_len(8 << 20).is_err() {
        return false;
    }
    let seed = path.with_extension("seed");
    let _ = std::fs::create_dir_all(&seed);
    let _ = std::fs::write(seed.join("inside"), "image-data\n");
    std::process::Command::new("mkfs.ext4")
        .args(["-q", "-F", "-d"])
        .arg(&seed)
        .arg(path)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn image_file_and_block_filesystems_are_mounted() {
    require_privileges!();
    if !Path::new("/dev/loop-control").exists() {
        skip("no loop devices");
        return;
    }
    let env = Env::new("img");
    let img = env.dir.join("disk.img");
    let img2 = env.dir.join("disk2.img");
    if !make_ext4_image(&img) || !make_ext4_image(&img2) {
        skip("mkfs.ext4 unavailable");
        return;
    }
    // A block device attached by the host, and an image the controller attaches.
    let blk = ok(host::loopdev::attach(&img2, true), "attach");
    let mut spec = env.spec(
        "cat /data/inside > /tmp/o.tmp; cat /blk/inside >> /tmp/o.tmp; grep ' /blk ' /proc/mounts >> /tmp/o.tmp; \
         mv /tmp/o.tmp /tmp/o; exec sleep 1000",
    );
    spec.filesystems = vec![
        Filesystem {
            fs_type: FsType::File,
            source: Some(img.clone()),
            target: "/data".into(),
            ..Default::default()
        },
        Filesystem {
            fs_type: FsType::Block,
            source: Some(blk.path().to_path_buf()),
            target: "/blk".into(),
            readonly: true,
            format: Some("ext4".into()),
            ..Default::default()
        },
    ];
    let _st = ok(env.start(&spec), "start");
    let out = env.wait_file("tmp/o");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.first().copied(), Some("image-data"), "{out}");
    assert_eq!(lines.get(1).copied(), Some("image-data"), "{out}");
    assert!(
        lines
            .get(2)
            .is_some_and(|l| l.contains(" ro,") || l.contains(" ro ")),
        "{out}"
    );
    ok(env.connect().destroy(), "destroy");
    let _ = blk.detach();
}

#[test]
fn bridge_interface_is_enslaved_to_the_bridge() {
    require_privileges!();
    let env = Env::new("br");
    let br = format!("lbr{}", std::process::id() % 100_000);
    let made = std::process::Command::new("ip")
        .args(["link", "add", &br, "type", "bridge"])
        .status()
        .is_ok_and(|s| s.success());
    if !made {
        skip("cannot create a bridge");
        return;
    }
    let mut spec = env.spec("exec sleep 1000");
    spec.interfaces = vec![Interface {
        net_type: NetType::Bridge,
        bridge: Some(br.clone()),
        guest_name: Some("lan0".into()),
        ..Default::default()
    }];
    let res = env.start(&spec);
    let master = res
        .as_ref()
        .ok()
        .and_then(|st| st.veths.first())
        .and_then(|v| std::fs::read_link(format!("/sys/class/net/{v}/master")).ok())
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()));
    let inner = res.as_ref().ok().map(|st| {
        std::fs::read_dir(format!("/proc/{}/root/sys/class/net", st.init_pid))
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    });
    if res.is_ok() {
        let _ = env.connect().destroy();
    }
    let _ = std::process::Command::new("ip")
        .args(["link", "del", &br])
        .status();
    let st = ok(res, "start");
    assert_eq!(master.as_deref(), Some(br.as_str()), "veths {:?}", st.veths);
    let inner = inner.unwrap_or_default();
    assert!(inner.iter().any(|n| n == "lan0"), "{inner:?}");
}

#[test]
fn missing_bridge_fails_cleanly() {
    require_privileges!();
    let env = Env::new("nobr");
    let mut spec = env.spec("exec sleep 1000");
    spec.interfaces = vec![Interface {
        net_type: NetType::Bridge,
        bridge: Some("nosuchbr0".into()),
        ..Default::default()
    }];
    let err = env
        .start(&spec)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("bridge 'nosuchbr0' does not exist"), "{err}");
    assert!(!env.cgroup().exists());
}

#[test]
fn a_stopped_controller_makes_requests_time_out_not_hang() {
    require_privileges!();
    let env = Env::new("stop");
    let st = ok(env.start(&env.spec("exec sleep 1000")), "start");
    let mut c = ok(
        client::connect(&env.state, &env.name, Duration::from_millis(300)),
        "connect",
    );
    ok(host::process::kill(st.controller_pid, 19), "SIGSTOP");
    let r = c.status();
    ok(host::process::kill(st.controller_pid, 18), "SIGCONT");
    match r {
        Err(lxc_controller::Error::Timeout(_)) => {}
        other => panic!("expected a timeout, got {other:?}"),
    }
}

#[test]
fn sigterm_to_the_controller_destroys_the_container_cleanly() {
    require_privileges!();
    let env = Env::new("term");
    let st = ok(env.start(&env.spec("exec sleep 1000")), "start");
    let mut watcher = env.connect();
    ok(watcher.subscribe(), "subscribe");
    ok(host::process::kill(st.controller_pid, 15), "SIGTERM");
    let Event::Exited(info) = ok(watcher.wait_event(Some(Duration::from_secs(10))), "event");
    assert_eq!(info.reason, ExitReason::Destroyed);
    assert!(!env.cgroup().exists());
}

#[test]
fn a_second_start_of_a_running_container_is_refused() {
    require_privileges!();
    let env = Env::new("dup");
    let spec = env.spec("exec sleep 1000");
    let st = ok(env.start(&spec), "start");
    let err = env
        .start(&spec)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("already"), "{err}");
    // The first one is untouched.
    assert_eq!(ok(env.connect().status(), "status").init_pid, st.init_pid);
}

#[test]
fn private_network_without_interfaces_and_default_capabilities() {
    require_privileges!();
    let env = Env::new("cap");
    let mut spec = env.spec("cat /proc/self/status > /tmp/s.tmp; ls /sys/class/net >> /tmp/s.tmp; mv /tmp/s.tmp /tmp/s; exec sleep 1000");
    spec.private_net = true;
    let st = ok(env.start(&spec), "start");
    assert_ne!(
        ok(host::ns::ns_id(st.init_pid, "net"), "ns"),
        ok(host::ns::ns_id(std::process::id(), "net"), "ns")
    );
    let out = env.wait_file("tmp/s");
    let bnd = out
        .lines()
        .find_map(|l| l.strip_prefix("CapBnd:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .unwrap_or_else(|| panic!("no CapBnd in {out}"));
    for dropped in [
        "mknod",
        "sys_module",
        "sys_time",
        "audit_control",
        "mac_admin",
    ] {
        let bit = host::caps::by_name(dropped).unwrap_or(0);
        assert_eq!(bnd & (1 << bit), 0, "{dropped} still in the bounding set");
    }
    for kept in ["sys_admin", "net_admin", "chown", "sys_boot"] {
        let bit = host::caps::by_name(kept).unwrap_or(0);
        assert_ne!(bnd & (1 << bit), 0, "{kept} was dropped");
    }
    assert!(out.lines().any(|l| l == "lo"), "{out}");
    assert!(!out.lines().any(|l| l == "eth0"), "{out}");
}

#[test]
fn a_killed_controller_leaves_an_orphan_that_can_be_cleaned_up() {
    require_privileges!();
    let env = Env::new("orph");
    let st = ok(env.start(&env.spec("exec sleep 1000")), "start");
    let ctl_start = ok(host::process::start_time(st.controller_pid), "start time");
    ok(host::process::kill(st.controller_pid, 9), "SIGKILL");
    // Still running without its controller.
    assert!(host::process::is_same_process(
        st.init_pid,
        st.init_start_time
    ));
    let deadline = Instant::now() + Duration::from_secs(10);
    while host::process::is_same_process(st.controller_pid, ctl_start) && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(ok(
        client::cleanup_orphan(&env.state, &env.name, "/machine"),
        "cleanup"
    ));
    assert!(!host::process::is_same_process(
        st.init_pid,
        st.init_start_time
    ));
    assert!(!env.cgroup().exists());
    assert!(!ok(
        client::cleanup_orphan(&env.state, &env.name, "/machine"),
        "second cleanup"
    ));
}

#[test]
fn console_output_without_a_reader_does_not_block_the_container() {
    require_privileges!();
    let env = Env::new("flood");
    let line = "x".repeat(100);
    let script = format!("i=0; while [ $i -lt 3000 ]; do echo {line}; i=$((i+1)); done; echo ok > /tmp/done; exec sleep 1000");
    let _st = ok(env.start(&env.spec(&script)), "start");
    // 300 KB through the console with nobody attached.
    assert_eq!(env.wait_file("tmp/done").trim(), "ok");
}

#[test]
fn a_device_off_the_list_is_denied_by_the_bpf_filter_of_the_unified_group() {
    require_privileges!();
    let env = Env::new("bpfdev");
    let cg = env.cgroup();
    let Some(v2) = cg.v2_dir().map(Path::to_path_buf) else {
        skip("no unified cgroup hierarchy");
        return;
    };
    let mounts = ok(host::cgroup::detect(), "detect");
    let unified = mounts.unified.map(|(m, _)| m).unwrap_or_default();
    match host::bpf_devices::unavailable_reason(&unified) {
        Ok(None) => {}
        Ok(Some(why)) => {
            skip(why);
            return;
        }
        Err(e) => {
            skip(format!("BPF device programs unusable: {e}"));
            return;
        }
    }
    link_applets(&env.root, &["mknod", "mv"]);
    // loop-control (c 10:237) is on no list; mknod is allowed for every
    // device when the capability is kept, so the container can make the
    // node and only the open is filtered.
    let round = |n: u32| {
        format!(
            "while [ ! -e /tmp/go{n} ]; do sleep 0.02; done; \
             for d in /dev/null /dev/probe; do \
               if m=$( (exec 3<$d) 2>&1 ); then echo \"$d ok\"; else echo \"$d $m\"; fi >> /tmp/r.tmp; \
             done; mv /tmp/r.tmp /tmp/r{n}; "
        )
    };
    let script = format!(
        "mknod /dev/probe c 10 237 && echo made > /tmp/made; {}{}exec sleep 1000",
        round(1),
        round(2)
    );
    let mut spec = env.spec(&script);
    spec.caps.switches.push(lxc_controller::spec::CapSwitch {
        name: "mknod".into(),
        on: true,
    });
    let st = ok(env.start(&spec), "start");
    assert!(st.init_pid > 1);
    let mut filter = ok(host::bpf_devices::DeviceFilter::find(&v2), "find")
        .unwrap_or_else(|| panic!("no device filter on {}", v2.display()));
    assert_eq!(
        ok(host::bpf_devices::attached_programs(&v2), "query").len(),
        1
    );
    let rules = ok(filter.rules(), "rules");
    let has = |major: u32, minor: Option<u32>, perms: &str| {
        rules.iter().any(|r| {
            r.kind == 'c' && r.major == Some(major) && r.minor == minor && r.perms == perms
        })
    };
    assert!(has(1, Some(3), "rwm"), "{rules:?}");
    assert!(has(136, None, "rwm"), "{rules:?}");
    assert!(
        rules
            .iter()
            .any(|r| r.kind == 'a' && r.major.is_none() && r.minor.is_none() && r.perms == "m"),
        "{rules:?}"
    );
    assert!(!has(10, Some(237), "rwm"), "{rules:?}");
    // Let the v1 devices controller (hybrid host) allow the probe, so only
    // the BPF filter stands in its way.
    if let Some(d) = cg.v1_dir("devices") {
        ok(
            std::fs::write(d.join("devices.allow"), "c 10:237 rwm"),
            "widening devices.allow",
        );
    }
    ok(std::fs::write(env.root.join("tmp/go1"), ""), "go1");
    assert_eq!(env.wait_file("tmp/made").trim(), "made");
    let r1 = env.wait_file("tmp/r1");
    assert!(r1.lines().any(|l| l == "/dev/null ok"), "{r1}");
    let probe = r1
        .lines()
        .find_map(|l| l.strip_prefix("/dev/probe "))
        .unwrap_or_else(|| panic!("{r1}"));
    assert!(probe.contains("Operation not permitted"), "{r1}");

    // Granting it through the map (as a restarted daemon would, from the
    // filter it found) lets the running container open it.
    ok(
        filter.allow(&host::cgroup::DeviceRule {
            kind: 'c',
            major: Some(10),
            minor: Some(237),
            perms: "r",
        }),
        "allow",
    );
    ok(std::fs::write(env.root.join("tmp/go2"), ""), "go2");
    let r2 = env.wait_file("tmp/r2");
    assert!(r2.lines().any(|l| l == "/dev/null ok"), "{r2}");
    assert!(!r2.contains("Operation not permitted"), "{r2}");
}

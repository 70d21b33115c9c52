// SPDX-License-Identifier: LGPL-2.1-or-later
//! Privileged tests: the driver runs real busybox containers through the
//! `Connection` trait (no daemon), with temporary config and state
//! directories. Each test checks it can run (root, user namespaces, a
//! static busybox, cgroups, the libvirt_lxc binary) and says why it skips.

use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use driver::consts::{lifecycle, reason, state};
use driver::error::ErrorCode;
use driver::{ConnectAuth, Connection, DomainRef, DriverFactory, Event, Uri};
use driver_lxc::{LxcDriverConfig, LxcDriverFactory};
use test_support::{bin_path, container_skip_reason, BusyboxRoot, TempDir};

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// The controller binary, built on demand next to this test's target dir.
fn controller_binary() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("LIBVIRT_LXC_BINARY") {
        return Some(PathBuf::from(p));
    }
    let bin = bin_path("libvirt_lxc");
    if bin.exists() {
        return Some(bin);
    }
    static BUILD: Mutex<()> = Mutex::new(());
    let _g = BUILD.lock().unwrap_or_else(|p| p.into_inner());
    if bin.exists() {
        return Some(bin);
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = std::process::Command::new(cargo)
        .args([
            "build",
            "-q",
            "-p",
            "lxc-controller",
            "--bin",
            "libvirt_lxc",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .ok()?;
    (status.success() && bin.exists()).then_some(bin)
}

fn skip_reason() -> Option<String> {
    if let Some(why) = container_skip_reason() {
        return Some(why);
    }
    if controller_binary().is_none() {
        return Some("the libvirt_lxc binary could not be built".into());
    }
    None
}

macro_rules! require_privileges {
    () => {
        test_support::skip_if!(skip_reason())
    };
}

fn ok<T, E: std::fmt::Display>(r: Result<T, E>, what: &str) -> T {
    r.unwrap_or_else(|e| panic!("{what}: {e}"))
}

struct Env {
    /// Removed after the containers are gone (fields drop after `drop`).
    _dir: TempDir,
    root: PathBuf,
    cfg: LxcDriverConfig,
    factory: Option<LxcDriverFactory>,
    conn: Option<Arc<dyn Connection>>,
    events: Arc<Mutex<Vec<Event>>>,
    tag: String,
}

impl Env {
    fn new(tag: &str) -> Env {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let tag = format!("d{}-{tag}-{n}", std::process::id());
        let dir = TempDir::new("drv");
        let root = BusyboxRoot::new(dir.join("root"))
            .applets(&["sh", "sleep", "cat", "echo", "true", "hostname"])
            .file("etc/passwd", "root:x:0:0:root:/:/bin/sh\n")
            .file("etc/group", "root:x:0:\n")
            .build();
        let mut cfg = LxcDriverConfig::from_dirs(
            true,
            dir.join("config"),
            dir.join("state"),
            dir.join("log"),
        );
        cfg.controller_binary = controller_binary().unwrap_or_default();
        let mut env = Env {
            _dir: dir,
            root,
            cfg,
            factory: None,
            conn: None,
            events: Arc::new(Mutex::new(Vec::new())),
            tag,
        };
        env.open();
        env
    }

    /// (Re)creates the driver on the same directories and opens a connection.
    fn open(&mut self) {
        self.conn = None;
        self.factory = None;
        let f = LxcDriverFactory::new(self.cfg.clone());
        ok(f.startup(), "startup");
        let uri = ok(Uri::parse("lxc:///system"), "uri");
        let c = ok(f.open(&uri, &ConnectAuth::default()), "open");
        let events = self.events.clone();
        c.subscribe(Arc::new(move |e: &Event| {
            events
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(e.clone());
        }));
        self.factory = Some(f);
        self.conn = Some(c);
    }

    fn c(&self) -> &Arc<dyn Connection> {
        self.conn
            .as_ref()
            .unwrap_or_else(|| panic!("no connection"))
    }

    fn name(&self, n: &str) -> String {
        format!("{}-{n}", self.tag)
    }

    fn xml(&self, name: &str, script: &str) -> String {
        let esc = script
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        format!(
            "<domain type='lxc'><name>{name}</name><memory unit='KiB'>65536</memory>
             <os><type>exe</type><init>/bin/sh</init><initarg>-c</initarg><initarg>{esc}</initarg></os>
             <devices><filesystem type='mount'><source dir='{}'/><target dir='/'/></filesystem>
             <console type='pty'/></devices></domain>",
            self.root.display()
        )
    }

    /// Waits (bounded) for an event matching `f`.
    fn wait_event(&self, name: &str, event: i32, detail: i32) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            let found = self
                .events
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .iter()
                .any(|e| {
                    matches!(e, Event::DomainLifecycle { dom, event: ev, detail: de }
                        if dom.name == name && *ev == event && *de == detail)
                });
            if found {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "no event {event}/{detail} for {name}; got {:?}",
            self.events.lock().unwrap_or_else(|p| p.into_inner())
        );
    }

    fn wait_state(&self, dom: &DomainRef, want: (i32, i32)) {
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut last = (0, 0);
        while Instant::now() < deadline {
            match self.c().domain_get_state(dom, 0) {
                Ok(s) if s == want => return,
                Ok(s) => last = s,
                Err(e) => panic!("state: {e}"),
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("state stayed {last:?}, wanted {want:?}");
    }

    fn status_file(&self, name: &str) -> PathBuf {
        self.cfg.state_dir.join(format!("{name}.xml"))
    }

    fn cgroup(&self, name: &str) -> host::cgroup::Cgroup {
        let mounts = ok(host::cgroup::detect(), "cgroups");
        ok(
            host::cgroup::Cgroup::resolve(&mounts, 0, "/machine", name),
            "resolve",
        )
    }

    /// The cgroup directories recorded in the status file.
    fn cgroup_dirs(&self, name: &str) -> Vec<PathBuf> {
        let text = ok(
            std::fs::read_to_string(self.status_file(name)),
            "status file",
        );
        text.lines()
            .filter_map(|l| {
                let rest = l.trim().strip_prefix("<cgroup dir='")?;
                Some(PathBuf::from(rest.strip_suffix("'/>")?))
            })
            .collect()
    }

    fn memory_limit(&self, name: &str) -> Option<u64> {
        for d in self.cgroup_dirs(name) {
            for f in ["memory.limit_in_bytes", "memory.max"] {
                if let Ok(s) = std::fs::read_to_string(d.join(f)) {
                    return s.trim().parse().ok();
                }
            }
        }
        None
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        if let Some(c) = &self.conn {
            if let Ok(doms) = c.list_all_domains(driver::consts::list::ACTIVE) {
                for d in doms {
                    let _ = c.domain_destroy(&d, 0);
                }
            }
        }
        self.conn = None;
        self.factory = None;
        // Anything a failed test left behind.
        if let Ok(rd) = std::fs::read_dir(&self.cfg.state_dir) {
            for e in rd.flatten() {
                let n = e.file_name().to_string_lossy().to_string();
                if let Some(name) = n.strip_suffix(".sock") {
                    if let Ok(mut c) = lxc_controller::client::connect(
                        &self.cfg.state_dir,
                        name,
                        Duration::from_secs(5),
                    ) {
                        let _ = c.destroy();
                    }
                    let _ = lxc_controller::client::cleanup_orphan(
                        &self.cfg.state_dir,
                        name,
                        "/machine",
                    );
                }
            }
        }
    }
}

fn ns_link(path: &str) -> String {
    std::fs::read_link(path)
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}

#[test]
fn busybox_container_starts_in_its_own_namespaces_with_its_memory_limit() {
    require_privileges!();
    let env = Env::new("start");
    let name = env.name("a");
    let dom = ok(
        env.c()
            .domain_define_xml(&env.xml(&name, "exec sleep 1000"), 0),
        "define",
    );
    env.wait_event(&name, lifecycle::DEFINED, lifecycle::DEFINED_ADDED);
    assert!(env.cfg.config_dir.join(format!("{name}.xml")).exists());
    assert_eq!(
        ok(env.c().domain_get_state(&dom, 0), "state"),
        (state::SHUTOFF, reason::SHUTOFF_UNKNOWN)
    );
    let dom = ok(env.c().domain_create(&dom, 0), "start");
    assert!(dom.id > 0);
    env.wait_event(&name, lifecycle::STARTED, lifecycle::STARTED_BOOTED);
    assert_eq!(
        ok(env.c().domain_get_state(&dom, 0), "state"),
        (state::RUNNING, reason::RUNNING_BOOTED)
    );
    assert!(env.status_file(&name).exists(), "no status file");
    assert_eq!(ok(env.c().domain_lookup_by_id(dom.id), "by id").name, name);

    // Namespaces: pid, mnt, uts, ipc differ from ours.
    let fds = ok(env.c().domain_open_namespace(&dom, 0), "namespaces");
    assert!(fds.len() >= 5, "{} namespace fds", fds.len());
    let links: Vec<String> = fds
        .iter()
        .map(|f| ns_link(&format!("/proc/self/fd/{}", f.as_raw_fd())))
        .collect();
    for kind in ["pid", "mnt", "uts", "ipc"] {
        let host_ns = ns_link(&format!("/proc/self/ns/{kind}"));
        let theirs = links
            .iter()
            .find(|l| l.starts_with(&format!("{kind}:")))
            .unwrap_or_else(|| panic!("no {kind} namespace in {links:?}"));
        assert_ne!(theirs, &host_ns, "{kind} namespace is shared with the host");
    }

    // Memory limit from <memory>, changed live through setmem.
    assert_eq!(env.memory_limit(&name), Some(65536 * 1024));
    let info = ok(env.c().domain_get_info(&dom), "info");
    assert_eq!(info.state, state::RUNNING);
    assert_eq!(info.max_mem, 65536);
    // Memory and CPU time come from the container's cgroups, not its
    // definition: some CPU was used, and usage is below the 64 MiB limit.
    assert!(info.cpu_time > 0, "{info:?}");
    assert!(info.memory > 0 && info.memory < 65536, "{info:?}");
    ok(env.c().domain_set_memory(&dom, 32768, 0), "setmem");
    assert_eq!(env.memory_limit(&name), Some(32768 * 1024));
    let err = env.c().domain_set_memory(&dom, 1 << 30, 0).err();
    assert_eq!(err.map(|e| e.code), Some(ErrorCode::InvalidArg));

    // Live XML carries the id; inactive XML does not.
    let live = ok(env.c().domain_get_xml_desc(&dom, 0), "xml");
    assert!(live.contains(&format!("id='{}'", dom.id)), "{live}");
    let inactive = ok(env.c().domain_get_xml_desc(&dom, 2), "xml");
    assert!(!inactive.contains("id='"), "{inactive}");

    // Starting again is refused.
    let e = env.c().domain_create(&dom, 0).err();
    assert_eq!(e.map(|e| e.code), Some(ErrorCode::OperationInvalid));

    ok(env.c().domain_destroy(&dom, 0), "destroy");
    env.wait_event(&name, lifecycle::STOPPED, lifecycle::STOPPED_DESTROYED);
    assert_eq!(
        ok(env.c().domain_get_state(&dom, 0), "state"),
        (state::SHUTOFF, reason::SHUTOFF_DESTROYED)
    );
    assert!(!env.status_file(&name).exists(), "status file left behind");
    assert!(!env.cgroup(&name).exists(), "cgroup left behind");
    // A persistent domain stays defined.
    assert!(ok(env.c().domain_is_persistent(&dom), "persistent"));
    ok(env.c().domain_undefine(&dom, 0), "undefine");
    env.wait_event(&name, lifecycle::UNDEFINED, lifecycle::UNDEFINED_REMOVED);
    assert!(env.c().domain_lookup_by_name(&name).is_err());
}

#[test]
fn console_answers_commands() {
    require_privileges!();
    let env = Env::new("console");
    let name = env.name("c");
    let dom = ok(
        env.c()
            .domain_create_xml(&env.xml(&name, "exec /bin/sh -i"), 0),
        "create",
    );
    let fd = ok(env.c().domain_open_console(&dom, None, 0), "console");
    let mut s = std::os::unix::net::UnixStream::from(fd);
    ok(
        s.set_read_timeout(Some(Duration::from_millis(200))),
        "timeout",
    );
    ok(s.write_all(b"echo $((40+2))\n"), "write");
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut seen = Vec::new();
    let mut buf = [0u8; 1024];
    while Instant::now() < deadline {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
            Err(_) => {}
        }
        if String::from_utf8_lossy(&seen).contains("42") {
            break;
        }
    }
    let text = String::from_utf8_lossy(&seen).to_string();
    assert!(text.contains("42"), "console said {text:?}");
    drop(s);
    ok(env.c().domain_destroy(&dom, 0), "destroy");
    // A transient domain is gone once stopped.
    assert!(env.c().domain_lookup_by_name(&name).is_err());
}

#[test]
fn suspend_and_resume_report_states_and_events() {
    require_privileges!();
    let env = Env::new("pause");
    let name = env.name("p");
    let dom = ok(
        env.c()
            .domain_create_xml(&env.xml(&name, "exec sleep 1000"), 0),
        "create",
    );
    ok(env.c().domain_suspend(&dom), "suspend");
    assert_eq!(
        ok(env.c().domain_get_state(&dom, 0), "state"),
        (state::PAUSED, reason::PAUSED_USER)
    );
    env.wait_event(&name, lifecycle::SUSPENDED, lifecycle::SUSPENDED_PAUSED);
    let st = ok(std::fs::read_to_string(env.status_file(&name)), "status");
    assert!(st.contains("state='3'"), "{st}");
    ok(env.c().domain_resume(&dom), "resume");
    assert_eq!(
        ok(env.c().domain_get_state(&dom, 0), "state"),
        (state::RUNNING, reason::RUNNING_UNPAUSED)
    );
    env.wait_event(&name, lifecycle::RESUMED, lifecycle::RESUMED_UNPAUSED);
    ok(env.c().domain_destroy(&dom, 0), "destroy");
}

#[test]
fn shutdown_stops_init_with_the_shutdown_reason() {
    require_privileges!();
    let env = Env::new("shut");
    let name = env.name("s");
    let dom = ok(
        env.c().domain_define_xml(
            &env.xml(&name, "trap 'exit 0' TERM; while :; do sleep 0.1; done"),
            0,
        ),
        "define",
    );
    let dom = ok(env.c().domain_create(&dom, 0), "start");
    // INITCTL alone is not available.
    let e = env.c().domain_shutdown(&dom, 1 << 2).err();
    assert_eq!(e.map(|e| e.code), Some(ErrorCode::OperationUnsupported));
    // Reboot through initctl alone is not available either; the signal
    // method sends SIGHUP, which this init has no handler for (so it stays).
    let e = env.c().domain_reboot(&dom, 1 << 2).err();
    assert_eq!(e.map(|e| e.code), Some(ErrorCode::OperationUnsupported));
    ok(env.c().domain_reboot(&dom, 0), "reboot");
    ok(env.c().domain_shutdown(&dom, 0), "shutdown");
    env.wait_event(&name, lifecycle::STOPPED, lifecycle::STOPPED_SHUTDOWN);
    env.wait_state(&dom, (state::SHUTOFF, reason::SHUTOFF_SHUTDOWN));
    assert!(!env.status_file(&name).exists());
    assert!(!env.cgroup(&name).exists(), "cgroup left behind");
}

#[test]
fn container_whose_init_exits_is_reported_shut_off() {
    require_privileges!();
    let env = Env::new("exit");
    let name = env.name("e");
    let dom = ok(
        env.c()
            .domain_define_xml(&env.xml(&name, "sleep 0.3; exit 0"), 0),
        "define",
    );
    let dom = ok(env.c().domain_create(&dom, 0), "start");
    env.wait_event(&name, lifecycle::STOPPED, lifecycle::STOPPED_SHUTDOWN);
    env.wait_state(&dom, (state::SHUTOFF, reason::SHUTOFF_SHUTDOWN));
    assert!(!ok(env.c().domain_is_active(&dom), "active"));
    assert!(!env.status_file(&name).exists());
}

#[test]
fn killed_controller_is_reported_crashed_and_cleaned_up() {
    require_privileges!();
    let env = Env::new("kill");
    let name = env.name("k");
    let dom = ok(
        env.c()
            .domain_define_xml(&env.xml(&name, "exec sleep 1000"), 0),
        "define",
    );
    let dom = ok(env.c().domain_create(&dom, 0), "start");
    let params = ok(env.c().domain_get_memory_parameters(&dom, 0), "memtune");
    assert!(
        params
            .iter()
            .any(|(n, v)| n == "soft_limit"
                && *v == driver::TypedValue::ULLong(9_007_199_254_740_991))
    );
    ok(
        host::process::kill(u32::try_from(dom.id).unwrap_or(0), 9),
        "kill",
    );
    env.wait_event(&name, lifecycle::STOPPED, lifecycle::STOPPED_FAILED);
    env.wait_state(&dom, (state::SHUTOFF, reason::SHUTOFF_CRASHED));
    assert!(!env.status_file(&name).exists());
    assert!(!env.cgroup(&name).exists(), "cgroup left behind");
}

#[test]
fn restarted_driver_finds_running_containers_and_controls_them() {
    require_privileges!();
    let mut env = Env::new("restart");
    let name = env.name("r");
    let dead = env.name("gone");
    let dom = ok(
        env.c()
            .domain_define_xml(&env.xml(&name, "exec sleep 1000"), 0),
        "define",
    );
    ok(env.c().domain_set_autostart(&dom, true), "autostart");
    let dom = ok(env.c().domain_create(&dom, 0), "start");
    let gone = ok(
        env.c()
            .domain_create_xml(&env.xml(&dead, "exec sleep 1000"), 0),
        "create",
    );
    ok(env.c().domain_suspend(&dom), "suspend");

    // The daemon goes away; one container dies while it is away.
    env.conn = None;
    env.factory = None;
    let pid = u32::try_from(gone.id).unwrap_or(0);
    if let Ok(mut c) =
        lxc_controller::client::connect(&env.cfg.state_dir, &dead, Duration::from_secs(5))
    {
        let _ = c.destroy();
    }
    let _ = pid;
    env.open();

    let again = ok(env.c().domain_lookup_by_name(&name), "lookup");
    assert_eq!(again.id, dom.id);
    assert_eq!(
        ok(env.c().domain_get_state(&again, 0), "state"),
        (state::PAUSED, reason::PAUSED_USER)
    );
    assert!(ok(env.c().domain_get_autostart(&again), "autostart"));
    assert!(ok(env.c().domain_is_persistent(&again), "persistent"));
    // The dead transient one is gone, and its status file with it.
    assert!(env.c().domain_lookup_by_name(&dead).is_err());
    assert!(!env.status_file(&dead).exists());
    ok(env.c().domain_resume(&again), "resume");
    ok(env.c().domain_destroy(&again, 0), "destroy");
    env.wait_event(&name, lifecycle::STOPPED, lifecycle::STOPPED_DESTROYED);

    // Autostart on the next start-up.
    env.open();
    let auto = ok(env.c().domain_lookup_by_name(&name), "lookup");
    assert_eq!(
        ok(env.c().domain_get_state(&auto, 0), "state"),
        (state::RUNNING, reason::RUNNING_BOOTED)
    );
    ok(env.c().domain_destroy(&auto, 0), "destroy");
}

#[test]
fn stopped_controller_times_out_its_domain_but_not_the_others() {
    require_privileges!();
    let mut env = Env::new("stall");
    env.cfg.job_timeout = Duration::from_millis(300);
    env.cfg.request_timeout = Duration::from_secs(2);
    env.open();
    let a = env.name("stuck");
    let b = env.name("fine");
    let da = ok(
        env.c()
            .domain_create_xml(&env.xml(&a, "exec sleep 1000"), 0),
        "create a",
    );
    let db = ok(
        env.c()
            .domain_create_xml(&env.xml(&b, "exec sleep 1000"), 0),
        "create b",
    );
    let ctl = u32::try_from(da.id).unwrap_or(0);
    ok(host::process::kill(ctl, 19), "SIGSTOP");
    let c2 = env.c().clone();
    let da2 = da.clone();
    let slow = std::thread::spawn(move || c2.domain_suspend(&da2));
    // Wait until the slow call holds the job.
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut second = None;
    while Instant::now() < deadline {
        match env.c().domain_resume(&da) {
            Err(e) if e.code == ErrorCode::OperationTimeout => {
                second = Some(e);
                break;
            }
            _ => std::thread::sleep(Duration::from_millis(20)),
        }
    }
    let e = second.unwrap_or_else(|| panic!("no job timeout"));
    assert!(
        e.message()
            .contains("cannot acquire state change lock (held by monitor=virDomainSuspend)"),
        "{}",
        e.message()
    );
    // Reads and other domains answer meanwhile.
    assert_eq!(
        ok(env.c().domain_lookup_by_name(&b), "lookup").uuid,
        db.uuid
    );
    assert!(ok(env.c().list_all_domains(0), "list").len() >= 2);
    assert_eq!(
        ok(env.c().domain_get_state(&da, 0), "state").0,
        state::RUNNING
    );
    ok(env.c().domain_suspend(&db), "suspend b");
    ok(env.c().domain_resume(&db), "resume b");
    let r = slow.join().unwrap_or_else(|_| panic!("thread"));
    assert!(r.is_err(), "suspend through a stopped controller succeeded");
    ok(host::process::kill(ctl, 18), "SIGCONT");
    ok(env.c().domain_destroy(&da, 0), "destroy a");
    ok(env.c().domain_destroy(&db, 0), "destroy b");
}

fn links() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir("/sys/class/net")
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().to_string())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn bad_configurations_fail_before_anything_is_created() {
    require_privileges!();
    let env = Env::new("bad");
    let c = env.c();
    // Not XML.
    let e = c.domain_define_xml("<domain", 0).err();
    assert!(e.is_some());
    // Not an LXC domain.
    assert!(c
        .domain_define_xml(
            "<domain type='kvm'><name>x</name><memory>1024</memory><os><type>hvm</type></os></domain>",
            0
        )
        .is_err());

    let check_clean = |name: &str| {
        assert!(!env.status_file(name).exists(), "{name}: status file");
        assert!(
            !env.cfg.state_dir.join(format!("{name}.sock")).exists(),
            "{name}: socket"
        );
        assert!(!env.cgroup(name).exists(), "{name}: cgroup");
        assert!(
            c.domain_lookup_by_name(name).is_err(),
            "{name}: still listed"
        );
    };

    // Missing root directory.
    let n1 = env.name("noroot");
    let xml = env
        .xml(&n1, "exec sleep 1")
        .replace(&env.root.display().to_string(), "/nonexistent/root");
    let e = c.domain_create_xml(&xml, 0).err().map(|e| e.message());
    assert!(
        e.as_deref().unwrap_or("").contains("/nonexistent/root"),
        "{e:?}"
    );
    check_clean(&n1);

    // Unknown init user.
    let n2 = env.name("nouser");
    let xml = env
        .xml(&n2, "exec sleep 1")
        .replace("</os>", "<inituser>nobody-here</inituser></os>");
    let e = c.domain_create_xml(&xml, 0).err().map(|e| e.message());
    assert!(e.as_deref().unwrap_or("").contains("nobody-here"), "{e:?}");
    check_clean(&n2);

    // A bridge that does not exist: the controller fails after creating
    // things, and must take them away again.
    let before = links();
    let n3 = env.name("nobr");
    let xml = env.xml(&n3, "exec sleep 1").replace(
        "<console type='pty'/>",
        "<interface type='bridge'><source bridge='nosuchbr9'/></interface><console type='pty'/>",
    );
    let e = c.domain_create_xml(&xml, 0).err();
    assert!(e.is_some(), "start with a missing bridge succeeded");
    check_clean(&n3);
    assert_eq!(links(), before, "network devices left behind");

    // A defined domain that fails to start stays defined and shut off.
    let n4 = env.name("defined");
    let xml = env
        .xml(&n4, "exec sleep 1")
        .replace(&env.root.display().to_string(), "/nonexistent/root");
    let d = ok(c.domain_define_xml(&xml, 0), "define");
    assert!(c.domain_create(&d, 0).is_err());
    assert_eq!(ok(c.domain_get_state(&d, 0), "state").0, state::SHUTOFF);
    assert!(!env.status_file(&n4).exists());
}

#[test]
fn connection_reports_the_host() {
    require_privileges!();
    let env = Env::new("host");
    let c = env.c();
    assert_eq!(c.get_type(), "LXC");
    assert!(ok(c.version(), "version") > 0);
    let caps = ok(c.capabilities(), "caps");
    assert!(caps.contains("<os_type>exe</os_type>"), "{caps}");
    assert!(ok(c.node_info(), "nodeinfo").cpus >= 1);
    assert!(ok(c.node_free_memory(), "free") > 0);
    let f = LxcDriverFactory::new(env.cfg.clone());
    let bad = ok(Uri::parse("lxc:///session"), "uri");
    assert!(f.open(&bad, &ConnectAuth::default()).is_err());
    let mut unpriv = env.cfg.clone();
    unpriv.privileged = false;
    let f = LxcDriverFactory::new(unpriv);
    let uri = ok(Uri::parse("lxc:///"), "uri");
    assert!(f.open(&uri, &ConnectAuth::default()).is_err());
}

/// A second connection onto the test's driver, as another client's.
fn second_connection(env: &Env) -> Arc<dyn Connection> {
    let f = env.factory.as_ref().unwrap_or_else(|| panic!("no driver"));
    let uri = ok(Uri::parse("lxc:///system"), "uri");
    ok(f.open(&uri, &ConnectAuth::default()), "open")
}

/// Whether process `pid` (a container's controller, by its domain id) is gone.
fn wait_process_gone(pid: i32) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Path::new(&format!("/proc/{pid}")).exists() {
        assert!(Instant::now() < deadline, "process {pid} is still there");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn autodestroy_guests_are_destroyed_when_their_connection_is_dropped() {
    require_privileges!();
    let env = Env::new("autod");
    let (transient, persistent, plain) = (env.name("t"), env.name("p"), env.name("n"));
    let autodestroy = driver::consts::create::START_AUTODESTROY;
    let owner = second_connection(&env);
    let t = ok(
        owner.domain_create_xml(&env.xml(&transient, "exec sleep 1000"), autodestroy),
        "create with autodestroy",
    );
    let p = ok(
        owner.domain_define_xml(&env.xml(&persistent, "exec sleep 1000"), 0),
        "define",
    );
    let p = ok(
        owner.domain_create(&p, autodestroy),
        "start with autodestroy",
    );
    let n = ok(
        owner.domain_create_xml(&env.xml(&plain, "exec sleep 1000"), 0),
        "create",
    );
    // Another connection sees them run.
    assert!(ok(env.c().domain_is_active(&t), "active"));
    assert!(ok(env.c().domain_is_active(&p), "active"));

    drop(owner);
    env.wait_event(&transient, lifecycle::STOPPED, lifecycle::STOPPED_DESTROYED);
    env.wait_event(
        &persistent,
        lifecycle::STOPPED,
        lifecycle::STOPPED_DESTROYED,
    );
    env.wait_state(&p, (state::SHUTOFF, reason::SHUTOFF_DESTROYED));
    let e = env.c().domain_lookup_by_name(&transient).err();
    assert_eq!(e.map(|e| e.code), Some(ErrorCode::NoDomain));
    wait_process_gone(t.id);
    wait_process_gone(p.id);
    assert!(!env.status_file(&transient).exists());
    // Started without the flag: it outlives its client.
    assert_eq!(
        ok(env.c().domain_get_state(&n, 0), "state"),
        (state::RUNNING, reason::RUNNING_BOOTED)
    );
    ok(env.c().domain_destroy(&n, 0), "destroy");
}

#[test]
fn a_destroyed_autodestroy_guest_started_again_is_no_longer_tied() {
    require_privileges!();
    let env = Env::new("autod2");
    let name = env.name("a");
    let owner = second_connection(&env);
    let dom = ok(
        owner.domain_define_xml(&env.xml(&name, "exec sleep 1000"), 0),
        "define",
    );
    ok(
        owner.domain_create(&dom, driver::consts::create::START_AUTODESTROY),
        "start with autodestroy",
    );
    // virsh destroy from elsewhere drops the tie; a plain start by another
    // client is not the owner's to destroy.
    ok(env.c().domain_destroy(&dom, 0), "destroy");
    let again = ok(env.c().domain_create(&dom, 0), "start");
    drop(owner);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        ok(env.c().domain_get_state(&again, 0), "state"),
        (state::RUNNING, reason::RUNNING_BOOTED)
    );
    ok(env.c().domain_destroy(&again, 0), "destroy");
}

#[test]
fn autodestroy_is_forgotten_across_a_driver_restart() {
    require_privileges!();
    let mut env = Env::new("autod3");
    let name = env.name("r");
    let owner = second_connection(&env);
    let dom = ok(
        owner.domain_create_xml(
            &env.xml(&name, "exec sleep 1000"),
            driver::consts::create::START_AUTODESTROY,
        ),
        "create with autodestroy",
    );
    // The daemon shuts down (its clients' connections go with it) and
    // starts again: the guest keeps running and belongs to no connection.
    if let Some(f) = &env.factory {
        f.shutdown();
    }
    drop(owner);
    env.open();
    let again = ok(env.c().domain_lookup_by_name(&name), "lookup");
    assert_eq!(again.id, dom.id);
    let owner = second_connection(&env);
    drop(owner);
    env.open();
    std::thread::sleep(Duration::from_millis(500));
    let again = ok(env.c().domain_lookup_by_name(&name), "lookup");
    assert!(ok(env.c().domain_is_active(&again), "active"));
    ok(env.c().domain_destroy(&again, 0), "destroy");
}

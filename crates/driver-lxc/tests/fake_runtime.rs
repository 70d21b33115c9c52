// SPDX-License-Identifier: LGPL-2.1-or-later
//! The LXC driver's logic without root: the driver runs on a fake
//! [`Runtime`] whose "controllers" are threads of this test serving the
//! real control protocol on the real socket paths, and whose "processes"
//! are pids in a table. Everything above the seam is the driver's own
//! code: jobs, states and reasons, lifecycle events, status files,
//! reattach after a restart, cleanup after a controller that died,
//! autostart, transient domains, and the errors a failed start gives.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use driver::consts::{lifecycle, list, reason, state};
use driver::error::ErrorCode;
use driver::{ConnectAuth, Connection, DomainRef, DriverFactory, Event, Uri};
use driver_lxc::{LxcDriverConfig, LxcDriverFactory, Runtime};
use lxc_controller::controller::socket_path;
use lxc_controller::proto::{
    Event as CtlEvent, ExitInfo, ExitReason, Request, Response, RunState, Stats, Status,
};
use lxc_controller::{Client, ContainerSpec, StartOptions, Started};
use test_support::TempDir;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn ok<T, E: std::fmt::Display>(r: Result<T, E>, what: &str) -> T {
    r.unwrap_or_else(|e| panic!("{what}: {e}"))
}

/// One fake controller: a listener thread and a thread per connection.
struct FakeCtl {
    init_pid: u32,
    controller_pid: u32,
    start_time: u64,
    sock: PathBuf,
    alive: AtomicBool,
    paused: AtomicBool,
    /// Every accepted connection (shut down when the controller ends).
    conns: Mutex<Vec<UnixStream>>,
    /// Connections that asked for events.
    subscribers: Mutex<Vec<UnixStream>>,
}

impl FakeCtl {
    fn status(&self) -> Status {
        Status {
            init_pid: self.init_pid,
            init_start_time: self.start_time,
            controller_pid: self.controller_pid,
            state: if self.paused.load(Ordering::SeqCst) {
                RunState::Paused
            } else {
                RunState::Running
            },
            veths: Vec::new(),
            cgroups: Vec::new(),
        }
    }
}

#[derive(Default)]
struct FakeState {
    /// Containers by name, while their controller runs.
    ctls: HashMap<String, Arc<FakeCtl>>,
    /// Exit records, as a real controller leaves them.
    exits: HashMap<String, ExitInfo>,
    /// The message the next start fails with.
    fail_next_start: Option<String>,
    /// Names cleanup_orphan was called for.
    cleanups: Vec<String>,
    /// Specs of the starts asked for.
    started: Vec<String>,
}

/// The fake host.
struct FakeHost {
    st: Mutex<FakeState>,
    next_pid: AtomicU32,
    /// Itself, for the listener threads `start` (given `&self`) spawns.
    me: Weak<FakeHost>,
}

impl FakeHost {
    fn new() -> Arc<FakeHost> {
        Arc::new_cyclic(|me| FakeHost {
            st: Mutex::new(FakeState::default()),
            next_pid: AtomicU32::new(4_000_000),
            me: me.clone(),
        })
    }

    fn ctl(&self, name: &str) -> Option<Arc<FakeCtl>> {
        lock(&self.st).ctls.get(name).cloned()
    }

    fn live_pids(&self) -> HashSet<u32> {
        lock(&self.st)
            .ctls
            .values()
            .flat_map(|c| [c.init_pid, c.controller_pid])
            .collect()
    }

    /// The container ends: with an exit record and an event when `exit`
    /// is given (a clean teardown), without either when the controller
    /// crashed.
    fn end(&self, name: &str, exit: Option<ExitInfo>) {
        let Some(ctl) = lock(&self.st).ctls.remove(name) else {
            return;
        };
        ctl.alive.store(false, Ordering::SeqCst);
        if let Some(info) = &exit {
            lock(&self.st).exits.insert(name.to_string(), info.clone());
            let line = event_line(info);
            for s in lock(&ctl.subscribers).iter_mut() {
                let _ = s.write_all(&line);
            }
        }
        let _ = std::fs::remove_file(&ctl.sock);
        for s in lock(&ctl.conns).iter() {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
    }

    fn serve(self: &Arc<Self>, name: String, ctl: Arc<FakeCtl>, listener: UnixListener) {
        let host = self.clone();
        let _ = listener.set_nonblocking(true);
        std::thread::spawn(move || {
            while ctl.alive.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((s, _)) => {
                        let _ = s.set_nonblocking(false);
                        if let Ok(c) = s.try_clone() {
                            lock(&ctl.conns).push(c);
                        }
                        // Accepted while the controller was ending: `end`
                        // may already have shut the others down (it clears
                        // `alive` before it takes `conns`), so this one
                        // goes too, as a real controller's would.
                        if !ctl.alive.load(Ordering::SeqCst) {
                            let _ = s.shutdown(std::net::Shutdown::Both);
                            continue;
                        }
                        let (h, n, c) = (host.clone(), name.clone(), ctl.clone());
                        std::thread::spawn(move || h.connection(&n, &c, s));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
    }

    fn connection(&self, name: &str, ctl: &FakeCtl, s: UnixStream) {
        let Ok(mut out) = s.try_clone() else { return };
        for line in BufReader::new(s).lines() {
            let Ok(line) = line else { return };
            let resp = match serde_json::from_str::<Request>(&line) {
                Err(e) => Response::err(e.to_string()),
                Ok(Request::Status) => Response {
                    status: Some(ctl.status()),
                    ..Response::ok()
                },
                Ok(Request::Freeze) => {
                    ctl.paused.store(true, Ordering::SeqCst);
                    Response::ok()
                }
                Ok(Request::Thaw) => {
                    ctl.paused.store(false, Ordering::SeqCst);
                    Response::ok()
                }
                Ok(Request::Stats) => Response {
                    stats: Some(Stats {
                        memory_bytes: Some(1 << 20),
                        cpu_ns: Some(5_000_000),
                    }),
                    ..Response::ok()
                },
                Ok(Request::Subscribe) => {
                    if let Ok(c) = out.try_clone() {
                        lock(&ctl.subscribers).push(c);
                    }
                    Response::ok()
                }
                Ok(Request::Shutdown { signal }) => {
                    let _ = out.write_all(&line_of(&Response::ok()));
                    self.end(
                        name,
                        Some(ExitInfo {
                            reason: ExitReason::Shutdown,
                            code: None,
                            signal: Some(signal.unwrap_or(15)),
                        }),
                    );
                    return;
                }
                Ok(Request::Destroy) => {
                    let info = ExitInfo {
                        reason: ExitReason::Destroyed,
                        code: None,
                        signal: Some(9),
                    };
                    let resp = Response {
                        exit: Some(info.clone()),
                        ..Response::ok()
                    };
                    let _ = out.write_all(&line_of(&resp));
                    self.end(name, Some(info));
                    return;
                }
                Ok(Request::Reboot) | Ok(Request::Console) => {
                    Response::err("not offered by the fake controller")
                }
            };
            if out.write_all(&line_of(&resp)).is_err() {
                return;
            }
        }
    }
}

fn line_of(r: &Response) -> Vec<u8> {
    let mut v = serde_json::to_vec(r).unwrap_or_default();
    v.push(b'\n');
    v
}

fn event_line(info: &ExitInfo) -> Vec<u8> {
    line_of(&Response {
        event: Some(CtlEvent::Exited(info.clone())),
        ..Response::default()
    })
}

impl Runtime for FakeHost {
    fn user_namespaces(&self) -> bool {
        false
    }

    fn start(
        &self,
        spec: &ContainerSpec,
        state_dir: &Path,
        _opts: &StartOptions,
    ) -> lxc_controller::Result<Started> {
        let name = spec.name.clone();
        lock(&self.st).started.push(name.clone());
        if let Some(msg) = lock(&self.st).fail_next_start.take() {
            return Err(lxc_controller::Error::Controller(msg));
        }
        std::fs::create_dir_all(state_dir)
            .map_err(|e| lxc_controller::Error::io("state dir", e))?;
        let sock = socket_path(state_dir, &name);
        let listener =
            UnixListener::bind(&sock).map_err(|e| lxc_controller::Error::io("bind", e))?;
        let init_pid = self.next_pid.fetch_add(2, Ordering::SeqCst);
        let ctl = Arc::new(FakeCtl {
            init_pid,
            controller_pid: init_pid + 1,
            start_time: u64::from(init_pid) * 7,
            sock,
            alive: AtomicBool::new(true),
            paused: AtomicBool::new(false),
            conns: Mutex::new(Vec::new()),
            subscribers: Mutex::new(Vec::new()),
        });
        lock(&self.st).ctls.insert(name.clone(), ctl.clone());
        lock(&self.st).exits.remove(&name);
        let started = Started {
            init_pid,
            init_start_time: ctl.start_time,
            controller_pid: ctl.controller_pid,
            veths: Vec::new(),
        };
        if let Some(me) = self.me.upgrade() {
            me.serve(name, ctl, listener);
        }
        Ok(started)
    }

    fn connect(
        &self,
        state_dir: &Path,
        name: &str,
        timeout: Duration,
    ) -> lxc_controller::Result<Client> {
        let path = socket_path(state_dir, name);
        let s = UnixStream::connect(&path).map_err(|e| lxc_controller::Error::io("connect", e))?;
        Client::from_stream(s, timeout)
    }

    fn last_exit(&self, _state_dir: &Path, name: &str) -> Option<ExitInfo> {
        lock(&self.st).exits.get(name).cloned()
    }

    fn cleanup_orphan(
        &self,
        state_dir: &Path,
        name: &str,
        _partition: &str,
    ) -> lxc_controller::Result<bool> {
        if self.ctl(name).is_some() {
            return Err(lxc_controller::Error::Controller(format!(
                "container '{name}' still has a running controller"
            )));
        }
        lock(&self.st).cleanups.push(name.to_string());
        Ok(std::fs::remove_file(socket_path(state_dir, name)).is_ok())
    }

    fn is_same_process(&self, pid: u32, start_time: u64) -> bool {
        lock(&self.st)
            .ctls
            .values()
            .any(|c| c.init_pid == pid && c.start_time == start_time)
    }

    fn exists(&self, pid: u32) -> bool {
        self.live_pids().contains(&pid)
    }

    fn alive(&self, pid: u32) -> bool {
        self.live_pids().contains(&pid)
    }

    fn kill(&self, pid: u32, signal: i32) {
        let name = lock(&self.st)
            .ctls
            .iter()
            .find(|(_, c)| c.init_pid == pid)
            .map(|(n, _)| n.clone());
        if let Some(n) = name {
            self.end(
                &n,
                Some(ExitInfo {
                    reason: ExitReason::Shutdown,
                    code: None,
                    signal: Some(signal),
                }),
            );
        }
    }
}

/// A driver on the fake host with temporary directories, one connection
/// and the events it saw.
struct Env {
    dir: TempDir,
    host: Arc<FakeHost>,
    cfg: LxcDriverConfig,
    factory: Option<LxcDriverFactory>,
    conn: Option<Arc<dyn Connection>>,
    events: Arc<Mutex<Vec<Event>>>,
}

impl Env {
    fn new(tag: &str) -> Env {
        let dir = TempDir::new(&format!("lxc-fake-{tag}"));
        // The driver checks that the root and its init exist.
        ok(std::fs::create_dir_all(dir.join("root/bin")), "root dir");
        ok(std::fs::write(dir.join("root/bin/sh"), ""), "init");
        let mut cfg = LxcDriverConfig::from_dirs(
            true,
            dir.join("config"),
            dir.join("state"),
            dir.join("log"),
        );
        cfg.controller_binary = PathBuf::from("/nonexistent/libvirt_lxc");
        cfg.job_timeout = Duration::from_secs(5);
        let mut env = Env {
            dir,
            host: FakeHost::new(),
            cfg,
            factory: None,
            conn: None,
            events: Arc::new(Mutex::new(Vec::new())),
        };
        env.open();
        env
    }

    /// (Re)creates the driver on the same directories and host, as a
    /// daemon restart does, and opens a connection.
    fn open(&mut self) {
        if let Some(f) = self.factory.take() {
            f.shutdown();
        }
        self.conn = None;
        let f = LxcDriverFactory::with_runtime(self.cfg.clone(), self.host.clone());
        ok(f.startup(), "startup");
        let uri = ok(Uri::parse("lxc:///system"), "uri");
        let c = ok(f.open(&uri, &ConnectAuth::default()), "open");
        let events = self.events.clone();
        c.subscribe(Arc::new(move |e: &Event| lock(&events).push(e.clone())));
        self.factory = Some(f);
        self.conn = Some(c);
    }

    fn c(&self) -> &Arc<dyn Connection> {
        self.conn
            .as_ref()
            .unwrap_or_else(|| panic!("no connection"))
    }

    fn xml(&self, name: &str) -> String {
        format!(
            "<domain type='lxc'><name>{name}</name><memory unit='KiB'>65536</memory>
             <os><type>exe</type><init>/bin/sh</init></os>
             <devices><filesystem type='mount'><source dir='{}'/><target dir='/'/></filesystem>
             </devices></domain>",
            self.dir.join("root").display()
        )
    }

    fn define(&self, name: &str) -> DomainRef {
        ok(self.c().domain_define_xml(&self.xml(name), 0), "define")
    }

    fn state(&self, dom: &DomainRef) -> (i32, i32) {
        ok(self.c().domain_get_state(dom, 0), "state")
    }

    fn lookup(&self, name: &str) -> DomainRef {
        ok(self.c().domain_lookup_by_name(name), "lookup")
    }

    fn status_file(&self, name: &str) -> PathBuf {
        self.cfg.state_dir.join(format!("{name}.xml"))
    }

    fn saw(&self, name: &str, event: i32, detail: i32) -> bool {
        lock(&self.events).iter().any(|e| {
            matches!(e, Event::DomainLifecycle { dom, event: ev, detail: de }
                if dom.name == name && *ev == event && *de == detail)
        })
    }

    fn wait_event(&self, name: &str, event: i32, detail: i32) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if self.saw(name, event, detail) {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!(
            "no event {event}/{detail} for {name}; got {:?}",
            lock(&self.events)
        );
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        if let Some(f) = self.factory.take() {
            f.shutdown();
        }
        let names: Vec<String> = lock(&self.host.st).ctls.keys().cloned().collect();
        for n in names {
            self.host.end(&n, None);
        }
    }
}

#[test]
fn lifecycle_states_events_and_status_file() {
    let env = Env::new("life");
    let d = env.define("c1");
    assert_eq!(env.state(&d), (state::SHUTOFF, reason::SHUTOFF_UNKNOWN));
    let d = ok(env.c().domain_create(&d, 0), "start");
    let ctl = env
        .host
        .ctl("c1")
        .unwrap_or_else(|| panic!("no controller"));
    // The id of a running container is its controller's pid.
    assert_eq!(d.id, ctl.controller_pid as i32);
    assert_eq!(env.state(&d), (state::RUNNING, reason::RUNNING_BOOTED));
    assert!(env.saw("c1", lifecycle::STARTED, lifecycle::STARTED_BOOTED));
    let status = ok(std::fs::read_to_string(env.status_file("c1")), "status");
    assert!(
        status.contains(&format!("pid='{}'", ctl.controller_pid)),
        "{status}"
    );
    let mode = ok(std::fs::metadata(env.status_file("c1")), "stat").permissions();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
        0o600
    );

    ok(env.c().domain_suspend(&d), "suspend");
    assert!(
        ctl.paused.load(Ordering::SeqCst),
        "the controller was not asked to freeze"
    );
    assert_eq!(env.state(&d), (state::PAUSED, reason::PAUSED_USER));
    assert!(env.saw("c1", lifecycle::SUSPENDED, lifecycle::SUSPENDED_PAUSED));
    // Suspending a paused container changes nothing (as in libvirt's LXC
    // driver): no error, no second event.
    ok(env.c().domain_suspend(&d), "second suspend");
    let suspended = lock(&env.events)
        .iter()
        .filter(
            |e| matches!(e, Event::DomainLifecycle { event, .. } if *event == lifecycle::SUSPENDED),
        )
        .count();
    assert_eq!(suspended, 1);
    ok(env.c().domain_resume(&d), "resume");
    assert_eq!(env.state(&d), (state::RUNNING, reason::RUNNING_UNPAUSED));

    ok(env.c().domain_destroy(&d, 0), "destroy");
    assert_eq!(env.state(&d), (state::SHUTOFF, reason::SHUTOFF_DESTROYED));
    assert!(env.saw("c1", lifecycle::STOPPED, lifecycle::STOPPED_DESTROYED));
    assert!(
        !env.status_file("c1").exists(),
        "status file left after destroy"
    );
    assert!(lock(&env.host.st).cleanups.contains(&"c1".to_string()));
    // Operations on a stopped domain give libvirt's error.
    let e = env
        .c()
        .domain_suspend(&d)
        .err()
        .unwrap_or_else(|| panic!("suspend of shut off"));
    assert_eq!(e.code, ErrorCode::OperationInvalid, "{e}");
}

#[test]
fn shutdown_reported_by_the_controller_stops_and_drops_a_transient_domain() {
    let env = Env::new("shutdown");
    let d = ok(env.c().domain_create_xml(&env.xml("t1"), 0), "create");
    assert_eq!(env.state(&d), (state::RUNNING, reason::RUNNING_BOOTED));
    ok(env.c().domain_shutdown(&d, 0), "shutdown");
    env.wait_event("t1", lifecycle::STOPPED, lifecycle::STOPPED_SHUTDOWN);
    let deadline = Instant::now() + Duration::from_secs(10);
    while env.c().domain_lookup_by_name("t1").is_ok() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let e = env
        .c()
        .domain_lookup_by_name("t1")
        .err()
        .unwrap_or_else(|| panic!("still listed"));
    assert_eq!(e.code, ErrorCode::NoDomain, "{e}");
    assert!(!env.status_file("t1").exists());
}

#[test]
fn controller_crash_is_a_crashed_shut_off() {
    let env = Env::new("crash");
    let d = env.define("k1");
    let d = ok(env.c().domain_create(&d, 0), "start");
    env.host.end("k1", None);
    env.wait_event("k1", lifecycle::STOPPED, lifecycle::STOPPED_FAILED);
    assert_eq!(env.state(&d), (state::SHUTOFF, reason::SHUTOFF_CRASHED));
    assert!(!env.status_file("k1").exists());
    // Still defined, and it starts again.
    let d = ok(env.c().domain_create(&d, 0), "restart");
    assert_eq!(env.state(&d), (state::RUNNING, reason::RUNNING_BOOTED));
}

#[test]
fn restart_reattaches_running_and_paused_containers_and_cleans_up_vanished_ones() {
    let mut env = Env::new("reattach");
    for n in ["r1", "r2", "r3"] {
        let d = env.define(n);
        ok(env.c().domain_create(&d, 0), "start");
    }
    let r2 = env.lookup("r2");
    ok(env.c().domain_suspend(&r2), "suspend");
    let ids: HashMap<String, i32> = ["r1", "r2"]
        .iter()
        .map(|n| (n.to_string(), env.lookup(n).id))
        .collect();
    // The daemon goes away; r3's container dies meanwhile.
    if let Some(f) = env.factory.take() {
        f.shutdown();
    }
    env.conn = None;
    env.host.end("r3", None);
    let starts = lock(&env.host.st).started.len();
    env.open();
    // Nothing was started again: the running ones were found.
    assert_eq!(lock(&env.host.st).started.len(), starts);
    let r1 = env.lookup("r1");
    assert_eq!(r1.id, ids["r1"]);
    assert_eq!(env.state(&r1).0, state::RUNNING);
    let r2 = env.lookup("r2");
    assert_eq!(r2.id, ids["r2"]);
    assert_eq!(env.state(&r2), (state::PAUSED, reason::PAUSED_USER));
    let r3 = env.lookup("r3");
    assert_eq!(env.state(&r3).0, state::SHUTOFF);
    assert!(!env.status_file("r3").exists(), "stale status file kept");
    assert!(lock(&env.host.st).cleanups.contains(&"r3".to_string()));
    // The reattached ones are watched: a shutdown is noticed.
    ok(env.c().domain_shutdown(&r1, 0), "shutdown");
    env.wait_event("r1", lifecycle::STOPPED, lifecycle::STOPPED_SHUTDOWN);
    assert_eq!(env.state(&r1), (state::SHUTOFF, reason::SHUTOFF_SHUTDOWN));
    let active = ok(env.c().list_all_domains(list::ACTIVE), "list");
    let names: Vec<&str> = active.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, vec!["r2"]);
}

#[test]
fn autostart_starts_at_daemon_start() {
    let mut env = Env::new("autostart");
    let d = env.define("a1");
    env.define("a2");
    ok(env.c().domain_set_autostart(&d, true), "autostart");
    assert!(ok(env.c().domain_get_autostart(&d), "get autostart"));
    env.open();
    let a1 = env.lookup("a1");
    assert_eq!(env.state(&a1), (state::RUNNING, reason::RUNNING_BOOTED));
    let a2 = env.lookup("a2");
    assert_eq!(env.state(&a2).0, state::SHUTOFF);
}

#[test]
fn failed_start_reports_the_controller_message_and_leaves_nothing() {
    let env = Env::new("fail");
    let d = env.define("f1");
    lock(&env.host.st).fail_next_start = Some("cannot mount the root".into());
    let e = env
        .c()
        .domain_create(&d, 0)
        .err()
        .unwrap_or_else(|| panic!("start succeeded"));
    assert_eq!(e.code, ErrorCode::OperationFailed, "{e}");
    assert!(e.message().contains("cannot mount the root"), "{e}");
    assert_eq!(env.state(&d).0, state::SHUTOFF);
    assert!(!env.status_file("f1").exists());
    assert!(!env.saw("f1", lifecycle::STARTED, lifecycle::STARTED_BOOTED));
    // A transient domain whose start fails is not kept.
    lock(&env.host.st).fail_next_start = Some("no".into());
    assert!(env.c().domain_create_xml(&env.xml("f2"), 0).is_err());
    assert!(env.c().domain_lookup_by_name("f2").is_err());
}

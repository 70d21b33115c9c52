// SPDX-License-Identifier: LGPL-2.1-or-later
//! The controller process (`libvirt_lxc`).
//!
//! Command line: `libvirt_lxc --name NAME --spec FILE --state-dir DIR`.
//! Standard output is the handshake channel: exactly one JSON line
//! ([`crate::proto::Handshake`]) tells the starter whether the container
//! runs. Everything else goes to `DIR/NAME.log`.
//!
//! The process is single-threaded on purpose: it forks the container init
//! with a fork-like clone, and it serves its control socket from one poll loop.

use crate::container::{self, ChildArgs, MSG_GO, MSG_PTY};
use crate::proto::{
    Event, ExitInfo, ExitReason, Handshake, Request, Response, RunState, Stats, Status, MAX_LINE,
};
use crate::spec::{ContainerSpec, NetType};
use crate::{Error, Result};
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

const SIGKILL: i32 = 9;
const SIGTERM: i32 = 15;
const SIGHUP: i32 = 1;
const SIGPIPE: i32 = 13;
const SIGINT: i32 = 2;
/// v1 controllers only the container's processes join (the controller
/// itself is never frozen nor device-restricted).
const INIT_ONLY: [&str; 2] = ["devices", "freezer"];

/// Parsed command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args {
    /// Container name.
    pub name: String,
    /// Spec file.
    pub spec: PathBuf,
    /// State directory (socket, log, staging root).
    pub state_dir: PathBuf,
}

/// Parses `--name N --spec F --state-dir D`.
pub fn parse_args(argv: &[String]) -> Result<Args> {
    let mut name = None;
    let mut spec = None;
    let mut dir = None;
    let mut it = argv.iter();
    while let Some(a) = it.next() {
        let mut val = || {
            it.next()
                .cloned()
                .ok_or_else(|| Error::Spec(format!("missing value for {a}")))
        };
        match a.as_str() {
            "--name" | "-n" => name = Some(val()?),
            "--spec" | "-s" => spec = Some(PathBuf::from(val()?)),
            "--state-dir" | "-d" => dir = Some(PathBuf::from(val()?)),
            other => return Err(Error::Spec(format!("unknown argument '{other}'"))),
        }
    }
    Ok(Args {
        name: name.ok_or_else(|| Error::Spec("--name is required".into()))?,
        spec: spec.ok_or_else(|| Error::Spec("--spec is required".into()))?,
        state_dir: dir.ok_or_else(|| Error::Spec("--state-dir is required".into()))?,
    })
}

/// Path of the control socket of `name`.
pub fn socket_path(state_dir: &Path, name: &str) -> PathBuf {
    state_dir.join(format!("{name}.sock"))
}

/// Path of the log file of `name`.
pub fn log_path(state_dir: &Path, name: &str) -> PathBuf {
    state_dir.join(format!("{name}.log"))
}

/// Path of the file recording how the last run of `name` ended.
pub fn exit_path(state_dir: &Path, name: &str) -> PathBuf {
    state_dir.join(format!("{name}.exit.json"))
}

fn log(msg: impl AsRef<str>) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    eprintln!(
        "{}.{:03}: {}",
        now.as_secs(),
        now.subsec_millis(),
        msg.as_ref()
    );
}

fn write_handshake(fd: &OwnedFd, hs: &Handshake) {
    let mut line = serde_json::to_string(hs).unwrap_or_else(|_| r#"{"ok":false}"#.into());
    line.push('\n');
    if let Ok(dup) = fd.try_clone() {
        let mut f = std::fs::File::from(dup);
        let _ = f.write_all(line.as_bytes());
    }
}

/// Entry point of the `libvirt_lxc` binary; returns the process exit code.
pub fn main_entry() -> i32 {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    // The handshake channel is the original stdout.
    let hs = match host::fd::dup_cloexec(std::io::stdout().as_fd()) {
        Ok(fd) => fd,
        Err(e) => {
            eprintln!("libvirt_lxc: {e}");
            return 1;
        }
    };
    let fail = |hs: &OwnedFd, msg: String| {
        write_handshake(
            hs,
            &Handshake {
                ok: false,
                error: Some(msg),
                init_pid: 0,
                init_start_time: 0,
                controller_pid: 0,
                veths: Vec::new(),
            },
        );
        1
    };
    let args = match parse_args(&argv) {
        Ok(a) => a,
        Err(e) => return fail(&hs, e.to_string()),
    };
    let spec: ContainerSpec = match std::fs::read(&args.spec)
        .map_err(|e| Error::io(format!("reading {}", args.spec.display()), e))
        .and_then(|b| serde_json::from_slice(&b).map_err(|e| Error::Spec(e.to_string())))
    {
        Ok(s) => s,
        Err(e) => return fail(&hs, e.to_string()),
    };
    if spec.name != args.name {
        return fail(
            &hs,
            format!("spec is for '{}', not '{}'", spec.name, args.name),
        );
    }
    if let Err(e) = spec.validate() {
        return fail(&hs, e.to_string());
    }
    // Detach: own session, immune to the starter's hangup, not its child.
    if let Err(e) = daemonize(&args, &hs) {
        return fail(&hs, e.to_string());
    }
    log(format!("starting container '{}'", spec.name));
    let mut ctl = Controller::new(spec, args);
    // SIGTERM/SIGINT to the controller destroy the container cleanly
    // instead of orphaning it.
    match host::process::signalfd(&[SIGTERM, SIGINT]) {
        Ok(fd) => ctl.sigfd = Some(fd),
        Err(e) => log(format!("no signalfd, SIGTERM will not clean up: {e}")),
    }
    match ctl.start() {
        Ok(()) => {
            let st = ctl.status();
            write_handshake(
                &hs,
                &Handshake {
                    ok: true,
                    error: None,
                    init_pid: st.init_pid,
                    init_start_time: st.init_start_time,
                    controller_pid: st.controller_pid,
                    veths: st.veths,
                },
            );
            drop(hs);
            log(format!("container running, init pid {}", st.init_pid));
            ctl.serve()
        }
        Err(e) => {
            log(format!("start failed: {e}"));
            ctl.teardown();
            fail(&hs, e.to_string())
        }
    }
}

fn daemonize(args: &Args, hs: &OwnedFd) -> Result<()> {
    std::fs::create_dir_all(&args.state_dir)
        .map_err(|e| Error::io(format!("creating {}", args.state_dir.display()), e))?;
    // setsid fails only when already a group leader; a fork below fixes that.
    let _ = host::process::setsid();
    host::process::ignore_signal(SIGHUP)?;
    host::process::ignore_signal(SIGPIPE)?;
    // Fork so the starter can reap its direct child at once and the
    // controller is re-parented away from the daemon.
    let pid = host::process::fork()?;
    if pid != 0 {
        host::process::exit_now(0);
    }
    let _ = host::process::setsid();
    let logf = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log_path(&args.state_dir, &args.name))
        .map_err(|e| Error::io("opening the log file", e))?;
    let null = std::fs::File::open("/dev/null").map_err(|e| Error::io("opening /dev/null", e))?;
    host::fd::dup_onto(null.as_fd(), 0)?;
    host::fd::dup_onto(logf.as_fd(), 1)?;
    host::fd::dup_onto(logf.as_fd(), 2)?;
    drop(logf);
    drop(null);
    host::fd::close_all_except(&[hs.as_raw_fd()])?;
    Ok(())
}

struct Client {
    stream: UnixStream,
    buf: Vec<u8>,
    subscribed: bool,
}

/// State of one controller.
pub struct Controller {
    spec: ContainerSpec,
    args: Args,
    cgroup: Option<host::cgroup::Cgroup>,
    veths: Vec<String>,
    init_pid: u32,
    init_start: u64,
    pidfd: Option<OwnedFd>,
    console: Option<std::fs::File>,
    /// The connection currently attached to the console (one at a time).
    console_client: Option<UnixStream>,
    /// Set when the console reported hang-up (no slave open): it is not
    /// polled again until a client attaches.
    console_hup: bool,
    listener: Option<UnixListener>,
    staging: PathBuf,
    stop_requested: Option<ExitReason>,
    /// Set by a `destroy` request: teardown leaves the emptied cgroup to
    /// the requester, which removes it once this process has exited.
    /// Moving this process out first would cost an RCU grace period (a
    /// v1 `cgroup.procs` write), several ms on every destroy.
    leave_cgroup: bool,
    /// The directories teardown left for the requester.
    left_cgroups: Vec<String>,
    loops: Vec<host::loopdev::LoopDevice>,
    sigfd: Option<OwnedFd>,
}

impl Controller {
    /// A controller for `spec` (nothing is started yet).
    pub fn new(spec: ContainerSpec, args: Args) -> Self {
        let staging = args.state_dir.join(format!("{}.root", spec.name));
        Controller {
            spec,
            args,
            cgroup: None,
            veths: Vec::new(),
            init_pid: 0,
            init_start: 0,
            pidfd: None,
            console: None,
            console_client: None,
            console_hup: false,
            listener: None,
            staging,
            stop_requested: None,
            leave_cgroup: false,
            left_cgroups: Vec::new(),
            loops: Vec::new(),
            sigfd: None,
        }
    }

    fn status(&self) -> Status {
        let state = match self.cgroup.as_ref().map(|c| c.is_frozen()) {
            Some(Ok(true)) => RunState::Paused,
            _ => RunState::Running,
        };
        Status {
            init_pid: self.init_pid,
            init_start_time: self.init_start,
            controller_pid: host::process::getpid(),
            state,
            veths: self.veths.clone(),
            cgroups: self
                .cgroup
                .as_ref()
                .map(|c| {
                    c.all_dirs()
                        .iter()
                        .map(|d| d.display().to_string())
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    /// Builds the container: checks, cgroup, veths, clone, handshake, socket.
    pub fn start(&mut self) -> Result<()> {
        let spec = self.spec.clone();
        let sock_path = socket_path(&self.args.state_dir, &spec.name);
        if UnixStream::connect(&sock_path).is_ok() {
            return Err(Error::Controller(format!(
                "container '{}' already has a running controller",
                spec.name
            )));
        }
        if let Some(root) = &spec.root {
            if !root.is_dir() {
                return Err(Error::Spec(format!(
                    "root directory '{}' does not exist",
                    root.display()
                )));
            }
        }
        for fs in &spec.filesystems {
            if let Some(src) = &fs.source {
                if !src.exists() {
                    return Err(Error::Spec(format!(
                        "filesystem source '{}' does not exist",
                        src.display()
                    )));
                }
            }
        }
        for iface in &spec.interfaces {
            if let Some(br) = &iface.bridge {
                if iface.net_type == NetType::Bridge && !host::net::link_exists(br) {
                    return Err(Error::Spec(format!("bridge '{br}' does not exist")));
                }
            }
        }

        // Image files become loop devices, mounted in the container like
        // block devices. The devices clear themselves once unmounted.
        let mut spec = spec;
        for fs in spec.filesystems.iter_mut() {
            if fs.fs_type == crate::spec::FsType::File {
                let Some(src) = fs.source.clone() else {
                    continue;
                };
                let dev = host::loopdev::attach(&src, fs.readonly)?;
                log(format!(
                    "attached {} to {}",
                    src.display(),
                    dev.path().display()
                ));
                fs.fs_type = crate::spec::FsType::Block;
                fs.source = Some(dev.path().to_path_buf());
                self.loops.push(dev);
            }
        }

        // Cgroup.
        let mounts = host::cgroup::detect()?;
        let cg = host::cgroup::Cgroup::resolve(&mounts, 0, &spec.resource_partition, &spec.name)?;
        if cg.exists() {
            // Left over by a controller that died: empty groups can go.
            if !cg.pids().is_empty() {
                return Err(Error::Controller(format!(
                    "cgroup of container '{}' still has tasks",
                    spec.name
                )));
            }
            let _ = cg.remove();
        }
        self.cgroup = Some(cg.clone());
        for w in cg.create(&mounts)? {
            log(w);
        }
        for w in cg.apply_limits(&spec.limits())? {
            log(w);
        }
        // Before init exists: it is cloned into groups that already filter.
        for w in cg.set_devices(&device_rules(&spec))? {
            log(w);
        }
        // The controller is accounted with the container in the v1
        // hierarchies but never frozen or device-restricted itself; init
        // inherits these placements and joins the other two itself. In the
        // unified hierarchy init is cloned straight into the group.
        cg.join_v1(|c| !INIT_ONLY.contains(&c))?;

        // Host ends of the network.
        let mut peers = Vec::new();
        for iface in &spec.interfaces {
            // Another controller may grab the same free names at the same
            // moment; creation then fails and fresh names are tried.
            let mut attempt = 0;
            let (hostdev, peer) = loop {
                attempt += 1;
                let auto = host::net::free_veth_names(2);
                let (hostdev, peer) = match (&iface.target, auto.as_slice()) {
                    (Some(t), [a, b]) => (t.clone(), if a == t { b.clone() } else { a.clone() }),
                    (None, [a, b]) => (a.clone(), b.clone()),
                    _ => return Err(Error::Controller("no free veth name".into())),
                };
                match host::net::create_veth(&hostdev, &peer) {
                    Ok(()) => break (hostdev, peer),
                    Err(e) => {
                        let taken = host::net::link_exists(&peer)
                            || (iface.target.is_none() && host::net::link_exists(&hostdev));
                        if !taken || attempt >= 8 {
                            return Err(e.into());
                        }
                    }
                }
            };
            self.veths.push(hostdev);
            peers.push(peer);
        }

        // Clone init.
        let _ = std::fs::remove_dir(&self.staging);
        std::fs::create_dir_all(&self.staging)
            .map_err(|e| Error::io(format!("creating {}", self.staging.display()), e))?;
        let userns = spec.needs_userns();
        let mut flags = host::ns::CLONE_NEWNS
            | host::ns::CLONE_NEWPID
            | host::ns::CLONE_NEWUTS
            | host::ns::CLONE_NEWIPC;
        if spec.needs_netns() {
            flags |= host::ns::CLONE_NEWNET;
        }
        if userns {
            flags |= host::ns::CLONE_NEWUSER;
        }
        let (parent_sock, child_sock) = host::fd::seqpacket_pair()?;
        let v2_dir = cg.v2_dir().and_then(|d| std::fs::File::open(d).ok());
        let mut in_v2 = false;
        let pid = match v2_dir
            .as_ref()
            .map(|d| host::ns::clone_process_into(flags, d.as_fd()))
        {
            Some(Ok(pid)) => {
                in_v2 = true;
                pid
            }
            Some(Err(e)) => {
                log(format!(
                    "cloning into the unified group: {e}; moving init after"
                ));
                host::ns::clone_process(flags)?
            }
            None => host::ns::clone_process(flags)?,
        };
        if pid == 0 {
            drop(parent_sock);
            container::child_main(ChildArgs {
                spec: &spec,
                staging: self.staging.clone(),
                userns,
                sock: child_sock,
                cgroup: &cg,
                join_v1: &INIT_ONLY,
            });
        }
        drop(child_sock);
        self.init_pid = pid;
        if !in_v2 {
            if let Some(d) = cg.v2_dir() {
                let r = std::fs::write(d.join("cgroup.procs"), pid.to_string());
                if let Err(e) = r {
                    // In the hybrid layout v1 controllers do the work; the
                    // unified group is only bookkeeping there.
                    if cg.is_v2() {
                        return Err(Error::io(format!("adding init to {}", d.display()), e));
                    }
                }
            }
        }
        self.pidfd = Some(host::process::pidfd_open(pid)?);

        if userns {
            let conv = |v: &[crate::spec::IdMapEntry]| {
                v.iter()
                    .map(|m| host::ns::IdMap {
                        inside: m.start,
                        outside: m.target,
                        count: m.count,
                    })
                    .collect::<Vec<_>>()
            };
            host::ns::write_id_maps(pid, &conv(&spec.idmap.uid), &conv(&spec.idmap.gid), false)?;
        }
        self.setup_network(pid, &peers)?;

        host::fd::send_with_fds(parent_sock.as_fd(), &[MSG_GO], &[])?;
        // Wait for the console, then for the exec (end of stream) or an error.
        let mut buf = vec![0u8; 4096];
        loop {
            let ready = host::process::poll_read(&[parent_sock.as_fd()], 30_000)?;
            if !ready.first().copied().unwrap_or(false) {
                return Err(Error::Timeout("waiting for the container to set up".into()));
            }
            let (n, mut fds) = host::fd::recv_with_fds(parent_sock.as_fd(), &mut buf)?;
            if n == 0 {
                break;
            }
            match buf[0] {
                MSG_PTY => self.console = fds.pop().map(std::fs::File::from),
                container::MSG_ERR => {
                    let msg = String::from_utf8_lossy(&buf[1..n]).into_owned();
                    return Err(Error::Controller(msg));
                }
                _ => return Err(Error::Protocol("unexpected setup message".into())),
            }
        }
        if self.console.is_none() {
            let st = host::process::waitpid(pid, false).ok().flatten();
            return Err(Error::Controller(format!(
                "container init died during setup ({st:?})"
            )));
        }
        self.init_start = host::process::start_time(pid).unwrap_or(0);
        if let Some(c) = &self.console {
            // Reads of the console must never block the controller.
            host::fd::set_nonblocking(c.as_fd(), true)?;
        }
        // The container holds its mounts now; our handles would only keep
        // the loop devices attached after it is gone.
        self.loops.clear();

        let _ = std::fs::remove_file(&sock_path);
        let _ = std::fs::remove_file(exit_path(&self.args.state_dir, &spec.name));
        let l = UnixListener::bind(&sock_path)
            .map_err(|e| Error::io(format!("binding {}", sock_path.display()), e))?;
        l.set_nonblocking(true)
            .map_err(|e| Error::io("control socket", e))?;
        self.listener = Some(l);
        Ok(())
    }

    fn setup_network(&self, pid: u32, peers: &[String]) -> Result<()> {
        if !self.spec.needs_netns() {
            return Ok(());
        }
        let mut host_cmds = Vec::new();
        let mut inner = vec!["link set lo up".to_string()];
        for (i, (iface, peer)) in self.spec.interfaces.iter().zip(peers).enumerate() {
            let hostdev = &self.veths[i];
            let guest = iface
                .guest_name
                .clone()
                .unwrap_or_else(|| format!("eth{i}"));
            host_cmds.push(format!("link set {peer} netns {pid}"));
            let mac = iface.mac.as_deref().and_then(host::net::parse_mac);
            if let Some(mut m) = mac {
                // The host end gets the guest MAC with 0xfe first, like libvirt's taps.
                m[0] = 0xfe;
                host_cmds.push(format!(
                    "link set {hostdev} address {}",
                    host::net::format_mac(m)
                ));
            }
            if let Some(mtu) = iface.mtu {
                host_cmds.push(format!("link set {hostdev} mtu {mtu}"));
                inner.push(format!("link set {peer} mtu {mtu}"));
            }
            if iface.net_type == NetType::Bridge {
                if let Some(br) = &iface.bridge {
                    host_cmds.push(format!("link set {hostdev} master {br}"));
                }
            }
            host_cmds.push(format!("link set {hostdev} up"));
            inner.push(format!("link set {peer} name {guest}"));
            if let Some(m) = mac {
                inner.push(format!(
                    "link set {guest} address {}",
                    host::net::format_mac(m)
                ));
            }
            for ip in &iface.ips {
                inner.push(format!("addr add {}/{} dev {guest}", ip.address, ip.prefix));
            }
            inner.push(format!("link set {guest} up"));
            for r in &iface.routes {
                inner.push(format!(
                    "route add {}/{} via {} dev {guest}",
                    r.address, r.prefix, r.gateway
                ));
            }
            if let Some(g) = &iface.gateway {
                inner.push(format!("route add default via {g} dev {guest}"));
            }
        }
        host::net::ip_batch(&host_cmds, None)?;
        host::net::ip_batch(&inner, Some(pid))?;
        Ok(())
    }

    /// Kills what is left, removes the cgroup, the veths, the socket and
    /// the staging directory. Safe to call more than once.
    pub fn teardown(&mut self) {
        let me = host::process::getpid();
        if self.init_pid != 0 && self.pidfd.is_some() {
            let _ = host::process::kill(self.init_pid, SIGKILL);
            self.reap_init(Duration::from_secs(5));
        }
        if let Some(cg) = self.cgroup.take() {
            cg.kill_all(SIGKILL, &[me]);
            if cg.is_frozen().unwrap_or(false) {
                let _ = cg.set_frozen(false);
            }
            if self.leave_cgroup {
                self.left_cgroups = cg
                    .all_dirs()
                    .iter()
                    .map(|d| d.display().to_string())
                    .collect();
            } else {
                cg.move_to_origin(me);
                if let Err(e) = cg.remove() {
                    log(format!("cgroup removal: {e}"));
                }
            }
        }
        for v in std::mem::take(&mut self.veths) {
            if let Err(e) = host::net::delete_link(&v) {
                log(format!("deleting {v}: {e}"));
            }
        }
        if self.listener.take().is_some() {
            let _ = std::fs::remove_file(socket_path(&self.args.state_dir, &self.spec.name));
        }
        let _ = std::fs::remove_dir(&self.staging);
        self.console = None;
        self.console_client = None;
        for l in std::mem::take(&mut self.loops) {
            let _ = l.detach();
        }
    }

    /// Waits (bounded) for init and returns how it ended.
    fn reap_init(&mut self, limit: Duration) -> Option<host::process::ExitStatus> {
        let fd = self.pidfd.take()?;
        let ms = i32::try_from(limit.as_millis()).unwrap_or(i32::MAX);
        let _ = host::process::poll_read(&[fd.as_fd()], ms);
        host::process::waitpid(self.init_pid, false).ok().flatten()
    }

    fn exit_info(&self, st: Option<host::process::ExitStatus>) -> ExitInfo {
        use host::process::ExitStatus as S;
        let (code, signal) = match st {
            Some(S::Exited(c)) => (Some(c), None),
            Some(S::Signaled(s)) => (None, Some(s)),
            None => (None, None),
        };
        let reason = match (self.stop_requested, signal) {
            (Some(r), _) => r,
            (None, Some(SIGHUP)) => ExitReason::Reboot,
            (None, Some(SIGINT)) => ExitReason::Shutdown,
            (None, _) if st.is_none() => ExitReason::Error,
            _ => ExitReason::Shutdown,
        };
        ExitInfo {
            reason,
            code,
            signal,
        }
    }

    fn finish(
        &mut self,
        clients: &mut [Client],
        st: Option<host::process::ExitStatus>,
    ) -> ExitInfo {
        let info = self.exit_info(st);
        log(format!("init exited: {info:?}"));
        self.teardown();
        if let Ok(text) = serde_json::to_string(&info) {
            let _ = std::fs::write(exit_path(&self.args.state_dir, &self.spec.name), text);
        }
        let ev = Response {
            ok: true,
            event: Some(Event::Exited(info.clone())),
            ..Default::default()
        };
        for c in clients.iter_mut().filter(|c| c.subscribed) {
            let _ = send_line(&c.stream, &ev, &[]);
        }
        info
    }

    /// Serves the control socket until init exits; returns the exit code.
    pub fn serve(mut self) -> i32 {
        let mut clients: Vec<Client> = Vec::new();
        loop {
            let (Some(pidfd), Some(listener)) = (self.pidfd.as_ref(), self.listener.as_ref())
            else {
                return 1;
            };
            let mut fds: Vec<BorrowedFd<'_>> = vec![pidfd.as_fd(), listener.as_fd()];
            // A placeholder keeps client indices fixed when there is no signalfd.
            fds.push(self.sigfd.as_ref().map_or(listener.as_fd(), |f| f.as_fd()));
            let console_active = self.console.is_some() && !self.console_hup;
            fds.push(match (&self.console, console_active) {
                (Some(c), true) => c.as_fd(),
                _ => listener.as_fd(),
            });
            fds.push(
                self.console_client
                    .as_ref()
                    .map_or(listener.as_fd(), |c| c.as_fd()),
            );
            fds.extend(clients.iter().map(|c| c.stream.as_fd()));
            let ready = match host::process::poll_read(&fds, -1) {
                Ok(r) => r,
                Err(e) => {
                    log(format!("poll: {e}"));
                    continue;
                }
            };
            if ready.first().copied().unwrap_or(false) {
                let st = host::process::waitpid(self.init_pid, false).ok().flatten();
                self.pidfd = None;
                self.finish(&mut clients, st);
                return 0;
            }
            if ready.get(2).copied().unwrap_or(false) {
                if let Some(sig) = self
                    .sigfd
                    .as_ref()
                    .and_then(|f| host::process::read_signal(f.as_fd()).ok())
                {
                    log(format!("signal {sig} received: destroying the container"));
                    self.destroy_now(&mut clients);
                    return 0;
                }
            }
            if console_active && ready.get(3).copied().unwrap_or(false) {
                self.console_output();
            }
            if self.console_client.is_some() && ready.get(4).copied().unwrap_or(false) {
                self.console_input();
            }
            // Clients first (indices shift when new ones are accepted).
            let mut gone = Vec::new();
            let mut to_console = None;
            for i in 0..clients.len() {
                if !ready.get(i + FIRST_CLIENT).copied().unwrap_or(false) {
                    continue;
                }
                match self.read_client(&mut clients, i) {
                    Outcome::Keep => {}
                    Outcome::Drop => gone.push(i),
                    Outcome::Console => {
                        gone.push(i);
                        to_console = Some(i);
                    }
                    Outcome::Finished => return 0,
                }
            }
            for i in gone.into_iter().rev() {
                let c = clients.remove(i);
                if to_console == Some(i) {
                    self.attach_console(c);
                }
            }
            if ready.get(1).copied().unwrap_or(false) {
                if let Some(l) = self.listener.as_ref() {
                    while let Ok((s, _)) = l.accept() {
                        if clients.len() >= 64 {
                            continue;
                        }
                        let _ = s.set_nonblocking(false);
                        let _ = s.set_write_timeout(Some(Duration::from_secs(2)));
                        clients.push(Client {
                            stream: s,
                            buf: Vec::new(),
                            subscribed: false,
                        });
                    }
                }
            }
        }
    }

    /// Reads what is available from client `i` and answers complete lines.
    /// `Ok(false)` drops the client; `Err(Finished)` means the container is gone.
    fn read_client(&mut self, clients: &mut [Client], i: usize) -> Outcome {
        let mut chunk = [0u8; 8192];
        let n = match clients[i].stream.read(&mut chunk) {
            Ok(0) | Err(_) => return Outcome::Drop,
            Ok(n) => n,
        };
        clients[i].buf.extend_from_slice(&chunk[..n]);
        while let Some(pos) = clients[i].buf.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = clients[i].buf.drain(..=pos).collect();
            let req: std::result::Result<Request, _> = serde_json::from_slice(&line[..pos]);
            let req = match req {
                Ok(r) => r,
                Err(e) => {
                    let _ = send_line(
                        &clients[i].stream,
                        &Response::err(format!("bad request: {e}")),
                        &[],
                    );
                    continue;
                }
            };
            if let Request::Destroy = req {
                self.leave_cgroup = true;
                let info = self.destroy_now(clients);
                let resp = Response {
                    ok: true,
                    exit: Some(info),
                    leftover_cgroups: std::mem::take(&mut self.left_cgroups),
                    ..Default::default()
                };
                let _ = send_line(&clients[i].stream, &resp, &[]);
                return Outcome::Finished;
            }
            if let Request::Console = req {
                if self.console.is_none() {
                    let _ = send_line(
                        &clients[i].stream,
                        &Response::err("container has no console"),
                        &[],
                    );
                    continue;
                }
                if self.console_client.is_some() {
                    let _ = send_line(
                        &clients[i].stream,
                        &Response::err("Active console session exists for this domain"),
                        &[],
                    );
                    continue;
                }
                if send_line(&clients[i].stream, &Response::ok(), &[]).is_err() {
                    return Outcome::Drop;
                }
                // The rest of the connection is raw console bytes.
                return Outcome::Console;
            }
            let (resp, fd) = self.handle(req, &mut clients[i]);
            let fds: Vec<BorrowedFd<'_>> = fd.iter().map(|f| f.as_fd()).collect();
            if send_line(&clients[i].stream, &resp, &fds).is_err() {
                return Outcome::Drop;
            }
        }
        if clients[i].buf.len() > MAX_LINE {
            let _ = send_line(
                &clients[i].stream,
                &Response::err("request line too long"),
                &[],
            );
            return Outcome::Drop;
        }
        Outcome::Keep
    }

    /// Makes `c` the console connection; bytes it sent after the request
    /// are console input.
    fn attach_console(&mut self, c: Client) {
        self.console_hup = false;
        if !c.buf.is_empty() {
            self.write_console(&c.buf);
        }
        self.console_client = Some(c.stream);
    }

    /// Console output: relayed to the attached connection, or discarded so
    /// that the container never blocks on a full terminal.
    fn console_output(&mut self) {
        let Some(con) = self.console.as_ref() else {
            return;
        };
        let mut buf = [0u8; 8192];
        let mut r = con;
        match r.read(&mut buf) {
            Ok(0) => self.console_hup = true,
            Ok(n) => {
                if let Some(mut cc) = self.console_client.as_ref() {
                    if cc.write_all(&buf[..n]).is_err() {
                        self.console_client = None;
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            // EIO: no process has the terminal open any more.
            Err(_) => self.console_hup = true,
        }
    }

    /// Console input from the attached connection.
    fn console_input(&mut self) {
        let Some(mut cc) = self.console_client.as_ref() else {
            return;
        };
        let mut buf = [0u8; 8192];
        match cc.read(&mut buf) {
            Ok(0) | Err(_) => self.console_client = None,
            Ok(n) => self.write_console(&buf[..n]),
        }
    }

    /// Writes to the console, waiting a bounded time when it is full.
    fn write_console(&mut self, mut data: &[u8]) {
        let Some(con) = self.console.as_ref() else {
            return;
        };
        let mut w = con;
        while !data.is_empty() {
            match w.write(data) {
                Ok(n) => data = &data[n..],
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if !host::process::poll_write(con.as_fd(), 1000).unwrap_or(false) {
                        log("console input dropped: terminal full");
                        return;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return,
            }
        }
    }

    /// Kills every task of the container, waits for init, tears down and
    /// tells subscribers.
    fn destroy_now(&mut self, clients: &mut [Client]) -> ExitInfo {
        self.stop_requested = Some(ExitReason::Destroyed);
        let me = host::process::getpid();
        let _ = host::process::kill(self.init_pid, SIGKILL);
        if let Some(cg) = &self.cgroup {
            cg.kill_all(SIGKILL, &[me]);
            if cg.is_frozen().unwrap_or(false) {
                let _ = cg.set_frozen(false);
            }
        }
        let st = self.reap_init(Duration::from_secs(10));
        self.finish(clients, st)
    }

    fn handle(&mut self, req: Request, client: &mut Client) -> (Response, Option<OwnedFd>) {
        match req {
            Request::Status => (
                Response {
                    ok: true,
                    status: Some(self.status()),
                    ..Default::default()
                },
                None,
            ),
            Request::Shutdown { signal } => {
                let sig = signal.unwrap_or(SIGTERM);
                if !(1..=64).contains(&sig) {
                    return (Response::err(format!("invalid signal {sig}")), None);
                }
                self.stop_requested = Some(ExitReason::Shutdown);
                match host::process::kill(self.init_pid, sig) {
                    Ok(()) => (Response::ok(), None),
                    Err(e) => (Response::err(e.to_string()), None),
                }
            }
            Request::Reboot => (
                Response::err("Operation not supported: reboot of a running container"),
                None,
            ),
            Request::Freeze | Request::Thaw => {
                let frozen = matches!(req, Request::Freeze);
                match self.cgroup.as_ref().map(|c| c.set_frozen(frozen)) {
                    Some(Ok(())) => (Response::ok(), None),
                    Some(Err(e)) => (Response::err(e.to_string()), None),
                    None => (Response::err("no cgroup"), None),
                }
            }
            Request::Console => (Response::err("internal: console handled elsewhere"), None),
            Request::Stats => {
                let u = self.cgroup.as_ref().map(|c| c.usage()).unwrap_or_default();
                (
                    Response {
                        ok: true,
                        stats: Some(Stats {
                            memory_bytes: u.memory_bytes,
                            cpu_ns: u.cpu_ns,
                        }),
                        ..Default::default()
                    },
                    None,
                )
            }
            Request::Subscribe => {
                client.subscribed = true;
                (Response::ok(), None)
            }
            Request::Destroy => (Response::err("internal: destroy handled elsewhere"), None),
        }
    }
}

/// What became of a client after its input was handled.
enum Outcome {
    /// Still connected.
    Keep,
    /// Gone or misbehaving: close it.
    Drop,
    /// It asked for the console: the connection becomes the console relay.
    Console,
    /// The container is gone and the controller must exit.
    Finished,
}

/// Index of the first client in the poll set (pidfd, listener, signalfd,
/// console, console connection come first).
const FIRST_CLIENT: usize = 5;

fn send_line(stream: &UnixStream, resp: &Response, fds: &[BorrowedFd<'_>]) -> Result<()> {
    let mut line = serde_json::to_vec(resp).map_err(|e| Error::Protocol(e.to_string()))?;
    line.push(b'\n');
    if fds.is_empty() {
        let mut s = stream;
        return s
            .write_all(&line)
            .map_err(|e| Error::io("writing to client", e));
    }
    let sent = host::fd::send_with_fds(stream.as_fd(), &line, fds)?;
    if sent < line.len() {
        let mut s = stream;
        s.write_all(&line[sent..])
            .map_err(|e| Error::io("writing to client", e))?;
    }
    Ok(())
}

/// The device whitelist: the standard nodes, any pty, and the devices of
/// block filesystems.
fn device_rules(spec: &ContainerSpec) -> Vec<host::cgroup::DeviceRule> {
    use host::cgroup::DeviceRule;
    let c = |major, minor| DeviceRule {
        kind: 'c',
        major: Some(major),
        minor: Some(minor),
        perms: "rwm",
    };
    let mut rules = vec![
        c(1, 3),
        c(1, 5),
        c(1, 7),
        c(1, 8),
        c(1, 9),
        c(5, 0),
        c(5, 1),
        c(5, 2),
        c(10, 229),
        DeviceRule {
            kind: 'c',
            major: Some(136),
            minor: None,
            perms: "rwm",
        },
    ];
    if spec.caps.switches.iter().any(|s| s.name == "mknod" && s.on) {
        rules.push(DeviceRule {
            kind: 'a',
            major: None,
            minor: None,
            perms: "m",
        });
    }
    for fs in &spec.filesystems {
        if fs.fs_type == crate::spec::FsType::Block {
            if let Some(src) = &fs.source {
                if let Ok((true, major, minor)) = host::mount::device_numbers(src) {
                    let perms = if fs.readonly { "r" } else { "rw" };
                    rules.push(DeviceRule {
                        kind: 'b',
                        major: Some(major),
                        minor: Some(minor),
                        perms,
                    });
                }
            }
        }
    }
    rules
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_needs_all_three_flags() {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let a = parse_args(&v(&[
            "--name",
            "c1",
            "--spec",
            "/s.json",
            "--state-dir",
            "/run/x",
        ]));
        assert_eq!(
            a.ok(),
            Some(Args {
                name: "c1".into(),
                spec: "/s.json".into(),
                state_dir: "/run/x".into()
            })
        );
        assert!(parse_args(&v(&["--name", "c1"])).is_err());
        assert!(parse_args(&v(&["--name"])).is_err());
        assert!(parse_args(&v(&["--bogus", "1"])).is_err());
    }
}

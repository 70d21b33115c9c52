// SPDX-License-Identifier: LGPL-2.1-or-later
//! The client library the LXC driver uses to start controllers and talk to them.
//!
//! Everything here is blocking with explicit deadlines: a stopped or wedged
//! controller makes a call fail with [`Error::Timeout`], never hang. From
//! async code, call these through `tokio::task::spawn_blocking`.

use crate::controller::{exit_path, socket_path};
use crate::proto::{Event, ExitInfo, Handshake, Request, Response, Stats, Status, MAX_LINE};
use crate::spec::ContainerSpec;
use crate::{Error, Result};
use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How to start a controller.
#[derive(Debug, Clone)]
pub struct StartOptions {
    /// The `libvirt_lxc` binary.
    pub binary: PathBuf,
    /// How long to wait for the container to be up.
    pub timeout: Duration,
}

impl Default for StartOptions {
    fn default() -> Self {
        StartOptions {
            binary: default_binary(),
            timeout: Duration::from_secs(30),
        }
    }
}

/// Where `libvirt_lxc` is looked for: `$LIBVIRT_LXC_BINARY`, beside the
/// running executable, then /usr/lib/libvirt/libvirt_lxc (Debian's place)
/// and /usr/libexec/libvirt_lxc.
pub fn default_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("LIBVIRT_LXC_BINARY") {
        return PathBuf::from(p);
    }
    if let Ok(exe) = std::env::current_exe() {
        if let Some(dir) = exe.parent() {
            let p = dir.join("libvirt_lxc");
            if p.exists() {
                return p;
            }
        }
    }
    // Where an installed system keeps it: Debian's place first
    // (scripts/install.sh puts it there), then libexec.
    ["/usr/lib/libvirt/libvirt_lxc", "/usr/libexec/libvirt_lxc"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from("/usr/lib/libvirt/libvirt_lxc"))
}

/// A started container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Started {
    /// Host pid of the container's init.
    pub init_pid: u32,
    /// Start time of init, with the pid it identifies the process.
    pub init_start_time: u64,
    /// Pid of the controller.
    pub controller_pid: u32,
    /// Host names of the veth ends.
    pub veths: Vec<String>,
}

/// Path of the spec file the controller of `name` reads.
pub fn spec_path(state_dir: &Path, name: &str) -> PathBuf {
    state_dir.join(format!("{name}.spec.json"))
}

/// Mode of the spec file: readable by root only (it carries the
/// container's whole definition).
const SPEC_FILE_MODE: u32 = 0o600;

/// Starts a controller for `spec` with its files in `state_dir`, and waits
/// until init runs (or the start failed, with the controller's message).
pub fn start(spec: &ContainerSpec, state_dir: &Path, opts: &StartOptions) -> Result<Started> {
    spec.validate()?;
    std::fs::create_dir_all(state_dir)
        .map_err(|e| Error::io(format!("creating {}", state_dir.display()), e))?;
    let spec_file = spec_path(state_dir, &spec.name);
    let json = serde_json::to_vec_pretty(spec).map_err(|e| Error::Spec(e.to_string()))?;
    host::fs::write_atomic(&spec_file, &json, SPEC_FILE_MODE)?;
    let mut child = Command::new(&opts.binary)
        .arg("--name")
        .arg(&spec.name)
        .arg("--spec")
        .arg(&spec_file)
        .arg("--state-dir")
        .arg(state_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| Error::io(format!("running {}", opts.binary.display()), e))?;
    let Some(out) = child.stdout.take() else {
        return Err(Error::Protocol("no handshake pipe".into()));
    };
    let fd = OwnedFd::from(out);
    let deadline = Instant::now() + opts.timeout;
    let line = read_line_from(&fd, deadline);
    // The direct child exits right after forking the real controller.
    let _ = child.wait();
    let line = line?;
    let hs: Handshake = serde_json::from_slice(&line)
        .map_err(|e| Error::Protocol(format!("bad handshake from controller: {e}")))?;
    if !hs.ok {
        return Err(Error::Controller(
            hs.error
                .unwrap_or_else(|| "container failed to start".into()),
        ));
    }
    Ok(Started {
        init_pid: hs.init_pid,
        init_start_time: hs.init_start_time,
        controller_pid: hs.controller_pid,
        veths: hs.veths,
    })
}

fn remaining_ms(deadline: Instant) -> i32 {
    let left = deadline.saturating_duration_since(Instant::now());
    i32::try_from(left.as_millis()).unwrap_or(i32::MAX)
}

/// Reads one line from a pipe before `deadline`.
fn read_line_from(fd: &OwnedFd, deadline: Instant) -> Result<Vec<u8>> {
    use std::io::Read;
    let mut buf = Vec::new();
    let mut file = std::fs::File::from(fd.try_clone().map_err(|e| Error::io("handshake pipe", e))?);
    loop {
        if let Some(pos) = buf.iter().position(|b| *b == b'\n') {
            buf.truncate(pos);
            return Ok(buf);
        }
        if buf.len() > MAX_LINE {
            return Err(Error::Protocol("handshake line too long".into()));
        }
        let ms = remaining_ms(deadline);
        if ms == 0 {
            return Err(Error::Timeout("waiting for the container to start".into()));
        }
        let ready = host::process::poll_read(&[fd.as_fd()], ms)?;
        if !ready.first().copied().unwrap_or(false) {
            continue;
        }
        let mut chunk = [0u8; 4096];
        let n = file
            .read(&mut chunk)
            .map_err(|e| Error::io("reading handshake", e))?;
        if n == 0 {
            return Err(Error::Controller(
                "controller exited without reporting a result".into(),
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Connects to the controller of `name`; `timeout` bounds every request.
pub fn connect(state_dir: &Path, name: &str, timeout: Duration) -> Result<Client> {
    let path = socket_path(state_dir, name);
    let stream = UnixStream::connect(&path)
        .map_err(|e| Error::io(format!("connecting to {}", path.display()), e))?;
    Client::from_stream(stream, timeout)
}

/// How the last run of `name` ended, if its controller recorded it.
pub fn last_exit(state_dir: &Path, name: &str) -> Option<ExitInfo> {
    let text = std::fs::read(exit_path(state_dir, name)).ok()?;
    serde_json::from_slice(&text).ok()
}

/// A connection to one controller.
pub struct Client {
    stream: UnixStream,
    buf: Vec<u8>,
    events: Vec<Event>,
    timeout: Duration,
}

impl Client {
    /// A client on an already connected control socket (whoever serves
    /// the protocol on its other end); `timeout` bounds every request.
    pub fn from_stream(stream: UnixStream, timeout: Duration) -> Result<Client> {
        stream
            .set_write_timeout(Some(timeout))
            .map_err(|e| Error::io("control socket", e))?;
        Ok(Client {
            stream,
            buf: Vec::new(),
            events: Vec::new(),
            timeout,
        })
    }

    /// Reads the next line before `deadline` (`None` = wait forever).
    fn read_line(&mut self, deadline: Option<Instant>) -> Result<Vec<u8>> {
        loop {
            if let Some(pos) = self.buf.iter().position(|b| *b == b'\n') {
                let mut line: Vec<u8> = self.buf.drain(..=pos).collect();
                line.pop();
                return Ok(line);
            }
            if self.buf.len() > MAX_LINE {
                return Err(Error::Protocol("response line too long".into()));
            }
            let ms = match deadline {
                Some(d) => {
                    let ms = remaining_ms(d);
                    if ms == 0 {
                        return Err(Error::Timeout("waiting for the controller".into()));
                    }
                    ms
                }
                None => -1,
            };
            let ready = host::process::poll_read(&[self.stream.as_fd()], ms)?;
            if !ready.first().copied().unwrap_or(false) {
                continue;
            }
            let mut chunk = [0u8; 8192];
            let (n, fds) = host::fd::recv_with_fds(self.stream.as_fd(), &mut chunk)?;
            // Nothing in this protocol passes descriptors to the client.
            drop(fds);
            if n == 0 {
                return Err(Error::Controller("controller closed the connection".into()));
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Sends `req` and returns the response (events that arrive meanwhile are queued).
    pub fn request(&mut self, req: &Request) -> Result<Response> {
        self.request_with_timeout(req, self.timeout)
    }

    fn request_with_timeout(&mut self, req: &Request, timeout: Duration) -> Result<Response> {
        let mut line = serde_json::to_vec(req).map_err(|e| Error::Protocol(e.to_string()))?;
        line.push(b'\n');
        self.stream
            .write_all(&line)
            .map_err(|e| Error::io("sending request to controller", e))?;
        let deadline = Instant::now() + timeout;
        loop {
            let l = self.read_line(Some(deadline))?;
            let resp: Response =
                serde_json::from_slice(&l).map_err(|e| Error::Protocol(e.to_string()))?;
            if let Some(ev) = resp.event {
                self.events.push(ev);
                continue;
            }
            if !resp.ok {
                return Err(Error::Controller(
                    resp.error.unwrap_or_else(|| "request failed".into()),
                ));
            }
            return Ok(resp);
        }
    }

    /// State of the container.
    pub fn status(&mut self) -> Result<Status> {
        self.request(&Request::Status)?
            .status
            .ok_or_else(|| Error::Protocol("status missing".into()))
    }

    /// Signals init to stop (SIGTERM unless `signal` says otherwise).
    pub fn shutdown(&mut self, signal: Option<i32>) -> Result<()> {
        self.request(&Request::Shutdown { signal }).map(drop)
    }

    /// Restarts init (the controller answers "not supported").
    pub fn reboot(&mut self) -> Result<()> {
        self.request(&Request::Reboot).map(drop)
    }

    /// Kills the container; returns once it is torn down and its
    /// controller has exited.
    pub fn destroy(&mut self) -> Result<ExitInfo> {
        let t = self.timeout.max(Duration::from_secs(15));
        // Pinned while the controller certainly runs, so that its exit
        // (not a later process with a recycled pid) is awaited below.
        let controller = host::fd::peer_pid(self.stream.as_fd())
            .and_then(host::process::pidfd_open)
            .ok();
        let resp = self.request_with_timeout(&Request::Destroy, t)?;
        let exit = resp
            .exit
            .ok_or_else(|| Error::Protocol("exit info missing".into()))?;
        if !resp.leftover_cgroups.is_empty() {
            // The controller exits right after its answer; its cgroup can
            // go once it has (it was the last task in it).
            if let Some(fd) = &controller {
                let _ = host::process::poll_read(&[fd.as_fd()], 5000);
            }
            let dirs: Vec<PathBuf> = resp.leftover_cgroups.iter().map(PathBuf::from).collect();
            host::cgroup::remove_dirs(&dirs)?;
        }
        Ok(exit)
    }

    /// Freezes every task of the container.
    pub fn freeze(&mut self) -> Result<()> {
        self.request(&Request::Freeze).map(drop)
    }

    /// Thaws the container.
    pub fn thaw(&mut self) -> Result<()> {
        self.request(&Request::Thaw).map(drop)
    }

    /// Attaches to the console: the connection becomes a raw byte stream
    /// to and from the container's /dev/console. Fails with "Active console
    /// session exists for this domain" while another one is attached.
    pub fn console(mut self) -> Result<Console> {
        self.request(&Request::Console)?;
        Ok(Console {
            stream: self.stream,
            pending: std::mem::take(&mut self.buf),
        })
    }

    /// Memory and CPU usage.
    pub fn stats(&mut self) -> Result<Stats> {
        self.request(&Request::Stats)?
            .stats
            .ok_or_else(|| Error::Protocol("stats missing".into()))
    }

    /// Asks for events on this connection.
    pub fn subscribe(&mut self) -> Result<()> {
        self.request(&Request::Subscribe).map(drop)
    }

    /// Waits for the next event (after [`Client::subscribe`]); `None` timeout waits forever.
    pub fn wait_event(&mut self, timeout: Option<Duration>) -> Result<Event> {
        if !self.events.is_empty() {
            return Ok(self.events.remove(0));
        }
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            let l = self.read_line(deadline)?;
            let resp: Response =
                serde_json::from_slice(&l).map_err(|e| Error::Protocol(e.to_string()))?;
            if let Some(ev) = resp.event {
                return Ok(ev);
            }
        }
    }
}

/// Cleans up after a controller that died without tearing down (killed
/// with SIGKILL, crashed): kills every task left in the container's cgroup,
/// removes the cgroup, the stale socket and the staging directory. The
/// cgroup is found below the caller's own placement, as the controller
/// inherited it from its starter. Fails if a controller still answers.
/// Returns whether anything was left to clean.
pub fn cleanup_orphan(state_dir: &Path, name: &str, partition: &str) -> Result<bool> {
    let sock = socket_path(state_dir, name);
    if UnixStream::connect(&sock).is_ok() {
        return Err(Error::Controller(format!(
            "container '{name}' still has a running controller"
        )));
    }
    let mounts = host::cgroup::detect()?;
    let cg = host::cgroup::Cgroup::resolve(&mounts, 0, partition, name)?;
    let mut found = cg.exists();
    if found {
        if cg.is_frozen().unwrap_or(false) {
            cg.kill_all(9, &[]);
            let _ = cg.set_frozen(false);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while !cg.pids().is_empty() && Instant::now() < deadline {
            cg.kill_all(9, &[]);
            std::thread::sleep(Duration::from_millis(1));
        }
        cg.remove()?;
    }
    if std::fs::remove_file(&sock).is_ok() {
        found = true;
    }
    let _ = std::fs::remove_dir(state_dir.join(format!("{name}.root")));
    Ok(found)
}

/// An attached console: read container output, write keyboard input.
/// Dropping it detaches.
pub struct Console {
    stream: UnixStream,
    pending: Vec<u8>,
}

impl Console {
    /// Output that arrived together with the attach response; read it
    /// before polling [`Console::stream`].
    pub fn take_pending(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.pending)
    }

    /// The underlying socket (for polling or splicing into a stream).
    pub fn stream(&self) -> &UnixStream {
        &self.stream
    }

    /// Splits off the socket, with any output already received.
    pub fn into_parts(self) -> (UnixStream, Vec<u8>) {
        (self.stream, self.pending)
    }
}

impl std::io::Read for Console {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if !self.pending.is_empty() {
            let n = buf.len().min(self.pending.len());
            buf[..n].copy_from_slice(&self.pending[..n]);
            self.pending.drain(..n);
            return Ok(n);
        }
        (&self.stream).read(buf)
    }
}

impl std::io::Write for Console {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        (&self.stream).write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

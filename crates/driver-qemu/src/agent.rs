// SPDX-License-Identifier: LGPL-2.1-or-later
//! The QEMU guest agent: a `<channel type='unix'>` with the virtio target
//! `org.qemu.guest_agent.0`, whose socket (in the channel directory,
//! `LIB_DIR/channel/target/domain-ID-NAME/`, unless the definition names
//! one) QEMU listens on. The agent counts as connected while the guest
//! holds its port open (QEMU's VSERPORT_CHANGE), as libvirt's does; each
//! change is a VIR_DOMAIN_EVENT_ID_AGENT_LIFECYCLE event.
//!
//! The protocol is QMP-like JSON, one object a line. Before each command
//! the stream is brought back in step with `guest-sync` and a fresh id
//! (replies to earlier, abandoned commands are skipped until the id comes
//! back). Commands wait for as long as the caller says: -2 forever (the
//! default of the APIs, as libvirt's), -1 five seconds, 0 not at all.
//!
//! Agent calls do not take the domain's job: they hold the agent's own
//! lock, so a slow agent never blocks the monitor's users.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use conf::xml::{Element, Node};
use conf::DomainDef;
use driver::consts::state;
use driver::error::ErrorCode;
use driver::types::{DomainInterface, FsInfo, IpAddress, TypedParams, TypedValue};
use driver::{DomainRef, Error, Event, Result};
use serde_json::{json, Value};

use crate::process::not_running;
use crate::state::{dom_ref, Dom, Driver, QEMU};

/// The virtio-serial port name of the guest agent.
pub(crate) const AGENT_PORT: &str = "org.qemu.guest_agent.0";

/// virDomainQemuAgentCommandTimeoutValues.
const TIMEOUT_BLOCK: i32 = -2;
const TIMEOUT_DEFAULT: i32 = -1;
const TIMEOUT_NOWAIT: i32 = 0;
/// What the default timeout means (libvirt's QEMU_AGENT_WAIT_TIME).
const WAIT_SECONDS: u64 = 5;
/// The largest reply read (libvirt's QEMU_AGENT_MAX_RESPONSE).
const MAX_RESPONSE: usize = 10 * 1024 * 1024;
/// How often a blocked wait looks whether the guest is still there.
const POLL: Duration = Duration::from_millis(200);

/// virConnectDomainEventAgentLifecycleState / Reason.
const AGENT_CONNECTED: i32 = 1;
const AGENT_DISCONNECTED: i32 = 2;
const AGENT_REASON_CHANNEL: i32 = 2;

/// VIR_DOMAIN_GUEST_INFO_* types.
const INFO_USERS: u32 = 1 << 0;
const INFO_OS: u32 = 1 << 1;
const INFO_TIMEZONE: u32 = 1 << 2;
const INFO_HOSTNAME: u32 = 1 << 3;
const INFO_FILESYSTEM: u32 = 1 << 4;
const INFO_DISKS: u32 = 1 << 5;
const INFO_INTERFACES: u32 = 1 << 6;
const INFO_ALL: u32 = (1 << 7) - 1;

/// VIR_DOMAIN_TIME_SYNC.
const TIME_SYNC: u32 = 1;
/// VIR_DOMAIN_PASSWORD_ENCRYPTED.
const PASSWORD_ENCRYPTED: u32 = 1;
/// VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_AGENT.
pub(crate) const ADDRESSES_SRC_AGENT: u32 = 1;

/// The connected agents, by domain UUID.
#[derive(Default)]
pub(crate) struct Agents {
    map: Mutex<HashMap<[u8; 16], Arc<Agent>>>,
}

impl Agents {
    fn get(&self, uuid: &[u8; 16]) -> Option<Arc<Agent>> {
        self.map.lock().ok()?.get(uuid).cloned()
    }

    fn is_current(&self, uuid: &[u8; 16], agent: &Arc<Agent>) -> bool {
        self.get(uuid).is_some_and(|a| Arc::ptr_eq(&a, agent))
    }

    fn set(&self, uuid: [u8; 16], agent: Option<Arc<Agent>>) -> bool {
        let Ok(mut m) = self.map.lock() else {
            return false;
        };
        match agent {
            Some(a) => m.insert(uuid, a).is_none(),
            None => m.remove(&uuid).is_some(),
        }
    }
}

/// One guest's agent socket.
pub(crate) struct Agent {
    path: PathBuf,
    io: Mutex<Conn>,
}

#[derive(Default)]
struct Conn {
    sock: Option<UnixStream>,
    /// Bytes read past the last complete line.
    pending: Vec<u8>,
}

/// The agent's reply to a command, or why there is none.
enum Reply {
    Value(Value),
    TimedOut,
    Gone,
}

fn unresponsive(msg: &str) -> Error {
    Error::new(ErrorCode::AgentUnresponsive, QEMU, msg)
}

fn gone() -> Error {
    unresponsive("Guest agent disappeared while executing command")
}

fn malformed() -> Error {
    Error::internal(QEMU, "malformed return value")
}

/// libvirt's wording for an agent error class without a description.
fn error_class_text(class: Option<&str>) -> String {
    match class {
        Some("BufferOverrun") => "Buffer overrun",
        Some("CommandDisabled") => "The command has been disabled for this instance",
        Some("CommandNotFound") => "The command has not been found",
        Some("FdNotFound") => "File descriptor not found",
        Some("InvalidParameter") => "Invalid parameter",
        Some("InvalidParameterType") => "Invalid parameter type",
        Some("InvalidParameterValue") => "Invalid parameter value",
        Some("OpenFileFailed") => "Cannot open file",
        Some("QgaCommandFailed") => "Guest agent command failed",
        Some("QMPBadInputObjectMember") => "Bad QMP input object member",
        Some("QMPExtraInputObjectMember") => "Unexpected extra object member",
        Some("UndefinedError") => "An undefined error has occurred",
        Some("Unsupported") => "this feature or command is not currently supported",
        Some(other) => other,
        None => "unknown QEMU command error",
    }
    .to_string()
}

/// The error of a reply with `error` (or with neither `return` nor
/// `error`) to command `name`; None for a good reply.
fn reply_error(name: &str, reply: &Value) -> Option<Error> {
    if let Some(err) = reply.get("error") {
        let desc = err
            .get("desc")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| error_class_text(err.get("class").and_then(Value::as_str)));
        return Some(Error::internal(
            QEMU,
            format!("unable to execute QEMU agent command '{name}': {desc}"),
        ));
    }
    if reply.get("return").is_none() {
        return Some(Error::internal(
            QEMU,
            format!("unable to execute QEMU agent command '{name}'"),
        ));
    }
    None
}

/// Whether a reply says the agent lacks the command.
fn unsupported_reply(reply: &Value) -> bool {
    matches!(
        reply
            .get("error")
            .and_then(|e| e.get("class"))
            .and_then(Value::as_str),
        Some("CommandNotFound" | "CommandDisabled")
    )
}

impl Conn {
    /// The next JSON object the agent sends before `deadline` (None:
    /// forever, though `alive` is asked every [`POLL`]).
    fn read_line(&mut self, deadline: Option<Instant>, alive: &dyn Fn() -> bool) -> Reply {
        loop {
            // The agent's delimiter byte (0xFF) and blank lines are no
            // replies.
            while let Some(i) = self.pending.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.pending.drain(..=i).collect();
                let line: Vec<u8> = line.into_iter().filter(|b| *b != 0xff).collect();
                let text = String::from_utf8_lossy(&line);
                if text.trim().is_empty() {
                    continue;
                }
                if let Ok(v @ Value::Object(_)) = serde_json::from_str::<Value>(text.trim()) {
                    return Reply::Value(v);
                }
            }
            if self.pending.len() > MAX_RESPONSE {
                self.pending.clear();
                return Reply::Gone;
            }
            let Some(sock) = self.sock.as_mut() else {
                return Reply::Gone;
            };
            let wait = match deadline {
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Reply::TimedOut;
                    }
                    left.min(POLL)
                }
                None => POLL,
            };
            let _ = sock.set_read_timeout(Some(wait));
            let mut buf = [0u8; 4096];
            match sock.read(&mut buf) {
                Ok(0) => {
                    self.sock = None;
                    return Reply::Gone;
                }
                Ok(n) => self.pending.extend_from_slice(buf.get(..n).unwrap_or(&[])),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock
                            | std::io::ErrorKind::TimedOut
                            | std::io::ErrorKind::Interrupted
                    ) =>
                {
                    if !alive() {
                        return Reply::Gone;
                    }
                }
                Err(_) => {
                    self.sock = None;
                    return Reply::Gone;
                }
            }
        }
    }

    fn send(&mut self, line: &str) -> Result<()> {
        let sock = self.sock.as_mut().ok_or_else(gone)?;
        let _ = sock.set_write_timeout(Some(Duration::from_secs(WAIT_SECONDS)));
        if sock.write_all(format!("{line}\n").as_bytes()).is_err() {
            self.sock = None;
            return Err(Error::new(
                ErrorCode::SystemError,
                QEMU,
                "Unable to write to agent",
            ));
        }
        Ok(())
    }

    /// Brings the stream in step: `guest-sync` with a fresh id, earlier
    /// replies skipped until its own comes back.
    fn sync(&mut self, alive: &dyn Fn() -> bool) -> Result<()> {
        let id = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        self.send(&json!({"execute": "guest-sync", "arguments": {"id": id}}).to_string())?;
        let deadline = Instant::now() + Duration::from_secs(WAIT_SECONDS);
        loop {
            match self.read_line(Some(deadline), alive) {
                Reply::Value(v) if v.get("return").and_then(Value::as_u64) == Some(id) => {
                    return Ok(())
                }
                Reply::Value(_) => {}
                Reply::TimedOut => return Err(unresponsive("Guest agent not available for now")),
                Reply::Gone => return Err(gone()),
            }
        }
    }
}

impl Agent {
    fn new(path: PathBuf) -> Agent {
        Agent {
            path,
            io: Mutex::new(Conn::default()),
        }
    }

    /// Sends `cmd` and waits `timeout` (virDomainQemuAgentCommand's
    /// values) for its reply; `alive` says whether waiting still makes
    /// sense.
    fn command(&self, cmd: &Value, timeout: i32, alive: &dyn Fn() -> bool) -> Result<Reply> {
        let mut io = self
            .io
            .lock()
            .map_err(|_| Error::internal(QEMU, "agent lock poisoned"))?;
        if io.sock.is_none() {
            let sock = UnixStream::connect(&self.path).map_err(|e| {
                Error::new(
                    ErrorCode::SystemError,
                    QEMU,
                    format!(
                        "failed to connect to agent socket: {}",
                        virterror::os_error_text(&e)
                    ),
                )
            })?;
            io.sock = Some(sock);
            io.pending.clear();
        }
        io.sync(alive)?;
        io.send(&cmd.to_string())?;
        let deadline = match timeout {
            TIMEOUT_BLOCK => None,
            TIMEOUT_NOWAIT => return Ok(Reply::TimedOut),
            TIMEOUT_DEFAULT => Some(Instant::now() + Duration::from_secs(WAIT_SECONDS)),
            s => Some(Instant::now() + Duration::from_secs(u64::try_from(s).unwrap_or(0))),
        };
        Ok(io.read_line(deadline, alive))
    }
}

/// The guest agent channel of a definition, if it has one.
fn agent_channel(def: &DomainDef) -> Option<&Element> {
    def.devices.iter().find(|d| is_agent_channel(d))
}

fn is_agent_channel(d: &Element) -> bool {
    d.local_name() == "channel"
        && d.attr("type") == Some("unix")
        && d.child("target")
            .is_some_and(|t| t.attr("type") == Some("virtio") && t.attr("name") == Some(AGENT_PORT))
}

/// Fills in the socket path of each virtio channel on a generated Unix
/// socket (`CHAN_DIR/TARGET_NAME`), as the live definition shows it.
pub(crate) fn prepare_channels(def: &mut DomainDef, lib_dir: &std::path::Path, id: i32) {
    let short: String = def.name.chars().take(20).collect();
    let dir = lib_dir
        .join("channel/target")
        .join(format!("domain-{id}-{short}"));
    for d in def.devices.iter_mut() {
        if d.local_name() != "channel" || d.attr("type") != Some("unix") {
            continue;
        }
        let Some(name) = d
            .child("target")
            .filter(|t| t.attr("type") == Some("virtio"))
            .and_then(|t| t.attr("name"))
            .map(str::to_string)
        else {
            continue;
        };
        let path = dir.join(&name).display().to_string();
        match d.child_mut("source") {
            Some(src) if src.attr("path").is_some() => {}
            Some(src) => {
                src.set_attr("mode", "bind");
                src.set_attr("path", &path);
            }
            None => d.children.insert(
                0,
                Node::Element(
                    Element::new("source")
                        .with_attr("mode", "bind")
                        .with_attr("path", &path),
                ),
            ),
        }
    }
}

/// The device id QEMU gives the agent's port (its alias, else
/// `channelN` by its place among the channels), as the command line
/// builds it.
fn agent_port_id(def: &DomainDef) -> Option<String> {
    def.devices
        .iter()
        .filter(|d| d.local_name() == "channel")
        .enumerate()
        .find(|(_, d)| is_agent_channel(d))
        .map(|(i, d)| {
            d.child("alias")
                .and_then(|a| a.attr("name"))
                .map_or_else(|| format!("channel{i}"), str::to_string)
        })
}

fn agent_socket(def: &DomainDef) -> Option<PathBuf> {
    agent_channel(def)
        .and_then(|c| c.child("source"))
        .and_then(|s| s.attr("path"))
        .map(PathBuf::from)
}

/// Records the channel's state in the live definition (`state=` on its
/// target).
fn set_channel_state(def: &mut DomainDef, connected: bool) {
    if let Some(t) = def
        .devices
        .iter_mut()
        .find(|d| is_agent_channel(d))
        .and_then(|c| c.child_mut("target"))
    {
        t.set_attr(
            "state",
            if connected {
                "connected"
            } else {
                "disconnected"
            },
        );
    }
}

impl Driver {
    /// QEMU's VSERPORT_CHANGE for port `id`: the agent connects when the
    /// guest opens its port and disconnects when it closes it.
    pub(crate) fn vserport_changed(&self, dom: &Arc<Dom>, id: &str, open: bool) {
        let path = {
            let mut st = dom.lock();
            let Some(l) = st.live.as_mut() else {
                return;
            };
            if agent_port_id(&l.def).as_deref() != Some(id) {
                return;
            }
            set_channel_state(&mut l.def, open);
            agent_socket(&l.def)
        };
        self.refresh_status(dom);
        let Some(path) = path else {
            return;
        };
        let agent = open.then(|| Arc::new(Agent::new(path)));
        if self.agents.set(*dom.uuid(), agent) || open {
            self.events.publish(Event::DomainAgentLifecycle {
                dom: dom_ref(dom),
                state: if open {
                    AGENT_CONNECTED
                } else {
                    AGENT_DISCONNECTED
                },
                reason: AGENT_REASON_CHANNEL,
            });
        }
    }

    /// Forgets the agent of a guest that stopped.
    pub(crate) fn agent_stopped(&self, dom: &Dom) {
        self.agents.set(*dom.uuid(), None);
    }

    /// The agent of running domain `r`, with libvirt's errors when there
    /// is none to talk to.
    fn agent_of(&self, r: &DomainRef) -> Result<(Arc<Dom>, Arc<Agent>)> {
        let dom = self.get(r)?;
        let configured = {
            let st = dom.lock();
            let live = st.live.as_ref().ok_or_else(not_running)?;
            if st.state != state::RUNNING {
                return Err(Error::operation_invalid(QEMU, "domain is not running"));
            }
            agent_channel(&live.def).is_some()
        };
        match self.agents.get(dom.uuid()) {
            Some(a) => Ok((dom, a)),
            None if configured => Err(unresponsive("QEMU guest agent is not connected")),
            None => Err(Error::new(
                ErrorCode::ArgumentUnsupported,
                QEMU,
                "QEMU guest agent is not configured",
            )),
        }
    }

    /// Runs `cmd` on the agent of `r`: its reply as sent (None when not
    /// waited for).
    fn agent_run(
        &self,
        r: &DomainRef,
        cmd: &Value,
        timeout: i32,
    ) -> Result<(Option<Value>, Arc<Dom>, Arc<Agent>)> {
        let (dom, agent) = self.agent_of(r)?;
        let reply = self.agent_exchange(&dom, &agent, cmd, timeout)?;
        Ok((reply, dom, agent))
    }

    fn agent_exchange(
        &self,
        dom: &Arc<Dom>,
        agent: &Arc<Agent>,
        cmd: &Value,
        timeout: i32,
    ) -> Result<Option<Value>> {
        let alive = || dom.lock().live.is_some() && self.agents.is_current(dom.uuid(), agent);
        match agent.command(cmd, timeout, &alive)? {
            Reply::Value(v) => Ok(Some(v)),
            Reply::TimedOut if timeout == TIMEOUT_NOWAIT => Ok(None),
            Reply::TimedOut => Err(unresponsive("Guest agent not available for now")),
            Reply::Gone => Err(gone()),
        }
    }

    /// An agent command whose reply must be good: its `return`.
    /// `Ok(None)` when the agent lacks the command and `tolerate` says
    /// that is no error.
    fn agent_call(
        &self,
        dom: &Arc<Dom>,
        agent: &Arc<Agent>,
        name: &str,
        args: Option<Value>,
        tolerate_unsupported: bool,
    ) -> Result<Option<Value>> {
        let mut cmd = json!({ "execute": name });
        if let Some(a) = args {
            cmd["arguments"] = a;
        }
        let reply = self
            .agent_exchange(dom, agent, &cmd, TIMEOUT_BLOCK)?
            .ok_or_else(|| Error::internal(QEMU, "Missing agent reply object"))?;
        if tolerate_unsupported && unsupported_reply(&reply) {
            return Ok(None);
        }
        if let Some(e) = reply_error(name, &reply) {
            return Err(e);
        }
        Ok(reply.get("return").cloned())
    }

    /// [`Driver::agent_call`] of running domain `r`, the reply required.
    fn agent_simple(&self, r: &DomainRef, name: &str, args: Option<Value>) -> Result<Value> {
        let (dom, agent) = self.agent_of(r)?;
        self.agent_call(&dom, &agent, name, args, false)?
            .ok_or_else(malformed)
    }

    /// virDomainQemuAgentCommand: the reply as the agent sent it.
    pub(crate) fn agent_command(
        &self,
        r: &DomainRef,
        cmd: &str,
        timeout: i32,
        flags: u32,
    ) -> Result<Option<String>> {
        Error::check_flags(flags, 0, "qemuDomainQemuAgentCommand")?;
        if timeout < TIMEOUT_BLOCK {
            return Err(Error::new(
                ErrorCode::InvalidArg,
                QEMU,
                format!(
                    "guest agent timeout '{timeout}' is less than the minimum '{TIMEOUT_BLOCK}'"
                ),
            ));
        }
        let parsed: Value = serde_json::from_str(cmd)
            .map_err(|_| Error::internal(QEMU, format!("cannot parse json {cmd}: syntax error")))?;
        let (reply, _, _) = self.agent_run(r, &parsed, timeout)?;
        let Some(reply) = reply else {
            return Ok(None);
        };
        let name = parsed
            .get("execute")
            .and_then(Value::as_str)
            .unwrap_or("<unknown>");
        if let Some(e) = reply_error(name, &reply) {
            return Err(e);
        }
        Ok(Some(reply.to_string()))
    }

    /// The agent half of virDomainShutdownFlags / virDomainReboot:
    /// `guest-shutdown`, which the agent does not answer; done when the
    /// agent or the guest goes away.
    pub(crate) fn agent_shutdown(&self, r: &DomainRef, reboot: bool) -> Result<()> {
        let (dom, agent) = self.agent_of(r)?;
        dom.lock().fake_reboot = false;
        let cmd = json!({
            "execute": "guest-shutdown",
            "arguments": { "mode": if reboot { "reboot" } else { "powerdown" } },
        });
        match self.agent_exchange(&dom, &agent, &cmd, TIMEOUT_BLOCK) {
            Ok(Some(reply)) => match reply_error("guest-shutdown", &reply) {
                Some(e) => Err(e),
                None => Ok(()),
            },
            Ok(None) => Ok(()),
            // The guest went down as asked: the agent vanished with it.
            Err(e)
                if e.code == ErrorCode::AgentUnresponsive
                    && e.detail
                        .as_deref()
                        .is_some_and(|d| d.contains("disappeared")) =>
            {
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Whether domain `r` has a connected agent (virDomainShutdown
    /// without flags prefers it, as libvirt's).
    pub(crate) fn agent_connected(&self, r: &DomainRef) -> bool {
        self.get(r)
            .is_ok_and(|d| self.agents.get(d.uuid()).is_some())
    }

    /// virDomainGetTime.
    pub(crate) fn agent_get_time(&self, r: &DomainRef, flags: u32) -> Result<(i64, u32)> {
        Error::check_flags(flags, 0, "qemuDomainGetTime")?;
        let ns = self
            .agent_simple(r, "guest-get-time", None)?
            .as_u64()
            .ok_or_else(malformed)?;
        let secs = i64::try_from(ns / 1_000_000_000).map_err(|_| malformed())?;
        let nsecs = u32::try_from(ns % 1_000_000_000).map_err(|_| malformed())?;
        Ok((secs, nsecs))
    }

    /// virDomainSetTime: the guest's clock set (or, with SYNC, read back
    /// from its RTC), then QEMU's RTC catch-up reset.
    pub(crate) fn agent_set_time(
        &self,
        r: &DomainRef,
        seconds: i64,
        nseconds: u32,
        flags: u32,
    ) -> Result<()> {
        Error::check_flags(flags, TIME_SYNC, "qemuDomainSetTime")?;
        let args = if flags & TIME_SYNC != 0 {
            None
        } else {
            let ns = seconds
                .checked_mul(1_000_000_000)
                .and_then(|n| n.checked_add(i64::from(nseconds)))
                .ok_or_else(|| {
                    Error::new(
                        ErrorCode::InvalidArg,
                        QEMU,
                        format!("Time '{seconds}' is too big for guest agent"),
                    )
                })?;
            Some(json!({ "time": ns }))
        };
        self.agent_simple(r, "guest-set-time", args)?;
        let job = self.begin(r, "virDomainSetTime")?;
        let mon = {
            let st = job.obj().lock();
            st.live.as_ref().ok_or_else(not_running)?.mon.clone()
        };
        match self.block(async move { mon.execute("rtc-reset-reinjection", None).await }) {
            Some(Ok(_)) => Ok(()),
            Some(Err(e)) => Err(qemu::probe::qmp_error("rtc-reset-reinjection", e)),
            None => Err(Error::internal(QEMU, "monitor call failed")),
        }
    }

    /// virDomainFSFreeze / virDomainFSThaw: how many filesystems.
    pub(crate) fn agent_fs_freeze(
        &self,
        r: &DomainRef,
        mountpoints: &[String],
        freeze: bool,
        flags: u32,
    ) -> Result<i32> {
        let api = if freeze {
            "qemuDomainFSFreeze"
        } else {
            "qemuDomainFSThaw"
        };
        Error::check_flags(flags, 0, api)?;
        let ret = if !freeze {
            if !mountpoints.is_empty() {
                return Err(Error::new(
                    ErrorCode::ArgumentUnsupported,
                    QEMU,
                    "specifying mountpoints is not supported",
                ));
            }
            self.agent_simple(r, "guest-fsfreeze-thaw", None)?
        } else if mountpoints.is_empty() {
            self.agent_simple(r, "guest-fsfreeze-freeze", None)?
        } else {
            self.agent_simple(
                r,
                "guest-fsfreeze-freeze-list",
                Some(json!({ "mountpoints": mountpoints })),
            )?
        };
        ret.as_i64()
            .and_then(|n| i32::try_from(n).ok())
            .ok_or_else(malformed)
    }

    /// virDomainGetFSInfo: the agent's filesystems.
    pub(crate) fn agent_fs_info(&self, r: &DomainRef, flags: u32) -> Result<Vec<FsInfo>> {
        Error::check_flags(flags, 0, "qemuDomainGetFSInfo")?;
        let ret = self.agent_simple(r, "guest-get-fsinfo", None)?;
        let list = ret.as_array().ok_or_else(|| {
            Error::internal(QEMU, "guest-get-fsinfo reply was missing or not an array")
        })?;
        let mut out = Vec::with_capacity(list.len());
        for fs in list {
            let field = |k: &str| {
                fs.get(k)
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .ok_or_else(|| {
                        Error::internal(QEMU, format!("'{k}' missing in reply of guest-get-fsinfo"))
                    })
            };
            out.push(FsInfo {
                mountpoint: field("mountpoint")?,
                name: field("name")?,
                fstype: field("type")?,
                dev_aliases: Vec::new(),
            });
        }
        Ok(out)
    }

    /// virDomainInterfaceAddresses from the agent.
    pub(crate) fn agent_interfaces(&self, r: &DomainRef) -> Result<Vec<DomainInterface>> {
        let (dom, agent) = self.agent_of(r)?;
        let ret = self
            .agent_call(&dom, &agent, "guest-network-get-interfaces", None, false)?
            .ok_or_else(malformed)?;
        parse_interfaces(&ret)
    }

    /// virDomainSetUserPassword.
    pub(crate) fn agent_set_user_password(
        &self,
        r: &DomainRef,
        user: &str,
        password: &str,
        flags: u32,
    ) -> Result<()> {
        Error::check_flags(flags, PASSWORD_ENCRYPTED, "qemuDomainSetUserPassword")?;
        self.agent_simple(
            r,
            "guest-set-user-password",
            Some(json!({
                "crypted": flags & PASSWORD_ENCRYPTED != 0,
                "username": user,
                "password": qemu_command::base64(password.as_bytes()),
            })),
        )
        .map(drop)
    }

    /// virDomainGetGuestVcpus: the guest's CPUs, those online and those
    /// it can take offline, as bitmaps.
    pub(crate) fn agent_guest_vcpus(&self, r: &DomainRef, flags: u32) -> Result<TypedParams> {
        Error::check_flags(flags, 0, "qemuDomainGetGuestVcpus")?;
        let ret = self.agent_simple(r, "guest-get-vcpus", None)?;
        let list = ret.as_array().ok_or_else(|| {
            Error::internal(QEMU, "guest-get-vcpus reply was missing return data")
        })?;
        let (mut all, mut online, mut offlinable) = (Vec::new(), Vec::new(), Vec::new());
        for v in list {
            let id = v
                .get("logical-id")
                .and_then(Value::as_u64)
                .and_then(|n| usize::try_from(n).ok())
                .ok_or_else(|| {
                    Error::internal(QEMU, "'logical-id' missing in reply of guest-get-vcpus")
                })?;
            let on = v.get("online").and_then(Value::as_bool).ok_or_else(|| {
                Error::internal(QEMU, "'online' missing in reply of guest-get-vcpus")
            })?;
            all.push(id);
            if on {
                online.push(id);
            }
            if v.get("can-offline").and_then(Value::as_bool) == Some(true) {
                offlinable.push(id);
            }
        }
        let s = |ids: &[usize]| TypedValue::String(conf::format_bitmap(ids));
        Ok(vec![
            ("vcpus".into(), s(&all)),
            ("online".into(), s(&online)),
            ("offlinable".into(), s(&offlinable)),
        ])
    }

    /// virDomainGetGuestInfo: users, OS, time zone, host name,
    /// filesystems, disks and interfaces as typed parameters. Asked for
    /// everything (`types` 0), what the agent lacks is left out.
    pub(crate) fn agent_guest_info(
        &self,
        r: &DomainRef,
        types: u32,
        flags: u32,
    ) -> Result<TypedParams> {
        Error::check_flags(flags, 0, "qemuDomainGetGuestInfo")?;
        if types & !INFO_ALL != 0 {
            return Err(Error::new(
                ErrorCode::InvalidArg,
                QEMU,
                format!(
                    "unsupported guest information types '0x{:x}'",
                    types & !INFO_ALL
                ),
            ));
        }
        let tolerate = types == 0;
        let want = if types == 0 { INFO_ALL } else { types };
        let (dom, agent) = self.agent_of(r)?;
        let call = |name: &str| self.agent_call(&dom, &agent, name, None, tolerate);
        let mut p: TypedParams = Vec::new();
        let str_param = |p: &mut TypedParams, k: String, v: &str| {
            p.push((k, TypedValue::String(v.to_string())));
        };
        let count = |n: usize| TypedValue::UInt(u32::try_from(n).unwrap_or(u32::MAX));
        if want & INFO_USERS != 0 {
            if let Some(users) = call("guest-get-users")? {
                let users = users.as_array().ok_or_else(|| {
                    Error::internal(QEMU, "guest-get-users reply was missing return data")
                })?;
                p.push(("user.count".into(), count(users.len())));
                for (i, u) in users.iter().enumerate() {
                    let name = u.get("user").and_then(Value::as_str).ok_or_else(|| {
                        Error::internal(QEMU, "'user' missing in reply of guest-get-users")
                    })?;
                    str_param(&mut p, format!("user.{i}.name"), name);
                    if let Some(d) = u.get("domain").and_then(Value::as_str) {
                        str_param(&mut p, format!("user.{i}.domain"), d);
                    }
                    let t = u.get("login-time").and_then(Value::as_f64).ok_or_else(|| {
                        Error::internal(QEMU, "'login-time' missing in reply of guest-get-users")
                    })?;
                    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                    let ms = (t * 1000.0) as u64;
                    p.push((format!("user.{i}.login-time"), TypedValue::ULLong(ms)));
                }
            }
        }
        if want & INFO_OS != 0 {
            if let Some(os) = call("guest-get-osinfo")? {
                if !os.is_object() {
                    return Err(Error::internal(
                        QEMU,
                        "guest-get-osinfo reply was missing return data",
                    ));
                }
                for key in [
                    "id",
                    "name",
                    "pretty-name",
                    "version",
                    "version-id",
                    "machine",
                    "variant",
                    "variant-id",
                    "kernel-release",
                    "kernel-version",
                ] {
                    if let Some(v) = os.get(key).and_then(Value::as_str) {
                        str_param(&mut p, format!("os.{key}"), v);
                    }
                }
            }
        }
        if want & INFO_TIMEZONE != 0 {
            if let Some(tz) = call("guest-get-timezone")? {
                if !tz.is_object() {
                    return Err(Error::internal(
                        QEMU,
                        "guest-get-timezone reply was missing return data",
                    ));
                }
                if let Some(z) = tz.get("zone").and_then(Value::as_str) {
                    str_param(&mut p, "timezone.name".into(), z);
                }
                let off = tz
                    .get("offset")
                    .and_then(Value::as_i64)
                    .and_then(|o| i32::try_from(o).ok())
                    .ok_or_else(|| {
                        Error::internal(QEMU, "'offset' missing in reply of guest-get-timezone")
                    })?;
                p.push(("timezone.offset".into(), TypedValue::Int(off)));
            }
        }
        if want & INFO_HOSTNAME != 0 {
            if let Some(h) = call("guest-get-host-name")? {
                let name = h.get("host-name").and_then(Value::as_str).ok_or_else(|| {
                    Error::internal(QEMU, "'host-name' missing in guest-get-host-name reply")
                })?;
                str_param(&mut p, "hostname".into(), name);
            }
        }
        let mut fs_params = Vec::new();
        if want & INFO_FILESYSTEM != 0 {
            if let Some(list) = call("guest-get-fsinfo")? {
                let list = list.as_array().ok_or_else(|| {
                    Error::internal(QEMU, "guest-get-fsinfo reply was missing or not an array")
                })?;
                fs_params.push(("fs.count".into(), count(list.len())));
                for (i, fs) in list.iter().enumerate() {
                    for (k, name) in [
                        ("mountpoint", "mountpoint"),
                        ("name", "name"),
                        ("type", "fstype"),
                    ] {
                        let v = fs.get(k).and_then(Value::as_str).ok_or_else(|| {
                            Error::internal(
                                QEMU,
                                format!("'{k}' missing in reply of guest-get-fsinfo"),
                            )
                        })?;
                        str_param(&mut fs_params, format!("fs.{i}.{name}"), v);
                    }
                    for (k, name) in [("total-bytes", "total-bytes"), ("used-bytes", "used-bytes")]
                    {
                        if let Some(n) = fs.get(k).and_then(Value::as_u64) {
                            fs_params.push((format!("fs.{i}.{name}"), TypedValue::ULLong(n)));
                        }
                    }
                    let disks = fs.get("disk").and_then(Value::as_array).map_or(0, Vec::len);
                    fs_params.push((format!("fs.{i}.disk.count"), count(disks)));
                }
            }
        }
        if want & INFO_DISKS != 0 {
            if let Some(list) = call("guest-get-disks")? {
                let list = list.as_array().ok_or_else(|| {
                    Error::internal(QEMU, "qemu agent didn't return an array of disks")
                })?;
                fs_params.push(("disk.count".into(), count(list.len())));
                for (i, d) in list.iter().enumerate() {
                    let name = d.get("name").and_then(Value::as_str).ok_or_else(|| {
                        Error::internal(QEMU, "'name' missing in reply of guest-get-disks")
                    })?;
                    str_param(&mut fs_params, format!("disk.{i}.name"), name);
                    let part = d.get("partition").and_then(Value::as_bool).ok_or_else(|| {
                        Error::internal(QEMU, "'partition' missing in reply of guest-get-disks")
                    })?;
                    fs_params.push((format!("disk.{i}.partition"), TypedValue::Boolean(part)));
                }
            }
        }
        // Filesystems and disks come after the host name, as libvirt's.
        p.extend(fs_params);
        if want & INFO_INTERFACES != 0 {
            if let Some(list) = call("guest-network-get-interfaces")? {
                let ifaces = parse_interfaces(&list)?;
                p.push(("if.count".into(), count(ifaces.len())));
                for (i, f) in ifaces.iter().enumerate() {
                    str_param(&mut p, format!("if.{i}.name"), &f.name);
                    if let Some(hw) = &f.hwaddr {
                        str_param(&mut p, format!("if.{i}.hwaddr"), hw);
                    }
                    p.push((format!("if.{i}.addr.count"), count(f.addrs.len())));
                    for (j, a) in f.addrs.iter().enumerate() {
                        let kind = if a.addr_type == 1 { "ipv6" } else { "ipv4" };
                        str_param(&mut p, format!("if.{i}.addr.{j}.type"), kind);
                        str_param(&mut p, format!("if.{i}.addr.{j}.addr"), &a.addr);
                        p.push((
                            format!("if.{i}.addr.{j}.prefix"),
                            TypedValue::UInt(a.prefix),
                        ));
                    }
                }
            }
        }
        Ok(p)
    }
}

/// `guest-network-get-interfaces`' reply as virDomainInterface records
/// (aliases such as `eth0:1` folded into their device, as libvirt does).
fn parse_interfaces(ret: &Value) -> Result<Vec<DomainInterface>> {
    let list = ret
        .as_array()
        .ok_or_else(|| Error::internal(QEMU, "qemu agent didn't return an array of interfaces"))?;
    let mut out: Vec<DomainInterface> = Vec::new();
    for i in list {
        let full = i
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::internal(QEMU, "qemu agent didn't provide 'name' field"))?;
        let name = full.split(':').next().unwrap_or(full).to_string();
        let idx = match out.iter().position(|o| o.name == name) {
            Some(k) => k,
            None => {
                out.push(DomainInterface {
                    name: name.clone(),
                    hwaddr: i
                        .get("hardware-address")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                    addrs: Vec::new(),
                });
                out.len() - 1
            }
        };
        let Some(addrs) = i.get("ip-addresses").and_then(Value::as_array) else {
            continue;
        };
        for a in addrs {
            let kind = a.get("ip-address-type").and_then(Value::as_str).ok_or_else(|| {
                Error::internal(
                    QEMU,
                    format!("qemu agent didn't provide 'ip-address-type' field for interface '{name}'"),
                )
            })?;
            let addr_type = match kind {
                "ipv4" => 0,
                "ipv6" => 1,
                other => {
                    return Err(Error::internal(
                        QEMU,
                        format!("unknown ip address type '{other}'"),
                    ))
                }
            };
            let addr = a.get("ip-address").and_then(Value::as_str).ok_or_else(|| {
                Error::internal(
                    QEMU,
                    format!("qemu agent didn't provide 'ip-address' field for interface '{name}'"),
                )
            })?;
            let prefix = a
                .get("prefix")
                .and_then(Value::as_u64)
                .and_then(|p| u32::try_from(p).ok())
                .ok_or_else(|| Error::internal(QEMU, "malformed 'prefix' field"))?;
            if let Some(o) = out.get_mut(idx) {
                o.addrs.push(IpAddress {
                    addr_type,
                    addr: addr.to_string(),
                    prefix,
                });
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_errors_use_the_description_else_the_class_in_words() {
        let e = reply_error(
            "guest-info",
            &json!({"error": {"class": "GenericError", "desc": "boom"}}),
        )
        .map(|e| e.message());
        assert_eq!(
            e.as_deref(),
            Some("internal error: unable to execute QEMU agent command 'guest-info': boom")
        );
        let e =
            reply_error("x", &json!({"error": {"class": "CommandNotFound"}})).map(|e| e.message());
        assert_eq!(
            e.as_deref(),
            Some("internal error: unable to execute QEMU agent command 'x': The command has not been found")
        );
        assert!(reply_error("x", &json!({"return": {}})).is_none());
        assert!(reply_error("x", &json!({})).is_some());
    }

    #[test]
    fn interfaces_fold_aliases_and_check_address_types() {
        let got = parse_interfaces(&json!([
            {"name": "lo", "hardware-address": "00:00:00:00:00:00",
             "ip-addresses": [{"ip-address-type": "ipv4", "ip-address": "127.0.0.1", "prefix": 8}]},
            {"name": "eth0", "hardware-address": "52:54:00:01:02:03",
             "ip-addresses": [{"ip-address-type": "ipv4", "ip-address": "10.0.2.15", "prefix": 24}]},
            {"name": "eth0:1",
             "ip-addresses": [{"ip-address-type": "ipv6", "ip-address": "fe80::1", "prefix": 64}]},
        ]))
        .unwrap_or_default();
        assert_eq!(got.len(), 2);
        assert_eq!(got[1].addrs.len(), 2);
        assert_eq!(got[1].addrs[1].addr_type, 1);
        let bad = parse_interfaces(&json!([{"name": "x", "ip-addresses": [
            {"ip-address-type": "ipx", "ip-address": "1", "prefix": 1}]}]));
        assert!(bad.is_err());
    }

    #[test]
    fn a_generated_agent_socket_lands_in_the_channel_directory() {
        let xml = "<domain type='qemu'><name>g</name><memory>65536</memory><os><type>hvm</type></os><devices><channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel></devices></domain>";
        let mut def = conf::domain::parse(xml, &conf::ParseFlags::default())
            .unwrap_or_else(|e| panic!("{e}"));
        prepare_channels(&mut def, std::path::Path::new("/var/lib/libvirt/qemu"), 7);
        assert_eq!(
            agent_socket(&def),
            Some(PathBuf::from(
                "/var/lib/libvirt/qemu/channel/target/domain-7-g/org.qemu.guest_agent.0"
            ))
        );
        assert_eq!(agent_port_id(&def).as_deref(), Some("channel0"));
    }
}

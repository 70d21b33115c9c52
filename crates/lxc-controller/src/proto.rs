// SPDX-License-Identifier: LGPL-2.1-or-later
//! The control protocol between a client (the LXC driver) and a controller:
//! newline-delimited JSON on the Unix socket `<state-dir>/<name>.sock`.
//! One request line gets one response line; after `subscribe`, event lines
//! follow on that connection. After a successful `console` response the
//! connection carries raw console bytes both ways until it is closed; one
//! console connection at a time. While none is attached the controller
//! reads and discards console output so the container never blocks on it.

use serde::{Deserialize, Serialize};

/// Longest line either side accepts.
pub const MAX_LINE: usize = 64 * 1024;

/// A request to the controller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// Current state.
    Status,
    /// Ask init to stop with `signal` (SIGTERM by default).
    Shutdown {
        /// Signal number.
        #[serde(default)]
        signal: Option<i32>,
    },
    /// Restart init (unsupported: answered with an error).
    Reboot,
    /// Kill every task now; the response comes after teardown, which leaves
    /// the emptied cgroup (named in the response) for the requester to
    /// remove once the controller has exited.
    Destroy,
    /// Freeze every task.
    Freeze,
    /// Thaw.
    Thaw,
    /// Turn this connection into the console relay.
    Console,
    /// Memory and CPU usage.
    Stats,
    /// Receive the exit event on this connection.
    Subscribe,
}

/// Run state of the container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunState {
    /// Running.
    Running,
    /// Frozen.
    Paused,
}

/// Answer to `status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    /// Host pid of init.
    pub init_pid: u32,
    /// Start time of init (clock ticks since boot), to detect pid reuse.
    pub init_start_time: u64,
    /// Pid of the controller.
    pub controller_pid: u32,
    /// Run state.
    pub state: RunState,
    /// Host names of the veth ends.
    pub veths: Vec<String>,
    /// The container's cgroup directories.
    pub cgroups: Vec<String>,
}

/// Answer to `stats`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Memory in use, bytes.
    pub memory_bytes: Option<u64>,
    /// CPU time, nanoseconds.
    pub cpu_ns: Option<u64>,
}

/// Why the container stopped (libvirt's controller exit reasons).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExitReason {
    /// Init exited (or was told to).
    Shutdown,
    /// Init asked for a reboot (killed by SIGHUP via reboot(2) in its pid namespace).
    Reboot,
    /// Killed by `destroy`.
    Destroyed,
    /// The controller hit an error.
    Error,
}

/// How init ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExitInfo {
    /// Reason.
    pub reason: ExitReason,
    /// Exit code when init exited.
    pub code: Option<i32>,
    /// Signal when init was killed.
    pub signal: Option<i32>,
}

/// An event pushed to subscribers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// Init is gone and the container was torn down.
    Exited(ExitInfo),
}

/// A response or event line.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Response {
    /// Success.
    pub ok: bool,
    /// Error text when `ok` is false.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// For `status`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// For `stats`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stats: Option<Stats>,
    /// For `destroy`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit: Option<ExitInfo>,
    /// For `destroy`: the emptied cgroup directories the controller left;
    /// the requester removes them once the controller process has exited.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub leftover_cgroups: Vec<String>,
    /// Set on event lines (not a response to a request).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event: Option<Event>,
}

impl Response {
    /// A plain success.
    pub fn ok() -> Self {
        Response {
            ok: true,
            ..Default::default()
        }
    }

    /// A failure with a message.
    pub fn err(msg: impl Into<String>) -> Self {
        Response {
            ok: false,
            error: Some(msg.into()),
            ..Default::default()
        }
    }
}

/// The first line the controller writes to its starter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Handshake {
    /// Started successfully.
    pub ok: bool,
    /// Error text on failure.
    #[serde(default)]
    pub error: Option<String>,
    /// Host pid of init.
    #[serde(default)]
    pub init_pid: u32,
    /// Start time of init.
    #[serde(default)]
    pub init_start_time: u64,
    /// Pid of the controller.
    #[serde(default)]
    pub controller_pid: u32,
    /// Host names of the veth ends.
    #[serde(default)]
    pub veths: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_tagged_by_op() {
        let r: Request =
            serde_json::from_str(r#"{"op":"shutdown","signal":2}"#).unwrap_or(Request::Status);
        assert_eq!(r, Request::Shutdown { signal: Some(2) });
        let r: Request = serde_json::from_str(r#"{"op":"shutdown"}"#).unwrap_or(Request::Status);
        assert_eq!(r, Request::Shutdown { signal: None });
        assert!(serde_json::from_str::<Request>(r#"{"op":"explode"}"#).is_err());
        assert_eq!(
            serde_json::to_string(&Request::Destroy).unwrap_or_default(),
            r#"{"op":"destroy"}"#
        );
    }

    #[test]
    fn event_lines_round_trip() {
        let ev = Response {
            ok: true,
            event: Some(Event::Exited(ExitInfo {
                reason: ExitReason::Destroyed,
                code: None,
                signal: Some(9),
            })),
            ..Default::default()
        };
        let text = serde_json::to_string(&ev).unwrap_or_default();
        assert!(text.contains(r#""type":"exited""#));
        let back: Response = serde_json::from_str(&text).unwrap_or_default();
        assert_eq!(back, ev);
    }
}

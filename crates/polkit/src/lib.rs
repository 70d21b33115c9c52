// SPDX-License-Identifier: LGPL-2.1-or-later
//! polkit authorization for clients of the Unix sockets.
//!
//! Role: when a socket's auth scheme is `polkit` (`auth_unix_rw` /
//! `auth_unix_ro` in libvirtd.conf), the daemon answers
//! `REMOTE_PROC_AUTH_POLKIT` by asking polkitd, over the system D-Bus,
//! whether the connecting process may perform [`ACTION_MANAGE`] (read-write
//! socket) or [`ACTION_MONITOR`] (read-only socket). [`check_auth`] is that
//! question (libvirt's `virPolkitCheckAuth`); [`PolkitError`] carries the
//! answer's libvirt error code, domain and client-visible message.
//!
//! Invariants:
//! - Anything short of an explicit "authorized" from polkitd is an error:
//!   no bus, no polkitd, a malformed reply all refuse the client.
//! - Every query opens its own bus connection (authentication is once per
//!   client connection, so there is nothing worth caching), found through
//!   `DBUS_SYSTEM_BUS_ADDRESS` when set.
//! - [`check_auth`] blocks, but may be called from any thread, including a
//!   tokio worker: the D-Bus exchange runs on a short-lived thread of its own.
//!
//! Depends on `protocol` (error codes and texts) and `zbus`; must not depend
//! on the RPC server, the dispatcher or any driver.
//!
//! The `testbed` feature adds [`testbed`]: a private system bus with a real
//! polkitd and the test's own rules, for tests of this crate and of daemons.
#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::time::Duration;

use protocol::{ErrorCode, ErrorDomain, RemoteError};
use zbus::zvariant::Value;

#[cfg(feature = "testbed")]
pub mod testbed;

/// The action a client of the read-write socket must be authorized for.
pub const ACTION_MANAGE: &str = "org.libvirt.unix.manage";
/// The action a client of the read-only socket must be authorized for.
pub const ACTION_MONITOR: &str = "org.libvirt.unix.monitor";

/// Where the system bus is when `DBUS_SYSTEM_BUS_ADDRESS` is not set (the
/// D-Bus specification's well-known address).
pub const DEFAULT_SYSTEM_BUS_ADDRESS: &str = "unix:path=/var/run/dbus/system_bus_socket";

const POLKIT_BUS_NAME: &str = "org.freedesktop.PolicyKit1";
const POLKIT_AUTHORITY_PATH: &str = "/org/freedesktop/PolicyKit1/Authority";
const POLKIT_AUTHORITY_IFACE: &str = "org.freedesktop.PolicyKit1.Authority";
/// CheckAuthorization flag: polkitd may ask an authentication agent.
const FLAG_ALLOW_USER_INTERACTION: u32 = 1;
/// How long a single CheckAuthorization may take: long enough for a person
/// to answer an agent's prompt, as libvirt allows for any D-Bus call.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// The polkit action for a client of the read-only (`true`) or read-write
/// socket.
pub fn action_for(readonly: bool) -> &'static str {
    if readonly {
        ACTION_MONITOR
    } else {
        ACTION_MANAGE
    }
}

/// The process polkit is asked about: a `unix-process` subject. The pid and
/// uid come from the socket's peer credentials; the start time pins the pid
/// to one process, so a recycled pid cannot inherit an authorization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subject {
    pub pid: i32,
    /// Clock ticks after boot, field 22 of `/proc/PID/stat`
    /// ([`process_start_time`]).
    pub start_time: u64,
    pub uid: u32,
}

impl Subject {
    /// The subject for a live process, its start time read from `/proc`;
    /// `None` when the process is gone or its stat file is unreadable.
    pub fn for_process(pid: i32, uid: u32) -> Option<Subject> {
        Some(Subject {
            pid,
            start_time: process_start_time(pid)?,
            uid,
        })
    }
}

/// Why polkit said no (libvirt's "denied" outcomes, domain polkit).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denial {
    /// Not authorized and no way to become so (VIR_ERR_AUTH_FAILED).
    #[error("access denied by policy")]
    NotAuthorized,
    /// Authorization needs authentication, and no agent could ask for it
    /// (VIR_ERR_AUTH_UNAVAILABLE).
    #[error("no polkit agent available to authenticate action '{action}'")]
    NoAgent { action: String },
    /// An agent asked and the user dismissed the prompt
    /// (VIR_ERR_AUTH_CANCELLED).
    #[error("user cancelled authentication process")]
    Dismissed,
}

/// Why polkit could not be asked (libvirt's "failed" outcomes).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    /// No connection to the system bus (VIR_ERR_INTERNAL_ERROR, domain
    /// dbus). The string is the connection error.
    #[error("Unable to get system bus connection: {0}")]
    NoBus(String),
    /// The CheckAuthorization call failed: polkitd not running, timed out,
    /// rejected the subject or sent a malformed reply (VIR_ERR_DBUS_SERVICE,
    /// domain dbus). D-Bus errors read `GDBus.Error:NAME: TEXT`, as clients
    /// of libvirt see them.
    #[error("{0}")]
    Service(String),
    /// The subject's pid cannot name a process (VIR_ERR_INTERNAL_ERROR,
    /// domain polkit).
    #[error("invalid process ID {0} for polkit subject")]
    InvalidPid(i32),
}

/// The outcome of a refused [`check_auth`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolkitError {
    /// polkitd answered, and not with "authorized".
    #[error(transparent)]
    Denied(#[from] Denial),
    /// polkitd could not be asked or did not answer usefully. Never an allow.
    #[error(transparent)]
    Failed(#[from] Failure),
}

impl PolkitError {
    /// The libvirt error code (virErrorNumber).
    pub fn error_code(&self) -> ErrorCode {
        match self {
            PolkitError::Denied(Denial::NotAuthorized) => ErrorCode::AuthFailed,
            PolkitError::Denied(Denial::NoAgent { .. }) => ErrorCode::AuthUnavailable,
            PolkitError::Denied(Denial::Dismissed) => ErrorCode::AuthCancelled,
            PolkitError::Failed(Failure::NoBus(_) | Failure::InvalidPid(_)) => {
                ErrorCode::InternalError
            }
            PolkitError::Failed(Failure::Service(_)) => ErrorCode::DbusService,
        }
    }

    /// The libvirt error domain (virErrorDomain): polkit for verdicts and
    /// subject problems, dbus for bus and call failures.
    pub fn error_domain(&self) -> ErrorDomain {
        match self {
            PolkitError::Denied(_) | PolkitError::Failed(Failure::InvalidPid(_)) => {
                ErrorDomain::Polkit
            }
            PolkitError::Failed(Failure::NoBus(_) | Failure::Service(_)) => ErrorDomain::Dbus,
        }
    }

    /// [`Self::error_code`] as the wire number.
    pub fn code(&self) -> i32 {
        self.error_code() as i32
    }

    /// [`Self::error_domain`] as the wire number.
    pub fn domain(&self) -> i32 {
        self.error_domain() as i32
    }

    /// The detail alone ("access denied by policy"), as `Display` prints it.
    pub fn detail(&self) -> String {
        self.to_string()
    }

    /// The whole message a client prints: the code's text around the
    /// detail ("authentication failed: access denied by policy").
    pub fn message(&self) -> String {
        self.to_remote_error().message
    }

    /// The wire error for the REMOTE_PROC_AUTH_POLKIT reply.
    pub fn to_remote_error(&self) -> RemoteError {
        RemoteError::new(self.error_code(), self.error_domain(), Some(&self.detail()))
    }

    /// `true` for polkit's verdicts (libvirt's -2), `false` for failures to
    /// ask (-1). Both refuse the client; the daemon logs them differently.
    pub fn is_denied(&self) -> bool {
        matches!(self, PolkitError::Denied(_))
    }
}

impl From<PolkitError> for RemoteError {
    fn from(e: PolkitError) -> RemoteError {
        e.to_remote_error()
    }
}

/// The system bus address: `DBUS_SYSTEM_BUS_ADDRESS` when set and not
/// empty, else [`DEFAULT_SYSTEM_BUS_ADDRESS`].
pub fn system_bus_address() -> String {
    match std::env::var("DBUS_SYSTEM_BUS_ADDRESS") {
        Ok(a) if !a.is_empty() => a,
        _ => DEFAULT_SYSTEM_BUS_ADDRESS.to_string(),
    }
}

/// Ask polkitd on the system bus whether `subject` may perform `action`
/// (libvirt's `virPolkitCheckAuth` with no extra details).
///
/// `allow_interaction` lets polkitd ask an authentication agent (the daemon
/// passes `true`). `Ok(())` only when polkitd answers "authorized"; see
/// [`PolkitError`] for every refusal. The daemon refuses a client whose
/// start time is unknown (0) before calling this.
pub fn check_auth(
    action: &str,
    subject: &Subject,
    allow_interaction: bool,
) -> Result<(), PolkitError> {
    check_auth_on_bus(&system_bus_address(), action, subject, allow_interaction)
}

/// [`check_auth`] against the bus at `bus_address` (a D-Bus address such as
/// `unix:path=/run/dbus/system_bus_socket`), whatever the environment says.
pub fn check_auth_on_bus(
    bus_address: &str,
    action: &str,
    subject: &Subject,
    allow_interaction: bool,
) -> Result<(), PolkitError> {
    // zbus's blocking calls drive a tokio runtime of their own, which
    // panics on a thread already driving one; a thread of our own is
    // always safe, and costs nothing next to a D-Bus round trip.
    std::thread::scope(|s| {
        s.spawn(|| ask_polkitd(bus_address, action, subject, allow_interaction))
            .join()
            .unwrap_or_else(|_| {
                Err(Failure::Service("polkit query thread panicked".to_string()).into())
            })
    })
}

/// polkit's reply body: (is_authorized, is_challenge, details).
type AuthorizationResult = (bool, bool, HashMap<String, String>);

fn ask_polkitd(
    bus_address: &str,
    action: &str,
    subject: &Subject,
    allow_interaction: bool,
) -> Result<(), PolkitError> {
    let pid = u32::try_from(subject.pid)
        .ok()
        .filter(|&p| p > 0)
        .ok_or(Failure::InvalidPid(subject.pid))?;
    // polkit types the uid as a signed 32-bit integer; the bits are the uid.
    let uid = i32::from_ne_bytes(subject.uid.to_ne_bytes());

    let conn = zbus::blocking::connection::Builder::address(bus_address)
        .and_then(|b| b.method_timeout(CALL_TIMEOUT).build())
        .map_err(|e| Failure::NoBus(describe_zbus_error(&e)))?;

    let mut process: HashMap<&str, Value<'_>> = HashMap::new();
    process.insert("pid", Value::U32(pid));
    process.insert("start-time", Value::U64(subject.start_time));
    process.insert("uid", Value::I32(uid));
    let details: HashMap<&str, &str> = HashMap::new();
    let flags = if allow_interaction {
        FLAG_ALLOW_USER_INTERACTION
    } else {
        0
    };
    let cancellation_id = "";

    let reply = conn
        .call_method(
            Some(POLKIT_BUS_NAME),
            POLKIT_AUTHORITY_PATH,
            Some(POLKIT_AUTHORITY_IFACE),
            "CheckAuthorization",
            &(
                ("unix-process", process),
                action,
                details,
                flags,
                cancellation_id,
            ),
        )
        .map_err(|e| Failure::Service(describe_zbus_error(&e)))?;
    let (authorized, challenge, result_details): AuthorizationResult =
        reply.body().deserialize().map_err(|e| {
            Failure::Service(format!(
                "malformed CheckAuthorization reply (signature '{}'): {e}",
                reply.body().signature()
            ))
        })?;
    verdict(action, authorized, challenge, &result_details)
}

/// Turn polkit's answer into ours. A dismissed prompt outranks a challenge,
/// which outranks a plain refusal.
fn verdict(
    action: &str,
    authorized: bool,
    challenge: bool,
    details: &HashMap<String, String>,
) -> Result<(), PolkitError> {
    if authorized {
        return Ok(());
    }
    let dismissed = details.get("polkit.dismissed").map(String::as_str) == Some("true");
    let denial = if dismissed {
        Denial::Dismissed
    } else if challenge {
        Denial::NoAgent {
            action: action.to_string(),
        }
    } else {
        Denial::NotAuthorized
    };
    Err(denial.into())
}

/// The text of a zbus error, with D-Bus errors in the `GDBus.Error:NAME:
/// TEXT` form libvirt's clients see.
fn describe_zbus_error(e: &zbus::Error) -> String {
    match e {
        zbus::Error::MethodError(name, text, _) => {
            format!(
                "GDBus.Error:{}: {}",
                name.as_str(),
                text.as_deref().unwrap_or("")
            )
        }
        zbus::Error::InputOutput(io) => format!("Could not connect: {io}"),
        other => other.to_string(),
    }
}

/// When the process started, in clock ticks after boot: field 22 of
/// `/proc/PID/stat`, the value polkit compares against. `None` when the
/// process does not exist or the file does not parse.
///
/// The command name (field 2) may contain spaces and parentheses, so the
/// fields are counted from the last `)`.
pub fn process_start_time(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_start_time(&stat)
}

fn parse_start_time(stat: &str) -> Option<u64> {
    let (_, after_comm) = stat.rsplit_once(')')?;
    // after_comm begins with field 3 (state); field 22 is 19 further on.
    after_comm.split_whitespace().nth(19)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn details(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn authorized_is_ok_whatever_else_is_set() {
        assert_eq!(
            verdict(
                ACTION_MANAGE,
                true,
                true,
                &details(&[("polkit.dismissed", "true")])
            ),
            Ok(())
        );
    }

    #[test]
    fn plain_refusal_is_auth_failed_access_denied_by_policy() {
        let e = verdict(ACTION_MANAGE, false, false, &details(&[])).unwrap_err();
        assert_eq!(e, PolkitError::Denied(Denial::NotAuthorized));
        assert_eq!(e.code(), 45);
        assert_eq!(e.domain(), 60);
        assert_eq!(
            e.message(),
            "authentication failed: access denied by policy"
        );
        assert!(e.is_denied());
    }

    #[test]
    fn challenge_without_agent_is_auth_unavailable_naming_the_action() {
        let e = verdict(ACTION_MONITOR, false, true, &details(&[])).unwrap_err();
        assert_eq!(e.code(), 94);
        assert_eq!(e.domain(), 60);
        assert_eq!(
            e.message(),
            "authentication unavailable: no polkit agent available to authenticate \
             action 'org.libvirt.unix.monitor'"
        );
    }

    #[test]
    fn dismissed_prompt_is_auth_cancelled_even_with_challenge() {
        let e = verdict(
            ACTION_MANAGE,
            false,
            true,
            &details(&[("polkit.dismissed", "true")]),
        )
        .unwrap_err();
        assert_eq!(e, PolkitError::Denied(Denial::Dismissed));
        assert_eq!(e.code(), 79);
        assert_eq!(
            e.message(),
            "authentication cancelled: user cancelled authentication process"
        );
    }

    #[test]
    fn dismissed_other_than_true_is_ignored() {
        let e = verdict(
            ACTION_MANAGE,
            false,
            false,
            &details(&[("polkit.dismissed", "false")]),
        )
        .unwrap_err();
        assert_eq!(e, PolkitError::Denied(Denial::NotAuthorized));
    }

    #[test]
    fn failures_carry_dbus_domain_and_libvirt_texts() {
        let e = PolkitError::from(Failure::NoBus("Could not connect: refused".into()));
        assert_eq!((e.code(), e.domain()), (1, 47));
        assert_eq!(
            e.message(),
            "internal error: Unable to get system bus connection: Could not connect: refused"
        );
        assert!(!e.is_denied());
        let e = PolkitError::from(Failure::Service("GDBus.Error:x.Y: z".into()));
        assert_eq!((e.code(), e.domain()), (89, 47));
        assert_eq!(e.message(), "error from service: GDBus.Error:x.Y: z");
        let wire = RemoteError::from(e);
        assert_eq!(wire.code, 89);
        assert_eq!(wire.message, "error from service: GDBus.Error:x.Y: z");
    }

    #[test]
    fn start_time_is_field_22_counted_from_the_last_paren() {
        let tail = "S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 424242 19 20";
        assert_eq!(
            parse_start_time(&format!("77 (sleep) {tail}")),
            Some(424242)
        );
        // a command name that tries to shift the fields
        assert_eq!(
            parse_start_time(&format!("77 (a) b 1 2 3) {tail}")),
            Some(424242)
        );
        assert_eq!(parse_start_time("77 (x) S 1 2"), None);
        assert_eq!(parse_start_time("garbage"), None);
    }

    #[test]
    fn start_time_of_this_process_is_readable_and_stable() {
        let me = i32::try_from(std::process::id()).unwrap();
        let t = process_start_time(me).unwrap();
        assert_eq!(process_start_time(me), Some(t));
        assert_eq!(process_start_time(-1), None);
    }

    #[test]
    fn unreachable_bus_is_a_failure_never_an_allow() {
        let s = Subject {
            pid: 1,
            start_time: 1,
            uid: 0,
        };
        let e =
            check_auth_on_bus("unix:path=/nonexistent/bus", ACTION_MANAGE, &s, false).unwrap_err();
        assert!(matches!(e, PolkitError::Failed(Failure::NoBus(_))), "{e:?}");
        assert!(
            e.message()
                .starts_with("internal error: Unable to get system bus connection: "),
            "{}",
            e.message()
        );
    }

    #[test]
    fn invalid_pid_fails_before_any_bus_traffic() {
        let s = Subject {
            pid: -5,
            start_time: 1,
            uid: 0,
        };
        let e =
            check_auth_on_bus("unix:path=/nonexistent/bus", ACTION_MANAGE, &s, false).unwrap_err();
        assert_eq!(e, PolkitError::Failed(Failure::InvalidPid(-5)));
    }

    #[test]
    fn action_follows_the_socket() {
        assert_eq!(action_for(true), "org.libvirt.unix.monitor");
        assert_eq!(action_for(false), "org.libvirt.unix.manage");
    }
}

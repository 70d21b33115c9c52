// SPDX-License-Identifier: LGPL-2.1-or-later
//! The libvirt RPC transport: an async server (and a small client) that
//! moves framed messages between sockets and a [`Handler`].
//!
//! Role: framing and size limits, keepalive (answered on the connection
//! task, never queued), client limits, the normal and priority worker pools,
//! per-client request budget, outgoing event messages; authentication
//! before any other procedure ([`auth`]: the listener's scheme, the auth
//! procedures, the SASL security layer, `max_anonymous_clients`); the data
//! streams of calls ([`stream`]: a handler hands over a descriptor with
//! its reply, the relay is this crate's).
//!
//! Must not depend on drivers or the XML model: it sees procedure numbers
//! and payload bytes only. `dispatch` implements [`Handler`].
#![forbid(unsafe_code)]

pub mod auth;
pub mod client;
pub mod frame;
pub mod server;
pub mod stream;

/// The TLS stack the server uses, for callers that build its configuration.
pub use tokio_rustls;

pub use auth::{AuthConfig, AuthScheme, PolkitCheck, UserCheck};
pub use server::{
    CallMode, Client, ClientInfo, ClientSummary, Handler, Limits, Outbox, PeerCheck, Response,
    Server, ServerStats, SharedAcceptor, Transport,
};

/// Where the transport's warnings go (the daemon installs its logger).
static WARN: std::sync::OnceLock<fn(std::fmt::Arguments<'_>)> = std::sync::OnceLock::new();

/// Routes the transport's warnings (refused authentication and the like)
/// to `f`; without it they go to standard error.
pub fn set_warn_logger(f: fn(std::fmt::Arguments<'_>)) {
    let _ = WARN.set(f);
}

pub(crate) fn log_warn(args: std::fmt::Arguments<'_>) {
    match WARN.get() {
        Some(f) => f(args),
        None => eprintln!("rpc: {args}"),
    }
}

// SPDX-License-Identifier: LGPL-2.1-or-later
//! virtproxyd's forwarding handler: clients that connect to the classic
//! `libvirt-sock` / `libvirt-sock-ro` are connected, by the URI they open,
//! to the daemon that hosts that driver.
//!
//! How a connection goes:
//! 1. Before CONNECT_OPEN the proxy answers by itself: AUTH_LIST (no
//!    authentication), CONNECT_SUPPORTS_FEATURE, and "connection not open"
//!    for anything else.
//! 2. CONNECT_OPEN picks the back end from the URI's scheme: `lxc` →
//!    `virtlxcd-sock`, `xen` → `virtxend-sock`, `vz` / `parallels` →
//!    `virtvzd-sock`, `qemu` → `virtqemud-sock`, `network` →
//!    `virtnetworkd-sock`, `secret` → `virtsecretd-sock`, `storage` →
//!    `virtstoraged-sock`, `nodedev` → `virtnodedevd-sock`, `interface`
//!    → `virtinterfaced-sock`, `nwfilter` → `virtnwfilterd-sock` (all in
//!    the proxy's own socket directory; `-sock-ro`
//!    for clients of the read-only socket), `test` → the proxy's in-process
//!    drivers. No URI or the empty one: a root proxy probes the daemons'
//!    sockets in libvirt's order and opens `SCHEME:///system` on the first
//!    that exists; otherwise the in-process drivers answer (libvirt's
//!    "connection not open" without a URI, its probe of the drivers for
//!    the empty one). Any other scheme gets libvirt's "no connection
//!    driver available for URI". For a daemon the proxy opens one back-end
//!    connection for the client, sends the client's CONNECT_OPEN (unchanged
//!    unless probed) and relays the reply; for the in-process drivers the client gets a
//!    `dispatch::RemoteHandler` client of its own that answers through the
//!    client's connection (`rpc::Client::sharing_output`).
//! 3. From then on every call and stream message goes to the back end as
//!    is (same serial), and everything the back end sends (replies, events,
//!    stream data) goes to the client as is. Keepalive is answered on each
//!    side by the proxy. CONNECT_SUPPORTS_FEATURE stays local so that the
//!    client never asks for descriptor passing, which is not relayed.
//!
//! Must not depend on any concrete driver: the binary passes the registry.
//! Invariants: a back-end connection belongs to exactly one client and is
//! shut down when the client goes; nothing from a back end is parsed beyond
//! its header and length (checked before allocating).
#![forbid(unsafe_code)]
// The wire error is large by nature; it is built once per failed call.
#![allow(clippy::result_large_err)]

use std::io::Write;
use std::net::Shutdown;
use std::os::fd::{AsFd, OwnedFd};

use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use dispatch::{pong, read_raw_frame, RemoteHandler, RemoteState};
use driver::Uri;
use protocol::header::{frame, frame_value, Header, MessageType, Status, HEADER_SIZE};
use protocol::remote as r;
use protocol::{keepalive, ErrorCode, ErrorDomain, RemoteError, RemoteProc as P};
use rpc::{CallMode, Client, ClientInfo, Handler, Response};
use xdr::{to_bytes, Xdr};

type R<T> = Result<T, RemoteError>;

/// Per-driver daemons the proxy forwards to: URI schemes and the daemon's
/// socket prefix.
pub const DAEMONS: &[(&[&str], &str)] = &[
    (&["lxc"], "virtlxcd"),
    (&["xen"], "virtxend"),
    (&["vz", "parallels"], "virtvzd"),
    (&["network"], "virtnetworkd"),
    (&["secret"], "virtsecretd"),
    (&["storage"], "virtstoraged"),
    (&["nodedev"], "virtnodedevd"),
    (&["interface"], "virtinterfaced"),
    (&["nwfilter"], "virtnwfilterd"),
    (&["qemu"], "virtqemud"),
];

/// The per-driver daemons a root proxy probes for a client that opens the
/// empty URI, in libvirt's order (xen, qemu, lxc, vbox, bhyve, vz; those
/// this project has): the first whose socket exists gets the client, with
/// `SCHEME:///system` as the URI.
const PROBE_ORDER: &[(&str, &str)] = &[
    ("xen", "virtxend"),
    ("qemu", "virtqemud"),
    ("lxc", "virtlxcd"),
    ("vz", "virtvzd"),
];

/// What an unprivileged proxy probes: the session daemons of QEMU and
/// VirtualBox (only QEMU's exists here), opened as `SCHEME:///session`.
const SESSION_PROBE_ORDER: &[(&str, &str)] = &[("qemu", "virtqemud")];

/// Schemes served by the in-process drivers.
pub const LOCAL_SCHEMES: &[&str] = &["test"];

/// Where a CONNECT_OPEN goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// The in-process drivers.
    Local,
    /// The daemon with this socket prefix.
    Daemon(&'static str),
    /// No URI or the empty one: probe the daemons' sockets, else the
    /// local drivers.
    Probe,
}

/// Chooses the back end for a URI (None or "" means "the default").
pub fn route(name: Option<&str>) -> R<Route> {
    let Some(name) = name.filter(|n| !n.is_empty()) else {
        return Ok(Route::Probe);
    };
    let uri = Uri::parse(name).map_err(RemoteError::from)?;
    if LOCAL_SCHEMES.contains(&uri.scheme.as_str()) {
        return Ok(Route::Local);
    }
    for (schemes, prefix) in DAEMONS {
        if schemes.contains(&uri.scheme.as_str()) {
            return Ok(Route::Daemon(prefix));
        }
    }
    Err(RemoteError::new(
        ErrorCode::NoConnect,
        ErrorDomain::None,
        Some(&uri.driver_uri()),
    ))
}

/// One client's connection to its back end.
struct Upstream {
    writer: Mutex<UnixStream>,
}

impl Upstream {
    fn send(&self, bytes: &[u8]) -> std::io::Result<()> {
        let mut w = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        w.write_all(bytes)
    }

    fn shutdown(&self) {
        let w = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let _ = w.shutdown(Shutdown::Both);
    }
}

/// Where a client's calls go once its connection is open.
#[derive(Clone)]
enum Backend {
    /// A per-driver daemon.
    Daemon(Arc<Upstream>),
    /// The in-process drivers, through the client's own remote-program
    /// client.
    Local(Arc<Client<RemoteState>>),
}

/// Per-client state.
pub struct ProxyState {
    readonly: bool,
    backend: Mutex<Option<Backend>>,
}

impl ProxyState {
    fn backend(&self) -> Option<Backend> {
        self.backend
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn set_backend(&self, b: Option<Backend>) -> Option<Backend> {
        std::mem::replace(
            &mut *self.backend.lock().unwrap_or_else(|p| p.into_inner()),
            b,
        )
    }
}

/// The remote-program handler of virtproxyd.
pub struct ProxyHandler {
    sock_dir: PathBuf,
    local: Arc<RemoteHandler>,
    privileged: bool,
}

impl ProxyHandler {
    /// `sock_dir` holds the per-driver daemons' sockets (the proxy's own
    /// socket directory); `local` serves the in-process drivers;
    /// `privileged` (a root proxy) decides which daemons an empty URI
    /// probes.
    pub fn new(sock_dir: PathBuf, local: Arc<RemoteHandler>, privileged: bool) -> Self {
        ProxyHandler {
            sock_dir,
            local,
            privileged,
        }
    }

    /// The daemon an empty URI goes to, as libvirt's proxy probes it: the
    /// first in [`PROBE_ORDER`] whose socket (`-sock-ro` for a read-only
    /// client) exists, with its scheme.
    fn probe(&self, readonly: bool) -> Option<(&'static str, &'static str, &'static str)> {
        if !self.privileged {
            // A session daemon has no read-only socket.
            return SESSION_PROBE_ORDER
                .iter()
                .find(|(_, prefix)| self.sock_dir.join(format!("{prefix}-sock")).exists())
                .map(|&(scheme, prefix)| (scheme, prefix, "session"));
        }
        let suffix = if readonly { "sock-ro" } else { "sock" };
        PROBE_ORDER
            .iter()
            .find(|(_, prefix)| self.sock_dir.join(format!("{prefix}-{suffix}")).exists())
            .map(|&(scheme, prefix)| (scheme, prefix, "system"))
    }

    fn daemon_socket(&self, prefix: &str, readonly: bool) -> PathBuf {
        if readonly {
            let ro = self.sock_dir.join(format!("{prefix}-sock-ro"));
            if ro.exists() {
                return ro;
            }
        }
        self.sock_dir.join(format!("{prefix}-sock"))
    }

    /// The daemon's socket for `route`, connected; `None` for the
    /// in-process drivers.
    fn connect_backend(&self, route: &Route, readonly: bool) -> R<Option<UnixStream>> {
        let connect = |path: &Path| {
            UnixStream::connect(path).map_err(|e| {
                RemoteError::new(
                    ErrorCode::SystemError,
                    ErrorDomain::Rpc,
                    Some(&format!(
                        "Failed to connect socket to '{}': {}",
                        path.display(),
                        os_reason(&e)
                    )),
                )
            })
        };
        match route {
            Route::Local => Ok(None),
            Route::Daemon(prefix) => connect(&self.daemon_socket(prefix, readonly)).map(Some),
            Route::Probe => Ok(None),
        }
    }

    /// CONNECT_OPEN on the in-process drivers: the client gets its own
    /// remote-program client, bound to it once the open succeeds.
    fn open_local(&self, client: &Arc<Client<ProxyState>>, h: &Header, payload: &[u8]) -> Response {
        let info = client.info.clone();
        let inner = client.sharing_output(info.clone(), self.local.new_state(&info));
        let resp = self.local.call(&inner, h, payload, Vec::new());
        match resp {
            Response::Reply(_)
            | Response::ReplyWithFds(..)
            | Response::ReplyThenStream(..)
            | Response::NoReply => {
                client.state.set_backend(Some(Backend::Local(inner)));
            }
            Response::Error(_) => {}
        }
        resp
    }

    /// CONNECT_OPEN: connect the back end, replay the call, relay the
    /// reply; on success the client is bound to the back end.
    fn open(&self, client: &Arc<Client<ProxyState>>, h: &Header, payload: &[u8]) -> R<Response> {
        let mut args: r::ConnectOpenArgs = decode(payload)?;
        let readonly = client.state.readonly;
        let mut route = route(args.name.as_deref())?;
        let mut call = frame(h, payload);
        if route == Route::Probe {
            if let Some((scheme, prefix, kind)) = self.probe(readonly) {
                args.name = Some(format!("{scheme}:///{kind}"));
                call = frame_value(h, &args);
                route = Route::Daemon(prefix);
            }
        }
        let Some(mut sock) = self.connect_backend(&route, readonly)? else {
            return Ok(self.open_local(client, h, payload));
        };
        let io_err = |e: std::io::Error| {
            RemoteError::new(
                ErrorCode::SystemError,
                ErrorDomain::Rpc,
                Some(&format!(
                    "Cannot talk to the driver daemon: {}",
                    os_reason(&e)
                )),
            )
        };
        let (rh, bytes) = dispatch::call_raw(&mut sock, h, &call).map_err(io_err)?;
        if rh.status == Status::Ok as i32 {
            // The daemon serves the connection as the client, not as us.
            let ident = dispatch::connection_identity(&client.info, &client.auth);
            dispatch::forward_identity(&mut sock, &ident)?;
        }
        if rh.status == Status::Ok as i32 {
            let reader = sock.try_clone().map_err(io_err)?;
            let up = Arc::new(Upstream {
                writer: Mutex::new(sock),
            });
            client.state.set_backend(Some(Backend::Daemon(up.clone())));
            let c = client.clone();
            let spawned = std::thread::Builder::new()
                .name("proxy-relay".into())
                .spawn(move || relay_from_backend(reader, up, c));
            if let Err(e) = spawned {
                client.state.set_backend(None);
                return Err(io_err(e));
            }
        }
        client.send(bytes);
        Ok(Response::NoReply)
    }
}

fn os_reason(err: &std::io::Error) -> String {
    virterror::os_error_text(err)
}

fn decode<T: Xdr>(payload: &[u8]) -> R<T> {
    protocol::procs::decode_args(payload)
}

fn not_open() -> RemoteError {
    RemoteError::new(
        ErrorCode::InternalError,
        ErrorDomain::Rpc,
        Some("connection not open"),
    )
}

/// Copies what the back end sends to the client until either side goes.
fn relay_from_backend(mut sock: UnixStream, up: Arc<Upstream>, client: Arc<Client<ProxyState>>) {
    loop {
        if client.is_closing() {
            break;
        }
        let Ok((h, bytes)) = read_raw_frame(&mut sock) else {
            break;
        };
        if h.prog == keepalive::PROGRAM {
            if h.proc_ == keepalive::PROC_PING && up.send(&pong()).is_err() {
                break;
            }
            continue;
        }
        if h.message_type() == Some(MessageType::ReplyWithFds) {
            // The descriptors follow the frame, one per single-byte message.
            let n = bytes
                .get(4 + HEADER_SIZE..8 + HEADER_SIZE)
                .and_then(|b| <[u8; 4]>::try_from(b).ok())
                .map_or(0, u32::from_be_bytes) as usize;
            if n > protocol::header::NUM_FDS_MAX {
                break;
            }
            let mut fds = Vec::with_capacity(n);
            while fds.len() < n {
                let mut one = [0u8; 1];
                match host::fd::recv_with_fds(sock.as_fd(), &mut one) {
                    Ok((1, got)) => fds.extend(got),
                    _ => break,
                }
            }
            if fds.len() != n {
                break;
            }
            if client.info.transport == rpc::Transport::Unix {
                if !client.send_with_fds(bytes, fds) {
                    break;
                }
            } else {
                let mut call = h;
                call.type_ = MessageType::Call as i32;
                let e = RemoteError::new(
                    ErrorCode::OperationUnsupported,
                    ErrorDomain::Rpc,
                    Some("file descriptors can only be passed over a local socket"),
                );
                rpc::server::send_error(&client, &call, &e);
            }
            continue;
        }
        if !client.send(bytes) {
            break;
        }
    }
    up.shutdown();
    client.close();
}

impl Handler for ProxyHandler {
    type State = ProxyState;

    fn accepts(&self, prog: u32, vers: u32) -> bool {
        (prog == r::PROGRAM && vers == r::PROTOCOL_VERSION)
            || (prog == protocol::lxc::PROGRAM && vers == protocol::lxc::PROTOCOL_VERSION)
    }

    fn new_state(&self, info: &ClientInfo) -> ProxyState {
        ProxyState {
            readonly: info.readonly,
            backend: Mutex::new(None),
        }
    }

    fn mode(&self, h: &Header) -> CallMode {
        if h.prog != r::PROGRAM {
            return CallMode::Worker;
        }
        match P::from_i32(h.proc_) {
            Some(P::ConnectSupportsFeature) => CallMode::Inline,
            Some(p) if p.info().high_priority => CallMode::Priority,
            _ => CallMode::Worker,
        }
    }

    fn call(
        &self,
        client: &Arc<Client<ProxyState>>,
        h: &Header,
        payload: &[u8],
        fds: Vec<OwnedFd>,
    ) -> Response {
        let proc_ = (h.prog == r::PROGRAM)
            .then(|| P::from_i32(h.proc_))
            .flatten();
        if proc_ == Some(P::ConnectSupportsFeature) {
            return match decode::<r::ConnectSupportsFeatureArgs>(payload) {
                Ok(a) => {
                    if a.feature == 10 {
                        client.start_keepalive();
                    }
                    Response::Reply(to_bytes(&r::ConnectSupportsFeatureRet {
                        supported: i32::from(feature_supported(a.feature)),
                    }))
                }
                Err(e) => Response::Error(e),
            };
        }
        if let Some(Backend::Local(inner)) = client.state.backend() {
            return self.local.call(&inner, h, payload, fds);
        }
        if let Some(Backend::Daemon(up)) = client.state.backend() {
            return match up.send(&frame(h, payload)) {
                Ok(()) => Response::NoReply,
                Err(e) => {
                    client.close();
                    Response::Error(RemoteError::new(
                        ErrorCode::SystemError,
                        ErrorDomain::Rpc,
                        Some(&format!("Cannot write data: {}", os_reason(&e))),
                    ))
                }
            };
        }
        match proc_ {
            Some(P::ConnectOpen) => match self.open(client, h, payload) {
                Ok(r) => r,
                Err(e) => Response::Error(e),
            },
            Some(P::ConnectClose) => Response::Reply(Vec::new()),
            _ => Response::Error(not_open()),
        }
    }

    fn stream(&self, client: &Arc<Client<ProxyState>>, h: &Header, payload: &[u8]) {
        match client.state.backend() {
            Some(Backend::Daemon(up)) if up.send(&frame(h, payload)).is_err() => client.close(),
            Some(Backend::Daemon(_)) => {}
            Some(Backend::Local(inner)) => self.local.stream(&inner, h, payload),
            None => {}
        }
    }

    fn closed(&self, client: &Arc<Client<ProxyState>>) {
        match client.state.set_backend(None) {
            Some(Backend::Daemon(up)) => up.shutdown(),
            Some(Backend::Local(inner)) => self.local.closed(&inner),
            None => {}
        }
    }
}

/// Features the proxy reports: the same as the daemons it relays to.
fn feature_supported(f: i32) -> bool {
    // REMOTE=2, FD_PASSING=8 (descriptors in replies are relayed),
    // TYPED_PARAM_STRING=9, PROGRAM_KEEPALIVE=10, REMOTE_CLOSE_CALLBACK=14,
    // REMOTE_EVENT_CALLBACK=15, NETWORK_UPDATE_HAS_CORRECT_ORDER=16.
    matches!(f, 2 | 8 | 9 | 10 | 14 | 15 | 16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn network_uri_goes_to_virtnetworkd() {
        assert_eq!(
            route(Some("network:///system")).ok(),
            Some(Route::Daemon("virtnetworkd"))
        );
    }

    #[test]
    fn lxc_uri_goes_to_virtlxcd() {
        assert_eq!(
            route(Some("lxc:///system")).ok(),
            Some(Route::Daemon("virtlxcd"))
        );
    }

    #[test]
    fn xen_and_vz_uris_go_to_their_daemons() {
        assert_eq!(
            route(Some("xen:///system")).ok(),
            Some(Route::Daemon("virtxend"))
        );
        assert_eq!(
            route(Some("vz:///system")).ok(),
            Some(Route::Daemon("virtvzd"))
        );
    }

    #[test]
    fn test_uri_is_served_locally() {
        assert_eq!(route(Some("test:///default")).ok(), Some(Route::Local));
    }

    #[test]
    fn missing_uri_probes() {
        assert_eq!(route(None).ok(), Some(Route::Probe));
        assert_eq!(route(Some("")).ok(), Some(Route::Probe));
    }

    #[test]
    fn secondary_and_qemu_uris_go_to_their_daemons() {
        for (uri, daemon) in [
            ("storage:///system", "virtstoraged"),
            ("nodedev:///system", "virtnodedevd"),
            ("interface:///system", "virtinterfaced"),
            ("nwfilter:///system", "virtnwfilterd"),
            ("secret:///system", "virtsecretd"),
            ("qemu:///system", "virtqemud"),
            ("qemu:///session", "virtqemud"),
        ] {
            assert_eq!(route(Some(uri)).ok(), Some(Route::Daemon(daemon)), "{uri}");
        }
    }

    #[test]
    fn unknown_scheme_has_no_driver() {
        let e = route(Some("bhyve:///system")).err();
        assert_eq!(
            e.map(|e| e.message),
            Some("no connection driver available for bhyve:///system".to_string())
        );
    }

    #[test]
    fn features_match_the_daemons() {
        assert!(feature_supported(8));
        assert!(feature_supported(10));
        assert!(!feature_supported(1));
    }
}

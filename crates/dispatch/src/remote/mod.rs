// SPDX-License-Identifier: LGPL-2.1-or-later
//! The remote program (0x20008086), the lxc program (0x00068000) and the
//! QEMU program (0x20008087): the
//! handler the RPC server calls, the read-only check, where each call runs,
//! and [`Call`], what a procedure's method is given.
//!
//! A call: procedure number → read-only check ([`check_access`]) → the
//! program's generated `call` (`protocol::procs`), which decodes the
//! arguments, calls the procedure's method on [`Call`] and encodes what it
//! returns → the reply, sent with descriptors or followed by a stream when
//! the method asked for that ([`Call::reply_with_fds`],
//! [`Call::reply_then_stream`]).
//!
//! The methods are those of the family traits generated from the protocol
//! tables, one file per family: `connect`, `domain`, `network`, `storage`,
//! `nodedev`, `interface`, `secret`, `lxc` for the lxc program and `qemu`
//! for the QEMU program. A
//! procedure no family file implements keeps the trait's default,
//! libvirt's "not supported"; network filters are served by no driver
//! here and implement nothing.
//!
//! Module dependencies point one way: the family files use this module;
//! this module uses `state`; `state` holds the part `events` manages,
//! which knows no client state but its own part. Data streams are the RPC
//! layer's (`rpc::stream`): a method only hands over the descriptor.

use std::cell::Cell;
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use driver::{Connection, Registry};
use protocol::header::Header;
use protocol::procs::RemoteNwfilter;
use protocol::remote as r;
use protocol::{ErrorCode, ErrorDomain, LxcProc, ProcInfo, QemuProc, RemoteError, RemoteProc as P};
use rpc::{CallMode, Client, ClientInfo, Handler, Response};

mod connect;
mod domain;
mod events;
mod interface;
mod lxc;
mod migrate;
mod network;
mod nodedev;
mod qemu;
mod relay;
mod secret;
mod state;
mod storage;

use events::{Kind, Registration};
pub use relay::{
    call_raw, connection_identity, families_of_daemon, forward_identity, pong, read_raw_frame,
    reply_error, Secondary, HYPERVISOR_FAMILIES,
};
pub use state::RemoteState;

/// What a procedure's method returns: its reply, or the error to send.
pub(crate) type R<T> = Result<T, RemoteError>;

/// Serves the remote program (and the lxc program) for one daemon.
pub struct RemoteHandler {
    registry: Registry,
    /// Guests and connections counted for the idle timeout.
    pub opened: AtomicUsize,
    /// The families answered by other daemons (a per-driver daemon's
    /// secondary drivers), if any.
    secondary: Option<Secondary>,
}

impl RemoteHandler {
    pub fn new(registry: Registry) -> Self {
        RemoteHandler {
            registry,
            opened: Default::default(),
            secondary: None,
        }
    }

    /// Relays the calls of `secondary.families` to their daemons (see
    /// [`Secondary`]) instead of answering them here.
    pub fn with_secondary(mut self, secondary: Secondary) -> Self {
        self.secondary = Some(secondary).filter(|s| !s.families.is_empty());
        self
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Drops the client's connection, its streams and its event
    /// subscription (ConnectClose, or the client went away).
    fn release(&self, client: &Client<RemoteState>) {
        client.close_streams();
        client.state.links.close_all();
        let conn = client.state.conn.write().ok().and_then(|mut c| c.take());
        let secret = client
            .state
            .secret_conn
            .write()
            .ok()
            .and_then(|mut c| c.take());
        if let Some(secret) = secret {
            if let Some(tok) = client
                .state
                .events
                .lock()
                .ok()
                .and_then(|mut e| e.secret_token.take())
            {
                secret.unsubscribe(tok);
            }
        }
        let storage = client
            .state
            .storage_conn
            .write()
            .ok()
            .and_then(|mut c| c.take());
        if let Some(storage) = storage {
            if let Some(tok) = client
                .state
                .events
                .lock()
                .ok()
                .and_then(|mut e| e.storage_token.take())
            {
                storage.unsubscribe(tok);
            }
        }
        let nodedev = client
            .state
            .nodedev_conn
            .write()
            .ok()
            .and_then(|mut c| c.take());
        if let Some(nodedev) = nodedev {
            if let Some(tok) = client
                .state
                .events
                .lock()
                .ok()
                .and_then(|mut e| e.nodedev_token.take())
            {
                nodedev.unsubscribe(tok);
            }
        }
        if let Ok(mut c) = client.state.iface_conn.write() {
            c.take();
        }
        let net = client
            .state
            .net_conn
            .write()
            .ok()
            .and_then(|mut c| c.take());
        if let Some(net) = net {
            if let Some(tok) = client
                .state
                .events
                .lock()
                .ok()
                .and_then(|mut e| e.net_token.take())
            {
                net.unsubscribe(tok);
            }
        }
        if let Some(conn) = conn {
            if let Some(tok) = client
                .state
                .events
                .lock()
                .ok()
                .and_then(|mut e| e.token.take())
            {
                conn.unsubscribe(tok);
            }
            self.opened.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

impl Handler for RemoteHandler {
    type State = RemoteState;

    fn accepts(&self, prog: u32, vers: u32) -> bool {
        (prog == r::PROGRAM && vers == r::PROTOCOL_VERSION)
            || (prog == protocol::lxc::PROGRAM && vers == protocol::lxc::PROTOCOL_VERSION)
            || (prog == protocol::qemu::PROGRAM && vers == protocol::qemu::PROTOCOL_VERSION)
    }

    fn new_state(&self, info: &ClientInfo) -> RemoteState {
        RemoteState::new(info.readonly)
    }

    fn mode(&self, h: &Header) -> CallMode {
        if h.prog != r::PROGRAM {
            return CallMode::Worker;
        }
        let Some(p) = P::from_i32(h.proc_) else {
            return CallMode::Worker;
        };
        let info = p.info();
        if !info.high_priority {
            CallMode::Worker
        } else if info.readonly_ok {
            // High-priority reads never wait on a guest: answer them on the
            // connection task, skipping the worker hand-off. Listings
            // included: the drivers copy a snapshot without formatting XML
            // (10,000 domains cost about 2 ms of daemon CPU), and handing
            // them to a worker measured slower (+0.7 ms median at 10,000
            // domains); a listing holds only its own connection.
            CallMode::Inline
        } else {
            CallMode::Priority
        }
    }

    fn call(
        &self,
        client: &Arc<Client<RemoteState>>,
        h: &Header,
        payload: &[u8],
        _fds: Vec<OwnedFd>,
    ) -> Response {
        if let Some(sec) = &self.secondary {
            if let Some(family) = sec.relayed_family(h) {
                let relayed = P::from_i32(h.proc_)
                    .ok_or_else(|| unknown_procedure(h.proc_))
                    .and_then(|p| check_access(client, p.info()))
                    .and_then(|()| {
                        let open = client.state.conn.read().map(|c| c.is_some());
                        if open.unwrap_or(false) {
                            Ok(())
                        } else {
                            Err(not_open())
                        }
                    })
                    .and_then(|()| sec.call(client, family, h, payload));
                return match relayed {
                    Ok(()) => Response::NoReply,
                    Err(e) => Response::Error(e),
                };
            }
        }
        let call = Call {
            handler: self,
            client,
            extra: Cell::new(Extra::None),
        };
        // The drivers see the identity the client forwarded, if any.
        let ident = client.state.identity.read().ok().and_then(|i| i.clone());
        let result = driver::identity::with_current(ident, || {
            if h.prog == protocol::lxc::PROGRAM {
                LxcProc::from_i32(h.proc_)
                    .ok_or_else(|| unknown_procedure(h.proc_))
                    .and_then(|p| {
                        check_access(client, p.info())?;
                        p.call(&call, payload)
                    })
            } else if h.prog == protocol::qemu::PROGRAM {
                QemuProc::from_i32(h.proc_)
                    .ok_or_else(|| unknown_procedure(h.proc_))
                    .and_then(|p| {
                        check_access(client, p.info())?;
                        p.call(&call, payload)
                    })
            } else {
                P::from_i32(h.proc_)
                    .ok_or_else(|| unknown_procedure(h.proc_))
                    .and_then(|p| {
                        check_access(client, p.info())?;
                        p.call(&call, payload).map_err(|e| as_called(e, p.info()))
                    })
            }
        });
        match result {
            Ok(reply) => call.respond(reply),
            Err(e) => Response::Error(e),
        }
    }

    fn stream(&self, client: &Arc<Client<RemoteState>>, h: &Header, payload: &[u8]) {
        if let Some(sec) = &self.secondary {
            if let Some(family) = sec.relayed_family(h) {
                if sec.stream(client, family, h, payload) {
                    return;
                }
            }
        }
        // The RPC layer routes messages of open streams itself; this one's
        // stream has ended (or never was).
        rpc::stream::answer_unknown(client, h);
    }

    fn closed(&self, client: &Arc<Client<RemoteState>>) {
        self.release(client);
    }
}

/// A driver without the call answers "not supported" naming the public
/// API the client called, as libvirt's entry point does, even where one
/// driver method serves several procedures (virDomainSetVcpus and
/// virDomainSetVcpusFlags, ...).
fn as_called(e: RemoteError, info: ProcInfo) -> RemoteError {
    let other_api = e
        .str2
        .as_deref()
        .is_some_and(|a| a.starts_with("vir") && !a.contains(' ') && a != info.api);
    if e.code == ErrorCode::NoSupport as i32 && !info.api.is_empty() && other_api {
        protocol::procs::not_supported(info)
    } else {
        e
    }
}

/// The read-only check: a client of the read-only socket may call only
/// what the table marks `ro`.
fn check_access(client: &Client<RemoteState>, info: ProcInfo) -> R<()> {
    if client.state.readonly && !info.readonly_ok {
        return Err(RemoteError::new(
            ErrorCode::OperationDenied,
            // Refused by the public API's entry, from its file's domain.
            ErrorDomain::of_api(info.api),
            Some(&format!("read only access prevents {}", info.api)),
        ));
    }
    Ok(())
}

fn unknown_procedure(n: i32) -> RemoteError {
    RemoteError::new(
        ErrorCode::Rpc,
        ErrorDomain::Rpc,
        Some(&format!("unknown procedure: {n}")),
    )
}

/// One call being served: what a procedure's method may use.
pub(crate) struct Call<'a> {
    handler: &'a RemoteHandler,
    client: &'a Arc<Client<RemoteState>>,
    /// What the reply carries besides its payload.
    extra: Cell<Extra>,
}

/// Set by the few procedures whose reply is more than a payload.
#[derive(Default)]
enum Extra {
    #[default]
    None,
    /// Descriptors sent with the reply.
    Fds(Vec<OwnedFd>),
    /// A stream to start once the reply is queued: the reply must precede
    /// the stream's first message.
    Stream(rpc::stream::Pending),
}

impl<'a> Call<'a> {
    fn state(&self) -> &'a RemoteState {
        &self.client.state
    }

    /// The client's driver connection, opened by ConnectOpen.
    fn conn(&self) -> R<Arc<dyn Connection>> {
        self.state()
            .conn
            .read()
            .ok()
            .and_then(|c| c.clone())
            .ok_or_else(not_open)
    }

    /// The connection that answers the client's network calls: the shared
    /// network driver's, else the client's own.
    fn net_conn(&self) -> R<Arc<dyn Connection>> {
        let shared = self.state().net_conn.read().ok().and_then(|c| c.clone());
        match shared {
            Some(c) => Ok(c),
            None => self.conn(),
        }
    }

    /// `f` on the connection answering network calls.
    fn network<T>(&self, f: impl FnOnce(&dyn Connection) -> driver::Result<T>) -> R<T> {
        f(&*self.net_conn()?).map_err(wire)
    }

    /// `f` on the connection answering secret calls: the shared secret
    /// driver's, else the client's own.
    fn secret<T>(&self, f: impl FnOnce(&dyn Connection) -> driver::Result<T>) -> R<T> {
        let shared = self.state().secret_conn.read().ok().and_then(|c| c.clone());
        match shared {
            Some(c) => f(&*c).map_err(wire),
            None => f(&*self.conn()?).map_err(wire),
        }
    }

    /// `f` on the connection answering storage calls: the shared storage
    /// driver's, else the client's own.
    fn storage<T>(&self, f: impl FnOnce(&dyn Connection) -> driver::Result<T>) -> R<T> {
        let shared = self
            .state()
            .storage_conn
            .read()
            .ok()
            .and_then(|c| c.clone());
        match shared {
            Some(c) => f(&*c).map_err(wire),
            None => f(&*self.conn()?).map_err(wire),
        }
    }

    /// `f` on the connection answering node device calls: the shared node
    /// device driver's, else the client's own.
    fn nodedev<T>(&self, f: impl FnOnce(&dyn Connection) -> driver::Result<T>) -> R<T> {
        let shared = self
            .state()
            .nodedev_conn
            .read()
            .ok()
            .and_then(|c| c.clone());
        match shared {
            Some(c) => f(&*c).map_err(wire),
            None => f(&*self.conn()?).map_err(wire),
        }
    }

    /// `f` on the connection answering host interface calls: the shared
    /// interface driver's, else the client's own.
    fn iface<T>(&self, f: impl FnOnce(&dyn Connection) -> driver::Result<T>) -> R<T> {
        let shared = self.state().iface_conn.read().ok().and_then(|c| c.clone());
        match shared {
            Some(c) => f(&*c).map_err(wire),
            None => f(&*self.conn()?).map_err(wire),
        }
    }

    /// `f` on the client's driver connection, its error as the client
    /// gets it.
    fn driver<T>(&self, f: impl FnOnce(&dyn Connection) -> driver::Result<T>) -> R<T> {
        f(&*self.conn()?).map_err(wire)
    }

    /// Send `fds` with the reply.
    fn reply_with_fds(&self, fds: Vec<OwnedFd>) {
        self.extra.set(Extra::Fds(fds));
    }

    /// Start the stream once the reply is queued.
    fn reply_then_stream(&self, stream: rpc::stream::Pending) {
        self.extra.set(Extra::Stream(stream));
    }

    fn respond(self, reply: Vec<u8>) -> Response {
        match self.extra.take() {
            Extra::None => Response::Reply(reply),
            Extra::Fds(fds) => Response::ReplyWithFds(reply, fds),
            Extra::Stream(stream) => Response::ReplyThenStream(reply, stream),
        }
    }

    /// Adds an event registration; the first one subscribes the client to
    /// its connection's events. Returns the callback id.
    fn register(&self, kind: Kind, event_id: i32, filter: Option<Vec<u8>>) -> R<i32> {
        let conn = self.conn()?;
        let shared_net = match kind {
            Kind::Network => self.state().net_conn.read().ok().and_then(|c| c.clone()),
            _ => None,
        };
        let shared_secret = match kind {
            Kind::Secret => self.state().secret_conn.read().ok().and_then(|c| c.clone()),
            _ => None,
        };
        let shared_storage = match kind {
            Kind::StoragePool => self
                .state()
                .storage_conn
                .read()
                .ok()
                .and_then(|c| c.clone()),
            _ => None,
        };
        let shared_nodedev = match kind {
            Kind::NodeDevice => self
                .state()
                .nodedev_conn
                .read()
                .ok()
                .and_then(|c| c.clone()),
            _ => None,
        };
        let regs = &self.state().events;
        let mut ev = regs.lock().map_err(|_| not_open())?;
        if let Some(nd) = shared_nodedev {
            if ev.nodedev_token.is_none() {
                ev.nodedev_token =
                    nd.subscribe(events::sink(Arc::downgrade(self.client), regs.clone()));
            }
        } else if let Some(sto) = shared_storage {
            if ev.storage_token.is_none() {
                ev.storage_token =
                    sto.subscribe(events::sink(Arc::downgrade(self.client), regs.clone()));
            }
        } else if let Some(sec) = shared_secret {
            if ev.secret_token.is_none() {
                ev.secret_token =
                    sec.subscribe(events::sink(Arc::downgrade(self.client), regs.clone()));
            }
        } else if let Some(net) = shared_net {
            if ev.net_token.is_none() {
                ev.net_token =
                    net.subscribe(events::sink(Arc::downgrade(self.client), regs.clone()));
            }
        } else if ev.token.is_none() {
            ev.token = conn.subscribe(events::sink(Arc::downgrade(self.client), regs.clone()));
        }
        Ok(ev.add(kind, event_id, filter))
    }

    /// Removes the first registration `pred` picks; whether there was one.
    fn deregister(&self, pred: impl Fn(&Registration) -> bool) -> R<bool> {
        self.conn()?;
        let mut ev = self.state().events.lock().map_err(|_| not_open())?;
        Ok(ev.remove(pred))
    }

    /// Removes the registration with callback id `id`.
    fn deregister_id(&self, id: i32) -> R<()> {
        if !self.deregister(|reg| reg.id == id)? {
            return Err(RemoteError::new(
                ErrorCode::InvalidArg,
                ErrorDomain::Rpc,
                Some(&format!("callback ID {id} not registered")),
            ));
        }
        Ok(())
    }
}

// No driver here serves network filters: every procedure of this family
// answers "not supported".
impl RemoteNwfilter for Call<'_> {}

/// A driver's error as the client gets it.
fn wire(e: driver::Error) -> RemoteError {
    RemoteError::from(e)
}

fn not_open() -> RemoteError {
    RemoteError::new(
        ErrorCode::InternalError,
        ErrorDomain::Rpc,
        Some("connection not open"),
    )
}

/// The protocol's bound on a list, checked before the list is encoded.
fn limit_check(n: usize, max: u32, what: &str) -> R<()> {
    if n > max as usize {
        return Err(RemoteError::new(
            ErrorCode::Rpc,
            ErrorDomain::Rpc,
            Some(&format!("Too many {what} '{n}' for limit '{max}'")),
        ));
    }
    Ok(())
}

/// The reply of a virConnectListAll* style call: the objects, converted,
/// when the client asks for them (`need_results`), and their number.
fn list_all<T, W>(
    v: Vec<T>,
    need_results: i32,
    max: u32,
    what: &str,
    out: impl Fn(T) -> W,
) -> R<(Vec<W>, u32)> {
    limit_check(v.len(), max, what)?;
    let n = v.len() as u32;
    let items = if need_results != 0 {
        v.into_iter().map(out).collect()
    } else {
        Vec::new()
    };
    Ok((items, n))
}

/// The reply of an old-style name listing: sorted, at most `max`.
fn names_of<T>(v: Vec<T>, max: i32, f: impl Fn(T) -> String) -> Vec<String> {
    let mut names: Vec<String> = v.into_iter().map(f).collect();
    names.sort();
    names.truncate(max.max(0) as usize);
    names
}

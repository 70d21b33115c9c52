// SPDX-License-Identifier: LGPL-2.1-or-later
//! The RPC server: accepts connections, reads frames, answers keepalive
//! on the connection task, and runs calls inline or on the worker pools.

use std::collections::HashMap;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use protocol::header::{frame, frame_value, Header, MessageType, Status};
use protocol::{keepalive, ErrorCode, ErrorDomain, RemoteError};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, Notify, OwnedSemaphorePermit, Semaphore};

use crate::auth::{self, AuthConfig, AuthScheme, ClientAuth, SaslLayer, SaslReader};
use crate::frame::{read_frame, ReadError};
use std::net::SocketAddr;

/// How a client reached us (virClientTransport numbering).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Unix = 0,
    Tcp = 1,
    Tls = 2,
}

/// What the server knows about a connected client.
#[derive(Debug, Clone)]
pub struct ClientInfo {
    pub id: u64,
    pub readonly: bool,
    pub transport: Transport,
    /// Seconds since the epoch when the connection was accepted.
    pub connected_at: i64,
    pub peer_pid: Option<i32>,
    pub peer_uid: Option<u32>,
    pub peer_gid: Option<u32>,
    pub addr: Option<String>,
    /// Our end and the peer's end of a TCP connection.
    pub local_addr: Option<SocketAddr>,
    pub peer_addr: Option<SocketAddr>,
    /// Key size in bits of the negotiated TLS cipher (SASL's external
    /// security strength).
    pub tls_key_bits: Option<u32>,
    /// The scheme of the listener the client came through.
    pub auth: AuthScheme,
    /// The SASL user name, once authenticated (filled in when clients
    /// are listed: see [`Server::client_infos`]).
    pub sasl_user_name: Option<String>,
    /// The identity the client forwarded with ConnectSetIdentity (a daemon
    /// calling on behalf of its own client), which libvirt reports instead
    /// of the connection's (filled in as `sasl_user_name` is).
    pub forwarded: Option<crate::auth::ForwardedIdentity>,
}

impl ClientInfo {
    /// A client of a local, unauthenticated-by-design connection (tests,
    /// in-process handlers): no peer details, auth "none".
    pub fn local(id: u64, readonly: bool) -> Self {
        ClientInfo {
            id,
            readonly,
            transport: Transport::Unix,
            connected_at: 0,
            peer_pid: None,
            peer_uid: None,
            peer_gid: None,
            addr: None,
            local_addr: None,
            peer_addr: None,
            tls_key_bits: None,
            auth: AuthScheme::None,
            sasl_user_name: None,
            forwarded: None,
        }
    }
}

/// Decides, after a TLS handshake, whether a client may stay: it gets the
/// client's certificate chain (DER, leaf first; empty if none was sent).
pub type PeerCheck = Arc<dyn Fn(&[Vec<u8>]) -> bool + Send + Sync>;

/// The TLS credentials a listener hands new connections; replacing the
/// acceptor inside (virt-admin server-update-tls) changes them for the
/// connections accepted afterwards only.
pub type SharedAcceptor = Arc<RwLock<tokio_rustls::TlsAcceptor>>;

/// A summary of one client for the admin program.
pub type ClientSummary = ClientInfo;

/// Server limits; names and defaults are libvirtd.conf's.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_clients: usize,
    pub max_anonymous_clients: usize,
    pub min_workers: usize,
    pub max_workers: usize,
    pub prio_workers: usize,
    pub max_client_requests: usize,
    /// Seconds between keepalive probes; -1 disables keepalive.
    pub keepalive_interval: i32,
    pub keepalive_count: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_clients: 5000,
            max_anonymous_clients: 20,
            min_workers: 5,
            max_workers: 20,
            prio_workers: 5,
            max_client_requests: 5,
            keepalive_interval: 5,
            keepalive_count: 5,
        }
    }
}

/// Where a call runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallMode {
    /// On the connection task: only for calls that never wait.
    Inline,
    /// On the normal worker pool.
    Worker,
    /// On a normal worker if one is free, else on the priority pool.
    Priority,
}

/// The outcome of a call.
pub enum Response {
    /// Encoded reply payload.
    Reply(Vec<u8>),
    /// Encoded reply payload and file descriptors to pass after it.
    ReplyWithFds(Vec<u8>, Vec<OwnedFd>),
    /// Encoded reply payload, then a stream relaying the descriptor (the
    /// RPC layer runs it: [`crate::stream`]).
    ReplyThenStream(Vec<u8>, crate::stream::Pending),
    Error(RemoteError),
    /// The handler has sent (or will send) the reply itself.
    NoReply,
}

/// What a program implementation provides to the server.
pub trait Handler: Send + Sync + 'static {
    /// Per-client state owned by the handler.
    type State: Send + Sync + 'static;

    /// Whether this handler serves program `prog` version `vers`.
    fn accepts(&self, prog: u32, vers: u32) -> bool;
    fn new_state(&self, info: &ClientInfo) -> Self::State;
    fn mode(&self, header: &Header) -> CallMode;
    fn call(
        &self,
        client: &Arc<Client<Self::State>>,
        header: &Header,
        payload: &[u8],
        fds: Vec<OwnedFd>,
    ) -> Response;
    /// A STREAM message from the client.
    fn stream(&self, _client: &Arc<Client<Self::State>>, _header: &Header, _payload: &[u8]) {}
    /// The connection is gone: release what the client held.
    fn closed(&self, _client: &Arc<Client<Self::State>>) {}
}

enum Out {
    Frame(Vec<u8>),
    WithFds(Vec<u8>, Vec<OwnedFd>),
    /// Everything queued before this has been written in clear: what
    /// follows goes through the SASL security layer.
    SaslOn,
    /// Everything queued before this has been written: stop.
    Close,
}

/// Bytes a client may have queued for sending before it is considered
/// stuck and dropped (events pile up for a client that never reads).
const MAX_QUEUED_BYTES: usize = 256 << 20;
/// Bytes of received calls a client may have waiting for a worker; past
/// this the connection stops reading until some finish.
const MAX_PENDING_BYTES: usize = 64 << 20;
/// Receive buffer of a connection; larger bodies are read straight into
/// their own buffer.
const READ_BUFFER: usize = 8 << 10;

/// One connected client.
pub struct Client<S> {
    pub info: ClientInfo,
    pub state: S,
    /// Where the client stands with authentication.
    pub auth: ClientAuth,
    /// The data streams of this client's calls.
    streams: crate::stream::Streams,
    /// The connection's sending side, shared with the clients that
    /// [`Client::sharing_output`] makes.
    link: Arc<Link>,
    keepalive: AtomicBool,
    /// Milliseconds since the epoch of the last message received.
    last_rx: AtomicU64,
}

/// What the clients of one connection share: the queue of frames to
/// send, its byte count, and closing.
struct Link {
    out: mpsc::UnboundedSender<Out>,
    queued: AtomicUsize,
    closing: AtomicBool,
    close_notify: Notify,
    /// Woken whenever queued frames have been written (or on close).
    drained: Notify,
}

impl Link {
    fn new(out: mpsc::UnboundedSender<Out>) -> Arc<Link> {
        Arc::new(Link {
            out,
            queued: AtomicUsize::new(0),
            closing: AtomicBool::new(false),
            close_notify: Notify::new(),
            drained: Notify::new(),
        })
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl<S> Client<S> {
    /// Queue a whole frame for sending. Returns false if the client is gone.
    pub fn send(&self, frame: Vec<u8>) -> bool {
        self.enqueue(Out::Frame(frame))
    }

    /// Queue a whole frame followed by descriptors (a REPLY_WITH_FDS that
    /// is already framed, as a relay has it). Only a Unix-socket client can
    /// receive them. Returns false if the client is gone.
    pub fn send_with_fds(&self, frame: Vec<u8>, fds: Vec<OwnedFd>) -> bool {
        self.enqueue(Out::WithFds(frame, fds))
    }

    fn enqueue(&self, out: Out) -> bool {
        if self.link.closing.load(Ordering::Relaxed) {
            return false;
        }
        let n = match &out {
            Out::Frame(f) | Out::WithFds(f, _) => f.len(),
            Out::Close | Out::SaslOn => 0,
        };
        if self.link.queued.fetch_add(n, Ordering::Relaxed) + n > MAX_QUEUED_BYTES {
            self.close();
            return false;
        }
        self.link.out.send(out).is_ok()
    }

    /// Ask the connection to close (virt-admin client-disconnect, errors).
    pub fn close(&self) {
        self.link.closing.store(true, Ordering::Relaxed);
        self.link.close_notify.notify_waiters();
        self.link.close_notify.notify_one();
        self.link.drained.notify_waiters();
    }

    /// Bytes queued for sending and not yet written.
    pub fn queued_bytes(&self) -> usize {
        self.link.queued.load(Ordering::Relaxed)
    }

    /// Waits until at most `limit` bytes are queued for sending, or the
    /// client is closing: a producer that can wait (a stream relay) keeps
    /// pace with what the client reads.
    pub async fn wait_queue_below(&self, limit: usize) {
        loop {
            let drained = self.link.drained.notified();
            tokio::pin!(drained);
            drained.as_mut().enable();
            if self.link.queued.load(Ordering::Relaxed) <= limit || self.is_closing() {
                return;
            }
            drained.await;
        }
    }

    pub fn is_closing(&self) -> bool {
        self.link.closing.load(Ordering::Relaxed)
    }

    /// A client that sends through this one's connection and closes with
    /// it (virtproxyd serving a driver in-process for a connected client):
    /// what a handler sends to the returned client goes to this client's
    /// peer; closing either closes the connection.
    pub fn sharing_output<T>(&self, info: ClientInfo, state: T) -> Arc<Client<T>> {
        Arc::new(Client {
            auth: ClientAuth::new(AuthScheme::None, None),
            streams: Default::default(),
            info,
            state,
            link: self.link.clone(),
            keepalive: AtomicBool::new(false),
            last_rx: AtomicU64::new(now_ms()),
        })
    }

    /// Stops every data stream of this client (its driver connection was
    /// closed).
    pub fn close_streams(&self) {
        self.streams.close_all();
    }

    /// Start sending keepalive probes (the client said it understands them).
    pub fn start_keepalive(&self) {
        self.keepalive.store(true, Ordering::Relaxed);
    }
}

/// The frames a [`Client::detached`] client has queued for sending.
pub struct Outbox<S> {
    rx: mpsc::UnboundedReceiver<Out>,
    client: Arc<Client<S>>,
}

impl<S> Outbox<S> {
    /// Takes every whole frame queued so far (descriptors are dropped).
    pub fn drain(&mut self) -> Vec<Vec<u8>> {
        let mut frames = Vec::new();
        while let Ok(out) = self.rx.try_recv() {
            match out {
                Out::Frame(f) | Out::WithFds(f, _) => {
                    self.client
                        .link
                        .queued
                        .fetch_sub(f.len(), Ordering::Relaxed);
                    frames.push(f);
                }
                Out::Close | Out::SaslOn => {}
            }
        }
        frames
    }
}

impl<S> Client<S> {
    /// A client with no socket behind it, for driving a [`Handler`]
    /// directly (in-process tests, fuzzing): what the handler sends to it
    /// is collected in the returned [`Outbox`].
    pub fn detached(info: ClientInfo, state: S) -> (Arc<Client<S>>, Outbox<S>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let client = Arc::new(Client {
            auth: ClientAuth::new(AuthScheme::None, None),
            streams: Default::default(),
            info,
            state,
            link: Link::new(tx),
            keepalive: AtomicBool::new(false),
            last_rx: AtomicU64::new(now_ms()),
        });
        let outbox = Outbox {
            rx,
            client: client.clone(),
        };
        (client, outbox)
    }
}

/// Counters for the admin program.
#[derive(Debug, Clone, Default)]
pub struct ServerStats {
    pub clients: usize,
    pub free_workers: usize,
    pub job_queue_depth: usize,
}

/// A server: one handler, any number of listeners, shared limits.
pub struct Server<H: Handler> {
    pub name: String,
    handler: Arc<H>,
    limits: RwLock<Limits>,
    clients: Mutex<HashMap<u64, Arc<Client<H::State>>>>,
    next_id: AtomicU64,
    slots: Arc<Semaphore>,
    /// Places for clients still authenticating (`max_anonymous_clients`).
    unauth: Arc<Semaphore>,
    auth_cfg: RwLock<AuthConfig>,
    workers: Arc<Semaphore>,
    prio: Arc<Semaphore>,
    queued_jobs: AtomicUsize,
    /// Woken whenever a client connects or disconnects.
    pub activity: Notify,
}

impl<H: Handler> Server<H> {
    pub fn new(name: &str, handler: Arc<H>, limits: Limits) -> Arc<Self> {
        Arc::new(Server {
            name: name.to_string(),
            handler,
            slots: Arc::new(Semaphore::new(limits.max_clients)),
            unauth: Arc::new(Semaphore::new(unauth_places(limits.max_anonymous_clients))),
            auth_cfg: RwLock::new(AuthConfig::default()),
            workers: Arc::new(Semaphore::new(limits.max_workers.max(1))),
            prio: Arc::new(Semaphore::new(limits.prio_workers.max(1))),
            limits: RwLock::new(limits),
            clients: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            queued_jobs: AtomicUsize::new(0),
            activity: Notify::new(),
        })
    }

    /// Sets how clients of listeners that require authentication are
    /// authenticated (SASL strength and user list, polkit).
    pub fn set_auth_config(&self, cfg: AuthConfig) {
        match self.auth_cfg.write() {
            Ok(mut c) => *c = cfg,
            Err(p) => *p.into_inner() = cfg,
        }
    }

    fn auth_config(&self) -> AuthConfig {
        match self.auth_cfg.read() {
            Ok(c) => c.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Clients connected that have not finished authenticating.
    pub fn unauthenticated_count(&self) -> usize {
        self.clients
            .lock()
            .map(|c| c.values().filter(|c| !c.auth.is_authenticated()).count())
            .unwrap_or(0)
    }

    pub fn handler(&self) -> &Arc<H> {
        &self.handler
    }

    pub fn limits(&self) -> Limits {
        self.limits.read().map(|l| l.clone()).unwrap_or_default()
    }

    /// Change limits at run time; pools grow or shrink to match.
    pub fn set_limits(&self, new: Limits) {
        let Ok(mut cur) = self.limits.write() else {
            return;
        };
        resize(&self.slots, cur.max_clients, new.max_clients);
        resize(
            &self.unauth,
            unauth_places(cur.max_anonymous_clients),
            unauth_places(new.max_anonymous_clients),
        );
        resize(
            &self.workers,
            cur.max_workers.max(1),
            new.max_workers.max(1),
        );
        resize(&self.prio, cur.prio_workers.max(1), new.prio_workers.max(1));
        *cur = new;
    }

    pub fn stats(&self) -> ServerStats {
        ServerStats {
            clients: self.client_count(),
            free_workers: self.workers.available_permits(),
            job_queue_depth: self.queued_jobs.load(Ordering::Relaxed),
        }
    }

    pub fn client_count(&self) -> usize {
        self.clients.lock().map(|c| c.len()).unwrap_or(0)
    }

    pub fn clients(&self) -> Vec<Arc<Client<H::State>>> {
        let mut v: Vec<_> = self
            .clients
            .lock()
            .map(|c| c.values().cloned().collect())
            .unwrap_or_default();
        v.sort_by_key(|c| c.info.id);
        v
    }

    /// What is known of each connected client, oldest first, with the
    /// SASL user name of those that authenticated with SASL.
    pub fn client_infos(&self) -> Vec<ClientInfo> {
        self.clients()
            .into_iter()
            .map(|c| ClientInfo {
                sasl_user_name: c.auth.identity(),
                forwarded: c.auth.forwarded(),
                ..c.info.clone()
            })
            .collect()
    }

    pub fn client(&self, id: u64) -> Option<Arc<Client<H::State>>> {
        self.clients.lock().ok()?.get(&id).cloned()
    }

    /// Accept connections on a Unix socket until the listener fails.
    /// Accept connections on a Unix socket until the listener fails;
    /// clients authenticate with `auth`.
    pub async fn serve_unix(
        self: Arc<Self>,
        listener: UnixListener,
        readonly: bool,
        auth: AuthScheme,
    ) {
        while let Some((stream, _, permit)) = self.next_client(&listener).await {
            let cred = stream.peer_cred().ok();
            // Root never waits on polkit (libvirt lets it skip polkit, so
            // that a missing polkit cannot lock root out).
            let auth = if auth == AuthScheme::Polkit && cred.as_ref().map(|c| c.uid()) == Some(0) {
                AuthScheme::None
            } else {
                auth
            };
            let info = self.new_info(readonly, Transport::Unix, None, auth);
            let info = ClientInfo {
                peer_pid: cred.as_ref().and_then(|c| c.pid()),
                peer_uid: cred.as_ref().map(|c| c.uid()),
                peer_gid: cred.as_ref().map(|c| c.gid()),
                ..info
            };
            let srv = self.clone();
            tokio::spawn(async move {
                let Ok(pending) = srv.auth_place(auth).await else {
                    return;
                };
                let fd = stream.as_raw_fd();
                let (rd, wr) = stream.into_split();
                srv.run_client(rd, UnixWriter(wr), Some(fd), info, pending)
                    .await;
                drop(permit);
            });
        }
    }

    /// Accept TCP connections (no fd passing, no peer credentials).
    pub async fn serve_tcp(
        self: Arc<Self>,
        listener: tokio::net::TcpListener,
        readonly: bool,
        auth: AuthScheme,
    ) {
        while let Some((stream, addr, permit)) = self.next_client(&listener).await {
            let _ = stream.set_nodelay(true);
            let info = ClientInfo {
                local_addr: stream.local_addr().ok(),
                peer_addr: stream.peer_addr().ok(),
                ..self.new_info(readonly, Transport::Tcp, addr, auth)
            };
            let srv = self.clone();
            tokio::spawn(async move {
                let Ok(pending) = srv.auth_place(auth).await else {
                    return;
                };
                let (rd, wr) = stream.into_split();
                srv.run_client(rd, PlainWriter(wr), None, info, pending)
                    .await;
                drop(permit);
            });
        }
    }

    /// Accept TCP connections and run a TLS handshake on each before
    /// serving it. A failed or slow handshake drops that connection only.
    /// `on_peer` sees the client's certificate chain (DER, leaf first) once
    /// the handshake is done and may refuse the client by returning false.
    pub async fn serve_tls(
        self: Arc<Self>,
        listener: tokio::net::TcpListener,
        acceptor: SharedAcceptor,
        readonly: bool,
        on_peer: PeerCheck,
        auth: AuthScheme,
    ) {
        while let Some((stream, addr, permit)) = self.next_client(&listener).await {
            let _ = stream.set_nodelay(true);
            let local_addr = stream.local_addr().ok();
            let peer_addr = stream.peer_addr().ok();
            let srv = self.clone();
            let acceptor = match acceptor.read() {
                Ok(a) => a.clone(),
                Err(p) => p.into_inner().clone(),
            };
            let on_peer = on_peer.clone();
            tokio::spawn(async move {
                let Ok(pending) = srv.auth_place(auth).await else {
                    return;
                };
                let hs = tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await;
                let Ok(Ok(mut tls)) = hs else {
                    drop(permit);
                    return;
                };
                let chain: Vec<Vec<u8>> = tls
                    .get_ref()
                    .1
                    .peer_certificates()
                    .map(|c| c.iter().map(|d| d.as_ref().to_vec()).collect())
                    .unwrap_or_default();
                if !on_peer(&chain) {
                    drop(permit);
                    return;
                }
                // libvirt clients wait for one byte of value 1 telling
                // them the server accepted their certificate.
                let confirmed = async {
                    tls.write_all(&[1]).await?;
                    tls.flush().await
                };
                if confirmed.await.is_err() {
                    drop(permit);
                    return;
                }
                let tls_key_bits = tls
                    .get_ref()
                    .1
                    .negotiated_cipher_suite()
                    .map(|s| cipher_key_bits(&format!("{:?}", s.suite())));
                let info = ClientInfo {
                    local_addr,
                    peer_addr,
                    tls_key_bits,
                    ..srv.new_info(readonly, Transport::Tls, addr, auth)
                };
                let (rd, wr) = tokio::io::split(tls);
                srv.run_client(rd, FlushingWriter(wr), None, info, pending)
                    .await;
                drop(permit);
            });
        }
    }

    /// The next connection to serve and its client slot: waits for a free
    /// slot before accepting (further connections stay queued in the
    /// listen backlog meanwhile; the slot is only taken once a connection
    /// is accepted, so listeners sharing the limit do not pin slots while
    /// idle) and rides out transient accept failures (descriptor or memory
    /// exhaustion). `None` once the server is shut or the listener failed.
    async fn next_client<L: Listener>(
        &self,
        listener: &L,
    ) -> Option<(L::Conn, Option<String>, OwnedSemaphorePermit)> {
        loop {
            if !self.wait_for_slot().await {
                return None;
            }
            let (conn, addr) = match listener.accept_conn().await {
                Ok(c) => c,
                Err(e) if is_transient(&e) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
                Err(_) => return None,
            };
            let permit = self.slots.clone().acquire_owned().await.ok()?;
            return Some((conn, addr, permit));
        }
    }

    /// For a connection that must authenticate, waits for a place among
    /// the `max_anonymous_clients` clients still authenticating; the
    /// connection is not read until it has one, and keeps it until it is
    /// done authenticating. `Err` once the server is shut.
    async fn auth_place(&self, auth: AuthScheme) -> Result<Option<OwnedSemaphorePermit>, ()> {
        if auth == AuthScheme::None {
            return Ok(None);
        }
        self.unauth
            .clone()
            .acquire_owned()
            .await
            .map(Some)
            .map_err(|_| ())
    }

    /// Waits until a client slot is free without keeping it; false once
    /// the server is shut.
    async fn wait_for_slot(&self) -> bool {
        self.slots.acquire().await.is_ok()
    }

    fn new_info(
        &self,
        readonly: bool,
        transport: Transport,
        addr: Option<String>,
        auth: AuthScheme,
    ) -> ClientInfo {
        ClientInfo {
            local_addr: None,
            peer_addr: None,
            tls_key_bits: None,
            auth,
            sasl_user_name: None,
            forwarded: None,
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            readonly,
            transport,
            connected_at: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0),
            peer_pid: None,
            peer_uid: None,
            peer_gid: None,
            addr,
        }
    }

    async fn run_client<R, W>(
        self: Arc<Self>,
        rd: R,
        wr: W,
        raw_fd: Option<RawFd>,
        info: ClientInfo,
        pending: Option<OwnedSemaphorePermit>,
    ) where
        R: AsyncRead + Unpin + Send + 'static,
        W: FrameWriter,
    {
        // One receive usually brings a whole call (length, header and
        // arguments) instead of one per part; a receive that does not
        // fill the buffer also tells the runtime the socket is drained,
        // which saves the extra receive that would only say "empty".
        let auth = ClientAuth::new(info.auth, pending);
        let layer = auth.layer.clone();
        let rd = SaslReader::new(rd, layer.clone());
        let mut rd = tokio::io::BufReader::with_capacity(READ_BUFFER, rd);
        let (tx, rx) = mpsc::unbounded_channel();
        let state = self.handler.new_state(&info);
        let client = Arc::new(Client {
            auth,
            streams: Default::default(),
            info,
            state,
            link: Link::new(tx),
            keepalive: AtomicBool::new(false),
            last_rx: AtomicU64::new(now_ms()),
        });
        if let Ok(mut c) = self.clients.lock() {
            c.insert(client.info.id, client.clone());
        }
        self.activity.notify_waiters();

        let writer = tokio::spawn(write_loop(
            SaslWriter { inner: wr, layer },
            rx,
            client.clone(),
            raw_fd,
        ));
        let ka = tokio::spawn(keepalive_loop(client.clone(), self.limits()));
        let budget = Arc::new(Semaphore::new(self.limits().max_client_requests.max(1)));
        let pending = Arc::new(Semaphore::new(MAX_PENDING_BYTES));

        loop {
            let frame = tokio::select! {
                f = read_frame(&mut rd) => f,
                _ = client.link.close_notify.notified() => break,
            };
            let frame = match frame {
                Ok(f) => f,
                Err(ReadError::Eof) | Err(ReadError::Io(_)) | Err(ReadError::BadLength(_)) => break,
            };
            if client.is_closing() {
                break;
            }
            client.last_rx.store(now_ms(), Ordering::Relaxed);
            let h = frame.header;
            if h.prog == keepalive::PROGRAM {
                if h.proc_ == keepalive::PROC_PING && h.message_type() == Some(MessageType::Message)
                {
                    let pong = Header::new(
                        keepalive::PROGRAM,
                        keepalive::PROTOCOL_VERSION,
                        keepalive::PROC_PONG,
                        MessageType::Message,
                        0,
                        Status::Ok,
                    );
                    client.send(frame_value(&pong, &()));
                }
                continue;
            }
            if !self.handler.accepts(h.prog, h.vers) {
                if matches!(
                    h.message_type(),
                    Some(MessageType::Call | MessageType::CallWithFds)
                ) {
                    let e = RemoteError::new(
                        ErrorCode::Rpc,
                        ErrorDomain::Rpc,
                        Some(&format!(
                            "Cannot find program {} version {}",
                            h.prog, h.vers
                        )),
                    );
                    send_error(&client, &h, &e);
                }
                continue;
            }
            match h.message_type() {
                Some(MessageType::Call) | Some(MessageType::CallWithFds) => {}
                Some(MessageType::Stream) | Some(MessageType::StreamHole) => {
                    if client.streams.has(h.serial) {
                        // A data transfer whose other side is behind makes
                        // this client wait, as libvirt does.
                        if let Some(wait) = client.streams.incoming(&client, &h, &frame.payload) {
                            tokio::select! {
                                _ = wait => {}
                                _ = client.link.close_notify.notified() => break,
                            }
                        }
                    } else {
                        self.handler.stream(&client, &h, &frame.payload);
                    }
                    continue;
                }
                _ => continue,
            }
            if h.status != Status::Ok as i32 {
                let e = RemoteError::new(
                    ErrorCode::Rpc,
                    ErrorDomain::Rpc,
                    Some(&format!("Unexpected message status {}", h.status)),
                );
                send_error(&client, &h, &e);
                continue;
            }
            if !client.auth.is_authenticated() && !auth::allowed_unauthenticated(h.prog, h.proc_) {
                send_error(&client, &h, &auth::auth_required());
                continue;
            }
            if auth::is_auth_proc(h.prog, h.proc_) {
                // The auth procedures may wait on the SASL library or
                // the system bus: run them off the connection task. The
                // client sends nothing else until it has the answer.
                let cfg = self.auth_config();
                let c2 = client.clone();
                tokio::spawn(async move {
                    let c3 = c2.clone();
                    let payload = frame.payload;
                    let out = tokio::task::spawn_blocking(move || {
                        auth::call(&cfg, &c3.info, &c3.auth, h.proc_, &payload)
                    })
                    .await;
                    match out {
                        Ok(o) => {
                            respond(&c2, &h, o.response);
                            if o.start_layer {
                                c2.enqueue(Out::SaslOn);
                            }
                        }
                        Err(_) => {
                            let e = RemoteError::new(
                                ErrorCode::AuthFailed,
                                ErrorDomain::Rpc,
                                Some("authentication failed"),
                            );
                            send_error(&c2, &h, &e);
                        }
                    }
                });
                continue;
            }
            // Calls that carry fds are not accepted: nothing in the
            // supported programs needs them from the client.
            let mode = self.handler.mode(&h);
            if mode == CallMode::Inline {
                let resp = self.handler.call(&client, &h, &frame.payload, Vec::new());
                respond(&client, &h, resp);
                continue;
            }
            // Bound what waits for a worker: past the budget the call
            // waits here, but keepalive keeps being read and answered
            // until the pending bytes are exhausted.
            let cost = frame.payload.len().clamp(1, MAX_PENDING_BYTES) as u32;
            let Ok(pend) = pending.clone().acquire_many_owned(cost).await else {
                break;
            };
            let srv = self.clone();
            let c2 = client.clone();
            let budget = budget.clone();
            srv.queued_jobs.fetch_add(1, Ordering::Relaxed);
            tokio::spawn(async move {
                let Ok(_b) = budget.acquire_owned().await else {
                    return;
                };
                let worker = match mode {
                    CallMode::Priority => match srv.workers.clone().try_acquire_owned() {
                        Ok(p) => Ok(p),
                        Err(_) => srv.prio.clone().acquire_owned().await,
                    },
                    _ => srv.workers.clone().acquire_owned().await,
                };
                srv.queued_jobs.fetch_sub(1, Ordering::Relaxed);
                let Ok(_w) = worker else { return };
                let handler = srv.handler.clone();
                let c3 = c2.clone();
                let payload = frame.payload;
                drop(pend);
                let resp = tokio::task::spawn_blocking(move || {
                    handler.call(&c3, &h, &payload, Vec::new())
                })
                .await;
                match resp {
                    Ok(r) => respond(&c2, &h, r),
                    Err(_) => {
                        let e = RemoteError::new(
                            ErrorCode::InternalError,
                            ErrorDomain::Rpc,
                            Some("the call failed unexpectedly"),
                        );
                        send_error(&c2, &h, &e);
                    }
                }
            });
        }

        client.close();
        ka.abort();
        client.streams.close_all();
        if let Ok(mut c) = self.clients.lock() {
            c.remove(&client.info.id);
        }
        self.handler.closed(&client);
        self.activity.notify_waiters();
        // Let queued replies drain, then stop the writer, which closes
        // the socket (the client's own handle keeps the channel open).
        let _ = client.link.out.send(Out::Close);
        let mut writer = writer;
        if tokio::time::timeout(Duration::from_secs(1), &mut writer)
            .await
            .is_err()
        {
            writer.abort();
        }
    }
}

/// A listening socket the server accepts clients from.
trait Listener {
    type Conn;
    /// The next connection and the peer's address (none for Unix sockets).
    async fn accept_conn(&self) -> std::io::Result<(Self::Conn, Option<String>)>;
}

impl Listener for UnixListener {
    type Conn = tokio::net::UnixStream;
    async fn accept_conn(&self) -> std::io::Result<(Self::Conn, Option<String>)> {
        self.accept().await.map(|(s, _)| (s, None))
    }
}

impl Listener for tokio::net::TcpListener {
    type Conn = tokio::net::TcpStream;
    async fn accept_conn(&self) -> std::io::Result<(Self::Conn, Option<String>)> {
        self.accept().await.map(|(s, a)| (s, Some(a.to_string())))
    }
}

/// Places in the authentication queue for a `max_anonymous_clients`
/// value (0: no limit).
fn unauth_places(max: usize) -> usize {
    if max == 0 {
        Semaphore::MAX_PERMITS >> 1
    } else {
        max
    }
}

/// Key size in bits of a TLS cipher suite, from its name.
fn cipher_key_bits(suite: &str) -> u32 {
    if suite.contains("AES_128") {
        128
    } else {
        256
    }
}

/// Writes frames through the SASL security layer once it is on.
struct SaslWriter<W> {
    inner: W,
    layer: Arc<SaslLayer>,
}

impl<W: FrameWriter> FrameWriter for SaslWriter<W> {
    fn write_all<'a>(
        &'a mut self,
        buf: &'a [u8],
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = std::io::Result<()>> + Send + 'a>> {
        if !self.layer.writing() {
            return self.inner.write_all(buf);
        }
        Box::pin(async move {
            let wire = self.layer.encode(buf)?;
            self.inner.write_all(&wire).await
        })
    }
    fn send_fd<'a>(
        &'a mut self,
        fd: &'a OwnedFd,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = std::io::Result<()>> + Send + 'a>> {
        self.inner.send_fd(fd)
    }
}

fn resize(sem: &Semaphore, old: usize, new: usize) {
    if new > old {
        sem.add_permits(new - old);
    } else if old > new {
        sem.forget_permits(old - new);
    }
}

fn is_transient(e: &std::io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE) | Some(libc::ENFILE) | Some(libc::ENOBUFS) | Some(libc::ENOMEM)
    ) || e.kind() == std::io::ErrorKind::ConnectionAborted
}

fn respond<S: Send + Sync + 'static>(client: &Arc<Client<S>>, h: &Header, resp: Response) {
    match resp {
        Response::Reply(payload) => {
            client.send(frame(&h.reply(Status::Ok), &payload));
        }
        Response::ReplyWithFds(payload, fds) => {
            let mut hdr = h.reply(Status::Ok);
            hdr.type_ = MessageType::ReplyWithFds as i32;
            let mut body = (fds.len() as u32).to_be_bytes().to_vec();
            body.extend_from_slice(&payload);
            client.enqueue(Out::WithFds(frame(&hdr, &body), fds));
        }
        Response::ReplyThenStream(payload, pending) => {
            client.streams.start(client, h, pending, &payload);
        }
        Response::Error(e) => send_error(client, h, &e),
        Response::NoReply => {}
    }
}

/// Send an error reply to the call `h`.
pub fn send_error<S>(client: &Client<S>, h: &Header, e: &RemoteError) {
    let mut hdr = h.reply(Status::Error);
    if hdr.type_ == MessageType::CallWithFds as i32 {
        hdr.type_ = MessageType::Reply as i32;
    }
    client.send(frame_value(&hdr, &e.to_raw()));
}

async fn keepalive_loop<S>(client: Arc<Client<S>>, limits: Limits) {
    if limits.keepalive_interval <= 0 {
        return;
    }
    let interval = Duration::from_secs(limits.keepalive_interval as u64);
    let mut missed = 0u32;
    loop {
        tokio::time::sleep(interval).await;
        if !client.keepalive.load(Ordering::Relaxed) {
            continue;
        }
        let idle = now_ms().saturating_sub(client.last_rx.load(Ordering::Relaxed));
        if idle < interval.as_millis() as u64 {
            missed = 0;
            continue;
        }
        if missed >= limits.keepalive_count && limits.keepalive_count > 0 {
            client.close();
            return;
        }
        missed += 1;
        let ping = Header::new(
            keepalive::PROGRAM,
            keepalive::PROTOCOL_VERSION,
            keepalive::PROC_PING,
            MessageType::Message,
            0,
            Status::Ok,
        );
        client.send(frame_value(&ping, &()));
    }
}

/// The sending side of a connection.
pub trait FrameWriter: Send + 'static {
    fn write_all<'a>(
        &'a mut self,
        buf: &'a [u8],
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = std::io::Result<()>> + Send + 'a>>;
    /// Pass descriptors after a message, one per 1-byte message, as libvirt does.
    fn send_fd<'a>(
        &'a mut self,
        fd: &'a OwnedFd,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = std::io::Result<()>> + Send + 'a>>;
}

struct UnixWriter(tokio::net::unix::OwnedWriteHalf);
struct PlainWriter<W>(W);
/// A writer whose stream buffers (TLS): each frame is flushed so it
/// leaves as soon as it is written.
struct FlushingWriter<W>(W);

/// How long a client gets to complete the TLS handshake.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

impl FrameWriter for UnixWriter {
    fn write_all<'a>(
        &'a mut self,
        buf: &'a [u8],
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = std::io::Result<()>> + Send + 'a>> {
        Box::pin(self.0.write_all(buf))
    }
    fn send_fd<'a>(
        &'a mut self,
        fd: &'a OwnedFd,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = std::io::Result<()>> + Send + 'a>> {
        Box::pin(async move {
            let sock: &UnixStream = self.0.as_ref();
            loop {
                sock.writable().await?;
                let r = sock.try_io(tokio::io::Interest::WRITABLE, || {
                    host::fd::send_with_fds(sock.as_fd(), &[0u8], &[fd.as_fd()])
                        .map_err(|e| std::io::Error::other(e.to_string()))
                });
                match r {
                    Ok(_) => return Ok(()),
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                    Err(e) => return Err(e),
                }
            }
        })
    }
}

impl<W: AsyncWrite + Unpin + Send + 'static> FrameWriter for PlainWriter<W> {
    fn write_all<'a>(
        &'a mut self,
        buf: &'a [u8],
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = std::io::Result<()>> + Send + 'a>> {
        Box::pin(self.0.write_all(buf))
    }
    fn send_fd<'a>(
        &'a mut self,
        _fd: &'a OwnedFd,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = std::io::Result<()>> + Send + 'a>> {
        Box::pin(async {
            Err(std::io::Error::other(
                "descriptor passing needs a Unix socket",
            ))
        })
    }
}

impl<W: AsyncWrite + Unpin + Send + 'static> FrameWriter for FlushingWriter<W> {
    fn write_all<'a>(
        &'a mut self,
        buf: &'a [u8],
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = std::io::Result<()>> + Send + 'a>> {
        Box::pin(async move {
            self.0.write_all(buf).await?;
            self.0.flush().await
        })
    }
    fn send_fd<'a>(
        &'a mut self,
        _fd: &'a OwnedFd,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = std::io::Result<()>> + Send + 'a>> {
        Box::pin(async {
            Err(std::io::Error::other(
                "file descriptors cannot be passed over TLS",
            ))
        })
    }
}

async fn write_loop<W: FrameWriter, S>(
    mut wr: SaslWriter<W>,
    mut rx: mpsc::UnboundedReceiver<Out>,
    client: Arc<Client<S>>,
    _raw_fd: Option<RawFd>,
) {
    while let Some(out) = rx.recv().await {
        let (buf, fds) = match out {
            Out::Frame(f) => (f, Vec::new()),
            Out::WithFds(f, fds) => (f, fds),
            Out::SaslOn => {
                wr.layer.start_writing();
                continue;
            }
            Out::Close => return,
        };
        if wr.write_all(&buf).await.is_err() {
            client.close();
            return;
        }
        client.link.queued.fetch_sub(buf.len(), Ordering::Relaxed);
        client.link.drained.notify_waiters();
        for fd in &fds {
            if wr.send_fd(fd).await.is_err() {
                client.close();
                return;
            }
        }
    }
}

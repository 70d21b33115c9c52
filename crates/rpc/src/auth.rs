// SPDX-License-Identifier: LGPL-2.1-or-later
//! Authentication of clients, per listener: the scheme each socket names
//! (`auth_unix_rw`, `auth_unix_ro`, `auth_tcp`, `auth_tls`), the gate that
//! refuses every other procedure until it is done, the remote program's
//! auth procedures (AUTH_LIST, AUTH_SASL_INIT/START/STEP, AUTH_POLKIT),
//! and the SASL security layer that wraps a plain TCP connection once a
//! mechanism with one has been negotiated.
//!
//! Until a client is authenticated it may call only the auth procedures
//! and CONNECT_SUPPORTS_FEATURE (keepalive is answered below this layer);
//! anything else gets libvirt's "authentication required" RPC error.

// RemoteError is the wire error, returned as is to the client.
#![allow(clippy::result_large_err)]

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{ready, Context, Poll};

use protocol::remote as r;
use protocol::{ErrorCode, ErrorDomain, RemoteError, RemoteProc};
use sasl::{ServerSession, Step};
use tokio::io::{AsyncRead, ReadBuf};
use tokio::sync::OwnedSemaphorePermit;
use xdr::{from_prefix, to_bytes};

use crate::server::{ClientInfo, Response, Transport};

/// An authentication scheme of a listener (remote_auth_type numbering on
/// the wire: none 0, sasl 1, polkit 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthScheme {
    #[default]
    None,
    Sasl,
    Polkit,
}

impl AuthScheme {
    fn wire(self) -> i32 {
        match self {
            AuthScheme::None => 0,
            AuthScheme::Sasl => 1,
            AuthScheme::Polkit => 2,
        }
    }
}

/// Asks the host's authorization service whether a local client may use
/// its socket: `Ok(())` allows; the error is what the client is told.
pub type PolkitCheck = Arc<dyn Fn(&ClientInfo) -> Result<(), RemoteError> + Send + Sync>;

/// Decides whether an authenticated SASL user name may stay
/// (`sasl_allowed_username_list`); `None` allows everyone.
pub type UserCheck = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// Server-wide authentication settings.
#[derive(Clone)]
pub struct AuthConfig {
    /// `tcp_min_ssf`: the security strength a SASL mechanism must reach
    /// on plain TCP.
    pub tcp_min_ssf: u32,
    pub allowed_user: Option<UserCheck>,
    pub polkit: Option<PolkitCheck>,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            tcp_min_ssf: 56,
            allowed_user: None,
            polkit: None,
        }
    }
}

/// The SASL service name libvirt registers (`/etc/sasl2/libvirt.conf`).
pub const SASL_SERVICE: &str = "libvirt";

/// Whether procedure `proc_` of the remote program runs before
/// authentication: the auth procedures and CONNECT_SUPPORTS_FEATURE.
pub fn allowed_unauthenticated(prog: u32, proc_: i32) -> bool {
    is_auth_proc(prog, proc_)
        || (prog == r::PROGRAM && proc_ == RemoteProc::ConnectSupportsFeature as i32)
}

/// Whether `proc_` is one of the auth procedures this module answers.
pub fn is_auth_proc(prog: u32, proc_: i32) -> bool {
    prog == r::PROGRAM
        && matches!(
            RemoteProc::from_i32(proc_),
            Some(
                RemoteProc::AuthList
                    | RemoteProc::AuthSaslInit
                    | RemoteProc::AuthSaslStart
                    | RemoteProc::AuthSaslStep
                    | RemoteProc::AuthPolkit
            )
        )
}

/// The error for a call made before authentication.
pub fn auth_required() -> RemoteError {
    RemoteError::new(
        ErrorCode::Rpc,
        ErrorDomain::Rpc,
        Some("authentication required"),
    )
}

fn auth_failed() -> RemoteError {
    RemoteError::new(
        ErrorCode::AuthFailed,
        ErrorDomain::Rpc,
        Some("authentication failed"),
    )
}

/// The SASL security layer of one connection: the negotiated session and
/// whether reading and writing already go through it. Reading switches on
/// when authentication completes (the client sends nothing until it has
/// the reply), writing right after the reply has been written in clear.
#[derive(Default)]
pub(crate) struct SaslLayer {
    session: Mutex<Option<ServerSession>>,
    read_on: AtomicBool,
    write_on: AtomicBool,
}

impl SaslLayer {
    pub(crate) fn writing(&self) -> bool {
        self.write_on.load(Ordering::Acquire)
    }

    pub(crate) fn start_writing(&self) {
        if self.session.lock().map(|s| s.is_some()).unwrap_or(false) {
            self.write_on.store(true, Ordering::Release);
        }
    }

    /// `f` on the negotiated session.
    fn with_session<T>(
        &self,
        f: impl FnOnce(&mut ServerSession) -> std::io::Result<T>,
    ) -> std::io::Result<T> {
        let mut guard = self
            .session
            .lock()
            .map_err(|_| std::io::Error::other("SASL session poisoned"))?;
        let s = guard
            .as_mut()
            .ok_or_else(|| std::io::Error::other("no SASL session"))?;
        f(s)
    }

    /// Encodes a whole frame as a sequence of security-layer packets.
    pub(crate) fn encode(&self, frame: &[u8]) -> std::io::Result<Vec<u8>> {
        self.with_session(|s| {
            let chunk = s.max_bufsize().max(1);
            let mut out = Vec::with_capacity(frame.len() + 64);
            for part in frame.chunks(chunk) {
                out.extend_from_slice(&s.encode(part).map_err(std::io::Error::other)?);
            }
            Ok(out)
        })
    }

    fn decode(&self, data: &[u8]) -> std::io::Result<Vec<u8>> {
        self.with_session(|s| s.decode(data).map_err(std::io::Error::other))
    }
}

/// Reads through the SASL security layer once it is switched on; until
/// then, and on connections without one, bytes pass unchanged.
pub(crate) struct SaslReader<R> {
    inner: R,
    layer: Arc<SaslLayer>,
    raw: Vec<u8>,
    plain: Vec<u8>,
    pos: usize,
}

/// Wire bytes read at once under the security layer (libvirt reads up
/// to the session's buffer size).
const RAW_CHUNK: usize = 64 << 10;

impl<R> SaslReader<R> {
    pub(crate) fn new(inner: R, layer: Arc<SaslLayer>) -> Self {
        SaslReader {
            inner,
            layer,
            raw: Vec::new(),
            plain: Vec::new(),
            pos: 0,
        }
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for SaslReader<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = &mut *self;
        loop {
            if this.pos < this.plain.len() {
                let n = buf.remaining().min(this.plain.len() - this.pos);
                buf.put_slice(&this.plain[this.pos..this.pos + n]);
                this.pos += n;
                return Poll::Ready(Ok(()));
            }
            if !this.layer.read_on.load(Ordering::Acquire) {
                return Pin::new(&mut this.inner).poll_read(cx, buf);
            }
            if this.raw.len() != RAW_CHUNK {
                this.raw.resize(RAW_CHUNK, 0);
            }
            let mut rb = ReadBuf::new(&mut this.raw);
            ready!(Pin::new(&mut this.inner).poll_read(cx, &mut rb))?;
            let n = rb.filled().len();
            if n == 0 {
                return Poll::Ready(Ok(()));
            }
            this.plain = this.layer.decode(&this.raw[..n])?;
            this.pos = 0;
        }
    }
}

/// Where a client stands with authentication.
/// The attributes of an identity a client forwarded, as the admin
/// interface reports them (libvirt shows a forwarded identity in place of
/// the connection's own).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ForwardedIdentity {
    pub user_name: Option<String>,
    pub unix_user_id: Option<i64>,
    pub group_name: Option<String>,
    pub unix_group_id: Option<i64>,
    pub process_id: Option<i64>,
    pub sasl_user_name: Option<String>,
    pub x509_dname: Option<String>,
    pub selinux_context: Option<String>,
}

pub struct ClientAuth {
    scheme: AuthScheme,
    done: AtomicBool,
    /// The client's place among those still authenticating
    /// (`max_anonymous_clients`), given back once it is done.
    pending: Mutex<Option<OwnedSemaphorePermit>>,
    /// The SASL exchange in progress.
    sasl: Mutex<Option<ServerSession>>,
    /// The authenticated SASL user name.
    identity: Mutex<Option<String>>,
    /// The identity the client forwarded, if it did.
    forwarded: Mutex<Option<ForwardedIdentity>>,
    pub(crate) layer: Arc<SaslLayer>,
}

impl ClientAuth {
    /// A client of a listener with `scheme`; `pending` is its place among
    /// the clients still authenticating, released once it is done.
    pub fn new(scheme: AuthScheme, pending: Option<OwnedSemaphorePermit>) -> Self {
        ClientAuth {
            scheme,
            done: AtomicBool::new(scheme == AuthScheme::None),
            pending: Mutex::new(pending),
            sasl: Mutex::new(None),
            identity: Mutex::new(None),
            forwarded: Mutex::new(None),
            layer: Arc::new(SaslLayer::default()),
        }
    }

    /// The scheme of the listener the client came through.
    pub fn scheme(&self) -> AuthScheme {
        self.scheme
    }

    /// Whether the client may call every procedure.
    pub fn is_authenticated(&self) -> bool {
        self.done.load(Ordering::Acquire)
    }

    /// The SASL user name the client authenticated as.
    pub fn identity(&self) -> Option<String> {
        self.identity.lock().ok().and_then(|i| i.clone())
    }

    /// Records the identity the client forwarded (ConnectSetIdentity).
    pub fn set_forwarded(&self, ident: ForwardedIdentity) {
        if let Ok(mut f) = self.forwarded.lock() {
            *f = Some(ident);
        }
    }

    /// The identity the client forwarded, if any.
    pub fn forwarded(&self) -> Option<ForwardedIdentity> {
        self.forwarded.lock().ok().and_then(|f| f.clone())
    }

    fn mark_done(&self) {
        self.done.store(true, Ordering::Release);
        if let Ok(mut p) = self.pending.lock() {
            p.take();
        }
    }
}

/// What a completed auth call asks of the connection besides its reply.
pub struct AuthOutcome {
    pub response: Response,
    /// Switch the writer to the SASL layer once the reply is out.
    pub start_layer: bool,
}

fn reply<T: xdr::Xdr>(v: &T) -> AuthOutcome {
    AuthOutcome {
        response: Response::Reply(to_bytes(v)),
        start_layer: false,
    }
}

fn fail(e: RemoteError) -> AuthOutcome {
    AuthOutcome {
        response: Response::Error(e),
        start_layer: false,
    }
}

/// Whether the transport protects the data already (UNIX socket, TLS).
fn is_secure(info: &ClientInfo) -> bool {
    info.transport != Transport::Tcp
}

/// "IP;port" as SASL wants addresses.
fn sasl_addr(a: Option<std::net::SocketAddr>) -> Option<String> {
    a.map(|a| format!("{};{}", a.ip(), a.port()))
}

/// Answers one of the auth procedures for `info`'s client (the server
/// calls it off the connection task; public for the fuzz target).
pub fn call(
    cfg: &AuthConfig,
    info: &ClientInfo,
    auth: &ClientAuth,
    proc_: i32,
    payload: &[u8],
) -> AuthOutcome {
    match RemoteProc::from_i32(proc_) {
        Some(RemoteProc::AuthList) => auth_list(info, auth),
        Some(RemoteProc::AuthSaslInit) => match sasl_init(cfg, info, auth) {
            Ok(mechlist) => reply(&r::AuthSaslInitRet { mechlist }),
            Err(e) => fail(e),
        },
        Some(RemoteProc::AuthSaslStart) => {
            let Ok(a) = from_prefix::<r::AuthSaslStartArgs>(payload) else {
                return fail(decode_error());
            };
            let data = to_u8(&a.data);
            let input = (a.nil == 0).then_some(data.as_slice());
            sasl_round(cfg, info, auth, |s| s.start(&a.mech, input))
        }
        Some(RemoteProc::AuthSaslStep) => {
            let Ok(a) = from_prefix::<r::AuthSaslStepArgs>(payload) else {
                return fail(decode_error());
            };
            let data = to_u8(&a.data);
            let input = (a.nil == 0).then_some(data.as_slice());
            sasl_round(cfg, info, auth, |s| s.step(input))
        }
        Some(RemoteProc::AuthPolkit) => auth_polkit(cfg, info, auth),
        _ => fail(RemoteError::new(
            ErrorCode::Rpc,
            ErrorDomain::Rpc,
            Some(&format!("unknown procedure: {proc_}")),
        )),
    }
}

fn decode_error() -> RemoteError {
    RemoteError::new(
        ErrorCode::Rpc,
        ErrorDomain::Rpc,
        Some("Unable to decode message payload"),
    )
}

fn to_u8(v: &[i8]) -> Vec<u8> {
    v.iter().map(|&b| b as u8).collect()
}

fn to_i8(v: &[u8]) -> Vec<i8> {
    v.iter().map(|&b| b as i8).collect()
}

fn auth_list(info: &ClientInfo, auth: &ClientAuth) -> AuthOutcome {
    let mut scheme = auth.scheme;
    // A root client skips polkit, so that root is never locked out by a
    // missing or broken polkit.
    if scheme == AuthScheme::Polkit && info.peer_uid == Some(0) {
        auth.mark_done();
        scheme = AuthScheme::None;
    }
    if scheme == AuthScheme::None && !auth.is_authenticated() {
        // Not reachable: a scheme of none starts authenticated.
        auth.mark_done();
    }
    reply(&r::AuthListRet {
        types: vec![scheme.wire()],
    })
}

fn sasl_init(
    cfg: &AuthConfig,
    info: &ClientInfo,
    auth: &ClientAuth,
) -> Result<String, RemoteError> {
    let mut slot = auth.sasl.lock().map_err(|_| auth_failed())?;
    if auth.scheme != AuthScheme::Sasl || slot.is_some() || auth.is_authenticated() {
        crate::log_warn(format_args!("client tried invalid SASL init request"));
        return Err(auth_failed());
    }
    let mut s = ServerSession::new(
        SASL_SERVICE,
        sasl_addr(info.local_addr).as_deref(),
        sasl_addr(info.peer_addr).as_deref(),
    )
    .map_err(|e| {
        crate::log_warn(format_args!("{e}"));
        auth_failed()
    })?;
    let setup = (|| {
        if let Some(bits) = info.tls_key_bits {
            s.set_external_ssf(bits)?;
        }
        if is_secure(info) {
            s.set_sec_props(0, 0, true)
        } else {
            s.set_sec_props(cfg.tcp_min_ssf, 100_000, false)
        }
    })();
    if let Err(e) = setup {
        crate::log_warn(format_args!("{e}"));
        return Err(auth_failed());
    }
    let mechs = s.mechanisms().map_err(|e| {
        crate::log_warn(format_args!("{e}"));
        auth_failed()
    })?;
    if mechs.is_empty() {
        crate::log_warn(format_args!("no SASL mechanisms are available"));
        return Err(auth_failed());
    }
    *slot = Some(s);
    Ok(mechs)
}

/// One START or STEP: the exchange must have been initialised; a failure
/// ends it (the client may start over with AUTH_SASL_INIT).
fn sasl_round(
    cfg: &AuthConfig,
    info: &ClientInfo,
    auth: &ClientAuth,
    f: impl FnOnce(&mut ServerSession) -> Result<Step, sasl::SaslError>,
) -> AuthOutcome {
    let Ok(mut slot) = auth.sasl.lock() else {
        return fail(auth_failed());
    };
    let Some(s) = slot.as_mut() else {
        crate::log_warn(format_args!("client tried invalid SASL start request"));
        return fail(auth_failed());
    };
    if auth.scheme != AuthScheme::Sasl {
        slot.take();
        return fail(auth_failed());
    }
    let step = match f(s) {
        Ok(st) => st,
        Err(e) => {
            crate::log_warn(format_args!("SASL negotiation failed: {e}"));
            slot.take();
            return fail(auth_failed());
        }
    };
    let (complete, data) = match step {
        Step::Continue(d) => (false, d),
        Step::Complete(d) => (true, d),
    };
    if data
        .as_ref()
        .is_some_and(|d| d.len() > r::AUTH_SASL_DATA_MAX as usize)
    {
        crate::log_warn(format_args!("sasl reply data too long"));
        slot.take();
        return fail(auth_failed());
    }
    let ret = r::AuthSaslStepRet {
        complete: complete as i32,
        nil: data.is_none() as i32,
        data: data.as_deref().map(to_i8).unwrap_or_default(),
    };
    if !complete {
        return reply(&ret);
    }
    // The exchange is over: check strength and user, then hand the
    // session to the security layer (plain TCP only).
    let Some(s) = slot.take() else {
        return fail(auth_failed());
    };
    if !is_secure(info) {
        match s.ssf() {
            Ok(ssf) if ssf >= cfg.tcp_min_ssf => {}
            Ok(ssf) => {
                crate::log_warn(format_args!("negotiated SSF {ssf} was not strong enough"));
                return fail(auth_failed());
            }
            Err(e) => {
                crate::log_warn(format_args!("{e}"));
                return fail(auth_failed());
            }
        }
    }
    let user = match s.username() {
        Ok(u) => u,
        Err(e) => {
            crate::log_warn(format_args!("{e}"));
            return fail(auth_failed());
        }
    };
    if let Some(check) = &cfg.allowed_user {
        if !check(&user) {
            crate::log_warn(format_args!(
                "SASL client identity '{user}' not allowed by ACL"
            ));
            return fail(auth_failed());
        }
    }
    if let Ok(mut id) = auth.identity.lock() {
        *id = Some(user);
    }
    let start_layer = !is_secure(info);
    if start_layer {
        if let Ok(mut l) = auth.layer.session.lock() {
            *l = Some(s);
        }
        auth.layer.read_on.store(true, Ordering::Release);
    }
    auth.mark_done();
    AuthOutcome {
        response: Response::Reply(to_bytes(&ret)),
        start_layer,
    }
}

fn auth_polkit(cfg: &AuthConfig, info: &ClientInfo, auth: &ClientAuth) -> AuthOutcome {
    if auth.scheme != AuthScheme::Polkit {
        crate::log_warn(format_args!("client tried invalid PolicyKit init request"));
        return fail(auth_failed());
    }
    if auth.is_authenticated() {
        return reply(&r::AuthPolkitRet { complete: 1 });
    }
    let Some(check) = &cfg.polkit else {
        return fail(auth_failed());
    };
    match check(info) {
        Ok(()) => {
            auth.mark_done();
            reply(&r::AuthPolkitRet { complete: 1 })
        }
        Err(e) => fail(e),
    }
}

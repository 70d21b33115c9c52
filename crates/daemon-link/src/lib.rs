// SPDX-License-Identifier: LGPL-2.1-or-later
//! How a modular hypervisor daemon talks to a secondary driver's daemon
//! (virtnetworkd, virtstoraged) as libvirt's remote driver does: connect to
//! its socket, authenticate (polkit when the daemon asks for it), open a
//! URI, forward the caller's identity, make the public remote procedures'
//! calls one at a time, and close the connection when dropped. network-client and storage-client build
//! their [`driver::Connection`]s on it.
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use driver::identity::Identity;
use driver::{Error, Result, TypedParams, TypedValue};
use protocol::remote as r;
use protocol::TypedParamValue;
use rpc::client::{ClientError, RpcClient};
use virterror::{ErrorCode, ErrorDomain};

/// Procedure numbers of the remote program used here.
const CONNECT_OPEN: i32 = 1;
const CONNECT_CLOSE: i32 = 2;
const CONNECT_SET_IDENTITY: i32 = 419;
const AUTH_LIST: i32 = 66;
const AUTH_POLKIT_PROC: i32 = 70;

/// REMOTE_AUTH_NONE / REMOTE_AUTH_POLKIT.
const AUTH_NONE: i32 = 0;
const AUTH_POLKIT: i32 = 2;

/// The socket of daemon `name` (`virtnetworkd`) beside a modular daemon
/// whose own socket is `own_socket` (`/run/libvirt/virtlxcd-sock` →
/// `/run/libvirt/virtnetworkd-sock`).
pub fn socket_beside(own_socket: &Path, name: &str) -> PathBuf {
    let dir = own_socket.parent().unwrap_or(Path::new("/run/libvirt"));
    dir.join(format!("{name}-sock"))
}

/// Where a link's daemon is: a socket on this host, or a TCP address.
#[derive(Debug, Clone)]
enum Peer {
    Unix(PathBuf),
    Tcp(String, u16),
}

impl Peer {
    /// What a failed connection says, as libvirt's socket layer puts it.
    fn connect_failed(&self, io: &std::io::Error) -> String {
        match self {
            Peer::Unix(p) => format!(
                "Failed to connect socket to '{}': {}",
                p.display(),
                virterror::os_error_text(io)
            ),
            Peer::Tcp(h, port) => format!(
                "unable to connect to server at '{h}:{port}': {}",
                virterror::os_error_text(io)
            ),
        }
    }
}

impl std::fmt::Display for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Peer::Unix(p) => write!(f, "{}", p.display()),
            Peer::Tcp(h, port) => write!(f, "{h}:{port}"),
        }
    }
}

/// The error a client sees when the daemon at `peer` cannot be reached or
/// talks nonsense; a remote error comes back as the daemon sent it.
fn client_error(peer: &Peer, e: ClientError) -> Error {
    match e {
        ClientError::Remote(re) => {
            let code = ErrorCode::from_i32(re.code).unwrap_or(ErrorCode::InternalError);
            let domain = ErrorDomain::from_i32(re.domain).unwrap_or(ErrorDomain::Rpc);
            Error::verbatim(code, domain, re.message)
        }
        ClientError::Io(io) => Error::new(
            ErrorCode::SystemError,
            ErrorDomain::Rpc,
            peer.connect_failed(&io),
        ),
        other => Error::new(ErrorCode::Rpc, ErrorDomain::Rpc, other.to_string()),
    }
}

/// Typed parameters as the wire carries them.
pub fn wire_params(p: TypedParams) -> Vec<r::TypedParam> {
    p.into_iter()
        .map(|(field, v)| r::TypedParam {
            field,
            value: match v {
                TypedValue::Int(x) => TypedParamValue::Int(x),
                TypedValue::UInt(x) => TypedParamValue::UInt(x),
                TypedValue::LLong(x) => TypedParamValue::LLong(x),
                TypedValue::ULLong(x) => TypedParamValue::ULLong(x),
                TypedValue::Double(x) => TypedParamValue::Double(x),
                TypedValue::Boolean(x) => TypedParamValue::Boolean(x),
                TypedValue::String(x) => TypedParamValue::String(x),
            },
        })
        .collect()
}

/// The identity a link forwards: the client's the current call serves,
/// else the daemon's own.
fn caller_identity() -> Identity {
    driver::identity::current()
        .map(|i| (*i).clone())
        .unwrap_or_else(driver::identity::system)
}

/// One open connection to another daemon.
pub struct DaemonLink {
    peer: Peer,
    client: Mutex<RpcClient>,
}

impl DaemonLink {
    /// Connects to `socket`, authenticates as libvirt's client does
    /// (polkit when the daemon asks for it), opens `uri` and forwards the
    /// identity of the caller (the client the current call serves, else
    /// this daemon), as libvirt's daemons do when opening a secondary
    /// driver's connection.
    pub fn open(socket: &Path, uri: &str) -> Result<DaemonLink> {
        DaemonLink::open_as(socket, uri, &caller_identity())
    }

    /// Like [`DaemonLink::open`], with the caller's identity elevated by
    /// the host's system token (virIdentityElevateCurrent): for a driver
    /// that needs what only the daemons may read, such as a private
    /// secret's value for a volume's passphrase.
    pub fn open_elevated(socket: &Path, uri: &str) -> Result<DaemonLink> {
        DaemonLink::open_as(socket, uri, &caller_identity().elevated())
    }

    /// Connects, opens `uri` and forwards `ident`.
    pub fn open_as(socket: &Path, uri: &str, ident: &Identity) -> Result<DaemonLink> {
        let peer = Peer::Unix(socket.to_path_buf());
        let c = RpcClient::connect(socket, r::PROGRAM, r::PROTOCOL_VERSION)
            .map_err(|e| client_error(&peer, e))?;
        DaemonLink::handshake(c, peer, uri, ident)
    }

    /// Like [`DaemonLink::open`], to the daemon listening on `host`:`port`
    /// over plain TCP (`listen_tcp`), as a `DRIVER+tcp://HOST/` URI
    /// reaches it.
    pub fn open_tcp(host: &str, port: u16, uri: &str) -> Result<DaemonLink> {
        let peer = Peer::Tcp(host.to_string(), port);
        let c = RpcClient::connect_tcp(host, port, r::PROGRAM, r::PROTOCOL_VERSION)
            .map_err(|e| client_error(&peer, e))?;
        DaemonLink::handshake(c, peer, uri, &caller_identity())
    }

    /// Authenticates on a connected client, opens `uri` and forwards
    /// `ident`.
    fn handshake(mut c: RpcClient, peer: Peer, uri: &str, ident: &Identity) -> Result<DaemonLink> {
        let err = |e| client_error(&peer, e);
        let auth: r::AuthListRet = c.call(AUTH_LIST, &()).map_err(err)?;
        if !auth.types.is_empty() && !auth.types.contains(&AUTH_NONE) {
            if auth.types.contains(&AUTH_POLKIT) {
                let _: r::AuthPolkitRet = c.call(AUTH_POLKIT_PROC, &()).map_err(err)?;
            } else {
                return Err(Error::new(
                    ErrorCode::AuthFailed,
                    ErrorDomain::Rpc,
                    format!("{peer} asks for an authentication this daemon cannot give"),
                ));
            }
        }
        c.call::<_, ()>(
            CONNECT_OPEN,
            &r::ConnectOpenArgs {
                name: Some(uri.to_string()),
                flags: 0,
            },
        )
        .map_err(err)?;
        // After the open, as libvirt's remote driver sends it: the peer
        // refuses it on a connection not yet open.
        c.call::<_, ()>(
            CONNECT_SET_IDENTITY,
            &r::ConnectSetIdentityArgs {
                params: wire_params(ident.params().clone()),
                flags: 0,
            },
        )
        .map_err(err)?;
        Ok(DaemonLink {
            peer,
            client: Mutex::new(c),
        })
    }

    /// Procedure `proc_` of the remote program with `args`.
    pub fn call<A: xdr::Xdr, R: xdr::Xdr>(&self, proc_: i32, args: &A) -> Result<R> {
        let mut c = self.client.lock().unwrap_or_else(|p| p.into_inner());
        c.call(proc_, args).map_err(|e| client_error(&self.peer, e))
    }
}

impl Drop for DaemonLink {
    fn drop(&mut self) {
        let mut c = self.client.lock().unwrap_or_else(|p| p.into_inner());
        let _ = c.call::<_, ()>(CONNECT_CLOSE, &());
    }
}

// SPDX-License-Identifier: LGPL-2.1-or-later
//! The secondary drivers of a modular daemon: in `virtlxcd`, `virtxend`,
//! `virtvzd` (and `virtqemud`) the network, storage, node device,
//! interface, network filter and secret calls of a client's hypervisor
//! connection are answered by the daemons of those drivers
//! (`virtnetworkd`, `virtstoraged`, `virtnodedevd`, `virtinterfaced`,
//! `virtnwfilterd`, `virtsecretd`), as libvirt's per-driver daemons do
//! through their remote driver; `virtstoraged` sends its secret calls to
//! `virtsecretd`.
//!
//! A client's first call of a family connects to that daemon's socket (the
//! `-sock-ro` one for a read-only client), opens `FAMILY:///system`
//! (`FAMILY:///session` unprivileged) and then relays: the client's call
//! goes out unchanged (same serial), and everything the daemon sends
//! (replies, events, stream data) goes back to the client unchanged. So
//! event callback ids are the secondary daemon's, as with libvirt, where
//! each connection numbers its own. Keepalive is answered on each side
//! here. The link belongs to one client and is shut down with it.
//!
//! When the daemon is not there the call fails as libvirt's does when its
//! remote driver cannot connect ("Failed to connect socket to ...").

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::Shutdown;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use protocol::header::{
    check_length, frame, frame_value, Header, MessageType, Status, HEADER_SIZE,
};
use protocol::remote as r;
use protocol::{keepalive, ErrorCode, ErrorDomain, RemoteError, RemoteProc as P};
use rpc::Client;
use xdr::{Decoder, Xdr};

use driver::identity::{Identity, Peer};

use super::RemoteState;

/// Which families a daemon sends elsewhere, and where the sockets are.
#[derive(Debug, Clone)]
pub struct Secondary {
    /// The directory of the daemons' sockets (the daemon's own).
    pub sock_dir: PathBuf,
    /// A root daemon opens `FAMILY:///system`, another `///session`.
    pub privileged: bool,
    /// The families relayed (`network`, `storage`, ...).
    pub families: &'static [&'static str],
}

/// Every secondary family, as a hypervisor daemon relays them.
pub const HYPERVISOR_FAMILIES: &[&str] = &[
    "network",
    "storage",
    "nodedev",
    "interface",
    "nwfilter",
    "secret",
];

/// The secondary drivers a per-driver daemon relays, by daemon name:
/// every family for the hypervisor daemons, secrets for the storage
/// daemon, nothing for the others.
pub fn families_of_daemon(name: &str) -> &'static [&'static str] {
    match name {
        "virtlxcd" | "virtxend" | "virtvzd" | "virtqemud" | "virtchd" | "virtbhyved"
        | "virtvboxd" => HYPERVISOR_FAMILIES,
        "virtstoraged" => &["secret"],
        _ => &[],
    }
}

/// The socket prefix of the daemon serving a family.
fn daemon_of(family: &str) -> Option<&'static str> {
    Some(match family {
        "network" => "virtnetworkd",
        "storage" => "virtstoraged",
        "nodedev" => "virtnodedevd",
        "interface" => "virtinterfaced",
        "nwfilter" => "virtnwfilterd",
        "secret" => "virtsecretd",
        _ => return None,
    })
}

/// One client's connection to one secondary daemon.
pub(crate) struct Link {
    writer: Mutex<UnixStream>,
}

impl Link {
    fn send(&self, bytes: &[u8]) -> std::io::Result<()> {
        let mut w = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        w.write_all(bytes)
    }

    fn shutdown(&self) {
        let w = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let _ = w.shutdown(Shutdown::Both);
    }
}

/// A client's links, by family.
#[derive(Default)]
pub(crate) struct Links(Mutex<HashMap<&'static str, Arc<Link>>>);

impl Links {
    /// Shuts every link down (the client closed its connection or went).
    pub(crate) fn close_all(&self) {
        let all: Vec<Arc<Link>> = self
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain()
            .map(|(_, l)| l)
            .collect();
        for l in all {
            l.shutdown();
        }
    }

    fn get(&self, family: &str) -> Option<Arc<Link>> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(family)
            .cloned()
    }
}

impl Secondary {
    /// The family of a remote-program procedure this daemon relays.
    pub(crate) fn relayed_family(&self, h: &Header) -> Option<&'static str> {
        if h.prog != r::PROGRAM {
            return None;
        }
        let proc_ = P::from_i32(h.proc_)?;
        // Detaching, reattaching and resetting a host device are the
        // hypervisor driver's calls (libvirt's daemon answers them on the
        // client's own connection), though listed with the node devices.
        if matches!(
            proc_,
            P::NodeDeviceDettach
                | P::NodeDeviceDetachFlags
                | P::NodeDeviceReAttach
                | P::NodeDeviceReset
        ) {
            return None;
        }
        let family = proc_.info().family;
        self.families.iter().copied().find(|f| *f == family)
    }

    /// Relays one call of `family`, opening the client's link first if
    /// needed. The reply reaches the client through the link's reader.
    pub(crate) fn call(
        &self,
        client: &Arc<Client<RemoteState>>,
        family: &'static str,
        h: &Header,
        payload: &[u8],
    ) -> Result<(), RemoteError> {
        let link = match client.state.links.get(family) {
            Some(l) => l,
            None => self.open(client, family)?,
        };
        link.send(&frame(h, payload)).map_err(|e| {
            // The daemon went away: the next call connects again.
            client
                .state
                .links
                .0
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(family);
            RemoteError::new(
                ErrorCode::SystemError,
                ErrorDomain::Rpc,
                Some(&format!("Cannot write data: {}", os_reason(&e))),
            )
        })
    }

    /// A stream message of a relayed call: to the family's link, if any.
    pub(crate) fn stream(
        &self,
        client: &Client<RemoteState>,
        family: &str,
        h: &Header,
        payload: &[u8],
    ) -> bool {
        match client.state.links.get(family) {
            Some(l) => {
                let _ = l.send(&frame(h, payload));
                true
            }
            None => false,
        }
    }

    fn open(
        &self,
        client: &Arc<Client<RemoteState>>,
        family: &'static str,
    ) -> Result<Arc<Link>, RemoteError> {
        let prefix = daemon_of(family).ok_or_else(super::not_open)?;
        let readonly = client.state.readonly;
        let path = if readonly && self.privileged {
            self.sock_dir.join(format!("{prefix}-sock-ro"))
        } else {
            self.sock_dir.join(format!("{prefix}-sock"))
        };
        let mut sock = UnixStream::connect(&path).map_err(|e| {
            RemoteError::new(
                ErrorCode::SystemError,
                ErrorDomain::Rpc,
                Some(&format!(
                    "Failed to connect socket to '{}': {}",
                    path.display(),
                    os_reason(&e)
                )),
            )
        })?;
        let io_err = |e: std::io::Error| {
            RemoteError::new(
                ErrorCode::SystemError,
                ErrorDomain::Rpc,
                Some(&format!("Cannot recv data: {}", os_reason(&e))),
            )
        };
        let kind = if self.privileged { "system" } else { "session" };
        let args = r::ConnectOpenArgs {
            name: Some(format!("{family}:///{kind}")),
            flags: u32::from(readonly),
        };
        let open = Header::new(
            r::PROGRAM,
            r::PROTOCOL_VERSION,
            P::ConnectOpen as i32,
            MessageType::Call,
            0,
            Status::Ok,
        );
        let (rh, bytes) = call_raw(&mut sock, &open, &frame_value(&open, &args)).map_err(io_err)?;
        if rh.status != Status::Ok as i32 {
            return Err(reply_error(&bytes).unwrap_or_else(super::not_open));
        }
        // As libvirt's per-driver daemons do, the secondary daemon learns
        // whom the calls are for: the identity the client forwarded, else
        // its connection's.
        let forwarded = client.state.identity.read().ok().and_then(|i| i.clone());
        let ident = match forwarded {
            Some(i) => (*i).clone(),
            None => connection_identity(&client.info, &client.auth),
        };
        forward_identity(&mut sock, &ident)?;
        let reader = sock.try_clone().map_err(io_err)?;
        let link = Arc::new(Link {
            writer: Mutex::new(sock),
        });
        let weak = Arc::downgrade(client);
        let up = link.clone();
        std::thread::Builder::new()
            .name("secondary-relay".into())
            .spawn(move || relay(reader, up, weak))
            .map_err(io_err)?;
        client
            .state
            .links
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(family, link.clone());
        Ok(link)
    }
}

fn os_reason(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(n) => {
            let text = std::io::Error::from_raw_os_error(n).to_string();
            match text.rfind(" (os error") {
                Some(i) => text[..i].to_string(),
                None => text,
            }
        }
        None => e.to_string(),
    }
}

/// The error a failed reply frame (length word included) carries.
pub fn reply_error(frame: &[u8]) -> Option<RemoteError> {
    let body = frame.get(4 + HEADER_SIZE..)?;
    xdr::from_prefix::<r::Error>(body)
        .ok()
        .map(RemoteError::from_raw)
}

/// Sends call `frame` (whose header is `h`) on `sock` and waits for its
/// reply (same procedure and serial), answering keepalive pings meanwhile;
/// other frames are dropped (nothing else is in flight on a link being
/// set up).
pub fn call_raw(
    sock: &mut UnixStream,
    h: &Header,
    frame: &[u8],
) -> std::io::Result<(Header, Vec<u8>)> {
    sock.write_all(frame)?;
    loop {
        let (rh, bytes) = read_raw_frame(sock)?;
        if rh.prog == keepalive::PROGRAM {
            if rh.proc_ == keepalive::PROC_PING {
                sock.write_all(&pong())?;
            }
            continue;
        }
        if rh.prog == h.prog && rh.proc_ == h.proc_ && rh.serial == h.serial {
            return Ok((rh, bytes));
        }
    }
}

/// virNetServerClientCreateIdentity: who a client is as its connection
/// shows it (the peer's credentials on a local socket, the SASL user).
pub fn connection_identity(info: &rpc::ClientInfo, auth: &rpc::auth::ClientAuth) -> Identity {
    let peer = match (info.transport, info.peer_uid, info.peer_gid, info.peer_pid) {
        (rpc::Transport::Unix, Some(uid), Some(gid), Some(pid)) => Some(Peer {
            pid,
            uid,
            gid,
            user: host::ids::user_name(uid),
            group: host::ids::group_name(gid),
        }),
        _ => None,
    };
    Identity::for_client(peer, auth.identity())
}

/// virConnectSetIdentity on a freshly opened link: `ident` becomes the
/// identity the daemon at the other end serves this connection as.
pub fn forward_identity(sock: &mut UnixStream, ident: &Identity) -> Result<(), RemoteError> {
    let h = Header::new(
        r::PROGRAM,
        r::PROTOCOL_VERSION,
        P::ConnectSetIdentity as i32,
        MessageType::Call,
        0,
        Status::Ok,
    );
    let args = r::ConnectSetIdentityArgs {
        params: crate::convert::params_out(ident.params().clone()),
        flags: 0,
    };
    let (rh, bytes) = call_raw(sock, &h, &frame_value(&h, &args)).map_err(|e| {
        RemoteError::new(
            ErrorCode::SystemError,
            ErrorDomain::Rpc,
            Some(&format!("Cannot recv data: {}", os_reason(&e))),
        )
    })?;
    if rh.status != Status::Ok as i32 {
        return Err(reply_error(&bytes).unwrap_or_else(super::not_open));
    }
    Ok(())
}

/// The keepalive answer to a ping.
pub fn pong() -> Vec<u8> {
    let h = Header::new(
        keepalive::PROGRAM,
        keepalive::PROTOCOL_VERSION,
        keepalive::PROC_PONG,
        MessageType::Message,
        0,
        Status::Ok,
    );
    frame_value(&h, &())
}

/// Reads one whole frame (length word included); the length is checked
/// before the buffer is allocated.
pub fn read_raw_frame(sock: &mut UnixStream) -> std::io::Result<(Header, Vec<u8>)> {
    let mut len = [0u8; 4];
    sock.read_exact(&mut len)?;
    let total = check_length(u32::from_be_bytes(len))
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))?;
    let mut buf = vec![0u8; total];
    buf[..4].copy_from_slice(&len);
    sock.read_exact(&mut buf[4..])?;
    let h = Header::decode(&mut Decoder::new(&buf[4..4 + HEADER_SIZE]))
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))?;
    Ok((h, buf))
}

/// Copies what the secondary daemon sends to the client until either
/// side goes. The daemon going away does not end the client: its next
/// call of that family fails, as a lost remote connection does.
fn relay(mut sock: UnixStream, up: Arc<Link>, client: std::sync::Weak<Client<RemoteState>>) {
    while let Ok((h, bytes)) = read_raw_frame(&mut sock) {
        if h.prog == keepalive::PROGRAM {
            if h.proc_ == keepalive::PROC_PING && up.send(&pong()).is_err() {
                break;
            }
            continue;
        }
        let Some(c) = client.upgrade() else { break };
        if c.is_closing() || !c.send(bytes) {
            break;
        }
    }
    up.shutdown();
}

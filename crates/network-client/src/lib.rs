// SPDX-License-Identifier: LGPL-2.1-or-later
//! The network driver as a modular hypervisor daemon (virtlxcd, virtxend)
//! reaches it: a client of virtnetworkd's socket that opens
//! `network:///system` and speaks the public remote procedures, as
//! libvirt's modular daemons do through their remote driver. It is a
//! [`driver::Connection`] for the calls a hypervisor driver makes to plug
//! and unplug guest NICs (network lookup, bridge name, XML, and the
//! network port procedures), so the hypervisor driver cannot tell it from
//! the in-process network driver `libvirtd` gives it.
//!
//! Must not depend on any driver. One connection per opener call, one
//! call at a time; the connection is closed when dropped.
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use driver::{Connection, Error, NetworkOpener, NetworkPortRef, NetworkRef, Result};
use protocol::remote as r;
use rpc::client::{ClientError, RpcClient};
use virterror::{ErrorCode, ErrorDomain};

/// Procedure numbers of the remote program used here.
mod procs {
    pub const CONNECT_OPEN: i32 = 1;
    pub const CONNECT_CLOSE: i32 = 2;
    pub const NETWORK_GET_XML_DESC: i32 = 43;
    pub const NETWORK_GET_BRIDGE_NAME: i32 = 45;
    pub const NETWORK_LOOKUP_BY_NAME: i32 = 46;
    pub const AUTH_LIST: i32 = 66;
    pub const AUTH_POLKIT: i32 = 70;
    pub const NETWORK_LIST_ALL_PORTS: i32 = 404;
    pub const NETWORK_PORT_LOOKUP_BY_UUID: i32 = 405;
    pub const NETWORK_PORT_CREATE_XML: i32 = 406;
    pub const NETWORK_PORT_GET_XML_DESC: i32 = 409;
    pub const NETWORK_PORT_DELETE: i32 = 410;
}

/// REMOTE_AUTH_NONE / REMOTE_AUTH_POLKIT.
const AUTH_NONE: i32 = 0;
const AUTH_POLKIT: i32 = 2;

/// The error a client sees when virtnetworkd cannot be reached or talks
/// nonsense; a remote error comes back as the daemon sent it.
fn client_error(sock: &Path, e: ClientError) -> Error {
    match e {
        ClientError::Remote(re) => {
            let code = ErrorCode::from_i32(re.code).unwrap_or(ErrorCode::InternalError);
            let domain = ErrorDomain::from_i32(re.domain).unwrap_or(ErrorDomain::Rpc);
            Error::verbatim(code, domain, re.message)
        }
        ClientError::Io(io) => Error::new(
            ErrorCode::SystemError,
            ErrorDomain::Rpc,
            format!(
                "Failed to connect socket to '{}': {}",
                sock.display(),
                virterror::os_error_text(&io)
            ),
        ),
        other => Error::new(ErrorCode::Rpc, ErrorDomain::Rpc, other.to_string()),
    }
}

/// virtnetworkd's socket, and the URI opened on it.
#[derive(Debug, Clone)]
pub struct RemoteNetwork {
    pub socket: PathBuf,
    pub uri: String,
}

impl RemoteNetwork {
    /// The network daemon beside a modular daemon whose own socket is
    /// `own_socket` (`/run/libvirt/virtlxcd-sock` →
    /// `/run/libvirt/virtnetworkd-sock`), opening `uri`.
    pub fn beside(own_socket: &Path, uri: &str) -> RemoteNetwork {
        let dir = own_socket.parent().unwrap_or(Path::new("/run/libvirt"));
        RemoteNetwork {
            socket: dir.join("virtnetworkd-sock"),
            uri: uri.to_string(),
        }
    }

    /// Connects, authenticates as libvirt's client does (polkit when the
    /// daemon asks for it) and opens the URI.
    pub fn connect(&self) -> Result<RemoteNetworkConn> {
        let err = |e| client_error(&self.socket, e);
        let mut c =
            RpcClient::connect(&self.socket, r::PROGRAM, r::PROTOCOL_VERSION).map_err(err)?;
        let auth: r::AuthListRet = c.call(procs::AUTH_LIST, &()).map_err(err)?;
        if !auth.types.is_empty() && !auth.types.contains(&AUTH_NONE) {
            if auth.types.contains(&AUTH_POLKIT) {
                let _: r::AuthPolkitRet = c.call(procs::AUTH_POLKIT, &()).map_err(err)?;
            } else {
                return Err(Error::new(
                    ErrorCode::AuthFailed,
                    ErrorDomain::Rpc,
                    format!(
                        "{} asks for an authentication this daemon cannot give",
                        self.socket.display()
                    ),
                ));
            }
        }
        c.call::<_, ()>(
            procs::CONNECT_OPEN,
            &r::ConnectOpenArgs {
                name: Some(self.uri.clone()),
                flags: 0,
            },
        )
        .map_err(err)?;
        Ok(RemoteNetworkConn {
            socket: self.socket.clone(),
            uri: self.uri.clone(),
            client: Mutex::new(c),
        })
    }

    /// The opener a hypervisor driver is given.
    pub fn opener(self) -> NetworkOpener {
        Arc::new(move || Ok(Arc::new(self.connect()?) as Arc<dyn Connection>))
    }
}

/// One open connection to virtnetworkd.
pub struct RemoteNetworkConn {
    socket: PathBuf,
    uri: String,
    client: Mutex<RpcClient>,
}

impl RemoteNetworkConn {
    fn call<A: xdr::Xdr, R: xdr::Xdr>(&self, proc_: i32, args: &A) -> Result<R> {
        let mut c = self.client.lock().unwrap_or_else(|p| p.into_inner());
        c.call(proc_, args)
            .map_err(|e| client_error(&self.socket, e))
    }
}

impl Drop for RemoteNetworkConn {
    fn drop(&mut self) {
        let mut c = self.client.lock().unwrap_or_else(|p| p.into_inner());
        let _ = c.call::<_, ()>(procs::CONNECT_CLOSE, &());
    }
}

fn net_out(n: &NetworkRef) -> r::NonnullNetwork {
    r::NonnullNetwork {
        name: n.name.clone(),
        uuid: n.uuid,
    }
}

fn net_in(n: r::NonnullNetwork) -> NetworkRef {
    NetworkRef {
        name: n.name,
        uuid: n.uuid,
    }
}

fn port_out(p: &NetworkPortRef) -> r::NonnullNetworkPort {
    r::NonnullNetworkPort {
        net: net_out(&p.net),
        uuid: p.uuid,
    }
}

fn port_in(p: r::NonnullNetworkPort) -> NetworkPortRef {
    NetworkPortRef {
        net: net_in(p.net),
        uuid: p.uuid,
    }
}

impl Connection for RemoteNetworkConn {
    fn get_type(&self) -> &'static str {
        "network"
    }
    fn uri(&self) -> String {
        self.uri.clone()
    }
    fn network_lookup_by_name(&self, name: &str) -> Result<NetworkRef> {
        let ret: r::NetworkLookupByNameRet = self.call(
            procs::NETWORK_LOOKUP_BY_NAME,
            &r::NetworkLookupByNameArgs {
                name: name.to_string(),
            },
        )?;
        Ok(net_in(ret.net))
    }
    fn network_get_xml_desc(&self, net: &NetworkRef, flags: u32) -> Result<String> {
        let ret: r::NetworkGetXmlDescRet = self.call(
            procs::NETWORK_GET_XML_DESC,
            &r::NetworkGetXmlDescArgs {
                net: net_out(net),
                flags,
            },
        )?;
        Ok(ret.xml)
    }
    fn network_get_bridge_name(&self, net: &NetworkRef) -> Result<String> {
        let ret: r::NetworkGetBridgeNameRet = self.call(
            procs::NETWORK_GET_BRIDGE_NAME,
            &r::NetworkGetBridgeNameArgs { net: net_out(net) },
        )?;
        Ok(ret.name)
    }
    fn network_list_all_ports(&self, net: &NetworkRef, flags: u32) -> Result<Vec<NetworkPortRef>> {
        let ret: r::NetworkListAllPortsRet = self.call(
            procs::NETWORK_LIST_ALL_PORTS,
            &r::NetworkListAllPortsArgs {
                network: net_out(net),
                need_results: 1,
                flags,
            },
        )?;
        Ok(ret.ports.into_iter().map(port_in).collect())
    }
    fn network_port_lookup_by_uuid(
        &self,
        net: &NetworkRef,
        uuid: &[u8; 16],
    ) -> Result<NetworkPortRef> {
        let ret: r::NetworkPortLookupByUuidRet = self.call(
            procs::NETWORK_PORT_LOOKUP_BY_UUID,
            &r::NetworkPortLookupByUuidArgs {
                network: net_out(net),
                uuid: *uuid,
            },
        )?;
        Ok(port_in(ret.port))
    }
    fn network_port_create_xml(
        &self,
        net: &NetworkRef,
        xml: &str,
        flags: u32,
    ) -> Result<NetworkPortRef> {
        let ret: r::NetworkPortCreateXmlRet = self.call(
            procs::NETWORK_PORT_CREATE_XML,
            &r::NetworkPortCreateXmlArgs {
                network: net_out(net),
                xml: xml.to_string(),
                flags,
            },
        )?;
        Ok(port_in(ret.port))
    }
    fn network_port_get_xml_desc(&self, port: &NetworkPortRef, flags: u32) -> Result<String> {
        let ret: r::NetworkPortGetXmlDescRet = self.call(
            procs::NETWORK_PORT_GET_XML_DESC,
            &r::NetworkPortGetXmlDescArgs {
                port: port_out(port),
                flags,
            },
        )?;
        Ok(ret.xml)
    }
    fn network_port_delete(&self, port: &NetworkPortRef, flags: u32) -> Result<()> {
        self.call(
            procs::NETWORK_PORT_DELETE,
            &r::NetworkPortDeleteArgs {
                port: port_out(port),
                flags,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_network_daemon_is_found_beside_the_hypervisor_daemon() {
        let r = RemoteNetwork::beside(Path::new("/tmp/x/run/virtlxcd-sock"), "network:///system");
        assert_eq!(r.socket, Path::new("/tmp/x/run/virtnetworkd-sock"));
    }

    #[test]
    fn an_absent_daemon_is_a_system_error_naming_its_socket() {
        let r = RemoteNetwork {
            socket: PathBuf::from("/nonexistent/virtnetworkd-sock"),
            uri: "network:///system".into(),
        };
        let e = r.connect().err().map(|e| e.message()).unwrap_or_default();
        assert!(
            e.contains("Failed to connect socket to '/nonexistent/virtnetworkd-sock'"),
            "{e}"
        );
    }
}

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
use std::sync::Arc;

use daemon_link::DaemonLink;
use driver::{Connection, NetworkOpener, NetworkPortRef, NetworkRef, Result};
use protocol::remote as r;

/// Procedure numbers of the remote program used here.
mod procs {
    pub const NETWORK_GET_XML_DESC: i32 = 43;
    pub const NETWORK_GET_BRIDGE_NAME: i32 = 45;
    pub const NETWORK_LOOKUP_BY_NAME: i32 = 46;
    pub const NETWORK_GET_DHCP_LEASES: i32 = 341;
    pub const NETWORK_LIST_ALL_PORTS: i32 = 404;
    pub const NETWORK_PORT_LOOKUP_BY_UUID: i32 = 405;
    pub const NETWORK_PORT_CREATE_XML: i32 = 406;
    pub const NETWORK_PORT_GET_XML_DESC: i32 = 409;
    pub const NETWORK_PORT_DELETE: i32 = 410;
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
        RemoteNetwork {
            socket: daemon_link::socket_beside(own_socket, "virtnetworkd"),
            uri: uri.to_string(),
        }
    }

    /// Connects, authenticates as libvirt's client does (polkit when the
    /// daemon asks for it) and opens the URI.
    pub fn connect(&self) -> Result<RemoteNetworkConn> {
        Ok(RemoteNetworkConn {
            uri: self.uri.clone(),
            link: DaemonLink::open(&self.socket, &self.uri)?,
        })
    }

    /// The opener a hypervisor driver is given.
    pub fn opener(self) -> NetworkOpener {
        Arc::new(move || Ok(Arc::new(self.connect()?) as Arc<dyn Connection>))
    }
}

/// One open connection to virtnetworkd.
pub struct RemoteNetworkConn {
    uri: String,
    link: DaemonLink,
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
        let ret: r::NetworkLookupByNameRet = self.link.call(
            procs::NETWORK_LOOKUP_BY_NAME,
            &r::NetworkLookupByNameArgs {
                name: name.to_string(),
            },
        )?;
        Ok(net_in(ret.net))
    }
    fn network_get_xml_desc(&self, net: &NetworkRef, flags: u32) -> Result<String> {
        let ret: r::NetworkGetXmlDescRet = self.link.call(
            procs::NETWORK_GET_XML_DESC,
            &r::NetworkGetXmlDescArgs {
                net: net_out(net),
                flags,
            },
        )?;
        Ok(ret.xml)
    }
    fn network_get_dhcp_leases(
        &self,
        net: &NetworkRef,
        mac: Option<&str>,
        flags: u32,
    ) -> Result<Vec<driver::NetworkDhcpLease>> {
        let ret: r::NetworkGetDhcpLeasesRet = self.link.call(
            procs::NETWORK_GET_DHCP_LEASES,
            &r::NetworkGetDhcpLeasesArgs {
                net: net_out(net),
                mac: mac.map(str::to_string),
                need_results: 1,
                flags,
            },
        )?;
        Ok(ret
            .leases
            .into_iter()
            .map(|l| driver::NetworkDhcpLease {
                iface: l.iface,
                expirytime: l.expirytime,
                r#type: l.r#type,
                mac: l.mac,
                iaid: l.iaid,
                ipaddr: l.ipaddr,
                prefix: l.prefix,
                hostname: l.hostname,
                clientid: l.clientid,
            })
            .collect())
    }
    fn network_get_bridge_name(&self, net: &NetworkRef) -> Result<String> {
        let ret: r::NetworkGetBridgeNameRet = self.link.call(
            procs::NETWORK_GET_BRIDGE_NAME,
            &r::NetworkGetBridgeNameArgs { net: net_out(net) },
        )?;
        Ok(ret.name)
    }
    fn network_list_all_ports(&self, net: &NetworkRef, flags: u32) -> Result<Vec<NetworkPortRef>> {
        let ret: r::NetworkListAllPortsRet = self.link.call(
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
        let ret: r::NetworkPortLookupByUuidRet = self.link.call(
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
        let ret: r::NetworkPortCreateXmlRet = self.link.call(
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
        let ret: r::NetworkPortGetXmlDescRet = self.link.call(
            procs::NETWORK_PORT_GET_XML_DESC,
            &r::NetworkPortGetXmlDescArgs {
                port: port_out(port),
                flags,
            },
        )?;
        Ok(ret.xml)
    }
    fn network_port_delete(&self, port: &NetworkPortRef, flags: u32) -> Result<()> {
        self.link.call(
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

// SPDX-License-Identifier: LGPL-2.1-or-later
//! Network ports: `<networkport>` XML (virNetworkPortDefParse /
//! virNetworkPortDefFormat), the record of one guest NIC plugged into a
//! network.

use super::netdev::{
    prop_tristate, yes_no, Bandwidth, Mac, PciAddress, Tristate, VirtualPort, Vlan,
};
use super::{ForwardDriverName, MacTableManager};
use crate::error::ConfError;
use crate::uuid::Uuid;
use crate::xml::{self, Element};

/// virNetDevMacVLanMode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MacvlanMode {
    #[default]
    Vepa,
    Private,
    Bridge,
    Passthrough,
}

impl MacvlanMode {
    /// libvirt's name.
    pub fn as_str(self) -> &'static str {
        match self {
            MacvlanMode::Vepa => "vepa",
            MacvlanMode::Private => "private",
            MacvlanMode::Bridge => "bridge",
            MacvlanMode::Passthrough => "passthrough",
        }
    }

    /// Parses libvirt's name.
    pub fn parse(s: &str) -> Option<MacvlanMode> {
        Some(match s {
            "vepa" => MacvlanMode::Vepa,
            "private" => MacvlanMode::Private,
            "bridge" => MacvlanMode::Bridge,
            "passthrough" => MacvlanMode::Passthrough,
            _ => return None,
        })
    }
}

/// How the port is plugged (`<plug type=...>`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Plug {
    #[default]
    None,
    /// A bridge libvirt manages (`network`) or a host bridge (`bridge`).
    Bridge {
        network: bool,
        bridge: String,
        mac_table_manager: Option<MacTableManager>,
    },
    /// macvtap on a host device.
    Direct { dev: String, mode: MacvlanMode },
    /// A PCI function given to the guest.
    HostdevPci {
        addr: PciAddress,
        driver: Option<ForwardDriverName>,
        managed: Tristate,
    },
}

/// A network port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkPortDef {
    pub uuid: Uuid,
    pub owner_name: String,
    pub owner_uuid: Uuid,
    pub group: Option<String>,
    pub mac: Mac,
    pub virtualport: Option<VirtualPort>,
    pub bandwidth: Option<Bandwidth>,
    /// Class id for the bandwidth floor.
    pub class_id: u32,
    pub vlan: Option<Vlan>,
    pub trust_guest_rx_filters: Tristate,
    pub isolated_port: Tristate,
    pub plug: Plug,
}

fn text_of(e: &Element, path: &[&str]) -> Option<String> {
    let mut cur = e;
    for p in path {
        cur = cur.child(p)?;
    }
    Some(cur.text()).filter(|t| !t.is_empty())
}

fn parse_uuid(s: &str) -> Result<Uuid, ConfError> {
    Uuid::parse(s).ok_or_else(|| ConfError::internal(format!("Unable to parse UUID '{s}'")))
}

impl NetworkPortDef {
    /// Parses a `<networkport>` document.
    pub fn parse_str(text: &str) -> Result<NetworkPortDef, ConfError> {
        let root = xml::parse_document(text, "(networkport_definition)", "networkport")?;
        Self::from_element(&root)
    }

    /// virNetworkPortDefParseXML.
    pub fn from_element(root: &Element) -> Result<NetworkPortDef, ConfError> {
        let uuid = text_of(root, &["uuid"])
            .ok_or_else(|| ConfError::internal("network port has no uuid"))?;
        let uuid = parse_uuid(&uuid)?;
        let owner_name = text_of(root, &["owner", "name"])
            .ok_or_else(|| ConfError::internal("network port has no owner name"))?;
        let owner_uuid = text_of(root, &["owner", "uuid"])
            .ok_or_else(|| ConfError::internal("network port has no owner UUID"))?;
        let owner_uuid = parse_uuid(&owner_uuid)?;
        let group = text_of(root, &["group"]);
        let virtualport = root
            .child("virtualport")
            .map(|v| VirtualPort::parse(v, false))
            .transpose()?;
        let mac_s = root
            .child("mac")
            .and_then(|m| m.attr("address"))
            .filter(|m| !m.is_empty())
            .ok_or_else(|| ConfError::internal("network port has no mac"))?;
        let mac = Mac::parse(mac_s)
            .ok_or_else(|| ConfError::internal(format!("Unable to parse MAC '{mac_s}'")))?;
        let (bandwidth, class_id) = match root.child("bandwidth") {
            Some(b) => Bandwidth::parse(b, true, true)?,
            None => (None, 0),
        };
        let vlan = root.child("vlan").map(Vlan::parse).transpose()?;
        let isolated_port = match root.child("port") {
            Some(p) => prop_tristate(p, "isolated")?,
            None => None,
        };
        let trust_guest_rx_filters = match root.child("rxfilters") {
            Some(r) => prop_tristate(r, "trustGuest")?,
            None => None,
        };
        let plug = match root.child("plug") {
            None => Plug::None,
            Some(p) => Self::parse_plug(p)?,
        };
        Ok(NetworkPortDef {
            uuid,
            owner_name,
            owner_uuid,
            group,
            mac,
            virtualport,
            bandwidth,
            class_id,
            vlan,
            trust_guest_rx_filters,
            isolated_port,
            plug,
        })
    }

    fn parse_plug(p: &Element) -> Result<Plug, ConfError> {
        let Some(t) = p.attr("type") else {
            return Ok(Plug::None);
        };
        Ok(match t {
            "none" => Plug::None,
            "network" | "bridge" => {
                let bridge = p
                    .attr("bridge")
                    .ok_or_else(|| ConfError::xml("Missing network port bridge name"))?;
                let mac_table_manager = match p.attr("macTableManager") {
                    Some(m) => Some(MacTableManager::parse(m).ok_or_else(|| {
                        ConfError::xml(format!(
                            "Invalid macTableManager setting '{m}' in network port"
                        ))
                    })?),
                    None => None,
                };
                Plug::Bridge {
                    network: t == "network",
                    bridge: bridge.to_string(),
                    mac_table_manager,
                }
            }
            "direct" => {
                let dev = p
                    .attr("dev")
                    .ok_or_else(|| ConfError::xml("Missing network port link device name"))?;
                let mode = match p.attr("mode") {
                    Some(m) => MacvlanMode::parse(m).ok_or_else(|| {
                        ConfError::xml(format!("Invalid mode setting '{m}' in network port"))
                    })?,
                    None => MacvlanMode::default(),
                };
                Plug::Direct {
                    dev: dev.to_string(),
                    mode,
                }
            }
            "hostdev-pci" => {
                let managed = prop_tristate(p, "managed")?;
                let driver = match p
                    .child("driver")
                    .and_then(|d| d.attr("name"))
                    .filter(|n| !n.is_empty())
                {
                    Some(d) => Some(
                        ForwardDriverName::parse(d)
                            .ok_or_else(|| ConfError::xml("Missing network port driver name"))?,
                    ),
                    None => None,
                };
                let a = p
                    .child("address")
                    .ok_or_else(|| ConfError::xml("Missing network port PCI address"))?;
                Plug::HostdevPci {
                    addr: PciAddress::parse(a)?,
                    driver,
                    managed,
                }
            }
            other => {
                return Err(ConfError::xml_layer(format!(
                    "Invalid value for attribute 'type' in element 'plug': '{other}'."
                )))
            }
        })
    }

    /// virNetworkPortDefFormat.
    pub fn to_xml(&self) -> String {
        let mut out = String::from("<networkport>\n");
        out.push_str(&format!("  <uuid>{}</uuid>\n", self.uuid));
        out.push_str("  <owner>\n");
        out.push_str(&format!(
            "    <name>{}</name>\n",
            xml::escape(&self.owner_name)
        ));
        out.push_str(&format!("    <uuid>{}</uuid>\n", self.owner_uuid));
        out.push_str("  </owner>\n");
        if let Some(g) = &self.group {
            out.push_str(&format!("  <group>{}</group>\n", xml::escape(g)));
        }
        out.push_str(&format!("  <mac address='{}'/>\n", self.mac));
        if let Some(v) = &self.virtualport {
            v.format(&mut out, 2);
        }
        if let Some(b) = &self.bandwidth {
            b.format(self.class_id, &mut out, 2);
        }
        if let Some(v) = &self.vlan {
            v.format(&mut out, 2);
        }
        if let Some(i) = self.isolated_port {
            out.push_str(&format!("  <port isolated='{}'/>\n", yes_no(i)));
        }
        if let Some(t) = self.trust_guest_rx_filters {
            out.push_str(&format!("  <rxfilters trustGuest='{}'/>\n", yes_no(t)));
        }
        match &self.plug {
            Plug::None => {}
            Plug::Bridge {
                network,
                bridge,
                mac_table_manager,
            } => {
                out.push_str(&format!(
                    "  <plug type='{}' bridge='{}'",
                    if *network { "network" } else { "bridge" },
                    xml::escape(bridge)
                ));
                if let Some(m) = mac_table_manager {
                    out.push_str(&format!(" macTableManager='{}'", m.as_str()));
                }
                out.push_str("/>\n");
            }
            Plug::Direct { dev, mode } => {
                out.push_str(&format!(
                    "  <plug type='direct' dev='{}' mode='{}'/>\n",
                    xml::escape(dev),
                    mode.as_str()
                ));
            }
            Plug::HostdevPci {
                addr,
                driver,
                managed,
            } => {
                out.push_str("  <plug type='hostdev-pci'");
                if let Some(m) = managed {
                    out.push_str(&format!(" managed='{}'", yes_no(*m)));
                }
                out.push_str(">\n");
                if let Some(d) = driver {
                    out.push_str(&format!("    <driver name='{}'/>\n", d.as_str()));
                }
                addr.format(false, &mut out, 4);
                out.push_str("  </plug>\n");
            }
        }
        out.push_str("</networkport>\n");
        out
    }
}

// SPDX-License-Identifier: LGPL-2.1-or-later
//! The host interface driver: the network interfaces of the daemon's
//! network namespace as libvirt's udev backend reports them
//! (`interface:///system`, and the interface calls of the hypervisor
//! connections of a daemon that hosts it).
//!
//! Role: list the interfaces of sysfs's `net` class (without bridge ports
//! and tap devices, as libvirt leaves them out), active meaning
//! operational state `up`; look them up by name or MAC address; describe
//! one as `<interface>` XML: ethernet, bridge (forward delay, STP and its
//! ports), bond (mode, link monitoring, carrier, slaves) or VLAN (tag and
//! parent from /proc/net/vlan), with MTU, MAC and link. Like libvirt's
//! udev backend it does not change interfaces: define, undefine, start,
//! stop and the change transactions answer "not supported".
//!
//! Must not depend on: rpc, dispatch, protocol. Errors are `virterror`
//! errors from the interface domain.
//!
//! Invariants: nothing is cached; every answer is read from sysfs when
//! asked.
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use conf::interface::{BondMonitor, IfLink, IfaceKind, InterfaceDef, IF_STATES};
use driver::InterfaceRef;
use virterror::{ErrorCode, ErrorDomain, VirError};

type Result<T> = std::result::Result<T, VirError>;

/// VIR_CONNECT_LIST_INTERFACES_INACTIVE / _ACTIVE.
pub mod list {
    pub const INACTIVE: u32 = 1 << 0;
    pub const ACTIVE: u32 = 1 << 1;
}

/// VIR_INTERFACE_XML_INACTIVE.
pub const XML_INACTIVE: u32 = 1;

fn err(code: ErrorCode, detail: impl Into<String>) -> VirError {
    VirError::new(code, ErrorDomain::Interface, detail)
}

fn internal(detail: impl Into<String>) -> VirError {
    err(ErrorCode::InternalError, detail)
}

fn no_name(name: &str) -> VirError {
    err(
        ErrorCode::NoInterface,
        format!("couldn't find interface named '{name}'"),
    )
}

fn check_flags(flags: u32, allowed: u32, func: &str) -> Result<()> {
    VirError::check_flags(flags, allowed, func).map_err(|e| e.in_domain(ErrorDomain::Interface))
}

/// A file's text without its trailing newline.
fn read(p: &Path) -> Option<String> {
    let s = std::fs::read_to_string(p).ok()?;
    Some(s.trim_end_matches('\n').to_string())
}

/// The interfaces of one sysfs (and /proc for VLANs).
#[derive(Debug, Clone)]
pub struct InterfaceDriver {
    sys: PathBuf,
    proc_vlan: PathBuf,
}

impl Default for InterfaceDriver {
    fn default() -> Self {
        InterfaceDriver {
            sys: PathBuf::from("/sys"),
            proc_vlan: PathBuf::from("/proc/net/vlan"),
        }
    }
}

/// One listed interface.
#[derive(Debug, Clone)]
struct Entry {
    name: String,
    mac: String,
    up: bool,
    operstate: String,
}

impl InterfaceDriver {
    /// A driver on another sysfs and /proc/net/vlan (tests).
    pub fn with_roots(sys: impl Into<PathBuf>, proc_vlan: impl Into<PathBuf>) -> Self {
        InterfaceDriver {
            sys: sys.into(),
            proc_vlan: proc_vlan.into(),
        }
    }

    fn dir(&self, name: &str) -> PathBuf {
        self.sys.join("class/net").join(name)
    }

    /// Every interface libvirt lists: the `net` class but bridge ports
    /// and tap devices, in sysfs path order.
    fn entries(&self) -> Vec<Entry> {
        let mut v: Vec<(PathBuf, Entry)> = std::fs::read_dir(self.sys.join("class/net"))
            .map(|rd| {
                rd.flatten()
                    .filter_map(|e| {
                        let name = e.file_name().to_string_lossy().into_owned();
                        let dir = e.path();
                        if dir.join("brport/state").exists() || dir.join("tun_flags").exists() {
                            return None;
                        }
                        let operstate = read(&dir.join("operstate")).unwrap_or_default();
                        let real = std::fs::canonicalize(&dir).unwrap_or(dir.clone());
                        Some((
                            real,
                            Entry {
                                mac: read(&dir.join("address")).unwrap_or_default(),
                                up: operstate == "up",
                                operstate,
                                name,
                            },
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v.into_iter().map(|(_, e)| e).collect()
    }

    /// virConnectListAllInterfaces.
    pub fn list_all(&self, flags: u32) -> Result<Vec<InterfaceRef>> {
        check_flags(
            flags,
            list::ACTIVE | list::INACTIVE,
            "udevConnectListAllInterfaces",
        )?;
        let states = flags & (list::ACTIVE | list::INACTIVE);
        Ok(self
            .entries()
            .into_iter()
            .filter(|e| {
                states == 0
                    || (states & list::ACTIVE != 0 && e.up)
                    || (states & list::INACTIVE != 0 && !e.up)
            })
            .map(|e| InterfaceRef {
                name: e.name,
                mac: e.mac,
            })
            .collect())
    }

    /// virConnectListInterfaces (operational state up) and
    /// virConnectListDefinedInterfaces (down: an interface in another
    /// state, such as `unknown`, is in neither list).
    pub fn names(&self, active: bool) -> Vec<String> {
        let want = if active { "up" } else { "down" };
        self.entries()
            .into_iter()
            .filter(|e| e.operstate == want)
            .map(|e| e.name)
            .collect()
    }

    /// virInterfaceLookupByName.
    pub fn lookup_by_name(&self, name: &str) -> Result<InterfaceRef> {
        let dir = self.dir(name);
        if name.is_empty() || name.contains('/') || !dir.join("uevent").exists() {
            return Err(no_name(name));
        }
        Ok(InterfaceRef {
            name: name.to_string(),
            mac: read(&dir.join("address")).unwrap_or_default(),
        })
    }

    /// virInterfaceLookupByMACString: exactly one listed interface has
    /// that address.
    pub fn lookup_by_mac(&self, mac: &str) -> Result<InterfaceRef> {
        let hits: Vec<Entry> = self
            .entries()
            .into_iter()
            .filter(|e| e.mac == mac)
            .collect();
        match hits.as_slice() {
            [] => Err(err(
                ErrorCode::NoInterface,
                format!("couldn't find interface with MAC address '{mac}'"),
            )),
            [e] => Ok(InterfaceRef {
                name: e.name.clone(),
                mac: e.mac.clone(),
            }),
            _ => Err(err(
                ErrorCode::MultipleInterfaces,
                format!("the MAC address '{mac}' matches multiple interfaces"),
            )),
        }
    }

    /// virInterfaceIsActive.
    pub fn is_active(&self, name: &str) -> Result<bool> {
        let dir = self.dir(name);
        if name.is_empty() || name.contains('/') || !dir.join("uevent").exists() {
            return Err(no_name(name));
        }
        Ok(read(&dir.join("operstate")).as_deref() == Some("up"))
    }

    /// virInterfaceGetXMLDesc.
    pub fn xml(&self, name: &str, flags: u32) -> Result<String> {
        check_flags(flags, XML_INACTIVE, "udevInterfaceGetXMLDesc")?;
        Ok(self.def(name)?.to_xml())
    }

    /// The definition of interface `name` as libvirt's udev backend
    /// builds it (udevGetIfaceDef).
    pub fn def(&self, name: &str) -> Result<InterfaceDef> {
        let dir = self.dir(name);
        if name.is_empty() || name.contains('/') || !dir.join("uevent").exists() {
            return Err(no_name(name));
        }
        let mac = read(&dir.join("address"));
        let link = self.link(name)?;
        let mtu_s = read(&dir.join("mtu")).unwrap_or_default();
        let mtu = mtu_s
            .parse::<u32>()
            .map_err(|_| internal(format!("Could not parse MTU value '{mtu_s}'")))?;
        let devtype = read(&dir.join("uevent")).and_then(|u| {
            u.lines()
                .find_map(|l| l.strip_prefix("DEVTYPE=").map(str::to_string))
        });
        let kind = match devtype.as_deref() {
            Some("vlan") => "vlan",
            Some("bridge") => "bridge",
            Some("bond") => "bond",
            _ if dir.join("bonding/mode").exists() => "bond",
            _ if name.contains('.') => "vlan",
            _ => "ethernet",
        };
        let kind = match kind {
            "vlan" => self.vlan(name)?,
            "bridge" => self.bridge(name, &dir)?,
            "bond" => self.bond(name, &dir)?,
            _ => IfaceKind::Ethernet { mac },
        };
        Ok(InterfaceDef {
            name: name.to_string(),
            start: None,
            mtu,
            protocols: Vec::new(),
            link,
            kind,
        })
    }

    /// virNetDevGetLinkInfo.
    fn link(&self, name: &str) -> Result<IfLink> {
        let dir = self.dir(name);
        let state = read(&dir.join("operstate"))
            .ok_or_else(|| internal(format!("Unable to parse: {name}")))?;
        if !IF_STATES[1..].contains(&state.as_str()) {
            return Err(internal(format!("Unable to parse: {state}")));
        }
        let mut l = IfLink { speed: 0, state };
        if l.state == "up" {
            if let Some(s) = read(&dir.join("speed")) {
                // The kernel's -1 (unknown) reads as its 32-bit wrap.
                l.speed = s
                    .trim()
                    .parse::<i64>()
                    .ok()
                    .map(|v| if v < 0 { v + (1i64 << 32) } else { v })
                    .and_then(|v| u32::try_from(v).ok())
                    .unwrap_or(0);
            }
        }
        Ok(l)
    }

    fn vlan(&self, name: &str) -> Result<IfaceKind> {
        let no_vid = || {
            internal(format!(
                "failed to find the VID for the VLAN device '{name}'"
            ))
        };
        let no_dev = || {
            internal(format!(
                "failed to find the real device for the VLAN device '{name}'"
            ))
        };
        let text = std::fs::read_to_string(self.proc_vlan.join(name)).map_err(|e| {
            err(
                ErrorCode::SystemError,
                format!(
                    "Failed to open file '{}': {e}",
                    self.proc_vlan.join(name).display()
                ),
            )
        })?;
        let at = text.find("VID: ").ok_or_else(no_vid)? + 5;
        let rest = &text[at..];
        let n = rest.chars().take_while(char::is_ascii_digit).count();
        if n == 0 || !rest[n..].starts_with(|c: char| c.is_ascii_whitespace()) {
            return Err(no_vid());
        }
        let tag = rest[..n].to_string();
        let d = rest[n..].find("\nDevice: ").ok_or_else(no_dev)? + n + 9;
        let dev: String = rest[d..].chars().take_while(|c| *c != '\n').collect();
        if dev.is_empty() {
            return Err(no_dev());
        }
        Ok(IfaceKind::Vlan {
            tag,
            dev: Some(dev),
        })
    }

    fn bridge(&self, name: &str, dir: &Path) -> Result<IfaceKind> {
        let delay = read(&dir.join("bridge/forward_delay")).ok_or_else(|| {
            internal(format!(
                "Could not retrieve 'bridge/forward_delay' for '{name}'"
            ))
        })?;
        let stp_s = read(&dir.join("bridge/stp_state")).ok_or_else(|| {
            internal(format!(
                "Could not retrieve 'bridge/stp_state' for '{name}'"
            ))
        })?;
        let stp_n = stp_s.trim().parse::<i32>().map_err(|_| {
            internal(format!(
                "Could not parse 'bridge/stp_state' '{stp_s}' for '{name}'"
            ))
        })?;
        let stp = match stp_n {
            -1 => None,
            0 => Some(false),
            1 => Some(true),
            n => {
                return Err(internal(format!(
                    "Invalid STP state value {n} received for '{name}'. Must be -1, 0, or 1."
                )))
            }
        };
        let mut members: Vec<String> = std::fs::read_dir(dir.join("brif"))
            .map_err(|e| {
                err(
                    ErrorCode::SystemError,
                    format!("Could not get members of bridge '{name}': {e}"),
                )
            })?
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            // A guest's tap device (vnetN) is not a configured member.
            .filter(|m| {
                !(m.len() >= 5
                    && m.starts_with("vnet")
                    && m.as_bytes().get(4).is_some_and(u8::is_ascii_digit))
            })
            .collect();
        members.sort();
        let ifaces = members
            .iter()
            .map(|m| {
                self.def(m).map_err(|_| {
                    internal(format!(
                        "Could not get interface information for '{m}', which is a member of bridge '{name}'"
                    ))
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(IfaceKind::Bridge {
            stp,
            delay: Some(delay),
            ifaces,
        })
    }

    fn bond(&self, name: &str, dir: &Path) -> Result<IfaceKind> {
        let attr = |a: &str| -> Result<String> {
            read(&dir.join("bonding").join(a))
                .ok_or_else(|| internal(format!("Could not retrieve 'bonding/{a}' for '{name}'")))
        };
        let int = |a: &str| -> Result<i32> {
            let s = attr(a)?;
            s.trim()
                .parse::<i32>()
                .map_err(|_| internal(format!("Could not parse 'bonding/{a}' '{s}' for '{name}'")))
        };
        // "balance-rr 0": the number after the space.
        let numbered = |a: &str| -> Result<i32> {
            let s = attr(a)?;
            let (_, n) = s.split_once(' ').ok_or_else(|| {
                internal(format!("Invalid format for 'bonding/{a}' for '{name}'"))
            })?;
            if n.is_empty() {
                return Err(internal(format!(
                    "Unable to find correct value in 'bonding/{a}' for '{name}'"
                )));
            }
            n.trim()
                .parse::<i32>()
                .map_err(|_| internal(format!("Could not parse 'bonding/{a}' '{s}' for '{name}'")))
        };
        let downdelay = int("downdelay")?;
        let updelay = int("updelay")?;
        let freq = int("miimon")?;
        let interval = int("arp_interval")?;
        let mode = numbered("mode")?;
        let validate = numbered("arp_validate")?;
        let carrier = int("use_carrier")?;
        let target = attr("arp_ip_target")?;
        const MODES: [&str; 7] = [
            "balance-rr",
            "active-backup",
            "balance-xor",
            "broadcast",
            "802.3ad",
            "balance-tlb",
            "balance-alb",
        ];
        let monitor = if interval > 0 {
            BondMonitor::Arp {
                interval,
                target,
                validate: match validate {
                    1 => Some("active".into()),
                    2 => Some("backup".into()),
                    3 => Some("all".into()),
                    _ => None,
                },
            }
        } else if freq > 0 {
            BondMonitor::Mii {
                freq,
                downdelay,
                updelay,
                carrier: match carrier {
                    0 => Some("ioctl".into()),
                    1 => Some("netif".into()),
                    _ => None,
                },
            }
        } else {
            BondMonitor::None
        };
        let mut slaves: Vec<String> = std::fs::read_dir(dir)
            .map_err(|e| {
                err(
                    ErrorCode::SystemError,
                    format!("Could not get slaves of bond '{name}': {e}"),
                )
            })?
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("slave_"))
            .collect();
        slaves.sort();
        let ifaces = slaves
            .iter()
            .map(|s| {
                let m = s.split_once('_').map(|(_, m)| m).unwrap_or("");
                if m.is_empty() {
                    return Err(internal(format!(
                        "Invalid enslaved interface name '{s}' seen for bond '{name}'"
                    )));
                }
                self.def(m).map_err(|_| {
                    internal(format!(
                        "Could not get interface information for '{s}', which is a enslaved in bond '{name}'"
                    ))
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(IfaceKind::Bond {
            mode: usize::try_from(mode)
                .ok()
                .and_then(|m| MODES.get(m))
                .map(|m| m.to_string()),
            monitor,
            ifaces,
        })
    }
}

/// The factory a daemon registers: claims `interface:///system` (root)
/// or `interface:///session`.
pub struct InterfaceFactory {
    driver: Arc<InterfaceDriver>,
    privileged: bool,
}

impl InterfaceFactory {
    /// A factory on the host's sysfs.
    pub fn new(privileged: bool) -> InterfaceFactory {
        InterfaceFactory {
            driver: Arc::new(InterfaceDriver::default()),
            privileged,
        }
    }
}

impl driver::DriverFactory for InterfaceFactory {
    fn name(&self) -> &'static str {
        "interface"
    }

    fn claims(&self, uri: &driver::Uri) -> bool {
        uri.scheme == "interface"
    }

    fn uses_shared_network(&self) -> bool {
        false
    }

    fn open(
        &self,
        uri: &driver::Uri,
        _auth: &driver::ConnectAuth,
    ) -> driver::Result<Arc<dyn driver::Connection>> {
        let want = if self.privileged {
            "/system"
        } else {
            "/session"
        };
        if uri.path != want {
            return Err(VirError::new(
                ErrorCode::InternalError,
                ErrorDomain::None,
                format!(
                    "unexpected interface URI path '{}', try interface://{want}",
                    uri.path
                ),
            ));
        }
        Ok(Arc::new(InterfaceConnection {
            driver: self.driver.clone(),
            uri: format!("interface://{want}"),
        }))
    }
}

/// A client's connection to the interface driver.
pub struct InterfaceConnection {
    driver: Arc<InterfaceDriver>,
    uri: String,
}

impl driver::Connection for InterfaceConnection {
    fn get_type(&self) -> &'static str {
        "interface"
    }

    fn uri(&self) -> String {
        self.uri.clone()
    }

    fn list_all_interfaces(&self, flags: u32) -> driver::Result<Vec<InterfaceRef>> {
        self.driver.list_all(flags)
    }

    fn interface_list_names(&self, active: bool) -> driver::Result<Vec<String>> {
        Ok(self.driver.names(active))
    }

    fn interface_lookup_by_name(&self, name: &str) -> driver::Result<InterfaceRef> {
        self.driver.lookup_by_name(name)
    }

    fn interface_lookup_by_mac(&self, mac: &str) -> driver::Result<InterfaceRef> {
        self.driver.lookup_by_mac(mac)
    }

    fn interface_get_xml_desc(&self, iface: &InterfaceRef, flags: u32) -> driver::Result<String> {
        self.driver.xml(&iface.name, flags)
    }

    fn interface_is_active(&self, iface: &InterfaceRef) -> driver::Result<bool> {
        self.driver.is_active(&iface.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(p: &Path, s: &str) {
        if let Some(d) = p.parent() {
            std::fs::create_dir_all(d).unwrap_or_else(|e| panic!("{e}"));
        }
        std::fs::write(p, s).unwrap_or_else(|e| panic!("{e}"));
    }

    /// A sysfs with a bridge (one port), a bond (miimon, two slaves) and
    /// a VLAN, as the kernel lays them out.
    fn fake() -> (PathBuf, InterfaceDriver) {
        let root = std::env::temp_dir().join(format!("lvrs-iface-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let net = root.join("sys/class/net");
        let dev = |name: &str, mac: &str, devtype: Option<&str>, state: &str| {
            let d = net.join(name);
            let ue = devtype
                .map(|t| format!("DEVTYPE={t}\n"))
                .unwrap_or_default();
            write(&d.join("uevent"), &format!("{ue}INTERFACE={name}\n"));
            write(&d.join("address"), &format!("{mac}\n"));
            write(&d.join("operstate"), &format!("{state}\n"));
            write(&d.join("mtu"), "1500\n");
            write(&d.join("speed"), "1000\n");
            d
        };
        let br = dev("br0", "52:54:00:00:00:10", Some("bridge"), "up");
        write(&br.join("bridge/forward_delay"), "1500\n");
        write(&br.join("bridge/stp_state"), "0\n");
        std::fs::create_dir_all(br.join("brif/eth1")).unwrap_or_else(|e| panic!("{e}"));
        std::fs::create_dir_all(br.join("brif/vnet0")).unwrap_or_else(|e| panic!("{e}"));
        let p = dev("eth1", "52:54:00:00:00:11", None, "up");
        write(&p.join("brport/state"), "3\n");
        let b = dev("bond0", "52:54:00:00:00:20", Some("bond"), "down");
        for (k, v) in [
            ("downdelay", "200"),
            ("updelay", "0"),
            ("miimon", "100"),
            ("arp_interval", "0"),
            ("mode", "active-backup 1"),
            ("arp_validate", "none 0"),
            ("use_carrier", "1"),
            ("arp_ip_target", ""),
        ] {
            write(&b.join("bonding").join(k), &format!("{v}\n"));
        }
        std::fs::create_dir_all(b.join("slave_eth2")).unwrap_or_else(|e| panic!("{e}"));
        dev("eth2", "52:54:00:00:00:21", None, "lowerlayerdown");
        dev("eth2.42", "52:54:00:00:00:21", Some("vlan"), "down");
        write(
            &root.join("proc/net/vlan/eth2.42"),
            "eth2.42  VID: 42\t REORDER_HDR: 1  dev->priv_flags: 1001\n         total frames received            0\nDevice: eth2\nINGRESS priority mappings: 0:0\n",
        );
        let d = InterfaceDriver::with_roots(root.join("sys"), root.join("proc/net/vlan"));
        (root, d)
    }

    #[test]
    fn bridges_bonds_and_vlans_are_described_as_libvirt_does() {
        let (root, d) = fake();
        assert_eq!(
            d.xml("br0", 0).unwrap_or_else(|e| panic!("{e}")),
            "<interface type='bridge' name='br0'>\n  <mtu size='1500'/>\n  <bridge stp='off' delay='1500'>\n    <interface type='ethernet' name='eth1'>\n      <link speed='1000' state='up'/>\n      <mac address='52:54:00:00:00:11'/>\n    </interface>\n  </bridge>\n</interface>\n"
        );
        assert_eq!(
            d.xml("bond0", 0).unwrap_or_else(|e| panic!("{e}")),
            "<interface type='bond' name='bond0'>\n  <mtu size='1500'/>\n  <link state='down'/>\n  <bond mode='active-backup'>\n    <miimon freq='100' downdelay='200' carrier='netif'/>\n    <interface type='ethernet' name='eth2'>\n      <link state='lowerlayerdown'/>\n      <mac address='52:54:00:00:00:21'/>\n    </interface>\n  </bond>\n</interface>\n"
        );
        assert_eq!(
            d.xml("eth2.42", 0).unwrap_or_else(|e| panic!("{e}")),
            "<interface type='vlan' name='eth2.42'>\n  <mtu size='1500'/>\n  <link state='down'/>\n  <vlan tag='42'>\n    <interface name='eth2'/>\n  </vlan>\n</interface>\n"
        );
        // Bridge ports are not listed; eth2 (lowerlayerdown) is neither
        // active nor "defined".
        let all: Vec<String> = d
            .list_all(0)
            .unwrap_or_default()
            .into_iter()
            .map(|i| i.name)
            .collect();
        assert_eq!(all, ["bond0", "br0", "eth2", "eth2.42"]);
        assert_eq!(d.names(true), ["br0"]);
        assert_eq!(d.names(false), ["bond0", "eth2.42"]);
        let e = d
            .lookup_by_mac("52:54:00:00:00:21")
            .err()
            .map(|e| e.message());
        assert_eq!(
            e.as_deref(),
            Some("multiple matching interfaces found: the MAC address '52:54:00:00:00:21' matches multiple interfaces")
        );
        let e = d.xml("nosuch", 0).err().map(|e| e.message());
        assert_eq!(
            e.as_deref(),
            Some("Interface not found: couldn't find interface named 'nosuch'")
        );
        let _ = std::fs::remove_dir_all(root);
    }
}

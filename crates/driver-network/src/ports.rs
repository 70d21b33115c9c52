// SPDX-License-Identifier: LGPL-2.1-or-later
//! Network ports: a guest NIC plugged into a running network
//! (virNetworkPort*). Allocation decides how the NIC is plugged (the
//! network's bridge, a host bridge, a macvtap link device or a PCI
//! function) from the network's forward mode and fills in what the port
//! inherits (portgroup bandwidth, VLAN, rx filter trust, isolation), as
//! libvirt's networkAllocatePort; release undoes the accounting.
//!
//! Each port of a running network is kept, as libvirt keeps it, in
//! `STATE_DIR/NETWORK/ports/UUID.xml` (written atomically), so a daemon
//! restarted while guests run finds their ports again. The bandwidth
//! floor accounting (class IDs 0-2 are the network's own, every port
//! with a floor takes the next free one; the floors' sum may not exceed
//! the network's inbound average or peak) is libvirt's too.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use conf::network::netdev::Bandwidth;
use conf::network::port::{MacvlanMode, NetworkPortDef, Plug};
use conf::network::{ForwardIfDevice, ForwardType, NetworkDef};
use driver::{Error, Result};
use virterror::{ErrorCode, ErrorDomain};

const D: ErrorDomain = ErrorDomain::Network;

/// virNetworkPortCreateFlags.
pub const CREATE_RECLAIM: u32 = 1;
pub const CREATE_VALIDATE: u32 = 2;

/// The bandwidth parameter names of virNetworkPort{Get,Set}Parameters.
pub const IN_AVERAGE: &str = "inbound.average";
pub const IN_PEAK: &str = "inbound.peak";
pub const IN_BURST: &str = "inbound.burst";
pub const IN_FLOOR: &str = "inbound.floor";
pub const OUT_AVERAGE: &str = "outbound.average";
pub const OUT_PEAK: &str = "outbound.peak";
pub const OUT_BURST: &str = "outbound.burst";

/// The directory of a network's port files.
pub fn port_dir(state_dir: &Path, network: &str) -> PathBuf {
    state_dir.join(network).join("ports")
}

fn port_file(dir: &Path, uuid: &conf::Uuid) -> PathBuf {
    dir.join(format!("{uuid}.xml"))
}

/// virXMLSaveFile's header and the port's XML.
pub fn port_text(port: &NetworkPortDef) -> String {
    format!(
        "<!--\nWARNING: THIS IS AN AUTO-GENERATED FILE. CHANGES TO IT ARE LIKELY TO BE\n\
         OVERWRITTEN AND LOST. Changes to this xml configuration should be made using:\n  \
         virsh net-port-create {}\nor other application using the libvirt API.\n-->\n\n{}",
        port.uuid,
        port.to_xml()
    )
}

/// Writes a port's status file.
pub fn save_port(dir: &Path, port: &NetworkPortDef) -> Result<()> {
    std::fs::create_dir_all(dir)
        .map_err(|e| crate::status::file_error("cannot create directory", dir, &e))?;
    let path = port_file(dir, &port.uuid);
    host::fs::write_atomic(&path, port_text(port).as_bytes(), 0o600).map_err(|e| {
        Error::new(
            ErrorCode::SystemError,
            D,
            format!("cannot save port status file '{}': {e}", path.display()),
        )
    })
}

/// Removes a port's status file.
pub fn delete_port(dir: &Path, port: &NetworkPortDef) -> Result<()> {
    let path = port_file(dir, &port.uuid);
    match std::fs::remove_file(&path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::new(
            ErrorCode::SystemError,
            D,
            format!(
                "Unable to delete {}: {}",
                path.display(),
                virterror::os_error_text(&e)
            ),
        )),
        _ => Ok(()),
    }
}

/// Removes every port file of a network (it stopped), and the
/// directories when empty.
pub fn delete_all(state_dir: &Path, network: &str) {
    let dir = port_dir(state_dir, network);
    if let Ok(rd) = std::fs::read_dir(&dir) {
        for e in rd.flatten() {
            if e.path().extension().is_some_and(|x| x == "xml") {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    let _ = std::fs::remove_dir(&dir);
    let _ = std::fs::remove_dir(state_dir.join(network));
}

/// Reads a running network's port files back (unreadable ones are
/// logged and skipped).
pub fn load_all(state_dir: &Path, network: &str) -> Vec<NetworkPortDef> {
    let dir = port_dir(state_dir, network);
    let Ok(rd) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = rd
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "xml"))
        .collect();
    paths.sort();
    let mut out = Vec::new();
    for p in paths {
        match std::fs::read_to_string(&p)
            .map_err(|e| e.to_string())
            .and_then(|t| NetworkPortDef::parse_str(&t).map_err(|e| e.to_string()))
        {
            Ok(port) => out.push(port),
            Err(e) => eprintln!("network driver: ignoring port file {}: {e}", p.display()),
        }
    }
    out
}

/// The class IDs in use: 0-2 are the network's own, then one per port
/// with a bandwidth floor.
pub fn class_ids(ports: &[NetworkPortDef]) -> BTreeSet<u32> {
    let mut ids: BTreeSet<u32> = (0..=2).collect();
    ids.extend(ports.iter().map(|p| p.class_id).filter(|&c| c != 0));
    ids
}

/// A bitmap as libvirt formats one: ranges `a-b` and single bits,
/// comma separated.
pub fn format_bitmap(ids: &BTreeSet<u32>) -> String {
    let mut out = Vec::new();
    let mut it = ids.iter().copied().peekable();
    while let Some(start) = it.next() {
        let mut end = start;
        while it.peek() == Some(&(end + 1)) {
            end += 1;
            it.next();
        }
        out.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
    }
    out.join(",")
}

/// The sum of the inbound floors of the ports that hold a class.
pub fn floor_sum(ports: &[NetworkPortDef]) -> u64 {
    ports
        .iter()
        .filter(|p| p.class_id != 0)
        .filter_map(|p| p.bandwidth.as_ref()?.inbound.as_ref().map(|r| r.floor))
        .sum()
}

fn has_floor(b: Option<&Bandwidth>) -> bool {
    b.and_then(|b| b.inbound.as_ref())
        .is_some_and(|r| r.floor > 0)
}

fn floor_of(b: Option<&Bandwidth>) -> u64 {
    b.and_then(|b| b.inbound.as_ref()).map_or(0, |r| r.floor)
}

/// networkCheckBandwidth: whether `new` (replacing `old`) fits the
/// network's inbound QoS; `Ok(true)` when a class is needed.
fn check_bandwidth(
    def: &NetworkDef,
    ports: &[NetworkPortDef],
    mac: &str,
    new: Option<&Bandwidth>,
    old: Option<&Bandwidth>,
) -> Result<bool> {
    let unsupported = |m: String| Error::new(ErrorCode::OperationUnsupported, D, m);
    let supports_floor = matches!(
        def.forward.mode,
        ForwardType::None | ForwardType::Nat | ForwardType::Route | ForwardType::Open
    );
    if has_floor(new) && !supports_floor {
        return Err(unsupported(format!(
            "Invalid use of 'floor' on interface with MAC address {mac} - 'floor' is only supported for interface type 'network' with forward type 'nat', 'route', 'open' or none"
        )));
    }
    let net_in = def.bandwidth.as_ref().and_then(|b| b.inbound.as_ref());
    if has_floor(new) && net_in.is_none() {
        return Err(unsupported(format!(
            "Invalid use of 'floor' on interface with MAC address {mac} - network '{}' has no inbound QoS set",
            def.name
        )));
    }
    let Some(net_in) = net_in else {
        return Ok(false);
    };
    if !has_floor(new) && !has_floor(old) {
        return Ok(false);
    }
    let sum = floor_sum(ports) - floor_of(old) + floor_of(new);
    let bridge = def.bridge.as_deref().unwrap_or("");
    let (what, limit) = if net_in.peak > 0 {
        ("peak", net_in.peak)
    } else {
        ("average", net_in.average)
    };
    if sum > limit {
        return Err(invalid(format!(
            "Cannot plug '{mac}' interface into '{bridge}' because new combined inbound floor={sum} would overcommit {what}={limit} on network '{}'",
            def.name
        )));
    }
    Ok(true)
}

fn invalid(m: String) -> Error {
    Error::operation_invalid(D, m)
}

fn internal(m: String) -> Error {
    Error::new(ErrorCode::InternalError, D, m)
}

fn vport_name(port: &NetworkPortDef) -> &'static str {
    port.virtualport.as_ref().map_or("", |v| v.kind.as_str())
}

/// networkAllocatePort: decides the plug of `port` on the running network
/// `def`, whose other ports are `ports`, and counts the connection.
pub fn allocate(
    def: &mut NetworkDef,
    ports: &[NetworkPortDef],
    port: &mut NetworkPortDef,
) -> Result<()> {
    let portgroup = match &port.group {
        Some(g) => def.portgroups.iter().find(|p| &p.name == g),
        None => def.portgroups.iter().find(|p| p.is_default),
    }
    .cloned();
    if port.bandwidth.is_none() {
        port.bandwidth = portgroup.as_ref().and_then(|p| p.bandwidth.clone());
    }
    if port.vlan.as_ref().filter(|v| !v.tags.is_empty()).is_none() {
        let vlan = portgroup
            .as_ref()
            .and_then(|p| p.vlan.clone())
            .filter(|v| !v.tags.is_empty())
            .or_else(|| def.vlan.clone().filter(|v| !v.tags.is_empty()));
        if vlan.is_some() {
            port.vlan = vlan;
        }
    }
    if port.trust_guest_rx_filters.is_none() {
        port.trust_guest_rx_filters = portgroup
            .as_ref()
            .and_then(|p| p.trust_guest_rx_filters)
            .or(def.trust_guest_rx_filters);
    }
    if port.isolated_port.is_none() {
        port.isolated_port = def.isolated_port;
    }
    if port.virtualport.is_none() {
        port.virtualport = portgroup
            .as_ref()
            .and_then(|p| p.virtualport.clone())
            .or_else(|| def.virtualport.clone());
    }
    let mut used_if: Option<usize> = None;
    match def.forward.mode {
        ForwardType::None | ForwardType::Nat | ForwardType::Route | ForwardType::Open => {
            port.plug = Plug::Bridge {
                network: true,
                bridge: def.bridge.clone().unwrap_or_default(),
                mac_table_manager: def.mac_table_manager,
            };
            if port.virtualport.is_some() {
                return Err(Error::new(
                    ErrorCode::ConfigUnsupported,
                    D,
                    format!(
                        "<virtualport type='{}'> not supported for network '{}' which uses IP forwarding",
                        vport_name(port),
                        def.name
                    ),
                ));
            }
        }
        ForwardType::Bridge if def.bridge.is_some() => {
            port.plug = Plug::Bridge {
                network: false,
                bridge: def.bridge.clone().unwrap_or_default(),
                mac_table_manager: def.mac_table_manager,
            };
            if port
                .virtualport
                .as_ref()
                .is_some_and(|v| v.kind.as_str() != "openvswitch")
            {
                return Err(Error::new(
                    ErrorCode::ConfigUnsupported,
                    D,
                    format!(
                        "<virtualport type='{}'> not supported for network '{}' which uses a bridge device",
                        vport_name(port),
                        def.name
                    ),
                ));
            }
        }
        ForwardType::Hostdev => {
            let i = def
                .forward
                .ifs
                .iter()
                .position(|f| f.connections == 0)
                .ok_or_else(|| {
                    internal(format!(
                        "network '{}' requires exclusive access to interfaces, but none are available",
                        def.name
                    ))
                })?;
            let ForwardIfDevice::Pci(addr) = &def.forward.ifs[i].device else {
                return Err(internal(format!(
                    "network '{}' requires exclusive access to interfaces, but none are available",
                    def.name
                )));
            };
            port.plug = Plug::HostdevPci {
                addr: *addr,
                driver: def.forward.driver,
                managed: Some(def.forward.managed),
            };
            used_if = Some(i);
        }
        mode => {
            // bridge without a bridge device, private, vepa, passthrough:
            // macvtap on a device of the pool.
            let macvlan = match mode {
                ForwardType::Private => MacvlanMode::Private,
                ForwardType::Vepa => MacvlanMode::Vepa,
                ForwardType::Passthrough => MacvlanMode::Passthrough,
                _ => MacvlanMode::Bridge,
            };
            if def.forward.ifs.is_empty() {
                return Err(internal(format!(
                    "network '{}' uses a direct mode, but has no forward dev and no interface pool",
                    def.name
                )));
            }
            let exclusive = mode == ForwardType::Passthrough;
            let i = if exclusive {
                def.forward.ifs.iter().position(|f| f.connections == 0)
            } else {
                def.forward
                    .ifs
                    .iter()
                    .enumerate()
                    .min_by_key(|(_, f)| f.connections)
                    .map(|(i, _)| i)
            }
            .ok_or_else(|| {
                internal(format!(
                    "network '{}' requires exclusive access to interfaces, but none are available",
                    def.name
                ))
            })?;
            let ForwardIfDevice::Netdev(dev) = &def.forward.ifs[i].device else {
                return Err(internal(format!(
                    "network '{}' uses a direct mode, but has no forward dev and no interface pool",
                    def.name
                )));
            };
            port.plug = Plug::Direct {
                dev: dev.clone(),
                mode: macvlan,
            };
            used_if = Some(i);
        }
    }
    let mac = port.mac.to_string();
    if check_bandwidth(def, ports, &mac, port.bandwidth.as_ref(), None)? {
        let ids = class_ids(ports);
        port.class_id = (0..).find(|i| !ids.contains(i)).unwrap_or(0);
    }
    def.connections += 1;
    if let Some(i) = used_if {
        def.forward.ifs[i].connections += 1;
    }
    Ok(())
}

/// networkNotifyPort: counts a port plugged before (a reclaimed port, or
/// one found again at start-up).
pub fn notify(def: &mut NetworkDef, port: &NetworkPortDef) -> Result<()> {
    let dev = match &port.plug {
        Plug::None => {
            return Err(internal(
                "Unexpectedly got a network port without a plug".to_string(),
            ))
        }
        Plug::Bridge { .. } => None,
        Plug::Direct { dev, .. } => Some(
            def.forward
                .ifs
                .iter()
                .position(|f| matches!(&f.device, ForwardIfDevice::Netdev(d) if d == dev))
                .ok_or_else(|| {
                    internal(format!(
                        "network '{}' doesn't have dev='{dev}' in use by domain",
                        def.name
                    ))
                })?,
        ),
        Plug::HostdevPci { addr, .. } => Some(
            def.forward
                .ifs
                .iter()
                .position(|f| matches!(&f.device, ForwardIfDevice::Pci(a) if a == addr))
                .ok_or_else(|| {
                    internal(format!(
                        "network '{}' doesn't have PCI device {:04x}:{:02x}:{:02x}.{:x} in use by domain",
                        def.name, addr.domain, addr.bus, addr.slot, addr.function
                    ))
                })?,
        ),
    };
    def.connections += 1;
    if let Some(i) = dev {
        def.forward.ifs[i].connections += 1;
    }
    Ok(())
}

/// networkReleasePort: the connection is no longer counted.
pub fn release(def: &mut NetworkDef, port: &NetworkPortDef) {
    let dev = match &port.plug {
        Plug::Direct { dev, .. } => def
            .forward
            .ifs
            .iter()
            .position(|f| matches!(&f.device, ForwardIfDevice::Netdev(d) if d == dev)),
        Plug::HostdevPci { addr, .. } => def
            .forward
            .ifs
            .iter()
            .position(|f| matches!(&f.device, ForwardIfDevice::Pci(a) if a == addr)),
        _ => None,
    };
    def.connections = (def.connections - 1).max(0);
    if let Some(i) = dev {
        let c = &mut def.forward.ifs[i].connections;
        *c = (*c - 1).max(0);
    }
}

/// networkUpdatePortBandwidth's check and class: the class the port
/// holds after its bandwidth becomes `new`.
pub fn update_bandwidth(
    def: &NetworkDef,
    ports: &[NetworkPortDef],
    port: &NetworkPortDef,
    new: Option<&Bandwidth>,
) -> Result<u32> {
    let others: Vec<NetworkPortDef> = ports
        .iter()
        .filter(|p| p.uuid != port.uuid)
        .cloned()
        .collect();
    let mac = port.mac.to_string();
    let needs = check_bandwidth(def, &others, &mac, new, None)?;
    if !needs {
        return Ok(0);
    }
    if port.class_id != 0 {
        return Ok(port.class_id);
    }
    let ids = class_ids(&others);
    Ok((0..).find(|i| !ids.contains(i)).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn port(mac: &str, extra: &str) -> NetworkPortDef {
        NetworkPortDef::parse_str(&format!(
            "<networkport><uuid>{}</uuid><owner><name>g</name>\
             <uuid>c7a5fdbd-edaf-9455-926a-d65c16db1809</uuid></owner>\
             <mac address='{mac}'/>{extra}</networkport>",
            conf::Uuid::generate().unwrap()
        ))
        .unwrap()
    }

    fn net(xml: &str) -> NetworkDef {
        NetworkDef::parse_str(xml).unwrap()
    }

    #[test]
    fn nat_network_plugs_its_bridge_and_counts_connections() {
        let mut d = net("<network><name>n</name><forward mode='nat'/><bridge name='virbr9'/><ip address='10.9.9.1' prefix='24'/>\
             <portgroup name='pg' default='yes'><vlan><tag id='7'/></vlan></portgroup></network>");
        let mut p = port("52:54:00:00:00:01", "");
        allocate(&mut d, &[], &mut p).unwrap();
        assert_eq!(d.connections, 1);
        assert!(
            matches!(&p.plug, Plug::Bridge { network: true, bridge, .. } if bridge == "virbr9")
        );
        assert_eq!(p.vlan.as_ref().map(|v| v.tags.clone()), Some(vec![7]));
        release(&mut d, &p);
        assert_eq!(d.connections, 0);
    }

    #[test]
    fn floor_needs_inbound_qos_and_fits_the_average() {
        let mut d = net("<network><name>n</name><bridge name='virbr9'/></network>");
        let mut p = port(
            "52:54:00:00:00:01",
            "<bandwidth><inbound average='10' floor='5'/></bandwidth>",
        );
        let e = allocate(&mut d, &[], &mut p).unwrap_err();
        assert_eq!(e.code, ErrorCode::OperationUnsupported);
        assert!(
            e.message().contains("network 'n' has no inbound QoS set"),
            "{}",
            e.message()
        );

        let mut d = net("<network><name>n</name><bridge name='virbr9'/>\
             <bandwidth><inbound average='100'/></bandwidth></network>");
        let mut a = port(
            "52:54:00:00:00:01",
            "<bandwidth><inbound average='10' floor='60'/></bandwidth>",
        );
        allocate(&mut d, &[], &mut a).unwrap();
        assert_eq!(a.class_id, 3);
        let mut b = port(
            "52:54:00:00:00:02",
            "<bandwidth><inbound average='10' floor='50'/></bandwidth>",
        );
        let e = allocate(&mut d, std::slice::from_ref(&a), &mut b).unwrap_err();
        assert_eq!(e.code, ErrorCode::OperationInvalid);
        assert!(
            e.message()
                .contains("floor=110 would overcommit average=100"),
            "{}",
            e.message()
        );
        assert_eq!(format_bitmap(&class_ids(&[a.clone()])), "0-3");
        assert_eq!(floor_sum(&[a]), 60);
    }

    #[test]
    fn bitmaps_are_formatted_as_libvirt_does() {
        let s: BTreeSet<u32> = [0, 1, 2, 4, 6, 7].into_iter().collect();
        assert_eq!(format_bitmap(&s), "0-2,4,6-7");
    }

    #[test]
    fn direct_modes_use_the_least_used_device() {
        let mut d = net("<network><name>n</name><forward mode='vepa'>\
             <interface dev='eth1'/><interface dev='eth2'/></forward></network>");
        let mut a = port("52:54:00:00:00:01", "");
        allocate(&mut d, &[], &mut a).unwrap();
        let mut b = port("52:54:00:00:00:02", "");
        allocate(&mut d, &[], &mut b).unwrap();
        assert!(matches!(&a.plug, Plug::Direct { dev, mode: MacvlanMode::Vepa } if dev == "eth1"));
        assert!(matches!(&b.plug, Plug::Direct { dev, .. } if dev == "eth2"));
    }
}

// SPDX-License-Identifier: LGPL-2.1-or-later
//! From a domain definition to the controller's [`ContainerSpec`], with
//! every check that can be made before anything is created on the host
//! (root directory, mount sources, init user, user namespaces, network
//! types), so a bad definition fails cleanly.

use std::path::{Path, PathBuf};

use conf::xml::Element;
use conf::DomainDef;
use driver::Error;
use lxc_controller::spec::{
    CapSwitch, Caps, CapsPolicy, ContainerSpec, EnvVar, Filesystem, FsType, IdMapEntry, IdMaps,
    Interface, IpAddr, NetType, Route,
};

use crate::errors;

fn parse_u64(s: &str) -> Option<u64> {
    s.trim().parse().ok()
}

/// A `<memtune>` child in KiB (only KiB/k units or none are written by conf).
fn memtune_kib(e: &Element, name: &str) -> Option<u64> {
    let c = e.child(name)?;
    let v = parse_u64(&c.text())?;
    let scale = match c.attr("unit").unwrap_or("KiB") {
        "b" | "bytes" => return Some(v / 1024),
        "KiB" | "k" | "K" => 1,
        "MiB" | "M" | "m" => 1024,
        "GiB" | "G" | "g" => 1024 * 1024,
        _ => 1,
    };
    v.checked_mul(scale)
}

/// `<interface>` elements without a MAC get one with libvirt's 52:54:00 prefix.
pub fn assign_macs(def: &mut DomainDef) -> Result<(), Error> {
    for d in def.devices.iter_mut().filter(|d| d.name == "interface") {
        if d.child("mac").is_some() {
            continue;
        }
        let mut b = [0u8; 3];
        getrandom::getrandom(&mut b)
            .map_err(|e| errors::internal(format!("cannot generate a MAC address: {e}")))?;
        let mac = format!("52:54:00:{:02x}:{:02x}:{:02x}", b[0], b[1], b[2]);
        let el = Element::new("mac").with_attr("address", &mac);
        d.children.insert(0, conf::xml::Node::Element(el));
    }
    Ok(())
}

/// Builds the spec for `def` and checks it against the host.
/// `ns_user` tells whether the kernel offers user namespaces.
pub fn build(def: &DomainDef, ns_user: bool) -> Result<ContainerSpec, Error> {
    let mut spec = ContainerSpec {
        name: def.name.clone(),
        uuid: def.uuid.to_string(),
        ..Default::default()
    };

    // Filesystems: target '/' is the root, the rest are mounts.
    for fs in def.filesystems() {
        let target = PathBuf::from(&fs.target);
        let fs_type = match fs.fs_type.as_str() {
            "mount" | "bind" => FsType::Mount,
            "ram" => FsType::Ram,
            "block" => FsType::Block,
            "file" => FsType::File,
            other => {
                return Err(errors::config_unsupported(format!(
                    "Unexpected filesystem type {other}"
                )))
            }
        };
        if fs.accessmode != "passthrough" {
            return Err(errors::config_unsupported(format!(
                "Unsupported filesystem access mode {}",
                fs.accessmode
            )));
        }
        if fs.target == "/" && fs_type == FsType::Mount {
            let src = fs.source.clone().unwrap_or_default();
            check_dir(&src, "root directory")?;
            spec.root = Some(PathBuf::from(src));
            continue;
        }
        if let Some(src) = &fs.source {
            if fs_type != FsType::Ram && !Path::new(src).exists() {
                return Err(errors::system(
                    format!("Failed to access '{src}'"),
                    &std::io::Error::from_raw_os_error(2),
                ));
            }
        }
        spec.filesystems.push(Filesystem {
            fs_type,
            source: fs.source.clone().map(PathBuf::from),
            target,
            readonly: fs.readonly,
            usage_kib: fs.usage_kib,
            format: fs.driver_format.clone(),
        });
    }

    // Init and its environment.
    let os = &def.os;
    spec.init = PathBuf::from(os.boot.init.clone().unwrap_or_else(|| "/sbin/init".into()));
    spec.args = os.boot.initargs.clone();
    spec.env = os
        .boot
        .initenv
        .iter()
        .map(|(n, v)| EnvVar {
            name: n.clone(),
            value: v.clone(),
        })
        .collect();
    spec.initdir = os.boot.initdir.clone().map(PathBuf::from);
    spec.user = os.boot.inituser.clone();
    spec.group = os.boot.initgroup.clone();
    let root = spec.root.clone().unwrap_or_else(|| PathBuf::from("/"));
    if let Some(u) = &spec.user {
        let passwd = std::fs::read_to_string(root.join("etc/passwd")).unwrap_or_default();
        if host::ids::lookup_user(&passwd, u).is_none() {
            return Err(errors::op_failed(format!(
                "User {u} doesn't exist in the container"
            )));
        }
    }
    if let Some(g) = &spec.group {
        let group = std::fs::read_to_string(root.join("etc/group")).unwrap_or_default();
        if host::ids::lookup_group(&group, g).is_none() {
            return Err(errors::op_failed(format!(
                "Group {g} doesn't exist in the container"
            )));
        }
    }
    let init_in_root = root.join(spec.init.strip_prefix("/").unwrap_or(&spec.init));
    if std::fs::symlink_metadata(&init_in_root).is_err() {
        return Err(errors::op_failed(format!(
            "Init process {} does not exist in the container",
            spec.init.display()
        )));
    }

    // User namespace.
    let map = |v: &Vec<conf::domain::IdMapEntry>| {
        v.iter()
            .map(|e| IdMapEntry {
                start: e.start,
                target: e.target,
                count: e.count,
            })
            .collect::<Vec<_>>()
    };
    spec.idmap = IdMaps {
        uid: map(&def.idmap.uid),
        gid: map(&def.idmap.gid),
    };
    if spec.needs_userns() && !ns_user {
        return Err(errors::config_unsupported(
            "Kernel doesn't support user namespace",
        ));
    }

    // Features: capabilities and private network.
    if let Some(f) = def.other_element("features") {
        if let Some(c) = f.child("capabilities") {
            let policy = match c.attr("policy").unwrap_or("default") {
                "allow" => CapsPolicy::Allow,
                "deny" => CapsPolicy::Deny,
                _ => CapsPolicy::Default,
            };
            let switches = c
                .elements()
                .map(|s| CapSwitch {
                    name: s.name.clone(),
                    on: s.attr("state") != Some("off"),
                })
                .collect();
            spec.caps = Caps { policy, switches };
        }
        spec.private_net = f.child("privnet").is_some();
    }

    // Resources.
    spec.memory_kib = Some(def.memory_kib).filter(|m| *m > 0);
    if let Some(mt) = def.other_element("memtune") {
        spec.hard_limit_kib = memtune_kib(mt, "hard_limit");
        spec.soft_limit_kib = memtune_kib(mt, "soft_limit");
        spec.swap_hard_limit_kib = memtune_kib(mt, "swap_hard_limit");
    }
    if let Some(ct) = def.other_element("cputune") {
        spec.cpu_shares = ct.child_text("shares").and_then(|s| parse_u64(&s));
        spec.cpu_period = ct.child_text("period").and_then(|s| parse_u64(&s));
        spec.cpu_quota = ct
            .child_text("quota")
            .and_then(|s| s.trim().parse::<i64>().ok());
    }
    spec.cpuset = def.vcpu_cpuset.clone();
    if let Some(nt) = def.other_element("numatune") {
        spec.cpuset_mems = nt
            .child("memory")
            .and_then(|m| m.attr("nodeset"))
            .map(str::to_string);
    }
    if let Some(bt) = def.other_element("blkiotune") {
        spec.blkio_weight = bt
            .child_text("weight")
            .and_then(|s| s.trim().parse::<u32>().ok());
    }
    if let Some(p) = def.resource_partition() {
        spec.resource_partition = p;
    }

    // Hostname: libvirt's LXC driver derives it from the name.
    spec.hostname = None;

    // Network interfaces.
    for (i, el) in def.devices.iter().enumerate() {
        if el.name == "hostdev" {
            return Err(errors::config_unsupported(
                "Unsupported host device: only interfaces of type ethernet or bridge are supported",
            ));
        }
        if el.name != "interface" {
            continue;
        }
        let n = conf::domain::NetDef::from_element(el);
        let (net_type, bridge) = match n.net_type.as_str() {
            "ethernet" => (NetType::Ethernet, None),
            "bridge" => (NetType::Bridge, n.bridge.clone()),
            // The bridge its port got from the network driver
            // (`netplug::plug`).
            "network" => match n.bridge.clone() {
                Some(b) => (NetType::Bridge, Some(b)),
                None => {
                    return Err(errors::config_unsupported(format!(
                        "network '{}' gave the interface no bridge",
                        n.network.as_deref().unwrap_or("")
                    )))
                }
            },
            other => {
                return Err(errors::config_unsupported(format!(
                    "Unsupported network type {other}"
                )))
            }
        };
        let gateway_of = |r: &(String, Option<u32>, String)| r.0 == "0.0.0.0" || r.0 == "::";
        let mtu = el
            .child("mtu")
            .and_then(|m| m.attr("size"))
            .and_then(|s| s.parse().ok());
        let iface = Interface {
            net_type,
            bridge,
            mac: n.mac.clone(),
            target: n.target_dev.clone(),
            guest_name: n.guest_dev.clone(),
            ips: n
                .ips
                .iter()
                .map(|(a, p)| IpAddr {
                    address: a.clone(),
                    prefix: p
                        .and_then(|p| u8::try_from(p).ok())
                        .unwrap_or(if a.contains(':') { 64 } else { 24 }),
                })
                .collect(),
            routes: n
                .routes
                .iter()
                .filter(|r| !gateway_of(r) || r.1.unwrap_or(0) != 0)
                .map(|(a, p, g)| Route {
                    address: a.clone(),
                    prefix: p.and_then(|p| u8::try_from(p).ok()).unwrap_or(0),
                    gateway: g.clone(),
                })
                .collect(),
            gateway: n
                .routes
                .iter()
                .find(|r| gateway_of(r) && r.1.unwrap_or(0) == 0)
                .map(|r| r.2.clone()),
            mtu,
        };
        let _ = i;
        spec.interfaces.push(iface);
    }

    spec.validate().map_err(errors::controller)?;
    Ok(spec)
}

fn check_dir(path: &str, what: &str) -> Result<(), Error> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(errors::op_failed(format!(
            "{what} '{path}' is not a directory"
        ))),
        Err(e) => Err(errors::system(format!("Failed to access '{path}'"), &e)),
    }
}

/// The live XML of a started container: interface host names filled in.
pub fn live_devices(def: &mut DomainDef, veths: &[String]) {
    let mut it = veths.iter();
    for d in def.devices.iter_mut().filter(|d| d.name == "interface") {
        let Some(v) = it.next() else { break };
        if d.child("target").is_none() {
            let t = Element::new("target").with_attr("dev", v);
            d.insert_after_names(t, &["mac", "source", "ip", "route", "script"]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(xml: &str) -> DomainDef {
        DomainDef::parse_str(xml, &Default::default()).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn maps_init_resources_and_interfaces() {
        let d = def(
            "<domain type='lxc'><name>c1</name><memory unit='KiB'>65536</memory>
            <memtune><hard_limit unit='KiB'>32768</hard_limit></memtune>
            <cputune><shares>512</shares></cputune>
            <os><type>exe</type><init>/bin/sh</init><initarg>-c</initarg><initarg>true</initarg>
            <initenv name='A'>b</initenv></os>
            <devices><interface type='ethernet'><mac address='52:54:00:01:02:03'/>
            <ip address='10.0.0.2' prefix='24'/><route address='0.0.0.0' gateway='10.0.0.1'/>
            <guest dev='eth7'/></interface></devices></domain>",
        );
        let s = build(&d, true).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.init, PathBuf::from("/bin/sh"));
        assert_eq!(s.args, vec!["-c".to_string(), "true".to_string()]);
        assert_eq!(s.env[0].name, "A");
        assert_eq!(s.memory_kib, Some(65536));
        assert_eq!(s.hard_limit_kib, Some(32768));
        assert_eq!(s.cpu_shares, Some(512));
        assert_eq!(s.interfaces.len(), 1);
        assert_eq!(s.interfaces[0].gateway.as_deref(), Some("10.0.0.1"));
        assert_eq!(s.interfaces[0].guest_name.as_deref(), Some("eth7"));
        assert_eq!(s.interfaces[0].ips[0].prefix, 24);
    }

    #[test]
    fn missing_root_directory_is_refused() {
        let d = def("<domain type='lxc'><name>c1</name><memory>65536</memory>
            <os><type>exe</type><init>/bin/sh</init></os><devices>
            <filesystem type='mount'><source dir='/nonexistent/root'/><target dir='/'/></filesystem>
            </devices></domain>");
        let e = build(&d, true)
            .err()
            .map(|e| e.message())
            .unwrap_or_default();
        assert!(e.contains("/nonexistent/root"), "{e}");
    }

    #[test]
    fn idmap_without_user_namespaces_is_refused() {
        let d = def("<domain type='lxc'><name>c1</name><memory>65536</memory>
            <os><type>exe</type><init>/bin/sh</init></os>
            <idmap><uid start='0' target='1000' count='10'/><gid start='0' target='1000' count='10'/></idmap>
            <devices/></domain>");
        assert!(build(&d, true).is_ok());
        let e = build(&d, false)
            .err()
            .map(|e| e.message())
            .unwrap_or_default();
        assert!(e.contains("user namespace"), "{e}");
    }

    #[test]
    fn network_interfaces_need_a_bridge() {
        let d = def("<domain type='lxc'><name>c1</name><memory>65536</memory>
            <os><type>exe</type><init>/bin/sh</init></os>
            <devices><interface type='network'><source network='default'/></interface></devices></domain>");
        let e = build(&d, true)
            .err()
            .map(|e| e.message())
            .unwrap_or_default();
        assert!(e.contains("network 'default'"), "{e}");
    }

    #[test]
    fn macs_are_assigned_with_the_kvm_prefix() {
        let mut d = def("<domain type='lxc'><name>c1</name><memory>65536</memory>
            <os><type>exe</type><init>/bin/sh</init></os>
            <devices><interface type='ethernet'/></devices></domain>");
        assign_macs(&mut d).unwrap_or_else(|e| panic!("{e}"));
        let mac = d.interfaces()[0].mac.clone().unwrap_or_default();
        assert!(mac.starts_with("52:54:00:"), "{mac}");
    }
}

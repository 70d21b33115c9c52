// SPDX-License-Identifier: LGPL-2.1-or-later
//! The container spec: everything the controller needs to build a container,
//! already resolved from domain XML by the driver. Serialised as JSON into
//! `<state-dir>/<name>.spec.json`.

use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Kind of a `<filesystem>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum FsType {
    /// A host directory bind-mounted (`type='mount'`).
    #[default]
    Mount,
    /// A tmpfs of `usage_kib` (`type='ram'`).
    Ram,
    /// A block device (`type='block'`).
    Block,
    /// A disk image file (`type='file'`, needs a loop device).
    File,
}

/// One `<filesystem>` of the domain.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Filesystem {
    /// Kind.
    pub fs_type: FsType,
    /// Host path (directory, device or image); unused for `ram`.
    pub source: Option<PathBuf>,
    /// Mount point inside the container (absolute).
    pub target: PathBuf,
    /// Mount read-only.
    pub readonly: bool,
    /// Size of a `ram` filesystem, KiB.
    pub usage_kib: Option<u64>,
    /// Filesystem format of a block or file source (probed when absent).
    pub format: Option<String>,
}

/// An environment variable for init (`<initenv>`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvVar {
    /// Name.
    pub name: String,
    /// Value.
    pub value: String,
}

/// One `<idmap>` entry: `count` ids from `start` inside map to `target` outside.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdMapEntry {
    /// First id inside the container.
    pub start: u32,
    /// First id on the host.
    pub target: u32,
    /// Number of ids.
    pub count: u32,
}

/// `<idmap>`: with entries present the container gets a user namespace.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct IdMaps {
    /// uid ranges.
    pub uid: Vec<IdMapEntry>,
    /// gid ranges.
    pub gid: Vec<IdMapEntry>,
}

/// `<features><capabilities policy=...>`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CapsPolicy {
    /// Drop the default set (sys_module, sys_time, mknod, audit_control, mac_admin).
    #[default]
    Default,
    /// Keep everything not switched off.
    Allow,
    /// Drop everything not switched on.
    Deny,
}

/// One capability switch (`<mknod state='on'/>`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapSwitch {
    /// Capability name as in the XML (`sys_admin`, `mknod`, ...).
    pub name: String,
    /// `true` for state='on'.
    pub on: bool,
}

/// Capability policy and switches.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Caps {
    /// Policy.
    pub policy: CapsPolicy,
    /// Explicit switches.
    pub switches: Vec<CapSwitch>,
}

/// Kind of `<interface>`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NetType {
    /// Host end left unattached.
    #[default]
    Ethernet,
    /// Host end enslaved to `bridge`.
    Bridge,
}

/// An address on the container side.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpAddr {
    /// Address text (v4 or v6).
    pub address: String,
    /// Prefix length.
    pub prefix: u8,
}

/// A route on the container side.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    /// Destination network.
    pub address: String,
    /// Prefix length.
    pub prefix: u8,
    /// Gateway.
    pub gateway: String,
}

/// One `<interface>` (a veth pair).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Interface {
    /// Kind.
    pub net_type: NetType,
    /// Bridge for `bridge` interfaces.
    pub bridge: Option<String>,
    /// Guest MAC address.
    pub mac: Option<String>,
    /// Host-side device name (`<target dev>`); `vethN` chosen when absent.
    pub target: Option<String>,
    /// Name inside the container (`<guest dev>`); `eth0`, `eth1`... when absent.
    pub guest_name: Option<String>,
    /// Addresses inside the container.
    pub ips: Vec<IpAddr>,
    /// Routes inside the container.
    pub routes: Vec<Route>,
    /// Default gateway inside the container.
    pub gateway: Option<String>,
    /// MTU of both ends.
    pub mtu: Option<u32>,
}

/// Everything the controller needs to build and run one container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ContainerSpec {
    /// Domain name.
    pub name: String,
    /// Domain UUID (text form).
    pub uuid: String,
    /// Root filesystem directory (`<filesystem type='mount'>` with target '/');
    /// `None` shares the host's root like libvirt.
    pub root: Option<PathBuf>,
    /// Further filesystems.
    pub filesystems: Vec<Filesystem>,
    /// `<init>`.
    pub init: PathBuf,
    /// `<initarg>`s.
    pub args: Vec<String>,
    /// `<initenv>`s (added after libvirt's default variables).
    pub env: Vec<EnvVar>,
    /// `<initdir>`.
    pub initdir: Option<PathBuf>,
    /// `<inituser>` (name or number, looked up in the container's /etc/passwd).
    pub user: Option<String>,
    /// `<initgroup>`.
    pub group: Option<String>,
    /// Hostname; derived from the name like libvirt when absent.
    pub hostname: Option<String>,
    /// `<idmap>`.
    pub idmap: IdMaps,
    /// Capabilities.
    pub caps: Caps,
    /// `<memory>` in KiB.
    pub memory_kib: Option<u64>,
    /// `<memtune><hard_limit>` KiB.
    pub hard_limit_kib: Option<u64>,
    /// `<memtune><soft_limit>` KiB.
    pub soft_limit_kib: Option<u64>,
    /// `<memtune><swap_hard_limit>` KiB.
    pub swap_hard_limit_kib: Option<u64>,
    /// `<cputune><shares>`.
    pub cpu_shares: Option<u64>,
    /// `<cputune><period>` µs.
    pub cpu_period: Option<u64>,
    /// `<cputune><quota>` µs.
    pub cpu_quota: Option<i64>,
    /// CPU list (`<vcpu cpuset>`).
    pub cpuset: Option<String>,
    /// Memory node list (`<numatune><memory nodeset>`).
    pub cpuset_mems: Option<String>,
    /// `<blkiotune><weight>`.
    pub blkio_weight: Option<u32>,
    /// Task limit.
    pub pids_max: Option<u64>,
    /// Network interfaces.
    pub interfaces: Vec<Interface>,
    /// `<resource><partition>`.
    pub resource_partition: String,
    /// `<features><privnet/>`: a private network namespace without interfaces.
    pub private_net: bool,
}

impl Default for ContainerSpec {
    fn default() -> Self {
        ContainerSpec {
            name: String::new(),
            uuid: String::new(),
            root: None,
            filesystems: Vec::new(),
            init: PathBuf::from("/sbin/init"),
            args: Vec::new(),
            env: Vec::new(),
            initdir: None,
            user: None,
            group: None,
            hostname: None,
            idmap: IdMaps::default(),
            caps: Caps::default(),
            memory_kib: None,
            hard_limit_kib: None,
            soft_limit_kib: None,
            swap_hard_limit_kib: None,
            cpu_shares: None,
            cpu_period: None,
            cpu_quota: None,
            cpuset: None,
            cpuset_mems: None,
            blkio_weight: None,
            pids_max: None,
            interfaces: Vec::new(),
            resource_partition: "/machine".into(),
            private_net: false,
        }
    }
}

fn check_abs(p: &Path, what: &str) -> Result<()> {
    if !p.is_absolute() {
        return Err(Error::Spec(format!(
            "{what} '{}' must be an absolute path",
            p.display()
        )));
    }
    if p.components()
        .any(|c| matches!(c, std::path::Component::ParentDir))
    {
        return Err(Error::Spec(format!(
            "{what} '{}' must not contain '..'",
            p.display()
        )));
    }
    Ok(())
}

impl ContainerSpec {
    /// Whether the container gets its own network namespace: it does when it
    /// has interfaces or asks for a private one; otherwise it shares the host's.
    pub fn needs_netns(&self) -> bool {
        self.private_net || !self.interfaces.is_empty()
    }

    /// Whether the container gets a user namespace.
    pub fn needs_userns(&self) -> bool {
        !self.idmap.uid.is_empty() || !self.idmap.gid.is_empty()
    }

    /// The hostname to set: explicit, or the name filtered to letters,
    /// digits, '-' and '.', without a leading '-'.
    pub fn effective_hostname(&self) -> String {
        if let Some(h) = &self.hostname {
            return h.clone();
        }
        let filtered: String = self
            .name
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '.')
            .collect();
        filtered.trim_start_matches('-').to_string()
    }

    /// Checks what can be checked without touching the host.
    pub fn validate(&self) -> Result<()> {
        if self.name.is_empty()
            || self.name.contains('/')
            || self.name.contains('\0')
            || self.name.starts_with('.')
            || self.name.len() > 200
        {
            return Err(Error::Spec(format!(
                "invalid container name '{}'",
                self.name
            )));
        }
        if let Some(r) = &self.root {
            check_abs(r, "root directory")?;
        }
        check_abs(&self.init, "init")?;
        if let Some(d) = &self.initdir {
            check_abs(d, "initdir")?;
        }
        for fs in &self.filesystems {
            check_abs(&fs.target, "filesystem target")?;
            match fs.fs_type {
                FsType::Ram => {
                    if fs.usage_kib.is_none() {
                        return Err(Error::Spec(format!(
                            "ram filesystem '{}' needs a size",
                            fs.target.display()
                        )));
                    }
                }
                _ => match &fs.source {
                    Some(s) => check_abs(s, "filesystem source")?,
                    None => {
                        return Err(Error::Spec(format!(
                            "filesystem '{}' has no source",
                            fs.target.display()
                        )))
                    }
                },
            }
        }
        if !self.resource_partition.starts_with('/') {
            return Err(Error::Spec(format!(
                "Resource partition '{}' must start with '/'",
                self.resource_partition
            )));
        }
        for (i, iface) in self.interfaces.iter().enumerate() {
            if iface.net_type == NetType::Bridge && iface.bridge.as_deref().unwrap_or("").is_empty()
            {
                return Err(Error::Spec(format!(
                    "interface {i} is a bridge interface without a bridge"
                )));
            }
            for n in [&iface.target, &iface.guest_name, &iface.bridge]
                .into_iter()
                .flatten()
            {
                if !host::net::valid_ifname(n) {
                    return Err(Error::Spec(format!("invalid interface name '{n}'")));
                }
            }
            if let Some(m) = &iface.mac {
                if host::net::parse_mac(m).is_none() {
                    return Err(Error::Spec(format!("invalid MAC address '{m}'")));
                }
            }
            let word_ok = |s: &str| {
                !s.is_empty()
                    && s.bytes()
                        .all(|b| b.is_ascii_hexdigit() || b == b'.' || b == b':')
            };
            for ip in &iface.ips {
                if !word_ok(&ip.address) {
                    return Err(Error::Spec(format!("invalid address '{}'", ip.address)));
                }
            }
            for r in &iface.routes {
                if !word_ok(&r.address) || !word_ok(&r.gateway) {
                    return Err(Error::Spec(format!("invalid route to '{}'", r.address)));
                }
            }
            if let Some(g) = &iface.gateway {
                if !word_ok(g) {
                    return Err(Error::Spec(format!("invalid gateway '{g}'")));
                }
            }
        }
        for s in &self.caps.switches {
            if host::caps::by_name(&s.name).is_none() {
                return Err(Error::Spec(format!("unknown capability '{}'", s.name)));
            }
        }
        for e in &self.env {
            if e.name.is_empty()
                || e.name.contains('=')
                || e.name.contains('\0')
                || e.value.contains('\0')
            {
                return Err(Error::Spec(format!(
                    "invalid environment variable '{}'",
                    e.name
                )));
            }
        }
        Ok(())
    }

    /// The environment init gets: libvirt's defaults then `<initenv>`.
    pub fn init_env(&self) -> Vec<(String, String)> {
        let mut env = vec![
            ("PATH".to_string(), "/bin:/sbin".to_string()),
            ("TERM".into(), "linux".into()),
            ("container".into(), "lxc-libvirt".into()),
            ("HOME".into(), "/".into()),
            ("container_uuid".into(), self.uuid.clone()),
            ("LIBVIRT_LXC_UUID".into(), self.uuid.clone()),
            ("LIBVIRT_LXC_NAME".into(), self.name.clone()),
        ];
        for e in &self.env {
            env.push((e.name.clone(), e.value.clone()));
        }
        env
    }

    /// Cgroup limits for this spec.
    pub fn limits(&self) -> host::cgroup::Limits {
        host::cgroup::Limits {
            memory_kib: self.memory_kib,
            hard_limit_kib: self.hard_limit_kib,
            soft_limit_kib: self.soft_limit_kib,
            swap_hard_limit_kib: self.swap_hard_limit_kib,
            cpu_shares: self.cpu_shares,
            cfs_period: self.cpu_period,
            cfs_quota: self.cpu_quota,
            cpuset_cpus: self.cpuset.clone(),
            cpuset_mems: self.cpuset_mems.clone(),
            blkio_weight: self.blkio_weight,
            pids_max: self.pids_max,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_libvirt() {
        let s = ContainerSpec {
            name: "-web_1".into(),
            ..Default::default()
        };
        assert_eq!(s.resource_partition, "/machine");
        assert_eq!(s.init, PathBuf::from("/sbin/init"));
        assert_eq!(s.effective_hostname(), "web1");
        assert!(!s.needs_netns());
        let env = s.init_env();
        assert!(env.contains(&("container".into(), "lxc-libvirt".into())));
        assert!(env.contains(&("LIBVIRT_LXC_NAME".into(), "-web_1".into())));
    }

    #[test]
    fn json_round_trip_and_missing_fields_default() {
        let s: ContainerSpec = serde_json::from_str(r#"{"name":"a","init":"/bin/sh"}"#)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.name, "a");
        assert_eq!(s.resource_partition, "/machine");
        let text = serde_json::to_string(&s).unwrap_or_default();
        let back: ContainerSpec = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, s);
    }

    #[test]
    fn validation_rejects_bad_values() {
        let ok = ContainerSpec {
            name: "a".into(),
            init: "/bin/sh".into(),
            ..Default::default()
        };
        assert!(ok.validate().is_ok());
        let bad_name = ContainerSpec {
            name: "a/b".into(),
            ..ok.clone()
        };
        assert!(bad_name.validate().is_err());
        let rel_root = ContainerSpec {
            root: Some("rel".into()),
            ..ok.clone()
        };
        assert!(rel_root.validate().is_err());
        let bad_cap = ContainerSpec {
            caps: Caps {
                policy: CapsPolicy::Default,
                switches: vec![CapSwitch {
                    name: "nope".into(),
                    on: true,
                }],
            },
            ..ok.clone()
        };
        assert!(bad_cap.validate().is_err());
        let bad_ip = ContainerSpec {
            interfaces: vec![Interface {
                ips: vec![IpAddr {
                    address: "1.2.3.4; reboot".into(),
                    prefix: 24,
                }],
                ..Default::default()
            }],
            ..ok.clone()
        };
        assert!(bad_ip.validate().is_err());
        let bridge_without_name = ContainerSpec {
            interfaces: vec![Interface {
                net_type: NetType::Bridge,
                ..Default::default()
            }],
            ..ok
        };
        assert!(bridge_without_name.validate().is_err());
    }
}

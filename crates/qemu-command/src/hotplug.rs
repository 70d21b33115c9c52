// SPDX-License-Identifier: LGPL-2.1-or-later
//! What QEMU is sent to add one device to a running guest: the same
//! objects, block nodes and device properties the command line would
//! give it (libvirt's hotplug builds them with the command line's
//! builders), as QMP arguments for `object-add`, `blockdev-add` and
//! `device_add`.

use conf::domain::DomainDef;
use conf::error::{ErrorCode, ErrorDomain, VirError};
use conf::xml::Element;
use qemu_caps::QemuCaps;
use serde_json::Value;

use crate::CommandConfig;

/// A device's hotplug: what to add, in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeviceHotplug {
    /// `object-add` arguments (secrets).
    pub objects: Vec<Value>,
    /// `blockdev-add` arguments, storage node first.
    pub blockdevs: Vec<Value>,
    /// `netdev_add` arguments.
    pub netdevs: Vec<Value>,
    /// `device_add` arguments.
    pub device: Value,
    /// The descriptors the `netdev_add` arguments name (a tap's `fd`,
    /// `vhostfd`), numbered as the numbers they carry there: the driver
    /// opens each, hands it to QEMU with `getfd` and puts the name it
    /// gave in place of the number.
    pub fds: Vec<crate::PassedFd>,
}

impl DeviceHotplug {
    /// The `node-name`s of [`Self::blockdevs`], in the order they are
    /// added.
    pub fn node_names(&self) -> Vec<String> {
        self.blockdevs
            .iter()
            .filter_map(|b| b.get("node-name").and_then(Value::as_str))
            .map(str::to_string)
            .collect()
    }

    /// The device's `id` (its alias).
    pub fn id(&self) -> Option<&str> {
        self.device.get("id").and_then(Value::as_str)
    }
}

fn internal(msg: String) -> VirError {
    VirError::new(ErrorCode::InternalError, ErrorDomain::Qemu, msg)
}

/// Sorts command-line arguments into QMP arguments.
fn from_args(args: &[String]) -> Result<DeviceHotplug, VirError> {
    let mut out = DeviceHotplug::default();
    let mut device = None;
    let mut it = args.iter();
    while let Some(opt) = it.next() {
        let val = it
            .next()
            .ok_or_else(|| internal(format!("option {opt} without a value")))?;
        let json: Value = serde_json::from_str(val)
            .map_err(|e| internal(format!("cannot read {opt} {val}: {e}")))?;
        match opt.as_str() {
            "-object" => out.objects.push(json),
            "-blockdev" => out.blockdevs.push(json),
            "-netdev" => out.netdevs.push(json),
            "-device" => device = Some(json),
            o => return Err(internal(format!("unexpected option {o} for a hotplug"))),
        }
    }
    out.device = device.ok_or_else(|| internal("no device to hotplug".into()))?;
    Ok(out)
}

/// The hotplug of disk `el` into the running guest `def`, its block
/// nodes named `libvirt-N-storage` and `libvirt-N-format`.
pub fn disk(
    def: &DomainDef,
    caps: &QemuCaps,
    cfg: &CommandConfig,
    el: &Element,
    n: usize,
) -> Result<DeviceHotplug, VirError> {
    from_args(&crate::cmdline::disk_args(def, caps, cfg, el, n)?)
}

/// The hotplug of NIC `el` (its alias set) into the running guest `def`.
pub fn interface(
    def: &DomainDef,
    caps: &QemuCaps,
    cfg: &CommandConfig,
    el: &Element,
) -> Result<DeviceHotplug, VirError> {
    let (args, fds) = crate::cmdline::interface_args(def, caps, cfg, el)?;
    let mut h = from_args(&args)?;
    h.fds = fds;
    Ok(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_sort_into_qmp_calls() {
        let args: Vec<String> = [
            "-blockdev",
            r#"{"driver":"file","filename":"/d.qcow2","node-name":"libvirt-3-storage"}"#,
            "-blockdev",
            r#"{"node-name":"libvirt-3-format","driver":"qcow2","file":"libvirt-3-storage"}"#,
            "-device",
            r#"{"driver":"virtio-blk-pci","drive":"libvirt-3-format","id":"virtio-disk1"}"#,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let h = from_args(&args).unwrap_or_default();
        assert_eq!(h.node_names(), ["libvirt-3-storage", "libvirt-3-format"]);
        assert_eq!(h.id(), Some("virtio-disk1"));
        assert!(h.objects.is_empty());
        assert!(from_args(&args[..5]).is_err());
        assert!(from_args(&["-netdev".into(), "{}".into()]).is_err());
        let nic = from_args(&[
            "-netdev".into(),
            r#"{"type":"user","id":"hostnet1"}"#.into(),
            "-device".into(),
            r#"{"driver":"virtio-net-pci","netdev":"hostnet1","id":"net1"}"#.into(),
        ])
        .unwrap_or_default();
        assert_eq!(nic.netdevs.len(), 1);
        assert_eq!(nic.id(), Some("net1"));
    }
}

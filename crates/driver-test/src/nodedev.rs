// SPDX-License-Identifier: LGPL-2.1-or-later
//! Node devices of the test driver: listing by capability, lookup, XML,
//! parent and capabilities, and creating and destroying virtual HBAs (a
//! copy of `scsi_host11` with the requested WWNs, as libvirt's test driver
//! makes).

use driver::consts::object_event as oe;
use driver::error::{ErrorCode, ErrorDomain};
use driver::{Error, Event, NodeDeviceRef, Result};

use crate::conn::now_micros;
use crate::errors;
use crate::state::{NodeDev, Shared};

/// Node device capability names in virNodeDevCapType order (their list
/// flag is `1 << index`).
const NODEDEV_CAPS: &[&str] = &[
    "system",
    "pci",
    "usb_device",
    "usb",
    "net",
    "scsi_host",
    "scsi_target",
    "scsi",
    "storage",
    "fc_host",
    "vports",
    "scsi_generic",
    "drm",
    "mdev_types",
    "mdev",
    "ccw",
    "css",
    "vdpa",
    "ap_card",
    "ap_queue",
    "ap_matrix",
    "vpd",
];

fn nodedev_has_cap(d: &NodeDev, cap: &str) -> bool {
    if d.caps.iter().any(|c| c == cap) {
        return true;
    }
    let nested = match cap {
        "fc_host" => "fc_host",
        "vports" => "vport_ops",
        _ => return false,
    };
    d.xml
        .children_named("capability")
        .filter(|c| c.attr("type") == Some("scsi_host"))
        .any(|c| {
            c.children_named("capability")
                .any(|n| n.attr("type") == Some(nested))
        })
}

/// The wwnn/wwpn of a node device's fc_host capability.
fn nodedev_wwns(xml: &conf::xml::Element) -> Option<(Option<String>, Option<String>)> {
    xml.children_named("capability")
        .filter(|c| c.attr("type") == Some("scsi_host"))
        .flat_map(|c| c.children_named("capability"))
        .find(|n| n.attr("type") == Some("fc_host"))
        .map(|fc| (fc.child_text("wwnn"), fc.child_text("wwpn")))
}

fn random_wwn() -> String {
    let mut b = [0u8; 8];
    let _ = getrandom_fill(&mut b);
    let n = u64::from_le_bytes(b) & 0xf_ffff_ffff;
    format!("5001a4a{n:09x}")
}

/// Entropy without a dependency: the std hasher is randomly keyed.
fn getrandom_fill(buf: &mut [u8]) -> Option<()> {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(now_micros());
    let v = h.finish().to_le_bytes();
    for (d, s) in buf.iter_mut().zip(v.iter().cycle()) {
        *d = *s;
    }
    Some(())
}

pub(crate) fn list_all_node_devices(sh: &Shared, flags: u32) -> Result<Vec<NodeDeviceRef>> {
    // Capability bits, plus INACTIVE (1 << 30) and ACTIVE (1 << 31):
    // every test device is active.
    const CAP_BITS: u32 = (1 << 22) - 1;
    const INACTIVE: u32 = 1 << 30;
    const ACTIVE: u32 = 1 << 31;
    Error::check_flags(
        flags,
        CAP_BITS | INACTIVE | ACTIVE,
        "testConnectListAllNodeDevices",
    )?;
    if flags & (INACTIVE | ACTIVE) == INACTIVE {
        return Ok(Vec::new());
    }
    let caps = flags & CAP_BITS;
    let s = sh.lock();
    Ok(s.devs
        .iter()
        .filter(|d| {
            caps == 0
                || NODEDEV_CAPS
                    .iter()
                    .enumerate()
                    .any(|(i, c)| caps & (1 << i) != 0 && nodedev_has_cap(d, c))
        })
        .map(|d| NodeDeviceRef {
            name: d.name.clone(),
        })
        .collect())
}

pub(crate) fn node_list_devices(sh: &Shared, cap: Option<&str>, flags: u32) -> Result<Vec<String>> {
    Error::check_flags(flags, 0, "testNodeListDevices")?;
    let s = sh.lock();
    Ok(s.devs
        .iter()
        .filter(|d| match cap {
            Some(c) => nodedev_has_cap(d, c),
            None => true,
        })
        .map(|d| d.name.clone())
        .collect())
}

pub(crate) fn node_device_lookup_by_name(sh: &Shared, name: &str) -> Result<NodeDeviceRef> {
    let s = sh.lock();
    s.devs
        .iter()
        .find(|d| d.name == name)
        .map(|d| NodeDeviceRef {
            name: d.name.clone(),
        })
        .ok_or_else(|| errors::no_nodedev(name))
}

pub(crate) fn node_device_get_xml_desc(
    sh: &Shared,
    dev: &NodeDeviceRef,
    flags: u32,
) -> Result<String> {
    Error::check_flags(flags, 0, "testNodeDeviceGetXMLDesc")?;
    let s = sh.lock();
    s.devs
        .iter()
        .find(|d| d.name == dev.name)
        .map(|d| d.xml.to_libvirt_string(0))
        .ok_or_else(|| errors::no_nodedev(&dev.name))
}

pub(crate) fn node_device_get_parent(sh: &Shared, dev: &NodeDeviceRef) -> Result<Option<String>> {
    let s = sh.lock();
    let d = s
        .devs
        .iter()
        .find(|d| d.name == dev.name)
        .ok_or_else(|| errors::no_nodedev(&dev.name))?;
    match &d.parent {
        Some(p) => Ok(Some(p.clone())),
        None => Err(errors::internal("no parent for this device")),
    }
}

pub(crate) fn node_device_list_caps(sh: &Shared, dev: &NodeDeviceRef) -> Result<Vec<String>> {
    let s = sh.lock();
    s.devs
        .iter()
        .find(|d| d.name == dev.name)
        .map(|d| d.caps.clone())
        .ok_or_else(|| errors::no_nodedev(&dev.name))
}

pub(crate) fn node_device_create_xml(sh: &Shared, xml: &str, flags: u32) -> Result<NodeDeviceRef> {
    Error::check_flags(flags, 1, "testNodeDeviceCreateXML")?;
    let el = conf::xml::parse_document(xml, "(node_device_definition)", "device")
        .map_err(|e| errors::conf(e, ErrorDomain::Nodedev))?;
    if el.child("capability").is_none() {
        // libvirt's parser names a device being created "new device".
        return Err(Error::internal(
            ErrorDomain::Nodedev,
            "no device capabilities for 'new device'",
        ));
    }
    let (wwnn, wwpn) = nodedev_wwns(&el).ok_or_else(|| {
        Error::new(
            ErrorCode::XmlError,
            ErrorDomain::Nodedev,
            "Device is not a fibre channel HBA",
        )
    })?;
    let wwnn = wwnn
        .map(|s| s.trim().to_string())
        .unwrap_or_else(random_wwn);
    let wwpn = wwpn
        .map(|s| s.trim().to_string())
        .unwrap_or_else(random_wwn);
    let parent = el.child_text("parent").map(|p| p.trim().to_string());
    let name = "scsi_host12".to_string();
    {
        let mut s = sh.lock();
        let parent_ok = match &parent {
            Some(p) => {
                let pd = s.devs.iter().find(|d| d.name == *p).ok_or_else(|| {
                    Error::new(
                        ErrorCode::InternalError,
                        ErrorDomain::Nodedev,
                        format!("could not find parent device '{p}'"),
                    )
                })?;
                nodedev_has_cap(pd, "vports")
            }
            None => s.devs.iter().any(|d| nodedev_has_cap(d, "vports")),
        };
        if !parent_ok {
            return Err(Error::new(
                ErrorCode::InternalError,
                ErrorDomain::Nodedev,
                match &parent {
                    Some(p) => format!("Parent device {p} is not capable of vport operations"),
                    None => "Could not find any vport capable device".to_string(),
                },
            ));
        }
        // The new vHBA is a copy of scsi_host11 with the requested WWNs.
        let template = s
            .devs
            .iter()
            .find(|d| d.name == "scsi_host11")
            .cloned()
            .ok_or_else(|| errors::no_nodedev("scsi_host11"))?;
        let mut x = template.xml.clone();
        if let Some(n) = x.child_mut("name") {
            n.set_text(&name);
        }
        for c in x.elements_mut() {
            if c.name != "capability" || c.attr("type") != Some("scsi_host") {
                continue;
            }
            for fc in c.elements_mut() {
                if fc.name == "capability" && fc.attr("type") == Some("fc_host") {
                    if let Some(w) = fc.child_mut("wwnn") {
                        w.set_text(&wwnn);
                    }
                    if let Some(w) = fc.child_mut("wwpn") {
                        w.set_text(&wwpn);
                    }
                }
            }
        }
        let dev = NodeDev {
            name: name.clone(),
            parent: template.parent.clone(),
            caps: template.caps.clone(),
            xml: x,
        };
        if let Some(old) = s.devs.iter_mut().find(|d| d.name == name) {
            *old = dev;
        } else {
            s.devs.push(dev);
        }
    }
    let r = NodeDeviceRef { name };
    sh.publish_one(Event::NodeDeviceLifecycle {
        dev: r.clone(),
        event: oe::NODEDEV_CREATED,
        detail: 0,
    });
    Ok(r)
}

pub(crate) fn node_device_destroy(sh: &Shared, dev: &NodeDeviceRef) -> Result<()> {
    {
        let mut s = sh.lock();
        let i = s
            .devs
            .iter()
            .position(|d| d.name == dev.name)
            .ok_or_else(|| errors::no_nodedev(&dev.name))?;
        let d = &s.devs[i];
        // libvirt's test driver reports these two failures but returns
        // success, so a client sees the call succeed and the device stay.
        if nodedev_wwns(&d.xml).is_none() {
            return Ok(());
        }
        let parent = d.parent.clone().unwrap_or_default();
        if !s.devs.iter().any(|p| p.name == parent) {
            return Ok(());
        }
        s.devs.remove(i);
    }
    sh.publish_one(Event::NodeDeviceLifecycle {
        dev: dev.clone(),
        event: oe::NODEDEV_DELETED,
        detail: 0,
    });
    Ok(())
}

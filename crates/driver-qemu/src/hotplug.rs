// SPDX-License-Identifier: LGPL-2.1-or-later
//! Devices added to, removed from and changed in a domain
//! (virDomainAttachDeviceFlags, DetachDeviceFlags, DetachDeviceAlias,
//! UpdateDeviceFlags) with libvirt's flag rules: AFFECT_CONFIG edits the
//! persistent definition, AFFECT_LIVE the running guest, CURRENT picks by
//! the domain's state.
//!
//! A persistent edit works as libvirt's does: the device goes into (or
//! out of) a copy of the definition, which then runs through the define
//! stages again (defaults, automatic addresses, validation) and is saved
//! only when all of that succeeded. The checks before the edit (duplicate
//! disk target, a NIC found by MAC, ...) report libvirt's errors.

use conf::xml::Element;
use conf::{DomainDef, FormatFlags};
use driver::consts::affect;
use driver::error::{ErrorCode, ErrorDomain};
use driver::{DomainRef, Error, Result};

use crate::state::{Driver, QEMU};

/// Device elements a persistent attach or detach handles
/// (virDomainDeviceType names; the character devices share one type).
const PERSISTENT: &[&str] = &[
    "disk",
    "lease",
    "filesystem",
    "interface",
    "input",
    "sound",
    "hostdev",
    "watchdog",
    "controller",
    "redirdev",
    "rng",
    "shmem",
    "memory",
    "vsock",
    "serial",
    "console",
    "parallel",
    "channel",
];

/// Device elements libvirt parses but cannot add to or remove from a
/// persistent definition.
const NOT_PERSISTENT: &[&str] = &[
    "video",
    "graphics",
    "hub",
    "smartcard",
    "memballoon",
    "nvram",
    "tpm",
    "panic",
    "iommu",
    "audio",
    "crypto",
];

fn dom_err(code: ErrorCode, msg: impl Into<String>) -> Error {
    Error::new(code, ErrorDomain::Domain, msg)
}

/// The device type name libvirt reports for an element
/// (virDomainDeviceTypeToString: the character devices are `chr`).
fn type_name(name: &str) -> &str {
    match name {
        "serial" | "console" | "parallel" | "channel" => "chr",
        n => n,
    }
}

/// Parses a device document (virDomainDeviceDefParse's first steps): a
/// well-formed element whose name is a device type.
pub(crate) fn parse_device(xml: &str) -> Result<Element> {
    let el = conf::xml::parse_any(xml, "(device_definition)")
        .map_err(|e| e.in_domain(ErrorDomain::Domain))?;
    let name = el.local_name();
    if !PERSISTENT.contains(&name) && !NOT_PERSISTENT.contains(&name) {
        return Err(dom_err(
            ErrorCode::ConfigUnsupported,
            format!("unknown device type '{name}'"),
        ));
    }
    Ok(el)
}

fn target_dev(el: &Element) -> Option<&str> {
    el.child("target").and_then(|t| t.attr("dev"))
}

fn source_path(el: &Element) -> Option<&str> {
    el.child("source").and_then(|s| {
        s.attr("file")
            .or_else(|| s.attr("dev"))
            .or_else(|| s.attr("dir"))
            .or_else(|| s.attr("name"))
            .or_else(|| s.attr("volume"))
    })
}

/// libvirt's virDomainDiskIndexByName: a name without a leading slash is
/// a target, else a source path (which must name one disk only unless
/// `ambiguous` is allowed).
pub(crate) fn disk_index(def: &DomainDef, name: &str, ambiguous: bool) -> Option<usize> {
    let mut found = None;
    for (i, d) in def.devices.iter().enumerate() {
        if d.local_name() != "disk" {
            continue;
        }
        if !name.starts_with('/') {
            if target_dev(d) == Some(name) {
                return Some(i);
            }
        } else if source_path(d) == Some(name) {
            if ambiguous {
                return Some(i);
            }
            if found.is_some() {
                return None;
            }
            found = Some(i);
        }
    }
    found
}

fn num(s: Option<&str>) -> Option<u64> {
    let s = s?.trim();
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

/// A PCI address given in a device (domain, bus, slot, function).
fn pci_address(el: &Element) -> Option<[u64; 4]> {
    let a = el.child("address")?;
    if a.attr("type") != Some("pci") {
        return None;
    }
    Some([
        num(a.attr("domain")).unwrap_or(0),
        num(a.attr("bus")).unwrap_or(0),
        num(a.attr("slot")).unwrap_or(0),
        num(a.attr("function")).unwrap_or(0),
    ])
}

fn alias_of(el: &Element) -> Option<&str> {
    el.child("alias").and_then(|a| a.attr("name"))
}

fn mac_of(el: &Element) -> Option<String> {
    el.child("mac")
        .and_then(|m| m.attr("address"))
        .map(str::to_ascii_lowercase)
}

/// libvirt's virDomainNetFindIdx: the one NIC matching `net`'s MAC (when
/// it gives one), PCI address (when it gives one) and alias.
pub(crate) fn net_index(def: &DomainDef, net: &Element) -> Result<usize> {
    let mac = mac_of(net);
    let pci = pci_address(net);
    let alias = alias_of(net);
    let mut found = None;
    for (i, d) in def.devices.iter().enumerate() {
        if d.local_name() != "interface" {
            continue;
        }
        if mac.is_some() && mac_of(d) != mac {
            continue;
        }
        if pci.is_some() && pci_address(d) != pci {
            continue;
        }
        if let (Some(a), Some(b)) = (alias, alias_of(d)) {
            if a != b {
                continue;
            }
        }
        if found.is_some() {
            return Err(dom_err(
                ErrorCode::OperationFailed,
                match &mac {
                    Some(m) => format!("multiple devices matching MAC address {m} found"),
                    None => "multiple matching devices found".to_string(),
                },
            ));
        }
        found = Some(i);
    }
    found.ok_or_else(|| {
        let addr = pci.map_or_else(
            || "(<null>)".to_string(),
            |[d, b, s, f]| format!("{d:04x}:{b:02x}:{s:02x}.{f:x}"),
        );
        dom_err(
            ErrorCode::DeviceMissing,
            format!(
                "no device found at address '{addr}' matching MAC address '{}' and alias '{}'",
                mac.as_deref().unwrap_or("(<null>)"),
                alias.unwrap_or("(<null>)")
            ),
        )
    })
}

/// A device with what the daemon adds to it (address, alias) removed,
/// for comparing a device a client describes with the definition's.
fn bare(el: &Element) -> Element {
    let mut e = el.clone();
    e.remove_children("address");
    e.remove_children("alias");
    e
}

/// The index of a controller of the same type and index.
fn controller_index(def: &DomainDef, el: &Element) -> Option<usize> {
    let idx = num(el.attr("index"))?;
    let ty = el.attr("type");
    def.devices.iter().position(|d| {
        d.local_name() == "controller" && d.attr("type") == ty && num(d.attr("index")) == Some(idx)
    })
}

/// libvirt's qemuDomainAttachDeviceConfig: adds `dev` to `def` after its
/// type's checks.
fn attach_config(def: &mut DomainDef, dev: Element) -> Result<()> {
    let name = dev.local_name().to_string();
    if NOT_PERSISTENT.contains(&name.as_str()) {
        return Err(Error::new(
            ErrorCode::OperationUnsupported,
            QEMU,
            format!(
                "persistent attach of device '{}' is not supported",
                type_name(&name)
            ),
        ));
    }
    match name.as_str() {
        "disk" => {
            if let Some(t) = target_dev(&dev) {
                if disk_index(def, t, true).is_some() {
                    return Err(Error::operation_invalid(
                        QEMU,
                        format!("target {t} already exists"),
                    ));
                }
            }
        }
        "controller" if controller_index(def, &dev).is_some() => {
            return Err(Error::operation_invalid(
                QEMU,
                format!(
                    "controller index='{}' already exists",
                    dev.attr("index").unwrap_or("")
                ),
            ));
        }
        "filesystem" => {
            let dir = dev.child("target").and_then(|t| t.attr("dir"));
            if dir.is_some()
                && def.devices.iter().any(|d| {
                    d.local_name() == "filesystem"
                        && d.child("target").and_then(|t| t.attr("dir")) == dir
                })
            {
                return Err(Error::operation_invalid(QEMU, "Target already exists"));
            }
        }
        "vsock" if def.devices.iter().any(|d| d.local_name() == "vsock") => {
            return Err(Error::operation_invalid(
                QEMU,
                "domain already has a vsock device",
            ));
        }
        "hostdev" => {
            let b = bare(&dev);
            if def.devices.iter().any(|d| {
                d.local_name() == "hostdev" && bare(d).child("source") == b.child("source")
            }) {
                return Err(Error::operation_invalid(
                    QEMU,
                    "device is already in the domain configuration",
                ));
            }
        }
        _ => {}
    }
    def.add_device(dev);
    Ok(())
}

/// libvirt's qemuDomainDetachDeviceConfig: removes the device of `def`
/// that `dev` describes.
fn detach_config(def: &mut DomainDef, dev: &Element) -> Result<()> {
    let name = dev.local_name();
    if NOT_PERSISTENT.contains(&name) {
        return Err(Error::new(
            ErrorCode::OperationUnsupported,
            QEMU,
            format!(
                "persistent detach of device '{}' is not supported",
                type_name(name)
            ),
        ));
    }
    let idx = match name {
        "disk" => {
            let t = target_dev(dev).unwrap_or("");
            disk_index(def, t, false).ok_or_else(|| {
                Error::new(
                    ErrorCode::DeviceMissing,
                    QEMU,
                    format!("no target device {t}"),
                )
            })?
        }
        "interface" => net_index(def, dev)?,
        "controller" => controller_index(def, dev).ok_or_else(missing_in_config)?,
        _ => {
            let want = bare(dev);
            def.devices
                .iter()
                .position(|d| bare(d) == want)
                .ok_or_else(missing_in_config)?
        }
    };
    def.devices.remove(idx);
    Ok(())
}

fn missing_in_config() -> Error {
    Error::new(
        ErrorCode::DeviceMissing,
        QEMU,
        "device not present in domain configuration",
    )
}

/// libvirt's qemuDomainUpdateDeviceConfig for the devices updated here:
/// a disk replaced by target, a NIC by MAC.
fn update_config(def: &mut DomainDef, dev: Element) -> Result<()> {
    let idx = match dev.local_name() {
        "disk" => {
            let t = target_dev(&dev).unwrap_or("").to_string();
            disk_index(def, &t, false).ok_or_else(|| {
                Error::new(
                    ErrorCode::InvalidArg,
                    QEMU,
                    format!("target {t} doesn't exist."),
                )
            })?
        }
        "interface" => net_index(def, &dev)?,
        other => {
            return Err(Error::new(
                ErrorCode::OperationUnsupported,
                QEMU,
                format!(
                    "persistent update of device '{}' is not supported",
                    type_name(other)
                ),
            ))
        }
    };
    let mut dev = dev;
    // What the client left out of the replacement keeps the old address.
    if dev.child("address").is_none() {
        if let Some(a) = def.devices.get(idx).and_then(|d| d.child("address")) {
            dev.push(a.clone());
        }
    }
    if let Some(slot) = def.devices.get_mut(idx) {
        *slot = dev;
    }
    Ok(())
}

/// Which parts a device call changes.
struct Impact {
    live: bool,
    config: bool,
}

impl Driver {
    /// The persistent definition after `edit`, through the define stages
    /// again (libvirt re-runs its post-parse on the edited copy).
    fn edited_config(
        &self,
        current: &DomainDef,
        edit: impl FnOnce(&mut DomainDef) -> Result<()>,
    ) -> Result<DomainDef> {
        let mut def = current.clone();
        edit(&mut def)?;
        let xml = def.to_xml(&FormatFlags {
            inactive: true,
            ..Default::default()
        });
        self.parse_def(&xml, false)
    }

    fn impact(
        &self,
        st: &crate::state::DomState,
        flags: u32,
        func: &str,
        allowed: u32,
    ) -> Result<Impact> {
        let flags = affect::impact(flags, st.live.is_some(), st.persistent.is_some())?;
        Error::check_flags(flags, allowed, func)?;
        Ok(Impact {
            live: flags & affect::LIVE != 0,
            config: flags & affect::CONFIG != 0,
        })
    }

    /// Saves and records a new persistent definition.
    fn commit_config(&self, dom: &crate::state::Dom, def: DomainDef) -> Result<()> {
        self.write_config(&def)?;
        dom.lock().persistent = Some(def);
        Ok(())
    }

    /// virDomainAttachDeviceFlags.
    pub(crate) fn attach_device(&self, r: &DomainRef, xml: &str, flags: u32) -> Result<()> {
        let job = self.begin(r, "virDomainAttachDeviceFlags")?;
        let dom = job.obj().clone();
        let (imp, persistent) = {
            let st = dom.lock();
            let imp = self.impact(
                &st,
                flags,
                "qemuDomainAttachDeviceLiveAndConfig",
                affect::LIVE | affect::CONFIG,
            )?;
            (imp, st.persistent.clone())
        };
        let dev = parse_device(xml)?;
        let new_config = match (imp.config, persistent) {
            (true, Some(p)) => Some(self.edited_config(&p, |d| attach_config(d, dev.clone()))?),
            _ => None,
        };
        if imp.live {
            self.attach_live(&dom, dev)?;
        }
        if let Some(def) = new_config {
            self.commit_config(&dom, def)?;
        }
        Ok(())
    }

    /// virDomainDetachDeviceFlags.
    pub(crate) fn detach_device(&self, r: &DomainRef, xml: &str, flags: u32) -> Result<()> {
        let job = self.begin(r, "virDomainDetachDeviceFlags")?;
        let dom = job.obj().clone();
        let (imp, persistent) = {
            let st = dom.lock();
            let imp = self.impact(
                &st,
                flags,
                "qemuDomainDetachDeviceLiveAndConfig",
                affect::LIVE | affect::CONFIG,
            )?;
            (imp, st.persistent.clone())
        };
        let dev = parse_device(xml)?;
        let new_config = match (imp.config, persistent) {
            (true, Some(p)) => Some(self.edited_config(&p, |d| detach_config(d, &dev))?),
            _ => None,
        };
        if imp.live {
            let idx = {
                let st = dom.lock();
                let live = st.live.as_ref().ok_or_else(crate::process::not_running)?;
                live_index(&live.def, &dev)?
            };
            self.detach_live(&dom, idx)?;
        }
        if let Some(def) = new_config {
            self.commit_config(&dom, def)?;
        }
        Ok(())
    }

    /// virDomainDetachDeviceAlias: the live device with that alias and/or
    /// the persistent one (libvirt's aliases of persistent devices are the
    /// user's, `ua-` ones).
    pub(crate) fn detach_device_alias(&self, r: &DomainRef, alias: &str, flags: u32) -> Result<()> {
        let job = self.begin(r, "virDomainDetachDeviceAlias")?;
        let dom = job.obj().clone();
        let (imp, persistent) = {
            let st = dom.lock();
            let imp = self.impact(
                &st,
                flags,
                "qemuDomainDetachDeviceAliasLiveAndConfig",
                affect::LIVE | affect::CONFIG,
            )?;
            (imp, st.persistent.clone())
        };
        let not_found = || {
            Error::new(
                ErrorCode::DeviceMissing,
                QEMU,
                format!("no device found with alias {alias}"),
            )
        };
        let new_config = match (imp.config, persistent) {
            (true, Some(p)) => Some(self.edited_config(&p, |d| {
                let i = d
                    .devices
                    .iter()
                    .position(|e| alias_of(e) == Some(alias))
                    .ok_or_else(not_found)?;
                d.devices.remove(i);
                Ok(())
            })?),
            _ => None,
        };
        if imp.live {
            let idx = {
                let st = dom.lock();
                let live = st.live.as_ref().ok_or_else(crate::process::not_running)?;
                live.def
                    .devices
                    .iter()
                    .position(|e| alias_of(e) == Some(alias))
                    .ok_or_else(not_found)?
            };
            self.detach_live(&dom, idx)?;
        }
        if let Some(def) = new_config {
            self.commit_config(&dom, def)?;
        }
        Ok(())
    }

    /// virDomainUpdateDeviceFlags.
    pub(crate) fn update_device(&self, r: &DomainRef, xml: &str, flags: u32) -> Result<()> {
        let job = self.begin(r, "virDomainUpdateDeviceFlags")?;
        let dom = job.obj().clone();
        // VIR_DOMAIN_DEVICE_MODIFY_FORCE: eject a locked tray.
        const FORCE: u32 = 1 << 2;
        let (imp, persistent) = {
            let st = dom.lock();
            let imp = self.impact(
                &st,
                flags,
                "qemuDomainUpdateDeviceFlags",
                affect::LIVE | affect::CONFIG | FORCE,
            )?;
            (imp, st.persistent.clone())
        };
        let dev = parse_device(xml)?;
        let new_config = match (imp.config, persistent) {
            (true, Some(p)) => Some(self.edited_config(&p, |d| update_config(d, dev.clone()))?),
            _ => None,
        };
        if imp.live {
            self.update_live(&dom, dev, flags & FORCE != 0)?;
        }
        if let Some(def) = new_config {
            self.commit_config(&dom, def)?;
        }
        Ok(())
    }
}

/// The live device `dev` describes (a disk by target, a NIC by MAC, else
/// an equal device).
pub(crate) fn live_index(def: &DomainDef, dev: &Element) -> Result<usize> {
    match dev.local_name() {
        "disk" => {
            let t = target_dev(dev).unwrap_or("");
            disk_index(def, t, false).ok_or_else(|| {
                Error::new(
                    ErrorCode::DeviceMissing,
                    QEMU,
                    format!("disk {t} not found"),
                )
            })
        }
        "interface" => net_index(def, dev),
        _ => {
            let want = bare(dev);
            def.devices
                .iter()
                .position(|d| bare(d) == want)
                .ok_or_else(|| {
                    Error::new(
                        ErrorCode::DeviceMissing,
                        QEMU,
                        "device not found in domain configuration",
                    )
                })
        }
    }
}

impl Driver {
    /// libvirt's qemuDomainAttachDeviceLive.
    fn attach_live(&self, _dom: &crate::state::Dom, dev: Element) -> Result<()> {
        Err(live_unsupported("attach", dev.local_name()))
    }

    /// libvirt's qemuDomainDetachDeviceLive for the live device at `idx`.
    fn detach_live(&self, dom: &crate::state::Dom, idx: usize) -> Result<()> {
        let name = {
            let st = dom.lock();
            st.live
                .as_ref()
                .and_then(|l| l.def.devices.get(idx))
                .map(|d| d.local_name().to_string())
                .unwrap_or_default()
        };
        Err(live_unsupported("detach", &name))
    }

    /// libvirt's qemuDomainUpdateDeviceLive.
    fn update_live(&self, _dom: &crate::state::Dom, dev: Element, _force: bool) -> Result<()> {
        Err(live_unsupported("update", dev.local_name()))
    }
}

fn live_unsupported(what: &str, name: &str) -> Error {
    Error::new(
        ErrorCode::OperationUnsupported,
        QEMU,
        format!(
            "live {what} of device '{}' is not supported",
            type_name(name)
        ),
    )
}

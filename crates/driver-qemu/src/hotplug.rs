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
use serde_json::{json, Value};

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

/// Device removals asked of QEMU (`device_del`) whose DEVICE_DELETED
/// has not come yet: per domain and alias, the block nodes to delete
/// after it and who waits for it.
#[derive(Default)]
pub(crate) struct Unplugs {
    pending: std::sync::Mutex<std::collections::HashMap<([u8; 16], String), Pending>>,
}

#[derive(Default)]
struct Pending {
    nodes: Vec<String>,
    /// Back ends to delete after the device (`netdev_del`).
    netdevs: Vec<String>,
    waiters: Vec<std::sync::mpsc::Sender<()>>,
}

impl Unplugs {
    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<([u8; 16], String), Pending>> {
        self.pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// How long a detach waits for the guest to let the device go (libvirt's
/// 5 s; `LIBVIRT_QEMU_UNPLUG_WAIT_MS` overrides it, for tests).
fn unplug_wait() -> std::time::Duration {
    driver::job::timeout_from_env(
        "LIBVIRT_QEMU_UNPLUG_WAIT_MS",
        std::time::Duration::from_secs(5),
    )
}

fn monitor_failed() -> Error {
    Error::new(ErrorCode::OperationFailed, QEMU, "monitor call failed")
}

impl Driver {
    /// Runs one monitor command and waits for its answer.
    pub(crate) fn qmp(
        &self,
        mon: &qemu::qmp::Qmp,
        cmd: &'static str,
        args: Option<Value>,
    ) -> Result<Value> {
        let mon = mon.clone();
        match self.block(async move { mon.execute(cmd, args).await }) {
            Some(Ok(r)) => Ok(r.ret),
            Some(Err(e)) => Err(qemu::probe::qmp_error(cmd, e)),
            None => Err(monitor_failed()),
        }
    }

    /// The next free block node number: one past the highest
    /// `libvirt-N-...` node QEMU has.
    pub(crate) fn next_node_index(&self, mon: &qemu::qmp::Qmp) -> Result<usize> {
        let nodes = self.qmp(mon, "query-named-block-nodes", None)?;
        let top = nodes
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|n| n.get("node-name").and_then(Value::as_str))
            .filter_map(|n| {
                n.strip_prefix("libvirt-")?
                    .split('-')
                    .next()?
                    .parse::<usize>()
                    .ok()
            })
            .max()
            .unwrap_or(0);
        Ok(top + 1)
    }

    /// libvirt's qemuDomainAttachDeviceLive: disks on hot-pluggable buses.
    fn attach_live(&self, dom: &crate::state::Dom, dev: Element) -> Result<()> {
        match dev.local_name() {
            "disk" => self.attach_disk_live(dom, dev),
            "interface" => self.attach_net_live(dom, dev),
            other => Err(live_unsupported("attach", other)),
        }
    }

    fn attach_disk_live(&self, dom: &crate::state::Dom, dev: Element) -> Result<()> {
        let (live_def, mon) = {
            let st = dom.lock();
            let live = st.live.as_ref().ok_or_else(crate::process::not_running)?;
            (live.def.clone(), live.mon.clone())
        };
        if dev.attr("device") == Some("floppy") {
            return Err(Error::new(
                ErrorCode::OperationUnsupported,
                QEMU,
                "floppy device hotplug isn't supported",
            ));
        }
        let target = target_dev(&dev).unwrap_or("").to_string();
        if disk_index(&live_def, &target, false).is_some() {
            return Err(Error::new(
                ErrorCode::OperationFailed,
                QEMU,
                format!("target {target} already exists"),
            ));
        }
        // The device with its defaults and address, assigned against the
        // running guest's devices as at define time.
        let mut with = live_def.clone();
        with.id = None;
        let prepared = self.edited_config(&with, |d| {
            d.add_device(dev);
            Ok(())
        })?;
        let el = prepared
            .devices
            .iter()
            .find(|d| d.local_name() == "disk" && target_dev(d) == Some(target.as_str()))
            .cloned()
            .ok_or_else(|| Error::internal(QEMU, "the attached disk was lost"))?;
        let bus = el
            .child("target")
            .and_then(|t| t.attr("bus"))
            .unwrap_or("")
            .to_string();
        match bus.as_str() {
            "virtio" if el.attr("device") == Some("cdrom") => {
                return Err(Error::new(
                    ErrorCode::OperationUnsupported,
                    QEMU,
                    "cdrom device with virtio bus isn't supported",
                ))
            }
            "virtio" | "scsi" | "usb" => {}
            b => {
                return Err(Error::new(
                    ErrorCode::OperationUnsupported,
                    QEMU,
                    format!("disk bus '{b}' cannot be hotplugged."),
                ))
            }
        }
        let emulator = prepared.emulator.clone().unwrap_or_default();
        let qcaps = crate::caps::lookup(&self.caps, &emulator)?;
        let n = self.next_node_index(&mon)?;
        let cfg = crate::launch::command_config(&self.conf, &self.opts.lib_dir, &qcaps)?;
        let plan = qemu_command::hotplug::disk(&prepared, &qcaps, &cfg, &el, n)?;
        // The file goes to QEMU's user first (dynamic_ownership).
        let mut owned = Vec::new();
        if let (Some((uid, gid)), true) = (self.run_as(), self.conf.dynamic_ownership) {
            if let Some(src) = source_path(&el) {
                owned = crate::process::hand_over(&[src.into()], uid, gid)?;
            }
        }
        // A device disk is added to the guest's cgroup device list.
        if let (Some(src), Some(id)) = (source_path(&el), live_def.id) {
            if let Err(e) = crate::cgroup::allow_disk(&self.conf, id, &prepared, src.as_ref()) {
                crate::process::give_back(&owned);
                return Err(e);
            }
        }
        let mut added: Vec<String> = Vec::new();
        let res = (|| {
            for o in &plan.objects {
                self.qmp(&mon, "object-add", Some(o.clone()))?;
            }
            for b in &plan.blockdevs {
                self.qmp(&mon, "blockdev-add", Some(b.clone()))?;
                if let Some(n) = b.get("node-name").and_then(Value::as_str) {
                    added.push(n.to_string());
                }
            }
            self.qmp(&mon, "device_add", Some(plan.device.clone()))
        })();
        if let Err(e) = res {
            for n in added.iter().rev() {
                let _ = self.qmp(&mon, "blockdev-del", Some(json!({ "node-name": n })));
            }
            for o in &plan.objects {
                if let Some(id) = o.get("id").and_then(Value::as_str) {
                    let _ = self.qmp(&mon, "object-del", Some(json!({ "id": id })));
                }
            }
            crate::process::give_back(&owned);
            return Err(e);
        }
        let mut el = el;
        if let Some(id) = plan.id() {
            set_alias(&mut el, id);
        }
        let mut st = dom.lock();
        let (state, reason) = (st.state, st.reason);
        if let Some(live) = st.live.as_mut() {
            live.def.add_device(el);
            live.owned.extend(owned);
            self.write_status(&live.def, state, reason, live.pid);
        }
        Ok(())
    }

    /// libvirt's qemuDomainAttachNetDevice for the NIC types the command
    /// line builds (user networking): `netdev_add`, then `device_add`,
    /// the NIC named `netN` after the highest one.
    fn attach_net_live(&self, dom: &crate::state::Dom, dev: Element) -> Result<()> {
        let (live_def, mon) = {
            let st = dom.lock();
            let live = st.live.as_ref().ok_or_else(crate::process::not_running)?;
            (live.def.clone(), live.mon.clone())
        };
        let ty = dev.attr("type").unwrap_or("").to_string();
        if ty != "user" && !qemu_command::TAP_NIC_TYPES.contains(&ty.as_str()) {
            return Err(Error::new(
                ErrorCode::OperationUnsupported,
                QEMU,
                format!("live attach of interface type '{ty}' is not supported by this daemon yet"),
            ));
        }
        let mut with = live_def.clone();
        with.id = None;
        let prepared = self.edited_config(&with, |d| {
            d.add_device(dev);
            Ok(())
        })?;
        // The new NIC: the one whose MAC no running NIC has.
        let macs: Vec<Option<String>> = live_def
            .devices
            .iter()
            .filter(|d| d.local_name() == "interface")
            .map(mac_of)
            .collect();
        let mut el = prepared
            .devices
            .iter()
            .filter(|d| d.local_name() == "interface")
            .find(|d| !macs.contains(&mac_of(d)))
            .cloned()
            .ok_or_else(|| Error::internal(QEMU, "the attached interface was lost"))?;
        let next = live_def
            .devices
            .iter()
            .filter(|d| d.local_name() == "interface")
            .enumerate()
            .filter_map(|(i, d)| match alias_of(d) {
                Some(a) => a.strip_prefix("net")?.parse::<usize>().ok(),
                None => Some(i),
            })
            .map(|i| i + 1)
            .max()
            .unwrap_or(0);
        let alias = format!("net{next}");
        set_alias(&mut el, &alias);
        // Its network port and tap name, as at start.
        let mut el = self.plug_nic(&live_def, el)?;
        let res = (|| {
            let emulator = prepared.emulator.clone().unwrap_or_default();
            let qcaps = crate::caps::lookup(&self.caps, &emulator)?;
            let cfg = crate::launch::command_config(&self.conf, &self.opts.lib_dir, &qcaps)?;
            let plan = qemu_command::hotplug::interface(&prepared, &qcaps, &cfg, &el)?;
            // The tap (and vhost-net) descriptors go to QEMU by name
            // (`getfd`); they are ours until netdev_add took them.
            let mut netdevs = plan.netdevs.clone();
            let mut held = Vec::new();
            for pf in &plan.fds {
                let fd = crate::netdev::open_nic_fd(&pf.source)?;
                let name = format!("{alias}-fd{}", held.len());
                self.send_fd(&mon, &name, &fd)?;
                held.push((fd, name.clone()));
                for n in netdevs.iter_mut() {
                    for key in ["fd", "vhostfd"] {
                        if n.get(key).and_then(Value::as_str) == Some(&pf.fd.to_string()) {
                            n[key] = json!(name);
                        }
                    }
                }
            }
            let mut added = Vec::new();
            let res = (|| {
                for n in &netdevs {
                    self.qmp(&mon, "netdev_add", Some(n.clone()))?;
                    if let Some(id) = n.get("id").and_then(Value::as_str) {
                        added.push(id.to_string());
                    }
                }
                self.qmp(&mon, "device_add", Some(plan.device.clone()))
            })();
            if res.is_err() {
                for id in added.iter().rev() {
                    let _ = self.qmp(&mon, "netdev_del", Some(json!({ "id": id })));
                }
                for (_, name) in &held {
                    let _ = self.qmp(&mon, "closefd", Some(json!({ "fdname": name })));
                }
            }
            res
        })();
        if let Err(e) = res {
            self.release_nic(&live_def, &mut el);
            return Err(e);
        }
        let mut st = dom.lock();
        let (state, reason) = (st.state, st.reason);
        if let Some(live) = st.live.as_mut() {
            live.def.add_device(el);
            self.write_status(&live.def, state, reason, live.pid);
        }
        Ok(())
    }

    /// libvirt's qemuDomainDetachDeviceLive for the live device at `idx`:
    /// `device_del`, then the removal completes when QEMU reports
    /// DEVICE_DELETED (waited for a while; later is fine too).
    fn detach_live(&self, dom: &crate::state::Dom, idx: usize) -> Result<()> {
        let (el, mon) = {
            let st = dom.lock();
            let live = st.live.as_ref().ok_or_else(crate::process::not_running)?;
            let el = live
                .def
                .devices
                .get(idx)
                .cloned()
                .ok_or_else(|| Error::internal(QEMU, "device index out of range"))?;
            (el, live.mon.clone())
        };
        let name = el.local_name().to_string();
        let (alias, nodes, netdevs) = match name.as_str() {
            "disk" => {
                let bus = el.child("target").and_then(|t| t.attr("bus")).unwrap_or("");
                if !matches!(bus, "virtio" | "scsi" | "usb") || el.attr("device") == Some("floppy")
                {
                    return Err(Error::new(
                        ErrorCode::OperationUnsupported,
                        QEMU,
                        "This type of disk cannot be hot unplugged",
                    ));
                }
                let alias = match alias_of(&el) {
                    Some(a) => a.to_string(),
                    None => self.disk_alias(dom, &el)?,
                };
                let nodes = self.disk_nodes(&mon, &alias, source_path(&el))?;
                (alias, nodes, Vec::new())
            }
            "interface" => {
                // The command line names NICs by position.
                let alias = match alias_of(&el) {
                    Some(a) => a.to_string(),
                    None => {
                        let st = dom.lock();
                        let pos = st
                            .live
                            .as_ref()
                            .map(|l| {
                                l.def.devices[..idx.min(l.def.devices.len())]
                                    .iter()
                                    .filter(|d| d.local_name() == "interface")
                                    .count()
                            })
                            .unwrap_or(0);
                        format!("net{pos}")
                    }
                };
                let host = format!("host{alias}");
                (alias, Vec::new(), vec![host])
            }
            other => return Err(live_unsupported("detach", other)),
        };
        // The live device carries its alias from now on, so that QEMU's
        // DEVICE_DELETED finds it.
        if alias_of(&el).is_none() {
            let mut st = dom.lock();
            if let Some(d) = st.live.as_mut().and_then(|l| l.def.devices.get_mut(idx)) {
                set_alias(d, &alias);
            }
        }
        // Removed now, or later when the guest lets go.
        self.unplug(dom, &mon, &alias, nodes, netdevs).map(|_| ())
    }

    /// `device_del` of `alias`, with what to delete once QEMU reports it
    /// gone; whether that happened within libvirt's wait.
    pub(crate) fn unplug(
        &self,
        dom: &crate::state::Dom,
        mon: &qemu::qmp::Qmp,
        alias: &str,
        nodes: Vec<String>,
        netdevs: Vec<String>,
    ) -> Result<bool> {
        let (tx, rx) = std::sync::mpsc::channel();
        {
            let mut p = self.unplugs.lock();
            let e = p.entry((*dom.uuid(), alias.to_string())).or_default();
            e.nodes = nodes;
            e.netdevs = netdevs;
            e.waiters.push(tx);
        }
        if let Err(e) = self.qmp(mon, "device_del", Some(json!({ "id": alias }))) {
            self.unplugs
                .lock()
                .remove(&(*dom.uuid(), alias.to_string()));
            return Err(e);
        }
        Ok(rx.recv_timeout(unplug_wait()).is_ok())
    }

    /// The alias (QEMU device id) the command line gave disk `el`.
    pub(crate) fn disk_alias(&self, dom: &crate::state::Dom, el: &Element) -> Result<String> {
        let def = {
            let st = dom.lock();
            st.live
                .as_ref()
                .ok_or_else(crate::process::not_running)?
                .def
                .clone()
        };
        let qcaps = crate::caps::lookup(&self.caps, def.emulator.as_deref().unwrap_or(""))?;
        let cfg = crate::launch::command_config(&self.conf, &self.opts.lib_dir, &qcaps)?;
        qemu_command::hotplug::disk(&def, &qcaps, &cfg, el, 0)?
            .id()
            .map(str::to_string)
            .ok_or_else(|| Error::internal(QEMU, "device alias not found"))
    }

    /// The block nodes under the disk whose device is `alias` (or whose
    /// image is `file`), format node first.
    pub(crate) fn disk_nodes(
        &self,
        mon: &qemu::qmp::Qmp,
        alias: &str,
        file: Option<&str>,
    ) -> Result<Vec<String>> {
        let blocks = self.qmp(mon, "query-block", None)?;
        let entry = blocks.as_array().into_iter().flatten().find(|b| {
            let qdev = b.get("qdev").and_then(Value::as_str).unwrap_or("");
            qdev == alias
                || qdev.starts_with(&format!("/machine/peripheral/{alias}/"))
                || (file.is_some() && b.pointer("/inserted/file").and_then(Value::as_str) == file)
        });
        let Some(format) = entry
            .and_then(|b| b.pointer("/inserted/node-name"))
            .and_then(Value::as_str)
        else {
            return Ok(Vec::new());
        };
        let mut nodes = vec![format.to_string()];
        if let Some(n) = format
            .strip_prefix("libvirt-")
            .and_then(|r| r.strip_suffix("-format"))
        {
            nodes.push(format!("libvirt-{n}-storage"));
        }
        Ok(nodes)
    }

    /// QEMU's DEVICE_DELETED for `alias` (libvirt's
    /// qemuDomainRemoveDevice): the device leaves the live definition, its
    /// block nodes are deleted, its file goes back to its owner, and
    /// whoever waits for it is told. Runs on the driver's runtime.
    pub(crate) async fn device_deleted(
        &self,
        dom: std::sync::Arc<crate::state::Dom>,
        alias: String,
    ) {
        let pending = self.unplugs.lock().remove(&(*dom.uuid(), alias.clone()));
        let (mon, removed) = {
            let mut st = dom.lock();
            let (state, reason) = (st.state, st.reason);
            let Some(live) = st.live.as_mut() else {
                return;
            };
            let idx = live
                .def
                .devices
                .iter()
                .position(|d| alias_of(d) == Some(alias.as_str()));
            let removed = idx.map(|i| live.def.devices.remove(i));
            if let Some(nic) = removed.clone().filter(|d| d.local_name() == "interface") {
                // Its network port goes back (off the runtime: the
                // network driver may be another daemon); the tap goes
                // with QEMU's netdev.
                if let Some(drv) = self.weak.upgrade() {
                    let def = live.def.clone();
                    tokio::task::spawn_blocking(move || {
                        let mut nic = nic;
                        drv.release_nic(&def, &mut nic);
                    });
                }
            }
            if let Some(src) = removed.as_ref().and_then(source_path) {
                let path = std::path::PathBuf::from(src);
                let (back, keep): (Vec<_>, Vec<_>) =
                    live.owned.drain(..).partition(|o| o.path == path);
                crate::process::give_back(&back);
                live.owned = keep;
            }
            self.write_status(&live.def, state, reason, live.pid);
            (live.mon.clone(), removed.is_some())
        };
        if let Some(p) = pending {
            for id in &p.netdevs {
                let _ = mon.execute("netdev_del", Some(json!({ "id": id }))).await;
            }
            for n in &p.nodes {
                let _ = mon
                    .execute("blockdev-del", Some(json!({ "node-name": n })))
                    .await;
            }
            for w in p.waiters {
                let _ = w.send(());
            }
        }
        if removed {
            self.events.publish(driver::Event::DomainDeviceRemoved {
                dom: crate::state::dom_ref(&dom),
                alias,
            });
        }
    }

    /// libvirt's qemuDomainUpdateDeviceLive: a disk's medium.
    fn update_live(&self, dom: &crate::state::Dom, dev: Element, force: bool) -> Result<()> {
        match dev.local_name() {
            "disk" => self.change_disk_live(dom, dev, force),
            other => Err(live_unsupported("update", other)),
        }
    }

    /// libvirt's qemuDomainChangeDiskLive: a new source only for CD-ROMs
    /// and floppies, put in as qemuDomainChangeMediaBlockdev does (tray
    /// opened, medium removed and its nodes deleted, the new nodes added
    /// and inserted, tray closed).
    fn change_disk_live(&self, dom: &crate::state::Dom, dev: Element, force: bool) -> Result<()> {
        let (def, mon) = {
            let st = dom.lock();
            let live = st.live.as_ref().ok_or_else(crate::process::not_running)?;
            (live.def.clone(), live.mon.clone())
        };
        let target = target_dev(&dev).unwrap_or("").to_string();
        let idx = def
            .devices
            .iter()
            .position(|d| d.local_name() == "disk" && target_dev(d) == Some(target.as_str()))
            .ok_or_else(|| Error::internal(QEMU, format!("disk '{target}' not found")))?;
        let orig = def.devices.get(idx).cloned().unwrap_or_default();
        let (old_src, new_src) = (source_path(&orig), source_path(&dev));
        if old_src == new_src {
            return Ok(());
        }
        if !matches!(orig.attr("device"), Some("cdrom" | "floppy")) {
            return Err(Error::new(
                ErrorCode::ConfigUnsupported,
                QEMU,
                "disk source can be changed only in removable drives",
            ));
        }
        let id = match alias_of(&orig) {
            Some(a) => a.to_string(),
            None => self.disk_alias(dom, &orig)?,
        };
        let old_nodes = self.disk_nodes(&mon, &id, old_src)?;
        // The disk as it will be: the old one with the new source.
        let mut updated = orig.clone();
        updated.remove_children("source");
        if let Some(s) = dev.child("source") {
            updated.insert_after_names(s.clone(), &["driver"]);
        }
        if let Some(d) = dev.child("driver") {
            updated.remove_children("driver");
            updated.insert_after_names(d.clone(), &[]);
        }
        let plan = match new_src {
            Some(_) => {
                let emulator = def.emulator.clone().unwrap_or_default();
                let qcaps = crate::caps::lookup(&self.caps, &emulator)?;
                let cfg = crate::launch::command_config(&self.conf, &self.opts.lib_dir, &qcaps)?;
                let n = self.next_node_index(&mon)?;
                Some(qemu_command::hotplug::disk(
                    &def, &qcaps, &cfg, &updated, n,
                )?)
            }
            None => None,
        };
        let mut owned = Vec::new();
        if let (Some(src), Some((uid, gid)), true) =
            (new_src, self.run_as(), self.conf.dynamic_ownership)
        {
            owned = crate::process::hand_over(&[src.into()], uid, gid)?;
        }
        let res = (|| {
            self.qmp(
                &mon,
                "blockdev-open-tray",
                Some(json!({ "id": id, "force": force })),
            )?;
            self.qmp(&mon, "blockdev-remove-medium", Some(json!({ "id": id })))?;
            for n in &old_nodes {
                let _ = self.qmp(&mon, "blockdev-del", Some(json!({ "node-name": n })));
            }
            if let Some(p) = &plan {
                for b in &p.blockdevs {
                    self.qmp(&mon, "blockdev-add", Some(b.clone()))?;
                }
                let top = p.node_names().last().cloned().unwrap_or_default();
                self.qmp(
                    &mon,
                    "blockdev-insert-medium",
                    Some(json!({ "id": id, "node-name": top })),
                )?;
            }
            self.qmp(&mon, "blockdev-close-tray", Some(json!({ "id": id })))
        })();
        if let Err(e) = res {
            if let Some(p) = &plan {
                for n in p.node_names().iter().rev() {
                    let _ = self.qmp(&mon, "blockdev-del", Some(json!({ "node-name": n })));
                }
            }
            crate::process::give_back(&owned);
            return Err(e);
        }
        let mut st = dom.lock();
        let (state, reason) = (st.state, st.reason);
        if let Some(live) = st.live.as_mut() {
            if let Some(old) = old_src {
                let path = std::path::PathBuf::from(old);
                let (back, keep): (Vec<_>, Vec<_>) =
                    live.owned.drain(..).partition(|o| o.path == path);
                crate::process::give_back(&back);
                live.owned = keep;
            }
            live.owned.extend(owned);
            set_alias(&mut updated, &id);
            if let Some(slot) = live.def.devices.get_mut(idx) {
                *slot = updated;
            }
            self.write_status(&live.def, state, reason, live.pid);
        }
        Ok(())
    }

    /// virDomainBlockResize: QEMU's `block_resize` of the disk's format
    /// node (sizes in KiB unless VIR_DOMAIN_BLOCK_RESIZE_BYTES).
    pub(crate) fn block_resize(
        &self,
        r: &DomainRef,
        path: &str,
        size: u64,
        flags: u32,
    ) -> Result<()> {
        const BYTES: u32 = 1;
        Error::check_flags(flags, BYTES, "qemuDomainBlockResize")?;
        let mut size = if flags & BYTES == 0 {
            size.checked_mul(1024).ok_or_else(|| {
                Error::new(
                    ErrorCode::Overflow,
                    QEMU,
                    format!("size must be less than {}", u64::MAX / 1024),
                )
            })?
        } else {
            size
        };
        let job = self.begin(r, "virDomainBlockResize")?;
        let dom = job.obj().clone();
        let (el, mon) = {
            let st = dom.lock();
            let live = st.live.as_ref().ok_or_else(crate::process::not_running)?;
            let i = disk_index(&live.def, path, false).ok_or_else(|| {
                Error::new(
                    ErrorCode::InvalidArg,
                    QEMU,
                    format!("disk '{path}' was not found in the domain config"),
                )
            })?;
            (live.def.devices.get(i).cloned(), live.mon.clone())
        };
        let el = el.ok_or_else(|| Error::internal(QEMU, "disk index out of range"))?;
        let format = el
            .child("driver")
            .and_then(|d| d.attr("type"))
            .unwrap_or("raw");
        if format == "qcow2" || format == "qed" {
            size = size.div_ceil(512).saturating_mul(512);
        }
        let dst = target_dev(&el).unwrap_or("");
        if source_path(&el).is_none()
            || el.child("readonly").is_some()
            || el.attr("device") == Some("cdrom")
        {
            return Err(Error::new(
                ErrorCode::OperationUnsupported,
                QEMU,
                format!("can't resize empty or readonly disk '{dst}'"),
            ));
        }
        let alias = match alias_of(&el) {
            Some(a) => a.to_string(),
            None => self.disk_alias(&dom, &el)?,
        };
        let node = self
            .disk_nodes(&mon, &alias, source_path(&el))?
            .into_iter()
            .next()
            .ok_or_else(|| {
                Error::internal(QEMU, format!("cannot find the block node of disk '{dst}'"))
            })?;
        self.qmp(
            &mon,
            "block_resize",
            Some(json!({ "node-name": node, "size": size })),
        )?;
        Ok(())
    }
}

/// Gives a live device its alias, where libvirt formats it (before the
/// address).
fn set_alias(el: &mut Element, alias: &str) {
    el.remove_children("alias");
    let a = Element::new("alias").with_attr("name", alias);
    match el
        .children
        .iter()
        .position(|n| matches!(n, conf::xml::Node::Element(c) if c.name == "address"))
    {
        Some(i) => el.children.insert(i, conf::xml::Node::Element(a)),
        None => {
            el.push(a);
        }
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

// SPDX-License-Identifier: LGPL-2.1-or-later
//! The node device driver: the host's devices as libvirt's udev backend
//! lists them (`nodedev:///system`, and the node device calls of the
//! hypervisor connections of a daemon that hosts it).
//!
//! Role: enumerate sysfs once at start-up ([`udev`] reads devices as
//! libudev does, [`probe`] turns each into libvirt's `<device>`), keep the
//! list current from the kernel's uevents ([`monitor`]), answer listing
//! with capability filters, lookup, XML (refreshing what changes without
//! an event: link state, SR-IOV functions, IOMMU groups, FC HBAs), parent
//! and capability names, and refuse what this host cannot do (vHBA and
//! mediated device creation without the hardware or `mdevctl`) with
//! libvirt's errors.
//!
//! Must not depend on: rpc, dispatch, protocol. Errors are `virterror`
//! errors from the node device domain.
//!
//! Invariants: the device list is changed under one lock; a device's
//! parent is a device of the list (or `computer`, which is always there);
//! every change of the list is published as a lifecycle or update event.
#![forbid(unsafe_code)]

pub mod hostdev;
pub mod monitor;
pub mod pci;
pub mod probe;
pub mod udev;
pub mod vpd;

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use conf::nodedev::{Cap, NodeDeviceDef, ParseMode, CAP_NAMES};
use driver::{Event, NodeDeviceRef};
use virterror::{ErrorCode, ErrorDomain, VirError};

pub use udev::Sysfs;

type Result<T> = std::result::Result<T, VirError>;

/// VIR_CONNECT_LIST_NODE_DEVICES_* filters: one bit per capability
/// (`1 << index` in [`CAP_NAMES`]), then inactive and active.
pub mod list {
    pub const CAPS: u32 = (1 << 22) - 1;
    pub const INACTIVE: u32 = 1 << 30;
    pub const ACTIVE: u32 = 1 << 31;
}

/// VIR_NODE_DEVICE_EVENT_CREATED / DELETED.
pub const EVENT_CREATED: i32 = 0;
pub const EVENT_DELETED: i32 = 1;

/// VIR_NODE_DEVICE_CREATE_XML_VALIDATE (= ..._DEFINE_XML_VALIDATE).
pub const XML_VALIDATE: u32 = 1;

fn err(code: ErrorCode, detail: impl Into<String>) -> VirError {
    VirError::new(code, ErrorDomain::Nodedev, detail)
}

/// libvirt's check of a call's flags, reported from this driver.
fn check_flags(flags: u32, allowed: u32, func: &str) -> Result<()> {
    VirError::check_flags(flags, allowed, func).map_err(|e| e.in_domain(ErrorDomain::Nodedev))
}

fn no_device(name: &str) -> VirError {
    err(
        ErrorCode::NoNodeDevice,
        format!("no node device with matching name '{name}'"),
    )
}

/// The driver: the host's devices.
pub struct NodedevDriver {
    sysfs: Sysfs,
    privileged: bool,
    devs: Mutex<Vec<NodeDeviceDef>>,
    events: driver::EventBus,
}

impl NodedevDriver {
    /// A driver on `sysfs`, its devices enumerated. `privileged`: the
    /// daemon runs as root (PCI configuration space is read).
    pub fn new(sysfs: Sysfs, privileged: bool) -> NodedevDriver {
        let d = NodedevDriver {
            sysfs,
            privileged,
            devs: Mutex::new(Vec::new()),
            events: driver::EventBus::new(),
        };
        d.enumerate();
        d
    }

    fn lock(&self) -> MutexGuard<'_, Vec<NodeDeviceDef>> {
        self.devs.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Where the driver reads devices.
    pub fn sysfs(&self) -> &Sysfs {
        &self.sysfs
    }

    fn enumerate(&self) {
        let computer = probe::computer(&self.sysfs);
        self.lock().push(computer);
        for p in udev::enumerate(&self.sysfs) {
            let _ = self.add_device(&p);
        }
    }

    /// The name of the nearest known ancestor of `info`, else `computer`.
    fn parent_of(devs: &[NodeDeviceDef], sysfs: &Sysfs, info: &udev::DevInfo) -> String {
        for a in info.ancestors(sysfs) {
            let a = a.to_string_lossy();
            if let Some(d) = devs.iter().find(|d| d.path.as_deref() == Some(&*a)) {
                return d.name.clone();
            }
        }
        "computer".to_string()
    }

    /// Adds (or replaces) the device at `syspath`; the event to publish.
    pub fn add_device(&self, syspath: &Path) -> Option<Event> {
        let info = udev::DevInfo::read(&self.sysfs, syspath)?;
        let mut def = probe::probe(&self.sysfs, &info, self.privileged)?;
        let mut devs = self.lock();
        def.parent = Some(Self::parent_of(&devs, &self.sysfs, &info));
        let dev = NodeDeviceRef {
            name: def.name.clone(),
        };
        match devs.iter().position(|d| d.name == def.name) {
            Some(i) => {
                devs[i] = def;
                Some(Event::NodeDeviceUpdate { dev })
            }
            None => {
                devs.push(def);
                Some(Event::NodeDeviceLifecycle {
                    dev,
                    event: EVENT_CREATED,
                    detail: 0,
                })
            }
        }
    }

    /// Removes the device at `syspath`; the event to publish.
    pub fn remove_device(&self, syspath: &Path) -> Option<Event> {
        let p = syspath.to_string_lossy();
        let mut devs = self.lock();
        let i = devs.iter().position(|d| d.path.as_deref() == Some(&*p))?;
        let d = devs.remove(i);
        Some(Event::NodeDeviceLifecycle {
            dev: NodeDeviceRef { name: d.name },
            event: EVENT_DELETED,
            detail: 0,
        })
    }

    /// Tells subscribers.
    pub fn publish(&self, ev: Event) {
        self.events.publish(ev);
    }

    /// Subscribes to the driver's events.
    pub fn subscribe(&self, sink: driver::EventSink) -> u64 {
        self.events.subscribe(sink)
    }

    /// Ends a subscription.
    pub fn unsubscribe(&self, token: u64) {
        self.events.unsubscribe(token);
    }

    /// The names of every device, in the order they were found.
    pub fn names(&self) -> Vec<String> {
        self.lock().iter().map(|d| d.name.clone()).collect()
    }

    /// virConnectListAllNodeDevices: every device is active; none is
    /// persistent (no mediated devices defined through mdevctl here).
    pub fn list_all(&self, flags: u32) -> Result<Vec<NodeDeviceRef>> {
        check_flags(
            flags,
            list::CAPS | list::ACTIVE | list::INACTIVE,
            "nodeConnectListAllNodeDevices",
        )?;
        let caps = flags & list::CAPS;
        let states = flags & (list::ACTIVE | list::INACTIVE);
        Ok(self
            .lock()
            .iter()
            .filter(|d| {
                caps == 0
                    || CAP_NAMES
                        .iter()
                        .enumerate()
                        .any(|(i, c)| caps & (1 << i) != 0 && d.has_cap(c))
            })
            .filter(|_| states == 0 || states & list::ACTIVE != 0)
            .map(|d| NodeDeviceRef {
                name: d.name.clone(),
            })
            .collect())
    }

    /// virNodeListDevices (`func` names the API for a flags error:
    /// nodeListDevices or nodeNumOfDevices).
    pub fn list_names(&self, cap: Option<&str>, flags: u32, func: &str) -> Result<Vec<String>> {
        check_flags(flags, 0, func)?;
        Ok(self
            .lock()
            .iter()
            .filter(|d| cap.is_none_or(|c| d.has_cap(c)))
            .map(|d| d.name.clone())
            .collect())
    }

    /// The device named `name`, its changing parts read again
    /// (virNodeDeviceUpdateCaps, and the driver bound now).
    pub fn get(&self, name: &str) -> Result<NodeDeviceDef> {
        let mut def = self
            .lock()
            .iter()
            .find(|d| d.name == name)
            .cloned()
            .ok_or_else(|| no_device(name))?;
        self.refresh(&mut def)?;
        Ok(def)
    }

    fn refresh(&self, def: &mut NodeDeviceDef) -> Result<()> {
        let Some(path) = def.path.clone() else {
            return Ok(());
        };
        let path = Path::new(&path);
        def.driver = udev::link_basename(&path.join("driver"));
        for cap in &mut def.caps {
            match cap {
                Cap::ScsiHost(h) => probe::scsi_host_caps(&self.sysfs, h),
                Cap::ScsiTarget(t) => probe::scsi_target_caps(&self.sysfs, path, t),
                Cap::Net(n) => {
                    let ifname = n.ifname.clone();
                    probe::net_dynamic_caps(&self.sysfs, n).ok_or_else(|| {
                        err(
                            ErrorCode::InternalError,
                            format!("Unable to parse: {ifname}"),
                        )
                    })?
                }
                Cap::Pci(p) => probe::pci_dynamic_caps(&self.sysfs, path, p),
                Cap::Css { mdev_types, .. } | Cap::ApMatrix(mdev_types) => {
                    let t = pci::mdev_types(path);
                    *mdev_types = (!t.is_empty()).then_some(t);
                }
                Cap::MdevTypes(t) => *t = pci::mdev_types(path),
                _ => {}
            }
        }
        Ok(())
    }

    /// virNodeDeviceGetXMLDesc.
    pub fn xml(&self, name: &str, flags: u32) -> Result<String> {
        check_flags(flags, 0, "nodeDeviceGetXMLDesc")?;
        Ok(self.get(name)?.to_xml())
    }

    /// virNodeDeviceGetParent.
    pub fn parent(&self, name: &str) -> Result<Option<String>> {
        let devs = self.lock();
        let d = devs
            .iter()
            .find(|d| d.name == name)
            .ok_or_else(|| no_device(name))?;
        match &d.parent {
            Some(p) => Ok(Some(p.clone())),
            None => Err(err(ErrorCode::InternalError, "no parent for this device")),
        }
    }

    /// virNodeDeviceListCaps.
    pub fn caps(&self, name: &str) -> Result<Vec<String>> {
        Ok(self.get(name)?.cap_names())
    }

    fn exists(&self, name: &str) -> Result<()> {
        self.lock()
            .iter()
            .any(|d| d.name == name)
            .then_some(())
            .ok_or_else(|| no_device(name))
    }

    /// virNodeDeviceLookupSCSIHostByWWN.
    pub fn lookup_scsi_host_by_wwn(&self, wwnn: &str, wwpn: &str, flags: u32) -> Result<String> {
        check_flags(flags, 0, "nodeDeviceLookupSCSIHostByWWN")?;
        let names = self.names();
        for n in names {
            let Ok(d) = self.get(&n) else { continue };
            let hit = d.caps.iter().any(|c| match c {
                Cap::ScsiHost(h) => matches!(&h.fc_host,
                    Some((Some(nn), Some(pn), _)) if nn == wwnn && pn == wwpn),
                _ => false,
            });
            if hit {
                return Ok(d.name);
            }
        }
        // libvirt's driver fails here without saying why; its library
        // then reports the generic failure.
        Err(VirError::verbatim(
            ErrorCode::InternalError,
            ErrorDomain::None,
            "An error occurred, but the cause is unknown",
        ))
    }

    /// Parses a client's device XML as libvirt's driver does (post-parse
    /// and validation of mediated devices: the parent must exist).
    fn parse_new(&self, xml: &str) -> Result<NodeDeviceDef> {
        let def = NodeDeviceDef::parse_str(xml, ParseMode::Create)
            .map_err(|e| e.in_domain(ErrorDomain::Nodedev))?;
        // A vHBA's missing WWNs would be generated for the hypervisor
        // type of the connection; this driver has none.
        for c in &def.caps {
            if let Cap::ScsiHost(h) = c {
                if let Some((wwnn, wwpn, _)) = &h.fc_host {
                    let missing = if wwnn.is_none() {
                        Some("WWNN")
                    } else if wwpn.is_none() {
                        Some("WWPN")
                    } else {
                        None
                    };
                    if let Some(w) = missing {
                        return Err(err(
                            ErrorCode::InternalError,
                            format!(
                                "no {w} supplied for '{}', and auto-generation failed",
                                def.name
                            ),
                        ));
                    }
                }
            }
        }
        if def.caps.iter().any(|c| matches!(c, Cap::Mdev(_))) {
            let Some(parent) = &def.parent else {
                return Err(err(ErrorCode::ConfigUnsupported, "missing parent device"));
            };
            if self.exists(parent).is_err() {
                return Err(err(
                    ErrorCode::ConfigUnsupported,
                    format!("invalid parent device '{parent}'"),
                ));
            }
        }
        Ok(def)
    }

    /// The error of running `mdevctl` where it is not installed.
    fn mdevctl() -> Result<()> {
        let found = std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).any(|d| d.join("mdevctl").is_file()))
            .unwrap_or(false);
        if found {
            return Err(err(
                ErrorCode::OperationUnsupported,
                "mediated devices through mdevctl are not supported by this daemon",
            ));
        }
        Err(VirError::new(
            ErrorCode::SystemError,
            ErrorDomain::None,
            "Cannot find 'mdevctl' in path: No such file or directory",
        ))
    }

    /// virNodeDeviceCreateXML: a vHBA on an FC HBA that can make virtual
    /// ports (written to its `vport_create`), or a mediated device
    /// through mdevctl.
    pub fn create_xml(&self, xml: &str, flags: u32) -> Result<String> {
        check_flags(flags, XML_VALIDATE, "nodeDeviceCreateXML")?;
        let def = self.parse_new(xml)?;
        if def.has_cap("scsi_host") {
            let (wwnn, wwpn) = fc_wwns(&def)?;
            let host = self.vport_parent(&def)?;
            self.manage_vport(host, &wwpn, &wwnn, "vport_create")?;
            // The new SCSI host appears through a uevent; wait for it as
            // libvirt does.
            for _ in 0..60 {
                if let Ok(n) = self.lookup_scsi_host_by_wwn(&wwnn, &wwpn, 0) {
                    return Ok(n);
                }
                std::thread::sleep(std::time::Duration::from_secs(1));
            }
            return Err(err(
                ErrorCode::NoNodeDevice,
                format!(
                    "no node device for '{}' with matching wwnn '{wwnn}' and wwpn '{wwpn}'",
                    def.name
                ),
            ));
        }
        if def.has_cap("mdev") {
            if def.parent.is_none() {
                return Err(err(
                    ErrorCode::XmlError,
                    "cannot create a mediated device without a parent",
                ));
            }
            Self::mdevctl()?;
        }
        Err(err(ErrorCode::ConfigUnsupported, "Unsupported device type"))
    }

    /// Writes `WWPN:WWNN` to an FC host's vport operation file.
    fn manage_vport(&self, host: u32, wwpn: &str, wwnn: &str, op: &str) -> Result<()> {
        let h = format!("host{host}");
        let mut path = self.sysfs.sys.join("class/fc_host").join(&h).join(op);
        if !path.exists() {
            path = self.sysfs.sys.join("class/scsi_host").join(&h).join(op);
        }
        if !path.exists() {
            return Err(err(
                ErrorCode::OperationInvalid,
                format!("vport operation '{op}' is not supported for host{host}"),
            ));
        }
        std::fs::write(&path, format!("{wwpn}:{wwnn}")).map_err(|e| {
            err(
                ErrorCode::SystemError,
                format!(
                    "Write of '{wwpn}:{wwnn}' to '{}' during vport create/delete failed: {e}",
                    path.display()
                ),
            )
        })
    }

    /// A vport-capable SCSI host's number.
    fn vport_host(&self, name: &str) -> Result<u32> {
        let d = self.get(name)?;
        d.caps
            .iter()
            .find_map(|c| match c {
                Cap::ScsiHost(h) if h.vport_ops.is_some() => Some(h.host),
                _ => None,
            })
            .ok_or_else(|| {
                err(
                    ErrorCode::InternalError,
                    format!("Parent device {name} is not capable of vport operations"),
                )
            })
    }

    /// The SCSI host a new vHBA is made on
    /// (virNodeDeviceObjListGetParentHost): the named parent, the one
    /// with the parent WWNs or fabric name, else any vport-capable one.
    fn vport_parent(&self, def: &NodeDeviceDef) -> Result<u32> {
        let no_parent = || {
            err(
                ErrorCode::InternalError,
                format!("Could not find parent device for '{}'", def.name),
            )
        };
        let hosts: Vec<NodeDeviceDef> = self
            .names()
            .iter()
            .filter_map(|n| self.get(n).ok())
            .collect();
        let fc = |d: &NodeDeviceDef| {
            d.caps.iter().find_map(|c| match c {
                Cap::ScsiHost(h) => h.fc_host.clone(),
                _ => None,
            })
        };
        let found = if let Some(p) = &def.parent {
            hosts.iter().find(|d| &d.name == p)
        } else if let (Some(n), Some(p)) = (&def.parent_wwnn, &def.parent_wwpn) {
            hosts
                .iter()
                .find(|d| matches!(fc(d), Some((Some(a), Some(b), _)) if &a == n && &b == p))
        } else if let Some(f) = &def.parent_fabric_wwn {
            hosts
                .iter()
                .find(|d| matches!(fc(d), Some((_, _, Some(x))) if &x == f))
        } else {
            let any = hosts.iter().find(|d| d.has_cap("vports")).ok_or_else(|| {
                err(
                    ErrorCode::InternalError,
                    "Could not find any vport capable device",
                )
            })?;
            Some(any)
        };
        let parent = found.ok_or_else(no_parent)?;
        self.vport_host(&parent.name)
    }

    /// virNodeDeviceDestroy: a vHBA is deleted through its parent's
    /// `vport_delete`; mediated devices need mdevctl.
    pub fn destroy(&self, name: &str) -> Result<()> {
        let d = self.get(name)?;
        if d.has_cap("scsi_host") {
            let (wwnn, wwpn) = fc_wwns(&d)?;
            let parent = d.parent.clone().unwrap_or_default();
            if self.exists(&parent).is_err() {
                return Err(err(
                    ErrorCode::InternalError,
                    format!("cannot find parent '{parent}' definition"),
                ));
            }
            let host = parent
                .strip_prefix("scsi_host")
                .and_then(|n| n.parse::<u32>().ok())
                .ok_or_else(|| {
                    err(
                        ErrorCode::InternalError,
                        format!("failed to parse SCSI host '{parent}'"),
                    )
                })?;
            return self.manage_vport(host, &wwpn, &wwnn, "vport_delete");
        }
        if d.has_cap("mdev") {
            return Self::mdevctl();
        }
        Err(err(ErrorCode::ConfigUnsupported, "Unsupported device type"))
    }

    /// virNodeDeviceDefineXML.
    pub fn define_xml(&self, xml: &str, flags: u32) -> Result<String> {
        check_flags(flags, XML_VALIDATE, "nodeDeviceDefineXML")?;
        let def = self.parse_new(xml)?;
        if !def.has_cap("mdev") {
            return Err(err(ErrorCode::ConfigUnsupported, "Unsupported device type"));
        }
        if def.parent.is_none() {
            return Err(err(
                ErrorCode::XmlError,
                "cannot define a mediated device without a parent",
            ));
        }
        Self::mdevctl()?;
        Err(err(ErrorCode::ConfigUnsupported, "Unsupported device type"))
    }

    /// virNodeDeviceUndefine: only defined (persistent) devices, of
    /// which there are none here.
    pub fn undefine(&self, name: &str, flags: u32) -> Result<()> {
        check_flags(flags, 0, "nodeDeviceUndefine")?;
        self.exists(name)?;
        Err(err(
            ErrorCode::OperationInvalid,
            format!("Node device '{name}' is not defined"),
        ))
    }

    /// virNodeDeviceCreate: every listed device is active already.
    pub fn create(&self, name: &str, flags: u32) -> Result<()> {
        check_flags(flags, 0, "nodeDeviceCreate")?;
        self.exists(name)?;
        Err(err(ErrorCode::OperationInvalid, "Device is already active"))
    }

    /// virNodeDeviceSetAutostart.
    pub fn set_autostart(&self, name: &str, _on: bool) -> Result<()> {
        let d = self.get(name)?;
        if d.has_cap("mdev") {
            return Err(err(
                ErrorCode::OperationInvalid,
                "cannot set autostart for transient device",
            ));
        }
        Err(err(
            ErrorCode::OperationUnsupported,
            "Unsupported device type",
        ))
    }

    /// virNodeDeviceGetAutostart / IsPersistent / IsActive: every device
    /// is active; `computer` alone is also persistent and autostarted, as
    /// libvirt sets it up.
    pub fn state(&self, name: &str) -> Result<(bool, bool, bool)> {
        self.exists(name)?;
        let c = name == "computer";
        Ok((c, c, true))
    }
}

/// The WWNN and WWPN of a device's fc_host capability.
fn fc_wwns(def: &NodeDeviceDef) -> Result<(String, String)> {
    def.caps
        .iter()
        .find_map(|c| match c {
            Cap::ScsiHost(h) => h
                .fc_host
                .as_ref()
                .map(|(n, p, _)| (n.clone().unwrap_or_default(), p.clone().unwrap_or_default())),
            _ => None,
        })
        .ok_or_else(|| {
            err(
                ErrorCode::InternalError,
                "Device is not a fibre channel HBA",
            )
        })
}

/// The factory a daemon registers: claims `nodedev:///system` (root) or
/// `nodedev:///session`, opens connections onto one driver, and starts
/// the uevent monitor at daemon start-up.
pub struct NodedevFactory {
    driver: Arc<NodedevDriver>,
    privileged: bool,
}

impl NodedevFactory {
    /// A factory on the host's sysfs.
    pub fn new(privileged: bool) -> NodedevFactory {
        Self::with_sysfs(Sysfs::default(), privileged)
    }

    /// A factory on another sysfs tree (tests).
    pub fn with_sysfs(sysfs: Sysfs, privileged: bool) -> NodedevFactory {
        NodedevFactory {
            driver: Arc::new(NodedevDriver::new(sysfs, privileged)),
            privileged,
        }
    }

    /// The driver behind the connections.
    pub fn driver(&self) -> &Arc<NodedevDriver> {
        &self.driver
    }
}

impl driver::DriverFactory for NodedevFactory {
    fn name(&self) -> &'static str {
        "nodedev"
    }

    fn claims(&self, uri: &driver::Uri) -> bool {
        uri.scheme == "nodedev"
    }

    fn uses_shared_network(&self) -> bool {
        false
    }

    fn startup(&self) -> driver::Result<()> {
        monitor::start(self.driver.clone()).map_err(|e| {
            err(
                ErrorCode::SystemError,
                format!("failed to create udev monitor: {e}"),
            )
        })
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
                    "unexpected nodedev URI path '{}', try nodedev://{want}",
                    uri.path
                ),
            ));
        }
        Ok(Arc::new(NodedevConnection::new(
            self.driver.clone(),
            format!("nodedev://{want}"),
        )))
    }
}

/// A client's connection to the node device driver.
pub struct NodedevConnection {
    driver: Arc<NodedevDriver>,
    uri: String,
}

impl NodedevConnection {
    /// A connection onto `driver`.
    pub fn new(driver: Arc<NodedevDriver>, uri: impl Into<String>) -> Self {
        NodedevConnection {
            driver,
            uri: uri.into(),
        }
    }
}

impl driver::Connection for NodedevConnection {
    fn get_type(&self) -> &'static str {
        "nodedev"
    }

    fn uri(&self) -> String {
        self.uri.clone()
    }

    fn subscribe(&self, sink: driver::EventSink) -> Option<u64> {
        Some(self.driver.subscribe(sink))
    }

    fn unsubscribe(&self, token: u64) {
        self.driver.unsubscribe(token);
    }

    fn list_all_node_devices(&self, flags: u32) -> driver::Result<Vec<NodeDeviceRef>> {
        self.driver.list_all(flags)
    }

    fn node_list_devices(&self, cap: Option<&str>, flags: u32) -> driver::Result<Vec<String>> {
        self.driver.list_names(cap, flags, "nodeListDevices")
    }

    fn node_num_of_devices(&self, cap: Option<&str>, flags: u32) -> driver::Result<usize> {
        Ok(self
            .driver
            .list_names(cap, flags, "nodeNumOfDevices")?
            .len())
    }

    fn node_device_lookup_by_name(&self, name: &str) -> driver::Result<NodeDeviceRef> {
        self.driver.exists(name)?;
        Ok(NodeDeviceRef {
            name: name.to_string(),
        })
    }

    fn node_device_lookup_scsi_host_by_wwn(
        &self,
        wwnn: &str,
        wwpn: &str,
        flags: u32,
    ) -> driver::Result<NodeDeviceRef> {
        Ok(NodeDeviceRef {
            name: self.driver.lookup_scsi_host_by_wwn(wwnn, wwpn, flags)?,
        })
    }

    fn node_device_get_xml_desc(&self, dev: &NodeDeviceRef, flags: u32) -> driver::Result<String> {
        self.driver.xml(&dev.name, flags)
    }

    fn node_device_get_parent(&self, dev: &NodeDeviceRef) -> driver::Result<Option<String>> {
        self.driver.parent(&dev.name)
    }

    fn node_device_list_caps(&self, dev: &NodeDeviceRef) -> driver::Result<Vec<String>> {
        self.driver.caps(&dev.name)
    }

    fn node_device_create_xml(&self, xml: &str, flags: u32) -> driver::Result<NodeDeviceRef> {
        Ok(NodeDeviceRef {
            name: self.driver.create_xml(xml, flags)?,
        })
    }

    fn node_device_destroy(&self, dev: &NodeDeviceRef) -> driver::Result<()> {
        self.driver.destroy(&dev.name)
    }

    fn node_device_define_xml(&self, xml: &str, flags: u32) -> driver::Result<NodeDeviceRef> {
        Ok(NodeDeviceRef {
            name: self.driver.define_xml(xml, flags)?,
        })
    }

    fn node_device_undefine(&self, dev: &NodeDeviceRef, flags: u32) -> driver::Result<()> {
        self.driver.undefine(&dev.name, flags)
    }

    fn node_device_create(&self, dev: &NodeDeviceRef, flags: u32) -> driver::Result<()> {
        self.driver.create(&dev.name, flags)
    }

    fn node_device_get_autostart(&self, dev: &NodeDeviceRef) -> driver::Result<bool> {
        Ok(self.driver.state(&dev.name)?.0)
    }

    fn node_device_set_autostart(&self, dev: &NodeDeviceRef, on: bool) -> driver::Result<()> {
        self.driver.set_autostart(&dev.name, on)
    }

    fn node_device_is_persistent(&self, dev: &NodeDeviceRef) -> driver::Result<bool> {
        Ok(self.driver.state(&dev.name)?.1)
    }

    fn node_device_is_active(&self, dev: &NodeDeviceRef) -> driver::Result<bool> {
        Ok(self.driver.state(&dev.name)?.2)
    }
}

// SPDX-License-Identifier: LGPL-2.1-or-later
//! `driver::Connection` for the test driver: every API works on the
//! in-memory state and reports libvirt's test driver errors.

use std::sync::{Arc, Mutex};

use conf::network::NetworkFormatFlags;
use conf::{DomainDef, FormatFlags, NetworkDef, PoolDef, VolDef};
use driver::consts::{affect, create, define, lifecycle as lc, list, list_net};
use driver::consts::{object_event as oe, reason, state as st, undefine, xml as xmlf};
use driver::{
    Connection, DomainInfo, DomainRef, Error, Event, EventSink, InterfaceRef, NetworkRef,
    NodeDeviceRef, NodeInfo, PoolInfo, PoolRef, Result, SecurityLabel, SecurityModel, TypedParams,
    TypedValue, VcpuInfo, VolInfo, VolRef,
};

use crate::errors;
use crate::load;
use crate::state::{Dom, Net, Pool, Shared, State};
use driver::error::{ErrorCode, ErrorDomain};

/// Maximum vcpus the fake hypervisor accepts.
const MAX_VCPUS: u32 = 32;

/// Magic at the start of a save image.
const SAVE_MAGIC: &[u8; 15] = b"TestGuestMagic\0";

/// Upper bound of the XML stored in a save image.
const SAVE_MAX_XML: usize = 8192;

/// One open test connection.
pub struct TestConnection {
    shared: Arc<Shared>,
    uri: String,
    /// Event subscriptions made through this connection, dropped with it.
    subs: Mutex<Vec<u64>>,
}

impl Drop for TestConnection {
    fn drop(&mut self) {
        let subs = std::mem::take(&mut *self.subs.lock().unwrap_or_else(|p| p.into_inner()));
        for s in subs {
            self.shared.events.unsubscribe(s);
        }
    }
}

fn now_micros() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// "No such file or directory" from an io::Error, like strerror.
fn strerror(e: &std::io::Error) -> String {
    virterror::os_error_text(e)
}

fn lifecycle(d: &Dom, event: i32, detail: i32) -> Event {
    Event::DomainLifecycle {
        dom: d.dref(),
        event,
        detail,
    }
}

fn net_event(n: &NetworkRef, event: i32) -> Event {
    Event::NetworkLifecycle {
        net: n.clone(),
        event,
        detail: 0,
    }
}

fn pool_event(p: &PoolRef, event: i32) -> Event {
    Event::StoragePoolLifecycle {
        pool: p.clone(),
        event,
        detail: 0,
    }
}

/// `FLAG_A | FLAG_B` filter semantics of libvirt's list APIs: when either
/// flag of a pair is given, an object must match one of the given ones.
fn pair_ok(flags: u32, yes: u32, no: u32, is: bool) -> bool {
    if flags & (yes | no) == 0 {
        return true;
    }
    (flags & yes != 0 && is) || (flags & no != 0 && !is)
}

fn dom_matches(d: &Dom, flags: u32) -> bool {
    if !pair_ok(flags, list::ACTIVE, list::INACTIVE, d.is_active())
        || !pair_ok(flags, list::PERSISTENT, list::TRANSIENT, d.persistent)
        || !pair_ok(
            flags,
            list::MANAGEDSAVE,
            list::NO_MANAGEDSAVE,
            d.has_managed_save,
        )
        || !pair_ok(flags, list::AUTOSTART, list::NO_AUTOSTART, d.autostart)
        || !pair_ok(flags, list::HAS_SNAPSHOT, list::NO_SNAPSHOT, false)
        || !pair_ok(flags, list::HAS_CHECKPOINT, list::NO_CHECKPOINT, false)
    {
        return false;
    }
    let states = list::RUNNING | list::PAUSED | list::SHUTOFF | list::OTHER;
    if flags & states != 0 {
        let ok = match d.state {
            st::RUNNING => flags & list::RUNNING != 0,
            st::PAUSED => flags & list::PAUSED != 0,
            st::SHUTOFF => flags & list::SHUTOFF != 0,
            _ => flags & list::OTHER != 0,
        };
        if !ok {
            return false;
        }
    }
    true
}

/// Storage pool type order of virConnectListAllStoragePools' type flags
/// (bit 6 onwards).
const POOL_TYPE_FLAGS: &[&str] = &[
    "dir",
    "fs",
    "netfs",
    "logical",
    "disk",
    "iscsi",
    "scsi",
    "mpath",
    "rbd",
    "sheepdog",
    "gluster",
    "zfs",
    "vstorage",
    "iscsi-direct",
];

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

/// virStorageVolType for a pool type.
fn vol_type_for_pool(t: &str) -> i32 {
    match t {
        "dir" | "fs" | "netfs" | "vstorage" => 0,
        "sheepdog" | "iscsi-direct" | "gluster" | "rbd" => 3,
        _ => 1,
    }
}

/// The cpus named by a cpuset string ("0-3,^2,8").
fn parse_cpuset(s: &str, ncpus: usize) -> Vec<bool> {
    let mut v = vec![false; ncpus];
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (neg, p) = match part.strip_prefix('^') {
            Some(p) => (true, p),
            None => (false, part),
        };
        let (a, b) = match p.split_once('-') {
            Some((a, b)) => (a.trim().parse::<usize>(), b.trim().parse::<usize>()),
            None => (p.parse::<usize>(), p.parse::<usize>()),
        };
        if let (Ok(a), Ok(b)) = (a, b) {
            if a <= b {
                for x in v.iter_mut().take(b.saturating_add(1)).skip(a) {
                    *x = !neg;
                }
            }
        }
    }
    v
}

fn nodedev_has_cap(d: &crate::state::NodeDev, cap: &str) -> bool {
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

/// libvirt's virDomainObjUpdateModificationImpact: resolves CURRENT and
/// checks the request against the domain.
fn modification_impact(d: &Dom, mut flags: u32) -> Result<u32> {
    let active = d.is_active();
    if flags & (affect::LIVE | affect::CONFIG) == 0 {
        flags |= if active { affect::LIVE } else { affect::CONFIG };
    }
    if !active && flags & affect::LIVE != 0 {
        return Err(errors::not_running());
    }
    if !d.persistent && flags & affect::CONFIG != 0 {
        return Err(errors::dom_op_invalid(
            "transient domains do not have any persistent config",
        ));
    }
    Ok(flags)
}

fn live_config_exclusive(flags: u32) -> Result<()> {
    if flags & affect::LIVE != 0 && flags & affect::CONFIG != 0 {
        return Err(Error::invalid_arg(
            ErrorDomain::Domain,
            "Flags 'VIR_DOMAIN_AFFECT_LIVE' and 'VIR_DOMAIN_AFFECT_CONFIG' are mutually exclusive",
        ));
    }
    Ok(())
}

/// virDomainObjGetOneDefState: the one definition `flags` selects and
/// whether it is the live one.
fn one_def(d: &Dom, flags: u32) -> Result<(&DomainDef, bool)> {
    live_config_exclusive(flags)?;
    let flags = modification_impact(d, flags)?;
    let live = flags & affect::LIVE != 0;
    if d.is_active() && flags & affect::CONFIG != 0 {
        return Ok((d.new_def.as_deref().unwrap_or(&d.def), live));
    }
    Ok((&d.def, live))
}

fn one_def_mut(d: &mut Dom, flags: u32) -> Result<(&mut DomainDef, bool)> {
    live_config_exclusive(flags)?;
    let flags = modification_impact(d, flags)?;
    let live = flags & affect::LIVE != 0;
    if d.is_active() && flags & affect::CONFIG != 0 {
        if d.new_def.is_none() {
            d.new_def = Some(Box::new(d.def.clone()));
        }
        if let Some(nd) = d.new_def.as_deref_mut() {
            return Ok((nd, live));
        }
    }
    Ok((&mut d.def, live))
}

/// virDomainObjGetDefs: (live, persistent) definitions `flags` selects.
fn defs_mut(d: &mut Dom, flags: u32) -> Result<(Option<&mut DomainDef>, Option<&mut DomainDef>)> {
    let flags = modification_impact(d, flags)?;
    if d.is_active() {
        if flags & affect::CONFIG != 0 && d.new_def.is_none() {
            d.new_def = Some(Box::new(d.def.clone()));
        }
        let live = if flags & affect::LIVE != 0 {
            Some(&mut d.def)
        } else {
            None
        };
        let pers = if flags & affect::CONFIG != 0 {
            d.new_def.as_deref_mut()
        } else {
            None
        };
        Ok((live, pers))
    } else {
        Ok((None, Some(&mut d.def)))
    }
}

/// What a domain lifecycle action (`on_poweroff`, `on_reboot`) leaves.
fn action_state(action: &str) -> (i32, i32) {
    match action {
        "restart" | "rename-restart" => (st::RUNNING, reason::RUNNING_BOOTED),
        _ => (st::SHUTOFF, reason::SHUTOFF_SHUTDOWN),
    }
}

impl TestConnection {
    pub(crate) fn new(shared: Arc<Shared>, uri: String) -> Self {
        TestConnection {
            shared,
            uri,
            subs: Mutex::new(Vec::new()),
        }
    }

    /// Runs `f` on the domain a handle names, under the lock.
    fn with_dom<R>(&self, r: &DomainRef, f: impl FnOnce(&Dom) -> Result<R>) -> Result<R> {
        let s = self.shared.lock();
        let d = s
            .domains
            .get(&r.uuid)
            .ok_or_else(|| errors::no_domain_uuid(&r.uuid, &r.name))?;
        f(d)
    }

    /// Runs a change on a domain, keeps the indexes in step, and publishes
    /// the events it produced after unlocking.
    fn change_dom<R>(
        &self,
        r: &DomainRef,
        f: impl FnOnce(&mut State, [u8; 16], &mut Vec<Event>) -> Result<R>,
    ) -> Result<R> {
        let mut events = Vec::new();
        let res = {
            let mut s = self.shared.lock();
            if s.domains.get(&r.uuid).is_none() {
                return Err(errors::no_domain_uuid(&r.uuid, &r.name));
            }
            f(&mut s, r.uuid, &mut events)
        };
        self.shared.publish(events);
        res
    }

    fn publish_one(&self, e: Event) {
        self.shared.publish(vec![e]);
    }
}

/// Sets a domain running with a fresh id (testDomainStartState).
fn start_state(s: &mut State, uuid: [u8; 16], why: i32) -> Option<DomainRef> {
    let id = s.alloc_dom_id();
    let d = s.domains.get_mut(&uuid)?;
    let old_id = d.def.id;
    let name = d.def.name.clone();
    d.state = st::RUNNING;
    d.reason = why;
    if d.persistent && d.new_def.is_none() {
        d.new_def = Some(Box::new(d.def.clone()));
    }
    d.def.id = Some(id);
    d.has_managed_save = false;
    let r = d.dref();
    s.domains.reindex(&uuid, &name, old_id);
    Some(r)
}

/// Stops a domain (testDomainShutdownState): the persistent definition
/// becomes current again.
fn shutdown_state(s: &mut State, uuid: [u8; 16], why: i32) {
    let Some(d) = s.domains.get_mut(&uuid) else {
        return;
    };
    let old_id = d.def.id;
    let name = d.def.name.clone();
    if let Some(nd) = d.new_def.take() {
        d.def = *nd;
    }
    d.def.id = None;
    d.state = st::SHUTOFF;
    d.reason = why;
    s.domains.reindex(&uuid, &name, old_id);
}

/// Stops a domain, emits STOPPED/`detail`, and drops it when transient.
fn stop_domain(s: &mut State, uuid: [u8; 16], why: i32, detail: i32, ev: &mut Vec<Event>) {
    shutdown_state(s, uuid, why);
    if let Some(d) = s.domains.get(&uuid) {
        ev.push(lifecycle(d, lc::STOPPED, detail));
        if !d.persistent {
            s.domains.remove(&uuid);
        }
    }
}

/// virDomainObjListAdd for a live definition (create XML, restore):
/// returns the UUID of the domain now holding `def`.
fn add_live(s: &mut State, def: DomainDef) -> Result<[u8; 16]> {
    let uuid = def.uuid.0;
    if let Some(d) = s.domains.get_mut(&uuid) {
        if d.def.name != def.name {
            return Err(Error::new(
                ErrorCode::OperationFailed,
                ErrorDomain::Domain,
                format!(
                    "domain '{}' is already defined with uuid {}",
                    d.def.name, d.def.uuid
                ),
            ));
        }
        if d.is_active() {
            return Err(errors::dom_op_invalid(format!(
                "domain '{}' is already active",
                d.def.name
            )));
        }
        if !d.persistent {
            return Err(errors::dom_op_invalid(format!(
                "domain '{}' is already being started",
                d.def.name
            )));
        }
        let old = std::mem::replace(&mut d.def, def);
        if d.new_def.is_none() {
            d.new_def = Some(Box::new(old));
        }
        return Ok(uuid);
    }
    if let Some(u) = s.domains.uuid_by_name(&def.name) {
        return Err(Error::new(
            ErrorCode::OperationFailed,
            ErrorDomain::Domain,
            format!(
                "domain '{}' already exists with uuid {}",
                def.name,
                conf::Uuid(u)
            ),
        ));
    }
    s.domains.insert(Dom::new(def));
    Ok(uuid)
}

fn check_name_chars(def: &DomainDef) -> Result<()> {
    if def.name.contains('\n') {
        return Err(Error::new(
            ErrorCode::XmlDetail,
            ErrorDomain::Test,
            "invalid char in name: 0x0a",
        ));
    }
    Ok(())
}

fn write_save_image(path: &str, def: &DomainDef) -> Result<()> {
    let xml = def.to_xml(&FormatFlags {
        inactive: true,
        secure: true,
        ..Default::default()
    });
    let len = i32::try_from(xml.len()).map_err(|_| errors::internal("domain XML too large"))?;
    let mut data = Vec::with_capacity(SAVE_MAGIC.len() + 4 + xml.len());
    data.extend_from_slice(SAVE_MAGIC);
    data.extend_from_slice(&len.to_ne_bytes());
    data.extend_from_slice(xml.as_bytes());
    std::fs::write(path, data).map_err(|e| {
        Error::new(
            ErrorCode::SystemError,
            ErrorDomain::Test,
            format!(
                "saving domain '{}' to '{path}': write failed: {}",
                def.name,
                strerror(&e)
            ),
        )
    })
}

fn read_save_image(path: &str) -> Result<DomainDef> {
    let sys = |msg: String| Error::new(ErrorCode::SystemError, ErrorDomain::Test, msg);
    let data = std::fs::read(path).map_err(|e| {
        sys(format!(
            "cannot read domain image '{path}': {}",
            strerror(&e)
        ))
    })?;
    if data.len() < SAVE_MAGIC.len() {
        return Err(sys(format!("incomplete save header in '{path}'")));
    }
    if &data[..SAVE_MAGIC.len()] != SAVE_MAGIC {
        return Err(errors::internal("mismatched header magic"));
    }
    let rest = &data[SAVE_MAGIC.len()..];
    let Some(lenb) = rest.get(..4) else {
        return Err(sys(format!("failed to read metadata length in '{path}'")));
    };
    let len = i32::from_ne_bytes([lenb[0], lenb[1], lenb[2], lenb[3]]);
    let len = usize::try_from(len).unwrap_or(0);
    if !(1..=SAVE_MAX_XML).contains(&len) {
        return Err(errors::internal("length of metadata out of range"));
    }
    let Some(xml) = rest.get(4..4 + len) else {
        return Err(sys(format!("incomplete metadata in '{path}'")));
    };
    let xml = std::str::from_utf8(xml).map_err(|_| errors::internal("mismatched header magic"))?;
    load::parse_domain_xml(xml, false)
}

/// Default target format for volumes of file-based pools.
pub(crate) fn vol_defaults(pool: &PoolDef, vol: &mut VolDef) {
    if vol.format.is_none()
        && matches!(pool.pool_type.as_str(), "dir" | "fs" | "netfs" | "vstorage")
    {
        vol.format = Some("raw".into());
    }
}

impl Connection for TestConnection {
    fn get_type(&self) -> &'static str {
        "TEST"
    }

    fn uri(&self) -> String {
        self.uri.clone()
    }

    fn version(&self) -> Result<u64> {
        Ok(2)
    }

    fn hostname(&self) -> Result<String> {
        let h = host::ns::hostname().unwrap_or_default();
        if h.is_empty() {
            return Ok("localhost".into());
        }
        Ok(h)
    }

    fn capabilities(&self) -> Result<String> {
        let s = self.shared.lock();
        Ok(crate::caps::capabilities_xml(&s.cells))
    }

    fn sysinfo(&self, flags: u32) -> Result<String> {
        Error::check_flags(flags, 0, "testConnectGetSysinfo")?;
        Ok(crate::caps::SYSINFO.to_string())
    }

    fn max_vcpus(&self, _virt_type: Option<&str>) -> Result<i32> {
        Ok(MAX_VCPUS as i32)
    }

    fn node_info(&self) -> Result<NodeInfo> {
        Ok(self.shared.lock().node_info.clone())
    }

    fn node_free_memory(&self) -> Result<u64> {
        Ok(self.shared.lock().cells.iter().map(|c| c.free_mem).sum())
    }

    fn node_cells_free_memory(&self, start: i32, max: i32) -> Result<Vec<u64>> {
        let s = self.shared.lock();
        let start = usize::try_from(start).unwrap_or(usize::MAX);
        if start >= s.cells.len() {
            return Err(Error::invalid_arg(
                ErrorDomain::Test,
                "Range exceeds available cells",
            ));
        }
        let max = usize::try_from(max).unwrap_or(0);
        Ok(s.cells[start..].iter().take(max).map(|c| c.mem).collect())
    }

    fn node_security_model(&self) -> Result<SecurityModel> {
        Ok(SecurityModel {
            model: crate::caps::SEC_MODEL.into(),
            doi: String::new(),
        })
    }

    fn is_secure(&self) -> bool {
        true
    }

    fn subscribe(&self, sink: EventSink) -> Option<u64> {
        let id = self.shared.events.subscribe(sink);
        self.subs.lock().unwrap_or_else(|p| p.into_inner()).push(id);
        Some(id)
    }

    fn unsubscribe(&self, token: u64) {
        let mut subs = self.subs.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(i) = subs.iter().position(|t| *t == token) {
            subs.swap_remove(i);
            self.shared.events.unsubscribe(token);
        }
    }

    // ---- domains: listing and lookup ----

    fn list_all_domains(&self, flags: u32) -> Result<Vec<DomainRef>> {
        Error::check_flags(flags, list::ALL, "testConnectListAllDomains")?;
        let mut s = self.shared.lock();
        if flags == 0 {
            return Ok(s.domains.list_all());
        }
        Ok(s.domains
            .iter()
            .filter(|d| dom_matches(d, flags))
            .map(Dom::dref)
            .collect())
    }

    fn list_domain_ids(&self, max: usize) -> Result<Vec<i32>> {
        let s = self.shared.lock();
        let mut v: Vec<i32> = s
            .domains
            .iter()
            .filter(|d| d.is_active())
            .map(Dom::id)
            .collect();
        v.sort_unstable();
        v.truncate(max);
        Ok(v)
    }

    fn num_of_domains(&self) -> Result<usize> {
        let s = self.shared.lock();
        Ok(s.domains.iter().filter(|d| d.is_active()).count())
    }

    fn list_defined_domains(&self, max: usize) -> Result<Vec<String>> {
        let s = self.shared.lock();
        Ok(s.domains
            .iter()
            .filter(|d| !d.is_active())
            .take(max)
            .map(|d| d.def.name.clone())
            .collect())
    }

    fn num_of_defined_domains(&self) -> Result<usize> {
        let s = self.shared.lock();
        Ok(s.domains.len() - s.domains.iter().filter(|d| d.is_active()).count())
    }

    fn domain_lookup_by_id(&self, id: i32) -> Result<DomainRef> {
        let s = self.shared.lock();
        s.domains
            .uuid_by_id(id)
            .and_then(|u| s.domains.get(&u))
            .map(Dom::dref)
            .ok_or_else(errors::no_domain_bare)
    }

    fn domain_lookup_by_name(&self, name: &str) -> Result<DomainRef> {
        let s = self.shared.lock();
        s.domains
            .uuid_by_name(name)
            .and_then(|u| s.domains.get(&u))
            .map(Dom::dref)
            .ok_or_else(errors::no_domain_bare)
    }

    fn domain_lookup_by_uuid(&self, uuid: &[u8; 16]) -> Result<DomainRef> {
        let s = self.shared.lock();
        s.domains
            .get(uuid)
            .map(Dom::dref)
            .ok_or_else(errors::no_domain_bare)
    }

    // ---- domains: lifecycle ----

    fn domain_define_xml(&self, xml: &str, flags: u32) -> Result<DomainRef> {
        Error::check_flags(flags, define::VALIDATE, "testDomainDefineXMLFlags")?;
        let def = load::parse_domain_xml(xml, flags & define::VALIDATE != 0)?;
        check_name_chars(&def)?;
        let uuid = def.uuid.0;
        let (r, event) = {
            let mut s = self.shared.lock();
            let updated;
            if let Some(d) = s.domains.get_mut(&uuid) {
                if d.def.name != def.name {
                    return Err(Error::new(
                        ErrorCode::OperationFailed,
                        ErrorDomain::Domain,
                        format!(
                            "domain '{}' is already defined with uuid {}",
                            d.def.name, d.def.uuid
                        ),
                    ));
                }
                if d.is_active() {
                    updated = d.new_def.is_some();
                    d.new_def = Some(Box::new(def));
                } else {
                    updated = true;
                    d.def = def;
                }
                d.persistent = true;
            } else {
                if let Some(u) = s.domains.uuid_by_name(&def.name) {
                    return Err(Error::new(
                        ErrorCode::OperationFailed,
                        ErrorDomain::Domain,
                        format!(
                            "domain '{}' already exists with uuid {}",
                            def.name,
                            conf::Uuid(u)
                        ),
                    ));
                }
                let mut d = Dom::new(def);
                d.persistent = true;
                s.domains.insert(d);
                updated = false;
            }
            let d = s
                .domains
                .get(&uuid)
                .ok_or_else(|| errors::internal("domain vanished"))?;
            let detail = if updated {
                lc::DEFINED_UPDATED
            } else {
                lc::DEFINED_ADDED
            };
            (d.dref(), lifecycle(d, lc::DEFINED, detail))
        };
        self.publish_one(event);
        Ok(r)
    }

    fn domain_undefine(&self, r: &DomainRef, flags: u32) -> Result<()> {
        Error::check_flags(
            flags,
            undefine::MANAGED_SAVE | undefine::SNAPSHOTS_METADATA,
            "testDomainUndefineFlags",
        )?;
        self.change_dom(r, |s, uuid, ev| {
            let Some(d) = s.domains.get_mut(&uuid) else {
                return Err(errors::no_domain_uuid(&r.uuid, &r.name));
            };
            if d.has_managed_save && flags & undefine::MANAGED_SAVE == 0 {
                return Err(errors::op_invalid(
                    "Refusing to undefine while domain managed save image exists",
                ));
            }
            ev.push(lifecycle(d, lc::UNDEFINED, lc::UNDEFINED_REMOVED));
            d.has_managed_save = false;
            if d.is_active() {
                d.persistent = false;
            } else {
                s.domains.remove(&uuid);
            }
            Ok(())
        })
    }

    fn domain_create(&self, r: &DomainRef, flags: u32) -> Result<DomainRef> {
        Error::check_flags(flags, 0, "testDomainCreateWithFlags")?;
        self.change_dom(r, |s, uuid, ev| {
            let running = s.domains.get(&uuid).is_some_and(|d| d.state != st::SHUTOFF);
            if running {
                return Err(errors::internal(format!(
                    "Domain '{}' is already running",
                    r.name
                )));
            }
            let nr = start_state(s, uuid, reason::RUNNING_BOOTED)
                .ok_or_else(|| errors::no_domain_uuid(&r.uuid, &r.name))?;
            if let Some(d) = s.domains.get(&uuid) {
                ev.push(lifecycle(d, lc::STARTED, lc::STARTED_BOOTED));
            }
            Ok(nr)
        })
    }

    fn domain_create_xml(&self, xml: &str, flags: u32) -> Result<DomainRef> {
        Error::check_flags(flags, create::START_VALIDATE, "testDomainCreateXML")?;
        let def = load::parse_domain_xml(xml, flags & create::START_VALIDATE != 0)?;
        let (r, ev) = {
            let mut s = self.shared.lock();
            let uuid = add_live(&mut s, def)?;
            let r = start_state(&mut s, uuid, reason::RUNNING_BOOTED)
                .ok_or_else(|| errors::internal("domain vanished"))?;
            let ev = s
                .domains
                .get(&uuid)
                .map(|d| lifecycle(d, lc::STARTED, lc::STARTED_BOOTED));
            (r, ev)
        };
        self.shared.publish(ev.into_iter().collect());
        Ok(r)
    }

    fn domain_destroy(&self, r: &DomainRef, flags: u32) -> Result<()> {
        // VIR_DOMAIN_DESTROY_GRACEFUL
        Error::check_flags(flags, 1, "testDomainDestroyFlags")?;
        self.change_dom(r, |s, uuid, ev| {
            if !s.domains.get(&uuid).is_some_and(Dom::is_active) {
                return Err(errors::not_running());
            }
            stop_domain(
                s,
                uuid,
                reason::SHUTOFF_DESTROYED,
                lc::STOPPED_DESTROYED,
                ev,
            );
            Ok(())
        })
    }

    fn domain_shutdown(&self, r: &DomainRef, flags: u32) -> Result<()> {
        Error::check_flags(flags, 0, "testDomainShutdownFlags")?;
        self.change_dom(r, |s, uuid, ev| {
            let Some(d) = s.domains.get_mut(&uuid) else {
                return Err(errors::no_domain_uuid(&r.uuid, &r.name));
            };
            if d.state == st::SHUTOFF {
                return Err(errors::internal(format!("domain '{}' not running", r.name)));
            }
            let (state, why) = action_state(&d.def.on_poweroff);
            d.state = state;
            d.reason = why;
            if state == st::SHUTOFF {
                stop_domain(s, uuid, reason::SHUTOFF_SHUTDOWN, lc::STOPPED_SHUTDOWN, ev);
            }
            Ok(())
        })
    }

    fn domain_reboot(&self, r: &DomainRef, flags: u32) -> Result<()> {
        // DEFAULT, ACPI_POWER_BTN, GUEST_AGENT, INITCTL, SIGNAL, PARAVIRT.
        Error::check_flags(flags, 0x1f, "testDomainReboot")?;
        self.change_dom(r, |s, uuid, ev| {
            let Some(d) = s.domains.get_mut(&uuid) else {
                return Err(errors::no_domain_uuid(&r.uuid, &r.name));
            };
            if !d.is_active() {
                return Err(errors::not_running());
            }
            let (state, why) = action_state(&d.def.on_reboot);
            d.state = state;
            d.reason = why;
            if state == st::SHUTOFF {
                stop_domain(s, uuid, reason::SHUTOFF_SHUTDOWN, lc::STOPPED_SHUTDOWN, ev);
            }
            Ok(())
        })
    }

    fn domain_reset(&self, r: &DomainRef, flags: u32) -> Result<()> {
        Error::check_flags(flags, 0, "testDomainReset")?;
        self.with_dom(r, |d| {
            if !d.is_active() {
                return Err(errors::not_running());
            }
            Ok(())
        })
    }

    fn domain_suspend(&self, r: &DomainRef) -> Result<()> {
        self.change_dom(r, |s, uuid, ev| {
            let Some(d) = s.domains.get_mut(&uuid) else {
                return Err(errors::no_domain_uuid(&r.uuid, &r.name));
            };
            if d.state == st::SHUTOFF || d.state == st::PAUSED {
                return Err(errors::internal(format!("domain '{}' not running", r.name)));
            }
            d.state = st::PAUSED;
            d.reason = reason::PAUSED_USER;
            ev.push(lifecycle(d, lc::SUSPENDED, lc::SUSPENDED_PAUSED));
            Ok(())
        })
    }

    fn domain_resume(&self, r: &DomainRef) -> Result<()> {
        self.change_dom(r, |s, uuid, ev| {
            let Some(d) = s.domains.get_mut(&uuid) else {
                return Err(errors::no_domain_uuid(&r.uuid, &r.name));
            };
            if d.state != st::PAUSED {
                return Err(errors::internal(format!("domain '{}' not paused", r.name)));
            }
            d.state = st::RUNNING;
            d.reason = reason::RUNNING_UNPAUSED;
            ev.push(lifecycle(d, lc::RESUMED, lc::RESUMED_UNPAUSED));
            Ok(())
        })
    }

    fn domain_save(&self, r: &DomainRef, to: &str, dxml: Option<&str>, flags: u32) -> Result<()> {
        Error::check_flags(flags, 0, "testDomainSaveFlags")?;
        if dxml.is_some() {
            return Err(errors::test(
                ErrorCode::ArgumentUnsupported,
                "xml modification unsupported",
            ));
        }
        self.change_dom(r, |s, uuid, ev| {
            let Some(d) = s.domains.get(&uuid) else {
                return Err(errors::no_domain_uuid(&r.uuid, &r.name));
            };
            if !d.is_active() {
                return Err(errors::not_running());
            }
            write_save_image(to, &d.def)?;
            stop_domain(s, uuid, reason::SHUTOFF_SAVED, lc::STOPPED_SAVED, ev);
            Ok(())
        })
    }

    fn domain_restore(&self, from: &str, dxml: Option<&str>, flags: u32) -> Result<()> {
        Error::check_flags(flags, 0, "testDomainRestoreFlags")?;
        if dxml.is_some() {
            return Err(errors::test(
                ErrorCode::ArgumentUnsupported,
                "xml modification unsupported",
            ));
        }
        let def = read_save_image(from)?;
        let ev = {
            let mut s = self.shared.lock();
            let uuid = add_live(&mut s, def)?;
            start_state(&mut s, uuid, reason::RUNNING_RESTORED);
            s.domains
                .get(&uuid)
                .map(|d| lifecycle(d, lc::STARTED, lc::STARTED_RESTORED))
        };
        self.shared.publish(ev.into_iter().collect());
        Ok(())
    }

    fn domain_managed_save(&self, r: &DomainRef, flags: u32) -> Result<()> {
        // BYPASS_CACHE, RUNNING, PAUSED.
        Error::check_flags(flags, 0x7, "testDomainManagedSave")?;
        self.change_dom(r, |s, uuid, ev| {
            let Some(d) = s.domains.get(&uuid) else {
                return Err(errors::no_domain_uuid(&r.uuid, &r.name));
            };
            if !d.is_active() {
                return Err(errors::not_running());
            }
            if !d.persistent {
                return Err(errors::op_invalid(
                    "cannot do managed save for transient domain",
                ));
            }
            shutdown_state(s, uuid, reason::SHUTOFF_SAVED);
            if let Some(d) = s.domains.get_mut(&uuid) {
                ev.push(lifecycle(d, lc::STOPPED, lc::STOPPED_SAVED));
                d.has_managed_save = true;
            }
            Ok(())
        })
    }

    fn domain_has_managed_save(&self, r: &DomainRef, flags: u32) -> Result<bool> {
        Error::check_flags(flags, 0, "testDomainHasManagedSaveImage")?;
        self.with_dom(r, |d| Ok(d.has_managed_save))
    }

    fn domain_managed_save_remove(&self, r: &DomainRef, flags: u32) -> Result<()> {
        Error::check_flags(flags, 0, "testDomainManagedSaveRemove")?;
        self.change_dom(r, |s, uuid, _| {
            if let Some(d) = s.domains.get_mut(&uuid) {
                d.has_managed_save = false;
            }
            Ok(())
        })
    }

    fn domain_rename(&self, r: &DomainRef, new_name: &str, flags: u32) -> Result<()> {
        Error::check_flags(flags, 0, "testDomainRename")?;
        self.change_dom(r, |s, uuid, ev| {
            let Some(d) = s.domains.get(&uuid) else {
                return Err(errors::no_domain_uuid(&r.uuid, &r.name));
            };
            if d.is_active() {
                return Err(errors::op_invalid("cannot rename active domain"));
            }
            if !d.persistent {
                return Err(errors::op_invalid("cannot rename a transient domain"));
            }
            if d.state != st::SHUTOFF {
                return Err(errors::op_invalid(
                    "domain has to be shutoff before renaming",
                ));
            }
            if d.def.name == new_name {
                return Err(errors::dom_op_invalid("Can't rename domain to itself"));
            }
            if s.domains.uuid_by_name(new_name).is_some() {
                return Err(errors::dom_op_invalid(format!(
                    "domain with name '{new_name}' already exists"
                )));
            }
            if new_name.contains('/') {
                return Err(errors::xml(format!("name {new_name} cannot contain '/'")));
            }
            let old_name = d.def.name.clone();
            ev.push(lifecycle(d, lc::UNDEFINED, lc::UNDEFINED_RENAMED));
            if let Some(d) = s.domains.get_mut(&uuid) {
                d.def.name = new_name.to_string();
            }
            s.domains.reindex(&uuid, &old_name, None);
            if let Some(d) = s.domains.get(&uuid) {
                ev.push(lifecycle(d, lc::DEFINED, lc::DEFINED_RENAMED));
            }
            Ok(())
        })
    }

    // ---- domains: state and configuration ----

    fn domain_get_info(&self, r: &DomainRef) -> Result<DomainInfo> {
        self.with_dom(r, |d| {
            Ok(DomainInfo {
                state: d.state,
                max_mem: d.def.memory_kib,
                memory: d.def.current_memory_kib,
                nr_virt_cpu: d.def.vcpus_current,
                cpu_time: now_micros().saturating_mul(1000),
            })
        })
    }

    fn domain_get_state(&self, r: &DomainRef, flags: u32) -> Result<(i32, i32)> {
        Error::check_flags(flags, 0, "testDomainGetState")?;
        self.with_dom(r, |d| Ok((d.state, d.reason)))
    }

    fn domain_get_xml_desc(&self, r: &DomainRef, flags: u32) -> Result<String> {
        Error::check_flags(
            flags,
            xmlf::SECURE | xmlf::INACTIVE | xmlf::UPDATE_CPU | xmlf::MIGRATABLE,
            "testDomainGetXMLDesc",
        )?;
        self.with_dom(r, |d| {
            let def = if flags & xmlf::INACTIVE != 0 {
                d.new_def.as_deref().unwrap_or(&d.def)
            } else {
                &d.def
            };
            Ok(def.to_xml(&FormatFlags {
                inactive: flags & xmlf::INACTIVE != 0,
                secure: flags & xmlf::SECURE != 0,
                migratable: flags & xmlf::MIGRATABLE != 0,
                update_cpu: flags & xmlf::UPDATE_CPU != 0,
            }))
        })
    }

    fn domain_get_os_type(&self, r: &DomainRef) -> Result<String> {
        // libvirt's test driver answers "linux" whatever the guest.
        self.with_dom(r, |_| Ok("linux".to_string()))
    }

    fn domain_get_max_memory(&self, r: &DomainRef) -> Result<u64> {
        self.with_dom(r, |d| Ok(d.def.memory_kib))
    }

    fn domain_set_max_memory(&self, r: &DomainRef, kib: u64) -> Result<()> {
        self.domain_set_memory(r, kib, affect::MAXIMUM)
    }

    fn domain_set_memory(&self, r: &DomainRef, kib: u64, flags: u32) -> Result<()> {
        Error::check_flags(
            flags,
            affect::LIVE | affect::CONFIG | affect::MAXIMUM,
            "testDomainSetMemoryFlags",
        )?;
        self.change_dom(r, |s, uuid, _| {
            let Some(d) = s.domains.get_mut(&uuid) else {
                return Err(errors::no_domain_uuid(&r.uuid, &r.name));
            };
            let (def, live) = one_def_mut(d, flags)?;
            if flags & affect::MAXIMUM != 0 {
                if live {
                    return Err(errors::op_invalid(
                        "cannot resize the maximum memory on an active domain",
                    ));
                }
                let has_numa = def
                    .other_element("cpu")
                    .and_then(|c| c.child("numa"))
                    .is_some_and(|n| n.children_named("cell").next().is_some());
                if has_numa {
                    return Err(errors::op_invalid(
                        "initial memory size of a domain with NUMA nodes cannot be modified with this API",
                    ));
                }
                if def.max_memory_kib != 0 && def.max_memory_kib < kib {
                    return Err(errors::op_invalid(
                        "cannot set initial memory size greater than the maximum memory size",
                    ));
                }
                def.memory_kib = kib;
                if def.current_memory_kib > kib {
                    def.current_memory_kib = kib;
                }
            } else {
                if kib > def.memory_kib {
                    return Err(Error::invalid_arg(
                        ErrorDomain::Test,
                        "cannot set memory higher than max memory",
                    ));
                }
                def.current_memory_kib = kib;
            }
            Ok(())
        })
    }

    fn domain_get_memory_parameters(&self, r: &DomainRef, flags: u32) -> Result<TypedParams> {
        Error::check_flags(
            flags,
            affect::LIVE | affect::CONFIG | 4,
            "testDomainGetMemoryParameters",
        )?;
        self.with_dom(r, |d| {
            let (def, _) = one_def(d, flags & !4)?;
            // Unset limits read as VIR_DOMAIN_MEMORY_PARAM_UNLIMITED.
            let unlimited = 9_007_199_254_740_991u64;
            let get = |name: &str| -> u64 {
                def.other_element("memtune")
                    .and_then(|m| m.child_text(name))
                    .and_then(|t| t.trim().parse().ok())
                    .unwrap_or(unlimited)
            };
            Ok(vec![
                ("hard_limit".into(), TypedValue::ULLong(get("hard_limit"))),
                ("soft_limit".into(), TypedValue::ULLong(get("soft_limit"))),
                (
                    "swap_hard_limit".into(),
                    TypedValue::ULLong(get("swap_hard_limit")),
                ),
            ])
        })
    }

    fn domain_set_vcpus(&self, r: &DomainRef, n: u32, flags: u32) -> Result<()> {
        Error::check_flags(
            flags,
            affect::LIVE | affect::CONFIG | affect::MAXIMUM,
            "testDomainSetVcpusFlags",
        )?;
        if n > MAX_VCPUS {
            return Err(Error::invalid_arg(
                ErrorDomain::Test,
                format!(
                    "requested cpu amount exceeds maximum supported amount ({n} > {MAX_VCPUS})"
                ),
            ));
        }
        self.change_dom(r, |s, uuid, _| {
            let Some(d) = s.domains.get_mut(&uuid) else {
                return Err(errors::no_domain_uuid(&r.uuid, &r.name));
            };
            let (live, pers) = defs_mut(d, flags)?;
            let exceeds = |max: u32| {
                Error::invalid_arg(
                    ErrorDomain::Test,
                    format!("requested cpu amount exceeds maximum ({n} > {max})"),
                )
            };
            if let Some(l) = &live {
                if l.vcpus_max < n {
                    return Err(exceeds(l.vcpus_max));
                }
            }
            if let Some(p) = &pers {
                if flags & affect::MAXIMUM == 0 && p.vcpus_max < n {
                    return Err(exceeds(p.vcpus_max));
                }
            }
            let conf_err = |e| errors::conf(e, ErrorDomain::Domain);
            if let Some(l) = live {
                l.set_vcpus(n).map_err(conf_err)?;
            }
            if let Some(p) = pers {
                if flags & affect::MAXIMUM != 0 {
                    p.set_vcpus_max(n).map_err(conf_err)?;
                } else {
                    p.set_vcpus(n).map_err(conf_err)?;
                }
            }
            Ok(())
        })
    }

    fn domain_get_vcpus_flags(&self, r: &DomainRef, flags: u32) -> Result<i32> {
        Error::check_flags(
            flags,
            affect::LIVE | affect::CONFIG | affect::MAXIMUM,
            "testDomainGetVcpusFlags",
        )?;
        self.with_dom(r, |d| {
            let (def, _) = one_def(d, flags & !affect::MAXIMUM)?;
            let n = if flags & affect::MAXIMUM != 0 {
                def.vcpus_max
            } else {
                def.vcpus_current
            };
            Ok(i32::try_from(n).unwrap_or(i32::MAX))
        })
    }

    fn domain_get_vcpus(
        &self,
        r: &DomainRef,
        maxinfo: usize,
        maplen: usize,
    ) -> Result<(Vec<VcpuInfo>, Vec<u8>)> {
        let s = self.shared.lock();
        let d = s
            .domains
            .get(&r.uuid)
            .ok_or_else(|| errors::no_domain_uuid(&r.uuid, &r.name))?;
        if !d.is_active() {
            return Err(errors::op_invalid(
                "cannot list vcpus for an inactive domain",
            ));
        }
        let ni = &s.node_info;
        let hostcpus = usize::try_from(
            ni.nodes
                .saturating_mul(ni.sockets)
                .saturating_mul(ni.cores)
                .saturating_mul(ni.threads),
        )
        .unwrap_or(0)
        .min(1 << 16);
        let mask = match &d.def.vcpu_cpuset {
            Some(c) => parse_cpuset(c, hostcpus),
            None => vec![true; hostcpus],
        };
        let n = maxinfo.min(d.def.vcpus_current as usize);
        // The caller bounds the sizes; refuse absurd ones before allocating.
        let total = n
            .checked_mul(maplen)
            .filter(|t| *t <= 1 << 24)
            .ok_or_else(|| Error::invalid_arg(ErrorDomain::Test, "cpumap size too large"))?;
        let mut maps = vec![0u8; total];
        let t = now_micros() / 10;
        let last = mask.iter().rposition(|b| *b).map_or(-1, |i| i as i32);
        let mut infos = Vec::with_capacity(n);
        for i in 0..n {
            for (cpu, on) in mask.iter().enumerate() {
                if *on && cpu / 8 < maplen {
                    maps[i * maplen + cpu / 8] |= 1 << (cpu % 8);
                }
            }
            infos.push(VcpuInfo {
                number: i as u32,
                state: 1, // VIR_VCPU_RUNNING
                cpu_time: t,
                cpu: last,
            });
        }
        Ok((infos, maps))
    }

    fn domain_get_autostart(&self, r: &DomainRef) -> Result<bool> {
        self.with_dom(r, |d| Ok(d.autostart))
    }

    fn domain_set_autostart(&self, r: &DomainRef, on: bool) -> Result<()> {
        self.change_dom(r, |s, uuid, _| {
            if let Some(d) = s.domains.get_mut(&uuid) {
                d.autostart = on;
            }
            Ok(())
        })
    }

    fn domain_is_active(&self, r: &DomainRef) -> Result<bool> {
        self.with_dom(r, |d| Ok(d.is_active()))
    }

    fn domain_is_persistent(&self, r: &DomainRef) -> Result<bool> {
        self.with_dom(r, |d| Ok(d.persistent))
    }

    fn domain_is_updated(&self, _r: &DomainRef) -> Result<bool> {
        Ok(false)
    }

    fn domain_security_label(&self, r: &DomainRef) -> Result<SecurityLabel> {
        self.with_dom(r, |d| {
            if d.is_active() {
                Ok(SecurityLabel {
                    label: "libvirt-test".into(),
                    enforcing: true,
                })
            } else {
                Ok(SecurityLabel::default())
            }
        })
    }

    fn domain_get_messages(&self, r: &DomainRef, flags: u32) -> Result<Vec<String>> {
        // VIR_DOMAIN_MESSAGE_DEPRECATION, VIR_DOMAIN_MESSAGE_TAINTING.
        Error::check_flags(flags, 0x3, "testDomainGetMessages")?;
        self.with_dom(r, |d| {
            let mut v = Vec::new();
            if flags == 0 || flags & 0x2 != 0 {
                for bit in 0..32 {
                    if d.taint & (1 << bit) != 0 {
                        if let Some(m) = errors::taint_message(bit) {
                            v.push(format!("tainted: {m}"));
                        }
                    }
                }
            }
            if flags == 0 || flags & 0x1 != 0 {
                for m in &d.deprecations {
                    v.push(format!("deprecated configuration: {m}"));
                }
            }
            Ok(v)
        })
    }

    fn domain_set_metadata(
        &self,
        r: &DomainRef,
        kind: i32,
        metadata: Option<&str>,
        key: Option<&str>,
        uri: Option<&str>,
        flags: u32,
    ) -> Result<()> {
        Error::check_flags(
            flags,
            affect::LIVE | affect::CONFIG,
            "testDomainSetMetadata",
        )?;
        self.change_dom(r, |s, uuid, ev| {
            let Some(d) = s.domains.get_mut(&uuid) else {
                return Err(errors::no_domain_uuid(&r.uuid, &r.name));
            };
            let conf_err = |e| errors::conf(e, ErrorDomain::Domain);
            let (live, pers) = defs_mut(d, flags)?;
            if let Some(l) = live {
                l.set_metadata(kind, metadata, key, uri).map_err(conf_err)?;
            }
            if let Some(p) = pers {
                p.set_metadata(kind, metadata, key, uri).map_err(conf_err)?;
            }
            ev.push(Event::DomainMetadataChange {
                dom: d.dref(),
                kind,
                nsuri: uri.map(str::to_string),
            });
            Ok(())
        })
    }

    fn domain_get_metadata(
        &self,
        r: &DomainRef,
        kind: i32,
        uri: Option<&str>,
        flags: u32,
    ) -> Result<String> {
        Error::check_flags(
            flags,
            affect::LIVE | affect::CONFIG,
            "testDomainGetMetadata",
        )?;
        self.with_dom(r, |d| {
            let (def, _) = one_def(d, flags)?;
            def.get_metadata(kind, uri)
                .map_err(|e| errors::conf(e, ErrorDomain::Domain))
        })
    }

    fn domain_get_scheduler_type(&self, r: &DomainRef) -> Result<(String, i32)> {
        self.with_dom(r, |_| Ok(("fair".to_string(), 1)))
    }

    fn domain_get_scheduler_parameters(&self, r: &DomainRef, flags: u32) -> Result<TypedParams> {
        Error::check_flags(flags, 0, "testDomainGetSchedulerParametersFlags")?;
        self.with_dom(r, |_| Ok(vec![("weight".into(), TypedValue::UInt(50))]))
    }

    fn domain_stats(
        &self,
        doms: &[DomainRef],
        stats: u32,
        flags: u32,
    ) -> Result<Vec<(DomainRef, TypedParams)>> {
        const STATS_STATE: u32 = 1;
        const STATS_IOTHREAD: u32 = 1 << 7;
        const ENFORCE: u32 = 1 << 31;
        let filters = list::ACTIVE
            | list::INACTIVE
            | list::PERSISTENT
            | list::TRANSIENT
            | list::RUNNING
            | list::PAUSED
            | list::SHUTOFF
            | list::OTHER;
        Error::check_flags(
            flags,
            filters | (1 << 29) | (1 << 30) | ENFORCE,
            "testConnectGetAllDomainStats",
        )?;
        let supported = STATS_STATE | STATS_IOTHREAD;
        let stats = if stats == 0 { supported } else { stats };
        if flags & ENFORCE != 0 && stats & !supported != 0 {
            return Err(errors::test(
                ErrorCode::ArgumentUnsupported,
                format!(
                    "Stats types bits 0x{:x} are not supported by this daemon",
                    stats & !supported
                ),
            ));
        }
        let lflags = flags & filters;
        let s = self.shared.lock();
        let record = |d: &Dom| {
            let mut p: TypedParams = Vec::new();
            if stats & STATS_STATE != 0 {
                p.push(("state.state".into(), TypedValue::Int(d.state)));
                p.push(("state.reason".into(), TypedValue::Int(d.reason)));
            }
            (d.dref(), p)
        };
        if doms.is_empty() {
            return Ok(s
                .domains
                .iter()
                .filter(|d| dom_matches(d, lflags))
                .map(record)
                .collect());
        }
        Ok(doms
            .iter()
            .filter_map(|r| s.domains.get(&r.uuid))
            .filter(|d| dom_matches(d, lflags))
            .map(record)
            .collect())
    }

    fn domain_snapshot_num(&self, r: &DomainRef, _flags: u32) -> Result<i32> {
        self.with_dom(r, |_| Ok(0))
    }

    fn domain_list_snapshots(&self, r: &DomainRef, _flags: u32) -> Result<Vec<String>> {
        self.with_dom(r, |_| Ok(Vec::new()))
    }

    // ---- networks ----

    fn list_all_networks(&self, flags: u32) -> Result<Vec<NetworkRef>> {
        Error::check_flags(flags, 0x3f, "testConnectListAllNetworks")?;
        let s = self.shared.lock();
        Ok(s.networks
            .values()
            .filter(|n| {
                pair_ok(flags, list_net::ACTIVE, list_net::INACTIVE, n.active)
                    && pair_ok(
                        flags,
                        list_net::PERSISTENT,
                        list_net::TRANSIENT,
                        n.persistent,
                    )
                    && pair_ok(
                        flags,
                        list_net::AUTOSTART,
                        list_net::NO_AUTOSTART,
                        n.autostart,
                    )
            })
            .map(Net::nref)
            .collect())
    }

    fn network_lookup_by_name(&self, name: &str) -> Result<NetworkRef> {
        let s = self.shared.lock();
        s.networks
            .get(name)
            .map(Net::nref)
            .ok_or_else(|| errors::no_network_name(name))
    }

    fn network_lookup_by_uuid(&self, uuid: &[u8; 16]) -> Result<NetworkRef> {
        let s = self.shared.lock();
        s.net_by_uuid(uuid)
            .map(Net::nref)
            .ok_or_else(|| errors::no_network_uuid(uuid))
    }

    fn network_define_xml(&self, xml: &str, flags: u32) -> Result<NetworkRef> {
        Error::check_flags(flags, 1, "testNetworkDefineXMLFlags")?;
        let def = NetworkDef::parse_str(xml).map_err(|e| errors::conf(e, ErrorDomain::Network))?;
        let r = {
            let mut s = self.shared.lock();
            assign_network(&mut s, def, false)?
        };
        self.publish_one(net_event(&r, oe::DEFINED));
        Ok(r)
    }

    fn network_create_xml(&self, xml: &str, flags: u32) -> Result<NetworkRef> {
        Error::check_flags(flags, 1, "testNetworkCreateXMLFlags")?;
        let def = NetworkDef::parse_str(xml).map_err(|e| errors::conf(e, ErrorDomain::Network))?;
        let r = {
            let mut s = self.shared.lock();
            let r = assign_network(&mut s, def, true)?;
            if let Some(n) = s.networks.get_mut(&r.name) {
                n.active = true;
            }
            r
        };
        self.publish_one(net_event(&r, oe::STARTED));
        Ok(r)
    }

    fn network_undefine(&self, net: &NetworkRef) -> Result<()> {
        {
            let mut s = self.shared.lock();
            let n = s
                .networks
                .get(&net.name)
                .ok_or_else(|| errors::no_network_name(&net.name))?;
            if n.active {
                return Err(errors::op_invalid(format!(
                    "Network '{}' is still running",
                    net.name
                )));
            }
            s.networks.remove(&net.name);
        }
        self.publish_one(net_event(net, oe::UNDEFINED));
        Ok(())
    }

    fn network_create(&self, net: &NetworkRef) -> Result<()> {
        let r = {
            let mut s = self.shared.lock();
            let n = s
                .networks
                .get_mut(&net.name)
                .ok_or_else(|| errors::no_network_name(&net.name))?;
            if n.active {
                return Err(errors::op_invalid(format!(
                    "Network '{}' is already running",
                    net.name
                )));
            }
            n.active = true;
            n.nref()
        };
        self.publish_one(net_event(&r, oe::STARTED));
        Ok(())
    }

    fn network_destroy(&self, net: &NetworkRef) -> Result<()> {
        let r = {
            let mut s = self.shared.lock();
            let n = s
                .networks
                .get_mut(&net.name)
                .ok_or_else(|| errors::no_network_name(&net.name))?;
            n.active = false;
            if let Some(nd) = n.new_def.take() {
                n.def = nd;
            }
            let r = n.nref();
            if !n.persistent {
                s.networks.remove(&net.name);
            }
            r
        };
        self.publish_one(net_event(&r, oe::STOPPED));
        Ok(())
    }

    fn network_get_xml_desc(&self, net: &NetworkRef, flags: u32) -> Result<String> {
        Error::check_flags(flags, 0, "testNetworkGetXMLDesc")?;
        let s = self.shared.lock();
        let n = s
            .networks
            .get(&net.name)
            .ok_or_else(|| errors::no_network_name(&net.name))?;
        Ok(n.def.to_xml(&NetworkFormatFlags::default()))
    }

    fn network_get_bridge_name(&self, net: &NetworkRef) -> Result<String> {
        let s = self.shared.lock();
        let n = s
            .networks
            .get(&net.name)
            .ok_or_else(|| errors::no_network_name(&net.name))?;
        n.def.bridge_name().map(str::to_string).ok_or_else(|| {
            errors::internal(format!(
                "network '{}' does not have a bridge name.",
                n.def.name
            ))
        })
    }

    fn network_get_autostart(&self, net: &NetworkRef) -> Result<bool> {
        let s = self.shared.lock();
        s.networks
            .get(&net.name)
            .map(|n| n.autostart)
            .ok_or_else(|| errors::no_network_name(&net.name))
    }

    fn network_set_autostart(&self, net: &NetworkRef, on: bool) -> Result<()> {
        let mut s = self.shared.lock();
        let n = s
            .networks
            .get_mut(&net.name)
            .ok_or_else(|| errors::no_network_name(&net.name))?;
        n.autostart = on;
        Ok(())
    }

    fn network_is_active(&self, net: &NetworkRef) -> Result<bool> {
        let s = self.shared.lock();
        s.net_by_uuid(&net.uuid)
            .map(|n| n.active)
            .ok_or_else(|| errors::no_network_uuid(&net.uuid))
    }

    fn network_is_persistent(&self, net: &NetworkRef) -> Result<bool> {
        let s = self.shared.lock();
        s.net_by_uuid(&net.uuid)
            .map(|n| n.persistent)
            .ok_or_else(|| errors::no_network_uuid(&net.uuid))
    }

    fn network_update(
        &self,
        net: &NetworkRef,
        command: u32,
        section: u32,
        index: i32,
        xml: &str,
        flags: u32,
    ) -> Result<()> {
        Error::check_flags(flags, 0x3, "testNetworkUpdate")?;
        let mut s = self.shared.lock();
        let name = s
            .net_by_uuid(&net.uuid)
            .map(|n| n.def.name.clone())
            .ok_or_else(|| errors::no_network_uuid(&net.uuid))?;
        let n = s
            .networks
            .get_mut(&name)
            .ok_or_else(|| errors::no_network_uuid(&net.uuid))?;
        crate::netupdate::update(n, command, section, index, xml, flags)
    }

    // ---- storage ----

    fn list_all_storage_pools(&self, flags: u32) -> Result<Vec<PoolRef>> {
        Error::check_flags(flags, (1 << 20) - 1, "testConnectListAllStoragePools")?;
        let s = self.shared.lock();
        let types = flags >> 6;
        Ok(s.pools
            .values()
            .filter(|p| {
                pair_ok(flags, list_net::ACTIVE, list_net::INACTIVE, p.active)
                    && pair_ok(
                        flags,
                        list_net::PERSISTENT,
                        list_net::TRANSIENT,
                        p.persistent,
                    )
                    && pair_ok(
                        flags,
                        list_net::AUTOSTART,
                        list_net::NO_AUTOSTART,
                        p.autostart,
                    )
                    && (types == 0
                        || POOL_TYPE_FLAGS
                            .iter()
                            .position(|t| *t == p.def.pool_type)
                            .is_some_and(|i| types & (1 << i) != 0))
            })
            .map(Pool::pref)
            .collect())
    }

    fn storage_pool_lookup_by_name(&self, name: &str) -> Result<PoolRef> {
        let s = self.shared.lock();
        s.pools
            .get(name)
            .map(Pool::pref)
            .ok_or_else(|| errors::no_pool_name(name))
    }

    fn storage_pool_lookup_by_uuid(&self, uuid: &[u8; 16]) -> Result<PoolRef> {
        let s = self.shared.lock();
        s.pool_by_uuid(uuid)
            .map(Pool::pref)
            .ok_or_else(|| errors::no_pool_uuid(uuid))
    }

    fn storage_pool_define_xml(&self, xml: &str, flags: u32) -> Result<PoolRef> {
        Error::check_flags(flags, 1, "testStoragePoolDefineXML")?;
        let mut def = PoolDef::parse_str(xml).map_err(|e| errors::conf(e, ErrorDomain::Storage))?;
        def.capacity = load::DEFAULT_POOL_CAPACITY;
        def.allocation = 0;
        def.available = load::DEFAULT_POOL_CAPACITY;
        let r = {
            let mut s = self.shared.lock();
            let r = add_pool(&mut s, def, false)?;
            if let Some(p) = s.pools.get_mut(&r.name) {
                p.persistent = true;
            }
            r
        };
        self.publish_one(pool_event(&r, oe::DEFINED));
        Ok(r)
    }

    fn storage_pool_create_xml(&self, xml: &str, flags: u32) -> Result<PoolRef> {
        Error::check_flags(flags, 0, "testStoragePoolCreateXML")?;
        let mut def = PoolDef::parse_str(xml).map_err(|e| errors::conf(e, ErrorDomain::Storage))?;
        def.capacity = load::DEFAULT_POOL_CAPACITY;
        def.allocation = 0;
        def.available = load::DEFAULT_POOL_CAPACITY;
        let r = {
            let mut s = self.shared.lock();
            let r = add_pool(&mut s, def, true)?;
            if let Some(p) = s.pools.get_mut(&r.name) {
                p.persistent = false;
                p.active = true;
            }
            r
        };
        self.publish_one(pool_event(&r, oe::STARTED));
        Ok(r)
    }

    fn storage_pool_build(&self, pool: &PoolRef, flags: u32) -> Result<()> {
        Error::check_flags(flags, 0, "testStoragePoolBuild")?;
        {
            let s = self.shared.lock();
            inactive_pool(&s, &pool.name)?;
        }
        self.publish_one(pool_event(pool, oe::POOL_CREATED));
        Ok(())
    }

    fn storage_pool_undefine(&self, pool: &PoolRef) -> Result<()> {
        {
            let mut s = self.shared.lock();
            inactive_pool(&s, &pool.name)?;
            s.pools.remove(&pool.name);
        }
        self.publish_one(pool_event(pool, oe::UNDEFINED));
        Ok(())
    }

    fn storage_pool_create(&self, pool: &PoolRef, flags: u32) -> Result<()> {
        Error::check_flags(flags, 0, "testStoragePoolCreate")?;
        {
            let mut s = self.shared.lock();
            inactive_pool(&s, &pool.name)?;
            if let Some(p) = s.pools.get_mut(&pool.name) {
                p.active = true;
            }
        }
        self.publish_one(pool_event(pool, oe::STARTED));
        Ok(())
    }

    fn storage_pool_destroy(&self, pool: &PoolRef) -> Result<()> {
        let r = {
            let mut s = self.shared.lock();
            let r = active_pool(&s, &pool.name)?.pref();
            let transient = match s.pools.get_mut(&pool.name) {
                Some(p) => {
                    p.active = false;
                    !p.persistent
                }
                None => false,
            };
            if transient {
                s.pools.remove(&pool.name);
            }
            r
        };
        self.publish_one(pool_event(&r, oe::STOPPED));
        Ok(())
    }

    fn storage_pool_delete(&self, pool: &PoolRef, flags: u32) -> Result<()> {
        Error::check_flags(flags, 0, "testStoragePoolDelete")?;
        {
            let s = self.shared.lock();
            inactive_pool(&s, &pool.name)?;
        }
        self.publish_one(pool_event(pool, oe::POOL_DELETED));
        Ok(())
    }

    fn storage_pool_refresh(&self, pool: &PoolRef, flags: u32) -> Result<()> {
        Error::check_flags(flags, 0, "testStoragePoolRefresh")?;
        {
            let s = self.shared.lock();
            active_pool(&s, &pool.name)?;
        }
        self.publish_one(Event::StoragePoolRefresh { pool: pool.clone() });
        Ok(())
    }

    fn storage_pool_get_info(&self, pool: &PoolRef) -> Result<PoolInfo> {
        let s = self.shared.lock();
        let p = s
            .pools
            .get(&pool.name)
            .ok_or_else(|| errors::no_pool_name(&pool.name))?;
        Ok(PoolInfo {
            state: if p.active { 2 } else { 0 },
            capacity: p.def.capacity,
            allocation: p.def.allocation,
            available: p.def.available,
        })
    }

    fn storage_pool_get_xml_desc(&self, pool: &PoolRef, flags: u32) -> Result<String> {
        Error::check_flags(flags, 0, "testStoragePoolGetXMLDesc")?;
        let s = self.shared.lock();
        let p = s
            .pools
            .get(&pool.name)
            .ok_or_else(|| errors::no_pool_name(&pool.name))?;
        Ok(p.def.to_xml())
    }

    fn storage_pool_get_autostart(&self, pool: &PoolRef) -> Result<bool> {
        let s = self.shared.lock();
        let p = s
            .pools
            .get(&pool.name)
            .ok_or_else(|| errors::no_pool_name(&pool.name))?;
        Ok(p.persistent && p.autostart)
    }

    fn storage_pool_set_autostart(&self, pool: &PoolRef, on: bool) -> Result<()> {
        let mut s = self.shared.lock();
        let p = s
            .pools
            .get_mut(&pool.name)
            .ok_or_else(|| errors::no_pool_name(&pool.name))?;
        if !p.persistent {
            return Err(Error::invalid_arg(
                ErrorDomain::Test,
                "pool has no config file",
            ));
        }
        p.autostart = on;
        Ok(())
    }

    fn storage_pool_is_active(&self, pool: &PoolRef) -> Result<bool> {
        let s = self.shared.lock();
        s.pool_by_uuid(&pool.uuid)
            .map(|p| p.active)
            .ok_or_else(|| errors::no_pool_uuid(&pool.uuid))
    }

    fn storage_pool_is_persistent(&self, pool: &PoolRef) -> Result<bool> {
        let s = self.shared.lock();
        s.pool_by_uuid(&pool.uuid)
            .map(|p| p.persistent)
            .ok_or_else(|| errors::no_pool_uuid(&pool.uuid))
    }

    fn storage_pool_list_volumes(&self, pool: &PoolRef) -> Result<Vec<VolRef>> {
        let s = self.shared.lock();
        let p = s
            .pool_by_uuid(&pool.uuid)
            .ok_or_else(|| errors::no_pool_uuid(&pool.uuid))?;
        if !p.active {
            return Err(errors::op_invalid("storage pool is not active"));
        }
        Ok(p.vols.iter().map(|v| vref(p, v)).collect())
    }

    fn storage_vol_lookup_by_name(&self, pool: &PoolRef, name: &str) -> Result<VolRef> {
        let s = self.shared.lock();
        let p = active_pool(&s, &pool.name)?;
        p.vol(name)
            .map(|v| vref(p, v))
            .ok_or_else(|| errors::no_vol_name(name))
    }

    fn storage_vol_lookup_by_key(&self, key: &str) -> Result<VolRef> {
        let s = self.shared.lock();
        s.pools
            .values()
            .filter(|p| p.active)
            .find_map(|p| {
                p.vols
                    .iter()
                    .find(|v| v.key.as_deref() == Some(key))
                    .map(|v| vref(p, v))
            })
            .ok_or_else(|| {
                errors::test(
                    ErrorCode::NoStorageVol,
                    format!("no storage vol with matching key '{key}'"),
                )
            })
    }

    fn storage_vol_lookup_by_path(&self, path: &str) -> Result<VolRef> {
        let s = self.shared.lock();
        s.pools
            .values()
            .filter(|p| p.active)
            .find_map(|p| {
                p.vols
                    .iter()
                    .find(|v| v.target_path.as_deref() == Some(path))
                    .map(|v| vref(p, v))
            })
            .ok_or_else(|| {
                errors::test(
                    ErrorCode::NoStorageVol,
                    format!("no storage vol with matching path '{path}'"),
                )
            })
    }

    fn storage_vol_create_xml(&self, pool: &PoolRef, xml: &str, flags: u32) -> Result<VolRef> {
        Error::check_flags(flags, 1 << 1, "testStorageVolCreateXML")?;
        let mut s = self.shared.lock();
        active_pool(&s, &pool.name)?;
        let vol = VolDef::parse_str(xml).map_err(|e| errors::conf(e, ErrorDomain::Storage))?;
        add_volume(&mut s, &pool.name, vol, None)
    }

    fn storage_vol_create_xml_from(
        &self,
        pool: &PoolRef,
        xml: &str,
        clone: &VolRef,
        flags: u32,
    ) -> Result<VolRef> {
        Error::check_flags(flags, 1 << 1, "testStorageVolCreateXMLFrom")?;
        let mut s = self.shared.lock();
        active_pool(&s, &pool.name)?;
        let vol = VolDef::parse_str(xml).map_err(|e| errors::conf(e, ErrorDomain::Storage))?;
        add_volume(&mut s, &pool.name, vol, Some(&clone.name))
    }

    fn storage_vol_delete(&self, vol: &VolRef, flags: u32) -> Result<()> {
        Error::check_flags(flags, 0, "testStorageVolDelete")?;
        let mut s = self.shared.lock();
        active_pool(&s, &vol.pool)?;
        let p = s
            .pools
            .get_mut(&vol.pool)
            .ok_or_else(|| errors::no_pool_name(&vol.pool))?;
        let i = p
            .vols
            .iter()
            .position(|v| v.name == vol.name)
            .ok_or_else(|| errors::no_vol_name(&vol.name))?;
        let v = p.vols.remove(i);
        p.def.allocation = p.def.allocation.saturating_sub(v.allocation);
        p.def.available = p.def.capacity.saturating_sub(p.def.allocation);
        Ok(())
    }

    fn storage_vol_get_info(&self, vol: &VolRef) -> Result<VolInfo> {
        let s = self.shared.lock();
        let p = active_pool(&s, &vol.pool)?;
        let v = p
            .vol(&vol.name)
            .ok_or_else(|| errors::no_vol_name(&vol.name))?;
        Ok(VolInfo {
            vol_type: vol_type_for_pool(&p.def.pool_type),
            capacity: v.capacity,
            allocation: v.allocation,
        })
    }

    fn storage_vol_get_xml_desc(&self, vol: &VolRef, flags: u32) -> Result<String> {
        Error::check_flags(flags, 0, "testStorageVolGetXMLDesc")?;
        let s = self.shared.lock();
        let p = active_pool(&s, &vol.pool)?;
        let v = p
            .vol(&vol.name)
            .ok_or_else(|| errors::no_vol_name(&vol.name))?;
        Ok(v.to_xml())
    }

    fn storage_vol_get_path(&self, vol: &VolRef) -> Result<String> {
        let s = self.shared.lock();
        let p = active_pool(&s, &vol.pool)?;
        let v = p
            .vol(&vol.name)
            .ok_or_else(|| errors::no_vol_name(&vol.name))?;
        Ok(v.target_path.clone().unwrap_or_default())
    }

    // ---- host interfaces ----

    fn list_all_interfaces(&self, flags: u32) -> Result<Vec<InterfaceRef>> {
        Error::check_flags(flags, 0x3, "testConnectListAllInterfaces")?;
        let s = self.shared.lock();
        Ok(s.ifaces
            .values()
            .filter(|i| pair_ok(flags, 0x2, 0x1, i.active))
            .map(|i| InterfaceRef {
                name: i.name.clone(),
                mac: i.mac.clone(),
            })
            .collect())
    }

    fn interface_lookup_by_name(&self, name: &str) -> Result<InterfaceRef> {
        let s = self.shared.lock();
        s.ifaces
            .get(name)
            .map(|i| InterfaceRef {
                name: i.name.clone(),
                mac: i.mac.clone(),
            })
            .ok_or_else(|| errors::no_iface_name(name))
    }

    fn interface_lookup_by_mac(&self, mac: &str) -> Result<InterfaceRef> {
        let s = self.shared.lock();
        let found: Vec<_> = s
            .ifaces
            .values()
            .filter(|i| i.mac.eq_ignore_ascii_case(mac))
            .take(2)
            .collect();
        match found.as_slice() {
            [] => Err(errors::test(
                ErrorCode::NoInterface,
                format!("no interface with matching mac '{mac}'"),
            )),
            [i] => Ok(InterfaceRef {
                name: i.name.clone(),
                mac: mac.to_string(),
            }),
            _ => Err(Error::bare(
                ErrorCode::MultipleInterfaces,
                ErrorDomain::Test,
            )),
        }
    }

    fn interface_get_xml_desc(&self, iface: &InterfaceRef, flags: u32) -> Result<String> {
        Error::check_flags(flags, 0, "testInterfaceGetXMLDesc")?;
        let s = self.shared.lock();
        let i = s
            .ifaces
            .get(&iface.name)
            .ok_or_else(|| errors::no_iface_name(&iface.name))?;
        Ok(i.xml.to_libvirt_string(0))
    }

    fn interface_define_xml(&self, xml: &str, flags: u32) -> Result<InterfaceRef> {
        Error::check_flags(flags, 1, "testInterfaceDefineXML")?;
        let el = conf::xml::parse_document(xml, "(interface_definition)", "interface")
            .map_err(|e| errors::conf(e, ErrorDomain::Interface))?;
        let mut iface = load::parse_iface(el)?;
        let mut s = self.shared.lock();
        if let Some(old) = s.ifaces.get(&iface.name) {
            iface.active = old.active;
        }
        let r = InterfaceRef {
            name: iface.name.clone(),
            mac: iface.mac.clone(),
        };
        s.ifaces.insert(iface.name.clone(), iface);
        Ok(r)
    }

    fn interface_undefine(&self, iface: &InterfaceRef) -> Result<()> {
        let mut s = self.shared.lock();
        s.ifaces
            .remove(&iface.name)
            .map(|_| ())
            .ok_or_else(|| errors::no_iface_name(&iface.name))
    }

    fn interface_create(&self, iface: &InterfaceRef, flags: u32) -> Result<()> {
        Error::check_flags(flags, 0, "testInterfaceCreate")?;
        let mut s = self.shared.lock();
        let i = s
            .ifaces
            .get_mut(&iface.name)
            .ok_or_else(|| errors::no_iface_name(&iface.name))?;
        if i.active {
            return Err(Error::bare(ErrorCode::OperationInvalid, ErrorDomain::Test));
        }
        i.active = true;
        Ok(())
    }

    fn interface_destroy(&self, iface: &InterfaceRef, flags: u32) -> Result<()> {
        Error::check_flags(flags, 0, "testInterfaceDestroy")?;
        let mut s = self.shared.lock();
        let i = s
            .ifaces
            .get_mut(&iface.name)
            .ok_or_else(|| errors::no_iface_name(&iface.name))?;
        if !i.active {
            return Err(Error::bare(ErrorCode::OperationInvalid, ErrorDomain::Test));
        }
        i.active = false;
        Ok(())
    }

    fn interface_is_active(&self, iface: &InterfaceRef) -> Result<bool> {
        let s = self.shared.lock();
        s.ifaces
            .get(&iface.name)
            .map(|i| i.active)
            .ok_or_else(|| errors::no_iface_name(&iface.name))
    }

    // ---- node devices ----

    fn list_all_node_devices(&self, flags: u32) -> Result<Vec<NodeDeviceRef>> {
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
        let s = self.shared.lock();
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

    fn node_list_devices(&self, cap: Option<&str>, flags: u32) -> Result<Vec<String>> {
        Error::check_flags(flags, 0, "testNodeListDevices")?;
        let s = self.shared.lock();
        Ok(s.devs
            .iter()
            .filter(|d| match cap {
                Some(c) => nodedev_has_cap(d, c),
                None => true,
            })
            .map(|d| d.name.clone())
            .collect())
    }

    fn node_device_lookup_by_name(&self, name: &str) -> Result<NodeDeviceRef> {
        let s = self.shared.lock();
        s.devs
            .iter()
            .find(|d| d.name == name)
            .map(|d| NodeDeviceRef {
                name: d.name.clone(),
            })
            .ok_or_else(|| errors::no_nodedev(name))
    }

    fn node_device_get_xml_desc(&self, dev: &NodeDeviceRef, flags: u32) -> Result<String> {
        Error::check_flags(flags, 0, "testNodeDeviceGetXMLDesc")?;
        let s = self.shared.lock();
        s.devs
            .iter()
            .find(|d| d.name == dev.name)
            .map(|d| d.xml.to_libvirt_string(0))
            .ok_or_else(|| errors::no_nodedev(&dev.name))
    }

    fn node_device_get_parent(&self, dev: &NodeDeviceRef) -> Result<Option<String>> {
        let s = self.shared.lock();
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

    fn node_device_list_caps(&self, dev: &NodeDeviceRef) -> Result<Vec<String>> {
        let s = self.shared.lock();
        s.devs
            .iter()
            .find(|d| d.name == dev.name)
            .map(|d| d.caps.clone())
            .ok_or_else(|| errors::no_nodedev(&dev.name))
    }

    fn node_device_create_xml(&self, xml: &str, flags: u32) -> Result<NodeDeviceRef> {
        Error::check_flags(flags, 1, "testNodeDeviceCreateXML")?;
        let el = conf::xml::parse_document(xml, "(node_device_definition)", "device")
            .map_err(|e| errors::conf(e, ErrorDomain::Nodedev))?;
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
            let mut s = self.shared.lock();
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
            let dev = crate::state::NodeDev {
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
        self.publish_one(Event::NodeDeviceLifecycle {
            dev: r.clone(),
            event: oe::NODEDEV_CREATED,
            detail: 0,
        });
        Ok(r)
    }

    fn node_device_destroy(&self, dev: &NodeDeviceRef) -> Result<()> {
        {
            let mut s = self.shared.lock();
            let i = s
                .devs
                .iter()
                .position(|d| d.name == dev.name)
                .ok_or_else(|| errors::no_nodedev(&dev.name))?;
            let d = &s.devs[i];
            if nodedev_wwns(&d.xml).is_none() {
                return Err(Error::new(
                    ErrorCode::XmlError,
                    ErrorDomain::Nodedev,
                    "Device is not a fibre channel HBA",
                ));
            }
            let parent = d.parent.clone().unwrap_or_default();
            if !s.devs.iter().any(|p| p.name == parent) {
                return Err(errors::internal(format!(
                    "cannot find parent '{parent}' definition"
                )));
            }
            s.devs.remove(i);
        }
        self.publish_one(Event::NodeDeviceLifecycle {
            dev: dev.clone(),
            event: oe::NODEDEV_DELETED,
            detail: 0,
        });
        Ok(())
    }
}

fn vref(p: &Pool, v: &VolDef) -> VolRef {
    VolRef {
        pool: p.def.name.clone(),
        name: v.name.clone(),
        key: v.key.clone().unwrap_or_default(),
    }
}

fn active_pool<'a>(s: &'a State, name: &str) -> Result<&'a Pool> {
    let p = s
        .pools
        .get(name)
        .ok_or_else(|| errors::no_pool_name(name))?;
    if !p.active {
        return Err(errors::op_invalid(format!(
            "storage pool '{name}' is not active"
        )));
    }
    Ok(p)
}

fn inactive_pool<'a>(s: &'a State, name: &str) -> Result<&'a Pool> {
    let p = s
        .pools
        .get(name)
        .ok_or_else(|| errors::no_pool_name(name))?;
    if p.active {
        return Err(errors::op_invalid(format!(
            "storage pool '{name}' is active"
        )));
    }
    Ok(p)
}

/// virNetworkObjAssignDef: adds a network or replaces its definition.
fn assign_network(s: &mut State, def: NetworkDef, live: bool) -> Result<NetworkRef> {
    let existing = s
        .networks
        .values()
        .find(|n| n.def.uuid == def.uuid)
        .map(|n| n.def.name.clone());
    if let Some(old_name) = existing {
        if old_name != def.name {
            return Err(Error::new(
                ErrorCode::OperationFailed,
                ErrorDomain::Network,
                format!(
                    "network '{old_name}' is already defined with uuid {}",
                    def.uuid
                ),
            ));
        }
        let n = s
            .networks
            .get_mut(&old_name)
            .ok_or_else(|| errors::no_network_name(&old_name))?;
        if live {
            if n.active {
                return Err(Error::operation_invalid(
                    ErrorDomain::Network,
                    format!("network is already active as '{old_name}'"),
                ));
            }
            let old = std::mem::replace(&mut n.def, def);
            if n.persistent && n.new_def.is_none() {
                n.new_def = Some(old);
            }
        } else {
            if n.active {
                n.new_def = Some(def);
            } else {
                n.new_def = None;
                n.def = def;
            }
            n.persistent = true;
        }
        return Ok(n.nref());
    }
    if let Some(n) = s.networks.get(&def.name) {
        return Err(Error::new(
            ErrorCode::OperationFailed,
            ErrorDomain::Network,
            format!(
                "network '{}' already exists with uuid {}",
                def.name, n.def.uuid
            ),
        ));
    }
    let n = Net {
        def,
        new_def: None,
        persistent: !live,
        active: false,
        autostart: false,
    };
    let r = n.nref();
    s.networks.insert(r.name.clone(), n);
    Ok(r)
}

/// virStoragePoolObjListAdd.
fn add_pool(s: &mut State, def: PoolDef, check_live: bool) -> Result<PoolRef> {
    let existing = s
        .pools
        .values()
        .find(|p| p.def.uuid == def.uuid)
        .map(|p| p.def.name.clone());
    if let Some(old_name) = existing {
        if old_name != def.name {
            return Err(Error::new(
                ErrorCode::OperationFailed,
                ErrorDomain::Storage,
                format!(
                    "pool '{old_name}' is already defined with uuid {}",
                    def.uuid
                ),
            ));
        }
        let p = s
            .pools
            .get_mut(&old_name)
            .ok_or_else(|| errors::no_pool_name(&old_name))?;
        if check_live && p.active {
            return Err(Error::operation_invalid(
                ErrorDomain::Storage,
                format!("pool is already active as '{old_name}'"),
            ));
        }
        if !p.active {
            p.def = PoolDef {
                capacity: p.def.capacity,
                allocation: p.def.allocation,
                available: p.def.available,
                ..def
            };
        }
        return Ok(p.pref());
    }
    if let Some(p) = s.pools.get(&def.name) {
        return Err(Error::new(
            ErrorCode::OperationFailed,
            ErrorDomain::Storage,
            format!(
                "pool '{}' already exists with uuid {}",
                def.name, p.def.uuid
            ),
        ));
    }
    let p = Pool {
        def,
        persistent: false,
        active: false,
        autostart: false,
        vols: Vec::new(),
    };
    let r = p.pref();
    s.pools.insert(r.name.clone(), p);
    Ok(r)
}

/// testStorageVolCreateXML(From): space check, path and key, accounting.
fn add_volume(s: &mut State, pool: &str, mut vol: VolDef, clone: Option<&str>) -> Result<VolRef> {
    let p = s
        .pools
        .get_mut(pool)
        .ok_or_else(|| errors::no_pool_name(pool))?;
    if p.vol(&vol.name).is_some() {
        return Err(errors::test(
            ErrorCode::OperationFailed,
            "storage vol already exists",
        ));
    }
    if let Some(c) = clone {
        if p.vol(c).is_none() {
            return Err(errors::no_vol_name(c));
        }
    }
    if p.def.allocation.saturating_add(vol.allocation) > p.def.capacity {
        return Err(errors::internal(format!(
            "Not enough free space in pool for volume '{}'",
            vol.name
        )));
    }
    vol_defaults(&p.def, &mut vol);
    let path = format!(
        "{}/{}",
        p.def.target_path.as_deref().unwrap_or(""),
        vol.name
    );
    vol.target_path = Some(path.clone());
    vol.key = Some(path);
    p.def.allocation = p.def.allocation.saturating_add(vol.allocation);
    p.def.available = p.def.capacity.saturating_sub(p.def.allocation);
    let r = vref(p, &vol);
    p.vols.push(vol);
    Ok(r)
}

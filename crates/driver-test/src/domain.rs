// SPDX-License-Identifier: LGPL-2.1-or-later
//! Domains of the test driver: listing, lookup and the lifecycle (define,
//! start, stop, save and restore, managed save, rename), with the state
//! changes libvirt's test driver makes (testDomainStartState,
//! testDomainShutdownState) and its save-image format. Snapshots are not
//! modelled: every domain has none.

use conf::{DomainDef, FormatFlags};
use driver::consts::{create, define, lifecycle as lc, list, reason, state as st, undefine};
use driver::error::{ErrorCode, ErrorDomain};
use driver::{DomainRef, Error, Event, Result};

use crate::conn::pair_ok;
use crate::errors;
use crate::load;
use crate::state::{Dom, Shared, State};

/// Maximum vcpus the fake hypervisor accepts.
pub(crate) const MAX_VCPUS: u32 = 32;

/// Magic at the start of a save image.
const SAVE_MAGIC: &[u8; 15] = b"TestGuestMagic\0";

/// Upper bound of the XML stored in a save image.
const SAVE_MAX_XML: usize = 8192;

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

pub(crate) fn dom_matches(d: &Dom, flags: u32) -> bool {
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

/// What a domain lifecycle action (`on_poweroff`, `on_reboot`) leaves.
fn action_state(action: &str) -> (i32, i32) {
    match action {
        "restart" | "rename-restart" => (st::RUNNING, reason::RUNNING_BOOTED),
        _ => (st::SHUTOFF, reason::SHUTOFF_SHUTDOWN),
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

pub(crate) fn list_all_domains(sh: &Shared, flags: u32) -> Result<Vec<DomainRef>> {
    Error::check_flags(flags, list::ALL, "testConnectListAllDomains")?;
    let mut s = sh.lock();
    if flags == 0 {
        return Ok(s.domains.list_all());
    }
    Ok(s.domains
        .iter()
        .filter(|d| dom_matches(d, flags))
        .map(Dom::dref)
        .collect())
}

pub(crate) fn list_domain_ids(sh: &Shared, max: usize) -> Result<Vec<i32>> {
    let s = sh.lock();
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

pub(crate) fn num_of_domains(sh: &Shared) -> Result<usize> {
    let s = sh.lock();
    Ok(s.domains.iter().filter(|d| d.is_active()).count())
}

pub(crate) fn list_defined_domains(sh: &Shared, max: usize) -> Result<Vec<String>> {
    let s = sh.lock();
    Ok(s.domains
        .iter()
        .filter(|d| !d.is_active())
        .take(max)
        .map(|d| d.def.name.clone())
        .collect())
}

pub(crate) fn num_of_defined_domains(sh: &Shared) -> Result<usize> {
    let s = sh.lock();
    Ok(s.domains.len() - s.domains.iter().filter(|d| d.is_active()).count())
}

pub(crate) fn domain_lookup_by_id(sh: &Shared, id: i32) -> Result<DomainRef> {
    let s = sh.lock();
    s.domains
        .uuid_by_id(id)
        .and_then(|u| s.domains.get(&u))
        .map(Dom::dref)
        .ok_or_else(errors::no_domain_bare)
}

pub(crate) fn domain_lookup_by_name(sh: &Shared, name: &str) -> Result<DomainRef> {
    let s = sh.lock();
    s.domains
        .uuid_by_name(name)
        .and_then(|u| s.domains.get(&u))
        .map(Dom::dref)
        .ok_or_else(errors::no_domain_bare)
}

pub(crate) fn domain_lookup_by_uuid(sh: &Shared, uuid: &[u8; 16]) -> Result<DomainRef> {
    let s = sh.lock();
    s.domains
        .get(uuid)
        .map(Dom::dref)
        .ok_or_else(errors::no_domain_bare)
}

pub(crate) fn domain_define_xml(sh: &Shared, xml: &str, flags: u32) -> Result<DomainRef> {
    Error::check_flags(flags, define::VALIDATE, "testDomainDefineXMLFlags")?;
    let def = load::parse_domain_xml(xml, flags & define::VALIDATE != 0)?;
    check_name_chars(&def)?;
    let uuid = def.uuid.0;
    let (r, event) = {
        let mut s = sh.lock();
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
    sh.publish_one(event);
    Ok(r)
}

pub(crate) fn domain_undefine(sh: &Shared, r: &DomainRef, flags: u32) -> Result<()> {
    Error::check_flags(
        flags,
        undefine::MANAGED_SAVE | undefine::SNAPSHOTS_METADATA,
        "testDomainUndefineFlags",
    )?;
    sh.change_dom(r, |s, uuid, ev| {
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

pub(crate) fn domain_create(sh: &Shared, r: &DomainRef, flags: u32) -> Result<DomainRef> {
    Error::check_flags(flags, 0, "testDomainCreateWithFlags")?;
    sh.change_dom(r, |s, uuid, ev| {
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

pub(crate) fn domain_create_xml(sh: &Shared, xml: &str, flags: u32) -> Result<DomainRef> {
    Error::check_flags(flags, create::START_VALIDATE, "testDomainCreateXML")?;
    let def = load::parse_domain_xml(xml, flags & create::START_VALIDATE != 0)?;
    let (r, ev) = {
        let mut s = sh.lock();
        let uuid = add_live(&mut s, def)?;
        let r = start_state(&mut s, uuid, reason::RUNNING_BOOTED)
            .ok_or_else(|| errors::internal("domain vanished"))?;
        let ev = s
            .domains
            .get(&uuid)
            .map(|d| lifecycle(d, lc::STARTED, lc::STARTED_BOOTED));
        (r, ev)
    };
    sh.publish(ev.into_iter().collect());
    Ok(r)
}

pub(crate) fn domain_destroy(sh: &Shared, r: &DomainRef, flags: u32) -> Result<()> {
    // VIR_DOMAIN_DESTROY_GRACEFUL
    Error::check_flags(flags, 1, "testDomainDestroyFlags")?;
    sh.change_dom(r, |s, uuid, ev| {
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

pub(crate) fn domain_shutdown(sh: &Shared, r: &DomainRef, flags: u32) -> Result<()> {
    Error::check_flags(flags, 0, "testDomainShutdownFlags")?;
    sh.change_dom(r, |s, uuid, ev| {
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

pub(crate) fn domain_reboot(sh: &Shared, r: &DomainRef, flags: u32) -> Result<()> {
    // DEFAULT, ACPI_POWER_BTN, GUEST_AGENT, INITCTL, SIGNAL, PARAVIRT.
    Error::check_flags(flags, 0x1f, "testDomainReboot")?;
    sh.change_dom(r, |s, uuid, ev| {
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

pub(crate) fn domain_reset(sh: &Shared, r: &DomainRef, flags: u32) -> Result<()> {
    Error::check_flags(flags, 0, "testDomainReset")?;
    sh.with_dom(r, |d| {
        if !d.is_active() {
            return Err(errors::not_running());
        }
        Ok(())
    })
}

pub(crate) fn domain_suspend(sh: &Shared, r: &DomainRef) -> Result<()> {
    sh.change_dom(r, |s, uuid, ev| {
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

pub(crate) fn domain_resume(sh: &Shared, r: &DomainRef) -> Result<()> {
    sh.change_dom(r, |s, uuid, ev| {
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

pub(crate) fn domain_save(
    sh: &Shared,
    r: &DomainRef,
    to: &str,
    dxml: Option<&str>,
    flags: u32,
) -> Result<()> {
    Error::check_flags(flags, 0, "testDomainSaveFlags")?;
    if dxml.is_some() {
        return Err(errors::test(
            ErrorCode::ArgumentUnsupported,
            "xml modification unsupported",
        ));
    }
    sh.change_dom(r, |s, uuid, ev| {
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

pub(crate) fn domain_restore(
    sh: &Shared,
    from: &str,
    dxml: Option<&str>,
    flags: u32,
) -> Result<()> {
    Error::check_flags(flags, 0, "testDomainRestoreFlags")?;
    if dxml.is_some() {
        return Err(errors::test(
            ErrorCode::ArgumentUnsupported,
            "xml modification unsupported",
        ));
    }
    let def = read_save_image(from)?;
    let ev = {
        let mut s = sh.lock();
        let uuid = add_live(&mut s, def)?;
        start_state(&mut s, uuid, reason::RUNNING_RESTORED);
        s.domains
            .get(&uuid)
            .map(|d| lifecycle(d, lc::STARTED, lc::STARTED_RESTORED))
    };
    sh.publish(ev.into_iter().collect());
    Ok(())
}

pub(crate) fn domain_managed_save(sh: &Shared, r: &DomainRef, flags: u32) -> Result<()> {
    // BYPASS_CACHE, RUNNING, PAUSED.
    Error::check_flags(flags, 0x7, "testDomainManagedSave")?;
    sh.change_dom(r, |s, uuid, ev| {
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

pub(crate) fn domain_has_managed_save(sh: &Shared, r: &DomainRef, flags: u32) -> Result<bool> {
    Error::check_flags(flags, 0, "testDomainHasManagedSaveImage")?;
    sh.with_dom(r, |d| Ok(d.has_managed_save))
}

pub(crate) fn domain_managed_save_remove(sh: &Shared, r: &DomainRef, flags: u32) -> Result<()> {
    Error::check_flags(flags, 0, "testDomainManagedSaveRemove")?;
    sh.change_dom(r, |s, uuid, _| {
        if let Some(d) = s.domains.get_mut(&uuid) {
            d.has_managed_save = false;
        }
        Ok(())
    })
}

pub(crate) fn domain_rename(sh: &Shared, r: &DomainRef, new_name: &str, flags: u32) -> Result<()> {
    Error::check_flags(flags, 0, "testDomainRename")?;
    sh.change_dom(r, |s, uuid, ev| {
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

pub(crate) fn domain_snapshot_num(sh: &Shared, r: &DomainRef, _flags: u32) -> Result<i32> {
    sh.with_dom(r, |_| Ok(0))
}

pub(crate) fn domain_list_snapshots(
    sh: &Shared,
    r: &DomainRef,
    _flags: u32,
) -> Result<Vec<String>> {
    sh.with_dom(r, |_| Ok(Vec::new()))
}

impl Shared {
    /// Runs `f` on the domain a handle names, under the lock.
    pub(crate) fn with_dom<R>(
        &self,
        r: &DomainRef,
        f: impl FnOnce(&Dom) -> Result<R>,
    ) -> Result<R> {
        let s = self.lock();
        let d = s
            .domains
            .get(&r.uuid)
            .ok_or_else(|| errors::no_domain_uuid(&r.uuid, &r.name))?;
        f(d)
    }

    /// Runs a change on a domain, keeps the indexes in step, and publishes
    /// the events it produced after unlocking.
    pub(crate) fn change_dom<R>(
        &self,
        r: &DomainRef,
        f: impl FnOnce(&mut State, [u8; 16], &mut Vec<Event>) -> Result<R>,
    ) -> Result<R> {
        let mut events = Vec::new();
        let res = {
            let mut s = self.lock();
            if s.domains.get(&r.uuid).is_none() {
                return Err(errors::no_domain_uuid(&r.uuid, &r.name));
            }
            f(&mut s, r.uuid, &mut events)
        };
        self.publish(events);
        res
    }
}

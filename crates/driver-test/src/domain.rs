// SPDX-License-Identifier: LGPL-2.1-or-later
//! Domains of the test driver: listing, lookup and the lifecycle (define,
//! start, stop, save and restore, managed save, rename), with the state
//! changes libvirt's test driver makes (testDomainStartState,
//! testDomainShutdownState) and its save-image format. Snapshots are not
//! modelled: every domain has none.

use std::sync::Arc;

use conf::{DomainDef, FormatFlags};
use driver::consts::{create, define, lifecycle as lc, list, reason, state as st, undefine};
use driver::error::{ErrorCode, ErrorDomain};
use driver::objlist::Entry;
use driver::{DomainRef, Error, Event, Result};

use crate::errors;
use crate::load;
use crate::state::{Dom, DomObj, Shared};

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

pub(crate) fn lifecycle(d: &Dom, event: i32, detail: i32) -> Event {
    Event::DomainLifecycle {
        dom: d.dref(),
        event,
        detail,
    }
}

pub(crate) fn dom_matches(d: &Dom, flags: u32) -> bool {
    list::wanted(
        flags,
        &list::Facts {
            active: d.is_active(),
            persistent: d.persistent,
            autostart: d.autostart,
            has_snapshot: !d.snapshots.is_empty(),
            managed_save: d.has_managed_save,
            has_checkpoint: !d.checkpoints.is_empty(),
            state: d.state,
        },
    )
}

/// What a domain lifecycle action (`on_poweroff`, `on_reboot`) leaves.
fn action_state(action: &str) -> (i32, i32) {
    match action {
        "restart" | "rename-restart" => (st::RUNNING, reason::RUNNING_BOOTED),
        _ => (st::SHUTOFF, reason::SHUTOFF_SHUTDOWN),
    }
}

/// Carries out a lifecycle action of a guest that shut down or rebooted:
/// it keeps running, or it stops (STOPPED/SHUTDOWN).
fn guest_action(sh: &Shared, obj: &DomObj, d: &mut Dom, action: &str, ev: &mut Vec<Event>) {
    let (state, why) = action_state(action);
    d.state = state;
    d.reason = why;
    if state == st::SHUTOFF {
        stop_domain(
            sh,
            obj,
            d,
            reason::SHUTOFF_SHUTDOWN,
            lc::STOPPED_SHUTDOWN,
            ev,
        );
    }
}

/// Sets a domain running with a fresh id (testDomainStartState).
pub(crate) fn start_state(sh: &Shared, obj: &DomObj, d: &mut Dom, why: i32) -> DomainRef {
    let id = sh.alloc_dom_id();
    d.state = st::RUNNING;
    d.reason = why;
    if d.persistent && d.new_def.is_none() {
        d.new_def = Some(Box::new(d.def.clone()));
    }
    d.def.id = Some(id);
    d.has_managed_save = false;
    sh.domains.set_id(obj, Some(id));
    d.dref()
}

/// Stops a domain (testDomainShutdownState): the persistent definition
/// becomes current again.
pub(crate) fn shutdown_state(sh: &Shared, obj: &DomObj, d: &mut Dom, why: i32) {
    if let Some(nd) = d.new_def.take() {
        d.def = *nd;
    }
    d.def.id = None;
    d.state = st::SHUTOFF;
    d.reason = why;
    sh.domains.set_id(obj, None);
}

/// Stops a domain, emits STOPPED/`detail`, and drops it when transient.
fn stop_domain(sh: &Shared, obj: &DomObj, d: &mut Dom, why: i32, detail: i32, ev: &mut Vec<Event>) {
    shutdown_state(sh, obj, d, why);
    ev.push(lifecycle(d, lc::STOPPED, detail));
    if !d.persistent {
        sh.domains.remove(obj);
    }
}

/// virDomainObjListAdd for a live definition (create XML, restore): runs
/// `f` on the domain now holding `def`, locked.
fn add_live<R>(sh: &Shared, def: DomainDef, f: impl FnOnce(&DomObj, &mut Dom) -> R) -> Result<R> {
    let uuid = def.uuid.0;
    let name = Arc::from(def.name.as_str());
    sh.domains
        .add(uuid, name, Dom::new(def), |obj, d, unused| {
            if let Some(new) = unused {
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
                let old = std::mem::replace(&mut d.def, new.def);
                if d.new_def.is_none() {
                    d.new_def = Some(Box::new(old));
                }
            }
            Ok(f(obj, d))
        })
        .map_err(|c| c.to_error("domain", ErrorDomain::Domain))?
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

/// Opens a file for writing, created owner-only or truncated, as libvirt's
/// test driver opens its save images and core dumps.
fn create_owner_only(path: &str) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
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
    let failed = |what: &str, e: std::io::Error| {
        Error::new(
            ErrorCode::SystemError,
            ErrorDomain::Test,
            format!(
                "saving domain '{}' to '{path}': {what} failed: {}",
                def.name,
                strerror(&e)
            ),
        )
    };
    let mut f = create_owner_only(path).map_err(|e| failed("open", e))?;
    std::io::Write::write_all(&mut f, &data).map_err(|e| failed("write", e))
}

/// Reads a save image. A file too short is a system error whose cause is
/// errno 0, "Success", as libvirt reports a short read.
fn read_save_image(path: &str) -> Result<DomainDef> {
    let sys = |msg: String| Error::new(ErrorCode::SystemError, ErrorDomain::Test, msg);
    let data = std::fs::read(path).map_err(|e| {
        sys(format!(
            "cannot read domain image '{path}': {}",
            strerror(&e)
        ))
    })?;
    if data.len() < SAVE_MAGIC.len() {
        return Err(sys(format!("incomplete save header in '{path}': Success")));
    }
    if &data[..SAVE_MAGIC.len()] != SAVE_MAGIC {
        return Err(errors::internal("mismatched header magic"));
    }
    let rest = &data[SAVE_MAGIC.len()..];
    let Some(lenb) = rest.get(..4) else {
        return Err(sys(format!(
            "failed to read metadata length in '{path}': Success"
        )));
    };
    let len = i32::from_ne_bytes([lenb[0], lenb[1], lenb[2], lenb[3]]);
    let len = usize::try_from(len).unwrap_or(0);
    if !(1..=SAVE_MAX_XML).contains(&len) {
        return Err(errors::internal("length of metadata out of range"));
    }
    let Some(xml) = rest.get(4..4 + len) else {
        return Err(sys(format!("incomplete metadata in '{path}': Success")));
    };
    let xml = std::str::from_utf8(xml).map_err(|_| errors::internal("mismatched header magic"))?;
    load::parse_domain_xml(xml, false)
}

pub(crate) fn list_all_domains(sh: &Shared, flags: u32) -> Result<Vec<DomainRef>> {
    Error::check_flags(flags, list::ALL, "testConnectListAllDomains")?;
    let all = sh.domains.snapshot();
    if flags == 0 {
        return Ok(all.iter().map(Entry::dom_ref).collect());
    }
    Ok(all
        .iter()
        .filter_map(|e| {
            let d = e.obj.lock_live()?;
            dom_matches(&d, flags).then(|| d.dref())
        })
        .collect())
}

pub(crate) fn list_domain_ids(sh: &Shared, max: usize) -> Result<Vec<i32>> {
    let mut v: Vec<i32> = sh.domains.snapshot().iter().filter_map(|e| e.id).collect();
    v.sort_unstable();
    v.truncate(max);
    Ok(v)
}

pub(crate) fn num_of_domains(sh: &Shared) -> Result<usize> {
    Ok(sh
        .domains
        .snapshot()
        .iter()
        .filter(|e| e.id.is_some())
        .count())
}

pub(crate) fn list_defined_domains(sh: &Shared, max: usize) -> Result<Vec<String>> {
    Ok(sh
        .domains
        .snapshot()
        .iter()
        .filter(|e| e.id.is_none())
        .take(max)
        .map(|e| String::from(&*e.name))
        .collect())
}

pub(crate) fn num_of_defined_domains(sh: &Shared) -> Result<usize> {
    Ok(sh
        .domains
        .snapshot()
        .iter()
        .filter(|e| e.id.is_none())
        .count())
}

pub(crate) fn domain_lookup_by_id(sh: &Shared, id: i32) -> Result<DomainRef> {
    sh.domains
        .entry_by_id(id)
        .map(|e| e.dom_ref())
        .ok_or_else(errors::no_domain_bare)
}

pub(crate) fn domain_lookup_by_name(sh: &Shared, name: &str) -> Result<DomainRef> {
    sh.domains
        .entry_by_name(name)
        .map(|e| e.dom_ref())
        .ok_or_else(errors::no_domain_bare)
}

pub(crate) fn domain_lookup_by_uuid(sh: &Shared, uuid: &[u8; 16]) -> Result<DomainRef> {
    sh.domains
        .entry(uuid)
        .map(|e| e.dom_ref())
        .ok_or_else(errors::no_domain_bare)
}

pub(crate) fn domain_define_xml(sh: &Shared, xml: &str, flags: u32) -> Result<DomainRef> {
    Error::check_flags(flags, define::VALIDATE, "testDomainDefineXMLFlags")?;
    let def = load::parse_domain_xml(xml, flags & define::VALIDATE != 0)?;
    check_name_chars(&def)?;
    let uuid = def.uuid.0;
    let name = Arc::from(def.name.as_str());
    let mut dom = Dom::new(def);
    dom.persistent = true;
    let (r, event) = sh
        .domains
        .add(uuid, name, dom, |_, d, unused| {
            let updated = match unused {
                None => false,
                Some(new) => {
                    let updated = if d.is_active() {
                        let had = d.new_def.is_some();
                        d.new_def = Some(Box::new(new.def));
                        had
                    } else {
                        d.def = new.def;
                        true
                    };
                    d.persistent = true;
                    updated
                }
            };
            let detail = if updated {
                lc::DEFINED_UPDATED
            } else {
                lc::DEFINED_ADDED
            };
            (d.dref(), lifecycle(d, lc::DEFINED, detail))
        })
        .map_err(|c| c.to_error("domain", ErrorDomain::Domain))?;
    sh.publish_one(event);
    Ok(r)
}

pub(crate) fn domain_undefine(sh: &Shared, r: &DomainRef, flags: u32) -> Result<()> {
    Error::check_flags(
        flags,
        undefine::MANAGED_SAVE | undefine::SNAPSHOTS_METADATA,
        "testDomainUndefineFlags",
    )?;
    sh.change_dom(r, |obj, d, ev| {
        if d.has_managed_save && flags & undefine::MANAGED_SAVE == 0 {
            return Err(errors::op_invalid(
                "Refusing to undefine while domain managed save image exists",
            ));
        }
        let nsnapshots = d.snapshots.len();
        if !d.is_active() && nsnapshots > 0 && flags & undefine::SNAPSHOTS_METADATA == 0 {
            return Err(errors::op_invalid(format!(
                "cannot delete inactive domain with {nsnapshots} snapshots"
            )));
        }
        ev.push(lifecycle(d, lc::UNDEFINED, lc::UNDEFINED_REMOVED));
        d.has_managed_save = false;
        if d.is_active() {
            d.persistent = false;
        } else {
            sh.domains.remove(obj);
        }
        Ok(())
    })
}

pub(crate) fn domain_create(sh: &Shared, r: &DomainRef, flags: u32) -> Result<DomainRef> {
    Error::check_flags(flags, 0, "testDomainCreateWithFlags")?;
    sh.change_dom(r, |obj, d, ev| {
        if d.state != st::SHUTOFF {
            return Err(errors::internal(format!(
                "Domain '{}' is already running",
                r.name
            )));
        }
        let nr = start_state(sh, obj, d, reason::RUNNING_BOOTED);
        ev.push(lifecycle(d, lc::STARTED, lc::STARTED_BOOTED));
        Ok(nr)
    })
}

pub(crate) fn domain_create_xml(sh: &Shared, xml: &str, flags: u32) -> Result<DomainRef> {
    Error::check_flags(flags, create::START_VALIDATE, "testDomainCreateXML")?;
    let def = load::parse_domain_xml(xml, flags & create::START_VALIDATE != 0)?;
    let (r, ev) = add_live(sh, def, |obj, d| {
        let r = start_state(sh, obj, d, reason::RUNNING_BOOTED);
        (r, lifecycle(d, lc::STARTED, lc::STARTED_BOOTED))
    })?;
    sh.publish_one(ev);
    Ok(r)
}

pub(crate) fn domain_destroy(sh: &Shared, r: &DomainRef, flags: u32) -> Result<()> {
    // VIR_DOMAIN_DESTROY_GRACEFUL
    Error::check_flags(flags, 1, "testDomainDestroyFlags")?;
    sh.change_dom(r, |obj, d, ev| {
        if !d.is_active() {
            return Err(errors::not_running());
        }
        stop_domain(
            sh,
            obj,
            d,
            reason::SHUTOFF_DESTROYED,
            lc::STOPPED_DESTROYED,
            ev,
        );
        Ok(())
    })
}

pub(crate) fn domain_shutdown(sh: &Shared, r: &DomainRef, flags: u32) -> Result<()> {
    Error::check_flags(flags, 0, "testDomainShutdownFlags")?;
    sh.change_dom(r, |obj, d, ev| {
        if d.state == st::SHUTOFF {
            return Err(errors::internal(format!("domain '{}' not running", r.name)));
        }
        let action = d.def.on_poweroff.clone();
        guest_action(sh, obj, d, &action, ev);
        Ok(())
    })
}

pub(crate) fn domain_reboot(sh: &Shared, r: &DomainRef, flags: u32) -> Result<()> {
    // DEFAULT, ACPI_POWER_BTN, GUEST_AGENT, INITCTL, SIGNAL, PARAVIRT.
    Error::check_flags(flags, 0x1f, "testDomainReboot")?;
    sh.change_dom(r, |obj, d, ev| {
        if !d.is_active() {
            return Err(errors::not_running());
        }
        let action = d.def.on_reboot.clone();
        guest_action(sh, obj, d, &action, ev);
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
    sh.change_dom(r, |_, d, ev| {
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
    sh.change_dom(r, |_, d, ev| {
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
    sh.change_dom(r, |obj, d, ev| {
        if !d.is_active() {
            return Err(errors::not_running());
        }
        write_save_image(to, &d.def)?;
        stop_domain(sh, obj, d, reason::SHUTOFF_SAVED, lc::STOPPED_SAVED, ev);
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
    let ev = add_live(sh, def, |obj, d| {
        start_state(sh, obj, d, reason::RUNNING_RESTORED);
        lifecycle(d, lc::STARTED, lc::STARTED_RESTORED)
    })?;
    sh.publish_one(ev);
    Ok(())
}

/// VIR_DOMAIN_SAVE_IMAGE_XML_SECURE.
const SAVE_IMAGE_XML_SECURE: u32 = 1;
/// VIR_DOMAIN_SAVE_RUNNING, VIR_DOMAIN_SAVE_PAUSED.
const SAVE_RUNNING: u32 = 2;
const SAVE_PAUSED: u32 = 4;

/// virDomainSaveImageGetXMLDesc: the image's definition, secrets
/// included.
pub(crate) fn save_image_get_xml_desc(path: &str, flags: u32) -> Result<String> {
    Error::check_flags(
        flags,
        SAVE_IMAGE_XML_SECURE,
        "testDomainSaveImageGetXMLDesc",
    )?;
    let def = read_save_image(path)?;
    Ok(def.to_xml(&FormatFlags {
        secure: true,
        ..Default::default()
    }))
}

/// virDomainSaveImageDefineXML: any domain's definition may replace the
/// one of a readable image (the state flags are accepted and unused).
pub(crate) fn save_image_define_xml(path: &str, xml: &str, flags: u32) -> Result<()> {
    Error::check_flags(
        flags,
        SAVE_RUNNING | SAVE_PAUSED,
        "testDomainSaveImageDefineXML",
    )?;
    read_save_image(path)?;
    let def = load::parse_domain_xml(xml, false)?;
    write_save_image(path, &def)
}

/// VIR_DUMP_CRASH.
const DUMP_CRASH: u32 = 1;

/// virDomainCoreDumpWithFormat: a file holding only the save magic; only
/// the raw format (refused after the file is written, as C does); with
/// VIR_DUMP_CRASH the domain then stops as crashed.
pub(crate) fn domain_core_dump(
    sh: &Shared,
    r: &DomainRef,
    to: &str,
    format: u32,
    flags: u32,
) -> Result<()> {
    Error::check_flags(flags, DUMP_CRASH, "testDomainCoreDumpWithFormat")?;
    sh.change_dom(r, |obj, d, ev| {
        if !d.is_active() {
            return Err(errors::not_running());
        }
        let sys = |what: String, e: std::io::Error| {
            Error::new(
                ErrorCode::SystemError,
                ErrorDomain::Test,
                format!("domain '{}' coredump: {what}: {}", r.name, strerror(&e)),
            )
        };
        let mut f = create_owner_only(to).map_err(|e| sys(format!("failed to open {to}"), e))?;
        std::io::Write::write_all(&mut f, SAVE_MAGIC)
            .map_err(|e| sys(format!("failed to write header to {to}"), e))?;
        if format != 0 {
            return Err(errors::test(
                ErrorCode::OperationUnsupported,
                "kdump-compressed format is not supported here",
            ));
        }
        if flags & DUMP_CRASH != 0 {
            stop_domain(sh, obj, d, reason::SHUTOFF_CRASHED, lc::STOPPED_CRASHED, ev);
        }
        Ok(())
    })
}

pub(crate) fn domain_managed_save(sh: &Shared, r: &DomainRef, flags: u32) -> Result<()> {
    // BYPASS_CACHE, RUNNING, PAUSED.
    Error::check_flags(flags, 0x7, "testDomainManagedSave")?;
    sh.change_dom(r, |obj, d, ev| {
        if !d.is_active() {
            return Err(errors::not_running());
        }
        if !d.persistent {
            return Err(errors::op_invalid(
                "cannot do managed save for transient domain",
            ));
        }
        shutdown_state(sh, obj, d, reason::SHUTOFF_SAVED);
        ev.push(lifecycle(d, lc::STOPPED, lc::STOPPED_SAVED));
        d.has_managed_save = true;
        Ok(())
    })
}

pub(crate) fn domain_has_managed_save(sh: &Shared, r: &DomainRef, flags: u32) -> Result<bool> {
    Error::check_flags(flags, 0, "testDomainHasManagedSaveImage")?;
    sh.with_dom(r, |d| Ok(d.has_managed_save))
}

pub(crate) fn domain_managed_save_remove(sh: &Shared, r: &DomainRef, flags: u32) -> Result<()> {
    Error::check_flags(flags, 0, "testDomainManagedSaveRemove")?;
    sh.change_dom(r, |_, d, _| {
        d.has_managed_save = false;
        Ok(())
    })
}

pub(crate) fn domain_rename(sh: &Shared, r: &DomainRef, new_name: &str, flags: u32) -> Result<()> {
    Error::check_flags(flags, 0, "testDomainRename")?;
    let taken = || errors::dom_op_invalid(format!("domain with name '{new_name}' already exists"));
    sh.change_dom(r, |obj, d, ev| {
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
        if sh.domains.entry_by_name(new_name).is_some() {
            return Err(taken());
        }
        if new_name.contains('/') {
            return Err(errors::xml(format!("name {new_name} cannot contain '/'")));
        }
        sh.domains.rename(obj, new_name).map_err(|_| taken())?;
        ev.push(lifecycle(d, lc::UNDEFINED, lc::UNDEFINED_RENAMED));
        d.def.name = new_name.to_string();
        ev.push(lifecycle(d, lc::DEFINED, lc::DEFINED_RENAMED));
        Ok(())
    })
}

impl Shared {
    /// Runs `f` on the domain a handle names, under its lock.
    pub(crate) fn with_dom<R>(
        &self,
        r: &DomainRef,
        f: impl FnOnce(&Dom) -> Result<R>,
    ) -> Result<R> {
        let gone = || errors::no_domain_uuid(&r.uuid, &r.name);
        let obj = self.domains.get(&r.uuid).ok_or_else(gone)?;
        let d = obj.lock_live().ok_or_else(gone)?;
        f(&d)
    }

    /// Runs a change on a domain under its lock, and publishes the events
    /// it produced after unlocking.
    pub(crate) fn change_dom<R>(
        &self,
        r: &DomainRef,
        f: impl FnOnce(&DomObj, &mut Dom, &mut Vec<Event>) -> Result<R>,
    ) -> Result<R> {
        let gone = || errors::no_domain_uuid(&r.uuid, &r.name);
        let obj = self.domains.get(&r.uuid).ok_or_else(gone)?;
        let mut events = Vec::new();
        let res = {
            let mut d = obj.lock_live().ok_or_else(gone)?;
            f(&obj, &mut d, &mut events)
        };
        self.publish(events);
        res
    }
}

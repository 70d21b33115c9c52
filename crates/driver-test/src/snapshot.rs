// SPDX-License-Identifier: LGPL-2.1-or-later
//! Domain snapshots and checkpoints as libvirt's test driver keeps them:
//! metadata only (the domain definition at the time, the disks' modes),
//! with the current one, the tree, reverting (state changes and events)
//! and deleting.
//!
//! A domain may have snapshots or checkpoints, never both at once.

use conf::checkpoint::CheckpointDef;
use conf::snapshot::{self, Location, SnapshotDef};
use driver::consts::{lifecycle as lc, state as st};
use driver::error::{ErrorCode, ErrorDomain};
use driver::{DomainRef, Error, Result};

use crate::domain::{lifecycle, shutdown_state, start_state};
use crate::errors;
use crate::load;
use crate::state::{Dom, Shared};
use conf::moment::{snapshot_list as list, snapshot_names, MomentDef};

/// virDomainSnapshotCreateFlags.
mod create {
    pub const REDEFINE: u32 = 1 << 0;
    pub const CURRENT: u32 = 1 << 1;
    pub const HALT: u32 = 1 << 3;
    pub const QUIESCE: u32 = 1 << 6;
    pub const ATOMIC: u32 = 1 << 7;
    pub const LIVE: u32 = 1 << 8;
    pub const VALIDATE: u32 = 1 << 9;
}

/// virDomainSnapshotRevertFlags.
mod revert {
    pub const RUNNING: u32 = 1 << 0;
    pub const PAUSED: u32 = 1 << 1;
    pub const FORCE: u32 = 1 << 2;
}

/// virDomainSnapshotDeleteFlags and virDomainCheckpointDeleteFlags.
mod delete {
    pub const CHILDREN: u32 = 1 << 0;
    pub const METADATA_ONLY: u32 = 1 << 1;
    pub const CHILDREN_ONLY: u32 = 1 << 2;
}

/// Reasons and event details of snapshot state changes.
const SHUTOFF_FROM_SNAPSHOT: i32 = 7;
const RUNNING_FROM_SNAPSHOT: i32 = 4;
const PAUSED_FROM_SNAPSHOT: i32 = 7;
const STOPPED_FROM_SNAPSHOT: i32 = 6;
const STARTED_FROM_SNAPSHOT: i32 = 3;
const SUSPENDED_FROM_SNAPSHOT: i32 = 5;

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// A conf error from `domain`, except the document-level ones, which
/// libvirt's XML reader reports from VIR_FROM_XML.
fn conf_err(e: conf::ConfError, domain: ErrorDomain) -> Error {
    let root =
        e.code == ErrorCode::XmlError && e.detail_text().starts_with("expecting root element");
    errors::conf(e, if root { ErrorDomain::Xml } else { domain })
}

fn snap_conf(e: conf::ConfError) -> Error {
    conf_err(e, ErrorDomain::DomainSnapshot)
}

fn chk_conf(e: conf::ConfError) -> Error {
    conf_err(e, ErrorDomain::DomainCheckpoint)
}

fn no_snapshot(name: &str) -> Error {
    errors::test(
        ErrorCode::NoDomainSnapshot,
        format!("no domain snapshot with matching name '{name}'"),
    )
}

fn no_checkpoint(name: &str) -> Error {
    errors::test(
        ErrorCode::NoDomainCheckpoint,
        format!("no domain checkpoint with matching name '{name}'"),
    )
}

fn snap<'a>(d: &'a Dom, name: &str) -> Result<&'a SnapshotDef> {
    d.snapshots.get(name).ok_or_else(|| no_snapshot(name))
}

fn is_regular_file(p: &str) -> bool {
    std::fs::metadata(p).is_ok_and(|m| m.is_file())
}

const LIST_FLAGS: u32 = list::ROOTS | list::TOPOLOGICAL | list::FILTERS_ALL;

pub(crate) fn num(sh: &Shared, r: &DomainRef, flags: u32) -> Result<i32> {
    Error::check_flags(flags, LIST_FLAGS, "testDomainSnapshotNum")?;
    sh.with_dom(r, |d| {
        Ok(snapshot_names(&d.snapshots, None, flags).len() as i32)
    })
}

pub(crate) fn list(sh: &Shared, r: &DomainRef, flags: u32) -> Result<Vec<String>> {
    Error::check_flags(flags, LIST_FLAGS, "testDomainListAllSnapshots")?;
    sh.with_dom(r, |d| Ok(snapshot_names(&d.snapshots, None, flags)))
}

pub(crate) fn list_children(
    sh: &Shared,
    r: &DomainRef,
    name: &str,
    flags: u32,
) -> Result<Vec<String>> {
    Error::check_flags(flags, LIST_FLAGS, "testDomainSnapshotListAllChildren")?;
    sh.with_dom(r, |d| {
        snap(d, name)?;
        Ok(snapshot_names(&d.snapshots, Some(name), flags))
    })
}

pub(crate) fn lookup_by_name(sh: &Shared, r: &DomainRef, name: &str, flags: u32) -> Result<String> {
    Error::check_flags(flags, 0, "testDomainSnapshotLookupByName")?;
    sh.with_dom(r, |d| Ok(snap(d, name)?.name.clone()))
}

pub(crate) fn has_current(sh: &Shared, r: &DomainRef, flags: u32) -> Result<bool> {
    Error::check_flags(flags, 0, "testDomainHasCurrentSnapshot")?;
    sh.with_dom(r, |d| Ok(d.snapshots.current().is_some()))
}

pub(crate) fn current(sh: &Shared, r: &DomainRef, flags: u32) -> Result<String> {
    Error::check_flags(flags, 0, "testDomainSnapshotCurrent")?;
    sh.with_dom(r, |d| {
        d.snapshots.current().map(str::to_string).ok_or_else(|| {
            errors::test(
                ErrorCode::NoDomainSnapshot,
                "the domain does not have a current snapshot",
            )
        })
    })
}

pub(crate) fn get_parent(sh: &Shared, r: &DomainRef, name: &str, flags: u32) -> Result<String> {
    Error::check_flags(flags, 0, "testDomainSnapshotGetParent")?;
    sh.with_dom(r, |d| {
        let s = snap(d, name)?;
        s.parent.clone().ok_or_else(|| {
            errors::test(
                ErrorCode::NoDomainSnapshot,
                format!("snapshot '{}' does not have a parent", s.name),
            )
        })
    })
}

pub(crate) fn get_xml_desc(sh: &Shared, r: &DomainRef, name: &str, flags: u32) -> Result<String> {
    Error::check_flags(flags, 1, "testDomainSnapshotGetXMLDesc")?;
    sh.with_dom(r, |d| {
        Ok(snap(d, name)?.to_xml(&conf::Uuid(r.uuid).to_string(), flags & 1 != 0))
    })
}

pub(crate) fn is_current(sh: &Shared, r: &DomainRef, name: &str, flags: u32) -> Result<bool> {
    Error::check_flags(flags, 0, "testDomainSnapshotIsCurrent")?;
    sh.with_dom(r, |d| {
        snap(d, name)?;
        Ok(d.snapshots.current() == Some(name))
    })
}

pub(crate) fn has_metadata(sh: &Shared, r: &DomainRef, name: &str, flags: u32) -> Result<bool> {
    Error::check_flags(flags, 0, "testDomainSnapshotHasMetadata")?;
    sh.with_dom(r, |d| snap(d, name).map(|_| true))
}

/// testDomainSnapshotAlignDisks: the snapshot's state and memory from the
/// domain's state, then the disks.
fn align_new(d: &Dom, def: &mut SnapshotDef) -> Result<()> {
    if def.disks.iter().any(|x| x.snapshot == Location::Manual) {
        return Err(errors::test(
            ErrorCode::OperationUnsupported,
            "'manual' snapshot mode is not supported by the test driver",
        ));
    }
    def.state = d.state;
    let align = if def.memory == Location::External {
        Location::External
    } else {
        def.memory = if def.state == snapshot::STATE_SHUTOFF {
            Location::No
        } else {
            Location::Internal
        };
        Location::Internal
    };
    def.align_disks(None, align, true, &is_regular_file)
        .map_err(snap_conf)
}

/// virDomainSnapshotRedefinePrep and the replacement of an existing
/// snapshot of the same name: the name of the snapshot to link.
fn redefine(d: &mut Dom, mut def: SnapshotDef) -> Result<String> {
    d.snapshots.check_cycles(&def)?;
    let other = d.snapshots.get(&def.name).cloned();
    def.check_redefine(&d.def.uuid, other.as_ref())
        .map_err(snap_conf)?;
    let align = if def.state == snapshot::STATE_DISK_SNAPSHOT || def.is_external() {
        Location::External
    } else {
        Location::Internal
    };
    let other_dom = other.as_ref().and_then(|o| o.dom.as_ref());
    def.align_disks(other_dom, align, true, &is_regular_file)
        .map_err(snap_conf)?;
    let name = def.name.clone();
    match other {
        Some(o) => {
            if def.dom.is_none() {
                def.dom = o.dom;
            }
            d.snapshots.replace(def);
        }
        None => d.snapshots.assign(def)?,
    }
    Ok(name)
}

pub(crate) fn create_xml(sh: &Shared, r: &DomainRef, xml: &str, flags: u32) -> Result<String> {
    Error::check_flags(
        flags,
        create::REDEFINE
            | create::CURRENT
            | create::HALT
            | create::QUIESCE
            | create::ATOMIC
            | create::LIVE
            | create::VALIDATE,
        "testDomainSnapshotCreateXML",
    )?;
    let is_redefine = flags & create::REDEFINE != 0;
    let update_current = !is_redefine || flags & create::CURRENT != 0;
    sh.change_dom(r, |obj, d, ev| {
        if !d.checkpoints.is_empty() {
            return Err(errors::test(
                ErrorCode::OperationUnsupported,
                "cannot create snapshot while checkpoint exists",
            ));
        }
        if !d.persistent && flags & create::HALT != 0 {
            return Err(errors::op_invalid(
                "cannot halt after transient domain snapshot",
            ));
        }
        let parsed = snapshot::parse(xml, is_redefine, now_secs()).map_err(snap_conf)?;
        let mut def = parsed.def;
        let name = if is_redefine {
            let parse = |e: &conf::xml::Element| load::parse_domain_element(e, false);
            def.dom = parsed.domain.as_ref().map(parse).transpose()?;
            def.inactive_dom = parsed.inactive_domain.as_ref().map(parse).transpose()?;
            redefine(d, def)?
        } else {
            def.dom = Some(d.def.clone());
            align_new(d, &mut def)?;
            def.parent = d.snapshots.current().map(str::to_string);
            let name = def.name.clone();
            d.snapshots.assign(def)?;
            if flags & create::HALT != 0 && d.is_active() {
                shutdown_state(sh, obj, d, SHUTOFF_FROM_SNAPSHOT);
                ev.push(lifecycle(d, lc::STOPPED, STOPPED_FROM_SNAPSHOT));
            }
            name
        };
        if update_current {
            d.snapshots.set_current(Some(&name));
        }
        d.snapshots.link_parent(&name);
        Ok(name)
    })
}

pub(crate) fn delete(sh: &Shared, r: &DomainRef, name: &str, flags: u32) -> Result<()> {
    Error::check_flags(
        flags,
        delete::CHILDREN | delete::CHILDREN_ONLY,
        "testDomainSnapshotDelete",
    )?;
    sh.change_dom(r, |_, d, _| {
        snap(d, name)?;
        d.snapshots.delete(
            name,
            flags & delete::CHILDREN != 0,
            flags & delete::CHILDREN_ONLY != 0,
        );
        Ok(())
    })
}

pub(crate) fn revert(sh: &Shared, r: &DomainRef, name: &str, flags: u32) -> Result<()> {
    Error::check_flags(
        flags,
        revert::RUNNING | revert::PAUSED | revert::FORCE,
        "testDomainRevertToSnapshot",
    )?;
    sh.change_dom(r, |obj, d, ev| {
        let s = snap(d, name)?.clone();
        let online = s.state == snapshot::STATE_RUNNING || s.state == snapshot::STATE_PAUSED;
        if !d.persistent && !online && flags & (revert::RUNNING | revert::PAUSED) == 0 {
            return Err(errors::op_invalid(
                "transient domain needs to request run or pause to revert to inactive snapshot",
            ));
        }
        let Some(mut config) = s.dom.clone() else {
            return Err(errors::test(
                ErrorCode::SnapshotRevertRisky,
                format!(
                    "snapshot '{}' lacks domain '{}' rollback info",
                    s.name, d.def.name
                ),
            ));
        };
        // The list indexes the domain by its own name and UUID.
        config.name = d.def.name.clone();
        config.uuid = d.def.uuid;
        config.id = None;
        d.snapshots.set_current(None);
        if online {
            if d.is_active() {
                shutdown_state(sh, obj, d, SHUTOFF_FROM_SNAPSHOT);
                ev.push(lifecycle(d, lc::STOPPED, STOPPED_FROM_SNAPSHOT));
            }
            d.def = config;
            d.new_def = None;
            start_state(sh, obj, d, RUNNING_FROM_SNAPSHOT);
            ev.push(lifecycle(d, lc::STARTED, STARTED_FROM_SNAPSHOT));
            if flags & revert::RUNNING == 0
                && (s.state == snapshot::STATE_PAUSED || flags & revert::PAUSED != 0)
            {
                d.state = st::PAUSED;
                d.reason = PAUSED_FROM_SNAPSHOT;
                ev.push(lifecycle(d, lc::SUSPENDED, SUSPENDED_FROM_SNAPSHOT));
            }
        } else {
            if d.is_active() {
                d.new_def = Some(Box::new(config));
                shutdown_state(sh, obj, d, SHUTOFF_FROM_SNAPSHOT);
                ev.push(lifecycle(d, lc::STOPPED, STOPPED_FROM_SNAPSHOT));
            } else {
                d.def = config;
            }
            // libvirt's test driver announces a start it does not carry
            // out: the domain stays shut off.
            if flags & (revert::RUNNING | revert::PAUSED) != 0 {
                ev.push(lifecycle(d, lc::STARTED, STARTED_FROM_SNAPSHOT));
                if flags & revert::PAUSED != 0 {
                    ev.push(lifecycle(d, lc::SUSPENDED, SUSPENDED_FROM_SNAPSHOT));
                }
            }
        }
        d.snapshots.set_current(Some(name));
        Ok(())
    })
}

// ---- checkpoints ----

fn chk<'a>(d: &'a Dom, name: &str) -> Result<&'a CheckpointDef> {
    d.checkpoints.get(name).ok_or_else(|| no_checkpoint(name))
}

pub(crate) fn checkpoint_create_xml(
    sh: &Shared,
    r: &DomainRef,
    xml: &str,
    flags: u32,
) -> Result<String> {
    const REDEFINE: u32 = 1 << 0;
    const QUIESCE: u32 = 1 << 1;
    Error::check_flags(flags, REDEFINE | QUIESCE, "testDomainCheckpointCreateXML")?;
    let is_redefine = flags & REDEFINE != 0;
    sh.change_dom(r, |_, d, _| {
        if !d.snapshots.is_empty() {
            return Err(errors::test(
                ErrorCode::OperationUnsupported,
                "cannot create checkpoint while snapshot exists",
            ));
        }
        if !d.is_active() {
            return Err(errors::test(
                ErrorCode::OperationUnsupported,
                "cannot create checkpoint for inactive domain",
            ));
        }
        let (mut def, dom_el) =
            conf::checkpoint::parse(xml, is_redefine, now_secs()).map_err(chk_conf)?;
        let mut update_current = !is_redefine;
        if is_redefine {
            d.checkpoints.check_cycles(&def)?;
            def.dom = dom_el
                .as_ref()
                .map(|e| load::parse_domain_element(e, false))
                .transpose()?;
            def.prepare_redefine(&d.def.uuid).map_err(chk_conf)?;
            if def.parent.is_some() && def.parent.as_deref() == d.checkpoints.current() {
                update_current = true;
            }
            if d.checkpoints.current().is_none() {
                update_current = true;
            }
            if d.checkpoints.get(&def.name).is_some() {
                d.checkpoints.replace(def.clone());
            } else {
                d.checkpoints.assign(def.clone())?;
            }
        } else {
            def.dom = Some(d.def.clone());
            def.align_disks().map_err(chk_conf)?;
            def.parent = d.checkpoints.current().map(str::to_string);
            d.checkpoints.assign(def.clone())?;
        }
        let name = def.name().to_string();
        if update_current {
            d.checkpoints.set_current(Some(&name));
        }
        d.checkpoints.link_parent(&name);
        Ok(name)
    })
}

const CHK_LIST: u32 = 1 | 2 | 4 | 8;

pub(crate) fn checkpoint_list(sh: &Shared, r: &DomainRef, flags: u32) -> Result<Vec<String>> {
    Error::check_flags(flags, CHK_LIST, "testDomainListAllCheckpoints")?;
    sh.with_dom(r, |d| Ok(d.checkpoints.names(None, flags, &|_| true)))
}

pub(crate) fn checkpoint_list_children(
    sh: &Shared,
    r: &DomainRef,
    name: &str,
    flags: u32,
) -> Result<Vec<String>> {
    Error::check_flags(flags, CHK_LIST, "testDomainCheckpointListAllChildren")?;
    sh.with_dom(r, |d| {
        chk(d, name)?;
        Ok(d.checkpoints.names(Some(name), flags, &|_| true))
    })
}

pub(crate) fn checkpoint_lookup_by_name(
    sh: &Shared,
    r: &DomainRef,
    name: &str,
    flags: u32,
) -> Result<String> {
    Error::check_flags(flags, 0, "testDomainCheckpointLookupByName")?;
    sh.with_dom(r, |d| Ok(chk(d, name)?.name.clone()))
}

pub(crate) fn checkpoint_get_parent(
    sh: &Shared,
    r: &DomainRef,
    name: &str,
    flags: u32,
) -> Result<String> {
    Error::check_flags(flags, 0, "testDomainCheckpointGetParent")?;
    sh.with_dom(r, |d| {
        let c = chk(d, name)?;
        c.parent.clone().ok_or_else(|| {
            errors::test(
                ErrorCode::NoDomainCheckpoint,
                format!("checkpoint '{}' does not have a parent", c.name),
            )
        })
    })
}

pub(crate) fn checkpoint_get_xml_desc(
    sh: &Shared,
    r: &DomainRef,
    name: &str,
    flags: u32,
) -> Result<String> {
    const SECURE: u32 = 1 << 0;
    const NO_DOMAIN: u32 = 1 << 1;
    const SIZE: u32 = 1 << 2;
    Error::check_flags(
        flags,
        SECURE | NO_DOMAIN | SIZE,
        "testDomainCheckpointGetXMLDesc",
    )?;
    sh.with_dom(r, |d| {
        let c = chk(d, name)?;
        if flags & SIZE != 0 && !d.is_active() {
            return Err(errors::not_running());
        }
        Ok(c.to_xml(flags & SECURE != 0, flags & NO_DOMAIN != 0, false))
    })
}

pub(crate) fn checkpoint_delete(sh: &Shared, r: &DomainRef, name: &str, flags: u32) -> Result<()> {
    Error::check_flags(
        flags,
        delete::CHILDREN | delete::METADATA_ONLY | delete::CHILDREN_ONLY,
        "testDomainCheckpointDelete",
    )?;
    sh.change_dom(r, |_, d, _| {
        chk(d, name)?;
        d.checkpoints.delete(
            name,
            flags & delete::CHILDREN != 0,
            flags & delete::CHILDREN_ONLY != 0,
        );
        Ok(())
    })
}

/// A snapshot left in the domain's state `state` (st::*) maps one to one
/// onto snapshot states; kept here so the mapping is stated once.
const _: () = assert!(st::SHUTOFF == snapshot::STATE_SHUTOFF);

// SPDX-License-Identifier: LGPL-2.1-or-later
//! Internal snapshots of QEMU domains (virDomainSnapshot*): of a shut-off
//! domain, `qemu-img snapshot` on each qcow2 disk; of a running one, the
//! whole guest state through the monitor's `savevm` / `loadvm` /
//! `delvm`, as libvirt 9.6 does. The tree, the current snapshot and the
//! listings are conf's moment list; each snapshot's metadata is kept in
//! `SNAPSHOT_DIR/DOMAIN/NAME.xml` (libvirt's format with `<active>`
//! marking the current one) and read again at start-up.
//!
//! External disk-only snapshots put a new qcow2 overlay (made with
//! `qemu-img create -b`) over each disk: in the definition of a shut-off
//! domain, and under a running guest with `blockdev-add` and
//! `blockdev-snapshot`. Reverting to or deleting the data of external
//! snapshots, and the creation flags beyond DISK_ONLY and ATOMIC, are not
//! done yet and get libvirt's unsupported-flags or unsupported-operation
//! errors.

use std::path::PathBuf;

use conf::moment::{snapshot_list, snapshot_names, MomentDef, Moments};
use conf::snapshot::{self, Location, SnapshotDef};
use driver::consts::{lifecycle, state};
use driver::error::{ErrorCode, ErrorDomain};
use driver::{DomainRef, Error, Result};
use serde_json::json;

use crate::state::{dom_ref, Dom, Driver, QEMU};

/// VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY.
const CREATE_DISK_ONLY: u32 = 1 << 4;
/// VIR_DOMAIN_SNAPSHOT_CREATE_ATOMIC.
const CREATE_ATOMIC: u32 = 1 << 7;
/// virDomainSnapshotDeleteFlags.
const DELETE_CHILDREN: u32 = 1 << 0;
const DELETE_METADATA_ONLY: u32 = 1 << 1;
const DELETE_CHILDREN_ONLY: u32 = 1 << 2;
/// virDomainSnapshotRevertFlags.
const REVERT_RUNNING: u32 = 1 << 0;
const REVERT_PAUSED: u32 = 1 << 1;
const REVERT_FORCE: u32 = 1 << 2;
/// VIR_DOMAIN_RUNNING_FROM_SNAPSHOT / VIR_DOMAIN_EVENT_*_FROM_SNAPSHOT.
const RUNNING_FROM_SNAPSHOT: i32 = 4;
const STARTED_FROM_SNAPSHOT: i32 = 3;

const LIST_FLAGS: u32 =
    snapshot_list::ROOTS | snapshot_list::TOPOLOGICAL | snapshot_list::FILTERS_ALL;

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn snap_conf(e: conf::ConfError) -> Error {
    e.in_domain(ErrorDomain::DomainSnapshot)
}

fn no_snapshot(name: &str) -> Error {
    Error::new(
        ErrorCode::NoDomainSnapshot,
        QEMU,
        format!("no domain snapshot with matching name '{name}'"),
    )
}

fn is_regular_file(p: &str) -> bool {
    std::fs::metadata(p).is_ok_and(|m| m.is_file())
}

/// The qcow2 files of a definition's disks (what `qemu-img snapshot`
/// works on), refusing any other disk as libvirt does.
fn qcow2_disks(def: &conf::DomainDef, snap: &SnapshotDef) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for d in def.devices.iter().filter(|d| d.local_name() == "disk") {
        let target = d.child("target").and_then(|t| t.attr("dev")).unwrap_or("");
        let wanted = snap
            .disks
            .iter()
            .find(|s| s.name == target)
            .is_none_or(|s| s.snapshot == Location::Internal);
        if !wanted {
            continue;
        }
        let Some(file) = d
            .child("source")
            .and_then(|s| s.attr("file").or(s.attr("dev")))
        else {
            continue;
        };
        if d.attr("device") == Some("cdrom") || d.child("readonly").is_some() {
            continue;
        }
        let format = d
            .child("driver")
            .and_then(|x| x.attr("type"))
            .unwrap_or("raw");
        if format != "qcow2" {
            return Err(Error::new(
                ErrorCode::ConfigUnsupported,
                QEMU,
                format!(
                    "internal snapshot for disk {target} unsupported for storage type {format}"
                ),
            ));
        }
        out.push(file.to_string());
    }
    Ok(out)
}

/// `qemu-img snapshot OP NAME FILE` on each file.
fn qemu_img(op: &str, name: &str, files: &[String]) -> Result<()> {
    for f in files {
        let out = std::process::Command::new("qemu-img")
            .args(["snapshot", op, name, f])
            .env("LC_ALL", "C")
            .output()
            .map_err(|e| {
                Error::new(
                    ErrorCode::SystemError,
                    QEMU,
                    format!("Cannot run qemu-img: {e}"),
                )
            })?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr).trim().to_string();
            return Err(Error::new(
                ErrorCode::InternalError,
                ErrorDomain::None,
                format!("Child process (qemu-img snapshot {op} {name} {f}) unexpected exit status 1: {err}"),
            ));
        }
    }
    Ok(())
}

/// The domain state a snapshot records (virDomainSnapshotState).
fn snap_state(dom_state: i32) -> i32 {
    match dom_state {
        state::PAUSED => snapshot::STATE_PAUSED,
        state::SHUTOFF => snapshot::STATE_SHUTOFF,
        _ => snapshot::STATE_RUNNING,
    }
}

impl Driver {
    /// Where a domain's snapshot metadata lives.
    fn snapshot_dir(&self, dom_name: &str) -> PathBuf {
        let base = if self.opts.privileged {
            self.opts.lib_dir.join("snapshot")
        } else {
            self.opts.config_dir.join("snapshot")
        };
        base.join(dom_name)
    }

    /// Writes one snapshot's metadata (atomically, mode 0600).
    fn save_snapshot(
        &self,
        dom_name: &str,
        uuid: &str,
        def: &SnapshotDef,
        current: bool,
    ) -> Result<()> {
        let dir = self.snapshot_dir(dom_name);
        let mut xml = def.to_xml(uuid, false);
        let tail = "</domainsnapshot>";
        if let Some(i) = xml.rfind(tail) {
            xml.insert_str(i, &format!("  <active>{}</active>\n", u8::from(current)));
        }
        std::fs::create_dir_all(&dir)
            .map_err(|e| e.to_string())
            .and_then(|()| {
                host::fs::write_atomic(dir.join(format!("{}.xml", def.name)), xml.as_bytes(), 0o600)
                    .map_err(|e| e.to_string())
            })
            .map_err(|e| {
                Error::new(
                    ErrorCode::SystemError,
                    QEMU,
                    format!("failed to save snapshot '{}': {e}", def.name),
                )
            })
    }

    fn save_all_snapshots(&self, st: &crate::state::DomState, uuid: &str) -> Result<()> {
        let current = st.snapshots.current().map(str::to_string);
        for name in st.snapshots.names(None, 0, &|_| true) {
            if let Some(def) = st.snapshots.get(&name) {
                self.save_snapshot(
                    &st.name,
                    uuid,
                    def,
                    current.as_deref() == Some(name.as_str()),
                )?;
            }
        }
        Ok(())
    }

    /// Reads the snapshots of every domain back (at start-up).
    pub(crate) fn load_snapshots(&self) {
        for dom in self.all() {
            let mut st = dom.lock();
            let dir = self.snapshot_dir(&st.name);
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            let mut paths: Vec<PathBuf> = entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "xml"))
                .collect();
            paths.sort();
            let mut current = None;
            for p in paths {
                let Ok(text) = std::fs::read_to_string(&p) else {
                    continue;
                };
                let is_current = text.contains("<active>1</active>");
                let cleaned: String = text
                    .lines()
                    .filter(|l| !l.trim_start().starts_with("<active>"))
                    .collect::<Vec<_>>()
                    .join("\n");
                let parsed = match snapshot::parse(&cleaned, true, now_secs()) {
                    Ok(p) => p,
                    Err(e) => {
                        eprintln!("qemu driver: cannot load {}: {e}", p.display());
                        continue;
                    }
                };
                let mut def = parsed.def;
                def.dom = parsed
                    .domain
                    .as_ref()
                    .and_then(|d| crate::state::live_def(&d.to_libvirt_string(0)).ok());
                let name = def.name.clone();
                if st.snapshots.assign(def).is_ok() && is_current {
                    current = Some(name);
                }
            }
            for name in st.snapshots.names(None, 0, &|_| true) {
                st.snapshots.link_parent(&name);
            }
            st.snapshots.set_current(current.as_deref());
        }
    }

    /// libvirt's undefine rule for snapshots: an inactive domain with
    /// snapshots is undefined only with SNAPSHOTS_METADATA, which drops
    /// their metadata (the images keep their snapshots).
    pub(crate) fn undefine_snapshots(&self, dom: &Dom, drop_metadata: bool) -> Result<()> {
        let mut st = dom.lock();
        if st.live.is_some() || st.snapshots.is_empty() {
            return Ok(());
        }
        if !drop_metadata {
            return Err(Error::operation_invalid(
                QEMU,
                format!(
                    "cannot delete inactive domain with {} snapshots",
                    st.snapshots.len()
                ),
            ));
        }
        st.snapshots = Moments::default();
        let _ = std::fs::remove_dir_all(self.snapshot_dir(&st.name));
        Ok(())
    }

    /// virDomainSnapshotCreateXML.
    pub(crate) fn snapshot_create(&self, r: &DomainRef, xml: &str, flags: u32) -> Result<String> {
        Error::check_flags(
            flags,
            CREATE_DISK_ONLY | CREATE_ATOMIC,
            "qemuDomainSnapshotCreateXML",
        )?;
        let disk_only = flags & CREATE_DISK_ONLY != 0;
        let job = self.begin(r, "virDomainSnapshotCreateXML")?;
        let dom = job.obj().clone();
        let parsed = snapshot::parse(xml, false, now_secs()).map_err(snap_conf)?;
        let mut def = parsed.def;
        let (cur, dom_state, mon, uuid) = {
            let st = dom.lock();
            let cur = st
                .current_def()
                .cloned()
                .ok_or_else(|| Error::internal(QEMU, "domain has no definition"))?;
            if st.snapshots.get(&def.name).is_some() {
                return Err(Error::new(
                    ErrorCode::OperationInvalid,
                    ErrorDomain::DomainSnapshot,
                    format!("domain snapshot '{}' already exists", def.name),
                ));
            }
            (
                cur,
                st.state,
                st.live.as_ref().map(|l| l.mon.clone()),
                cur_uuid(&dom),
            )
        };
        def.dom = Some(cur.clone());
        def.state = snap_state(dom_state);
        if disk_only {
            def.state = snapshot::STATE_DISK_SNAPSHOT;
            def.memory = Location::No;
            def.align_disks(None, Location::External, false, &is_regular_file)
                .map_err(snap_conf)?;
            self.external_disks(&dom, &def, mon.as_ref())?;
            let name = def.name.clone();
            let mut st = dom.lock();
            def.parent = st.snapshots.current().map(str::to_string);
            st.snapshots.assign(def)?;
            st.snapshots.set_current(Some(&name));
            st.snapshots.link_parent(&name);
            self.save_all_snapshots(&st, &uuid)?;
            return Ok(name);
        }
        if def.memory != Location::External {
            def.memory = if def.state == snapshot::STATE_SHUTOFF {
                Location::No
            } else {
                Location::Internal
            };
        }
        def.align_disks(None, Location::Internal, true, &is_regular_file)
            .map_err(snap_conf)?;
        if def.is_external() {
            return Err(Error::new(
                ErrorCode::OperationUnsupported,
                QEMU,
                "external snapshots are not supported by this daemon yet",
            ));
        }
        let files = qcow2_disks(&cur, &def)?;
        match mon {
            None => qemu_img("-c", &def.name, &files)?,
            Some(mon) => {
                let reply = self.hmp(&mon, format!("savevm \"{}\"", def.name))?;
                if reply.contains("Error while creating snapshot")
                    || reply.contains("Could not open VM state file")
                    || reply.contains("State blocked by non-migratable device")
                    || reply.contains("Error: ")
                    || (reply.contains("Error") && reply.contains("while writing VM"))
                {
                    return Err(Error::new(
                        ErrorCode::OperationFailed,
                        QEMU,
                        format!("Failed to take snapshot: {reply}"),
                    ));
                }
                if reply.contains("No block device can accept snapshots") {
                    return Err(Error::operation_invalid(
                        QEMU,
                        "this domain does not have a device to take snapshots",
                    ));
                }
            }
        }
        let name = def.name.clone();
        let mut st = dom.lock();
        def.parent = st.snapshots.current().map(str::to_string);
        st.snapshots.assign(def)?;
        st.snapshots.set_current(Some(&name));
        st.snapshots.link_parent(&name);
        self.save_all_snapshots(&st, &uuid)?;
        Ok(name)
    }

    /// Puts the external snapshot's overlays over the domain's disks:
    /// created with qemu-img over the current images, then switched to
    /// in the running guest (`blockdev-add`, `blockdev-snapshot`) and in
    /// the definitions.
    fn external_disks(
        &self,
        dom: &Dom,
        def: &SnapshotDef,
        mon: Option<&qemu::qmp::Qmp>,
    ) -> Result<()> {
        let cur = def
            .dom
            .clone()
            .ok_or_else(|| Error::internal(QEMU, "missing domain in snapshot"))?;
        let mut plans = Vec::new();
        for sd in def
            .disks
            .iter()
            .filter(|d| d.snapshot == Location::External)
        {
            let Some(disk) = cur.devices.iter().find(|d| {
                d.local_name() == "disk"
                    && d.child("target").and_then(|t| t.attr("dev")) == Some(sd.name.as_str())
            }) else {
                continue;
            };
            let src = disk
                .child("source")
                .and_then(|s| s.attr("file"))
                .ok_or_else(|| {
                    Error::new(
                        ErrorCode::OperationUnsupported,
                        QEMU,
                        format!(
                            "external snapshot of disk '{}' without a file is not supported",
                            sd.name
                        ),
                    )
                })?
                .to_string();
            let overlay = sd.path.clone().unwrap_or_default();
            if std::path::Path::new(&overlay).exists() {
                return Err(Error::new(
                    ErrorCode::ConfigUnsupported,
                    QEMU,
                    format!(
                        "external snapshot file for disk {} already exists and is not a block device: {overlay}",
                        sd.name
                    ),
                ));
            }
            let fmt = disk
                .child("driver")
                .and_then(|x| x.attr("type"))
                .unwrap_or("raw")
                .to_string();
            plans.push((sd.name.clone(), src, fmt, overlay));
        }
        let mut made: Vec<String> = Vec::new();
        let res = (|| {
            for (_, src, fmt, overlay) in &plans {
                let out = std::process::Command::new("qemu-img")
                    .args(["create", "-f", "qcow2", "-F", fmt, "-b", src, overlay])
                    .env("LC_ALL", "C")
                    .output()
                    .map_err(|e| {
                        Error::new(
                            ErrorCode::SystemError,
                            QEMU,
                            format!("Cannot run qemu-img: {e}"),
                        )
                    })?;
                if !out.status.success() {
                    return Err(Error::new(
                        ErrorCode::InternalError,
                        QEMU,
                        format!(
                            "qemu-img create of '{overlay}' failed: {}",
                            String::from_utf8_lossy(&out.stderr).trim()
                        ),
                    ));
                }
                made.push(overlay.clone());
                if let (Some((uid, gid)), true) = (self.run_as(), self.conf.dynamic_ownership) {
                    let owned = crate::process::hand_over(&[overlay.into()], uid, gid)?;
                    let mut st = dom.lock();
                    if let Some(live) = st.live.as_mut() {
                        live.owned.extend(owned);
                    }
                }
            }
            if let Some(mon) = mon {
                for (target, src, _, overlay) in &plans {
                    self.live_overlay(dom, mon, target, src, overlay)?;
                }
            }
            Ok(())
        })();
        if let Err(e) = res {
            for f in &made {
                let _ = std::fs::remove_file(f);
            }
            return Err(e);
        }
        // The definitions now name the overlays.
        let switch = |d: &mut conf::DomainDef| {
            for (target, _, _, overlay) in &plans {
                if let Some(disk) = d.devices.iter_mut().find(|x| {
                    x.local_name() == "disk"
                        && x.child("target").and_then(|t| t.attr("dev")) == Some(target.as_str())
                }) {
                    if let Some(s) = disk.child_mut("source") {
                        s.set_attr("file", overlay);
                    }
                    if let Some(dr) = disk.child_mut("driver") {
                        dr.set_attr("type", "qcow2");
                    }
                }
            }
        };
        let mut st = dom.lock();
        let (state, reason) = (st.state, st.reason);
        if let Some(live) = st.live.as_mut() {
            switch(&mut live.def);
            self.write_status(&live.def, state, reason, live.pid);
        }
        if let Some(p) = st.persistent.as_mut() {
            switch(p);
            let p = p.clone();
            drop(st);
            self.write_config(&p)?;
        }
        Ok(())
    }

    /// Puts the overlay `overlay` over the running guest's disk `target`.
    fn live_overlay(
        &self,
        dom: &Dom,
        mon: &qemu::qmp::Qmp,
        target: &str,
        src: &str,
        overlay: &str,
    ) -> Result<()> {
        let el = {
            let st = dom.lock();
            st.live.as_ref().and_then(|l| {
                l.def
                    .devices
                    .iter()
                    .find(|x| {
                        x.local_name() == "disk"
                            && x.child("target").and_then(|t| t.attr("dev")) == Some(target)
                    })
                    .cloned()
            })
        }
        .ok_or_else(|| Error::internal(QEMU, format!("disk '{target}' not found")))?;
        let alias = match el.child("alias").and_then(|a| a.attr("name")) {
            Some(a) => a.to_string(),
            None => self.disk_alias(dom, &el)?,
        };
        let top = self
            .disk_nodes(mon, &alias, Some(src))?
            .into_iter()
            .next()
            .ok_or_else(|| {
                Error::internal(
                    QEMU,
                    format!("cannot find the block node of disk '{target}'"),
                )
            })?;
        let n = self.next_node_index(mon)?;
        let storage = format!("libvirt-{n}-storage");
        let format = format!("libvirt-{n}-format");
        self.qmp(
            mon,
            "blockdev-add",
            Some(
                json!({"driver": "file", "filename": overlay, "node-name": storage,
                        "auto-read-only": true, "discard": "unmap"}),
            ),
        )?;
        let res = self
            .qmp(
                mon,
                "blockdev-add",
                Some(
                    json!({"node-name": format, "read-only": false, "driver": "qcow2",
                            "file": storage, "backing": null}),
                ),
            )
            .and_then(|_| {
                self.qmp(
                    mon,
                    "blockdev-snapshot",
                    Some(json!({"node": top, "overlay": format})),
                )
            });
        if let Err(e) = res {
            let _ = self.qmp(mon, "blockdev-del", Some(json!({ "node-name": format })));
            let _ = self.qmp(mon, "blockdev-del", Some(json!({ "node-name": storage })));
            return Err(e);
        }
        Ok(())
    }

    /// A human monitor command's text reply.
    fn hmp(&self, mon: &qemu::qmp::Qmp, cmd: String) -> Result<String> {
        let mon = mon.clone();
        let args = json!({ "command-line": cmd });
        match self.block(async move { mon.execute("human-monitor-command", Some(args)).await }) {
            Some(Ok(r)) => Ok(r.ret.as_str().unwrap_or("").to_string()),
            Some(Err(e)) => Err(qemu::probe::qmp_error("human-monitor-command", e)),
            None => Err(Error::new(
                ErrorCode::OperationFailed,
                QEMU,
                "monitor call failed",
            )),
        }
    }

    fn with_snapshots<T>(
        &self,
        r: &DomainRef,
        f: impl FnOnce(&Moments<SnapshotDef>) -> Result<T>,
    ) -> Result<T> {
        let dom = self.get(r)?;
        let st = dom.lock();
        f(&st.snapshots)
    }

    pub(crate) fn snapshot_names(
        &self,
        r: &DomainRef,
        from: Option<&str>,
        flags: u32,
        func: &str,
    ) -> Result<Vec<String>> {
        Error::check_flags(flags, LIST_FLAGS, func)?;
        self.with_snapshots(r, |m| {
            if let Some(f) = from {
                m.get(f).ok_or_else(|| no_snapshot(f))?;
            }
            Ok(snapshot_names(m, from, flags))
        })
    }

    pub(crate) fn snapshot_lookup(&self, r: &DomainRef, name: &str) -> Result<String> {
        self.with_snapshots(r, |m| {
            m.get(name)
                .map(|s| s.name.clone())
                .ok_or_else(|| no_snapshot(name))
        })
    }

    pub(crate) fn snapshot_current(&self, r: &DomainRef) -> Result<Option<String>> {
        self.with_snapshots(r, |m| Ok(m.current().map(str::to_string)))
    }

    pub(crate) fn snapshot_parent(&self, r: &DomainRef, name: &str) -> Result<String> {
        self.with_snapshots(r, |m| {
            let s = m.get(name).ok_or_else(|| no_snapshot(name))?;
            s.parent_name().map(str::to_string).ok_or_else(|| {
                Error::new(
                    ErrorCode::NoDomainSnapshot,
                    QEMU,
                    format!("snapshot '{name}' does not have a parent"),
                )
            })
        })
    }

    pub(crate) fn snapshot_xml(&self, r: &DomainRef, name: &str, secure: bool) -> Result<String> {
        let dom = self.get(r)?;
        let uuid = cur_uuid(&dom);
        let st = dom.lock();
        let s = st.snapshots.get(name).ok_or_else(|| no_snapshot(name))?;
        Ok(s.to_xml(&uuid, secure))
    }

    /// virDomainSnapshotDelete.
    pub(crate) fn snapshot_delete(&self, r: &DomainRef, name: &str, flags: u32) -> Result<()> {
        Error::check_flags(
            flags,
            DELETE_CHILDREN | DELETE_METADATA_ONLY | DELETE_CHILDREN_ONLY,
            "qemuDomainSnapshotDelete",
        )?;
        let job = self.begin(r, "virDomainSnapshotDelete")?;
        let dom = job.obj().clone();
        let (victims, mon, cur, dom_name) = {
            let st = dom.lock();
            st.snapshots.get(name).ok_or_else(|| no_snapshot(name))?;
            let mut v = Vec::new();
            if flags & DELETE_CHILDREN_ONLY == 0 {
                v.push(name.to_string());
            }
            if flags & (DELETE_CHILDREN | DELETE_CHILDREN_ONLY) != 0 {
                v.extend(st.snapshots.descendants(Some(name)));
            }
            let defs: Vec<SnapshotDef> = v
                .iter()
                .filter_map(|n| st.snapshots.get(n).cloned())
                .collect();
            (
                defs,
                st.live.as_ref().map(|l| l.mon.clone()),
                st.current_def().cloned(),
                st.name.clone(),
            )
        };
        if flags & DELETE_METADATA_ONLY == 0 {
            if victims.iter().any(SnapshotDef::is_external) {
                return Err(Error::new(
                    ErrorCode::OperationUnsupported,
                    QEMU,
                    "deletion of external disk snapshots is not supported by this daemon yet",
                ));
            }
            for s in &victims {
                match &mon {
                    Some(mon) => {
                        let reply = self.hmp(mon, format!("delvm \"{}\"", s.name))?;
                        if reply.contains("No block device supports snapshots") {
                            return Err(Error::operation_invalid(
                                QEMU,
                                "this domain does not have a device to delete snapshots",
                            ));
                        }
                        if reply.contains("Snapshots not supported on device") {
                            return Err(Error::operation_invalid(QEMU, reply));
                        }
                        if reply.contains("Error: ")
                            || (reply.contains("Error")
                                && reply.contains("while deleting snapshot"))
                        {
                            return Err(Error::new(
                                ErrorCode::OperationFailed,
                                QEMU,
                                format!("Failed to delete snapshot: {reply}"),
                            ));
                        }
                    }
                    None => {
                        let def = s.dom.as_ref().or(cur.as_ref());
                        if let Some(def) = def {
                            qemu_img("-d", &s.name, &qcow2_disks(def, s)?)?;
                        }
                    }
                }
            }
        }
        let uuid = cur_uuid(&dom);
        let mut st = dom.lock();
        st.snapshots.delete(
            name,
            flags & DELETE_CHILDREN != 0,
            flags & DELETE_CHILDREN_ONLY != 0,
        );
        let dir = self.snapshot_dir(&dom_name);
        for s in &victims {
            let _ = std::fs::remove_file(dir.join(format!("{}.xml", s.name)));
        }
        self.save_all_snapshots(&st, &uuid)?;
        Ok(())
    }

    /// virDomainRevertToSnapshot: a running guest to a snapshot of a
    /// running guest (`loadvm`), a shut-off domain to a shut-off snapshot
    /// (`qemu-img snapshot -a` and the definition of then).
    pub(crate) fn snapshot_revert(&self, r: &DomainRef, name: &str, flags: u32) -> Result<()> {
        Error::check_flags(
            flags,
            REVERT_RUNNING | REVERT_PAUSED | REVERT_FORCE,
            "qemuDomainRevertToSnapshot",
        )?;
        let job = self.begin(r, "virDomainRevertToSnapshot")?;
        let dom = job.obj().clone();
        let (s, mon) = {
            let st = dom.lock();
            let s = st
                .snapshots
                .get(name)
                .cloned()
                .ok_or_else(|| no_snapshot(name))?;
            (s, st.live.as_ref().map(|l| l.mon.clone()))
        };
        if s.is_external() || s.state == snapshot::STATE_DISK_SNAPSHOT {
            return Err(Error::new(
                ErrorCode::OperationUnsupported,
                QEMU,
                "revert to external snapshot is not supported by this daemon yet",
            ));
        }
        let online = s.state != snapshot::STATE_SHUTOFF;
        match (&mon, online) {
            (Some(mon), true) => {
                let _ = self.qmp_simple(mon, "stop");
                let reply = self.hmp(mon, format!("loadvm \"{}\"", s.name))?;
                if reply.contains("Error") || reply.contains("error") {
                    return Err(Error::new(
                        ErrorCode::OperationFailed,
                        QEMU,
                        format!("Failed to load snapshot: {reply}"),
                    ));
                }
                let paused = flags & REVERT_PAUSED != 0
                    || (flags & REVERT_RUNNING == 0 && s.state == snapshot::STATE_PAUSED);
                if !paused {
                    self.qmp_simple(mon, "cont")?;
                }
                let mut st = dom.lock();
                if paused {
                    st.state = state::PAUSED;
                    st.reason = 7;
                } else {
                    st.state = state::RUNNING;
                    st.reason = RUNNING_FROM_SNAPSHOT;
                }
            }
            (None, false) => {
                let def = s
                    .dom
                    .clone()
                    .ok_or_else(|| Error::internal(QEMU, "snapshot lacks its domain definition"))?;
                qemu_img("-a", &s.name, &qcow2_disks(&def, &s)?)?;
                if flags & (REVERT_RUNNING | REVERT_PAUSED) != 0 {
                    drop(job);
                    let r2 = dom_ref(&dom);
                    self.start(&r2, flags & REVERT_PAUSED != 0)?;
                    self.emit(dom_ref(&dom), lifecycle::STARTED, STARTED_FROM_SNAPSHOT);
                }
            }
            _ => {
                return Err(Error::new(
                    ErrorCode::OperationUnsupported,
                    QEMU,
                    "reverting between a running and a shut-off state is not supported by this daemon yet",
                ));
            }
        }
        let uuid = cur_uuid(&dom);
        let mut st = dom.lock();
        st.snapshots.set_current(Some(name));
        self.save_all_snapshots(&st, &uuid)?;
        Ok(())
    }

    fn qmp_simple(&self, mon: &qemu::qmp::Qmp, cmd: &'static str) -> Result<()> {
        let mon = mon.clone();
        match self.block(async move { mon.execute(cmd, None).await }) {
            Some(Ok(_)) => Ok(()),
            Some(Err(e)) => Err(qemu::probe::qmp_error(cmd, e)),
            None => Err(Error::new(
                ErrorCode::OperationFailed,
                QEMU,
                "monitor call failed",
            )),
        }
    }
}

fn cur_uuid(dom: &Dom) -> String {
    conf::Uuid(*dom.uuid()).to_string()
}

// SPDX-License-Identifier: LGPL-2.1-or-later
//! Checkpoints of QEMU domains (virDomainCheckpoint*): creating one on a
//! running guest adds a persistent dirty bitmap named after it to each of
//! its qcow2 disks (`block-dirty-bitmap-add` in one `transaction`), so the
//! image records every block written from then on; deleting it removes
//! the bitmaps (`block-dirty-bitmap-remove`). A redefinition only records
//! metadata. The tree and the current checkpoint are conf's moment list;
//! each checkpoint's metadata is kept in `CHECKPOINT_DIR/DOMAIN/NAME.xml`
//! (libvirt's format) and read again at start-up.

use std::path::PathBuf;

use conf::checkpoint::CheckpointDef;
use conf::moment::MomentDef;
use driver::error::{ErrorCode, ErrorDomain};
use driver::{DomainRef, Error, Result};
use serde_json::{json, Value};

use crate::state::{Driver, QEMU};

/// virDomainCheckpointCreateFlags.
const CREATE_REDEFINE: u32 = 1 << 0;
const CREATE_REDEFINE_VALIDATE: u32 = 1 << 2;
/// virDomainCheckpointListFlags.
const LIST_FLAGS: u32 = 1 | 2 | 4 | 8;
/// virDomainCheckpointDeleteFlags.
const DELETE_CHILDREN: u32 = 1 << 0;
const DELETE_METADATA_ONLY: u32 = 1 << 1;
const DELETE_CHILDREN_ONLY: u32 = 1 << 2;
/// virDomainCheckpointXMLFlags.
const XML_SECURE: u32 = 1 << 0;
const XML_NO_DOMAIN: u32 = 1 << 1;

fn no_checkpoint(name: &str) -> Error {
    Error::new(
        ErrorCode::NoDomainCheckpoint,
        QEMU,
        format!("no domain checkpoint with matching name '{name}'"),
    )
}

fn chk_conf(e: conf::ConfError) -> Error {
    e.in_domain(ErrorDomain::DomainCheckpoint)
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

impl Driver {
    /// Where a domain's checkpoint metadata lives.
    fn checkpoint_dir(&self, dom_name: &str) -> PathBuf {
        let base = if self.opts.privileged {
            self.opts.lib_dir.join("checkpoint")
        } else {
            self.opts.config_dir.join("checkpoint")
        };
        base.join(dom_name)
    }

    /// Writes one checkpoint's metadata (atomically, mode 0600).
    fn save_checkpoint(&self, dom_name: &str, def: &CheckpointDef) -> Result<()> {
        let dir = self.checkpoint_dir(dom_name);
        let xml = def.to_xml(false, false, false);
        std::fs::create_dir_all(&dir)
            .map_err(|e| e.to_string())
            .and_then(|()| {
                host::fs::write_atomic(dir.join(format!("{}.xml", def.name)), xml.as_bytes(), 0o600)
                    .map_err(|e| e.to_string())
            })
            .map_err(|e| {
                Error::new(
                    ErrorCode::OperationFailed,
                    QEMU,
                    format!("unable to save metadata for checkpoint {}: {e}", def.name),
                )
            })
    }

    /// Reads the checkpoints of every domain back (at start-up); the
    /// current one is the newest leaf that was current, i.e. the last
    /// created.
    pub(crate) fn load_checkpoints(&self) {
        for dom in self.all() {
            let mut st = dom.lock();
            let dir = self.checkpoint_dir(&st.name);
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            let mut defs = Vec::new();
            for p in entries.flatten().map(|e| e.path()) {
                if p.extension().is_none_or(|e| e != "xml") {
                    continue;
                }
                let Ok(text) = std::fs::read_to_string(&p) else {
                    continue;
                };
                match conf::checkpoint::parse(&text, true, now_secs()) {
                    Ok((mut def, dom_el)) => {
                        def.dom = dom_el
                            .as_ref()
                            .and_then(|d| crate::state::live_def(&d.to_libvirt_string(0)).ok());
                        defs.push(def);
                    }
                    Err(e) => crate::state::log(format!("cannot load {}: {e}", p.display())),
                }
            }
            defs.sort_by_key(|d| d.creation_time);
            let newest = defs.last().map(|d| d.name.clone());
            for def in defs {
                let _ = st.checkpoints.assign(def);
            }
            for name in st.checkpoints.names(None, 0, &|_| true) {
                st.checkpoints.link_parent(&name);
            }
            st.checkpoints.set_current(newest.as_deref());
        }
    }

    /// virDomainCheckpointCreateXML.
    pub(crate) fn checkpoint_create(&self, r: &DomainRef, xml: &str, flags: u32) -> Result<String> {
        // QEMU's checkpoints take no QUIESCE: C's unsupported-flags error.
        Error::check_flags(
            flags,
            CREATE_REDEFINE | CREATE_REDEFINE_VALIDATE,
            "qemuCheckpointCreateXML",
        )?;
        let redefine = flags & CREATE_REDEFINE != 0;
        let dom = self.get(r)?;
        let running = dom.lock().live.is_some();
        if !redefine && !running {
            return Err(Error::new(
                ErrorCode::OperationUnsupported,
                QEMU,
                "cannot create checkpoint for inactive domain",
            ));
        }
        let (mut def, dom_el) =
            conf::checkpoint::parse(xml, redefine, now_secs()).map_err(chk_conf)?;
        let _job = self.begin(r, "virDomainCheckpointCreateXML")?;
        if redefine {
            let uuid = {
                let st = dom.lock();
                st.live
                    .as_ref()
                    .map(|l| l.def.uuid)
                    .or_else(|| st.persistent.as_ref().map(|p| p.uuid))
            };
            def.dom = dom_el
                .as_ref()
                .map(|e| crate::state::live_def(&e.to_libvirt_string(0)))
                .transpose()?;
            if let Some(u) = uuid {
                def.prepare_redefine(&u).map_err(chk_conf)?;
            }
            let mut st = dom.lock();
            st.checkpoints.check_cycles(&def)?;
            let update_current = st.checkpoints.current().is_none()
                || (def.parent.is_some() && def.parent.as_deref() == st.checkpoints.current());
            if st.checkpoints.get(&def.name).is_some() {
                st.checkpoints.replace(def.clone());
            } else {
                st.checkpoints.assign(def.clone())?;
            }
            let name = def.name.clone();
            st.checkpoints.link_parent(&name);
            if update_current {
                st.checkpoints.set_current(Some(&name));
            }
            let dom_name = st.name.clone();
            drop(st);
            self.save_checkpoint(&dom_name, &def)?;
            return Ok(name);
        }
        let (live_def, mon) = {
            let st = dom.lock();
            let live = st.live.as_ref().ok_or_else(crate::process::not_running)?;
            if st.checkpoints.get(&def.name).is_some() {
                return Err(Error::new(
                    ErrorCode::OperationFailed,
                    ErrorDomain::Domain,
                    format!("domain moment {} already exists", def.name),
                ));
            }
            (live.def.clone(), live.mon.clone())
        };
        def.dom = Some(live_def.clone());
        def.align_disks().map_err(chk_conf)?;
        let mut actions = Vec::new();
        for d in &def.disks {
            if d.kind.as_deref() != Some("bitmap") {
                continue;
            }
            if d.bitmap.as_deref() != Some(def.name.as_str()) {
                return Err(Error::new(
                    ErrorCode::ConfigUnsupported,
                    QEMU,
                    format!(
                        "bitmap for disk '{}' must match checkpoint name '{}'",
                        d.name, def.name
                    ),
                ));
            }
            let el = crate::hotplug::disk_index(&live_def, &d.name, false)
                .and_then(|i| live_def.devices.get(i))
                .ok_or_else(|| Error::internal(QEMU, format!("disk '{}' not found", d.name)))?;
            let fmt = el
                .child("driver")
                .and_then(|x| x.attr("type"))
                .unwrap_or("raw");
            if fmt != "qcow2" {
                return Err(Error::new(
                    ErrorCode::ConfigUnsupported,
                    QEMU,
                    format!(
                        "checkpoint for disk {} unsupported for storage type {fmt}",
                        d.name
                    ),
                ));
            }
            let src = el
                .child("source")
                .and_then(|s| s.attr("file").or(s.attr("dev")))
                .map(str::to_string);
            let alias = match el.child("alias").and_then(|a| a.attr("name")) {
                Some(a) => a.to_string(),
                None => self.disk_alias(&dom, el)?,
            };
            let node = self
                .disk_nodes(&mon, &alias, src.as_deref())?
                .into_iter()
                .next()
                .ok_or_else(|| {
                    Error::internal(
                        QEMU,
                        format!("cannot find the block node of disk '{}'", d.name),
                    )
                })?;
            actions.push(json!({
                "type": "block-dirty-bitmap-add",
                "data": {"node": node, "name": def.name, "persistent": true},
            }));
        }
        if !actions.is_empty() {
            self.qmp(&mon, "transaction", Some(json!({ "actions": actions })))?;
        }
        let mut st = dom.lock();
        def.parent = st.checkpoints.current().map(str::to_string);
        st.checkpoints.assign(def.clone())?;
        let name = def.name.clone();
        st.checkpoints.link_parent(&name);
        st.checkpoints.set_current(Some(&name));
        let dom_name = st.name.clone();
        drop(st);
        self.save_checkpoint(&dom_name, &def)?;
        Ok(name)
    }

    fn with_checkpoints<T>(
        &self,
        r: &DomainRef,
        f: impl FnOnce(&conf::moment::Moments<CheckpointDef>) -> Result<T>,
    ) -> Result<T> {
        let dom = self.get(r)?;
        let st = dom.lock();
        f(&st.checkpoints)
    }

    /// virDomainListAllCheckpoints / virDomainCheckpointListAllChildren.
    pub(crate) fn checkpoint_names(
        &self,
        r: &DomainRef,
        from: Option<&str>,
        flags: u32,
        func: &str,
    ) -> Result<Vec<String>> {
        Error::check_flags(flags, LIST_FLAGS, func)?;
        self.with_checkpoints(r, |m| {
            if let Some(f) = from {
                m.get(f).ok_or_else(|| no_checkpoint(f))?;
            }
            Ok(m.names(from, flags, &|_| true))
        })
    }

    pub(crate) fn checkpoint_lookup(
        &self,
        r: &DomainRef,
        name: &str,
        flags: u32,
    ) -> Result<String> {
        Error::check_flags(flags, 0, "qemuDomainCheckpointLookupByName")?;
        self.with_checkpoints(r, |m| {
            m.get(name)
                .map(|c| c.name().to_string())
                .ok_or_else(|| no_checkpoint(name))
        })
    }

    pub(crate) fn checkpoint_parent(
        &self,
        r: &DomainRef,
        name: &str,
        flags: u32,
    ) -> Result<String> {
        Error::check_flags(flags, 0, "qemuDomainCheckpointGetParent")?;
        self.with_checkpoints(r, |m| {
            let c = m.get(name).ok_or_else(|| no_checkpoint(name))?;
            c.parent.clone().ok_or_else(|| {
                Error::new(
                    ErrorCode::NoDomainCheckpoint,
                    QEMU,
                    format!("checkpoint '{name}' does not have a parent"),
                )
            })
        })
    }

    pub(crate) fn checkpoint_xml(&self, r: &DomainRef, name: &str, flags: u32) -> Result<String> {
        Error::check_flags(
            flags,
            XML_SECURE | XML_NO_DOMAIN,
            "qemuCheckpointGetXMLDesc",
        )?;
        self.with_checkpoints(r, |m| {
            let c = m.get(name).ok_or_else(|| no_checkpoint(name))?;
            Ok(c.to_xml(flags & XML_SECURE != 0, flags & XML_NO_DOMAIN != 0, false))
        })
    }

    /// virDomainCheckpointDelete: the checkpoints' bitmaps go from the
    /// running guest's disks (unless METADATA_ONLY), then their metadata.
    pub(crate) fn checkpoint_delete(&self, r: &DomainRef, name: &str, flags: u32) -> Result<()> {
        Error::check_flags(
            flags,
            DELETE_CHILDREN | DELETE_METADATA_ONLY | DELETE_CHILDREN_ONLY,
            "qemuCheckpointDelete",
        )?;
        let dom = self.get(r)?;
        let _job = self.begin(r, "virDomainCheckpointDelete")?;
        let (victims, mon, dom_name) = {
            let st = dom.lock();
            st.checkpoints
                .get(name)
                .ok_or_else(|| no_checkpoint(name))?;
            let mut v = Vec::new();
            if flags & DELETE_CHILDREN_ONLY == 0 {
                v.push(name.to_string());
            }
            if flags & (DELETE_CHILDREN | DELETE_CHILDREN_ONLY) != 0 {
                v.extend(st.checkpoints.descendants(Some(name)));
            }
            let v: Vec<CheckpointDef> = v
                .iter()
                .filter_map(|n| st.checkpoints.get(n).cloned())
                .collect();
            (v, st.live.as_ref().map(|l| l.mon.clone()), st.name.clone())
        };
        if flags & DELETE_METADATA_ONLY == 0 {
            let Some(mon) = mon else {
                return Err(Error::new(
                    ErrorCode::OperationUnsupported,
                    QEMU,
                    "cannot delete checkpoint for inactive domain",
                ));
            };
            let nodes = self.qmp(&mon, "query-named-block-nodes", None)?;
            let mut actions = Vec::new();
            for c in &victims {
                for n in bitmap_nodes(&nodes, &c.name) {
                    actions.push(json!({
                        "type": "block-dirty-bitmap-remove",
                        "data": {"node": n, "name": c.name},
                    }));
                }
            }
            if !actions.is_empty() {
                self.qmp(&mon, "transaction", Some(json!({ "actions": actions })))?;
            }
        }
        let mut st = dom.lock();
        st.checkpoints.delete(
            name,
            flags & DELETE_CHILDREN != 0,
            flags & DELETE_CHILDREN_ONLY != 0,
        );
        for c in &victims {
            let _ = std::fs::remove_file(
                self.checkpoint_dir(&dom_name)
                    .join(format!("{}.xml", c.name)),
            );
        }
        // Children that stay were re-parented: their metadata follows.
        let rest: Vec<CheckpointDef> = st
            .checkpoints
            .names(None, 0, &|_| true)
            .iter()
            .filter_map(|n| st.checkpoints.get(n).cloned())
            .collect();
        drop(st);
        for c in rest {
            self.save_checkpoint(&dom_name, &c)?;
        }
        Ok(())
    }
}

/// The format nodes holding the dirty bitmap `name`.
pub(crate) fn bitmap_nodes(nodes: &Value, name: &str) -> Vec<String> {
    nodes
        .as_array()
        .into_iter()
        .flatten()
        .filter(|n| {
            n.get("dirty-bitmaps")
                .and_then(Value::as_array)
                .is_some_and(|b| {
                    b.iter()
                        .any(|b| b.get("name").and_then(Value::as_str) == Some(name))
                })
        })
        .filter_map(|n| {
            n.get("node-name")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .collect()
}

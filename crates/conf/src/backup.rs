// SPDX-License-Identifier: LGPL-2.1-or-later
//! Domain backup job XML (`<domainbackup>`), as used by
//! virDomainBackupBegin / virDomainBackupGetXMLDesc.
//!
//! Parse → [`BackupDef::align_disks`] (fill per-disk defaults from the
//! domain's disks) → format. The `internal` flag selects the status-file
//! variant with per-disk job state and private data.

use crate::error::{ConfError, CONFIG_UNSUPPORTED};
use crate::xml::{self, Element};

/// A disk of the domain the backup is aligned against.
#[derive(Debug, Clone)]
pub struct BackupDomainDisk {
    /// Target name (`vda`).
    pub dst: String,
    /// Source path (empty for a disk without media).
    pub path: String,
    /// Image format.
    pub format: String,
}

/// One `<disk>` of a backup.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BackupDiskDef {
    /// Domain disk target name.
    pub name: String,
    /// Whether this disk is backed up.
    pub backup: bool,
    /// `full` or `incremental`, when known.
    pub backupmode: Option<String>,
    /// Checkpoint to start from.
    pub incremental: Option<String>,
    /// NBD export name (pull mode).
    pub exportname: Option<String>,
    /// NBD export bitmap (pull mode).
    pub exportbitmap: Option<String>,
    /// Job state (internal XML only).
    pub state: Option<String>,
    /// Storage type of the target/scratch: `file` or `block`.
    pub store_type: String,
    /// `<driver type>`.
    pub store_format: Option<String>,
    /// Node index (internal XML only).
    pub index: Option<u32>,
    /// The `<target>` (push) or `<scratch>` (pull) element.
    pub store: Option<Element>,
}

/// A backup job definition.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BackupDef {
    /// `push` or `pull`.
    pub mode: String,
    /// Checkpoint the whole backup is incremental from.
    pub incremental: Option<String>,
    /// `<server>` attributes in order (pull mode).
    pub server: Option<Element>,
    /// Disks.
    pub disks: Vec<BackupDiskDef>,
    /// TLS secret alias (internal).
    pub tls_secret_alias: Option<String>,
    /// TLS object alias (internal).
    pub tls_alias: Option<String>,
}

const STATES: &[&str] = &["running", "complete", "failed", "cancelling", "cancelled"];

impl BackupDef {
    /// Parses `<domainbackup>`; `internal` is VIR_DOMAIN_BACKUP_PARSE_INTERNAL.
    pub fn parse_str(text: &str, internal: bool) -> Result<BackupDef, ConfError> {
        let root = xml::parse_document(text, "(domain_backup)", "domainbackup")?;
        let mode = root.attr("mode").unwrap_or("push").to_string();
        if mode != "push" && mode != "pull" {
            return Err(ConfError::new(
                CONFIG_UNSUPPORTED,
                format!("unknown backup mode '{mode}'"),
            ));
        }
        let push = mode == "push";
        let mut def = BackupDef {
            mode,
            incremental: root.child_text("incremental"),
            ..Default::default()
        };
        if let Some(s) = root.child("server") {
            if push {
                return Err(ConfError::new(
                    CONFIG_UNSUPPORTED,
                    "use of <server> requires pull mode backup",
                ));
            }
            let transport = s.attr("transport").unwrap_or("tcp");
            if transport == "rdma" {
                return Err(ConfError::new(
                    CONFIG_UNSUPPORTED,
                    "transport rdma is not supported for <server>",
                ));
            }
            if transport != "tcp" && transport != "unix" {
                return Err(ConfError::new(
                    CONFIG_UNSUPPORTED,
                    format!("unknown protocol transport type '{transport}'"),
                ));
            }
            let mut e = Element::new("server").with_attr("transport", transport);
            if let Some(t) = s.attr("tls") {
                if t != "yes" && t != "no" {
                    return Err(ConfError::xml_layer(format!(
                        "Invalid value for attribute 'tls' in element 'server': '{t}'"
                    )));
                }
                e.set_attr("tls", t);
            }
            if let Some(n) = s.attr("name") {
                e.set_attr("name", n);
            }
            if let Some(p) = s.attr("port") {
                e.set_attr("port", p);
            }
            if let Some(sock) = s.attr("socket") {
                if transport == "unix" && !sock.starts_with('/') {
                    return Err(ConfError::xml(format!(
                        "backup socket path '{sock}' must be absolute"
                    )));
                }
                e.set_attr("socket", sock);
            }
            def.server = Some(e);
        }
        if let Some(disks) = root.child("disks") {
            for d in disks.elements() {
                def.disks.push(parse_disk(d, push, internal)?);
            }
        }
        if internal {
            if let Some(objs) = root.child("privateData").and_then(|p| p.child("objects")) {
                def.tls_secret_alias = objs
                    .children_named("secret")
                    .find(|s| s.attr("type") == Some("tlskey"))
                    .and_then(|s| s.attr("alias"))
                    .map(str::to_string);
                def.tls_alias = objs
                    .child("TLSx509")
                    .and_then(|t| t.attr("alias"))
                    .map(str::to_string);
            }
        }
        Ok(def)
    }

    /// virDomainBackupAlignDisks: checks the requested disks against the
    /// domain's and adds every other domain disk (backed up only when the
    /// request named none). Generated store paths are `PATH.SUFFIX`.
    pub fn align_disks(
        &mut self,
        disks: &[BackupDomainDisk],
        suffix: &str,
    ) -> Result<(), ConfError> {
        let unsupported = |m: String| ConfError::new(CONFIG_UNSUPPORTED, m);
        if disks.is_empty() {
            return Err(unsupported(
                "domain must have at least one disk to perform backup".into(),
            ));
        }
        let mut seen: Vec<String> = Vec::new();
        let push = self.mode == "push";
        for bd in self.disks.iter_mut() {
            let dom = disks
                .iter()
                .find(|d| d.dst == bd.name)
                .ok_or_else(|| unsupported(format!("no disk named '{}'", bd.name)))?;
            if seen.contains(&bd.name) {
                return Err(unsupported(format!("disk '{}' specified twice", bd.name)));
            }
            seen.push(bd.name.clone());
            if bd.backupmode.as_deref() == Some("incremental")
                && bd.incremental.is_none()
                && self.incremental.is_none()
            {
                return Err(unsupported(format!(
                    "'incremental' backup mode of disk '{}' requires setting 'incremental' field for disk or backup",
                    bd.name
                )));
            }
            if bd.backup {
                assign_store(bd, dom, suffix, push)?;
            }
        }
        let backup_all = self.disks.is_empty();
        for d in disks {
            if seen.contains(&d.dst) {
                continue;
            }
            let mut bd = BackupDiskDef {
                name: d.dst.clone(),
                store_type: "file".into(),
                ..Default::default()
            };
            if backup_all && !d.path.is_empty() {
                bd.backup = true;
                assign_store(&mut bd, d, suffix, push)?;
            }
            self.disks.push(bd);
        }
        for bd in self.disks.iter_mut() {
            if !bd.backup {
                continue;
            }
            if bd.backupmode.is_none() {
                let inc = self.incremental.is_some() || bd.incremental.is_some();
                bd.backupmode = Some(if inc { "incremental" } else { "full" }.into());
            }
            if bd.incremental.is_none() && bd.backupmode.as_deref() == Some("incremental") {
                bd.incremental = self.incremental.clone();
            }
        }
        Ok(())
    }

    /// Formats as virDomainBackupDefFormat.
    pub fn to_xml(&self, internal: bool) -> String {
        let mut root = Element::new("domainbackup").with_attr("mode", &self.mode);
        if let Some(i) = &self.incremental {
            root.push(Element::new("incremental").with_text(i));
        }
        if let Some(s) = &self.server {
            root.push(s.clone());
        }
        let push = self.mode == "push";
        let mut disks = Element::new("disks");
        for d in &self.disks {
            let mut e = Element::new("disk")
                .with_attr("name", &d.name)
                .with_attr("backup", if d.backup { "yes" } else { "no" });
            if internal {
                if let Some(s) = &d.state {
                    e.set_attr("state", s);
                }
            }
            if d.backup {
                e.set_attr("type", &d.store_type);
                if let Some(m) = &d.backupmode {
                    e.set_attr("backupmode", m);
                }
                for (k, v) in [
                    ("incremental", &d.incremental),
                    ("exportname", &d.exportname),
                    ("exportbitmap", &d.exportbitmap),
                ] {
                    if let Some(v) = v {
                        e.set_attr(k, v);
                    }
                }
                if let Some(i) = d.index.filter(|_| internal) {
                    e.set_attr("index", &i.to_string());
                }
                if let Some(f) = &d.store_format {
                    e.push(Element::new("driver").with_attr("type", f));
                }
                if let Some(s) = &d.store {
                    let mut s = s.clone();
                    s.name = if push { "target" } else { "scratch" }.into();
                    e.push(s);
                }
            }
            disks.push(e);
        }
        if !disks.children.is_empty() {
            root.push(disks);
        }
        if internal {
            let mut objs = Element::new("objects");
            if let Some(a) = &self.tls_secret_alias {
                objs.push(
                    Element::new("secret")
                        .with_attr("type", "tlskey")
                        .with_attr("alias", a),
                );
            }
            if let Some(a) = &self.tls_alias {
                objs.push(Element::new("TLSx509").with_attr("alias", a));
            }
            if !objs.children.is_empty() {
                root.push(Element::new("privateData").with_child(objs));
            }
        }
        root.to_libvirt_string(0)
    }
}

fn assign_store(
    bd: &mut BackupDiskDef,
    dom: &BackupDomainDisk,
    suffix: &str,
    push: bool,
) -> Result<(), ConfError> {
    if dom.path.is_empty() && bd.store.is_some() {
        return Err(ConfError::new(
            CONFIG_UNSUPPORTED,
            format!("disk '{}' has no media", bd.name),
        ));
    }
    let empty = match &bd.store {
        None => true,
        Some(s) => s.attr("file").is_none() && s.attr("dev").is_none(),
    };
    if empty {
        let path = format!("{}.{}", dom.path, suffix);
        bd.store_type = "file".into();
        let mut s = bd
            .store
            .take()
            .unwrap_or_else(|| Element::new(if push { "target" } else { "scratch" }));
        s.attrs.retain(|(k, _)| k != "file" && k != "dev");
        s.attrs.insert(0, ("file".into(), path));
        bd.store = Some(s);
    }
    Ok(())
}

fn parse_disk(d: &Element, push: bool, internal: bool) -> Result<BackupDiskDef, ConfError> {
    let name = d
        .attr("name")
        .ok_or_else(|| ConfError::xml("missing name from disk backup element"))?
        .to_string();
    let backup = match d.attr("backup") {
        None | Some("yes") => true,
        Some("no") => false,
        Some(v) => {
            return Err(ConfError::xml_layer(format!(
                "Invalid value for attribute 'backup' in element 'disk': '{v}'. Expected one of 'yes', 'no'"
            )))
        }
    };
    let mut bd = BackupDiskDef {
        name,
        backup,
        store_type: "file".into(),
        ..Default::default()
    };
    if !backup {
        return Ok(bd);
    }
    if !push {
        bd.exportname = d.attr("exportname").map(str::to_string);
        bd.exportbitmap = d.attr("exportbitmap").map(str::to_string);
    }
    if let Some(m) = d.attr("backupmode") {
        if m != "full" && m != "incremental" {
            return Err(ConfError::xml_layer(format!(
                "Invalid value for attribute 'backupmode' in element 'disk': '{m}'"
            )));
        }
        bd.backupmode = Some(m.to_string());
    }
    bd.incremental = d.attr("incremental").map(str::to_string);
    if internal {
        let s = d.attr("state").ok_or_else(|| {
            ConfError::xml_layer("Missing required attribute 'state' in element 'disk'")
        })?;
        if !STATES.contains(&s) {
            return Err(ConfError::xml_layer(format!(
                "Invalid value for attribute 'state' in element 'disk': '{s}'"
            )));
        }
        bd.state = Some(s.to_string());
        bd.index = d.attr("index").and_then(|i| i.parse().ok());
    }
    let ty = d.attr("type").unwrap_or("file");
    if !matches!(
        ty,
        "file" | "block" | "dir" | "network" | "volume" | "nvme" | "vhostuser" | "vhostvdpa"
    ) {
        return Err(ConfError::xml(format!(
            "unknown storage source type '{ty}'"
        )));
    }
    if ty != "file" && ty != "block" {
        return Err(ConfError::xml(format!(
            "unsupported disk backup type '{ty}'"
        )));
    }
    bd.store_type = ty.to_string();
    bd.store_format = d
        .child("driver")
        .and_then(|x| x.attr("type"))
        .map(str::to_string);
    let src_name = if push { "target" } else { "scratch" };
    if let Some(s) = d.child(src_name) {
        let mut s = s.clone();
        // Only the attribute that names the source for this type is kept.
        let key = if ty == "file" { "file" } else { "dev" };
        let path = s.attr(key).map(str::to_string);
        s.attrs.clear();
        if let Some(p) = path {
            s.attrs.push((key.into(), p));
        }
        bd.store = Some(s);
    }
    Ok(bd)
}

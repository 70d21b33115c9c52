// SPDX-License-Identifier: LGPL-2.1-or-later
//! Domain snapshot definitions (`<domainsnapshot>`): parse, the disk
//! alignment against the domain's disks, and libvirt's formatter.
//!
//! The `<domain>` (and `<inactiveDomain>`) a snapshot document embeds is
//! handed back as XML: the driver reads it through its own
//! `domain::XmlOptions` and stores the result in [`SnapshotDef::dom`].
//! Errors are VIR_FROM_DOMAIN_SNAPSHOT's unless said otherwise; nothing
//! here touches the file system (the caller answers whether a disk source
//! is a regular file).

use crate::domain::DomainDef;
use crate::error::{ConfError, INVALID_ARG};
use crate::xml::{escape, parse_document, Element};

/// virStorageFileFormat names a snapshot's `<driver type>` may give.
const FORMATS: &[&str] = &[
    "raw", "dir", "bochs", "cloop", "dmg", "iso", "vpc", "vdi", "fat", "vhd", "ploop", "cow",
    "qcow", "qcow2", "qed", "vmdk",
];
use crate::FormatFlags;

/// virDomainSnapshotState names, by value (0 is "nostate").
pub const STATES: &[&str] = &[
    "nostate",
    "running",
    "blocked",
    "paused",
    "shutdown",
    "shutoff",
    "crashed",
    "pmsuspended",
    "disk-snapshot",
];
/// VIR_DOMAIN_SNAPSHOT_RUNNING.
pub const STATE_RUNNING: i32 = 1;
/// VIR_DOMAIN_SNAPSHOT_PAUSED.
pub const STATE_PAUSED: i32 = 3;
/// VIR_DOMAIN_SNAPSHOT_SHUTOFF.
pub const STATE_SHUTOFF: i32 = 5;
/// VIR_DOMAIN_SNAPSHOT_DISK_SNAPSHOT.
pub const STATE_DISK_SNAPSHOT: i32 = 8;

/// virDomainSnapshotLocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Location {
    #[default]
    Default,
    No,
    Internal,
    External,
    Manual,
}

impl Location {
    fn parse(s: &str) -> Option<Location> {
        Some(match s {
            "no" => Location::No,
            "internal" => Location::Internal,
            "external" => Location::External,
            "manual" => Location::Manual,
            _ => return None,
        })
    }

    /// The attribute value; `None` for the default.
    pub fn name(self) -> Option<&'static str> {
        match self {
            Location::Default => None,
            Location::No => Some("no"),
            Location::Internal => Some("internal"),
            Location::External => Some("external"),
            Location::Manual => Some("manual"),
        }
    }
}

/// One `<disks><disk>` of a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SnapshotDisk {
    pub name: String,
    pub snapshot: Location,
    /// Storage type (`file`, `block`, `network`).
    pub src_type: String,
    /// `<source file|dev>`.
    pub path: Option<String>,
    /// `<driver type>`.
    pub format: Option<String>,
}

/// A snapshot definition (virDomainSnapshotDef).
#[derive(Debug, Clone, Default)]
pub struct SnapshotDef {
    pub name: String,
    pub description: Option<String>,
    /// virDomainSnapshotState value, 0 when unset.
    pub state: i32,
    pub parent: Option<String>,
    /// Seconds since the epoch, 0 when unset.
    pub creation_time: i64,
    pub memory: Location,
    pub memory_file: Option<String>,
    pub disks: Vec<SnapshotDisk>,
    /// The domain as it was when the snapshot was taken.
    pub dom: Option<DomainDef>,
    /// The persistent definition of a domain that was running.
    pub inactive_dom: Option<DomainDef>,
}

/// What [`parse`] reads: the definition and the domain documents it
/// embeds, still as XML.
#[derive(Debug)]
pub struct Parsed {
    pub def: SnapshotDef,
    pub domain: Option<Element>,
    pub inactive_domain: Option<Element>,
}

fn nonempty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.is_empty())
}

fn enum_error(attr: &str, elem: &str, value: &str) -> ConfError {
    ConfError::xml_layer(format!(
        "Invalid value for attribute '{attr}' in element '{elem}': '{value}'."
    ))
}

fn location_attr(e: &Element, elem: &str) -> Result<Location, ConfError> {
    match e.attr("snapshot") {
        None => Ok(Location::Default),
        Some(v) => Location::parse(v).ok_or_else(|| enum_error("snapshot", elem, v)),
    }
}

fn parse_disk(e: &Element) -> Result<SnapshotDisk, ConfError> {
    let name = e
        .attr("name")
        .ok_or_else(|| ConfError::internal("missing name from disk snapshot element"))?;
    let mut snapshot = location_attr(e, "disk")?;
    let src_type = e.attr("type").unwrap_or("file");
    match src_type {
        "file" | "block" | "network" | "nvme" | "vhostuser" => {}
        "volume" | "dir" => {
            return Err(ConfError::xml(format!(
                "unsupported disk snapshot type '{src_type}'"
            )))
        }
        other => return Err(enum_error("type", "disk", other)),
    }
    let path = e.child("source").and_then(|s| match src_type {
        "block" => s.attr("dev"),
        "network" => s.attr("name"),
        _ => s.attr("file"),
    });
    let format = match e.child("driver").and_then(|d| d.attr("type")) {
        None => None,
        Some(f) if FORMATS.contains(&f) => Some(f.to_string()),
        Some(f) => {
            return Err(ConfError::unsupported(format!(
                "unknown disk snapshot driver '{f}'"
            )))
        }
    };
    if let Some(p) = path {
        if src_type != "network" && !p.starts_with('/') {
            return Err(ConfError::xml(format!(
                "disk snapshot image path '{p}' must be absolute"
            )));
        }
    }
    if snapshot == Location::Default && (path.is_some() || format.is_some()) {
        snapshot = Location::External;
    }
    Ok(SnapshotDisk {
        name: name.to_string(),
        snapshot,
        src_type: src_type.to_string(),
        path: path.map(str::to_string),
        format,
    })
}

/// virDomainSnapshotDefParseString. `redefine` is
/// VIR_DOMAIN_SNAPSHOT_PARSE_REDEFINE; otherwise the creation time is
/// `now` and a missing name is that time.
pub fn parse(xml: &str, redefine: bool, now: i64) -> Result<Parsed, ConfError> {
    let root = parse_document(xml, "(domain_snapshot)", "domainsnapshot")?;
    let mut def = SnapshotDef {
        description: nonempty(root.child_text("description")),
        ..Default::default()
    };
    let name = nonempty(root.child_text("name"));
    let mut offline = false;
    let mut domain = None;
    let mut inactive_domain = None;
    if redefine {
        def.name = name.ok_or_else(|| ConfError::xml("a redefined snapshot must have a name"))?;
        def.creation_time = root
            .child_text("creationTime")
            .and_then(|t| t.trim().parse().ok())
            .ok_or_else(|| ConfError::internal("missing creationTime from existing snapshot"))?;
        def.parent = nonempty(root.child("parent").and_then(|p| p.child_text("name")));
        let state = nonempty(root.child_text("state"))
            .ok_or_else(|| ConfError::xml("missing state from existing snapshot"))?;
        def.state = match STATES.iter().position(|s| *s == state) {
            Some(i) if i > 0 => i as i32,
            _ => {
                return Err(ConfError::unsupported(format!(
                    "Invalid state '{state}' in domain snapshot XML"
                )))
            }
        };
        offline = def.state == STATE_SHUTOFF || def.state == STATE_DISK_SNAPSHOT;
        // Old snapshots carry only <domain><uuid>: no domain to keep.
        domain = root
            .child("domain")
            .filter(|d| d.attr("type").is_some())
            .cloned();
        inactive_domain = root.child("inactiveDomain").cloned().map(|mut e| {
            e.name = "domain".into();
            e
        });
    } else {
        def.creation_time = now;
        def.name = name.unwrap_or_else(|| now.to_string());
    }
    if let Some(m) = root.child("memory") {
        def.memory_file = m.attr("file").map(str::to_string);
        def.memory = location_attr(m, "memory")?;
        if def.memory == Location::Manual {
            return Err(ConfError::xml(
                "'manual' memory snapshot mode not supported",
            ));
        }
    }
    if def.memory == Location::Default {
        if def.memory_file.is_some() {
            def.memory = Location::External;
        } else if redefine {
            def.memory = if offline {
                Location::No
            } else {
                Location::Internal
            };
        }
    }
    if let Some(f) = &def.memory_file {
        if def.memory != Location::External {
            return Err(ConfError::xml(format!(
                "memory filename '{f}' requires external snapshot"
            )));
        }
    }
    if def.memory_file.is_none() && def.memory == Location::External {
        return Err(ConfError::xml(
            "external memory snapshots require a filename",
        ));
    }
    if offline && !matches!(def.memory, Location::Default | Location::No) {
        return Err(ConfError::xml(
            "memory state cannot be saved with offline or disk-only snapshot",
        ));
    }
    if let Some(f) = &def.memory_file {
        if !f.starts_with('/') {
            return Err(ConfError::xml(format!(
                "memory snapshot file path ({f}) must be absolute"
            )));
        }
    }
    if let Some(disks) = root.child("disks") {
        for e in disks.elements() {
            def.disks.push(parse_disk(e)?);
        }
    }
    Ok(Parsed {
        def,
        domain,
        inactive_domain,
    })
}

/// A domain disk as the alignment sees it.
struct DomDisk {
    dst: String,
    source: Option<String>,
    snapshot: Location,
}

fn dom_disks(dom: &DomainDef) -> Vec<DomDisk> {
    dom.devices
        .iter()
        .filter(|e| e.name == "disk")
        .map(|e| {
            let d = crate::domain::DiskDef::from_element(e);
            DomDisk {
                dst: d.target_dev,
                source: d.source,
                snapshot: e
                    .attr("snapshot")
                    .and_then(Location::parse)
                    .unwrap_or_default(),
            }
        })
        .collect()
}

/// virDomainDiskByName: by target name, or by source path.
fn disk_index(disks: &[DomDisk], name: &str) -> Option<usize> {
    disks
        .iter()
        .position(|d| d.dst == name)
        .or_else(|| disks.iter().position(|d| d.source.as_deref() == Some(name)))
}

impl SnapshotDef {
    /// True when memory or any disk is saved externally.
    pub fn is_external(&self) -> bool {
        self.memory == Location::External
            || self.disks.iter().any(|d| d.snapshot == Location::External)
    }

    /// virDomainSnapshotAlignDisks: one entry per domain disk, in the
    /// domain's order, with the requested ones checked and the rest
    /// defaulted. `existing` stands in when the snapshot has no domain;
    /// `is_regular_file` answers for external names generated from a
    /// disk's source.
    pub fn align_disks(
        &mut self,
        existing: Option<&DomainDef>,
        default: Location,
        uniform_internal: bool,
        is_regular_file: &dyn Fn(&str) -> bool,
    ) -> Result<(), ConfError> {
        let dom = self
            .dom
            .as_ref()
            .or(existing)
            .ok_or_else(|| ConfError::internal("missing domain in snapshot"))?;
        let disks = dom_disks(dom);
        if self.disks.len() > disks.len() {
            return Err(ConfError::unsupported(
                "too many disk snapshot requests for domain",
            ));
        }
        let require_match = uniform_internal && default == Location::Internal;
        if disks.is_empty() {
            return Ok(());
        }
        let mut slots: Vec<Option<SnapshotDisk>> = vec![None; disks.len()];
        for mut sd in std::mem::take(&mut self.disks) {
            let i = disk_index(&disks, &sd.name)
                .ok_or_else(|| ConfError::unsupported(format!("no disk named '{}'", sd.name)))?;
            let dd = &disks[i];
            if slots[i].is_some() {
                return Err(ConfError::unsupported(format!(
                    "disk '{}' specified twice",
                    sd.name
                )));
            }
            if sd.snapshot == Location::Default {
                sd.snapshot = if dd.snapshot != Location::Default
                    && (!require_match || dd.snapshot == Location::No)
                {
                    dd.snapshot
                } else {
                    default
                };
            } else if require_match
                && sd.snapshot != default
                && !(sd.snapshot == Location::No && dd.snapshot == Location::No)
            {
                return Err(ConfError::unsupported(format!(
                    "disk '{}' must use snapshot mode '{}'",
                    sd.name,
                    default.name().unwrap_or("default")
                )));
            }
            if let Some(p) = &sd.path {
                if sd.snapshot != Location::External {
                    return Err(ConfError::unsupported(format!(
                        "file '{p}' for disk '{}' requires use of external snapshot mode",
                        sd.name
                    )));
                }
            }
            sd.name = dd.dst.clone();
            slots[i] = Some(sd);
        }
        let mut out = Vec::with_capacity(disks.len());
        for (slot, dd) in slots.into_iter().zip(&disks) {
            out.push(slot.unwrap_or_else(|| {
                let snapshot = if dd.source.is_none() {
                    Location::No
                } else if dd.snapshot == Location::Default {
                    default
                } else {
                    dd.snapshot
                };
                SnapshotDisk {
                    name: dd.dst.clone(),
                    snapshot,
                    src_type: "file".into(),
                    path: None,
                    format: None,
                }
            }));
        }
        self.disks = out;
        self.assign_external_names(&disks, is_regular_file)
    }

    fn assign_external_names(
        &mut self,
        disks: &[DomDisk],
        is_regular_file: &dyn Fn(&str) -> bool,
    ) -> Result<(), ConfError> {
        for i in 0..self.disks.len() {
            let d = &self.disks[i];
            if d.snapshot != Location::External || d.path.is_some() {
                continue;
            }
            if d.src_type != "file" {
                return Err(ConfError::unsupported(format!(
                    "cannot generate external snapshot name for disk '{}' on a '{}' device",
                    d.name, d.src_type
                )));
            }
            let Some(orig) = disks.get(i).and_then(|x| x.source.as_deref()) else {
                return Err(ConfError::unsupported(format!(
                    "cannot generate external snapshot name for disk '{}' without source",
                    d.name
                )));
            };
            if !is_regular_file(orig) {
                return Err(ConfError::unsupported(format!(
                    "source for disk '{}' is not a regular file; refusing to generate external snapshot name",
                    d.name
                )));
            }
            let base = match orig.rfind('.') {
                Some(dot) if !orig[dot..].contains('/') => &orig[..dot],
                _ => orig,
            };
            let path = format!("{base}.{}", self.name);
            if let Some(j) = self.disks[..i]
                .iter()
                .position(|o| o.path.as_deref() == Some(path.as_str()))
            {
                return Err(ConfError::unsupported(format!(
                    "cannot generate external snapshot name for disk '{}': collision with disk '{}'",
                    self.disks[i].name, self.disks[j].name
                )));
            }
            self.disks[i].path = Some(path);
        }
        Ok(())
    }

    /// virDomainSnapshotRedefineValidate against the domain's UUID and the
    /// snapshot of the same name being replaced, if any.
    pub fn check_redefine(
        &self,
        domain_uuid: &crate::Uuid,
        other: Option<&SnapshotDef>,
    ) -> Result<(), ConfError> {
        if let Some(d) = &self.dom {
            if d.uuid != *domain_uuid {
                return Err(ConfError::new(
                    INVALID_ARG,
                    format!(
                        "definition for snapshot {} must use uuid {domain_uuid}",
                        self.name
                    ),
                ));
            }
        }
        if let Some(o) = other {
            let online = |s: i32| s == STATE_RUNNING || s == STATE_PAUSED;
            if online(o.state) != online(self.state) {
                return Err(ConfError::new(
                    INVALID_ARG,
                    format!(
                        "cannot change between online and offline snapshot state in snapshot {}",
                        self.name
                    ),
                ));
            }
            if (o.state == STATE_DISK_SNAPSHOT) != (self.state == STATE_DISK_SNAPSHOT) {
                return Err(ConfError::new(
                    INVALID_ARG,
                    format!(
                        "cannot change between disk only and full system in snapshot {}",
                        self.name
                    ),
                ));
            }
        }
        Ok(())
    }

    /// virDomainSnapshotDefFormat; `uuid` is the domain's, written when
    /// the snapshot keeps no domain.
    pub fn to_xml(&self, uuid: &str, secure: bool) -> String {
        let mut s = String::from("<domainsnapshot>\n");
        s.push_str(&format!("  <name>{}</name>\n", escape(&self.name)));
        if let Some(d) = &self.description {
            s.push_str(&format!("  <description>{}</description>\n", escape(d)));
        }
        if self.state > 0 {
            if let Some(st) = STATES.get(self.state as usize) {
                s.push_str(&format!("  <state>{st}</state>\n"));
            }
        }
        if let Some(p) = &self.parent {
            s.push_str(&format!(
                "  <parent>\n    <name>{}</name>\n  </parent>\n",
                escape(p)
            ));
        }
        if self.creation_time != 0 {
            s.push_str(&format!(
                "  <creationTime>{}</creationTime>\n",
                self.creation_time
            ));
        }
        if let Some(m) = self.memory.name() {
            s.push_str(&format!("  <memory snapshot='{m}'"));
            if let Some(f) = &self.memory_file {
                s.push_str(&format!(" file='{}'", escape(f)));
            }
            s.push_str("/>\n");
        }
        if !self.disks.is_empty() {
            s.push_str("  <disks>\n");
            for d in &self.disks {
                format_disk(&mut s, d);
            }
            s.push_str("  </disks>\n");
        }
        let flags = FormatFlags {
            inactive: true,
            secure,
            ..Default::default()
        };
        match &self.dom {
            Some(d) => push_indented(&mut s, &d.to_xml(&flags), None),
            None => s.push_str(&format!(
                "  <domain>\n    <uuid>{uuid}</uuid>\n  </domain>\n"
            )),
        }
        if let Some(d) = &self.inactive_dom {
            push_indented(&mut s, &d.to_xml(&flags), Some("inactiveDomain"));
        }
        s.push_str("</domainsnapshot>\n");
        s
    }
}

fn format_disk(s: &mut String, d: &SnapshotDisk) {
    s.push_str(&format!("    <disk name='{}'", escape(&d.name)));
    if let Some(l) = d.snapshot.name() {
        s.push_str(&format!(" snapshot='{l}'"));
    }
    if d.path.is_none() && d.format.is_none() {
        s.push_str("/>\n");
        return;
    }
    s.push_str(&format!(" type='{}'>\n", d.src_type));
    if let Some(f) = &d.format {
        s.push_str(&format!("      <driver type='{}'/>\n", escape(f)));
    }
    match &d.path {
        Some(p) => {
            let attr = match d.src_type.as_str() {
                "block" => "dev",
                "network" => "name",
                _ => "file",
            };
            s.push_str(&format!("      <source {attr}='{}'/>\n", escape(p)));
        }
        None => s.push_str("      <source/>\n"),
    }
    s.push_str("    </disk>\n");
}

/// Appends a formatted document two spaces deeper, renaming its root
/// element when asked (`<inactiveDomain>`).
pub(crate) fn push_indented(out: &mut String, doc: &str, root: Option<&str>) {
    let lines: Vec<&str> = doc.lines().collect();
    let last = lines.len().saturating_sub(1);
    for (i, line) in lines.iter().enumerate() {
        out.push_str("  ");
        match root {
            Some(r) if i == 0 => out.push_str(&line.replacen("<domain", &format!("<{r}"), 1)),
            Some(r) if i == last => {
                out.push_str(&line.replacen("</domain>", &format!("</{r}>"), 1))
            }
            _ => out.push_str(line),
        }
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unnamed_snapshot_takes_creation_time_as_name() {
        let p = parse("<domainsnapshot/>", false, 1234).unwrap();
        assert_eq!(p.def.name, "1234");
        assert_eq!(p.def.creation_time, 1234);
    }

    #[test]
    fn redefine_needs_name_and_state() {
        let e = parse("<domainsnapshot/>", true, 0).unwrap_err();
        assert_eq!(e.detail_text(), "a redefined snapshot must have a name");
        let e = parse(
            "<domainsnapshot><name>a</name><creationTime>5</creationTime></domainsnapshot>",
            true,
            0,
        )
        .unwrap_err();
        assert_eq!(e.detail_text(), "missing state from existing snapshot");
        let e = parse(
            "<domainsnapshot><name>a</name><creationTime>5</creationTime><state>bogus</state></domainsnapshot>",
            true,
            0,
        )
        .unwrap_err();
        assert_eq!(e.code, crate::error::CONFIG_UNSUPPORTED);
    }

    #[test]
    fn external_memory_needs_a_file() {
        let e = parse(
            "<domainsnapshot><memory snapshot='external'/></domainsnapshot>",
            false,
            1,
        )
        .unwrap_err();
        assert_eq!(
            e.detail_text(),
            "external memory snapshots require a filename"
        );
    }

    #[test]
    fn disk_with_path_is_external_and_formats_its_source() {
        let p = parse(
            "<domainsnapshot><name>x</name><disks><disk name='vda'><source file='/a/b.snap'/></disk></disks></domainsnapshot>",
            false,
            1,
        )
        .unwrap();
        assert_eq!(p.def.disks[0].snapshot, Location::External);
        let xml = p.def.to_xml("u", false);
        assert!(xml.contains(
            "    <disk name='vda' snapshot='external' type='file'>\n      <source file='/a/b.snap'/>\n    </disk>\n"
        ));
    }
}

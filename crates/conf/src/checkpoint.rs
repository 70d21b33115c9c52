// SPDX-License-Identifier: LGPL-2.1-or-later
//! Domain checkpoint definitions (`<domaincheckpoint>`): parse, the disk
//! alignment against the domain's disks, and libvirt's formatter. As for
//! snapshots, an embedded `<domain>` comes back as XML for the driver to
//! read. Errors are VIR_FROM_DOMAIN_CHECKPOINT's.

use crate::domain::{DiskDef, DomainDef};
use crate::error::{ConfError, INVALID_ARG};
use crate::snapshot::push_indented;
use crate::xml::{escape, parse_document, Element};
use crate::FormatFlags;

/// One `<disks><disk>` of a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CheckpointDisk {
    pub name: String,
    /// `checkpoint`: "no" or "bitmap"; `None` while unset.
    pub kind: Option<String>,
    pub bitmap: Option<String>,
    /// The size `VIR_DOMAIN_CHECKPOINT_XML_SIZE` reports.
    pub size: Option<u64>,
}

/// A checkpoint definition (virDomainCheckpointDef).
#[derive(Debug, Clone, Default)]
pub struct CheckpointDef {
    pub name: String,
    pub description: Option<String>,
    pub parent: Option<String>,
    pub creation_time: i64,
    pub disks: Vec<CheckpointDisk>,
    pub dom: Option<DomainDef>,
}

fn nonempty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.is_empty())
}

/// virDomainCheckpointDefParseString: the definition and its embedded
/// `<domain>` (only read when redefining).
pub fn parse(
    xml: &str,
    redefine: bool,
    now: i64,
) -> Result<(CheckpointDef, Option<Element>), ConfError> {
    let root = parse_document(xml, "(domain_checkpoint)", "domaincheckpoint")?;
    let mut def = CheckpointDef {
        description: nonempty(root.child_text("description")),
        ..Default::default()
    };
    let name = nonempty(root.child_text("name"));
    let mut domain = None;
    if redefine {
        def.name = name.ok_or_else(|| ConfError::xml("a redefined checkpoint must have a name"))?;
        def.creation_time = root
            .child_text("creationTime")
            .and_then(|t| t.trim().parse().ok())
            .ok_or_else(|| ConfError::internal("missing creationTime from existing checkpoint"))?;
        def.parent = nonempty(root.child("parent").and_then(|p| p.child_text("name")));
        domain = root.child("domain").cloned();
    } else {
        def.creation_time = now;
        def.name = name.unwrap_or_else(|| now.to_string());
    }
    if let Some(disks) = root.child("disks") {
        for e in disks.elements() {
            let kind = match e.attr("checkpoint") {
                None => "bitmap",
                Some(k @ ("no" | "bitmap")) => k,
                Some(k) => {
                    return Err(ConfError::xml_layer(format!(
                        "Invalid value for attribute 'checkpoint' in element 'disk': '{k}'."
                    )))
                }
            };
            def.disks.push(CheckpointDisk {
                name: e.attr("name").unwrap_or_default().to_string(),
                kind: Some(kind.to_string()),
                bitmap: e.attr("bitmap").map(str::to_string),
                size: None,
            });
        }
    }
    Ok((def, domain))
}

impl CheckpointDef {
    fn assign_bitmap_names(&mut self) {
        for d in &mut self.disks {
            if d.kind.as_deref() == Some("bitmap") && d.bitmap.is_none() {
                d.bitmap = Some(self.name.clone());
            }
        }
    }

    /// virDomainCheckpointAlignDisks: one entry per domain disk; without
    /// `<disks>`, every writable disk gets a bitmap.
    pub fn align_disks(&mut self) -> Result<(), ConfError> {
        let dom = self
            .dom
            .as_ref()
            .ok_or_else(|| ConfError::internal("missing domain in checkpoint"))?;
        let disks: Vec<DiskDef> = dom.disks();
        if self.disks.len() > disks.len() {
            return Err(ConfError::unsupported(
                "too many disk checkpoint requests for domain",
            ));
        }
        if disks.is_empty() {
            return Err(ConfError::unsupported(
                "domain must have at least one disk to perform checkpoints",
            ));
        }
        let default = if self.disks.is_empty() {
            "bitmap"
        } else {
            "no"
        };
        let mut slots: Vec<Option<CheckpointDisk>> = vec![None; disks.len()];
        for mut cd in std::mem::take(&mut self.disks) {
            let i = disks
                .iter()
                .position(|d| d.target_dev == cd.name)
                .or_else(|| {
                    disks
                        .iter()
                        .position(|d| d.source.as_deref() == Some(cd.name.as_str()))
                })
                .ok_or_else(|| ConfError::unsupported(format!("no disk named '{}'", cd.name)))?;
            if slots[i].is_some() {
                return Err(ConfError::unsupported(format!(
                    "disk '{}' specified twice",
                    cd.name
                )));
            }
            let dd = &disks[i];
            if (dd.source.is_none() || dd.readonly) && cd.kind.as_deref() != Some("no") {
                return Err(ConfError::unsupported(format!(
                    "disk '{}' is empty or readonly",
                    cd.name
                )));
            }
            cd.name = dd.target_dev.clone();
            slots[i] = Some(cd);
        }
        self.disks = slots
            .into_iter()
            .zip(&disks)
            .map(|(slot, dd)| {
                slot.unwrap_or_else(|| CheckpointDisk {
                    name: dd.target_dev.clone(),
                    kind: Some(if dd.source.is_none() || dd.readonly {
                        "no".into()
                    } else {
                        default.into()
                    }),
                    bitmap: None,
                    size: None,
                })
            })
            .collect();
        self.assign_bitmap_names();
        Ok(())
    }

    /// virDomainCheckpointRedefinePrep's checks of the definition itself:
    /// the UUID of its domain, then the disk alignment (or only the bitmap
    /// names when it has no domain).
    pub fn prepare_redefine(&mut self, domain_uuid: &crate::Uuid) -> Result<(), ConfError> {
        match &self.dom {
            Some(d) if d.uuid != *domain_uuid => Err(ConfError::new(
                INVALID_ARG,
                format!(
                    "definition for checkpoint {} must use uuid {domain_uuid}",
                    self.name
                ),
            )),
            Some(_) => self.align_disks(),
            None => {
                self.assign_bitmap_names();
                Ok(())
            }
        }
    }

    /// virDomainCheckpointDefFormat.
    pub fn to_xml(&self, secure: bool, no_domain: bool, size: bool) -> String {
        let mut s = String::from("<domaincheckpoint>\n");
        s.push_str(&format!("  <name>{}</name>\n", escape(&self.name)));
        if let Some(d) = &self.description {
            s.push_str(&format!("  <description>{}</description>\n", escape(d)));
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
        if !self.disks.is_empty() {
            s.push_str("  <disks>\n");
            for d in &self.disks {
                if d.name.is_empty() {
                    continue;
                }
                s.push_str(&format!("    <disk name='{}'", escape(&d.name)));
                if let Some(k) = &d.kind {
                    s.push_str(&format!(" checkpoint='{k}'"));
                }
                if let Some(b) = &d.bitmap {
                    s.push_str(&format!(" bitmap='{}'", escape(b)));
                    if let (true, Some(sz)) = (size, d.size) {
                        s.push_str(&format!(" size='{sz}'"));
                    }
                }
                s.push_str("/>\n");
            }
            s.push_str("  </disks>\n");
        }
        if let (Some(d), false) = (&self.dom, no_domain) {
            let flags = FormatFlags {
                inactive: true,
                secure,
                ..Default::default()
            };
            push_indented(&mut s, &d.to_xml(&flags), None);
        }
        s.push_str("</domaincheckpoint>\n");
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redefine_needs_a_name() {
        let e = parse("<domaincheckpoint/>", true, 0).unwrap_err();
        assert_eq!(e.detail_text(), "a redefined checkpoint must have a name");
    }

    #[test]
    fn unnamed_checkpoint_takes_creation_time_as_name() {
        let (d, _) = parse("<domaincheckpoint/>", false, 77).unwrap();
        assert_eq!(d.name, "77");
        assert_eq!(
            d.to_xml(false, false, false),
            "<domaincheckpoint>\n  <name>77</name>\n  <creationTime>77</creationTime>\n</domaincheckpoint>\n"
        );
    }
}

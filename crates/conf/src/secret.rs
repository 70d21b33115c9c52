// SPDX-License-Identifier: LGPL-2.1-or-later
//! Secrets: `<secret>` XML (virSecretDefParse / virSecretDefFormat), a
//! secret's identity and what it is used for; its value is kept apart by
//! the secret driver.

use crate::error::{ConfError, CONFIG_UNSUPPORTED};
use crate::uuid::Uuid;
use crate::xml::{self, escape, Element};

/// What a secret is for (virSecretUsageType), with the element naming the
/// user of the secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UsageType {
    None,
    Volume,
    Ceph,
    Iscsi,
    Tls,
    Vtpm,
}

impl UsageType {
    /// The type's name in XML and its number on the wire
    /// (VIR_SECRET_USAGE_TYPE_*).
    pub const ALL: [(UsageType, &'static str, i32); 6] = [
        (UsageType::None, "none", 0),
        (UsageType::Volume, "volume", 1),
        (UsageType::Ceph, "ceph", 2),
        (UsageType::Iscsi, "iscsi", 3),
        (UsageType::Tls, "tls", 4),
        (UsageType::Vtpm, "vtpm", 5),
    ];

    /// libvirt's name.
    pub fn as_str(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(t, _, _)| *t == self)
            .map_or("none", |(_, n, _)| n)
    }

    /// The wire number.
    pub fn number(self) -> i32 {
        Self::ALL
            .iter()
            .find(|(t, _, _)| *t == self)
            .map_or(0, |(_, _, n)| *n)
    }

    /// From the wire number.
    pub fn from_number(n: i32) -> Option<UsageType> {
        Self::ALL
            .iter()
            .find(|(_, _, v)| *v == n)
            .map(|(t, _, _)| *t)
    }

    /// From libvirt's name.
    pub fn parse(s: &str) -> Option<UsageType> {
        Self::ALL
            .iter()
            .find(|(_, n, _)| *n == s)
            .map(|(t, _, _)| *t)
    }

    /// The child of `<usage>` that holds the usage id, and how libvirt
    /// names the usage when that child is missing.
    fn id_element(self) -> Option<(&'static str, &'static str)> {
        match self {
            UsageType::None => None,
            UsageType::Volume => Some((
                "volume",
                "volume usage specified, but volume path is missing",
            )),
            UsageType::Ceph => Some(("name", "Ceph usage specified, but name is missing")),
            UsageType::Iscsi => Some(("target", "iSCSI usage specified, but target is missing")),
            UsageType::Tls => Some(("name", "TLS usage specified, but name is missing")),
            UsageType::Vtpm => Some(("name", "vTPM usage specified, but name is missing")),
        }
    }
}

/// A secret's definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretDef {
    /// Kept in memory only, never written to disk.
    pub ephemeral: bool,
    /// Its value is never revealed to clients.
    pub private: bool,
    pub uuid: Uuid,
    pub description: Option<String>,
    pub usage_type: UsageType,
    /// The volume path, Ceph/TLS/vTPM name or iSCSI target (empty for
    /// usage type none).
    pub usage_id: String,
}

/// The text of `name`'s child, as libvirt's XPath string reads it: absent
/// when missing or empty.
fn nonempty_child(e: &Element, name: &str) -> Option<String> {
    e.child(name).map(Element::text).filter(|t| !t.is_empty())
}

fn yes_no(v: Option<&str>, what: &str) -> Result<bool, ConfError> {
    match v {
        None | Some("no") => Ok(false),
        Some("yes") => Ok(true),
        Some(_) => Err(ConfError::xml(format!("invalid value of '{what}'"))),
    }
}

impl SecretDef {
    /// Parses a `<secret>` document; a missing UUID is generated.
    pub fn parse_str(text: &str) -> Result<SecretDef, ConfError> {
        let root = xml::parse_document(text, "(definition_of_secret)", "secret")?;
        let ephemeral = yes_no(root.attr("ephemeral"), "ephemeral")?;
        let private = yes_no(root.attr("private"), "private")?;
        let uuid = match nonempty_child(&root, "uuid") {
            None => Uuid::generate()?,
            Some(s) => Uuid::parse(s.trim())
                .ok_or_else(|| ConfError::internal("malformed uuid element"))?,
        };
        let description = nonempty_child(&root, "description");
        let (usage_type, usage_id) = match root.child("usage") {
            None => (UsageType::None, String::new()),
            Some(u) => {
                let ty = u
                    .attr("type")
                    .filter(|t| !t.is_empty())
                    .ok_or_else(|| ConfError::xml("unknown secret usage type"))?;
                let usage_type = UsageType::parse(ty).ok_or_else(|| {
                    ConfError::new(
                        CONFIG_UNSUPPORTED,
                        format!("unknown secret usage type {ty}"),
                    )
                })?;
                let id = match usage_type.id_element() {
                    None => String::new(),
                    Some((child, missing)) => {
                        nonempty_child(u, child).ok_or_else(|| ConfError::internal(missing))?
                    }
                };
                (usage_type, id)
            }
        };
        Ok(SecretDef {
            ephemeral,
            private,
            uuid,
            description,
            usage_type,
            usage_id,
        })
    }

    /// The XML libvirt gives for this secret.
    pub fn to_xml(&self) -> String {
        let yn = |b: bool| if b { "yes" } else { "no" };
        let mut s = format!(
            "<secret ephemeral='{}' private='{}'>\n  <uuid>{}</uuid>\n",
            yn(self.ephemeral),
            yn(self.private),
            self.uuid
        );
        if let Some(d) = &self.description {
            s.push_str(&format!("  <description>{}</description>\n", escape(d)));
        }
        if self.usage_type != UsageType::None {
            s.push_str(&format!("  <usage type='{}'>\n", self.usage_type.as_str()));
            if let Some((child, _)) = self.usage_type.id_element() {
                s.push_str(&format!(
                    "    <{child}>{}</{child}>\n",
                    escape(&self.usage_id)
                ));
            }
            s.push_str("  </usage>\n");
        }
        s.push_str("</secret>\n");
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> ConfError {
        SecretDef::parse_str(text)
            .err()
            .unwrap_or_else(|| panic!("{text} parsed"))
    }

    #[test]
    fn usage_without_its_id_is_refused_with_libvirts_words() {
        let e = err("<secret><usage type='volume'><volume/></usage></secret>");
        assert_eq!(
            e.to_string(),
            "internal error: volume usage specified, but volume path is missing"
        );
        let e = err("<secret><usage type='ceph'/></secret>");
        assert_eq!(
            e.to_string(),
            "internal error: Ceph usage specified, but name is missing"
        );
    }

    #[test]
    fn bad_attributes_and_types() {
        assert_eq!(
            err("<secret ephemeral='maybe'/>").to_string(),
            "XML error: invalid value of 'ephemeral'"
        );
        assert_eq!(
            err("<secret><usage/></secret>").to_string(),
            "XML error: unknown secret usage type"
        );
        let e = err("<secret><usage type='nfs'/></secret>");
        assert_eq!(e.code, CONFIG_UNSUPPORTED);
        assert_eq!(
            e.to_string(),
            "unsupported configuration: unknown secret usage type nfs"
        );
        assert_eq!(
            err("<secret><uuid>nope</uuid></secret>").to_string(),
            "internal error: malformed uuid element"
        );
    }

    #[test]
    fn defaults_and_generated_uuid() {
        let d = SecretDef::parse_str("<secret/>").unwrap_or_else(|e| panic!("{e}"));
        assert!(!d.ephemeral && !d.private);
        assert_eq!(d.usage_type, UsageType::None);
        assert!(!d.uuid.is_all_zero());
        assert_eq!(
            d.to_xml(),
            format!(
                "<secret ephemeral='no' private='no'>\n  <uuid>{}</uuid>\n</secret>\n",
                d.uuid
            )
        );
    }
}

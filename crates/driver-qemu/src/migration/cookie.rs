// SPDX-License-Identifier: LGPL-2.1-or-later
//! The migration cookie: the `<qemu-migration>` document the two sides
//! of a migration hand each other through the client between phases
//! (name, UUID, the sending host's name and UUID, the parts a phase adds:
//! the persistent definition, statistics, capabilities, ...).
//!
//! On the wire it is a NUL-terminated string. Reading is lenient as
//! libvirt's is: parts this side does not use are skipped, but a
//! `<feature name='...'/>` the sender marks as mandatory must be one this
//! side knows and accepts in the phase at hand.

use driver::{Error, Result};

use crate::state::QEMU;

/// The cookie parts libvirt names (qemuMigrationCookieFlag), in its
/// order: a part's bit is `1 << index`.
pub(crate) const FEATURES: [&str; 12] = [
    "graphics",
    "lockstate",
    "persistent",
    "network",
    "nbd",
    "statistics",
    "memory-hotplug",
    "cpu-hotplug",
    "cpu",
    "allowReboot",
    "capabilities",
    "block-dirty-bitmaps",
];

/// The bit of part `name`.
pub(crate) fn feature_bit(name: &str) -> Option<u32> {
    FEATURES.iter().position(|f| *f == name).map(|i| 1u32 << i)
}

#[cfg(test)]
const PERSISTENT: u32 = 1 << 2;

/// A parsed or to-be-formatted cookie.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Cookie {
    pub name: String,
    pub uuid: String,
    pub hostname: String,
    pub hostuuid: String,
    /// The parts the sender marks as mandatory (`<feature name=.../>`).
    pub mandatory: Vec<String>,
    /// The lock manager's name and leases.
    pub lockstate: Option<(String, String)>,
    /// The persistent definition (a `<domain>` document).
    pub persistent: Option<String>,
    /// `<statistics>`: element name and value, in order.
    pub statistics: Vec<(String, String)>,
    /// `<capabilities>`: migration capabilities and whether they are
    /// turned on automatically.
    pub caps: Vec<(String, bool)>,
    /// `<nbd port=...>`: the destination's NBD server for storage
    /// migration and its disks (target, capacity in bytes).
    pub nbd: Option<(u16, Vec<(String, u64)>)>,
}

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\'' => out.push_str("&apos;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

fn bad(msg: impl Into<String>) -> Error {
    Error::internal(QEMU, msg)
}

impl Cookie {
    /// The document, indented as libvirt formats it.
    pub fn to_xml(&self) -> String {
        let mut b = String::from("<qemu-migration>\n");
        b.push_str(&format!("  <name>{}</name>\n", xml_escape(&self.name)));
        b.push_str(&format!("  <uuid>{}</uuid>\n", self.uuid));
        b.push_str(&format!(
            "  <hostname>{}</hostname>\n",
            xml_escape(&self.hostname)
        ));
        b.push_str(&format!("  <hostuuid>{}</hostuuid>\n", self.hostuuid));
        for f in &self.mandatory {
            b.push_str(&format!("  <feature name='{}'/>\n", xml_escape(f)));
        }
        if let Some((drv, leases)) = &self.lockstate {
            b.push_str(&format!("  <lockstate driver='{}'>\n", xml_escape(drv)));
            b.push_str(&format!("    <leases>{}</leases>\n", xml_escape(leases)));
            b.push_str("  </lockstate>\n");
        }
        if let Some(dom) = &self.persistent {
            for l in dom.lines() {
                b.push_str("  ");
                b.push_str(l);
                b.push('\n');
            }
        }
        if let Some((port, disks)) = &self.nbd {
            b.push_str(&format!("  <nbd port='{port}'>\n"));
            for (target, capacity) in disks {
                b.push_str(&format!(
                    "    <disk target='{}' capacity='{capacity}'/>\n",
                    xml_escape(target)
                ));
            }
            b.push_str("  </nbd>\n");
        }
        if !self.statistics.is_empty() {
            b.push_str("  <statistics>\n");
            for (k, v) in &self.statistics {
                b.push_str(&format!("    <{k}>{}</{k}>\n", xml_escape(v)));
            }
            b.push_str("  </statistics>\n");
        }
        if !self.caps.is_empty() {
            b.push_str("  <capabilities>\n");
            for (name, auto) in &self.caps {
                b.push_str(&format!(
                    "    <cap name='{}' auto='{}'/>\n",
                    xml_escape(name),
                    if *auto { "yes" } else { "no" }
                ));
            }
            b.push_str("  </capabilities>\n");
        }
        b.push_str("</qemu-migration>\n");
        b
    }

    /// The wire form: the document and its terminating NUL.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = self.to_xml().into_bytes();
        v.push(0);
        v
    }

    /// Reads a cookie as sent: empty means none; otherwise it must be a
    /// NUL-terminated `<qemu-migration>` document whose mandatory parts
    /// are all in `accepted` (bits of [`FEATURES`]).
    pub fn parse(bytes: &[u8], accepted: u32) -> Result<Option<Cookie>> {
        if bytes.is_empty() {
            return Ok(None);
        }
        let Some((&0, body)) = bytes.split_last() else {
            return Err(bad("Migration cookie was not NULL terminated"));
        };
        let text = std::str::from_utf8(body)
            .map_err(|_| bad("Migration cookie is not valid UTF-8"))?
            .trim_end_matches('\0');
        let doc = roxmltree::Document::parse(text)
            .map_err(|e| Error::new(driver::error::ErrorCode::XmlError, QEMU, e.to_string()))?;
        let root = doc.root_element();
        if root.tag_name().name() != "qemu-migration" {
            return Err(Error::new(
                driver::error::ErrorCode::XmlError,
                QEMU,
                format!(
                    "expecting root element 'qemu-migration', got '{}'",
                    root.tag_name().name()
                ),
            ));
        }
        let child = |n: &str| root.children().find(|c| c.has_tag_name(n));
        let text_of = |n: &str| child(n).map(|c| c.text().unwrap_or("").to_string());
        let mut c = Cookie {
            name: text_of("name").ok_or_else(|| bad("missing name element in migration data"))?,
            uuid: text_of("uuid").ok_or_else(|| bad("missing uuid element in migration data"))?,
            hostname: text_of("hostname")
                .ok_or_else(|| bad("missing hostname element in migration data"))?,
            hostuuid: text_of("hostuuid")
                .ok_or_else(|| bad("missing hostuuid element in migration data"))?,
            ..Cookie::default()
        };
        if conf::Uuid::parse(c.hostuuid.trim()).is_none() {
            return Err(bad("malformed hostuuid element in migration data"));
        }
        for f in root.children().filter(|n| n.has_tag_name("feature")) {
            let name = f
                .attribute("name")
                .ok_or_else(|| bad("missing feature name"))?;
            let bit = feature_bit(name)
                .ok_or_else(|| bad(format!("Unknown migration cookie feature {name}")))?;
            if accepted & bit == 0 {
                return Err(bad(format!("Unsupported migration cookie feature {name}")));
            }
            c.mandatory.push(name.to_string());
        }
        if let Some(l) = child("lockstate") {
            let drv = l
                .attribute("driver")
                .ok_or_else(|| bad("Missing lock driver name in migration cookie"))?;
            let leases = l
                .children()
                .find(|n| n.has_tag_name("leases"))
                .and_then(|n| n.text())
                .unwrap_or("");
            c.lockstate = Some((drv.to_string(), leases.to_string()));
        }
        let domains: Vec<_> = root
            .children()
            .filter(|n| n.has_tag_name("domain"))
            .collect();
        match domains.as_slice() {
            [] => {}
            [d] => c.persistent = Some(text[d.range()].to_string()),
            _ => return Err(bad("Too many domain elements in migration cookie")),
        }
        if let Some(s) = child("statistics") {
            c.statistics = s
                .children()
                .filter(|n| n.is_element())
                .map(|n| {
                    (
                        n.tag_name().name().to_string(),
                        n.text().unwrap_or("").to_string(),
                    )
                })
                .collect();
        }
        if let Some(n) = child("nbd") {
            let port = n
                .attribute("port")
                .and_then(|p| p.parse::<u16>().ok())
                .ok_or_else(|| bad("Malformed nbd port"))?;
            let disks = n
                .children()
                .filter(|d| d.has_tag_name("disk"))
                .filter_map(|d| {
                    Some((
                        d.attribute("target")?.to_string(),
                        d.attribute("capacity")
                            .and_then(|c| c.parse().ok())
                            .unwrap_or(0),
                    ))
                })
                .collect();
            c.nbd = Some((port, disks));
        }
        if let Some(caps) = child("capabilities") {
            c.caps = caps
                .children()
                .filter(|n| n.has_tag_name("cap"))
                .filter_map(|n| {
                    Some((
                        n.attribute("name")?.to_string(),
                        n.attribute("auto") == Some("yes"),
                    ))
                })
                .collect();
        }
        Ok(Some(c))
    }

    /// libvirt's checks of a received cookie against this side: the
    /// domain it names and a sending host other than this one.
    pub fn check(&self, name: &str, uuid: &str, local_hostuuid: &str) -> Result<()> {
        if self.name != name {
            return Err(bad(format!(
                "Incoming cookie data had unexpected name {} vs {name}",
                self.name
            )));
        }
        if self.uuid != uuid {
            return Err(bad(format!(
                "Incoming cookie data had unexpected UUID {} vs {uuid}",
                self.uuid
            )));
        }
        if self.hostuuid.eq_ignore_ascii_case(local_hostuuid) {
            return Err(bad(format!(
                "Attempt to migrate guest to the same host {}",
                self.hostuuid
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: u32 = (1 << FEATURES.len()) - 1;

    fn sample() -> Cookie {
        Cookie {
            name: "g<1>".into(),
            uuid: "c7a5fdbd-edaf-9455-926a-d65c16db1809".into(),
            hostname: "src".into(),
            hostuuid: "11111111-2222-3333-4444-555555555555".into(),
            mandatory: vec!["persistent".into()],
            lockstate: None,
            persistent: Some("<domain type='qemu'>\n  <name>g</name>\n</domain>".into()),
            statistics: vec![
                ("started".into(), "10".into()),
                ("sent".into(), "12".into()),
            ],
            caps: vec![("xbzrle".into(), false)],
            nbd: Some((49153, vec![("vda".into(), 1048576)])),
        }
    }

    #[test]
    fn format_then_parse_gives_the_same_cookie() {
        let c = sample();
        let bytes = c.to_bytes();
        assert_eq!(bytes.last(), Some(&0));
        let back = Cookie::parse(&bytes, ALL).unwrap().unwrap();
        assert_eq!(back.name, c.name);
        assert_eq!(back.mandatory, c.mandatory);
        assert_eq!(back.statistics, c.statistics);
        assert_eq!(back.caps, c.caps);
        assert_eq!(back.nbd, c.nbd);
        let dom = back.persistent.clone().unwrap();
        assert!(dom.starts_with("<domain type='qemu'>") && dom.ends_with("</domain>"));
    }

    #[test]
    fn format_follows_libvirt_layout() {
        let c = Cookie {
            name: "g".into(),
            uuid: "c7a5fdbd-edaf-9455-926a-d65c16db1809".into(),
            hostname: "h".into(),
            hostuuid: "11111111-2222-3333-4444-555555555555".into(),
            ..Cookie::default()
        };
        assert_eq!(
            c.to_xml(),
            "<qemu-migration>\n  <name>g</name>\n  <uuid>c7a5fdbd-edaf-9455-926a-d65c16db1809</uuid>\n  <hostname>h</hostname>\n  <hostuuid>11111111-2222-3333-4444-555555555555</hostuuid>\n</qemu-migration>\n"
        );
    }

    #[test]
    fn unknown_parts_are_skipped_but_unknown_mandatory_features_refused() {
        let doc = "<qemu-migration><name>g</name><uuid>u</uuid><hostname>h</hostname><hostuuid>11111111-2222-3333-4444-555555555555</hostuuid><graphics type='vnc' port='5900'/><whatever/></qemu-migration>\0";
        assert!(Cookie::parse(doc.as_bytes(), ALL).unwrap().is_some());
        let doc = doc.replace("<whatever/>", "<feature name='teleport'/>");
        let e = Cookie::parse(doc.as_bytes(), ALL).unwrap_err();
        assert_eq!(
            e.message(),
            "internal error: Unknown migration cookie feature teleport"
        );
        let doc = doc.replace("teleport", "nbd");
        let e = Cookie::parse(doc.as_bytes(), PERSISTENT).unwrap_err();
        assert_eq!(
            e.message(),
            "internal error: Unsupported migration cookie feature nbd"
        );
    }

    #[test]
    fn malformed_cookies_are_refused_with_libvirt_errors() {
        assert!(Cookie::parse(b"", ALL).unwrap().is_none());
        let e = Cookie::parse(b"<qemu-migration/>", ALL).unwrap_err();
        assert_eq!(
            e.message(),
            "internal error: Migration cookie was not NULL terminated"
        );
        let e =
            Cookie::parse(b"<qemu-migration><uuid>x</uuid></qemu-migration>\0", ALL).unwrap_err();
        assert_eq!(
            e.message(),
            "internal error: missing name element in migration data"
        );
        assert!(Cookie::parse(b"<qemu-migration>\0", ALL).is_err());
    }

    #[test]
    fn same_host_is_refused() {
        let c = sample();
        let e = c.check(&c.name, &c.uuid, &c.hostuuid).unwrap_err();
        assert!(e
            .message()
            .contains("Attempt to migrate guest to the same host"));
        assert!(c
            .check(&c.name, &c.uuid, "99999999-2222-3333-4444-555555555555")
            .is_ok());
        assert!(c.check("other", &c.uuid, "x").is_err());
    }
}

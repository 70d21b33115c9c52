// SPDX-License-Identifier: LGPL-2.1-or-later
//! Storage pool (`<pool>`) and volume (`<volume>`) definitions.
//!
//! Sizes are bytes. Units are accepted as libvirt accepts them and the
//! output always says `unit='bytes'`.

use crate::error::ConfError;
use crate::util::scaled_bytes;
use crate::uuid::Uuid;
use crate::xml::{self, Element};

/// Target permissions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Permissions {
    /// Octal mode.
    pub mode: Option<u32>,
    /// Owner uid.
    pub owner: Option<i64>,
    /// Group gid.
    pub group: Option<i64>,
    /// Security label.
    pub label: Option<String>,
}

impl Permissions {
    fn parse(e: Option<&Element>) -> Result<Option<Permissions>, ConfError> {
        let Some(e) = e else { return Ok(None) };
        let mode = match e.child_text("mode") {
            Some(m) => Some(
                u32::from_str_radix(m.trim(), 8)
                    .ok()
                    .filter(|v| *v <= 0o777 || *v <= 0o7777)
                    .ok_or_else(|| ConfError::xml("malformed octal mode"))?,
            ),
            None => None,
        };
        let id = |n: &str| -> Result<Option<i64>, ConfError> {
            match e.child_text(n) {
                // -1 (also written as its unsigned 32-bit value) means "not set".
                Some(v) => v
                    .trim()
                    .parse::<i64>()
                    .map(|v| Some(v).filter(|v| *v != -1 && *v != i64::from(u32::MAX)))
                    .map_err(|_| ConfError::xml(format!("malformed {n} element"))),
                None => Ok(None),
            }
        };
        Ok(Some(Permissions {
            mode,
            owner: id("owner")?,
            group: id("group")?,
            label: e.child_text("label"),
        }))
    }

    fn format(&self, out: &mut String, indent: usize) {
        if self.mode.is_none()
            && self.owner.is_none()
            && self.group.is_none()
            && self.label.is_none()
        {
            return;
        }
        let p = " ".repeat(indent);
        out.push_str(&format!("{p}<permissions>\n"));
        if let Some(m) = self.mode {
            out.push_str(&format!("{p}  <mode>0{m:o}</mode>\n"));
        }
        if let Some(o) = self.owner {
            out.push_str(&format!("{p}  <owner>{o}</owner>\n"));
        }
        if let Some(g) = self.group {
            out.push_str(&format!("{p}  <group>{g}</group>\n"));
        }
        if let Some(l) = &self.label {
            out.push_str(&format!("{p}  <label>{}</label>\n", xml::escape(l)));
        }
        out.push_str(&format!("{p}</permissions>\n"));
    }
}

/// A storage pool definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolDef {
    /// Pool type (`dir`, `fs`, `netfs`, `logical`, ...).
    pub pool_type: String,
    /// Name.
    pub name: String,
    /// UUID.
    pub uuid: Uuid,
    /// Capacity in bytes.
    pub capacity: u64,
    /// Allocation in bytes.
    pub allocation: u64,
    /// Available bytes.
    pub available: u64,
    /// `<source>` kept as XML.
    pub source: Option<Element>,
    /// `<target><path>`.
    pub target_path: Option<String>,
    /// `<target><permissions>`.
    pub target_perms: Permissions,
    /// Other children (features, refresh, namespace data) kept as XML.
    pub other: Vec<Element>,
    /// Namespace declarations of the root that namespace data uses.
    pub root_ns: Vec<(String, String)>,
}

/// virStoragePoolType names, in the order of their values (0 is "dir").
pub const POOL_TYPES: &[&str] = &[
    "dir",
    "fs",
    "netfs",
    "logical",
    "disk",
    "iscsi",
    "iscsi-direct",
    "scsi",
    "mpath",
    "rbd",
    "sheepdog",
    "gluster",
    "zfs",
    "vstorage",
];

fn size_of(e: Option<&Element>, what: &str) -> Result<u64, ConfError> {
    match e {
        Some(e) => scaled_bytes(e.text().trim(), e.attr("unit"), 1, what),
        None => Ok(0),
    }
}

fn err_pool(msg: impl Into<String>) -> ConfError {
    ConfError::new(crate::error::XML_ERROR, msg)
}

impl PoolDef {
    /// Parses and validates a `<pool>` document.
    pub fn parse_str(text: &str) -> Result<PoolDef, ConfError> {
        let root = xml::parse_document(text, "(storage_pool_definition)", "pool")?;
        Self::from_element(&root)
    }

    /// Parses an already read `<pool>` element.
    pub fn from_element(root: &Element) -> Result<PoolDef, ConfError> {
        let ty = root.attr("type").ok_or_else(|| {
            ConfError::xml_layer("Missing required attribute 'type' in element 'pool'")
        })?;
        if !POOL_TYPES.contains(&ty) {
            return Err(ConfError::xml_layer(format!(
                "Invalid value for attribute 'type' in element 'pool': '{ty}'."
            )));
        }
        // A pool type that names its source may leave its own name to it.
        let name = root
            .child_text("name")
            .filter(|n| !n.is_empty())
            .or_else(|| {
                root.child("source")
                    .filter(|_| names_source(ty))
                    .and_then(|s| s.child_text("name"))
                    .filter(|n| !n.is_empty())
            })
            .ok_or_else(|| err_pool("missing pool source name element"))?;
        if name.contains('/') {
            return Err(err_pool(format!("name {name} cannot contain '/'")));
        }
        let uuid = match root.child_text("uuid").filter(|u| !u.trim().is_empty()) {
            Some(u) => Uuid::parse(&u).ok_or_else(|| err_pool("malformed uuid element"))?,
            None => Uuid::generate()?,
        };
        let target = root.child("target");
        let source = normalise_pool_source(root.child("source"), ty, &name);
        let source_name = source.child_text("name");
        // Logical and ZFS pools live where their source name says.
        let target_path = match (ty, &source_name) {
            ("logical", Some(n)) => Some(format!("/dev/{n}")),
            ("zfs", Some(n)) => Some(format!("/dev/zvol/{n}")),
            _ => target.and_then(|t| t.child_text("path")),
        };
        if ty == "iscsi-direct" {
            // libvirt's source options for the type: a host is required,
            // then (after the target, which this type has none of) the
            // initiator's IQN.
            if source.child("host").is_none() {
                return Err(err_pool("missing storage pool source host name"));
            }
            let iqn = source
                .child("initiator")
                .and_then(|i| i.child("iqn"))
                .and_then(|q| q.attr("name"));
            if iqn.is_none() {
                return Err(ConfError::new(
                    crate::error::CONFIG_UNSUPPORTED,
                    "missing initiator IQN",
                ));
            }
        }
        let needs_target = !matches!(ty, "rbd" | "sheepdog" | "gluster" | "iscsi-direct");
        if needs_target && !matches!(target_path.as_deref(), Some(p) if !p.is_empty()) {
            return Err(err_pool("missing storage pool target path"));
        }
        let target_perms =
            Permissions::parse(target.and_then(|t| t.child("permissions")))?.unwrap_or_default();
        let mut other = Vec::new();
        let mut root_ns = Vec::new();
        for (k, v) in &root.attrs {
            if let Some(p) = k.strip_prefix("xmlns:") {
                let prefix = format!("{p}:");
                if root.elements().any(|c| c.name.starts_with(&prefix)) {
                    root_ns.push((k.clone(), v.clone()));
                }
            }
        }
        for c in root.elements() {
            // Unknown elements are ignored, as libvirt does (the test
            // driver's node files nest <volume> inside <pool>).
            if c.name == "features" || c.name == "refresh" || c.name.contains(':') {
                other.push(c.clone());
            }
        }
        Ok(PoolDef {
            pool_type: ty.to_string(),
            name,
            uuid,
            // Sizes are what a running pool reports; libvirt never reads
            // them from a definition.
            capacity: 0,
            allocation: 0,
            available: 0,
            source: Some(source),
            target_path: target_path.map(|p| normalise_path(&p)),
            target_perms,
            other,
            root_ns,
        })
    }

    /// Forgets the elements of the XML namespace `prefix` (and its
    /// declaration): libvirt keeps a pool's namespaced elements only when
    /// the backend that owns the namespace is loaded.
    pub fn drop_namespace(&mut self, prefix: &str) {
        let elems = format!("{prefix}:");
        let decl = format!("xmlns:{prefix}");
        self.other.retain(|c| !c.name.starts_with(&elems));
        self.root_ns.retain(|(k, _)| *k != decl);
    }

    /// Formats as libvirt's virStoragePoolDefFormat.
    pub fn to_xml(&self) -> String {
        let mut out = format!("<pool type='{}'", self.pool_type);
        for (k, v) in &self.root_ns {
            out.push_str(&format!(" {k}='{}'", xml::escape(v)));
        }
        out.push_str(">\n");
        out.push_str(&format!("  <name>{}</name>\n", xml::escape(&self.name)));
        out.push_str(&format!("  <uuid>{}</uuid>\n", self.uuid));
        out.push_str(&format!(
            "  <capacity unit='bytes'>{}</capacity>\n",
            self.capacity
        ));
        out.push_str(&format!(
            "  <allocation unit='bytes'>{}</allocation>\n",
            self.allocation
        ));
        out.push_str(&format!(
            "  <available unit='bytes'>{}</available>\n",
            self.available
        ));
        for e in self.other.iter().filter(|e| e.name == "features") {
            e.write_libvirt(&mut out, 2);
        }
        match &self.source {
            Some(s) if !s.is_empty() => {
                let mut s = s.clone();
                if s.children.is_empty() {
                    s.children.clear();
                }
                s.write_libvirt(&mut out, 2);
            }
            _ => out.push_str("  <source>\n  </source>\n"),
        }
        if let Some(p) = &self.target_path {
            out.push_str("  <target>\n");
            out.push_str(&format!("    <path>{}</path>\n", xml::escape(p)));
            self.target_perms.format(&mut out, 4);
            out.push_str("  </target>\n");
        }
        for e in self.other.iter().filter(|e| e.name != "features") {
            e.write_libvirt(&mut out, 2);
        }
        out.push_str("</pool>\n");
        out
    }
}

/// Pool types whose source has a name (a volume group, an RBD pool, ...).
fn names_source(ty: &str) -> bool {
    matches!(
        ty,
        "logical" | "rbd" | "sheepdog" | "gluster" | "zfs" | "vstorage"
    )
}

/// `<source>` with libvirt's defaults (the pool's name as source name
/// where the pool type names its source, the type's default format,
/// gluster's `/` directory, a named adapter being a SCSI host) and its
/// children in libvirt's order, `<auth>` with its type first.
fn normalise_pool_source(src: Option<&Element>, ty: &str, pool_name: &str) -> Element {
    const ORDER: &[&str] = &[
        "host",
        "device",
        "dir",
        "adapter",
        "name",
        "initiator",
        "format",
        "auth",
        "protocol",
        "vendor",
        "product",
    ];
    let mut s = src.cloned().unwrap_or_else(|| Element::new("source"));
    if names_source(ty) && s.child("name").is_none() {
        s.push(Element::new("name").with_text(pool_name));
    }
    let default_format = match ty {
        "logical" => Some("lvm2"),
        "fs" | "netfs" => Some("auto"),
        "disk" => Some("unknown"),
        _ => None,
    };
    if let (Some(f), None) = (default_format, s.child("format")) {
        s.push(Element::new("format").with_attr("type", f));
    }
    for d in s.elements_mut().filter(|c| c.name == "dir") {
        if let Some(p) = d.attr("path").map(normalise_path) {
            d.set_attr("path", &p);
        }
    }
    if ty == "gluster" && s.child("dir").is_none() {
        s.push(Element::new("dir").with_attr("path", "/"));
    }
    for a in s.elements_mut().filter(|c| c.name == "adapter") {
        if a.attr("type").is_none() && a.attr("name").is_some() {
            a.insert_attr(0, "type", "scsi_host");
        }
    }
    // Free extents are what the pool reports, not part of a definition.
    for d in s.elements_mut().filter(|c| c.name == "device") {
        d.remove_children("freeExtent");
    }
    s.order_children(ORDER);
    for a in s.elements_mut().filter(|c| c.name == "auth") {
        if let Some(t) = a.remove_attr("type") {
            a.insert_attr(0, "type", &t);
        }
    }
    s
}

fn normalise_path(p: &str) -> String {
    // libvirt collapses repeated slashes and drops a trailing one.
    let mut out = String::with_capacity(p.len());
    let mut prev_slash = false;
    for c in p.chars() {
        if c == '/' {
            if prev_slash {
                continue;
            }
            prev_slash = true;
        } else {
            prev_slash = false;
        }
        out.push(c);
    }
    if out.len() > 1 && out.ends_with('/') {
        out.pop();
    }
    out
}

/// A storage volume definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolDef {
    /// Volume type attribute (`file`, `block`, `dir`, `network`, `netdir`, `ploop`).
    pub vol_type: String,
    /// Name.
    pub name: String,
    /// Key (usually the path), set by the pool driver.
    pub key: Option<String>,
    /// Capacity in bytes.
    pub capacity: u64,
    /// Allocation in bytes.
    pub allocation: u64,
    /// Physical size in bytes, when known.
    pub physical: Option<u64>,
    /// `<target><path>`.
    pub target_path: Option<String>,
    /// `<target><format type>`.
    pub format: Option<String>,
    /// `<target><permissions>`.
    pub target_perms: Permissions,
    /// `<backingStore>` kept as XML.
    pub backing_store: Option<Element>,
    /// `<source>` kept as XML.
    pub source: Option<Element>,
    /// `<target><encryption>` kept as XML.
    pub encryption: Option<Element>,
    /// `<target><compat>`: the qcow2 compatibility level.
    pub compat: Option<String>,
    /// `<target><clusterSize>` in bytes.
    pub cluster_size: Option<u64>,
    /// `<target><features>`: qcow2 features by name (in libvirt's order),
    /// `None` without the element.
    pub features: Option<Vec<String>>,
    /// `<target><timestamps>`: what the pool read from the file (never
    /// parsed from a definition).
    pub timestamps: Option<VolTimestamps>,
    /// `<target><nocow/>`: create without copy-on-write (never formatted).
    pub nocow: bool,
}

/// A volume file's times as libvirt reports them: seconds and
/// nanoseconds; a negative nanosecond count leaves the element out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VolTimestamps {
    pub atime: (i64, i64),
    pub mtime: (i64, i64),
    pub ctime: (i64, i64),
    /// Birth time: (0, 0) where the file system does not say.
    pub btime: (i64, i64),
}

impl VolTimestamps {
    /// The `<timestamps>` element at `indent`.
    pub fn format(&self, out: &mut String, indent: usize) {
        let p = " ".repeat(indent);
        out.push_str(&format!("{p}<timestamps>\n"));
        for (name, (sec, nsec)) in [
            ("atime", self.atime),
            ("mtime", self.mtime),
            ("ctime", self.ctime),
            ("btime", self.btime),
        ] {
            if nsec < 0 {
                continue;
            }
            if nsec == 0 {
                out.push_str(&format!("{p}  <{name}>{sec}</{name}>\n"));
            } else {
                out.push_str(&format!("{p}  <{name}>{sec}.{nsec:09}</{name}>\n"));
            }
        }
        out.push_str(&format!("{p}</timestamps>\n"));
    }
}

/// `<backingStore>` with its format (raw when unsaid) and its children in
/// libvirt's order (path, format, permissions with mode, owner, group,
/// label).
fn normalise_backing_store(b: &Element) -> Element {
    let mut b = b.clone();
    // The format defaults to the pool's default, raw for file pools.
    if b.child("format").is_none() {
        b.push(Element::new("format").with_attr("type", "raw"));
    }
    b.order_children(&["path", "format", "permissions"]);
    for p in b.elements_mut().filter(|c| c.name == "permissions") {
        p.order_children(&["mode", "owner", "group", "label"]);
    }
    b
}

/// A volume size as libvirt's virStorageSize reads it: a decimal count
/// (nothing else around it), scaled by the unit, at most i64::MAX.
fn vol_size(e: &Element) -> Result<u64, ConfError> {
    let text = e.text();
    let digits = text.trim_start();
    let n: u64 = if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        digits
            .parse()
            .map_err(|_| ConfError::xml("malformed capacity element"))?
    } else {
        return Err(ConfError::xml("malformed capacity element"));
    };
    let v = scaled_bytes(&n.to_string(), e.attr("unit"), 1, "capacity")?;
    if v > i64::MAX as u64 {
        return Err(ConfError::new(
            crate::error::ErrorCode::Overflow,
            format!("Value too large: {n}{}", e.attr("unit").unwrap_or("")),
        ));
    }
    Ok(v)
}

/// qcow2 features libvirt knows, in its order.
const VOL_FEATURES: &[&str] = &["lazy_refcounts", "extended_l2"];

impl VolDef {
    /// Parses and validates a `<volume>` document.
    pub fn parse_str(text: &str) -> Result<VolDef, ConfError> {
        let root = xml::parse_document(text, "(storage_volume_definition)", "volume")?;
        Self::from_element(&root)
    }

    /// Parses a `<volume>` of `pool` as libvirt's virStorageVolDefParse
    /// does: the pool type's default format (raw for file pools, none
    /// for disk pools), no format at all for pool types without volume
    /// formats; `no_capacity`: a missing capacity is 0 (a volume made
    /// from another takes the other's).
    pub fn parse_in_pool(
        text: &str,
        pool: &PoolDef,
        no_capacity: bool,
    ) -> Result<VolDef, ConfError> {
        let mut root = xml::parse_document(text, "(storage_volume_definition)", "volume")?;
        if no_capacity && root.child("capacity").is_none() {
            root.push(Element::new("capacity").with_text("0"));
        }
        let v = Self::from_element(&root)?;
        v.in_pool(pool)
    }

    /// A parsed volume placed in `pool`: its format checked against the
    /// formats the pool type knows ("unknown volume format type X"), the
    /// pool type's default format filled in, the format dropped for pool
    /// types whose volumes have none.
    pub fn in_pool(self, pool: &PoolDef) -> Result<VolDef, ConfError> {
        if let Some(known) = vol_formats(&pool.pool_type) {
            let bad = |f: &str| ConfError::unsupported(format!("unknown volume format type {f}"));
            // A backing store's format is checked first, as libvirt does;
            // disk pools have no backing stores of their own formats.
            if pool.pool_type != "disk" {
                if let Some(f) = self
                    .backing_store
                    .as_ref()
                    .and_then(|b| b.child("format"))
                    .and_then(|f| f.attr("type"))
                {
                    if !known.contains(&f) {
                        return Err(bad(f));
                    }
                }
            }
            if let Some(f) = self.format.as_deref() {
                if !known.contains(&f) {
                    return Err(bad(f));
                }
            }
        }
        let mut v = self;
        match vol_default_format(&pool.pool_type) {
            Some(d) => {
                if v.format.is_none() {
                    v.format = Some(d.to_string());
                }
            }
            None => {
                v.format = None;
                if let Some(b) = v.backing_store.as_mut() {
                    b.remove_children("format");
                }
            }
        }
        Ok(v)
    }

    /// Parses an already read `<volume>` element.
    pub fn from_element(root: &Element) -> Result<VolDef, ConfError> {
        let name = root
            .child_text("name")
            .filter(|n| !n.is_empty())
            .ok_or_else(|| ConfError::xml("missing volume name element"))?;
        // A '/' in the name is the pool's to refuse (its volumes are
        // not recursive), not the parser's.
        let vol_type = root.attr("type").unwrap_or("file");
        if !matches!(
            vol_type,
            "file" | "block" | "dir" | "network" | "netdir" | "ploop"
        ) {
            return Err(ConfError::unsupported(format!(
                "unknown volume type '{vol_type}'"
            )));
        }
        let cap = root
            .child("capacity")
            .ok_or_else(|| ConfError::xml("missing capacity element"))?;
        let capacity = vol_size(cap)?;
        let allocation = match root.child("allocation") {
            Some(a) => vol_size(a)?,
            None => capacity,
        };
        let target = root.child("target");
        let mut compat = target.and_then(|t| t.child_text("compat"));
        if let Some(c) = &compat {
            let ok = c.split_once('.').is_some_and(|(a, b)| {
                [a, b]
                    .iter()
                    .all(|p| !p.is_empty() && p.bytes().all(|x| x.is_ascii_digit()))
            });
            if !ok {
                return Err(ConfError::xml("forbidden characters in 'compat' attribute"));
            }
        }
        let cluster_size = match target.and_then(|t| t.child("clusterSize")) {
            Some(c) => Some(size_of(Some(c), "clusterSize")?),
            None => None,
        };
        let features = match target.and_then(|t| t.child("features")) {
            Some(f) => {
                let mut names = Vec::new();
                for c in f.elements() {
                    if !VOL_FEATURES.contains(&c.name.as_str()) {
                        return Err(ConfError::unsupported(format!(
                            "unsupported feature {}",
                            c.name
                        )));
                    }
                    names.push(c.name.clone());
                }
                // Features need qcow2 v3.
                compat.get_or_insert_with(|| "1.1".to_string());
                Some(
                    VOL_FEATURES
                        .iter()
                        .filter(|f| names.iter().any(|n| n == *f))
                        .map(|f| f.to_string())
                        .collect(),
                )
            }
            None => None,
        };
        Ok(VolDef {
            encryption: target.and_then(|t| t.child("encryption")).cloned(),
            compat,
            cluster_size,
            features,
            vol_type: root.attr("type").unwrap_or("file").to_string(),
            name,
            key: root.child_text("key"),
            capacity,
            allocation,
            // The physical size is what the pool reports, never read from
            // a definition.
            physical: None,
            target_path: target.and_then(|t| t.child_text("path")),
            format: target
                .and_then(|t| t.child("format"))
                .and_then(|f| f.attr("type"))
                .map(str::to_string),
            target_perms: Permissions::parse(target.and_then(|t| t.child("permissions")))?
                .unwrap_or_default(),
            backing_store: root.child("backingStore").map(normalise_backing_store),
            // A volume's extents come from its pool, never from a
            // definition: libvirt ignores <source>.
            source: None,
            timestamps: None,
            nocow: target.and_then(|t| t.child("nocow")).is_some(),
        })
    }

    /// Formats as libvirt's virStorageVolDefFormat.
    pub fn to_xml(&self) -> String {
        let mut out = format!("<volume type='{}'>\n", self.vol_type);
        out.push_str(&format!("  <name>{}</name>\n", xml::escape(&self.name)));
        if let Some(k) = &self.key {
            out.push_str(&format!("  <key>{}</key>\n", xml::escape(k)));
        }
        match &self.source {
            Some(s) if !s.is_empty() => s.write_libvirt(&mut out, 2),
            // An empty <source> is left out, as libvirt 9.6 does for volumes.
            _ => {}
        }
        out.push_str(&format!(
            "  <capacity unit='bytes'>{}</capacity>\n",
            self.capacity
        ));
        out.push_str(&format!(
            "  <allocation unit='bytes'>{}</allocation>\n",
            self.allocation
        ));
        if let Some(p) = self.physical {
            out.push_str(&format!("  <physical unit='bytes'>{p}</physical>\n"));
        }
        out.push_str("  <target>\n");
        if let Some(p) = &self.target_path {
            out.push_str(&format!("    <path>{}</path>\n", xml::escape(p)));
        }
        if let Some(f) = &self.format {
            out.push_str(&format!("    <format type='{f}'/>\n"));
        }
        self.target_perms.format(&mut out, 4);
        if let Some(t) = &self.timestamps {
            t.format(&mut out, 4);
        }
        if let Some(e) = &self.encryption {
            e.write_libvirt(&mut out, 4);
        }
        if let Some(c) = &self.compat {
            out.push_str(&format!("    <compat>{}</compat>\n", xml::escape(c)));
        }
        if let Some(c) = self.cluster_size.filter(|c| *c > 0) {
            out.push_str(&format!("    <clusterSize unit='B'>{c}</clusterSize>\n"));
        }
        match &self.features {
            Some(f) if f.is_empty() => out.push_str("    <features/>\n"),
            Some(f) => {
                out.push_str("    <features>\n");
                for n in f {
                    out.push_str(&format!("      <{n}/>\n"));
                }
                out.push_str("    </features>\n");
            }
            None => {}
        }
        out.push_str("  </target>\n");
        if let Some(b) = &self.backing_store {
            b.write_libvirt(&mut out, 2);
        }
        out.push_str("</volume>\n");
        out
    }
}

/// Volume formats of file-based pools (virStorageFileFormat, in order).
const FILE_VOL_FORMATS: &[&str] = &[
    "none", "raw", "dir", "bochs", "cloop", "dmg", "iso", "vpc", "vdi", "fat", "vhd", "ploop",
    "cow", "qcow", "qcow2", "qed", "vmdk",
];

/// `virsh pool-capabilities`: every pool type libvirt knows, in its
/// order, `supported='yes'` for those in `supported`, with the source
/// and volume formats each type accepts.
pub fn pool_capabilities(supported: &[&str]) -> String {
    let mut out = String::from("<storagepoolCapabilities>\n");
    let enum_block = |out: &mut String, tag: &str, default: &str, name: &str, vals: &[&str]| {
        out.push_str(&format!("    <{tag}>\n"));
        out.push_str(&format!("      <defaultFormat type='{default}'/>\n"));
        out.push_str(&format!("      <enum name='{name}'>\n"));
        for v in vals {
            out.push_str(&format!("        <value>{v}</value>\n"));
        }
        out.push_str("      </enum>\n");
        out.push_str(&format!("    </{tag}>\n"));
    };
    for ty in [
        "dir",
        "fs",
        "netfs",
        "logical",
        "disk",
        "iscsi",
        "iscsi-direct",
        "scsi",
        "mpath",
        "rbd",
        "sheepdog",
        "gluster",
        "zfs",
        "vstorage",
    ] {
        let yes = if supported.contains(&ty) { "yes" } else { "no" };
        out.push_str(&format!("  <pool type='{ty}' supported='{yes}'>\n"));
        let pool_formats: Option<(&str, &[&str])> = match ty {
            "fs" => Some((
                "auto",
                &[
                    "auto", "ext2", "ext3", "ext4", "ufs", "iso9660", "udf", "gfs", "gfs2", "vfat",
                    "hfs+", "xfs", "ocfs2", "vmfs",
                ],
            )),
            "netfs" => Some(("auto", &["auto", "nfs", "glusterfs", "cifs"])),
            "logical" => Some(("lvm2", &["unknown", "lvm2"])),
            "disk" => Some((
                "unknown",
                &[
                    "unknown", "dos", "dvh", "gpt", "mac", "bsd", "pc98", "sun", "lvm2",
                ],
            )),
            _ => None,
        };
        if let Some((d, vals)) = pool_formats {
            enum_block(&mut out, "poolOptions", d, "sourceFormatType", vals);
        }
        let vol_formats: Option<(&str, &[&str])> = match ty {
            "dir" | "fs" | "netfs" | "gluster" | "vstorage" => Some(("raw", FILE_VOL_FORMATS)),
            "disk" => Some(("none", DISK_VOL_FORMATS)),
            "rbd" => Some(("raw", &[])),
            _ => None,
        };
        if let Some((d, vals)) = vol_formats {
            enum_block(&mut out, "volOptions", d, "targetFormatType", vals);
        }
        out.push_str("  </pool>\n");
    }
    out.push_str("</storagepoolCapabilities>\n");
    out
}

/// Volume formats of disk pools (partition types, in libvirt's order).
const DISK_VOL_FORMATS: &[&str] = &[
    "none",
    "linux",
    "fat16",
    "fat32",
    "linux-swap",
    "linux-lvm",
    "linux-raid",
    "extended",
];

/// The volume formats a pool type accepts in a definition, `None` for
/// pool types whose volumes have no format. File-based pools take every
/// image format but `none`.
pub fn vol_formats(pool_type: &str) -> Option<&'static [&'static str]> {
    match pool_type {
        "dir" | "fs" | "netfs" | "gluster" | "vstorage" | "rbd" => Some(&FILE_VOL_FORMATS[1..]),
        "disk" => Some(DISK_VOL_FORMATS),
        _ => None,
    }
}

/// The default volume format of a pool type, `None` for pool types whose
/// volumes have no format (logical, iscsi, scsi, mpath, zfs, sheepdog).
pub fn vol_default_format(pool_type: &str) -> Option<&'static str> {
    match pool_type {
        "dir" | "fs" | "netfs" | "gluster" | "vstorage" | "rbd" => Some("raw"),
        "disk" => Some("none"),
        _ => None,
    }
}

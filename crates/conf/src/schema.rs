// SPDX-License-Identifier: LGPL-2.1-or-later
//! Structural schema checks for `VIR_DOMAIN_DEFINE_VALIDATE` /
//! `VIR_DOMAIN_START_VALIDATE`.
//!
//! libvirt validates the raw document against `domain.rng` with libxml2's
//! RELAX NG engine. This crate does not carry a RELAX NG engine; instead it
//! checks the part of the grammar that catches the usual mistakes, and
//! reports them the way libvirt does: VIR_ERR_XML_INVALID_SCHEMA with
//! "Unable to validate doc against <schemadir>/domain.rng" followed by
//! libxml2-style diagnostics naming the offending element or attribute.
//!
//! What is checked (everything else is left to the ordinary parser):
//! - `<domain>`: `type` present and one of the hypervisor names of the
//!   schema; no attributes besides `type`, `id` and namespace declarations;
//! - the children of `<domain>`: only the elements `domain.rng` allows
//!   there (names of the schema's `domaincontents`), plus the namespaced
//!   extensions it knows (qemu, lxc, bhyve, xen, vmware) with their own
//!   namespace URIs; `<name>` is required, and `<os>` unless a
//!   `<bootloader>` is given;
//! - the children of `<devices>`: only the device elements of the schema;
//! - enumerated values: `on_poweroff`/`on_reboot`/`on_crash`/
//!   `on_lockfailure` text, `<os><type>` text, `<clock offset>`,
//!   `<disk type/device>`, `<interface type>`, `<graphics type>`,
//!   `<filesystem type>`, `<controller type>`.
//!
//! Every document in the corpus that xmllint accepts passes these checks
//! (a test holds that), so the checks never refuse a schema-valid document.

use crate::error::{ConfError, XML_INVALID_SCHEMA};
use crate::xml::Element;

/// Where libvirt installs its schemas; part of the error text.
pub const SCHEMA_DIR: &str = "/usr/share/libvirt/schemas";

const HYPERVISORS: &[&str] = &[
    "qemu", "kqemu", "kvm", "xen", "lxc", "uml", "openvz", "test", "vmware", "hyperv", "vbox",
    "phyp", "vz", "bhyve", "hvf",
];

/// The un-namespaced children `domain.rng` allows in `<domain>`.
pub(crate) const TOP_LEVEL: &[&str] = &[
    "name",
    "uuid",
    "genid",
    "title",
    "description",
    "metadata",
    "cpu",
    "sysinfo",
    "os",
    "bootloader",
    "bootloader_args",
    "clock",
    "memory",
    "maxMemory",
    "currentMemory",
    "memoryBacking",
    "vcpu",
    "vcpus",
    "iothreads",
    "iothreadids",
    "defaultiothread",
    "blkiotune",
    "memtune",
    "cputune",
    "numatune",
    "resource",
    "features",
    "on_poweroff",
    "on_reboot",
    "on_crash",
    "on_lockfailure",
    "pm",
    "perf",
    "idmap",
    "devices",
    "seclabel",
    "keywrap",
    "launchSecurity",
];

/// Namespaced top-level extensions: (namespace URI, local names).
const EXTENSIONS: &[(&str, &[&str])] = &[
    (
        "http://libvirt.org/schemas/domain/qemu/1.0",
        &["commandline", "capabilities", "deprecation", "override"],
    ),
    ("http://libvirt.org/schemas/domain/lxc/1.0", &["namespace"]),
    (
        "http://libvirt.org/schemas/domain/bhyve/1.0",
        &["commandline"],
    ),
    (
        "http://libvirt.org/schemas/domain/xen/1.0",
        &["commandline"],
    ),
    (
        "http://libvirt.org/schemas/domain/vmware/1.0",
        &["datacenterpath"],
    ),
];

/// The children `domain.rng` allows in `<devices>`.
pub(crate) const DEVICES: &[&str] = &[
    "emulator",
    "disk",
    "controller",
    "lease",
    "filesystem",
    "interface",
    "input",
    "sound",
    "audio",
    "hostdev",
    "graphics",
    "video",
    "console",
    "parallel",
    "serial",
    "channel",
    "smartcard",
    "hub",
    "redirdev",
    "redirfilter",
    "rng",
    "tpm",
    "shmem",
    "memory",
    "crypto",
    "watchdog",
    "memballoon",
    "nvram",
    "panic",
    "iommu",
    "vsock",
];

const OFF_OPTIONS: &[&str] = &["destroy", "restart", "preserve", "rename-restart"];
const CRASH_OPTIONS: &[&str] = &[
    "destroy",
    "restart",
    "preserve",
    "rename-restart",
    "coredump-destroy",
    "coredump-restart",
];
const LOCKFAILURE_OPTIONS: &[&str] = &["poweroff", "restart", "pause", "ignore"];
const OS_TYPES: &[&str] = &["hvm", "xen", "linux", "xenpvh", "exe"];
const CLOCK_OFFSETS: &[&str] = &["localtime", "utc", "timezone", "variable", "absolute"];
const DISK_TYPES: &[&str] = &[
    "file",
    "block",
    "dir",
    "network",
    "volume",
    "nvme",
    "vhostuser",
];
const DISK_DEVICES: &[&str] = &["floppy", "disk", "cdrom", "lun"];
const INTERFACE_TYPES: &[&str] = &[
    "bridge",
    "client",
    "direct",
    "ethernet",
    "hostdev",
    "internal",
    "mcast",
    "network",
    "null",
    "server",
    "udp",
    "user",
    "vdpa",
    "vds",
    "vhostuser",
];
const GRAPHICS_TYPES: &[&str] = &[
    "sdl",
    "vnc",
    "spice",
    "dbus",
    "rdp",
    "desktop",
    "egl-headless",
];
const FILESYSTEM_TYPES: &[&str] = &[
    "file", "block", "mount", "bind", "template", "ram", "volume",
];
const CONTROLLER_TYPES: &[&str] = &[
    "fdc",
    "scsi",
    "usb",
    "ide",
    "isa",
    "pci",
    "sata",
    "ccid",
    "virtio-serial",
    "xenbus",
];

fn invalid(details: &[String]) -> ConfError {
    let mut msg = format!("Unable to validate doc against {SCHEMA_DIR}/domain.rng\n");
    for d in details {
        msg.push_str(d);
        msg.push('\n');
    }
    ConfError::new(XML_INVALID_SCHEMA, msg)
}

/// The namespace URI a prefixed element name is bound to, looked up on the
/// element and then on the root.
fn namespace_of<'a>(el: &'a Element, root: &'a Element) -> Option<&'a str> {
    let prefix = el.name.split_once(':')?.0;
    let key = format!("xmlns:{prefix}");
    el.attr(&key).or_else(|| root.attr(&key))
}

fn check_attr(el: &Element, attr: &str, allowed: &[&str]) -> Result<(), ConfError> {
    match el.attr(attr) {
        Some(v) if !allowed.contains(&v) => Err(invalid(&[format!(
            "Invalid attribute {attr} for element {}",
            el.name
        )])),
        _ => Ok(()),
    }
}

fn check_text(el: &Element, allowed: &[&str]) -> Result<(), ConfError> {
    let t = el.text();
    if allowed.contains(&t.trim()) {
        Ok(())
    } else {
        Err(invalid(&[
            "Error validating value ".to_string(),
            format!("Element {} failed to validate content", el.name),
        ]))
    }
}

fn extra(name: &str, parent: &str) -> ConfError {
    invalid(&[
        format!("Extra element {name} in interleave"),
        format!("Element {parent} failed to validate content"),
    ])
}

/// Checks a raw `<domain>` element; see the module documentation for what
/// is covered.
pub fn validate_domain(root: &Element) -> Result<(), ConfError> {
    match root.attr("type") {
        None => {
            return Err(invalid(&[
                "Element domain failed to validate attributes".to_string()
            ]))
        }
        Some(t) if !HYPERVISORS.contains(&t) => {
            return Err(invalid(&[
                "Invalid attribute type for element domain".to_string()
            ]))
        }
        Some(_) => {}
    }
    for (k, _) in &root.attrs {
        if k != "type" && k != "id" && k != "xmlns" && !k.starts_with("xmlns:") {
            return Err(invalid(&[format!(
                "Invalid attribute {k} for element domain"
            )]));
        }
    }
    for c in root.elements() {
        if c.name.contains(':') {
            let known = namespace_of(c, root).is_some_and(|ns| {
                EXTENSIONS
                    .iter()
                    .any(|(uri, names)| *uri == ns && names.contains(&c.local_name()))
            });
            if !known {
                return Err(extra(&c.name, "domain"));
            }
            continue;
        }
        if !TOP_LEVEL.contains(&c.name.as_str()) {
            return Err(extra(&c.name, "domain"));
        }
        match c.name.as_str() {
            "on_poweroff" | "on_reboot" => check_text(c, OFF_OPTIONS)?,
            "on_crash" => check_text(c, CRASH_OPTIONS)?,
            "on_lockfailure" => check_text(c, LOCKFAILURE_OPTIONS)?,
            "clock" => check_attr(c, "offset", CLOCK_OFFSETS)?,
            "os" => {
                if let Some(t) = c.child("type") {
                    check_text(t, OS_TYPES)?;
                }
            }
            "devices" => validate_devices(c)?,
            _ => {}
        }
    }
    if root.child("name").is_none() {
        return Err(invalid(&[
            "Expecting an element name, got nothing".to_string(),
            "Element domain failed to validate content".to_string(),
        ]));
    }
    if root.child("os").is_none() && root.child("bootloader").is_none() {
        return Err(invalid(&[
            "Expecting an element os, got nothing".to_string(),
            "Element domain failed to validate content".to_string(),
        ]));
    }
    Ok(())
}

fn validate_devices(devices: &Element) -> Result<(), ConfError> {
    for d in devices.elements() {
        if !DEVICES.contains(&d.name.as_str()) {
            return Err(extra(&d.name, "devices"));
        }
        match d.name.as_str() {
            "disk" => {
                check_attr(d, "type", DISK_TYPES)?;
                check_attr(d, "device", DISK_DEVICES)?;
            }
            "interface" => check_attr(d, "type", INTERFACE_TYPES)?,
            "graphics" => check_attr(d, "type", GRAPHICS_TYPES)?,
            "filesystem" => check_attr(d, "type", FILESYSTEM_TYPES)?,
            "controller" => check_attr(d, "type", CONTROLLER_TYPES)?,
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::parse_document;

    fn check(doc: &str) -> Result<(), ConfError> {
        validate_domain(&parse_document(doc, "t", "domain").expect("well-formed"))
    }

    const OK: &str = "<domain type='lxc'><name>c</name><memory>1024</memory><os><type>exe</type><init>/bin/sh</init></os><devices><console type='pty'/></devices></domain>";

    #[test]
    fn a_minimal_container_passes() {
        assert_eq!(check(OK), Ok(()));
    }

    #[test]
    fn an_unknown_top_level_element_is_named() {
        let e = check(&OK.replace("<memory>", "<memroy>1</memroy><memory>")).expect_err("bad");
        assert_eq!(e.code, XML_INVALID_SCHEMA);
        assert_eq!(
            e.detail_text(),
            "Unable to validate doc against /usr/share/libvirt/schemas/domain.rng\nExtra element memroy in interleave\nElement domain failed to validate content\n"
        );
    }

    #[test]
    fn an_unknown_device_is_named() {
        let e = check(&OK.replace("<console", "<consol type='pty'/><console")).expect_err("bad");
        assert!(e
            .detail_text()
            .contains("Extra element consol in interleave\nElement devices failed"));
    }

    #[test]
    fn enumerated_values_are_checked() {
        let e =
            check(&OK.replace("<name>", "<on_crash>explode</on_crash><name>")).expect_err("bad");
        assert!(e
            .detail_text()
            .contains("Element on_crash failed to validate content"));
        let e = check(&OK.replace("<console type='pty'/>", "<interface type='wire'/>"))
            .expect_err("bad");
        assert!(e
            .detail_text()
            .contains("Invalid attribute type for element interface"));
        let e = check(&OK.replace("type='lxc'", "type='lxc' foo='1'")).expect_err("bad");
        assert!(e
            .detail_text()
            .contains("Invalid attribute foo for element domain"));
    }

    #[test]
    fn namespaced_extensions_need_their_namespace() {
        let ns = OK.replace(
            "<domain type='lxc'>",
            "<domain type='lxc' xmlns:lxc='http://libvirt.org/schemas/domain/lxc/1.0'>",
        );
        assert_eq!(
            check(&ns.replace("</devices>", "</devices><lxc:namespace/>")),
            Ok(())
        );
        assert!(check(&ns.replace("</devices>", "</devices><lxc:other/>")).is_err());
        let other = OK.replace("<domain type='lxc'>", "<domain type='lxc' xmlns:x='urn:x'>");
        assert!(check(&other.replace("</devices>", "</devices><x:namespace/>")).is_err());
    }

    #[test]
    fn name_and_os_are_required() {
        assert!(check(&OK.replace("<name>c</name>", "")).is_err());
        let e = check(&OK.replace("<os><type>exe</type><init>/bin/sh</init></os>", ""))
            .expect_err("no os");
        assert!(e.detail_text().contains("Expecting an element os"));
    }
}

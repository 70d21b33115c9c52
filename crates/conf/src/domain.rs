// SPDX-License-Identifier: LGPL-2.1-or-later
//! Domain (guest) definitions: `<domain>` XML.
//!
//! The model is typed where drivers read or change values (identity,
//! memory, vcpus, OS boot data, lifecycle actions, id maps, devices'
//! common fields) and keeps every other element as an owned XML subtree
//! that is normalised in place and written back in libvirt's canonical
//! position. Stages: [`parse`] → [`post_parse`] (defaults and implicit
//! devices) → [`validate`] → [`DomainDef::to_xml`]; drivers run them
//! through their [`XmlOptions`].

use crate::error::{ConfError, ErrorDomain, VirError, NO_DOMAIN_METADATA, NO_NAME};
use crate::rare::{Empty, Rare};
use crate::util::{format_bitmap, parse_bitmap, parse_u64, scaled_bytes, BITMAP_LIMIT};
use crate::uuid::Uuid;
use crate::xml::{self, Element, Node};

mod devices;
pub use devices::{ChrDef, DiskDef, FilesystemDef, NetDef};

/// Parse-time options (libvirt's VIR_DOMAIN_DEF_PARSE_*).
#[derive(Debug, Clone, Copy, Default)]
pub struct ParseFlags {
    /// VIR_DOMAIN_DEF_PARSE_INACTIVE: persistent config; live-only data
    /// such as the `id` attribute is ignored.
    pub inactive: bool,
    /// VIR_DOMAIN_DEF_PARSE_VALIDATE_SCHEMA: check the raw document against
    /// the structural subset of `domain.rng` in [`crate::schema`] first
    /// (VIR_ERR_XML_INVALID_SCHEMA on failure).
    pub validate_schema: bool,
}

/// A driver's part in reading a definition (libvirt's virDomainXMLOption):
/// the one entry point every driver parses through, so that the stages
/// always run in the same order: parse → the driver's defaults (default
/// architecture, then its post-parse callback) → the common defaults
/// ([`post_parse`]) → the common checks ([`validate`]) → the driver's
/// checks. Errors of the common stages are reported from
/// `error_domain`; the callbacks choose their own.
#[derive(Clone)]
pub struct XmlOptions {
    /// The error domain of the common stages' errors (VIR_FROM_DOMAIN).
    pub error_domain: ErrorDomain,
    /// The architecture of a definition that names none.
    pub default_arch: Option<&'static str>,
    /// The driver's defaults, before the common ones.
    pub post_parse: Option<PostParse>,
    /// The driver's checks, after the common ones.
    pub validate: Option<Validate>,
    /// The driver's device addresses (libvirt's assignAddressesCallback),
    /// after the common defaults and before the checks.
    pub assign_addresses: Option<PostParse>,
}

/// A driver's post-parse callback.
pub type PostParse = std::sync::Arc<dyn Fn(&mut DomainDef) -> Result<(), VirError> + Send + Sync>;
/// A driver's validation callback.
pub type Validate = std::sync::Arc<dyn Fn(&DomainDef) -> Result<(), VirError> + Send + Sync>;

impl Default for XmlOptions {
    fn default() -> Self {
        XmlOptions {
            error_domain: ErrorDomain::Domain,
            default_arch: None,
            post_parse: None,
            validate: None,
            assign_addresses: None,
        }
    }
}

impl XmlOptions {
    /// Reads a `<domain>` document through every stage.
    pub fn parse_str(&self, xml: &str, flags: &ParseFlags) -> Result<DomainDef, VirError> {
        let def = parse(xml, flags).map_err(|e| e.in_domain(self.error_domain))?;
        self.finish(def)
    }

    /// Reads a `<domain>` element (of a larger document) through every
    /// stage.
    pub fn parse_element(&self, el: &Element, flags: &ParseFlags) -> Result<DomainDef, VirError> {
        let def = parse_element(el, flags).map_err(|e| e.in_domain(self.error_domain))?;
        self.finish(def)
    }

    fn finish(&self, mut def: DomainDef) -> Result<DomainDef, VirError> {
        if def.os.arch.is_none() {
            if let Some(arch) = self.default_arch {
                def.os.arch = Some(arch.into());
            }
        }
        if let Some(f) = &self.post_parse {
            f(&mut def)?;
        }
        post_parse(&mut def).map_err(|e| e.in_domain(self.error_domain))?;
        if let Some(f) = &self.assign_addresses {
            f(&mut def)?;
        }
        validate(&def).map_err(|e| e.in_domain(self.error_domain))?;
        if let Some(f) = &self.validate {
            f(&def)?;
        }
        Ok(def)
    }
}

/// Format-time options (libvirt's VIR_DOMAIN_DEF_FORMAT_*).
#[derive(Debug, Clone, Copy, Default)]
pub struct FormatFlags {
    /// Omit live-only data (id, runtime addresses, generated ports).
    pub inactive: bool,
    /// Include secrets such as graphics passwords.
    pub secure: bool,
    /// Drop data that must not migrate.
    pub migratable: bool,
    /// Update the CPU model from the host (accepted; no effect here).
    pub update_cpu: bool,
}

/// `<os>` contents.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OsDef {
    /// `hvm`, `xen`, `linux`, `exe`, `xenpvh`.
    pub os_type: String,
    /// `arch` attribute of `<type>`.
    pub arch: Option<String>,
    /// `machine` attribute of `<type>`.
    pub machine: Option<String>,
    /// `<boot dev=.../>` in order.
    pub boot_devs: Vec<String>,
    /// Boot data most guests do not have, stored out of line.
    pub boot: Rare<OsBoot>,
    /// Other `<os>` children (loader, nvram, bootmenu, bios, smbios, acpi,
    /// firmware) kept as XML.
    pub other: Vec<Element>,
}

/// The parts of `<os>` that only some guests use: container init data,
/// direct kernel boot, the Xen PV bootloader and the firmware choice.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OsBoot {
    /// `firmware` attribute of `<os>`.
    pub firmware: Option<String>,
    /// Container init binary.
    pub init: Option<String>,
    /// Container init arguments.
    pub initargs: Vec<String>,
    /// Container init environment.
    pub initenv: Vec<(String, String)>,
    /// Container init working directory.
    pub initdir: Option<String>,
    /// Container init user.
    pub inituser: Option<String>,
    /// Container init group.
    pub initgroup: Option<String>,
    /// Direct kernel boot.
    pub kernel: Option<String>,
    /// Initial ramdisk.
    pub initrd: Option<String>,
    /// Kernel command line.
    pub cmdline: Option<String>,
    /// Device tree blob.
    pub dtb: Option<String>,
    /// Root device.
    pub root: Option<String>,
    /// Xen PV bootloader (formatted before `<os>`).
    pub bootloader: Option<String>,
    /// Bootloader arguments.
    pub bootloader_args: Option<String>,
}

static NO_OS_BOOT: OsBoot = OsBoot {
    firmware: None,
    init: None,
    initargs: Vec::new(),
    initenv: Vec::new(),
    initdir: None,
    inituser: None,
    initgroup: None,
    kernel: None,
    initrd: None,
    cmdline: None,
    dtb: None,
    root: None,
    bootloader: None,
    bootloader_args: None,
};

impl Empty for OsBoot {
    fn empty() -> &'static Self {
        &NO_OS_BOOT
    }
}

/// One `<uid>` or `<gid>` mapping of `<idmap>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdMapEntry {
    /// First id inside the container.
    pub start: u32,
    /// First id on the host.
    pub target: u32,
    /// Number of ids.
    pub count: u32,
}

/// `<idmap>` contents.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdMap {
    /// User id ranges.
    pub uid: Vec<IdMapEntry>,
    /// Group id ranges.
    pub gid: Vec<IdMapEntry>,
}

/// A guest definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainDef {
    /// Hypervisor type (`test`, `lxc`, `xen`, `kvm`, `qemu`, ...).
    pub virt_type: String,
    /// Live id; formatted only when set and not formatting inactive XML.
    pub id: Option<i32>,
    /// Guest name.
    pub name: String,
    /// Guest UUID.
    pub uuid: Uuid,
    /// Short title.
    pub title: Option<String>,
    /// Free-form description.
    pub description: Option<String>,
    /// Children of `<metadata>`, each serialised the way libxml2 dumps it
    /// (with its own namespace declaration), one per line.
    pub metadata: Option<String>,
    /// `<maxMemory>` in KiB (memory hotplug ceiling), 0 when absent.
    pub max_memory_kib: u64,
    /// `<maxMemory slots=...>`.
    pub memory_slots: u32,
    /// `<memory>` in KiB.
    pub memory_kib: u64,
    /// `dumpCore` attribute of `<memory>`.
    pub memory_dump_core: Option<String>,
    /// `<currentMemory>` in KiB.
    pub current_memory_kib: u64,
    /// Maximum vcpus (`<vcpu>` content).
    pub vcpus_max: u32,
    /// Online vcpus (`current` attribute, defaults to the maximum).
    pub vcpus_current: u32,
    /// `placement` of `<vcpu>` (`static` or `auto`).
    pub vcpu_placement: String,
    /// `cpuset` of `<vcpu>`, normalised.
    pub vcpu_cpuset: Option<String>,
    /// OS boot data.
    pub os: OsDef,
    /// Container id maps.
    pub idmap: IdMap,
    /// `<on_poweroff>`.
    pub on_poweroff: String,
    /// `<on_reboot>`.
    pub on_reboot: String,
    /// `<on_crash>`.
    pub on_crash: String,
    /// `<on_lockfailure>`.
    pub on_lockfailure: Option<String>,
    /// `<clock>` element (defaults to `<clock offset='utc'/>`).
    pub clock: Element,
    /// `<devices><emulator>`.
    pub emulator: Option<String>,
    /// Devices in libvirt's canonical order (emulator excluded).
    pub devices: Vec<Element>,
    /// Other top-level elements (features, cpu, cputune, resource,
    /// seclabel, namespace extensions, ...) kept as XML.
    pub other: Vec<Element>,
    /// Namespace declarations on the root element that extension
    /// elements use (e.g. `xmlns:lxc`).
    pub root_ns: Vec<(String, String)>,
}

/// Top-level element order of libvirt's formatter.
const TOP_ORDER: &[&str] = &[
    "name",
    "uuid",
    "genid",
    "title",
    "description",
    "metadata",
    "maxMemory",
    "memory",
    "currentMemory",
    "blkiotune",
    "memtune",
    "memoryBacking",
    "vcpu",
    "vcpus",
    "iothreads",
    "iothreadids",
    "defaultiothread",
    "cputune",
    "numatune",
    "resource",
    "sysinfo",
    "bootloader",
    "bootloader_args",
    "os",
    "idmap",
    "features",
    "cpu",
    "clock",
    "on_poweroff",
    "on_reboot",
    "on_crash",
    "on_lockfailure",
    "pm",
    "perf",
    "devices",
    "seclabel",
    "keywrap",
    "launchSecurity",
];

fn top_rank(name: &str) -> usize {
    TOP_ORDER
        .iter()
        .position(|n| *n == name)
        .unwrap_or(TOP_ORDER.len())
}

/// Device element order of libvirt's formatter.
const DEVICE_ORDER: &[&str] = &[
    "disk",
    "controller",
    "lease",
    "filesystem",
    "interface",
    "smartcard",
    "serial",
    "parallel",
    "console",
    "channel",
    "input",
    "tpm",
    "graphics",
    "sound",
    "audio",
    "video",
    "hostdev",
    "redirdev",
    "redirfilter",
    "hub",
    "watchdog",
    "memballoon",
    "rng",
    "nvram",
    "panic",
    "shmem",
    "memory",
    "crypto",
    "iommu",
    "vsock",
];

fn device_rank(name: &str) -> usize {
    DEVICE_ORDER
        .iter()
        .position(|n| *n == name)
        .unwrap_or(DEVICE_ORDER.len())
}

/// Order of `<os>` children other than the typed ones.
const OS_ORDER: &[&str] = &[
    "type",
    "firmware",
    "init",
    "initarg",
    "initenv",
    "initdir",
    "inituser",
    "initgroup",
    "loader",
    "nvram",
    "kernel",
    "initrd",
    "cmdline",
    "dtb",
    "root",
    "acpi",
    "boot",
    "bootmenu",
    "bios",
    "smbios",
];

/// Domain types libvirt knows (virDomainVirtType names).
pub const VIRT_TYPES: &[&str] = &[
    "none",
    "qemu",
    "kqemu",
    "kvm",
    "xen",
    "lxc",
    "uml",
    "openvz",
    "test",
    "vmware",
    "hyperv",
    "vbox",
    "phyp",
    "parallels",
    "bhyve",
    "vz",
    "hvf",
];

const OS_TYPES: &[&str] = &["hvm", "xen", "linux", "exe", "uml", "xenpvh"];

/// virDomainLifecycleAction names, by value.
pub const LIFECYCLE: &[&str] = &[
    "destroy",
    "restart",
    "rename-restart",
    "preserve",
    "coredump-destroy",
    "coredump-restart",
];

/// Architecture names a domain definition accepts, `none` included
/// (which `<type arch>` refuses).
pub const ARCHES: &[&str] = &[
    "none",
    "alpha",
    "armv6l",
    "armv7l",
    "armv7b",
    "aarch64",
    "cris",
    "i686",
    "ia64",
    "lm32",
    "m68k",
    "microblaze",
    "microblazeel",
    "mips",
    "mipsel",
    "mips64",
    "mips64el",
    "openrisc",
    "parisc",
    "parisc64",
    "ppc",
    "ppcle",
    "ppc64",
    "ppc64le",
    "ppcemb",
    "riscv32",
    "riscv64",
    "s390",
    "s390x",
    "sh4",
    "sh4eb",
    "sparc",
    "sparc64",
    "unicore32",
    "x86_64",
    "xtensa",
    "xtensaeb",
];

/// libvirt's `virDomainSetMetadata` kinds.
pub const METADATA_DESCRIPTION: i32 = 0;
/// Title.
pub const METADATA_TITLE: i32 = 1;
/// Custom element in a caller-chosen namespace.
pub const METADATA_ELEMENT: i32 = 2;

/// Whether `a` names an architecture a definition may use.
pub fn is_known_arch(a: &str) -> bool {
    a != "none" && ARCHES.contains(&a)
}

fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86" => "i686",
        "arm" => "armv7l",
        "powerpc64" => "ppc64le",
        other => ARCHES
            .iter()
            .copied()
            .find(|a| *a == other)
            .unwrap_or("x86_64"),
    }
}

fn parse_memory_elem(e: &Element, what: &str) -> Result<u64, ConfError> {
    let text = e.text();
    let bytes = scaled_bytes(text.trim(), e.attr("unit"), 1024, what)?;
    // KiB, rounded up as libvirt does.
    Ok(bytes.div_ceil(1024))
}

fn non_empty(s: String) -> Option<String> {
    if s.is_empty() {
        None
    } else {
        Some(s)
    }
}

/// Stage 1: reads the document into the model without defaults.
pub fn parse(text: &str, flags: &ParseFlags) -> Result<DomainDef, ConfError> {
    let root = xml::parse_document(text, "(domain_definition)", "domain")?;
    parse_element(&root, flags)
}

/// Stage 1 on an already parsed `<domain>` element.
pub fn parse_element(root: &Element, flags: &ParseFlags) -> Result<DomainDef, ConfError> {
    if flags.validate_schema {
        crate::schema::validate_domain(root)?;
    }
    let virt_type = root
        .attr("type")
        .ok_or_else(|| ConfError::internal("missing domain type attribute"))?
        .to_string();
    if !VIRT_TYPES.contains(&virt_type.as_str()) {
        return Err(ConfError::unsupported(format!(
            "invalid domain type {virt_type}"
        )));
    }
    let mut id = None;
    if !flags.inactive {
        if let Some(v) = root.attr("id") {
            let n: i32 = v.trim().parse().ok().filter(|n: &i32| *n >= 0).ok_or_else(|| {
                ConfError::xml_layer(format!(
                    "Invalid value for attribute 'id' in element 'domain': '{v}'. Expected non-negative integer value"
                ))
            })?;
            id = Some(n);
        }
    }
    let name = root
        .child("name")
        .map(|e| e.text())
        .and_then(non_empty)
        .ok_or_else(|| ConfError::bare(NO_NAME))?;
    let uuid = match root.child("uuid").map(|e| e.text()).and_then(non_empty) {
        Some(s) => Uuid::parse(&s).ok_or_else(|| ConfError::internal("malformed uuid element"))?,
        None => Uuid::generate()?,
    };

    let mut def = DomainDef {
        virt_type,
        id,
        name,
        uuid,
        title: root.child("title").map(|e| e.text()).and_then(non_empty),
        description: root
            .child("description")
            .map(|e| e.text())
            .and_then(non_empty),
        metadata: None,
        max_memory_kib: 0,
        memory_slots: 0,
        memory_kib: 0,
        memory_dump_core: None,
        current_memory_kib: 0,
        vcpus_max: 1,
        vcpus_current: 1,
        vcpu_placement: "static".into(),
        vcpu_cpuset: None,
        os: OsDef::default(),
        idmap: IdMap::default(),
        on_poweroff: "destroy".into(),
        on_reboot: "restart".into(),
        on_crash: "destroy".into(),
        on_lockfailure: None,
        clock: Element::new("clock").with_attr("offset", "utc"),
        emulator: None,
        devices: Vec::new(),
        other: Vec::new(),
        root_ns: Vec::new(),
    };

    if root.children_named("genid").count() > 1 {
        return Err(ConfError::xml("element 'genid' can only appear once"));
    }

    if let Some(m) = root.child("metadata") {
        def.metadata = Some(metadata_from_element(m));
    }

    if let Some(e) = root.child("memory") {
        def.memory_kib = parse_memory_elem(e, "memory")?;
        def.memory_dump_core = e.attr("dumpCore").map(str::to_string);
    }
    if let Some(e) = root.child("currentMemory") {
        def.current_memory_kib = parse_memory_elem(e, "currentMemory")?;
    }
    if let Some(e) = root.child("maxMemory") {
        def.max_memory_kib = parse_memory_elem(e, "maxMemory")?;
        if let Some(s) = e.attr("slots") {
            def.memory_slots = parse_u64(s)
                .and_then(|v| u32::try_from(v).ok())
                .ok_or_else(|| ConfError::xml("Failed to parse memory slot count"))?;
        }
    }

    if let Some(v) = root.child("vcpu") {
        let t = v.text();
        let max = if t.trim().is_empty() {
            1
        } else {
            parse_u64(&t)
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| ConfError::xml("maximum vcpus count must be an integer"))?
        };
        def.vcpus_max = max;
        def.vcpus_current = max;
        if let Some(c) = v.attr("current") {
            def.vcpus_current = parse_u64(c)
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| ConfError::xml("current vcpus count must be an integer"))?;
        }
        if let Some(p) = v.attr("placement") {
            if p != "static" && p != "auto" {
                return Err(ConfError::xml(format!(
                    "Unsupported CPU placement mode '{p}'"
                )));
            }
            def.vcpu_placement = p.to_string();
        }
        if let Some(cs) = v.attr("cpuset") {
            let ids = parse_bitmap(cs, BITMAP_LIMIT)
                .ok_or_else(|| ConfError::xml(format!("Invalid value of 'cpuset': {cs}")))?;
            def.vcpu_cpuset = Some(format_bitmap(&ids));
        }
    }

    // OS
    def.os.boot.bootloader = root.child_text("bootloader").and_then(non_empty);
    def.os.boot.bootloader_args = root.child_text("bootloader_args").and_then(non_empty);
    let os = root.child("os");
    let ostype = os.and_then(|o| o.child("type"));
    match ostype {
        Some(t) => {
            let s = t.text().trim().to_string();
            if s.is_empty() && def.os.boot.bootloader.is_none() {
                return Err(ConfError::xml("an os <type> must be specified"));
            }
            let s = if s.is_empty() { "xen".to_string() } else { s };
            if !OS_TYPES.contains(&s.as_str()) {
                return Err(ConfError::unsupported(format!("unknown OS type '{s}'")));
            }
            def.os.os_type = if s == "linux" && def.virt_type == "xen" {
                "xen".into()
            } else {
                s
            };
            if let Some(a) = t.attr("arch") {
                if !is_known_arch(a) {
                    return Err(ConfError::unsupported(format!("Unknown architecture {a}")));
                }
                def.os.arch = Some(a.to_string());
            }
            def.os.machine = t.attr("machine").map(str::to_string);
        }
        None => {
            if def.os.boot.bootloader.is_some() {
                def.os.os_type = "xen".into();
            } else {
                return Err(ConfError::xml("an os <type> must be specified"));
            }
        }
    }
    if let Some(o) = os {
        def.os.boot.firmware = o.attr("firmware").map(str::to_string);
        for c in o.elements() {
            match c.name.as_str() {
                "type" => {}
                "init" => def.os.boot.init = non_empty(c.text()),
                "initarg" => def.os.boot.initargs.push(c.text()),
                "initenv" => {
                    let n = c.attr("name").unwrap_or("").to_string();
                    def.os.boot.initenv.push((n, c.text()));
                }
                "initdir" => def.os.boot.initdir = non_empty(c.text()),
                "inituser" => def.os.boot.inituser = non_empty(c.text()),
                "initgroup" => def.os.boot.initgroup = non_empty(c.text()),
                "kernel" => def.os.boot.kernel = non_empty(c.text()),
                "initrd" => def.os.boot.initrd = non_empty(c.text()),
                "cmdline" => def.os.boot.cmdline = non_empty(c.text()),
                "dtb" => def.os.boot.dtb = non_empty(c.text()),
                "root" => def.os.boot.root = non_empty(c.text()),
                "boot" => {
                    if let Some(d) = c.attr("dev") {
                        if !["fd", "hd", "cdrom", "network"].contains(&d) {
                            return Err(ConfError::unsupported(format!(
                                "unknown boot device '{d}'"
                            )));
                        }
                        if def.os.boot_devs.len() < 4 {
                            def.os.boot_devs.push(d.to_string());
                        }
                    } else {
                        return Err(ConfError::internal("missing boot device"));
                    }
                }
                _ => def.os.other.push(c.clone()),
            }
        }
    }

    if let Some(idm) = root.child("idmap") {
        for c in idm.elements() {
            let entry = parse_idmap_entry(c)?;
            match c.name.as_str() {
                "uid" => def.idmap.uid.push(entry),
                "gid" => def.idmap.gid.push(entry),
                _ => {}
            }
        }
        def.idmap.uid.sort_by_key(|e| e.start);
        def.idmap.gid.sort_by_key(|e| e.start);
    }

    for (field, tag) in [
        ("poweroff", "on_poweroff"),
        ("reboot", "on_reboot"),
        ("crash", "on_crash"),
    ] {
        if let Some(e) = root.child(tag) {
            let v = e.text().trim().to_string();
            if !LIFECYCLE.contains(&v.as_str()) {
                return Err(ConfError::xml(format!(
                    "Invalid value for element '{tag}': '{v}'"
                )));
            }
            match field {
                "poweroff" => def.on_poweroff = v,
                "reboot" => def.on_reboot = v,
                _ => def.on_crash = v,
            }
        }
    }
    if let Some(e) = root.child("on_lockfailure") {
        def.on_lockfailure = Some(e.text().trim().to_string());
    }
    if let Some(c) = root.child("clock") {
        def.clock = c.clone();
    }

    if let Some(devs) = root.child("devices") {
        for d in devs.elements() {
            if d.name == "emulator" {
                if def.emulator.is_none() {
                    def.emulator = non_empty(d.text());
                }
                continue;
            }
            // libvirt reads devices by name and ignores other elements.
            if crate::schema::DEVICES.contains(&d.name.as_str()) {
                let mut d = d.clone();
                if d.name == "graphics" && d.attr("type") == Some("spice") {
                    spice_autoport(&mut d, flags);
                }
                def.devices.push(d);
            }
        }
    }

    const TYPED: &[&str] = &[
        "name",
        "uuid",
        "title",
        "description",
        "metadata",
        "memory",
        "currentMemory",
        "maxMemory",
        "vcpu",
        "os",
        "bootloader",
        "bootloader_args",
        "idmap",
        "on_poweroff",
        "on_reboot",
        "on_crash",
        "on_lockfailure",
        "clock",
        "devices",
    ];
    let mut used_prefixes = Vec::new();
    for c in root.elements() {
        if TYPED.contains(&c.name.as_str()) {
            continue;
        }
        if let Some((p, _)) = c.name.split_once(':') {
            used_prefixes.push(p.to_string());
        } else if !crate::schema::TOP_LEVEL.contains(&c.name.as_str()) {
            // An element the grammar does not know: libvirt ignores it.
            continue;
        }
        let mut c = c.clone();
        if c.name == "cputune" && flags.inactive {
            // A resource group's id is live state: a persistent definition
            // gets the one named after its vcpus.
            for t in c.elements_mut() {
                if t.name == "cachetune" || t.name == "memorytune" {
                    t.remove_attr("id");
                }
            }
        }
        def.other.push(c);
    }
    for (k, v) in &root.attrs {
        if let Some(p) = k.strip_prefix("xmlns:") {
            if used_prefixes.iter().any(|u| u == p) {
                def.root_ns.push((k.clone(), v.clone()));
            }
        }
    }
    // genid keeps its place; an empty one asks for a generated value.
    for e in def.other.iter_mut() {
        if e.name == "genid" {
            let t = e.text();
            if t.trim().is_empty() {
                e.set_text(&Uuid::generate()?.to_string());
            } else {
                let u = Uuid::parse(&t)
                    .ok_or_else(|| ConfError::internal("malformed genid element"))?;
                e.set_text(&u.to_string());
            }
        }
    }
    // Graphics without a video device get one, of the driver's default
    // model (libvirt adds it before the drivers' callbacks run).
    let has = |n: &str| def.devices.iter().any(|d| d.name == n);
    if has("graphics") && !has("video") {
        def.devices.push(Element::new("video"));
    }
    if flags.inactive {
        // Backing chain indexes belong to a running guest.
        for d in def.devices.iter_mut().filter(|d| d.name == "disk") {
            strip_chain_index(d);
        }
    }
    Ok(def)
}

/// Removes the `index` of a disk's source and backing stores.
fn strip_chain_index(e: &mut Element) {
    for c in e.elements_mut() {
        if matches!(c.name.as_str(), "source" | "backingStore") {
            c.remove_attr("index");
            strip_chain_index(c);
        }
    }
}

/// SPICE's legacy `port='-1' tlsPort='-1'` means autoport; an inactive
/// definition with autoport keeps no ports.
fn spice_autoport(d: &mut Element, flags: &ParseFlags) {
    let port = |d: &Element, k: &str| d.attr(k).map(str::trim).map(str::to_string);
    if port(d, "port").as_deref() == Some("-1") && port(d, "tlsPort").as_deref() == Some("-1") {
        let pos = d
            .attrs
            .iter()
            .position(|(k, _)| k == "tlsPort")
            .map_or(d.attrs.len(), |p| p + 1);
        d.insert_attr(pos, "autoport", "yes");
    }
    if flags.inactive && d.attr("autoport") == Some("yes") {
        d.remove_attr("port");
        d.remove_attr("tlsPort");
    }
}

fn parse_idmap_entry(c: &Element) -> Result<IdMapEntry, ConfError> {
    let get = |k: &str| -> Result<u32, ConfError> {
        c.attr(k)
            .and_then(parse_u64)
            .and_then(|v| u32::try_from(v).ok())
            .ok_or_else(|| ConfError::xml("You must specify start, target and count for idmap"))
    };
    Ok(IdMapEntry {
        start: get("start")?,
        target: get("target")?,
        count: get("count")?,
    })
}

/// Serialises `<metadata>` children the way [`DomainDef::metadata`] stores
/// them: drops children without a namespace and later children repeating a
/// namespace, and gives each kept child its namespace declaration.
fn metadata_from_element(m: &Element) -> String {
    let mut seen: Vec<String> = Vec::new();
    let mut parts = Vec::new();
    for c in m.elements() {
        let Some(prefix) = c.name.split_once(':').map(|(p, _)| p.to_string()) else {
            // An unprefixed child needs a default namespace declared on itself.
            match c.attr("xmlns") {
                Some(uri) if !seen.iter().any(|s| s == uri) => {
                    seen.push(uri.to_string());
                    let mut s = String::new();
                    xml::write_libxml(c, &mut s, 0);
                    parts.push(s);
                }
                _ => {}
            }
            continue;
        };
        let key = format!("xmlns:{prefix}");
        let uri = c
            .attr(&key)
            .map(str::to_string)
            .or_else(|| m.attr(&key).map(str::to_string));
        let Some(uri) = uri else { continue };
        if seen.contains(&uri) {
            continue;
        }
        seen.push(uri.clone());
        let mut c = c.clone();
        if c.attr(&key).is_none() {
            c.attrs.insert(0, (key, uri));
        }
        let mut s = String::new();
        xml::write_libxml(&c, &mut s, 0);
        parts.push(s);
    }
    parts.join("\n")
}

fn metadata_children(meta: &str) -> Vec<Element> {
    let wrapped = format!("<metadata>{meta}</metadata>");
    match xml::parse_document(&wrapped, "(metadata)", "metadata") {
        Ok(e) => e.elements().cloned().collect(),
        Err(_) => Vec::new(),
    }
}

/// Stage 2: defaults and implicit devices (libvirt's post-parse).
pub fn post_parse(def: &mut DomainDef) -> Result<(), ConfError> {
    if def.os.os_type == "exe" && def.os.boot.init.is_none() {
        return Err(ConfError::xml("init binary must be specified"));
    }
    if def.vcpus_max == 0 {
        return Err(ConfError::xml("Invalid number of vcpus '0'"));
    }
    if def.vcpus_current > def.vcpus_max {
        return Err(ConfError::invalid_arg(
            "maxvcpus must not be less than current vcpus",
        ));
    }
    if def.vcpus_current == 0 {
        def.vcpus_current = def.vcpus_max;
    }
    let numa_kib = post_parse_numa_cells(def)?;
    if def.memory_kib == 0 {
        def.memory_kib = numa_kib;
    }
    if def.memory_kib == 0 {
        return Err(ConfError::xml(
            "Memory size must be specified via <memory> or in the <numa> configuration",
        ));
    }
    if def.current_memory_kib == 0 || def.current_memory_kib > def.memory_kib {
        def.current_memory_kib = def.memory_kib;
    }
    if def.max_memory_kib == 0 && def.memory_slots > 0 {
        return Err(ConfError::xml(
            "maximum memory size must be specified when specifying number of memory slots",
        ));
    }
    if def.max_memory_kib != 0 && def.max_memory_kib < def.memory_kib {
        return Err(ConfError::xml(
            "maximum memory size must be equal or greater than the actual memory size",
        ));
    }
    if def.os.arch.is_none() {
        def.os.arch = Some(default_arch(def).to_string());
    }
    if def.os.os_type == "hvm" && def.os.boot_devs.is_empty() {
        let per_device_boot = def.devices.iter().any(|d| d.child("boot").is_some());
        if !per_device_boot {
            def.os.boot_devs.push("hd".into());
        }
    }
    if def.name.contains('/') {
        return Err(ConfError::xml(format!(
            "name {} cannot contain '/'",
            def.name
        )));
    }
    post_parse_boot_order(def)?;
    post_parse_cputune(def)?;
    post_parse_hugepages(def)?;
    post_parse_kept(def)?;
    post_parse_iothreads(def);
    devices::post_parse_devices(def)?;
    def.shrink_to_fit();
    Ok(())
}

/// `<hyperv>` enlightenments in libvirt's order.
const HYPERV_ORDER: &[&str] = &[
    "relaxed",
    "vapic",
    "spinlocks",
    "vpindex",
    "runtime",
    "synic",
    "stimer",
    "reset",
    "vendor_id",
    "frequencies",
    "reenlightenment",
    "tlbflush",
    "ipi",
    "evmcs",
    "avic",
];

/// `<features>` children in the order of libvirt's feature list.
const FEATURE_ORDER: &[&str] = &[
    "acpi",
    "apic",
    "pae",
    "hap",
    "viridian",
    "privnet",
    "hyperv",
    "kvm",
    "pvspinlock",
    "capabilities",
    "pmu",
    "vmport",
    "gic",
    "smm",
    "ioapic",
    "hpt",
    "vmcoreinfo",
    "htm",
    "nested-hv",
    "msrs",
    "ccf-assist",
    "xen",
    "cfpc",
    "sbbc",
    "ibs",
    "tcg",
    "async-teardown",
];

/// Defaults inside elements kept as XML: a loader with a path is a ROM,
/// NUMA memory policies are strict unless said otherwise, features come
/// in libvirt's order.
fn post_parse_kept(def: &mut DomainDef) -> Result<(), ConfError> {
    for l in def.os.other.iter_mut().filter(|e| e.name == "loader") {
        if l.attr("type").is_none() && !l.text().trim().is_empty() {
            let pos = l
                .attrs
                .iter()
                .rposition(|(k, _)| k == "readonly" || k == "secure")
                .map_or(0, |p| p + 1);
            l.insert_attr(pos, "type", "rom");
        }
    }
    for e in def.other.iter_mut() {
        match e.name.as_str() {
            "numatune" => {
                for m in e.elements_mut() {
                    if (m.name == "memory" || m.name == "memnode") && m.attr("mode").is_none() {
                        let pos = usize::from(m.name == "memnode" && m.attr("cellid").is_some());
                        m.insert_attr(pos, "mode", "strict");
                    }
                    // Node sets are written in libvirt's canonical form.
                    if m.name == "memnode" {
                        if let Some(set) = m
                            .attr("nodeset")
                            .and_then(|n| parse_bitmap(n, BITMAP_LIMIT))
                        {
                            m.set_attr("nodeset", &format_bitmap(&set));
                        }
                    }
                }
                // The guest-wide policy first, then the cells' in cell order.
                e.order_children(&["memory", "memnode"]);
                let cell = |n: &Node| match n {
                    Node::Element(c) if c.name == "memnode" => {
                        c.attr("cellid").and_then(parse_u64).unwrap_or(u64::MAX)
                    }
                    _ => 0,
                };
                e.children.sort_by_key(|n| match n {
                    Node::Element(c) if c.name == "memnode" => (1, cell(n)),
                    Node::Element(c) if c.name == "memory" => (0, 0),
                    _ => (2, 0),
                });
            }
            "memoryBacking" => e.order_children(&[
                "hugepages",
                "nosharepages",
                "locked",
                "source",
                "access",
                "allocation",
                "discard",
            ]),
            "cpu" => {
                let mode = e.attr("mode").unwrap_or("custom").to_string();
                // host-model's model says only the default fallback: nothing.
                if mode == "host-model" {
                    let bare = e.child("model").is_some_and(|m| {
                        m.text().trim().is_empty()
                            && m.attrs.iter().all(|(k, v)| k == "fallback" && v == "allow")
                    });
                    if bare {
                        e.remove_children("model");
                    }
                }
                // A custom CPU with a model matches it exactly unless said.
                let named = e
                    .child("model")
                    .is_some_and(|m| !m.text().trim().is_empty());
                if mode == "custom" && named && e.attr("match").is_none() {
                    let pos = e
                        .attrs
                        .iter()
                        .position(|(k, _)| k == "mode")
                        .map_or(0, |p| p + 1);
                    e.insert_attr(pos, "match", "exact");
                }
                for f in e.elements_mut().filter(|f| f.name == "feature") {
                    f.attrs.sort_by_key(|(k, _)| usize::from(k != "policy"));
                }
            }
            "features" => {
                e.order_children(FEATURE_ORDER);
                // The SMM TSEG size is written in the largest unit that
                // divides it (MiB when none is given).
                if let Some(t) = e.child_mut("smm").and_then(|s| s.child_mut("tseg")) {
                    let text = t.text();
                    let bytes = scaled_bytes(text.trim(), t.attr("unit"), 1024 * 1024, "tseg")?;
                    let (v, unit) = pretty_size(bytes);
                    t.attrs = vec![("unit".into(), unit.into())];
                    t.set_text(&v.to_string());
                }
                if let Some(h) = e.child_mut("hyperv") {
                    if h.attr("mode").is_none() {
                        h.insert_attr(0, "mode", "custom");
                    }
                    h.order_children(HYPERV_ORDER);
                    // libvirt always writes <hyperv> open and closed, even
                    // with no enlightenment inside.
                    if h.elements().next().is_none() {
                        h.children = vec![Node::Text("\n    ".into())];
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// A byte count in the largest binary unit that divides it (libvirt's
/// virFormatIntPretty).
fn pretty_size(bytes: u64) -> (u64, &'static str) {
    const UNITS: &[&str] = &["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let (mut v, mut i) = (bytes, 0);
    while v != 0 && v % 1024 == 0 && i + 1 < UNITS.len() {
        v /= 1024;
        i += 1;
    }
    (v, UNITS[i])
}

fn default_arch(def: &DomainDef) -> &'static str {
    match def.os.os_type.as_str() {
        "hvm" | "xen" | "xenpvh" | "exe" => {
            let h = host_arch();
            if h == "i686" {
                "i686"
            } else if def.os.os_type == "hvm" || def.os.os_type == "exe" {
                h
            } else {
                "x86_64"
            }
        }
        _ => host_arch(),
    }
}

fn sched_key(e: &Element) -> (String, Option<String>) {
    (
        e.attr("scheduler").unwrap_or("").to_string(),
        e.attr("priority").map(str::to_string),
    )
}

/// The iothread ids a definition has: those `<iothreadids>` names, then
/// the lowest free ones up to the `<iothreads>` count.
fn iothread_ids(def: &DomainDef) -> Vec<u64> {
    let count = def
        .other
        .iter()
        .find(|e| e.name == "iothreads")
        .and_then(|e| e.text().trim().parse::<usize>().ok())
        .unwrap_or(0)
        .min(BITMAP_LIMIT);
    let mut used: Vec<u64> = def
        .other
        .iter()
        .filter(|e| e.name == "iothreadids")
        .flat_map(|l| l.children_named("iothread"))
        .filter_map(|t| t.attr("id").and_then(parse_u64))
        .collect();
    let mut next = 1u64;
    while used.len() < count {
        if !used.contains(&next) {
            used.push(next);
        }
        next += 1;
    }
    used
}

/// IOThread ids: when `<iothreadids>` names some, the rest `<iothreads>`
/// asks for get the lowest free ids after them, and the count covers
/// them all (libvirt lists every id once any is explicit).
fn post_parse_iothreads(def: &mut DomainDef) {
    let Some(list) = def.other.iter().position(|e| e.name == "iothreadids") else {
        return;
    };
    let all = iothread_ids(def);
    let ids = &mut def.other[list];
    let listed: Vec<u64> = ids
        .children_named("iothread")
        .filter_map(|t| t.attr("id").and_then(parse_u64))
        .collect();
    for id in all.iter().filter(|i| !listed.contains(i)) {
        ids.push(Element::new("iothread").with_attr("id", &id.to_string()));
    }
    let total = all.len().to_string();
    match def.other.iter_mut().find(|e| e.name == "iothreads") {
        Some(e) => e.set_text(&total),
        None => def.other.push(Element::new("iothreads").with_text(&total)),
    }
}

/// `<cpu><numa><cell memory>` in KiB with its unit spelled out, as
/// libvirt formats it; answers the cells' total (the memory of a domain
/// that gives no `<memory>`).
fn post_parse_numa_cells(def: &mut DomainDef) -> Result<u64, ConfError> {
    let mut total = 0u64;
    let Some(numa) = def
        .other
        .iter_mut()
        .find(|e| e.name == "cpu")
        .and_then(|c| c.child_mut("numa"))
    else {
        return Ok(0);
    };
    for cell in numa.elements_mut().filter(|e| e.name == "cell") {
        let Some(mem) = cell.attr("memory").map(str::to_string) else {
            continue;
        };
        let unit = cell.remove_attr("unit");
        let kib = scaled_bytes(&mem, unit.as_deref(), 1024, "memory")?.div_ceil(1024);
        cell.set_attr("memory", &kib.to_string());
        let pos = cell
            .attrs
            .iter()
            .position(|(k, _)| k == "memory")
            .map_or(cell.attrs.len(), |p| p + 1);
        cell.insert_attr(pos, "unit", "KiB");
        total = total.saturating_add(kib);
    }
    Ok(total)
}

/// Per-device boot orders are unique and exclude `<os><boot dev>`; a boot
/// menu keeps its timeout only when enabled and is dropped when it says
/// neither yes nor no.
fn post_parse_boot_order(def: &mut DomainDef) -> Result<(), ConfError> {
    let mut orders: Vec<&str> = Vec::new();
    for b in def.devices.iter().filter_map(|d| d.child("boot")) {
        let Some(o) = b.attr("order") else {
            continue;
        };
        if orders.contains(&o) {
            return Err(ConfError::unsupported(format!(
                "boot order '{o}' used for more than one device"
            )));
        }
        orders.push(o);
    }
    if !def.os.boot_devs.is_empty() && !orders.is_empty() {
        return Err(ConfError::unsupported(
            "per-device boot elements cannot be used together with os/boot elements",
        ));
    }
    if let Some(pos) = def.os.other.iter().position(|e| e.name == "bootmenu") {
        let m = &mut def.os.other[pos];
        match m.attr("enable") {
            Some("yes") => {}
            Some("no") => {
                m.remove_attr("timeout");
            }
            _ => {
                def.os.other.remove(pos);
            }
        }
    }
    Ok(())
}

/// libvirt's range checks of the boot menu timeout and the BIOS reboot
/// timeout.
fn validate_boot(def: &DomainDef) -> Result<(), ConfError> {
    let attr = |elem: &str, name: &str| {
        def.os
            .other
            .iter()
            .find(|e| e.name == elem)
            .and_then(|e| e.attr(name))
    };
    if let Some(t) = attr("bootmenu", "timeout") {
        let n: u32 = t.trim().parse().map_err(|_| {
            ConfError::xml_layer(format!(
                "Invalid value for attribute 'timeout' in element 'bootmenu': '{t}'. Expected non-negative integer value"
            ))
        })?;
        if n > 65535 {
            return Err(ConfError::unsupported(
                "invalid value for boot menu timeout, must be in range [0,65535]",
            ));
        }
    }
    if let Some(t) = attr("bios", "rebootTimeout") {
        if t.trim()
            .parse::<i64>()
            .is_ok_and(|n| !(-1..=65535).contains(&n))
        {
            return Err(ConfError::unsupported(
                "invalid value for rebootTimeout, must be in range [-1,65535]",
            ));
        }
    }
    Ok(())
}

/// Hugepage sizes in KiB (rounded up) with `unit='KiB'`, nodesets in
/// libvirt's canonical form.
fn post_parse_hugepages(def: &mut DomainDef) -> Result<(), ConfError> {
    let Some(hp) = def
        .other
        .iter_mut()
        .find(|e| e.name == "memoryBacking")
        .and_then(|m| m.child_mut("hugepages"))
    else {
        return Ok(());
    };
    for p in hp.elements_mut().filter(|e| e.name == "page") {
        let Some(size) = p.attr("size").map(str::to_string) else {
            continue;
        };
        let unit = p.attr("unit").map(str::to_string);
        let kib = scaled_bytes(&size, unit.as_deref(), 1024, "size")?.div_ceil(1024);
        if kib == 0 {
            return Err(ConfError::new(
                crate::error::XML_DETAIL,
                "hugepage size can't be zero",
            ));
        }
        let mut attrs = vec![
            ("size".to_string(), kib.to_string()),
            ("unit".to_string(), "KiB".to_string()),
        ];
        if let Some(ns) = p.attr("nodeset") {
            let ids = parse_bitmap(ns, BITMAP_LIMIT);
            if ids.as_ref().is_some_and(|i| i.is_empty()) {
                return Err(ConfError::unsupported(format!(
                    "Invalid value of 'nodeset': {ns}"
                )));
            }
            let ns = ids.map_or_else(|| ns.to_string(), |i| format_bitmap(&i));
            attrs.push(("nodeset".to_string(), ns));
        }
        p.attrs = attrs;
    }
    Ok(())
}

fn post_parse_cputune(def: &mut DomainDef) -> Result<(), ConfError> {
    let iothreads = iothread_ids(def);
    let maxv = usize::try_from(def.vcpus_max).unwrap_or(usize::MAX);
    let Some(ct) = def.other.iter_mut().find(|e| e.name == "cputune") else {
        return Ok(());
    };
    // Expand vcpusched / iothreadsched into one element per id, in id order.
    let mut vsched: Vec<(usize, Element)> = Vec::new();
    let mut isched: Vec<(usize, Element)> = Vec::new();
    let mut pins: Vec<(usize, Element)> = Vec::new();
    let mut cachetunes = Vec::new();
    let mut memorytunes = Vec::new();
    let mut rest = Vec::new();
    for c in ct.elements() {
        match c.name.as_str() {
            "vcpusched" | "iothreadsched" => {
                let attr = if c.name == "vcpusched" {
                    "vcpus"
                } else {
                    "iothreads"
                };
                let ids = match c.attr(attr) {
                    Some(s) => parse_bitmap(s, BITMAP_LIMIT)
                        .ok_or_else(|| ConfError::xml(format!("Invalid value of '{attr}': {s}")))?,
                    None => {
                        return Err(ConfError::xml(format!(
                            "Missing attribute '{attr}' in element '{}'",
                            c.name
                        )))
                    }
                };
                let (sch, prio) = sched_key(c);
                let target = if c.name == "vcpusched" {
                    &mut vsched
                } else {
                    &mut isched
                };
                for id in ids {
                    if c.name == "iothreadsched" && !iothreads.contains(&(id as u64)) {
                        return Err(ConfError::unsupported(format!(
                            "Cannot find 'iothread' : {id}"
                        )));
                    }
                    if target.iter().any(|(i, _)| *i == id) {
                        return Err(ConfError::new(
                            crate::error::XML_DETAIL,
                            format!("'{}' attributes '{attr}' must not overlap", c.name),
                        ));
                    }
                    let mut e = Element::new(&c.name)
                        .with_attr(attr, &id.to_string())
                        .with_attr("scheduler", &sch);
                    if let Some(p) = &prio {
                        e.set_attr("priority", p);
                    }
                    target.push((id, e));
                }
            }
            "vcpupin" => {
                let id = c
                    .attr("vcpu")
                    .and_then(parse_u64)
                    .and_then(|v| usize::try_from(v).ok());
                let id = id.ok_or_else(|| ConfError::xml("missing vcpu id in vcpupin"))?;
                if id >= maxv {
                    continue;
                }
                let mut e = c.clone();
                if let Some(cs) = c.attr("cpuset") {
                    let ids = parse_bitmap(cs, BITMAP_LIMIT).ok_or_else(|| {
                        ConfError::xml(format!("Invalid value of 'cpuset': {cs}"))
                    })?;
                    e.set_attr("cpuset", &format_bitmap(&ids));
                }
                pins.push((id, e));
            }
            "cachetune" => cachetunes.push(c.clone()),
            "memorytune" => memorytunes.push(c.clone()),
            _ => rest.push(c.clone()),
        }
    }
    vsched.sort_by_key(|(i, _)| *i);
    vsched.retain(|(i, _)| *i < maxv);
    isched.sort_by_key(|(i, _)| *i);
    pins.sort_by_key(|(i, _)| *i);

    // Resource control groups: vcpus trimmed to existing vcpus, dropped
    // when nothing is left; allocations may not overlap.
    let mut used: Vec<Vec<usize>> = Vec::new();
    let norm_tune =
        |e: &Element, child_first: &str| -> Result<Option<(Vec<usize>, Element)>, ConfError> {
            let s = e.attr("vcpus").unwrap_or("");
            let ids = parse_bitmap(s, BITMAP_LIMIT)
                .ok_or_else(|| ConfError::xml(format!("Invalid value of 'vcpus': {s}")))?;
            let ids: Vec<usize> = ids.into_iter().filter(|i| *i < maxv).collect();
            if ids.is_empty() {
                return Ok(None);
            }
            let mut out = e.clone();
            out.set_attr("vcpus", &format_bitmap(&ids));
            if out.attr("id").is_none() {
                out.set_attr("id", &format!("vcpus_{}", format_bitmap(&ids)));
            }
            let (a, b): (Vec<Node>, Vec<Node>) = out
                .children
                .drain(..)
                .partition(|n| matches!(n, Node::Element(c) if c.name == child_first));
            out.children = a
                .into_iter()
                .chain(
                    b.into_iter()
                        .filter(|n| matches!(n, Node::Element(c) if c.name == "monitor")),
                )
                .collect();
            Ok(Some((ids, out)))
        };
    let mut tunes_out: Vec<(Vec<usize>, Element)> = Vec::new();
    for c in &cachetunes {
        if let Some((ids, e)) = norm_tune(c, "cache")? {
            check_cache_tune(&e)?;
            for u in &used {
                if *u == ids {
                    return Err(ConfError::xml("Identical vcpus in cachetunes found"));
                }
                if u.iter().any(|i| ids.contains(i)) {
                    return Err(ConfError::xml("Overlapping vcpus in resctrls"));
                }
            }
            used.push(ids.clone());
            tunes_out.push((ids, e));
        }
    }
    let mut mem_out = Vec::new();
    let mut mem_used: Vec<Vec<usize>> = Vec::new();
    for c in &memorytunes {
        if let Some((ids, e)) = norm_tune(c, "node")? {
            let same_as_cache = used.contains(&ids);
            if !same_as_cache && used.iter().any(|u| u.iter().any(|i| ids.contains(i))) {
                return Err(ConfError::xml("Overlapping vcpus in resctrls"));
            }
            if mem_used.iter().any(|u| u.iter().any(|i| ids.contains(i))) {
                return Err(ConfError::xml("Overlapping vcpus in resctrls"));
            }
            check_monitors(&e, &ids)?;
            // A memorytune on a cachetune's vcpus shares its allocation,
            // and so its id.
            let mut e = e;
            if let Some(id) = tunes_out
                .iter()
                .find(|(t, _)| *t == ids)
                .and_then(|(_, t)| t.attr("id"))
            {
                e.set_attr("id", id);
            }
            let mut nodes: Vec<&str> = Vec::new();
            for n in e.children_named("node") {
                let id = n.attr("id").unwrap_or("");
                if nodes.contains(&id) {
                    return Err(ConfError::xml(format!(
                        "Memory Bandwidth already defined for node {id}"
                    ))
                    .with_domain(ErrorDomain::Resctrl));
                }
                nodes.push(id);
            }
            mem_used.push(ids);
            mem_out.push(e);
        }
    }
    for (ids, e) in &tunes_out {
        check_monitors(e, ids)?;
    }

    let order = [
        "shares",
        "period",
        "quota",
        "global_period",
        "global_quota",
        "emulator_period",
        "emulator_quota",
        "iothread_period",
        "iothread_quota",
    ];
    let mut children: Vec<Element> = Vec::new();
    for n in order {
        children.extend(rest.iter().filter(|e| e.name == n).cloned());
    }
    children.extend(pins.into_iter().map(|(_, e)| e));
    children.extend(rest.iter().filter(|e| e.name == "emulatorpin").cloned());
    children.extend(rest.iter().filter(|e| e.name == "iothreadpin").cloned());
    children.extend(rest.iter().filter(|e| e.name == "emulatorsched").cloned());
    children.extend(vsched.into_iter().map(|(_, e)| e));
    children.extend(isched.into_iter().map(|(_, e)| e));
    children.extend(tunes_out.into_iter().map(|(_, e)| e));
    children.extend(mem_out);
    let known = ["emulatorpin", "iothreadpin", "emulatorsched"];
    children.extend(
        rest.iter()
            .filter(|e| !order.contains(&e.name.as_str()) && !known.contains(&e.name.as_str()))
            .cloned(),
    );
    ct.children = children.into_iter().map(Node::Element).collect();
    Ok(())
}

fn check_cache_tune(e: &Element) -> Result<(), ConfError> {
    let mut seen: Vec<(String, String, String)> = Vec::new();
    for c in e.children_named("cache") {
        let id = c.attr("id").unwrap_or("").to_string();
        let level = c.attr("level").unwrap_or("").to_string();
        let ty = c.attr("type").unwrap_or("").to_string();
        for (i, l, t) in &seen {
            if *i == id && *l == level && (*t == ty || t == "both" || ty == "both") {
                return Err(ConfError::xml(format!(
                    "Colliding cache allocations for cache level '{level}' id '{id}', type '{ty}'"
                ))
                .with_domain(ErrorDomain::Resctrl));
            }
        }
        seen.push((id, level, ty));
    }
    Ok(())
}

fn check_monitors(e: &Element, ids: &[usize]) -> Result<(), ConfError> {
    for m in e.children_named("monitor") {
        let s = m.attr("vcpus").unwrap_or("");
        let mids = parse_bitmap(s, BITMAP_LIMIT)
            .ok_or_else(|| ConfError::xml(format!("Invalid value of 'vcpus': {s}")))?;
        if mids.iter().any(|i| !ids.contains(i)) {
            return Err(ConfError::invalid_arg(
                "Monitor vcpus conflicts with allocation",
            ));
        }
    }
    Ok(())
}

/// Stage 3: checks libvirt makes after defaults are filled.
pub fn validate(def: &DomainDef) -> Result<(), ConfError> {
    if def.name.is_empty() {
        return Err(ConfError::bare(NO_NAME));
    }
    devices::validate_devices(def)?;
    devices::validate_drives(def)?;
    validate_memtune(def)?;
    validate_os(def)?;
    validate_boot(def)
}

fn detail(msg: impl Into<String>) -> ConfError {
    ConfError::new(crate::error::XML_DETAIL, msg)
}

/// The NUMA cells `<cpu><numa>` declares.
fn numa_cell_count(def: &DomainDef) -> usize {
    def.other
        .iter()
        .find(|e| e.name == "cpu")
        .and_then(|c| c.child("numa"))
        .map_or(0, |n| n.children_named("cell").count())
}

/// libvirt's hugepages checks: one page size without a nodeset at most,
/// nodesets that do not intersect and name existing NUMA cells.
fn validate_memtune(def: &DomainDef) -> Result<(), ConfError> {
    let Some(hp) = def
        .other
        .iter()
        .find(|e| e.name == "memoryBacking")
        .and_then(|m| m.child("hugepages"))
    else {
        return Ok(());
    };
    let cells = numa_cell_count(def);
    let mut seen: Vec<(u64, Option<Vec<usize>>)> = Vec::new();
    for p in hp.children_named("page") {
        let size = p.attr("size").and_then(parse_u64).unwrap_or(0);
        let nodes = p
            .attr("nodeset")
            .and_then(|n| parse_bitmap(n, BITMAP_LIMIT));
        for (other, on) in &seen {
            match (&nodes, on) {
                (Some(a), Some(b)) if a.iter().any(|i| b.contains(i)) => {
                    return Err(detail(format!(
                        "nodeset attribute of hugepages of sizes {size} and {other} intersect"
                    )));
                }
                (None, None) => {
                    return Err(detail(format!(
                        "two master hugepages detected: {size} and {other}"
                    )));
                }
                _ => {}
            }
        }
        if let Some(n) = nodes.as_ref().and_then(|n| n.iter().find(|i| **i >= cells)) {
            return Err(detail(format!("hugepages: node {n} not found")));
        }
        seen.push((size, nodes));
    }
    Ok(())
}

/// libvirt's checks of the firmware choice against `<loader>` and
/// `<nvram>` (there is a loader when either element is present).
fn validate_os(def: &DomainDef) -> Result<(), ConfError> {
    let loader = def.os.other.iter().find(|e| e.name == "loader");
    let nvram = def.os.other.iter().find(|e| e.name == "nvram");
    let firmware = def.os.boot.firmware.as_deref();
    if let Some(fw) = firmware {
        let feature = |name: &str| {
            def.os
                .other
                .iter()
                .filter(|e| e.name == "firmware")
                .flat_map(|f| f.children_named("feature"))
                .find(|f| f.attr("name") == Some(name))
                .and_then(|f| f.attr("enabled"))
        };
        if feature("enrolled-keys") == Some("yes") && feature("secure-boot") == Some("no") {
            return Err(detail(
                "firmware feature 'enrolled-keys' cannot be enabled when firmware feature 'secure-boot' is disabled",
            ));
        }
        if loader.is_none() && nvram.is_none() {
            return Ok(());
        }
        if nvram.is_some() && fw != "efi" {
            return Err(detail(format!(
                "firmware type '{fw}' does not support nvram"
            )));
        }
    } else {
        if loader.is_none() && nvram.is_none() {
            return Ok(());
        }
        if loader.is_none_or(|l| l.text().is_empty()) {
            return Err(detail(
                "no loader path specified and firmware auto selection disabled",
            ));
        }
    }
    match loader.and_then(|l| l.attr("stateless")) {
        Some("yes") => {
            if nvram.is_some_and(|n| n.attr("template").is_some()) {
                return Err(detail(
                    "NVRAM template is not permitted when loader is stateless",
                ));
            }
            if nvram.is_some() {
                return Err(detail("NVRAM is not permitted when loader is stateless"));
            }
        }
        Some("no") => match firmware {
            None if loader.and_then(|l| l.attr("type")) != Some("pflash") => {
                return Err(detail("Only pflash loader type permits NVRAM"));
            }
            Some(fw) if fw != "efi" => {
                return Err(detail("Only EFI firmware permits NVRAM"));
            }
            _ => {}
        },
        _ => {}
    }
    Ok(())
}

impl DomainDef {
    /// Gives every video device without a model type the driver's default
    /// model `ty` (a driver's device post-parse step).
    pub fn default_video_type(&mut self, ty: &str) {
        for v in self.devices.iter_mut().filter(|d| d.name == "video") {
            if v.child("model").is_none() {
                v.children.insert(0, Node::Element(Element::new("model")));
            }
            if let Some(m) = v.child_mut("model") {
                if m.attr("type").is_none() {
                    m.insert_attr(0, "type", ty);
                }
            }
        }
    }

    /// Gives back spare capacity left by parsing and frees the rare-field
    /// group when it is empty: definitions are kept for the daemon's
    /// lifetime, often by the thousand.
    pub fn shrink_to_fit(&mut self) {
        fn opt(s: &mut Option<String>) {
            if let Some(s) = s {
                s.shrink_to_fit();
            }
        }
        fn strings(v: &mut Vec<String>) {
            v.shrink_to_fit();
            v.iter_mut().for_each(String::shrink_to_fit);
        }
        fn elements(v: &mut Vec<Element>) {
            v.shrink_to_fit();
            v.iter_mut().for_each(Element::shrink_to_fit);
        }
        for s in [
            &mut self.virt_type,
            &mut self.name,
            &mut self.vcpu_placement,
            &mut self.on_poweroff,
            &mut self.on_reboot,
            &mut self.on_crash,
            &mut self.os.os_type,
        ] {
            s.shrink_to_fit();
        }
        for s in [
            &mut self.title,
            &mut self.description,
            &mut self.metadata,
            &mut self.memory_dump_core,
            &mut self.vcpu_cpuset,
            &mut self.on_lockfailure,
            &mut self.emulator,
            &mut self.os.arch,
            &mut self.os.machine,
        ] {
            opt(s);
        }
        strings(&mut self.os.boot_devs);
        elements(&mut self.os.other);
        self.os.boot.compact();
        if self.os.boot.is_allocated() {
            let b = &mut *self.os.boot;
            for s in [
                &mut b.firmware,
                &mut b.init,
                &mut b.initdir,
                &mut b.inituser,
                &mut b.initgroup,
                &mut b.kernel,
                &mut b.initrd,
                &mut b.cmdline,
                &mut b.dtb,
                &mut b.root,
                &mut b.bootloader,
                &mut b.bootloader_args,
            ] {
                opt(s);
            }
            strings(&mut b.initargs);
            b.initenv.shrink_to_fit();
        }
        self.idmap.uid.shrink_to_fit();
        self.idmap.gid.shrink_to_fit();
        self.clock.shrink_to_fit();
        elements(&mut self.devices);
        elements(&mut self.other);
        self.root_ns.shrink_to_fit();
    }

    /// Parses, fills defaults and validates (virDomainDefParseString)
    /// with no driver's options; drivers use their [`XmlOptions`].
    pub fn parse_str(xml: &str, flags: &ParseFlags) -> Result<DomainDef, ConfError> {
        let mut def = parse(xml, flags)?;
        post_parse(&mut def)?;
        validate(&def)?;
        Ok(def)
    }

    /// Formats as libvirt's virDomainDefFormat does.
    pub fn to_xml(&self, flags: &FormatFlags) -> String {
        format_domain(self, flags)
    }

    /// Sets `<memory>` (KiB); current memory is capped to it.
    pub fn set_memory_kib(&mut self, kib: u64) {
        self.memory_kib = kib;
        if self.current_memory_kib > kib || self.current_memory_kib == 0 {
            self.current_memory_kib = kib;
        }
    }

    /// Sets `<currentMemory>` (KiB).
    pub fn set_current_memory_kib(&mut self, kib: u64) -> Result<(), ConfError> {
        if kib > self.memory_kib {
            return Err(ConfError::invalid_arg(
                "cannot set memory higher than max memory",
            ));
        }
        self.current_memory_kib = kib;
        Ok(())
    }

    /// Sets the maximum vcpu count; the current count is capped to it.
    pub fn set_vcpus_max(&mut self, n: u32) -> Result<(), ConfError> {
        if n == 0 {
            return Err(ConfError::invalid_arg("Invalid number of vcpus '0'"));
        }
        self.vcpus_max = n;
        self.vcpus_current = self.vcpus_current.min(n);
        Ok(())
    }

    /// Sets the online vcpu count.
    pub fn set_vcpus(&mut self, n: u32) -> Result<(), ConfError> {
        if n == 0 {
            return Err(ConfError::invalid_arg("Invalid number of vcpus '0'"));
        }
        if n > self.vcpus_max {
            return Err(ConfError::invalid_arg(format!(
                "requested vcpus is greater than max allowable vcpus for the persistent domain: {} > {}",
                n, self.vcpus_max
            )));
        }
        self.vcpus_current = n;
        Ok(())
    }

    /// virDomainSetMetadata: kind is [`METADATA_DESCRIPTION`],
    /// [`METADATA_TITLE`] or [`METADATA_ELEMENT`]; `None` or empty value
    /// removes the entry.
    pub fn set_metadata(
        &mut self,
        kind: i32,
        value: Option<&str>,
        key: Option<&str>,
        uri: Option<&str>,
    ) -> Result<(), ConfError> {
        let raw = value;
        let value = value.filter(|v| !v.is_empty());
        match kind {
            METADATA_DESCRIPTION => self.description = value.map(str::to_string),
            METADATA_TITLE => {
                if let Some(v) = value {
                    if v.contains('\n') {
                        return Err(ConfError::invalid_arg("title can't contain newlines"));
                    }
                }
                self.title = value.map(str::to_string);
            }
            METADATA_ELEMENT => {
                let uri = uri.ok_or_else(|| {
                    ConfError::invalid_arg("uri in virDomainSetMetadata must not be NULL")
                })?;
                let new = match raw {
                    Some(v) => {
                        let key = key.ok_or_else(|| {
                            ConfError::invalid_arg("key in virDomainSetMetadata must not be NULL")
                        })?;
                        Some(inject_namespace(
                            xml::parse_any(v, "(metadata_xml)")?,
                            key,
                            uri,
                        )?)
                    }
                    None => None,
                };
                let mut kids = self
                    .metadata
                    .as_deref()
                    .map(metadata_children)
                    .unwrap_or_default();
                kids.retain(|c| element_ns(c).as_deref() != Some(uri));
                kids.extend(new);
                self.metadata = if kids.is_empty() {
                    None
                } else {
                    Some(
                        kids.iter()
                            .map(|k| {
                                let mut s = String::new();
                                xml::write_libxml(k, &mut s, 0);
                                s
                            })
                            .collect::<Vec<_>>()
                            .join("\n"),
                    )
                };
            }
            _ => {
                return Err(ConfError::invalid_arg(format!(
                    "unknown metadata type '{kind}'"
                )));
            }
        }
        Ok(())
    }

    /// virDomainGetMetadata.
    pub fn get_metadata(&self, kind: i32, uri: Option<&str>) -> Result<String, ConfError> {
        let missing = || {
            ConfError::new(
                NO_DOMAIN_METADATA,
                "Requested metadata element is not present",
            )
        };
        match kind {
            METADATA_DESCRIPTION => self.description.clone().ok_or_else(missing),
            METADATA_TITLE => self.title.clone().ok_or_else(missing),
            METADATA_ELEMENT => {
                let uri = uri.ok_or_else(|| {
                    ConfError::invalid_arg("uri in virDomainGetMetadata must not be NULL")
                })?;
                let kids = self
                    .metadata
                    .as_deref()
                    .map(metadata_children)
                    .unwrap_or_default();
                let mut el = kids
                    .into_iter()
                    .find(|c| element_ns(c).as_deref() == Some(uri))
                    .ok_or_else(missing)?;
                strip_namespace(&mut el, uri);
                let mut s = String::new();
                xml::write_libxml(&el, &mut s, 0);
                Ok(s)
            }
            _ => Err(ConfError::invalid_arg(format!(
                "unknown metadata type '{kind}'"
            ))),
        }
    }

    /// Filesystems, typed.
    pub fn filesystems(&self) -> Vec<FilesystemDef> {
        self.devices
            .iter()
            .filter(|d| d.name == "filesystem")
            .map(FilesystemDef::from_element)
            .collect()
    }

    /// Network interfaces, typed.
    pub fn interfaces(&self) -> Vec<NetDef> {
        self.devices
            .iter()
            .filter(|d| d.name == "interface")
            .map(NetDef::from_element)
            .collect()
    }

    /// Consoles, typed.
    pub fn consoles(&self) -> Vec<ChrDef> {
        self.devices
            .iter()
            .filter(|d| d.name == "console")
            .map(ChrDef::from_element)
            .collect()
    }

    /// Serial ports, typed.
    pub fn serials(&self) -> Vec<ChrDef> {
        self.devices
            .iter()
            .filter(|d| d.name == "serial")
            .map(ChrDef::from_element)
            .collect()
    }

    /// Disks, typed.
    pub fn disks(&self) -> Vec<DiskDef> {
        self.devices
            .iter()
            .filter(|d| d.name == "disk")
            .map(DiskDef::from_element)
            .collect()
    }

    /// A top-level element kept as XML (features, cpu, resource, ...).
    pub fn other_element(&self, name: &str) -> Option<&Element> {
        self.other.iter().find(|e| e.name == name)
    }

    /// `<resource><partition>`.
    pub fn resource_partition(&self) -> Option<String> {
        self.other_element("resource")
            .and_then(|r| r.child_text("partition"))
    }

    /// `<features><capabilities policy=...>` for containers.
    pub fn capabilities_policy(&self) -> Option<String> {
        self.other_element("features")
            .and_then(|f| f.child("capabilities"))
            .map(|c| c.attr("policy").unwrap_or("default").to_string())
    }

    /// Adds a device element at its canonical position.
    /// libvirt's XML parser makes a disk without a `<source>` a file disk
    /// whatever type it names (an empty CD-ROM); drivers that read
    /// definitions from XML call this in their post-parse (the native
    /// config converters build disks directly and keep the type).
    pub fn reset_sourceless_disks(&mut self) {
        for d in self.devices.iter_mut().filter(|d| d.name == "disk") {
            if d.child("source").is_none() && d.attr("type").is_some_and(|t| t != "file") {
                d.set_attr("type", "file");
            }
        }
    }

    pub fn add_device(&mut self, dev: Element) {
        let r = device_rank(&dev.name);
        let pos = self
            .devices
            .iter()
            .rposition(|d| device_rank(&d.name) <= r)
            .map(|p| p + 1)
            .unwrap_or(0);
        self.devices.insert(pos, dev);
    }
}

fn element_ns(e: &Element) -> Option<String> {
    match e.name.split_once(':') {
        Some((p, _)) => e.attr(&format!("xmlns:{p}")).map(str::to_string),
        None => e.attr("xmlns").map(str::to_string),
    }
}

/// The namespace an element is in, given the declarations in scope
/// (innermost last; the empty prefix is the default namespace).
fn ns_in_scope(e: &Element, scope: &[(String, String)]) -> Option<String> {
    let prefix = e.name.split_once(':').map_or("", |(p, _)| p);
    scope
        .iter()
        .rev()
        .find(|(p, _)| p == prefix)
        .map(|(_, u)| u.clone())
        .filter(|u| !u.is_empty())
}

/// The declarations `e` adds to `scope`.
fn push_decls(e: &Element, scope: &mut Vec<(String, String)>) {
    for (k, v) in &e.attrs {
        if k == "xmlns" {
            scope.push((String::new(), v.clone()));
        } else if let Some(p) = k.strip_prefix("xmlns:") {
            scope.push((p.to_string(), v.clone()));
        }
    }
}

/// Puts every element of the subtree that has no namespace into `prefix`.
fn into_ns(e: &mut Element, prefix: &str, scope: &mut Vec<(String, String)>) {
    let depth = scope.len();
    push_decls(e, scope);
    if ns_in_scope(e, scope).is_none() && !e.name.contains(':') {
        e.name = format!("{prefix}:{}", e.name);
    }
    for c in e.elements_mut() {
        into_ns(c, prefix, scope);
    }
    scope.truncate(depth);
}

/// virXMLInjectNamespace: declares `key` for `uri` on the element (after
/// its own declarations) and puts the elements without a namespace in it.
fn inject_namespace(mut el: Element, key: &str, uri: &str) -> Result<Element, ConfError> {
    let ncname = {
        let mut chars = key.chars();
        chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
            && chars.all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_'))
    };
    if !ncname {
        return Err(ConfError::internal(
            "failed to validate prefix for a new XML namespace",
        ));
    }
    let decl = format!("xmlns:{key}");
    if el.attr(&decl).is_some() {
        return Err(ConfError::internal("failed to create a new XML namespace"));
    }
    let pos = el
        .attrs
        .iter()
        .take_while(|(k, _)| k == "xmlns" || k.starts_with("xmlns:"))
        .count();
    el.attrs.insert(pos, (decl, uri.to_string()));
    into_ns(&mut el, key, &mut Vec::new());
    Ok(el)
}

fn strip_ns(e: &mut Element, uri: &str, scope: &mut Vec<(String, String)>) {
    let depth = scope.len();
    push_decls(e, scope);
    if ns_in_scope(e, scope).as_deref() == Some(uri) {
        e.name = e.local_name().to_string();
    }
    for c in e.elements_mut() {
        strip_ns(c, uri, scope);
    }
    scope.truncate(depth);
}

/// virXMLExtractNamespaceXML's copy: the elements of `uri` lose their
/// namespace, and the element its first declaration of it.
fn strip_namespace(el: &mut Element, uri: &str) {
    strip_ns(el, uri, &mut Vec::new());
    if let Some(i) = el
        .attrs
        .iter()
        .position(|(k, v)| (k == "xmlns" || k.starts_with("xmlns:")) && v == uri)
    {
        el.attrs.remove(i);
    }
}

fn push_text_elem(out: &mut String, indent: usize, name: &str, text: &str) {
    for _ in 0..indent {
        out.push(' ');
    }
    out.push_str(&format!("<{name}>{}</{name}>\n", xml::escape(text)));
}

fn format_domain(def: &DomainDef, flags: &FormatFlags) -> String {
    let inactive = flags.inactive || def.id.is_none();
    let mut out = String::new();
    out.push_str(&format!("<domain type='{}'", def.virt_type));
    if !inactive {
        if let Some(id) = def.id {
            out.push_str(&format!(" id='{id}'"));
        }
    }
    for (k, v) in &def.root_ns {
        out.push_str(&format!(" {k}='{}'", xml::escape(v)));
    }
    out.push_str(">\n");
    let ind = 2;
    push_text_elem(&mut out, ind, "name", &def.name);
    out.push_str(&format!("  <uuid>{}</uuid>\n", def.uuid));
    let mut others: Vec<&Element> = def.other.iter().collect();
    others.sort_by_key(|e| top_rank(&e.name));
    let mut oi = 0;
    // Emits kept elements whose canonical rank is below `rank`.
    let emit_until = |out: &mut String, oi: &mut usize, rank: usize| {
        while *oi < others.len() && top_rank(&others[*oi].name) < rank {
            let e = others[*oi];
            let e = filter_for_format(e, inactive, flags);
            if let Some(e) = e {
                e.write_libvirt(out, ind);
            }
            *oi += 1;
        }
    };
    emit_until(&mut out, &mut oi, top_rank("title"));
    if let Some(t) = &def.title {
        push_text_elem(&mut out, ind, "title", t);
    }
    if let Some(d) = &def.description {
        push_text_elem(&mut out, ind, "description", d);
    }
    if let Some(m) = &def.metadata {
        let kids = metadata_children(m);
        let mut me = Element::new("metadata");
        me.children = kids.into_iter().map(Node::Element).collect();
        out.push_str("  ");
        xml::write_libxml(&me, &mut out, 1);
        out.push('\n');
    }
    emit_until(&mut out, &mut oi, top_rank("maxMemory"));
    if def.max_memory_kib > 0 {
        out.push_str("  <maxMemory");
        if def.memory_slots > 0 {
            out.push_str(&format!(" slots='{}'", def.memory_slots));
        }
        out.push_str(&format!(" unit='KiB'>{}</maxMemory>\n", def.max_memory_kib));
    }
    out.push_str("  <memory");
    if let Some(dc) = &def.memory_dump_core {
        out.push_str(&format!(" dumpCore='{dc}'"));
    }
    out.push_str(&format!(" unit='KiB'>{}</memory>\n", def.memory_kib));
    out.push_str(&format!(
        "  <currentMemory unit='KiB'>{}</currentMemory>\n",
        def.current_memory_kib
    ));
    emit_until(&mut out, &mut oi, top_rank("vcpu"));
    out.push_str(&format!("  <vcpu placement='{}'", def.vcpu_placement));
    if let Some(cs) = &def.vcpu_cpuset {
        out.push_str(&format!(" cpuset='{cs}'"));
    }
    if def.vcpus_current != def.vcpus_max {
        out.push_str(&format!(" current='{}'", def.vcpus_current));
    }
    out.push_str(&format!(">{}</vcpu>\n", def.vcpus_max));
    emit_until(&mut out, &mut oi, top_rank("bootloader"));
    if let Some(b) = &def.os.boot.bootloader {
        push_text_elem(&mut out, ind, "bootloader", b);
        if let Some(a) = &def.os.boot.bootloader_args {
            push_text_elem(&mut out, ind, "bootloader_args", a);
        }
    }
    format_os(&def.os, &mut out);
    if !def.idmap.uid.is_empty() || !def.idmap.gid.is_empty() {
        out.push_str("  <idmap>\n");
        for (n, list) in [("uid", &def.idmap.uid), ("gid", &def.idmap.gid)] {
            for e in list {
                out.push_str(&format!(
                    "    <{n} start='{}' target='{}' count='{}'/>\n",
                    e.start, e.target, e.count
                ));
            }
        }
        out.push_str("  </idmap>\n");
    }
    emit_until(&mut out, &mut oi, top_rank("clock"));
    def.clock.write_libvirt(&mut out, ind);
    push_text_elem(&mut out, ind, "on_poweroff", &def.on_poweroff);
    push_text_elem(&mut out, ind, "on_reboot", &def.on_reboot);
    push_text_elem(&mut out, ind, "on_crash", &def.on_crash);
    if let Some(l) = &def.on_lockfailure {
        push_text_elem(&mut out, ind, "on_lockfailure", l);
    }
    emit_until(&mut out, &mut oi, top_rank("devices"));
    out.push_str("  <devices>\n");
    if let Some(e) = &def.emulator {
        push_text_elem(&mut out, 4, "emulator", e);
    }
    let serials: Vec<&Element> = def.devices.iter().filter(|d| d.name == "serial").collect();
    let mut console_n = 0;
    for d in &def.devices {
        // An HVM guest's serial console is written as the serial port it
        // stands for.
        let stand_in;
        let d = if d.name == "console" {
            console_n += 1;
            let serial_console = matches!(
                d.child("target").and_then(|t| t.attr("type")),
                None | Some("serial")
            );
            match serials.get(console_n - 1) {
                Some(s) if def.os.os_type == "hvm" && serial_console => {
                    stand_in = devices::console_for_serial(s);
                    &stand_in
                }
                _ => d,
            }
        } else {
            d
        };
        // A running guest's first console on a pty also names it in the
        // legacy `tty` attribute.
        let with_tty;
        let d = match console_tty(d, inactive, console_n) {
            Some(path) => {
                let mut c = d.clone();
                let at = usize::from(c.attr("type").is_some());
                c.insert_attr(at, "tty", &path);
                with_tty = c;
                &with_tty
            }
            None => d,
        };
        if let Some(d) = devices::format_filter(d, inactive, flags) {
            if d.name == "redirdev" && d.children.is_empty() {
                // libvirt always writes redirdev's closing tag.
                let open = d.to_libvirt_string(4);
                out.push_str(open.trim_end().trim_end_matches("/>"));
                out.push_str(">\n    </redirdev>\n");
                continue;
            }
            d.write_libvirt(&mut out, 4);
        }
    }
    out.push_str("  </devices>\n");
    emit_until(&mut out, &mut oi, usize::MAX);
    out.push_str("</domain>\n");
    out
}

/// The pty of console element `d` (the `n`th console) that a live
/// definition writes as `tty=`: the first console, port 0, on a pty whose
/// path is known.
fn console_tty(d: &Element, inactive: bool, n: usize) -> Option<String> {
    if inactive || d.name != "console" || n != 1 || d.attr("type").unwrap_or("pty") != "pty" {
        return None;
    }
    let port = d
        .child("target")
        .and_then(|t| t.attr("port"))
        .unwrap_or("0");
    if port != "0" {
        return None;
    }
    d.child("source")
        .and_then(|s| s.attr("path"))
        .map(str::to_string)
}

/// Drops live-only pieces of kept top-level elements when formatting
/// inactive XML.
fn filter_for_format(e: &Element, inactive: bool, _flags: &FormatFlags) -> Option<Element> {
    let mut e = e.clone();
    if e.name == "cputune" {
        for c in e.elements_mut() {
            if (c.name == "cachetune" || c.name == "memorytune") && inactive {
                c.remove_attr("id");
            }
        }
        if e.children.is_empty() {
            return None;
        }
    }
    Some(e)
}

fn format_os(os: &OsDef, out: &mut String) {
    out.push_str("  <os");
    if let Some(f) = &os.boot.firmware {
        out.push_str(&format!(" firmware='{}'", xml::escape(f)));
    }
    out.push_str(">\n    <type");
    if let Some(a) = &os.arch {
        out.push_str(&format!(" arch='{a}'"));
    }
    if let Some(m) = &os.machine {
        out.push_str(&format!(" machine='{}'", xml::escape(m)));
    }
    out.push_str(&format!(">{}</type>\n", os.os_type));
    let mut other: Vec<&Element> = os.other.iter().collect();
    let rank = |n: &str| {
        OS_ORDER
            .iter()
            .position(|x| *x == n)
            .unwrap_or(OS_ORDER.len())
    };
    other.sort_by_key(|e| rank(&e.name));
    let mut oi = 0;
    let mut emit_until = |out: &mut String, r: usize| {
        while oi < other.len() && rank(&other[oi].name) < r {
            other[oi].write_libvirt(out, 4);
            oi += 1;
        }
    };
    emit_until(out, rank("init"));
    if let Some(v) = &os.boot.init {
        push_text_elem(out, 4, "init", v);
    }
    for a in &os.boot.initargs {
        push_text_elem(out, 4, "initarg", a);
    }
    for (n, v) in &os.boot.initenv {
        out.push_str(&format!(
            "    <initenv name='{}'>{}</initenv>\n",
            xml::escape(n),
            xml::escape(v)
        ));
    }
    if let Some(v) = &os.boot.initdir {
        push_text_elem(out, 4, "initdir", v);
    }
    if let Some(v) = &os.boot.inituser {
        push_text_elem(out, 4, "inituser", v);
    }
    if let Some(v) = &os.boot.initgroup {
        push_text_elem(out, 4, "initgroup", v);
    }
    emit_until(out, rank("kernel"));
    for (n, v) in [
        ("kernel", &os.boot.kernel),
        ("initrd", &os.boot.initrd),
        ("cmdline", &os.boot.cmdline),
        ("dtb", &os.boot.dtb),
        ("root", &os.boot.root),
    ] {
        if let Some(v) = v {
            push_text_elem(out, 4, n, v);
        }
    }
    emit_until(out, rank("boot"));
    for b in &os.boot_devs {
        out.push_str(&format!("    <boot dev='{b}'/>\n"));
    }
    emit_until(out, usize::MAX);
    out.push_str("  </os>\n");
}

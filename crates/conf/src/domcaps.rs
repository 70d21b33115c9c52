// SPDX-License-Identifier: LGPL-2.1-or-later
//! Domain capabilities (`virConnectGetDomainCapabilities` XML,
//! `<domainCapabilities>`): what a given emulator / architecture / machine /
//! virtualization type combination lets a guest use.
//!
//! A driver fills a [`DomainCaps`] and calls [`DomainCaps::to_xml`], which
//! writes sections in libvirt 9.6's order. Each enumeration is a list of
//! value names; the formatter writes the values in libvirt's enum order
//! (whatever order the caller used) and drops names libvirt's enum does not
//! have, so the output stays valid against `domaincaps.rng`.
//!
//! [`libxl`] builds the document libvirt's Xen (libxl) driver reports,
//! including its argument checks, so the Xen driver only supplies the host
//! facts.

use crate::error::ConfError;
use crate::xml::{self, Element};

/// A tri-state `supported` attribute: absent sections are not written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Support {
    /// Not reported at all.
    #[default]
    Absent,
    /// `supported='yes'`.
    Yes,
    /// `supported='no'`.
    No,
}

impl Support {
    fn word(self) -> Option<&'static str> {
        match self {
            Support::Absent => None,
            Support::Yes => Some("yes"),
            Support::No => Some("no"),
        }
    }
}

/// One `<enum name='...'>` with its values. `None` in a slot means the
/// enum is not reported; `Some(vec![])` prints `<enum name='x'/>`.
pub type CapsEnum = Option<Vec<String>>;

/// Builds a reported enum from value names.
pub fn values(v: &[&str]) -> CapsEnum {
    Some(v.iter().map(|s| (*s).to_string()).collect())
}

/// A section made of a `supported` flag and named enums (`<disk>`,
/// `<graphics>`, `<memoryBacking>`, `<gic>`, `<hyperv>`, ...).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Section {
    /// The `supported` attribute; `Absent` omits the section.
    pub supported: Support,
    /// Enums by name (`("bus", values(&["ide", "xen"]))`). Written in
    /// libvirt's order for the section; unknown names are ignored.
    pub enums: Vec<(String, CapsEnum)>,
}

impl Section {
    /// A section with `supported='yes'` and the given enums.
    pub fn yes(enums: &[(&str, CapsEnum)]) -> Section {
        Section {
            supported: Support::Yes,
            enums: enums
                .iter()
                .map(|(n, v)| ((*n).to_string(), v.clone()))
                .collect(),
        }
    }

    /// A section with `supported='no'`.
    pub fn no() -> Section {
        Section {
            supported: Support::No,
            enums: Vec::new(),
        }
    }

    fn get(&self, name: &str) -> Option<&Vec<String>> {
        self.enums
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| v.as_ref())
    }
}

/// The `<loader>` part of `<os>`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoaderCaps {
    /// Section flag and the `type`, `readonly`, `secure` enums.
    pub section: Section,
    /// Firmware paths listed as `<value>` before the enums.
    pub paths: Vec<String>,
}

/// The `<os>` section.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OsCaps {
    /// Section flag and the `firmware` enum.
    pub section: Section,
    /// The loader.
    pub loader: LoaderCaps,
}

/// Whether a custom CPU model can be used on this host.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Usable {
    /// `usable='unknown'`.
    #[default]
    Unknown,
    /// `usable='yes'`.
    Yes,
    /// `usable='no'`.
    No,
}

/// A `<model>` under `<mode name='custom'>`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CpuModel {
    /// Model name.
    pub name: String,
    /// Usability on this host.
    pub usable: Usable,
    /// Deprecated model.
    pub deprecated: bool,
    /// Vendor; `None` prints `vendor='unknown'`.
    pub vendor: Option<String>,
}

/// The `<cpu>` section (always written).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CpuCaps {
    /// host-passthrough supported.
    pub host_passthrough: bool,
    /// Values of the host-passthrough `migratable` enum (`on`, `off`).
    pub host_passthrough_migratable: CapsEnum,
    /// maximum supported.
    pub maximum: bool,
    /// Values of the maximum `migratable` enum.
    pub maximum_migratable: CapsEnum,
    /// host-model CPU definition children (`<model>`, `<vendor>`,
    /// `<feature>`); `None` means host-model is unsupported.
    pub host_model: Option<Vec<Element>>,
    /// Custom models; empty means custom mode is unsupported.
    pub custom: Vec<CpuModel>,
}

/// `<sev>` details.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SevCaps {
    /// C-bit position.
    pub cbitpos: u32,
    /// Physical address bits lost.
    pub reduced_phys_bits: u32,
    /// Maximum SEV guests.
    pub max_guests: u32,
    /// Maximum SEV-ES guests.
    pub max_es_guests: u32,
    /// CPU 0 identifier (base64).
    pub cpu0_id: Option<String>,
}

/// An SGX EPC section.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SgxSection {
    /// NUMA node.
    pub node: u32,
    /// Size in KiB.
    pub size_kib: u64,
}

/// `<sgx>` details.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SgxCaps {
    /// Flexible launch control.
    pub flc: bool,
    /// SGX1.
    pub sgx1: bool,
    /// SGX2.
    pub sgx2: bool,
    /// Total EPC size in KiB.
    pub section_size_kib: u64,
    /// EPC sections per node.
    pub sections: Vec<SgxSection>,
}

/// The `<features>` section (always written).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FeatureCaps {
    /// `<gic>` with its `version` enum.
    pub gic: Section,
    /// `<vmcoreinfo>`.
    pub vmcoreinfo: Support,
    /// `<genid>`.
    pub genid: Support,
    /// `<backingStoreInput>`.
    pub backing_store_input: Support,
    /// `<backup>`.
    pub backup: Support,
    /// `<async-teardown>`.
    pub async_teardown: Support,
    /// `<s390-pv>`.
    pub s390_pv: Support,
    /// `<sev>`; `None` prints `supported='no'`.
    pub sev: Option<SevCaps>,
    /// `<sgx>`; `None` prints `supported='no'`.
    pub sgx: Option<SgxCaps>,
    /// `<hyperv>` with its `features` enum; `None` prints nothing.
    pub hyperv: Option<Section>,
}

/// The `<devices>` section (always written); each absent device is omitted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceCaps {
    /// `<disk>`: diskDevice, bus, model.
    pub disk: Section,
    /// `<graphics>`: type.
    pub graphics: Section,
    /// `<video>`: modelType.
    pub video: Section,
    /// `<hostdev>`: mode, startupPolicy, subsysType, capsType, pciBackend.
    pub hostdev: Section,
    /// `<rng>`: model, backendModel.
    pub rng: Section,
    /// `<filesystem>`: driverType.
    pub filesystem: Section,
    /// `<tpm>`: model, backendModel, backendVersion.
    pub tpm: Section,
    /// `<redirdev>`: bus.
    pub redirdev: Section,
    /// `<channel>`: type.
    pub channel: Section,
    /// `<crypto>`: model, type, backendModel.
    pub crypto: Section,
}

/// The whole `<domainCapabilities>` document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DomainCaps {
    /// Emulator binary path.
    pub path: String,
    /// Virtualization type (`xen`, `kvm`, `qemu`, `lxc`, `test`).
    pub virt_type: String,
    /// Machine type.
    pub machine: Option<String>,
    /// Guest architecture.
    pub arch: String,
    /// Maximum vCPUs; 0 omits `<vcpu>`.
    pub max_vcpus: u32,
    /// `<iothreads>`.
    pub iothreads: Support,
    /// `<os>`.
    pub os: OsCaps,
    /// `<cpu>`.
    pub cpu: CpuCaps,
    /// `<memoryBacking>`: sourceType.
    pub memory_backing: Section,
    /// `<devices>`.
    pub devices: DeviceCaps,
    /// `<features>`.
    pub features: FeatureCaps,
}

// libvirt's enum value names, in enum order (the order values are printed).
const TRISTATE_BOOL: &[&str] = &["default", "yes", "no"];
const TRISTATE_SWITCH: &[&str] = &["default", "on", "off"];
const LOADER_TYPE: &[&str] = &["none", "rom", "pflash"];
const FIRMWARE: &[&str] = &["none", "bios", "efi"];
const MEMORY_SOURCE: &[&str] = &["none", "file", "anonymous", "memfd"];
const DISK_DEVICE: &[&str] = &["disk", "cdrom", "floppy", "lun"];
const DISK_BUS: &[&str] = &[
    "none", "ide", "fdc", "scsi", "virtio", "xen", "usb", "uml", "sata", "sd",
];
const DISK_MODEL: &[&str] = &[
    "default",
    "virtio",
    "virtio-transitional",
    "virtio-non-transitional",
];
const GRAPHICS: &[&str] = &[
    "sdl",
    "vnc",
    "rdp",
    "desktop",
    "spice",
    "egl-headless",
    "dbus",
];
const VIDEO: &[&str] = &[
    "default",
    "vga",
    "cirrus",
    "vmvga",
    "xen",
    "vbox",
    "qxl",
    "parallels",
    "virtio",
    "gop",
    "none",
    "bochs",
    "ramfb",
];
const HOSTDEV_MODE: &[&str] = &["subsystem", "capabilities"];
const STARTUP_POLICY: &[&str] = &["default", "mandatory", "requisite", "optional"];
const HOSTDEV_SUBSYS: &[&str] = &["usb", "pci", "scsi", "scsi_host", "mdev"];
const HOSTDEV_CAPS: &[&str] = &["storage", "misc", "net"];
const PCI_BACKEND: &[&str] = &["default", "kvm", "vfio", "xen"];
const RNG_MODEL: &[&str] = &["virtio", "virtio-transitional", "virtio-non-transitional"];
const RNG_BACKEND: &[&str] = &["random", "egd", "builtin"];
const FS_DRIVER: &[&str] = &[
    "default", "path", "handle", "loop", "nbd", "ploop", "virtiofs",
];
const TPM_MODEL: &[&str] = &[
    "default",
    "tpm-tis",
    "tpm-crb",
    "tpm-spapr",
    "spapr-tpm-proxy",
];
const TPM_BACKEND: &[&str] = &["passthrough", "emulator", "external"];
const TPM_VERSION: &[&str] = &["default", "1.2", "2.0"];
const REDIRDEV_BUS: &[&str] = &["usb"];
const CHR_TYPE: &[&str] = &[
    "null",
    "vc",
    "pty",
    "dev",
    "file",
    "pipe",
    "stdio",
    "udp",
    "tcp",
    "unix",
    "spicevmc",
    "spiceport",
    "nmdm",
    "qemu-vdagent",
    "dbus",
];
const CRYPTO_MODEL: &[&str] = &["virtio"];
const CRYPTO_TYPE: &[&str] = &["qemu"];
const CRYPTO_BACKEND: &[&str] = &["builtin", "lkcf"];
const GIC_VERSION: &[&str] = &["none", "host", "2", "3"];
const HYPERV: &[&str] = &[
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

/// Architecture names libvirt knows (virArch, without "none", which
/// leads the domain model's list).
pub const ARCHES: &[&str] = match crate::domain::ARCHES.split_first() {
    Some((_, rest)) => rest,
    None => &[],
};

/// Domain virtualization types libvirt knows (virDomainVirtType).
pub use crate::domain::VIRT_TYPES;

struct Out {
    s: String,
    indent: usize,
}

impl Out {
    fn line(&mut self, text: &str) {
        for _ in 0..self.indent {
            self.s.push(' ');
        }
        self.s.push_str(text);
        self.s.push('\n');
    }
}

fn write_enum(out: &mut Out, name: &str, vals: &[String], table: &[&str]) {
    let present: Vec<&&str> = table
        .iter()
        .filter(|t| vals.iter().any(|v| v == **t))
        .collect();
    if present.is_empty() {
        out.line(&format!("<enum name='{name}'/>"));
        return;
    }
    out.line(&format!("<enum name='{name}'>"));
    out.indent += 2;
    for v in present {
        out.line(&format!("<value>{v}</value>"));
    }
    out.indent -= 2;
    out.line("</enum>");
}

fn write_enums(out: &mut Out, sec: &Section, layout: &[(&str, &[&str])]) {
    for (name, table) in layout {
        if let Some(v) = sec.get(name) {
            write_enum(out, name, v, table);
        }
    }
}

/// Writes the opening of a section; returns false when nothing more goes in.
fn open(out: &mut Out, tag: &str, sup: Support) -> bool {
    match sup {
        Support::Absent => false,
        Support::No => {
            out.line(&format!("<{tag} supported='no'/>"));
            false
        }
        Support::Yes => {
            out.line(&format!("<{tag} supported='yes'>"));
            out.indent += 2;
            true
        }
    }
}

fn close(out: &mut Out, tag: &str) {
    out.indent -= 2;
    out.line(&format!("</{tag}>"));
}

fn write_section(out: &mut Out, tag: &str, sec: &Section, layout: &[(&str, &[&str])]) {
    if open(out, tag, sec.supported) {
        write_enums(out, sec, layout);
        close(out, tag);
    }
}

fn write_simple(out: &mut Out, tag: &str, sup: Support) {
    if let Some(w) = sup.word() {
        out.line(&format!("<{tag} supported='{w}'/>"));
    }
}

/// A CPU mode with its migratability enum, named as libvirt names it
/// (`hostPassthroughMigratable`, `maximumMigratable`).
fn write_mode(out: &mut Out, name: &str, supported: bool, migratable: &CapsEnum) {
    let enum_name = match name {
        "host-passthrough" => "hostPassthroughMigratable",
        "maximum" => "maximumMigratable",
        _ => "migratable",
    };
    match (supported, migratable) {
        (true, Some(v)) => {
            out.line(&format!("<mode name='{name}' supported='yes'>"));
            out.indent += 2;
            write_enum(out, enum_name, v, TRISTATE_SWITCH);
            out.indent -= 2;
            out.line("</mode>");
        }
        _ => out.line(&format!(
            "<mode name='{name}' supported='{}'/>",
            if supported { "yes" } else { "no" }
        )),
    }
}

impl DomainCaps {
    /// Formats as libvirt's virDomainCapsFormat.
    pub fn to_xml(&self) -> String {
        let mut o = Out {
            s: String::from("<domainCapabilities>\n"),
            indent: 2,
        };
        o.line(&format!("<path>{}</path>", xml::escape(&self.path)));
        o.line(&format!(
            "<domain>{}</domain>",
            xml::escape(&self.virt_type)
        ));
        if let Some(m) = &self.machine {
            o.line(&format!("<machine>{}</machine>", xml::escape(m)));
        }
        o.line(&format!("<arch>{}</arch>", xml::escape(&self.arch)));
        if self.max_vcpus != 0 {
            o.line(&format!("<vcpu max='{}'/>", self.max_vcpus));
        }
        write_simple(&mut o, "iothreads", self.iothreads);

        // <os>
        if open(&mut o, "os", self.os.section.supported) {
            write_enums(&mut o, &self.os.section, &[("firmware", FIRMWARE)]);
            let l = &self.os.loader;
            if open(&mut o, "loader", l.section.supported) {
                for p in &l.paths {
                    o.line(&format!("<value>{}</value>", xml::escape(p)));
                }
                write_enums(
                    &mut o,
                    &l.section,
                    &[
                        ("type", LOADER_TYPE),
                        ("readonly", TRISTATE_BOOL),
                        ("secure", TRISTATE_BOOL),
                    ],
                );
                close(&mut o, "loader");
            }
            close(&mut o, "os");
        }

        self.write_cpu(&mut o);

        write_section(
            &mut o,
            "memoryBacking",
            &self.memory_backing,
            &[("sourceType", MEMORY_SOURCE)],
        );

        o.line("<devices>");
        o.indent += 2;
        let d = &self.devices;
        write_section(
            &mut o,
            "disk",
            &d.disk,
            &[
                ("diskDevice", DISK_DEVICE),
                ("bus", DISK_BUS),
                ("model", DISK_MODEL),
            ],
        );
        write_section(&mut o, "graphics", &d.graphics, &[("type", GRAPHICS)]);
        write_section(&mut o, "video", &d.video, &[("modelType", VIDEO)]);
        write_section(
            &mut o,
            "hostdev",
            &d.hostdev,
            &[
                ("mode", HOSTDEV_MODE),
                ("startupPolicy", STARTUP_POLICY),
                ("subsysType", HOSTDEV_SUBSYS),
                ("capsType", HOSTDEV_CAPS),
                ("pciBackend", PCI_BACKEND),
            ],
        );
        write_section(
            &mut o,
            "rng",
            &d.rng,
            &[("model", RNG_MODEL), ("backendModel", RNG_BACKEND)],
        );
        write_section(
            &mut o,
            "filesystem",
            &d.filesystem,
            &[("driverType", FS_DRIVER)],
        );
        write_section(
            &mut o,
            "tpm",
            &d.tpm,
            &[
                ("model", TPM_MODEL),
                ("backendModel", TPM_BACKEND),
                ("backendVersion", TPM_VERSION),
            ],
        );
        write_section(&mut o, "redirdev", &d.redirdev, &[("bus", REDIRDEV_BUS)]);
        write_section(&mut o, "channel", &d.channel, &[("type", CHR_TYPE)]);
        write_section(
            &mut o,
            "crypto",
            &d.crypto,
            &[
                ("model", CRYPTO_MODEL),
                ("type", CRYPTO_TYPE),
                ("backendModel", CRYPTO_BACKEND),
            ],
        );
        o.indent -= 2;
        o.line("</devices>");

        self.write_features(&mut o);

        o.s.push_str("</domainCapabilities>\n");
        o.s
    }

    fn write_cpu(&self, o: &mut Out) {
        let c = &self.cpu;
        o.line("<cpu>");
        o.indent += 2;
        write_mode(
            o,
            "host-passthrough",
            c.host_passthrough,
            &c.host_passthrough_migratable,
        );
        write_mode(o, "maximum", c.maximum, &c.maximum_migratable);
        match &c.host_model {
            Some(children) => {
                o.line("<mode name='host-model' supported='yes'>");
                for e in children {
                    e.write_libvirt(&mut o.s, o.indent + 2);
                }
                o.line("</mode>");
            }
            None => o.line("<mode name='host-model' supported='no'/>"),
        }
        if c.custom.is_empty() {
            o.line("<mode name='custom' supported='no'/>");
        } else {
            o.line("<mode name='custom' supported='yes'>");
            o.indent += 2;
            for m in &c.custom {
                let usable = match m.usable {
                    Usable::Unknown => "unknown",
                    Usable::Yes => "yes",
                    Usable::No => "no",
                };
                let mut line = format!("<model usable='{usable}'");
                if m.deprecated {
                    line.push_str(" deprecated='yes'");
                }
                line.push_str(&format!(
                    " vendor='{}'>{}</model>",
                    xml::escape(m.vendor.as_deref().unwrap_or("unknown")),
                    xml::escape(&m.name)
                ));
                o.line(&line);
            }
            o.indent -= 2;
            o.line("</mode>");
        }
        o.indent -= 2;
        o.line("</cpu>");
    }

    fn write_features(&self, o: &mut Out) {
        let f = &self.features;
        o.line("<features>");
        o.indent += 2;
        write_section(o, "gic", &f.gic, &[("version", GIC_VERSION)]);
        write_simple(o, "vmcoreinfo", f.vmcoreinfo);
        write_simple(o, "genid", f.genid);
        write_simple(o, "backingStoreInput", f.backing_store_input);
        write_simple(o, "backup", f.backup);
        write_simple(o, "async-teardown", f.async_teardown);
        write_simple(o, "s390-pv", f.s390_pv);
        match &f.sev {
            None => o.line("<sev supported='no'/>"),
            Some(s) => {
                o.line("<sev supported='yes'>");
                o.indent += 2;
                o.line(&format!("<cbitpos>{}</cbitpos>", s.cbitpos));
                o.line(&format!(
                    "<reducedPhysBits>{}</reducedPhysBits>",
                    s.reduced_phys_bits
                ));
                o.line(&format!("<maxGuests>{}</maxGuests>", s.max_guests));
                o.line(&format!("<maxESGuests>{}</maxESGuests>", s.max_es_guests));
                if let Some(id) = &s.cpu0_id {
                    o.line(&format!("<cpu0Id>{}</cpu0Id>", xml::escape(id)));
                }
                o.indent -= 2;
                o.line("</sev>");
            }
        }
        match &f.sgx {
            None => o.line("<sgx supported='no'/>"),
            Some(s) => {
                let yn = |b: bool| if b { "yes" } else { "no" };
                o.line("<sgx supported='yes'>");
                o.indent += 2;
                o.line(&format!("<flc>{}</flc>", yn(s.flc)));
                o.line(&format!("<sgx1>{}</sgx1>", yn(s.sgx1)));
                o.line(&format!("<sgx2>{}</sgx2>", yn(s.sgx2)));
                o.line(&format!(
                    "<section_size unit='KiB'>{}</section_size>",
                    s.section_size_kib
                ));
                if !s.sections.is_empty() {
                    o.line("<sections>");
                    o.indent += 2;
                    for sec in &s.sections {
                        o.line(&format!(
                            "<section node='{}' size='{}' unit='KiB'/>",
                            sec.node, sec.size_kib
                        ));
                    }
                    o.indent -= 2;
                    o.line("</sections>");
                }
                o.indent -= 2;
                o.line("</sgx>");
            }
        }
        if let Some(h) = &f.hyperv {
            write_section(o, "hyperv", h, &[("features", HYPERV)]);
        }
        o.indent -= 2;
        o.line("</features>");
    }
}

/// Maximum vCPUs of a Xen HVM guest (libvirt's libxl driver).
pub const XEN_HVM_MAX_VCPUS: u32 = 128;
/// Maximum vCPUs of a Xen PV/PVH guest.
pub const XEN_PV_MAX_VCPUS: u32 = 512;
/// Emulator reported when the caller names none.
pub const XEN_DEFAULT_EMULATOR: &str = "/usr/bin/qemu-system-x86_64";

/// virConnectGetDomainCapabilities as libvirt's libxl driver answers it:
/// checks the arguments (VIR_ERR_INVALID_ARG "unknown virttype: X",
/// "unknown architecture: X", "Xen only supports 'xenpv', 'xenpvh' and
/// 'xenfv' machines") and builds the document. `host_arch` is the default
/// architecture; `firmwares` are the loader paths from libxl.conf.
pub fn libxl(
    emulator: Option<&str>,
    arch: Option<&str>,
    machine: Option<&str>,
    virttype: Option<&str>,
    host_arch: &str,
    firmwares: &[String],
) -> Result<DomainCaps, ConfError> {
    if let Some(v) = virttype {
        if v != "xen" {
            return Err(ConfError::invalid_arg(format!("unknown virttype: {v}")));
        }
    }
    let arch = match arch {
        Some(a) if !ARCHES.contains(&a) => {
            return Err(ConfError::invalid_arg(format!("unknown architecture: {a}")))
        }
        Some(a) => a,
        None => host_arch,
    };
    let machine = match machine {
        Some(m) if !matches!(m, "xenpv" | "xenpvh" | "xenfv") => {
            return Err(ConfError::invalid_arg(
                "Xen only supports 'xenpv', 'xenpvh' and 'xenfv' machines",
            ))
        }
        Some(m) => m,
        None => "xenpv",
    };
    let pv = machine == "xenpv" || machine == "xenpvh";
    let loader = if pv {
        LoaderCaps {
            section: Section {
                supported: Support::No,
                enums: vec![
                    ("type".into(), Some(vec![])),
                    ("readonly".into(), Some(vec![])),
                ],
            },
            paths: Vec::new(),
        }
    } else {
        LoaderCaps {
            section: Section::yes(&[
                ("type", values(&["rom", "pflash"])),
                ("readonly", values(&["yes"])),
            ]),
            paths: firmwares.to_vec(),
        }
    };
    let hostdev = if machine == "xenpvh" {
        Section::default()
    } else {
        Section::yes(&[
            ("mode", values(&["subsystem"])),
            (
                "startupPolicy",
                values(&["default", "mandatory", "requisite", "optional"]),
            ),
            ("subsysType", values(&["usb", "pci"])),
            ("capsType", values(&[])),
            ("pciBackend", values(&["xen"])),
        ])
    };
    Ok(DomainCaps {
        path: emulator.unwrap_or(XEN_DEFAULT_EMULATOR).to_string(),
        virt_type: "xen".into(),
        machine: Some(machine.to_string()),
        arch: arch.to_string(),
        max_vcpus: if machine == "xenfv" {
            XEN_HVM_MAX_VCPUS
        } else {
            XEN_PV_MAX_VCPUS
        },
        iothreads: Support::No,
        os: OsCaps {
            section: Section {
                supported: Support::Yes,
                enums: Vec::new(),
            },
            loader,
        },
        cpu: CpuCaps::default(),
        memory_backing: Section::default(),
        devices: DeviceCaps {
            disk: Section::yes(&[
                ("diskDevice", values(&["disk", "cdrom"])),
                ("bus", values(&["ide", "scsi", "xen"])),
                ("model", values(&[])),
            ]),
            graphics: Section::yes(&[("type", values(&["sdl", "vnc", "spice"]))]),
            video: Section::yes(&[("modelType", values(&["vga", "cirrus", "xen"]))]),
            hostdev,
            ..Default::default()
        },
        features: FeatureCaps {
            gic: Section::no(),
            vmcoreinfo: Support::No,
            genid: Support::No,
            ..Default::default()
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn architectures_are_the_domain_models_without_none() {
        assert_eq!(crate::domain::ARCHES.first(), Some(&"none"));
        assert_eq!(ARCHES.len() + 1, crate::domain::ARCHES.len());
        assert!(!ARCHES.contains(&"none"));
        assert!(ARCHES.contains(&"x86_64") && ARCHES.contains(&"aarch64"));
    }

    #[test]
    fn minimal_document_has_cpu_devices_and_features() {
        let caps = DomainCaps {
            path: "/usr/bin/x".into(),
            virt_type: "test".into(),
            arch: "i686".into(),
            ..Default::default()
        };
        assert_eq!(
            caps.to_xml(),
            "<domainCapabilities>\n  <path>/usr/bin/x</path>\n  <domain>test</domain>\n  <arch>i686</arch>\n  <cpu>\n    <mode name='host-passthrough' supported='no'/>\n    <mode name='maximum' supported='no'/>\n    <mode name='host-model' supported='no'/>\n    <mode name='custom' supported='no'/>\n  </cpu>\n  <devices>\n  </devices>\n  <features>\n    <sev supported='no'/>\n    <sgx supported='no'/>\n  </features>\n</domainCapabilities>\n"
        );
    }

    #[test]
    fn enum_values_follow_libvirt_order_and_unknown_names_are_dropped() {
        let caps = DomainCaps {
            devices: DeviceCaps {
                disk: Section::yes(&[
                    ("bus", values(&["xen", "bogus", "ide"])),
                    ("diskDevice", values(&["cdrom", "disk"])),
                ]),
                ..Default::default()
            },
            ..Default::default()
        };
        let x = caps.to_xml();
        assert!(x.contains(
            "    <disk supported='yes'>\n      <enum name='diskDevice'>\n        <value>disk</value>\n        <value>cdrom</value>\n      </enum>\n      <enum name='bus'>\n        <value>ide</value>\n        <value>xen</value>\n      </enum>\n    </disk>\n"
        ), "{x}");
        assert!(!x.contains("bogus"));
    }

    #[test]
    fn sev_details_are_printed_with_cpu0_id() {
        let caps = DomainCaps {
            features: FeatureCaps {
                sev: Some(SevCaps {
                    cbitpos: 47,
                    reduced_phys_bits: 1,
                    max_guests: 15,
                    max_es_guests: 0,
                    cpu0_id: Some("2jB8eA==".into()),
                }),
                ..Default::default()
            },
            ..Default::default()
        };
        assert!(caps.to_xml().contains("    <sev supported='yes'>\n      <cbitpos>47</cbitpos>\n      <reducedPhysBits>1</reducedPhysBits>\n      <maxGuests>15</maxGuests>\n      <maxESGuests>0</maxESGuests>\n      <cpu0Id>2jB8eA==</cpu0Id>\n    </sev>\n"));
    }

    #[test]
    fn libxl_pv_machine_has_no_loader_values() {
        let caps = libxl(
            None,
            None,
            None,
            None,
            "x86_64",
            &["/usr/lib/xen/boot/hvmloader".into()],
        )
        .expect("caps");
        let x = caps.to_xml();
        assert!(x.contains("  <machine>xenpv</machine>\n  <arch>x86_64</arch>\n  <vcpu max='512'/>\n  <iothreads supported='no'/>\n  <os supported='yes'>\n    <loader supported='no'/>\n  </os>\n"), "{x}");
        assert!(x.contains("<path>/usr/bin/qemu-system-x86_64</path>"));
        assert!(x.contains("      <enum name='model'/>\n"));
        assert!(x.contains("    <gic supported='no'/>\n    <vmcoreinfo supported='no'/>\n    <genid supported='no'/>\n    <sev supported='no'/>\n"));
    }

    #[test]
    fn libxl_hvm_machine_lists_firmwares() {
        let caps = libxl(
            Some("/usr/lib/xen/bin/qemu-system-i386"),
            Some("x86_64"),
            Some("xenfv"),
            Some("xen"),
            "x86_64",
            &["/usr/lib/xen/boot/hvmloader".into()],
        )
        .expect("caps");
        let x = caps.to_xml();
        assert!(x.contains("  <vcpu max='128'/>\n"));
        assert!(x.contains("    <loader supported='yes'>\n      <value>/usr/lib/xen/boot/hvmloader</value>\n      <enum name='type'>\n        <value>rom</value>\n        <value>pflash</value>\n      </enum>\n      <enum name='readonly'>\n        <value>yes</value>\n      </enum>\n    </loader>\n"), "{x}");
        assert!(x.contains("<enum name='pciBackend'>\n        <value>xen</value>"));
    }

    #[test]
    fn libxl_rejects_unknown_arguments_with_invalid_arg() {
        let e = libxl(None, None, None, Some("kvm"), "x86_64", &[]).expect_err("virttype");
        assert_eq!(
            (e.code, e.detail_text()),
            (crate::error::INVALID_ARG, "unknown virttype: kvm")
        );
        let e = libxl(None, Some("z80"), None, None, "x86_64", &[]).expect_err("arch");
        assert_eq!(e.detail_text(), "unknown architecture: z80");
        let e = libxl(None, None, Some("pc"), None, "x86_64", &[]).expect_err("machine");
        assert_eq!(
            e.detail_text(),
            "Xen only supports 'xenpv', 'xenpvh' and 'xenfv' machines"
        );
        let x = libxl(None, None, Some("xenpvh"), None, "x86_64", &[])
            .expect("pvh")
            .to_xml();
        assert!(!x.contains("<hostdev"));
    }
}

// SPDX-License-Identifier: LGPL-2.1-or-later
//! libvirt's QEMU capabilities model: what one QEMU binary can do, as
//! libvirt's QEMU driver learns it by probing the binary over QMP and keeps
//! it in its capability cache (`/var/cache/libvirt/qemu/capabilities/*.xml`).
//!
//! [`QemuCaps`] holds the capability flags (by libvirt's flag names, see
//! [`flags::FLAG_NAMES`]), the version, the architecture, and per
//! accelerator ([`VirtType`]: KVM, HVF, TCG) the host CPU model QEMU
//! expands, the CPU models and the machine types. [`QemuCaps::parse_cache`]
//! and [`QemuCaps::format_cache`] read and write libvirt 9.6's cache XML
//! byte for byte; the accessors answer the questions libvirt's
//! `virQEMUCaps*` getters answer (preferred machine, alias resolution,
//! machine limits and defaults, CPU models).
//!
//! Must not depend on: an async runtime, the RPC layer, drivers or the host
//! (no I/O: the caller reads and writes files). Probing a binary lives in
//! the `qemu` crate, which fills this model.
//!
//! Invariants: parsing never panics on any input; a parsed cache formats
//! back to the same bytes as libvirt writes it (flags in libvirt's
//! enumeration order, machine types and CPU models in the order given).
#![forbid(unsafe_code)]

mod cache;
pub mod flags;

pub use conf::ConfError;

/// A virtualization type a QEMU binary can run guests with, which is also
/// the accelerator the capabilities are split by (`type='kvm'`, `'hvf'`,
/// `'tcg'` in the cache XML).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VirtType {
    /// `<domain type='kvm'>`: the KVM accelerator.
    Kvm,
    /// `<domain type='hvf'>`: macOS Hypervisor.framework.
    Hvf,
    /// `<domain type='qemu'>`: TCG emulation.
    Qemu,
}

impl VirtType {
    /// The accelerator's name in the cache XML (`kvm`, `hvf`, `tcg`).
    pub fn accel_str(self) -> &'static str {
        match self {
            VirtType::Kvm => "kvm",
            VirtType::Hvf => "hvf",
            VirtType::Qemu => "tcg",
        }
    }

    /// The domain type name (`kvm`, `hvf`, `qemu`).
    pub fn domain_type(self) -> &'static str {
        match self {
            VirtType::Kvm => "kvm",
            VirtType::Hvf => "hvf",
            VirtType::Qemu => "qemu",
        }
    }

    /// From a domain type name (`kvm`, `hvf`, `qemu`).
    pub fn from_domain_type(s: &str) -> Option<VirtType> {
        match s {
            "kvm" => Some(VirtType::Kvm),
            "hvf" => Some(VirtType::Hvf),
            "qemu" => Some(VirtType::Qemu),
            _ => None,
        }
    }

    /// Whether this is hardware acceleration (anything but TCG).
    pub fn is_accelerated(self) -> bool {
        self != VirtType::Qemu
    }
}

/// One capability flag, by its index in libvirt's enumeration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Flag(u16);

impl Flag {
    /// The flag named `name` (as in the cache XML: `kvm`, `virtio-scsi-pci`,
    /// `blockdev`, ...), or None for a name libvirt 9.6 does not know.
    pub fn from_name(name: &str) -> Option<Flag> {
        flags::FLAG_NAMES
            .iter()
            .position(|n| *n == name)
            .and_then(|i| u16::try_from(i).ok())
            .map(Flag)
    }

    /// The flag's name.
    pub fn name(self) -> &'static str {
        flags::FLAG_NAMES[usize::from(self.0)]
    }

    /// The flag's index in libvirt's enumeration.
    pub fn index(self) -> usize {
        usize::from(self.0)
    }
}

/// A set of capability flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlagSet {
    bits: Vec<bool>,
}

impl Default for FlagSet {
    fn default() -> Self {
        FlagSet {
            bits: vec![false; flags::FLAG_NAMES.len()],
        }
    }
}

impl FlagSet {
    /// Whether `flag` is set.
    pub fn contains(&self, flag: Flag) -> bool {
        self.bits.get(flag.index()).copied().unwrap_or(false)
    }

    /// Sets `flag`.
    pub fn insert(&mut self, flag: Flag) {
        if let Some(b) = self.bits.get_mut(flag.index()) {
            *b = true;
        }
    }

    /// Clears `flag`.
    pub fn remove(&mut self, flag: Flag) {
        if let Some(b) = self.bits.get_mut(flag.index()) {
            *b = false;
        }
    }

    /// The set flags in libvirt's enumeration order.
    pub fn iter(&self) -> impl Iterator<Item = Flag> + '_ {
        self.bits
            .iter()
            .enumerate()
            .filter(|(_, b)| **b)
            .filter_map(|(i, _)| u16::try_from(i).ok().map(Flag))
    }
}

/// One machine type of an accelerator (`<machine type='kvm' .../>`, QMP
/// `query-machines`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MachineType {
    /// The canonical name (`pc-i440fx-8.1`).
    pub name: String,
    /// The alias QEMU reports for it (`pc`, `q35`).
    pub alias: Option<String>,
    /// The maximum number of vCPUs (0: unknown).
    pub max_cpus: u32,
    /// Whether vCPUs can be hot-plugged.
    pub hotplug_cpus: bool,
    /// Whether QEMU itself uses this machine by default.
    pub qemu_default: bool,
    /// The QOM type name of the machine's default CPU model.
    pub default_cpu: Option<String>,
    /// Whether `-numa node,mem=` is still supported.
    pub numa_mem_supported: bool,
    /// The id of the machine's default RAM backend (`pc.ram`).
    pub default_ram_id: Option<String>,
    /// Whether QEMU deprecated this machine type.
    pub deprecated: bool,
    /// Whether the machine has an `acpi` property and its default (None:
    /// not reported).
    pub acpi: Option<bool>,
}

/// Whether a CPU model can be used on this host as is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CpuUsable {
    /// QEMU did not say.
    #[default]
    Unknown,
    /// Usable.
    Yes,
    /// Not usable: the features in [`CpuModel::blockers`] are missing.
    No,
}

impl CpuUsable {
    /// libvirt's word for it (`unknown`, `yes`, `no`).
    pub fn as_str(self) -> &'static str {
        match self {
            CpuUsable::Unknown => "unknown",
            CpuUsable::Yes => "yes",
            CpuUsable::No => "no",
        }
    }
}

/// One CPU model (`<cpu type='kvm' name=... typename=... usable=...>`,
/// QMP `query-cpu-definitions`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CpuModel {
    /// The model name (`Skylake-Client-v4`).
    pub name: String,
    /// Its QOM type name (`Skylake-Client-v4-x86_64-cpu`).
    pub typename: Option<String>,
    /// Whether it can run on this host with this accelerator.
    pub usable: CpuUsable,
    /// The features that keep it from being usable, in QEMU's spelling.
    pub blockers: Vec<String>,
    /// Whether QEMU deprecated it.
    pub deprecated: bool,
}

/// The value of one property of the host CPU model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CpuPropValue {
    /// `type='boolean'`.
    Boolean(bool),
    /// `type='string'`.
    String(String),
    /// `type='number'`.
    Number(i64),
}

/// One property of the host CPU model as QEMU expands it
/// (`query-cpu-model-expansion`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpuProperty {
    /// The property (CPU feature) name, in QEMU's spelling.
    pub name: String,
    /// Its value.
    pub value: CpuPropValue,
    /// Whether the feature is migratable (None: not reported).
    pub migratable: Option<bool>,
}

/// The host CPU model an accelerator offers (`<hostCPU>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostCpuModelInfo {
    /// The model QEMU expanded (`base` or `host`/`max`).
    pub model: String,
    /// Whether the migratable subset was probed.
    pub migratability: bool,
    /// Its properties in QEMU's order.
    pub props: Vec<CpuProperty>,
}

/// What one accelerator offers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccelCaps {
    /// The host CPU model, when QEMU can expand it.
    pub host_cpu: Option<HostCpuModelInfo>,
    /// The CPU models.
    pub cpu_models: Vec<CpuModel>,
    /// The machine types; the first is the one libvirt prefers when a
    /// domain names none.
    pub machines: Vec<MachineType>,
}

/// One GIC version an ARM QEMU supports (`<gic>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GicCap {
    /// GIC version (2, 3).
    pub version: u32,
    /// Implemented in the kernel.
    pub kernel: bool,
    /// Emulated by QEMU.
    pub emulated: bool,
}

/// AMD SEV platform data (`<sev>`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SevCaps {
    /// C-bit position.
    pub cbitpos: u32,
    /// Reduced physical address bits.
    pub reduced_phys_bits: u32,
    /// Platform Diffie-Hellman key (base64).
    pub pdh: String,
    /// Certificate chain (base64).
    pub cert_chain: String,
    /// CPU 0 id (base64), when reported.
    pub cpu0_id: Option<String>,
}

/// One SGX EPC section (`<section>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SgxSection {
    /// Host NUMA node.
    pub node: u32,
    /// Size in KiB.
    pub size: u64,
}

/// Intel SGX platform data (`<sgx>`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SgxCaps {
    /// Flexible launch control.
    pub flc: bool,
    /// SGX1 instructions.
    pub sgx1: bool,
    /// SGX2 instructions.
    pub sgx2: bool,
    /// EPC size in KiB.
    pub section_size: u64,
    /// EPC sections per NUMA node (None: not reported).
    pub sections: Option<Vec<SgxSection>>,
}

/// The Hyper-V enlightenments libvirt knows, in its enumeration order.
pub const HYPERV_FEATURES: [&str; 15] = [
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

/// Hyper-V enlightenments QEMU supports with KVM (`<hypervCapabilities>`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HypervCaps {
    /// Whether Hyper-V enlightenments are supported at all.
    pub supported: bool,
    /// The supported features, by name (see [`HYPERV_FEATURES`]); written in
    /// libvirt's order.
    pub features: Vec<String>,
}

/// The architecture names libvirt knows (`virArch`).
pub const ARCHES: [&str; 37] = [
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

/// The capabilities of one QEMU binary (libvirt's `virQEMUCaps`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QemuCaps {
    /// The binary (`/usr/bin/qemu-system-x86_64`).
    pub emulator: String,
    /// The binary's ctime when probed (seconds).
    pub qemu_ctime: i64,
    /// The mtime of QEMU's module directory when probed (0: none).
    pub qemu_moddir_mtime: i64,
    /// The daemon binary's ctime when probed (invalidates the cache).
    pub self_ctime: i64,
    /// The daemon's version number when probed (invalidates the cache).
    pub self_vers: u64,
    /// The capability flags.
    pub flags: FlagSet,
    /// QEMU's version as major * 1000000 + minor * 1000 + micro.
    pub version: u32,
    /// The host CPU microcode version when probed.
    pub microcode_version: u32,
    /// The host CPU signature when probed.
    pub host_cpu_signature: Option<String>,
    /// QEMU's package string.
    pub package: Option<String>,
    /// The host kernel version when probed (when KVM matters).
    pub kernel_version: Option<String>,
    /// Raw `<cpudata>` (non-x86 host CPU data), kept as read.
    pub cpu_data: Option<conf::xml::Element>,
    /// The guest architecture (`x86_64`).
    pub arch: String,
    /// KVM capabilities (used when the `kvm` flag is set).
    pub kvm: AccelCaps,
    /// HVF capabilities (used when the `hvf` flag is set).
    pub hvf: AccelCaps,
    /// TCG capabilities.
    pub tcg: AccelCaps,
    /// GIC versions (ARM).
    pub gic: Vec<GicCap>,
    /// SEV platform data (with the `sev-guest` flag).
    pub sev: Option<SevCaps>,
    /// SGX platform data (with the `sgx-epc` flag).
    pub sgx: Option<SgxCaps>,
    /// Hyper-V enlightenments.
    pub hyperv: Option<HypervCaps>,
    /// Whether KVM supports nested guests.
    pub kvm_supports_nesting: bool,
    /// Whether KVM supports secure guests.
    pub kvm_supports_secure_guest: bool,
}

impl QemuCaps {
    /// Empty capabilities for `binary`.
    pub fn new(binary: &str) -> QemuCaps {
        QemuCaps {
            emulator: binary.to_string(),
            ..Default::default()
        }
    }

    /// Whether the flag named `name` (libvirt's spelling, as in the cache
    /// XML) is set; false for an unknown name.
    pub fn has(&self, name: &str) -> bool {
        Flag::from_name(name).is_some_and(|f| self.flags.contains(f))
    }

    /// Sets the flag named `name`; false if libvirt has no such flag.
    pub fn set(&mut self, name: &str) -> bool {
        match Flag::from_name(name) {
            Some(f) => {
                self.flags.insert(f);
                true
            }
            None => false,
        }
    }

    /// Clears the flag named `name`.
    pub fn clear(&mut self, name: &str) {
        if let Some(f) = Flag::from_name(name) {
            self.flags.remove(f);
        }
    }

    /// The names of the set flags, in libvirt's order.
    pub fn flag_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.flags.iter().map(Flag::name)
    }

    /// The capabilities of one accelerator (`Kvm`, `Hvf` or `Qemu` = TCG).
    pub fn accel(&self, virt: VirtType) -> &AccelCaps {
        match virt {
            VirtType::Kvm => &self.kvm,
            VirtType::Hvf => &self.hvf,
            VirtType::Qemu => &self.tcg,
        }
    }

    /// Mutable access to one accelerator's capabilities.
    pub fn accel_mut(&mut self, virt: VirtType) -> &mut AccelCaps {
        match virt {
            VirtType::Kvm => &mut self.kvm,
            VirtType::Hvf => &mut self.hvf,
            VirtType::Qemu => &mut self.tcg,
        }
    }

    /// Whether guests of `virt` can run (flags `tcg`, `kvm`, `hvf`;
    /// `virQEMUCapsIsVirtTypeSupported`).
    pub fn is_virt_type_supported(&self, virt: VirtType) -> bool {
        match virt {
            VirtType::Qemu => self.has("tcg"),
            VirtType::Kvm => self.has("kvm"),
            VirtType::Hvf => self.has("hvf"),
        }
    }

    /// Whether an accelerator (KVM or HVF) is available.
    pub fn have_accel(&self) -> bool {
        self.has("kvm") || self.has("hvf")
    }

    /// Whether a guest of architecture `arch` can run on this binary
    /// (its own, or i686 on x86_64, armv7l on aarch64, armv6l on armv7l,
    /// ppc64le on ppc64; `virQEMUCapsIsArchSupported`).
    pub fn is_arch_supported(&self, arch: &str) -> bool {
        arch == self.arch
            || matches!(
                (self.arch.as_str(), arch),
                ("x86_64", "i686")
                    | ("aarch64", "armv7l")
                    | ("armv7l", "armv6l")
                    | ("ppc64", "ppc64le")
            )
    }

    /// The machine types of `virt`, the preferred one first.
    pub fn machines(&self, virt: VirtType) -> &[MachineType] {
        &self.accel(virt).machines
    }

    /// The machine type libvirt uses when a domain names none (the first;
    /// `virQEMUCapsGetPreferredMachine`).
    pub fn preferred_machine(&self, virt: VirtType) -> Option<&str> {
        self.accel(virt).machines.first().map(|m| m.name.as_str())
    }

    /// Resolves an alias (`pc`, `q35`) to the canonical machine name; any
    /// other name comes back unchanged (`virQEMUCapsGetCanonicalMachine`).
    pub fn canonical_machine<'a>(&'a self, virt: VirtType, name: &'a str) -> &'a str {
        self.accel(virt)
            .machines
            .iter()
            .find(|m| m.alias.as_deref() == Some(name))
            .map_or(name, |m| m.name.as_str())
    }

    /// The machine type named `name` (canonical name, not an alias).
    pub fn machine(&self, virt: VirtType, name: &str) -> Option<&MachineType> {
        self.accel(virt).machines.iter().find(|m| m.name == name)
    }

    /// Whether `canonical` names a machine type of `virt`
    /// (`virQEMUCapsIsMachineSupported`).
    pub fn is_machine_supported(&self, virt: VirtType, canonical: &str) -> bool {
        self.machine(virt, canonical).is_some()
    }

    /// The maximum vCPUs of a machine type, 0 when unknown
    /// (`virQEMUCapsGetMachineMaxCpus`).
    pub fn machine_max_cpus(&self, virt: VirtType, name: &str) -> u32 {
        self.accel(virt)
            .machines
            .iter()
            .find(|m| m.max_cpus != 0 && m.name == name)
            .map_or(0, |m| m.max_cpus)
    }

    /// Whether a machine type supports vCPU hot-plug.
    pub fn machine_hotplug_cpus(&self, virt: VirtType, name: &str) -> bool {
        self.machine(virt, name).is_some_and(|m| m.hotplug_cpus)
    }

    /// The CPU model name (not the QOM type) a machine type uses by
    /// default, when the machine and the model are both known
    /// (`virQEMUCapsGetMachineDefaultCPU`).
    pub fn machine_default_cpu(&self, virt: VirtType, name: &str) -> Option<&str> {
        let accel = self.accel(virt);
        if accel.cpu_models.is_empty() {
            return None;
        }
        let ty = self.machine(virt, name)?.default_cpu.as_deref()?;
        accel
            .cpu_models
            .iter()
            .find(|c| c.typename.as_deref() == Some(ty))
            .map(|c| c.name.as_str())
    }

    /// Whether a machine type still supports `-numa node,mem=`.
    pub fn machine_numa_mem_supported(&self, virt: VirtType, name: &str) -> bool {
        self.machine(virt, name)
            .is_some_and(|m| m.numa_mem_supported)
    }

    /// The default RAM backend id of a machine type (`pc.ram`).
    pub fn machine_default_ram_id(&self, virt: VirtType, name: &str) -> Option<&str> {
        self.machine(virt, name)?.default_ram_id.as_deref()
    }

    /// Whether a machine type is deprecated.
    pub fn is_machine_deprecated(&self, virt: VirtType, name: &str) -> bool {
        self.machine(virt, name).is_some_and(|m| m.deprecated)
    }

    /// Whether a machine type supports ACPI (None: not reported).
    pub fn machine_supports_acpi(&self, virt: VirtType, name: &str) -> Option<bool> {
        self.machine(virt, name).and_then(|m| m.acpi)
    }

    /// The CPU models of `virt`.
    pub fn cpu_models(&self, virt: VirtType) -> &[CpuModel] {
        &self.accel(virt).cpu_models
    }

    /// Whether CPU model `name` is deprecated.
    pub fn is_cpu_deprecated(&self, virt: VirtType, name: &str) -> bool {
        self.accel(virt)
            .cpu_models
            .iter()
            .find(|c| c.name == name)
            .is_some_and(|c| c.deprecated)
    }

    /// The host CPU model info of `virt`.
    pub fn host_cpu(&self, virt: VirtType) -> Option<&HostCpuModelInfo> {
        self.accel(virt).host_cpu.as_ref()
    }

    /// Replaces every aliased machine type's alias by a copy of the
    /// machine under the alias name, appended at the end, as libvirt's
    /// tests do for the "latest" capabilities so that `pc` and `q35` stay
    /// as written (`virQEMUCapsStripMachineAliases`).
    pub fn strip_machine_aliases(&mut self) {
        for virt in [VirtType::Kvm, VirtType::Hvf, VirtType::Qemu] {
            let accel = self.accel_mut(virt);
            let mut added = Vec::new();
            for m in &mut accel.machines {
                if let Some(alias) = m.alias.take() {
                    added.push(MachineType {
                        name: alias,
                        alias: None,
                        ..m.clone()
                    });
                }
            }
            accel.machines.extend(added);
        }
    }

    /// QEMU's version as (major, minor, micro).
    pub fn version_triple(&self) -> (u32, u32, u32) {
        (
            self.version / 1_000_000,
            (self.version / 1000) % 1000,
            self.version % 1000,
        )
    }
}

/// x86 CPU feature names that libvirt and QEMU spell differently
/// (libvirt's name, QEMU's name).
const X86_FEATURE_NAMES: [(&str, &str); 11] = [
    ("cmp_legacy", "cmp-legacy"),
    ("ds_cpl", "ds-cpl"),
    ("fxsr_opt", "fxsr-opt"),
    ("kvm_pv_eoi", "kvm-pv-eoi"),
    ("kvm_pv_unhalt", "kvm-pv-unhalt"),
    ("lahf_lm", "lahf-lm"),
    ("nodeid_msr", "nodeid-msr"),
    ("pclmuldq", "pclmulqdq"),
    ("perfctr_core", "perfctr-core"),
    ("perfctr_nb", "perfctr-nb"),
    ("tsc_adjust", "tsc-adjust"),
];

fn is_x86(arch: &str) -> bool {
    arch == "x86_64" || arch == "i686"
}

/// A CPU feature name in QEMU's spelling for `arch`
/// (`virQEMUCapsCPUFeatureToQEMU`).
pub fn cpu_feature_to_qemu<'a>(arch: &str, feature: &'a str) -> &'a str {
    if !is_x86(arch) {
        return feature;
    }
    X86_FEATURE_NAMES
        .iter()
        .find(|(l, _)| *l == feature)
        .map_or(feature, |(_, q)| q)
}

/// A CPU feature name in libvirt's spelling for `arch`
/// (`virQEMUCapsCPUFeatureFromQEMU`).
pub fn cpu_feature_from_qemu<'a>(arch: &str, feature: &'a str) -> &'a str {
    if !is_x86(arch) {
        return feature;
    }
    X86_FEATURE_NAMES
        .iter()
        .find(|(_, q)| *q == feature)
        .map_or(feature, |(l, _)| l)
}

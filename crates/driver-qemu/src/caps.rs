// SPDX-License-Identifier: LGPL-2.1-or-later
//! Host and domain capabilities from the probed emulators: which
//! `qemu-system-ARCH` binaries exist (searched in `PATH` as libvirt does),
//! their capabilities through the cache (`qemu::cache`), `virsh
//! capabilities` (`<host>` and one `<guest>` per emulator) and `virsh
//! domcapabilities` (libvirt's `virQEMUCapsFillDomainCaps`).
//!
//! Not yet derived: the host CPU model and the vendor of custom CPU models,
//! which libvirt computes from its CPU map (`<mode name='host-model'>`
//! shows the CPU QEMU expands for the host only as a `<model>` of `host`'s
//! vendor-neutral name, and custom models carry `vendor='unknown'`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use conf::capabilities::{Capabilities, Guest, GuestFeature, Host, Machine, SecModel};
use conf::domcaps::{self, CpuCaps, CpuModel, DomainCaps, Section, Support, Usable};
use conf::xml::Element;
use driver::error::{ErrorCode, ErrorDomain};
use driver::{Error, Result};
use qemu::cache::CapsCache;
use qemu_caps::{QemuCaps, VirtType};

/// The architecture of this host in libvirt's naming.
pub use driver::nodeinfo::host_arch;

fn wordsize(arch: &str) -> u32 {
    match arch {
        "i686" | "armv6l" | "armv7l" | "armv7b" | "ppc" | "ppcle" | "s390" | "mips" | "mipsel"
        | "sparc" | "sh4" | "sh4eb" | "cris" | "m68k" | "microblaze" | "microblazeel"
        | "openrisc" | "parisc" | "riscv32" | "xtensa" | "xtensaeb" | "lm32" | "unicore32"
        | "ppcemb" => 32,
        _ => 64,
    }
}

fn is_x86(a: &str) -> bool {
    a == "x86_64" || a == "i686"
}

/// Finds `name` in `PATH` (or the usual system directories when `PATH` is
/// unset), as libvirt's `virFindFileInPath`.
fn find_in_path(name: &str) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".into());
    path.split(':')
        .filter(|d| !d.is_empty())
        .map(|d| Path::new(d).join(name))
        .find(|p| {
            p.metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
        .map(|p| p.display().to_string())
}

/// The emulator libvirt picks for guests of `arch` on this host
/// (`virQEMUCapsGetDefaultEmulator`).
pub fn default_emulator(arch: &str) -> Option<String> {
    let host = host_arch();
    if host == "aarch64" && arch == "armv7l" {
        if let Some(b) = find_in_path("qemu-system-aarch64") {
            return Some(b);
        }
    }
    if let Some(b) = find_in_path(&format!("qemu-system-{}", qemu::probe::arch_to_qemu(arch))) {
        return Some(b);
    }
    let target = match (host, arch) {
        ("x86_64", "i686") => Some("x86_64"),
        ("aarch64", "armv7l") => Some("aarch64"),
        ("ppc64" | "ppc64le", "ppc" | "ppcle") => Some("ppc64"),
        _ => None,
    };
    if let Some(t) = target {
        if let Some(b) = find_in_path(&format!("qemu-system-{t}")) {
            return Some(b);
        }
    }
    let native = host == arch || (host == "x86_64" && arch == "i686");
    if native && Path::new("/usr/libexec/qemu-kvm").exists() {
        return Some("/usr/libexec/qemu-kvm".into());
    }
    None
}

/// Looks `binary` up in the cache, probing it when needed (on a thread of
/// its own with its own runtime, so that a driver call on the daemon's
/// blocking pool can wait for it).
pub fn lookup(cache: &Arc<CapsCache>, binary: &str) -> Result<Arc<QemuCaps>> {
    let cache = cache.clone();
    let binary = binary.to_string();
    std::thread::scope(|s| {
        s.spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| {
                    Error::new(ErrorCode::InternalError, ErrorDomain::Qemu, e.to_string())
                })?;
            rt.block_on(cache.lookup(&binary))
        })
        .join()
        .unwrap_or_else(|_| {
            Err(Error::new(
                ErrorCode::InternalError,
                ErrorDomain::Qemu,
                "capability probe failed",
            ))
        })
    })
}

/// The `<guest>` of one emulator (`virQEMUCapsInitGuestFromBinary`).
fn guest_of(caps: &QemuCaps, binary: &str, arch: &str) -> Guest {
    let virt = if caps.has("kvm") {
        VirtType::Kvm
    } else if caps.has("hvf") {
        VirtType::Hvf
    } else {
        VirtType::Qemu
    };
    let mut machines: Vec<Machine> = Vec::new();
    for m in caps.machines(virt) {
        match &m.alias {
            Some(a) => machines.push(Machine {
                name: a.clone(),
                canonical: Some(m.name.clone()),
                max_cpus: Some(m.max_cpus),
                deprecated: m.deprecated,
            }),
            None => machines.push(Machine {
                name: m.name.clone(),
                canonical: None,
                max_cpus: Some(m.max_cpus),
                deprecated: m.deprecated,
            }),
        }
    }
    // Every canonical name gets its own entry too, just before its alias.
    let mut i = 0;
    while i < machines.len() {
        if let Some(canon) = machines[i].canonical.clone() {
            if !machines.iter().any(|m| m.name == canon) {
                let entry = Machine {
                    name: canon,
                    canonical: None,
                    max_cpus: machines[i].max_cpus,
                    deprecated: machines[i].deprecated,
                };
                machines.insert(i, entry);
                i += 1;
            }
        }
        i += 1;
    }
    let mut domains = Vec::new();
    for (flag, ty) in [("tcg", "qemu"), ("kvm", "kvm"), ("hvf", "hvf")] {
        if caps.has(flag) {
            domains.push(conf::capabilities::GuestDomain {
                virt_type: ty.into(),
                ..Default::default()
            });
        }
    }
    let feat = |name: &str, default: Option<&str>, toggle: Option<&str>| GuestFeature {
        name: name.into(),
        default: default.map(str::to_string),
        toggle: toggle.map(str::to_string),
    };
    let mut features = Vec::new();
    if arch == "i686" {
        features.push(feat("pae", None, None));
        features.push(feat("nonpae", None, None));
    }
    if is_x86(arch) || arch == "aarch64" {
        features.push(feat("acpi", Some("on"), Some("yes")));
    }
    if is_x86(arch) {
        features.push(feat("apic", Some("on"), Some("no")));
    }
    features.push(feat("cpuselection", None, None));
    features.push(feat("deviceboot", None, None));
    features.push(feat("disksnapshot", Some("on"), Some("no")));
    Guest {
        os_type: "hvm".into(),
        arch: arch.to_string(),
        wordsize: wordsize(arch),
        emulator: Some(binary.to_string()),
        machines,
        domains,
        features,
        ..Default::default()
    }
}

/// One probed emulator: its architecture (as libvirt names guests), binary
/// and capabilities.
pub type Emulator = (String, String, Arc<QemuCaps>);

/// Every emulator on this host, in libvirt's architecture order; binaries
/// that fail to probe are left out (libvirt ignores them too).
pub fn emulators(cache: &Arc<CapsCache>) -> Vec<Emulator> {
    let mut out = Vec::new();
    for arch in qemu_caps::ARCHES.iter().skip(1) {
        let Some(bin) = default_emulator(arch) else {
            continue;
        };
        if let Ok(c) = lookup(cache, &bin) {
            out.push((arch.to_string(), bin, c));
        }
    }
    out
}

/// The cells of this host: one NUMA cell with its CPUs and memory, as
/// libvirt reports a host without NUMA information.
fn topology() -> Element {
    let mut mem_kib = 0u64;
    if let Ok(t) = std::fs::read_to_string("/proc/meminfo") {
        for l in t.lines() {
            if let Some(v) = l.strip_prefix("MemTotal:") {
                mem_kib = v.trim().trim_end_matches("kB").trim().parse().unwrap_or(0);
            }
        }
    }
    let ncpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut cpus = Element::new("cpus").with_attr("num", &ncpus.to_string());
    for i in 0..ncpus {
        cpus = cpus.with_child(
            Element::new("cpu")
                .with_attr("id", &i.to_string())
                .with_attr("socket_id", "0")
                .with_attr("die_id", "0")
                .with_attr("core_id", &i.to_string())
                .with_attr("siblings", &i.to_string()),
        );
    }
    let cell = Element::new("cell")
        .with_attr("id", "0")
        .with_child(
            Element::new("memory")
                .with_attr("unit", "KiB")
                .with_text(&mem_kib.to_string()),
        )
        .with_child(
            Element::new("distances").with_child(
                Element::new("sibling")
                    .with_attr("id", "0")
                    .with_attr("value", "10"),
            ),
        )
        .with_child(cpus);
    Element::new("topology")
        .with_child(Element::new("cells").with_attr("num", "1").with_child(cell))
}

/// `virsh capabilities` (`virQEMUCapsInit`): the host and each emulator.
pub fn capabilities_xml(cache: &Arc<CapsCache>, uid: u32, gid: u32) -> String {
    let arch = host_arch();
    let guests = emulators(cache)
        .iter()
        .map(|(a, bin, c)| guest_of(c, bin, a))
        .collect();
    let label = format!("+{uid}:+{gid}");
    let caps = Capabilities {
        host: Host {
            arch: arch.to_string(),
            page_sizes_kib: vec![4],
            power_management: Some(Vec::new()),
            iommu: Path::new("/sys/kernel/iommu_groups")
                .read_dir()
                .is_ok_and(|mut d| d.next().is_some()),
            live_migrate: true,
            migrate_transports: vec!["tcp".into(), "rdma".into()],
            extra: vec![topology()],
            secmodels: vec![
                SecModel {
                    model: "none".into(),
                    doi: "0".into(),
                    base_labels: Vec::new(),
                },
                SecModel {
                    model: "dac".into(),
                    doi: "0".into(),
                    base_labels: vec![("kvm".into(), label.clone()), ("qemu".into(), label)],
                },
            ],
            ..Default::default()
        },
        guests,
    };
    caps.to_xml()
}

/// A firmware descriptor's facts domain capabilities use.
struct Firmware {
    interfaces: Vec<String>,
    features: Vec<String>,
    executable: Option<String>,
    targets: Vec<(String, Vec<String>)>,
}

/// Shell-style `*`/`?` matching (GLib's `g_pattern_match_simple`).
fn glob(pat: &[u8], s: &[u8]) -> bool {
    match (pat.first(), s.first()) {
        (None, None) => true,
        (Some(b'*'), _) => glob(&pat[1..], s) || (!s.is_empty() && glob(pat, &s[1..])),
        (Some(b'?'), Some(_)) => glob(&pat[1..], &s[1..]),
        (Some(p), Some(c)) if p == c => glob(&pat[1..], &s[1..]),
        _ => false,
    }
}

/// QEMU's firmware descriptors (`firmware/*.json` in
/// `/usr/share/qemu`, `/etc/qemu`, and for a session daemon
/// `$XDG_CONFIG_HOME/qemu`): a later directory's file overrides an earlier
/// one of the same name; read in file name order.
pub(crate) fn firmware_dirs(privileged: bool) -> Vec<PathBuf> {
    let mut dirs = vec![
        PathBuf::from("/usr/share/qemu/firmware"),
        PathBuf::from("/etc/qemu/firmware"),
    ];
    if !privileged {
        let base = std::env::var("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .or_else(|_| std::env::var("HOME").map(|h| PathBuf::from(h).join(".config")));
        if let Ok(b) = base {
            dirs.push(b.join("qemu/firmware"));
        }
    }
    dirs
}

fn firmwares(dirs: &[PathBuf]) -> Vec<Firmware> {
    let mut files: std::collections::BTreeMap<String, PathBuf> = Default::default();
    for d in dirs {
        let Ok(rd) = std::fs::read_dir(d) else {
            continue;
        };
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            if name.ends_with(".json") {
                files.insert(name, e.path());
            }
        }
    }
    let mut out = Vec::new();
    for path in files.values() {
        let Ok(text) = std::fs::read_to_string(path) else {
            continue;
        };
        if text.trim().is_empty() {
            continue; // an empty file masks a descriptor of the same name
        }
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) else {
            continue;
        };
        let strs = |k: &str| -> Vec<String> {
            v.get(k)
                .and_then(|a| a.as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()
        };
        let mapping = v.get("mapping");
        let executable = match mapping
            .and_then(|m| m.get("device"))
            .and_then(|d| d.as_str())
        {
            Some("flash") => mapping
                .and_then(|m| m.get("executable"))
                .and_then(|e| e.get("filename"))
                .and_then(|f| f.as_str())
                .map(str::to_string),
            Some("memory") => mapping
                .and_then(|m| m.get("filename"))
                .and_then(|f| f.as_str())
                .map(str::to_string),
            _ => None,
        };
        let targets = v
            .get("targets")
            .and_then(|t| t.as_array())
            .map(|a| {
                a.iter()
                    .map(|t| {
                        let arch = t
                            .get("architecture")
                            .and_then(|x| x.as_str())
                            .unwrap_or("")
                            .to_string();
                        let machines = t
                            .get("machines")
                            .and_then(|m| m.as_array())
                            .map(|m| {
                                m.iter()
                                    .filter_map(|x| x.as_str().map(str::to_string))
                                    .collect()
                            })
                            .unwrap_or_default();
                        (arch, machines)
                    })
                    .collect()
            })
            .unwrap_or_default();
        out.push(Firmware {
            interfaces: strs("interface-types"),
            features: strs("features"),
            executable,
            targets,
        });
    }
    out
}

fn arg_error(msg: String) -> Error {
    Error::new(ErrorCode::InvalidArg, ErrorDomain::Qemu, msg)
}

/// `virsh domcapabilities` (`qemuConnectGetDomainCapabilities`): checks
/// the arguments with libvirt's errors and fills the document.
pub fn domain_capabilities(
    cache: &Arc<CapsCache>,
    privileged: bool,
    nvram: &[String],
    emulator: Option<&str>,
    arch: Option<&str>,
    machine: Option<&str>,
    virttype: Option<&str>,
) -> Result<String> {
    if let Some(v) = virttype {
        if !conf::domcaps::VIRT_TYPES.contains(&v) || v == "none" {
            return Err(arg_error(format!("unknown virttype: {v}")));
        }
    }
    let host = host_arch();
    let arch = match arch {
        Some(a) if a == "none" || !qemu_caps::ARCHES.contains(&a) => {
            return Err(arg_error(format!("unknown architecture: {a}")))
        }
        Some(a) => a.to_string(),
        None => host.to_string(),
    };
    let binary = match emulator {
        Some(b) => b.to_string(),
        None => default_emulator(&arch).ok_or_else(|| {
            Error::new(
                ErrorCode::ConfigUnsupported,
                ErrorDomain::Qemu,
                format!("unable to find any emulator to serve '{arch}' architecture"),
            )
        })?,
    };
    let caps = lookup(cache, &binary)?;
    let family = |a: &str| -> &str {
        if is_x86(a) {
            "x86"
        } else if a.starts_with("ppc") {
            "ppc"
        } else if a.starts_with("arm") || a == "aarch64" {
            "arm"
        } else if a.starts_with("s390") {
            "s390"
        } else {
            "other"
        }
    };
    if caps.arch != arch && (family(&caps.arch) != family(&arch) || family(&arch) == "other") {
        return Err(arg_error(format!(
            "architecture from emulator '{}' doesn't match given architecture '{arch}'",
            caps.arch
        )));
    }
    let caps_type = if caps.has("kvm") {
        Some(VirtType::Kvm)
    } else if caps.has("hvf") {
        Some(VirtType::Hvf)
    } else if caps.has("tcg") {
        Some(VirtType::Qemu)
    } else {
        None
    };
    // The accelerator whose facts apply: KVM and HVF their own, any other
    // type TCG's (libvirt's virQEMUCapsGetAccel).
    let virt_name = virttype
        .map(str::to_string)
        .or_else(|| caps_type.map(|t| t.domain_type().to_string()))
        .unwrap_or_else(|| "qemu".into());
    let virt = match virt_name.as_str() {
        "kvm" => VirtType::Kvm,
        "hvf" => VirtType::Hvf,
        _ => VirtType::Qemu,
    };
    if virt_name != "qemu" && caps_type == Some(VirtType::Qemu) {
        return Err(arg_error(format!(
            "the accel '{}' is not supported by '{binary}' on this host",
            if virt_name == "kvm" || virt_name == "hvf" {
                virt.accel_str()
            } else {
                "tcg"
            }
        )));
    }
    let machine = match machine {
        Some(m) => {
            let canon = caps.canonical_machine(virt, m).to_string();
            if !caps.is_machine_supported(virt, &canon) {
                return Err(arg_error(format!(
                    "the machine '{canon}' is not supported by emulator '{binary}'"
                )));
            }
            canon
        }
        None => caps.preferred_machine(virt).unwrap_or_default().to_string(),
    };
    if !caps.is_arch_supported(&arch) {
        return Err(arg_error(format!(
            "Emulator '{binary}' does not support arch '{arch}'"
        )));
    }
    let supported = match virt_name.as_str() {
        "qemu" | "kvm" | "hvf" => caps.is_virt_type_supported(virt),
        _ => false,
    };
    if !supported {
        return Err(arg_error(format!(
            "Emulator '{binary}' does not support virt type '{virt_name}'"
        )));
    }
    let facts = HostFacts::of_host(privileged, nvram);
    Ok(fill(&caps, &binary, &arch, &machine, virt, &facts).to_xml())
}

/// libvirt's CPU map as installed on this host with the libvirt client
/// library (`/usr/share/libvirt/cpu_map`, Debian's libvirt0): the CPU
/// models libvirt knows for an architecture family and their vendors.
/// Custom models are limited to these, as libvirt limits them; without the
/// map every model QEMU reports is offered, vendor unknown.
pub const CPU_MAP_DIR: &str = "/usr/share/libvirt/cpu_map";

/// The CPU models (name, vendor) of the CPU map in `dir` for `arch`'s
/// family; None without a map for it.
pub fn cpu_map(dir: &Path, arch: &str) -> Option<Vec<(String, Option<String>)>> {
    let family = if is_x86(arch) {
        "x86"
    } else if arch.starts_with("ppc64") {
        "ppc64"
    } else if arch == "aarch64" {
        "arm"
    } else {
        return None;
    };
    let index = std::fs::read_to_string(dir.join("index.xml")).ok()?;
    let root = conf::xml::parse_any(&index, "index.xml").ok()?;
    let arch_el = root
        .children_named("arch")
        .find(|a| a.attr("name") == Some(family))?;
    let mut out = Vec::new();
    for inc in arch_el.children_named("include") {
        let Some(f) = inc.attr("filename") else {
            continue;
        };
        let Ok(text) = std::fs::read_to_string(dir.join(f)) else {
            continue;
        };
        let Ok(doc) = conf::xml::parse_any(&text, f) else {
            continue;
        };
        for m in doc.children_named("model") {
            if let Some(name) = m.attr("name") {
                let vendor = m
                    .child("vendor")
                    .and_then(|v| v.attr("name"))
                    .map(str::to_string);
                out.push((name.to_string(), vendor));
            }
        }
    }
    Some(out)
}

/// What domain capabilities take from the host besides the emulator's
/// capabilities (libvirt's tests replace each of these by a fixed fact).
#[derive(Debug, Clone)]
pub struct HostFacts {
    /// The host's architecture.
    pub host_arch: String,
    /// Directories of QEMU's firmware descriptors, in override order.
    pub firmware_dirs: Vec<PathBuf>,
    /// libvirt's CPU map.
    pub cpu_map_dir: PathBuf,
    /// swtpm: None when absent, else the TPM versions its setup tool
    /// supports (empty when not asked).
    pub swtpm: Option<Vec<String>>,
    /// Whether VFIO device assignment works (IOMMU groups exist).
    pub vfio: bool,
    /// KVM's vCPU limit (None: no limit known).
    pub kvm_max_vcpus: Option<u32>,
    /// qemu.conf's `nvram` pairs.
    pub nvram: Vec<String>,
    /// Loader paths reported instead of the ones found (libvirt's tests
    /// use fake ones).
    pub loader_override: Option<Vec<String>>,
}

impl HostFacts {
    /// The facts of this host.
    pub fn of_host(privileged: bool, nvram: &[String]) -> HostFacts {
        let swtpm = ["swtpm", "swtpm_setup"]
            .iter()
            .all(|b| find_in_path(b).is_some())
            .then(Vec::new);
        HostFacts {
            host_arch: host_arch().to_string(),
            firmware_dirs: firmware_dirs(privileged),
            cpu_map_dir: PathBuf::from(CPU_MAP_DIR),
            swtpm,
            vfio: Path::new("/sys/kernel/iommu_groups")
                .read_dir()
                .is_ok_and(|mut d| d.next().is_some()),
            kvm_max_vcpus: Some(kvm_max_vcpus()),
            nvram: nvram.to_vec(),
            loader_override: None,
        }
    }
}

fn vals(v: &[&str]) -> domcaps::CapsEnum {
    domcaps::values(v)
}

/// libvirt's `virQEMUCapsFillDomainCaps`: the domain capabilities of
/// `caps` for `arch`, `machine` (canonical) and `virt` on a host described
/// by `facts`.
pub fn fill(
    caps: &QemuCaps,
    binary: &str,
    arch: &str,
    machine: &str,
    virt: VirtType,
    facts: &HostFacts,
) -> DomainCaps {
    let nvram = &facts.nvram;
    let has = |f: &str| caps.has(f);
    let yn = |b: bool| if b { Support::Yes } else { Support::No };
    // <os>: what the firmware descriptors for this machine offer.
    let mut fw_kinds = Vec::new();
    let mut secure = false;
    let mut loaders: Vec<String> = Vec::new();
    for fw in firmwares(&facts.firmware_dirs) {
        let matches = fw
            .targets
            .iter()
            .any(|(a, ms)| a == arch && ms.iter().any(|m| glob(m.as_bytes(), machine.as_bytes())));
        if !matches {
            continue;
        }
        for i in &fw.interfaces {
            match i.as_str() {
                "uefi" => fw_kinds.push("efi"),
                "bios" => fw_kinds.push("bios"),
                _ => {}
            }
        }
        if fw.features.iter().any(|f| f == "requires-smm") {
            secure = true;
        }
        if let Some(e) = fw.executable {
            if Path::new(&e).exists() && !loaders.contains(&e) {
                loaders.push(e);
            }
        }
    }
    // Without a matching descriptor that names a file, the loaders of
    // qemu.conf's nvram list are offered (those that exist).
    if loaders.is_empty() {
        for pair in nvram {
            let loader = pair.split(':').next().unwrap_or_default().to_string();
            if !loader.is_empty() && Path::new(&loader).exists() && !loaders.contains(&loader) {
                loaders.push(loader);
            }
        }
    }
    let mut secure_vals = vec!["no"];
    if secure {
        secure_vals.push("yes");
    }
    let os = domcaps::OsCaps {
        section: Section::yes(&[("firmware", vals(&fw_kinds))]),
        loader: domcaps::LoaderCaps {
            section: Section::yes(&[
                ("type", vals(&["rom", "pflash"])),
                ("readonly", vals(&["yes", "no"])),
                ("secure", vals(&secure_vals)),
            ]),
            paths: facts.loader_override.clone().unwrap_or(loaders),
        },
    };
    // <cpu>
    let host = facts.host_arch.as_str();
    let native = caps.arch == host || (host == "x86_64" && caps.arch == "i686");
    let mut cpu = CpuCaps::default();
    if virt.is_accelerated() && native {
        cpu.host_passthrough = true;
        let mut v = Vec::new();
        if has("cpu.migratable") {
            v.push("on");
        }
        v.push("off");
        cpu.host_passthrough_migratable = vals(&v);
    }
    if has("cpu-max") {
        cpu.maximum = true;
        cpu.maximum_migratable = vals(&["on", "off"]);
    }
    let known = cpu_map(&facts.cpu_map_dir, arch);
    cpu.custom = caps
        .cpu_models(virt)
        .iter()
        .filter(|m| m.name != "host")
        .filter_map(|m| match &known {
            None => Some((m, None)),
            Some(k) => k
                .iter()
                .find(|(n, _)| *n == m.name)
                .map(|(_, v)| (m, v.clone())),
        })
        .map(|(m, vendor)| CpuModel {
            name: m.name.clone(),
            usable: match m.usable {
                qemu_caps::CpuUsable::Yes => Usable::Yes,
                qemu_caps::CpuUsable::No => Usable::No,
                qemu_caps::CpuUsable::Unknown => Usable::Unknown,
            },
            deprecated: m.deprecated,
            vendor,
        })
        .collect();
    // <memoryBacking>
    let mut mem = vec!["file", "anonymous"];
    if has("memory-backend-memfd") {
        mem.push("memfd");
    }
    // <devices>
    let pseries = machine.starts_with("pseries");
    let mut disk_dev = vec!["disk", "cdrom", "lun"];
    let mut bus = vec!["scsi", "virtio"];
    if !pseries {
        disk_dev.push("floppy");
        bus.push("fdc");
    }
    let builtin_ide = (is_x86(arch)
        && (machine == "isapc"
            || machine == "pc"
            || ["pc-0.", "pc-1.", "pc-i440fx-", "rhel"]
                .iter()
                .any(|p| machine.starts_with(p))))
        || machine == "malta"
        || machine == "sun4u"
        || machine == "g3beige";
    if builtin_ide {
        bus.push("ide");
    }
    if has("usb-storage") {
        bus.push("usb");
    }
    if has("ich9-ahci") {
        bus.push("sata");
    }
    let transitional = has("virtio-pci-non-transitional");
    let mut model = vec!["virtio"];
    if transitional {
        model.extend(["virtio-transitional", "virtio-non-transitional"]);
    }
    let mut graphics = Vec::new();
    for (f, g) in [
        ("sdl", "sdl"),
        ("vnc", "vnc"),
        ("spice", "spice"),
        ("egl-headless", "egl-headless"),
        ("display-dbus", "dbus"),
    ] {
        if has(f) {
            graphics.push(g);
        }
    }
    let mut video = vec!["none"];
    for (f, v) in [
        ("VGA", "vga"),
        ("cirrus-vga", "cirrus"),
        ("vmware-svga", "vmvga"),
        ("qxl", "qxl"),
        ("virtio-gpu", "virtio"),
        ("bochs-display", "bochs"),
        ("ramfb", "ramfb"),
    ] {
        if has(f) {
            video.push(v);
        }
    }
    let mut subsys = vec!["pci", "scsi"];
    if [
        "piix3-usb-uhci",
        "piix4-usb-uhci",
        "usb-ehci",
        "ich9-usb-ehci1",
        "vt82c686b-usb-uhci",
        "pci-ohci",
        "nec-usb-xhci",
        "qemu-xhci",
    ]
    .iter()
    .any(|f| has(f))
    {
        subsys.push("usb");
    }
    let vfio = facts.vfio;
    let pci_backend: Vec<&str> = if vfio && has("vfio-pci") {
        vec!["default", "vfio"]
    } else {
        Vec::new()
    };
    let mut rng_model = Vec::new();
    if has("virtio-rng") {
        rng_model.push("virtio");
        if transitional {
            rng_model.extend(["virtio-transitional", "virtio-non-transitional"]);
        }
    }
    let mut rng_backend = Vec::new();
    for (f, b) in [
        ("rng-egd", "egd"),
        ("rng-random", "random"),
        ("rng-builtin", "builtin"),
    ] {
        if has(f) {
            rng_backend.push(b);
        }
    }
    let mut fs = vec!["path", "handle"];
    if has("vhost-user-fs") {
        fs.push("virtiofs");
    }
    let mut tpm_model = Vec::new();
    for (f, m) in [
        ("tpm-tis", "tpm-tis"),
        ("tpm-crb", "tpm-crb"),
        ("tpm-spapr", "tpm-spapr"),
        ("spapr-tpm-proxy", "spapr-tpm-proxy"),
    ] {
        if has(f) {
            tpm_model.push(m);
        }
    }
    let mut tpm_backend = Vec::new();
    if has("tpm-passthrough") {
        tpm_backend.push("passthrough");
    }
    let mut tpm_versions: Vec<&str> = Vec::new();
    if let Some(versions) = &facts.swtpm {
        if has("tpm-emulator") {
            tpm_backend.extend(["emulator", "external"]);
        }
        tpm_versions.extend(versions.iter().map(String::as_str));
    }
    let mut tpm_enums = vec![
        ("model", vals(&tpm_model)),
        ("backendModel", vals(&tpm_backend)),
    ];
    if !tpm_versions.is_empty() {
        tpm_enums.push(("backendVersion", vals(&tpm_versions)));
    }
    let mut tpm = Section::yes(&tpm_enums);
    if tpm_model.is_empty() {
        tpm.supported = Support::No;
    }
    let mut channel = vec!["pty", "unix"];
    if has("spice") {
        channel.push("spicevmc");
    }
    let mut crypto_model = Vec::new();
    if has("virtio-crypto") {
        crypto_model.push("virtio");
    }
    let mut crypto_backend = vec!["builtin"];
    if has("cryptodev-backend-lkcf") {
        crypto_backend.push("lkcf");
    }
    let devices = domcaps::DeviceCaps {
        disk: Section::yes(&[
            ("diskDevice", vals(&disk_dev)),
            ("bus", vals(&bus)),
            ("model", vals(&model)),
        ]),
        graphics: Section::yes(&[("type", vals(&graphics))]),
        video: Section::yes(&[("modelType", vals(&video))]),
        hostdev: Section::yes(&[
            ("mode", vals(&["subsystem"])),
            (
                "startupPolicy",
                vals(&["default", "mandatory", "requisite", "optional"]),
            ),
            ("subsysType", vals(&subsys)),
            ("capsType", vals(&[])),
            ("pciBackend", vals(&pci_backend)),
        ]),
        rng: Section::yes(&[
            ("model", vals(&rng_model)),
            ("backendModel", vals(&rng_backend)),
        ]),
        filesystem: Section::yes(&[("driverType", vals(&fs))]),
        tpm,
        redirdev: if has("usb-redir") {
            Section::yes(&[("bus", vals(&["usb"]))])
        } else {
            Section::no()
        },
        channel: Section::yes(&[("type", vals(&channel))]),
        crypto: Section::yes(&[
            ("model", vals(&crypto_model)),
            ("type", vals(&["qemu"])),
            ("backendModel", vals(&crypto_backend)),
        ]),
    };
    // <features>
    let arm_virt = (arch == "aarch64" || arch.starts_with("arm")) && machine.starts_with("virt");
    let mut gic = Section::no();
    if arm_virt {
        let mut versions = Vec::new();
        for v in [3u32, 2] {
            if caps.gic.iter().any(|g| {
                g.version == v
                    && ((virt == VirtType::Kvm && g.kernel)
                        || (virt == VirtType::Qemu && g.emulated))
            }) {
                versions.push(if v == 3 { "3" } else { "2" });
            }
        }
        if !versions.is_empty() {
            gic = Section::yes(&[("version", vals(&versions))]);
        }
    }
    let features = domcaps::FeatureCaps {
        gic,
        vmcoreinfo: yn(has("vmcoreinfo")),
        genid: yn(has("vmgenid")),
        backing_store_input: Support::Yes,
        backup: yn(has("incremental-backup")),
        async_teardown: yn(has("run-with.async-teardown")),
        s390_pv: if arch.starts_with("s390") {
            yn(has("confidential-guest-support")
                && has("s390-pv-guest")
                && caps.kvm_supports_secure_guest)
        } else {
            Support::Absent
        },
        sev: caps.sev.as_ref().map(|s| domcaps::SevCaps {
            cbitpos: s.cbitpos,
            reduced_phys_bits: s.reduced_phys_bits,
            max_guests: 0,
            max_es_guests: 0,
            cpu0_id: s.cpu0_id.clone(),
        }),
        sgx: caps.sgx.as_ref().map(|s| domcaps::SgxCaps {
            flc: s.flc,
            sgx1: s.sgx1,
            sgx2: s.sgx2,
            section_size_kib: s.section_size,
            sections: s
                .sections
                .iter()
                .flatten()
                .map(|x| domcaps::SgxSection {
                    node: x.node,
                    size_kib: x.size,
                })
                .collect(),
        }),
        hyperv: caps.hyperv.as_ref().map(|h| {
            let feats: Vec<&str> = h.features.iter().map(String::as_str).collect();
            let mut s = Section::yes(&[("features", vals(&feats))]);
            if !h.supported {
                s = Section::no();
            }
            s
        }),
    };
    let mut max_vcpus = caps.machine_max_cpus(virt, machine);
    if virt == VirtType::Kvm {
        if let Some(k) = facts.kvm_max_vcpus {
            max_vcpus = max_vcpus.min(k);
        }
    }
    DomainCaps {
        path: binary.to_string(),
        virt_type: virt.domain_type().to_string(),
        machine: Some(machine.to_string()),
        arch: arch.to_string(),
        max_vcpus,
        iothreads: Support::Yes,
        os,
        cpu,
        memory_backing: Section::yes(&[("sourceType", vals(&mem))]),
        devices,
        features,
    }
}

/// KVM's vCPU limit (KVM_CAP_MAX_VCPUS); without /dev/kvm access, no limit
/// is known and the machine's own applies.
fn kvm_max_vcpus() -> u32 {
    // The limit of current kernels on x86 (KVM_MAX_VCPUS = 1024); asking
    // the kernel needs an ioctl on /dev/kvm, which lives in `host`.
    1024
}

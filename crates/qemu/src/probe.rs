// SPDX-License-Identifier: LGPL-2.1-or-later
//! The capability probe: the QMP conversation libvirt 9.6 has with a QEMU
//! binary started as `-machine none`, and how each answer becomes part of
//! a [`QemuCaps`]. The commands, their order and their arguments are
//! libvirt's exactly (its recorded conversations replay against this code,
//! see tests/qemucaps_replies.rs), so a cache written by us equals the one
//! libvirt writes for the same binary.

use crate::qmp::{Qmp, QmpError, Reply};
use crate::schema::Schema;
use crate::tables;
use qemu_caps::{
    CpuModel, CpuPropValue, CpuProperty, CpuUsable, GicCap, HostCpuModelInfo, HypervCaps,
    MachineType, QemuCaps, SevCaps, SgxCaps, SgxSection, VirtType, HYPERV_FEATURES,
};
use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::{json, Value};
use virterror::{ErrorCode, ErrorDomain, VirError};

/// The oldest QEMU libvirt 9.6 accepts.
const MIN_VERSION: (u32, u32, u32) = (4, 2, 0);

/// The machine type libvirt prefers per architecture when a domain names
/// none (QEMU's own default may differ).
fn preferred_machine(arch: &str) -> Option<&'static str> {
    Some(match arch {
        "alpha" => "clipper",
        "armv6l" => "integratorcp",
        "armv7l" | "armv7b" | "aarch64" | "riscv32" | "riscv64" => "virt",
        "cris" => "axis-dev88",
        "i686" | "x86_64" => "pc",
        "lm32" => "lm32-evr",
        "m68k" => "mcf5208evb",
        "microblaze" | "microblazeel" => "petalogix-s3adsp1800",
        "mips" | "mipsel" | "mips64" | "mips64el" => "malta",
        "openrisc" => "or1k-sim",
        "ppc" | "ppcle" => "g3beige",
        "ppc64" | "ppc64le" => "pseries",
        "ppcemb" => "bamboo",
        "s390x" => "s390-ccw-virtio",
        "sh4" | "sh4eb" => "shix",
        "sparc" => "SS-5",
        "sparc64" => "sun4u",
        "unicore32" => "puv3",
        "xtensa" | "xtensaeb" => "sim",
        _ => return None,
    })
}

fn is_x86(arch: &str) -> bool {
    arch == "x86_64" || arch == "i686"
}

fn is_arm(arch: &str) -> bool {
    matches!(arch, "armv6l" | "armv7l" | "armv7b" | "aarch64")
}

fn err(detail: impl Into<String>) -> VirError {
    VirError::new(ErrorCode::InternalError, ErrorDomain::Qemu, detail)
}

/// A QMP failure as libvirt reports monitor errors.
pub fn qmp_error(cmd: &str, e: QmpError) -> VirError {
    match e {
        QmpError::Command { desc, .. } => VirError::new(
            ErrorCode::InternalError,
            ErrorDomain::Qemu,
            format!("unable to execute QEMU command '{cmd}': {desc}"),
        ),
        QmpError::Eof => VirError::new(
            ErrorCode::OperationFailed,
            ErrorDomain::Qemu,
            "End of file from qemu monitor",
        ),
        QmpError::Timeout(_) => VirError::new(
            ErrorCode::OperationTimeout,
            ErrorDomain::Qemu,
            "timed out waiting for QEMU monitor reply",
        ),
        other => err(other.to_string()),
    }
}

async fn run(mon: &Qmp, cmd: &str, args: Option<Value>) -> Result<Reply, VirError> {
    mon.execute(cmd, args).await.map_err(|e| qmp_error(cmd, e))
}

/// Runs `cmd`; an error reply of class `class` gives None.
async fn run_allowing(
    mon: &Qmp,
    cmd: &str,
    args: Option<Value>,
    class: &str,
) -> Result<Option<Reply>, VirError> {
    match mon.execute(cmd, args).await {
        Ok(r) => Ok(Some(r)),
        Err(QmpError::Command { class: c, .. }) if c == class => Ok(None),
        Err(e) => Err(qmp_error(cmd, e)),
    }
}

fn reply_array<'a>(cmd: &str, r: &'a Reply) -> Result<&'a Vec<Value>, VirError> {
    r.ret
        .as_array()
        .ok_or_else(|| err(format!("{cmd} reply was not an array")))
}

fn string_list(cmd: &str, r: &Reply, key: Option<&str>) -> Result<Vec<String>, VirError> {
    Ok(reply_array(cmd, r)?
        .iter()
        .filter_map(|v| match key {
            Some(k) => v.get(k).and_then(Value::as_str),
            None => v.as_str(),
        })
        .map(str::to_string)
        .collect())
}

fn set_from_strings(caps: &mut QemuCaps, table: &[(&str, &str)], values: &[String]) {
    for (value, flag) in table {
        if !caps.has(flag) && values.iter().any(|v| v == value) {
            caps.set(flag);
        }
    }
}

/// libvirt's architecture name for QEMU's target name.
pub fn arch_from_qemu(target: &str) -> Option<String> {
    let a = match target {
        "i386" => "i686",
        "arm" => "armv7l",
        "or32" => "openrisc",
        other => other,
    };
    (a != "none" && qemu_caps::ARCHES.contains(&a)).then(|| a.to_string())
}

/// The QEMU target name (`qemu-system-NAME`) for a libvirt architecture.
pub fn arch_to_qemu(arch: &str) -> &str {
    match arch {
        "i686" => "i386",
        "armv6l" | "armv7l" => "arm",
        other => other,
    }
}

/// The accelerator the first probe ran with: KVM when QEMU reports it,
/// else TCG. (libvirt decides before it knows whether TCG exists, so
/// without KVM it asks for the "host" CPU model, as here.)
fn probe_virt(caps: &QemuCaps) -> (VirtType, bool) {
    if caps.has("kvm") {
        (VirtType::Kvm, true)
    } else if caps.has("hvf") {
        (VirtType::Hvf, true)
    } else if caps.has("tcg") {
        (VirtType::Qemu, false)
    } else {
        (VirtType::Qemu, true)
    }
}

/// The first probe, on a QEMU started with `-machine none,accel=kvm:tcg`
/// (after `qmp_capabilities`): fills everything but the TCG-only parts.
pub async fn probe_monitor(mon: &Qmp, caps: &mut QemuCaps) -> Result<(), VirError> {
    let r = run(mon, "query-version", None).await?;
    let q = r.ret.get("qemu");
    let num = |k: &str| {
        q.and_then(|q| q.get(k))
            .and_then(Value::as_u64)
            .and_then(|v| u32::try_from(v).ok())
    };
    let (Some(major), Some(minor), Some(micro)) = (num("major"), num("minor"), num("micro")) else {
        return Err(err("query-version reply was missing 'qemu' data"));
    };
    let package = r
        .ret
        .get("package")
        .and_then(Value::as_str)
        .ok_or_else(|| err("query-version reply was missing 'package' version"))?;
    if (major, minor, micro) < MIN_VERSION {
        return Err(VirError::new(
            ErrorCode::ConfigUnsupported,
            ErrorDomain::Qemu,
            format!(
                "QEMU version >= {}.{}.{} is required, but {major}.{minor}.{micro} found",
                MIN_VERSION.0, MIN_VERSION.1, MIN_VERSION.2
            ),
        ));
    }
    caps.version = major * 1_000_000 + minor * 1000 + micro;
    caps.package = Some(package.to_string());

    let r = run(mon, "query-target", None).await?;
    let target = r
        .ret
        .get("arch")
        .and_then(Value::as_str)
        .ok_or_else(|| err("query-target reply was missing arch data"))?;
    caps.arch = arch_from_qemu(target).ok_or_else(|| err(format!("Unknown QEMU arch {target}")))?;

    if caps.version < 5_002_000 {
        caps.set("enable-fips");
    }

    let r = run(mon, "query-qmp-schema", None).await?;
    let schema = Schema::new(&r.ret);
    for (query, flag) in tables::SCHEMA_QUERIES.iter().chain(tables::SCHEMA_COMMANDS) {
        if schema.path_exists(query) {
            caps.set(flag);
        }
    }
    drop(schema);

    let r = run(mon, "query-kvm", None).await?;
    let enabled = r.ret.get("enabled").and_then(Value::as_bool);
    let present = r.ret.get("present").and_then(Value::as_bool);
    match (enabled, present) {
        (Some(e), Some(p)) => {
            if e && p {
                caps.set("kvm");
            }
        }
        _ => return Err(err("query-kvm replied unexpected data")),
    }

    let (virt, accelerated) = probe_virt(caps);

    let r = run(mon, "qom-list-types", None).await?;
    let types = string_list("qom-list-types", &r, Some("name"))?;
    set_from_strings(caps, tables::OBJECT_TYPES, &types);

    for (device, cond, props) in tables::DEVICE_PROPS {
        if cond.is_some_and(|c| !caps.has(c)) {
            continue;
        }
        let Some(r) = run_allowing(
            mon,
            "device-list-properties",
            Some(json!({ "typename": device })),
            "DeviceNotFound",
        )
        .await?
        else {
            continue;
        };
        let list = reply_array("device-list-properties", &r)?;
        for (prop, flag) in props.iter() {
            let Some(entry) = list
                .iter()
                .find(|e| e.get("name").and_then(Value::as_str) == Some(prop))
            else {
                continue;
            };
            caps.set(flag);
            if *flag == "virtio-blk-pci.scsi"
                && entry.get("default-value").and_then(Value::as_bool) == Some(false)
            {
                caps.set("virtio-blk-pci.scsi.default.disabled");
            }
        }
    }

    for (ty, cond, props) in tables::OBJECT_PROPS {
        if cond.is_some_and(|c| !caps.has(c)) {
            continue;
        }
        let values = object_props(mon, ty).await?;
        set_from_strings(caps, props, &values);
    }

    probe_machines(mon, caps, virt).await?;

    for (machine, _, props) in tables::MACHINE_PROPS {
        let canon = caps.canonical_machine(virt, machine).to_string();
        if canon != "none" && !caps.is_machine_supported(virt, &canon) {
            continue;
        }
        let values = object_props(mon, &format!("{canon}-machine")).await?;
        set_from_strings(caps, props, &values);
    }

    probe_cpu_definitions(mon, caps, virt).await?;

    let r = run(mon, "query-tpm-models", None).await?;
    let models = string_list("query-tpm-models", &r, None)?;
    for (model, flag) in [
        ("tpm-tis", "tpm-tis"),
        ("tpm-crb", "tpm-crb"),
        ("tpm-spapr", "tpm-spapr"),
    ] {
        if models.iter().any(|m| m == model) {
            caps.set(flag);
        }
    }
    let r = run(mon, "query-tpm-types", None).await?;
    let types = string_list("query-tpm-types", &r, None)?;
    for (ty, flag) in [
        ("passthrough", "tpm-passthrough"),
        ("emulator", "tpm-emulator"),
    ] {
        if types.iter().any(|t| t == ty) {
            caps.set(flag);
        }
    }

    let r = run(mon, "query-command-line-options", None).await?;
    let mut options: std::collections::HashMap<&str, &Value> = std::collections::HashMap::new();
    for o in reply_array("query-command-line-options", &r)? {
        match (o.get("option").and_then(Value::as_str), o.get("parameters")) {
            (Some(n), Some(p)) => {
                options.insert(n, p);
            }
            _ => return Err(err("reply data was missing 'option' name or parameters")),
        }
    }
    for (option, param, flag) in tables::COMMAND_LINE {
        let Some(params) = options.get(option) else {
            continue;
        };
        match param {
            None => {
                caps.set(flag);
            }
            Some(p) => {
                let found = params.as_array().is_some_and(|a| {
                    a.iter()
                        .any(|x| x.get("name").and_then(Value::as_str) == Some(p))
                });
                if found {
                    caps.set(flag);
                }
            }
        }
    }

    let r = run(mon, "query-migrate-capabilities", None).await?;
    let migr = string_list("query-migrate-capabilities", &r, Some("capability"))?;
    set_from_strings(caps, tables::MIGRATION_CAPS, &migr);

    if matches!(caps.arch.as_str(), "aarch64" | "armv6l" | "armv7l") {
        let r = run(mon, "query-gic-capabilities", None).await?;
        caps.gic = reply_array("query-gic-capabilities", &r)?
            .iter()
            .filter_map(|g| {
                Some(GicCap {
                    version: u32::try_from(g.get("version")?.as_u64()?).ok()?,
                    kernel: g.get("kernel")?.as_bool()?,
                    emulated: g.get("emulated")?.as_bool()?,
                })
            })
            .collect();
    }

    if caps.has("sev-guest") {
        match run_allowing(mon, "query-sev-capabilities", None, "GenericError").await? {
            None => caps.clear("sev-guest"),
            Some(r) => caps.sev = Some(parse_sev(&r.ret)?),
        }
    }
    if caps.has("sgx-epc") {
        match run_allowing(mon, "query-sgx-capabilities", None, "GenericError").await? {
            None => caps.clear("sgx-epc"),
            Some(r) => caps.sgx = Some(parse_sgx(&r.ret)?),
        }
    }

    process_caps(caps);

    probe_host_cpu(mon, caps, virt, accelerated).await
}

/// The second probe, on a QEMU started with `-machine none,accel=tcg`, run
/// when the first found an accelerator and TCG ([`needs_tcg_probe`]).
pub async fn probe_monitor_tcg(mon: &Qmp, caps: &mut QemuCaps) -> Result<(), VirError> {
    probe_cpu_definitions(mon, caps, VirtType::Qemu).await?;
    probe_host_cpu(mon, caps, VirtType::Qemu, false).await?;
    probe_machines(mon, caps, VirtType::Qemu).await
}

/// Whether the first probe found an accelerator and TCG, so that a second
/// probe must ask TCG's machine types and CPU models.
pub fn needs_tcg_probe(caps: &QemuCaps) -> bool {
    caps.have_accel() && caps.has("tcg")
}

async fn object_props(mon: &Qmp, ty: &str) -> Result<Vec<String>, VirError> {
    match run_allowing(
        mon,
        "qom-list-properties",
        Some(json!({ "typename": ty })),
        "DeviceNotFound",
    )
    .await?
    {
        None => Ok(Vec::new()),
        Some(r) => {
            let mut out = Vec::new();
            for p in reply_array("qom-list-properties", &r)? {
                match p.get("name").and_then(Value::as_str) {
                    Some(n) => out.push(n.to_string()),
                    None => return Err(err("reply data was missing 'name'")),
                }
            }
            Ok(out)
        }
    }
}

async fn probe_machines(mon: &Qmp, caps: &mut QemuCaps, virt: VirtType) -> Result<(), VirError> {
    let r = run(mon, "query-machines", None).await?;
    let list = reply_array("query-machines", &r)?;
    let preferred = preferred_machine(&caps.arch);
    let mut machines = Vec::new();
    let mut def_idx = None;
    let mut pref_idx = None;
    for m in list {
        let name = m
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| err("query-machines reply data was missing 'name'"))?;
        let s = |k: &str| m.get(k).and_then(Value::as_str).map(str::to_string);
        let b = |k: &str| m.get(k).and_then(Value::as_bool);
        let info = MachineType {
            name: name.to_string(),
            alias: s("alias"),
            max_cpus: m
                .get("cpu-max")
                .and_then(Value::as_u64)
                .and_then(|v| u32::try_from(v).ok())
                .unwrap_or(0),
            hotplug_cpus: b("hotpluggable-cpus").unwrap_or(false),
            qemu_default: b("is-default").unwrap_or(false),
            default_cpu: s("default-cpu-type"),
            numa_mem_supported: b("numa-mem-supported").unwrap_or(true),
            default_ram_id: s("default-ram-id"),
            deprecated: b("deprecated").unwrap_or(false),
            acpi: b("acpi"),
        };
        if info.name == "none" {
            continue;
        }
        if let Some(p) = preferred {
            if info.alias.as_deref() == Some(p) || info.name == p {
                pref_idx = Some(machines.len());
            }
        }
        if info.qemu_default {
            def_idx = Some(machines.len());
        }
        machines.push(info);
    }
    if let Some(i) = pref_idx.or(def_idx) {
        let m = machines.remove(i);
        machines.insert(0, m);
    }
    caps.accel_mut(virt).machines = machines;
    Ok(())
}

async fn probe_cpu_definitions(
    mon: &Qmp,
    caps: &mut QemuCaps,
    virt: VirtType,
) -> Result<(), VirError> {
    if !caps.has("query-cpu-definitions") {
        return Ok(());
    }
    let Some(r) = run_allowing(mon, "query-cpu-definitions", None, "GenericError").await? else {
        return Ok(());
    };
    let mut models = Vec::new();
    for c in reply_array("query-cpu-definitions", &r)? {
        let name = c
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| err("query-cpu-definitions reply data was missing 'name'"))?;
        let typename = c
            .get("typename")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .map(str::to_string);
        let (usable, blockers) = match c.get("unavailable-features").and_then(Value::as_array) {
            None => (CpuUsable::Unknown, Vec::new()),
            Some(a) if a.is_empty() => (CpuUsable::Yes, Vec::new()),
            Some(a) => (
                CpuUsable::No,
                a.iter()
                    .filter_map(Value::as_str)
                    .map(|f| qemu_caps::cpu_feature_from_qemu(&caps.arch, f))
                    .map(|f| qemu_caps::cpu_feature_to_qemu(&caps.arch, f).to_string())
                    .collect(),
            ),
        };
        models.push(CpuModel {
            name: name.to_string(),
            typename,
            usable,
            blockers,
            deprecated: c
                .get("deprecated")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        });
    }
    if models.iter().any(|m| m.name == "max") {
        caps.set("cpu-max");
    }
    caps.accel_mut(virt).cpu_models = models;
    Ok(())
}

fn process_caps(caps: &mut QemuCaps) {
    if is_x86(&caps.arch) && caps.has("query-cpu-model-expansion") {
        caps.set("cpu-cache");
    }
    if caps.has("cpu-unavailable-features") {
        caps.set("canonical-cpu-features");
    }
    if matches!(caps.arch.as_str(), "sparc" | "m68k" | "mips") {
        caps.set("ncr53c90");
    }
    if caps.has("blockdev-reopen") && caps.has("migration-param.block-bitmap-mapping") {
        caps.set("incremental-backup");
    }
    if caps.has("object.qapified") {
        caps.set("compat-deprecated");
    }
}

/// CPU model properties in the order QEMU sent them.
struct OrderedProps(Vec<(String, Value)>);

/// An expanded CPU model: its name and its properties in QEMU's order.
type Expanded = (String, Option<Vec<(String, Value)>>);

impl<'de> Deserialize<'de> for OrderedProps {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = OrderedProps;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<OrderedProps, A::Error> {
                let mut v = Vec::new();
                while let Some((k, val)) = m.next_entry::<String, Value>()? {
                    v.push((k, val));
                }
                Ok(OrderedProps(v))
            }
        }
        d.deserialize_map(V)
    }
}

#[derive(Deserialize)]
struct ExpansionModel {
    name: Option<String>,
    props: Option<OrderedProps>,
}

#[derive(Deserialize)]
struct ExpansionRet {
    model: Option<ExpansionModel>,
}

#[derive(Deserialize)]
struct ExpansionReply {
    #[serde(rename = "return")]
    ret: ExpansionRet,
}

enum Expansion {
    Static,
    StaticFull,
    Full,
}

/// `query-cpu-model-expansion` of `model` with `props`; None when QEMU
/// answers GenericError (not supported for this target or host).
async fn expand(
    mon: &Qmp,
    ty: &Expansion,
    model: Value,
    fail_no_props: bool,
) -> Result<Option<Expanded>, VirError> {
    let cmd = "query-cpu-model-expansion";
    let one = |t: &str, model: Value| json!({ "type": t, "model": model });
    let first = match ty {
        Expansion::Full => "full",
        _ => "static",
    };
    let Some(r) = run_allowing(mon, cmd, Some(one(first, model)), "GenericError").await? else {
        return Ok(None);
    };
    let mut parsed = parse_expansion(&r, fail_no_props)?;
    if matches!(ty, Expansion::StaticFull) {
        let mut m = serde_json::Map::new();
        m.insert("name".into(), Value::String(parsed.0.clone()));
        if let Some(p) = &parsed.1 {
            m.insert("props".into(), Value::Object(p.iter().cloned().collect()));
        }
        let Some(r) = run_allowing(
            mon,
            cmd,
            Some(one("full", Value::Object(m))),
            "GenericError",
        )
        .await?
        else {
            return Ok(None);
        };
        parsed = parse_expansion(&r, fail_no_props)?;
    }
    Ok(Some(parsed))
}

fn parse_expansion(r: &Reply, fail_no_props: bool) -> Result<Expanded, VirError> {
    let cmd = "query-cpu-model-expansion";
    let rep: ExpansionReply = serde_json::from_str(&r.raw)
        .map_err(|_| err(format!("{cmd} reply data was missing 'model'")))?;
    let model = rep
        .ret
        .model
        .ok_or_else(|| err(format!("{cmd} reply data was missing 'model'")))?;
    let name = model
        .name
        .ok_or_else(|| err(format!("{cmd} reply data was missing 'name'")))?;
    if model.props.is_none() && fail_no_props {
        return Err(err(format!("{cmd} reply data was missing 'props'")));
    }
    Ok((name, model.props.map(|p| p.0)))
}

fn to_props(list: &[(String, Value)]) -> Vec<CpuProperty> {
    list.iter()
        .filter_map(|(k, v)| {
            let value = match v {
                Value::String(s) => CpuPropValue::String(s.clone()),
                Value::Number(n) => CpuPropValue::Number(n.as_i64()?),
                Value::Bool(b) => CpuPropValue::Boolean(*b),
                _ => return None,
            };
            Some(CpuProperty {
                name: k.clone(),
                value,
                migratable: None,
            })
        })
        .collect()
}

async fn probe_host_cpu(
    mon: &Qmp,
    caps: &mut QemuCaps,
    virt: VirtType,
    accelerated: bool,
) -> Result<(), VirError> {
    if !caps.has("query-cpu-model-expansion") {
        return Ok(());
    }
    let arch = caps.arch.clone();
    let model = if accelerated { "host" } else { "max" };
    let ty = if is_x86(&arch) && !caps.has("canonical-cpu-features") {
        Expansion::StaticFull
    } else if is_arm(&arch) {
        Expansion::Full
    } else {
        Expansion::Static
    };
    let fail_no_props = !matches!(arch.as_str(), "s390" | "s390x");
    let info = expand(mon, &ty, json!({ "name": model }), fail_no_props).await?;
    let mut info = info.map(|(name, props)| HostCpuModelInfo {
        model: name,
        migratability: false,
        props: to_props(props.as_deref().unwrap_or(&[])),
    });
    if let Some(info) = info.as_mut().filter(|_| is_x86(&arch)) {
        let nm = expand(
            mon,
            &ty,
            json!({ "name": model, "props": { "migratable": false } }),
            fail_no_props,
        )
        .await?;
        if let Some((_, nm_props)) = nm {
            for (name, v) in nm_props.as_deref().unwrap_or(&[]) {
                let Some(nm_val) = v.as_bool() else { continue };
                if let Some(p) = info.props.iter_mut().find(|p| &p.name == name) {
                    if let CpuPropValue::Boolean(b) = p.value {
                        if b {
                            p.migratable = Some(true);
                        } else if nm_val {
                            p.value = CpuPropValue::Boolean(true);
                            p.migratable = Some(false);
                        }
                    }
                }
            }
            info.migratability = true;
        }
    }
    if accelerated && (is_x86(&arch) || is_arm(&arch)) {
        let full = expand(
            mon,
            &Expansion::Full,
            json!({ "name": model, "props": { "migratable": false, "hv-passthrough": true } }),
            true,
        )
        .await?;
        if let Some((_, Some(props))) = full {
            let mut found = Vec::new();
            for p in to_props(&props) {
                let Some(name) = p.name.strip_prefix("hv-") else {
                    continue;
                };
                let known = if HYPERV_FEATURES.contains(&name) {
                    name.to_string()
                } else {
                    name.replace('-', "_")
                };
                if !HYPERV_FEATURES.contains(&known.as_str()) {
                    continue;
                }
                let on = match &p.value {
                    CpuPropValue::Boolean(b) => *b,
                    CpuPropValue::Number(n) => *n > 0,
                    CpuPropValue::String(_) => true,
                };
                if on && !found.contains(&known) {
                    found.push(known);
                }
            }
            found.sort_by_key(|f| HYPERV_FEATURES.iter().position(|h| h == f));
            if !found.is_empty() {
                caps.hyperv = Some(HypervCaps {
                    supported: true,
                    features: found,
                });
            }
        }
    }
    caps.accel_mut(virt).host_cpu = info;
    Ok(())
}

fn parse_sev(v: &Value) -> Result<SevCaps, VirError> {
    let u = |k: &str| {
        v.get(k)
            .and_then(Value::as_u64)
            .and_then(|x| u32::try_from(x).ok())
            .ok_or_else(|| {
                err(format!(
                    "query-sev-capabilities reply was missing '{k}' field"
                ))
            })
    };
    let s = |k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| {
                err(format!(
                    "query-sev-capabilities reply was missing '{k}' field"
                ))
            })
    };
    Ok(SevCaps {
        cbitpos: u("cbitpos")?,
        reduced_phys_bits: u("reduced-phys-bits")?,
        pdh: s("pdh")?,
        cert_chain: s("cert-chain")?,
        cpu0_id: v.get("cpu0-id").and_then(Value::as_str).map(str::to_string),
    })
}

fn parse_sgx(v: &Value) -> Result<SgxCaps, VirError> {
    let b = |k: &str| {
        v.get(k).and_then(Value::as_bool).ok_or_else(|| {
            err(format!(
                "query-sgx-capabilities reply was missing '{k}' field"
            ))
        })
    };
    let sections = v.get("sections").and_then(Value::as_array).map(|a| {
        a.iter()
            .filter_map(|s| {
                Some(SgxSection {
                    node: u32::try_from(s.get("node")?.as_u64()?).ok()?,
                    size: s.get("size")?.as_u64()? / 1024,
                })
            })
            .collect::<Vec<_>>()
    });
    let section_size = match &sections {
        Some(s) => s.iter().map(|x| x.size).sum(),
        None => v.get("section-size").and_then(Value::as_u64).unwrap_or(0) / 1024,
    };
    Ok(SgxCaps {
        flc: b("flc")?,
        sgx1: b("sgx1")?,
        sgx2: b("sgx2")?,
        section_size,
        sections,
    })
}

// SPDX-License-Identifier: LGPL-2.1-or-later
//! virConnectBaselineCPU as libvirt's test driver answers it: the x86 CPU
//! model (from libvirt's CPU map, read at run time as libvirt does) that
//! best describes what every given host CPU offers, with the features to
//! add to it (or, with VIR_CONNECT_BASELINE_CPU_EXPAND_FEATURES, all of
//! them). Features are compared by name, which is what the map describes
//! CPU models with; a model's `removed='yes'` features are not its own
//! and are always named in the answer.

use std::collections::BTreeSet;

use conf::xml::Element;
use driver::error::{ErrorCode, ErrorDomain};
use driver::{Error, Result};

/// libvirt's CPU map directory (its PKGDATADIR/cpu_map).
const CPU_MAP: &str = "/usr/share/libvirt/cpu_map";

/// VIR_CONNECT_BASELINE_CPU_EXPAND_FEATURES.
const EXPAND_FEATURES: u32 = 1;

struct Model {
    name: String,
    vendor: Option<String>,
    decode_guest: bool,
    features: BTreeSet<String>,
    /// Features QEMU's version of the model dropped (`removed='yes'`):
    /// not the model's, and always named (disabled when absent) in a
    /// CPU definition using it.
    removed: Vec<String>,
}

struct Map {
    vendors: Vec<String>,
    /// Feature names in the map's order.
    features: Vec<String>,
    models: Vec<Model>,
}

fn cpu_err(code: ErrorCode, msg: impl Into<String>) -> Error {
    Error::new(code, ErrorDomain::Cpu, msg.into())
}

fn read(file: &str) -> Result<Element> {
    let path = format!("{CPU_MAP}/{file}");
    let text = std::fs::read_to_string(&path).map_err(|e| {
        cpu_err(
            ErrorCode::SystemError,
            format!(
                "cannot read CPU map '{path}': {}",
                virterror::os_error_text(&e)
            ),
        )
    })?;
    conf::xml::parse_document(&text, &path, "cpus").map_err(|e| e.in_domain(ErrorDomain::Cpu))
}

fn load_map() -> Result<Map> {
    let index = read("index.xml")?;
    let mut map = Map {
        vendors: Vec::new(),
        features: Vec::new(),
        models: Vec::new(),
    };
    let Some(arch) = index
        .children_named("arch")
        .find(|a| a.attr("name") == Some("x86"))
    else {
        return Ok(map);
    };
    for inc in arch.children_named("include") {
        let Some(file) = inc.attr("filename") else {
            continue;
        };
        let doc = read(file)?;
        for e in doc.elements() {
            match e.name.as_str() {
                "vendor" => {
                    if let Some(n) = e.attr("name") {
                        map.vendors.push(n.to_string());
                    }
                }
                "feature" => {
                    if let Some(n) = e.attr("name") {
                        map.features.push(n.to_string());
                    }
                }
                "model" => {
                    let Some(name) = e.attr("name") else { continue };
                    let mut features = BTreeSet::new();
                    let mut removed = Vec::new();
                    let mut vendor = None;
                    for c in e.elements() {
                        match c.name.as_str() {
                            "feature" => {
                                if let Some(f) = c.attr("name") {
                                    if c.attr("removed") == Some("yes") {
                                        removed.push(f.to_string());
                                    } else {
                                        features.insert(f.to_string());
                                    }
                                }
                            }
                            "vendor" => vendor = c.attr("name").map(str::to_string),
                            // An older map's model built on another one.
                            "model" => {
                                if let Some(base) = c
                                    .attr("name")
                                    .and_then(|b| map.models.iter().find(|m| m.name == b))
                                {
                                    features.extend(base.features.iter().cloned());
                                    removed.extend(base.removed.iter().cloned());
                                    vendor = vendor.or_else(|| base.vendor.clone());
                                }
                            }
                            _ => {}
                        }
                    }
                    let decode_guest = e
                        .child("decode")
                        .and_then(|d| d.attr("guest"))
                        .is_none_or(|g| g == "on");
                    map.models.push(Model {
                        name: name.to_string(),
                        vendor,
                        decode_guest,
                        features,
                        removed,
                    });
                }
                _ => {}
            }
        }
    }
    Ok(map)
}

/// One given host CPU.
struct HostCpu {
    model: String,
    vendor: Option<String>,
    features: Vec<String>,
}

/// A host CPU definition (virCPUDefParseXML for host CPUs): an
/// architecture and a model are required; features are what it has.
fn parse_host_cpu(xml: &str) -> Result<HostCpu> {
    let doc = conf::xml::parse_document(xml, "(CPU_definition)", "cpu")
        .map_err(|e| e.in_domain(ErrorDomain::Cpu))?;
    let cpu = if doc.name == "cpu" {
        doc
    } else {
        find_cpu(&doc).cloned().ok_or_else(|| {
            cpu_err(
                ErrorCode::XmlError,
                "XML does not contain expected 'cpu' element",
            )
        })?
    };
    let xml_err = |m: &str| cpu_err(ErrorCode::XmlError, m);
    if cpu.child_text("arch").is_none_or(|a| a.trim().is_empty()) {
        return Err(xml_err("Missing CPU architecture"));
    }
    let model = cpu
        .child_text("model")
        .map(|m| m.trim().to_string())
        .filter(|m| !m.is_empty())
        .ok_or_else(|| xml_err("Missing CPU model name"))?;
    Ok(HostCpu {
        model,
        vendor: cpu.child_text("vendor").map(|v| v.trim().to_string()),
        features: cpu
            .children_named("feature")
            .filter_map(|f| f.attr("name").map(str::to_string))
            .collect(),
    })
}

fn find_cpu(e: &Element) -> Option<&Element> {
    if e.name == "cpu" {
        return Some(e);
    }
    e.elements().find_map(find_cpu)
}

/// The features of a host CPU, by its model and its own list.
fn cpu_features(map: &Map, cpu: &HostCpu) -> Result<(BTreeSet<String>, Option<String>)> {
    let model = map
        .models
        .iter()
        .find(|m| m.name == cpu.model)
        .ok_or_else(|| {
            cpu_err(
                ErrorCode::InternalError,
                format!("Unknown CPU model {}", cpu.model),
            )
        })?;
    let mut set = model.features.clone();
    for f in &cpu.features {
        if !map.features.contains(f) {
            return Err(cpu_err(
                ErrorCode::InternalError,
                format!("Unknown CPU feature {f}"),
            ));
        }
        set.insert(f.clone());
    }
    Ok((set, model.vendor.clone()))
}

/// What a candidate model costs (libvirt's comparison of candidate
/// feature lists): `require` added features then `disable` disabled ones
/// in that order; each disabled feature costs 2, 3, 4, ... instead of 1.
/// Like libvirt, the count stops halfway through the disabled ones (its
/// walk ends where the shrinking count of enabled features meets it).
/// Returns the total and the disabled features' part.
fn candidate_cost(require: usize, disable: usize) -> (usize, usize) {
    let mut enabled = require + disable;
    let mut disabled = 0;
    let mut penalty = 2;
    let mut i = 0;
    while i < enabled {
        if i >= require {
            enabled -= 1;
            disabled += penalty;
            penalty += 1;
        }
        i += 1;
    }
    (enabled + disabled, disabled)
}

/// virConnectBaselineCPU of the test driver.
pub(crate) fn baseline_cpu(xml_cpus: &[String], flags: u32) -> Result<String> {
    Error::check_flags(flags, EXPAND_FEATURES, "testConnectBaselineCPU")?;
    if xml_cpus.is_empty() {
        return Err(cpu_err(ErrorCode::InvalidArg, "nothing to baseline"));
    }
    let cpus = xml_cpus
        .iter()
        .map(|x| parse_host_cpu(x))
        .collect::<Result<Vec<_>>>()?;
    let map = load_map()?;
    let (mut base, _) = cpu_features(&map, &cpus[0])?;
    let mut output_vendor = cpus[0].vendor.is_some();
    let mut vendor = match &cpus[0].vendor {
        Some(v) if !map.vendors.contains(v) => {
            return Err(cpu_err(
                ErrorCode::OperationFailed,
                format!("Unknown CPU vendor {v}"),
            ))
        }
        v => v.clone(),
    };
    let mut names: Vec<&str> = vec![cpus[0].model.as_str()];
    for cpu in &cpus[1..] {
        if !names.contains(&cpu.model.as_str()) {
            names.push(&cpu.model);
        }
        let (set, model_vendor) = cpu_features(&map, cpu)?;
        if let (Some(cv), Some(mv)) = (&cpu.vendor, &model_vendor) {
            if cv != mv {
                return Err(cpu_err(
                    ErrorCode::OperationFailed,
                    format!(
                        "CPU vendor {mv} of model {} differs from vendor {cv}",
                        cpu.model
                    ),
                ));
            }
        }
        let vn = match &cpu.vendor {
            Some(v) => Some(v.clone()),
            None => {
                output_vendor = false;
                model_vendor
            }
        };
        if let Some(vn) = vn {
            match &vendor {
                None => {
                    if !map.vendors.contains(&vn) {
                        return Err(cpu_err(
                            ErrorCode::OperationFailed,
                            format!("Unknown CPU vendor {vn}"),
                        ));
                    }
                    vendor = Some(vn);
                }
                Some(v) if *v != vn => {
                    return Err(cpu_err(
                        ErrorCode::OperationFailed,
                        "CPU vendors do not match",
                    ))
                }
                _ => {}
            }
        }
        base = base.intersection(&set).cloned().collect();
    }
    if base.is_empty() {
        return Err(cpu_err(ErrorCode::OperationFailed, "CPUs are incompatible"));
    }
    // The model that needs the fewest changes (a disabled feature costs
    // more than an added one), newest first as libvirt walks the map; the
    // one given, when only one was; among several given, one of them when
    // it disables less.
    let only = (names.len() == 1).then(|| names[0]);
    let mut best: Option<(&Model, Vec<String>, Vec<String>)> = None;
    for m in map.models.iter().rev() {
        if !m.decode_guest {
            continue;
        }
        if let (Some(v), Some(mv)) = (&vendor, &m.vendor) {
            if v != mv {
                continue;
            }
        }
        let require: Vec<String> = map
            .features
            .iter()
            .filter(|f| base.contains(*f) && !m.features.contains(*f))
            .cloned()
            .collect();
        let mut disable: Vec<String> = map
            .features
            .iter()
            .filter(|f| m.features.contains(*f) && !base.contains(*f))
            .cloned()
            .collect();
        // The model's removed features follow, disabled where absent; they
        // count against the model like its other disabled features.
        for r in &m.removed {
            if !base.contains(r) && !disable.contains(r) {
                disable.push(r.clone());
            }
        }
        if only == Some(m.name.as_str()) {
            best = Some((m, require, disable));
            break;
        }
        let better = match &best {
            None => true,
            Some((_, r, d)) => {
                let (cur, dcur) = candidate_cost(r.len(), d.len());
                let (cand, dcand) = candidate_cost(require.len(), disable.len());
                cand < cur
                    || (cand == cur && dcand < dcur)
                    || (names.contains(&m.name.as_str()) && dcand < dcur)
            }
        };
        if better {
            best = Some((m, require, disable));
        }
    }
    let Some((model, require, disable)) = best else {
        return Err(cpu_err(
            ErrorCode::OperationFailed,
            "Cannot find suitable CPU model for given data",
        ));
    };
    let fallback = if only == Some(model.name.as_str()) {
        "forbid"
    } else {
        "allow"
    };
    let mut out = String::from("<cpu mode='custom' match='exact'>\n");
    out.push_str(&format!(
        "  <model fallback='{fallback}'>{}</model>\n",
        model.name
    ));
    if output_vendor {
        if let Some(v) = &vendor {
            out.push_str(&format!("  <vendor>{v}</vendor>\n"));
        }
    }
    let mut features: Vec<(String, &str)> = Vec::new();
    if flags & EXPAND_FEATURES != 0 {
        features.extend(base.iter().cloned().map(|f| (f, "require")));
        features.extend(disable.into_iter().map(|f| (f, "disable")));
    } else {
        features.extend(require.into_iter().map(|f| (f, "require")));
        features.extend(disable.into_iter().map(|f| (f, "disable")));
    }
    if flags & EXPAND_FEATURES != 0 {
        features.sort();
    }
    for (f, policy) in features {
        out.push_str(&format!("  <feature policy='{policy}' name='{f}'/>\n"));
    }
    out.push_str("</cpu>\n");
    Ok(out)
}

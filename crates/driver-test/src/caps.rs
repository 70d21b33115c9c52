// SPDX-License-Identifier: LGPL-2.1-or-later
//! The fake host's capabilities document and sysinfo.

use conf::capabilities::{Capabilities, Guest, GuestDomain, GuestFeature, Host, SecModel};

use crate::state::Cell;

/// The emulator path guests of the test driver report.
pub const TEST_EMULATOR: &str = "/usr/bin/test-hv";

/// Security model name the fake host reports.
pub const SEC_MODEL: &str = "testSecurity";

/// Huge page sizes (KiB) of the fake host.
const PAGE_SIZES: [u32; 4] = [4, 8, 2048, 1024 * 1024];

/// Whether the real host exposes IOMMU groups (libvirt probes the same
/// directory even for the test driver).
fn host_has_iommu() -> bool {
    std::fs::read_dir("/sys/kernel/iommu_groups")
        .map(|mut d| d.next().is_some())
        .unwrap_or(false)
}

fn topology(cells: &[Cell]) -> String {
    let mut s = String::from("    <topology>\n");
    s.push_str(&format!("      <cells num='{}'>\n", cells.len()));
    for (i, c) in cells.iter().enumerate() {
        s.push_str(&format!("        <cell id='{i}'>\n"));
        if c.mem != 0 {
            s.push_str(&format!(
                "          <memory unit='KiB'>{}</memory>\n",
                c.mem
            ));
        }
        // The first page size of cell 1 is 8 KiB, of every other cell 4 KiB;
        // only that size has pages available.
        let first = if i == 1 { PAGE_SIZES[1] } else { PAGE_SIZES[0] };
        s.push_str(&format!(
            "          <pages unit='KiB' size='{first}'>{}</pages>\n",
            c.mem / u64::from(first)
        ));
        for p in &PAGE_SIZES[2..] {
            s.push_str(&format!(
                "          <pages unit='KiB' size='{p}'>0</pages>\n"
            ));
        }
        s.push_str(&format!("          <cpus num='{}'>\n", c.cpus.len()));
        for (id, socket, core) in &c.cpus {
            s.push_str(&format!(
                "            <cpu id='{id}' socket_id='{socket}' die_id='0' core_id='{core}' siblings='{id}'/>\n"
            ));
        }
        s.push_str("          </cpus>\n");
        s.push_str("        </cell>\n");
    }
    s.push_str("      </cells>\n");
    s.push_str("    </topology>\n");
    s
}

/// virConnectGetCapabilities for a host with the given NUMA cells.
pub fn capabilities_xml(cells: &[Cell]) -> String {
    let guests = ["hvm", "xen"]
        .iter()
        .map(|os| Guest {
            os_type: (*os).into(),
            arch: "i686".into(),
            wordsize: 32,
            emulator: Some(TEST_EMULATOR.into()),
            domains: vec![GuestDomain {
                virt_type: "test".into(),
                ..Default::default()
            }],
            features: vec![
                GuestFeature {
                    name: "pae".into(),
                    ..Default::default()
                },
                GuestFeature {
                    name: "nonpae".into(),
                    ..Default::default()
                },
            ],
            ..Default::default()
        })
        .collect();
    let caps = Capabilities {
        host: Host {
            arch: "i686".into(),
            cpu_features: vec!["pae".into(), "nonpae".into()],
            page_sizes_kib: PAGE_SIZES.to_vec(),
            power_management: Some(Vec::new()),
            iommu: host_has_iommu(),
            secmodels: vec![SecModel {
                model: SEC_MODEL.into(),
                doi: String::new(),
                base_labels: Vec::new(),
            }],
            ..Default::default()
        },
        guests,
    };
    let xml = caps.to_xml();
    // The topology goes right before the security models.
    match xml.find("    <secmodel>") {
        Some(i) => format!("{}{}{}", &xml[..i], topology(cells), &xml[i..]),
        None => xml,
    }
}

/// virConnectGetSysinfo: a fixed SMBIOS description.
pub const SYSINFO: &str = "<sysinfo type='smbios'>
  <bios>
    <entry name='vendor'>LENOVO</entry>
    <entry name='version'>G4ETA1WW (2.61 )</entry>
    <entry name='date'>05/07/2014</entry>
    <entry name='release'>2.61</entry>
  </bios>
</sysinfo>
";

/// libvirt's CPU map (its PKGDATADIR/cpu_map), read the way libvirt's CPU
/// drivers read it.
const CPU_MAP: &str = "/usr/share/libvirt/cpu_map";

/// virConnectGetCPUModelNames: the models of the architecture's CPU map,
/// in the map's order. Architectures whose CPU driver lists no models
/// answer an empty list.
pub fn cpu_model_names(arch: &str, flags: u32) -> driver::Result<Vec<String>> {
    use driver::error::{ErrorCode, ErrorDomain};
    use driver::Error;
    Error::check_flags(flags, 0, "testConnectGetCPUModelNames")?;
    if !conf::domain::is_known_arch(arch) {
        return Err(Error::invalid_arg(
            ErrorDomain::Test,
            format!("cannot find architecture {arch}"),
        ));
    }
    let family = match arch {
        "i686" | "x86_64" => "x86",
        "ppc64" | "ppc64le" => "ppc64",
        "s390" | "s390x" | "armv6l" | "armv7b" | "armv7l" | "aarch64" => return Ok(Vec::new()),
        _ => {
            return Err(Error::new(
                ErrorCode::NoSupport,
                ErrorDomain::Cpu,
                format!("'{arch}' architecture is not supported by CPU driver"),
            ))
        }
    };
    let read = |file: &str| -> driver::Result<conf::xml::Element> {
        let path = format!("{CPU_MAP}/{file}");
        let text = std::fs::read_to_string(&path).map_err(|e| {
            Error::new(
                ErrorCode::SystemError,
                ErrorDomain::Cpu,
                format!(
                    "cannot read CPU map '{path}': {}",
                    virterror::os_error_text(&e)
                ),
            )
        })?;
        conf::xml::parse_document(&text, &path, "cpus").map_err(|e| e.in_domain(ErrorDomain::Cpu))
    };
    let index = read("index.xml")?;
    let mut models = Vec::new();
    let Some(arch_el) = index
        .children_named("arch")
        .find(|a| a.attr("name") == Some(family))
    else {
        return Ok(models);
    };
    for inc in arch_el.children_named("include") {
        let Some(file) = inc.attr("filename") else {
            continue;
        };
        let doc = read(file)?;
        for m in doc.children_named("model") {
            if let Some(name) = m.attr("name") {
                models.push(name.to_string());
            }
        }
    }
    Ok(models)
}

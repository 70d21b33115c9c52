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

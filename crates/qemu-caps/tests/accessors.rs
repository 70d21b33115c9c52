// SPDX-License-Identifier: LGPL-2.1-or-later
//! The getters on libvirt's own capability files: what qemu-conf and the
//! driver ask of them.

use qemu_caps::{Flag, QemuCaps, VirtType};
use std::path::PathBuf;

fn caps(v: &str) -> QemuCaps {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/conformance/libvirt-9.6/qemucapabilitiesdata")
        .join(format!("caps_{v}_x86_64.xml"));
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    QemuCaps::parse_cache(&text).unwrap_or_else(|e| panic!("{v}: {e}"))
}

#[test]
fn flags_are_looked_up_by_libvirt_names() {
    let c = caps("8.1.0");
    assert!(c.has("kvm"));
    assert!(c.has("virtio-scsi-pci"));
    assert!(!c.has("vnc-colon"));
    assert!(!c.has("no-such-flag"));
    assert_eq!(Flag::from_name("vnc-colon").map(Flag::index), Some(0));
    assert_eq!(c.flag_names().next(), Some("kvm"));
    assert_eq!(c.arch, "x86_64");
    assert_eq!(c.version_triple(), (8, 0, 50));
}

#[test]
fn preferred_machine_is_first_and_aliases_resolve() {
    let c = caps("8.1.0");
    assert_eq!(c.preferred_machine(VirtType::Kvm), Some("pc-i440fx-8.1"));
    assert_eq!(c.canonical_machine(VirtType::Kvm, "q35"), "pc-q35-8.1");
    assert_eq!(c.canonical_machine(VirtType::Kvm, "pc"), "pc-i440fx-8.1");
    assert_eq!(c.canonical_machine(VirtType::Kvm, "isapc"), "isapc");
    assert_eq!(c.machine_max_cpus(VirtType::Kvm, "pc-q35-8.1"), 1024);
    assert_eq!(c.machine_max_cpus(VirtType::Kvm, "q35"), 0);
    assert_eq!(
        c.machine_default_cpu(VirtType::Kvm, "pc-q35-8.1"),
        Some("qemu64")
    );
    assert_eq!(
        c.machine_default_ram_id(VirtType::Qemu, "pc-i440fx-8.1"),
        Some("pc.ram")
    );
    assert!(c.is_machine_deprecated(VirtType::Qemu, "pc-i440fx-1.4"));
    assert_eq!(
        c.machine_supports_acpi(VirtType::Qemu, "x-remote"),
        Some(false)
    );
}

#[test]
fn stripping_aliases_adds_machines_under_the_alias_names() {
    let mut c = caps("8.1.0");
    let n = c.machines(VirtType::Kvm).len();
    c.strip_machine_aliases();
    let m = c.machines(VirtType::Kvm);
    assert_eq!(m.len(), n + 2);
    assert!(m.iter().all(|m| m.alias.is_none()));
    assert_eq!(c.canonical_machine(VirtType::Kvm, "q35"), "q35");
    assert_eq!(c.machine_max_cpus(VirtType::Kvm, "q35"), 1024);
}

#[test]
fn unknown_flag_is_libvirts_internal_error() {
    let text = "<qemuCaps><emulator>/x</emulator><qemuctime>0</qemuctime><selfctime>0</selfctime><selfvers>0</selfvers><flag name='bogus'/></qemuCaps>";
    let e = QemuCaps::parse_cache(text).unwrap_err();
    assert_eq!(
        e.message(),
        "internal error: Unknown qemu capabilities flag bogus"
    );
}

#[test]
fn missing_selfctime_is_an_xml_error() {
    let e = QemuCaps::parse_cache("<qemuCaps/>").unwrap_err();
    assert_eq!(
        e.message(),
        "XML error: missing selfctime in QEMU capabilities XML"
    );
}

#[test]
fn feature_names_translate_both_ways_on_x86_only() {
    assert_eq!(
        qemu_caps::cpu_feature_from_qemu("x86_64", "lahf-lm"),
        "lahf_lm"
    );
    assert_eq!(
        qemu_caps::cpu_feature_to_qemu("x86_64", "pclmuldq"),
        "pclmulqdq"
    );
    assert_eq!(
        qemu_caps::cpu_feature_to_qemu("aarch64", "pclmuldq"),
        "pclmuldq"
    );
}

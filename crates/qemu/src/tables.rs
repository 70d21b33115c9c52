// SPDX-License-Identifier: LGPL-2.1-or-later
//! What each probe answer means: the facts by which libvirt 9.6 turns QMP
//! replies into capability flags (flag names as in the cache XML).

/// A QOM type or device, the flag it needs before libvirt asks about it
/// (None: always asked), and its properties that set a flag.
pub type TypeProps = (
    &'static str,
    Option<&'static str>,
    &'static [(&'static str, &'static str)],
);

/// Commands whose presence in the QMP schema sets a flag.
pub const SCHEMA_COMMANDS: &[(&str, &str)] = &[
    ("query-vnc", "vnc"),
    ("rtc-reset-reinjection", "rtc-reset-reinjection"),
    ("query-hotpluggable-cpus", "query-hotpluggable-cpus"),
    ("query-cpu-model-expansion", "query-cpu-model-expansion"),
    ("query-cpu-definitions", "query-cpu-definitions"),
    ("query-cpu-model-baseline", "query-cpu-model-baseline"),
    ("query-cpu-model-comparison", "query-cpu-model-comparison"),
    ("block-export-add", "block-export-add"),
    ("blockdev-reopen", "blockdev-reopen"),
    ("set-action", "set-action"),
    ("query-dirty-rate", "query-dirty-rate"),
    ("sev-inject-launch-secret", "sev-inject-launch-secret"),
    ("calc-dirty-rate", "calc-dirty-rate"),
    ("query-stats", "query-stats"),
    ("query-stats-schemas", "query-stats-schemas"),
];

/// Migration capabilities (`query-migrate-capabilities`) that set a flag.
pub const MIGRATION_CAPS: &[(&str, &str)] = &[("rdma-pin-all", "migrate-rdma")];

/// QOM types (`qom-list-types`) whose presence sets a flag.
pub const OBJECT_TYPES: &[(&str, &str)] = &[
    ("hda-duplex", "hda-duplex"),
    ("hda-micro", "hda-micro"),
    ("ccid-card-emulated", "ccid-emulated"),
    ("ccid-card-passthru", "ccid-passthru"),
    ("piix3-usb-uhci", "piix3-usb-uhci"),
    ("piix4-usb-uhci", "piix4-usb-uhci"),
    ("usb-ehci", "usb-ehci"),
    ("ich9-usb-ehci1", "ich9-usb-ehci1"),
    ("vt82c686b-usb-uhci", "vt82c686b-usb-uhci"),
    ("pci-ohci", "pci-ohci"),
    ("nec-usb-xhci", "nec-usb-xhci"),
    ("usb-redir", "usb-redir"),
    ("usb-hub", "usb-hub"),
    ("ich9-ahci", "ich9-ahci"),
    ("virtio-blk-ccw", "virtio-ccw"),
    ("sclpconsole", "s390-sclp"),
    ("lsi53c895a", "lsi"),
    ("virtio-scsi-pci", "virtio-scsi-pci"),
    ("virtio-scsi-ccw", "virtio-scsi-pci"),
    ("virtio-scsi-device", "virtio-scsi-pci"),
    ("megasas", "megasas"),
    ("qxl", "qxl"),
    ("scsi-block", "scsi-block"),
    ("VGA", "VGA"),
    ("cirrus-vga", "cirrus-vga"),
    ("vmware-svga", "vmware-svga"),
    ("usb-serial", "usb-serial"),
    ("virtio-rng-pci", "virtio-rng"),
    ("virtio-rng-ccw", "virtio-rng"),
    ("virtio-rng-device", "virtio-rng"),
    ("rng-random", "rng-random"),
    ("rng-egd", "rng-egd"),
    ("spapr-nvram", "nvram"),
    ("pci-bridge", "pci-bridge"),
    ("vfio-pci", "vfio-pci"),
    ("i82801b11-bridge", "dmi-to-pci-bridge"),
    ("usb-storage", "usb-storage"),
    ("virtio-mmio", "virtio-mmio"),
    ("ich9-intel-hda", "ich9-intel-hda"),
    ("pvpanic", "pvpanic"),
    ("usb-kbd", "usb-kbd"),
    ("usb-audio", "usb-audio"),
    ("ivshmem", "ivshmem"),
    ("pc-dimm", "pc-dimm"),
    ("pci-serial", "pci-serial"),
    ("gpex-pcihost", "gpex-pcihost"),
    ("ioh3420", "ioh3420"),
    ("x3130-upstream", "x3130-upstream"),
    ("xio3130-downstream", "xio3130-downstream"),
    ("rtl8139", "rtl8139"),
    ("e1000", "e1000"),
    ("virtio-net-pci", "virtio-net"),
    ("virtio-net-ccw", "virtio-net"),
    ("virtio-net-device", "virtio-net"),
    ("virtio-gpu-pci", "virtio-gpu"),
    ("virtio-gpu-device", "virtio-gpu"),
    ("virtio-vga", "virtio-vga"),
    ("virtio-keyboard-device", "virtio-keyboard"),
    ("virtio-keyboard-pci", "virtio-keyboard"),
    ("virtio-mouse-device", "virtio-mouse"),
    ("virtio-mouse-pci", "virtio-mouse"),
    ("virtio-tablet-device", "virtio-tablet"),
    ("virtio-tablet-pci", "virtio-tablet"),
    ("virtio-input-host-device", "virtio-input-host"),
    ("virtio-input-host-pci", "virtio-input-host"),
    ("mptsas1068", "mptsas1068"),
    ("pxb", "pxb"),
    ("pxb-pcie", "pxb-pcie"),
    ("intel-iommu", "intel-iommu"),
    ("ivshmem-plain", "ivshmem-plain"),
    ("ivshmem-doorbell", "ivshmem-doorbell"),
    ("vhost-scsi", "vhost-scsi"),
    ("nvdimm", "nvdimm"),
    ("pcie-root-port", "pcie-root-port"),
    ("qemu-xhci", "qemu-xhci"),
    ("spapr-pci-host-bridge", "spapr-pci-host-bridge"),
    ("vmcoreinfo", "vmcoreinfo"),
    ("spapr-vty", "spapr-vty"),
    ("sclplmconsole", "sclplmconsole"),
    ("isa-serial", "isa-serial"),
    ("pl011", "pl011"),
    ("virtio-gpu-ccw", "virtio-gpu-ccw"),
    ("virtio-keyboard-ccw", "virtio-keyboard-ccw"),
    ("virtio-mouse-ccw", "virtio-mouse-ccw"),
    ("virtio-tablet-ccw", "virtio-tablet-ccw"),
    ("pcie-pci-bridge", "pcie-pci-bridge"),
    ("pr-manager-helper", "pr-manager-helper"),
    ("vfio-ccw", "vfio-ccw"),
    ("hda-output", "hda-output"),
    ("vmgenid", "vmgenid"),
    ("vhost-vsock-device", "vhost-vsock"),
    ("mch", "mch"),
    ("sev-guest", "sev-guest"),
    ("vfio-ap", "vfio-ap"),
    ("zpci", "zpci"),
    ("memory-backend-memfd", "memory-backend-memfd"),
    ("virtio-blk-pci-transitional", "virtio-pci-non-transitional"),
    (
        "virtio-blk-pci-non-transitional",
        "virtio-pci-non-transitional",
    ),
    ("virtio-net-pci-transitional", "virtio-pci-non-transitional"),
    (
        "virtio-net-pci-non-transitional",
        "virtio-pci-non-transitional",
    ),
    ("vhost-scsi-pci-transitional", "virtio-pci-non-transitional"),
    (
        "vhost-scsi-pci-non-transitional",
        "virtio-pci-non-transitional",
    ),
    ("virtio-rng-pci-transitional", "virtio-pci-non-transitional"),
    (
        "virtio-rng-pci-non-transitional",
        "virtio-pci-non-transitional",
    ),
    ("virtio-9p-pci-transitional", "virtio-pci-non-transitional"),
    (
        "virtio-9p-pci-non-transitional",
        "virtio-pci-non-transitional",
    ),
    (
        "virtio-balloon-pci-transitional",
        "virtio-pci-non-transitional",
    ),
    (
        "virtio-balloon-pci-non-transitional",
        "virtio-pci-non-transitional",
    ),
    (
        "vhost-vsock-pci-transitional",
        "virtio-pci-non-transitional",
    ),
    (
        "vhost-vsock-pci-non-transitional",
        "virtio-pci-non-transitional",
    ),
    (
        "virtio-scsi-pci-transitional",
        "virtio-pci-non-transitional",
    ),
    (
        "virtio-scsi-pci-non-transitional",
        "virtio-pci-non-transitional",
    ),
    (
        "virtio-serial-pci-transitional",
        "virtio-pci-non-transitional",
    ),
    (
        "virtio-serial-pci-non-transitional",
        "virtio-pci-non-transitional",
    ),
    ("max-x86_64-cpu", "x86-max-cpu"),
    ("bochs-display", "bochs-display"),
    ("dbus-vmstate", "dbus-vmstate"),
    ("vhost-user-gpu", "vhost-user-gpu"),
    ("vhost-user-vga", "vhost-user-vga"),
    ("ramfb", "ramfb"),
    ("max-arm-cpu", "arm-max-cpu"),
    ("i8042", "i8042"),
    ("rng-builtin", "rng-builtin"),
    ("tpm-spapr", "tpm-spapr"),
    ("vhost-user-fs-device", "vhost-user-fs"),
    ("tcg-accel", "tcg"),
    ("pvscsi", "pvscsi"),
    ("spapr-tpm-proxy", "spapr-tpm-proxy"),
    ("vmport", "machine-vmport-opt"),
    ("dc390", "dc390"),
    ("am53c974", "am53c974"),
    ("virtio-pmem-pci", "virtio-pmem-pci"),
    ("vhost-user-blk", "vhost-user-blk"),
    ("input-linux", "input-linux"),
    ("virtio-gpu-gl-pci", "virtio-gpu-gl-pci"),
    ("virtio-vga-gl", "virtio-vga-gl"),
    ("s390-pv-guest", "s390-pv-guest"),
    ("virtio-mem-pci", "virtio-mem-pci"),
    ("virtio-iommu-pci", "virtio-iommu-pci"),
    ("sgx-epc", "sgx-epc"),
    ("thread-context", "thread-context"),
    ("virtio-crypto-pci", "virtio-crypto"),
    ("virtio-crypto-device", "virtio-crypto"),
    ("cryptodev-backend-lkcf", "cryptodev-backend-lkcf"),
    ("pvpanic-pci", "pvpanic-pci"),
];

/// QAPI schema paths (see `schema::path_exists`) that set a flag.
pub const SCHEMA_QUERIES: &[(&str, &str)] = &[
    ("blockdev-add/arg-type/+vxhs", "vxhs"),
    (
        "blockdev-add/arg-type/+file/drop-cache",
        "migration-file-drop-cache",
    ),
    ("blockdev-add/arg-type/+nvme", "drive-nvme"),
    ("blockdev-add/arg-type/+file/aio/^io_uring", "aio.io_uring"),
    ("blockdev-add/arg-type/+rbd/encrypt", "rbd-encryption"),
    (
        "blockdev-add/arg-type/+rbd/encrypt/parent",
        "rbd-encryption-layering",
    ),
    (
        "blockdev-add/arg-type/+rbd/encrypt/format/^luks-any",
        "rbd-encryption-luks-any",
    ),
    (
        "blockdev-add/arg-type/+nbd/tls-hostname",
        "blockdev.nbd.tls-hostname",
    ),
    (
        "blockdev-add/arg-type/+qcow2/discard-no-unref",
        "qcow2-discard-no-unref",
    ),
    (
        "blockdev-snapshot/$allow-write-only-overlay",
        "blockdev-snapshot.allow-write-only-overlay",
    ),
    (
        "chardev-add/arg-type/backend/+socket/data/reconnect",
        "chardev-reconnect",
    ),
    ("device_add/$json-cli-hotplug", "device.json+hotplug"),
    (
        "migrate-set-parameters/arg-type/block-bitmap-mapping/bitmaps/transform",
        "migration-param.block-bitmap-mapping",
    ),
    ("nbd-server-start/arg-type/tls-creds", "nbd-tls"),
    ("nbd-server-add/arg-type/bitmap", "nbd-bitmap"),
    ("netdev_add/arg-type/+stream", "netdev.stream"),
    (
        "netdev_add/arg-type/+stream/reconnect",
        "netdev.stream.reconnect",
    ),
    ("netdev_add/arg-type/+vhost-vdpa", "netdev.vhost-vdpa"),
    ("netdev_add/arg-type/type/^dgram", "netdev.json"),
    ("object-add/arg-type/qom-type/^secret", "object.qapified"),
    (
        "query-display-options/ret-type/+egl-headless/rendernode",
        "egl-headless.rendernode",
    ),
    ("query-display-options/ret-type/+sdl", "sdl"),
    (
        "query-display-options/ret-type/+egl-headless",
        "egl-headless",
    ),
    ("query-hotpluggable-cpus/ret-type/props/die-id", "smp-dies"),
    (
        "query-named-block-nodes/arg-type/flat",
        "query-named-block-nodes.flat",
    ),
    ("screendump/arg-type/device", "screendump_device"),
    ("set-numa-node/arg-type/+hmat-lb", "numa.hmat"),
    (
        "object-add/arg-type/+sev-guest/kernel-hashes",
        "sev-guest-kernel-hashes",
    ),
    ("calc-dirty-rate/arg-type/mode", "dirtyrate-param.mode"),
    (
        "chardev-add/arg-type/backend/+qemu-vdagent",
        "chardev.qemu-vdagent",
    ),
    ("query-display-options/ret-type/+dbus", "display-dbus"),
    (
        "object-add/arg-type/+iothread/thread-pool-max",
        "iothread.thread-pool-max",
    ),
    (
        "query-migrate/ret-type/blocked-reasons",
        "migration.blocked-reasons",
    ),
    ("screendump/arg-type/format/^png", "screenshot-format-png"),
];

/// Devices whose properties are listed (`device-list-properties`): the
/// device, the flag it needs to be asked about (None: always), and the
/// properties that set a flag.
pub const DEVICE_PROPS: &[TypeProps] = &[
    (
        "virtio-blk-pci",
        None,
        &[
            ("scsi", "virtio-blk-pci.scsi"),
            ("queue-size", "virtio-blk.queue-size"),
            ("acpi-index", "acpi-index"),
        ],
    ),
    (
        "virtio-net-pci",
        Some("virtio-net"),
        &[("acpi-index", "acpi-index"), ("rss", "virtio-net.rss")],
    ),
    (
        "virtio-scsi-pci",
        Some("virtio-scsi-pci"),
        &[("acpi-index", "acpi-index")],
    ),
    (
        "virtio-blk-ccw",
        Some("virtio-ccw"),
        &[
            ("scsi", "virtio-blk-pci.scsi"),
            ("queue-size", "virtio-blk.queue-size"),
            ("acpi-index", "acpi-index"),
        ],
    ),
    (
        "virtio-net-ccw",
        Some("virtio-net"),
        &[("acpi-index", "acpi-index"), ("rss", "virtio-net.rss")],
    ),
    (
        "virtio-scsi-ccw",
        Some("virtio-scsi-pci"),
        &[("acpi-index", "acpi-index")],
    ),
    (
        "vfio-pci",
        Some("vfio-pci"),
        &[("display", "vfio-pci.display")],
    ),
    (
        "scsi-hd",
        None,
        &[
            ("channel", "scsi-disk.channel"),
            ("rotation_rate", "rotation-rate"),
        ],
    ),
    ("ide-hd", None, &[]),
    (
        "PIIX4_PM",
        None,
        &[
            ("disable_s3", "disable-s3"),
            ("disable_s4", "disable-s4"),
            ("acpi-root-pci-hotplug", "piix4.acpi-root-pci-hotplug"),
        ],
    ),
    (
        "usb-redir",
        Some("usb-redir"),
        &[("filter", "usb-redir.filter")],
    ),
    ("usb-storage", Some("usb-storage"), &[]),
    (
        "kvm-pit",
        None,
        &[("lost_tick_policy", "kvm-pit-lost-tick-policy")],
    ),
    ("VGA", Some("VGA"), &[("vgamem_mb", "VGA.vgamem_mb")]),
    (
        "vmware-svga",
        Some("vmware-svga"),
        &[("vgamem_mb", "vmware-svga.vgamem_mb")],
    ),
    (
        "qxl",
        Some("qxl"),
        &[
            ("vgamem_mb", "qxl.vgamem_mb"),
            ("vram64_size_mb", "qxl.vram64_size_mb"),
        ],
    ),
    (
        "virtio-gpu-pci",
        Some("virtio-gpu"),
        &[
            ("virgl", "virtio-gpu.virgl"),
            ("acpi-index", "acpi-index"),
            ("blob", "virtio-gpu.blob"),
        ],
    ),
    (
        "virtio-gpu-device",
        Some("virtio-gpu"),
        &[
            ("virgl", "virtio-gpu.virgl"),
            ("acpi-index", "acpi-index"),
            ("blob", "virtio-gpu.blob"),
        ],
    ),
    (
        "ICH9-LPC",
        None,
        &[
            ("disable_s3", "ich9-disable-s3"),
            ("disable_s4", "ich9-disable-s4"),
        ],
    ),
    (
        "virtio-balloon-pci",
        None,
        &[
            ("deflate-on-oom", "virtio-balloon-pci.deflate-on-oom"),
            ("free-page-reporting", "virtio-balloon.free-page-reporting"),
            ("acpi-index", "acpi-index"),
        ],
    ),
    (
        "virtio-balloon-ccw",
        None,
        &[
            ("deflate-on-oom", "virtio-balloon-pci.deflate-on-oom"),
            ("free-page-reporting", "virtio-balloon.free-page-reporting"),
            ("acpi-index", "acpi-index"),
        ],
    ),
    (
        "virtio-balloon-device",
        None,
        &[
            ("deflate-on-oom", "virtio-balloon-pci.deflate-on-oom"),
            ("free-page-reporting", "virtio-balloon.free-page-reporting"),
            ("acpi-index", "acpi-index"),
        ],
    ),
    (
        "intel-iommu",
        Some("intel-iommu"),
        &[
            ("intremap", "intel-iommu.intremap"),
            ("caching-mode", "intel-iommu.caching-mode"),
            ("eim", "intel-iommu.eim"),
            ("device-iotlb", "intel-iommu.device-iotlb"),
            ("aw-bits", "intel-iommu.aw-bits"),
        ],
    ),
    (
        "spapr-pci-host-bridge",
        Some("spapr-pci-host-bridge"),
        &[("numa_node", "spapr-pci-host-bridge.numa_node")],
    ),
    (
        "virtio-gpu-ccw",
        Some("virtio-gpu-ccw"),
        &[
            ("virgl", "virtio-gpu.virgl"),
            ("acpi-index", "acpi-index"),
            ("blob", "virtio-gpu.blob"),
        ],
    ),
    (
        "mch",
        Some("mch"),
        &[("extended-tseg-mbytes", "mch.extended-tseg-mbytes")],
    ),
    ("nvdimm", Some("nvdimm"), &[("unarmed", "nvdimm.unarmed")]),
    (
        "pcie-root-port",
        Some("pcie-root-port"),
        &[("hotplug", "pcie-root-port.hotplug")],
    ),
    (
        "usb-host",
        None,
        &[
            ("hostdevice", "usb-host.hostdevice"),
            ("guest-resets-all", "usb-host.guest-resets-all"),
        ],
    ),
    (
        "vhost-user-fs-device",
        Some("vhost-user-fs"),
        &[("bootindex", "vhost-user-fs.bootindex")],
    ),
    (
        "virtio-mem-pci",
        Some("virtio-mem-pci"),
        &[("prealloc", "virtio-mem-pci.prealloc")],
    ),
    (
        "virtio-iommu-pci",
        Some("virtio-iommu-pci"),
        &[("boot-bypass", "virtio-iommu.boot-bypass")],
    ),
];

/// QOM types whose properties are listed (`qom-list-properties`): the type, the flag it needs, the properties that set a flag.
pub const OBJECT_PROPS: &[TypeProps] = &[
    (
        "memory-backend-file",
        None,
        &[
            ("pmem", "memory-backend-file.pmem"),
            (
                "x-use-canonical-path-for-ramblock-id",
                "memory-backend-file.x-use-canonical-path-for-ramblock-id",
            ),
            ("reserve", "memory-backend-file.reserve"),
            ("prealloc-threads", "memory-backend-file.prealloc-threads"),
        ],
    ),
    (
        "memory-backend-memfd",
        Some("memory-backend-memfd"),
        &[("hugetlb", "memory-backend-memfd.hugetlb")],
    ),
    (
        "max-x86_64-cpu",
        Some("x86-max-cpu"),
        &[
            ("unavailable-features", "cpu-unavailable-features"),
            ("kvm-no-adjvtime", "cpu.kvm-no-adjvtime"),
            ("migratable", "cpu.migratable"),
        ],
    ),
    (
        "max-arm-cpu",
        Some("arm-max-cpu"),
        &[
            ("unavailable-features", "cpu-unavailable-features"),
            ("kvm-no-adjvtime", "cpu.kvm-no-adjvtime"),
            ("migratable", "cpu.migratable"),
        ],
    ),
];

/// Machine types whose QOM properties are listed (as `NAME-machine`), when the machine exists (`none` always): the properties that set a flag.
pub const MACHINE_PROPS: &[TypeProps] = &[
    ("pseries", None, &[]),
    ("virt", None, &[("iommu", "machine.virt.iommu")]),
    (
        "none",
        None,
        &[("confidential-guest-support", "confidential-guest-support")],
    ),
];

/// `query-command-line-options`: option, parameter (None: the option alone), flag.
pub const COMMAND_LINE: &[(&str, Option<&str>, &str)] = &[
    ("fsdev", Some("multidevs"), "fsdev.multidevs"),
    ("machine", Some("hpet"), "machine-hpet"),
    ("sandbox", None, "seccomp-sandbox"),
    ("spice", None, "spice"),
    ("spice", Some("gl"), "spice-gl"),
    ("spice", Some("rendernode"), "spice-rendernode"),
    ("vnc", Some("power-control"), "vnc-power-control"),
    (
        "run-with",
        Some("async-teardown"),
        "run-with.async-teardown",
    ),
];

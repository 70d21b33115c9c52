// SPDX-License-Identifier: LGPL-2.1-or-later
//! The driver on a sysfs tree laid out as the kernel lays it out (devices
//! under /sys/devices, `subsystem` links, /sys/bus and /sys/class links)
//! plus udev's database, for the device kinds the test machine lacks: a
//! SATA disk behind its SCSI host, target and device (with udev's ID_BUS,
//! ID_SERIAL, ID_TYPE and links), a USB root hub and its interface, a DRM
//! render node, and a device of no kind libvirt keeps. Each XML is what
//! libvirt's udev backend gives for such a tree.

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use driver_nodedev::{NodedevDriver, Sysfs};
use test_support::TempDir;

struct Tree {
    sys: PathBuf,
}

impl Tree {
    fn write(&self, rel: &str, text: &str) {
        let p = self.sys.join(rel);
        std::fs::create_dir_all(p.parent().unwrap_or(Path::new("/"))).unwrap_or_default();
        std::fs::write(&p, text).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    }

    /// A device directory with its uevent and subsystem, listed under
    /// /sys/bus/SUB/devices or /sys/class/SUB.
    fn device(&self, rel: &str, subsystem: &str, class: bool, uevent: &str) {
        let dir = self.sys.join(rel);
        std::fs::create_dir_all(&dir).unwrap_or_default();
        std::fs::write(dir.join("uevent"), uevent).unwrap_or_default();
        let home = if class {
            self.sys.join("class").join(subsystem)
        } else {
            self.sys.join("bus").join(subsystem).join("devices")
        };
        std::fs::create_dir_all(&home).unwrap_or_default();
        let sub_dir = if class {
            self.sys.join("class").join(subsystem)
        } else {
            self.sys.join("bus").join(subsystem)
        };
        let _ = symlink(&sub_dir, dir.join("subsystem"));
        let name = dir.file_name().unwrap_or_default().to_owned();
        let _ = symlink(&dir, home.join(name));
    }
}

fn tree(t: &TempDir) -> (Tree, Sysfs) {
    let tr = Tree { sys: t.join("sys") };
    let pci = "devices/pci0000:00";
    // A PCI SATA controller (conventional, 256 bytes of config space).
    tr.device(
        &format!("{pci}/0000:00:1f.2"),
        "pci",
        false,
        "DRIVER=ahci\nPCI_CLASS=10601\nPCI_ID=8086:2922\n",
    );
    tr.write(&format!("{pci}/0000:00:1f.2/vendor"), "0x8086\n");
    tr.write(&format!("{pci}/0000:00:1f.2/device"), "0x2922\n");
    tr.write(&format!("{pci}/0000:00:1f.2/numa_node"), "-1\n");
    tr.write(&format!("{pci}/0000:00:1f.2/config"), &"\0".repeat(256));
    let ata = format!("{pci}/0000:00:1f.2/ata1");
    tr.device(
        &format!("{ata}/host0"),
        "scsi",
        false,
        "DEVTYPE=scsi_host\n",
    );
    tr.device(
        &format!("{ata}/host0/target0:0:0"),
        "scsi",
        false,
        "DEVTYPE=scsi_target\n",
    );
    let sdev = format!("{ata}/host0/target0:0:0/0:0:0:0");
    tr.device(&sdev, "scsi", false, "DEVTYPE=scsi_device\n");
    tr.write(&format!("{sdev}/type"), "0\n");
    tr.write(&format!("{sdev}/vendor"), "ATA     \n");
    tr.write(&format!("{sdev}/model"), "QEMU HARDDISK   \n");
    let sda = format!("{sdev}/block/sda");
    tr.device(
        &sda,
        "block",
        true,
        "MAJOR=8\nMINOR=0\nDEVNAME=sda\nDEVTYPE=disk\n",
    );
    tr.write(&format!("{sda}/size"), "2048\n");
    tr.write(&format!("{sda}/removable"), "0\n");
    tr.write(&format!("{sda}/queue/logical_block_size"), "512\n");
    let _ = symlink(tr.sys.join(&sdev), tr.sys.join(&sda).join("device"));
    // A USB root hub and its hub interface.
    let usb = format!("{pci}/0000:00:1d.0/usb2");
    tr.device(
        &usb,
        "usb",
        false,
        "MAJOR=189\nMINOR=128\nDEVNAME=bus/usb/002/001\nDEVTYPE=usb_device\nBUSNUM=002\nDEVNUM=001\n",
    );
    tr.write(&format!("{usb}/idVendor"), "1d6b\n");
    tr.write(&format!("{usb}/idProduct"), "0002\n");
    tr.write(&format!("{usb}/manufacturer"), "Linux 6.1 ehci_hcd\n");
    tr.write(&format!("{usb}/product"), "EHCI Host Controller\n");
    tr.device(
        &format!("{usb}/2-0:1.0"),
        "usb",
        false,
        "DEVTYPE=usb_interface\nDRIVER=hub\n",
    );
    for (k, v) in [
        ("bInterfaceNumber", "00"),
        ("bInterfaceClass", "09"),
        ("bInterfaceSubClass", "00"),
        ("bInterfaceProtocol", "00"),
    ] {
        tr.write(&format!("{usb}/2-0:1.0/{k}"), &format!("{v}\n"));
    }
    // A DRM render node of a GPU whose PCI device is not listed.
    tr.device(
        &format!("{pci}/0000:00:02.0/drm/renderD128"),
        "drm",
        true,
        "MAJOR=226\nMINOR=128\nDEVNAME=dri/renderD128\nDEVTYPE=drm_minor\n",
    );
    // A device of no kind libvirt keeps.
    tr.device("devices/system/cpu/cpu0", "cpu", false, "");
    // udev's database for the disk.
    let db = t.join("udev");
    std::fs::create_dir_all(&db).unwrap_or_default();
    std::fs::write(
        db.join("b8:0"),
        "S:disk/by-id/ata-QEMU_HARDDISK_QM00001\nE:ID_BUS=ata\nE:ID_SERIAL=QEMU_HARDDISK_QM00001\nE:ID_TYPE=disk\n",
    )
    .unwrap_or_default();
    let sysfs = Sysfs {
        sys: tr.sys.clone(),
        udev_data: db,
    };
    (tr, sysfs)
}

#[test]
fn sata_usb_and_drm_devices_are_described_as_libvirt_does() {
    let t = TempDir::new("nodedev-fake");
    let (tr, sysfs) = tree(&t);
    let d = NodedevDriver::new(sysfs, true);
    let mut names = d.names();
    names.sort();
    assert_eq!(
        names,
        [
            "block_sda_QEMU_HARDDISK_QM00001",
            "computer",
            "drm_renderD128",
            "pci_0000_00_1f_2",
            "scsi_0_0_0_0",
            "scsi_host0",
            "scsi_target0_0_0",
            "usb_2_0_1_0",
            "usb_usb2",
        ]
    );
    let sys = tr.sys.display().to_string();
    let pci = format!("{sys}/devices/pci0000:00");
    let xml = |n: &str| d.xml(n, 0).unwrap_or_else(|e| panic!("{n}: {e}"));
    let ids = driver_nodedev::pci::pci_ids();
    let names_of = |v: u32, p: u32| (ids.vendor(v), ids.device(v, p));
    let (ven, prod) = names_of(0x8086, 0x2922);
    let id = |tag: &str, id: &str, name: Option<String>| match name {
        Some(n) => format!("<{tag} id='{id}'>{n}</{tag}>"),
        None => format!("<{tag} id='{id}'/>"),
    };
    assert_eq!(
        xml("pci_0000_00_1f_2"),
        format!(
            "<device>\n  <name>pci_0000_00_1f_2</name>\n  <path>{pci}/0000:00:1f.2</path>\n  \
             <parent>computer</parent>\n  <capability type='pci'>\n    <class>0x010601</class>\n    \
             <domain>0</domain>\n    <bus>0</bus>\n    <slot>31</slot>\n    <function>2</function>\n    \
             {}\n    {}\n  </capability>\n</device>\n",
            id("product", "0x2922", prod),
            id("vendor", "0x8086", ven)
        )
    );
    let host = format!("{pci}/0000:00:1f.2/ata1/host0");
    assert_eq!(
        xml("scsi_host0"),
        format!(
            "<device>\n  <name>scsi_host0</name>\n  <path>{host}</path>\n  <parent>pci_0000_00_1f_2</parent>\n  \
             <capability type='scsi_host'>\n    <host>0</host>\n  </capability>\n</device>\n"
        )
    );
    assert_eq!(
        xml("scsi_target0_0_0"),
        format!(
            "<device>\n  <name>scsi_target0_0_0</name>\n  <path>{host}/target0:0:0</path>\n  \
             <parent>scsi_host0</parent>\n  <capability type='scsi_target'>\n    \
             <target>target0:0:0</target>\n  </capability>\n</device>\n"
        )
    );
    assert_eq!(
        xml("scsi_0_0_0_0"),
        format!(
            "<device>\n  <name>scsi_0_0_0_0</name>\n  <path>{host}/target0:0:0/0:0:0:0</path>\n  \
             <parent>scsi_target0_0_0</parent>\n  <capability type='scsi'>\n    <host>0</host>\n    \
             <bus>0</bus>\n    <target>0</target>\n    <lun>0</lun>\n    <type>disk</type>\n  \
             </capability>\n</device>\n"
        )
    );
    assert_eq!(
        xml("block_sda_QEMU_HARDDISK_QM00001"),
        format!(
            "<device>\n  <name>block_sda_QEMU_HARDDISK_QM00001</name>\n  \
             <path>{host}/target0:0:0/0:0:0:0/block/sda</path>\n  <devnode type='dev'>/dev/sda</devnode>\n  \
             <devnode type='link'>/dev/disk/by-id/ata-QEMU_HARDDISK_QM00001</devnode>\n  \
             <parent>scsi_0_0_0_0</parent>\n  <capability type='storage'>\n    <block>/dev/sda</block>\n    \
             <bus>ata</bus>\n    <drive_type>disk</drive_type>\n    <model>QEMU HARDDISK</model>\n    \
             <vendor>ATA</vendor>\n    <serial>QEMU_HARDDISK_QM00001</serial>\n    <size>1048576</size>\n    \
             <logical_block_size>512</logical_block_size>\n    <num_blocks>2048</num_blocks>\n  \
             </capability>\n</device>\n"
        )
    );
    // USB: no udev database entry, so the ids come from the descriptor
    // attributes and the names from usb.ids, else the descriptor strings.
    let usb_ids = driver_nodedev::pci::usb_ids();
    let uv = usb_ids
        .vendor(0x1d6b)
        .unwrap_or_else(|| "Linux 6.1 ehci_hcd".into());
    let up = usb_ids
        .device(0x1d6b, 0x0002)
        .unwrap_or_else(|| "EHCI Host Controller".into());
    assert_eq!(
        xml("usb_usb2"),
        format!(
            "<device>\n  <name>usb_usb2</name>\n  <path>{pci}/0000:00:1d.0/usb2</path>\n  \
             <devnode type='dev'>/dev/bus/usb/002/001</devnode>\n  <parent>computer</parent>\n  \
             <capability type='usb_device'>\n    <bus>2</bus>\n    <device>1</device>\n    \
             <product id='0x0002'>{up}</product>\n    <vendor id='0x1d6b'>{uv}</vendor>\n  \
             </capability>\n</device>\n"
        )
    );
    assert_eq!(
        xml("usb_2_0_1_0"),
        format!(
            "<device>\n  <name>usb_2_0_1_0</name>\n  <path>{pci}/0000:00:1d.0/usb2/2-0:1.0</path>\n  \
             <parent>usb_usb2</parent>\n  <capability type='usb'>\n    <number>0</number>\n    \
             <class>9</class>\n    <subclass>0</subclass>\n    <protocol>0</protocol>\n  \
             </capability>\n</device>\n"
        )
    );
    assert_eq!(
        xml("drm_renderD128"),
        format!(
            "<device>\n  <name>drm_renderD128</name>\n  <path>{pci}/0000:00:02.0/drm/renderD128</path>\n  \
             <devnode type='dev'>/dev/dri/renderD128</devnode>\n  <parent>computer</parent>\n  \
             <capability type='drm'>\n    <type>render</type>\n  </capability>\n</device>\n"
        )
    );
    // Capability filters, nested names and the tree's parents.
    assert_eq!(
        d.list_names(Some("storage"), 0, "nodeListDevices")
            .unwrap_or_default(),
        ["block_sda_QEMU_HARDDISK_QM00001"]
    );
    assert_eq!(
        d.parent("block_sda_QEMU_HARDDISK_QM00001")
            .unwrap_or_default()
            .as_deref(),
        Some("scsi_0_0_0_0")
    );
}

#[test]
fn events_add_change_and_remove_devices() {
    let t = TempDir::new("nodedev-fake-events");
    let (tr, sysfs) = tree(&t);
    let d = NodedevDriver::new(sysfs, true);
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let s2 = seen.clone();
    d.subscribe(std::sync::Arc::new(move |e: &driver::Event| {
        if let Ok(mut v) = s2.lock() {
            v.push(format!("{e:?}"));
        }
    }));
    // A second render node appears, changes, and goes.
    let rel = "devices/pci0000:00/0000:00:02.0/drm/renderD129";
    tr.device(
        rel,
        "drm",
        true,
        "MAJOR=226\nMINOR=129\nDEVNAME=dri/renderD129\nDEVTYPE=drm_minor\n",
    );
    let ev = |action: &str| {
        let pkt =
            format!("{action}@/{rel}\0ACTION={action}\0DEVPATH=/{rel}\0SUBSYSTEM=drm\0SEQNUM=1\0");
        let u = kobject_uevent::UEvent::from_netlink_packet(pkt.as_bytes())
            .unwrap_or_else(|e| panic!("{e}"));
        driver_nodedev::monitor::apply(&d, &u);
    };
    ev("add");
    assert!(d.names().contains(&"drm_renderD129".to_string()));
    ev("change");
    std::fs::remove_dir_all(tr.sys.join(rel)).unwrap_or_default();
    ev("remove");
    assert!(!d.names().contains(&"drm_renderD129".to_string()));
    let v = seen.lock().map(|v| v.clone()).unwrap_or_default();
    assert_eq!(v.len(), 3, "{v:?}");
    assert!(
        v[0].contains("NodeDeviceLifecycle") && v[0].contains("event: 0"),
        "{v:?}"
    );
    assert!(v[1].contains("NodeDeviceUpdate"), "{v:?}");
    assert!(
        v[2].contains("NodeDeviceLifecycle") && v[2].contains("event: 1"),
        "{v:?}"
    );
}

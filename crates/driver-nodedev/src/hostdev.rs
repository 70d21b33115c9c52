// SPDX-License-Identifier: LGPL-2.1-or-later
//! PCI host devices for assignment to guests: what a hypervisor driver
//! does for virNodeDeviceDetachFlags, ReAttach and Reset (libvirt's
//! virDomainDriverNodeDevice* with its hostdev manager), on the node
//! device's XML as the node device driver gives it.
//!
//! Detaching binds the device to `vfio-pci` through `driver_override`
//! (after unbinding it from its driver); reattaching undoes that and lets
//! the kernel probe its own driver again; a reset goes through the
//! kernel's `reset` attribute (function-level, power-management or bus
//! reset, whichever the device offers). Without VFIO (no IOMMU groups or
//! no /dev/vfio/vfio) detaching fails with libvirt's error, before
//! anything is touched.
//!
//! The caller is the hypervisor driver (libvirt's node device driver
//! itself has no detach): it reports these errors from its own domain.

use std::path::{Path, PathBuf};

use conf::nodedev::{Cap, NodeDeviceDef, ParseMode, PciAddr};
use virterror::{ErrorCode, ErrorDomain, VirError};

use crate::pci::format_addr;

type Result<T> = std::result::Result<T, VirError>;

/// The stub driver devices are detached to.
pub const VFIO_PCI: &str = "vfio-pci";

/// Where the host's PCI devices and VFIO live.
#[derive(Debug, Clone)]
pub struct Hostdev {
    pub sys: PathBuf,
    pub dev: PathBuf,
    /// Errors are reported from this domain (the hypervisor driver's).
    pub domain: ErrorDomain,
}

impl Hostdev {
    /// The host's, reporting from `domain`.
    pub fn new(domain: ErrorDomain) -> Hostdev {
        Hostdev {
            sys: PathBuf::from("/sys"),
            dev: PathBuf::from("/dev"),
            domain,
        }
    }

    fn err(&self, code: ErrorCode, detail: impl Into<String>) -> VirError {
        VirError::new(code, self.domain, detail)
    }

    /// Whether VFIO device assignment works here: IOMMU groups exist and
    /// the VFIO container device is there.
    pub fn vfio_supported(&self) -> bool {
        let groups = std::fs::read_dir(self.sys.join("kernel/iommu_groups"))
            .map(|mut rd| rd.next().is_some())
            .unwrap_or(false);
        groups && self.dev.join("vfio/vfio").exists()
    }

    /// The PCI address of a node device's XML (as
    /// virNodeDeviceGetXMLDesc gives it).
    pub fn pci_address(&self, xml: &str) -> Result<PciAddr> {
        let def = NodeDeviceDef::parse_str(xml, ParseMode::Existing)
            .map_err(|e| e.in_domain(self.domain))?;
        def.caps
            .iter()
            .find_map(|c| match c {
                Cap::Pci(p) => Some(p.addr),
                _ => None,
            })
            .ok_or_else(|| {
                self.err(
                    ErrorCode::InvalidArg,
                    format!("device {} is not a PCI device", def.name),
                )
            })
    }

    fn dir(&self, a: &PciAddr) -> PathBuf {
        self.sys.join("bus/pci/devices").join(format_addr(a))
    }

    fn driver(&self, a: &PciAddr) -> Option<String> {
        std::fs::read_link(self.dir(a).join("driver"))
            .ok()
            .and_then(|t| t.file_name().map(|f| f.to_string_lossy().into_owned()))
    }

    fn write(&self, path: &Path, value: &str) -> Result<()> {
        std::fs::write(path, value).map_err(|e| {
            self.err(
                ErrorCode::SystemError,
                format!("Failed to write to '{}': {e}", path.display()),
            )
        })
    }

    /// virNodeDeviceDetachFlags: `driver_name` None or "vfio".
    pub fn detach(&self, xml: &str, driver_name: Option<&str>, flags: u32) -> Result<()> {
        VirError::check_flags(flags, 0, "qemuNodeDeviceDetachFlags")
            .map_err(|e| e.in_domain(self.domain))?;
        match driver_name.unwrap_or("vfio") {
            "vfio" => {}
            "kvm" => {
                return Err(self.err(
                    ErrorCode::ArgumentUnsupported,
                    "KVM device assignment is no longer supported on this system",
                ))
            }
            other => {
                return Err(self.err(
                    ErrorCode::InvalidArg,
                    format!("unknown driver name '{other}'"),
                ))
            }
        }
        if !self.vfio_supported() {
            return Err(self.err(
                ErrorCode::ArgumentUnsupported,
                "VFIO device assignment is currently not supported on this system",
            ));
        }
        let a = self.pci_address(xml)?;
        if self.driver(&a).as_deref() == Some(VFIO_PCI) {
            return Ok(());
        }
        let dir = self.dir(&a);
        let name = format_addr(&a);
        self.write(&dir.join("driver_override"), VFIO_PCI)?;
        if dir.join("driver").exists() {
            self.write(&dir.join("driver/unbind"), &name)?;
        }
        self.write(&self.sys.join("bus/pci/drivers_probe"), &name)?;
        if self.driver(&a).as_deref() != Some(VFIO_PCI) {
            return Err(self.err(
                ErrorCode::InternalError,
                format!("Failed to bind PCI device '{name}' to {VFIO_PCI}"),
            ));
        }
        Ok(())
    }

    /// virNodeDeviceReAttach: back from the stub to the kernel's driver.
    pub fn reattach(&self, xml: &str) -> Result<()> {
        let a = self.pci_address(xml)?;
        let dir = self.dir(&a);
        let name = format_addr(&a);
        if self.driver(&a).as_deref() != Some(VFIO_PCI) {
            // Not detached: nothing to undo, as libvirt.
            return Ok(());
        }
        self.write(&dir.join("driver/unbind"), &name)?;
        self.write(&dir.join("driver_override"), "\n")?;
        self.write(&self.sys.join("bus/pci/drivers_probe"), &name)
    }

    /// virNodeDeviceReset.
    pub fn reset(&self, xml: &str) -> Result<()> {
        let a = self.pci_address(xml)?;
        let dir = self.dir(&a);
        let name = format_addr(&a);
        if let Ok(config) = std::fs::read(dir.join("config")) {
            if let Some(t) = config.get(0x0e).map(|t| t & 0x7f) {
                if t != 0 {
                    return Err(self.err(
                        ErrorCode::InternalError,
                        format!(
                            "Invalid attempt to reset PCI device {name}. Only PCI endpoint devices can be reset"
                        ),
                    ));
                }
            }
        }
        // vfio-pci resets the device itself whenever needed.
        if self.driver(&a).as_deref() == Some(VFIO_PCI) {
            return Ok(());
        }
        let reset = dir.join("reset");
        if !reset.exists() {
            return Err(self.err(
                ErrorCode::InternalError,
                format!(
                    "Unable to reset PCI device {name}: no FLR, PM reset or bus reset available"
                ),
            ));
        }
        self.write(&reset, "1")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const XML: &str = "<device><name>pci_0000_00_05_0</name><capability type='pci'>\
        <domain>0</domain><bus>0</bus><slot>5</slot><function>0</function>\
        <product id='0x1044'/><vendor id='0x1af4'/></capability></device>";

    fn fake() -> (PathBuf, Hostdev) {
        let root = std::env::temp_dir().join(format!("lvrs-hostdev-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let dev = root.join("sys/bus/pci/devices/0000:00:05.0");
        std::fs::create_dir_all(&dev).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(dev.join("config"), vec![0u8; 64]).unwrap_or_else(|e| panic!("{e}"));
        let h = Hostdev {
            sys: root.join("sys"),
            dev: root.join("dev"),
            domain: ErrorDomain::Qemu,
        };
        (root, h)
    }

    #[test]
    fn without_vfio_detach_fails_as_libvirt_before_touching_anything() {
        let (root, h) = fake();
        let e = h.detach(XML, None, 0).err().map(|e| (e.code, e.message()));
        assert_eq!(
            e,
            Some((
                ErrorCode::ArgumentUnsupported,
                "argument unsupported: VFIO device assignment is currently not supported on this system".into()
            ))
        );
        let e = h.detach(XML, Some("kvm"), 0).err().map(|e| e.message());
        assert_eq!(
            e.as_deref(),
            Some(
                "argument unsupported: KVM device assignment is no longer supported on this system"
            )
        );
        let e = h.detach(XML, Some("xen"), 0).err().map(|e| e.message());
        assert_eq!(
            e.as_deref(),
            Some("invalid argument: unknown driver name 'xen'")
        );
        assert!(!root
            .join("sys/bus/pci/devices/0000:00:05.0/driver_override")
            .exists());
        let e = h.reset(XML).err().map(|e| e.message());
        assert_eq!(
            e.as_deref(),
            Some("internal error: Unable to reset PCI device 0000:00:05.0: no FLR, PM reset or bus reset available")
        );
        // Reattaching a device that was not detached does nothing.
        assert!(h.reattach(XML).is_ok());
        let e = h
            .pci_address("<device><name>net_lo</name><capability type='net'><interface>lo</interface></capability></device>")
            .err()
            .map(|e| e.message());
        assert_eq!(
            e.as_deref(),
            Some("invalid argument: device net_lo is not a PCI device")
        );
        let _ = std::fs::remove_dir_all(root);
    }

    #[test]
    fn this_host_without_an_iommu_refuses_detach() {
        let h = Hostdev::new(ErrorDomain::Qemu);
        if h.vfio_supported() {
            eprintln!("skipped: this host has VFIO; the refusal is checked on a fake tree");
            return;
        }
        let e = h.detach(XML, None, 0).err().map(|e| e.code);
        assert_eq!(e, Some(ErrorCode::ArgumentUnsupported));
    }
}

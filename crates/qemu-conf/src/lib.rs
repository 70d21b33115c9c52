// SPDX-License-Identifier: LGPL-2.1-or-later
//! The QEMU driver's part in reading domain XML (libvirt's qemu_domain.c
//! post-parse callbacks and qemu_domain_address.c): the defaults QEMU
//! guests get from the driver and its capabilities (machine type, implicit
//! controllers and devices, device models) and the automatic device
//! addresses (PCI, USB, drive, virtio-serial, ...).
//!
//! Depends on `conf` (the generic model) and `qemu-caps` (what the QEMU
//! binary offers), never on a running QEMU: the same definition and
//! capabilities always give the same result, which the qemuxml2xml corpus
//! checks byte for byte.
#![forbid(unsafe_code)]

use std::sync::Arc;

use conf::domain::{DomainDef, XmlOptions};
use conf::error::VirError;
use qemu_caps::QemuCaps;

mod address;
mod firmware;
mod postparse;

pub use firmware::{load_firmware_dirs, Firmware};

/// The qemu.conf settings the XML defaults depend on.
#[derive(Debug, Clone)]
pub struct QemuXmlConfig {
    /// `vnc_allow_host_audio` (bool, default 0): a VNC guest gets the
    /// host's audio back end (QEMU_AUDIO_DRV) instead of none.
    pub vnc_allow_host_audio: bool,
    /// `nographics_allow_host_audio` (bool, default 0): the same for a
    /// guest without graphics.
    pub nogfx_allow_host_audio: bool,
    /// `nvram_dir` (string, default /var/lib/libvirt/qemu/nvram): where a
    /// guest's UEFI variable store is created.
    pub nvram_dir: String,
}

impl Default for QemuXmlConfig {
    fn default() -> Self {
        QemuXmlConfig {
            vnc_allow_host_audio: false,
            nogfx_allow_host_audio: false,
            nvram_dir: "/var/lib/libvirt/qemu/nvram".into(),
        }
    }
}

/// What the QEMU driver's XML callbacks know: the capabilities of the
/// emulator the definitions use, qemu.conf, the daemon's environment.
#[derive(Debug, Clone)]
pub struct QemuDriverContext {
    /// The capabilities of the guest's emulator.
    pub caps: Arc<QemuCaps>,
    /// The qemu.conf settings that matter here.
    pub config: QemuXmlConfig,
    /// Environment variables consulted (QEMU_AUDIO_DRV, SDL_AUDIODRIVER);
    /// `None`: the daemon's own environment.
    pub environment: Option<Vec<(String, String)>>,
    /// QEMU's firmware descriptors, in priority order
    /// ([`load_firmware_dirs`]).
    pub firmwares: Vec<Firmware>,
    /// Definitions are new or have their ABI updated (libvirt's
    /// VIR_DOMAIN_DEF_PARSE_ABI_UPDATE): firmware autoselection may pick a
    /// non-raw image; otherwise only raw ones, as before libvirt 9.2.
    pub abi_update: bool,
}

impl QemuDriverContext {
    pub fn new(caps: QemuCaps) -> Self {
        QemuDriverContext {
            caps: Arc::new(caps),
            config: QemuXmlConfig::default(),
            environment: None,
            firmwares: Vec::new(),
            abi_update: true,
        }
    }

    /// An environment variable of the daemon (or of the given environment).
    pub fn env(&self, name: &str) -> Option<String> {
        match &self.environment {
            Some(vars) => vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()),
            None => std::env::var(name).ok(),
        }
    }

    /// The QEMU driver's XML options: its post-parse defaults before the
    /// common ones.
    pub fn xml_options(&self) -> XmlOptions {
        let ctx = self.clone();
        let late = self.clone();
        XmlOptions {
            default_arch: Some("x86_64"),
            post_parse: Some(Arc::new(
                move |def: &mut DomainDef| -> Result<(), VirError> {
                    postparse::post_parse(&ctx, def)
                },
            )),
            assign_addresses: Some(Arc::new(
                move |def: &mut DomainDef| -> Result<(), VirError> {
                    postparse::late_device_defaults(&late, def);
                    address::assign_addresses(&late, def)
                },
            )),
            ..Default::default()
        }
    }
}

// SPDX-License-Identifier: LGPL-2.1-or-later
//! The guest kinds a Xen host offers, as far as the converters need them:
//! architecture, machine type, device model and default firmware per
//! OS type.

/// One guest kind (`<guest>` in the capabilities XML).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XenGuestCaps {
    /// `hvm`, `xen` (PV) or `xenpvh`.
    pub os_type: String,
    /// Architecture, e.g. `x86_64`.
    pub arch: String,
    /// Device model path.
    pub emulator: String,
    /// Default firmware (HVM only).
    pub loader: Option<String>,
    /// Machine types, first is the default.
    pub machines: Vec<String>,
}

/// What the converters need to know about the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XenCaps {
    /// Guest kinds, in the order lookups try them.
    pub guests: Vec<XenGuestCaps>,
    /// Host CPU can run nested VMX (Intel) rather than SVM (AMD).
    pub host_vmx: bool,
    /// Directory holding Xen's firmware images (hvmloader, ovmf.bin).
    pub firmware_dir: String,
}

/// Xen's firmware directory on Debian (LIBXL_FIRMWARE_DIR).
pub const FIRMWARE_DIR: &str = "/usr/lib/xen/boot";

impl XenCaps {
    /// An x86_64 Xen host with HVM, PV and PVH guests and the usual Debian
    /// paths: what the conversions assume when no host is probed.
    pub fn default_x86_64() -> XenCaps {
        let emulator = "/usr/lib/xen/bin/qemu-system-i386".to_string();
        XenCaps {
            guests: vec![
                XenGuestCaps {
                    os_type: "hvm".into(),
                    arch: "x86_64".into(),
                    emulator: emulator.clone(),
                    loader: Some("/usr/lib/xen/boot/hvmloader".into()),
                    machines: vec!["xenfv".into()],
                },
                XenGuestCaps {
                    os_type: "xen".into(),
                    arch: "x86_64".into(),
                    emulator: emulator.clone(),
                    loader: None,
                    machines: vec!["xenpv".into()],
                },
                XenGuestCaps {
                    os_type: "xenpvh".into(),
                    arch: "x86_64".into(),
                    emulator,
                    loader: None,
                    machines: vec!["xenpvh".into()],
                },
            ],
            host_vmx: true,
            firmware_dir: FIRMWARE_DIR.into(),
        }
    }

    /// The first guest kind for `os_type`.
    pub fn guest(&self, os_type: &str) -> Option<&XenGuestCaps> {
        self.guests.iter().find(|g| g.os_type == os_type)
    }
}

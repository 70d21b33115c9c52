// SPDX-License-Identifier: LGPL-2.1-or-later
//! Tap devices for guest NICs: opened on `/dev/net/tun` (`TUNSETIFF` with
//! `IFF_TAP | IFF_NO_PI`, and `IFF_VNET_HDR` for virtio NICs), the
//! descriptor handed to the emulator. The device is not made persistent:
//! it vanishes when the last descriptor (the emulator's) is closed, so a
//! guest that stops, however it stops, leaves no tap behind.
//!
//! Host-side set-up (MAC, MTU, bridge, up) goes through the `ip` tool, as
//! the rest of [`crate::net`].

use crate::net::{ip_batch, link_exists, valid_ifname};
use crate::{Error, Result};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicU32, Ordering};

/// `TUNSETIFF` of <linux/if_tun.h> (`_IOW('T', 202, int)`).
const TUNSETIFF: libc::c_ulong = 0x4004_54ca;

/// `struct ifreq` as `TUNSETIFF` reads and writes it: the name, then the
/// flags, in a 40-byte request.
#[repr(C)]
struct IfReqFlags {
    name: [u8; libc::IFNAMSIZ],
    flags: libc::c_short,
    _pad: [u8; 22],
}

/// The number after the last generated tap name: names are handed out in
/// increasing order (vnet0, vnet1, ...) for the daemon's life, skipping
/// those in use, so a just-freed name is not reused at once.
static NEXT_TAP: AtomicU32 = AtomicU32::new(0);

/// A free name `PREFIXN` (`vnet`, `macvtap`) for a new device.
pub fn generate_name(prefix: &str) -> Result<String> {
    for _ in 0..100_000 {
        let n = NEXT_TAP.fetch_add(1, Ordering::Relaxed);
        let name = format!("{prefix}{n}");
        if !link_exists(&name) {
            return Ok(name);
        }
    }
    Err(Error::Invalid(format!(
        "no free name for a {prefix} device"
    )))
}

/// Creates (or attaches to an existing persistent) tap device `name` and
/// gives its descriptor; `vnet_hdr`: the emulator exchanges virtio-net
/// headers with it.
pub fn open_tap(name: &str, vnet_hdr: bool) -> Result<OwnedFd> {
    if !valid_ifname(name) {
        return Err(Error::Invalid(format!("invalid tap name '{name}'")));
    }
    let path = c"/dev/net/tun";
    // SAFETY: a valid NUL-terminated path; the result is checked.
    let raw = unsafe { libc::open(path.as_ptr(), libc::O_RDWR | libc::O_CLOEXEC) };
    if raw < 0 {
        return Err(Error::last(
            "Unable to open /dev/net/tun, is tun module loaded?",
        ));
    }
    // SAFETY: `raw` was just opened and is owned by nobody else.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    let mut flags = libc::IFF_TAP | libc::IFF_NO_PI;
    if vnet_hdr {
        flags |= libc::IFF_VNET_HDR;
    }
    let mut req = IfReqFlags {
        name: [0; libc::IFNAMSIZ],
        flags: libc::c_short::try_from(flags).unwrap_or(0),
        _pad: [0; 22],
    };
    // valid_ifname keeps the name shorter than IFNAMSIZ, so the NUL stays.
    for (d, s) in req.name.iter_mut().zip(name.bytes()) {
        *d = s;
    }
    // SAFETY: TUNSETIFF reads and writes a `struct ifreq`, which `req`
    // lays out (40 bytes) and which lives across the call.
    let r = unsafe {
        libc::ioctl(
            fd.as_raw_fd(),
            TUNSETIFF,
            &mut req as *mut IfReqFlags as *mut libc::c_void,
        )
    };
    if r < 0 {
        return Err(Error::last(format!("Unable to create tap device {name}")));
    }
    Ok(fd)
}

/// How the host end of a tap is set up once created.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TapSetup {
    /// Its MAC address (the guest's with the first byte 0xFE, so that a
    /// bridge never takes the guest's address as its own).
    pub mac: Option<[u8; 6]>,
    /// Its MTU; `None` with a bridge: the bridge's MTU.
    pub mtu: Option<u32>,
    /// The bridge it joins.
    pub bridge: Option<String>,
}

/// The host-side MAC of a tap for a guest NIC with MAC `guest`.
pub fn host_mac(guest: [u8; 6]) -> [u8; 6] {
    let mut m = guest;
    m[0] = 0xfe;
    m
}

/// The MTU of interface `name`, when it exists.
pub fn link_mtu(name: &str) -> Option<u32> {
    if !valid_ifname(name) {
        return None;
    }
    std::fs::read_to_string(format!("/sys/class/net/{name}/mtu"))
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// The `ip` commands that set tap `name` up as `setup` says, brought up last.
pub fn setup_commands(name: &str, setup: &TapSetup) -> Vec<String> {
    let mut cmds = Vec::new();
    if let Some(m) = setup.mac {
        cmds.push(format!(
            "link set {name} address {}",
            crate::net::format_mac(m)
        ));
    }
    let mtu = setup
        .mtu
        .or_else(|| setup.bridge.as_deref().and_then(link_mtu));
    if let Some(m) = mtu.filter(|m| *m > 0) {
        cmds.push(format!("link set {name} mtu {m}"));
    }
    if let Some(b) = &setup.bridge {
        cmds.push(format!("link set {name} master {b}"));
    }
    cmds.push(format!("link set {name} up"));
    cmds
}

/// Sets up the host end of tap `name` (which must exist: its descriptor
/// is open).
pub fn setup_tap(name: &str, setup: &TapSetup) -> Result<()> {
    if let Some(b) = &setup.bridge {
        if !valid_ifname(b) || !link_exists(b) {
            return Err(Error::Invalid(format!(
                "Cannot get interface MTU on '{b}': No such device"
            )));
        }
    }
    ip_batch(&setup_commands(name, setup), None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ifreq_has_the_kernels_size() {
        assert_eq!(std::mem::size_of::<IfReqFlags>(), 40);
    }

    #[test]
    fn setup_sets_mac_mtu_bridge_then_up() {
        let s = TapSetup {
            mac: Some(host_mac([0x52, 0x54, 0, 1, 2, 3])),
            mtu: Some(1400),
            bridge: Some("virbr7".into()),
        };
        assert_eq!(
            setup_commands("vnet3", &s),
            vec![
                "link set vnet3 address fe:54:00:01:02:03",
                "link set vnet3 mtu 1400",
                "link set vnet3 master virbr7",
                "link set vnet3 up",
            ]
        );
        assert_eq!(
            setup_commands("t0", &TapSetup::default()),
            vec!["link set t0 up"]
        );
    }

    #[test]
    fn bad_names_are_refused_before_any_syscall() {
        assert!(open_tap("a/b", false).is_err());
        assert!(open_tap("", true).is_err());
    }
}

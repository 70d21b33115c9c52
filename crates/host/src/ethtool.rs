// SPDX-License-Identifier: LGPL-2.1-or-later
//! ethtool queries of a network interface's offload features
//! (`SIOCETHTOOL` on a local datagram socket), the values libvirt reads to
//! list a `net` node device's `<feature>` elements.

use crate::{Error, Result};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// `SIOCETHTOOL` of <linux/sockios.h>.
const SIOCETHTOOL: libc::c_ulong = 0x8946;

/// Legacy getters of <linux/ethtool.h>, each answering one `u32`.
pub const GRXCSUM: u32 = 0x14;
pub const GTXCSUM: u32 = 0x16;
pub const GSG: u32 = 0x18;
pub const GTSO: u32 = 0x1e;
pub const GGSO: u32 = 0x23;
pub const GFLAGS: u32 = 0x25;
pub const GGRO: u32 = 0x2b;
/// `ETHTOOL_GFEATURES`: the feature words (available, requested, active,
/// never changed per 32 features).
const GFEATURES: u32 = 0x3a;

/// Bits of the `GFLAGS` answer.
pub const FLAG_TXVLAN: u32 = 1 << 7;
pub const FLAG_RXVLAN: u32 = 1 << 8;
pub const FLAG_LRO: u32 = 1 << 15;
pub const FLAG_NTUPLE: u32 = 1 << 27;
pub const FLAG_RXHASH: u32 = 1 << 28;

/// `struct ifreq` with the `ifr_data` member of its union.
#[repr(C)]
struct IfReq {
    name: [u8; libc::IFNAMSIZ],
    data: *mut libc::c_void,
    _pad: [u8; 16],
}

/// `struct ethtool_value`.
#[repr(C)]
struct EthtoolValue {
    cmd: u32,
    data: u32,
}

/// An open control socket for one interface.
pub struct Control {
    fd: OwnedFd,
    name: [u8; libc::IFNAMSIZ],
}

impl Control {
    /// A control socket for interface `ifname`.
    pub fn open(ifname: &str) -> Result<Control> {
        let bytes = ifname.as_bytes();
        if bytes.is_empty() || bytes.len() >= libc::IFNAMSIZ || bytes.contains(&0) {
            return Err(Error::Invalid(format!("invalid interface name '{ifname}'")));
        }
        let mut name = [0u8; libc::IFNAMSIZ];
        name[..bytes.len()].copy_from_slice(bytes);
        // SAFETY: socket(2) with constant arguments; the result is checked.
        let fd = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
        if fd < 0 {
            return Err(Error::last("cannot open control socket"));
        }
        // SAFETY: `fd` is a new descriptor nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Control { fd, name })
    }

    /// Sends one ethtool request whose buffer is `data`.
    fn ioctl(&self, data: *mut libc::c_void, what: &str) -> Result<()> {
        let mut req = IfReq {
            name: self.name,
            data,
            _pad: [0; 16],
        };
        // SAFETY: `req` is a properly laid out ifreq whose data pointer
        // refers to a live ethtool buffer of the size the command implies
        // (ensured by the callers); the kernel writes only inside it.
        let r = unsafe {
            libc::ioctl(
                self.fd.as_raw_fd(),
                SIOCETHTOOL,
                &mut req as *mut IfReq as *mut libc::c_void,
            )
        };
        if r != 0 {
            return Err(Error::last(format!("ethtool {what}")));
        }
        Ok(())
    }

    /// The answer of a legacy getter (`GRXCSUM`, `GFLAGS`, ...).
    pub fn value(&self, cmd: u32) -> Result<u32> {
        let mut v = EthtoolValue { cmd, data: 0 };
        self.ioctl(&mut v as *mut EthtoolValue as *mut libc::c_void, "get")?;
        Ok(v.data)
    }

    /// The `active` word of each of the first `blocks` feature blocks
    /// (`ETHTOOL_GFEATURES`).
    pub fn features_active(&self, blocks: usize) -> Result<Vec<u32>> {
        let blocks = blocks.clamp(1, 64);
        // Header (cmd, size) then 4 words per block.
        let mut buf = vec![0u32; 2 + 4 * blocks];
        buf[0] = GFEATURES;
        buf[1] = u32::try_from(blocks).unwrap_or(1);
        self.ioctl(buf.as_mut_ptr() as *mut libc::c_void, "gfeatures")?;
        Ok((0..blocks).map(|i| buf[2 + 4 * i + 2]).collect())
    }
}

// SPDX-License-Identifier: LGPL-2.1-or-later
//! A block device's geometry as the kernel reports it (HDIO_GETGEO), and
//! its cylinder count the way libparted derives it, which libvirt's disk
//! pools align partitions to.

use std::fs::File;
use std::io::{Seek, SeekFrom};
use std::os::fd::AsRawFd;
use std::path::Path;

use crate::{Error, Result};

/// HDIO_GETGEO.
const HDIO_GETGEO: libc::c_ulong = 0x0301;

/// struct hd_geometry of <linux/hdreg.h>.
#[repr(C)]
#[derive(Default)]
struct HdGeometry {
    heads: libc::c_uchar,
    sectors: libc::c_uchar,
    cylinders: libc::c_ushort,
    start: libc::c_ulong,
}

/// Cylinders, heads and sectors per track of a disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geometry {
    pub cylinders: u64,
    pub heads: u64,
    pub sectors: u64,
}

impl Geometry {
    /// Bytes per cylinder (512-byte sectors).
    pub fn cylinder_bytes(&self) -> u64 {
        self.heads * self.sectors * 512
    }

    /// Bytes in whole cylinders.
    pub fn bytes(&self) -> u64 {
        self.cylinders * self.cylinder_bytes()
    }
}

/// The geometry of the block device `path`: heads and sectors from the
/// kernel, cylinders from the device's size in 512-byte sectors (as
/// libparted computes them). A device the kernel gives no geometry (a
/// loop device) gets 255 heads of 2 sectors, what libparted reports for
/// such devices.
pub fn geometry(path: &Path) -> Result<Geometry> {
    let mut f =
        File::open(path).map_err(|e| Error::sys(format!("opening {}", path.display()), e))?;
    let size = f
        .seek(SeekFrom::End(0))
        .map_err(|e| Error::sys(format!("sizing {}", path.display()), e))?;
    let mut g = HdGeometry::default();
    // SAFETY: HDIO_GETGEO writes one struct hd_geometry to the pointer,
    // which points to a live, properly sized and aligned value; the fd is
    // open for the duration of the call.
    let r = unsafe { libc::ioctl(f.as_raw_fd(), HDIO_GETGEO, &mut g as *mut HdGeometry) };
    let (heads, sectors) = if r == 0 && g.heads > 0 && g.sectors > 0 {
        (u64::from(g.heads), u64::from(g.sectors))
    } else {
        (255, 2)
    };
    Ok(Geometry {
        cylinders: size / 512 / (heads * sectors),
        heads,
        sectors,
    })
}

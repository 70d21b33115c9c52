// SPDX-License-Identifier: LGPL-2.1-or-later
//! What a volume file is, read from its header as libvirt's probe does:
//! the image format, the virtual size and the backing file. Only the
//! formats a file pool meets in practice are recognised (qcow2, qcow,
//! qed, vmdk, vdi, vpc, iso); anything else is raw, its size the file's.
//!
//! Every read is bounded: a header is at most [`HEADER_MAX`] bytes and a
//! backing file name at most [`BACKING_MAX`]; a header that claims more,
//! or points outside what was read, is malformed, never trusted.

use std::io::Read;
use std::path::Path;

/// Bytes of a file's start the probe reads.
pub const HEADER_MAX: usize = 64 * 1024;
/// Longest backing file name accepted (libvirt's limit is the header's).
pub const BACKING_MAX: usize = 4096;

/// What the header says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Probe {
    /// libvirt's format name (`raw`, `qcow2`, ...).
    pub format: &'static str,
    /// The guest-visible size, when the header has one.
    pub capacity: Option<u64>,
    /// The backing file as written in the header.
    pub backing: Option<String>,
    /// The backing file's format, when the header names it.
    pub backing_format: Option<String>,
    /// The qcow2 compatibility level ("0.10" for version 2, "1.1" for 3).
    pub compat: Option<&'static str>,
    /// qcow2 incompatible/compatible features libvirt reports.
    pub features: Option<Vec<String>>,
    /// qcow2 cluster size in bytes.
    pub cluster_size: Option<u64>,
    /// A header that starts like a known format but does not hold
    /// together (the reason).
    pub malformed: Option<String>,
    /// A raw file holding a LUKS volume: the bytes before its data.
    pub luks_payload: Option<u64>,
    /// The encryption a qcow/qcow2 header declares (`qcow` for AES,
    /// `luks`), as libvirt's `<encryption format>`.
    pub encryption: Option<&'static str>,
}

fn be32(b: &[u8], off: usize) -> Option<u32> {
    b.get(off..off + 4)
        .map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

fn be64(b: &[u8], off: usize) -> Option<u64> {
    b.get(off..off + 8).map(|s| {
        let mut a = [0u8; 8];
        a.copy_from_slice(s);
        u64::from_be_bytes(a)
    })
}

fn le32(b: &[u8], off: usize) -> Option<u32> {
    b.get(off..off + 4)
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

fn le64(b: &[u8], off: usize) -> Option<u64> {
    b.get(off..off + 8).map(|s| {
        let mut a = [0u8; 8];
        a.copy_from_slice(s);
        u64::from_le_bytes(a)
    })
}

/// Reads at most [`HEADER_MAX`] bytes of `path`.
pub fn read_header(path: &Path) -> std::io::Result<Vec<u8>> {
    let f = std::fs::File::open(path)?;
    let mut buf = Vec::with_capacity(4096);
    f.take(HEADER_MAX as u64).read_to_end(&mut buf)?;
    Ok(buf)
}

/// Probes a header already read.
pub fn probe(h: &[u8]) -> Probe {
    // qcow's magic with a version libvirt knows (1, 2 or 3); any other
    // version is not qcow at all, as libvirt's probe sees it.
    if h.starts_with(b"QFI\xfb") && be32(h, 4).is_some_and(|v| (1..=3).contains(&v)) {
        return qcow(h);
    }
    if h.starts_with(b"QEMU DM\0") || h.starts_with(b"QED\0") {
        let mut p = Probe {
            format: "qed",
            capacity: le64(h, 24),
            ..Default::default()
        };
        let (off, len) = (le32(h, 56), le32(h, 60));
        if let (Some(off), Some(len)) = (off, len) {
            if len > 0 {
                p.backing = name_at(h, off as u64, len, &mut p.malformed);
            }
        }
        return p;
    }
    if h.starts_with(b"KDMV") {
        return Probe {
            format: "vmdk",
            capacity: le64(h, 12).map(|s| s.saturating_mul(512)),
            ..Default::default()
        };
    }
    if h.get(64..68) == Some(&b"\x7f\x10\xda\xbe"[..]) {
        return Probe {
            format: "vdi",
            capacity: le64(h, 368),
            ..Default::default()
        };
    }
    if h.starts_with(b"conectix") {
        return Probe {
            format: "vpc",
            capacity: be64(h, 48),
            ..Default::default()
        };
    }
    if h.get(0x8001..0x8006) == Some(&b"CD001"[..]) {
        return Probe {
            format: "iso",
            ..Default::default()
        };
    }
    Probe {
        format: "raw",
        luks_payload: luks_payload(h),
        ..Default::default()
    }
}

/// A LUKS (version 1) header's payload offset in bytes: where the
/// encrypted data starts, in 512-byte sectors at byte 104, big-endian.
fn luks_payload(h: &[u8]) -> Option<u64> {
    if !h.starts_with(b"LUKS\xba\xbe") || h.get(6..8) != Some(&[0, 1][..]) {
        return None;
    }
    be32(h, 104).map(|s| u64::from(s) * 512)
}

fn name_at(h: &[u8], off: u64, len: u32, bad: &mut Option<String>) -> Option<String> {
    let (Ok(off), Ok(len)) = (usize::try_from(off), usize::try_from(len)) else {
        *bad = Some("backing file name out of range".into());
        return None;
    };
    if len > BACKING_MAX {
        *bad = Some("backing file name too long".into());
        return None;
    }
    match off.checked_add(len).and_then(|end| h.get(off..end)) {
        Some(b) => Some(String::from_utf8_lossy(b).into_owned()),
        None => {
            *bad = Some("backing file name outside the header".into());
            None
        }
    }
}

/// qcow (version 1) and qcow2 (versions 2 and 3).
fn qcow(h: &[u8]) -> Probe {
    let version = be32(h, 4).unwrap_or(0);
    let mut p = Probe {
        format: if version == 1 { "qcow" } else { "qcow2" },
        ..Default::default()
    };
    // The header's crypt method: 1 is AES (qcow's own), 2 LUKS (qcow2).
    let crypt = be32(h, if version == 1 { 36 } else { 32 });
    p.encryption = match crypt {
        Some(1) => Some("qcow"),
        Some(2) if version != 1 => Some("luks"),
        _ => None,
    };
    if version == 1 {
        p.capacity = be64(h, 24);
        let (off, len) = (be64(h, 8), be32(h, 16));
        if let (Some(off), Some(len)) = (off, len) {
            if off != 0 && len > 0 {
                p.backing = name_at(h, off, len, &mut p.malformed);
            }
        }
        return p;
    }
    if !(2..=3).contains(&version) || h.len() < 72 {
        p.malformed = Some(format!("unsupported qcow2 version {version}"));
        return p;
    }
    p.capacity = be64(h, 24);
    p.cluster_size = be32(h, 20)
        .filter(|b| (9..=21).contains(b))
        .map(|b| 1u64 << b);
    // libvirt reports the level only for version 3 images.
    p.compat = (version == 3).then_some("1.1");
    let (off, len) = (be64(h, 8).unwrap_or(0), be32(h, 16).unwrap_or(0));
    if off != 0 && len > 0 {
        p.backing = name_at(h, off, len, &mut p.malformed);
    }
    if version == 3 {
        let hdr_len = be32(h, 100).unwrap_or(104) as usize;
        let incompatible = be64(h, 72).unwrap_or(0);
        let compatible = be64(h, 80).unwrap_or(0);
        let mut f = Vec::new();
        if compatible & 1 != 0 {
            f.push("lazy_refcounts".to_string());
        }
        if incompatible & (1 << 4) != 0 {
            f.push("extended_l2".to_string());
        }
        p.features = Some(f);
        // Header extensions: the backing format is one of them.
        let mut pos = hdr_len.max(72);
        let end = if off != 0 {
            usize::try_from(off).unwrap_or(usize::MAX)
        } else {
            h.len()
        };
        ext_backing_format(h, &mut pos, end, &mut p);
    } else {
        let mut pos = 72;
        let end = if off != 0 {
            usize::try_from(off).unwrap_or(usize::MAX)
        } else {
            h.len()
        };
        ext_backing_format(h, &mut pos, end, &mut p);
    }
    p
}

/// Walks qcow2 header extensions up to `end`, taking the backing format.
fn ext_backing_format(h: &[u8], pos: &mut usize, end: usize, p: &mut Probe) {
    const BACKING_FORMAT: u32 = 0xe279_2aca;
    let end = end.min(h.len());
    while *pos + 8 <= end {
        let (Some(kind), Some(len)) = (be32(h, *pos), be32(h, *pos + 4)) else {
            return;
        };
        if kind == 0 {
            return;
        }
        let start = *pos + 8;
        let len = len as usize;
        let Some(data) = start.checked_add(len).and_then(|e| h.get(start..e)) else {
            return;
        };
        if kind == BACKING_FORMAT {
            p.backing_format = Some(String::from_utf8_lossy(data).into_owned());
        }
        // Extensions are padded to 8 bytes.
        *pos = start + len.div_ceil(8) * 8;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_or_foreign_headers_are_raw() {
        assert_eq!(probe(b"").format, "raw");
        assert_eq!(probe(b"hello world").format, "raw");
    }

    #[test]
    fn qcow2_backing_name_outside_the_header_is_malformed() {
        let mut h = vec![0u8; 128];
        h[..4].copy_from_slice(b"QFI\xfb");
        h[4..8].copy_from_slice(&2u32.to_be_bytes());
        h[8..16].copy_from_slice(&100u64.to_be_bytes());
        h[16..20].copy_from_slice(&4000u32.to_be_bytes());
        let p = probe(&h);
        assert_eq!(p.format, "qcow2");
        assert!(p.backing.is_none());
        assert!(p.malformed.is_some());
    }
}

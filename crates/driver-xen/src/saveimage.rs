// SPDX-License-Identifier: LGPL-2.1-or-later
//! The save image layout of libvirt's libxl driver, so that images written
//! by either daemon restore in the other:
//!
//! | offset | size | content |
//! |---|---|---|
//! | 0 | 16 | magic `libvirt-xml\n \0 \r` |
//! | 16 | 4 | version, native endian (2: the libxl stream is a v2 stream) |
//! | 20 | 4 | XML length in bytes, including its terminating NUL |
//! | 24 | 40 | zero |
//! | 64 | XML length | the domain XML, NUL-terminated |
//!
//! libxl's own save stream (`libxl_domain_suspend`) follows the XML.
//! Pure code: no libxl, usable in tests on any host.

use driver::error::{ErrorCode, ErrorDomain};
use driver::{Error, Result};
use std::io::Read;

/// The image's first 16 bytes.
pub const MAGIC: &[u8; 16] = b"libvirt-xml\n \0 \r";
/// The version written (libxl stream format v2).
pub const VERSION: u32 = 2;
/// Size of the fixed header.
pub const HEADER_LEN: usize = 64;
/// Largest XML accepted from an image (checked before allocating).
pub const MAX_XML_LEN: u32 = 16 * 1024 * 1024;

fn failed(msg: impl Into<String>) -> Error {
    Error::new(ErrorCode::OperationFailed, ErrorDomain::Libxl, msg)
}

/// The header and XML that start an image for `xml`.
pub fn encode(xml: &str) -> Result<Vec<u8>> {
    let len = u32::try_from(xml.len() + 1)
        .ok()
        .filter(|l| *l <= MAX_XML_LEN)
        .ok_or_else(|| failed("domain XML too large for a save image"))?;
    let mut out = Vec::with_capacity(HEADER_LEN + xml.len() + 1);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_ne_bytes());
    out.extend_from_slice(&len.to_ne_bytes());
    out.resize(HEADER_LEN, 0);
    out.extend_from_slice(xml.as_bytes());
    out.push(0);
    Ok(out)
}

/// Reads the header and the XML from `r`, leaving `r` at the start of
/// libxl's stream. Returns the XML and the image version.
pub fn decode(r: &mut impl Read) -> Result<(String, u32)> {
    let mut hdr = [0u8; HEADER_LEN];
    r.read_exact(&mut hdr)
        .map_err(|_| failed("failed to read libxl header"))?;
    if &hdr[..16] != MAGIC {
        return Err(Error::invalid_arg(
            ErrorDomain::Libxl,
            "image magic is incorrect",
        ));
    }
    let word = |at: usize| {
        let mut b = [0u8; 4];
        b.copy_from_slice(&hdr[at..at + 4]);
        u32::from_ne_bytes(b)
    };
    let version = word(16);
    if version > VERSION {
        return Err(failed(format!(
            "image version is not supported ({version} > {VERSION})"
        )));
    }
    let len = word(20);
    if len == 0 || len > MAX_XML_LEN {
        return Err(failed(format!("invalid XML length: {len}")));
    }
    let mut xml = vec![0u8; usize::try_from(len).map_err(|_| failed("invalid XML length"))?];
    r.read_exact(&mut xml)
        .map_err(|_| failed("failed to read XML"))?;
    while xml.last() == Some(&0) {
        xml.pop();
    }
    let xml = String::from_utf8(xml).map_err(|_| failed("failed to read XML"))?;
    Ok((xml, version))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_round_trip_leaves_reader_at_stream() {
        let mut img = encode("<domain type='xen'/>").unwrap();
        assert_eq!(&img[..16], MAGIC);
        assert_eq!(img.len(), HEADER_LEN + 21);
        img.extend_from_slice(b"STREAM");
        let mut r = &img[..];
        let (xml, v) = decode(&mut r).unwrap();
        assert_eq!(xml, "<domain type='xen'/>");
        assert_eq!(v, 2);
        assert_eq!(r, b"STREAM");
    }

    #[test]
    fn wrong_magic_is_invalid_arg() {
        let mut img = encode("<d/>").unwrap();
        img[0] = b'X';
        let e = decode(&mut &img[..]).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidArg);
        assert!(e.message().contains("image magic is incorrect"));
    }

    #[test]
    fn newer_version_and_huge_length_are_refused_before_allocating() {
        let mut img = encode("<d/>").unwrap();
        img[16..20].copy_from_slice(&3u32.to_ne_bytes());
        let e = decode(&mut &img[..]).unwrap_err();
        assert!(e
            .message()
            .contains("image version is not supported (3 > 2)"));
        let mut img = encode("<d/>").unwrap();
        img[20..24].copy_from_slice(&u32::MAX.to_ne_bytes());
        let e = decode(&mut &img[..]).unwrap_err();
        assert!(e.message().contains("invalid XML length"));
    }

    #[test]
    fn truncated_images_fail_cleanly() {
        let img = encode("<domain/>").unwrap();
        for cut in [0, 10, HEADER_LEN, HEADER_LEN + 3] {
            assert!(decode(&mut &img[..cut]).is_err(), "cut at {cut}");
        }
    }
}

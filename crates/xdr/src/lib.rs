// SPDX-License-Identifier: LGPL-2.1-or-later
//! XDR (RFC 4506) encoding and decoding as the libvirt wire protocol uses it.
//!
//! Role: turn typed values into bytes and back. No I/O, no knowledge of
//! libvirt programs or procedures (that lives in `protocol`).
//!
//! Invariants:
//! - decoding never panics and never allocates more than the input can back:
//!   every variable-length count is checked against its declared bound and
//!   against the bytes left in the buffer *before* any allocation;
//! - encoding is infallible and always produces 4-byte aligned output;
//! - decoding accepts what libvirt's C side (glibc / libtirpc XDR) accepts,
//!   since clients are written against it: any non-zero word is a true
//!   boolean or a present optional value, padding bytes must be there but
//!   are not looked at, `char` / `short` keep their low bits, and a call's
//!   arguments are read with [`from_prefix`] (bytes after them ignored).
#![forbid(unsafe_code)]

mod codec;
mod macros;

pub use codec::{put_padded, CharArray, Decoder, Opaque, Xdr, XdrError, DEFAULT_STRING_MAX};

/// Serialise a value into a fresh buffer.
pub fn to_bytes<T: Xdr>(value: &T) -> Vec<u8> {
    // Most messages are small: one allocation instead of growing 8, 16,
    // 32, 64 bytes at a time.
    let mut out = Vec::with_capacity(128);
    value.encode(&mut out);
    out
}

/// Decode a value that must consume the whole buffer.
pub fn from_bytes<T: Xdr>(buf: &[u8]) -> Result<T, XdrError> {
    let mut d = Decoder::new(buf);
    let v = T::decode(&mut d)?;
    d.finish()?;
    Ok(v)
}

/// Decode a value from the start of `buf`, ignoring any bytes after it, as
/// libvirt's C side decodes a message payload (it never checks that the
/// payload was used up).
pub fn from_prefix<T: Xdr>(buf: &[u8]) -> Result<T, XdrError> {
    T::decode(&mut Decoder::new(buf))
}

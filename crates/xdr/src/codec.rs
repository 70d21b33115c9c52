// SPDX-License-Identifier: LGPL-2.1-or-later
//! The `Xdr` trait and its implementations for primitive types.

use thiserror::Error;

/// Why a buffer could not be decoded.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum XdrError {
    #[error("unexpected end of data: needed {needed} bytes at offset {offset}")]
    Truncated { offset: usize, needed: usize },
    #[error("length {len} exceeds the limit of {max}")]
    TooLong { len: usize, max: usize },
    #[error("invalid discriminant {0}")]
    BadDiscriminant(i32),
    #[error("string is not valid UTF-8")]
    BadUtf8,
    #[error("{0} trailing bytes after the message")]
    Trailing(usize),
}

/// A cursor over an input buffer.
pub struct Decoder<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Decoder<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Decoder { buf, pos: 0 }
    }

    /// Bytes not consumed yet.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub fn position(&self) -> usize {
        self.pos
    }

    /// Fail unless every byte has been consumed.
    pub fn finish(&self) -> Result<(), XdrError> {
        match self.remaining() {
            0 => Ok(()),
            n => Err(XdrError::Trailing(n)),
        }
    }

    /// Take `n` raw bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], XdrError> {
        if n > self.remaining() {
            return Err(XdrError::Truncated {
                offset: self.pos,
                needed: n,
            });
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn word(&mut self) -> Result<[u8; 4], XdrError> {
        let s = self.take(4)?;
        Ok([s[0], s[1], s[2], s[3]])
    }

    pub fn u32(&mut self) -> Result<u32, XdrError> {
        Ok(u32::from_be_bytes(self.word()?))
    }

    pub fn i32(&mut self) -> Result<i32, XdrError> {
        Ok(i32::from_be_bytes(self.word()?))
    }

    /// Read a count and check it against `max` and against what the rest of
    /// the buffer could hold at `min_item` bytes per item.
    pub fn count(&mut self, max: usize, min_item: usize) -> Result<usize, XdrError> {
        let n = self.u32()? as usize;
        if n > max {
            return Err(XdrError::TooLong { len: n, max });
        }
        let room = self.remaining() / min_item.max(1);
        if n > room {
            return Err(XdrError::Truncated {
                offset: self.pos,
                needed: n.saturating_mul(min_item),
            });
        }
        Ok(n)
    }

    /// Take `len` bytes of opaque data followed by its padding. The padding
    /// must be present but, as in C's `xdr_opaque`, its contents are not
    /// looked at: encoders that leave garbage there still get through.
    pub fn padded(&mut self, len: usize) -> Result<&'a [u8], XdrError> {
        let data = self.take(len)?;
        let pad = (4 - len % 4) % 4;
        self.take(pad)?;
        Ok(data)
    }
}

/// Append `bytes` and zero padding up to a multiple of four.
pub fn put_padded(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(bytes);
    let pad = (4 - bytes.len() % 4) % 4;
    out.extend_from_slice(&[0u8; 3][..pad]);
}

/// A type with an XDR representation.
pub trait Xdr: Sized {
    /// The fewest bytes one value can occupy on the wire; used to reject a
    /// count the remaining input cannot possibly back.
    const MIN_SIZE: usize = 4;

    fn encode(&self, out: &mut Vec<u8>);
    fn decode(d: &mut Decoder<'_>) -> Result<Self, XdrError>;

    /// Decode a variable-length value whose length must not exceed `max`
    /// (strings, opaque data, arrays). Fixed-size types ignore the bound.
    fn decode_bounded(d: &mut Decoder<'_>, _max: usize) -> Result<Self, XdrError> {
        Self::decode(d)
    }
}

/// Strings without a declared bound still may not exceed libvirt's
/// VIR_NET_MESSAGE_STRING_MAX.
pub const DEFAULT_STRING_MAX: usize = 4_194_304;

impl Xdr for u32 {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_be_bytes());
    }
    fn decode(d: &mut Decoder<'_>) -> Result<Self, XdrError> {
        d.u32()
    }
}

impl Xdr for i32 {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_be_bytes());
    }
    fn decode(d: &mut Decoder<'_>) -> Result<Self, XdrError> {
        d.i32()
    }
}

/// XDR `unsigned char` and `unsigned short` occupy a full word. Decoding
/// keeps the low-order bits, as C's `xdr_u_char` / `xdr_u_short` do.
impl Xdr for u8 {
    fn encode(&self, out: &mut Vec<u8>) {
        u32::from(*self).encode(out);
    }
    fn decode(d: &mut Decoder<'_>) -> Result<Self, XdrError> {
        Ok(d.word()?[3])
    }
}

impl Xdr for u16 {
    fn encode(&self, out: &mut Vec<u8>) {
        u32::from(*self).encode(out);
    }
    fn decode(d: &mut Decoder<'_>) -> Result<Self, XdrError> {
        let w = d.word()?;
        Ok(u16::from_be_bytes([w[2], w[3]]))
    }
}

/// XDR `char` is a signed value in a full word; decoding keeps the low byte,
/// as C's `xdr_char` does.
impl Xdr for i8 {
    fn encode(&self, out: &mut Vec<u8>) {
        i32::from(*self).encode(out);
    }
    fn decode(d: &mut Decoder<'_>) -> Result<Self, XdrError> {
        Ok(i8::from_be_bytes([d.word()?[3]]))
    }
}

impl Xdr for u64 {
    const MIN_SIZE: usize = 8;
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_be_bytes());
    }
    fn decode(d: &mut Decoder<'_>) -> Result<Self, XdrError> {
        let s = d.take(8)?;
        let mut b = [0u8; 8];
        b.copy_from_slice(s);
        Ok(u64::from_be_bytes(b))
    }
}

impl Xdr for i64 {
    const MIN_SIZE: usize = 8;
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_be_bytes());
    }
    fn decode(d: &mut Decoder<'_>) -> Result<Self, XdrError> {
        Ok(u64::decode(d)? as i64)
    }
}

impl Xdr for f64 {
    const MIN_SIZE: usize = 8;
    fn encode(&self, out: &mut Vec<u8>) {
        self.to_bits().encode(out);
    }
    fn decode(d: &mut Decoder<'_>) -> Result<Self, XdrError> {
        Ok(f64::from_bits(u64::decode(d)?))
    }
}

/// XDR `bool`, also the marker of optional data. Encoded as 0 or 1; any
/// non-zero word decodes as true, as C's `xdr_bool` does (go-libvirt, for
/// one, sends `01 00 00 00`).
impl Xdr for bool {
    fn encode(&self, out: &mut Vec<u8>) {
        u32::from(*self).encode(out);
    }
    fn decode(d: &mut Decoder<'_>) -> Result<Self, XdrError> {
        Ok(d.u32()? != 0)
    }
}

impl Xdr for String {
    fn encode(&self, out: &mut Vec<u8>) {
        // Lengths above u32 cannot occur: messages are capped far lower.
        (self.len() as u32).encode(out);
        put_padded(out, self.as_bytes());
    }
    fn decode(d: &mut Decoder<'_>) -> Result<Self, XdrError> {
        Self::decode_bounded(d, DEFAULT_STRING_MAX)
    }
    fn decode_bounded(d: &mut Decoder<'_>, max: usize) -> Result<Self, XdrError> {
        let n = d.count(max, 1)?;
        let bytes = d.padded(n)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| XdrError::BadUtf8)
    }
}

/// Variable-length opaque data (`opaque x<N>`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Opaque(pub Vec<u8>);

impl Xdr for Opaque {
    fn encode(&self, out: &mut Vec<u8>) {
        (self.0.len() as u32).encode(out);
        put_padded(out, &self.0);
    }
    fn decode(d: &mut Decoder<'_>) -> Result<Self, XdrError> {
        Self::decode_bounded(d, DEFAULT_STRING_MAX)
    }
    fn decode_bounded(d: &mut Decoder<'_>, max: usize) -> Result<Self, XdrError> {
        let n = d.count(max, 1)?;
        Ok(Opaque(d.padded(n)?.to_vec()))
    }
}

/// Fixed-length opaque data (`opaque x[N]`), such as UUIDs.
impl<const N: usize> Xdr for [u8; N] {
    const MIN_SIZE: usize = N.div_ceil(4) * 4;
    fn encode(&self, out: &mut Vec<u8>) {
        put_padded(out, self);
    }
    fn decode(d: &mut Decoder<'_>) -> Result<Self, XdrError> {
        let s = d.padded(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }
}

/// Fixed-length `char x[N]`: each element is a full word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CharArray<const N: usize>(pub [i8; N]);

impl<const N: usize> Default for CharArray<N> {
    fn default() -> Self {
        CharArray([0; N])
    }
}

impl<const N: usize> CharArray<N> {
    /// Build from a string, truncated so a terminating NUL always fits.
    pub fn from_str_lossy(s: &str) -> Self {
        let mut a = [0i8; N];
        for (slot, b) in a.iter_mut().zip(s.bytes().take(N.saturating_sub(1))) {
            *slot = b as i8;
        }
        CharArray(a)
    }
}

impl<const N: usize> Xdr for CharArray<N> {
    const MIN_SIZE: usize = 4 * N;
    fn encode(&self, out: &mut Vec<u8>) {
        for c in &self.0 {
            c.encode(out);
        }
    }
    fn decode(d: &mut Decoder<'_>) -> Result<Self, XdrError> {
        let mut a = [0i8; N];
        for slot in a.iter_mut() {
            *slot = i8::decode(d)?;
        }
        Ok(CharArray(a))
    }
}

/// Optional data (`T *x`): a boolean then the value when present.
impl<T: Xdr> Xdr for Option<T> {
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            None => 0u32.encode(out),
            Some(v) => {
                1u32.encode(out);
                v.encode(out);
            }
        }
    }
    fn decode(d: &mut Decoder<'_>) -> Result<Self, XdrError> {
        if bool::decode(d)? {
            Ok(Some(T::decode(d)?))
        } else {
            Ok(None)
        }
    }
    fn decode_bounded(d: &mut Decoder<'_>, max: usize) -> Result<Self, XdrError> {
        if bool::decode(d)? {
            Ok(Some(T::decode_bounded(d, max)?))
        } else {
            Ok(None)
        }
    }
}

/// Variable-length arrays (`T x<N>`).
impl<T: Xdr> Xdr for Vec<T> {
    fn encode(&self, out: &mut Vec<u8>) {
        (self.len() as u32).encode(out);
        for v in self {
            v.encode(out);
        }
    }
    fn decode(d: &mut Decoder<'_>) -> Result<Self, XdrError> {
        Self::decode_bounded(d, u32::MAX as usize)
    }
    fn decode_bounded(d: &mut Decoder<'_>, max: usize) -> Result<Self, XdrError> {
        let n = d.count(max, T::MIN_SIZE)?;
        let mut v = Vec::with_capacity(n);
        for _ in 0..n {
            v.push(T::decode(d)?);
        }
        Ok(v)
    }
}

/// The empty argument or reply.
impl Xdr for () {
    const MIN_SIZE: usize = 0;
    fn encode(&self, _out: &mut Vec<u8>) {}
    fn decode(_d: &mut Decoder<'_>) -> Result<Self, XdrError> {
        Ok(())
    }
}

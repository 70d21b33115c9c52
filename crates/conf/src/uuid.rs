// SPDX-License-Identifier: LGPL-2.1-or-later
//! 128-bit UUIDs as libvirt reads and writes them.
//!
//! Parsing follows libvirt's lenient rule: 32 hex digits, with any number
//! of dashes between byte pairs (and surrounding blanks) ignored.

use crate::error::{ConfError, INTERNAL_ERROR};
use std::fmt;

/// A UUID, stored as raw bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Uuid(pub [u8; 16]);

impl Uuid {
    /// Parses 32 hex digits; dashes between digit pairs are skipped.
    pub fn parse(s: &str) -> Option<Uuid> {
        let s = s.trim_matches(|c: char| c == ' ' || c == '\t' || c == '\n' || c == '\r');
        let bytes = s.as_bytes();
        let mut out = [0u8; 16];
        let mut i = 0;
        let mut n = 0;
        while n < 16 {
            while i < bytes.len() && bytes[i] == b'-' {
                i += 1;
            }
            if i + 1 >= bytes.len() {
                return None;
            }
            let hi = hex(bytes[i])?;
            let lo = hex(bytes[i + 1])?;
            out[n] = (hi << 4) | lo;
            n += 1;
            i += 2;
        }
        if bytes[i..]
            .iter()
            .any(|&b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        {
            return None;
        }
        Some(Uuid(out))
    }

    /// A random (version 4) UUID.
    pub fn generate() -> Result<Uuid, ConfError> {
        let mut b = [0u8; 16];
        getrandom::getrandom(&mut b)
            .map_err(|e| ConfError::new(INTERNAL_ERROR, format!("Failed to generate UUID: {e}")))?;
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        Ok(Uuid(b))
    }

    /// True when every byte is the same, which libvirt treats as not random.
    pub fn is_all_zero(&self) -> bool {
        self.0.iter().all(|&b| b == 0)
    }
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

impl fmt::Display for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = &self.0;
        for (i, byte) in b.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for Uuid {
    type Err = ConfError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse(s).ok_or_else(|| ConfError::xml("malformed uuid element"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_dashed_and_plain_agree() {
        let a = Uuid::parse("c7a5fdbd-edaf-9455-926a-d65c16db1809").unwrap();
        let b = Uuid::parse("c7a5fdbdedaf9455926ad65c16db1809").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.to_string(), "c7a5fdbd-edaf-9455-926a-d65c16db1809");
    }

    #[test]
    fn parse_rejects_short_and_trailing_garbage() {
        assert!(Uuid::parse("c7a5fdbd-edaf-9455-926a-d65c16db180").is_none());
        assert!(Uuid::parse("c7a5fdbd-edaf-9455-926a-d65c16db1809x").is_none());
        assert!(Uuid::parse("").is_none());
        assert!(Uuid::parse("zz").is_none());
    }

    #[test]
    fn generated_is_v4() {
        let u = Uuid::generate().unwrap();
        assert_eq!(u.0[6] >> 4, 4);
        assert_ne!(u, Uuid::generate().unwrap());
    }
}

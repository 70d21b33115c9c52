// SPDX-License-Identifier: LGPL-2.1-or-later
//! Shared value parsers: scaled integers with units, CPU bitmaps, booleans.

use crate::error::{ConfError, INVALID_ARG, XML_ERROR};

/// Overflow error code (VIR_ERR_OVERFLOW).
pub const OVERFLOW: crate::error::ErrorCode = crate::error::ErrorCode::Overflow;

/// Multiplier for a unit suffix as libvirt's `virScaleInteger` reads it;
/// `default_scale` applies when no unit is given.
pub fn unit_scale(unit: Option<&str>, default_scale: u64) -> Result<u64, ConfError> {
    let u = match unit {
        None | Some("") => return Ok(default_scale),
        Some(u) => u,
    };
    let lower = u.to_ascii_lowercase();
    if lower == "b" || lower == "byte" || lower == "bytes" {
        return Ok(1);
    }
    let b = lower.as_bytes();
    let base: u64 = if b.len() == 1 || (b.len() == 3 && b[1] == b'i' && b[2] == b'b') {
        1024
    } else if b.len() == 2 && b[1] == b'b' {
        1000
    } else {
        return Err(ConfError::new(INVALID_ARG, format!("unknown suffix '{u}'")));
    };
    let pow = match b[0] {
        b'k' => 1,
        b'm' => 2,
        b'g' => 3,
        b't' => 4,
        b'p' => 5,
        b'e' => 6,
        _ => return Err(ConfError::new(INVALID_ARG, format!("unknown suffix '{u}'"))),
    };
    Ok(base.pow(pow))
}

/// Parses an unsigned decimal the way libvirt's strtoull wrappers do
/// (no sign, no trailing garbage).
pub fn parse_u64(s: &str) -> Option<u64> {
    let s = s.trim();
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Value with unit converted to bytes, bounded by `max_bytes`.
pub fn scaled_bytes(
    value: &str,
    unit: Option<&str>,
    default_scale: u64,
    what: &str,
) -> Result<u64, ConfError> {
    let n = parse_u64(value).ok_or_else(|| {
        ConfError::new(
            XML_ERROR,
            format!("Invalid value '{value}' for element or attribute '{what}'"),
        )
    })?;
    let scale = unit_scale(unit, default_scale)?;
    n.checked_mul(scale)
        .ok_or_else(|| ConfError::new(OVERFLOW, "value too large".to_string()))
}

/// A CPU/vcpu set as libvirt's bitmap parser reads it: comma separated
/// ranges `a-b`, single ids, and `^n` exclusions.
pub fn parse_bitmap(s: &str, limit: usize) -> Option<Vec<usize>> {
    let mut set: Vec<bool> = Vec::new();
    let mut any = false;
    for part in s.split(',') {
        let part = part.trim();
        if part.is_empty() {
            return None;
        }
        if let Some(neg) = part.strip_prefix('^') {
            let n: usize = parse_u64(neg)?.try_into().ok()?;
            if n < set.len() {
                set[n] = false;
            }
            continue;
        }
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (parse_u64(a)?, parse_u64(b)?),
            None => {
                let v = parse_u64(part)?;
                (v, v)
            }
        };
        if a > b {
            return None;
        }
        let a: usize = a.try_into().ok()?;
        let b: usize = b.try_into().ok()?;
        if b >= limit {
            return None;
        }
        if set.len() <= b {
            set.resize(b + 1, false);
        }
        for x in set.iter_mut().take(b + 1).skip(a) {
            *x = true;
        }
        any = true;
    }
    if !any {
        return None;
    }
    Some(
        set.iter()
            .enumerate()
            .filter(|(_, &v)| v)
            .map(|(i, _)| i)
            .collect(),
    )
}

/// Formats a sorted id list as libvirt's `virBitmapFormat` does.
pub fn format_bitmap(ids: &[usize]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < ids.len() {
        let start = ids[i];
        let mut end = start;
        while i + 1 < ids.len() && ids[i + 1] == end + 1 {
            i += 1;
            end = ids[i];
        }
        if !out.is_empty() {
            out.push(',');
        }
        if start == end {
            out.push_str(&start.to_string());
        } else {
            out.push_str(&format!("{start}-{end}"));
        }
        i += 1;
    }
    out
}

/// Largest CPU id accepted in a bitmap.
pub const BITMAP_LIMIT: usize = 1 << 16;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bitmap_round_trip_with_exclusion() {
        let v = parse_bitmap("1-3,^1", BITMAP_LIMIT).unwrap();
        assert_eq!(v, vec![2, 3]);
        assert_eq!(format_bitmap(&v), "2-3");
        assert_eq!(format_bitmap(&[0, 2, 3, 4, 7]), "0,2-4,7");
        assert!(parse_bitmap("3-1", BITMAP_LIMIT).is_none());
        assert!(parse_bitmap("", BITMAP_LIMIT).is_none());
    }

    #[test]
    fn units_scale_like_libvirt() {
        assert_eq!(unit_scale(Some("MiB"), 1024).unwrap(), 1 << 20);
        assert_eq!(unit_scale(Some("MB"), 1024).unwrap(), 1_000_000);
        assert_eq!(unit_scale(Some("bytes"), 1024).unwrap(), 1);
        assert_eq!(unit_scale(None, 1024).unwrap(), 1024);
        assert!(unit_scale(Some("furlong"), 1).is_err());
    }
}

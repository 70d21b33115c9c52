// SPDX-License-Identifier: LGPL-2.1-or-later
//! PCI Vital Product Data (the device's `vpd` file in sysfs), read as
//! libvirt reads it: the identifier string, the read-only (VPD-R) and
//! read-write (VPD-W) keyword sections, checked against the VPD-R
//! checksum; the whole is dropped when it is malformed.

use conf::nodedev::{Vpd, VpdRo, VpdRw};

/// The VPD address space.
const ADDR_MASK: usize = 0x7fff;
const LARGE: u8 = 0x80;
const TAG_STRING: u8 = LARGE | 0x02;
const TAG_RO: u8 = LARGE | 0x10;
const TAG_RW: u8 = LARGE | 0x11;
const TAG_END: u8 = 0x0f;

/// How a keyword's value is stored (PCI's VPD definitions).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Text,
    Binary,
    /// RV: checksum and reserved bytes.
    Resvd,
    /// RW: the remaining read-write area.
    Rdwr,
    Unknown,
}

fn upper_or_digit(c: u8) -> bool {
    c.is_ascii_uppercase() || c.is_ascii_digit()
}

fn format_of(k: &[u8; 2]) -> Format {
    if !(upper_or_digit(k[0]) && upper_or_digit(k[1])) {
        return Format::Unknown;
    }
    match k {
        b"CP" => Format::Binary,
        b"EC" | b"MN" | b"PN" | b"SN" | b"YA" => Format::Text,
        b"RV" => Format::Resvd,
        b"RW" => Format::Rdwr,
        [b'V', _] | [b'Y', _] => Format::Text,
        _ => Format::Unknown,
    }
}

/// Printable ASCII only (an empty value is valid).
fn valid_text(s: &str) -> bool {
    s.bytes().all(|b| (0x20..0x7f).contains(&b))
}

fn upsert(v: &mut Vec<(char, String)>, idx: u8, value: String) {
    let c = char::from(idx);
    match v.iter_mut().find(|(i, _)| *i == c) {
        Some(f) => f.1 = value,
        None => v.push((c, value)),
    }
}

struct Reader<'a> {
    data: &'a [u8],
    csum: u8,
}

impl Reader<'_> {
    /// `n` bytes at `at`, added to the checksum; `None` past the end.
    fn read(&mut self, at: usize, n: usize) -> Option<&[u8]> {
        let b = self.data.get(at..at.checked_add(n)?)?;
        for x in b {
            self.csum = self.csum.wrapping_add(*x);
        }
        Some(b)
    }
}

fn fields(r: &mut Reader, pos: usize, len: usize, ro: bool, vpd: &mut Vpd) -> Option<()> {
    let end = pos + len;
    let mut at = pos;
    let mut has_checksum = false;
    let mut has_rw = false;
    while at + 3 <= end {
        let h = r.read(at, 3)?;
        let key = [h[0], h[1]];
        let flen = usize::from(h[2]);
        at += 3;
        let fmt = format_of(&key);
        if (!ro && fmt == Format::Resvd) || (ro && fmt == Format::Rdwr) {
            return None;
        }
        if end < at + flen {
            return None;
        }
        let want = if fmt == Format::Resvd { 1 } else { flen };
        let bytes = r.read(at, want)?.to_vec();
        at += flen;
        let value = match fmt {
            Format::Text => {
                let v = String::from_utf8_lossy(&bytes).trim().to_string();
                if !valid_text(&v) {
                    continue;
                }
                v
            }
            Format::Resvd => {
                if r.csum != 0 {
                    return None;
                }
                has_checksum = true;
                break;
            }
            Format::Rdwr => {
                has_rw = true;
                break;
            }
            Format::Unknown => continue,
            Format::Binary => String::from_utf8_lossy(&bytes).into_owned(),
        };
        if ro {
            let s = vpd.ro.get_or_insert_with(VpdRo::default);
            match &key {
                b"EC" => s.change_level = Some(value),
                b"MN" => s.manufacture_id = Some(value),
                b"PN" => s.part_number = Some(value),
                b"SN" => s.serial_number = Some(value),
                [b'V', i] => upsert(&mut s.vendor, *i, value),
                _ => {}
            }
        } else {
            let s = vpd.rw.get_or_insert_with(VpdRw::default);
            match &key {
                b"YA" => s.asset_tag = Some(value),
                [b'V', i] => upsert(&mut s.vendor, *i, value),
                [b'Y', i] => upsert(&mut s.system, *i, value),
                _ => {}
            }
        }
    }
    let end_reached = at >= end;
    if ro && !(has_checksum && end_reached) {
        return None;
    }
    if !ro && !end_reached {
        let _ = has_rw;
        return None;
    }
    Some(())
}

/// Parses VPD bytes; `None` when they are not well-formed VPD with a
/// read-only section and an end tag.
pub fn parse(data: &[u8]) -> Option<Vpd> {
    let mut r = Reader { data, csum: 0 };
    let mut vpd = Vpd::default();
    let mut pos = 0usize;
    let mut has_ro = false;
    let mut ended = false;
    while pos <= ADDR_MASK {
        let Some(t) = r.read(pos, 1).map(|b| b[0]) else {
            break;
        };
        let (tag, len) = if t & LARGE != 0 {
            if pos > ADDR_MASK + 1 - 3 {
                break;
            }
            let Some(h) = r.read(pos + 1, 2) else { break };
            let len = usize::from(h[0]) | (usize::from(h[1]) << 8);
            pos += 3;
            (t, len)
        } else {
            pos += 1;
            (t >> 3, usize::from(t & 7))
        };
        if tag == TAG_END {
            ended = true;
            break;
        }
        if len > ADDR_MASK + 1 - pos {
            break;
        }
        match tag {
            TAG_STRING => {
                let b = r.read(pos, len)?.to_vec();
                let name = String::from_utf8_lossy(&b).trim().to_string();
                if !valid_text(&name) {
                    return None;
                }
                vpd.name = name;
            }
            TAG_RO => {
                fields(&mut r, pos, len, true, &mut vpd)?;
                has_ro = true;
            }
            TAG_RW => fields(&mut r, pos, len, false, &mut vpd)?,
            _ => {}
        }
        pos += len;
    }
    (has_ro && ended).then_some(vpd)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A VPD image: identifier, VPD-R with a correct RV checksum, VPD-W.
    fn image() -> Vec<u8> {
        let mut v = vec![TAG_STRING, 9, 0];
        v.extend_from_slice(b"Test Card");
        let mut ro = Vec::new();
        for (k, val) in [
            ("PN", "PN-1"),
            ("SN", " S123 "),
            ("V0", "vendor0"),
            ("EC", "A1"),
        ] {
            ro.extend_from_slice(k.as_bytes());
            ro.push(val.len() as u8);
            ro.extend_from_slice(val.as_bytes());
        }
        ro.extend_from_slice(b"RV");
        ro.push(1);
        let ro_len = ro.len() + 1;
        v.push(TAG_RO);
        v.extend_from_slice(&(ro_len as u16).to_le_bytes());
        v.extend_from_slice(&ro);
        let sum = v.iter().fold(0u8, |a, b| a.wrapping_add(*b));
        v.push(0u8.wrapping_sub(sum));
        let mut rw = Vec::new();
        for (k, val) in [("YA", "asset"), ("Y1", "sys1"), ("V2", "v2")] {
            rw.extend_from_slice(k.as_bytes());
            rw.push(val.len() as u8);
            rw.extend_from_slice(val.as_bytes());
        }
        rw.extend_from_slice(b"RW");
        rw.push(2);
        rw.extend_from_slice(&[0, 0]);
        v.push(TAG_RW);
        v.extend_from_slice(&(rw.len() as u16).to_le_bytes());
        v.extend_from_slice(&rw);
        v.push(TAG_END << 3);
        v
    }

    #[test]
    fn a_well_formed_image_gives_every_field() {
        let vpd = parse(&image()).unwrap_or_else(|| panic!("not parsed"));
        assert_eq!(vpd.name, "Test Card");
        let ro = vpd.ro.unwrap_or_default();
        assert_eq!(ro.part_number.as_deref(), Some("PN-1"));
        assert_eq!(ro.serial_number.as_deref(), Some("S123"));
        assert_eq!(ro.change_level.as_deref(), Some("A1"));
        assert_eq!(ro.vendor, [('0', "vendor0".to_string())]);
        let rw = vpd.rw.unwrap_or_default();
        assert_eq!(rw.asset_tag.as_deref(), Some("asset"));
        assert_eq!(rw.system, [('1', "sys1".to_string())]);
        assert_eq!(rw.vendor, [('2', "v2".to_string())]);
    }

    #[test]
    fn a_bad_checksum_or_no_end_tag_drops_it() {
        let mut bad = image();
        bad[5] ^= 1;
        assert!(parse(&bad).is_none());
        let mut cut = image();
        cut.pop();
        assert!(parse(&cut).is_none());
    }
}

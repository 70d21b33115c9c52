// SPDX-License-Identifier: LGPL-2.1-or-later
//! IP address helpers with libvirt's socket-address semantics: numeric
//! parsing, the prefix a definition implies (netmask, explicit prefix or
//! the classful default), masking, and the DHCP range sanity check with
//! its messages.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::error::{ConfError, ErrorCode};

/// Parses a numeric IPv4 or IPv6 address (getaddrinfo with
/// AI_NUMERICHOST); the error is the one libvirt reports when the caller
/// adds none of its own.
pub fn parse(s: &str) -> Result<IpAddr, ConfError> {
    parse_opt(s).ok_or_else(|| {
        ConfError::new(
            ErrorCode::SystemError,
            format!("Cannot parse socket address '{s}': Name or service not known"),
        )
        .with_domain(crate::error::ErrorDomain::None)
    })
}

/// Parses a numeric address, `None` when it is not one.
pub fn parse_opt(s: &str) -> Option<IpAddr> {
    if let Ok(a) = s.parse::<IpAddr>() {
        return Some(a);
    }
    // getaddrinfo also takes inet_aton's shorter IPv4 forms (a, a.b, a.b.c).
    parse_inet_aton(s).map(IpAddr::V4)
}

fn parse_inet_aton(s: &str) -> Option<Ipv4Addr> {
    let parts: Vec<&str> = s.split('.').collect();
    if parts.is_empty() || parts.len() > 4 {
        return None;
    }
    let mut nums = Vec::with_capacity(parts.len());
    for p in &parts {
        let (digits, radix) = if let Some(h) = p.strip_prefix("0x").or_else(|| p.strip_prefix("0X"))
        {
            (h, 16)
        } else if p.len() > 1 && p.starts_with('0') {
            (&p[1..], 8)
        } else {
            (*p, 10)
        };
        if digits.is_empty() && radix != 8 {
            return None;
        }
        let v = if digits.is_empty() {
            0
        } else {
            u32::from_str_radix(digits, radix).ok()?
        };
        if !p
            .bytes()
            .all(|b| b.is_ascii_hexdigit() || b == b'x' || b == b'X')
        {
            return None;
        }
        nums.push(v);
    }
    let (last, head) = nums.split_last()?;
    if head.iter().any(|n| *n > 255) {
        return None;
    }
    let room = 8 * (4 - head.len() as u32);
    if room < 32 && *last >= (1u32 << room) {
        return None;
    }
    let mut v: u32 = 0;
    for (i, n) in head.iter().enumerate() {
        v |= n << (24 - 8 * i as u32);
    }
    Some(Ipv4Addr::from(v | last))
}

/// Formats like getnameinfo(NI_NUMERICHOST).
pub fn format(a: &IpAddr) -> String {
    a.to_string()
}

/// Number of leading one bits of a netmask, `None` when not contiguous.
pub fn netmask_bits(mask: &IpAddr) -> Option<u32> {
    let bits = to_u128(mask);
    let width = width(mask);
    let v = bits << (128 - width);
    let ones = v.leading_ones();
    if v.checked_shl(ones).unwrap_or(0) != 0 {
        return None;
    }
    Some(ones)
}

fn width(a: &IpAddr) -> u32 {
    match a {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

fn to_u128(a: &IpAddr) -> u128 {
    match a {
        IpAddr::V4(v) => u32::from(*v) as u128,
        IpAddr::V6(v) => u128::from(*v),
    }
}

fn from_u128(like: &IpAddr, v: u128) -> IpAddr {
    match like {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::from((v & 0xffff_ffff) as u32)),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::from(v)),
    }
}

/// virSocketAddrGetIPPrefix: the explicit prefix, else the netmask's
/// bits, else the classful default for IPv4 (64 for IPv6); -1 when no
/// prefix can be derived.
pub fn ip_prefix(address: Option<&IpAddr>, netmask: Option<&IpAddr>, prefix: u32) -> i32 {
    if prefix > 0 {
        return i32::try_from(prefix).unwrap_or(-1);
    }
    if let Some(m) = netmask {
        return netmask_bits(m).map_or(-1, |b| b as i32);
    }
    match address {
        Some(IpAddr::V4(v)) => {
            let raw = u32::from(*v);
            if raw == 0 {
                return 0;
            }
            let octet = (raw >> 24) as u8;
            if octet & 0x80 == 0 {
                8
            } else if octet & 0xc0 == 0x80 {
                16
            } else if octet & 0xe0 == 0xc0 {
                24
            } else {
                -1
            }
        }
        Some(IpAddr::V6(v)) => {
            if v.is_unspecified() {
                0
            } else {
                64
            }
        }
        None => 0,
    }
}

/// The netmask of `prefix` bits for the family of `like`.
pub fn prefix_to_netmask(like: &IpAddr, prefix: u32) -> Option<IpAddr> {
    let w = width(like);
    if prefix > w {
        return None;
    }
    let mask: u128 = if prefix == 0 {
        0
    } else {
        (!0u128 << (w - prefix)) & if w == 32 { 0xffff_ffff } else { !0 }
    };
    Some(from_u128(like, mask))
}

/// `a` with its host bits cleared (the network address); `None` when the
/// prefix is out of range.
pub fn mask_by_prefix(a: &IpAddr, prefix: u32) -> Option<IpAddr> {
    let m = prefix_to_netmask(a, prefix)?;
    Some(from_u128(a, to_u128(a) & to_u128(&m)))
}

/// `a` masked by `netmask` (both of one family).
pub fn mask(a: &IpAddr, netmask: &IpAddr) -> Option<IpAddr> {
    if a.is_ipv4() != netmask.is_ipv4() {
        return None;
    }
    Some(from_u128(a, to_u128(a) & to_u128(netmask)))
}

/// The broadcast address of `a`'s network.
pub fn broadcast(a: &IpAddr, netmask: &IpAddr) -> IpAddr {
    let w = width(a);
    let all: u128 = if w == 32 { 0xffff_ffff } else { !0 };
    from_u128(a, to_u128(a) | (!to_u128(netmask) & all))
}

/// The address `n` after `a` (wrapping within the family).
pub fn add(a: &IpAddr, n: u128) -> IpAddr {
    from_u128(a, to_u128(a).wrapping_add(n))
}

/// Whether two addresses are of one family.
pub fn same_family(a: &IpAddr, b: &IpAddr) -> bool {
    a.is_ipv4() == b.is_ipv4()
}

/// virsocketaddr.c reports from VIR_FROM_NONE.
fn internal(msg: String) -> ConfError {
    ConfError::internal(msg).with_domain(crate::error::ErrorDomain::None)
}

/// virSocketAddrGetRange: checks that `start..=end` is a sane range (of
/// one family, within `network/prefix` when given, not the network or
/// broadcast address, at most 65535 long, not reversed) and returns its
/// size.
pub fn range_size(
    start: &IpAddr,
    end: &IpAddr,
    network: Option<(&IpAddr, i32)>,
) -> Result<u32, ConfError> {
    let s = format(start);
    let e = format(end);
    if !same_family(start, end) {
        return Err(internal(format!(
            "mismatch of address family in range {s} - {e}"
        )));
    }
    if let Some((net, prefix)) = network {
        let n = format(net);
        if !same_family(start, net) {
            return Err(internal(format!(
                "mismatch of address family in range {s} - {e} for network {n}"
            )));
        }
        let Some(netmask) = u32::try_from(prefix)
            .ok()
            .and_then(|p| prefix_to_netmask(net, p))
        else {
            return Err(internal(format!(
                "bad prefix {prefix} for network {n} when checking range {s} - {e}"
            )));
        };
        let within = |a: &IpAddr| mask(a, &netmask) == mask(net, &netmask);
        if !within(start) || !within(end) {
            return Err(internal(format!(
                "range {s} - {e} is not entirely within network {n}/{prefix}"
            )));
        }
        if start.is_ipv4() {
            let netaddr = mask(net, &netmask);
            if netaddr.as_ref() == Some(start) {
                return Err(internal(format!(
                    "start of range {s} - {e} in network {n}/{prefix} is the network address"
                )));
            }
            if broadcast(net, &netmask) == *end {
                return Err(internal(format!(
                    "end of range {s} - {e} in network {n}/{prefix} is the broadcast address"
                )));
            }
        }
    }
    match (start, end) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            let (a, b) = (a.octets(), b.octets());
            if a[..2] != b[..2] {
                return Err(internal(format!("range {s} - {e} is too large (> 65535)")));
            }
            let size =
                (i32::from(b[2]) - i32::from(a[2])) * 256 + (i32::from(b[3]) - i32::from(a[3]));
            if size < 0 {
                return Err(internal(format!("range {s} - {e} is reversed ")));
            }
            Ok(size as u32 + 1)
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            let (a, b) = (a.segments(), b.segments());
            if a[..7] != b[..7] {
                return Err(internal(format!("range {s} - {e} is too large (> 65535)")));
            }
            let size = i32::from(b[7]) - i32::from(a[7]);
            if size < 0 {
                return Err(internal(format!("range {s} - {e} start larger than end")));
            }
            Ok(size as u32 + 1)
        }
        _ => Err(internal(format!(
            "unsupported address family for range {s} - {e}, must be ipv4 or ipv6"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> IpAddr {
        parse(s).unwrap()
    }

    #[test]
    fn classful_prefixes() {
        assert_eq!(ip_prefix(Some(&a("10.1.2.3")), None, 0), 8);
        assert_eq!(ip_prefix(Some(&a("172.16.0.1")), None, 0), 16);
        assert_eq!(ip_prefix(Some(&a("192.168.1.1")), None, 0), 24);
        assert_eq!(ip_prefix(Some(&a("224.0.0.1")), None, 0), -1);
        assert_eq!(ip_prefix(Some(&a("2001:db8::1")), None, 0), 64);
        assert_eq!(ip_prefix(None, Some(&a("255.255.255.0")), 0), 24);
        assert_eq!(ip_prefix(None, Some(&a("255.0.255.0")), 0), -1);
    }

    #[test]
    fn inet_aton_forms() {
        assert_eq!(a("10.1"), a("10.0.0.1"));
        assert_eq!(a("0x7f.1"), a("127.0.0.1"));
        assert!(parse("1.2.3.4.5").is_err());
        assert!(parse("example.com").is_err());
    }

    #[test]
    fn range_checks() {
        let net = a("192.168.122.1");
        assert_eq!(
            range_size(&a("192.168.122.2"), &a("192.168.122.254"), Some((&net, 24))).unwrap(),
            253
        );
        let err =
            range_size(&a("192.168.122.0"), &a("192.168.122.9"), Some((&net, 24))).unwrap_err();
        assert!(err.detail_text().contains("is the network address"));
        let err = range_size(&a("192.168.122.9"), &a("192.168.122.2"), None).unwrap_err();
        assert_eq!(
            err.detail_text(),
            "range 192.168.122.9 - 192.168.122.2 is reversed "
        );
        let err =
            range_size(&a("192.168.123.2"), &a("192.168.123.9"), Some((&net, 24))).unwrap_err();
        assert!(err
            .detail_text()
            .contains("not entirely within network 192.168.122.1/24"));
    }
}

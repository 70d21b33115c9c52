// SPDX-License-Identifier: LGPL-2.1-or-later
//! DHCP leases from libvirt's lease database (`BRIDGE.status`, kept by
//! the lease helper dnsmasq runs; see `network::leases`), or, where no
//! helper was installed, from dnsmasq's own leases file (`NAME.leases`): one line per
//! lease, `EXPIRY MAC IP HOSTNAME CLIENTID` (`*` for none), IPv6 leases
//! after a `duid` line with the IAID in the MAC column. Reported as
//! virNetworkGetDHCPLeases reports them: expired leases left out, an
//! optional MAC filter (case-insensitive), the prefix of the `<ip>` the
//! address belongs to.

use std::net::IpAddr;

use conf::network::addr;
use conf::NetworkDef;

pub use driver::NetworkDhcpLease as Lease;

fn opt(s: Option<&str>) -> Option<String> {
    s.filter(|v| *v != "*").map(str::to_string)
}

/// The prefix of the `<ip>` of `def` whose subnet holds `ip`.
fn prefix_for(def: &NetworkDef, ip: &IpAddr) -> u32 {
    def.ips
        .iter()
        .filter(|d| addr::same_family(&d.address, ip))
        .find_map(|d| {
            let p = u32::try_from(d.effective_prefix()).ok()?;
            let a = addr::mask_by_prefix(&d.address, p)?;
            let b = addr::mask_by_prefix(ip, p)?;
            (a == b).then_some(p)
        })
        .unwrap_or(0)
}

/// The leases of `text` valid at `now` (seconds since the epoch),
/// restricted to `mac` when given.
pub fn parse(def: &NetworkDef, text: &str, mac: Option<&str>, now: i64) -> Vec<Lease> {
    let iface = def.bridge.clone().unwrap_or_default();
    let mut out = Vec::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 3 || f[0] == "duid" {
            continue;
        }
        let Ok(expiry) = f[0].parse::<i64>() else {
            continue;
        };
        // dnsmasq writes 0 for leases that never expire.
        if expiry != 0 && expiry < now {
            continue;
        }
        let Some(ip) = addr::parse_opt(f[2]) else {
            continue;
        };
        let v6 = ip.is_ipv6();
        let (lmac, iaid) = if v6 {
            (None, Some(f[1].to_string()))
        } else {
            (Some(f[1].to_string()), None)
        };
        if let Some(want) = mac {
            match &lmac {
                Some(m) if m.eq_ignore_ascii_case(want) => {}
                _ => continue,
            }
        }
        out.push(Lease {
            iface: iface.clone(),
            expirytime: expiry,
            r#type: i32::from(v6),
            mac: lmac,
            iaid,
            ipaddr: addr::format(&ip),
            prefix: prefix_for(def, &ip),
            hostname: opt(f.get(3).copied()),
            clientid: opt(f.get(4).copied()),
        });
    }
    out
}

/// The leases of libvirt's lease database `text` valid at `now`, as
/// networkGetDHCPLeases reads them: the prefix of the network's first
/// `<ip>` of the lease's family, `mac` compared without case.
pub fn parse_status(
    def: &NetworkDef,
    text: &str,
    mac: Option<&str>,
    now: i64,
) -> Result<Vec<Lease>, String> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    let v: serde_json::Value =
        serde_json::from_str(text).map_err(|_| "invalid json in file".to_string())?;
    let items = v
        .as_array()
        .ok_or_else(|| "Malformed lease_entries array".to_string())?;
    let iface = def.bridge.clone().unwrap_or_default();
    let mut out = Vec::new();
    for l in items {
        let s = |k: &str| l.get(k).and_then(|x| x.as_str()).map(str::to_string);
        let lmac = s("mac-address").ok_or("found lease without mac-address")?;
        if mac.is_some_and(|m| !m.eq_ignore_ascii_case(&lmac)) {
            continue;
        }
        let expiry = l
            .get("expiry-time")
            .and_then(|x| x.as_i64())
            .ok_or("found lease without expiry-time")?;
        if expiry > 0 && expiry < now {
            continue;
        }
        let ip = s("ip-address").ok_or("found lease without ip-address")?;
        let v6 = ip.contains(':');
        let prefix = def
            .ips
            .iter()
            .find(|d| d.address.is_ipv6() == v6)
            .and_then(|d| u32::try_from(d.effective_prefix()).ok())
            .unwrap_or(0);
        out.push(Lease {
            iface: iface.clone(),
            expirytime: expiry,
            r#type: i32::from(v6),
            mac: Some(lmac),
            iaid: s("iaid"),
            ipaddr: ip,
            prefix,
            hostname: s("hostname"),
            clientid: s("client-id"),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def() -> NetworkDef {
        NetworkDef::parse_str(
            "<network><name>n</name><bridge name='vbr9'/><forward/>\
             <ip address='10.9.0.1' prefix='24'><dhcp><range start='10.9.0.2' end='10.9.0.9'/>\
             </dhcp></ip></network>",
        )
        .unwrap()
    }

    #[test]
    fn live_leases_with_prefix_and_optional_fields() {
        let text = "2000 52:54:00:aa:bb:cc 10.9.0.5 guest 01:52:54:00:aa:bb:cc\n\
                    1000 52:54:00:aa:bb:dd 10.9.0.6 * *\n\
                    0 52:54:00:AA:BB:EE 10.9.0.7 * *\n";
        let v = parse(&def(), text, None, 1500);
        assert_eq!(v.len(), 2, "{v:?}");
        assert_eq!(v[0].ipaddr, "10.9.0.5");
        assert_eq!(v[0].prefix, 24);
        assert_eq!(v[0].iface, "vbr9");
        assert_eq!(v[0].hostname.as_deref(), Some("guest"));
        assert_eq!(v[1].hostname, None);
        let only = parse(&def(), text, Some("52:54:00:aa:bb:ee"), 1500);
        assert_eq!(only.len(), 1);
        assert_eq!(only[0].ipaddr, "10.9.0.7");
    }

    #[test]
    fn leases_from_libvirts_database() {
        let text = "[\n  {\n    \"ip-address\": \"10.9.0.5\",\n    \"mac-address\": \"52:54:00:aa:bb:cc\",\n    \
                    \"hostname\": \"g\",\n    \"expiry-time\": 2000\n  },\n  {\n    \"ip-address\": \"10.9.0.6\",\n    \
                    \"mac-address\": \"52:54:00:aa:bb:dd\",\n    \"expiry-time\": 1000\n  }\n]\n";
        let v = parse_status(&def(), text, None, 1500).unwrap();
        assert_eq!(v.len(), 1);
        assert_eq!((v[0].ipaddr.as_str(), v[0].prefix), ("10.9.0.5", 24));
        assert_eq!(v[0].hostname.as_deref(), Some("g"));
        assert!(
            parse_status(&def(), text, Some("52:54:00:AA:BB:CC"), 1500)
                .unwrap()
                .len()
                == 1
        );
        assert!(parse_status(&def(), "{", None, 0).is_err());
        assert!(parse_status(&def(), "", None, 0).unwrap().is_empty());
    }
}

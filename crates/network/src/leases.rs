// SPDX-License-Identifier: LGPL-2.1-or-later
//! libvirt's lease database for a network: `/var/lib/libvirt/dnsmasq/
//! BRIDGE.status`, a JSON array of leases (`ip-address`, `mac-address`,
//! `hostname`, `client-id`, `expiry-time`, and `iaid` and `server-duid`
//! for DHCPv6), which dnsmasq keeps up to date by running the lease
//! helper (`--dhcp-script`, with `--leasefile-ro`) at every change, and
//! which virNetworkGetDHCPLeases reads. This module is the helper's
//! logic, without I/O: a lease event applied to the file's text, and the
//! dnsmasq lease-file lines the helper prints when dnsmasq starts
//! (`init`).

use serde_json::{Map, Value};

/// What dnsmasq tells the helper (its first argument).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Add,
    Old,
    Del,
    Init,
}

impl Action {
    pub fn parse(s: &str) -> Option<Action> {
        Some(match s {
            "add" => Action::Add,
            "old" => Action::Old,
            "del" => Action::Del,
            "init" => Action::Init,
            _ => return None,
        })
    }
}

/// One call of the helper: the arguments and the `DNSMASQ_*` variables
/// dnsmasq gives it.
#[derive(Debug, Clone, Default)]
pub struct Event {
    /// MAC (IPv4), or the client DUID (IPv6).
    pub mac_or_duid: String,
    pub ip: String,
    /// The fourth argument, else `DNSMASQ_SUPPLIED_HOSTNAME`.
    pub hostname: Option<String>,
    /// `DNSMASQ_OLD_HOSTNAME`, used when no hostname is known.
    pub old_hostname: Option<String>,
    pub client_id: Option<String>,
    /// `DNSMASQ_IAID`: set for IPv6 leases.
    pub iaid: Option<String>,
    /// `DNSMASQ_MAC` (IPv6 leases).
    pub mac6: Option<String>,
    pub server_duid: Option<String>,
    /// `DNSMASQ_LEASE_EXPIRES`.
    pub expires: Option<String>,
}

/// The keys of a lease, in the order libvirt writes them.
const KEYS: &[&str] = &[
    "iaid",
    "ip-address",
    "mac-address",
    "hostname",
    "client-id",
    "server-duid",
    "expiry-time",
];

/// A lease built from an event (virLeaseNew); `None` when the MAC is
/// unknown (an IPv6 lease without `DNSMASQ_MAC`).
fn new_lease(ev: &Event) -> Result<Option<Map<String, Value>>, String> {
    let (mac, client_id) = if ev.iaid.is_some() {
        (ev.mac6.clone(), Some(ev.mac_or_duid.clone()))
    } else {
        (Some(ev.mac_or_duid.clone()), ev.client_id.clone())
    };
    let Some(mac) = mac else {
        return Ok(None);
    };
    let expiry = match &ev.expires {
        Some(e) => e
            .trim()
            .parse::<i64>()
            .map_err(|_| format!("Unable to convert lease expiry time to long long: {e}"))?,
        None => 0,
    };
    let hostname = ev.hostname.clone().or_else(|| ev.old_hostname.clone());
    let mut m = Map::new();
    let mut put = |k: &str, v: Option<String>| {
        if let Some(v) = v {
            m.insert(k.to_string(), Value::String(v));
        }
    };
    put("iaid", ev.iaid.clone());
    put("ip-address", Some(ev.ip.clone()));
    put("mac-address", Some(mac));
    put("hostname", hostname);
    put("client-id", client_id);
    put("server-duid", ev.server_duid.clone());
    m.insert("expiry-time".into(), Value::from(expiry));
    Ok(Some(m))
}

/// The leases of the file's text (empty or unreadable JSON: none, as
/// libvirt rewrites such a file).
pub fn read(text: &str) -> Result<Vec<Map<String, Value>>, String> {
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let Ok(v) = serde_json::from_str::<Value>(text) else {
        return Ok(Vec::new());
    };
    let Value::Array(items) = v else {
        return Err("couldn't fetch array of leases".into());
    };
    items
        .into_iter()
        .map(|i| match i {
            Value::Object(m)
                if m.get("ip-address").is_some_and(Value::is_string)
                    && m.get("expiry-time").is_some_and(Value::is_i64) =>
            {
                Ok(m)
            }
            _ => Err("failed to parse json".to_string()),
        })
        .collect()
}

fn json_string(s: &str) -> String {
    Value::String(s.to_string()).to_string()
}

/// The file's text as libvirt writes it (two-space indentation, `key:
/// value`, a final newline; libvirt's key order).
pub fn format(leases: &[Map<String, Value>]) -> String {
    if leases.is_empty() {
        return "[\n]\n".into();
    }
    let mut out = String::from("[\n");
    for (i, l) in leases.iter().enumerate() {
        out.push_str("  {\n");
        let mut keys: Vec<&String> = l.keys().collect();
        keys.sort_by_key(|k| {
            (
                KEYS.iter().position(|x| x == k).unwrap_or(KEYS.len()),
                k.to_string(),
            )
        });
        for (j, k) in keys.iter().enumerate() {
            out.push_str(&format!("    {}: {}", json_string(k), l[k.as_str()]));
            out.push_str(if j + 1 < keys.len() { ",\n" } else { "\n" });
        }
        out.push_str(if i + 1 < leases.len() {
            "  },\n"
        } else {
            "  }\n"
        });
    }
    out.push_str("]\n");
    out
}

fn field<'a>(l: &'a Map<String, Value>, k: &str) -> &'a str {
    l.get(k).and_then(Value::as_str).unwrap_or("*")
}

/// What dnsmasq reads back at `init`: its lease-file lines, IPv4 leases
/// first, then the server DUID and the IPv6 leases.
pub fn init_lines(leases: &[Map<String, Value>], server_duid: Option<&str>) -> String {
    let mut out = String::new();
    let line = |l: &Map<String, Value>, id: &str| {
        format!(
            "{} {} {} {} {}\n",
            l.get("expiry-time").and_then(Value::as_i64).unwrap_or(0),
            field(l, id),
            field(l, "ip-address"),
            field(l, "hostname"),
            field(l, "client-id")
        )
    };
    for l in leases
        .iter()
        .filter(|l| !field(l, "ip-address").contains(':'))
    {
        out.push_str(&line(l, "mac-address"));
    }
    if let Some(duid) = server_duid {
        out.push_str(&format!("duid {duid}\n"));
        for l in leases
            .iter()
            .filter(|l| field(l, "ip-address").contains(':'))
        {
            out.push_str(&line(l, "iaid"));
        }
    }
    out
}

/// The helper's work on the file's `text`: the new text to write (none
/// for `init`) and what to print.
pub fn apply(text: &str, action: Action, ev: &Event) -> Result<(Option<String>, String), String> {
    let mut server_duid = ev.server_duid.clone();
    let new = match action {
        Action::Add | Action::Old => new_lease(ev)?,
        _ => None,
    };
    // The lease of this address is replaced (or deleted).
    let delete = matches!(action, Action::Del) || new.is_some();
    let mut leases: Vec<Map<String, Value>> = read(text)?
        .into_iter()
        .filter(|l| !(delete && field(l, "ip-address") == ev.ip))
        .collect();
    for l in &mut leases {
        if field(l, "ip-address").contains(':') {
            match l.get("server-duid").and_then(Value::as_str) {
                Some(d) if server_duid.is_none() => server_duid = Some(d.to_string()),
                Some(_) => {}
                None => {
                    if let Some(d) = &server_duid {
                        l.insert("server-duid".into(), Value::String(d.clone()));
                    }
                }
            }
        }
    }
    match action {
        Action::Init => Ok((None, init_lines(&leases, server_duid.as_deref()))),
        _ => {
            leases.extend(new);
            Ok((Some(format(&leases)), String::new()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add(ip: &str, mac: &str, host: Option<&str>, exp: &str) -> Event {
        Event {
            mac_or_duid: mac.into(),
            ip: ip.into(),
            hostname: host.map(str::to_string),
            client_id: Some(format!("01:{mac}")),
            expires: Some(exp.into()),
            ..Default::default()
        }
    }

    #[test]
    fn leases_are_added_renewed_and_deleted_in_libvirts_format() {
        let (t, _) = apply(
            "",
            Action::Add,
            &add("10.0.0.5", "52:54:00:00:00:01", Some("g"), "100"),
        )
        .unwrap();
        let t = t.unwrap();
        assert_eq!(
            t,
            "[\n  {\n    \"ip-address\": \"10.0.0.5\",\n    \"mac-address\": \"52:54:00:00:00:01\",\n    \
             \"hostname\": \"g\",\n    \"client-id\": \"01:52:54:00:00:00:01\",\n    \"expiry-time\": 100\n  }\n]\n"
        );
        let (t, _) = apply(
            &t,
            Action::Add,
            &add("10.0.0.6", "52:54:00:00:00:02", None, "200"),
        )
        .unwrap();
        let (t, _) = apply(
            &t.unwrap(),
            Action::Old,
            &add("10.0.0.5", "52:54:00:00:00:01", None, "300 "),
        )
        .unwrap();
        let t = t.unwrap();
        let v = read(&t).unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[1]["expiry-time"], Value::from(300));
        assert_eq!(v[0]["ip-address"], Value::from("10.0.0.6"));
        let (_, out) = apply(&t, Action::Init, &Event::default()).unwrap();
        assert_eq!(
            out,
            "200 52:54:00:00:00:02 10.0.0.6 * 01:52:54:00:00:00:02\n\
             300 52:54:00:00:00:01 10.0.0.5 * 01:52:54:00:00:00:01\n"
        );
        let (t, _) = apply(
            &t,
            Action::Del,
            &add("10.0.0.6", "52:54:00:00:00:02", None, "0"),
        )
        .unwrap();
        assert_eq!(read(&t.unwrap()).unwrap().len(), 1);
        assert_eq!(format(&[]), "[\n]\n");
    }

    #[test]
    fn ipv6_leases_need_the_mac_and_carry_the_server_duid() {
        let ev = Event {
            mac_or_duid: "00:01:00:01".into(),
            ip: "2001:db8::5".into(),
            iaid: Some("1234".into()),
            server_duid: Some("00:01:aa".into()),
            expires: Some("50".into()),
            ..Default::default()
        };
        let (t, _) = apply("", Action::Add, &ev).unwrap();
        assert_eq!(
            read(&t.unwrap()).unwrap().len(),
            0,
            "no DNSMASQ_MAC: not stored"
        );
        let ev = Event {
            mac6: Some("52:54:00:00:00:09".into()),
            ..ev
        };
        let (t, _) = apply("", Action::Add, &ev).unwrap();
        let t = t.unwrap();
        let (_, out) = apply(&t, Action::Init, &Event::default()).unwrap();
        assert_eq!(out, "duid 00:01:aa\n50 1234 2001:db8::5 * 00:01:00:01\n");
    }

    #[test]
    fn a_broken_file_is_rewritten() {
        let (t, _) = apply(
            "{not json",
            Action::Add,
            &add("10.0.0.5", "52:54:00:00:00:01", None, "1"),
        )
        .unwrap();
        assert_eq!(read(&t.unwrap()).unwrap().len(), 1);
        assert!(apply("{}", Action::Init, &Event::default()).is_err());
    }
}

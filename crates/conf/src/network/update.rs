// SPDX-License-Identifier: LGPL-2.1-or-later
//! virNetworkUpdate's edits of one section of a definition
//! (virNetworkDefUpdateSection). Each edit works on a copy the caller
//! commits only when every selected definition (live, persistent)
//! accepted it.

use super::{parse_dhcp_host, DhcpHost, IpDef, NetworkDef};
use crate::error::{ConfError, ErrorCode};
use crate::xml::Element;

/// virNetworkUpdateCommand.
pub const CMD_MODIFY: u32 = 1;
/// Delete a matching entry.
pub const CMD_DELETE: u32 = 2;
/// Append.
pub const CMD_ADD_LAST: u32 = 3;
/// Prepend.
pub const CMD_ADD_FIRST: u32 = 4;

fn invalid(msg: impl Into<String>) -> ConfError {
    ConfError::new(ErrorCode::OperationInvalid, msg)
}

/// virNetworkDefUpdateUnknownCommand.
pub fn unknown_command(command: u32) -> ConfError {
    ConfError::new(
        ErrorCode::OperationUnsupported,
        format!("unrecognized network update command code {command}"),
    )
}

fn check_element(def: &NetworkDef, e: &Element, section: &str) -> Result<(), ConfError> {
    if e.name != section {
        return Err(ConfError::xml(format!(
            "unexpected element <{}>, expecting <{section}>, while updating network '{}'",
            e.name, def.name
        )));
    }
    Ok(())
}

/// virNetworkIPDefByIndex: the `<ip>` whose DHCP data an update edits
/// (index `parent`, or with -1 the one with DHCP, else the first IPv4,
/// else the first IPv6).
fn ip_index(def: &NetworkDef, parent: i32) -> Result<usize, ConfError> {
    if let Ok(i) = usize::try_from(parent) {
        if i < def.ips.len() {
            return Ok(i);
        }
        return Err(invalid(format!(
            "couldn't update dhcp host entry - no <ip> element found at index {parent} in network '{}'",
            def.name
        )));
    }
    let first = |v6: bool| def.ips.iter().position(|ip| ip.address.is_ipv6() == v6);
    def.ips
        .iter()
        .position(IpDef::has_dhcp)
        .or_else(|| first(false))
        .or_else(|| first(true))
        .ok_or_else(|| {
            invalid(format!(
                "couldn't update dhcp host entry - no <ip> element found in network '{}'",
                def.name
            ))
        })
}

/// virNetworkDefUpdateCheckMultiDHCP: only one `<ip>` of a family may
/// carry DHCP.
fn check_multi_dhcp(def: &NetworkDef, i: usize) -> Result<(), ConfError> {
    let v6 = def.ips[i].address.is_ipv6();
    let other = def
        .ips
        .iter()
        .enumerate()
        .any(|(j, ip)| j != i && ip.address.is_ipv6() == v6 && ip.has_dhcp());
    if other {
        return Err(invalid(format!(
            "dhcp is supported only for a single {} address on each network",
            if v6 { "IPv6" } else { "IPv4" }
        )));
    }
    Ok(())
}

fn mac_eq(a: &Option<String>, b: &Option<String>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => match (super::netdev::Mac::parse(a), super::netdev::Mac::parse(b)) {
            (Some(x), Some(y)) => x == y,
            _ => a.eq_ignore_ascii_case(b),
        },
        _ => false,
    }
}

fn describe(h: &DhcpHost) -> (String, String, String) {
    (
        h.mac.clone().unwrap_or_else(|| "unknown".into()),
        h.name.clone().unwrap_or_else(|| "(null)".into()),
        h.ip.map(|a| a.to_string())
            .unwrap_or_else(|| "unknown".into()),
    )
}

/// virNetworkDefUpdateIPDHCPHost: the `ip-dhcp-host` section.
pub fn ip_dhcp_host(
    def: &mut NetworkDef,
    command: u32,
    parent: i32,
    e: &Element,
) -> Result<(), ConfError> {
    check_element(def, e, "host")?;
    let i = ip_index(def, parent)?;
    let partial = command == CMD_DELETE;
    let host = parse_dhcp_host(&def.name, &def.ips[i], e, partial)?;
    if !partial && host.ip.map(|a| a.is_ipv6()) != Some(def.ips[i].address.is_ipv6()) {
        return Err(invalid(
            "the address family of a host entry IP must match the address family of the dhcp element's parent",
        ));
    }
    let name = def.name.clone();
    match command {
        CMD_MODIFY => {
            let ip = &mut def.ips[i];
            let found = ip.hosts.iter().position(|h| {
                mac_eq(&host.mac, &h.mac)
                    || (host.ip.is_some() && host.ip == h.ip)
                    || (host.name.is_some() && host.name == h.name)
            });
            let Some(k) = found else {
                let (m, n, a) = describe(&host);
                return Err(invalid(format!(
                    "couldn't locate an existing dhcp host entry with \"mac='{m}'\" \"name='{n}'\" \"ip='{a}'\" in network '{name}'"
                )));
            };
            ip.hosts[k] = host;
        }
        CMD_ADD_FIRST | CMD_ADD_LAST => {
            check_multi_dhcp(def, i)?;
            let ip = &mut def.ips[i];
            let clash = ip.hosts.iter().any(|h| {
                mac_eq(&host.mac, &h.mac)
                    || (host.name.is_some() && host.name == h.name)
                    || (host.ip.is_some() && host.ip == h.ip)
            });
            if clash {
                let (m, n, a) = describe(&host);
                return Err(invalid(format!(
                    "there is an existing dhcp host entry in network '{name}' that matches \"<host mac='{m}' name='{n}' ip='{a}'/>\""
                )));
            }
            if command == CMD_ADD_FIRST {
                ip.hosts.insert(0, host);
            } else {
                ip.hosts.push(host);
            }
        }
        CMD_DELETE => {
            let ip = &mut def.ips[i];
            let found = ip.hosts.iter().position(|h| {
                (host.mac.is_none() || h.mac.is_none() || mac_eq(&host.mac, &h.mac))
                    && (host.name.is_none() || host.name == h.name)
                    && (host.ip.is_none() || host.ip == h.ip)
            });
            let Some(k) = found else {
                return Err(invalid(format!(
                    "couldn't locate a matching dhcp host entry in network '{name}'"
                )));
            };
            ip.hosts.remove(k);
        }
        _ => return Err(unknown_command(command)),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::parse_document;

    fn net() -> NetworkDef {
        NetworkDef::parse_str(
            "<network><name>n</name><ip address='192.168.1.1' netmask='255.255.255.0'>\
             <dhcp><range start='192.168.1.2' end='192.168.1.9'/>\
             <host mac='52:54:00:00:00:01' ip='192.168.1.5'/></dhcp></ip></network>",
        )
        .unwrap()
    }

    fn host(x: &str) -> Element {
        parse_document(x, "t", "host").unwrap()
    }

    #[test]
    fn add_then_delete_host() {
        let mut d = net();
        ip_dhcp_host(
            &mut d,
            CMD_ADD_LAST,
            -1,
            &host("<host mac='52:54:00:00:00:02' ip='192.168.1.6'/>"),
        )
        .unwrap();
        assert_eq!(d.ips[0].hosts.len(), 2);
        ip_dhcp_host(&mut d, CMD_DELETE, -1, &host("<host ip='192.168.1.6'/>")).unwrap();
        assert_eq!(d.ips[0].hosts.len(), 1);
    }

    #[test]
    fn adding_a_duplicate_mac_is_operation_invalid() {
        let mut d = net();
        let err = ip_dhcp_host(
            &mut d,
            CMD_ADD_FIRST,
            -1,
            &host("<host mac='52:54:00:00:00:01' ip='192.168.1.7'/>"),
        )
        .unwrap_err();
        assert_eq!(err.code, ErrorCode::OperationInvalid);
        assert!(err
            .detail_text()
            .starts_with("there is an existing dhcp host entry"));
    }

    #[test]
    fn wrong_element_is_xml_error() {
        let mut d = net();
        let err = ip_dhcp_host(
            &mut d,
            CMD_ADD_LAST,
            -1,
            &parse_document("<range/>", "t", "range").unwrap(),
        )
        .unwrap_err();
        assert_eq!(err.code, ErrorCode::XmlError);
    }
}

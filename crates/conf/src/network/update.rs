// SPDX-License-Identifier: LGPL-2.1-or-later
//! virNetworkUpdate's edits of one section of a definition
//! (virNetworkDefUpdateSection). Each edit works on a copy the caller
//! commits only when every selected definition (live, persistent)
//! accepted it.

use super::{
    parse_dhcp_host, parse_dns_host, parse_dns_srv, parse_dns_txt, parse_portgroup, parse_range,
    DhcpHost, ForwardIf, ForwardIfDevice, IpDef, NetworkDef,
};
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

/// virNetworkUpdateSection numbers.
pub const SECTION_BRIDGE: u32 = 1;
pub const SECTION_DOMAIN: u32 = 2;
pub const SECTION_IP: u32 = 3;
pub const SECTION_IP_DHCP_HOST: u32 = 4;
pub const SECTION_IP_DHCP_RANGE: u32 = 5;
pub const SECTION_FORWARD: u32 = 6;
pub const SECTION_FORWARD_INTERFACE: u32 = 7;
pub const SECTION_FORWARD_PF: u32 = 8;
pub const SECTION_PORTGROUP: u32 = 9;
pub const SECTION_DNS_HOST: u32 = 10;
pub const SECTION_DNS_TXT: u32 = 11;
pub const SECTION_DNS_SRV: u32 = 12;

fn unsupported(msg: impl Into<String>) -> ConfError {
    ConfError::new(ErrorCode::OperationUnsupported, msg)
}

fn no_support(def: &NetworkDef, section: &str) -> ConfError {
    unsupported(format!(
        "can't update '{section}' section of network '{}'",
        def.name
    ))
}

fn is_add(command: u32) -> bool {
    command == CMD_ADD_FIRST || command == CMD_ADD_LAST
}

fn insert_at<T>(v: &mut Vec<T>, command: u32, x: T) {
    if command == CMD_ADD_FIRST {
        v.insert(0, x);
    } else {
        v.push(x);
    }
}

/// virNetworkDefUpdateSection: applies `command` with the element `e` to
/// section `section` of `def`.
pub fn section(
    def: &mut NetworkDef,
    command: u32,
    section: u32,
    parent: i32,
    e: &Element,
) -> Result<(), ConfError> {
    match section {
        SECTION_BRIDGE => Err(no_support(def, "bridge")),
        SECTION_DOMAIN => Err(no_support(def, "domain")),
        SECTION_IP => Err(no_support(def, "ip")),
        SECTION_IP_DHCP_HOST => ip_dhcp_host(def, command, parent, e),
        SECTION_IP_DHCP_RANGE => ip_dhcp_range(def, command, parent, e),
        SECTION_FORWARD => Err(no_support(def, "forward")),
        SECTION_FORWARD_INTERFACE => forward_interface(def, command, e),
        SECTION_FORWARD_PF => Err(no_support(def, "forward pf")),
        SECTION_PORTGROUP => portgroup(def, command, e),
        SECTION_DNS_HOST => dns_host(def, command, e),
        SECTION_DNS_TXT => dns_txt(def, command, e),
        SECTION_DNS_SRV => dns_srv(def, command, e),
        _ => Err(unsupported("can't update unrecognized section of network")),
    }
}

/// virNetworkDefUpdateIPDHCPRange: the `ip-dhcp-range` section.
pub fn ip_dhcp_range(
    def: &mut NetworkDef,
    command: u32,
    parent: i32,
    e: &Element,
) -> Result<(), ConfError> {
    check_element(def, e, "range")?;
    let i = ip_index(def, parent)?;
    if command == CMD_MODIFY {
        return Err(unsupported(
            "dhcp ranges cannot be modified, only added or deleted",
        ));
    }
    let range = parse_range(&def.name, &def.ips[i], e)?;
    if range.start.is_ipv6() != def.ips[i].address.is_ipv6() {
        return Err(invalid(
            "the address family of a dhcp range must match the address family of the dhcp element's parent",
        ));
    }
    let found = def.ips[i]
        .ranges
        .iter()
        .position(|r| r.start == range.start && r.end == range.end);
    let name = def.name.clone();
    if is_add(command) {
        check_multi_dhcp(def, i)?;
        if found.is_some() {
            return Err(invalid(format!(
                "there is an existing dhcp range entry in network '{name}' that matches \"<range start='{}' end='{}'/>\"",
                super::addr::format(&range.start),
                super::addr::format(&range.end)
            )));
        }
        insert_at(&mut def.ips[i].ranges, command, range);
    } else if command == CMD_DELETE {
        let k = found.ok_or_else(|| {
            invalid(format!(
                "couldn't locate a matching dhcp range entry in network '{name}'"
            ))
        })?;
        def.ips[i].ranges.remove(k);
    } else {
        return Err(unknown_command(command));
    }
    Ok(())
}

/// virNetworkDefUpdateForwardInterface: the `forward-interface` section.
pub fn forward_interface(def: &mut NetworkDef, command: u32, e: &Element) -> Result<(), ConfError> {
    check_element(def, e, "interface")?;
    if command == CMD_MODIFY {
        return Err(unsupported(
            "forward interface entries cannot be modified, only added or deleted",
        ));
    }
    let dev = e
        .attr("dev")
        .ok_or_else(|| ConfError::xml("missing dev attribute in <interface> element"))?
        .to_string();
    let found = def
        .forward
        .ifs
        .iter()
        .position(|f| matches!(&f.device, ForwardIfDevice::Netdev(d) if *d == dev));
    let name = def.name.clone();
    if is_add(command) {
        if found.is_some() {
            return Err(invalid(format!(
                "there is an existing interface entry in network '{name}' that matches \"<interface dev='{dev}'>\""
            )));
        }
        insert_at(
            &mut def.forward.ifs,
            command,
            ForwardIf {
                device: ForwardIfDevice::Netdev(dev),
                connections: 0,
            },
        );
    } else if command == CMD_DELETE {
        let k = found.ok_or_else(|| {
            invalid(format!(
                "couldn't find an interface entry in network '{name}' matching <interface dev='{dev}'>"
            ))
        })?;
        let used = def.forward.ifs[k].connections;
        if used > 0 {
            return Err(invalid(format!(
                "unable to delete interface '{dev}' in network '{name}'. It is currently being used by {used} domains."
            )));
        }
        def.forward.ifs.remove(k);
    } else {
        return Err(unknown_command(command));
    }
    Ok(())
}

/// virNetworkDefUpdatePortGroup: the `portgroup` section.
pub fn portgroup(def: &mut NetworkDef, command: u32, e: &Element) -> Result<(), ConfError> {
    check_element(def, e, "portgroup")?;
    let pg = parse_portgroup(e)?;
    let found = def.portgroups.iter().position(|p| p.name == pg.name);
    let default = def.portgroups.iter().position(|p| p.is_default);
    let name = def.name.clone();
    if found.is_none() && (command == CMD_MODIFY || command == CMD_DELETE) {
        return Err(invalid(format!(
            "couldn't find a portgroup entry in network '{name}' matching <portgroup name='{}'>",
            pg.name
        )));
    }
    if found.is_some() && is_add(command) {
        return Err(invalid(format!(
            "there is an existing portgroup entry in network '{name}' that matches \"<portgroup name='{}'>\"",
            pg.name
        )));
    }
    if command != CMD_DELETE && pg.is_default && default.is_some() && default != found {
        return Err(invalid(format!(
            "a different portgroup entry in network '{name}' is already set as the default. Only one default is allowed."
        )));
    }
    match (command, found) {
        (CMD_MODIFY, Some(k)) => def.portgroups[k] = pg,
        (CMD_ADD_FIRST | CMD_ADD_LAST, _) => insert_at(&mut def.portgroups, command, pg),
        (CMD_DELETE, Some(k)) => {
            def.portgroups.remove(k);
        }
        _ => return Err(unknown_command(command)),
    }
    Ok(())
}

/// virNetworkDefUpdateDNSHost: the `dns-host` section.
pub fn dns_host(def: &mut NetworkDef, command: u32, e: &Element) -> Result<(), ConfError> {
    if command == CMD_MODIFY {
        return Err(unsupported(
            "DNS HOST records cannot be modified, only added or deleted",
        ));
    }
    check_element(def, e, "host")?;
    let add = is_add(command);
    let host = parse_dns_host(&def.name, e, !add)?;
    let matches: Vec<usize> = def
        .dns
        .hosts
        .iter()
        .enumerate()
        .filter(|(_, h)| {
            (host.ip.is_some() && h.ip == host.ip)
                || (!add && host.names.iter().any(|n| h.names.contains(n)))
        })
        .map(|(i, _)| i)
        .collect();
    let name = def.name.clone();
    if add {
        if !matches.is_empty() {
            return Err(invalid(format!(
                "there is already at least one DNS HOST record with a matching field in network {name}"
            )));
        }
        insert_at(&mut def.dns.hosts, command, host);
    } else if command == CMD_DELETE {
        match matches.as_slice() {
            [] => {
                return Err(invalid(format!(
                    "couldn't locate a matching DNS HOST record in network {name}"
                )))
            }
            [k] => {
                def.dns.hosts.remove(*k);
            }
            _ => {
                return Err(invalid(format!(
                    "multiple matching DNS HOST records were found in network {name}"
                )))
            }
        }
    } else {
        return Err(unknown_command(command));
    }
    Ok(())
}

/// virNetworkDefUpdateDNSSrv: the `dns-srv` section.
pub fn dns_srv(def: &mut NetworkDef, command: u32, e: &Element) -> Result<(), ConfError> {
    if command == CMD_MODIFY {
        return Err(unsupported(
            "DNS SRV records cannot be modified, only added or deleted",
        ));
    }
    check_element(def, e, "srv")?;
    let add = is_add(command);
    let srv = parse_dns_srv(&def.name, e, !add)?;
    let same = |want: &Option<String>, have: &Option<String>| want.is_none() || want == have;
    let matches: Vec<usize> = def
        .dns
        .srvs
        .iter()
        .enumerate()
        .filter(|(_, s)| {
            same(&srv.domain, &s.domain)
                && same(&srv.service, &s.service)
                && same(&srv.protocol, &s.protocol)
                && same(&srv.target, &s.target)
        })
        .map(|(i, _)| i)
        .collect();
    let name = def.name.clone();
    if add {
        if !matches.is_empty() {
            return Err(invalid(format!(
                "there is already at least one DNS SRV record matching all specified fields in network {name}"
            )));
        }
        insert_at(&mut def.dns.srvs, command, srv);
    } else if command == CMD_DELETE {
        match matches.as_slice() {
            [] => {
                return Err(invalid(format!(
                    "couldn't locate a matching DNS SRV record in network {name}"
                )))
            }
            [k] => {
                def.dns.srvs.remove(*k);
            }
            _ => {
                return Err(invalid(format!(
                    "multiple DNS SRV records matching all specified fields were found in network {name}"
                )))
            }
        }
    } else {
        return Err(unknown_command(command));
    }
    Ok(())
}

/// virNetworkDefUpdateDNSTxt: the `dns-txt` section.
pub fn dns_txt(def: &mut NetworkDef, command: u32, e: &Element) -> Result<(), ConfError> {
    if command == CMD_MODIFY {
        return Err(unsupported(
            "DNS TXT records cannot be modified, only added or deleted",
        ));
    }
    check_element(def, e, "txt")?;
    let add = is_add(command);
    let txt = parse_dns_txt(&def.name, e, !add)?;
    let found = def.dns.txts.iter().position(|t| t.name == txt.name);
    let name = def.name.clone();
    if add {
        if found.is_some() {
            return Err(invalid(format!(
                "there is already a DNS TXT record with name '{}' in network {name}",
                txt.name
            )));
        }
        insert_at(&mut def.dns.txts, command, txt);
    } else if command == CMD_DELETE {
        let k = found.ok_or_else(|| {
            invalid(format!(
                "couldn't locate a matching DNS TXT record in network {name}"
            ))
        })?;
        def.dns.txts.remove(k);
    } else {
        return Err(unknown_command(command));
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

    fn el(x: &str) -> Element {
        let name = x
            .trim_start_matches('<')
            .split([' ', '/', '>'])
            .next()
            .unwrap_or("")
            .to_string();
        parse_document(x, "t", &name).unwrap()
    }

    #[test]
    fn ranges_are_added_and_deleted_but_not_modified() {
        let mut d = net();
        section(
            &mut d,
            CMD_ADD_LAST,
            SECTION_IP_DHCP_RANGE,
            -1,
            &el("<range start='192.168.1.20' end='192.168.1.30'/>"),
        )
        .unwrap();
        assert_eq!(d.ips[0].ranges.len(), 2);
        let e = section(
            &mut d,
            CMD_ADD_LAST,
            SECTION_IP_DHCP_RANGE,
            -1,
            &el("<range start='192.168.1.20' end='192.168.1.30'/>"),
        )
        .unwrap_err();
        assert!(
            e.detail_text()
                .contains("matches \"<range start='192.168.1.20' end='192.168.1.30'/>\""),
            "{}",
            e.detail_text()
        );
        let e = section(
            &mut d,
            CMD_MODIFY,
            SECTION_IP_DHCP_RANGE,
            -1,
            &el("<range start='192.168.1.20' end='192.168.1.30'/>"),
        )
        .unwrap_err();
        assert_eq!(e.code, ErrorCode::OperationUnsupported);
        section(
            &mut d,
            CMD_DELETE,
            SECTION_IP_DHCP_RANGE,
            -1,
            &el("<range start='192.168.1.20' end='192.168.1.30'/>"),
        )
        .unwrap();
        assert_eq!(d.ips[0].ranges.len(), 1);
    }

    #[test]
    fn dns_records_and_portgroups() {
        let mut d = net();
        section(
            &mut d,
            CMD_ADD_LAST,
            SECTION_DNS_HOST,
            -1,
            &el("<host ip='192.168.1.50'><hostname>web</hostname></host>"),
        )
        .unwrap();
        let e = section(
            &mut d,
            CMD_ADD_FIRST,
            SECTION_DNS_HOST,
            -1,
            &el("<host ip='192.168.1.50'><hostname>x</hostname></host>"),
        )
        .unwrap_err();
        assert!(e
            .detail_text()
            .starts_with("there is already at least one DNS HOST record"));
        section(
            &mut d,
            CMD_DELETE,
            SECTION_DNS_HOST,
            -1,
            &el("<host><hostname>web</hostname></host>"),
        )
        .unwrap();
        assert!(d.dns.hosts.is_empty());
        section(
            &mut d,
            CMD_ADD_LAST,
            SECTION_DNS_TXT,
            -1,
            &el("<txt name='t' value='v'/>"),
        )
        .unwrap();
        section(
            &mut d,
            CMD_DELETE,
            SECTION_DNS_TXT,
            -1,
            &el("<txt name='t'/>"),
        )
        .unwrap();
        section(
            &mut d,
            CMD_ADD_LAST,
            SECTION_DNS_SRV,
            -1,
            &el("<srv service='ldap' protocol='tcp' target='a' port='389'/>"),
        )
        .unwrap();
        assert_eq!(d.dns.srvs.len(), 1);
        section(
            &mut d,
            CMD_DELETE,
            SECTION_DNS_SRV,
            -1,
            &el("<srv service='ldap' protocol='tcp'/>"),
        )
        .unwrap();
        section(
            &mut d,
            CMD_ADD_LAST,
            SECTION_PORTGROUP,
            -1,
            &el("<portgroup name='a' default='yes'/>"),
        )
        .unwrap();
        let e = section(
            &mut d,
            CMD_ADD_LAST,
            SECTION_PORTGROUP,
            -1,
            &el("<portgroup name='b' default='yes'/>"),
        )
        .unwrap_err();
        assert!(e.detail_text().contains("is already set as the default"));
        section(
            &mut d,
            CMD_MODIFY,
            SECTION_PORTGROUP,
            -1,
            &el("<portgroup name='a'/>"),
        )
        .unwrap();
        assert!(!d.portgroups[0].is_default);
        let e = section(
            &mut d,
            CMD_ADD_LAST,
            SECTION_BRIDGE,
            -1,
            &el("<bridge name='x'/>"),
        )
        .unwrap_err();
        assert_eq!(
            e.detail_text(),
            "can't update 'bridge' section of network 'n'"
        );
    }
}

// SPDX-License-Identifier: LGPL-2.1-or-later
//! dnsmasq's files for one network, as libvirt's bridge driver writes
//! them: `NAME.conf` (the configuration dnsmasq is started with),
//! `NAME.hostsfile` (static DHCP hosts, `dhcp-hostsfile=`) and
//! `NAME.addnhosts` (DNS host records, `addn-hosts=`), all under the
//! driver's dnsmasq directory (`/var/lib/libvirt/dnsmasq` for root).
//!
//! The option order, the DHCP range and lease arithmetic and every line's
//! shape follow networkDnsmasqConfContents; the capabilities assumed are
//! those of dnsmasq 2.67 and later (bind-dynamic, RA, DHCPv6).

use std::net::IpAddr;

use conf::network::addr;
use conf::network::{DhcpHost, ForwardType, IpDef, LeaseTime, LeaseUnit, NetworkDef};
use conf::{xml, ConfError};
use virterror::VirError;

use crate::net_err;

/// Where the files of one network live.
#[derive(Debug, Clone)]
pub struct DnsmasqPaths {
    /// `DIR/NAME.conf`.
    pub config: String,
    /// `DIR/NAME.hostsfile`.
    pub hostsfile: String,
    /// `DIR/NAME.addnhosts`.
    pub addnhosts: String,
}

impl DnsmasqPaths {
    /// The paths of network `name` under `dir` (the hosts files carry the
    /// name XML-escaped, as libvirt builds them).
    pub fn new(dir: &str, name: &str) -> DnsmasqPaths {
        let escaped = xml::escape(name);
        DnsmasqPaths {
            config: format!("{dir}/{name}.conf"),
            hostsfile: format!("{dir}/{escaped}.hostsfile"),
            addnhosts: format!("{dir}/{escaped}.addnhosts"),
        }
    }
}

/// The generated files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsmasqFiles {
    /// The configuration file.
    pub config: String,
    /// The DHCP hosts file; `None` when there is no static host (libvirt
    /// then writes an empty file when DHCP is on).
    pub hostsfile: Option<String>,
    /// The additional hosts file (may be empty).
    pub addnhosts: String,
}

fn lease_time(l: Option<&LeaseTime>) -> Option<String> {
    let l = l?;
    if l.expiry == 0 {
        return Some("infinite".into());
    }
    let unit = match l.unit {
        LeaseUnit::Seconds => 's',
        LeaseUnit::Minutes => 'm',
        LeaseUnit::Hours => 'h',
    };
    Some(format!("{}{unit}", l.expiry))
}

/// One `dhcp-hostsfile` line (dnsmasq's `--dhcp-host` syntax).
fn dhcp_host_line(h: &DhcpHost, ip: &IpAddr, ipv6: bool) -> String {
    let ip = addr::format(ip);
    let mut s = if ipv6 {
        let mut s = match (&h.name, &h.id) {
            (Some(n), Some(id)) => format!("id:{id},{n}"),
            (Some(n), None) => n.clone(),
            (None, Some(id)) => format!("id:{id}"),
            (None, None) => String::new(),
        };
        s.push_str(&format!(",[{ip}]"));
        s
    } else {
        match (&h.name, &h.mac) {
            (Some(n), Some(m)) => format!("{m},{ip},{n}"),
            (Some(n), None) => format!("{n},{ip}"),
            (None, m) => format!("{},{ip}", m.as_deref().unwrap_or("(null)")),
        }
    };
    if let Some(l) = lease_time(h.lease.as_ref()) {
        s.push(',');
        s.push_str(&l);
    }
    s
}

/// virSocketAddrPTRDomain: the reverse-lookup zone of a network.
fn ptr_domain(a: &IpAddr, prefix: i32) -> Option<String> {
    let prefix = u32::try_from(prefix).ok()?;
    match a {
        IpAddr::V4(v) => {
            if prefix == 0 || prefix >= 32 || prefix % 8 != 0 {
                return None;
            }
            let o = v.octets();
            let mut s = String::new();
            for i in (0..(prefix / 8) as usize).rev() {
                s.push_str(&format!("{}.", o[i]));
            }
            s.push_str("in-addr.arpa");
            Some(s)
        }
        IpAddr::V6(v) => {
            if prefix == 0 || prefix >= 128 || prefix % 4 != 0 {
                return None;
            }
            let nibbles: Vec<u8> = v.octets().iter().flat_map(|b| [b >> 4, b & 0xf]).collect();
            let mut s = String::new();
            for i in (0..(prefix / 4) as usize).rev() {
                s.push_str(&format!("{:x}.", nibbles[i]));
            }
            s.push_str("ip6.arpa");
            Some(s)
        }
    }
}

fn internal(msg: String) -> VirError {
    net_err(ConfError::internal(msg))
}

/// networkDnsmasqConfDHCP: the DHCP lines of one `<ip>`; adds the
/// range sizes to `leases` and the static hosts to `hosts`.
fn conf_dhcp(
    out: &mut String,
    ip: &IpDef,
    bridge: &str,
    leases: &mut u32,
    hosts: &mut Vec<String>,
) -> Result<(), VirError> {
    let prefix = ip.effective_prefix();
    if prefix < 0 {
        return Err(internal(format!("bridge '{bridge}' has an invalid prefix")));
    }
    let v6 = ip.address.is_ipv6();
    for r in &ip.ranges {
        let (s, e) = (addr::format(&r.start), addr::format(&r.end));
        if v6 {
            out.push_str(&format!("dhcp-range={s},{e},{prefix}"));
        } else {
            let mask = addr::prefix_to_netmask(&ip.address, prefix as u32).ok_or_else(|| {
                internal(format!(
                    "Failed to translate bridge '{bridge}' prefix {prefix} to netmask"
                ))
            })?;
            out.push_str(&format!("dhcp-range={s},{e},{mask}"));
        }
        if let Some(l) = lease_time(r.lease.as_ref()) {
            out.push(',');
            out.push_str(&l);
        }
        out.push('\n');
        *leases +=
            addr::range_size(&r.start, &r.end, Some((&ip.address, prefix))).map_err(net_err)?;
    }
    if ip.ranges.is_empty() && !ip.hosts.is_empty() {
        out.push_str(&format!("dhcp-range={},static", ip.address));
        if v6 {
            out.push_str(&format!(",{prefix}"));
        }
        out.push('\n');
    }
    for h in &ip.hosts {
        if let Some(a) = &h.ip {
            hosts.push(dhcp_host_line(h, a, v6));
        }
    }
    if !v6 {
        if ip.has_dhcp() {
            out.push_str("dhcp-no-override\ndhcp-authoritative\n");
        }
        if let Some(f) = &ip.bootfile {
            match &ip.bootserver {
                Some(s) => out.push_str(&format!("dhcp-boot={f},,{s}\n")),
                None => out.push_str(&format!("dhcp-boot={f}\n")),
            }
        }
    }
    Ok(())
}

/// networkDnsmasqConfContents: the files of `def` (whose bridge name is
/// set), `pidfile` being the `pid-file=` line's path when dnsmasq should
/// write one.
pub fn conf_contents(
    def: &NetworkDef,
    pidfile: Option<&str>,
    paths: &DnsmasqPaths,
) -> Result<DnsmasqFiles, VirError> {
    let dns = &def.dns;
    let want_dns = dns.enable != Some(false);
    let bridge = def.bridge.as_deref().unwrap_or("(null)");
    let mut out = format!(
        "##WARNING:  THIS IS AN AUTO-GENERATED FILE. CHANGES TO IT ARE LIKELY TO BE\n\
         ##OVERWRITTEN AND LOST.  Changes to this configuration should be made using:\n\
         ##    virsh net-edit {}\n\
         ## or other application using the libvirt API.\n\
         ##\n## dnsmasq conf file created by libvirt\n\
         strict-order\n",
        def.name
    );
    if !want_dns {
        out.push_str("port=0\n");
    }
    if want_dns && !dns.forwarders.is_empty() {
        let mut no_resolv = false;
        for f in &dns.forwarders {
            out.push_str("server=");
            if let Some(d) = &f.domain {
                out.push_str(&format!("/{d}/"));
            }
            match &f.addr {
                Some(a) => {
                    out.push_str(&format!("{a}\n"));
                    if f.domain.is_none() {
                        no_resolv = true;
                    }
                }
                None => out.push_str("#\n"),
            }
        }
        if no_resolv {
            out.push_str("no-resolv\n");
        }
    }
    if let Some(d) = &def.domain {
        if def.domain_local_only == Some(true) {
            out.push_str(&format!("local=/{d}/\n"));
        }
        out.push_str(&format!("domain={d}\nexpand-hosts\n"));
    }
    if want_dns {
        for ip in def.ips.iter().filter(|ip| ip.local_ptr == Some(true)) {
            let prefix = ip.effective_prefix();
            let ptr = ptr_domain(&ip.address, prefix).ok_or_else(|| {
                net_err(ConfError::unsupported(format!(
                    "PTR domain for {} network with prefix {} cannot be automatically created",
                    if ip.address.is_ipv4() { "IPv4" } else { "IPv6" },
                    prefix as u32
                )))
            })?;
            out.push_str(&format!("local=/{ptr}/\n"));
        }
    }
    if want_dns && dns.forward_plain_names == Some(false) {
        out.push_str("domain-needed\nlocal=//\n");
    }
    if let Some(p) = pidfile {
        out.push_str(&format!("pid-file={p}\n"));
    }
    out.push_str("except-interface=lo\n");
    out.push_str(&format!("bind-dynamic\ninterface={bridge}\n"));
    if def.forward.mode == ForwardType::None {
        out.push_str("dhcp-option=3\nno-resolv\nra-param=*,0,0\n");
    }
    if want_dns {
        for t in &dns.txts {
            out.push_str(&format!(
                "txt-record={},{}\n",
                t.name,
                t.value.as_deref().unwrap_or("(null)")
            ));
        }
        for s in &dns.srvs {
            let (Some(svc), Some(proto)) = (&s.service, &s.protocol) else {
                return Err(internal(format!(
                    "Missing required 'service' attribute in SRV record of network '{}'",
                    def.name
                )));
            };
            out.push_str(&format!("srv-host=_{svc}._{proto}"));
            if let Some(d) = &s.domain {
                out.push_str(&format!(".{d}"));
            }
            if let Some(t) = s.target.as_deref().filter(|t| *t != ".") {
                out.push_str(&format!(",{t}"));
                if s.port != 0 || s.priority != 0 || s.weight != 0 {
                    out.push_str(&format!(",{}", if s.port != 0 { s.port } else { 1 }));
                }
                if s.priority != 0 || s.weight != 0 {
                    out.push_str(&format!(",{}", s.priority));
                }
                if s.weight != 0 {
                    out.push_str(&format!(",{}", s.weight));
                }
            }
            out.push('\n');
        }
    }
    // The first <ip> with DHCP of each family; TFTP for every IPv4 one.
    let mut ipv4def: Option<&IpDef> = None;
    let mut ipv6def: Option<&IpDef> = None;
    let mut tftp = false;
    for ip in &def.ips {
        let slot = if ip.address.is_ipv4() {
            &mut ipv4def
        } else {
            &mut ipv6def
        };
        if ip.has_dhcp() {
            if slot.is_some() {
                return Err(net_err(ConfError::unsupported(format!(
                    "For {}, multiple DHCP definitions cannot be specified.",
                    if ip.address.is_ipv4() { "IPv4" } else { "IPv6" }
                ))));
            }
            *slot = Some(ip);
        }
        if ip.address.is_ipv4() {
            if let Some(root) = &ip.tftproot {
                if !tftp {
                    out.push_str("enable-tftp\n");
                    tftp = true;
                }
                out.push_str(&format!("tftp-root={root}\n"));
            }
        }
    }
    let mut leases = 0u32;
    let mut hosts = Vec::new();
    for ip in [ipv4def, ipv6def].into_iter().flatten() {
        conf_dhcp(&mut out, ip, bridge, &mut leases, &mut hosts)?;
    }
    if leases > 0 {
        out.push_str(&format!("dhcp-lease-max={leases}\n"));
    }
    if ipv4def.is_some() || ipv6def.is_some() {
        out.push_str(&format!("dhcp-hostsfile={}\n", paths.hostsfile));
    }
    if want_dns {
        out.push_str(&format!("addn-hosts={}\n", paths.addnhosts));
    }
    if def.mtu > 0 {
        out.push_str(&format!("dhcp-option=option:mtu,{}\n", def.mtu));
    }
    if ipv6def.is_some() {
        out.push_str("enable-ra\n");
    } else {
        for ip in def
            .ips
            .iter()
            .filter(|ip| ip.address.is_ipv6() && !ip.has_dhcp())
        {
            out.push_str(&format!("dhcp-range={},ra-only\n", ip.address));
        }
    }
    for o in &def.dnsmasq_options {
        out.push_str(o);
        out.push('\n');
    }
    let hostsfile = (!hosts.is_empty()).then(|| hosts.iter().map(|h| format!("{h}\n")).collect());
    Ok(DnsmasqFiles {
        config: out,
        hostsfile,
        addnhosts: addn_hosts(def),
    })
}

/// The `addn-hosts` file: one line per DNS host address, its names
/// after it, each field followed by a tab (names of repeated addresses
/// gathered on the first line of that address).
fn addn_hosts(def: &NetworkDef) -> String {
    let mut entries: Vec<(String, Vec<&str>)> = Vec::new();
    for h in &def.dns.hosts {
        let Some(ip) = &h.ip else { continue };
        let ip = addr::format(ip);
        for n in &h.names {
            match entries.iter_mut().find(|(a, _)| *a == ip) {
                Some((_, names)) => names.push(n),
                None => entries.push((ip.clone(), vec![n])),
            }
        }
    }
    let mut out = String::new();
    for (ip, names) in entries {
        out.push_str(&ip);
        out.push('\t');
        for n in names {
            out.push_str(n);
            out.push('\t');
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ptr_domains() {
        let a: IpAddr = "192.168.122.1".parse().unwrap();
        assert_eq!(ptr_domain(&a, 24).unwrap(), "122.168.192.in-addr.arpa");
        assert!(ptr_domain(&a, 20).is_none());
        let b: IpAddr = "2001:db8:ac10:fe01::1".parse().unwrap();
        assert_eq!(
            ptr_domain(&b, 64).unwrap(),
            "1.0.e.f.0.1.c.a.8.b.d.0.1.0.0.2.ip6.arpa"
        );
    }

    #[test]
    fn addn_hosts_gathers_names_per_address() {
        let def = NetworkDef::parse_str(
            "<network><name>n</name><dns>\
             <host ip='192.168.1.5'><hostname>a</hostname><hostname>b</hostname></host>\
             <host ip='192.168.1.5'><hostname>c</hostname></host>\
             <host ip='::1'><hostname>d</hostname></host></dns></network>",
        )
        .unwrap();
        assert_eq!(addn_hosts(&def), "192.168.1.5\ta\tb\tc\t\n::1\td\t\n");
    }
}

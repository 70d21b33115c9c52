// SPDX-License-Identifier: LGPL-2.1-or-later
//! The firewall rules of a virtual network as a backend-neutral model.
//!
//! libvirt keeps its rules in its own chains, hooked once into the
//! built-in ones, so the host's other rules are left alone: in the filter
//! table `LIBVIRT_INP` (from INPUT), `LIBVIRT_OUT` (OUTPUT), `LIBVIRT_FWO`,
//! `LIBVIRT_FWI`, `LIBVIRT_FWX` (FORWARD: out of, into and across
//! bridges), and `LIBVIRT_PRT` (POSTROUTING) in the nat and mangle
//! tables. A network adds, per bridge: DHCP/DNS(/TFTP) input and output,
//! the catch-all rejects and the guest-to-guest accept, and per `<ip>`
//! the forwarding accepts and (NAT) the masquerade rules, then the DHCP
//! checksum fix in a transaction whose failures are ignored.
//!
//! [`network_rules`] computes that list in libvirt's order
//! (bridge_driver_linux.c); [`iptables`] renders it as the commands
//! libvirt 9.6 runs, [`nftables`] as nft commands in a `libvirt_network`
//! table. Rules are inserted at the head of their chain, so the last
//! added is the first evaluated; removal deletes the same rules in
//! reverse order.

pub mod iptables;
pub mod nftables;

use std::net::IpAddr;

use conf::network::{addr, ForwardType, IpDef, NetworkDef};
use conf::ConfError;
use virterror::VirError;

use crate::net_err;

/// Which firewall program family a rule belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Layer {
    /// iptables / `ip` family.
    Ipv4,
    /// ip6tables / `ip6` family.
    Ipv6,
}

impl Layer {
    fn of(a: &IpAddr) -> Layer {
        if a.is_ipv4() {
            Layer::Ipv4
        } else {
            Layer::Ipv6
        }
    }
}

/// Transport protocol of a port rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    Tcp,
    Udp,
}

impl Proto {
    /// Its name for both backends.
    pub fn as_str(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
        }
    }
}

/// A network in CIDR form (`address/prefix`, host bits cleared).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    pub addr: IpAddr,
    pub prefix: u32,
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// Source NAT target of a masquerade rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NatTarget {
    /// MASQUERADE, optionally restricted to a source port range.
    Masquerade { ports: Option<(u32, u32)> },
    /// SNAT to an address range (the `<nat><address>` of the network),
    /// optionally with a port range.
    Snat {
        start: IpAddr,
        end: Option<IpAddr>,
        ports: Option<(u32, u32)>,
    },
}

/// What a rule does; each variant is one of libvirt's rule helpers and
/// fixes the table and chain it lives in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleKind {
    /// LIBVIRT_INP: accept `proto` to `port` arriving on the bridge.
    Input {
        iface: String,
        proto: Proto,
        port: u16,
    },
    /// LIBVIRT_OUT: accept `proto` to `port` leaving through the bridge.
    Output {
        iface: String,
        proto: Proto,
        port: u16,
    },
    /// LIBVIRT_FWO: accept traffic from the network's addresses coming
    /// from the bridge (and going out through `physdev` when set).
    ForwardAllowOut {
        net: Cidr,
        iface: String,
        physdev: Option<String>,
    },
    /// LIBVIRT_FWI: accept replies (conntrack established/related) to
    /// the network.
    ForwardAllowRelatedIn {
        net: Cidr,
        iface: String,
        physdev: Option<String>,
    },
    /// LIBVIRT_FWI: accept everything to the network (routed mode).
    ForwardAllowIn {
        net: Cidr,
        iface: String,
        physdev: Option<String>,
    },
    /// LIBVIRT_FWX: accept guest-to-guest traffic on the bridge.
    ForwardAllowCross { iface: String },
    /// LIBVIRT_FWO: reject anything else from the bridge.
    ForwardRejectOut { iface: String },
    /// LIBVIRT_FWI: reject anything else to the bridge.
    ForwardRejectIn { iface: String },
    /// nat LIBVIRT_PRT: translate traffic from the network leaving it.
    Masquerade {
        net: Cidr,
        physdev: Option<String>,
        proto: Option<Proto>,
        target: NatTarget,
    },
    /// nat LIBVIRT_PRT: leave traffic to `dest` untranslated.
    DontMasquerade {
        net: Cidr,
        physdev: Option<String>,
        dest: Cidr,
    },
    /// mangle LIBVIRT_PRT: fill in UDP checksums of DHCP replies.
    ChecksumFill { iface: String, port: u16 },
}

/// One rule and its layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub layer: Layer,
    pub kind: RuleKind,
}

/// The rules of one network, in insertion order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkRules {
    /// Added as one transaction: on a failure the ones already added are
    /// removed again.
    pub main: Vec<Rule>,
    /// Added afterwards, failures ignored (not every kernel has the
    /// CHECKSUM target).
    pub checksum: Vec<Rule>,
}

/// libvirt's private chain of a built-in one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrivateChain {
    pub table: &'static str,
    pub parent: &'static str,
    pub child: &'static str,
}

/// The private chains, per table, in the order libvirt creates them.
pub const PRIVATE_CHAINS: &[PrivateChain] = &[
    PrivateChain {
        table: "filter",
        parent: "INPUT",
        child: "LIBVIRT_INP",
    },
    PrivateChain {
        table: "filter",
        parent: "OUTPUT",
        child: "LIBVIRT_OUT",
    },
    PrivateChain {
        table: "filter",
        parent: "FORWARD",
        child: "LIBVIRT_FWO",
    },
    PrivateChain {
        table: "filter",
        parent: "FORWARD",
        child: "LIBVIRT_FWI",
    },
    PrivateChain {
        table: "filter",
        parent: "FORWARD",
        child: "LIBVIRT_FWX",
    },
    PrivateChain {
        table: "nat",
        parent: "POSTROUTING",
        child: "LIBVIRT_PRT",
    },
    PrivateChain {
        table: "mangle",
        parent: "POSTROUTING",
        child: "LIBVIRT_PRT",
    },
];

/// 255.255.255.255/32: the local broadcast, never translated (strict
/// DHCP clients refuse replies whose source port changed).
fn local_broadcast() -> Cidr {
    Cidr {
        addr: IpAddr::V4(std::net::Ipv4Addr::BROADCAST),
        prefix: 32,
    }
}

/// The link-local multicast range of a family, never forwarded.
fn local_multicast(layer: Layer) -> Cidr {
    match layer {
        Layer::Ipv4 => Cidr {
            addr: IpAddr::V4(std::net::Ipv4Addr::new(224, 0, 0, 0)),
            prefix: 24,
        },
        Layer::Ipv6 => Cidr {
            addr: IpAddr::V6(std::net::Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0)),
            prefix: 16,
        },
    }
}

struct Builder<'a> {
    def: &'a NetworkDef,
    bridge: String,
    rules: Vec<Rule>,
}

impl Builder<'_> {
    fn push(&mut self, layer: Layer, kind: RuleKind) {
        self.rules.push(Rule { layer, kind });
    }

    fn io(&mut self, layer: Layer, input: bool, proto: Proto, port: u16) {
        let iface = self.bridge.clone();
        let kind = if input {
            RuleKind::Input { iface, proto, port }
        } else {
            RuleKind::Output { iface, proto, port }
        };
        self.push(layer, kind);
    }

    fn catch_all(&mut self, layer: Layer) {
        let iface = self.bridge.clone();
        self.push(
            layer,
            RuleKind::ForwardRejectOut {
                iface: iface.clone(),
            },
        );
        self.push(
            layer,
            RuleKind::ForwardRejectIn {
                iface: iface.clone(),
            },
        );
        self.push(layer, RuleKind::ForwardAllowCross { iface });
    }

    /// networkAddGeneralIPv4FirewallRules / ...IPv6...
    fn general(&mut self) {
        use Proto::{Tcp, Udp};
        let v4 = Layer::Ipv4;
        let tftp = self
            .def
            .ips
            .iter()
            .filter(|ip| ip.address.is_ipv4())
            .find(|ip| ip.has_dhcp() || ip.tftproot.is_some())
            .is_some_and(|ip| ip.tftproot.is_some());
        self.io(v4, true, Tcp, 67);
        self.io(v4, true, Udp, 67);
        self.io(v4, false, Tcp, 68);
        self.io(v4, false, Udp, 68);
        self.io(v4, true, Tcp, 53);
        self.io(v4, true, Udp, 53);
        self.io(v4, false, Tcp, 53);
        self.io(v4, false, Udp, 53);
        if tftp {
            self.io(v4, true, Udp, 69);
            self.io(v4, false, Udp, 69);
        }
        self.catch_all(v4);
        let has_v6 = self.def.ips.iter().any(|ip| ip.address.is_ipv6());
        if !has_v6 && !self.def.ipv6nogw {
            return;
        }
        let v6 = Layer::Ipv6;
        self.catch_all(v6);
        if has_v6 {
            self.io(v6, true, Tcp, 53);
            self.io(v6, true, Udp, 53);
            self.io(v6, false, Tcp, 53);
            self.io(v6, false, Udp, 53);
            self.io(v6, true, Udp, 547);
            self.io(v6, false, Udp, 546);
        }
    }

    fn network_of(&self, ip: &IpDef) -> Result<Cidr, VirError> {
        let prefix = u32::try_from(ip.effective_prefix()).map_err(|_| {
            net_err(ConfError::internal(format!(
                "Invalid prefix or netmask for '{}'",
                self.bridge
            )))
        })?;
        let a = addr::mask_by_prefix(&ip.address, prefix).ok_or_else(|| {
            net_err(ConfError::internal(format!(
                "Invalid prefix or netmask for '{}'",
                self.bridge
            )))
        })?;
        Ok(Cidr { addr: a, prefix })
    }

    /// The forwarding accepts of one `<ip>`: out of the bridge, and into
    /// it (replies only when `related_only`, for NAT); returns what the
    /// NAT rules need.
    fn forward_accepts(
        &mut self,
        ip: &IpDef,
        related_only: bool,
    ) -> Result<(Cidr, Layer, Option<String>), VirError> {
        let net = self.network_of(ip)?;
        let layer = Layer::of(&ip.address);
        let iface = self.bridge.clone();
        let physdev = self.def.forward.netdev(0).map(str::to_string);
        self.push(
            layer,
            RuleKind::ForwardAllowOut {
                net,
                iface: iface.clone(),
                physdev: physdev.clone(),
            },
        );
        let (iface, pd) = (iface, physdev.clone());
        self.push(
            layer,
            if related_only {
                RuleKind::ForwardAllowRelatedIn {
                    net,
                    iface,
                    physdev: pd,
                }
            } else {
                RuleKind::ForwardAllowIn {
                    net,
                    iface,
                    physdev: pd,
                }
            },
        );
        Ok((net, layer, physdev))
    }

    fn routing(&mut self, ip: &IpDef) -> Result<(), VirError> {
        self.forward_accepts(ip, false).map(|_| ())
    }

    fn masquerading(&mut self, ip: &IpDef) -> Result<(), VirError> {
        let (net, layer, physdev) = self.forward_accepts(ip, true)?;
        let fwd = &self.def.forward;
        let snat = fwd
            .nat_addr
            .filter(|(s, _)| Layer::of(s) == layer)
            .map(|(s, e)| (s, (Layer::of(&e) == layer).then_some(e)));
        for proto in [None, Some(Proto::Udp), Some(Proto::Tcp)] {
            let ports = match proto {
                None => None,
                Some(_) => {
                    let (s, e) = match fwd.nat_port {
                        (0, 0) => (1024, 65535),
                        p => p,
                    };
                    if !(s < e && e < 65536) {
                        return Err(net_err(ConfError::internal(format!(
                            "Invalid port range '{s}-{e}'."
                        ))));
                    }
                    Some((s, e))
                }
            };
            let target = match snat {
                Some((start, end)) => NatTarget::Snat { start, end, ports },
                None => NatTarget::Masquerade { ports },
            };
            self.push(
                layer,
                RuleKind::Masquerade {
                    net,
                    physdev: physdev.clone(),
                    proto,
                    target,
                },
            );
        }
        if layer == Layer::Ipv4 {
            self.push(
                layer,
                RuleKind::DontMasquerade {
                    net,
                    physdev: physdev.clone(),
                    dest: local_broadcast(),
                },
            );
        }
        self.push(
            layer,
            RuleKind::DontMasquerade {
                net,
                physdev,
                dest: local_multicast(layer),
            },
        );
        Ok(())
    }
}

/// networkAddFirewallRules: the rules network `def` (with its bridge
/// name set) needs, without firewalld.
pub fn network_rules(def: &NetworkDef) -> Result<NetworkRules, VirError> {
    if let Some(zone) = &def.bridge_zone {
        return Err(net_err(ConfError::internal(format!(
            "zone {zone} requested for network {} but firewalld is not active",
            def.name
        ))));
    }
    let mut b = Builder {
        def,
        bridge: def.bridge.clone().unwrap_or_default(),
        rules: Vec::new(),
    };
    b.general();
    for ip in &def.ips {
        match def.forward.mode {
            ForwardType::Nat => {
                if ip.address.is_ipv4() || def.forward.nat_ipv6 == Some(true) {
                    b.masquerading(ip)?;
                } else {
                    b.routing(ip)?;
                }
            }
            ForwardType::Route => b.routing(ip)?,
            _ => {}
        }
    }
    let main = std::mem::take(&mut b.rules);
    let mut checksum = Vec::new();
    if def
        .ips
        .iter()
        .any(|ip| ip.address.is_ipv4() && ip.has_dhcp())
    {
        checksum.push(Rule {
            layer: Layer::Ipv4,
            kind: RuleKind::ChecksumFill {
                iface: b.bridge.clone(),
                port: 68,
            },
        });
    }
    Ok(NetworkRules { main, checksum })
}

/// The firewall backends a host can use (`network.conf`
/// `firewall_backend`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Iptables,
    Nftables,
}

impl Backend {
    /// Parses a `firewall_backend` value.
    pub fn parse(s: &str) -> Option<Backend> {
        match s {
            "iptables" => Some(Backend::Iptables),
            "nftables" => Some(Backend::Nftables),
            _ => None,
        }
    }

    /// The backend to use when the config names none: nftables when its
    /// program is available, else iptables, else none.
    pub fn default_for(has_nft: bool, has_iptables: bool) -> Option<Backend> {
        if has_nft {
            Some(Backend::Nftables)
        } else if has_iptables {
            Some(Backend::Iptables)
        } else {
            None
        }
    }
}

/// A command to run: the program name then its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    pub args: Vec<String>,
}

impl Command {
    fn new<I: IntoIterator<Item = S>, S: Into<String>>(args: I) -> Command {
        Command {
            args: args.into_iter().map(Into::into).collect(),
        }
    }
}

/// Shell quoting as libvirt's virBufferEscapeShell.
fn shell_escape(s: &str) -> String {
    if s.is_empty() {
        return "''".into();
    }
    if !s.contains(|c: char| "\r\t\n !\"#$&'()*;<>?[\\]^`{|}~".contains(c)) {
        return s.to_string();
    }
    let mut out = String::from("'");
    for c in s.chars() {
        if c == '\'' {
            out.push_str("'\\'");
        }
        out.push(c);
    }
    out.push('\'');
    out
}

/// Commands as libvirt's dry run prints them (virCommandToStringBuf with
/// line breaks): an option and its values on one line, lines joined by
/// ` \`, one command per line.
pub fn format_commands(cmds: &[Command]) -> String {
    let mut out = String::new();
    for c in cmds {
        let Some((prog, args)) = c.args.split_first() else {
            continue;
        };
        out.push_str(&shell_escape(prog));
        let mut had_option = false;
        for (i, a) in args.iter().enumerate() {
            out.push(' ');
            let mut linebreak = true;
            if !a.starts_with('-') {
                // i - 1 in `args` is the argument before this one.
                let from = i.saturating_sub(1);
                if had_option && i > 0 && args[from..].iter().any(|x| x.starts_with('-')) {
                    linebreak = false;
                }
            } else {
                had_option = true;
            }
            if linebreak {
                out.push_str("\\\n");
            }
            out.push_str(&shell_escape(a));
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_like_libvirt() {
        assert_eq!(shell_escape("!"), "'!'");
        assert_eq!(shell_escape("a'b c"), "'a'\\''b c'");
        assert_eq!(shell_escape("1024-65535"), "1024-65535");
    }

    #[test]
    fn zone_without_firewalld_is_refused() {
        let def = NetworkDef::parse_str(
            "<network><name>z</name><bridge name='vb0' zone='trusted'/>\
             <forward/><ip address='10.1.0.1' prefix='24'/></network>",
        )
        .unwrap();
        let err = network_rules(&def).unwrap_err();
        assert_eq!(
            err.detail.as_deref(),
            Some("zone trusted requested for network z but firewalld is not active")
        );
    }

    #[test]
    fn isolated_network_has_only_general_rules() {
        let def = NetworkDef::parse_str(
            "<network><name>i</name><bridge name='vb1'/><ip address='10.2.0.1' prefix='24'/></network>",
        )
        .unwrap();
        let r = network_rules(&def).unwrap();
        assert_eq!(r.main.len(), 11);
        assert!(r.checksum.is_empty());
        assert!(r.main.iter().all(|x| x.layer == Layer::Ipv4));
    }

    #[test]
    fn nat_port_range_must_be_increasing() {
        let def = NetworkDef::parse_str(
            "<network><name>p</name><bridge name='vb2'/><forward mode='nat'><nat>\
             <port start='2000' end='2000'/></nat></forward>\
             <ip address='10.3.0.1' prefix='24'/></network>",
        )
        .unwrap();
        let err = network_rules(&def).unwrap_err();
        assert_eq!(
            err.detail.as_deref(),
            Some("Invalid port range '2000-2000'.")
        );
    }
}

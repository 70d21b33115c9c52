// SPDX-License-Identifier: LGPL-2.1-or-later
//! The nftables rendering of the rule model, laid out as libvirt's later
//! nftables backend does: one `libvirt_network` table per family (`ip`,
//! `ip6`) with a `forward` base chain jumping to `guest_output`,
//! `guest_input` and `guest_cross`, and a `guest_nat` postrouting chain.
//!
//! Two rule kinds have no nftables form: INPUT/OUTPUT accepts (an accept
//! in one table cannot override another table's drop, so they would do
//! nothing) and the DHCP checksum fix (nftables has no CHECKSUM target);
//! [`rule_command`] returns `None` for them. Rules are inserted with
//! `-ae` so nft echoes each rule's handle, which [`parse_handle`] reads
//! and [`delete_command`] needs to remove the rule again.

use super::{Command, Layer, NatTarget, Rule, RuleKind};

/// libvirt's table name.
pub const TABLE: &str = "libvirt_network";

/// The nft family of a layer.
pub fn family(layer: Layer) -> &'static str {
    match layer {
        Layer::Ipv4 => "ip",
        Layer::Ipv6 => "ip6",
    }
}

fn nft(args: &[&str]) -> Command {
    Command::new(std::iter::once("nft").chain(args.iter().copied()))
}

/// The commands creating the table and its chains for a family (each
/// succeeds when the object exists already).
pub fn setup_table(layer: Layer) -> Vec<Command> {
    let f = family(layer);
    let mut out = vec![nft(&["add", "table", f, TABLE])];
    out.push(nft(&[
        "add", "chain", f, TABLE, "forward", "{", "type", "filter", "hook", "forward", "priority",
        "filter", ";", "policy", "accept", ";", "}",
    ]));
    for c in ["guest_output", "guest_input", "guest_cross"] {
        out.push(nft(&["add", "chain", f, TABLE, c]));
    }
    out.push(nft(&[
        "add",
        "chain",
        f,
        TABLE,
        "guest_nat",
        "{",
        "type",
        "nat",
        "hook",
        "postrouting",
        "priority",
        "srcnat",
        ";",
        "policy",
        "accept",
        ";",
        "}",
    ]));
    // Inserted at the head, so evaluated cross, input, output.
    for c in ["guest_output", "guest_input", "guest_cross"] {
        out.push(nft(&[
            "insert", "rule", f, TABLE, "forward", "counter", "jump", c,
        ]));
    }
    out
}

/// The command that removes the whole table of a family (what a host
/// without any running network can do).
pub fn teardown_table(layer: Layer) -> Command {
    nft(&["delete", "table", family(layer), TABLE])
}

/// The chain a rule lives in, `None` for the kinds nftables does not
/// render.
pub fn chain(kind: &RuleKind) -> Option<&'static str> {
    Some(match kind {
        RuleKind::Input { .. } | RuleKind::Output { .. } | RuleKind::ChecksumFill { .. } => {
            return None
        }
        RuleKind::ForwardAllowOut { .. } | RuleKind::ForwardRejectOut { .. } => "guest_output",
        RuleKind::ForwardAllowRelatedIn { .. }
        | RuleKind::ForwardAllowIn { .. }
        | RuleKind::ForwardRejectIn { .. } => "guest_input",
        RuleKind::ForwardAllowCross { .. } => "guest_cross",
        RuleKind::Masquerade { .. } | RuleKind::DontMasquerade { .. } => "guest_nat",
    })
}

fn quoted(s: &str) -> String {
    format!("\"{s}\"")
}

/// The `nft -ae insert rule ...` command adding a rule.
pub fn rule_command(rule: &Rule) -> Option<Command> {
    let ch = chain(&rule.kind)?;
    let f = family(rule.layer);
    let mut a: Vec<String> = ["nft", "-ae", "insert", "rule", f, TABLE, ch]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut add = |items: &[&str]| a.extend(items.iter().map(|s| s.to_string()));
    match &rule.kind {
        RuleKind::ForwardAllowOut {
            net,
            iface,
            physdev,
        } => {
            add(&[f, "saddr", &net.to_string(), "iifname", &quoted(iface)]);
            if let Some(p) = physdev {
                add(&["oifname", &quoted(p)]);
            }
            add(&["counter", "accept"]);
        }
        RuleKind::ForwardAllowRelatedIn {
            net,
            iface,
            physdev,
        }
        | RuleKind::ForwardAllowIn {
            net,
            iface,
            physdev,
        } => {
            if let Some(p) = physdev {
                add(&["iifname", &quoted(p)]);
            }
            add(&["oifname", &quoted(iface), f, "daddr", &net.to_string()]);
            if matches!(rule.kind, RuleKind::ForwardAllowRelatedIn { .. }) {
                add(&["ct", "state", "related,established"]);
            }
            add(&["counter", "accept"]);
        }
        RuleKind::ForwardAllowCross { iface } => add(&[
            "iifname",
            &quoted(iface),
            "oifname",
            &quoted(iface),
            "counter",
            "accept",
        ]),
        RuleKind::ForwardRejectOut { iface } => {
            add(&["iifname", &quoted(iface), "counter", "reject"])
        }
        RuleKind::ForwardRejectIn { iface } => {
            add(&["oifname", &quoted(iface), "counter", "reject"])
        }
        RuleKind::Masquerade {
            net,
            physdev,
            proto,
            target,
        } => {
            let n = net.to_string();
            add(&[f, "saddr", &n, f, "daddr", "!=", &n]);
            if let Some(p) = physdev {
                add(&["oifname", &quoted(p)]);
            }
            if let Some(p) = proto {
                add(&["meta", "l4proto", p.as_str()]);
            }
            add(&["counter"]);
            match target {
                NatTarget::Masquerade { ports } => {
                    add(&["masquerade"]);
                    if let Some((s, e)) = ports {
                        add(&["to", &format!(":{s}-{e}")]);
                    }
                }
                NatTarget::Snat { start, end, ports } => {
                    let mut to = start.to_string();
                    if let Some(e) = end {
                        to.push_str(&format!("-{e}"));
                    }
                    if let Some((s, e)) = ports {
                        to.push_str(&format!(":{s}-{e}"));
                    }
                    add(&["snat", "to", &to]);
                }
            }
        }
        RuleKind::DontMasquerade { net, physdev, dest } => {
            if let Some(p) = physdev {
                add(&["oifname", &quoted(p)]);
            }
            add(&[
                f,
                "saddr",
                &net.to_string(),
                f,
                "daddr",
                &dest.to_string(),
                "counter",
                "return",
            ]);
        }
        RuleKind::Input { .. } | RuleKind::Output { .. } | RuleKind::ChecksumFill { .. } => {
            return None
        }
    }
    Some(Command { args: a })
}

/// The handle nft echoes for an added rule (`... # handle 42`).
pub fn parse_handle(echo: &str) -> Option<u64> {
    echo.lines().rev().find_map(|l| {
        l.rsplit_once("# handle ")
            .and_then(|(_, h)| h.trim().parse().ok())
    })
}

/// The command deleting the rule with `handle` from `chain`.
pub fn delete_command(layer: Layer, chain: &str, handle: u64) -> Command {
    let h = handle.to_string();
    nft(&["delete", "rule", family(layer), TABLE, chain, "handle", &h])
}

#[cfg(test)]
mod tests {
    use super::super::network_rules;
    use super::*;
    use conf::NetworkDef;

    fn nat_default() -> NetworkDef {
        NetworkDef::parse_str(
            "<network><name>default</name><bridge name='virbr0'/><forward/>\
             <ip address='192.168.122.1' netmask='255.255.255.0'><dhcp>\
             <range start='192.168.122.2' end='192.168.122.254'/></dhcp></ip></network>",
        )
        .unwrap()
    }

    #[test]
    fn nat_rules_render_as_nft_commands() {
        let rules = network_rules(&nat_default()).unwrap();
        let cmds: Vec<String> = rules
            .main
            .iter()
            .filter_map(rule_command)
            .map(|c| c.args.join(" "))
            .collect();
        assert!(cmds.contains(
            &"nft -ae insert rule ip libvirt_network guest_output iifname \"virbr0\" counter reject"
                .to_string()
        ));
        assert!(cmds.contains(
            &"nft -ae insert rule ip libvirt_network guest_nat ip saddr 192.168.122.0/24 ip daddr != 192.168.122.0/24 meta l4proto tcp counter masquerade to :1024-65535"
                .to_string()
        ));
        assert!(cmds.contains(
            &"nft -ae insert rule ip libvirt_network guest_input oifname \"virbr0\" ip daddr 192.168.122.0/24 ct state related,established counter accept"
                .to_string()
        ));
        // INPUT/OUTPUT accepts and the checksum fix have no nftables form.
        assert_eq!(cmds.len(), 10);
        assert!(rules.checksum.iter().all(|r| rule_command(r).is_none()));
    }

    #[test]
    fn handles_are_read_from_the_echo() {
        assert_eq!(
            parse_handle(
                "add rule ip libvirt_network guest_cross iifname \"v\" accept # handle 17\n"
            ),
            Some(17)
        );
        assert_eq!(parse_handle("nothing"), None);
    }
}

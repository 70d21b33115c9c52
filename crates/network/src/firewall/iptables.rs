// SPDX-License-Identifier: LGPL-2.1-or-later
//! The iptables / ip6tables rendering of the rule model: the commands
//! libvirt 9.6 runs (viriptables.c), always with `-w` (wait for the
//! xtables lock).

use super::{Command, Layer, NatTarget, NetworkRules, Rule, RuleKind, PRIVATE_CHAINS};

/// The program of a layer.
pub fn program(layer: Layer) -> &'static str {
    match layer {
        Layer::Ipv4 => "iptables",
        Layer::Ipv6 => "ip6tables",
    }
}

/// The tables holding libvirt's private chains, in libvirt's order.
pub const TABLES: [&str; 3] = ["filter", "nat", "mangle"];

fn start(layer: Layer, table: &str) -> Vec<String> {
    vec![
        program(layer).to_string(),
        "-w".into(),
        "--table".into(),
        table.into(),
    ]
}

/// `--list-rules` of each table: what libvirt reads to learn which
/// private chains and jumps exist already.
pub fn list_rules(layer: Layer) -> Vec<Command> {
    TABLES
        .iter()
        .map(|t| {
            let mut a = start(layer, t);
            a.push("--list-rules".into());
            Command { args: a }
        })
        .collect()
}

/// The commands that create the private chains of `table` missing from
/// `listing` (its `--list-rules` output) and hook each into its parent
/// unless the jump is there already.
pub fn private_chains(layer: Layer, table: &str, listing: &str) -> Vec<Command> {
    let mut chains: Vec<&str> = Vec::new();
    let mut links: Vec<(&str, &str)> = Vec::new();
    for line in listing.lines() {
        if let Some(c) = line.strip_prefix("-N ") {
            chains.push(c.trim_end());
        } else if let Some(rest) = line.strip_prefix("-A ") {
            if let Some((parent, tail)) = rest.split_once(' ') {
                if let Some(child) = tail.strip_prefix("-j ") {
                    links.retain(|(c, _)| *c != child);
                    links.push((child, parent));
                }
            }
        }
    }
    let mut out = Vec::new();
    for pc in PRIVATE_CHAINS.iter().filter(|c| c.table == table) {
        if !chains.contains(&pc.child) {
            let mut a = start(layer, table);
            a.extend(["--new-chain".to_string(), pc.child.to_string()]);
            out.push(Command { args: a });
        }
        let hooked = links.iter().any(|(c, p)| *c == pc.child && *p == pc.parent);
        if !hooked {
            let mut a = start(layer, table);
            a.extend([
                "--insert".to_string(),
                pc.parent.to_string(),
                "--jump".to_string(),
                pc.child.to_string(),
            ]);
            out.push(Command { args: a });
        }
    }
    out
}

fn push(a: &mut Vec<String>, items: &[&str]) {
    a.extend(items.iter().map(|s| s.to_string()));
}

/// The command that inserts (or, with `insert` false, deletes) a rule.
pub fn rule_command(rule: &Rule, insert: bool) -> Command {
    let op = if insert { "--insert" } else { "--delete" };
    let (table, chain) = match &rule.kind {
        RuleKind::Input { .. } => ("filter", "LIBVIRT_INP"),
        RuleKind::Output { .. } => ("filter", "LIBVIRT_OUT"),
        RuleKind::ForwardAllowOut { .. } | RuleKind::ForwardRejectOut { .. } => {
            ("filter", "LIBVIRT_FWO")
        }
        RuleKind::ForwardAllowRelatedIn { .. }
        | RuleKind::ForwardAllowIn { .. }
        | RuleKind::ForwardRejectIn { .. } => ("filter", "LIBVIRT_FWI"),
        RuleKind::ForwardAllowCross { .. } => ("filter", "LIBVIRT_FWX"),
        RuleKind::Masquerade { .. } | RuleKind::DontMasquerade { .. } => ("nat", "LIBVIRT_PRT"),
        RuleKind::ChecksumFill { .. } => ("mangle", "LIBVIRT_PRT"),
    };
    let mut a = start(rule.layer, table);
    push(&mut a, &[op, chain]);
    match &rule.kind {
        RuleKind::Input { iface, proto, port } | RuleKind::Output { iface, proto, port } => {
            let dir = if matches!(rule.kind, RuleKind::Input { .. }) {
                "--in-interface"
            } else {
                "--out-interface"
            };
            let port = port.to_string();
            push(
                &mut a,
                &[
                    dir,
                    iface,
                    "--protocol",
                    proto.as_str(),
                    "--destination-port",
                    &port,
                    "--jump",
                    "ACCEPT",
                ],
            );
        }
        RuleKind::ForwardAllowOut {
            net,
            iface,
            physdev,
        } => {
            let net = net.to_string();
            push(&mut a, &["--source", &net, "--in-interface", iface]);
            if let Some(p) = physdev {
                push(&mut a, &["--out-interface", p]);
            }
            push(&mut a, &["--jump", "ACCEPT"]);
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
            let net = net.to_string();
            push(&mut a, &["--destination", &net]);
            if let Some(p) = physdev {
                push(&mut a, &["--in-interface", p]);
            }
            push(&mut a, &["--out-interface", iface]);
            if matches!(rule.kind, RuleKind::ForwardAllowRelatedIn { .. }) {
                push(
                    &mut a,
                    &["--match", "conntrack", "--ctstate", "ESTABLISHED,RELATED"],
                );
            }
            push(&mut a, &["--jump", "ACCEPT"]);
        }
        RuleKind::ForwardAllowCross { iface } => push(
            &mut a,
            &[
                "--in-interface",
                iface,
                "--out-interface",
                iface,
                "--jump",
                "ACCEPT",
            ],
        ),
        RuleKind::ForwardRejectOut { iface } => {
            push(&mut a, &["--in-interface", iface, "--jump", "REJECT"])
        }
        RuleKind::ForwardRejectIn { iface } => {
            push(&mut a, &["--out-interface", iface, "--jump", "REJECT"])
        }
        RuleKind::Masquerade {
            net,
            physdev,
            proto,
            target,
        } => {
            let net = net.to_string();
            push(&mut a, &["--source", &net]);
            if let Some(p) = proto {
                push(&mut a, &["-p", p.as_str()]);
            }
            push(&mut a, &["!", "--destination", &net]);
            if let Some(p) = physdev {
                push(&mut a, &["--out-interface", p]);
            }
            match target {
                NatTarget::Snat { start, end, ports } => {
                    let mut range = start.to_string();
                    if let Some(e) = end {
                        range.push_str(&format!("-{e}"));
                    }
                    if let Some((s, e)) = ports {
                        range.push_str(&format!(":{s}-{e}"));
                    }
                    push(&mut a, &["--jump", "SNAT", "--to-source", &range]);
                }
                NatTarget::Masquerade { ports } => {
                    push(&mut a, &["--jump", "MASQUERADE"]);
                    if let Some((s, e)) = ports {
                        let r = format!("{s}-{e}");
                        push(&mut a, &["--to-ports", &r]);
                    }
                }
            }
        }
        RuleKind::DontMasquerade { net, physdev, dest } => {
            if let Some(p) = physdev {
                push(&mut a, &["--out-interface", p]);
            }
            let (net, dest) = (net.to_string(), dest.to_string());
            push(
                &mut a,
                &["--source", &net, "--destination", &dest, "--jump", "RETURN"],
            );
        }
        RuleKind::ChecksumFill { iface, port } => {
            let port = port.to_string();
            push(
                &mut a,
                &[
                    "--out-interface",
                    iface,
                    "--protocol",
                    "udp",
                    "--destination-port",
                    &port,
                    "--jump",
                    "CHECKSUM",
                    "--checksum-fill",
                ],
            );
        }
    }
    Command { args: a }
}

/// The commands adding a network's rules: the main transaction, then the
/// checksum rules (whose failures the caller ignores).
pub fn setup_commands(rules: &NetworkRules) -> (Vec<Command>, Vec<Command>) {
    (
        rules.main.iter().map(|r| rule_command(r, true)).collect(),
        rules
            .checksum
            .iter()
            .map(|r| rule_command(r, true))
            .collect(),
    )
}

/// The commands removing a network's rules (failures ignored): the
/// checksum rules, then the main ones, each in reverse order.
pub fn teardown_commands(rules: &NetworkRules) -> Vec<Command> {
    rules
        .checksum
        .iter()
        .rev()
        .chain(rules.main.iter().rev())
        .map(|r| rule_command(r, false))
        .collect()
}

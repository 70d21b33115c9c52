// SPDX-License-Identifier: LGPL-2.1-or-later
//! Applying and removing a network's firewall rules (`network::firewall`'s
//! model) through the chosen backend.
//!
//! iptables: libvirt's private chains are created and hooked once (what
//! `--list-rules` shows missing), then the rules inserted; a rule is
//! removed by deleting the same specification. nftables: the
//! `libvirt_network` table and its chains are added (idempotent), each
//! rule inserted with its handle echoed; removal deletes those handles,
//! which the live status file keeps across daemon restarts.
//! Either way a failure part way removes what was added.

use network::firewall::{self, iptables, nftables, Backend, Command, Layer, NetworkRules};
use virterror::{ErrorCode, ErrorDomain, VirError};

use crate::runtime::NetHost;

/// One nftables rule the driver added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NftRule {
    pub layer: Layer,
    pub chain: String,
    pub handle: u64,
}

/// What removing a network's rules needs to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// Rules are derived from the definition again.
    Iptables,
    /// The handles of the rules added, in order.
    Nftables(Vec<NftRule>),
}

impl Applied {
    pub fn backend(&self) -> Backend {
        match self {
            Applied::Iptables => Backend::Iptables,
            Applied::Nftables(_) => Backend::Nftables,
        }
    }
}

fn failed(cmd: &Command, why: &str) -> VirError {
    VirError::new(
        ErrorCode::InternalError,
        ErrorDomain::None,
        format!(
            "Failed to apply firewall rules {}: {why}",
            cmd.args.join(" ")
        ),
    )
}

fn run(h: &dyn NetHost, cmd: &Command) -> Result<String, VirError> {
    h.run(&cmd.args).map_err(|e| failed(cmd, &e))
}

fn layers(rules: &NetworkRules) -> Vec<Layer> {
    let mut v = Vec::new();
    for r in rules.main.iter().chain(&rules.checksum) {
        if !v.contains(&r.layer) {
            v.push(r.layer);
        }
    }
    v
}

/// Adds `rules` with `backend`; on failure nothing stays.
pub fn apply(h: &dyn NetHost, backend: Backend, rules: &NetworkRules) -> Result<Applied, VirError> {
    match backend {
        Backend::Iptables => apply_iptables(h, rules),
        Backend::Nftables => apply_nft(h, rules),
    }
}

fn apply_iptables(h: &dyn NetHost, rules: &NetworkRules) -> Result<Applied, VirError> {
    for layer in layers(rules) {
        for (table, list) in iptables::TABLES.iter().zip(iptables::list_rules(layer)) {
            let listing = run(h, &list)?;
            for c in iptables::private_chains(layer, table, &listing) {
                run(h, &c)?;
            }
        }
    }
    let (main, checksum) = iptables::setup_commands(rules);
    for (i, c) in main.iter().enumerate() {
        if let Err(e) = run(h, c) {
            for r in rules.main[..i].iter().rev() {
                let _ = h.run(&iptables::rule_command(r, false).args);
            }
            return Err(e);
        }
    }
    for c in checksum {
        // Not every kernel has the CHECKSUM target: ignored, as libvirt does.
        let _ = h.run(&c.args);
    }
    Ok(Applied::Iptables)
}

fn apply_nft(h: &dyn NetHost, rules: &NetworkRules) -> Result<Applied, VirError> {
    for layer in layers(rules) {
        let exists = h
            .run(&[
                "nft".into(),
                "list".into(),
                "table".into(),
                nftables::family(layer).into(),
                nftables::TABLE.into(),
            ])
            .is_ok();
        if !exists {
            for c in nftables::setup_table(layer) {
                run(h, &c)?;
            }
        }
    }
    // All rules in one nft transaction, their handles echoed in order;
    // one by one (for the failing rule's own error) when that fails.
    let wanted: Vec<(&firewall::Rule, Command, &str)> = rules
        .main
        .iter()
        .filter_map(|r| Some((r, nftables::rule_command(r)?, nftables::chain(&r.kind)?)))
        .collect();
    if !wanted.is_empty() {
        let mut batch = vec!["nft".to_string(), "-ae".to_string()];
        for (i, (_, cmd, _)) in wanted.iter().enumerate() {
            if i > 0 {
                batch.push(";".into());
            }
            batch.extend(cmd.args.iter().skip(2).cloned());
        }
        if let Ok(out) = h.run(&batch) {
            let handles: Vec<u64> = out.lines().filter_map(nftables::parse_handle).collect();
            let added: Vec<NftRule> = wanted
                .iter()
                .zip(&handles)
                .map(|((r, _, chain), handle)| NftRule {
                    layer: r.layer,
                    chain: chain.to_string(),
                    handle: *handle,
                })
                .collect();
            if handles.len() == wanted.len() {
                return Ok(Applied::Nftables(added));
            }
            remove_nft(h, &added);
        }
    }
    let mut added: Vec<NftRule> = Vec::new();
    for r in &rules.main {
        let (Some(cmd), Some(chain)) = (nftables::rule_command(r), nftables::chain(&r.kind)) else {
            continue;
        };
        let res = run(h, &cmd).and_then(|out| {
            nftables::parse_handle(&out)
                .ok_or_else(|| failed(&cmd, "no rule handle in nft's output"))
        });
        match res {
            Ok(handle) => added.push(NftRule {
                layer: r.layer,
                chain: chain.to_string(),
                handle,
            }),
            Err(e) => {
                remove_nft(h, &added);
                return Err(e);
            }
        }
    }
    Ok(Applied::Nftables(added))
}

/// Deletes the rules in one nft transaction (commands separated by
/// `;`), one by one when that fails (a rule already gone).
fn remove_nft(h: &dyn NetHost, added: &[NftRule]) {
    if added.is_empty() {
        return;
    }
    let mut batch = vec!["nft".to_string()];
    for (i, r) in added.iter().rev().enumerate() {
        if i > 0 {
            batch.push(";".into());
        }
        batch.extend(
            nftables::delete_command(r.layer, &r.chain, r.handle)
                .args
                .into_iter()
                .skip(1),
        );
    }
    if h.run(&batch).is_err() {
        for r in added.iter().rev() {
            let _ = h.run(&nftables::delete_command(r.layer, &r.chain, r.handle).args);
        }
    }
}

/// Removes what [`apply`] added (failures ignored: a rule already gone
/// is what removal wants).
pub fn remove(h: &dyn NetHost, applied: &Applied, rules: &NetworkRules) {
    match applied {
        Applied::Iptables => {
            for c in iptables::teardown_commands(rules) {
                let _ = h.run(&c.args);
            }
        }
        Applied::Nftables(added) => remove_nft(h, added),
    }
}

/// The backend a host uses: `configured` (network.conf's
/// `firewall_backend`) when given, else nftables when `nft` is
/// installed, else iptables.
pub fn choose(h: &dyn NetHost, configured: Option<Backend>) -> Result<Backend, VirError> {
    if let Some(b) = configured {
        return Ok(b);
    }
    firewall::Backend::default_for(h.has_program("nft"), h.has_program("iptables")).ok_or_else(
        || {
            VirError::new(
                ErrorCode::InternalError,
                ErrorDomain::Network,
                "could not find a usable firewall backend",
            )
        },
    )
}

/// The status file form of `applied`.
pub fn format(applied: &Applied) -> String {
    match applied {
        Applied::Iptables => "  <firewall backend='iptables'/>\n".into(),
        Applied::Nftables(rules) => {
            let mut s = String::from("  <firewall backend='nftables'>\n");
            for r in rules {
                s.push_str(&format!(
                    "    <rule family='{}' chain='{}' handle='{}'/>\n",
                    nftables::family(r.layer),
                    r.chain,
                    r.handle
                ));
            }
            s.push_str("  </firewall>\n");
            s
        }
    }
}

/// Reads [`format`]'s element back.
pub fn parse(e: &conf::xml::Element) -> Option<Applied> {
    match e.attr("backend")? {
        "iptables" => Some(Applied::Iptables),
        "nftables" => {
            let mut v = Vec::new();
            for r in e.elements().filter(|c| c.name == "rule") {
                let layer = match r.attr("family")? {
                    "ip" => Layer::Ipv4,
                    "ip6" => Layer::Ipv6,
                    _ => return None,
                };
                v.push(NftRule {
                    layer,
                    chain: r.attr("chain")?.to_string(),
                    handle: r.attr("handle")?.parse().ok()?,
                });
            }
            Some(Applied::Nftables(v))
        }
        _ => None,
    }
}

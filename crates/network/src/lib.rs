// SPDX-License-Identifier: LGPL-2.1-or-later
//! The network driver's host-independent logic: what libvirt's bridge
//! driver computes from a `conf::NetworkDef` before it touches the host.
//!
//! - [`dnsmasq`]: the dnsmasq configuration file, DHCP hosts file and
//!   additional hosts file of one network (networkDnsmasqConfContents),
//!   with their paths under the driver's dnsmasq directory.
//! - [`firewall`]: the firewall rules a network needs (libvirt's own
//!   chains, NAT, forwarding, DHCP/DNS/TFTP input) as a backend-neutral
//!   rule model, rendered as iptables/ip6tables command lines exactly as
//!   libvirt 9.6 emits them, or as an nftables script.
//!
//! Must not depend on: the RPC layer, other drivers, or the host (no
//! syscalls, no processes, no files: callers write what this returns).
//! Invariants: output is a pure function of the definition and the
//! given settings; errors carry libvirt's code with the network domain.
#![forbid(unsafe_code)]

pub mod bandwidth;
pub mod dnsmasq;
pub mod firewall;
pub mod leases;

use virterror::{ErrorDomain, VirError};

/// A `conf` error as the network driver reports it.
pub(crate) fn net_err(e: conf::ConfError) -> VirError {
    e.in_domain(ErrorDomain::Network)
}

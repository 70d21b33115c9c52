// SPDX-License-Identifier: LGPL-2.1-or-later
//! Networking for containers: veth pairs made with the `ip` tool (as libvirt
//! does), moved into a container's network namespace, configured from inside
//! that namespace, attached to bridges, and removed.
//!
//! Every `ip` invocation runs in batch mode (`ip -batch -`) so that a whole
//! interface setup costs one process, not one per command.

use crate::{Error, Result};
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Where the `ip` tool is looked for.
const IP_PATHS: &[&str] = &["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"];

fn ip_binary() -> Result<PathBuf> {
    IP_PATHS
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .ok_or_else(|| Error::Invalid("cannot find the 'ip' tool".into()))
}

/// Whether a network interface called `name` exists in this namespace.
pub fn link_exists(name: &str) -> bool {
    !name.is_empty() && !name.contains('/') && Path::new("/sys/class/net").join(name).exists()
}

/// Checks an interface name the kernel would accept (1..15 bytes, no '/', blanks or ':').
pub fn valid_ifname(name: &str) -> bool {
    !name.is_empty()
        && name.len() < 16
        && name != "."
        && name != ".."
        && !name
            .bytes()
            .any(|b| b == b'/' || b == b':' || b.is_ascii_whitespace() || b == 0)
}

/// Picks `count` unused names `vethN` with the smallest N, like libvirt.
pub fn free_veth_names(count: usize) -> Vec<String> {
    let mut out = Vec::with_capacity(count);
    let mut n = 0u32;
    while out.len() < count && n < 1_000_000 {
        let name = format!("veth{n}");
        if !link_exists(&name) {
            out.push(name);
        }
        n += 1;
    }
    out
}

/// Runs `ip -batch -` with `commands`, inside the network namespace of
/// `netns_pid` when given. Stops at the first failing command and returns
/// the tool's message.
pub fn ip_batch(commands: &[String], netns_pid: Option<u32>) -> Result<()> {
    let ns = netns_pid.map(|pid| PathBuf::from(format!("/proc/{pid}/ns/net")));
    ip_batch_in(commands, ns.as_deref())
}

/// [`ip_batch`] inside the network namespace whose file is `netns`
/// (`/proc/PID/ns/net`, `/run/netns/NAME`), or in this one.
pub fn ip_batch_in(commands: &[String], netns: Option<&Path>) -> Result<()> {
    if commands.is_empty() {
        return Ok(());
    }
    for c in commands {
        if c.contains('\n') {
            return Err(Error::Invalid(format!("invalid ip command {c:?}")));
        }
    }
    let mut cmd = Command::new(ip_binary()?);
    cmd.arg("-batch").arg("-");
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    // Kept open until spawn returns, so the raw fd stays valid in the child.
    let ns_file = match netns {
        Some(p) => Some(
            std::fs::File::open(p)
                .map_err(|e| Error::sys(format!("opening {}", p.display()), e))?,
        ),
        None => None,
    };
    if let Some(f) = &ns_file {
        let raw = f.as_raw_fd();
        // SAFETY: the closure runs in the forked child before exec and only
        // makes the async-signal-safe setns call on an fd inherited from the parent.
        unsafe {
            cmd.pre_exec(move || {
                if libc::setns(raw, libc::CLONE_NEWNET) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    let mut child = cmd.spawn().map_err(|e| Error::sys("running ip", e))?;
    if let Some(mut stdin) = child.stdin.take() {
        let text: String = commands.iter().map(|c| format!("{c}\n")).collect();
        // A write error means ip exited early; its status says why.
        let _ = stdin.write_all(text.as_bytes());
    }
    let out = child
        .wait_with_output()
        .map_err(|e| Error::sys("waiting for ip", e))?;
    drop(ns_file);
    if !out.status.success() {
        let msg = String::from_utf8_lossy(&out.stderr).trim().to_string();
        return Err(Error::Invalid(format!(
            "ip failed ({}): {msg}",
            commands.join("; ")
        )));
    }
    Ok(())
}

/// Creates a veth pair `host` <-> `peer`.
pub fn create_veth(host: &str, peer: &str) -> Result<()> {
    if !valid_ifname(host) || !valid_ifname(peer) {
        return Err(Error::Invalid(format!(
            "invalid veth names '{host}', '{peer}'"
        )));
    }
    ip_batch(
        &[format!("link add {host} type veth peer name {peer}")],
        None,
    )
}

/// Deletes interface `name` if it exists (deleting one end of a veth pair removes both).
pub fn delete_link(name: &str) -> Result<()> {
    if !link_exists(name) {
        return Ok(());
    }
    match ip_batch(&[format!("link del {name}")], None) {
        Ok(()) => Ok(()),
        // Gone in the meantime (its namespace died): nothing to do.
        Err(_) if !link_exists(name) => Ok(()),
        Err(e) => Err(e),
    }
}

/// A bridge device as a virtual network wants it (libvirt's
/// networkCreateBridge / networkStartNetworkVirtual: the device, its MAC,
/// MTU, spanning tree and forward delay, then its addresses, then up).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BridgeSpec {
    pub name: String,
    pub mac: Option<[u8; 6]>,
    /// 0: the kernel's default.
    pub mtu: u32,
    pub stp: bool,
    /// Forward delay in seconds.
    pub delay: u64,
    /// Addresses with their prefix lengths.
    pub addresses: Vec<(std::net::IpAddr, u32)>,
}

/// The `ip` commands that create and configure the bridge of `spec`.
/// IPv4 addresses get their broadcast address, as libvirt adds them.
pub fn bridge_commands(spec: &BridgeSpec) -> Result<Vec<String>> {
    let n = &spec.name;
    if !valid_ifname(n) {
        return Err(Error::Invalid(format!("invalid bridge name '{n}'")));
    }
    // The kernel keeps the forward delay in hundredths of a second.
    let delay = spec
        .delay
        .checked_mul(100)
        .filter(|d| *d <= u64::from(u32::MAX))
        .ok_or_else(|| Error::Invalid(format!("forward delay {} too large", spec.delay)))?;
    let mut cmds = vec![format!(
        "link add {n} type bridge forward_delay {delay} stp_state {}",
        u8::from(spec.stp)
    )];
    if let Some(m) = spec.mac {
        cmds.push(format!("link set {n} address {}", format_mac(m)));
    }
    if spec.mtu > 0 {
        cmds.push(format!("link set {n} mtu {}", spec.mtu));
    }
    for (a, prefix) in &spec.addresses {
        match a {
            std::net::IpAddr::V4(v4) => {
                if *prefix > 32 {
                    return Err(Error::Invalid(format!("invalid prefix {prefix} for {a}")));
                }
                let host_mask = u32::MAX.checked_shr(*prefix).unwrap_or(0);
                let bcast = std::net::Ipv4Addr::from(u32::from(*v4) | host_mask);
                cmds.push(format!("addr add {a}/{prefix} broadcast {bcast} dev {n}"));
            }
            std::net::IpAddr::V6(_) => {
                if *prefix > 128 {
                    return Err(Error::Invalid(format!("invalid prefix {prefix} for {a}")));
                }
                cmds.push(format!("addr add {a}/{prefix} dev {n}"));
            }
        }
    }
    cmds.push(format!("link set {n} up"));
    Ok(cmds)
}

/// Creates and configures the bridge of `spec` (in the network namespace
/// file `netns` when given); when a step fails the bridge is deleted
/// again, so nothing is left half made.
pub fn create_bridge(spec: &BridgeSpec, netns: Option<&Path>) -> Result<()> {
    let cmds = bridge_commands(spec)?;
    let (first, rest) = cmds.split_at(1);
    ip_batch_in(first, netns)?;
    if let Err(e) = ip_batch_in(rest, netns) {
        let _ = ip_batch_in(&[format!("link del {}", spec.name)], netns);
        return Err(e);
    }
    Ok(())
}

/// Deletes bridge `name` (in `netns` when given).
pub fn delete_bridge(name: &str, netns: Option<&Path>) -> Result<()> {
    if !valid_ifname(name) {
        return Err(Error::Invalid(format!("invalid bridge name '{name}'")));
    }
    ip_batch_in(&[format!("link del {name} type bridge")], netns)
}

/// The IPv4 neighbour table of this network namespace (`/proc/net/arp`):
/// (address, MAC) of each complete entry.
pub fn arp_table() -> Vec<(String, String)> {
    let text = std::fs::read_to_string("/proc/net/arp").unwrap_or_default();
    parse_arp(&text)
}

/// [`arp_table`] of the file's text: entries whose flags say complete
/// (ATF_COM, 0x2), the header line skipped.
fn parse_arp(text: &str) -> Vec<(String, String)> {
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let (ip, flags, mac) = (f.first()?, f.get(2)?, f.get(3)?);
            let flags = u32::from_str_radix(flags.trim_start_matches("0x"), 16).ok()?;
            (flags & 0x2 != 0).then(|| (ip.to_string(), mac.to_ascii_lowercase()))
        })
        .collect()
}

/// The counters of interface `name` in this network namespace
/// (`/proc/net/dev`): received bytes, packets, errors, drops, then the
/// same transmitted.
pub fn interface_counters(name: &str) -> Option<[i64; 8]> {
    let text = std::fs::read_to_string("/proc/net/dev").ok()?;
    parse_net_dev(&text, name)
}

fn parse_net_dev(text: &str, name: &str) -> Option<[i64; 8]> {
    text.lines().find_map(|l| {
        let (dev, rest) = l.split_once(':')?;
        if dev.trim() != name {
            return None;
        }
        let v: Vec<i64> = rest
            .split_whitespace()
            .map(|w| w.parse().ok())
            .collect::<Option<Vec<i64>>>()?;
        if v.len() != 16 {
            return None;
        }
        Some([v[0], v[1], v[2], v[3], v[8], v[9], v[10], v[11]])
    })
}

/// Formats a MAC address.
pub fn format_mac(mac: [u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Parses "aa:bb:cc:dd:ee:ff".
pub fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let mut out = [0u8; 6];
    let mut n = 0;
    for part in s.split(':') {
        if n >= 6 || part.len() != 2 {
            return None;
        }
        out[n] = u8::from_str_radix(part, 16).ok()?;
        n += 1;
    }
    (n == 6).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_round_trips_and_rejects_garbage() {
        let m = parse_mac("52:54:00:AB:cd:01");
        assert_eq!(m, Some([0x52, 0x54, 0, 0xab, 0xcd, 1]));
        assert_eq!(
            format_mac([0x52, 0x54, 0, 0xab, 0xcd, 1]),
            "52:54:00:ab:cd:01"
        );
        assert_eq!(parse_mac("52:54:00:ab:cd"), None);
        assert_eq!(parse_mac("52:54:00:ab:cd:01:02"), None);
        assert_eq!(parse_mac("zz:54:00:ab:cd:01"), None);
    }

    #[test]
    fn bridge_commands_follow_the_definition() {
        let spec = BridgeSpec {
            name: "virbr9".into(),
            mac: Some([0x52, 0x54, 0, 1, 2, 3]),
            mtu: 9000,
            stp: true,
            delay: 2,
            addresses: vec![
                ("192.168.9.1".parse().unwrap(), 24),
                ("2001:db8::1".parse().unwrap(), 64),
            ],
        };
        assert_eq!(
            bridge_commands(&spec).unwrap(),
            vec![
                "link add virbr9 type bridge forward_delay 200 stp_state 1",
                "link set virbr9 address 52:54:00:01:02:03",
                "link set virbr9 mtu 9000",
                "addr add 192.168.9.1/24 broadcast 192.168.9.255 dev virbr9",
                "addr add 2001:db8::1/64 dev virbr9",
                "link set virbr9 up",
            ]
        );
        let bad = BridgeSpec {
            name: "a b".into(),
            ..Default::default()
        };
        assert!(bridge_commands(&bad).is_err());
    }

    #[test]
    fn arp_entries_are_the_complete_ones() {
        let text = "IP address       HW type     Flags       HW address            Mask     Device\n\
                    10.213.9.23      0x1         0x2         52:54:00:9A:4E:01     *        lvrsqbr0\n\
                    10.213.9.24      0x1         0x0         00:00:00:00:00:00     *        lvrsqbr0\n";
        assert_eq!(
            parse_arp(text),
            vec![("10.213.9.23".to_string(), "52:54:00:9a:4e:01".to_string())]
        );
    }

    #[test]
    fn net_dev_counters_are_read_by_name() {
        let text = "Inter-|   Receive  |  Transmit\n face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n\
                    vnet0: 100 2 0 1 0 0 0 0 300 4 0 0 0 0 0 0\n\
                    vnet10: 7 7 7 7 0 0 0 0 7 7 7 7 0 0 0 0\n";
        assert_eq!(
            parse_net_dev(text, "vnet0"),
            Some([100, 2, 0, 1, 300, 4, 0, 0])
        );
        assert_eq!(parse_net_dev(text, "vnet1"), None);
    }

    #[test]
    fn interface_names_are_checked() {
        assert!(valid_ifname("eth0"));
        assert!(!valid_ifname(""));
        assert!(!valid_ifname("a/b"));
        assert!(!valid_ifname("0123456789abcdef"));
        assert!(!valid_ifname("a b"));
    }
}

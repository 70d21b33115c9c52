// SPDX-License-Identifier: LGPL-2.1-or-later
//! Privileged tests of the bridge a virtual network runs on, inside a
//! network namespace the test creates (`ip netns add`) and removes, so
//! the host's own network is never touched. Each test says why it skips
//! when it cannot run.

#![forbid(unsafe_code)]

use host::net::{create_bridge, delete_bridge, BridgeSpec};
use std::path::PathBuf;
use std::process::Command;

/// A named network namespace, deleted on drop.
struct Netns {
    name: String,
}

impl Netns {
    fn new(tag: &str) -> Result<Netns, String> {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let root = status
            .lines()
            .find(|l| l.starts_with("Uid:"))
            .is_some_and(|l| l.split_whitespace().nth(2) == Some("0"));
        if !root {
            return Err("not running as root".into());
        }
        let name = format!("lvrs-{tag}-{}", std::process::id());
        let out = Command::new("ip")
            .args(["netns", "add", &name])
            .output()
            .map_err(|e| format!("cannot run ip: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "ip netns add failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(Netns { name })
    }

    fn path(&self) -> PathBuf {
        PathBuf::from("/run/netns").join(&self.name)
    }

    fn ip(&self, args: &[&str]) -> String {
        let out = Command::new("ip")
            .args(["-n", &self.name])
            .args(args)
            .output()
            .expect("running ip");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

#[test]
fn bridge_gets_its_addresses_mtu_mac_and_stp_then_goes() {
    let ns = match Netns::new("br") {
        Ok(ns) => ns,
        Err(why) => {
            eprintln!("skipped: {why}");
            return;
        }
    };
    let spec = BridgeSpec {
        name: "virbr77".into(),
        mac: Some([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]),
        mtu: 1400,
        stp: false,
        delay: 3,
        addresses: vec![
            ("192.168.177.1".parse().unwrap(), 24),
            ("2001:db8:77::1".parse().unwrap(), 64),
        ],
    };
    create_bridge(&spec, Some(&ns.path())).expect("creating the bridge");
    let link = ns.ip(&["-d", "link", "show", "dev", "virbr77"]);
    assert!(link.contains("mtu 1400"), "{link}");
    assert!(link.contains("link/ether 52:54:00:12:34:56"), "{link}");
    assert!(link.contains("forward_delay 300"), "{link}");
    assert!(link.contains("stp_state 0"), "{link}");
    assert!(link.contains("state UP") || link.contains(",UP"), "{link}");
    let addrs = ns.ip(&["addr", "show", "dev", "virbr77"]);
    assert!(
        addrs.contains("inet 192.168.177.1/24 brd 192.168.177.255"),
        "{addrs}"
    );
    assert!(addrs.contains("inet6 2001:db8:77::1/64"), "{addrs}");
    // The host's namespace has no such device.
    assert!(!host::net::link_exists("virbr77"));

    delete_bridge("virbr77", Some(&ns.path())).expect("deleting the bridge");
    let gone = ns.ip(&["link", "show"]);
    assert!(!gone.contains("virbr77"), "{gone}");
}

#[test]
fn failed_setup_leaves_no_bridge_behind() {
    let ns = match Netns::new("brfail") {
        Ok(ns) => ns,
        Err(why) => {
            eprintln!("skipped: {why}");
            return;
        }
    };
    let spec = BridgeSpec {
        name: "virbr78".into(),
        // Above the largest MTU a bridge may have (65535).
        mtu: 70000,
        addresses: vec![("192.168.178.1".parse().unwrap(), 24)],
        ..Default::default()
    };
    let err = create_bridge(&spec, Some(&ns.path())).unwrap_err();
    assert!(err.to_string().contains("mtu 70000"), "{err}");
    let links = ns.ip(&["link", "show"]);
    assert!(!links.contains("virbr78"), "{links}");
}

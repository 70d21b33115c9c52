// SPDX-License-Identifier: LGPL-2.1-or-later
//! Two "hosts" on one machine: a pair of network namespaces joined by a
//! veth pair (192.168.77.1 and 192.168.77.2), and daemons started inside
//! them listening on TCP there, with their UNIX sockets and state in
//! directories of their own. What a test of migration between hosts
//! needs (the daemons reach each other only over the veth link; the test
//! reaches each one through its socket, or from inside a namespace).

use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::{bin, is_root, run_cmd, tool_exists, Daemon, Spec, TempDir};

/// The two hosts' addresses on the veth link (a /24).
pub const NETNS_ADDRS: [&str; 2] = ["192.168.77.1", "192.168.77.2"];

/// Why two network namespaces cannot be made here, if they cannot.
pub fn netns_cant_run() -> Option<String> {
    if !is_root() {
        return Some("network namespaces need root".into());
    }
    if !tool_exists("ip") {
        return Some("ip is not installed (iproute2)".into());
    }
    None
}

/// Two network namespaces joined by a veth pair, deleted on drop (with
/// the link; processes still inside keep their namespace until they
/// exit).
pub struct NetnsPair {
    /// The namespaces' names (`ip netns exec NAME`).
    pub names: [String; 2],
    /// The veth ends, one in each namespace.
    pub links: [String; 2],
}

fn ip(args: &[&str]) -> Result<(), String> {
    let out = run_cmd({
        let mut c = Command::new("ip");
        c.args(args);
        c
    });
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            crate::text(&out.stderr)
        ))
    }
}

impl NetnsPair {
    /// Creates the namespaces (named after `tag`, this process and a
    /// counter, so parallel tests do not meet), the veth pair between
    /// them with [`NETNS_ADDRS`], and brings the links and loopbacks up.
    pub fn create(tag: &str) -> Result<NetnsPair, String> {
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let id = format!("{}x{n}", std::process::id());
        let pair = NetnsPair {
            names: [format!("{tag}-{id}-a"), format!("{tag}-{id}-b")],
            // Interface names stay under 16 bytes.
            links: [format!("v{id}a"), format!("v{id}b")],
        };
        for ns in &pair.names {
            ip(&["netns", "add", ns])?;
        }
        ip(&[
            "link",
            "add",
            &pair.links[0],
            "netns",
            &pair.names[0],
            "type",
            "veth",
            "peer",
            "name",
            &pair.links[1],
            "netns",
            &pair.names[1],
        ])?;
        for ((ns, link), addr) in pair.names.iter().zip(&pair.links).zip(NETNS_ADDRS) {
            ip(&["-n", ns, "addr", "add", &format!("{addr}/24"), "dev", link])?;
            ip(&["-n", ns, "link", "set", "lo", "up"])?;
        }
        pair.set_link(true)?;
        Ok(pair)
    }

    /// Brings both veth ends up or down (a network that drops).
    pub fn set_link(&self, up: bool) -> Result<(), String> {
        for (ns, link) in self.names.iter().zip(&self.links) {
            ip(&[
                "-n",
                ns,
                "link",
                "set",
                link,
                if up { "up" } else { "down" },
            ])?;
        }
        Ok(())
    }

    /// `program` to run inside namespace `i` (0 or 1).
    pub fn command(&self, i: usize, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.names[i], program]);
        c
    }

    /// Daemon `name` (`libvirtd`) inside namespace `i`, listening with
    /// `-l` on plain TCP at its address (`auth_tcp = "none"`), its
    /// sockets in `t/run` and system paths under `t/root` (see
    /// [`Spec::new`]), `extra_conf` appended to its configuration. The
    /// daemon, the URI of its socket and its `qemu+tcp://ADDR/system`
    /// URI.
    pub fn start_daemon(
        &self,
        i: usize,
        name: &str,
        t: &TempDir,
        extra_conf: &str,
    ) -> (Daemon, String, String) {
        let conf = format!(
            "listen_tcp = 1\nlisten_tls = 0\nauth_tcp = \"none\"\nlisten_addr = \"{}\"\n{extra_conf}",
            NETNS_ADDRS[i]
        );
        let mut spec = Spec::new(name, t, &conf);
        let mut args = vec![
            "netns".to_string(),
            "exec".into(),
            self.names[i].clone(),
            bin(name).display().to_string(),
            "-l".into(),
        ];
        args.append(&mut spec.args);
        spec.program = "ip".into();
        spec.args = args;
        let sock = spec.ready.clone();
        let d = spec.start();
        let scheme = if is_root() { "system" } else { "session" };
        (
            d,
            format!("qemu:///{scheme}?socket={}", sock.display()),
            format!("qemu+tcp://{}/{scheme}", NETNS_ADDRS[i]),
        )
    }
}

impl Drop for NetnsPair {
    fn drop(&mut self) {
        for ns in &self.names {
            let _ = ip(&["netns", "del", ns]);
        }
    }
}

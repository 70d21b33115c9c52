// SPDX-License-Identifier: LGPL-2.1-or-later
//! The driver's one seam to the host: the bridge device, the firewall
//! programs, dnsmasq and the routing table. [`SystemHost`] does it for
//! real (through `host` and the programs libvirt runs); the unit tests put
//! a recording fake in its place, so the driver's logic runs without root.
//!
//! Everything acts on the network namespace the daemon runs in.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A failed host operation: the words the driver puts in its error.
pub type HostResult<T> = std::result::Result<T, String>;

/// What the driver asks of the host.
pub trait NetHost: Send + Sync {
    /// Whether an interface called `name` exists.
    fn link_exists(&self, name: &str) -> bool;
    /// The text of /proc/net/route (`None` when unreadable).
    fn routes(&self) -> Option<String>;
    /// Creates, configures and brings up a bridge; nothing remains when it
    /// fails.
    fn create_bridge(&self, spec: &host::net::BridgeSpec) -> HostResult<()>;
    /// Deletes a bridge.
    fn delete_bridge(&self, name: &str) -> HostResult<()>;
    /// Runs a firewall command (program then arguments), returning its
    /// standard output.
    fn run(&self, args: &[String]) -> HostResult<String>;
    /// Whether the program `name` is installed.
    fn has_program(&self, name: &str) -> bool;
    /// Writes `value` to the IPv6 sysctl `key` of interface `dev`
    /// (`/proc/sys/net/ipv6/conf/DEV/KEY`); `Ok(false)` when the host has
    /// no such setting (IPv6 disabled or absent).
    fn set_ipv6_sysctl(&self, dev: &str, key: &str, value: &str) -> HostResult<bool>;
    /// Turns on IPv4 / IPv6 forwarding (the host-wide sysctls).
    fn enable_forwarding(&self, v4: bool, v6: bool) -> HostResult<()>;
    /// Runs dnsmasq with `args` (it daemonizes and writes its pid file
    /// before the started process exits) and `env`.
    fn start_dnsmasq(&self, args: &[String], env: &[(String, String)]) -> HostResult<()>;
    /// Whether `pid` is a live dnsmasq started with `conf_file`.
    fn is_dnsmasq(&self, pid: u32, conf_file: &str) -> bool;
    /// Every live process started with `conf_file` (a dnsmasq and the
    /// helper process it forks to run the lease script).
    fn dnsmasq_pids(&self, conf_file: &str) -> Vec<u32>;
    /// Sends `signal` to `pid`.
    fn kill(&self, pid: u32, signal: i32) -> HostResult<()>;
}

/// Where dnsmasq is looked for.
const DNSMASQ_PATHS: &[&str] = &["/usr/sbin/dnsmasq", "/sbin/dnsmasq", "/usr/bin/dnsmasq"];
/// Where the firewall programs are looked for.
const SBIN: &[&str] = &["/usr/sbin", "/sbin", "/usr/bin", "/bin"];

/// The host as it is.
#[derive(Debug, Default)]
pub struct SystemHost;

fn find_program(name: &str) -> Option<PathBuf> {
    if name.contains('/') {
        return Some(PathBuf::from(name)).filter(|p| p.exists());
    }
    if name == "dnsmasq" {
        return DNSMASQ_PATHS.iter().map(PathBuf::from).find(|p| p.exists());
    }
    SBIN.iter()
        .map(|d| Path::new(d).join(name))
        .find(|p| p.exists())
}

impl NetHost for SystemHost {
    fn link_exists(&self, name: &str) -> bool {
        host::net::link_exists(name)
    }

    fn routes(&self) -> Option<String> {
        std::fs::read_to_string("/proc/net/route").ok()
    }

    fn create_bridge(&self, spec: &host::net::BridgeSpec) -> HostResult<()> {
        host::net::create_bridge(spec, None).map_err(|e| e.to_string())
    }

    fn delete_bridge(&self, name: &str) -> HostResult<()> {
        host::net::delete_bridge(name, None).map_err(|e| e.to_string())
    }

    fn run(&self, args: &[String]) -> HostResult<String> {
        let (prog, rest) = args.split_first().ok_or("empty command")?;
        let path = find_program(prog).ok_or_else(|| format!("cannot find '{prog}'"))?;
        let out = Command::new(path)
            .args(rest)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run '{prog}': {e}"))?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    fn has_program(&self, name: &str) -> bool {
        find_program(name).is_some()
    }

    fn set_ipv6_sysctl(&self, dev: &str, key: &str, value: &str) -> HostResult<bool> {
        if dev.contains('/') || key.contains('/') {
            return Err(format!("invalid interface or setting '{dev}/{key}'"));
        }
        let path = format!("/proc/sys/net/ipv6/conf/{dev}/{key}");
        match std::fs::write(&path, value) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(format!(
                "cannot write to '{path}' on bridge '{dev}': {}",
                virterror::os_error_text(&e)
            )),
        }
    }

    fn enable_forwarding(&self, v4: bool, v6: bool) -> HostResult<()> {
        let set = |path: &str| {
            std::fs::write(path, "1\n").map_err(|e| format!("cannot write {path}: {e}"))
        };
        if v4 {
            set("/proc/sys/net/ipv4/ip_forward")?;
        }
        if v6 {
            set("/proc/sys/net/ipv6/conf/all/forwarding")?;
        }
        Ok(())
    }

    fn start_dnsmasq(&self, args: &[String], env: &[(String, String)]) -> HostResult<()> {
        let path = find_program("dnsmasq").ok_or("cannot find 'dnsmasq'")?;
        let out = Command::new(path)
            .args(args)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run dnsmasq: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "dnsmasq exited with status {}: {}",
                out.status.code().unwrap_or(-1),
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(())
    }

    fn is_dnsmasq(&self, pid: u32, conf_file: &str) -> bool {
        if !host::process::is_alive(pid) {
            return false;
        }
        let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            return false;
        };
        let want = format!("--conf-file={conf_file}");
        cmdline.split(|b| *b == 0).any(|arg| arg == want.as_bytes())
    }

    fn dnsmasq_pids(&self, conf_file: &str) -> Vec<u32> {
        let Ok(rd) = std::fs::read_dir("/proc") else {
            return Vec::new();
        };
        rd.flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
            .filter(|pid| self.is_dnsmasq(*pid, conf_file))
            .collect()
    }

    fn kill(&self, pid: u32, signal: i32) -> HostResult<()> {
        host::process::kill(pid, signal).map_err(|e| e.to_string())
    }
}

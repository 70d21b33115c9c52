// SPDX-License-Identifier: LGPL-2.1-or-later
//! QEMU guests on real networks and pool volumes, end to end: virtqemud
//! beside virtnetworkd (and libvirtd with its drivers in process) inside a
//! network namespace of the test's own, the real virsh, the Linux test
//! guest under TCG. A guest on a libvirt NAT network gets its lease from
//! the network's dnsmasq and pings the bridge; its taps (network, bridge
//! and ethernet NICs) exist while it runs, and a destroy, also after a
//! daemon restart, leaves no tap and no port.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use test_support::*;

/// Why the tests cannot run here.
fn skip_reason() -> Option<String> {
    if let Some(r) = qemu_cant_run() {
        return Some(r);
    }
    if !is_root() {
        return Some("taps, bridges and network namespaces need root".into());
    }
    if !Path::new("/usr/sbin/dnsmasq").exists() {
        return Some("needs dnsmasq (dnsmasq-base)".into());
    }
    if !Path::new("/dev/net/tun").exists() {
        return Some("needs /dev/net/tun".into());
    }
    None
}

/// A network namespace of the test's own; whatever still runs from the
/// test's directory (daemons, dnsmasq, QEMU) is killed when it goes.
struct Netns {
    name: String,
    dir: PathBuf,
}

impl Netns {
    fn new(tag: &str, dir: &Path) -> Netns {
        let name = format!("lvrs-{tag}-{}", std::process::id());
        let _ = Command::new("ip")
            .args(["netns", "del", &name])
            .stderr(std::process::Stdio::null())
            .status();
        let st = Command::new("ip")
            .args(["netns", "add", &name])
            .status()
            .unwrap_or_else(|e| panic!("ip netns add: {e}"));
        assert!(st.success(), "ip netns add {name}");
        let ns = Netns {
            name,
            dir: dir.to_path_buf(),
        };
        ns.run("ip", &["link", "set", "lo", "up"]);
        ns
    }

    /// A command run inside the namespace, with the host's cgroup tree
    /// still mounted (virtqemud places its guests in cgroups): the
    /// namespace's own sysfs is mounted in a private mount namespace and
    /// the cgroup tree bound back onto it.
    fn cmd(&self, prog: &str, args: &[&str]) -> Command {
        let keep = self.dir.join("cgroup-keep");
        let _ = std::fs::create_dir_all(&keep);
        let script = format!(
            "mount --rbind /sys/fs/cgroup {k} && mount -t sysfs sysfs /sys && \
             mount --rbind {k} /sys/fs/cgroup && umount -l {k} && exec \"$@\"",
            k = keep.display()
        );
        let mut c = Command::new("nsenter");
        c.arg(format!("--net=/run/netns/{}", self.name))
            .args(["unshare", "--mount", "--propagation", "slave", "sh", "-c"])
            .arg(script)
            .arg("sh")
            .arg(prog)
            .args(args);
        c
    }

    fn run(&self, prog: &str, args: &[&str]) -> String {
        let o = Command::new("ip")
            .args(["netns", "exec", &self.name, prog])
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("ip netns exec: {e}"));
        assert!(o.status.success(), "{prog} {args:?}: {}", text(&o.stderr));
        text(&o.stdout)
    }

    /// `ip -o link show DEV` in the namespace; empty when it does not exist.
    fn link(&self, dev: &str) -> String {
        Command::new("ip")
            .args(["netns", "exec", &self.name, "ip", "-o", "link", "show", dev])
            .output()
            .map(|o| text(&o.stdout))
            .unwrap_or_default()
    }

    /// The names of the tap devices in the namespace.
    fn taps(&self) -> Vec<String> {
        self.run("ip", &["-o", "link", "show", "type", "tun"])
            .lines()
            .filter_map(|l| l.split(": ").nth(1))
            .map(|n| n.split('@').next().unwrap_or(n).to_string())
            .collect()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let needle = self.dir.to_string_lossy().into_owned();
        if let Ok(rd) = std::fs::read_dir("/proc") {
            for e in rd.flatten() {
                let Some(pid) = e.file_name().to_str().and_then(|p| p.parse::<u32>().ok()) else {
                    continue;
                };
                let raw = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
                if String::from_utf8_lossy(&raw).contains(&needle) {
                    let _ = host::process::kill(pid, 9);
                }
            }
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// Starts `daemon` inside `ns` with its files under `t`.
fn start_daemon(t: &TempDir, ns: &Netns, daemon: &str) -> Daemon {
    let conf = t.config("auth_unix_rw = \"none\"\nauth_unix_ro = \"none\"");
    let mut cmd = ns.cmd(
        bin(daemon).to_str().unwrap_or(""),
        &[
            "-f",
            conf.to_str().unwrap_or(""),
            "-p",
            t.join(&format!("{daemon}.pid")).to_str().unwrap_or(""),
        ],
    );
    cmd.env("LIBVIRT_RS_ROOT_PREFIX", t.path());
    let sock = if daemon == "libvirtd" {
        "libvirt-sock".to_string()
    } else {
        format!("{daemon}-sock")
    };
    Daemon::start_cmd(cmd, t, &t.join(&format!("run/{sock}")))
}

fn uri(t: &TempDir, scheme: &str, daemon: &str) -> String {
    let sock = if daemon == "libvirtd" {
        "libvirt-sock".to_string()
    } else {
        format!("{daemon}-sock")
    };
    format!(
        "{scheme}+unix:///system?socket={}",
        t.join(&format!("run/{sock}")).display()
    )
}

fn virsh_ok(uri: &str, args: &[&str]) -> String {
    let o = virsh(uri, false, args);
    assert!(
        o.status.success(),
        "virsh {args:?}: {}{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    text(&o.stdout)
}

fn virsh_err(uri: &str, args: &[&str]) -> String {
    let o = virsh(uri, false, args);
    assert!(!o.status.success(), "virsh {args:?} succeeded");
    text(&o.stderr)
}

const NAT_XML: &str = "<network>\n  <name>qnat</name>\n  <forward mode='nat'/>\n  \
    <bridge name='lvrsqbr0'/>\n  <ip address='10.213.9.1' netmask='255.255.255.0'>\n    \
    <dhcp>\n      <range start='10.213.9.10' end='10.213.9.50'/>\n    </dhcp>\n  </ip>\n\
    </network>\n";

const GUEST_MAC: &str = "52:54:00:9a:4e:01";

/// The test guest with `nics` and `disks`, its console (ttyS0) on a UNIX
/// socket the test talks to, its markers also in a file (ttyS1).
fn guest_xml(g: &TestGuest, name: &str, t: &TempDir, nics: &str, disks: &str) -> PathBuf {
    let xml = format!(
        "<domain type='qemu'>\n  <name>{name}</name>\n  <memory unit='MiB'>160</memory>\n  \
         <vcpu>1</vcpu>\n  {}\n  <features><acpi/></features>\n  <devices>\n{disks}{nics}\
         <serial type='unix'><source mode='bind' path='{}'/><target port='0'/></serial>\n\
         <serial type='file'><source path='{}'/><target port='1'/></serial>\n  </devices>\n</domain>\n",
        g.os_xml(),
        t.join(&format!("{name}.console")).display(),
        t.join(&format!("{name}.serial")).display(),
    );
    let path = t.join(&format!("{name}.xml"));
    std::fs::write(&path, xml).unwrap_or_else(|e| panic!("{e}"));
    path
}

/// Types `line` on the guest's console socket and reads until `until`
/// shows (or 60 s pass); what the console printed.
fn console(t: &TempDir, name: &str, line: &str, until: &str) -> String {
    let path = t.join(&format!("{name}.console"));
    let mut s = std::os::unix::net::UnixStream::connect(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
    let _ = s.write_all(format!("{line}\n").as_bytes());
    let mut seen = String::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let mut buf = [0u8; 4096];
    while std::time::Instant::now() < deadline && !seen.contains(until) {
        if let Ok(n) = s.read(&mut buf) {
            seen.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    }
    seen
}

/// The guest's address from its `GUEST-IP` marker.
fn guest_ip(t: &TempDir, name: &str) -> String {
    let (got, log) = wait_for_marker(
        &t.join(&format!("{name}.serial")),
        "GUEST-IP ",
        Duration::from_secs(90),
    );
    assert!(got, "no lease in the guest:\n{log}");
    log.split("GUEST-IP ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_default()
        .to_string()
}

#[test]
fn guest_on_a_nat_network_gets_a_lease_and_leaves_no_tap_or_port() {
    skip_if!(skip_reason());
    let g = match test_guest() {
        Ok(g) => g,
        Err(e) => return skip(format!("no test guest: {e}")),
    };
    let t = TempDir::new("qnet");
    let _reaper = reaper(&t);
    let ns = Netns::new("qnet", t.path());
    let _n = start_daemon(&t, &ns, "virtnetworkd");
    let mut q = start_daemon(&t, &ns, "virtqemud");
    let net = uri(&t, "network", "virtnetworkd");
    let qemu = uri(&t, "qemu", "virtqemud");

    // A NIC on a network that does not exist: the network driver's error,
    // nothing left behind.
    let bad = guest_xml(
        &g,
        "nonet",
        &t,
        "<interface type='network'><source network='nope'/></interface>\n",
        "",
    );
    virsh_ok(&qemu, &["define", bad.to_str().unwrap_or("")]);
    let err = virsh_err(&qemu, &["start", "nonet"]);
    assert!(
        err.contains("Network not found: no network with matching name 'nope'"),
        "{err}"
    );
    assert!(virsh_ok(&qemu, &["dumpxml", "nonet"]).contains("<source network='nope'/>"));
    virsh_ok(&qemu, &["undefine", "nonet"]);

    let xml = t.join("nat.xml");
    std::fs::write(&xml, NAT_XML).unwrap_or_else(|e| panic!("{e}"));
    virsh_ok(&net, &["net-create", xml.to_str().unwrap_or("")]);
    assert!(ns.taps().is_empty());

    // One guest, three NICs: on the network (eth0, which asks for a
    // lease), on its bridge directly, and a plain tap of a given name.
    let nics = format!(
        "<interface type='network'><mac address='{GUEST_MAC}'/><source network='qnat'/><model type='virtio'/></interface>\n\
         <interface type='bridge'><mac address='52:54:00:9a:4e:02'/><source bridge='lvrsqbr0'/><model type='virtio'/></interface>\n\
         <interface type='ethernet'><mac address='52:54:00:9a:4e:03'/><target dev='qnettap0'/><model type='e1000'/></interface>\n"
    );
    let path = guest_xml(&g, "qg", &t, &nics, "");
    virsh_ok(&qemu, &["define", path.to_str().unwrap_or("")]);
    virsh_ok(&qemu, &["start", "qg"]);

    // The live XML names the port, the bridge and the taps; the
    // persistent one has none of them.
    let ports = virsh_ok(&net, &["net-port-list", "qnat", "--uuid"]);
    let port = ports.trim().to_string();
    assert_eq!(port.len(), 36, "one port: {ports}");
    let live = virsh_ok(&qemu, &["dumpxml", "qg"]);
    assert!(
        live.contains(&format!(
            "<source network='qnat' portid='{port}' bridge='lvrsqbr0'/>\n      <target dev='vnet"
        )),
        "{live}"
    );
    assert!(live.contains("<target dev='qnettap0'/>"), "{live}");
    let inactive = virsh_ok(&qemu, &["dumpxml", "--inactive", "qg"]);
    assert!(
        !inactive.contains("portid") && !inactive.contains("vnet"),
        "{inactive}"
    );
    let pxml = virsh_ok(&net, &["net-port-dumpxml", "qnat", &port]);
    assert!(pxml.contains("<name>qg</name>"), "{pxml}");
    let taps = ns.taps();
    assert_eq!(taps.len(), 3, "{taps:?}");
    let members = ns.run("ip", &["-o", "link", "show", "master", "lvrsqbr0"]);
    assert_eq!(members.lines().count(), 2, "{members}");
    let named = ns.link("qnettap0");
    assert!(
        named.contains(",UP") && !named.contains("master"),
        "{named}"
    );
    let vnets: Vec<&String> = taps.iter().filter(|n| n.starts_with("vnet")).collect();
    assert_eq!(vnets.len(), 2, "{taps:?}");
    let first = ns.link(vnets[0]);
    assert!(
        first.contains("link/ether fe:54:00:9a:4e:0"),
        "the host end's MAC: {first}"
    );

    // The guest's DHCP client gets its lease from the network's dnsmasq.
    let ip = guest_ip(&t, "qg");
    assert!(ip.starts_with("10.213.9."), "{ip}");
    let leases = virsh_ok(&net, &["net-dhcp-leases", "qnat"]);
    assert!(
        leases.contains(GUEST_MAC) && leases.contains(&ip),
        "{leases}"
    );
    let out = console(&t, "qg", "ping -c1 -W5 10.213.9.1", "packet loss");
    assert!(out.contains("1 packets received"), "{out}");
    // The address as the network's leases and the host's neighbour table
    // (which the ping filled) give it, on the NIC's tap.
    let tap = live
        .split("<target dev='")
        .nth(1)
        .and_then(|r| r.split('\'').next())
        .unwrap_or_default()
        .to_string();
    let by_lease = virsh_ok(&qemu, &["domifaddr", "qg", "--source", "lease"]);
    assert!(
        by_lease
            .lines()
            .any(|l| l.contains(&tap) && l.contains(GUEST_MAC) && l.contains(&format!("{ip}/24"))),
        "{by_lease}"
    );
    // The tap's counters as the guest sees them: it received the DHCP
    // offer and the ping's reply, sent its request and the ping.
    let stats = virsh_ok(&qemu, &["domifstat", "qg", &tap]);
    let count = |k: &str| -> i64 {
        stats
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{tap} {k} ")))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(-1)
    };
    assert!(
        count("rx_packets") >= 2 && count("tx_packets") >= 2,
        "{stats}"
    );
    assert!(count("rx_bytes") > 0 && count("tx_bytes") > 0, "{stats}");
    let err = virsh_err(&qemu, &["domifstat", "qg", "nosuch0"]);
    assert!(
        err.contains("invalid argument: 'nosuch0' is not a known interface"),
        "{err}"
    );
    let by_arp = virsh_ok(&qemu, &["domifaddr", "qg", "--source", "arp"]);
    assert!(
        by_arp
            .lines()
            .any(|l| l.contains(&tap) && l.contains(GUEST_MAC) && l.contains(&ip)),
        "{by_arp}"
    );

    // A NIC plugged into the running guest: a second port and tap, eth3
    // in the guest (beside eth0-eth2); unplugged, both go again.
    const HOT_MAC: &str = "52:54:00:9a:4e:04";
    virsh_ok(
        &qemu,
        &[
            "attach-interface",
            "qg",
            "network",
            "qnat",
            "--model",
            "virtio",
            "--mac",
            HOT_MAC,
            "--live",
        ],
    );
    assert_eq!(
        virsh_ok(&net, &["net-port-list", "qnat", "--uuid"])
            .lines()
            .filter(|l| !l.trim().is_empty())
            .count(),
        2
    );
    assert_eq!(ns.taps().len(), 4, "{:?}", ns.taps());
    let live = virsh_ok(&qemu, &["dumpxml", "qg"]);
    assert!(
        live.contains(&format!("<mac address='{HOT_MAC}'/>")),
        "{live}"
    );
    // The guest's kernel takes the ACPI hotplug in its own time.
    let out = console(
        &t,
        "qg",
        "i=0; while [ $i -lt 40 ] && ! ip link show eth3 >/dev/null 2>&1; do sleep 1; i=$((i+1)); done; \
         ip -o link show eth3; echo L-$((2*3))",
        "L-6",
    );
    assert!(out.contains(&format!("link/ether {HOT_MAC}")), "{out}");
    virsh_ok(
        &qemu,
        &[
            "detach-interface",
            "qg",
            "network",
            "--mac",
            HOT_MAC,
            "--live",
        ],
    );
    let freed = eventually_within(Duration::from_secs(20), || {
        ns.taps().len() == 3 && virsh_ok(&net, &["net-port-list", "qnat", "--uuid"]).trim() == port
    });
    assert!(freed, "taps {:?}", ns.taps());

    // A virtqemud killed and started again finds the guest; its port
    // stays, and a destroy then frees port and taps.
    q.kill9();
    drop(q);
    let _q2 = start_daemon(&t, &ns, "virtqemud");
    assert_eq!(virsh_ok(&qemu, &["list", "--name"]).trim(), "qg");
    assert_eq!(
        virsh_ok(&net, &["net-port-list", "qnat", "--uuid"]).trim(),
        port
    );
    virsh_ok(&qemu, &["destroy", "qg"]);
    let gone = eventually_within(Duration::from_secs(10), || ns.taps().is_empty());
    assert!(gone, "taps left: {:?}", ns.taps());
    assert_eq!(
        virsh_ok(&net, &["net-port-list", "qnat", "--uuid"]).trim(),
        "",
        "port released"
    );
    virsh_ok(&net, &["net-destroy", "qnat"]);
}

/// `count` bytes of `path` at `offset`.
fn read_at(path: &Path, offset: u64, count: usize) -> Vec<u8> {
    use std::io::Seek;
    let mut f = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let _ = f.seek(std::io::SeekFrom::Start(offset));
    let mut buf = vec![0u8; count];
    let _ = f.read_exact(&mut buf);
    buf
}

#[test]
fn libvirtd_runs_a_guest_on_a_pool_volume_and_a_network_in_process() {
    skip_if!(skip_reason());
    let g = match test_guest() {
        Ok(g) => g,
        Err(e) => return skip(format!("no test guest: {e}")),
    };
    let t = TempDir::new("qvol");
    let _reaper = reaper(&t);
    let ns = Netns::new("qvol", t.path());
    let _d = start_daemon(&t, &ns, "libvirtd");
    let uri = uri(&t, "qemu", "libvirtd");

    // A dir pool with a raw volume the host marks before the guest runs.
    let pool_dir = t.join("pool");
    std::fs::create_dir_all(&pool_dir).unwrap_or_else(|e| panic!("{e}"));
    let pool_xml = t.join("pool.xml");
    std::fs::write(
        &pool_xml,
        format!(
            "<pool type='dir'><name>qpool</name><target><path>{}</path></target></pool>",
            pool_dir.display()
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    virsh_ok(&uri, &["pool-create", pool_xml.to_str().unwrap_or("")]);
    virsh_ok(
        &uri,
        &["vol-create-as", "qpool", "v1", "4M", "--format", "raw"],
    );
    let vol = pool_dir.join("v1");
    {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .open(&vol)
            .unwrap_or_else(|e| panic!("{}: {e}", vol.display()));
        f.write_all(b"QNETVOL-DATA")
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let xml = t.join("nat.xml");
    std::fs::write(&xml, NAT_XML).unwrap_or_else(|e| panic!("{e}"));
    virsh_ok(&uri, &["net-create", xml.to_str().unwrap_or("")]);

    let disk = |pool: &str, vol: &str| {
        format!(
            "<disk type='volume' device='disk'><driver name='qemu' type='raw'/>\
             <source pool='{pool}' volume='{vol}'/><target dev='vda' bus='virtio'/></disk>\n"
        )
    };
    // A missing pool, a missing volume: the storage driver's errors.
    for (name, pool, v, want) in [
        (
            "nopool",
            "nope",
            "v1",
            "Storage pool not found: no storage pool with matching name 'nope'",
        ),
        (
            "novol",
            "qpool",
            "nope",
            "Storage volume not found: no storage vol with matching name 'nope'",
        ),
    ] {
        let p = guest_xml(&g, name, &t, "", &disk(pool, v));
        virsh_ok(&uri, &["define", p.to_str().unwrap_or("")]);
        let err = virsh_err(&uri, &["start", name]);
        assert!(err.contains(want), "{err}");
        virsh_ok(&uri, &["undefine", name]);
    }

    let nic = format!(
        "<interface type='network'><mac address='{GUEST_MAC}'/><source network='qnat'/><model type='virtio'/></interface>\n"
    );
    let p = guest_xml(&g, "qv", &t, &nic, &disk("qpool", "v1"));
    virsh_ok(&uri, &["define", p.to_str().unwrap_or("")]);
    virsh_ok(&uri, &["start", "qv"]);
    // The live definition keeps the volume.
    let live = virsh_ok(&uri, &["dumpxml", "qv"]);
    assert!(
        live.contains("<disk type='volume' device='disk'>")
            && live.contains("<source pool='qpool' volume='v1'"),
        "{live}"
    );
    let port = virsh_ok(&uri, &["net-port-list", "qnat", "--uuid"]);
    assert_eq!(port.trim().len(), 36, "{port}");
    let (booted, log) = wait_for_marker(
        &t.join("qv.serial"),
        "GUEST-DISKS vda",
        Duration::from_secs(90),
    );
    assert!(booted, "{log}");
    let ip = guest_ip(&t, "qv");
    assert!(ip.starts_with("10.213.9."), "{ip}");

    // The guest reads the host's mark and writes its own.
    let out = console(
        &t,
        "qv",
        "dd if=/dev/vda bs=12 count=1 2>/dev/null; echo; echo GUEST-WROTE | dd of=/dev/vda bs=512 seek=8 conv=notrunc 2>/dev/null; sync; echo DD-$((6*7))",
        "DD-42",
    );
    assert!(out.contains("QNETVOL-DATA"), "{out}");
    virsh_ok(&uri, &["destroy", "qv"]);
    assert_eq!(read_at(&vol, 4096, 11), b"GUEST-WROTE");
    assert_eq!(
        virsh_ok(&uri, &["net-port-list", "qnat", "--uuid"]).trim(),
        ""
    );
    assert!(ns.taps().is_empty(), "{:?}", ns.taps());
    virsh_ok(&uri, &["net-destroy", "qnat"]);
    virsh_ok(&uri, &["pool-destroy", "qpool"]);
}

#[test]
fn network_and_volume_devices_are_defined_as_c_libvirtd_defines_them() {
    skip_if!(qemu_cant_run());
    if !is_root() {
        return skip("the C libvirtd reference runs as root");
    }
    let t = TempDir::new("qnet-diff");
    let Some((_c, c_sock)) = start_c_libvirtd(&t, &["qemu"]) else {
        return;
    };
    let (_d, ours) = start_virtqemud(&t);
    let theirs = format!("qemu:///system?socket={}", c_sock.display());
    let xml = t.join("d.xml");
    std::fs::write(
        &xml,
        "<domain type='qemu'>\n  <name>qdiff</name>\n  <uuid>5d1b6f5e-2c1a-4c55-9a43-0a7e1d3b9c11</uuid>\n  \
         <memory unit='MiB'>128</memory>\n  <vcpu>1</vcpu>\n  \
         <os><type arch='x86_64' machine='pc'>hvm</type></os>\n  <devices>\n    \
         <emulator>/usr/bin/qemu-system-x86_64</emulator>\n    \
         <disk type='volume' device='disk'><driver name='qemu' type='raw'/><source pool='p1' volume='v1'/><target dev='vda' bus='virtio'/></disk>\n    \
         <interface type='network'><mac address='52:54:00:9a:4e:11'/><source network='default' portgroup='pg'/><model type='virtio'/></interface>\n    \
         <interface type='bridge'><mac address='52:54:00:9a:4e:12'/><source bridge='br9'/><mtu size='1400'/></interface>\n    \
         <interface type='ethernet'><mac address='52:54:00:9a:4e:13'/><target dev='mytap0'/><model type='e1000'/></interface>\n  \
         </devices>\n</domain>\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let x = xml.to_str().unwrap_or("");
    virsh_ok(&ours, &["define", x]);
    virsh_ok(&theirs, &["define", x]);
    let o = virsh_ok(&ours, &["dumpxml", "--inactive", "qdiff"]);
    let c = virsh_ok(&theirs, &["dumpxml", "--inactive", "qdiff"]);
    assert_eq!(o, c);
    virsh_ok(&ours, &["undefine", "qdiff"]);
    virsh_ok(&theirs, &["undefine", "qdiff"]);
}

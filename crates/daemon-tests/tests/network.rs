// SPDX-License-Identifier: LGPL-2.1-or-later
//! Virtual networks end to end: virtnetworkd and libvirtd run inside a
//! network namespace each test creates (`ip netns add`) and removes, so
//! the bridges, nftables rules and dnsmasq they make never touch the
//! host's own network; the real virsh and libvirt-python drive them.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use test_support::*;

fn skip_reason() -> Option<String> {
    if !is_root() {
        return Some("network namespaces and bridges need root".into());
    }
    for (tool, pkg) in [
        ("virsh", "libvirt-clients"),
        ("ip", "iproute2"),
        ("nft", "nftables"),
    ] {
        if !tool_exists(tool) && !Path::new("/usr/sbin").join(tool).exists() {
            return Some(format!("needs {tool} ({pkg})"));
        }
    }
    if !Path::new("/usr/sbin/dnsmasq").exists() {
        return Some("needs dnsmasq (dnsmasq-base)".into());
    }
    None
}

/// A network namespace of the test's own, and the processes it started
/// there (dnsmasq daemonizes: whatever still runs from the test's
/// directory is killed when the test ends, pass or fail).
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
            .expect("ip netns add");
        assert!(st.success(), "ip netns add {name}");
        let ns = Netns {
            name,
            dir: dir.to_path_buf(),
        };
        ns.run("ip", &["link", "set", "lo", "up"]);
        ns
    }

    /// A command run inside the namespace.
    fn cmd(&self, prog: &str, args: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name, prog]).args(args);
        c
    }

    /// A command run inside the namespace that still sees the host's
    /// cgroup file systems (for the daemons that run containers):
    /// `ip netns exec` mounts the namespace's own /sys and loses them, so
    /// this enters the namespace, mounts its sysfs in a mount namespace of
    /// its own and binds the cgroup tree back.
    fn cmd_with_cgroups(&self, prog: &str, args: &[&str]) -> Command {
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
        let o = self.cmd(prog, args).output().expect("ip netns exec");
        assert!(o.status.success(), "{prog} {args:?}: {}", text(&o.stderr));
        text(&o.stdout)
    }

    /// Output of a command that may fail (empty then).
    fn try_run(&self, prog: &str, args: &[&str]) -> String {
        self.cmd(prog, args)
            .output()
            .map(|o| text(&o.stdout))
            .unwrap_or_default()
    }

    fn link_exists(&self, dev: &str) -> bool {
        self.cmd("ip", &["link", "show", dev])
            .output()
            .is_ok_and(|o| o.status.success())
    }

    /// The nftables rules of libvirt's table in the namespace.
    fn nft_rules(&self) -> String {
        self.try_run("nft", &["list", "table", "ip", "libvirt_network"])
    }

    /// The dnsmasq processes whose config lives in the test's directory
    /// (not the helper process each forks to run the lease script).
    fn dnsmasqs(&self) -> Vec<u32> {
        let all: Vec<u32> = own_processes(&self.dir)
            .into_iter()
            .filter(|(_, cmd)| cmd.contains("dnsmasq"))
            .map(|(pid, _)| pid)
            .collect();
        let ppid = |pid: u32| -> Option<u32> {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            let rest = &stat[stat.rfind(')')? + 2..];
            rest.split_whitespace().nth(1)?.parse().ok()
        };
        all.iter()
            .copied()
            .filter(|p| !ppid(*p).is_some_and(|pp| all.contains(&pp)))
            .collect()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        for (pid, _) in own_processes(&self.dir) {
            let _ = host::process::kill(pid, 9);
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// Processes whose command line names a path under `dir`.
fn own_processes(dir: &Path) -> Vec<(u32, String)> {
    let needle = dir.to_string_lossy().into_owned();
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    rd.flatten()
        .filter_map(|e| {
            let pid: u32 = e.file_name().to_str()?.parse().ok()?;
            let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            let cmd = String::from_utf8_lossy(&raw).replace('\0', " ");
            (cmd.contains(&needle) && host::process::is_alive(pid)).then_some((pid, cmd))
        })
        .collect()
}

/// Starts `daemon` inside `ns` with its files under `t`.
fn start_daemon(t: &TempDir, ns: &Netns, daemon: &str, sock: &str) -> Daemon {
    let conf = t.config("auth_unix_rw = \"none\"\nauth_unix_ro = \"none\"");
    let runs_containers = daemon == "libvirtd" || daemon == "virtlxcd";
    let mut cmd = (if runs_containers {
        Netns::cmd_with_cgroups
    } else {
        Netns::cmd
    })(
        ns,
        bin(daemon).to_str().unwrap_or(""),
        &[
            "-f",
            conf.to_str().unwrap_or(""),
            "-p",
            t.join(&format!("{daemon}.pid")).to_str().unwrap_or(""),
        ],
    );
    cmd.env("LIBVIRT_RS_ROOT_PREFIX", t.path());
    cmd.env("LIBVIRT_LXC_BINARY", bin_path("libvirt_lxc"));
    Daemon::start_cmd(cmd, t, &t.join(&format!("run/{sock}")))
}

const NAT_XML: &str = "<network>\n  <name>e2enat</name>\n  <forward mode='nat'/>\n  \
    <bridge name='lvrsbr0'/>\n  <ip address='10.213.7.1' netmask='255.255.255.0'>\n    \
    <dhcp>\n      <range start='10.213.7.10' end='10.213.7.50'/>\n    </dhcp>\n  </ip>\n\
    </network>\n";

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

#[test]
fn nat_network_starts_survives_sigkill_and_is_destroyed_completely() {
    skip_if!(skip_reason());
    let t = TempDir::new("netnat");
    let ns = Netns::new("nat", t.path());
    let mut d = start_daemon(&t, &ns, "virtnetworkd", "virtnetworkd-sock");
    let uri = format!(
        "network+unix:///system?socket={}",
        t.join("run/virtnetworkd-sock").display()
    );
    let xml = t.join("nat.xml");
    std::fs::write(&xml, NAT_XML).unwrap();
    virsh_ok(&uri, &["net-define", xml.to_str().unwrap()]);
    assert!(t.join("etc/libvirt/qemu/networks/e2enat.xml").exists());
    virsh_ok(&uri, &["net-autostart", "e2enat"]);
    assert!(t
        .join("etc/libvirt/qemu/networks/autostart/e2enat.xml")
        .exists());
    virsh_ok(&uri, &["net-start", "e2enat"]);

    // The bridge with its address, dnsmasq with the generated config, the
    // rules in libvirt's table.
    let addr = ns.run("ip", &["-4", "addr", "show", "dev", "lvrsbr0"]);
    assert!(
        addr.contains("inet 10.213.7.1/24 brd 10.213.7.255"),
        "{addr}"
    );
    let dns = ns.dnsmasqs();
    assert_eq!(dns.len(), 1, "one dnsmasq");
    let conf = std::fs::read_to_string(t.join("var/lib/libvirt/dnsmasq/e2enat.conf")).unwrap();
    assert!(conf.contains("interface=lvrsbr0\n"), "{conf}");
    assert!(conf.contains("dhcp-range=10.213.7.10,10.213.7.50,255.255.255.0\n"));
    let pidfile = std::fs::read_to_string(t.join("run/libvirt/network/e2enat.pid")).unwrap();
    assert_eq!(pidfile.trim(), dns[0].to_string());
    let rules = ns.nft_rules();
    assert!(rules.contains("iifname \"lvrsbr0\""), "{rules}");
    assert!(rules.contains("masquerade"), "{rules}");
    let info = virsh_ok(&uri, &["net-info", "e2enat"]);
    assert!(info.contains("Active:         yes"), "{info}");
    assert!(info.contains("Autostart:      yes"), "{info}");
    let list = virsh_ok(&uri, &["net-list", "--name", "--persistent", "--autostart"]);
    assert_eq!(list.trim(), "e2enat");
    let leases = virsh_ok(&uri, &["net-dhcp-leases", "e2enat"]);
    assert!(leases.contains("Expiry Time"), "{leases}");

    // net-update adds a static host live: hosts file rewritten.
    virsh_ok(
        &uri,
        &[
            "net-update",
            "e2enat",
            "add",
            "ip-dhcp-host",
            "<host mac='52:54:00:12:34:56' name='fixed' ip='10.213.7.5'/>",
            "--live",
            "--config",
        ],
    );
    let hosts =
        std::fs::read_to_string(t.join("var/lib/libvirt/dnsmasq/e2enat.hostsfile")).unwrap();
    assert_eq!(hosts, "52:54:00:12:34:56,10.213.7.5,fixed\n");
    assert_eq!(
        ns.dnsmasqs(),
        dns,
        "dnsmasq told with SIGHUP, not restarted"
    );
    let inactive = virsh_ok(&uri, &["net-dumpxml", "e2enat", "--inactive"]);
    assert!(inactive.contains("name='fixed'"), "{inactive}");

    // SIGKILL with the network active: a restarted daemon finds it
    // running, with the same single dnsmasq.
    d.kill9();
    drop(d);
    let d2 = start_daemon(&t, &ns, "virtnetworkd", "virtnetworkd-sock");
    let list = virsh_ok(&uri, &["net-list", "--name"]);
    assert_eq!(list.trim(), "e2enat");
    assert_eq!(ns.dnsmasqs(), dns, "exactly the one dnsmasq");
    assert!(ns.link_exists("lvrsbr0"));

    // net-destroy removes dnsmasq, the rules and the bridge.
    virsh_ok(&uri, &["net-destroy", "e2enat"]);
    assert!(
        eventually_within(Duration::from_secs(5), || ns.dnsmasqs().is_empty()),
        "dnsmasq still runs"
    );
    assert!(!ns.link_exists("lvrsbr0"));
    assert!(!ns.nft_rules().contains("lvrsbr0"), "{}", ns.nft_rules());
    assert!(!t.join("run/libvirt/network/e2enat.xml").exists());
    let list = virsh_ok(&uri, &["net-list", "--all", "--name", "--inactive"]);
    assert_eq!(list.trim(), "e2enat");
    virsh_ok(&uri, &["net-undefine", "e2enat"]);
    assert!(!t.join("etc/libvirt/qemu/networks/e2enat.xml").exists());
    drop(d2);
}

#[test]
fn bad_input_is_refused_with_libvirts_error_and_leaves_nothing() {
    skip_if!(skip_reason());
    let t = TempDir::new("netbad");
    let ns = Netns::new("bad", t.path());
    let _d = start_daemon(&t, &ns, "virtnetworkd", "virtnetworkd-sock");
    let uri = format!(
        "network+unix:///system?socket={}",
        t.join("run/virtnetworkd-sock").display()
    );
    // A subnet an interface of the namespace already routes.
    ns.run("ip", &["link", "add", "lvrsdummy0", "type", "bridge"]);
    ns.run("ip", &["addr", "add", "10.213.7.1/24", "dev", "lvrsdummy0"]);
    ns.run("ip", &["link", "set", "lvrsdummy0", "up"]);
    let xml = t.join("nat.xml");
    std::fs::write(&xml, NAT_XML).unwrap();
    let err = virsh_err(&uri, &["net-create", xml.to_str().unwrap()]);
    assert!(
        err.contains("internal error: Network is already in use by interface lvrsdummy0"),
        "{err}"
    );
    assert!(!ns.link_exists("lvrsbr0"));
    assert!(ns.dnsmasqs().is_empty());
    assert!(!ns.nft_rules().contains("lvrsbr0"));
    let list = virsh_ok(&uri, &["net-list", "--all", "--name"]);
    assert_eq!(list.trim(), "", "the transient network is gone");

    // A bridge name another network has.
    let a = t.join("a.xml");
    std::fs::write(
        &a,
        "<network><name>first</name><bridge name='lvrsbr1'/></network>",
    )
    .unwrap();
    virsh_ok(&uri, &["net-define", a.to_str().unwrap()]);
    let b = t.join("b.xml");
    std::fs::write(
        &b,
        "<network><name>second</name><bridge name='lvrsbr1'/></network>",
    )
    .unwrap();
    let err = virsh_err(&uri, &["net-define", b.to_str().unwrap()]);
    assert!(
        err.contains("internal error: bridge name 'lvrsbr1' already in use."),
        "{err}"
    );
    assert!(!t.join("etc/libvirt/qemu/networks/second.xml").exists());

    // A bridge device that exists already.
    let c = t.join("c.xml");
    std::fs::write(
        &c,
        "<network><name>third</name><bridge name='lvrsdummy0'/></network>",
    )
    .unwrap();
    let err = virsh_err(&uri, &["net-create", c.to_str().unwrap()]);
    assert!(
        err.contains("error creating bridge interface lvrsdummy0: File exists"),
        "{err}"
    );
    assert!(
        ns.link_exists("lvrsdummy0"),
        "the existing device is untouched"
    );

    // Invalid XML.
    let bad = t.join("bad.xml");
    std::fs::write(
        &bad,
        "<network><name>x</name><ip address='nonsense'/></network>",
    )
    .unwrap();
    let err = virsh_err(&uri, &["net-define", bad.to_str().unwrap()]);
    assert!(err.contains("error: "), "{err}");
    let list = virsh_ok(&uri, &["net-list", "--all", "--name"]);
    assert_eq!(list.trim(), "first");
}

#[test]
fn libvirtd_answers_network_calls_on_a_hypervisor_connection() {
    skip_if!(skip_reason());
    if !python_available() {
        skip("needs python3-libvirt");
        return;
    }
    let t = TempDir::new("netpy");
    let ns = Netns::new("py", t.path());
    let _d = start_daemon(&t, &ns, "libvirtd", "libvirt-sock");
    let uri = format!(
        "lxc+unix:///system?socket={}",
        t.join("run/libvirt-sock").display()
    );
    let script = r#"
import sys, threading, time, libvirt
libvirt.virEventRegisterDefaultImpl()
def loop():
    while True:
        libvirt.virEventRunDefaultImpl()
threading.Thread(target=loop, daemon=True).start()
c = libvirt.open(sys.argv[1])
events = []
c.networkEventRegisterAny(None, libvirt.VIR_NETWORK_EVENT_ID_LIFECYCLE,
                          lambda conn, net, ev, detail, opaque: events.append(ev), None)
n = c.networkCreateXML(sys.argv[2])
print("active", n.isActive(), "persistent", n.isPersistent(), "bridge", n.bridgeName())
print("leases", n.DHCPLeases())
print("names", [x.name() for x in c.listAllNetworks(libvirt.VIR_CONNECT_LIST_NETWORKS_ACTIVE)])
n.destroy()
try:
    c.networkLookupByName("e2enat")
except libvirt.libvirtError as e:
    print("gone", e.get_error_code(), e.get_error_domain())
for _ in range(50):
    if len(events) >= 2:
        break
    time.sleep(0.1)
print("events", events)
"#;
    let out = python(script, &[&uri, NAT_XML]).success();
    assert!(
        out.contains("active 1 persistent 0 bridge lvrsbr0"),
        "{out}"
    );
    assert!(out.contains("leases []"), "{out}");
    assert!(out.contains("names ['e2enat']"), "{out}");
    // VIR_ERR_NO_NETWORK (43) from VIR_FROM_NETWORK (19).
    assert!(out.contains("gone 43 19"), "{out}");
    // VIR_NETWORK_EVENT_STARTED, VIR_NETWORK_EVENT_STOPPED.
    assert!(out.contains("events [2, 3]"), "{out}");
    assert!(!ns.link_exists("lvrsbr0"));
    assert!(ns.dnsmasqs().is_empty());
}

const PORT_UUID: &str = "5d2a5e4c-8b40-4f0e-9a57-2f1c3b7d9e01";

fn port_xml() -> String {
    format!(
        "<networkport>\n  <uuid>{PORT_UUID}</uuid>\n  <owner>\n    <name>guest1</name>\n    \
         <uuid>c7a5fdbd-edaf-9455-926a-d65c16db1809</uuid>\n  </owner>\n  \
         <mac address='52:54:00:aa:bb:cc'/>\n  <bandwidth>\n    <inbound average='100'/>\n    \
         <outbound average='50'/>\n  </bandwidth>\n</networkport>\n"
    )
}

#[test]
fn network_ports_are_plugged_listed_kept_across_restarts_and_deleted() {
    skip_if!(skip_reason());
    let t = TempDir::new("netport");
    let ns = Netns::new("port", t.path());
    let mut d = start_daemon(&t, &ns, "virtnetworkd", "virtnetworkd-sock");
    let uri = format!(
        "network+unix:///system?socket={}",
        t.join("run/virtnetworkd-sock").display()
    );
    let xml = t.join("nat.xml");
    std::fs::write(&xml, NAT_XML).unwrap();
    let px = t.join("port.xml");
    std::fs::write(&px, port_xml()).unwrap();

    // Not running yet: libvirt's words.
    virsh_ok(&uri, &["net-define", xml.to_str().unwrap()]);
    let err = virsh_err(&uri, &["net-port-create", "e2enat", px.to_str().unwrap()]);
    assert!(
        err.contains("Requested operation is not valid: network 'e2enat' is not active"),
        "{err}"
    );
    virsh_ok(&uri, &["net-start", "e2enat"]);
    virsh_ok(&uri, &["net-port-create", "e2enat", px.to_str().unwrap()]);
    let list = virsh_ok(&uri, &["net-port-list", "e2enat", "--uuid"]);
    assert_eq!(list.trim(), PORT_UUID);
    let dump = virsh_ok(&uri, &["net-port-dumpxml", "e2enat", PORT_UUID]);
    assert!(
        dump.contains("<plug type='network' bridge='lvrsbr0'/>"),
        "{dump}"
    );
    let file = t.join(&format!("run/libvirt/network/e2enat/ports/{PORT_UUID}.xml"));
    let saved = std::fs::read_to_string(&file).unwrap();
    assert!(saved.contains("virsh net-port-create"), "{saved}");
    assert!(saved.trim_end().ends_with(dump.trim_end()), "{saved}");
    let live = virsh_ok(&uri, &["net-dumpxml", "e2enat"]);
    assert!(live.contains("<network connections='1'>"), "{live}");
    let err = virsh_err(&uri, &["net-port-create", "e2enat", px.to_str().unwrap()]);
    assert!(
        err.contains(&format!(
            "network port Network port with UUID {PORT_UUID} already exists exists already"
        )),
        "{err}"
    );

    // Bandwidth through libvirt-python's port parameters.
    if python_available() {
        let script = r#"
import sys, libvirt
c = libvirt.open(sys.argv[1])
n = c.networkLookupByName("e2enat")
p = n.portLookupByUUIDString(sys.argv[2])
p.setParameters({libvirt.VIR_NETWORK_PORT_BANDWIDTH_IN_AVERAGE: 1000,
                 libvirt.VIR_NETWORK_PORT_BANDWIDTH_OUT_AVERAGE: 500,
                 libvirt.VIR_NETWORK_PORT_BANDWIDTH_OUT_BURST: 64})
print(sorted(p.parameters().items()))
print([x.UUIDString() for x in n.listAllPorts()])
"#;
        let out = python(script, &[&uri, PORT_UUID]).success();
        assert!(
            out.contains("('inbound.average', 1000)") && out.contains("('outbound.burst', 64)"),
            "{out}"
        );
        assert!(out.contains(&format!("['{PORT_UUID}']")), "{out}");
        let dump = virsh_ok(&uri, &["net-port-dumpxml", "e2enat", PORT_UUID]);
        assert!(dump.contains("<inbound average='1000'/>"), "{dump}");
    }

    // A restarted daemon still has the port.
    d.kill9();
    drop(d);
    let d2 = start_daemon(&t, &ns, "virtnetworkd", "virtnetworkd-sock");
    let list = virsh_ok(&uri, &["net-port-list", "e2enat", "--uuid"]);
    assert_eq!(list.trim(), PORT_UUID);
    let live = virsh_ok(&uri, &["net-dumpxml", "e2enat"]);
    assert!(live.contains("<network connections='1'>"), "{live}");

    virsh_ok(&uri, &["net-port-delete", "e2enat", PORT_UUID]);
    assert!(!file.exists());
    // (virsh's net-port-delete exits 0 even when it fails.)
    let err = text(&virsh(&uri, false, &["net-port-delete", "e2enat", PORT_UUID]).stderr);
    assert!(
        err.contains(&format!("failed to get network port '{PORT_UUID}'")),
        "{err}"
    );
    let live = virsh_ok(&uri, &["net-dumpxml", "e2enat"]);
    assert!(live.starts_with("<network>"), "{live}");

    // Destroying a network with ports removes them.
    virsh_ok(&uri, &["net-port-create", "e2enat", px.to_str().unwrap()]);
    virsh_ok(&uri, &["net-destroy", "e2enat"]);
    assert!(!file.exists());
    assert!(!t.join("run/libvirt/network/e2enat").exists());
    drop(d2);
}

/// Why the container tests cannot run here, beyond the network ones.
fn container_skip_reason() -> Option<String> {
    skip_reason().or_else(missing_busybox).or_else(|| {
        (!bin_path("libvirt_lxc").exists())
            .then(|| "libvirt_lxc is not built (cargo build --workspace --bins)".to_string())
    })
}

const GUEST_MAC: &str = "52:54:00:3c:4d:5e";

/// A busybox container on network `net` that asks for a DHCP lease with
/// busybox's udhcpc, then sleeps.
fn container_xml(t: &TempDir, name: &str, net: &str) -> PathBuf {
    container_xml_with(
        t,
        name,
        &format!("<interface type='network'><mac address='{GUEST_MAC}'/><source network='{net}'/></interface>"),
    )
}

/// The same container with the NIC `iface`.
fn container_xml_with(t: &TempDir, name: &str, iface: &str) -> PathBuf {
    let root = BusyboxRoot::new(t.join(&format!("rootfs-{name}")))
        .applets(&["sh", "udhcpc", "sleep", "true"])
        .build();
    let xml = t.join(&format!("{name}.xml"));
    std::fs::write(
        &xml,
        format!(
            "<domain type='lxc'><name>{name}</name><memory unit='MiB'>32</memory>\
             <os><type>exe</type><init>/bin/sh</init><initarg>-c</initarg>\
             <initarg>udhcpc -i eth0 -n -q -t 30 -T 1 -s /bin/true -x hostname:{name}; exec sleep 1000</initarg>\
             </os><devices>\
             <filesystem type='mount'><source dir='{}'/><target dir='/'/></filesystem>\
             {iface}<console type='pty'/></devices></domain>",
            root.display()
        ),
    )
    .unwrap();
    xml
}

/// Destroys the container when the test ends, pass or fail.
struct Guest<'a> {
    uri: &'a str,
    name: &'a str,
}

impl Drop for Guest<'_> {
    fn drop(&mut self) {
        let _ = virsh(self.uri, false, &["destroy", self.name]);
    }
}

#[test]
fn container_on_a_nat_network_gets_a_dhcp_lease_through_its_port() {
    skip_if!(container_skip_reason());
    let t = TempDir::new("netct");
    let ns = Netns::new("ct", t.path());
    let mut d = start_daemon(&t, &ns, "libvirtd", "libvirt-sock");
    let sock = t.join("run/libvirt-sock");
    let lxc = format!("lxc+unix:///system?socket={}", sock.display());
    let xml = t.join("nat.xml");
    std::fs::write(&xml, NAT_XML).unwrap();
    virsh_ok(&lxc, &["net-create", xml.to_str().unwrap()]);

    let ct = container_xml(&t, "netct", "e2enat");
    virsh_ok(&lxc, &["create", ct.to_str().unwrap()]);
    let guest = Guest {
        uri: &lxc,
        name: "netct",
    };

    // A port of the network, the veth's host end on its bridge.
    let ports = virsh_ok(&lxc, &["net-port-list", "e2enat", "--uuid"]);
    let port = ports.trim().to_string();
    assert_eq!(port.len(), 36, "one port: {ports}");
    let dom = virsh_ok(&lxc, &["dumpxml", "netct"]);
    assert!(
        dom.contains(&format!(
            "<source network='e2enat' portid='{port}' bridge='lvrsbr0'/>"
        )),
        "{dom}"
    );
    let inactive = virsh_ok(&lxc, &["dumpxml", "--inactive", "netct"]);
    assert!(!inactive.contains("portid"), "{inactive}");
    let pxml = virsh_ok(&lxc, &["net-port-dumpxml", "e2enat", &port]);
    assert!(pxml.contains("<name>netct</name>"), "{pxml}");
    assert!(
        pxml.contains(&format!("<mac address='{GUEST_MAC}'/>")),
        "{pxml}"
    );
    let members = ns.run("ip", &["-o", "link", "show", "master", "lvrsbr0"]);
    assert_eq!(members.lines().count(), 1, "{members}");

    // busybox's udhcpc inside the container gets a lease from dnsmasq.
    let mut leases = String::new();
    let got = eventually_within(Duration::from_secs(60), || {
        leases = virsh_ok(&lxc, &["net-dhcp-leases", "e2enat"]);
        leases.contains(GUEST_MAC)
    });
    assert!(got, "no lease: {leases}");
    let line = leases
        .lines()
        .find(|l| l.contains(GUEST_MAC))
        .unwrap_or_default();
    let ip = line
        .split_whitespace()
        .find(|w| w.starts_with("10.213.7."))
        .unwrap_or_default();
    let last: u32 = ip
        .trim_start_matches("10.213.7.")
        .trim_end_matches("/24")
        .parse()
        .unwrap_or(0);
    assert!((10..=50).contains(&last), "lease in the range: {line}");
    assert!(line.contains("netct"), "hostname: {line}");
    // Kept by the lease helper dnsmasq runs, in libvirt's database.
    let db = std::fs::read_to_string(t.join("var/lib/libvirt/dnsmasq/lvrsbr0.status"))
        .unwrap_or_default();
    assert!(
        db.contains(&format!("\"mac-address\": \"{GUEST_MAC}\""))
            && db.contains("\"hostname\": \"netct\""),
        "{db}"
    );
    let dns = ns.dnsmasqs();
    assert_eq!(dns.len(), 1);
    let cmdline = std::fs::read(format!("/proc/{}/cmdline", dns[0])).unwrap_or_default();
    let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
    assert!(
        cmdline.contains("--leasefile-ro") && cmdline.contains("libvirt_leaseshelper"),
        "{cmdline}"
    );

    // A container with <interface type='bridge'> on the same bridge gets
    // a lease too, without a port.
    const BRIDGE_MAC: &str = "52:54:00:3c:4d:5f";
    let brct = container_xml_with(
        &t,
        "brct",
        &format!("<interface type='bridge'><mac address='{BRIDGE_MAC}'/><source bridge='lvrsbr0'/></interface>"),
    );
    virsh_ok(&lxc, &["create", brct.to_str().unwrap()]);
    let brguest = Guest {
        uri: &lxc,
        name: "brct",
    };
    let got = eventually_within(Duration::from_secs(60), || {
        leases = virsh_ok(&lxc, &["net-dhcp-leases", "e2enat", "--mac", BRIDGE_MAC]);
        leases.contains("10.213.7.")
    });
    assert!(got, "no lease for the bridged container: {leases}");
    let ports = virsh_ok(&lxc, &["net-port-list", "e2enat", "--uuid"]);
    assert_eq!(ports.trim(), port, "no port for a bridge NIC");
    virsh_ok(&lxc, &["destroy", "brct"]);
    drop(brguest);

    // A libvirtd killed and started again finds the container and its
    // port, and stopping the container then releases the port.
    d.kill9();
    drop(d);
    let _d2 = start_daemon(&t, &ns, "libvirtd", "libvirt-sock");
    let running = virsh_ok(&lxc, &["list", "--name"]);
    assert_eq!(running.trim(), "netct");
    let ports = virsh_ok(&lxc, &["net-port-list", "e2enat", "--uuid"]);
    assert_eq!(ports.trim(), port);

    // Stopping the container releases the port.
    virsh_ok(&lxc, &["destroy", "netct"]);
    drop(guest);
    let ports = virsh_ok(&lxc, &["net-port-list", "e2enat", "--uuid"]);
    assert_eq!(ports.trim(), "", "port released");
    assert!(!t
        .join(&format!("run/libvirt/network/e2enat/ports/{port}.xml"))
        .exists());
    let members = ns.try_run("ip", &["-o", "link", "show", "master", "lvrsbr0"]);
    assert_eq!(members.trim(), "", "veth gone");
    virsh_ok(&lxc, &["net-destroy", "e2enat"]);
}

#[test]
fn virtlxcd_plugs_its_containers_through_virtnetworkd() {
    skip_if!(container_skip_reason());
    let t = TempDir::new("netmod");
    let ns = Netns::new("mod", t.path());
    let _n = start_daemon(&t, &ns, "virtnetworkd", "virtnetworkd-sock");
    let _l = start_daemon(&t, &ns, "virtlxcd", "virtlxcd-sock");
    let net = format!(
        "network+unix:///system?socket={}",
        t.join("run/virtnetworkd-sock").display()
    );
    let lxc = format!(
        "lxc+unix:///system?socket={}",
        t.join("run/virtlxcd-sock").display()
    );
    let ct = container_xml(&t, "modct", "e2enat");
    // No such network yet: the network driver's error reaches the client.
    let err = virsh_err(&lxc, &["create", ct.to_str().unwrap()]);
    assert!(
        err.contains("Network not found: no network with matching name 'e2enat'"),
        "{err}"
    );
    let xml = t.join("nat.xml");
    std::fs::write(&xml, NAT_XML).unwrap();
    virsh_ok(&net, &["net-create", xml.to_str().unwrap()]);
    virsh_ok(&lxc, &["create", ct.to_str().unwrap()]);
    let guest = Guest {
        uri: &lxc,
        name: "modct",
    };
    let ports = virsh_ok(&net, &["net-port-list", "e2enat", "--uuid"]);
    let port = ports.trim().to_string();
    assert_eq!(port.len(), 36, "one port: {ports}");
    let pxml = virsh_ok(&net, &["net-port-dumpxml", "e2enat", &port]);
    assert!(pxml.contains("<name>modct</name>"), "{pxml}");
    let mut leases = String::new();
    let got = eventually_within(Duration::from_secs(60), || {
        leases = virsh_ok(&net, &["net-dhcp-leases", "e2enat", "--mac", GUEST_MAC]);
        leases.contains("10.213.7.")
    });
    assert!(got, "no lease: {leases}");
    virsh_ok(&lxc, &["destroy", "modct"]);
    drop(guest);
    let ports = virsh_ok(&net, &["net-port-list", "e2enat", "--uuid"]);
    assert_eq!(ports.trim(), "", "port released");
    virsh_ok(&net, &["net-destroy", "e2enat"]);
}

#[test]
fn net_update_sections_reach_the_running_dnsmasq() {
    skip_if!(skip_reason());
    let t = TempDir::new("netupd");
    let ns = Netns::new("upd", t.path());
    let _d = start_daemon(&t, &ns, "virtnetworkd", "virtnetworkd-sock");
    let uri = format!(
        "network+unix:///system?socket={}",
        t.join("run/virtnetworkd-sock").display()
    );
    let xml = t.join("nat.xml");
    std::fs::write(&xml, NAT_XML).unwrap();
    virsh_ok(&uri, &["net-define", xml.to_str().unwrap()]);
    virsh_ok(&uri, &["net-start", "e2enat"]);
    let dir = t.join("var/lib/libvirt/dnsmasq");
    let conf = || std::fs::read_to_string(dir.join("e2enat.conf")).unwrap_or_default();
    let first = ns.dnsmasqs();
    assert_eq!(first.len(), 1);
    let update = |args: &[&str]| {
        let mut v = vec!["net-update", "e2enat"];
        v.extend_from_slice(args);
        v.extend_from_slice(&["--live", "--config"]);
        virsh_ok(&uri, &v)
    };

    // A DNS host goes into the additional hosts file: SIGHUP, same dnsmasq.
    update(&[
        "add",
        "dns-host",
        "<host ip='10.213.7.60'><hostname>web</hostname></host>",
    ]);
    let hosts = std::fs::read_to_string(dir.join("e2enat.addnhosts")).unwrap();
    assert!(hosts.contains("10.213.7.60\tweb"), "{hosts}");
    assert_eq!(ns.dnsmasqs(), first, "told, not restarted");

    // A range and TXT / SRV records are in the config file: restarted.
    update(&[
        "add",
        "ip-dhcp-range",
        "<range start='10.213.7.100' end='10.213.7.120'/>",
    ]);
    assert!(
        conf().contains("dhcp-range=10.213.7.100,10.213.7.120,255.255.255.0\n"),
        "{}",
        conf()
    );
    let second = ns.dnsmasqs();
    assert_eq!(second.len(), 1);
    assert_ne!(second, first, "restarted for its config");
    update(&["add", "dns-txt", "<txt name='example' value='hello'/>"]);
    assert!(conf().contains("txt-record=example,hello\n"), "{}", conf());
    update(&[
        "add",
        "dns-srv",
        "<srv service='ldap' protocol='tcp' target='web' port='389'/>",
    ]);
    assert!(conf().contains("srv-host=_ldap._tcp"), "{}", conf());
    assert_eq!(ns.dnsmasqs().len(), 1, "exactly one dnsmasq");

    // A portgroup only changes the definition.
    update(&[
        "add",
        "portgroup",
        "<portgroup name='engineering' default='yes'/>",
    ]);
    let live = virsh_ok(&uri, &["net-dumpxml", "e2enat"]);
    assert!(
        live.contains("<portgroup name='engineering' default='yes'>")
            || live.contains("<portgroup name='engineering' default='yes'/>"),
        "{live}"
    );
    let inactive = virsh_ok(&uri, &["net-dumpxml", "e2enat", "--inactive"]);
    assert!(
        inactive.contains("<txt name='example' value='hello'/>"),
        "{inactive}"
    );

    // Libvirt's refusals, nothing changed.
    let err = virsh_err(
        &uri,
        &[
            "net-update",
            "e2enat",
            "modify",
            "ip-dhcp-range",
            "<range start='10.213.7.100' end='10.213.7.120'/>",
            "--live",
        ],
    );
    assert!(
        err.contains(
            "Operation not supported: dhcp ranges cannot be modified, only added or deleted"
        ),
        "{err}"
    );
    let err = virsh_err(
        &uri,
        &[
            "net-update",
            "e2enat",
            "delete",
            "dns-txt",
            "<txt name='nosuch'/>",
            "--live",
        ],
    );
    assert!(
        err.contains("Requested operation is not valid: couldn't locate a matching DNS TXT record in network e2enat"),
        "{err}"
    );
    let err = virsh_err(
        &uri,
        &[
            "net-update",
            "e2enat",
            "add",
            "bridge",
            "<bridge name='x'/>",
            "--live",
        ],
    );
    assert!(
        err.contains("can't update 'bridge' section of network 'e2enat'"),
        "{err}"
    );

    // Deleting puts things back.
    update(&["delete", "dns-host", "<host ip='10.213.7.60'/>"]);
    let hosts = std::fs::read_to_string(dir.join("e2enat.addnhosts")).unwrap();
    assert!(!hosts.contains("web"), "{hosts}");
    update(&[
        "delete",
        "ip-dhcp-range",
        "<range start='10.213.7.100' end='10.213.7.120'/>",
    ]);
    assert!(!conf().contains("10.213.7.100"), "{}", conf());
    virsh_ok(&uri, &["net-destroy", "e2enat"]);
    assert!(eventually_within(Duration::from_secs(5), || ns
        .dnsmasqs()
        .is_empty()));
}

#[test]
fn route_open_isolated_ipv6_and_bridge_networks() {
    skip_if!(skip_reason());
    let t = TempDir::new("netmodes");
    let ns = Netns::new("modes", t.path());
    let _d = start_daemon(&t, &ns, "virtnetworkd", "virtnetworkd-sock");
    let uri = format!(
        "network+unix:///system?socket={}",
        t.join("run/virtnetworkd-sock").display()
    );
    let create = |name: &str, xml: &str| {
        let f = t.join(&format!("{name}.xml"));
        std::fs::write(&f, xml).unwrap();
        virsh_ok(&uri, &["net-create", f.to_str().unwrap()]);
    };
    let sysctl = |path: &str| ns.run("cat", &[path]).trim().to_string();

    // Routed, with a static route through a guest.
    create(
        "rt",
        "<network><name>rt</name><forward mode='route'/><bridge name='lvrsrt0'/>\
         <ip address='10.213.8.1' prefix='24'/>\
         <route address='10.213.99.0' prefix='24' gateway='10.213.8.2'/></network>",
    );
    let rules = ns.nft_rules();
    assert!(rules.contains("\"lvrsrt0\""), "{rules}");
    assert!(
        !rules.contains("masquerade"),
        "route mode does not NAT: {rules}"
    );
    let routes = ns.run("ip", &["route", "show"]);
    assert!(
        routes.contains("10.213.99.0/24 via 10.213.8.2 dev lvrsrt0 proto static metric 1"),
        "{routes}"
    );
    assert_eq!(sysctl("/proc/sys/net/ipv4/ip_forward"), "1");
    assert_eq!(
        sysctl("/proc/sys/net/ipv6/conf/lvrsrt0/disable_ipv6"),
        "1",
        "no IPv6 address: IPv6 off on the bridge"
    );
    virsh_ok(&uri, &["net-destroy", "rt"]);
    assert!(!ns.link_exists("lvrsrt0"));
    assert!(!ns.nft_rules().contains("lvrsrt0"));

    // Open: the bridge and its addresses, no firewall rules at all.
    create(
        "op",
        "<network><name>op</name><forward mode='open'/><bridge name='lvrsop0'/>\
         <ip address='10.213.9.1' prefix='24'/></network>",
    );
    assert!(ns.link_exists("lvrsop0"));
    assert!(!ns.nft_rules().contains("lvrsop0"), "{}", ns.nft_rules());
    virsh_ok(&uri, &["net-destroy", "op"]);

    // Isolated (no <forward>) with IPv6: rules that keep it to itself,
    // router advertisements and DHCPv6 from dnsmasq.
    create(
        "iso",
        "<network><name>iso</name><bridge name='lvrsis0'/>\
         <ip address='10.213.10.1' prefix='24'/>\
         <ip family='ipv6' address='fd00:213:10::1' prefix='64'><dhcp>\
         <range start='fd00:213:10::100' end='fd00:213:10::1ff'/></dhcp></ip></network>",
    );
    let rules = ns.nft_rules();
    assert!(
        rules.contains("\"lvrsis0\"") && rules.contains("reject"),
        "{rules}"
    );
    let v6 = ns.run("ip", &["-6", "addr", "show", "dev", "lvrsis0"]);
    assert!(v6.contains("fd00:213:10::1/64"), "{v6}");
    assert_eq!(sysctl("/proc/sys/net/ipv6/conf/lvrsis0/disable_ipv6"), "0");
    assert_eq!(sysctl("/proc/sys/net/ipv6/conf/lvrsis0/accept_ra"), "0");
    assert_eq!(sysctl("/proc/sys/net/ipv6/conf/lvrsis0/autoconf"), "0");
    let conf =
        std::fs::read_to_string(t.join("var/lib/libvirt/dnsmasq/iso.conf")).unwrap_or_default();
    assert!(conf.contains("enable-ra\n"), "{conf}");
    assert!(
        conf.contains("dhcp-range=fd00:213:10::100,fd00:213:10::1ff,64\n"),
        "{conf}"
    );
    assert_eq!(ns.dnsmasqs().len(), 1, "dnsmasq serves RA and DHCPv6");
    virsh_ok(&uri, &["net-destroy", "iso"]);
    assert!(eventually_within(Duration::from_secs(5), || ns
        .dnsmasqs()
        .is_empty()));

    // Bridge mode: a host bridge libvirt only names; guests plug into it.
    ns.run("ip", &["link", "add", "lvrshost0", "type", "bridge"]);
    create(
        "hb",
        "<network><name>hb</name><forward mode='bridge'/><bridge name='lvrshost0'/></network>",
    );
    let info = virsh_ok(&uri, &["net-info", "hb"]);
    assert!(info.contains("Active:         yes"), "{info}");
    assert!(ns.dnsmasqs().is_empty(), "no dnsmasq on a host bridge");
    let px = t.join("port.xml");
    std::fs::write(&px, port_xml()).unwrap();
    virsh_ok(&uri, &["net-port-create", "hb", px.to_str().unwrap()]);
    let dump = virsh_ok(&uri, &["net-port-dumpxml", "hb", PORT_UUID]);
    assert!(
        dump.contains("<plug type='bridge' bridge='lvrshost0'/>"),
        "{dump}"
    );
    virsh_ok(&uri, &["net-destroy", "hb"]);
    assert!(ns.link_exists("lvrshost0"), "the host's bridge stays");
}

#[test]
fn a_dnsmasq_that_dies_is_reported_and_started_again() {
    skip_if!(skip_reason());
    let t = TempDir::new("netdie");
    let ns = Netns::new("die", t.path());
    let d = start_daemon(&t, &ns, "virtnetworkd", "virtnetworkd-sock");
    let uri = format!(
        "network+unix:///system?socket={}",
        t.join("run/virtnetworkd-sock").display()
    );
    let xml = t.join("nat.xml");
    std::fs::write(&xml, NAT_XML).unwrap();
    virsh_ok(&uri, &["net-create", xml.to_str().unwrap()]);
    let first = ns.dnsmasqs();
    assert_eq!(first.len(), 1);
    host::process::kill(first[0], 9).unwrap();
    let pidfile = t.join("run/libvirt/network/e2enat.pid");
    let mut now = Vec::new();
    let back = eventually_within(Duration::from_secs(30), || {
        now = ns.dnsmasqs();
        now.len() == 1
            && now != first
            && std::fs::read_to_string(&pidfile).is_ok_and(|p| p.trim() == now[0].to_string())
    });
    assert!(back, "dnsmasq not started again: {now:?}");
    // The network stayed active all along, as libvirt keeps it.
    let info = virsh_ok(&uri, &["net-info", "e2enat"]);
    assert!(info.contains("Active:         yes"), "{info}");
    let log = d.stderr_text();
    assert!(
        log.contains(&format!(
            "dnsmasq (pid {}) of network 'e2enat' died",
            first[0]
        )),
        "{log}"
    );
    virsh_ok(&uri, &["net-destroy", "e2enat"]);
    assert!(eventually_within(Duration::from_secs(5), || ns
        .dnsmasqs()
        .is_empty()));
}

#[test]
fn network_bandwidth_is_shaped_with_tc_on_the_bridge() {
    skip_if!(skip_reason());
    if !tool_exists("tc") && !Path::new("/usr/sbin/tc").exists() && !Path::new("/sbin/tc").exists()
    {
        skip("needs tc (iproute2)");
        return;
    }
    let t = TempDir::new("netbw");
    let ns = Netns::new("bw", t.path());
    let _d = start_daemon(&t, &ns, "virtnetworkd", "virtnetworkd-sock");
    let uri = format!(
        "network+unix:///system?socket={}",
        t.join("run/virtnetworkd-sock").display()
    );
    let net = |name: &str, bw: &str| {
        let xml = t.join(&format!("{name}.xml"));
        std::fs::write(
            &xml,
            format!(
                "<network><name>{name}</name><bridge name='{name}0'/>\
                 <bandwidth>{bw}</bandwidth><ip address='10.213.11.1' prefix='24'/></network>"
            ),
        )
        .unwrap();
        xml
    };

    // The kernel's schedulers and actions tc needs, probed on a spare
    // bridge of the namespace.
    ns.run("ip", &["link", "add", "lvrsprobe", "type", "bridge"]);
    let works = |args: &[&str]| {
        ns.cmd("tc", args)
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let sfq = works(&["qdisc", "add", "dev", "lvrsprobe", "root", "sfq"]);
    let police = works(&["qdisc", "add", "dev", "lvrsprobe", "ingress"])
        && works(&[
            "filter",
            "add",
            "dev",
            "lvrsprobe",
            "parent",
            "ffff:",
            "protocol",
            "all",
            "u32",
            "match",
            "u32",
            "0",
            "0",
            "police",
            "rate",
            "1kbps",
            "burst",
            "1kb",
            "drop",
            "flowid",
            ":1",
        ]);
    // A start the host cannot shape fails with tc's words and leaves
    // nothing behind.
    let refused = |name: &str, xml: &Path, words: &str| {
        let err = virsh_err(&uri, &["net-create", xml.to_str().unwrap()]);
        assert!(err.contains(words), "{err}");
        assert!(!ns.link_exists(&format!("{name}0")));
        assert!(ns.dnsmasqs().is_empty());
        assert!(!ns.nft_rules().contains(&format!("{name}0")));
        let list = virsh_ok(&uri, &["net-list", "--all", "--name"]);
        assert_eq!(list.trim(), "");
    };

    // What guests send (the bridge's ingress): policed.
    let out = net("lvrsbwo", "<outbound average='500' burst='64'/>");
    if police {
        virsh_ok(&uri, &["net-create", out.to_str().unwrap()]);
        let qdisc = ns.run("tc", &["qdisc", "show", "dev", "lvrsbwo0"]);
        assert!(qdisc.contains("qdisc ingress ffff:"), "{qdisc}");
        let filter = ns.run("tc", &["filter", "show", "dev", "lvrsbwo0", "ingress"]);
        assert!(filter.contains("police"), "{filter}");
        virsh_ok(&uri, &["net-destroy", "lvrsbwo"]);
    } else {
        refused("lvrsbwo", &out, "drop flowid :1) unexpected exit status 2");
    }

    // What guests receive: an HTB hierarchy with SFQ leaves, which needs
    // the kernel's sfq scheduler.
    let inb = net(
        "lvrsbwi",
        "<inbound average='1000' peak='2000' burst='512'/>",
    );
    if sfq {
        virsh_ok(&uri, &["net-create", inb.to_str().unwrap()]);
        let qdisc = ns.run("tc", &["qdisc", "show", "dev", "lvrsbwi0"]);
        assert!(qdisc.contains("qdisc htb 1: root"), "{qdisc}");
        assert!(qdisc.contains("qdisc sfq 2: parent 1:2"), "{qdisc}");
        let class = ns.run("tc", &["class", "show", "dev", "lvrsbwi0"]);
        assert!(class.contains("class htb 1:1 root"), "{class}");
        assert!(class.contains("class htb 1:2 parent 1:1"), "{class}");
        virsh_ok(&uri, &["net-destroy", "lvrsbwi"]);
    } else {
        refused("lvrsbwi", &inb, "sfq perturb 10) unexpected exit status 2");
    }
}

#[test]
fn libvirtd_autostarts_networks_before_the_containers_on_them() {
    skip_if!(container_skip_reason());
    let t = TempDir::new("netauto");
    let ns = Netns::new("auto", t.path());
    let mut d = start_daemon(&t, &ns, "libvirtd", "libvirt-sock");
    let lxc = format!(
        "lxc+unix:///system?socket={}",
        t.join("run/libvirt-sock").display()
    );
    let xml = t.join("nat.xml");
    std::fs::write(&xml, NAT_XML).unwrap();
    virsh_ok(&lxc, &["net-define", xml.to_str().unwrap()]);
    virsh_ok(&lxc, &["net-autostart", "e2enat"]);
    let ct = container_xml(&t, "autoct", "e2enat");
    virsh_ok(&lxc, &["define", ct.to_str().unwrap()]);
    virsh_ok(&lxc, &["autostart", "autoct"]);
    d.kill9();
    drop(d);

    // Nothing runs; the daemon's start-up brings up the network first,
    // then the container plugged into it.
    let _d2 = start_daemon(&t, &ns, "libvirtd", "libvirt-sock");
    let guest = Guest {
        uri: &lxc,
        name: "autoct",
    };
    let running = virsh_ok(&lxc, &["list", "--name"]);
    assert_eq!(running.trim(), "autoct");
    let ports = virsh_ok(&lxc, &["net-port-list", "e2enat", "--uuid"]);
    assert_eq!(ports.trim().len(), 36, "one port: {ports}");
    virsh_ok(&lxc, &["destroy", "autoct"]);
    drop(guest);
    virsh_ok(&lxc, &["net-destroy", "e2enat"]);
}

// SPDX-License-Identifier: LGPL-2.1-or-later
//! Host interfaces end to end: virtinterfaced runs in a network namespace
//! the test creates (with a sysfs of that namespace), where the test makes
//! veth pairs, a bridge and, where the kernel has them, VLAN and bond
//! devices, never touching the host's own network; the real virsh and
//! libvirt-python read them back, compared with what the test reads from
//! the namespace's sysfs itself. libvirtd's interface:///system and the
//! interface calls of its other connections are checked on the host.

use std::collections::BTreeSet;
use std::process::Command;

use test_support::*;

fn skip_reason() -> Option<String> {
    if !is_root() {
        return Some("network namespaces need root".into());
    }
    for tool in ["virsh", "unshare", "nsenter", "ip"] {
        if !tool_exists(tool) {
            return Some(format!("needs {tool}"));
        }
    }
    None
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

/// virtinterfaced in a network and mount namespace of its own.
struct NsDaemon {
    _d: Daemon,
    pid: u32,
    uri: String,
}

impl NsDaemon {
    fn start(t: &TempDir) -> NsDaemon {
        let conf = t.config("auth_unix_rw = \"none\"\nauth_unix_ro = \"none\"");
        let mut cmd = Command::new("unshare");
        cmd.args(["--net", "--mount", "--propagation", "private", "sh", "-c"])
            .arg("mount -t sysfs sysfs /sys && ip link set lo up && exec \"$0\" \"$@\"")
            .arg(bin("virtinterfaced"))
            .arg("-f")
            .arg(&conf)
            .arg("-p")
            .arg(t.join("daemon.pid"))
            .env("LIBVIRT_RS_ROOT_PREFIX", t.join("root"));
        let d = Daemon::start_cmd(cmd, t, &t.join("run/virtinterfaced-sock"));
        let pid = std::fs::read_to_string(t.join("daemon.pid"))
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .expect("pid");
        NsDaemon {
            _d: d,
            pid,
            uri: format!(
                "interface+unix:///system?socket={}",
                t.join("run/virtinterfaced-sock").display()
            ),
        }
    }

    /// A command in the daemon's namespaces; its output, or None when it
    /// failed.
    fn try_run(&self, argv: &[&str]) -> Option<String> {
        let o = Command::new("nsenter")
            .arg(format!("--net=/proc/{}/ns/net", self.pid))
            .arg(format!("--mount=/proc/{}/ns/mnt", self.pid))
            .args(argv)
            .output()
            .ok()?;
        o.status.success().then(|| text(&o.stdout))
    }

    fn run(&self, argv: &[&str]) -> String {
        self.try_run(argv)
            .unwrap_or_else(|| panic!("{argv:?} failed in the namespace"))
    }

    /// A sysfs file of the namespace, trimmed.
    fn sys(&self, path: &str) -> String {
        self.run(&["cat", &format!("/sys/class/net/{path}")])
            .trim()
            .to_string()
    }

    fn exists(&self, path: &str) -> bool {
        self.try_run(&["test", "-e", &format!("/sys/class/net/{path}")])
            .is_some()
    }

    /// The `<link>` line libvirt writes for an interface.
    fn link(&self, name: &str, indent: &str) -> String {
        let state = self.sys(&format!("{name}/operstate"));
        if state == "up" {
            let speed = self.sys(&format!("{name}/speed"));
            let speed: i64 = speed.parse().unwrap_or(0);
            let speed = if speed < 0 { speed + (1 << 32) } else { speed };
            format!("{indent}<link speed='{speed}' state='up'/>\n")
        } else {
            format!("{indent}<link state='{state}'/>\n")
        }
    }

    /// The names libvirt lists: the net class without bridge ports.
    fn listed(&self) -> BTreeSet<String> {
        self.run(&["ls", "/sys/class/net"])
            .split_whitespace()
            .filter(|n| !self.exists(&format!("{n}/brport")))
            .map(str::to_string)
            .collect()
    }
}

fn names(out: &str) -> BTreeSet<String> {
    out.lines()
        .skip(2)
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

#[test]
fn bridges_and_ethernet_links_in_a_namespace_are_described_from_sysfs() {
    skip_if!(skip_reason());
    let t = TempDir::new("iface-ns");
    let ns = NsDaemon::start(&t);
    let u = ns.uri.clone();
    ns.run(&[
        "ip",
        "link",
        "add",
        "lvi0",
        "address",
        "52:54:00:1f:00:01",
        "type",
        "veth",
        "peer",
        "name",
        "lvi1",
        "address",
        "52:54:00:1f:00:02",
    ]);
    ns.run(&["ip", "link", "set", "lvi0", "mtu", "1400"]);
    ns.run(&[
        "ip",
        "link",
        "add",
        "lvbr0",
        "type",
        "bridge",
        "forward_delay",
        "700",
    ]);
    ns.run(&["ip", "link", "set", "lvi1", "master", "lvbr0"]);
    for dev in ["lvi0", "lvi1", "lvbr0"] {
        ns.run(&["ip", "link", "set", dev, "up"]);
    }

    // Listing: every interface but bridge ports; active = operstate up.
    let all = names(&virsh_ok(&u, &["iface-list", "--all"]));
    assert_eq!(all, ns.listed());
    assert!(all.contains("lvbr0") && all.contains("lvi0") && !all.contains("lvi1"));
    let active: BTreeSet<String> = all
        .iter()
        .filter(|n| ns.sys(&format!("{n}/operstate")) == "up")
        .cloned()
        .collect();
    assert_eq!(names(&virsh_ok(&u, &["iface-list"])), active);

    // An ethernet interface: MTU, link and MAC from sysfs.
    let xml = virsh_ok(&u, &["iface-dumpxml", "lvi0"]);
    let expected = format!(
        "<interface type='ethernet' name='lvi0'>\n  <mtu size='{}'/>\n{}  <mac address='{}'/>\n</interface>\n\n",
        ns.sys("lvi0/mtu"),
        ns.link("lvi0", "  "),
        ns.sys("lvi0/address"),
    );
    assert_eq!(xml, expected);

    // The bridge with its STP state, forward delay and its port.
    let stp = if ns.sys("lvbr0/bridge/stp_state") == "1" {
        "on"
    } else {
        "off"
    };
    let xml = virsh_ok(&u, &["iface-dumpxml", "lvbr0"]);
    let expected = format!(
        "<interface type='bridge' name='lvbr0'>\n  <mtu size='{}'/>\n  <bridge stp='{stp}' delay='{}'>\n    \
         <interface type='ethernet' name='lvi1'>\n{}      <mac address='{}'/>\n    </interface>\n  \
         </bridge>\n</interface>\n\n",
        ns.sys("lvbr0/mtu"),
        ns.sys("lvbr0/bridge/forward_delay"),
        ns.link("lvi1", "      "),
        ns.sys("lvi1/address"),
    );
    assert_eq!(xml, expected);

    // MAC and name lookups, both ways.
    assert_eq!(
        virsh_ok(&u, &["iface-mac", "lvi0"]).trim(),
        ns.sys("lvi0/address")
    );
    assert_eq!(
        virsh_ok(&u, &["iface-name", "52:54:00:1f:00:01"]).trim(),
        "lvi0"
    );
    let e = virsh_err(&u, &["iface-dumpxml", "nosuch"]);
    assert!(
        e.contains("Interface not found: couldn't find interface named 'nosuch'"),
        "{e}"
    );

    // Like libvirt's udev backend, nothing is changed through it.
    let def = t.join("if.xml");
    std::fs::write(&def, "<interface type='ethernet' name='x'/>").unwrap_or_default();
    for (args, api) in [
        (
            vec!["iface-define", def.to_str().unwrap_or("")],
            "virInterfaceDefineXML",
        ),
        (vec!["iface-start", "lvi0"], "virInterfaceCreate"),
        (vec!["iface-destroy", "lvi0"], "virInterfaceDestroy"),
        (vec!["iface-undefine", "lvi0"], "virInterfaceUndefine"),
        (vec!["iface-begin"], "virInterfaceChangeBegin"),
        (vec!["iface-commit"], "virInterfaceChangeCommit"),
        (vec!["iface-rollback"], "virInterfaceChangeRollback"),
    ] {
        let e = virsh_err(&u, &args);
        assert!(
            e.contains(&format!(
                "this function is not supported by the connection driver: {api}"
            )),
            "{args:?}: {e}"
        );
    }

    // libvirt-python: the legacy lists (up / down only) and the filters.
    if python_available() {
        let out = python(
            "import libvirt, sys\n\
             c = libvirt.open(sys.argv[1])\n\
             print(sorted(c.listInterfaces()), sorted(c.listDefinedInterfaces()))\n\
             print(sorted(i.name() for i in c.listAllInterfaces(libvirt.VIR_CONNECT_LIST_INTERFACES_INACTIVE)))\n\
             print(c.interfaceLookupByName('lvbr0').isActive())\n",
            &[&u],
        )
        .success();
        let by_state = |s: &str| -> Vec<String> {
            all.iter()
                .filter(|n| ns.sys(&format!("{n}/operstate")) == s)
                .cloned()
                .collect()
        };
        let inactive: Vec<String> = all
            .iter()
            .filter(|n| ns.sys(&format!("{n}/operstate")) != "up")
            .cloned()
            .collect();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines[0],
            format!("{:?} {:?}", by_state("up"), by_state("down")).replace('"', "'")
        );
        assert_eq!(lines[1], format!("{inactive:?}").replace('"', "'"));
        let up = i32::from(ns.sys("lvbr0/operstate") == "up");
        assert_eq!(lines[2], up.to_string());
    } else {
        skip("libvirt-python is not installed");
    }
}

#[test]
fn vlans_and_bonds_in_a_namespace_are_described_where_the_kernel_has_them() {
    skip_if!(skip_reason());
    let t = TempDir::new("iface-vlan");
    let ns = NsDaemon::start(&t);
    let u = ns.uri.clone();
    ns.run(&[
        "ip", "link", "add", "lvj0", "type", "veth", "peer", "name", "lvj1",
    ]);
    if ns
        .try_run(&[
            "ip", "link", "add", "link", "lvj0", "name", "lvj0.7", "type", "vlan", "id", "7",
        ])
        .is_some()
    {
        let xml = virsh_ok(&u, &["iface-dumpxml", "lvj0.7"]);
        let expected = format!(
            "<interface type='vlan' name='lvj0.7'>\n  <mtu size='{}'/>\n{}  <vlan tag='7'>\n    \
             <interface name='lvj0'/>\n  </vlan>\n</interface>\n\n",
            ns.sys("lvj0.7/mtu"),
            ns.link("lvj0.7", "  "),
        );
        assert_eq!(xml, expected);
    } else {
        skip("this kernel has no 802.1q VLAN devices (8021q)");
    }
    if ns
        .try_run(&[
            "ip",
            "link",
            "add",
            "lvbond0",
            "type",
            "bond",
            "mode",
            "active-backup",
            "miimon",
            "100",
        ])
        .is_some()
    {
        ns.run(&["ip", "link", "set", "lvj1", "master", "lvbond0"]);
        let xml = virsh_ok(&u, &["iface-dumpxml", "lvbond0"]);
        assert!(
            xml.starts_with("<interface type='bond' name='lvbond0'>\n"),
            "{xml}"
        );
        assert!(xml.contains("<bond mode='active-backup'>\n"), "{xml}");
        assert!(xml.contains("<miimon freq='100'"), "{xml}");
        assert!(
            xml.contains(&format!(
                "<interface type='ethernet' name='lvj1'>\n{}      <mac address='{}'/>",
                ns.link("lvj1", "      "),
                ns.sys("lvj1/address")
            )),
            "{xml}"
        );
    } else {
        skip("this kernel has no bonding driver");
    }
}

#[test]
fn libvirtd_answers_the_interface_calls_of_its_connections() {
    skip_if!(skip_reason());
    let t = TempDir::new("iface-libvirtd");
    let _d = Spec::new(
        "libvirtd",
        &t,
        "auth_unix_rw = \"none\"\nauth_unix_ro = \"none\"",
    )
    .start();
    let sock = t.join("run/libvirt-sock");
    let iface = names(&virsh_ok(
        &format!("interface+unix:///system?socket={}", sock.display()),
        &["iface-list", "--all"],
    ));
    let host: BTreeSet<String> = std::fs::read_dir("/sys/class/net")
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| !e.path().join("brport").exists() && !e.path().join("tun_flags").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(iface, host);
    let lxc = virsh(
        &format!("lxc+unix:///system?socket={}", sock.display()),
        false,
        &["iface-list", "--all"],
    );
    if lxc.status.success() {
        assert_eq!(names(&text(&lxc.stdout)), host);
    } else {
        skip(format!(
            "lxc:///system does not open here: {}",
            text(&lxc.stderr)
        ));
    }
    // The test driver keeps its own interfaces.
    let test = names(&virsh_ok(
        &format!("test+unix:///default?socket={}", sock.display()),
        &["iface-list", "--all"],
    ));
    assert!(test.contains("eth1"), "{test:?}");
}

/// Debian's C libvirtd with only its interface driver (udev backend), in
/// a mount namespace of its own (private /run/libvirt), on sockets under
/// `dir`.
fn start_c_interface(dir: &TempDir) -> Option<(Daemon, std::path::PathBuf)> {
    const C_LIBVIRTD: &str = "/usr/sbin/libvirtd";
    const MODULE: &str =
        "/usr/lib/x86_64-linux-gnu/libvirt/connection-driver/libvirt_driver_interface.so";
    if !std::path::Path::new(C_LIBVIRTD).exists() || !std::path::Path::new(MODULE).exists() {
        skip(format!(
            "needs {C_LIBVIRTD} and {MODULE} (Debian package libvirt-daemon)"
        ));
        return None;
    }
    let run = dir.join("c-run");
    let drivers = dir.join("c-drivers");
    std::fs::create_dir_all(&run).ok()?;
    std::fs::create_dir_all(&drivers).ok()?;
    std::os::unix::fs::symlink(MODULE, drivers.join("libvirt_driver_interface.so")).ok()?;
    let conf = dir.join("c.conf");
    std::fs::write(
        &conf,
        format!(
            "unix_sock_dir = \"{}\"\nauth_unix_rw = \"none\"\nauth_unix_ro = \"none\"\n\
             log_outputs = \"3:file:{}\"\n",
            run.display(),
            dir.join("c.log").display()
        ),
    )
    .ok()?;
    let mut cmd = Command::new("unshare");
    cmd.args(["-m", "--propagation", "private", "sh", "-c"])
        .arg("mount -t tmpfs tmpfs /run/libvirt && exec \"$0\" \"$@\"")
        .arg(C_LIBVIRTD)
        .arg("-f")
        .arg(&conf)
        .arg("-p")
        .arg(dir.join("c.pid"))
        .env("LIBVIRT_DRIVER_DIR", &drivers);
    let sock = run.join("libvirt-sock");
    Some((Daemon::start_cmd(cmd, dir, &sock), sock))
}

#[test]
fn the_hosts_interfaces_match_cs_udev_backend_byte_for_byte() {
    skip_if!(skip_reason());
    let t = TempDir::new("iface-diff");
    let Some((_c, csock)) = start_c_interface(&t) else {
        return;
    };
    let _d = Spec::new(
        "virtinterfaced",
        &t,
        "auth_unix_rw = \"none\"\nauth_unix_ro = \"none\"",
    )
    .start();
    let ours = format!(
        "interface+unix:///system?socket={}",
        t.join("run/virtinterfaced-sock").display()
    );
    let theirs = format!("interface+unix:///system?socket={}", csock.display());
    for args in [
        vec!["iface-list"],
        vec!["iface-list", "--all"],
        vec!["iface-list", "--inactive"],
    ] {
        assert_eq!(virsh_ok(&ours, &args), virsh_ok(&theirs, &args), "{args:?}");
    }
    for name in names(&virsh_ok(&theirs, &["iface-list", "--all"])) {
        for args in [
            vec!["iface-dumpxml", name.as_str()],
            vec!["iface-dumpxml", "--inactive", name.as_str()],
            vec!["iface-mac", name.as_str()],
        ] {
            assert_eq!(virsh_ok(&ours, &args), virsh_ok(&theirs, &args), "{args:?}");
        }
    }
}

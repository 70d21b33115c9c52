// SPDX-License-Identifier: LGPL-2.1-or-later
//! Node devices end to end: virtnodedevd and libvirtd on private sockets,
//! driven by the real virsh and libvirt-python, their answers checked
//! against what this test reads from sysfs itself (PCI devices, network
//! interfaces, disks), the events of veth links made in the daemon's own
//! network namespace, libvirt's errors for what this host cannot do, and
//! a differential against Debian's C node device driver where it is
//! installed.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use test_support::*;

fn skip_reason() -> Option<String> {
    if !is_root() {
        return Some("reading every PCI configuration space needs root".into());
    }
    if !tool_exists("virsh") {
        return Some("needs virsh (libvirt-clients)".into());
    }
    None
}

fn uri(t: &TempDir, sock: &str) -> String {
    format!(
        "nodedev+unix:///system?socket={}",
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

fn names(out: &str) -> BTreeSet<String> {
    out.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p)
        .map(|s| s.trim_end_matches('\n').to_string())
        .unwrap_or_default()
}

fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// PCI devices as sysfs lists them: (name, vendor, device, class, driver).
fn sysfs_pci() -> Vec<(String, String, String, String, Option<String>)> {
    let mut v = Vec::new();
    for e in std::fs::read_dir("/sys/bus/pci/devices")
        .into_iter()
        .flatten()
        .flatten()
    {
        let p = e.path();
        let addr = e.file_name().to_string_lossy().into_owned();
        let class = read(&p.join("class"));
        let driver = std::fs::read_link(p.join("driver"))
            .ok()
            .and_then(|l| l.file_name().map(|f| f.to_string_lossy().into_owned()));
        v.push((
            format!("pci_{}", sanitize(&addr)),
            read(&p.join("vendor")),
            read(&p.join("device")),
            class,
            driver,
        ));
    }
    v
}

/// Plain network interfaces (no DEVTYPE: bridges, VLANs and bonds are
/// not node devices): (name, ifname, mac, operstate).
fn sysfs_net(sys: &Path) -> Vec<(String, String, String, String)> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(sys.join("class/net"))
        .into_iter()
        .flatten()
        .flatten()
    {
        let p = e.path();
        let ifname = e.file_name().to_string_lossy().into_owned();
        if read(&p.join("uevent")).contains("DEVTYPE=") {
            continue;
        }
        let mac = read(&p.join("address"));
        v.push((
            format!("net_{}_{}", sanitize(&ifname), sanitize(&mac)),
            ifname,
            mac,
            read(&p.join("operstate")),
        ));
    }
    v
}

fn start(t: &TempDir, name: &str) -> Daemon {
    Spec::new(name, t, "auth_unix_rw = \"none\"\nauth_unix_ro = \"none\"").start()
}

#[test]
fn devices_listed_and_described_match_sysfs() {
    skip_if!(skip_reason());
    let t = TempDir::new("nodedev-sysfs");
    let _d = start(&t, "virtnodedevd");
    let u = uri(&t, "virtnodedevd-sock");

    let all = names(&virsh_ok(&u, &["nodedev-list"]));
    assert!(all.contains("computer"), "{all:?}");

    // Every PCI device, with the ids, class and driver sysfs gives.
    let pci = sysfs_pci();
    assert!(!pci.is_empty(), "this host has PCI devices");
    let listed = names(&virsh_ok(&u, &["nodedev-list", "--cap", "pci"]));
    let expected: BTreeSet<String> = pci.iter().map(|p| p.0.clone()).collect();
    assert_eq!(listed, expected);
    for (name, vendor, device, class, driver) in &pci {
        let xml = virsh_ok(&u, &["nodedev-dumpxml", name]);
        assert!(xml.contains(&format!("<vendor id='{vendor}'")), "{xml}");
        assert!(xml.contains(&format!("<product id='{device}'")), "{xml}");
        // sysfs writes the class as 0xCCSSPP.
        assert!(xml.contains(&format!("<class>{class}</class>")), "{xml}");
        match driver {
            Some(d) => assert!(
                xml.contains(&format!("<driver>\n    <name>{d}</name>")),
                "{xml}"
            ),
            None => assert!(!xml.contains("<driver>"), "{xml}"),
        }
    }

    // Plain network interfaces, with their MAC and state.
    let net = sysfs_net(Path::new("/sys"));
    let listed = names(&virsh_ok(&u, &["nodedev-list", "--cap", "net"]));
    let expected: BTreeSet<String> = net.iter().map(|n| n.0.clone()).collect();
    assert_eq!(listed, expected);
    for (name, ifname, mac, state) in &net {
        let xml = virsh_ok(&u, &["nodedev-dumpxml", name]);
        assert!(
            xml.contains(&format!("<interface>{ifname}</interface>")),
            "{xml}"
        );
        assert!(xml.contains(&format!("<address>{mac}</address>")), "{xml}");
        assert!(xml.contains(&format!("state='{state}'")), "{xml}");
    }

    // virtio disks: size = sectors x logical block size.
    for e in std::fs::read_dir("/sys/block")
        .into_iter()
        .flatten()
        .flatten()
    {
        let dev = e.file_name().to_string_lossy().into_owned();
        if !dev.starts_with("vd") {
            continue;
        }
        let p = e.path();
        let sectors: u64 = read(&p.join("size")).parse().unwrap_or(0);
        let lbs: u64 = read(&p.join("queue/logical_block_size"))
            .parse()
            .unwrap_or(0);
        let xml = virsh_ok(&u, &["nodedev-dumpxml", &format!("block_{dev}")]);
        assert!(xml.contains(&format!("<block>/dev/{dev}</block>")), "{xml}");
        assert!(
            xml.contains(&format!("<size>{}</size>", sectors * lbs)),
            "{xml}"
        );
        assert!(
            xml.contains(&format!("<num_blocks>{sectors}</num_blocks>")),
            "{xml}"
        );
    }

    // The tree has computer at its root and every device once.
    let tree = virsh_ok(&u, &["nodedev-list", "--tree"]);
    assert!(tree.starts_with("computer\n"), "{tree}");
    for n in &all {
        assert!(
            tree.contains(&format!("+- {n}\n")) || n == "computer",
            "{n}: {tree}"
        );
    }

    // libvirt-python sees the same with the capability filters.
    if python_available() {
        let out = python(
            "import libvirt, sys\n\
             c = libvirt.open(sys.argv[1])\n\
             print(c.numOfDevices(None), len(c.listAllDevices(0)))\n\
             print(' '.join(sorted(d.name() for d in c.listAllDevices(libvirt.VIR_CONNECT_LIST_NODE_DEVICES_CAP_PCI_DEV))))\n\
             print(sorted(c.listDevices('net')) == sorted(d.name() for d in c.listAllDevices(libvirt.VIR_CONNECT_LIST_NODE_DEVICES_CAP_NET)))\n\
             d = c.nodeDeviceLookupByName('computer')\n\
             print(d.listCaps(), d.isActive(), d.isPersistent())\n",
            &[&u],
        )
        .success();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], format!("{} {}", all.len(), all.len()));
        let pci_names: Vec<String> = expected_pci_names(&pci);
        assert_eq!(lines[1], pci_names.join(" "));
        assert_eq!(lines[2], "True");
        assert_eq!(lines[3], "['system'] 1 1");
    } else {
        skip("libvirt-python is not installed");
    }
}

fn expected_pci_names(pci: &[(String, String, String, String, Option<String>)]) -> Vec<String> {
    let mut v: Vec<String> = pci.iter().map(|p| p.0.clone()).collect();
    v.sort();
    v
}

#[test]
fn what_this_host_cannot_do_fails_with_libvirts_errors() {
    skip_if!(skip_reason());
    let t = TempDir::new("nodedev-errors");
    let _d = start(&t, "virtnodedevd");
    let u = uri(&t, "virtnodedevd-sock");
    let pci = sysfs_pci();
    let dev = &pci[0].0;

    // Detaching is the hypervisor driver's, as in libvirt.
    let e = virsh_err(&u, &["nodedev-detach", dev]);
    assert!(
        e.contains("this function is not supported by the connection driver: virNodeDeviceDettach"),
        "{e}"
    );
    let e = virsh_err(&u, &["nodedev-reattach", dev]);
    assert!(e.contains("virNodeDeviceReAttach"), "{e}");
    let e = virsh_err(&u, &["nodedev-reset", dev]);
    assert!(e.contains("virNodeDeviceReset"), "{e}");

    let e = virsh_err(&u, &["nodedev-dumpxml", "nosuch"]);
    assert!(
        e.contains("Node device not found: no node device with matching name 'nosuch'"),
        "{e}"
    );
    let e = virsh_err(&u, &["nodedev-destroy", dev]);
    assert!(
        e.contains("unsupported configuration: Unsupported device type"),
        "{e}"
    );
    let e = virsh_err(&u, &["nodedev-undefine", dev]);
    assert!(
        e.contains(&format!(
            "Requested operation is not valid: Node device '{dev}' is not defined"
        )),
        "{e}"
    );
    let e = virsh_err(&u, &["nodedev-start", dev]);
    assert!(
        e.contains("Requested operation is not valid: Device is already active"),
        "{e}"
    );
    let e = virsh_err(&u, &["nodedev-autostart", dev]);
    assert!(
        e.contains("Operation not supported: Unsupported device type"),
        "{e}"
    );

    // A vHBA needs an FC HBA that makes virtual ports; a mediated device
    // needs mdevctl (absent here) and an existing parent.
    let write = |name: &str, xml: &str| {
        let p = t.join(name);
        std::fs::write(&p, xml).unwrap_or_else(|e| panic!("{e}"));
        p.display().to_string()
    };
    let vhba = write(
        "vhba.xml",
        "<device><parent>scsi_host5</parent><capability type='scsi_host'>\
         <capability type='fc_host'><wwnn>2001001b32a9da4e</wwnn>\
         <wwpn>2101001b32a9da4e</wwpn></capability></capability></device>",
    );
    let e = virsh_err(&u, &["nodedev-create", &vhba]);
    assert!(
        e.contains("internal error: Could not find parent device for 'new device'"),
        "{e}"
    );
    let nowwn = write(
        "nowwn.xml",
        "<device><capability type='scsi_host'><capability type='fc_host'/></capability></device>",
    );
    let e = virsh_err(&u, &["nodedev-create", &nowwn]);
    assert!(
        e.contains("no WWNN supplied for 'new device', and auto-generation failed"),
        "{e}"
    );
    let orphan = write(
        "orphan.xml",
        "<device><parent>nosuch</parent><capability type='mdev'><type id='x'/></capability></device>",
    );
    let e = virsh_err(&u, &["nodedev-define", &orphan]);
    assert!(
        e.contains("unsupported configuration: invalid parent device 'nosuch'"),
        "{e}"
    );
    if !tool_exists("mdevctl") {
        let mdev = write(
            "mdev.xml",
            &format!(
                "<device><parent>{dev}</parent><capability type='mdev'><type id='x'/></capability></device>"
            ),
        );
        let e = virsh_err(&u, &["nodedev-create", &mdev]);
        assert!(
            e.contains("Cannot find 'mdevctl' in path: No such file or directory"),
            "{e}"
        );
    }
    let pcixml = write(
        "pci.xml",
        "<device><capability type='pci'><domain>0</domain><bus>0</bus><slot>1</slot>\
         <function>0</function><product id='0x1'/><vendor id='0x2'/></capability></device>",
    );
    let e = virsh_err(&u, &["nodedev-define", &pcixml]);
    assert!(
        e.contains("unsupported configuration: Unsupported device type"),
        "{e}"
    );
}

#[test]
fn libvirtd_answers_the_node_device_calls_of_its_connections() {
    skip_if!(skip_reason());
    let t = TempDir::new("nodedev-libvirtd");
    let _d = start(&t, "libvirtd");
    let sock = t.join("run/libvirt-sock");
    let node = names(&virsh_ok(
        &format!("nodedev+unix:///system?socket={}", sock.display()),
        &["nodedev-list"],
    ));
    // lxc:///system's node device calls go to the same driver.
    let lxc = virsh(
        &format!("lxc+unix:///system?socket={}", sock.display()),
        false,
        &["nodedev-list"],
    );
    if lxc.status.success() {
        assert_eq!(names(&text(&lxc.stdout)), node);
    } else {
        skip(format!(
            "lxc:///system does not open here: {}",
            text(&lxc.stderr)
        ));
    }
    // The test driver keeps its own devices.
    let test = names(&virsh_ok(
        &format!("test+unix:///default?socket={}", sock.display()),
        &["nodedev-list"],
    ));
    assert!(
        test.contains("computer") && test.len() < node.len() + 10,
        "{test:?}"
    );
    assert_ne!(test, node);
}

/// Runs `argv` in the network and mount namespaces of process `pid`.
fn in_netns(pid: u32, argv: &[&str]) {
    let st = Command::new("nsenter")
        .arg(format!("--net=/proc/{pid}/ns/net"))
        .arg(format!("--mount=/proc/{pid}/ns/mnt"))
        .args(argv)
        .status()
        .expect("nsenter");
    assert!(st.success(), "{argv:?}");
}

#[test]
fn veth_links_made_in_the_daemons_namespace_come_and_go_with_events() {
    skip_if!(skip_reason());
    for tool in ["unshare", "nsenter", "ip"] {
        skip_if!((!tool_exists(tool)).then(|| format!("needs {tool}")));
    }
    skip_if!((!python_available()).then_some("needs libvirt-python"));
    let t = TempDir::new("nodedev-events");
    // The daemon in a network namespace of its own, with a sysfs mounted
    // there so that /sys/class/net is that namespace's.
    let conf = t.config("auth_unix_rw = \"none\"\nauth_unix_ro = \"none\"");
    let mut cmd = Command::new("unshare");
    cmd.args(["--net", "--mount", "--propagation", "private", "sh", "-c"])
        .arg("mount -t sysfs sysfs /sys && exec \"$0\" \"$@\"")
        .arg(bin("virtnodedevd"))
        .arg("-f")
        .arg(&conf)
        .arg("-p")
        .arg(t.join("daemon.pid"))
        .env("LIBVIRT_RS_ROOT_PREFIX", t.join("root"));
    let d = Daemon::start_cmd(cmd, &t, &t.join("run/virtnodedevd-sock"));
    let pid: u32 = read(&t.join("daemon.pid")).trim().parse().expect("pid");
    let u = uri(&t, "virtnodedevd-sock");
    assert_eq!(
        names(&virsh_ok(&u, &["nodedev-list", "--cap", "net"])),
        ["net_lo_00_00_00_00_00_00".to_string()]
            .into_iter()
            .collect()
    );

    // A client listens for lifecycle and update events while the test's
    // commands make, change and remove a veth pair.
    let script = "import libvirt, subprocess, sys, threading, time\n\
        libvirt.virEventRegisterDefaultImpl()\n\
        libvirt.virEventAddTimeout(100, lambda t, o: None, None)\n\
        c = libvirt.open(sys.argv[1])\n\
        got = []\n\
        def life(conn, dev, ev, detail, opaque): got.append('%s %d' % (dev.name(), ev))\n\
        def upd(conn, dev, opaque): got.append('%s update' % dev.name())\n\
        c.nodeDeviceEventRegisterAny(None, libvirt.VIR_NODE_DEVICE_EVENT_ID_LIFECYCLE, life, None)\n\
        c.nodeDeviceEventRegisterAny(None, libvirt.VIR_NODE_DEVICE_EVENT_ID_UPDATE, upd, None)\n\
        ns = ['nsenter', '--net=/proc/%s/ns/net' % sys.argv[2], '--mount=/proc/%s/ns/mnt' % sys.argv[2]]\n\
        def wait(n):\n\
        \x20   end = time.time() + 30\n\
        \x20   while len(got) < n and time.time() < end: libvirt.virEventRunDefaultImpl()\n\
        subprocess.check_call(ns + ['ip', 'link', 'add', 'lvt0', 'address', '52:54:00:0e:0e:01', 'type', 'veth', 'peer', 'name', 'lvt1', 'address', '52:54:00:0e:0e:02'])\n\
        wait(2)\n\
        print(' '.join(sorted(d.name() for d in c.listAllDevices(libvirt.VIR_CONNECT_LIST_NODE_DEVICES_CAP_NET))))\n\
        subprocess.check_call(ns + ['sh', '-c', 'echo change > /sys/class/net/lvt0/uevent'])\n\
        wait(3)\n\
        subprocess.check_call(ns + ['ip', 'link', 'del', 'lvt0'])\n\
        wait(5)\n\
        for g in sorted(got): print(g)\n";
    let out = python(script, &[&u, &pid.to_string()]).success();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        [
            "net_lo_00_00_00_00_00_00 net_lvt0_52_54_00_0e_0e_01 net_lvt1_52_54_00_0e_0e_02",
            "net_lvt0_52_54_00_0e_0e_01 0",
            "net_lvt0_52_54_00_0e_0e_01 1",
            "net_lvt0_52_54_00_0e_0e_01 update",
            "net_lvt1_52_54_00_0e_0e_02 0",
            "net_lvt1_52_54_00_0e_0e_02 1",
        ],
        "{out}"
    );
    assert_eq!(
        names(&virsh_ok(&u, &["nodedev-list", "--cap", "net"])).len(),
        1,
        "only lo is left"
    );
    // The device's XML follows the link while it exists: checked with
    // virsh on a new pair, against the namespace's own sysfs view.
    in_netns(
        pid,
        &[
            "ip", "link", "add", "lvt2", "type", "veth", "peer", "name", "lvt3",
        ],
    );
    let ns_net = |name: &str| -> Option<String> {
        let o = Command::new("nsenter")
            .arg(format!("--net=/proc/{pid}/ns/net"))
            .arg(format!("--mount=/proc/{pid}/ns/mnt"))
            .args(["cat", &format!("/sys/class/net/{name}/address")])
            .output()
            .ok()?;
        Some(text(&o.stdout).trim().to_string())
    };
    let mac = ns_net("lvt2").unwrap_or_default();
    let name = format!("net_lvt2_{}", sanitize(&mac));
    assert!(
        eventually(|| names(&virsh_ok(&u, &["nodedev-list", "--cap", "net"])).contains(&name)),
        "{name} listed"
    );
    let xml = virsh_ok(&u, &["nodedev-dumpxml", &name]);
    assert!(xml.contains("<interface>lvt2</interface>"), "{xml}");
    assert!(xml.contains(&format!("<address>{mac}</address>")), "{xml}");
    assert!(xml.contains("<parent>computer</parent>"), "{xml}");
    drop(d);
}

/// Debian's C libvirtd with only its node device driver, in a mount
/// namespace of its own (private /run/libvirt), on sockets under `dir`.
fn start_c_nodedev(dir: &TempDir) -> Option<(Daemon, PathBuf)> {
    const C_LIBVIRTD: &str = "/usr/sbin/libvirtd";
    const MODULE: &str =
        "/usr/lib/x86_64-linux-gnu/libvirt/connection-driver/libvirt_driver_nodedev.so";
    if !Path::new(C_LIBVIRTD).exists() || !Path::new(MODULE).exists() {
        skip(format!(
            "needs {C_LIBVIRTD} and {MODULE} (Debian package libvirt-daemon)"
        ));
        return None;
    }
    let run = dir.join("c-run");
    let drivers = dir.join("c-drivers");
    std::fs::create_dir_all(&run).ok()?;
    std::fs::create_dir_all(&drivers).ok()?;
    std::os::unix::fs::symlink(MODULE, drivers.join("libvirt_driver_nodedev.so")).ok()?;
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
fn every_device_matches_cs_node_device_driver_byte_for_byte() {
    skip_if!(skip_reason());
    let t = TempDir::new("nodedev-diff");
    let Some((_c, csock)) = start_c_nodedev(&t) else {
        return;
    };
    let _d = start(&t, "virtnodedevd");
    let ours = uri(&t, "virtnodedevd-sock");
    let theirs = format!("nodedev+unix:///system?socket={}", csock.display());
    // Without udevd (as on this test machine) C's enumeration sees what
    // libudev reads from sysfs alone; so does ours.
    let c_list = virsh_ok(&theirs, &["nodedev-list", "--tree"]);
    assert_eq!(virsh_ok(&ours, &["nodedev-list", "--tree"]), c_list);
    for cap in [
        "system",
        "pci",
        "net",
        "storage",
        "scsi_host",
        "usb_device",
        "drm",
    ] {
        assert_eq!(
            virsh_ok(&ours, &["nodedev-list", "--cap", cap]),
            virsh_ok(&theirs, &["nodedev-list", "--cap", cap]),
            "--cap {cap}"
        );
    }
    for name in names(&virsh_ok(&theirs, &["nodedev-list"])) {
        assert_eq!(
            virsh_ok(&ours, &["nodedev-dumpxml", &name]),
            virsh_ok(&theirs, &["nodedev-dumpxml", &name]),
            "{name}"
        );
        assert_eq!(
            virsh_ok(&ours, &["nodedev-info", &name]),
            virsh_ok(&theirs, &["nodedev-info", &name]),
            "{name}"
        );
    }
}

#[test]
fn virtproxyd_forwards_node_device_and_interface_uris_to_their_daemons() {
    skip_if!(skip_reason());
    let t = TempDir::new("nodedev-proxy");
    let conf = t.config("auth_unix_rw = \"none\"\nauth_unix_ro = \"none\"");
    let start_one = |name: &str, sock: &str| {
        Daemon::start(
            name,
            &t,
            &[
                "-f",
                conf.to_str().unwrap_or(""),
                "-p",
                t.join(&format!("{name}.pid")).to_str().unwrap_or(""),
            ],
            &t.join(&format!("run/{sock}")),
        )
    };
    let _n = start_one("virtnodedevd", "virtnodedevd-sock");
    let _i = start_one("virtinterfaced", "virtinterfaced-sock");
    let _p = start_one("virtproxyd", "libvirt-sock");
    let proxy = t.join("run/libvirt-sock");
    let direct = names(&virsh_ok(&uri(&t, "virtnodedevd-sock"), &["nodedev-list"]));
    let via = names(&virsh_ok(
        &format!("nodedev+unix:///system?socket={}", proxy.display()),
        &["nodedev-list"],
    ));
    assert_eq!(via, direct);
    let iface = |sock: &Path| {
        virsh_ok(
            &format!("interface+unix:///system?socket={}", sock.display()),
            &["iface-list", "--all"],
        )
    };
    assert_eq!(iface(&proxy), iface(&t.join("run/virtinterfaced-sock")));
}

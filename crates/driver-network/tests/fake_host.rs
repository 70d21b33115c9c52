// SPDX-License-Identifier: LGPL-2.1-or-later
//! The driver's logic on a recording fake host (no root): what starting,
//! failing and destroying a network do to the host, the files it leaves,
//! and taking a running network back after a restart.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};

use driver::error::ErrorCode;
use driver::NetworkRef;
use driver_network::driver::NetworkDriver;
use driver_network::runtime::{HostResult, NetHost};
use driver_network::NetworkDriverConfig;

#[derive(Default)]
struct State {
    links: HashSet<String>,
    log: Vec<String>,
    routes: String,
    fail_dnsmasq: bool,
    /// pid -> conf file of the dnsmasqs running.
    dnsmasq: HashMap<u32, String>,
    next_pid: u32,
    next_handle: u64,
}

#[derive(Default)]
struct Fake(Mutex<State>);

impl Fake {
    fn st(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.lock().unwrap()
    }
    fn log(&self) -> Vec<String> {
        self.st().log.clone()
    }
}

impl NetHost for Fake {
    fn link_exists(&self, name: &str) -> bool {
        self.st().links.contains(name)
    }
    fn routes(&self) -> Option<String> {
        Some(self.st().routes.clone())
    }
    fn create_bridge(&self, spec: &host::net::BridgeSpec) -> HostResult<()> {
        let mut s = self.st();
        s.log
            .push(format!("bridge+ {} {:?}", spec.name, spec.addresses));
        s.links.insert(spec.name.clone());
        Ok(())
    }
    fn delete_bridge(&self, name: &str) -> HostResult<()> {
        let mut s = self.st();
        s.log.push(format!("bridge- {name}"));
        s.links.remove(name);
        Ok(())
    }
    fn run(&self, args: &[String]) -> HostResult<String> {
        let mut s = self.st();
        let line = args.join(" ");
        s.log.push(format!("run {line}"));
        if line.starts_with("nft list table") {
            return Err("no such table".into());
        }
        if line.starts_with("nft -ae insert") {
            // One echoed line with its handle per rule of the batch.
            let mut out = String::new();
            for r in line.split(" ; ") {
                s.next_handle += 1;
                out.push_str(&format!("{r} # handle {}\n", s.next_handle));
            }
            return Ok(out);
        }
        Ok(String::new())
    }
    fn has_program(&self, name: &str) -> bool {
        name == "nft"
    }
    fn set_ipv6_sysctl(&self, dev: &str, key: &str, value: &str) -> HostResult<bool> {
        self.st()
            .log
            .push(format!("sysctl ipv6 {dev} {key}={value}"));
        Ok(true)
    }
    fn enable_forwarding(&self, _v4: bool, _v6: bool) -> HostResult<()> {
        Ok(())
    }
    fn start_dnsmasq(&self, args: &[String], _env: &[(String, String)]) -> HostResult<()> {
        let mut s = self.st();
        if s.fail_dnsmasq {
            return Err("dnsmasq: failed to bind DHCP server socket".into());
        }
        let conf = args[0].strip_prefix("--conf-file=").unwrap().to_string();
        let text = std::fs::read_to_string(&conf).unwrap();
        let pidfile = text
            .lines()
            .find_map(|l| l.strip_prefix("pid-file="))
            .unwrap()
            .to_string();
        s.next_pid += 1;
        let pid = 40000 + s.next_pid;
        std::fs::write(pidfile, format!("{pid}\n")).unwrap();
        s.dnsmasq.insert(pid, conf);
        s.log.push(format!("dnsmasq+ {pid}"));
        Ok(())
    }
    fn is_dnsmasq(&self, pid: u32, conf_file: &str) -> bool {
        self.st().dnsmasq.get(&pid).map(String::as_str) == Some(conf_file)
    }
    fn dnsmasq_pids(&self, conf_file: &str) -> Vec<u32> {
        self.st()
            .dnsmasq
            .iter()
            .filter(|(_, c)| c.as_str() == conf_file)
            .map(|(p, _)| *p)
            .collect()
    }
    fn kill(&self, pid: u32, signal: i32) -> HostResult<()> {
        let mut s = self.st();
        s.log.push(format!("kill {pid} {signal}"));
        if signal == 15 {
            s.dnsmasq.remove(&pid);
        }
        Ok(())
    }
}

fn config(root: &Path) -> NetworkDriverConfig {
    NetworkDriverConfig::from_roots(
        true,
        root.join("etc/libvirt"),
        root.join("run/libvirt"),
        root.join("var/lib/libvirt"),
    )
}

const NAT: &str = "<network><name>n1</name><uuid>11111111-2222-3333-4444-555555555555</uuid>\
    <forward mode='nat'/><bridge name='vnet-t1'/>\
    <ip address='10.77.0.1' netmask='255.255.255.0'><dhcp>\
    <range start='10.77.0.10' end='10.77.0.20'/></dhcp></ip></network>";

fn setup() -> (tempdir::Dir, Arc<Fake>, Arc<NetworkDriver>) {
    let dir = tempdir::Dir::new();
    let fake = Arc::new(Fake::default());
    let drv = NetworkDriver::new(config(dir.path()), fake.clone());
    (dir, fake, drv)
}

mod tempdir {
    use std::path::{Path, PathBuf};

    pub struct Dir(PathBuf);

    impl Dir {
        pub fn new() -> Dir {
            let uniq = format!(
                "netdrv-{}-{}",
                std::process::id(),
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos()
            );
            let p = std::env::temp_dir().join(uniq);
            std::fs::create_dir_all(&p).unwrap();
            Dir(p)
        }
        pub fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

#[test]
fn define_start_destroy_builds_and_removes_bridge_rules_and_dnsmasq() {
    let (dir, fake, drv) = setup();
    let n = drv.define(NAT, 0).unwrap();
    let cfg = dir.path().join("etc/libvirt/qemu/networks/n1.xml");
    let saved = std::fs::read_to_string(&cfg).unwrap();
    assert!(saved.starts_with("<!--\nWARNING: THIS IS AN AUTO-GENERATED FILE."));
    assert!(saved.contains("virsh net-edit n1"));
    assert!(saved.contains("<mac address='52:54:00:"), "{saved}");
    assert!(fake.log().is_empty(), "define touches no host state");

    drv.start(&n).unwrap();
    let log = fake.log();
    assert!(
        log[0].starts_with("bridge+ vnet-t1 [(10.77.0.1, 24)]"),
        "{log:?}"
    );
    assert!(log.iter().any(|l| l.contains("masquerade")), "{log:?}");
    assert!(log.last().unwrap().starts_with("dnsmasq+"), "{log:?}");
    let status = dir.path().join("run/libvirt/network/n1.xml");
    let st = std::fs::read_to_string(&status).unwrap();
    assert!(
        st.starts_with("<networkstatus>\n  <class_id bitmap='0-2'/>"),
        "{st}"
    );
    assert!(st.contains("<firewall backend='nftables'>"), "{st}");
    let conf = dir.path().join("var/lib/libvirt/dnsmasq/n1.conf");
    let text = std::fs::read_to_string(conf).unwrap();
    assert!(text.contains("interface=vnet-t1\n"), "{text}");
    assert!(text.contains("dhcp-range=10.77.0.10,10.77.0.20,255.255.255.0\n"));
    assert!(drv.is_active(&n).unwrap());
    let e = drv.start(&n).unwrap_err();
    assert_eq!(e.code, ErrorCode::OperationInvalid);
    assert_eq!(
        e.to_string(),
        "Requested operation is not valid: network is already active"
    );

    let before = fake.log().len();
    drv.destroy(&n).unwrap();
    let log = fake.log()[before..].to_vec();
    assert!(log[0].starts_with("kill "), "{log:?}");
    let deletes = log
        .iter()
        .filter(|l| l.starts_with("run nft delete rule"))
        .map(|l| l.matches("delete rule").count())
        .sum::<usize>();
    let inserts = fake
        .log()
        .iter()
        .filter(|l| l.starts_with("run nft -ae insert"))
        .map(|l| l.matches("insert rule").count())
        .sum::<usize>();
    assert_eq!(deletes, inserts, "{log:?}");
    assert_eq!(log.last().unwrap(), "bridge- vnet-t1");
    assert!(!status.exists());
    assert!(fake.st().links.is_empty());
    let e = drv.destroy(&n).unwrap_err();
    assert_eq!(
        e.to_string(),
        "Requested operation is not valid: network 'n1' is not active"
    );
}

#[test]
fn failed_dnsmasq_leaves_no_bridge_and_no_rules() {
    let (_dir, fake, drv) = setup();
    fake.st().fail_dnsmasq = true;
    let e = drv.create_xml(NAT, 0).unwrap_err();
    assert_eq!(e.code, ErrorCode::InternalError);
    assert!(fake.st().links.is_empty());
    let log = fake.log();
    let inserts = log
        .iter()
        .filter(|l| l.starts_with("run nft -ae insert"))
        .map(|l| l.matches("insert rule").count())
        .sum::<usize>();
    let deletes = log
        .iter()
        .filter(|l| l.starts_with("run nft delete rule"))
        .map(|l| l.matches("delete rule").count())
        .sum::<usize>();
    assert!(inserts > 0);
    assert_eq!(inserts, deletes, "{log:?}");
    assert!(
        drv.lookup_by_name("n1").is_err(),
        "the transient network is gone"
    );
}

#[test]
fn bridge_in_use_and_overlapping_subnet_are_refused_before_anything_is_made() {
    let (_dir, fake, drv) = setup();
    drv.define(NAT, 0).unwrap();
    let other = NAT.replace("n1", "n2").replace("11111111", "21111111");
    let e = drv.define(&other, 0).unwrap_err();
    assert_eq!(e.code, ErrorCode::InternalError);
    assert_eq!(
        e.to_string(),
        "internal error: bridge name 'vnet-t1' already in use."
    );
    fake.st().routes =
        "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
        eth9\t00004D0A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
            .into();
    let n = drv.lookup_by_name("n1").unwrap();
    let e = drv.start(&n).unwrap_err();
    assert_eq!(
        e.to_string(),
        "internal error: Network is already in use by interface eth9"
    );
    assert!(fake.log().is_empty(), "{:?}", fake.log());
    let e = drv.define("<network><name>x</name><bogus", 0).unwrap_err();
    assert_eq!(e.code, ErrorCode::XmlDetail);
}

#[test]
fn bridge_names_are_generated_from_virbr() {
    let (_dir, fake, drv) = setup();
    fake.st().links.insert("virbr0".into());
    let n = drv.define("<network><name>g</name></network>", 0).unwrap();
    assert_eq!(drv.bridge_name(&n).unwrap(), "virbr1");
}

#[test]
fn restart_takes_the_running_network_back_with_its_dnsmasq() {
    let (dir, fake, drv) = setup();
    let n = drv.define(NAT, 0).unwrap();
    drv.set_autostart(&n, true).unwrap();
    assert!(dir
        .path()
        .join("etc/libvirt/qemu/networks/autostart/n1.xml")
        .exists());
    drv.start(&n).unwrap();
    let started = fake.st().dnsmasq.len();
    drop(drv);

    let drv2 = NetworkDriver::new(config(dir.path()), fake.clone());
    drv2.startup();
    let n2: NetworkRef = drv2.lookup_by_name("n1").unwrap();
    assert!(drv2.is_active(&n2).unwrap());
    assert!(drv2.is_persistent(&n2).unwrap());
    assert!(drv2.get_autostart(&n2).unwrap());
    assert_eq!(fake.st().dnsmasq.len(), started, "no second dnsmasq");
    // The firewall handles came back from the status file.
    drv2.destroy(&n2).unwrap();
    let log = fake.log();
    let inserts = log
        .iter()
        .filter(|l| l.starts_with("run nft -ae insert"))
        .map(|l| l.matches("insert rule").count())
        .sum::<usize>();
    let deletes = log
        .iter()
        .filter(|l| l.starts_with("run nft delete rule"))
        .map(|l| l.matches("delete rule").count())
        .sum::<usize>();
    assert_eq!(inserts, deletes, "{log:?}");
    drv2.shutdown();
}

#[test]
fn dead_dnsmasq_is_noticed_and_started_again() {
    let (_dir, fake, drv) = setup();
    let n = drv.create_xml(NAT, 0).unwrap();
    let pid = *fake.st().dnsmasq.keys().next().unwrap();
    fake.st().dnsmasq.clear();
    drv.check_dnsmasq();
    let st = fake.st();
    assert_eq!(st.dnsmasq.len(), 1);
    assert_ne!(*st.dnsmasq.keys().next().unwrap(), pid);
    drop(st);
    drv.destroy(&n).unwrap();
    assert!(drv.lookup_by_name("n1").is_err());
}

#[test]
fn live_dhcp_host_update_rewrites_the_hosts_file_and_signals_dnsmasq() {
    let (dir, fake, drv) = setup();
    let n = drv.create_xml(NAT, 0).unwrap();
    let pid = *fake.st().dnsmasq.keys().next().unwrap();
    drv.update(
        &n,
        3,
        4,
        -1,
        "<host mac='52:54:00:00:00:07' name='seven' ip='10.77.0.7'/>",
        1,
    )
    .unwrap();
    let hosts =
        std::fs::read_to_string(dir.path().join("var/lib/libvirt/dnsmasq/n1.hostsfile")).unwrap();
    assert_eq!(hosts, "52:54:00:00:00:07,10.77.0.7,seven\n");
    assert!(fake.log().contains(&format!("kill {pid} 1")));
    assert!(drv.xml_desc(&n, 0).unwrap().contains("name='seven'"));
    let e = drv.update(
        &n,
        3,
        4,
        -1,
        "<host mac='52:54:00:00:00:08' ip='10.77.0.8'/>",
        2,
    );
    assert_eq!(
        e.unwrap_err().to_string(),
        "Requested operation is not valid: cannot change persistent config of a transient network"
    );
}

#[test]
fn a_port_with_a_floor_gets_its_tc_class_and_gives_it_back() {
    let (dir, fake, drv) = setup();
    let xml = NAT.replace(
        "<bridge name='vnet-t1'/>",
        "<bridge name='vnet-t1'/><bandwidth><inbound average='1000' peak='5000'/></bandwidth>",
    );
    let n = drv.create_xml(&xml, 0).unwrap();
    let port = "<networkport><uuid>0d6b2f3a-1c4e-4f5a-9b8c-7d6e5f4a3b21</uuid>\
        <owner><name>g</name><uuid>c7a5fdbd-edaf-9455-926a-d65c16db1809</uuid></owner>\
        <mac address='52:54:00:aa:bb:cc'/>\
        <bandwidth><inbound average='100' floor='200'/></bandwidth></networkport>";
    let p = drv.port_create(&n, port, 0).unwrap();
    let log = fake.log();
    assert!(
        log.iter().any(|l| l
            == "run tc class add dev vnet-t1 parent 1:1 classid 1:3 htb rate 200kbps ceil 5000kbps quantum 8"),
        "{log:?}"
    );
    assert!(
        log.iter().any(|l| l.starts_with("run tc class change dev vnet-t1 classid 1:2 htb rate 4800kbps")),
        "{log:?}"
    );
    let st = std::fs::read_to_string(dir.path().join("run/libvirt/network/n1.xml")).unwrap();
    assert!(
        st.contains("<class_id bitmap='0-3'/>\n  <floor sum='200'/>"),
        "{st}"
    );
    drv.port_delete(&p, 0).unwrap();
    let log = fake.log();
    assert!(
        log.iter()
            .any(|l| l == "run tc class del dev vnet-t1 classid 1:3"),
        "{log:?}"
    );
    let st = std::fs::read_to_string(dir.path().join("run/libvirt/network/n1.xml")).unwrap();
    assert!(
        st.contains("<class_id bitmap='0-2'/>\n  <floor sum='0'/>"),
        "{st}"
    );
}

#[test]
fn ports_are_reclaimed_only_when_asked_and_only_with_a_plug() {
    let (_dir, _fake, drv) = setup();
    let n = drv.create_xml(NAT, 0).unwrap();
    let with_plug = "<networkport><uuid>0d6b2f3a-1c4e-4f5a-9b8c-7d6e5f4a3b21</uuid>\
        <owner><name>g</name><uuid>c7a5fdbd-edaf-9455-926a-d65c16db1809</uuid></owner>\
        <mac address='52:54:00:aa:bb:cc'/><plug type='network' bridge='vnet-t1'/></networkport>";
    let e = drv.port_create(&n, with_plug, 0).unwrap_err();
    assert_eq!(
        e.message(),
        "invalid argument: Port reclaim not requested but plug type is not none"
    );
    let without = with_plug.replace("<plug type='network' bridge='vnet-t1'/>", "");
    let e = drv.port_create(&n, &without, 1).unwrap_err();
    assert_eq!(
        e.message(),
        "invalid argument: Port reclaim requested but plug type is none"
    );
    let e = drv.port_create(&n, with_plug, 4).unwrap_err();
    assert_eq!(e.code, virterror::ErrorCode::InvalidArg);
    assert_eq!(e.domain, virterror::ErrorDomain::Network);
    let p = drv.port_create(&n, with_plug, 1).unwrap();
    let live = drv.xml_desc(&n, 0).unwrap();
    assert!(live.starts_with("<network connections='1'>"), "{live}");
    assert!(drv
        .port_xml(&p, 0)
        .unwrap()
        .contains("<plug type='network' bridge='vnet-t1'/>"));
    drv.port_delete(&p, 0).unwrap();
    let e = drv.port_lookup(&n, &p.uuid).unwrap_err();
    assert_eq!(
        e.message(),
        "network port not found: Network port with UUID 0d6b2f3a-1c4e-4f5a-9b8c-7d6e5f4a3b21 does not exist"
    );
}

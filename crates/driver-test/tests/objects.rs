// SPDX-License-Identifier: LGPL-2.1-or-later
//! Networks, storage, host interfaces and node devices of the test driver.

use std::sync::{Arc, Mutex, MutexGuard};

use driver::consts::{list_net, object_event as oe};
use driver::error::ErrorCode;
use driver::{Connection, Event, NetworkRef, PoolRef};
use driver_test::TestConnection;

static DEFAULT_LOCK: Mutex<()> = Mutex::new(());

/// A private copy of the default host is not available, so tests that
/// change test:///default put everything back or run alone.
fn default_conn() -> (MutexGuard<'static, ()>, TestConnection) {
    let g = DEFAULT_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    let c = driver_test::open_path("/default", "test:///default".into()).unwrap();
    (g, c)
}

fn node_conn() -> TestConnection {
    let p = format!(
        "{}/../../../shared/conformance/libvirt-9.6/examples-test/testnode.xml",
        env!("CARGO_MANIFEST_DIR")
    );
    driver_test::open_path(&p, format!("test://{p}")).unwrap()
}

fn record(c: &TestConnection) -> Arc<Mutex<Vec<Event>>> {
    let v = Arc::new(Mutex::new(Vec::new()));
    let v2 = v.clone();
    c.subscribe(Arc::new(move |e: &Event| {
        v2.lock().unwrap().push(e.clone())
    }))
    .unwrap();
    v
}

const NET_XML: &str = "<network>
  <name>net1</name>
  <uuid>aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee</uuid>
  <bridge name='br9'/>
</network>";

const POOL_XML: &str = "<pool type='dir'>
  <name>p1</name>
  <uuid>aaaaaaaa-bbbb-cccc-dddd-000000000001</uuid>
  <target><path>/p1</path></target>
</pool>";

fn net_events(v: &Arc<Mutex<Vec<Event>>>) -> Vec<(String, i32)> {
    v.lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            Event::NetworkLifecycle { net, event, .. } => Some((net.name.clone(), *event)),
            _ => None,
        })
        .collect()
}

fn pool_events(v: &Arc<Mutex<Vec<Event>>>) -> Vec<(String, i32)> {
    v.lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            Event::StoragePoolLifecycle { pool, event, .. } => Some((pool.name.clone(), *event)),
            Event::StoragePoolRefresh { pool } => Some((pool.name.clone(), -1)),
            _ => None,
        })
        .collect()
}

fn names_n(v: Vec<NetworkRef>) -> Vec<String> {
    v.into_iter().map(|n| n.name).collect()
}

fn names_p(v: Vec<PoolRef>) -> Vec<String> {
    v.into_iter().map(|n| n.name).collect()
}

#[test]
fn default_host_objects() {
    let (_g, c) = default_conn();
    assert_eq!(names_n(c.list_all_networks(0).unwrap()), vec!["default"]);
    let n = c.network_lookup_by_name("default").unwrap();
    assert!(c.network_is_active(&n).unwrap());
    assert!(c.network_is_persistent(&n).unwrap());
    assert_eq!(c.network_get_bridge_name(&n).unwrap(), "virbr0");
    let x = c.network_get_xml_desc(&n, 0).unwrap();
    assert!(
        x.contains("<uuid>dd8fe884-6c02-601e-7551-cca97df1c5df</uuid>"),
        "{x}"
    );

    let p = c.storage_pool_lookup_by_name("default-pool").unwrap();
    assert!(c.storage_pool_list_volumes(&p).unwrap().is_empty());
    let info = c.storage_pool_get_info(&p).unwrap();
    assert_eq!(
        (info.state, info.capacity, info.allocation),
        (2, 107374182400, 0)
    );

    let i = c.interface_lookup_by_name("eth1").unwrap();
    assert_eq!(i.mac, "aa:bb:cc:dd:ee:ff");
    assert!(c.interface_is_active(&i).unwrap());
    assert_eq!(
        c.interface_lookup_by_mac("AA:BB:CC:DD:EE:FF").unwrap().name,
        "eth1"
    );
    let x = c.interface_get_xml_desc(&i, 0).unwrap();
    assert!(
        x.starts_with("<interface type='ethernet' name='eth1'>\n"),
        "{x}"
    );

    let devs: Vec<String> = c
        .list_all_node_devices(0)
        .unwrap()
        .into_iter()
        .map(|d| d.name)
        .collect();
    assert_eq!(
        devs,
        vec!["computer", "scsi_host1", "scsi_host2", "scsi_host11"]
    );
    assert_eq!(
        c.node_list_devices(Some("fc_host"), 0).unwrap(),
        vec!["scsi_host1", "scsi_host2", "scsi_host11"]
    );
    assert_eq!(
        c.node_list_devices(Some("vports"), 0).unwrap(),
        vec!["scsi_host1", "scsi_host2"]
    );
    // VIR_CONNECT_LIST_NODE_DEVICES_CAP_SYSTEM
    let sys: Vec<String> = c
        .list_all_node_devices(1)
        .unwrap()
        .into_iter()
        .map(|d| d.name)
        .collect();
    assert_eq!(sys, vec!["computer"]);
    let d = c.node_device_lookup_by_name("scsi_host11").unwrap();
    assert_eq!(
        c.node_device_get_parent(&d).unwrap().as_deref(),
        Some("scsi_host1")
    );
    assert_eq!(c.node_device_list_caps(&d).unwrap(), vec!["scsi_host"]);
    let comp = c.node_device_lookup_by_name("computer").unwrap();
    let e = c.node_device_get_parent(&comp).unwrap_err();
    assert_eq!(e.message(), "internal error: no parent for this device");
    let e = c.node_device_lookup_by_name("nope").unwrap_err();
    assert_eq!(
        e.message(),
        "Node device not found: no node device with matching name 'nope'"
    );
}

#[test]
fn node_device_create_and_destroy_vhba() {
    let (_g, c) = default_conn();
    let ev = record(&c);
    let xml = "<device>
  <parent>scsi_host1</parent>
  <capability type='scsi_host'>
    <capability type='fc_host'>
      <wwnn>2000000012345678</wwnn>
      <wwpn>1000000012345678</wwpn>
    </capability>
  </capability>
</device>";
    let d = c.node_device_create_xml(xml, 0).unwrap();
    assert_eq!(d.name, "scsi_host12");
    let x = c.node_device_get_xml_desc(&d, 0).unwrap();
    assert!(x.contains("<wwnn>2000000012345678</wwnn>"), "{x}");
    c.node_device_destroy(&d).unwrap();
    assert!(c.node_device_lookup_by_name("scsi_host12").is_err());
    // libvirt's test driver reports a device without WWNs but returns
    // success: the client sees the call succeed and the device stay.
    let comp = c.node_device_lookup_by_name("computer").unwrap();
    c.node_device_destroy(&comp).unwrap();
    assert!(c.node_device_lookup_by_name("computer").is_ok());
    let kinds: Vec<i32> = ev
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            Event::NodeDeviceLifecycle { event, .. } => Some(*event),
            _ => None,
        })
        .collect();
    assert_eq!(kinds, vec![oe::NODEDEV_CREATED, oe::NODEDEV_DELETED]);
}

#[test]
fn network_lifecycle_and_errors() {
    let c = node_conn();
    let ev = record(&c);
    assert_eq!(
        names_n(c.list_all_networks(0).unwrap()),
        vec!["default", "private"]
    );
    let n = c.network_define_xml(NET_XML, 0).unwrap();
    assert!(!c.network_is_active(&n).unwrap());
    assert_eq!(
        names_n(c.list_all_networks(list_net::INACTIVE).unwrap()),
        vec!["net1"]
    );
    c.network_create(&n).unwrap();
    let e = c.network_create(&n).unwrap_err();
    assert_eq!(
        e.message(),
        "Requested operation is not valid: Network 'net1' is already running"
    );
    let e = c.network_undefine(&n).unwrap_err();
    assert_eq!(
        e.message(),
        "Requested operation is not valid: Network 'net1' is still running"
    );
    assert!(!c.network_get_autostart(&n).unwrap());
    c.network_set_autostart(&n, true).unwrap();
    assert_eq!(
        names_n(c.list_all_networks(list_net::AUTOSTART).unwrap()),
        vec!["net1"]
    );
    c.network_destroy(&n).unwrap();
    c.network_undefine(&n).unwrap();
    let e = c.network_lookup_by_name("net1").unwrap_err();
    assert_eq!(
        e.message(),
        "Network not found: no network with matching name 'net1'"
    );
    let e = c.network_lookup_by_uuid(&[1; 16]).unwrap_err();
    assert_eq!(e.code, ErrorCode::NoNetwork);

    // Transient: gone after destroy.
    let t = c.network_create_xml(NET_XML, 0).unwrap();
    assert!(!c.network_is_persistent(&t).unwrap());
    assert_eq!(
        names_n(c.list_all_networks(list_net::TRANSIENT).unwrap()),
        vec!["net1"]
    );
    c.network_destroy(&t).unwrap();
    assert!(c.network_lookup_by_name("net1").is_err());

    let e = c
        .network_define_xml(&NET_XML.replace("net1", "default"), 0)
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::OperationFailed);
    assert_eq!(
        net_events(&ev),
        vec![
            ("net1".into(), oe::DEFINED),
            ("net1".into(), oe::STARTED),
            ("net1".into(), oe::STOPPED),
            ("net1".into(), oe::UNDEFINED),
            ("net1".into(), oe::STARTED),
            ("net1".into(), oe::STOPPED),
        ]
    );
}

#[test]
fn network_without_bridge_name() {
    let c = node_conn();
    let n = c
        .network_define_xml(
            "<network><name>nb</name><uuid>aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeee1</uuid></network>",
            0,
        )
        .unwrap();
    let e = c.network_get_bridge_name(&n).unwrap_err();
    assert_eq!(
        e.message(),
        "internal error: network 'nb' does not have a bridge name."
    );
}

#[test]
fn pool_lifecycle_and_errors() {
    let c = node_conn();
    let ev = record(&c);
    let p = c.storage_pool_define_xml(POOL_XML, 0).unwrap();
    assert!(!c.storage_pool_is_active(&p).unwrap());
    assert!(c.storage_pool_is_persistent(&p).unwrap());
    assert_eq!(names_p(c.list_all_storage_pools(1).unwrap()), vec!["p1"]);
    // VIR_CONNECT_LIST_STORAGE_POOLS_DIR / _LOGICAL
    assert_eq!(c.list_all_storage_pools(1 << 6).unwrap().len(), 2);
    assert!(c.list_all_storage_pools(1 << 9).unwrap().is_empty());
    c.storage_pool_build(&p, 0).unwrap();
    let e = c.storage_pool_list_volumes(&p).unwrap_err();
    assert_eq!(
        e.message(),
        "Requested operation is not valid: storage pool is not active"
    );
    let e = c.storage_vol_lookup_by_name(&p, "x").unwrap_err();
    assert_eq!(
        e.message(),
        "Requested operation is not valid: storage pool 'p1' is not active"
    );
    c.storage_pool_create(&p, 0).unwrap();
    let e = c.storage_pool_create(&p, 0).unwrap_err();
    assert_eq!(
        e.message(),
        "Requested operation is not valid: storage pool 'p1' is active"
    );
    c.storage_pool_refresh(&p, 0).unwrap();
    c.storage_pool_set_autostart(&p, true).unwrap();
    assert!(c.storage_pool_get_autostart(&p).unwrap());
    let e = c.storage_pool_undefine(&p).unwrap_err();
    assert_eq!(e.code, ErrorCode::OperationInvalid);
    c.storage_pool_destroy(&p).unwrap();
    c.storage_pool_delete(&p, 0).unwrap();
    c.storage_pool_undefine(&p).unwrap();
    let e = c.storage_pool_lookup_by_name("p1").unwrap_err();
    assert_eq!(
        e.message(),
        "Storage pool not found: no storage pool with matching name 'p1'"
    );

    let t = c.storage_pool_create_xml(POOL_XML, 0).unwrap();
    assert!(!c.storage_pool_is_persistent(&t).unwrap());
    let e = c.storage_pool_set_autostart(&t, true).unwrap_err();
    assert_eq!(e.message(), "invalid argument: pool has no config file");
    c.storage_pool_destroy(&t).unwrap();
    assert!(c.storage_pool_lookup_by_name("p1").is_err());
    assert_eq!(
        pool_events(&ev),
        vec![
            ("p1".into(), oe::DEFINED),
            ("p1".into(), oe::POOL_CREATED),
            ("p1".into(), oe::STARTED),
            ("p1".into(), -1),
            ("p1".into(), oe::STOPPED),
            ("p1".into(), oe::POOL_DELETED),
            ("p1".into(), oe::UNDEFINED),
            ("p1".into(), oe::STARTED),
            ("p1".into(), oe::STOPPED),
        ]
    );
}

/// A node file with an inline pool holding one inline and one referenced
/// volume.
fn pool_node_conn() -> (std::path::PathBuf, TestConnection) {
    let dir = std::env::temp_dir().join(format!(
        "driver-test-pool-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("vol.xml"),
        "<volume><name>default-vol</name><capacity>1000000</capacity>\
         <allocation>50000</allocation><target/></volume>",
    )
    .unwrap();
    std::fs::write(
        dir.join("node.xml"),
        "<node><pool type='dir'><name>default-pool</name>\
         <uuid>35bb2ad9-388a-cdfe-461a-b8907f6e53fe</uuid>\
         <target><path>/default-pool</path></target>\
         <volume file='vol.xml'/></pool></node>",
    )
    .unwrap();
    let p = dir.join("node.xml");
    let c = driver_test::open_path(p.to_str().unwrap(), "x".into()).unwrap();
    (dir, c)
}

#[test]
fn volumes_inside_a_referenced_pool_file_are_dropped() {
    // testnode.xml lists a volume inside <pool file=...>; the referenced
    // document replaces the element, so the pool has no volumes.
    let c = node_conn();
    let p = c.storage_pool_lookup_by_name("default-pool").unwrap();
    assert!(c.storage_pool_list_volumes(&p).unwrap().is_empty());
}

#[test]
fn volumes_create_clone_lookup_delete() {
    let (dir, c) = pool_node_conn();
    let p = c.storage_pool_lookup_by_name("default-pool").unwrap();
    let vols = c.storage_pool_list_volumes(&p).unwrap();
    assert_eq!(vols.len(), 1);
    assert_eq!(vols[0].key, "/default-pool/default-vol");
    assert_eq!(c.storage_pool_get_info(&p).unwrap().allocation, 50000);

    let v = c
        .storage_vol_create_xml(
            &p,
            "<volume><name>v1</name><capacity>1000</capacity><allocation>100</allocation></volume>",
            0,
        )
        .unwrap();
    assert_eq!(v.key, "/default-pool/v1");
    assert_eq!(c.storage_vol_get_path(&v).unwrap(), "/default-pool/v1");
    let info = c.storage_vol_get_info(&v).unwrap();
    assert_eq!(
        (info.vol_type, info.capacity, info.allocation),
        (0, 1000, 100)
    );
    assert_eq!(c.storage_pool_get_info(&p).unwrap().allocation, 50100);
    let x = c.storage_vol_get_xml_desc(&v, 0).unwrap();
    assert!(x.contains("<path>/default-pool/v1</path>"), "{x}");
    let e = c
        .storage_vol_create_xml(
            &p,
            "<volume><name>v1</name><capacity>1</capacity></volume>",
            0,
        )
        .unwrap_err();
    assert_eq!(e.message(), "operation failed: storage vol already exists");
    let e = c
        .storage_vol_create_xml(
            &p,
            "<volume><name>big</name><capacity>1</capacity><allocation>200000000000</allocation></volume>",
            0,
        )
        .unwrap_err();
    assert_eq!(
        e.message(),
        "internal error: Not enough free space in pool for volume 'big'"
    );
    let v2 = c
        .storage_vol_create_xml_from(
            &p,
            "<volume><name>v2</name><capacity>1000</capacity></volume>",
            &v,
            0,
        )
        .unwrap();
    assert_eq!(c.storage_vol_lookup_by_key("/default-pool/v2").unwrap(), v2);
    assert_eq!(c.storage_vol_lookup_by_path("/default-pool/v1").unwrap(), v);
    assert_eq!(c.storage_vol_lookup_by_name(&p, "v2").unwrap(), v2);
    assert_eq!(c.storage_pool_lookup_by_volume(&v2).unwrap(), p);
    let e = c.storage_vol_lookup_by_path("/nope").unwrap_err();
    assert_eq!(
        e.message(),
        "Storage volume not found: no storage vol with matching path '/nope'"
    );
    c.storage_vol_delete(&v, 0).unwrap();
    let e = c.storage_vol_get_info(&v).unwrap_err();
    assert_eq!(
        e.message(),
        "Storage volume not found: no storage vol with matching name 'v1'"
    );
    assert_eq!(c.storage_pool_get_info(&p).unwrap().allocation, 51000);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn interfaces_define_start_stop_undefine() {
    let c = node_conn();
    assert!(c.list_all_interfaces(0).unwrap().is_empty());
    let i = c
        .interface_define_xml(
            "<interface type='ethernet' name='eth9'><mac address='52:54:00:00:00:09'/></interface>",
            0,
        )
        .unwrap();
    assert!(!c.interface_is_active(&i).unwrap());
    // VIR_CONNECT_LIST_INTERFACES_INACTIVE
    assert_eq!(c.list_all_interfaces(1).unwrap().len(), 1);
    assert!(c.list_all_interfaces(2).unwrap().is_empty());
    let e = c.interface_destroy(&i, 0).unwrap_err();
    assert_eq!(e.code, ErrorCode::OperationInvalid);
    c.interface_create(&i, 0).unwrap();
    assert!(c.interface_create(&i, 0).is_err());
    assert!(c.interface_is_active(&i).unwrap());
    c.interface_destroy(&i, 0).unwrap();
    c.interface_undefine(&i).unwrap();
    let e = c.interface_lookup_by_name("eth9").unwrap_err();
    assert_eq!(
        e.message(),
        "Interface not found: no interface with matching name 'eth9'"
    );
    let e = c.interface_lookup_by_mac("52:54:00:00:00:09").unwrap_err();
    assert_eq!(e.code, ErrorCode::NoInterface);
}

#[test]
fn node_file_devices() {
    let c = node_conn();
    let d = c.node_device_lookup_by_name("File_test_device").unwrap();
    assert_eq!(c.node_device_list_caps(&d).unwrap(), vec!["system"]);
    assert_eq!(c.node_list_devices(Some("system"), 0).unwrap().len(), 1);
}

#[test]
fn network_update_dhcp_hosts() {
    let c = node_conn();
    let n = c.network_lookup_by_name("default").unwrap();
    let host = "<host mac='52:54:00:00:00:01' name='h1' ip='192.168.122.10'/>";
    // VIR_NETWORK_UPDATE_COMMAND_ADD_LAST, SECTION_IP_DHCP_HOST, LIVE|CONFIG
    c.network_update(&n, 3, 4, -1, host, 3).unwrap();
    let x = c.network_get_xml_desc(&n, 0).unwrap();
    assert!(x.contains(host), "{x}");
    let e = c.network_update(&n, 3, 4, -1, host, 0).unwrap_err();
    assert_eq!(e.code, ErrorCode::OperationInvalid);
    assert!(
        e.message().contains("there is an existing dhcp host entry"),
        "{}",
        e.message()
    );
    let modified = "<host mac='52:54:00:00:00:01' name='h1' ip='192.168.122.11'/>";
    c.network_update(&n, 1, 4, -1, modified, 0).unwrap();
    assert!(c.network_get_xml_desc(&n, 0).unwrap().contains(modified));
    c.network_update(&n, 2, 4, -1, "<host mac='52:54:00:00:00:01'/>", 0)
        .unwrap();
    assert!(!c.network_get_xml_desc(&n, 0).unwrap().contains("<host "));
    let e = c
        .network_update(&n, 2, 4, -1, "<host mac='52:54:00:00:00:01'/>", 0)
        .unwrap_err();
    assert_eq!(
        e.message(),
        "Requested operation is not valid: couldn't locate a matching dhcp host entry in network 'default'"
    );
    let e = c.network_update(&n, 3, 10, -1, "<host/>", 0).unwrap_err();
    assert_eq!(e.code, ErrorCode::OperationUnsupported);
}

#[test]
fn volume_formats_checked_against_the_pool_type() {
    let (dir, c) = pool_node_conn();
    let p = c.storage_pool_lookup_by_name("default-pool").unwrap();
    for bad in ["none", "linux", "bogus"] {
        let e = c
            .storage_vol_create_xml(
                &p,
                &format!(
                    "<volume><name>f</name><capacity>1</capacity>\
                     <target><format type='{bad}'/></target></volume>"
                ),
                0,
            )
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::ConfigUnsupported);
        assert_eq!(
            e.message(),
            format!("unsupported configuration: unknown volume format type {bad}")
        );
    }
    // A backing store's format is checked the same way.
    let e = c
        .storage_vol_create_xml(
            &p,
            "<volume><name>f</name><capacity>1</capacity>\
             <backingStore><path>/b</path><format type='none'/></backingStore></volume>",
            0,
        )
        .unwrap_err();
    assert_eq!(
        e.message(),
        "unsupported configuration: unknown volume format type none"
    );
    // An unsaid format is the pool type's default.
    let v = c
        .storage_vol_create_xml(
            &p,
            "<volume><name>f</name><capacity>1</capacity></volume>",
            0,
        )
        .unwrap();
    let x = c.storage_vol_get_xml_desc(&v, 0).unwrap();
    assert!(x.contains("<format type='raw'/>"), "{x}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn rbd_pool_namespace_is_dropped() {
    let c = node_conn();
    let xml = "<pool type='rbd' xmlns:rbd='http://libvirt.org/schemas/storagepool/rbd/1.0'>\
               <name>ceph</name><source><name>rbdpool</name>\
               <host name='mon1' port='6789'/></source>\
               <rbd:config_opts><rbd:option name='client_mount_timeout' value='45'/>\
               </rbd:config_opts></pool>";
    let p = c.storage_pool_define_xml(xml, 0).unwrap();
    let x = c.storage_pool_get_xml_desc(&p, 0).unwrap();
    assert!(!x.contains("rbd:"), "{x}");
    assert!(x.contains("<name>rbdpool</name>"), "{x}");
    c.storage_pool_undefine(&p).unwrap();
}

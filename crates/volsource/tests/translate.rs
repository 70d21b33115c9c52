// SPDX-License-Identifier: LGPL-2.1-or-later
//! `<disk type='volume'>` through the real storage driver (in process, as
//! in libvirtd) on a dir pool of the test's own: the disk reads as the
//! volume's file, and the libxl configuration built from it points at
//! that file; libvirt's errors for an inactive pool, a missing volume
//! and no storage driver.

use std::sync::Arc;

use driver::DriverFactory;
use test_support::TempDir;
use volsource::StorageAccess;

fn domain(pool: &str, vol: &str) -> conf::DomainDef {
    let xml = format!(
        "<domain type='xen'><name>g</name><uuid>11111111-2222-3333-4444-555555555555</uuid>\
         <memory>262144</memory><vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os>\
         <devices><disk type='volume' device='disk'><driver name='qemu' type='raw'/>\
         <source pool='{pool}' volume='{vol}'/><target dev='xvda' bus='xen'/></disk></devices></domain>"
    );
    xenconfig::parse_domain_xml(&xml).unwrap_or_else(|e| panic!("{e:?}"))
}

fn setup(t: &TempDir) -> (StorageAccess, Arc<dyn driver::Connection>) {
    let f: Arc<dyn DriverFactory> = Arc::new(driver_storage::StorageFactory::from_dirs(
        true,
        t.join("etc"),
        t.join("run"),
    ));
    let access = StorageAccess(driver::in_process_network(f.clone(), "storage:///system"));
    let conn = (access.0)().unwrap_or_else(|e| panic!("{e}"));
    (access, conn)
}

#[test]
fn volume_disk_reads_as_its_file_and_libxl_gets_the_path() {
    let t = TempDir::new("volsource");
    let (access, conn) = setup(&t);
    let target = t.join("pool");
    let pool = conn
        .storage_pool_create_xml(
            &format!(
                "<pool type='dir'><name>p</name><target><path>{}</path></target></pool>",
                target.display()
            ),
            1,
        )
        .unwrap_or_else(|e| panic!("{e}"));
    conn.storage_vol_create_xml(
        &pool,
        "<volume><name>d.raw</name><capacity>1048576</capacity></volume>",
        0,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let def = domain("p", "d.raw");
    let got = volsource::translate(&def, Some(&access)).unwrap_or_else(|e| panic!("{e}"));
    let disk = got.devices.iter().find(|d| d.name == "disk").expect("disk");
    let path = format!("{}/d.raw", target.display());
    assert_eq!(disk.attr("type"), Some("file"));
    let src = disk.child("source").expect("source");
    assert_eq!(src.attr("file"), Some(path.as_str()));
    assert_eq!(src.attr("pool"), None);
    // The guest's own definition keeps its volume.
    assert_eq!(
        def.devices
            .iter()
            .find(|d| d.name == "disk")
            .and_then(|d| d.attr("type")),
        Some("volume")
    );
    let json = xenconfig::build_domain_config(&got, &xenconfig::LibxlOptions::default())
        .unwrap_or_else(|e| panic!("{e:?}"));
    let text = json.to_string();
    assert!(
        text.contains(&format!("\"pdev_path\":\"{path}\"")),
        "{text}"
    );

    // Libvirt's errors: a missing volume, an inactive pool, no driver.
    let e = volsource::translate(&domain("p", "nope"), Some(&access)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "Storage volume not found: no storage vol with matching name 'nope'"
    );
    conn.storage_pool_destroy(&pool)
        .unwrap_or_else(|e| panic!("{e}"));
    let e = volsource::translate(&def, Some(&access)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "Storage pool not found: no storage pool with matching name 'p'"
    );
    let persistent = conn
        .storage_pool_define_xml(
            &format!(
                "<pool type='dir'><name>q</name><target><path>{}</path></target></pool>",
                target.display()
            ),
            0,
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let e = volsource::translate(&domain("q", "d.raw"), Some(&access)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "unsupported configuration: storage pool 'q' containing volume 'd.raw' is not active"
    );
    conn.storage_pool_undefine(&persistent)
        .unwrap_or_else(|e| panic!("{e}"));
    let e = volsource::translate(&def, None).unwrap_err();
    assert_eq!(e.code, virterror::ErrorCode::NoConnect);
}

// SPDX-License-Identifier: LGPL-2.1-or-later
//! The storage client against a real virtstoraged: what a volume disk
//! needs resolved (pool and volume lookup, pool state and XML, volume
//! type and path), and virtstoraged's errors passed on unchanged.

use storage_client::RemoteStorage;
use test_support::*;

#[test]
fn resolves_a_volume_through_virtstoraged() {
    if !tool_exists("virsh") {
        return skip("needs virsh (libvirt-clients)");
    }
    let dir = TempDir::new("storage-client");
    let spec = Spec::new(
        "virtstoraged",
        &dir,
        "auth_unix_rw = \"none\"\nauth_unix_ro = \"none\"\n",
    );
    let _d = spec.start();
    let uri = format!("storage:///system?socket={}", spec.ready.display());
    let target = dir.join("pool").display().to_string();
    virsh_uri(
        &uri,
        &["pool-create-as", "p", "dir", "--target", &target, "--build"],
    )
    .success();
    virsh_uri(&uri, &["vol-create-as", "p", "d.raw", "1M"]).success();

    let remote = RemoteStorage {
        socket: spec.ready.clone(),
        uri: "storage:///system".into(),
    };
    let conn = (remote.opener())().unwrap_or_else(|e| panic!("{e}"));
    let pool = conn
        .storage_pool_lookup_by_name("p")
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(conn.storage_pool_is_active(&pool).unwrap_or(false));
    assert!(conn
        .storage_pool_get_xml_desc(&pool, 0)
        .unwrap_or_default()
        .starts_with("<pool type='dir'>"));
    let vol = conn
        .storage_vol_lookup_by_name(&pool, "d.raw")
        .unwrap_or_else(|e| panic!("{e}"));
    let info = conn
        .storage_vol_get_info(&vol)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((info.vol_type, info.capacity), (0, 1 << 20));
    assert_eq!(
        conn.storage_vol_get_path(&vol).unwrap_or_default(),
        format!("{target}/d.raw")
    );
    let e = conn.storage_pool_lookup_by_name("nope").unwrap_err();
    assert_eq!(
        e.to_string(),
        "Storage pool not found: no storage pool with matching name 'nope'"
    );
    drop(conn);
    virsh_uri(&uri, &["pool-destroy", "p"]).success();
}

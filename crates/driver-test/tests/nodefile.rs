// SPDX-License-Identifier: LGPL-2.1-or-later
//! Custom node files (`test:///path/to/node.xml`) as Debian's C libvirtd
//! 9.0 loads them: a domain sized only by its NUMA cells, a logical pool
//! without a target path, IOThreads with their polling state.

use driver::{Connection, TypedValue};

const NODE: &str = "<node>
  <domain type='test'>
    <name>numa</name>
    <uuid>11111111-2222-3333-4444-555555555501</uuid>
    <vcpu>4</vcpu>
    <os><type>hvm</type></os>
    <cpu><numa><cell id='0' cpus='0-1' memory='512' unit='MiB'/><cell id='1' cpus='2-3' memory='262144'/></numa></cpu>
  </domain>
  <domain type='test'>
    <name>iot</name>
    <uuid>11111111-2222-3333-4444-555555555502</uuid>
    <memory>1024</memory>
    <iothreads>2</iothreads>
    <os><type>hvm</type></os>
  </domain>
  <pool type='logical'>
    <name>vg0</name>
    <uuid>11111111-2222-3333-4444-555555555503</uuid>
    <source><name>vg0</name><format type='lvm2'/></source>
  </pool>
</node>
";

fn open_node(test: &str) -> driver_test::TestConnection {
    let dir = std::env::temp_dir().join(format!(
        "driver-test-nodefile-{}-{test}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("node.xml");
    std::fs::write(&path, NODE).unwrap();
    let p = path.to_str().unwrap().to_string();
    let c = driver_test::open_path(&p, format!("test://{p}")).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    c
}

#[test]
fn numa_cells_give_the_memory_of_a_domain_without_memory() {
    let c = open_node("numa");
    let d = c.domain_lookup_by_name("numa").unwrap();
    let info = c.domain_get_info(&d).unwrap();
    assert_eq!((info.max_mem, info.memory), (786432, 786432));
    let xml = c.domain_get_xml_desc(&d, 0).unwrap();
    assert!(xml.contains(
        "  <memory unit='KiB'>786432</memory>\n  <currentMemory unit='KiB'>786432</currentMemory>\n"
    ));
    assert!(xml.contains(
        "      <cell id='0' cpus='0-1' memory='524288' unit='KiB'/>\n      <cell id='1' cpus='2-3' memory='262144' unit='KiB'/>\n"
    ));
}

#[test]
fn logical_pool_without_target_gets_the_volume_group_path() {
    let c = open_node("pool");
    let p = c.storage_pool_lookup_by_name("vg0").unwrap();
    let xml = c.storage_pool_get_xml_desc(&p, 0).unwrap();
    assert!(
        xml.contains("  <target>\n    <path>/dev/vg0</path>\n  </target>\n"),
        "{xml}"
    );
}

#[test]
fn iothreads_of_node_file_domains_have_polling_state() {
    let c = open_node("iothreads");
    let d = c.domain_lookup_by_name("iot").unwrap();
    let ids: Vec<u32> = c
        .domain_get_iothread_info(&d, 0)
        .unwrap()
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(ids, vec![1, 2]);
    let p = vec![("poll_grow".to_string(), TypedValue::UInt(7))];
    c.domain_set_iothread_params(&d, 1, &p, 0).unwrap();
    let stats = c.domain_stats(std::slice::from_ref(&d), 1 << 7, 0).unwrap();
    assert_eq!(
        stats[0].1[0],
        ("iothread.count".to_string(), TypedValue::UInt(2))
    );
    assert_eq!(
        stats[0].1[2],
        ("iothread.1.poll-grow".to_string(), TypedValue::UInt(7))
    );
    // A domain without IOThreads reports no IOThread statistics.
    let n = c.domain_lookup_by_name("numa").unwrap();
    assert!(c.domain_stats(&[n], 1 << 7, 0).unwrap()[0].1.is_empty());
}

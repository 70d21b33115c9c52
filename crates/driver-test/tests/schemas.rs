// SPDX-License-Identifier: LGPL-2.1-or-later
//! Every XML document the test driver hands out (capabilities, domains,
//! networks, pools, volumes, host interfaces, node devices) validates
//! against libvirt's RELAX NG schemas; skipped when xmllint is missing.

use std::path::PathBuf;
use std::process::Command;

use driver::error::ErrorCode;
use driver::{ConnectAuth, Connection, Uri};

/// test:///default is shared within a process: tests that change it run
/// alone.
static DEFAULT_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/libvirt-9.6")
}

fn xmllint_available() -> bool {
    Command::new("xmllint")
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

fn relaxng_check(doc: &str, schema: &str, tag: &str) -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!("driver-test-schema-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let file = dir.join(format!("{tag}.xml"));
    std::fs::write(&file, doc).map_err(|e| e.to_string())?;
    let out = Command::new("xmllint")
        .arg("--noout")
        .arg("--relaxng")
        .arg(corpus().join("schemas").join(schema))
        .arg(&file)
        .output()
        .map_err(|e| e.to_string())?;
    let _ = std::fs::remove_file(&file);
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

fn open(uri: &str) -> std::sync::Arc<dyn Connection> {
    let u = Uri::parse(uri).expect("uri");
    driver_test::factory()
        .open(&u, &ConnectAuth::default())
        .unwrap_or_else(|e| panic!("{uri}: {e:?}"))
}

/// (schema, tag, document) for everything a connection describes.
fn documents(c: &dyn Connection, label: &str) -> Vec<(&'static str, String, String)> {
    let mut docs = vec![(
        "capability.rng",
        format!("{label}-caps"),
        c.capabilities().expect("capabilities"),
    )];
    for d in c.list_all_domains(0).expect("domains") {
        for (flags, what) in [(0, "live"), (2, "inactive"), (1, "secure")] {
            docs.push((
                "domain.rng",
                format!("{label}-dom-{}-{what}", d.name),
                c.domain_get_xml_desc(&d, flags).expect("domain xml"),
            ));
        }
    }
    for n in c.list_all_networks(0).expect("networks") {
        // libvirt's test driver accepts no flags here.
        docs.push((
            "network.rng",
            format!("{label}-net-{}", n.name),
            c.network_get_xml_desc(&n, 0).expect("network xml"),
        ));
    }
    for p in c.list_all_storage_pools(0).expect("pools") {
        docs.push((
            "storagepool.rng",
            format!("{label}-pool-{}", p.name),
            c.storage_pool_get_xml_desc(&p, 0).expect("pool xml"),
        ));
        if c.storage_pool_is_active(&p).unwrap_or(false) {
            for v in c.storage_pool_list_volumes(&p).expect("volumes") {
                docs.push((
                    "storagevol.rng",
                    format!("{label}-vol-{}-{}", p.name, v.name),
                    c.storage_vol_get_xml_desc(&v, 0).expect("volume xml"),
                ));
            }
        }
    }
    for i in c.list_all_interfaces(0).expect("interfaces") {
        docs.push((
            "interface.rng",
            format!("{label}-iface-{}", i.name),
            c.interface_get_xml_desc(&i, 0).expect("interface xml"),
        ));
    }
    for d in c.list_all_node_devices(0).expect("node devices") {
        docs.push((
            "nodedev.rng",
            format!("{label}-nodedev-{}", d.name),
            c.node_device_get_xml_desc(&d, 0).expect("node device xml"),
        ));
    }
    docs
}

#[test]
fn every_document_of_the_default_and_custom_nodes_validates() {
    let _g = DEFAULT_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    let node = corpus().join("examples-test/testnode.xml");
    let inline = corpus().join("examples-test/testnodeinline.xml");
    let mut docs = Vec::new();
    for (uri, label) in [
        ("test:///default".to_string(), "default"),
        (format!("test://{}", node.display()), "node"),
        (format!("test://{}", inline.display()), "inline"),
    ] {
        let c = open(&uri);
        docs.extend(documents(c.as_ref(), label));
    }
    let count = |schema: &str| docs.iter().filter(|(s, _, _)| *s == schema).count();
    // What the nodes are known to hold, so an empty listing cannot pass.
    assert_eq!(count("capability.rng"), 3);
    assert!(count("domain.rng") >= 9, "{}", count("domain.rng"));
    assert!(count("network.rng") >= 3);
    assert!(count("storagepool.rng") >= 3);
    assert!(count("storagevol.rng") >= 1);
    assert!(docs
        .iter()
        .any(|(_, t, d)| t == "node-caps" && d.contains("<cells num='0'>")));
    if !xmllint_available() {
        eprintln!("skipping: xmllint is not installed");
        return;
    }
    let failures: Vec<String> = docs
        .iter()
        .filter_map(|(schema, tag, doc)| {
            // A custom node without NUMA cells: libvirt prints an empty
            // <cells num='0'> list, which its own schema refuses (a cell is
            // required). The output keeps libvirt's bytes; the rest of the
            // document must still validate.
            const EMPTY: &str =
                "    <topology>\n      <cells num='0'>\n      </cells>\n    </topology>\n";
            let doc = doc.replace(EMPTY, "");
            relaxng_check(&doc, schema, tag)
                .err()
                .map(|e| format!("{tag} ({schema}): {e}\n{doc}"))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn domain_capabilities_are_not_supported_as_in_libvirt() {
    // libvirt 9.6's test driver has no connectGetDomainCapabilities.
    let c = open("test:///default");
    let e = c
        .domain_capabilities(None, Some("i686"), None, Some("test"), 0)
        .expect_err("no domain capabilities");
    assert_eq!(e.code, ErrorCode::NoSupport);
    assert_eq!(
        e.message(),
        "this function is not supported by the connection driver: virConnectGetDomainCapabilities"
    );
}

#[test]
fn define_and_create_with_validate_refuse_schema_invalid_documents() {
    use driver::consts::{create, define};
    let _g = DEFAULT_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    let c = driver_test::open_path("/default", "test:///default".into()).expect("open");
    let good = "<domain type='test'><name>schema-check</name><memory>8192</memory><os><type>hvm</type></os><devices><frob/></devices><colour>blue</colour></domain>";
    let bad = good.replace("<devices>", "<devicez/><devices>");
    let e = c
        .domain_define_xml(&bad, define::VALIDATE)
        .expect_err("refused");
    assert_eq!(e.code, ErrorCode::XmlInvalidSchema);
    assert!(
        e.message()
            .starts_with("XML document failed to validate against schema: Unable to validate doc against /usr/share/libvirt/schemas/domain.rng\nExtra element "),
        "{}",
        e.message()
    );
    let e = c
        .domain_create_xml(&bad, create::START_VALIDATE)
        .expect_err("refused");
    assert_eq!(e.code, ErrorCode::XmlInvalidSchema);
    // Without the flag, unknown elements are ignored and not kept.
    let d = c.domain_define_xml(&bad, 0).expect("define");
    let x = c.domain_get_xml_desc(&d, 0).expect("xml");
    assert!(
        !x.contains("devicez") && !x.contains("colour") && !x.contains("frob"),
        "{x}"
    );
    c.domain_undefine(&d, 0).expect("undefine");
}

// SPDX-License-Identifier: LGPL-2.1-or-later
//! Schema and robustness tests: what we format validates against libvirt's
//! RELAX NG schemas (when xmllint is installed), schema test documents
//! parse, network/storage examples round trip, and parsing is total.

use conf::network::NetworkFormatFlags;
use conf::{DomainDef, FormatFlags, NetworkDef, ParseFlags, PoolDef, VolDef};
use proptest::prelude::*;
use std::path::{Path, PathBuf};
use std::process::Command;

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

/// Validates `doc` against `schema`; returns the diagnostics on failure.
fn relaxng_check(doc: &str, schema: &str, tag: &str) -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!("conf-schema-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let file = dir.join(format!("{}.xml", tag.replace(['/', ':'], "_")));
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

fn xml_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "xml"))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Corpus inputs that parse successfully (the round-trip cases).
fn corpus_domain_inputs() -> Vec<(PathBuf, bool)> {
    let mut out = Vec::new();
    for (manifest, dir, prefix) in [
        ("genericxml2xml.tsv", "genericxml2xmlindata", ""),
        ("lxcxml2xml.tsv", "lxcxml2xmldata", "lxc-"),
    ] {
        let text =
            std::fs::read_to_string(corpus().join("manifests").join(manifest)).unwrap_or_default();
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let mut cols = line.split('\t');
            let (Some(case), Some(mode)) = (cols.next(), cols.next()) else {
                continue;
            };
            if mode == "same" || mode == "different" {
                out.push((
                    corpus().join(dir).join(format!("{prefix}{case}.xml")),
                    manifest.starts_with("lxc"),
                ));
            }
        }
    }
    out
}

#[test]
fn corpus_manifests_are_present() {
    assert!(
        corpus_domain_inputs().len() >= 40,
        "conformance corpus not found at {}",
        corpus().display()
    );
}

#[test]
fn formatted_corpus_domains_validate_against_domain_rng() {
    if !xmllint_available() {
        eprintln!("skipping: xmllint is not installed");
        return;
    }
    let mut failures = Vec::new();
    let mut checked = 0;
    for (path, lxc) in corpus_domain_inputs() {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let lives: &[bool] = if lxc { &[false, true] } else { &[true] };
        for &live in lives {
            let def = match DomainDef::parse_str(
                &text,
                &ParseFlags {
                    inactive: !live,
                    validate_schema: false,
                },
            ) {
                Ok(d) => d,
                Err(e) => {
                    failures.push(format!("{}: parse: {e}", path.display()));
                    continue;
                }
            };
            let out = def.to_xml(&FormatFlags {
                inactive: !live,
                secure: true,
                ..Default::default()
            });
            let tag = path
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default();
            if let Err(e) = relaxng_check(&out, "domain.rng", &tag) {
                failures.push(format!("{}: {e}", path.display()));
            }
            checked += 1;
        }
    }
    assert!(checked > 0);
    assert!(
        failures.is_empty(),
        "schema failures:\n{}",
        failures.join("\n")
    );
}

#[test]
fn domainschemadata_documents_parse() {
    let files = xml_files(&corpus().join("domainschemadata"));
    assert!(!files.is_empty());
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap_or_default();
        // Stage 1 (structure) must accept every schema-valid document.
        let parsed = conf::domain::parse(&text, &ParseFlags::default());
        assert!(parsed.is_ok(), "{}: {:?}", f.display(), parsed.err());
        // The full pipeline accepts them too, except where libvirt itself
        // rejects a schema-valid document (a memory size of zero).
        let full = DomainDef::parse_str(&text, &ParseFlags::default());
        if parsed.map(|d| d.memory_kib).unwrap_or(0) > 0 {
            assert!(full.is_ok(), "{}: {:?}", f.display(), full.err());
        } else {
            let e = full.expect_err("a domain without memory must be rejected");
            assert_eq!(e.code, conf::error::XML_ERROR);
        }
    }
}

#[test]
fn test_network_definition_formats_like_libvirt() {
    let text =
        std::fs::read_to_string(corpus().join("examples-test/testnetdef.xml")).unwrap_or_default();
    let def = NetworkDef::parse_str(&text).expect("parse");
    assert_eq!(def.name, "default");
    assert_eq!(def.bridge_name(), Some("brdefault"));
    assert_eq!(def.forward_mode(), Some("nat"));
    let out = def.to_xml(&NetworkFormatFlags::default());
    assert_eq!(
        out,
        "<network>\n  <name>default</name>\n  <uuid>004b96e1-2d78-c30f-5aa5-f03c87d21e69</uuid>\n  <forward dev='eth0' mode='nat'>\n    <interface dev='eth0'/>\n  </forward>\n  <bridge name='brdefault' stp='on' delay='0'/>\n  <ip address='192.168.122.1' netmask='255.255.255.0'>\n    <dhcp>\n      <range start='192.168.122.128' end='192.168.122.253'/>\n    </dhcp>\n  </ip>\n</network>\n"
    );
}

fn inline_elements(name: &str) -> Vec<String> {
    let text = std::fs::read_to_string(corpus().join("examples-test/testnodeinline.xml"))
        .unwrap_or_default();
    let root = conf::xml::parse_document(&text, "t", "node").expect("testnodeinline parses");
    let mut v = Vec::new();
    fn walk(e: &conf::xml::Element, name: &str, v: &mut Vec<String>) {
        for c in e.elements() {
            if c.name == name {
                v.push(c.to_libvirt_string(0));
            }
            walk(c, name, v);
        }
    }
    walk(&root, name, &mut v);
    v
}

#[test]
fn network_examples_round_trip_and_validate() {
    let mut docs: Vec<String> = ["testnetdef.xml", "testnetpriv.xml"]
        .iter()
        .map(|f| {
            std::fs::read_to_string(corpus().join("examples-test").join(f)).unwrap_or_default()
        })
        .collect();
    docs.extend(inline_elements("network"));
    assert!(docs.len() >= 3);
    for (i, d) in docs.iter().enumerate() {
        let def = NetworkDef::parse_str(d).unwrap_or_else(|e| panic!("network {i}: {e}"));
        let out = def.to_xml(&NetworkFormatFlags::default());
        let again = NetworkDef::parse_str(&out)
            .expect("reparse")
            .to_xml(&NetworkFormatFlags::default());
        assert_eq!(out, again, "network {i} is not a fixed point");
        if xmllint_available() {
            relaxng_check(&out, "network.rng", &format!("net{i}"))
                .unwrap_or_else(|e| panic!("network {i}: {e}\n{out}"));
        }
    }
}

#[test]
fn pool_and_volume_examples_round_trip_and_validate() {
    let mut pools = vec![
        std::fs::read_to_string(corpus().join("examples-test/testpool.xml")).unwrap_or_default(),
    ];
    pools.extend(
        inline_elements("pool")
            .into_iter()
            .filter(|p| p.contains("type=")),
    );
    for (i, p) in pools.iter().enumerate() {
        let def = PoolDef::parse_str(p).unwrap_or_else(|e| panic!("pool {i}: {e}"));
        let out = def.to_xml();
        assert_eq!(PoolDef::parse_str(&out).expect("reparse").to_xml(), out);
        if xmllint_available() {
            relaxng_check(&out, "storagepool.rng", &format!("pool{i}"))
                .unwrap_or_else(|e| panic!("pool {i}: {e}\n{out}"));
        }
    }
    let pool = PoolDef::parse_str(&pools[0]).expect("pool");
    assert_eq!(pool.pool_type, "dir");
    // Sizes are what a running pool reports: libvirt never reads them
    // from a definition (storagepoolxml2xml's pool-logical, pool-disk).
    assert_eq!(pool.capacity, 0);
    assert_eq!(pool.target_path.as_deref(), Some("/default-pool"));
    assert!(pool.to_xml().contains("      <mode>0700</mode>\n"));

    let mut vols = vec![
        std::fs::read_to_string(corpus().join("examples-test/testvol.xml")).unwrap_or_default(),
    ];
    vols.extend(inline_elements("volume"));
    for (i, v) in vols.iter().enumerate() {
        let mut def = VolDef::parse_str(v).unwrap_or_else(|e| panic!("volume {i}: {e}"));
        def.key = Some(format!("/default-pool/{}", def.name));
        def.target_path = def.key.clone();
        let out = def.to_xml();
        assert_eq!(VolDef::parse_str(&out).expect("reparse").to_xml(), out);
        if xmllint_available() {
            relaxng_check(&out, "storagevol.rng", &format!("vol{i}"))
                .unwrap_or_else(|e| panic!("volume {i}: {e}\n{out}"));
        }
    }
    let vol = VolDef::parse_str(&vols[0]).expect("vol");
    assert_eq!((vol.capacity, vol.allocation), (1000000, 50000));
}

#[test]
fn corpus_outputs_are_fixed_points() {
    for (path, _) in corpus_domain_inputs() {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let flags = ParseFlags::default();
        let fflags = FormatFlags {
            secure: true,
            ..Default::default()
        };
        let once = DomainDef::parse_str(&text, &flags)
            .expect("parse")
            .to_xml(&fflags);
        let twice = DomainDef::parse_str(&once, &flags)
            .expect("reparse")
            .to_xml(&fflags);
        assert_eq!(once, twice, "{} is not a fixed point", path.display());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn parsing_arbitrary_text_never_panics(s in "\\PC{0,200}") {
        let _ = DomainDef::parse_str(&s, &ParseFlags::default());
        let _ = NetworkDef::parse_str(&s);
        let _ = PoolDef::parse_str(&s);
        let _ = VolDef::parse_str(&s);
    }

    #[test]
    fn parsing_mutated_corpus_documents_never_panics(idx in 0usize..64, cut in 0usize..4000, junk in "[<>/='a-z0-9 ]{0,12}") {
        let inputs = corpus_domain_inputs();
        prop_assume!(!inputs.is_empty());
        let (path, _) = &inputs[idx % inputs.len()];
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let mut cut = cut.min(text.len());
        while !text.is_char_boundary(cut) { cut -= 1; }
        let doc = format!("{}{}{}", &text[..cut], junk, &text[cut..]);
        if let Ok(def) = DomainDef::parse_str(&doc, &ParseFlags::default()) {
            // Whatever parses formats to something that parses to the same output.
            let once = def.to_xml(&FormatFlags::default());
            let again = DomainDef::parse_str(&once, &ParseFlags::default()).map(|d| d.to_xml(&FormatFlags::default()));
            prop_assert_eq!(Ok(once), again);
        }
    }
}

/// A document with every section of domain capabilities filled.
fn full_domain_caps() -> conf::domcaps::DomainCaps {
    use conf::domcaps::*;
    use conf::xml::Element;
    DomainCaps {
        path: "/usr/bin/qemu-system-x86_64".into(),
        virt_type: "kvm".into(),
        machine: Some("pc-q35-8.0".into()),
        arch: "x86_64".into(),
        max_vcpus: 288,
        iothreads: Support::Yes,
        os: OsCaps {
            section: Section::yes(&[("firmware", values(&["efi", "bios"]))]),
            loader: LoaderCaps {
                section: Section::yes(&[
                    ("type", values(&["rom", "pflash"])),
                    ("readonly", values(&["yes", "no"])),
                    ("secure", values(&["no", "yes"])),
                ]),
                paths: vec!["/usr/share/OVMF/OVMF_CODE.fd".into()],
            },
        },
        cpu: CpuCaps {
            host_passthrough: true,
            host_passthrough_migratable: values(&["on", "off"]),
            maximum: true,
            maximum_migratable: values(&["on", "off"]),
            host_model: Some(vec![
                Element::new("model")
                    .with_attr("fallback", "forbid")
                    .with_text("Skylake-Client-IBRS"),
                Element::new("vendor").with_text("Intel"),
                Element::new("feature")
                    .with_attr("policy", "require")
                    .with_attr("name", "ss"),
            ]),
            custom: vec![
                CpuModel {
                    name: "qemu64".into(),
                    usable: Usable::Yes,
                    deprecated: false,
                    vendor: None,
                },
                CpuModel {
                    name: "Opteron_G1".into(),
                    usable: Usable::No,
                    deprecated: true,
                    vendor: Some("AMD".into()),
                },
            ],
        },
        memory_backing: Section::yes(&[("sourceType", values(&["file", "anonymous", "memfd"]))]),
        devices: DeviceCaps {
            disk: Section::yes(&[
                ("diskDevice", values(&["disk", "cdrom", "floppy", "lun"])),
                (
                    "bus",
                    values(&["ide", "fdc", "scsi", "virtio", "usb", "sata"]),
                ),
                ("model", values(&["virtio", "virtio-transitional"])),
            ]),
            graphics: Section::yes(&[(
                "type",
                values(&["sdl", "vnc", "spice", "egl-headless", "dbus"]),
            )]),
            video: Section::yes(&[(
                "modelType",
                values(&["vga", "cirrus", "virtio", "none", "bochs", "ramfb"]),
            )]),
            hostdev: Section::yes(&[
                ("mode", values(&["subsystem"])),
                (
                    "startupPolicy",
                    values(&["default", "mandatory", "requisite", "optional"]),
                ),
                ("subsysType", values(&["usb", "pci", "scsi"])),
                ("capsType", values(&[])),
                ("pciBackend", values(&["default", "vfio"])),
            ]),
            rng: Section::yes(&[
                ("model", values(&["virtio"])),
                ("backendModel", values(&["random", "egd", "builtin"])),
            ]),
            filesystem: Section::yes(&[("driverType", values(&["path", "handle", "virtiofs"]))]),
            tpm: Section::yes(&[
                ("model", values(&["tpm-tis", "tpm-crb"])),
                (
                    "backendModel",
                    values(&["passthrough", "emulator", "external"]),
                ),
                ("backendVersion", values(&["1.2", "2.0"])),
            ]),
            redirdev: Section::yes(&[("bus", values(&["usb"]))]),
            channel: Section::yes(&[("type", values(&["pty", "unix", "spicevmc"]))]),
            crypto: Section::yes(&[
                ("model", values(&["virtio"])),
                ("type", values(&["qemu"])),
                ("backendModel", values(&["builtin", "lkcf"])),
            ]),
        },
        features: FeatureCaps {
            gic: Section::no(),
            vmcoreinfo: Support::Yes,
            genid: Support::Yes,
            backing_store_input: Support::Yes,
            backup: Support::Yes,
            async_teardown: Support::Yes,
            s390_pv: Support::No,
            sev: Some(SevCaps {
                cbitpos: 47,
                reduced_phys_bits: 1,
                max_guests: 15,
                max_es_guests: 0,
                // libvirt prints <cpu0Id> when known, but domaincaps.rng
                // (9.6) has no such element, so the schema sample omits it.
                cpu0_id: None,
            }),
            sgx: Some(SgxCaps {
                flc: true,
                sgx1: true,
                sgx2: false,
                section_size_kib: 524288,
                sections: vec![SgxSection {
                    node: 0,
                    size_kib: 524288,
                }],
            }),
            hyperv: Some(Section::yes(&[(
                "features",
                values(&["relaxed", "vapic", "avic"]),
            )])),
        },
    }
}

#[test]
fn domain_capabilities_validate_against_domaincaps_rng() {
    let mut docs = vec![("full".to_string(), full_domain_caps().to_xml())];
    for m in [None, Some("xenpv"), Some("xenpvh"), Some("xenfv")] {
        let caps = conf::domcaps::libxl(
            None,
            None,
            m,
            None,
            "x86_64",
            &["/usr/lib/xen/boot/hvmloader".to_string()],
        )
        .expect("libxl domain capabilities");
        docs.push((format!("libxl-{}", m.unwrap_or("default")), caps.to_xml()));
    }
    docs.push((
        "bare".into(),
        conf::domcaps::DomainCaps {
            path: "/usr/libexec/libvirt_lxc".into(),
            virt_type: "lxc".into(),
            arch: "x86_64".into(),
            ..Default::default()
        }
        .to_xml(),
    ));
    let full = &docs[0].1;
    // Spot checks that the schema alone would not catch.
    assert!(full.contains("  <vcpu max='288'/>\n  <iothreads supported='yes'/>\n  <os supported='yes'>\n    <enum name='firmware'>\n      <value>bios</value>\n      <value>efi</value>\n"));
    assert!(full.contains("      <model fallback='forbid'>Skylake-Client-IBRS</model>\n      <vendor>Intel</vendor>\n"));
    assert!(full.contains("      <model usable='yes' vendor='unknown'>qemu64</model>\n      <model usable='no' deprecated='yes' vendor='AMD'>Opteron_G1</model>\n"));
    assert!(full.contains("    <sgx supported='yes'>\n      <flc>yes</flc>\n      <sgx1>yes</sgx1>\n      <sgx2>no</sgx2>\n      <section_size unit='KiB'>524288</section_size>\n      <sections>\n        <section node='0' size='524288' unit='KiB'/>\n      </sections>\n    </sgx>\n"));
    if !xmllint_available() {
        eprintln!("skipping schema validation: xmllint is not installed");
        return;
    }
    for (tag, doc) in &docs {
        relaxng_check(doc, "domaincaps.rng", &format!("domcaps-{tag}"))
            .unwrap_or_else(|e| panic!("{tag}: {e}\n{doc}"));
    }
}

/// Every domain document of the corpus, whatever its folder.
fn all_corpus_domain_documents() -> Vec<PathBuf> {
    let mut v = Vec::new();
    for dir in [
        "genericxml2xmlindata",
        "genericxml2xmloutdata",
        "lxcxml2xmldata",
        "lxcxml2xmloutdata",
        "lxcconf2xmldata",
        "domainschemadata",
        "xlconfigdata",
        "xmconfigdata",
        "libxlxml2domconfigdata",
        "examples-test",
    ] {
        for f in xml_files(&corpus().join(dir)) {
            let text = std::fs::read_to_string(&f).unwrap_or_default();
            if text.contains("<domain") && !text.contains("<node") {
                v.push(f);
            }
        }
    }
    v
}

fn structural_check(text: &str) -> Option<Result<(), conf::ConfError>> {
    let root = conf::xml::parse_document(text, "t", "domain").ok()?;
    Some(conf::schema::validate_domain(&root))
}

#[test]
fn structural_schema_checks_accept_every_document_xmllint_accepts() {
    if !xmllint_available() {
        eprintln!("skipping: xmllint is not installed");
        return;
    }
    let docs = all_corpus_domain_documents();
    assert!(docs.len() > 100, "{}", docs.len());
    let (mut valid, mut caught, mut missed) = (0, 0, Vec::new());
    let mut false_rejects = Vec::new();
    for (i, f) in docs.iter().enumerate() {
        let text = std::fs::read_to_string(f).unwrap_or_default();
        let Some(ours) = structural_check(&text) else {
            continue;
        };
        let theirs = relaxng_check(&text, "domain.rng", &format!("struct{i}"));
        match (theirs.is_ok(), ours) {
            (true, Ok(())) => valid += 1,
            (true, Err(e)) => false_rejects.push(format!("{}: {}", f.display(), e.detail_text())),
            (false, Err(_)) => caught += 1,
            (false, Ok(())) => missed.push(f.display().to_string()),
        }
    }
    eprintln!(
        "schema-valid: {valid}; invalid caught: {caught}; invalid not caught: {} {:?}",
        missed.len(),
        missed
    );
    assert!(valid > 100);
    assert!(
        false_rejects.is_empty(),
        "refused schema-valid documents:\n{}",
        false_rejects.join("\n")
    );
}

#[test]
fn structural_schema_checks_catch_what_xmllint_rejects() {
    let base = std::fs::read_to_string(corpus().join("lxcxml2xmldata/lxc-ethernet.xml"))
        .unwrap_or_default();
    assert!(base.contains("<devices>") && base.contains("<on_crash>"));
    let broken = [
        base.replace("<devices>", "<devicez/>\n  <devices>"),
        base.replace("<devices>", "<devices>\n    <frobnicator/>"),
        base.replace("<on_crash>", "<on_crash>explode"),
        base.replace("<domain type='lxc'", "<domain type='lxcc'"),
        base.replace("<domain type='lxc'", "<domain type='lxc' colour='blue'"),
        base.replace("<interface type='ethernet'", "<interface type='wire'"),
    ];
    for (i, doc) in broken.iter().enumerate() {
        assert_ne!(doc, &base, "mutation {i} did not apply");
        let ours = structural_check(doc).expect("well-formed");
        let e = ours.expect_err("structural check must refuse");
        assert_eq!(e.code, conf::error::XML_INVALID_SCHEMA, "{i}");
        assert!(e
            .detail_text()
            .starts_with("Unable to validate doc against /usr/share/libvirt/schemas/domain.rng\n"));
        // Full parse with the flag refuses it with the same error.
        let flags = ParseFlags {
            inactive: true,
            validate_schema: true,
        };
        assert_eq!(DomainDef::parse_str(doc, &flags).err(), Some(e), "{i}");
        if xmllint_available() {
            assert!(
                relaxng_check(doc, "domain.rng", &format!("broken{i}")).is_err(),
                "xmllint accepts mutation {i}"
            );
        }
    }
    // Without the flag the ordinary parser ignores an unknown element.
    assert!(DomainDef::parse_str(&broken[0], &ParseFlags::default()).is_ok());
}

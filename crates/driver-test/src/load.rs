// SPDX-License-Identifier: LGPL-2.1-or-later
//! Building a host from a node document: the built-in default host or a
//! node file named by the URI (`<node>` with `<cpu>`, `<memory>`,
//! `<domain>`, `<network>`, `<interface>`, `<pool>` with `<volume>`s and
//! `<device>` children, inline or as `file='...'` references).

use std::path::Path;
use std::sync::Arc;

use conf::domain::ParseFlags;
use conf::xml::{Element, Node};
use conf::{DomainDef, NetworkDef, PoolDef, VolDef};
use driver::consts::{reason, state as st};
use driver::error::ErrorDomain;
use driver::Result;

use crate::state::{default_node_info, Cell, Dom, Iface, Net, NodeDev, Pool, Shared, State};
use crate::{auth, errors};
use driver::objlist::Conflict;

/// XML namespace of the test driver's per-domain extensions.
pub const TEST_NS: &str = "http://libvirt.org/schemas/domain/test/1.0";

/// Capacity every pool reports (100 GiB), as libvirt's test driver does.
pub const DEFAULT_POOL_CAPACITY: u64 = 100 * 1024 * 1024 * 1024;

/// The default host. The objects and their values are the ones libvirt's
/// test driver predefines, so clients see the same host.
const DEFAULT_NODE: &str = r#"<node>
<domain type='test'>
  <name>test</name>
  <uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid>
  <memory>8388608</memory>
  <currentMemory>2097152</currentMemory>
  <vcpu>2</vcpu>
  <os>
    <type>hvm</type>
  </os>
  <devices>
    <disk type='file' device='disk'>
      <source file='/guest/diskimage1'/>
      <target dev='vda' bus='virtio'/>
      <address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0'/>
    </disk>
    <interface type='network'>
      <mac address='aa:bb:cc:dd:ee:ff'/>
      <source network='default' bridge='virbr0'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x1' function='0x0'/>
    </interface>
    <memballoon model='virtio'>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x2' function='0x0'/>
    </memballoon>
  </devices>
</domain>
<network>
  <name>default</name>
  <uuid>dd8fe884-6c02-601e-7551-cca97df1c5df</uuid>
  <bridge name='virbr0'/>
  <forward/>
  <ip address='192.168.122.1' netmask='255.255.255.0'>
    <dhcp>
      <range start='192.168.122.2' end='192.168.122.254'/>
    </dhcp>
  </ip>
</network>
<interface type='ethernet' name='eth1'>
  <start mode='onboot'/>
  <mac address='aa:bb:cc:dd:ee:ff'/>
  <mtu size='1492'/>
  <protocol family='ipv4'>
    <ip address='192.168.0.5' prefix='24'/>
    <route gateway='192.168.0.1'/>
  </protocol>
</interface>
<pool type='dir'>
  <name>default-pool</name>
  <uuid>dfe224cb-28fb-8dd0-c4b2-64eb3f0f4566</uuid>
  <target>
    <path>/default-pool</path>
  </target>
</pool>
<device>
  <name>computer</name>
  <capability type='system'>
    <hardware>
      <vendor>Libvirt</vendor>
      <version>Test driver</version>
      <serial>123456</serial>
      <uuid>11111111-2222-3333-4444-555555555555</uuid>
    </hardware>
    <firmware>
      <vendor>Libvirt</vendor>
      <version>Test Driver</version>
      <release_date>01/22/2007</release_date>
    </firmware>
  </capability>
</device>
<device>
  <name>scsi_host1</name>
  <parent>computer</parent>
  <capability type='scsi_host'>
    <host>1</host>
    <unique_id>0</unique_id>
    <capability type='fc_host'>
      <wwnn>2000000012341234</wwnn>
      <wwpn>1000000012341234</wwpn>
      <fabric_wwn>2000000043214321</fabric_wwn>
    </capability>
    <capability type='vport_ops'>
      <max_vports>127</max_vports>
      <vports>1</vports>
    </capability>
  </capability>
</device>
<device>
  <name>scsi_host2</name>
  <parent>computer</parent>
  <capability type='scsi_host'>
    <host>2</host>
    <unique_id>1</unique_id>
    <capability type='fc_host'>
      <wwnn>2000000056785678</wwnn>
      <wwpn>1000000056785678</wwpn>
      <fabric_wwn>2000000087658765</fabric_wwn>
    </capability>
    <capability type='vport_ops'>
      <max_vports>127</max_vports>
      <vports>0</vports>
    </capability>
  </capability>
</device>
<device>
  <name>scsi_host11</name>
  <parent>scsi_host1</parent>
  <capability type='scsi_host'>
    <host>11</host>
    <unique_id>10</unique_id>
    <capability type='fc_host'>
      <wwnn>2000000034563456</wwnn>
      <wwpn>1000000034563456</wwpn>
      <fabric_wwn>2000000043214321</fabric_wwn>
    </capability>
  </capability>
</device>
</node>
"#;

/// The default host (test:///default).
pub fn load_default() -> Result<Shared> {
    let root = conf::xml::parse_document(DEFAULT_NODE, "(test driver)", "node")
        .map_err(|e| errors::conf(e, ErrorDomain::Test))?;
    let mut state = State::new(default_node_info());
    // Two NUMA cells of 8 CPUs; cell i has (i+1)*2 GiB, half of it free.
    for i in 0..2u32 {
        let cpus = (0..8u32).map(|j| (i * 8 + j, i, j)).collect();
        state.cells.push(Cell {
            mem: u64::from(i + 1) * 2048 * 1024,
            free_mem: u64::from(i + 1) * 1024 * 1024,
            cpus,
        });
    }
    let sh = Shared::new(state);
    parse_node(&sh, &root, None)?;
    Ok(sh)
}

/// A host described by a node file, and the users its `<auth>` lists
/// (parsed last, as libvirt does); relative `file=` references resolve
/// against the file's directory.
pub fn load_file(path: &str) -> Result<(Shared, Vec<auth::User>)> {
    let root = read_doc(path, "node")?;
    let sh = Shared::new(State::new(default_node_info()));
    parse_node(&sh, &root, Some(Path::new(path)))?;
    let users = auth::parse_users(&root)?;
    Ok((sh, users))
}

fn read_doc(path: &str, root: &str) -> Result<Element> {
    // libxml2 reads a directory as an empty document.
    let text = if Path::new(path).is_dir() {
        String::new()
    } else {
        std::fs::read_to_string(path).map_err(|_| {
            errors::test(
                driver::error::ErrorCode::XmlError,
                format!("failed to parse xml document '{path}'"),
            )
        })?
    };
    conf::xml::parse_document(&text, path, root).map_err(|e| errors::conf(e, ErrorDomain::Test))
}

/// An inline element, or the document its `file` attribute names.
fn resolve(el: &Element, file: Option<&Path>) -> Result<Element> {
    let Some(rel) = el.attr("file") else {
        return Ok(el.clone());
    };
    let abs = if rel.starts_with('/') {
        rel.to_string()
    } else {
        let dir = file
            .and_then(Path::parent)
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_else(|| ".".into());
        format!("{dir}/{rel}")
    };
    // The referenced document replaces the element entirely: children of
    // the referencing element (such as <volume>s inside <pool file=...>)
    // are dropped, as libvirt does.
    read_doc(&abs, &el.name)
}

fn parse_uint(root: &Element, path: &[&str], what: &str) -> Result<Option<u64>> {
    let mut cur = root;
    for p in path {
        match cur.child(p) {
            Some(c) => cur = c,
            None => return Ok(None),
        }
    }
    let t = cur.text();
    let t = t.trim();
    if t.is_empty() {
        return Ok(None);
    }
    t.parse::<u64>()
        .map(Some)
        .map_err(|_| errors::xml(format!("invalid node {what} value")))
}

fn to_u32(v: u64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

fn parse_node(sh: &Shared, root: &Element, file: Option<&Path>) -> Result<()> {
    let mut state = sh.lock();
    let ni = &mut state.node_info;
    if let Some(v) = parse_uint(root, &["cpu", "nodes"], "cpu nodes")? {
        ni.nodes = to_u32(v);
    }
    if let Some(v) = parse_uint(root, &["cpu", "sockets"], "cpu sockets")? {
        ni.sockets = to_u32(v);
    }
    if let Some(v) = parse_uint(root, &["cpu", "cores"], "cpu cores")? {
        ni.cores = to_u32(v);
    }
    if let Some(v) = parse_uint(root, &["cpu", "threads"], "cpu threads")? {
        ni.threads = to_u32(v);
    }
    ni.cpus = ni
        .cores
        .saturating_mul(ni.threads)
        .saturating_mul(ni.sockets)
        .saturating_mul(ni.nodes);
    if let Some(v) = parse_uint(root, &["cpu", "active"], "cpu active")? {
        ni.cpus = ni.cpus.min(to_u32(v));
    }
    if let Some(v) = parse_uint(root, &["cpu", "mhz"], "cpu mhz")? {
        ni.mhz = to_u32(v);
    }
    if let Some(m) = root.child("cpu").and_then(|c| c.child("model")) {
        let m = m.text();
        if m.len() >= 32 {
            return Err(errors::internal(format!(
                "Model {m} too big for destination"
            )));
        }
        ni.model = m;
    }
    if let Some(v) = parse_uint(root, &["memory"], "memory")? {
        ni.memory = v;
    }

    drop(state);
    for el in root.children_named("domain") {
        let el = resolve(el, file)?;
        load_domain(sh, el)?;
    }
    for el in root.children_named("network") {
        let el = resolve(el, file)?;
        let def = NetworkDef::from_element_without_namespaces(&el)
            .map_err(|e| errors::conf(e, ErrorDomain::Network))?;
        let exists = || {
            errors::test(
                driver::error::ErrorCode::OperationFailed,
                format!("network '{}' already exists", def.name),
            )
        };
        if sh.networks.entry_by_name(&def.name).is_some() || sh.networks.get(&def.uuid.0).is_some()
        {
            return Err(exists());
        }
        let exists = exists();
        let (uuid, name) = (def.uuid.0, Arc::from(def.name.as_str()));
        let net = Net {
            def,
            new_def: None,
            persistent: true,
            active: true,
            autostart: false,
        };
        sh.networks
            .add(uuid, name, net, |_, _, _| ())
            .map_err(|_| exists)?;
    }
    for el in root.children_named("interface") {
        let el = resolve(el, file)?;
        let iface = parse_iface(el)?;
        sh.lock().ifaces.insert(
            iface.name.clone(),
            Iface {
                active: true,
                ..iface
            },
        );
    }
    for el in root.children_named("pool") {
        let el = resolve(el, file)?;
        let mut def = PoolDef::from_element(&el)
            .map(crate::storage::test_pool_def)
            .map_err(|e| errors::conf(e, ErrorDomain::Storage))?;
        let exists = || {
            errors::test(
                driver::error::ErrorCode::OperationFailed,
                format!("pool '{}' already exists", def.name),
            )
        };
        if sh.pools.entry_by_name(&def.name).is_some() || sh.pools.get(&def.uuid.0).is_some() {
            return Err(exists());
        }
        let exists = exists();
        def.capacity = DEFAULT_POOL_CAPACITY;
        def.allocation = 0;
        def.available = DEFAULT_POOL_CAPACITY;
        let mut pool = Pool {
            def,
            persistent: true,
            active: true,
            autostart: false,
            vols: Vec::new(),
        };
        for v in el.children_named("volume") {
            let v = resolve(v, file)?;
            let mut vol = VolDef::from_element(&v)
                .and_then(|v| v.in_pool(&pool.def))
                .map_err(|e| errors::conf(e, ErrorDomain::Storage))?;
            if vol.target_path.is_none() {
                vol.target_path = Some(format!(
                    "{}/{}",
                    pool.def.target_path.as_deref().unwrap_or(""),
                    vol.name
                ));
            }
            if vol.key.is_none() {
                vol.key = vol.target_path.clone();
            }
            if pool.vol(&vol.name).is_some() {
                return Err(errors::test(
                    driver::error::ErrorCode::OperationFailed,
                    "storage vol already exists",
                ));
            }
            pool.def.allocation = pool.def.allocation.saturating_add(vol.allocation);
            pool.def.available = pool.def.capacity.saturating_sub(pool.def.allocation);
            pool.vols.push(vol);
        }
        let (uuid, name) = (pool.def.uuid.0, Arc::from(pool.def.name.as_str()));
        sh.pools
            .add(uuid, name, pool, |_, _, _| ())
            .map_err(|_| exists)?;
    }
    for el in root.children_named("device") {
        let el = resolve(el, file)?;
        let dev = parse_nodedev(el)?;
        let mut state = sh.lock();
        if let Some(old) = state.devs.iter_mut().find(|d| d.name == dev.name) {
            *old = dev;
        } else {
            state.devs.push(dev);
        }
    }
    Ok(())
}

/// The test driver's namespace data on a domain.
pub struct TestNs {
    pub runstate: i32,
    pub transient: bool,
    pub has_managed_save: bool,
}

/// Removes `<test:...>` children and the namespace declaration from a
/// domain element and returns what they said.
pub fn take_test_ns(el: &mut Element) -> Result<TestNs> {
    let mut ns = TestNs {
        runstate: st::RUNNING,
        transient: false,
        has_managed_save: false,
    };
    let prefixes: Vec<String> = el
        .attrs
        .iter()
        .filter(|(k, v)| k.starts_with("xmlns:") && v == TEST_NS)
        .map(|(k, _)| k["xmlns:".len()..].to_string())
        .collect();
    if prefixes.is_empty() {
        return Ok(ns);
    }
    let is_test = |name: &str| {
        name.split_once(':')
            .is_some_and(|(p, _)| prefixes.iter().any(|x| x == p))
    };
    let mut runstate_text = None;
    for c in el.elements() {
        if !is_test(&c.name) {
            continue;
        }
        match c.local_name() {
            "transient" => ns.transient = true,
            "hasmanagedsave" => ns.has_managed_save = true,
            "runstate" if runstate_text.is_none() => runstate_text = Some(c.text()),
            _ => {}
        }
    }
    el.children
        .retain(|n| !matches!(n, Node::Element(c) if is_test(&c.name)));
    el.attrs
        .retain(|(k, v)| !(k.starts_with("xmlns:") && v == TEST_NS));
    if let Some(t) = runstate_text {
        let t = t.trim();
        if !t.is_empty() {
            let v: u32 = t.parse().map_err(|_| errors::xml("invalid runstate"))?;
            if v >= 8 {
                return Err(errors::xml(format!("runstate '{v}' out of range'")));
            }
            ns.runstate = v as i32;
        }
    }
    if ns.transient && ns.runstate == st::SHUTOFF {
        return Err(errors::xml(
            "transient domain cannot have runstate 'shutoff'",
        ));
    }
    if ns.has_managed_save && ns.runstate != st::SHUTOFF {
        return Err(errors::xml(
            "domain with managedsave data can only have runstate 'shutoff'",
        ));
    }
    Ok(ns)
}

/// How this driver reads definitions: the fake hypervisor's default
/// architecture is i686; a video device without a model is xen for Xen
/// and Linux guests, vga on ppc64 and cirrus otherwise, as libvirt's test
/// driver chooses.
fn xml_options() -> conf::domain::XmlOptions {
    conf::domain::XmlOptions {
        default_arch: Some("i686"),
        post_parse: Some(std::sync::Arc::new(|def: &mut DomainDef| {
            let ty = if matches!(def.os.os_type.as_str(), "xen" | "linux") {
                "xen"
            } else if def
                .os
                .arch
                .as_deref()
                .is_some_and(|a| a.starts_with("ppc64"))
            {
                "vga"
            } else {
                "cirrus"
            };
            def.default_video_type(ty);
            def.reset_sourceless_disks();
            Ok(())
        })),
        ..Default::default()
    }
}

/// Parses a domain element through conf's stages.
pub fn parse_domain_element(el: &Element, validate_schema: bool) -> Result<DomainDef> {
    let flags = ParseFlags {
        inactive: true,
        validate_schema,
    };
    let mut def = xml_options().parse_element(el, &flags)?;
    generate_ifnames(&mut def);
    Ok(def)
}

/// Parses a domain document given by a client.
pub fn parse_domain_xml(xml: &str, validate_schema: bool) -> Result<DomainDef> {
    let mut el = conf::xml::parse_document(xml, "(domain_definition)", "domain")
        .map_err(|e| errors::conf(e, ErrorDomain::Domain))?;
    // Namespace data only means something in node files.
    take_test_ns(&mut el)?;
    // Other drivers' namespace extensions (<qemu:commandline>,
    // <lxc:namespace>, ...) mean nothing to this driver: libvirt's test
    // driver does not keep them.
    el.children
        .retain(|n| !matches!(n, conf::xml::Node::Element(c) if c.name.contains(':')));
    parse_domain_element(&el, validate_schema)
}

/// Interfaces without a host-side name get `testnetN`, the first N that
/// no interface of the domain uses.
fn generate_ifnames(def: &mut DomainDef) {
    let mut used: Vec<String> = def
        .devices
        .iter()
        .filter(|d| d.name == "interface")
        .filter_map(|d| {
            d.child("target")
                .and_then(|t| t.attr("dev"))
                .map(str::to_string)
        })
        .collect();
    for dev in def.devices.iter_mut().filter(|d| d.name == "interface") {
        if dev.child("target").and_then(|t| t.attr("dev")).is_some() {
            continue;
        }
        let Some(name) = (0..1024)
            .map(|i| format!("testnet{i}"))
            .find(|n| !used.contains(n))
        else {
            return;
        };
        used.push(name.clone());
        let t = Element::new("target").with_attr("dev", &name);
        if let Some(old) = dev.child_mut("target") {
            old.set_attr("dev", &name);
        } else {
            dev.insert_after_names(
                t,
                &[
                    "mac",
                    "source",
                    "vlan",
                    "virtualport",
                    "bandwidth",
                    "port",
                    "actual",
                    "ip",
                    "route",
                    "portForward",
                    "script",
                    "downscript",
                    "backenddomain",
                ],
            );
        }
    }
}

/// The taint bits and deprecations libvirt's test driver records for a
/// domain loaded from a node file.
fn taint(dom: &mut Dom) {
    let def = &dom.def;
    let mut t = 0u32;
    for d in def.devices.iter().filter(|d| d.name == "disk") {
        if d.attr("rawio") == Some("yes") {
            t |= 1 << 2;
        }
        if d.attr("device") == Some("cdrom")
            && d.attr("type") == Some("block")
            && d.child("source").and_then(|s| s.attr("dev")).is_some()
        {
            t |= 1 << 8;
        }
    }
    for h in def.devices.iter().filter(|d| d.name == "hostdev") {
        if h.attr("type") == Some("scsi") && h.attr("rawio") == Some("yes") {
            t |= 1 << 2;
        }
    }
    for n in def.devices.iter().filter(|d| d.name == "interface") {
        if n.child("script").is_some() {
            t |= 1 << 3;
        }
    }
    if let Some(cpu) = def.other_element("cpu") {
        let custom = matches!(cpu.attr("mode"), None | Some("custom"));
        if custom && cpu.child_text("model").as_deref() == Some("Deprecated-Test") {
            t |= 1 << 12;
            dom.deprecations.push("CPU model Deprecated-Test".into());
        }
    }
    if def.os.boot.dtb.is_some() {
        t |= 1 << 9;
    }
    dom.taint |= t;
}

fn load_domain(sh: &Shared, mut el: Element) -> Result<()> {
    let ns = take_test_ns(&mut el)?;
    if el.children_named("domainsnapshot").next().is_some() {
        // Snapshots in node files are not modelled; they are dropped.
    }
    let def = parse_domain_element(&el, false)?;
    let failed = |c: Conflict| c.to_error("domain", ErrorDomain::Test);
    // The name is checked first, as libvirt's test driver does.
    if let Some(e) = sh.domains.entry_by_name(&def.name) {
        return Err(failed(Conflict::NameTaken {
            name: def.name,
            uuid: e.uuid,
        }));
    }
    let (uuid, name) = (def.uuid.0, Arc::from(def.name.as_str()));
    let mut dom = Dom::new(def);
    dom.persistent = !ns.transient;
    dom.has_managed_save = ns.has_managed_save;
    if ns.runstate != st::SHUTOFF {
        if dom.persistent {
            dom.new_def = Some(Box::new(dom.def.clone()));
        }
        dom.def.id = Some(sh.alloc_dom_id());
        dom.has_managed_save = false;
    }
    dom.state = ns.runstate;
    dom.reason = 0;
    if ns.runstate == st::RUNNING {
        // libvirt resets the reason to 0 after booting node-file domains.
        dom.reason = reason::RUNNING_UNKNOWN;
    }
    taint(&mut dom);
    dom.iothreads = crate::pinning::initial_polls(&dom.def);
    let added = sh.domains.add(uuid, name, dom, |obj, d, unused| {
        if unused.is_some() {
            return Err(Conflict::UuidTaken {
                name: d.def.name.clone(),
                uuid,
            });
        }
        sh.domains.set_id(obj, d.def.id);
        Ok(())
    });
    added.and_then(|r| r).map_err(failed)
}

/// Host interface XML: name and MAC, the rest kept as given.
pub fn parse_iface(el: Element) -> Result<Iface> {
    // The type first, checked by libvirt's XML layer, then the name.
    let xml_layer = |msg: String| errors::conf(conf::ConfError::xml_layer(msg), ErrorDomain::Xml);
    let Some(ty) = el.attr("type") else {
        return Err(xml_layer(
            "Missing required attribute 'type' in element 'interface'".into(),
        ));
    };
    if !matches!(ty, "ethernet" | "bridge" | "bond" | "vlan") {
        return Err(xml_layer(format!(
            "Invalid value for attribute 'type' in element 'interface': '{ty}'."
        )));
    }
    let name = el.attr("name").map(str::to_string).ok_or_else(|| {
        driver::Error::new(
            driver::error::ErrorCode::XmlError,
            ErrorDomain::Interface,
            "interface has no name",
        )
    })?;
    let mac = el
        .child("mac")
        .and_then(|m| m.attr("address"))
        .unwrap_or("")
        .to_string();
    let mut el = el;
    // libvirt writes the common settings first (start mode, MTU, protocols),
    // then the type-specific ones (MAC, bridge, bond, VLAN).
    el.children.sort_by_key(|n| match n {
        Node::Element(e) => match e.name.as_str() {
            "start" => 0,
            "mtu" => 1,
            "protocol" => 2,
            "mac" => 3,
            "link" => 4,
            _ => 5,
        },
        Node::Text(_) => 6,
    });
    Ok(Iface {
        name,
        mac,
        xml: el,
        active: false,
    })
}

/// Node device XML: name, parent and capability types, the rest kept.
pub fn parse_nodedev(el: Element) -> Result<NodeDev> {
    let name = el
        .child_text("name")
        .map(|s| s.trim().to_string())
        .filter(|n| !n.is_empty())
        .ok_or_else(|| {
            driver::Error::new(
                driver::error::ErrorCode::InternalError,
                ErrorDomain::Nodedev,
                "no device name",
            )
        })?;
    let parent = el
        .child_text("parent")
        .map(|s| s.trim().to_string())
        .filter(|p| !p.is_empty());
    let caps: Vec<String> = el
        .children_named("capability")
        .filter_map(|c| c.attr("type").map(str::to_string))
        .collect();
    if caps.is_empty() {
        return Err(driver::Error::new(
            driver::error::ErrorCode::InternalError,
            ErrorDomain::Nodedev,
            format!("no device capabilities for '{name}'"),
        ));
    }
    Ok(NodeDev {
        name,
        parent,
        caps,
        xml: el,
    })
}

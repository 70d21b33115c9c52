// SPDX-License-Identifier: LGPL-2.1-or-later
//! Runtime smoke test for a real Xen dom0 (run as root in dom0, e.g. in the
//! xenbed test bed): starts the driver, converts an xl.cfg to domain XML,
//! creates the guest through libxl, checks its state, pauses/resumes it,
//! changes its balloon target, restarts the driver to check reattachment,
//! destroys it, then defines/starts/destroys/undefines a persistent guest.
//!
//! Usage: xenbed_smoke XL_CFG  (the guest's kernel/ramdisk must exist)

use driver::consts::state;
use driver::{ConnectAuth, Connection, DriverFactory, Uri};
use driver_xen::{XenFactory, XenOptions};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn step(what: &str) {
    println!("SMOKE: {what}");
}

fn fail(what: &str, e: impl std::fmt::Display) -> ! {
    println!("SMOKE-FAIL: {what}: {e}");
    std::process::exit(1)
}

fn open() -> (XenFactory, Arc<dyn Connection>) {
    let f = XenFactory::new(XenOptions::default());
    if let Err(e) = f.startup() {
        fail("startup", e);
    }
    if let Some(why) = f.inactive_reason() {
        fail("driver inactive", why);
    }
    let uri = Uri::parse("xen:///system").unwrap_or_else(|e| fail("uri", e));
    let c = f
        .open(&uri, &ConnectAuth::default())
        .unwrap_or_else(|e| fail("open", e));
    (f, c)
}

fn wait_state(c: &Arc<dyn Connection>, d: &driver::DomainRef, want: i32) {
    let t = Instant::now();
    loop {
        match c.domain_get_state(d, 0) {
            Ok((s, _)) if s == want => return,
            Ok((s, _)) if t.elapsed() > Duration::from_secs(60) => {
                fail("state", format!("state {s}, wanted {want}"))
            }
            Err(e) => fail("get_state", e),
            _ => std::thread::sleep(Duration::from_millis(500)),
        }
    }
}

fn main() {
    let cfg_path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "/etc/xen/testbed-pv.cfg".into());
    let cfg = std::fs::read_to_string(&cfg_path).unwrap_or_else(|e| fail("read cfg", e));
    let cfg = cfg.replace("name    = \"tb-", "name    = \"lv-");

    let (f, c) = open();
    step(&format!("type={} version={:?}", c.get_type(), c.version()));
    match c.node_info() {
        Ok(n) => step(&format!(
            "node: {} KiB, {} cpus, {} MHz, {} nodes",
            n.memory, n.cpus, n.mhz, n.nodes
        )),
        Err(e) => fail("node_info", e),
    }
    let caps = c.capabilities().unwrap_or_else(|e| fail("capabilities", e));
    step(&format!("capabilities: {} bytes", caps.len()));

    let xml = c
        .domain_xml_from_native("xen-xl", &cfg, 0)
        .unwrap_or_else(|e| fail("xml_from_native", e));
    step("converted xl.cfg to XML");
    println!("{xml}");

    let t = Instant::now();
    let d = c
        .domain_create_xml(&xml, 0)
        .unwrap_or_else(|e| fail("create_xml", e));
    step(&format!(
        "created {} id {} in {:?}",
        d.name,
        d.id,
        t.elapsed()
    ));
    wait_state(&c, &d, state::RUNNING);
    let ids = c
        .list_domain_ids(16)
        .unwrap_or_else(|e| fail("list ids", e));
    step(&format!("running ids {ids:?}"));
    if !ids.contains(&d.id) {
        fail("list", "new guest not listed");
    }
    c.domain_suspend(&d).unwrap_or_else(|e| fail("suspend", e));
    wait_state(&c, &d, state::PAUSED);
    c.domain_resume(&d).unwrap_or_else(|e| fail("resume", e));
    wait_state(&c, &d, state::RUNNING);
    step("paused and resumed");
    match c.domain_set_memory(&d, 120 * 1024, 1) {
        Ok(()) => step("balloon target set to 120 MiB"),
        Err(e) => step(&format!(
            "set_memory failed (guest may lack a balloon driver): {e}"
        )),
    }
    let live_xml = c
        .domain_get_xml_desc(&d, 0)
        .unwrap_or_else(|e| fail("dumpxml", e));
    if !live_xml.contains(&format!("id='{}'", d.id)) {
        fail("dumpxml", "live XML lacks the domain id");
    }

    // Daemon restart: a fresh driver instance finds the running guest.
    drop(c);
    drop(f);
    let (f2, c2) = open();
    let d2 = c2
        .domain_lookup_by_name(&d.name)
        .unwrap_or_else(|e| fail("reattach lookup", e));
    if d2.id != d.id {
        fail(
            "reattach",
            format!("id {} after restart, was {}", d2.id, d.id),
        );
    }
    step(&format!(
        "reattached to {} id {} after restart",
        d2.name, d2.id
    ));

    let t = Instant::now();
    c2.domain_destroy(&d2, 0)
        .unwrap_or_else(|e| fail("destroy", e));
    step(&format!("destroyed in {:?}", t.elapsed()));
    if c2.domain_lookup_by_name(&d.name).is_ok() {
        fail("destroy", "transient guest still listed");
    }

    // Persistent guest: define, start, destroy, undefine.
    let pxml = xml.replace("<name>lv-", "<name>lvp-");
    let pxml = match pxml.find("<uuid>") {
        Some(i) => {
            let end = pxml[i..].find("</uuid>").map(|j| i + j + 7).unwrap_or(i);
            format!("{}{}", &pxml[..i], &pxml[end..])
        }
        None => pxml,
    };
    let pd = c2
        .domain_define_xml(&pxml, 0)
        .unwrap_or_else(|e| fail("define", e));
    let pd = c2
        .domain_create(&pd, 0)
        .unwrap_or_else(|e| fail("start", e));
    wait_state(&c2, &pd, state::RUNNING);
    step(&format!(
        "persistent guest {} running as id {}",
        pd.name, pd.id
    ));
    c2.domain_set_autostart(&pd, true)
        .unwrap_or_else(|e| fail("autostart", e));
    c2.domain_destroy(&pd, 0)
        .unwrap_or_else(|e| fail("destroy persistent", e));
    let (s, _) = c2
        .domain_get_state(&pd, 0)
        .unwrap_or_else(|e| fail("state", e));
    if s != state::SHUTOFF {
        fail("destroy persistent", format!("state {s}"));
    }
    c2.domain_set_autostart(&pd, false)
        .unwrap_or_else(|e| fail("autostart off", e));
    c2.domain_undefine(&pd, 0)
        .unwrap_or_else(|e| fail("undefine", e));
    drop(f2);
    println!("SMOKE-OK");
}

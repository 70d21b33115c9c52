// SPDX-License-Identifier: LGPL-2.1-or-later
//! Leaks: connect / define / start / destroy / undefine / close cycles
//! against the test driver leave the daemon's open descriptors exactly
//! where they started and its resident memory near its base. CI runs 500
//! cycles; `scripts/soak.sh` runs 10,000 (`RELIAB_CYCLES`) and records the
//! figures in RELIABILITY.md.
// The client's error type is the wire error, large by nature.
#![allow(clippy::result_large_err)]

use std::time::Duration;

use protocol::remote as r;
use protocol::RemoteProc;
use reliability_tests::harness::*;

fn cycle(sock: &std::path::Path, i: usize) {
    let mut c = open(sock, "test:///default").unwrap_or_else(|e| panic!("open {i}: {e}"));
    let xml = format!(
        "<domain type='test'><name>leak{i}</name><memory>1024</memory><os><type>hvm</type></os></domain>"
    );
    let ret: r::DomainDefineXmlRet = c
        .call(
            RemoteProc::DomainDefineXml as i32,
            &r::DomainDefineXmlArgs { xml },
        )
        .unwrap_or_else(|e| panic!("define {i}: {e}"));
    let dom = ret.dom;
    c.call::<_, ()>(
        RemoteProc::DomainCreate as i32,
        &r::DomainCreateArgs { dom: dom.clone() },
    )
    .unwrap_or_else(|e| panic!("start {i}: {e}"));
    c.call::<_, ()>(
        RemoteProc::DomainDestroy as i32,
        &r::DomainDestroyArgs { dom: dom.clone() },
    )
    .unwrap_or_else(|e| panic!("destroy {i}: {e}"));
    c.call::<_, ()>(
        RemoteProc::DomainUndefine as i32,
        &r::DomainUndefineArgs { dom },
    )
    .unwrap_or_else(|e| panic!("undefine {i}: {e}"));
    c.call::<_, ()>(RemoteProc::ConnectClose as i32, &())
        .unwrap_or_else(|e| panic!("close {i}: {e}"));
}

#[test]
fn define_start_destroy_undefine_cycles_leave_fds_and_memory_at_base() {
    let cycles: usize = std::env::var("RELIAB_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500);
    let t = TempDir::new("leaks");
    let spec = Spec::new("libvirtd", &t, "");
    let d = spec.start();
    // Held for the whole run so the test driver's shared state lives on
    // (it is dropped with the last connection) and what the cycles leave
    // in it shows.
    let mut keeper = open(&spec.ready, "test:///default").unwrap_or_else(|e| panic!("open: {e}"));
    // Warm-up: allocator arenas, worker threads and lazily built state.
    let warm = 50;
    for i in 0..warm {
        cycle(&spec.ready, i);
    }
    std::thread::sleep(Duration::from_millis(500));
    let base_fds = d.fd_count();
    let base_rss = d.rss_kib();
    let base_threads = d.threads();
    for i in warm..warm + cycles {
        cycle(&spec.ready, i);
        if i % 1000 == 0 {
            eprintln!(
                "cycle {i}: rss {} KiB, fds {}, threads {}",
                d.rss_kib(),
                d.fd_count(),
                d.threads()
            );
        }
    }
    assert!(
        eventually_within(WAIT, || d.fd_count() == base_fds),
        "fds {} after {cycles} cycles, {base_fds} before",
        d.fd_count()
    );
    // Growth per cycle must stay far below what one cycle allocates (a
    // connection, a definition, its XML): 16 MiB over the run.
    let ok = eventually_within(WAIT, || d.rss_kib() <= base_rss + 16 * 1024);
    let rss = d.rss_kib();
    eprintln!(
        "{cycles} cycles: rss {base_rss} -> {rss} KiB, fds {base_fds} -> {}, threads {base_threads} -> {}",
        d.fd_count(),
        d.threads()
    );
    assert!(
        ok,
        "rss {rss} KiB after {cycles} cycles, {base_rss} KiB before"
    );
    // The daemon is still the same healthy process.
    let list: r::ConnectListAllDomainsRet = keeper
        .call(
            RemoteProc::ConnectListAllDomains as i32,
            &r::ConnectListAllDomainsArgs {
                need_results: 1,
                flags: 0,
            },
        )
        .unwrap_or_else(|e| panic!("list: {e}"));
    assert_eq!(list.domains.len(), 1, "a cycle's domain was left behind");
}

// SPDX-License-Identifier: LGPL-2.1-or-later
//! Limits under load: `max_clients` holds with hundreds of connections
//! from one process, a 32 MiB message (and one past the limit) does not
//! starve other clients, and memory and descriptors return to their base
//! once the load is gone.
// The client's error type is the wire error, large by nature.
#![allow(clippy::result_large_err)]

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use protocol::header::{Header, MessageType, Status, MESSAGE_MAX};
use protocol::remote as r;
use protocol::RemoteProc;
use reliability_tests::harness::*;
use rpc::client::RpcClient;

fn list(c: &mut RpcClient) -> usize {
    let ret: r::ConnectListAllDomainsRet = c
        .call(
            RemoteProc::ConnectListAllDomains as i32,
            &r::ConnectListAllDomainsArgs {
                need_results: 1,
                flags: 0,
            },
        )
        .unwrap_or_else(|e| panic!("list: {e}"));
    ret.domains.len()
}

/// Memory may move a little (allocator caches, thread stacks); a leak of
/// the load's size would not fit in this.
const RSS_SLACK_KIB: u64 = 16 * 1024;

#[test]
fn max_clients_holds_with_hundreds_of_connections_and_memory_returns() {
    let t = TempDir::new("maxclients");
    let spec = Spec::new("libvirtd", &t, "max_clients = 100\nmax_client_requests = 2");
    let d = spec.start();
    // Warm up the paths the load uses, then take the base.
    for _ in 0..3 {
        let mut c = open(&spec.ready, "test:///default").unwrap_or_else(|e| panic!("open: {e}"));
        assert_eq!(list(&mut c), 1);
    }
    assert!(eventually_within(Duration::from_secs(10), || d.fd_count() > 0));
    std::thread::sleep(Duration::from_millis(300));
    let base_rss = d.rss_kib();
    let base_fds = d.fd_count();

    // 100 clients fill every slot, each with an open connection.
    let mut served: Vec<RpcClient> = (0..100)
        .map(|i| open(&spec.ready, "test:///default").unwrap_or_else(|e| panic!("open {i}: {e}")))
        .collect();
    // 200 more connect (the kernel queues them) but are not served.
    let waiting: Vec<UnixStream> = (0..200)
        .map(|i| UnixStream::connect(&spec.ready).unwrap_or_else(|e| panic!("connect {i}: {e}")))
        .collect();
    let (tx, rx) = std::sync::mpsc::channel();
    let sock = spec.ready.clone();
    std::thread::spawn(move || {
        let got = open(&sock, "test:///default").map(|mut c| list(&mut c));
        let _ = tx.send(got.is_ok());
    });
    assert!(
        rx.recv_timeout(Duration::from_secs(2)).is_err(),
        "a client past max_clients was served"
    );
    // Served clients keep answering while the others wait.
    for c in served.iter_mut().step_by(10) {
        assert_eq!(list(c), 1);
    }
    // Freeing the slots lets the queued ones through (the 200 idle
    // connections are closed with them).
    drop(waiting);
    served.truncate(0);
    assert_eq!(rx.recv_timeout(WAIT).ok(), Some(true));

    // Everything is released: descriptors exactly, memory near its base.
    assert!(
        eventually_within(WAIT, || d.fd_count() == base_fds),
        "fds {} vs base {base_fds}",
        d.fd_count()
    );
    assert!(
        eventually_within(WAIT, || d.rss_kib() <= base_rss + RSS_SLACK_KIB),
        "rss {} KiB vs base {base_rss} KiB",
        d.rss_kib()
    );
}

fn call_header(proc_: i32, serial: u32) -> Vec<u8> {
    let h = Header::new(
        r::PROGRAM,
        r::PROTOCOL_VERSION,
        proc_,
        MessageType::Call,
        serial,
        Status::Ok,
    );
    let mut out = Vec::new();
    xdr::Xdr::encode(&h, &mut out);
    out
}

#[test]
fn huge_messages_do_not_starve_other_clients_and_memory_returns() {
    let t = TempDir::new("bigframe");
    let spec = Spec::new("libvirtd", &t, "");
    let d = spec.start();
    let mut other = open(&spec.ready, "test:///default").unwrap_or_else(|e| panic!("open: {e}"));
    assert_eq!(list(&mut other), 1);
    std::thread::sleep(Duration::from_millis(300));
    let base_rss = d.rss_kib();

    // A message of exactly 32 MiB, sent in pieces; between pieces the
    // other client is served.
    let mut big = open(&spec.ready, "test:///default").unwrap_or_else(|e| panic!("open: {e}"));
    let len = u32::try_from(MESSAGE_MAX).unwrap_or(u32::MAX);
    let mut msg = len.to_be_bytes().to_vec();
    msg.extend(call_header(RemoteProc::DomainDefineXml as i32, 7));
    // A string length far past the XML limit, then filler.
    msg.extend(0x01f0_0000u32.to_be_bytes());
    msg.resize(MESSAGE_MAX, b'x');
    for chunk in msg.chunks(4 << 20) {
        big.send_raw(chunk).unwrap_or_else(|e| panic!("send: {e}"));
        assert_eq!(list(&mut other), 1);
    }
    let (h, _) = big.read_frame().unwrap_or_else(|e| panic!("reply: {e}"));
    assert_eq!(h.serial, 7);
    assert_eq!(
        h.status,
        Status::Error as i32,
        "an oversized string was accepted"
    );
    // The connection survives a refused message.
    assert_eq!(list(&mut big), 1);

    // One byte past the limit: that connection is closed before any body
    // is read; the others go on.
    let mut past = UnixStream::connect(&spec.ready).unwrap_or_else(|e| panic!("connect: {e}"));
    let mut head = (len + 1).to_be_bytes().to_vec();
    head.extend(call_header(RemoteProc::ConnectListAllDomains as i32, 1));
    past.write_all(&head)
        .unwrap_or_else(|e| panic!("write: {e}"));
    let mut buf = [0u8; 4];
    past.set_read_timeout(Some(WAIT))
        .unwrap_or_else(|e| panic!("timeout: {e}"));
    let n = std::io::Read::read(&mut past, &mut buf).unwrap_or(0);
    assert_eq!(n, 0, "the server answered an oversized length");
    assert_eq!(list(&mut other), 1);

    // Several clients each announcing a 32 MiB message and sending only
    // part of it do not hold the others up either.
    let mut partial = Vec::new();
    for _ in 0..8 {
        let mut s = UnixStream::connect(&spec.ready).unwrap_or_else(|e| panic!("connect: {e}"));
        s.write_all(&msg[..1 << 20])
            .unwrap_or_else(|e| panic!("write: {e}"));
        partial.push(s);
    }
    assert_eq!(list(&mut other), 1);
    drop(partial);
    drop(big);
    drop(msg);
    assert!(
        eventually_within(WAIT, || d.rss_kib() <= base_rss + RSS_SLACK_KIB),
        "rss {} KiB vs base {base_rss} KiB",
        d.rss_kib()
    );
}

#[test]
fn one_client_holding_hundreds_of_connections_does_not_starve_others() {
    let t = TempDir::new("manyconns");
    let spec = Spec::new("libvirtd", &t, "");
    let d = spec.start();
    let mut other = open(&spec.ready, "test:///default").unwrap_or_else(|e| panic!("open: {e}"));
    std::thread::sleep(Duration::from_millis(300));
    let base_fds = d.fd_count();
    // 400 connections from one process: idle, opened, or stuck in the
    // middle of a frame header.
    let mut held = Vec::new();
    for i in 0..400 {
        let mut s = UnixStream::connect(&spec.ready).unwrap_or_else(|e| panic!("connect {i}: {e}"));
        if i % 4 == 1 {
            s.write_all(&[0, 0, 0, 64, 0x20])
                .unwrap_or_else(|e| panic!("write: {e}"));
        }
        held.push(s);
        if i % 50 == 0 {
            assert_eq!(list(&mut other), 1);
        }
    }
    let mut opened: Vec<RpcClient> = (0..100)
        .map(|i| open(&spec.ready, "test:///default").unwrap_or_else(|e| panic!("open {i}: {e}")))
        .collect();
    // Everyone is served: a newcomer, the old client, the opened ones.
    let mut late = open(&spec.ready, "test:///default").unwrap_or_else(|e| panic!("open: {e}"));
    assert_eq!(list(&mut late), 1);
    assert_eq!(list(&mut other), 1);
    for c in opened.iter_mut().step_by(7) {
        assert_eq!(list(c), 1);
    }
    assert!(
        d.fd_count() >= base_fds + 500,
        "connections were not all accepted"
    );
    drop(held);
    drop(opened);
    drop(late);
    assert!(
        eventually_within(WAIT, || d.fd_count() == base_fds),
        "fds {} vs base {base_fds}",
        d.fd_count()
    );
}

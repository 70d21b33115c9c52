// SPDX-License-Identifier: LGPL-2.1-or-later
//! The QMP client against a scripted peer on a socket pair: replies are
//! matched by id whatever their order, events reach the handler, a hung
//! command times out without holding up the others, EOF reaches every
//! waiting caller.

use qemu::qmp::{Qmp, QmpError};
use serde_json::{json, Value};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use tokio::sync::mpsc;

const GREETING: &str = "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, \"major\": 7}, \"package\": \"\"}, \"capabilities\": [\"oob\"]}}\r\n";

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// A peer that reads commands and hands them to `script` one at a time.
async fn peer(
    sock: UnixStream,
    tx: mpsc::UnboundedSender<Value>,
) -> tokio::net::unix::OwnedWriteHalf {
    let (rd, mut wr) = sock.into_split();
    wr.write_all(GREETING.as_bytes()).await.unwrap_or(());
    tokio::spawn(async move {
        let mut rd = BufReader::new(rd);
        let mut line = String::new();
        while rd.read_line(&mut line).await.unwrap_or(0) > 0 {
            if let Ok(v) = serde_json::from_str::<Value>(line.trim()) {
                let _ = tx.send(v);
            }
            line.clear();
        }
    });
    wr
}

#[test]
fn replies_are_matched_by_id_in_any_order_and_events_are_delivered() {
    rt().block_on(async {
        let (a, b) = UnixStream::pair().unwrap_or_else(|e| panic!("{e}"));
        let (ctx, mut commands) = mpsc::unbounded_channel();
        let mut wr = peer(b, ctx).await;
        let (etx, mut events) = mpsc::unbounded_channel();
        let mon = Qmp::connect(a, Some(etx))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(mon.greeting()["QMP"]["version"]["qemu"]["major"], 7);
        let m1 = mon.clone();
        let m2 = mon.clone();
        let first = tokio::spawn(async move { m1.execute("query-status", None).await });
        let second =
            tokio::spawn(async move { m2.execute("query-name", Some(json!({"x": 1}))).await });
        let c1 = commands.recv().await.unwrap_or_default();
        let c2 = commands.recv().await.unwrap_or_default();
        let ids: Vec<String> = [&c1, &c2]
            .iter()
            .map(|c| c["id"].as_str().unwrap_or("").to_string())
            .collect();
        assert!(ids.contains(&"libvirt-1".to_string()) && ids.contains(&"libvirt-2".to_string()));
        // Answer in reverse order, with an event in between.
        for c in [&c2, &c1] {
            let reply = json!({"return": {"cmd": c["execute"]}, "id": c["id"]});
            wr.write_all(format!("{reply}\r\n").as_bytes())
                .await
                .unwrap_or(());
            wr.write_all(
                b"{\"timestamp\": {\"seconds\": 5, \"microseconds\": 6}, \"event\": \"STOP\"}\r\n",
            )
            .await
            .unwrap_or(());
        }
        let r1 = first
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|e| panic!("{e}"));
        let r2 = second
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r1.ret["cmd"], "query-status");
        assert_eq!(r2.ret["cmd"], "query-name");
        let ev = events.recv().await.unwrap_or_else(|| panic!("no event"));
        assert_eq!(ev.name, "STOP");
        assert_eq!(ev.timestamp, (5, 6));
    });
}

#[test]
fn a_hung_command_times_out_without_blocking_others_and_eof_reaches_waiters() {
    rt().block_on(async {
        let (a, b) = UnixStream::pair().unwrap_or_else(|e| panic!("{e}"));
        let (ctx, mut commands) = mpsc::unbounded_channel();
        let mut wr = peer(b, ctx).await;
        let mon = Qmp::connect(a, None).await.unwrap_or_else(|e| panic!("{e}"));
        mon.set_timeout(Duration::from_millis(300));
        let hung = mon.clone();
        let hung = tokio::spawn(async move { hung.execute("query-hang", None).await });
        let _ = commands.recv().await;
        // Another caller still gets its answer while the first waits.
        let m = mon.clone();
        let quick = tokio::spawn(async move { m.execute("query-quick", None).await });
        let c = commands.recv().await.unwrap_or_default();
        let reply = json!({"return": {}, "id": c["id"]});
        wr.write_all(format!("{reply}\r\n").as_bytes()).await.unwrap_or(());
        assert!(quick.await.map(|r| r.is_ok()).unwrap_or(false));
        let r = hung.await.unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(r, Err(QmpError::Timeout(ref c)) if c == "query-hang"), "{r:?}");
        // Errors are reported with QEMU's class and description.
        mon.set_timeout(Duration::from_secs(30));
        let m = mon.clone();
        let failing = tokio::spawn(async move { m.execute("bogus", None).await });
        let c = commands.recv().await.unwrap_or_default();
        let reply = json!({"error": {"class": "CommandNotFound", "desc": "The command bogus has not been found"}, "id": c["id"]});
        wr.write_all(format!("{reply}\r\n").as_bytes()).await.unwrap_or(());
        match failing.await.unwrap_or_else(|e| panic!("{e}")) {
            Err(QmpError::Command { class, desc }) => {
                assert_eq!(class, "CommandNotFound");
                assert_eq!(desc, "The command bogus has not been found");
            }
            other => panic!("{other:?}"),
        }
        // QEMU goes away while a call waits: the caller learns at once.
        let m = mon.clone();
        let waiting = tokio::spawn(async move { m.execute("query-status", None).await });
        let _ = commands.recv().await;
        drop(wr);
        let r = waiting.await.unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(r, Err(QmpError::Eof)), "{r:?}");
        assert!(mon.is_closed());
        assert!(matches!(mon.execute("query-status", None).await, Err(QmpError::Eof)));
    });
}

#[test]
fn garbage_from_qemu_ends_the_monitor_with_an_error_not_a_panic() {
    rt().block_on(async {
        let (a, b) = UnixStream::pair().unwrap_or_else(|e| panic!("{e}"));
        let (ctx, mut commands) = mpsc::unbounded_channel();
        let mut wr = peer(b, ctx).await;
        let mon = Qmp::connect(a, None)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let m = mon.clone();
        let waiting = tokio::spawn(async move { m.execute("query-status", None).await });
        let _ = commands.recv().await;
        wr.write_all(b"this is not json\r\n").await.unwrap_or(());
        let r = waiting.await.unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(r, Err(QmpError::Protocol(_))), "{r:?}");
        assert!(mon.is_closed());
    });
}

#[test]
fn a_peer_that_is_not_qemu_fails_the_greeting() {
    rt().block_on(async {
        let (a, b) = UnixStream::pair().unwrap_or_else(|e| panic!("{e}"));
        let (_rd, mut wr) = b.into_split();
        wr.write_all(b"SSH-2.0-OpenSSH\r\n").await.unwrap_or(());
        drop(wr);
        let r = Qmp::connect(a, None).await;
        assert!(matches!(r, Err(QmpError::Protocol(_))), "{r:?}");
    });
}

#[test]
fn getfd_passes_the_descriptor_with_the_command() {
    use std::io::{Read, Seek, Write};
    use std::os::fd::AsFd;
    rt().block_on(async {
        let (a, b) = UnixStream::pair().unwrap_or_else(|e| panic!("{e}"));
        let b = b.into_std().unwrap_or_else(|e| panic!("{e}"));
        b.set_nonblocking(false).unwrap_or_else(|e| panic!("{e}"));
        (&b).write_all(GREETING.as_bytes())
            .unwrap_or_else(|e| panic!("{e}"));
        let mon = Qmp::connect(a, None)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let t = test_support::TempDir::new("qmp-getfd");
        let path = t.join("passed");
        std::fs::write(&path, b"through the socket").unwrap_or_else(|e| panic!("{e}"));
        let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{e}"));
        // The peer receives the command and the descriptor in one message,
        // then answers it.
        let peer = std::thread::spawn(move || {
            let mut buf = vec![0u8; 4096];
            let (n, fds) =
                host::fd::recv_with_fds(b.as_fd(), &mut buf).unwrap_or_else(|e| panic!("{e}"));
            let cmd: Value = serde_json::from_slice(buf.get(..n).unwrap_or_default())
                .unwrap_or_else(|e| panic!("{e}"));
            let reply = json!({"return": {}, "id": cmd["id"]});
            (&b).write_all(format!("{reply}\r\n").as_bytes())
                .unwrap_or_else(|e| panic!("{e}"));
            (cmd, fds)
        });
        mon.send_fd("migrate", file.as_fd())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let (cmd, fds) = peer.join().unwrap_or_else(|_| panic!("peer panicked"));
        assert_eq!(cmd["execute"], "getfd");
        assert_eq!(cmd["arguments"]["fdname"], "migrate");
        assert_eq!(fds.len(), 1, "one descriptor passed");
        let mut got = std::fs::File::from(fds.into_iter().next().unwrap_or_else(|| panic!()));
        got.rewind().unwrap_or_else(|e| panic!("{e}"));
        let mut text = String::new();
        got.read_to_string(&mut text)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(text, "through the socket");
    });
}

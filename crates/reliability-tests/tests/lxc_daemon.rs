// SPDX-License-Identifier: LGPL-2.1-or-later
//! Running containers and a daemon that crashes or stalls (virtlxcd with
//! busybox containers; root only, each test says why it skips):
//! - SIGKILL and restart the daemon repeatedly: every container is still
//!   running and controllable, none is started twice, none is lost;
//! - a container whose controller is stopped (SIGSTOP) makes calls on it
//!   time out with libvirt's job-lock error while listing, lookups and
//!   every call on the other containers answer, and keepalive is answered
//!   for a client whose request budget is full.
// The client's error type is the wire error, large by nature.
#![allow(clippy::result_large_err)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use protocol::header::{frame, Header, MessageType, Status};
use protocol::remote as r;
use protocol::{ErrorCode, RemoteProc};
use reliability_tests::harness::*;
use rpc::client::{ClientError, RpcClient};

const URI: &str = "lxc:///system";
fn skip_reason() -> Option<String> {
    container_skip_reason()
}

/// A busybox root file system in `dir/root`.
fn rootfs(t: &TempDir) -> PathBuf {
    BusyboxRoot::new(t.join("rootfs"))
        .applets(&["sh", "sleep"])
        .build()
}

fn xml(name: &str, root: &Path) -> String {
    format!(
        "<domain type='lxc'><name>{name}</name><memory unit='KiB'>65536</memory>
         <os><type>exe</type><init>/bin/sh</init><initarg>-c</initarg><initarg>exec sleep 1000</initarg></os>
         <devices><filesystem type='mount'><source dir='{}'/><target dir='/'/></filesystem>
         <console type='pty'/></devices></domain>",
        root.display()
    )
}

fn lookup(c: &mut RpcClient, name: &str) -> Result<r::NonnullDomain, ClientError> {
    c.call::<_, r::DomainLookupByNameRet>(
        RemoteProc::DomainLookupByName as i32,
        &r::DomainLookupByNameArgs { name: name.into() },
    )
    .map(|r| r.dom)
}

fn state(c: &mut RpcClient, dom: &r::NonnullDomain) -> (i32, i32) {
    let s: r::DomainGetStateRet = c
        .call(
            RemoteProc::DomainGetState as i32,
            &r::DomainGetStateArgs {
                dom: dom.clone(),
                flags: 0,
            },
        )
        .unwrap_or_else(|e| panic!("state of {}: {e}", dom.name));
    (s.state, s.reason)
}

fn simple(c: &mut RpcClient, p: RemoteProc, dom: &r::NonnullDomain) -> Result<(), ClientError> {
    // Suspend, resume and destroy all take just the domain.
    c.call::<_, ()>(p as i32, &r::DomainSuspendArgs { dom: dom.clone() })
}

fn active(c: &mut RpcClient) -> Vec<r::NonnullDomain> {
    let ret: r::ConnectListAllDomainsRet = c
        .call(
            RemoteProc::ConnectListAllDomains as i32,
            &r::ConnectListAllDomainsArgs {
                need_results: 1,
                flags: 1,
            },
        )
        .unwrap_or_else(|e| panic!("list: {e}"));
    ret.domains
}

/// Controller processes (libvirt_lxc --name NAME) running for `name`.
fn controllers(name: &str) -> usize {
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return 0;
    };
    rd.flatten()
        .filter(|e| {
            let cmd = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
            let args: Vec<&[u8]> = cmd.split(|b| *b == 0).collect();
            args.first().is_some_and(|a| a.ends_with(b"libvirt_lxc"))
                && args
                    .windows(2)
                    .any(|w| w[0] == b"--name" && w[1] == name.as_bytes())
        })
        .count()
}

/// Destroys what a test started, even when it failed half-way.
struct Cleanup {
    sock: PathBuf,
    names: Vec<String>,
    stopped: Option<u32>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some(pid) = self.stopped {
            let _ = host::process::kill(pid, libc::SIGCONT);
        }
        if let Ok(mut c) = open(&self.sock, URI) {
            for n in &self.names {
                if let Ok(d) = lookup(&mut c, n) {
                    let _ = simple(&mut c, RemoteProc::DomainDestroy, &d);
                }
            }
        }
    }
}

#[test]
fn containers_survive_repeated_daemon_sigkill_and_stay_controllable() {
    skip_if!(skip_reason());
    let t = TempDir::new("lxc-restart");
    let root = rootfs(&t);
    let spec = Spec::new("virtlxcd", &t, "");
    let tag = format!("rs{}", std::process::id());
    let names: Vec<String> = (0..3).map(|i| format!("{tag}-{i}")).collect();
    let mut d = spec.start();
    let mut cleanup = Cleanup {
        sock: spec.ready.clone(),
        names: names.clone(),
        stopped: None,
    };
    let mut c = open(&spec.ready, URI).unwrap_or_else(|e| panic!("open: {e}"));
    let mut ids = Vec::new();
    for (i, n) in names.iter().enumerate() {
        let dom = if i == 0 {
            // One persistent container, two transient ones.
            let def: r::DomainDefineXmlRet = c
                .call(
                    RemoteProc::DomainDefineXml as i32,
                    &r::DomainDefineXmlArgs { xml: xml(n, &root) },
                )
                .unwrap_or_else(|e| panic!("define: {e}"));
            c.call::<_, ()>(
                RemoteProc::DomainCreate as i32,
                &r::DomainCreateArgs { dom: def.dom },
            )
            .unwrap_or_else(|e| panic!("start: {e}"));
            lookup(&mut c, n).unwrap_or_else(|e| panic!("lookup: {e}"))
        } else {
            let ret: r::DomainCreateXmlRet = c
                .call(
                    RemoteProc::DomainCreateXml as i32,
                    &r::DomainCreateXmlArgs {
                        xml_desc: xml(n, &root),
                        flags: 0,
                    },
                )
                .unwrap_or_else(|e| panic!("create {n}: {e}"));
            ret.dom
        };
        assert!(dom.id > 0, "{n} has no id");
        ids.push(dom.id);
    }
    drop(c);

    let kills: usize = std::env::var("RELIAB_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let mut rng = reliability_tests::mutate::Rng::new(0x1ec5);
    for round in 0..kills {
        // Kill while a client is in the middle of controlling them.
        let sock = spec.ready.clone();
        let busy_names = names.clone();
        let busy = std::thread::spawn(move || {
            let Ok(mut c) = open(&sock, URI) else { return };
            for _ in 0..1000 {
                for n in &busy_names {
                    let Ok(d) = lookup(&mut c, n) else { return };
                    if simple(&mut c, RemoteProc::DomainSuspend, &d).is_err()
                        || simple(&mut c, RemoteProc::DomainResume, &d).is_err()
                    {
                        return;
                    }
                }
            }
        });
        std::thread::sleep(Duration::from_millis(50 + rng.next_u64() % 400));
        d.kill9();
        let _ = busy.join();
        d = spec.start();
        let mut c = open(&spec.ready, URI).unwrap_or_else(|e| panic!("open: {e}"));
        let listed = active(&mut c);
        assert_eq!(listed.len(), names.len(), "round {round}: {listed:?}");
        for (n, id) in names.iter().zip(&ids) {
            let dom = lookup(&mut c, n).unwrap_or_else(|e| panic!("round {round}: {n} lost: {e}"));
            assert_eq!(dom.id, *id, "round {round}: {n} was started again");
            assert_eq!(controllers(n), 1, "round {round}: controllers of {n}");
            // A kill between suspend and resume may leave it paused;
            // either way it answers and runs afterwards.
            let (st, _) = state(&mut c, &dom);
            if st == 3 {
                simple(&mut c, RemoteProc::DomainResume, &dom)
                    .unwrap_or_else(|e| panic!("round {round}: resume {n}: {e}"));
            }
            simple(&mut c, RemoteProc::DomainSuspend, &dom)
                .unwrap_or_else(|e| panic!("round {round}: suspend {n}: {e}"));
            assert_eq!(state(&mut c, &dom).0, 3, "{n} not paused");
            simple(&mut c, RemoteProc::DomainResume, &dom)
                .unwrap_or_else(|e| panic!("round {round}: resume {n}: {e}"));
            assert_eq!(state(&mut c, &dom).0, 1, "{n} not running");
        }
    }
    let mut c = open(&spec.ready, URI).unwrap_or_else(|e| panic!("open: {e}"));
    for n in &names {
        let dom = lookup(&mut c, n).unwrap_or_else(|e| panic!("lookup: {e}"));
        simple(&mut c, RemoteProc::DomainDestroy, &dom)
            .unwrap_or_else(|e| panic!("destroy {n}: {e}"));
    }
    assert!(active(&mut c).is_empty());
    cleanup.names.clear();
}

#[test]
fn stopped_controller_times_out_its_guest_only_and_keepalive_still_answers() {
    skip_if!(skip_reason());
    let t = TempDir::new("lxc-stall");
    let root = rootfs(&t);
    let spec = Spec::new("virtlxcd", &t, "max_client_requests = 1")
        .env("LIBVIRT_LXC_JOB_TIMEOUT_MS", "300");
    let _d = spec.start();
    let tag = format!("st{}", std::process::id());
    let stuck = format!("{tag}-stuck");
    let fine = format!("{tag}-fine");
    let mut cleanup = Cleanup {
        sock: spec.ready.clone(),
        names: vec![stuck.clone(), fine.clone()],
        stopped: None,
    };
    let mut c = open(&spec.ready, URI).unwrap_or_else(|e| panic!("open: {e}"));
    let mut create = |n: &str| -> r::NonnullDomain {
        let ret: r::DomainCreateXmlRet = c
            .call(
                RemoteProc::DomainCreateXml as i32,
                &r::DomainCreateXmlArgs {
                    xml_desc: xml(n, &root),
                    flags: 0,
                },
            )
            .unwrap_or_else(|e| panic!("create {n}: {e}"));
        ret.dom
    };
    let ds = create(&stuck);
    let df = create(&fine);
    let ctl = u32::try_from(ds.id).unwrap_or(0);
    host::process::kill(ctl, libc::SIGSTOP).unwrap_or_else(|e| panic!("SIGSTOP: {e}"));
    cleanup.stopped = Some(ctl);

    // Client 1 (budget of one request): a suspend that hangs on the
    // stopped controller, a second call queued behind it, then a PING.
    let mut c1 = open(&spec.ready, URI).unwrap_or_else(|e| panic!("open: {e}"));
    let call = |proc_: RemoteProc, serial: u32, payload: Vec<u8>| {
        let h = Header::new(
            r::PROGRAM,
            r::PROTOCOL_VERSION,
            proc_ as i32,
            MessageType::Call,
            serial,
            Status::Ok,
        );
        frame(&h, &payload)
    };
    let dom_args = xdr::to_bytes(&r::DomainSuspendArgs { dom: ds.clone() });
    c1.send_raw(&call(RemoteProc::DomainSuspend, 10, dom_args))
        .unwrap_or_else(|e| panic!("send: {e}"));
    c1.send_raw(&call(
        RemoteProc::DomainGetXmlDesc,
        11,
        xdr::to_bytes(&r::DomainGetXmlDescArgs {
            dom: ds.clone(),
            flags: 0,
        }),
    ))
    .unwrap_or_else(|e| panic!("send: {e}"));
    let ping = Header::new(
        protocol::keepalive::PROGRAM,
        protocol::keepalive::PROTOCOL_VERSION,
        protocol::keepalive::PROC_PING,
        MessageType::Message,
        0,
        Status::Ok,
    );
    // Let the suspend take the job before anyone else asks for it.
    std::thread::sleep(Duration::from_millis(200));
    c1.send_raw(&frame(&ping, &[]))
        .unwrap_or_else(|e| panic!("ping: {e}"));
    // The queued call may run before or after the hung one (both wait for
    // the same one-request budget); the hung one cannot answer before the
    // controller runs again, and the PONG must not wait for it.
    let mut serials = Vec::new();
    loop {
        let (h, _) = c1.read_frame().unwrap_or_else(|e| panic!("read: {e}"));
        if h.prog == protocol::keepalive::PROGRAM {
            assert_eq!(h.proc_, protocol::keepalive::PROC_PONG);
            break;
        }
        serials.push(h.serial);
    }
    assert!(
        !serials.contains(&10),
        "the suspend answered through a stopped controller"
    );

    // Client 2: the stuck guest's job lock times out with libvirt's
    // error; reads and the other guest answer.
    let mut c2 = open(&spec.ready, URI).unwrap_or_else(|e| panic!("open: {e}"));
    let got = simple(&mut c2, RemoteProc::DomainResume, &ds);
    match got {
        Err(ClientError::Remote(e)) => {
            assert_eq!(e.code, ErrorCode::OperationTimeout as i32, "{}", e.message);
            assert!(
                e.message
                    .starts_with("Timed out during operation: cannot acquire state change lock"),
                "{}",
                e.message
            );
        }
        other => panic!("resume of the stuck guest: {other:?}"),
    }
    assert_eq!(lookup(&mut c2, &fine).map(|d| d.uuid).ok(), Some(df.uuid));
    assert_eq!(lookup(&mut c2, &stuck).map(|d| d.uuid).ok(), Some(ds.uuid));
    assert!(active(&mut c2).len() >= 2);
    assert_eq!(state(&mut c2, &ds).0, 1);
    simple(&mut c2, RemoteProc::DomainSuspend, &df).unwrap_or_else(|e| panic!("suspend fine: {e}"));
    simple(&mut c2, RemoteProc::DomainResume, &df).unwrap_or_else(|e| panic!("resume fine: {e}"));

    // The controller comes back: client 1 gets both answers, in order.
    host::process::kill(ctl, libc::SIGCONT).unwrap_or_else(|e| panic!("SIGCONT: {e}"));
    cleanup.stopped = None;
    while serials.len() < 2 {
        let (h, _) = c1.read_frame().unwrap_or_else(|e| panic!("read: {e}"));
        if h.prog == r::PROGRAM {
            serials.push(h.serial);
        }
    }
    serials.sort_unstable();
    assert_eq!(serials, [10, 11]);
    for d in [&ds, &df] {
        simple(&mut c2, RemoteProc::DomainDestroy, d).unwrap_or_else(|e| panic!("destroy: {e}"));
    }
    cleanup.names.clear();
}

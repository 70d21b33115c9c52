// SPDX-License-Identifier: LGPL-2.1-or-later
//! Access: the read-only socket refuses every procedure that changes
//! state (the whole table, not a sample) before decoding its arguments;
//! a daemon run by an ordinary user cannot be reached by another user.
// The client's error type is the wire error, large by nature.
#![allow(clippy::result_large_err)]

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use protocol::remote as r;
use protocol::{ErrorCode, LxcProc, RemoteProc};
use reliability_tests::harness::*;

/// Payloads a refused call carries: none, garbage, and a huge count that
/// would make a decoder allocate if it ran first.
fn payloads() -> [Vec<u8>; 3] {
    [Vec::new(), vec![0xa5; 37], vec![0xff; 8]]
}

#[test]
fn read_only_socket_refuses_every_state_changing_procedure_before_decoding() {
    if !is_root() {
        skip("the read-only socket exists only for privileged daemons (not root)");
        return;
    }
    let t = TempDir::new("ro");
    let spec = Spec::new("libvirtd", &t, "");
    let _d = spec.start();
    let ro = spec.ro_socket();

    // Once without an open connection, once with test:///default open.
    for opened in [false, true] {
        let mut c = if opened {
            open(&ro, "test:///default").unwrap_or_else(|e| panic!("open: {e}"))
        } else {
            rpc::client::RpcClient::connect(&ro, r::PROGRAM, r::PROTOCOL_VERSION)
                .unwrap_or_else(|e| panic!("connect: {e}"))
        };
        let mut serial = 100;
        let mut refused = 0;
        for p in RemoteProc::ALL.iter().filter(|p| !p.info().readonly_ok) {
            let info = p.info();
            for payload in payloads() {
                serial += 1;
                let got = raw_call(
                    &mut c,
                    r::PROGRAM,
                    r::PROTOCOL_VERSION,
                    *p as i32,
                    serial,
                    &payload,
                )
                .unwrap_or_else(|e| panic!("{}: {e}", info.name));
                let e = got
                    .err()
                    .unwrap_or_else(|| panic!("{} was allowed", info.name));
                assert_eq!(
                    e.code,
                    ErrorCode::OperationDenied as i32,
                    "{}: {}",
                    info.name,
                    e.message
                );
                assert_eq!(
                    e.message,
                    format!(
                        "operation forbidden: read only access prevents {}",
                        info.api
                    ),
                    "{}",
                    info.name
                );
                refused += 1;
            }
        }
        // The namespace call of the lxc program too.
        for payload in payloads() {
            serial += 1;
            let got = raw_call(
                &mut c,
                protocol::lxc::PROGRAM,
                protocol::lxc::PROTOCOL_VERSION,
                LxcProc::DomainOpenNamespace as i32,
                serial,
                &payload,
            )
            .unwrap_or_else(|e| panic!("lxc open namespace: {e}"));
            let e = got
                .err()
                .unwrap_or_else(|| panic!("open namespace allowed"));
            assert_eq!(e.code, ErrorCode::OperationDenied as i32, "{}", e.message);
        }
        let expected = RemoteProc::ALL
            .iter()
            .filter(|p| !p.info().readonly_ok)
            .count();
        assert!(
            expected > 150,
            "only {expected} read-write procedures in the table"
        );
        assert_eq!(refused, expected * 3);

        // The connection still serves reads afterwards.
        if opened {
            serial += 1;
            let got = raw_call(
                &mut c,
                r::PROGRAM,
                r::PROTOCOL_VERSION,
                RemoteProc::ConnectListAllDomains as i32,
                serial,
                &xdr::to_bytes(&r::ConnectListAllDomainsArgs {
                    need_results: 1,
                    flags: 0,
                }),
            )
            .unwrap_or_else(|e| panic!("list: {e}"));
            let body = got.unwrap_or_else(|e| panic!("list refused: {e}"));
            let list: r::ConnectListAllDomainsRet =
                xdr::from_bytes(&body).unwrap_or_else(|e| panic!("decode list: {e}"));
            assert!(list.domains.iter().any(|d| d.name == "test"));
        }
    }
    // Nothing was defined through the read-only socket.
    let mut rw = open(&spec.ready, "test:///default").unwrap_or_else(|e| panic!("open: {e}"));
    let list: r::ConnectListAllDomainsRet = rw
        .call(
            RemoteProc::ConnectListAllDomains as i32,
            &r::ConnectListAllDomainsArgs {
                need_results: 1,
                flags: 0,
            },
        )
        .unwrap_or_else(|e| panic!("list: {e}"));
    assert_eq!(list.domains.len(), 1, "{:?}", list.domains);
}

const NOBODY: u32 = 65534;
/// Another unprivileged user (Debian's `daemon`).
const OTHER: u32 = 1;

fn python() -> Option<&'static str> {
    ["/usr/bin/python3", "/bin/python3"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
}

/// Tries to connect to `sock` as `uid`; returns the client's exit status
/// and its error output.
fn connect_as(uid: u32, sock: &std::path::Path) -> (bool, String) {
    let Some(py) = python() else {
        return (false, "no python3".into());
    };
    let out = Command::new(py)
        .arg("-c")
        .arg("import socket,sys\ns=socket.socket(socket.AF_UNIX)\ns.connect(sys.argv[1])\n")
        .arg(sock)
        .uid(uid)
        .gid(uid)
        .env_clear()
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("run python: {e}"));
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn unprivileged_daemon_cannot_be_reached_by_another_user() {
    if !is_root() {
        skip("needs root to run the daemon and the client as two other users");
        return;
    }
    if python().is_none() {
        skip("python3 is needed to connect as another user");
        return;
    }
    let t = TempDir::new("users");
    std::fs::set_permissions(t.path(), std::fs::Permissions::from_mode(0o755))
        .unwrap_or_else(|e| panic!("chmod: {e}"));
    let home = t.join("home");
    std::fs::create_dir_all(&home).unwrap_or_else(|e| panic!("home: {e}"));
    std::os::unix::fs::chown(&home, Some(NOBODY), Some(NOBODY))
        .unwrap_or_else(|e| panic!("chown: {e}"));
    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o755))
        .unwrap_or_else(|e| panic!("chmod: {e}"));
    let spec = Spec {
        program: bin("virtvzd"),
        args: Vec::new(),
        env: vec![
            ("PATH".into(), "/usr/bin:/bin".into()),
            ("HOME".into(), home.display().to_string()),
            (
                "XDG_RUNTIME_DIR".into(),
                home.join("xdg-run").display().to_string(),
            ),
            (
                "XDG_CONFIG_HOME".into(),
                home.join("xdg-config").display().to_string(),
            ),
            (
                "XDG_CACHE_HOME".into(),
                home.join("xdg-cache").display().to_string(),
            ),
        ],
        ready: home.join("xdg-run/libvirt/virtvzd-sock"),
        log_dir: t.path().to_path_buf(),
    };
    let _d = spec.start_as(NOBODY);
    let sock = &spec.ready;
    let admin = home.join("xdg-run/libvirt/virtvzd-admin-sock");
    for s in [sock, &admin] {
        let mode = std::fs::metadata(s)
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap_or(0o777);
        assert_eq!(
            mode & 0o077,
            0,
            "{} is open to others: {mode:o}",
            s.display()
        );
    }
    // The owner gets in; another ordinary user does not.
    let (ok, err) = connect_as(NOBODY, sock);
    assert!(ok, "the owner could not connect: {err}");
    for s in [sock, &admin] {
        let (ok, err) = connect_as(OTHER, s);
        assert!(!ok, "uid {OTHER} reached {}", s.display());
        assert!(err.contains("Permission denied"), "{err}");
    }
}

// SPDX-License-Identifier: LGPL-2.1-or-later
//! Malformed input on the wire: each case gets a libvirt error or a clean
//! close of that one connection, and the daemon keeps serving others.

mod common;
use common::*;
use protocol::header::{frame, frame_value, Header, MessageType, Status};
use protocol::remote::{self, ConnectOpenArgs};
use protocol::{ErrorCode, RemoteProc};
use rpc::client::{ClientError, RpcClient};

fn open(d: &Daemon) -> RpcClient {
    let mut c = RpcClient::connect(&d.sock, remote::PROGRAM, 1).unwrap();
    let _: () = c
        .call(
            RemoteProc::ConnectOpen as i32,
            &ConnectOpenArgs {
                name: Some("test:///default".into()),
                flags: 0,
            },
        )
        .unwrap();
    c
}

fn still_serving(d: &Daemon) {
    let mut c = open(d);
    let v: remote::ConnectGetLibVersionRet = c
        .call(RemoteProc::ConnectGetLibVersion as i32, &())
        .unwrap();
    assert_eq!(v.lib_ver, 9_006_000);
}

fn remote_error<T: std::fmt::Debug>(r: Result<T, ClientError>) -> protocol::RemoteError {
    match r {
        Err(ClientError::Remote(e)) => *e,
        other => panic!("expected a libvirt error, got {other:?}"),
    }
}

#[test]
fn unknown_procedure_gets_an_rpc_error() {
    let d = Daemon::start();
    let mut c = open(&d);
    let e = remote_error(c.call::<(), ()>(9999, &()));
    assert_eq!(e.code, ErrorCode::Rpc as i32);
    assert!(
        e.message.contains("unknown procedure: 9999"),
        "{}",
        e.message
    );
    // the connection is still usable
    let _: remote::ConnectGetLibVersionRet = c
        .call(RemoteProc::ConnectGetLibVersion as i32, &())
        .unwrap();
}

#[test]
fn unknown_program_and_version_get_an_error_reply() {
    let d = Daemon::start();
    let mut c = RpcClient::connect(&d.sock, 0x1234_5678, 1).unwrap();
    let e = remote_error(c.call::<(), ()>(1, &()));
    assert!(
        e.message
            .contains("Cannot find program 305419896 version 1"),
        "{}",
        e.message
    );
    let mut c = RpcClient::connect(&d.sock, remote::PROGRAM, 7).unwrap();
    let e = remote_error(c.call::<(), ()>(1, &()));
    assert!(e.message.contains("version 7"), "{}", e.message);
}

#[test]
fn garbage_arguments_are_rejected_cleanly() {
    let d = Daemon::start();
    let mut c = open(&d);
    // a name whose length says 1 GiB
    let h = Header::new(
        remote::PROGRAM,
        1,
        RemoteProc::DomainLookupByName as i32,
        MessageType::Call,
        77,
        Status::Ok,
    );
    c.send_raw(&frame(&h, &[0x40, 0, 0, 0, b'x', 0, 0, 0]))
        .unwrap();
    let (rh, body) = c.read_frame().unwrap();
    assert_eq!(rh.serial, 77);
    assert_eq!(rh.status, Status::Error as i32);
    let err: remote::Error = xdr::from_bytes(&body).unwrap();
    assert!(err
        .message
        .unwrap_or_default()
        .contains("Unable to decode message payload"));
    still_serving(&d);
}

#[test]
fn oversize_length_closes_only_that_connection() {
    let d = Daemon::start();
    let mut bad = RpcClient::connect(&d.sock, remote::PROGRAM, 1).unwrap();
    bad.send_raw(&0xffff_fff0u32.to_be_bytes()).unwrap();
    assert!(bad.read_frame().is_err(), "the connection must be closed");
    still_serving(&d);
}

#[test]
fn truncated_message_does_not_block_others() {
    let d = Daemon::start();
    let mut bad = RpcClient::connect(&d.sock, remote::PROGRAM, 1).unwrap();
    // announce 1000 bytes, send 40, then keep the socket open
    let mut partial = 1000u32.to_be_bytes().to_vec();
    partial.extend(vec![0u8; 40]);
    bad.send_raw(&partial).unwrap();
    still_serving(&d);
    drop(bad);
    still_serving(&d);
}

#[test]
fn too_short_length_is_rejected() {
    let d = Daemon::start();
    let mut bad = RpcClient::connect(&d.sock, remote::PROGRAM, 1).unwrap();
    bad.send_raw(&8u32.to_be_bytes()).unwrap();
    bad.send_raw(&[0u8; 4]).unwrap();
    assert!(bad.read_frame().is_err());
    still_serving(&d);
}

#[test]
fn calls_before_open_say_connection_not_open() {
    let d = Daemon::start();
    let mut c = RpcClient::connect(&d.sock, remote::PROGRAM, 1).unwrap();
    let e = remote_error(
        c.call::<(), remote::ConnectGetTypeRet>(RemoteProc::ConnectGetType as i32, &()),
    );
    assert!(e.message.contains("connection not open"), "{}", e.message);
}

#[test]
fn keepalive_ping_gets_pong() {
    let d = Daemon::start();
    let mut c = RpcClient::connect(&d.sock, remote::PROGRAM, 1).unwrap();
    let ping = Header::new(
        protocol::keepalive::PROGRAM,
        1,
        protocol::keepalive::PROC_PING,
        MessageType::Message,
        0,
        Status::Ok,
    );
    c.send_raw(&frame_value(&ping, &())).unwrap();
    let (h, _) = c.read_frame().unwrap();
    assert_eq!(h.prog, protocol::keepalive::PROGRAM);
    assert_eq!(h.proc_, protocol::keepalive::PROC_PONG);
}

#[test]
fn a_thousand_random_frames_never_kill_the_daemon() {
    let mut d = Daemon::start();
    // deterministic pseudo-random bytes (xorshift), no external crates
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for round in 0..1000u32 {
        let mut c = match RpcClient::connect(&d.sock, remote::PROGRAM, 1) {
            Ok(c) => c,
            Err(e) => panic!("connect failed at round {round}: {e}"),
        };
        let proc_ = (next() % 460) as i32;
        let len = (next() % 64) as usize;
        let payload: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        let h = Header::new(
            remote::PROGRAM,
            1,
            proc_,
            MessageType::Call,
            round,
            Status::Ok,
        );
        let _ = c.send_raw(&frame(&h, &payload));
        if round % 50 == 0 {
            let _ = c.read_frame();
        }
    }
    assert!(d.is_running(), "daemon died");
    still_serving(&d);
}

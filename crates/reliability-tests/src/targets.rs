// SPDX-License-Identifier: LGPL-2.1-or-later
//! The bodies of the fuzz targets. `fuzz/` calls each one from a
//! `fuzz_target!`; the `fuzz_smoke` test calls them on seeded inputs, so
//! crashes found by the fuzzer replay as plain `cargo test` cases.
//!
//! Each function takes arbitrary bytes and must return without panicking,
//! hanging or allocating without bound; any of those is a bug in the code
//! under test.

use std::future::Future;
use std::pin::pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, Waker};

use protocol::header::{Header, MessageType, Status, HEADER_SIZE, LEN_SIZE, MESSAGE_MAX};
use protocol::{AdminProc, LxcProc, RemoteProc, StreamDir};
use rpc::{Client, ClientInfo, Handler, Response};
use xdr::{Decoder, Xdr};

/// A fuzz target's body.
pub type Target = fn(&[u8]);

/// Every fuzz target, by the name `cargo fuzz run` knows it.
pub const ALL: &[(&str, Target)] = &[
    ("frame", frame),
    ("proc_args", proc_args),
    ("dispatch", dispatch),
    ("domain_xml", domain_xml),
    ("network_xml", network_xml),
    ("storage_xml", storage_xml),
    ("virconf", virconf),
    ("lxc_native", lxc_native),
    ("xen_native", xen_native),
    ("auth", auth),
];

/// Polls a future that never waits (it reads from memory) to completion.
fn run_ready<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    // A reader over a byte slice is always ready; a few polls are plenty.
    for _ in 0..1000 {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
    panic!("a read from memory did not complete");
}

/// Frame decoding as the server does it: length word (bounded before any
/// allocation), header, payload; then the payload is checked against the
/// argument and reply types of the procedure the header names.
pub fn frame(data: &[u8]) {
    let mut rd = data;
    loop {
        match run_ready(rpc::frame::read_frame(&mut rd)) {
            Ok(f) => {
                // What was read cannot exceed the message limit.
                assert!(f.payload.len() + HEADER_SIZE + LEN_SIZE <= MESSAGE_MAX);
                check_payload(&f.header, &f.payload);
            }
            Err(_) => return,
        }
    }
}

fn check_payload(h: &Header, payload: &[u8]) {
    if h.prog == protocol::remote::PROGRAM {
        if let Some(p) = RemoteProc::from_i32(h.proc_) {
            let _ = p.check_args(payload);
            let _ = p.check_reply(payload);
        }
    } else if h.prog == protocol::admin::PROGRAM {
        if let Some(p) = AdminProc::from_i32(h.proc_) {
            let _ = p.check_args(payload);
            let _ = p.check_reply(payload);
        }
    } else if h.prog == protocol::lxc::PROGRAM {
        if let Some(p) = LxcProc::from_i32(h.proc_) {
            let _ = p.check_args(payload);
            let _ = p.check_reply(payload);
        }
    }
}

/// XDR argument and reply decoding for every procedure of every program:
/// the first two bytes choose the procedure, the rest is its payload. A
/// value that decodes must encode back to the bytes it came from.
pub fn proc_args(data: &[u8]) {
    let Some((sel, payload)) = data.split_first_chunk::<2>() else {
        return;
    };
    let n = usize::from(u16::from_be_bytes(*sel));
    let remote = RemoteProc::ALL.len();
    let admin = AdminProc::ALL.len();
    let lxc = LxcProc::ALL.len();
    let i = n % (remote + admin + lxc);
    if i < remote {
        let p = RemoteProc::ALL[i];
        let _ = p.check_args(payload);
        let _ = p.check_reply(payload);
    } else if i < remote + admin {
        let p = AdminProc::ALL[i - remote];
        let _ = p.check_args(payload);
        let _ = p.check_reply(payload);
    } else {
        let p = LxcProc::ALL[i - remote - admin];
        let _ = p.check_args(payload);
        let _ = p.check_reply(payload);
    }
    // The header and the error type are decoded by hand-written code.
    if let Ok(h) = Header::decode(&mut Decoder::new(payload)) {
        let mut out = Vec::new();
        h.encode(&mut out);
        assert_eq!(out.as_slice(), &payload[..HEADER_SIZE]);
    }
    let _ = xdr::from_bytes::<protocol::remote::Error>(payload);
}

/// Procedures the dispatcher target does not send: they read or write
/// files the client names (save images, node files opened by URI) or open
/// another connection, which a fuzzer must not do on the host it runs on.
fn touches_host(p: RemoteProc) -> bool {
    let name = p.info().name;
    ["Save", "Restore", "CoreDump", "ConnectOpen", "Screenshot"]
        .iter()
        .any(|w| name.contains(w))
        || p.info().stream != StreamDir::None
}

fn handler() -> &'static Arc<dispatch::RemoteHandler> {
    static H: OnceLock<Arc<dispatch::RemoteHandler>> = OnceLock::new();
    H.get_or_init(|| {
        let mut registry = driver::Registry::new();
        registry.add(driver_test::factory());
        Arc::new(dispatch::RemoteHandler::new(registry))
    })
}

/// Whole messages into the dispatcher with the test driver behind it, as
/// one client connection: the input is cut into frames (4-byte length,
/// 24-byte header, payload); the connection is opened on `test:///default`
/// first, and a high bit of the first byte makes it read-only.
pub fn dispatch(data: &[u8]) {
    dispatch_outcomes(data);
}

/// [`dispatch`], returning for each call sent (after the implicit open) the
/// procedure number and the error code of the answer (0 for a reply).
pub fn dispatch_outcomes(data: &[u8]) -> Vec<(i32, i32)> {
    let mut outcomes = Vec::new();
    let readonly = data.first().is_some_and(|b| b & 0x80 != 0);
    let h = handler();
    let info = ClientInfo {
        peer_uid: Some(0),
        peer_gid: Some(0),
        ..ClientInfo::local(1, readonly)
    };
    let state = h.new_state(&info);
    let (client, mut outbox) = Client::detached(info, state);
    let mut serial = 0u32;
    let mut call = |proc_: i32, payload: &[u8], prog: u32, vers: u32, type_: i32| {
        serial = serial.wrapping_add(1);
        let hdr = Header {
            prog,
            vers,
            proc_,
            type_,
            serial,
            status: Status::Ok as i32,
        };
        if !h.accepts(prog, vers) {
            return;
        }
        match MessageType::from_i32(type_) {
            Some(MessageType::Call) | Some(MessageType::CallWithFds) => {}
            Some(MessageType::Stream) | Some(MessageType::StreamHole) => {
                h.stream(&client, &hdr, payload);
                return;
            }
            _ => return,
        }
        let resp = h.call(&client, &hdr, payload, Vec::new());
        // A read-only connection refuses every state change, whatever the
        // arguments.
        if readonly && prog == protocol::remote::PROGRAM {
            if let Some(p) = RemoteProc::from_i32(proc_).filter(|p| !p.info().readonly_ok) {
                assert!(
                    matches!(&resp, Response::Error(e)
                        if e.code == protocol::ErrorCode::OperationDenied as i32),
                    "{} was not refused on a read-only connection",
                    p.info().name
                );
            }
        }
        outcomes.push((
            proc_,
            match &resp {
                Response::Error(e) => e.code,
                _ => 0,
            },
        ));
        if let Response::Reply(bytes) = &resp {
            if prog == protocol::remote::PROGRAM {
                if let Some(p) = RemoteProc::from_i32(proc_) {
                    // What we send must decode as the reply type.
                    assert!(
                        p.check_reply(bytes).is_ok(),
                        "reply to {} does not decode",
                        p.info().name
                    );
                }
            }
        }
    };
    let open = protocol::remote::ConnectOpenArgs {
        name: Some("test:///default".into()),
        flags: 0,
    };
    call(
        RemoteProc::ConnectOpen as i32,
        &xdr::to_bytes(&open),
        protocol::remote::PROGRAM,
        protocol::remote::PROTOCOL_VERSION,
        MessageType::Call as i32,
    );
    let mut rest = data.get(1..).unwrap_or_default();
    // Frames as the wire carries them; a short or oversized length ends
    // the stream, as it ends a connection.
    while rest.len() >= LEN_SIZE + HEADER_SIZE {
        let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        let len = len.clamp(LEN_SIZE + HEADER_SIZE, rest.len());
        let (msg, tail) = rest.split_at(len);
        rest = tail;
        let Ok(hdr) = Header::decode(&mut Decoder::new(&msg[LEN_SIZE..])) else {
            break;
        };
        let payload = &msg[LEN_SIZE + HEADER_SIZE..];
        // Unknown procedure numbers are mapped onto known ones so that
        // most inputs reach a procedure.
        let (prog, vers, proc_num) = if hdr.prog == protocol::lxc::PROGRAM {
            (hdr.prog, hdr.vers, hdr.proc_)
        } else {
            let all = RemoteProc::ALL;
            let p = RemoteProc::from_i32(hdr.proc_)
                .unwrap_or(all[(hdr.proc_.unsigned_abs() as usize) % all.len()]);
            if touches_host(p) {
                continue;
            }
            (
                protocol::remote::PROGRAM,
                protocol::remote::PROTOCOL_VERSION,
                p as i32,
            )
        };
        let type_ = hdr.type_.rem_euclid(7);
        call(proc_num, payload, prog, vers, type_);
        outbox.drain();
    }
    h.closed(&client);
    outbox.drain();
    outcomes.remove(0);
    outcomes
}

fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

/// Domain XML: parse, fill defaults, validate, format, and parse again.
pub fn domain_xml(data: &[u8]) {
    let Some(s) = text(data) else { return };
    for inactive in [false, true] {
        let flags = conf::ParseFlags {
            inactive,
            validate_schema: false,
        };
        if let Ok(def) = conf::DomainDef::parse_str(s, &flags) {
            let out = def.to_xml(&conf::FormatFlags::default());
            let _ = conf::DomainDef::parse_str(&out, &flags);
            let _ = def.to_xml(&conf::FormatFlags {
                inactive: true,
                secure: true,
                ..Default::default()
            });
        }
    }
}

/// Network XML: parse and format.
pub fn network_xml(data: &[u8]) {
    let Some(s) = text(data) else { return };
    if let Ok(def) = conf::NetworkDef::parse_str(s) {
        for inactive in [false, true] {
            let _ = def.to_xml(&conf::network::NetworkFormatFlags { inactive });
        }
    }
}

/// Storage pool and volume XML: parse and format.
pub fn storage_xml(data: &[u8]) {
    let Some(s) = text(data) else { return };
    if let Ok(def) = conf::PoolDef::parse_str(s) {
        let _ = def.to_xml();
    }
    if let Ok(def) = conf::VolDef::parse_str(s) {
        let _ = def.to_xml();
    }
}

/// The config grammar in its three dialects; what parses is written back
/// and parsed again, and typed getters run over every key.
pub fn virconf(data: &[u8]) {
    let Some(s) = text(data) else { return };
    for d in [
        virconf::Dialect::Libvirt,
        virconf::Dialect::Lxc,
        virconf::Dialect::Vmx,
    ] {
        if let Ok(c) = virconf::Conf::parse_dialect(s, virconf::MEMORY_CONF_NAME, d) {
            let keys: Vec<String> = c.settings().map(|(k, _)| k.to_owned()).collect();
            for k in &keys {
                let _ = c.get_string(k);
                let _ = c.get_string_list(k, false);
                let _ = c.get_bool(k);
                let _ = c.get_u64(k);
                let _ = c.get_i64(k);
                let _ = c.get_usize(k);
            }
            let out = c.write();
            let _ = virconf::Conf::parse_dialect(&out, virconf::MEMORY_CONF_NAME, d);
        }
    }
}

/// The native LXC config (domxml-from-native lxc-tools).
pub fn lxc_native(data: &[u8]) {
    let Some(s) = text(data) else { return };
    if let Ok(def) = driver_lxc::native::lxc_config_to_def(s, "/usr/libexec/libvirt_lxc") {
        let _ = def.to_xml(&conf::FormatFlags::default());
    }
}

/// Xen xl.cfg and xm configs to domain definitions, and back.
pub fn xen_native(data: &[u8]) {
    let Some(s) = text(data) else { return };
    static CAPS: OnceLock<xenconfig::XenCaps> = OnceLock::new();
    let caps = CAPS.get_or_init(xenconfig::XenCaps::default_x86_64);
    for f in [xenconfig::NativeFormat::Xl, xenconfig::NativeFormat::Xm] {
        if let Ok(def) = xenconfig::native_to_domain(s, f, caps) {
            let _ = xenconfig::domain_to_xml(&def);
            let _ = xenconfig::domain_to_native_conf(&def, f);
        }
    }
}

/// The auth procedures (AUTH_LIST, AUTH_SASL_INIT/START/STEP,
/// AUTH_POLKIT) on one unauthenticated client, through the real SASL
/// library: byte 0 picks the scheme (bit 0: SASL or polkit) and the
/// transport (bits 1-2: UNIX, TCP, TLS); then steps of a procedure byte,
/// a 16-bit length and that many argument bytes. Nothing panics, and a
/// client without credentials never ends up authenticated where no
/// anonymous mechanism is allowed (plain TCP) or polkit is unavailable.
pub fn auth(data: &[u8]) {
    use rpc::auth::{call, AuthConfig, ClientAuth};
    use rpc::{AuthScheme, Transport};
    let Some((&head, mut rest)) = data.split_first() else {
        return;
    };
    if sasl::server_init(rpc::auth::SASL_SERVICE).is_err() {
        return;
    }
    let scheme = if head & 1 == 0 {
        AuthScheme::Sasl
    } else {
        AuthScheme::Polkit
    };
    let transport = match (head >> 1) % 3 {
        0 => Transport::Unix,
        1 => Transport::Tcp,
        _ => Transport::Tls,
    };
    let info = ClientInfo {
        transport,
        peer_uid: Some(1000),
        peer_pid: Some(1),
        local_addr: "127.0.0.1:16509".parse().ok(),
        peer_addr: "127.0.0.1:40000".parse().ok(),
        tls_key_bits: (transport == Transport::Tls).then_some(256),
        auth: scheme,
        ..ClientInfo::local(1, false)
    };
    let cfg = AuthConfig::default();
    let client = ClientAuth::new(scheme, None);
    let mut steps = 0;
    while rest.len() >= 3 && steps < 64 {
        steps += 1;
        let proc_ = 66 + i32::from(rest[0] % 5);
        let len = usize::from(u16::from_be_bytes([rest[1], rest[2]]));
        let body = &rest[3..];
        let take = len.min(body.len());
        let _ = call(&cfg, &info, &client, proc_, &body[..take]);
        rest = &body[take..];
        if transport == Transport::Tcp || scheme == AuthScheme::Polkit {
            assert!(
                !client.is_authenticated(),
                "a client without credentials was authenticated"
            );
        }
    }
}

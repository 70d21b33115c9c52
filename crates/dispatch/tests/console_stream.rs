// SPDX-License-Identifier: LGPL-2.1-or-later
//! Console streams through the real RPC server and the remote program,
//! over a Unix socket, with a fake driver whose console is a pty pair: the
//! test holds the guest's side and decides whether the guest reads.
//!
//! No root needed. Timeouts on the client socket only detect a hang; the
//! assertions are about what is answered, not how fast.

use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dispatch::RemoteHandler;
use driver::{ConnectAuth, Connection, DomainRef, DriverFactory, Registry, Result, Uri};
use protocol::header::{
    check_length, frame, frame_value, Header, MessageType, Status, HEADER_SIZE,
};
use protocol::remote as r;
use protocol::{keepalive, ErrorCode, ErrorDomain, RemoteProc as P};
use xdr::{from_bytes, Decoder, Xdr};

/// The guests' sides of the consoles handed out, in order.
type Guests = Arc<Mutex<Vec<std::fs::File>>>;

struct FakeConn {
    guests: Guests,
}

impl Connection for FakeConn {
    fn get_type(&self) -> &'static str {
        "Fake"
    }
    fn uri(&self) -> String {
        "fake:///".into()
    }
    fn hostname(&self) -> Result<String> {
        Ok("fake-host".into())
    }
    fn list_all_domains(&self, _flags: u32) -> Result<Vec<DomainRef>> {
        Ok(vec![DomainRef {
            name: "guest".into(),
            uuid: [7; 16],
            id: 1,
        }])
    }
    fn domain_open_console(
        &self,
        _dom: &DomainRef,
        _dev: Option<&str>,
        _flags: u32,
    ) -> Result<OwnedFd> {
        let fail = |e: host::Error| {
            driver::Error::internal(ErrorDomain::None, format!("cannot make a pty: {e}"))
        };
        let (master, n) = host::pty::open_master(Path::new("/dev/ptmx")).map_err(fail)?;
        let slave = host::pty::open_tty(&PathBuf::from(format!("/dev/pts/{n}"))).map_err(fail)?;
        host::pty::make_raw(slave.as_fd()).map_err(fail)?;
        self.guests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(std::fs::File::from(slave));
        Ok(master)
    }
}

struct FakeFactory {
    guests: Guests,
}

impl DriverFactory for FakeFactory {
    fn name(&self) -> &'static str {
        "fake"
    }
    fn claims(&self, uri: &Uri) -> bool {
        uri.scheme == "fake"
    }
    fn open(&self, _uri: &Uri, _auth: &ConnectAuth) -> Result<Arc<dyn Connection>> {
        Ok(Arc::new(FakeConn {
            guests: self.guests.clone(),
        }))
    }
}

static SEQ: AtomicU32 = AtomicU32::new(0);

/// A server on a private socket, its runtime, and the consoles' guest sides.
struct Daemon {
    rt: Option<tokio::runtime::Runtime>,
    dir: PathBuf,
    sock: PathBuf,
    guests: Guests,
}

impl Daemon {
    fn start() -> Daemon {
        let dir = std::env::temp_dir().join(format!(
            "dispatch-console-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let sock = dir.join("sock");
        let guests = Guests::default();
        let mut registry = Registry::new();
        registry.add(Arc::new(FakeFactory {
            guests: guests.clone(),
        }));
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let server = rpc::Server::new(
            "test",
            Arc::new(RemoteHandler::new(registry)),
            rpc::Limits::default(),
        );
        let listener = {
            let _g = rt.enter();
            tokio::net::UnixListener::bind(&sock).unwrap()
        };
        rt.spawn(server.serve_unix(listener, false, rpc::AuthScheme::None));
        Daemon {
            rt: Some(rt),
            dir,
            sock,
            guests,
        }
    }

    fn guest(&self, i: usize) -> std::fs::File {
        self.guests.lock().unwrap()[i].try_clone().unwrap()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A bare client: writes whole frames, reads whole frames, fails instead
/// of hanging.
struct Client {
    sock: UnixStream,
    serial: u32,
}

impl Client {
    fn connect(d: &Daemon) -> Client {
        let sock = UnixStream::connect(&d.sock).unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        sock.set_write_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        let mut c = Client { sock, serial: 0 };
        let s = c.send_call(
            P::ConnectOpen,
            &r::ConnectOpenArgs {
                name: Some("fake:///".into()),
                flags: 0,
            },
        );
        c.reply::<()>(s, P::ConnectOpen);
        c
    }

    fn write(&mut self, bytes: &[u8]) {
        self.sock
            .write_all(bytes)
            .unwrap_or_else(|e| panic!("the server stopped reading this connection: {e}"));
    }

    fn send_call<A: Xdr>(&mut self, p: P, args: &A) -> u32 {
        self.serial += 1;
        let h = Header::new(
            r::PROGRAM,
            r::PROTOCOL_VERSION,
            p as i32,
            MessageType::Call,
            self.serial,
            Status::Ok,
        );
        let f = frame_value(&h, args);
        self.write(&f);
        self.serial
    }

    fn send_stream(&mut self, serial: u32, status: Status, data: &[u8]) {
        let h = Header::new(
            r::PROGRAM,
            r::PROTOCOL_VERSION,
            P::DomainOpenConsole as i32,
            MessageType::Stream,
            serial,
            status,
        );
        let f = frame(&h, data);
        self.write(&f);
    }

    fn ping(&mut self) {
        let h = Header::new(
            keepalive::PROGRAM,
            keepalive::PROTOCOL_VERSION,
            keepalive::PROC_PING,
            MessageType::Message,
            0,
            Status::Ok,
        );
        let f = frame_value(&h, &());
        self.write(&f);
    }

    fn read(&mut self) -> (Header, Vec<u8>) {
        let mut len = [0u8; 4];
        self.sock
            .read_exact(&mut len)
            .unwrap_or_else(|e| panic!("no answer from the server: {e}"));
        let total = check_length(u32::from_be_bytes(len)).unwrap();
        let mut body = vec![0u8; total - 4];
        self.sock.read_exact(&mut body).unwrap();
        let h = Header::decode(&mut Decoder::new(&body[..HEADER_SIZE])).unwrap();
        (h, body[HEADER_SIZE..].to_vec())
    }

    /// Reads up to the reply of call `serial`; nothing else may come first.
    fn reply<R: Xdr>(&mut self, serial: u32, p: P) -> R {
        let (h, body) = self.read();
        assert_eq!(
            (h.serial, h.proc_, h.type_, h.status),
            (
                serial,
                p as i32,
                MessageType::Reply as i32,
                Status::Ok as i32
            ),
            "{:?}",
            from_bytes::<r::Error>(&body).ok().map(|e| e.message)
        );
        from_bytes(&body).unwrap()
    }

    fn open_console(&mut self) -> u32 {
        let s = self.send_call(
            P::DomainOpenConsole,
            &r::DomainOpenConsoleArgs {
                dom: r::NonnullDomain {
                    name: "guest".into(),
                    uuid: [7; 16],
                    id: 1,
                },
                dev_name: None,
                flags: 0,
            },
        );
        self.reply::<()>(s, P::DomainOpenConsole);
        s
    }
}

fn is_stream(h: &Header, serial: u32, status: Status) -> bool {
    h.type_ == MessageType::Stream as i32
        && h.serial == serial
        && h.proc_ == P::DomainOpenConsole as i32
        && h.status == status as i32
}

/// Waits (bounded) until the guest's side has something to read.
fn guest_readable(f: &std::fs::File) -> bool {
    host::process::poll_read(&[f.as_fd()], 20_000).unwrap()[0]
}

#[test]
fn a_console_whose_guest_never_reads_does_not_hold_up_its_connection() {
    let d = Daemon::start();
    let mut c = Client::connect(&d);
    let st = c.open_console();

    // 8 MiB into a console nobody reads, with keepalive probes and calls
    // in between: every write must be taken (the server keeps reading).
    let chunk = vec![b'x'; 256 * 1024];
    let mut calls = Vec::new();
    let mut pings = 0;
    for i in 0..32 {
        c.send_stream(st, Status::Continue, &chunk);
        if i % 4 == 3 {
            c.ping();
            pings += 1;
            calls.push((
                c.send_call(P::ConnectGetHostname, &()),
                P::ConnectGetHostname,
            ));
            calls.push((
                c.send_call(
                    P::ConnectListAllDomains,
                    &r::ConnectListAllDomainsArgs {
                        need_results: 1,
                        flags: 0,
                    },
                ),
                P::ConnectListAllDomains,
            ));
        }
    }

    // Every call and probe is answered; the stream is aborted with the
    // queue-full error, once.
    let (mut pongs, mut stream_errors) = (0, Vec::new());
    while !calls.is_empty() || pongs < pings || stream_errors.is_empty() {
        let (h, body) = c.read();
        if h.prog == keepalive::PROGRAM {
            assert_eq!(h.proc_, keepalive::PROC_PONG);
            pongs += 1;
        } else if is_stream(&h, st, Status::Error) {
            stream_errors.push(from_bytes::<r::Error>(&body).unwrap());
        } else {
            assert_eq!(h.type_, MessageType::Reply as i32, "unexpected {h:?}");
            assert_eq!(h.status, Status::Ok as i32, "call {} failed", h.serial);
            let at = calls
                .iter()
                .position(|(s, _)| *s == h.serial)
                .unwrap_or_else(|| panic!("reply to an unknown call {h:?}"));
            let (_, p) = calls.remove(at);
            match p {
                P::ConnectGetHostname => assert_eq!(
                    from_bytes::<r::ConnectGetHostnameRet>(&body)
                        .unwrap()
                        .hostname,
                    "fake-host"
                ),
                _ => assert_eq!(
                    from_bytes::<r::ConnectListAllDomainsRet>(&body)
                        .unwrap()
                        .ret,
                    1
                ),
            }
        }
    }
    assert_eq!(stream_errors.len(), 1);
    let e = &stream_errors[0];
    assert_eq!(
        (e.code, e.domain),
        (ErrorCode::Rpc as i32, ErrorDomain::Streams as i32)
    );
    assert!(
        e.message.as_deref().unwrap_or("").contains("not reading"),
        "{:?}",
        e.message
    );

    // The client aborts the failed stream and gets its confirmation; the
    // connection goes on.
    c.send_stream(st, Status::Error, &[]);
    let (h, body) = c.read();
    assert!(is_stream(&h, st, Status::Ok) && body.is_empty(), "{h:?}");
    let s = c.send_call(P::ConnectGetHostname, &());
    let host: r::ConnectGetHostnameRet = c.reply(s, P::ConnectGetHostname);
    assert_eq!(host.hostname, "fake-host");
}

#[test]
fn console_relays_both_ways_and_its_end_is_an_empty_continue() {
    let d = Daemon::start();
    let mut c = Client::connect(&d);
    let st = c.open_console();
    let mut guest = d.guest(0);

    // client → guest
    c.send_stream(st, Status::Continue, b"typed");
    let mut got = Vec::new();
    while got.len() < 5 {
        assert!(guest_readable(&guest), "nothing reached the guest");
        let mut buf = [0u8; 64];
        let n = guest.read(&mut buf).unwrap();
        got.extend_from_slice(&buf[..n]);
    }
    assert_eq!(got, b"typed");

    // guest → client: 1 MiB arrives whole and in order, in messages of at
    // most 256 KiB
    let out: Vec<u8> = (0..1 << 20).map(|i: u32| (i % 251) as u8).collect();
    let writer = {
        let mut g = guest.try_clone().unwrap();
        let out = out.clone();
        std::thread::spawn(move || g.write_all(&out).unwrap())
    };
    let mut seen = Vec::new();
    while seen.len() < out.len() {
        let (h, body) = c.read();
        assert!(is_stream(&h, st, Status::Continue), "{h:?}");
        assert!(!body.is_empty() && body.len() <= 256 * 1024);
        seen.extend_from_slice(&body);
    }
    writer.join().unwrap();
    assert!(seen == out, "the guest's output was altered");

    // The guest's side closes: an empty Continue ends the stream (an Ok
    // nobody asked for would make libvirt's client drop the connection).
    drop(guest);
    d.guests.lock().unwrap().clear();
    let (h, body) = c.read();
    assert!(
        is_stream(&h, st, Status::Continue) && body.is_empty(),
        "{h:?}"
    );
    // The client finishes and is confirmed; the connection goes on.
    c.send_stream(st, Status::Ok, &[]);
    let (h, body) = c.read();
    assert!(is_stream(&h, st, Status::Ok) && body.is_empty(), "{h:?}");
    let s = c.send_call(P::ConnectGetHostname, &());
    let _: r::ConnectGetHostnameRet = c.reply(s, P::ConnectGetHostname);
}

#[test]
fn finish_and_abort_are_confirmed_and_end_the_relay() {
    let d = Daemon::start();
    let mut c = Client::connect(&d);
    let first = c.open_console();
    let second = c.open_console();

    // Finish the first: confirmed, and its guest side sees the hang-up.
    c.send_stream(first, Status::Ok, &[]);
    let (h, body) = c.read();
    assert!(is_stream(&h, first, Status::Ok) && body.is_empty(), "{h:?}");
    let mut g = d.guest(0);
    assert!(guest_readable(&g));
    let mut buf = [0u8; 16];
    assert!(
        matches!(g.read(&mut buf), Ok(0) | Err(_)),
        "still connected"
    );
    // Data after the end is dropped, a second finish is still confirmed.
    c.send_stream(first, Status::Continue, b"late");
    c.send_stream(first, Status::Ok, &[]);
    let (h, _) = c.read();
    assert!(is_stream(&h, first, Status::Ok), "{h:?}");

    // The second still works, then is aborted.
    c.send_stream(second, Status::Continue, b"x");
    assert!(guest_readable(&d.guest(1)));
    c.send_stream(second, Status::Error, &[]);
    let (h, body) = c.read();
    assert!(
        is_stream(&h, second, Status::Ok) && body.is_empty(),
        "{h:?}"
    );
}

#[test]
fn a_closed_connection_stops_its_streams() {
    let d = Daemon::start();
    let mut c = Client::connect(&d);
    c.open_console();
    let mut g = d.guest(0);
    drop(c);
    // The relay let go of the console: the guest's side hangs up.
    assert!(guest_readable(&g));
    let mut buf = [0u8; 16];
    assert!(
        matches!(g.read(&mut buf), Ok(0) | Err(_)),
        "still connected"
    );
}

#[test]
fn a_guest_writing_faster_than_its_client_reads_is_held_back() {
    let d = Daemon::start();
    let mut c = Client::connect(&d);
    let st = c.open_console();
    let guest = d.guest(0);
    host::fd::set_nonblocking(guest.as_fd(), true).unwrap();

    // The client reads nothing while the guest writes 64 MiB without
    // blocking: once the client has its fill queued, the relay stops
    // reading, the pty fills up and the guest's writes would block. Without
    // the hold-back the relay would drain the pty into the connection's
    // send queue and the guest would never be held.
    let total = 64usize << 20;
    let chunk: Vec<u8> = (0..64 * 1024).map(|i: u32| (i % 251) as u8).collect();
    let mut written = 0usize;
    let mut held = false;
    let mut g = &guest;
    // Consecutive refusals; a short pause between them lets a relay that
    // is still draining catch up, so only a lasting refusal counts.
    let mut refused = 0;
    for _ in 0..20_000 {
        if written >= total {
            break;
        }
        match g.write(&chunk[written % chunk.len()..]) {
            Ok(n) => {
                written += n;
                refused = 0;
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                refused += 1;
                if refused == 5 {
                    held = true;
                    break;
                }
                std::thread::sleep(Duration::from_millis(50 * refused));
            }
            Err(e) => panic!("guest write: {e}"),
        }
    }
    assert!(
        held,
        "the guest wrote {written} bytes without being held back"
    );
    assert!(written < total);

    // The client starts reading: everything written arrives, in order,
    // and the connection answers calls.
    let mut seen = 0usize;
    while seen < written {
        let (h, body) = c.read();
        assert!(is_stream(&h, st, Status::Continue), "{h:?}");
        for (k, b) in body.iter().enumerate() {
            assert_eq!(*b, chunk[(seen + k) % chunk.len()]);
        }
        seen += body.len();
    }
    assert_eq!(seen, written);
    let s = c.send_call(P::ConnectGetHostname, &());
    let _: r::ConnectGetHostnameRet = c.reply(s, P::ConnectGetHostname);
}

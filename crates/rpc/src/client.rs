// SPDX-License-Identifier: LGPL-2.1-or-later
//! A minimal blocking client of the remote program, for tests, the
//! benchmark and tools. One call at a time; events are collected.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::path::Path;

use protocol::header::{check_length, frame_value, Header, MessageType, Status, HEADER_SIZE};
use protocol::{keepalive, RemoteError};
use xdr::{from_bytes, Decoder, Xdr};

/// Failures of a client call.
#[derive(Debug)]
pub enum ClientError {
    Io(std::io::Error),
    Decode(xdr::XdrError),
    Remote(Box<RemoteError>),
    Protocol(String),
}

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientError::Io(e) => write!(f, "I/O error: {e}"),
            ClientError::Decode(e) => write!(f, "decode error: {e}"),
            ClientError::Remote(e) => write!(f, "{e}"),
            ClientError::Protocol(s) => write!(f, "protocol error: {s}"),
        }
    }
}

impl std::error::Error for ClientError {}

/// What a client talks over: a daemon's UNIX socket on this host, or its
/// TCP port on another (`qemu+tcp://HOST/...`).
enum Stream {
    Unix(UnixStream),
    Tcp(TcpStream),
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Stream::Unix(s) => s.read(buf),
            Stream::Tcp(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Stream::Unix(s) => s.write(buf),
            Stream::Tcp(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Stream::Unix(s) => s.flush(),
            Stream::Tcp(s) => s.flush(),
        }
    }
}

/// A connection speaking one program.
pub struct RpcClient {
    sock: Stream,
    prog: u32,
    vers: u32,
    serial: u32,
    /// Asynchronous messages (events) received while waiting for replies.
    pub events: Vec<(Header, Vec<u8>)>,
}

impl RpcClient {
    pub fn connect(path: &Path, prog: u32, vers: u32) -> Result<Self, ClientError> {
        let sock = UnixStream::connect(path).map_err(ClientError::Io)?;
        Ok(Self::over(Stream::Unix(sock), prog, vers))
    }

    /// Connects to `host`:`port` over TCP (the first address of the name
    /// that answers).
    pub fn connect_tcp(host: &str, port: u16, prog: u32, vers: u32) -> Result<Self, ClientError> {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let sock = TcpStream::connect((host, port)).map_err(ClientError::Io)?;
        let _ = sock.set_nodelay(true);
        Ok(Self::over(Stream::Tcp(sock), prog, vers))
    }

    fn over(sock: Stream, prog: u32, vers: u32) -> Self {
        RpcClient {
            sock,
            prog,
            vers,
            serial: 0,
            events: Vec::new(),
        }
    }

    /// Send raw bytes (for malformed-input tests).
    pub fn send_raw(&mut self, bytes: &[u8]) -> Result<(), ClientError> {
        self.sock.write_all(bytes).map_err(ClientError::Io)
    }

    /// Read one whole frame.
    pub fn read_frame(&mut self) -> Result<(Header, Vec<u8>), ClientError> {
        let mut len = [0u8; 4];
        self.sock.read_exact(&mut len).map_err(ClientError::Io)?;
        let total = check_length(u32::from_be_bytes(len)).map_err(ClientError::Decode)?;
        let mut body = vec![0u8; total - 4];
        self.sock.read_exact(&mut body).map_err(ClientError::Io)?;
        let h =
            Header::decode(&mut Decoder::new(&body[..HEADER_SIZE])).map_err(ClientError::Decode)?;
        Ok((h, body[HEADER_SIZE..].to_vec()))
    }

    /// Call procedure `proc_` and decode its reply.
    pub fn call<A: Xdr, R: Xdr>(&mut self, proc_: i32, args: &A) -> Result<R, ClientError> {
        self.serial = self.serial.wrapping_add(1);
        let h = Header::new(
            self.prog,
            self.vers,
            proc_,
            MessageType::Call,
            self.serial,
            Status::Ok,
        );
        self.sock
            .write_all(&frame_value(&h, args))
            .map_err(ClientError::Io)?;
        loop {
            let (rh, body) = self.read_frame()?;
            if rh.prog == keepalive::PROGRAM {
                if rh.proc_ == keepalive::PROC_PING {
                    let pong = Header::new(
                        rh.prog,
                        rh.vers,
                        keepalive::PROC_PONG,
                        MessageType::Message,
                        0,
                        Status::Ok,
                    );
                    self.sock
                        .write_all(&frame_value(&pong, &()))
                        .map_err(ClientError::Io)?;
                }
                continue;
            }
            if rh.message_type() == Some(MessageType::Message) {
                self.events.push((rh, body));
                continue;
            }
            if rh.serial != self.serial || rh.proc_ != proc_ {
                return Err(ClientError::Protocol(format!(
                    "unexpected reply serial {} proc {}",
                    rh.serial, rh.proc_
                )));
            }
            return match Status::from_i32(rh.status) {
                Some(Status::Ok) => from_bytes::<R>(&body).map_err(ClientError::Decode),
                Some(Status::Error) => {
                    let raw = from_bytes::<protocol::remote::Error>(&body)
                        .map_err(ClientError::Decode)?;
                    Err(ClientError::Remote(Box::new(RemoteError::from_raw(raw))))
                }
                _ => Err(ClientError::Protocol(format!(
                    "unexpected status {}",
                    rh.status
                ))),
            };
        }
    }
}

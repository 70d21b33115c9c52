// SPDX-License-Identifier: LGPL-2.1-or-later
//! Data streams bound to a call (virsh console): bytes from a file
//! descriptor go to the client as STREAM messages and back.
//!
//! Each stream is one task on the daemon's runtime (no thread, no
//! polling): the descriptor is made non-blocking and watched with
//! `AsyncFd`. The connection task never touches the descriptor, so a
//! stream can never hold up keepalive or the client's other calls.
//!
//! - Client → descriptor: [`Streams::incoming`] only queues the data for
//!   the stream's task, which writes it as the descriptor accepts it. The
//!   queue is bounded per stream (`INPUT_MAX` bytes). When it is full the
//!   descriptor is not draining (a guest that does not read its console):
//!   libvirt then stops reading the whole client socket until the stream
//!   drains (each queued message holds one of the client's request slots),
//!   which stalls keepalive and every other call of that client. We keep
//!   reading and abort that stream instead, with a STREAM error the client
//!   gets from its next stream call (virStreamSend fails with it); the
//!   connection and its other streams go on. Dropping data silently was
//!   the alternative; a console that loses keystrokes without a word is
//!   worse than one that says it gave up.
//! - Descriptor → client: at most `CHUNK` bytes per STREAM message, one
//!   read at a time, stopping when the client is gone. While the client
//!   has more than `OUTPUT_MAX` bytes waiting to be sent, the guest's
//!   output is not read (libvirt reads the next chunk once the previous
//!   message has left the socket): a guest that writes faster than its
//!   client reads is slowed down, not the connection dropped.
//! - Ends, as libvirt's daemon words them: end of file is an empty
//!   Continue message (libvirt's clients take a server-sent Ok for the
//!   confirmation of a finish they did not ask for, and drop the
//!   connection); a read or write failure is a STREAM message with status
//!   Error; a finish or abort from the client stops the stream and is
//!   confirmed with an empty Ok. The stream's task sends all of these, so
//!   nothing of a stream follows its last message.
//!
//! The RPC layer owns the streams: a handler only hands over the
//! descriptor with its reply ([`crate::Response::ReplyThenStream`]); the
//! server starts the relay after the reply, routes the client's STREAM
//! messages to it, and stops every stream of a client that goes. Knows the
//! client only as a destination for frames: any client state will do.

// RemoteError is the wire error, handed to the client as is.
#![allow(clippy::result_large_err)]

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use crate::server::Client;
use protocol::header::{frame, frame_value, Header, MessageType, Status};
use protocol::{ErrorCode, ErrorDomain, RemoteError};
use tokio::io::unix::AsyncFd;
use tokio::sync::mpsc;

/// Largest chunk sent in one STREAM message (libvirt uses 256 KiB).
const CHUNK: usize = 256 * 1024;

/// Client data a stream holds for a descriptor that does not drain before
/// the stream is aborted: four of libvirt's largest stream messages, far
/// more than anyone types or pastes into a console.
pub(crate) const INPUT_MAX: usize = 4 * CHUNK;
/// Bytes the client may have waiting to be sent before the relay stops
/// reading the guest's output.
const OUTPUT_MAX: usize = 4 * CHUNK;

/// What a stream's task is asked to do besides relaying.
enum Control {
    /// The client finished or aborted (its message's header): stop and
    /// confirm.
    Close(Header),
    /// Stop with this error (the client's data overflowed the queue).
    Fail(RemoteError),
}

/// One open stream, as the connection task sees it.
struct Entry {
    /// Tells this stream from a later one on the same serial.
    id: u64,
    input: mpsc::UnboundedSender<Vec<u8>>,
    control: mpsc::UnboundedSender<Control>,
    /// Bytes in `input` the task has not written yet.
    queued: Arc<AtomicUsize>,
    /// An end was asked for: further data is dropped.
    ending: bool,
    /// Packet mode: data is framed and the client waits instead of the
    /// stream being aborted when the queue is full.
    packets: bool,
    /// Signalled each time the task has written queued data.
    drained: Arc<tokio::sync::Notify>,
}

/// Open streams of one client, by call serial; shared with their tasks.
type Table = Arc<Mutex<HashMap<u32, Entry>>>;

fn lock(table: &Table) -> MutexGuard<'_, HashMap<u32, Entry>> {
    table.lock().unwrap_or_else(|p| p.into_inner())
}

/// Open streams of one client.
#[derive(Default)]
pub struct Streams {
    open: Table,
    next_id: AtomicU64,
}

fn stream_header(h: &Header, status: Status) -> Header {
    Header {
        type_: MessageType::Stream as i32,
        status: status as i32,
        ..*h
    }
}

/// The zero-length Ok that confirms a client's finish or abort.
fn confirmation(h: &Header) -> Vec<u8> {
    frame(&stream_header(h, Status::Ok), &[])
}

/// "what: reason" as a system error of the streams domain, the way
/// libvirt reports a failed read or write of a stream.
fn system_error(what: &str, e: &std::io::Error) -> RemoteError {
    let reason = virterror::os_error_text(e);
    RemoteError::new(
        ErrorCode::SystemError,
        ErrorDomain::Streams,
        Some(&format!("{what}: {reason}")),
    )
}

fn overflow_error() -> RemoteError {
    RemoteError::new(
        ErrorCode::Rpc,
        ErrorDomain::Streams,
        Some(&format!(
            "stream aborted: the other end is not reading it ({INPUT_MAX} bytes queued)"
        )),
    )
}

fn no_runtime() -> RemoteError {
    RemoteError::new(
        ErrorCode::InternalError,
        ErrorDomain::Streams,
        Some("streams need the daemon's runtime"),
    )
}

/// A stream's descriptor, ready to be relayed once its call is answered
/// ([`Streams::start`]).
pub struct Pending {
    rt: tokio::runtime::Handle,
    fd: AsyncFd<File>,
    /// Packet mode (a data transfer): see [`Pending::packets`].
    packets: bool,
    /// Packet mode, client to descriptor only (an upload): the descriptor
    /// is never read, and a failed write waits for the client's finish.
    upload: bool,
    done: Option<Completion>,
}

/// What ends a transfer: waits (on a blocking thread) for the other side
/// once the relay has closed its end, and gives the transfer's result.
pub type Completion = Box<dyn FnOnce() -> Result<(), RemoteError> + Send>;

/// Largest payload of a packet of a packet-mode stream.
pub const PACKET_MAX: usize = 64 * 1024;

impl Pending {
    /// Makes `fd` non-blocking and watches it on the daemon's runtime.
    pub fn new(fd: OwnedFd) -> Result<Self, RemoteError> {
        let rt = tokio::runtime::Handle::try_current().map_err(|_| no_runtime())?;
        host::fd::set_nonblocking(fd.as_fd(), true).map_err(|e| {
            RemoteError::new(
                ErrorCode::SystemError,
                ErrorDomain::Streams,
                Some(&format!("Unable to set non-blocking mode: {e}")),
            )
        })?;
        let fd = {
            let _in_runtime = rt.enter();
            // tokio deprecates this constructor because it cannot check that
            // an arbitrary value owns the descriptor it registers; a File
            // does, and AsyncFd keeps it (lending only &File) until the
            // registration ends. The replacement, AsyncFd::register, is
            // unsafe code, which this crate forbids.
            #[allow(deprecated)]
            let registered = AsyncFd::new(File::from(fd));
            registered.map_err(|e| system_error("cannot watch the stream's descriptor", &e))?
        };
        Ok(Pending {
            rt,
            fd,
            packets: false,
            upload: false,
            done: None,
        })
    }

    /// A data transfer (vol-upload, vol-download): `fd` is a
    /// `SOCK_SEQPACKET` socket whose packets are `D` + data or `H` + a
    /// hole's length (u64, little endian), relayed as STREAM and
    /// STREAM_HOLE messages. Unlike a console, the client is made to wait
    /// (its socket is not read) while the other side is behind, nothing
    /// is dropped, and the client's finish is confirmed only once every
    /// byte is through and `done` (run after the relay closed its end)
    /// says the transfer succeeded; its error is the client's otherwise.
    /// `upload`: data goes only to `fd`; when the other side stops taking
    /// it (a length reached, a full disk), what the client still sends is
    /// dropped and its finish is answered with the other side's error, as
    /// libvirt's daemon answers it.
    pub fn packets(fd: OwnedFd, done: Completion, upload: bool) -> Result<Self, RemoteError> {
        let mut p = Pending::new(fd)?;
        p.packets = true;
        p.upload = upload;
        p.done = Some(done);
        Ok(p)
    }
}

impl Streams {
    fn open(&self) -> MutexGuard<'_, HashMap<u32, Entry>> {
        lock(&self.open)
    }

    /// Queue `reply` to the opening call `h`, then relay the stream's
    /// descriptor in both directions until either side ends. The reply
    /// goes out before the stream's first message.
    pub fn start<S: Send + Sync + 'static>(
        &self,
        client: &Arc<Client<S>>,
        h: &Header,
        stream: Pending,
        reply: &[u8],
    ) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (input_tx, input) = mpsc::unbounded_channel();
        let (control_tx, control) = mpsc::unbounded_channel();
        let queued = Arc::new(AtomicUsize::new(0));
        let drained = Arc::new(tokio::sync::Notify::new());
        self.open().insert(
            h.serial,
            Entry {
                id,
                input: input_tx,
                control: control_tx,
                queued: queued.clone(),
                ending: false,
                packets: stream.packets,
                drained: drained.clone(),
            },
        );
        client.send(frame(&h.reply(Status::Ok), reply));
        let relay = Relay {
            client: Arc::downgrade(client),
            table: self.open.clone(),
            header: *h,
            id,
            fd: Some(stream.fd),
            packets: stream.packets,
            upload: stream.upload,
            broken: false,
            done: stream.done,
            input,
            control,
            queued,
            drained,
        };
        stream.rt.spawn(relay.run());
    }

    /// Whether a stream of the call with `serial` is open here.
    pub fn has(&self, serial: u32) -> bool {
        self.open().contains_key(&serial)
    }

    /// A STREAM (or STREAM_HOLE) message from the client for one of
    /// these streams (or one that has ended). Runs on the connection task:
    /// never waits itself, but for a packet-mode stream whose queue is
    /// full it returns what the connection task must wait for before it
    /// reads the client's next message.
    pub fn incoming<S>(
        &self,
        client: &Arc<Client<S>>,
        h: &Header,
        payload: &[u8],
    ) -> Option<std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>> {
        let hole = h.type_ == MessageType::StreamHole as i32;
        if h.type_ != MessageType::Stream as i32 && !hole {
            return None;
        }
        let mut open = self.open();
        let entry = open.get_mut(&h.serial);
        match (Status::from_i32(h.status), entry) {
            (Some(Status::Continue), Some(e)) if e.packets => {
                if e.ending {
                    return None;
                }
                let packets = if hole {
                    // remote_stream_hole: hyper length, unsigned flags.
                    let Some(len) = payload
                        .get(..8)
                        .map(|b| {
                            i64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
                        })
                        .filter(|l| *l >= 0)
                    else {
                        e.ending = true;
                        let _ = e.control.send(Control::Fail(RemoteError::new(
                            ErrorCode::Rpc,
                            ErrorDomain::Streams,
                            Some("malformed stream hole packet"),
                        )));
                        return None;
                    };
                    let mut p = Vec::with_capacity(9);
                    p.push(b'H');
                    p.extend_from_slice(&(len as u64).to_le_bytes());
                    vec![p]
                } else {
                    payload
                        .chunks(PACKET_MAX)
                        .map(|c| {
                            let mut p = Vec::with_capacity(c.len() + 1);
                            p.push(b'D');
                            p.extend_from_slice(c);
                            p
                        })
                        .collect()
                };
                for p in packets {
                    e.queued.fetch_add(p.len(), Ordering::AcqRel);
                    let _ = e.input.send(p);
                }
                if e.queued.load(Ordering::Acquire) <= INPUT_MAX {
                    return None;
                }
                // The other side is behind: the client waits, as with
                // libvirt, until the queue is drained below the bound.
                let (queued, drained, table, serial, id) = (
                    e.queued.clone(),
                    e.drained.clone(),
                    self.open.clone(),
                    h.serial,
                    e.id,
                );
                Some(Box::pin(async move {
                    loop {
                        let notified = drained.notified();
                        let open = lock(&table).get(&serial).is_some_and(|e| e.id == id);
                        if !open || queued.load(Ordering::Acquire) <= INPUT_MAX {
                            return;
                        }
                        let _ =
                            tokio::time::timeout(std::time::Duration::from_millis(200), notified)
                                .await;
                    }
                }))
            }
            (_, _) if hole => None,
            (Some(Status::Continue), Some(e)) => {
                if e.ending || payload.is_empty() {
                    return None;
                }
                let queued = e.queued.load(Ordering::Acquire);
                if queued > 0 && queued + payload.len() > INPUT_MAX {
                    e.ending = true;
                    let _ = e.control.send(Control::Fail(overflow_error()));
                    return None;
                }
                e.queued.fetch_add(payload.len(), Ordering::AcqRel);
                let _ = e.input.send(payload.to_vec());
                None
            }
            // Data for a stream that has already ended is dropped.
            (Some(Status::Continue), None) => None,
            (_, Some(e)) => {
                // Finish or abort: the stream's task stops and confirms,
                // after anything it still had to say.
                e.ending = true;
                let _ = e.control.send(Control::Close(*h));
                None
            }
            (_, None) => {
                // The client waits for a confirmation even for a stream
                // that already ended on our side.
                drop(open);
                client.send(confirmation(h));
                None
            }
        }
    }

    /// The client is gone (or closed its driver connection): every stream
    /// stops without a word.
    pub fn close_all(&self) {
        // Dropping the entries closes the tasks' channels.
        self.open().clear();
    }
}

/// A STREAM message for a call with no stream here (it has ended, or
/// never had one): data is dropped; a finish or abort is confirmed, since
/// the client waits for that.
pub fn answer_unknown<S>(client: &Arc<Client<S>>, h: &Header) {
    if h.type_ == MessageType::Stream as i32 && Status::from_i32(h.status) != Some(Status::Continue)
    {
        client.send(confirmation(h));
    }
}

/// How a stream's task ended.
enum End {
    /// The descriptor reached end of file.
    Eof,
    /// Reading or writing failed, or the client overflowed the queue.
    Failed(RemoteError),
    /// The client finished or aborted.
    Closed(Header),
    /// The client finished, but the transfer failed: the error answers
    /// its finish.
    FailedAt(Header, RemoteError),
    /// The client is gone: nobody to tell.
    Gone,
}

/// One stream's task and what it owns.
struct Relay<S> {
    client: Weak<Client<S>>,
    /// The client's streams, this one among them until it ends.
    table: Table,
    /// The opening call's header: stream messages carry its program,
    /// procedure and serial.
    header: Header,
    id: u64,
    /// Taken (closed) when a packet-mode transfer ends, before `done`.
    fd: Option<AsyncFd<File>>,
    packets: bool,
    upload: bool,
    /// An upload whose other side stopped taking data: the rest is
    /// dropped until the client finishes or aborts.
    broken: bool,
    done: Option<Completion>,
    input: mpsc::UnboundedReceiver<Vec<u8>>,
    control: mpsc::UnboundedReceiver<Control>,
    queued: Arc<AtomicUsize>,
    drained: Arc<tokio::sync::Notify>,
}

impl<S: Send + Sync + 'static> Relay<S> {
    fn send(&self, status: Status, data: &[u8]) -> bool {
        match self.client.upgrade() {
            Some(c) => c.send(frame(&stream_header(&self.header, status), data)),
            None => false,
        }
    }

    /// One packet of a packet-mode stream as its STREAM message (`D`)
    /// or STREAM_HOLE message (`H`).
    fn send_packet(&self, p: &[u8]) -> bool {
        let Some(client) = self.client.upgrade() else {
            return false;
        };
        match p.first() {
            Some(b'D') => client.send(frame(
                &stream_header(&self.header, Status::Continue),
                &p[1..],
            )),
            Some(b'H') if p.len() >= 9 => {
                let mut l = [0u8; 8];
                l.copy_from_slice(&p[1..9]);
                let len = i64::try_from(u64::from_le_bytes(l)).unwrap_or(i64::MAX);
                let mut payload = Vec::with_capacity(12);
                payload.extend_from_slice(&len.to_be_bytes());
                payload.extend_from_slice(&0u32.to_be_bytes());
                let h = Header {
                    type_: MessageType::StreamHole as i32,
                    status: Status::Continue as i32,
                    ..self.header
                };
                client.send(frame(&h, &payload))
            }
            _ => true,
        }
    }

    async fn run(mut self) {
        let end = match self.fd.take() {
            Some(fd) => {
                let end = self.relay(&fd).await;
                if self.packets {
                    self.settle(fd, end).await
                } else {
                    end
                }
            }
            None => End::Gone,
        };
        self.drained.notify_waiters();
        self.finish(end);
    }

    /// Packet mode: a finish first writes out what the client sent; then
    /// the descriptor is closed and the other side's result decides the
    /// stream's last word.
    async fn settle(&mut self, fd: AsyncFd<File>, end: End) -> End {
        let end = match end {
            End::Closed(h) if h.status == Status::Ok as i32 => match self.flush(&fd).await {
                Ok(()) => End::Closed(h),
                Err(e) => End::Failed(e),
            },
            other => other,
        };
        drop(fd);
        let Some(done) = self.done.take() else {
            return end;
        };
        let result = tokio::task::spawn_blocking(done)
            .await
            .unwrap_or_else(|_| Err(no_runtime()));
        match (end, result) {
            // The other side's own error says more than a broken pipe.
            (End::Eof | End::Failed(_), Err(e)) => End::Failed(e),
            (End::Closed(h), Err(e)) if h.status == Status::Ok as i32 => End::FailedAt(h, e),
            (end, _) => end,
        }
    }

    /// Writes every packet still queued (drops them once the other side
    /// stopped taking data; its result says why).
    async fn flush(&mut self, fd: &AsyncFd<File>) -> Result<(), RemoteError> {
        while let Ok(data) = self.input.try_recv() {
            if self.broken {
                self.queued.fetch_sub(data.len(), Ordering::AcqRel);
                continue;
            }
            let mut done = 0;
            while done < data.len() {
                let mut ready = fd
                    .writable()
                    .await
                    .map_err(|e| system_error("cannot write to stream", &e))?;
                match ready.try_io(|f| {
                    let mut file: &File = f.get_ref();
                    file.write(&data[done..])
                }) {
                    Err(_would_block) => {}
                    Ok(Ok(n)) => done += n,
                    Ok(Err(e)) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Ok(Err(_)) if self.upload => {
                        self.broken = true;
                        break;
                    }
                    Ok(Err(e)) => return Err(system_error("cannot write to stream", &e)),
                }
            }
            self.queued.fetch_sub(data.len(), Ordering::AcqRel);
            self.drained.notify_waiters();
        }
        Ok(())
    }

    async fn relay(&mut self, fd: &AsyncFd<File>) -> End {
        let mut buf = vec![0u8; CHUNK];
        // Client data being written: the message and how much is done.
        let mut pending: Option<(Vec<u8>, usize)> = None;
        loop {
            // The guest's output waits while the client has more than
            // OUTPUT_MAX bytes to read: a console keeps pace with its
            // reader instead of filling the connection's send queue.
            let congested = self
                .client
                .upgrade()
                .is_some_and(|c| c.queued_bytes() > OUTPUT_MAX);
            let weak = self.client.clone();
            let drained = async move {
                if let Some(c) = weak.upgrade() {
                    c.wait_queue_below(OUTPUT_MAX).await;
                }
            };
            // Unbiased: a guest that writes without pause must not starve
            // the client's input, nor the other way round.
            tokio::select! {
                _ = drained, if congested => {}
                c = self.control.recv(), if !(self.packets && pending.is_some()) => {
                    return match c {
                        Some(Control::Close(h)) => End::Closed(h),
                        Some(Control::Fail(e)) => End::Failed(e),
                        None => End::Gone,
                    };
                }
                r = fd.readable(), if !congested && !self.upload => {
                    let Ok(mut ready) = r else {
                        return End::Gone;
                    };
                    match ready.try_io(|f| {
                        let mut file: &File = f.get_ref();
                        file.read(&mut buf)
                    }) {
                        Err(_would_block) => {}
                        Ok(Ok(0)) => return End::Eof,
                        Ok(Ok(n)) if self.packets => {
                            if !self.send_packet(&buf[..n]) {
                                return End::Gone;
                            }
                        }
                        Ok(Ok(n)) => {
                            if !self.send(Status::Continue, &buf[..n]) {
                                return End::Gone;
                            }
                        }
                        Ok(Err(e)) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        // A pty master whose other side was closed.
                        Ok(Err(e)) if e.raw_os_error() == Some(libc::EIO) => return End::Eof,
                        Ok(Err(e)) => {
                            return End::Failed(system_error("cannot read from stream", &e))
                        }
                    }
                }
                w = fd.writable(), if pending.is_some() => {
                    let Ok(mut ready) = w else {
                        return End::Gone;
                    };
                    let Some((data, done)) = pending.as_mut() else {
                        continue;
                    };
                    match ready.try_io(|f| {
                        let mut file: &File = f.get_ref();
                        file.write(&data[*done..])
                    }) {
                        Err(_would_block) => {}
                        Ok(Ok(n)) => {
                            *done += n;
                            if *done >= data.len() {
                                self.queued.fetch_sub(data.len(), Ordering::AcqRel);
                                self.drained.notify_waiters();
                                pending = None;
                            }
                        }
                        Ok(Err(e)) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        Ok(Err(_)) if self.upload => {
                            // The other side stopped: its own error answers
                            // the client's finish.
                            self.broken = true;
                            if let Some((data, _)) = pending.take() {
                                self.queued.fetch_sub(data.len(), Ordering::AcqRel);
                                self.drained.notify_waiters();
                            }
                        }
                        Ok(Err(e)) => {
                            return End::Failed(system_error("cannot write to stream", &e))
                        }
                    }
                }
                m = self.input.recv(), if pending.is_none() => {
                    match m {
                        Some(data) if self.broken => {
                            self.queued.fetch_sub(data.len(), Ordering::AcqRel);
                            self.drained.notify_waiters();
                        }
                        Some(data) => pending = Some((data, 0)),
                        None => return End::Gone,
                    }
                }
            }
        }
    }

    /// Leaves the client's table, then sends the stream's last message and
    /// the confirmations the client asked for meanwhile.
    fn finish(&mut self, end: End) {
        let Some(client) = self.client.upgrade() else {
            return;
        };
        {
            let mut open = lock(&self.table);
            if open
                .get(&self.header.serial)
                .is_some_and(|e| e.id == self.id)
            {
                open.remove(&self.header.serial);
            }
        }
        // From here no control can arrive: what is queued is all there is.
        match end {
            End::Eof => {
                self.send(Status::Continue, &[]);
            }
            End::Failed(e) => {
                let h = stream_header(&self.header, Status::Error);
                client.send(frame_value(&h, &e.to_raw()));
            }
            End::Closed(h) => {
                client.send(confirmation(&h));
            }
            End::FailedAt(h, e) => {
                let h = stream_header(&h, Status::Error);
                client.send(frame_value(&h, &e.to_raw()));
            }
            End::Gone => return,
        }
        while let Ok(c) = self.control.try_recv() {
            if let Control::Close(h) = c {
                client.send(confirmation(&h));
            }
        }
    }
}

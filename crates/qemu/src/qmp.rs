// SPDX-License-Identifier: LGPL-2.1-or-later
//! An asynchronous QMP (QEMU Machine Protocol) client over a Unix socket.
//!
//! [`Qmp::connect`] reads QEMU's greeting and starts one reader task; any
//! number of callers may then [`Qmp::execute`] commands concurrently. Each
//! command carries an id (`libvirt-N`, as libvirt numbers them) and its
//! reply is matched by that id, so a slow command never delays another
//! caller's reply. Asynchronous events go to the [`Event`] channel given at
//! connect time. Every call has a deadline ([`Qmp::set_timeout`]) and can be
//! cancelled by dropping its future; when QEMU hangs, only the callers that
//! wait on it time out. When the socket closes or breaks, every waiting
//! caller gets [`QmpError::Eof`] / [`QmpError::Io`] and later calls fail at
//! once.

use serde_json::Value;
use std::collections::HashMap;
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::unix::OwnedWriteHalf;
use tokio::net::UnixStream;
use tokio::sync::{mpsc, oneshot};

/// The longest line (one JSON message) accepted from QEMU: the QMP schema
/// of QEMU 8 is about 200 KiB; this leaves ample room and still bounds a
/// misbehaving peer.
pub const MAX_MESSAGE: usize = 64 * 1024 * 1024;

/// Why a QMP call failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum QmpError {
    /// The monitor socket closed (QEMU exited).
    #[error("End of file from qemu monitor")]
    Eof,
    /// Reading or writing the socket failed.
    #[error("Unable to read from monitor: {0}")]
    Io(String),
    /// No reply within the deadline.
    #[error("timed out waiting for reply to '{0}'")]
    Timeout(String),
    /// QEMU sent something that is not QMP.
    #[error("internal error: {0}")]
    Protocol(String),
    /// QEMU answered the command with an error.
    #[error("{desc}")]
    Command {
        /// The error class (`GenericError`, `DeviceNotFound`, ...).
        class: String,
        /// QEMU's description.
        desc: String,
    },
}

/// An asynchronous event from QEMU.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// The event name (`STOP`, `SHUTDOWN`, `DEVICE_DELETED`, ...).
    pub name: String,
    /// Its `data` member (Null when absent).
    pub data: Value,
    /// Its timestamp as (seconds, microseconds).
    pub timestamp: (i64, i64),
}

/// A successful reply.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The `return` member.
    pub ret: Value,
    /// The whole message as QEMU sent it (for members whose order matters).
    pub raw: String,
}

type Pending = HashMap<String, oneshot::Sender<Result<(Value, String), QmpError>>>;

struct Inner {
    writer: tokio::sync::Mutex<OwnedWriteHalf>,
    pending: Mutex<Pending>,
    next_id: AtomicU64,
    closed: AtomicBool,
    close_reason: Mutex<Option<QmpError>>,
    timeout_ms: AtomicU64,
}

/// A connected QMP monitor. Cheap to clone; all clones share the socket.
#[derive(Clone)]
pub struct Qmp {
    inner: Arc<Inner>,
    greeting: Arc<Value>,
}

impl std::fmt::Debug for Qmp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Qmp").finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Qmp {
    /// Reads QEMU's greeting from `stream` and starts the reader task.
    /// Events are sent to `events` (dropped when None or when the receiver
    /// is gone). Does not negotiate: call [`Qmp::negotiate`] next.
    pub async fn connect(
        stream: UnixStream,
        events: Option<mpsc::UnboundedSender<Event>>,
    ) -> Result<Qmp, QmpError> {
        let (rd, wr) = stream.into_split();
        let mut reader = BufReader::new(rd);
        let greeting = loop {
            let line = read_line(&mut reader).await?;
            let v: Value = serde_json::from_str(&line)
                .map_err(|e| QmpError::Protocol(format!("cannot parse json {line}: {e}")))?;
            if v.get("QMP").is_some() {
                break v;
            }
        };
        let inner = Arc::new(Inner {
            writer: tokio::sync::Mutex::new(wr),
            pending: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            closed: AtomicBool::new(false),
            close_reason: Mutex::new(None),
            timeout_ms: AtomicU64::new(30_000),
        });
        tokio::spawn(reader_task(reader, Arc::downgrade(&inner), events));
        Ok(Qmp {
            inner,
            greeting: Arc::new(greeting),
        })
    }

    /// QEMU's greeting (`{"QMP": {"version": ..., "capabilities": [...]}}`).
    pub fn greeting(&self) -> &Value {
        &self.greeting
    }

    /// Leaves capabilities negotiation mode (`qmp_capabilities`).
    pub async fn negotiate(&self) -> Result<(), QmpError> {
        self.execute("qmp_capabilities", None).await.map(|_| ())
    }

    /// Sets the deadline of every later call.
    pub fn set_timeout(&self, t: Duration) {
        let ms = u64::try_from(t.as_millis()).unwrap_or(u64::MAX);
        self.inner.timeout_ms.store(ms, Ordering::Relaxed);
    }

    /// Whether the monitor is gone (EOF or error seen).
    pub fn is_closed(&self) -> bool {
        self.inner.closed.load(Ordering::Acquire)
    }

    /// Runs `command` with optional `arguments` and returns its reply; an
    /// error reply is [`QmpError::Command`].
    pub async fn execute(
        &self,
        command: &str,
        arguments: Option<Value>,
    ) -> Result<Reply, QmpError> {
        let (msg, raw) = self.execute_raw(command, arguments).await?;
        reply_of(msg, raw)
    }

    /// Runs `command` and returns QEMU's whole answer, error replies
    /// included (`{"return": ...}` or `{"error": {...}}`), for callers that
    /// treat some error classes as answers.
    pub async fn execute_raw(
        &self,
        command: &str,
        arguments: Option<Value>,
    ) -> Result<(Value, String), QmpError> {
        self.execute_inner(command, arguments, None).await
    }

    /// Runs `command` with `fd` passed along (SCM_RIGHTS on the monitor
    /// socket, as `getfd` and `add-fd` expect it), and returns its reply.
    pub async fn execute_with_fd(
        &self,
        command: &str,
        arguments: Option<Value>,
        fd: BorrowedFd<'_>,
    ) -> Result<Reply, QmpError> {
        let (msg, raw) = self.execute_inner(command, arguments, Some(fd)).await?;
        reply_of(msg, raw)
    }

    /// Hands `fd` to QEMU under `name` (`getfd`), for commands that take
    /// an `fd:NAME` URI (`migrate`, `migrate-incoming`, `dump-guest-memory`).
    pub async fn send_fd(&self, name: &str, fd: BorrowedFd<'_>) -> Result<(), QmpError> {
        self.execute_with_fd("getfd", Some(serde_json::json!({ "fdname": name })), fd)
            .await
            .map(|_| ())
    }

    async fn execute_inner(
        &self,
        command: &str,
        arguments: Option<Value>,
        fd: Option<BorrowedFd<'_>>,
    ) -> Result<(Value, String), QmpError> {
        if self.is_closed() {
            return Err(self.close_error());
        }
        let n = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        let id = format!("libvirt-{n}");
        let mut line = String::from("{\"execute\":");
        line.push_str(&Value::String(command.to_string()).to_string());
        if let Some(a) = &arguments {
            line.push_str(",\"arguments\":");
            line.push_str(&a.to_string());
        }
        line.push_str(",\"id\":\"");
        line.push_str(&id);
        line.push_str("\"}\r\n");
        let (tx, rx) = oneshot::channel();
        lock(&self.inner.pending).insert(id.clone(), tx);
        if self.is_closed() {
            lock(&self.inner.pending).remove(&id);
            return Err(self.close_error());
        }
        // Removes the waiter however this call ends (reply, error, timeout or
        // the caller dropping the future).
        let _guard = PendingGuard {
            inner: &self.inner,
            id: id.clone(),
        };
        let timeout = Duration::from_millis(self.inner.timeout_ms.load(Ordering::Relaxed));
        let work = async {
            {
                let mut w = self.inner.writer.lock().await;
                let mut bytes = line.as_bytes();
                if let Some(fd) = fd {
                    // The descriptor rides on the first bytes of the
                    // command; the rest (if the socket took only part)
                    // follows as plain data.
                    let sent = send_with_fd(w.as_ref(), bytes, fd)
                        .await
                        .map_err(|e| QmpError::Io(e.to_string()))?;
                    bytes = bytes.get(sent..).unwrap_or_default();
                }
                if let Err(e) = w.write_all(bytes).await {
                    return Err(QmpError::Io(e.to_string()));
                }
            }
            match rx.await {
                Ok(r) => r,
                Err(_) => Err(self.close_error()),
            }
        };
        match tokio::time::timeout(timeout, work).await {
            Ok(r) => r,
            Err(_) => Err(QmpError::Timeout(command.to_string())),
        }
    }

    fn close_error(&self) -> QmpError {
        lock(&self.inner.close_reason)
            .clone()
            .unwrap_or(QmpError::Eof)
    }
}

/// Writes the first bytes of `data` with `fd` attached, once the socket
/// takes them; the count written.
async fn send_with_fd(
    sock: &UnixStream,
    data: &[u8],
    fd: BorrowedFd<'_>,
) -> std::io::Result<usize> {
    loop {
        sock.writable().await?;
        let res = sock.try_io(tokio::io::Interest::WRITABLE, || {
            host::fd::send_with_fds(sock.as_fd(), data, &[fd]).map_err(host::Error::into_io)
        });
        match res {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        }
    }
}

struct PendingGuard<'a> {
    inner: &'a Inner,
    id: String,
}

impl Drop for PendingGuard<'_> {
    fn drop(&mut self) {
        lock(&self.inner.pending).remove(&self.id);
    }
}

/// Turns a whole answer into a reply or a command error.
pub fn reply_of(msg: Value, raw: String) -> Result<Reply, QmpError> {
    if let Some(err) = msg.get("error") {
        return Err(QmpError::Command {
            class: err
                .get("class")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            desc: err
                .get("desc")
                .and_then(Value::as_str)
                .unwrap_or("unknown QEMU command error")
                .to_string(),
        });
    }
    match msg.get("return") {
        Some(r) => Ok(Reply {
            ret: r.clone(),
            raw,
        }),
        None => Err(QmpError::Protocol(format!(
            "unexpected reply from QEMU: {raw}"
        ))),
    }
}

async fn read_line<R: tokio::io::AsyncBufRead + Unpin>(r: &mut R) -> Result<String, QmpError> {
    let mut buf = Vec::new();
    loop {
        let chunk = r
            .fill_buf()
            .await
            .map_err(|e| QmpError::Io(e.to_string()))?;
        if chunk.is_empty() {
            return Err(QmpError::Eof);
        }
        if let Some(pos) = chunk.iter().position(|b| *b == b'\n') {
            buf.extend_from_slice(&chunk[..pos]);
            r.consume(pos + 1);
            break;
        }
        let n = chunk.len();
        buf.extend_from_slice(chunk);
        r.consume(n);
        if buf.len() > MAX_MESSAGE {
            return Err(QmpError::Protocol(
                "QEMU monitor reply exceeds buffer size".into(),
            ));
        }
    }
    if buf.last() == Some(&b'\r') {
        buf.pop();
    }
    String::from_utf8(buf).map_err(|_| QmpError::Protocol("monitor sent invalid UTF-8".into()))
}

async fn reader_task(
    mut reader: BufReader<tokio::net::unix::OwnedReadHalf>,
    inner: std::sync::Weak<Inner>,
    events: Option<mpsc::UnboundedSender<Event>>,
) {
    let end = loop {
        let line = match read_line(&mut reader).await {
            Ok(l) => l,
            Err(e) => break e,
        };
        if line.trim().is_empty() {
            continue;
        }
        let Some(inner) = inner.upgrade() else {
            return;
        };
        let v: Value = match serde_json::from_str(&line) {
            Ok(v) => v,
            Err(e) => break QmpError::Protocol(format!("cannot parse json {line}: {e}")),
        };
        if let Some(name) = v.get("event").and_then(Value::as_str) {
            if let Some(tx) = &events {
                let ts = v.get("timestamp");
                let get = |k: &str| {
                    ts.and_then(|t| t.get(k))
                        .and_then(Value::as_i64)
                        .unwrap_or(0)
                };
                let _ = tx.send(Event {
                    name: name.to_string(),
                    data: v.get("data").cloned().unwrap_or(Value::Null),
                    timestamp: (get("seconds"), get("microseconds")),
                });
            }
            continue;
        }
        let id = v.get("id").and_then(Value::as_str).map(str::to_string);
        match id {
            Some(id) => {
                let tx = lock(&inner.pending).remove(&id);
                if let Some(tx) = tx {
                    let _ = tx.send(Ok((v, line)));
                }
                // A reply nobody waits for (cancelled or timed-out call) is dropped.
            }
            None => {
                // libvirt always sends ids; an id-less reply answers nothing we asked.
            }
        }
    };
    if let Some(inner) = inner.upgrade() {
        *lock(&inner.close_reason) = Some(end.clone());
        inner.closed.store(true, Ordering::Release);
        let waiters: Vec<_> = lock(&inner.pending).drain().collect();
        for (_, tx) in waiters {
            let _ = tx.send(Err(end.clone()));
        }
    }
}

// SPDX-License-Identifier: LGPL-2.1-or-later
//! vol-upload and vol-download: a thread per transfer between the volume
//! file and one end of a socket pair whose other end the RPC layer
//! relays to the client (`driver::DataStream`). The socket carries
//! packets: `D` + data, or `H` + a hole's length (8 bytes, little
//! endian) for sparse streams.
//!
//! An upload writes at most `length` bytes (when given) from `offset`;
//! more is libvirt's "cannot write to stream: No space left on device".
//! A download reads from `offset` to `length` or the end, sending holes
//! as holes when the client asked for a sparse stream.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::fd::OwnedFd;
use std::sync::mpsc;
use std::sync::Arc;

use driver::DataStream;
use virterror::{ErrorCode, ErrorDomain, VirError};

use crate::pools::StorageDriver;

type Result<T> = std::result::Result<T, VirError>;

/// Largest packet payload.
pub const PACKET_MAX: usize = driver::STREAM_PACKET_MAX;

/// VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM / VIR_STORAGE_VOL_DOWNLOAD_SPARSE_STREAM.
pub const SPARSE: u32 = 1;

fn stream_err(e: &std::io::Error, what: &str) -> VirError {
    VirError::new(
        ErrorCode::SystemError,
        ErrorDomain::Streams,
        format!("{what}: {}", virterror::os_error_text(e)),
    )
}

fn pair() -> Result<(OwnedFd, OwnedFd)> {
    use rustix::net::{socketpair, AddressFamily, SocketFlags, SocketType};
    socketpair(
        AddressFamily::UNIX,
        SocketType::SEQPACKET,
        SocketFlags::CLOEXEC,
        None,
    )
    .map_err(|e| {
        stream_err(
            &std::io::Error::from_raw_os_error(e.raw_os_error()),
            "Unable to create stream socket pair",
        )
    })
}

/// Starts a transfer thread and wraps its result for the RPC layer.
fn spawn(
    drv: Arc<StorageDriver>,
    v: &driver::VolRef,
    f: impl FnOnce(OwnedFd) -> Result<()> + Send + 'static,
) -> Result<DataStream> {
    let (obj, def) = drv.stream_begin(v)?;
    let (ours, theirs) = match pair() {
        Ok(p) => p,
        Err(e) => {
            drv.stream_done(&obj, &def.name);
            return Err(e);
        }
    };
    let (tx, rx) = mpsc::channel();
    let name = def.name.clone();
    let spawned = std::thread::Builder::new()
        .name("vol-stream".into())
        .spawn(move || {
            let r = f(ours);
            drv.stream_done(&obj, &name);
            let _ = tx.send(r);
        });
    if let Err(e) = spawned {
        return Err(stream_err(&e, "cannot start stream thread"));
    }
    Ok(DataStream {
        fd: theirs,
        done: Box::new(move || {
            rx.recv().unwrap_or_else(|_| {
                Err(VirError::new(
                    ErrorCode::InternalError,
                    ErrorDomain::Streams,
                    "stream thread ended without a result",
                ))
            })
        }),
    })
}

/// virStorageVolUpload.
pub fn upload(
    drv: &Arc<StorageDriver>,
    v: &driver::VolRef,
    offset: u64,
    length: u64,
    flags: u32,
) -> Result<DataStream> {
    crate::check_flags(flags, SPARSE, "storageVolUpload")?;
    let path = drv.stream_path(v, "upload")?;
    let mut file = OpenOptions::new()
        .write(true)
        .open(&path)
        .map_err(|e| stream_err(&e, &format!("Unable to open stream for '{path}'")))?;
    file.seek(SeekFrom::Start(offset))
        .map_err(|e| stream_err(&e, &format!("Unable to seek {path} to {offset}")))?;
    let sparse = flags & SPARSE != 0;
    spawn(drv.clone(), v, move |sock| {
        receive(sock, file, length, sparse)
    })
}

fn receive(sock: OwnedFd, mut file: File, length: u64, sparse: bool) -> Result<()> {
    let mut buf = vec![0u8; PACKET_MAX + 1];
    let mut done = 0u64;
    let start = file.stream_position().unwrap_or(0);
    loop {
        let n = match rustix::io::read(&sock, &mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => {
                return Err(stream_err(
                    &std::io::Error::from_raw_os_error(e.raw_os_error()),
                    "cannot read from stream",
                ))
            }
        };
        match buf[0] {
            b'D' => {
                let mut data = &buf[1..n];
                if length > 0 {
                    if done == length {
                        return Err(stream_err(
                            &std::io::Error::from_raw_os_error(libc_enospc()),
                            "cannot write to stream",
                        ));
                    }
                    let left = usize::try_from(length - done).unwrap_or(usize::MAX);
                    data = &data[..data.len().min(left)];
                }
                file.write_all(data)
                    .map_err(|e| stream_err(&e, "cannot write to stream"))?;
                done += data.len() as u64;
            }
            b'H' if sparse && n >= 9 => {
                let mut l = [0u8; 8];
                l.copy_from_slice(&buf[1..9]);
                let mut len = u64::from_le_bytes(l);
                if length > 0 {
                    len = len.min(length - done);
                }
                let pos = start + done;
                // A hole over existing data reads as zeros afterwards.
                let size = file.metadata().map(|m| m.len()).unwrap_or(0);
                if pos < size {
                    let punch = len.min(size - pos);
                    use rustix::fs::FallocateFlags as F;
                    let _ = rustix::fs::fallocate(&file, F::PUNCH_HOLE | F::KEEP_SIZE, pos, punch);
                }
                file.seek(SeekFrom::Current(i64::try_from(len).unwrap_or(i64::MAX)))
                    .map_err(|e| stream_err(&e, "unable to seek"))?;
                done += len;
            }
            _ => {
                return Err(VirError::new(
                    ErrorCode::InternalError,
                    ErrorDomain::Streams,
                    "unexpected stream packet",
                ))
            }
        }
    }
    // A trailing hole extends the file.
    let end = start + done;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    if end > size {
        file.set_len(end)
            .map_err(|e| stream_err(&e, "cannot write to stream"))?;
    }
    file.sync_data()
        .map_err(|e| stream_err(&e, "unable to sync stream data"))
}

fn libc_enospc() -> i32 {
    rustix::io::Errno::NOSPC.raw_os_error()
}

/// virStorageVolDownload.
pub fn download(
    drv: &Arc<StorageDriver>,
    v: &driver::VolRef,
    offset: u64,
    length: u64,
    flags: u32,
) -> Result<DataStream> {
    crate::check_flags(flags, SPARSE, "storageVolDownload")?;
    let path = drv.stream_path(v, "download")?;
    let file = File::open(&path)
        .map_err(|e| stream_err(&e, &format!("Unable to open stream for '{path}'")))?;
    let sparse = flags & SPARSE != 0;
    spawn(drv.clone(), v, move |sock| {
        send(sock, file, offset, length, sparse)
    })
}

fn put(sock: &OwnedFd, pkt: &[u8]) -> std::result::Result<bool, VirError> {
    loop {
        match rustix::io::write(sock, pkt) {
            Ok(_) => return Ok(true),
            Err(rustix::io::Errno::INTR) => continue,
            // The client went away or aborted: nothing more to send.
            Err(rustix::io::Errno::PIPE) | Err(rustix::io::Errno::CONNRESET) => return Ok(false),
            Err(e) => {
                return Err(stream_err(
                    &std::io::Error::from_raw_os_error(e.raw_os_error()),
                    "cannot write to stream",
                ))
            }
        }
    }
}

fn send(sock: OwnedFd, mut file: File, offset: u64, length: u64, sparse: bool) -> Result<()> {
    let size = file
        .metadata()
        .map_err(|e| stream_err(&e, "cannot stat stream source"))?
        .len();
    let end = if length > 0 {
        offset.saturating_add(length).min(size.max(offset))
    } else {
        size
    };
    let mut pos = offset;
    let mut pkt = vec![0u8; PACKET_MAX + 1];
    pkt[0] = b'D';
    while pos < end {
        if sparse {
            // Where the next data starts: a hole before it is sent as one.
            let data = match rustix::fs::seek(&file, rustix::fs::SeekFrom::Data(pos)) {
                Ok(d) => d,
                Err(rustix::io::Errno::NXIO) => end,
                Err(_) => pos,
            };
            if data > pos {
                let hole = data.min(end) - pos;
                let mut h = [0u8; 9];
                h[0] = b'H';
                h[1..].copy_from_slice(&hole.to_le_bytes());
                if !put(&sock, &h)? {
                    return Ok(());
                }
                pos += hole;
                continue;
            }
            let data_end = match rustix::fs::seek(&file, rustix::fs::SeekFrom::Hole(pos)) {
                Ok(h) => h.min(end),
                Err(_) => end,
            };
            pos = copy_range(&sock, &mut file, &mut pkt, pos, data_end)?;
            if pos == u64::MAX {
                return Ok(());
            }
        } else {
            pos = copy_range(&sock, &mut file, &mut pkt, pos, end)?;
            if pos == u64::MAX {
                return Ok(());
            }
        }
    }
    Ok(())
}

/// Sends [from, to) as data packets; `u64::MAX` when the client left.
fn copy_range(sock: &OwnedFd, file: &mut File, pkt: &mut [u8], from: u64, to: u64) -> Result<u64> {
    file.seek(SeekFrom::Start(from))
        .map_err(|e| stream_err(&e, "unable to seek"))?;
    let mut pos = from;
    while pos < to {
        let want = usize::try_from(to - pos)
            .unwrap_or(PACKET_MAX)
            .min(PACKET_MAX);
        let n = match file.read(&mut pkt[1..=want]) {
            Ok(0) => return Ok(to),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(stream_err(&e, "cannot read from stream")),
        };
        if !put(sock, &pkt[..=n])? {
            return Ok(u64::MAX);
        }
        pos += n as u64;
    }
    Ok(pos)
}

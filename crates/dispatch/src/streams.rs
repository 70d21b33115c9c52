// SPDX-License-Identifier: LGPL-2.1-or-later
//! Data streams bound to a call (virsh console): bytes from a file
//! descriptor go to the client as STREAM messages and back.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use protocol::header::{frame, Header, MessageType, Status};
use rpc::Client;

use crate::remote::RemoteState;

struct Entry {
    file: Arc<File>,
    stop: Arc<AtomicBool>,
}

/// Open streams of one client, by call serial.
#[derive(Default)]
pub struct Streams {
    open: Mutex<HashMap<u32, Entry>>,
}

fn stream_header(h: &Header, status: Status) -> Header {
    Header {
        type_: MessageType::Stream as i32,
        status: status as i32,
        ..*h
    }
}

/// Largest chunk sent in one STREAM message (libvirt uses 256 KiB).
const CHUNK: usize = 256 * 1024;

impl Streams {
    /// Reply to the opening call, then relay `fd` in both directions.
    pub fn open_console(&self, client: &Arc<Client<RemoteState>>, h: &Header, fd: OwnedFd) {
        let file = Arc::new(File::from(fd));
        let stop = Arc::new(AtomicBool::new(false));
        if let Ok(mut m) = self.open.lock() {
            m.insert(
                h.serial,
                Entry {
                    file: file.clone(),
                    stop: stop.clone(),
                },
            );
        }
        let weak = Arc::downgrade(client);
        let h = *h;
        std::thread::spawn(move || {
            let mut buf = vec![0u8; CHUNK];
            loop {
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                match host::process::poll_read(&[file.as_fd()], 250) {
                    Ok(r) if r.first() == Some(&true) => {}
                    Ok(_) => continue,
                    Err(_) => break,
                }
                let n = match (&*file).read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                let Some(c) = weak.upgrade() else { return };
                if !c.send(frame(&stream_header(&h, Status::Continue), &buf[..n])) {
                    return;
                }
            }
            if let Some(c) = weak.upgrade() {
                if !stop.load(Ordering::Relaxed) {
                    c.send(frame(&stream_header(&h, Status::Ok), &[]));
                }
                if let Ok(mut m) = c.state.streams.open.lock() {
                    m.remove(&h.serial);
                }
            }
        });
    }

    /// A STREAM message from the client.
    pub fn incoming(&self, client: &Arc<Client<RemoteState>>, h: &Header, payload: &[u8]) {
        let status = Status::from_i32(h.status);
        let entry = self
            .open
            .lock()
            .ok()
            .and_then(|m| m.get(&h.serial).map(|e| (e.file.clone(), e.stop.clone())));
        match (status, entry) {
            (Some(Status::Continue), Some((file, stop))) => {
                if (&*file).write_all(payload).is_err() {
                    stop.store(true, Ordering::Relaxed);
                }
            }
            // Data for a stream that has already ended is dropped.
            (Some(Status::Continue), None) => {}
            (_, entry) => {
                // Finish or abort: stop relaying. The client waits for a
                // zero-length confirmation either way (also for a stream
                // that already ended on our side).
                if let Some((_, stop)) = entry {
                    stop.store(true, Ordering::Relaxed);
                }
                if let Ok(mut m) = self.open.lock() {
                    m.remove(&h.serial);
                }
                client.send(frame(&stream_header(h, Status::Ok), &[]));
            }
        }
    }

    pub fn close_all(&self) {
        if let Ok(mut m) = self.open.lock() {
            for (_, e) in m.drain() {
                e.stop.store(true, Ordering::Relaxed);
            }
        }
    }
}

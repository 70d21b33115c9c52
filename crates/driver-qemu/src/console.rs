// SPDX-License-Identifier: LGPL-2.1-or-later
//! Character devices on a pseudo-terminal: the `/dev/pts/N` QEMU gave each
//! (`query-chardev` at start) written into the live definition
//! (`<source path>`; the formatter adds `tty=` to the first console), and
//! virDomainOpenConsole handing that terminal to a client stream.
//!
//! One client at a time per device, as libvirt's: the stream gets one end
//! of a socket pair, a relay thread carries bytes between the other end
//! and the terminal, and a second open fails unless forced, which ends
//! the first client's relay (its stream sees the end) and starts its own.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use conf::xml::{Element, Node};
use conf::DomainDef;
use driver::error::ErrorCode;
use driver::{DomainRef, Error, Result};

use crate::state::{Driver, QEMU};

/// The pty of each chardev label in a `query-chardev` reply
/// (`{"label": "charserial0", "filename": "pty:/dev/pts/3"}`).
pub(crate) fn pty_paths(reply: &serde_json::Value) -> HashMap<String, String> {
    reply
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|c| {
                    let label = c.get("label")?.as_str()?;
                    let path = c.get("filename")?.as_str()?.strip_prefix("pty:")?;
                    Some((label.to_string(), path.to_string()))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn target_port(el: &Element) -> u64 {
    el.child("target")
        .and_then(|t| t.attr("port"))
        .and_then(|p| p.parse().ok())
        .unwrap_or(0)
}

/// The alias libvirt gives a character device: `serialP` for serial port
/// P (and for the first console when it is that serial port), `consoleI`
/// for the other consoles, `parallelP`.
fn chr_alias(el: &Element, console_index: usize) -> Option<String> {
    if let Some(a) = el.child("alias").and_then(|a| a.attr("name")) {
        return Some(a.to_string());
    }
    match el.local_name() {
        "serial" => Some(format!("serial{}", target_port(el))),
        "parallel" => Some(format!("parallel{}", target_port(el))),
        "console" => {
            let tt = el.child("target").and_then(|t| t.attr("type"));
            if console_index == 0 && matches!(tt, Some("serial") | None) {
                Some(format!("serial{}", target_port(el)))
            } else {
                Some(format!("console{console_index}"))
            }
        }
        _ => None,
    }
}

/// Sets the pty path of each `type='pty'` serial, parallel and console
/// device of a running guest from `ptys` (by chardev label `charALIAS`).
pub(crate) fn record_ptys(def: &mut DomainDef, ptys: &HashMap<String, String>) {
    let mut console_index = 0;
    for el in def.devices.iter_mut() {
        let name = el.local_name().to_string();
        if !["serial", "parallel", "console"].contains(&name.as_str()) {
            continue;
        }
        let index = console_index;
        if name == "console" {
            console_index += 1;
        }
        if el.attr("type").unwrap_or("pty") != "pty" {
            continue;
        }
        let Some(alias) = chr_alias(el, index) else {
            continue;
        };
        let Some(path) = ptys.get(&format!("char{alias}")) else {
            continue;
        };
        if let Some(src) = el.child_mut("source") {
            src.set_attr("path", path);
        } else {
            el.children.insert(
                0,
                Node::Element(Element::new("source").with_attr("path", path)),
            );
        }
    }
}

/// The console sessions open, by domain UUID and terminal.
#[derive(Default)]
pub(crate) struct Sessions {
    map: Mutex<HashMap<([u8; 16], String), Session>>,
}

struct Session {
    /// Dropping it (the write end of a pipe) ends the relay.
    _stop: OwnedFd,
    /// Cleared when the relay ends (either side closed).
    alive: Arc<AtomicBool>,
}

/// Carries bytes between the terminal `tty` and the client's socket end
/// `sock` until either closes or `stop` (a pipe's read end) hangs up.
fn relay(tty: OwnedFd, sock: std::os::unix::net::UnixStream, stop: OwnedFd, alive: &AtomicBool) {
    let mut tty_file = std::fs::File::from(tty);
    let mut sock = sock;
    let mut buf = [0u8; 4096];
    while let Ok(ready) =
        host::process::poll_read(&[tty_file.as_fd(), sock.as_fd(), stop.as_fd()], -1)
    {
        if ready.get(2) == Some(&true) {
            break;
        }
        if ready.first() == Some(&true) {
            match tty_file.read(&mut buf) {
                Ok(n) if n > 0 => {
                    if sock.write_all(buf.get(..n).unwrap_or(&[])).is_err() {
                        break;
                    }
                }
                _ => break,
            }
        }
        if ready.get(1) == Some(&true) {
            match sock.read(&mut buf) {
                Ok(n) if n > 0 => {
                    if tty_file.write_all(buf.get(..n).unwrap_or(&[])).is_err() {
                        break;
                    }
                }
                _ => break,
            }
        }
    }
    let _ = sock.shutdown(std::net::Shutdown::Both);
    alive.store(false, Ordering::Relaxed);
}

/// VIR_DOMAIN_CONSOLE_FORCE.
pub(crate) const CONSOLE_FORCE: u32 = 1;

impl Driver {
    /// virDomainOpenConsole: the guest's console (or the character device
    /// aliased `dev`) when it is on a pty, relayed to a stream; a device
    /// already in use is taken over only with VIR_DOMAIN_CONSOLE_FORCE.
    pub(crate) fn open_console(
        &self,
        r: &DomainRef,
        dev: Option<&str>,
        flags: u32,
    ) -> Result<OwnedFd> {
        let dom = self.get(r)?;
        let def = {
            let st = dom.lock();
            st.live
                .as_ref()
                .ok_or_else(crate::process::not_running)?
                .def
                .clone()
        };
        let mut consoles = 0;
        let mut chosen: Option<(&Element, String)> = None;
        let mut first_serial = None;
        for el in &def.devices {
            let index = consoles;
            match el.local_name() {
                "console" => consoles += 1,
                "serial" | "parallel" => {}
                _ => continue,
            }
            let alias = chr_alias(el, index).unwrap_or_default();
            match dev {
                Some(d) if d == alias && chosen.is_none() => chosen = Some((el, alias)),
                None if el.local_name() == "console" && index == 0 => chosen = Some((el, alias)),
                None if el.local_name() == "serial" && first_serial.is_none() => {
                    first_serial = Some((el, alias))
                }
                _ => {}
            }
        }
        let Some((el, alias)) = chosen.or(first_serial) else {
            return Err(Error::internal(
                QEMU,
                format!("cannot find character device {}", dev.unwrap_or("<null>")),
            ));
        };
        let path = el
            .child("source")
            .and_then(|s| s.attr("path"))
            .filter(|_| el.attr("type").unwrap_or("pty") == "pty");
        let Some(path) = path else {
            return Err(Error::internal(
                QEMU,
                format!(
                    "character device {} is not using a PTY",
                    dev.unwrap_or(&alias)
                ),
            ));
        };
        let key = (*dom.uuid(), path.to_string());
        let mut sessions = self
            .consoles
            .map
            .lock()
            .map_err(|_| Error::internal(QEMU, "console table poisoned"))?;
        if let Some(old) = sessions.get(&key) {
            if old.alive.load(Ordering::Relaxed) && flags & CONSOLE_FORCE == 0 {
                return Err(Error::new(
                    ErrorCode::OperationFailed,
                    QEMU,
                    "Active console session exists for this domain",
                ));
            }
            // Ends the earlier client's relay.
            sessions.remove(&key);
        }
        let fd = host::pty::open_tty(std::path::Path::new(path)).map_err(|e| {
            Error::new(
                ErrorCode::OperationFailed,
                QEMU,
                format!("Unable to open console '{path}': {e}"),
            )
        })?;
        // Bytes pass unchanged both ways.
        let _ = host::pty::make_raw(fd.as_fd());
        let sys = |what: &str, e: std::io::Error| {
            Error::new(
                ErrorCode::SystemError,
                QEMU,
                format!("{what}: {}", virterror::os_error_text(&e)),
            )
        };
        let (ours, theirs) = std::os::unix::net::UnixStream::pair()
            .map_err(|e| sys("Unable to create socket pair", e))?;
        let (stop_rd, stop_wr) =
            host::fd::pipe_cloexec().map_err(|e| sys("cannot create pipe", e.into_io()))?;
        let alive = Arc::new(AtomicBool::new(true));
        let flag = alive.clone();
        std::thread::Builder::new()
            .name("console-relay".into())
            .spawn(move || relay(fd, ours, stop_rd, &flag))
            .map_err(|e| sys("cannot start the console relay", e))?;
        sessions.insert(
            key,
            Session {
                _stop: stop_wr,
                alive,
            },
        );
        Ok(OwnedFd::from(theirs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ptys_come_from_query_chardev() {
        let reply = serde_json::json!([
            {"label": "charserial0", "filename": "pty:/dev/pts/7", "frontend-open": true},
            {"label": "charserial1", "filename": "file:/tmp/x"},
            {"label": "charmonitor", "filename": "unix:/x,server=on"}
        ]);
        let m = pty_paths(&reply);
        assert_eq!(m.len(), 1);
        assert_eq!(m.get("charserial0").map(String::as_str), Some("/dev/pts/7"));
    }
}

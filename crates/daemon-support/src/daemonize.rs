// SPDX-License-Identifier: LGPL-2.1-or-later
//! `-d`: detach into the background.
//!
//! The process forks; the child starts a new session and forks again; the
//! grandchild carries on as the daemon with stdin/stdout/stderr on
//! /dev/null. The original process waits on a pipe until the daemon calls
//! [`ready_notify`] (its sockets are serving) and then exits 0, or until it
//! calls [`ready_fail`] and then prints the reason and exits 1 — so
//! `libvirtd -d` returns only once clients can connect.
//!
//! Call [`daemonize`] before any other thread exists (before the async
//! runtime starts): only the calling thread survives a fork.

use std::fs::File;
use std::io::{Read, Write};
use std::sync::Mutex;

use host::process::Detached;

/// Why a daemon failed to start (libvirt's virDaemonErr; the number is the
/// byte sent to the waiting parent and the daemon's exit status).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DaemonErr {
    /// 1
    PidFile = 1,
    /// 2
    RunDir,
    /// 3
    Init,
    /// 4
    Signal,
    /// 5
    Privs,
    /// 6
    Network,
    /// 7
    Config,
    /// 8
    Hooks,
    /// 9
    Reexec,
    /// 10
    Audit,
    /// 11
    Driver,
}

impl DaemonErr {
    /// libvirt's description, printed by the waiting parent.
    pub fn as_str(self) -> &'static str {
        match self {
            DaemonErr::PidFile => "Unable to obtain pidfile",
            DaemonErr::RunDir => "Unable to create rundir",
            DaemonErr::Init => "Unable to initialize libvirt",
            DaemonErr::Signal => "Unable to setup signal handlers",
            DaemonErr::Privs => "Unable to drop privileges",
            DaemonErr::Network => "Unable to initialize network sockets",
            DaemonErr::Config => "Unable to load configuration file",
            DaemonErr::Hooks => "Unable to look for hook scripts",
            DaemonErr::Reexec => "Unable to re-execute daemon",
            DaemonErr::Audit => "Unable to initialize audit system",
            DaemonErr::Driver => "Unable to initialize driver",
        }
    }

    /// The process exit status libvirt uses for this failure.
    pub fn exit_code(self) -> i32 {
        self as i32
    }

    fn from_byte(b: u8) -> Option<DaemonErr> {
        use DaemonErr::*;
        [
            PidFile, RunDir, Init, Signal, Privs, Network, Config, Hooks, Reexec, Audit, Driver,
        ]
        .into_iter()
        .find(|e| *e as u8 == b)
    }
}

static STATUS_PIPE: Mutex<Option<File>> = Mutex::new(None);

fn os_reason(err: &std::io::Error) -> String {
    virterror::os_error_text(err)
}

/// Detaches. Returns in the daemon (grandchild) process only; the calling
/// process exits once the daemon reports. `argv0` prefixes the parent's
/// error messages.
pub fn daemonize(argv0: &str) -> std::io::Result<()> {
    let (rd, wr) = host::fd::pipe_cloexec().map_err(host::Error::into_io)?;
    // The forks, the new session and /dev/null on the standard streams.
    if host::process::detach().map_err(host::Error::into_io)? == Detached::Daemon {
        drop(rd);
        let mut slot = STATUS_PIPE.lock().unwrap_or_else(|p| p.into_inner());
        *slot = Some(File::from(wr));
        return Ok(());
    }

    // Original process, the intermediate child gone: wait for the report.
    drop(wr);
    let mut byte = [0u8; 1];
    let mut rd = File::from(rd);
    match rd.read(&mut byte) {
        Ok(1) if byte[0] == 0 => std::process::exit(0),
        Ok(1) => {
            let why = DaemonErr::from_byte(byte[0]).map_or("Unknown error", DaemonErr::as_str);
            eprintln!(
                "{argv0}: error: {why}. Check /var/log/messages or run without --daemon for more info."
            );
            std::process::exit(1)
        }
        Ok(_) => {
            eprintln!("{argv0}: error: unable to determine if daemon is running: No such process");
            std::process::exit(1)
        }
        Err(e) => {
            eprintln!(
                "{argv0}: error: unable to determine if daemon is running: {}",
                os_reason(&e)
            );
            std::process::exit(1)
        }
    }
}

fn report(byte: u8) {
    let mut slot = STATUS_PIPE.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(mut f) = slot.take() {
        let _ = f.write_all(&[byte]);
    }
}

/// Tells the waiting parent that the daemon is serving; it exits 0. Does
/// nothing when not daemonized or already reported.
pub fn ready_notify() {
    report(0);
}

/// Tells the waiting parent that start-up failed; it prints the reason and
/// exits 1.
pub fn ready_fail(err: DaemonErr) {
    report(err as u8);
}

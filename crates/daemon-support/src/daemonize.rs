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
use std::os::fd::{FromRawFd, OwnedFd};
use std::sync::Mutex;

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

fn last_err() -> std::io::Error {
    std::io::Error::last_os_error()
}

fn os_reason(err: &std::io::Error) -> String {
    let t = err.to_string();
    t.split(" (os error ").next().unwrap_or_default().to_owned()
}

/// Detaches. Returns in the daemon (grandchild) process only; the calling
/// process exits once the daemon reports. `argv0` prefixes the parent's
/// error messages.
pub fn daemonize(argv0: &str) -> std::io::Result<()> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: `fds` is a valid array of two ints for pipe2 to fill.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
        return Err(last_err());
    }
    // SAFETY: pipe2 succeeded, so both descriptors are open and owned by
    // nobody else.
    let (rd, wr) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };

    // SAFETY: fork has no memory-safety preconditions; the caller
    // guarantees no other thread exists, so the child's state is coherent.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(last_err());
    }
    if pid == 0 {
        drop(rd);
        if detach_child().is_err() {
            // SAFETY: _exit ends the intermediate child without running
            // the parent's exit handlers twice.
            unsafe { libc::_exit(1) };
        }
        // SAFETY: as for the first fork.
        match unsafe { libc::fork() } {
            0 => {
                let mut slot = STATUS_PIPE.lock().unwrap_or_else(|p| p.into_inner());
                *slot = Some(File::from(wr));
                return Ok(());
            }
            // SAFETY: ends the intermediate child (error or success).
            n if n < 0 => unsafe { libc::_exit(1) },
            // SAFETY: as above.
            _ => unsafe { libc::_exit(0) },
        }
    }

    // Original process: wait for the intermediate child, then the report.
    drop(wr);
    let mut status: libc::c_int = 0;
    // SAFETY: `status` is a valid out-pointer; `pid` is our child.
    let got = unsafe { libc::waitpid(pid, &mut status, 0) };
    if got != pid || !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        return Err(std::io::Error::other("the intermediate child failed"));
    }
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

fn detach_child() -> std::io::Result<()> {
    let null_in = File::open("/dev/null")?;
    let null_out = std::fs::OpenOptions::new().write(true).open("/dev/null")?;
    use std::os::fd::AsRawFd;
    for (src, dst) in [(&null_in, 0), (&null_out, 1), (&null_out, 2)] {
        // SAFETY: both descriptors are open; dup2 onto 0..2 replaces the
        // standard streams, which this process owns.
        if unsafe { libc::dup2(src.as_raw_fd(), dst) } != dst {
            return Err(last_err());
        }
    }
    // SAFETY: setsid has no memory-safety preconditions.
    if unsafe { libc::setsid() } < 0 {
        return Err(last_err());
    }
    Ok(())
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

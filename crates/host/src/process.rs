// SPDX-License-Identifier: LGPL-2.1-or-later
//! Processes: signals, pidfds, waiting, start times (to detect pid reuse),
//! sessions, and the bits of daemonising that need raw calls.

use crate::{check, Error, Result};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

/// Sends `signal` to process `pid`.
pub fn kill(pid: u32, signal: i32) -> Result<()> {
    let p = libc::pid_t::try_from(pid).map_err(|_| Error::Invalid(format!("bad pid {pid}")))?;
    if p <= 0 {
        return Err(Error::Invalid(format!("bad pid {pid}")));
    }
    // SAFETY: kill takes plain integers; a positive pid addresses one process.
    check(unsafe { libc::kill(p, signal) }, || {
        format!("sending signal {signal} to {pid}")
    })?;
    Ok(())
}

/// Whether process `pid` exists (signal 0 probe; EPERM still means it exists).
pub fn exists(pid: u32) -> bool {
    match kill(pid, 0) {
        Ok(()) => true,
        Err(e) => e.raw_os_error() == Some(libc::EPERM),
    }
}

/// This process's id.
pub fn getpid() -> u32 {
    std::process::id()
}

/// Opens a pidfd for `pid`: it becomes readable when the process exits.
pub fn pidfd_open(pid: u32) -> Result<OwnedFd> {
    let p = libc::pid_t::try_from(pid).map_err(|_| Error::Invalid(format!("bad pid {pid}")))?;
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
    let r = unsafe { libc::syscall(libc::SYS_pidfd_open, p, 0) };
    if r < 0 {
        return Err(Error::last(format!("pidfd_open({pid})")));
    }
    let fd = i32::try_from(r).map_err(|_| Error::Invalid("pidfd out of range".into()))?;
    // SAFETY: the kernel just returned this fd to us; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// How a child process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// Exited with this code.
    Exited(i32),
    /// Killed by this signal.
    Signaled(i32),
}

/// Waits for child `pid`. With `block == false`, returns `None` if it still runs.
pub fn waitpid(pid: u32, block: bool) -> Result<Option<ExitStatus>> {
    let p = libc::pid_t::try_from(pid).map_err(|_| Error::Invalid(format!("bad pid {pid}")))?;
    let mut status: libc::c_int = 0;
    loop {
        // SAFETY: status points to a valid c_int for the duration of the call.
        let r = unsafe { libc::waitpid(p, &mut status, if block { 0 } else { libc::WNOHANG }) };
        if r < 0 {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            return Err(Error::sys(format!("waiting for {pid}"), e));
        }
        if r == 0 {
            return Ok(None);
        }
        break;
    }
    if libc::WIFEXITED(status) {
        Ok(Some(ExitStatus::Exited(libc::WEXITSTATUS(status))))
    } else if libc::WIFSIGNALED(status) {
        Ok(Some(ExitStatus::Signaled(libc::WTERMSIG(status))))
    } else {
        Ok(None)
    }
}

/// Start time of `pid` in clock ticks since boot (field 22 of /proc/PID/stat).
/// Together with the pid it identifies a process across pid reuse.
pub fn start_time(pid: u32) -> Result<u64> {
    let path = format!("/proc/{pid}/stat");
    let s = std::fs::read_to_string(&path).map_err(|e| Error::sys(format!("reading {path}"), e))?;
    parse_stat_start_time(&s).ok_or_else(|| Error::Invalid(format!("unexpected format of {path}")))
}

/// Parses the start time out of the text of /proc/PID/stat. The command name
/// may hold spaces and parentheses, so fields are counted after the last ')'.
pub fn parse_stat_start_time(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    // After ')' the fields start at 3 (state); starttime is field 22.
    rest.split_whitespace().nth(22 - 3)?.parse().ok()
}

/// Whether `pid` still names the live process that started at `start`
/// (a zombie, dead but not yet reaped, does not count).
pub fn is_same_process(pid: u32, start: u64) -> bool {
    let Ok(s) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let live = !matches!(parse_stat_state(&s), Some('Z' | 'X' | 'x'));
    live && parse_stat_start_time(&s) == Some(start)
}

/// Whether `pid` is a live process: it exists and is not a zombie (dead,
/// not yet reaped by its parent).
pub fn is_alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| parse_stat_state(&s))
        .is_some_and(|c| !matches!(c, 'Z' | 'X' | 'x'))
}

/// The state letter of /proc/PID/stat (R, S, D, Z, ...).
pub fn parse_stat_state(stat: &str) -> Option<char> {
    stat[stat.rfind(')')? + 1..]
        .split_whitespace()
        .next()?
        .chars()
        .next()
}

/// Starts a new session (the caller must not be a process group leader).
pub fn setsid() -> Result<()> {
    // SAFETY: setsid has no arguments and only changes this process's session.
    check(unsafe { libc::setsid() }, || "setsid".to_string())?;
    Ok(())
}

/// The session id of this process.
pub fn getsid() -> u32 {
    // SAFETY: getsid(0) only queries the calling process and cannot fail
    // for it.
    let sid = unsafe { libc::getsid(0) };
    u32::try_from(sid).unwrap_or(0)
}

/// Makes `cmd`'s child inherit `fds` as descriptors `first`, `first + 1`,
/// ... (without close-on-exec), the way systemd passes listening sockets.
/// The descriptors stay open in this process.
pub fn pass_fds(cmd: &mut std::process::Command, fds: Vec<std::os::fd::RawFd>, first: i32) {
    use std::os::unix::process::CommandExt;
    let mut moved = Vec::with_capacity(fds.len());
    // SAFETY: between fork and exec the closure runs only fcntl(F_DUPFD)
    // and dup2, which are async-signal-safe, and allocates nothing: the
    // sources are first moved to 100 and above (so that none is clobbered
    // by an earlier dup2) into a buffer allocated before the fork.
    unsafe {
        cmd.pre_exec(move || {
            moved.clear();
            for fd in &fds {
                let n = libc::fcntl(*fd, libc::F_DUPFD, 100);
                if n < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                moved.push(n);
            }
            for (target, fd) in (first..).zip(moved.iter()) {
                if libc::dup2(*fd, target) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
}

/// The effective user id of this process (root is 0).
pub fn geteuid() -> u32 {
    // SAFETY: geteuid takes no arguments and cannot fail.
    unsafe { libc::geteuid() }
}

/// The kernel's id of the calling thread (equal to the pid on the main
/// thread), as libvirt's log lines show it.
pub fn gettid() -> u32 {
    // SAFETY: gettid takes no arguments and cannot fail.
    let tid = unsafe { libc::gettid() };
    u32::try_from(tid).unwrap_or(0)
}

/// Where [`detach`] returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detached {
    /// In the calling process, once the intermediate child has exited
    /// successfully (the daemon exists).
    Caller,
    /// In the daemon: a grandchild of the caller, in a session of its own,
    /// with stdin, stdout and stderr on /dev/null.
    Daemon,
}

/// fork(2) through the C library, so its at-fork handlers run and the
/// child's thread bookkeeping is its own.
fn fork_libc() -> Result<u32> {
    // SAFETY: fork takes no arguments. Only the calling thread goes on in
    // the child; memory other threads were changing stays as a thread
    // paused forever would leave it (a lock it held stays held), which
    // can deadlock the child but not make its memory invalid. The C
    // library's own locks are reset by its at-fork handlers.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(Error::last("fork"));
    }
    u32::try_from(pid).map_err(|_| Error::Invalid("fork returned an odd pid".into()))
}

/// In the intermediate child: standard streams on /dev/null, new session.
fn detach_child() -> Result<()> {
    let null_in =
        std::fs::File::open("/dev/null").map_err(|e| Error::sys("opening /dev/null", e))?;
    let null_out = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/null")
        .map_err(|e| Error::sys("opening /dev/null", e))?;
    use std::os::fd::AsFd;
    crate::fd::dup_onto(null_in.as_fd(), 0)?;
    crate::fd::dup_onto(null_out.as_fd(), 1)?;
    crate::fd::dup_onto(null_out.as_fd(), 2)?;
    setsid()
}

/// Detaches into the background the classic way (libvirt's `-d`): the
/// process forks; the child puts its standard streams on /dev/null, starts
/// a new session and forks again, then exits; the grandchild goes on as
/// the daemon, no longer a session leader, so it can never acquire a
/// controlling terminal. Returns [`Detached::Daemon`] in the grandchild and
/// [`Detached::Caller`] in the calling process once the intermediate child
/// has exited with 0 (the caller then usually waits on a pipe for the
/// daemon's report and exits).
///
/// Call it while the process has one thread: only the calling thread goes
/// on in the daemon, and locks other threads hold would stay held there.
/// Descriptors are inherited as usual.
pub fn detach() -> Result<Detached> {
    let pid = fork_libc()?;
    if pid == 0 {
        if detach_child().is_err() {
            exit_now(1);
        }
        match fork_libc() {
            Ok(0) => return Ok(Detached::Daemon),
            Ok(_) => exit_now(0),
            Err(_) => exit_now(1),
        }
    }
    match waitpid(pid, true) {
        Ok(Some(ExitStatus::Exited(0))) => Ok(Detached::Caller),
        _ => Err(Error::Invalid("the intermediate child failed".into())),
    }
}

/// Ignores `signal` (e.g. SIGHUP, SIGPIPE) in this process.
pub fn ignore_signal(signal: i32) -> Result<()> {
    // SAFETY: installing SIG_IGN needs no handler code and is always sound.
    let r = unsafe { libc::signal(signal, libc::SIG_IGN) };
    if r == libc::SIG_ERR {
        return Err(Error::last(format!("ignoring signal {signal}")));
    }
    Ok(())
}

/// Restores the default disposition of `signal`.
pub fn default_signal(signal: i32) -> Result<()> {
    // SAFETY: installing SIG_DFL needs no handler code and is always sound.
    let r = unsafe { libc::signal(signal, libc::SIG_DFL) };
    if r == libc::SIG_ERR {
        return Err(Error::last(format!("resetting signal {signal}")));
    }
    Ok(())
}

/// Number of threads of this process (from /proc/self/status).
pub fn thread_count() -> Result<u32> {
    let s = std::fs::read_to_string("/proc/self/status")
        .map_err(|e| Error::sys("reading /proc/self/status", e))?;
    s.lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| Error::Invalid("no thread count in /proc/self/status".into()))
}

/// Forks a plain child process (no namespaces). Refuses when the process
/// has more than one thread, since a forked copy of a threaded process may
/// inherit held locks.
pub fn fork() -> Result<u32> {
    crate::ns::clone_process(0)
}

/// Leaves the process at once with `code`, without running destructors or
/// flushing stdio: the right exit for a forked child that must not touch the
/// parent's state.
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit never returns and is async-signal-safe.
    unsafe { libc::_exit(code) }
}

/// Waits up to `timeout_ms` (-1 = forever) for any of `fds` to be readable
/// (or hung up). Returns the readiness flags per fd.
pub fn poll_read(fds: &[BorrowedFd<'_>], timeout_ms: i32) -> Result<Vec<bool>> {
    let mut pfds: Vec<libc::pollfd> = fds
        .iter()
        .map(|f| libc::pollfd {
            fd: f.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    let n =
        libc::nfds_t::try_from(pfds.len()).map_err(|_| Error::Invalid("too many fds".into()))?;
    loop {
        // SAFETY: pfds is a valid array of n pollfd structs for the call.
        let r = unsafe { libc::poll(pfds.as_mut_ptr(), n, timeout_ms) };
        if r < 0 {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            return Err(Error::sys("poll", e));
        }
        break;
    }
    Ok(pfds.iter().map(|p| p.revents != 0).collect())
}

/// Waits up to `timeout_ms` for `fd` to accept writes.
pub fn poll_write(fd: BorrowedFd<'_>, timeout_ms: i32) -> Result<bool> {
    let mut p = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLOUT,
        revents: 0,
    };
    loop {
        // SAFETY: p is one valid pollfd for the call.
        let r = unsafe { libc::poll(&mut p, 1, timeout_ms) };
        if r < 0 {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            return Err(Error::sys("poll", e));
        }
        return Ok(r > 0);
    }
}

/// Blocks `signals` for this thread and returns a signalfd that reports
/// them (read it with [`read_signal`]). Children inherit the blocked mask
/// across exec, so a forked child must call [`unblock_all_signals`].
pub fn signalfd(signals: &[i32]) -> Result<OwnedFd> {
    // SAFETY: an all-zero sigset_t is a valid value to initialise.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: set is a valid sigset_t owned by this frame.
    unsafe { libc::sigemptyset(&mut set) };
    for &s in signals {
        // SAFETY: as above; invalid numbers make sigaddset fail, which is checked.
        if unsafe { libc::sigaddset(&mut set, s) } < 0 {
            return Err(Error::Invalid(format!("bad signal {s}")));
        }
    }
    // SAFETY: set is initialised; the old mask is not wanted (null).
    let r = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
    if r != 0 {
        return Err(Error::sys(
            "blocking signals",
            std::io::Error::from_raw_os_error(r),
        ));
    }
    // SAFETY: -1 asks for a new fd; set is initialised.
    let fd = check(
        unsafe { libc::signalfd(-1, &set, libc::SFD_CLOEXEC) },
        || "signalfd".into(),
    )?;
    // SAFETY: fd is new and owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Reads one pending signal number from a signalfd.
pub fn read_signal(fd: BorrowedFd<'_>) -> Result<i32> {
    // SAFETY: an all-zero signalfd_siginfo is a valid buffer.
    let mut info: libc::signalfd_siginfo = unsafe { std::mem::zeroed() };
    let size = std::mem::size_of::<libc::signalfd_siginfo>();
    // SAFETY: info is a writable buffer of exactly `size` bytes.
    let n = unsafe {
        libc::read(
            fd.as_raw_fd(),
            (&mut info as *mut libc::signalfd_siginfo).cast(),
            size,
        )
    };
    if n < 0 {
        return Err(Error::last("reading signalfd"));
    }
    if usize::try_from(n).ok() != Some(size) {
        return Err(Error::Invalid("short read from signalfd".into()));
    }
    i32::try_from(info.ssi_signo).map_err(|_| Error::Invalid("signal number".into()))
}

/// Unblocks every signal (for a child about to exec).
pub fn unblock_all_signals() -> Result<()> {
    // SAFETY: an all-zero sigset_t is a valid value to initialise.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: set is a valid sigset_t owned by this frame.
    unsafe { libc::sigfillset(&mut set) };
    // SAFETY: set is initialised; the old mask is not wanted.
    let r = unsafe { libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut()) };
    if r != 0 {
        return Err(Error::sys(
            "unblocking signals",
            std::io::Error::from_raw_os_error(r),
        ));
    }
    Ok(())
}

/// The CPUs thread (or process) `tid` may run on (`sched_getaffinity`).
pub fn get_affinity(tid: u32) -> Result<Vec<usize>> {
    let pid = libc::pid_t::try_from(tid).map_err(|_| Error::Invalid("bad thread id".into()))?;
    // SAFETY: an all-zero cpu_set_t is a valid empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a valid cpu_set_t of the size passed.
    let r =
        unsafe { libc::sched_getaffinity(pid, std::mem::size_of::<libc::cpu_set_t>(), &mut set) };
    if r < 0 {
        return Err(Error::sys(
            "sched_getaffinity",
            std::io::Error::last_os_error(),
        ));
    }
    let max = usize::try_from(libc::CPU_SETSIZE).unwrap_or(1024);
    // SAFETY: CPU_ISSET only reads the set, with an index below its size.
    Ok((0..max)
        .filter(|c| unsafe { libc::CPU_ISSET(*c, &set) })
        .collect())
}

/// Restricts thread (or process) `tid` to `cpus` (`sched_setaffinity`).
pub fn set_affinity(tid: u32, cpus: &[usize]) -> Result<()> {
    let pid = libc::pid_t::try_from(tid).map_err(|_| Error::Invalid("bad thread id".into()))?;
    let max = usize::try_from(libc::CPU_SETSIZE).unwrap_or(1024);
    // SAFETY: an all-zero cpu_set_t is a valid empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    for c in cpus.iter().filter(|c| **c < max) {
        // SAFETY: the index is below the set's size.
        unsafe { libc::CPU_SET(*c, &mut set) };
    }
    // SAFETY: `set` is a valid cpu_set_t of the size passed.
    let r = unsafe { libc::sched_setaffinity(pid, std::mem::size_of::<libc::cpu_set_t>(), &set) };
    if r < 0 {
        return Err(Error::sys(
            "sched_setaffinity",
            std::io::Error::last_os_error(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_time_is_read_after_the_command_name() {
        let stat = "42 (a b) c) S 1 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10";
        assert_eq!(parse_stat_start_time(stat), Some(987_654));
        assert_eq!(parse_stat_start_time("garbage"), None);
        assert_eq!(parse_stat_state(stat), Some('S'));
    }

    #[test]
    fn geteuid_and_gettid_match_proc() {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let euid = status
            .lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|v| v.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u32>().ok());
        assert_eq!(Some(geteuid()), euid);
        let me = std::fs::read_link("/proc/thread-self").unwrap_or_default();
        assert_eq!(
            me.to_string_lossy(),
            format!("{}/task/{}", getpid(), gettid())
        );
    }

    #[test]
    fn detach_runs_the_daemon_in_a_new_session_on_dev_null() {
        use std::io::{Read, Write};
        let (rd, wr) = crate::fd::pipe_cloexec().unwrap_or_else(|e| panic!("{e}"));
        match detach().unwrap_or_else(|e| panic!("{e}")) {
            Detached::Daemon => {
                // The daemon: report and leave without touching the harness.
                // SAFETY: getsid(0) only queries this process.
                let sid = unsafe { libc::getsid(0) };
                let stdin = std::fs::read_link("/proc/self/fd/0").unwrap_or_default();
                let line = format!("{} {sid} {}", getpid(), stdin.display());
                let _ = std::fs::File::from(wr).write_all(line.as_bytes());
                exit_now(0)
            }
            Detached::Caller => {
                drop(wr);
                let mut text = String::new();
                let _ = std::fs::File::from(rd).read_to_string(&mut text);
                let f: Vec<&str> = text.split(' ').collect();
                assert_eq!(f.len(), 3, "{text:?}");
                let pid: u32 = f[0].parse().unwrap_or(0);
                assert!(pid > 0 && pid != getpid(), "{text}");
                // A session of its own, led by the intermediate child
                // that has exited: the daemon is not the leader.
                // SAFETY: getsid(0) only queries this process.
                let ours = unsafe { libc::getsid(0) };
                let sid: i32 = f[1].parse().unwrap_or(-1);
                assert!(sid > 0 && sid != ours, "{text}");
                assert_ne!(u32::try_from(sid).ok(), Some(pid), "{text}");
                assert_eq!(f[2], "/dev/null");
            }
        }
    }

    #[test]
    fn own_process_is_itself() {
        let me = getpid();
        let t = start_time(me).ok();
        assert!(t.is_some());
        assert!(is_same_process(me, t.unwrap_or(0)));
        assert!(!is_same_process(me, t.unwrap_or(0) + 1));
        assert!(exists(me));
    }
}

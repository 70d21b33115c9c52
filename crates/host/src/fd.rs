// SPDX-License-Identifier: LGPL-2.1-or-later
//! File descriptors: closing everything inherited, pipes and socket pairs,
//! passing fds over Unix sockets (SCM_RIGHTS), duplication onto stdio, and
//! adopting the listening sockets a service manager passes in.

use crate::{check, Error, Result};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

/// Closes every fd >= 3 except those in `keep`.
pub fn close_all_except(keep: &[RawFd]) -> Result<()> {
    let mut fds = Vec::new();
    let dir =
        std::fs::read_dir("/proc/self/fd").map_err(|e| Error::sys("listing /proc/self/fd", e))?;
    for ent in dir.flatten() {
        if let Some(fd) = ent
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<RawFd>().ok())
        {
            fds.push(fd);
        }
    }
    for fd in fds {
        if fd < 3 || keep.contains(&fd) {
            continue;
        }
        // SAFETY: closing an fd number this process owns; the fd used to list
        // the directory is closed too, which only makes its later close fail.
        unsafe { libc::close(fd) };
    }
    Ok(())
}

/// Duplicates `fd` onto `target` (e.g. 0, 1, 2). The new fd is inherited by exec.
pub fn dup_onto(fd: BorrowedFd<'_>, target: RawFd) -> Result<()> {
    // SAFETY: dup2 on a valid source fd; target is replaced atomically.
    check(unsafe { libc::dup2(fd.as_raw_fd(), target) }, || {
        format!("dup2 onto {target}")
    })?;
    Ok(())
}

/// Duplicates `fd` with close-on-exec set.
pub fn dup_cloexec(fd: BorrowedFd<'_>) -> Result<OwnedFd> {
    let r = check(
        // SAFETY: fcntl F_DUPFD_CLOEXEC on a valid fd returns a new fd or -1.
        unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 3) },
        || "dup".into(),
    )?;
    // SAFETY: r is a new fd owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(r) })
}

/// Sets or clears O_NONBLOCK.
pub fn set_nonblocking(fd: BorrowedFd<'_>, on: bool) -> Result<()> {
    let fl = check(
        // SAFETY: F_GETFL on a valid fd.
        unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) },
        || "F_GETFL".into(),
    )?;
    let nf = if on {
        fl | libc::O_NONBLOCK
    } else {
        fl & !libc::O_NONBLOCK
    };
    check(
        // SAFETY: F_SETFL on a valid fd with flags derived from its own.
        unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, nf) },
        || "F_SETFL".into(),
    )?;
    Ok(())
}

/// A close-on-exec SOCK_SEQPACKET pair: message boundaries are kept.
pub fn seqpacket_pair() -> Result<(OwnedFd, OwnedFd)> {
    let mut sv = [0 as libc::c_int; 2];
    check(
        // SAFETY: sv has room for the two fds socketpair writes.
        unsafe {
            libc::socketpair(
                libc::AF_UNIX,
                libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC,
                0,
                sv.as_mut_ptr(),
            )
        },
        || "socketpair".into(),
    )?;
    // SAFETY: both fds were just created and are owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(sv[0]), OwnedFd::from_raw_fd(sv[1])) })
}

/// A close-on-exec pipe: (read end, write end).
pub fn pipe_cloexec() -> Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 writes.
    let r = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    check(r, || "pipe2".into())?;
    // SAFETY: pipe2 succeeded, so both descriptors are open and owned by
    // nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Marks descriptor number `fd` close-on-exec, for descriptors inherited
/// by number (systemd's LISTEN_FDS) before anything owns them, so that
/// children the process starts do not inherit them.
pub fn set_cloexec(fd: RawFd) -> Result<()> {
    // SAFETY: F_SETFD takes an integer argument and only changes the
    // descriptor's flag; an fd that is not open makes it fail with EBADF.
    let r = unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    check(r, || format!("marking descriptor {fd} close-on-exec"))?;
    Ok(())
}

/// Descriptor numbers already adopted by [`adopt_unix_listener`] or
/// [`adopt_tcp_listener`]: each can be adopted once per process.
static ADOPTED: std::sync::Mutex<Vec<RawFd>> = std::sync::Mutex::new(Vec::new());

fn sockopt_int(fd: RawFd, opt: libc::c_int) -> Result<libc::c_int> {
    let mut v: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `v` and `len` are valid for writes and `len` holds the size
    // of `v`; a descriptor that is not an open socket makes the call fail.
    let r = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            opt,
            (&mut v as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    if r < 0 {
        return Err(Error::last(format!("descriptor {fd}")));
    }
    Ok(v)
}

/// Takes ownership of the inherited stream socket at `fd` if it is one of
/// `families`.
fn adopt_stream_socket(fd: RawFd, families: &[libc::c_int], what: &str) -> Result<OwnedFd> {
    let mut adopted = ADOPTED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if fd < 0 || adopted.contains(&fd) {
        return Err(Error::Invalid(format!(
            "descriptor {fd} is not an inherited socket this process may take"
        )));
    }
    let family = sockopt_int(fd, libc::SO_DOMAIN)?;
    if !families.contains(&family) || sockopt_int(fd, libc::SO_TYPE)? != libc::SOCK_STREAM {
        return Err(Error::Invalid(format!(
            "descriptor {fd} is not a {what} stream socket"
        )));
    }
    adopted.push(fd);
    // SAFETY: the descriptor is an open socket (getsockopt succeeded) that
    // the process inherited by number (systemd's LISTEN_FDS) and that no
    // object owns yet: the caller's contract, and ADOPTED refuses a second
    // adoption of the same number, so no two owners ever close it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Takes ownership of an inherited UNIX stream socket at descriptor `fd`
/// (a socket unit's listener passed by systemd). Fails for a descriptor
/// that is not open, not a UNIX stream socket, or already adopted. Call it
/// only for numbers the process inherited and nothing else has taken (the
/// activation data names them): the listener closes the descriptor when
/// dropped.
pub fn adopt_unix_listener(fd: RawFd) -> Result<std::os::unix::net::UnixListener> {
    adopt_stream_socket(fd, &[libc::AF_UNIX], "UNIX").map(Into::into)
}

/// Takes ownership of an inherited TCP socket (IPv4 or IPv6) at
/// descriptor `fd`, like [`adopt_unix_listener`].
pub fn adopt_tcp_listener(fd: RawFd) -> Result<std::net::TcpListener> {
    adopt_stream_socket(fd, &[libc::AF_INET, libc::AF_INET6], "TCP").map(Into::into)
}

/// Most fds accepted in one message.
pub const MAX_FDS: usize = 8;

/// Sends `data` with `fds` attached as SCM_RIGHTS.
pub fn send_with_fds(sock: BorrowedFd<'_>, data: &[u8], fds: &[BorrowedFd<'_>]) -> Result<usize> {
    if fds.len() > MAX_FDS {
        return Err(Error::Invalid("too many fds to send".into()));
    }
    let mut iov = libc::iovec {
        iov_base: data.as_ptr() as *mut libc::c_void,
        iov_len: data.len(),
    };
    let raw: Vec<RawFd> = fds.iter().map(|f| f.as_raw_fd()).collect();
    let payload = std::mem::size_of_val(raw.as_slice());
    let payload_u32 = u32::try_from(payload).map_err(|_| Error::Invalid("fd payload".into()))?;
    // SAFETY: CMSG_SPACE is a pure size computation.
    let space = unsafe { libc::CMSG_SPACE(payload_u32) } as usize;
    let mut cbuf = vec![0u64; space.div_ceil(8).max(1)];
    // SAFETY: an all-zero msghdr is a valid empty header.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    if !raw.is_empty() {
        msg.msg_control = cbuf.as_mut_ptr().cast();
        msg.msg_controllen = space;
        // SAFETY: msg_control points at a buffer of `space` bytes, enough for
        // one header carrying `payload` bytes; CMSG_FIRSTHDR/CMSG_DATA stay inside it.
        unsafe {
            let c = libc::CMSG_FIRSTHDR(&msg);
            (*c).cmsg_level = libc::SOL_SOCKET;
            (*c).cmsg_type = libc::SCM_RIGHTS;
            (*c).cmsg_len = libc::CMSG_LEN(payload_u32) as usize;
            std::ptr::copy_nonoverlapping(raw.as_ptr().cast::<u8>(), libc::CMSG_DATA(c), payload);
        }
    }
    loop {
        // SAFETY: msg references iov/cbuf which live across the call.
        let r = unsafe { libc::sendmsg(sock.as_raw_fd(), &msg, libc::MSG_NOSIGNAL) };
        if r < 0 {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            return Err(Error::sys("sendmsg", e));
        }
        return usize::try_from(r).map_err(|_| Error::Invalid("sendmsg result".into()));
    }
}

/// Receives into `buf`, collecting any fds passed along (close-on-exec).
/// Returns the byte count (0 = end of stream) and the fds.
pub fn recv_with_fds(sock: BorrowedFd<'_>, buf: &mut [u8]) -> Result<(usize, Vec<OwnedFd>)> {
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    let payload = u32::try_from(MAX_FDS * std::mem::size_of::<RawFd>()).unwrap_or(64);
    // SAFETY: CMSG_SPACE is a pure size computation.
    let space = unsafe { libc::CMSG_SPACE(payload) } as usize;
    let mut cbuf = vec![0u64; space.div_ceil(8)];
    // SAFETY: an all-zero msghdr is a valid empty header.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf.as_mut_ptr().cast();
    msg.msg_controllen = space;
    let n = loop {
        // SAFETY: msg references iov (over buf) and cbuf which live across the call.
        let r = unsafe { libc::recvmsg(sock.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC) };
        if r < 0 {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            return Err(Error::sys("recvmsg", e));
        }
        break usize::try_from(r).map_err(|_| Error::Invalid("recvmsg result".into()))?;
    };
    let mut fds = Vec::new();
    // SAFETY: the kernel filled msg_control with well-formed headers within
    // msg_controllen; the CMSG_* macros walk only inside that buffer.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_RIGHTS {
                let data = libc::CMSG_DATA(c);
                let len = ((*c).cmsg_len as usize).saturating_sub(libc::CMSG_LEN(0) as usize);
                let count = len / std::mem::size_of::<RawFd>();
                for i in 0..count {
                    let mut fd: RawFd = 0;
                    std::ptr::copy_nonoverlapping(
                        data.add(i * std::mem::size_of::<RawFd>()),
                        (&mut fd as *mut RawFd).cast::<u8>(),
                        std::mem::size_of::<RawFd>(),
                    );
                    fds.push(OwnedFd::from_raw_fd(fd));
                }
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
    }
    Ok((n, fds))
}

/// The process id of the peer of a connected Unix socket (SO_PEERCRED).
pub fn peer_pid(sock: BorrowedFd<'_>) -> Result<u32> {
    let mut cred = libc::ucred {
        pid: 0,
        uid: 0,
        gid: 0,
    };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: `cred` and `len` are valid for writes and `len` holds the size
    // of `cred`, which is what SO_PEERCRED fills in.
    let r = unsafe {
        libc::getsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    };
    if r < 0 {
        return Err(Error::last("getsockopt(SO_PEERCRED)"));
    }
    u32::try_from(cred.pid).map_err(|_| Error::Invalid("peer has no pid".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    #[test]
    fn fds_pass_over_a_socket_pair() {
        let (a, b) = seqpacket_pair()
            .map_err(|e| e.to_string())
            .unwrap_or_else(|e| panic!("{e}"));
        let file = std::fs::File::open("/proc/self/stat").unwrap_or_else(|e| panic!("{e}"));
        let sent =
            send_with_fds(a.as_fd(), b"x", &[file.as_fd()]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(sent, 1);
        let mut buf = [0u8; 8];
        let (n, fds) = recv_with_fds(b.as_fd(), &mut buf).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(n, 1);
        assert_eq!(&buf[..1], b"x");
        assert_eq!(fds.len(), 1);
        drop(a);
        let (n, fds) = recv_with_fds(b.as_fd(), &mut buf).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((n, fds.len()), (0, 0));
    }

    #[test]
    fn pipe_cloexec_carries_bytes_and_is_close_on_exec() {
        use std::io::{Read, Write};
        let (rd, wr) = pipe_cloexec().unwrap_or_else(|e| panic!("{e}"));
        for fd in [rd.as_raw_fd(), wr.as_raw_fd()] {
            // SAFETY: F_GETFD only reads the flag of an open descriptor.
            let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
            assert_eq!(flags & libc::FD_CLOEXEC, libc::FD_CLOEXEC);
        }
        std::fs::File::from(wr)
            .write_all(b"ready")
            .unwrap_or_else(|e| panic!("{e}"));
        let mut got = String::new();
        let _ = std::fs::File::from(rd).read_to_string(&mut got);
        assert_eq!(got, "ready");
    }

    #[test]
    fn set_cloexec_sets_the_flag_and_refuses_a_closed_number() {
        let file = std::fs::File::open("/proc/self/stat").unwrap_or_else(|e| panic!("{e}"));
        let raw = file.as_raw_fd();
        // std opens with O_CLOEXEC; clear it to see it set again.
        // SAFETY: F_SETFD on a descriptor `file` owns, changing only its flag.
        unsafe { libc::fcntl(raw, libc::F_SETFD, 0) };
        set_cloexec(raw).unwrap_or_else(|e| panic!("{e}"));
        // SAFETY: F_GETFD only reads the flag.
        let flags = unsafe { libc::fcntl(raw, libc::F_GETFD) };
        assert_eq!(flags & libc::FD_CLOEXEC, libc::FD_CLOEXEC);
        assert!(set_cloexec(i32::MAX - 1).is_err());
    }

    /// One test, so that no other test of this binary adopts descriptor
    /// numbers; everything adopted stays open until the end, so no number
    /// is reused while the test runs.
    #[test]
    fn inherited_listeners_are_adopted_once_and_only_as_their_kind() {
        use std::io::{Read, Write};
        use std::os::fd::IntoRawFd;
        let dir = crate::scratch_dir("fd-adopt");
        let sock = dir.join("s");
        let unix = std::os::unix::net::UnixListener::bind(&sock)
            .unwrap_or_else(|e| panic!("{e}"))
            .into_raw_fd();
        let tcp = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap_or_else(|e| panic!("{e}"))
            .into_raw_fd();
        // The wrong kind is refused and stays unowned, to be taken as the
        // right kind.
        let e = adopt_tcp_listener(unix).unwrap_err();
        assert!(e.to_string().contains("not a TCP stream socket"), "{e}");
        let e = adopt_unix_listener(tcp).unwrap_err();
        assert!(e.to_string().contains("not a UNIX stream socket"), "{e}");
        let ul = adopt_unix_listener(unix).unwrap_or_else(|e| panic!("{e}"));
        let tl = adopt_tcp_listener(tcp).unwrap_or_else(|e| panic!("{e}"));
        // A second adoption of a number would make two owners.
        assert!(adopt_unix_listener(unix).is_err());
        assert!(adopt_tcp_listener(tcp).is_err());
        // Not sockets, not open, not a descriptor.
        let file = std::fs::File::open("/proc/self/stat").unwrap_or_else(|e| panic!("{e}"));
        assert!(adopt_unix_listener(file.as_raw_fd()).is_err());
        assert!(adopt_unix_listener(i32::MAX - 1).is_err());
        assert!(adopt_tcp_listener(-1).is_err());
        // The adopted listeners serve.
        let mut c =
            std::os::unix::net::UnixStream::connect(&sock).unwrap_or_else(|e| panic!("{e}"));
        let (mut s, _) = ul.accept().unwrap_or_else(|e| panic!("{e}"));
        c.write_all(b"u").unwrap_or_else(|e| panic!("{e}"));
        let mut b = [0u8; 1];
        s.read_exact(&mut b).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(&b, b"u");
        let addr = tl.local_addr().unwrap_or_else(|e| panic!("{e}"));
        let _c = std::net::TcpStream::connect(addr).unwrap_or_else(|e| panic!("{e}"));
        assert!(tl.accept().is_ok());
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn peer_pid_names_the_other_end_and_refuses_a_non_socket() {
        let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            peer_pid(a.as_fd()).unwrap_or_else(|e| panic!("{e}")),
            std::process::id()
        );
        let file = std::fs::File::open("/proc/self/stat").unwrap_or_else(|e| panic!("{e}"));
        assert!(peer_pid(file.as_fd()).is_err());
    }
}

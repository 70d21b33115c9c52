// SPDX-License-Identifier: LGPL-2.1-or-later
//! The libvirt RPC programs as data: message header, the wire error, the
//! argument and reply types of every procedure, and one table per program
//! (number, name, priority, whether the read-only socket may call it).
//!
//! Depends only on `xdr`. No I/O. The per-program definition modules
//! (`remote`, `admin`, `lxc`, `qemu`) are transcriptions of the public protocol into
//! the project's `xdr_struct!` syntax; the tables below are built from them by
//! `define_program!`.
#![forbid(unsafe_code)]

pub mod errors;
pub mod header;
pub mod procs;
mod typed_param;
pub mod wire_error;

pub use errors::{ErrorCode, ErrorDomain};
pub use header::{Header, MessageType, Status};
pub use procs::{AdminProc, LxcProc, ProcInfo, QemuProc, RemoteProc, StreamDir};
pub use typed_param::{TypedParamValue, TYPED_PARAM_FIELD_LENGTH};
pub use wire_error::{ErrorLevel, RemoteError};

/// The remote program: everything virsh and libvirt-python call.
pub mod remote {
    #![allow(clippy::all)]
    pub use crate::TypedParamValue;
    include!("remote.rs");
}

/// The administration program served on the admin socket.
pub mod admin {
    #![allow(clippy::all)]
    pub use crate::TypedParamValue;
    include!("admin.rs");
}

/// The LXC-specific program (namespace fd passing).
pub mod lxc {
    #![allow(clippy::all)]
    include!("lxc.rs");
}

/// The QEMU-specific program (`virDomainQemuAgentCommand`).
pub mod qemu {
    #![allow(clippy::all)]
    include!("qemu.rs");
}

/// The keepalive program: PING and PONG, no payload.
pub mod keepalive {
    pub const PROGRAM: u32 = 0x6b65_6570;
    pub const PROTOCOL_VERSION: u32 = 1;
    pub const PROC_PING: i32 = 1;
    pub const PROC_PONG: i32 = 2;
}

/// The version of libvirt whose protocol and behaviour this project follows.
pub const LIBVIRT_VERSION: (u32, u32, u32) = (9, 6, 0);

/// `LIBVIRT_VERSION` as libvirt encodes it: major * 1,000,000 + minor * 1,000 + micro.
pub const fn version_number() -> u64 {
    LIBVIRT_VERSION.0 as u64 * 1_000_000
        + LIBVIRT_VERSION.1 as u64 * 1_000
        + LIBVIRT_VERSION.2 as u64
}

// SPDX-License-Identifier: LGPL-2.1-or-later
//! One table per program: procedure number → name, argument and reply
//! types, priority, stream direction, read-only access and ACL.
//!
//! The rows live in the definition modules (`remote_procedures!` and friends);
//! `define_program!` turns them into an enum with a lookup and static facts.

/// Direction of the data stream a procedure opens, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamDir {
    None,
    /// Daemon to client (for example `virsh console` output, volume download).
    Read,
    /// Client to daemon.
    Write,
}

/// Static facts about one procedure.
#[derive(Debug, Clone, Copy)]
pub struct ProcInfo {
    pub number: i32,
    pub name: &'static str,
    /// Served by the priority workers, never queued behind slow calls.
    pub high_priority: bool,
    pub stream: StreamDir,
    /// May be called on a read-only connection.
    pub readonly_ok: bool,
    /// The public API name used in "read only access prevents ..." errors.
    pub api: &'static str,
    /// Access control rules, space separated.
    pub acl: &'static str,
}

macro_rules! prio {
    (high) => {
        true
    };
    (low) => {
        false
    };
}
macro_rules! stream {
    (none) => {
        StreamDir::None
    };
    (read) => {
        StreamDir::Read
    };
    (write) => {
        StreamDir::Write
    };
}
macro_rules! access {
    (ro) => {
        true
    };
    (rw) => {
        false
    };
}

/// The Rust type of an argument or reply column: `()` or a type of `$m`.
macro_rules! wire_ty {
    ($m:ident, ()) => {
        ()
    };
    ($m:ident, $t:ident) => {
        crate::$m::$t
    };
}

macro_rules! define_program {
    ($enum:ident, $m:ident; $($num:literal $name:ident $args:tt $ret:tt $prio:ident $stream:ident $access:ident $api:literal $acl:literal;)*) => {
        /// Procedures of this program, numbered as on the wire.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(i32)]
        pub enum $enum {
            $($name = $num,)*
        }

        impl $enum {
            pub const ALL: &'static [$enum] = &[$($enum::$name,)*];

            pub fn from_i32(n: i32) -> Option<Self> {
                match n {
                    $($num => Some($enum::$name),)*
                    _ => None,
                }
            }

            pub fn info(self) -> ProcInfo {
                match self {
                    $($enum::$name => ProcInfo {
                        number: $num,
                        name: stringify!($name),
                        high_priority: prio!($prio),
                        stream: stream!($stream),
                        readonly_ok: access!($access),
                        api: $api,
                        acl: $acl,
                    },)*
                }
            }

            /// Decode `payload` as this procedure's arguments, only to
            /// check it (fuzzing, validation). The reply type is checked
            /// by [`Self::check_reply`].
            pub fn check_args(self, payload: &[u8]) -> Result<(), xdr::XdrError> {
                match self {
                    $($enum::$name => xdr::from_bytes::<wire_ty!($m, $args)>(payload).map(|_| ()),)*
                }
            }

            pub fn check_reply(self, payload: &[u8]) -> Result<(), xdr::XdrError> {
                match self {
                    $($enum::$name => xdr::from_bytes::<wire_ty!($m, $ret)>(payload).map(|_| ()),)*
                }
            }
        }
    };
}

include!("tables/remote_procs.rs");
include!("tables/admin_procs.rs");
include!("tables/lxc_procs.rs");

mod remote_table {
    use super::*;
    remote_procedures!(define_program, RemoteProc, remote);
}
mod admin_table {
    use super::*;
    admin_procedures!(define_program, AdminProc, admin);
}
mod lxc_table {
    use super::*;
    lxc_procedures!(define_program, LxcProc, lxc);
}

pub use admin_table::AdminProc;
pub use lxc_table::LxcProc;
pub use remote_table::RemoteProc;

// SPDX-License-Identifier: LGPL-2.1-or-later
//! One table per program: procedure number → family, name, argument and
//! reply types, priority, stream direction, read-only access and ACL.
//!
//! The rows live in the definition modules (`remote_procedures!` and
//! friends) and are the only place these facts are written. For each
//! program `define_program!` turns them into:
//! - an enum of the procedures ([`RemoteProc`], ...) with a lookup and the
//!   static facts of each ([`ProcInfo`]);
//! - the program's typed interface: one trait per family of procedures
//!   ([`RemoteConnect`], [`RemoteDomain`], ...) with one method per
//!   procedure, named after it (`DomainGetXmlDesc` →
//!   `domain_get_xml_desc`), taking the decoded arguments (none for a
//!   procedure without) and returning the reply type. Every method's
//!   default answers [`not_supported`]: a server implements what it serves
//!   and nothing else has to be written for the rest;
//! - `call` on the enum: decode a payload as the procedure's arguments
//!   ([`undecodable`] when it does not decode), call the method, encode
//!   the reply.
//!
//! Access checks, priorities, streams and file descriptors are the
//! server's business; the table only states the facts.

// A failed call builds one RemoteError and moves it straight into the reply;
// boxing it would only add an allocation on the error path.
#![allow(clippy::result_large_err)]

use crate::{ErrorCode, ErrorDomain, RemoteError};

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
    /// The family (trait of the typed interface) that carries it:
    /// `connect`, `domain`, `network`, `storage`, `nodedev`, `interface`,
    /// `secret`, `nwfilter`, `admin`, `lxc`, `qemu`.
    pub family: &'static str,
    /// The method of the program's typed interface that serves it.
    pub method: &'static str,
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

/// The answer to a procedure its server does not implement: libvirt's
/// "this function is not supported by the connection driver" naming the
/// public API, or the procedure when it has none, as
/// libvirt answers for a driver that lacks the API: from the error domain
/// of the file defining the API ([`ErrorDomain::of_api`]).
pub fn not_supported(info: ProcInfo) -> RemoteError {
    let api = if info.api.is_empty() {
        info.name
    } else {
        info.api
    };
    RemoteError::new(ErrorCode::NoSupport, ErrorDomain::of_api(api), Some(api))
}

/// The answer to a payload that does not decode as the procedure's
/// arguments.
pub fn undecodable() -> RemoteError {
    RemoteError::new(
        ErrorCode::Rpc,
        ErrorDomain::Rpc,
        Some("Unable to decode message payload"),
    )
}

/// Decode a call's arguments as libvirt's C daemon does: bytes after the
/// arguments are ignored; anything that does not decode is
/// [`undecodable`].
pub fn decode_args<T: xdr::Xdr>(payload: &[u8]) -> Result<T, RemoteError> {
    xdr::from_prefix(payload).map_err(|_| undecodable())
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

/// `in_family!(row_family trait_family item)`: the item when the two
/// families are the same, nothing otherwise. A new family needs its arm.
macro_rules! in_family {
    (connect connect $($i:tt)*) => { $($i)* };
    (domain domain $($i:tt)*) => { $($i)* };
    (network network $($i:tt)*) => { $($i)* };
    (storage storage $($i:tt)*) => { $($i)* };
    (nodedev nodedev $($i:tt)*) => { $($i)* };
    (interface interface $($i:tt)*) => { $($i)* };
    (secret secret $($i:tt)*) => { $($i)* };
    (nwfilter nwfilter $($i:tt)*) => { $($i)* };
    (admin admin $($i:tt)*) => { $($i)* };
    (lxc lxc $($i:tt)*) => { $($i)* };
    (qemu qemu $($i:tt)*) => { $($i)* };
    ($row:ident $other:ident $($i:tt)*) => {};
}

/// One method of a family trait, answering "not supported" by default.
macro_rules! proc_method {
    ($enum:ident $m:ident $num:literal $name:ident $method:ident () $ret:tt $api:literal) => {
        #[doc = concat!("`", stringify!($name), "` (", stringify!($num), ") ", $api)]
        fn $method(&self) -> Result<wire_ty!($m, $ret), RemoteError> {
            Err(not_supported($enum::$name.info()))
        }
    };
    ($enum:ident $m:ident $num:literal $name:ident $method:ident $args:ident $ret:tt $api:literal) => {
        #[doc = concat!("`", stringify!($name), "` (", stringify!($num), ") ", $api)]
        fn $method(&self, args: crate::$m::$args) -> Result<wire_ty!($m, $ret), RemoteError> {
            Err(not_supported($enum::$name.info()))
        }
    };
}

/// The call of one method in `call`: a procedure without arguments
/// ignores its payload, as libvirt does.
macro_rules! call_method {
    ($imp:ident $m:ident $method:ident () $payload:ident) => {
        $imp.$method()
    };
    ($imp:ident $m:ident $method:ident $args:ident $payload:ident) => {
        $imp.$method(decode_args::<crate::$m::$args>($payload)?)
    };
}

/// The reply payload of one method's result: empty for `()`.
macro_rules! encode_reply {
    ((), $v:expr) => {{
        let () = $v;
        Vec::new()
    }};
    ($t:ident, $v:expr) => {
        xdr::to_bytes(&$v)
    };
}

/// The trait of one family: the rows of that family, one method each.
macro_rules! define_family {
    ($enum:ident $m:ident $fam:ident $trait:ident $what:literal
     [$( ($num:literal $family:ident $name:ident $method:ident $args:tt $ret:tt $api:literal) )*]) => {
        #[doc = concat!("The ", $what, " procedures of [`", stringify!($enum), "`]: one method \
            each, taking its decoded arguments and returning its reply. Each defaults to \
            [`not_supported`](crate::procs::not_supported).")]
        #[allow(unused_variables)]
        pub trait $trait {
            $( in_family! { $family $fam proc_method! { $enum $m $num $name $method $args $ret $api } } )*
        }
    };
}

macro_rules! define_families {
    ($enum:ident $m:ident [] $rows:tt) => {};
    ($enum:ident $m:ident [$fam:ident $trait:ident $what:literal $(, $($more:tt)*)?] $rows:tt) => {
        define_family! { $enum $m $fam $trait $what $rows }
        define_families! { $enum $m [$($($more)*)?] $rows }
    };
}

macro_rules! define_program {
    ($enum:ident, $m:ident, [$($fam:ident $trait:ident $what:literal),* $(,)?];
     $($num:literal $family:ident $name:ident $method:ident $args:tt $ret:tt $prio:ident $stream:ident $access:ident $api:literal $acl:literal;)*) => {
        /// Procedures of this program, numbered as on the wire.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(i32)]
        pub enum $enum {
            $($name = $num,)*
        }

        define_families! { $enum $m [$($fam $trait $what),*]
            [$( ($num $family $name $method $args $ret $api) )*] }

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
                        family: stringify!($family),
                        method: stringify!($method),
                        high_priority: prio!($prio),
                        stream: stream!($stream),
                        readonly_ok: access!($access),
                        api: $api,
                        acl: $acl,
                    },)*
                }
            }

            /// Decodes `payload` as this procedure's arguments, calls its
            /// method on `imp` and encodes what the method returns.
            pub fn call<T: ?Sized $(+ $trait)*>(
                self,
                imp: &T,
                payload: &[u8],
            ) -> Result<Vec<u8>, RemoteError> {
                Ok(match self {
                    $($enum::$name => encode_reply!($ret, call_method!(imp $m $method $args payload)?),)*
                })
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
include!("tables/qemu_procs.rs");

mod remote_table {
    use super::*;
    remote_procedures!(define_program RemoteProc, remote, [
        connect RemoteConnect "connection and host",
        domain RemoteDomain "domain",
        network RemoteNetwork "network",
        storage RemoteStorage "storage pool and volume",
        nodedev RemoteNodeDevice "node device",
        interface RemoteInterface "host interface",
        secret RemoteSecret "secret",
        nwfilter RemoteNwfilter "network filter",
    ]);
}
mod admin_table {
    use super::*;
    admin_procedures!(define_program AdminProc, admin, [admin AdminProcedures "administration"]);
}
mod lxc_table {
    use super::*;
    lxc_procedures!(define_program LxcProc, lxc, [lxc LxcProcedures "LXC"]);
}

pub use admin_table::{AdminProc, AdminProcedures};
mod qemu_table {
    use super::*;
    qemu_procedures!(define_program QemuProc, qemu, [qemu QemuProcedures "QEMU"]);
}
pub use lxc_table::{LxcProc, LxcProcedures};
pub use qemu_table::{QemuProc, QemuProcedures};
pub use remote_table::{
    RemoteConnect, RemoteDomain, RemoteInterface, RemoteNetwork, RemoteNodeDevice, RemoteNwfilter,
    RemoteProc, RemoteSecret, RemoteStorage,
};

#[cfg(test)]
mod tests {
    use super::*;

    fn snake_case(name: &str) -> String {
        let mut out = String::new();
        let mut prev_lower = false;
        for c in name.chars() {
            if c.is_ascii_uppercase() && prev_lower {
                out.push('_');
            }
            prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
            out.push(c.to_ascii_lowercase());
        }
        out
    }

    #[test]
    fn every_method_is_named_after_its_procedure() {
        let infos = RemoteProc::ALL.iter().map(|p| p.info());
        let infos = infos.chain(AdminProc::ALL.iter().map(|p| p.info()));
        let infos = infos.chain(QemuProc::ALL.iter().map(|p| p.info()));
        for i in infos.chain(LxcProc::ALL.iter().map(|p| p.info())) {
            assert_eq!(i.method, snake_case(i.name), "{}", i.name);
        }
    }

    /// Implements one procedure of the remote program, inherits the rest.
    struct OnlyGetType;
    impl RemoteConnect for OnlyGetType {
        fn connect_get_type(&self) -> Result<crate::remote::ConnectGetTypeRet, RemoteError> {
            Ok(crate::remote::ConnectGetTypeRet {
                r#type: "Test".into(),
            })
        }
    }
    impl RemoteDomain for OnlyGetType {}
    impl RemoteNetwork for OnlyGetType {}
    impl RemoteStorage for OnlyGetType {}
    impl RemoteNodeDevice for OnlyGetType {}
    impl RemoteInterface for OnlyGetType {}
    impl RemoteSecret for OnlyGetType {}
    impl RemoteNwfilter for OnlyGetType {}

    #[test]
    fn call_encodes_what_the_method_returns() {
        let got = RemoteProc::ConnectGetType.call(&OnlyGetType, &[]).unwrap();
        let want = xdr::to_bytes(&crate::remote::ConnectGetTypeRet {
            r#type: "Test".into(),
        });
        assert_eq!(got, want);
        // A procedure without arguments ignores its payload.
        let got = RemoteProc::ConnectGetType.call(&OnlyGetType, &[1, 2, 3]);
        assert_eq!(got.unwrap(), want);
    }

    #[test]
    fn unimplemented_procedure_is_not_supported_naming_its_api() {
        let args = xdr::to_bytes(&crate::remote::DomainLookupByNameArgs { name: "x".into() });
        let e = RemoteProc::DomainLookupByName
            .call(&OnlyGetType, &args)
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::NoSupport as i32);
        // From libvirt-domain.c, as C's daemon reports it.
        assert_eq!(e.domain, ErrorDomain::Domain as i32);
        assert_eq!(
            e.message,
            "this function is not supported by the connection driver: virDomainLookupByName"
        );
        // Without a public API name, the procedure's name.
        let e = not_supported(RemoteProc::AuthSaslInit.info());
        assert_eq!(
            e.message,
            "this function is not supported by the connection driver: AuthSaslInit"
        );
    }

    #[test]
    fn undecodable_arguments_are_an_rpc_error() {
        let e = RemoteProc::DomainLookupByName
            .call(&OnlyGetType, &[0, 0, 0])
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::Rpc as i32);
        assert_eq!(e.domain, ErrorDomain::Rpc as i32);
        assert_eq!(e.message, "Unable to decode message payload");
    }
}

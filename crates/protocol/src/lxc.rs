// SPDX-License-Identifier: LGPL-2.1-or-later
// Program definitions, transcribed from the public protocol (facts only).

pub const PROGRAM: u32 = 0x00068000;
pub const PROTOCOL_VERSION: u32 = 1;

xdr::xdr_struct! {
    pub struct DomainOpenNamespaceArgs {
        pub dom: crate::remote::NonnullDomain,
        pub flags: u32,
    }
}

// SPDX-License-Identifier: LGPL-2.1-or-later
// Program definitions, transcribed from the public protocol (facts only).

pub const PROGRAM: u32 = 0x20008087;
pub const PROTOCOL_VERSION: u32 = 1;

xdr::xdr_struct! {
    pub struct DomainAgentCommandArgs {
        pub dom: crate::remote::NonnullDomain,
        #[max = crate::remote::STRING_MAX] pub cmd: String,
        pub timeout: i32,
        pub flags: u32,
    }
    pub struct DomainAgentCommandRet {
        #[max = crate::remote::STRING_MAX] pub result: Option<String>,
    }
}

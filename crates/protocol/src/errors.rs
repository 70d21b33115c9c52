// SPDX-License-Identifier: LGPL-2.1-or-later
//! libvirt error codes and domains: the vocabulary lives in `virterror`,
//! shared with the crates below the wire (XML model, config parsers,
//! drivers).

pub use virterror::{ErrorCode, ErrorDomain};

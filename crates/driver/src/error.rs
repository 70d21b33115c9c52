// SPDX-License-Identifier: LGPL-2.1-or-later
//! Driver errors: libvirt's shared error vocabulary (`virterror`), a code,
//! a domain and only the detail; the wire error is built from it by the
//! protocol layer.

pub use virterror::{ErrorCode, ErrorDomain, Result, VirError as Error};

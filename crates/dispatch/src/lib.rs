// SPDX-License-Identifier: LGPL-2.1-or-later
//! Dispatch: the only place that knows both the wire types and the driver
//! traits. Decodes a procedure's arguments, checks access (read-only
//! socket, open connection), calls the driver and encodes the reply or the
//! libvirt error.
//!
//! Must not do I/O of its own beyond queueing frames on a client.
#![forbid(unsafe_code)]
// A failed call builds one RemoteError and moves it straight into the reply;
// boxing it would only add an allocation on the error path.
#![allow(clippy::result_large_err)]

mod convert;
mod remote;

pub use remote::{RemoteHandler, RemoteState};

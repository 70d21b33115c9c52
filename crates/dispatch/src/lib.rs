// SPDX-License-Identifier: LGPL-2.1-or-later
//! Dispatch: the only place that knows both the wire types and the driver
//! traits. It serves the remote and lxc programs: checks access (read-only
//! socket, open connection), calls the driver and returns the reply or the
//! libvirt error.
//!
//! The protocol tables (`protocol::procs`) are the one source of each
//! procedure's number, argument and reply types, priority and access; they
//! generate a trait per family of procedures whose methods default to
//! libvirt's "not supported", and the decode → method → encode step. This
//! crate implements those methods, one small one per procedure, in
//! `remote/<family>.rs` (connect, domain, network, storage, nodedev,
//! interface, lxc); `remote/mod.rs` holds the handler, the read-only check
//! and which calls run on the connection task. Adding a procedure: its row
//! in the table (usually there already), its method in its family's file.
//!
//! Depends on `protocol`, `rpc` and `driver`; nothing below it knows the
//! wire. Does no I/O of its own beyond queueing frames on a client: a
//! stream's descriptor goes to the RPC layer with the reply.
#![forbid(unsafe_code)]
// A failed call builds one RemoteError and moves it straight into the reply;
// boxing it would only add an allocation on the error path.
#![allow(clippy::result_large_err)]

mod convert;
mod remote;

pub use remote::{
    call_raw, connection_identity, families_of_daemon, forward_identity, pong, read_raw_frame,
    reply_error, RemoteHandler, RemoteState, Secondary, HYPERVISOR_FAMILIES,
};

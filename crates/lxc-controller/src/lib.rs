// SPDX-License-Identifier: LGPL-2.1-or-later
//! The LXC controller: one `libvirt_lxc` process per running container.
//!
//! Role: the controller owns a container's cgroup, namespaces, console and
//! host network ends, and outlives the daemon that started it (own session,
//! SIGHUP/SIGPIPE ignored, every inherited fd closed). This crate holds:
//! - [`spec::ContainerSpec`], the plain description the LXC driver builds
//!   from domain XML and hands over as JSON;
//! - [`controller`], the process itself (the `libvirt_lxc` binary is a thin
//!   main over [`controller::main_entry`]);
//! - [`container`], the code that runs inside the new namespaces up to the
//!   exec of the container's init;
//! - [`client`], the blocking client library the driver uses: [`client::start`],
//!   [`client::connect`], requests with timeouts, the console relay and the
//!   exit event stream.
//!
//! Must not depend on: conf, protocol, rpc, driver crates (the driver maps
//! XML to a spec; the controller never sees XML). All system calls go
//! through the `host` crate; this crate forbids `unsafe`.
//!
//! Invariants:
//! - the control protocol is newline-delimited JSON, one request and one
//!   response per line, lines at most [`proto::MAX_LINE`] bytes;
//! - every client request has a deadline, so a stopped controller cannot
//!   hang a caller;
//! - a container that fails to start leaves no cgroup, veth or socket behind.
#![forbid(unsafe_code)]

pub mod client;
pub mod container;
pub mod controller;
pub mod error;
pub mod proto;
pub mod spec;

pub use client::{connect, start, Client, Console, StartOptions, Started};
pub use error::{Error, Result};
pub use spec::ContainerSpec;

// SPDX-License-Identifier: LGPL-2.1-or-later
//! The driver interface: what a hypervisor driver (test, lxc, xen, vz)
//! implements, the objects it hands out, its errors and its events, and
//! what drivers share to keep their objects: object lists indexed by
//! UUID, name and id (`objlist`) and per-object job locks (`job`).
//!
//! Every trait method has a default that fails with libvirt's "this
//! function is not supported by the connection driver" error, so a driver
//! implements exactly what it supports. Drivers never see XDR; `dispatch`
//! converts between these types and the wire.
//!
//! Depends on no wire crate: errors are `virterror`'s.
#![forbid(unsafe_code)]

pub mod close_callbacks;
pub mod consts;
pub mod error;
pub mod events;
pub mod identity;
pub mod job;
pub mod keycodes;
pub mod nodeinfo;
pub mod objlist;
pub mod registry;
pub mod types;

mod hypervisor;

pub use close_callbacks::{CloseCallbacks, ConnectionId};
pub use error::{Error, Result};
pub use events::{Event, EventBus, EventSink};
pub use hypervisor::Connection;
pub use registry::{
    in_process_network, ConnectAuth, DriverFactory, NetworkOpener, Registry, SharedConnections, Uri,
};
pub use types::*;

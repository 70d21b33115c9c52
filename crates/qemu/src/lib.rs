// SPDX-License-Identifier: LGPL-2.1-or-later
//! QEMU's side of the QEMU driver: the QMP monitor client ([`qmp`]), the
//! capability probe libvirt runs against each emulator ([`probe`], with the
//! facts of [`tables`] and the QAPI schema queries of [`schema`]), and
//! starting an emulator for probing and caching its result per binary
//! ([`cache`]).
//!
//! Must not depend on: the RPC layer or the driver framework; the
//! capabilities model itself lives in `qemu-caps` (no async runtime there).
//!
//! Invariants: nothing QEMU sends can panic this crate; every monitor call
//! has a deadline and cancelling it leaves the monitor usable for others.
#![forbid(unsafe_code)]

pub mod cache;
pub mod probe;
pub mod qmp;
pub mod schema;
pub mod tables;

pub use qemu_caps::QemuCaps;

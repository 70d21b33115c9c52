// SPDX-License-Identifier: LGPL-2.1-or-later
//! Reliability checks for the daemons: the bodies of the fuzz targets
//! ([`targets`], shared with `fuzz/`), a small input mutator for replaying
//! them in `cargo test` ([`mutate`]), and a harness that runs the real
//! daemon binaries ([`harness`]) for the crash-safety, stall, limits,
//! access and leak tests in `tests/`.
//!
//! The daemon binaries belong to other packages, so build them first with
//! the same target directory: `cargo build --bins && cargo test -p
//! reliability-tests`. Tests that need root or busybox say why they skip.
//!
//! Must not be depended on by any daemon crate. Invariant: every target
//! function returns normally on any input; a panic is a bug in the code it
//! exercises.
#![forbid(unsafe_code)]

pub mod harness;
pub mod mutate;
pub mod targets;

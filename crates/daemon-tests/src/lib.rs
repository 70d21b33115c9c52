// SPDX-License-Identifier: LGPL-2.1-or-later
//! End-to-end tests of libvirtd, virtlxcd, virtxend, virtvzd and
//! virtproxyd (see `tests/`). The library is empty: the tests start the
//! daemon binaries as real processes and check them from outside.
//!
//! The binaries belong to other packages (bins/*), so cargo does not build
//! them for this package's tests. Build them first, with the same target
//! directory:
//!
//! ```text
//! cargo build --bins && cargo test -p daemon-tests
//! ```
//!
//! The tests find them next to their own executable (`target/debug/`),
//! which follows `CARGO_TARGET_DIR`. Tests needing root (setuid to
//! `nobody`, root-only daemons) say why they skip when not run as root.
//!
//! Starting daemons, the real clients and the skips come from
//! `test-support`. Must not depend on any daemon crate: only the
//! wire-level client.
#![forbid(unsafe_code)]

// SPDX-License-Identifier: LGPL-2.1-or-later
//! The driver on a Xen dom0 (built with the `libxl` feature): guests are
//! created from the libxl JSON configuration `xenconfig` builds and
//! managed through `libxl-sys`.
//!
//! State: persistent definitions in `config_dir/NAME.xml` (autostart links
//! in `autostart_dir`), live definitions in `state_dir/NAME.xml`, managed
//! save images in `save_dir/NAME.save` (layout in [`crate::saveimage`]).
//! At start the driver reads these and reattaches to guests Xen still
//! runs; status files of guests that are gone are removed.
//!
//! Events: one thread waits in `libxl_event_wait` for the DOMAIN_SHUTDOWN
//! and DOMAIN_DEATH events of every running guest and applies the guest's
//! `<on_poweroff>`, `<on_reboot>` and `<on_crash>` actions, so a guest
//! that powers off, reboots or crashes by itself changes state and emits
//! lifecycle events without any client asking.
//!
//! Guests live in a `driver::objlist` list (listed in the order they were
//! added), each behind its own lock. Jobs (`driver::job`): starting,
//! saving, restoring, destroying and the event handling of a guest hold
//! its job, taken with a zero timeout; a second such operation fails at
//! once with VIR_ERR_OPERATION_TIMEOUT instead of waiting, and libxl
//! events of a guest whose job is held (our own destroy or save) are
//! ignored.
//!
//! Layout: `driver` holds the state and starts and stops guests, `conn`
//! is the `Connection` clients get, `helpers` what both use.

mod conn;
mod driver;
mod helpers;

pub use conn::XenConnection;
pub use driver::XenDriver;

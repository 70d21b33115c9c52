// SPDX-License-Identifier: LGPL-2.1-or-later
//! virtxend: the modular daemon for Xen through libxl (`xen:///system`).
//! Must run as root; serves `virtxend-sock`, `virtxend-sock-ro` and
//! `virtxend-admin-sock`.
#![forbid(unsafe_code)]

use daemon::DaemonContext;
use driver::Registry;

/// The drivers this daemon hosts. The libxl driver is registered here
/// once it exists (its directories come from `ctx.driver_dirs("libxl")`,
/// its settings from libxl.conf); until then `xen:///system` gets "no
/// connection driver available".
fn registry(ctx: &DaemonContext) -> Registry {
    let _dirs = ctx.driver_dirs("libxl");
    Registry::new()
}

fn main() -> std::process::ExitCode {
    daemon::run("virtxend", registry)
}

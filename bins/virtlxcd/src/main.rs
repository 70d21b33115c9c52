// SPDX-License-Identifier: LGPL-2.1-or-later
//! virtlxcd: the modular daemon for LXC containers (`lxc:///system`).
//! Must run as root; serves `virtlxcd-sock`, `virtlxcd-sock-ro` and
//! `virtlxcd-admin-sock`.
#![forbid(unsafe_code)]

use daemon::DaemonContext;
use driver::Registry;

/// The drivers this daemon hosts. The LXC driver is registered here once
/// it exists (its directories come from `ctx.driver_dirs("lxc")`); until
/// then `lxc:///system` gets "no connection driver available".
fn registry(ctx: &DaemonContext) -> Registry {
    let _dirs = ctx.driver_dirs("lxc");
    Registry::new()
}

fn main() -> std::process::ExitCode {
    daemon::run("virtlxcd", registry)
}

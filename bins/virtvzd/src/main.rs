// SPDX-License-Identifier: LGPL-2.1-or-later
//! virtvzd: the modular daemon for Virtuozzo (`vz:///system`). Runs as
//! root or as an ordinary user.
#![forbid(unsafe_code)]

use daemon::support::log_warn;
use daemon::DaemonContext;
use driver::Registry;

/// The drivers this daemon hosts: the vz driver, registered as libvirt
/// registers it, only where `prlctl` is on `PATH`; it then says why it is
/// inactive (this build has no Virtuozzo SDK). Without `prlctl` nothing
/// claims `vz:///system` and the log says why.
fn registry(ctx: &DaemonContext) -> Registry {
    let mut registry = Registry::new();
    let path = std::env::var("PATH").unwrap_or_default();
    match driver_vz::VzFactory::probe(ctx.privileged, &path) {
        Some(f) => registry.add(std::sync::Arc::new(f)),
        None => log_warn!(
            "daemon",
            "vz driver not registered: {}",
            driver_vz::NOT_REGISTERED
        ),
    }
    registry
}

fn main() -> std::process::ExitCode {
    daemon::run("virtvzd", registry)
}

// SPDX-License-Identifier: LGPL-2.1-or-later
//! virtvzd: the modular daemon for Virtuozzo (`vz:///system`). Runs as
//! root or as an ordinary user.
#![forbid(unsafe_code)]

use daemon::support::log_warn;
use daemon::DaemonContext;
use driver::Registry;

/// The drivers this daemon hosts. The vz driver needs the Virtuozzo SDK,
/// which this build does not have: the daemon runs without it and
/// `vz:///system` gets "no connection driver available for vz:///system".
fn registry(_ctx: &DaemonContext) -> Registry {
    log_warn!(
        "daemon",
        "vz driver is inactive: this build has no Virtuozzo SDK (prlsdkapi)"
    );
    Registry::new()
}

fn main() -> std::process::ExitCode {
    daemon::run("virtvzd", registry)
}

// SPDX-License-Identifier: LGPL-2.1-or-later
//! libvirtd: the monolithic daemon hosting every driver.
#![forbid(unsafe_code)]

use driver::Registry;

/// The drivers libvirtd hosts.
fn registry(_ctx: &daemon::DaemonContext) -> Registry {
    let mut registry = Registry::new();
    registry.add(driver_test::factory());
    registry
}

fn main() -> std::process::ExitCode {
    daemon::run("libvirtd", registry)
}

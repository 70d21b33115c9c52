// SPDX-License-Identifier: LGPL-2.1-or-later
//! libvirtd: the monolithic daemon hosting every driver.
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    daemon::run("libvirtd", |_ctx| {
        let registry = driver::Registry::new();
        registry
    })
}

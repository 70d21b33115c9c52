// SPDX-License-Identifier: LGPL-2.1-or-later
//! virtproxyd: serves the classic libvirtd sockets (`libvirt-sock`,
//! `libvirt-sock-ro`, `libvirt-admin-sock`, TCP per `listen_tcp`) and
//! forwards each client to the modular daemon of the URI it opens (see the
//! `proxy` crate); `test:///` is served in-process.
#![forbid(unsafe_code)]

use std::process::ExitCode;
use std::sync::Arc;

use daemon::DaemonContext;
use driver::Registry;
use proxy::ProxyHandler;

/// The drivers served inside the proxy itself.
fn registry(_ctx: &DaemonContext) -> Registry {
    let mut r = Registry::new();
    r.add(driver_test::factory());
    r
}

fn main() -> ExitCode {
    daemon::run_with("virtproxyd", |ctx| {
        let mut reg = registry(ctx);
        ctx.use_default_uri(&mut reg);
        let sock_dir = ctx
            .paths
            .sock
            .parent()
            .map(|p| p.to_path_buf())
            .unwrap_or_else(|| ctx.paths.run_dir.clone());
        let local = Arc::new(dispatch::RemoteHandler::new(reg.clone()));
        (
            Arc::new(ProxyHandler::new(sock_dir, local, ctx.privileged)),
            reg,
        )
    })
}

// SPDX-License-Identifier: LGPL-2.1-or-later
//! Test harness: a real libvirtd process on a private socket directory,
//! and the real clients (virsh, libvirt-python) pointed at it. Processes,
//! clients and skips are test-support's; this adds libvirtd's test
//! configuration, its URIs and a connection that keeps test:///default.
#![allow(dead_code, unused_imports)]

use std::path::{Path, PathBuf};
use std::time::Duration;

pub use test_support::{
    have, is_root, link_applets, missing_busybox, python, python_available, skip, skip_if,
    skip_without, virsh_uri, BusyboxRoot, Out, TempDir,
};

/// A running libvirtd, stopped with SIGTERM (then SIGKILL) on drop.
pub struct Daemon {
    process: test_support::Daemon,
    spec: test_support::Spec,
    pub dir: TempDir,
    pub sock: PathBuf,
}

impl Daemon {
    pub fn start() -> Daemon {
        Self::start_with("")
    }

    /// Start with extra config lines appended to the default test config.
    pub fn start_with(extra: &str) -> Daemon {
        let dir = TempDir::new("libvirtd");
        let conf = dir.join("libvirtd.conf");
        std::fs::write(
            &conf,
            format!(
                "unix_sock_dir = \"{}\"\nauth_unix_rw = \"none\"\nauth_unix_ro = \"none\"\nunix_sock_ro_perms = \"0777\"\nlog_outputs = \"3:file:{}\"\n{extra}\n",
                dir.join("run").display(),
                dir.join("libvirtd.log").display()
            ),
        )
        .expect("write config");
        let spec = test_support::Spec::with_conf(
            env!("CARGO_BIN_EXE_libvirtd"),
            &dir,
            &conf,
            &dir.join("libvirtd.pid"),
            dir.path(),
            dir.join("run/libvirt-sock"),
        )
        .env("LIBVIRT_LXC_BINARY", &lxc_binary().display().to_string());
        Daemon {
            process: spec.start(),
            sock: spec.ready.clone(),
            spec,
            dir,
        }
    }

    /// Kill the daemon with SIGKILL (guests must survive) and start it
    /// again on the same directories.
    pub fn kill_and_restart(&mut self) {
        self.process.kill9();
        self.process = self.spec.start();
    }

    pub fn uri(&self, driver: &str) -> String {
        format!(
            "{driver}+unix:///{}?socket={}",
            if driver == "test" {
                "default"
            } else {
                "system"
            },
            self.sock.display()
        )
    }

    pub fn ro_uri(&self) -> String {
        format!("test+unix:///default?socket={}-ro", self.sock.display())
    }

    pub fn test_uri(&self) -> String {
        self.uri("test")
    }

    /// Keep test:///default alive between virsh invocations: its state is
    /// freed when the last connection closes, as in libvirt.
    pub fn keeper(&self) -> rpc::client::RpcClient {
        let mut c = rpc::client::RpcClient::connect(&self.sock, protocol::remote::PROGRAM, 1)
            .expect("connect");
        let _: () = c
            .call(
                protocol::RemoteProc::ConnectOpen as i32,
                &protocol::remote::ConnectOpenArgs {
                    name: Some("test:///default".into()),
                    flags: 0,
                },
            )
            .expect("open test:///default");
        c
    }

    pub fn virsh(&self, args: &[&str]) -> Out {
        virsh_uri(&self.test_uri(), args)
    }

    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    pub fn is_running(&mut self) -> bool {
        self.process.running()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.process.stop(Duration::from_secs(5));
    }
}

/// The controller binary built beside the daemon.
pub fn lxc_binary() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_libvirtd")).with_file_name("libvirt_lxc")
}

// SPDX-License-Identifier: LGPL-2.1-or-later
//! Measures container start (until init runs) and destroy (until torn down)
//! with a busybox root. Run as root:
//! `cargo run --release -p lxc-controller --example bench -- [ROUNDS]`
//! (build the libvirt_lxc binary in the same profile first, or point
//! LIBVIRT_LXC_BINARY at it).

use lxc_controller::client::{self, StartOptions};
use lxc_controller::spec::ContainerSpec;
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20);
    let dir = std::env::temp_dir().join(format!("lxc-bench-{}", std::process::id()));
    let root = dir.join("root");
    for d in ["bin", "proc", "sys", "dev", "tmp", "etc"] {
        std::fs::create_dir_all(root.join(d))?;
    }
    std::fs::copy("/bin/busybox", root.join("bin/busybox"))?;
    std::os::unix::fs::symlink("busybox", root.join("bin/sh"))?;
    std::os::unix::fs::symlink("busybox", root.join("bin/sleep"))?;
    let state = dir.join("state");
    let opts = StartOptions {
        binary: std::env::var_os("LIBVIRT_LXC_BINARY")
            .map(PathBuf::from)
            .unwrap_or_else(client::default_binary),
        timeout: Duration::from_secs(30),
    };
    let mut starts = Vec::new();
    let mut destroys = Vec::new();
    for i in 0..rounds {
        let spec = ContainerSpec {
            name: format!("bench{i}"),
            uuid: "00000000-0000-0000-0000-000000000001".into(),
            root: Some(root.clone()),
            init: "/bin/sleep".into(),
            args: vec!["1000".into()],
            memory_kib: Some(65536),
            ..Default::default()
        };
        let t = Instant::now();
        client::start(&spec, &state, &opts)?;
        starts.push(t.elapsed());
        let mut c = client::connect(&state, &spec.name, Duration::from_secs(10))?;
        let t = Instant::now();
        c.destroy()?;
        destroys.push(t.elapsed());
    }
    let _ = std::fs::remove_dir_all(&dir);
    let report = |what: &str, v: &mut Vec<Duration>| {
        v.sort();
        let med = v.get(v.len() / 2).copied().unwrap_or_default();
        let max = v.last().copied().unwrap_or_default();
        println!(
            "{what}: median {med:?}, max {max:?} over {} rounds",
            v.len()
        );
    };
    report("start", &mut starts);
    report("destroy", &mut destroys);
    Ok(())
}

// SPDX-License-Identifier: LGPL-2.1-or-later
//! libvirt_leaseshelper: dnsmasq runs it (`--dhcp-script`, with
//! `--leasefile-ro`) as `ACTION MAC IP [HOSTNAME]` at every lease change,
//! and as `init` when it starts, with the lease's details in `DNSMASQ_*`
//! variables. It keeps libvirt's lease database for the network's bridge,
//! `/var/lib/libvirt/dnsmasq/BRIDGE.status` (the logic is
//! `network::leases`), one helper at a time (`/run/leaseshelper.pid`
//! locked), and at `init` prints the leases back to dnsmasq.
//!
//! The bridge comes from `DNSMASQ_INTERFACE`, else `VIR_BRIDGE_NAME`
//! (which the network driver gives dnsmasq for the events without an
//! interface). The directories follow `LIBVIRT_RS_ROOT_PREFIX` as the
//! daemons' do; `LIBVIRT_RS_DNSMASQ_DIR` (set by the network driver)
//! names the database's directory.
#![forbid(unsafe_code)]

use std::io::Write;
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use network::leases::{self, Action, Event};

fn env(k: &str) -> Option<String> {
    std::env::var(k).ok()
}

fn usage(prog: &str, ok: bool) -> ExitCode {
    let text = format!(
        "Usage: {prog} add|old|del|init mac|clientid ip [hostname]\n\
         Designed for use with 'dnsmasq --dhcp-script'\n\
         Refer to man page of dnsmasq for more details'\n"
    );
    if ok {
        print!("{text}");
        ExitCode::SUCCESS
    } else {
        eprint!("{text}");
        ExitCode::FAILURE
    }
}

fn fail(msg: impl AsRef<str>) -> ExitCode {
    eprintln!("libvirt_leaseshelper: {}", msg.as_ref());
    ExitCode::FAILURE
}

fn root() -> PathBuf {
    PathBuf::from(env("LIBVIRT_RS_ROOT_PREFIX").unwrap_or_else(|| "/".into()))
}

/// Takes the helpers' lock, waiting for another helper to finish.
fn lock(path: &std::path::Path) -> Result<std::fs::File, String> {
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|e| format!("Unable to acquire PID file: {}: {e}", path.display()))?;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match host::fs::lock_file(f.as_fd()) {
            Ok(()) => break,
            Err(e) if Instant::now() >= deadline => {
                return Err(format!(
                    "Unable to acquire PID file: {}: {e}",
                    path.display()
                ))
            }
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
    let mut w = &f;
    let _ = f.set_len(0);
    let _ = writeln!(w, "{}", std::process::id());
    Ok(f)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let prog = args
        .first()
        .cloned()
        .unwrap_or_else(|| "libvirt_leaseshelper".into());
    match args.get(1).map(String::as_str) {
        Some("--help") => return usage(&prog, true),
        Some("--version") => {
            println!("{prog} (libvirt-rs) {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        _ => {}
    }
    if !matches!(args.len(), 2 | 4 | 5) {
        return usage(&prog, false);
    }
    let Some(interface) = env("DNSMASQ_INTERFACE").or_else(|| env("VIR_BRIDGE_NAME")) else {
        return fail("interface not set");
    };
    let Some(action) = Action::parse(&args[1]) else {
        return fail(format!("Unsupported action: {}", args[1]));
    };
    let ev = Event {
        mac_or_duid: args.get(2).cloned().unwrap_or_default(),
        ip: args.get(3).cloned().unwrap_or_default(),
        hostname: args
            .get(4)
            .cloned()
            .or_else(|| env("DNSMASQ_SUPPLIED_HOSTNAME")),
        old_hostname: env("DNSMASQ_OLD_HOSTNAME"),
        client_id: env("DNSMASQ_CLIENT_ID"),
        iaid: env("DNSMASQ_IAID"),
        mac6: env("DNSMASQ_MAC"),
        server_duid: env("DNSMASQ_SERVER_DUID"),
        expires: env("DNSMASQ_LEASE_EXPIRES"),
    };
    let dir = env("LIBVIRT_RS_DNSMASQ_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("var/lib/libvirt/dnsmasq"));
    let file = dir.join(format!("{interface}.status"));
    let _lock = match lock(&root().join("run/leaseshelper.pid")) {
        Ok(l) => l,
        Err(e) => return fail(e),
    };
    let text = match std::fs::read_to_string(&file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return fail(format!("Unable to read {}: {e}", file.display())),
    };
    let (new, out) = match leases::apply(&text, action, &ev) {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    if let Some(new) = new {
        if let Err(e) = host::fs::write_atomic(&file, new.as_bytes(), 0o644) {
            return fail(format!("cannot write {}: {e}", file.display()));
        }
    }
    print!("{out}");
    let _ = std::io::stdout().flush();
    ExitCode::SUCCESS
}

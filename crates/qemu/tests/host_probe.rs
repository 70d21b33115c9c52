// SPDX-License-Identifier: LGPL-2.1-or-later
//! The probe against this host's real QEMU: the machine types it reports
//! are those `qemu-system-x86_64 -machine help` lists, the cache file is
//! named and written as libvirt's, reused while valid and probed again
//! when the binary changes (a wrapper script standing for the binary, so
//! the host's is never touched).

use qemu::cache::{cache_file_name, CapsCache, ProbeEnv};
use qemu_caps::VirtType;
use std::os::unix::fs::PermissionsExt;
use test_support::{skip, TempDir};

const QEMU: &str = "/usr/bin/qemu-system-x86_64";

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Machine names and aliases as `-machine help` prints them.
fn machine_help(binary: &str) -> Vec<(String, Option<String>)> {
    let out = std::process::Command::new(binary)
        .args(["-machine", "help"])
        .output()
        .unwrap_or_else(|e| panic!("{binary}: {e}"));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .skip(1)
        .filter_map(|l| {
            let name = l.split_whitespace().next()?.to_string();
            let alias = l
                .split("(alias of ")
                .nth(1)
                .and_then(|r| r.split(')').next())
                .map(str::to_string);
            Some((name, alias))
        })
        .collect()
}

#[test]
fn probing_the_host_qemu_finds_the_machines_it_lists() {
    if !std::path::Path::new(QEMU).exists() {
        return skip(format!("{QEMU} is not installed"));
    }
    let dir = TempDir::new("qemu-probe");
    let env = ProbeEnv::for_host(dir.join("lib"), None, None);
    let cache = CapsCache::new(dir.join("caps"), env);
    let caps = rt()
        .block_on(cache.lookup(QEMU))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(caps.arch, "x86_64");
    let virt = if caps.has("kvm") {
        VirtType::Kvm
    } else {
        VirtType::Qemu
    };
    let help = machine_help(QEMU);
    // `-machine help` lists aliases as their own lines ("pc ... (alias of
    // pc-i440fx-7.2)"); libvirt folds them into the canonical machine.
    for (name, alias_of) in &help {
        if name == "none" {
            continue;
        }
        match alias_of {
            Some(canon) => assert_eq!(caps.canonical_machine(virt, name), canon, "{name}"),
            None => assert!(caps.is_machine_supported(virt, name), "{name} missing"),
        }
    }
    let ours: usize = caps.machines(virt).len();
    let theirs = help
        .iter()
        .filter(|(n, a)| a.is_none() && n != "none")
        .count();
    assert_eq!(ours, theirs);
    // The preferred machine is what `pc` stands for.
    let pc = help
        .iter()
        .find(|(n, _)| n == "pc")
        .and_then(|(_, a)| a.clone());
    assert_eq!(caps.preferred_machine(virt).map(str::to_string), pc);
    assert!(caps.has("tcg"));
    let file = dir.join("caps").join(cache_file_name(QEMU));
    let meta = std::fs::metadata(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let text = std::fs::read_to_string(&file).unwrap_or_default();
    assert_eq!(text, caps.format_cache());
}

#[test]
fn the_cache_is_reused_until_the_binary_changes() {
    if !std::path::Path::new(QEMU).exists() {
        return skip(format!("{QEMU} is not installed"));
    }
    let dir = TempDir::new("qemu-cache");
    let binary = dir.join("qemu-system-x86_64");
    // QEMU finds its modules from its own location: a copy elsewhere could
    // not load them, a script that runs it can.
    std::fs::write(&binary, format!("#!/bin/sh\nexec {QEMU} \"$@\"\n"))
        .unwrap_or_else(|e| panic!("{e}"));
    std::fs::set_permissions(&binary, std::fs::Permissions::from_mode(0o755))
        .unwrap_or_else(|e| panic!("{e}"));
    let binary = binary.to_string_lossy().to_string();
    let env = ProbeEnv::for_host(dir.join("lib"), None, None);
    let rt = rt();
    let first = {
        let cache = CapsCache::new(dir.join("caps"), env.clone());
        rt.block_on(cache.lookup(&binary))
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let file = dir.join("caps").join(cache_file_name(&binary));
    let written = std::fs::metadata(&file)
        .and_then(|m| m.modified())
        .unwrap_or_else(|e| panic!("{e}"));
    // A new cache (a restarted daemon) takes the file as it is.
    let cache = CapsCache::new(dir.join("caps"), env.clone());
    let again = rt
        .block_on(cache.lookup(&binary))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(again.format_cache(), first.format_cache());
    assert_eq!(
        std::fs::metadata(&file).and_then(|m| m.modified()).ok(),
        Some(written)
    );
    // Changing the binary (its ctime) makes the next lookup probe again.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    std::fs::set_permissions(&binary, std::fs::Permissions::from_mode(0o700))
        .unwrap_or_else(|e| panic!("{e}"));
    let reprobed = rt
        .block_on(cache.lookup(&binary))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_ne!(reprobed.qemu_ctime, first.qemu_ctime);
    let text = std::fs::read_to_string(&file).unwrap_or_default();
    assert!(text.contains(&format!("<qemuctime>{}</qemuctime>", reprobed.qemu_ctime)));
}

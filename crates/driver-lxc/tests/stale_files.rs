// SPDX-License-Identifier: LGPL-2.1-or-later
//! A daemon killed in the middle of an atomic write leaves its temporary
//! file behind; the next start-up removes it (unless its writer still
//! runs) and never takes it for a definition.

use driver_lxc::{LxcDriverConfig, LxcDriverFactory};

#[test]
fn startup_removes_temporary_files_of_dead_writers_only() {
    let dir = std::env::temp_dir().join(format!("lxc-stale-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let config = dir.join("config");
    std::fs::create_dir_all(&config).unwrap_or_else(|e| panic!("mkdir: {e}"));
    // No process has pid 4194304 (above the kernel's pid_max limit).
    let dead = config.join(".gone.xml.tmp4194304");
    let alive = config.join(format!(".busy.xml.tmp{}", std::process::id()));
    let other = config.join(".notes");
    for p in [&dead, &alive, &other] {
        std::fs::write(p, "<domain type='lxc'><name>half").unwrap_or_else(|e| panic!("write: {e}"));
    }
    let cfg = LxcDriverConfig::from_dirs(false, config.clone(), dir.join("state"), dir.join("log"));
    let _f = LxcDriverFactory::new(cfg);
    assert!(!dead.exists(), "a dead writer's temporary file was kept");
    assert!(alive.exists(), "a live writer's temporary file was removed");
    assert!(other.exists(), "an unrelated file was removed");
    let _ = std::fs::remove_dir_all(&dir);
}

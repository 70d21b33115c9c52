// SPDX-License-Identifier: LGPL-2.1-or-later
//! Pid file locking and daemonize need a second process: the test binary
//! runs itself again with a role in the environment (`child_role` below
//! does nothing in a normal run).

#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use daemon_support::{daemonize, pidfile, ready_fail, ready_notify, DaemonErr, PidFile};

const ROLE: &str = "DAEMON_SUPPORT_TEST_ROLE";
const PATH: &str = "DAEMON_SUPPORT_TEST_PATH";

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ds-process-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    dir
}

fn run_child(role: &str, path: &Path) -> Output {
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("{e}"));
    Command::new(exe)
        .args(["--exact", "child_role", "--nocapture", "--test-threads=1"])
        .env(ROLE, role)
        .env(PATH, path)
        .output()
        .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn child_role() {
    let Ok(role) = std::env::var(ROLE) else {
        return;
    };
    let path = PathBuf::from(std::env::var(PATH).unwrap_or_default());
    match role.as_str() {
        "pidfile" => match PidFile::acquire(&path, std::process::id()) {
            Ok(held) => {
                println!("ACQUIRED {}", std::process::id());
                std::mem::forget(held);
                std::process::exit(0)
            }
            Err(e) => {
                println!("ERROR {e}");
                std::process::exit(3)
            }
        },
        "daemon-ok" | "daemon-fail" => {
            if let Err(e) = daemonize("probe") {
                eprintln!("daemonize: {e}");
                std::process::exit(4);
            }
            // Only the daemon gets here.
            let sid = host::process::getsid();
            let _ = std::fs::write(&path, format!("{} {}", std::process::id(), sid));
            if role == "daemon-ok" {
                ready_notify();
            } else {
                ready_fail(DaemonErr::PidFile);
            }
            // Ends the forked daemon without returning into the test
            // harness.
            host::process::exit_now(0)
        }
        other => panic!("unknown role {other}"),
    }
}

#[test]
fn pid_file_is_exclusive_between_processes() {
    let dir = scratch("pid");
    let path = dir.join("d.pid");
    let held = PidFile::acquire(&path, 4242).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(pidfile::read_pid(&path).ok(), Some(4242));

    let out = run_child("pidfile", &path);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{stdout}");
    let want = format!("ERROR Failed to acquire pid file '{}': ", path.display());
    assert!(stdout.contains(&want), "{stdout}");
    // The holder's content is untouched by the failed attempt.
    assert_eq!(pidfile::read_pid(&path).ok(), Some(4242));

    held.release();
    assert!(!path.exists());
    let out = run_child("pidfile", &path);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let child_pid: u32 = stdout
        .lines()
        .find_map(|l| l.split_once("ACQUIRED ").map(|(_, p)| p))
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or_else(|| panic!("{stdout}"));
    assert_eq!(pidfile::read_pid(&path).ok(), Some(child_pid));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn pid_file_in_missing_directory_names_the_path() {
    let e = PidFile::acquire("/nonexistent-dir/x.pid", 1).unwrap_err();
    assert_eq!(
        e.to_string(),
        "Failed to open pid file '/nonexistent-dir/x.pid': No such file or directory"
    );
}

#[test]
fn daemonize_parent_exits_zero_once_daemon_is_ready() {
    let dir = scratch("daemon-ok");
    let marker = dir.join("marker");
    let out = run_child("daemon-ok", &marker);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The daemon wrote the marker before reporting, so it exists now.
    let text = std::fs::read_to_string(&marker).unwrap_or_else(|e| panic!("{e}"));
    let mut it = text.split(' ').map(|n| n.parse::<i64>().unwrap_or(-1));
    let (pid, sid) = (it.next().unwrap_or(-1), it.next().unwrap_or(-1));
    assert!(pid > 0 && sid > 0);
    // SAFETY: getsid(0) only queries this process.
    let our_sid = i64::from(host::process::getsid());
    assert_ne!(sid, our_sid, "daemon must run in a new session");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn daemonize_parent_reports_the_daemons_failure() {
    let dir = scratch("daemon-fail");
    let out = run_child("daemon-fail", &dir.join("marker"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "probe: error: Unable to obtain pidfile. Check /var/log/messages or run without --daemon for more info."
        ),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn pid_file_second_acquire_in_same_process_fails() {
    let dir = scratch("pid-same");
    let path = dir.join("d.pid");
    let held = PidFile::acquire(&path, 1).unwrap_or_else(|e| panic!("{e}"));
    let e = PidFile::acquire(&path, 2).unwrap_err();
    assert!(
        e.to_string().starts_with(&format!(
            "Failed to acquire pid file '{}': ",
            path.display()
        )),
        "{e}"
    );
    assert_eq!(pidfile::read_pid(&path).ok(), Some(1));
    drop(held);
    assert!(!path.exists(), "dropping the pid file removes it");
    let _ = std::fs::remove_dir_all(dir);
}

// SPDX-License-Identifier: LGPL-2.1-or-later
//! The helpers on their own: no daemon, no root.

use std::process::Command;
use std::time::{Duration, Instant};

use test_support::*;

#[test]
fn temp_dir_is_fresh_and_removed_on_drop() {
    let t = TempDir::new("selftest");
    let p = t.path().to_path_buf();
    assert!(p.is_dir());
    let conf = t.config("max_clients = 3");
    let text = std::fs::read_to_string(conf).unwrap_or_default();
    assert!(text.starts_with(&format!("unix_sock_dir = \"{}\"", t.join("run").display())));
    assert!(text.contains("max_clients = 3"));
    drop(t);
    assert!(!p.exists());
}

#[test]
fn run_cmd_captures_both_streams_and_the_status() {
    let mut c = Command::new("sh");
    c.args(["-c", "echo out; echo err >&2; exit 3"]);
    let o = run_cmd(c);
    assert_eq!(o.status.code(), Some(3));
    assert_eq!(text(&o.stdout), "out\n");
    assert_eq!(text(&o.stderr), "err\n");
    let out: Out = o.into();
    assert_eq!(out.failure(), "err\n");
}

#[test]
fn run_cmd_within_kills_a_command_that_runs_too_long() {
    let started = Instant::now();
    let r = std::panic::catch_unwind(|| {
        let mut c = Command::new("sleep");
        c.arg("30");
        run_cmd_within(c, Duration::from_millis(200))
    });
    assert!(r.is_err(), "a hung command must fail its test");
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn eventually_polls_until_true_or_the_limit() {
    let mut n = 0;
    assert!(eventually_within(Duration::from_secs(5), || {
        n += 1;
        n == 3
    }));
    assert!(!eventually_within(Duration::from_millis(100), || false));
}

#[test]
fn tools_are_found_on_path_only_when_executable() {
    assert!(tool_exists("sh"));
    assert!(tool_exists("/bin/sh"));
    assert!(!tool_exists("no-such-tool-anywhere"));
}

#[test]
fn free_port_can_be_bound() {
    let p = free_port();
    assert!(std::net::TcpListener::bind(("127.0.0.1", p)).is_ok());
}

#[test]
fn busybox_root_has_the_applets_and_files_asked_for() {
    skip_if!(missing_busybox());
    let t = TempDir::new("bbroot");
    let root = BusyboxRoot::new(t.join("rootfs"))
        .applets(&["sh", "sleep"])
        .file("etc/passwd", "root:x:0:0:root:/:/bin/sh\n")
        .build();
    for d in ["bin", "proc", "sys", "dev", "tmp", "etc"] {
        assert!(root.join(d).is_dir(), "{d}");
    }
    assert_eq!(
        std::fs::read_link(root.join("bin/sh")).ok(),
        Some("busybox".into())
    );
    link_applets(&root, &["cat"]);
    assert!(root.join("bin/cat").exists());
    let passwd = std::fs::read_to_string(root.join("etc/passwd")).unwrap_or_default();
    assert_eq!(passwd, "root:x:0:0:root:/:/bin/sh\n");
}

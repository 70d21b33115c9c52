// SPDX-License-Identifier: LGPL-2.1-or-later
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use daemon_support::log::{
    self, glob_match, parse_filters, parse_output, parse_outputs, Destination, LogSetup, Priority,
};
use daemon_support::Env;

/// The logger is process-global: tests that change it take this lock.
static GLOBAL: Mutex<()> = Mutex::new(());

#[test]
fn filters_parse_with_plus_and_wrap_match() {
    let f = parse_filters("1:rpc  3:remote 4:+event").unwrap_or_else(|e| panic!("{e}"));
    let got: Vec<(u32, &str)> = f
        .iter()
        .map(|f| (f.priority.number(), f.pattern.as_str()))
        .collect();
    assert_eq!(got, [(1, "*rpc*"), (3, "*remote*"), (4, "*event*")]);
    assert!(parse_filters("").map(|v| v.is_empty()).unwrap_or(false));
}

#[test]
fn invalid_filters_have_libvirts_messages() {
    let msg = |s: &str| parse_filters(s).unwrap_err().message;
    assert_eq!(msg("rpc"), "Malformed format for filter 'rpc'");
    assert_eq!(msg("5:rpc"), "Invalid priority '5' for filter '5:rpc'");
    assert_eq!(msg("x:rpc"), "Invalid priority 'x' for filter 'x:rpc'");
    assert_eq!(msg("1:+"), "Invalid match string '+'");
    assert_eq!(msg("1:"), "Invalid match string ''");
    let e = parse_filters("0:x").unwrap_err();
    assert_eq!(e.code(), 8);
    assert_eq!(
        e.to_string(),
        "invalid argument: Invalid priority '0' for filter '0:x'"
    );
}

#[test]
fn outputs_parse_and_validate() {
    let o = parse_outputs("1:file:/var/log/x/../d.log 3:stderr 2:syslog:libvirtd 4:journald")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        o[0].dest,
        Destination::File(PathBuf::from("/var/log/d.log"))
    );
    assert_eq!(o[1].dest, Destination::Stderr);
    assert_eq!(o[2].dest, Destination::Syslog("libvirtd".into()));
    assert_eq!(o[3].priority, Priority::Error);
    let s: Vec<String> = o.iter().map(|o| o.to_string()).collect();
    assert_eq!(
        s,
        [
            "1:file:/var/log/d.log",
            "3:stderr",
            "2:syslog:libvirtd",
            "4:journald"
        ]
    );
    // A repeated destination keeps only its last definition, at the end.
    let o = parse_outputs("1:stderr 2:journald 4:stderr").unwrap_or_else(|e| panic!("{e}"));
    let s: Vec<String> = o.iter().map(|o| o.to_string()).collect();
    assert_eq!(s, ["2:journald", "4:stderr"]);
    let msg = |s: &str| parse_output(s).unwrap_err().message;
    assert_eq!(msg("stderr"), "Malformed format for log output 'stderr'");
    assert_eq!(
        msg("9:stderr"),
        "Invalid log priority '9' for log output '9:stderr'"
    );
    assert_eq!(
        msg("1:tty"),
        "Invalid log destination 'tty' for log output '1:tty'"
    );
    assert_eq!(
        msg("1:file"),
        "Log output '1:file' does not meet the format requirements for destination type 'file'"
    );
    assert_eq!(
        msg("1:stderr:x"),
        "Log output '1:stderr:x' does not meet the format requirements for destination type 'stderr'"
    );
}

#[test]
fn glob_matching() {
    assert!(glob_match("*rpc*", "rpc.server"));
    assert!(glob_match("*rpc*", "daemon.rpc"));
    assert!(!glob_match("*rpc*", "remote"));
    assert!(glob_match("*util.?ile*", "util.file"));
    assert!(glob_match("*", ""));
    // A `*` in the pattern stays a wildcard where the text has a `*` too.
    assert!(glob_match("*b", "*ab"));
}

#[test]
fn timestamps_are_utc_in_libvirts_format() {
    let t = log::timestamp_of(std::time::Duration::from_millis(1_700_000_000_123));
    assert_eq!(t, "2023-11-14 22:13:20.123+0000");
    assert_eq!(
        log::timestamp_of(std::time::Duration::ZERO),
        "1970-01-01 00:00:00.000+0000"
    );
}

fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ds-log-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    dir
}

#[test]
fn runtime_filters_and_outputs_control_what_is_written() {
    let _g = GLOBAL.lock().unwrap_or_else(|p| p.into_inner());
    let file = scratch().join("runtime.log");
    let _ = std::fs::remove_file(&file);
    log::reset();
    log::set_outputs(&format!("1:file:{}", file.display())).unwrap_or_else(|e| panic!("{e}"));
    log::set_filters("1:rpc 4:event").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(log::filters_string(), "1:*rpc* 4:*event* ");
    assert_eq!(log::outputs_string(), format!("1:file:{}", file.display()));
    daemon_support::log_debug!("rpc.server", "client {} connected", 7);
    daemon_support::log_warn!("event.bus", "dropped");
    daemon_support::log_warn!("remote", "kept at default level");
    daemon_support::log_info!("remote", "below default level");
    // A bad string leaves the previous filters in place.
    assert!(log::set_filters("1:rpc 7:x").is_err());
    assert_eq!(log::filters_string(), "1:*rpc* 4:*event* ");
    let text = std::fs::read_to_string(&file).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert!(
        lines[0].ends_with(": info : libvirt version: 9.6.0"),
        "{}",
        lines[0]
    );
    assert!(lines[1].contains(": info : hostname: "), "{}", lines[1]);
    assert!(
        lines[2].ends_with(": debug : rpc.server : client 7 connected"),
        "{}",
        lines[2]
    );
    assert!(
        lines[3].ends_with(": warning : remote : kept at default level"),
        "{}",
        lines[3]
    );
    // TIMESTAMP: TID: ... with a 29-character UTC timestamp.
    assert_eq!(lines[2].find("+0000: "), Some(23));
    log::reset();
}

#[test]
fn startup_setup_precedence_and_default_output() {
    let _g = GLOBAL.lock().unwrap_or_else(|p| p.into_inner());
    let file = scratch().join("libvirtd.log");
    let mut s = LogSetup {
        daemon_name: "libvirtd",
        log_level: 0,
        log_filters: Some("3:remote"),
        log_outputs: None,
        verbose: false,
        daemon: true,
        default_log_file: &file,
        journald: false,
        stdin_is_tty: true,
    };
    log::setup(&s, &Env::default()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(log::default_priority(), Priority::Warning);
    assert_eq!(log::outputs_string(), format!("3:file:{}", file.display()));
    assert_eq!(log::filters_string(), "3:*remote* ");

    // Environment beats the config; -v lowers the level to info.
    s.daemon = false;
    s.verbose = true;
    let env = Env::from_pairs([
        ("LIBVIRT_LOG_FILTERS", "1:qemu"),
        ("LIBVIRT_DEBUG", "error"),
    ]);
    log::setup(&s, &env).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(log::filters_string(), "1:*qemu* ");
    assert_eq!(log::default_priority(), Priority::Info);
    assert_eq!(log::outputs_string(), "2:stderr");

    // Journald is preferred when detached; debug is lowered to info there.
    s.daemon = true;
    s.verbose = false;
    s.log_level = 1;
    s.journald = true;
    log::setup(&s, &Env::default()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(log::outputs_string(), "2:journald");
    assert_eq!(log::default_output().as_deref(), Some("2:journald"));

    // Configured outputs win over the default one; bad ones are errors.
    s.log_outputs = Some("4:stderr");
    log::setup(&s, &Env::default()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(log::outputs_string(), "4:stderr");
    // Setting outputs to "" at run time selects the default output.
    log::set_outputs("").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(log::outputs_string(), "2:journald");
    s.log_level = 9;
    assert_eq!(
        log::setup(&s, &Env::default()).unwrap_err().message,
        "Failed to set logging priority, argument '9' is invalid"
    );
    s.log_level = 0;
    s.log_outputs = Some("1:file");
    assert!(log::setup(&s, &Env::default()).is_err());
    log::reset();
    let _ = Path::new(&file);
}

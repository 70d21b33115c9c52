// SPDX-License-Identifier: LGPL-2.1-or-later
//! Whether a test can run here, and saying why not in one form:
//! `skipped: <reason>` on stderr, then the test returns. Cargo counts such a
//! test as passed; when `TEST_SKIP_LOG` names a file (scripts/test.sh sets
//! it), each skip is also appended there as `<test binary>\t<test>\t<reason>`
//! so the run's totals count the test as skipped instead.

use std::path::Path;

use crate::BUSYBOX;

/// Prints why a test does not run: `skipped: <reason>`.
pub fn skip(reason: impl std::fmt::Display) {
    eprintln!("skipped: {reason}");
    if let Some(log) = std::env::var_os("TEST_SKIP_LOG") {
        record_skip(Path::new(&log), &reason.to_string());
    }
}

/// Appends one skip record to `log`. One `write` of a line opened with
/// `O_APPEND`, so records of tests running at once do not interleave.
fn record_skip(log: &Path, reason: &str) {
    use std::io::Write;
    let binary = std::env::current_exe()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_default();
    // libtest runs each test on a thread named after it.
    let test = std::thread::current().name().unwrap_or("?").to_owned();
    let line = format!("{binary}\t{test}\t{}\n", reason.replace(['\t', '\n'], " "));
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log);
    if let Ok(mut f) = file {
        let _ = f.write_all(line.as_bytes());
    }
}

/// Returns from the test, printing `skipped: <reason>`, when `reason`
/// (an `Option` of something printable) is `Some`.
#[macro_export]
macro_rules! skip_if {
    ($reason:expr) => {
        if let Some(why) = $reason {
            $crate::skip(why);
            return;
        }
    };
}

/// Whether this process runs with effective uid 0.
pub fn is_root() -> bool {
    host::process::geteuid() == 0
}

/// Whether `name` is an executable on `PATH` (or, with a `/`, a path to
/// one).
pub fn tool_exists(name: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let runnable = |p: &Path| {
        p.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if name.contains('/') {
        return runnable(Path::new(name));
    }
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|d| runnable(&d.join(name))))
}

/// Same as [`tool_exists`].
pub fn have(name: &str) -> bool {
    tool_exists(name)
}

/// Skips (returns true, having said why) when client `cmd` is missing.
pub fn skip_without(cmd: &str) -> bool {
    if have(cmd) {
        return false;
    }
    skip(format!(
        "{cmd} is not installed (apt-get install libvirt-clients python3-libvirt)"
    ));
    true
}

/// Why [`BUSYBOX`] cannot be used, if it cannot.
pub fn missing_busybox() -> Option<String> {
    (!Path::new(BUSYBOX).exists())
        .then(|| format!("{BUSYBOX} missing (apt-get install busybox-static)"))
}

/// Why containers get no cgroups here, if they do not.
pub fn missing_cgroups() -> Option<String> {
    match host::cgroup::detect() {
        Ok(m) if m.layout().is_some() => None,
        _ => Some("no cgroup filesystem mounted".into()),
    }
}

/// Why busybox containers cannot run here (root, [`BUSYBOX`], a cgroup
/// file system), if they cannot.
pub fn container_skip_reason() -> Option<String> {
    if !is_root() {
        return Some("not running as root".into());
    }
    missing_busybox().or_else(missing_cgroups)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skip_records_binary_test_and_reason() {
        let dir = crate::TempDir::new("skiplog");
        let log = dir.path().join("skips");
        record_skip(&log, "no\tdevice\nmapper");
        record_skip(&log, "second");
        let text = std::fs::read_to_string(&log).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        let fields: Vec<&str> = lines[0].split('\t').collect();
        assert_eq!(fields.len(), 3);
        assert!(
            fields[1].ends_with("skip_records_binary_test_and_reason"),
            "{fields:?}"
        );
        assert_eq!(fields[2], "no device mapper");
    }
}

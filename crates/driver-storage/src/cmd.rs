// SPDX-License-Identifier: LGPL-2.1-or-later
//! Running the host tools (qemu-img, scrub, mount, LVM, parted) as
//! libvirt's virCommand does: found in PATH, output captured, and a
//! failure reported with libvirt's words ("Child process (CMD)
//! unexpected exit status N: STDERR").

use std::path::PathBuf;
use std::process::{Command, Stdio};

use virterror::{ErrorCode, ErrorDomain, VirError};

/// Where `name` is: PATH, then the system directories a daemon started
/// with a short PATH still needs.
pub fn find_in_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    let found = path
        .split(':')
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"])
        .filter(|d| !d.is_empty())
        .map(|d| PathBuf::from(d).join(name))
        .find(|p| p.is_file());
    found
}

/// Runs `argv`; its standard output when it exits 0.
pub fn run(argv: &[String]) -> Result<String, VirError> {
    let Some((prog, args)) = argv.split_first() else {
        return Err(VirError::new(
            ErrorCode::InternalError,
            ErrorDomain::None,
            "no command to run",
        ));
    };
    let out = Command::new(prog)
        .args(args)
        .stdin(Stdio::null())
        .env("LC_ALL", "C")
        // The LVM tools warn about descriptors the daemon itself inherited.
        .env("LVM_SUPPRESS_FD_WARNINGS", "1")
        .output()
        .map_err(|e| {
            VirError::new(
                ErrorCode::SystemError,
                ErrorDomain::None,
                format!(
                    "Cannot run program '{prog}': {}",
                    virterror::os_error_text(&e)
                ),
            )
        })?;
    if out.status.success() {
        return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
    }
    let status = match out.status.code() {
        Some(c) => format!("exit status {c}"),
        None => "fatal signal".to_string(),
    };
    // The tool's own words, as they came (libvirt keeps the newline).
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let sep = if stderr.is_empty() { "" } else { ": " };
    Err(VirError::new(
        ErrorCode::InternalError,
        ErrorDomain::None,
        format!(
            "Child process ({}) unexpected {status}{sep}{stderr}",
            argv.join(" ")
        ),
    ))
}

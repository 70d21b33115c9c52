// SPDX-License-Identifier: LGPL-2.1-or-later
//! The QEMU command line of a domain: the environment, the emulator binary
//! and its arguments, built from the definition (as the QEMU driver parsed
//! it: defaults and addresses filled in) and the emulator's capabilities.
//!
//! Arguments follow libvirt 9.6's order and shapes; `-device`, `-blockdev`,
//! `-netdev` and `-object` values are compact JSON with libvirt's key
//! order. A definition using something not built yet gives an
//! `unsupported` error naming it, never a partial command line.
#![forbid(unsafe_code)]

mod cmdline;
pub mod json;

pub use cmdline::build_command;

/// The driver settings the command line depends on (qemu.conf and the
/// daemon's run-time layout).
#[derive(Debug, Clone)]
pub struct CommandConfig {
    /// The per-domain state base (`/var/lib/libvirt/qemu`): the guest's
    /// private directory is `LIBDIR/domain-ID-NAME`.
    pub lib_dir: String,
    /// The fd number of the monitor socket passed to QEMU.
    pub monitor_fd: u32,
    /// Whether the seccomp sandbox is on (qemu.conf `seccomp_sandbox`).
    pub seccomp_sandbox: bool,
    /// qemu.conf `chardev_tls`: TCP character devices use TLS.
    pub chardev_tls: bool,
    /// qemu.conf `chardev_tls_x509_verify` (default: default_tls_x509_verify, on).
    pub chardev_tls_verify: bool,
    /// qemu.conf `chardev_tls_x509_secret_uuid` is set.
    pub chardev_tls_secret: bool,
    /// qemu.conf `vnc_sasl`.
    pub vnc_sasl: bool,
    /// qemu.conf `vnc_tls`.
    pub vnc_tls: bool,
    /// qemu.conf `vnc_tls_x509_verify`.
    pub vnc_tls_verify: bool,
    /// qemu.conf `vnc_tls_x509_secret_uuid` is set.
    pub vnc_tls_secret: bool,
    /// qemu.conf `vnc_auto_unix_socket`.
    pub vnc_auto_unix_socket: bool,
    /// qemu.conf `spice_tls`.
    pub spice_tls: bool,
    /// qemu.conf `spice_sasl`.
    pub spice_sasl: bool,
    /// qemu.conf `spice_auto_unix_socket`.
    pub spice_auto_unix_socket: bool,
}

impl Default for CommandConfig {
    fn default() -> Self {
        CommandConfig {
            lib_dir: "/var/lib/libvirt/qemu".into(),
            monitor_fd: 1729,
            seccomp_sandbox: true,
            chardev_tls: false,
            chardev_tls_verify: true,
            chardev_tls_secret: false,
            vnc_sasl: false,
            vnc_tls: false,
            vnc_tls_verify: false,
            vnc_tls_secret: false,
            vnc_auto_unix_socket: false,
            spice_tls: false,
            spice_sasl: false,
            spice_auto_unix_socket: false,
        }
    }
}

/// A command line: environment, binary and arguments.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QemuCommand {
    /// Environment variables, in order.
    pub env: Vec<(String, String)>,
    /// The emulator.
    pub binary: String,
    /// The arguments.
    pub args: Vec<String>,
}

impl QemuCommand {
    /// The command as libvirt's tests print it: environment assignments,
    /// the binary, then one argument per line, lines joined by ` \`, shell
    /// quoting where needed, and a final newline.
    pub fn to_test_string(&self) -> String {
        let mut parts: Vec<String> = self
            .env
            .iter()
            .map(|(k, v)| format!("{k}={}", shell_quote(v)))
            .collect();
        parts.push(shell_quote(&self.binary));
        let mut lines: Vec<String> = Vec::new();
        lines.extend(parts);
        // An option and its value share a line.
        let mut i = 0;
        while i < self.args.len() {
            let a = &self.args[i];
            if a.starts_with('-')
                && i + 1 < self.args.len()
                && !self.args[i + 1].starts_with('-')
            {
                lines.push(format!("{} {}", a, shell_quote(&self.args[i + 1])));
                i += 2;
            } else {
                lines.push(shell_quote(a));
                i += 1;
            }
        }
        let mut out = lines.join(" \\\n");
        out.push('\n');
        out
    }
}

/// Quotes a word for a POSIX shell when it has characters the shell would
/// interpret.
pub fn shell_quote(s: &str) -> String {
    const SPECIAL: &[char] = &[
        '$', '&', '\'', '"', '|', ';', '<', '>', '(', ')', '`', '\\', ' ', '\t', '\n', '*', '?',
        '[', ']', '{', '}', '~', '#', '!',
    ];
    if !s.is_empty() && !s.contains(SPECIAL) {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', "'\\''"))
}

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

mod aes;
pub use aes::base64;
mod cmdline;
pub mod hotplug;
pub mod json;

pub use cmdline::{build_command, TAP_NIC_TYPES};

/// The calendar date of a day count since 1970-01-01, proleptic
/// Gregorian (Howard Hinnant's algorithm): (year, month, day).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let m = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// A time in seconds since the epoch as `YYYY-MM-DDTHH:MM:SS` (UTC), the
/// shape of `-rtc base=`.
pub fn utc_date_time(secs: i64) -> String {
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        sod / 3600,
        sod / 60 % 60,
        sod % 60
    )
}

/// A secret a definition refers to (`<secret type=... uuid=|usage=>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretRef {
    /// The usage type (`iscsi`, `ceph`, `tls`, `vnc`, ...).
    pub kind: String,
    /// The secret's UUID, when referred to by UUID.
    pub uuid: Option<String>,
    /// The usage name, when referred to by usage.
    pub usage: Option<String>,
}

/// Looks up a secret's value (the secret driver's job).
pub type SecretLookup = std::sync::Arc<dyn Fn(&SecretRef) -> Option<Vec<u8>> + Send + Sync>;

/// Fills a buffer with random bytes (IVs of encrypted secrets); false when
/// it could not.
pub type RandomFill = std::sync::Arc<dyn Fn(&mut [u8]) -> bool + Send + Sync>;

/// What a descriptor handed to QEMU at start is: the launcher opens it
/// and passes it as the number the command line names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FdSource {
    /// The monitor's listening socket (the launcher binds it at
    /// `PRIV_DIR/monitor.sock`).
    Monitor,
    /// A listening UNIX socket at this path (a chardev in bind mode).
    ListenSocket(String),
    /// A file opened for appending (a chardev's file or log).
    AppendFile(String),
    /// A device or file opened read-write (TPM passthrough).
    ReadWrite(String),
    /// `/dev/vhost-vsock`.
    VhostVsock,
    /// A tap device the launcher creates (or opens) for a NIC, set up on
    /// the host as described, whose descriptor QEMU uses.
    Tap(TapSpec),
    /// `/dev/vhost-net`, for a virtio NIC's tap of a KVM guest.
    VhostNet,
}

/// The host end of a tap-backed NIC (`type='ethernet'`, `'bridge'`,
/// `'network'`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TapSpec {
    /// The device name (`<target dev>`; the driver picks `vnetN` before
    /// building the command line when the definition has none).
    pub ifname: String,
    /// The guest's MAC address; the host end takes it with the first byte
    /// 0xFE.
    pub mac: String,
    /// The bridge the tap joins (`type='bridge'`, or the bridge of a
    /// network's port); `None` for `type='ethernet'`.
    pub bridge: Option<String>,
    /// `<mtu size>`; `None`: the bridge's.
    pub mtu: Option<u32>,
    /// Whether QEMU exchanges virtio-net headers with the tap (virtio
    /// models).
    pub vnet_hdr: bool,
}

/// A descriptor the command line names and the launcher must pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassedFd {
    /// The number QEMU finds it as.
    pub fd: u32,
    /// What it is.
    pub source: FdSource,
}

/// How the descriptors passed to QEMU are numbered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FdNumbering {
    /// One after the other from this number.
    From(u32),
    /// The fixed numbers libvirt's test harness prints: the monitor and
    /// listening sockets 1729, a chardev's file 1750 and its log 1751,
    /// TPM passthrough 1730 and 1731, vhost-vsock 6789, a NIC's tap 3
    /// and its vhost-net 44.
    Harness,
    /// None passed: a command line only shown (`domxml-to-native`), where
    /// the monitor, listening sockets and chardev files are named by path.
    Pretend,
}

/// The driver settings the command line depends on (qemu.conf and the
/// daemon's run-time layout).
#[derive(Clone)]
pub struct CommandConfig {
    /// The per-domain state base (`/var/lib/libvirt/qemu`): the guest's
    /// private directory is `LIBDIR/domain-ID-NAME`.
    pub lib_dir: String,
    /// How passed descriptors (monitor, chardev files, ...) are numbered.
    pub fd_numbering: FdNumbering,
    /// Variables of the daemon's environment QEMU inherits before `PATH`
    /// (`LD_PRELOAD`, `LD_LIBRARY_PATH`, where set).
    pub env_pass: Vec<(String, String)>,
    /// `PATH` of QEMU's environment (the daemon's own).
    pub env_path: String,
    /// `USER` and `LOGNAME` of QEMU's environment (the daemon's own;
    /// `None`: not set).
    pub env_user: Option<String>,
    /// How many NUMA nodes the host has (`<numatune>` may name 0 to N-1).
    pub host_numa_nodes: u64,
    /// The DRM render node given to a `<gl>` without one; `None`: such
    /// definitions are refused.
    pub render_node: Option<String>,
    /// The swtpm socket of an emulated TPM; `None`: refused.
    pub tpm_emulator_socket: Option<String>,
    /// The guest CID a `<vsock><cid auto='yes'/>` gets; `None`: vsock
    /// devices are refused.
    pub vsock_auto_cid: Option<u32>,
    /// Whether the seccomp sandbox is on (qemu.conf `seccomp_sandbox`).
    pub seccomp_sandbox: bool,
    /// qemu.conf `chardev_tls`: TCP character devices use TLS.
    pub chardev_tls: bool,
    /// qemu.conf `chardev_tls_x509_verify` (default: default_tls_x509_verify, on).
    pub chardev_tls_verify: bool,
    /// qemu.conf `chardev_tls_x509_secret_uuid`: the secret of the TLS key.
    pub chardev_tls_secret: Option<String>,
    /// qemu.conf `vnc_sasl`.
    pub vnc_sasl: bool,
    /// qemu.conf `vnc_tls`.
    pub vnc_tls: bool,
    /// qemu.conf `vnc_tls_x509_verify`.
    pub vnc_tls_verify: bool,
    /// qemu.conf `vnc_tls_x509_secret_uuid`: the secret of the TLS key.
    pub vnc_tls_secret: Option<String>,
    /// qemu.conf `vnc_auto_unix_socket`.
    pub vnc_auto_unix_socket: bool,
    /// qemu.conf `spice_tls`.
    pub spice_tls: bool,
    /// qemu.conf `spice_sasl`.
    pub spice_sasl: bool,
    /// qemu.conf `spice_auto_unix_socket`.
    pub spice_auto_unix_socket: bool,
    /// The guest's master key (the `masterKey0` secret QEMU reads from
    /// `master-key.aes`), which encrypts every other secret passed in; the
    /// driver generates it per guest start and writes the file (the
    /// default, all zeros, is a placeholder).
    pub master_key: [u8; 32],
    /// Where secret values come from; `None`: definitions using secrets
    /// are refused.
    pub secrets: Option<SecretLookup>,
    /// Random bytes for the IVs of encrypted secrets.
    pub random: RandomFill,
}

impl Default for CommandConfig {
    fn default() -> Self {
        CommandConfig {
            lib_dir: "/var/lib/libvirt/qemu".into(),
            fd_numbering: FdNumbering::From(3),
            env_path: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
            env_user: None,
            env_pass: Vec::new(),
            host_numa_nodes: 1,
            render_node: None,
            tpm_emulator_socket: None,
            vsock_auto_cid: None,
            seccomp_sandbox: true,
            chardev_tls: false,
            chardev_tls_verify: true,
            chardev_tls_secret: None,
            vnc_sasl: false,
            vnc_tls: false,
            vnc_tls_verify: false,
            vnc_tls_secret: None,
            vnc_auto_unix_socket: false,
            spice_tls: false,
            spice_sasl: false,
            spice_auto_unix_socket: false,
            master_key: [0; 32],
            secrets: None,
            random: std::sync::Arc::new(|buf: &mut [u8]| getrandom::getrandom(buf).is_ok()),
        }
    }
}

impl std::fmt::Debug for CommandConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommandConfig")
            .field("lib_dir", &self.lib_dir)
            .field("fd_numbering", &self.fd_numbering)
            .field("seccomp_sandbox", &self.seccomp_sandbox)
            .field("secrets", &self.secrets.is_some())
            .finish_non_exhaustive()
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
    /// The descriptors the arguments name, which QEMU must inherit.
    pub fds: Vec<PassedFd>,
}

impl QemuCommand {
    /// The command on one line, as `virsh domxml-to-native` prints it:
    /// environment assignments, the binary and the arguments, each quoted
    /// for a shell where needed, separated by spaces.
    pub fn to_shell_line(&self) -> String {
        let mut words: Vec<String> = self
            .env
            .iter()
            .map(|(k, v)| format!("{k}={}", shell_quote(v)))
            .collect();
        words.push(shell_quote(&self.binary));
        words.extend(self.args.iter().map(|a| shell_quote(a)));
        words.join(" ")
    }

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
            if a.starts_with('-') && i + 1 < self.args.len() && !self.args[i + 1].starts_with('-') {
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

#[cfg(test)]
mod date_tests {
    use super::*;

    #[test]
    fn dates_follow_the_calendar() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        assert_eq!(utc_date_time(253_402_300_799), "9999-12-31T23:59:59");
        assert_eq!(utc_date_time(-1), "1969-12-31T23:59:59");
    }
}

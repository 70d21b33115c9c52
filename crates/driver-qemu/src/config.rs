// SPDX-License-Identifier: LGPL-2.1-or-later
//! `/etc/libvirt/qemu.conf` (`$XDG_CONFIG_HOME/libvirt/qemu.conf` for a
//! session daemon): the QEMU driver's settings, with libvirt's key names,
//! types and defaults. Keys this driver does not use yet are still type
//! checked, so a file libvirt rejects is rejected here too; unknown keys
//! are ignored, as libvirt does. None is reloaded on SIGHUP (libvirt reads
//! qemu.conf at start-up only).
//!
//! | key | type | default |
//! |---|---|---|
//! | `user`, `group` | string (name or `+uid`) | `libvirt-qemu` / `libvirt-qemu` when those exist (Debian's build), else `root` (system); the daemon's own (session) |
//! | `dynamic_ownership`, `remember_owner` | bool | 1 |
//! | `security_driver` | string or list | probe the host |
//! | `security_default_confined` | bool | 1 |
//! | `security_require_confined` | bool | 0 |
//! | `vnc_listen`, `spice_listen` | string | `127.0.0.1` |
//! | `vnc_auto_unix_socket`, `vnc_tls`, `vnc_sasl`, `spice_tls`, `spice_sasl`, `chardev_tls` | bool | 0 |
//! | `vnc_password`, `spice_password` | string | unset |
//! | `remote_display_port_min` / `_max` | int | 5900 / 65535 |
//! | `websocket_port_min` / `_max` | int | 5700 / 65535 |
//! | `migration_port_min` / `_max` | int | 49152 / 49215 |
//! | `migration_address`, `migration_host` | string | unset |
//! | `max_processes`, `max_files`, `max_threads_per_process` | int | 0 (not changed) |
//! | `max_core` | int or `"unlimited"` | 0 |
//! | `dump_guest_core`, `set_process_name`, `clear_emulator_capabilities` | bool | 0, 0, 1 |
//! | `stdio_handler` | `"logd"` or `"file"` | `logd` |
//! | `log_timestamp` | bool | 1 |
//! | `save_image_format`, `dump_image_format`, `snapshot_image_format` | string | `raw` |
//! | `auto_dump_path` | string | `/var/lib/libvirt/qemu/dump` |
//! | `auto_start_bypass_cache`, `auto_dump_bypass_cache` | bool | 0 |
//! | `hugetlbfs_mount` | string or list | the host's hugetlbfs mounts |
//! | `memory_backing_dir` | string | `/var/lib/libvirt/qemu/ram` |
//! | `nvram` | string list (`LOADER:NVRAM`) | Debian's build: OVMF_CODE.fd, OVMF_CODE.secboot.fd (with OVMF_VARS.fd), AAVMF_CODE.fd, AAVMF32_CODE.fd; used where no firmware descriptor matches |
//! | `namespaces` | string list | `["mount"]` |
//! | `cgroup_controllers` | string list | all available |
//! | `deprecation_behavior` | string | `none` |
//! | `max_queued` | int | 0 |
//! | `keepalive_interval` / `keepalive_count` | int | 5 / 5 |
//! | `seccomp_sandbox` | int | -1 (QEMU's default) |

use std::path::Path;

use driver::error::{ErrorCode, ErrorDomain};
use driver::Error;
use virconf::Conf;

/// The loader:variables pairs Debian builds libvirt with (its
/// `loader_nvram` build option).
pub const DEFAULT_NVRAM: [&str; 4] = [
    "/usr/share/OVMF/OVMF_CODE.fd:/usr/share/OVMF/OVMF_VARS.fd",
    "/usr/share/OVMF/OVMF_CODE.secboot.fd:/usr/share/OVMF/OVMF_VARS.fd",
    "/usr/share/AAVMF/AAVMF_CODE.fd:/usr/share/AAVMF/AAVMF_VARS.fd",
    "/usr/share/AAVMF/AAVMF32_CODE.fd:/usr/share/AAVMF/AAVMF32_VARS.fd",
];

/// The parsed settings this driver uses now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QemuConf {
    /// Guest processes run as this user.
    pub user: String,
    /// ... and this group.
    pub group: String,
    /// The user's uid, resolved at load time.
    pub uid: u32,
    /// The group's gid, resolved at load time.
    pub gid: u32,
    /// Change ownership of guest files dynamically.
    pub dynamic_ownership: bool,
    /// Security drivers to use (empty: probe).
    pub security_driver: Vec<String>,
    /// Default VNC listen address.
    pub vnc_listen: String,
    /// Default SPICE listen address.
    pub spice_listen: String,
    /// `logd` (through virtlogd) or `file`.
    pub stdio_handler: String,
    /// Maximum number of processes of the QEMU user (0: unchanged).
    pub max_processes: u32,
    /// Maximum number of open files of a QEMU process (0: unchanged).
    pub max_files: u32,
    /// `nvram` pairs of loader and variables template.
    pub nvram: Vec<String>,
    /// Namespaces guests get (`mount`).
    pub namespaces: Vec<String>,
    /// `seccomp_sandbox`: 0 off, 1 on, -1 QEMU's default (on where QEMU
    /// has the sandbox).
    pub seccomp_sandbox: i32,
    /// The first port VNC servers get automatically.
    pub remote_display_port_min: u32,
    /// The last port VNC servers get automatically.
    pub remote_display_port_max: u32,
    /// The ports incoming migrations listen on (`migration_port_min` ..
    /// `migration_port_max`).
    pub migration_port_min: u16,
    pub migration_port_max: u16,
    /// The address incoming migrations listen on (`migration_address`;
    /// unset: every address).
    pub migration_address: Option<String>,
    /// The host name a destination gives the source to send to
    /// (`migration_host`; unset: this host's name).
    pub migration_host: Option<String>,
    /// Controllers guests' groups use (`cgroup_controllers`; unset: all
    /// the host has).
    pub cgroup_controllers: Option<Vec<String>>,
    /// Devices every guest may use (`cgroup_device_acl`; unset: libvirt's
    /// list).
    pub cgroup_device_acl: Option<Vec<String>>,
}

impl QemuConf {
    /// The defaults of a system (`privileged`) or session driver.
    pub fn defaults(privileged: bool) -> QemuConf {
        let (user, group, uid, gid) = if privileged {
            let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
            let groups = std::fs::read_to_string("/etc/group").unwrap_or_default();
            match (
                host::ids::lookup_user(&passwd, "libvirt-qemu"),
                host::ids::lookup_group(&groups, "libvirt-qemu"),
            ) {
                (Some((u, _)), Some(g)) if u != 0 => {
                    ("libvirt-qemu".to_string(), "libvirt-qemu".to_string(), u, g)
                }
                _ => ("root".into(), "root".into(), 0, 0),
            }
        } else {
            let uid = host::process::geteuid();
            (uid.to_string(), uid.to_string(), uid, uid)
        };
        QemuConf {
            user,
            group,
            uid,
            gid,
            dynamic_ownership: privileged,
            security_driver: Vec::new(),
            vnc_listen: "127.0.0.1".into(),
            spice_listen: "127.0.0.1".into(),
            stdio_handler: "logd".into(),
            max_processes: 0,
            max_files: 0,
            nvram: DEFAULT_NVRAM.iter().map(|s| s.to_string()).collect(),
            namespaces: if privileged {
                vec!["mount".into()]
            } else {
                Vec::new()
            },
            seccomp_sandbox: -1,
            remote_display_port_min: 5900,
            remote_display_port_max: 65535,
            migration_port_min: 49152,
            migration_port_max: 49215,
            migration_address: None,
            migration_host: None,
            cgroup_controllers: None,
            cgroup_device_acl: None,
        }
    }

    /// Reads `path`; a missing file gives the defaults.
    pub fn load(path: &Path, privileged: bool) -> Result<QemuConf, Error> {
        match Conf::read_file(path) {
            Ok(conf) => Self::from_conf(&conf, privileged),
            Err(e) if e.is_not_found() => Ok(Self::defaults(privileged)),
            Err(e) => Err(e.to_vir()),
        }
    }

    /// Parses qemu.conf text; `file` names it in errors.
    pub fn parse(text: &str, file: &str, privileged: bool) -> Result<QemuConf, Error> {
        let conf = Conf::parse(text, file).map_err(|e| e.to_vir())?;
        Self::from_conf(&conf, privileged)
    }

    fn from_conf(conf: &Conf, privileged: bool) -> Result<QemuConf, Error> {
        let v = |e: virconf::ConfError| e.to_vir();
        let mut c = Self::defaults(privileged);
        // Type checks of the keys libvirt reads that we do not use yet.
        for key in [
            "remember_owner",
            "security_default_confined",
            "security_require_confined",
            "vnc_auto_unix_socket",
            "vnc_tls",
            "vnc_tls_x509_verify",
            "vnc_sasl",
            "spice_tls",
            "spice_sasl",
            "chardev_tls",
            "chardev_tls_x509_verify",
            "vnc_allow_host_audio",
            "nographics_allow_host_audio",
            "dump_guest_core",
            "set_process_name",
            "clear_emulator_capabilities",
            "log_timestamp",
            "auto_start_bypass_cache",
            "auto_dump_bypass_cache",
            "allow_disk_format_probing",
            "mac_filter",
            "relaxed_acs_check",
            "migrate_tls_force",
            "nbd_tls",
            "backup_tls",
            "vxhs_tls",
            "swtpm_user_verify",
        ] {
            conf.get_bool(key).map_err(v)?;
        }
        for key in [
            "vnc_password",
            "spice_password",
            "vnc_tls_x509_cert_dir",
            "spice_tls_x509_cert_dir",
            "default_tls_x509_cert_dir",
            "chardev_tls_x509_cert_dir",
            "migrate_tls_x509_cert_dir",
            "vnc_sasl_dir",
            "spice_sasl_dir",
            "migration_address",
            "migration_host",
            "save_image_format",
            "dump_image_format",
            "snapshot_image_format",
            "auto_dump_path",
            "memory_backing_dir",
            "lock_manager",
            "deprecation_behavior",
            "bridge_helper",
            "pr_helper",
            "slirp_helper",
            "dbus_daemon",
            "swtpm_user",
            "swtpm_group",
        ] {
            conf.get_string(key).map_err(v)?;
        }
        for key in [
            "websocket_port_min",
            "websocket_port_max",
            "migration_port_min",
            "migration_port_max",
            "max_threads_per_process",
            "max_queued",
            "keepalive_interval",
            "keepalive_count",
        ] {
            conf.get_int(key).map_err(v)?;
        }
        c.cgroup_controllers = conf
            .get_string_list("cgroup_controllers", false)
            .map_err(v)?;
        c.cgroup_device_acl = conf
            .get_string_list("cgroup_device_acl", false)
            .map_err(v)?;
        conf.get_string_list("hugetlbfs_mount", true).map_err(v)?;
        if let Some(n) = conf.get_int("seccomp_sandbox").map_err(v)? {
            c.seccomp_sandbox = n;
        }
        if let Some(n) = conf.get_u32("remote_display_port_min").map_err(v)? {
            c.remote_display_port_min = n;
        }
        if let Some(n) = conf.get_u32("remote_display_port_max").map_err(v)? {
            c.remote_display_port_max = n;
        }
        if let Some(u) = conf.get_string("user").map_err(v)? {
            let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
            let name = u.strip_prefix('+').unwrap_or(&u);
            let (uid, _) = host::ids::lookup_user(&passwd, name).ok_or_else(|| {
                Error::new(
                    ErrorCode::InternalError,
                    ErrorDomain::None,
                    format!("Failed to parse user '{u}'"),
                )
            })?;
            c.uid = uid;
            c.user = u;
        }
        if let Some(g) = conf.get_string("group").map_err(v)? {
            let groups = std::fs::read_to_string("/etc/group").unwrap_or_default();
            let name = g.strip_prefix('+').unwrap_or(&g);
            c.gid = host::ids::lookup_group(&groups, name).ok_or_else(|| {
                Error::new(
                    ErrorCode::InternalError,
                    ErrorDomain::None,
                    format!("Failed to parse group '{g}'"),
                )
            })?;
            c.group = g;
        }
        if let Some(b) = conf.get_bool("dynamic_ownership").map_err(v)? {
            c.dynamic_ownership = b;
        }
        if let Some(l) = conf.get_string_list("security_driver", true).map_err(v)? {
            c.security_driver = l;
        }
        if let Some(s) = conf.get_string("vnc_listen").map_err(v)? {
            c.vnc_listen = s;
        }
        if let Some(s) = conf.get_string("spice_listen").map_err(v)? {
            c.spice_listen = s;
        }
        if let Some(s) = conf.get_string("stdio_handler").map_err(v)? {
            if s != "logd" && s != "file" {
                return Err(Error::new(
                    ErrorCode::ConfigUnsupported,
                    ErrorDomain::Qemu,
                    format!("Unknown stdio handler {s}"),
                ));
            }
            c.stdio_handler = s;
        }
        if let Some(n) = conf.get_u32("max_processes").map_err(v)? {
            c.max_processes = n;
        }
        if let Some(n) = conf.get_u32("max_files").map_err(v)? {
            c.max_files = n;
        }
        if let Some(l) = conf.get_string_list("nvram", false).map_err(v)? {
            c.nvram = l;
        }
        if let Some(l) = conf.get_string_list("namespaces", false).map_err(v)? {
            for ns in &l {
                if ns != "mount" {
                    return Err(Error::new(
                        ErrorCode::ConfigUnsupported,
                        ErrorDomain::Qemu,
                        format!("Unknown namespace: {ns}"),
                    ));
                }
            }
            c.namespaces = l;
        }
        c.migration_address = conf.get_string("migration_address").map_err(v)?;
        c.migration_host = conf.get_string("migration_host").map_err(v)?;
        if let Some(n) = conf.get_u32("migration_port_min").map_err(v)? {
            c.migration_port_min = u16::try_from(n).ok().filter(|p| *p > 0).ok_or_else(|| {
                Error::new(
                    ErrorCode::ConfigUnsupported,
                    ErrorDomain::Qemu,
                    "migration_port_min: port must be greater than 0",
                )
            })?;
        }
        if let Some(n) = conf.get_u32("migration_port_max").map_err(v)? {
            let min = c.migration_port_min;
            c.migration_port_max =
                u16::try_from(n).ok().filter(|p| *p >= min).ok_or_else(|| {
                    Error::new(
                        ErrorCode::ConfigUnsupported,
                        ErrorDomain::Qemu,
                        format!(
                        "migration_port_max: port must be between the minimal port {min} and 65535"
                    ),
                    )
                })?;
        }
        match conf.get("max_core") {
            None | Some(virconf::Value::ULong(_)) => {}
            Some(virconf::Value::String(s)) if s == "unlimited" => {}
            Some(virconf::Value::String(s)) => {
                return Err(Error::new(
                    ErrorCode::ConfigUnsupported,
                    ErrorDomain::Qemu,
                    format!("Unknown core size '{s}'"),
                ))
            }
            Some(_) => conf.get_u64("max_core").map(|_| ()).map_err(v)?,
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_file_gives_the_defaults() {
        let c = QemuConf::parse("", "qemu.conf", true).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c, QemuConf::defaults(true));
        assert_eq!(c.stdio_handler, "logd");
        assert_eq!(c.vnc_listen, "127.0.0.1");
    }

    #[test]
    fn keys_are_read_and_checked() {
        let c = QemuConf::parse(
            "user = \"root\"\ngroup = \"root\"\nstdio_handler = \"file\"\nvnc_listen = \"0.0.0.0\"\nmax_processes = 10\n",
            "qemu.conf",
            true,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((c.uid, c.gid), (0, 0));
        assert_eq!(c.stdio_handler, "file");
        assert_eq!(c.vnc_listen, "0.0.0.0");
        assert_eq!(c.max_processes, 10);
        let e = QemuConf::parse("stdio_handler = \"x\"\n", "qemu.conf", true).unwrap_err();
        assert_eq!(
            e.message(),
            "unsupported configuration: Unknown stdio handler x"
        );
        let e = QemuConf::parse("vnc_tls = \"yes\"\n", "qemu.conf", true).unwrap_err();
        assert!(e.message().contains("vnc_tls"), "{}", e.message());
    }
}

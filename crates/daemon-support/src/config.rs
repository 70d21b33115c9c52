// SPDX-License-Identifier: LGPL-2.1-or-later
//! The daemon configuration file (libvirtd.conf, virtproxyd.conf,
//! virtlxcd.conf, virtxend.conf, virtvzd.conf).
//!
//! Every key libvirt 9.6 reads is here with its type and default. Keys under
//! "network" are read only by daemons that can listen on TCP/IP (libvirtd,
//! virtproxyd); the others ignore them, as they ignore unknown keys.
//!
//! SIGHUP: libvirt's daemons reload their *drivers* on SIGHUP, never this
//! file, so no key here is reloaded by SIGHUP; a change needs a restart.
//! Some values can be changed at run time through the admin API instead
//! (virt-admin): the logging settings (dmn-log-define) and the server limits
//! min/max/prio workers, max_clients, max_anonymous_clients
//! (srv-threadpool-set, srv-clients-set). Each field says which.

use std::path::Path;

use crate::profile::Profile;
use virconf::{Conf, ConfError};

/// TCP port of the TLS listener (LIBVIRTD_TLS_PORT).
pub const DEFAULT_TLS_PORT: &str = "16514";
/// TCP port of the plain TCP listener (LIBVIRTD_TCP_PORT).
pub const DEFAULT_TCP_PORT: &str = "16509";
/// The lowest `tcp_min_ssf` a configuration may set (SSF_WARNING_LEVEL).
pub const MIN_TCP_SSF: u32 = 112;

/// An authentication scheme for a listening socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthScheme {
    /// `"none"`: no authentication beyond socket permissions.
    None,
    /// `"sasl"`: SASL authentication.
    Sasl,
    /// `"polkit"`: PolicyKit (UNIX sockets only).
    Polkit,
}

impl AuthScheme {
    /// The wire value of the scheme (REMOTE_AUTH_*), as sent in
    /// REMOTE_PROC_AUTH_LIST replies.
    pub fn wire_value(self) -> i32 {
        match self {
            AuthScheme::None => 0,
            AuthScheme::Sasl => 1,
            AuthScheme::Polkit => 2,
        }
    }

    /// The configuration-file spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthScheme::None => "none",
            AuthScheme::Sasl => "sasl",
            AuthScheme::Polkit => "polkit",
        }
    }
}

/// An error loading the configuration. `Display` gives libvirt's wording.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read or parsed, or a key has the wrong type
    /// (the message names the file and the key).
    #[error(transparent)]
    Conf(#[from] ConfError),
    /// An `auth_*` key names a scheme libvirt does not know.
    #[error("unsupported configuration: {file}: {key}: unsupported auth {value}")]
    UnsupportedAuth {
        /// Config file name.
        file: String,
        /// The auth_* key.
        key: String,
        /// The rejected value.
        value: String,
    },
    /// `tcp_min_ssf` set below [`MIN_TCP_SSF`].
    #[error(
        "unsupported configuration: minimum SSF levels lower than {MIN_TCP_SSF} are not supported"
    )]
    SsfTooLow,
    /// `max_workers` set to 0.
    #[error("internal error: 'max_workers' must be greater than 0")]
    NoWorkers,
}

impl ConfigError {
    /// libvirt's error code (virErrorNumber) for this error.
    pub fn code(&self) -> i32 {
        match self {
            ConfigError::Conf(e) => e.code(),
            // VIR_ERR_CONFIG_UNSUPPORTED
            ConfigError::UnsupportedAuth { .. } | ConfigError::SsfTooLow => 67,
            ConfigError::NoWorkers => virconf::ERR_INTERNAL_ERROR,
        }
    }
}

/// The daemon configuration with libvirt's defaults filled in.
///
/// Column "admin": whether virt-admin can change the value while running
/// (none of them are reloaded on SIGHUP).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaemonConfig {
    // ---- network (libvirtd and virtproxyd only) ----
    /// `listen_tls` bool. Default: 1 for libvirtd (honoured only with
    /// `--listen`), 0 for virtproxyd (always honoured). Admin: no.
    pub listen_tls: bool,
    /// `listen_tcp` bool, default 0. Admin: no.
    pub listen_tcp: bool,
    /// `tls_port` string (port number or service name), default "16514".
    pub tls_port: String,
    /// `tcp_port` string, default "16509".
    pub tcp_port: String,
    /// `listen_addr` string, default unset (all addresses).
    pub listen_addr: Option<String>,
    /// `tls_no_sanity_certificate` bool, default 0.
    pub tls_no_sanity_certificate: bool,
    /// `tls_no_verify_certificate` bool, default 0.
    pub tls_no_verify_certificate: bool,
    /// `tls_allowed_dn_list` string list, default unset (no DN check).
    pub tls_allowed_dn_list: Option<Vec<String>>,
    /// `tls_priority` string in GnuTLS priority syntax, default unset
    /// (rustls's defaults: TLS 1.3 and 1.2, all its cipher suites). The
    /// subset honoured is documented in `daemon::tls::priority`; anything
    /// else stops start-up with an error naming the element.
    pub tls_priority: Option<String>,
    /// `tcp_min_ssf` unsigned, default 56; a set value must be >= 112.
    pub tcp_min_ssf: u32,
    /// `key_file` string, default unset (the built-in PKI path).
    pub key_file: Option<String>,
    /// `cert_file` string, default unset.
    pub cert_file: Option<String>,
    /// `ca_file` string, default unset.
    pub ca_file: Option<String>,
    /// `crl_file` string, default unset (no CRL).
    pub crl_file: Option<String>,
    /// `auth_tcp` "none"|"sasl"|"polkit", default "sasl".
    pub auth_tcp: AuthScheme,
    /// `auth_tls` "none"|"sasl"|"polkit", default "none".
    pub auth_tls: AuthScheme,

    // ---- UNIX sockets ----
    /// `unix_sock_group` string, default unset (the daemon's group).
    pub unix_sock_group: Option<String>,
    /// `unix_sock_ro_perms` octal string, default "0777".
    pub unix_sock_ro_perms: String,
    /// `unix_sock_rw_perms` octal string, default "0700" ("0777" when
    /// `auth_unix_rw` is polkit).
    pub unix_sock_rw_perms: String,
    /// `unix_sock_admin_perms` octal string, default "0700".
    pub unix_sock_admin_perms: String,
    /// `unix_sock_dir` string, default unset (see `Paths`).
    pub unix_sock_dir: Option<String>,
    /// `auth_unix_ro`, default "polkit" for a daemon running as root,
    /// "none" otherwise.
    pub auth_unix_ro: AuthScheme,
    /// `auth_unix_rw`, default "polkit" for a daemon running as root
    /// (the read-write socket is then 0777), "none" otherwise.
    pub auth_unix_rw: AuthScheme,
    /// `access_drivers` string list, default unset (no access control).
    pub access_drivers: Option<Vec<String>>,
    /// `sasl_allowed_username_list` string list, default unset.
    pub sasl_allowed_username_list: Option<Vec<String>>,

    // ---- limits of the main server (admin: srv-threadpool-set /
    // srv-clients-set can change the workers and client limits) ----
    /// `max_clients` unsigned, default 5000. Admin: yes.
    pub max_clients: u32,
    /// `max_queued_clients` unsigned, default 1000. Admin: no.
    pub max_queued_clients: u32,
    /// `max_anonymous_clients` unsigned, default 20. Admin: yes.
    pub max_anonymous_clients: u32,
    /// `min_workers` unsigned, default 5. Admin: yes.
    pub min_workers: u32,
    /// `max_workers` unsigned, default 20, must be > 0. Admin: yes.
    pub max_workers: u32,
    /// `prio_workers` unsigned, default 5. Admin: yes.
    pub prio_workers: u32,
    /// `max_client_requests` unsigned, default 5. Admin: no.
    pub max_client_requests: u32,

    // ---- limits of the admin server ----
    /// `admin_min_workers` unsigned, default 5. Admin: yes.
    pub admin_min_workers: u32,
    /// `admin_max_workers` unsigned, default 20. Admin: yes.
    pub admin_max_workers: u32,
    /// `admin_max_clients` unsigned, default 5000. Admin: yes.
    pub admin_max_clients: u32,
    /// `admin_max_queued_clients` unsigned, default 20. Admin: no.
    pub admin_max_queued_clients: u32,
    /// `admin_max_client_requests` unsigned, default 5. Admin: no.
    pub admin_max_client_requests: u32,

    // ---- logging (admin: dmn-log-define changes filters/outputs,
    // dmn-log-define --level... changes the level) ----
    /// `log_level` unsigned 1..4, default 0 = unset (level 3, warning).
    pub log_level: u32,
    /// `log_filters` string, default unset.
    pub log_filters: Option<String>,
    /// `log_outputs` string, default unset (chosen at start-up).
    pub log_outputs: Option<String>,

    // ---- auditing ----
    /// `audit_level` unsigned (0 off, 1 on if available, 2 required),
    /// default 1.
    pub audit_level: u32,
    /// `audit_logging` bool, default 0.
    pub audit_logging: bool,

    // ---- host identity ----
    /// `host_uuid` string, default unset.
    pub host_uuid: Option<String>,
    /// `host_uuid_source` "smbios"|"machine-id", default unset (smbios).
    pub host_uuid_source: Option<String>,

    // ---- keepalive ----
    /// `keepalive_interval` signed (seconds, -1 disables), default 5.
    pub keepalive_interval: i32,
    /// `keepalive_count` unsigned, default 5.
    pub keepalive_count: u32,
    /// `admin_keepalive_interval` signed, default 5.
    pub admin_keepalive_interval: i32,
    /// `admin_keepalive_count` unsigned, default 5.
    pub admin_keepalive_count: u32,
    // `keepalive_required` / `admin_keepalive_required` appear in the
    // sample file but libvirt no longer reads them; ignored here too.

    // ---- misc ----
    /// `ovs_timeout` unsigned seconds for ovs-vsctl, default 5.
    pub ovs_timeout: u32,
}

impl DaemonConfig {
    /// The defaults for a daemon (`libvirtd`, `virtproxyd`, ...). An
    /// unknown name gets the defaults of a daemon without TCP/IP.
    pub fn default_for(profile_name: &str) -> DaemonConfig {
        let is_libvirtd = profile_name == "libvirtd";
        DaemonConfig {
            listen_tls: is_libvirtd,
            listen_tcp: false,
            tls_port: DEFAULT_TLS_PORT.to_owned(),
            tcp_port: DEFAULT_TCP_PORT.to_owned(),
            listen_addr: None,
            tls_no_sanity_certificate: false,
            tls_no_verify_certificate: false,
            tls_allowed_dn_list: None,
            tls_priority: None,
            tcp_min_ssf: 56,
            key_file: None,
            cert_file: None,
            ca_file: None,
            crl_file: None,
            auth_tcp: AuthScheme::Sasl,
            auth_tls: AuthScheme::None,
            unix_sock_group: None,
            unix_sock_ro_perms: "0777".to_owned(),
            unix_sock_rw_perms: "0700".to_owned(),
            unix_sock_admin_perms: "0700".to_owned(),
            unix_sock_dir: None,
            auth_unix_ro: AuthScheme::None,
            auth_unix_rw: AuthScheme::None,
            access_drivers: None,
            sasl_allowed_username_list: None,
            max_clients: 5000,
            max_queued_clients: 1000,
            max_anonymous_clients: 20,
            min_workers: 5,
            max_workers: 20,
            prio_workers: 5,
            max_client_requests: 5,
            admin_min_workers: 5,
            admin_max_workers: 20,
            admin_max_clients: 5000,
            admin_max_queued_clients: 20,
            admin_max_client_requests: 5,
            log_level: 0,
            log_filters: None,
            log_outputs: None,
            audit_level: 1,
            audit_logging: false,
            host_uuid: None,
            host_uuid_source: None,
            keepalive_interval: 5,
            keepalive_count: 5,
            admin_keepalive_interval: 5,
            admin_keepalive_count: 5,
            ovs_timeout: 5,
        }
    }

    /// Reads `path` for the `libvirtd` profile. A missing file is an error;
    /// use [`DaemonConfig::load_for`] with `allow_missing` for the implicit
    /// default path.
    pub fn load(path: impl AsRef<Path>) -> Result<DaemonConfig, ConfigError> {
        let profile = Profile::by_name("libvirtd").unwrap_or_else(Profile::libvirtd);
        Self::load_for(&profile, path, false)
    }

    /// The defaults of a daemon running as root: polkit decides who uses
    /// the UNIX sockets (root itself always may), so the read-write
    /// socket is open to all.
    pub fn privileged_defaults(mut self) -> DaemonConfig {
        self.auth_unix_rw = AuthScheme::Polkit;
        self.auth_unix_ro = AuthScheme::Polkit;
        "0777".clone_into(&mut self.unix_sock_rw_perms);
        self
    }

    /// Reads `path` for `profile`. With `allow_missing` (the default config
    /// path, no `-f`), a file that does not exist gives the defaults.
    pub fn load_for(
        profile: &Profile,
        path: impl AsRef<Path>,
        allow_missing: bool,
    ) -> Result<DaemonConfig, ConfigError> {
        Self::load_with(
            DaemonConfig::default_for(profile.name),
            profile,
            path,
            allow_missing,
        )
    }

    /// Like [`load_for`](Self::load_for), for a daemon running as root
    /// when `privileged` (see [`privileged_defaults`](Self::privileged_defaults)).
    pub fn load_for_user(
        profile: &Profile,
        path: impl AsRef<Path>,
        allow_missing: bool,
        privileged: bool,
    ) -> Result<DaemonConfig, ConfigError> {
        let mut defaults = DaemonConfig::default_for(profile.name);
        if privileged {
            defaults = defaults.privileged_defaults();
        }
        Self::load_with(defaults, profile, path, allow_missing)
    }

    fn load_with(
        defaults: DaemonConfig,
        profile: &Profile,
        path: impl AsRef<Path>,
        allow_missing: bool,
    ) -> Result<DaemonConfig, ConfigError> {
        let path = path.as_ref();
        let mut cfg = defaults;
        match Conf::read_file(path) {
            Ok(conf) => {
                cfg.apply(&conf, profile.with_ip)?;
                Ok(cfg)
            }
            Err(e) if allow_missing && e.is_not_found() => Ok(cfg),
            Err(e) => Err(e.into()),
        }
    }

    /// Parses configuration text (errors name `file_name`).
    pub fn parse_for(
        profile: &Profile,
        text: &str,
        file_name: &str,
    ) -> Result<DaemonConfig, ConfigError> {
        let conf = Conf::parse(text, file_name)?;
        let mut cfg = DaemonConfig::default_for(profile.name);
        cfg.apply(&conf, profile.with_ip)?;
        Ok(cfg)
    }

    /// Overrides defaults with the keys present in `conf`, in libvirt's
    /// order (so the first bad key is the one libvirt would report).
    pub fn apply(&mut self, conf: &Conf, with_ip: bool) -> Result<(), ConfigError> {
        fn set<T>(slot: &mut T, v: Option<T>) {
            if let Some(v) = v {
                *slot = v;
            }
        }
        fn set_opt<T>(slot: &mut Option<T>, v: Option<T>) {
            if v.is_some() {
                *slot = v;
            }
        }
        let file = conf.file_name().to_owned();
        let auth = |key: &str| -> Result<Option<AuthScheme>, ConfigError> {
            let Some(s) = conf.get_string(key)? else {
                return Ok(None);
            };
            match s.as_str() {
                "none" => Ok(Some(AuthScheme::None)),
                "sasl" => Ok(Some(AuthScheme::Sasl)),
                "polkit" => Ok(Some(AuthScheme::Polkit)),
                _ => Err(ConfigError::UnsupportedAuth {
                    file: file.clone(),
                    key: key.to_owned(),
                    value: s,
                }),
            }
        };

        if with_ip {
            set(&mut self.listen_tcp, conf.get_bool("listen_tcp")?);
            set(&mut self.listen_tls, conf.get_bool("listen_tls")?);
            set(&mut self.tls_port, conf.get_string("tls_port")?);
            set(&mut self.tcp_port, conf.get_string("tcp_port")?);
            set_opt(&mut self.listen_addr, conf.get_string("listen_addr")?);
        }
        set(&mut self.auth_unix_rw, auth("auth_unix_rw")?);
        // The read-write socket is open to everyone only when polkit
        // decides who may use it (a root daemon's default, or set here);
        // otherwise only root may, unless unix_sock_rw_perms says more.
        let rw_default = if self.auth_unix_rw == AuthScheme::Polkit {
            "0777"
        } else {
            "0700"
        };
        rw_default.clone_into(&mut self.unix_sock_rw_perms);
        set(&mut self.auth_unix_ro, auth("auth_unix_ro")?);
        if with_ip {
            set(&mut self.auth_tcp, auth("auth_tcp")?);
            set(&mut self.auth_tls, auth("auth_tls")?);
        }
        set_opt(
            &mut self.access_drivers,
            conf.get_string_list("access_drivers", false)?,
        );
        set_opt(
            &mut self.unix_sock_group,
            conf.get_string("unix_sock_group")?,
        );
        set(
            &mut self.unix_sock_admin_perms,
            conf.get_string("unix_sock_admin_perms")?,
        );
        set(
            &mut self.unix_sock_ro_perms,
            conf.get_string("unix_sock_ro_perms")?,
        );
        set(
            &mut self.unix_sock_rw_perms,
            conf.get_string("unix_sock_rw_perms")?,
        );
        set_opt(&mut self.unix_sock_dir, conf.get_string("unix_sock_dir")?);
        if with_ip {
            set(
                &mut self.tls_no_sanity_certificate,
                conf.get_bool("tls_no_sanity_certificate")?,
            );
            set(
                &mut self.tls_no_verify_certificate,
                conf.get_bool("tls_no_verify_certificate")?,
            );
            set_opt(&mut self.key_file, conf.get_string("key_file")?);
            set_opt(&mut self.cert_file, conf.get_string("cert_file")?);
            set_opt(&mut self.ca_file, conf.get_string("ca_file")?);
            set_opt(&mut self.crl_file, conf.get_string("crl_file")?);
            set_opt(
                &mut self.tls_allowed_dn_list,
                conf.get_string_list("tls_allowed_dn_list", false)?,
            );
            set_opt(&mut self.tls_priority, conf.get_string("tls_priority")?);
            if let Some(ssf) = conf.get_u32("tcp_min_ssf")? {
                if ssf < MIN_TCP_SSF {
                    return Err(ConfigError::SsfTooLow);
                }
                self.tcp_min_ssf = ssf;
            }
        }
        set_opt(
            &mut self.sasl_allowed_username_list,
            conf.get_string_list("sasl_allowed_username_list", false)?,
        );
        set(&mut self.min_workers, conf.get_u32("min_workers")?);
        set(&mut self.max_workers, conf.get_u32("max_workers")?);
        if self.max_workers < 1 {
            return Err(ConfigError::NoWorkers);
        }
        set(&mut self.max_clients, conf.get_u32("max_clients")?);
        set(
            &mut self.max_queued_clients,
            conf.get_u32("max_queued_clients")?,
        );
        set(
            &mut self.max_anonymous_clients,
            conf.get_u32("max_anonymous_clients")?,
        );
        set(&mut self.prio_workers, conf.get_u32("prio_workers")?);
        set(
            &mut self.max_client_requests,
            conf.get_u32("max_client_requests")?,
        );
        set(
            &mut self.admin_min_workers,
            conf.get_u32("admin_min_workers")?,
        );
        set(
            &mut self.admin_max_workers,
            conf.get_u32("admin_max_workers")?,
        );
        set(
            &mut self.admin_max_clients,
            conf.get_u32("admin_max_clients")?,
        );
        set(
            &mut self.admin_max_queued_clients,
            conf.get_u32("admin_max_queued_clients")?,
        );
        set(
            &mut self.admin_max_client_requests,
            conf.get_u32("admin_max_client_requests")?,
        );
        set(&mut self.audit_level, conf.get_u32("audit_level")?);
        set(&mut self.audit_logging, conf.get_bool("audit_logging")?);
        set_opt(&mut self.host_uuid, conf.get_string("host_uuid")?);
        set_opt(
            &mut self.host_uuid_source,
            conf.get_string("host_uuid_source")?,
        );
        set(&mut self.log_level, conf.get_u32("log_level")?);
        set_opt(&mut self.log_filters, conf.get_string("log_filters")?);
        set_opt(&mut self.log_outputs, conf.get_string("log_outputs")?);
        set(
            &mut self.keepalive_interval,
            conf.get_int("keepalive_interval")?,
        );
        set(&mut self.keepalive_count, conf.get_u32("keepalive_count")?);
        set(
            &mut self.admin_keepalive_interval,
            conf.get_int("admin_keepalive_interval")?,
        );
        set(
            &mut self.admin_keepalive_count,
            conf.get_u32("admin_keepalive_count")?,
        );
        set(&mut self.ovs_timeout, conf.get_u32("ovs_timeout")?);
        Ok(())
    }

    /// Parses one of the `unix_sock_*_perms` strings as an octal mode,
    /// giving libvirt's "Failed to parse mode 'X'" on error.
    pub fn parse_mode(perms: &str) -> Result<u32, String> {
        // libvirt parses with strtol base 8: optional sign/blanks aside, the
        // digits must all be octal and the value must fit an int.
        let digits = perms.trim_start();
        match u32::from_str_radix(digits, 8) {
            Ok(m) if !digits.is_empty() && !digits.starts_with('+') => Ok(m),
            _ => Err(format!("Failed to parse mode '{perms}'")),
        }
    }
}

/// The URI an empty connection name stands for inside the daemon, as
/// libvirt's `virConnectOpen` looks it up before probing drivers:
/// `LIBVIRT_DEFAULT_URI` from the environment, else `uri_default` in the
/// client library's config `libvirt.conf` of `config_dir` (a string, no
/// default; read when a client opens the empty URI, so edits apply at
/// once). A file that is missing or does not parse gives none.
pub fn default_uri(config_dir: &std::path::Path) -> Option<String> {
    if let Some(v) = std::env::var("LIBVIRT_DEFAULT_URI")
        .ok()
        .filter(|v| !v.is_empty())
    {
        return Some(v);
    }
    let path = config_dir.join("libvirt.conf");
    let text = std::fs::read_to_string(&path).ok()?;
    let conf = Conf::parse(&text, &path.to_string_lossy()).ok()?;
    conf.get_string("uri_default").ok().flatten()
}

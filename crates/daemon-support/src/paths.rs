// SPDX-License-Identifier: LGPL-2.1-or-later
//! Where a daemon finds its config file, sockets, pid file and driver
//! directories, for root and for ordinary users.
//!
//! | thing | root | non-root |
//! |---|---|---|
//! | config | /etc/libvirt/NAME.conf | $XDG_CONFIG_HOME/libvirt/NAME.conf |
//! | sockets | /run/libvirt/PREFIX-sock, -sock-ro, -admin-sock | $XDG_RUNTIME_DIR/libvirt/PREFIX-sock, -admin-sock |
//! | pid file | /run/NAME.pid | $XDG_RUNTIME_DIR/libvirt/NAME.pid |
//!
//! `$XDG_CONFIG_HOME` defaults to `$HOME/.config`, `$XDG_RUNTIME_DIR` to
//! `$HOME/.cache` and `$XDG_CACHE_HOME` to `$HOME/.cache`, as GLib does.
//!
//! Test redirection: when the environment holds [`ROOT_PREFIX_ENV`]
//! (`LIBVIRT_RS_ROOT_PREFIX`), every system path of a privileged daemon
//! (/etc, /run, /var) is placed under that directory instead, so a test can
//! run a "root" daemon without touching the host's real /etc or /run.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::profile::Profile;

/// Environment variable that moves /etc, /run and /var under a directory.
pub const ROOT_PREFIX_ENV: &str = "LIBVIRT_RS_ROOT_PREFIX";

/// A snapshot of the environment variables path resolution looks at, so
/// tests can pass their own.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Env {
    vars: HashMap<String, String>,
}

impl Env {
    /// The current process environment.
    pub fn from_process() -> Env {
        Env {
            vars: std::env::vars().collect(),
        }
    }

    /// An environment made of the given pairs only.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Env {
        Env {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        }
    }

    /// A variable's value; empty values count as unset (as in GLib).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
}

/// Path resolution failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathsError {
    /// Neither the XDG variable nor HOME is set for an unprivileged daemon.
    #[error("cannot determine the user's home directory: HOME is not set")]
    NoHome,
}

/// The system directories of a privileged daemon.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SystemDirs {
    sysconf: PathBuf,
    runstate: PathBuf,
    localstate: PathBuf,
}

impl SystemDirs {
    fn new(env: &Env) -> SystemDirs {
        let base = env
            .get(ROOT_PREFIX_ENV)
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/"));
        SystemDirs {
            sysconf: base.join("etc"),
            runstate: base.join("run"),
            localstate: base.join("var"),
        }
    }
}

/// A driver's directories.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriverDirs {
    /// Persistent object configs (`NAME.xml`).
    pub config_dir: PathBuf,
    /// Autostart links.
    pub autostart_dir: PathBuf,
    /// Live status files of running objects.
    pub state_dir: PathBuf,
    /// Driver-private persistent data.
    pub lib_dir: PathBuf,
    /// Per-guest log files.
    pub log_dir: PathBuf,
}

/// Every path a daemon needs, resolved for one profile and privilege.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    /// Whether these are the privileged (root) paths.
    pub privileged: bool,
    /// The default config file (used when `-f` is not given).
    pub config_file: PathBuf,
    /// /etc/libvirt or $XDG_CONFIG_HOME/libvirt.
    pub config_dir: PathBuf,
    /// /run/libvirt or $XDG_RUNTIME_DIR/libvirt: created at start-up.
    pub run_dir: PathBuf,
    /// Read-write socket.
    pub sock: PathBuf,
    /// Read-only socket: root only.
    pub sock_ro: Option<PathBuf>,
    /// Admin socket (absent for a non-root daemon given unix_sock_dir).
    pub sock_admin: Option<PathBuf>,
    /// Default pid file (used when `-p` is not given).
    pub pid_file: PathBuf,
    /// Default directory for a `file` log output.
    pub log_dir: PathBuf,
    /// Per-user cache directory (non-root) or /var/cache/libvirt.
    pub cache_dir: PathBuf,
    /// /var/lib/libvirt or the user cache directory.
    pub lib_dir: PathBuf,
    /// TLS CA certificate default.
    pub tls_ca_cert: PathBuf,
    /// TLS server certificate default.
    pub tls_server_cert: PathBuf,
    /// TLS server key default.
    pub tls_server_key: PathBuf,
    sock_prefix: String,
}

impl Paths {
    /// Resolves the default paths of `profile`.
    pub fn resolve(profile: &Profile, privileged: bool, env: &Env) -> Result<Paths, PathsError> {
        let prefix = profile.sock_prefix;
        if privileged {
            let sys = SystemDirs::new(env);
            let config_dir = sys.sysconf.join("libvirt");
            let run_dir = sys.runstate.join("libvirt");
            Ok(Paths {
                privileged,
                config_file: config_dir.join(profile.config_file),
                sock: run_dir.join(format!("{prefix}-sock")),
                sock_ro: Some(run_dir.join(format!("{prefix}-sock-ro"))),
                sock_admin: Some(run_dir.join(format!("{prefix}-admin-sock"))),
                pid_file: sys.runstate.join(format!("{}.pid", profile.name)),
                log_dir: sys.localstate.join("log").join("libvirt"),
                cache_dir: sys.localstate.join("cache").join("libvirt"),
                lib_dir: sys.localstate.join("lib").join("libvirt"),
                tls_ca_cert: sys.sysconf.join("pki/CA/cacert.pem"),
                tls_server_cert: sys.sysconf.join("pki/libvirt/servercert.pem"),
                tls_server_key: sys.sysconf.join("pki/libvirt/private/serverkey.pem"),
                config_dir,
                run_dir,
                sock_prefix: prefix.to_owned(),
            })
        } else {
            let home = env.get("HOME").map(PathBuf::from);
            let xdg = |var: &str, fallback: &str| -> Result<PathBuf, PathsError> {
                match env.get(var) {
                    Some(v) => Ok(PathBuf::from(v)),
                    None => home
                        .as_ref()
                        .map(|h| h.join(fallback))
                        .ok_or(PathsError::NoHome),
                }
            };
            let config_dir = xdg("XDG_CONFIG_HOME", ".config")?.join("libvirt");
            // GLib falls back to the cache directory for the runtime one.
            let run_dir = match env.get("XDG_RUNTIME_DIR") {
                Some(v) => PathBuf::from(v),
                None => xdg("XDG_CACHE_HOME", ".cache")?,
            }
            .join("libvirt");
            let cache_dir = xdg("XDG_CACHE_HOME", ".cache")?.join("libvirt");
            let pki = home
                .as_ref()
                .ok_or(PathsError::NoHome)?
                .join(".pki/libvirt");
            Ok(Paths {
                privileged,
                config_file: config_dir.join(profile.config_file),
                sock: run_dir.join(format!("{prefix}-sock")),
                sock_ro: None,
                sock_admin: Some(run_dir.join(format!("{prefix}-admin-sock"))),
                pid_file: run_dir.join(format!("{}.pid", profile.name)),
                log_dir: cache_dir.clone(),
                lib_dir: cache_dir.clone(),
                cache_dir,
                tls_ca_cert: pki.join("cacert.pem"),
                tls_server_cert: pki.join("servercert.pem"),
                tls_server_key: pki.join("serverkey.pem"),
                config_dir,
                run_dir,
                sock_prefix: prefix.to_owned(),
            })
        }
    }

    /// Applies the `unix_sock_dir` setting: all sockets move there; as in
    /// libvirt, a non-root daemon then has neither a read-only nor an
    /// admin socket.
    pub fn apply_unix_sock_dir(&mut self, dir: &Path) {
        let prefix = &self.sock_prefix;
        self.sock = dir.join(format!("{prefix}-sock"));
        if self.privileged {
            self.sock_ro = Some(dir.join(format!("{prefix}-sock-ro")));
            self.sock_admin = Some(dir.join(format!("{prefix}-admin-sock")));
        } else {
            self.sock_ro = None;
            self.sock_admin = None;
        }
    }

    /// The directories of a driver (`lxc`, `libxl`, `vz`, `test`, ...).
    pub fn driver_dirs(&self, driver: &str) -> DriverDirs {
        let config_dir = self.config_dir.join(driver);
        if self.privileged {
            DriverDirs {
                autostart_dir: config_dir.join("autostart"),
                config_dir,
                state_dir: self.run_dir.join(driver),
                lib_dir: self.lib_dir.join(driver),
                log_dir: self.log_dir.join(driver),
            }
        } else {
            DriverDirs {
                autostart_dir: config_dir.join("autostart"),
                config_dir,
                state_dir: self.run_dir.join(driver),
                lib_dir: self.cache_dir.join(driver).join("lib"),
                log_dir: self.cache_dir.join(driver).join("log"),
            }
        }
    }

    /// The default log file for a `file` output: /var/log/libvirt/NAME.log
    /// for root, the user cache directory otherwise.
    pub fn default_log_file(&self, profile: &Profile) -> PathBuf {
        self.log_dir.join(format!("{}.log", profile.name))
    }
}

// SPDX-License-Identifier: LGPL-2.1-or-later
//! `libxl.conf`, the libxl driver's configuration file, with libvirt's keys
//! and defaults, and the driver's directories.
//!
//! Keys (none is reloaded on SIGHUP; libvirt reads the file at start-up):
//! - `autoballoon` (bool, default: on unless Xen's command line limits
//!   dom0 with `dom0_mem=`): balloon dom0 down to make room for guests;
//! - `lock_manager` (string, default none): `lockd` or `sanlock`;
//! - `keepalive_interval` (int, default 5; -1 disables) and
//!   `keepalive_count` (unsigned, default 5): keepalive during
//!   peer-to-peer migration;
//! - `nested_hvm` (bool, default off): allow nested HVM for
//!   `<cpu mode='host-passthrough'>` guests.

use driver::{Error, Result};
use std::path::{Path, PathBuf};

/// The file libvirt reads, for a privileged daemon.
pub const DEFAULT_CONFIG_FILE: &str = "/etc/libvirt/libxl.conf";

/// The driver's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LibxlConfig {
    /// `autoballoon`; `None` when the file leaves it to Xen's command line.
    pub autoballoon: Option<bool>,
    /// `lock_manager`.
    pub lock_manager: Option<String>,
    /// `keepalive_interval`, seconds.
    pub keepalive_interval: i32,
    /// `keepalive_count`.
    pub keepalive_count: u32,
    /// `nested_hvm`.
    pub nested_hvm: bool,
    /// Where the driver keeps its files.
    pub dirs: LibxlDirs,
}

/// The driver's directories (libvirt's LIBXL_*_DIR).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LibxlDirs {
    /// Persistent guest definitions: /etc/libvirt/libxl.
    pub config_dir: PathBuf,
    /// Autostart links: /etc/libvirt/libxl/autostart.
    pub autostart_dir: PathBuf,
    /// Live status: /run/libvirt/libxl.
    pub state_dir: PathBuf,
    /// Logs: /var/log/libvirt/libxl.
    pub log_dir: PathBuf,
    /// Driver data: /var/lib/libvirt/libxl.
    pub lib_dir: PathBuf,
    /// Managed save images: /var/lib/libvirt/libxl/save.
    pub save_dir: PathBuf,
    /// Core dumps: /var/lib/libvirt/libxl/dump.
    pub dump_dir: PathBuf,
    /// Channel sockets: /var/lib/libvirt/libxl/channel/target.
    pub channel_dir: PathBuf,
}

impl LibxlDirs {
    /// The directories below the given roots (`/etc`, `/run`, `/var`), so
    /// tests can redirect them.
    pub fn under(etc: &Path, run: &Path, var: &Path) -> LibxlDirs {
        let config_dir = etc.join("libvirt/libxl");
        let lib_dir = var.join("lib/libvirt/libxl");
        LibxlDirs {
            autostart_dir: config_dir.join("autostart"),
            config_dir,
            state_dir: run.join("libvirt/libxl"),
            log_dir: var.join("log/libvirt/libxl"),
            save_dir: lib_dir.join("save"),
            dump_dir: lib_dir.join("dump"),
            channel_dir: lib_dir.join("channel/target"),
            lib_dir,
        }
    }
}

impl Default for LibxlDirs {
    fn default() -> Self {
        LibxlDirs::under(Path::new("/etc"), Path::new("/run"), Path::new("/var"))
    }
}

impl Default for LibxlConfig {
    fn default() -> Self {
        LibxlConfig {
            autoballoon: None,
            lock_manager: None,
            keepalive_interval: 5,
            keepalive_count: 5,
            nested_hvm: false,
            dirs: LibxlDirs::default(),
        }
    }
}

fn conf_err(e: virconf::ConfError) -> Error {
    e.to_vir()
}

impl LibxlConfig {
    /// Applies the settings of a parsed file over the defaults.
    pub fn from_conf(conf: &virconf::Conf) -> Result<LibxlConfig> {
        let mut c = LibxlConfig {
            autoballoon: conf.get_bool("autoballoon").map_err(conf_err)?,
            lock_manager: conf.get_string("lock_manager").map_err(conf_err)?,
            ..Default::default()
        };
        if let Some(v) = conf.get_int("keepalive_interval").map_err(conf_err)? {
            c.keepalive_interval = v;
        }
        if let Some(v) = conf.get_u32("keepalive_count").map_err(conf_err)? {
            c.keepalive_count = v;
        }
        if let Some(v) = conf.get_bool("nested_hvm").map_err(conf_err)? {
            c.nested_hvm = v;
        }
        Ok(c)
    }

    /// Parses libxl.conf text.
    pub fn parse(text: &str, file_name: &str) -> Result<LibxlConfig> {
        let conf = virconf::Conf::parse(text, file_name).map_err(conf_err)?;
        Self::from_conf(&conf)
    }

    /// Reads the file; a file that cannot be read leaves the defaults, as
    /// libvirt does.
    pub fn load(path: &Path) -> Result<LibxlConfig> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(&text, &path.display().to_string()),
            Err(_) => Ok(LibxlConfig::default()),
        }
    }

    /// Whether dom0 is ballooned: the file's choice, else on unless Xen's
    /// command line pins dom0's memory with `dom0_mem=`.
    pub fn autoballoon_for(&self, xen_cmdline: &str) -> bool {
        self.autoballoon
            .unwrap_or_else(|| !cmdline_limits_dom0_mem(xen_cmdline))
    }
}

/// Whether a Xen command line has a well-formed `dom0_mem=` option
/// (`dom0_mem=[min:|max:]N[bBkKmMgG][,...]`).
pub fn cmdline_limits_dom0_mem(cmdline: &str) -> bool {
    cmdline.split(' ').any(|word| {
        let Some(v) = word.strip_prefix("dom0_mem=") else {
            return false;
        };
        let items: Vec<&str> = v.split(',').collect();
        // One trailing comma is allowed.
        let items = match items.split_last() {
            Some((last, rest)) if last.is_empty() && !rest.is_empty() => rest,
            _ => &items[..],
        };
        !items.is_empty()
            && items.iter().all(|it| {
                let it = it
                    .strip_prefix("min:")
                    .or_else(|| it.strip_prefix("max:"))
                    .unwrap_or(it);
                let digits = it.bytes().take_while(u8::is_ascii_digit).count();
                let rest = &it[digits..];
                digits > 0 && (rest.is_empty() || (rest.len() == 1 && "bBkKmMgG".contains(rest)))
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_keeps_libvirt_defaults() {
        let c = LibxlConfig::parse("", "libxl.conf").unwrap();
        assert_eq!(c.keepalive_interval, 5);
        assert_eq!(c.keepalive_count, 5);
        assert!(!c.nested_hvm);
        assert_eq!(c.autoballoon, None);
        assert_eq!(c.lock_manager, None);
        assert_eq!(c.dirs.config_dir, PathBuf::from("/etc/libvirt/libxl"));
        assert_eq!(
            c.dirs.channel_dir,
            PathBuf::from("/var/lib/libvirt/libxl/channel/target")
        );
    }

    #[test]
    fn settings_override_defaults() {
        let c = LibxlConfig::parse(
            "autoballoon = 0\nlock_manager = \"lockd\"\nkeepalive_interval = -1\nkeepalive_count = 3\nnested_hvm = 1\n",
            "libxl.conf",
        )
        .unwrap();
        assert_eq!(c.autoballoon, Some(false));
        assert_eq!(c.lock_manager.as_deref(), Some("lockd"));
        assert_eq!(c.keepalive_interval, -1);
        assert_eq!(c.keepalive_count, 3);
        assert!(c.nested_hvm);
    }

    #[test]
    fn wrong_types_are_rejected() {
        assert!(LibxlConfig::parse("nested_hvm = \"yes\"\n", "f").is_err());
        assert!(LibxlConfig::parse("keepalive_count = -1\n", "f").is_err());
        assert!(LibxlConfig::parse("autoballoon = 2\n", "f").is_err());
    }

    #[test]
    fn autoballoon_follows_dom0_mem() {
        let c = LibxlConfig::default();
        assert!(c.autoballoon_for("placeholder no-real-mode"));
        assert!(!c.autoballoon_for("placeholder dom0_mem=1024M,max:2G"));
        assert!(!c.autoballoon_for("dom0_mem=min:512M,"));
        assert!(c.autoballoon_for("dom0_mem=lots"));
        let forced = LibxlConfig {
            autoballoon: Some(true),
            ..Default::default()
        };
        assert!(forced.autoballoon_for("dom0_mem=1G"));
    }

    #[test]
    fn missing_file_gives_defaults() {
        let c = LibxlConfig::load(Path::new("/nonexistent/libxl.conf")).unwrap();
        assert_eq!(c, LibxlConfig::default());
    }
}

// SPDX-License-Identifier: LGPL-2.1-or-later
//! `/etc/libvirt/lxc.conf`: the LXC driver's settings.
//!
//! | key | type | default | reloaded on SIGHUP |
//! |---|---|---|---|
//! | `log_with_libvirtd` | bool | false: controllers log to their own file | no |
//! | `security_driver` | string | unset: probe the host's default | no |
//! | `security_default_confined` | bool | false | no |
//! | `security_require_confined` | bool | false | no |
//!
//! Unknown keys are ignored, as libvirt does. A missing file means the
//! defaults; a file with a syntax error or a value of the wrong type is
//! an error naming the file and key.

use std::path::Path;

use driver::Error;
use virconf::Conf;

use crate::errors;

/// The settings of lxc.conf.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LxcConf {
    /// Send controller logs to the daemon's log instead of a per-domain file.
    pub log_with_libvirtd: bool,
    /// Security driver name (`selinux`, `apparmor`, `none`), `None` = probe.
    pub security_driver: Option<String>,
    /// Confine guests by default.
    pub security_default_confined: bool,
    /// Refuse to start unconfined guests.
    pub security_require_confined: bool,
}

impl LxcConf {
    /// Parses lxc.conf text; `file` names the source in errors.
    pub fn parse(text: &str, file: &str) -> Result<LxcConf, Error> {
        let conf = Conf::parse(text, file).map_err(errors::virconf)?;
        Self::from_conf(&conf)
    }

    fn from_conf(conf: &Conf) -> Result<LxcConf, Error> {
        let mut c = LxcConf::default();
        if let Some(v) = conf
            .get_bool("log_with_libvirtd")
            .map_err(errors::virconf)?
        {
            c.log_with_libvirtd = v;
        }
        c.security_driver = conf
            .get_string("security_driver")
            .map_err(errors::virconf)?;
        if let Some(v) = conf
            .get_bool("security_default_confined")
            .map_err(errors::virconf)?
        {
            c.security_default_confined = v;
        }
        if let Some(v) = conf
            .get_bool("security_require_confined")
            .map_err(errors::virconf)?
        {
            c.security_require_confined = v;
        }
        Ok(c)
    }

    /// Reads `path`; a file that does not exist gives the defaults.
    pub fn load(path: &Path) -> Result<LxcConf, Error> {
        match Conf::read_file(path) {
            Ok(conf) => Self::from_conf(&conf),
            Err(e) if e.is_not_found() => Ok(LxcConf::default()),
            Err(e) => Err(errors::virconf(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_when_empty_and_unknown_keys_ignored() {
        let c =
            LxcConf::parse("# nothing\nfoo = 1\n", "lxc.conf").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c, LxcConf::default());
        assert!(!c.log_with_libvirtd);
        assert_eq!(c.security_driver, None);
    }

    #[test]
    fn values_are_read() {
        let c = LxcConf::parse(
            "log_with_libvirtd = 1\nsecurity_driver = \"none\"\nsecurity_default_confined = 1\nsecurity_require_confined = 0\n",
            "lxc.conf",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(c.log_with_libvirtd);
        assert_eq!(c.security_driver.as_deref(), Some("none"));
        assert!(c.security_default_confined);
        assert!(!c.security_require_confined);
    }

    #[test]
    fn wrong_type_is_an_error() {
        let e = LxcConf::parse("log_with_libvirtd = \"yes\"\n", "lxc.conf");
        assert!(e.is_err());
        let e = LxcConf::parse("security_driver = 1\n", "lxc.conf");
        assert!(e.is_err());
    }

    #[test]
    fn missing_file_gives_defaults() {
        let c = LxcConf::load(Path::new("/nonexistent/lxc.conf")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c, LxcConf::default());
    }
}

// SPDX-License-Identifier: LGPL-2.1-or-later
//! The authentication each listener enforces, from the configuration:
//! `auth_unix_rw`, `auth_unix_ro`, `auth_tcp`, `auth_tls`, with
//! `tcp_min_ssf` and `sasl_allowed_username_list`.
//!
//! A scheme that cannot be enforced stops the daemon at start-up with a
//! message naming the key; no listener ever falls back to "none". The same
//! holds for `access_drivers` other than "nop".

use std::sync::Arc;

use daemon_support::config::AuthScheme as ConfScheme;
use daemon_support::DaemonConfig;
use rpc::{AuthConfig, AuthScheme};

/// The transport scheme for a configured one.
pub fn scheme(s: ConfScheme) -> AuthScheme {
    match s {
        ConfScheme::None => AuthScheme::None,
        ConfScheme::Sasl => AuthScheme::Sasl,
        ConfScheme::Polkit => AuthScheme::Polkit,
    }
}

/// Which listeners a daemon is about to serve.
pub struct InUse {
    pub unix_rw: bool,
    pub unix_ro: bool,
    pub tcp: bool,
    pub tls: bool,
}

/// Checks that every scheme the served listeners name can be enforced
/// and builds the server's authentication settings.
pub fn setup(config: &DaemonConfig, in_use: &InUse) -> Result<AuthConfig, String> {
    let keys = [
        ("auth_unix_rw", config.auth_unix_rw, in_use.unix_rw, true),
        ("auth_unix_ro", config.auth_unix_ro, in_use.unix_ro, true),
        ("auth_tcp", config.auth_tcp, in_use.tcp, false),
        ("auth_tls", config.auth_tls, in_use.tls, false),
    ];
    // Fine-grained access control (per object and operation) is not
    // implemented: a configuration asking for it must not run without it.
    if let Some(list) = &config.access_drivers {
        if let Some(d) = list.iter().find(|d| d.as_str() != "nop") {
            return Err(format!(
                "access_drivers: the access driver '{d}' cannot be enforced: this daemon \
                 controls access per socket only (read-only, read-write, admin)"
            ));
        }
    }
    let mut need_polkit = false;
    for (key, value, used, local) in keys {
        if !used {
            continue;
        }
        match value {
            ConfScheme::None => {}
            ConfScheme::Sasl => {
                sasl::server_init(rpc::auth::SASL_SERVICE).map_err(|e| {
                    format!("{key} = \"sasl\" cannot be enforced: the SASL library failed to start: {e}")
                })?;
            }
            ConfScheme::Polkit if !local => {
                return Err(format!(
                    "{key} = \"polkit\" cannot be enforced: polkit identifies local processes, which needs a UNIX socket"
                ));
            }
            ConfScheme::Polkit => need_polkit = true,
        }
    }
    let allowed_user: Option<rpc::UserCheck> =
        config.sasl_allowed_username_list.clone().map(|list| {
            let f: rpc::UserCheck = Arc::new(move |user: &str| {
                list.iter()
                    .any(|pat| daemon_support::log::glob_match(pat, user))
            });
            f
        });
    let polkit = if need_polkit {
        Some(crate::polkit_check()?)
    } else {
        None
    };
    Ok(AuthConfig {
        tcp_min_ssf: config.tcp_min_ssf,
        allowed_user,
        polkit,
    })
}

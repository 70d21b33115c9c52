// SPDX-License-Identifier: LGPL-2.1-or-later
//! The authentication each listener enforces, from the configuration:
//! `auth_unix_rw`, `auth_unix_ro`, `auth_tcp`, `auth_tls`, with
//! `tcp_min_ssf` and `sasl_allowed_username_list`.
//!
//! A scheme that cannot be enforced stops the daemon at start-up with a
//! message naming the key; no listener ever falls back to "none".

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
    let allowed_user: Option<rpc::UserCheck> = config.sasl_allowed_username_list.clone().map(|list| {
        let f: rpc::UserCheck = Arc::new(move |user: &str| {
            list.iter()
                .any(|pat| daemon_support::log::glob_match(pat, user))
        });
        f
    });
    let polkit = if need_polkit { Some(crate::polkit_check()?) } else { None };
    Ok(AuthConfig {
        tcp_min_ssf: config.tcp_min_ssf,
        allowed_user,
        polkit,
    })
}

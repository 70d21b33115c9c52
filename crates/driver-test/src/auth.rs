// SPDX-License-Identifier: LGPL-2.1-or-later
//! The test driver's pretend authentication: a node file whose `<auth>`
//! lists users makes every open prove one of them, as libvirt's
//! `testConnectAuthenticate` does.
//!
//! Inside a daemon there is no client callback to ask (libvirt's daemon
//! opens drivers without one), so the only source of credentials is
//! libvirt's auth file (`auth.conf`: `LIBVIRT_AUTH_FILE`, the URI's
//! `authfile`, the user's `$XDG_CONFIG_HOME/libvirt/auth.conf`, then
//! `/etc/libvirt/auth.conf`), looked up for service `test` on host
//! `localhost`; without one the open fails with libvirt's "Missing
//! authentication credentials".

use std::path::PathBuf;

use conf::xml::Element;
use driver::error::{ErrorCode, ErrorDomain};
use driver::{Error, Result};

use crate::errors;

/// A user of `<auth>`: `<user password='...'>name</user>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub password: Option<String>,
}

/// The users of `/node/auth/user`.
pub fn parse_users(root: &Element) -> Result<Vec<User>> {
    let Some(auth) = root.child("auth") else {
        return Ok(Vec::new());
    };
    auth.children_named("user")
        .map(|u| {
            let name = u.text();
            if name.is_empty() {
                return Err(errors::xml("missing username in /node/auth/user field"));
            }
            Ok(User {
                name,
                password: u.attr("password").map(str::to_string),
            })
        })
        .collect()
}

/// Checks the credentials the auth file gives against `users` (nothing to
/// check when there are none). `uri_authfile` is the URI's `authfile`
/// parameter.
pub fn authenticate(users: &[User], uri_authfile: Option<&str>) -> Result<()> {
    if users.is_empty() {
        return Ok(());
    }
    let file = auth_file(uri_authfile);
    let file = file.as_ref();
    let username = lookup(file, "username")?.ok_or_else(missing_credentials)?;
    let user = users.iter().find(|u| u.name == username);
    // An unknown user is still asked for a password, as libvirt does.
    let password = match user {
        Some(User { password: None, .. }) => None,
        _ => Some(lookup(file, "password")?.ok_or_else(missing_credentials)?),
    };
    match user {
        Some(u) if password.is_none() || u.password == password => Ok(()),
        _ => Err(errors::test(
            ErrorCode::AuthFailed,
            "authentication failed, see test XML for the correct username/password",
        )),
    }
}

fn missing_credentials() -> Error {
    Error::new(
        ErrorCode::InvalidArg,
        ErrorDomain::Auth,
        "Missing authentication credentials",
    )
}

/// The auth file in libvirt's order of precedence, if one is readable.
fn auth_file(uri_authfile: Option<&str>) -> Option<(PathBuf, String)> {
    let explicit = std::env::var_os("LIBVIRT_AUTH_FILE")
        .map(PathBuf::from)
        .or_else(|| uri_authfile.map(PathBuf::from));
    let candidates: Vec<PathBuf> = match explicit {
        Some(p) => vec![p],
        None => {
            let user_dir = std::env::var_os("XDG_CONFIG_HOME")
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")));
            user_dir
                .map(|d| d.join("libvirt/auth.conf"))
                .into_iter()
                .chain([PathBuf::from("/etc/libvirt/auth.conf")])
                .collect()
        }
    };
    candidates
        .into_iter()
        .find_map(|p| std::fs::read_to_string(&p).ok().map(|t| (p, t)))
}

/// Credential `cred` for service `test` on `localhost` (or the service's
/// `default` group): `[auth-test-localhost] credentials=NAME` names the
/// group `[credentials-NAME]` holding it.
fn lookup(file: Option<&(PathBuf, String)>, cred: &str) -> Result<Option<String>> {
    let Some((path, text)) = file else {
        return Ok(None);
    };
    let groups = key_file(text);
    let group = |name: &str| groups.iter().find(|(g, _)| g == name).map(|(_, kv)| kv);
    let get = |kv: &Vec<(String, String)>, k: &str| {
        kv.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone())
    };
    let Some((auth_name, auth)) = ["auth-test-localhost", "auth-test-default"]
        .into_iter()
        .find_map(|n| group(n).map(|g| (n, g)))
    else {
        return Ok(None);
    };
    let syntax = |msg: String| Error::new(ErrorCode::ConfSyntax, ErrorDomain::None, msg);
    let Some(cred_name) = get(auth, "credentials") else {
        return Err(syntax(format!(
            "Missing item 'credentials' in group '{auth_name}' in '{}'",
            path.display()
        )));
    };
    let Some(creds) = group(&format!("credentials-{cred_name}")) else {
        return Err(syntax(format!(
            "Missing group 'credentials-{cred_name}' referenced from group '{auth_name}' in '{}'",
            path.display()
        )));
    };
    Ok(get(creds, cred))
}

type Groups = Vec<(String, Vec<(String, String)>)>;

/// The groups of a key file (`[group]`, `key=value`, `#` comments).
fn key_file(text: &str) -> Groups {
    let mut groups: Groups = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            groups.push((name.to_string(), Vec::new()));
        } else if let (Some((k, v)), Some((_, kv))) = (line.split_once('='), groups.last_mut()) {
            kv.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    fn users() -> Vec<User> {
        vec![
            User {
                name: "alice".into(),
                password: Some("pw".into()),
            },
            User {
                name: "bob".into(),
                password: None,
            },
        ]
    }

    fn file(body: &str) -> Option<(PathBuf, String)> {
        Some((PathBuf::from("/x/auth.conf"), body.to_string()))
    }

    #[test]
    fn credentials_come_from_the_service_group() {
        let f = file(
            "# comment\n[credentials-t]\nusername=alice\npassword=pw\n\n[auth-test-localhost]\ncredentials=t\n",
        );
        assert_eq!(lookup(f.as_ref(), "username"), Ok(Some("alice".into())));
        assert_eq!(lookup(f.as_ref(), "password"), Ok(Some("pw".into())));
        let f = file("[credentials-t]\nusername=bob\n[auth-test-default]\ncredentials=t\n");
        assert_eq!(lookup(f.as_ref(), "username"), Ok(Some("bob".into())));
        assert_eq!(lookup(f.as_ref(), "password"), Ok(None));
        assert_eq!(
            lookup(file("[auth-qemu-x]\n").as_ref(), "username"),
            Ok(None)
        );
    }

    #[test]
    fn broken_references_are_conf_syntax_errors() {
        let e = lookup(file("[auth-test-localhost]\nx=1\n").as_ref(), "username").unwrap_err();
        assert_eq!(e.code, ErrorCode::ConfSyntax);
        assert_eq!(
            e.detail.as_deref(),
            Some("Missing item 'credentials' in group 'auth-test-localhost' in '/x/auth.conf'")
        );
        let e = lookup(
            file("[auth-test-localhost]\ncredentials=c\n").as_ref(),
            "username",
        )
        .unwrap_err();
        assert_eq!(
            e.detail.as_deref(),
            Some("Missing group 'credentials-c' referenced from group 'auth-test-localhost' in '/x/auth.conf'")
        );
    }

    #[test]
    fn no_users_needs_no_credentials() {
        assert_eq!(authenticate(&[], None), Ok(()));
    }

    #[test]
    fn users_without_any_auth_file_are_missing_credentials() {
        let dir = std::env::temp_dir().join(format!("testauth-{}", std::process::id()));
        let missing = dir.join("none.conf");
        let e = authenticate(&users(), missing.to_str()).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidArg);
        assert_eq!(e.domain, ErrorDomain::Auth);
        assert_eq!(
            e.to_string(),
            "invalid argument: Missing authentication credentials"
        );
    }

    #[test]
    fn auth_file_credentials_are_checked_against_the_users() {
        let dir = std::env::temp_dir().join(format!("testauth-ok-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let write = |name: &str, body: &str| {
            let p = dir.join(name);
            std::fs::write(&p, body).unwrap();
            p.display().to_string()
        };
        let good = write(
            "good.conf",
            "[credentials-a]\nusername=alice\npassword=pw\n[auth-test-localhost]\ncredentials=a\n",
        );
        let bad = write(
            "bad.conf",
            "[credentials-a]\nusername=alice\npassword=no\n[auth-test-localhost]\ncredentials=a\n",
        );
        let bob = write(
            "bob.conf",
            "[credentials-b]\nusername=bob\n[auth-test-localhost]\ncredentials=b\n",
        );
        let eve = write(
            "eve.conf",
            "[credentials-e]\nusername=eve\n[auth-test-localhost]\ncredentials=e\n",
        );
        if std::env::var_os("LIBVIRT_AUTH_FILE").is_some() {
            eprintln!("skipped: LIBVIRT_AUTH_FILE is set in the test environment");
            return;
        }
        assert_eq!(authenticate(&users(), Some(&good)), Ok(()));
        assert_eq!(authenticate(&users(), Some(&bob)), Ok(()));
        let e = authenticate(&users(), Some(&bad)).unwrap_err();
        assert_eq!(
            (e.code, e.domain),
            (ErrorCode::AuthFailed, ErrorDomain::Test)
        );
        assert_eq!(
            e.to_string(),
            "authentication failed: authentication failed, see test XML for the correct username/password"
        );
        // An unknown user without a password is asked for one first.
        let e = authenticate(&users(), Some(&eve)).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidArg);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

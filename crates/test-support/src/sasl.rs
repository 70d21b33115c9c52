// SPDX-License-Identifier: LGPL-2.1-or-later
//! The SASL side of the auth tests: a daemon's SASL configuration with a
//! user in a sasldb, and the client's credentials.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::{run_cmd, TempDir};

/// The SASL user the tests create, and its password.
pub const SASL_USER: &str = "alice";
pub const SASL_PASSWORD: &str = "wonderland";

/// A SASL configuration directory for the daemon (give it as
/// `SASL_CONF_PATH`): `libvirt.conf` offering `mechs`, and a sasldb made
/// with `saslpasswd2 -a libvirt` holding [`SASL_USER`].
pub fn sasl_dir(t: &TempDir, mechs: &str) -> PathBuf {
    use std::io::Write;
    let dir = t.join("sasl");
    std::fs::create_dir_all(&dir).expect("sasl dir");
    let db = dir.join("passwd.db");
    std::fs::write(
        dir.join("libvirt.conf"),
        format!("mech_list: {mechs}\nsasldb_path: {}\n", db.display()),
    )
    .expect("libvirt.conf");
    let mut c = Command::new("saslpasswd2")
        .args([
            "-a",
            "libvirt",
            "-f",
            db.to_str().unwrap_or(""),
            "-p",
            "-c",
            SASL_USER,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("saslpasswd2");
    if let Some(mut i) = c.stdin.take() {
        i.write_all(SASL_PASSWORD.as_bytes()).expect("password");
    }
    assert!(
        c.wait().expect("saslpasswd2").success(),
        "saslpasswd2 failed"
    );
    dir
}

/// A libvirt client auth file (for `LIBVIRT_AUTH_FILE`) giving `user` and
/// `password` for 127.0.0.1.
pub fn auth_file(t: &TempDir, name: &str, user: &str, password: &str) -> PathBuf {
    let p = t.join(name);
    std::fs::write(
        &p,
        format!(
            "[credentials-t]\nauthname={user}\npassword={password}\n\n\
             [auth-libvirt-127.0.0.1]\ncredentials=t\n"
        ),
    )
    .expect("auth file");
    p
}

/// Runs `virsh -c URI args...` with credentials from `auth` (none: a file
/// that does not exist, so nothing is answered for it).
pub fn virsh_auth(uri: &str, auth: Option<&Path>, args: &[&str]) -> Output {
    let mut c = Command::new("virsh");
    c.arg("-c").arg(uri).args(args).env(
        "LIBVIRT_AUTH_FILE",
        auth.unwrap_or(Path::new("/nonexistent")),
    );
    run_cmd(c)
}

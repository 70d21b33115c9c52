// SPDX-License-Identifier: LGPL-2.1-or-later
//! The host's system token, shared by every daemon of the host: made at
//! start-up by the first daemon (`common/system.token` in the run
//! directory: /run/libvirt for root, $XDG_RUNTIME_DIR/libvirt otherwise),
//! read by the others. See [`driver::identity`] for what it proves.

use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Makes sure the host has a system token and records it and the daemon's
/// own identity for the drivers and the links to other daemons. Without a
/// token the daemon still serves, but no daemon can act for it with
/// elevated rights.
pub fn init(run_dir: &Path) -> std::io::Result<()> {
    let token = ensure_system_token(run_dir)?;
    driver::identity::set_system_token(token);
    // This process's owner, as /proc reports it (no call needed).
    let me = std::fs::metadata("/proc/self")?;
    let (uid, gid) = (me.uid(), me.gid());
    driver::identity::set_system(driver::identity::Identity::for_process(
        uid,
        gid,
        crate::admin::user_name(uid),
        crate::admin::group_name(gid),
    ));
    Ok(())
}

/// 16 random bytes, as 32 lowercase hex digits.
const TOKEN_BYTES: usize = 16;
const TOKEN_LEN: usize = TOKEN_BYTES * 2;

/// Where the token of daemons whose run directory is `run_dir` lives.
pub fn token_path(run_dir: &Path) -> PathBuf {
    run_dir.join("common").join("system.token")
}

/// Reads the host's token, making it first if no daemon has. A new token
/// is written whole to a private temporary file and linked into place, so
/// a reader never sees part of one and of two daemons starting together
/// the first link wins and both use its token.
pub fn ensure_system_token(run_dir: &Path) -> std::io::Result<String> {
    let path = token_path(run_dir);
    let dir = run_dir.join("common");
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)?;
    if let Some(t) = read_token(&path)? {
        return Ok(t);
    }
    let mut raw = [0u8; TOKEN_BYTES];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut raw)?;
    let token: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    let tmp = dir.join(format!(".system.token.{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let written = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(token.as_bytes())?;
        f.sync_all()?;
        std::fs::hard_link(&tmp, &path)
    })();
    let _ = std::fs::remove_file(&tmp);
    match written {
        Ok(()) => Ok(token),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            read_token(&path)?.ok_or_else(|| corrupt(&path))
        }
        Err(e) => Err(e),
    }
}

fn corrupt(path: &Path) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        format!("System token in {} was corrupt", path.display()),
    )
}

/// The token in `path`; `None` when there is no file (or an empty one a
/// daemon has yet to fill).
fn read_token(path: &Path) -> std::io::Result<Option<String>> {
    let mut text = String::new();
    match std::fs::File::open(path) {
        Ok(f) => {
            f.take(TOKEN_LEN as u64 + 1).read_to_string(&mut text)?;
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    }
    if text.is_empty() {
        return Ok(None);
    }
    if text.len() != TOKEN_LEN {
        return Err(corrupt(path));
    }
    Ok(Some(text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn token_is_made_once_private_and_then_read() {
        let run = std::env::temp_dir().join(format!("system-token-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&run);
        let a = ensure_system_token(&run).unwrap();
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit()));
        let p = token_path(&run);
        let mode = std::fs::metadata(&p).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(ensure_system_token(&run).unwrap(), a);
        // No temporary file is left beside it.
        assert_eq!(std::fs::read_dir(run.join("common")).unwrap().count(), 1);
        std::fs::write(&p, "short").unwrap();
        assert!(ensure_system_token(&run).is_err());
        std::fs::remove_dir_all(&run).unwrap();
    }
}

// SPDX-License-Identifier: LGPL-2.1-or-later
//! Scratch directories.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

/// A fresh directory under the system temp dir, removed on drop.
///
/// Its name is short (`lvrs-TAG-PID-N`): daemons put their sockets below
/// it and a socket path must fit in 108 bytes.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicU32 = AtomicU32::new(0);
        let p = std::env::temp_dir().join(format!(
            "lvrs-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&p);
        if let Err(e) = std::fs::create_dir_all(&p) {
            panic!("create {}: {e}", p.display());
        }
        TempDir(p)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn join(&self, s: &str) -> PathBuf {
        self.0.join(s)
    }

    /// Writes `daemon.conf` with `unix_sock_dir` in `run/` plus `extra`.
    pub fn config(&self, extra: &str) -> PathBuf {
        let p = self.join("daemon.conf");
        let text = format!(
            "unix_sock_dir = \"{}\"\n{extra}\n",
            self.join("run").display()
        );
        if let Err(e) = std::fs::write(&p, text) {
            panic!("write {}: {e}", p.display());
        }
        p
    }
}

impl AsRef<Path> for TempDir {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

// SPDX-License-Identifier: LGPL-2.1-or-later
//! Root file systems for containers: a static busybox and the applets a
//! test needs, linked to it.

use std::path::{Path, PathBuf};

/// The static busybox (Debian's busybox-static) copied into container
/// roots.
pub const BUSYBOX: &str = "/bin/busybox";

/// A busybox root file system to build: `bin proc sys dev tmp etc`,
/// `bin/busybox`, its applets as symlinks, and any other files.
pub struct BusyboxRoot {
    path: PathBuf,
    applets: Vec<String>,
    files: Vec<(String, String)>,
}

impl BusyboxRoot {
    /// A root at `path` (created, with its parents).
    pub fn new(path: impl Into<PathBuf>) -> BusyboxRoot {
        BusyboxRoot {
            path: path.into(),
            applets: Vec::new(),
            files: Vec::new(),
        }
    }

    /// Links these applets in `bin/`.
    pub fn applets(mut self, names: &[&str]) -> BusyboxRoot {
        self.applets.extend(names.iter().map(|s| (*s).to_owned()));
        self
    }

    /// Writes `text` to `rel` (relative to the root).
    pub fn file(mut self, rel: &str, text: &str) -> BusyboxRoot {
        self.files.push((rel.to_owned(), text.to_owned()));
        self
    }

    /// Builds the root and returns its path; panics with the path that
    /// failed.
    pub fn build(self) -> PathBuf {
        let root = self.path;
        for d in ["bin", "proc", "sys", "dev", "tmp", "etc"] {
            let p = root.join(d);
            std::fs::create_dir_all(&p).unwrap_or_else(|e| panic!("mkdir {}: {e}", p.display()));
        }
        let bb = root.join("bin/busybox");
        std::fs::copy(BUSYBOX, &bb)
            .unwrap_or_else(|e| panic!("copy {BUSYBOX} to {}: {e}", bb.display()));
        let applets: Vec<&str> = self.applets.iter().map(String::as_str).collect();
        link_applets(&root, &applets);
        for (rel, text) in &self.files {
            let p = root.join(rel);
            std::fs::write(&p, text).unwrap_or_else(|e| panic!("write {}: {e}", p.display()));
        }
        root
    }
}

/// Links more applets in `root/bin` to its busybox.
pub fn link_applets(root: &Path, names: &[&str]) {
    for l in names {
        let p = root.join("bin").join(l);
        std::os::unix::fs::symlink("busybox", &p)
            .unwrap_or_else(|e| panic!("symlink {}: {e}", p.display()));
    }
}

// SPDX-License-Identifier: LGPL-2.1-or-later
//! Where a running container's memory and CPU usage are read from.
//!
//! A container has one cgroup directory per v1 controller, a single v2
//! directory, or both (a hybrid host). Which of them holds the memory and
//! CPU counters, and under which file name, does not change while the
//! container runs: [`UsageFiles::resolve`] finds them once when the domain
//! starts (or is found again after a restart), so that `info()` and the
//! stats calls open exactly the files that exist, one per counter.

use std::io::Read;
use std::path::{Path, PathBuf};

/// Memory in use: v1's `memory.usage_in_bytes`, else v2's `memory.current`.
const MEMORY_FILES: [&str; 2] = ["memory.usage_in_bytes", "memory.current"];

/// How a CPU time file reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum CpuFile {
    /// v1 `cpuacct.usage`: nanoseconds.
    AcctNs(PathBuf),
    /// v2 `cpu.stat`: a `usage_usec N` line.
    StatUsec(PathBuf),
}

/// The counter files of one running container.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct UsageFiles {
    memory: Option<PathBuf>,
    cpu: Option<CpuFile>,
}

impl UsageFiles {
    /// Finds the counter files among a container's cgroup directories: the
    /// first directory holding each kind, v1's file before v2's.
    pub(crate) fn resolve(dirs: &[String]) -> UsageFiles {
        let find = |file: &str| {
            dirs.iter()
                .map(|d| Path::new(d).join(file))
                .find(|p| p.is_file())
        };
        let memory = MEMORY_FILES.iter().find_map(|f| find(f));
        let cpu = find("cpuacct.usage")
            .map(CpuFile::AcctNs)
            .or_else(|| find("cpu.stat").map(CpuFile::StatUsec));
        UsageFiles { memory, cpu }
    }

    /// Memory in use (bytes) and CPU time (ns); `None` for a counter that
    /// has no file or cannot be read (the container just went away).
    pub(crate) fn read(&self) -> (Option<u64>, Option<u64>) {
        let mem = self
            .memory
            .as_deref()
            .and_then(read_counter)
            .and_then(|s| s.trim().parse().ok());
        let cpu = match &self.cpu {
            Some(CpuFile::AcctNs(p)) => read_counter(p).and_then(|s| s.trim().parse().ok()),
            Some(CpuFile::StatUsec(p)) => read_counter(p).and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("usage_usec "))
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(|us| us.saturating_mul(1000))
            }),
            None => None,
        };
        (mem, cpu)
    }
}

/// The start of a counter file: open and read, without the size query a
/// whole-file read makes first (cgroup files report size 0 anyway). The
/// counters this module wants are in the first lines.
fn read_counter(p: &Path) -> Option<String> {
    let mut f = std::fs::File::open(p).ok()?;
    let mut buf = [0u8; 512];
    let mut n = 0;
    while n < buf.len() {
        match f.read(buf.get_mut(n..)?) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
    String::from_utf8(buf.get(..n)?.to_vec()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(root: &Path, name: &str, files: &[(&str, &str)]) -> String {
        let d = root.join(name);
        std::fs::create_dir_all(&d).unwrap();
        for (f, v) in files {
            std::fs::write(d.join(f), v).unwrap();
        }
        d.to_string_lossy().into_owned()
    }

    #[test]
    fn v1_controllers_each_in_their_own_directory() {
        let t = test_support::TempDir::new("lxcusage");
        let dirs = vec![
            dir(t.path(), "cpu,cpuacct", &[("cpuacct.usage", "123456789\n")]),
            dir(
                t.path(),
                "memory",
                &[("memory.usage_in_bytes", "4096000\n")],
            ),
            dir(t.path(), "freezer", &[("freezer.state", "THAWED\n")]),
        ];
        let u = UsageFiles::resolve(&dirs);
        assert_eq!(u.read(), (Some(4_096_000), Some(123_456_789)));
    }

    #[test]
    fn v2_single_directory() {
        let t = test_support::TempDir::new("lxcusage");
        let dirs = vec![dir(
            t.path(),
            "machine.slice",
            &[
                ("memory.current", "8192\n"),
                (
                    "cpu.stat",
                    "usage_usec 250\nuser_usec 200\nsystem_usec 50\n",
                ),
            ],
        )];
        assert_eq!(
            UsageFiles::resolve(&dirs).read(),
            (Some(8192), Some(250_000))
        );
    }

    #[test]
    fn hybrid_host_prefers_the_v1_counters_and_follows_later_changes() {
        let t = test_support::TempDir::new("lxcusage");
        let mem = dir(t.path(), "memory", &[("memory.usage_in_bytes", "100\n")]);
        let dirs = vec![
            dir(t.path(), "unified", &[("cpu.stat", "usage_usec 7\n")]),
            mem.clone(),
            dir(t.path(), "cpuacct", &[("cpuacct.usage", "99\n")]),
        ];
        let u = UsageFiles::resolve(&dirs);
        assert_eq!(u.read(), (Some(100), Some(99)));
        // Resolved once, read afresh each time.
        std::fs::write(Path::new(&mem).join("memory.usage_in_bytes"), "200\n").unwrap();
        assert_eq!(u.read(), (Some(200), Some(99)));
    }

    #[test]
    fn missing_or_vanished_counters_read_as_none() {
        let t = test_support::TempDir::new("lxcusage");
        let d = dir(t.path(), "memory", &[("memory.usage_in_bytes", "1\n")]);
        let u = UsageFiles::resolve(std::slice::from_ref(&d));
        assert_eq!(u.read(), (Some(1), None));
        std::fs::remove_dir_all(&d).unwrap();
        assert_eq!(u.read(), (None, None));
        assert_eq!(UsageFiles::resolve(&[]).read(), (None, None));
    }
}

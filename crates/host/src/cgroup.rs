// SPDX-License-Identifier: LGPL-2.1-or-later
//! Control groups: layout detection (v1, v2, hybrid), creation of a machine
//! group the way libvirt does without systemd (`<placement>/<partition>/<NAME>.libvirt-<DRIVER>`),
//! its per-thread sub-groups (`vcpuN`, `emulator`), limits, freezer,
//! statistics and removal.
//!
//! In the hybrid layout the v1 hierarchies carry the controllers; a matching
//! group is also made in the unified hierarchy when it is writable, so tools
//! that look there find the container (and it carries a BPF device filter
//! beside the v1 `devices` controller, see [`Cgroup::set_devices`]).

use crate::{Error, Result};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// The v1 controllers the machine group is created in.
pub const V1_CONTROLLERS: &[&str] = &[
    "cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids",
];

/// Which cgroup layout the host uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Only v1 hierarchies.
    V1,
    /// Only the unified (v2) hierarchy.
    V2,
    /// v1 hierarchies carry the controllers, a cgroup2 is mounted beside them.
    Hybrid,
}

/// One mounted v1 hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V1Mount {
    /// Controller names from the mount options (`name=systemd` kept as is).
    pub controllers: Vec<String>,
    /// Mount point.
    pub mount_point: PathBuf,
    /// Root of the mount inside the hierarchy (not `/` inside a container).
    pub root: String,
}

/// The cgroup mounts of this host.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mounts {
    /// v1 hierarchies.
    pub v1: Vec<V1Mount>,
    /// Mount point and root of the unified hierarchy.
    pub unified: Option<(PathBuf, String)>,
}

impl Mounts {
    /// The layout these mounts describe; `None` when there are no cgroups.
    pub fn layout(&self) -> Option<Layout> {
        let v1 = self
            .v1
            .iter()
            .any(|m| m.controllers.iter().any(|c| !c.starts_with("name=")));
        match (v1, self.unified.is_some()) {
            (true, true) => Some(Layout::Hybrid),
            (true, false) => Some(Layout::V1),
            (false, true) => Some(Layout::V2),
            (false, false) => None,
        }
    }

    /// The v1 mount carrying `controller`.
    pub fn v1_for(&self, controller: &str) -> Option<&V1Mount> {
        self.v1
            .iter()
            .find(|m| m.controllers.iter().any(|c| c == controller))
    }
}

/// Reads /proc/self/mountinfo and returns the cgroup mounts.
pub fn detect() -> Result<Mounts> {
    let text = fs::read_to_string("/proc/self/mountinfo")
        .map_err(|e| Error::sys("reading /proc/self/mountinfo", e))?;
    Ok(parse_mountinfo(&text))
}

/// Undoes the octal escapes (`\040`) mountinfo uses for blanks.
fn unescape_mount_path(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 4 <= b.len() {
            let digits = &b[i + 1..i + 4];
            if digits.iter().all(|d| (b'0'..=b'7').contains(d)) {
                let v = u32::from(digits[0] - b'0') * 64
                    + u32::from(digits[1] - b'0') * 8
                    + u32::from(digits[2] - b'0');
                if let Ok(v) = u8::try_from(v) {
                    out.push(v);
                    i += 4;
                    continue;
                }
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses the text of a mountinfo file (pure, for unit tests).
pub fn parse_mountinfo(text: &str) -> Mounts {
    let mut mounts = Mounts::default();
    for line in text.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let lf: Vec<&str> = left.split(' ').collect();
        let rf: Vec<&str> = right.split(' ').collect();
        if lf.len() < 5 || rf.len() < 3 {
            continue;
        }
        let root = unescape_mount_path(lf[3]);
        let mount_point = PathBuf::from(unescape_mount_path(lf[4]));
        match rf[0] {
            // The first cgroup2 mount wins, like the kernel's own lookup order.
            "cgroup2" if mounts.unified.is_none() => {
                mounts.unified = Some((mount_point, root));
            }
            "cgroup" => {
                let controllers: Vec<String> = rf[2]
                    .split(',')
                    .filter(|o| {
                        o.starts_with("name=")
                            || !matches!(
                                *o,
                                "rw" | "ro"
                                    | "relatime"
                                    | "noatime"
                                    | "nosuid"
                                    | "nodev"
                                    | "noexec"
                                    | "clone_children"
                                    | "xattr"
                                    | "noprefix"
                            ) && !o.contains('=')
                    })
                    .map(str::to_string)
                    .collect();
                if !controllers.is_empty() {
                    mounts.v1.push(V1Mount {
                        controllers,
                        mount_point,
                        root,
                    });
                }
            }
            _ => {}
        }
    }
    mounts
}

/// One line of /proc/PID/cgroup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// Hierarchy id (0 for the unified hierarchy).
    pub id: u32,
    /// Controllers of the hierarchy (empty for the unified one).
    pub controllers: Vec<String>,
    /// Path of the process's group inside that hierarchy.
    pub path: String,
}

/// Parses the text of /proc/PID/cgroup.
pub fn parse_proc_cgroup(text: &str) -> Vec<Placement> {
    text.lines()
        .filter_map(|l| {
            let mut it = l.splitn(3, ':');
            let id = it.next()?.parse().ok()?;
            let ctrls = it.next()?;
            let path = it.next()?.to_string();
            let controllers = if ctrls.is_empty() {
                Vec::new()
            } else {
                ctrls.split(',').map(str::to_string).collect()
            };
            Some(Placement {
                id,
                controllers,
                path,
            })
        })
        .collect()
}

/// Escapes one path component like libvirt: a leading `_` is added when the
/// name starts with `_`, `.`, `cgroup.` or `CONTROLLER.` (it could clash
/// with a control file).
pub fn escape_component(name: &str, known_controllers: &[String]) -> String {
    let clash = name.starts_with('_')
        || name.starts_with('.')
        || name.starts_with("cgroup.")
        || known_controllers.iter().any(|c| {
            name.len() > c.len() && name.starts_with(c.as_str()) && name.as_bytes()[c.len()] == b'.'
        });
    if clash {
        format!("_{name}")
    } else {
        name.to_string()
    }
}

/// Names of all controllers the kernel knows (from /proc/cgroups). The
/// set is fixed while the system runs, so it is read once per process
/// (a container start resolves one path per hierarchy).
fn kernel_controllers() -> &'static [String] {
    static CTRLS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    CTRLS.get_or_init(read_kernel_controllers)
}

fn read_kernel_controllers() -> Vec<String> {
    let mut out: Vec<String> = fs::read_to_string("/proc/cgroups")
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect();
    for c in V1_CONTROLLERS {
        if !out.iter().any(|o| o == c) {
            out.push((*c).to_string());
        }
    }
    out
}

/// The path, relative to a hierarchy root, of machine `name` in `partition`
/// (`/machine` by default) below the caller's placement `base`.
pub fn machine_relpath(base: &str, partition: &str, name: &str) -> Result<String> {
    driver_relpath(base, partition, "lxc", name)
}

/// The path, relative to a hierarchy root, of machine `name` of `driver`
/// (`NAME.libvirt-DRIVER`) in `partition` below the caller's placement `base`.
pub fn driver_relpath(base: &str, partition: &str, driver: &str, name: &str) -> Result<String> {
    if !partition.starts_with('/') {
        return Err(Error::Invalid(format!(
            "Resource partition '{partition}' must start with '/'"
        )));
    }
    let ctrls = kernel_controllers();
    let mut rel = String::new();
    let base = base.trim_end_matches('/');
    rel.push_str(base);
    for comp in partition.split('/').filter(|c| !c.is_empty()) {
        if comp == "." || comp == ".." {
            return Err(Error::Invalid(format!(
                "invalid resource partition '{partition}'"
            )));
        }
        rel.push('/');
        rel.push_str(&escape_component(comp, ctrls));
    }
    if name.is_empty() || name.contains('/') || name.contains('\0') {
        return Err(Error::Invalid(format!("invalid machine name '{name}'")));
    }
    rel.push('/');
    rel.push_str(&escape_component(
        &format!("{name}.libvirt-{driver}"),
        ctrls,
    ));
    Ok(rel)
}

/// A machine group across every hierarchy that carries a controller.
#[derive(Debug, Clone)]
pub struct Cgroup {
    /// Directory of the group per v1 controller (several controllers may share one).
    v1: Vec<(String, PathBuf)>,
    /// Directory of the group in the unified hierarchy.
    v2: Option<PathBuf>,
    /// Whether controllers are driven through the unified hierarchy (pure v2).
    v2_controllers: bool,
    /// Where the caller came from per hierarchy, to move itself back before removal.
    origin_v1: Vec<(String, PathBuf)>,
    origin_v2: Option<PathBuf>,
}

/// Removes empty group directories. A busy one is retried briefly, because
/// exiting tasks leave their group asynchronously; missing ones are fine.
pub fn remove_dirs(dirs: &[PathBuf]) -> Result<()> {
    let mut first_err = None;
    for d in dirs {
        let mut tries = 0;
        loop {
            match fs::remove_dir(d) {
                Ok(()) => break,
                Err(e) if e.kind() == io::ErrorKind::NotFound => break,
                Err(e) if e.raw_os_error() == Some(libc::EBUSY) && tries < 200 => {
                    tries += 1;
                    std::thread::sleep(std::time::Duration::from_micros(500));
                }
                Err(e) => {
                    if first_err.is_none() {
                        first_err = Some(Error::sys(format!("removing cgroup {}", d.display()), e));
                    }
                    break;
                }
            }
        }
    }
    match first_err {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

fn strip_root(path: &str, root: &str) -> String {
    if root != "/" {
        if let Some(rest) = path.strip_prefix(root) {
            return if rest.is_empty() {
                "/".into()
            } else {
                rest.to_string()
            };
        }
    }
    path.to_string()
}

fn join_rel(mount: &Path, rel: &str) -> PathBuf {
    mount.join(rel.trim_start_matches('/'))
}

fn write_file(path: &Path, value: &str) -> Result<()> {
    fs::write(path, value)
        .map_err(|e| Error::sys(format!("writing '{value}' to {}", path.display()), e))
}

fn read_file(path: &Path) -> Result<String> {
    fs::read_to_string(path).map_err(|e| Error::sys(format!("reading {}", path.display()), e))
}

fn read_u64(path: &Path) -> Result<u64> {
    let s = read_file(path)?;
    s.trim().parse().map_err(|_| {
        Error::Invalid(format!(
            "unexpected content in {}: {:?}",
            path.display(),
            s.trim()
        ))
    })
}

/// Creates every directory from `top` down to `dir`, calling `init` on each
/// one that was created (cpuset needs values copied down level by level).
fn mkdir_levels(top: &Path, dir: &Path, mut init: impl FnMut(&Path) -> Result<()>) -> Result<()> {
    let rel = dir
        .strip_prefix(top)
        .map_err(|_| Error::Invalid(format!("{} is not below {}", dir.display(), top.display())))?;
    let mut cur = top.to_path_buf();
    for comp in rel.components() {
        cur.push(comp);
        match fs::create_dir(&cur) {
            Ok(()) => init(&cur)?,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(Error::sys(format!("creating cgroup {}", cur.display()), e)),
        }
    }
    Ok(())
}

/// Copies cpuset.cpus/mems from the parent when they are empty (v1 leaves
/// them empty in a new group, and a group with empty sets takes no task).
fn cpuset_inherit(dir: &Path) -> Result<()> {
    let Some(parent) = dir.parent() else {
        return Ok(());
    };
    for f in ["cpuset.cpus", "cpuset.mems"] {
        let own = dir.join(f);
        if !own.exists() {
            continue;
        }
        if read_file(&own)?.trim().is_empty() {
            let v = read_file(&parent.join(f))?;
            write_file(&own, v.trim())?;
        }
    }
    Ok(())
}

/// Resource settings applied to a machine group. Sizes are KiB like libvirt's XML.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Limits {
    /// Initial memory of the domain (v1 memory.limit_in_bytes, v2 memory.max).
    pub memory_kib: Option<u64>,
    /// `<memtune><hard_limit>`.
    pub hard_limit_kib: Option<u64>,
    /// `<memtune><soft_limit>` (v1 soft limit, v2 memory.high).
    pub soft_limit_kib: Option<u64>,
    /// `<memtune><swap_hard_limit>` (v1 memsw limit, v2 memory.swap.max).
    pub swap_hard_limit_kib: Option<u64>,
    /// `<cputune><shares>` (v2 cpu.weight takes the same number, as libvirt does).
    pub cpu_shares: Option<u64>,
    /// `<cputune><period>` in microseconds.
    pub cfs_period: Option<u64>,
    /// `<cputune><quota>` in microseconds, negative for unlimited.
    pub cfs_quota: Option<i64>,
    /// CPUs (cpuset list syntax).
    pub cpuset_cpus: Option<String>,
    /// Memory nodes (cpuset list syntax).
    pub cpuset_mems: Option<String>,
    /// `<blkiotune><weight>`.
    pub blkio_weight: Option<u32>,
    /// Maximum number of tasks.
    pub pids_max: Option<u64>,
}

/// A device rule: a line of the v1 `devices.allow`, or an entry of the BPF
/// device filter ([`crate::bpf_devices`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceRule {
    /// `'c'`, `'b'` or `'a'`.
    pub kind: char,
    /// Major number, `None` for any.
    pub major: Option<u32>,
    /// Minor number, `None` for any.
    pub minor: Option<u32>,
    /// Any of `r`, `w`, `m`.
    pub perms: &'static str,
}

impl DeviceRule {
    fn render(&self) -> String {
        let num = |n: Option<u32>| n.map_or("*".to_string(), |v| v.to_string());
        format!(
            "{} {}:{} {}",
            self.kind,
            num(self.major),
            num(self.minor),
            self.perms
        )
    }
}

/// Memory/CPU figures for domain statistics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Memory in use, bytes.
    pub memory_bytes: Option<u64>,
    /// CPU time used, nanoseconds.
    pub cpu_ns: Option<u64>,
}

impl Cgroup {
    /// Resolves (without creating) the machine group of `name` in
    /// `partition`, below the placement of process `base_pid` (0 = self).
    pub fn resolve(mounts: &Mounts, base_pid: u32, partition: &str, name: &str) -> Result<Cgroup> {
        Cgroup::resolve_for(mounts, base_pid, partition, "lxc", name)
    }

    /// Resolves (without creating) the group of machine `name` of `driver`
    /// (`NAME.libvirt-DRIVER`) in `partition`, below the placement of process
    /// `base_pid` (0 = self).
    pub fn resolve_for(
        mounts: &Mounts,
        base_pid: u32,
        partition: &str,
        driver: &str,
        name: &str,
    ) -> Result<Cgroup> {
        let proc_path = if base_pid == 0 {
            "/proc/self/cgroup".to_string()
        } else {
            format!("/proc/{base_pid}/cgroup")
        };
        let placements = parse_proc_cgroup(&read_file(Path::new(&proc_path))?);
        let layout = mounts
            .layout()
            .ok_or_else(|| Error::Invalid("no cgroup filesystem is mounted".into()))?;
        let mut v1 = Vec::new();
        let mut origin_v1 = Vec::new();
        if layout != Layout::V2 {
            for ctrl in V1_CONTROLLERS {
                let Some(m) = mounts.v1_for(ctrl) else {
                    continue;
                };
                let Some(pl) = placements
                    .iter()
                    .find(|p| p.id != 0 && p.controllers.iter().any(|c| c == ctrl))
                else {
                    continue;
                };
                let base = strip_root(&pl.path, &m.root);
                let rel = driver_relpath(&base, partition, driver, name)?;
                v1.push(((*ctrl).to_string(), join_rel(&m.mount_point, &rel)));
                origin_v1.push(((*ctrl).to_string(), join_rel(&m.mount_point, &base)));
            }
        }
        let mut v2 = None;
        let mut origin_v2 = None;
        if let Some((mp, root)) = &mounts.unified {
            if let Some(pl) = placements.iter().find(|p| p.id == 0) {
                let base = strip_root(&pl.path, root);
                let rel = driver_relpath(&base, partition, driver, name)?;
                v2 = Some(join_rel(mp, &rel));
                origin_v2 = Some(join_rel(mp, &base));
            }
        }
        Ok(Cgroup {
            v1,
            v2,
            v2_controllers: layout == Layout::V2,
            origin_v1,
            origin_v2,
        })
    }

    /// Creates the group directories (missing levels included). In the hybrid
    /// layout a failure in the unified hierarchy is not an error: it is
    /// reported through the returned warning list.
    pub fn create(&self, mounts: &Mounts) -> Result<Vec<String>> {
        let mut warnings = Vec::new();
        let mut done: Vec<&Path> = Vec::new();
        for (ctrl, dir) in &self.v1 {
            if done.contains(&dir.as_path()) {
                continue;
            }
            let Some(m) = mounts.v1_for(ctrl) else {
                continue;
            };
            let is_cpuset = ctrl == "cpuset" || m.controllers.iter().any(|c| c == "cpuset");
            mkdir_levels(&m.mount_point, dir, |d| {
                if is_cpuset {
                    cpuset_inherit(d)
                } else {
                    Ok(())
                }
            })?;
            if is_cpuset {
                cpuset_inherit(dir)?;
            }
            done.push(dir);
        }
        if let (Some(dir), Some((mp, _))) = (&self.v2, &mounts.unified) {
            let wanted = ["cpu", "io", "memory", "pids", "cpuset"];
            let res = mkdir_levels(mp, dir, |d| {
                if self.v2_controllers {
                    // Enable the controllers for the new level from its parent;
                    // the parent may hold processes, in which case this fails
                    // and limits are simply not available there.
                    if let Some(parent) = d.parent() {
                        let avail = fs::read_to_string(parent.join("cgroup.controllers"))
                            .unwrap_or_default();
                        let req: Vec<String> = wanted
                            .iter()
                            .filter(|c| avail.split_whitespace().any(|a| a == **c))
                            .map(|c| format!("+{c}"))
                            .collect();
                        if !req.is_empty() {
                            let _ = fs::write(parent.join("cgroup.subtree_control"), req.join(" "));
                        }
                    }
                }
                Ok(())
            });
            if let Err(e) = res {
                if self.v2_controllers {
                    return Err(e);
                }
                warnings.push(format!("unified hierarchy group not created: {e}"));
            }
        }
        Ok(warnings)
    }

    /// Directory of the group for a v1 controller.
    pub fn v1_dir(&self, controller: &str) -> Option<&Path> {
        self.v1
            .iter()
            .find(|(c, _)| c == controller)
            .map(|(_, d)| d.as_path())
    }

    /// Directory of the group in the unified hierarchy.
    pub fn v2_dir(&self) -> Option<&Path> {
        self.v2.as_deref()
    }

    /// Whether the unified hierarchy drives the controllers (pure v2 layout).
    pub fn is_v2(&self) -> bool {
        self.v2_controllers
    }

    /// Every distinct group directory.
    pub fn all_dirs(&self) -> Vec<PathBuf> {
        let mut out: Vec<PathBuf> = Vec::new();
        for (_, d) in &self.v1 {
            if !out.contains(d) {
                out.push(d.clone());
            }
        }
        if let Some(d) = &self.v2 {
            out.push(d.clone());
        }
        out
    }

    /// Moves the calling process into the group in the v1 hierarchies whose
    /// controller `pick` accepts.
    ///
    /// A single-threaded caller writes `0` (itself) to `tasks`: the kernel
    /// then moves the one thread without taking the global lock that makes
    /// every process migration (`cgroup.procs`) wait for an RCU grace
    /// period, several milliseconds each time. A multi-threaded caller is
    /// moved as a whole through `cgroup.procs`.
    pub fn join_v1(&self, pick: impl Fn(&str) -> bool) -> Result<()> {
        let single = crate::process::thread_count().is_ok_and(|n| n == 1);
        let me = crate::process::getpid().to_string();
        let mut done: Vec<&Path> = Vec::new();
        for (ctrl, dir) in &self.v1 {
            if !pick(ctrl) || done.contains(&dir.as_path()) {
                continue;
            }
            if single {
                write_file(&dir.join("tasks"), "0")?;
            } else {
                write_file(&dir.join("cgroup.procs"), &me)?;
            }
            done.push(dir);
        }
        Ok(())
    }

    /// Puts `pid` back where the caller was found in every hierarchy.
    pub fn move_to_origin(&self, pid: u32) {
        for (_, d) in &self.origin_v1 {
            let _ = fs::write(d.join("cgroup.procs"), pid.to_string());
        }
        if let Some(d) = &self.origin_v2 {
            let _ = fs::write(d.join("cgroup.procs"), pid.to_string());
        }
    }

    /// Applies resource limits. Settings the host lacks (no memsw accounting,
    /// no bfq) are skipped and named in the returned warnings.
    pub fn apply_limits(&self, l: &Limits) -> Result<Vec<String>> {
        let mut warn = Vec::new();
        if self.v2_controllers {
            self.apply_limits_v2(l, &mut warn)?;
        } else {
            self.apply_limits_v1(l, &mut warn)?;
        }
        Ok(warn)
    }

    fn v1_file(&self, ctrl: &str, file: &str) -> Result<PathBuf> {
        self.v1_dir(ctrl)
            .map(|d| d.join(file))
            .ok_or_else(|| Error::Invalid(format!("cgroup controller '{ctrl}' is not mounted")))
    }

    fn v2_file(&self, file: &str) -> Result<PathBuf> {
        self.v2
            .as_ref()
            .map(|d| d.join(file))
            .ok_or_else(|| Error::Invalid("unified cgroup hierarchy is not mounted".into()))
    }

    fn apply_limits_v1(&self, l: &Limits, warn: &mut Vec<String>) -> Result<()> {
        let bytes = |k: u64| k.saturating_mul(1024).to_string();
        // Order matters: memsw must stay >= the memory limit at every step,
        // so raise memsw first when it is set.
        if let Some(s) = l.swap_hard_limit_kib {
            let p = self.v1_file("memory", "memory.memsw.limit_in_bytes")?;
            if p.exists() {
                // Lowering below the current memory limit fails; set memory first then.
                if fs::write(&p, bytes(s)).is_err() {
                    if let Some(h) = l.hard_limit_kib.or(l.memory_kib) {
                        write_file(&self.v1_file("memory", "memory.limit_in_bytes")?, &bytes(h))?;
                    }
                    write_file(&p, &bytes(s))?;
                }
            } else {
                warn.push("swap hard limit ignored: memory.memsw.limit_in_bytes is missing".into());
            }
        }
        if let Some(m) = l.hard_limit_kib.or(l.memory_kib) {
            write_file(&self.v1_file("memory", "memory.limit_in_bytes")?, &bytes(m))?;
        }
        if let Some(s) = l.soft_limit_kib {
            write_file(
                &self.v1_file("memory", "memory.soft_limit_in_bytes")?,
                &bytes(s),
            )?;
        }
        if let Some(s) = l.cpu_shares {
            write_file(&self.v1_file("cpu", "cpu.shares")?, &s.to_string())?;
        }
        if let Some(p) = l.cfs_period {
            write_file(&self.v1_file("cpu", "cpu.cfs_period_us")?, &p.to_string())?;
        }
        if let Some(q) = l.cfs_quota {
            let v = if q < 0 { -1 } else { q };
            write_file(&self.v1_file("cpu", "cpu.cfs_quota_us")?, &v.to_string())?;
        }
        if let Some(c) = &l.cpuset_cpus {
            write_file(&self.v1_file("cpuset", "cpuset.cpus")?, c)?;
        }
        if let Some(m) = &l.cpuset_mems {
            write_file(&self.v1_file("cpuset", "cpuset.mems")?, m)?;
        }
        if let Some(w) = l.blkio_weight {
            let plain = self.v1_file("blkio", "blkio.weight")?;
            let bfq = self.v1_file("blkio", "blkio.bfq.weight")?;
            if plain.exists() {
                write_file(&plain, &w.to_string())?;
            } else if bfq.exists() {
                write_file(&bfq, &w.to_string())?;
            } else {
                return Err(Error::Invalid(
                    "blkio weight is valid only for bfq or cfq scheduler".into(),
                ));
            }
        }
        if let Some(p) = l.pids_max {
            write_file(&self.v1_file("pids", "pids.max")?, &p.to_string())?;
        }
        Ok(())
    }

    fn apply_limits_v2(&self, l: &Limits, warn: &mut Vec<String>) -> Result<()> {
        let bytes = |k: u64| k.saturating_mul(1024).to_string();
        if let Some(m) = l.hard_limit_kib.or(l.memory_kib) {
            write_file(&self.v2_file("memory.max")?, &bytes(m))?;
        }
        if let Some(s) = l.soft_limit_kib {
            write_file(&self.v2_file("memory.high")?, &bytes(s))?;
        }
        if let Some(s) = l.swap_hard_limit_kib {
            let p = self.v2_file("memory.swap.max")?;
            if p.exists() {
                write_file(&p, &bytes(s))?;
            } else {
                warn.push("swap hard limit ignored: memory.swap.max is missing".into());
            }
        }
        if let Some(s) = l.cpu_shares {
            write_file(&self.v2_file("cpu.weight")?, &s.to_string())?;
        }
        if l.cfs_period.is_some() || l.cfs_quota.is_some() {
            let p = self.v2_file("cpu.max")?;
            let cur = fs::read_to_string(&p).unwrap_or_else(|_| "max 100000".into());
            let mut it = cur.split_whitespace();
            let cur_quota = it.next().unwrap_or("max").to_string();
            let cur_period = it.next().unwrap_or("100000").to_string();
            let quota = match l.cfs_quota {
                Some(q) if q < 0 => "max".to_string(),
                Some(q) => q.to_string(),
                None => cur_quota,
            };
            let period = l.cfs_period.map_or(cur_period, |p| p.to_string());
            write_file(&p, &format!("{quota} {period}"))?;
        }
        if let Some(c) = &l.cpuset_cpus {
            write_file(&self.v2_file("cpuset.cpus")?, c)?;
        }
        if let Some(m) = &l.cpuset_mems {
            write_file(&self.v2_file("cpuset.mems")?, m)?;
        }
        if let Some(w) = l.blkio_weight {
            let bfq = self.v2_file("io.bfq.weight")?;
            let plain = self.v2_file("io.weight")?;
            if bfq.exists() {
                write_file(&bfq, &w.to_string())?;
            } else if plain.exists() {
                write_file(&plain, &format!("default {w}"))?;
            } else {
                return Err(Error::Invalid(
                    "blkio weight is valid only for bfq or cfq scheduler".into(),
                ));
            }
        }
        if let Some(p) = l.pids_max {
            write_file(&self.v2_file("pids.max")?, &p.to_string())?;
        }
        Ok(())
    }

    /// Restricts device access to `allow`; returns warnings about what
    /// could not be applied.
    ///
    /// - v1: the `devices` controller (deny all, then each rule).
    /// - unified hierarchy (pure v2): a BPF device filter on the group
    ///   ([`crate::bpf_devices`]), reusing one attached earlier. A kernel
    ///   without cgroup BPF gives a warning, like a missing v1 controller;
    ///   any other failure is an error.
    /// - hybrid: the v1 `devices` controller enforces, as in libvirt, and
    ///   the same list also goes into a BPF filter on the group in the
    ///   unified hierarchy when that group exists. The kernel consults both
    ///   (BPF first, then v1) and a device must pass both, so with one list
    ///   nothing changes for the container; the filter is what still holds
    ///   if the v1 `devices` hierarchy is missing, and it keeps the v2 path
    ///   in use on hybrid hosts. Its failures are only warnings here, since
    ///   v1 already enforces.
    pub fn set_devices(&self, allow: &[DeviceRule]) -> Result<Vec<String>> {
        let mut warn = Vec::new();
        if self.v2_controllers {
            let dir = self
                .v2
                .as_deref()
                .ok_or_else(|| Error::Invalid("unified cgroup hierarchy is not mounted".into()))?;
            match crate::bpf_devices::unavailable_reason(dir)? {
                Some(why) => warn.push(format!("device access control skipped: {why}")),
                None => crate::bpf_devices::DeviceFilter::open(dir)?.set_rules(allow)?,
            }
            return Ok(warn);
        }
        match self.v1_dir("devices") {
            Some(dir) => {
                write_file(&dir.join("devices.deny"), "a")?;
                for r in allow {
                    write_file(&dir.join("devices.allow"), &r.render())?;
                }
            }
            None => {
                warn.push("device access control skipped: devices controller not mounted".into())
            }
        }
        if let Some(dir) = self.v2.as_deref().filter(|d| d.is_dir()) {
            let filtered = crate::bpf_devices::unavailable_reason(dir).and_then(|why| match why {
                Some(why) => Err(Error::Invalid(why)),
                None => {
                    let mut f = crate::bpf_devices::DeviceFilter::open(dir)?;
                    f.set_rules(allow).inspect_err(|_| {
                        // Half filled, it would deny what v1 allows.
                        let _ = f.detach();
                    })
                }
            });
            if let Err(e) = filtered {
                warn.push(format!(
                    "device filter not attached to the unified group {}: {e}",
                    dir.display()
                ));
            }
        }
        Ok(warn)
    }

    /// Allows one more device `rule` to a group whose list is `all` (the
    /// new rule included): appended to the v1 list, while a BPF filter is
    /// replaced as a whole. Nothing the group already had is denied
    /// meanwhile.
    pub fn allow_device(&self, all: &[DeviceRule], rule: &DeviceRule) -> Result<Vec<String>> {
        if self.v2_controllers {
            return self.set_devices(all);
        }
        let mut warn = Vec::new();
        if let Some(dir) = self.v1_dir("devices") {
            write_file(&dir.join("devices.allow"), &rule.render())?;
        }
        if let Some(dir) = self.v2.as_deref().filter(|d| d.is_dir()) {
            let filtered = crate::bpf_devices::unavailable_reason(dir).and_then(|why| match why {
                Some(why) => Err(Error::Invalid(why)),
                None => crate::bpf_devices::DeviceFilter::open(dir)?.set_rules(all),
            });
            if let Err(e) = filtered {
                warn.push(format!(
                    "device filter of the unified group {} not updated: {e}",
                    dir.display()
                ));
            }
        }
        Ok(warn)
    }

    /// Freezes (`true`) or thaws the group and waits until the kernel reports
    /// the new state.
    pub fn set_frozen(&self, frozen: bool) -> Result<()> {
        if self.v2_controllers {
            let p = self.v2_file("cgroup.freeze")?;
            write_file(&p, if frozen { "1" } else { "0" })?;
            let events = self.v2_file("cgroup.events")?;
            let want = if frozen { "frozen 1" } else { "frozen 0" };
            for _ in 0..1000 {
                if read_file(&events)?.lines().any(|l| l.trim() == want) {
                    return Ok(());
                }
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            return Err(Error::Invalid(
                "timed out waiting for cgroup freeze state".into(),
            ));
        }
        let p = self.v1_file("freezer", "freezer.state")?;
        let want = if frozen { "FROZEN" } else { "THAWED" };
        for _ in 0..1000 {
            write_file(&p, want)?;
            if read_file(&p)?.trim() == want {
                return Ok(());
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        Err(Error::Invalid(format!(
            "timed out waiting for freezer state {want}"
        )))
    }

    /// Whether the group is frozen.
    pub fn is_frozen(&self) -> Result<bool> {
        if self.v2_controllers {
            let ev = read_file(&self.v2_file("cgroup.events")?)?;
            return Ok(ev.lines().any(|l| l.trim() == "frozen 1"));
        }
        Ok(read_file(&self.v1_file("freezer", "freezer.state")?)?.trim() != "THAWED")
    }

    /// Memory and CPU usage of the group.
    pub fn usage(&self) -> Usage {
        if self.v2_controllers {
            let mem = self
                .v2_file("memory.current")
                .ok()
                .and_then(|p| read_u64(&p).ok());
            let cpu = self.v2_file("cpu.stat").ok().and_then(|p| {
                read_file(&p).ok().and_then(|s| {
                    s.lines()
                        .find_map(|l| l.strip_prefix("usage_usec "))
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .map(|us| us.saturating_mul(1000))
                })
            });
            return Usage {
                memory_bytes: mem,
                cpu_ns: cpu,
            };
        }
        Usage {
            memory_bytes: self
                .v1_file("memory", "memory.usage_in_bytes")
                .ok()
                .and_then(|p| read_u64(&p).ok()),
            cpu_ns: self
                .v1_file("cpuacct", "cpuacct.usage")
                .ok()
                .and_then(|p| read_u64(&p).ok()),
        }
    }

    /// Every process id found in any of the group's hierarchies.
    pub fn pids(&self) -> Vec<u32> {
        let mut out = Vec::new();
        for d in self.all_dirs() {
            if let Ok(s) = fs::read_to_string(d.join("cgroup.procs")) {
                for p in s.lines().filter_map(|l| l.trim().parse::<u32>().ok()) {
                    if !out.contains(&p) {
                        out.push(p);
                    }
                }
            }
        }
        out
    }

    /// Sends `signal` to every process of the group except `except`.
    /// Returns how many were signalled.
    pub fn kill_all(&self, signal: i32, except: &[u32]) -> usize {
        let mut n = 0;
        for p in self.pids() {
            if except.contains(&p) {
                continue;
            }
            if crate::process::kill(p, signal).is_ok() {
                n += 1;
            }
        }
        n
    }

    /// The sub-group `name` (`vcpu0`, `emulator`, ...) of this group in the
    /// hierarchies whose controller `pick` accepts (libvirt gives thread
    /// groups cpu, cpuacct and cpuset only). In the unified hierarchy it is
    /// kept only when that hierarchy drives the controllers.
    pub fn child(&self, name: &str, pick: impl Fn(&str) -> bool) -> Cgroup {
        let comp = escape_component(name, kernel_controllers());
        Cgroup {
            v1: self
                .v1
                .iter()
                .filter(|(c, _)| pick(c))
                .map(|(c, d)| (c.clone(), d.join(&comp)))
                .collect(),
            v2: self
                .v2
                .as_ref()
                .filter(|_| self.v2_controllers)
                .map(|d| d.join(&comp)),
            v2_controllers: self.v2_controllers,
            origin_v1: self.v1.clone(),
            origin_v2: self.v2.clone(),
        }
    }

    /// Creates the directories of a [`Cgroup::child`] (its parent exists).
    /// On v2 the thread sub-groups are threaded: the parent's controllers
    /// that work on threads are enabled below it first.
    pub fn create_child(&self) -> Result<()> {
        let mut done: Vec<&Path> = Vec::new();
        for (ctrl, dir) in &self.v1 {
            if done.contains(&dir.as_path()) {
                continue;
            }
            match fs::create_dir(dir) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(Error::sys(format!("creating cgroup {}", dir.display()), e)),
            }
            if ctrl == "cpuset" {
                cpuset_inherit(dir)?;
            }
            done.push(dir);
        }
        if let Some(dir) = &self.v2 {
            if let Some(parent) = dir.parent() {
                let avail =
                    fs::read_to_string(parent.join("cgroup.controllers")).unwrap_or_default();
                let req: Vec<String> = ["cpu", "cpuset"]
                    .iter()
                    .filter(|c| avail.split_whitespace().any(|a| a == **c))
                    .map(|c| format!("+{c}"))
                    .collect();
                if !req.is_empty() {
                    let _ = fs::write(parent.join("cgroup.subtree_control"), req.join(" "));
                }
            }
            match fs::create_dir(dir) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(Error::sys(format!("creating cgroup {}", dir.display()), e)),
            }
            write_file(&dir.join("cgroup.type"), "threaded")?;
        }
        Ok(())
    }

    /// Moves thread `tid` into this group in every hierarchy (v1 `tasks`,
    /// v2 `cgroup.threads`).
    pub fn add_thread(&self, tid: u32) -> Result<()> {
        let mut done: Vec<&Path> = Vec::new();
        for (_, dir) in &self.v1 {
            if done.contains(&dir.as_path()) {
                continue;
            }
            write_file(&dir.join("tasks"), &tid.to_string())?;
            done.push(dir);
        }
        if let Some(dir) = &self.v2 {
            if self.v2_controllers {
                write_file(&dir.join("cgroup.threads"), &tid.to_string())?;
            }
        }
        Ok(())
    }

    /// Moves process `pid` (all its threads) into this group in every
    /// hierarchy.
    pub fn add_process(&self, pid: u32) -> Result<()> {
        for d in self.all_dirs() {
            write_file(&d.join("cgroup.procs"), &pid.to_string())?;
        }
        Ok(())
    }

    /// Keeps the group only in the v1 hierarchies of a controller `pick`
    /// accepts (a hierarchy shared by several controllers stays when any of
    /// them is kept).
    pub fn retain_v1(&mut self, pick: impl Fn(&str) -> bool) {
        let kept: Vec<PathBuf> = self
            .v1
            .iter()
            .filter(|(c, _)| pick(c))
            .map(|(_, d)| d.clone())
            .collect();
        self.v1.retain(|(_, d)| kept.contains(d));
    }

    /// Whether the group has controller `ctrl` (v1 hierarchy, or the
    /// unified one when it drives the controllers).
    pub fn has_controller(&self, ctrl: &str) -> bool {
        self.v1_dir(ctrl).is_some() || (self.v2_controllers && self.v2.is_some())
    }

    /// The `cgroup.procs` file of every distinct group directory that
    /// exists (the unified one may not have been made): a child
    /// that writes `0` to each before it executes its program starts inside
    /// the group (see [`join_before_exec`]).
    pub fn procs_files(&self) -> Vec<PathBuf> {
        self.all_dirs()
            .into_iter()
            .filter(|d| d.is_dir())
            .map(|d| d.join("cgroup.procs"))
            .collect()
    }

    /// Removes the group directories (deepest first). The tasks must be gone;
    /// a busy directory is retried briefly because exiting tasks leave the
    /// group asynchronously.
    pub fn remove(&self) -> Result<()> {
        remove_dirs(&self.all_dirs())
    }

    /// Whether any of the group directories still exists.
    pub fn exists(&self) -> bool {
        self.all_dirs().iter().any(|d| d.exists())
    }
}

/// Makes `cmd`'s child join the groups whose `cgroup.procs` files are
/// `procs` before it executes its program, so that everything it runs and
/// allocates is accounted there from the start.
pub fn join_before_exec(cmd: &mut std::process::Command, procs: &[PathBuf]) -> Result<()> {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::process::CommandExt;
    let paths: Vec<std::ffi::CString> = procs
        .iter()
        .map(|p| std::ffi::CString::new(p.as_os_str().as_bytes()))
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| Error::Invalid("cgroup path holds a NUL byte".into()))?;
    // SAFETY: between fork and exec the closure runs only open, write and
    // close (async-signal-safe) on paths converted before the fork; it
    // allocates nothing.
    unsafe {
        cmd.pre_exec(move || {
            for p in &paths {
                let fd = libc::open(p.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
                if fd < 0 {
                    return Err(io::Error::last_os_error());
                }
                let n = libc::write(fd, b"0".as_ptr().cast(), 1);
                let err = io::Error::last_os_error();
                libc::close(fd);
                if n != 1 {
                    return Err(err);
                }
            }
            Ok(())
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

    #[test]
    fn hybrid_layout_is_detected_from_mountinfo() {
        let m = parse_mountinfo(HYBRID);
        assert_eq!(m.layout(), Some(Layout::Hybrid));
        assert_eq!(m.v1.len(), 3);
        assert_eq!(
            m.v1_for("memory").map(|x| x.mount_point.clone()),
            Some(PathBuf::from("/sys/fs/cgroup/memory"))
        );
        assert!(m.v1_for("name=systemd").is_some());
        assert_eq!(
            m.unified.as_ref().map(|u| u.0.clone()),
            Some(PathBuf::from("/sys/fs/cgroup/unified"))
        );
    }

    #[test]
    fn pure_v2_and_v1_layouts() {
        let v2 = "25 1 0:22 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n";
        assert_eq!(parse_mountinfo(v2).layout(), Some(Layout::V2));
        let v1 = "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n";
        let m = parse_mountinfo(v1);
        assert_eq!(m.layout(), Some(Layout::V1));
        assert!(m.v1_for("cpuacct").is_some());
        assert_eq!(parse_mountinfo("").layout(), None);
    }

    #[test]
    fn proc_cgroup_lines_parse() {
        let p = parse_proc_cgroup("4:memory:/a/b\n1:cpu,cpuacct:/\n0::/x\n");
        assert_eq!(p.len(), 3);
        assert_eq!(p[0].path, "/a/b");
        assert_eq!(
            p[1].controllers,
            vec!["cpu".to_string(), "cpuacct".to_string()]
        );
        assert_eq!(p[2].id, 0);
        assert!(p[2].controllers.is_empty());
    }

    #[test]
    fn machine_path_follows_libvirt_naming_and_escaping() {
        let c = vec!["cpu".to_string(), "memory".to_string()];
        assert_eq!(escape_component("web.libvirt-lxc", &c), "web.libvirt-lxc");
        assert_eq!(escape_component("cpu.libvirt-lxc", &c), "_cpu.libvirt-lxc");
        assert_eq!(escape_component("_x", &c), "__x");
        assert_eq!(escape_component("cgroup.x", &c), "_cgroup.x");
        assert_eq!(
            machine_relpath("/", "/machine", "web").ok().as_deref(),
            Some("/machine/web.libvirt-lxc")
        );
        assert_eq!(
            machine_relpath("/a/", "/machine/sub", "web")
                .ok()
                .as_deref(),
            Some("/a/machine/sub/web.libvirt-lxc")
        );
        assert_eq!(
            driver_relpath("/", "/machine", "qemu", "qemu-1-vm")
                .ok()
                .as_deref(),
            Some("/machine/qemu-1-vm.libvirt-qemu")
        );
        assert!(machine_relpath("/", "machine", "web").is_err());
        assert!(machine_relpath("/", "/machine", "a/b").is_err());
        assert!(machine_relpath("/", "/../x", "a").is_err());
    }

    #[test]
    fn mountinfo_escapes_are_decoded() {
        assert_eq!(unescape_mount_path("/a\\040b"), "/a b");
        assert_eq!(unescape_mount_path("/plain\\"), "/plain\\");
    }

    #[test]
    fn device_rules_render_like_the_kernel_expects() {
        let r = DeviceRule {
            kind: 'c',
            major: Some(1),
            minor: None,
            perms: "rwm",
        };
        assert_eq!(r.render(), "c 1:* rwm");
    }

    fn scratch(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("host-cg-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap_or_else(|e| panic!("{e}"));
        d
    }

    fn touch(dir: &Path, files: &[(&str, &str)]) {
        fs::create_dir_all(dir).unwrap_or_else(|e| panic!("{e}"));
        for (f, v) in files {
            fs::write(dir.join(f), v).unwrap_or_else(|e| panic!("{e}"));
        }
    }

    fn get(p: PathBuf) -> String {
        fs::read_to_string(p).unwrap_or_default()
    }

    fn limits() -> Limits {
        Limits {
            memory_kib: Some(1024),
            hard_limit_kib: None,
            soft_limit_kib: Some(512),
            swap_hard_limit_kib: Some(2048),
            cpu_shares: Some(512),
            cfs_period: None,
            cfs_quota: Some(50_000),
            cpuset_cpus: Some("0".into()),
            cpuset_mems: None,
            blkio_weight: Some(300),
            pids_max: Some(100),
        }
    }

    #[test]
    fn v1_limits_go_to_the_v1_files() {
        let d = scratch("v1");
        let ctl = |c: &str| (c.to_string(), d.join(c));
        touch(
            &d.join("memory"),
            &[
                ("memory.limit_in_bytes", ""),
                ("memory.soft_limit_in_bytes", ""),
                ("memory.memsw.limit_in_bytes", ""),
            ],
        );
        touch(
            &d.join("cpu"),
            &[("cpu.shares", ""), ("cpu.cfs_quota_us", "")],
        );
        touch(&d.join("cpuset"), &[("cpuset.cpus", "")]);
        touch(&d.join("blkio"), &[("blkio.bfq.weight", "")]);
        touch(&d.join("pids"), &[("pids.max", "")]);
        let cg = Cgroup {
            v1: vec![
                ctl("memory"),
                ctl("cpu"),
                ctl("cpuset"),
                ctl("blkio"),
                ctl("pids"),
            ],
            v2: None,
            v2_controllers: false,
            origin_v1: Vec::new(),
            origin_v2: None,
        };
        let warn = cg.apply_limits(&limits()).unwrap_or_else(|e| panic!("{e}"));
        assert!(warn.is_empty(), "{warn:?}");
        assert_eq!(get(d.join("memory/memory.limit_in_bytes")), "1048576");
        assert_eq!(get(d.join("memory/memory.soft_limit_in_bytes")), "524288");
        assert_eq!(get(d.join("memory/memory.memsw.limit_in_bytes")), "2097152");
        assert_eq!(get(d.join("cpu/cpu.shares")), "512");
        assert_eq!(get(d.join("cpu/cpu.cfs_quota_us")), "50000");
        assert_eq!(get(d.join("cpuset/cpuset.cpus")), "0");
        // Without blkio.weight the bfq file takes the weight.
        assert_eq!(get(d.join("blkio/blkio.bfq.weight")), "300");
        assert_eq!(get(d.join("pids/pids.max")), "100");
        let _ = fs::remove_dir_all(&d);
    }

    #[test]
    fn v2_limits_go_to_the_unified_files() {
        let d = scratch("v2");
        touch(
            &d,
            &[
                ("memory.max", ""),
                ("memory.high", ""),
                ("memory.swap.max", ""),
                ("cpu.weight", ""),
                ("cpu.max", "max 100000"),
                ("cpuset.cpus", ""),
                ("io.weight", ""),
                ("pids.max", ""),
            ],
        );
        let cg = Cgroup {
            v1: Vec::new(),
            v2: Some(d.clone()),
            v2_controllers: true,
            origin_v1: Vec::new(),
            origin_v2: None,
        };
        cg.apply_limits(&limits()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(get(d.join("memory.max")), "1048576");
        assert_eq!(get(d.join("memory.high")), "524288");
        assert_eq!(get(d.join("memory.swap.max")), "2097152");
        assert_eq!(get(d.join("cpu.weight")), "512");
        assert_eq!(get(d.join("cpu.max")), "50000 100000");
        assert_eq!(get(d.join("io.weight")), "default 300");
        assert_eq!(get(d.join("pids.max")), "100");
        // Device control on v2 needs a real cgroup2 directory: a plain one
        // is an error, never a silent skip.
        assert!(cg.set_devices(&[]).is_err());
        let _ = fs::remove_dir_all(&d);
    }
}

// SPDX-License-Identifier: LGPL-2.1-or-later
//! Privileged tests of the BPF device filter: a real group in the unified
//! hierarchy (`/sys/fs/cgroup` on a pure v2 host, `/sys/fs/cgroup/unified`
//! on a hybrid one, where the kernel enforces device programs just the
//! same), a child process moved into it, and the opens it may or may not
//! do. Each test says why it skips when it cannot run.

#![forbid(unsafe_code)]

use host::bpf_devices::{self, DeviceFilter};
use host::cgroup::DeviceRule;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A fresh group in the unified hierarchy, or why there cannot be one.
fn scratch_group(tag: &str) -> Result<Group, String> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let root = status
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .is_some_and(|l| l.split_whitespace().nth(2) == Some("0"));
    if !root {
        return Err("not running as root".into());
    }
    let mounts = host::cgroup::detect().map_err(|e| e.to_string())?;
    let Some((mount, _)) = mounts.unified else {
        return Err("no cgroup2 (unified) hierarchy mounted".into());
    };
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let dir = mount.join(format!("host-bpf-{tag}-{}-{n}", std::process::id()));
    std::fs::create_dir(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let group = Group { dir, child: None };
    match bpf_devices::unavailable_reason(&group.dir) {
        Ok(None) => Ok(group),
        Ok(Some(why)) => Err(why),
        Err(e) => Err(format!("BPF device programs unusable: {e}")),
    }
}

macro_rules! group_or_skip {
    ($tag:expr) => {
        match scratch_group($tag) {
            Ok(g) => g,
            Err(why) => {
                eprintln!("SKIP: {why}");
                return;
            }
        }
    };
}

/// A shell in the group that tries the devices each time it is asked.
struct Prober {
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

const PROBE: &str = r#"
while read cmd; do
  [ "$cmd" = quit ] && exit 0
  for d in /dev/null /dev/zero; do
    if msg=$( (exec 3<"$d") 2>&1 ); then echo "$d ok"; else echo "$d $msg"; fi
  done
  if msg=$(mknod "$NODE" c 1 7 2>&1); then echo "mknod ok"; rm -f "$NODE"; else echo "mknod $msg"; fi
  echo end
done
"#;

struct Group {
    dir: PathBuf,
    child: Option<Child>,
}

impl Group {
    /// Starts the prober and moves it into the group before it opens anything.
    fn prober(&mut self) -> Prober {
        let node = std::env::temp_dir().join(format!("host-bpf-node-{}", std::process::id()));
        let mut child = Command::new("/bin/sh")
            .arg("-c")
            .arg(PROBE)
            .env("NODE", &node)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("spawning /bin/sh: {e}"));
        std::fs::write(self.dir.join("cgroup.procs"), child.id().to_string())
            .unwrap_or_else(|e| panic!("moving the child into {}: {e}", self.dir.display()));
        let stdin = child.stdin.take().unwrap_or_else(|| panic!("no stdin"));
        let stdout = BufReader::new(child.stdout.take().unwrap_or_else(|| panic!("no stdout")));
        self.child = Some(child);
        Prober { stdin, stdout }
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = host::cgroup::remove_dirs(std::slice::from_ref(&self.dir));
    }
}

impl Prober {
    /// One round: what happened to /dev/null, /dev/zero and a mknod of c 1:7.
    fn probe(&mut self) -> (String, String, String) {
        self.stdin
            .write_all(b"go\n")
            .unwrap_or_else(|e| panic!("{e}"));
        let mut lines = Vec::new();
        loop {
            let mut l = String::new();
            let n = self
                .stdout
                .read_line(&mut l)
                .unwrap_or_else(|e| panic!("{e}"));
            assert!(n > 0, "prober died after {lines:?}");
            let l = l.trim_end().to_string();
            if l == "end" {
                break;
            }
            lines.push(l);
        }
        let pick = |p: &str| {
            lines
                .iter()
                .find_map(|l| l.strip_prefix(p))
                .unwrap_or_else(|| panic!("no '{p}' in {lines:?}"))
                .trim()
                .to_string()
        };
        (pick("/dev/null"), pick("/dev/zero"), pick("mknod"))
    }
}

fn denied(s: &str) -> bool {
    s.contains("Operation not permitted")
}

fn c(major: u32, minor: Option<u32>, perms: &'static str) -> DeviceRule {
    DeviceRule {
        kind: 'c',
        major: Some(major),
        minor,
        perms,
    }
}

#[test]
fn filter_allows_only_its_list_and_follows_map_updates() {
    let mut g = group_or_skip!("list");
    let mut f = DeviceFilter::attach(&g.dir).unwrap_or_else(|e| panic!("attach: {e}"));
    f.allow(&c(1, Some(3), "rwm"))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut p = g.prober();

    let (null, zero, mknod) = p.probe();
    assert_eq!(null, "ok");
    assert!(denied(&zero), "/dev/zero: {zero}");
    assert!(denied(&mknod), "mknod c 1:7: {mknod}");

    // A map update takes effect for the running task, no new program.
    let id = f.prog_id().unwrap_or_else(|e| panic!("{e}"));
    f.allow(&c(1, Some(5), "r"))
        .unwrap_or_else(|e| panic!("{e}"));
    let (null, zero, mknod) = p.probe();
    assert_eq!((null.as_str(), zero.as_str()), ("ok", "ok"));
    assert!(denied(&mknod), "mknod c 1:7: {mknod}");
    assert_eq!(f.prog_id().ok(), Some(id));

    // A wildcard minor grants mknod of any memory device.
    f.allow(&c(1, None, "m")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(p.probe().2, "ok");

    // Denying takes the permission back.
    f.deny(&c(1, Some(5), "r"))
        .unwrap_or_else(|e| panic!("{e}"));
    f.deny(&c(1, None, "m")).unwrap_or_else(|e| panic!("{e}"));
    let (null, zero, mknod) = p.probe();
    assert_eq!(null, "ok");
    assert!(denied(&zero), "/dev/zero: {zero}");
    assert!(denied(&mknod), "mknod c 1:7: {mknod}");
    let mut rules = f.rules().unwrap_or_else(|e| panic!("{e}"));
    rules.sort_by_key(|r| (r.major, r.minor));
    assert_eq!(rules, [c(1, Some(3), "rwm")]);

    // Detached, the group filters nothing.
    f.detach().unwrap_or_else(|e| panic!("{e}"));
    let (null, zero, mknod) = p.probe();
    assert_eq!(
        (null.as_str(), zero.as_str(), mknod.as_str()),
        ("ok", "ok", "ok")
    );
}

#[test]
fn a_later_open_reuses_the_attached_filter_and_growth_keeps_one_program() {
    let mut g = group_or_skip!("reuse");
    let ids = |d: &Path| bpf_devices::attached_programs(d).unwrap_or_else(|e| panic!("{e}"));
    let first = {
        let mut f = DeviceFilter::open(&g.dir).unwrap_or_else(|e| panic!("open: {e}"));
        f.set_rules(&[c(1, Some(3), "rwm")])
            .unwrap_or_else(|e| panic!("{e}"));
        f.prog_id().unwrap_or_else(|e| panic!("{e}"))
        // Dropped: our descriptors close, the program stays attached.
    };
    assert_eq!(ids(&g.dir), [first]);

    // What a restarted controller does: find the filter, not stack another.
    let found = DeviceFilter::find(&g.dir)
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("attached filter not found"));
    assert_eq!(found.prog_id().ok(), Some(first));
    assert_eq!(found.rules().ok(), Some(vec![c(1, Some(3), "rwm")]));
    drop(found);
    let mut f = DeviceFilter::open(&g.dir).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(f.prog_id().ok(), Some(first));
    assert_eq!(ids(&g.dir), [first]);

    // More entries than the map holds: a bigger map and a new program take
    // the old one's place.
    let many: Vec<DeviceRule> = (0..100)
        .map(|m| DeviceRule {
            kind: 'b',
            major: Some(200),
            minor: Some(m),
            perms: "r",
        })
        .chain([c(1, Some(3), "rwm")])
        .collect();
    f.set_rules(&many).unwrap_or_else(|e| panic!("{e}"));
    assert!(f.capacity() > bpf_devices::INITIAL_ENTRIES);
    let second = f.prog_id().unwrap_or_else(|e| panic!("{e}"));
    assert_ne!(second, first);
    assert_eq!(ids(&g.dir), [second]);
    assert_eq!(f.rules().map(|r| r.len()).ok(), Some(101));

    // And the grown filter still decides.
    let mut p = g.prober();
    let (null, zero, _) = p.probe();
    assert_eq!(null, "ok");
    assert!(denied(&zero), "/dev/zero: {zero}");
}

/// A machine group made through `host::cgroup` under a partition of its own.
struct Machine {
    cg: host::cgroup::Cgroup,
    probe: Group,
}

impl Machine {
    fn new(mounts: &host::cgroup::Mounts, tag: &str) -> Machine {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let partition = format!("/host-bpf-{tag}-{}-{n}", std::process::id());
        let cg = host::cgroup::Cgroup::resolve(mounts, 0, &partition, "m")
            .unwrap_or_else(|e| panic!("resolve: {e}"));
        let dir = cg
            .v2_dir()
            .unwrap_or_else(|| panic!("no unified group"))
            .to_path_buf();
        let m = Machine {
            cg,
            probe: Group { dir, child: None },
        };
        let warnings =
            m.cg.create(mounts)
                .unwrap_or_else(|e| panic!("create: {e}"));
        assert!(warnings.is_empty(), "{warnings:?}");
        m
    }
}

impl Drop for Machine {
    fn drop(&mut self) {
        if let Some(mut c) = self.probe.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let dirs = self.cg.all_dirs();
        let _ = host::cgroup::remove_dirs(&dirs);
        let parents: Vec<PathBuf> = dirs
            .iter()
            .filter_map(|d| d.parent().map(Path::to_path_buf))
            .collect();
        let _ = host::cgroup::remove_dirs(&parents);
    }
}

/// Root, a unified hierarchy and BPF device programs, or why not.
fn unified_mounts() -> Result<host::cgroup::Mounts, String> {
    // The scratch group answers root, mount and BPF questions at once.
    let g = scratch_group("probe")?;
    drop(g);
    host::cgroup::detect().map_err(|e| e.to_string())
}

#[test]
fn set_devices_on_the_unified_layout_attaches_one_filter_and_updates_it() {
    let mounts = match unified_mounts() {
        Ok(m) => m,
        Err(why) => {
            eprintln!("SKIP: {why}");
            return;
        }
    };
    // Seen as a pure v2 host: only the unified hierarchy, which then
    // carries device control by itself.
    let v2_only = host::cgroup::Mounts {
        v1: Vec::new(),
        unified: mounts.unified.clone(),
    };
    let mut m = Machine::new(&v2_only, "v2");
    assert!(m.cg.is_v2());
    let warnings =
        m.cg.set_devices(&[c(1, Some(3), "rwm"), c(1, Some(5), "r")])
            .unwrap_or_else(|e| panic!("{e}"));
    assert!(warnings.is_empty(), "{warnings:?}");
    let dir = m.probe.dir.clone();
    // Applied again with another list (a restarted controller): the same
    // program, the new list.
    let warnings =
        m.cg.set_devices(&[c(1, Some(3), "rwm")])
            .unwrap_or_else(|e| panic!("{e}"));
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(
        bpf_devices::attached_programs(&dir).map(|v| v.len()).ok(),
        Some(1)
    );
    let f = DeviceFilter::find(&dir)
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("no filter"));
    assert_eq!(f.rules().ok(), Some(vec![c(1, Some(3), "rwm")]));
    let mut p = m.probe.prober();
    let (null, zero, _) = p.probe();
    assert_eq!(null, "ok");
    assert!(denied(&zero), "/dev/zero: {zero}");
}

#[test]
fn set_devices_on_a_hybrid_host_fills_v1_and_the_unified_filter_alike() {
    let mounts = match unified_mounts() {
        Ok(m) => m,
        Err(why) => {
            eprintln!("SKIP: {why}");
            return;
        }
    };
    if mounts.layout() != Some(host::cgroup::Layout::Hybrid) || mounts.v1_for("devices").is_none() {
        eprintln!("SKIP: not a hybrid host with the v1 devices controller");
        return;
    }
    let m = Machine::new(&mounts, "hy");
    assert!(!m.cg.is_v2());
    let rules = [c(1, Some(3), "rwm"), c(136, None, "rwm")];
    let warnings = m.cg.set_devices(&rules).unwrap_or_else(|e| panic!("{e}"));
    assert!(warnings.is_empty(), "{warnings:?}");
    let v1 =
        m.cg.v1_dir("devices")
            .unwrap_or_else(|| panic!("no v1 devices group"));
    let list = std::fs::read_to_string(v1.join("devices.list")).unwrap_or_default();
    assert_eq!(
        list.lines().collect::<Vec<_>>(),
        ["c 1:3 rwm", "c 136:* rwm"]
    );
    let f = DeviceFilter::find(&m.probe.dir)
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("no filter on the unified group"));
    let mut got = f.rules().unwrap_or_else(|e| panic!("{e}"));
    got.sort_by_key(|r| (r.major, r.minor));
    assert_eq!(got, rules);
}

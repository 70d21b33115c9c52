// SPDX-License-Identifier: LGPL-2.1-or-later
//! Device access control on the unified (v2) cgroup hierarchy.
//!
//! cgroup v2 has no `devices` controller. The kernel instead asks the
//! `BPF_PROG_TYPE_CGROUP_DEVICE` programs attached to a task's group, and
//! to its ancestors, before every open or mknod of a device node; any
//! program answering 0 makes the call fail with `EPERM`. (On a hybrid host
//! these programs are asked first and the v1 `devices` controller after:
//! a device must pass both.)
//!
//! The filter here is libvirt's design: a small fixed program that looks
//! the device up in a hash map, so the allow-list changes without a new
//! program.
//!
//! - key, 64 bits: `major << 32 | minor`, with `0xffffffff` in either half
//!   standing for "any";
//! - value, 32 bits: permissions in the upper half (`m` = 1, `r` = 2,
//!   `w` = 4, the kernel's `BPF_DEVCG_ACC_*`) and device types in the
//!   lower half (block = 1, char = 2, `BPF_DEVCG_DEV_*`; both for `a`);
//! - the program builds the request the same way (`access << 16 | type`,
//!   as the kernel hands it in `bpf_cgroup_dev_ctx`) and allows it when
//!   one of the keys (major, minor), (major, any), (any, minor),
//!   (any, any) holds a value with every requested bit.
//!
//! An empty map denies everything.
//!
//! Where this differs from libvirt, deliberately:
//! - the program is attached with `BPF_F_ALLOW_MULTI` (libvirt passes no
//!   flag, which forbids any program in the subtree). Our program then
//!   keeps running for every sub-group, next to whatever is attached
//!   there, and a device must pass all of them: a nested manager inside
//!   the container (systemd) may add its own, narrower filters but cannot
//!   widen ours. Replacing the program (when the map grows) uses
//!   `BPF_F_REPLACE` rather than the implicit swap of a flagless attach;
//! - the program and map are named [`PROG_NAME`]; a restarted controller
//!   or daemon finds its filter through `BPF_PROG_QUERY` by that name and
//!   the map's shape instead of taking whatever program comes first, and
//!   reuses it rather than stacking a second one;
//! - `allow` adds permissions to an entry (like the v1 `devices.allow`)
//!   instead of overwriting it.
//!
//! The license string is "GPL", as libvirt passes: the kernel needs one,
//! and demands a GPL-compatible one only for GPL-only helpers, which this
//! program does not call (its one helper is `bpf_map_lookup_elem`).

use crate::bpf::{self, asm, Insn, Map};
use crate::cgroup::DeviceRule;
use crate::{Error, Result};
use std::collections::BTreeMap;
use std::fs::File;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

/// Name of the program and of its map, how we recognise our own filter.
pub const PROG_NAME: &str = "libvirt_devices";
/// Entries of a new map; it doubles when full (libvirt starts at 64 too).
pub const INITIAL_ENTRIES: u32 = 64;
const LICENSE: &str = "GPL";

/// Half of a key standing for any major or any minor.
pub const ANY: u32 = u32::MAX;

/// Access bits (`BPF_DEVCG_ACC_*`), in the upper half of a value.
const ACC_MKNOD: u32 = 1;
const ACC_READ: u32 = 2;
const ACC_WRITE: u32 = 4;
/// Type bits (`BPF_DEVCG_DEV_*`), in the lower half of a value.
const DEV_BLOCK: u32 = 1;
const DEV_CHAR: u32 = 2;
const ACC_MASK: u32 = 0xffff << 16;
const TYPE_MASK: u32 = 0xffff;

/// The map key of a device; `None` is the wildcard.
pub fn key(major: Option<u32>, minor: Option<u32>) -> Result<u64> {
    let half = |n: Option<u32>, what: &str| match n {
        Some(ANY) => Err(Error::Invalid(format!(
            "device {what} number {ANY} is reserved for 'any'"
        ))),
        Some(v) => Ok(u64::from(v)),
        None => Ok(u64::from(ANY)),
    };
    Ok(half(major, "major")? << 32 | half(minor, "minor")?)
}

/// The map value for a rule of type `kind` (`b`, `c` or `a`) and
/// permissions `perms` (any of `r`, `w`, `m`).
pub fn value(kind: char, perms: &str) -> Result<u32> {
    let types = match kind {
        'b' => DEV_BLOCK,
        'c' => DEV_CHAR,
        'a' => DEV_BLOCK | DEV_CHAR,
        other => return Err(Error::Invalid(format!("invalid device type '{other}'"))),
    };
    let mut acc = 0;
    for p in perms.chars() {
        acc |= match p {
            'r' => ACC_READ,
            'w' => ACC_WRITE,
            'm' => ACC_MKNOD,
            other => {
                return Err(Error::Invalid(format!(
                    "invalid device permission '{other}'"
                )))
            }
        };
    }
    if acc == 0 {
        return Err(Error::Invalid("device rule without permissions".into()));
    }
    Ok(acc << 16 | types)
}

/// Turns a map entry back into a rule; `None` for a value that grants nothing.
pub fn decode(key: u64, value: u32) -> Option<DeviceRule> {
    const PERMS: [&str; 8] = ["", "m", "r", "rm", "w", "wm", "rw", "rwm"];
    let kind = match value & TYPE_MASK {
        DEV_BLOCK => 'b',
        DEV_CHAR => 'c',
        t if t == DEV_BLOCK | DEV_CHAR => 'a',
        _ => return None,
    };
    let acc = (value >> 16) & 7;
    if acc == 0 {
        return None;
    }
    let half = |h: u64| u32::try_from(h & 0xffff_ffff).ok().filter(|&v| v != ANY);
    Some(DeviceRule {
        kind,
        major: half(key >> 32),
        minor: half(key),
        perms: PERMS[usize::try_from(acc).unwrap_or(0)],
    })
}

fn encode(rule: &DeviceRule) -> Result<(u64, u32)> {
    Ok((key(rule.major, rule.minor)?, value(rule.kind, rule.perms)?))
}

/// The filter program for the map `map_fd`. See the module documentation
/// for what it decides.
pub fn program(map_fd: i32) -> Vec<Insn> {
    use asm::*;
    // Offsets in struct bpf_cgroup_dev_ctx.
    const ACCESS_TYPE: i16 = 0;
    const MAJOR: i16 = 4;
    const MINOR: i16 = 8;
    let mut p = vec![
        mov64_reg(R6, R1),
        ldx_w(R7, R6, ACCESS_TYPE),
        ldx_w(R8, R6, MAJOR),
        ldx_w(R9, R6, MINOR),
    ];
    let mut to_allow = Vec::new();
    for (any_major, any_minor) in [(false, false), (false, true), (true, false), (true, true)] {
        // r1 = key of this probe, stored at fp-8; r2 = its address.
        p.push(if any_major {
            mov64_imm(R1, -1)
        } else {
            mov64_reg(R1, R8)
        });
        p.push(alu64_imm(LSH, R1, 32));
        p.push(if any_minor {
            mov32_imm(R2, -1)
        } else {
            mov64_reg(R2, R9)
        });
        p.push(alu64_reg(OR, R1, R2));
        p.push(stx_dw(R10, R1, -8));
        p.push(mov64_reg(R2, R10));
        p.push(alu64_imm(ADD, R2, -8));
        p.extend(ld_map_fd(R1, map_fd));
        p.push(call(FUNC_MAP_LOOKUP_ELEM));
        // No entry: on to the next probe, past the three checks below.
        p.push(jmp_imm(JEQ, R0, 0, 3));
        p.push(ldx_w(R1, R0, 0));
        p.push(alu64_reg(AND, R1, R7));
        to_allow.push(p.len());
        p.push(jmp_reg(JEQ, R1, R7, 0));
    }
    p.push(mov64_imm(R0, 0));
    p.push(exit());
    let allow = p.len();
    p.push(mov64_imm(R0, 1));
    p.push(exit());
    for at in to_allow {
        // Jumps count from the instruction after the jump; the program is
        // a few dozen instructions, far within i16.
        p[at].off = i16::try_from(allow - at - 1).unwrap_or(i16::MAX);
    }
    p
}

fn open_dir(dir: &Path) -> Result<OwnedFd> {
    File::open(dir)
        .map(OwnedFd::from)
        .map_err(|e| Error::sys(format!("opening cgroup {}", dir.display()), e))
}

/// Why device programs cannot be used on the cgroup2 directory `dir`:
/// `Ok(None)` when they can, `Ok(Some(reason))` when this kernel has no
/// cgroup BPF (no bpf(2), no `CONFIG_CGROUP_BPF`, no device attach type),
/// an error for anything else (not a cgroup2 directory, no privilege).
pub fn unavailable_reason(dir: &Path) -> Result<Option<String>> {
    let fd = open_dir(dir)?;
    match bpf::prog_query(fd.as_fd(), bpf::ATTACH_CGROUP_DEVICE) {
        Ok(_) => Ok(None),
        Err(e)
            if matches!(
                e.raw_os_error(),
                Some(libc::ENOSYS | libc::EINVAL | libc::EOPNOTSUPP)
            ) =>
        {
            Ok(Some(format!(
                "the kernel has no cgroup BPF device programs ({e})"
            )))
        }
        Err(e) => Err(Error::sys(
            format!("querying BPF programs of {}", dir.display()),
            e,
        )),
    }
}

/// Ids of the device programs attached directly to the cgroup `dir`.
pub fn attached_programs(dir: &Path) -> Result<Vec<u32>> {
    let fd = open_dir(dir)?;
    bpf::prog_query(fd.as_fd(), bpf::ATTACH_CGROUP_DEVICE)
        .map(|(ids, _)| ids)
        .map_err(|e| Error::sys(format!("querying BPF programs of {}", dir.display()), e))
}

/// A device filter attached to one cgroup2 directory. Dropping it closes
/// our descriptors only: the program stays attached (the cgroup holds it)
/// until [`DeviceFilter::detach`] or the group's removal.
#[derive(Debug)]
pub struct DeviceFilter {
    path: PathBuf,
    cgroup: OwnedFd,
    prog: OwnedFd,
    map: Map,
}

fn new_map(entries: u32) -> Result<Map> {
    Map::create(bpf::MAP_TYPE_HASH, 8, 4, entries, PROG_NAME).map_err(|e| {
        if e.raw_os_error() == Some(libc::EPERM) {
            // Kernels before 5.11 charge maps to RLIMIT_MEMLOCK.
            Error::Invalid(format!(
                "{e}; the locked memory limit (RLIMIT_MEMLOCK) probably needs to be raised"
            ))
        } else {
            e
        }
    })
}

fn load(map: &Map) -> Result<OwnedFd> {
    bpf::prog_load(
        bpf::PROG_TYPE_CGROUP_DEVICE,
        &program(map.as_fd().as_raw_fd()),
        LICENSE,
        PROG_NAME,
    )
}

/// Whether `map` has the shape of our map.
fn is_our_map(map: &Map) -> bool {
    let i = map.info();
    i.map_type == bpf::MAP_TYPE_HASH && i.key_size == 8 && i.value_size == 4 && i.name == PROG_NAME
}

/// Our programs among those attached directly to `cgroup`, each with its map.
fn find_ours(cgroup: &OwnedFd, dir: &Path) -> Result<Vec<(OwnedFd, Map)>> {
    let (ids, _) = bpf::prog_query(cgroup.as_fd(), bpf::ATTACH_CGROUP_DEVICE)
        .map_err(|e| Error::sys(format!("querying BPF programs of {}", dir.display()), e))?;
    let mut out = Vec::new();
    for id in ids {
        let prog = match bpf::prog_fd_by_id(id) {
            Ok(p) => p,
            // Detached and freed since the query.
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => continue,
            Err(e) => return Err(e),
        };
        let info = bpf::prog_info(prog.as_fd())?;
        if info.prog_type != bpf::PROG_TYPE_CGROUP_DEVICE
            || info.name != PROG_NAME
            || info.map_ids.len() != 1
        {
            continue;
        }
        let map = Map::from_fd(bpf::map_fd_by_id(info.map_ids[0])?)?;
        if is_our_map(&map) {
            out.push((prog, map));
        }
    }
    Ok(out)
}

impl DeviceFilter {
    /// Attaches a new, empty filter (everything denied) to the cgroup2
    /// directory `dir`, beside whatever is attached there already.
    pub fn attach(dir: &Path) -> Result<DeviceFilter> {
        let cgroup = open_dir(dir)?;
        let map = new_map(INITIAL_ENTRIES)?;
        let prog = load(&map)?;
        bpf::prog_attach(
            cgroup.as_fd(),
            prog.as_fd(),
            bpf::ATTACH_CGROUP_DEVICE,
            bpf::F_ALLOW_MULTI,
            None,
        )
        .map_err(|e| {
            Error::sys(
                format!("attaching the device filter to {}", dir.display()),
                e,
            )
        })?;
        Ok(DeviceFilter {
            path: dir.to_path_buf(),
            cgroup,
            prog,
            map,
        })
    }

    /// The filter attached to `dir` earlier (by this or another process),
    /// if there is one.
    pub fn find(dir: &Path) -> Result<Option<DeviceFilter>> {
        let cgroup = open_dir(dir)?;
        let found = find_ours(&cgroup, dir)?.into_iter().next();
        Ok(found.map(|(prog, map)| DeviceFilter {
            path: dir.to_path_buf(),
            cgroup,
            prog,
            map,
        }))
    }

    /// The filter of `dir`: the existing one when there is one (any
    /// duplicates of ours are detached), else a new, empty one.
    pub fn open(dir: &Path) -> Result<DeviceFilter> {
        let cgroup = open_dir(dir)?;
        let mut ours = find_ours(&cgroup, dir)?.into_iter();
        let Some((prog, map)) = ours.next() else {
            drop(cgroup);
            return DeviceFilter::attach(dir);
        };
        // Filters only narrow each other, so dropping extra copies never
        // opens a device the kept one denies.
        for (extra, _) in ours {
            bpf::prog_detach(cgroup.as_fd(), extra.as_fd(), bpf::ATTACH_CGROUP_DEVICE)?;
        }
        Ok(DeviceFilter {
            path: dir.to_path_buf(),
            cgroup,
            prog,
            map,
        })
    }

    /// The cgroup directory the filter is attached to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Kernel id of the program (as `BPF_PROG_QUERY` lists it).
    pub fn prog_id(&self) -> Result<u32> {
        Ok(bpf::prog_info(self.prog.as_fd())?.id)
    }

    /// How many entries the map holds at most before it is grown.
    pub fn capacity(&self) -> u32 {
        self.map.info().max_entries
    }

    fn entries(&self) -> Result<BTreeMap<u64, u32>> {
        let mut out = BTreeMap::new();
        let mut cur: Option<[u8; 8]> = None;
        let mut next = [0u8; 8];
        while self.map.next_key(cur.as_ref().map(|k| &k[..]), &mut next)? {
            let mut v = [0u8; 4];
            if self.map.lookup(&next, &mut v)? {
                out.insert(u64::from_ne_bytes(next), u32::from_ne_bytes(v));
            }
            cur = Some(next);
        }
        Ok(out)
    }

    fn get(&self, key: u64) -> Result<Option<u32>> {
        let mut v = [0u8; 4];
        Ok(self
            .map
            .lookup(&key.to_ne_bytes(), &mut v)?
            .then(|| u32::from_ne_bytes(v)))
    }

    /// Stores an entry, growing the map when it is full.
    fn put(&mut self, key: u64, value: u32) -> Result<()> {
        let k = key.to_ne_bytes();
        let v = value.to_ne_bytes();
        match self.map.update(&k, &v) {
            Err(e) if e.raw_os_error() == Some(libc::E2BIG) => {
                self.grow()?;
                self.map.update(&k, &v)
            }
            other => other,
        }
        .map_err(|e| Error::sys("updating the device filter map", e))
    }

    /// Moves the entries to a map twice as large, with a new program that
    /// takes the old one's place.
    fn grow(&mut self) -> Result<()> {
        let entries = self.entries()?;
        let size = self.capacity().saturating_mul(2);
        let map = new_map(size)?;
        for (k, v) in &entries {
            map.update(&k.to_ne_bytes(), &v.to_ne_bytes())
                .map_err(|e| Error::sys("copying the device filter map", e))?;
        }
        let prog = load(&map)?;
        let swapped = bpf::prog_attach(
            self.cgroup.as_fd(),
            prog.as_fd(),
            bpf::ATTACH_CGROUP_DEVICE,
            bpf::F_ALLOW_MULTI,
            Some(self.prog.as_fd()),
        );
        if let Err(e) = swapped {
            // Kernels before 5.6 lack BPF_F_REPLACE: attach, then detach
            // the old program. Both run in between, which only narrows.
            bpf::prog_attach(
                self.cgroup.as_fd(),
                prog.as_fd(),
                bpf::ATTACH_CGROUP_DEVICE,
                bpf::F_ALLOW_MULTI,
                None,
            )
            .map_err(|_| {
                Error::sys(
                    format!("replacing the device filter of {}", self.path.display()),
                    e,
                )
            })?;
            bpf::prog_detach(
                self.cgroup.as_fd(),
                self.prog.as_fd(),
                bpf::ATTACH_CGROUP_DEVICE,
            )?;
        }
        self.prog = prog;
        self.map = map;
        Ok(())
    }

    /// Grants `rule` in addition to what its entry already grants.
    pub fn allow(&mut self, rule: &DeviceRule) -> Result<()> {
        let (k, v) = encode(rule)?;
        let cur = self.get(k)?.unwrap_or(0);
        if cur | v != cur {
            self.put(k, cur | v)?;
        }
        Ok(())
    }

    /// Withdraws the permissions of `rule` from the entry with the same
    /// numbers (a wildcard entry is a different entry and still grants).
    /// One entry holds one set of permissions for its device types: a rule
    /// naming only some of them drops its permissions for all of them
    /// unless it takes everything a type had, in which case that type goes.
    pub fn deny(&mut self, rule: &DeviceRule) -> Result<()> {
        let (k, v) = encode(rule)?;
        let Some(cur) = self.get(k)? else {
            return Ok(());
        };
        let (cur_acc, cur_types) = (cur & ACC_MASK, cur & TYPE_MASK);
        let (acc, types) = (v & ACC_MASK, v & TYPE_MASK);
        let next = if cur_types & !types == 0 || cur_acc & !acc != 0 {
            // Every type of the entry is named, or some permission stays:
            // take the named permissions away.
            (cur_acc & !acc) | cur_types
        } else {
            // All the permissions of the named types go: drop those types.
            cur_acc | (cur_types & !types)
        };
        if next & ACC_MASK == 0 || next & TYPE_MASK == 0 {
            self.map.delete(&k.to_ne_bytes())?;
        } else if next != cur {
            self.put(k, next)?;
        }
        Ok(())
    }

    /// Makes the filter grant exactly `rules`. New grants are stored before
    /// stale ones are removed, so tasks already in the group never lose a
    /// device that both the old and the new list allow.
    pub fn set_rules(&mut self, rules: &[DeviceRule]) -> Result<()> {
        let mut want: BTreeMap<u64, u32> = BTreeMap::new();
        for r in rules {
            let (k, v) = encode(r)?;
            *want.entry(k).or_insert(0) |= v;
        }
        let have = self.entries()?;
        for (k, v) in &want {
            if have.get(k) != Some(v) {
                self.put(*k, *v)?;
            }
        }
        for k in have.keys().filter(|k| !want.contains_key(k)) {
            self.map.delete(&k.to_ne_bytes())?;
        }
        Ok(())
    }

    /// What the filter grants, one rule per map entry.
    pub fn rules(&self) -> Result<Vec<DeviceRule>> {
        Ok(self
            .entries()?
            .into_iter()
            .filter_map(|(k, v)| decode(k, v))
            .collect())
    }

    /// Detaches the program from its group: its devices are no longer
    /// filtered by it.
    pub fn detach(self) -> Result<()> {
        bpf::prog_detach(
            self.cgroup.as_fd(),
            self.prog.as_fd(),
            bpf::ATTACH_CGROUP_DEVICE,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn rule(kind: char, major: Option<u32>, minor: Option<u32>, perms: &'static str) -> DeviceRule {
        DeviceRule {
            kind,
            major,
            minor,
            perms,
        }
    }

    #[test]
    fn keys_pack_major_over_minor_with_all_ones_for_any() {
        assert_eq!(key(Some(1), Some(3)).ok(), Some(0x0000_0001_0000_0003));
        assert_eq!(key(Some(136), None).ok(), Some(0x0000_0088_ffff_ffff));
        assert_eq!(key(None, Some(5)).ok(), Some(0xffff_ffff_0000_0005));
        assert_eq!(key(None, None).ok(), Some(u64::MAX));
        assert!(key(Some(ANY), Some(1)).is_err());
    }

    #[test]
    fn values_put_permissions_high_and_types_low() {
        assert_eq!(value('c', "rwm").ok(), Some(7 << 16 | 2));
        assert_eq!(value('b', "r").ok(), Some(2 << 16 | 1));
        assert_eq!(value('a', "m").ok(), Some(1 << 16 | 3));
        assert!(value('x', "r").is_err());
        assert!(value('c', "rx").is_err());
        assert!(value('c', "").is_err());
    }

    #[test]
    fn entries_decode_back_into_rules() {
        for r in [
            rule('c', Some(1), Some(3), "rwm"),
            rule('b', Some(8), None, "r"),
            rule('a', None, None, "m"),
            rule('c', None, Some(7), "rw"),
        ] {
            let (k, v) = encode(&r).unwrap_or_default();
            assert_eq!(decode(k, v), Some(r));
        }
        assert_eq!(decode(0, 2), None);
        assert_eq!(decode(0, 7 << 16), None);
    }

    /// Runs the filter program on one request, with `map` standing in for
    /// the kernel's hash map: an interpreter for exactly the instructions
    /// the program uses.
    fn run(map: &HashMap<u64, u32>, access_type: u32, major: u32, minor: u32) -> u64 {
        const MAP_FD: i32 = 42;
        let prog = program(MAP_FD);
        let ctx = [access_type, major, minor];
        let mut r = [0u64; 11];
        let mut stack = 0u64; // the 8 bytes at fp-8
        let (ctx_ptr, fp, val_base) = (1u64 << 40, 2u64 << 40, 3u64 << 40);
        let mut looked_up: Option<u32> = None;
        r[1] = ctx_ptr;
        r[10] = fp;
        let mut pc = 0usize;
        for _ in 0..1000 {
            let i = prog[pc];
            let (d, s) = asm::regs_of(&i);
            let (d, s) = (usize::from(d), usize::from(s));
            let imm64 = i64::from(i.imm) as u64;
            let jump = |pc: usize, off: i16| (pc as i64 + 1 + i64::from(off)) as usize;
            pc = match i.code {
                0xbf => {
                    r[d] = r[s];
                    pc + 1
                }
                0xb7 => {
                    r[d] = imm64;
                    pc + 1
                }
                0xb4 => {
                    r[d] = u64::from(i.imm as u32);
                    pc + 1
                }
                0x67 => {
                    r[d] <<= i.imm;
                    pc + 1
                }
                0x07 => {
                    r[d] = r[d].wrapping_add(imm64);
                    pc + 1
                }
                0x4f => {
                    r[d] |= r[s];
                    pc + 1
                }
                0x5f => {
                    r[d] &= r[s];
                    pc + 1
                }
                0x61 => {
                    let at = r[s].wrapping_add(i64::from(i.off) as u64);
                    r[d] = if at >= ctx_ptr && at < ctx_ptr + 12 {
                        u64::from(ctx[((at - ctx_ptr) / 4) as usize])
                    } else if at == val_base {
                        u64::from(looked_up.unwrap_or_else(|| panic!("read of a null value")))
                    } else {
                        panic!("load from {at:#x} at {pc}")
                    };
                    pc + 1
                }
                0x7b => {
                    assert_eq!(r[d].wrapping_add(i64::from(i.off) as u64), fp - 8);
                    stack = r[s];
                    pc + 1
                }
                0x18 => {
                    assert_eq!((s, i.imm), (1, MAP_FD), "map load at {pc}");
                    r[d] = 0xdead;
                    pc + 2
                }
                0x85 => {
                    assert_eq!((i.imm, r[1], r[2]), (1, 0xdead, fp - 8));
                    looked_up = map.get(&stack).copied();
                    r[0] = if looked_up.is_some() { val_base } else { 0 };
                    // Caller-saved registers are clobbered by a call.
                    for x in &mut r[1..6] {
                        *x = 0xbad;
                    }
                    pc + 1
                }
                0x15 if r[d] == imm64 => jump(pc, i.off),
                0x1d if r[d] == r[s] => jump(pc, i.off),
                0x15 | 0x1d => pc + 1,
                0x95 => return r[0],
                c => panic!("unexpected opcode {c:#x} at {pc}"),
            };
        }
        panic!("program did not finish")
    }

    fn map_of(rules: &[DeviceRule]) -> HashMap<u64, u32> {
        let mut m = HashMap::new();
        for r in rules {
            let (k, v) = encode(r).unwrap_or_else(|e| panic!("{e}"));
            *m.entry(k).or_insert(0) |= v;
        }
        m
    }

    fn req(acc: u32, ty: u32) -> u32 {
        acc << 16 | ty
    }

    #[test]
    fn program_allows_exact_and_wildcard_entries_with_every_requested_bit() {
        let m = map_of(&[
            rule('c', Some(1), Some(3), "rwm"),
            rule('c', Some(136), None, "rw"),
            rule('b', None, Some(9), "r"),
            rule('a', None, None, "m"),
        ]);
        let c = DEV_CHAR;
        let b = DEV_BLOCK;
        // Exact entry.
        assert_eq!(run(&m, req(ACC_READ | ACC_WRITE, c), 1, 3), 1);
        // Same numbers, other type: only the all-wildcard mknod applies.
        assert_eq!(run(&m, req(ACC_READ, b), 1, 3), 0);
        assert_eq!(run(&m, req(ACC_MKNOD, b), 1, 3), 1);
        // Not listed.
        assert_eq!(run(&m, req(ACC_READ, c), 1, 5), 0);
        // (major, any).
        assert_eq!(run(&m, req(ACC_READ | ACC_WRITE, c), 136, 4), 1);
        // A requested bit the entry lacks.
        assert_eq!(run(&m, req(ACC_READ | ACC_WRITE | ACC_MKNOD, c), 136, 4), 0);
        // (any, minor).
        assert_eq!(run(&m, req(ACC_READ, b), 8, 9), 1);
        assert_eq!(run(&m, req(ACC_WRITE, b), 8, 9), 0);
        // (any, any).
        assert_eq!(run(&m, req(ACC_MKNOD, c), 4, 64), 1);
        // Empty map: nothing.
        assert_eq!(run(&HashMap::new(), req(ACC_READ, c), 1, 3), 0);
    }

    #[test]
    fn program_shape_is_stable() {
        let p = program(3);
        assert_eq!(p.len(), 4 + 4 * 14 + 4);
        assert_eq!(p.last().map(|i| i.code), Some(0x95));
    }
}

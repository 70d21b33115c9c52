// SPDX-License-Identifier: LGPL-2.1-or-later
//! The bpf(2) system call: the handful of commands a cgroup device filter
//! needs (maps, program load, cgroup attach/detach/query, objects by id,
//! object info) and an encoder for the instructions of a program.
//!
//! Every command takes its own `#[repr(C)]` attribute block, a prefix of
//! the kernel's `union bpf_attr` for that command with explicit padding,
//! so no byte handed to the kernel is uninitialised and later fields the
//! kernel might know stay zero (it rejects non-zero unknown tails).

use crate::{Error, Result};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

// Commands (enum bpf_cmd).
const MAP_CREATE: libc::c_int = 0;
const MAP_LOOKUP_ELEM: libc::c_int = 1;
const MAP_UPDATE_ELEM: libc::c_int = 2;
const MAP_DELETE_ELEM: libc::c_int = 3;
const MAP_GET_NEXT_KEY: libc::c_int = 4;
const PROG_LOAD: libc::c_int = 5;
const PROG_ATTACH: libc::c_int = 8;
const PROG_DETACH: libc::c_int = 9;
const PROG_GET_FD_BY_ID: libc::c_int = 13;
const MAP_GET_FD_BY_ID: libc::c_int = 14;
const OBJ_GET_INFO_BY_FD: libc::c_int = 15;
const PROG_QUERY: libc::c_int = 16;

/// `BPF_MAP_TYPE_HASH`.
pub const MAP_TYPE_HASH: u32 = 1;
/// `BPF_PROG_TYPE_CGROUP_DEVICE`.
pub const PROG_TYPE_CGROUP_DEVICE: u32 = 15;
/// `BPF_CGROUP_DEVICE`, the attach type of device programs.
pub const ATTACH_CGROUP_DEVICE: u32 = 6;
/// `BPF_F_ALLOW_MULTI`: programs of descendants run in addition to this one.
pub const F_ALLOW_MULTI: u32 = 1 << 1;
/// `BPF_F_REPLACE`: the attach swaps out the program named by `replace`.
pub const F_REPLACE: u32 = 1 << 2;

/// Longest object name the kernel stores (`BPF_OBJ_NAME_LEN` less the NUL).
pub const NAME_MAX: usize = 15;

/// A 16-byte object name, NUL padded; `name` must already be valid
/// (alphanumerics, `_` and `.`, at most [`NAME_MAX`] bytes).
fn obj_name(name: &str) -> Result<[u8; 16]> {
    let ok = name.len() <= NAME_MAX
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.');
    if !ok {
        return Err(Error::Invalid(format!("invalid BPF object name '{name}'")));
    }
    let mut out = [0u8; 16];
    out[..name.len()].copy_from_slice(name.as_bytes());
    Ok(out)
}

fn name_from(raw: &[u8; 16]) -> String {
    let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
    String::from_utf8_lossy(&raw[..end]).into_owned()
}

fn fd_u32(fd: BorrowedFd<'_>) -> u32 {
    // A borrowed fd is never negative.
    u32::try_from(fd.as_raw_fd()).unwrap_or(u32::MAX)
}

fn addr<T: ?Sized>(p: *const T) -> u64 {
    p.cast::<u8>() as usize as u64
}

#[repr(C)]
#[derive(Default)]
struct MapCreateAttr {
    map_type: u32,
    key_size: u32,
    value_size: u32,
    max_entries: u32,
    map_flags: u32,
    inner_map_fd: u32,
    numa_node: u32,
    map_name: [u8; 16],
}

#[repr(C, align(8))]
#[derive(Default)]
struct ElemAttr {
    map_fd: u32,
    pad: u32,
    key: u64,
    /// `value` or `next_key`, depending on the command.
    value: u64,
    flags: u64,
}

#[repr(C, align(8))]
#[derive(Default)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
}

#[repr(C)]
#[derive(Default)]
struct AttachAttr {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
    replace_bpf_fd: u32,
}

#[repr(C, align(8))]
#[derive(Default)]
struct QueryAttr {
    target_fd: u32,
    attach_type: u32,
    query_flags: u32,
    attach_flags: u32,
    prog_ids: u64,
    prog_cnt: u32,
    pad: u32,
}

#[repr(C)]
#[derive(Default)]
struct GetFdByIdAttr {
    id: u32,
    next_id: u32,
    open_flags: u32,
}

#[repr(C, align(8))]
#[derive(Default)]
struct InfoAttr {
    bpf_fd: u32,
    info_len: u32,
    info: u64,
}

/// The leading part of `struct bpf_prog_info`, up to the name.
#[repr(C, align(8))]
#[derive(Default)]
struct RawProgInfo {
    prog_type: u32,
    id: u32,
    tag: [u8; 8],
    jited_prog_len: u32,
    xlated_prog_len: u32,
    jited_prog_insns: u64,
    xlated_prog_insns: u64,
    load_time: u64,
    created_by_uid: u32,
    nr_map_ids: u32,
    map_ids: u64,
    name: [u8; 16],
}

/// The leading part of `struct bpf_map_info`, up to the name.
#[repr(C)]
#[derive(Default)]
struct RawMapInfo {
    map_type: u32,
    id: u32,
    key_size: u32,
    value_size: u32,
    max_entries: u32,
    map_flags: u32,
    name: [u8; 16],
}

// The sizes the kernel's layout gives these prefixes; a mismatch would
// shift every field after it.
const _: () = {
    assert!(std::mem::size_of::<MapCreateAttr>() == 44);
    assert!(std::mem::size_of::<ElemAttr>() == 32);
    assert!(std::mem::size_of::<ProgLoadAttr>() == 72);
    assert!(std::mem::size_of::<AttachAttr>() == 20);
    assert!(std::mem::size_of::<QueryAttr>() == 32);
    assert!(std::mem::size_of::<GetFdByIdAttr>() == 12);
    assert!(std::mem::size_of::<InfoAttr>() == 16);
    assert!(std::mem::size_of::<RawProgInfo>() == 80);
    assert!(std::mem::size_of::<RawMapInfo>() == 40);
    assert!(std::mem::size_of::<Insn>() == 8);
};

/// Issues `bpf(cmd, attr, sizeof *attr)`.
///
/// # Safety
/// `A` is one of the attribute blocks above (plain integers, no implicit
/// padding), and every address stored in `attr` points to memory that is
/// valid, for the whole call, for the reads and writes `cmd` makes there.
unsafe fn sys_bpf<A>(cmd: libc::c_int, attr: &mut A) -> io::Result<libc::c_long> {
    // SAFETY: attr is a live, initialised block of the size passed; what
    // the kernel does through the addresses inside it is the caller's
    // contract above.
    let r = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr as *mut A,
            std::mem::size_of::<A>() as libc::c_uint,
        )
    };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// Wraps a new descriptor the kernel returned.
fn owned_fd(r: libc::c_long, what: &str) -> Result<OwnedFd> {
    let fd = i32::try_from(r).map_err(|_| Error::Invalid(format!("{what}: fd out of range")))?;
    // SAFETY: the kernel just created this descriptor for us; nothing else
    // owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// A map together with its key and value sizes, which never change once
/// it exists: the element calls hand the kernel raw buffers that it sizes
/// from the map, so every buffer is checked against them first.
#[derive(Debug)]
pub struct Map {
    fd: OwnedFd,
    info: MapInfo,
}

impl Map {
    /// Creates a map (`BPF_MAP_CREATE`).
    pub fn create(
        map_type: u32,
        key_size: u32,
        value_size: u32,
        max_entries: u32,
        name: &str,
    ) -> Result<Map> {
        let mut attr = MapCreateAttr {
            map_type,
            key_size,
            value_size,
            max_entries,
            map_name: obj_name(name)?,
            ..Default::default()
        };
        // SAFETY: the map-create block holds no addresses.
        let r = unsafe { sys_bpf(MAP_CREATE, &mut attr) }
            .map_err(|e| Error::sys(format!("creating BPF map '{name}'"), e))?;
        Map::from_fd(owned_fd(r, "BPF_MAP_CREATE")?)
    }

    /// Wraps an open map, reading its sizes from the kernel.
    pub fn from_fd(fd: OwnedFd) -> Result<Map> {
        let info = map_info(fd.as_fd())?;
        Ok(Map { fd, info })
    }

    /// What the kernel reported about the map when it was opened.
    pub fn info(&self) -> &MapInfo {
        &self.info
    }

    /// The map's descriptor.
    pub fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    fn check(&self, key: usize, value: Option<usize>) -> io::Result<()> {
        let fits = |want: u32, have: usize| usize::try_from(want).is_ok_and(|w| w == have);
        if fits(self.info.key_size, key) && value.is_none_or(|v| fits(self.info.value_size, v)) {
            return Ok(());
        }
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "BPF map '{}' has {}-byte keys and {}-byte values",
                self.info.name, self.info.key_size, self.info.value_size
            ),
        ))
    }

    fn elem(&self, key: *const u8, value: u64) -> ElemAttr {
        ElemAttr {
            map_fd: fd_u32(self.fd.as_fd()),
            key: addr(key),
            value,
            ..Default::default()
        }
    }

    /// Looks `key` up; fills `value` and returns true when present.
    pub fn lookup(&self, key: &[u8], value: &mut [u8]) -> Result<bool> {
        self.check(key.len(), Some(value.len()))
            .map_err(|e| Error::sys("looking up a BPF map element", e))?;
        let mut attr = self.elem(key.as_ptr(), addr(value.as_mut_ptr()));
        // SAFETY: key and value are live buffers of exactly the map's key
        // and value sizes (checked above); the kernel reads the first and
        // writes the second.
        match unsafe { sys_bpf(MAP_LOOKUP_ELEM, &mut attr) } {
            Ok(_) => Ok(true),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(false),
            Err(e) => Err(Error::sys("looking up a BPF map element", e)),
        }
    }

    /// Inserts or replaces `key` (`BPF_ANY`). A full map answers `E2BIG`.
    pub fn update(&self, key: &[u8], value: &[u8]) -> io::Result<()> {
        self.check(key.len(), Some(value.len()))?;
        let mut attr = self.elem(key.as_ptr(), addr(value.as_ptr()));
        // SAFETY: key and value are live buffers of exactly the map's sizes
        // (checked above); the kernel only reads them.
        unsafe { sys_bpf(MAP_UPDATE_ELEM, &mut attr) }.map(drop)
    }

    /// Removes `key`; returns false when it was not there.
    pub fn delete(&self, key: &[u8]) -> Result<bool> {
        self.check(key.len(), None)
            .map_err(|e| Error::sys("deleting a BPF map element", e))?;
        let mut attr = self.elem(key.as_ptr(), 0);
        // SAFETY: key is a live buffer of exactly the map's key size
        // (checked above); the kernel only reads it.
        match unsafe { sys_bpf(MAP_DELETE_ELEM, &mut attr) } {
            Ok(_) => Ok(true),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(false),
            Err(e) => Err(Error::sys("deleting a BPF map element", e)),
        }
    }

    /// Writes the key after `key` (the first key for `None`) into `next`;
    /// false at the end of the map.
    pub fn next_key(&self, key: Option<&[u8]>, next: &mut [u8]) -> Result<bool> {
        let sized = self.check(next.len(), None).and_then(|()| match key {
            Some(k) => self.check(k.len(), None),
            None => Ok(()),
        });
        sized.map_err(|e| Error::sys("walking a BPF map", e))?;
        let mut attr = self.elem(
            key.map_or(std::ptr::null(), <[u8]>::as_ptr),
            addr(next.as_mut_ptr()),
        );
        // SAFETY: key (or null, meaning "first") and next are live buffers
        // of exactly the map's key size (checked above); the kernel reads
        // the first and writes the second.
        match unsafe { sys_bpf(MAP_GET_NEXT_KEY, &mut attr) } {
            Ok(_) => Ok(true),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(false),
            Err(e) => Err(Error::sys("walking a BPF map", e)),
        }
    }
}

/// Loads a program (`BPF_PROG_LOAD`). When the verifier refuses it, the
/// load is repeated with a log, whose end goes into the error.
pub fn prog_load(prog_type: u32, insns: &[Insn], license: &str, name: &str) -> Result<OwnedFd> {
    let license = crate::cstr(license)?;
    let insn_cnt =
        u32::try_from(insns.len()).map_err(|_| Error::Invalid("BPF program too long".into()))?;
    let load = |log: Option<&mut Vec<u8>>| -> Result<io::Result<libc::c_long>> {
        let mut attr = ProgLoadAttr {
            prog_type,
            insn_cnt,
            insns: addr(insns.as_ptr()),
            license: addr(license.as_ptr()),
            prog_name: obj_name(name)?,
            ..Default::default()
        };
        if let Some(buf) = log {
            attr.log_level = 1;
            attr.log_size = u32::try_from(buf.len()).unwrap_or(u32::MAX);
            attr.log_buf = addr(buf.as_mut_ptr());
        }
        // SAFETY: insns (insn_cnt entries) and the NUL-terminated license
        // are live for the call and only read; the log buffer, when given,
        // is live and log_size bytes long, and only written within that.
        Ok(unsafe { sys_bpf(PROG_LOAD, &mut attr) })
    };
    let e = match load(None)? {
        Ok(r) => return owned_fd(r, "BPF_PROG_LOAD"),
        Err(e) => e,
    };
    let mut log = vec![0u8; 64 * 1024];
    if let Ok(r) = load(Some(&mut log))? {
        // Whatever made the first attempt fail has passed.
        return owned_fd(r, "BPF_PROG_LOAD");
    }
    let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
    let text = String::from_utf8_lossy(&log[..end]);
    let mut tail: Vec<&str> = text.lines().rev().take(4).collect();
    tail.reverse();
    let context = if tail.is_empty() {
        format!("loading BPF program '{name}'")
    } else {
        format!(
            "loading BPF program '{name}' (verifier: {})",
            tail.join(" | ")
        )
    };
    Err(Error::sys(context, e))
}

/// Attaches `prog` to the cgroup directory `target` (`BPF_PROG_ATTACH`);
/// with `replace`, `F_REPLACE` swaps that program out in the same step.
pub fn prog_attach(
    target: BorrowedFd<'_>,
    prog: BorrowedFd<'_>,
    attach_type: u32,
    flags: u32,
    replace: Option<BorrowedFd<'_>>,
) -> io::Result<()> {
    let mut attr = AttachAttr {
        target_fd: fd_u32(target),
        attach_bpf_fd: fd_u32(prog),
        attach_type,
        attach_flags: flags | if replace.is_some() { F_REPLACE } else { 0 },
        replace_bpf_fd: replace.map_or(0, fd_u32),
    };
    // SAFETY: the attach block holds descriptors, no addresses.
    unsafe { sys_bpf(PROG_ATTACH, &mut attr) }.map(drop)
}

/// Detaches `prog` from the cgroup directory `target` (`BPF_PROG_DETACH`).
pub fn prog_detach(target: BorrowedFd<'_>, prog: BorrowedFd<'_>, attach_type: u32) -> Result<()> {
    let mut attr = AttachAttr {
        target_fd: fd_u32(target),
        attach_bpf_fd: fd_u32(prog),
        attach_type,
        ..Default::default()
    };
    // SAFETY: the detach block holds descriptors, no addresses.
    unsafe { sys_bpf(PROG_DETACH, &mut attr) }
        .map(drop)
        .map_err(|e| Error::sys("detaching a BPF program", e))
}

/// Ids of the programs attached directly to the cgroup directory `target`
/// (not inherited ones) and the cgroup's attach flags (`BPF_PROG_QUERY`).
pub fn prog_query(target: BorrowedFd<'_>, attach_type: u32) -> io::Result<(Vec<u32>, u32)> {
    let mut ids = vec![0u32; 16];
    loop {
        let mut attr = QueryAttr {
            target_fd: fd_u32(target),
            attach_type,
            prog_ids: addr(ids.as_mut_ptr()),
            prog_cnt: u32::try_from(ids.len()).unwrap_or(u32::MAX),
            ..Default::default()
        };
        // SAFETY: prog_ids points to prog_cnt live u32 slots the kernel
        // may fill; it writes no further.
        match unsafe { sys_bpf(PROG_QUERY, &mut attr) } {
            Ok(_) => {
                let n = usize::try_from(attr.prog_cnt)
                    .unwrap_or(usize::MAX)
                    .min(ids.len());
                ids.truncate(n);
                return Ok((ids, attr.attach_flags));
            }
            // More programs than slots: the count is in prog_cnt.
            Err(e) if e.raw_os_error() == Some(libc::ENOSPC) && ids.len() < 4096 => {
                let total = usize::try_from(attr.prog_cnt).unwrap_or(0);
                ids = vec![0u32; total.max(ids.len() * 2).min(4096)];
            }
            Err(e) => return Err(e),
        }
    }
}

fn get_fd_by_id(cmd: libc::c_int, id: u32, what: &str) -> Result<OwnedFd> {
    let mut attr = GetFdByIdAttr {
        id,
        ..Default::default()
    };
    // SAFETY: the get-by-id block holds no addresses.
    let r = unsafe { sys_bpf(cmd, &mut attr) }
        .map_err(|e| Error::sys(format!("opening BPF {what} {id}"), e))?;
    owned_fd(r, what)
}

/// Opens the program with id `id`.
pub fn prog_fd_by_id(id: u32) -> Result<OwnedFd> {
    get_fd_by_id(PROG_GET_FD_BY_ID, id, "program")
}

/// Opens the map with id `id`.
pub fn map_fd_by_id(id: u32) -> Result<OwnedFd> {
    get_fd_by_id(MAP_GET_FD_BY_ID, id, "map")
}

/// What the kernel tells about a loaded program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgInfo {
    /// `BPF_PROG_TYPE_*`.
    pub prog_type: u32,
    /// Kernel-wide id.
    pub id: u32,
    /// Name given at load time.
    pub name: String,
    /// Ids of the maps the program uses (the first eight).
    pub map_ids: Vec<u32>,
}

/// What the kernel tells about a map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapInfo {
    /// `BPF_MAP_TYPE_*`.
    pub map_type: u32,
    /// Kernel-wide id.
    pub id: u32,
    /// Key size in bytes.
    pub key_size: u32,
    /// Value size in bytes.
    pub value_size: u32,
    /// Capacity.
    pub max_entries: u32,
    /// Name given at creation.
    pub name: String,
}

/// `BPF_OBJ_GET_INFO_BY_FD` for a program.
pub fn prog_info(prog: BorrowedFd<'_>) -> Result<ProgInfo> {
    let mut map_ids = [0u32; 8];
    let mut info = RawProgInfo {
        nr_map_ids: 8,
        map_ids: addr(map_ids.as_mut_ptr()),
        ..Default::default()
    };
    let mut attr = InfoAttr {
        bpf_fd: fd_u32(prog),
        info_len: std::mem::size_of::<RawProgInfo>() as u32,
        info: addr(&mut info as *mut RawProgInfo),
    };
    // SAFETY: info is a live block of info_len bytes the kernel fills; its
    // map_ids points to nr_map_ids live u32 slots, the only other place
    // written (the instruction pointers are zero with zero lengths).
    unsafe { sys_bpf(OBJ_GET_INFO_BY_FD, &mut attr) }
        .map_err(|e| Error::sys("reading BPF program info", e))?;
    let n = usize::try_from(info.nr_map_ids)
        .unwrap_or(usize::MAX)
        .min(map_ids.len());
    Ok(ProgInfo {
        prog_type: info.prog_type,
        id: info.id,
        name: name_from(&info.name),
        map_ids: map_ids[..n].to_vec(),
    })
}

/// `BPF_OBJ_GET_INFO_BY_FD` for a map.
pub fn map_info(map: BorrowedFd<'_>) -> Result<MapInfo> {
    let mut info = RawMapInfo::default();
    let mut attr = InfoAttr {
        bpf_fd: fd_u32(map),
        info_len: std::mem::size_of::<RawMapInfo>() as u32,
        info: addr(&mut info as *mut RawMapInfo),
    };
    // SAFETY: info is a live block of info_len bytes the kernel fills; it
    // holds no addresses the kernel would follow.
    unsafe { sys_bpf(OBJ_GET_INFO_BY_FD, &mut attr) }
        .map_err(|e| Error::sys("reading BPF map info", e))?;
    Ok(MapInfo {
        map_type: info.map_type,
        id: info.id,
        key_size: info.key_size,
        value_size: info.value_size,
        max_entries: info.max_entries,
        name: name_from(&info.name),
    })
}

/// One BPF instruction (`struct bpf_insn`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insn {
    /// Opcode: class, size or operation, source.
    pub code: u8,
    /// Destination and source register nibbles.
    pub regs: u8,
    /// Signed offset (memory access, jump distance).
    pub off: i16,
    /// Immediate.
    pub imm: i32,
}

/// Instruction constructors for the subset of eBPF the device filter uses.
pub mod asm {
    use super::Insn;

    /// A register, r0 to r10.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Reg(pub u8);
    /// Return value and helper result.
    pub const R0: Reg = Reg(0);
    /// First argument; the context on entry.
    pub const R1: Reg = Reg(1);
    /// Second argument.
    pub const R2: Reg = Reg(2);
    /// Callee-saved.
    pub const R6: Reg = Reg(6);
    /// Callee-saved.
    pub const R7: Reg = Reg(7);
    /// Callee-saved.
    pub const R8: Reg = Reg(8);
    /// Callee-saved.
    pub const R9: Reg = Reg(9);
    /// Read-only frame pointer.
    pub const R10: Reg = Reg(10);

    // Classes.
    pub(crate) const LD: u8 = 0x00;
    pub(crate) const LDX: u8 = 0x01;
    pub(crate) const STX: u8 = 0x03;
    pub(crate) const ALU: u8 = 0x04;
    pub(crate) const JMP: u8 = 0x05;
    pub(crate) const ALU64: u8 = 0x07;
    // Sizes and modes.
    pub(crate) const W: u8 = 0x00;
    pub(crate) const DW: u8 = 0x18;
    pub(crate) const IMM: u8 = 0x00;
    pub(crate) const MEM: u8 = 0x60;
    // Source: immediate or register.
    pub(crate) const K: u8 = 0x00;
    pub(crate) const X: u8 = 0x08;
    /// ALU operations.
    pub const ADD: u8 = 0x00;
    /// Bitwise or.
    pub const OR: u8 = 0x40;
    /// Bitwise and.
    pub const AND: u8 = 0x50;
    /// Left shift.
    pub const LSH: u8 = 0x60;
    pub(crate) const MOV: u8 = 0xb0;
    /// Jump if equal.
    pub const JEQ: u8 = 0x10;
    pub(crate) const CALL: u8 = 0x80;
    pub(crate) const EXIT: u8 = 0x90;
    /// `BPF_PSEUDO_MAP_FD`: a 64-bit load whose immediate is a map fd.
    pub(crate) const PSEUDO_MAP_FD: u8 = 1;
    /// Helper `bpf_map_lookup_elem`.
    pub const FUNC_MAP_LOOKUP_ELEM: i32 = 1;

    /// The C bitfields `dst_reg:4, src_reg:4` fill a byte from its low end
    /// on little-endian targets and from its high end on big-endian ones.
    fn regs(dst: Reg, src: Reg) -> u8 {
        if cfg!(target_endian = "little") {
            (dst.0 & 0xf) | (src.0 << 4)
        } else {
            (dst.0 << 4) | (src.0 & 0xf)
        }
    }

    fn insn(code: u8, dst: Reg, src: Reg, off: i16, imm: i32) -> Insn {
        Insn {
            code,
            regs: regs(dst, src),
            off,
            imm,
        }
    }

    /// Splits the register byte back into (dst, src).
    pub fn regs_of(i: &Insn) -> (u8, u8) {
        if cfg!(target_endian = "little") {
            (i.regs & 0xf, i.regs >> 4)
        } else {
            (i.regs >> 4, i.regs & 0xf)
        }
    }

    /// `dst = src` (64 bits).
    pub fn mov64_reg(dst: Reg, src: Reg) -> Insn {
        insn(ALU64 | MOV | X, dst, src, 0, 0)
    }

    /// `dst = imm`, sign-extended to 64 bits.
    pub fn mov64_imm(dst: Reg, imm: i32) -> Insn {
        insn(ALU64 | MOV | K, dst, R0, 0, imm)
    }

    /// `dst = (u32)imm`: a 32-bit move clears the upper half.
    pub fn mov32_imm(dst: Reg, imm: i32) -> Insn {
        insn(ALU | MOV | K, dst, R0, 0, imm)
    }

    /// `dst op= imm` (64 bits).
    pub fn alu64_imm(op: u8, dst: Reg, imm: i32) -> Insn {
        insn(ALU64 | op | K, dst, R0, 0, imm)
    }

    /// `dst op= src` (64 bits).
    pub fn alu64_reg(op: u8, dst: Reg, src: Reg) -> Insn {
        insn(ALU64 | op | X, dst, src, 0, 0)
    }

    /// `dst = *(u32 *)(src + off)`.
    pub fn ldx_w(dst: Reg, src: Reg, off: i16) -> Insn {
        insn(LDX | W | MEM, dst, src, off, 0)
    }

    /// `*(u64 *)(dst + off) = src`.
    pub fn stx_dw(dst: Reg, src: Reg, off: i16) -> Insn {
        insn(STX | DW | MEM, dst, src, off, 0)
    }

    /// `dst = map` (a two-slot 64-bit load the kernel resolves to the map).
    pub fn ld_map_fd(dst: Reg, map_fd: i32) -> [Insn; 2] {
        [
            insn(LD | DW | IMM, dst, Reg(PSEUDO_MAP_FD), 0, map_fd),
            insn(0, R0, R0, 0, 0),
        ]
    }

    /// `if dst op imm goto +off`.
    pub fn jmp_imm(op: u8, dst: Reg, imm: i32, off: i16) -> Insn {
        insn(JMP | op | K, dst, R0, off, imm)
    }

    /// `if dst op src goto +off`.
    pub fn jmp_reg(op: u8, dst: Reg, src: Reg, off: i16) -> Insn {
        insn(JMP | op | X, dst, src, off, 0)
    }

    /// Calls helper `func`.
    pub fn call(func: i32) -> Insn {
        insn(JMP | CALL, R0, R0, 0, func)
    }

    /// Returns r0.
    pub fn exit() -> Insn {
        insn(JMP | EXIT, R0, R0, 0, 0)
    }
}

#[cfg(test)]
mod tests {
    use super::asm::*;
    use super::*;

    #[test]
    fn instructions_encode_like_the_kernel_uapi() {
        // Opcode bytes as llvm emits them for the same instructions.
        assert_eq!(mov64_reg(R6, R1).code, 0xbf);
        assert_eq!(mov64_imm(R0, 1).code, 0xb7);
        assert_eq!(mov32_imm(R2, -1).code, 0xb4);
        assert_eq!(ldx_w(R7, R6, 0).code, 0x61);
        assert_eq!(stx_dw(R10, R1, -8).code, 0x7b);
        assert_eq!(alu64_imm(LSH, R1, 32).code, 0x67);
        assert_eq!(alu64_imm(ADD, R2, -8).code, 0x07);
        assert_eq!(alu64_reg(OR, R1, R2).code, 0x4f);
        assert_eq!(alu64_reg(AND, R1, R7).code, 0x5f);
        assert_eq!(jmp_imm(JEQ, R0, 0, 3).code, 0x15);
        assert_eq!(jmp_reg(JEQ, R1, R7, 3).code, 0x1d);
        assert_eq!(call(FUNC_MAP_LOOKUP_ELEM).code, 0x85);
        assert_eq!(exit().code, 0x95);
        let [a, b] = ld_map_fd(R1, 7);
        assert_eq!((a.code, a.imm, b.code, b.imm), (0x18, 7, 0, 0));
        assert_eq!(regs_of(&a), (1, 1));
        assert_eq!(regs_of(&stx_dw(R10, R1, -8)), (10, 1));
        assert_eq!(stx_dw(R10, R1, -8).off, -8);
    }

    #[test]
    fn object_names_follow_the_kernel_rules() {
        assert!(obj_name("libvirt_devices").is_ok());
        assert!(obj_name("a.b_1").is_ok());
        assert!(obj_name("sixteen_chars_xx").is_err());
        assert!(obj_name("bad-name").is_err());
        let raw = obj_name("dev").unwrap_or_default();
        assert_eq!(name_from(&raw), "dev");
    }
}

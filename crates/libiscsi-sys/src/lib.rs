// SPDX-License-Identifier: LGPL-2.1-or-later
//! libiscsi for the storage driver's `iscsi-direct` pools, loaded at run
//! time.
//!
//! Role: the only crate of the project with `unsafe` for iSCSI. [`ffi`]
//! declares the few libiscsi 1.19 functions the pools use and the leading
//! fields of the structures they read; [`Session`] is the safe wrapper: a
//! logged-in connection to one target (or a discovery session to a
//! portal) that logs out and frees its context when dropped.
//!
//! Must not depend on: other project crates (errors are libiscsi's own
//! text; the storage driver words them as libvirt does).
//!
//! Invariants: every `unsafe` block states why it is sound (`// SAFETY:`);
//! a context is used by one thread at a time (a `Session` is `Send`, not
//! `Sync`) and destroyed exactly once; every SCSI task is freed exactly
//! once; strings cross as NUL-terminated copies.

use std::ffi::{c_int, c_void, CStr, CString};
use std::sync::OnceLock;

pub mod ffi;

/// The soname loaded: libiscsi 1.x, whose declarations [`ffi`] holds.
pub const LIBISCSI: &str = "libiscsi.so.7";

/// libiscsi, loaded once; the error says why it could not be.
pub fn library() -> Result<&'static ffi::LibIscsi, String> {
    static LIB: OnceLock<Result<ffi::LibIscsi, String>> = OnceLock::new();
    LIB.get_or_init(|| ffi::LibIscsi::load(LIBISCSI))
        .as_ref()
        .map_err(Clone::clone)
}

/// Whether libiscsi can be loaded on this host.
pub fn available() -> bool {
    library().is_ok()
}

/// What failed, and libiscsi's explanation (`iscsi_get_error`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// The step, in libvirt's words ("Failed to connect", ...).
    pub step: &'static str,
    /// libiscsi's text for the last error of the context.
    pub detail: String,
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.step, self.detail)
    }
}

impl std::error::Error for Error {}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// CHAP credentials of the initiator.
pub struct Chap<'a> {
    pub username: &'a str,
    pub password: &'a [u8],
}

/// How a session logs in.
pub enum Login<'a> {
    /// A normal session to `target` (its IQN).
    Target { target: &'a str },
    /// A discovery session (SendTargets).
    Discovery,
}

/// A LUN's size as READ CAPACITY(16) reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capacity {
    pub block_length: u32,
    /// The address of the last block (one less than the block count).
    pub returned_lba: u64,
}

/// An iSCSI context connected and logged in to a portal.
pub struct Session {
    lib: &'static ffi::LibIscsi,
    ctx: *mut ffi::IscsiContext,
    logged_in: bool,
}

// SAFETY: a libiscsi context has no thread affinity; it only must not be
// used by two threads at once, which `&mut self` on every call (and the
// absence of `Sync`) guarantees.
unsafe impl Send for Session {}

fn cstring(step: &'static str, s: &str) -> Result<CString> {
    CString::new(s).map_err(|_| Error {
        step,
        detail: "string contains a NUL byte".into(),
    })
}

/// A SCSI task returned by a synchronous call, freed on drop.
struct Task {
    lib: &'static ffi::LibIscsi,
    task: *mut ffi::ScsiTaskHead,
}

impl Task {
    fn head(&self) -> &ffi::ScsiTaskHead {
        // SAFETY: `task` is non-null (checked at construction) and points
        // to a live `struct scsi_task` whose first fields `ScsiTaskHead`
        // reproduces with C layout; it lives until `drop`.
        unsafe { &*self.task }
    }

    fn status(&self) -> c_int {
        self.head().status
    }

    /// The unmarshalled data-in of the task (owned by the task).
    fn unmarshall(&self) -> *mut c_void {
        // SAFETY: the task is live and completed; libiscsi allocates the
        // result inside the task's memory list, freed with it.
        unsafe { (self.lib.scsi_datain_unmarshall)(self.task) }
    }
}

impl Drop for Task {
    fn drop(&mut self) {
        // SAFETY: the task came from a libiscsi *_sync call and is freed
        // only here.
        unsafe { (self.lib.scsi_free_scsi_task)(self.task) }
    }
}

impl Session {
    /// Creates a context for `initiator`, sets CHAP when given, the
    /// transport, target and session type, connects to `portal`
    /// ("host:port") and logs in: libvirt's SetConnection sequence.
    pub fn connect(
        initiator: &str,
        portal: &str,
        login: Login<'_>,
        chap: Option<&Chap<'_>>,
    ) -> Result<Session> {
        let lib = library().map_err(|detail| Error {
            step: "Failed to load libiscsi",
            detail,
        })?;
        let iqn = cstring("Failed to create iscsi context", initiator)?;
        // SAFETY: `iqn` is a valid C string that outlives the call; the
        // context copies it.
        let ctx = unsafe { (lib.iscsi_create_context)(iqn.as_ptr()) };
        if ctx.is_null() {
            return Err(Error {
                step: "Failed to create iscsi context",
                detail: initiator.to_string(),
            });
        }
        let mut s = Session {
            lib,
            ctx,
            logged_in: false,
        };
        if let Some(c) = chap {
            let user = cstring("Failed to set credential", c.username)?;
            let pwd = CString::new(c.password.to_vec()).map_err(|_| Error {
                step: "Failed to set credential",
                detail: "secret contains a NUL byte".into(),
            })?;
            // SAFETY: the context is live; both strings are valid C
            // strings that libiscsi copies.
            let r =
                unsafe { (lib.iscsi_set_initiator_username_pwd)(ctx, user.as_ptr(), pwd.as_ptr()) };
            // The copy of the password is cleared before it is freed.
            let mut bytes = pwd.into_bytes();
            bytes.iter_mut().for_each(|b| *b = 0);
            s.check(r, "Failed to set credential")?;
        }
        // SAFETY: the context is live.
        let r = unsafe { (lib.iscsi_init_transport)(ctx, ffi::TCP_TRANSPORT) };
        s.check(r, "Failed to init transport")?;
        let session_type = match login {
            Login::Target { target } => {
                let t = cstring("Failed to set target name", target)?;
                // SAFETY: the context is live; the name is copied.
                let r = unsafe { (lib.iscsi_set_targetname)(ctx, t.as_ptr()) };
                s.check(r, "Failed to set target name")?;
                ffi::ISCSI_SESSION_NORMAL
            }
            Login::Discovery => ffi::ISCSI_SESSION_DISCOVERY,
        };
        // SAFETY: the context is live.
        let r = unsafe { (lib.iscsi_set_session_type)(ctx, session_type) };
        s.check(r, "Failed to set session type")?;
        let p = cstring("Failed to connect", portal)?;
        // SAFETY: the context is live; the portal string outlives the call.
        let r = unsafe { (lib.iscsi_connect_sync)(ctx, p.as_ptr()) };
        s.check(r, "Failed to connect")?;
        // SAFETY: the context is live and connected.
        let r = unsafe { (lib.iscsi_login_sync)(ctx) };
        s.check(r, "Failed to login")?;
        s.logged_in = true;
        Ok(s)
    }

    fn error(&self, step: &'static str) -> Error {
        // SAFETY: the context is live; the returned string belongs to it
        // and is copied before any other call.
        let p = unsafe { (self.lib.iscsi_get_error)(self.ctx) };
        let detail = if p.is_null() {
            String::new()
        } else {
            // SAFETY: libiscsi returns a NUL-terminated string.
            unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
        };
        Error { step, detail }
    }

    fn check(&self, r: c_int, step: &'static str) -> Result<()> {
        if r < 0 {
            Err(self.error(step))
        } else {
            Ok(())
        }
    }

    fn task(&self, t: *mut ffi::ScsiTaskHead, step: &'static str) -> Result<Task> {
        if t.is_null() {
            return Err(self.error(step));
        }
        Ok(Task {
            lib: self.lib,
            task: t,
        })
    }

    /// The target names a discovery session's SendTargets returns.
    pub fn discover(&mut self) -> Result<Vec<String>> {
        // SAFETY: the context is live and logged in.
        let list = unsafe { (self.lib.iscsi_discovery_sync)(self.ctx) };
        if list.is_null() {
            return Err(self.error("Failed to discover session"));
        }
        let mut names = Vec::new();
        let mut a = list;
        while !a.is_null() {
            // SAFETY: `a` is a node of the list libiscsi returned, alive
            // until it is freed below.
            let node = unsafe { &*a };
            if !node.target_name.is_null() {
                // SAFETY: target names are NUL-terminated strings.
                let n = unsafe { CStr::from_ptr(node.target_name) };
                names.push(n.to_string_lossy().into_owned());
            }
            a = node.next;
        }
        // SAFETY: the list came from iscsi_discovery_sync on this context
        // and is freed once.
        unsafe { (self.lib.iscsi_free_discovery_data)(self.ctx, list) };
        Ok(names)
    }

    /// The LUNs REPORT LUNS lists (asked again with the full size when
    /// the first 16 bytes were not enough, as libvirt does).
    pub fn report_luns(&mut self) -> Result<Vec<u16>> {
        const STEP: &str = "Failed to reportluns";
        // SAFETY: the context is live and logged in.
        let t = unsafe { (self.lib.iscsi_reportluns_sync)(self.ctx, 0, 16) };
        let mut task = self.task(t, STEP)?;
        let size = task.head().datain.size;
        // SAFETY: the task is live and completed.
        let full = unsafe { (task.lib.scsi_datain_getfullsize)(task.task) };
        if full > size {
            // SAFETY: as above.
            let t = unsafe { (self.lib.iscsi_reportluns_sync)(self.ctx, 0, full) };
            task = self.task(t, STEP)?;
        }
        let list = task.unmarshall().cast::<ffi::ScsiReportLunsList>();
        if list.is_null() {
            return Err(self.error("Failed to unmarshall reportluns"));
        }
        // SAFETY: libiscsi's unmarshalled list: a count followed by that
        // many 16-bit LUNs, in memory owned by the task (alive here).
        let luns = unsafe {
            let n = (*list).num as usize;
            let first = std::ptr::addr_of!((*list).luns).cast::<u16>();
            std::slice::from_raw_parts(first, n).to_vec()
        };
        Ok(luns)
    }

    /// TEST UNIT READY, retried with a growing pause (up to 30 s) while
    /// the target reports the unit attention of a bus reset.
    pub fn test_unit_ready(&mut self, lun: u16) -> Result<()> {
        const STEP: &str = "Failed testunitready";
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        let mut pause = std::time::Duration::from_millis(1);
        loop {
            // SAFETY: the context is live and logged in.
            let t = unsafe { (self.lib.iscsi_testunitready_sync)(self.ctx, c_int::from(lun)) };
            let task = self.task(t, STEP)?;
            let h = task.head();
            let (status, key, ascq) = (h.status, h.sense.key, h.sense.ascq);
            let resetting = status == ffi::SCSI_STATUS_CHECK_CONDITION
                && key == ffi::SCSI_SENSE_UNIT_ATTENTION
                && ascq == ffi::SCSI_SENSE_ASCQ_BUS_RESET;
            if resetting && std::time::Instant::now() < deadline {
                std::thread::sleep(pause);
                pause = (pause * 2).min(std::time::Duration::from_secs(1));
                continue;
            }
            if status != ffi::SCSI_STATUS_GOOD {
                return Err(self.error(STEP));
            }
            return Ok(());
        }
    }

    /// The peripheral device type of standard INQUIRY data.
    pub fn device_type(&mut self, lun: u16) -> Result<c_int> {
        const STEP: &str = "Failed to send inquiry command";
        // SAFETY: the context is live and logged in.
        let t = unsafe { (self.lib.iscsi_inquiry_sync)(self.ctx, c_int::from(lun), 0, 0, 64) };
        let task = self.task(t, STEP)?;
        if task.status() != ffi::SCSI_STATUS_GOOD {
            return Err(self.error(STEP));
        }
        let inq = task.unmarshall().cast::<ffi::ScsiInquiryStandardHead>();
        if inq.is_null() {
            return Err(self.error("Failed to unmarshall reply"));
        }
        // SAFETY: the unmarshalled standard inquiry data, owned by the
        // live task, begins with the fields of `ScsiInquiryStandardHead`.
        Ok(unsafe { (*inq).device_type })
    }

    /// READ CAPACITY(16) of a LUN.
    pub fn read_capacity16(&mut self, lun: u16) -> Result<Capacity> {
        const STEP: &str = "Failed to get capacity of lun";
        // SAFETY: the context is live and logged in.
        let t = unsafe { (self.lib.iscsi_readcapacity16_sync)(self.ctx, c_int::from(lun)) };
        let task = self.task(t, STEP)?;
        if task.status() != ffi::SCSI_STATUS_GOOD {
            return Err(self.error(STEP));
        }
        let rc = task.unmarshall().cast::<ffi::ScsiReadCapacity16Head>();
        if rc.is_null() {
            return Err(self.error("Failed to unmarshall reply"));
        }
        // SAFETY: the unmarshalled READ CAPACITY(16) data, owned by the
        // live task, begins with the fields of `ScsiReadCapacity16Head`.
        let (returned_lba, block_length) = unsafe { ((*rc).returned_lba, (*rc).block_length) };
        Ok(Capacity {
            block_length,
            returned_lba,
        })
    }

    /// The size of a LUN as libvirt computes it: INQUIRY, and for a
    /// direct-access device READ CAPACITY(16); other devices have none.
    pub fn lun_capacity(&mut self, lun: u16) -> Result<Option<Capacity>> {
        if self.device_type(lun)? != ffi::SCSI_INQUIRY_PERIPHERAL_DEVICE_TYPE_DIRECT_ACCESS {
            return Ok(None);
        }
        self.read_capacity16(lun).map(Some)
    }

    /// WRITE(16) of `data` (whole blocks of `block_size`) at `lba`.
    pub fn write16(&mut self, lun: u16, lba: u64, data: &mut [u8], block_size: u32) -> Result<()> {
        const STEP: &str = "failed to write";
        let (Ok(len), Ok(bs)) = (u32::try_from(data.len()), c_int::try_from(block_size)) else {
            return Err(Error {
                step: STEP,
                detail: "transfer too large".into(),
            });
        };
        // SAFETY: the context is live and logged in; `data` is valid for
        // `len` bytes for the duration of the synchronous call (libiscsi
        // only reads it).
        let t = unsafe {
            (self.lib.iscsi_write16_sync)(
                self.ctx,
                c_int::from(lun),
                lba,
                data.as_mut_ptr(),
                len,
                bs,
                0,
                0,
                0,
                0,
                0,
            )
        };
        let task = self.task(t, STEP)?;
        if task.status() != ffi::SCSI_STATUS_GOOD {
            return Err(self.error(STEP));
        }
        Ok(())
    }

    /// Logs out and disconnects (libvirt's Disconnect); the context is
    /// destroyed when the session is dropped.
    pub fn logout(mut self) -> Result<()> {
        self.logout_inner()
    }

    fn logout_inner(&mut self) -> Result<()> {
        if !self.logged_in {
            return Ok(());
        }
        self.logged_in = false;
        // SAFETY: the context is live and logged in.
        let r = unsafe { (self.lib.iscsi_logout_sync)(self.ctx) };
        self.check(r, "Failed to logout")?;
        // SAFETY: the context is live.
        let r = unsafe { (self.lib.iscsi_disconnect)(self.ctx) };
        self.check(r, "Failed to disconnect")
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = self.logout_inner();
        // SAFETY: the context was created by iscsi_create_context and is
        // destroyed only here.
        unsafe { (self.lib.iscsi_destroy_context)(self.ctx) };
    }
}

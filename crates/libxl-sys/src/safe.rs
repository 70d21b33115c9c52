// SPDX-License-Identifier: LGPL-2.1-or-later
//! A safe wrapper over the parts of libxl the driver uses.

use crate::ffi;
use std::collections::HashMap;
use std::ffi::{CStr, CString};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::ptr;
use std::sync::Mutex;

/// A libxl error: the call and libxl's return code (ERROR_* values).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LibxlError {
    /// The libxl function that failed.
    pub call: &'static str,
    /// libxl's return code.
    pub code: i32,
}

impl std::fmt::Display for LibxlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} failed (libxl error {})", self.call, self.code)
    }
}

impl std::error::Error for LibxlError {}

/// Result of a wrapper call.
pub type Result<T> = std::result::Result<T, LibxlError>;

fn check(call: &'static str, rc: i32) -> Result<()> {
    if rc == 0 {
        Ok(())
    } else {
        Err(LibxlError { call, code: rc })
    }
}

/// Host facts from libxl_get_physinfo.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PhysInfo {
    /// Threads per core.
    pub threads_per_core: u32,
    /// Cores per socket.
    pub cores_per_socket: u32,
    /// Highest physical CPU number + 1.
    pub max_cpu_id: u32,
    /// Online physical CPUs.
    pub nr_cpus: u32,
    /// CPU frequency (kHz).
    pub cpu_khz: u32,
    /// Total memory in pages.
    pub total_pages: u64,
    /// Free memory in pages.
    pub free_pages: u64,
    /// NUMA nodes.
    pub nr_nodes: u32,
    /// HVM guests are possible.
    pub cap_hvm: bool,
    /// PV guests are possible.
    pub cap_pv: bool,
    /// Hardware-assisted paging is available.
    pub cap_hap: bool,
}

/// Xen's version information (libxl_get_version_info).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VersionInfo {
    /// Major version.
    pub major: i32,
    /// Minor version.
    pub minor: i32,
    /// Extra version string (".7", "-rc1").
    pub extra: String,
    /// Xen's capabilities string ("xen-3.0-x86_64 hvm-3.0-x86_64 ...").
    pub capabilities: String,
    /// Xen's boot command line.
    pub commandline: String,
    /// Page size in bytes.
    pub pagesize: u64,
}

/// One running domain (libxl_dominfo).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DomInfo {
    /// Domain id.
    pub domid: u32,
    /// UUID bytes.
    pub uuid: [u8; 16],
    /// Current memory (KiB).
    pub current_memkb: u64,
    /// Maximum memory (KiB).
    pub max_memkb: u64,
    /// CPU time (ns).
    pub cpu_time: u64,
    /// Online vCPUs.
    pub vcpu_online: u32,
    /// Highest vCPU id.
    pub vcpu_max_id: u32,
    /// Running.
    pub running: bool,
    /// Blocked.
    pub blocked: bool,
    /// Paused.
    pub paused: bool,
    /// Shut down.
    pub shutdown: bool,
    /// Dying.
    pub dying: bool,
    /// Shutdown reason code when shut down.
    pub shutdown_reason: i32,
}

/// A libxl context with its logger.
pub struct Ctx {
    /// The loaded libxenlight.
    lib: &'static ffi::LibXl,
    ctx: *mut ffi::libxl_ctx,
    logger: *mut ffi::xentoollog_logger_stdiostream,
    /// Domain-death event generators by domain id (pointers kept as
    /// integers so the map is `Send`); each is disabled exactly once.
    death_watches: Mutex<HashMap<u32, usize>>,
}

// SAFETY: libxl contexts are safe to use from several threads (libxl takes
// its own lock around each call, see libxl.h "Threadsafety"); the pointers
// are only freed in Drop.
unsafe impl Send for Ctx {}
// SAFETY: as above; every method takes &self and libxl serialises calls.
unsafe impl Sync for Ctx {}

impl Ctx {
    /// Allocates a context (libxl_ctx_alloc) logging errors to stderr.
    /// Fails when libxenlight cannot be loaded ([`crate::library`]) or
    /// when not running in a Xen dom0.
    pub fn new() -> Result<Ctx> {
        let lib = crate::library().map_err(|_| LibxlError {
            call: "dlopen",
            code: -1,
        })?;
        // SAFETY: fdopen on a dup of fd 2 gives a FILE* we own; a NULL
        // return is checked.
        let stream = unsafe {
            let fd = libc::dup(2);
            if fd < 0 {
                return Err(LibxlError {
                    call: "dup",
                    code: -1,
                });
            }
            let f = libc::fdopen(fd, c"w".as_ptr());
            if f.is_null() {
                libc::close(fd);
                return Err(LibxlError {
                    call: "fdopen",
                    code: -1,
                });
            }
            f
        };
        // SAFETY: the stream is valid for the logger's lifetime (never
        // closed by us); XTL_ERROR is a valid level.
        let logger = unsafe {
            lib.xtl_createlogger_stdiostream(stream.cast(), ffi::xentoollog_level_XTL_ERROR, 0)
        };
        if logger.is_null() {
            return Err(LibxlError {
                call: "xtl_createlogger_stdiostream",
                code: -1,
            });
        }
        let mut ctx: *mut ffi::libxl_ctx = ptr::null_mut();
        // SAFETY: ctx is an out-pointer; the logger outlives the context
        // (both are released together in Drop).
        let rc = unsafe {
            lib.libxl_ctx_alloc(
                &mut ctx,
                ffi::LIBXL_VERSION as i32,
                0,
                logger.cast::<ffi::xentoollog_logger>(),
            )
        };
        if rc != 0 || ctx.is_null() {
            // SAFETY: the logger was created above and is not used again.
            unsafe { lib.xtl_logger_destroy(logger.cast::<ffi::xentoollog_logger>()) };
            return Err(LibxlError {
                call: "libxl_ctx_alloc",
                code: rc,
            });
        }
        Ok(Ctx {
            lib,
            ctx,
            logger,
            death_watches: Mutex::new(HashMap::new()),
        })
    }

    /// Host physical information.
    pub fn physinfo(&self) -> Result<PhysInfo> {
        let mut p = ffi::libxl_physinfo::default();
        // SAFETY: p is a valid, initialised libxl_physinfo; it is disposed
        // after its plain fields are copied.
        unsafe {
            self.lib.libxl_physinfo_init(&mut p);
            let rc = self.lib.libxl_get_physinfo(self.ctx, &mut p);
            let out = PhysInfo {
                threads_per_core: p.threads_per_core,
                cores_per_socket: p.cores_per_socket,
                max_cpu_id: p.max_cpu_id,
                nr_cpus: p.nr_cpus,
                cpu_khz: p.cpu_khz,
                total_pages: p.total_pages,
                free_pages: p.free_pages,
                nr_nodes: p.nr_nodes,
                cap_hvm: p.cap_hvm,
                cap_pv: p.cap_pv,
                cap_hap: p.cap_hap,
            };
            self.lib.libxl_physinfo_dispose(&mut p);
            check("libxl_get_physinfo", rc)?;
            Ok(out)
        }
    }

    /// Xen's version information.
    pub fn version_info(&self) -> Result<VersionInfo> {
        // SAFETY: the returned pointer is owned by the context and valid
        // while it lives; strings are copied out.
        unsafe {
            let v = self.lib.libxl_get_version_info(self.ctx);
            if v.is_null() {
                return Err(LibxlError {
                    call: "libxl_get_version_info",
                    code: -1,
                });
            }
            let v = &*v;
            Ok(VersionInfo {
                major: v.xen_version_major,
                minor: v.xen_version_minor,
                extra: cstr(v.xen_version_extra),
                capabilities: cstr(v.capabilities),
                commandline: cstr(v.commandline),
                pagesize: u64::try_from(v.pagesize).unwrap_or(4096),
            })
        }
    }

    /// Every domain Xen knows, dom0 included.
    pub fn list_domains(&self) -> Result<Vec<DomInfo>> {
        let mut n: i32 = 0;
        // SAFETY: libxl returns an array of n entries or NULL; it is freed
        // with libxl_dominfo_list_free after copying.
        unsafe {
            let list = self.lib.libxl_list_domain(self.ctx, &mut n);
            if list.is_null() {
                return Err(LibxlError {
                    call: "libxl_list_domain",
                    code: -1,
                });
            }
            let len = usize::try_from(n).unwrap_or(0);
            let out = std::slice::from_raw_parts(list, len)
                .iter()
                .map(dominfo)
                .collect();
            self.lib.libxl_dominfo_list_free(list, n);
            Ok(out)
        }
    }

    /// One domain's state.
    pub fn domain_info(&self, domid: u32) -> Result<DomInfo> {
        let mut d = ffi::libxl_dominfo::default();
        // SAFETY: d is initialised, filled by libxl and disposed once.
        unsafe {
            self.lib.libxl_dominfo_init(&mut d);
            let rc = self.lib.libxl_domain_info(self.ctx, &mut d, domid);
            let out = dominfo(&d);
            self.lib.libxl_dominfo_dispose(&mut d);
            check("libxl_domain_info", rc)?;
            Ok(out)
        }
    }

    /// Creates and starts a domain from libxl's JSON domain configuration
    /// (libxl_domain_config_from_json + libxl_domain_create_new); returns
    /// its id.
    pub fn domain_create_from_json(&self, json: &str) -> Result<u32> {
        let cjson = CString::new(json).map_err(|_| LibxlError {
            call: "libxl_domain_config_from_json",
            code: -1,
        })?;
        let mut cfg = ffi::libxl_domain_config::default();
        let mut domid: u32 = 0;
        // SAFETY: cfg is initialised before use and disposed once; the
        // JSON string lives across the call; NULL ao_how makes the call
        // synchronous and NULL console_how means no console wait.
        unsafe {
            self.lib.libxl_domain_config_init(&mut cfg);
            let rc = self
                .lib
                .libxl_domain_config_from_json(self.ctx, &mut cfg, cjson.as_ptr());
            if rc != 0 {
                self.lib.libxl_domain_config_dispose(&mut cfg);
                return Err(LibxlError {
                    call: "libxl_domain_config_from_json",
                    code: rc,
                });
            }
            let rc = self.lib.libxl_domain_create_new(
                self.ctx,
                &mut cfg,
                &mut domid,
                ptr::null(),
                ptr::null(),
            );
            self.lib.libxl_domain_config_dispose(&mut cfg);
            check("libxl_domain_create_new", rc)?;
        }
        Ok(domid)
    }

    /// Destroys a domain at once.
    pub fn domain_destroy(&self, domid: u32) -> Result<()> {
        // SAFETY: plain call; NULL ao_how = synchronous.
        check("libxl_domain_destroy", unsafe {
            self.lib.libxl_domain_destroy(self.ctx, domid, ptr::null())
        })
    }

    /// Asks a domain to shut down.
    pub fn domain_shutdown(&self, domid: u32) -> Result<()> {
        // SAFETY: plain call; NULL ao_how = synchronous.
        check("libxl_domain_shutdown", unsafe {
            self.lib.libxl_domain_shutdown(self.ctx, domid, ptr::null())
        })
    }

    /// Asks a domain to reboot.
    pub fn domain_reboot(&self, domid: u32) -> Result<()> {
        // SAFETY: plain call; NULL ao_how = synchronous.
        check("libxl_domain_reboot", unsafe {
            self.lib.libxl_domain_reboot(self.ctx, domid, ptr::null())
        })
    }

    /// Pauses a domain.
    pub fn domain_pause(&self, domid: u32) -> Result<()> {
        // SAFETY: plain call; NULL ao_how = synchronous.
        check("libxl_domain_pause", unsafe {
            self.lib.libxl_domain_pause(self.ctx, domid, ptr::null())
        })
    }

    /// Unpauses a domain.
    pub fn domain_unpause(&self, domid: u32) -> Result<()> {
        // SAFETY: plain call; NULL ao_how = synchronous.
        check("libxl_domain_unpause", unsafe {
            self.lib.libxl_domain_unpause(self.ctx, domid, ptr::null())
        })
    }

    /// Sets a domain's balloon target (KiB), waiting for nothing.
    pub fn set_memory_target(&self, domid: u32, target_kib: u64) -> Result<()> {
        let t = i64::try_from(target_kib).map_err(|_| LibxlError {
            call: "libxl_set_memory_target",
            code: -1,
        })?;
        // SAFETY: plain call with scalar arguments.
        check("libxl_set_memory_target", unsafe {
            self.lib.libxl_set_memory_target(self.ctx, domid, t, 0, 1)
        })
    }

    /// Brings vCPUs 0..n online and the rest offline.
    pub fn set_vcpus_online(&self, domid: u32, max: u32, n: u32) -> Result<()> {
        let mut bm = ffi::libxl_bitmap::default();
        let max_i = i32::try_from(max).unwrap_or(i32::MAX);
        // SAFETY: the bitmap is initialised, sized by libxl for `max` CPUs,
        // only bits below that are set, and disposed once.
        unsafe {
            self.lib.libxl_bitmap_init(&mut bm);
            let rc = self.lib.libxl_cpu_bitmap_alloc(self.ctx, &mut bm, max_i);
            if rc != 0 {
                self.lib.libxl_bitmap_dispose(&mut bm);
                return Err(LibxlError {
                    call: "libxl_cpu_bitmap_alloc",
                    code: rc,
                });
            }
            for i in 0..n.min(max) {
                self.lib
                    .libxl_bitmap_set(&mut bm, i32::try_from(i).unwrap_or(0));
            }
            let rc = self
                .lib
                .libxl_set_vcpuonline(self.ctx, domid, &mut bm, ptr::null());
            self.lib.libxl_bitmap_dispose(&mut bm);
            check("libxl_set_vcpuonline", rc)
        }
    }
    /// Sets a domain's maximum memory (KiB, libxl_domain_setmaxmem).
    pub fn set_max_memory(&self, domid: u32, max_kib: u64) -> Result<()> {
        // SAFETY: plain call with scalar arguments.
        check("libxl_domain_setmaxmem", unsafe {
            self.lib.libxl_domain_setmaxmem(self.ctx, domid, max_kib)
        })
    }

    /// Saves a running domain's memory and device state into `fd` at its
    /// current position (libxl_domain_suspend). The domain is left
    /// suspended; the caller destroys it (or resumes it on failure).
    pub fn domain_suspend_to_fd(&self, domid: u32, fd: BorrowedFd<'_>) -> Result<()> {
        // SAFETY: fd stays open for the whole (synchronous, NULL ao_how)
        // call; flags 0 asks for a plain, non-live save.
        check("libxl_domain_suspend", unsafe {
            self.lib
                .libxl_domain_suspend(self.ctx, domid, fd.as_raw_fd(), 0, ptr::null())
        })
    }

    /// Resumes a domain whose save failed (libxl_domain_resume,
    /// cooperative).
    pub fn domain_resume_after_suspend(&self, domid: u32) -> Result<()> {
        // SAFETY: plain call; NULL ao_how = synchronous.
        check("libxl_domain_resume", unsafe {
            self.lib
                .libxl_domain_resume(self.ctx, domid, 1, ptr::null())
        })
    }

    /// Creates a domain from libxl's JSON configuration and the saved
    /// state read from `fd` at its current position
    /// (libxl_domain_create_restore, migration stream v2). The domain is
    /// left paused; returns its id.
    pub fn domain_restore_from_json(&self, json: &str, fd: BorrowedFd<'_>) -> Result<u32> {
        let cjson = CString::new(json).map_err(|_| LibxlError {
            call: "libxl_domain_config_from_json",
            code: -1,
        })?;
        let mut cfg = ffi::libxl_domain_config::default();
        let mut params = ffi::libxl_domain_restore_params::default();
        let mut domid: u32 = 0;
        // SAFETY: cfg and params are initialised before use and disposed
        // once; the JSON string and fd live across the synchronous call
        // (NULL ao_how); -1 = no send-back fd.
        unsafe {
            self.lib.libxl_domain_config_init(&mut cfg);
            self.lib.libxl_domain_restore_params_init(&mut params);
            params.stream_version = 2;
            let rc = self
                .lib
                .libxl_domain_config_from_json(self.ctx, &mut cfg, cjson.as_ptr());
            if rc != 0 {
                self.lib.libxl_domain_config_dispose(&mut cfg);
                self.lib.libxl_domain_restore_params_dispose(&mut params);
                return Err(LibxlError {
                    call: "libxl_domain_config_from_json",
                    code: rc,
                });
            }
            let rc = self.lib.libxl_domain_create_restore(
                self.ctx,
                &mut cfg,
                &mut domid,
                fd.as_raw_fd(),
                -1,
                &params,
                ptr::null(),
                ptr::null(),
            );
            self.lib.libxl_domain_config_dispose(&mut cfg);
            self.lib.libxl_domain_restore_params_dispose(&mut params);
            check("libxl_domain_create_restore", rc)?;
        }
        Ok(domid)
    }

    /// The dom0 path of a domain's console pty (libxl_console_get_tty);
    /// `serial` picks the emulated serial port instead of the PV console.
    pub fn console_tty(&self, domid: u32, num: i32, serial: bool) -> Result<String> {
        let kind = if serial {
            ffi::libxl_console_type_LIBXL_CONSOLE_TYPE_SERIAL
        } else {
            ffi::libxl_console_type_LIBXL_CONSOLE_TYPE_PV
        };
        let mut path: *mut std::os::raw::c_char = ptr::null_mut();
        // SAFETY: path is an out-pointer to a malloc'd string we copy and
        // free once.
        unsafe {
            let rc = self
                .lib
                .libxl_console_get_tty(self.ctx, domid, num, kind, &mut path);
            if rc != 0 || path.is_null() {
                return Err(LibxlError {
                    call: "libxl_console_get_tty",
                    code: rc,
                });
            }
            let out = cstr(path);
            libc::free(path.cast());
            Ok(out)
        }
    }

    /// Asks libxl for DOMAIN_SHUTDOWN and DOMAIN_DEATH events of `domid`
    /// (libxl_evenable_domain_death); a second call for the same domain is
    /// a no-op.
    pub fn watch_domain_death(&self, domid: u32) -> Result<()> {
        let Ok(mut m) = self.death_watches.lock() else {
            return Err(LibxlError {
                call: "libxl_evenable_domain_death",
                code: -1,
            });
        };
        if m.contains_key(&domid) {
            return Ok(());
        }
        let mut gen: *mut ffi::libxl_evgen_domain_death = ptr::null_mut();
        // SAFETY: gen is an out-pointer; the generator is disabled once in
        // unwatch_domain_death (or Drop).
        let rc = unsafe {
            self.lib
                .libxl_evenable_domain_death(self.ctx, domid, u64::from(domid), &mut gen)
        };
        check("libxl_evenable_domain_death", rc)?;
        m.insert(domid, gen as usize);
        Ok(())
    }

    /// Stops the events of [`Ctx::watch_domain_death`].
    pub fn unwatch_domain_death(&self, domid: u32) {
        let gen = self
            .death_watches
            .lock()
            .ok()
            .and_then(|mut m| m.remove(&domid));
        if let Some(gen) = gen {
            // SAFETY: the pointer came from libxl_evenable_domain_death and
            // was removed from the map, so it is disabled only once.
            unsafe {
                self.lib.libxl_evdisable_domain_death(
                    self.ctx,
                    gen as *mut ffi::libxl_evgen_domain_death,
                )
            };
        }
    }

    /// Blocks until libxl has a domain event (libxl_event_wait) and
    /// returns it. Meant for one dedicated thread; other threads keep
    /// using the context meanwhile.
    pub fn wait_event(&self) -> Result<DomainEvent> {
        let mut ev: *mut ffi::libxl_event = ptr::null_mut();
        // SAFETY: ev is an out-pointer; the event is copied and freed once
        // with libxl_event_free. A NULL predicate accepts every event.
        unsafe {
            let rc = self
                .lib
                .libxl_event_wait(self.ctx, &mut ev, u64::MAX, None, ptr::null_mut());
            if rc != 0 || ev.is_null() {
                return Err(LibxlError {
                    call: "libxl_event_wait",
                    code: rc,
                });
            }
            let e = &*ev;
            #[allow(clippy::unnecessary_cast)]
            let kind = match e.type_ as i64 {
                t if t == ffi::libxl_event_type_LIBXL_EVENT_TYPE_DOMAIN_SHUTDOWN as i64 => {
                    DomainEventKind::Shutdown(ShutdownReason::from_code(i32::from(
                        e.u.domain_shutdown.shutdown_reason,
                    )))
                }
                t if t == ffi::libxl_event_type_LIBXL_EVENT_TYPE_DOMAIN_DEATH as i64 => {
                    DomainEventKind::Death
                }
                t => DomainEventKind::Other(i32::try_from(t).unwrap_or(-1)),
            };
            let out = DomainEvent {
                domid: e.domid,
                kind,
            };
            self.lib.libxl_event_free(self.ctx, ev);
            Ok(out)
        }
    }
}

/// Why a domain shut down (libxl_shutdown_reason).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShutdownReason {
    /// The guest powered off.
    Poweroff,
    /// The guest asked for a reboot.
    Reboot,
    /// The guest suspended (a save is under way).
    Suspend,
    /// The guest crashed.
    Crash,
    /// The watchdog fired.
    Watchdog,
    /// The guest asked for a soft reset.
    SoftReset,
    /// Any other code.
    Unknown(i32),
}

impl ShutdownReason {
    /// From libxl's numeric code (also `DomInfo::shutdown_reason`).
    pub fn from_code(c: i32) -> ShutdownReason {
        match c {
            0 => ShutdownReason::Poweroff,
            1 => ShutdownReason::Reboot,
            2 => ShutdownReason::Suspend,
            3 => ShutdownReason::Crash,
            4 => ShutdownReason::Watchdog,
            5 => ShutdownReason::SoftReset,
            c => ShutdownReason::Unknown(c),
        }
    }
}

/// What happened to a domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DomainEventKind {
    /// It shut down (it still exists until destroyed).
    Shutdown(ShutdownReason),
    /// It is gone.
    Death,
    /// Another libxl event type.
    Other(i32),
}

/// A libxl domain event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DomainEvent {
    /// The domain.
    pub domid: u32,
    /// What happened.
    pub kind: DomainEventKind,
}

/// Opens a console pty (the dom0 side path from [`Ctx::console_tty`])
/// read-write without making it the daemon's controlling terminal.
pub fn open_console_tty(path: &str) -> std::io::Result<OwnedFd> {
    let c =
        CString::new(path).map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))?;
    // SAFETY: open with a NUL-terminated path; the returned fd is checked
    // and owned by the OwnedFd from then on.
    let fd = unsafe { libc::open(c.as_ptr(), libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: fd is a fresh descriptor nobody else owns.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    // Raw mode: bytes pass unchanged in both directions.
    // SAFETY: termios is plain data filled by tcgetattr on a valid fd.
    unsafe {
        let mut t: libc::termios = std::mem::zeroed();
        if libc::tcgetattr(fd, &mut t) == 0 {
            libc::cfmakeraw(&mut t);
            libc::tcsetattr(fd, libc::TCSANOW, &t);
        }
    }
    Ok(owned)
}

impl Drop for Ctx {
    fn drop(&mut self) {
        let watches: Vec<u32> = self
            .death_watches
            .lock()
            .map(|m| m.keys().copied().collect())
            .unwrap_or_default();
        for domid in watches {
            self.unwatch_domain_death(domid);
        }
        // SAFETY: both pointers came from successful allocations in new()
        // and are released exactly once here, context first.
        unsafe {
            self.lib.libxl_ctx_free(self.ctx);
            self.lib
                .xtl_logger_destroy(self.logger.cast::<ffi::xentoollog_logger>());
        }
    }
}

fn cstr(p: *const std::os::raw::c_char) -> String {
    if p.is_null() {
        return String::new();
    }
    // SAFETY: libxl hands out NUL-terminated strings it owns; we copy.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

// The enum's C type differs between libxl builds.
#[allow(clippy::unnecessary_cast)]
fn dominfo(d: &ffi::libxl_dominfo) -> DomInfo {
    DomInfo {
        domid: d.domid,
        uuid: d.uuid.uuid,
        current_memkb: d.current_memkb,
        max_memkb: d.max_memkb,
        cpu_time: d.cpu_time,
        vcpu_online: d.vcpu_online,
        vcpu_max_id: d.vcpu_max_id,
        running: d.running,
        blocked: d.blocked,
        paused: d.paused,
        shutdown: d.shutdown,
        dying: d.dying,
        shutdown_reason: d.shutdown_reason as i32,
    }
}

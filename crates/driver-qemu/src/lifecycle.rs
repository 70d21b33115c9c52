// SPDX-License-Identifier: LGPL-2.1-or-later
//! Lifecycle calls on a running guest beyond start and stop: reboot by
//! the ACPI power button (libvirt's "fake reboot": the guest's power off
//! resets QEMU instead of ending it), NMI, key presses, waking a
//! suspended guest, and the guest-agent suspend this driver refuses
//! without an agent, as libvirt does.

use std::sync::Arc;

use driver::consts::{lifecycle, reason, state};
use driver::error::ErrorCode;
use driver::keycodes::{self, Codeset};
use driver::{DomainRef, Error, Result};
use serde_json::{json, Value};

use crate::process::not_running;
use crate::state::{dom_ref, Dom, Driver, JobGuard, QEMU};

/// virDomainRebootFlagValues this driver knows.
const REBOOT_ACPI_POWER_BTN: u32 = 1 << 0;
const REBOOT_GUEST_AGENT: u32 = 1 << 1;

/// virDomainShutdownFlagValues this driver knows.
const SHUTDOWN_ACPI_POWER_BTN: u32 = 1 << 0;
const SHUTDOWN_GUEST_AGENT: u32 = 1 << 1;

/// virNodeSuspendTarget's end.
const SUSPEND_TARGET_LAST: u32 = 3;

/// Whether the guest's power off restarts it (`on_poweroff` restart or
/// rename-restart), as libvirt's QEMU driver does with a reset.
pub(crate) fn restarts_on_poweroff(def: &conf::DomainDef) -> bool {
    matches!(def.on_poweroff.as_str(), "restart" | "rename-restart")
}

fn no_agent() -> Error {
    Error::new(
        ErrorCode::ArgumentUnsupported,
        QEMU,
        "QEMU guest agent is not configured",
    )
}

impl Driver {
    /// Runs `cmd` with `args` on running domain `r`, holding its job.
    fn run_qmp(
        &self,
        r: &DomainRef,
        api: &'static str,
        cmd: &'static str,
        args: Option<Value>,
    ) -> Result<JobGuard> {
        let job = self.begin(r, api)?;
        let mon = {
            let st = job.obj().lock();
            st.live.as_ref().ok_or_else(not_running)?.mon.clone()
        };
        match self.block(async move { mon.execute(cmd, args).await }) {
            Some(Ok(_)) => Ok(job),
            Some(Err(e)) => Err(qemu::probe::qmp_error(cmd, e)),
            None => Err(Error::new(
                ErrorCode::OperationFailed,
                QEMU,
                "monitor call failed",
            )),
        }
    }

    /// virDomainShutdownFlags: the guest agent when asked for (or, without
    /// flags, when one is connected), the ACPI power button when asked
    /// for, without flags, or when a preferred agent failed.
    pub(crate) fn shutdown_flags(&self, r: &DomainRef, flags: u32) -> Result<()> {
        Error::check_flags(
            flags,
            SHUTDOWN_ACPI_POWER_BTN | SHUTDOWN_GUEST_AGENT,
            "qemuDomainShutdownFlags",
        )?;
        // on_poweroff=restart: the power off restarts the guest.
        let restart = self
            .get(r)?
            .lock()
            .live
            .as_ref()
            .is_some_and(|l| restarts_on_poweroff(&l.def));
        let agent_asked = flags & SHUTDOWN_GUEST_AGENT != 0;
        let acpi_asked = flags & SHUTDOWN_ACPI_POWER_BTN != 0;
        let use_agent = agent_asked || (flags == 0 && self.agent_connected(r));
        if use_agent {
            match self.agent_shutdown(r, restart) {
                Ok(()) => return Ok(()),
                Err(e) if agent_asked && !acpi_asked => return Err(e),
                Err(e) if !acpi_asked && flags != 0 => return Err(e),
                Err(_) => {
                    // The guest may have gone meanwhile.
                    if self.get(r)?.lock().live.is_none() {
                        return Ok(());
                    }
                }
            }
        }
        if restart {
            return self.acpi_powerdown(r, "virDomainShutdownFlags", true);
        }
        self.shutdown(r)
    }

    /// virDomainReboot: the guest agent as for shutdown, else the ACPI
    /// power button with the fake-reboot mark.
    pub(crate) fn reboot(&self, r: &DomainRef, flags: u32) -> Result<()> {
        Error::check_flags(
            flags,
            REBOOT_ACPI_POWER_BTN | REBOOT_GUEST_AGENT,
            "qemuDomainReboot",
        )?;
        // on_reboot=destroy/preserve: a power off without the reset.
        let restart = {
            let dom = self.get(r)?;
            let st = dom.lock();
            let l = st.live.as_ref().ok_or_else(not_running)?;
            !matches!(l.def.on_reboot.as_str(), "destroy" | "preserve")
        };
        let agent_asked = flags & REBOOT_GUEST_AGENT != 0;
        let acpi_asked = flags & REBOOT_ACPI_POWER_BTN != 0;
        if agent_asked || (flags == 0 && self.agent_connected(r)) {
            match self.agent_shutdown(r, restart) {
                Ok(()) => return Ok(()),
                Err(e) if !acpi_asked && flags != 0 => return Err(e),
                Err(_) => {}
            }
        }
        self.acpi_powerdown(r, "virDomainReboot", restart)
    }

    /// The ACPI power button, marked as a fake reboot (the power off
    /// resets the guest) when `restart`.
    fn acpi_powerdown(&self, r: &DomainRef, api: &'static str, restart: bool) -> Result<()> {
        let job = self.begin(r, api)?;
        let dom = job.obj().clone();
        let mon = {
            let mut st = dom.lock();
            let mon = st.live.as_ref().ok_or_else(not_running)?.mon.clone();
            st.fake_reboot = restart;
            mon
        };
        let res = self.block(async move { mon.execute("system_powerdown", None).await });
        match res {
            Some(Ok(_)) => Ok(()),
            other => {
                dom.lock().fake_reboot = false;
                Err(match other {
                    Some(Err(e)) => qemu::probe::qmp_error("system_powerdown", e),
                    _ => Error::new(ErrorCode::OperationFailed, QEMU, "monitor call failed"),
                })
            }
        }
    }

    /// The second half of a fake reboot, when the guest powered off:
    /// reset, run again, and tell the clients it resumed.
    pub(crate) async fn finish_fake_reboot(&self, dom: &Arc<Dom>, mon: &qemu::qmp::Qmp) {
        if mon.execute("system_reset", None).await.is_err() {
            return;
        }
        {
            let mut st = dom.lock();
            st.state = state::RUNNING;
            st.reason = reason::RUNNING_BOOTED;
        }
        if mon.execute("cont", None).await.is_err() {
            let mut st = dom.lock();
            st.state = state::PAUSED;
            st.reason = reason::PAUSED_UNKNOWN;
            return;
        }
        self.refresh_status(dom);
        self.emit(
            dom_ref(dom),
            lifecycle::RESUMED,
            lifecycle::RESUMED_UNPAUSED,
        );
    }

    /// virDomainInjectNMI.
    pub(crate) fn inject_nmi(&self, r: &DomainRef, flags: u32) -> Result<()> {
        Error::check_flags(flags, 0, "qemuDomainInjectNMI")?;
        self.run_qmp(r, "virDomainInjectNMI", "inject-nmi", None)
            .map(drop)
    }

    /// virDomainSendKey: the keys as QEMU's key numbers, pressed together
    /// for `holdtime` ms (QEMU's default when 0).
    pub(crate) fn send_key(
        &self,
        r: &DomainRef,
        codeset: u32,
        holdtime: u32,
        keycodes: &[u32],
        flags: u32,
    ) -> Result<()> {
        Error::check_flags(flags, 0, "qemuDomainSendKey")?;
        let set = Codeset::from_u32(codeset).ok_or_else(|| {
            Error::new(
                ErrorCode::InvalidArg,
                QEMU,
                format!("unsupported codeset: {codeset}"),
            )
        })?;
        let mut keys = Vec::with_capacity(keycodes.len());
        for code in keycodes {
            let n = if set == Codeset::Qnum {
                Some(*code)
            } else {
                keycodes::translate(set, Codeset::Qnum, *code)
            };
            let n = n.ok_or_else(|| {
                Error::new(
                    ErrorCode::InternalError,
                    QEMU,
                    format!(
                        "cannot translate keycode {code} of {} codeset to qnum keycode",
                        set.name()
                    ),
                )
            })?;
            keys.push(json!({ "type": "number", "data": n }));
        }
        let mut args = json!({ "keys": keys });
        if holdtime > 0 {
            args["hold-time"] = json!(holdtime);
        }
        self.run_qmp(r, "virDomainSendKey", "send-key", Some(args))
            .map(drop)
    }

    /// virDomainPMWakeup: `system_wakeup`.
    pub(crate) fn pm_wakeup(&self, r: &DomainRef, flags: u32) -> Result<()> {
        Error::check_flags(flags, 0, "qemuDomainPMWakeup")?;
        self.run_qmp(r, "virDomainPMWakeup", "system_wakeup", None)
            .map(drop)
    }

    /// virDomainPMSuspendForDuration: only through the guest agent, which
    /// this driver does not run; libvirt's checks come first.
    pub(crate) fn pm_suspend(
        &self,
        r: &DomainRef,
        target: u32,
        duration: u64,
        flags: u32,
    ) -> Result<()> {
        Error::check_flags(flags, 0, "qemuDomainPMSuspendForDuration")?;
        if duration != 0 {
            return Err(Error::new(
                ErrorCode::ArgumentUnsupported,
                QEMU,
                "Duration not supported. Use 0 for now",
            ));
        }
        if target >= SUSPEND_TARGET_LAST {
            return Err(Error::new(
                ErrorCode::InvalidArg,
                QEMU,
                format!("Unknown suspend target: {target}"),
            ));
        }
        let dom = self.get(r)?;
        if dom.lock().live.is_none() {
            return Err(not_running());
        }
        Err(no_agent())
    }
}

impl Driver {
    /// virDomainSetMemoryFlags (virDomainSetMaxMemory with MAXIMUM): the
    /// live size through the balloon (the live definition follows QEMU's
    /// BALLOON_CHANGE), the persistent sizes in the definition.
    pub(crate) fn set_memory(&self, r: &DomainRef, kib: u64, flags: u32) -> Result<()> {
        use driver::consts::affect::{CONFIG, LIVE, MAXIMUM as MEM_MAXIMUM};
        Error::check_flags(
            flags,
            LIVE | CONFIG | MEM_MAXIMUM,
            "qemuDomainSetMemoryFlags",
        )?;
        let job = self.begin(r, "virDomainSetMemoryFlags")?;
        let dom = job.obj().clone();
        let (active, persistent) = {
            let st = dom.lock();
            (st.live.is_some(), st.persistent.is_some())
        };
        let (live, config) = match flags & (LIVE | CONFIG) {
            0 if active => (true, false),
            0 => (false, true),
            f => (f & LIVE != 0, f & CONFIG != 0),
        };
        if live && !active {
            return Err(not_running());
        }
        if config && !persistent {
            return Err(Error::operation_invalid(
                QEMU,
                "cannot change persistent config of a transient domain",
            ));
        }
        if flags & MEM_MAXIMUM != 0 {
            if live {
                return Err(Error::operation_invalid(
                    QEMU,
                    "cannot resize the maximum memory on an active domain",
                ));
            }
            let mut def = dom.lock().persistent.clone().ok_or_else(not_running)?;
            def.memory_kib = kib;
            if def.current_memory_kib > kib {
                def.current_memory_kib = kib;
            }
            self.write_config(&def)?;
            dom.lock().persistent = Some(def);
            return Ok(());
        }
        let st = dom.lock();
        let max_of = |d: Option<&conf::DomainDef>| d.map_or(0, |d| d.memory_kib);
        let (live_max, cfg_max) = (
            max_of(st.live.as_ref().map(|l| &l.def)),
            max_of(st.persistent.as_ref()),
        );
        drop(st);
        if (live && kib > live_max) || (config && kib > cfg_max) {
            return Err(Error::new(
                ErrorCode::InvalidArg,
                QEMU,
                "cannot set memory higher than max memory",
            ));
        }
        if live {
            let (mon, balloon) = {
                let st = dom.lock();
                let l = st.live.as_ref().ok_or_else(not_running)?;
                let balloon = l.def.devices.iter().any(|d| {
                    d.name == "memballoon" && d.attr("model").is_some_and(|m| m != "none")
                });
                (l.mon.clone(), balloon)
            };
            if !balloon {
                return Err(Error::operation_invalid(
                    QEMU,
                    "Unable to change memory of active domain without the balloon device and guest OS balloon driver",
                ));
            }
            let bytes = kib.saturating_mul(1024);
            match self.block(async move {
                mon.execute("balloon", Some(json!({ "value": bytes })))
                    .await
            }) {
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(qemu::probe::qmp_error("balloon", e)),
                None => {
                    return Err(Error::new(
                        ErrorCode::OperationFailed,
                        QEMU,
                        "monitor call failed",
                    ))
                }
            }
        }
        if config {
            let mut def = dom.lock().persistent.clone().ok_or_else(not_running)?;
            def.current_memory_kib = kib;
            self.write_config(&def)?;
            dom.lock().persistent = Some(def);
        }
        Ok(())
    }

    /// QEMU's BALLOON_CHANGE: the guest's current size in the live
    /// definition.
    pub(crate) fn balloon_changed(&self, dom: &Dom, actual_bytes: u64) {
        let mut st = dom.lock();
        if let Some(l) = st.live.as_mut() {
            l.def.current_memory_kib = actual_bytes / 1024;
        }
        drop(st);
        self.refresh_status(dom);
    }
}

impl Driver {
    /// virDomainScreenshot: QEMU's `screendump` of screen `screen` (PNG,
    /// else QEMU's PPM) into a file of the guest's private directory,
    /// handed to the client's stream and removed.
    pub(crate) fn screenshot(
        &self,
        r: &DomainRef,
        screen: u32,
        flags: u32,
    ) -> Result<(String, std::os::fd::OwnedFd)> {
        Error::check_flags(flags, 0, "qemuDomainScreenshot")?;
        let job = self.begin(r, "virDomainScreenshot")?;
        let dom = job.obj().clone();
        let (mon, def) = {
            let st = dom.lock();
            let l = st.live.as_ref().ok_or_else(not_running)?;
            (l.mon.clone(), l.def.clone())
        };
        let videos: Vec<_> = def.devices.iter().filter(|d| d.name == "video").collect();
        if videos.is_empty() {
            return Err(Error::operation_invalid(
                QEMU,
                "no screens to take screenshot from",
            ));
        }
        let mut device = None;
        if screen > 0 {
            let mut left = screen;
            for (i, v) in videos.iter().enumerate() {
                let heads = v
                    .child("model")
                    .and_then(|m| m.attr("heads"))
                    .and_then(|h| h.parse::<u32>().ok())
                    .unwrap_or(1);
                if left < heads {
                    device = Some(format!("video{i}"));
                    break;
                }
                left -= heads;
            }
            if device.is_none() {
                return Err(Error::operation_invalid(QEMU, "no such screen ID"));
            }
        }
        let id = def.id.unwrap_or(0);
        let dir = self.domain_dir(id, &def.name);
        let path = dir.join(format!(
            "qemu.screendump.{}{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos())
        ));
        let sys = |what: &str, e: std::io::Error| {
            Error::new(
                ErrorCode::SystemError,
                QEMU,
                format!(
                    "{what} '{}': {}",
                    path.display(),
                    virterror::os_error_text(&e)
                ),
            )
        };
        {
            use std::os::unix::fs::OpenOptionsExt;
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
                .map_err(|e| sys("cannot create", e))?;
        }
        if let Some((uid, gid)) = self.run_as() {
            std::os::unix::fs::chown(&path, Some(uid), Some(gid))
                .map_err(|e| sys("unable to set ownership of", e))?;
        }
        let file = path.display().to_string();
        let dev = device.clone();
        let res = self.block(async move {
            let mut args = json!({ "filename": file, "format": "png" });
            if let Some(d) = &dev {
                args["device"] = json!(d);
                args["head"] = json!(screen);
            }
            match mon.execute("screendump", Some(args.clone())).await {
                Ok(_) => Ok("image/png"),
                Err(qemu::qmp::QmpError::Command { .. }) => {
                    // A QEMU without PNG support writes its PPM.
                    if let Some(o) = args.as_object_mut() {
                        o.remove("format");
                    }
                    mon.execute("screendump", Some(args))
                        .await
                        .map(|_| "image/x-portable-pixmap")
                }
                Err(e) => Err(e),
            }
        });
        let mime = match res {
            Some(Ok(m)) => m,
            other => {
                let _ = std::fs::remove_file(&path);
                return Err(match other {
                    Some(Err(e)) => qemu::probe::qmp_error("screendump", e),
                    _ => Error::new(ErrorCode::OperationFailed, QEMU, "monitor call failed"),
                });
            }
        };
        let data = std::fs::read(&path);
        let _ = std::fs::remove_file(&path);
        let data = data.map_err(|e| {
            Error::new(
                ErrorCode::OperationFailed,
                QEMU,
                format!("unable to open stream: {}", virterror::os_error_text(&e)),
            )
        })?;
        // The stream needs a descriptor it can poll: a pipe, fed by a
        // thread of its own.
        let (rd, wr) = host::fd::pipe_cloexec().map_err(|e| {
            Error::new(
                ErrorCode::SystemError,
                QEMU,
                format!(
                    "cannot create pipe: {}",
                    virterror::os_error_text(&e.into_io())
                ),
            )
        })?;
        std::thread::spawn(move || {
            use std::io::Write;
            let _ = std::fs::File::from(wr).write_all(&data);
        });
        Ok((mime.to_string(), rd))
    }
}

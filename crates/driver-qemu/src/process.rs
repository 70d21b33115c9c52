// SPDX-License-Identifier: LGPL-2.1-or-later
//! Running guests: a QEMU process per domain with its QMP monitor, and
//! QEMU's events turned into libvirt's lifecycle events.
//!
//! This is the process and monitor plumbing only. The command line is a
//! minimal one (machine and accelerator, memory, vCPUs, UUID, file disks
//! as `-drive`, the monitor); the full translation of the domain XML
//! (libvirt's qemuxml2argv) comes later. QEMU runs as the daemon's user.
//!
//! Each running domain has one task on the driver's runtime that reads
//! its monitor's events: STOP/RESUME change the state (unless a call of
//! ours already did), SHUTDOWN is recorded, and the monitor's end (QEMU
//! exited) stops the domain: state shut off with the reason of what
//! ended it (destroy, guest shutdown, else a crash), its status file
//! removed, and the STOPPED event sent. Monitor calls hold the domain's
//! job; a hung QEMU times its own callers out and blocks nobody else.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use conf::{DomainDef, FormatFlags};
use driver::consts::{lifecycle, reason, state};
use driver::error::{ErrorCode, ErrorDomain};
use driver::{DomainRef, Error, Result};
use qemu::qmp::{Event as QmpEvent, Qmp};
use qemu_caps::VirtType;
use tokio::sync::mpsc;

use crate::caps;
use crate::state::{dom_ref, Dom, Driver, Live, StopCause, QEMU};

/// How long a monitor command may take (30 s;
/// `LIBVIRT_QEMU_MONITOR_TIMEOUT_MS` overrides it, for tests).
fn monitor_timeout() -> Duration {
    driver::job::timeout_from_env("LIBVIRT_QEMU_MONITOR_TIMEOUT_MS", Duration::from_secs(30))
}

fn op_failed(msg: impl Into<String>) -> Error {
    Error::new(ErrorCode::OperationFailed, QEMU, msg)
}

pub(crate) fn not_running() -> Error {
    Error::operation_invalid(ErrorDomain::Domain, "domain is not running")
}

/// The files of the domain's disks.
pub(crate) fn disk_files(def: &DomainDef) -> Vec<PathBuf> {
    def.devices
        .iter()
        .filter(|d| d.name == "disk")
        .filter_map(|d| {
            d.child("source")
                .and_then(|s| s.attr("file").or_else(|| s.attr("dev")))
        })
        .map(PathBuf::from)
        .collect()
}

/// A file QEMU's user was given, and the owner it had before.
#[derive(Debug, Clone)]
pub(crate) struct Owned {
    pub path: PathBuf,
    pub uid: u32,
    pub gid: u32,
}

/// libvirt's DAC labelling with dynamic_ownership: each disk file is
/// handed to QEMU's user and group, its previous owner remembered. The
/// first file that cannot be changed ends it, the others given back.
pub(crate) fn hand_over(files: &[PathBuf], uid: u32, gid: u32) -> Result<Vec<Owned>> {
    use std::os::unix::fs::MetadataExt;
    let mut done: Vec<Owned> = Vec::new();
    for f in files {
        let res = std::fs::metadata(f).and_then(|m| {
            std::os::unix::fs::chown(f, Some(uid), Some(gid))?;
            Ok(Owned {
                path: f.clone(),
                uid: m.uid(),
                gid: m.gid(),
            })
        });
        match res {
            Ok(o) => done.push(o),
            Err(e) => {
                give_back(&done);
                return Err(Error::new(
                    ErrorCode::SystemError,
                    QEMU,
                    format!(
                        "unable to set user and group to '{uid}:{gid}' on '{}': {}",
                        f.display(),
                        virterror::os_error_text(&e)
                    ),
                ));
            }
        }
    }
    Ok(done)
}

/// Restores the owners [`hand_over`] recorded (a file gone since is
/// skipped, as libvirt's restore ignores a missing file).
pub(crate) fn give_back(owned: &[Owned]) {
    for o in owned.iter().rev() {
        let _ = std::os::unix::fs::chown(&o.path, Some(o.uid), Some(o.gid));
    }
}

/// How a guest's QEMU is started.
#[derive(Debug, Clone, Default)]
pub(crate) struct StartOptions {
    /// Leave the vCPUs stopped (`virsh start --paused`).
    pub paused: bool,
    /// QEMU's `-incoming` value (`defer`, `tcp:...`) for a guest whose
    /// state arrives from a save image or a migration: the vCPUs stay
    /// stopped, the domain is paused for an incoming migration and no
    /// lifecycle event is emitted; the caller resumes it and emits the
    /// event fitting its operation (restored, migrated).
    pub incoming: Option<String>,
}

impl Driver {
    /// The user and group QEMU runs as (qemu.conf's `user` and `group`):
    /// only a root daemon changes them; a user's daemon runs QEMU as
    /// itself.
    pub(crate) fn run_as(&self) -> Option<(u32, u32)> {
        self.opts
            .privileged
            .then_some((self.conf.uid, self.conf.gid))
            .filter(|_| host::process::geteuid() == 0)
    }

    /// Runs `fut` on the driver's runtime and waits for it (from any
    /// thread: a driver call on the daemon's blocking pool, or a test).
    pub(crate) fn block<T: Send + 'static>(
        &self,
        fut: impl std::future::Future<Output = T> + Send + 'static,
    ) -> Option<T> {
        let (tx, rx) = std::sync::mpsc::channel();
        self.rt.spawn(async move {
            let _ = tx.send(fut.await);
        });
        rx.recv().ok()
    }

    /// The guest's private directory (`LIBDIR/domain-ID-NAME`, the name
    /// cut to 20 characters as libvirt's).
    pub(crate) fn domain_dir(&self, id: i32, name: &str) -> PathBuf {
        let short: String = name.chars().take(20).collect();
        self.opts.lib_dir.join(format!("domain-{id}-{short}"))
    }

    fn status_file(&self, name: &str) -> PathBuf {
        self.opts.state_dir.join(format!("{name}.xml"))
    }

    /// virDomainCreateWithFlags: starts the persistent domain `r`.
    pub(crate) fn start(&self, r: &DomainRef, paused: bool) -> Result<DomainRef> {
        let flags = if paused {
            driver::consts::create::START_PAUSED
        } else {
            0
        };
        self.start_flags(r, flags)
    }

    /// virDomainCreateWithFlags with its flags: a managed save image is
    /// restored instead of a boot (unless START_FORCE_BOOT).
    pub(crate) fn start_flags(&self, r: &DomainRef, flags: u32) -> Result<DomainRef> {
        let paused = flags & driver::consts::create::START_PAUSED != 0;
        let job = self.begin(r, "virDomainCreate")?;
        let dom = job.obj().clone();
        let def = {
            let st = dom.lock();
            if st.live.is_some() {
                return Err(Error::operation_invalid(QEMU, "domain is already running"));
            }
            st.persistent
                .clone()
                .ok_or_else(|| Error::internal(QEMU, "domain has no definition"))?
        };
        if self.start_managed(&dom, &def, flags)? {
            return Ok(dom_ref(&dom));
        }
        self.launch(
            &dom,
            def,
            &StartOptions {
                paused,
                ..StartOptions::default()
            },
        )?;
        Ok(dom_ref(&dom))
    }

    /// virDomainCreateXML: a transient domain from `xml`, started (paused
    /// with START_PAUSED). A domain of the same UUID that is defined and
    /// shut off runs this definition and keeps its persistent one; one that
    /// failed to start leaves nothing behind.
    pub(crate) fn create_xml(&self, xml: &str, flags: u32) -> Result<DomainRef> {
        use driver::consts::create;
        let def = self.parse_def(xml, flags & create::START_VALIDATE != 0)?;
        self.check_add_live(&def)?;
        let dom = self.table_entry(&def);
        let r = dom_ref(&dom);
        let res = (|| {
            let _job = self.begin(&r, "virDomainCreateXML")?;
            if dom.lock().live.is_some() {
                return Err(Error::operation_invalid(
                    QEMU,
                    format!("domain '{}' is already active", def.name),
                ));
            }
            let paused = flags & create::START_PAUSED != 0;
            self.launch(
                &dom,
                def.clone(),
                &StartOptions {
                    paused,
                    ..StartOptions::default()
                },
            )
        })();
        if let Err(e) = res {
            self.drop_if_transient(&dom);
            return Err(e);
        }
        Ok(r)
    }

    /// Starts QEMU for `def` and records the domain as running.
    pub(crate) fn launch(
        &self,
        dom: &Arc<Dom>,
        mut def: DomainDef,
        opts: &StartOptions,
    ) -> Result<()> {
        let incoming = opts.incoming.is_some();
        let paused = opts.paused || incoming;
        let arch = def
            .os
            .arch
            .clone()
            .unwrap_or_else(|| caps::host_arch().to_string());
        let emulator = match &def.emulator {
            Some(e) => e.clone(),
            None => caps::default_emulator(&arch).ok_or_else(|| {
                Error::new(
                    ErrorCode::ConfigUnsupported,
                    QEMU,
                    format!("unable to find any emulator to serve '{arch}' architecture"),
                )
            })?,
        };
        let qcaps = caps::lookup(&self.caps, &emulator)?;
        let virt = if def.virt_type == "kvm" {
            if !qcaps.has("kvm") {
                return Err(Error::new(
                    ErrorCode::ConfigUnsupported,
                    QEMU,
                    "Domain requires KVM, but it is not available. Check that virtualization is enabled in the host BIOS, and host configuration is setup to load the kvm modules.",
                ));
            }
            VirtType::Kvm
        } else {
            VirtType::Qemu
        };
        let machine = match &def.os.machine {
            Some(m) => m.clone(),
            None => qcaps.preferred_machine(virt).unwrap_or("pc").to_string(),
        };
        if def.emulator.is_none() {
            def.emulator = Some(emulator.clone());
        }
        if def.os.machine.is_none() {
            def.os.machine = Some(machine);
        }
        let id = self.next_id();
        def.id = Some(id);
        crate::agent::prepare_channels(&mut def, &self.opts.lib_dir, id);
        // The command line first: whatever it refuses is refused before
        // anything is created or started.
        let cfg = crate::launch::command_config(&self.conf, &self.opts.lib_dir, &qcaps)?;
        self.display_ports.assign(
            &mut def,
            self.conf.remote_display_port_min,
            self.conf.remote_display_port_max,
            &self.conf.vnc_listen,
        )?;
        let vnc_ports = crate::vnc::ports_of(&def);
        let release_vnc = || {
            for p in &vnc_ports {
                self.display_ports.release(*p);
            }
        };
        // The NICs' network ports and tap names, then the volume disks
        // resolved for the command line (the live definition keeps the
        // volumes).
        self.plug_nics(&mut def).inspect_err(|_| release_vnc())?;
        let plugged = def.clone();
        let release_ports = || {
            release_vnc();
            self.unplug_nics(&plugged);
        };
        let cmd_def = self
            .translate_volumes(&def)
            .inspect_err(|_| release_ports())?;
        let qcmd = qemu_command::build_command(&cmd_def, &qcaps, &cfg, id)
            .inspect_err(|_| release_ports())?;
        let dir = self.domain_dir(id, &def.name);
        std::fs::create_dir_all(&dir)
            .and_then(|()| std::fs::create_dir_all(&self.opts.state_dir))
            .map_err(|e| {
                release_ports();
                Error::new(
                    ErrorCode::SystemError,
                    QEMU,
                    format!(
                        "cannot create directory '{}': {}",
                        dir.display(),
                        virterror::os_error_text(&e)
                    ),
                )
            })?;
        let monitor = dir.join("monitor.sock");
        let pidfile = self.opts.state_dir.join(format!("{}.pid", def.name));
        let _ = std::fs::remove_file(&pidfile);
        let run_as = self.run_as();
        let mut owned = Vec::new();
        let fail_dir = |dir: &PathBuf| {
            release_ports();
            let _ = std::fs::remove_dir_all(dir);
        };
        if let Some((uid, gid)) = run_as {
            // The domain's private directory is QEMU's, mode 0750.
            let prepared = std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).and_then(|()| {
                std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o750))
            });
            if let Err(e) = prepared {
                fail_dir(&dir);
                return Err(Error::new(
                    ErrorCode::SystemError,
                    QEMU,
                    format!(
                        "unable to set user and group to '{uid}:{gid}' on '{}': {}",
                        dir.display(),
                        virterror::os_error_text(&e)
                    ),
                ));
            }
        }
        if let Err(e) = crate::launch::write_master_key(&dir, &cfg.master_key, run_as) {
            fail_dir(&dir);
            return Err(e);
        }
        if let Some((uid, gid)) = run_as {
            if self.conf.dynamic_ownership {
                owned =
                    hand_over(&disk_files(&cmd_def), uid, gid).inspect_err(|_| fail_dir(&dir))?;
            }
        }
        // The guest's cgroup, which QEMU joins before it executes.
        let cgroup = match crate::cgroup::prepare(&self.conf, id, &def) {
            Ok(c) => c.map(|(cg, warnings)| {
                for w in warnings {
                    eprintln!("qemu driver: {}: {w}", def.name);
                }
                cg
            }),
            Err(e) => {
                give_back(&owned);
                fail_dir(&dir);
                return Err(e);
            }
        };
        let vcpus_max = def.vcpus_max;
        let undo = |owned: &[Owned], sockets: &[PathBuf]| {
            if let Some(cg) = &cgroup {
                crate::cgroup::remove_group(cg, vcpus_max);
            }
            release_ports();
            give_back(owned);
            for s in sockets {
                let _ = std::fs::remove_file(s);
            }
            let _ = std::fs::remove_dir_all(&dir);
            let _ = std::fs::remove_file(&pidfile);
        };
        let passed = match crate::launch::open_fds(&qcmd, &monitor) {
            Ok(p) => p,
            Err(e) => {
                undo(&owned, std::slice::from_ref(&monitor));
                return Err(e);
            }
        };
        let (log, logfile, log_pos) =
            match crate::launch::open_log(&self.opts.log_dir, &def.name, &qcaps, &qcmd) {
                Ok(l) => l,
                Err(e) => {
                    undo(&owned, &passed.sockets);
                    return Err(e);
                }
            };
        let mut args = qcmd.args.clone();
        if let Some(uri) = &opts.incoming {
            args.push("-incoming".into());
            args.push(uri.clone());
        }
        let mut cmd = std::process::Command::new(&qcmd.binary);
        // QEMU joins its cgroup while still root, then becomes qemu.conf's
        // user with that user's supplementary groups.
        if let Some(cg) = &cgroup {
            if let Err(e) = host::cgroup::join_before_exec(&mut cmd, &cg.procs_files()) {
                undo(&owned, &passed.sockets);
                return Err(Error::new(ErrorCode::InternalError, QEMU, e.to_string()));
            }
        }
        {
            use std::os::unix::process::CommandExt;
            if let Some((uid, gid)) = run_as {
                let groups = std::fs::read_to_string("/etc/group").unwrap_or_default();
                host::ids::switch_before_exec(
                    &mut cmd,
                    uid,
                    host::ids::groups_of(&groups, self.conf.user.trim_start_matches('+'), gid),
                );
            }
            // Its own process group: a signal to the daemon's group (a
            // terminal's ^C) does not reach the guests.
            cmd.process_group(0);
        }
        host::process::pass_fds(
            &mut cmd,
            passed.raw(),
            i32::try_from(crate::launch::FIRST_FD).unwrap_or(3),
        );
        let stdout = log.try_clone();
        let spawned = stdout.and_then(|out| {
            cmd.args(&args)
                .env_clear()
                .envs(qcmd.env.iter().map(|(k, v)| (k, v)))
                .stdin(std::process::Stdio::null())
                .stdout(out)
                .stderr(log)
                .spawn()
        });
        // QEMU has its copies (or is gone).
        let sockets = passed.sockets.clone();
        drop(passed);
        let closed = || {
            let text = crate::launch::log_error_text(&logfile, log_pos);
            let vm = format!("QEMU unexpectedly closed the monitor (vm='{}')", def.name);
            Error::new(
                ErrorCode::InternalError,
                QEMU,
                if text.trim().is_empty() {
                    vm
                } else {
                    format!("{vm}: {text}")
                },
            )
        };
        let mut child = match spawned {
            Ok(c) => c,
            Err(e) => {
                undo(&owned, &sockets);
                return Err(op_failed(format!("cannot execute '{}': {e}", qcmd.binary)));
            }
        };
        let pid = child.id();
        // QEMU is the daemon's child: reaped when it exits (its end is
        // seen as the monitor's).
        let (exit_tx, exit_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = exit_tx.send(child.wait());
        });
        let _ = host::fs::write_atomic(&pidfile, format!("{pid}\n").as_bytes(), 0o644);
        let (tx, rx) = mpsc::unbounded_channel();
        let reboot_is_shutdown = def.on_reboot == "destroy";
        let mon_path = monitor.clone();
        let timeout = monitor_timeout();
        let with_cgroup = cgroup.is_some();
        let connected = self.block(async move {
            let stream = tokio::net::UnixStream::connect(&mon_path)
                .await
                .map_err(|e| format!("failed to connect to monitor socket: {e}"))?;
            let mon = tokio::time::timeout(timeout, Qmp::connect(stream, Some(tx)))
                .await
                .map_err(|_| "timed out waiting for the QMP greeting".to_string())?
                .map_err(|e| e.to_string())?;
            mon.set_timeout(timeout);
            mon.negotiate().await.map_err(|e| e.to_string())?;
            // The ptys QEMU opened for character devices.
            let ptys = mon
                .execute("query-chardev", None)
                .await
                .map(|r| crate::console::pty_paths(&r.ret))
                .map_err(|e| e.to_string())?;
            // The vCPU threads, for their cgroups.
            let vcpus = if with_cgroup {
                mon.execute("query-cpus-fast", None)
                    .await
                    .map(|r| crate::cgroup::vcpu_threads(&r.ret))
                    .unwrap_or_default()
            } else {
                Vec::new()
            };
            // on_reboot=destroy: the guest's reboot becomes a shutdown.
            if reboot_is_shutdown {
                mon.execute(
                    "set-action",
                    Some(serde_json::json!({ "reboot": "shutdown" })),
                )
                .await
                .map_err(|e| e.to_string())?;
            }
            if !paused {
                mon.execute("cont", None).await.map_err(|e| e.to_string())?;
            }
            Ok::<(Qmp, _, _), String>((mon, ptys, vcpus))
        });
        let mon = match connected {
            Some(Ok((m, ptys, vcpus))) => {
                crate::console::record_ptys(&mut def, &ptys);
                if let Some(cg) = &cgroup {
                    if let Err(e) = crate::cgroup::place_threads(cg, &def, pid, &vcpus) {
                        eprintln!(
                            "qemu driver: {}: cannot place QEMU's threads: {e}",
                            def.name
                        );
                    }
                }
                m
            }
            other => {
                // A QEMU that failed to start has exited or is exiting.
                let gone = exit_rx.recv_timeout(Duration::from_secs(2)).is_ok();
                let _ = host::process::kill(pid, libc::SIGKILL);
                undo(&owned, &sockets);
                if gone {
                    return Err(closed());
                }
                let msg = match other {
                    Some(Err(e)) => e,
                    _ => "monitor connection failed".into(),
                };
                return Err(Error::new(ErrorCode::InternalError, QEMU, msg));
            }
        };
        let (st_now, rs_now) = if incoming {
            (state::PAUSED, reason::PAUSED_MIGRATION)
        } else if paused {
            (state::PAUSED, reason::PAUSED_USER)
        } else {
            (state::RUNNING, reason::RUNNING_BOOTED)
        };
        {
            let mut st = dom.lock();
            self.set_live(
                dom,
                &mut st,
                Some(Live {
                    def: def.clone(),
                    id,
                    pid,
                    mon,
                    stop_cause: None,
                    owned,
                }),
            );
            st.state = st_now;
            st.reason = rs_now;
        }
        self.write_status(&def, st_now, rs_now, pid);
        let r = dom_ref(dom);
        if incoming {
            self.watch(dom.clone(), rx);
            return Ok(());
        }
        self.emit(r.clone(), lifecycle::STARTED, lifecycle::STARTED_BOOTED);
        if paused {
            self.emit(r, lifecycle::SUSPENDED, lifecycle::SUSPENDED_PAUSED);
        }
        self.watch(dom.clone(), rx);
        Ok(())
    }

    /// Rewrites the status file of a running guest with its state now.
    pub(crate) fn refresh_status(&self, dom: &Dom) {
        let st = dom.lock();
        if let Some(l) = st.live.as_ref() {
            self.write_status(&l.def, st.state, st.reason, l.pid);
        }
    }

    /// The status file libvirt keeps for a running guest
    /// (`<domstatus>` around the live definition).
    pub(crate) fn write_status(&self, def: &DomainDef, st: i32, rs: i32, pid: u32) {
        let names = [
            "nostate",
            "running",
            "blocked",
            "paused",
            "shutdown",
            "shutoff",
            "crashed",
            "pmsuspended",
        ];
        let word = names
            .get(usize::try_from(st).unwrap_or(0))
            .copied()
            .unwrap_or("nostate");
        let mut xml = format!("<domstatus state='{word}' reason='{rs}' pid='{pid}'>\n");
        for l in def.to_xml(&FormatFlags::default()).lines() {
            xml.push_str("  ");
            xml.push_str(l);
            xml.push('\n');
        }
        xml.push_str("</domstatus>\n");
        let _ = host::fs::write_atomic(self.status_file(&def.name), xml.as_bytes(), 0o600);
    }

    /// Follows the monitor's events until QEMU exits.
    fn watch(&self, dom: Arc<Dom>, mut rx: mpsc::UnboundedReceiver<QmpEvent>) {
        let Some(drv) = self.weak.upgrade() else {
            return;
        };
        self.rt.spawn(async move {
            let mut shutdown_seen = false;
            // A fake reboot's power off seen: QEMU's STOP follows it.
            let mut fake_pending = None;
            while let Some(ev) = rx.recv().await {
                let mut emit = None;
                let mut reboot = false;
                let mut deleted = None;
                let mut fake_reboot = None;
                let mut balloon = None;
                let mut block_job = None;
                let mut vserport = None;
                {
                    let mut st = dom.lock();
                    if st.live.is_none() {
                        break;
                    }
                    match ev.name.as_str() {
                        // -no-shutdown stopped the powered-off guest of a
                        // fake reboot: now it is reset.
                        "STOP" if fake_pending.is_some() && st.state == state::SHUTDOWN => {
                            fake_reboot = fake_pending.take();
                        }
                        // The switch-over of an outgoing migration.
                        "STOP" if st.state == state::RUNNING && drv.mig.is_outgoing(dom.uuid()) => {
                            st.state = state::PAUSED;
                            st.reason = reason::PAUSED_MIGRATION;
                            emit = Some((
                                lifecycle::SUSPENDED,
                                driver::consts::migrate::SUSPENDED_MIGRATED,
                            ));
                        }
                        "STOP" if st.state == state::RUNNING => {
                            st.state = state::PAUSED;
                            st.reason = reason::PAUSED_UNKNOWN;
                            emit = Some((lifecycle::SUSPENDED, lifecycle::SUSPENDED_PAUSED));
                        }
                        "RESUME" if st.state == state::PAUSED => {
                            st.state = state::RUNNING;
                            st.reason = reason::RUNNING_UNPAUSED;
                            emit = Some((lifecycle::RESUMED, lifecycle::RESUMED_UNPAUSED));
                        }
                        // Our own destroy's SIGTERM makes QEMU report a
                        // host-initiated shutdown: not the guest's.
                        // QEMU runs with -no-shutdown: the guest's power
                        // off stops it, and ending it is ours (its
                        // SIGTERM then reports a second shutdown).
                        // virDomainReboot's ACPI power button: the guest
                        // powered off, QEMU (kept by -no-shutdown) is
                        // reset and goes on.
                        // on_poweroff=restart: the same as a fake reboot.
                        "SHUTDOWN"
                            if st.fake_reboot
                                || (ev.data.get("guest").and_then(|g| g.as_bool())
                                    == Some(true)
                                    && st.live.as_ref().is_some_and(|l| {
                                        l.stop_cause.is_none()
                                            && crate::lifecycle::restarts_on_poweroff(&l.def)
                                    })) =>
                        {
                            st.fake_reboot = false;
                            st.state = state::SHUTDOWN;
                            st.reason = reason::SHUTDOWN_UNKNOWN;
                            fake_pending = st.live.as_ref().map(|l| l.mon.clone());
                            let guest =
                                ev.data.get("guest").and_then(|g| g.as_bool()) == Some(true);
                            emit = Some((
                                lifecycle::SHUTDOWN,
                                if guest {
                                    lifecycle::SHUTDOWN_GUEST
                                } else {
                                    lifecycle::SHUTDOWN_FINISHED
                                },
                            ));
                        }
                        "SHUTDOWN"
                            if !shutdown_seen
                                && st.live.as_ref().and_then(|l| l.stop_cause).is_none() =>
                        {
                            shutdown_seen = true;
                            if let Some(l) = st.live.as_ref() {
                                let _ = host::process::kill(l.pid, libc::SIGTERM);
                            }
                            st.state = state::SHUTDOWN;
                            st.reason = reason::SHUTDOWN_UNKNOWN;
                            let guest =
                                ev.data.get("guest").and_then(|g| g.as_bool()) == Some(true);
                            emit = Some((
                                lifecycle::SHUTDOWN,
                                if guest {
                                    lifecycle::SHUTDOWN_GUEST
                                } else {
                                    lifecycle::SHUTDOWN_FINISHED
                                },
                            ));
                        }
                        // The guest reset (virDomainReset or its own reboot).
                        "RESET" => reboot = true,
                        // The guest opened or closed a virtio-serial port.
                        "VSERPORT_CHANGE" => {
                            vserport = ev.data.get("id").and_then(|d| d.as_str()).map(|id| {
                                let open = ev.data.get("open").and_then(|o| o.as_bool());
                                (id.to_string(), open == Some(true))
                            });
                        }
                        "BALLOON_CHANGE" => {
                            balloon = ev.data.get("actual").and_then(|a| a.as_u64());
                        }
                        "BLOCK_JOB_COMPLETED" | "BLOCK_JOB_CANCELLED" | "BLOCK_JOB_READY" => {
                            block_job = Some(ev.clone());
                        }
                        // A device_del finished (or the guest ejected a
                        // device itself).
                        "DEVICE_DELETED" => {
                            deleted = ev
                                .data
                                .get("device")
                                .and_then(|d| d.as_str())
                                .map(str::to_string);
                        }
                        _ => {}
                    }
                }
                if let Some((e, d)) = emit {
                    drv.emit(dom_ref(&dom), e, d);
                }
                if let Some(ev) = block_job {
                    drv.block_job_ended(&dom, &ev.name, &ev.data);
                }
                if let Some(alias) = deleted {
                    drv.device_deleted(dom.clone(), alias).await;
                }
                if reboot {
                    drv.events
                        .publish(driver::Event::DomainReboot { dom: dom_ref(&dom) });
                }
                if let Some(actual) = balloon {
                    drv.balloon_changed(&dom, actual);
                }
                if let Some((id, open)) = vserport {
                    drv.vserport_changed(&dom, &id, open);
                }
                if let Some(mon) = fake_reboot {
                    drv.finish_fake_reboot(&dom, &mon).await;
                }
            }
            // The monitor is gone: QEMU exited.
            drv.stopped(&dom, shutdown_seen);
        });
    }

    /// Records that the guest's QEMU is gone.
    fn stopped(&self, dom: &Arc<Dom>, shutdown_seen: bool) {
        // The NICs' network ports go back before the guest shows shut
        // off (the taps went with QEMU).
        let Some(live_def) = dom.lock().live.as_ref().map(|l| l.def.clone()) else {
            return;
        };
        self.unplug_nics(&live_def);
        let (r, name, detail, rs) = {
            let mut st = dom.lock();
            let Some(live) = st.live.as_ref() else {
                return;
            };
            let (rs, detail) = match live.stop_cause {
                Some(StopCause::Destroyed) => {
                    (reason::SHUTOFF_DESTROYED, lifecycle::STOPPED_DESTROYED)
                }
                Some(StopCause::Saved) => (reason::SHUTOFF_SAVED, lifecycle::STOPPED_SAVED),
                Some(StopCause::Migrated) => (
                    driver::consts::migrate::SHUTOFF_MIGRATED,
                    driver::consts::migrate::STOPPED_MIGRATED,
                ),
                Some(StopCause::Failed) => (reason::SHUTOFF_FAILED, lifecycle::STOPPED_FAILED),
                Some(StopCause::Crashed) => (reason::SHUTOFF_CRASHED, lifecycle::STOPPED_CRASHED),
                _ if shutdown_seen => (reason::SHUTOFF_SHUTDOWN, lifecycle::STOPPED_SHUTDOWN),
                _ => (reason::SHUTOFF_CRASHED, lifecycle::STOPPED_FAILED),
            };
            let (name, id) = (live.def.name.clone(), live.id);
            give_back(&live.owned);
            self.display_ports.release_all(&live.def);
            // The guest's files go while the domain is still locked: no
            // caller sees it shut off with its files left, and a start
            // that follows cannot have its new status file removed.
            let _ = std::fs::remove_file(self.status_file(&name));
            let _ = std::fs::remove_file(self.opts.state_dir.join(format!("{name}.pid")));
            let _ = std::fs::remove_dir_all(self.domain_dir(id, &name));
            crate::cgroup::remove(&self.conf, id, &live.def);
            self.agent_stopped(dom);
            self.set_live(dom, &mut st, None);
            st.state = state::SHUTOFF;
            st.reason = rs;
            let r = DomainRef {
                name: st.name.clone(),
                uuid: *dom.uuid(),
                id: -1,
            };
            (r, name, detail, rs)
        };
        crate::launch::log_stop(&self.opts.log_dir, &name, rs);
        self.emit(r, lifecycle::STOPPED, detail);
        self.drop_if_transient(dom);
    }

    /// virDomainDestroy: kills QEMU (SIGTERM, then SIGKILL after 10 s) and
    /// waits until the domain is recorded as shut off.
    pub(crate) fn destroy(&self, r: &DomainRef) -> Result<()> {
        let job = self.begin(r, "virDomainDestroy")?;
        self.kill(job.obj(), StopCause::Destroyed)
    }

    /// [`Driver::terminate`] of the running guest's QEMU.
    pub(crate) fn kill(&self, dom: &Arc<Dom>, cause: StopCause) -> Result<()> {
        let pid = {
            let st = dom.lock();
            st.live.as_ref().ok_or_else(not_running)?.pid
        };
        self.terminate(dom, pid, cause)
    }

    /// Ends the guest's QEMU `pid` for `cause` (SIGTERM, then SIGKILL
    /// after 10 s) and waits until the domain is recorded as shut off.
    /// The caller holds the domain's job.
    pub(crate) fn terminate(&self, dom: &Arc<Dom>, pid: u32, cause: StopCause) -> Result<()> {
        if let Some(live) = dom.lock().live.as_mut() {
            live.stop_cause = Some(cause);
        }
        let _ = host::process::kill(pid, libc::SIGTERM);
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while host::process::exists(pid) && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        if host::process::exists(pid) {
            let _ = host::process::kill(pid, libc::SIGKILL);
        }
        // The watcher sees the monitor close and records the stop.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while dom.lock().live.is_some() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        if dom.lock().live.is_some() {
            return Err(op_failed(format!(
                "Failed to terminate process {pid} with SIGKILL"
            )));
        }
        Ok(())
    }

    /// Runs a monitor command on a running domain, holding its job.
    fn monitor(
        &self,
        r: &DomainRef,
        api: &'static str,
        cmd: &'static str,
    ) -> Result<crate::state::JobGuard> {
        let job = self.begin(r, api)?;
        let mon = {
            let st = job.obj().lock();
            st.live.as_ref().ok_or_else(not_running)?.mon.clone()
        };
        match self.block(async move { mon.execute(cmd, None).await }) {
            Some(Ok(_)) => Ok(job),
            Some(Err(e)) => Err(qemu::probe::qmp_error(cmd, e)),
            None => Err(op_failed("monitor call failed")),
        }
    }

    /// virDomainSuspend: `stop`.
    pub(crate) fn suspend(&self, r: &DomainRef) -> Result<()> {
        let job = self.monitor(r, "virDomainSuspend", "stop")?;
        let dom = job.obj().clone();
        let changed = {
            let mut st = dom.lock();
            let was = st.state == state::RUNNING;
            st.state = state::PAUSED;
            st.reason = reason::PAUSED_USER;
            was
        };
        if changed {
            self.emit(
                dom_ref(&dom),
                lifecycle::SUSPENDED,
                lifecycle::SUSPENDED_PAUSED,
            );
        }
        Ok(())
    }

    /// virDomainResume: `cont`.
    pub(crate) fn resume(&self, r: &DomainRef) -> Result<()> {
        let job = self.monitor(r, "virDomainResume", "cont")?;
        let dom = job.obj().clone();
        let changed = {
            let mut st = dom.lock();
            let was = st.state == state::PAUSED;
            st.state = state::RUNNING;
            st.reason = reason::RUNNING_UNPAUSED;
            was
        };
        if changed {
            self.emit(
                dom_ref(&dom),
                lifecycle::RESUMED,
                lifecycle::RESUMED_UNPAUSED,
            );
        }
        Ok(())
    }

    /// virDomainReset: `system_reset` (the guest sees a reset, the
    /// reboot event follows from QEMU's RESET).
    pub(crate) fn reset(&self, r: &DomainRef) -> Result<()> {
        self.monitor(r, "virDomainReset", "system_reset")
            .map(|_| ())
    }

    /// virDomainShutdown: asks the guest (ACPI power button).
    pub(crate) fn shutdown(&self, r: &DomainRef) -> Result<()> {
        self.monitor(r, "virDomainShutdown", "system_powerdown")
            .map(|_| ())
    }
}

impl Driver {
    /// Finds the guests that ran before a daemon restart again: for each
    /// status file, a QEMU still running this guest (its pid, with
    /// `guest=NAME` on its command line) gets its monitor reconnected and
    /// its state asked (`query-status`); the files of a guest whose QEMU is
    /// gone are removed and it is shut off (a transient one is dropped).
    pub(crate) fn reattach(&self) {
        let Ok(dir) = std::fs::read_dir(&self.opts.state_dir) else {
            return;
        };
        let mut files: Vec<PathBuf> = dir
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "xml"))
            .collect();
        files.sort();
        for path in files {
            if let Err(e) = self.reattach_one(&path) {
                eprintln!("qemu driver: {}: {e}", path.display());
                let _ = std::fs::remove_file(&path);
            }
        }
    }

    /// Starts the persistent domains marked for autostart that are not
    /// running (after [`Driver::reattach`], at daemon start-up).
    pub(crate) fn autostart(&self) {
        for dom in self.all() {
            let r = {
                let st = dom.lock();
                if !st.autostart || st.live.is_some() || st.persistent.is_none() {
                    continue;
                }
                DomainRef {
                    name: st.name.clone(),
                    uuid: *dom.uuid(),
                    id: -1,
                }
            };
            if let Err(e) = self.start(&r, false) {
                eprintln!("qemu driver: failed to autostart VM '{}': {e}", r.name);
            }
        }
    }

    /// CPU time QEMU used so far (ns), from /proc.
    pub(crate) fn cpu_time_ns(pid: u32) -> u64 {
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            return 0;
        };
        let Some((_, rest)) = stat.rsplit_once(") ") else {
            return 0;
        };
        let f: Vec<&str> = rest.split_whitespace().collect();
        // utime and stime are fields 14 and 15 of stat (11 and 12 after
        // the command), in clock ticks of 100 Hz on Linux.
        let ticks: u64 = [11, 12]
            .iter()
            .filter_map(|i| f.get(*i).and_then(|v| v.parse::<u64>().ok()))
            .sum();
        ticks * 10_000_000
    }

    fn reattach_one(&self, path: &std::path::Path) -> std::result::Result<(), String> {
        let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
        let pid: u32 = text
            .split("pid='")
            .nth(1)
            .and_then(|r| r.split('\'').next())
            .and_then(|p| p.parse().ok())
            .ok_or("no pid in the status file")?;
        let start = text.find("<domain").ok_or("no domain in the status file")?;
        let end = text
            .rfind("</domain>")
            .ok_or("no domain in the status file")?
            + "</domain>".len();
        let def = crate::state::live_def(&text[start..end]).map_err(|e| e.to_string())?;
        let id = def.id.ok_or("no id in the status file")?;
        let name = def.name.clone();
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let ours = String::from_utf8_lossy(&cmdline).contains(&format!("guest={name},"));
        let dom = self.table_entry(&def);
        if !ours {
            // Gone while the daemon was away: its ports are freed too.
            self.unplug_nics(&def);
            let _ = std::fs::remove_file(path);
            let _ = std::fs::remove_dir_all(self.domain_dir(id, &name));
            let _ = std::fs::remove_file(self.opts.state_dir.join(format!("{name}.pid")));
            self.drop_if_transient(&dom);
            return Ok(());
        }
        let (tx, rx) = mpsc::unbounded_channel();
        let monitor = self.domain_dir(id, &name).join("monitor.sock");
        let timeout = monitor_timeout();
        let res = self.block(async move {
            let stream = tokio::net::UnixStream::connect(&monitor)
                .await
                .map_err(|e| format!("failed to connect to monitor socket: {e}"))?;
            let mon = tokio::time::timeout(timeout, Qmp::connect(stream, Some(tx)))
                .await
                .map_err(|_| "timed out waiting for the QMP greeting".to_string())?
                .map_err(|e| e.to_string())?;
            mon.set_timeout(timeout);
            mon.negotiate().await.map_err(|e| e.to_string())?;
            let st = mon
                .execute("query-status", None)
                .await
                .map_err(|e| e.to_string())?;
            let running = st.ret.get("running").and_then(|r| r.as_bool()) == Some(true);
            Ok::<(Qmp, bool), String>((mon, running))
        });
        let (mon, running) = match res {
            Some(Ok(x)) => x,
            other => {
                self.drop_if_transient(&dom);
                return Err(match other {
                    Some(Err(e)) => e,
                    _ => "monitor connection failed".into(),
                });
            }
        };
        self.bump_id(id);
        self.display_ports.mark(&def);
        self.notify_nics(&def);
        // The owners from before this daemon's start are not known: the
        // files go back to root, as libvirt's restore without a
        // remembered owner.
        let owned = match self.run_as() {
            Some(_) if self.conf.dynamic_ownership => disk_files(&def)
                .into_iter()
                .map(|path| Owned {
                    path,
                    uid: 0,
                    gid: 0,
                })
                .collect(),
            _ => Vec::new(),
        };
        {
            let mut st = dom.lock();
            self.set_live(
                &dom,
                &mut st,
                Some(Live {
                    def,
                    id,
                    pid,
                    mon,
                    stop_cause: None,
                    owned,
                }),
            );
            if running {
                st.state = state::RUNNING;
                st.reason = reason::RUNNING_UNKNOWN;
            } else {
                st.state = state::PAUSED;
                st.reason = reason::PAUSED_UNKNOWN;
            }
        }
        self.watch(dom, rx);
        Ok(())
    }
}

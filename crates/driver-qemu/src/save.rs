// SPDX-License-Identifier: LGPL-2.1-or-later
//! Saving a running guest to a file and starting it again from one
//! (virDomainSave, virDomainRestore, managed save), in libvirt's save
//! image format so that images move between this daemon and C libvirtd:
//!
//! ```text
//! 0   magic "LibvirtQemudSave" ("LibvirtQemudPart" until complete)
//! 16  u32 version (2), u32 data_len, u32 was_running, u32 compressed,
//!     u32 cookie offset, 14 × u32 unused (host byte order)
//! 92  data_len bytes: the domain XML and a NUL, an optional cookie and
//!     NUL, zero padding (64 KiB when written, room for a longer XML)
//! ... QEMU's migration stream
//! ```
//!
//! Saving stops the vCPUs, writes the header and XML, hands the file to
//! QEMU over the monitor socket (`getfd`) and has it `migrate` there; the
//! header gets its final magic once QEMU is done, and QEMU is stopped.
//! Restoring starts QEMU with `-incoming defer` and feeds it the stream
//! after the header (`migrate-incoming fd:...`), through the decompressor
//! named in the header when the image is compressed.

use std::fs::File;
use std::io::Read;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use conf::{DomainDef, FormatFlags};
use driver::consts::{create, job, lifecycle, reason, save, state};
use driver::error::{ErrorCode, ErrorDomain};
use driver::{DomainRef, Error, Result};
use serde_json::{json, Value};

use crate::process::{not_running, StartOptions};
use crate::state::{dom_ref, Dom, Driver, StopCause, QEMU};

/// The magic of a complete image.
pub(crate) const MAGIC: &[u8; 16] = b"LibvirtQemudSave";
/// The magic while QEMU is still writing.
pub(crate) const PARTIAL: &[u8; 16] = b"LibvirtQemudPart";
/// The image format version written and the newest one read.
pub(crate) const VERSION: u32 = 2;
/// The header's size on disk.
pub(crate) const HEADER_LEN: usize = 92;
/// Room left after the XML for a longer one (save-image-define).
const PADDING: usize = 64 * 1024;
/// The compression programs of the header's `compressed` field, by
/// number (raw, gzip, bzip2, xz, lzop).
const COMPRESSORS: [&str; 5] = ["raw", "gzip", "bzip2", "xz", "lzop"];

fn op_failed(msg: impl Into<String>) -> Error {
    Error::new(ErrorCode::OperationFailed, QEMU, msg)
}

fn sys_error(what: &str, path: &Path, e: &std::io::Error) -> Error {
    Error::new(
        ErrorCode::SystemError,
        QEMU,
        format!(
            "{what} '{}': {}",
            path.display(),
            virterror::os_error_text(e)
        ),
    )
}

/// The fixed part of a save image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Header {
    pub version: u32,
    pub data_len: u32,
    pub was_running: bool,
    pub compressed: u32,
    pub cookie_offset: u32,
}

impl Header {
    /// The header's bytes with `magic`.
    pub fn encode(&self, magic: &[u8; 16]) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        b[..16].copy_from_slice(magic);
        let fields = [
            self.version,
            self.data_len,
            u32::from(self.was_running),
            self.compressed,
            self.cookie_offset,
        ];
        for (i, v) in fields.iter().enumerate() {
            b[16 + 4 * i..20 + 4 * i].copy_from_slice(&v.to_ne_bytes());
        }
        b
    }

    /// Reads a header, with libvirt's errors for a partial image, another
    /// file, a newer version (byte-swapped headers are read too) or an
    /// empty data section.
    pub fn decode(b: &[u8; HEADER_LEN]) -> Result<Header> {
        if &b[..16] != MAGIC {
            if &b[..16] == PARTIAL {
                return Err(op_failed("save image is incomplete"));
            }
            return Err(op_failed("image magic is incorrect"));
        }
        let field = |i: usize, swap: bool| {
            let mut w = [0u8; 4];
            w.copy_from_slice(&b[16 + 4 * i..20 + 4 * i]);
            let v = u32::from_ne_bytes(w);
            if swap {
                v.swap_bytes()
            } else {
                v
            }
        };
        let swap = field(0, false) > VERSION;
        let version = field(0, swap);
        if version > VERSION {
            return Err(op_failed(format!(
                "image version is not supported ({version} > {VERSION})"
            )));
        }
        let data_len = field(1, swap);
        // libvirt reads the length as a signed int.
        if data_len == 0 || i32::try_from(data_len).is_err() {
            return Err(op_failed(format!(
                "invalid header data length: {}",
                i32::from_ne_bytes(data_len.to_ne_bytes())
            )));
        }
        Ok(Header {
            version,
            data_len,
            was_running: field(2, swap) != 0,
            compressed: field(3, swap),
            cookie_offset: field(4, swap),
        })
    }
}

/// An opened save image, positioned at QEMU's stream.
pub(crate) struct Image {
    pub header: Header,
    /// The domain XML (up to its NUL).
    pub xml: String,
    pub file: File,
}

/// The text before the first NUL of `b`.
fn c_string(b: &[u8]) -> String {
    let end = b.iter().position(|c| *c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

/// Opens the save image at `path` (for writing too with `write`) and
/// reads its header and XML (libvirt's qemuSaveImageOpen).
pub(crate) fn open_image(path: &Path, write: bool) -> Result<Image> {
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(write)
        .open(path)
        .map_err(|e| sys_error("Failed to open file", path, &e))?;
    let mut hb = [0u8; HEADER_LEN];
    file.read_exact(&mut hb)
        .map_err(|_| op_failed("failed to read qemu header"))?;
    let header = Header::decode(&hb)?;
    let data_len = usize::try_from(header.data_len).unwrap_or(usize::MAX);
    let xml_len = match header.cookie_offset {
        0 => data_len,
        n => usize::try_from(n).unwrap_or(usize::MAX),
    };
    if xml_len > data_len {
        return Err(op_failed("failed to read domain XML"));
    }
    // Bounded by the file's size before allocating: a corrupt length
    // must not reserve gigabytes.
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    if u64::try_from(HEADER_LEN + xml_len).unwrap_or(u64::MAX) > size {
        return Err(op_failed("failed to read domain XML"));
    }
    let mut data = vec![0u8; xml_len];
    file.read_exact(&mut data)
        .map_err(|_| op_failed("failed to read domain XML"))?;
    if data_len > xml_len {
        let mut cookie = vec![0u8; data_len - xml_len];
        file.read_exact(&mut cookie)
            .map_err(|_| op_failed("failed to read cookie"))?;
    }
    Ok(Image {
        header,
        xml: c_string(&data),
        file,
    })
}

/// Writes the header (with `magic`), the XML and the padding at the
/// start of `file`; a header read from an image keeps its data length,
/// which the new XML must fit (libvirt's virQEMUSaveDataWrite).
fn write_data(file: &mut File, header: &mut Header, xml: &str, magic: &[u8; 16]) -> Result<()> {
    let len = xml.len() + 1;
    if header.data_len == 0 {
        header.data_len = u32::try_from(len + PADDING)
            .map_err(|_| op_failed("new xml too large to fit in file"))?;
    } else if len > usize::try_from(header.data_len).unwrap_or(usize::MAX) {
        return Err(op_failed("new xml too large to fit in file"));
    }
    header.cookie_offset = 0;
    let pad = usize::try_from(header.data_len).unwrap_or(0) - len;
    let mut buf = Vec::with_capacity(HEADER_LEN + len + pad);
    buf.extend_from_slice(&header.encode(magic));
    buf.extend_from_slice(xml.as_bytes());
    buf.resize(HEADER_LEN + len + pad, 0);
    file.write_all_at(&buf, 0).map_err(|e| {
        Error::new(
            ErrorCode::SystemError,
            QEMU,
            format!(
                "failed to write header to domain save file: {}",
                virterror::os_error_text(&e)
            ),
        )
    })
}

/// The definition kept in an image, as libvirt formats it there.
fn image_xml(def: &DomainDef) -> String {
    def.to_xml(&FormatFlags {
        inactive: true,
        secure: true,
        migratable: true,
        update_cpu: false,
    })
}

fn check_exclusive(flags: u32) -> Result<()> {
    if flags & save::RUNNING != 0 && flags & save::PAUSED != 0 {
        return Err(Error::new(
            ErrorCode::InvalidArg,
            ErrorDomain::Domain,
            "Flags 'VIR_DOMAIN_SAVE_RUNNING' and 'VIR_DOMAIN_SAVE_PAUSED' are mutually exclusive",
        ));
    }
    Ok(())
}

/// How long to wait between two `query-migrate` calls.
const POLL: Duration = Duration::from_millis(50);

impl Driver {
    /// Where a domain's managed save image lives: `save/NAME.save` in
    /// /var/lib/libvirt/qemu (a user's daemon: in its config directory).
    pub(crate) fn managed_save_path(&self, name: &str) -> PathBuf {
        let base = if self.opts.privileged {
            &self.opts.lib_dir
        } else {
            &self.opts.config_dir
        };
        base.join("save").join(format!("{name}.save"))
    }

    /// Whether domain `name` has a managed save image.
    pub(crate) fn has_managed_save(&self, name: &str) -> bool {
        self.managed_save_path(name).exists()
    }

    /// virDomainSaveFlags (`path`) and virDomainManagedSave (`None`).
    pub(crate) fn save(
        &self,
        r: &DomainRef,
        path: Option<&str>,
        dxml: Option<&str>,
        flags: u32,
    ) -> Result<()> {
        check_exclusive(flags)?;
        let api = if path.is_some() {
            "virDomainSaveFlags"
        } else {
            "virDomainManagedSave"
        };
        let job = self.begin(r, api)?;
        let dom = job.obj().clone();
        let (mon, def, pid, was_running, name, persistent) = {
            let st = dom.lock();
            let live = st.live.as_ref().ok_or_else(not_running)?;
            (
                live.mon.clone(),
                live.def.clone(),
                live.pid,
                st.state == state::RUNNING,
                st.name.clone(),
                st.persistent.is_some(),
            )
        };
        if path.is_none() && !persistent {
            return Err(Error::operation_invalid(
                QEMU,
                "cannot do managed save for transient domain",
            ));
        }
        let target = match path {
            Some(p) => PathBuf::from(p),
            None => {
                let p = self.managed_save_path(&name);
                if let Some(dir) = p.parent() {
                    std::fs::create_dir_all(dir)
                        .map_err(|e| sys_error("cannot create directory", dir, &e))?;
                }
                p
            }
        };
        let xml = match dxml {
            Some(x) => image_xml(&self.parse_def(x, false)?),
            None => image_xml(&def),
        };
        let keep_running = if flags & save::RUNNING != 0 {
            true
        } else if flags & save::PAUSED != 0 {
            false
        } else {
            was_running
        };
        dom.lock().jobs.begin(job::OPERATION_SAVE);
        let res = self.save_to(&dom, &mon, &target, &xml, keep_running, was_running);
        match res {
            Ok(()) => {
                dom.lock().jobs.end(job::COMPLETED);
                self.terminate(&dom, pid, StopCause::Saved)?;
                Ok(())
            }
            Err((e, kind)) => {
                dom.lock().jobs.end(kind);
                if was_running {
                    self.resume_after_failed_save(&dom, &mon);
                }
                Err(e)
            }
        }
    }

    /// Pauses the guest, writes the image and has QEMU stream its state
    /// into it; the error and how the job ended when it fails (the file
    /// removed if this call created it).
    fn save_to(
        &self,
        dom: &Arc<Dom>,
        mon: &qemu::qmp::Qmp,
        path: &Path,
        xml: &str,
        keep_running: bool,
        was_running: bool,
    ) -> std::result::Result<(), (Error, i32)> {
        let failed = |e: Error| (e, job::FAILED);
        if was_running {
            // The state changes first, so the STOP QEMU reports is ours.
            {
                let mut st = dom.lock();
                st.state = state::PAUSED;
                st.reason = reason::PAUSED_SAVE;
            }
            let m = mon.clone();
            match self.block(async move { m.execute("stop", None).await }) {
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(failed(qemu::probe::qmp_error("stop", e))),
                None => return Err(failed(op_failed("monitor call failed"))),
            }
        }
        let existed = path.exists();
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| failed(sys_error("Failed to create file", path, &e)))?;
        let cleanup = |e: (Error, i32)| {
            if !existed {
                let _ = std::fs::remove_file(path);
            }
            e
        };
        let mut header = Header {
            version: VERSION,
            data_len: 0,
            was_running: keep_running,
            compressed: 0,
            cookie_offset: 0,
        };
        write_data(&mut file, &mut header, xml, PARTIAL).map_err(|e| cleanup(failed(e)))?;
        let offset = u64::try_from(HEADER_LEN).unwrap_or(0) + u64::from(header.data_len);
        std::io::Seek::seek(&mut file, std::io::SeekFrom::Start(offset))
            .map_err(|e| cleanup(failed(sys_error("cannot seek in", path, &e))))?;
        self.stream_out(dom, mon, file.as_fd(), "domain save")
            .map_err(cleanup)?;
        // Complete: the final magic, on disk before QEMU goes away.
        file.write_all_at(&header.encode(MAGIC), 0)
            .and_then(|()| file.sync_all())
            .map_err(|e| {
                cleanup(failed(sys_error(
                    "failed to write header to domain save file",
                    path,
                    &e,
                )))
            })?;
        Ok(())
    }

    /// Has QEMU write its migration stream to `fd` and waits until it is
    /// done, recording its progress in the domain's job; `what` names the
    /// job in errors (libvirt's "job 'domain save' failed: ...").
    pub(crate) fn stream_out(
        &self,
        dom: &Arc<Dom>,
        mon: &qemu::qmp::Qmp,
        fd: BorrowedFd<'_>,
        what: &str,
    ) -> std::result::Result<(), (Error, i32)> {
        let failed = |e: Error| (e, job::FAILED);
        let owned = fd
            .try_clone_to_owned()
            .map_err(|e| failed(op_failed(format!("cannot duplicate descriptor: {e}"))))?;
        let m = mon.clone();
        let started = self.block(async move {
            // Unlimited speed, as libvirt does for a file.
            let max = (i64::MAX / (1024 * 1024)) * 1024 * 1024;
            m.execute(
                "migrate-set-parameters",
                Some(json!({ "max-bandwidth": max })),
            )
            .await?;
            m.send_fd("migrate", owned.as_fd()).await?;
            m.execute("migrate", Some(json!({ "uri": "fd:migrate" })))
                .await
                .map(|_| ())
        });
        match started {
            Some(Ok(())) => {}
            Some(Err(e)) => return Err(failed(qemu::probe::qmp_error("migrate", e))),
            None => return Err(failed(op_failed("monitor call failed"))),
        }
        self.wait_migration(dom, mon, what)
    }

    /// Polls `query-migrate` until the stream is complete.
    fn wait_migration(
        &self,
        dom: &Arc<Dom>,
        mon: &qemu::qmp::Qmp,
        what: &str,
    ) -> std::result::Result<(), (Error, i32)> {
        loop {
            let m = mon.clone();
            let q = self.block(async move {
                tokio::time::sleep(POLL).await;
                m.execute("query-migrate", None).await
            });
            let ret = match q {
                Some(Ok(r)) => r.ret,
                Some(Err(e)) => {
                    return Err((qemu::probe::qmp_error("query-migrate", e), job::FAILED))
                }
                None => return Err((op_failed("monitor call failed"), job::FAILED)),
            };
            if let Some(j) = dom.lock().jobs.current.as_mut() {
                j.update(&ret);
            }
            match ret.get("status").and_then(Value::as_str).unwrap_or("") {
                "completed" => return Ok(()),
                "failed" => {
                    let msg = match ret.get("error-desc").and_then(Value::as_str) {
                        Some(d) => format!("job '{what}' failed: {d}"),
                        None => format!("job '{what}' unexpectedly failed"),
                    };
                    return Err((op_failed(msg), job::FAILED));
                }
                "cancelled" => {
                    return Err((
                        Error::new(
                            ErrorCode::OperationAborted,
                            QEMU,
                            format!("job '{what}' canceled by client"),
                        ),
                        job::CANCELLED,
                    ))
                }
                _ => {}
            }
        }
    }

    /// Starts the vCPUs again after a save that failed (libvirt's
    /// "save canceled" running reason).
    fn resume_after_failed_save(&self, dom: &Arc<Dom>, mon: &qemu::qmp::Qmp) {
        {
            let mut st = dom.lock();
            if st.live.is_none() {
                return;
            }
            st.state = state::RUNNING;
            st.reason = reason::RUNNING_SAVE_CANCELED;
        }
        let m = mon.clone();
        let ok = matches!(
            self.block(async move { m.execute("cont", None).await }),
            Some(Ok(_))
        );
        if !ok {
            {
                let mut st = dom.lock();
                st.state = state::PAUSED;
                st.reason = reason::PAUSED_API_ERROR;
            }
            self.emit(
                dom_ref(dom),
                lifecycle::SUSPENDED,
                lifecycle::SUSPENDED_API_ERROR,
            );
        }
    }

    /// virDomainRestoreFlags: starts the guest saved in `path` (a
    /// transient domain unless one of its name and UUID is defined).
    pub(crate) fn restore(&self, path: &str, dxml: Option<&str>, flags: u32) -> Result<()> {
        check_exclusive(flags)?;
        let img = open_image(Path::new(path), false)?;
        let def = self.image_def(&img, dxml)?;
        self.check_add_live(&def)?;
        let dom = self.table_entry(&def);
        let r = dom_ref(&dom);
        let res = (|| {
            let _job = self.begin(&r, "virDomainRestoreFlags")?;
            if dom.lock().live.is_some() {
                return Err(Error::operation_invalid(
                    QEMU,
                    format!("domain '{}' is already active", def.name),
                ));
            }
            let running = if flags & save::RUNNING != 0 {
                true
            } else if flags & save::PAUSED != 0 {
                false
            } else {
                img.header.was_running
            };
            self.start_from_image(&dom, def.clone(), img, running, false)
        })();
        if res.is_err() {
            self.drop_if_transient(&dom);
        }
        res
    }

    /// The definition of an image (or `dxml` in its place), parsed as
    /// libvirt does: inactive, with this driver's defaults.
    fn image_def(&self, img: &Image, dxml: Option<&str>) -> Result<DomainDef> {
        self.parse_def(dxml.unwrap_or(&img.xml), false)
    }

    /// Starts QEMU for `def` waiting for a stream, feeds it the image's
    /// and lets the vCPUs run when `running` and not `paused`. Events:
    /// started/restored, then suspended (restored, or paused when asked)
    /// for a guest left paused.
    fn start_from_image(
        &self,
        dom: &Arc<Dom>,
        def: DomainDef,
        img: Image,
        running: bool,
        paused: bool,
    ) -> Result<()> {
        // The stream: the file after the header, or what its decompressor
        // makes of it.
        let mut decompressor = None;
        let stream: std::os::fd::OwnedFd = match img.header.compressed {
            0 => img.file.into(),
            n => {
                let prog = usize::try_from(n)
                    .ok()
                    .and_then(|i| COMPRESSORS.get(i))
                    .ok_or_else(|| op_failed(format!("Invalid compressed save format {n}")))?;
                let mut cmd = std::process::Command::new(prog);
                cmd.arg("-dc");
                if *prog == "lzop" {
                    cmd.arg("--ignore-warn");
                }
                let mut child = cmd
                    .stdin(std::process::Stdio::from(img.file))
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::null())
                    .spawn()
                    .map_err(|e| op_failed(format!("cannot execute '{prog}': {e}")))?;
                let out = child
                    .stdout
                    .take()
                    .ok_or_else(|| op_failed("decompressor has no output"))?;
                decompressor = Some(child);
                out.into()
            }
        };
        let reap = |d: Option<std::process::Child>| {
            if let Some(mut c) = d {
                let _ = c.kill();
                let _ = c.wait();
            }
        };
        if let Err(e) = self.launch(
            dom,
            def,
            &StartOptions {
                paused: true,
                incoming: Some("defer".into()),
            },
        ) {
            reap(decompressor);
            return Err(e);
        }
        let (mon, pid) = {
            let st = dom.lock();
            match st.live.as_ref() {
                Some(l) => (l.mon.clone(), l.pid),
                None => {
                    reap(decompressor);
                    return Err(Error::internal(QEMU, "guest unexpectedly quit"));
                }
            }
        };
        let m = mon.clone();
        let fed = self.block(async move {
            m.send_fd("migrate", stream.as_fd()).await?;
            drop(stream);
            m.execute("migrate-incoming", Some(json!({ "uri": "fd:migrate" })))
                .await
                .map(|_| ())
        });
        let fed = match fed {
            Some(Ok(())) => self.wait_migration(dom, &mon, "start").map_err(|(e, _)| e),
            Some(Err(e)) => Err(qemu::probe::qmp_error("migrate-incoming", e)),
            None => Err(op_failed("monitor call failed")),
        };
        if let Some(mut c) = decompressor {
            let _ = c.wait();
        }
        if let Err(e) = fed {
            let _ = self.terminate(dom, pid, StopCause::Failed);
            return Err(e);
        }
        let r = dom_ref(dom);
        self.emit(r.clone(), lifecycle::STARTED, lifecycle::STARTED_RESTORED);
        if running && !paused {
            {
                let mut st = dom.lock();
                st.state = state::RUNNING;
                st.reason = reason::RUNNING_RESTORED;
            }
            let m = mon.clone();
            let ok = matches!(
                self.block(async move { m.execute("cont", None).await }),
                Some(Ok(_))
            );
            if !ok {
                let _ = self.terminate(dom, pid, StopCause::Failed);
                return Err(op_failed("failed to resume domain"));
            }
        } else {
            let detail = if paused {
                lifecycle::SUSPENDED_PAUSED
            } else {
                lifecycle::SUSPENDED_RESTORED
            };
            self.emit(r, lifecycle::SUSPENDED, detail);
        }
        self.refresh_status(dom);
        Ok(())
    }

    /// virDomainCreate of a domain with a managed save image: restores it
    /// and removes the image; an incomplete image is removed and the
    /// guest boots (`Ok(false)`), as libvirt does.
    pub(crate) fn start_managed(
        &self,
        dom: &Arc<Dom>,
        def: &DomainDef,
        flags: u32,
    ) -> Result<bool> {
        let path = self.managed_save_path(&def.name);
        if !path.exists() {
            return Ok(false);
        }
        if flags & create::START_FORCE_BOOT != 0 {
            std::fs::remove_file(&path)
                .map_err(|e| sys_error("cannot remove managed save file", &path, &e))?;
            return Ok(false);
        }
        let img = match open_image(&path, false) {
            Ok(i) => i,
            Err(e) => {
                // Short or partial: libvirt removes it and boots afresh.
                let short = std::fs::metadata(&path)
                    .map(|m| m.len() < u64::try_from(HEADER_LEN).unwrap_or(0))
                    .unwrap_or(false);
                let partial = std::fs::read(&path)
                    .map(|b| b.get(..16) == Some(&PARTIAL[..]))
                    .unwrap_or(false);
                if short || partial {
                    std::fs::remove_file(&path)
                        .map_err(|e| sys_error("cannot remove corrupt file:", &path, &e))?;
                    return Ok(false);
                }
                return Err(e);
            }
        };
        let saved = self.image_def(&img, None)?;
        if saved.name != def.name || saved.uuid != def.uuid {
            return Err(op_failed(format!(
                "cannot restore domain '{}' uuid {} from a file which belongs to domain '{}' uuid {}",
                def.name, def.uuid, saved.name, saved.uuid
            )));
        }
        let running = img.header.was_running;
        self.start_from_image(dom, saved, img, running, flags & create::START_PAUSED != 0)?;
        let _ = std::fs::remove_file(&path);
        Ok(true)
    }

    /// virDomainManagedSaveRemove.
    pub(crate) fn managed_save_remove(&self, r: &DomainRef) -> Result<()> {
        let dom = self.get(r)?;
        let name = dom.lock().name.clone();
        let path = self.managed_save_path(&name);
        std::fs::remove_file(&path)
            .map_err(|e| sys_error("Failed to remove managed save file", &path, &e))
    }

    /// virDomainSaveImageGetXMLDesc.
    pub(crate) fn save_image_xml(&self, path: &str, flags: u32) -> Result<String> {
        let img = open_image(Path::new(path), false)?;
        let def = self.image_def(&img, None)?;
        Ok(def.to_xml(&FormatFlags {
            secure: flags & save::IMAGE_XML_SECURE != 0,
            ..FormatFlags::default()
        }))
    }

    /// virDomainSaveImageDefineXML: replaces the image's definition (and
    /// its running/paused state with the flags), in the room the image
    /// has for it.
    pub(crate) fn save_image_define(&self, path: &str, xml: &str, flags: u32) -> Result<()> {
        check_exclusive(flags)?;
        let mut img = open_image(Path::new(path), true)?;
        let state = if flags & save::RUNNING != 0 {
            Some(true)
        } else if flags & save::PAUSED != 0 {
            Some(false)
        } else {
            None
        };
        if img.xml == xml && state.is_none_or(|s| s == img.header.was_running) {
            return Ok(());
        }
        if let Some(s) = state {
            img.header.was_running = s;
        }
        let def = self.parse_def(xml, false)?;
        let text = image_xml(&def);
        let mut header = img.header.clone();
        write_data(&mut img.file, &mut header, &text, MAGIC)?;
        img.file
            .sync_all()
            .map_err(|e| sys_error("failed to write header data to", Path::new(path), &e))
    }

    /// virDomainGetJobStats.
    pub(crate) fn job_stats(
        &self,
        r: &DomainRef,
        flags: u32,
    ) -> Result<(i32, driver::TypedParams)> {
        let dom = self.get(r)?;
        let mut st = dom.lock();
        if flags & job::STATS_COMPLETED != 0 {
            let done = if flags & job::STATS_KEEP_COMPLETED != 0 || st.jobs.current.is_some() {
                st.jobs.completed.clone()
            } else {
                st.jobs.completed.take()
            };
            return Ok(match done {
                Some(j) if st.jobs.current.is_none() => (j.kind, j.params()),
                _ => (job::NONE, Vec::new()),
            });
        }
        if st.live.is_none() {
            return Err(not_running());
        }
        Ok(match &st.jobs.current {
            Some(j) => (j.kind, j.params()),
            None => (job::NONE, Vec::new()),
        })
    }

    /// virDomainAbortJobFlags: cancels a save or an outgoing migration in
    /// progress (QEMU's `migrate_cancel`); it then fails with "canceled by
    /// client".
    pub(crate) fn abort_job(&self, r: &DomainRef) -> Result<()> {
        let dom = self.get(r)?;
        let mon = {
            let st = dom.lock();
            let live = st.live.as_ref().ok_or_else(not_running)?;
            match &st.jobs.current {
                Some(j)
                    if matches!(
                        j.operation,
                        job::OPERATION_SAVE | job::OPERATION_MIGRATION_OUT
                    ) => {}
                _ => {
                    return Err(Error::operation_invalid(
                        QEMU,
                        "no job is active on the domain",
                    ))
                }
            }
            live.mon.clone()
        };
        match self.block(async move { mon.execute("migrate_cancel", None).await }) {
            Some(Ok(_)) => Ok(()),
            Some(Err(e)) => Err(qemu::probe::qmp_error("migrate_cancel", e)),
            None => Err(op_failed("monitor call failed")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> Header {
        Header {
            version: 2,
            data_len: 70000,
            was_running: true,
            compressed: 0,
            cookie_offset: 0,
        }
    }

    #[test]
    fn header_round_trips_with_libvirts_layout() {
        let b = header().encode(MAGIC);
        assert_eq!(&b[..16], b"LibvirtQemudSave");
        assert_eq!(b[16..20], 2u32.to_ne_bytes());
        assert_eq!(b[20..24], 70000u32.to_ne_bytes());
        assert_eq!(b[24..28], 1u32.to_ne_bytes());
        assert!(b[36..].iter().all(|x| *x == 0), "unused words are zero");
        assert_eq!(Header::decode(&b).ok(), Some(header()));
    }

    #[test]
    fn a_byte_swapped_header_is_read() {
        let mut b = header().encode(MAGIC);
        for i in 0..5 {
            b[16 + 4 * i..20 + 4 * i].reverse();
        }
        assert_eq!(Header::decode(&b).ok(), Some(header()));
    }

    fn message(r: Result<Header>) -> String {
        r.err().map(|e| e.to_string()).unwrap_or_default()
    }

    #[test]
    fn bad_headers_get_libvirts_errors() {
        let partial = header().encode(PARTIAL);
        assert!(message(Header::decode(&partial)).contains("save image is incomplete"));
        let mut other = header().encode(MAGIC);
        other[0] = b'X';
        assert!(message(Header::decode(&other)).contains("image magic is incorrect"));
        let newer = Header {
            version: 3,
            ..header()
        }
        .encode(MAGIC);
        // 3 byte-swapped is larger still: refused as libvirt does.
        assert!(message(Header::decode(&newer)).contains("image version is not supported"));
        let empty = Header {
            data_len: 0,
            ..header()
        }
        .encode(MAGIC);
        assert!(message(Header::decode(&empty)).contains("invalid header data length: 0"));
    }

    #[test]
    fn an_image_reads_back_its_xml_and_a_new_one_must_fit() {
        let dir = std::env::temp_dir().join(format!("qemu-save-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
        let path = dir.join("img");
        let mut f = File::create(&path).unwrap_or_else(|e| panic!("{e}"));
        let mut h = Header {
            data_len: 0,
            ..header()
        };
        write_data(&mut f, &mut h, "<domain/>", MAGIC).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            usize::try_from(h.data_len).unwrap_or(0),
            "<domain/>".len() + 1 + PADDING
        );
        let img = open_image(&path, false).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(img.xml, "<domain/>");
        assert!(img.header.was_running);
        let big = "x".repeat(PADDING + 100);
        let mut h2 = img.header.clone();
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap_or_else(|e| panic!("{e}"));
        let err = write_data(&mut f, &mut h2, &big, MAGIC)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("new xml too large to fit in file"), "{err}");
        // A file cut inside the XML is refused without reading past it.
        let _ = f.set_len(100);
        let err = open_image(&path, false)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("failed to read domain XML"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

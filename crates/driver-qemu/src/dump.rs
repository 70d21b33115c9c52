// SPDX-License-Identifier: LGPL-2.1-or-later
//! Core dumps of a running guest (virDomainCoreDumpWithFormat): its
//! whole state as QEMU's migration stream, or with `--memory-only` its
//! memory as an ELF or kdump file (`dump-guest-memory`), written through
//! a descriptor handed to QEMU over the monitor. The guest is paused for
//! the dump unless `--live`, then resumed, reset (`--reset`) or stopped
//! as crashed (`--crash`).

use std::os::fd::AsFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::Duration;

use driver::consts::{job, reason, state};
use driver::error::ErrorCode;
use driver::{DomainRef, Error, Result};
use serde_json::{json, Value};

use crate::process::not_running;
use crate::state::{Driver, StopCause, QEMU};

/// virDomainCoreDumpFlags.
const DUMP_CRASH: u32 = 1 << 0;
const DUMP_LIVE: u32 = 1 << 1;
const DUMP_BYPASS_CACHE: u32 = 1 << 2;
const DUMP_RESET: u32 = 1 << 3;
const DUMP_MEMORY_ONLY: u32 = 1 << 4;

/// QEMU's names of virDomainCoreDumpFormat (raw is its ELF).
const FORMATS: [&str; 5] = ["elf", "kdump-zlib", "kdump-lzo", "kdump-snappy", "win-dmp"];

fn op_failed(msg: impl Into<String>) -> Error {
    Error::new(ErrorCode::OperationFailed, QEMU, msg)
}

impl Driver {
    /// virDomainCoreDumpWithFormat.
    pub(crate) fn core_dump(
        &self,
        r: &DomainRef,
        path: &str,
        format: u32,
        flags: u32,
    ) -> Result<()> {
        Error::check_flags(
            flags,
            DUMP_CRASH | DUMP_LIVE | DUMP_BYPASS_CACHE | DUMP_RESET | DUMP_MEMORY_ONLY,
            "qemuDomainCoreDumpWithFormat",
        )?;
        let job_guard = self.begin(r, "virDomainCoreDumpWithFormat")?;
        let dom = job_guard.obj().clone();
        let (mon, pid, running) = {
            let st = dom.lock();
            let l = st.live.as_ref().ok_or_else(not_running)?;
            (l.mon.clone(), l.pid, st.state == state::RUNNING)
        };
        dom.lock().jobs.begin(job::OPERATION_DUMP);
        let mut paused = false;
        if flags & DUMP_LIVE == 0 && running {
            {
                let mut st = dom.lock();
                st.state = state::PAUSED;
                st.reason = reason::PAUSED_DUMP;
            }
            let m = mon.clone();
            match self.block(async move { m.execute("stop", None).await }) {
                Some(Ok(_)) => paused = true,
                other => {
                    let mut st = dom.lock();
                    st.state = state::RUNNING;
                    st.jobs.end(job::FAILED);
                    return Err(match other {
                        Some(Err(e)) => qemu::probe::qmp_error("stop", e),
                        _ => op_failed("monitor call failed"),
                    });
                }
            }
        }
        let res = self.dump_to(&dom, &mon, Path::new(path), format, flags);
        dom.lock().jobs.end(if res.is_ok() {
            job::COMPLETED
        } else {
            job::FAILED
        });
        if res.is_ok() && flags & DUMP_CRASH != 0 {
            return self.terminate(&dom, pid, StopCause::Crashed);
        }
        let mut res = res;
        if res.is_ok() && flags & DUMP_RESET != 0 {
            let m = mon.clone();
            if let Some(Err(e)) = self.block(async move { m.execute("system_reset", None).await }) {
                res = Err(qemu::probe::qmp_error("system_reset", e));
            }
        }
        if running && (paused || flags & DUMP_RESET != 0) {
            {
                let mut st = dom.lock();
                st.state = state::RUNNING;
                st.reason = reason::RUNNING_UNPAUSED;
            }
            let m = mon.clone();
            if !matches!(
                self.block(async move { m.execute("cont", None).await }),
                Some(Ok(_))
            ) {
                let mut st = dom.lock();
                st.state = state::PAUSED;
                st.reason = reason::PAUSED_API_ERROR;
                if res.is_ok() {
                    res = Err(op_failed("resuming after dump failed"));
                }
            }
        }
        res
    }

    /// Opens `path` and has QEMU write the dump there.
    fn dump_to(
        &self,
        dom: &std::sync::Arc<crate::state::Dom>,
        mon: &qemu::qmp::Qmp,
        path: &Path,
        format: u32,
        flags: u32,
    ) -> Result<()> {
        let name = usize::try_from(format)
            .ok()
            .and_then(|i| FORMATS.get(i))
            .copied();
        if flags & DUMP_MEMORY_ONLY == 0 && format != 0 {
            return Err(Error::new(
                ErrorCode::OperationUnsupported,
                QEMU,
                "kdump-compressed format is only supported with memory-only dump",
            ));
        }
        let Some(name) = name else {
            return Err(Error::new(
                ErrorCode::InvalidArg,
                QEMU,
                format!("unknown dumpformat '{format}'"),
            ));
        };
        let existed = path.exists();
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| {
                Error::new(
                    ErrorCode::SystemError,
                    QEMU,
                    format!(
                        "Failed to create file '{}': {}",
                        path.display(),
                        virterror::os_error_text(&e)
                    ),
                )
            })?;
        let res = if flags & DUMP_MEMORY_ONLY != 0 {
            self.memory_dump(mon, &file, name)
        } else {
            self.stream_out(dom, mon, file.as_fd(), "domain core dump")
                .map_err(|(e, _)| e)
        };
        if res.is_err() && !existed {
            let _ = std::fs::remove_file(path);
        }
        res
    }

    /// `dump-guest-memory` to `file` in QEMU's format `name`, waited for.
    fn memory_dump(
        &self,
        mon: &qemu::qmp::Qmp,
        file: &std::fs::File,
        name: &'static str,
    ) -> Result<()> {
        let fd = file
            .as_fd()
            .try_clone_to_owned()
            .map_err(|e| op_failed(format!("cannot duplicate descriptor: {e}")))?;
        let m = mon.clone();
        let started = self.block(async move {
            if name != "elf" {
                let caps = m
                    .execute("query-dump-guest-memory-capability", None)
                    .await?;
                let known = caps
                    .ret
                    .get("formats")
                    .and_then(Value::as_array)
                    .is_some_and(|f| f.iter().any(|x| x.as_str() == Some(name)));
                if !known {
                    return Ok(false);
                }
            }
            m.send_fd("dump", fd.as_fd()).await?;
            let mut args = json!({ "paging": false, "protocol": "fd:dump", "detach": true });
            if name != "elf" {
                args["format"] = json!(name);
            }
            m.execute("dump-guest-memory", Some(args))
                .await
                .map(|_| true)
        });
        match started {
            Some(Ok(true)) => {}
            Some(Ok(false)) => {
                return Err(Error::new(
                    ErrorCode::InvalidArg,
                    QEMU,
                    format!("unsupported dumpformat '{name}' for this QEMU binary"),
                ))
            }
            Some(Err(e)) => return Err(qemu::probe::qmp_error("dump-guest-memory", e)),
            None => return Err(op_failed("monitor call failed")),
        }
        loop {
            let m = mon.clone();
            let q = self.block(async move {
                tokio::time::sleep(Duration::from_millis(50)).await;
                m.execute("query-dump", None).await
            });
            let status = match q {
                Some(Ok(r)) => r
                    .ret
                    .get("status")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                Some(Err(e)) => return Err(qemu::probe::qmp_error("query-dump", e)),
                None => return Err(op_failed("monitor call failed")),
            };
            match status.as_str() {
                "completed" => return Ok(()),
                "failed" => return Err(op_failed("memory-only dump failed for unknown reason")),
                _ => {}
            }
        }
    }
}

// SPDX-License-Identifier: LGPL-2.1-or-later
//! Block jobs of running guests: `blockpull` (QEMU's `block-stream` of
//! the whole backing chain into the disk's top image), their progress
//! (`query-block-jobs`), speed and cancellation. Jobs are named as
//! libvirt names them (`pull-TARGET-NODE`), so a disk's job is found by
//! its name; QEMU dismisses a finished job itself.
//!
//! QEMU's job end events become the block job events (BLOCK_JOB with the
//! disk's path, BLOCK_JOB_2 with its target).
//!
//! Not done yet: a partial pull to a base, block commit and block copy
//! (they answer libvirt's unsupported-operation error).

use driver::error::ErrorCode;
use driver::{BlockJobInfo, DomainRef, Error, Result};
use serde_json::{json, Value};

use crate::state::{Driver, QEMU};

/// VIR_DOMAIN_BLOCK_PULL_BANDWIDTH_BYTES / VIR_DOMAIN_BLOCK_REBASE_BANDWIDTH_BYTES.
const PULL_BYTES: u32 = 1 << 6;
/// VIR_DOMAIN_BLOCK_JOB_INFO_BANDWIDTH_BYTES / SPEED_BANDWIDTH_BYTES.
const INFO_BYTES: u32 = 1;
/// virDomainBlockJobAbortFlags.
const ABORT_ASYNC: u32 = 1;
const ABORT_PIVOT: u32 = 1 << 1;

/// The job kinds by name prefix (virDomainBlockJobType).
const KINDS: &[(&str, i32)] = &[("pull-", 1), ("copy-", 2), ("commit-", 3)];

const MIB: u64 = 1024 * 1024;

fn disk_missing(path: &str) -> Error {
    Error::new(
        ErrorCode::InvalidArg,
        QEMU,
        format!("disk '{path}' not found in domain"),
    )
}

fn speed_bytes(bandwidth: u64, bytes: bool) -> Result<u64> {
    if bytes {
        return Ok(bandwidth);
    }
    bandwidth.checked_mul(MIB).ok_or_else(|| {
        Error::new(
            ErrorCode::Overflow,
            QEMU,
            format!("bandwidth must be less than {}", u64::MAX / MIB),
        )
    })
}

impl Driver {
    /// The running guest's disk `path`: its target, source file, alias
    /// and monitor.
    fn job_disk(
        &self,
        r: &DomainRef,
        path: &str,
    ) -> Result<(String, Option<String>, String, qemu::qmp::Qmp)> {
        let dom = self.get(r)?;
        let (el, mon) = {
            let st = dom.lock();
            let live = st.live.as_ref().ok_or_else(crate::process::not_running)?;
            let i = crate::hotplug::disk_index(&live.def, path, true)
                .ok_or_else(|| disk_missing(path))?;
            (
                live.def
                    .devices
                    .get(i)
                    .cloned()
                    .ok_or_else(|| disk_missing(path))?,
                live.mon.clone(),
            )
        };
        let target = el
            .child("target")
            .and_then(|t| t.attr("dev"))
            .unwrap_or("")
            .to_string();
        let src = el
            .child("source")
            .and_then(|s| s.attr("file").or(s.attr("dev")))
            .map(str::to_string);
        let alias = match el.child("alias").and_then(|a| a.attr("name")) {
            Some(a) => a.to_string(),
            None => self.disk_alias(&dom, &el)?,
        };
        Ok((target, src, alias, mon))
    }

    /// The disk's job as QEMU reports it.
    fn find_job(&self, mon: &qemu::qmp::Qmp, target: &str) -> Result<Option<Value>> {
        let jobs = self.qmp(mon, "query-block-jobs", None)?;
        Ok(jobs.as_array().into_iter().flatten().find_map(|j| {
            let dev = j.get("device").and_then(Value::as_str)?;
            KINDS
                .iter()
                .any(|(p, _)| dev.starts_with(&format!("{p}{target}-")))
                .then(|| j.clone())
        }))
    }

    /// virDomainBlockPull / virDomainBlockRebase without a copy.
    pub(crate) fn block_pull(
        &self,
        r: &DomainRef,
        path: &str,
        base: Option<&str>,
        bandwidth: u64,
        flags: u32,
    ) -> Result<()> {
        Error::check_flags(flags, PULL_BYTES, "qemuDomainBlockPull")?;
        if base.is_some() {
            return Err(Error::new(
                ErrorCode::OperationUnsupported,
                QEMU,
                "a pull to a base image is not supported by this daemon yet",
            ));
        }
        let speed = speed_bytes(bandwidth, flags & PULL_BYTES != 0)?;
        let _job = self.begin(r, "virDomainBlockPull")?;
        let (target, src, alias, mon) = self.job_disk(r, path)?;
        if self.find_job(&mon, &target)?.is_some() {
            return Err(Error::new(
                ErrorCode::BlockCopyActive,
                QEMU,
                format!("disk '{target}' already in active block job"),
            ));
        }
        let top = self
            .disk_nodes(&mon, &alias, src.as_deref())?
            .into_iter()
            .next()
            .ok_or_else(|| {
                Error::internal(
                    QEMU,
                    format!("cannot find the block node of disk '{target}'"),
                )
            })?;
        let mut args = json!({
            "job-id": format!("pull-{target}-{top}"),
            "device": top,
        });
        if speed > 0 {
            args["speed"] = json!(speed);
        }
        self.qmp(&mon, "block-stream", Some(args))?;
        Ok(())
    }

    /// virDomainGetBlockJobInfo.
    pub(crate) fn block_job_info(
        &self,
        r: &DomainRef,
        path: &str,
        flags: u32,
    ) -> Result<Option<BlockJobInfo>> {
        Error::check_flags(flags, INFO_BYTES, "qemuDomainGetBlockJobInfo")?;
        let (target, _, _, mon) = self.job_disk(r, path)?;
        let Some(j) = self.find_job(&mon, &target)? else {
            return Ok(None);
        };
        let dev = j.get("device").and_then(Value::as_str).unwrap_or("");
        let kind = KINDS
            .iter()
            .find(|(p, _)| dev.starts_with(p))
            .map_or(0, |(_, k)| *k);
        let speed = j.get("speed").and_then(Value::as_u64).unwrap_or(0);
        Ok(Some(BlockJobInfo {
            kind,
            bandwidth: if flags & INFO_BYTES != 0 {
                speed
            } else {
                speed / MIB
            },
            cur: j.get("offset").and_then(Value::as_u64).unwrap_or(0),
            end: j.get("len").and_then(Value::as_u64).unwrap_or(0),
        }))
    }

    /// virDomainBlockJobAbort.
    pub(crate) fn block_job_abort(&self, r: &DomainRef, path: &str, flags: u32) -> Result<()> {
        Error::check_flags(flags, ABORT_ASYNC | ABORT_PIVOT, "qemuDomainBlockJobAbort")?;
        let _job = self.begin(r, "virDomainBlockJobAbort")?;
        let (target, _, _, mon) = self.job_disk(r, path)?;
        let j = self.find_job(&mon, &target)?.ok_or_else(|| {
            Error::new(
                ErrorCode::InvalidArg,
                QEMU,
                format!("disk {target} does not have an active block job"),
            )
        })?;
        if flags & ABORT_PIVOT != 0 {
            return Err(Error::new(
                ErrorCode::OperationInvalid,
                QEMU,
                format!(
                    "block job '{}' not ready for pivot yet",
                    j.get("device").and_then(Value::as_str).unwrap_or("")
                ),
            ));
        }
        let id = j.get("device").cloned().unwrap_or(Value::Null);
        self.qmp(&mon, "block-job-cancel", Some(json!({ "device": id })))?;
        if flags & ABORT_ASYNC == 0 {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
            while self.find_job(&mon, &target)?.is_some() && std::time::Instant::now() < deadline {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
        }
        Ok(())
    }

    /// QEMU's BLOCK_JOB_COMPLETED / BLOCK_JOB_CANCELLED for one of our
    /// jobs: the block job events (completed, failed, cancelled).
    pub(crate) fn block_job_ended(&self, dom: &crate::state::Dom, name: &str, data: &Value) {
        let Some(id) = data.get("device").and_then(Value::as_str) else {
            return;
        };
        let Some((rest, kind)) = KINDS
            .iter()
            .find_map(|(p, k)| id.strip_prefix(p).map(|r| (r, k)))
        else {
            return;
        };
        let target = rest.split('-').next().unwrap_or("").to_string();
        let status = match (name, data.get("error").is_some()) {
            ("BLOCK_JOB_CANCELLED", _) => 2,
            (_, true) => 1,
            _ => 0,
        };
        let path = {
            let st = dom.lock();
            st.live
                .as_ref()
                .and_then(|l| {
                    l.def.devices.iter().find(|d| {
                        d.local_name() == "disk"
                            && d.child("target").and_then(|t| t.attr("dev"))
                                == Some(target.as_str())
                    })
                })
                .and_then(|d| d.child("source"))
                .and_then(|s| s.attr("file").or(s.attr("dev")))
                .unwrap_or("")
                .to_string()
        };
        self.events.publish(driver::Event::DomainBlockJob {
            dom: crate::state::dom_ref(dom),
            path,
            dst: target,
            kind: *kind,
            status,
        });
    }

    /// virDomainBlockJobSetSpeed.
    pub(crate) fn block_job_set_speed(
        &self,
        r: &DomainRef,
        path: &str,
        bandwidth: u64,
        flags: u32,
    ) -> Result<()> {
        Error::check_flags(flags, INFO_BYTES, "qemuDomainBlockJobSetSpeed")?;
        let speed = speed_bytes(bandwidth, flags & INFO_BYTES != 0)?;
        let _job = self.begin(r, "virDomainBlockJobSetSpeed")?;
        let (target, _, _, mon) = self.job_disk(r, path)?;
        let j = self.find_job(&mon, &target)?.ok_or_else(|| {
            Error::new(
                ErrorCode::InvalidArg,
                QEMU,
                format!("disk {target} does not have an active block job"),
            )
        })?;
        let id = j.get("device").cloned().unwrap_or(Value::Null);
        self.qmp(
            &mon,
            "block-job-set-speed",
            Some(json!({ "device": id, "speed": speed })),
        )?;
        Ok(())
    }
}

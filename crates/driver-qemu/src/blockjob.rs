// SPDX-License-Identifier: LGPL-2.1-or-later
//! Block jobs of running guests: `blockpull` (QEMU's `block-stream` of
//! the whole backing chain into the disk's top image), the active
//! `blockcommit` (QEMU's `block-commit` of the top image down its chain,
//! pivoted onto the base with `block-job-complete` once ready), their
//! progress (`query-block-jobs`), speed and cancellation. Jobs are named
//! as libvirt names them (`pull-TARGET-NODE`; an active commit
//! `acommit-...`, its kind), so a disk's job is found by its name; QEMU
//! dismisses a finished job itself. QEMU's job events become the block
//! job events (BLOCK_JOB with the disk's path, BLOCK_JOB_2 with its
//! target).
//!
//! Not done yet: a partial pull to a base, a commit of an inactive layer
//! and block copy (they answer libvirt's unsupported-operation error).

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

/// The job kinds by name prefix (virDomainBlockJobType; an active
/// commit's QEMU job is named apart, the name is QEMU's only).
const KINDS: &[(&str, i32)] = &[("pull-", 1), ("copy-", 2), ("commit-", 3), ("acommit-", 4)];

/// virDomainBlockCommitFlags.
const COMMIT_ACTIVE: u32 = 1 << 2;
const COMMIT_BYTES: u32 = 1 << 4;

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

    /// virDomainBlockCommit of the active layer (`top` None or the disk's
    /// own image, with COMMIT_ACTIVE): QEMU's `block-commit` down to
    /// `base` (None: the bottom of the chain); the job becomes ready and
    /// waits for a pivot (or an abort, which keeps the top).
    pub(crate) fn block_commit(
        &self,
        r: &DomainRef,
        path: &str,
        base: Option<&str>,
        top: Option<&str>,
        bandwidth: u64,
        flags: u32,
    ) -> Result<()> {
        Error::check_flags(flags, COMMIT_ACTIVE | COMMIT_BYTES, "qemuDomainBlockCommit")?;
        let speed = speed_bytes(bandwidth, flags & COMMIT_BYTES != 0)?;
        let _job = self.begin(r, "virDomainBlockCommit")?;
        let (target, src, alias, mon) = self.job_disk(r, path)?;
        let src = src.ok_or_else(|| {
            Error::new(
                ErrorCode::ConfigUnsupported,
                QEMU,
                format!("disk {target} has no source file to be committed"),
            )
        })?;
        if self.find_job(&mon, &target)?.is_some() {
            return Err(Error::new(
                ErrorCode::BlockCopyActive,
                QEMU,
                format!("disk '{target}' already in active block job"),
            ));
        }
        let active_top = top.is_none_or(|t| t == src || t == target);
        if !active_top {
            return Err(Error::new(
                ErrorCode::OperationUnsupported,
                QEMU,
                "a commit of an inactive layer is not supported by this daemon yet",
            ));
        }
        if flags & COMMIT_ACTIVE == 0 {
            return Err(Error::new(
                ErrorCode::InvalidArg,
                QEMU,
                format!("commit of '{target}' active layer requires active flag"),
            ));
        }
        let top_node = self
            .disk_nodes(&mon, &alias, Some(&src))?
            .into_iter()
            .next()
            .ok_or_else(|| {
                Error::internal(
                    QEMU,
                    format!("cannot find the block node of disk '{target}'"),
                )
            })?;
        let mut args = json!({
            "job-id": format!("acommit-{target}-{top_node}"),
            "device": top_node,
        });
        if let Some(b) = base {
            let nodes = self.qmp(&mon, "query-named-block-nodes", None)?;
            let node = nodes
                .as_array()
                .into_iter()
                .flatten()
                .find(|n| {
                    n.get("file").and_then(Value::as_str) == Some(b)
                        && n.get("drv").and_then(Value::as_str) != Some("file")
                })
                .and_then(|n| n.get("node-name").and_then(Value::as_str))
                .ok_or_else(|| {
                    Error::new(
                        ErrorCode::InvalidArg,
                        QEMU,
                        format!(
                            "could not find image '{b}' beneath '{src}' in chain for '{target}'"
                        ),
                    )
                })?;
            args["base-node"] = json!(node);
        }
        if speed > 0 {
            args["speed"] = json!(speed);
        }
        self.qmp(&mon, "block-commit", Some(args))?;
        Ok(())
    }

    /// The pivot of a ready active commit: QEMU's `block-job-complete`,
    /// then the disk names the image QEMU now runs on, in the live and
    /// the persistent definition.
    fn pivot(
        &self,
        r: &DomainRef,
        mon: &qemu::qmp::Qmp,
        target: &str,
        alias: &str,
        job: &Value,
    ) -> Result<()> {
        let id = job.get("device").cloned().unwrap_or(Value::Null);
        if job.get("ready").and_then(Value::as_bool) != Some(true) {
            return Err(Error::new(
                ErrorCode::BlockCopyActive,
                QEMU,
                format!("disk '{target}' not ready for pivot yet"),
            ));
        }
        self.qmp(mon, "block-job-complete", Some(json!({ "device": id })))?;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while self.find_job(mon, target)?.is_some() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let blocks = self.qmp(mon, "query-block", None)?;
        let now = blocks.as_array().into_iter().flatten().find(|b| {
            let qdev = b.get("qdev").and_then(Value::as_str).unwrap_or("");
            qdev == alias || qdev.starts_with(&format!("/machine/peripheral/{alias}/"))
        });
        let file = now
            .and_then(|b| b.pointer("/inserted/file"))
            .and_then(Value::as_str)
            .map(str::to_string);
        let format = now
            .and_then(|b| b.pointer("/inserted/drv"))
            .and_then(Value::as_str)
            .map(str::to_string);
        let Some(file) = file else {
            return Ok(());
        };
        let dom = self.get(r)?;
        let switch = |d: &mut conf::DomainDef| {
            if let Some(disk) = d.devices.iter_mut().find(|x| {
                x.local_name() == "disk"
                    && x.child("target").and_then(|t| t.attr("dev")) == Some(target)
            }) {
                if let Some(s) = disk.child_mut("source") {
                    s.set_attr("file", &file);
                }
                if let (Some(dr), Some(f)) = (disk.child_mut("driver"), format.as_deref()) {
                    dr.set_attr("type", f);
                }
            }
        };
        let mut st = dom.lock();
        let (state, reason) = (st.state, st.reason);
        if let Some(live) = st.live.as_mut() {
            switch(&mut live.def);
            self.write_status(&live.def, state, reason, live.pid);
        }
        if let Some(p) = st.persistent.as_mut() {
            switch(p);
            let p = p.clone();
            drop(st);
            self.write_config(&p)?;
        }
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
        let (target, _, alias, mon) = self.job_disk(r, path)?;
        let j = self.find_job(&mon, &target)?.ok_or_else(|| {
            Error::new(
                ErrorCode::InvalidArg,
                QEMU,
                format!("disk {target} does not have an active block job"),
            )
        })?;
        let dev = j.get("device").and_then(Value::as_str).unwrap_or("");
        if flags & ABORT_PIVOT != 0 {
            if !dev.starts_with("acommit-") {
                return Err(Error::new(
                    ErrorCode::OperationInvalid,
                    QEMU,
                    format!("pivot of disk '{target}' requires an active copy job"),
                ));
            }
            return self.pivot(r, &mon, &target, &alias, &j);
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

    /// QEMU's BLOCK_JOB_COMPLETED / CANCELLED / READY for one of our
    /// jobs: the block job events (completed, failed, cancelled, ready).
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
            ("BLOCK_JOB_READY", _) => 3,
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

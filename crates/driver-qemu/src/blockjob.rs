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
//! Block copy (`blockcopy`, virDomainBlockCopy and the copy form of
//! virDomainBlockRebase) opens its destination beside the disk and runs
//! QEMU's `blockdev-mirror` into it (`copy-TARGET-NODE`); once ready the
//! copy is pivoted to (the disk's source becomes the destination, the old
//! image is closed) or finished (the destination is closed, a consistent
//! copy). The live disk shows a running copy as its `<mirror>`.
//!
//! A commit of an inactive layer (`commit-...`) merges it into the base
//! below and ends by itself; QEMU relinks the image above it.
//!
//! Not done yet: a partial pull to a base (libvirt's
//! unsupported-operation error).

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
const COMMIT_SHALLOW: u32 = 1;
const COMMIT_ACTIVE: u32 = 1 << 2;
const COMMIT_BYTES: u32 = 1 << 4;

const MIB: u64 = 1024 * 1024;

/// virDomainBlockCopyFlags (SHALLOW and REUSE_EXT have the values of
/// virDomainBlockRebaseFlags' SHALLOW and REUSE_EXT).
const COPY_SHALLOW: u32 = 1;
const COPY_REUSE_EXT: u32 = 1 << 1;
const COPY_TRANSIENT_JOB: u32 = 1 << 2;
const COPY_SYNC_WRITES: u32 = 1 << 3;
/// virDomainBlockRebaseFlags of a copy.
const REBASE_COPY_RAW: u32 = 1 << 2;
pub(crate) const REBASE_COPY: u32 = 1 << 3;
const REBASE_RELATIVE: u32 = 1 << 4;
const REBASE_COPY_DEV: u32 = 1 << 5;

/// Where a block copy writes: a file or a block device, its format
/// (None: the disk's own, or probed from a reused image).
#[derive(Debug, Clone)]
pub(crate) struct CopyDest {
    pub path: String,
    pub block: bool,
    pub format: Option<String>,
}

impl CopyDest {
    /// virDomainDiskDefParseSource: a `<disk>` document naming the copy's
    /// source and format.
    fn parse(xml: &str) -> Result<CopyDest> {
        let el = conf::xml::parse_document(xml, "(disk_definition)", "disk")
            .map_err(|e| e.in_domain(driver::error::ErrorDomain::Domain))?;
        let block = el.attr("type") == Some("block");
        let path = el
            .child("source")
            .and_then(|s| s.attr("file").or(s.attr("dev")))
            .unwrap_or("")
            .to_string();
        let format = el
            .child("driver")
            .and_then(|d| d.attr("type"))
            .map(str::to_string);
        Ok(CopyDest {
            path,
            block,
            format,
        })
    }
}

/// Runs `qemu-img ARGS`, its standard output on success.
pub(crate) fn qemu_img(args: &[&str]) -> Result<String> {
    let out = std::process::Command::new("qemu-img")
        .args(args)
        .env("LC_ALL", "C")
        .output()
        .map_err(|e| {
            Error::new(
                ErrorCode::SystemError,
                QEMU,
                format!("Cannot run qemu-img: {e}"),
            )
        })?;
    if !out.status.success() {
        return Err(Error::new(
            ErrorCode::InternalError,
            driver::error::ErrorDomain::None,
            format!(
                "Child process (qemu-img {}) unexpected exit status {}: {}",
                args.join(" "),
                out.status.code().unwrap_or(-1),
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The block node `name` as `query-named-block-nodes` reports it.
fn named_node(nodes: &Value, name: &str) -> Option<Value> {
    nodes
        .as_array()?
        .iter()
        .find(|n| n.get("node-name").and_then(Value::as_str) == Some(name))
        .cloned()
}

/// The format node whose image is `file`.
fn format_node_of(nodes: &Value, file: &str) -> Option<String> {
    nodes.as_array()?.iter().find_map(|n| {
        (n.get("file").and_then(Value::as_str) == Some(file)
            && n.get("drv").and_then(Value::as_str) != Some("file")
            && n.get("drv").and_then(Value::as_str) != Some("host_device"))
        .then(|| {
            n.get("node-name")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .flatten()
    })
}

/// The storage node under the format node `format` (libvirt's pairs
/// libvirt-N-format / libvirt-N-storage).
fn storage_of(format: &str) -> Option<String> {
    format
        .strip_prefix("libvirt-")
        .and_then(|r| r.strip_suffix("-format"))
        .map(|n| format!("libvirt-{n}-storage"))
}

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
        Error::check_flags(
            flags,
            COMMIT_SHALLOW | COMMIT_ACTIVE | COMMIT_BYTES,
            "qemuDomainBlockCommit",
        )?;
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
        let active_node = self
            .disk_nodes(&mon, &alias, Some(&src))?
            .into_iter()
            .next()
            .ok_or_else(|| {
                Error::internal(
                    QEMU,
                    format!("cannot find the block node of disk '{target}'"),
                )
            })?;
        // The disk's chain from its active image down: (node, image).
        let nodes = self.qmp(&mon, "query-named-block-nodes", None)?;
        let mut chain = vec![(active_node.clone(), src.clone())];
        while let Some(next) = chain
            .last()
            .and_then(|(n, _)| named_node(&nodes, n))
            .and_then(|n| {
                n.get("backing_file")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
        {
            let Some(node) = format_node_of(&nodes, &next) else {
                break;
            };
            if chain.len() > 64 || chain.iter().any(|(n, _)| *n == node) {
                break;
            }
            chain.push((node, next));
        }
        let top_idx = match top {
            None => 0,
            Some(t) if t == src || t == target => 0,
            Some(t) => chain.iter().position(|(_, f)| f == t).ok_or_else(|| {
                Error::new(
                    ErrorCode::InvalidArg,
                    QEMU,
                    format!("could not find image '{t}' in chain for '{target}'"),
                )
            })?,
        };
        let top_file = chain
            .get(top_idx)
            .map(|(_, f)| f.clone())
            .unwrap_or_default();
        if top_idx == 0 && flags & COMMIT_ACTIVE == 0 {
            return Err(Error::new(
                ErrorCode::InvalidArg,
                QEMU,
                format!("commit of '{target}' active layer requires active flag"),
            ));
        }
        if top_idx > 0 && flags & COMMIT_ACTIVE != 0 {
            return Err(Error::new(
                ErrorCode::InvalidArg,
                QEMU,
                format!("active commit requested but '{top_file}' is not active"),
            ));
        }
        if chain.len() <= top_idx + 1 {
            return Err(Error::new(
                ErrorCode::InvalidArg,
                QEMU,
                format!("top '{top_file}' in chain for '{target}' has no backing file"),
            ));
        }
        let base_idx = match base {
            None if flags & COMMIT_SHALLOW != 0 => Some(top_idx + 1),
            None => None,
            Some(b) => Some(
                chain
                    .iter()
                    .skip(top_idx + 1)
                    .position(|(_, f)| f == b)
                    .map(|k| k + top_idx + 1)
                    .ok_or_else(|| {
                        Error::new(
                            ErrorCode::InvalidArg,
                            QEMU,
                            format!(
                                "could not find image '{b}' beneath '{top_file}' in chain for '{target}'"
                            ),
                        )
                    })?,
            ),
        };
        if let (true, Some(k)) = (flags & COMMIT_SHALLOW != 0, base_idx) {
            if k != top_idx + 1 {
                return Err(Error::new(
                    ErrorCode::InvalidArg,
                    QEMU,
                    format!(
                        "base '{}' is not immediately below '{top_file}' in chain for '{target}'",
                        base.unwrap_or("")
                    ),
                ));
            }
        }
        let top_node = chain
            .get(top_idx)
            .map(|(n, _)| n.clone())
            .unwrap_or_default();
        let mut args = if top_idx == 0 {
            json!({
                "job-id": format!("acommit-{target}-{top_node}"),
                "device": top_node,
            })
        } else {
            // An inactive layer: QEMU merges it down and completes by
            // itself, relinking the image above onto the base.
            json!({
                "job-id": format!("commit-{target}-{top_node}"),
                "device": active_node,
                "top-node": top_node,
            })
        };
        if let Some((node, _)) = base_idx.and_then(|k| chain.get(k)) {
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
        let copy = dev.starts_with("copy-");
        let dom = self.get(r)?;
        if flags & ABORT_PIVOT != 0 {
            if !dev.starts_with("acommit-") && !copy {
                return Err(Error::new(
                    ErrorCode::OperationInvalid,
                    QEMU,
                    format!("pivot of disk '{target}' requires an active copy job"),
                ));
            }
            let old = if copy {
                let src = {
                    let st = dom.lock();
                    st.live.as_ref().and_then(|l| {
                        crate::hotplug::disk_index(&l.def, &target, true)
                            .and_then(|i| l.def.devices.get(i))
                            .and_then(|d| d.child("source"))
                            .and_then(|s| s.attr("file").or(s.attr("dev")))
                            .map(str::to_string)
                    })
                };
                self.disk_nodes(&mon, &alias, src.as_deref())?
            } else {
                Vec::new()
            };
            self.pivot(r, &mon, &target, &alias, &j)?;
            if copy {
                self.with_live_disk(&dom, &target, |d| d.remove_children("mirror"));
                self.drop_nodes(&mon, &old);
            }
            return Ok(());
        }
        let mirror = if copy {
            self.mirror_nodes(&dom, &mon, &target)?
        } else {
            Vec::new()
        };
        let id = j.get("device").cloned().unwrap_or(Value::Null);
        self.qmp(&mon, "block-job-cancel", Some(json!({ "device": id })))?;
        if flags & ABORT_ASYNC == 0 {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
            while self.find_job(&mon, &target)?.is_some() && std::time::Instant::now() < deadline {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            if copy {
                self.with_live_disk(&dom, &target, |d| d.remove_children("mirror"));
                self.drop_nodes(&mon, &mirror);
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
        if *kind == 2 {
            // A copy's mirror is ready for a pivot, or gone.
            self.with_live_disk(dom, &target, |d| {
                if status == 3 {
                    if let Some(m) = d.child_mut("mirror") {
                        m.set_attr("ready", "yes");
                    }
                } else {
                    d.remove_children("mirror");
                }
            });
        }
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

impl Driver {
    /// virDomainBlockRebase with VIR_DOMAIN_BLOCK_REBASE_COPY: a block
    /// copy of `path` into `dest` (bandwidth in MiB/s unless BYTES).
    pub(crate) fn block_rebase_copy(
        &self,
        r: &DomainRef,
        path: &str,
        dest: Option<&str>,
        bandwidth: u64,
        flags: u32,
    ) -> Result<()> {
        Error::check_flags(
            flags,
            COPY_SHALLOW
                | COPY_REUSE_EXT
                | REBASE_COPY
                | REBASE_COPY_RAW
                | REBASE_RELATIVE
                | REBASE_COPY_DEV
                | PULL_BYTES,
            "qemuDomainBlockRebase",
        )?;
        self.get(r)?;
        let dest = CopyDest {
            path: dest.unwrap_or("").to_string(),
            block: flags & REBASE_COPY_DEV != 0,
            format: (flags & REBASE_COPY_RAW != 0).then(|| "raw".to_string()),
        };
        let mut speed = bandwidth;
        if flags & PULL_BYTES == 0 {
            let limit = (i64::MAX as u64) >> 20;
            if speed > limit {
                return Err(Error::new(
                    ErrorCode::Overflow,
                    QEMU,
                    format!("bandwidth must be less than {limit}"),
                ));
            }
            speed <<= 20;
        }
        if flags & REBASE_RELATIVE != 0 {
            return Err(Error::new(
                ErrorCode::ArgumentUnsupported,
                QEMU,
                "Relative backing during copy not supported yet",
            ));
        }
        self.copy_common(
            r,
            path,
            dest,
            speed,
            0,
            0,
            flags & (COPY_SHALLOW | COPY_REUSE_EXT),
        )
    }

    /// virDomainBlockCopy: `destxml` a `<disk>` naming the destination,
    /// `params` its bandwidth (bytes/s), granularity and buffer size.
    pub(crate) fn block_copy(
        &self,
        r: &DomainRef,
        path: &str,
        destxml: &str,
        params: &driver::TypedParams,
        flags: u32,
    ) -> Result<()> {
        Error::check_flags(
            flags,
            COPY_SHALLOW | COPY_REUSE_EXT | COPY_TRANSIENT_JOB | COPY_SYNC_WRITES,
            "qemuDomainBlockCopy",
        )?;
        driver::types::validate_params(
            params,
            &[
                ("bandwidth", "ullong"),
                ("granularity", "uint"),
                ("buf-size", "ullong"),
            ],
        )?;
        self.get(r)?;
        let (mut bandwidth, mut granularity, mut buf_size) = (0u64, 0u32, 0u64);
        for (k, v) in params {
            match (k.as_str(), v) {
                ("bandwidth", driver::TypedValue::ULLong(b)) => bandwidth = *b,
                ("granularity", driver::TypedValue::UInt(g)) => {
                    if *g != 0 && !g.is_power_of_two() {
                        return Err(Error::new(
                            ErrorCode::InvalidArg,
                            QEMU,
                            "granularity must be power of 2",
                        ));
                    }
                    granularity = *g;
                }
                ("buf-size", driver::TypedValue::ULLong(b)) => buf_size = *b,
                _ => {}
            }
        }
        let dest = CopyDest::parse(destxml)?;
        self.copy_common(r, path, dest, bandwidth, granularity, buf_size, flags)
    }

    /// The copy itself: the destination created (unless reused) and
    /// opened in QEMU, then `blockdev-mirror` from the disk's top node;
    /// the live disk shows the job as its `<mirror>`.
    #[allow(clippy::too_many_arguments)]
    fn copy_common(
        &self,
        r: &DomainRef,
        path: &str,
        dest: CopyDest,
        speed: u64,
        granularity: u32,
        buf_size: u64,
        flags: u32,
    ) -> Result<()> {
        if !dest.path.starts_with('/') {
            return Err(Error::new(
                ErrorCode::InvalidArg,
                QEMU,
                "absolute path must be used as block copy target",
            ));
        }
        if speed > i64::MAX as u64 {
            return Err(Error::new(
                ErrorCode::InvalidArg,
                QEMU,
                format!(
                    "bandwidth must be less than '{}' bytes/s ({} MiB/s)",
                    i64::MAX,
                    i64::MAX >> 20
                ),
            ));
        }
        let _job = self.begin(r, "virDomainBlockCopy")?;
        let (target, src, alias, mon) = self.job_disk(r, path)?;
        if self.find_job(&mon, &target)?.is_some() {
            return Err(Error::new(
                ErrorCode::BlockCopyActive,
                QEMU,
                format!("disk '{target}' already in active block job"),
            ));
        }
        let dom = self.get(r)?;
        if flags & COPY_TRANSIENT_JOB == 0 && dom.lock().persistent.is_some() {
            return Err(Error::new(
                ErrorCode::OperationInvalid,
                QEMU,
                "domain is not transient",
            ));
        }
        let reuse = flags & COPY_REUSE_EXT != 0;
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
        let nodes = self.qmp(&mon, "query-named-block-nodes", None)?;
        let top_info = named_node(&nodes, &top).unwrap_or(Value::Null);
        let backing_file = top_info
            .get("backing_file")
            .and_then(Value::as_str)
            .map(str::to_string);
        let backing_node = backing_file
            .as_deref()
            .and_then(|b| format_node_of(&nodes, b));
        // A disk of one layer has nothing to be shallow over.
        let shallow = flags & COPY_SHALLOW != 0 && backing_file.is_some();
        // qemuDomainBlockCopyValidateMirror.
        let mut existing = reuse;
        match std::fs::metadata(&dest.path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if reuse || dest.block {
                    return Err(Error::new(
                        ErrorCode::SystemError,
                        QEMU,
                        format!(
                            "missing destination file for disk {target}: {}: No such file or directory",
                            dest.path
                        ),
                    ));
                }
            }
            Err(e) => {
                return Err(Error::new(
                    ErrorCode::SystemError,
                    QEMU,
                    format!("unable to verify existence of block copy target: {e}"),
                ))
            }
            Ok(md) => {
                use std::os::unix::fs::FileTypeExt;
                if md.file_type().is_block_device() {
                    existing = true;
                } else {
                    if md.len() > 0 && !reuse {
                        return Err(Error::new(
                            ErrorCode::ConfigUnsupported,
                            QEMU,
                            format!(
                                "external destination file for disk {target} already exists and is not a block device: {}",
                                dest.path
                            ),
                        ));
                    }
                    if dest.block {
                        return Err(Error::new(
                            ErrorCode::InvalidArg,
                            QEMU,
                            format!(
                                "blockdev flag requested for disk {target}, but file '{}' is not a block device",
                                dest.path
                            ),
                        ));
                    }
                }
            }
        }
        let disk_format = top_info
            .get("drv")
            .and_then(Value::as_str)
            .unwrap_or("raw")
            .to_string();
        let format = match (&dest.format, reuse) {
            (Some(f), _) => f.clone(),
            (None, false) => disk_format,
            (None, true) => {
                let probe = if dest.block {
                    None
                } else {
                    qemu_img(&["info", "--output=json", "-U", &dest.path])
                        .ok()
                        .and_then(|s| serde_json::from_str::<Value>(&s).ok())
                        .and_then(|v| v.get("format").and_then(Value::as_str).map(str::to_string))
                };
                probe.ok_or_else(|| {
                    Error::new(
                        ErrorCode::ConfigUnsupported,
                        QEMU,
                        "reused mirror destination format must be specified",
                    )
                })?
            }
        };
        if shallow && !existing && format == "raw" {
            return Err(Error::new(
                ErrorCode::ConfigUnsupported,
                QEMU,
                format!("shallow copy of disk '{target}' into a raw file is not possible"),
            ));
        }
        let mut created = false;
        if !existing {
            let size = top_info
                .pointer("/image/virtual-size")
                .and_then(Value::as_u64)
                .unwrap_or(0)
                .to_string();
            let mut args = vec!["create", "-q", "-f", format.as_str()];
            let backing_fmt = backing_node
                .as_deref()
                .and_then(|n| named_node(&nodes, n))
                .and_then(|n| n.get("drv").and_then(Value::as_str).map(str::to_string))
                .unwrap_or_else(|| "raw".to_string());
            if let (true, Some(b)) = (shallow, backing_file.as_deref()) {
                args.extend(["-b", b, "-F", backing_fmt.as_str()]);
            }
            args.push(&dest.path);
            args.push(&size);
            qemu_img(&args).map_err(|e| {
                Error::new(
                    ErrorCode::SystemError,
                    QEMU,
                    format!("failed to create copy target: {}", e.message()),
                )
            })?;
            created = true;
            if let (Some((uid, gid)), true) = (self.run_as(), self.conf.dynamic_ownership) {
                let owned = crate::process::hand_over(&[dest.path.clone().into()], uid, gid)?;
                if let Some(live) = dom.lock().live.as_mut() {
                    live.owned.extend(owned);
                }
            }
        }
        let n = self.next_node_index(&mon)?;
        let storage = format!("libvirt-{n}-storage");
        let fmt_node = format!("libvirt-{n}-format");
        let job_id = format!("copy-{target}-{top}");
        let res = (|| {
            let driver = if dest.block { "host_device" } else { "file" };
            self.qmp(
                &mon,
                "blockdev-add",
                Some(
                    json!({"driver": driver, "filename": dest.path, "node-name": storage,
                            "auto-read-only": true, "discard": "unmap"}),
                ),
            )?;
            let mut fargs = json!({"node-name": fmt_node, "read-only": false,
                                   "driver": format, "file": storage});
            if format != "raw" {
                // A deep copy stands alone; a shallow one keeps the
                // disk's backing chain under it; a reused image brings
                // its own.
                match (shallow, &backing_node, reuse) {
                    (true, Some(b), _) => fargs["backing"] = json!(b),
                    (false, _, _) => fargs["backing"] = Value::Null,
                    _ => {}
                }
            }
            self.qmp(&mon, "blockdev-add", Some(fargs))?;
            let mut margs = json!({
                "job-id": job_id,
                "device": top,
                "target": fmt_node,
                "sync": if shallow { "top" } else { "full" },
                "auto-finalize": true,
            });
            if speed > 0 {
                margs["speed"] = json!(speed);
            }
            if granularity > 0 {
                margs["granularity"] = json!(granularity);
            }
            if buf_size > 0 {
                margs["buf-size"] = json!(buf_size);
            }
            if flags & COPY_SYNC_WRITES != 0 {
                margs["copy-mode"] = json!("write-blocking");
            }
            self.qmp(&mon, "blockdev-mirror", Some(margs))?;
            Ok(())
        })();
        if let Err(e) = res {
            let _ = self.qmp(&mon, "blockdev-del", Some(json!({ "node-name": fmt_node })));
            let _ = self.qmp(&mon, "blockdev-del", Some(json!({ "node-name": storage })));
            if created {
                let _ = std::fs::remove_file(&dest.path);
            }
            return Err(e);
        }
        // The live disk shows the copy as its mirror.
        let kind = if dest.block { "block" } else { "file" };
        let mut source = conf::xml::Element::new("source");
        source.set_attr(if dest.block { "dev" } else { "file" }, &dest.path);
        let mut mirror = conf::xml::Element::new("mirror").with_attr("type", kind);
        if !dest.block {
            mirror.set_attr("file", &dest.path);
            mirror.set_attr("format", &format);
        }
        mirror.set_attr("job", "copy");
        let mirror = mirror
            .with_child(conf::xml::Element::new("format").with_attr("type", &format))
            .with_child(source);
        self.with_live_disk(&dom, &target, |disk| {
            disk.remove_children("mirror");
            disk.insert_after_names(
                mirror.clone(),
                &[
                    "driver",
                    "auth",
                    "source",
                    "backingStore",
                    "backenddomain",
                    "geometry",
                    "blockio",
                ],
            );
        });
        Ok(())
    }

    /// Applies `f` to the running guest's disk `target` and records the
    /// live definition.
    fn with_live_disk(
        &self,
        dom: &crate::state::Dom,
        target: &str,
        f: impl Fn(&mut conf::xml::Element),
    ) {
        let mut st = dom.lock();
        let (state, reason) = (st.state, st.reason);
        if let Some(live) = st.live.as_mut() {
            if let Some(disk) = live.def.devices.iter_mut().find(|x| {
                x.local_name() == "disk"
                    && x.child("target").and_then(|t| t.attr("dev")) == Some(target)
            }) {
                f(disk);
            }
            self.write_status(&live.def, state, reason, live.pid);
        }
    }

    /// The block nodes of a copy's destination (format node, then its
    /// storage node), found by the image the live `<mirror>` names.
    fn mirror_nodes(
        &self,
        dom: &crate::state::Dom,
        mon: &qemu::qmp::Qmp,
        target: &str,
    ) -> Result<Vec<String>> {
        let file = {
            let st = dom.lock();
            st.live.as_ref().and_then(|l| {
                l.def
                    .devices
                    .iter()
                    .find(|x| {
                        x.local_name() == "disk"
                            && x.child("target").and_then(|t| t.attr("dev")) == Some(target)
                    })
                    .and_then(|d| d.child("mirror"))
                    .and_then(|m| m.child("source"))
                    .and_then(|s| s.attr("file").or(s.attr("dev")))
                    .map(str::to_string)
            })
        };
        let Some(file) = file else {
            return Ok(Vec::new());
        };
        let nodes = self.qmp(mon, "query-named-block-nodes", None)?;
        Ok(format_node_of(&nodes, &file)
            .map(|f| {
                let s = storage_of(&f);
                std::iter::once(f).chain(s).collect()
            })
            .unwrap_or_default())
    }

    /// Closes block nodes QEMU no longer needs (format node first).
    fn drop_nodes(&self, mon: &qemu::qmp::Qmp, nodes: &[String]) {
        for n in nodes {
            if let Err(e) = self.qmp(mon, "blockdev-del", Some(json!({ "node-name": n }))) {
                crate::state::log(format!("cannot close block node {n}: {}", e.message()));
            }
        }
    }
}

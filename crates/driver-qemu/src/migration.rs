// SPDX-License-Identifier: LGPL-2.1-or-later
//! Migrating guests between hosts: the five phases of libvirt's version 3
//! protocol with typed parameters, as the QEMU driver runs them.
//!
//! - Begin (source): the domain's migratable XML and a cookie naming the
//!   domain and this host; the domain is marked as migrating out.
//! - Prepare (destination): the definition is checked, a QEMU started
//!   with `-incoming tcp:ADDR:PORT` (paused, state "paused, migration",
//!   the STARTED/MIGRATED event), and the URI to send to returned. An
//!   offline migration starts nothing.
//! - Perform (source): QMP `migrate-set-capabilities`,
//!   `migrate-set-parameters`, `migrate`, then `query-migrate` until the
//!   stream completed, failed or was cancelled (`domjobabort`). QEMU stops
//!   the vCPUs at the switch-over (SUSPENDED/MIGRATED); a failure resumes
//!   them.
//! - Finish (destination): waits for the incoming stream, resumes the
//!   guest (RESUMED/MIGRATED), makes it persistent when asked; cancelled,
//!   it kills the incoming QEMU.
//! - Confirm (source): kills the source QEMU (STOPPED/MIGRATED) and
//!   undefines the domain when asked; cancelled, it resumes the guest.
//!
//! Peer-to-peer migration (the source daemon calling the destination
//! itself) is driven by the daemon's dispatch layer with these same phases.

pub(crate) mod cookie;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use conf::{DomainDef, FormatFlags};
use driver::consts::migrate as m;
use driver::consts::{job, lifecycle, reason, state};
use driver::error::{ErrorCode, ErrorDomain};
use driver::{DomainRef, Error, Result, TypedParams, TypedValue};
use qemu::qmp::Qmp;
use serde_json::{json, Value};

use crate::process::{not_running, StartOptions};
use crate::state::{dom_ref, Dom, Driver, StopCause, QEMU};
use cookie::Cookie;

/// The flags libvirt's QEMU driver accepts in every phase.
const ALL_FLAGS: u32 = m::LIVE
    | m::PEER2PEER
    | m::TUNNELLED
    | m::PERSIST_DEST
    | m::UNDEFINE_SOURCE
    | m::PAUSED
    | m::NON_SHARED_DISK
    | m::NON_SHARED_INC
    | m::CHANGE_PROTECTION
    | m::UNSAFE
    | m::OFFLINE
    | m::COMPRESSED
    | m::ABORT_ON_ERROR
    | m::AUTO_CONVERGE
    | m::RDMA_PIN_ALL
    | m::POSTCOPY
    | m::TLS
    | m::PARALLEL
    | m::NON_SHARED_SYNCHRONOUS_WRITES
    | m::POSTCOPY_RESUME
    | m::ZEROCOPY;

/// Of those, what this driver does not do yet.
const NOT_YET: u32 = m::TUNNELLED
    | m::NON_SHARED_INC
    | m::RDMA_PIN_ALL
    | m::POSTCOPY
    | m::TLS
    | m::PARALLEL
    | m::NON_SHARED_SYNCHRONOUS_WRITES
    | m::POSTCOPY_RESUME
    | m::ZEROCOPY;

/// The cookie parts this side reads (everything libvirt sends but dirty
/// bitmaps of storage migration).
const COOKIE_ACCEPTED: u32 = (1 << 11) - 1;

/// libvirt's unlimited migration bandwidth (MiB/s): INT64_MAX bytes/s.
pub(crate) const BANDWIDTH_MAX: u64 = (i64::MAX as u64) / (1024 * 1024);

/// How often a running migration is polled.
const POLL: Duration = Duration::from_millis(50);

/// The migration parameters this driver knows, with their types
/// (libvirt's QEMU_MIGRATION_PARAMETERS).
const KNOWN_PARAMS: &[(&str, &str)] = &[
    (m::PARAM_URI, "string"),
    (m::PARAM_DEST_NAME, "string"),
    (m::PARAM_DEST_XML, "string"),
    (m::PARAM_BANDWIDTH, "ullong"),
    (m::PARAM_GRAPHICS_URI, "string"),
    (m::PARAM_LISTEN_ADDRESS, "string"),
    (m::PARAM_MIGRATE_DISKS, "string"),
    (m::PARAM_DISKS_PORT, "int"),
    (m::PARAM_COMPRESSION, "string"),
    ("compression.mt.level", "int"),
    ("compression.mt.threads", "int"),
    ("compression.mt.dthreads", "int"),
    ("compression.xbzrle.cache", "ullong"),
    (m::PARAM_PERSIST_XML, "string"),
    (m::PARAM_AUTO_CONVERGE_INITIAL, "int"),
    (m::PARAM_AUTO_CONVERGE_INCREMENT, "int"),
    (m::PARAM_BANDWIDTH_POSTCOPY, "ullong"),
    (m::PARAM_PARALLEL_CONNECTIONS, "int"),
    (m::PARAM_TLS_DESTINATION, "string"),
    (m::PARAM_DISKS_URI, "string"),
    ("compression.zlib.level", "int"),
    ("compression.zstd.level", "int"),
];

fn type_name(v: &TypedValue) -> &'static str {
    match v {
        TypedValue::Int(_) => "int",
        TypedValue::UInt(_) => "uint",
        TypedValue::LLong(_) => "llong",
        TypedValue::ULLong(_) => "ullong",
        TypedValue::Double(_) => "double",
        TypedValue::Boolean(_) => "boolean",
        TypedValue::String(_) => "string",
    }
}

/// The migration's typed parameters, checked as libvirt's
/// virTypedParamsValidate does.
#[derive(Debug, Default, Clone)]
pub(crate) struct Params {
    pub uri: Option<String>,
    pub dest_name: Option<String>,
    pub dest_xml: Option<String>,
    pub persist_xml: Option<String>,
    pub bandwidth: Option<u64>,
    pub listen_address: Option<String>,
    pub auto_converge_initial: Option<i32>,
    pub auto_converge_increment: Option<i32>,
    /// The disks storage migration copies (targets; empty: all).
    pub migrate_disks: Vec<String>,
}

impl Params {
    pub(crate) fn parse(p: &TypedParams) -> Result<Params> {
        let mut out = Params::default();
        for (name, v) in p {
            let Some((_, want)) = KNOWN_PARAMS.iter().find(|(n, _)| n == name) else {
                return Err(Error::new(
                    ErrorCode::ArgumentUnsupported,
                    ErrorDomain::None,
                    format!("parameter '{name}' not supported"),
                ));
            };
            if type_name(v) != *want {
                return Err(Error::invalid_arg(
                    ErrorDomain::None,
                    format!(
                        "invalid type '{}' for parameter '{name}', expected '{want}'",
                        type_name(v)
                    ),
                ));
            }
            let s = || match v {
                TypedValue::String(s) => Some(s.clone()),
                _ => None,
            };
            match name.as_str() {
                m::PARAM_URI => out.uri = s(),
                m::PARAM_DEST_NAME => out.dest_name = s(),
                m::PARAM_DEST_XML => out.dest_xml = s(),
                m::PARAM_PERSIST_XML => out.persist_xml = s(),
                m::PARAM_LISTEN_ADDRESS => out.listen_address = s(),
                m::PARAM_MIGRATE_DISKS => out.migrate_disks.extend(s()),
                m::PARAM_BANDWIDTH => {
                    if let TypedValue::ULLong(b) = v {
                        out.bandwidth = Some(*b);
                    }
                }
                m::PARAM_AUTO_CONVERGE_INITIAL => {
                    if let TypedValue::Int(i) = v {
                        out.auto_converge_initial = Some(*i);
                    }
                }
                m::PARAM_AUTO_CONVERGE_INCREMENT => {
                    if let TypedValue::Int(i) = v {
                        out.auto_converge_increment = Some(*i);
                    }
                }
                _ => {}
            }
        }
        Ok(out)
    }
}

/// The flags every phase checks first: unknown bits, and what an offline
/// migration cannot be.
fn check_flags(flags: u32, func: &str) -> Result<()> {
    Error::check_flags(flags, ALL_FLAGS, func)?;
    if flags & m::OFFLINE != 0 {
        let refuse = |msg: &str| Err(Error::operation_invalid(QEMU, msg));
        if flags & (m::NON_SHARED_DISK | m::NON_SHARED_INC) != 0 {
            return refuse("offline migration cannot handle non-shared storage");
        }
        if flags & m::PERSIST_DEST == 0 {
            return refuse("offline migration must be specified with the persistent flag set");
        }
        if flags & m::TUNNELLED != 0 {
            return refuse("tunnelled offline migration does not make sense");
        }
    }
    Ok(())
}

/// The known flags this driver cannot honour yet (checked once the
/// domain is known to be migratable at all, as libvirt orders its
/// checks).
fn check_implemented(flags: u32) -> Result<()> {
    if flags & NOT_YET != 0 {
        return Err(Error::new(
            ErrorCode::ArgumentUnsupported,
            QEMU,
            format!(
                "migration flags 0x{:x} are not supported by this QEMU driver",
                flags & NOT_YET
            ),
        ));
    }
    Ok(())
}

/// This host's name (what `virsh hostname` says).
pub(crate) fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// Milliseconds since the epoch.
fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// An outgoing migration of one domain (from Begin, or Perform without
/// change protection, to Confirm).
#[derive(Debug)]
pub(crate) struct Outgoing {
    /// The source's monitor while the stream runs (for tuning).
    mon: Mutex<Option<Qmp>>,
    performing: AtomicBool,
}

impl Outgoing {
    fn new() -> Arc<Outgoing> {
        Arc::new(Outgoing {
            mon: Mutex::new(None),
            performing: AtomicBool::new(false),
        })
    }
}

/// An incoming migration prepared here, waiting for Finish.
#[derive(Debug, Clone)]
struct Incoming {
    uuid: [u8; 16],
    port: Option<u16>,
    /// The definition received (offline: what Finish defines).
    def: DomainDef,
}

/// What a migration's client connection leaves to clean up if it goes
/// away before the last phase (libvirt's migration close callbacks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Abandoned {
    /// Begun with change protection, not confirmed: the source's
    /// migration ends, the guest running on.
    Outgoing,
    /// Prepared, not finished: the incoming QEMU is killed.
    Incoming,
}

/// The driver's migrations.
#[derive(Debug, Default)]
pub(crate) struct Table {
    /// Per client connection, the migrations it has not finished.
    close: driver::CloseCallbacks<Abandoned>,
    out: Mutex<HashMap<[u8; 16], Arc<Outgoing>>>,
    /// By the name the domain has here.
    incoming: Mutex<HashMap<String, Incoming>>,
    /// virDomainMigrateSetMaxSpeed values (MiB/s) by domain.
    speed: Mutex<HashMap<[u8; 16], u64>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Table {
    /// Whether domain `uuid` is migrating out (its vCPUs stopping is the
    /// switch-over, not a pause).
    pub(crate) fn is_outgoing(&self, uuid: &[u8; 16]) -> bool {
        lock(&self.out).contains_key(uuid)
    }

    fn outgoing(&self, uuid: &[u8; 16]) -> Option<Arc<Outgoing>> {
        lock(&self.out).get(uuid).cloned()
    }

    fn ports_in_use(&self) -> Vec<u16> {
        lock(&self.incoming)
            .values()
            .filter_map(|i| i.port)
            .collect()
    }
}

/// The cookie's `<statistics>` from a `query-migrate` answer.
fn cookie_stats(info: &Value, started: u64, stopped: u64) -> Vec<(String, String)> {
    let ram = info.get("ram").cloned().unwrap_or(Value::Null);
    let n = |v: &Value, k: &str| v.get(k).and_then(Value::as_u64).unwrap_or(0);
    let mut s = vec![
        ("started".to_string(), started.to_string()),
        ("stopped".to_string(), stopped.to_string()),
        ("sent".to_string(), now_ms().to_string()),
        (
            "time_elapsed".to_string(),
            n(info, "total-time").to_string(),
        ),
    ];
    if let Some(d) = info.get("downtime").and_then(Value::as_u64) {
        s.push(("downtime".into(), d.to_string()));
    }
    if let Some(d) = info.get("setup-time").and_then(Value::as_u64) {
        s.push(("setup_time".into(), d.to_string()));
    }
    for (k, q) in [
        ("memory_total", "total"),
        ("memory_processed", "transferred"),
        ("memory_remaining", "remaining"),
    ] {
        s.push((k.into(), n(&ram, q).to_string()));
    }
    s.push((
        "memory_bps".into(),
        ram.get("mbps")
            .and_then(Value::as_f64)
            .map_or(0, |mbps| (mbps * 1_000_000.0 / 8.0) as u64)
            .to_string(),
    ));
    s
}

/// QEMU's URI for a migration URI libvirt accepts: `tcp:HOST:PORT`,
/// `tcp://HOST:PORT` (IPv6 hosts in brackets) or `unix:PATH`.
fn qemu_uri(uri: &str) -> Result<String> {
    let bad = || Error::invalid_arg(ErrorDomain::None, format!("unable to parse URI '{uri}'"));
    if let Some(path) = uri.strip_prefix("unix://").or(uri.strip_prefix("unix:")) {
        return Ok(format!("unix:{path}"));
    }
    let (host, port) = split_tcp(uri).ok_or_else(bad)?;
    let port = port.ok_or_else(|| {
        Error::invalid_arg(
            ErrorDomain::None,
            format!("missing port in migration URI: {uri}"),
        )
    })?;
    Ok(format!("tcp:{host}:{port}"))
}

/// The host (bracketed when IPv6) and port of a `tcp:` or `tcp://` URI.
fn split_tcp(uri: &str) -> Option<(String, Option<u16>)> {
    let rest = uri
        .strip_prefix("tcp://")
        .or_else(|| uri.strip_prefix("tcp:"))?;
    let rest = rest.split('/').next().unwrap_or("");
    if rest.is_empty() {
        return None;
    }
    let (host, port) = if let Some(r) = rest.strip_prefix('[') {
        let (h, tail) = r.split_once(']')?;
        (format!("[{h}]"), tail.strip_prefix(':'))
    } else {
        match rest.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (rest.to_string(), None),
        }
    };
    let port = match port {
        Some(p) => Some(p.parse::<u16>().ok()?),
        None => None,
    };
    Some((host, port))
}

fn migration_failed(what: &str, err: Option<&str>) -> Error {
    match err {
        Some(e) => Error::new(
            ErrorCode::OperationFailed,
            QEMU,
            format!("job '{what}' failed: {e}"),
        ),
        None => Error::new(
            ErrorCode::OperationFailed,
            QEMU,
            format!("job '{what}' unexpectedly failed"),
        ),
    }
}

fn monitor_error(cmd: &str, e: qemu::qmp::QmpError) -> Error {
    qemu::probe::qmp_error(cmd, e)
}

/// The disks a storage migration copies: writable, not shared, backed by
/// a file or device (target and path), limited to `only` when given.
fn copied_disks(def: &DomainDef, only: &[String]) -> Result<Vec<(String, String)>> {
    let all: Vec<(String, String, bool)> = def
        .devices
        .iter()
        .filter(|d| d.name == "disk")
        .filter_map(|d| {
            let target = d.child("target")?.attr("dev")?.to_string();
            let path = d
                .child("source")
                .and_then(|s| s.attr("file").or_else(|| s.attr("dev")))?
                .to_string();
            let skip = d.child("readonly").is_some()
                || d.child("shareable").is_some()
                || matches!(d.attr("device"), Some("cdrom"));
            Some((target, path, skip))
        })
        .collect();
    for t in only {
        if !all.iter().any(|(target, _, _)| target == t) {
            return Err(Error::invalid_arg(
                QEMU,
                format!("disk target {t} not found"),
            ));
        }
    }
    Ok(all
        .into_iter()
        .filter(|(t, _, skip)| !skip && (only.is_empty() || only.contains(t)))
        .map(|(t, p, _)| (t, p))
        .collect())
}

/// The format node QEMU opened `path` as (`query-block`).
async fn node_of(mon: &Qmp, path: &str) -> Result<(String, u64)> {
    let blocks = mon
        .execute("query-block", None)
        .await
        .map_err(|e| monitor_error("query-block", e))?
        .ret;
    blocks
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|b| b.get("inserted"))
        .find(|i| i.get("file").and_then(Value::as_str) == Some(path))
        .and_then(|i| {
            let node = i.get("node-name")?.as_str()?.to_string();
            let size = i
                .get("image")
                .and_then(|im| im.get("virtual-size"))
                .and_then(Value::as_u64)
                .unwrap_or(0);
            Some((node, size))
        })
        .ok_or_else(|| Error::internal(QEMU, format!("no block node for disk '{path}'")))
}

/// The source's copies of its disks to the destination's NBD server
/// (`blockdev-mirror` into an NBD client node per disk), until every one
/// is in sync.
async fn start_mirrors(mon: &Qmp, host: &str, port: u16, disks: &[(String, String)]) -> Result<()> {
    let exec = |cmd: &'static str, args: Value| async move {
        mon.execute(cmd, Some(args))
            .await
            .map_err(|e| monitor_error(cmd, e))
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    for (target, path) in disks {
        let (node, _) = node_of(mon, path).await?;
        exec(
            "blockdev-add",
            json!({"driver": "nbd", "node-name": format!("migration-{target}-storage"),
                   "server": {"type": "inet", "host": host, "port": port.to_string()},
                   "export": target}),
        )
        .await?;
        exec(
            "blockdev-mirror",
            json!({"job-id": format!("migration-{target}"), "device": node,
                   "target": format!("migration-{target}-storage"), "sync": "full",
                   "auto-finalize": true, "auto-dismiss": true}),
        )
        .await?;
    }
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let jobs = exec("query-block-jobs", json!({})).await?.ret;
        let mine: Vec<&Value> = jobs
            .as_array()
            .into_iter()
            .flatten()
            .filter(|j| {
                j.get("device")
                    .and_then(Value::as_str)
                    .is_some_and(|d| d.starts_with("migration-"))
            })
            .collect();
        if mine.len() < disks.len() {
            return Err(Error::new(
                ErrorCode::OperationFailed,
                QEMU,
                "migration of disk failed: the copy job ended",
            ));
        }
        if mine
            .iter()
            .all(|j| j.get("ready").and_then(Value::as_bool) == Some(true))
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(migration_failed(
                "migration out",
                Some("disk copy did not converge"),
            ));
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Ends the disk copies (in sync, the guest stopped: the destination has
/// the data) and drops their NBD client nodes.
async fn stop_mirrors(mon: &Qmp, disks: &[(String, String)]) {
    for (target, _) in disks {
        let _ = mon
            .execute(
                "block-job-cancel",
                Some(json!({"device": format!("migration-{target}"), "force": true})),
            )
            .await;
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let busy = match mon.execute("query-block-jobs", None).await {
            Ok(r) => r.ret.as_array().is_some_and(|a| {
                a.iter().any(|j| {
                    j.get("device")
                        .and_then(Value::as_str)
                        .is_some_and(|d| d.starts_with("migration-"))
                })
            }),
            Err(_) => false,
        };
        if !busy {
            break;
        }
        tokio::time::sleep(POLL).await;
    }
    for (target, _) in disks {
        let _ = mon
            .execute(
                "blockdev-del",
                Some(json!({"node-name": format!("migration-{target}-storage")})),
            )
            .await;
    }
}

impl Driver {
    /// The host's UUID: the daemon's `host_uuid`, the SMBIOS UUID, else
    /// /etc/machine-id.
    pub(crate) fn host_uuid(&self) -> String {
        if let Some(u) = self
            .opts
            .host_uuid
            .as_deref()
            .and_then(|u| conf::Uuid::parse(u.trim()))
        {
            return u.to_string();
        }
        if let Some(u) = std::fs::read_to_string("/sys/class/dmi/id/product_uuid")
            .ok()
            .and_then(|u| conf::Uuid::parse(u.trim()))
        {
            return u.to_string();
        }
        let id = std::fs::read_to_string("/etc/machine-id").unwrap_or_default();
        let id = id.trim();
        if id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return format!(
                "{}-{}-{}-{}-{}",
                &id[0..8],
                &id[8..12],
                &id[12..16],
                &id[16..20],
                &id[20..32]
            );
        }
        "00000000-0000-0000-0000-000000000000".into()
    }

    fn base_cookie(&self, name: &str, uuid: &str) -> Cookie {
        Cookie {
            name: name.to_string(),
            uuid: uuid.to_string(),
            hostname: host_name(),
            hostuuid: self.host_uuid(),
            ..Cookie::default()
        }
    }

    /// virConnectSupportsFeature: the migration features of libvirt's
    /// QEMU driver.
    pub(crate) fn supports_feature(feature: i32) -> bool {
        matches!(
            feature,
            m::FEATURE_MIGRATION_V2
                | m::FEATURE_MIGRATION_V3
                | m::FEATURE_MIGRATION_P2P
                | m::FEATURE_MIGRATE_CHANGE_PROTECTION
                | m::FEATURE_XML_MIGRATABLE
                | m::FEATURE_MIGRATION_OFFLINE
                | m::FEATURE_MIGRATION_PARAMS
        )
    }

    /// The migrations connection `conn` left unfinished, cleaned up on
    /// another thread (the caller may be a connection task): an incoming
    /// QEMU not finished is killed, an outgoing migration not confirmed
    /// ends with the guest running on the source.
    pub(crate) fn migrations_of_closed(&self, conn: driver::ConnectionId) {
        let doms = self.mig.close.domains_of(conn);
        if doms.is_empty() {
            return;
        }
        let Some(drv) = self.weak.upgrade() else {
            return;
        };
        std::thread::spawn(move || {
            for uuid in doms {
                let Some(dom) = drv.find_uuid(&uuid) else {
                    drv.mig.close.take(&uuid, conn);
                    continue;
                };
                let Ok(job) = drv.begin(&dom_ref(&dom), "migration clean-up") else {
                    continue;
                };
                for kind in drv.mig.close.take(&uuid, conn) {
                    match kind {
                        Abandoned::Outgoing => {
                            lock(&drv.mig.out).remove(&uuid);
                            drv.resume_after_failed_migration(&dom);
                        }
                        Abandoned::Incoming => {
                            let name = dom.lock().name.clone();
                            lock(&drv.mig.incoming).remove(&name);
                            let _ = drv.kill(&dom, StopCause::Failed);
                        }
                    }
                }
                drop(job);
                drv.drop_if_transient(&dom);
            }
        });
    }

    /// virDomainMigrateBegin3Params.
    pub(crate) fn migrate_begin(
        &self,
        r: &DomainRef,
        params: &TypedParams,
        flags: u32,
        conn: driver::ConnectionId,
    ) -> Result<(Vec<u8>, String)> {
        check_flags(flags, "qemuDomainMigrateBegin3Params")?;
        let p = Params::parse(params)?;
        let job = self.begin(r, "virDomainMigrateBegin3Params")?;
        let dom = job.obj().clone();
        let offline = flags & m::OFFLINE != 0;
        let (xml, name, uuid) = {
            let st = dom.lock();
            let def = if offline {
                st.persistent.as_ref().ok_or_else(|| {
                    Error::operation_invalid(QEMU, "cannot migrate a transient domain offline")
                })?
            } else {
                &st.live.as_ref().ok_or_else(not_running)?.def
            };
            if flags & m::UNDEFINE_SOURCE != 0 && st.persistent.is_none() {
                return Err(Error::operation_invalid(
                    QEMU,
                    "cannot undefine transient domain",
                ));
            }
            check_implemented(flags)?;
            let copied = if flags & m::NON_SHARED_DISK != 0 {
                copied_disks(def, &p.migrate_disks)?
            } else {
                Vec::new()
            };
            if !offline && flags & m::UNSAFE == 0 {
                check_safe(def, &copied)?;
            }
            let xml = match &p.dest_xml {
                Some(x) => x.clone(),
                None => def.to_xml(&FormatFlags {
                    inactive: offline,
                    secure: true,
                    migratable: true,
                    update_cpu: false,
                }),
            };
            (xml, def.name.clone(), def.uuid.to_string())
        };
        if !offline {
            let mut out = lock(&self.mig.out);
            if let Some(o) = out.get(dom.uuid()) {
                if o.performing.load(Ordering::Acquire) {
                    return Err(Error::operation_invalid(
                        QEMU,
                        "another migration job is already running for the domain",
                    ));
                }
            }
            if flags & m::CHANGE_PROTECTION != 0 {
                out.insert(*dom.uuid(), Outgoing::new());
                self.mig.close.add(*dom.uuid(), conn, Abandoned::Outgoing);
            }
        }
        let cookie = self.base_cookie(&name, &uuid);
        Ok((cookie.to_bytes(), xml))
    }

    /// A free port of the migration range (not one a prepared migration
    /// holds, and bindable now).
    fn migration_port(&self) -> Result<u16> {
        let taken = self.mig.ports_in_use();
        let (lo, hi) = (self.conf.migration_port_min, self.conf.migration_port_max);
        for port in lo..=hi {
            if taken.contains(&port) {
                continue;
            }
            if std::net::TcpListener::bind(("0.0.0.0", port)).is_ok() {
                return Ok(port);
            }
        }
        Err(Error::internal(
            QEMU,
            format!("Unable to find an unused port in range 'migration' ({lo}-{hi})"),
        ))
    }

    /// virDomainMigratePrepare3Params.
    pub(crate) fn migrate_prepare(
        &self,
        params: &TypedParams,
        cookie_in: &[u8],
        flags: u32,
        conn: driver::ConnectionId,
    ) -> Result<(Vec<u8>, Option<String>)> {
        check_flags(flags, "qemuDomainMigratePrepare3Params")?;
        check_implemented(flags)?;
        let p = Params::parse(params)?;
        let xml = p
            .dest_xml
            .as_deref()
            .ok_or_else(|| Error::internal(QEMU, "no domain XML passed"))?;
        let mut def = self.parse_def(xml, false)?;
        let cookie = Cookie::parse(cookie_in, COOKIE_ACCEPTED)?;
        if let Some(c) = &cookie {
            c.check(&def.name, &def.uuid.to_string(), &self.host_uuid())?;
        }
        if let Some(d) = &p.dest_name {
            def.name = d.clone();
        }
        self.check_add_live(&def)?;
        if lock(&self.mig.incoming).contains_key(&def.name) {
            return Err(Error::operation_invalid(
                QEMU,
                format!("domain '{}' is already being migrated here", def.name),
            ));
        }
        let offline = flags & m::OFFLINE != 0;
        // The URI the source sends to: the one asked for (a port chosen
        // when it has none), else this host's name and a free port.
        let (uri_out, port) = match p.uri.as_deref() {
            Some(u) => {
                let (_, port) = split_tcp(u).ok_or_else(|| {
                    Error::invalid_arg(ErrorDomain::None, format!("unable to parse URI '{u}'"))
                })?;
                match port {
                    Some(port) => (None, port),
                    None => {
                        let port = self.migration_port()?;
                        (Some(format!("{}:{port}", u.trim_end_matches('/'))), port)
                    }
                }
            }
            None => {
                let port = self.migration_port()?;
                let host = self.conf.migration_host.clone().unwrap_or_else(host_name);
                if host.starts_with("localhost") {
                    return Err(Error::internal(
                        QEMU,
                        "hostname on destination resolved to localhost, but migration requires an FQDN",
                    ));
                }
                let host = if host.contains(':') {
                    format!("[{host}]")
                } else {
                    host
                };
                (Some(format!("tcp:{host}:{port}")), port)
            }
        };
        let out_cookie = self.base_cookie(&def.name, &def.uuid.to_string());
        if offline {
            lock(&self.mig.incoming).insert(
                def.name.clone(),
                Incoming {
                    uuid: def.uuid.0,
                    port: None,
                    def,
                },
            );
            return Ok((out_cookie.to_bytes(), uri_out));
        }
        let listen = p
            .listen_address
            .clone()
            .or_else(|| self.conf.migration_address.clone())
            .unwrap_or_else(|| {
                if std::path::Path::new("/proc/net/if_inet6").exists() {
                    "::".into()
                } else {
                    "0.0.0.0".into()
                }
            });
        let listen = if listen.contains(':') && !listen.starts_with('[') {
            format!("[{listen}]")
        } else {
            listen
        };
        let dom = self.table_entry(&def);
        let r = dom_ref(&dom);
        let job = match self.begin(&r, "virDomainMigratePrepare3Params") {
            Ok(j) => j,
            Err(e) => {
                self.drop_if_transient(&dom);
                return Err(e);
            }
        };
        lock(&self.mig.incoming).insert(
            def.name.clone(),
            Incoming {
                uuid: def.uuid.0,
                port: Some(port),
                def: def.clone(),
            },
        );
        let started = self.launch(
            &dom,
            def.clone(),
            &StartOptions {
                paused: true,
                incoming: Some(format!("tcp:{listen}:{port}")),
            },
        );
        if let Err(e) = started {
            lock(&self.mig.incoming).remove(&def.name);
            drop(job);
            self.drop_if_transient(&dom);
            return Err(e);
        }
        let mut out_cookie = out_cookie;
        if flags & m::NON_SHARED_DISK != 0 {
            // The disks arrive through an NBD server of the incoming QEMU.
            let served = self.serve_disks(&dom, &def, &p, &listen);
            match served {
                Ok(nbd) => out_cookie.nbd = Some(nbd),
                Err(e) => {
                    lock(&self.mig.incoming).remove(&def.name);
                    let _ = self.kill(&dom, StopCause::Failed);
                    drop(job);
                    self.drop_if_transient(&dom);
                    return Err(e);
                }
            }
        }
        self.mig.close.add(*dom.uuid(), conn, Abandoned::Incoming);
        drop(job);
        self.emit(dom_ref(&dom), lifecycle::STARTED, m::STARTED_MIGRATED);
        Ok((out_cookie.to_bytes(), uri_out))
    }

    /// Starts the incoming QEMU's NBD server with the disks a storage
    /// migration copies, writable; the cookie's `<nbd>` part.
    fn serve_disks(
        &self,
        dom: &Arc<Dom>,
        def: &DomainDef,
        p: &Params,
        listen: &str,
    ) -> Result<(u16, Vec<(String, u64)>)> {
        let disks = copied_disks(def, &p.migrate_disks)?;
        let port = self.migration_port()?;
        let mon = {
            let st = dom.lock();
            st.live.as_ref().ok_or_else(not_running)?.mon.clone()
        };
        let host = listen
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let res = self.block(async move {
            mon.execute(
                "nbd-server-start",
                Some(json!({"addr": {"type": "inet",
                                     "data": {"host": host, "port": port.to_string()}}})),
            )
            .await
            .map_err(|e| monitor_error("nbd-server-start", e))?;
            let mut out = Vec::new();
            for (target, path) in &disks {
                let (node, size) = node_of(&mon, path).await?;
                mon.execute(
                    "block-export-add",
                    Some(json!({"type": "nbd", "id": format!("migration-{target}"),
                                "node-name": node, "name": target, "writable": true})),
                )
                .await
                .map_err(|e| monitor_error("block-export-add", e))?;
                out.push((target.clone(), size));
            }
            Ok::<_, Error>(out)
        });
        let disks = res.unwrap_or_else(|| Err(Error::internal(QEMU, "monitor call failed")))?;
        Ok((port, disks))
    }

    /// virDomainMigratePerform3Params without peer-to-peer: sends the
    /// domain to the URI Prepare gave.
    pub(crate) fn migrate_perform(
        &self,
        r: &DomainRef,
        params: &TypedParams,
        cookie_in: &[u8],
        flags: u32,
    ) -> Result<Vec<u8>> {
        check_flags(flags, "qemuDomainMigratePerform3Params")?;
        check_implemented(flags)?;
        if flags & m::PEER2PEER != 0 {
            return Err(Error::new(
                ErrorCode::ArgumentUnsupported,
                QEMU,
                "peer-to-peer migration is run by the daemon, not this driver",
            ));
        }
        let p = Params::parse(params)?;
        let uri = p
            .uri
            .as_deref()
            .ok_or_else(|| Error::invalid_arg(ErrorDomain::None, "migration URI is required"))?;
        let target = qemu_uri(uri)?;
        let job = self.begin(r, "virDomainMigratePerform3Params")?;
        let dom = job.obj().clone();
        let (mon, name, uuid, persistent_xml) = {
            let st = dom.lock();
            let live = st.live.as_ref().ok_or_else(not_running)?;
            let pdef = if flags & m::PERSIST_DEST != 0 {
                Some(
                    st.persistent
                        .as_ref()
                        .unwrap_or(&live.def)
                        .to_xml(&FormatFlags {
                            inactive: true,
                            secure: true,
                            migratable: true,
                            update_cpu: false,
                        }),
                )
            } else {
                None
            };
            (
                live.mon.clone(),
                live.def.name.clone(),
                live.def.uuid.to_string(),
                pdef,
            )
        };
        let cookie = Cookie::parse(cookie_in, COOKIE_ACCEPTED)?;
        if let Some(c) = &cookie {
            // The destination's cookie names the domain as it is there.
            let dname = p.dest_name.as_deref().unwrap_or(&name);
            c.check(dname, &uuid, &self.host_uuid())?;
        }
        // Storage migration: the destination's NBD server, and the disks.
        let storage = if flags & m::NON_SHARED_DISK != 0 {
            let (port, _) = cookie.as_ref().and_then(|c| c.nbd.clone()).ok_or_else(|| {
                Error::internal(QEMU, "the destination offered no NBD server for the disks")
            })?;
            let def = dom
                .lock()
                .live
                .as_ref()
                .map(|l| l.def.clone())
                .ok_or_else(not_running)?;
            let host = split_tcp(uri).map(|(h, _)| h).unwrap_or_default();
            Some((host, port, copied_disks(&def, &p.migrate_disks)?))
        } else {
            None
        };
        let out = {
            let mut t = lock(&self.mig.out);
            let o = t.entry(*dom.uuid()).or_insert_with(Outgoing::new).clone();
            o.performing.store(true, Ordering::Release);
            *lock(&o.mon) = Some(mon.clone());
            o
        };
        dom.lock().jobs.begin(job::OPERATION_MIGRATION_OUT);
        let started = now_ms();
        let bandwidth = p
            .bandwidth
            .or_else(|| lock(&self.mig.speed).get(dom.uuid()).copied())
            .unwrap_or(BANDWIDTH_MAX);
        let mut caps = vec![json!({"capability": "events", "state": true})];
        caps.push(json!({"capability": "xbzrle", "state": flags & m::COMPRESSED != 0}));
        caps.push(json!({"capability": "auto-converge", "state": flags & m::AUTO_CONVERGE != 0}));
        let mut mparams = serde_json::Map::new();
        mparams.insert(
            "max-bandwidth".into(),
            json!(bandwidth.saturating_mul(1024 * 1024).min(i64::MAX as u64)),
        );
        if let Some(i) = p.auto_converge_initial {
            mparams.insert("cpu-throttle-initial".into(), json!(i));
        }
        if let Some(i) = p.auto_converge_increment {
            mparams.insert("cpu-throttle-increment".into(), json!(i));
        }
        let watched = dom.clone();
        let run = self.block(async move {
            let exec = |cmd: &'static str, args: Option<Value>| {
                let mon = mon.clone();
                async move {
                    mon.execute(cmd, args)
                        .await
                        .map_err(|e| monitor_error(cmd, e))
                }
            };
            exec(
                "migrate-set-capabilities",
                Some(json!({ "capabilities": caps })),
            )
            .await?;
            exec("migrate-set-parameters", Some(Value::Object(mparams))).await?;
            if let Some((host, port, disks)) = &storage {
                if let Err(e) = start_mirrors(&mon, host, *port, disks).await {
                    stop_mirrors(&mon, disks).await;
                    return Err(e);
                }
            }
            let sent = async {
                exec("migrate", Some(json!({ "uri": target }))).await?;
                loop {
                    tokio::time::sleep(POLL).await;
                    let info = exec("query-migrate", None).await?.ret;
                    if let Some(j) = watched.lock().jobs.current.as_mut() {
                        j.update(&info);
                    }
                    match info.get("status").and_then(Value::as_str).unwrap_or("") {
                        "completed" => return Ok(info),
                        "failed" => {
                            return Err(migration_failed(
                                "migration out",
                                info.get("error-desc").and_then(Value::as_str),
                            ))
                        }
                        "cancelled" => {
                            return Err(Error::new(
                                ErrorCode::OperationAborted,
                                QEMU,
                                "job 'migration out' canceled by client",
                            ))
                        }
                        _ => {}
                    }
                }
            }
            .await;
            if let Some((_, _, disks)) = &storage {
                stop_mirrors(&mon, disks).await;
            }
            sent
        });
        let res = run.unwrap_or_else(|| Err(Error::internal(QEMU, "monitor call failed")));
        *lock(&out.mon) = None;
        out.performing.store(false, Ordering::Release);
        match res {
            Ok(info) => {
                // The switch-over stopped the vCPUs; the monitor's STOP
                // may not have been seen yet.
                let emit = {
                    let mut st = dom.lock();
                    let was = st.state == state::RUNNING;
                    st.state = state::PAUSED;
                    st.reason = m::PAUSED_MIGRATION;
                    was
                };
                if emit {
                    self.emit(dom_ref(&dom), lifecycle::SUSPENDED, m::SUSPENDED_MIGRATED);
                }
                dom.lock().jobs.end(job::COMPLETED);
                let mut c = self.base_cookie(&name, &uuid);
                c.statistics = cookie_stats(&info, started, now_ms());
                c.persistent = persistent_xml;
                Ok(c.to_bytes())
            }
            Err(e) => {
                dom.lock()
                    .jobs
                    .end(if e.code == ErrorCode::OperationAborted {
                        job::CANCELLED
                    } else {
                        job::FAILED
                    });
                lock(&self.mig.out).remove(dom.uuid());
                self.mig
                    .close
                    .remove(dom.uuid(), None, Some(Abandoned::Outgoing));
                self.resume_after_failed_migration(&dom);
                Err(e)
            }
        }
    }

    /// A source whose migration failed runs again, if the migration had
    /// stopped it.
    fn resume_after_failed_migration(&self, dom: &Arc<Dom>) {
        let mon = {
            let mut st = dom.lock();
            let Some(live) = st.live.as_ref() else {
                return;
            };
            if st.state != state::PAUSED || st.reason != m::PAUSED_MIGRATION {
                return;
            }
            let mon = live.mon.clone();
            st.state = state::RUNNING;
            st.reason = m::RUNNING_MIGRATION_CANCELED;
            mon
        };
        let ok = matches!(
            self.block(async move { mon.execute("cont", None).await }),
            Some(Ok(_))
        );
        if ok {
            self.emit(dom_ref(dom), lifecycle::RESUMED, m::RESUMED_MIGRATED);
        } else {
            let mut st = dom.lock();
            st.state = state::PAUSED;
            st.reason = reason::PAUSED_UNKNOWN;
        }
    }

    /// virDomainMigrateFinish3Params.
    pub(crate) fn migrate_finish(
        &self,
        params: &TypedParams,
        cookie_in: &[u8],
        flags: u32,
        cancelled: bool,
    ) -> Result<(DomainRef, Vec<u8>)> {
        check_flags(flags, "qemuDomainMigrateFinish3Params")?;
        check_implemented(flags)?;
        let p = Params::parse(params)?;
        let dname = p
            .dest_name
            .clone()
            .ok_or_else(|| Error::invalid_arg(ErrorDomain::None, "missing destination name"))?;
        let inc = lock(&self.mig.incoming).remove(&dname);
        if let Some(i) = &inc {
            self.mig
                .close
                .remove(&i.uuid, None, Some(Abandoned::Incoming));
        }
        let inc = inc.ok_or_else(|| {
            Error::no_domain(QEMU, format!("no domain with matching name '{dname}'"))
        })?;
        let cookie = Cookie::parse(cookie_in, COOKIE_ACCEPTED)?;
        let finish_ok = || Error::bare(ErrorCode::MigrateFinishOk, QEMU);
        // The persistent definition: the parameter, else what the source
        // sent, else the definition received.
        let persistent_xml = p
            .persist_xml
            .clone()
            .or_else(|| cookie.as_ref().and_then(|c| c.persistent.clone()));
        if flags & m::OFFLINE != 0 {
            if cancelled {
                return Err(finish_ok());
            }
            let xml = match persistent_xml {
                Some(x) => x,
                None => inc.def.to_xml(&FormatFlags {
                    inactive: true,
                    ..Default::default()
                }),
            };
            let r = self.define_migrated(&xml, &dname)?;
            let c = self.base_cookie(&r.name, &inc.def.uuid.to_string());
            return Ok((r, c.to_bytes()));
        }
        let Some(dom) = self.find_uuid(&inc.uuid) else {
            // The incoming QEMU died (and its domain went with it).
            if cancelled {
                return Err(finish_ok());
            }
            return Err(migration_failed("migration in", None));
        };
        let job = self.begin(&dom_ref(&dom), "virDomainMigrateFinish3Params")?;
        if cancelled {
            let _ = self.kill(&dom, StopCause::Failed);
            drop(job);
            self.drop_if_transient(&dom);
            return Err(finish_ok());
        }
        let mon = {
            let st = dom.lock();
            st.live.as_ref().ok_or_else(not_running)?.mon.clone()
        };
        // The stream has been sent; wait for QEMU to have taken it all.
        let waited = self.block(async move {
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                let info = mon
                    .execute("query-migrate", None)
                    .await
                    .map_err(|e| monitor_error("query-migrate", e))?
                    .ret;
                match info.get("status").and_then(Value::as_str).unwrap_or("") {
                    "completed" => return Ok(mon),
                    "failed" | "cancelled" => {
                        return Err(migration_failed(
                            "migration in",
                            info.get("error-desc").and_then(Value::as_str),
                        ))
                    }
                    _ if Instant::now() > deadline => {
                        return Err(migration_failed("migration in", None))
                    }
                    _ => tokio::time::sleep(POLL).await,
                }
            }
        });
        let mon = match waited.unwrap_or_else(|| Err(migration_failed("migration in", None))) {
            Ok(mon) => mon,
            Err(e) => {
                let _ = self.kill(&dom, StopCause::Failed);
                drop(job);
                self.drop_if_transient(&dom);
                return Err(e);
            }
        };
        if flags & m::NON_SHARED_DISK != 0 {
            let m2 = mon.clone();
            let _ = self.block(async move { m2.execute("nbd-server-stop", None).await });
        }
        if flags & m::PERSIST_DEST != 0 {
            let xml = persistent_xml.unwrap_or_else(|| {
                inc.def.to_xml(&FormatFlags {
                    inactive: true,
                    ..Default::default()
                })
            });
            if let Err(e) = self.define_migrated(&xml, &dname) {
                let _ = self.kill(&dom, StopCause::Failed);
                drop(job);
                self.drop_if_transient(&dom);
                return Err(e);
            }
        }
        if flags & m::PAUSED != 0 {
            {
                let mut st = dom.lock();
                st.state = state::PAUSED;
                st.reason = reason::PAUSED_USER;
            }
            self.emit(
                dom_ref(&dom),
                lifecycle::SUSPENDED,
                lifecycle::SUSPENDED_PAUSED,
            );
        } else {
            {
                let mut st = dom.lock();
                st.state = state::RUNNING;
                st.reason = m::RUNNING_MIGRATED;
            }
            let resumed = self.block(async move { mon.execute("cont", None).await });
            if !matches!(resumed, Some(Ok(_))) {
                let _ = self.kill(&dom, StopCause::Failed);
                drop(job);
                self.drop_if_transient(&dom);
                return Err(Error::new(
                    ErrorCode::OperationFailed,
                    QEMU,
                    "resume operation failed",
                ));
            }
            self.emit(dom_ref(&dom), lifecycle::RESUMED, m::RESUMED_MIGRATED);
        }
        self.refresh_status(&dom);
        let def = {
            let st = dom.lock();
            st.live.as_ref().ok_or_else(not_running)?.def.clone()
        };
        let mut c = self.base_cookie(&def.name, &def.uuid.to_string());
        if let Some(ck) = &cookie {
            c.statistics = ck.statistics.clone();
            // `domjobinfo --completed` here: what the source measured.
            if !ck.statistics.is_empty() {
                dom.lock().jobs.completed = Some(crate::jobs::JobData::from_statistics(
                    job::OPERATION_MIGRATION_IN,
                    &ck.statistics,
                ));
            }
        }
        drop(job);
        Ok((dom_ref(&dom), c.to_bytes()))
    }

    /// Defines the migrated domain here (named `name`).
    fn define_migrated(&self, xml: &str, name: &str) -> Result<DomainRef> {
        let mut def = self.parse_def(xml, false)?;
        def.name = name.to_string();
        let xml = def.to_xml(&FormatFlags {
            inactive: true,
            ..Default::default()
        });
        self.define(&xml, false)
    }

    /// virDomainMigrateConfirm3Params.
    pub(crate) fn migrate_confirm(
        &self,
        r: &DomainRef,
        params: &TypedParams,
        cookie_in: &[u8],
        flags: u32,
        cancelled: bool,
    ) -> Result<()> {
        check_flags(flags, "qemuDomainMigrateConfirm3Params")?;
        check_implemented(flags)?;
        Params::parse(params)?;
        let dom = self.get(r)?;
        lock(&self.mig.out).remove(dom.uuid());
        self.mig
            .close
            .remove(dom.uuid(), None, Some(Abandoned::Outgoing));
        Cookie::parse(cookie_in, COOKIE_ACCEPTED)?;
        if flags & m::OFFLINE != 0 {
            if !cancelled && flags & m::UNDEFINE_SOURCE != 0 {
                self.undefine(r)?;
            }
            return Ok(());
        }
        let job = self.begin(r, "virDomainMigrateConfirm3Params")?;
        if cancelled {
            self.resume_after_failed_migration(&dom);
            return Ok(());
        }
        self.kill(&dom, StopCause::Migrated)?;
        drop(job);
        if flags & m::UNDEFINE_SOURCE != 0 && dom.lock().persistent.is_some() {
            self.undefine(r)?;
        }
        Ok(())
    }

    /// The monitor to tune a migration with: the running migration's
    /// (no job needed), else the running domain's under its job.
    fn tune(
        &self,
        r: &DomainRef,
        api: &'static str,
        cmd: &'static str,
        args: Option<Value>,
    ) -> Result<Value> {
        let dom = self.get(r)?;
        let from_mig = self
            .mig
            .outgoing(dom.uuid())
            .and_then(|o| lock(&o.mon).clone());
        let (mon, _job) = match from_mig {
            Some(mon) => (mon, None),
            None => {
                let job = self.begin(r, api)?;
                let mon = {
                    let st = job.obj().lock();
                    st.live.as_ref().ok_or_else(not_running)?.mon.clone()
                };
                (mon, Some(job))
            }
        };
        match self.block(async move { mon.execute(cmd, args).await }) {
            Some(Ok(reply)) => Ok(reply.ret),
            Some(Err(e)) => Err(monitor_error(cmd, e)),
            None => Err(Error::internal(QEMU, "monitor call failed")),
        }
    }

    /// virDomainMigrateSetMaxDowntime.
    pub(crate) fn set_max_downtime(&self, r: &DomainRef, ms: u64, flags: u32) -> Result<()> {
        Error::check_flags(flags, 0, "qemuDomainMigrateSetMaxDowntime")?;
        self.tune(
            r,
            "virDomainMigrateSetMaxDowntime",
            "migrate-set-parameters",
            Some(json!({ "downtime-limit": ms })),
        )
        .map(|_| ())
    }

    /// virDomainMigrateGetMaxDowntime.
    pub(crate) fn get_max_downtime(&self, r: &DomainRef, flags: u32) -> Result<u64> {
        Error::check_flags(flags, 0, "qemuDomainMigrateGetMaxDowntime")?;
        let v = self.tune(
            r,
            "virDomainMigrateGetMaxDowntime",
            "query-migrate-parameters",
            None,
        )?;
        v.get("downtime-limit")
            .and_then(Value::as_u64)
            .ok_or_else(|| {
                Error::new(
                    ErrorCode::OperationInvalid,
                    QEMU,
                    "Querying migration downtime is not supported by QEMU binary",
                )
            })
    }

    /// virDomainMigrateSetMaxSpeed: remembered for the domain's next
    /// migration, and given to QEMU at once while it runs.
    pub(crate) fn set_max_speed(&self, r: &DomainRef, mibps: u64, flags: u32) -> Result<()> {
        Error::check_flags(flags, m::MAX_SPEED_POSTCOPY, "qemuDomainMigrateSetMaxSpeed")?;
        if mibps > BANDWIDTH_MAX {
            return Err(Error::new(
                ErrorCode::Overflow,
                QEMU,
                format!("bandwidth must be less than {}", BANDWIDTH_MAX + 1),
            ));
        }
        let dom = self.get(r)?;
        if flags & m::MAX_SPEED_POSTCOPY != 0 {
            return Err(Error::new(
                ErrorCode::ArgumentUnsupported,
                QEMU,
                "post-copy bandwidth is not supported by this QEMU driver",
            ));
        }
        if dom.lock().live.is_some() {
            self.tune(
                r,
                "virDomainMigrateSetMaxSpeed",
                "migrate-set-parameters",
                Some(json!({ "max-bandwidth": mibps.saturating_mul(1024 * 1024) })),
            )?;
        }
        lock(&self.mig.speed).insert(*dom.uuid(), mibps);
        Ok(())
    }

    /// virDomainMigrateGetMaxSpeed.
    pub(crate) fn get_max_speed(&self, r: &DomainRef, flags: u32) -> Result<u64> {
        Error::check_flags(flags, m::MAX_SPEED_POSTCOPY, "qemuDomainMigrateGetMaxSpeed")?;
        let dom = self.get(r)?;
        Ok(lock(&self.mig.speed)
            .get(dom.uuid())
            .copied()
            .unwrap_or(BANDWIDTH_MAX))
    }
}

/// The file systems libvirt counts as shared between hosts (its
/// virFileIsSharedFS), by their names in /proc/self/mountinfo.
const SHARED_FS: &[&str] = &[
    "nfs",
    "nfs4",
    "gfs2",
    "gfs",
    "ocfs2",
    "afs",
    "smb3",
    "smbfs",
    "cifs",
    "ceph",
    "gpfs",
    "fuse.glusterfs",
    "fuse.quobyte",
    "beegfs",
    "virtiofs",
];

/// The type of the file system holding `path` (the longest mount point
/// above it in /proc/self/mountinfo).
fn fs_type(path: &std::path::Path) -> Option<String> {
    let path = std::fs::canonicalize(path)
        .or_else(|_| {
            path.parent()
                .map_or(Err(()), |p| std::fs::canonicalize(p).map_err(|_| ()))
        })
        .ok()?;
    let info = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let mut best: Option<(usize, String)> = None;
    for line in info.lines() {
        let (left, right) = line.split_once(" - ")?;
        let mount = left.split(' ').nth(4)?.replace("\\040", " ");
        let fstype = right.split(' ').next()?.to_string();
        if path.starts_with(&mount) && best.as_ref().is_none_or(|(l, _)| mount.len() >= *l) {
            best = Some((mount.len(), fstype));
        }
    }
    best.map(|(_, t)| t)
}

/// libvirt's qemuMigrationSrcIsSafe: a disk the guest writes must be on
/// storage both hosts see (a shared file system) unless the migration
/// copies it; a shared one needs host caching off or QEMU dropping the
/// page cache at the switch-over, which QEMU here does.
fn check_safe(def: &DomainDef, copied: &[(String, String)]) -> Result<()> {
    for d in def.devices.iter().filter(|d| d.name == "disk") {
        let readonly = d.child("readonly").is_some() || matches!(d.attr("device"), Some("cdrom"));
        let Some(file) = d.child("source").and_then(|s| s.attr("file")) else {
            continue;
        };
        if readonly || copied.iter().any(|(_, p)| p == file) {
            continue;
        }
        let shared =
            fs_type(std::path::Path::new(file)).is_some_and(|t| SHARED_FS.contains(&t.as_str()));
        if !shared {
            return Err(Error::new(
                ErrorCode::MigrateUnsafe,
                QEMU,
                "Migration without shared storage is unsafe",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migration_uris_become_qemu_uris() {
        assert_eq!(qemu_uri("tcp:host:49152").unwrap(), "tcp:host:49152");
        assert_eq!(
            qemu_uri("tcp://10.0.0.1:49153").unwrap(),
            "tcp:10.0.0.1:49153"
        );
        assert_eq!(qemu_uri("tcp://[::1]:49153/").unwrap(), "tcp:[::1]:49153");
        assert_eq!(qemu_uri("unix:/run/x.sock").unwrap(), "unix:/run/x.sock");
        assert!(qemu_uri("tcp://host").is_err());
        assert!(qemu_uri("ftp://host:1").is_err());
        assert_eq!(split_tcp("tcp://h"), Some(("h".into(), None)));
        assert_eq!(split_tcp("tcp:h:7"), Some(("h".into(), Some(7))));
        assert_eq!(split_tcp("tcp:h:x"), None);
    }

    #[test]
    fn parameters_are_checked_by_name_and_type() {
        let p = Params::parse(&vec![
            (m::PARAM_URI.into(), TypedValue::String("tcp:h:1".into())),
            (m::PARAM_BANDWIDTH.into(), TypedValue::ULLong(5)),
        ])
        .unwrap();
        assert_eq!(p.uri.as_deref(), Some("tcp:h:1"));
        assert_eq!(p.bandwidth, Some(5));
        let e = Params::parse(&vec![("nope".into(), TypedValue::Int(1))]).unwrap_err();
        assert_eq!(e.code, ErrorCode::ArgumentUnsupported);
        let e = Params::parse(&vec![(m::PARAM_BANDWIDTH.into(), TypedValue::Int(1))]).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidArg);
    }

    #[test]
    fn offline_needs_persistent_and_unimplemented_modes_are_refused() {
        let e = check_flags(m::OFFLINE, "f").unwrap_err();
        assert_eq!(
            e.message(),
            "Requested operation is not valid: offline migration must be specified with the persistent flag set"
        );
        assert!(check_flags(m::OFFLINE | m::PERSIST_DEST, "f").is_ok());
        let e = check_flags(m::OFFLINE | m::PERSIST_DEST | m::NON_SHARED_DISK, "f").unwrap_err();
        assert!(e
            .message()
            .ends_with("offline migration cannot handle non-shared storage"));
        assert_eq!(
            check_implemented(m::TUNNELLED).unwrap_err().code,
            ErrorCode::ArgumentUnsupported
        );
        assert_eq!(
            check_flags(1 << 30, "f").unwrap_err().code,
            ErrorCode::InvalidArg
        );
    }
}

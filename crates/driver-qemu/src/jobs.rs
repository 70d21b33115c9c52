// SPDX-License-Identifier: LGPL-2.1-or-later
//! Statistics of a domain's long jobs (save, core dump), kept apart from
//! the job lock so that `virsh domjobinfo` answers while the job runs:
//! the job's owner records QEMU's `query-migrate` answers here, readers
//! copy them out. The last finished job stays for
//! `domjobinfo --completed`.

use std::time::Instant;

use driver::consts::job;
use driver::{TypedParams, TypedValue};
use serde_json::Value;

/// One job's progress.
#[derive(Debug, Clone)]
pub(crate) struct JobData {
    /// virDomainJobOperation.
    pub operation: i32,
    /// virDomainJobType: UNBOUNDED while it runs, then COMPLETED, FAILED
    /// or CANCELLED.
    pub kind: i32,
    started: Instant,
    /// Milliseconds from start to end, once it ended.
    elapsed_ms: Option<u64>,
    /// QEMU's last `query-migrate` answer.
    migration: Value,
}

impl JobData {
    pub fn new(operation: i32) -> JobData {
        JobData {
            operation,
            kind: job::UNBOUNDED,
            started: Instant::now(),
            elapsed_ms: None,
            migration: Value::Null,
        }
    }

    /// A finished job known only by the statistics another host sent
    /// (the `<statistics>` of an incoming migration's cookie: element
    /// names as libvirt's typed parameters, values in ms and bytes).
    pub fn from_statistics(operation: i32, stats: &[(String, String)]) -> JobData {
        let num = |k: &str| {
            stats
                .iter()
                .find(|(n, _)| n == k)
                .and_then(|(_, v)| v.trim().parse::<u64>().ok())
        };
        let mut top = serde_json::Map::new();
        for (k, q) in [("downtime", "downtime"), ("setup_time", "setup-time")] {
            if let Some(v) = num(k) {
                top.insert(q.into(), v.into());
            }
        }
        let mut ram = serde_json::Map::new();
        for (k, q) in [
            ("memory_total", "total"),
            ("memory_processed", "transferred"),
            ("memory_remaining", "remaining"),
        ] {
            ram.insert(q.into(), num(k).unwrap_or(0).into());
        }
        if let Some(bps) = num("memory_bps") {
            // Back to QEMU's Mbit/s, which params() reports in bytes/s.
            ram.insert("mbps".into(), (bps as f64 * 8.0 / 1_000_000.0).into());
        }
        top.insert("ram".into(), Value::Object(ram));
        JobData {
            operation,
            kind: job::COMPLETED,
            started: Instant::now(),
            elapsed_ms: Some(num("time_elapsed").unwrap_or(0)),
            migration: Value::Object(top),
        }
    }

    /// Records QEMU's latest migration statistics.
    pub fn update(&mut self, query_migrate: &Value) {
        self.migration = query_migrate.clone();
    }

    /// Marks the job ended as `kind`.
    pub fn finish(&mut self, kind: i32) {
        self.kind = kind;
        self.elapsed_ms = Some(self.elapsed());
    }

    fn elapsed(&self) -> u64 {
        self.elapsed_ms.unwrap_or_else(|| {
            u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
        })
    }

    /// The statistics virDomainGetJobStats reports for a save or dump
    /// through QEMU's migration stream (libvirt's migration statistics
    /// without the disk and migration-only fields).
    pub fn params(&self) -> TypedParams {
        let ram = self.migration.get("ram");
        let ram_u = |k: &str| ram.and_then(|r| r.get(k)).and_then(Value::as_u64);
        let top_u = |k: &str| self.migration.get(k).and_then(Value::as_u64);
        let ull = |name: &str, v: u64| (name.to_string(), TypedValue::ULLong(v));
        let mut p: TypedParams = vec![
            ("operation".to_string(), TypedValue::Int(self.operation)),
            ull("time_elapsed", self.elapsed()),
        ];
        if let Some(d) = top_u("downtime") {
            p.push(ull("downtime", d));
        }
        if let Some(s) = top_u("setup-time") {
            p.push(ull("setup_time", s));
        }
        let total = ram_u("total").unwrap_or(0);
        let done = ram_u("transferred").unwrap_or(0);
        let left = ram_u("remaining").unwrap_or(0);
        p.extend([
            ull("data_total", total),
            ull("data_processed", done),
            ull("data_remaining", left),
            ull("memory_total", total),
            ull("memory_processed", done),
            ull("memory_remaining", left),
        ]);
        // QEMU reports the rate in Mbit/s; libvirt in bytes per second.
        let mbps = ram
            .and_then(|r| r.get("mbps"))
            .and_then(Value::as_f64)
            .unwrap_or(0.0);
        let bps = (mbps * 1_000_000.0 / 8.0).round();
        if bps >= 1.0 && bps < u64::MAX as f64 {
            // In range: checked just above.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            p.push(ull("memory_bps", bps as u64));
        }
        if let Some(dup) = ram_u("duplicate") {
            p.extend([
                ull("memory_constant", dup),
                ull("memory_normal", ram_u("normal").unwrap_or(0)),
                ull("memory_normal_bytes", ram_u("normal-bytes").unwrap_or(0)),
            ]);
        }
        p.extend([
            ull("memory_dirty_rate", ram_u("dirty-pages-rate").unwrap_or(0)),
            ull("memory_iteration", ram_u("dirty-sync-count").unwrap_or(0)),
            ull(
                "memory_postcopy_requests",
                ram_u("postcopy-requests").unwrap_or(0),
            ),
        ]);
        if let Some(ps) = ram_u("page-size").filter(|v| *v > 0) {
            p.push(ull("memory_page_size", ps));
        }
        p
    }
}

/// A domain's current and last completed job.
#[derive(Debug, Clone, Default)]
pub(crate) struct Jobs {
    pub current: Option<JobData>,
    pub completed: Option<JobData>,
}

impl Jobs {
    /// Starts recording a job of `operation`.
    pub fn begin(&mut self, operation: i32) {
        self.current = Some(JobData::new(operation));
    }

    /// Ends the current job as `kind`; it becomes the completed one.
    pub fn end(&mut self, kind: i32) {
        if let Some(mut j) = self.current.take() {
            j.finish(kind);
            self.completed = Some(j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get<'a>(p: &'a TypedParams, name: &str) -> Option<&'a TypedValue> {
        p.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    #[test]
    fn completed_save_reports_memory_figures_from_qemu() {
        let mut jobs = Jobs::default();
        jobs.begin(job::OPERATION_SAVE);
        let q = serde_json::json!({
            "status": "completed", "setup-time": 3, "downtime": 40, "total-time": 40,
            "ram": {"total": 1000, "transferred": 900, "remaining": 0, "duplicate": 5,
                    "normal": 7, "normal-bytes": 28672, "dirty-pages-rate": 0,
                    "mbps": 8.0, "dirty-sync-count": 1, "postcopy-requests": 0,
                    "page-size": 4096}
        });
        if let Some(c) = jobs.current.as_mut() {
            c.update(&q);
        }
        jobs.end(job::COMPLETED);
        assert!(jobs.current.is_none());
        let done = jobs
            .completed
            .as_ref()
            .map(JobData::params)
            .unwrap_or_default();
        assert_eq!(
            get(&done, "operation"),
            Some(&TypedValue::Int(job::OPERATION_SAVE))
        );
        assert_eq!(get(&done, "memory_total"), Some(&TypedValue::ULLong(1000)));
        assert_eq!(get(&done, "data_processed"), Some(&TypedValue::ULLong(900)));
        assert_eq!(
            get(&done, "memory_bps"),
            Some(&TypedValue::ULLong(1_000_000))
        );
        assert_eq!(get(&done, "memory_constant"), Some(&TypedValue::ULLong(5)));
        assert_eq!(get(&done, "downtime"), Some(&TypedValue::ULLong(40)));
        assert_eq!(
            get(&done, "memory_page_size"),
            Some(&TypedValue::ULLong(4096))
        );
        assert_eq!(
            jobs.completed.as_ref().map(|j| j.kind),
            Some(job::COMPLETED)
        );
    }

    #[test]
    fn an_incoming_migration_reports_the_statistics_the_source_sent() {
        let stats: Vec<(String, String)> = [
            ("time_elapsed", "532"),
            ("downtime", "58"),
            ("memory_total", "2000"),
            ("memory_processed", "1500"),
            ("memory_bps", "1000000"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let j = JobData::from_statistics(job::OPERATION_MIGRATION_IN, &stats);
        assert_eq!(j.kind, job::COMPLETED);
        let p = j.params();
        assert_eq!(get(&p, "time_elapsed"), Some(&TypedValue::ULLong(532)));
        assert_eq!(get(&p, "downtime"), Some(&TypedValue::ULLong(58)));
        assert_eq!(get(&p, "memory_total"), Some(&TypedValue::ULLong(2000)));
        assert_eq!(get(&p, "data_processed"), Some(&TypedValue::ULLong(1500)));
        assert_eq!(get(&p, "memory_bps"), Some(&TypedValue::ULLong(1_000_000)));
        assert_eq!(
            get(&p, "operation"),
            Some(&TypedValue::Int(job::OPERATION_MIGRATION_IN))
        );
    }

    #[test]
    fn a_job_before_qemu_answered_has_zero_figures_and_no_optional_ones() {
        let j = JobData::new(job::OPERATION_SAVE);
        let p = j.params();
        assert_eq!(get(&p, "memory_total"), Some(&TypedValue::ULLong(0)));
        assert!(get(&p, "memory_bps").is_none());
        assert!(get(&p, "memory_constant").is_none());
        assert!(get(&p, "downtime").is_none());
    }
}

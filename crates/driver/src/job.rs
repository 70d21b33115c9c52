// SPDX-License-Identifier: LGPL-2.1-or-later
//! Job locks (libvirt's domain job): at most one operation that changes an
//! object runs at a time, per object.
//!
//! A job is held for the whole of a modifying operation, including the
//! slow parts (a controller request, a file write, a hypervisor call),
//! while the object's state lock is held only for short in-memory work.
//! Reads (list, lookup, state, info) never take a job, so they never wait
//! on a busy object; jobs of different objects never wait on each other.
//!
//! A job is taken with a deadline. A caller that cannot get it in time
//! fails with VIR_ERR_OPERATION_TIMEOUT, worded as libvirt words it:
//! "Timed out during operation: cannot acquire state change lock (held by
//! monitor=API)", where API is what the holder named when it took the job.
//! A zero timeout tries once and fails at once when the job is held.
//!
//! The job lock is a leaf: taking it with a zero timeout is allowed while
//! the object's state lock is held (to check and claim atomically), but
//! waiting for it with the state lock held would stall every reader.

use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::error::{Error, ErrorCode, ErrorDomain};

/// libvirt's default job wait (30 s).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// A job deadline from an environment variable in milliseconds (for tests
/// that need a short one), else `default`.
pub fn timeout_from_env(var: &str, default: Duration) -> Duration {
    std::env::var(var)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_millis)
        .unwrap_or(default)
}

/// The job could not be taken before its deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobBusy {
    /// What the current holder named when it took the job.
    pub holder: &'static str,
}

impl JobBusy {
    /// libvirt's VIR_ERR_OPERATION_TIMEOUT for a busy job, reported from
    /// `domain`.
    pub fn to_error(self, domain: ErrorDomain) -> Error {
        Error::new(
            ErrorCode::OperationTimeout,
            domain,
            format!(
                "cannot acquire state change lock (held by monitor={})",
                self.holder
            ),
        )
    }
}

/// One object's job lock.
#[derive(Debug, Default)]
pub struct Job {
    holder: Mutex<Option<&'static str>>,
    cv: Condvar,
}

impl Job {
    pub fn new() -> Job {
        Job::default()
    }

    fn holder_lock(&self) -> MutexGuard<'_, Option<&'static str>> {
        self.holder.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes the job for `api`, waiting at most `timeout` for its holder
    /// to end. Released when the guard is dropped.
    pub fn begin(&self, api: &'static str, timeout: Duration) -> Result<JobGuard<'_>, JobBusy> {
        self.acquire(api, timeout)?;
        Ok(JobGuard { job: self })
    }

    /// The owner of the job, if it is held.
    pub fn holder(&self) -> Option<&'static str> {
        *self.holder_lock()
    }

    pub fn is_held(&self) -> bool {
        self.holder().is_some()
    }

    /// Waits for the job (see [`Job::begin`]); the caller must call
    /// [`Job::release`] exactly once after a success.
    pub(crate) fn acquire(&self, api: &'static str, timeout: Duration) -> Result<(), JobBusy> {
        // No deadline representable: wait as long as it takes.
        let deadline = Instant::now().checked_add(timeout);
        let mut h = self.holder_lock();
        while let Some(holder) = *h {
            let wait = match deadline {
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        return Err(JobBusy { holder });
                    }
                    d - now
                }
                None => Duration::from_secs(3600),
            };
            h = self
                .cv
                .wait_timeout(h, wait)
                .map(|(g, _)| g)
                .unwrap_or_else(|p| p.into_inner().0);
        }
        *h = Some(api);
        Ok(())
    }

    pub(crate) fn release(&self) {
        *self.holder_lock() = None;
        self.cv.notify_one();
    }
}

/// A held [`Job`], released on drop.
#[derive(Debug)]
pub struct JobGuard<'a> {
    job: &'a Job,
}

impl Drop for JobGuard<'_> {
    fn drop(&mut self) {
        self.job.release();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Barrier};

    #[test]
    fn held_job_times_out_with_libvirts_message() {
        let j = Job::new();
        let _g = j.begin("virDomainSuspend", DEFAULT_TIMEOUT).unwrap();
        let t0 = Instant::now();
        let busy = j
            .begin("virDomainResume", Duration::from_millis(50))
            .unwrap_err();
        assert!(t0.elapsed() >= Duration::from_millis(50));
        assert_eq!(busy.holder, "virDomainSuspend");
        let e = busy.to_error(ErrorDomain::Lxc);
        assert_eq!(e.code, ErrorCode::OperationTimeout);
        assert_eq!(
            e.message(),
            "Timed out during operation: cannot acquire state change lock \
             (held by monitor=virDomainSuspend)"
        );
    }

    #[test]
    fn zero_timeout_fails_at_once_and_free_job_is_taken() {
        let j = Job::new();
        assert_eq!(j.holder(), None);
        let g = j.begin("a", Duration::ZERO).unwrap();
        assert_eq!(j.holder(), Some("a"));
        assert!(j.begin("b", Duration::ZERO).is_err());
        drop(g);
        assert!(!j.is_held());
        let _g = j.begin("b", Duration::ZERO).unwrap();
        assert_eq!(j.holder(), Some("b"));
    }

    #[test]
    fn two_jobs_on_one_object_serialize() {
        let j = Arc::new(Job::new());
        let inside = Arc::new(AtomicUsize::new(0));
        let max_inside = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let (j, inside, max_inside) = (j.clone(), inside.clone(), max_inside.clone());
                std::thread::spawn(move || {
                    for _ in 0..20 {
                        let _g = j.begin("op", DEFAULT_TIMEOUT).unwrap();
                        let n = inside.fetch_add(1, Ordering::SeqCst) + 1;
                        max_inside.fetch_max(n, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_micros(200));
                        inside.fetch_sub(1, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(max_inside.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn waiter_gets_the_job_when_the_holder_ends() {
        let j = Arc::new(Job::new());
        let g = j.begin("first", DEFAULT_TIMEOUT).unwrap();
        let j2 = j.clone();
        let waiter = std::thread::spawn(move || {
            let _g = j2.begin("second", Duration::from_secs(10)).unwrap();
            j2.holder()
        });
        std::thread::sleep(Duration::from_millis(50));
        drop(g);
        assert_eq!(waiter.join().unwrap(), Some("second"));
    }

    #[test]
    fn jobs_of_different_objects_do_not_wait() {
        let a = Arc::new(Job::new());
        let b = Arc::new(Job::new());
        let barrier = Arc::new(Barrier::new(2));
        let _ga = a.begin("long", DEFAULT_TIMEOUT).unwrap();
        let (b2, bar2) = (b.clone(), barrier.clone());
        let t = std::thread::spawn(move || {
            bar2.wait();
            b2.begin("other", Duration::ZERO).map(|_| ())
        });
        barrier.wait();
        assert!(t.join().unwrap().is_ok());
    }

    #[test]
    fn timeout_from_env_reads_milliseconds() {
        let var = "DRIVER_JOB_TEST_TIMEOUT_MS";
        std::env::set_var(var, "300");
        assert_eq!(
            timeout_from_env(var, DEFAULT_TIMEOUT),
            Duration::from_millis(300)
        );
        std::env::set_var(var, "x");
        assert_eq!(timeout_from_env(var, DEFAULT_TIMEOUT), DEFAULT_TIMEOUT);
        std::env::remove_var(var);
    }
}

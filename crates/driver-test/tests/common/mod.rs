// SPDX-License-Identifier: LGPL-2.1-or-later
//! What the test files on test:///default share: one connection at a
//! time (every connection of the process shares the default host, which
//! starts afresh once the last one closes).

use std::sync::{Mutex, MutexGuard};

use driver::{Connection, DomainRef};
use driver_test::TestConnection;

static DEFAULT_LOCK: Mutex<()> = Mutex::new(());

/// A fresh test:///default, held alone, and its domain `test`.
pub fn default_conn() -> (MutexGuard<'static, ()>, TestConnection, DomainRef) {
    let g = DEFAULT_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    let c = driver_test::open_path("/default", "test:///default".into()).unwrap();
    let d = c.domain_lookup_by_name("test").unwrap();
    (g, c, d)
}

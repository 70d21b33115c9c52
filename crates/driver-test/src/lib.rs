// SPDX-License-Identifier: LGPL-2.1-or-later
//! The `test:///` driver: an in-memory hypervisor that behaves like
//! libvirt's test driver, so clients (virsh, libvirt-python, our own
//! conformance and benchmark suites) can exercise every API without a
//! real hypervisor.
//!
//! Two kinds of connection exist:
//! - `test:///default`: a fixed host (domain `test`, network `default`,
//!   interface `eth1`, pool `default-pool`, a few node devices). All
//!   connections to it opened in one daemon share one state, which is
//!   dropped when the last of them closes (a global `Weak` to it);
//! - `test:///ABSOLUTE/PATH.xml`: a host described by a node file; every
//!   open gets a private state. A node file whose `<auth>` lists users
//!   needs their credentials, which a daemon can take only from libvirt's
//!   auth file (`auth`).
//!
//! Must not depend on: the RPC layer or the protocol crate (errors go
//! through `driver::Error` and `virterror`). From the host it takes only
//! what C's test driver takes too, through `host`: the machine's hostname
//! and giving freed heap back; it reads or writes only files the client
//! names (node files and save images) and reads libvirt's auth file.
//!
//! Layout: `conn` is the `Connection` (the connection and the host) and
//! sends every other API to its object family's module: `domain`
//! (listing, lookup, lifecycle), `domain_config` (state and
//! configuration), `network` (with `netupdate`), `storage`, `interface`,
//! `nodedev`, `pinning` (vCPU, emulator and IOThread pinning, IOThreads),
//! `guest` (hostname, clock, disk sizes), `stats` (CPU times, free
//! pages, guest addresses), `tuning` (NUMA, block I/O and bandwidth
//! parameters), `snapshot` (snapshots and checkpoints, kept per domain in
//! `moment` trees). `state` holds the host, `load` builds it from a node
//! document.
//!
//! Invariants:
//! - domains, networks and pools live in `driver::objlist` lists, each
//!   object behind its own lock: lookups answer from the list's indexes
//!   (UUID, name and, for domains, id) without locking any object, and
//!   listings work on the list's snapshot, so they stay cheap with tens of
//!   thousands of domains and never format XML; the host's description,
//!   interfaces and node devices share one mutex;
//! - no lock is held while events are published (operations collect
//!   their events, unlock, then publish);
//! - nothing a client sends can panic the driver.
#![forbid(unsafe_code)]

mod auth;
mod baseline;
mod caps;
mod conn;
mod domain;
mod domain_config;
mod errors;
mod guest;
mod interface;
mod load;
mod netupdate;
mod network;
mod nodedev;
mod pinning;
mod snapshot;
mod state;
mod stats;
mod storage;
mod tuning;

use std::sync::{Arc, Mutex, Weak};

use driver::error::{ErrorCode, ErrorDomain};
use driver::{ConnectAuth, Connection, DriverFactory, Error, Result, Uri};

pub use conn::TestConnection;

/// The factory the daemon registers: claims the `test` scheme.
pub fn factory() -> Arc<dyn DriverFactory> {
    Arc::new(TestDriverFactory)
}

/// Opens `test:///...` connections.
pub struct TestDriverFactory;

/// The shared state behind `test:///default`, alive while any connection
/// to it is open.
static DEFAULT_STATE: Mutex<Weak<state::Shared>> = Mutex::new(Weak::new());

impl DriverFactory for TestDriverFactory {
    fn name(&self) -> &'static str {
        "Test"
    }

    /// The test driver keeps networks of its own.
    fn uses_shared_network(&self) -> bool {
        false
    }

    fn claims(&self, uri: &Uri) -> bool {
        uri.scheme == "test"
    }

    fn open(&self, uri: &Uri, _auth: &ConnectAuth) -> Result<Arc<dyn Connection>> {
        let authfile = uri
            .query
            .iter()
            .find(|(k, _)| k == "authfile")
            .map(|(_, v)| v.as_str());
        let c = open_node(&uri.path, uri.driver_uri(), authfile)?;
        Ok(Arc::new(c))
    }
}

/// Opens a connection for a URI path ("/default" or an absolute node file).
/// A node file whose `<auth>` lists users needs their credentials, from
/// libvirt's auth file (see the `auth` module).
pub fn open_path(path: &str, uri: String) -> Result<TestConnection> {
    open_node(path, uri, None)
}

fn open_node(path: &str, uri: String, authfile: Option<&str>) -> Result<TestConnection> {
    if path.is_empty() || path == "/" {
        return Err(Error::new(
            ErrorCode::InvalidArg,
            ErrorDomain::Test,
            "testOpen: supply a path or use test:///default",
        ));
    }
    let shared = if path == "/default" {
        open_default()?
    } else {
        let (shared, users) = load::load_file(path)?;
        auth::authenticate(&users, authfile)?;
        Arc::new(shared)
    };
    Ok(TestConnection::new(shared, uri))
}

fn open_default() -> Result<Arc<state::Shared>> {
    // Holding the global lock while building makes concurrent first opens
    // share one state instead of racing to create two.
    let mut g = DEFAULT_STATE.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(s) = g.upgrade() {
        return Ok(s);
    }
    let s = Arc::new(load::load_default()?);
    *g = Arc::downgrade(&s);
    Ok(s)
}

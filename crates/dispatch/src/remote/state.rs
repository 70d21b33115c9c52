// SPDX-License-Identifier: LGPL-2.1-or-later
//! What the remote program keeps per client: the driver connection, the
//! event registrations, the close callback and the identity the client
//! forwarded. (Data streams belong to the RPC layer's client.)
//!
//! The event module knows nothing of this type: it is handed its part
//! (the registrations) and the client.

use std::sync::{Arc, Mutex, RwLock};

use driver::identity::Identity;
use driver::Connection;

use super::events::EventState;

/// Per-client state of the remote program.
pub struct RemoteState {
    /// The driver connection, from ConnectOpen to ConnectClose.
    pub(crate) conn: RwLock<Option<Arc<dyn Connection>>>,
    /// The shared network driver's connection, when it (and not `conn`)
    /// answers the client's network calls.
    pub(crate) net_conn: RwLock<Option<Arc<dyn Connection>>>,
    /// The shared secret driver's connection, when it (and not `conn`)
    /// answers the client's secret calls.
    pub(crate) secret_conn: RwLock<Option<Arc<dyn Connection>>>,
    /// The shared storage driver's connection, when it (and not `conn`)
    /// answers the client's storage calls.
    pub(crate) storage_conn: RwLock<Option<Arc<dyn Connection>>>,
    /// The shared node device driver's connection, when it answers the
    /// client's node device calls.
    pub(crate) nodedev_conn: RwLock<Option<Arc<dyn Connection>>>,
    /// The shared interface driver's connection, when it answers the
    /// client's host interface calls.
    pub(crate) iface_conn: RwLock<Option<Arc<dyn Connection>>>,
    /// Shared with the event sink the connection publishes to.
    pub(crate) events: Arc<EventState>,
    /// The client came in on a read-only socket.
    pub(crate) readonly: bool,
    /// Whether the client registered for the close callback.
    pub(crate) close_callback: Mutex<bool>,
    /// The client's connections to the daemons of its secondary drivers.
    pub(crate) links: super::relay::Links,
    /// The identity the client forwarded with ConnectSetIdentity.
    pub(crate) identity: RwLock<Option<Arc<Identity>>>,
}

impl RemoteState {
    pub(crate) fn new(readonly: bool) -> Self {
        RemoteState {
            conn: RwLock::new(None),
            net_conn: RwLock::new(None),
            secret_conn: RwLock::new(None),
            storage_conn: RwLock::new(None),
            nodedev_conn: RwLock::new(None),
            iface_conn: RwLock::new(None),
            events: Default::default(),
            readonly,
            close_callback: Mutex::new(false),
            links: Default::default(),
            identity: RwLock::new(None),
        }
    }
}

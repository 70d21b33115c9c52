// SPDX-License-Identifier: LGPL-2.1-or-later
//! What the remote program keeps per client: the driver connection, the
//! event registrations, the open streams and the close callback.
//!
//! The event and stream modules know nothing of this type: they are handed
//! their part (the registrations, the stream table) and the client.

use std::sync::{Arc, Mutex, RwLock};

use driver::Connection;

use super::events::EventState;
use super::streams::Streams;

/// Per-client state of the remote program.
pub struct RemoteState {
    /// The driver connection, from ConnectOpen to ConnectClose.
    pub(crate) conn: RwLock<Option<Arc<dyn Connection>>>,
    /// Shared with the event sink the connection publishes to.
    pub(crate) events: Arc<EventState>,
    /// The client came in on a read-only socket.
    pub(crate) readonly: bool,
    pub(crate) streams: Streams,
    /// Whether the client registered for the close callback.
    pub(crate) close_callback: Mutex<bool>,
}

impl RemoteState {
    pub(crate) fn new(readonly: bool) -> Self {
        RemoteState {
            conn: RwLock::new(None),
            events: Default::default(),
            readonly,
            streams: Streams::default(),
            close_callback: Mutex::new(false),
        }
    }
}

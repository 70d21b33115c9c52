// SPDX-License-Identifier: LGPL-2.1-or-later
//! The event bus: drivers publish, connections subscribe.
//!
//! Publishing never blocks on a subscriber: sinks must only queue the event
//! (dispatch's sink encodes it and queues it on the client's writer).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use crate::types::{DomainRef, NetworkRef, NodeDeviceRef, PoolRef, SecretRef};

/// An event a driver reports.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    DomainLifecycle {
        dom: DomainRef,
        event: i32,
        detail: i32,
    },
    DomainReboot {
        dom: DomainRef,
    },
    /// A block job ended (VIR_DOMAIN_EVENT_ID_BLOCK_JOB with the disk's
    /// `path`, BLOCK_JOB_2 with its target `dst`): virDomainBlockJobType
    /// `kind`, virConnectDomainEventBlockJobStatus `status`.
    DomainBlockJob {
        dom: DomainRef,
        path: String,
        dst: String,
        kind: i32,
        status: i32,
    },
    /// A device left the running guest (VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED):
    /// its alias.
    DomainDeviceRemoved {
        dom: DomainRef,
        alias: String,
    },
    /// The guest agent connected or disconnected
    /// (VIR_DOMAIN_EVENT_ID_AGENT_LIFECYCLE): virConnectDomainEventAgentLifecycleState
    /// `state` and its `reason`.
    DomainAgentLifecycle {
        dom: DomainRef,
        state: i32,
        reason: i32,
    },
    DomainMetadataChange {
        dom: DomainRef,
        kind: i32,
        nsuri: Option<String>,
    },
    NetworkLifecycle {
        net: NetworkRef,
        event: i32,
        detail: i32,
    },
    StoragePoolLifecycle {
        pool: PoolRef,
        event: i32,
        detail: i32,
    },
    StoragePoolRefresh {
        pool: PoolRef,
    },
    NodeDeviceLifecycle {
        dev: NodeDeviceRef,
        event: i32,
        detail: i32,
    },
    /// A node device's details changed (VIR_NODE_DEVICE_EVENT_ID_UPDATE).
    NodeDeviceUpdate {
        dev: NodeDeviceRef,
    },
    /// VIR_SECRET_EVENT_DEFINED (0) / UNDEFINED (1).
    SecretLifecycle {
        secret: SecretRef,
        event: i32,
        detail: i32,
    },
    /// A secret's value was set.
    SecretValueChanged {
        secret: SecretRef,
    },
}

/// A subscriber's callback.
pub type EventSink = Arc<dyn Fn(&Event) + Send + Sync>;

/// Subscribers of one driver instance.
#[derive(Default)]
pub struct EventBus {
    next: AtomicU64,
    subs: RwLock<Vec<(u64, EventSink)>>,
}

impl EventBus {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn subscribe(&self, sink: EventSink) -> u64 {
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        if let Ok(mut s) = self.subs.write() {
            s.push((id, sink));
        }
        id
    }

    pub fn unsubscribe(&self, id: u64) {
        if let Ok(mut s) = self.subs.write() {
            s.retain(|(i, _)| *i != id);
        }
    }

    pub fn publish(&self, ev: Event) {
        let subs: Vec<EventSink> = match self.subs.read() {
            Ok(s) => s.iter().map(|(_, f)| f.clone()).collect(),
            Err(_) => return,
        };
        for f in subs {
            f(&ev);
        }
    }

    pub fn has_subscribers(&self) -> bool {
        self.subs.read().map(|s| !s.is_empty()).unwrap_or(false)
    }
}

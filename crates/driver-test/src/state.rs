// SPDX-License-Identifier: LGPL-2.1-or-later
//! The in-memory host: domains, networks and storage pools in object
//! lists (`driver::objlist`, listed by name), and the host's own
//! description, interfaces and node devices behind one mutex.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Mutex, MutexGuard};

use conf::checkpoint::CheckpointDef;
use conf::snapshot::SnapshotDef;
use conf::{DomainDef, NetworkDef, PoolDef, VolDef};
use driver::consts::state as st;
use driver::objlist::{Obj, ObjList, Order};
use driver::{DomainRef, Event, EventBus, NetworkRef, NodeInfo, PoolRef};

use conf::moment::Moments;

/// A domain of the list.
pub type DomObj = Obj<Dom>;
/// A network of the list.
pub type NetObj = Obj<Net>;
/// A storage pool of the list.
pub type PoolObj = Obj<Pool>;

/// One host plus the subscribers to its events.
pub struct Shared {
    state: Mutex<State>,
    /// Indexed by UUID, name and id; listed by name.
    pub domains: ObjList<Dom>,
    pub networks: ObjList<Net>,
    pub pools: ObjList<Pool>,
    next_dom_id: AtomicI32,
    pub events: EventBus,
}

impl Shared {
    pub fn new(state: State) -> Self {
        Shared {
            state: Mutex::new(state),
            // Mass undefines leave freed domains in the allocator's lists:
            // give that heap back whenever the table shrinks.
            domains: ObjList::new(Order::Name).on_shrink(host::mem::release_free_heap),
            networks: ObjList::new(Order::Name),
            pools: ObjList::new(Order::Name),
            next_dom_id: AtomicI32::new(1),
            events: EventBus::new(),
        }
    }

    /// Locks the host's description, interfaces and node devices. A panic
    /// while holding the lock cannot leave them inconsistent in a way that
    /// matters more than losing the host, so a poisoned lock is recovered.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The next live domain id (1, 2, ...; never 0 or negative).
    pub fn alloc_dom_id(&self) -> i32 {
        let next = |id: i32| Some(id.wrapping_add(1).max(1));
        match self
            .next_dom_id
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, next)
        {
            Ok(id) | Err(id) => id,
        }
    }

    /// Publishes events collected under a lock, after it was released.
    pub fn publish(&self, events: Vec<Event>) {
        for e in events {
            self.events.publish(e);
        }
    }

    pub fn publish_one(&self, e: Event) {
        self.events.publish(e);
    }
}

/// A NUMA cell of the fake host.
#[derive(Debug, Clone)]
pub struct Cell {
    /// KiB.
    pub mem: u64,
    /// KiB.
    pub free_mem: u64,
    /// (cpu id, socket id, core id).
    pub cpus: Vec<(u32, u32, u32)>,
}

/// A domain object: libvirt's virDomainObj reduced to what the test
/// driver uses.
#[derive(Debug, Clone)]
pub struct Dom {
    /// The running definition while active, otherwise the persistent one.
    pub def: DomainDef,
    /// The persistent definition while a persistent domain runs (boxed:
    /// most domains never have one, and a definition is about 1 KiB).
    pub new_def: Option<Box<DomainDef>>,
    pub persistent: bool,
    pub state: i32,
    pub reason: i32,
    pub autostart: bool,
    pub has_managed_save: bool,
    /// virDomainTaintFlags bits.
    pub taint: u32,
    pub deprecations: Vec<String>,
    /// Snapshots and checkpoints (metadata only: nothing is saved).
    pub snapshots: Moments<SnapshotDef>,
    pub checkpoints: Moments<CheckpointDef>,
    /// Polling parameters of the IOThreads the domain object tracks (C's
    /// private IOThread list: filled for domains read from a node file and
    /// by virDomainAddIOThread, whichever definition it changed).
    pub iothreads: Vec<IoThreadPoll>,
    /// The guest's clock (virDomainSetTime), seconds and nanoseconds.
    pub guest_time: (i64, u32),
    /// Whether the guest's "/" and "/boot" are frozen (virDomainFSFreeze);
    /// like C's, kept across restarts of the domain object.
    pub fs_frozen: [bool; 2],
}

/// One IOThread's polling parameters (virDomainSetIOThreadParams).
#[derive(Debug, Clone)]
pub struct IoThreadPoll {
    pub id: u32,
    pub poll_max_ns: u64,
    pub poll_grow: u32,
    pub poll_shrink: u32,
}

impl Dom {
    pub fn new(def: DomainDef) -> Self {
        Dom {
            def,
            new_def: None,
            persistent: false,
            state: st::SHUTOFF,
            reason: 0,
            autostart: false,
            has_managed_save: false,
            taint: 0,
            deprecations: Vec::new(),
            snapshots: Moments::default(),
            checkpoints: Moments::default(),
            iothreads: Vec::new(),
            // libvirt's test driver starts every guest clock here.
            guest_time: (627_319_920, 0),
            fs_frozen: [false; 2],
        }
    }

    pub fn is_active(&self) -> bool {
        self.def.id.is_some()
    }

    pub fn id(&self) -> i32 {
        self.def.id.unwrap_or(-1)
    }

    pub fn dref(&self) -> DomainRef {
        DomainRef {
            name: self.def.name.clone(),
            uuid: self.def.uuid.0,
            id: self.id(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Net {
    pub def: NetworkDef,
    /// The persistent definition while a persistent network runs with a
    /// different live one.
    pub new_def: Option<NetworkDef>,
    pub persistent: bool,
    pub active: bool,
    pub autostart: bool,
}

impl Net {
    pub fn nref(&self) -> NetworkRef {
        NetworkRef {
            name: self.def.name.clone(),
            uuid: self.def.uuid.0,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Pool {
    pub def: PoolDef,
    /// Whether the pool has a (fake) config file, i.e. is persistent.
    pub persistent: bool,
    pub active: bool,
    pub autostart: bool,
    /// Volumes in creation order.
    pub vols: Vec<VolDef>,
}

impl Pool {
    pub fn pref(&self) -> PoolRef {
        PoolRef {
            name: self.def.name.clone(),
            uuid: self.def.uuid.0,
        }
    }

    pub fn vol(&self, name: &str) -> Option<&VolDef> {
        self.vols.iter().find(|v| v.name == name)
    }
}

/// A host interface, kept as the XML it was defined with.
#[derive(Debug, Clone)]
pub struct Iface {
    pub name: String,
    pub mac: String,
    pub xml: conf::xml::Element,
    pub active: bool,
}

/// A node device, kept as XML plus the parsed name, parent and caps.
#[derive(Debug, Clone)]
pub struct NodeDev {
    pub name: String,
    pub parent: Option<String>,
    pub caps: Vec<String>,
    pub xml: conf::xml::Element,
}

/// The fake host itself: what is not kept in an object list.
pub struct State {
    pub node_info: NodeInfo,
    pub cells: Vec<Cell>,
    pub ifaces: BTreeMap<String, Iface>,
    /// The interfaces as they were when the running interface transaction
    /// (virInterfaceChangeBegin) began; `None` when none runs.
    pub iface_backup: Option<BTreeMap<String, Iface>>,
    /// In definition order.
    pub devs: Vec<NodeDev>,
}

impl State {
    pub fn new(node_info: NodeInfo) -> Self {
        State {
            node_info,
            cells: Vec::new(),
            ifaces: BTreeMap::new(),
            iface_backup: None,
            devs: Vec::new(),
        }
    }
}

/// libvirt's defaults for a host without a `<cpu>` description.
pub fn default_node_info() -> NodeInfo {
    NodeInfo {
        model: "i686".into(),
        memory: 1024 * 1024 * 3,
        cpus: 16,
        mhz: 1400,
        nodes: 2,
        sockets: 2,
        cores: 2,
        threads: 2,
    }
}

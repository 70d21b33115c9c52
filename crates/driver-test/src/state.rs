// SPDX-License-Identifier: LGPL-2.1-or-later
//! The in-memory host: domains, networks, interfaces, storage pools and
//! node devices, with the indexes that keep lookups cheap.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

use conf::{DomainDef, NetworkDef, PoolDef, VolDef};
use driver::consts::state as st;
use driver::{DomainRef, Event, EventBus, NetworkRef, NodeInfo, PoolRef};

/// One state plus the subscribers to its events.
pub struct Shared {
    state: Mutex<State>,
    pub events: EventBus,
}

impl Shared {
    pub fn new(state: State) -> Self {
        Shared {
            state: Mutex::new(state),
            events: EventBus::new(),
        }
    }

    /// Locks the state. A panic while holding the lock cannot leave the
    /// maps inconsistent in a way that matters more than losing the host,
    /// so a poisoned lock is recovered.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Publishes events collected under the lock, after it was released.
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

/// All domains with their name and id indexes. The name index is ordered,
/// so listings come out sorted by name without a sort.
///
/// Domains are boxed so that the hash table holds small entries: probing
/// and iteration stay within a few cache lines, and the table's own
/// allocation (which never shrinks by itself) stays small.
#[derive(Default)]
pub struct Domains {
    by_uuid: HashMap<[u8; 16], Box<Dom>>,
    by_name: BTreeMap<String, [u8; 16]>,
    by_id: HashMap<i32, [u8; 16]>,
    /// Name, UUID and id of every domain in name order, kept between
    /// unfiltered listings: copying one contiguous array is several times
    /// cheaper than visiting thousands of domain objects scattered over the
    /// heap. Dropped by every method that can change a domain.
    listing: Option<Vec<DomainRef>>,
}

impl Domains {
    pub fn get(&self, uuid: &[u8; 16]) -> Option<&Dom> {
        self.by_uuid.get(uuid).map(|d| &**d)
    }

    pub fn get_mut(&mut self, uuid: &[u8; 16]) -> Option<&mut Dom> {
        self.listing = None;
        self.by_uuid.get_mut(uuid).map(|d| &mut **d)
    }

    /// References to all domains in name order (virConnectListAllDomains
    /// without filter flags).
    pub fn list_all(&mut self) -> Vec<DomainRef> {
        if let Some(l) = &self.listing {
            return l.clone();
        }
        let l: Vec<DomainRef> = self.iter().map(Dom::dref).collect();
        self.listing = Some(l.clone());
        l
    }

    pub fn uuid_by_name(&self, name: &str) -> Option<[u8; 16]> {
        self.by_name.get(name).copied()
    }

    pub fn uuid_by_id(&self, id: i32) -> Option<[u8; 16]> {
        self.by_id.get(&id).copied()
    }

    pub fn len(&self) -> usize {
        self.by_uuid.len()
    }

    /// Inserts a new domain (its UUID and name must be unused).
    pub fn insert(&mut self, dom: Dom) {
        self.listing = None;
        let uuid = dom.def.uuid.0;
        self.by_name.insert(dom.def.name.clone(), uuid);
        if let Some(id) = dom.def.id {
            self.by_id.insert(id, uuid);
        }
        self.by_uuid.insert(uuid, Box::new(dom));
    }

    pub fn remove(&mut self, uuid: &[u8; 16]) -> Option<Dom> {
        self.listing = None;
        let d = self.by_uuid.remove(uuid)?;
        self.by_name.remove(&d.def.name);
        if let Some(id) = d.def.id {
            self.by_id.remove(&id);
        }
        // Give memory back after mass undefines: hash tables never shrink
        // by themselves.
        if self.by_uuid.capacity() > 64 && self.by_uuid.len() < self.by_uuid.capacity() / 4 {
            self.by_uuid.shrink_to(self.by_uuid.len() * 2);
            // the domains dropped since the last shrink are free heap now
            host::mem::release_free_heap();
        }
        if self.by_id.capacity() > 64 && self.by_id.len() < self.by_id.capacity() / 4 {
            self.by_id.shrink_to(self.by_id.len() * 2);
        }
        Some(*d)
    }

    /// Re-indexes a domain after its id or name changed.
    pub fn reindex(&mut self, uuid: &[u8; 16], old_name: &str, old_id: Option<i32>) {
        self.listing = None;
        let Some(d) = self.by_uuid.get(uuid) else {
            return;
        };
        if d.def.name != old_name {
            self.by_name.remove(old_name);
            self.by_name.insert(d.def.name.clone(), *uuid);
        }
        if d.def.id != old_id {
            if let Some(id) = old_id {
                self.by_id.remove(&id);
            }
            if let Some(id) = d.def.id {
                self.by_id.insert(id, *uuid);
            }
        }
    }

    /// Domains in name order.
    pub fn iter(&self) -> impl Iterator<Item = &Dom> {
        self.by_name
            .values()
            .filter_map(|u| self.by_uuid.get(u).map(|d| &**d))
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

/// A whole fake host.
pub struct State {
    pub node_info: NodeInfo,
    pub cells: Vec<Cell>,
    pub next_dom_id: i32,
    pub domains: Domains,
    /// By name.
    pub networks: BTreeMap<String, Net>,
    pub ifaces: BTreeMap<String, Iface>,
    pub pools: BTreeMap<String, Pool>,
    /// In definition order.
    pub devs: Vec<NodeDev>,
}

impl State {
    pub fn new(node_info: NodeInfo) -> Self {
        State {
            node_info,
            cells: Vec::new(),
            next_dom_id: 1,
            domains: Domains::default(),
            networks: BTreeMap::new(),
            ifaces: BTreeMap::new(),
            pools: BTreeMap::new(),
            devs: Vec::new(),
        }
    }

    pub fn alloc_dom_id(&mut self) -> i32 {
        let id = self.next_dom_id;
        self.next_dom_id = self.next_dom_id.wrapping_add(1).max(1);
        id
    }

    pub fn net_by_uuid(&self, uuid: &[u8; 16]) -> Option<&Net> {
        self.networks.values().find(|n| n.def.uuid.0 == *uuid)
    }

    pub fn pool_by_uuid(&self, uuid: &[u8; 16]) -> Option<&Pool> {
        self.pools.values().find(|p| p.def.uuid.0 == *uuid)
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

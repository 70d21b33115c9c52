// SPDX-License-Identifier: LGPL-2.1-or-later
//! Object lists (libvirt's virDomainObjList, virNetworkObjList): the table
//! of a driver's domains, networks or pools, indexed by UUID, name and (for
//! domains) live id, handing out shared [`Obj`] handles.
//!
//! An [`Obj`] carries its UUID, its state behind its own mutex and its
//! [`Job`]. The list keeps each object's name and id beside it, so lookups
//! and listings answer from the list without locking any object. A driver
//! tells the list when a name or id changes ([`ObjList::rename`],
//! [`ObjList::set_id`]).
//!
//! Listing takes a [`ObjList::snapshot`]: the entries in list order (by
//! name, or in insertion order), kept until the next change to the list,
//! so repeated listings cost one reference count; filtering and formatting
//! happen on the snapshot without the list lock.
//!
//! Lock order: an object's state lock, then the list lock. Never lock an
//! object while holding the list lock (the list does so only for a new
//! object that nobody else can see yet). A driver removes an object while
//! holding its state lock; the object is then marked removed, so whoever
//! held a handle and locks it afterwards can tell ([`Obj::is_removed`],
//! [`Obj::lock_live`]) and report the object gone ([`ObjList::add`] looks
//! it up again).
//!
//! The error texts are libvirt's, with the reporting domain and object
//! kind left to the caller ([`Conflict::to_error`], [`no_domain_uuid`]).

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::error::{Error, ErrorCode, ErrorDomain};
use crate::job::{Job, JobBusy};
use crate::types::{DomainRef, NetworkRef, PoolRef};

/// A UUID as the wire carries it.
pub type Uuid = [u8; 16];

/// The canonical text form of a UUID (8-4-4-4-12 lowercase hex).
pub fn uuid_string(u: &Uuid) -> String {
    let mut s = String::with_capacity(36);
    for (i, b) in u.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// VIR_ERR_NO_DOMAIN for a handle whose domain is gone: "no domain with
/// matching uuid 'UUID' (NAME)".
pub fn no_domain_uuid(domain: ErrorDomain, uuid: &Uuid, name: &str) -> Error {
    Error::no_domain(
        domain,
        format!(
            "no domain with matching uuid '{}' ({name})",
            uuid_string(uuid)
        ),
    )
}

/// One object of a list: its UUID, its state and its job.
#[derive(Debug)]
pub struct Obj<T> {
    uuid: Uuid,
    removed: AtomicBool,
    job: Job,
    state: Mutex<T>,
}

impl<T> Obj<T> {
    pub fn new(uuid: Uuid, state: T) -> Obj<T> {
        Obj {
            uuid,
            removed: AtomicBool::new(false),
            job: Job::new(),
            state: Mutex::new(state),
        }
    }

    pub fn uuid(&self) -> &Uuid {
        &self.uuid
    }

    /// Locks the object's state. A panic under the lock leaves at worst
    /// one object half changed, so a poisoned lock is recovered.
    pub fn lock(&self) -> MutexGuard<'_, T> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Locks the object's state unless it was removed from its list.
    pub fn lock_live(&self) -> Option<MutexGuard<'_, T>> {
        let g = self.lock();
        (!self.is_removed()).then_some(g)
    }

    /// Whether the object was removed from its list (checked under its
    /// state lock, this is final).
    pub fn is_removed(&self) -> bool {
        self.removed.load(Ordering::Acquire)
    }

    pub fn job(&self) -> &Job {
        &self.job
    }

    /// Takes the object's job for `api` (see [`Job::begin`]); fails with
    /// [`JobError::Removed`] if the object left its list meanwhile.
    pub fn begin_job(
        self: &Arc<Self>,
        api: &'static str,
        timeout: Duration,
    ) -> Result<ObjJob<T>, JobError> {
        self.job.acquire(api, timeout).map_err(JobError::Busy)?;
        let g = ObjJob { obj: self.clone() };
        if self.is_removed() {
            return Err(JobError::Removed);
        }
        Ok(g)
    }
}

/// Why [`Obj::begin_job`] failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobError {
    /// Another operation held the job until the deadline.
    Busy(JobBusy),
    /// The object left its list while the caller waited.
    Removed,
}

/// A held job of an object, released on drop; it keeps the object alive.
#[derive(Debug)]
pub struct ObjJob<T> {
    obj: Arc<Obj<T>>,
}

impl<T> ObjJob<T> {
    pub fn obj(&self) -> &Arc<Obj<T>> {
        &self.obj
    }
}

impl<T> Drop for ObjJob<T> {
    fn drop(&mut self) {
        self.obj.job.release();
    }
}

/// The order listings come out in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// By name (the test driver's order).
    Name,
    /// In the order objects were added.
    Insertion,
}

/// An object with the keys the list holds for it. (Copy a name out with
/// `String::from(&*e.name)`: `to_string` on an `Arc<str>` goes through the
/// formatter, several times slower in a listing of thousands.)
#[derive(Debug)]
pub struct Entry<T> {
    pub name: Arc<str>,
    pub uuid: Uuid,
    /// The live id of a running domain.
    pub id: Option<i32>,
    pub obj: Arc<Obj<T>>,
}

impl<T> Clone for Entry<T> {
    fn clone(&self) -> Self {
        Entry {
            name: self.name.clone(),
            uuid: self.uuid,
            id: self.id,
            obj: self.obj.clone(),
        }
    }
}

impl<T> Entry<T> {
    pub fn dom_ref(&self) -> DomainRef {
        DomainRef {
            name: String::from(&*self.name),
            uuid: self.uuid,
            id: self.id.unwrap_or(-1),
        }
    }

    pub fn net_ref(&self) -> NetworkRef {
        NetworkRef {
            name: String::from(&*self.name),
            uuid: self.uuid,
        }
    }

    pub fn pool_ref(&self) -> PoolRef {
        PoolRef {
            name: String::from(&*self.name),
            uuid: self.uuid,
        }
    }
}

/// A UUID or name another object already has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conflict {
    /// The UUID belongs to the object `name`, which has another name.
    UuidTaken { name: String, uuid: Uuid },
    /// The name belongs to the object with UUID `uuid`.
    NameTaken { name: String, uuid: Uuid },
}

impl Conflict {
    /// libvirt's VIR_ERR_OPERATION_FAILED texts for adding an object:
    /// "KIND 'NAME' is already defined with uuid UUID" and "KIND 'NAME'
    /// already exists with uuid UUID" (KIND: domain, network, pool).
    pub fn to_error(&self, kind: &str, domain: ErrorDomain) -> Error {
        let msg = match self {
            Conflict::UuidTaken { name, uuid } => format!(
                "{kind} '{name}' is already defined with uuid {}",
                uuid_string(uuid)
            ),
            Conflict::NameTaken { name, uuid } => format!(
                "{kind} '{name}' already exists with uuid {}",
                uuid_string(uuid)
            ),
        };
        Error::new(ErrorCode::OperationFailed, domain, msg)
    }
}

struct Slot<T> {
    obj: Arc<Obj<T>>,
    name: Arc<str>,
    id: Option<i32>,
    seq: u64,
}

struct Tables<T> {
    by_uuid: HashMap<Uuid, Slot<T>>,
    by_name: BTreeMap<Arc<str>, Uuid>,
    by_id: HashMap<i32, Uuid>,
    /// Insertion order (kept only for [`Order::Insertion`]).
    by_seq: BTreeMap<u64, Uuid>,
    next_seq: u64,
    /// The last listing, until the next change.
    snapshot: Option<Arc<[Entry<T>]>>,
}

impl<T> Tables<T> {
    fn entry(&self, uuid: &Uuid) -> Option<Entry<T>> {
        self.by_uuid.get(uuid).map(|s| Entry {
            name: s.name.clone(),
            uuid: *uuid,
            id: s.id,
            obj: s.obj.clone(),
        })
    }

    /// The slot of `obj` itself (not of another object with its UUID).
    fn slot(&self, obj: &Obj<T>) -> Option<&Slot<T>> {
        self.by_uuid
            .get(&obj.uuid)
            .filter(|s| std::ptr::eq(Arc::as_ptr(&s.obj), obj))
    }

    fn insert(&mut self, order: Order, obj: Arc<Obj<T>>, name: Arc<str>) {
        let uuid = obj.uuid;
        let seq = self.next_seq;
        self.next_seq += 1;
        if order == Order::Insertion {
            self.by_seq.insert(seq, uuid);
        }
        self.by_name.insert(name.clone(), uuid);
        self.by_uuid.insert(
            uuid,
            Slot {
                obj,
                name,
                id: None,
                seq,
            },
        );
        self.snapshot = None;
    }

    fn slot_mut(&mut self, obj: &Obj<T>) -> Option<&mut Slot<T>> {
        self.by_uuid
            .get_mut(&obj.uuid)
            .filter(|s| std::ptr::eq(Arc::as_ptr(&s.obj), obj))
    }
}

/// A driver's objects of one kind. Lookups, adds and removals hold the
/// list lock for a few hash-table operations only.
pub struct ObjList<T> {
    order: Order,
    tables: Mutex<Tables<T>>,
    on_shrink: Option<fn()>,
}

impl<T> ObjList<T> {
    pub fn new(order: Order) -> Self {
        ObjList {
            order,
            tables: Mutex::new(Tables {
                by_uuid: HashMap::new(),
                by_name: BTreeMap::new(),
                by_id: HashMap::new(),
                by_seq: BTreeMap::new(),
                next_seq: 0,
                snapshot: None,
            }),
            on_shrink: None,
        }
    }

    /// Calls `hook` (after unlocking) whenever removals made the list give
    /// its table memory back, so a driver can return freed heap to the
    /// system after mass removals.
    pub fn on_shrink(mut self, hook: fn()) -> Self {
        self.on_shrink = Some(hook);
        self
    }

    fn tables(&self) -> MutexGuard<'_, Tables<T>> {
        self.tables.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn len(&self) -> usize {
        self.tables().by_uuid.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// virDomainObjListAdd: finds the object with `uuid`, whose name must
    /// be `name`, or, if neither key is taken, adds `value` as a new
    /// object; then runs `f` with the object, its state locked, and
    /// `value` back if the object already existed. A new object is locked
    /// before anyone else can see it; an existing one that is removed
    /// before it could be locked is looked up again.
    pub fn add<R>(
        &self,
        uuid: Uuid,
        name: Arc<str>,
        value: T,
        f: impl FnOnce(&Arc<Obj<T>>, &mut T, Option<T>) -> R,
    ) -> Result<R, Conflict> {
        loop {
            let existing = {
                let mut t = self.tables();
                match t.by_uuid.get(&uuid) {
                    Some(s) if s.name != name => {
                        return Err(Conflict::UuidTaken {
                            name: String::from(&*s.name),
                            uuid,
                        })
                    }
                    Some(s) => s.obj.clone(),
                    None => {
                        if let Some(u) = t.by_name.get(&*name) {
                            return Err(Conflict::NameTaken {
                                name: String::from(&*name),
                                uuid: *u,
                            });
                        }
                        let obj = Arc::new(Obj::new(uuid, value));
                        // Nobody else can hold the lock of an object
                        // that is not in the list yet.
                        let mut g = obj.lock();
                        t.insert(self.order, obj.clone(), name);
                        drop(t);
                        return Ok(f(&obj, &mut g, None));
                    }
                }
            };
            let mut g = existing.lock();
            if existing.is_removed() {
                continue;
            }
            // A rename may have come in between.
            if let Some(cur) = self.tables().slot(&existing).map(|s| s.name.clone()) {
                if cur != name {
                    return Err(Conflict::UuidTaken {
                        name: String::from(&*cur),
                        uuid,
                    });
                }
            }
            return Ok(f(&existing, &mut g, Some(value)));
        }
    }

    pub fn get(&self, uuid: &Uuid) -> Option<Arc<Obj<T>>> {
        self.tables().by_uuid.get(uuid).map(|s| s.obj.clone())
    }

    pub fn entry(&self, uuid: &Uuid) -> Option<Entry<T>> {
        self.tables().entry(uuid)
    }

    pub fn entry_by_name(&self, name: &str) -> Option<Entry<T>> {
        let t = self.tables();
        let u = *t.by_name.get(name)?;
        t.entry(&u)
    }

    /// The running domain with live id `id`.
    pub fn entry_by_id(&self, id: i32) -> Option<Entry<T>> {
        let t = self.tables();
        let u = *t.by_id.get(&id)?;
        t.entry(&u)
    }

    /// Records the live id of `obj` (`None` once it stopped). Call with
    /// the object's state lock held, as the change is made.
    pub fn set_id(&self, obj: &Obj<T>, id: Option<i32>) {
        let mut t = self.tables();
        let Some(s) = t.slot_mut(obj) else { return };
        let old = std::mem::replace(&mut s.id, id);
        if old == id {
            return;
        }
        if let Some(o) = old {
            if t.by_id.get(&o) == Some(&obj.uuid) {
                t.by_id.remove(&o);
            }
        }
        if let Some(n) = id {
            t.by_id.insert(n, obj.uuid);
        }
        t.snapshot = None;
    }

    /// Renames `obj`, refusing a name another object has. Call with the
    /// object's state lock held, as the change is made.
    pub fn rename(&self, obj: &Obj<T>, name: &str) -> Result<(), Conflict> {
        let mut t = self.tables();
        if let Some(u) = t.by_name.get(name) {
            if *u == obj.uuid {
                return Ok(());
            }
            return Err(Conflict::NameTaken {
                name: name.to_string(),
                uuid: *u,
            });
        }
        let name: Arc<str> = Arc::from(name);
        let Some(s) = t.slot_mut(obj) else {
            return Ok(());
        };
        let old = std::mem::replace(&mut s.name, name.clone());
        t.by_name.remove(&old);
        t.by_name.insert(name, obj.uuid);
        t.snapshot = None;
        Ok(())
    }

    /// Removes `obj` and marks it removed; false if it was not in the
    /// list. Call with the object's state lock held.
    pub fn remove(&self, obj: &Obj<T>) -> bool {
        let shrunk = {
            let mut t = self.tables();
            if t.slot_mut(obj).is_none() {
                return false;
            }
            let Some(s) = t.by_uuid.remove(&obj.uuid) else {
                return false;
            };
            obj.removed.store(true, Ordering::Release);
            t.by_name.remove(&s.name);
            if let Some(id) = s.id {
                if t.by_id.get(&id) == Some(&obj.uuid) {
                    t.by_id.remove(&id);
                }
            }
            t.by_seq.remove(&s.seq);
            t.snapshot = None;
            // Hash tables never shrink by themselves: give the memory
            // back after mass removals.
            let mut shrunk = false;
            if t.by_uuid.capacity() > 64 && t.by_uuid.len() < t.by_uuid.capacity() / 4 {
                let n = t.by_uuid.len() * 2;
                t.by_uuid.shrink_to(n);
                shrunk = true;
            }
            if t.by_id.capacity() > 64 && t.by_id.len() < t.by_id.capacity() / 4 {
                let n = t.by_id.len() * 2;
                t.by_id.shrink_to(n);
            }
            shrunk
        };
        if shrunk {
            if let Some(hook) = self.on_shrink {
                hook();
            }
        }
        true
    }

    /// Every object in list order, as of now. Cheap to take again while
    /// the list is unchanged; holds no lock once returned.
    pub fn snapshot(&self) -> Arc<[Entry<T>]> {
        let mut t = self.tables();
        if let Some(s) = &t.snapshot {
            return s.clone();
        }
        let uuids: Box<dyn Iterator<Item = &Uuid>> = match self.order {
            Order::Name => Box::new(t.by_name.values()),
            Order::Insertion => Box::new(t.by_seq.values()),
        };
        // The names are copied, one after the other: a listing then reads
        // them from a few contiguous pages instead of from wherever each
        // object's name was allocated (several times faster with
        // thousands of objects).
        let s: Arc<[Entry<T>]> = uuids
            .filter_map(|u| {
                t.by_uuid.get(u).map(|s| Entry {
                    name: Arc::from(&*s.name),
                    uuid: *u,
                    id: s.id,
                    obj: s.obj.clone(),
                })
            })
            .collect();
        t.snapshot = Some(s.clone());
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Barrier;

    fn uuid(n: u32) -> Uuid {
        let mut u = [0u8; 16];
        u[12..].copy_from_slice(&n.to_be_bytes());
        u
    }

    /// Adds (or finds) an object; whether it was new.
    fn put<T>(l: &ObjList<T>, n: u32, name: &str, v: T) -> Result<(Arc<Obj<T>>, bool), Conflict> {
        l.add(uuid(n), name.into(), v, |o, _, back| {
            (o.clone(), back.is_none())
        })
    }

    fn obj<T>(l: &ObjList<T>, n: u32, name: &str, v: T) -> Arc<Obj<T>> {
        put(l, n, name, v).unwrap().0
    }

    fn names<T>(s: &[Entry<T>]) -> Vec<String> {
        s.iter().map(|e| e.name.to_string()).collect()
    }

    #[test]
    fn add_lookup_by_every_key_and_remove() {
        let l: ObjList<u32> = ObjList::new(Order::Name);
        let (a, new) = put(&l, 1, "a", 10).unwrap();
        assert!(new);
        l.set_id(&a, Some(7));
        assert_eq!(*l.entry_by_name("a").unwrap().obj.lock(), 10);
        assert_eq!(l.entry_by_id(7).unwrap().uuid, uuid(1));
        assert_eq!(
            l.entry(&uuid(1)).unwrap().dom_ref(),
            DomainRef {
                name: "a".into(),
                uuid: uuid(1),
                id: 7
            }
        );
        assert!(l.entry_by_id(8).is_none());
        l.set_id(&a, None);
        assert!(l.entry_by_id(7).is_none());
        assert_eq!(l.entry(&uuid(1)).unwrap().dom_ref().id, -1);
        let g = a.lock();
        assert!(l.remove(&a));
        drop(g);
        assert!(a.is_removed());
        assert!(a.lock_live().is_none());
        assert!(l.get(&uuid(1)).is_none());
        assert!(l.entry_by_name("a").is_none());
        assert!(!l.remove(&a));
        assert!(l.is_empty());
    }

    #[test]
    fn add_runs_its_callback_on_the_locked_object() {
        let l: ObjList<u32> = ObjList::new(Order::Name);
        let r = l.add(uuid(1), "a".into(), 1, |o, v, back| {
            assert!(o.job().holder().is_none());
            assert_eq!(back, None);
            *v += 1;
            *v
        });
        assert_eq!(r, Ok(2));
        // An existing object: the value comes back unused.
        let r = l.add(uuid(1), "a".into(), 5, |_, v, back| (*v, back));
        assert_eq!(r, Ok((2, Some(5))));
    }

    #[test]
    fn add_reports_conflicts_with_libvirts_texts() {
        let l: ObjList<()> = ObjList::new(Order::Name);
        put(&l, 1, "a", ()).unwrap();
        assert!(!put(&l, 1, "a", ()).unwrap().1);
        let e = put(&l, 1, "b", ()).unwrap_err();
        assert_eq!(
            e.to_error("domain", ErrorDomain::Domain).message(),
            "operation failed: domain 'a' is already defined with uuid \
             00000000-0000-0000-0000-000000000001"
        );
        let e = put(&l, 2, "a", ()).unwrap_err();
        let e = e.to_error("network", ErrorDomain::Network);
        assert_eq!(e.code, ErrorCode::OperationFailed);
        assert_eq!(
            e.message(),
            "operation failed: network 'a' already exists with uuid \
             00000000-0000-0000-0000-000000000001"
        );
        assert_eq!(l.len(), 1);
    }

    #[test]
    fn no_domain_uuid_names_the_handle() {
        let e = no_domain_uuid(ErrorDomain::Test, &uuid(3), "x");
        assert_eq!(e.code, ErrorCode::NoDomain);
        assert_eq!(
            e.message(),
            "Domain not found: no domain with matching uuid \
             '00000000-0000-0000-0000-000000000003' (x)"
        );
    }

    #[test]
    fn a_stale_handle_does_not_remove_its_successor() {
        let l: ObjList<u8> = ObjList::new(Order::Name);
        let old = obj(&l, 1, "a", 1);
        assert!(l.remove(&old));
        let new = obj(&l, 1, "a", 2);
        assert!(!l.remove(&old));
        l.set_id(&old, Some(5));
        assert!(l.entry_by_id(5).is_none());
        assert!(Arc::ptr_eq(&l.get(&uuid(1)).unwrap(), &new));
    }

    #[test]
    fn rename_moves_the_name_and_refuses_a_taken_one() {
        let l: ObjList<()> = ObjList::new(Order::Name);
        let a = obj(&l, 1, "a", ());
        obj(&l, 2, "b", ());
        assert_eq!(
            l.rename(&a, "b"),
            Err(Conflict::NameTaken {
                name: "b".into(),
                uuid: uuid(2)
            })
        );
        l.rename(&a, "c").unwrap();
        assert!(l.entry_by_name("a").is_none());
        assert_eq!(l.entry_by_name("c").unwrap().uuid, uuid(1));
        assert_eq!(names(&l.snapshot()), ["b", "c"]);
        // Adding under the old name now conflicts on the UUID.
        assert!(matches!(
            put(&l, 1, "a", ()),
            Err(Conflict::UuidTaken { name, .. }) if name == "c"
        ));
    }

    #[test]
    fn snapshots_follow_the_lists_order() {
        let by_name: ObjList<()> = ObjList::new(Order::Name);
        let by_add: ObjList<()> = ObjList::new(Order::Insertion);
        for (i, n) in (0u32..).zip(["m", "c", "x", "a"]) {
            obj(&by_name, i, n, ());
            obj(&by_add, i, n, ());
        }
        assert_eq!(names(&by_name.snapshot()), ["a", "c", "m", "x"]);
        assert_eq!(names(&by_add.snapshot()), ["m", "c", "x", "a"]);
        let c = by_add.get(&uuid(1)).unwrap();
        by_add.remove(&c);
        obj(&by_add, 1, "c", ());
        assert_eq!(names(&by_add.snapshot()), ["m", "x", "a", "c"]);
    }

    #[test]
    fn unchanged_list_hands_out_the_same_snapshot() {
        let l: ObjList<u8> = ObjList::new(Order::Name);
        let a = obj(&l, 1, "a", 0);
        let s1 = l.snapshot();
        // State changes do not touch the list.
        *a.lock() = 9;
        assert!(Arc::ptr_eq(&s1, &l.snapshot()));
        l.set_id(&a, Some(1));
        let s2 = l.snapshot();
        assert!(!Arc::ptr_eq(&s1, &s2));
        assert_eq!(s1[0].id, None);
        assert_eq!(s2[0].id, Some(1));
    }

    #[test]
    fn snapshot_while_other_threads_add_and_remove() {
        let l: Arc<ObjList<u32>> = Arc::new(ObjList::new(Order::Name));
        // A stable set that every snapshot must show.
        for i in 0..100 {
            obj(&l, i, &format!("stable{i:03}"), i);
        }
        let barrier = Arc::new(Barrier::new(3));
        let writers: Vec<_> = (0..2u32)
            .map(|w| {
                let (l, barrier) = (l.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    for round in 0..200u32 {
                        let n = 1000 + w * 100_000 + round;
                        l.add(uuid(n), format!("churn{n}").into(), n, |o, _, _| {
                            assert!(l.remove(o));
                        })
                        .unwrap();
                    }
                })
            })
            .collect();
        barrier.wait();
        for _ in 0..200 {
            let s = l.snapshot();
            let stable = s.iter().filter(|e| e.name.starts_with("stable")).count();
            assert_eq!(stable, 100);
            // Sorted by name, each entry's object matches its keys.
            assert!(s.windows(2).all(|w| w[0].name < w[1].name));
            for e in s.iter() {
                assert_eq!(e.obj.uuid(), &e.uuid);
            }
        }
        for w in writers {
            w.join().unwrap();
        }
        assert_eq!(l.len(), 100);
        assert_eq!(l.snapshot().len(), 100);
    }

    #[test]
    fn concurrent_adds_of_one_uuid_make_one_object() {
        let l: Arc<ObjList<u32>> = Arc::new(ObjList::new(Order::Name));
        let barrier = Arc::new(Barrier::new(4));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let (l, barrier) = (l.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    (0..100).filter(|_| put(&l, 1, "a", 0).unwrap().1).count()
                })
            })
            .collect();
        let made: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
        assert_eq!(made, 1);
        assert_eq!(l.len(), 1);
    }

    #[test]
    fn add_of_an_object_being_removed_makes_a_fresh_one() {
        let l: Arc<ObjList<u8>> = Arc::new(ObjList::new(Order::Name));
        let o = obj(&l, 1, "a", 0);
        let g = o.lock();
        let l2 = l.clone();
        // Finds the old object, waits for its lock, sees it removed.
        let adder = std::thread::spawn(move || put(&l2, 1, "a", 1).unwrap());
        std::thread::sleep(Duration::from_millis(30));
        l.remove(&o);
        drop(g);
        let (fresh, new) = adder.join().unwrap();
        assert!(new);
        assert!(!Arc::ptr_eq(&fresh, &o));
        assert_eq!(*fresh.lock(), 1);
    }

    #[test]
    fn jobs_serialize_per_object_and_see_removal() {
        let l: ObjList<()> = ObjList::new(Order::Insertion);
        let a = obj(&l, 1, "a", ());
        let b = obj(&l, 2, "b", ());
        let ja = a.begin_job("virDomainCreate", Duration::ZERO).unwrap();
        assert_eq!(a.job().holder(), Some("virDomainCreate"));
        let busy = a.begin_job("virDomainDestroy", Duration::from_millis(20));
        assert!(matches!(
            busy,
            Err(JobError::Busy(JobBusy {
                holder: "virDomainCreate"
            }))
        ));
        // Another object is not held up.
        let jb = b.begin_job("virDomainDestroy", Duration::ZERO).unwrap();
        drop(jb);
        drop(ja);
        // A waiter that gets the job of a removed object is told so.
        let ja = a.begin_job("undefine", Duration::ZERO).unwrap();
        let a2 = a.clone();
        let waiter = std::thread::spawn(move || {
            a2.begin_job("virDomainCreate", Duration::from_secs(10))
                .map(|_| ())
        });
        std::thread::sleep(Duration::from_millis(30));
        {
            let _g = ja.obj().lock();
            l.remove(ja.obj());
        }
        drop(ja);
        assert_eq!(waiter.join().unwrap(), Err(JobError::Removed));
        assert!(!a.job().is_held());
    }

    #[test]
    fn mass_removal_shrinks_and_calls_the_hook() {
        use std::sync::atomic::AtomicUsize;
        static SHRINKS: AtomicUsize = AtomicUsize::new(0);
        fn hook() {
            SHRINKS.fetch_add(1, Ordering::SeqCst);
        }
        let l: ObjList<()> = ObjList::new(Order::Name).on_shrink(hook);
        let objs: Vec<_> = (0..1000)
            .map(|i| obj(&l, i, &format!("d{i}"), ()))
            .collect();
        for o in &objs {
            l.remove(o);
        }
        assert!(SHRINKS.load(Ordering::SeqCst) > 0);
        assert!(l.is_empty());
    }
}

// SPDX-License-Identifier: LGPL-2.1-or-later
//! Close callbacks (libvirt's virCloseCallbacks): work a driver owes a
//! domain when the client connection that asked for it goes away, such as
//! destroying a guest started with VIR_DOMAIN_START_AUTODESTROY.
//!
//! How a driver uses them:
//! - every connection object it hands out carries a [`ConnectionId`];
//! - a start with the flag calls [`CloseCallbacks::add`] once the guest
//!   runs, holding the domain's job;
//! - every way a guest stops calls [`CloseCallbacks::remove`] (a fake
//!   reboot, which keeps the guest, does not);
//! - when the connection object is dropped (the client closed, crashed or
//!   lost the network: the RPC layer drops it in every case), the driver
//!   takes [`CloseCallbacks::domains_of`] and, for each domain, takes its
//!   job, then [`CloseCallbacks::take`] and runs what is still registered.
//!   Taking the registration under the job means a guest stopped and
//!   started again meanwhile is left alone.
//!
//! Registrations live in memory only. After a daemon restart nothing is
//! tied to a connection any more: the clients that asked are gone, and
//! their guests keep running, as libvirt's reconnect path leaves them.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// One open driver connection; libvirt keys close callbacks by the
/// connection object, so each object gets an id unique for the life of
/// the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConnectionId(u64);

impl ConnectionId {
    /// A fresh id, never handed out before by this process.
    #[allow(clippy::new_without_default)]
    pub fn new() -> ConnectionId {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        ConnectionId(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Registration<K> {
    dom: [u8; 16],
    conn: ConnectionId,
    kind: K,
}

/// The close callbacks of one driver, by domain UUID and connection. `K`
/// names what to run (the LXC driver has only autodestroy; a QEMU driver
/// would add its migration clean-ups).
#[derive(Debug)]
pub struct CloseCallbacks<K> {
    regs: Mutex<Vec<Registration<K>>>,
}

impl<K> Default for CloseCallbacks<K> {
    fn default() -> Self {
        CloseCallbacks {
            regs: Mutex::new(Vec::new()),
        }
    }
}

impl<K: Copy + Eq> CloseCallbacks<K> {
    pub fn new() -> Self {
        Self::default()
    }

    fn regs(&self) -> std::sync::MutexGuard<'_, Vec<Registration<K>>> {
        self.regs.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `kind` for `dom` when `conn` closes; registering the same
    /// triple twice keeps one.
    pub fn add(&self, dom: [u8; 16], conn: ConnectionId, kind: K) {
        let r = Registration { dom, conn, kind };
        let mut regs = self.regs();
        if !regs.contains(&r) {
            regs.push(r);
        }
    }

    /// Drops the registrations of `dom` that match `conn` and `kind`
    /// (`None` matches any).
    pub fn remove(&self, dom: &[u8; 16], conn: Option<ConnectionId>, kind: Option<K>) {
        self.regs()
            .retain(|r| !(r.dom == *dom && matches(r, conn, kind)));
    }

    /// Whether `dom` has a registration matching `conn` and `kind`
    /// (`None` matches any).
    pub fn is_registered(
        &self,
        dom: &[u8; 16],
        conn: Option<ConnectionId>,
        kind: Option<K>,
    ) -> bool {
        self.regs()
            .iter()
            .any(|r| r.dom == *dom && matches(r, conn, kind))
    }

    /// The domains with something registered for `conn`, in registration
    /// order, each once.
    pub fn domains_of(&self, conn: ConnectionId) -> Vec<[u8; 16]> {
        let mut out: Vec<[u8; 16]> = Vec::new();
        for r in self.regs().iter().filter(|r| r.conn == conn) {
            if !out.contains(&r.dom) {
                out.push(r.dom);
            }
        }
        out
    }

    /// Removes and returns what `conn` registered for `dom`: the callbacks
    /// to run now.
    pub fn take(&self, dom: &[u8; 16], conn: ConnectionId) -> Vec<K> {
        let mut taken = Vec::new();
        self.regs().retain(|r| {
            if r.dom == *dom && r.conn == conn {
                taken.push(r.kind);
                false
            } else {
                true
            }
        });
        taken
    }
}

fn matches<K: Eq>(r: &Registration<K>, conn: Option<ConnectionId>, kind: Option<K>) -> bool {
    conn.is_none_or(|c| r.conn == c) && kind.is_none_or(|k| r.kind == k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Cb {
        AutoDestroy,
        Other,
    }

    const A: [u8; 16] = [1; 16];
    const B: [u8; 16] = [2; 16];

    #[test]
    fn connection_ids_are_unique() {
        assert_ne!(ConnectionId::new(), ConnectionId::new());
    }

    #[test]
    fn take_returns_only_that_connections_callbacks_once() {
        let cc = CloseCallbacks::new();
        let (c1, c2) = (ConnectionId::new(), ConnectionId::new());
        cc.add(A, c1, Cb::AutoDestroy);
        cc.add(A, c1, Cb::AutoDestroy);
        cc.add(B, c1, Cb::AutoDestroy);
        cc.add(B, c2, Cb::Other);
        assert_eq!(cc.domains_of(c1), vec![A, B]);
        assert_eq!(cc.domains_of(c2), vec![B]);
        assert_eq!(cc.take(&A, c1), vec![Cb::AutoDestroy]);
        assert!(cc.take(&A, c1).is_empty());
        assert_eq!(cc.take(&B, c1), vec![Cb::AutoDestroy]);
        assert!(cc.domains_of(c1).is_empty());
        assert!(cc.is_registered(&B, Some(c2), None));
    }

    #[test]
    fn remove_with_no_connection_drops_every_registration_of_the_domain() {
        let cc = CloseCallbacks::new();
        let (c1, c2) = (ConnectionId::new(), ConnectionId::new());
        cc.add(A, c1, Cb::AutoDestroy);
        cc.add(A, c2, Cb::Other);
        cc.add(B, c1, Cb::AutoDestroy);
        cc.remove(&A, None, Some(Cb::Other));
        assert!(cc.is_registered(&A, Some(c1), None));
        assert!(!cc.is_registered(&A, Some(c2), None));
        cc.remove(&A, None, None);
        assert!(!cc.is_registered(&A, None, None));
        assert!(cc.is_registered(&B, Some(c1), Some(Cb::AutoDestroy)));
        assert!(cc.take(&A, c1).is_empty());
    }
}

// SPDX-License-Identifier: LGPL-2.1-or-later
//! A domain's snapshots or checkpoints: libvirt's moment list, a tree
//! under an implicit root, with one current moment.
//!
//! Children are kept newest first, as libvirt links them, so listings that
//! walk the tree come out in libvirt's order; a flat listing of every
//! moment (libvirt walks its hash table there) comes out by name.

use std::collections::BTreeMap;

use virterror::{ErrorCode, ErrorDomain, Result, VirError as Error};

/// What the list needs of a definition.
pub trait MomentDef {
    fn name(&self) -> &str;
    fn parent_name(&self) -> Option<&str>;
    fn set_parent_name(&mut self, p: Option<String>);
}

impl MomentDef for crate::snapshot::SnapshotDef {
    fn name(&self) -> &str {
        &self.name
    }
    fn parent_name(&self) -> Option<&str> {
        self.parent.as_deref()
    }
    fn set_parent_name(&mut self, p: Option<String>) {
        self.parent = p;
    }
}

impl MomentDef for crate::checkpoint::CheckpointDef {
    fn name(&self) -> &str {
        &self.name
    }
    fn parent_name(&self) -> Option<&str> {
        self.parent.as_deref()
    }
    fn set_parent_name(&mut self, p: Option<String>) {
        self.parent = p;
    }
}

#[derive(Debug, Clone)]
struct Node<D> {
    def: D,
    /// The linked parent; `None` is the root.
    parent: Option<String>,
    /// Newest first.
    children: Vec<String>,
}

/// Flags of the common listing (VIR_DOMAIN_MOMENT_LIST_*, after the
/// snapshot or checkpoint flags were translated).
pub mod mflags {
    /// From the root: only roots; from a moment: all descendants.
    pub const ROOTS_OR_DESCENDANTS: u32 = 1 << 0;
    pub const TOPOLOGICAL: u32 = 1 << 1;
    pub const LEAVES: u32 = 1 << 2;
    pub const NO_LEAVES: u32 = 1 << 3;
    pub const METADATA: u32 = 1 << 4;
    pub const NO_METADATA: u32 = 1 << 5;
}

#[derive(Debug, Clone)]
pub struct Moments<D> {
    objs: BTreeMap<String, Node<D>>,
    roots: Vec<String>,
    current: Option<String>,
}

impl<D> Default for Moments<D> {
    fn default() -> Self {
        Moments {
            objs: BTreeMap::new(),
            roots: Vec::new(),
            current: None,
        }
    }
}

impl<D: MomentDef + Clone> Moments<D> {
    pub fn len(&self) -> usize {
        self.objs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.objs.is_empty()
    }

    pub fn get(&self, name: &str) -> Option<&D> {
        self.objs.get(name).map(|n| &n.def)
    }

    pub fn current(&self) -> Option<&str> {
        self.current.as_deref()
    }

    /// Sets the current moment (`None`: no current one).
    pub fn set_current(&mut self, name: Option<&str>) {
        self.current = name.map(str::to_string);
    }

    /// virDomainMomentAssignDef: adds an unlinked moment.
    pub fn assign(&mut self, def: D) -> Result<()> {
        if self.objs.contains_key(def.name()) {
            return Err(Error::new(
                ErrorCode::OperationFailed,
                ErrorDomain::Domain,
                format!("domain moment {} already exists", def.name()),
            ));
        }
        self.objs.insert(
            def.name().to_string(),
            Node {
                def,
                parent: None,
                children: Vec::new(),
            },
        );
        Ok(())
    }

    /// Replaces a moment's definition, keeping its children, and unlinks
    /// it from its parent (virDomainSnapshotReplaceDef and the checkpoint
    /// equivalent); link it again with [`Moments::link_parent`].
    pub fn replace(&mut self, def: D) {
        let name = def.name().to_string();
        self.drop_parent(&name);
        if let Some(n) = self.objs.get_mut(&name) {
            n.def = def;
        }
    }

    /// virDomainMomentLinkParent: under the moment its definition names,
    /// or the root.
    pub fn link_parent(&mut self, name: &str) {
        let Some(pname) = self
            .objs
            .get(name)
            .map(|n| n.def.parent_name().map(str::to_string))
        else {
            return;
        };
        let parent = pname.filter(|p| self.objs.contains_key(p) && p != name);
        match &parent {
            Some(p) => {
                if let Some(pn) = self.objs.get_mut(p) {
                    pn.children.insert(0, name.to_string());
                }
            }
            None => self.roots.insert(0, name.to_string()),
        }
        if let Some(n) = self.objs.get_mut(name) {
            n.parent = parent;
        }
    }

    fn children_mut(&mut self, parent: Option<&str>) -> Option<&mut Vec<String>> {
        match parent {
            Some(p) => self.objs.get_mut(p).map(|n| &mut n.children),
            None => Some(&mut self.roots),
        }
    }

    /// virDomainMomentDropParent.
    pub fn drop_parent(&mut self, name: &str) {
        let Some(parent) = self.objs.get(name).map(|n| n.parent.clone()) else {
            return;
        };
        if let Some(c) = self.children_mut(parent.as_deref()) {
            c.retain(|x| x != name);
        }
        if let Some(n) = self.objs.get_mut(name) {
            n.parent = None;
        }
    }

    /// The moment's descendants, depth first, children newest first.
    pub fn descendants(&self, name: Option<&str>) -> Vec<String> {
        let mut out = Vec::new();
        let kids = match name {
            Some(n) => self
                .objs
                .get(n)
                .map(|x| x.children.clone())
                .unwrap_or_default(),
            None => self.roots.clone(),
        };
        for k in kids {
            out.push(k.clone());
            out.extend(self.descendants(Some(&k)));
        }
        out
    }

    /// Removes a moment (not its children, which keep pointing at it);
    /// true when it was the current one.
    pub fn remove(&mut self, name: &str) -> bool {
        self.objs.remove(name);
        let was = self.current.as_deref() == Some(name);
        if was {
            self.current = None;
        }
        was
    }

    /// Deletes a moment as libvirt's test driver does: with its
    /// descendants (`children`), only its descendants (`children_only`),
    /// or alone, its children moving up to its parent.
    pub fn delete(&mut self, name: &str, children: bool, children_only: bool) {
        if children || children_only {
            let mut was_current = false;
            for d in self.descendants(Some(name)) {
                was_current |= self.remove(&d);
            }
            if was_current {
                self.current = Some(name.to_string());
            }
        } else {
            let parent = self.objs.get(name).and_then(|n| n.parent.clone());
            let kids = self
                .objs
                .get(name)
                .map(|n| n.children.clone())
                .unwrap_or_default();
            for k in &kids {
                if let Some(kn) = self.objs.get_mut(k) {
                    kn.def.set_parent_name(parent.clone());
                    kn.parent = parent.clone();
                }
            }
            // libvirt appends the moved children ahead of the new parent's
            // own, in their order.
            if let Some(c) = self.children_mut(parent.as_deref()) {
                let mut v = kids;
                v.append(c);
                *c = v;
            }
            if let Some(n) = self.objs.get_mut(name) {
                n.children.clear();
            }
        }
        if children_only {
            if let Some(n) = self.objs.get_mut(name) {
                n.children.clear();
            }
        } else {
            self.drop_parent(name);
            if self.current.as_deref() == Some(name) {
                let parent = self
                    .objs
                    .get(name)
                    .and_then(|n| n.def.parent_name().map(str::to_string))
                    .filter(|p| self.objs.contains_key(p));
                self.current = parent;
            }
            self.remove(name);
        }
    }

    /// virDomainMomentCheckCycles for a (re)definition.
    pub fn check_cycles(&self, def: &D) -> Result<()> {
        let Some(pname) = def.parent_name() else {
            return Ok(());
        };
        let inval = |m: String| Error::new(ErrorCode::InvalidArg, ErrorDomain::Domain, m);
        if pname == def.name() {
            return Err(inval(format!(
                "cannot set moment {} as its own parent",
                def.name()
            )));
        }
        let Some(mut other) = self.get(pname) else {
            return Err(inval(format!(
                "parent {pname} for moment {} not found",
                def.name()
            )));
        };
        let mut steps = 0;
        while let Some(op) = other.parent_name() {
            if op == def.name() {
                return Err(inval(format!(
                    "parent {} would create cycle to {}",
                    other.name(),
                    def.name()
                )));
            }
            steps += 1;
            match self.get(op) {
                Some(o) if steps <= self.objs.len() => other = o,
                _ => break,
            }
        }
        Ok(())
    }

    /// virDomainMomentObjListGetNames: the names under `from` (or the
    /// root) that `flags` (common flags) and `keep` select.
    pub fn names(
        &self,
        from: Option<&str>,
        mut flags: u32,
        keep: &dyn Fn(&D) -> bool,
    ) -> Vec<String> {
        if from.is_none() {
            flags ^= mflags::ROOTS_OR_DESCENDANTS;
        }
        if flags & (mflags::METADATA | mflags::NO_METADATA) == mflags::NO_METADATA {
            return Vec::new();
        }
        let candidates: Vec<String> = if flags & mflags::ROOTS_OR_DESCENDANTS != 0 {
            if from.is_some() || flags & mflags::TOPOLOGICAL != 0 {
                self.descendants(from)
            } else {
                self.objs.keys().cloned().collect()
            }
        } else {
            match from {
                Some(f) => self
                    .objs
                    .get(f)
                    .map(|n| n.children.clone())
                    .unwrap_or_default(),
                None => self.roots.clone(),
            }
        };
        candidates
            .into_iter()
            .filter(|n| {
                let Some(node) = self.objs.get(n) else {
                    return false;
                };
                let leaf = node.children.is_empty();
                let wrong_kind = (flags & mflags::LEAVES != 0 && !leaf)
                    || (flags & mflags::NO_LEAVES != 0 && leaf);
                !wrong_kind && keep(&node.def)
            })
            .collect()
    }
}

/// virDomainSnapshotListFlags.
pub mod snapshot_list {
    pub const ROOTS: u32 = 1 << 0;
    pub const METADATA: u32 = 1 << 1;
    pub const LEAVES: u32 = 1 << 2;
    pub const NO_LEAVES: u32 = 1 << 3;
    pub const NO_METADATA: u32 = 1 << 4;
    pub const INACTIVE: u32 = 1 << 5;
    pub const ACTIVE: u32 = 1 << 6;
    pub const DISK_ONLY: u32 = 1 << 7;
    pub const INTERNAL: u32 = 1 << 8;
    pub const EXTERNAL: u32 = 1 << 9;
    pub const TOPOLOGICAL: u32 = 1 << 10;
    pub const STATUS: u32 = INACTIVE | ACTIVE | DISK_ONLY;
    pub const LOCATION: u32 = INTERNAL | EXTERNAL;
    pub const FILTERS_ALL: u32 = LEAVES | NO_LEAVES | METADATA | NO_METADATA | STATUS | LOCATION;
}

/// Common listing flags from snapshot listing flags, and the filter on
/// state and location the rest select.
pub fn snapshot_names(
    m: &Moments<crate::snapshot::SnapshotDef>,
    from: Option<&str>,
    flags: u32,
) -> Vec<String> {
    let map = [
        (snapshot_list::ROOTS, mflags::ROOTS_OR_DESCENDANTS),
        (snapshot_list::TOPOLOGICAL, mflags::TOPOLOGICAL),
        (snapshot_list::LEAVES, mflags::LEAVES),
        (snapshot_list::NO_LEAVES, mflags::NO_LEAVES),
        (snapshot_list::METADATA, mflags::METADATA),
        (snapshot_list::NO_METADATA, mflags::NO_METADATA),
    ];
    let mut mf = 0;
    for (s, m) in map {
        if flags & s != 0 {
            mf |= m;
        }
    }
    let mut rest = flags & (snapshot_list::STATUS | snapshot_list::LOCATION);
    if rest & snapshot_list::STATUS == snapshot_list::STATUS {
        rest &= !snapshot_list::STATUS;
    }
    if rest & snapshot_list::LOCATION == snapshot_list::LOCATION {
        rest &= !snapshot_list::LOCATION;
    }
    let keep = |s: &crate::snapshot::SnapshotDef| {
        if rest & snapshot_list::STATUS != 0 {
            let shutoff = s.state == crate::snapshot::STATE_SHUTOFF;
            let disk = s.state == crate::snapshot::STATE_DISK_SNAPSHOT;
            if (rest & snapshot_list::INACTIVE == 0 && shutoff)
                || (rest & snapshot_list::DISK_ONLY == 0 && disk)
                || (rest & snapshot_list::ACTIVE == 0 && !shutoff && !disk)
            {
                return false;
            }
        }
        let wrong_location = (rest & snapshot_list::INTERNAL != 0 && s.is_external())
            || (rest & snapshot_list::EXTERNAL != 0 && !s.is_external());
        !wrong_location
    };
    m.names(from, mf, &keep)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::CheckpointDef;

    fn add(m: &mut Moments<CheckpointDef>, name: &str, parent: Option<&str>) {
        m.assign(CheckpointDef {
            name: name.into(),
            parent: parent.map(str::to_string),
            ..Default::default()
        })
        .unwrap();
        m.link_parent(name);
    }

    #[test]
    fn deleting_a_middle_moment_reparents_its_children() {
        let mut m = Moments::default();
        add(&mut m, "a", None);
        add(&mut m, "b", Some("a"));
        add(&mut m, "c", Some("b"));
        m.set_current(Some("b"));
        m.delete("b", false, false);
        assert_eq!(m.get("c").unwrap().parent.as_deref(), Some("a"));
        assert_eq!(m.current(), Some("a"));
        assert_eq!(m.descendants(None), vec!["a", "c"]);
    }

    #[test]
    fn roots_and_leaves_filters() {
        let mut m = Moments::default();
        add(&mut m, "a", None);
        add(&mut m, "b", Some("a"));
        add(&mut m, "z", None);
        let all = |_: &CheckpointDef| true;
        assert_eq!(
            m.names(None, mflags::ROOTS_OR_DESCENDANTS, &all),
            vec!["z", "a"]
        );
        assert_eq!(m.names(None, mflags::LEAVES, &all), vec!["b", "z"]);
        assert_eq!(m.names(Some("a"), 0, &all), vec!["b"]);
        assert!(m.names(None, mflags::NO_METADATA, &all).is_empty());
    }
}

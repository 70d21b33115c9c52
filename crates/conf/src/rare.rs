// SPDX-License-Identifier: LGPL-2.1-or-later
//! [`Rare`]: a group of fields most definitions leave empty, stored behind
//! one pointer that is only allocated once one of them is set.
//!
//! A daemon may hold tens of thousands of definitions; keeping fields that
//! few of them use (container init data, direct kernel boot, ...) out of
//! line makes each definition several hundred bytes smaller while the
//! fields are still read and written as plain struct fields
//! (`def.os.boot.kernel`).

use std::fmt;
use std::ops::{Deref, DerefMut};

/// A type with a shared, immutable empty value for [`Rare`] to hand out
/// while nothing has been set.
pub trait Empty: Default + PartialEq + 'static {
    /// The value every unset [`Rare`] reads as.
    fn empty() -> &'static Self;
}

/// Out-of-line storage for rarely set fields: reading an unset group
/// yields [`Empty::empty`]; a mutable access allocates it.
pub struct Rare<T>(Option<Box<T>>);

impl<T> Default for Rare<T> {
    fn default() -> Self {
        Rare(None)
    }
}

impl<T: Empty> Rare<T> {
    /// Frees the group when every field in it is back at its default, so
    /// that equal definitions also have equal footprints.
    pub fn compact(&mut self) {
        if self.0.as_deref().is_some_and(|v| v == T::empty()) {
            self.0 = None;
        }
    }

    /// Whether the group is allocated.
    pub fn is_allocated(&self) -> bool {
        self.0.is_some()
    }
}

impl<T: Empty> Deref for Rare<T> {
    type Target = T;
    fn deref(&self) -> &T {
        match self.0.as_deref() {
            Some(v) => v,
            None => T::empty(),
        }
    }
}

impl<T: Empty> DerefMut for Rare<T> {
    fn deref_mut(&mut self) -> &mut T {
        self.0.get_or_insert_with(Box::default)
    }
}

impl<T: Clone> Clone for Rare<T> {
    fn clone(&self) -> Self {
        Rare(self.0.clone())
    }
}

impl<T: Empty> PartialEq for Rare<T> {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl<T: Empty + Eq> Eq for Rare<T> {}

impl<T: Empty + fmt::Debug> fmt::Debug for Rare<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (**self).fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Default, PartialEq, Eq, Clone)]
    struct Group {
        a: Option<String>,
        b: Vec<u32>,
    }

    static EMPTY: Group = Group {
        a: None,
        b: Vec::new(),
    };

    impl Empty for Group {
        fn empty() -> &'static Self {
            &EMPTY
        }
    }

    #[test]
    fn reads_do_not_allocate_and_writes_do() {
        let mut r: Rare<Group> = Rare::default();
        assert_eq!(r.a, None);
        assert!(r.b.is_empty());
        assert!(!r.is_allocated());
        r.b.push(3);
        assert!(r.is_allocated());
        assert_eq!(r.b, [3]);
    }

    #[test]
    fn equality_looks_at_values_and_compact_frees_defaults() {
        let unset: Rare<Group> = Rare::default();
        let mut set = unset.clone();
        set.a = Some("x".into());
        assert_ne!(unset, set);
        set.a = None;
        assert_eq!(unset, set);
        assert!(set.is_allocated());
        set.compact();
        assert!(!set.is_allocated());
        let copy = set.clone();
        assert_eq!(copy, unset);
    }
}

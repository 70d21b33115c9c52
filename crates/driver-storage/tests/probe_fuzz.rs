// SPDX-License-Identifier: LGPL-2.1-or-later
//! Image headers come from files anyone with access to a pool can write:
//! the probe must never panic, never read outside what it was given, and
//! never trust a length beyond its bounds, whatever the bytes.

use driver_storage::probe::{probe, BACKING_MAX, HEADER_MAX};
use proptest::prelude::*;

/// Headers that start like the formats the probe knows, then anything.
fn header() -> impl Strategy<Value = Vec<u8>> {
    let magic = prop_oneof![
        Just(b"QFI\xfb\x00\x00\x00\x02".to_vec()),
        Just(b"QFI\xfb\x00\x00\x00\x03".to_vec()),
        Just(b"QFI\xfb\x00\x00\x00\x01".to_vec()),
        Just(b"QED\x00".to_vec()),
        Just(b"KDMV".to_vec()),
        Just(b"conectix".to_vec()),
        Just(Vec::new()),
    ];
    (magic, proptest::collection::vec(any::<u8>(), 0..2048)).prop_map(|(mut m, rest)| {
        m.extend(rest);
        m
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn probe_never_panics_and_keeps_names_bounded(h in header()) {
        prop_assume!(h.len() <= HEADER_MAX);
        let p = probe(&h);
        if let Some(b) = &p.backing {
            prop_assert!(b.len() <= BACKING_MAX.max(h.len()) * 3);
        }
        prop_assert!(!p.format.is_empty());
    }

    #[test]
    fn qcow2_backing_pointers_anywhere_are_safe(off in any::<u64>(), len in any::<u32>(), ext in any::<u32>()) {
        let mut h = vec![0u8; 512];
        h[..4].copy_from_slice(b"QFI\xfb");
        h[4..8].copy_from_slice(&3u32.to_be_bytes());
        h[8..16].copy_from_slice(&off.to_be_bytes());
        h[16..20].copy_from_slice(&len.to_be_bytes());
        h[100..104].copy_from_slice(&ext.to_be_bytes());
        let p = probe(&h);
        prop_assert_eq!(p.format, "qcow2");
    }
}

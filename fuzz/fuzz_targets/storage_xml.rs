// SPDX-License-Identifier: LGPL-2.1-or-later
//! Fuzz target `storage_xml`: see reliability_tests::targets::storage_xml.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    reliability_tests::targets::storage_xml(data);
});

// SPDX-License-Identifier: LGPL-2.1-or-later
//! Fuzz target `xen_native`: see reliability_tests::targets::xen_native.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    reliability_tests::targets::xen_native(data);
});

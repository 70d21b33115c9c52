// SPDX-License-Identifier: LGPL-2.1-or-later
//! Fuzz target `virconf`: see reliability_tests::targets::virconf.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    reliability_tests::targets::virconf(data);
});

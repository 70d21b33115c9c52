// SPDX-License-Identifier: LGPL-2.1-or-later
//! Fuzz target `auth`: see reliability_tests::targets::auth.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    reliability_tests::targets::auth(data);
});

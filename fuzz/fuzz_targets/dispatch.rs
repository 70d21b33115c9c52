// SPDX-License-Identifier: LGPL-2.1-or-later
//! Fuzz target `dispatch`: see reliability_tests::targets::dispatch.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    reliability_tests::targets::dispatch(data);
});

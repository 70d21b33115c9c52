#!/usr/bin/env bash
# The long versions of the reliability tests (crates/reliability-tests),
# with their figures printed for RELIABILITY.md:
#   - 10,000 connect/define/start/destroy/undefine/close cycles against the
#     test driver: descriptors and resident memory before and after;
#   - crash safety of LXC definitions under 200 SIGKILLs (root);
#   - running containers across 30 daemon SIGKILLs (root, busybox).
#
#   scripts/soak.sh [CYCLES] [KILLS] [CONTAINER_KILLS]
#
# CI runs the short versions (500 cycles, 20 and 5 kills) in `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."
cycles="${1:-10000}"
kills="${2:-200}"
ckills="${3:-30}"
export CARGO_TERM_COLOR=never
cargo build --bins --quiet
cargo test --quiet -p reliability-tests --no-run
echo "== leaks: $cycles cycles ($(date -u +%FT%TZ), $(git rev-parse --short HEAD))"
RELIAB_CYCLES="$cycles" cargo test --quiet -p reliability-tests --test leaks -- --nocapture 2>&1 \
    | grep -E '^(cycle|[0-9]+ cycles|test result)'
echo "== crash safety: $kills SIGKILLs"
RELIAB_KILLS="$kills" cargo test --quiet -p reliability-tests --test crash_safety -- --nocapture 2>&1 \
    | grep -E '(kills|skipping|test result)'
echo "== running containers: $ckills SIGKILLs"
RELIAB_KILLS="$ckills" cargo test --quiet -p reliability-tests --test lxc_daemon \
    containers_survive -- --nocapture 2>&1 | grep -E '(skipping|test result|panicked)'

#!/usr/bin/env bash
# Runs the cargo-fuzz targets in fuzz/, one after the other, each in one
# process on one core (no -jobs: that would leave fuzz-N.log files here).
#
#   scripts/fuzz-smoke.sh [SECONDS] [TARGET...]
#
# SECONDS per target (default 10: a smoke run); all targets by default.
# FUZZ_RUNS=N stops a target after N executions if that comes first.
# Needs cargo-fuzz (`cargo install cargo-fuzz`); on a stable toolchain the
# nightly flags it uses are enabled with RUSTC_BOOTSTRAP=1. The corpus of
# each target lives in fuzz/corpus/TARGET (not committed) and is seeded
# from the conformance corpus; crashes land in fuzz/artifacts/TARGET. A
# crash input belongs in crates/reliability-tests/tests/regressions/TARGET/
# once fixed, where `cargo test -p reliability-tests` replays it.
#
# Prints one summary line per target: executions, seconds, exec/s.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-10}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(frame proc_args dispatch domain_xml network_xml storage_xml virconf lxc_native xen_native auth)
fi
if ! command -v cargo-fuzz >/dev/null 2>&1; then
    echo "cargo-fuzz is not installed (cargo install cargo-fuzz); the same targets run" \
         "as 'cargo test -p reliability-tests --test fuzz_smoke'" >&2
    exit 0
fi
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-${CARGO_TARGET_DIR:-target}-fuzz}"
corpus_src=../shared/conformance/libvirt-9.6
seed() {
    local t=$1 dir=fuzz/corpus/$1
    mkdir -p "$dir"
    [ -d "$corpus_src" ] || return 0
    case $t in
        domain_xml) cp -n "$corpus_src"/genericxml2xmlindata/*.xml "$corpus_src"/domainschemadata/*.xml \
                       "$corpus_src"/lxcxml2xmldata/*.xml "$corpus_src"/examples-test/testdom*.xml "$dir"/ 2>/dev/null || true ;;
        network_xml) cp -n "$corpus_src"/examples-test/testnet*.xml "$dir"/ 2>/dev/null || true ;;
        storage_xml) cp -n "$corpus_src"/examples-test/testpool.xml "$corpus_src"/examples-test/testvol.xml "$dir"/ 2>/dev/null || true ;;
        virconf) cp -n "$corpus_src"/virconfdata/* "$dir"/ 2>/dev/null || true ;;
        lxc_native) cp -n "$corpus_src"/lxcconf2xmldata/*.config "$dir"/ 2>/dev/null || true ;;
        xen_native) cp -n "$corpus_src"/xlconfigdata/*.cfg "$corpus_src"/xmconfigdata/*.cfg "$dir"/ 2>/dev/null || true ;;
    esac
}
# Safe Rust: AddressSanitizer finds little and costs 2-3x; overflow checks
# and debug assertions stay on.
flags=(-O -a -s none)
cargo fuzz build "${flags[@]}" --fuzz-dir fuzz >/dev/null 2>&1
status=0
for t in "${targets[@]}"; do
    seed "$t"
    log=$(mktemp)
    start=$(date +%s)
    if ! cargo fuzz run "${flags[@]}" --fuzz-dir fuzz "$t" -- -max_total_time="$secs" \
            -rss_limit_mb=2048 -timeout=10 -max_len=65536 -print_final_stats=1 ${FUZZ_RUNS:+-runs=$FUZZ_RUNS} >"$log" 2>&1; then
        echo "$t: FAILED (see fuzz/artifacts/$t)"; tail -40 "$log"; status=1
    fi
    end=$(date +%s)
    runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -1)
    runs=${runs:-$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -1)}
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
    el=$((end - start)); [ "$el" -gt 0 ] || el=1
    echo "$t: ${runs:-0} runs in ${el} s ($(( ${runs:-0} / el )) exec/s), ${cov:-cov: ?}"
    rm -f "$log"
done
exit $status

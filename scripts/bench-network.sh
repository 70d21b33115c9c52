#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# net-start / net-destroy of a NAT network with DHCP (bridge, firewall
# rules, dnsmasq) on our libvirtd beside Debian's C libvirtd, in the same
# run, each daemon in a network namespace of its own
# (scripts/lib/network-pair.sh), driven by the same client
# (benches/bench_network.py, libvirt-python): medians of N cycles.
#
#   sudo bash scripts/bench-network.sh [--quick]    # RS_BIN=path/to/libvirtd to skip the build
#
# Prints a table; appends it to BENCHMARKS.md unless BENCH_NO_RECORD=1.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/network-pair.sh
[ "$(id -u)" = 0 ] || { echo "bench-network.sh: needs root (namespaces, bridges)" >&2; exit 1; }
CYCLES=20
[ "${1:-}" = --quick ] && CYCLES=5
LAB=${BENCH_LAB:-/tmp/lvnetbench}
rm -rf "$LAB"; mkdir -p "$LAB"
if [ -z "${RS_BIN:-}" ]; then
    cargo build -q --release --bin libvirtd --bin libvirt_leaseshelper
    RS_BIN=${CARGO_TARGET_DIR:-target}/release/libvirtd
fi
start_network_pair "$LAB" "$RS_BIN"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for d in c rs; do
    /usr/bin/python3 benches/bench_network.py "network:///system?socket=$LAB/$d/run/libvirt-sock" "$CYCLES" > "$LAB/$d.json"
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
table=$(/usr/bin/python3 - "$LAB" "$CYCLES" "$load_before" "$load_after" <<'EOP'
import json, sys, datetime
lab, cycles, lb, la = sys.argv[1:5]
c = json.load(open(lab + "/c.json"))
r = json.load(open(lab + "/rs.json"))
when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H%M%SZ")
print(f"### Networks, run {when} ({cycles} cycles, load {lb} -> {la})")
print()
print("| figure | C libvirtd | ours | ours/C |")
print("|---|---|---|---|")
for key, name in [("start_ms_median", "net-start (NAT + DHCP), median ms"),
                  ("destroy_ms_median", "net-destroy, median ms")]:
    print(f"| {name} | {c[key]:.1f} | {r[key]:.1f} | {r[key] / c[key]:.2f} |")
EOP
)
echo "$table"
if [ -z "${BENCH_NO_RECORD:-}" ]; then
    printf '\n%s\n' "$table" >> BENCHMARKS.md
fi

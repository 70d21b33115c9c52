#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Benchmark our libvirtd against Debian's C libvirtd, side by side, in one run
# on this machine, with the same clients:
#   - benches/bench.py  (libvirt-python, i.e. libvirt's own C client library)
#   - rpc-bench         (crates/bench, the project's blocking RPC client)
#   - virsh             (a fixed command sequence, each command a new process)
#
#   bash scripts/bench.sh            full run (about 10 minutes on 2 cores)
#   bash scripts/bench.sh --quick    fewer repetitions (a smoke test)
#   bash scripts/bench.sh --ours     only our daemon (no C libvirtd needed)
#   bash scripts/bench.sh --scale [N] | --scale-quick
#                                    the scale section instead: N running
#                                    containers, many clients (scripts/bench-scale.sh)
#
# Needs root (the LXC section starts real containers), /usr/bin/python3 with
# python3-libvirt, virsh, busybox-static, qemu-utils (the storage section's
# qcow2 volumes), and for the C side Debian's libvirt-daemon +
# libvirt-daemon-driver-lxc (installed with --no-install-recommends; nothing
# is started through systemd; its storage driver is part of libvirt-daemon).
#
# Results: a table on stdout, benches/results/<date>.json (all raw figures)
# and the table appended to BENCHMARKS.md (unless BENCH_NO_RECORD=1).
# Scratch space: $BENCH_LAB (default /tmp/lvbench); only the daemons this
# script starts are stopped by it.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
LAB=${BENCH_LAB:-/tmp/lvbench}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
PY=/usr/bin/python3
QUICK=()
RUN_C=1
case " $* " in
    *" --scale "*|*" --scale-quick "*) exec bash scripts/bench-scale.sh "$@" ;;
esac
for a in "$@"; do
    case "$a" in
        --quick) QUICK=(--quick) ;;
        --ours) RUN_C=0 ;;
        *) echo "usage: $0 [--quick] [--ours]" >&2; exit 2 ;;
    esac
done

say() { echo "== $*" >&2; }

[ "$(id -u)" = 0 ] || { echo "bench.sh: run as root (LXC containers, C libvirtd)" >&2; exit 1; }
$PY -c 'import libvirt' 2>/dev/null || { echo "bench.sh: $PY lacks python3-libvirt" >&2; exit 1; }
command -v virsh >/dev/null || { echo "bench.sh: virsh (libvirt-clients) missing" >&2; exit 1; }
[ -x /bin/busybox ] || { echo "bench.sh: /bin/busybox (busybox-static) missing" >&2; exit 1; }
if [ $RUN_C = 1 ] && ! command -v libvirtd >/dev/null; then
    echo "bench.sh: Debian's libvirtd missing: apt-get install --no-install-recommends" \
         "libvirt-daemon libvirt-daemon-driver-lxc (or run with --ours)" >&2
    exit 1
fi

say "building release binaries"
cargo build --release --bins --quiet
OURS=$TARGET/release/libvirtd
RPCBENCH=$TARGET/release/rpc-bench

rm -rf "$LAB"
mkdir -p "$LAB/rootfs"/{bin,proc,sys,dev,tmp,etc} "$LAB/c/run" "$LAB/ours/run" "$LAB/ours/root"
cp /bin/busybox "$LAB/rootfs/bin/busybox"
for a in sh sleep ls cat ps echo mount hostname; do ln -sf busybox "$LAB/rootfs/bin/$a"; done

STARTED=()
stop_daemon() {  # pid
    local pid=$1
    kill -TERM "$pid" 2>/dev/null || return 0
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
}
cleanup() {
    for p in "${STARTED[@]}"; do stop_daemon "$p"; done
}
trap cleanup EXIT

wait_socket() {  # socket logfile
    for _ in $(seq 200); do [ -S "$1" ] && return 0; sleep 0.1; done
    echo "bench.sh: no socket $1; see $2" >&2
    exit 1
}

common_conf() {  # rundir logfile
    cat <<EOF
unix_sock_dir = "$1"
unix_sock_group = "root"
unix_sock_ro_perms = "0777"
unix_sock_rw_perms = "0770"
auth_unix_ro = "none"
auth_unix_rw = "none"
listen_tls = 0
listen_tcp = 0
log_outputs = "3:file:$2"
EOF
}

start_c() {
    common_conf "$LAB/c/run" "$LAB/c/libvirtd.log" > "$LAB/c/libvirtd.conf"
    # A private mount namespace for the C daemon only:
    # - this host mounts a hybrid cgroup layout (v1 controllers + cgroup2 at
    #   /sys/fs/cgroup/unified) on which the C LXC driver cannot start
    #   containers; hide that cgroup2 mount;
    # - a tmpfs on /run/libvirt gives its drivers their own state directories
    #   (and driver locks), so another C libvirtd on the host is no obstacle.
    local pre=":"
    mountpoint -q /sys/fs/cgroup/unified 2>/dev/null && pre="umount /sys/fs/cgroup/unified"
    mkdir -p /run/libvirt
    unshare --mount --propagation private sh -c \
        "$pre && mount -t tmpfs -o mode=0755 lvbench /run/libvirt && exec ${WRAP:-} libvirtd -f '$LAB/c/libvirtd.conf' -p '$LAB/c/libvirtd.pid'" \
        > "$LAB/c/stdout.log" 2>&1 &
    wait_socket "$LAB/c/run/libvirt-sock" "$LAB/c/libvirtd.log"
    for _ in $(seq 50); do [ -s "$LAB/c/libvirtd.pid" ] && break; sleep 0.1; done
    C_PID=$(cat "$LAB/c/libvirtd.pid")
    STARTED+=("$C_PID")
    sleep 1
}

start_ours() {
    common_conf "$LAB/ours/run" "$LAB/ours/libvirtd.log" > "$LAB/ours/libvirtd.conf"
    LIBVIRT_RS_ROOT_PREFIX="$LAB/ours/root" LIBVIRT_LXC_BINARY="$TARGET/release/libvirt_lxc" \
        ${WRAP:-} "$OURS" -f "$LAB/ours/libvirtd.conf" -p "$LAB/ours/libvirtd.pid" \
        > "$LAB/ours/stdout.log" 2>&1 &
    OURS_PID=$!
    STARTED+=("$OURS_PID")
    wait_socket "$LAB/ours/run/libvirt-sock" "$LAB/ours/libvirtd.log"
    sleep 1
}

measure() {  # name pid sockdir
    local name=$1 pid=$2 sock=$3/libvirt-sock
    say "$name: libvirt-python client (pid $pid)"
    $PY "$ROOT/benches/bench.py" "${QUICK[@]}" --pid "$pid" \
        --uri "test+unix:///default?socket=$sock" \
        --lxc-uri "lxc+unix:///system?socket=$sock" --lxc-rootfs "$LAB/rootfs" \
        --storage-uri "storage+unix:///system?socket=$sock" --storage-dir "$LAB/$name/pool" \
        > "$LAB/$name-py.json"
    say "$name: rpc-bench client"
    "$RPCBENCH" "${QUICK[@]}" --pid "$pid" --socket "$sock" --uri test:///default \
        > "$LAB/$name-rs.json"
}

# Instructions the daemon executes per call, counted by callgrind: unlike
# CPU time this does not depend on the machine's load or on how expensive
# sleeping and waking threads is here (user space only; the kernel's part
# is not counted). Each count is the difference between a session with
# CG_CALLS calls and one with none, so start-up and connection set-up cancel.
CG_CALLS=2000
callgrind_total() {  # c|ours proc calls -> prints the daemon's total Ir
    local who=$1 proc=$2 n=$3 out="$LAB/cg.out" pid
    rm -f "$out"
    WRAP="valgrind --tool=callgrind --callgrind-out-file=$out"
    if [ "$who" = c ]; then start_c; pid=$C_PID; else start_ours; pid=$OURS_PID; fi
    WRAP=
    $PY "$ROOT/benches/bench.py" --uri "test+unix:///default?socket=$LAB/$who/run/libvirt-sock" \
        --calls-only "$n" --proc "$proc"
    stop_daemon "$pid"
    sed -n 's/^\(summary\|totals\): *\([0-9]*\).*/\2/p' "$out" | head -1
}
callgrind_section() {  # c|ours -> $LAB/WHO-cg.json
    local who=$1 base full
    {
        echo "{"
        for proc in getLibVersion lookupByName; do
            base=$(callgrind_total "$who" "$proc" 0)
            full=$(callgrind_total "$who" "$proc" "$CG_CALLS")
            [ "$proc" = lookupByName ] && echo ","
            echo "\"$proc\": {\"instructions_per_call\": $(( (full - base) / CG_CALLS ))}"
        done
        echo "}"
    } > "$LAB/$who-cg.json"
}

DATE=$(date -u +%Y-%m-%dT%H%M%SZ)
$PY - "$LAB/machine.json" "$DATE" "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" \
    "$(libvirtd --version 2>/dev/null || echo none)" <<'EOF'
import json, os, platform, sys
cpu = "unknown"
try:
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip(); break
except OSError:
    pass
mem = None
for line in open("/proc/meminfo"):
    if line.startswith("MemTotal:"):
        mem = int(line.split()[1]) // 1024
json.dump({"date": sys.argv[2], "commit": sys.argv[3], "c_libvirtd": sys.argv[4],
           "cpu": cpu, "cpus": os.cpu_count(), "mem_mib": mem, "kernel": platform.release(),
           "loadavg_start": os.getloadavg()}, open(sys.argv[1], "w"), indent=1)
EOF

say "echo floor: CPU of a minimal server per round trip on this machine"
"$RPCBENCH" --echo-floor "${QUICK[@]}" > "$LAB/floor.json"

if command -v valgrind >/dev/null; then
    say "instructions per call under callgrind"
    [ $RUN_C = 1 ] && callgrind_section c
    callgrind_section ours
else
    say "valgrind missing: no instruction counts"
fi

if [ $RUN_C = 1 ]; then
    say "starting Debian's C libvirtd"
    start_c
    measure c "$C_PID" "$LAB/c/run"
    stop_daemon "$C_PID"
fi
say "starting our libvirtd"
start_ours
measure ours "$OURS_PID" "$LAB/ours/run"
stop_daemon "$OURS_PID"

$PY - "$LAB/machine.json" <<'EOF'
import json, os, sys
m = json.load(open(sys.argv[1])); m["loadavg_end"] = os.getloadavg()
json.dump(m, open(sys.argv[1], "w"), indent=1)
EOF

mkdir -p benches/results
$PY benches/report.py --machine "$LAB/machine.json" \
    --c-py "$LAB/c-py.json" --c-rs "$LAB/c-rs.json" \
    --ours-py "$LAB/ours-py.json" --ours-rs "$LAB/ours-rs.json" --floor "$LAB/floor.json" \
    --c-cg "$LAB/c-cg.json" --ours-cg "$LAB/ours-cg.json" \
    --json "benches/results/$DATE.json" --markdown "$LAB/table.md"
say "raw figures: benches/results/$DATE.json"

if [ "${BENCH_NO_RECORD:-0}" != 1 ]; then
    $PY - "$LAB/machine.json" "$LAB/table.md" "${QUICK[*]:-full}" >> BENCHMARKS.md <<'EOF'
import json, sys
m = json.load(open(sys.argv[1]))
print(f"\n## Run {m['date']} ({sys.argv[3].lstrip('-')})\n")
print(f"Machine: {m['cpu']}, {m['cpus']} CPUs, {m['mem_mib']} MiB, Linux {m['kernel']}; "
      f"commit {m['commit']}; reference: {m['c_libvirtd']}. Load average at start "
      f"{m['loadavg_start'][0]:.2f}, at end {m['loadavg_end'][0]:.2f}. "
      f"Raw figures: benches/results/{m['date']}.json\n")
print(open(sys.argv[2]).read())
EOF
    say "table appended to BENCHMARKS.md"
fi

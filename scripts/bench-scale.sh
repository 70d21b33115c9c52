#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The scale benchmark (benches/bench_scale.py): N running busybox containers
# driven by 10 concurrent libvirt-python clients, on Debian's C libvirtd and
# on ours in the same run: concurrent start, bulk stats, a poll loop, a
# suspend/resume storm watched by 20 event clients, memory per container,
# daemon restart with N running, concurrent destroy.
#
#   bash scripts/bench-scale.sh [N]           N containers (default 100), 3 repetitions
#   bash scripts/bench-scale.sh --quick       N=10, one repetition (a smoke test)
#   bash scripts/bench-scale.sh --ours [N]    only our daemon (e.g. N=1000, beyond C)
#   (also reached as scripts/bench.sh --scale [N] / --scale-quick)
#
# Environment: BENCH_REPS (repetitions), BENCH_LOAD (1-minute load average
# to wait for before each repetition, default 1.0), BENCH_QUIET_TIMEOUT
# (seconds to wait for it, then go on and record the load; default 300),
# BENCH_PROFILE (release or debug build of ours; default release),
# BENCH_NO_RECORD=1 (do not append to BENCHMARKS.md), BENCH_LAB (scratch,
# default /tmp/lvscale).
#
# Needs root, /usr/bin/python3 with python3-libvirt, /bin/busybox, and for the
# C side Debian's libvirt-daemon + libvirt-daemon-driver-lxc. Results:
# benches/results/<date>-scale.json (every raw figure) and a table appended
# to BENCHMARKS.md with the load averages.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
LAB=${BENCH_LAB:-/tmp/lvscale}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
PROFILE=${BENCH_PROFILE:-release}
PY=/usr/bin/python3
N=100
REPS=${BENCH_REPS:-3}
INNER=5
MODE=full
RUN_C=1
for a in "$@"; do
    case "$a" in
        --quick|--scale-quick) N=10; REPS=${BENCH_REPS:-1}; INNER=2; MODE=quick ;;
        --ours) RUN_C=0 ;;
        --scale) ;;
        [0-9]*) N=$a ;;
        *) echo "usage: $0 [--quick] [--ours] [N]" >&2; exit 2 ;;
    esac
done
say() { echo "== $*" >&2; }

[ "$(id -u)" = 0 ] || { echo "bench-scale.sh: run as root (containers, C libvirtd)" >&2; exit 1; }
$PY -c 'import libvirt' 2>/dev/null || { echo "bench-scale.sh: $PY lacks python3-libvirt" >&2; exit 1; }
[ -x /bin/busybox ] || { echo "bench-scale.sh: /bin/busybox (busybox-static) missing" >&2; exit 1; }
if [ $RUN_C = 1 ] && ! command -v libvirtd >/dev/null; then
    echo "bench-scale.sh: Debian's libvirtd missing (or run with --ours)" >&2
    exit 1
fi

if [ "$PROFILE" = release ]; then
    say "building release binaries"
    cargo build --release --quiet -p libvirtd --bin libvirtd -p lxc-controller --bin libvirt_lxc
fi
OURS=$TARGET/$PROFILE/libvirtd
OURS_LXC=$(realpath "$TARGET/$PROFILE/libvirt_lxc")

rm -rf "$LAB"
mkdir -p "$LAB/rootfs"/{bin,proc,sys,dev,tmp,etc} "$LAB/c/run" "$LAB/ours/run" "$LAB/ours/root"
cp /bin/busybox "$LAB/rootfs/bin/busybox"
for a in sh sleep ls cat ps echo mount hostname; do ln -sf busybox "$LAB/rootfs/bin/$a"; done

conf() {  # who
    cat > "$LAB/$1/libvirtd.conf" <<EOF
unix_sock_dir = "$LAB/$1/run"
unix_sock_group = "root"
unix_sock_ro_perms = "0777"
unix_sock_rw_perms = "0770"
auth_unix_ro = "none"
auth_unix_rw = "none"
listen_tls = 0
listen_tcp = 0
log_outputs = "3:file:$LAB/$1/libvirtd.log"
EOF
}

# Start and stop scripts, so that the benchmark restarts a daemon the same
# way the first start did. Each start prints the daemon's PID.
#
# Each daemon runs in a mount namespace kept by a holder process (so that a
# restarted daemon finds its state again) with a tmpfs under its run-time
# state, as /run is on a real host (here /run is on disk, and every status
# file write would wait for the disk). The C daemon's namespace also lacks
# the cgroup2 mount at /sys/fs/cgroup/unified of this host's hybrid layout,
# on which C's LXC driver cannot start containers.
HOLDERS=()
holder() {  # mount commands -> the holder's PID in $HOLDER
    unshare --mount --propagation private sh -c "$1 && exec sleep infinity" &
    HOLDER=$!
    HOLDERS+=("$HOLDER")
    for _ in $(seq 100); do grep -q lvscale "/proc/$HOLDER/mountinfo" 2>/dev/null && return; sleep 0.05; done
    echo "bench-scale.sh: the mount namespace was not set up" >&2
    exit 1
}
if [ $RUN_C = 1 ]; then
    mkdir -p /run/libvirt
    pre=":"
    mountpoint -q /sys/fs/cgroup/unified 2>/dev/null && pre="umount /sys/fs/cgroup/unified"
    holder "$pre && mount -t tmpfs -o mode=0755 lvscale /run/libvirt"
    conf c
    cat > "$LAB/c/start.sh" <<EOF
rm -f "$LAB/c/run/libvirt-sock"
nsenter --mount=/proc/$HOLDER/ns/mnt libvirtd -f "$LAB/c/libvirtd.conf" -p "$LAB/c/libvirtd.pid" \\
    >> "$LAB/c/stdout.log" 2>&1 < /dev/null &
echo \$! > "$LAB/c/daemon.pid"
echo \$!
EOF
fi
mkdir -p "$LAB/ours/root/run"
holder "mount -t tmpfs -o mode=0755 lvscale '$LAB/ours/root/run'"
conf ours
cat > "$LAB/ours/start.sh" <<EOF
rm -f "$LAB/ours/run/libvirt-sock"
LIBVIRT_RS_ROOT_PREFIX="$LAB/ours/root" LIBVIRT_LXC_BINARY="$OURS_LXC" \\
    nsenter --mount=/proc/$HOLDER/ns/mnt "$OURS" -f "$LAB/ours/libvirtd.conf" -p "$LAB/ours/libvirtd.pid" \\
    >> "$LAB/ours/stdout.log" 2>&1 < /dev/null &
echo \$! > "$LAB/ours/daemon.pid"
echo \$!
EOF
for who in c ours; do
    cat > "$LAB/$who/stop.sh" <<EOF
pid=\$(cat "$LAB/$who/daemon.pid" 2>/dev/null) || exit 0
kill -TERM "\$pid" 2>/dev/null || exit 0
for _ in \$(seq 300); do kill -0 "\$pid" 2>/dev/null || exit 0; sleep 0.05; done
kill -KILL "\$pid" 2>/dev/null || true
EOF
done

cleanup() {
    for who in c ours; do [ -f "$LAB/$who/stop.sh" ] && bash "$LAB/$who/stop.sh"; done
    for h in "${HOLDERS[@]}"; do kill "$h" 2>/dev/null || true; done
}
trap cleanup EXIT

measure() {  # who helper-exe
    local who=$1 pid
    say "$who: N=$N, $REPS repetition(s)"
    pid=$(bash "$LAB/$who/start.sh")
    for _ in $(seq 200); do [ -S "$LAB/$who/run/libvirt-sock" ] && break; sleep 0.05; done
    [ -S "$LAB/$who/run/libvirt-sock" ] || { echo "bench-scale.sh: $who did not start; see $LAB/$who" >&2; exit 1; }
    $PY "$ROOT/benches/bench_scale.py" run --n "$N" --reps "$REPS" --inner "$INNER" \
        --uri "lxc+unix:///system?socket=$LAB/$who/run/libvirt-sock" --pid "$pid" \
        --rootfs "$LAB/rootfs" --helper-exe "$2" \
        --stop-cmd "bash $LAB/$who/stop.sh" --start-cmd "bash $LAB/$who/start.sh" \
        --load-threshold "${BENCH_LOAD:-1.0}" --quiet-timeout "${BENCH_QUIET_TIMEOUT:-300}" \
        > "$LAB/$who.json"
    bash "$LAB/$who/stop.sh"
}

DATE=$(date -u +%Y-%m-%dT%H%M%SZ)
$PY - "$LAB/machine.json" "$DATE" "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" \
    "$(libvirtd --version 2>/dev/null || echo none)" "$PROFILE" <<'EOF'
import json, os, platform, sys
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
            if l.startswith("model name")), "unknown")
mem = next(int(l.split()[1]) // 1024 for l in open("/proc/meminfo") if l.startswith("MemTotal:"))
json.dump({"date": sys.argv[2], "commit": sys.argv[3], "c_libvirtd": sys.argv[4],
           "ours_profile": sys.argv[5], "cpu": cpu, "cpus": os.cpu_count(), "mem_mib": mem,
           "kernel": platform.release(), "loadavg_start": os.getloadavg()},
          open(sys.argv[1], "w"), indent=1)
EOF

[ $RUN_C = 1 ] || MODE="$MODE, ours only"
[ $RUN_C = 1 ] && measure c /usr/lib/libvirt/libvirt_lxc
measure ours "$OURS_LXC"

$PY - "$LAB/machine.json" <<'EOF'
import json, os, sys
m = json.load(open(sys.argv[1])); m["loadavg_end"] = os.getloadavg()
json.dump(m, open(sys.argv[1], "w"), indent=1)
EOF
mkdir -p benches/results
c_json=; [ $RUN_C = 1 ] && c_json="$LAB/c.json"
$PY benches/bench_scale.py report --machine "$LAB/machine.json" --c "$c_json" \
    --ours "$LAB/ours.json" --json "benches/results/$DATE-scale.json" --markdown "$LAB/table.md"
say "raw figures: benches/results/$DATE-scale.json"

if [ "${BENCH_NO_RECORD:-0}" != 1 ]; then
    $PY - "$LAB/machine.json" "$LAB/table.md" "$MODE" "$N" "$REPS" >> BENCHMARKS.md <<'EOF'
import json, sys
m = json.load(open(sys.argv[1]))
print(f"\n## Scale run {m['date']} ({sys.argv[3]}, N={sys.argv[4]}, "
      f"medians of {sys.argv[5]} repetition(s))\n")
print(f"Machine: {m['cpu']}, {m['cpus']} CPUs, {m['mem_mib']} MiB, Linux {m['kernel']}; "
      f"commit {m['commit']} ({m['ours_profile']} build); reference: {m['c_libvirtd']}. "
      f"Load average (1/5/15 min) at start {' '.join(f'{x:.2f}' for x in m['loadavg_start'])}, "
      f"at end {' '.join(f'{x:.2f}' for x in m['loadavg_end'])}; each repetition's load "
      f"is in the raw figures: benches/results/{m['date']}-scale.json\n")
print(open(sys.argv[2]).read())
EOF
    say "table appended to BENCHMARKS.md"
fi

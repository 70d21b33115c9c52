#!/usr/bin/env bash
# Differential check of the test driver's APIs: scripts/testdrv-api.py
# (libvirt-python) against Debian's C libvirtd and against ours, both
# serving test:///default on private sockets; prints a unified diff and
# exits non-zero when the outputs differ.
#
#   bash scripts/differential-api.sh        # needs root for the C daemon
# RS_BIN names our libvirtd (default: a release build made here).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/c-libvirtd.sh
LAB=${LAB:-/tmp/lvdiff-api}
rm -rf "$LAB"; mkdir -p "$LAB/c/run" "$LAB/rs/run"
if [ ! -x /usr/sbin/libvirtd ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends libvirt-daemon libvirt-clients python3-libvirt >/dev/null
fi
our_libvirtd
start_both "$LAB"
for d in c rs; do
    /usr/bin/python3 scripts/testdrv-api.py "test+unix:///default?socket=$LAB/$d/run/libvirt-sock" > "$LAB/$d.out" 2>&1 || true
done
if diff -u "$LAB/c.out" "$LAB/rs.out"; then
    echo "differential-api: identical output ($(wc -l < "$LAB/c.out") lines)"
else
    echo "differential-api: outputs differ (see above)"
    exit 1
fi

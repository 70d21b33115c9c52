#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# End-to-end test of virtxend on a real Xen 4.17 host: builds the xenbed
# image (Debian dom0 in QEMU, with dom0's own virsh and libvirt-python),
# builds virtxend (the ordinary build: it loads dom0's libxenlight at run
# time), boots the bed with a share holding
# virtxend, a test guest ramdisk and scripts/xenbed/run.sh, and collects
# the run's output.
#
# Usage: scripts/xenbed-test.sh [OUT]   (OUT: where run.out is copied,
#        default $CARGO_TARGET_DIR/xenbed-run.out)
# Env:   XENBED=../shared/xenbed (the bed's scripts), PROFILE=debug|release,
#        KEEP_SHARE=1 keeps the share directory.
# Needs root and ~4 GiB of RAM; about
# 2.5 minutes for the image the first time, then ~4 minutes per run.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
XENBED=${XENBED:-$ROOT/../shared/xenbed}
PROFILE=${PROFILE:-debug}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
OUT=${1:-$TARGET/xenbed-run.out}

[ "$(id -u)" = 0 ] || { echo "xenbed-test: needs root (QEMU, debootstrap, loop-free image build)"; exit 2; }

echo "== image"
XENBED_EXTRA="libvirt-clients python3-libvirt" "$XENBED/build-image.sh" | tail -3

echo "== virtxend ($PROFILE)"
FLAGS=(-p virtxend)
[ "$PROFILE" = release ] && FLAGS+=(--release)
CARGO_TARGET_DIR=$TARGET cargo build "${FLAGS[@]}"

SHARE=$(mktemp -d /var/tmp/lvrs-xenbed.XXXXXX)
[ -n "${KEEP_SHARE:-}" ] || trap 'rm -rf "$SHARE"' EXIT
cp "$TARGET/$PROFILE/virtxend" "$SHARE/"
cp scripts/xenbed/run.sh scripts/xenbed/console.py "$SHARE/"

echo "== test guest ramdisk (static busybox, shell on hvc0)"
G=$(mktemp -d)
mkdir -p "$G"/{bin,proc,sys,dev}
cp /bin/busybox "$G/bin/busybox"
cp scripts/xenbed/guest-init "$G/init"
(cd "$G" && find . | cpio -o -H newc --quiet | gzip -9) > "$SHARE/guest-initrd.gz"
rm -rf "$G"

echo "== boot (share $SHARE)"
rc=0
"$XENBED/boot.sh" --share "$SHARE" --no-guest --timeout 1500 > "$SHARE/boot.log" 2>&1 || rc=$?
grep -E 'TESTBED|total wall time' "$SHARE/boot.log" | tail -5
if [ -f "$SHARE/run.out" ]; then
  mkdir -p "$(dirname "$OUT")"
  cp "$SHARE/run.out" "$OUT"
  grep -E '^STEP ' "$OUT" | sed 's/^/  /'
  echo "== $(grep -c ': PASS' "$OUT") passed, $(grep -c ': FAIL' "$OUT") failed; full output in $OUT"
else
  echo "== no run.out; the boot log's tail:"; tail -40 "$SHARE/boot.log"
fi
exit $rc

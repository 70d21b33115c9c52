#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# XML differential: every document of the libvirt 9.6 corpora named below is
# defined through the test driver of Debian's C libvirtd and of ours (both on
# private sockets), dumped back (inactive, live after starting it, with and
# without --security-info) and compared; syntax-error documents compare the
# error (code, domain, message). Prints the count of identical / different
# documents; the diffs go to $LAB/report/.
#
#   bash scripts/xml-differential.sh [--extended] [--keep]
#
# --extended adds qemuxml2argvdata (hundreds of documents; slower).
# Skips (exit 0, saying why) when Debian's libvirtd or python3-libvirt is
# missing. Exits 1 when any document differs, unless XMLDIFF_ALLOW_DIFF=1.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/c-libvirtd.sh
LAB=${LAB:-/tmp/lvxmldiff}
CORPUS=${CORPUS:-$(cd .. && pwd)/shared/conformance/libvirt-9.6}
[ -d "$CORPUS" ] || CORPUS=/work/shared/conformance/libvirt-9.6

if [ ! -x /usr/sbin/libvirtd ]; then
    echo "skipped: Debian's C libvirtd (/usr/sbin/libvirtd, package libvirt-daemon) is not installed"
    exit 0
fi
if ! /usr/bin/python3 -c 'import libvirt' 2>/dev/null; then
    echo "skipped: python3-libvirt is not installed for /usr/bin/python3"
    exit 0
fi
if [ ! -d "$CORPUS" ]; then
    echo "skipped: the libvirt 9.6 corpus is not at $CORPUS"
    exit 0
fi
RS_BIN=${RS_LIBVIRTD:-}
if [ -z "$RS_BIN" ]; then
    cargo build -q -p libvirtd
    RS_BIN=target/debug/libvirtd
fi

rm -rf "$LAB"; mkdir -p "$LAB/c/run" "$LAB/rs/run" "$LAB/report"
start_both "$LAB"

/usr/bin/python3 scripts/xml-differential.py \
    --c-uri "test+unix:///default?socket=$LAB/c/run/libvirt-sock" \
    --rs-uri "test+unix:///default?socket=$LAB/rs/run/libvirt-sock" \
    --corpus "$CORPUS" --report "$LAB/report" "$@"

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
conf() {
    cat > "$1/libvirtd.conf" <<EOC
unix_sock_dir = "$1/run"
auth_unix_rw = "none"
auth_unix_ro = "none"
listen_tls = 0
listen_tcp = 0
log_outputs = "3:file:$1/log"
EOC
}
conf "$LAB/c"; conf "$LAB/rs"
# A private mount namespace with its own /run/libvirt: the C daemon's
# drivers keep pid files and state there, and another libvirtd may own the
# host's.
unshare --mount --propagation private sh -c \
    "mount -t tmpfs tmpfs /run/libvirt && exec /usr/sbin/libvirtd -f '$LAB/c/libvirtd.conf' -p '$LAB/c/pid'" \
    >"$LAB/c/stdout" 2>&1 &
C_LAUNCH=$!
LIBVIRT_RS_ROOT_PREFIX="$LAB/rs" "$RS_BIN" -f "$LAB/rs/libvirtd.conf" -p "$LAB/rs/pid" >/dev/null 2>&1 &
RS_LAUNCH=$!
cleanup() {
    for p in "$LAB/c/pid" "$LAB/rs/pid"; do
        [ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null || true
    done
    kill "$C_LAUNCH" "$RS_LAUNCH" 2>/dev/null || true
}
trap cleanup EXIT
for d in c rs; do
    for _ in $(seq 150); do [ -S "$LAB/$d/run/libvirt-sock" ] && break; sleep 0.1; done
    [ -S "$LAB/$d/run/libvirt-sock" ] || { echo "daemon $d did not come up (see $LAB/$d/log)" >&2; exit 1; }
done

/usr/bin/python3 scripts/xml-differential.py \
    --c-uri "test+unix:///default?socket=$LAB/c/run/libvirt-sock" \
    --rs-uri "test+unix:///default?socket=$LAB/rs/run/libvirt-sock" \
    --corpus "$CORPUS" --report "$LAB/report" "$@"

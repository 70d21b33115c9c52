#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Differential check with virt-install, virt-xml and virt-clone (Debian's
# virtinst, a client written in Python on libvirt-python): the same
# commands against Debian's C libvirtd and against ours (both serving
# test:///default on private sockets), outputs compared after masking
# UUIDs and MAC addresses, which the tools generate at random.
#
#   bash scripts/differential-virtinst.sh     # needs root for the C daemon
#
# RS_BIN names our libvirtd (default: a release build made here). Installs
# libvirt-daemon and virtinst (Debian) when missing. Prints a unified diff
# and exits non-zero when the outputs differ.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/c-libvirtd.sh
LAB=${LAB:-/tmp/lvdiff-virtinst}
rm -rf "$LAB"; mkdir -p "$LAB/c/run" "$LAB/rs/run"

missing=()
[ "$(readlink -f "$(command -v libvirtd || true)")" = /usr/sbin/libvirtd ] || missing+=(libvirt-daemon)
command -v virt-install >/dev/null || missing+=(virtinst)
if [ ${#missing[@]} -gt 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi
our_libvirtd

start_both "$LAB"

mask() {
    sed -E -e "s|$LAB/(c\|rs)/run|LAB/run|g" \
           -e 's/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/UUID/g' \
           -e 's/([0-9a-f]{2}:){5}[0-9a-f]{2}/MAC/g'
}

session() {
    local uri="test+unix:///default?socket=$1/run/libvirt-sock"
    # keep test:///default alive across the separate commands
    /usr/bin/python3 -c "import libvirt,time; c=libvirt.open('$uri'); time.sleep(120)" &
    local keeper=$!
    sleep 0.5
    while IFS= read -r cmd; do
        echo "### $cmd" | mask
        # shellcheck disable=SC2086
        eval "timeout 60 $cmd" < /dev/null 2>&1 | mask || true
    done <<EOC
virt-install --connect '$uri' --name vi1 --memory 256 --vcpus 2 --import --disk none --osinfo detect=on,require=off --print-xml
virt-install --connect '$uri' --name vi2 --memory 512 --import --disk none --network none --graphics none --osinfo generic --noautoconsole
virsh -c '$uri' dumpxml vi2
virsh -c '$uri' domstate --reason vi2
virt-install --connect '$uri' --name vi3 --memory 128 --import --disk none --osinfo generic --noautoconsole --noreboot
virsh -c '$uri' dumpxml --inactive vi3
virt-install --connect '$uri' --name vi2 --memory 128 --import --disk none --osinfo generic --noautoconsole
virt-xml --connect '$uri' vi2 --edit --vcpus 3 --print-diff
virt-xml --connect '$uri' vi2 --edit --memory 256 --define
virsh -c '$uri' dumpxml --inactive vi2
virt-xml --connect '$uri' vi2 --add-device --network user --print-xml
virt-clone --connect '$uri' --original test --name test-clone --auto-clone --print-xml
virsh -c '$uri' list --all
EOC
    kill $keeper 2>/dev/null || true
}

session "$LAB/c" > "$LAB/c.out"
session "$LAB/rs" > "$LAB/rs.out"
if diff -u "$LAB/c.out" "$LAB/rs.out" > "$LAB/diff.txt"; then
    echo "differential-virtinst: identical output for $(grep -c '^### ' "$LAB/c.out") commands"
else
    cat "$LAB/diff.txt"
    echo "differential-virtinst: outputs differ (see above; $(grep -c '^[-+][^-+]' "$LAB/diff.txt") lines)"
    exit 1
fi

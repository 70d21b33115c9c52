#!/usr/bin/env bash
# Differential check: the same virsh session against Debian's C libvirtd and
# against ours (both serving test:///default on private sockets), outputs
# compared line by line after masking what legitimately differs (CPU time).
#
#   bash scripts/differential.sh            # needs root for the C daemon's setup
#
# Installs libvirt-daemon (Debian) when missing. Prints a unified diff and
# exits non-zero when the outputs differ.
# RS_BIN names our libvirtd (default: a release build made here).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/c-libvirtd.sh
LAB=${LAB:-/tmp/lvdiff}
rm -rf "$LAB"; mkdir -p "$LAB/c/run" "$LAB/rs/run"

if ! command -v libvirtd >/dev/null || [ "$(readlink -f "$(command -v libvirtd)")" != /usr/sbin/libvirtd ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends libvirt-daemon libvirt-clients >/dev/null
fi
our_libvirtd

start_both "$LAB"

cat > "$LAB/dom.xml" <<'EOX'
<domain type='test'>
  <name>diff1</name>
  <uuid>11111111-2222-3333-4444-555555555555</uuid>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64'>hvm</type></os>
</domain>
EOX
cat > "$LAB/net.xml" <<'EOX'
<network><name>n2</name><uuid>aaaaaaaa-2222-3333-4444-555555555555</uuid><bridge name='virbr9'/></network>
EOX

session() {
    local uri="test+unix:///default?socket=$1/run/libvirt-sock"
    # keep test:///default alive across the separate virsh runs
    /usr/bin/python3 -c "import libvirt,time; c=libvirt.open('$uri'); time.sleep(60)" &
    local keeper=$!
    sleep 0.5
    while read -r cmd; do
        echo "### virsh $cmd"
        # shellcheck disable=SC2086
        virsh -c "$uri" $cmd 2>&1 | sed -e 's/^CPU time:.*/CPU time: (masked)/' || true
    done <<EOC
version
nodeinfo
list --all
dominfo test
domstate --reason test
domid test
domuuid test
dumpxml test
dumpxml --inactive test
define $LAB/dom.xml
dominfo diff1
dumpxml diff1
start diff1
domstate --reason diff1
suspend diff1
domstate --reason diff1
resume diff1
shutdown diff1
domstate --reason diff1
start diff1
destroy diff1
domstate --reason diff1
autostart diff1
undefine diff1
list --all
dominfo nosuch
start test
net-list --all
net-info default
net-dumpxml default
net-define $LAB/net.xml
net-start n2
net-info n2
net-destroy n2
net-undefine n2
pool-list --all
pool-info default-pool
pool-dumpxml default-pool
vol-create-as default-pool v1 10M
vol-list default-pool
vol-info v1 --pool default-pool
vol-dumpxml v1 --pool default-pool
vol-delete v1 --pool default-pool
iface-list --all
iface-dumpxml eth1
nodedev-dumpxml computer
capabilities
sysinfo
maxvcpus
freecell
EOC
    kill $keeper 2>/dev/null || true
}

session "$LAB/c" > "$LAB/c.out"
session "$LAB/rs" > "$LAB/rs.out"
# URIs the client libraries refuse before sending, sent raw.
for d in c rs; do
    echo "### raw opens" >> "$LAB/$d.out"
    python3 scripts/open-uri.py "$LAB/$d/run/libvirt-sock" 'lxc:///embed' 'lxc:///embed?root=/tmp/e' \
        'lxc:///embed?root=rel' 'LXC:///embed?root=/x' 'test:///embed?root=/x' 'xen:///embed?root=/x' \
        >> "$LAB/$d.out" 2>&1 || true
done
if diff -u "$LAB/c.out" "$LAB/rs.out" > "$LAB/diff.txt"; then
    echo "differential: identical output for $(grep -c '^### ' "$LAB/c.out") virsh commands"
else
    cat "$LAB/diff.txt"
    echo "differential: outputs differ (see above)"
    exit 1
fi

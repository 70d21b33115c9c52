#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Differential check of the network driver: the same virsh net-* session
# (and a few libvirt-python error checks) against Debian's C libvirtd with
# its network driver and against our libvirtd, each inside a network
# namespace of its own (bridges, dnsmasq and firewall rules never touch
# the host's network), outputs compared after masking what must differ
# (the pid of dnsmasq, nothing else at the time of writing).
#
#   sudo bash scripts/differential-network.sh      # RS_BIN=path/to/libvirtd to skip the build
#
# The C daemon runs in a mount namespace of its own with fresh /run/libvirt,
# /etc/libvirt and /var/lib/libvirt (so its configs and leases stay out of
# the host's), and with a passwd/group that know the libvirt-dnsmasq user
# Debian's dnsmasq configs name. Installs libvirt-daemon and
# libvirt-daemon-driver-network (Debian, --no-install-recommends) when
# missing; nothing is started through systemd. Prints a unified diff and
# exits non-zero when the outputs differ.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/network-pair.sh
[ "$(id -u)" = 0 ] || { echo "differential-network.sh: needs root (namespaces, bridges)" >&2; exit 1; }
LAB=${LAB:-/tmp/lvnetdiff}
rm -rf "$LAB"; mkdir -p "$LAB"

if [ ! -x /usr/sbin/libvirtd ] || [ ! -e /usr/lib/x86_64-linux-gnu/libvirt/connection-driver/libvirt_driver_network.so ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        libvirt-daemon libvirt-daemon-driver-network libvirt-clients dnsmasq-base >/dev/null
fi
if [ -z "${RS_BIN:-}" ]; then
    cargo build -q --release --bin libvirtd --bin libvirt_leaseshelper
    RS_BIN=${CARGO_TARGET_DIR:-target}/release/libvirtd
fi

start_network_pair "$LAB" "$RS_BIN"

cat > "$LAB/n1.xml" <<'EOX'
<network>
  <name>n1</name>
  <uuid>6a1c8f4e-2b3d-4e5f-8a9b-0c1d2e3f4a5b</uuid>
  <forward mode='nat'/>
  <bridge name='lvdiff0' stp='on' delay='0'/>
  <mac address='52:54:00:12:34:01'/>
  <domain name='diff.test'/>
  <ip address='10.214.1.1' netmask='255.255.255.0'>
    <dhcp>
      <range start='10.214.1.10' end='10.214.1.50'/>
      <host mac='52:54:00:00:00:05' name='five' ip='10.214.1.5'/>
    </dhcp>
  </ip>
</network>
EOX
cat > "$LAB/n2.xml" <<'EOX'
<network>
  <name>n2</name>
  <uuid>6a1c8f4e-2b3d-4e5f-8a9b-0c1d2e3f4a5c</uuid>
  <bridge name='lvdiff1'/>
  <mac address='52:54:00:12:34:02'/>
  <ip family='ipv6' address='fd00:214::1' prefix='64'/>
</network>
EOX
cat > "$LAB/port.xml" <<'EOX'
<networkport>
  <uuid>0d6b2f3a-1c4e-4f5a-9b8c-7d6e5f4a3b21</uuid>
  <owner>
    <name>guest</name>
    <uuid>c7a5fdbd-edaf-9455-926a-d65c16db1809</uuid>
  </owner>
  <mac address='52:54:00:aa:bb:cc'/>
</networkport>
EOX
printf "<network><name>bad1</name><port isolated='maybe'/></network>\n" > "$LAB/bad1.xml"
printf "<network><name>bad2</name><vlan><tag id='5000'/></vlan></network>\n" > "$LAB/bad2.xml"
printf "<network><name>bad3</name><forward mode='bogus'/></network>\n" > "$LAB/bad3.xml"
printf "<network><name>bad4</name><ip address='10.1.1.1' prefix='24'><dhcp><range start='nonsense' end='10.1.1.9'/></dhcp></ip></network>\n" > "$LAB/bad4.xml"
printf "<network><uuid>6a1c8f4e-2b3d-4e5f-8a9b-0c1d2e3f4a5d</uuid></network>\n" > "$LAB/bad5.xml"
printf "<network><name>bad6</name>\n" > "$LAB/bad6.xml"
printf "<network><name>bad7</name><bridge name='lvdiff0'/></network>\n" > "$LAB/bad7.xml"
printf "<network><name>bad8</name><ip address='10.1.1.1' prefix='24'><dhcp><host mac='52:54:00:00:00:01' ip='10.1.1.5'><lease expiry='1' unit='weeks'/></host></dhcp></ip></network>\n" > "$LAB/bad8.xml"
printf "<network><name>bad9</name><bridge name='lvdiff9'/><mac address='01:00:00:00:00:01'/></network>\n" > "$LAB/bad9.xml"

session() {
    local uri="network:///system?socket=$1/run/libvirt-sock"
    v() {
        echo "### virsh $*"
        virsh -c "$uri" "$@" 2>&1 || echo "(exit $?)"
    }
    v net-list --all
    v net-define "$LAB/n1.xml"
    v net-define "$LAB/n2.xml"
    v net-list --all
    v net-info n1
    v net-dumpxml n1
    v net-uuid n1
    v net-name 6a1c8f4e-2b3d-4e5f-8a9b-0c1d2e3f4a5b
    v net-autostart n1
    v net-info n1
    v net-list --all --autostart
    v net-start n1
    v net-start n1
    v net-list
    v net-dumpxml n1
    v net-dumpxml --inactive n1
    v net-dhcp-leases n1
    v net-dhcp-leases n1 --mac 52:54:00:00:00:99
    v net-dhcp-leases n1 --mac zz:zz
    v net-update n1 add ip-dhcp-host "<host mac='52:54:00:00:00:09' name='nine' ip='10.214.1.9'/>" --live --config
    v net-update n1 add ip-dhcp-host "<host mac='52:54:00:00:00:09' name='other' ip='10.214.1.8'/>" --live
    v net-update n1 delete ip-dhcp-host "<host mac='52:54:00:00:00:77'/>" --live
    v net-update n1 add dns-host "<host ip='10.214.1.60'><hostname>web</hostname></host>" --live --config
    v net-update n1 add dns-txt "<txt name='t1' value='hello'/>" --live
    v net-update n1 delete dns-txt "<txt name='nosuch'/>" --live
    v net-update n1 add ip-dhcp-range "<range start='10.214.1.100' end='10.214.1.120'/>" --live
    v net-update n1 modify ip-dhcp-range "<range start='10.214.1.100' end='10.214.1.120'/>" --live
    v net-update n1 add portgroup "<portgroup name='pg1' default='yes'/>" --config
    v net-update n1 add bridge "<bridge name='x'/>" --live
    v net-update n1 add ip-dhcp-host "<range start='10.214.1.2' end='10.214.1.3'/>" --live
    v net-dumpxml n1
    v net-dumpxml --inactive n1
    v net-port-list n1
    v net-port-create n1 "$LAB/port.xml"
    v net-port-create n1 "$LAB/port.xml"
    v net-port-list n1
    v net-port-list n1 --uuid
    v net-port-dumpxml n1 0d6b2f3a-1c4e-4f5a-9b8c-7d6e5f4a3b21
    v net-dumpxml n1
    v net-port-delete n1 0d6b2f3a-1c4e-4f5a-9b8c-7d6e5f4a3b21
    v net-port-delete n1 0d6b2f3a-1c4e-4f5a-9b8c-7d6e5f4a3b21
    v net-port-list n1
    v net-start n2
    v net-dumpxml n2
    v net-port-create n2 "$LAB/port.xml"
    v net-port-dumpxml n2 0d6b2f3a-1c4e-4f5a-9b8c-7d6e5f4a3b21
    v net-destroy n2
    v net-port-list n2
    v net-create "$LAB/bad7.xml"
    local f
    for f in bad1 bad2 bad3 bad4 bad5 bad6 bad8 bad9; do
        v net-define "$LAB/$f.xml"
    done
    v net-list --all
    v net-destroy n1
    v net-destroy n1
    v net-autostart --disable n1
    v net-undefine n1
    v net-undefine n2
    v net-list --all
    v net-info nosuch
    # The error code and domain libvirt-python sees.
    echo "### python errors"
    /usr/bin/python3 - "$uri" "$LAB" <<'EOP' 2>&1 || true
import sys, libvirt
libvirt.registerErrorHandler(lambda c, e: None, None)
c = libvirt.open(sys.argv[1])
for f in ["bad1", "bad2", "bad3", "bad4", "bad5", "bad6", "bad8", "bad9"]:
    try:
        c.networkDefineXML(open(sys.argv[2] + "/" + f + ".xml").read())
        print(f, "defined")
    except libvirt.libvirtError as e:
        print(f, e.get_error_code(), e.get_error_domain(), e.get_error_message())
for call in [lambda: c.networkLookupByName("nosuch"),
             lambda: c.networkLookupByUUIDString("6a1c8f4e-2b3d-4e5f-8a9b-0c1d2e3f4a5f")]:
    try:
        call()
    except libvirt.libvirtError as e:
        print(e.get_error_code(), e.get_error_domain(), e.get_error_message())
EOP
}

session "$LAB/c" > "$LAB/c.out"
session "$LAB/rs" > "$LAB/rs.out"
mask() { sed -e "s|$LAB/[cr]s*/|LAB/|g"; }
if diff -u <(mask < "$LAB/c.out") <(mask < "$LAB/rs.out") > "$LAB/diff"; then
    echo "identical: $(grep -c '^### ' "$LAB/c.out") commands"
else
    cat "$LAB/diff"
    echo "differences: see above ($LAB/c.out, $LAB/rs.out)" >&2
    exit 1
fi

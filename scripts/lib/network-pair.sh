# SPDX-License-Identifier: LGPL-2.1-or-later
# Sourced by the network differential and benchmark scripts: Debian's C
# libvirtd (with its network driver) and our libvirtd, each inside a
# network namespace of its own, so their bridges, dnsmasq and firewall
# rules never touch the host's network.

# start_network_pair LAB RS_BIN: the C daemon in LAB/c and ours (RS_BIN)
# in LAB/rs, sockets LAB/{c,rs}/run/libvirt-sock, no authentication; the
# C daemon in a mount namespace of its own with fresh /run/libvirt,
# /etc/libvirt and /var/lib/libvirt (its configs and leases stay out of
# the host's) and a passwd/group that know the libvirt-dnsmasq user
# Debian's dnsmasq configs name. Both namespaces, with everything that
# runs in them, go when the calling script exits. Returns once both
# sockets exist.
start_network_pair() {
    local LAB=$1 RS_BIN=$2 ns d
    NS_C=lvrs-net-c-$$
    NS_RS=lvrs-net-rs-$$
    mkdir -p "$LAB/c/run" "$LAB/rs/run"
    # shellcheck disable=SC2064
    trap "stop_network_pair" EXIT
    for ns in "$NS_C" "$NS_RS"; do
        ip netns add "$ns"
        ip netns exec "$ns" ip link set lo up
    done
    for d in c rs; do
        cat > "$LAB/$d/libvirtd.conf" <<EOC
unix_sock_dir = "$LAB/$d/run"
auth_unix_rw = "none"
auth_unix_ro = "none"
listen_tls = 0
listen_tcp = 0
log_outputs = "3:file:$LAB/$d/log"
EOC
    done
    cp /etc/passwd "$LAB/c/passwd"
    cp /etc/group "$LAB/c/group"
    grep -q '^libvirt-dnsmasq:' "$LAB/c/passwd" ||
        echo 'libvirt-dnsmasq:x:64055:64055:Libvirt Dnsmasq:/var/lib/libvirt/dnsmasq:/usr/sbin/nologin' >> "$LAB/c/passwd"
    grep -q '^libvirt-dnsmasq:' "$LAB/c/group" || echo 'libvirt-dnsmasq:x:64055:' >> "$LAB/c/group"
    mkdir -p /run/libvirt
    # shellcheck disable=SC2016
    ip netns exec "$NS_C" unshare --mount --propagation private sh -c '
        mount -t tmpfs -o mode=0755 lvref /run/libvirt &&
        mount -t tmpfs -o mode=0755 lvetc /etc/libvirt &&
        mount -t tmpfs -o mode=0755 lvlib /var/lib/libvirt &&
        mount --bind "$0/passwd" /etc/passwd && mount --bind "$0/group" /etc/group &&
        exec /usr/sbin/libvirtd -f "$0/libvirtd.conf" -p "$0/pid"' "$LAB/c" >/dev/null 2>&1 &
    disown
    ip netns exec "$NS_RS" env LIBVIRT_RS_ROOT_PREFIX="$LAB/rs" \
        "$RS_BIN" -f "$LAB/rs/libvirtd.conf" -p "$LAB/rs/pid" >/dev/null 2>&1 &
    disown
    for d in c rs; do
        for _ in $(seq 150); do [ -S "$LAB/$d/run/libvirt-sock" ] && break; sleep 0.1; done
        [ -S "$LAB/$d/run/libvirt-sock" ] || { echo "daemon $d did not come up (see $LAB/$d/log)" >&2; return 1; }
    done
}

# stop_network_pair: every process of both namespaces (the daemons, their
# dnsmasq), then the namespaces.
stop_network_pair() {
    local ns
    for ns in "${NS_C:-}" "${NS_RS:-}"; do
        [ -n "$ns" ] || continue
        ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
        ip netns del "$ns" 2>/dev/null || true
    done
}

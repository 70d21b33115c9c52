# SPDX-License-Identifier: LGPL-2.1-or-later
# Sourced by the differential scripts: Debian's C libvirtd as the
# reference daemon.

# start_c_libvirtd CONF PIDFILE [ARGS...]: starts /usr/sbin/libvirtd in
# the background with config CONF and pid file PIDFILE (plus ARGS, e.g.
# -l), with private driver state: a tmpfs on /run/libvirt in its own mount
# namespace, so that another C libvirtd on this host, which holds the
# drivers' lock files there, does not stop it. The caller's environment
# (SASL_CONF_PATH, ...) is passed on.
start_c_libvirtd() {
    local conf=$1 pid=$2
    shift 2
    mkdir -p /run/libvirt
    unshare --mount --propagation private sh -c \
        'mount -t tmpfs -o mode=0755 lvref /run/libvirt && exec "$@"' \
        sh /usr/sbin/libvirtd "$@" -f "$conf" -p "$pid" >/dev/null 2>&1 &
}

# our_libvirtd: sets RS_BIN to our libvirtd: as given, or a release build
# made here.
our_libvirtd() {
    if [ -z "${RS_BIN:-}" ]; then
        cargo build -q --release --bin libvirtd
        RS_BIN=${CARGO_TARGET_DIR:-target}/release/libvirtd
    fi
}

# start_both LAB: Debian's C libvirtd in LAB/c and ours ($RS_BIN, see
# our_libvirtd) in LAB/rs, each with sockets in its own run directory, no
# authentication and no network listeners; stopped when the script exits;
# returns once both sockets exist (fails, saying so, when one does not
# come up).
start_both() {
    local lab=$1 d
    for d in c rs; do
        mkdir -p "$lab/$d/run"
        cat > "$lab/$d/libvirtd.conf" <<EOC
unix_sock_dir = "$lab/$d/run"
auth_unix_rw = "none"
auth_unix_ro = "none"
listen_tls = 0
listen_tcp = 0
log_outputs = "3:file:$lab/$d/log"
EOC
    done
    start_c_libvirtd "$lab/c/libvirtd.conf" "$lab/c/pid"
    LIBVIRT_RS_ROOT_PREFIX="$lab/rs" "$RS_BIN" -f "$lab/rs/libvirtd.conf" -p "$lab/rs/pid" >/dev/null 2>&1 &
    # shellcheck disable=SC2064
    trap "kill \$(cat '$lab/c/pid' '$lab/rs/pid' 2>/dev/null) 2>/dev/null || true; kill \$(jobs -p) 2>/dev/null || true" EXIT
    for d in c rs; do
        for _ in $(seq 150); do [ -S "$lab/$d/run/libvirt-sock" ] && break; sleep 0.1; done
        [ -S "$lab/$d/run/libvirt-sock" ] || { echo "daemon $d did not come up (see $lab/$d/log)" >&2; return 1; }
    done
}

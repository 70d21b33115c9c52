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

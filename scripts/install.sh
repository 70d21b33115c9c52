#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Install the daemons where Debian's own libvirt puts its files, remove
# them again, or build a Debian package of them.
#
#   bash scripts/install.sh install   [--destdir DIR] [--bin-dir DIR]
#   bash scripts/install.sh uninstall [--destdir DIR]
#   bash scripts/install.sh deb       [--bin-dir DIR] [--out DIR] [--compression xz|gzip|none]
#
# What goes where (as in Debian 12's libvirt packages):
#   /usr/sbin/{libvirtd,virtqemud,virtlxcd,virtxend,virtvzd,virtnetworkd,virtsecretd,virtstoraged,virtnodedevd,virtinterfaced,virtproxyd}
#   /usr/lib/libvirt/libvirt_lxc                 (the LXC controller)
#   /usr/lib/libvirt/libvirt_leaseshelper        (dnsmasq's DHCP lease helper)
#   /lib/systemd/system/*.service, *.socket
#   /etc/libvirt/*.conf                           (never overwritten: an
#       existing file is kept and the shipped one goes beside it as
#       NAME.conf.dist)
#   /usr/share/man/man8/*.8.gz
#   /usr/share/polkit-1/actions/org.libvirt.unix.policy
# The list of installed files is kept in
# /usr/share/libvirt-rs/installed-files; `uninstall` removes exactly those
# (a configuration file only while it is unchanged) and then the list.
# The binaries come from --bin-dir (default: a release build made here).
# Without --destdir the system itself is changed (root needed) and
# systemd is told to reload its units.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

usage() { sed -n '5,9p' "$0" >&2; exit 2; }
[ $# -ge 1 ] || usage
ACTION=$1; shift
DESTDIR=""; BIN_DIR=""; OUT=$ROOT/target; COMPRESSION=xz
while [ $# -gt 0 ]; do
    case "$1" in
        --destdir) DESTDIR=${2:?}; shift 2 ;;
        --bin-dir) BIN_DIR=${2:?}; shift 2 ;;
        --out) OUT=${2:?}; shift 2 ;;
        --compression) COMPRESSION=${2:?}; shift 2 ;;
        *) usage ;;
    esac
done

DAEMONS=(libvirtd virtqemud virtlxcd virtxend virtvzd virtnetworkd virtsecretd virtstoraged virtnodedevd virtinterfaced virtproxyd)
MANIFEST=usr/share/libvirt-rs/installed-files

binaries() {
    if [ -z "$BIN_DIR" ]; then
        cargo build --release --bins --quiet
        BIN_DIR=${CARGO_TARGET_DIR:-$ROOT/target}/release
    fi
    for b in "${DAEMONS[@]}" libvirt_lxc libvirt_leaseshelper; do
        [ -x "$BIN_DIR/$b" ] || { echo "install.sh: $BIN_DIR/$b is missing" >&2; exit 1; }
    done
}

# put MODE SRC REL: installs SRC as DESTDIR/REL and records REL.
put() {
    local mode=$1 src=$2 rel=$3
    install -D -m "$mode" "$src" "$DESTDIR/$rel"
    echo "$rel" >> "$LIST"
}

# conffile SRC REL: as put, but an existing file is kept.
conffile() {
    local src=$1 rel=$2
    if [ -e "$DESTDIR/$rel" ] && ! cmp -s "$src" "$DESTDIR/$rel"; then
        install -D -m 0644 "$src" "$DESTDIR/$rel.dist"
        echo "kept $rel (yours); the shipped one is $rel.dist" >&2
        echo "$rel.dist" >> "$LIST"
    else
        install -D -m 0644 "$src" "$DESTDIR/$rel"
        echo "conf $rel" >> "$LIST"
    fi
}

do_install() {
    binaries
    LIST=$(mktemp)
    for b in "${DAEMONS[@]}"; do put 0755 "$BIN_DIR/$b" "usr/sbin/$b"; done
    put 0755 "$BIN_DIR/libvirt_lxc" usr/lib/libvirt/libvirt_lxc
    put 0755 "$BIN_DIR/libvirt_leaseshelper" usr/lib/libvirt/libvirt_leaseshelper
    for u in data/systemd/*.service data/systemd/*.socket; do
        put 0644 "$u" "lib/systemd/system/$(basename "$u")"
    done
    for c in data/config/*.conf; do conffile "$c" "etc/libvirt/$(basename "$c")"; done
    local tmp; tmp=$(mktemp -d)
    for m in docs/man/*.8; do
        gzip -9nc "$m" > "$tmp/$(basename "$m").gz"
        put 0644 "$tmp/$(basename "$m").gz" "usr/share/man/man8/$(basename "$m").gz"
    done
    rm -rf "$tmp"
    put 0644 data/polkit/org.libvirt.unix.policy usr/share/polkit-1/actions/org.libvirt.unix.policy
    install -D -m 0644 "$LIST" "$DESTDIR/$MANIFEST"
    rm -f "$LIST"
    if [ -z "$DESTDIR" ] && command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
        systemctl daemon-reload || true
    fi
    echo "installed $(wc -l < "$DESTDIR/$MANIFEST") files under ${DESTDIR:-/}"
}

do_uninstall() {
    local m=$DESTDIR/$MANIFEST
    [ -f "$m" ] || { echo "install.sh: nothing installed (no $m)" >&2; exit 1; }
    local line rel
    while read -r line; do
        rel=${line#conf }
        if [ "$line" != "$rel" ]; then
            # A configuration file goes only while it is the shipped one.
            if cmp -s "data/config/$(basename "$rel")" "$DESTDIR/$rel"; then
                rm -f "$DESTDIR/$rel"
            else
                echo "kept $rel (changed)" >&2
            fi
        else
            rm -f "$DESTDIR/$rel"
        fi
    done < "$m"
    rm -f "$m"
    for d in usr/share/libvirt-rs usr/lib/libvirt etc/libvirt; do
        rmdir "$DESTDIR/$d" 2>/dev/null || true
    done
    if [ -z "$DESTDIR" ] && command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
        systemctl daemon-reload || true
    fi
    echo "removed what ${DESTDIR:-/} had from this project"
}

do_deb() {
    command -v dpkg-deb >/dev/null || { echo "install.sh: dpkg-deb is missing" >&2; exit 1; }
    binaries
    local stage; stage=$(mktemp -d)
    DESTDIR=$stage do_install >/dev/null
    # dpkg keeps its own list: the package does not ship ours.
    rm -f "$stage/$MANIFEST"; rmdir "$stage/usr/share/libvirt-rs"
    local version arch
    version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
    arch=$(dpkg --print-architecture)
    mkdir -p "$stage/DEBIAN"
    (cd "$stage" && find etc -type f | sed 's|^|/|') > "$stage/DEBIAN/conffiles"
    cat > "$stage/DEBIAN/control" <<EOC
Package: libvirt-daemons-rs
Version: $version
Architecture: $arch
Maintainer: libvirt daemons in Rust <root@localhost>
Section: admin
Priority: optional
Depends: libc6, libsasl2-2
Recommends: polkitd, busybox-static, dnsmasq-base, nftables
Suggests: libxenmisc4.17
Conflicts: libvirt-daemon, libvirt-daemon-system, libvirt-daemon-driver-qemu
Replaces: libvirt-daemon, libvirt-daemon-system, libvirt-daemon-driver-qemu
Description: libvirt daemons written in Rust
 libvirtd and the modular virtqemud, virtlxcd, virtxend, virtvzd, virtnetworkd,
 virtsecretd, virtstoraged, virtnodedevd, virtinterfaced and virtproxyd, wire-compatible with virsh, virt-manager and
 the libvirt bindings.
EOC
    for s in postinst postrm; do
        printf '#!/bin/sh\nset -e\nif [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi\n' > "$stage/DEBIAN/$s"
        chmod 0755 "$stage/DEBIAN/$s"
    done
    mkdir -p "$OUT"
    local deb="$OUT/libvirt-daemons-rs_${version}_${arch}.deb"
    dpkg-deb --root-owner-group -Z"$COMPRESSION" --build "$stage" "$deb" >/dev/null
    rm -rf "$stage"
    echo "$deb"
}

case "$ACTION" in
    install) do_install ;;
    uninstall) do_uninstall ;;
    deb) do_deb ;;
    *) usage ;;
esac

#!/usr/bin/env bash
# Differential check of authentication: Debian's C libvirtd and ours, each
# started with `-l` on its own TCP port with the default `auth_tcp`
# ("sasl"), the same Cyrus SASL configuration (DIGEST-MD5, a private sasldb
# made with saslpasswd2, a user list), and the same client session: virsh
# without credentials, with a wrong password, with the right one, as a user
# not on the list, libvirt-python with an auth callback, and raw calls
# before authentication. Outputs are compared after masking the port.
#
#   sudo bash scripts/differential-auth.sh
#
# Installs libvirt-daemon (Debian) and sasl2-bin when missing. Prints a
# unified diff and exits non-zero when the outputs differ.
# RS_BIN names our libvirtd (default: a release build made here).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/c-libvirtd.sh
LAB=${LAB:-/tmp/lvdiff-auth}
rm -rf "$LAB"; mkdir -p "$LAB/c/run" "$LAB/rs/run" "$LAB/sasl"

if ! [ -x /usr/sbin/libvirtd ] || ! command -v saslpasswd2 >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        libvirt-daemon libvirt-clients sasl2-bin libsasl2-modules >/dev/null
fi
# Debian's QEMU driver (if installed) refuses to initialise, and with it the
# whole C daemon, unless its compiled-in user and group exist.
getent group kvm >/dev/null || groupadd -r kvm
getent group libvirt-qemu >/dev/null || groupadd -r libvirt-qemu
getent passwd libvirt-qemu >/dev/null || \
    useradd -r -g kvm -G libvirt-qemu -d /var/lib/libvirt -s /usr/sbin/nologin libvirt-qemu
our_libvirtd

cat > "$LAB/sasl/libvirt.conf" <<EOC
mech_list: digest-md5
sasldb_path: $LAB/sasl/passwd.db
EOC
printf 'wonderland' | saslpasswd2 -a libvirt -f "$LAB/sasl/passwd.db" -p -c alice
printf 'builder' | saslpasswd2 -a libvirt -f "$LAB/sasl/passwd.db" -p -c bob

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PORT_C=$(free_port); PORT_RS=$(free_port)
conf() {
    cat > "$1/libvirtd.conf" <<EOC
unix_sock_dir = "$1/run"
auth_unix_rw = "none"
auth_unix_ro = "none"
listen_tls = 0
listen_tcp = 1
listen_addr = "127.0.0.1"
tcp_port = "$2"
sasl_allowed_username_list = ["alice", "admin*"]
log_outputs = "3:file:$1/log"
EOC
}
conf "$LAB/c" "$PORT_C"; conf "$LAB/rs" "$PORT_RS"
SASL_CONF_PATH="$LAB/sasl" start_c_libvirtd "$LAB/c/libvirtd.conf" "$LAB/c/pid" -l
SASL_CONF_PATH="$LAB/sasl" LIBVIRT_RS_ROOT_PREFIX="$LAB/rs" "$RS_BIN" -l -f "$LAB/rs/libvirtd.conf" -p "$LAB/rs/pid" >/dev/null 2>&1 &
trap 'kill $(cat "$LAB/c/pid" "$LAB/rs/pid" 2>/dev/null) 2>/dev/null || true; kill $(jobs -p) 2>/dev/null || true' EXIT
for d in c rs; do
    for _ in $(seq 100); do [ -S "$LAB/$d/run/libvirt-sock" ] && break; sleep 0.1; done
done

authfile() {
    printf '[credentials-t]\nauthname=%s\npassword=%s\n\n[auth-libvirt-127.0.0.1]\ncredentials=t\n' "$2" "$3" > "$1"
}
authfile "$LAB/good.conf" alice wonderland
authfile "$LAB/bad.conf" alice nope
authfile "$LAB/bob.conf" bob builder

session() {
    local port=$1 uri="test+tcp://127.0.0.1:$1/default"
    echo "## virsh without credentials"
    LIBVIRT_AUTH_FILE=/nonexistent virsh -c "$uri" list --all </dev/null 2>&1 || echo "exit $?"
    echo "## virsh with a wrong password"
    LIBVIRT_AUTH_FILE="$LAB/bad.conf" virsh -c "$uri" list --all </dev/null 2>&1 || echo "exit $?"
    echo "## virsh as a user not on the list"
    LIBVIRT_AUTH_FILE="$LAB/bob.conf" virsh -c "$uri" list --all </dev/null 2>&1 || echo "exit $?"
    echo "## virsh with the right password"
    LIBVIRT_AUTH_FILE="$LAB/good.conf" virsh -c "$uri" list --all </dev/null 2>&1 || echo "exit $?"
    LIBVIRT_AUTH_FILE="$LAB/good.conf" virsh -c "$uri" dominfo test </dev/null 2>&1 | grep -v "CPU time" || echo "exit $?"
    echo "## libvirt-python"
    /usr/bin/python3 - "$uri" <<'EOP' 2>&1 || echo "exit $?"
import sys, libvirt
libvirt.registerErrorHandler(lambda *a: None, None)
def cb(creds, pw):
    for c in creds:
        if c[0] == libvirt.VIR_CRED_AUTHNAME: c[4] = "alice"
        elif c[0] == libvirt.VIR_CRED_PASSPHRASE: c[4] = pw
    return 0
for pw in ["nope", "wonderland"]:
    try:
        c = libvirt.openAuth(sys.argv[1], [[libvirt.VIR_CRED_AUTHNAME, libvirt.VIR_CRED_PASSPHRASE], cb, pw], 0)
        print("open ok:", [d.name() for d in c.listAllDomains()])
    except libvirt.libvirtError as e:
        print("open failed:", e.get_error_code(), e.get_error_domain(), e.get_error_message())
EOP
    echo "## raw calls before authentication"
    /usr/bin/python3 - "$port" <<'EOP' 2>&1 || echo "exit $?"
import socket, struct, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
serial = 0
def call(proc, body=b""):
    global serial
    serial += 1
    hdr = struct.pack(">IIiiIi", 0x20008086, 1, proc, 0, serial, 0)
    s.sendall(struct.pack(">I", 4 + len(hdr) + len(body)) + hdr + body)
    n = struct.unpack(">I", s.recv(4, socket.MSG_WAITALL))[0]
    data = s.recv(n - 4, socket.MSG_WAITALL)
    status = struct.unpack(">i", data[20:24])[0]
    body = data[24:]
    if status == 0:
        return "ok " + body.hex()
    code, dom, has = struct.unpack(">iiI", body[:12])
    msg = ""
    if has:
        ln = struct.unpack(">I", body[12:16])[0]
        msg = body[16:16 + ln].decode()
    return f"error code={code} domain={dom} message={msg!r}"
def string(v):
    b = v.encode()
    return struct.pack(">I", len(b)) + b + b"\0" * ((4 - len(b) % 4) % 4)
print("open:", call(1, struct.pack(">I", 1) + string("test:///default") + struct.pack(">I", 0)))
print("hostname:", call(59))
print("auth list:", call(66))
print("step before init:", call(69, struct.pack(">iI", 1, 0)))
print("init:", call(67))
print("second init:", call(67))
print("start, unknown mechanism:", call(68, string("NO-SUCH") + struct.pack(">iI", 0, 0)))
print("hostname again:", call(59))
EOP
}
session "$PORT_C" > "$LAB/c.out"
session "$PORT_RS" > "$LAB/rs.out"
if diff -u "$LAB/c.out" "$LAB/rs.out"; then
    echo "identical: $(wc -l < "$LAB/c.out") lines"
else
    exit 1
fi

#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# Talks to a guest's console through virDomainOpenConsole (a libvirt
# stream relayed by the daemon): sends one line, waits for a string.
# Usage: console.py URI DOMAIN LINE EXPECT [TIMEOUT]
import signal
import sys

import libvirt

uri, name, line, expect = sys.argv[1:5]
timeout = int(sys.argv[5]) if len(sys.argv) > 5 else 30

conn = libvirt.open(uri)
dom = conn.lookupByName(name)
st = conn.newStream(0)
dom.openConsole(None, st, libvirt.VIR_DOMAIN_CONSOLE_FORCE)


def give_up(*_):
    print("console.py: timeout; got: %r" % buf.decode(errors="replace"))
    sys.exit(1)


buf = b""
signal.signal(signal.SIGALRM, give_up)
signal.alarm(timeout)
st.send(b"\n" + line.encode() + b"\n")
while expect.encode() not in buf:
    data = st.recv(4096)
    if not data or data == -2:
        break
    buf += data
signal.alarm(0)
print(buf.decode(errors="replace").replace("\r", ""))
ok = expect.encode() in buf
try:
    st.abort()
except libvirt.libvirtError:
    pass
print("console.py: %s" % ("found %r" % expect if ok else "did NOT find %r" % expect))
sys.exit(0 if ok else 1)

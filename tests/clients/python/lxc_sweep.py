# SPDX-License-Identifier: LGPL-2.1-or-later
"""Failing calls on lxc:///system behind a daemon (nothing is started):
one line a step, "STEP: OK result" or "STEP: ERR code domain message",
UUIDs and the socket path masked. Compared against Debian's C libvirtd by
crates/daemon-tests/tests/clients.rs.

usage: /usr/bin/python3 lxc_sweep.py SOCKET
"""
import re
import sys

import libvirt

SOCK = sys.argv[1]
URI = "lxc+unix:///system?socket=" + SOCK
BAD_UUID = "00000000-1111-2222-3333-444444444444"
XML = ("<domain type='lxc'><name>{}</name><memory>65536</memory>"
       "<os><type>exe</type><init>/bin/sh</init></os></domain>")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

libvirt.registerErrorHandler(lambda *a: None, None)


def step(name, f):
    try:
        r = f()
        out = "OK" if r is None else "OK " + (r if isinstance(r, str) else type(r).__name__)
    except libvirt.libvirtError as e:
        out = "ERR %s %s %s" % (e.get_error_code(), e.get_error_domain(), e.get_error_message())
    print(UUID.sub("UUID", ("%s: %s" % (name, out)).replace(SOCK, "SOCKET")))


c = libvirt.open(URI)
ro = libvirt.openReadOnly(URI)
step("getType", c.getType)
step("getURI", c.getURI)
step("lookupByName", lambda: c.lookupByName("nosuch"))
step("lookupByUUIDString", lambda: c.lookupByUUIDString(BAD_UUID))
step("lookupByID", lambda: c.lookupByID(99999))
step("listAllDomains bad flags", lambda: c.listAllDomains(1 << 30))
step("defineXML kvm", lambda: c.defineXML(XML.format("w").replace("'lxc'", "'kvm'")))
step("defineXML hvm", lambda: c.defineXML(XML.format("h").replace(">exe<", ">hvm<")))
step("defineXML no init", lambda: c.defineXML(
    "<domain type='lxc'><name>ni</name><memory>65536</memory><os><type>exe</type></os></domain>"))
step("defineXMLFlags bad flags", lambda: c.defineXMLFlags(XML.format("bf"), 1 << 20))
step("createXML bad flags", lambda: c.createXML(XML.format("cb"), 1 << 20))
step("defineXML", lambda: c.defineXML(XML.format("wiresweep")).name())
d = c.lookupByName("wiresweep")
step("destroy inactive", d.destroy)
step("suspend inactive", d.suspend)
step("resume inactive", d.resume)
step("shutdown inactive", d.shutdown)
step("reboot inactive", lambda: d.reboot(0))
step("XMLDesc bad flags", lambda: d.XMLDesc(1 << 20))
step("undefineFlags bad flags", lambda: d.undefineFlags(1 << 20))
step("setMemory inactive", lambda: d.setMemory(1 << 40))
step("setVcpus", lambda: d.setVcpus(4))
step("blockStats inactive", lambda: d.blockStats("vda"))
step("attachDevice inactive", lambda: d.attachDevice("<nothing/>"))
step("snapshotLookupByName", lambda: d.snapshotLookupByName("x"))
step("managedSave", lambda: d.managedSave(0))
step("ro defineXML", lambda: ro.defineXML(XML.format("ro")))
step("ro destroy", lambda: ro.lookupByName("wiresweep").destroy())
step("undefine", d.undefine)
step("undefine again", d.undefine)
step("networkLookupByName", lambda: c.networkLookupByName("nosuch"))
step("storagePoolLookupByName", lambda: c.storagePoolLookupByName("nosuch"))
step("secretLookupByUUIDString", lambda: c.secretLookupByUUIDString(BAD_UUID))
step("domainXMLFromNative qemu-argv", lambda: c.domainXMLFromNative("qemu-argv", "x", 0))
c.close()
ro.close()

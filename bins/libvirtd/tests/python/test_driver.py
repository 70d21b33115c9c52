# SPDX-License-Identifier: LGPL-2.1-or-later
"""libvirt-python against our libvirtd serving test:///default.

Usage: python3 test_driver.py URI. Exits non-zero on the first failed check."""
import sys
import threading
import time

import libvirt

uri = sys.argv[1]
libvirt.registerErrorHandler(lambda *a: None, None)
libvirt.virEventRegisterDefaultImpl()


def check(cond, what):
    if not cond:
        print("FAILED:", what)
        sys.exit(1)


conn = libvirt.open(uri)
check(conn.getType() == "TEST", "getType %s" % conn.getType())
check(conn.getLibVersion() >= 9000000, "getLibVersion")
check(conn.getVersion() == 2, "getVersion")
check(conn.isAlive() == 1, "isAlive")
check(conn.getInfo()[0] == "i686", "getInfo model")
check(conn.getMaxVcpus(None) == 32, "getMaxVcpus")

dom = conn.lookupByName("test")
check(dom.ID() == 1 and dom.isActive() and dom.isPersistent(), "test domain")
check(dom.UUIDString() == "6695eb01-f6a4-8304-79aa-97f2502e193f", "uuid")
check(conn.lookupByID(1).name() == "test", "lookupByID")
check(conn.lookupByUUIDString(dom.UUIDString()).name() == "test", "lookupByUUIDString")
state, reason = dom.state()
check(state == libvirt.VIR_DOMAIN_RUNNING, "state")
info = dom.info()
check(info[1] == 8388608 and info[2] == 2097152 and info[3] == 2, "info")

try:
    conn.lookupByName("nosuch")
    check(False, "lookup of unknown domain succeeded")
except libvirt.libvirtError as e:
    check(e.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN, "NO_DOMAIN code")
    check("Domain not found" in str(e), "NO_DOMAIN message: %s" % e)

try:
    dom.create()
    check(False, "starting a running domain succeeded")
except libvirt.libvirtError as e:
    check(e.get_error_code() == libvirt.VIR_ERR_INTERNAL_ERROR and "is already running" in str(e), "already running: %s" % e)

try:
    conn.defineXML("<domain type='test'><name>x</name>")
    check(False, "malformed XML accepted")
except libvirt.libvirtError as e:
    check(e.get_error_code() in (libvirt.VIR_ERR_XML_ERROR, libvirt.VIR_ERR_XML_DETAIL), "XML error code: %s" % e)

# events from our own actions, through the callback API
events = []
cb = conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                 lambda c, d, ev, det, op: events.append((d.name(), ev, det)), None)
stop = False


def loop():
    while not stop:
        libvirt.virEventRunDefaultImpl()


t = threading.Thread(target=loop, daemon=True)
t.start()

xml = """<domain type='test'><name>py1</name><memory unit='MiB'>64</memory>
<vcpu>1</vcpu><os><type>hvm</type></os></domain>"""
d = conn.defineXML(xml)
d.create()
d.suspend()
d.resume()
d.destroy()
d.undefine()
deadline = time.time() + 5
while len(events) < 6 and time.time() < deadline:
    time.sleep(0.05)
stop = True
conn.domainEventDeregisterAny(cb)
expected = [("py1", libvirt.VIR_DOMAIN_EVENT_DEFINED, 0), ("py1", libvirt.VIR_DOMAIN_EVENT_STARTED, 0),
            ("py1", libvirt.VIR_DOMAIN_EVENT_SUSPENDED, 0), ("py1", libvirt.VIR_DOMAIN_EVENT_RESUMED, 0),
            ("py1", libvirt.VIR_DOMAIN_EVENT_STOPPED, 1), ("py1", libvirt.VIR_DOMAIN_EVENT_UNDEFINED, 0)]
check(events[:6] == expected, "events %r" % events)

# list with filters
names = sorted(d.name() for d in conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE))
check(names == ["test"], "listAllDomains active %r" % names)
check(conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_INACTIVE) == [], "no inactive")

# metadata
dom.setMetadata(libvirt.VIR_DOMAIN_METADATA_TITLE, "hello", None, None, 0)
check(dom.metadata(libvirt.VIR_DOMAIN_METADATA_TITLE, None, 0) == "hello", "title metadata")

net = conn.networkLookupByName("default")
check(net.isActive() and net.bridgeName() == "virbr0", "network")
pool = conn.storagePoolLookupByName("default-pool")
check(pool.info()[1] == 107374182400, "pool capacity")
vol = pool.createXML("<volume><name>pv</name><capacity>1048576</capacity></volume>", 0)
check(vol.path() == "/default-pool/pv", "volume path %s" % vol.path())
check([v.name() for v in pool.listAllVolumes()] == ["pv"], "volume list")
vol.delete(0)
conn.close()
print("python conformance: ok")

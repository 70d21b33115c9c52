# SPDX-License-Identifier: LGPL-2.1-or-later
"""A fixed sequence of libvirt-python calls, most of them failing on
purpose, against test:///default behind a daemon. Each step prints one
line: "STEP: OK result" or "STEP: ERR code domain message". Run it against
Debian's C libvirtd and against ours and compare (UUIDs and MACs are
masked here so that the two runs can be diffed as text).

usage: /usr/bin/python3 sweep.py SOCKET
"""
import re
import sys

import libvirt

SOCK = sys.argv[1]
URI = "test+unix:///default?socket=" + SOCK
BAD_UUID = "00000000-1111-2222-3333-444444444444"
DOM_XML = """<domain type='test'>
  <name>{name}</name>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64'>hvm</type></os>
</domain>"""
NET_XML = "<network><name>{name}</name><bridge name='{br}'/></network>"
POOL_XML = "<pool type='dir'><name>{name}</name><target><path>/nonexistent-sweep</path></target></pool>"

libvirt.registerErrorHandler(lambda *a: None, None)

MASKS = [
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "UUID"),
    (re.compile(r"([0-9a-f]{2}:){5}[0-9a-f]{2}"), "MAC"),
]


def mask(s):
    s = s.replace(SOCK, "SOCKET")
    for rx, rep in MASKS:
        s = rx.sub(rep, s)
    return s


def step(name, f):
    try:
        r = f()
        out = "OK" if r is None else "OK " + describe(r)
    except libvirt.libvirtError as e:
        out = "ERR %s %s %s" % (e.get_error_code(), e.get_error_domain(), e.get_error_message())
    except Exception as e:  # the binding refused before calling: say which way
        out = "EXC %s %s" % (type(e).__name__, e)
    print(mask("%s: %s" % (name, out)))


def describe(r):
    for attr in ("name", "key"):
        if hasattr(r, attr) and callable(getattr(r, attr)):
            try:
                return "<%s %s>" % (type(r).__name__, getattr(r, attr)())
            except libvirt.libvirtError:
                pass
    if isinstance(r, str) and "\n" in r:
        return "%d lines" % len(r.splitlines())
    return repr(r)


c = libvirt.open(URI)
ro = libvirt.openReadOnly(URI)
dom = c.lookupByName("test")
net = c.networkLookupByName("default")
pool = c.storagePoolLookupByName("default-pool")

# Connection
step("getType", c.getType)
step("getURI", c.getURI)
step("isAlive", c.isAlive)
step("isSecure", c.isSecure)
step("getMaxVcpus", lambda: c.getMaxVcpus("test"))
step("getMaxVcpus bogus", lambda: c.getMaxVcpus("bogus"))
step("listAllDomains bad flags", lambda: c.listAllDomains(1 << 30))
step("listAllNetworks bad flags", lambda: c.listAllNetworks(1 << 30))
step("listAllStoragePools bad flags", lambda: c.listAllStoragePools(1 << 30))
step("nodeGetCPUStats bad cpu", lambda: c.getCPUStats(999))
step("nodeGetMemoryStats bad cell", lambda: c.getMemoryStats(999))
step("getCellsFreeMemory bad", lambda: c.getCellsFreeMemory(5, 3))
step("domainXMLFromNative", lambda: c.domainXMLFromNative("qemu-argv", "x", 0))
step("domainXMLToNative", lambda: c.domainXMLToNative("qemu-argv", DOM_XML.format(name="n"), 0))
step("findStoragePoolSources", lambda: c.findStoragePoolSources("logical", None, 0))
step("secretLookupByUUIDString", lambda: c.secretLookupByUUIDString(BAD_UUID))
step("nwfilterLookupByName", lambda: c.nwfilterLookupByName("nosuch"))
step("interfaceLookupByName", lambda: c.interfaceLookupByName("nosuch"))
step("interfaceLookupByMACString", lambda: c.interfaceLookupByMACString("00:11:22:33:44:55"))
step("nodeDeviceLookupByName", lambda: c.nodeDeviceLookupByName("nosuch"))

# Domains: lookups
step("lookupByName", lambda: c.lookupByName("nosuch"))
step("lookupByUUIDString", lambda: c.lookupByUUIDString(BAD_UUID))
step("lookupByID", lambda: c.lookupByID(9999))
step("lookupByUUIDString malformed", lambda: c.lookupByUUIDString("not-a-uuid"))

# Domains: definitions
step("defineXML not a domain", lambda: c.defineXML("<network><name>x</name></network>"))
step("defineXML no name", lambda: c.defineXML("<domain type='test'><memory>1024</memory><os><type>hvm</type></os></domain>"))
step("defineXML bad type", lambda: c.defineXML(DOM_XML.format(name="bt").replace("type='test'", "type='kvm'")))
step("defineXML duplicate name", lambda: c.defineXML(DOM_XML.format(name="test").replace("<name>", "<uuid>" + BAD_UUID + "</uuid><name>")))
step("createXML duplicate", lambda: c.createXML(DOM_XML.format(name="test"), 0))
step("createXML bad flags", lambda: c.createXML(DOM_XML.format(name="cx"), 1 << 20))
step("defineXMLFlags bad flags", lambda: c.defineXMLFlags(DOM_XML.format(name="dx"), 1 << 20))

# Domains: state
step("create running", dom.create)
step("resume running", dom.resume)
step("setMemory too much", lambda: dom.setMemory(1 << 40))
step("setMaxMemory running", lambda: dom.setMaxMemory(1 << 20))
step("setVcpus too many", lambda: dom.setVcpus(1000))
step("XMLDesc bad flags", lambda: dom.XMLDesc(1 << 20))
step("undefineFlags bad flags", lambda: dom.undefineFlags(1 << 20))
step("destroyFlags bad flags", lambda: dom.destroyFlags(1 << 20))
step("shutdownFlags bad flags", lambda: dom.shutdownFlags(1 << 20))
step("reboot bad flags", lambda: dom.reboot(1 << 20))
step("blockStats nosuch", lambda: dom.blockStats("nosuch"))
step("interfaceStats nosuch", lambda: dom.interfaceStats("nosuch"))
step("attachDevice garbage", lambda: dom.attachDevice("<nothing/>"))
step("snapshotLookupByName", lambda: dom.snapshotLookupByName("nosuch"))
step("managedSaveRemove none", lambda: dom.managedSaveRemove(0))
step("migrate", lambda: dom.migrateToURI("test:///default", 0, None, 0))
step("openConsole", lambda: dom.openConsole(None, c.newStream(0), 0))
step("qemuAgent-less getHostname", lambda: dom.hostname())
step("setAutostart", lambda: dom.setAutostart(1))
step("define sweep1", lambda: c.defineXML(DOM_XML.format(name="sweep1")))
d1 = c.lookupByName("sweep1")
step("destroy inactive", d1.destroy)
step("suspend inactive", d1.suspend)
step("resume inactive", d1.resume)
step("shutdown inactive", d1.shutdown)
step("reboot inactive", lambda: d1.reboot(0))
step("managedSave inactive", lambda: d1.managedSave(0))
step("coreDump inactive", lambda: d1.coreDump("/tmp/nonexistent-sweep/core", 0))
step("getVcpus inactive", d1.vcpus)
step("start", d1.create)
step("suspend", d1.suspend)
step("suspend paused", d1.suspend)
step("resume", d1.resume)
step("destroy", d1.destroy)
step("undefine", d1.undefine)
step("undefine again", d1.undefine)
step("use undefined handle", d1.info)

# Networks
step("networkLookupByName", lambda: c.networkLookupByName("nosuch"))
step("networkLookupByUUIDString", lambda: c.networkLookupByUUIDString(BAD_UUID))
step("networkDefineXML duplicate", lambda: c.networkDefineXML(NET_XML.format(name="default", br="virbr77")))
step("networkDefineXML not a network", lambda: c.networkDefineXML("<domain/>"))
step("networkCreateXML no name", lambda: c.networkCreateXML("<network/>"))
step("network create active", net.create)
step("network bad flags XMLDesc", lambda: net.XMLDesc(1 << 20))
step("networkDefineXML n1", lambda: c.networkDefineXML(NET_XML.format(name="sweepnet", br="virbr78")))
n1 = c.networkLookupByName("sweepnet")
step("network destroy inactive", n1.destroy)
step("network DHCPLeases", lambda: n1.DHCPLeases())
step("network undefine", n1.undefine)
step("network undefine again", n1.undefine)

# Storage
step("storagePoolLookupByName", lambda: c.storagePoolLookupByName("nosuch"))
step("storagePoolLookupByUUIDString", lambda: c.storagePoolLookupByUUIDString(BAD_UUID))
step("storagePoolDefineXML duplicate", lambda: c.storagePoolDefineXML(POOL_XML.format(name="default-pool"), 0))
step("storagePoolDefineXML garbage", lambda: c.storagePoolDefineXML("<pool/>", 0))
step("pool create active", lambda: pool.create(0))
step("storageVolLookupByName", lambda: pool.storageVolLookupByName("nosuch"))
step("storageVolLookupByPath", lambda: c.storageVolLookupByPath("/nosuch"))
step("storageVolLookupByKey", lambda: c.storageVolLookupByKey("/nosuch"))
step("storageVolCreateXML garbage", lambda: pool.createXML("<volume/>", 0))
step("storagePoolDefineXML p1", lambda: c.storagePoolDefineXML(POOL_XML.format(name="sweeppool"), 0))
p1 = c.storagePoolLookupByName("sweeppool")
step("pool destroy inactive", p1.destroy)
step("pool refresh inactive", lambda: p1.refresh(0))
step("pool listVolumes inactive", p1.listVolumes)
step("pool undefine", p1.undefine)

# More wrong states and bad arguments
step("createXML transient", lambda: c.createXML(DOM_XML.format(name="tr1"), 0))
tr = c.lookupByName("tr1")
step("transient setAutostart", lambda: tr.setAutostart(1))
step("transient undefine", tr.undefine)
step("transient managedSave", lambda: tr.managedSave(0))
step("transient destroy", tr.destroy)
step("transient handle after destroy", tr.info)
step("save bad path", lambda: dom.save("/nonexistent-dir/x.save"))
step("restore bad path", lambda: c.restore("/nonexistent-dir/x.save"))
step("rename running", lambda: dom.rename("test2", 0))
step("setMetadata bad type", lambda: dom.setMetadata(99, "x", None, None, 0))
step("metadata missing", lambda: dom.metadata(libvirt.VIR_DOMAIN_METADATA_TITLE, None, 0))
step("metadata element missing", lambda: dom.metadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, "http://example.org/x", 0))
step("blockInfo nosuch", lambda: dom.blockInfo("nosuch", 0))
step("pinVcpu bad vcpu", lambda: dom.pinVcpu(99, (True,)))
step("sendKey bad", lambda: dom.sendKey(0, 0, [1], 1, 0))
step("getJobInfo", dom.jobInfo)
step("abortJob", dom.abortJob)
step("interface define garbage", lambda: c.interfaceDefineXML("<interface/>", 0))
step("interface lookup eth1", lambda: c.interfaceLookupByName("eth1").isActive())
step("nodedev create garbage", lambda: c.nodeDeviceCreateXML("<device/>", 0))
step("nodedev destroy computer", lambda: c.nodeDeviceLookupByName("computer").destroy())
step("network update bad section", lambda: net.update(libvirt.VIR_NETWORK_UPDATE_COMMAND_ADD_LAST, 999, -1, "<x/>", 0))
step("network update bad xml", lambda: net.update(libvirt.VIR_NETWORK_UPDATE_COMMAND_ADD_LAST, libvirt.VIR_NETWORK_SECTION_IP_DHCP_HOST, -1, "<nothost/>", 0))
step("network setAutostart transient", lambda: c.networkCreateXML(NET_XML.format(name="trnet", br="virbr80")).setAutostart(1))
step("pool build active", lambda: pool.build(0))
step("pool delete active", lambda: pool.delete(0))
step("pool undefine active", pool.undefine)
step("vol createXML dup", lambda: pool.createXML("<volume><name>sweepvol</name><capacity>1024</capacity></volume>", 0).name())
step("vol createXML dup again", lambda: pool.createXML("<volume><name>sweepvol</name><capacity>1024</capacity></volume>", 0))
step("vol resize shrink", lambda: pool.storageVolLookupByName("sweepvol").resize(1, 0))
step("vol delete", lambda: pool.storageVolLookupByName("sweepvol").delete(0))
step("vol lookup deleted", lambda: pool.storageVolLookupByName("sweepvol"))

# Read-only connection
step("ro defineXML", lambda: ro.defineXML(DOM_XML.format(name="ro1")))
step("ro destroy", lambda: ro.lookupByName("test").destroy())
step("ro networkDefineXML", lambda: ro.networkDefineXML(NET_XML.format(name="ro", br="virbr79")))
step("ro storagePoolDefineXML", lambda: ro.storagePoolDefineXML(POOL_XML.format(name="ro"), 0))
step("ro XMLDesc secure", lambda: ro.lookupByName("test").XMLDesc(libvirt.VIR_DOMAIN_XML_SECURE))
step("ro lookupByName", lambda: ro.lookupByName("nosuch"))

c.close()
ro.close()

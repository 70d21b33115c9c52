# SPDX-License-Identifier: LGPL-2.1-or-later
"""Exercises the test driver's APIs through libvirt-python and prints every
answer (errors as code/domain/message), normalised for what legitimately
differs between runs: creation times and names made of them, CPU times.

    /usr/bin/python3 scripts/testdrv-api.py 'test+unix:///default?socket=SOCK'

scripts/differential-api.sh runs it against Debian's C libvirtd and ours and
compares the outputs. Listings whose order libvirt leaves to a hash table are
sorted.
"""
import re
import sys

import libvirt

libvirt.registerErrorHandler(lambda *a: None, None)
libvirt.virEventRegisterDefaultImpl()
URI = sys.argv[1]
conn = libvirt.open(URI)
events = []


def norm(v):
    s = v if isinstance(v, str) else repr(v)
    s = re.sub(r"<creationTime>\d+</creationTime>", "<creationTime>T</creationTime>", s)
    s = re.sub(r"\b1[6-9]\d{8}\b", "T", s)
    return s


def show(label, f, *a, **kw):
    try:
        r = f(*a, **kw)
    except libvirt.libvirtError as e:
        print(f"{label}: ERROR {e.get_error_code()} {e.get_error_domain()} {norm(e.get_error_message())}")
        return None
    print(f"{label}: {norm(r)}")
    return r


def names(objs):
    return sorted(norm(o.getName()) for o in objs)


def lifecycle_cb(_c, dom, event, detail, _opaque):
    events.append((dom.name(), event, detail))


conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, lifecycle_cb, None)


def flush_events(label):
    # The events of a call arrive before the reply of a later call; C's
    # daemon queues them for its event loop, so give that a moment too.
    import time
    time.sleep(0.3)
    conn.getLibVersion()
    conn.getLibVersion()
    print(f"{label} events: {events}")
    events.clear()


def pump():
    import threading

    def run():
        while True:
            libvirt.virEventRunDefaultImpl()

    threading.Thread(target=run, daemon=True).start()


S = libvirt


def snapshots(dom):
    print("== snapshots")
    show("num empty", dom.snapshotNum)
    show("has current empty", dom.hasCurrentSnapshot)
    show("current empty", dom.snapshotCurrent)
    s1 = show("create s1", lambda: dom.snapshotCreateXML(
        "<domainsnapshot><name>s1</name><description>first</description></domainsnapshot>").getName())
    show("create s1 again", lambda: dom.snapshotCreateXML("<domainsnapshot><name>s1</name></domainsnapshot>"))
    show("create s2", lambda: dom.snapshotCreateXML("<domainsnapshot><name>s2</name></domainsnapshot>").getName())
    show("create s3", lambda: dom.snapshotCreateXML(
        "<domainsnapshot><name>s3</name><disks><disk name='vda' snapshot='no'/></disks></domainsnapshot>").getName())
    show("create unnamed", lambda: dom.snapshotCreateXML("<domainsnapshot/>").getName())
    show("create bad flag", lambda: dom.snapshotCreateXML("<domainsnapshot/>", S.VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY))
    show("create no metadata", lambda: dom.snapshotCreateXML("<domainsnapshot/>", S.VIR_DOMAIN_SNAPSHOT_CREATE_NO_METADATA))
    show("create bad xml", lambda: dom.snapshotCreateXML("<domainsnapshot><name>x</name>"))
    show("create wrong root", lambda: dom.snapshotCreateXML("<snapshot/>"))
    show("create bad disk", lambda: dom.snapshotCreateXML(
        "<domainsnapshot><name>x</name><disks><disk name='vdz'/></disks></domainsnapshot>"))
    show("create external memory", lambda: dom.snapshotCreateXML(
        "<domainsnapshot><name>x</name><memory snapshot='external'/></domainsnapshot>"))
    show("create manual disk", lambda: dom.snapshotCreateXML(
        "<domainsnapshot><name>x</name><disks><disk name='vda' snapshot='manual'/></disks></domainsnapshot>"))
    show("create relative path", lambda: dom.snapshotCreateXML(
        "<domainsnapshot><name>x</name><disks><disk name='vda'><source file='rel.img'/></disk></disks></domainsnapshot>"))
    for label, fl in [("all", 0), ("roots", S.VIR_DOMAIN_SNAPSHOT_LIST_ROOTS),
                      ("leaves", S.VIR_DOMAIN_SNAPSHOT_LIST_LEAVES),
                      ("no leaves", S.VIR_DOMAIN_SNAPSHOT_LIST_NO_LEAVES),
                      ("leaves+no leaves", S.VIR_DOMAIN_SNAPSHOT_LIST_LEAVES | S.VIR_DOMAIN_SNAPSHOT_LIST_NO_LEAVES),
                      ("metadata", S.VIR_DOMAIN_SNAPSHOT_LIST_METADATA),
                      ("no metadata", S.VIR_DOMAIN_SNAPSHOT_LIST_NO_METADATA),
                      ("active", S.VIR_DOMAIN_SNAPSHOT_LIST_ACTIVE),
                      ("inactive", S.VIR_DOMAIN_SNAPSHOT_LIST_INACTIVE),
                      ("disk only", S.VIR_DOMAIN_SNAPSHOT_LIST_DISK_ONLY),
                      ("internal", S.VIR_DOMAIN_SNAPSHOT_LIST_INTERNAL),
                      ("external", S.VIR_DOMAIN_SNAPSHOT_LIST_EXTERNAL),
                      ("bad flag", 1 << 20)]:
        show(f"num {label}", dom.snapshotNum, fl)
        show(f"list names {label}", lambda: sorted(norm(n) for n in dom.snapshotListNames(fl)))
        show(f"list all {label}", lambda: names(dom.listAllSnapshots(fl)))
    show("topological", lambda: [norm(s.getName()) for s in dom.listAllSnapshots(S.VIR_DOMAIN_SNAPSHOT_LIST_TOPOLOGICAL)][0])
    s1 = dom.snapshotLookupByName("s1")
    show("lookup missing", dom.snapshotLookupByName, "nope")
    show("s1 xml", s1.getXMLDesc)
    show("s1 xml secure", s1.getXMLDesc, S.VIR_DOMAIN_SNAPSHOT_XML_SECURE)
    show("s3 xml", lambda: dom.snapshotLookupByName("s3").getXMLDesc())
    show("s1 parent", s1.getParent)
    show("s2 parent", lambda: dom.snapshotLookupByName("s2").getParent().getName())
    show("s1 children", s1.numChildren)
    show("s1 descendants", s1.numChildren, S.VIR_DOMAIN_SNAPSHOT_LIST_DESCENDANTS)
    show("s1 children names", lambda: sorted(norm(n) for n in s1.listChildrenNames()))
    show("s1 all children", lambda: names(s1.listAllChildren(S.VIR_DOMAIN_SNAPSHOT_LIST_DESCENDANTS)))
    show("s1 is current", s1.isCurrent)
    show("s1 has metadata", s1.hasMetadata)
    show("current", lambda: norm(dom.snapshotCurrent().getName()))
    show("has current", dom.hasCurrentSnapshot)
    # revert: running -> running, then paused
    show("revert s1", dom.revertToSnapshot, s1)
    flush_events("revert s1")
    show("state", dom.state)
    show("s1 is current after revert", s1.isCurrent)
    show("revert s1 paused", dom.revertToSnapshot, s1, S.VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED)
    flush_events("revert s1 paused")
    show("state", dom.state)
    show("revert bad flag", dom.revertToSnapshot, s1, 1 << 10)
    # an offline snapshot
    dom.destroy()
    flush_events("destroy")
    show("create off", lambda: dom.snapshotCreateXML("<domainsnapshot><name>off</name></domainsnapshot>").getName())
    show("off xml", lambda: dom.snapshotLookupByName("off").getXMLDesc())
    show("num inactive", dom.snapshotNum, S.VIR_DOMAIN_SNAPSHOT_LIST_INACTIVE)
    show("num active", dom.snapshotNum, S.VIR_DOMAIN_SNAPSHOT_LIST_ACTIVE)
    show("revert s2 (running)", lambda: dom.revertToSnapshot(dom.snapshotLookupByName("s2")))
    flush_events("revert s2")
    show("state", dom.state)
    show("revert off", lambda: dom.revertToSnapshot(dom.snapshotLookupByName("off")))
    flush_events("revert off")
    show("state", dom.state)
    show("revert off running", lambda: dom.revertToSnapshot(dom.snapshotLookupByName("off"), S.VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING))
    flush_events("revert off running")
    show("state", dom.state)
    show("undefine with snapshots", dom.undefine)
    # halt
    dom.create()
    flush_events("create")
    show("create halt", lambda: dom.snapshotCreateXML("<domainsnapshot><name>h</name></domainsnapshot>",
                                                       S.VIR_DOMAIN_SNAPSHOT_CREATE_HALT).getName())
    flush_events("halt")
    show("state", dom.state)
    show("h parent", lambda: dom.snapshotLookupByName("h").getParent().getName())
    # redefine
    xml = dom.snapshotLookupByName("s2").getXMLDesc()
    show("redefine s2", lambda: dom.snapshotCreateXML(xml.replace("<name>s2</name>", "<name>s2</name><description>again</description>", 1),
                                                      S.VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE).getName())
    show("s2 xml after redefine", lambda: dom.snapshotLookupByName("s2").getXMLDesc())
    show("current after redefine", lambda: dom.snapshotCurrent().getName())
    show("redefine new current", lambda: dom.snapshotCreateXML(
        xml.replace("<name>s2</name>", "<name>r1</name>", 1),
        S.VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE | S.VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT).getName())
    show("current after redefine current", lambda: dom.snapshotCurrent().getName())
    show("redefine no name", lambda: dom.snapshotCreateXML("<domainsnapshot/>", S.VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE))
    show("redefine no state", lambda: dom.snapshotCreateXML(
        "<domainsnapshot><name>q</name><creationTime>5</creationTime></domainsnapshot>", S.VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE))
    show("redefine no domain", lambda: dom.snapshotCreateXML(
        "<domainsnapshot><name>q</name><creationTime>5</creationTime><state>shutoff</state></domainsnapshot>",
        S.VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE))
    show("redefine own parent", lambda: dom.snapshotCreateXML(
        "<domainsnapshot><name>q</name><parent><name>q</name></parent><creationTime>5</creationTime><state>shutoff</state></domainsnapshot>",
        S.VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE))
    show("redefine missing parent", lambda: dom.snapshotCreateXML(
        "<domainsnapshot><name>q</name><parent><name>zz</name></parent><creationTime>5</creationTime><state>shutoff</state></domainsnapshot>",
        S.VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE))
    show("redefine online change", lambda: dom.snapshotCreateXML(
        xml.replace("<state>running</state>", "<state>shutoff</state>", 1).replace("<memory snapshot='internal'/>", ""),
        S.VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE))
    show("redefine wrong uuid", lambda: dom.snapshotCreateXML(
        xml.replace("<name>s2</name>", "<name>w</name>", 1).replace("6695eb01", "6695eb02"),
        S.VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE))
    # delete
    show("delete metadata only", lambda: dom.snapshotLookupByName("s2").delete(S.VIR_DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY))
    show("delete s1 children only", lambda: dom.snapshotLookupByName("s1").delete(S.VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN_ONLY))
    show("after children only", lambda: sorted(norm(n) for n in dom.snapshotListNames()))
    show("current after children only", lambda: norm(dom.snapshotCurrent().getName()))
    show("delete s1", lambda: dom.snapshotLookupByName("s1").delete())
    show("after delete", lambda: sorted(norm(n) for n in dom.snapshotListNames()))
    show("has current", dom.hasCurrentSnapshot)
    show("checkpoint with snapshots", lambda: dom.checkpointCreateXML("<domaincheckpoint/>"))
    show("undefine with snapshots", dom.undefine)
    show("undefine snapshots metadata", dom.undefineFlags, S.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA)
    show("domains", lambda: sorted(d.name() for d in conn.listAllDomains()))


def checkpoints(dom):
    print("== checkpoints")
    show("list empty", lambda: names(dom.listAllCheckpoints()))
    show("create inactive", lambda: dom.checkpointCreateXML("<domaincheckpoint/>"))
    dom.create()
    flush_events("create")
    c1 = show("create c1", lambda: dom.checkpointCreateXML(
        "<domaincheckpoint><name>c1</name><description>d</description></domaincheckpoint>").getName())
    show("create c2", lambda: dom.checkpointCreateXML("<domaincheckpoint><name>c2</name></domaincheckpoint>").getName())
    show("create c3", lambda: dom.checkpointCreateXML(
        "<domaincheckpoint><name>c3</name><disks><disk name='vda' checkpoint='no'/></disks></domaincheckpoint>").getName())
    show("create unnamed", lambda: dom.checkpointCreateXML("<domaincheckpoint/>").getName())
    show("create dup", lambda: dom.checkpointCreateXML("<domaincheckpoint><name>c1</name></domaincheckpoint>"))
    show("create bad disk", lambda: dom.checkpointCreateXML(
        "<domaincheckpoint><name>x</name><disks><disk name='vdz'/></disks></domaincheckpoint>"))
    show("create bad flag", lambda: dom.checkpointCreateXML("<domaincheckpoint/>", 1 << 5))
    show("snapshot with checkpoint", lambda: dom.snapshotCreateXML("<domainsnapshot/>"))
    for label, fl in [("all", 0), ("roots", S.VIR_DOMAIN_CHECKPOINT_LIST_ROOTS),
                      ("leaves", S.VIR_DOMAIN_CHECKPOINT_LIST_LEAVES),
                      ("no leaves", S.VIR_DOMAIN_CHECKPOINT_LIST_NO_LEAVES),
                      ("bad", 1 << 8)]:
        show(f"list {label}", lambda: names(dom.listAllCheckpoints(fl)))
    c1 = dom.checkpointLookupByName("c1")
    show("lookup missing", dom.checkpointLookupByName, "nope")
    show("c1 xml", c1.getXMLDesc)
    show("c1 xml no domain", c1.getXMLDesc, S.VIR_DOMAIN_CHECKPOINT_XML_NO_DOMAIN)
    show("c1 xml size", c1.getXMLDesc, S.VIR_DOMAIN_CHECKPOINT_XML_SIZE | S.VIR_DOMAIN_CHECKPOINT_XML_NO_DOMAIN)
    show("c3 xml", lambda: dom.checkpointLookupByName("c3").getXMLDesc(S.VIR_DOMAIN_CHECKPOINT_XML_NO_DOMAIN))
    show("c1 parent", c1.getParent)
    show("c2 parent", lambda: dom.checkpointLookupByName("c2").getParent().getName())
    show("c1 children", lambda: names(c1.listAllChildren()))
    show("c1 descendants", lambda: names(c1.listAllChildren(S.VIR_DOMAIN_CHECKPOINT_LIST_DESCENDANTS)))
    xml = dom.checkpointLookupByName("c2").getXMLDesc()
    show("redefine c2", lambda: dom.checkpointCreateXML(xml, S.VIR_DOMAIN_CHECKPOINT_CREATE_REDEFINE).getName())
    show("redefine no name", lambda: dom.checkpointCreateXML("<domaincheckpoint/>", S.VIR_DOMAIN_CHECKPOINT_CREATE_REDEFINE))
    show("delete c2", lambda: dom.checkpointLookupByName("c2").delete())
    show("c3 parent after delete", lambda: dom.checkpointLookupByName("c3").getParent().getName())
    show("delete c1 children", lambda: dom.checkpointLookupByName("c1").delete(S.VIR_DOMAIN_CHECKPOINT_DELETE_CHILDREN))
    show("list after", lambda: names(dom.listAllCheckpoints()))
    show("domains with checkpoint", lambda: sorted(d.name() for d in conn.listAllDomains(S.VIR_CONNECT_LIST_DOMAINS_HAS_CHECKPOINT)))


def others(dom):
    print("== stats, scheduler, screenshot, host")
    shape = lambda v: [type(x).__name__ for x in v]
    show("memory stats", dom.memoryStats)
    show("block stats", lambda: shape(dom.blockStats("vda")))
    show("block stats by path", lambda: len(dom.blockStats("/guest/diskimage1")))
    show("block stats bad path", dom.blockStats, "vdz")
    show("block stats summary", dom.blockStats, "")
    show("block stats flags", dom.blockStatsFlags, "vda")
    show("interface stats", lambda: shape(dom.interfaceStats("testnet0")))
    show("interface stats by mac", lambda: len(dom.interfaceStats("aa:bb:cc:dd:ee:ff")))
    show("interface stats unknown", dom.interfaceStats, "eth9")
    show("interface stats unknown mac", dom.interfaceStats, "00:11:22:33:44:55")
    show("scheduler type", dom.schedulerType)
    show("scheduler params", dom.schedulerParameters)
    show("scheduler params flags", dom.schedulerParametersFlags, 0)
    show("set scheduler", dom.setSchedulerParameters, {"weight": 100})
    show("set scheduler flags", dom.setSchedulerParametersFlags, {"weight": 100}, 0)
    show("scheduler after set", dom.schedulerParameters)
    st = conn.newStream(0)
    mime = show("screenshot", dom.screenshot, st, 0)
    if mime is not None:
        data = bytearray()
        st.recvAll(lambda s, d, buf: buf.extend(d) or len(d), data)
        st.finish()
        import hashlib
        print("screenshot data:", len(data), hashlib.sha256(bytes(data)).hexdigest())
    show("screenshot bad flag", dom.screenshot, conn.newStream(0), 0, 1)
    for a in ["x86_64", "i686", "ppc64le", "aarch64", "s390x", "mips", "bogus", ""]:
        show(f"cpu models {a}", conn.getCPUModelNames, a)
    for t in ["logical", "netfs", "dir", "iscsi", "bogus"]:
        show(f"pool sources {t}", conn.findStoragePoolSources, t, None)
    show("pool sources netfs host", conn.findStoragePoolSources, "netfs", "<source><host name='nfs1'/></source>")
    show("pool sources bad spec", conn.findStoragePoolSources, "netfs", "<source>")
    dom.destroy()
    flush_events("destroy")
    show("memory stats inactive", dom.memoryStats)
    show("block stats inactive", dom.blockStats, "vda")
    show("interface stats inactive", dom.interfaceStats, "testnet0")


def pinning():
    print("== pinning and iothreads")
    dom = conn.createXML(
        "<domain type='test'><name>pin</name><uuid>11111111-2222-3333-4444-555555555556</uuid>"
        "<memory>1024</memory><vcpu cpuset='1-3' current='2'>4</vcpu><iothreads>3</iothreads>"
        "<iothreadids><iothread id='7'/></iothreadids>"
        "<cputune><vcpupin vcpu='3' cpuset='2'/><iothreadpin iothread='7' cpuset='5'/></cputune>"
        "<os><type>hvm</type></os><devices><disk type='file' device='disk'>"
        "<driver name='qemu' iothread='1'/><source file='/x'/><target dev='vda' bus='virtio'/></disk>"
        "</devices></domain>")
    show("node cpu map", conn.getCPUMap)
    show("xml", dom.XMLDesc)
    show("vcpus", lambda: dom.vcpus()[1])
    show("vcpus cpu", lambda: [v[3] for v in dom.vcpus()[0]])
    show("pin info", dom.vcpuPinInfo, 0)
    show("pin info both", dom.vcpuPinInfo, S.VIR_DOMAIN_AFFECT_LIVE | S.VIR_DOMAIN_AFFECT_CONFIG)
    show("pin 0", dom.pinVcpu, 0, (True, False, True))
    show("pin 1 empty", dom.pinVcpu, 1, (False,))
    show("pin 3 offline", dom.pinVcpu, 3, (True,))
    show("pin flags live", dom.pinVcpuFlags, 0, (True,), S.VIR_DOMAIN_AFFECT_LIVE)
    show("vcpus after pin", lambda: dom.vcpus()[1])
    show("vcpus cpu after pin", lambda: [v[3] for v in dom.vcpus()[0]])
    show("pin info after pin", dom.vcpuPinInfo, 0)
    show("emulator pin", dom.emulatorPinInfo)
    show("pin emulator", dom.pinEmulator, (False, True, True), 0)
    show("pin emulator empty", dom.pinEmulator, (False, False), 0)
    show("emulator pin after", dom.emulatorPinInfo)
    show("iothreads", dom.ioThreadInfo)
    show("add iothread 3", dom.addIOThread, 3, 0)
    show("add iothread 3 again", dom.addIOThread, 3, 0)
    show("add iothread 0", dom.addIOThread, 0, 0)
    show("add iothread config", dom.addIOThread, 4, S.VIR_DOMAIN_AFFECT_CONFIG)
    show("pin iothread 3", dom.pinIOThread, 3, (True, True), 0)
    show("pin iothread 9", dom.pinIOThread, 9, (True,), 0)
    show("pin iothread empty", dom.pinIOThread, 3, (False,), 0)
    show("set iothread 3", dom.setIOThreadParams, 3, {"poll_max_ns": 100, "poll_grow": 2, "poll_shrink": 3}, 0)
    show("set iothread 9", dom.setIOThreadParams, 9, {"poll_max_ns": 100}, 0)
    show("set iothread bad key", dom.setIOThreadParams, 3, {"bogus": 1}, 0)
    show("iothread stats", lambda: conn.domainListGetStats([dom], S.VIR_DOMAIN_STATS_IOTHREAD)[0][1])
    show("iothreads after", dom.ioThreadInfo)
    show("del iothread 1 (disk)", dom.delIOThread, 1, 0)
    show("del iothread 7", dom.delIOThread, 7, 0)
    show("del iothread 7 again", dom.delIOThread, 7, 0)
    show("xml after", dom.XMLDesc)
    dom.destroy()
    tdom = conn.lookupByName("test")
    show("test add iothread", tdom.addIOThread, 2, 0)
    show("test iothread stats", lambda: conn.domainListGetStats([tdom], S.VIR_DOMAIN_STATS_IOTHREAD)[0][1])
    show("test del iothread", tdom.delIOThread, 2, 0)
    tdom.destroy()
    show("inactive vcpus", tdom.vcpus)
    show("inactive pin", tdom.pinVcpu, 0, (True,))
    show("inactive pin info live", tdom.vcpuPinInfo, S.VIR_DOMAIN_AFFECT_LIVE)
    show("inactive pin emulator", tdom.pinEmulator, (True,), 0)
    show("inactive emulator pin", tdom.emulatorPinInfo)
    show("inactive add iothread live", tdom.addIOThread, 6, S.VIR_DOMAIN_AFFECT_LIVE)
    show("inactive add iothread", tdom.addIOThread, 6, 0)
    show("inactive xml", tdom.XMLDesc)
    show("inactive del iothread", tdom.delIOThread, 6, 0)
    tdom.create()
    flush_events("pinning")


def metadata():
    print("== metadata")
    dom = conn.lookupByName("test")
    M = S.VIR_DOMAIN_METADATA_ELEMENT
    show("set", dom.setMetadata, M, "<app1 foo='bar'><x>1</x></app1>", "app", "http://app.org/", 0)
    show("get", dom.metadata, M, "http://app.org/", 0)
    show("get config", dom.metadata, M, "http://app.org/", S.VIR_DOMAIN_AFFECT_CONFIG)
    show("set own ns", dom.setMetadata, M, "<o:thing xmlns:o='http://o/'>t</o:thing>", "oth", "http://o2/", 0)
    show("get own ns by key uri", dom.metadata, M, "http://o2/", 0)
    show("get own ns", dom.metadata, M, "http://o/", 0)
    show("set nested", dom.setMetadata, M,
         "<r xmlns:p='http://p/'><p:c><d/></p:c><e xmlns='http://def/'><f/></e></r>", "n", "http://n/", 0)
    show("get nested", dom.metadata, M, "http://n/", 0)
    show("set config", dom.setMetadata, M, "<b/>", "bb", "http://b/", S.VIR_DOMAIN_AFFECT_CONFIG)
    show("get config only", dom.metadata, M, "http://b/", S.VIR_DOMAIN_AFFECT_CONFIG)
    show("get config only live", dom.metadata, M, "http://b/", S.VIR_DOMAIN_AFFECT_LIVE)
    show("set bad key", dom.setMetadata, M, "<a/>", "1x", "http://k/", 0)
    show("set key clash", dom.setMetadata, M, "<a xmlns:kk='http://other/'/>", "kk", "http://k/", 0)
    show("set no key", dom.setMetadata, M, "<a/>", None, "http://a/", 0)
    show("set bad type", dom.setMetadata, 7, "<a/>", "a", "http://a/", 0)
    show("set title", dom.setMetadata, S.VIR_DOMAIN_METADATA_TITLE, "T1", None, None, 0)
    show("set title newline", dom.setMetadata, S.VIR_DOMAIN_METADATA_TITLE, "T1\nx", None, None, 0)
    show("set description both", dom.setMetadata, S.VIR_DOMAIN_METADATA_DESCRIPTION, "D <&>", None, None,
         S.VIR_DOMAIN_AFFECT_LIVE | S.VIR_DOMAIN_AFFECT_CONFIG)
    show("get title", dom.metadata, S.VIR_DOMAIN_METADATA_TITLE, None, 0)
    show("get description config", dom.metadata, S.VIR_DOMAIN_METADATA_DESCRIPTION, None, S.VIR_DOMAIN_AFFECT_CONFIG)
    show("xml", dom.XMLDesc)
    show("xml inactive", dom.XMLDesc, S.VIR_DOMAIN_XML_INACTIVE)
    show("remove", dom.setMetadata, M, None, None, "http://app.org/", 0)
    show("remove title", dom.setMetadata, S.VIR_DOMAIN_METADATA_TITLE, "", None, None, 0)
    show("get removed", dom.metadata, M, "http://app.org/", 0)
    d2 = conn.defineXML(
        "<domain type='test'><name>m</name><uuid>11111111-2222-3333-4444-555555555557</uuid>"
        "<memory>1024</memory><os><type>hvm</type></os><metadata><foo:x xmlns:foo='http://f/' a='1'>"
        "<foo:y/></foo:x><bar xmlns='http://bar/'/><plain/></metadata></domain>")
    show("defined xml", d2.XMLDesc)
    show("defined get", d2.metadata, M, "http://f/", 0)
    show("defined get default ns", d2.metadata, M, "http://bar/", 0)
    show("set live inactive", d2.setMetadata, M, "<z/>", "q", "http://q/", S.VIR_DOMAIN_AFFECT_LIVE)
    d2.undefine()
    dom.destroy()
    dom.create()
    show("xml after restart", dom.XMLDesc)
    flush_events("metadata")


def guest():
    print("== hostname, time, block info")
    dom = conn.lookupByName("test")
    show("hostname", dom.hostname)
    show("hostname bad flag", dom.hostname, 1)
    show("time", dom.getTime)
    show("set time", dom.setTime, {"seconds": 1234, "nseconds": 5})
    show("time after set", dom.getTime)
    show("set time sync", dom.setTime, None, S.VIR_DOMAIN_TIME_SYNC)
    show("set time bad flag", dom.setTime, {"seconds": 1}, 2)
    show("block info", dom.blockInfo, "vda")
    show("block info by path", dom.blockInfo, "/guest/diskimage1")
    show("block info unknown", dom.blockInfo, "vdz")
    show("block info bad flag", dom.blockInfo, "vda", 1)
    dom.suspend()
    show("time paused", dom.getTime)
    show("hostname paused", dom.hostname)
    dom.resume()
    d2 = conn.defineXML(
        "<domain type='test'><name>bi</name><uuid>11111111-2222-3333-4444-555555555508</uuid>"
        "<memory>1024</memory><os><type>hvm</type></os><devices><disk type='file' device='cdrom'>"
        "<target dev='hdc'/><readonly/></disk></devices></domain>")
    show("block info no source", d2.blockInfo, "hdc")
    show("hostname inactive", d2.hostname)
    show("time inactive", d2.getTime)
    show("set time inactive", d2.setTime, {"seconds": 1})
    d2.undefine()
    dom.destroy()
    dom.create()
    show("time after restart", dom.getTime)
    flush_events("guest")


def usage():
    print("== cpu stats, free pages, interface addresses")
    dom = conn.lookupByName("test")
    for src in range(4):
        show(f"ifaddr source {src}", dom.interfaceAddresses, src)
    show("ifaddr flags", dom.interfaceAddresses, 0, 1)
    show("cpu stats total", dom.getCPUStats, True)
    show("cpu stats percpu", dom.getCPUStats, False)
    show("cpu stats flags", dom.getCPUStats, True, 1)
    for cpu in [-1, 0, 7, -2]:
        show(f"node cpu stats {cpu}", conn.getCPUStats, cpu)
    show("node cpu stats flags", conn.getCPUStats, 0, 1)
    show("node memory stats", conn.getMemoryStats, -1)
    show("free pages", conn.getFreePages, [4, 2048], 0, 2)
    show("free pages flags", conn.getFreePages, [4], 0, 1, 1)
    nets = (
        "<interface type='network'><mac address='52:54:00:11:22:3'/><source network='default'/>"
        "<target dev='vn0'/></interface>"
        "<interface type='bridge'><mac address='52:54:00:11:22:34'/><source bridge='br0'/></interface>"
        "<interface type='network'><mac address='52:54:00:11:22:35'/><source network='default'/></interface>"
        "<interface type='user'><mac address='52:54:00:11:22:36'/></interface>")
    bad = "<interface type='network'><mac address='52:54:00:11:22:37'/><source network='nosuch'/></interface>"
    for name, n, extra in [("ia", 9, bad), ("ia2", 10, "")]:
        x = conn.createXML(
            f"<domain type='test'><name>{name}</name><uuid>11111111-2222-3333-4444-5555555555{n:02}</uuid>"
            f"<memory>1024</memory><os><type>hvm</type></os><devices>{nets}{extra}</devices></domain>")
        show(f"ifaddr {name}", lambda: sorted(x.interfaceAddresses(0).items()))
        show(f"cpu stats {name}", x.getCPUStats, False)
        x.destroy()
    dom.destroy()
    show("ifaddr inactive", dom.interfaceAddresses, 0)
    show("cpu stats inactive", dom.getCPUStats, True)
    dom.create()
    flush_events("usage")


def tuning():
    print("== numa, blkio, interface and block I/O tuning")
    dom = conn.lookupByName("test")
    L, C = S.VIR_DOMAIN_AFFECT_LIVE, S.VIR_DOMAIN_AFFECT_CONFIG

    def part(tags, flags=0):
        x = dom.XMLDesc(flags)
        return "".join(m for t in tags for m in re.findall(r"  <%s>.*?</%s>\n" % (t, t), x, re.S))

    def net_xml():
        return re.findall(r"<interface.*?</interface>", dom.XMLDesc(0), re.S)

    def disk_xml(flags=0):
        return re.findall(r"<disk.*?</disk>", dom.XMLDesc(flags), re.S)

    show("numa", dom.numaParameters, 0)
    show("set numa mode without nodeset", dom.setNumaParameters, {"numa_mode": 1}, 0)
    show("set numa", dom.setNumaParameters, {"numa_mode": 1, "numa_nodeset": "0-1"}, 0)
    show("set numa other mode live", dom.setNumaParameters, {"numa_mode": 2}, L)
    show("set numa same mode", dom.setNumaParameters, {"numa_mode": 1}, L)
    show("set numa nodeset", dom.setNumaParameters, {"numa_nodeset": "1,3-4,^3"}, 0)
    show("set numa config", dom.setNumaParameters, {"numa_mode": 3, "numa_nodeset": "0"}, C)
    show("numa live", dom.numaParameters, L)
    show("numa config", dom.numaParameters, C)
    for bad in [{"numa_mode": 7}, {"numa_mode": -1}, {"numa_nodeset": ""}, {"numa_nodeset": "x"},
                {"numa_nodeset": "^1"}, {"numa_nodeset": "2000"}]:
        show(f"set numa bad {bad}", dom.setNumaParameters, bad, 0)
    show("set numa both", dom.setNumaParameters, {"numa_mode": 1}, L | C)
    show("set numa flag", dom.setNumaParameters, {"numa_mode": 1}, 4)
    show("xml numa", part, ["numatune"])
    show("xml numa inactive", part, ["numatune"], S.VIR_DOMAIN_XML_INACTIVE)
    show("blkio", dom.blkioParameters, 0)
    show("set blkio", dom.setBlkioParameters, {"weight": 5}, 0)
    show("set blkio devices", dom.setBlkioParameters,
         {"device_weight": "/dev/sda,100", "device_read_iops_sec": "/dev/sda,20,/dev/sdb,30",
          "device_write_bytes_sec": "/dev/sdc,99999999999"}, 0)
    for bad in ["/dev/sda", "/dev/sda,x", "/dev/sda,1,", "/dev/sda,1x,/dev/sdb,2", "/dev/sda,-1",
                "/dev/sda,4294967296", "a,b,c"]:
        show(f"set blkio bad {bad}", dom.setBlkioParameters, {"device_weight": bad, "weight": 7}, 0)
    show("blkio after", dom.blkioParameters, 0)
    show("xml blkio", part, ["blkiotune"])
    show("set blkio zero", dom.setBlkioParameters, {"device_weight": "/dev/sda,0", "weight": 0}, 0)
    show("blkio after zero", dom.blkioParameters, 0)
    show("set blkio config", dom.setBlkioParameters, {"weight": 300}, C)
    show("blkio config", dom.blkioParameters, C)
    show("xml blkio inactive", part, ["blkiotune"], S.VIR_DOMAIN_XML_INACTIVE)
    show("ifparams", dom.interfaceParameters, "testnet0", 0)
    show("ifparams mac", dom.interfaceParameters, "AA:BB:CC:DD:EE:FF", 0)
    show("ifparams unknown", dom.interfaceParameters, "vnet9", 0)
    show("ifparams unknown mac", dom.interfaceParameters, "00:11:22:33:44:55", 0)
    show("set ifparams nothing", dom.setInterfaceParameters, "testnet0", {"inbound.average": 0}, 0)
    show("xml if nothing", net_xml)
    show("set ifparams", dom.setInterfaceParameters, "testnet0",
         {"inbound.average": 100, "inbound.burst": 5, "outbound.average": 50, "outbound.peak": 60}, 0)
    show("ifparams after", dom.interfaceParameters, "testnet0", 0)
    show("xml if", net_xml)
    show("set ifparams peak only", dom.setInterfaceParameters, "testnet0", {"outbound.peak": 9}, 0)
    show("set ifparams clear in", dom.setInterfaceParameters, "testnet0", {"inbound.average": 0}, 0)
    show("set ifparams floor", dom.setInterfaceParameters, "testnet0", {"inbound.floor": 7}, 0)
    show("xml if after", net_xml)
    show("set ifparams clear out", dom.setInterfaceParameters, "testnet0", {"outbound.average": 0}, 0)
    show("set ifparams clear in again", dom.setInterfaceParameters, "testnet0", {"inbound.floor": 0}, 0)
    show("xml if cleared", net_xml)
    show("set ifparams unknown", dom.setInterfaceParameters, "eth7", {"inbound.average": 7}, 0)
    show("set ifparams config", dom.setInterfaceParameters, "testnet0", {"outbound.average": 3}, C)
    show("ifparams config", dom.interfaceParameters, "testnet0", C)
    show("iotune", dom.blockIoTune, "vda", 0)
    show("iotune by path", dom.blockIoTune, "/guest/diskimage1", 0)
    show("iotune unknown", dom.blockIoTune, "vdz", 0)
    show("set iotune without max", dom.setBlockIoTune, "vda", {"total_bytes_sec": 1000}, 0)
    show("set iotune", dom.setBlockIoTune, "vda",
         {"total_bytes_sec": 1000, "total_bytes_sec_max": 2000, "read_iops_sec": 10, "group_name": "g1",
          "read_iops_sec_max": 20, "size_iops_sec": 3, "write_iops_sec_max_length": 4}, 0)
    show("iotune after", dom.blockIoTune, "vda", 0)
    show("xml disk", disk_xml)
    show("set iotune total and read", dom.setBlockIoTune, "vda",
         {"read_bytes_sec": 5, "read_bytes_sec_max": 5}, 0)
    show("set iotune total and read iops", dom.setBlockIoTune, "vda",
         {"total_iops_sec": 5, "total_iops_sec_max": 5}, 0)
    show("set iotune total and read max", dom.setBlockIoTune, "vda",
         {"write_bytes_sec_max": 5}, 0)
    show("set iotune above max", dom.setBlockIoTune, "vda", {"read_iops_sec": 50}, 0)
    show("set iotune too large", dom.setBlockIoTune, "vda", {"total_bytes_sec": 10 ** 16}, 0)
    show("set iotune unknown", dom.setBlockIoTune, "vdz", {"total_bytes_sec": 1}, 0)
    show("set iotune clear", dom.setBlockIoTune, "vda",
         {"total_bytes_sec": 0, "total_bytes_sec_max": 0, "read_iops_sec": 0, "read_iops_sec_max": 0, "size_iops_sec": 0,
          "write_iops_sec_max_length": 0}, 0)
    show("xml disk cleared", disk_xml)
    show("set iotune config", dom.setBlockIoTune, "vda", {"write_bytes_sec": 8, "write_bytes_sec_max": 9}, C)
    show("iotune config", dom.blockIoTune, "vda", C)
    show("xml disk inactive", disk_xml, S.VIR_DOMAIN_XML_INACTIVE)
    dom.destroy()
    show("numa inactive live", dom.numaParameters, L)
    show("numa inactive", dom.numaParameters, 0)
    show("set numa inactive placement", dom.setNumaParameters, {"numa_mode": 2}, 0)
    show("blkio inactive", dom.blkioParameters, 0)
    show("iotune inactive", dom.blockIoTune, "vda", 0)
    show("ifparams inactive", dom.interfaceParameters, "testnet0", 0)
    dom.create()
    t = conn.createXML(
        "<domain type='test'><name>tun</name><uuid>11111111-2222-3333-4444-555555555511</uuid>"
        "<memory>1024</memory><os><type>hvm</type></os><devices>"
        "<interface type='network'><mac address='52:54:00:11:22:40'/><source network='default'/></interface>"
        "<interface type='network'><mac address='52:54:00:11:22:40'/><source network='default'/></interface>"
        "</devices></domain>")
    show("transient config", t.setBlkioParameters, {"weight": 9}, C)
    show("duplicate mac", t.interfaceParameters, "52:54:00:11:22:40", 0)
    show("duplicate mac set", t.setInterfaceParameters, "52:54:00:11:22:40", {"inbound.average": 1}, 0)
    show("duplicate mac xml", lambda: re.findall(r"<bandwidth>.*?</bandwidth>", t.XMLDesc(0), re.S))
    t.destroy()
    flush_events("tuning")


def guest_ops():
    print("== nmi, signals, lifecycle actions, filesystems, memory peek")
    dom = conn.lookupByName("test")
    L, C = S.VIR_DOMAIN_AFFECT_LIVE, S.VIR_DOMAIN_AFFECT_CONFIG
    show("nmi", dom.injectNMI)
    show("nmi flags", dom.injectNMI, 1)
    show("send-key linux", dom.sendKey, 0, 50, [29, 56, 111], 3, 0)
    show("send-key usb", dom.sendKey, 7, 0, [4, 5], 2, 0)
    show("send-key flags", dom.sendKey, 0, 0, [30], 1, 1)
    show("signal", dom.sendProcessSignal, 1, 9)
    show("signal pid 2", dom.sendProcessSignal, 2, 9)
    show("signal 64", dom.sendProcessSignal, 1, 64)
    show("signal 65", dom.sendProcessSignal, 1, 65)
    show("signal flags", dom.sendProcessSignal, 1, 9, 1)
    for t, a, f in [(0, 3, 0), (1, 2, L), (2, 4, C), (2, 5, 0), (0, 4, 0), (1, 5, 0), (3, 0, 0), (0, 6, 0),
                    (0, 0, L | C), (0, 0, 4)]:
        show(f"lifecycle {t} {a} {f}", dom.setLifecycleAction, t, a, f)
    show("lifecycle xml", lambda: re.findall(r"  <on_\w+>\S+</on_\w+>", dom.XMLDesc(0)))
    show("lifecycle xml inactive", lambda: re.findall(r"  <on_\w+>\S+</on_\w+>", dom.XMLDesc(2)))
    show("fsinfo", lambda: dom.fsInfo())
    show("fsinfo flags", dom.fsInfo, 1)
    show("freeze /", dom.fsFreeze, ["/"])
    show("freeze / again", dom.fsFreeze, ["/"])
    show("freeze all", dom.fsFreeze)
    show("freeze bad", dom.fsFreeze, ["/boot", "/home"])
    show("thaw /boot /", dom.fsThaw, ["/boot", "/"])
    show("freeze / /", dom.fsFreeze, ["/", "/"])
    show("thaw all", dom.fsThaw)
    show("thaw all again", dom.fsThaw)
    show("thaw bad", dom.fsThaw, ["/x"])
    show("freeze flags", dom.fsFreeze, None, 1)
    show("trim", dom.fSTrim, None, 0)
    show("trim /boot", dom.fSTrim, "/boot", 1024)
    show("trim bad", dom.fSTrim, "/var", 0)
    show("trim flags", dom.fSTrim, None, 0, 1)
    show("peek virtual", dom.memoryPeek, 250, 10, S.VIR_MEMORY_VIRTUAL)
    show("peek physical", dom.memoryPeek, 0x1234, 4, S.VIR_MEMORY_PHYSICAL)
    show("peek none", dom.memoryPeek, 0, 4, 0)
    show("peek both", dom.memoryPeek, 0, 4, 3)
    show("peek bad flag", dom.memoryPeek, 0, 4, 4)
    show("peek empty", dom.memoryPeek, 0, 0, 1)
    d2 = conn.defineXML(
        "<domain type='test'><name>fs</name><uuid>11111111-2222-3333-4444-555555555512</uuid>"
        "<memory>1024</memory><os><type>hvm</type></os><devices><disk type='file' device='cdrom'>"
        "<target dev='hdc'/><readonly/></disk><disk type='file' device='disk'><source file='/d'/>"
        "<target dev='sdb'/></disk></devices></domain>")
    show("inactive nmi", d2.injectNMI)
    show("inactive send-key", d2.sendKey, 0, 0, [30], 1, 0)
    show("inactive signal", d2.sendProcessSignal, 1, 0)
    show("inactive freeze", d2.fsFreeze)
    show("inactive trim", d2.fSTrim, None, 0)
    show("inactive fsinfo", d2.fsInfo)
    show("inactive peek", d2.memoryPeek, 0, 4, 1)
    show("inactive lifecycle live", d2.setLifecycleAction, 0, 1, L)
    show("inactive lifecycle", d2.setLifecycleAction, 0, 1, 0)
    d2.create()
    show("fsinfo second disk", d2.fsInfo)
    show("lifecycle after start", lambda: re.findall(r"  <on_\w+>\S+</on_\w+>", d2.XMLDesc(0)))
    d2.destroy()
    d2.undefine()
    show("freeze before restart", dom.fsFreeze, ["/boot"])
    dom.destroy()
    dom.create()
    show("frozen after restart", dom.fsThaw)
    flush_events("guest ops")


def perf_period_transactions():
    print("== perf events, balloon period, interface transactions")
    dom = conn.lookupByName("test")
    L, C = S.VIR_DOMAIN_AFFECT_LIVE, S.VIR_DOMAIN_AFFECT_CONFIG
    show("perf", dom.perfEvents)
    show("set perf", dom.setPerfEvents, {"cmt": True, "cpu_cycles": False, "emulation_faults": True})
    show("set perf config", dom.setPerfEvents, {"mbml": True}, C)
    show("set perf flags", dom.setPerfEvents, {"mbml": True}, 4)
    show("perf live", lambda: sorted(k for k, v in dom.perfEvents(L).items() if v))
    show("perf config", lambda: sorted(k for k, v in dom.perfEvents(C).items() if v))
    show("perf flags", dom.perfEvents, 1)
    show("perf xml", lambda: re.findall(r"  <perf>.*?</perf>\n", dom.XMLDesc(0), re.S))
    show("perf xml inactive", lambda: re.findall(r"  <perf>.*?</perf>\n", dom.XMLDesc(2), re.S))
    show("set perf none", dom.setPerfEvents, {"cmt": False, "emulation_faults": False, "cpu_cycles": False})
    show("perf xml none", lambda: re.findall(r"  <perf>.*?</perf>\n", dom.XMLDesc(0), re.S))
    show("period", dom.setMemoryStatsPeriod, 10)
    show("period config", dom.setMemoryStatsPeriod, 5, C)
    show("period flags", dom.setMemoryStatsPeriod, 5, 4)
    show("period xml", lambda: re.findall(r"<memballoon.*?</memballoon>", dom.XMLDesc(0), re.S))
    show("period xml inactive", lambda: re.findall(r"<memballoon.*?</memballoon>", dom.XMLDesc(2), re.S))
    show("period zero", dom.setMemoryStatsPeriod, 0)
    show("period xml zero", lambda: re.findall(r"<memballoon.*?</memballoon>", dom.XMLDesc(0), re.S))
    d2 = conn.defineXML(
        "<domain type='test'><name>nb</name><uuid>11111111-2222-3333-4444-555555555513</uuid>"
        "<memory>1024</memory><os><type>hvm</type></os><devices><memballoon model='none'/></devices></domain>")
    show("period no balloon", d2.setMemoryStatsPeriod, 3)
    show("period inactive live", d2.setMemoryStatsPeriod, 3, L)
    show("perf inactive", lambda: sum(d2.perfEvents().values()))
    show("perf inactive live", d2.perfEvents, L)
    d2.undefine()
    show("commit none", conn.changeCommit)
    show("rollback none", conn.changeRollback)
    show("begin", conn.changeBegin)
    show("begin again", conn.changeBegin)
    show("begin flags", conn.changeBegin, 1)
    ifxml = "<interface type='ethernet' name='eth9'><start mode='onboot'/><mac address='aa:bb:cc:dd:ee:09'/></interface>"
    conn.interfaceDefineXML(ifxml)
    conn.interfaceLookupByName("eth1").undefine()
    show("ifaces in transaction", lambda: sorted(conn.listInterfaces() + conn.listDefinedInterfaces()))
    show("rollback", conn.changeRollback)
    show("ifaces after rollback", lambda: sorted(conn.listInterfaces() + conn.listDefinedInterfaces()))
    show("eth1 active after rollback", lambda: conn.interfaceLookupByName("eth1").isActive())
    show("begin 2", conn.changeBegin)
    conn.interfaceDefineXML(ifxml)
    show("commit flags", conn.changeCommit, 1)
    show("commit", conn.changeCommit)
    show("ifaces after commit", lambda: sorted(conn.listInterfaces() + conn.listDefinedInterfaces()))
    show("rollback after commit", conn.changeRollback)
    conn.interfaceLookupByName("eth9").undefine()


def images():
    print("== core dumps and save images")
    import os
    dom = conn.lookupByName("test")
    core = "/tmp/testdrv-api-core.img"
    image = "/tmp/testdrv-api-save.img"
    for f in (core, image):
        if os.path.exists(f):
            os.unlink(f)
    show("core dump", dom.coreDump, core, 0)
    show("core file", lambda: (open(core, "rb").read(), oct(os.stat(core).st_mode & 0o777)))
    show("core dump kdump", dom.coreDumpWithFormat, core, S.VIR_DOMAIN_CORE_DUMP_FORMAT_KDUMP_ZLIB, 0)
    show("core dump bad format", dom.coreDumpWithFormat, core, 99, 0)
    show("core dump flags", dom.coreDump, core, S.VIR_DUMP_LIVE)
    show("core dump bad dir", dom.coreDump, "/nonexistent/dir/core", 0)
    show("state after dumps", dom.state)
    show("image xml missing", conn.saveImageGetXMLDesc, image, 0)
    show("image xml of core", conn.saveImageGetXMLDesc, core, 0)
    dom.save(image)
    show("image xml", conn.saveImageGetXMLDesc, image, 0)
    show("image xml secure", conn.saveImageGetXMLDesc, image, S.VIR_DOMAIN_SAVE_IMAGE_XML_SECURE)
    show("image xml flags", conn.saveImageGetXMLDesc, image, 2)
    new = ("<domain type='test'><name>test</name><uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid>"
           "<description>redefined</description><memory>2048</memory><os><type>hvm</type></os></domain>")
    show("image define", conn.saveImageDefineXML, image, new, S.VIR_DOMAIN_SAVE_PAUSED)
    show("image define flags", conn.saveImageDefineXML, image, new, 1)
    show("image define bad xml", conn.saveImageDefineXML, image, "<domain", 0)
    show("image define missing", conn.saveImageDefineXML, "/tmp/testdrv-api-none.img", new, 0)
    show("image xml after define", conn.saveImageGetXMLDesc, image, 0)
    show("restore", conn.restore, image)
    show("restored xml", lambda: conn.lookupByName("test").XMLDesc(0))
    dom = conn.lookupByName("test")
    show("core dump crash", dom.coreDump, core, S.VIR_DUMP_CRASH)
    show("state after crash", dom.state)
    show("core dump inactive", dom.coreDump, core, 0)
    dom.create()
    flush_events("images")
    for f in (core, image):
        os.unlink(f)


def cpus():
    print("== CPU baseline (libvirt's x86 CPU map), compare")

    def cpu(model, vendor="", feats=(), arch="x86_64"):
        v = f"<vendor>{vendor}</vendor>" if vendor else ""
        a = f"<arch>{arch}</arch>" if arch else ""
        f = "".join(f"<feature name='{x}'/>" for x in feats)
        return f"<cpu>{a}<model>{model}</model>{v}{f}</cpu>"
    cases = [
        ("one", [cpu("Haswell-noTSX", "Intel", ["vmx"])]),
        ("two", [cpu("Haswell-noTSX", "Intel"), cpu("Broadwell-noTSX", "Intel")]),
        ("amd", [cpu("EPYC-Rome", "AMD"), cpu("EPYC", "AMD", ["vmx"])]),
        ("no vendor", [cpu("Skylake-Client-IBRS"), cpu("Haswell"), cpu("Westmere")]),
        ("mixed vendors", [cpu("Nehalem", "Intel"), cpu("Opteron_G3", "AMD")]),
        ("no arch", [cpu("Westmere", arch="")]),
        ("unknown model", [cpu("Nosuch")]),
        ("unknown feature", [cpu("Haswell", feats=["bogus"])]),
    ]
    for label, xmls in cases:
        show(f"baseline {label}", conn.baselineCPU, xmls, 0)
        show(f"baseline {label} expanded", conn.baselineCPU, xmls, 1)
    show("baseline bad flags", conn.baselineCPU, [cpu("Nehalem")], 2)
    show("compare", conn.compareCPU, cpu("Nehalem"), 0)


def main():
    pump()
    cpus()
    images()
    perf_period_transactions()
    usage()
    tuning()
    guest_ops()
    pinning()
    metadata()
    guest()
    dom = conn.lookupByName("test")
    others(dom)
    dom.create()
    flush_events("create")
    snapshots(dom)
    dom2 = conn.defineXML(
        "<domain type='test'><name>cp</name><uuid>11111111-2222-3333-4444-555555555555</uuid>"
        "<memory>1024</memory><os><type>hvm</type></os><devices>"
        "<disk type='file' device='disk'><source file='/tmp/cp.img'/><target dev='vda'/></disk>"
        "<disk type='file' device='cdrom'><target dev='hdc'/><readonly/></disk>"
        "</devices></domain>")
    checkpoints(dom2)


if __name__ == "__main__":
    main()

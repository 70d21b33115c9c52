#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Measure one libvirt daemon through libvirt-python; print one JSON object.

    /usr/bin/python3 benches/bench.py --uri 'test+unix:///default?socket=SOCK' --pid PID \
        [--lxc-uri 'lxc+unix:///system?socket=SOCK' --lxc-rootfs DIR] [--quick]

The same command pointed at another daemon measures it the same way, so the
client-side cost (libvirt's C client library under Python) is identical for
both daemons. Progress goes to stderr.

Sections (timed parts are repeated; min/median/max reported):
  cheap    getLibVersion and lookupByName on one connection: calls/s, daemon
           CPU per call (utime+stime from /proc/PID/stat), client CPU per call
  conc     8 and 100 client processes, one connection each, getLibVersion:
           aggregate calls/s, p50/p99 latency of single calls
  defundef defineXML then undefine of 1,000 domains
  list     listAllDomains with 1,000 and 10,000 domains defined
  rss      daemon VmRSS idle, with 10,000 domains, after undefining them
  lxc      (with --lxc-uri) container create -> RUNNING, destroy -> SHUTOFF
  virsh    a fixed sequence of virsh commands, each a new process, timed
           end to end
  storage  (with --storage-uri and --storage-dir) a transient dir pool:
           creating a 64 MiB raw volume (preallocated) and a 64 MiB qcow2
           volume (qemu-img), deleting them, and a 64 MiB upload and
           download through a stream (bytes checked)

test:///default keeps its state only while a connection is open: the main
connection stays open for the whole run. Every domain this script defines is
named bench-<pid>-... and is undefined before it exits.
"""
import argparse
import json
import multiprocessing as mp
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from xml.sax.saxutils import escape

import libvirt

libvirt.registerErrorHandler(lambda _ctx, _err: None, None)


def say(*parts):
    print(*parts, file=sys.stderr, flush=True)


def summary(values):
    return {"min": min(values), "median": statistics.median(values),
            "max": max(values), "n": len(values)}


def proc_rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (OSError, TypeError):
        pass
    return None


def proc_cpu_s(pid):
    """utime + stime of every thread of pid, in seconds."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            rest = f.read().rsplit(")", 1)[1].split()
    except (OSError, TypeError):
        return None
    return (int(rest[11]) + int(rest[12])) / os.sysconf("SC_CLK_TCK")


def test_domain_xml(name):
    return (f"<domain type='test'><name>{name}</name>"
            "<memory unit='MiB'>128</memory><vcpu>1</vcpu>"
            "<os><type arch='x86_64'>hvm</type></os></domain>")


def container_xml(name, rootfs, init_cmd, mib=64):
    return (f"<domain type='lxc'><name>{name}</name>"
            f"<memory unit='MiB'>{mib}</memory>"
            "<os><type>exe</type><init>/bin/sh</init>"
            f"<initarg>-c</initarg><initarg>{escape(init_cmd)}</initarg></os>"
            "<devices>"
            f"<filesystem type='mount'><source dir='{escape(rootfs)}'/><target dir='/'/></filesystem>"
            "<console type='pty'/></devices></domain>")


def cheap_rpc(conn, pid, reps, calls, lookup_name):
    out = {}
    cases = (("getLibVersion", conn.getLibVersion),
             ("lookupByName", lambda: conn.lookupByName(lookup_name)))
    for label, fn in cases:
        rates, daemon_us, client_us = [], [], []
        for _ in range(reps):
            d0, c0, t0 = proc_cpu_s(pid), time.process_time(), time.perf_counter()
            for _ in range(calls):
                fn()
            t1, c1, d1 = time.perf_counter(), time.process_time(), proc_cpu_s(pid)
            rates.append(calls / (t1 - t0))
            client_us.append((c1 - c0) / calls * 1e6)
            if d0 is not None and d1 is not None:
                daemon_us.append((d1 - d0) / calls * 1e6)
        out[label] = {
            "calls": calls,
            "calls_per_s": summary([round(r) for r in rates]),
            "daemon_cpu_us_per_call": round(statistics.median(daemon_us), 2) if daemon_us else None,
            "client_cpu_us_per_call": round(statistics.median(client_us), 2),
        }
        say(f"cheap {label}: {statistics.median(rates):.0f} calls/s, "
            f"daemon {out[label]['daemon_cpu_us_per_call']} us/call")
    return out


def _conc_worker(uri, calls, barrier, results):
    conn = libvirt.open(uri)
    conn.getLibVersion()
    barrier.wait()
    lat = []
    clock = time.perf_counter
    t0 = clock()
    for _ in range(calls):
        a = clock()
        conn.getLibVersion()
        lat.append(clock() - a)
    t1 = clock()
    conn.close()
    results.put((t0, t1, lat))


def percentile(sorted_values, p):
    if not sorted_values:
        return None
    k = min(len(sorted_values) - 1, max(0, int(round(p / 100.0 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[k]


def concurrent(uri, pid, clients, calls, reps):
    ctx = mp.get_context("fork")
    rates, p50s, p99s, daemon_us = [], [], [], []
    for _ in range(reps):
        results = ctx.Queue()
        barrier = ctx.Barrier(clients)
        procs = [ctx.Process(target=_conc_worker, args=(uri, calls, barrier, results))
                 for _ in range(clients)]
        for p in procs:
            p.start()
        d0 = proc_cpu_s(pid)
        got = [results.get(timeout=900) for _ in procs]
        d1 = proc_cpu_s(pid)
        for p in procs:
            p.join()
        wall = max(g[1] for g in got) - min(g[0] for g in got)
        lat = sorted(x for g in got for x in g[2])
        rates.append(clients * calls / wall)
        p50s.append(percentile(lat, 50) * 1e3)
        p99s.append(percentile(lat, 99) * 1e3)
        if d0 is not None and d1 is not None:
            daemon_us.append((d1 - d0) / (clients * calls) * 1e6)
    say(f"conc {clients}x{calls}: {statistics.median(rates):.0f} calls/s, "
        f"p99 {statistics.median(p99s):.2f} ms")
    return {"clients": clients, "calls_each": calls,
            "calls_per_s": summary([round(r) for r in rates]),
            "p50_ms": round(statistics.median(p50s), 3),
            "p99_ms": round(statistics.median(p99s), 3),
            "daemon_cpu_us_per_call": round(statistics.median(daemon_us), 2) if daemon_us else None}


def define_undefine(conn, prefix, reps, count):
    define_s, undefine_s = [], []
    for r in range(reps):
        t0 = time.perf_counter()
        doms = [conn.defineXML(test_domain_xml(f"{prefix}-du{r}-{i}")) for i in range(count)]
        t1 = time.perf_counter()
        for d in doms:
            d.undefine()
        t2 = time.perf_counter()
        define_s.append(t1 - t0)
        undefine_s.append(t2 - t1)
    say(f"defundef {count}: define {statistics.median(define_s):.3f} s, "
        f"undefine {statistics.median(undefine_s):.3f} s")
    return {"domains": count,
            "define_s": summary([round(t, 4) for t in define_s]),
            "undefine_s": summary([round(t, 4) for t in undefine_s])}


def list_all(conn, reps, pid):
    times, n = [], 0
    d0 = proc_cpu_s(pid)
    for _ in range(reps):
        t0 = time.perf_counter()
        doms = conn.listAllDomains(0)
        times.append(time.perf_counter() - t0)
        n = len(doms)
        del doms
    d1 = proc_cpu_s(pid)
    cpu = None if d0 is None or d1 is None else round((d1 - d0) / reps * 1e3, 3)
    return {"returned": n, "ms": summary([round(t * 1e3, 3) for t in times]),
            "daemon_cpu_ms_per_call": cpu}


def wait_state(dom, want, limit_s=60.0):
    end = time.perf_counter() + limit_s
    while dom.state()[0] != want:
        if time.perf_counter() > end:
            raise RuntimeError(f"domain did not reach state {want}")
        time.sleep(0.0005)


def lxc_lifecycle(uri, name, rootfs, init_cmd, cycles, settle):
    conn = libvirt.open(uri)
    dom = conn.defineXML(container_xml(name, rootfs, init_cmd))
    create_call, to_running, to_shutoff = [], [], []
    try:
        for _ in range(cycles):
            t0 = time.perf_counter()
            dom.create()
            t1 = time.perf_counter()
            wait_state(dom, libvirt.VIR_DOMAIN_RUNNING)
            t2 = time.perf_counter()
            time.sleep(settle)  # untimed: let the container's init settle
            t3 = time.perf_counter()
            dom.destroy()
            wait_state(dom, libvirt.VIR_DOMAIN_SHUTOFF)
            t4 = time.perf_counter()
            create_call.append((t1 - t0) * 1e3)
            to_running.append((t2 - t0) * 1e3)
            to_shutoff.append((t4 - t3) * 1e3)
    finally:
        try:
            if dom.isActive():
                dom.destroy()
        finally:
            dom.undefine()
            conn.close()
    say(f"lxc: running after {statistics.median(to_running):.1f} ms, "
        f"shut off after {statistics.median(to_shutoff):.1f} ms")
    return {"cycles": cycles, "init_cmd": init_cmd, "settle_s": settle,
            "create_call_ms": summary([round(t, 2) for t in create_call]),
            "to_running_ms": summary([round(t, 2) for t in to_running]),
            "destroy_to_shutoff_ms": summary([round(t, 2) for t in to_shutoff])}


def virsh_sequence(uri, prefix, reps):
    """The same virsh commands, each a new virsh process, timed end to end."""
    name = f"{prefix}-virsh"
    with tempfile.NamedTemporaryFile("w", suffix=".xml", delete=False) as f:
        f.write(test_domain_xml(name))
        xml_path = f.name
    steps = [
        ("version", ["version"]),
        ("define", ["define", xml_path]),
        ("list --all", ["list", "--all"]),
        ("dominfo", ["dominfo", name]),
        ("dumpxml", ["dumpxml", name]),
        ("start", ["start", name]),
        ("domstate", ["domstate", name]),
        ("suspend", ["suspend", name]),
        ("resume", ["resume", name]),
        ("destroy", ["destroy", name]),
        ("undefine", ["undefine", name]),
    ]
    per_step = {label: [] for label, _ in steps}
    totals = []
    try:
        for _ in range(reps):
            total = 0.0
            for label, args in steps:
                t0 = time.perf_counter()
                r = subprocess.run(["virsh", "-q", "-c", uri] + args,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                dt = time.perf_counter() - t0
                if r.returncode != 0:
                    raise RuntimeError(f"virsh {label} failed: {r.stderr.decode(errors='replace')}")
                per_step[label].append(dt * 1e3)
                total += dt
            totals.append(total * 1e3)
    finally:
        os.unlink(xml_path)
    say(f"virsh sequence ({len(steps)} commands): {statistics.median(totals):.1f} ms")
    return {"commands": [label for label, _ in steps],
            "total_ms": summary([round(t, 2) for t in totals]),
            "per_command_ms": {k: round(statistics.median(v), 2) for k, v in per_step.items()}}


def calls_only(uri, proc, n):
    conn = libvirt.open(uri)
    name = f"bench-{os.getpid()}-cg"
    dom = conn.defineXML(test_domain_xml(name))
    for _ in range(n):
        if proc == "getLibVersion":
            conn.getLibVersion()
        else:
            conn.lookupByName(name)
    dom.undefine()
    conn.close()


def storage(uri, pool_dir, reps, pid):
    """Volume creation and a 64 MiB upload/download on a transient dir
    pool in POOL_DIR (removed again)."""
    size = 64 << 20
    conn = libvirt.open(uri)
    name = f"bench-{os.getpid()}-pool"
    pool = conn.storagePoolCreateXML(
        f"<pool type='dir'><name>{name}</name><target><path>{escape(pool_dir)}</path></target></pool>",
        libvirt.VIR_STORAGE_POOL_CREATE_WITH_BUILD)
    vol_xml = ("<volume><name>{n}</name><capacity>{c}</capacity>"
               "<target><format type='{f}'/></target></volume>")
    out = {"raw_create_ms": [], "qcow2_create_ms": [], "delete_ms": [],
           "upload_64mib_ms": [], "download_64mib_ms": []}
    payload = os.urandom(1 << 20) * 64
    cpu0 = proc_cpu_s(pid)
    try:
        for i in range(reps):
            for fmt, key in (("raw", "raw_create_ms"), ("qcow2", "qcow2_create_ms")):
                t0 = time.perf_counter()
                v = pool.createXML(vol_xml.format(n=f"v{i}.{fmt}", c=size, f=fmt), 0)
                out[key].append((time.perf_counter() - t0) * 1000)
                if fmt == "qcow2":
                    t0 = time.perf_counter()
                    v.delete(0)
                    out["delete_ms"].append((time.perf_counter() - t0) * 1000)
            vol = pool.storageVolLookupByName(f"v{i}.raw")
            st = conn.newStream(0)
            t0 = time.perf_counter()
            vol.upload(st, 0, size, 0)
            view = memoryview(payload)
            for off in range(0, size, 256 << 10):
                st.send(bytes(view[off:off + (256 << 10)]))
            st.finish()
            out["upload_64mib_ms"].append((time.perf_counter() - t0) * 1000)
            got = bytearray()
            st = conn.newStream(0)
            t0 = time.perf_counter()
            vol.download(st, 0, size, 0)
            st.recvAll(lambda s, d, o: o.extend(d), got)
            st.finish()
            out["download_64mib_ms"].append((time.perf_counter() - t0) * 1000)
            if bytes(got) != payload:
                raise SystemExit("storage: downloaded bytes differ from the upload")
            vol.delete(0)
    finally:
        for v in pool.listAllVolumes(0):
            try:
                v.delete(0)
            except libvirt.libvirtError:
                pass
        pool.destroy()
        try:
            os.rmdir(pool_dir)
        except OSError:
            pass
        conn.close()
    res = {k: summary(v) for k, v in out.items()}
    cpu = proc_cpu_s(pid)
    if cpu is not None and cpu0 is not None:
        res["daemon_cpu_s"] = round(cpu - cpu0, 3)
    say("storage: " + ", ".join(f"{k} {res[k]['median']:.1f}" for k in out))
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--uri", required=True, help="test driver URI of the daemon")
    ap.add_argument("--pid", type=int, help="daemon PID (CPU and RSS sampling)")
    ap.add_argument("--lxc-uri", help="LXC driver URI; enables the container section")
    ap.add_argument("--lxc-rootfs", help="root filesystem directory for the container")
    ap.add_argument("--lxc-cycles", type=int, default=20)
    ap.add_argument("--lxc-init-cmd", default="exec sleep 100000")
    ap.add_argument("--settle", type=float, default=0.1)
    ap.add_argument("--storage-uri", help="storage driver URI; enables the storage section")
    ap.add_argument("--storage-dir", help="directory for the storage section's pool (made and removed)")
    ap.add_argument("--quick", action="store_true", help="fewer repetitions")
    ap.add_argument("--skip", default="", help="comma list of sections to skip")
    ap.add_argument("--calls-only", type=int, metavar="N",
                    help="only open a connection, define one domain, make N calls of "
                         "--proc, undefine and close (for instruction counts of a daemon "
                         "run under callgrind)")
    ap.add_argument("--proc", choices=("getLibVersion", "lookupByName"), default="getLibVersion")
    args = ap.parse_args()
    if args.calls_only is not None:
        calls_only(args.uri, args.proc, args.calls_only)
        return
    skip = set(filter(None, args.skip.split(",")))
    reps = 2 if args.quick else 5
    prefix = f"bench-{os.getpid()}"
    pid = args.pid

    res = {"driver": "libvirt-python", "uri": args.uri,
           "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
           "host": {"cpus": os.cpu_count(), "kernel": platform.release(),
                    "python": platform.python_version(),
                    "libvirt_python": libvirt.getVersion(),
                    "loadavg_start": list(os.getloadavg())}}
    conn = libvirt.open(args.uri)
    res["server"] = {"lib_version": conn.getLibVersion(), "type": conn.getType()}
    time.sleep(0.5)
    rss = {"idle": proc_rss_kib(pid)}
    res["rss_kib"] = rss
    lookup_name = f"{prefix}-lookup"
    lookup = conn.defineXML(test_domain_xml(lookup_name))
    try:
        if "cheap" not in skip:
            res["cheap"] = cheap_rpc(conn, pid, reps, 10000 if not args.quick else 2000, lookup_name)
        if "conc" not in skip:
            res["conc8"] = concurrent(args.uri, pid, 8, 2000 if not args.quick else 500,
                                      3 if not args.quick else 1)
            res["conc100"] = concurrent(args.uri, pid, 100, 200 if not args.quick else 50,
                                        3 if not args.quick else 1)
        if "defundef" not in skip:
            res["defundef"] = define_undefine(conn, prefix, 3 if not args.quick else 1, 1000)
        if "list" not in skip:
            doms = []
            have = len(conn.listAllDomains(0))
            for i in range(1000 - have):
                doms.append(conn.defineXML(test_domain_xml(f"{prefix}-{i}")))
            lst = {"with_1000": list_all(conn, 20 if not args.quick else 3, pid)}
            say(f"list 1000: {lst['with_1000']['ms']['median']:.2f} ms")
            t0 = time.perf_counter()
            for i in range(1000 - have, 10000 - have):
                doms.append(conn.defineXML(test_domain_xml(f"{prefix}-{i}")))
            lst["define_9000_s"] = round(time.perf_counter() - t0, 3)
            lst["with_10000"] = list_all(conn, 20 if not args.quick else 5, pid)
            say(f"list 10000: {lst['with_10000']['ms']['median']:.2f} ms")
            time.sleep(0.5)
            rss["with_10000_domains"] = proc_rss_kib(pid)
            t0 = time.perf_counter()
            for d in doms:
                d.undefine()
            lst["undefine_10000_s"] = round(time.perf_counter() - t0, 3)
            del doms
            res["list"] = lst
            time.sleep(1.0)
            rss["after_undefine"] = proc_rss_kib(pid)
            say(f"rss KiB: {rss}")
        if "virsh" not in skip:
            res["virsh"] = virsh_sequence(args.uri, prefix, reps)
    finally:
        lookup.undefine()
        for d in conn.listAllDomains(0):
            if d.name().startswith(prefix):
                try:
                    d.undefine()
                except libvirt.libvirtError:
                    pass
    if args.lxc_uri and "lxc" not in skip:
        res["lxc"] = lxc_lifecycle(args.lxc_uri, f"{prefix}-ct", args.lxc_rootfs,
                                   args.lxc_init_cmd, args.lxc_cycles if not args.quick else 3,
                                   args.settle)
    if args.storage_uri and "storage" not in skip:
        res["storage"] = storage(args.storage_uri, args.storage_dir, 3 if args.quick else 7, pid)
    rss["end"] = proc_rss_kib(pid)
    res["host"]["loadavg_end"] = list(os.getloadavg())
    conn.close()
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()

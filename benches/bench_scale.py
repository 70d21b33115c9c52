#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The scale benchmark: many running containers, many concurrent clients.

One daemon per run (scripts/bench-scale.sh runs it against C libvirtd and
ours in turn and merges the two outputs with `report`):

  bench_scale.py run --uri 'lxc+unix:///system?socket=SOCK' --pid PID \\
      --rootfs DIR --n 100 [--clients 10] [--reps 3] \\
      --stop-cmd CMD --start-cmd CMD [--helper-exe PATH]
  bench_scale.py report --c C.json --ours OURS.json --machine M.json \\
      --json OUT.json --markdown TABLE.md

Each repetition, with N busybox containers (16 MiB each):
  start      N transient containers created from --clients processes at
             once, until every one is listed running
  stats      getAllDomainStats with the default groups (a daemon without
             bulk stats: listAllDomains then info() of each, the path its
             clients take)
  poll       one client's poll loop: listAllDomains, then info() and
             state() of each
  events     20 clients registered for lifecycle events while min(50, N)
             containers are suspended and resumed twice by the --clients
             processes; every client must receive every event
  memory     daemon RSS growth per container, and each container's helper
             process (libvirt_lxc) RSS and PSS
  restart    the daemon is stopped (untimed), then from the exec of the new
             one until a client lists all N running (none lost)
  destroy    all N destroyed from --clients processes at once, until none
             is listed

The output (stdout) is JSON with every raw figure; progress goes to stderr.
"""

import argparse
import json
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import threading
import time

import libvirt

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import container_xml, proc_cpu_s, proc_rss_kib, say, summary  # noqa: E402

libvirt.registerErrorHandler(lambda _ctx, _err: None, None)

EVENT_CLIENTS = 20
STORM_DOMAINS = 50
STORM_ROUNDS = 2
CT_MIB = 16


def open_retry(uri, limit_s=60.0):
    end = time.perf_counter() + limit_s
    while True:
        try:
            return libvirt.open(uri)
        except libvirt.libvirtError:
            if time.perf_counter() > end:
                raise
            time.sleep(0.01)


def wait_quiet(threshold, timeout_s):
    """Waits for the 1-minute load average to drop under threshold; returns
    the load average timing started with and how long it waited."""
    t0 = time.monotonic()
    while os.getloadavg()[0] > threshold and time.monotonic() - t0 < timeout_s:
        time.sleep(2)
    load = os.getloadavg()
    waited = time.monotonic() - t0
    say(f"  load {load[0]:.2f} after waiting {waited:.0f} s (threshold {threshold})")
    return {"loadavg": list(load), "waited_s": round(waited, 1),
            "quiet": load[0] <= threshold}


def split(items, parts):
    return [items[i::parts] for i in range(parts) if items[i::parts]]


def _run_workers(target, chunks, *args):
    """Runs target(chunk, *args, queue) in one process per chunk, all
    released at once; returns (wall seconds, list of worker results)."""
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    go = ctx.Event()
    ready = ctx.Semaphore(0)
    procs = [ctx.Process(target=_worker_main, args=(target, c, args, q, go, ready))
             for c in chunks]
    for p in procs:
        p.start()
    for _ in procs:
        ready.acquire()
    t0 = time.perf_counter()
    go.set()
    results = [q.get() for _ in procs]
    wall = time.perf_counter() - t0
    for p in procs:
        p.join()
    errors = [r["error"] for r in results if r.get("error")]
    if errors:
        raise RuntimeError(f"worker failed: {errors[0]}")
    return wall, results


def _worker_main(target, chunk, args, q, go, ready):
    try:
        conn = libvirt.open(args[0])
    except libvirt.libvirtError as e:
        ready.release()
        q.put({"error": str(e)})
        return
    ready.release()
    go.wait()
    try:
        q.put(target(conn, chunk, *args[1:]))
    except Exception as e:  # reported to the parent, which fails the run
        q.put({"error": f"{type(e).__name__}: {e}"})
    finally:
        conn.close()


def _create_some(conn, names, rootfs, init_cmd):
    lat = []
    for n in names:
        t0 = time.perf_counter()
        conn.createXML(container_xml(n, rootfs, init_cmd, CT_MIB), 0)
        lat.append(time.perf_counter() - t0)
    return {"lat": lat}


def _destroy_some(conn, names):
    lat = []
    for n in names:
        t0 = time.perf_counter()
        conn.lookupByName(n).destroy()
        lat.append(time.perf_counter() - t0)
    return {"lat": lat}


def _storm_some(conn, names, rounds):
    lat = []
    doms = [conn.lookupByName(n) for n in names]
    for _ in range(rounds):
        for d in doms:
            t0 = time.perf_counter()
            d.suspend()
            lat.append(time.perf_counter() - t0)
        for d in doms:
            t0 = time.perf_counter()
            d.resume()
            lat.append(time.perf_counter() - t0)
    return {"lat": lat}


def running_names(conn, prefix):
    doms = conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE)
    out = set()
    for d in doms:
        if d.name().startswith(prefix) and d.state()[0] == libvirt.VIR_DOMAIN_RUNNING:
            out.add(d.name())
    return out


def wait_all_running(conn, prefix, names, limit_s):
    want = set(names)
    end = time.perf_counter() + limit_s
    while not want <= running_names(conn, prefix):
        if time.perf_counter() > end:
            missing = sorted(want - running_names(conn, prefix))
            raise RuntimeError(f"{len(missing)} containers not running: {missing[:5]}")
        time.sleep(0.01)


def wait_none_listed(conn, prefix, limit_s):
    end = time.perf_counter() + limit_s
    while any(d.name().startswith(prefix) for d in conn.listAllDomains(0)):
        if time.perf_counter() > end:
            raise RuntimeError("destroyed containers still listed")
        time.sleep(0.01)


def ms(seconds):
    return round(seconds * 1e3, 3)


# ---- event clients ----

def _event_client(uri, prefix, expect, ready, done, q):
    libvirt.virEventRegisterDefaultImpl()
    conn = libvirt.open(uri)
    counts = {"suspended": 0, "resumed": 0, "other": 0}
    lock = threading.Lock()
    got_all = threading.Event()

    def cb(_conn, dom, event, _detail, _opaque):
        if not dom.name().startswith(prefix):
            return
        with lock:
            if event == libvirt.VIR_DOMAIN_EVENT_SUSPENDED:
                counts["suspended"] += 1
            elif event == libvirt.VIR_DOMAIN_EVENT_RESUMED:
                counts["resumed"] += 1
            else:
                counts["other"] += 1
            if counts["suspended"] + counts["resumed"] >= expect:
                got_all.set()

    conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, cb, None)
    stop = False

    def loop():
        while not stop:
            libvirt.virEventRunDefaultImpl()

    t = threading.Thread(target=loop, daemon=True)
    t.start()
    ready.release()
    # Wait for every expected event, or for the parent's give-up.
    while not got_all.is_set() and not done.is_set():
        got_all.wait(0.05)
    t_last = time.perf_counter()
    with lock:
        q.put({"counts": dict(counts), "complete_at": t_last if got_all.is_set() else None})
    q.close()
    q.join_thread()  # flush the report before leaving without the usual exit path
    os._exit(0)  # the event loop thread is blocked in poll(); do not join it


def event_storm(uri, pid, prefix, names, clients, rounds):
    ctx = mp.get_context("fork")
    expect = len(names) * 2 * rounds
    q = ctx.Queue()
    ready = ctx.Semaphore(0)
    done = ctx.Event()
    watchers = [ctx.Process(target=_event_client, args=(uri, prefix, expect, ready, done, q))
                for _ in range(EVENT_CLIENTS)]
    for w in watchers:
        w.start()
    for _ in watchers:
        ready.acquire()
    cpu0 = proc_cpu_s(pid)
    wall, res = _run_workers(_storm_some, split(names, clients), uri, rounds)
    t_calls_done = time.perf_counter()
    cpu1 = proc_cpu_s(pid)
    # Give the slowest watcher time to drain, then ask the rest to report.
    reports = []
    deadline = time.perf_counter() + 10 + expect * 0.01
    while len(reports) < len(watchers) and time.perf_counter() < deadline:
        try:
            reports.append(q.get(timeout=0.5))
        except Exception:  # queue.Empty
            pass
    done.set()
    while len(reports) < len(watchers):
        reports.append(q.get(timeout=30))
    for w in watchers:
        w.join(10)
    lat = sorted(x for r in res for x in r["lat"])
    received = [r["counts"]["suspended"] + r["counts"]["resumed"] for r in reports]
    last = max((r["complete_at"] or t_calls_done) for r in reports)
    out = {"domains": len(names), "calls": len(lat), "wall_ms": ms(wall),
           "call_ms": summary([ms(x) for x in lat]),
           "event_clients": len(watchers), "events_expected_per_client": expect,
           "events_received": received,
           "all_events_delivered": all(x == expect for x in received),
           "last_event_after_calls_ms": ms(max(0.0, last - t_calls_done))}
    if cpu0 is not None and cpu1 is not None and lat:
        # the daemon's own CPU (all threads) per call, the events included
        out["daemon_cpu_ms_per_call"] = round((cpu1 - cpu0) * 1e3 / len(lat), 3)
    say(f"  events: {len(lat)} calls in {out['wall_ms']:.0f} ms "
        f"(median {out['call_ms']['median']:.2f} ms/call); "
        f"received {min(received)}..{max(received)} of {expect} per client")
    return out


# ---- memory ----

def helper_pids(exe, names):
    """PIDs of the per-container helper processes (exe, one per name)."""
    want = {n for n in names}
    found = {}
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            if os.readlink(f"/proc/{p}/exe") != exe:
                continue
            args = open(f"/proc/{p}/cmdline", "rb").read().split(b"\0")
        except OSError:
            continue
        args = [a.decode(errors="replace") for a in args]
        for i, a in enumerate(args[:-1]):
            if a == "--name" and args[i + 1] in want:
                found[args[i + 1]] = int(p)
    return found


def rss_pss_kib(pid):
    rss = pss = None
    try:
        for line in open(f"/proc/{pid}/smaps_rollup"):
            if line.startswith("Rss:"):
                rss = int(line.split()[1])
            elif line.startswith("Pss:"):
                pss = int(line.split()[1])
    except OSError:
        pass
    return rss, pss


def memory(pid, idle_rss, exe, names):
    now = proc_rss_kib(pid)
    helpers = helper_pids(exe, names) if exe else {}
    rp = [rss_pss_kib(p) for p in helpers.values()]
    rss = [r for r, _ in rp if r is not None]
    pss = [p for _, p in rp if p is not None]
    out = {"daemon_rss_kib": now, "daemon_rss_idle_kib": idle_rss,
           "daemon_kib_per_container": round((now - idle_rss) / len(names), 1)
           if now and idle_rss else None,
           "helpers_found": len(helpers),
           "helper_rss_kib": summary(rss) if rss else None,
           "helper_pss_kib": summary(pss) if pss else None}
    if out["daemon_kib_per_container"] is not None and pss:
        out["kib_per_container"] = round(out["daemon_kib_per_container"]
                                         + statistics.median(pss), 1)
    say(f"  memory: daemon {out['daemon_kib_per_container']} KiB/container, "
        f"{len(helpers)} helpers, PSS median "
        f"{statistics.median(pss) if pss else '-'} KiB")
    return out


# ---- one repetition ----

def stats_once(conn, prefix):
    t0 = time.perf_counter()
    try:
        got = conn.getAllDomainStats(0, 0)
        path = "getAllDomainStats"
        n = sum(1 for d, _ in got if d.name().startswith(prefix))
    except libvirt.libvirtError as e:
        if e.get_error_code() != libvirt.VIR_ERR_NO_SUPPORT:
            raise
        path = "per-domain info()"
        n = 0
        for d in conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE):
            d.info()
            n += d.name().startswith(prefix)
    return time.perf_counter() - t0, path, n


def poll_once(conn, prefix):
    t0 = time.perf_counter()
    n = 0
    for d in conn.listAllDomains(0):
        d.info()
        d.state()
        n += d.name().startswith(prefix)
    return time.perf_counter() - t0, n


def one_rep(args, rep, conn, pid):
    prefix = f"scale-{os.getpid()}-{rep}-"
    names = [f"{prefix}{i}" for i in range(args.n)]
    out = {"quiet": wait_quiet(args.load_threshold, args.quiet_timeout)}
    idle_rss = proc_rss_kib(pid)

    wall, res = _run_workers(_create_some, split(names, args.clients), args.uri,
                             args.rootfs, args.init_cmd)
    wait_all_running(conn, prefix, names, 300)
    total = time.perf_counter()
    lat = [x for r in res for x in r["lat"]]
    out["start"] = {"calls_wall_ms": ms(wall), "create_call_ms": summary([ms(x) for x in lat])}
    # all running: the workers' start plus the time the wait above took
    out["start"]["all_running_ms"] = ms(wall + (time.perf_counter() - total))
    say(f"  start {args.n}: {out['start']['all_running_ms']:.0f} ms")

    time.sleep(1.0)  # untimed: let the init processes settle
    out["memory"] = memory(pid, idle_rss, args.helper_exe, names)

    st, paths = [], set()
    for _ in range(args.inner):
        t, path, n = stats_once(conn, prefix)
        if n != args.n:
            raise RuntimeError(f"stats covered {n} of {args.n}")
        st.append(ms(t))
        paths.add(path)
    out["stats"] = {"path": sorted(paths), "ms": summary(st)}
    say(f"  stats ({'/'.join(paths)}): {out['stats']['ms']['median']:.2f} ms")

    pl = []
    for _ in range(args.inner):
        t, n = poll_once(conn, prefix)
        if n != args.n:
            raise RuntimeError(f"poll saw {n} of {args.n}")
        pl.append(ms(t))
    out["poll"] = {"ms": summary(pl)}
    say(f"  poll: {out['poll']['ms']['median']:.2f} ms")

    out["events"] = event_storm(args.uri, pid, prefix, names[:min(STORM_DOMAINS, args.n)],
                                args.clients, STORM_ROUNDS)

    if args.stop_cmd and args.start_cmd:
        conn.close()
        subprocess.run(args.stop_cmd, shell=True, check=True)
        t0 = time.perf_counter()
        pid = int(subprocess.run(args.start_cmd, shell=True, check=True,
                                 capture_output=True, text=True).stdout.split()[-1])
        conn = open_retry(args.uri)
        wait_all_running(conn, prefix, names, 300)
        out["restart"] = {"all_running_ms": ms(time.perf_counter() - t0)}
        say(f"  restart: all {args.n} running after {out['restart']['all_running_ms']:.0f} ms")
        out["restart"]["daemon_rss_kib_after"] = proc_rss_kib(pid)

    wall, res = _run_workers(_destroy_some, split(names, args.clients), args.uri)
    t1 = time.perf_counter()
    wait_none_listed(conn, prefix, 300)
    lat = [x for r in res for x in r["lat"]]
    out["destroy"] = {"calls_wall_ms": ms(wall), "destroy_call_ms": summary([ms(x) for x in lat]),
                      "none_listed_ms": ms(wall + time.perf_counter() - t1)}
    say(f"  destroy {args.n}: {out['destroy']['none_listed_ms']:.0f} ms")
    return out, conn, pid


def cleanup(uri, prefix):
    try:
        conn = libvirt.open(uri)
        for d in conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE):
            if d.name().startswith(prefix):
                try:
                    d.destroy()
                except libvirt.libvirtError:
                    pass
        conn.close()
    except libvirt.libvirtError:
        pass


def run(args):
    res = {"n": args.n, "clients": args.clients, "reps": args.reps, "uri": args.uri,
           "container_mib": CT_MIB, "event_clients": EVENT_CLIENTS,
           "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
           "loadavg_start": list(os.getloadavg()), "reps_raw": []}
    conn = libvirt.open(args.uri)
    pid = args.pid
    try:
        for rep in range(args.reps):
            say(f"rep {rep + 1}/{args.reps}, N={args.n}")
            out, conn, pid = one_rep(args, rep, conn, pid)
            res["reps_raw"].append(out)
    finally:
        cleanup(args.uri, f"scale-{os.getpid()}-")
    res["loadavg_end"] = list(os.getloadavg())
    res["pid_end"] = pid
    conn.close()
    print(json.dumps(res, indent=1))


# ---- report ----

FIGURES = [
    # key, label, path into a repetition
    ("start", "start N concurrently until all running, ms", ("start", "all_running_ms")),
    ("stats", "getAllDomainStats over N (C: per-domain info()), ms", ("stats", "ms", "median")),
    ("poll", "poll loop: list + info() + state() of each, ms", ("poll", "ms", "median")),
    ("storm", "suspend/resume storm watched by 20 event clients, ms", ("events", "wall_ms")),
    ("storm_call", "  per suspend/resume call (median), ms", ("events", "call_ms", "median")),
    ("storm_cpu", "  daemon CPU per suspend/resume call, ms", ("events", "daemon_cpu_ms_per_call")),
    ("restart", "daemon restart until all N listed running, ms", ("restart", "all_running_ms")),
    ("destroy", "destroy N concurrently until none listed, ms", ("destroy", "none_listed_ms")),
    ("mem", "memory per container (daemon share + helper PSS), KiB",
     ("memory", "kib_per_container")),
    ("daemon_mem", "  daemon share per container, KiB", ("memory", "daemon_kib_per_container")),
    ("helper_pss", "  helper process PSS (median), KiB", ("memory", "helper_pss_kib", "median")),
]


def dig(d, path):
    for k in path:
        if not isinstance(d, dict) or k not in d or d[k] is None:
            return None
        d = d[k]
    return d


def medians(run_json):
    out = {}
    for key, _, path in FIGURES:
        vals = [v for v in (dig(r, path) for r in run_json["reps_raw"]) if v is not None]
        out[key] = statistics.median(vals) if vals else None
    ev = [r["events"]["all_events_delivered"] for r in run_json["reps_raw"] if "events" in r]
    out["events_ok"] = all(ev) if ev else None
    return out


def report(args):
    machine = json.load(open(args.machine))
    runs = {}
    for who, path in (("c", args.c), ("ours", args.ours)):
        if path and os.path.exists(path) and os.path.getsize(path):
            runs[who] = json.load(open(path))
    med = {w: medians(r) for w, r in runs.items()}
    n = {w: r["n"] for w, r in runs.items()}
    lines = []
    head = "| figure |"
    sep = "|---|"
    cols = [w for w in ("c", "ours") if w in runs]
    for w in cols:
        head += f" {'C libvirtd' if w == 'c' else 'ours'} (N={n[w]}) |"
        sep += "---|"
    if len(cols) == 2:
        head += " ours/C |"
        sep += "---|"
    lines += [head, sep]

    def fmt(v):
        return "-" if v is None else (f"{v:.1f}" if v >= 10 else f"{v:.2f}")

    for key, label, _ in FIGURES:
        row = f"| {label} |"
        for w in cols:
            row += f" {fmt(med[w][key])} |"
        if len(cols) == 2:
            c, o = med["c"][key], med["ours"][key]
            row += f" {o / c:.2f} |" if c and o is not None and n["c"] == n["ours"] else " - |"
        lines.append(row)
    row = "| every event reached every client |"
    for w in cols:
        row += f" {'yes' if med[w]['events_ok'] else 'NO'} |"
    if len(cols) == 2:
        row += " |"
    lines.append(row)
    table = "\n".join(lines) + "\n"
    json.dump({"machine": machine, "runs": runs, "medians": med}, open(args.json, "w"), indent=1)
    open(args.markdown, "w").write(table)
    print(table)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--uri", required=True, help="LXC driver URI of the daemon")
    r.add_argument("--pid", type=int, required=True, help="daemon PID (RSS sampling)")
    r.add_argument("--rootfs", required=True, help="the containers' root filesystem")
    r.add_argument("--n", type=int, default=100)
    r.add_argument("--clients", type=int, default=10)
    r.add_argument("--reps", type=int, default=3)
    r.add_argument("--inner", type=int, default=5, help="repetitions of stats and poll per rep")
    r.add_argument("--init-cmd", default="exec sleep 100000")
    r.add_argument("--helper-exe", help="path of the per-container helper binary")
    r.add_argument("--stop-cmd", help="shell command stopping the daemon")
    r.add_argument("--start-cmd", help="shell command starting it; prints its PID last")
    r.add_argument("--load-threshold", type=float, default=1.0)
    r.add_argument("--quiet-timeout", type=float, default=120)
    p = sub.add_parser("report")
    p.add_argument("--machine", required=True)
    p.add_argument("--c")
    p.add_argument("--ours")
    p.add_argument("--json", required=True)
    p.add_argument("--markdown", required=True)
    args = ap.parse_args()
    if args.cmd == "run":
        run(args)
    else:
        report(args)


if __name__ == "__main__":
    main()

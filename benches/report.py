#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Combine the per-daemon results of one benchmark run into a table.

    report.py --c-py C.json --c-rs C.json --ours-py O.json --ours-rs O.json \
        --machine M.json --json OUT.json --markdown OUT.md

Prints the table on stdout, writes all raw figures plus the table to OUT.json
and the table as Markdown (for BENCHMARKS.md) to OUT.md. A missing input file
leaves its column empty.
"""
import argparse
import json
import os


def load(path):
    if path and os.path.exists(path) and os.path.getsize(path) > 0:
        with open(path) as f:
            return json.load(f)
    return None


def dig(d, *keys):
    for k in keys:
        if d is None:
            return None
        d = d.get(k) if isinstance(d, dict) else None
    return d


def kib_to_mib(x):
    return None if x is None else x / 1024.0


# (label, client, path, unit, better, target) ; target = (kind, value)
#   ("ratio_le", r): ours/C <= r   ("ratio_ge", r): ours/C >= r   ("abs_le", v): ours <= v
ROWS = [
    ("getLibVersion, 1 connection", "py", ("cheap", "getLibVersion", "calls_per_s", "median"), "calls/s", "high", None),
    ("getLibVersion, 1 connection", "rs", ("cheap", "getLibVersion", "calls_per_s", "median"), "calls/s", "high", None),
    ("getLibVersion daemon CPU/call", "py", ("cheap", "getLibVersion", "daemon_cpu_us_per_call"), "us", "low", ("ratio_le", 0.2)),
    ("getLibVersion daemon CPU/call", "rs", ("cheap", "getLibVersion", "daemon_cpu_us_per_call"), "us", "low", ("ratio_le", 0.2)),
    ("getLibVersion daemon instructions/call (callgrind)", "py", ("callgrind", "getLibVersion", "instructions_per_call"), "Ir", "low", ("ratio_le", 0.2)),
    ("lookupByName, 1 connection", "py", ("cheap", "lookupByName", "calls_per_s", "median"), "calls/s", "high", None),
    ("lookupByName, 1 connection", "rs", ("cheap", "lookupByName", "calls_per_s", "median"), "calls/s", "high", None),
    ("lookupByName daemon CPU/call", "py", ("cheap", "lookupByName", "daemon_cpu_us_per_call"), "us", "low", ("ratio_le", 0.2)),
    ("lookupByName daemon CPU/call", "rs", ("cheap", "lookupByName", "daemon_cpu_us_per_call"), "us", "low", ("ratio_le", 0.2)),
    ("lookupByName daemon instructions/call (callgrind)", "py", ("callgrind", "lookupByName", "instructions_per_call"), "Ir", "low", ("ratio_le", 0.2)),
    ("8 connections, aggregate", "py", ("conc8", "calls_per_s", "median"), "calls/s", "high", ("ratio_ge", 2.0)),
    ("8 connections, aggregate", "rs", ("conc8", "calls_per_s", "median"), "calls/s", "high", ("ratio_ge", 2.0)),
    ("8 connections, p99 latency", "py", ("conc8", "p99_ms"), "ms", "low", None),
    ("8 connections, p99 latency", "rs", ("conc8", "p99_ms"), "ms", "low", None),
    ("100 connections, aggregate", "py", ("conc100", "calls_per_s", "median"), "calls/s", "high", None),
    ("100 connections, aggregate", "rs", ("conc100", "calls_per_s", "median"), "calls/s", "high", None),
    ("100 connections, p99 latency", "py", ("conc100", "p99_ms"), "ms", "low", None),
    ("100 connections, p99 latency", "rs", ("conc100", "p99_ms"), "ms", "low", None),
    ("define 1,000 domains", "py", ("defundef", "define_s", "median"), "s", "low", None),
    ("define 1,000 domains", "rs", ("defundef", "define_s", "median"), "s", "low", None),
    ("undefine 1,000 domains", "py", ("defundef", "undefine_s", "median"), "s", "low", None),
    ("undefine 1,000 domains", "rs", ("defundef", "undefine_s", "median"), "s", "low", None),
    ("listAllDomains, 1,000 defined", "py", ("list", "with_1000", "ms", "median"), "ms", "low", None),
    ("listAllDomains, 1,000 defined", "rs", ("list", "with_1000", "ms", "median"), "ms", "low", None),
    ("listAllDomains, 10,000 defined", "py", ("list", "with_10000", "ms", "median"), "ms", "low", ("ratio_le", 0.25)),
    ("listAllDomains, 10,000 defined", "rs", ("list", "with_10000", "ms", "median"), "ms", "low", ("ratio_le", 0.25)),
    ("listAllDomains(10,000) daemon CPU/call", "py", ("list", "with_10000", "daemon_cpu_ms_per_call"), "ms", "low", None),
    ("listAllDomains(10,000) daemon CPU/call", "rs", ("list", "with_10000", "daemon_cpu_ms_per_call"), "ms", "low", None),
    ("RSS idle", "py", ("rss_kib", "idle"), "MiB", "low", ("ratio_le", 1 / 3)),
    ("RSS with 10,000 domains", "py", ("rss_kib", "with_10000_domains"), "MiB", "low", ("ratio_le", 1 / 3)),
    ("RSS after undefining them", "py", ("rss_kib", "after_undefine"), "MiB", "low", ("returned", None)),
    ("LXC create -> running (median of 20)", "py", ("lxc", "to_running_ms", "median"), "ms", "low", ("abs_le", 15.0)),
    ("LXC destroy -> shut off (median of 20)", "py", ("lxc", "destroy_to_shutoff_ms", "median"), "ms", "low", ("abs_le", 20.0)),
    ("virsh sequence, 11 commands", "py", ("virsh", "total_ms", "median"), "ms", "low", None),
    ("create 64 MiB raw volume (preallocated)", "py", ("storage", "raw_create_ms", "median"), "ms", "low", None),
    ("create 64 MiB qcow2 volume (qemu-img)", "py", ("storage", "qcow2_create_ms", "median"), "ms", "low", None),
    ("delete a volume", "py", ("storage", "delete_ms", "median"), "ms", "low", None),
    ("upload 64 MiB (vol-upload stream)", "py", ("storage", "upload_64mib_ms", "median"), "ms", "low", None),
    ("download 64 MiB (vol-download stream)", "py", ("storage", "download_64mib_ms", "median"), "ms", "low", None),
]


def fmt(x, unit):
    if x is None:
        return "-"
    if unit in ("calls/s", "Ir"):
        return f"{x:,.0f}"
    if unit == "MiB":
        return f"{x:.1f}"
    if unit == "s":
        return f"{x:.3f}"
    if x >= 100:
        return f"{x:.0f}"
    if x >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def target_text(t):
    if t is None:
        return ""
    kind, v = t
    if kind == "ratio_le":
        return f"<= {v:.2f}x C"
    if kind == "ratio_ge":
        return f">= {v:.0f}x C"
    if kind == "abs_le":
        return f"<= {v:.0f} ms"
    if kind == "returned":
        return "back near idle"
    return ""


def build(sets):
    rows = []
    for label, client, path, unit, _better, target in ROWS:
        c = dig(sets["c", client], *path)
        o = dig(sets["ours", client], *path)
        if unit == "MiB":
            c, o = kib_to_mib(c), kib_to_mib(o)
        ratio = (o / c) if (c not in (None, 0) and o is not None) else None
        met = None
        if target is not None and o is not None:
            kind, v = target
            if kind == "ratio_le" and ratio is not None:
                met = ratio <= v
            elif kind == "ratio_ge" and ratio is not None:
                met = ratio >= v
            elif kind == "abs_le":
                met = o <= v
            elif kind == "returned":
                idle = kib_to_mib(dig(sets["ours", "py"], "rss_kib", "idle"))
                full = kib_to_mib(dig(sets["ours", "py"], "rss_kib", "with_10000_domains"))
                if idle is not None and full is not None and full > idle:
                    # at least 75% of what the 10,000 domains took is given back
                    met = (full - o) >= 0.75 * (full - idle)
        rows.append({"metric": label, "client": "libvirt-python" if client == "py" else "rpc-bench",
                     "unit": unit, "c": c, "ours": o,
                     "ratio": None if ratio is None else round(ratio, 3),
                     "target": target_text(target), "met": met})
    return rows


def render(rows, markdown):
    head = ["metric", "client", "unit", "C libvirtd", "ours", "ours/C", "target", "met"]
    body = []
    for r in rows:
        met = "" if r["met"] is None else ("yes" if r["met"] else "NO")
        body.append([r["metric"], r["client"], r["unit"], fmt(r["c"], r["unit"]),
                     fmt(r["ours"], r["unit"]),
                     "-" if r["ratio"] is None else f"{r['ratio']:.3f}", r["target"], met])
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(b) + " |" for b in body]
        return "\n".join(lines)
    w = [max(len(x[i]) for x in [head] + body) for i in range(len(head))]
    out = ["  ".join(h.ljust(w[i]) for i, h in enumerate(head)),
           "  ".join("-" * w[i] for i in range(len(head)))]
    out += ["  ".join(b[i].ljust(w[i]) for i in range(len(head))) for b in body]
    return "\n".join(out)


def floor_note(floor, sets):
    """A sentence on the machine's floor for one cheap call's daemon CPU."""
    if floor is None:
        return None
    parts = []
    for client, name in (("py", "libvirt-python"), ("rs", "rpc-bench")):
        c = dig(sets["c", client], "cheap", "getLibVersion", "daemon_cpu_us_per_call")
        if c:
            parts.append(f"{floor / c:.2f} of C's getLibVersion CPU/call with {name}")
    text = (f"Floor on this machine: a minimal blocking echo server (`rpc-bench --echo-floor`, "
            f"one read and one write per request, no protocol) uses {floor:.1f} us of CPU per "
            f"round trip of a getLibVersion-sized request")
    if parts:
        text += "; that is " + " and ".join(parts) + ", the lowest ratio any daemon that sleeps between calls can show here"
    return text + "."


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    for k in ("c-py", "c-rs", "ours-py", "ours-rs", "machine"):
        ap.add_argument(f"--{k}")
    ap.add_argument("--floor", help="rpc-bench --echo-floor output")
    ap.add_argument("--c-cg", help="callgrind instruction counts of the C daemon")
    ap.add_argument("--ours-cg", help="callgrind instruction counts of ours")
    ap.add_argument("--json", required=True)
    ap.add_argument("--markdown", required=True)
    a = ap.parse_args()
    sets = {("c", "py"): load(a.c_py), ("c", "rs"): load(a.c_rs),
            ("ours", "py"): load(a.ours_py), ("ours", "rs"): load(a.ours_rs)}
    for who, path in (("c", a.c_cg), ("ours", a.ours_cg)):
        cg = load(path)
        if cg is not None and sets[who, "py"] is not None:
            sets[who, "py"]["callgrind"] = cg
    machine = load(a.machine) or {}
    rows = build(sets)
    floor = dig(load(a.floor) or {}, "echo_floor", "server_cpu_us_per_round_trip")
    note = floor_note(floor, sets)
    with open(a.json, "w") as f:
        json.dump({"machine": machine, "table": rows, "echo_floor_us": floor,
                   "raw": {"c": {"libvirt-python": sets["c", "py"], "rpc-bench": sets["c", "rs"]},
                           "ours": {"libvirt-python": sets["ours", "py"],
                                    "rpc-bench": sets["ours", "rs"]}}},
                  f, indent=1)
    with open(a.markdown, "w") as f:
        f.write(render(rows, True) + "\n")
        if note:
            f.write("\n" + note + "\n")
    print(render(rows, False))
    if note:
        print(note)


if __name__ == "__main__":
    main()

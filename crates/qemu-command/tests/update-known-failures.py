#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Rewrites tests/known_failures.txt from a run of the corpus tests.

Usage: cargo test -p qemu-command --test corpus -- --include-ignored \
         2>&1 | python3 tests/update-known-failures.py
Every failing case gets a line `qemuxml2argv::CASE<TAB>not yet: ...` with
the reason the failure shows; passing cases are dropped from the file."""
import os
import re
import sys

here = os.path.dirname(os.path.abspath(__file__))
manifest = os.path.join(here, "../../../../shared/conformance/libvirt-9.6/manifests/qemuxml2argv.tsv")


def ident(case):
    s = "".join(c if c.isascii() and c.isalnum() else "_" for c in case)
    return "_" + s if s[:1].isdigit() else s


cases = {}
for line in open(manifest):
    if line.startswith("#") or not line.strip():
        continue
    case = line.split("\t")[0].strip()
    cases[ident(case)] = case

out = sys.stdin.read()
reasons = {}
blocks = re.split(r"^---- qemuxml2argv::(\S+) stdout ----$", out, flags=re.M)
for name, body in zip(blocks[1::2], blocks[2::2]):
    lines = [l for l in body.splitlines() if l.strip()]
    msg = ""
    for i, l in enumerate(lines):
        if "panicked at" in l and i + 1 < len(lines):
            msg = lines[i + 1]
            rest = lines[i + 2:]
            break
    m = re.search(r"not yet: (.*)", msg)
    if m and "left:" not in msg:
        reason = "not yet: " + m.group(1)
    elif msg.startswith("command line differs"):
        first = next((l for l in rest if l[:1] in "-+"), "")
        # Name the option (and its driver or object type), not the values,
        # so that the reason stays the same from run to run.
        m = re.match(r"[-+](-[\w-]+)(?: '\{\"(?:driver|qom-type)\":\"([^\"]+))?", first)
        what = " ".join(g for g in (m.groups() if m else ()) if g) or first[:60]
        reason = "not yet: command line detail of " + what
    elif msg.startswith("assertion"):
        left = next((l for l in rest if l.strip().startswith("left:")), "")
        if "not yet:" in left:
            reason = "not yet: " + left.split("not yet: ", 1)[1].rstrip('\\n"')
        else:
            reason = "not yet: the error check of this case"
    elif msg.startswith("parsing succeeded"):
        reason = "not yet: the parse-time check of this case"
    elif msg.startswith("building succeeded"):
        reason = "not yet: the check that refuses this configuration"
    elif msg.startswith("parse failed"):
        reason = "not yet: parsing this definition (" + msg[:80] + ")"
    else:
        reason = "not yet: " + msg[:100]
    reasons[cases.get(name, name)] = reason.replace("\t", " ")

with open(os.path.join(here, "known_failures.txt"), "w") as f:
    for case in sorted(reasons):
        f.write(f"qemuxml2argv::{case}\t{reasons[case]}\n")
print(f"{len(reasons)} known failures", file=sys.stderr)

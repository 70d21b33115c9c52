#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Totals of a `cargo test` run, with run-time skips counted apart.

usage: test-totals.py CARGO_OUTPUT SKIP_LOG

CARGO_OUTPUT is everything `cargo test` printed; SKIP_LOG holds one line per
test_support::skip call: `<test binary>\\t<test>\\t<reason>`. A test that
skipped (all or part of its work) passed as far as cargo knows; here it is
listed with its reasons and counted as skipped, not passed.
"""
import re
import sys

RESULT = re.compile(r"^test result: \w+\. (\d+) passed; (\d+) failed; (\d+) ignored")
FAILED = re.compile(r"^test (\S+) \.\.\. FAILED$")


def main(out_path, log_path):
    passed = failed = ignored = 0
    failed_tests = set()
    with open(out_path, errors="replace") as out:
        for line in out:
            line = line.rstrip("\n")
            m = RESULT.match(line)
            if m:
                passed += int(m.group(1))
                failed += int(m.group(2))
                ignored += int(m.group(3))
            m = FAILED.match(line)
            if m:
                failed_tests.add(m.group(1))
    skipped = {}
    with open(log_path, errors="replace") as log:
        for line in log:
            parts = line.rstrip("\n").split("\t", 2)
            if len(parts) != 3:
                continue
            binary, test, reason = parts
            binary = re.sub(r"-[0-9a-f]{16}$", "", binary)
            if test in failed_tests:
                continue
            # an unnamed thread cannot be told apart from another: key by reason
            key = (binary, test if test != "?" else "? " + reason)
            skipped.setdefault(key, []).append(reason)
    if skipped:
        print(f"\n{len(skipped)} tests skipped all or part of their work at run time:")
        for (binary, test), reasons in sorted(skipped.items()):
            why = "; ".join(sorted(set(reasons)))
            print(f"  {binary} {test}: {why}")
    print(
        f"\ntotals: {passed - len(skipped)} passed, {len(skipped)} skipped at run time, "
        f"{failed} failed, {ignored} ignored"
    )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

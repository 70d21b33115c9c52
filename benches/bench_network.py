# SPDX-License-Identifier: LGPL-2.1-or-later
"""net-start / net-destroy through libvirt-python: a persistent NAT network
with DHCP (bridge, firewall rules, dnsmasq) started and destroyed N times;
prints the medians (and all figures) as JSON.

    python3 benches/bench_network.py URI CYCLES
"""
import json
import statistics
import sys
import time

import libvirt

XML = """<network>
  <name>benchnet</name>
  <forward mode='nat'/>
  <bridge name='lvbench0'/>
  <ip address='10.215.1.1' netmask='255.255.255.0'>
    <dhcp>
      <range start='10.215.1.10' end='10.215.1.200'/>
    </dhcp>
  </ip>
</network>
"""


def main():
    uri, cycles = sys.argv[1], int(sys.argv[2])
    conn = libvirt.open(uri)
    net = conn.networkDefineXML(XML)
    start, destroy = [], []
    try:
        for _ in range(cycles):
            t0 = time.perf_counter()
            net.create()
            t1 = time.perf_counter()
            net.destroy()
            t2 = time.perf_counter()
            start.append((t1 - t0) * 1000)
            destroy.append((t2 - t1) * 1000)
            time.sleep(0.1)
    finally:
        if net.isActive():
            net.destroy()
        net.undefine()
    print(json.dumps({
        "cycles": cycles,
        "start_ms_median": statistics.median(start),
        "destroy_ms_median": statistics.median(destroy),
        "start_ms": start,
        "destroy_ms": destroy,
    }))


if __name__ == "__main__":
    main()

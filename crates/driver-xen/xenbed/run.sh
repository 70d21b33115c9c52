#!/bin/sh
echo "run.sh: on $(hostname), $(uname -r)"
xl info | grep -E '^(xen_version|virt_caps|total_memory|free_memory)'
./xenbed_smoke /etc/xen/testbed-pv.cfg
rc=$?
echo "--- xl list after smoke"
xl list
ls -la /run/libvirt/libxl /etc/libvirt/libxl 2>&1
exit $rc

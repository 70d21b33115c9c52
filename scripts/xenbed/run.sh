#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs in the xenbed dom0 from the share (/mnt/host): starts our virtxend
# as root on a private socket and drives it with dom0's real virsh and
# libvirt-python. Each step prints "STEP name: PASS|FAIL"; the exit
# status is the number of failed steps.
cd "$(dirname "$0")"
SHARE=$PWD
# Everything also goes to the share as it happens (the bed copies run.out
# only at the end), so the host can follow a long run.
exec > >(tee "$SHARE/progress.log") 2>&1
W=/tmp/lvrs; rm -rf $W; mkdir -p $W/run
FAILS=0
up() { cut -d' ' -f1 /proc/uptime; }
step() { # step NAME CMD...: runs CMD, prints its output and the verdict
  local n=$1; shift
  echo "--- [$(up)s] $n: \$ $*"
  "$@"; local r=$?
  if [ $r -eq 0 ]; then echo "STEP $n: PASS"; else echo "STEP $n: FAIL (rc=$r)"; FAILS=$((FAILS+1)); fi
  return $r
}
check() { # check NAME CONDITION-STRING: evaluates the condition
  local n=$1; shift
  if eval "$*"; then echo "STEP $n: PASS"; else echo "STEP $n: FAIL ($*)"; FAILS=$((FAILS+1)); fi
}
wait_for() { # wait_for SECONDS CONDITION-STRING
  local t=$1; shift; local i=0
  while ! eval "$*"; do sleep 1; i=$((i+1)); [ $i -ge "$t" ] && return 1; done; return 0
}

echo "run.sh: on $(hostname), $(uname -r), $(xl info | grep ^xen_version)"
virsh --version | sed 's/^/virsh version /'
cat > $W/virtxend.conf <<CONF
unix_sock_dir = "$W/run"
auth_unix_rw = "none"
auth_unix_ro = "none"
CONF
URI="xen+unix:///system?socket=$W/run/virtxend-sock"
# V: virsh on our daemon, as a command so that `bash -c` pipelines see it
mkdir -p $W/bin
printf '#!/bin/sh\nexec timeout 300 virsh -c "%s" "$@"\n' "$URI" > $W/bin/V
chmod +x $W/bin/V
export PATH=$W/bin:$PATH
start_daemon() {
  ./virtxend -f $W/virtxend.conf -p $W/virtxend.pid >> $W/virtxend.log 2>&1 &
  DPID=$!
  wait_for 30 "[ -S $W/run/virtxend-sock ] && V uri >/dev/null 2>&1"
}
step daemon-start start_daemon
echo "virtxend pid $DPID"

KERNEL=$(ls /boot/vmlinuz-* | head -1)
cp $SHARE/guest-initrd.gz /var/lib/testbed/lvrs-initrd.gz
for T in pv pvh; do
cat > $W/$T.cfg <<CFG
name = "lvrs-$T"
type = "$T"
kernel = "$KERNEL"
ramdisk = "/var/lib/testbed/lvrs-initrd.gz"
extra = "console=hvc0 rdinit=/init loglevel=4"
memory = 128
vcpus = 1
maxvcpus = 2
on_poweroff = "destroy"
on_reboot = "restart"
on_crash = "destroy"
CFG
done
# the PV guest may balloon up to 160 MiB (PVH would need populate-on-demand)
sed -i 's/^memory = 128$/memory = 128\nmaxmem = 160/' $W/pv.cfg

virsh -c "$URI" event --all --loop --timeout 900 > $W/events.log 2>&1 &
EVPID=$!
sleep 1

step version V version
step capabilities bash -c "V capabilities | grep -E '<os_type>|<domain type|<arch'"
step nodeinfo V nodeinfo
step from-native bash -c "V domxml-from-native xen-xl $W/pv.cfg > $W/pv.xml && cat $W/pv.xml"
step to-native V domxml-to-native xen-xl $W/pv.xml
step from-native-pvh bash -c "V domxml-from-native xen-xl $W/pvh.cfg > $W/pvh.xml"
step define V define $W/pv.xml
step list-inactive bash -c "V list --all | grep -E 'lvrs-pv +shut off'"
step start bash -c "time V start lvrs-pv"
step list V list --all
step dominfo V dominfo lvrs-pv
step xl-list xl list
step dumpxml bash -c "V dumpxml lvrs-pv | head -30 | grep -E \"domain type='xen' id=|<name>|<memory|<vcpu\""
step console-boot-marker wait_for 120 "grep -q LVRS-GUEST /var/log/xen/console/guest-lvrs-pv.log"
grep LVRS-GUEST /var/log/xen/console/guest-lvrs-pv.log | tr -d '\r'
step console-stream timeout 120 ./console.py "$URI" lvrs-pv 'echo LVRS-ECHO-$((6*7))' LVRS-ECHO-42 60
step setmem-live bash -c "V setmem lvrs-pv 100M --live && V dominfo lvrs-pv | grep -E 'memory'"
step setmem-config bash -c "V setmem lvrs-pv 120M --config && V dumpxml --inactive lvrs-pv | grep currentMemory"
step setvcpus-live bash -c "V setvcpus lvrs-pv 2 --live && V vcpucount lvrs-pv && xl vcpu-list lvrs-pv"
step setvcpus-config bash -c "V setvcpus lvrs-pv 2 --config && V dumpxml --inactive lvrs-pv | grep '<vcpu'"
step suspend bash -c "V suspend lvrs-pv && V domstate lvrs-pv | grep paused"
step resume bash -c "V resume lvrs-pv && V domstate lvrs-pv | grep running"

# Save / restore
step save bash -c "time V save lvrs-pv $W/pv.save && ls -la $W/pv.save && head -c 16 $W/pv.save | od -c | head -2"
step state-after-save bash -c "V domstate --reason lvrs-pv | grep -i 'shut off (saved)'"
step restore bash -c "time V restore $W/pv.save"
step state-after-restore bash -c "V domstate --reason lvrs-pv | grep -i 'running (restored)'"
step console-after-restore ./console.py "$URI" lvrs-pv 'echo LVRS-RESTORED-$((2+3))' LVRS-RESTORED-5 60
step managedsave bash -c "V managedsave lvrs-pv && V dominfo lvrs-pv | grep -E 'State|Managed save'"
step list-managedsave bash -c "V list --all --managed-save | grep lvrs-pv"
step start-from-managedsave bash -c "V start lvrs-pv && V domstate --reason lvrs-pv && V dominfo lvrs-pv | grep -E 'Managed save: +no'"
step console-after-managedsave ./console.py "$URI" lvrs-pv 'echo LVRS-MANAGED-$((3+4))' LVRS-MANAGED-7 60

# The guest reboots by itself: on_reboot=restart gives it a new domain id
OLDID=$(V domid lvrs-pv)
step guest-reboot ./console.py "$URI" lvrs-pv 'reboot -f' 'reboot' 20
step restarted-after-guest-reboot wait_for 120 "[ \"\$(V domid lvrs-pv 2>/dev/null)\" != '$OLDID' ] && V domstate lvrs-pv | grep -q running"
echo "domain id $OLDID -> $(V domid lvrs-pv)"

# PVH guest, transient
step create-pvh bash -c "time V create $W/pvh.xml"
step pvh-console-marker wait_for 120 "grep -q LVRS-GUEST /var/log/xen/console/guest-lvrs-pvh.log"
grep LVRS-GUEST /var/log/xen/console/guest-lvrs-pvh.log | tr -d '\r'
step list-two V list --all

# Daemon restart with guests running
step kill-daemon bash -c "kill -9 $DPID; sleep 1; ! kill -0 $DPID 2>/dev/null"
ls -la /run/libvirt/libxl/
step restart-daemon start_daemon
step found-again bash -c "V list --all | tee /dev/stderr | grep -E 'lvrs-pv +running' && V list | grep -E 'lvrs-pvh +running'"
step controllable-after-restart ./console.py "$URI" lvrs-pv 'echo LVRS-AGAIN-$((4+4))' LVRS-AGAIN-8 60
kill $EVPID 2>/dev/null
virsh -c "$URI" event --all --loop --timeout 600 >> $W/events.log 2>&1 &
EVPID=$!
sleep 1

# The guest powers off by itself: the event thread notices
step guest-poweroff ./console.py "$URI" lvrs-pvh 'poweroff -f' 'poweroff' 20
step transient-gone-after-poweroff wait_for 60 "! V list --all | grep -q lvrs-pvh"
step shutdown bash -c "V shutdown lvrs-pv"
step shut-off-after-shutdown wait_for 120 "V domstate lvrs-pv | grep -q 'shut off'"
V domstate --reason lvrs-pv
step start-again V start lvrs-pv
step destroy bash -c "time V destroy lvrs-pv"
step domstate-destroyed bash -c "V domstate --reason lvrs-pv | grep -i 'shut off (destroyed)'"
step undefine V undefine lvrs-pv
step list-empty bash -c "[ -z \"\$(V list --all --name | tr -d '[:space:]')\" ]"
step xl-list-empty bash -c "xl list | tee /dev/stderr | awk 'NR>1' | grep -v Domain-0 | wc -l | grep -qx 0"

sleep 2
kill $EVPID 2>/dev/null
echo "--- events seen by 'virsh event --all --loop'"
cat $W/events.log
for e in "'lifecycle' for domain 'lvrs-pv': Defined Added" \
         "'lifecycle' for domain 'lvrs-pv': Started Booted" \
         "'lifecycle' for domain 'lvrs-pv': Suspended Paused" \
         "'lifecycle' for domain 'lvrs-pv': Stopped Saved" \
         "'lifecycle' for domain 'lvrs-pv': Started Restored" \
         "'lifecycle' for domain 'lvrs-pvh': Stopped Shutdown" \
         "'lifecycle' for domain 'lvrs-pv': Stopped Shutdown" \
         "'lifecycle' for domain 'lvrs-pv': Stopped Destroyed" \
         "'lifecycle' for domain 'lvrs-pv': Undefined Removed"; do
  check "event: $e" "grep -qF \"$e\" $W/events.log"
done

kill $DPID 2>/dev/null
echo "--- virtxend log"
cat $W/virtxend.log
echo "run.sh: $FAILS failed step(s)"
exit $FAILS

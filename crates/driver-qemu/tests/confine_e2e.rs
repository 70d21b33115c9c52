// SPDX-License-Identifier: LGPL-2.1-or-later
//! QEMU processes confined as libvirt confines them, driven by the real
//! virsh against virtqemud and the real QEMU: each guest's QEMU in its
//! own cgroup `/machine/qemu-ID-NAME.libvirt-qemu` below the daemon's
//! placement in every hierarchy (its threads in the `emulator` and
//! `vcpuN` sub-groups of the cpu hierarchies), carrying the XML's
//! `<cputune>` and `<memtune>`, a device list of qemu.conf's ACL, and
//! gone once the guest stops; a hotplugged block device joins the
//! device list; `virsh schedinfo` and `memtune` (live and
//! `--config`) print what Debian's C libvirtd prints for the same guest.
//!
//! Run: `cargo build -p virtqemud && cargo test -p driver-qemu --test confine_e2e`.

use std::path::PathBuf;

use test_support::*;

fn ok(o: &Out, what: &str) -> String {
    assert!(o.ok, "{what}: {}", o.stderr);
    o.stdout.clone()
}

/// Defines a boot-sector guest `name` with `extra` XML (tuning elements).
fn define_bootsector(t: &TempDir, uri: &str, name: &str, extra: &str) {
    let floppy = t.join("boot.img");
    if !floppy.exists() {
        boot_floppy(&floppy);
    }
    let ty = system_guest_type();
    let xml = format!(
        "<domain type='{ty}'>\n  <name>{name}</name>\n  <memory unit='KiB'>32768</memory>\n  <vcpu>1</vcpu>\n{extra}  <os>\n    <type arch='x86_64'>hvm</type>\n    <boot dev='fd'/>\n  </os>\n  <devices>\n    <disk type='file' device='floppy'>\n      <source file='{}'/>\n      <target dev='fda' bus='fdc'/>\n      <readonly/>\n    </disk>\n  </devices>\n</domain>\n",
        floppy.display()
    );
    let path = t.join(&format!("{name}.xml"));
    std::fs::write(&path, xml).unwrap_or_else(|e| panic!("{e}"));
    ok(
        &virsh_uri(uri, &["define", &path.display().to_string()]),
        "define",
    );
}

/// This process's placement (the daemon it starts inherits it) in the
/// hierarchy with controller `ctrl` (`""` for the unified one).
fn own_placement(ctrl: &str) -> Option<String> {
    let text = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    text.lines().find_map(|l| {
        let mut it = l.splitn(3, ':');
        let id = it.next()?;
        let ctrls = it.next()?;
        let path = it.next()?;
        let hit = if ctrl.is_empty() {
            id == "0"
        } else {
            ctrls.split(',').any(|c| c == ctrl)
        };
        hit.then(|| path.trim_end_matches('/').to_string())
    })
}

/// Where `pid` is in the hierarchy with controller `ctrl`.
fn placement_of(pid: u32, ctrl: &str) -> Option<String> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
    text.lines().find_map(|l| {
        let mut it = l.splitn(3, ':');
        let _id = it.next()?;
        let ctrls = it.next()?;
        let path = it.next()?;
        ctrls
            .split(',')
            .any(|c| c == ctrl)
            .then(|| path.to_string())
    })
}

fn v1_dir(ctrl: &str, rel: &str) -> PathBuf {
    PathBuf::from(format!("/sys/fs/cgroup/{ctrl}{rel}"))
}

fn read(p: &std::path::Path) -> String {
    std::fs::read_to_string(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .trim()
        .to_string()
}

fn v1_cgroups_or_skip() -> bool {
    if !is_root() {
        skip("cgroups are used by the system instance (root)");
        return false;
    }
    for c in ["memory", "cpu", "devices"] {
        if !std::path::Path::new(&format!("/sys/fs/cgroup/{c}/cgroup.procs")).exists() {
            skip(format!("no v1 {c} hierarchy at /sys/fs/cgroup/{c}"));
            return false;
        }
    }
    true
}

#[test]
fn qemu_runs_in_its_machine_group_with_its_tuning_and_the_group_goes_with_it() {
    skip_if!(qemu_cant_run());
    if !v1_cgroups_or_skip() {
        return;
    }
    let t = TempDir::new("qemu-cgroup");
    let _reaper = reaper(&t);
    let (_d, uri) = start_virtqemud(&t);
    let name = "confined-cg";
    define_bootsector(
        &t,
        &uri,
        name,
        "  <memtune>\n    <hard_limit unit='KiB'>1048576</hard_limit>\n    <soft_limit unit='KiB'>524288</soft_limit>\n  </memtune>\n  <cputune>\n    <shares>1536</shares>\n    <period>100000</period>\n    <quota>50000</quota>\n    <emulator_period>200000</emulator_period>\n    <emulator_quota>80000</emulator_quota>\n  </cputune>\n",
    );
    ok(&virsh_uri(&uri, &["start", name]), "start");
    let pid = guest_pid(&t, name);
    let id = ok(&virsh_uri(&uri, &["domid", name]), "domid")
        .trim()
        .to_string();
    let group = format!("/machine/qemu-{id}-{name}.libvirt-qemu");

    // The process is in its group; its threads in the cpu hierarchy are
    // in the emulator and vCPU sub-groups.
    let mem_base = own_placement("memory").unwrap_or_default();
    let mem_rel = format!("{mem_base}{group}");
    assert_eq!(
        placement_of(pid, "memory").as_deref(),
        Some(mem_rel.as_str())
    );
    let cpu_base = own_placement("cpu").unwrap_or_default();
    let cpu_rel = format!("{cpu_base}{group}");
    assert_eq!(
        placement_of(pid, "cpu").as_deref(),
        Some(format!("{cpu_rel}/emulator").as_str())
    );
    let vcpu0 = v1_dir("cpu", &format!("{cpu_rel}/vcpu0"));
    let vcpu_tasks = read(&vcpu0.join("tasks"));
    assert_eq!(vcpu_tasks.lines().count(), 1, "vcpu0 tasks: {vcpu_tasks}");
    let tid = vcpu_tasks.trim();
    assert!(
        std::path::Path::new(&format!("/proc/{pid}/task/{tid}")).exists(),
        "vcpu0's thread {tid} is not QEMU's"
    );

    // The tuning of the XML is in the group's files.
    let mem = v1_dir("memory", &mem_rel);
    assert_eq!(read(&mem.join("memory.limit_in_bytes")), "1073741824");
    assert_eq!(read(&mem.join("memory.soft_limit_in_bytes")), "536870912");
    let cpu = v1_dir("cpu", &cpu_rel);
    assert_eq!(read(&cpu.join("cpu.shares")), "1536");
    assert_eq!(read(&vcpu0.join("cpu.cfs_quota_us")), "50000");
    assert_eq!(read(&vcpu0.join("cpu.cfs_period_us")), "100000");
    let emu = cpu.join("emulator");
    assert_eq!(read(&emu.join("cpu.cfs_quota_us")), "80000");
    assert_eq!(read(&emu.join("cpu.cfs_period_us")), "200000");

    // The device list allows the default ACL and ptys, nothing else.
    let dev_rel = format!("{}{group}", own_placement("devices").unwrap_or_default());
    let list = read(&v1_dir("devices", &dev_rel).join("devices.list"));
    assert!(!list.contains("a *:* rwm"), "devices.list: {list}");
    for rule in ["c 1:3 rw", "c 1:5 rw", "c 1:8 rw", "c 1:9 rw", "c 136:* rw"] {
        assert!(list.lines().any(|l| l == rule), "{rule} missing: {list}");
    }

    ok(&virsh_uri(&uri, &["destroy", name]), "destroy");
    for (ctrl, rel) in [
        ("memory", &mem_rel),
        ("cpu", &cpu_rel),
        ("devices", &dev_rel),
    ] {
        let d = v1_dir(ctrl, rel);
        assert!(!d.exists(), "{} is left after destroy", d.display());
    }
}

/// No hard limit: C libvirtd raises QEMU's locked-memory limit to it,
/// which this test's sandbox may refuse.
const TUNED: &str = "  <memtune>\n    <soft_limit unit='KiB'>524288</soft_limit>\n  </memtune>\n  <cputune>\n    <shares>1536</shares>\n    <period>100000</period>\n    <quota>50000</quota>\n    <emulator_period>200000</emulator_period>\n    <emulator_quota>80000</emulator_quota>\n  </cputune>\n";

/// `virsh schedinfo` and `memtune` of `name`, with the config values of
/// the definition, as printed.
fn tuning(uri: &str, name: &str) -> Vec<String> {
    let mut out = Vec::new();
    for args in [
        vec!["schedinfo", name],
        vec!["schedinfo", "--config", name],
        vec!["memtune", name],
        vec!["memtune", "--config", name],
    ] {
        let o = virsh_uri(uri, &args);
        out.push(format!(
            "{}: {}{}",
            args.join(" ").replace(name, "NAME"),
            o.stdout.trim(),
            o.stderr.trim()
        ));
    }
    out
}

#[test]
fn schedinfo_and_memtune_read_as_c_libvirtd_reads_them() {
    skip_if!(qemu_cant_run());
    if !v1_cgroups_or_skip() {
        return;
    }
    let t = TempDir::new("qemu-cgroup-diff");
    let _reaper = reaper(&t);
    let (_d, uri) = start_virtqemud(&t);
    let conf = "stdio_handler = \"file\"\nuser = \"root\"\ngroup = \"root\"\n";
    let Some((_c, c_sock)) = start_c_libvirtd_with(&t, &["qemu"], Some(conf)) else {
        return;
    };
    let c_uri = format!("qemu:///system?socket={}", c_sock.display());
    // Different names: both daemons run below this test's placement.
    define_bootsector(&t, &uri, "tuned-ours", TUNED);
    define_bootsector(&t, &c_uri, "tuned-c", TUNED);
    let inactive = (tuning(&uri, "tuned-ours"), tuning(&c_uri, "tuned-c"));
    ok(&virsh_uri(&uri, &["start", "tuned-ours"]), "start ours");
    ok(&virsh_uri(&c_uri, &["start", "tuned-c"]), "start C");
    let running = (tuning(&uri, "tuned-ours"), tuning(&c_uri, "tuned-c"));
    let _ = virsh_uri(&c_uri, &["destroy", "tuned-c"]);
    let _ = virsh_uri(&uri, &["destroy", "tuned-ours"]);
    // The values are what the XML asked for, read back from the group.
    let sched = &running.0[0];
    for want in [
        "cpu_shares     : 1536",
        "vcpu_quota     : 50000",
        "emulator_quota : 80000",
    ] {
        assert!(sched.contains(want), "{want} missing: {sched}");
    }
    assert!(
        running.0[2].contains("soft_limit     : 524288"),
        "{}",
        running.0[2]
    );
    assert_eq!(inactive.0, inactive.1, "inactive: ours vs C");
    assert_eq!(running.0, running.1, "running: ours vs C");
}

/// A loop device over a small file in `t`, detached when dropped.
struct Loop(String);

impl Drop for Loop {
    fn drop(&mut self) {
        let _ = std::process::Command::new("losetup")
            .args(["-d", &self.0])
            .status();
    }
}

#[test]
fn a_hotplugged_block_device_joins_the_guests_device_list() {
    skip_if!(qemu_cant_run());
    if !v1_cgroups_or_skip() {
        return;
    }
    let t = TempDir::new("qemu-cgroup-dev");
    let backing = t.join("disk.raw");
    std::fs::write(&backing, vec![0u8; 1 << 20]).unwrap_or_else(|e| panic!("{e}"));
    let out = std::process::Command::new("losetup")
        .args(["--find", "--show", &backing.display().to_string()])
        .output();
    let dev = match out {
        Ok(o) if o.status.success() => text(&o.stdout).trim().to_string(),
        _ => {
            skip("no loop device could be set up (losetup)");
            return;
        }
    };
    let _loop = Loop(dev.clone());
    let _reaper = reaper(&t);
    let (_d, uri) = start_virtqemud(&t);
    let name = "confined-dev";
    // ACPI: PCI hotplug needs it on pc machines.
    define_bootsector(&t, &uri, name, "  <features>\n    <acpi/>\n  </features>\n");
    ok(&virsh_uri(&uri, &["start", name]), "start");
    let id = ok(&virsh_uri(&uri, &["domid", name]), "domid")
        .trim()
        .to_string();
    let rel = format!(
        "{}/machine/qemu-{id}-{name}.libvirt-qemu",
        own_placement("devices").unwrap_or_default()
    );
    let list_file = v1_dir("devices", &rel).join("devices.list");
    let rdev = {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(&dev)
            .unwrap_or_else(|e| panic!("{dev}: {e}"))
            .rdev()
    };
    let rule = format!("b {}:{} rw", libc::major(rdev), libc::minor(rdev));
    assert!(
        !read(&list_file).lines().any(|l| l == rule),
        "{rule} allowed before the attach"
    );
    ok(
        &virsh_uri(
            &uri,
            &[
                "attach-disk",
                name,
                &dev,
                "vdb",
                "--targetbus",
                "virtio",
                "--sourcetype",
                "block",
            ],
        ),
        "attach-disk",
    );
    let list = read(&list_file);
    assert!(list.lines().any(|l| l == rule), "{rule} missing: {list}");
    ok(&virsh_uri(&uri, &["destroy", name]), "destroy");
}

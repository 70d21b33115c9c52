// SPDX-License-Identifier: LGPL-2.1-or-later
//! Storage pools on devices, end to end with virtstoraged and the real
//! virsh: an fs pool on a loop device (mkfs by build, mounted by start,
//! unmounted by destroy, still mounted and running after a SIGKILL of
//! the daemon), an LVM pool on a loop device (the volume group built,
//! started, deleted; logical volumes in a test of their own, ignored
//! where the kernel has no device-mapper), a netfs pool whose server does
//! not answer (and one on a real NFS export, ignored without one), and bad
//! input answered with libvirt's errors with nothing half made. Every
//! loop device, mount and volume group a test makes is removed when it
//! ends, pass or fail.

use std::path::{Path, PathBuf};
use std::process::Command;

use test_support::*;

fn sh(prog: &str, args: &[&str]) -> Out {
    let mut c = Command::new(prog);
    c.args(args).env("LVM_SUPPRESS_FD_WARNINGS", "1");
    run_cmd(c).into()
}

/// A loop device on a sparse file of the test's, detached on drop.
struct Loop {
    dev: String,
}

impl Loop {
    fn new(file: &Path, size: u64) -> Loop {
        let f = std::fs::File::create(file).expect("loop file");
        f.set_len(size).expect("size loop file");
        let o = sh("losetup", &["-f", "--show", &file.display().to_string()]);
        assert!(o.ok, "losetup: {}", o.stderr);
        Loop {
            dev: o.stdout.trim().to_string(),
        }
    }
}

impl Drop for Loop {
    fn drop(&mut self) {
        let _ = sh("losetup", &["-d", &self.dev]);
    }
}

/// Unmounts `dir` on drop if something is still mounted there.
struct Unmount(PathBuf);

impl Drop for Unmount {
    fn drop(&mut self) {
        if mounted_on(&self.0) {
            let _ = sh("umount", &["-l", &self.0.display().to_string()]);
        }
    }
}

/// Removes a volume group and its PV on drop if still there.
struct VgCleanup {
    vg: String,
    pv: String,
}

impl Drop for VgCleanup {
    fn drop(&mut self) {
        let _ = sh("vgremove", &["-f", &self.vg]);
        let _ = sh("pvremove", &["-ff", "-y", &self.pv]);
    }
}

fn mounted_on(dir: &Path) -> bool {
    let d = dir.display().to_string();
    std::fs::read_to_string("/proc/self/mounts")
        .unwrap_or_default()
        .lines()
        .any(|l| l.split(' ').nth(1) == Some(d.as_str()))
}

struct Lab {
    dir: TempDir,
    spec: Spec,
    daemon: Daemon,
    uri: String,
}

impl Lab {
    fn new(tag: &str) -> Lab {
        let dir = TempDir::new(tag);
        let spec = Spec::new(
            "virtstoraged",
            &dir,
            "auth_unix_rw = \"none\"\nauth_unix_ro = \"none\"\n",
        );
        let daemon = spec.start();
        let uri = format!("storage:///system?socket={}", spec.ready.display());
        Lab {
            dir,
            spec,
            daemon,
            uri,
        }
    }

    fn virsh(&self, args: &[&str]) -> Out {
        virsh_uri(&self.uri, args)
    }

    fn ok(&self, args: &[&str]) -> String {
        let o = self.virsh(args);
        assert!(o.ok, "virsh {args:?} failed: {}", o.stderr);
        o.stdout
    }

    fn fail(&self, args: &[&str]) -> String {
        let o = self.virsh(args);
        assert!(!o.ok, "virsh {args:?} unexpectedly succeeded: {}", o.stdout);
        o.stderr
    }

    fn define(&self, name: &str, xml: &str) {
        let f = self.dir.join(&format!("{name}.xml"));
        std::fs::write(&f, xml).expect("pool xml");
        self.ok(&["pool-define", &f.display().to_string()]);
    }
}

fn device_skip() -> Option<String> {
    if !is_root() {
        return Some("loop devices, mounts and LVM need root".into());
    }
    if !Path::new("/dev/loop-control").exists() {
        return Some("no loop device support (/dev/loop-control)".into());
    }
    for t in ["virsh", "losetup", "mkfs.ext4", "mount"] {
        if !tool_exists(t) && !Path::new("/usr/sbin").join(t).exists() {
            return Some(format!("needs {t}"));
        }
    }
    None
}

#[test]
fn fs_pool_on_a_loop_device_is_formatted_mounted_and_survives_sigkill() {
    if let Some(r) = device_skip() {
        return skip(r);
    }
    let mut lab = Lab::new("storage-fs");
    let lo = Loop::new(&lab.dir.join("fs.img"), 64 << 20);
    let mnt = lab.dir.join("mnt");
    let _unmount = Unmount(mnt.clone());
    lab.define(
        "fsp",
        &format!(
            "<pool type='fs'><name>fsp</name><source><device path='{}'/><format type='ext4'/></source><target><path>{}</path></target></pool>",
            lo.dev,
            mnt.display()
        ),
    );
    lab.ok(&["pool-build", "fsp", "--no-overwrite"]);
    // A device that holds a file system is not formatted again unasked.
    let e = lab.fail(&["pool-build", "fsp", "--no-overwrite"]);
    assert!(
        e.contains(&format!(
            "Storage pool already built: Device '{}' already formatted using 'ext4'",
            lo.dev
        )),
        "{e}"
    );
    lab.ok(&["pool-start", "fsp"]);
    assert!(mounted_on(&mnt), "not mounted after pool-start");
    lab.ok(&["vol-create-as", "fsp", "v1", "4M", "--format", "raw"]);
    assert!(mnt.join("v1").is_file());
    let info = lab.ok(&["pool-info", "--bytes", "fsp"]);
    let cap: u64 = info
        .lines()
        .find_map(|l| l.strip_prefix("Capacity:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    assert!(cap > 32 << 20 && cap <= 64 << 20, "{info}");

    lab.daemon.kill9();
    assert!(mounted_on(&mnt), "the mount went with the daemon");
    lab.daemon = lab.spec.start();
    assert!(lab.ok(&["pool-info", "fsp"]).contains("running"));
    assert!(lab.ok(&["vol-list", "fsp"]).contains("v1"));

    lab.ok(&["pool-destroy", "fsp"]);
    assert!(!mounted_on(&mnt), "still mounted after pool-destroy");
    lab.ok(&["pool-delete", "fsp"]);
    assert!(!mnt.exists());
    lab.ok(&["pool-undefine", "fsp"]);
}

fn lvm_skip() -> Option<String> {
    device_skip().or_else(|| {
        (!tool_exists("pvcreate") && !Path::new("/usr/sbin/pvcreate").exists())
            .then(|| "needs the LVM tools (lvm2)".to_string())
    })
}

/// Whether the kernel has device-mapper (the LVM tools make
/// /dev/mapper/control themselves, so the node alone says nothing).
fn have_device_mapper() -> bool {
    std::fs::read_to_string("/proc/misc")
        .unwrap_or_default()
        .contains("device-mapper")
}

/// A logical pool `vgp` on a loop device of `lab`, built and started; what
/// removes its volume group and loop device.
fn started_vg_pool(lab: &Lab) -> (Loop, VgCleanup, String) {
    let lo = Loop::new(&lab.dir.join("lvm.img"), 64 << 20);
    let vg = format!("lvrs{}", std::process::id());
    let cleanup = VgCleanup {
        vg: vg.clone(),
        pv: lo.dev.clone(),
    };
    lab.define(
        "vgp",
        &format!(
            "<pool type='logical'><name>vgp</name><source><device path='{}'/><name>{vg}</name></source><target><path>/dev/{vg}</path></target></pool>",
            lo.dev
        ),
    );
    lab.ok(&["pool-build", "vgp"]);
    let pvs = sh("pvs", &["--noheadings", "-o", "pv_name,vg_name"]).stdout;
    assert!(
        pvs.lines().any(|l| l.contains(&lo.dev) && l.contains(&vg)),
        "{pvs}"
    );
    lab.ok(&["pool-start", "vgp"]);
    let info = lab.ok(&["pool-info", "--bytes", "vgp"]);
    assert!(info.contains("running"), "{info}");
    let x = lab.ok(&["pool-dumpxml", "vgp"]);
    assert!(x.contains("<format type='lvm2'/>"), "{x}");
    (lo, cleanup, vg)
}

/// The pool `vgp` destroyed and deleted: its volume group and physical
/// volume are gone.
fn delete_vg_pool(lab: &Lab, lo: &Loop, vg: &str) {
    lab.ok(&["pool-destroy", "vgp"]);
    lab.ok(&["pool-delete", "vgp"]);
    let vgs = sh("vgs", &["--noheadings", "-o", "vg_name"]).stdout;
    assert!(!vgs.contains(vg), "{vgs}");
    let pvs = sh("pvs", &["--noheadings", "-o", "pv_name"]).stdout;
    assert!(!pvs.contains(&lo.dev), "{pvs}");
    lab.ok(&["pool-undefine", "vgp"]);
}

#[test]
fn logical_pool_on_a_loop_device_builds_starts_and_deletes_its_volume_group() {
    skip_if!(lvm_skip());
    let lab = Lab::new("storage-lvm");
    let (lo, _cleanup, vg) = started_vg_pool(&lab);
    if !have_device_mapper() {
        // Without device-mapper, lvcreate's own words come back through
        // libvirt's child-process error, and nothing is listed.
        let o = lab.virsh(&["vol-create-as", "vgp", "lv1", "8M"]);
        assert!(!o.ok, "lvcreate succeeded without device-mapper");
        assert!(
            o.stderr.contains("Child process (") && o.stderr.contains("lvcreate --name lv1"),
            "{}",
            o.stderr
        );
        assert!(!lab.ok(&["vol-list", "vgp"]).contains("lv1"));
    }
    delete_vg_pool(&lab, &lo, &vg);
}

#[test]
#[ignore = "needs a kernel with device-mapper (lvcreate makes logical volumes through it)"]
fn logical_pool_volumes_are_created_listed_and_deleted() {
    skip_if!(lvm_skip());
    assert!(have_device_mapper(), "this kernel has no device-mapper");
    let lab = Lab::new("storage-lv");
    let (lo, _cleanup, vg) = started_vg_pool(&lab);
    lab.ok(&["vol-create-as", "vgp", "lv1", "8M"]);
    let lvs = sh("lvs", &["--noheadings", "-o", "lv_name", &vg]).stdout;
    assert!(lvs.contains("lv1"), "{lvs}");
    assert!(lab.ok(&["vol-list", "vgp"]).contains("lv1"));
    lab.ok(&["vol-delete", "--pool", "vgp", "lv1"]);
    let lvs = sh("lvs", &["--noheadings", "-o", "lv_name", &vg]).stdout;
    assert!(!lvs.contains("lv1"), "{lvs}");
    delete_vg_pool(&lab, &lo, &vg);
}

#[test]
fn netfs_pool_without_a_server_fails_to_start_and_mounts_nothing() {
    if let Some(r) = device_skip() {
        return skip(r);
    }
    let lab = Lab::new("storage-netfs");
    let mnt = lab.dir.join("nfs");
    let _unmount = Unmount(mnt.clone());
    // Port 1 of the loopback answers nothing: the mount fails (there is
    // no NFS server here to run a positive test against).
    lab.define(
        "nfs",
        &format!(
            "<pool type='netfs'><name>nfs</name><source><host name='127.0.0.1' port='1'/><dir path='/export'/><format type='nfs'/></source><target><path>{}</path></target></pool>",
            mnt.display()
        ),
    );
    lab.ok(&["pool-build", "nfs"]);
    let o = lab.virsh(&["pool-start", "nfs"]);
    assert!(!o.ok, "pool-start of an unreachable NFS server succeeded");
    assert!(o.stderr.contains("Child process ("), "{}", o.stderr);
    assert!(
        o.stderr
            .contains("mount -o nodev,nosuid,noexec -t nfs 127.0.0.1:/export"),
        "{}",
        o.stderr
    );
    assert!(!mounted_on(&mnt));
    assert!(lab.ok(&["pool-info", "nfs"]).contains("inactive"));
    // A pool without its host is libvirt's error before anything runs.
    lab.define(
        "nohost",
        &format!(
            "<pool type='netfs'><name>nohost</name><source><dir path='/export'/></source><target><path>{}</path></target></pool>",
            lab.dir.join("nohost").display()
        ),
    );
    let e = lab.fail(&["pool-start", "nohost"]);
    assert!(
        e.contains("expected exactly 1 host for the storage pool"),
        "{e}"
    );
}

/// An NFS export to mount, `HOST:/DIR`, from LIBVIRT_RS_TEST_NFS.
fn nfs_export() -> (String, String) {
    let spec = std::env::var("LIBVIRT_RS_TEST_NFS").unwrap_or_default();
    let (host, dir) = spec
        .split_once(':')
        .expect("set LIBVIRT_RS_TEST_NFS=HOST:/EXPORT to an NFS export this host may mount");
    (host.to_string(), dir.to_string())
}

#[test]
#[ignore = "needs an NFS server (LIBVIRT_RS_TEST_NFS=HOST:/EXPORT)"]
fn netfs_pool_mounts_an_nfs_export_and_unmounts_it_on_destroy() {
    skip_if!(device_skip());
    let (host, export) = nfs_export();
    let lab = Lab::new("storage-nfs");
    let mnt = lab.dir.join("nfs");
    let _unmount = Unmount(mnt.clone());
    lab.define(
        "nfs",
        &format!(
            "<pool type='netfs'><name>nfs</name><source><host name='{host}'/><dir path='{export}'/><format type='nfs'/></source><target><path>{}</path></target></pool>",
            mnt.display()
        ),
    );
    lab.ok(&["pool-build", "nfs"]);
    lab.ok(&["pool-start", "nfs"]);
    assert!(mounted_on(&mnt));
    assert!(lab.ok(&["pool-info", "nfs"]).contains("running"));
    lab.ok(&["pool-destroy", "nfs"]);
    assert!(!mounted_on(&mnt));
    lab.ok(&["pool-undefine", "nfs"]);
}

#[test]
fn bad_input_gets_libvirts_errors_and_leaves_nothing_behind() {
    if !tool_exists("virsh") || !tool_exists("qemu-img") {
        return skip("needs virsh and qemu-img");
    }
    let lab = Lab::new("storage-bad");
    let target = lab.dir.join("pool");
    let t = target.display().to_string();
    lab.ok(&["pool-create-as", "p", "dir", "--target", &t, "--build"]);
    // The same name again, and a second pool on the same directory.
    let e = lab.fail(&["pool-create-as", "p", "dir", "--target", &t]);
    assert!(
        e.contains("pool is already active as 'p'") || e.contains("already exists"),
        "{e}"
    );
    let e = lab.fail(&["pool-define-as", "q", "dir", "--target", &t]);
    assert!(e.contains("Storage source conflict with pool: 'p'"), "{e}");
    // A volume larger than the file system for a non-sparse format: the
    // allocation fails and no file stays.
    let e = lab.fail(&[
        "vol-create-as",
        "p",
        "huge.raw",
        "100T",
        "--allocation",
        "100T",
        "--format",
        "raw",
    ]);
    assert!(
        e.contains("cannot extend file") || e.contains("cannot allocate"),
        "{e}"
    );
    assert!(
        !target.join("huge.raw").exists(),
        "a half-made volume stayed"
    );
    // A malformed capacity, an unknown format, a name with a slash.
    let f = lab.dir.join("v.xml");
    for (xml, want) in [
        (
            "<volume><name>x</name><capacity>20M</capacity></volume>",
            "malformed capacity element",
        ),
        (
            "<volume><name>x</name><capacity>1024</capacity><target><format type='bogus'/></target></volume>",
            "unknown volume format type bogus",
        ),
        (
            "<volume><name>../x</name><capacity>1024</capacity></volume>",
            "volume name '../x' cannot contain '/'",
        ),
    ] {
        std::fs::write(&f, xml).expect("vol xml");
        let e = lab.fail(&["vol-create", "p", &f.display().to_string()]);
        assert!(e.contains(want), "{xml}: {e}");
    }
    assert_eq!(
        std::fs::read_dir(&target).map(|r| r.count()).unwrap_or(99),
        0
    );
    assert!(!lab.dir.join("x").exists());
    // A malformed image header (its backing file name points outside
    // it): libvirt's probe takes its format and size and nothing else,
    // the pool keeps running and the file is left as it is.
    let mut h = vec![0u8; 512];
    h[..4].copy_from_slice(b"QFI\xfb");
    h[4..8].copy_from_slice(&2u32.to_be_bytes());
    h[8..16].copy_from_slice(&200u64.to_be_bytes());
    h[16..20].copy_from_slice(&60000u32.to_be_bytes());
    h[24..32].copy_from_slice(&(1u64 << 20).to_be_bytes());
    std::fs::write(target.join("bad.qcow2"), &h).expect("bad header");
    lab.ok(&["pool-refresh", "p"]);
    let x = lab.ok(&["vol-dumpxml", "--pool", "p", "bad.qcow2"]);
    assert!(x.contains("<format type='qcow2'/>"), "{x}");
    assert!(
        x.contains("<capacity unit='bytes'>1048576</capacity>"),
        "{x}"
    );
    assert!(!x.contains("<backingStore>"), "{x}");
    assert_eq!(std::fs::read(target.join("bad.qcow2")).ok(), Some(h));
    assert!(lab.ok(&["pool-info", "p"]).contains("running"));
    lab.ok(&["vol-delete", "--pool", "p", "bad.qcow2"]);
    lab.ok(&["pool-destroy", "p"]);
}

#[test]
fn disk_pool_on_a_loop_device_gets_a_label_and_partitions() {
    if let Some(r) = device_skip() {
        return skip(r);
    }
    if !tool_exists("parted") && !Path::new("/usr/sbin/parted").exists() {
        return skip("needs parted");
    }
    let lab = Lab::new("storage-disk");
    let file = lab.dir.join("disk.img");
    std::fs::File::create(&file)
        .and_then(|f| f.set_len(64 << 20))
        .expect("disk image");
    // Partition scanning, so the kernel makes the partitions' nodes.
    let o = sh(
        "losetup",
        &["-f", "--show", "-P", &file.display().to_string()],
    );
    assert!(o.ok, "losetup -P: {}", o.stderr);
    let lo = Loop {
        dev: o.stdout.trim().to_string(),
    };
    let base = Path::new(&lo.dev)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    lab.define(
        "dk",
        &format!(
            "<pool type='disk'><name>dk</name><source><device path='{}'/><format type='dos'/></source><target><path>/dev</path></target></pool>",
            lo.dev
        ),
    );
    let e = lab.fail(&["pool-start", "dk"]);
    assert!(
        e.contains(&format!(
            "Device '{}' is unrecognized, requires build",
            lo.dev
        )),
        "{e}"
    );
    lab.ok(&["pool-build", "dk"]);
    let e = lab.fail(&["pool-build", "dk"]);
    assert!(e.contains("already formatted using 'dos'"), "{e}");
    lab.ok(&["pool-start", "dk"]);
    let e = lab.fail(&["vol-create-as", "dk", "data", "8M"]);
    assert!(
        e.contains(&format!(
            "invalid partition name 'data', expected '{base}p1'"
        )),
        "{e}"
    );
    lab.ok(&["vol-create-as", "dk", &format!("{base}p1"), "8M"]);
    lab.ok(&["vol-create-as", "dk", &format!("{base}p2"), "16M"]);
    let table = sh("parted", &["-s", "-m", &lo.dev, "unit", "B", "print"]).stdout;
    assert!(table.contains("\n1:") && table.contains("\n2:"), "{table}");
    let vols = lab.ok(&["vol-list", "dk"]);
    assert!(vols.contains(&format!("/dev/{base}p2")), "{vols}");
    // Where the partition lies, as libvirt shows it (end exclusive): from
    // the first free byte to a cylinder boundary (255 heads of 2 sectors
    // on a loop device, as libparted sees it).
    let x = lab.ok(&["vol-dumpxml", "--pool", "dk", &format!("{base}p1")]);
    assert!(
        x.contains(&format!(
            "<device path='{}'>\n      <extent start='1024' end='8616960'/>",
            lo.dev
        )),
        "{x}"
    );
    lab.ok(&["vol-delete", "--pool", "dk", &format!("{base}p1")]);
    let table = sh("parted", &["-s", "-m", &lo.dev, "unit", "B", "print"]).stdout;
    assert!(!table.contains("\n1:") && table.contains("\n2:"), "{table}");
    lab.ok(&["pool-destroy", "dk"]);
    lab.ok(&["pool-undefine", "dk"]);
}

/// A pool whose device hangs (a FIFO nobody reads: opening it for
/// writing waits, as a read of a hung NFS server does) holds up only
/// the callers of that pool: while its build hangs, another pool makes
/// volumes, listings answer, the hung pool's own state answers, and other
/// pool-wide calls on it are refused as libvirt refuses them, not queued.
#[test]
fn a_hung_device_on_one_pool_blocks_no_other_pool() {
    if !tool_exists("virsh") || !tool_exists("mkfifo") {
        return skip("needs virsh and mkfifo");
    }
    let lab = Lab::new("storage-hang");
    let fifo = lab.dir.join("hung-device");
    assert!(sh("mkfifo", &[&fifo.display().to_string()]).ok, "mkfifo");
    lab.define(
        "hung",
        &format!(
            "<pool type='disk'><name>hung</name><source><device path='{}'/><format type='dos'/></source><target><path>/dev</path></target></pool>",
            fifo.display()
        ),
    );
    let free = lab.dir.join("free").display().to_string();
    lab.ok(&[
        "pool-create-as",
        "free",
        "dir",
        "--target",
        &free,
        "--build",
    ]);

    let uri = lab.uri.clone();
    let build = std::thread::spawn(move || virsh_uri(&uri, &["pool-build", "hung"]));
    // The build is under way (and hung on the device) once another
    // pool-wide call on that pool is refused (pool-delete: harmless when
    // it is not, as a disk pool cannot be deleted).
    assert!(
        eventually(|| lab
            .virsh(&["pool-delete", "hung"])
            .stderr
            .contains("storage pool 'hung' is starting up")),
        "the build never got under way"
    );
    lab.ok(&["vol-create-as", "free", "v.raw", "1M"]);
    assert!(lab.ok(&["vol-list", "free"]).contains("v.raw"));
    assert!(lab.ok(&["pool-list", "--all"]).contains("hung"));
    assert!(lab.ok(&["pool-info", "hung"]).contains("inactive"));
    assert!(
        !build.is_finished(),
        "the build ended while its device hung"
    );
    let e = lab.fail(&["pool-build", "hung"]);
    assert!(e.contains("storage pool 'hung' is starting up"), "{e}");

    // The device answers (its reader comes and goes): the build ends,
    // failing on what a FIFO is not (seekable), and the pool is free.
    drop(std::fs::File::open(&fifo).expect("open the FIFO's reading end"));
    let o = build.join().expect("build thread");
    assert!(!o.ok, "building a disk label on a FIFO succeeded");
    let e = lab.fail(&["pool-delete", "hung"]);
    assert!(e.contains("pool does not support pool deletion"), "{e}");
    lab.ok(&["pool-undefine", "hung"]);
    lab.ok(&["pool-destroy", "free"]);
}

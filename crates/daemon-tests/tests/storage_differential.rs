// SPDX-License-Identifier: LGPL-2.1-or-later
//! The same virsh session against Debian's C libvirtd (its storage driver
//! only, in a mount namespace where /run/libvirt and /etc/libvirt are
//! empty tmpfs mounts, so its definitions stay private) and against our
//! virtstoraged, each on a pool directory of its own: every output and
//! error must be the same once the directories, UUIDs, file times and
//! the file system's free space (which moves between the two runs) are
//! written the same way.

use std::path::{Path, PathBuf};
use std::process::Command;

use test_support::*;

const C_LIBVIRTD: &str = "/usr/sbin/libvirtd";
const C_STORAGE_MODULE: &str =
    "/usr/lib/x86_64-linux-gnu/libvirt/connection-driver/libvirt_driver_storage.so";

fn skip_reason() -> Option<String> {
    if !is_root() {
        return Some("the C libvirtd reference runs as root".into());
    }
    for p in [C_LIBVIRTD, C_STORAGE_MODULE] {
        if !Path::new(p).exists() {
            return Some(format!(
                "{p} is not installed (Debian package libvirt-daemon)"
            ));
        }
    }
    for t in ["virsh", "unshare", "qemu-img"] {
        if !tool_exists(t) {
            return Some(format!("needs {t}"));
        }
    }
    None
}

/// Debian's C libvirtd with only its storage driver; its socket.
fn start_c(dir: &TempDir) -> (Daemon, PathBuf) {
    let run = dir.join("run");
    let drivers = dir.join("c-drivers");
    std::fs::create_dir_all(&run).expect("run dir");
    std::fs::create_dir_all(&drivers).expect("driver dir");
    std::os::unix::fs::symlink(C_STORAGE_MODULE, drivers.join("libvirt_driver_storage.so"))
        .expect("link");
    let conf = dir.join("c-libvirtd.conf");
    std::fs::write(
        &conf,
        format!(
            "unix_sock_dir = \"{}\"\nauth_unix_rw = \"none\"\nauth_unix_ro = \"none\"\n\
             listen_tls = 0\nlisten_tcp = 0\nlog_outputs = \"3:file:{}\"\n",
            run.display(),
            dir.join("c-libvirtd.log").display()
        ),
    )
    .expect("conf");
    let script = format!(
        "mount -t tmpfs tmpfs /run/libvirt && mount -t tmpfs tmpfs /etc/libvirt && exec {C_LIBVIRTD} -f '{}' -p '{}'",
        conf.display(),
        dir.join("c.pid").display()
    );
    let mut cmd = Command::new("unshare");
    cmd.args(["-m", "--propagation", "private", "sh", "-c", &script])
        .env("LIBVIRT_DRIVER_DIR", &drivers);
    let sock = run.join("libvirt-sock");
    (Daemon::start_cmd(cmd, dir, &sock), sock)
}

/// What a command printed, with what legitimately differs between the
/// two runs written the same way.
fn normalise(text: &str, dir: &Path) -> String {
    let d = dir.display().to_string();
    // Whether a client sees a stream's error while sending or at its
    // finish depends on timing, in C's daemon too.
    let text = text.replace("cannot send data to volume", "cannot close volume");
    let text = text.as_str();
    let mut out = Vec::new();
    let mut in_times = false;
    for line in text.replace(&d, "DIR").lines() {
        let t = line.trim();
        if t == "<timestamps>" {
            in_times = true;
            continue;
        }
        if in_times {
            in_times = t != "</timestamps>";
            continue;
        }
        let mut l = line.to_string();
        if t.starts_with("<uuid>") {
            l = "  <uuid>UUID</uuid>".into();
        }
        if t.starts_with("UUID:") {
            l = "UUID: UUID".into();
        }
        // The file system's sizes move with what else writes to it.
        for tag in [
            "<capacity unit='bytes'>",
            "<allocation unit='bytes'>",
            "<available unit='bytes'>",
        ] {
            if t.starts_with(tag)
                && line.starts_with("  <")
                && !line.starts_with("    ")
                && text.contains("<pool")
            {
                l = format!("  {tag}N</{}>", &tag[1..tag.find(' ').unwrap_or(1)]);
            }
        }
        for key in ["Capacity:", "Allocation:", "Available:"] {
            if t.starts_with(key) && text.contains("State:") {
                l = format!("{key} N");
            }
        }
        if text.contains("Allocation   Available") {
            l = l
                .split_whitespace()
                .map(|w| {
                    if w.contains('.') && w.parse::<f64>().is_ok() {
                        "N"
                    } else {
                        w
                    }
                })
                .collect::<Vec<_>>()
                .join(" ");
        }
        out.push(l);
    }
    out.join("\n")
}

struct Side {
    uri: String,
    dir: PathBuf,
}

impl Side {
    fn run(&self, args: &[String]) -> String {
        let o = virsh_uri(
            &self.uri,
            &args.iter().map(String::as_str).collect::<Vec<_>>(),
        );
        let status = if o.ok { "ok" } else { "FAILED" };
        format!(
            "{status}\n{}\n{}",
            normalise(&o.stdout, &self.dir),
            normalise(&o.stderr, &self.dir)
        )
    }
}

#[test]
fn virsh_storage_session_matches_c_libvirtd() {
    if let Some(r) = skip_reason() {
        return skip(r);
    }
    // Directory names of the same length keep virsh's columns aligned.
    let cdir = TempDir::new("stdiff-c");
    let rdir = TempDir::new("stdiff-r");
    let (_c, csock) = start_c(&cdir);
    let spec = Spec::new(
        "virtstoraged",
        &rdir,
        "auth_unix_rw = \"none\"\nauth_unix_ro = \"none\"\n",
    );
    let _ours = spec.start();
    let c = Side {
        uri: format!("storage:///system?socket={}", csock.display()),
        dir: cdir.path().to_path_buf(),
    };
    let ours = Side {
        uri: format!("storage:///system?socket={}", spec.ready.display()),
        dir: rdir.path().to_path_buf(),
    };
    for side in [&c, &ours] {
        let x = side.dir.join("conv.xml");
        std::fs::write(
            &x,
            "<volume><name>conv.qcow2</name><capacity>0</capacity><target><format type='qcow2'/><compat>1.1</compat><features><lazy_refcounts/></features></target></volume>",
        )
        .expect("conv.xml");
        std::fs::write(side.dir.join("up.bin"), vec![7u8; 300_000]).expect("up.bin");
        std::fs::write(
            side.dir.join("bad.xml"),
            "<volume><name>bad</name><capacity>12Q</capacity></volume>",
        )
        .expect("bad.xml");
    }
    // Each step as a template: DIR is the side's own directory.
    let session: &[&str] = &[
        "pool-define-as st dir --target DIR/pool",
        "pool-start st",
        "pool-build st",
        "pool-start st",
        "pool-start st",
        "pool-dumpxml st",
        "pool-dumpxml --inactive st",
        "pool-autostart st",
        "pool-list --all --details",
        "pool-info st",
        "vol-create-as st a.raw 8M --format raw",
        "vol-create-as st s.raw 8M --allocation 0 --format raw",
        "vol-create-as st b.qcow2 16M --format qcow2",
        "vol-create-as st a.raw 1M",
        "vol-create st DIR/bad.xml",
        "vol-dumpxml --pool st a.raw",
        "vol-dumpxml --pool st b.qcow2",
        "vol-info --pool st s.raw",
        "vol-list st --details",
        "vol-clone --pool st a.raw c.raw",
        "vol-create-from st DIR/conv.xml a.raw --inputpool st",
        "vol-dumpxml --pool st conv.qcow2",
        "vol-resize --pool st b.qcow2 8M",
        "vol-resize --pool st b.qcow2 32M",
        "vol-resize --pool st s.raw 4M --shrink",
        "vol-info --pool st b.qcow2",
        "vol-wipe --pool st s.raw",
        "vol-wipe --pool st s.raw --algorithm trim",
        "vol-create-as st top.qcow2 16M --format qcow2 --backing-vol DIR/pool/b.qcow2 --backing-vol-format qcow2",
        "vol-dumpxml --pool st top.qcow2",
        "vol-create-as st raw-backed.raw 16M --format raw --backing-vol DIR/pool/b.qcow2 --backing-vol-format qcow2",
        "vol-create-as st huge.raw 100T --allocation 100T --format raw",
        "vol-create-as st pm.qcow2 8M --format qcow2 --prealloc-metadata",
        "vol-info --pool st pm.qcow2",
        "vol-create-as st pm.raw 8M --format raw --prealloc-metadata",
        "vol-create-as st part.raw 8M --allocation 1M --format raw",
        "vol-info --pool st part.raw",
        "vol-create-as st v.vmdk 8M --format vmdk",
        "vol-create-as st d.dir 0 --format dir",
        "vol-create-as st bogus.img 8M --format bogus",
        "vol-delete --pool st pm.qcow2",
        "vol-delete --pool st part.raw",
        "vol-delete --pool st v.vmdk",
        "vol-delete --pool st d.dir",
        "vol-upload --pool st a.raw DIR/up.bin --length 100",
        "vol-download --pool st a.raw DIR/down.bin --length 4096",
        "vol-upload --pool st a.raw DIR/up.bin",
        "vol-info --pool st a.raw",
        "vol-delete --pool st top.qcow2",
        "find-storage-pool-sources dir",
        "vol-key --pool st a.raw",
        "vol-path --pool st a.raw",
        "vol-name DIR/pool/a.raw",
        "vol-pool DIR/pool/a.raw",
        "vol-info DIR/pool/none.raw",
        "pool-refresh st",
        "vol-dumpxml --pool st b.qcow2",
        "vol-dumpxml --pool st conv.qcow2",
        "pool-delete st",
        "pool-undefine st",
        "vol-delete --pool st a.raw",
        "vol-delete --pool st s.raw",
        "vol-delete --pool st b.qcow2",
        "vol-delete --pool st c.raw",
        "vol-delete --pool st conv.qcow2",
        "pool-destroy st",
        "pool-info st",
        "vol-list st",
        "pool-delete st",
        "pool-undefine st",
        "pool-list --all",
        "pool-create-as tr dir --target DIR/nope",
        "pool-create-as tt dir --target DIR/tt --build",
        "pool-undefine tt",
        "pool-autostart tt",
        "pool-build tt",
        "pool-create tt",
        "pool-dumpxml --inactive tt",
        "pool-destroy tt",
        "pool-info tt",
        "pool-create-as i iscsi --source-host 127.0.0.1 --source-dev iqn.2000-01.com.example:t --target /dev/disk/by-path",
        "pool-create-as s scsi --adapter-name host99 --target /dev/disk/by-path",
        "pool-create-as m mpath --target /dev/mapper",
        "vol-list m",
        "vol-create-as m x 1M",
        "pool-destroy m",
        "pool-create-as r rbd --source-name x --source-host h",
        "pool-create-as z zfs --source-name x",
        "pool-create-as g gluster --source-host h --source-name v",
        "find-storage-pool-sources netfs",
        "find-storage-pool-sources bogus",
        "pool-capabilities",
    ];
    let mut diffs = Vec::new();
    let mut c_ok = 0;
    for step in session {
        let expand = |side: &Side| -> Vec<String> {
            step.split(' ')
                .map(|a| a.replace("DIR", &side.dir.display().to_string()))
                .collect()
        };
        let (a, b) = (c.run(&expand(&c)), ours.run(&expand(&ours)));
        c_ok += usize::from(a.starts_with("ok\n"));
        if a != b {
            diffs.push(format!("=== {step}\n--- C\n{a}\n--- ours\n{b}"));
        }
    }
    // The reference really did the work (not two daemons failing alike).
    assert!(c_ok > session.len() / 2, "C succeeded in only {c_ok} steps");
    assert!(
        diffs.is_empty(),
        "{} of {} steps differ:\n{}",
        diffs.len(),
        session.len(),
        diffs.join("\n")
    );
}

/// A loop device on a sparse file, detached on drop.
struct Loop(String);

impl Loop {
    fn new(file: &Path, size: u64, partscan: bool) -> Loop {
        std::fs::File::create(file)
            .and_then(|f| f.set_len(size))
            .expect("loop file");
        let mut c = Command::new("losetup");
        c.arg("-f").arg("--show");
        if partscan {
            c.arg("-P");
        }
        c.arg(file);
        let o = run_cmd(c);
        assert!(o.status.success(), "losetup: {}", text(&o.stderr));
        Loop(text(&o.stdout).trim().to_string())
    }
}

impl Drop for Loop {
    fn drop(&mut self) {
        let mut c = Command::new("losetup");
        c.args(["-d", &self.0]);
        let _ = run_cmd(c);
    }
}

/// Removes what a logical pool test may leave: its VG and PV.
struct VgGone(String, String);

impl Drop for VgGone {
    fn drop(&mut self) {
        for args in [
            vec!["vgremove", "-f", &self.0],
            vec!["pvremove", "-ff", "-y", &self.1],
        ] {
            let mut c = Command::new(args[0]);
            c.args(&args[1..]).env("LVM_SUPPRESS_FD_WARNINGS", "1");
            let _ = run_cmd(c);
        }
    }
}

#[test]
fn device_pools_match_c_libvirtd() {
    if let Some(r) = skip_reason() {
        return skip(r);
    }
    for t in ["losetup", "parted", "pvcreate", "mkfs.ext4"] {
        if !tool_exists(t) && !Path::new("/usr/sbin").join(t).exists() {
            return skip(format!("needs {t}"));
        }
    }
    let cdir = TempDir::new("devdiff-c");
    let rdir = TempDir::new("devdiff-r");
    let (_c, csock) = start_c(&cdir);
    let spec = Spec::new(
        "virtstoraged",
        &rdir,
        "auth_unix_rw = \"none\"\nauth_unix_ro = \"none\"\n",
    );
    let _ours = spec.start();
    let sides = [
        Side {
            uri: format!("storage:///system?socket={}", csock.display()),
            dir: cdir.path().to_path_buf(),
        },
        Side {
            uri: format!("storage:///system?socket={}", spec.ready.display()),
            dir: rdir.path().to_path_buf(),
        },
    ];
    // Per side: a loop device for fs, one for LVM, one for a disk label;
    // the VG names differ (written VG in the outputs).
    let mut keep = Vec::new();
    let mut loops = Vec::new();
    let mut vars = Vec::new();
    for (i, side) in sides.iter().enumerate() {
        let fs = Loop::new(&side.dir.join("fs.img"), 64 << 20, false);
        let lv = Loop::new(&side.dir.join("lv.img"), 64 << 20, false);
        let dk = Loop::new(&side.dir.join("dk.img"), 64 << 20, true);
        let vg = format!("lvrsd{}x{i}", std::process::id());
        keep.push(VgGone(vg.clone(), lv.0.clone()));
        for (name, xml) in [
            ("fs", format!("<pool type='fs'><name>f</name><source><device path='{}'/><format type='ext4'/></source><target><path>{}/mnt</path></target></pool>", fs.0, side.dir.display())),
            ("lv", format!("<pool type='logical'><name>l</name><source><device path='{}'/><name>{vg}</name></source><target><path>/dev/{vg}</path></target></pool>", lv.0)),
            ("dk", format!("<pool type='disk'><name>d</name><source><device path='{}'/><format type='dos'/></source><target><path>/dev</path></target></pool>", dk.0)),
        ] {
            std::fs::write(side.dir.join(format!("{name}.xml")), xml).expect("pool xml");
        }
        vars.push(vec![
            ("FSDEV", fs.0.clone()),
            ("LVDEV", lv.0.clone()),
            ("DKDEV", dk.0.clone()),
            ("DKBASE", dk.0.trim_start_matches("/dev/").to_string()),
            ("VG", vg),
        ]);
        loops.extend([fs, lv, dk]);
    }
    let session: &[&str] = &[
        "pool-define DIR/fs.xml",
        "pool-start f",
        "pool-build f",
        "pool-build f --no-overwrite",
        "pool-build f --no-overwrite",
        "pool-start f",
        "pool-info f",
        "vol-create-as f v.raw 4M",
        "vol-list f",
        "pool-dumpxml f",
        "vol-dumpxml --pool f v.raw",
        "pool-destroy f",
        "pool-delete f",
        "pool-undefine f",
        "pool-define DIR/lv.xml",
        "pool-start l",
        "pool-build l",
        "pool-start l",
        "pool-dumpxml l",
        "pool-info l",
        "vol-list l",
        "pool-destroy l",
        "pool-delete l",
        "pool-undefine l",
        "pool-define DIR/dk.xml",
        "pool-start d",
        "pool-build d",
        "pool-build d",
        "pool-start d",
        "pool-info d",
        // The free extents as libparted lists them (cylinder-aligned on
        // msdos labels), partitions placed on cylinder boundaries.
        "pool-dumpxml d",
        "vol-list d",
        "vol-create-as d DKBASEp1 8M",
        "vol-create-as d DKBASEp2 5000000",
        "pool-dumpxml d",
        "vol-list d --details",
        "vol-dumpxml --pool d DKBASEp2",
        "vol-create-as d DKBASEp3 60M",
        // Not compared: a partition's deletion (C passes "p1" to parted
        // as the partition number of a loop device's partition, and
        // fails).
        "pool-destroy d",
        "pool-undefine d",
    ];
    let mut diffs = Vec::new();
    for step in session {
        let outs: Vec<String> = sides
            .iter()
            .zip(&vars)
            .map(|(side, vars)| {
                let args: Vec<String> = step
                    .split(' ')
                    .map(|a| {
                        let mut a = a.replace("DIR", &side.dir.display().to_string());
                        for (k, v) in vars.iter().filter(|(k, _)| *k == "DKBASE") {
                            a = a.replace(k, v);
                        }
                        a
                    })
                    .collect();
                let mut o = side.run(&args);
                for (k, v) in vars {
                    o = o.replace(v.as_str(), k);
                }
                o
            })
            .collect();
        if outs[0] != outs[1] {
            diffs.push(format!(
                "=== {step}\n--- C\n{}\n--- ours\n{}",
                outs[0], outs[1]
            ));
        }
    }
    drop(keep);
    drop(loops);
    assert!(
        diffs.is_empty(),
        "{} of {} steps differ:\n{}",
        diffs.len(),
        session.len(),
        diffs.join("\n")
    );
}

/// Bad input through libvirt-python against both daemons: each error's
/// code, domain and message (what scripts match on) must be the same.
#[test]
fn python_error_codes_match_c_libvirtd() {
    if let Some(r) = skip_reason() {
        return skip(r);
    }
    if !python_available() {
        return skip("needs libvirt-python (python3-libvirt)");
    }
    let cdir = TempDir::new("pydiff-c");
    let rdir = TempDir::new("pydiff-r");
    let (_c, csock) = start_c(&cdir);
    let spec = Spec::new(
        "virtstoraged",
        &rdir,
        "auth_unix_rw = \"none\"\nauth_unix_ro = \"none\"\n",
    );
    let _ours = spec.start();
    let script = r#"
import libvirt, sys, re
uri, d = sys.argv[1], sys.argv[2]
libvirt.registerErrorHandler(lambda *a: None, None)
c = libvirt.open(uri)
out = []
def run(tag, f):
    try:
        r = f()
        out.append((tag, 'ok', r if isinstance(r, (int, str, list, tuple)) and not isinstance(r, bool) else None))
    except libvirt.libvirtError as e:
        msg = re.sub('[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}', 'UUID', e.get_error_message().replace(d, 'DIR'))
        out.append((tag, e.get_error_code(), e.get_error_domain(), msg))
pool_xml = "<pool type='dir'><name>p</name><target><path>%s/pool</path></target></pool>" % d
vol = "<volume><name>%s</name><capacity>%s</capacity><target><format type='%s'/></target></volume>"
run('lookup-missing', lambda: c.storagePoolLookupByName('nope'))
run('lookup-uuid-missing', lambda: c.storagePoolLookupByUUIDString('11111111-2222-3333-4444-555555555555'))
run('define-bad-xml', lambda: c.storagePoolDefineXML('<pool type="dir"><name>x</name>', 0))
run('define-bad-type', lambda: c.storagePoolDefineXML('<pool type="bogus"><name>x</name></pool>', 0))
run('define-no-target', lambda: c.storagePoolDefineXML('<pool type="dir"><name>x</name></pool>', 0))
run('define-bad-flag', lambda: c.storagePoolDefineXML(pool_xml, 1 << 7))
p = c.storagePoolDefineXML(pool_xml, 0)
run('start-missing-dir', lambda: p.create(0))
run('start-both-flags', lambda: p.create(libvirt.VIR_STORAGE_POOL_CREATE_WITH_BUILD_OVERWRITE | libvirt.VIR_STORAGE_POOL_CREATE_WITH_BUILD_NO_OVERWRITE))
run('create-xml-both-flags', lambda: c.storagePoolCreateXML(pool_xml.replace('<name>p</name>', '<name>t</name>'), libvirt.VIR_STORAGE_POOL_CREATE_WITH_BUILD_OVERWRITE | libvirt.VIR_STORAGE_POOL_CREATE_WITH_BUILD_NO_OVERWRITE))
run('info-inactive', lambda: list(p.info()))
run('list-vols-inactive', lambda: p.listVolumes())
run('create-vol-inactive', lambda: p.createXML(vol % ('a', 1024, 'raw'), 0))
run('build', lambda: p.build(0))
run('build-both-flags', lambda: p.build(libvirt.VIR_STORAGE_POOL_BUILD_OVERWRITE | libvirt.VIR_STORAGE_POOL_BUILD_NO_OVERWRITE))
run('start', lambda: p.create(0))
run('start-again', lambda: p.create(0))
run('build-active', lambda: p.build(0))
run('undefine-active', lambda: p.undefine())
run('delete-active', lambda: p.delete(0))
run('vol-create', lambda: p.createXML(vol % ('a.raw', 1048576, 'raw'), 0).name())
run('vol-dup', lambda: p.createXML(vol % ('a.raw', 1048576, 'raw'), 0))
run('vol-bad-cap', lambda: p.createXML(vol % ('b', '1X', 'raw'), 0))
run('vol-no-cap', lambda: p.createXML("<volume><name>b</name></volume>", 0))
run('vol-bad-format', lambda: p.createXML(vol % ('b', 1024, 'nope'), 0))
run('vol-slash', lambda: p.createXML(vol % ('x/y', 1024, 'raw'), 0))
run('vol-bad-flags', lambda: p.createXML(vol % ('b', 1024, 'raw'), 1 << 9))
run('vol-raw-prealloc', lambda: p.createXML(vol % ('b', 1024, 'raw'), libvirt.VIR_STORAGE_VOL_CREATE_PREALLOC_METADATA))
a = p.storageVolLookupByName('a.raw')
run('vol-lookup-missing', lambda: p.storageVolLookupByName('zz'))
run('vol-key-missing', lambda: c.storageVolLookupByKey('/nope'))
run('vol-path-missing', lambda: c.storageVolLookupByPath(d + '/pool/zz'))
run('vol-info', lambda: list(a.info()))
run('vol-resize-shrink', lambda: a.resize(1024, 0))
run('vol-resize-below-alloc', lambda: a.resize(1024, libvirt.VIR_STORAGE_VOL_RESIZE_SHRINK))
run('vol-resize-bad-flags', lambda: a.resize(1 << 30, 1 << 8))
run('vol-wipe-bad-alg', lambda: a.wipePattern(99, 0))
run('vol-wipe-trim', lambda: a.wipePattern(libvirt.VIR_STORAGE_VOL_WIPE_ALG_TRIM, 0))
run('vol-upload-bad-flags', lambda: a.upload(c.newStream(0), 0, 0, 1 << 5))
run('refresh-bad-flags', lambda: p.refresh(1))
run('xml-bad-flags', lambda: p.XMLDesc(1 << 4))
run('list-all-bad-flags', lambda: c.listAllStoragePools(1 << 25))
run('clone-dup', lambda: p.createXMLFrom(vol % ('a.raw', 0, 'raw'), a, 0))
run('clone', lambda: p.createXMLFrom(vol % ('c.raw', 0, 'raw'), a, 0).info())
c_vol = p.storageVolLookupByName('c.raw')
run('clone-bad-flags', lambda: p.createXMLFrom(vol % ('d.raw', 0, 'raw'), a, 1 << 8))
run('vol-xml-bad-flags', lambda: a.XMLDesc(1))
run('vol-delete-bad-flags', lambda: a.delete(1 << 4))
run('vol-delete-zeroed', lambda: a.delete(libvirt.VIR_STORAGE_VOL_DELETE_ZEROED))
run('vol-pool-name', lambda: a.storagePoolLookupByVolume().name())
run('lookup-target-path', lambda: c.storagePoolLookupByTargetPath(d + '/pool').name())
run('lookup-target-path-missing', lambda: c.storagePoolLookupByTargetPath(d + '/nope'))
run('num-vols', lambda: p.numOfVolumes())
run('list-all-vols', lambda: sorted(v.name() for v in p.listAllVolumes(0)))
run('c-delete', lambda: c_vol.delete(0))
run('c-info-gone', lambda: c_vol.info())
run('autostart', lambda: p.setAutostart(1))
run('get-autostart', lambda: p.autostart())
run('is-persistent', lambda: p.isPersistent())
run('is-active', lambda: p.isActive())
run('vol-delete', lambda: a.delete(0))
run('destroy', lambda: p.destroy())
run('destroy-again', lambda: p.destroy())
run('vol-lookup-inactive', lambda: p.storageVolLookupByName('a.raw'))
run('num-vols-inactive', lambda: p.numOfVolumes())
run('refresh-inactive', lambda: p.refresh(0))
run('delete', lambda: p.delete(0))
run('undefine', lambda: p.undefine())
run('undefine-again', lambda: p.undefine())
run('caps-bad-flags', lambda: c.getStoragePoolCapabilities(1))
for o in out:
    print(repr(o))
"#;
    let run = |sock: &Path, dir: &Path| {
        let o = python(
            script,
            &[
                &format!("storage:///system?socket={}", sock.display()),
                &dir.display().to_string(),
            ],
        );
        assert!(o.ok, "python: {}", o.stderr);
        o.stdout
    };
    let a = run(&csock, cdir.path());
    let b = run(&spec.ready, rdir.path());
    let diffs: Vec<String> = a
        .lines()
        .zip(b.lines())
        .filter(|(x, y)| x != y)
        .map(|(x, y)| format!("C:    {x}\nours: {y}"))
        .collect();
    assert_eq!(a.lines().count(), b.lines().count());
    assert!(
        diffs.is_empty(),
        "{} calls differ:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}

// SPDX-License-Identifier: LGPL-2.1-or-later
//! The storage driver end to end: virtstoraged and libvirtd driven by
//! the real virsh and libvirt-python on real directories and files the
//! tests create (under their scratch directory) and remove: a dir pool
//! with raw and qcow2 volumes (qemu-img info agrees), upload/download
//! round trips (sparse too), clone, resize, wipe, libvirt's errors for
//! bad input with nothing half made, a pool busy with a stream not
//! holding up another, and a SIGKILL of the daemon with pools running.

use std::path::{Path, PathBuf};

use test_support::*;

fn skip_reason() -> Option<String> {
    if !tool_exists("virsh") {
        return Some("needs virsh (libvirt-clients)".into());
    }
    if !tool_exists("qemu-img") {
        return Some("needs qemu-img (qemu-utils)".into());
    }
    None
}

struct Lab {
    dir: TempDir,
    spec: Spec,
    daemon: Daemon,
    uri: String,
}

impl Lab {
    fn new(tag: &str, daemon: &str, scheme: &str) -> Lab {
        let dir = TempDir::new(tag);
        let spec = Spec::new(
            daemon,
            &dir,
            "auth_unix_rw = \"none\"\nauth_unix_ro = \"none\"\n",
        );
        let d = spec.start();
        let uri = format!("{scheme}?socket={}", spec.ready.display());
        Lab {
            dir,
            spec,
            daemon: d,
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

    fn path(&self, s: &str) -> PathBuf {
        self.dir.join(s)
    }

    fn restart_after_kill(&mut self) {
        self.daemon.kill9();
        self.daemon = self.spec.start();
    }
}

fn qemu_img_info(path: &Path) -> String {
    let mut c = std::process::Command::new("qemu-img");
    c.arg("info").arg("-U").arg(path);
    let o = run_cmd(c);
    assert!(o.status.success(), "qemu-img info: {}", text(&o.stderr));
    text(&o.stdout)
}

fn field(out: &str, name: &str) -> String {
    out.lines()
        .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_string()))
        .unwrap_or_default()
}

#[test]
fn dir_pool_volumes_streams_and_restart_with_virsh() {
    if let Some(r) = skip_reason() {
        return skip(r);
    }
    let mut lab = Lab::new("storage-dir", "virtstoraged", "storage:///system");
    let target = lab.path("pool-a");
    let t = target.display().to_string();

    // A pool on a missing directory cannot start until it is built.
    lab.ok(&["pool-define-as", "a", "dir", "--target", &t]);
    let e = lab.fail(&["pool-start", "a"]);
    assert!(
        e.contains(&format!(
            "cannot open directory '{t}': No such file or directory"
        )),
        "{e}"
    );
    assert!(!target.exists());
    lab.ok(&["pool-build", "a"]);
    assert!(target.is_dir());
    lab.ok(&["pool-start", "a"]);
    lab.ok(&["pool-autostart", "a"]);
    let cfg = lab.path("root/etc/libvirt/storage/a.xml");
    assert!(cfg.is_file(), "{}", cfg.display());
    assert!(lab
        .path("root/etc/libvirt/storage/autostart/a.xml")
        .symlink_metadata()
        .is_ok());
    assert!(lab.path("root/run/libvirt/storage/a.xml").is_file());
    let info = lab.ok(&["pool-info", "a"]);
    assert!(info.contains("running"), "{info}");

    // Volumes: sparse raw, preallocated raw, qcow2.
    lab.ok(&[
        "vol-create-as",
        "a",
        "sparse.raw",
        "8M",
        "--allocation",
        "0",
        "--format",
        "raw",
    ]);
    lab.ok(&["vol-create-as", "a", "full.raw", "4M", "--format", "raw"]);
    lab.ok(&[
        "vol-create-as",
        "a",
        "disk.qcow2",
        "16M",
        "--format",
        "qcow2",
    ]);
    let md = std::fs::metadata(target.join("sparse.raw")).expect("sparse.raw");
    assert_eq!(md.len(), 8 << 20);
    use std::os::unix::fs::MetadataExt;
    assert!(md.blocks() * 512 < 8 << 20, "sparse.raw is not sparse");
    let md = std::fs::metadata(target.join("full.raw")).expect("full.raw");
    assert!(md.blocks() * 512 >= 4 << 20, "full.raw is not allocated");
    let qi = qemu_img_info(&target.join("disk.qcow2"));
    assert_eq!(field(&qi, "file format:"), "qcow2", "{qi}");
    assert!(
        field(&qi, "virtual size:").contains("16777216 bytes"),
        "{qi}"
    );
    let x = lab.ok(&["vol-dumpxml", "--pool", "a", "disk.qcow2"]);
    assert!(x.contains("<format type='qcow2'/>"), "{x}");
    assert!(
        x.contains("<capacity unit='bytes'>16777216</capacity>"),
        "{x}"
    );

    // A duplicate name: libvirt's error, the file untouched.
    let before = std::fs::metadata(target.join("full.raw"))
        .map(|m| m.len())
        .ok();
    let e = lab.fail(&["vol-create-as", "a", "full.raw", "1M"]);
    assert!(
        e.contains("storage volume 'full.raw' exists already"),
        "{e}"
    );
    assert_eq!(
        std::fs::metadata(target.join("full.raw"))
            .map(|m| m.len())
            .ok(),
        before
    );

    // Upload and download: the same bytes come back.
    let data: Vec<u8> = (0..3_000_000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let up = lab.path("up.bin");
    std::fs::write(&up, &data).expect("write up.bin");
    lab.ok(&[
        "vol-upload",
        "--pool",
        "a",
        "sparse.raw",
        &up.display().to_string(),
    ]);
    let down = lab.path("down.bin");
    lab.ok(&[
        "vol-download",
        "--pool",
        "a",
        "sparse.raw",
        &down.display().to_string(),
    ]);
    let got = std::fs::read(&down).expect("down.bin");
    assert_eq!(got.len(), 8 << 20);
    assert!(got[..data.len()] == data[..], "downloaded bytes differ");
    assert!(got[data.len()..].iter().all(|b| *b == 0));
    // An upload longer than the length it asked for: libvirt's error.
    let e = lab.fail(&[
        "vol-upload",
        "--pool",
        "a",
        "full.raw",
        &up.display().to_string(),
        "--length",
        "1000",
    ]);
    assert!(
        e.contains("cannot write to stream: No space left on device"),
        "{e}"
    );

    // Clone, convert, resize, wipe.
    lab.ok(&["vol-clone", "--pool", "a", "sparse.raw", "copy.raw"]);
    let c = std::fs::read(target.join("copy.raw")).expect("copy.raw");
    assert!(c == got, "the clone differs from its source");
    let conv = lab.path("conv.xml");
    std::fs::write(
        &conv,
        "<volume><name>conv.qcow2</name><capacity>0</capacity><target><format type='qcow2'/></target></volume>",
    )
    .expect("conv.xml");
    lab.ok(&[
        "vol-create-from",
        "a",
        &conv.display().to_string(),
        "sparse.raw",
        "--inputpool",
        "a",
    ]);
    let qi = qemu_img_info(&target.join("conv.qcow2"));
    assert_eq!(field(&qi, "file format:"), "qcow2", "{qi}");
    lab.ok(&["vol-resize", "--pool", "a", "disk.qcow2", "32M"]);
    let qi = qemu_img_info(&target.join("disk.qcow2"));
    assert!(
        field(&qi, "virtual size:").contains("33554432 bytes"),
        "{qi}"
    );
    let e = lab.fail(&["vol-resize", "--pool", "a", "disk.qcow2", "1M"]);
    assert!(
        e.contains(
            "Can't shrink capacity below current capacity unless shrink flag explicitly specified"
        ),
        "{e}"
    );
    lab.ok(&["vol-resize", "--pool", "a", "full.raw", "6M"]);
    assert_eq!(
        std::fs::metadata(target.join("full.raw"))
            .map(|m| m.len())
            .ok(),
        Some(6 << 20)
    );
    lab.ok(&["vol-wipe", "--pool", "a", "copy.raw"]);
    let c = std::fs::read(target.join("copy.raw")).expect("copy.raw");
    assert_eq!(c.len(), 8 << 20);
    assert!(c.iter().all(|b| *b == 0), "wiped volume still holds data");
    if tool_exists("scrub") {
        lab.ok(&[
            "vol-wipe",
            "--pool",
            "a",
            "full.raw",
            "--algorithm",
            "random",
        ]);
    }

    // SIGKILL: the running pool is running again, with its volumes.
    lab.restart_after_kill();
    let info = lab.ok(&["pool-info", "a"]);
    assert!(info.contains("running"), "{info}");
    let vols = lab.ok(&["vol-list", "a"]);
    for v in [
        "sparse.raw",
        "full.raw",
        "disk.qcow2",
        "copy.raw",
        "conv.qcow2",
    ] {
        assert!(vols.contains(v), "{v} missing after restart: {vols}");
    }
    let auto = lab.ok(&["pool-list", "--autostart"]);
    assert!(auto.contains(" a "), "{auto}");
    // Stopped, then the daemon restarted: autostart starts it again.
    lab.ok(&["pool-destroy", "a"]);
    lab.restart_after_kill();
    let info = lab.ok(&["pool-info", "a"]);
    assert!(info.contains("running"), "autostart: {info}");

    // Taking it all down leaves nothing behind.
    for v in [
        "sparse.raw",
        "full.raw",
        "disk.qcow2",
        "copy.raw",
        "conv.qcow2",
    ] {
        lab.ok(&["vol-delete", "--pool", "a", v]);
    }
    lab.ok(&["pool-destroy", "a"]);
    assert!(!lab.path("root/run/libvirt/storage/a.xml").exists());
    lab.ok(&["pool-delete", "a"]);
    assert!(!target.exists());
    lab.ok(&["pool-undefine", "a"]);
    assert!(!cfg.exists());
    let all = lab.ok(&["pool-list", "--all"]);
    assert!(!all.contains(" a "), "{all}");
}

#[test]
fn python_sparse_round_trip_and_a_busy_pool_not_blocking_another() {
    if let Some(r) = skip_reason() {
        return skip(r);
    }
    if !python_available() {
        return skip("needs libvirt-python (python3-libvirt)");
    }
    let lab = Lab::new("storage-py", "libvirtd", "storage:///system");
    for p in ["b", "c"] {
        let t = lab.path(&format!("pool-{p}")).display().to_string();
        lab.ok(&["pool-create-as", p, "dir", "--target", &t, "--build"]);
    }
    let script = r#"
import libvirt, sys, threading, os
uri, root = sys.argv[1], sys.argv[2]
c = libvirt.open(uri)
b = c.storagePoolLookupByName('b')
other = c.storagePoolLookupByName('c')
xml = "<volume><name>%s</name><capacity>%d</capacity><allocation>0</allocation><target><format type='raw'/></target></volume>"
v = b.createXML(xml % ('holes.raw', 4 << 20), 0)
# A sparse upload: 64 KiB of data, a 1 MiB hole, 64 KiB of data.
parts = [(b'A' * 65536, 0), (None, 1 << 20), (b'B' * 65536, 0)]
st = c.newStream(0)
v.upload(st, 0, 0, libvirt.VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM)
for data, hole in parts:
    if data is None:
        st.sendHole(hole, 0)
    else:
        st.send(data)
st.finish()
with open(os.path.join(root, 'pool-b', 'holes.raw'), 'rb') as f:
    got = f.read()
assert got[:65536] == b'A' * 65536
assert got[65536:65536 + (1 << 20)] == bytes(1 << 20)
assert got[65536 + (1 << 20):65536 * 2 + (1 << 20)] == b'B' * 65536
# A sparse download reports the holes.
st = c.newStream(0)
v.download(st, 0, 0, libvirt.VIR_STORAGE_VOL_DOWNLOAD_SPARSE_STREAM)
out = bytearray()
holes = []
def rh(s, length, opaque): holes.append(length); out.extend(bytes(length))
st.sparseRecvAll(lambda s, d, o: out.extend(d), rh, None)
st.finish()
assert bytes(out) == got, (len(out), len(got))
assert holes, 'no hole reported'
# While an upload into pool b is open, pool c (and b's listings) answer.
st = c.newStream(0)
v.upload(st, 0, 0, 0)
st.send(b'x' * 4096)
other.createXML(xml % ('free.raw', 1 << 20), 0)
assert 'holes.raw' in b.listVolumes()
try:
    b.refresh(0)
    raise SystemExit('refresh of a pool with a stream open succeeded')
except libvirt.libvirtError as e:
    assert "has asynchronous jobs running" in str(e), str(e)
try:
    v.delete(0)
    raise SystemExit('delete of a volume being uploaded succeeded')
except libvirt.libvirtError as e:
    assert "is still in use" in str(e), str(e)
st.finish()
print(v.info()[1], other.info()[0])
"#;
    let out = python(script, &[&lab.uri, &lab.dir.path().display().to_string()]);
    assert!(out.ok, "python: {}{}", out.stdout, out.stderr);
    assert_eq!(out.stdout.trim(), "4194304 2", "{}", out.stdout);
    for p in ["b", "c"] {
        lab.ok(&["pool-destroy", p]);
    }
}

#[test]
fn libvirtd_hypervisor_connection_reaches_the_same_storage_driver() {
    skip_if!(skip_reason());
    // The LXC driver of libvirtd opens for root on a host with cgroups.
    skip_if!((!is_root()).then(|| "lxc:///system needs root".to_string()));
    skip_if!(missing_cgroups());
    let lab = Lab::new("storage-lxc", "libvirtd", "storage:///system");
    let t = lab.path("pool-b").display().to_string();
    lab.ok(&["pool-create-as", "b", "dir", "--target", &t, "--build"]);
    let lxc = format!("lxc:///system?socket={}", lab.spec.ready.display());
    let l = virsh_uri(&lxc, &["pool-list"]);
    assert!(l.ok, "lxc:///system: {}", l.stderr);
    assert!(l.stdout.contains(" b "), "{}", l.stdout);
    lab.ok(&["pool-destroy", "b"]);
}

#[test]
fn events_and_backing_chains_with_python() {
    if let Some(r) = skip_reason() {
        return skip(r);
    }
    if !python_available() {
        return skip("needs libvirt-python (python3-libvirt)");
    }
    let lab = Lab::new("storage-ev", "virtstoraged", "storage:///system");
    let script = r#"
import libvirt, sys, threading, time, subprocess, json
uri, target = sys.argv[1], sys.argv[2]
libvirt.virEventRegisterDefaultImpl()
c = libvirt.open(uri)
seen = []
def lifecycle(conn, pool, event, detail, opaque):
    seen.append(('life', pool.name(), event))
def refresh(conn, pool, opaque):
    seen.append(('refresh', pool.name()))
c.storagePoolEventRegisterAny(None, libvirt.VIR_STORAGE_POOL_EVENT_ID_LIFECYCLE, lifecycle, None)
c.storagePoolEventRegisterAny(None, libvirt.VIR_STORAGE_POOL_EVENT_ID_REFRESH, refresh, None)
def pump(n):
    for _ in range(n):
        libvirt.virEventRunDefaultImpl()
        if done(): return
def done(): return len(seen) >= want[0]
want = [0]
p = c.storagePoolDefineXML("<pool type='dir'><name>ev</name><target><path>%s</path></target></pool>" % target, 0)
p.build(0); p.create(0); p.refresh(0)
# A chain: base.raw <- mid.qcow2 <- top.qcow2 (relative backing names).
raw = "<volume><name>base.raw</name><capacity>4194304</capacity><target><format type='raw'/></target></volume>"
p.createXML(raw, 0)
q = ("<volume><name>%s</name><capacity>8388608</capacity><target><format type='qcow2'/></target>"
     "<backingStore><path>%s</path><format type='%s'/></backingStore></volume>")
p.createXML(q % ('mid.qcow2', target + '/base.raw', 'raw'), 0)
p.createXML(q % ('top.qcow2', target + '/mid.qcow2', 'qcow2'), 0)
p.refresh(0)
top = p.storageVolLookupByName('top.qcow2').XMLDesc(0)
assert "<backingStore>" in top and target + "/mid.qcow2" in top and "<format type='qcow2'/>" in top, top
info = json.loads(subprocess.run(['qemu-img', 'info', '-U', '--backing-chain', '--output=json', target + '/top.qcow2'], capture_output=True, check=True).stdout)
assert [i['format'] for i in info] == ['qcow2', 'qcow2', 'raw'], info
assert info[0]['virtual-size'] == 8388608, info
for v in ('top.qcow2', 'mid.qcow2', 'base.raw'):
    p.storageVolLookupByName(v).delete(0)
p.destroy(); p.delete(0); p.undefine()
want[0] = 8
pump(200)
print(json.dumps(seen))
"#;
    let target = lab.path("ev").display().to_string();
    let out = python(script, &[&lab.uri, &target]);
    assert!(out.ok, "python: {}{}", out.stdout, out.stderr);
    let got = out.stdout.trim();
    // DEFINED, CREATED (build), STARTED, REFRESH (twice), STOPPED,
    // DELETED, UNDEFINED, in order.
    assert_eq!(
        got,
        r#"[["life", "ev", 0], ["life", "ev", 4], ["life", "ev", 2], ["refresh", "ev"], ["refresh", "ev"], ["life", "ev", 3], ["life", "ev", 5], ["life", "ev", 1]]"#,
        "{got}"
    );
}

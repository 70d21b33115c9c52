// SPDX-License-Identifier: LGPL-2.1-or-later
//! Block copy of a running transient test guest's disk driven by the real virsh:
//! `blockcopy --finish` (virDomainBlockRebase's copy) leaves an identical
//! image (`qemu-img compare`), `blockcopy --format --bandwidth --wait`
//! (virDomainBlockCopy with typed parameters) mirrors the disk until
//! `blockjob --pivot` moves the guest onto the copy, whose writes then
//! land there only; C's refusals (an existing destination, a relative
//! path, a persistent domain); a commit of a middle layer of the chain
//! (its data in the base, the image above relinked onto it); checkpoints
//! (persistent dirty bitmaps in the image, their tree, XML, deletion and
//! metadata across a daemon restart), and the same checkpoint steps on a
//! boot-sector guest answered as Debian's C libvirtd answers them (output,
//! errors, XML, the bitmap left in the image).
//!
//! Run: `cargo build --bins && cargo test -p driver-qemu --test backup_e2e`.

use std::path::Path;
use std::time::Duration;

use test_support::*;

/// A transient test guest whose data disk vda is the qcow2 `disk`, its
/// console (ttyS0) on the socket `console`, ttyS1 into `serial`.
fn guest_xml(g: &TestGuest, disk: &Path, console: &Path, serial: &Path) -> String {
    format!(
        "<domain type='qemu'>\n  <name>jobs</name>\n  <uuid>7b1e2c9a-4f3d-4e8b-9c2a-1d5e6f7a8b90</uuid>\n  <memory unit='MiB'>160</memory>\n  \
         <vcpu>1</vcpu>\n  {}\n  <features><acpi/></features>\n  <devices>\n    \
         <disk type='file' device='disk'>\n      <driver name='qemu' type='qcow2'/>\n      \
         <source file='{}'/>\n      <target dev='vda' bus='virtio'/>\n    </disk>\n    \
         <serial type='unix'><source mode='bind' path='{}'/><target port='0'/></serial>\n    \
         <serial type='file'><source path='{}'/><target port='1'/></serial>\n  \
         </devices>\n</domain>\n",
        g.os_xml(),
        disk.display(),
        console.display(),
        serial.display()
    )
}

fn run(cmd: &str, args: &[&str]) -> (bool, String) {
    let o = std::process::Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    (
        o.status.success(),
        format!("{}{}", text(&o.stdout), text(&o.stderr)),
    )
}

/// `qemu-io` reading `len` bytes at 0 of the qcow2 image `img` (shared,
/// read-only: QEMU may still hold it).
fn read_image(img: &Path, len: usize) -> String {
    let (ok, out) = run(
        "qemu-io",
        &[
            "-U",
            "-r",
            "-f",
            "qcow2",
            "-c",
            &format!("read -v 0 {len}"),
            &img.display().to_string(),
        ],
    );
    assert!(ok, "qemu-io {}: {out}", img.display());
    out
}

#[test]
fn block_copy_finishes_into_an_identical_image_and_pivots_the_guest_onto_its_copy() {
    let Some(g) = linux_guest_or_skip() else {
        return;
    };
    let t = TempDir::new("qemu-blockcopy");
    let _reaper = reaper(&t);
    let (d, uri) = start_virtqemud(&t);
    let vda = t.join("vda.qcow2");
    let (made, out) = run(
        "qemu-img",
        &[
            "create",
            "-q",
            "-f",
            "qcow2",
            &vda.display().to_string(),
            "16M",
        ],
    );
    assert!(made, "{out}");
    let (console, serial) = (t.join("console.sock"), t.join("serial1.log"));
    let xml = t.join("jobs.xml");
    std::fs::write(&xml, guest_xml(&g, &vda, &console, &serial)).unwrap_or_else(|e| panic!("{e}"));
    let ok = |args: &[&str]| {
        let o = virsh_uri(&uri, args);
        assert!(o.ok, "{args:?}: {}{}", o.stdout, o.stderr);
        o.stdout
    };
    let fails = |args: &[&str], msg: &str| {
        let o = virsh_uri(&uri, args);
        assert!(!o.ok && o.stderr.contains(msg), "{args:?}: {}", o.stderr);
    };
    // Defined, started and undefined: a transient running guest.
    ok(&["define", &xml.display().to_string()]);
    ok(&["start", "jobs"]);
    ok(&["undefine", "jobs"]);
    let (booted, log) = wait_for_marker(&serial, "GUEST-BOOT-OK", Duration::from_secs(90));
    assert!(booted, "no boot marker:\n{log}");
    let mut con = GuestShell::open(&console);
    con.run("echo ORIGINALDATA1 > /dev/vda; sync");

    // virDomainBlockRebase's copy, finished: a consistent copy, the guest
    // stays on its disk.
    let copy2 = t.join("copy2.qcow2");
    let c2 = copy2.display().to_string();
    let out = ok(&["blockcopy", "jobs", "vda", &c2, "--wait", "--finish"]);
    assert!(out.contains("Successfully copied"), "{out}");
    let (same, out) = run(
        "qemu-img",
        &["compare", "-U", &vda.display().to_string(), &c2],
    );
    assert!(same && out.contains("Images are identical"), "{out}");
    let data = read_image(&copy2, 13);
    assert!(data.contains("ORIGINALDATA1"), "{data}");
    let blk = ok(&["domblklist", "jobs"]);
    assert!(blk.contains(&vda.display().to_string()), "{blk}");

    // C's refusals.
    fails(
        &["blockcopy", "jobs", "vda", &c2],
        &format!(
            "external destination file for disk vda already exists and is not a block device: {c2}"
        ),
    );
    fails(
        &["blockcopy", "jobs", "vda", "rel.qcow2"],
        "absolute path must be used as block copy target",
    );
    fails(
        &[
            "blockcopy",
            "jobs",
            "vdz",
            &t.join("x.qcow2").display().to_string(),
        ],
        "disk 'vdz' not found in domain",
    );

    // virDomainBlockCopy: mirroring until the pivot.
    let copy1 = t.join("copy1.qcow2");
    let c1 = copy1.display().to_string();
    let out = ok(&[
        "blockcopy",
        "jobs",
        "vda",
        &c1,
        "--format",
        "qcow2",
        "--bandwidth",
        "100",
        "--wait",
    ]);
    assert!(out.contains("Now in mirroring phase"), "{out}");
    let live = ok(&["dumpxml", "jobs"]);
    assert!(
        live.contains(&format!(
            "<mirror type='file' file='{c1}' format='qcow2' job='copy' ready='yes'>"
        )),
        "{live}"
    );
    // virsh prints a job's progress on its standard error.
    let info = virsh_uri(&uri, &["blockjob", "jobs", "vda", "--info"]);
    assert!(
        info.ok && info.stderr.contains("Block Copy: [100 %]"),
        "{}{}",
        info.stdout,
        info.stderr
    );
    fails(
        &[
            "blockcopy",
            "jobs",
            "vda",
            &t.join("y.qcow2").display().to_string(),
        ],
        "disk 'vda' already in active block job",
    );
    ok(&["blockjob", "jobs", "vda", "--pivot"]);
    let blk = ok(&["domblklist", "jobs"]);
    assert!(blk.contains(&c1), "{blk}");
    let live = ok(&["dumpxml", "jobs"]);
    assert!(!live.contains("<mirror"), "{live}");
    // The guest now writes to the copy only.
    con.run("echo PIVOTEDWRITE1 > /dev/vda; sync");
    let data = read_image(&copy1, 13);
    assert!(data.contains("PIVOTEDWRITE1"), "{data}");
    let data = read_image(&vda, 13);
    assert!(data.contains("ORIGINALDATA1"), "{data}");
    let (same, out) = run(
        "qemu-img",
        &["compare", "-U", &vda.display().to_string(), &c1],
    );
    assert!(!same && out.contains("Content mismatch"), "{out}");

    // A persistent domain copies only as a transient job.
    ok(&["define", &xml.display().to_string()]);
    fails(
        &[
            "blockcopy",
            "jobs",
            "vda",
            &t.join("z.qcow2").display().to_string(),
        ],
        "domain is not transient",
    );

    // A commit of a middle layer: copy1 <- mid <- top, mid's writes
    // merged down into copy1 and top relinked onto it.
    let (mid, top) = (t.join("mid.qcow2"), t.join("top.qcow2"));
    let (mid_s, top_s) = (mid.display().to_string(), top.display().to_string());
    ok(&[
        "snapshot-create-as",
        "jobs",
        "s1",
        "--disk-only",
        "--diskspec",
        &format!("vda,file={mid_s}"),
    ]);
    con.run("echo MIDDLELAYER1 > /dev/vda; sync");
    ok(&[
        "snapshot-create-as",
        "jobs",
        "s2",
        "--disk-only",
        "--diskspec",
        &format!("vda,file={top_s}"),
    ]);
    fails(
        &["blockcommit", "jobs", "vda", "--top", &mid_s, "--active"],
        &format!("active commit requested but '{mid_s}' is not active"),
    );
    fails(
        &["blockcommit", "jobs", "vda", "--top", "/nowhere.qcow2"],
        "could not find image '/nowhere.qcow2' in chain for 'vda'",
    );
    fails(
        &["blockcommit", "jobs", "vda", "--top", &c1],
        &format!("top '{c1}' in chain for 'vda' has no backing file"),
    );
    let out = ok(&["blockcommit", "jobs", "vda", "--top", &mid_s, "--wait"]);
    assert!(out.contains("Commit complete"), "{out}");
    let data = read_image(&copy1, 12);
    assert!(data.contains("MIDDLELAYER1"), "{data}");
    let (_, info) = run("qemu-img", &["info", "-U", &top_s]);
    assert!(info.contains(&format!("backing file: {c1}")), "{info}");

    // Checkpoints: a persistent dirty bitmap on the disk per checkpoint,
    // their tree, XML and deletion.
    ok(&["checkpoint-create-as", "jobs", "--name", "c1"]);
    con.run("echo AFTERCHECKPT > /dev/vda; sync");
    ok(&[
        "checkpoint-create-as",
        "jobs",
        "--name",
        "c2",
        "--description",
        "second",
    ]);
    let list = ok(&["checkpoint-list", "jobs", "--name", "--topological"]);
    assert_eq!(list.split_whitespace().collect::<Vec<_>>(), ["c1", "c2"]);
    assert_eq!(ok(&["checkpoint-parent", "jobs", "c2"]).trim(), "c1");
    let cx = ok(&["checkpoint-dumpxml", "jobs", "c2", "--no-domain"]);
    for want in [
        "<name>c2</name>",
        "<description>second</description>",
        "<parent>\n    <name>c1</name>\n  </parent>",
        "<disk name='vda' checkpoint='bitmap' bitmap='c2'/>",
    ] {
        assert!(cx.contains(want), "{want}: {cx}");
    }
    assert!(!cx.contains("<domain type"), "{cx}");
    assert!(ok(&["checkpoint-dumpxml", "jobs", "c2"]).contains("<domain type='qemu'>"));
    fails(
        &["checkpoint-dumpxml", "jobs", "nope"],
        "no domain checkpoint with matching name 'nope'",
    );
    assert!(ok(&["list", "--all", "--with-checkpoint", "--name"]).contains("jobs"));
    fails(
        &["checkpoint-create-as", "jobs", "--name", "cq", "--quiesce"],
        "unsupported flags (0x2) in function qemuCheckpointCreateXML",
    );
    ok(&["checkpoint-delete", "jobs", "c1"]);
    let list = ok(&["checkpoint-list", "jobs", "--name"]);
    assert_eq!(list.trim(), "c2");
    fails(
        &["checkpoint-parent", "jobs", "c2"],
        "checkpoint 'c2' has no parent",
    );
    ok(&["destroy", "jobs"]);
    // QEMU wrote the remaining bitmap into the image as it closed it.
    let (_, info) = run("qemu-img", &["info", "-U", &top_s]);
    assert!(
        info.contains("name: c2") && !info.contains("name: c1"),
        "{info}"
    );
    fails(
        &["checkpoint-create-as", "jobs", "--name", "c3"],
        "cannot create checkpoint for inactive domain",
    );
    // The metadata outlives the daemon.
    drop(d);
    let (_d, uri) = start_virtqemud(&t);
    let o = virsh_uri(&uri, &["checkpoint-list", "jobs", "--name"]);
    assert_eq!(o.stdout.trim(), "c2", "{}", o.stderr);
}

/// A boot-sector guest of `ty` with a qcow2 data disk vda.
fn bootsector_with_disk(ty: &str, floppy: &Path, disk: &Path) -> String {
    format!(
        "<domain type='{ty}'>\n  <name>chk</name>\n  <uuid>3c2d1e0f-9a8b-4c7d-8e6f-5a4b3c2d1e0f</uuid>\n  \
         <memory unit='KiB'>32768</memory>\n  <vcpu>1</vcpu>\n  <os>\n    \
         <type arch='x86_64'>hvm</type>\n    <boot dev='fd'/>\n  </os>\n  <devices>\n    \
         <disk type='file' device='floppy'>\n      <source file='{}'/>\n      \
         <target dev='fda' bus='fdc'/>\n      <readonly/>\n    </disk>\n    \
         <disk type='file' device='disk'>\n      <driver name='qemu' type='qcow2'/>\n      \
         <source file='{}'/>\n      <target dev='vda' bus='virtio'/>\n    </disk>\n  \
         </devices>\n</domain>\n",
        floppy.display(),
        disk.display()
    )
}

/// A checkpoint's XML with its creation time blanked (the two daemons
/// make theirs a moment apart).
fn timeless(xml: &str) -> String {
    xml.lines()
        .map(|l| {
            if l.trim_start().starts_with("<creationTime>") {
                "  <creationTime/>"
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn checkpoints_answer_as_c_libvirtd_does() {
    if !system_qemu_or_skip() {
        return;
    }
    let t = TempDir::new("qemu-chk-diff");
    let _reaper = reaper(&t);
    let (_d, uri) = start_virtqemud(&t);
    let conf = "stdio_handler = \"file\"\nuser = \"root\"\ngroup = \"root\"\n";
    let Some((_c, c_sock)) = start_c_libvirtd_with(&t, &["qemu"], Some(conf)) else {
        return;
    };
    let c_uri = format!("qemu:///system?socket={}", c_sock.display());
    let floppy = t.join("boot.img");
    boot_floppy(&floppy);
    let mut outs: Vec<Vec<String>> = Vec::new();
    for (i, u) in [&uri, &c_uri].into_iter().enumerate() {
        let disk = t.join(&format!("chk{i}.qcow2"));
        let (made, out) = run(
            "qemu-img",
            &[
                "create",
                "-q",
                "-f",
                "qcow2",
                &disk.display().to_string(),
                "16M",
            ],
        );
        assert!(made, "{out}");
        let xml = bootsector_with_disk(system_guest_type(), &floppy, &disk);
        let disk_s = disk.display().to_string();
        define_xml(&t, u, "chk", &xml);
        ok(&virsh_uri(u, &["start", "chk"]), "start");
        let v = |args: &[&str]| {
            let o = virsh_uri(u, args);
            format!("{}|{}|{}", o.ok, o.stdout.trim(), o.stderr.trim())
        };
        let mut got = vec![
            v(&["checkpoint-create-as", "chk", "--name", "c1"]),
            v(&[
                "checkpoint-create-as",
                "chk",
                "--name",
                "c2",
                "--description",
                "second",
            ]),
            v(&["checkpoint-create-as", "chk", "--name", "c2"]),
            v(&["checkpoint-create-as", "chk", "--name", "cq", "--quiesce"]),
            v(&["checkpoint-list", "chk", "--name", "--topological"]),
            v(&["checkpoint-list", "chk", "--name", "--leaves"]),
            v(&["checkpoint-parent", "chk", "c2"]),
            timeless(&v(&["checkpoint-dumpxml", "chk", "c2", "--no-domain"])),
            v(&["checkpoint-dumpxml", "chk", "nope"]),
            v(&["checkpoint-delete", "chk", "c1"]),
            v(&["checkpoint-list", "chk", "--name"]),
            v(&["checkpoint-parent", "chk", "c2"]),
        ];
        ok(&virsh_uri(u, &["destroy", "chk"]), "destroy");
        let (_, info) = run("qemu-img", &["info", "-U", &disk_s]);
        got.push(format!(
            "c2 bitmap in the image: {}",
            info.contains("name: c2")
        ));
        outs.push(got);
    }
    let ours = &outs[0];
    assert!(ours[0].starts_with("true|"), "{ours:?}");
    assert!(ours[7].contains("<name>c2</name>"), "{ours:?}");
    assert!(ours[12].ends_with("true"), "{ours:?}");
    assert_eq!(outs[0].len(), outs[1].len());
    for (ours, theirs) in outs[0].iter().zip(&outs[1]) {
        assert_eq!(ours, theirs, "ours vs C libvirtd");
    }
}

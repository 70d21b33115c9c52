// SPDX-License-Identifier: LGPL-2.1-or-later
//! Secrets through the real virsh on libvirtd's secret:///system: define,
//! list, value, XML, undefine, the errors libvirt gives (texts as Debian's
//! C secret driver prints them), and persistence across a daemon restart
//! in owner-only files, and the same secrets on an LXC connection (the
//! shared secret driver) but none on test:///default.

mod common;
use common::*;

use std::os::unix::fs::PermissionsExt;

const U: &str = "5a1e3f20-1111-4222-8333-944445555666";

#[test]
fn secret_lifecycle_value_and_restart() {
    if skip_without("virsh") {
        return;
    }
    if !is_root() {
        skip("secret:///system is the privileged driver's URI");
        return;
    }
    let mut d = Daemon::start();
    let uri = d.uri("secret");
    let xml = d.dir.join("s.xml");
    std::fs::write(
        &xml,
        format!(
            "<secret ephemeral='no' private='no'><uuid>{U}</uuid><description>disk key</description><usage type='volume'><volume>/var/lib/img/a.qcow2</volume></usage></secret>"
        ),
    )
    .expect("write xml");
    let out = virsh_uri(&uri, &["secret-define", xml.to_str().unwrap_or("")]).success();
    assert!(out.contains(&format!("Secret {U} created")), "{out}");
    let out = virsh_uri(&uri, &["secret-list"]).success();
    assert!(
        out.contains(U) && out.contains("volume /var/lib/img/a.qcow2"),
        "{out}"
    );
    let out = virsh_uri(&uri, &["secret-set-value", U, "--base64", "c2VjcmV0"]).success();
    assert!(out.contains("Secret value set"), "{out}");
    let out = virsh_uri(&uri, &["secret-get-value", U]).success();
    assert_eq!(out.trim(), "c2VjcmV0");
    let out = virsh_uri(&uri, &["secret-dumpxml", U]).success();
    assert_eq!(
        out.trim(),
        format!("<secret ephemeral='no' private='no'>\n  <uuid>{U}</uuid>\n  <description>disk key</description>\n  <usage type='volume'>\n    <volume>/var/lib/img/a.qcow2</volume>\n  </usage>\n</secret>")
    );
    // Kept on disk, owner-only, and found again after a restart.
    let files = d.dir.join("etc/libvirt/secrets");
    for ext in ["xml", "base64"] {
        let p = files.join(format!("{U}.{ext}"));
        let mode = std::fs::metadata(&p)
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{}", p.display());
    }
    // The hypervisor drivers' connections reach the same secrets (libvirt's
    // shared secret driver); the test driver answers none, as libvirt's.
    let out = virsh_uri(&d.uri("lxc"), &["secret-list"]).success();
    assert!(out.contains(U), "{out}");
    let e = virsh_uri(&d.test_uri(), &["secret-list"]).failure();
    assert!(
        e.contains(
            "this function is not supported by the connection driver: virConnectNumOfSecrets"
        ),
        "{e}"
    );
    d.kill_and_restart();
    let out = virsh_uri(&uri, &["secret-get-value", U]).success();
    assert_eq!(out.trim(), "c2VjcmV0");
    // libvirt's errors.
    let e = virsh_uri(
        &uri,
        &["secret-get-value", "00000000-0000-0000-0000-000000000001"],
    )
    .failure();
    assert!(
        e.contains(
            "Secret not found: no secret with matching uuid '00000000-0000-0000-0000-000000000001'"
        ),
        "{e}"
    );
    let bad = d.dir.join("bad.xml");
    std::fs::write(&bad, "<secret><usage type='ceph'/></secret>").expect("write");
    let e = virsh_uri(&uri, &["secret-define", bad.to_str().unwrap_or("")]).failure();
    assert!(
        e.contains("internal error: Ceph usage specified, but name is missing"),
        "{e}"
    );
    let out = virsh_uri(&uri, &["secret-undefine", U]).success();
    assert!(out.contains(&format!("Secret {U} deleted")), "{out}");
    assert!(!files.join(format!("{U}.xml")).exists());
    let out = virsh_uri(&uri, &["secret-list"]).success();
    assert!(!out.contains(U), "{out}");
}

/// libvirt-python's secret event callbacks on an LXC connection: defined,
/// value changed, undefined, in that order with detail 0 (what Debian's C
/// libvirtd sends for the same calls).
#[test]
fn secret_events_reach_libvirt_python() {
    if !python_available() {
        skip("/usr/bin/python3 with libvirt-python is not installed");
        return;
    }
    if !is_root() {
        skip("the LXC connection and secret:///system need root");
        return;
    }
    let d = Daemon::start();
    let script = r#"
import libvirt, sys, threading, time
libvirt.virEventRegisterDefaultImpl()
c = libvirt.open(sys.argv[1])
seen = []
def life(conn, secret, event, detail, opaque): seen.append(("lifecycle", secret.usageID(), event, detail))
def val(conn, secret, opaque): seen.append(("value", secret.usageID()))
a = c.secretEventRegisterAny(None, libvirt.VIR_SECRET_EVENT_ID_LIFECYCLE, life, None)
b = c.secretEventRegisterAny(None, libvirt.VIR_SECRET_EVENT_ID_VALUE_CHANGED, val, None)
def loop():
    while True: libvirt.virEventRunDefaultImpl()
threading.Thread(target=loop, daemon=True).start()
s = c.secretDefineXML("<secret ephemeral='yes'><usage type='tls'><name>evtest</name></usage></secret>")
s.setValue(b"x")
s.undefine()
for _ in range(100):
    if len(seen) >= 3: break
    time.sleep(0.05)
c.secretEventDeregisterAny(a); c.secretEventDeregisterAny(b)
for e in seen: print(e)
"#;
    let out = python(script, &[&d.uri("lxc")]).success();
    assert_eq!(
        out.trim(),
        "('lifecycle', 'evtest', 0, 0)\n('value', 'evtest')\n('lifecycle', 'evtest', 1, 0)"
    );
}

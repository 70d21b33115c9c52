// SPDX-License-Identifier: LGPL-2.1-or-later
//! virtvzd as a process, driven by the real virsh: without `prlctl` on
//! its PATH the vz driver is not registered (libvirt's "no connection
//! driver available" and a log line saying why); with one it is, and
//! answers libvirt's "vz state driver is not active" and its "Unexpected
//! Virtuozzo URI path" error.

use std::os::unix::fs::PermissionsExt;

use test_support::{have, skip, text, virsh, Spec, TempDir};

fn start(dir: &TempDir, path: &str) -> (test_support::Daemon, String) {
    let spec = Spec::new(
        "virtvzd",
        dir,
        "auth_unix_rw = \"none\"\nauth_unix_ro = \"none\"",
    )
    .env("PATH", path);
    let d = spec.start();
    let uri = format!("vz+unix:///system?socket={}", spec.ready.display());
    (d, uri)
}

#[test]
fn without_prlctl_nothing_claims_vz() {
    if !have("virsh") {
        skip("virsh (libvirt-clients) is not installed");
        return;
    }
    let dir = TempDir::new("vz-none");
    let (d, uri) = start(&dir, "/usr/bin:/bin");
    let out = virsh(&uri, false, &["list", "--all"]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("no connection driver available for vz:///system"),
        "{err}"
    );
    assert!(
        d.stderr_text()
            .contains("Can't find prlctl command in the PATH env"),
        "daemon log: {}",
        d.stderr_text()
    );
}

#[test]
fn with_prlctl_the_driver_is_registered_and_inactive() {
    if !have("virsh") {
        skip("virsh (libvirt-clients) is not installed");
        return;
    }
    let dir = TempDir::new("vz-prlctl");
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).expect("bin dir");
    let prlctl = bin.join("prlctl");
    std::fs::write(&prlctl, "#!/bin/sh\nexit 1\n").expect("prlctl");
    std::fs::set_permissions(&prlctl, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let (d, uri) = start(&dir, &format!("{}:/usr/bin:/bin", bin.display()));
    let out = virsh(&uri, false, &["list", "--all"]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("vz state driver is not active"), "{err}");
    assert!(
        d.stderr_text().contains("vz driver inactive"),
        "daemon log: {}",
        d.stderr_text()
    );
    let session = uri.replace("/system", "/session");
    let out = virsh(&session, false, &["list"]);
    let err = text(&out.stderr);
    assert!(
        err.contains("Unexpected Virtuozzo URI path '/session', try vz:///system"),
        "{err}"
    );
}

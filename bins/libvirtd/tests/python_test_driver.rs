// SPDX-License-Identifier: LGPL-2.1-or-later
//! libvirt-python (Debian python3-libvirt) against our libvirtd.

mod common;
use common::*;

#[test]
fn libvirt_python_conformance_script() {
    if !python_available() {
        skip(
            "/usr/bin/python3 with the libvirt module is missing (apt-get install python3-libvirt)",
        );
        return;
    }
    let d = Daemon::start();
    let script = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/python/test_driver.py"
    ))
    .unwrap();
    let out = python(&script, &[&d.test_uri()]);
    assert!(
        out.ok,
        "python failed:\nstdout: {}\nstderr: {}",
        out.stdout, out.stderr
    );
    assert!(out.stdout.contains("python conformance: ok"));
}

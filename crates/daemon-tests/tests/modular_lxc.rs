// SPDX-License-Identifier: LGPL-2.1-or-later
//! The modular path: a real container managed by virtlxcd, reached with
//! the real virsh both on virtlxcd's own socket and through virtproxyd's
//! libvirtd-compatible socket (descriptor passing included).

use std::process::Command;
use test_support::*;

fn skip_reason() -> Option<String> {
    if !is_root() {
        return Some("virtlxcd needs root".into());
    }
    if let Some(why) = missing_busybox() {
        return Some(why);
    }
    if !bin("libvirt_lxc").exists() {
        return Some("libvirt_lxc is not built (cargo build --workspace --bins)".into());
    }
    if !tool_exists("virsh") {
        return Some("needs virsh (libvirt-clients)".into());
    }
    None
}

#[test]
fn container_through_virtlxcd_and_the_proxy() {
    skip_if!(skip_reason());
    let t = TempDir::new("modlxc");
    let conf = t.config("");
    let mut cmd = Command::new(bin("virtlxcd"));
    cmd.args([
        "-f",
        conf.to_str().unwrap_or(""),
        "-p",
        t.join("lxc.pid").to_str().unwrap_or(""),
    ])
    .env("LIBVIRT_RS_ROOT_PREFIX", t.path())
    .env("LIBVIRT_LXC_BINARY", bin("libvirt_lxc"));
    let _lxcd = Daemon::start_cmd(cmd, &t, &t.join("run/virtlxcd-sock"));
    let _proxy = Daemon::start(
        "virtproxyd",
        &t,
        &[
            "-f",
            conf.to_str().unwrap_or(""),
            "-p",
            t.join("proxy.pid").to_str().unwrap_or(""),
        ],
        &t.join("run/libvirt-sock"),
    );

    let root = BusyboxRoot::new(t.join("rootfs"))
        .applets(&["sh", "hostname"])
        .build();
    let xml = t.join("ct.xml");
    std::fs::write(
        &xml,
        format!(
            "<domain type='lxc'><name>modct</name><memory unit='MiB'>32</memory>\
             <os><type>exe</type><init>/bin/sh</init></os><devices>\
             <filesystem type='mount'><source dir='{}'/><target dir='/'/></filesystem>\
             <console type='pty'/></devices></domain>",
            root.display()
        ),
    )
    .unwrap();

    let direct = format!(
        "lxc+unix:///system?socket={}",
        t.join("run/virtlxcd-sock").display()
    );
    let proxied = format!(
        "lxc+unix:///system?socket={}",
        t.join("run/libvirt-sock").display()
    );
    let o = virsh(&proxied, false, &["create", xml.to_str().unwrap()]);
    assert!(
        o.status.success(),
        "create through the proxy: {}",
        text(&o.stderr)
    );
    let o = virsh(&direct, false, &["domstate", "modct"]);
    assert_eq!(text(&o.stdout).trim(), "running", "{}", text(&o.stderr));
    let o = virsh(&proxied, false, &["list", "--name"]);
    assert_eq!(text(&o.stdout).trim(), "modct");
    // The namespace descriptors virtlxcd returns are relayed by the proxy:
    // virsh runs a command inside (the container's hostname is its name).
    let o = virsh(
        &proxied,
        false,
        &[
            "lxc-enter-namespace",
            "modct",
            "--noseclabel",
            "--",
            "/bin/hostname",
        ],
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout).trim(), "modct");
    // the read-only socket of virtlxcd refuses changes
    let ro = format!(
        "lxc+unix:///system?socket={}",
        t.join("run/virtlxcd-sock-ro").display()
    );
    let o = virsh(&ro, true, &["destroy", "modct"]);
    assert!(
        text(&o.stderr).contains("read only access prevents virDomainDestroy"),
        "{}",
        text(&o.stderr)
    );
    let o = virsh(&proxied, false, &["destroy", "modct"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let o = virsh(&direct, false, &["list", "--all", "--name"]);
    assert!(
        text(&o.stdout).trim().is_empty(),
        "transient container still listed: {}",
        text(&o.stdout)
    );
}

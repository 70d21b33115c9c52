// SPDX-License-Identifier: LGPL-2.1-or-later
use std::path::{Path, PathBuf};

use daemon_support::{Env, Paths, PathsError, Profile};

fn p(name: &str) -> Profile {
    Profile::by_name(name).unwrap_or_else(|| panic!("no profile {name}"))
}

#[test]
fn profiles_have_libvirts_prefixes_and_flags() {
    assert_eq!(p("libvirtd").sock_prefix, "libvirt");
    assert_eq!(p("virtproxyd").sock_prefix, "libvirt");
    assert_eq!(p("virtlxcd").sock_prefix, "virtlxcd");
    assert!(p("virtlxcd").requires_root && p("virtxend").requires_root);
    assert!(!p("virtvzd").requires_root && !p("libvirtd").requires_root);
    assert!(p("libvirtd").has_listen);
    assert!(!p("virtproxyd").has_listen && p("virtproxyd").with_ip);
    assert_eq!(p("virtqemud").sock_prefix, "virtqemud");
    assert!(!p("virtqemud").requires_root && !p("virtqemud").with_ip);
    assert_eq!(p("virtqemud").drivers, ["qemu"]);
    assert_eq!(
        p("libvirtd").socket_unit_names(),
        [
            "libvirtd.socket",
            "libvirtd-ro.socket",
            "libvirtd-admin.socket",
            "libvirtd-tcp.socket",
            "libvirtd-tls.socket"
        ]
    );
    assert_eq!(p("virtlxcd").socket_unit_names().len(), 3);
}

#[test]
fn root_paths_follow_the_prefix_override() {
    let env = Env::from_pairs([("LIBVIRT_RS_ROOT_PREFIX", "/tmp/root")]);
    let paths = Paths::resolve(&p("libvirtd"), true, &env).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        paths.config_file,
        Path::new("/tmp/root/etc/libvirt/libvirtd.conf")
    );
    assert_eq!(paths.sock, Path::new("/tmp/root/run/libvirt/libvirt-sock"));
    assert_eq!(
        paths.sock_ro.as_deref(),
        Some(Path::new("/tmp/root/run/libvirt/libvirt-sock-ro"))
    );
    assert_eq!(
        paths.sock_admin.as_deref(),
        Some(Path::new("/tmp/root/run/libvirt/libvirt-admin-sock"))
    );
    assert_eq!(paths.pid_file, Path::new("/tmp/root/run/libvirtd.pid"));
    let lxc = paths.driver_dirs("lxc");
    assert_eq!(lxc.config_dir, Path::new("/tmp/root/etc/libvirt/lxc"));
    assert_eq!(
        lxc.autostart_dir,
        Path::new("/tmp/root/etc/libvirt/lxc/autostart")
    );
    assert_eq!(lxc.state_dir, Path::new("/tmp/root/run/libvirt/lxc"));
    assert_eq!(lxc.lib_dir, Path::new("/tmp/root/var/lib/libvirt/lxc"));
    assert_eq!(lxc.log_dir, Path::new("/tmp/root/var/log/libvirt/lxc"));
    assert_eq!(
        paths.default_log_file(&p("libvirtd")),
        Path::new("/tmp/root/var/log/libvirt/libvirtd.log")
    );
}

#[test]
fn root_paths_without_override_are_the_real_ones() {
    let paths =
        Paths::resolve(&p("virtlxcd"), true, &Env::default()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(paths.config_file, Path::new("/etc/libvirt/virtlxcd.conf"));
    assert_eq!(paths.sock, Path::new("/run/libvirt/virtlxcd-sock"));
    assert_eq!(paths.pid_file, Path::new("/run/virtlxcd.pid"));
    assert_eq!(paths.tls_ca_cert, Path::new("/etc/pki/CA/cacert.pem"));
}

#[test]
fn user_paths_use_xdg_and_have_no_ro_socket() {
    let env = Env::from_pairs([
        ("HOME", "/home/u"),
        ("XDG_CONFIG_HOME", "/cfg"),
        ("XDG_RUNTIME_DIR", "/run/user/1000"),
    ]);
    let paths = Paths::resolve(&p("virtproxyd"), false, &env).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(paths.config_file, Path::new("/cfg/libvirt/virtproxyd.conf"));
    assert_eq!(paths.sock, Path::new("/run/user/1000/libvirt/libvirt-sock"));
    assert_eq!(paths.sock_ro, None);
    assert_eq!(
        paths.sock_admin.as_deref(),
        Some(Path::new("/run/user/1000/libvirt/libvirt-admin-sock"))
    );
    assert_eq!(
        paths.pid_file,
        Path::new("/run/user/1000/libvirt/virtproxyd.pid")
    );
    assert_eq!(
        paths.tls_ca_cert,
        Path::new("/home/u/.pki/libvirt/cacert.pem")
    );
    assert_eq!(
        paths.driver_dirs("vz").config_dir,
        Path::new("/cfg/libvirt/vz")
    );
}

#[test]
fn user_paths_fall_back_to_home() {
    let env = Env::from_pairs([("HOME", "/home/u"), ("XDG_RUNTIME_DIR", "")]);
    let paths = Paths::resolve(&p("libvirtd"), false, &env).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        paths.config_file,
        Path::new("/home/u/.config/libvirt/libvirtd.conf")
    );
    assert_eq!(paths.sock, Path::new("/home/u/.cache/libvirt/libvirt-sock"));
    assert_eq!(
        Paths::resolve(&p("libvirtd"), false, &Env::default()),
        Err(PathsError::NoHome)
    );
}

#[test]
fn unix_sock_dir_moves_sockets_and_drops_user_admin_socket() {
    let env = Env::from_pairs([("HOME", "/h")]);
    let mut user = Paths::resolve(&p("libvirtd"), false, &env).unwrap_or_else(|e| panic!("{e}"));
    user.apply_unix_sock_dir(Path::new("/s"));
    assert_eq!(user.sock, PathBuf::from("/s/libvirt-sock"));
    assert_eq!(
        (user.sock_ro.clone(), user.sock_admin.clone()),
        (None, None)
    );
    let mut root =
        Paths::resolve(&p("virtxend"), true, &Env::default()).unwrap_or_else(|e| panic!("{e}"));
    root.apply_unix_sock_dir(Path::new("/s"));
    assert_eq!(
        root.sock_ro.as_deref(),
        Some(Path::new("/s/virtxend-sock-ro"))
    );
    assert_eq!(
        root.sock_admin.as_deref(),
        Some(Path::new("/s/virtxend-admin-sock"))
    );
}

// SPDX-License-Identifier: LGPL-2.1-or-later
use daemon_support::config::{AuthScheme, ConfigError, DaemonConfig};
use daemon_support::Profile;

fn profile(name: &str) -> Profile {
    Profile::by_name(name).unwrap_or_else(|| panic!("no profile {name}"))
}

fn parse(name: &str, text: &str) -> Result<DaemonConfig, ConfigError> {
    DaemonConfig::parse_for(&profile(name), text, "/etc/libvirt/test.conf")
}

fn err(name: &str, text: &str) -> String {
    match parse(name, text) {
        Ok(c) => panic!("{text:?} unexpectedly accepted: {c:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn defaults_match_libvirt() {
    let c = DaemonConfig::default_for("libvirtd");
    assert!(c.listen_tls);
    assert!(!c.listen_tcp);
    assert_eq!(
        (c.tls_port.as_str(), c.tcp_port.as_str()),
        ("16514", "16509")
    );
    assert_eq!(c.unix_sock_ro_perms, "0777");
    assert_eq!(c.unix_sock_rw_perms, "0700");
    assert_eq!(c.unix_sock_admin_perms, "0700");
    assert_eq!(c.auth_tcp, AuthScheme::Sasl);
    assert_eq!(c.auth_tls, AuthScheme::None);
    assert_eq!(
        (
            c.min_workers,
            c.max_workers,
            c.prio_workers,
            c.max_clients,
            c.max_queued_clients
        ),
        (5, 20, 5, 5000, 1000)
    );
    assert_eq!((c.max_anonymous_clients, c.max_client_requests), (20, 5));
    assert_eq!(
        (
            c.admin_min_workers,
            c.admin_max_workers,
            c.admin_max_clients,
            c.admin_max_queued_clients
        ),
        (5, 20, 5000, 20)
    );
    assert_eq!((c.keepalive_interval, c.keepalive_count), (5, 5));
    assert_eq!(
        (c.audit_level, c.audit_logging, c.log_level, c.ovs_timeout),
        (1, false, 0, 5)
    );
    assert_eq!(c.tcp_min_ssf, 56);
    // virtproxyd has no --listen, so TLS listening is off unless configured.
    assert!(!DaemonConfig::default_for("virtproxyd").listen_tls);
}

#[test]
fn values_of_each_type_are_read() {
    let c = parse(
        "libvirtd",
        "listen_tcp = 1\ntcp_port = \"1234\"\nlisten_addr = \"::1\"\nauth_tcp = \"none\"\n\
         tls_allowed_dn_list = [\"C=GB,*\"]\nmax_clients = 7\nkeepalive_interval = -1\n\
         log_filters = \"1:rpc\"\nauth_unix_rw = \"polkit\"\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(c.listen_tcp);
    assert_eq!(c.tcp_port, "1234");
    assert_eq!(c.listen_addr.as_deref(), Some("::1"));
    assert_eq!(c.auth_tcp, AuthScheme::None);
    assert_eq!(c.tls_allowed_dn_list, Some(vec!["C=GB,*".to_owned()]));
    assert_eq!(c.max_clients, 7);
    assert_eq!(c.keepalive_interval, -1);
    assert_eq!(c.log_filters.as_deref(), Some("1:rpc"));
    // polkit on the rw socket opens its permissions, as in libvirt.
    assert_eq!(c.auth_unix_rw, AuthScheme::Polkit);
    assert_eq!(c.unix_sock_rw_perms, "0777");
}

#[test]
fn type_errors_name_file_and_key() {
    assert_eq!(
        err("libvirtd", "listen_tcp = \"yes\""),
        "internal error: /etc/libvirt/test.conf: expected a bool for 'listen_tcp' parameter"
    );
    assert_eq!(
        err("libvirtd", "listen_tls = 2"),
        "internal error: /etc/libvirt/test.conf: value for 'listen_tls' parameter must be 0 or 1"
    );
    assert_eq!(
        err("libvirtd", "max_clients = -1"),
        "internal error: /etc/libvirt/test.conf: expected an unsigned integer for 'max_clients' parameter"
    );
    assert_eq!(
        err("libvirtd", "unix_sock_group = 0"),
        "internal error: /etc/libvirt/test.conf: expected a string for 'unix_sock_group' parameter"
    );
    assert_eq!(
        err("libvirtd", "access_drivers = \"polkit\""),
        "internal error: /etc/libvirt/test.conf: expected a string list for 'access_drivers' parameter"
    );
    assert_eq!(
        err("libvirtd", "sasl_allowed_username_list = [ 1 ]"),
        "configuration file syntax error: /etc/libvirt/test.conf: expected a string list for 'sasl_allowed_username_list' parameter"
    );
    assert_eq!(
        err("libvirtd", "keepalive_interval = 4294967296"),
        "internal error: /etc/libvirt/test.conf: value for 'keepalive_interval' parameter must be in range -2147483648:2147483647"
    );
    assert_eq!(
        err("libvirtd", "auth_tls = \"kerberos\""),
        "unsupported configuration: /etc/libvirt/test.conf: auth_tls: unsupported auth kerberos"
    );
    assert_eq!(
        err("libvirtd", "tcp_min_ssf = 56"),
        "unsupported configuration: minimum SSF levels lower than 112 are not supported"
    );
    assert_eq!(
        err("libvirtd", "max_workers = 0"),
        "internal error: 'max_workers' must be greater than 0"
    );
    assert_eq!(
        err("libvirtd", "log_level = 1\nlog_level"),
        "configuration file syntax error: /etc/libvirt/test.conf:2: expecting an assignment"
    );
}

#[test]
fn unknown_keys_are_ignored_and_ip_keys_only_read_where_used() {
    let c = parse(
        "libvirtd",
        "no_such_key = [ 1, \"x\" ]\nkeepalive_required = 1\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c, DaemonConfig::default_for("libvirtd"));
    // virtlxcd has no TCP/IP: libvirt never reads these keys there.
    let c = parse("virtlxcd", "listen_tcp = \"bad\"\ntcp_min_ssf = 1\n")
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!c.listen_tcp);
}

#[test]
fn missing_file_is_fine_only_for_the_implicit_path() {
    let p = profile("libvirtd");
    let path = "/nonexistent-dir/libvirtd.conf";
    let c = DaemonConfig::load_for(&p, path, true).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c, DaemonConfig::default_for("libvirtd"));
    let e = DaemonConfig::load(path).unwrap_err();
    assert_eq!(
        e.to_string(),
        "Failed to open file '/nonexistent-dir/libvirtd.conf': No such file or directory"
    );
}

#[test]
fn corpus_libvirtd_conf_loads() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/conformance/libvirt-9.6/virconfdata/libvirtd.conf"
    );
    if !std::path::Path::new(path).exists() {
        eprintln!("skipping: {path} absent");
        return;
    }
    let c = DaemonConfig::load(path).unwrap_or_else(|e| panic!("{e}"));
    assert!(!c.listen_tls);
    assert!(c.listen_tcp);
    assert_eq!(c.unix_sock_group.as_deref(), Some("libvirt"));
    assert_eq!(c.unix_sock_rw_perms, "0770");
    assert!(c.tls_no_verify_certificate);
    assert_eq!(
        c.tls_allowed_dn_list,
        Some(vec!["DN1".to_owned(), "DN2".to_owned()])
    );
    assert_eq!(
        c.host_uuid.as_deref(),
        Some("8510b1a1-1afa-4da6-8111-785fae202c1e")
    );
    assert_eq!(c.crl_file.as_deref(), Some("/etc/pki/CA/crl.pem"));
}

const DEBIAN: &str = "/etc/libvirt/libvirtd.conf";

#[test]
fn debian_libvirtd_conf_gives_the_defaults() {
    if !std::path::Path::new(DEBIAN).exists() {
        eprintln!("skipping: {DEBIAN} absent (from Debian's libvirt-daemon-system)");
        return;
    }
    let c = DaemonConfig::load(DEBIAN).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c, DaemonConfig::default_for("libvirtd"));
}

/// Every example setting in the shipped file, uncommented, has a type
/// this loader accepts.
#[test]
fn debian_libvirtd_conf_examples_uncommented_load() {
    let Ok(text) = std::fs::read_to_string(DEBIAN) else {
        eprintln!("skipping: {DEBIAN} absent (from Debian's libvirt-daemon-system)");
        return;
    };
    let mut uncommented = String::new();
    let mut count = 0;
    for line in text.lines() {
        let rest = line.strip_prefix('#').unwrap_or("");
        let is_setting = rest.chars().next().is_some_and(|c| c.is_ascii_lowercase())
            && rest
                .split_once('=')
                .is_some_and(|(k, _)| k.trim().chars().all(|c| c.is_ascii_lowercase() || c == '_'));
        if is_setting {
            uncommented.push_str(rest);
            count += 1;
        } else {
            uncommented.push_str(line);
        }
        uncommented.push('\n');
    }
    assert!(count > 40, "only {count} example settings found");
    let c = DaemonConfig::parse_for(&Profile::libvirtd(), &uncommented, DEBIAN)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(c.listen_tcp);
    assert_eq!(c.tcp_min_ssf, 112);
    assert_eq!(c.access_drivers, Some(vec!["polkit".to_owned()]));
}

#[test]
fn parse_mode_is_octal() {
    assert_eq!(DaemonConfig::parse_mode("0770"), Ok(0o770));
    assert_eq!(
        DaemonConfig::parse_mode("0778"),
        Err("Failed to parse mode '0778'".to_owned())
    );
    assert!(DaemonConfig::parse_mode("").is_err());
}

#[test]
fn root_daemons_default_to_polkit_and_an_open_rw_socket_only_with_it() {
    let p = Profile::by_name("libvirtd").expect("profile");
    let dir = std::env::temp_dir().join(format!("cfg-polkit-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let missing = dir.join("none.conf");
    let c = DaemonConfig::load_for_user(&p, &missing, true, true).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.auth_unix_rw, AuthScheme::Polkit);
    assert_eq!(c.auth_unix_ro, AuthScheme::Polkit);
    assert_eq!(c.unix_sock_rw_perms, "0777");
    let c =
        DaemonConfig::load_for_user(&p, &missing, true, false).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.auth_unix_rw, AuthScheme::None);
    assert_eq!(c.unix_sock_rw_perms, "0700");
    // Turning polkit off on a root daemon closes the socket again.
    let f = dir.join("none-auth.conf");
    std::fs::write(&f, "auth_unix_rw = \"none\"\n").expect("write");
    let c = DaemonConfig::load_for_user(&p, &f, false, true).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.auth_unix_rw, AuthScheme::None);
    assert_eq!(c.unix_sock_rw_perms, "0700");
    // Explicit permissions win.
    std::fs::write(
        &f,
        "auth_unix_rw = \"none\"\nunix_sock_rw_perms = \"0770\"\n",
    )
    .expect("write");
    let c = DaemonConfig::load_for_user(&p, &f, false, true).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.unix_sock_rw_perms, "0770");
    let _ = std::fs::remove_dir_all(&dir);
}

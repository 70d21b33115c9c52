// SPDX-License-Identifier: LGPL-2.1-or-later
//! The secondary drivers in the modular layout, with the real virsh:
//! network and secret calls on an `lxc:///system` connection (virtlxcd's
//! socket, or virtproxyd's libvirtd-compatible one) are answered by
//! virtnetworkd and virtsecretd, as libvirt's per-driver daemons relay
//! them; virtproxyd forwards `network:///`, `secret:///` to those daemons
//! and the other schemes (`storage:///`, `nodedev:///`, `interface:///`,
//! `nwfilter:///`, `qemu:///`) to theirs, failing as libvirt does when a
//! daemon's socket is not there. Only inactive objects are defined: no
//! bridge or firewall rule is made.

use std::process::Command;
use test_support::*;

fn skip_reason() -> Option<String> {
    if !is_root() {
        return Some("virtlxcd and virtnetworkd need root".into());
    }
    if !tool_exists("virsh") {
        return Some("needs virsh (libvirt-clients)".into());
    }
    None
}

fn start(t: &TempDir, daemon: &str, conf: &std::path::Path) -> Daemon {
    let mut cmd = Command::new(bin(daemon));
    cmd.args([
        "-f",
        conf.to_str().unwrap_or(""),
        "-p",
        t.join(&format!("{daemon}.pid")).to_str().unwrap_or(""),
    ])
    .env("LIBVIRT_RS_ROOT_PREFIX", t.path());
    let sock = if daemon == "virtproxyd" {
        "libvirt-sock".to_string()
    } else {
        format!("{daemon}-sock")
    };
    Daemon::start_cmd(cmd, t, &t.join(&format!("run/{sock}")))
}

fn ok(uri: &str, args: &[&str]) -> String {
    let o = virsh(uri, false, args);
    assert!(
        o.status.success(),
        "virsh -c {uri} {args:?}: {}{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    text(&o.stdout)
}

const NET_XML: &str = "<network><name>relaynet</name>\
    <bridge name='lvrsrelay0'/><ip address='10.213.9.1' netmask='255.255.255.0'/></network>";
const SECRET_XML: &str = "<secret ephemeral='no' private='no'>\
    <uuid>8ed4c2d5-7c4b-4a47-9c0e-2a8c1f0a6b11</uuid>\
    <usage type='volume'><volume>/var/lib/relay.img</volume></usage></secret>";

#[test]
fn secondary_calls_reach_their_daemons_through_virtlxcd_and_the_proxy() {
    skip_if!(skip_reason());
    let t = TempDir::new("modsec");
    let conf = t.config("");
    let _net = start(&t, "virtnetworkd", &conf);
    let _sec = start(&t, "virtsecretd", &conf);
    let _lxc = start(&t, "virtlxcd", &conf);
    let _proxy = start(&t, "virtproxyd", &conf);
    let run = t.join("run");
    let uri = |scheme: &str, sock: &str| {
        format!(
            "{scheme}+unix:///system?socket={}",
            run.join(sock).display()
        )
    };
    let lxc_direct = uri("lxc", "virtlxcd-sock");
    let lxc_proxied = uri("lxc", "libvirt-sock");
    let net_proxied = uri("network", "libvirt-sock");
    let net_direct = uri("network", "virtnetworkd-sock");
    let secret_proxied = uri("secret", "libvirt-sock");

    let net_xml = t.join("net.xml");
    std::fs::write(&net_xml, NET_XML).unwrap();
    let secret_xml = t.join("secret.xml");
    std::fs::write(&secret_xml, SECRET_XML).unwrap();

    // A network defined through the LXC connection of the proxy lives in
    // virtnetworkd.
    ok(&lxc_proxied, &["net-define", net_xml.to_str().unwrap()]);
    let listed = ok(&net_direct, &["net-list", "--all", "--name"]);
    assert_eq!(listed.trim(), "relaynet");
    let listed = ok(&lxc_direct, &["net-list", "--all", "--name"]);
    assert_eq!(listed.trim(), "relaynet");
    let listed = ok(&net_proxied, &["net-list", "--all", "--name"]);
    assert_eq!(listed.trim(), "relaynet");
    let xml = ok(&lxc_proxied, &["net-dumpxml", "relaynet"]);
    assert!(xml.contains("<bridge name='lvrsrelay0'"), "{xml}");
    // An unknown network is virtnetworkd's error, relayed.
    let o = virsh(&lxc_proxied, false, &["net-info", "nosuchnet"]);
    assert!(
        text(&o.stderr).contains("Network not found: no network with matching name 'nosuchnet'"),
        "{}",
        text(&o.stderr)
    );

    // Secrets: defined on the LXC connection, seen on virtsecretd's URI
    // through the proxy, value set and read back.
    ok(
        &lxc_direct,
        &["secret-define", secret_xml.to_str().unwrap()],
    );
    let uuid = "8ed4c2d5-7c4b-4a47-9c0e-2a8c1f0a6b11";
    let listed = ok(&secret_proxied, &["secret-list"]);
    assert!(listed.contains(uuid), "{listed}");
    ok(
        &lxc_proxied,
        &["secret-set-value", uuid, "--base64", "c2VjcmV0"],
    );
    let value = ok(&secret_proxied, &["secret-get-value", uuid]);
    assert_eq!(value.trim(), "c2VjcmV0");
    ok(&lxc_proxied, &["secret-undefine", uuid]);

    // Domain calls still go to virtlxcd on the same connection.
    let listed = ok(&lxc_proxied, &["list", "--all", "--name"]);
    assert!(listed.trim().is_empty(), "{listed}");

    ok(&lxc_proxied, &["net-undefine", "relaynet"]);
    let listed = ok(&net_direct, &["net-list", "--all", "--name"]);
    assert!(listed.trim().is_empty(), "{listed}");

    // Daemons that are not running: the storage calls of an LXC
    // connection and the proxy's other schemes fail as libvirt's remote
    // driver does when the socket is missing.
    let o = virsh(&lxc_proxied, false, &["pool-list", "--all"]);
    let want = format!(
        "Failed to connect socket to '{}': No such file or directory",
        run.join("virtstoraged-sock").display()
    );
    assert!(text(&o.stderr).contains(&want), "{}", text(&o.stderr));
    // With virtstoraged running: a pool defined on the LXC connection of
    // the proxy is virtstoraged's, and virtstoraged's own secret calls go
    // to virtsecretd.
    let _storaged = start(&t, "virtstoraged", &conf);
    let pool_dir = t.join("pooldir");
    std::fs::create_dir_all(&pool_dir).unwrap();
    ok(
        &lxc_proxied,
        &[
            "pool-define-as",
            "relaypool",
            "dir",
            "--target",
            pool_dir.to_str().unwrap(),
        ],
    );
    let storage_direct = uri("storage", "virtstoraged-sock");
    let listed = ok(&storage_direct, &["pool-list", "--all", "--name"]);
    assert_eq!(listed.trim(), "relaypool");
    ok(&lxc_direct, &["pool-undefine", "relaypool"]);
    ok(
        &storage_direct,
        &["secret-define", secret_xml.to_str().unwrap()],
    );
    let listed = ok(&secret_proxied, &["secret-list"]);
    assert!(listed.contains(uuid), "{listed}");
    ok(&storage_direct, &["secret-undefine", uuid]);
    for (scheme, daemon) in [
        ("nodedev", "virtnodedevd"),
        ("interface", "virtinterfaced"),
        ("nwfilter", "virtnwfilterd"),
        ("qemu", "virtqemud"),
    ] {
        let o = virsh(&uri(scheme, "libvirt-sock"), false, &["uri"]);
        let want = format!(
            "Failed to connect socket to '{}': No such file or directory",
            run.join(format!("{daemon}-sock")).display()
        );
        assert!(
            text(&o.stderr).contains(&want),
            "{scheme}: {}",
            text(&o.stderr)
        );
    }
}

/// A libvirt-python client holding `uri` open after one call of `call`
/// (python, on `conn`): its pid, and the process to end.
fn python_holding(uri: &str, call: &str) -> (u32, std::process::Child) {
    use std::io::BufRead;
    let script = format!(
        "import libvirt, os, sys\nconn = libvirt.open(sys.argv[1])\n{call}\nprint(os.getpid(), flush=True)\nsys.stdin.read()\n"
    );
    let mut child = Command::new(PYTHON)
        .args(["-c", &script, uri])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("python3: {e}"));
    let mut line = String::new();
    if let Some(out) = child.stdout.take() {
        let _ = std::io::BufReader::new(out).read_line(&mut line);
    }
    let pid = line
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("the client printed no pid: {line:?}"));
    (pid, child)
}

/// `virt-admin client-info` of every client of `server` on the admin
/// socket `adm`, one text per client.
fn admin_client_infos(adm: &std::path::Path, server: &str) -> Vec<String> {
    let o = virt_admin(adm, &["srv-clients-list", server]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    text(&o.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next()?.parse::<u64>().ok())
        .map(|id| {
            let o = virt_admin(adm, &["client-info", server, &id.to_string()]);
            assert!(o.status.success(), "{}", text(&o.stderr));
            text(&o.stdout)
        })
        .collect()
}

/// The field `name` of a `virt-admin client-info` text.
fn info_field(info: &str, name: &str) -> Option<String> {
    info.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        (k.trim() == name).then(|| v.trim().to_string())
    })
}

#[test]
fn secondary_daemons_and_the_proxy_serve_the_clients_identity_not_their_own() {
    skip_if!(skip_reason());
    if !python_available() || !tool_exists("virt-admin") {
        return skip("needs libvirt-python and virt-admin");
    }
    let t = TempDir::new("modsec-ident");
    let conf = t.config("");
    let _sec = start(&t, "virtsecretd", &conf);
    let lxc = start(&t, "virtlxcd", &conf);
    let _proxy = start(&t, "virtproxyd", &conf);
    let run = t.join("run");
    // A client of virtlxcd whose secret calls go on to virtsecretd.
    let lxc_uri = format!(
        "lxc+unix:///system?socket={}",
        run.join("virtlxcd-sock").display()
    );
    let (pid, mut client) = python_holding(&lxc_uri, "conn.listAllSecrets()");
    let infos = admin_client_infos(&run.join("virtsecretd-admin-sock"), "virtsecretd");
    let ours: Vec<&String> = infos
        .iter()
        .filter(|i| info_field(i, "unix_process_id") == Some(pid.to_string()))
        .collect();
    assert_eq!(ours.len(), 1, "virtsecretd's clients: {infos:?}");
    assert_eq!(info_field(ours[0], "unix_user_id").as_deref(), Some("0"));
    assert_eq!(
        info_field(ours[0], "unix_user_name").as_deref(),
        Some("root")
    );
    // virtlxcd's own pid is not what virtsecretd reports.
    assert!(
        !infos
            .iter()
            .any(|i| info_field(i, "unix_process_id") == Some(lxc.child.id().to_string())),
        "{infos:?}"
    );
    drop(client.stdin.take());
    let _ = client.wait();

    // Through virtproxyd, virtlxcd serves the client, not the proxy.
    let proxied = format!(
        "lxc+unix:///system?socket={}",
        run.join("libvirt-sock").display()
    );
    let (pid, mut client) = python_holding(&proxied, "conn.listAllDomains()");
    let infos = admin_client_infos(&run.join("virtlxcd-admin-sock"), "virtlxcd");
    assert!(
        infos
            .iter()
            .any(|i| info_field(i, "unix_process_id") == Some(pid.to_string())),
        "virtlxcd's clients: {infos:?}"
    );
    drop(client.stdin.take());
    let _ = client.wait();
}

// SPDX-License-Identifier: LGPL-2.1-or-later
//! The daemons' contract, checked from outside: command line, paths, pid
//! file, -d, -t, signals, sockets (traditional and socket-activated), the
//! read-only socket, the admin program with the real virt-admin, limits
//! and config errors.
//!
//! Run: `cargo build --bins && cargo test -p daemon-tests` (see the
//! crate's lib.rs for why the binaries are built first).

// Test harness: the client's error type is the wire error, large by nature.
#![forbid(unsafe_code)]
#![allow(clippy::result_large_err)]

use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use protocol::admin as a;
use protocol::remote as r;
use rpc::client::RpcClient;
use test_support::*;

const ALL: [&str; 11] = [
    "libvirtd",
    "virtproxyd",
    "virtqemud",
    "virtlxcd",
    "virtxend",
    "virtvzd",
    "virtnetworkd",
    "virtsecretd",
    "virtstoraged",
    "virtnodedevd",
    "virtinterfaced",
];
const NOBODY: u32 = 65534;

fn admin_client(sock: &Path) -> RpcClient {
    let mut c = RpcClient::connect(sock, a::PROGRAM, a::PROTOCOL_VERSION).expect("admin connect");
    c.call::<_, ()>(1, &a::ConnectOpenArgs { flags: 0 })
        .expect("admin open");
    c
}

fn admin_filters(c: &mut RpcClient) -> String {
    let ret: a::ConnectGetLoggingFiltersRet = c
        .call(15, &a::ConnectGetLoggingFiltersArgs { flags: 0 })
        .expect("get filters");
    ret.filters.unwrap_or_default()
}

fn remote_client(sock: &Path, uri: &str) -> RpcClient {
    let mut c = RpcClient::connect(sock, r::PROGRAM, r::PROTOCOL_VERSION).expect("connect");
    c.call::<_, ()>(
        1,
        &r::ConnectOpenArgs {
            name: Some(uri.to_owned()),
            flags: 0,
        },
    )
    .expect("open");
    c
}

/// Daemon `name` started with `-f CONF -p PID` after `extra`, once `sock`
/// accepts connections.
fn start_with_files(
    name: &str,
    t: &TempDir,
    (conf, pid): (&Path, &Path),
    extra: &[&str],
    sock: &Path,
) -> Daemon {
    let mut args = extra.to_vec();
    args.extend([
        "-f",
        conf.to_str().unwrap_or(""),
        "-p",
        pid.to_str().unwrap_or(""),
    ]);
    Daemon::start(name, t, &args, sock)
}

#[test]
fn version_prints_name_and_libvirt_version() {
    for name in ALL {
        let out = run(name, &["--version"]);
        assert!(out.status.success(), "{name}");
        assert_eq!(text(&out.stdout), format!("{name} (libvirt) 9.6.0\n"));
        let short = run(name, &["-V"]);
        assert_eq!(text(&short.stdout), format!("{name} (libvirt) 9.6.0\n"));
    }
}

#[test]
fn help_prints_usage_and_exits_zero() {
    for name in ALL {
        let out = run(name, &["--help"]);
        assert_eq!(out.status.code(), Some(0), "{name}");
        let err = text(&out.stderr);
        assert!(err.contains("Usage:"), "{name}: {err}");
        assert!(err.contains("--timeout"), "{name}: {err}");
        assert!(err.contains("--pid-file"), "{name}: {err}");
        assert_eq!(
            err.contains("--listen"),
            name == "libvirtd",
            "{name}: {err}"
        );
    }
}

#[test]
fn unknown_option_is_a_usage_error() {
    for name in ALL {
        let out = run(name, &["--no-such-option"]);
        assert_ne!(out.status.code(), Some(0), "{name}");
        let err = text(&out.stderr);
        assert!(err.contains("unrecognized option"), "{name}: {err}");
        assert!(err.contains("Usage:"), "{name}: {err}");
    }
    // -l exists for libvirtd only.
    let out = run("virtvzd", &["-l"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(text(&out.stderr).contains("invalid option -- 'l'"));
    let out = run("virtvzd", &["stray-operand"]);
    assert_ne!(out.status.code(), Some(0));
}

#[test]
fn pid_file_holds_the_pid_and_a_second_instance_refuses_it() {
    let t = TempDir::new("pid");
    let conf = t.config("");
    let pid = t.join("vz.pid");
    let sock = t.join("run/virtvzd-sock");
    let mut d = start_with_files("virtvzd", &t, (&conf, &pid), &[], &sock);
    let content = std::fs::read_to_string(&pid).expect("pid file");
    assert_eq!(content.trim(), d.child.id().to_string());

    // Same pid file, other sockets: refused because the file is locked.
    let t2 = TempDir::new("pid2");
    let conf2 = t2.config("");
    let out = run(
        "virtvzd",
        &[
            "-f",
            conf2.to_str().unwrap_or(""),
            "-p",
            pid.to_str().unwrap_or(""),
        ],
    );
    assert_ne!(out.status.code(), Some(0));
    let err = text(&out.stderr);
    assert!(err.contains("Failed to acquire pid file"), "{err}");
    assert!(d.running());

    d.signal(libc::SIGTERM);
    let st = d.wait_exit(WAIT).expect("exits on SIGTERM");
    assert!(st.success(), "{st}");
    assert!(!pid.exists(), "pid file removed at exit");
    assert!(!sock.exists(), "socket removed at exit");
}

#[test]
fn daemon_mode_returns_once_sockets_serve() {
    let t = TempDir::new("daemonize");
    let conf = t.config("");
    let pid = t.join("d.pid");
    let out = run(
        "virtvzd",
        &[
            "-d",
            "-f",
            conf.to_str().unwrap_or(""),
            "-p",
            pid.to_str().unwrap_or(""),
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    // The parent exited only after the daemon was serving.
    assert!(UnixStream::connect(t.join("run/virtvzd-sock")).is_ok());
    let dpid: u32 = std::fs::read_to_string(&pid)
        .expect("pid file")
        .trim()
        .parse()
        .expect("pid");
    assert!(dpid > 0);
    assert!(host::process::exists(dpid), "daemon {dpid} is not running");
    host::process::kill(dpid, libc::SIGTERM).expect("SIGTERM to the daemon");
    assert!(eventually(|| !pid.exists()), "daemon did not stop");
}

#[test]
fn daemon_mode_reports_startup_failure() {
    let t = TempDir::new("daemonize-fail");
    let conf = t.config("");
    let pid = t.join("d.pid");
    let sock = t.join("run/virtvzd-sock");
    let _d = start_with_files("virtvzd", &t, (&conf, &pid), &[], &sock);
    let out = run(
        "virtvzd",
        &[
            "-d",
            "-f",
            conf.to_str().unwrap_or(""),
            "-p",
            pid.to_str().unwrap_or(""),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("Unable to obtain pidfile"));
}

#[test]
fn timeout_exits_when_idle_but_not_while_a_client_is_connected() {
    let t = TempDir::new("timeout");
    let conf = t.config("");
    let sock = t.join("run/virtvzd-sock");
    let pid = t.join("p.pid");
    let mut d = start_with_files("virtvzd", &t, (&conf, &pid), &["-t", "1"], &sock);
    let client = UnixStream::connect(&sock).expect("connect");
    // Well past the timeout with a client connected: still running.
    std::thread::sleep(Duration::from_secs(3));
    assert!(d.running(), "exited with a client connected");
    drop(client);
    let st = d.wait_exit(WAIT).expect("idle exit");
    assert!(st.success());
}

#[test]
fn timeout_exits_when_nobody_connects() {
    let t = TempDir::new("timeout2");
    let conf = t.config("");
    let pid = t.join("p.pid");
    let mut d = start_with_files(
        "virtproxyd",
        &t,
        (&conf, &pid),
        &["--timeout=1"],
        &t.join("run/libvirt-sock"),
    );
    let st = d.wait_exit(WAIT).expect("idle exit");
    assert!(st.success());
}

#[test]
fn sighup_applies_new_log_filters_without_dropping_clients() {
    if !is_root() {
        skip("the read-only and admin sockets exist only for root daemons");
        return;
    }
    let t = TempDir::new("hup");
    let log = t.join("daemon.log");
    let conf = t.config(&format!(
        "log_filters = \"3:first\"\nlog_outputs = \"3:file:{}\"",
        log.display()
    ));
    let pid = t.join("p.pid");
    let mut d = start_with_files(
        "virtproxyd",
        &t,
        (&conf, &pid),
        &[],
        &t.join("run/libvirt-sock"),
    );
    let mut admin = admin_client(&t.join("run/libvirt-admin-sock"));
    let mut remote = remote_client(&t.join("run/libvirt-sock"), "test:///default");
    assert_eq!(admin_filters(&mut admin), "3:*first* ");

    std::fs::write(
        &conf,
        format!(
            "unix_sock_dir = \"{}\"\nlog_filters = \"1:second 4:third\"\nlog_outputs = \"3:file:{}\"\n",
            t.join("run").display(),
            log.display()
        ),
    )
    .expect("rewrite config");
    d.signal(libc::SIGHUP);
    // The same admin connection sees the new filters.
    assert!(eventually(
        || admin_filters(&mut admin) == "1:*second* 4:*third* "
    ));
    // The remote client was not dropped either.
    let ver: r::ConnectGetLibVersionRet = remote.call(157, &()).expect("still connected");
    assert_eq!(ver.lib_ver, 9_006_000);
    assert!(d.running());
}

#[test]
fn read_only_socket_refuses_changes_and_allows_reads() {
    if !is_root() {
        skip("the read-only and admin sockets exist only for root daemons");
        return;
    }
    if !tool_exists("virsh") {
        skip("virsh is not installed");
        return;
    }
    let t = TempDir::new("ro");
    let conf = t.config("");
    let pid = t.join("p.pid");
    let _d = start_with_files(
        "virtproxyd",
        &t,
        (&conf, &pid),
        &[],
        &t.join("run/libvirt-sock"),
    );
    let ro = t.join("run/libvirt-sock-ro");
    let ro_uri = format!("test+unix:///default?socket={}", ro.display());
    let xml = t.join("dom.xml");
    std::fs::write(
        &xml,
        "<domain type='test'><name>ro1</name><memory>1024</memory><os><type>hvm</type></os></domain>",
    )
    .expect("xml");
    let out = virsh(&ro_uri, true, &["define", xml.to_str().unwrap_or("")]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("operation forbidden: read only access prevents virDomainDefineXML"),
        "{err}"
    );
    let out = virsh(&ro_uri, true, &["list", "--all"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("test"));
    // The read-write socket accepts the same define.
    let rw_uri = format!(
        "test+unix:///default?socket={}",
        t.join("run/libvirt-sock").display()
    );
    let out = virsh(&rw_uri, false, &["define", xml.to_str().unwrap_or("")]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn virt_admin_manages_servers_clients_and_logging() {
    if !is_root() {
        skip("the read-only and admin sockets exist only for root daemons");
        return;
    }
    if !tool_exists("virt-admin") {
        skip("virt-admin is not installed");
        return;
    }
    let t = TempDir::new("admin");
    let conf = t.config("log_filters = \"3:start\"");
    let pid = t.join("p.pid");
    let _d = start_with_files(
        "virtproxyd",
        &t,
        (&conf, &pid),
        &[],
        &t.join("run/libvirt-sock"),
    );
    let adm = t.join("run/libvirt-admin-sock");
    let ok = |args: &[&str]| {
        let o = virt_admin(&adm, args);
        assert!(o.status.success(), "{args:?}: {}", text(&o.stderr));
        text(&o.stdout)
    };

    let list = ok(&["srv-list"]);
    assert!(list.contains(" admin"), "{list}");
    assert!(list.contains(" virtproxyd"), "{list}");

    let info = ok(&["srv-threadpool-info", "virtproxyd"]);
    assert!(info.contains("minWorkers     : 5"), "{info}");
    assert!(info.contains("maxWorkers     : 20"), "{info}");
    ok(&[
        "srv-threadpool-set",
        "virtproxyd",
        "--max-workers",
        "30",
        "--priority-workers",
        "7",
    ]);
    let info = ok(&["srv-threadpool-info", "virtproxyd"]);
    assert!(info.contains("maxWorkers     : 30"), "{info}");
    assert!(info.contains("prioWorkers    : 7"), "{info}");
    let o = virt_admin(
        &adm,
        &["srv-threadpool-set", "virtproxyd", "--min-workers", "99"],
    );
    assert!(!o.status.success());
    assert!(text(&o.stderr).contains("minWorkers cannot be larger than maxWorkers"));

    let limits = ok(&["srv-clients-info", "virtproxyd"]);
    assert!(limits.contains("nclients_max        : 5000"), "{limits}");
    ok(&["srv-clients-set", "virtproxyd", "--max-clients", "100"]);
    assert!(ok(&["srv-clients-info", "virtproxyd"]).contains("nclients_max        : 100"));

    let o = virt_admin(&adm, &["srv-threadpool-info", "nosuch"]);
    assert!(text(&o.stderr).contains("Server not found: No server named 'nosuch'"));

    // A remote client shows up, can be inspected and disconnected.
    let mut c = remote_client(&t.join("run/libvirt-sock"), "test:///default");
    let clients = ok(&["client-list", "virtproxyd"]);
    let id = clients
        .lines()
        .filter(|l| l.contains("unix"))
        .filter_map(|l| l.split_whitespace().next())
        .next()
        .expect("a client")
        .to_owned();
    let info = ok(&["client-info", "virtproxyd", &id]);
    assert!(info.contains("readonly       : no"), "{info}");
    assert!(
        info.contains(&format!("unix_process_id: {}", std::process::id())),
        "{info}"
    );
    ok(&["client-disconnect", "virtproxyd", &id]);
    let gone = c.call::<_, r::ConnectGetLibVersionRet>(157, &());
    assert!(gone.is_err(), "client still served after disconnect");
    let o = virt_admin(&adm, &["client-info", "virtproxyd", &id]);
    assert!(text(&o.stderr).contains("No client with matching ID"));

    // Logging: read and change live.
    assert!(ok(&["daemon-log-filters"]).contains("3:*start*"));
    ok(&["daemon-log-filters", "1:rpc 4:event"]);
    let f = ok(&["daemon-log-filters"]);
    assert!(f.contains("1:*rpc* 4:*event*"), "{f}");
    let logf = t.join("out.log");
    ok(&["daemon-log-outputs", &format!("2:file:{}", logf.display())]);
    assert!(ok(&["daemon-log-outputs"]).contains(&format!("2:file:{}", logf.display())));

    let v = ok(&["version"]);
    assert!(v.contains("Running against daemon: 9.6.0"), "{v}");
}

#[test]
fn virt_admin_daemon_timeout_stops_an_idle_daemon() {
    if !is_root() {
        skip("the read-only and admin sockets exist only for root daemons");
        return;
    }
    let t = TempDir::new("admtimeout");
    let conf = t.config("");
    let pid = t.join("p.pid");
    let mut d = start_with_files(
        "virtvzd",
        &t,
        (&conf, &pid),
        &[],
        &t.join("run/virtvzd-sock"),
    );
    {
        let mut adm = admin_client(&t.join("run/virtvzd-admin-sock"));
        adm.call::<_, ()>(
            19,
            &a::ConnectSetDaemonTimeoutArgs {
                timeout: 1,
                flags: 0,
            },
        )
        .expect("set timeout");
    }
    let st = d.wait_exit(WAIT).expect("exits once idle");
    assert!(st.success());
}

#[test]
fn max_clients_holds_further_connections_until_a_slot_frees() {
    let t = TempDir::new("maxclients");
    let conf = t.config("max_clients = 1");
    let pid = t.join("p.pid");
    let sock = t.join("run/libvirt-sock");
    let _d = start_with_files("virtproxyd", &t, (&conf, &pid), &[], &sock);
    // wait_socket's probe connection has come and gone; take the slot.
    let first = remote_client(&sock, "test:///default");
    let (tx, rx) = std::sync::mpsc::channel();
    let s2 = sock.clone();
    std::thread::spawn(move || {
        let got = RpcClient::connect(&s2, r::PROGRAM, r::PROTOCOL_VERSION)
            .and_then(|mut c| c.call::<_, r::AuthListRet>(66, &()));
        let _ = tx.send(got.is_ok());
    });
    // The second client is not served while the first holds the slot.
    assert!(rx.recv_timeout(Duration::from_secs(2)).is_err());
    drop(first);
    assert_eq!(rx.recv_timeout(WAIT).ok(), Some(true));
}

#[test]
fn proxy_forwards_by_uri_and_reports_missing_drivers() {
    let t = TempDir::new("proxy");
    let conf = t.config("");
    let _p = Daemon::start(
        "virtproxyd",
        &t,
        &[
            "-f",
            conf.to_str().unwrap_or(""),
            "-p",
            t.join("p.pid").to_str().unwrap_or(""),
        ],
        &t.join("run/libvirt-sock"),
    );
    let sock = t.join("run/libvirt-sock");
    let open = |uri: &str| {
        let mut c = RpcClient::connect(&sock, r::PROGRAM, r::PROTOCOL_VERSION).expect("c");
        let auth: r::AuthListRet = c.call(66, &()).expect("auth list");
        assert_eq!(auth.types, vec![0]);
        c.call::<_, ()>(
            1,
            &r::ConnectOpenArgs {
                name: Some(uri.to_owned()),
                flags: 0,
            },
        )
        .map(|_| c)
        .map_err(|e| e.to_string())
    };
    // No virtlxcd running: the socket is missing.
    let e = open("lxc:///system").err().unwrap_or_default();
    assert!(e.contains("virtlxcd-sock"), "{e}");
    // Nor virtqemud.
    let e = open("qemu:///system").err().unwrap_or_default();
    assert!(e.contains("virtqemud-sock"), "{e}");

    // With virtvzd beside it, vz:// reaches virtvzd, which has no driver.
    let _vz = Daemon::start(
        "virtvzd",
        &t,
        &[
            "-f",
            conf.to_str().unwrap_or(""),
            "-p",
            t.join("vz.pid").to_str().unwrap_or(""),
        ],
        &t.join("run/virtvzd-sock"),
    );
    let e = open("vz:///system").err().unwrap_or_default();
    assert!(
        e.contains("no connection driver available for vz:///system"),
        "{e}"
    );

    // test:/// is served in-process, through the same relay.
    let mut c = open("test:///default").expect("test driver");
    let uri: r::ConnectGetUriRet = c.call(110, &()).expect("get uri");
    assert_eq!(uri.uri, "test:///default");
}

/// Daemon `name` with config `conf` and pid file in `t`, started as
/// systemd's socket activation starts it with its three UNIX sockets
/// (`NAME.socket`, `NAME-ro.socket`, `NAME-admin.socket`), bound here at
/// `t/NAME-rw`, `t/NAME-ro`, `t/NAME-admin`: the command, the socket paths
/// in that order, and the listeners (kept open by the caller).
fn activated_with_three_sockets(
    t: &TempDir,
    name: &str,
    conf: &Path,
) -> (Command, Vec<std::path::PathBuf>, Vec<UnixListener>) {
    let units = [
        format!("{name}.socket"),
        format!("{name}-ro.socket"),
        format!("{name}-admin.socket"),
    ];
    let paths: Vec<_> = ["rw", "ro", "admin"]
        .iter()
        .map(|k| t.join(&format!("{name}-{k}")))
        .collect();
    let listeners: Vec<UnixListener> = paths
        .iter()
        .map(|p| UnixListener::bind(p).expect("bind"))
        .collect();
    let raw: Vec<i32> = listeners
        .iter()
        .map(std::os::fd::AsRawFd::as_raw_fd)
        .collect();
    let names: Vec<&str> = units.iter().map(String::as_str).collect();
    let mut cmd = socket_activated(&bin(name), &raw, &names);
    cmd.args(["-f", conf.to_str().unwrap_or("")])
        .args(["-p", t.join("p.pid").to_str().unwrap_or("")]);
    (cmd, paths, listeners)
}

#[test]
fn socket_activation_uses_passed_sockets_and_ignores_config_paths() {
    let t = TempDir::new("activation");
    let conf = t.config("");
    let (cmd, paths, _listeners) = activated_with_three_sockets(&t, "virtvzd", &conf);
    let mut d = Daemon::start_cmd(cmd, &t, &paths[0]);
    // The admin program answers on the passed admin socket.
    let mut adm = admin_client(&paths[2]);
    let ver: a::ConnectGetLibVersionRet = adm.call(3, &()).expect("version");
    assert_eq!(ver.lib_ver, 9_006_000);
    // The read-only socket refuses a change.
    let mut ro = RpcClient::connect(&paths[1], r::PROGRAM, r::PROTOCOL_VERSION).expect("ro");
    let _: r::AuthListRet = ro.call(66, &()).expect("auth on ro");
    // unix_sock_dir from the config is not used in this mode.
    assert!(!t.join("run/virtvzd-sock").exists());
    assert!(d.running());
}

#[test]
fn socket_activated_proxy_creates_nothing_in_its_run_directory() {
    if !have("virsh") {
        skip("virsh (libvirt-clients) is not installed");
        return;
    }
    let t = TempDir::new("act-proxy");
    let conf = t.config("auth_unix_rw = \"none\"\nauth_unix_ro = \"none\"");
    let root = t.join("root");
    let (mut cmd, paths, _listeners) = activated_with_three_sockets(&t, "virtproxyd", &conf);
    cmd.env("LIBVIRT_RS_ROOT_PREFIX", &root);
    let mut d = Daemon::start_cmd(cmd, &t, &paths[0]);
    // test:///default is served in the proxy's own process.
    let uri = format!("test+unix:///default?socket={}", paths[0].display());
    let out = virsh(&uri, false, &["list", "--all"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("test"), "{}", text(&out.stdout));
    assert!(d.running());
    // Neither the configured socket directory nor the run directory got
    // a socket: the passed sockets are the only ones. (`common/` holds the
    // host's system token, which every daemon makes sure of, as libvirt's
    // do.)
    assert!(!t.join("run").exists(), "unix_sock_dir was created");
    let run_dir = root.join("run/libvirt");
    let left: Vec<String> = std::fs::read_dir(&run_dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n != "common")
                .collect()
        })
        .unwrap_or_default();
    assert!(left.is_empty(), "{} holds {left:?}", run_dir.display());
}

#[test]
fn listen_is_refused_with_socket_activation() {
    let t = TempDir::new("act-listen");
    let conf = t.config("listen_tls = 0\nlisten_tcp = 0");
    let l = UnixListener::bind(t.join("s")).expect("bind");
    let fd = std::os::fd::AsRawFd::as_raw_fd(&l);
    let mut cmd = socket_activated(&bin("libvirtd"), &[fd], &["libvirtd.socket"]);
    cmd.args(["-l", "-f", conf.to_str().unwrap_or("")])
        .args(["-p", t.join("p.pid").to_str().unwrap_or("")]);
    let out = run_cmd(cmd);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        text(&out.stderr).contains("--listen parameter not permitted with systemd activation"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn root_paths_follow_the_layout() {
    if !is_root() {
        skip("the privileged layout is only used when running as root");
        return;
    }
    let t = TempDir::new("rootpaths");
    let mut cmd = Command::new(bin("libvirtd"));
    cmd.env("LIBVIRT_RS_ROOT_PREFIX", t.path());
    let mut d = Daemon::start_cmd(cmd, &t, &t.join("run/libvirt/libvirt-sock"));
    for s in ["libvirt-sock", "libvirt-sock-ro", "libvirt-admin-sock"] {
        assert!(t.join(&format!("run/libvirt/{s}")).exists(), "{s}");
    }
    let mode = |s: &str| {
        std::fs::metadata(t.join(&format!("run/libvirt/{s}")))
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap_or(0)
    };
    // A root daemon lets polkit decide who uses the UNIX sockets, so the
    // read-write one is open to all (libvirtd.conf's defaults).
    assert_eq!(mode("libvirt-sock"), 0o777);
    assert_eq!(mode("libvirt-sock-ro"), 0o777);
    assert_eq!(mode("libvirt-admin-sock"), 0o700);
    let pid = std::fs::read_to_string(t.join("run/libvirtd.pid")).expect("pid file");
    assert_eq!(pid.trim(), d.child.id().to_string());
    d.signal(libc::SIGINT);
    assert!(d.wait_exit(WAIT).is_some_and(|s| s.success()));
}

#[test]
fn socket_permissions_follow_the_config() {
    if !is_root() {
        skip("read-only and admin sockets exist only for root daemons");
        return;
    }
    let t = TempDir::new("perms");
    let conf = t.config(
        "unix_sock_rw_perms = \"0770\"\nunix_sock_ro_perms = \"0755\"\nunix_sock_admin_perms = \"0750\"\nunix_sock_group = \"0\"",
    );
    let _d = Daemon::start(
        "virtvzd",
        &t,
        &[
            "-f",
            conf.to_str().unwrap_or(""),
            "-p",
            t.join("p.pid").to_str().unwrap_or(""),
        ],
        &t.join("run/virtvzd-sock"),
    );
    let mode = |s: &str| {
        std::fs::metadata(t.join(&format!("run/{s}")))
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap_or(0)
    };
    assert_eq!(mode("virtvzd-sock"), 0o770);
    assert_eq!(mode("virtvzd-sock-ro"), 0o755);
    assert_eq!(mode("virtvzd-admin-sock"), 0o750);
}

fn as_nobody(cmd: &mut Command, home: &Path) {
    cmd.uid(NOBODY)
        .gid(NOBODY)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", home)
        .env("XDG_RUNTIME_DIR", home.join("xdg-run"))
        .env("XDG_CONFIG_HOME", home.join("xdg-config"))
        .env("XDG_CACHE_HOME", home.join("xdg-cache"));
}

#[test]
fn unprivileged_daemon_uses_xdg_paths() {
    if !is_root() {
        skip("needs root to switch to the unprivileged user 'nobody'");
        return;
    }
    let t = TempDir::new("nonroot");
    std::fs::set_permissions(t.path(), std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let home = t.join("home");
    std::fs::create_dir_all(&home).expect("home");
    std::os::unix::fs::chown(&home, Some(NOBODY), Some(NOBODY)).expect("chown");
    let mut cmd = Command::new(bin("virtvzd"));
    as_nobody(&mut cmd, &home);
    let run = home.join("xdg-run/libvirt");
    let mut d = Daemon::start_cmd(cmd, &t, &run.join("virtvzd-sock"));
    assert!(run.join("virtvzd-admin-sock").exists());
    assert!(
        !run.join("virtvzd-sock-ro").exists(),
        "no ro socket for users"
    );
    let pid = std::fs::read_to_string(run.join("virtvzd.pid")).expect("pid file");
    assert_eq!(pid.trim(), d.child.id().to_string());
    d.signal(libc::SIGTERM);
    assert!(d.wait_exit(WAIT).is_some_and(|s| s.success()));
}

#[test]
fn root_only_daemons_refuse_to_run_unprivileged() {
    if !is_root() {
        skip("needs root to switch to the unprivileged user 'nobody'");
        return;
    }
    let t = TempDir::new("rootonly");
    std::fs::set_permissions(t.path(), std::fs::Permissions::from_mode(0o777)).expect("chmod");
    for name in ["virtlxcd", "virtxend"] {
        let mut cmd = Command::new(bin(name));
        as_nobody(&mut cmd, t.path());
        let out = run_cmd(cmd);
        assert_ne!(out.status.code(), Some(0), "{name}");
        let err = text(&out.stderr);
        assert!(err.contains("must be run as root"), "{name}: {err}");
    }
}

#[test]
fn config_syntax_error_names_file_and_line() {
    let t = TempDir::new("badconf");
    let p = t.join("bad.conf");
    std::fs::write(&p, "# comment\nmax_clients = 5\nthis is not valid\n").expect("write");
    let out = run("virtvzd", &["-f", p.to_str().unwrap_or("")]);
    assert_ne!(out.status.code(), Some(0));
    let err = text(&out.stderr);
    assert!(err.contains("bad.conf"), "{err}");
    assert!(err.contains(":3:") || err.contains("line 3"), "{err}");
    assert!(!t.join("run").exists());
}

#[test]
fn config_wrong_type_names_the_key() {
    let t = TempDir::new("badtype");
    let p = t.join("bad.conf");
    std::fs::write(&p, "max_clients = \"many\"\n").expect("write");
    let out = run("virtvzd", &["-f", p.to_str().unwrap_or("")]);
    assert_ne!(out.status.code(), Some(0));
    let err = text(&out.stderr);
    assert!(err.contains("max_clients"), "{err}");
}

#[test]
fn missing_explicit_config_is_an_error() {
    let t = TempDir::new("noconf");
    let out = run(
        "virtvzd",
        &["-f", t.join("absent.conf").to_str().unwrap_or("")],
    );
    assert_ne!(out.status.code(), Some(0));
    assert!(text(&out.stderr).contains("absent.conf"));
}

#[test]
fn debian_libvirtd_conf_is_accepted() {
    // Installed with libvirt-daemon-system, or taken out of that package
    // by .ci/run.
    let Some(shipped) = [
        "/etc/libvirt/libvirtd.conf",
        "/usr/local/share/debian-libvirt/libvirtd.conf",
    ]
    .iter()
    .map(Path::new)
    .find(|p| p.exists()) else {
        skip("Debian's libvirtd.conf is not here (libvirt-daemon-system)");
        return;
    };
    // Every key in the shipped file is commented out but its grammar must
    // parse; point the sockets somewhere private by appending a line.
    let t = TempDir::new("debconf");
    let mut text_conf = std::fs::read_to_string(shipped).expect("read");
    text_conf.push_str(&format!(
        "\nunix_sock_dir = \"{}\"\n",
        t.join("run").display()
    ));
    let p = t.join("libvirtd.conf");
    std::fs::write(&p, text_conf).expect("write");
    let mut d = Daemon::start(
        "libvirtd",
        &t,
        &[
            "-f",
            p.to_str().unwrap_or(""),
            "-p",
            t.join("p.pid").to_str().unwrap_or(""),
        ],
        &t.join("run/libvirt-sock"),
    );
    assert!(d.running());
}

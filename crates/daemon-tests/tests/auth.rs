// SPDX-License-Identifier: LGPL-2.1-or-later
//! Authentication as the configuration names it, with the real clients:
//! SASL (Cyrus, a private sasldb made with `saslpasswd2 -a libvirt`) over
//! plain TCP with its security layer, the user list, the limit on clients
//! still authenticating, and socket permissions for a non-root user.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use protocol::header::{frame_value, Header, MessageType, Status};
use protocol::remote as r;
use protocol::RemoteProc;
use test_support::*;

const USER: &str = SASL_USER;
const PASSWORD: &str = SASL_PASSWORD;

fn tools_present(tools: &[&str]) -> bool {
    for tool in tools {
        if !tool_exists(tool) {
            skip(format!("{tool} is not installed"));
            return false;
        }
    }
    if !Path::new("/usr/lib/x86_64-linux-gnu/sasl2/libdigestmd5.so").exists()
        && !Path::new("/usr/lib/sasl2/libdigestmd5.so").exists()
    {
        skip("the DIGEST-MD5 SASL module (libsasl2-modules) is not installed");
        return false;
    }
    true
}

fn start(t: &TempDir, sasl: &Path, conf: &Path) -> Daemon {
    let mut cmd = Command::new(bin("libvirtd"));
    cmd.env("SASL_CONF_PATH", sasl).args([
        "-l",
        "-f",
        conf.to_str().unwrap_or(""),
        "-p",
        t.join("d.pid").to_str().unwrap_or(""),
    ]);
    Daemon::start_cmd(cmd, t, &t.join("run/libvirt-sock"))
}

/// A raw client on a TCP socket: sends one call, reads one answer.
struct Raw {
    s: TcpStream,
    serial: u32,
}

impl Raw {
    fn connect(port: u16) -> Raw {
        let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        s.set_read_timeout(Some(WAIT)).expect("timeout");
        Raw { s, serial: 0 }
    }

    fn send<T: xdr::Xdr>(&mut self, p: RemoteProc, args: &T) {
        self.serial += 1;
        let h = Header::new(
            r::PROGRAM,
            r::PROTOCOL_VERSION,
            p as i32,
            MessageType::Call,
            self.serial,
            Status::Ok,
        );
        self.s.write_all(&frame_value(&h, args)).expect("send");
    }

    /// The answer's status and body.
    fn answer(&mut self) -> (i32, Vec<u8>) {
        let mut len = [0u8; 4];
        self.s.read_exact(&mut len).expect("length");
        let n = u32::from_be_bytes(len) as usize;
        assert!((28..1 << 20).contains(&n), "bad length {n}");
        let mut body = vec![0u8; n - 4];
        self.s.read_exact(&mut body).expect("body");
        let status = i32::from_be_bytes([body[20], body[21], body[22], body[23]]);
        (status, body[24..].to_vec())
    }

    fn error(&mut self) -> r::Error {
        let (status, body) = self.answer();
        assert_eq!(status, Status::Error as i32, "expected an error reply");
        xdr::from_bytes(&body).expect("error body")
    }
}

fn tcp_conf(t: &TempDir, port: u16, extra: &str) -> PathBuf {
    t.config(&format!(
        "listen_tcp = 1\nlisten_tls = 0\nlisten_addr = \"127.0.0.1\"\ntcp_port = \"{port}\"\n{extra}"
    ))
}

#[test]
fn tcp_requires_sasl_by_default_and_serves_a_sasldb_user() {
    if !tools_present(&["virsh", "saslpasswd2"]) {
        return;
    }
    let t = TempDir::new("sasl-tcp");
    let sasl = sasl_dir(&t, "digest-md5");
    let port = free_port();
    // Nothing but listen_tcp: auth_tcp defaults to "sasl".
    let conf = tcp_conf(&t, port, "");
    let _d = start(&t, &sasl, &conf);
    let uri = format!("test+tcp://127.0.0.1:{port}/default");

    // A client that skips authentication gets libvirt's RPC error for
    // every procedure but the auth ones.
    let mut raw = Raw::connect(port);
    raw.send(
        RemoteProc::ConnectOpen,
        &r::ConnectOpenArgs {
            name: Some("test:///default".into()),
            flags: 0,
        },
    );
    let e = raw.error();
    assert_eq!(e.code, protocol::ErrorCode::Rpc as i32);
    assert_eq!(e.domain, protocol::ErrorDomain::Rpc as i32);
    assert_eq!(e.message.as_deref(), Some("authentication required"));
    raw.send(RemoteProc::ConnectGetHostname, &());
    assert_eq!(
        raw.error().message.as_deref(),
        Some("authentication required")
    );
    // It is told what to do instead.
    raw.send(RemoteProc::AuthList, &());
    let (status, body) = raw.answer();
    assert_eq!(status, Status::Ok as i32);
    let list: r::AuthListRet = xdr::from_bytes(&body).expect("auth list");
    assert_eq!(list.types, vec![1], "REMOTE_AUTH_SASL");
    // A step before start, and garbage start data, are refused and the
    // connection stays unauthenticated.
    raw.send(
        RemoteProc::AuthSaslStep,
        &r::AuthSaslStepArgs {
            nil: 1,
            data: vec![],
        },
    );
    assert_eq!(raw.error().code, protocol::ErrorCode::AuthFailed as i32);
    raw.send(RemoteProc::AuthSaslInit, &());
    let (status, body) = raw.answer();
    assert_eq!(status, Status::Ok as i32);
    let init: r::AuthSaslInitRet = xdr::from_bytes(&body).expect("init");
    assert_eq!(init.mechlist, "DIGEST-MD5");
    raw.send(RemoteProc::AuthSaslInit, &());
    let e = raw.error();
    assert_eq!(e.code, protocol::ErrorCode::AuthFailed as i32);
    assert_eq!(
        e.message.as_deref(),
        Some("authentication failed: authentication failed")
    );
    raw.send(
        RemoteProc::AuthSaslStart,
        &r::AuthSaslStartArgs {
            mech: "NO-SUCH".into(),
            nil: 0,
            data: vec![1, 2, 3],
        },
    );
    assert_eq!(raw.error().code, protocol::ErrorCode::AuthFailed as i32);
    raw.send(RemoteProc::ConnectGetHostname, &());
    assert_eq!(
        raw.error().message.as_deref(),
        Some("authentication required")
    );

    // virsh without credentials, with a wrong password: refused.
    let out = virsh_auth(&uri, None, &["list", "--all"]);
    assert!(!out.status.success(), "served without credentials");
    let bad = auth_file(&t, "bad.conf", USER, "not-the-password");
    let out = virsh_auth(&uri, Some(&bad), &["list", "--all"]);
    assert!(!out.status.success(), "served with a wrong password");
    assert!(
        text(&out.stderr).contains("authentication failed"),
        "{}",
        text(&out.stderr)
    );

    // The right password: served, through DIGEST-MD5's security layer.
    let good = auth_file(&t, "good.conf", USER, PASSWORD);
    let out = virsh_auth(&uri, Some(&good), &["list", "--all"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains(" test "),
        "{}",
        text(&out.stdout)
    );

    // libvirt-python with an auth callback; large messages both ways go
    // through the security layer in several packets.
    if !is_root() {
        skip("the libvirt-python and client-info part needs a root daemon's admin socket");
    } else if Path::new("/usr/lib/python3/dist-packages/libvirt.py").exists() {
        let script = format!(
            r#"
import libvirt, re
def cb(creds, data):
    for c in creds:
        if c[0] == libvirt.VIR_CRED_AUTHNAME: c[4] = "{USER}"
        elif c[0] == libvirt.VIR_CRED_PASSPHRASE: c[4] = "{PASSWORD}"
    return 0
c = libvirt.openAuth("{uri}", [[libvirt.VIR_CRED_AUTHNAME, libvirt.VIR_CRED_PASSPHRASE], cb, None], 0)
xml = re.sub(r"<uuid>.*</uuid>", "", c.lookupByName("test").XMLDesc())
big = "<description>" + "x" * 200000 + "</description>"
c.defineXML(xml.replace("<name>test</name>", "<name>big</name>" + big))
assert len(c.lookupByName("big").XMLDesc()) > 200000
# virt-admin names the SASL user of this TCP client.
import subprocess
adm = ["virt-admin", "-c", "libvirtd+unix:///system?socket={admin}"]
rows = subprocess.run(adm + ["srv-clients-list", "libvirtd"], capture_output=True, text=True).stdout
ids = [l.split()[0] for l in rows.splitlines() if " tcp " in l]
# The newest TCP client is this one (the raw client above is still open).
info = subprocess.run(adm + ["client-info", "libvirtd", ids[-1]], capture_output=True, text=True).stdout
assert "sasl_user_name" in info and "{USER}" in info, info
print("ok", c.getHostname() != "")
"#,
            admin = t.join("run/libvirt-admin-sock").display()
        );
        let out = Command::new("/usr/bin/python3")
            .arg("-c")
            .arg(script)
            .output()
            .expect("python3");
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert_eq!(text(&out.stdout).trim(), "ok True");
    } else {
        eprintln!("skipped the libvirt-python part: python3-libvirt is not installed");
    }
}

#[test]
fn sasl_allowed_username_list_refuses_other_users() {
    if !tools_present(&["virsh", "saslpasswd2"]) {
        return;
    }
    let t = TempDir::new("sasl-acl");
    let sasl = sasl_dir(&t, "digest-md5");
    let port = free_port();
    let conf = tcp_conf(
        &t,
        port,
        "sasl_allowed_username_list = [\"bob\", \"admin*\"]\n",
    );
    let d = start(&t, &sasl, &conf);
    let uri = format!("test+tcp://127.0.0.1:{port}/default");
    let good = auth_file(&t, "good.conf", USER, PASSWORD);
    let out = virsh_auth(&uri, Some(&good), &["list", "--all"]);
    assert!(!out.status.success(), "a user not on the list was served");
    assert!(
        text(&out.stderr).contains("authentication failed"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        eventually(|| d
            .stderr_text()
            .contains("SASL client identity 'alice' not allowed")),
        "{}",
        d.stderr_text()
    );
}

#[test]
fn a_mechanism_without_security_layer_is_refused_on_plain_tcp() {
    if !tools_present(&["virsh", "saslpasswd2"]) {
        return;
    }
    // PLAIN has no security layer: on plain TCP it cannot reach the
    // minimum strength, so no mechanism is offered and nobody gets in.
    let t = TempDir::new("sasl-ssf");
    let sasl = sasl_dir(&t, "plain");
    let port = free_port();
    let conf = tcp_conf(&t, port, "");
    let _d = start(&t, &sasl, &conf);
    let mut raw = Raw::connect(port);
    raw.send(RemoteProc::AuthSaslInit, &());
    let e = raw.error();
    assert_eq!(e.code, protocol::ErrorCode::AuthFailed as i32);
    let good = auth_file(&t, "good.conf", USER, PASSWORD);
    let out = virsh_auth(
        &format!("test+tcp://127.0.0.1:{port}/default"),
        Some(&good),
        &["list"],
    );
    assert!(
        !out.status.success(),
        "served over a mechanism without a security layer"
    );
}

#[test]
fn unauthenticated_clients_are_limited_without_affecting_authenticated_ones() {
    if !tools_present(&["virsh", "virt-admin", "saslpasswd2"]) {
        return;
    }
    if !is_root() {
        skip("counting clients through the admin socket needs a root daemon's layout");
        return;
    }
    let t = TempDir::new("sasl-anon");
    let sasl = sasl_dir(&t, "digest-md5");
    let port = free_port();
    let conf = tcp_conf(&t, port, "max_anonymous_clients = 2\n");
    let _d = start(&t, &sasl, &conf);
    let admin = t.join("run/libvirt-admin-sock");
    let clients =
        || -> String { text(&virt_admin(&admin, &["srv-clients-info", "libvirtd"]).stdout) };

    // Two clients sit unauthenticated: both are served AUTH_LIST.
    let mut a = Raw::connect(port);
    let mut b = Raw::connect(port);
    for c in [&mut a, &mut b] {
        c.send(RemoteProc::AuthList, &());
        assert_eq!(c.answer().0, Status::Ok as i32);
    }
    assert!(
        eventually(|| clients().contains("nclients_unauth     : 2")),
        "{}",
        clients()
    );
    // A third is left in the listen backlog: it is not a client yet.
    let mut third = Raw::connect(port);
    third.send(RemoteProc::AuthList, &());
    std::thread::sleep(Duration::from_millis(300));
    let info = clients();
    assert!(info.contains("nclients            : 2"), "{info}");

    // Authenticated clients keep working: over the UNIX socket and over
    // TCP through SASL would need a place, so use the UNIX socket.
    let sock = t.join("run/libvirt-sock");
    let out = virsh(
        &format!("test+unix:///default?socket={}", sock.display()),
        false,
        &["list", "--all"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));

    // One of the waiting clients leaves: the third is accepted and
    // answered.
    drop(a);
    let (status, _) = third.answer();
    assert_eq!(status, Status::Ok as i32);
    drop(b);
}

#[test]
fn polkit_on_tcp_cannot_be_enforced_and_stops_start_up() {
    let t = TempDir::new("auth-polkit-tcp");
    let port = free_port();
    let conf = tcp_conf(&t, port, "auth_tcp = \"polkit\"\n");
    let out = run(
        "libvirtd",
        &[
            "-l",
            "-f",
            conf.to_str().unwrap_or(""),
            "-p",
            t.join("d.pid").to_str().unwrap_or(""),
        ],
    );
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("auth_tcp = \"polkit\" cannot be enforced"),
        "{err}"
    );
}

#[test]
fn non_root_user_gets_permission_denied_on_rw_socket_and_read_only_service() {
    if !is_root() {
        skip("needs root to run a client as another user");
        return;
    }
    if !tool_exists("virsh") || !tool_exists("setpriv") {
        skip("virsh or setpriv is not installed");
        return;
    }
    let t = TempDir::new("auth-perms");
    // Socket permissions alone decide here (a root daemon's default
    // would ask polkit).
    let conf = t.config("auth_unix_rw = \"none\"\nauth_unix_ro = \"none\"\n");
    let d = Daemon::start(
        "libvirtd",
        &t,
        &[
            "-f",
            conf.to_str().unwrap_or(""),
            "-p",
            t.join("d.pid").to_str().unwrap_or(""),
        ],
        &t.join("run/libvirt-sock"),
    );
    use std::os::unix::fs::PermissionsExt;
    for p in [t.path().to_path_buf(), t.join("run")] {
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let mode = |p: &str| {
        std::fs::metadata(t.join(p))
            .map(|m| m.permissions().mode() & 0o7777)
            .unwrap_or(0)
    };
    assert_eq!(mode("run/libvirt-sock"), 0o700);
    assert_eq!(mode("run/libvirt-sock-ro"), 0o777);
    assert_eq!(mode("run/libvirt-admin-sock"), 0o700);
    let as_nobody = |sock: &str, args: &[&str]| -> Output {
        Command::new("setpriv")
            .args([
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                "virsh",
                "-c",
            ])
            .arg(format!(
                "test+unix:///default?socket={}",
                t.join(sock).display()
            ))
            .args(args)
            .env("HOME", "/tmp")
            .env_remove("XDG_RUNTIME_DIR")
            .stdin(Stdio::null())
            .output()
            .expect("setpriv virsh")
    };
    let out = as_nobody("run/libvirt-sock", &["list", "--all"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("Permission denied"),
        "{}",
        text(&out.stderr)
    );
    let out = as_nobody("run/libvirt-sock-ro", &["list", "--all"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains(" test "));
    let out = as_nobody("run/libvirt-sock-ro", &["destroy", "test"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("read only access prevents"),
        "{}",
        text(&out.stderr)
    );
    drop(d);
}

/// Runs virsh as `uid` against the socket `sock` of the test's daemon.
fn virsh_as(uid: u32, sock: &Path, args: &[&str]) -> Output {
    Command::new("setpriv")
        .arg(format!("--reuid={uid}"))
        .arg(format!("--regid={uid}"))
        .args(["--clear-groups", "virsh", "-c"])
        .arg(format!("test+unix:///default?socket={}", sock.display()))
        .args(args)
        .env("HOME", "/tmp")
        .env_remove("XDG_RUNTIME_DIR")
        .stdin(Stdio::null())
        .output()
        .expect("setpriv virsh")
}

#[test]
fn polkit_decides_who_uses_the_unix_sockets() {
    use polkit::testbed::{self, PolkitBus};
    if !is_root() {
        skip("needs root to run polkitd and clients as other users");
        return;
    }
    if let Some(why) = testbed::unavailable() {
        skip(why);
        return;
    }
    if !tool_exists("virsh") || !tool_exists("setpriv") {
        skip("virsh or setpriv is not installed");
        return;
    }
    // Everyone may monitor; only nobody (65534) may manage.
    let bus = PolkitBus::start(testbed::RULES_NOBODY_MANAGES).expect("polkitd on a private bus");
    let t = TempDir::new("auth-polkit");
    let conf = t.config("auth_unix_rw = \"polkit\"\nauth_unix_ro = \"polkit\"\n");
    let mut cmd = Command::new(bin("libvirtd"));
    cmd.env("DBUS_SYSTEM_BUS_ADDRESS", bus.address()).args([
        "-f",
        conf.to_str().unwrap_or(""),
        "-p",
        t.join("d.pid").to_str().unwrap_or(""),
    ]);
    let _d = Daemon::start_cmd(cmd, &t, &t.join("run/libvirt-sock"));
    use std::os::unix::fs::PermissionsExt;
    for p in [t.path().to_path_buf(), t.join("run")] {
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let rw = t.join("run/libvirt-sock");
    let ro = t.join("run/libvirt-sock-ro");
    // With polkit deciding, the read-write socket is open to all.
    let mode = std::fs::metadata(&rw)
        .map(|m| m.permissions().mode() & 0o777)
        .unwrap_or(0);
    assert_eq!(mode, 0o777);

    let out = virsh_as(65534, &rw, &["list", "--all"]);
    assert!(
        out.status.success(),
        "nobody refused: {}",
        text(&out.stderr)
    );
    assert!(text(&out.stdout).contains(" test "));

    let out = virsh_as(1, &rw, &["list", "--all"]);
    assert!(
        !out.status.success(),
        "uid 1 was served on the read-write socket"
    );
    let err = text(&out.stderr);
    assert!(
        err.contains("authentication failed: access denied by policy"),
        "{err}"
    );

    let out = virsh_as(1, &ro, &["list", "--all"]);
    assert!(
        out.status.success(),
        "uid 1 refused read-only: {}",
        text(&out.stderr)
    );

    // Root skips polkit (as in libvirt, so a broken polkit never locks
    // root out).
    let out = virsh(
        &format!("test+unix:///default?socket={}", rw.display()),
        false,
        &["list", "--all"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));

    // polkit gone: nobody is refused rather than let in.
    drop(bus);
    let out = virsh_as(65534, &rw, &["list", "--all"]);
    assert!(!out.status.success(), "served without polkit");
}

#[test]
fn an_access_driver_that_cannot_be_enforced_stops_start_up() {
    let t = TempDir::new("auth-access");
    let conf = t.config("access_drivers = [ \"polkit\" ]\n");
    let out = run(
        "libvirtd",
        &[
            "-f",
            conf.to_str().unwrap_or(""),
            "-p",
            t.join("d.pid").to_str().unwrap_or(""),
        ],
    );
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("access_drivers: the access driver 'polkit' cannot be enforced"),
        "{err}"
    );
    assert!(
        !t.join("run/libvirt-sock").exists(),
        "a socket was left behind"
    );
    // "nop" allows everything, which is what this daemon does.
    let conf = t.config("access_drivers = [ \"nop\" ]\n");
    let d = Daemon::start(
        "libvirtd",
        &t,
        &[
            "-f",
            conf.to_str().unwrap_or(""),
            "-p",
            t.join("d.pid").to_str().unwrap_or(""),
        ],
        &t.join("run/libvirt-sock"),
    );
    drop(d);
}

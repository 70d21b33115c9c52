// SPDX-License-Identifier: LGPL-2.1-or-later
//! libvirtd -l serving TLS, checked with the real virsh and certificates
//! made by openssl at test time.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {args:?} failed: {}",
        text(&out.stderr)
    );
}

/// A CA (key `name.key`, certificate `name.pem`) in `dir`.
fn make_ca(dir: &Path, name: &str, cn: &str) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.pem"),
            "-days",
            "2",
            "-subj",
            &format!("/CN={cn}"),
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    );
}

/// A leaf certificate `cert` with key `key`, signed by CA `ca`.
fn make_leaf(dir: &Path, ca: &str, subj: &str, ext: &str, cert: &str, key: &str, serial: u32) {
    let ext_file = format!("{cert}.ext");
    std::fs::write(dir.join(&ext_file), ext).expect("write extensions");
    let csr = format!("{cert}.csr");
    openssl(
        dir,
        &[
            "req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", &csr, "-subj", subj,
        ],
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            &format!("{ca}.pem"),
            "-CAkey",
            &format!("{ca}.key"),
            "-set_serial",
            &serial.to_string(),
            "-days",
            "2",
            "-extfile",
            &ext_file,
            "-out",
            cert,
        ],
    );
}

const SERVER_EXT: &str = "basicConstraints=critical,CA:FALSE\n\
keyUsage=critical,digitalSignature,keyEncipherment\n\
extendedKeyUsage=serverAuth\n\
subjectAltName=IP:127.0.0.1\n";
const CLIENT_EXT: &str = "basicConstraints=critical,CA:FALSE\n\
keyUsage=critical,digitalSignature,keyEncipherment\n\
extendedKeyUsage=clientAuth\n";

/// Files for one test: the server's in `dir`, a good client's pkipath in
/// `dir/client`, and in `dir/rogue` a client whose certificate comes
/// from another CA (it still trusts the real CA for the server).
struct Pki {
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
    client: PathBuf,
    rogue: PathBuf,
}

fn make_pki(t: &TempDir) -> Pki {
    let dir = t.join("pki");
    let client = dir.join("client");
    let rogue = dir.join("rogue");
    for d in [&dir, &client, &rogue] {
        std::fs::create_dir_all(d).expect("pki dir");
    }
    make_ca(&dir, "ca", "Test CA");
    make_ca(&dir, "other", "Other CA");
    make_leaf(
        &dir,
        "ca",
        "/O=Test/CN=127.0.0.1",
        SERVER_EXT,
        "servercert.pem",
        "serverkey.pem",
        1,
    );
    make_leaf(
        &dir,
        "ca",
        "/C=GB/O=Test/CN=good client",
        CLIENT_EXT,
        "client/clientcert.pem",
        "client/clientkey.pem",
        2,
    );
    make_leaf(
        &dir,
        "other",
        "/C=GB/O=Test/CN=rogue client",
        CLIENT_EXT,
        "rogue/clientcert.pem",
        "rogue/clientkey.pem",
        3,
    );
    std::fs::copy(dir.join("ca.pem"), client.join("cacert.pem")).expect("copy CA");
    // The rogue client trusts both CAs, so its own certificate passes
    // virsh's local sanity check and only the server can refuse it.
    let mut both = std::fs::read(dir.join("ca.pem")).expect("read CA");
    both.extend(std::fs::read(dir.join("other.pem")).expect("read other CA"));
    std::fs::write(rogue.join("cacert.pem"), both).expect("write CA list");
    Pki {
        ca: dir.join("ca.pem"),
        cert: dir.join("servercert.pem"),
        key: dir.join("serverkey.pem"),
        client,
        rogue,
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

fn tls_config(t: &TempDir, pki: &Pki, port: u16, extra: &str) -> PathBuf {
    t.config(&format!(
        "listen_tls = 1\nlisten_tcp = 0\nlisten_addr = \"127.0.0.1\"\ntls_port = \"{port}\"\n\
         ca_file = \"{}\"\ncert_file = \"{}\"\nkey_file = \"{}\"\nauth_tls = \"none\"\n{extra}",
        pki.ca.display(),
        pki.cert.display(),
        pki.key.display()
    ))
}

fn tools_present() -> bool {
    for tool in ["openssl", "virsh"] {
        if !tool_exists(tool) {
            eprintln!("skipped: {tool} is not installed");
            return false;
        }
    }
    true
}

/// `libvirtd -l` with `conf`, once its Unix socket serves.
fn start_listening(t: &TempDir, conf: &Path) -> Daemon {
    Daemon::start(
        "libvirtd",
        t,
        &[
            "-l",
            "-f",
            conf.to_str().unwrap_or(""),
            "-p",
            t.join("d.pid").to_str().unwrap_or(""),
        ],
        &t.join("run/libvirt-sock"),
    )
}

fn tls_uri(port: u16, pkipath: &Path) -> String {
    format!(
        "test+tls://127.0.0.1:{port}/default?pkipath={}",
        pkipath.display()
    )
}

#[test]
fn virsh_lists_domains_over_tls_and_foreign_clients_are_refused() {
    if !tools_present() {
        return;
    }
    let t = TempDir::new("tls");
    let pki = make_pki(&t);
    let port = free_port();
    let conf = tls_config(&t, &pki, port, "");
    let d = start_listening(&t, &conf);

    let out = virsh(&tls_uri(port, &pki.client), false, &["list", "--all"]);
    assert!(
        out.status.success(),
        "virsh over TLS failed: {}\ndaemon: {}",
        text(&out.stderr),
        d.stderr_text()
    );
    let listing = text(&out.stdout);
    assert!(
        listing
            .lines()
            .any(|l| l.split_whitespace().nth(1) == Some("test")),
        "{listing}"
    );

    // A client certificate from another CA does not get in: the server
    // ends the handshake (virsh's own checks of it pass).
    let out = virsh(&tls_uri(port, &pki.rogue), false, &["list", "--all"]);
    assert!(
        !out.status.success(),
        "a foreign client certificate was accepted: {}",
        text(&out.stdout)
    );
    assert!(!text(&out.stdout).contains("test"));
    let err = text(&out.stderr);
    assert!(
        !err.contains("failed validation"),
        "refused by virsh itself: {err}"
    );
    assert!(err.contains("TLS"), "{err}");

    // The daemon is still serving good clients afterwards.
    let out = virsh(&tls_uri(port, &pki.client), false, &["dominfo", "test"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("running"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn tls_allowed_dn_list_refuses_other_subjects() {
    if !tools_present() {
        return;
    }
    let t = TempDir::new("tls-dn");
    let pki = make_pki(&t);
    let port = free_port();
    // Only a subject that the good client does not have.
    let conf = tls_config(
        &t,
        &pki,
        port,
        "tls_allowed_dn_list = [\"C=GB,O=Test,CN=someone else\"]\n",
    );
    let d = start_listening(&t, &conf);
    let out = virsh(&tls_uri(port, &pki.client), false, &["list", "--all"]);
    assert!(
        !out.status.success(),
        "a client outside tls_allowed_dn_list was accepted"
    );
    drop(d);

    // A pattern matching the good client's subject lets it in.
    let t2 = TempDir::new("tls-dn2");
    let port = free_port();
    let conf = tls_config(
        &t2,
        &pki,
        port,
        "tls_allowed_dn_list = [\"C=GB,O=Test,CN=good*\"]\n",
    );
    let d = start_listening(&t2, &conf);
    let out = virsh(&tls_uri(port, &pki.client), false, &["list", "--all"]);
    assert!(
        out.status.success(),
        "{}\ndaemon: {}",
        text(&out.stderr),
        d.stderr_text()
    );
    assert!(text(&out.stdout).contains("test"));
}

#[test]
fn missing_certificate_files_stop_start_up() {
    let t = TempDir::new("tls-missing");
    let port = free_port();
    let missing = t.join("nowhere/cacert.pem");
    let conf = t.config(&format!(
        "listen_tls = 1\nlisten_tcp = 0\nlisten_addr = \"127.0.0.1\"\ntls_port = \"{port}\"\n\
         ca_file = \"{}\"\ncert_file = \"{}\"\nkey_file = \"{}\"\n",
        missing.display(),
        t.join("nowhere/servercert.pem").display(),
        t.join("nowhere/serverkey.pem").display()
    ));
    let mut cmd = Command::new(bin("libvirtd"));
    let pid = t.join("d.pid");
    cmd.args([
        "-l",
        "-f",
        conf.to_str().unwrap_or(""),
        "-p",
        pid.to_str().unwrap_or(""),
    ]);
    let out = run_cmd(cmd);
    assert!(!out.status.success(), "started without certificates");
    let err = text(&out.stderr);
    let want = format!(
        "Cannot read CA certificate '{}': No such file or directory",
        missing.display()
    );
    assert!(err.contains(&want), "{err}");
    // Nothing was left listening.
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}

#[test]
fn socket_activated_tls_socket_serves_tls() {
    use std::os::fd::AsRawFd;
    use std::os::unix::process::CommandExt;

    if !tools_present() {
        return;
    }
    let t = TempDir::new("tls-act");
    let pki = make_pki(&t);
    // Nothing from listen_* applies under activation: the passed
    // sockets are used, with the certificate settings of the file.
    let conf = t.config(&format!(
        "ca_file = \"{}\"\ncert_file = \"{}\"\nkey_file = \"{}\"\n",
        pki.ca.display(),
        pki.cert.display(),
        pki.key.display()
    ));
    let unix_path = t.join("act-sock");
    let unix = std::os::unix::net::UnixListener::bind(&unix_path).expect("bind unix");
    let tcp = std::net::TcpListener::bind("127.0.0.1:0").expect("bind tcp");
    let port = tcp.local_addr().expect("addr").port();
    let raw = [unix.as_raw_fd(), tcp.as_raw_fd()];
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg("LISTEN_PID=$$ exec \"$0\" \"$@\"")
        .arg(bin("libvirtd"))
        .args(["-f", conf.to_str().unwrap_or("")])
        .args(["-p", t.join("p.pid").to_str().unwrap_or("")])
        .env("LISTEN_FDS", "2")
        .env("LISTEN_FDNAMES", "libvirtd.socket:libvirtd-tls.socket");
    // SAFETY: only fcntl and dup2 (async-signal-safe) run between fork
    // and exec; they put the inherited listeners at 3 and 4 as systemd
    // does (the copies do not have close-on-exec).
    unsafe {
        cmd.pre_exec(move || {
            let mut tmp = Vec::new();
            for fd in raw {
                let n = libc::fcntl(fd, libc::F_DUPFD, 100);
                if n < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                tmp.push(n);
            }
            for (i, fd) in tmp.iter().enumerate() {
                if libc::dup2(*fd, 3 + i as i32) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    let d = Daemon::start_cmd(cmd, &t, &unix_path);
    let out = virsh(&tls_uri(port, &pki.client), false, &["list", "--all"]);
    assert!(
        out.status.success(),
        "{}\ndaemon: {}",
        text(&out.stderr),
        d.stderr_text()
    );
    assert!(text(&out.stdout).contains("test"));
    let out = virsh(&tls_uri(port, &pki.rogue), false, &["list", "--all"]);
    assert!(
        !out.status.success(),
        "a foreign client certificate was accepted"
    );
}

#[test]
fn virtproxyd_serves_tls_without_listen_option() {
    if !tools_present() {
        return;
    }
    let t = TempDir::new("tls-proxy");
    let pki = make_pki(&t);
    let port = free_port();
    let conf = tls_config(&t, &pki, port, "");
    let d = Daemon::start(
        "virtproxyd",
        &t,
        &[
            "-f",
            conf.to_str().unwrap_or(""),
            "-p",
            t.join("d.pid").to_str().unwrap_or(""),
        ],
        &t.join("run/libvirt-sock"),
    );
    let out = virsh(&tls_uri(port, &pki.client), false, &["list", "--all"]);
    assert!(
        out.status.success(),
        "{}\ndaemon: {}",
        text(&out.stderr),
        d.stderr_text()
    );
    assert!(text(&out.stdout).contains("test"));
}

#[test]
fn server_update_tls_rereads_the_files_and_keeps_the_old_ones_on_error() {
    if !tools_present() || !tool_exists("virt-admin") {
        return;
    }
    let t = TempDir::new("tlsupd");
    let pki = make_pki(&t);
    let dir = t.join("pki");
    // A second server certificate, from the CA only some clients trust.
    make_leaf(
        &dir,
        "other",
        "/O=Test/CN=127.0.0.1",
        SERVER_EXT,
        "server2cert.pem",
        "server2key.pem",
        4,
    );
    // A client that trusts both CAs, with a certificate from the server's CA.
    let both = dir.join("both");
    std::fs::create_dir_all(&both).expect("dir");
    for f in ["clientcert.pem", "clientkey.pem"] {
        std::fs::copy(pki.client.join(f), both.join(f)).expect("copy");
    }
    std::fs::copy(pki.rogue.join("cacert.pem"), both.join("cacert.pem")).expect("copy");

    let port = free_port();
    let conf = tls_config(&t, &pki, port, "");
    let d = start_listening(&t, &conf);
    let admin = t.join("run/libvirt-admin-sock");
    let list = |pkipath: &Path| virsh(&tls_uri(port, pkipath), false, &["list", "--all"]);
    let out = list(&pki.client);
    assert!(out.status.success(), "{}", text(&out.stderr));

    // Swap the server's certificate and key on disk, then tell the daemon.
    std::fs::copy(dir.join("server2cert.pem"), &pki.cert).expect("copy cert");
    std::fs::copy(dir.join("server2key.pem"), &pki.key).expect("copy key");
    // Until then the old credentials are served.
    let out = list(&pki.client);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = virt_admin(&admin, &["server-update-tls", "libvirtd"]);
    assert!(
        out.status.success(),
        "{}\ndaemon: {}",
        text(&out.stderr),
        d.stderr_text()
    );
    // The new certificate is what new connections get: a client trusting
    // only the first CA refuses it, one trusting both gets in.
    let out = list(&pki.client);
    assert!(!out.status.success(), "old certificate still served");
    let out = list(&both);
    assert!(out.status.success(), "{}", text(&out.stderr));

    // A broken key file: the update fails, saying why, and the
    // credentials in use stay.
    std::fs::write(&pki.key, "not a key\n").expect("write key");
    let out = virt_admin(&admin, &["server-update-tls", "libvirtd"]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("private key"), "{err}");
    let out = list(&both);
    assert!(out.status.success(), "{}", text(&out.stderr));

    // A server without TLS listeners has nothing to update.
    let out = virt_admin(&admin, &["server-update-tls", "admin"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("no tls service found"),
        "{}",
        text(&out.stderr)
    );
}

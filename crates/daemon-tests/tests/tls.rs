// SPDX-License-Identifier: LGPL-2.1-or-later
//! libvirtd -l serving TLS, checked with the real virsh, libvirt-python
//! and `openssl s_client`, with certificates and revocation lists made by
//! openssl at test time: client certificates, `crl_file`,
//! `tls_no_verify_certificate`, `tls_allowed_dn_list`, `tls_priority`, and
//! SASL on top of TLS.

#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use test_support::*;

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

/// The revocation list of CA `name` in `dir` (`name-crl.pem`), listing
/// the certificates in `revoked` (paths relative to `dir`), made with
/// `openssl ca -revoke` and `openssl ca -gencrl`.
fn make_crl(dir: &Path, name: &str, revoked: &[&str]) -> PathBuf {
    let cnf = format!("{name}-ca.cnf");
    std::fs::write(
        dir.join(&cnf),
        format!(
            "[ ca ]\ndefault_ca = this\n[ this ]\ndatabase = {name}.index\n\
             crlnumber = {name}.crlnumber\ncertificate = {name}.pem\n\
             private_key = {name}.key\ndefault_md = sha256\ndefault_crl_days = 2\n"
        ),
    )
    .expect("write CA config");
    std::fs::write(dir.join(format!("{name}.index")), "").expect("write CA index");
    std::fs::write(dir.join(format!("{name}.crlnumber")), "01\n").expect("write CRL number");
    for cert in revoked {
        openssl(dir, &["ca", "-config", &cnf, "-revoke", cert]);
    }
    let out = format!("{name}-crl.pem");
    openssl(dir, &["ca", "-config", &cnf, "-gencrl", "-out", &out]);
    dir.join(out)
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

fn tls_config(t: &TempDir, pki: &Pki, port: u16, extra: &str) -> PathBuf {
    tls_config_auth(t, pki, port, "none", extra)
}

/// A configuration serving TLS on `port`, `auth_tls` set to `auth`.
fn tls_config_auth(t: &TempDir, pki: &Pki, port: u16, auth: &str, extra: &str) -> PathBuf {
    t.config(&format!(
        "listen_tls = 1\nlisten_tcp = 0\nlisten_addr = \"127.0.0.1\"\ntls_port = \"{port}\"\n\
         ca_file = \"{}\"\ncert_file = \"{}\"\nkey_file = \"{}\"\nauth_tls = \"{auth}\"\n{extra}",
        pki.ca.display(),
        pki.cert.display(),
        pki.key.display()
    ))
}

fn tools_present() -> bool {
    for tool in ["openssl", "virsh"] {
        if !tool_exists(tool) {
            skip(format!("{tool} is not installed"));
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
    let mut cmd = socket_activated(
        &bin("libvirtd"),
        &raw,
        &["libvirtd.socket", "libvirtd-tls.socket"],
    );
    cmd.args(["-f", conf.to_str().unwrap_or("")])
        .args(["-p", t.join("p.pid").to_str().unwrap_or("")]);
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
    if !is_root() {
        skip("virt-admin needs a root daemon's admin socket");
        return;
    }
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

/// `openssl s_client` forcing one protocol version (`-tls1_2`,
/// `-tls1_3`) with the good client's certificate; stdin is empty, so it
/// leaves right after the handshake.
fn s_client(port: u16, pki: &Pki, version: &str) -> Output {
    Command::new("openssl")
        .args(["s_client", "-brief", version, "-connect"])
        .arg(format!("127.0.0.1:{port}"))
        .arg("-CAfile")
        .arg(&pki.ca)
        .arg("-cert")
        .arg(pki.client.join("clientcert.pem"))
        .arg("-key")
        .arg(pki.client.join("clientkey.pem"))
        .args(["-verify_return_error"])
        .stdin(Stdio::null())
        .output()
        .expect("run openssl s_client")
}

/// Whether `openssl s_client`, presenting the certificate in `pkipath`
/// whatever CA the server names (virsh's GnuTLS sends none then), is
/// accepted: libvirt's one byte of value 1 arrives after the handshake.
fn s_client_accepted(port: u16, ca: &Path, pkipath: &Path) -> bool {
    let mut child = Command::new("openssl")
        .args(["s_client", "-brief", "-connect"])
        .arg(format!("127.0.0.1:{port}"))
        .arg("-CAfile")
        .arg(ca)
        .arg("-cert")
        .arg(pkipath.join("clientcert.pem"))
        .arg("-key")
        .arg(pkipath.join("clientkey.pem"))
        // Kept open: s_client would leave at the end of its input.
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run openssl s_client");
    let mut stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::Read;
        let mut byte = [0u8; 1];
        let got = matches!(stdout.read(&mut byte), Ok(1) if byte[0] == 1);
        let _ = tx.send(got);
    });
    let accepted = rx
        .recv_timeout(std::time::Duration::from_secs(10))
        .unwrap_or(false);
    let _ = child.kill();
    let _ = child.wait();
    accepted
}

#[test]
fn tls_priority_limits_the_protocol_versions() {
    if !tools_present() {
        return;
    }
    let t = TempDir::new("tls-prio");
    let pki = make_pki(&t);

    // Without tls_priority both versions are served, so what follows is
    // the setting's doing.
    let port = free_port();
    let conf = tls_config(&t, &pki, port, "");
    let d = start_listening(&t, &conf);
    let out = s_client(port, &pki, "-tls1_3");
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    drop(d);

    let t2 = TempDir::new("tls-prio2");
    let port = free_port();
    let conf = tls_config(
        &t2,
        &pki,
        port,
        "tls_priority = \"NORMAL:-VERS-ALL:+VERS-TLS1.2\"\n",
    );
    let d = start_listening(&t2, &conf);
    let out = s_client(port, &pki, "-tls1_3");
    assert!(
        !out.status.success(),
        "TLS 1.3 was served: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let out = s_client(port, &pki, "-tls1_2");
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{all}\ndaemon: {}", d.stderr_text());
    assert!(all.contains("TLSv1.2"), "{all}");
    // virsh (GnuTLS) settles on TLS 1.2 and is served.
    let out = virsh(&tls_uri(port, &pki.client), false, &["list", "--all"]);
    assert!(
        out.status.success(),
        "{}\ndaemon: {}",
        text(&out.stderr),
        d.stderr_text()
    );
    assert!(
        text(&out.stdout).contains(" test "),
        "{}",
        text(&out.stdout)
    );
}

/// `libvirtd -l` with `tls_priority = "prio"`: it must not start, and says
/// `want` on stderr.
fn refused_priority(prio: &str, want: &str) {
    let t = TempDir::new("tls-prio-bad");
    let port = free_port();
    // The setting is checked before the files are read: none exist.
    let conf = t.config(&format!(
        "listen_tls = 1\nlisten_tcp = 0\nlisten_addr = \"127.0.0.1\"\ntls_port = \"{port}\"\n\
         ca_file = \"{0}/cacert.pem\"\ncert_file = \"{0}/servercert.pem\"\n\
         key_file = \"{0}/serverkey.pem\"\ntls_priority = \"{prio}\"\n",
        t.join("nowhere").display(),
    ));
    let mut cmd = Command::new(bin("libvirtd"));
    cmd.args([
        "-l",
        "-f",
        conf.to_str().unwrap_or(""),
        "-p",
        t.join("d.pid").to_str().unwrap_or(""),
    ]);
    let out = run_cmd(cmd);
    assert!(
        !out.status.success(),
        "started with tls_priority = {prio:?}"
    );
    let err = text(&out.stderr);
    assert!(err.contains(want), "{err}");
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}

#[test]
fn unsupported_tls_priority_stops_start_up() {
    refused_priority(
        "NORMAL:+VERS-TLS1.1",
        "tls_priority: unsupported element '+VERS-TLS1.1' in 'NORMAL:+VERS-TLS1.1'; \
         supported: a first element NORMAL, PERFORMANCE, PFS,",
    );
    refused_priority(
        "@SYSTEM",
        "tls_priority: unsupported element '@SYSTEM' in '@SYSTEM'",
    );
    refused_priority(
        "NORMAL:-VERS-ALL",
        "tls_priority: 'NORMAL:-VERS-ALL' leaves no protocol version",
    );
    refused_priority(
        "SECURE192:-CIPHER-ALL:+AES-128-GCM:-AES-128-GCM",
        "leaves no cipher suite",
    );
}

#[test]
fn revoked_client_certificates_are_refused() {
    if !tools_present() {
        return;
    }
    let t = TempDir::new("tls-crl");
    let pki = make_pki(&t);
    let dir = t.join("pki");
    // A second client of the same CA, revoked.
    let revoked = dir.join("revoked");
    std::fs::create_dir_all(&revoked).expect("dir");
    make_leaf(
        &dir,
        "ca",
        "/C=GB/O=Test/CN=revoked client",
        CLIENT_EXT,
        "revoked/clientcert.pem",
        "revoked/clientkey.pem",
        5,
    );
    std::fs::copy(&pki.ca, revoked.join("cacert.pem")).expect("copy CA");
    let crl = make_crl(&dir, "ca", &["revoked/clientcert.pem"]);

    let port = free_port();
    let conf = tls_config(
        &t,
        &pki,
        port,
        &format!("crl_file = \"{}\"\n", crl.display()),
    );
    let d = start_listening(&t, &conf);
    let out = virsh(&tls_uri(port, &revoked), false, &["list", "--all"]);
    assert!(
        !out.status.success(),
        "a revoked certificate was served: {}",
        text(&out.stdout)
    );
    let err = text(&out.stderr);
    // Refused by the server once the handshake is done, as libvirt does.
    assert!(err.contains("Unable to read TLS confirmation"), "{err}");
    assert!(
        eventually(|| d.stderr_text().contains("client certificate refused")),
        "{}",
        d.stderr_text()
    );
    // The CA's other clients are served.
    let out = virsh(&tls_uri(port, &pki.client), false, &["list", "--all"]);
    assert!(
        out.status.success(),
        "{}\ndaemon: {}",
        text(&out.stderr),
        d.stderr_text()
    );
    assert!(text(&out.stdout).contains(" test "));
    drop(d);

    // A list from another CA says nothing about this CA's clients: they
    // are served (GnuTLS treats a certificate no list covers as valid).
    let t2 = TempDir::new("tls-crl2");
    let other_crl = make_crl(&dir, "other", &["rogue/clientcert.pem"]);
    let port = free_port();
    let conf = tls_config(
        &t2,
        &pki,
        port,
        &format!("crl_file = \"{}\"\n", other_crl.display()),
    );
    let d = start_listening(&t2, &conf);
    for pkipath in [&pki.client, &revoked] {
        let out = virsh(&tls_uri(port, pkipath), false, &["list", "--all"]);
        assert!(
            out.status.success(),
            "{}\ndaemon: {}",
            text(&out.stderr),
            d.stderr_text()
        );
    }
    drop(d);

    // As in libvirt, a crl_file that does not exist is skipped.
    let t3 = TempDir::new("tls-crl3");
    let port = free_port();
    let conf = tls_config(
        &t3,
        &pki,
        port,
        &format!("crl_file = \"{}\"\n", t3.join("no-such-crl.pem").display()),
    );
    let d = start_listening(&t3, &conf);
    let out = virsh(&tls_uri(port, &revoked), false, &["list", "--all"]);
    assert!(
        out.status.success(),
        "{}\ndaemon: {}",
        text(&out.stderr),
        d.stderr_text()
    );
}

#[test]
fn tls_no_verify_certificate_serves_foreign_client_certificates() {
    if !tools_present() {
        return;
    }
    // (virsh refused without the setting:
    // virsh_lists_domains_over_tls_and_foreign_clients_are_refused.)
    let t = TempDir::new("tls-noverify");
    let pki = make_pki(&t);
    let port = free_port();
    // libvirt skips the whole check, tls_allowed_dn_list included.
    let conf = tls_config(
        &t,
        &pki,
        port,
        "tls_no_verify_certificate = 1\ntls_allowed_dn_list = [\"CN=nobody\"]\n",
    );
    let d = start_listening(&t, &conf);
    for pkipath in [&pki.rogue, &pki.client] {
        let out = virsh(&tls_uri(port, pkipath), false, &["list", "--all"]);
        assert!(
            out.status.success(),
            "{}: {}\ndaemon: {}",
            pkipath.display(),
            text(&out.stderr),
            d.stderr_text()
        );
        assert!(
            text(&out.stdout).contains(" test "),
            "{}",
            text(&out.stdout)
        );
    }
    // A client that does present its foreign certificate is let in too.
    assert!(s_client_accepted(port, &pki.ca, &pki.rogue));
    drop(d);

    // The same client without the setting: refused after the handshake.
    let t2 = TempDir::new("tls-verify");
    let port = free_port();
    let conf = tls_config(&t2, &pki, port, "");
    let d = start_listening(&t2, &conf);
    assert!(!s_client_accepted(port, &pki.ca, &pki.rogue));
    assert!(s_client_accepted(port, &pki.ca, &pki.client));
    assert!(
        eventually(|| d.stderr_text().contains("client certificate refused")),
        "{}",
        d.stderr_text()
    );
}

/// libvirt-python opening `uri` with alice and `password` through an auth
/// callback; prints the names of the domains, or the error.
fn python_open(uri: &str, password: &str) -> Output {
    let script = format!(
        r#"
import libvirt, sys
def cb(creds, data):
    for c in creds:
        if c[0] == libvirt.VIR_CRED_AUTHNAME: c[4] = "{SASL_USER}"
        elif c[0] == libvirt.VIR_CRED_PASSPHRASE: c[4] = "{password}"
    return 0
libvirt.registerErrorHandler(lambda *a: None, None)
try:
    c = libvirt.openAuth("{uri}", [[libvirt.VIR_CRED_AUTHNAME, libvirt.VIR_CRED_PASSPHRASE], cb, None], 0)
except libvirt.libvirtError as e:
    print("error:", e)
    sys.exit(1)
print(" ".join(d.name() for d in c.listAllDomains()))
"#
    );
    Command::new("/usr/bin/python3")
        .arg("-c")
        .arg(script)
        .stdin(Stdio::null())
        .output()
        .expect("python3")
}

#[test]
fn sasl_over_tls_needs_the_password_and_a_trusted_certificate() {
    if !tools_present() || !tool_exists("saslpasswd2") {
        if tool_exists("openssl") && tool_exists("virsh") {
            skip("saslpasswd2 is not installed");
        }
        return;
    }
    if !["/usr/lib/x86_64-linux-gnu/sasl2", "/usr/lib/sasl2"]
        .iter()
        .any(|d| Path::new(d).join("libscram.so").exists())
    {
        skip("the SCRAM SASL module (libsasl2-modules) is not installed");
        return;
    }
    let t = TempDir::new("tls-sasl");
    let pki = make_pki(&t);
    // SCRAM has no security layer: acceptable here because TLS is one.
    let sasl = sasl_dir(&t, "scram-sha-256");
    let port = free_port();
    let conf = tls_config_auth(&t, &pki, port, "sasl", "");
    let mut cmd = Command::new(bin("libvirtd"));
    cmd.env("SASL_CONF_PATH", &sasl).args([
        "-l",
        "-f",
        conf.to_str().unwrap_or(""),
        "-p",
        t.join("d.pid").to_str().unwrap_or(""),
    ]);
    let d = Daemon::start_cmd(cmd, &t, &t.join("run/libvirt-sock"));
    let uri = tls_uri(port, &pki.client);

    // No credentials, a wrong password: refused.
    let out = virsh_auth(&uri, None, &["list", "--all"]);
    assert!(!out.status.success(), "served without credentials");
    let bad = auth_file(&t, "bad.conf", SASL_USER, "not-the-password");
    let out = virsh_auth(&uri, Some(&bad), &["list", "--all"]);
    assert!(!out.status.success(), "served with a wrong password");
    assert!(
        text(&out.stderr).contains("authentication failed"),
        "{}",
        text(&out.stderr)
    );

    // The password and a certificate from the server's CA: served.
    let good = auth_file(&t, "good.conf", SASL_USER, SASL_PASSWORD);
    let out = virsh_auth(&uri, Some(&good), &["list", "--all"]);
    assert!(
        out.status.success(),
        "{}\ndaemon: {}",
        text(&out.stderr),
        d.stderr_text()
    );
    assert!(
        text(&out.stdout).contains(" test "),
        "{}",
        text(&out.stdout)
    );

    // The password with a certificate from another CA: the TLS handshake
    // already fails, SASL is never reached.
    let out = virsh_auth(&tls_uri(port, &pki.rogue), Some(&good), &["list", "--all"]);
    assert!(
        !out.status.success(),
        "a foreign client certificate was served"
    );
    let err = text(&out.stderr);
    assert!(err.contains("Unable to read TLS confirmation"), "{err}");
    assert!(!err.contains("authentication"), "{err}");

    // libvirt-python, credentials from its callback.
    if !Path::new("/usr/lib/python3/dist-packages/libvirt.py").exists() {
        eprintln!("skipped the libvirt-python part: python3-libvirt is not installed");
        return;
    }
    let out = python_open(&uri, SASL_PASSWORD);
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert_eq!(text(&out.stdout).trim(), "test");
    let out = python_open(&uri, "not-the-password");
    assert!(!out.status.success(), "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).contains("authentication failed"),
        "{}",
        text(&out.stdout)
    );
}

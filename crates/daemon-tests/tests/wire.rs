// SPDX-License-Identifier: LGPL-2.1-or-later
//! What clients that were written against libvirt's C daemon send and
//! expect at connection setup: XDR as C decodes it (go-libvirt's
//! booleans), and the empty URI resolved as libvirt resolves it (the
//! daemon's configured default, then its drivers' probes in libvirt's
//! order; virtproxyd probing the per-driver daemons' sockets).
//!
//! The expected errors are the C daemon's answers (Debian's libvirtd 9.0,
//! checked by hand on private sockets).

// Test harness: the client's error type is the wire error, large by nature.
#![allow(clippy::result_large_err)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use protocol::remote as r;
use rpc::client::{ClientError, RpcClient};
use test_support::*;
use xdr::{Decoder, Xdr, XdrError};

const NOBODY: u32 = 65534;
const CONNECT_OPEN: i32 = 1;
const CONNECT_GET_URI: i32 = 110;

/// A payload sent as given, to put exactly the bytes another client
/// library sends on the wire.
struct Raw(Vec<u8>);

impl Xdr for Raw {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0);
    }
    fn decode(d: &mut Decoder<'_>) -> Result<Self, XdrError> {
        Ok(Raw(d.take(d.remaining())?.to_vec()))
    }
}

fn xdr_string(s: &str) -> Vec<u8> {
    xdr::to_bytes(&s.to_string())
}

/// CONNECT_OPEN with `payload` as its arguments; the URI the connection
/// got, or the error's (code, domain, message).
fn open_raw(sock: &Path, payload: Vec<u8>) -> Result<String, (i32, i32, String)> {
    let mut c = RpcClient::connect(sock, r::PROGRAM, r::PROTOCOL_VERSION).expect("connect");
    let err = |e: ClientError| match e {
        ClientError::Remote(e) => (e.code, e.domain, e.message),
        other => panic!("not a libvirt error: {other}"),
    };
    c.call::<_, ()>(CONNECT_OPEN, &Raw(payload)).map_err(err)?;
    let uri: r::ConnectGetUriRet = c.call(CONNECT_GET_URI, &()).map_err(err)?;
    Ok(uri.uri)
}

/// CONNECT_OPEN as libvirt's own client encodes it (`None`: no name).
fn open_name(sock: &Path, name: Option<&str>) -> Result<String, (i32, i32, String)> {
    let args = r::ConnectOpenArgs {
        name: name.map(str::to_string),
        flags: 0,
    };
    open_raw(sock, xdr::to_bytes(&args))
}

fn no_connect_null() -> (i32, i32, String) {
    (
        5,
        0,
        "no connection driver available for <null>".to_string(),
    )
}

fn start(name: &str, t: &TempDir, extra_env: &[(&str, &str)]) -> (Daemon, std::path::PathBuf) {
    let mut spec = Spec::new(name, t, "");
    if name == "virtproxyd" {
        spec.ready = t.join("run/libvirt-sock");
    }
    for (k, v) in extra_env {
        spec = spec.env(k, v);
    }
    let sock = spec.ready.clone();
    (spec.start(), sock)
}

/// Per-driver daemon `name` with its own pid file, sockets in the same
/// directory as the other daemons of `t`.
fn beside(t: &TempDir, name: &str) -> Daemon {
    let mut spec = Spec::new(name, t, "");
    spec.args[3] = t.join(&format!("{name}.pid")).display().to_string();
    spec.start()
}

#[test]
fn go_libvirt_optional_string_marker_opens_the_connection() {
    let t = TempDir::new("wire-go");
    let (_d, sock) = start("libvirtd", &t, &[]);
    // go-libvirt sends the "name present" marker as 01 00 00 00; C's
    // xdr_bool takes any non-zero word as true.
    let mut go = vec![1, 0, 0, 0];
    go.extend(xdr_string("test:///default"));
    go.extend([0, 0, 0, 0]);
    assert_eq!(open_raw(&sock, go).as_deref(), Ok("test:///default"));

    // Padding bytes are not looked at, and bytes after the arguments are
    // ignored, as C does.
    let mut sloppy = vec![0, 0, 0, 1];
    sloppy.extend(b"\0\0\0\x0ftest:///default\xff");
    sloppy.extend([0, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef]);
    assert_eq!(open_raw(&sock, sloppy).as_deref(), Ok("test:///default"));

    // Still too short is still undecodable, with libvirt's error.
    let e = open_raw(&sock, vec![1, 0, 0, 0, 0, 0, 0, 9, b't']).unwrap_err();
    assert_eq!(e, (39, 7, "Unable to decode message payload".to_string()));
}

#[test]
fn absent_name_is_connection_not_open_and_empty_name_probes() {
    let t = TempDir::new("wire-probe");
    let (_d, sock) = start("libvirtd", &t, &[]);
    assert_eq!(
        open_name(&sock, None),
        Err((1, 7, "internal error: connection not open".to_string()))
    );
    // Without Xen, QEMU answers the probe first, as in C's libvirtd:
    // qemu:///system for root, qemu:///session for another user.
    let want = if is_root() {
        "qemu:///system"
    } else {
        "qemu:///session"
    };
    assert_eq!(open_name(&sock, Some("")).as_deref(), Ok(want));
    if is_root() {
        let ro = Spec::new("libvirtd", &t, "").ro_socket();
        assert_eq!(open_name(&ro, Some("")).as_deref(), Ok(want));
    }
}

#[test]
fn unprivileged_daemon_probes_qemu_session() {
    if !is_root() {
        skip("needs root to switch to the unprivileged user 'nobody'");
        return;
    }
    let t = TempDir::new("wire-nobody");
    std::fs::set_permissions(t.path(), std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let home = t.join("home");
    std::fs::create_dir_all(&home).expect("home");
    std::os::unix::fs::chown(&home, Some(NOBODY), Some(NOBODY)).expect("chown");
    let run = home.join("xdg-run/libvirt");
    let mut spec = Spec::new("libvirtd", &t, "");
    spec.args.clear();
    spec.ready = run.join("libvirt-sock");
    let spec = spec
        .env("HOME", &home.display().to_string())
        .env(
            "XDG_RUNTIME_DIR",
            &home.join("xdg-run").display().to_string(),
        )
        .env(
            "XDG_CONFIG_HOME",
            &home.join("xdg-config").display().to_string(),
        )
        .env(
            "XDG_CACHE_HOME",
            &home.join("xdg-cache").display().to_string(),
        );
    let _d = spec.start_as(NOBODY);
    let sock = run.join("libvirt-sock");
    // Only the QEMU driver serves a user (qemu:///session), as in C.
    assert_eq!(open_name(&sock, Some("")).as_deref(), Ok("qemu:///session"));
}

#[test]
fn virtxend_without_xen_probes_nothing() {
    if !is_root() {
        skip("virtxend runs only as root");
        return;
    }
    let dom0 =
        std::fs::read_to_string("/proc/xen/capabilities").is_ok_and(|c| c.contains("control_d"));
    if dom0 {
        skip("this host is a Xen dom0, where the libxl driver answers the probe");
        return;
    }
    let t = TempDir::new("wire-xen");
    let (_d, sock) = start("virtxend", &t, &[]);
    // Outside a Xen dom0 the libxl driver is inactive and answers no probe.
    assert_eq!(open_name(&sock, Some("")), Err(no_connect_null()));
}

#[test]
fn configured_default_uri_comes_before_the_probe() {
    let t = TempDir::new("wire-default");
    let (d, sock) = start(
        "libvirtd",
        &t,
        &[("LIBVIRT_DEFAULT_URI", "test:///default")],
    );
    assert_eq!(open_name(&sock, Some("")).as_deref(), Ok("test:///default"));
    drop(d);

    // uri_default in the daemon's libvirt.conf, read at each open.
    let t = TempDir::new("wire-default-conf");
    let conf_dir = t.join("root/etc/libvirt");
    std::fs::create_dir_all(&conf_dir).expect("conf dir");
    let (_d, sock) = start("libvirtd", &t, &[]);
    std::fs::write(
        conf_dir.join("libvirt.conf"),
        "uri_default = \"test:///default\"\n",
    )
    .expect("libvirt.conf");
    assert_eq!(open_name(&sock, Some("")).as_deref(), Ok("test:///default"));
    std::fs::write(
        conf_dir.join("libvirt.conf"),
        "uri_default = \"bogus:///x\"\n",
    )
    .expect("libvirt.conf");
    assert_eq!(
        open_name(&sock, Some("")),
        Err((
            5,
            0,
            "no connection driver available for bogus:///x".to_string()
        ))
    );
}

#[test]
fn virtproxyd_probes_daemon_sockets_in_libvirt_order() {
    if !is_root() {
        skip("a proxy probes per-driver daemons only when it runs as root");
        return;
    }
    let t = TempDir::new("wire-proxy");
    let (_p, sock) = start("virtproxyd", &t, &[]);
    // Nothing beside it: the in-process drivers answer, as C's proxy
    // falls back to its own virConnectOpen.
    assert_eq!(open_name(&sock, Some("")), Err(no_connect_null()));
    assert_eq!(
        open_name(&sock, None),
        Err((1, 7, "internal error: connection not open".to_string()))
    );

    // virtvzd's socket exists: the empty URI becomes vz:///system there
    // (and virtvzd has no vz driver in this build).
    let _vz = beside(&t, "virtvzd");
    assert_eq!(
        open_name(&sock, Some("")),
        Err((
            5,
            0,
            "no connection driver available for vz:///system".to_string()
        ))
    );

    // An LXC daemon comes before vz in libvirt's order, whatever started
    // first.
    let _lxc = beside(&t, "virtlxcd");
    // virtlxcd itself answers the empty URI with its driver's probe.
    let lxc_sock = t.join("run/virtlxcd-sock");
    assert_eq!(
        open_name(&lxc_sock, Some("")).as_deref(),
        Ok("lxc:///system")
    );
    assert_eq!(open_name(&sock, Some("")).as_deref(), Ok("lxc:///system"));
}

const AUTH_NODE: &str = "<node>\
<cpu><mhz>6000</mhz><model>i986</model><active>50</active><nodes>4</nodes>\
<sockets>4</sockets><cores>4</cores><threads>2</threads></cpu>\
<memory>8192000</memory>\
<auth><user password='pw'>alice</user><user>bob</user></auth></node>";

/// libvirt-python's open and openAuth (with a callback answering
/// alice / pw) of `uri`: "OK URI" or "ERR code domain message" each.
const PY_OPEN_AUTH: &str = r#"
import libvirt, sys
libvirt.registerErrorHandler(lambda *a: None, None)
def cb(creds, data):
    for c in creds:
        c[4] = 'alice' if c[0] == libvirt.VIR_CRED_AUTHNAME else 'pw'
    return 0
for f in (lambda: libvirt.open(sys.argv[1]),
          lambda: libvirt.openAuth(sys.argv[1], [[libvirt.VIR_CRED_AUTHNAME, libvirt.VIR_CRED_PASSPHRASE], cb, None], 0)):
    try:
        print('OK', f().getURI())
    except libvirt.libvirtError as e:
        print('ERR', e.get_error_code(), e.get_error_domain(), e.get_error_message())
"#;

#[test]
fn test_node_with_auth_users_is_refused_without_credentials_as_c_does() {
    let t = TempDir::new("wire-auth");
    let node = t.join("node.xml");
    std::fs::write(&node, AUTH_NODE).expect("node");
    let uri = format!("test://{}", node.display());
    let (d, sock) = start("libvirtd", &t, &[]);
    // The daemon has no way to ask the client: C's libvirtd answers this
    // to open and to openAuth with a callback alike.
    assert_eq!(
        open_name(&sock, Some(&uri)),
        Err((
            8,
            46,
            "invalid argument: Missing authentication credentials".to_string()
        ))
    );
    if python_available() {
        let out = python(
            PY_OPEN_AUTH,
            &[&format!(
                "test+unix://{}?socket={}",
                node.display(),
                sock.display()
            )],
        )
        .success();
        let refused = "ERR 8 46 invalid argument: Missing authentication credentials";
        assert_eq!(out.lines().collect::<Vec<_>>(), [refused, refused]);
    } else {
        skip("libvirt-python part: /usr/bin/python3 cannot import libvirt");
    }
    drop(d);

    // Credentials in the daemon's auth file (libvirt 9.6 reads it before
    // asking for a callback).
    let write = |name: &str, user: &str, pass: &str| {
        let p = t.join(name);
        std::fs::write(
            &p,
            format!(
                "[credentials-t]\nusername={user}\n{pass}\n[auth-test-localhost]\ncredentials=t\n"
            ),
        )
        .expect("auth.conf");
        p.display().to_string()
    };
    let good = write("good.conf", "alice", "password=pw");
    let (d, sock) = start("libvirtd", &t, &[("LIBVIRT_AUTH_FILE", &good)]);
    assert_eq!(open_name(&sock, Some(&uri)), Ok(uri.clone()));
    drop(d);
    let bad = write("bad.conf", "alice", "password=nope");
    let (_d, sock) = start("libvirtd", &t, &[("LIBVIRT_AUTH_FILE", &bad)]);
    assert_eq!(
        open_name(&sock, Some(&uri)),
        Err((
            45,
            12,
            "authentication failed: authentication failed, see test XML for the correct username/password"
                .to_string()
        ))
    );
}

#[test]
fn read_only_refusals_come_from_the_apis_error_domain() {
    if !is_root() {
        skip("the read-only socket exists only for root daemons");
        return;
    }
    let t = TempDir::new("wire-ro");
    let spec = Spec::new("libvirtd", &t, "");
    let _d = spec.start();
    // A client that does not check read-only itself (libvirt's library
    // does, go-libvirt does not) gets the daemon's refusal, from the error
    // domain of the file defining the API, as C's daemon answers.
    let mut c =
        RpcClient::connect(&spec.ro_socket(), r::PROGRAM, r::PROTOCOL_VERSION).expect("connect");
    c.call::<_, ()>(
        CONNECT_OPEN,
        &r::ConnectOpenArgs {
            name: Some("test:///default".into()),
            flags: 0,
        },
    )
    .expect("open");
    let refused =
        |c: &mut RpcClient, proc_: i32, args: Vec<u8>| match c.call::<_, Raw>(proc_, &Raw(args)) {
            Err(ClientError::Remote(e)) => (e.code, e.domain, e.message),
            other => panic!("procedure {proc_}: {:?}", other.map(|r| r.0)),
        };
    let secret = xdr::to_bytes(&r::SecretDefineXmlArgs {
        xml: "<secret/>".into(),
        flags: 0,
    });
    assert_eq!(
        refused(&mut c, 142, secret),
        (
            29,
            30,
            "operation forbidden: read only access prevents virSecretDefineXML".to_string()
        )
    );
    let dom: r::DomainLookupByNameRet = c
        .call(
            23,
            &r::DomainLookupByNameArgs {
                name: "test".into(),
            },
        )
        .expect("lookup");
    let snap = xdr::to_bytes(&r::DomainSnapshotCreateXmlArgs {
        dom: dom.dom,
        xml_desc: "<domainsnapshot/>".into(),
        flags: 0,
    });
    assert_eq!(
        refused(&mut c, 185, snap),
        (
            29,
            35,
            "operation forbidden: read only access prevents virDomainSnapshotCreateXML".to_string()
        )
    );
}

#[test]
fn uris_are_kept_and_refused_as_c_does() {
    let t = TempDir::new("wire-uris");
    let (_d, sock) = start("libvirtd", &t, &[]);
    let no_connect = |what: &str| Err((5, 0, format!("no connection driver available for {what}")));
    assert_eq!(
        open_name(&sock, Some("default")),
        no_connect("URI 'default' does not include a driver name")
    );
    assert_eq!(
        open_name(&sock, Some("TEST:///default")),
        no_connect("TEST:///default")
    );
    // Client libraries strip the transport; one left is no driver's scheme.
    assert_eq!(
        open_name(&sock, Some("test+ssh:///default")),
        no_connect("test+ssh:///default")
    );
    assert_eq!(
        open_name(&sock, Some("::::")),
        Err((
            1,
            45,
            "internal error: Unable to parse URI ::::".to_string()
        ))
    );
    // A directory reads as an empty document.
    let dir = t.join("nodedir");
    std::fs::create_dir_all(&dir).expect("dir");
    let e = open_name(&sock, Some(&format!("test://{}", dir.display()))).unwrap_err();
    assert_eq!((e.0, e.1), (35, 12), "{e:?}");
    assert!(e.2.ends_with(":1: Document is empty\n(null)\n^"), "{e:?}");
    if is_root() {
        // The connection keeps the URI it was opened with.
        for uri in ["lxc:///", "lxc://", "lxc:///system"] {
            assert_eq!(open_name(&sock, Some(uri)).as_deref(), Ok(uri));
        }
    }
}

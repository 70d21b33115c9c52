// SPDX-License-Identifier: LGPL-2.1-or-later
//! The same virsh commands against libvirt's own C test driver
//! (`test:///default`, which Debian's virsh runs in process: the driver
//! code C libvirtd serves) and against our libvirtd's test driver on a
//! private socket: output, errors and exit status must be the same.

use test_support::*;

/// Runs `args` with virsh on `uri`: exit status, stdout and stderr.
fn run(uri: &str, args: &[&str]) -> String {
    let o = virsh_uri(uri, args);
    format!("ok={}\n{}{}", o.ok, o.stdout, o.stderr)
}

/// Runs every command of `steps` against C's test driver and ours; the
/// steps whose results differ, with both results.
fn differences(ours: &str, steps: &[Vec<&str>]) -> Vec<String> {
    let mut bad = Vec::new();
    for s in steps {
        let c = run("test:///default", s);
        let r = run(ours, s);
        if c != r {
            bad.push(format!("virsh {}\n--- C:\n{c}--- ours:\n{r}", s.join(" ")));
        }
    }
    bad
}

fn skip_reason() -> Option<String> {
    if !tool_exists("virsh") {
        return Some("needs virsh (Debian package libvirt-clients)".into());
    }
    None
}

#[test]
fn send_key_codes_match_c_test_driver() {
    skip_if!(skip_reason());
    let dir = TempDir::new("fidelity-sendkey");
    let spec = Spec::new("libvirtd", &dir, "");
    let uri = format!("test+unix:///default?socket={}", spec.ready.display());
    let _d = spec.start();
    let many: Vec<&str> = ["send-key", "test"]
        .into_iter()
        .chain(std::iter::repeat_n("KEY_A", 17))
        .collect();
    let steps: Vec<Vec<&str>> = vec![
        vec!["send-key", "test", "KEY_A", "KEY_LEFTSHIFT", "30"],
        vec!["send-key", "test", "999"],
        vec!["send-key", "test", "0"],
        vec!["send-key", "test", "0x20c"],
        vec!["send-key", "test", "247"],
        vec!["send-key", "test", "--holdtime", "100", "KEY_ENTER"],
        vec!["send-key", "test", "KEY_NOPE"],
        vec!["send-key", "test", "0x10000"],
        vec!["send-key", "test", "--codeset", "xt", "0xe01c"],
        vec!["send-key", "test", "--codeset", "xt", "0x9c"],
        vec!["send-key", "test", "--codeset", "atset1", "0x1e", "0xe05b"],
        vec!["send-key", "test", "--codeset", "atset1", "0xe0ff"],
        vec!["send-key", "test", "--codeset", "atset2", "0x1c"],
        vec!["send-key", "test", "--codeset", "atset2", "0xff"],
        vec!["send-key", "test", "--codeset", "atset3", "0x1c"],
        vec!["send-key", "test", "--codeset", "atset3", "999"],
        vec!["send-key", "test", "--codeset", "os_x", "ANSI_A", "0xff"],
        vec!["send-key", "test", "--codeset", "os_x", "0"],
        vec!["send-key", "test", "--codeset", "os_x", "0x7f"],
        vec!["send-key", "test", "--codeset", "xt_kbd", "0x11c"],
        vec!["send-key", "test", "--codeset", "xt_kbd", "0xe01c"],
        vec!["send-key", "test", "--codeset", "usb", "4"],
        vec!["send-key", "test", "--codeset", "usb", "0xffff"],
        vec!["send-key", "test", "--codeset", "win32", "VK_RETURN"],
        vec!["send-key", "test", "--codeset", "win32", "0xff"],
        vec!["send-key", "test", "--codeset", "qnum", "0x9c"],
        vec!["send-key", "test", "--codeset", "rfb", "0x1e", "0xe01c"],
        vec!["send-key", "test", "--codeset", "qnum", "0x200"],
        vec!["send-key", "test", "--codeset", "bogus", "1"],
        many,
        // One virsh session: C's in-process driver starts afresh each time.
        vec!["destroy test; send-key test KEY_A; send-key test 999"],
    ];
    let bad = differences(&uri, &steps);
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    // The steps exercise both outcomes (test:///default starts afresh
    // once its last connection closes).
    let r = run(&uri, &["send-key test KEY_A; send-key test 999"]);
    assert!(r.starts_with("ok=false"), "{r}");
    assert!(
        r.contains("error: internal error: invalid keycode 999 of linux codeset"),
        "{r}"
    );
}

/// `virsh cpu-baseline` (with and without `--features`) on CPUs whose
/// best model has features QEMU removed from it (`removed='yes'` in the
/// CPU map: always named, disabled where absent), and where libvirt's
/// cost of a candidate model decides between close ones.
#[test]
fn cpu_baseline_matches_c_test_driver() {
    skip_if!(skip_reason());
    skip_if!(
        (!std::path::Path::new("/usr/share/libvirt/cpu_map/index.xml").exists())
            .then_some("libvirt's CPU map is not installed (/usr/share/libvirt/cpu_map)")
    );
    let dir = TempDir::new("fidelity-baseline");
    let spec = Spec::new("libvirtd", &dir, "");
    let uri = format!("test+unix:///default?socket={}", spec.ready.display());
    let _d = spec.start();
    let cpu = |model: &str, vendor: Option<&str>, features: &[&str]| {
        let mut x = format!("<cpu>\n  <arch>x86_64</arch>\n  <model>{model}</model>\n");
        if let Some(v) = vendor {
            x.push_str(&format!("  <vendor>{v}</vendor>\n"));
        }
        for f in features {
            x.push_str(&format!("  <feature name='{f}'/>\n"));
        }
        x + "</cpu>\n"
    };
    let inputs = [
        cpu("Icelake-Client-noTSX", Some("Intel"), &["mca"]),
        cpu("Icelake-Client", Some("Intel"), &["intel-pt"]),
        cpu("EPYC", Some("AMD"), &["xsave"]),
        cpu("EPYC", Some("AMD"), &["monitor", "avx512f"]),
        cpu("EPYC-IBPB", Some("AMD"), &["sse4a", "movbe"])
            + &cpu("EPYC-IBPB", None, &["pse"])
            + &cpu("EPYC-IBPB", None, &["sgx"]),
        cpu("EPYC-IBPB", None, &["ds", "mce"]) + &cpu("athlon", Some("AMD"), &[]),
        cpu("Skylake-Server", Some("Intel"), &[]) + &cpu("Cascadelake-Server", Some("Intel"), &[]),
        cpu("Westmere", Some("Intel"), &["pclmuldq", "sse4.1", "avx"]),
        cpu("Westmere", Some("Intel"), &["pclmulqdq"]),
        cpu("Haswell", None, &[]) + &cpu("Broadwell", None, &["rtm"]) + &cpu("Nehalem", None, &[]),
    ];
    let mut steps = Vec::new();
    for (i, x) in inputs.iter().enumerate() {
        let f = dir.join(&format!("cpu{i}.xml"));
        std::fs::write(&f, x).unwrap();
        steps.push(f.display().to_string());
    }
    let commands: Vec<Vec<&str>> = steps
        .iter()
        .flat_map(|f| {
            [
                vec!["cpu-baseline", f.as_str()],
                vec!["cpu-baseline", "--features", f.as_str()],
            ]
        })
        .collect();
    let bad = differences(&uri, &commands);
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    // The inputs reach removed features.
    let r = run(&uri, &["cpu-baseline", &steps[0]]);
    assert!(
        r.contains("<feature policy='disable' name='intel-pt'/>"),
        "{r}"
    );
}

/// LUKS-encrypted volumes through libvirtd: the passphrase comes from its
/// secret driver (in process, so a private secret serves too), qemu-img
/// makes a LUKS image, errors as C's storage driver words them (checked
/// against Debian's C libvirtd by hand: secret missing, secret without a
/// value; vol-dumpxml and the capacity without the LUKS header, before
/// and after a pool refresh).
#[test]
fn luks_volume_from_a_secret() {
    skip_if!(luks_skip());
    let dir = TempDir::new("fidelity-luks");
    let spec = Spec::new("libvirtd", &dir, "");
    let sock = spec.ready.display().to_string();
    let _d = spec.start();
    let st = format!("storage:///system?socket={sock}");
    let se = format!("secret:///system?socket={sock}");
    luks_steps(&dir, &st, &se, true);
}

/// The same through virtstoraged, which reads the secret from virtsecretd
/// over its socket (a private secret's value is no client's there).
#[test]
fn luks_volume_from_virtsecretd() {
    skip_if!(luks_skip());
    let dir = TempDir::new("fidelity-luks-modular");
    let conf = dir.config("");
    let start = |daemon: &str| {
        let mut cmd = std::process::Command::new(bin(daemon));
        cmd.arg("-f")
            .arg(&conf)
            .arg("-p")
            .arg(dir.join(&format!("{daemon}.pid")))
            .env("LIBVIRT_RS_ROOT_PREFIX", dir.join("root"));
        Daemon::start_cmd(cmd, &dir, &dir.join(&format!("run/{daemon}-sock")))
    };
    let _sec = start("virtsecretd");
    let _sto = start("virtstoraged");
    let run = dir.join("run");
    let st = format!(
        "storage:///system?socket={}",
        run.join("virtstoraged-sock").display()
    );
    let se = format!(
        "secret:///system?socket={}",
        run.join("virtsecretd-sock").display()
    );
    luks_steps(&dir, &st, &se, false);
}

/// A private secret's value reaches virtstoraged (it forwards its
/// caller's identity with the host's system token, made at start-up and
/// shared by both daemons) and no ordinary client: without an identity,
/// with another user's, with a forged token, or with attributes libvirt
/// does not know, the answers match Debian's C libvirtd's secret driver;
/// with the real token (readable only by root) the value comes back.
#[test]
fn private_secret_reaches_virtstoraged_through_the_system_token() {
    skip_if!(luks_skip());
    skip_if!((!python_available()).then(|| "needs libvirt-python".to_string()));
    let dir = TempDir::new("fidelity-luks-private");
    let conf = dir.config("");
    let start = |daemon: &str| {
        let mut cmd = std::process::Command::new(bin(daemon));
        cmd.arg("-f")
            .arg(&conf)
            .arg("-p")
            .arg(dir.join(&format!("{daemon}.pid")))
            .env("LIBVIRT_RS_ROOT_PREFIX", dir.join("root"));
        Daemon::start_cmd(cmd, &dir, &dir.join(&format!("run/{daemon}-sock")))
    };
    let _sec = start("virtsecretd");
    let _sto = start("virtstoraged");
    // One token, private to root, for both daemons.
    let token_file = dir.join("root/run/libvirt/common/system.token");
    let token = std::fs::read_to_string(&token_file).unwrap();
    assert_eq!(token.len(), 32, "{token:?}");
    assert!(token.bytes().all(|b| b.is_ascii_hexdigit()), "{token:?}");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&token_file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);

    let run = dir.join("run");
    let st = format!(
        "storage:///system?socket={}",
        run.join("virtstoraged-sock").display()
    );
    let se = format!(
        "secret:///system?socket={}",
        run.join("virtsecretd-sock").display()
    );
    luks_steps(&dir, &st, &se, true);
    // virsh, an ordinary client, is refused the value.
    let uuid = "8e0b4b4a-1d7e-4a39-9a3c-0d3f4c5b6a71";
    let o = virsh_uri(&se, &["secret-get-value", uuid]);
    assert!(!o.ok);
    assert!(
        o.stderr
            .contains("error: Invalid secret: secret is private"),
        "{}",
        o.stderr
    );

    let other = "5f0c2d9e-7a41-4b3c-8e2d-1a2b3c4d5e6f";
    let ours = python(IDENTITY_SCRIPT, &[&se, other, &token]);
    assert!(ours.ok, "{}{}", ours.stdout, ours.stderr);
    let (with_token, ordinary): (Vec<&str>, Vec<&str>) =
        ours.stdout.lines().partition(|l| l.starts_with("token "));
    assert_eq!(with_token, ["token ok b'letmein'"], "{}", ours.stdout);
    // VIR_ERR_INVALID_SECRET from the secret driver.
    assert!(
        ordinary.contains(&"plain err 65 30 Invalid secret: secret is private"),
        "{}",
        ours.stdout
    );

    // The same ordinary clients against C's secret driver.
    let cdir = TempDir::new("fidelity-identity-c");
    let Some((_c, csock)) = start_c_libvirtd(&cdir, &["secret"]) else {
        return;
    };
    let curi = format!("secret:///system?socket={}", csock.display());
    let c = python(IDENTITY_SCRIPT, &[&curi, other, ""]);
    assert!(c.ok, "{}{}", c.stdout, c.stderr);
    assert_eq!(ordinary, c.stdout.lines().collect::<Vec<_>>());
}

/// Defines a private secret with a value, then reads it on fresh
/// connections that first forward an identity (none, another user's, a
/// forged token, unknown or mistyped attributes, and with argv[3] the
/// host's token): one line per step, the value or the error's code,
/// domain and message.
const IDENTITY_SCRIPT: &str = r#"
import sys, libvirt
uri, uuid, token = sys.argv[1:4]
libvirt.registerErrorHandler(lambda *a: None, None)
c = libvirt.open(uri)
s = c.secretDefineXML("<secret ephemeral='no' private='yes'><uuid>%s</uuid>"
                      "<usage type='volume'><volume>/nowhere/enc.img</volume></usage></secret>" % uuid)
s.setValue(b"letmein")
def step(name, ident):
    try:
        c = libvirt.open(uri)
        if ident is not None:
            c.setIdentity(ident)
        print(name, "ok", c.secretLookupByUUIDString(uuid).value())
    except libvirt.libvirtError as e:
        print(name, "err", e.get_error_code(), e.get_error_domain(), e.get_error_message())
    except Exception as e:
        print(name, "python", type(e).__name__, e)
step("plain", None)
step("nobody", {"user-name": "nobody", "unix-user-id": 65534, "group-name": "nogroup", "unix-group-id": 65534})
step("forged", {"system.token": "0" * 32})
step("unknown", {"colour": "blue"})
step("mistyped", {"unix-user-id": "root"})
if token:
    step("token", {"system.token": token})
"#;

fn luks_skip() -> Option<String> {
    skip_reason()
        .or_else(|| (!tool_exists("qemu-img")).then(|| "needs qemu-img".into()))
        .or_else(|| (!is_root()).then(|| "storage:///system and secret:///system need root".into()))
}

/// A dir pool, a volume secret (`private` or not), LUKS volume creates
/// that fail and one that works, its XML, qemu-img's view of it.
fn luks_steps(dir: &TempDir, st: &str, se: &str, private: bool) {
    let private = if private { "yes" } else { "no" };
    let pool = dir.join("pool");
    std::fs::create_dir_all(&pool).unwrap();
    let img = pool.join("enc.img");
    let uuid = "8e0b4b4a-1d7e-4a39-9a3c-0d3f4c5b6a71";
    let sec_xml = dir.join("sec.xml");
    std::fs::write(
        &sec_xml,
        format!(
            "<secret ephemeral='no' private='{private}'><uuid>{uuid}</uuid>\
             <usage type='volume'><volume>{}</volume></usage></secret>",
            img.display()
        ),
    )
    .unwrap();
    let vol_xml = |name: &str, secret: &str| {
        let p = dir.join(&format!("{name}.xml"));
        std::fs::write(
            &p,
            format!(
                "<volume><name>{name}</name><capacity unit='M'>16</capacity>\
                 <target><format type='raw'/><encryption format='luks'>\
                 <secret type='passphrase' uuid='{secret}'/></encryption></target></volume>"
            ),
        )
        .unwrap();
        p.display().to_string()
    };
    let ok = |uri: &str, args: &[&str]| {
        let o = virsh_uri(uri, args);
        assert!(o.ok, "virsh {args:?}: {}", o.stderr);
        o.stdout
    };
    let fail = |uri: &str, args: &[&str]| {
        let o = virsh_uri(uri, args);
        assert!(!o.ok, "virsh {args:?} succeeded: {}", o.stdout);
        o.stderr
    };
    let pool_s = pool.display().to_string();
    ok(st, &["pool-create-as", "p", "dir", "--target", &pool_s]);
    let missing = vol_xml("enc.img", "11111111-2222-3333-4444-555555555555");
    assert!(fail(st, &["vol-create", "p", &missing]).contains(
        "error: Secret not found: no secret with matching uuid '11111111-2222-3333-4444-555555555555'"
    ));
    ok(se, &["secret-define", &sec_xml.display().to_string()]);
    let good = vol_xml("enc.img", uuid);
    assert!(fail(st, &["vol-create", "p", &good]).contains(&format!(
        "error: Secret not found: secret '{uuid}' does not have a value"
    )));
    assert!(!img.exists(), "a failed create leaves no file");
    // echo -n letmein | base64
    ok(se, &["secret-set-value", uuid, "bGV0bWVpbg=="]);
    // qemu-img times its key derivation on the thread's CPU clock, which
    // a loaded machine can leave unmoved ("Unable to get accurate CPU
    // usage"); such a run is tried again.
    for attempt in 1.. {
        let o = virsh_uri(st, &["vol-create", "p", &good]);
        if o.ok {
            break;
        }
        assert!(
            attempt < 4 && o.stderr.contains("Unable to get accurate CPU usage"),
            "vol-create: {}",
            o.stderr
        );
        assert!(!img.exists(), "a failed create leaves no file");
    }
    let expect = format!(
        "    <encryption format='luks'>\n      <secret type='passphrase' uuid='{uuid}'/>\n    </encryption>\n"
    );
    for step in ["create", "refresh"] {
        if step == "refresh" {
            ok(st, &["pool-refresh", "p"]);
        }
        let x = ok(st, &["vol-dumpxml", "enc.img", "--pool", "p"]);
        assert!(x.contains(&expect), "{step}: {x}");
        assert!(x.contains("<format type='raw'/>"), "{step}: {x}");
        assert!(
            x.contains("<capacity unit='bytes'>16777216</capacity>"),
            "{step}: {x}"
        );
    }
    let mut c = std::process::Command::new("qemu-img");
    c.arg("info").arg("-U").arg(&img);
    let info = text(&run_cmd(c).stdout);
    assert!(info.contains("file format: luks"), "{info}");
    assert!(info.contains("encrypted: yes"), "{info}");
    // A resize opens the image with the passphrase (the secret found by
    // the volume's path after the refresh).
    ok(st, &["vol-resize", "enc.img", "32M", "--pool", "p"]);
    let mut c = std::process::Command::new("qemu-img");
    c.arg("info").arg("-U").arg(&img);
    let info = text(&run_cmd(c).stdout);
    assert!(info.contains("(33554432 bytes)"), "{info}");
    // The passphrase file lived only as long as qemu-img.
    let state = dir.join("root/run/libvirt/storage");
    let left: Vec<_> = std::fs::read_dir(&state)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.contains(".secret."))
                .collect()
        })
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
    // Two secrets: C's words, before any secret is read.
    let two = dir.join("two.xml");
    std::fs::write(
        &two,
        format!(
            "<volume><name>two.img</name><capacity>1048576</capacity>\
             <target><format type='raw'/><encryption format='luks'>\
             <secret type='passphrase' uuid='{uuid}'/><secret type='passphrase' uuid='{uuid}'/>\
             </encryption></target></volume>"
        ),
    )
    .unwrap();
    let e = fail(st, &["vol-create", "p", &two.display().to_string()]);
    assert!(
        e.contains(
            "A single <secret type='passphrase'...> element is expected in encryption description"
        ),
        "{e}"
    );
    ok(st, &["vol-delete", "enc.img", "--pool", "p"]);
    ok(st, &["pool-destroy", "p"]);
}

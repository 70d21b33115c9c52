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

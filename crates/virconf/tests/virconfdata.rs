// SPDX-License-Identifier: LGPL-2.1-or-later
//! The libvirt corpus in shared/conformance/libvirt-9.6/virconfdata: each
//! `.conf` is parsed and written back; the expected text is libvirt's
//! writer output for the case (one entry per line, blank lines dropped,
//! `name = value` spacing, lists as `[ a, b ]`).

use ::virconf::Conf;
use std::path::PathBuf;

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/conformance/libvirt-9.6/virconfdata")
}

fn read_case(name: &str) -> Option<String> {
    let path = corpus_dir().join(name);
    match std::fs::read_to_string(&path) {
        Ok(t) => Some(t),
        Err(e) => {
            eprintln!("skipping: {} unreadable: {e}", path.display());
            None
        }
    }
}

fn round_trip(name: &str) -> Option<(String, String)> {
    let text = read_case(name)?;
    let conf = match Conf::parse(&text, name) {
        Ok(c) => c,
        Err(e) => panic!("{name}: {e}"),
    };
    let out = conf.write();
    // Whatever we write must read back to the same entries.
    let again = match Conf::parse(&out, name) {
        Ok(c) => c,
        Err(e) => panic!("{name} rewritten: {e}"),
    };
    assert_eq!(again.entries(), conf.entries());
    Some((text, out))
}

mod virconf {
    use super::*;

    #[test]
    fn fc4() {
        let Some((_, out)) = round_trip("fc4.conf") else {
            return;
        };
        let expected = "kernel = \"/boot/vmlinuz-2.6.15-1.2054_FC5xenU\"\n\
ramdisk = \"/boot/initrd-2.6.15-1.2054_FC5xenU.img\"\n\
memory = 128 # should be enough\n\
name = \"fc4\"\n\
vif = [ \"mac=aa:00:00:00:00:11, bridge=xenbr0\" ]\n\
disk = [ \"file:/xen/fc4.img,sda1,w\" ]\n\
root = \"/dev/sda1\"\n\
extra = \"ro selinux=0 3\"\n\
on_reboot = \"restart\"\n\
# just for testing ...\n\
tst = [ 1, 2, [ 3, 4 ], 5 ]\n";
        assert_eq!(out, expected);
    }

    #[test]
    fn no_newline() {
        let Some((_, out)) = round_trip("no-newline.conf") else {
            return;
        };
        assert_eq!(out, "log_level = 1\n");
    }

    #[test]
    fn libvirtd() {
        let Some((text, out)) = round_trip("libvirtd.conf") else {
            return;
        };
        // Every line of this file is already in written form except blank
        // lines (dropped) and the two lists (respaced).
        let mut expected = String::new();
        for line in text.lines().filter(|l| !l.is_empty()) {
            let line = match line {
                "tls_allowed_dn_list = [\"DN1\", \"DN2\"]" => {
                    "tls_allowed_dn_list = [ \"DN1\", \"DN2\" ]"
                }
                "sasl_allowed_username_list = [\"joe@EXAMPLE.COM\", \"fred@EXAMPLE.COM\" ]" => {
                    "sasl_allowed_username_list = [ \"joe@EXAMPLE.COM\", \"fred@EXAMPLE.COM\" ]"
                }
                other => other,
            };
            expected.push_str(line);
            expected.push('\n');
        }
        assert_eq!(out, expected);
        let conf = Conf::parse(&out, "libvirtd.out").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(conf.get_bool("listen_tls"), Ok(Some(false)));
        assert_eq!(conf.get_string("tcp_port"), Ok(Some("16509".into())));
        assert_eq!(
            conf.get_string_list("sasl_allowed_username_list", false),
            Ok(Some(vec![
                "joe@EXAMPLE.COM".into(),
                "fred@EXAMPLE.COM".into()
            ]))
        );
    }

    /// A new `.conf` in the corpus needs its own case above.
    #[test]
    fn every_corpus_file_has_a_case() {
        let Ok(dir) = std::fs::read_dir(corpus_dir()) else {
            eprintln!("skipping: corpus directory absent");
            return;
        };
        let mut names: Vec<String> = dir
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".conf"))
            .collect();
        names.sort();
        assert_eq!(names, ["fc4.conf", "libvirtd.conf", "no-newline.conf"]);
    }
}

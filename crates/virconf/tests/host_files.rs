// SPDX-License-Identifier: LGPL-2.1-or-later
//! Parses the configuration files a distribution ships in /etc/libvirt
//! (Debian's libvirt-daemon package). Skips, saying so, when absent.

use virconf::Conf;

#[test]
fn distribution_conf_files_parse() {
    let Ok(dir) = std::fs::read_dir("/etc/libvirt") else {
        eprintln!("skipping: /etc/libvirt absent (install libvirt-daemon for reference files)");
        return;
    };
    let mut parsed = 0;
    for entry in dir.filter_map(|e| e.ok()) {
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("conf") {
            continue;
        }
        let conf = Conf::read_file(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        // Written form must read back to the same entries.
        let again = Conf::parse(&conf.write(), "rewritten")
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(again.entries(), conf.entries(), "{}", path.display());
        parsed += 1;
    }
    eprintln!("parsed {parsed} files from /etc/libvirt");
}

#[test]
fn debian_libvirtd_conf_is_all_comments() {
    let path = "/etc/libvirt/libvirtd.conf";
    if !std::path::Path::new(path).exists() {
        eprintln!("skipping: {path} absent (install libvirt-daemon for reference files)");
        return;
    }
    let conf = Conf::read_file(path).unwrap_or_else(|e| panic!("{e}"));
    // Debian ships every setting commented out, so the defaults apply.
    assert!(conf.entries().len() > 100);
    assert_eq!(conf.settings().count(), 0);
}

// SPDX-License-Identifier: LGPL-2.1-or-later
use std::os::unix::fs::PermissionsExt;

use daemon_support::{atomic_write, parse_activation, ActivationError};

#[test]
fn atomic_write_replaces_content_and_leaves_no_temp_file() {
    let dir = std::env::temp_dir().join(format!("ds-atomic-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let file = dir.join("guest.xml");
    atomic_write(&file, b"first", 0o600).unwrap_or_else(|e| panic!("{e}"));
    atomic_write(&file, b"second", 0o640).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(std::fs::read(&file).unwrap_or_default(), b"second");
    let mode = std::fs::metadata(&file)
        .map(|m| m.permissions().mode() & 0o777)
        .unwrap_or(0);
    assert_eq!(mode, 0o640);
    let names: Vec<String> = std::fs::read_dir(&dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(names, ["guest.xml"]);
    // Writing over a directory fails and leaves nothing behind.
    let sub = dir.join("sub");
    std::fs::create_dir(&sub).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(sub.join("keep"), b"x").unwrap_or_else(|e| panic!("{e}"));
    assert!(atomic_write(&sub, b"y", 0o600).is_err());
    let count = std::fs::read_dir(&dir).map(|d| d.count()).unwrap_or(0);
    assert_eq!(count, 2);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn activation_maps_names_to_descriptors_from_three() {
    let act = parse_activation(
        Some("77"),
        Some("4"),
        Some("libvirtd.socket:libvirtd-ro.socket:libvirtd-tcp.socket:libvirtd-tcp.socket"),
        77,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let mut act = act.unwrap_or_else(|| panic!("not activated"));
    assert!(act.has_name("libvirtd-ro.socket"));
    assert!(!act.has_name("libvirtd-tls.socket"));
    assert_eq!(act.claim("libvirtd.socket"), [3]);
    assert_eq!(act.claim("libvirtd-tcp.socket"), [5, 6]);
    assert_eq!(act.complete(), Err(ActivationError::Unclaimed));
    assert_eq!(act.claim("libvirtd-ro.socket"), [4]);
    assert_eq!(act.complete(), Ok(()));
}

#[test]
fn activation_absent_or_for_someone_else() {
    assert_eq!(parse_activation(None, Some("1"), Some("a"), 5), Ok(None));
    assert_eq!(
        parse_activation(Some("6"), Some("1"), Some("a"), 5),
        Ok(None)
    );
    assert_eq!(
        parse_activation(Some("x5"), Some("1"), Some("a"), 5),
        Ok(None)
    );
    assert_eq!(
        parse_activation(Some("5"), Some("zero"), Some("a"), 5),
        Ok(None)
    );
    assert_eq!(parse_activation(Some("5"), Some("0"), None, 5), Ok(None));
    assert_eq!(parse_activation(Some("5"), None, Some("a"), 5), Ok(None));
}

#[test]
fn activation_name_errors() {
    assert_eq!(
        parse_activation(Some("5"), Some("2"), None, 5)
            .unwrap_err()
            .to_string(),
        "internal error: Missing LISTEN_FDNAMES env from systemd socket activation"
    );
    assert_eq!(
        parse_activation(Some("5"), Some("4000000000"), Some("a:b"), 5)
            .unwrap_err()
            .to_string(),
        "internal error: Expecting 4000000000 FD names but got 2"
    );
}

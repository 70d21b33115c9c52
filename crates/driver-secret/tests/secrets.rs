// SPDX-License-Identifier: LGPL-2.1-or-later
//! The secret driver on a real directory: libvirt's rules for UUIDs,
//! usages, private and ephemeral secrets, the files it keeps (owner-only,
//! the value in base64) and what a new driver on the same directory finds.

use std::os::unix::fs::PermissionsExt;

use driver_secret::{list, SecretDriver, SecretEvent};
use test_support::TempDir;
use virterror::{ErrorCode, ErrorDomain};

const U1: &str = "11111111-2222-3333-4444-555555555555";
const U2: &str = "22222222-2222-3333-4444-555555555555";

fn vol(uuid: &str, path: &str, extra: &str) -> String {
    format!(
        "<secret {extra}><uuid>{uuid}</uuid><usage type='volume'><volume>{path}</volume></usage></secret>"
    )
}

fn uuid(s: &str) -> [u8; 16] {
    conf::Uuid::parse(s).unwrap_or_else(|| panic!("{s}")).0
}

#[test]
fn persistent_secret_and_value_survive_a_restart_in_owner_only_files() {
    let t = TempDir::new("secrets-persist");
    let dir = t.join("secrets");
    let d = SecretDriver::new(&dir);
    let (r, ev) = d
        .define(&vol(U1, "/var/lib/a.img", ""), 0)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(ev, SecretEvent::Lifecycle { event: 0, .. }));
    d.set_value(&r.uuid, b"s3cret\x00\xff", 0)
        .unwrap_or_else(|e| panic!("{e}"));
    let xml = dir.join(format!("{U1}.xml"));
    let b64 = dir.join(format!("{U1}.base64"));
    for p in [&xml, &b64] {
        let mode = std::fs::metadata(p)
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{}", p.display());
    }
    assert_eq!(
        std::fs::read_to_string(&b64).unwrap_or_default().trim(),
        "czNjcmV0AP8="
    );
    drop(d);
    let d = SecretDriver::new(&dir);
    assert_eq!(d.count(), 1);
    let r = d
        .lookup_usage(1, "/var/lib/a.img")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.uuid, uuid(U1));
    assert_eq!(
        d.get_value(&r.uuid, 0, false).unwrap_or_default(),
        b"s3cret\x00\xff"
    );
    d.undefine(&r.uuid).unwrap_or_else(|e| panic!("{e}"));
    assert!(!xml.exists() && !b64.exists());
}

#[test]
fn ephemeral_secrets_never_touch_the_disk() {
    let t = TempDir::new("secrets-eph");
    let dir = t.join("secrets");
    let d = SecretDriver::new(&dir);
    let (r, _) = d
        .define(&vol(U1, "/x", "ephemeral='yes'"), 0)
        .unwrap_or_else(|e| panic!("{e}"));
    d.set_value(&r.uuid, b"v", 0)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(std::fs::read_dir(&dir).map(|rd| rd.count()).unwrap_or(0) == 0);
    // Made persistent, it takes its value to disk.
    d.define(&vol(U1, "/x", ""), 0)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(dir.join(format!("{U1}.base64")).exists());
    assert_eq!(SecretDriver::new(&dir).count(), 1);
    // And back to ephemeral: the files go.
    d.define(&vol(U1, "/x", "ephemeral='yes'"), 0)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!dir.join(format!("{U1}.xml")).exists());
    assert_eq!(SecretDriver::new(&dir).count(), 0);
}

#[test]
fn uuid_and_usage_conflicts_and_private_flag_as_libvirt() {
    let t = TempDir::new("secrets-rules");
    let d = SecretDriver::new(t.join("s"));
    d.define(&vol(U1, "/a", "private='yes'"), 0)
        .unwrap_or_else(|e| panic!("{e}"));
    let e = d
        .define(&vol(U1, "/b", "private='yes'"), 0)
        .err()
        .unwrap_or_else(|| panic!("usage changed"));
    assert_eq!(
        e.message(),
        format!("internal error: a secret with UUID {U1} is already defined for use with /a")
    );
    assert_eq!(e.domain, ErrorDomain::Secret);
    let e = d
        .define(&vol(U2, "/a", ""), 0)
        .err()
        .unwrap_or_else(|| panic!("usage taken"));
    assert_eq!(
        e.message(),
        format!("internal error: a secret with UUID {U1} already defined for use with /a")
    );
    let e = d
        .define(&vol(U1, "/a", ""), 0)
        .err()
        .unwrap_or_else(|| panic!("private dropped"));
    assert_eq!(
        e.message(),
        "internal error: cannot change private flag on existing secret"
    );
    // A private secret's value is for the daemon's own credentials only.
    let r = d.lookup_uuid(&uuid(U1)).unwrap_or_else(|e| panic!("{e}"));
    let e = d
        .get_value(&r.uuid, 0, false)
        .err()
        .unwrap_or_else(|| panic!("no value yet"));
    assert_eq!(e.code, ErrorCode::InvalidSecret);
    assert_eq!(e.message(), "Invalid secret: secret is private");
    let e = d
        .get_value(&r.uuid, 0, true)
        .err()
        .unwrap_or_else(|| panic!("no value"));
    assert_eq!(e.code, ErrorCode::NoSecret);
    assert_eq!(
        e.message(),
        format!("Secret not found: secret '{U1}' does not have a value")
    );
    // Two secrets without usage never conflict.
    d.define("<secret/>", 0).unwrap_or_else(|e| panic!("{e}"));
    d.define("<secret/>", 0).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(d.count(), 3);
    let e = d
        .lookup_uuid(&uuid(U2))
        .err()
        .unwrap_or_else(|| panic!("found"));
    assert_eq!(
        e.message(),
        format!("Secret not found: no secret with matching uuid '{U2}'")
    );
    let e = d
        .lookup_usage(1, "/nope")
        .err()
        .unwrap_or_else(|| panic!("found"));
    assert_eq!(
        e.message(),
        "Secret not found: no secret with matching usage '/nope'"
    );
    let e = d
        .define("<secret/>", 2)
        .err()
        .unwrap_or_else(|| panic!("bad flag"));
    assert_eq!(
        e.message(),
        "unsupported flags (0x2) in function secretDefineXML"
    );
    assert_eq!(e.domain, ErrorDomain::Secret);
}

#[test]
fn listing_filters() {
    let t = TempDir::new("secrets-list");
    let d = SecretDriver::new(t.join("s"));
    d.define(&vol(U1, "/a", "ephemeral='yes' private='no'"), 0)
        .unwrap_or_else(|e| panic!("{e}"));
    d.define(&vol(U2, "/b", "ephemeral='no' private='yes'"), 0)
        .unwrap_or_else(|e| panic!("{e}"));
    let n = |f| d.list_all(f).map(|v| v.len()).unwrap_or(99);
    assert_eq!(n(0), 2);
    assert_eq!(n(list::EPHEMERAL), 1);
    assert_eq!(n(list::NO_EPHEMERAL), 1);
    assert_eq!(n(list::EPHEMERAL | list::NO_EPHEMERAL), 2);
    assert_eq!(n(list::EPHEMERAL | list::PRIVATE), 0);
    assert_eq!(n(list::NO_EPHEMERAL | list::PRIVATE), 1);
}

#[test]
fn a_definition_whose_uuid_is_not_its_file_name_is_skipped() {
    let t = TempDir::new("secrets-bad");
    let dir = t.join("s");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.join(format!("{U2}.xml")), vol(U1, "/a", ""))
        .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.join(format!("{U1}.xml")), "<secret").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(SecretDriver::new(&dir).count(), 0);
}

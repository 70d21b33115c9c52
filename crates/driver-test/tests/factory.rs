// SPDX-License-Identifier: LGPL-2.1-or-later
//! Routing test:/// URIs to the driver through a registry.

use driver::error::ErrorCode;
use driver::{ConnectAuth, Registry, Uri};

#[test]
fn registry_opens_test_uris_and_rejects_missing_path() {
    let f = driver_test::factory();
    assert!(f.claims(&Uri::parse("test:///default").unwrap()));
    assert!(f.claims(&Uri::parse("test+unix:///default").unwrap()));
    assert!(!f.claims(&Uri::parse("lxc:///system").unwrap()));
    assert_eq!(f.default_uri(), None);
    let mut r = Registry::new();
    r.add(f);
    let c = r
        .open(Some("test:///default"), &ConnectAuth::default())
        .unwrap();
    assert_eq!(c.uri(), "test:///default");
    // Client libraries strip the transport before sending the URI; a
    // daemon given one finds no driver for it, as libvirt's does.
    let e = r
        .open(
            Some("test+unix:///default?socket=/tmp/x"),
            &ConnectAuth::default(),
        )
        .err()
        .unwrap();
    assert_eq!(e.code, ErrorCode::NoConnect);
    assert_eq!(c.get_type(), "TEST");
    assert!(c.domain_lookup_by_name("test").is_ok());
    let e = r
        .open(Some("test://"), &ConnectAuth::default())
        .err()
        .unwrap();
    assert_eq!(e.code, ErrorCode::InvalidArg);
    assert_eq!(
        e.message(),
        "invalid argument: testOpen: supply a path or use test:///default"
    );
}

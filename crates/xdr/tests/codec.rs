// SPDX-License-Identifier: LGPL-2.1-or-later
use proptest::prelude::*;
use xdr::{from_bytes, to_bytes, CharArray, Decoder, Opaque, Xdr, XdrError};

xdr::xdr_struct! {
    pub struct Inner { pub a: i32, pub b: Option<String> }
    pub struct Outer {
        #[max = 4] pub items: Vec<Inner>,
        #[max = 8] pub name: String,
        pub uuid: [u8; 16],
        pub big: u64,
        #[max = 16] pub blob: Opaque,
    }
}

#[test]
fn string_is_length_prefixed_and_padded() {
    assert_eq!(
        to_bytes(&"abcde".to_string()),
        b"\0\0\0\x05abcde\0\0\0".to_vec()
    );
}

#[test]
fn char_array_uses_a_word_per_char() {
    let c = CharArray::<4>::from_str_lossy("xyz!");
    let b = to_bytes(&c);
    assert_eq!(b.len(), 16);
    assert_eq!(&b[..4], &[0, 0, 0, b'x']);
    assert_eq!(c.0[3], 0, "room is kept for the terminating NUL");
}

#[test]
fn bounded_array_rejects_count_over_max_before_allocating() {
    let mut b = 5u32.to_be_bytes().to_vec();
    b.extend(vec![0u8; 64]);
    let mut d = Decoder::new(&b);
    assert_eq!(
        Vec::<Inner>::decode_bounded(&mut d, 4),
        Err(XdrError::TooLong { len: 5, max: 4 })
    );
}

#[test]
fn huge_count_with_little_data_is_truncated_not_allocated() {
    let b = 0x7fff_ffffu32.to_be_bytes();
    assert!(matches!(
        from_bytes::<Vec<u64>>(&b),
        Err(XdrError::Truncated { .. })
    ));
}

#[test]
fn padding_contents_are_ignored_as_c_does() {
    assert_eq!(
        from_bytes::<String>(b"\0\0\0\x01a\0\x01\0"),
        Ok("a".to_string())
    );
    assert_eq!(
        from_bytes::<[u8; 2]>(&[7, 8, 0xff, 0xff]),
        Ok([7, 8]),
        "fixed opaque data"
    );
}

#[test]
fn missing_padding_is_still_truncated() {
    assert!(matches!(
        from_bytes::<String>(b"\0\0\0\x01a"),
        Err(XdrError::Truncated { .. })
    ));
}

#[test]
fn trailing_bytes_are_rejected() {
    assert_eq!(
        from_bytes::<u32>(&[0, 0, 0, 1, 0, 0, 0, 0]),
        Err(XdrError::Trailing(4))
    );
}

#[test]
fn any_nonzero_word_is_true_as_c_xdr_bool() {
    assert_eq!(from_bytes::<bool>(&[0, 0, 0, 0]), Ok(false));
    assert_eq!(from_bytes::<bool>(&[0, 0, 0, 1]), Ok(true));
    assert_eq!(from_bytes::<bool>(&[0, 0, 0, 2]), Ok(true));
    // go-libvirt's encoding of true.
    assert_eq!(from_bytes::<bool>(&[1, 0, 0, 0]), Ok(true));
    assert_eq!(from_bytes::<bool>(&[0xff; 4]), Ok(true));
    assert!(matches!(
        from_bytes::<bool>(&[0, 0, 1]),
        Err(XdrError::Truncated { .. })
    ));
}

#[test]
fn optional_marker_accepts_any_nonzero_word() {
    let mut b = vec![1, 0, 0, 0];
    b.extend(to_bytes(&"x".to_string()));
    assert_eq!(from_bytes::<Option<String>>(&b), Ok(Some("x".into())));
    // The value must still follow a true marker.
    assert!(matches!(
        from_bytes::<Option<String>>(&[1, 0, 0, 0]),
        Err(XdrError::Truncated { .. })
    ));
    assert_eq!(from_bytes::<Option<String>>(&[0, 0, 0, 0]), Ok(None));
}

#[test]
fn small_integers_keep_the_low_bits_as_c_does() {
    assert_eq!(from_bytes::<u8>(&[0, 0, 1, 2]), Ok(2));
    assert_eq!(from_bytes::<u16>(&[1, 2, 3, 4]), Ok(0x0304));
    assert_eq!(from_bytes::<i8>(&[0xff, 0xff, 0xff, 0xfe]), Ok(-2));
    assert_eq!(from_bytes::<i8>(&[0, 0, 0, 0x80]), Ok(-128));
}

#[test]
fn from_prefix_ignores_trailing_bytes() {
    assert_eq!(xdr::from_prefix::<u32>(&[0, 0, 0, 1, 9, 9, 9, 9]), Ok(1));
    assert!(xdr::from_prefix::<u64>(&[0, 0, 0, 1]).is_err());
}

#[test]
fn bounded_string_field_is_enforced() {
    let v = Outer {
        name: "123456789".into(),
        ..Default::default()
    };
    assert!(matches!(
        from_bytes::<Outer>(&to_bytes(&v)),
        Err(XdrError::TooLong { len: 9, max: 8 })
    ));
}

fn inner() -> impl Strategy<Value = Inner> {
    (any::<i32>(), proptest::option::of(".{0,10}")).prop_map(|(a, b)| Inner { a, b })
}

proptest! {
    #[test]
    fn outer_round_trips(items in proptest::collection::vec(inner(), 0..4), name in "[a-z]{0,8}",
                         uuid in any::<[u8; 16]>(), big in any::<u64>(), blob in proptest::collection::vec(any::<u8>(), 0..16)) {
        let v = Outer { items, name, uuid, big, blob: Opaque(blob) };
        prop_assert_eq!(from_bytes::<Outer>(&to_bytes(&v)).unwrap(), v);
    }

    #[test]
    fn decoding_garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = from_bytes::<Outer>(&bytes);
    }
}

// SPDX-License-Identifier: LGPL-2.1-or-later
//! Byte fixtures of real client frames and header handling.
use protocol::header::{check_length, frame, frame_value, HEADER_SIZE, MESSAGE_MAX};
use protocol::remote::{self, AuthListRet, ConnectOpenArgs, DomainLookupByNameArgs};
use protocol::{Header, MessageType, RemoteProc, Status, TypedParamValue};
use xdr::{from_bytes, to_bytes, Decoder, Xdr};

/// AUTH_LIST (66) as virsh 9.0 sends it first on every connection, serial 0.
const VIRSH_AUTH_LIST: [u8; 28] = [
    0x00, 0x00, 0x00, 0x1c, 0x20, 0x00, 0x80, 0x86, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x42,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
];

#[test]
fn virsh_auth_list_frame_decodes() {
    let len = u32::from_be_bytes([
        VIRSH_AUTH_LIST[0],
        VIRSH_AUTH_LIST[1],
        VIRSH_AUTH_LIST[2],
        VIRSH_AUTH_LIST[3],
    ]);
    assert_eq!(check_length(len).unwrap(), 28);
    let h: Header = from_bytes(&VIRSH_AUTH_LIST[4..]).unwrap();
    assert_eq!(h.prog, remote::PROGRAM);
    assert_eq!(h.vers, remote::PROTOCOL_VERSION);
    assert_eq!(RemoteProc::from_i32(h.proc_), Some(RemoteProc::AuthList));
    assert_eq!(h.message_type(), Some(MessageType::Call));
    // and we build exactly the same bytes
    assert_eq!(frame(&h, &[]), VIRSH_AUTH_LIST.to_vec());
}

#[test]
fn connect_open_args_fixture() {
    // name = NULL string pointer ("" URI omitted), flags = 0
    let a = ConnectOpenArgs {
        name: Some("test:///default".into()),
        flags: 0,
    };
    let b = to_bytes(&a);
    assert_eq!(&b[..8], &[0, 0, 0, 1, 0, 0, 0, 15]);
    assert_eq!(&b[8..23], b"test:///default");
    assert_eq!(b.len(), 8 + 16 + 4);
}

#[test]
fn reply_frame_has_length_and_header() {
    let h = Header::new(remote::PROGRAM, 1, 66, MessageType::Call, 7, Status::Ok).reply(Status::Ok);
    let f = frame_value(&h, &AuthListRet { types: vec![0] });
    assert_eq!(f.len(), 4 + HEADER_SIZE + 8);
    assert_eq!(&f[..4], &(f.len() as u32).to_be_bytes());
    let h2: Header = Header::decode(&mut Decoder::new(&f[4..28])).unwrap();
    assert_eq!(h2.serial, 7);
    assert_eq!(h2.message_type(), Some(MessageType::Reply));
}

#[test]
fn length_word_bounds() {
    assert!(check_length(27).is_err());
    assert!(check_length(28).is_ok());
    assert!(check_length(MESSAGE_MAX as u32).is_ok());
    assert!(check_length(MESSAGE_MAX as u32 + 1).is_err());
    assert!(check_length(u32::MAX).is_err());
}

#[test]
fn oversized_name_is_rejected() {
    let mut b = to_bytes(&(remote::STRING_MAX + 1));
    b.extend(vec![0u8; 64]);
    assert!(from_bytes::<DomainLookupByNameArgs>(&b).is_err());
}

#[test]
fn typed_params_round_trip_each_kind() {
    for v in [
        TypedParamValue::Int(-3),
        TypedParamValue::UInt(3),
        TypedParamValue::LLong(-1 << 40),
        TypedParamValue::ULLong(1 << 60),
        TypedParamValue::Double(2.5),
        TypedParamValue::Boolean(true),
        TypedParamValue::String("x".into()),
    ] {
        let p = remote::TypedParam {
            field: "f".into(),
            value: v,
        };
        assert_eq!(from_bytes::<remote::TypedParam>(&to_bytes(&p)).unwrap(), p);
    }
    assert!(from_bytes::<TypedParamValue>(&[0, 0, 0, 9, 0, 0, 0, 0]).is_err());
}

#[test]
fn procedure_table_facts() {
    let i = RemoteProc::DomainDefineXmlFlags.info();
    assert_eq!(i.number, 350);
    assert!(!i.readonly_ok);
    assert_eq!(i.api, "virDomainDefineXMLFlags");
    assert!(RemoteProc::ConnectListAllDomains.info().readonly_ok);
    assert!(RemoteProc::DomainDestroy.info().high_priority);
    assert!(!RemoteProc::DomainCreate.info().high_priority);
    assert!(RemoteProc::from_i32(0).is_none());
    for p in RemoteProc::ALL {
        assert_eq!(RemoteProc::from_i32(p.info().number), Some(*p));
    }
}

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

/// Frames virsh 9.0 sent for `virsh domstate test`, captured on the wire.
const VIRSH_DOMSTATE_SESSION: &[&str] = &[
    "0000001c200080860000000100000042000000000000000000000000",
    "0000002020008086000000010000003c0000000000000001000000000000000a",
    "00000038200080860000000100000001000000000000000200000000000000010000000f746573743a2f2f2f64656661756c740000000000",
    "0000002020008086000000010000003c0000000000000003000000000000000e",
    "0000002020008086000000010000003c0000000000000004000000000000000f",
    "0000001c200080860000000100000168000000000000000500000000",
    "000000242000808600000001000000170000000000000006000000000000000474657374",
    "0000003c2000808600000001000000d400000000000000070000000000000004746573746695eb01f6a4830479aa97f2502e193f0000000100000000",
    "0000001c200080860000000100000169000000000000000800000000",
    "0000001c200080860000000100000002000000000000000900000000",
];

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn captured_virsh_session_decodes_with_the_procedure_tables() {
    let expect = [
        RemoteProc::AuthList,
        RemoteProc::ConnectSupportsFeature,
        RemoteProc::ConnectOpen,
        RemoteProc::ConnectSupportsFeature,
        RemoteProc::ConnectSupportsFeature,
        RemoteProc::ConnectRegisterCloseCallback,
        RemoteProc::DomainLookupByName,
        RemoteProc::DomainGetState,
        RemoteProc::ConnectUnregisterCloseCallback,
        RemoteProc::ConnectClose,
    ];
    for (i, (hex, want)) in VIRSH_DOMSTATE_SESSION.iter().zip(expect).enumerate() {
        let b = unhex(hex);
        let len = check_length(u32::from_be_bytes([b[0], b[1], b[2], b[3]])).unwrap();
        assert_eq!(len, b.len());
        let h: Header = Header::decode(&mut Decoder::new(&b[4..28])).unwrap();
        assert_eq!(h.serial, i as u32);
        let p = RemoteProc::from_i32(h.proc_).unwrap();
        assert_eq!(p, want);
        p.check_args(&b[28..])
            .unwrap_or_else(|e| panic!("{p:?}: {e}"));
        // re-encoding the decoded arguments gives back the same bytes
        if p == RemoteProc::ConnectOpen {
            let a: ConnectOpenArgs = from_bytes(&b[28..]).unwrap();
            assert_eq!(a.name.as_deref(), Some("test:///default"));
            assert_eq!(a.flags, 0);
            assert_eq!(to_bytes(&a), b[28..].to_vec());
        }
        if p == RemoteProc::DomainGetState {
            let a: remote::DomainGetStateArgs = from_bytes(&b[28..]).unwrap();
            assert_eq!(a.dom.name, "test");
            assert_eq!(a.dom.id, 1);
            assert_eq!(to_bytes(&a), b[28..].to_vec());
        }
    }
}

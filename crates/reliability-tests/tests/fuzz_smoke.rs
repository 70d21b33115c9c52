// SPDX-License-Identifier: LGPL-2.1-or-later
//! The fuzz targets replayed as plain tests: every seed (the conformance
//! corpus, hand-made frames, every procedure number) and a fixed number of
//! deterministic mutations of them, plus every input kept in
//! `tests/regressions/TARGET/` (crashes the fuzzer found, after the fix).
//! The long runs are `cargo fuzz run TARGET` (scripts/fuzz-smoke.sh,
//! RELIABILITY.md).

use std::path::{Path, PathBuf};

use protocol::header::{frame, frame_value, Header, MessageType, Status};
use protocol::remote as r;
use protocol::{AdminProc, LxcProc, RemoteProc};
use reliability_tests::mutate::replay;
use reliability_tests::targets;

/// Mutations per target: enough to leave the seeds' happy paths, few
/// enough for CI (debug build).
const ROUNDS: usize = 3000;

fn corpus_dir(sub: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/conformance/libvirt-9.6")
        .join(sub)
}

/// Files of a corpus directory whose names end with one of `exts`.
fn files(sub: &str, exts: &[&str]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(corpus_dir(sub)) else {
        return out;
    };
    let mut paths: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
    paths.sort();
    for p in paths {
        let name = p.to_string_lossy().to_string();
        if exts.iter().any(|e| name.ends_with(e)) {
            if let Ok(b) = std::fs::read(&p) {
                out.push(b);
            }
        }
    }
    out
}

/// Inputs kept for `target` under tests/regressions/.
fn regressions(target: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/regressions")
        .join(target);
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            if let Ok(b) = std::fs::read(e.path()) {
                out.push(b);
            }
        }
    }
    out
}

fn run(target: &str, mut seeds: Vec<Vec<u8>>) {
    let f = targets::ALL
        .iter()
        .find(|(n, _)| *n == target)
        .map(|(_, f)| *f)
        .unwrap_or_else(|| panic!("no target {target}"));
    for reg in regressions(target) {
        f(&reg);
    }
    seeds.push(Vec::new());
    let n = replay(f, &seeds, ROUNDS, 0x5eed_0000 + target.len() as u64);
    assert!(n > ROUNDS, "{target}: only {n} inputs ran");
}

fn call(proc_: i32, serial: u32, payload: &[u8]) -> Vec<u8> {
    let h = Header::new(
        r::PROGRAM,
        r::PROTOCOL_VERSION,
        proc_,
        MessageType::Call,
        serial,
        Status::Ok,
    );
    frame(&h, payload)
}

fn test_dom() -> r::NonnullDomain {
    r::NonnullDomain {
        name: "test".into(),
        uuid: [
            0x66, 0x95, 0xeb, 0x01, 0xf6, 0xa4, 0x83, 0x04, 0x79, 0xaa, 0x97, 0xf2, 0x50, 0x2e,
            0x19, 0x3f,
        ],
        id: 1,
    }
}

/// A session of calls as virsh makes them, one frame after another, on
/// domain "fz" (the fuzzing tests' seed).
fn session() -> Vec<u8> {
    session_of("fz", 0x11)
}

/// The same session on domain `name`, whose UUID is made of `byte`. The
/// test driver's `test:///default` is shared by the whole test process,
/// so a test that checks the outcomes uses a domain no seed touches.
fn session_of(name: &str, byte: u8) -> Vec<u8> {
    let uuid = [byte; 16];
    let xml = format!(
        "<domain type='test'><name>{name}</name><uuid>{}</uuid><memory>1024</memory><os><type>hvm</type></os></domain>",
        conf::Uuid(uuid)
    );
    let fz = r::NonnullDomain {
        name: name.into(),
        uuid,
        id: -1,
    };
    let mut s = vec![0u8];
    s.extend(call(
        RemoteProc::DomainDefineXml as i32,
        1,
        &xdr::to_bytes(&r::DomainDefineXmlArgs { xml }),
    ));
    s.extend(call(
        RemoteProc::DomainLookupByName as i32,
        2,
        &xdr::to_bytes(&r::DomainLookupByNameArgs { name: name.into() }),
    ));
    s.extend(call(
        RemoteProc::ConnectListAllDomains as i32,
        3,
        &xdr::to_bytes(&r::ConnectListAllDomainsArgs {
            need_results: 1,
            flags: 0,
        }),
    ));
    s.extend(call(
        RemoteProc::DomainCreate as i32,
        4,
        &xdr::to_bytes(&r::DomainCreateArgs { dom: fz.clone() }),
    ));
    s.extend(call(
        RemoteProc::DomainDestroy as i32,
        5,
        &xdr::to_bytes(&r::DomainDestroyArgs { dom: fz.clone() }),
    ));
    s.extend(call(
        RemoteProc::DomainUndefine as i32,
        6,
        &xdr::to_bytes(&r::DomainUndefineArgs { dom: fz }),
    ));
    s
}

#[test]
fn dispatch_target_reaches_the_test_driver() {
    let got = targets::dispatch_outcomes(&session_of("fz-outcomes", 0x77));
    let procs: Vec<i32> = got.iter().map(|(p, _)| *p).collect();
    assert_eq!(
        procs,
        [11, 23, 273, 9, 12, 35],
        "every frame of the session is a call"
    );
    assert!(got.iter().all(|(_, e)| *e == 0), "{got:?}");
    // The same session on a read-only connection: the define is refused
    // before decoding, the list answers.
    let mut ro = session_of("fz-outcomes", 0x77);
    ro[0] = 0x80;
    let got = targets::dispatch_outcomes(&ro);
    assert_eq!(got[0], (11, protocol::ErrorCode::OperationDenied as i32));
    assert_eq!(got[2], (273, 0));
}

#[test]
fn frame_target_survives_seeds_and_mutations() {
    let mut seeds = vec![session()[1..].to_vec()];
    let ka = Header::new(
        protocol::keepalive::PROGRAM,
        1,
        1,
        MessageType::Message,
        0,
        Status::Ok,
    );
    seeds.push(frame_value(&ka, &()));
    // A length word at the 32 MiB limit and one past it.
    seeds.push([0x02, 0, 0, 0].iter().copied().chain([0; 24]).collect());
    seeds.push([0x02, 0, 0, 1].iter().copied().chain([0; 24]).collect());
    run("frame", seeds);
}

#[test]
fn proc_args_target_covers_every_procedure() {
    let total = RemoteProc::ALL.len() + AdminProc::ALL.len() + LxcProc::ALL.len();
    let dom = xdr::to_bytes(&test_dom());
    let mut seeds = Vec::new();
    for i in 0..total {
        let sel = u16::try_from(i).unwrap_or(0).to_be_bytes();
        seeds.push(sel.to_vec());
        seeds.push(sel.iter().copied().chain([0u8; 64]).collect());
        seeds.push(sel.iter().copied().chain(dom.iter().copied()).collect());
        seeds.push(sel.iter().copied().chain([0xffu8; 16]).collect());
    }
    run("proc_args", seeds);
}

#[test]
fn dispatch_target_covers_every_procedure_read_write_and_read_only() {
    let dom = xdr::to_bytes(&test_dom());
    let mut seeds = vec![session()];
    let mut ro = session();
    ro[0] = 0x80;
    seeds.push(ro);
    for (n, p) in RemoteProc::ALL.iter().enumerate() {
        let num = *p as i32;
        for flag in [0u8, 0x80] {
            let mut s = vec![flag];
            s.extend(call(num, 1, &[]));
            s.extend(call(
                num,
                2,
                &dom.iter().copied().chain([0u8; 32]).collect::<Vec<_>>(),
            ));
            s.extend(call(num, 3, &[0xff; 40]));
            // Keep the seed list small: the same frames for the read-only
            // flag only every fourth procedure.
            if flag == 0 || n % 4 == 0 {
                seeds.push(s);
            }
        }
    }
    run("dispatch", seeds);
}

#[test]
fn domain_xml_target_survives_the_corpus_and_mutations() {
    let mut seeds = files(
        "examples-test",
        &[
            "testdomfc4.xml",
            "testdomfc5.xml",
            "testdomfv0.xml",
            "testnode.xml",
        ],
    );
    seeds.extend(files("domainschemadata", &[".xml"]));
    seeds.extend(files("genericxml2xmlindata", &[".xml"]));
    seeds.extend(files("lxcxml2xmldata", &[".xml"]));
    assert!(seeds.len() > 20, "conformance corpus missing");
    run("domain_xml", seeds);
}

#[test]
fn network_xml_target_survives_the_corpus_and_mutations() {
    let seeds = files(
        "examples-test",
        &["testnetdef.xml", "testnetpriv.xml", "testnode.xml"],
    );
    assert!(!seeds.is_empty(), "conformance corpus missing");
    run("network_xml", seeds);
}

#[test]
fn storage_xml_target_survives_the_corpus_and_mutations() {
    let seeds = files("examples-test", &["testpool.xml", "testvol.xml"]);
    assert!(!seeds.is_empty(), "conformance corpus missing");
    run("storage_xml", seeds);
}

#[test]
fn virconf_target_survives_the_corpus_and_mutations() {
    let mut seeds = files("virconfdata", &[".conf", ".cfg", ""]);
    seeds.extend(files("xlconfigdata", &[".cfg"]).into_iter().take(20));
    seeds.extend(files("lxcconf2xmldata", &[".config"]).into_iter().take(10));
    assert!(!seeds.is_empty(), "conformance corpus missing");
    run("virconf", seeds);
}

#[test]
fn lxc_native_target_survives_the_corpus_and_mutations() {
    let seeds = files("lxcconf2xmldata", &[".config"]);
    assert!(seeds.len() > 10, "conformance corpus missing");
    run("lxc_native", seeds);
}

#[test]
fn xen_native_target_survives_the_corpus_and_mutations() {
    let mut seeds = files("xlconfigdata", &[".cfg"]);
    seeds.extend(files("xmconfigdata", &[".cfg"]));
    assert!(seeds.len() > 20, "conformance corpus missing");
    run("xen_native", seeds);
}

#[test]
fn auth_target_survives_every_procedure_order_and_garbage() {
    // Layout: scheme/transport byte, then (procedure, u16 length, data).
    fn step(p: u8, data: &[u8]) -> Vec<u8> {
        let mut v = vec![p];
        v.extend_from_slice(&u16::try_from(data.len()).unwrap_or(0).to_be_bytes());
        v.extend_from_slice(data);
        v
    }
    let start = |mech: &str, data: &[u8]| {
        xdr::to_bytes(&r::AuthSaslStartArgs {
            mech: mech.into(),
            nil: 0,
            data: data.iter().map(|&b| b as i8).collect(),
        })
    };
    let step_args = |data: &[u8]| {
        xdr::to_bytes(&r::AuthSaslStepArgs {
            nil: 0,
            data: data.iter().map(|&b| b as i8).collect(),
        })
    };
    let mut seeds = Vec::new();
    for head in 0u8..6 {
        // list, init, start with each common mechanism, steps, polkit.
        for mech in [
            "DIGEST-MD5",
            "SCRAM-SHA-256",
            "PLAIN",
            "ANONYMOUS",
            "GSSAPI",
            "LOGIN",
        ] {
            let mut s = vec![head];
            s.extend(step(0, &[]));
            s.extend(step(1, &[]));
            s.extend(step(2, &start(mech, b"alice\0alice\0secret")));
            s.extend(step(
                3,
                &step_args(b"username=\"alice\",realm=\"x\",nonce=\"n\""),
            ));
            s.extend(step(3, &step_args(&[0xff; 40])));
            s.extend(step(4, &[]));
            seeds.push(s);
        }
        // A step before init, a second init, oversized data.
        let mut s = vec![head];
        s.extend(step(3, &step_args(b"x")));
        s.extend(step(1, &[]));
        s.extend(step(1, &[]));
        s.extend(step(2, &[0xff; 300]));
        seeds.push(s);
    }
    run("auth", seeds);
}

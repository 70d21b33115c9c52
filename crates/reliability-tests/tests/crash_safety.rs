// SPDX-License-Identifier: LGPL-2.1-or-later
//! Crash safety of stored state: several clients define, redefine and
//! undefine LXC domains (definitions only, nothing is started) in a tight
//! loop while the daemon is killed with SIGKILL at random moments and
//! started again, many times. After each restart every definition the
//! daemon acknowledged is there with the content acknowledged last,
//! nothing acknowledged as removed came back, and every file in the config
//! directory is a whole definition.
// The client's error type is the wire error, large by nature.
#![allow(clippy::result_large_err)]

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use protocol::remote as r;
use protocol::{ErrorCode, RemoteProc};
use reliability_tests::harness::*;
use reliability_tests::mutate::Rng;
use rpc::client::{ClientError, RpcClient};

const URI: &str = "lxc:///system";
const CLIENTS: usize = 4;
const NAMES_PER_CLIENT: usize = 6;

/// What a name may be after a crash: `None` = undefined, `Some(g)` =
/// defined with generation `g` in its description.
type Allowed = BTreeSet<Option<u32>>;

fn name(client: usize, k: usize) -> String {
    format!("cs{client}x{k}")
}

fn uuid(client: usize, k: usize) -> [u8; 16] {
    let mut u = [0u8; 16];
    u[0] = 0xc5;
    u[1] = u8::try_from(client).unwrap_or(0);
    u[2] = u8::try_from(k).unwrap_or(0);
    u[6] = 0x40;
    u[8] = 0x80;
    u
}

fn uuid_str(u: &[u8; 16]) -> String {
    let h: Vec<String> = u.iter().map(|b| format!("{b:02x}")).collect();
    let h = h.concat();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

fn xml(client: usize, k: usize, generation: u32) -> String {
    format!(
        "<domain type='lxc'><name>{}</name><uuid>{}</uuid>\
         <description>generation {generation}</description>\
         <memory unit='KiB'>65536</memory>\
         <os><type>exe</type><init>/bin/sh</init></os>\
         <devices><console type='pty'/></devices></domain>",
        name(client, k),
        uuid_str(&uuid(client, k))
    )
}

fn dom_ref(client: usize, k: usize) -> r::NonnullDomain {
    r::NonnullDomain {
        name: name(client, k),
        uuid: uuid(client, k),
        id: -1,
    }
}

/// The generation stored for a name, or None if it is not defined.
fn stored(c: &mut RpcClient, client: usize, k: usize) -> Option<u32> {
    let got: Result<r::DomainLookupByNameRet, _> = c.call(
        RemoteProc::DomainLookupByName as i32,
        &r::DomainLookupByNameArgs {
            name: name(client, k),
        },
    );
    match got {
        Ok(_) => {}
        Err(ClientError::Remote(e)) if e.code == ErrorCode::NoDomain as i32 => return None,
        Err(e) => panic!("lookup {}: {e}", name(client, k)),
    }
    let x: r::DomainGetXmlDescRet = c
        .call(
            RemoteProc::DomainGetXmlDesc as i32,
            &r::DomainGetXmlDescArgs {
                dom: dom_ref(client, k),
                flags: 0,
            },
        )
        .unwrap_or_else(|e| panic!("xml of {}: {e}", name(client, k)));
    let g = x
        .xml
        .split("<description>generation ")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .and_then(|s| s.parse().ok());
    assert!(g.is_some(), "definition without its description: {}", x.xml);
    g
}

/// One client's loop: random defines (new generation) and undefines on
/// its own names until the daemon goes away. `allowed` is updated before
/// each call (old or new outcome possible) and after its answer (only
/// the new one).
fn client_loop(
    sock: &Path,
    client: usize,
    seed: u64,
    allowed: &Mutex<HashMap<(usize, usize), Allowed>>,
    next_gen: &Mutex<u32>,
) -> usize {
    let Ok(mut c) = open(sock, URI) else { return 0 };
    let mut rng = Rng::new(seed);
    let mut acked = 0;
    loop {
        let k = rng.below(NAMES_PER_CLIENT);
        let define = rng.below(3) != 0;
        let target = if define {
            let mut g = next_gen.lock().unwrap_or_else(|p| p.into_inner());
            *g += 1;
            Some(*g)
        } else {
            None
        };
        {
            let mut a = allowed.lock().unwrap_or_else(|p| p.into_inner());
            a.entry((client, k)).or_default().insert(target);
        }
        let res = match target {
            Some(g) => c
                .call::<_, r::DomainDefineXmlRet>(
                    RemoteProc::DomainDefineXml as i32,
                    &r::DomainDefineXmlArgs {
                        xml: xml(client, k, g),
                    },
                )
                .map(|_| ()),
            None => c.call::<_, ()>(
                RemoteProc::DomainUndefine as i32,
                &r::DomainUndefineArgs {
                    dom: dom_ref(client, k),
                },
            ),
        };
        match res {
            Ok(()) => {
                let mut a = allowed.lock().unwrap_or_else(|p| p.into_inner());
                a.insert((client, k), [target].into_iter().collect());
                acked += 1;
            }
            // Undefining what is not defined: nothing changed.
            Err(ClientError::Remote(e)) if e.code == ErrorCode::NoDomain as i32 => {
                let mut a = allowed.lock().unwrap_or_else(|p| p.into_inner());
                a.insert((client, k), [None].into_iter().collect());
            }
            Err(ClientError::Remote(e)) => panic!("{}: {e}", name(client, k)),
            // The daemon was killed: the outcome stays open.
            Err(_) => return acked,
        }
    }
}

/// Every file of the config directory is a whole definition of the
/// domain its name says; temporary files are never taken for one.
fn check_files(config_dir: &Path) -> usize {
    let mut temps = 0;
    let Ok(rd) = std::fs::read_dir(config_dir) else {
        return 0;
    };
    for e in rd.flatten() {
        let f = e.file_name().to_string_lossy().to_string();
        let p = e.path();
        if p.is_dir() {
            continue;
        }
        let Some(stem) = f.strip_suffix(".xml") else {
            temps += 1;
            continue;
        };
        let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{f}: {e}"));
        let def = conf::DomainDef::parse_str(
            &text,
            &conf::ParseFlags {
                inactive: true,
                validate_schema: false,
            },
        )
        .unwrap_or_else(|e| panic!("{f} is not a whole definition: {e}\n{text}"));
        assert_eq!(def.name, stem, "{f} holds another domain");
    }
    temps
}

#[test]
fn acknowledged_definitions_survive_sigkill_at_random_moments() {
    if !is_root() {
        skip("virtlxcd runs only as root");
        return;
    }
    let rounds: usize = std::env::var("RELIAB_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let t = TempDir::new("crash");
    let spec = Spec::new("virtlxcd", &t, "");
    let config_dir = t.join("root/etc/libvirt/lxc");
    let allowed: Arc<Mutex<HashMap<(usize, usize), Allowed>>> = Arc::default();
    let next_gen = Arc::new(Mutex::new(0u32));
    let mut rng = Rng::new(0xc4a5_4001);
    let mut total_acked = 0;
    for round in 0..rounds {
        let mut d = spec.start();
        // The state left by the previous kill.
        let mut c = open(&spec.ready, URI).unwrap_or_else(|e| panic!("open: {e}"));
        for client in 0..CLIENTS {
            for k in 0..NAMES_PER_CLIENT {
                let got = stored(&mut c, client, k);
                let mut a = allowed.lock().unwrap_or_else(|p| p.into_inner());
                let ok = a
                    .get(&(client, k))
                    .map_or(got.is_none(), |s| s.contains(&got));
                assert!(
                    ok,
                    "round {round}: {} is {got:?}, acknowledged states {:?}",
                    name(client, k),
                    a.get(&(client, k))
                );
                a.insert((client, k), [got].into_iter().collect());
            }
        }
        drop(c);
        let temps = check_files(&config_dir);
        // Start-up removed what the kill left mid-write.
        assert_eq!(
            temps,
            0,
            "round {round}: temporary files left: {:?}",
            std::fs::read_dir(&config_dir)
                .map(|d| d.flatten().map(|e| e.file_name()).collect::<Vec<_>>())
        );

        let threads: Vec<_> = (0..CLIENTS)
            .map(|client| {
                let sock = spec.ready.clone();
                let allowed = allowed.clone();
                let next_gen = next_gen.clone();
                let seed = rng.next_u64();
                std::thread::spawn(move || client_loop(&sock, client, seed, &allowed, &next_gen))
            })
            .collect();
        std::thread::sleep(Duration::from_millis(20 + (rng.next_u64() % 300)));
        d.kill9();
        for th in threads {
            total_acked += th
                .join()
                .unwrap_or_else(|_| panic!("client thread panicked"));
        }
    }
    eprintln!("{rounds} kills, {total_acked} acknowledged changes");
    assert!(
        total_acked > rounds,
        "the clients hardly ran: {total_acked}"
    );
}

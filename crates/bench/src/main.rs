// SPDX-License-Identifier: LGPL-2.1-or-later
//! `rpc-bench`: the benchmark's second client, built on the project's own
//! blocking `rpc::client::RpcClient` instead of libvirt's C client library.
//!
//! It measures the same things as `benches/bench.py` (cheap calls, 8 and 100
//! concurrent connections, define/undefine, listAllDomains) against any
//! daemon that speaks the remote protocol on a Unix socket, so the cost of
//! the client can be told apart from the cost of the daemon. It prints one
//! JSON object on stdout and progress on stderr.
//!
//! Depends only on `rpc`, `protocol` and `xdr`; it never links a driver, so
//! it measures the daemon across the socket exactly as other clients do.
//! Every domain it defines is named `rsbench-<pid>-...` and is undefined
//! again before it exits, also when a step fails.
//!
//! `rpc-bench --echo-floor` measures what no daemon can go below on this
//! machine: the CPU a minimal blocking server (a child process: one read,
//! one write per request, no protocol at all) spends per round trip of a
//! getLibVersion-sized request over a Unix socket. On virtual machines
//! where sleeping and waking a thread is expensive, that floor is most of
//! a cheap call's cost.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use protocol::remote as r;
use protocol::RemoteProc;
use rpc::client::RpcClient;
use serde_json::{json, Value};

struct Opts {
    socket: PathBuf,
    uri: String,
    pid: Option<u32>,
    quick: bool,
    skip: Vec<String>,
}

fn usage() -> ! {
    eprintln!(
        "usage: rpc-bench --socket PATH [--uri test:///default] [--pid PID] [--quick] [--skip a,b]\n\
         \x20      rpc-bench --echo-floor [--quick]\n\
         sections: cheap, conc, defundef, list"
    );
    std::process::exit(2)
}

fn parse_args() -> Opts {
    let mut o = Opts {
        socket: PathBuf::new(),
        uri: "test:///default".into(),
        pid: None,
        quick: false,
        skip: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--socket" => o.socket = it.next().unwrap_or_else(|| usage()).into(),
            "--uri" => o.uri = it.next().unwrap_or_else(|| usage()),
            "--pid" => {
                o.pid = Some(
                    it.next()
                        .and_then(|p| p.parse().ok())
                        .unwrap_or_else(|| usage()),
                )
            }
            "--quick" => o.quick = true,
            "--skip" => {
                o.skip = it
                    .next()
                    .unwrap_or_else(|| usage())
                    .split(',')
                    .map(str::to_owned)
                    .collect()
            }
            _ => usage(),
        }
    }
    if o.socket.as_os_str().is_empty() {
        usage()
    }
    o
}

/// A remote-program connection with the driver opened.
fn open(o: &Opts) -> Result<RpcClient> {
    let mut c = RpcClient::connect(&o.socket, r::PROGRAM, r::PROTOCOL_VERSION)
        .with_context(|| format!("connect {}", o.socket.display()))?;
    c.call::<_, ()>(
        RemoteProc::ConnectOpen as i32,
        &r::ConnectOpenArgs {
            name: Some(o.uri.clone()),
            flags: 0,
        },
    )
    .context("open connection")?;
    Ok(c)
}

fn lib_version(c: &mut RpcClient) -> Result<u64> {
    let v: r::ConnectGetLibVersionRet = c.call(RemoteProc::ConnectGetLibVersion as i32, &())?;
    Ok(v.lib_ver)
}

fn lookup(c: &mut RpcClient, name: &str) -> Result<r::NonnullDomain> {
    let v: r::DomainLookupByNameRet = c.call(
        RemoteProc::DomainLookupByName as i32,
        &r::DomainLookupByNameArgs { name: name.into() },
    )?;
    Ok(v.dom)
}

fn define(c: &mut RpcClient, name: &str) -> Result<r::NonnullDomain> {
    let xml = format!(
        "<domain type='test'><name>{name}</name><memory unit='MiB'>128</memory>\
         <vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os></domain>"
    );
    let v: r::DomainDefineXmlRet = c.call(
        RemoteProc::DomainDefineXml as i32,
        &r::DomainDefineXmlArgs { xml },
    )?;
    Ok(v.dom)
}

fn undefine(c: &mut RpcClient, dom: &r::NonnullDomain) -> Result<()> {
    c.call::<_, ()>(
        RemoteProc::DomainUndefine as i32,
        &r::DomainUndefineArgs { dom: dom.clone() },
    )?;
    Ok(())
}

fn list_all(c: &mut RpcClient) -> Result<Vec<r::NonnullDomain>> {
    let v: r::ConnectListAllDomainsRet = c.call(
        RemoteProc::ConnectListAllDomains as i32,
        &r::ConnectListAllDomainsArgs {
            need_results: 1,
            flags: 0,
        },
    )?;
    Ok(v.domains)
}

/// utime + stime of all threads of `pid`, in clock ticks.
fn cpu_ticks(pid: Option<u32>) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{}/stat", pid?)).ok()?;
    let rest = text.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

/// Clock ticks per second; Linux reports utime/stime in USER_HZ, 100 on
/// every architecture this project builds for.
const TICKS_PER_S: f64 = 100.0;

fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn summary(v: &[f64]) -> Value {
    let mut s = v.to_vec();
    let med = median(&mut s);
    json!({
        "min": s.first().copied().unwrap_or(f64::NAN),
        "median": med,
        "max": s.last().copied().unwrap_or(f64::NAN),
        "n": s.len(),
    })
}

fn round(x: f64, digits: i32) -> f64 {
    let m = 10f64.powi(digits);
    (x * m).round() / m
}

/// Runs `reps` batches of `calls` round trips; returns the calls per
/// second of each batch and the median CPU per call of process `pid`
/// (microseconds), when it can be read.
fn timed_batches(
    reps: usize,
    calls: u32,
    pid: Option<u32>,
    mut call: impl FnMut() -> Result<()>,
) -> Result<(Vec<f64>, Option<f64>)> {
    let mut rates = Vec::new();
    let mut cpu_us = Vec::new();
    for _ in 0..reps {
        let d0 = cpu_ticks(pid);
        let t0 = Instant::now();
        for _ in 0..calls {
            call()?;
        }
        let dt = t0.elapsed().as_secs_f64();
        let d1 = cpu_ticks(pid);
        rates.push(f64::from(calls) / dt);
        if let (Some(a), Some(b)) = (d0, d1) {
            cpu_us.push((b - a) as f64 / TICKS_PER_S / f64::from(calls) * 1e6);
        }
    }
    let cpu = (!cpu_us.is_empty()).then(|| round(median(&mut cpu_us), 2));
    Ok((rates, cpu))
}

fn cheap(o: &Opts, c: &mut RpcClient, lookup_name: &str) -> Result<Value> {
    let reps = if o.quick { 2 } else { 5 };
    let calls: u32 = if o.quick { 2000 } else { 10000 };
    let mut out = serde_json::Map::new();
    for label in ["getLibVersion", "lookupByName"] {
        let (rates, cpu) = timed_batches(reps, calls, o.pid, || {
            if label == "getLibVersion" {
                lib_version(c).map(drop)
            } else {
                lookup(c, lookup_name).map(drop)
            }
        })?;
        eprintln!(
            "cheap {label}: {:.0} calls/s, daemon {cpu:?} us/call",
            median(&mut rates.clone())
        );
        out.insert(
            label.into(),
            json!({
                "calls": calls,
                "calls_per_s": summary(&rates.iter().map(|x| x.round()).collect::<Vec<_>>()),
                "daemon_cpu_us_per_call": cpu,
            }),
        );
    }
    Ok(Value::Object(out))
}

/// `clients` connections, one thread each, `calls` getLibVersion each.
fn concurrent(o: &Opts, clients: usize, calls: usize) -> Result<Value> {
    let reps = if o.quick { 1 } else { 3 };
    let mut rates = Vec::new();
    let mut p50 = Vec::new();
    let mut p99 = Vec::new();
    let mut daemon_us = Vec::new();
    for _ in 0..reps {
        let mut conns = Vec::with_capacity(clients);
        for _ in 0..clients {
            let mut c = open(o)?;
            lib_version(&mut c)?;
            conns.push(c);
        }
        let barrier = Arc::new(Barrier::new(clients + 1));
        let handles: Vec<_> = conns
            .into_iter()
            .map(|mut c| {
                let barrier = Arc::clone(&barrier);
                std::thread::spawn(move || -> Result<(Instant, Instant, Vec<Duration>)> {
                    let mut lat = Vec::with_capacity(calls);
                    barrier.wait();
                    let t0 = Instant::now();
                    for _ in 0..calls {
                        let a = Instant::now();
                        lib_version(&mut c)?;
                        lat.push(a.elapsed());
                    }
                    Ok((t0, Instant::now(), lat))
                })
            })
            .collect();
        let d0 = cpu_ticks(o.pid);
        barrier.wait();
        let mut all = Vec::with_capacity(clients * calls);
        let mut start: Option<Instant> = None;
        let mut end: Option<Instant> = None;
        for h in handles {
            let (a, b, lat) = h.join().map_err(|_| anyhow!("client thread panicked"))??;
            start = Some(start.map_or(a, |s| s.min(a)));
            end = Some(end.map_or(b, |e| e.max(b)));
            all.extend(lat);
        }
        let d1 = cpu_ticks(o.pid);
        let (Some(start), Some(end)) = (start, end) else {
            bail!("no client threads");
        };
        all.sort();
        let total = (clients * calls) as f64;
        rates.push(total / (end - start).as_secs_f64());
        p50.push(percentile(&all, 50.0).as_secs_f64() * 1e3);
        p99.push(percentile(&all, 99.0).as_secs_f64() * 1e3);
        if let (Some(a), Some(b)) = (d0, d1) {
            daemon_us.push((b - a) as f64 / TICKS_PER_S / total * 1e6);
        }
    }
    let rate = median(&mut rates.clone());
    let p99m = median(&mut p99);
    eprintln!("conc {clients}x{calls}: {rate:.0} calls/s, p99 {p99m:.3} ms");
    Ok(json!({
        "clients": clients,
        "calls_each": calls,
        "calls_per_s": summary(&rates.iter().map(|x| x.round()).collect::<Vec<_>>()),
        "p50_ms": round(median(&mut p50), 3),
        "p99_ms": round(p99m, 3),
        "daemon_cpu_us_per_call": (!daemon_us.is_empty()).then(|| round(median(&mut daemon_us), 2)),
    }))
}

fn define_undefine(
    o: &Opts,
    c: &mut RpcClient,
    prefix: &str,
    defined: &mut Vec<r::NonnullDomain>,
) -> Result<Value> {
    let reps = if o.quick { 1 } else { 3 };
    let mut def_s = Vec::new();
    let mut undef_s = Vec::new();
    let base = defined.len();
    for rep in 0..reps {
        let t0 = Instant::now();
        for i in 0..1000 {
            defined.push(define(c, &format!("{prefix}-du{rep}-{i}"))?);
        }
        let t1 = Instant::now();
        while defined.len() > base {
            if let Some(d) = defined.last() {
                undefine(c, d)?;
            }
            defined.pop();
        }
        let t2 = Instant::now();
        def_s.push(round((t1 - t0).as_secs_f64(), 4));
        undef_s.push(round((t2 - t1).as_secs_f64(), 4));
    }
    eprintln!(
        "defundef 1000: define {:.3} s, undefine {:.3} s",
        median(&mut def_s.clone()),
        median(&mut undef_s.clone())
    );
    Ok(json!({"domains": 1000, "define_s": summary(&def_s), "undefine_s": summary(&undef_s)}))
}

fn time_list(o: &Opts, c: &mut RpcClient, reps: usize) -> Result<Value> {
    let mut ms = Vec::new();
    let mut n = 0;
    let d0 = cpu_ticks(o.pid);
    for _ in 0..reps {
        let t0 = Instant::now();
        let doms = list_all(c)?;
        ms.push(round(t0.elapsed().as_secs_f64() * 1e3, 3));
        n = doms.len();
    }
    let d1 = cpu_ticks(o.pid);
    // reps is never 0 here
    let cpu = match (d0, d1) {
        (Some(a), Some(b)) => Some(round((b - a) as f64 / TICKS_PER_S / reps as f64 * 1e3, 3)),
        _ => None,
    };
    Ok(json!({"returned": n, "ms": summary(&ms), "daemon_cpu_ms_per_call": cpu}))
}

fn list(
    o: &Opts,
    c: &mut RpcClient,
    prefix: &str,
    defined: &mut Vec<r::NonnullDomain>,
) -> Result<Value> {
    let base = defined.len();
    let have = list_all(c)?.len().saturating_sub(base);
    let mut i = 0;
    while have + defined.len() < 1000 {
        defined.push(define(c, &format!("{prefix}-{i}"))?);
        i += 1;
    }
    let with_1000 = time_list(o, c, if o.quick { 3 } else { 20 })?;
    eprintln!("list 1000: {} ms", with_1000["ms"]["median"]);
    while have + defined.len() < 10000 {
        defined.push(define(c, &format!("{prefix}-{i}"))?);
        i += 1;
    }
    let with_10000 = time_list(o, c, if o.quick { 5 } else { 20 })?;
    eprintln!("list 10000: {} ms", with_10000["ms"]["median"]);
    while defined.len() > base {
        if let Some(d) = defined.last() {
            undefine(c, d)?;
        }
        defined.pop();
    }
    Ok(json!({"with_1000": with_1000, "with_10000": with_10000}))
}

fn run(
    o: &Opts,
    c: &mut RpcClient,
    res: &mut serde_json::Map<String, Value>,
    defined: &mut Vec<r::NonnullDomain>,
) -> Result<()> {
    let prefix = format!("rsbench-{}", std::process::id());
    let lookup_name = format!("{prefix}-lookup");
    defined.push(define(c, &lookup_name)?);
    let skip = |s: &str| o.skip.iter().any(|x| x == s);
    if !skip("cheap") {
        res.insert("cheap".into(), cheap(o, c, &lookup_name)?);
    }
    if !skip("conc") {
        res.insert(
            "conc8".into(),
            concurrent(o, 8, if o.quick { 500 } else { 2000 })?,
        );
        res.insert(
            "conc100".into(),
            concurrent(o, 100, if o.quick { 50 } else { 200 })?,
        );
    }
    if !skip("defundef") {
        res.insert("defundef".into(), define_undefine(o, c, &prefix, defined)?);
    }
    if !skip("list") {
        res.insert("list".into(), list(o, c, &prefix, defined)?);
    }
    Ok(())
}

/// Bytes of a getLibVersion call and of its reply on the wire.
const CALL_BYTES: usize = 28;
const REPLY_BYTES: usize = 36;

/// The child of `--echo-floor`: answers every read with one reply.
fn echo_server(path: &str) -> Result<()> {
    use std::io::{Read, Write};
    let l = std::os::unix::net::UnixListener::bind(path).context("bind")?;
    println!("ready");
    let (mut s, _) = l.accept().context("accept")?;
    let mut buf = [0u8; 4096];
    loop {
        let n = s.read(&mut buf).context("read")?;
        if n == 0 {
            return Ok(());
        }
        s.write_all(&[0u8; REPLY_BYTES]).context("write")?;
    }
}

fn echo_floor(quick: bool) -> Result<Value> {
    use std::io::{BufRead, Read, Write};
    let dir = std::env::temp_dir().join(format!("rpc-bench-floor-{}", std::process::id()));
    std::fs::create_dir_all(&dir).context("temp dir")?;
    let path = dir.join("sock");
    let exe = std::env::current_exe().context("own path")?;
    let mut child = std::process::Command::new(exe)
        .arg("--echo-server")
        .arg(&path)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .context("spawn echo server")?;
    let result = (|| -> Result<Value> {
        let out = child.stdout.take().ok_or_else(|| anyhow!("no stdout"))?;
        let mut line = String::new();
        std::io::BufReader::new(out).read_line(&mut line)?;
        let mut s = std::os::unix::net::UnixStream::connect(&path).context("connect")?;
        let pid = Some(child.id());
        let (reps, calls) = if quick { (2, 2000u32) } else { (5, 10000u32) };
        let mut reply = [0u8; REPLY_BYTES];
        let (rates, us) = timed_batches(reps, calls, pid, || {
            s.write_all(&[0u8; CALL_BYTES])?;
            s.read_exact(&mut reply)?;
            Ok(())
        })?;
        eprintln!(
            "echo floor: {:.0} round trips/s, server {us:?} us/round trip",
            median(&mut rates.clone())
        );
        Ok(json!({
            "round_trips_per_s": summary(&rates.iter().map(|x| x.round()).collect::<Vec<_>>()),
            "server_cpu_us_per_round_trip": us,
        }))
    })();
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("--echo-server") => {
            return echo_server(args.get(2).ok_or_else(|| anyhow!("socket path missing"))?);
        }
        Some("--echo-floor") => {
            let quick = args.iter().any(|a| a == "--quick");
            let floor = echo_floor(quick)?;
            println!(
                "{}",
                serde_json::to_string_pretty(&json!({ "echo_floor": floor }))?
            );
            return Ok(());
        }
        _ => {}
    }
    let o = parse_args();
    let mut c = open(&o)?;
    let mut res = serde_json::Map::new();
    res.insert("driver".into(), json!("rpc-bench"));
    res.insert("socket".into(), json!(o.socket.display().to_string()));
    res.insert("lib_version".into(), json!(lib_version(&mut c)?));
    let mut defined = Vec::new();
    let outcome = run(&o, &mut c, &mut res, &mut defined);
    // clean up whatever is still defined, also after a failure
    for d in &defined {
        let _ = undefine(&mut c, d);
    }
    outcome?;
    println!("{}", serde_json::to_string_pretty(&Value::Object(res))?);
    Ok(())
}

// SPDX-License-Identifier: LGPL-2.1-or-later
//! `domxml-from-native lxc-tools`: LXC's own container configuration
//! (the pre-3.0 `lxc.network.*` keys and the 3.0 `lxc.net.N.*` keys)
//! turned into domain XML.
//!
//! The conversion builds domain XML text in libvirt's element order and
//! runs it through `conf`'s parser, so defaults and formatting are the
//! same as for any other definition.

use std::fmt::Write as _;

use conf::xml::escape;
use conf::{DomainDef, ParseFlags};
use driver::error::{ErrorCode, ErrorDomain};
use driver::Error;
use virconf::{Conf, Dialect, Value};

use crate::errors;

/// Process capabilities in libvirt's enumeration order (the order
/// `<capabilities>` children are written in).
pub const CAP_NAMES: &[&str] = &[
    "audit_control",
    "audit_write",
    "block_suspend",
    "chown",
    "dac_override",
    "dac_read_search",
    "fowner",
    "fsetid",
    "ipc_lock",
    "ipc_owner",
    "kill",
    "lease",
    "linux_immutable",
    "mac_admin",
    "mac_override",
    "mknod",
    "net_admin",
    "net_bind_service",
    "net_broadcast",
    "net_raw",
    "setgid",
    "setfcap",
    "setpcap",
    "setuid",
    "sys_admin",
    "sys_boot",
    "sys_chroot",
    "sys_module",
    "sys_nice",
    "sys_pacct",
    "sys_ptrace",
    "sys_rawio",
    "sys_resource",
    "sys_time",
    "sys_tty_config",
    "syslog",
    "wake_alarm",
];

/// Mount points the container always gets; fstab lines for them are skipped.
const BASIC_MOUNTS: &[&str] = &[
    "/proc",
    "/proc/sys",
    "/proc/sys/net/ipv4",
    "/proc/sys/net/ipv6",
    "/sys",
    "/sys/kernel/security",
];

/// Largest memory limit libvirt stores (VIR_DOMAIN_MEMORY_PARAM_UNLIMITED).
const MEMORY_UNLIMITED: u64 = 9_007_199_254_740_991;

/// Bitmaps (`cpuset.cpus`, `cpuset.mems`) are bounded like libvirt's cpumask.
const CPUMASK_LEN: usize = 16384;

fn lxc_err(code: ErrorCode, msg: impl Into<String>) -> Error {
    Error::new(code, ErrorDomain::Lxc, msg)
}

fn internal(msg: impl Into<String>) -> Error {
    lxc_err(ErrorCode::InternalError, msg)
}

/// One network device being collected from `lxc.network.*` / `lxc.net.N.*`.
#[derive(Debug, Default)]
struct NetData {
    index: u64,
    net_type: Option<String>,
    link: Option<String>,
    mac: Option<String>,
    flag: Option<String>,
    macvlan_mode: Option<String>,
    vlan_id: Option<String>,
    name: Option<String>,
    /// (address, family, prefix)
    ips: Vec<(String, &'static str, u32)>,
    gateway_v4: Option<String>,
    gateway_v6: Option<String>,
}

/// The first string value of `key`.
fn get_str<'a>(conf: &'a Conf, key: &str) -> Option<&'a str> {
    conf.get(key).and_then(Value::as_str)
}

/// Splits on blanks and tabs, dropping empty words.
fn split_words(s: &str) -> Vec<&str> {
    s.split([' ', '\t']).filter(|w| !w.is_empty()).collect()
}

/// A size with an optional unit suffix (virScaleInteger's units), in bytes.
fn convert_size(text: &str) -> Result<u64, Error> {
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let fail = || internal(format!("failed to convert size: '{text}'"));
    if digits == 0 {
        return Err(fail());
    }
    let value: u64 = text[..digits].parse().map_err(|_| fail())?;
    let unit = &text[digits..];
    if unit == "%" {
        return Err(internal(format!("can't convert relative size: '{text}'")));
    }
    let scale: u64 = match unit {
        "" | "b" | "B" | "byte" | "bytes" => 1,
        "k" | "K" | "KiB" | "kiB" => 1 << 10,
        "KB" | "kB" => 1000,
        "m" | "M" | "MiB" => 1 << 20,
        "MB" => 1_000_000,
        "g" | "G" | "GiB" => 1 << 30,
        "GB" => 1_000_000_000,
        "t" | "T" | "TiB" => 1 << 40,
        "TB" => 1_000_000_000_000,
        "p" | "P" | "PiB" => 1 << 50,
        "PB" => 1_000_000_000_000_000,
        "e" | "E" | "EiB" => 1 << 60,
        "EB" => 1_000_000_000_000_000_000,
        _ => return Err(fail()),
    };
    value.checked_mul(scale).ok_or_else(fail)
}

/// Parses a cpu/node list ("1,2,5-7", "^3") into set bits.
fn parse_bitmap(s: &str) -> Option<Vec<bool>> {
    let mut bits = vec![false; CPUMASK_LEN];
    let mut any_positive = false;
    for part in s.split(',') {
        let part = part.trim();
        if part.is_empty() {
            return None;
        }
        if let Some(neg) = part.strip_prefix('^') {
            let n: usize = neg.parse().ok()?;
            *bits.get_mut(n)? = false;
            continue;
        }
        any_positive = true;
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (
                a.trim().parse::<usize>().ok()?,
                b.trim().parse::<usize>().ok()?,
            ),
            None => {
                let n = part.parse::<usize>().ok()?;
                (n, n)
            }
        };
        if a > b || b >= CPUMASK_LEN {
            return None;
        }
        for bit in &mut bits[a..=b] {
            *bit = true;
        }
    }
    any_positive.then_some(bits)
}

/// Formats set bits as libvirt does ("1-2,5-7").
fn format_bitmap(bits: &[bool]) -> String {
    let mut parts = Vec::new();
    let mut i = 0;
    while i < bits.len() {
        if bits[i] {
            let start = i;
            while i + 1 < bits.len() && bits[i + 1] {
                i += 1;
            }
            if start == i {
                parts.push(format!("{start}"));
            } else {
                parts.push(format!("{start}-{i}"));
            }
        }
        i += 1;
    }
    parts.join(",")
}

fn parse_ip(name: &str, value: &str, data: &mut NetData) -> Result<(), Error> {
    let v6 = name == "ipv6" || name == "ipv6.address";
    let bad = || {
        lxc_err(
            ErrorCode::InvalidArg,
            format!("Invalid CIDR address: '{value}'"),
        )
    };
    let (addr, prefix) = value.split_once('/').ok_or_else(bad)?;
    let parsed: std::net::IpAddr = addr.parse().map_err(|_| bad())?;
    if parsed.is_ipv6() != v6 {
        return Err(bad());
    }
    let prefix: u32 = prefix.trim().parse().map_err(|_| bad())?;
    data.ips
        .push((parsed.to_string(), if v6 { "ipv6" } else { "ipv4" }, prefix));
    Ok(())
}

/// Applies one network key (without its `lxc.network.` / `lxc.net.N.` prefix).
fn net_suffix(suffix: &str, value: &str, data: &mut NetData) -> Result<(), Error> {
    let v = Some(value.to_string());
    match suffix {
        "type" => data.net_type = v,
        "link" => data.link = v,
        "hwaddr" => data.mac = v,
        "flags" => data.flag = v,
        "macvlan.mode" => data.macvlan_mode = v,
        "vlan.id" => data.vlan_id = v,
        "name" => data.name = v,
        "ipv4" | "ipv4.address" | "ipv6" | "ipv6.address" => parse_ip(suffix, value, data)?,
        "ipv4.gateway" => data.gateway_v4 = v,
        "ipv6.gateway" => data.gateway_v6 = v,
        _ => {
            return Err(lxc_err(
                ErrorCode::ConfigUnsupported,
                format!("Unhandled network property: {suffix} = {value}"),
            ))
        }
    }
    Ok(())
}

fn collect_networks(conf: &Conf) -> Result<Vec<NetData>, Error> {
    let mut nets: Vec<NetData> = Vec::new();
    for (name, value) in conf.settings() {
        let text = value.as_str().unwrap_or("");
        if let Some(suffix) = name.strip_prefix("lxc.network.") {
            // Legacy keys: `type` opens a new device, others apply to the last one.
            if suffix == "type" {
                let index = nets.len() as u64 + 1;
                nets.push(NetData {
                    index,
                    ..Default::default()
                });
            }
            let data = nets.last_mut().ok_or_else(|| {
                lxc_err(
                    ErrorCode::ConfigUnsupported,
                    format!("network property {name} appears before lxc.network.type"),
                )
            })?;
            net_suffix(suffix, text, data)?;
        } else if let Some(rest) = name.strip_prefix("lxc.net.") {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            let bad = || {
                lxc_err(
                    ErrorCode::ConfigUnsupported,
                    format!("invalid network property {name}"),
                )
            };
            let index: u64 = rest[..digits].parse().map_err(|_| bad())?;
            let suffix = rest[digits..].strip_prefix('.').ok_or_else(bad)?;
            let pos = match nets.iter().position(|n| n.index == index) {
                Some(p) => p,
                None => {
                    nets.push(NetData {
                        index,
                        ..Default::default()
                    });
                    nets.len() - 1
                }
            };
            net_suffix(suffix, text, &mut nets[pos])?;
        }
    }
    Ok(nets)
}

fn write_ip_and_routes(out: &mut String, d: &NetData, indent: &str) -> Result<(), Error> {
    for (addr, family, prefix) in &d.ips {
        let _ = writeln!(
            out,
            "{indent}<ip address='{}' family='{family}' prefix='{prefix}'/>",
            escape(addr)
        );
    }
    for (gw, family, zero) in [
        (&d.gateway_v4, "ipv4", "0.0.0.0"),
        (&d.gateway_v6, "ipv6", "::"),
    ] {
        if let Some(gw) = gw {
            let parsed: std::net::IpAddr = gw.parse().map_err(|_| {
                lxc_err(
                    ErrorCode::XmlError,
                    format!("Domain interface: Bad gateway address '{gw}' in route definition"),
                )
            })?;
            let _ = writeln!(
                out,
                "{indent}<route family='{family}' address='{zero}' gateway='{parsed}'/>"
            );
        }
    }
    Ok(())
}

struct Devices {
    interfaces: String,
    hostdevs: String,
    /// Whether a device of type `none` was given (no private network then).
    saw_none: bool,
    count: usize,
}

fn network_devices(nets: &[NetData]) -> Result<Devices, Error> {
    let mut dev = Devices {
        interfaces: String::new(),
        hostdevs: String::new(),
        saw_none: false,
        count: nets.len(),
    };
    for d in nets {
        let t = d.net_type.as_deref().unwrap_or("");
        if t == "none" {
            dev.saw_none = true;
        }
        if t.is_empty() || t == "empty" || t == "none" {
            continue;
        }
        if t == "phys" || t == "vlan" {
            let link = d.link.as_deref().ok_or_else(|| {
                lxc_err(
                    ErrorCode::ConfigUnsupported,
                    "Missing 'link' attribute for NIC",
                )
            })?;
            let ifname = match (&d.vlan_id, t) {
                (Some(id), "vlan") => format!("{link}.{id}"),
                _ => link.to_string(),
            };
            let out = &mut dev.hostdevs;
            out.push_str("<hostdev mode='capabilities' type='net'>\n<source>\n");
            let _ = writeln!(out, "<interface>{}</interface>\n</source>", escape(&ifname));
            write_ip_and_routes(out, d, "")?;
            out.push_str("</hostdev>\n");
            continue;
        }
        let out = &mut dev.interfaces;
        let (kind, source) = match t {
            "veth" => match &d.link {
                Some(l) => ("bridge", Some(format!("<source bridge='{}'/>", escape(l)))),
                None => ("ethernet", None),
            },
            "macvlan" => {
                let link = d.link.as_deref().ok_or_else(|| {
                    lxc_err(
                        ErrorCode::ConfigUnsupported,
                        "Missing 'link' attribute for macvlan NIC",
                    )
                })?;
                let mode = match d.macvlan_mode.as_deref() {
                    None | Some("private") => "private",
                    Some("vepa") => "vepa",
                    Some("bridge") => "bridge",
                    Some(_) => "vepa",
                };
                (
                    "direct",
                    Some(format!("<source dev='{}' mode='{mode}'/>", escape(link))),
                )
            }
            // Anything else becomes an unconfigured interface, as libvirt's
            // converter leaves the type at its default.
            _ => ("user", None),
        };
        let _ = writeln!(out, "<interface type='{kind}'>");
        if let Some(m) = d.mac.as_deref().and_then(host::net::parse_mac) {
            let _ = writeln!(out, "<mac address='{}'/>", host::net::format_mac(m));
        }
        if let Some(s) = source {
            out.push_str(&s);
            out.push('\n');
        }
        write_ip_and_routes(out, d, "")?;
        if let Some(n) = &d.name {
            let _ = writeln!(out, "<guest dev='{}'/>", escape(n));
        }
        let state = if d.flag.as_deref() == Some("up") {
            "up"
        } else {
            "down"
        };
        let _ = writeln!(out, "<link state='{state}'/>");
        out.push_str("</interface>\n");
    }
    Ok(dev)
}

fn fstab_entries(conf: &Conf, out: &mut String) -> Result<(), Error> {
    for (name, value) in conf.settings() {
        if name != "lxc.mount.entry" {
            continue;
        }
        let text = value.as_str().unwrap_or("");
        let parts = split_words(text);
        if parts.len() < 4 {
            return Err(internal(format!("invalid lxc.mount.entry: '{text}'")));
        }
        let (src, dst, fstype, opts) = (parts[0], parts[1], parts[2], parts[3]);
        let dst = if dst.starts_with('/') {
            dst.to_string()
        } else {
            format!("/{dst}")
        };
        if BASIC_MOUNTS.contains(&dst.as_str()) {
            continue;
        }
        let options: Vec<&str> = opts.split(',').collect();
        let readonly = options.contains(&"ro");
        let mut kind = "mount";
        let mut source = None;
        let mut usage = None;
        if fstype == "tmpfs" {
            kind = "ram";
            let size = options
                .iter()
                .find_map(|o| o.strip_prefix("size="))
                .ok_or_else(|| internal("missing tmpfs size, set the size option"))?;
            usage = Some(convert_size(size)?);
        } else {
            source = Some(src);
        }
        if src.starts_with("/dev/") {
            kind = "block";
        }
        let _ = writeln!(out, "<filesystem type='{kind}' accessmode='passthrough'>");
        match (kind, source) {
            (_, _) if usage.is_some() => {
                let kib = usage.unwrap_or(0) / 1024;
                let _ = writeln!(out, "<source usage='{kib}' units='KiB'/>");
            }
            ("block", Some(s)) => {
                let _ = writeln!(out, "<source dev='{}'/>", escape(s));
            }
            (_, Some(s)) => {
                let _ = writeln!(out, "<source dir='{}'/>", escape(s));
            }
            _ => {}
        }
        let _ = writeln!(out, "<target dir='{}'/>", escape(&dst));
        if readonly {
            out.push_str("<readonly/>\n");
        }
        out.push_str("</filesystem>\n");
    }
    Ok(())
}

fn idmaps(conf: &Conf) -> Result<(String, String), Error> {
    let mut uid = String::new();
    let mut gid = String::new();
    for (name, value) in conf.settings() {
        if name != "lxc.idmap" && name != "lxc.id_map" {
            continue;
        }
        let Some(text) = value.as_str() else { continue };
        let w = split_words(text);
        let bad = || internal(format!("invalid {name}: '{text}'"));
        if w.len() < 4 {
            return Err(bad());
        }
        let target: u64 = w[1].parse().map_err(|_| bad())?;
        let start: u64 = w[2].parse().map_err(|_| bad())?;
        let count: u64 = w[3].parse().map_err(|_| bad())?;
        let line = format!("<{{}} start='{start}' target='{target}' count='{count}'/>\n");
        match w[0] {
            "u" => uid.push_str(&line.replace("{}", "uid")),
            "g" => gid.push_str(&line.replace("{}", "gid")),
            _ => return Err(bad()),
        }
    }
    Ok((uid, gid))
}

fn blkiotune(conf: &Conf) -> Result<String, Error> {
    #[derive(Default)]
    struct Dev {
        path: String,
        weight: u64,
        riops: u64,
        wiops: u64,
        rbps: u64,
        wbps: u64,
    }
    let mut weight = None;
    if let Some(v) = get_str(conf, "lxc.cgroup.blkio.weight") {
        weight = Some(
            v.trim()
                .parse::<u32>()
                .map_err(|_| internal(format!("failed to parse integer: '{v}'")))?,
        );
    }
    let mut devs: Vec<Dev> = Vec::new();
    for (name, value) in conf.settings() {
        if !name.starts_with("lxc.cgroup.blkio.") || name == "lxc.cgroup.blkio.weight" {
            continue;
        }
        let Some(text) = value.as_str() else { continue };
        let w = split_words(text);
        if w.len() < 2 {
            return Err(internal(format!("invalid {name} value: '{text}'")));
        }
        let path = format!("/dev/block/{}", w[0]);
        let pos = match devs.iter().position(|d| d.path == path) {
            Some(p) => p,
            None => {
                devs.push(Dev {
                    path,
                    ..Default::default()
                });
                devs.len() - 1
            }
        };
        let d = &mut devs[pos];
        let (field, what) = match name {
            "lxc.cgroup.blkio.device_weight" => (&mut d.weight, "device weight"),
            "lxc.cgroup.blkio.throttle.read_bps_device" => (&mut d.rbps, "read_bps_device"),
            "lxc.cgroup.blkio.throttle.write_bps_device" => (&mut d.wbps, "write_bps_device"),
            "lxc.cgroup.blkio.throttle.read_iops_device" => (&mut d.riops, "read_iops_device"),
            "lxc.cgroup.blkio.throttle.write_iops_device" => (&mut d.wiops, "write_iops_device"),
            _ => continue,
        };
        *field = w[1]
            .parse()
            .map_err(|_| internal(format!("failed to parse {what}: '{}'", w[1])))?;
    }
    let weight = weight.filter(|w| *w != 0);
    if weight.is_none() && devs.is_empty() {
        return Ok(String::new());
    }
    let mut out = String::from("<blkiotune>\n");
    if let Some(w) = weight {
        let _ = writeln!(out, "<weight>{w}</weight>");
    }
    for d in &devs {
        let _ = writeln!(out, "<device>\n<path>{}</path>", escape(&d.path));
        for (n, v) in [
            ("weight", d.weight),
            ("read_iops_sec", d.riops),
            ("write_iops_sec", d.wiops),
            ("read_bytes_sec", d.rbps),
            ("write_bytes_sec", d.wbps),
        ] {
            if v != 0 {
                let _ = writeln!(out, "<{n}>{v}</{n}>");
            }
        }
        out.push_str("</device>\n");
    }
    out.push_str("</blkiotune>\n");
    Ok(out)
}

/// Converts a native LXC configuration to a domain definition; `emulator`
/// is the controller path the driver's capabilities advertise.
pub fn lxc_config_to_def(config: &str, emulator: &str) -> Result<DomainDef, Error> {
    let conf = Conf::parse_dialect(config, virconf::MEMORY_CONF_NAME, Dialect::Lxc)
        .map_err(errors::virconf)?;

    let mut head = String::new();
    let mut memory_kib: u64 = 64 * 1024;

    let name = get_str(&conf, "lxc.uts.name")
        .or_else(|| get_str(&conf, "lxc.utsname"))
        .ok_or_else(|| internal("missing lxc.uts.name (or lxc.utsname) in the configuration"))?;
    let rootfs = get_str(&conf, "lxc.rootfs.path")
        .or_else(|| get_str(&conf, "lxc.rootfs"))
        .ok_or_else(|| internal("missing lxc.rootfs.path (or lxc.rootfs) in the configuration"))?;
    if conf.get("lxc.mount.fstab").is_some() || conf.get("lxc.mount").is_some() {
        return Err(lxc_err(
            ErrorCode::ArgumentUnsupported,
            "lxc.mount.fstab or lxc.mount found, use lxc.mount.entry lines instead",
        ));
    }

    let mut fss = String::new();
    let root_kind = if rootfs.starts_with("/dev/") {
        ("block", "dev")
    } else {
        ("mount", "dir")
    };
    let _ = write!(
        fss,
        "<filesystem type='{}' accessmode='passthrough'>\n<source {}='{}'/>\n<target dir='/'/>\n</filesystem>\n",
        root_kind.0,
        root_kind.1,
        escape(rootfs)
    );
    fstab_entries(&conf, &mut fss)?;

    let nets = collect_networks(&conf)?;
    let netdevs = network_devices(&nets)?;
    let privnet = netdevs.count == 0 && !netdevs.saw_none;

    let mut consoles = String::new();
    if let Some(v) = get_str(&conf, "lxc.tty.max").or_else(|| get_str(&conf, "lxc.tty")) {
        let n: i32 = v
            .trim()
            .parse()
            .map_err(|_| internal(format!("failed to parse int: '{v}'")))?;
        for i in 0..n.clamp(0, 1024) {
            let _ = writeln!(
                consoles,
                "<console type='pty'>\n<target type='lxc' port='{i}'/>\n</console>"
            );
        }
    }

    let (uidmap, gidmap) = idmaps(&conf)?;

    let mut memtune = String::new();
    if let Some(v) = get_str(&conf, "lxc.cgroup.memory.limit_in_bytes") {
        let kib = convert_size(v)? / 1024;
        memory_kib = kib;
        let _ = writeln!(
            memtune,
            "<hard_limit unit='KiB'>{}</hard_limit>",
            kib.min(MEMORY_UNLIMITED)
        );
    }
    if let Some(v) = get_str(&conf, "lxc.cgroup.memory.soft_limit_in_bytes") {
        let kib = convert_size(v)? / 1024;
        let _ = writeln!(
            memtune,
            "<soft_limit unit='KiB'>{}</soft_limit>",
            kib.min(MEMORY_UNLIMITED)
        );
    }
    if let Some(v) = get_str(&conf, "lxc.cgroup.memory.memsw.limit_in_bytes") {
        let kib = convert_size(v)? / 1024;
        let _ = writeln!(
            memtune,
            "<swap_hard_limit unit='KiB'>{}</swap_hard_limit>",
            kib.min(MEMORY_UNLIMITED)
        );
    }

    let mut cputune = String::new();
    let int_err = |v: &str| internal(format!("failed to parse integer: '{v}'"));
    if let Some(v) = get_str(&conf, "lxc.cgroup.cpu.shares") {
        let n: u64 = v.trim().parse().map_err(|_| int_err(v))?;
        let _ = writeln!(cputune, "<shares>{n}</shares>");
    }
    let mut quota = None;
    if let Some(v) = get_str(&conf, "lxc.cgroup.cpu.cfs_quota_us") {
        quota = Some(v.trim().parse::<i64>().map_err(|_| int_err(v))?);
    }
    if let Some(v) = get_str(&conf, "lxc.cgroup.cpu.cfs_period_us") {
        let n: u64 = v.trim().parse().map_err(|_| int_err(v))?;
        if n != 0 {
            let _ = writeln!(cputune, "<period>{n}</period>");
        }
    }
    if let Some(q) = quota.filter(|q| *q != 0) {
        let _ = writeln!(cputune, "<quota>{q}</quota>");
    }

    let mut cpuset = None;
    if let Some(v) = get_str(&conf, "lxc.cgroup.cpuset.cpus") {
        let bits = parse_bitmap(v).ok_or_else(|| {
            lxc_err(
                ErrorCode::InvalidArg,
                format!("Failed to parse bitmap '{v}'"),
            )
        })?;
        cpuset = Some(format_bitmap(&bits));
    }
    let mut numatune = String::new();
    if let Some(v) = get_str(&conf, "lxc.cgroup.cpuset.mems") {
        let bits = parse_bitmap(v).ok_or_else(|| {
            lxc_err(
                ErrorCode::InvalidArg,
                format!("Failed to parse bitmap '{v}'"),
            )
        })?;
        let _ = writeln!(
            numatune,
            "<numatune>\n<memory mode='strict' nodeset='{}'/>\n</numatune>",
            format_bitmap(&bits)
        );
    }

    let blkio = blkiotune(&conf)?;

    let drop: Vec<&str> = get_str(&conf, "lxc.cap.drop")
        .map(|v| v.split(' ').collect())
        .unwrap_or_default();
    let mut caps = String::new();
    for c in CAP_NAMES {
        if drop.contains(c) {
            let _ = writeln!(caps, "<{c} state='off'/>");
        }
    }

    let arch = get_str(&conf, "lxc.arch").and_then(|a| match a.trim() {
        "x86" => Some("i686"),
        "amd64" => Some("x86_64"),
        other => conf::domain::ARCHES
            .iter()
            .find(|x| **x == other && conf::domain::is_known_arch(x))
            .copied(),
    });

    let _ = writeln!(head, "<domain type='lxc'>\n<name>{}</name>", escape(name));
    let _ = writeln!(
        head,
        "<memory unit='KiB'>{memory_kib}</memory>\n<currentMemory unit='KiB'>{memory_kib}</currentMemory>"
    );
    if !memtune.is_empty() {
        let _ = write!(head, "<memtune>\n{memtune}</memtune>\n");
    }
    if !blkio.is_empty() {
        head.push_str(&blkio);
    }
    match &cpuset {
        Some(c) => {
            let _ = writeln!(head, "<vcpu placement='static' cpuset='{c}'>1</vcpu>");
        }
        None => head.push_str("<vcpu placement='static'>1</vcpu>\n"),
    }
    if !cputune.is_empty() {
        let _ = write!(head, "<cputune>\n{cputune}</cputune>\n");
    }
    head.push_str(&numatune);
    head.push_str("<os>\n");
    match arch {
        Some(a) => {
            let _ = writeln!(head, "<type arch='{a}'>exe</type>");
        }
        None => head.push_str("<type>exe</type>\n"),
    }
    head.push_str("<init>/sbin/init</init>\n</os>\n");
    if !uidmap.is_empty() || !gidmap.is_empty() {
        let _ = write!(head, "<idmap>\n{uidmap}{gidmap}</idmap>\n");
    }
    head.push_str("<features>\n");
    if privnet {
        head.push_str("<privnet/>\n");
    }
    if caps.is_empty() {
        head.push_str("<capabilities policy='allow'/>\n");
    } else {
        let _ = write!(
            head,
            "<capabilities policy='allow'>\n{caps}</capabilities>\n"
        );
    }
    head.push_str("</features>\n<clock offset='utc'/>\n");
    head.push_str("<on_poweroff>destroy</on_poweroff>\n<on_reboot>restart</on_reboot>\n<on_crash>destroy</on_crash>\n");
    let _ = write!(
        head,
        "<devices>\n<emulator>{}</emulator>\n{fss}{}{consoles}{}</devices>\n</domain>\n",
        escape(emulator),
        netdevs.interfaces,
        netdevs.hostdevs
    );

    let flags = ParseFlags {
        inactive: true,
        ..Default::default()
    };
    let mut def = DomainDef::parse_str(&head, &flags).map_err(errors::conf)?;
    def.id = None;
    // libvirt's converter leaves the architecture unset when lxc.arch is absent.
    def.os.arch = arch.map(str::to_string);
    Ok(def)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_follow_libvirt_units() {
        assert_eq!(convert_size("8m").ok(), Some(8 << 20));
        assert_eq!(convert_size("1073741824").ok(), Some(1 << 30));
        assert_eq!(convert_size("2KB").ok(), Some(2000));
        assert!(convert_size("50%").is_err());
        assert!(convert_size("x").is_err());
        assert!(convert_size("99999999999999999999").is_err());
    }

    #[test]
    fn bitmaps_round_trip_in_canonical_form() {
        let b = parse_bitmap("1,2,5-7").unwrap_or_default();
        assert_eq!(format_bitmap(&b), "1-2,5-7");
        assert!(parse_bitmap("7-5").is_none());
        assert!(parse_bitmap("99999").is_none());
        assert!(parse_bitmap("").is_none());
    }

    #[test]
    fn network_key_before_type_is_an_error() {
        let r = lxc_config_to_def(
            "lxc.network.link = br0\nlxc.utsname = a\nlxc.rootfs = /r\n",
            "/usr/libexec/libvirt_lxc",
        );
        assert!(r.is_err());
    }

    #[test]
    fn missing_name_is_an_error() {
        let r = lxc_config_to_def("lxc.rootfs = /r\n", "/x");
        assert!(r.is_err());
    }
}

// SPDX-License-Identifier: LGPL-2.1-or-later
//! `<bandwidth>` on an interface through `tc`, as libvirt's
//! virNetDevBandwidthSet / Clear shape it: the outgoing direction (seen
//! from the guest, so the other one on a bridge or a host-side veth end
//! when `swapped`) with an HTB root qdisc, its class (under a class 1:1
//! holding the whole rate when `hierarchical`, for a network's bridge) and
//! an SFQ leaf; the incoming direction with an ingress policing filter.
//! Commands only, program first; no I/O.

use conf::network::netdev::{Bandwidth, BandwidthRate};

fn cmd(args: &[&str]) -> Vec<String> {
    std::iter::once("tc")
        .chain(args.iter().copied())
        .map(str::to_string)
        .collect()
}

/// The HTB quantum libvirt gives a class of `rate` (its rate in bytes
/// over an MTU of 1500, at least 1).
fn quantum(rate: &BandwidthRate) -> String {
    (rate.average.saturating_mul(1024) / 8 / 1500)
        .max(1)
        .to_string()
}

/// virNetDevBandwidthClear: both qdiscs removed (failures ignored by the
/// caller: there may be none).
pub fn clear_commands(ifname: &str) -> Vec<Vec<String>> {
    vec![
        cmd(&["qdisc", "del", "dev", ifname, "root"]),
        cmd(&["qdisc", "del", "dev", ifname, "ingress"]),
    ]
}

/// virNetDevBandwidthSet's commands (after [`clear_commands`]).
pub fn set_commands(
    ifname: &str,
    bw: &Bandwidth,
    hierarchical: bool,
    swapped: bool,
) -> Vec<Vec<String>> {
    let (rx, tx) = if swapped {
        (bw.outbound.as_ref(), bw.inbound.as_ref())
    } else {
        (bw.inbound.as_ref(), bw.outbound.as_ref())
    };
    let mut out = Vec::new();
    if let Some(tx) = tx.filter(|t| t.average > 0) {
        let average = format!("{}kbps", tx.average);
        let peak = (tx.peak > 0).then(|| format!("{}kbps", tx.peak));
        let burst = (tx.burst > 0).then(|| format!("{}kb", tx.burst));
        let q = quantum(tx);
        out.push(cmd(&[
            "qdisc",
            "add",
            "dev",
            ifname,
            "root",
            "handle",
            "1:",
            "htb",
            "default",
            if hierarchical { "2" } else { "1" },
        ]));
        if hierarchical {
            out.push(cmd(&[
                "class",
                "add",
                "dev",
                ifname,
                "parent",
                "1:",
                "classid",
                "1:1",
                "htb",
                "rate",
                &average,
                "ceil",
                peak.as_deref().unwrap_or(&average),
                "quantum",
                &q,
            ]));
        }
        let mut class = cmd(&[
            "class",
            "add",
            "dev",
            ifname,
            "parent",
            if hierarchical { "1:1" } else { "1:" },
            "classid",
            if hierarchical { "1:2" } else { "1:1" },
            "htb",
            "rate",
            &average,
        ]);
        if let Some(p) = &peak {
            class.extend(["ceil".to_string(), p.clone()]);
        }
        if let Some(b) = &burst {
            class.extend(["burst".to_string(), b.clone()]);
        }
        class.extend(["quantum".to_string(), q]);
        out.push(class);
        out.push(cmd(&[
            "qdisc",
            "add",
            "dev",
            ifname,
            "parent",
            if hierarchical { "1:2" } else { "1:1" },
            "handle",
            "2:",
            "sfq",
            "perturb",
            "10",
        ]));
        out.push(cmd(&[
            "filter", "add", "dev", ifname, "parent", "1:0", "protocol", "all", "prio", "1",
            "handle", "1", "fw", "flowid", "1",
        ]));
    }
    if let Some(rx) = rx {
        let average = format!("{}kbps", rx.average);
        let burst = if rx.burst > 0 {
            format!("{}kb", rx.burst)
        } else {
            // tc keeps the burst in bytes in an unsigned int.
            format!("{}kb", rx.average.min(u64::from(u32::MAX) / 1024))
        };
        out.push(cmd(&["qdisc", "add", "dev", ifname, "ingress"]));
        out.push(cmd(&[
            "filter", "add", "dev", ifname, "parent", "ffff:", "protocol", "all", "u32", "match",
            "u32", "0", "0", "police", "rate", &average, "burst", &burst, "mtu", "64kb", "drop",
            "flowid", ":1",
        ]));
    }
    out
}

/// The ceiling of a network's guaranteed classes: its inbound peak, else
/// its average.
fn ceil(net: &BandwidthRate) -> String {
    format!("{}kbps", if net.peak > 0 { net.peak } else { net.average })
}

/// virNetDevBandwidthPlug: the class `1:ID` (hex) of a port with an
/// inbound floor on bridge `br` of a network with inbound QoS `net`, its
/// SFQ leaf and the filter sending the port's MAC (IPv4) to it.
pub fn plug_commands(
    br: &str,
    net: &BandwidthRate,
    mac: [u8; 6],
    port: &BandwidthRate,
    id: u32,
) -> Vec<Vec<String>> {
    let class_id = format!("1:{id:x}");
    let qdisc_id = format!("{id:x}:");
    vec![
        cmd(&[
            "class",
            "add",
            "dev",
            br,
            "parent",
            "1:1",
            "classid",
            &class_id,
            "htb",
            "rate",
            &format!("{}kbps", port.floor),
            "ceil",
            &ceil(net),
            "quantum",
            &quantum(port),
        ]),
        cmd(&[
            "qdisc", "add", "dev", br, "parent", &class_id, "handle", &qdisc_id, "sfq", "perturb",
            "10",
        ]),
        cmd(&[
            "filter",
            "add",
            "dev",
            br,
            "protocol",
            "ip",
            "prio",
            "2",
            "handle",
            &format!("800::{}", 800 + id),
            "u32",
            "match",
            "u16",
            "0x0800",
            "0xffff",
            "at",
            "-2",
            "match",
            "u32",
            &format!("0x{:02x}{:02x}{:02x}{:02x}", mac[2], mac[3], mac[4], mac[5]),
            "0xffffffff",
            "at",
            "-12",
            "match",
            "u16",
            &format!("0x{:02x}{:02x}", mac[0], mac[1]),
            "0xffff",
            "at",
            "-14",
            "flowid",
            &class_id,
        ]),
    ]
}

/// virNetDevBandwidthUnplug: the port's qdisc, filter and class removed
/// (each failure ignored by the caller).
pub fn unplug_commands(br: &str, id: u32) -> Vec<Vec<String>> {
    vec![
        cmd(&["qdisc", "del", "dev", br, "handle", &format!("{id:x}:")]),
        cmd(&[
            "filter",
            "del",
            "dev",
            br,
            "prio",
            "2",
            "handle",
            &format!("800::{}", 800 + id),
            "u32",
        ]),
        cmd(&["class", "del", "dev", br, "classid", &format!("1:{id:x}")]),
    ]
}

/// virNetDevBandwidthUpdateRate: class `1:ID`'s rate becomes `rate`
/// kbps (the 1:2 class of guests without a floor shrinks as floors are
/// granted).
pub fn update_rate_command(br: &str, id: u32, net: &BandwidthRate, rate: u64) -> Vec<String> {
    cmd(&[
        "class",
        "change",
        "dev",
        br,
        "classid",
        &format!("1:{id:x}"),
        "htb",
        "rate",
        &format!("{rate}kbps"),
        "ceil",
        &ceil(net),
        "quantum",
        &quantum(net),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(average: u64, peak: u64, burst: u64) -> Option<BandwidthRate> {
        Some(BandwidthRate {
            average,
            peak,
            burst,
            floor: 0,
        })
    }

    fn lines(v: Vec<Vec<String>>) -> Vec<String> {
        v.into_iter().map(|c| c.join(" ")).collect()
    }

    #[test]
    fn a_guest_nic_gets_a_flat_class_and_ingress_policing() {
        let bw = Bandwidth {
            inbound: rate(1024, 2048, 2048),
            outbound: rate(1024, 0, 0),
        };
        assert_eq!(
            lines(set_commands("eth0", &bw, false, false)),
            [
                "tc qdisc add dev eth0 root handle 1: htb default 1",
                "tc class add dev eth0 parent 1: classid 1:1 htb rate 1024kbps quantum 87",
                "tc qdisc add dev eth0 parent 1:1 handle 2: sfq perturb 10",
                "tc filter add dev eth0 parent 1:0 protocol all prio 1 handle 1 fw flowid 1",
                "tc qdisc add dev eth0 ingress",
                "tc filter add dev eth0 parent ffff: protocol all u32 match u32 0 0 police rate 1024kbps burst 2048kb mtu 64kb drop flowid :1",
            ]
        );
    }

    #[test]
    fn a_bridge_gets_the_hierarchy_with_directions_swapped() {
        let bw = Bandwidth {
            inbound: rate(1000, 2000, 512),
            outbound: rate(500, 0, 0),
        };
        assert_eq!(
            lines(set_commands("virbr1", &bw, true, true)),
            [
                "tc qdisc add dev virbr1 root handle 1: htb default 2",
                "tc class add dev virbr1 parent 1: classid 1:1 htb rate 1000kbps ceil 2000kbps quantum 85",
                "tc class add dev virbr1 parent 1:1 classid 1:2 htb rate 1000kbps ceil 2000kbps burst 512kb quantum 85",
                "tc qdisc add dev virbr1 parent 1:2 handle 2: sfq perturb 10",
                "tc filter add dev virbr1 parent 1:0 protocol all prio 1 handle 1 fw flowid 1",
                "tc qdisc add dev virbr1 ingress",
                "tc filter add dev virbr1 parent ffff: protocol all u32 match u32 0 0 police rate 500kbps burst 500kb mtu 64kb drop flowid :1",
            ]
        );
        assert_eq!(
            lines(clear_commands("virbr1")),
            [
                "tc qdisc del dev virbr1 root",
                "tc qdisc del dev virbr1 ingress"
            ]
        );
    }

    #[test]
    fn a_port_with_a_floor_gets_its_class_leaf_and_mac_filter() {
        let net = BandwidthRate {
            average: 1000,
            peak: 5000,
            burst: 0,
            floor: 0,
        };
        let port = BandwidthRate {
            average: 100,
            peak: 0,
            burst: 0,
            floor: 200,
        };
        assert_eq!(
            lines(plug_commands("virbr1", &net, [0x52, 0x54, 0, 0xaa, 0xbb, 0xcc], &port, 10)),
            [
                "tc class add dev virbr1 parent 1:1 classid 1:a htb rate 200kbps ceil 5000kbps quantum 8",
                "tc qdisc add dev virbr1 parent 1:a handle a: sfq perturb 10",
                "tc filter add dev virbr1 protocol ip prio 2 handle 800::810 u32 match u16 0x0800 0xffff at -2 match u32 0x00aabbcc 0xffffffff at -12 match u16 0x5254 0xffff at -14 flowid 1:a",
            ]
        );
        assert_eq!(
            lines(unplug_commands("virbr1", 10)),
            [
                "tc qdisc del dev virbr1 handle a:",
                "tc filter del dev virbr1 prio 2 handle 800::810 u32",
                "tc class del dev virbr1 classid 1:a",
            ]
        );
        assert_eq!(
            update_rate_command("virbr1", 2, &net, 4800).join(" "),
            "tc class change dev virbr1 classid 1:2 htb rate 4800kbps ceil 5000kbps quantum 85"
        );
    }
}

// SPDX-License-Identifier: LGPL-2.1-or-later
//! The real virsh (Debian libvirt-clients) against our libvirtd serving
//! test:///default. Expected texts are what virsh prints against Debian's
//! C libvirtd for the same commands.

mod common;
use common::*;

const TEST_UUID: &str = "6695eb01-f6a4-8304-79aa-97f2502e193f";

fn field<'a>(out: &'a str, key: &str) -> &'a str {
    out.lines()
        .find_map(|l| {
            l.strip_prefix(key)
                .map(|v| v.trim_start_matches(':').trim())
        })
        .unwrap_or_else(|| panic!("no {key} in {out}"))
}

#[test]
fn version_uri_hostname() {
    if skip_without("virsh") {
        return;
    }
    let d = Daemon::start();
    let v = d.virsh(&["version"]).success();
    assert!(
        v.contains("Using API: TEST 9.6.0") || v.contains("Using API: TEST"),
        "{v}"
    );
    assert!(v.contains("Running hypervisor: TEST 0.0.2"), "{v}");
    assert!(d
        .virsh(&["uri"])
        .success()
        .trim()
        .starts_with("test+unix:///default?socket="));
    let host = d.virsh(&["hostname"]).success();
    let mine = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    assert_eq!(host.trim(), mine.trim());
}

#[test]
fn nodeinfo_capabilities_sysinfo_maxvcpus() {
    if skip_without("virsh") {
        return;
    }
    let d = Daemon::start();
    let n = d.virsh(&["nodeinfo"]).success();
    assert_eq!(field(&n, "CPU model"), "i686");
    assert_eq!(field(&n, "CPU(s)"), "16");
    assert_eq!(field(&n, "CPU frequency"), "1400 MHz");
    assert_eq!(field(&n, "NUMA cell(s)"), "2");
    assert_eq!(field(&n, "Memory size"), "3145728 KiB");
    let caps = d.virsh(&["capabilities"]).success();
    assert!(caps.contains("<model>testSecurity</model>"), "{caps}");
    assert!(caps.contains("<os_type>hvm</os_type>"));
    assert!(caps.contains("<domain type='test'/>"));
    let sys = d.virsh(&["sysinfo"]).success();
    assert!(sys.starts_with("<sysinfo type='smbios'>"), "{sys}");
    assert_eq!(d.virsh(&["maxvcpus"]).success().trim(), "32");
}

#[test]
fn list_dominfo_domstate_ids() {
    if skip_without("virsh") {
        return;
    }
    let d = Daemon::start();
    let l = d.virsh(&["list", "--all"]).success();
    assert!(
        l.lines()
            .any(|x| x.split_whitespace().collect::<Vec<_>>() == ["1", "test", "running"]),
        "{l}"
    );
    let i = d.virsh(&["dominfo", "test"]).success();
    assert_eq!(field(&i, "Id"), "1");
    assert_eq!(field(&i, "Name"), "test");
    assert_eq!(field(&i, "UUID"), TEST_UUID);
    assert_eq!(field(&i, "OS Type"), "linux");
    assert_eq!(field(&i, "State"), "running");
    assert_eq!(field(&i, "CPU(s)"), "2");
    assert_eq!(field(&i, "Max memory"), "8388608 KiB");
    assert_eq!(field(&i, "Used memory"), "2097152 KiB");
    assert_eq!(field(&i, "Persistent"), "yes");
    assert_eq!(field(&i, "Autostart"), "disable");
    assert_eq!(field(&i, "Security model"), "testSecurity");
    assert_eq!(field(&i, "Security label"), "libvirt-test (enforcing)");
    assert_eq!(
        d.virsh(&["domstate", "--reason", "test"]).success().trim(),
        "running (unknown)"
    );
    assert_eq!(d.virsh(&["domid", "test"]).success().trim(), "1");
    assert_eq!(d.virsh(&["domuuid", "test"]).success().trim(), TEST_UUID);
    assert_eq!(d.virsh(&["domname", "1"]).success().trim(), "test");
    assert_eq!(d.virsh(&["domname", TEST_UUID]).success().trim(), "test");
}

#[test]
fn dumpxml_live_and_inactive() {
    if skip_without("virsh") {
        return;
    }
    let d = Daemon::start();
    let live = d.virsh(&["dumpxml", "test"]).success();
    assert!(
        live.starts_with("<domain type='test' id='1'>\n  <name>test</name>\n"),
        "{live}"
    );
    assert!(live.contains(&format!("<uuid>{TEST_UUID}</uuid>")));
    assert!(live.contains("<memory unit='KiB'>8388608</memory>"));
    assert!(live.contains("<source network='default'/>"));
    let inactive = d.virsh(&["dumpxml", "--inactive", "test"]).success();
    assert!(inactive.starts_with("<domain type='test'>\n"), "{inactive}");
}

const NEW_DOM: &str = "<domain type='test'>\n  <name>fresh</name>\n  <memory unit='MiB'>128</memory>\n  <vcpu>1</vcpu>\n  <os><type arch='x86_64'>hvm</type></os>\n</domain>\n";

#[test]
fn define_start_lifecycle_undefine() {
    if skip_without("virsh") {
        return;
    }
    let d = Daemon::start();
    let _keep = d.keeper();
    let xml = d.dir.path().join("fresh.xml");
    std::fs::write(&xml, NEW_DOM).unwrap();
    let x = xml.to_str().unwrap();
    assert!(d
        .virsh(&["define", x])
        .success()
        .contains("Domain 'fresh' defined from"));
    assert_eq!(
        d.virsh(&["domstate", "--reason", "fresh"]).success().trim(),
        "shut off (unknown)"
    );
    assert!(d
        .virsh(&["start", "fresh"])
        .success()
        .contains("Domain 'fresh' started"));
    assert_eq!(
        d.virsh(&["domstate", "--reason", "fresh"]).success().trim(),
        "running (booted)"
    );
    // starting it again is refused
    let e = d.virsh(&["start", "fresh"]).failure();
    assert!(e.contains("Domain is already active"), "{e}");
    assert!(d
        .virsh(&["suspend", "fresh"])
        .success()
        .contains("Domain 'fresh' suspended"));
    assert_eq!(
        d.virsh(&["domstate", "--reason", "fresh"]).success().trim(),
        "paused (user)"
    );
    assert!(d
        .virsh(&["resume", "fresh"])
        .success()
        .contains("Domain 'fresh' resumed"));
    assert_eq!(d.virsh(&["domstate", "fresh"]).success().trim(), "running");
    assert!(d
        .virsh(&["reboot", "fresh"])
        .success()
        .contains("Domain 'fresh' is being rebooted"));
    assert!(d
        .virsh(&["shutdown", "fresh"])
        .success()
        .contains("Domain 'fresh' is being shutdown"));
    assert_eq!(
        d.virsh(&["domstate", "--reason", "fresh"]).success().trim(),
        "shut off (shutdown)"
    );
    d.virsh(&["start", "fresh"]).success();
    assert!(d
        .virsh(&["destroy", "fresh"])
        .success()
        .contains("Domain 'fresh' destroyed"));
    assert_eq!(
        d.virsh(&["domstate", "--reason", "fresh"]).success().trim(),
        "shut off (destroyed)"
    );
    assert!(d
        .virsh(&["autostart", "fresh"])
        .success()
        .contains("Domain 'fresh' marked as autostarted"));
    assert_eq!(
        field(&d.virsh(&["dominfo", "fresh"]).success(), "Autostart"),
        "enable"
    );
    assert!(d
        .virsh(&["autostart", "--disable", "fresh"])
        .success()
        .contains("unmarked as autostarted"));
    assert!(d
        .virsh(&["undefine", "fresh"])
        .success()
        .contains("Domain 'fresh' has been undefined"));
    let l = d.virsh(&["list", "--all", "--name"]).success();
    assert!(!l.contains("fresh"), "{l}");
}

#[test]
fn state_is_shared_while_a_connection_stays_open_and_reset_after() {
    if skip_without("virsh") {
        return;
    }
    let d = Daemon::start();
    {
        let _keep = d.keeper();
        d.virsh(&["destroy", "test"]).success();
        assert_eq!(d.virsh(&["domstate", "test"]).success().trim(), "shut off");
    }
    // the last connection closed: the default state starts afresh
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert_eq!(d.virsh(&["domstate", "test"]).success().trim(), "running");
}

#[test]
fn error_cases_have_libvirt_messages() {
    if skip_without("virsh") {
        return;
    }
    let d = Daemon::start();
    let e = d.virsh(&["dominfo", "nosuch"]).failure();
    assert!(e.contains("failed to get domain 'nosuch'"), "{e}");
    let e = d.virsh(&["start", "test"]).failure();
    assert!(e.contains("Domain is already active"), "{e}");
    let e = d.virsh(&["net-info", "nosuch"]).failure();
    assert!(
        e.contains("Network not found: no network with matching name 'nosuch'"),
        "{e}"
    );
    let e = d.virsh(&["pool-info", "nosuch"]).failure();
    assert!(
        e.contains("Storage pool not found: no storage pool with matching name 'nosuch'"),
        "{e}"
    );
    // malformed XML
    let bad = d.dir.path().join("bad.xml");
    std::fs::write(&bad, "<domain type='test'><name>x</name>").unwrap();
    let e = d.virsh(&["define", bad.to_str().unwrap()]).failure();
    assert!(e.contains("XML") || e.contains("xml"), "{e}");
    // invalid but well-formed XML
    std::fs::write(&bad, "<domain type='test'><memory>1024</memory></domain>").unwrap();
    let e = d.virsh(&["define", bad.to_str().unwrap()]).failure();
    assert!(
        e.contains("missing name information") || e.contains("name"),
        "{e}"
    );
    // the daemon is unaffected
    assert_eq!(d.virsh(&["domstate", "test"]).success().trim(), "running");
}

#[test]
fn networks_lifecycle() {
    if skip_without("virsh") {
        return;
    }
    let d = Daemon::start();
    let _keep = d.keeper();
    let l = d.virsh(&["net-list", "--all"]).success();
    assert!(l.lines().any(|x| x.split_whitespace().collect::<Vec<_>>() == ["default", "active", "no", "yes"]), "{l}");
    let i = d.virsh(&["net-info", "default"]).success();
    assert_eq!(field(&i, "UUID"), "dd8fe884-6c02-601e-7551-cca97df1c5df");
    assert_eq!(field(&i, "Bridge"), "virbr0");
    let x = d.virsh(&["net-dumpxml", "default"]).success();
    assert!(
        x.contains("<forward mode='nat'/>")
            && x.contains("<bridge name='virbr0' stp='on' delay='0'/>"),
        "{x}"
    );
    let f = d.dir.path().join("net.xml");
    std::fs::write(
        &f,
        "<network><name>n2</name><bridge name='virbr9'/></network>",
    )
    .unwrap();
    assert!(d
        .virsh(&["net-define", f.to_str().unwrap()])
        .success()
        .contains("Network n2 defined"));
    assert!(d
        .virsh(&["net-start", "n2"])
        .success()
        .contains("Network n2 started"));
    assert_eq!(
        field(&d.virsh(&["net-info", "n2"]).success(), "Active"),
        "yes"
    );
    assert!(d
        .virsh(&["net-destroy", "n2"])
        .success()
        .contains("Network n2 destroyed"));
    assert!(d
        .virsh(&["net-undefine", "n2"])
        .success()
        .contains("Network n2 has been undefined"));
    assert!(d
        .virsh(&["net-info", "n2"])
        .failure()
        .contains("no network with matching name 'n2'"));
}

#[test]
fn pools_and_volumes() {
    if skip_without("virsh") {
        return;
    }
    let d = Daemon::start();
    let _keep = d.keeper();
    let l = d.virsh(&["pool-list", "--all"]).success();
    assert!(
        l.lines()
            .any(|x| x.split_whitespace().collect::<Vec<_>>() == ["default-pool", "active", "no"]),
        "{l}"
    );
    let i = d.virsh(&["pool-info", "default-pool"]).success();
    assert_eq!(field(&i, "State"), "running");
    assert_eq!(field(&i, "Capacity"), "100.00 GiB");
    assert!(d
        .virsh(&["vol-create-as", "default-pool", "v1", "10M"])
        .success()
        .contains("Vol v1 created"));
    let vl = d.virsh(&["vol-list", "default-pool"]).success();
    assert!(vl.contains("/default-pool/v1"), "{vl}");
    let vi = d
        .virsh(&["vol-info", "v1", "--pool", "default-pool"])
        .success();
    assert_eq!(field(&vi, "Capacity"), "10.00 MiB");
    assert!(d
        .virsh(&["vol-delete", "v1", "--pool", "default-pool"])
        .success()
        .contains("Vol v1 deleted"));
    assert!(!d
        .virsh(&["vol-list", "default-pool"])
        .success()
        .contains("v1"));
}

#[test]
fn interfaces_and_node_devices() {
    if skip_without("virsh") {
        return;
    }
    let d = Daemon::start();
    let l = d.virsh(&["iface-list", "--all"]).success();
    assert!(
        l.lines()
            .any(|x| x.split_whitespace().collect::<Vec<_>>()
                == ["eth1", "active", "aa:bb:cc:dd:ee:ff"]),
        "{l}"
    );
    let n = d.virsh(&["nodedev-list"]).success();
    assert!(n.lines().any(|x| x.trim() == "computer"), "{n}");
    let x = d.virsh(&["nodedev-dumpxml", "computer"]).success();
    assert!(x.contains("<name>computer</name>"), "{x}");
}

#[test]
fn read_only_socket_refuses_changes() {
    if skip_without("virsh") {
        return;
    }
    if !is_root() {
        skip("the read-only socket exists only for root daemons");
        return;
    }
    let d = Daemon::start();
    let ro = d.ro_uri();
    assert_eq!(
        virsh_uri(&ro, &["domstate", "test"]).success().trim(),
        "running"
    );
    let e = virsh_uri(&ro, &["destroy", "test"]).failure();
    assert!(
        e.contains("operation forbidden: read only access prevents virDomainDestroy"),
        "{e}"
    );
    let f = d.dir.path().join("ro.xml");
    std::fs::write(&f, NEW_DOM).unwrap();
    let e = virsh_uri(&ro, &["define", f.to_str().unwrap()]).failure();
    assert!(
        e.contains("read only access prevents virDomainDefineXML"),
        "{e}"
    );
}

#[test]
fn event_loop_sees_another_clients_actions() {
    if skip_without("virsh") {
        return;
    }
    let d = Daemon::start();
    let _keep = d.keeper();
    let ev = std::process::Command::new("virsh")
        .args([
            "-c",
            &d.test_uri(),
            "event",
            "--all",
            "--loop",
            "--timeout",
            "10",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    d.virsh(&["suspend", "test"]).success();
    d.virsh(&["resume", "test"]).success();
    d.virsh(&["destroy", "test"]).success();
    std::thread::sleep(std::time::Duration::from_millis(500));
    let _ = std::process::Command::new("kill")
        .arg("-INT")
        .arg(ev.id().to_string())
        .status();
    let out = ev.wait_with_output().unwrap();
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(
        s.contains("event 'lifecycle' for domain 'test': Suspended Paused"),
        "{s}"
    );
    assert!(
        s.contains("event 'lifecycle' for domain 'test': Resumed Unpaused"),
        "{s}"
    );
    assert!(
        s.contains("event 'lifecycle' for domain 'test': Stopped Destroyed"),
        "{s}"
    );
}

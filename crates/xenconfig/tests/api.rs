// SPDX-License-Identifier: LGPL-2.1-or-later
//! Error codes and wording of the conversions, and robustness on
//! arbitrary input (nothing panics).

use xenconfig::error::{
    ERR_CONFIG_UNSUPPORTED, ERR_CONF_SYNTAX, ERR_INTERNAL_ERROR, FROM_XENXL, FROM_XENXM,
};
use xenconfig::{NativeFormat, XenCaps};

fn xl(text: &str) -> Result<String, xenconfig::XenConfigError> {
    xenconfig::native_to_domain_xml(text, NativeFormat::Xl, &XenCaps::default_x86_64())
}

#[test]
fn missing_name_is_an_internal_error_from_the_xl_domain() {
    let e = xl("memory = 128\n").unwrap_err();
    assert_eq!(e.code, ERR_INTERNAL_ERROR);
    assert_eq!(e.domain, FROM_XENXL);
    assert_eq!(e.detail_text(), "config value name was missing");
}

#[test]
fn signed_memory_is_malformed() {
    let e = xl("name = \"a\"\nmemory = -5\n").unwrap_err();
    assert_eq!(e.detail_text(), "config value memory was malformed");
}

#[test]
fn unknown_guest_type_is_unsupported() {
    let e = xl("name = \"a\"\ntype = \"bogus\"\n").unwrap_err();
    assert_eq!(e.code, ERR_CONFIG_UNSUPPORTED);
    assert_eq!(e.detail_text(), "type bogus is not supported");
}

#[test]
fn bad_uuid_is_a_syntax_error() {
    let e = xl("name = \"a\"\nuuid = \"nope\"\n").unwrap_err();
    assert_eq!(e.code, ERR_CONF_SYNTAX);
    assert_eq!(e.detail_text(), "nope not parseable");
}

#[test]
fn bad_lifecycle_action_is_reported() {
    let e = xl("name = \"a\"\non_crash = \"explode\"\n").unwrap_err();
    assert_eq!(e.detail_text(), "unexpected value explode for on_crash");
}

#[test]
fn xm_rejects_several_serial_ports() {
    let e = xenconfig::native_to_domain_xml(
        "name = \"a\"\nbuilder = \"hvm\"\nkernel = \"/x\"\nserial = [ \"pty\", \"pty\" ]\n",
        NativeFormat::Xm,
        &XenCaps::default_x86_64(),
    )
    .unwrap_err();
    assert_eq!(e.code, ERR_CONFIG_UNSUPPORTED);
    assert_eq!(e.domain, FROM_XENXM);
    assert_eq!(
        e.detail_text(),
        "Multiple serial devices are not supported by xen-xm"
    );
}

#[test]
fn minimal_pv_guest_gets_the_implicit_devices() {
    let x = xl("name = \"a\"\n").unwrap();
    assert!(x.contains("<memory unit='KiB'>131072</memory>"), "{x}");
    assert!(x.contains(">linux</type>"), "{x}");
    assert!(x.contains("<console type='pty'>"), "{x}");
    assert!(x.contains("<memballoon model='xen'/>"), "{x}");
}

#[test]
fn hvm_clock_reset_cannot_be_written_as_xl() {
    let xml = "<domain type='xen'><name>a</name><memory>1024</memory>\
               <os><type>hvm</type></os><clock offset='utc' adjustment='reset'/></domain>";
    let e = xenconfig::domain_xml_to_native(xml, NativeFormat::Xl).unwrap_err();
    assert_eq!(e.detail_text(), "unsupported clock adjustment='reset'");
}

#[test]
fn format_names_round_trip() {
    for f in [NativeFormat::Xl, NativeFormat::Xm] {
        assert_eq!(NativeFormat::from_name(f.name()), Some(f));
    }
    assert_eq!(NativeFormat::from_name("lxc-tools"), None);
}

/// A small deterministic generator (no external crates needed).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

#[test]
fn arbitrary_settings_never_panic() {
    const KEYS: &[&str] = &[
        "name",
        "uuid",
        "memory",
        "maxmem",
        "vcpus",
        "maxvcpus",
        "cpus",
        "builder",
        "type",
        "vif",
        "disk",
        "serial",
        "parallel",
        "vfb",
        "vnc",
        "vncdisplay",
        "vncunused",
        "pci",
        "usbdevice",
        "usbctrl",
        "usbdev",
        "channel",
        "vnuma",
        "cpuid",
        "rtc_timeoffset",
        "soundhw",
        "spice",
        "spiceport",
        "nestedhvm",
        "boot",
        "kernel",
        "tsc_mode",
    ];
    const VALUES: &[&str] = &[
        "\"\"",
        "0",
        "1",
        "-1",
        "18446744073709551615",
        "\"hvm\"",
        "\"pvh\"",
        "\"a,b=c\"",
        "[ \"\" ]",
        "[ \"mac=zz,bridge=a.b\" ]",
        "[ \"vdev=,target=\" ]",
        "[ [ \"pnode=9\" ] ]",
        "[ \"0:0\", \"::.,\" ]",
        "\"tcp:\"",
        "\"udp:a@b\"",
        "\"host,x=q\"",
        "[ 1, [ 2 ] ]",
        "\"0-99999\"",
        "\"all\"",
        "[ \"connection=\" ]",
        "\"rbd:\"",
        "\"type=vnc,vncdisplay=x\"",
    ];
    let mut rng = Lcg(42);
    for _ in 0..3000 {
        let mut text = String::from("name = \"g\"\n");
        for _ in 0..(rng.next() % 6) {
            let k = KEYS[usize::try_from(rng.next()).unwrap_or(0) % KEYS.len()];
            let v = VALUES[usize::try_from(rng.next()).unwrap_or(0) % VALUES.len()];
            text.push_str(&format!("{k} = {v}\n"));
        }
        for f in [NativeFormat::Xl, NativeFormat::Xm] {
            if let Ok(def) = xenconfig::native_to_domain(&text, f, &XenCaps::default_x86_64()) {
                let _ = xenconfig::domain_to_native_conf(&def, f);
                let _ = xenconfig::build_domain_config(&def, &xenconfig::LibxlOptions::default());
            }
        }
    }
}

#[test]
fn arbitrary_disk_specs_never_panic() {
    let mut rng = Lcg(7);
    let atoms = [
        "vdev=xvda",
        "target=",
        ",",
        "=",
        "cdrom",
        "format=qcow2",
        "access=r",
        "x",
        " ",
        "phy:",
        "backendtype=tap",
    ];
    for _ in 0..5000 {
        let mut s = String::new();
        for _ in 0..(rng.next() % 8) {
            s.push_str(atoms[usize::try_from(rng.next()).unwrap_or(0) % atoms.len()]);
        }
        let _ = xenconfig::diskspec::parse(&s);
    }
}

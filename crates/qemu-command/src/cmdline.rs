// SPDX-License-Identifier: LGPL-2.1-or-later
//! Building the command line, section by section, in libvirt's order.

use conf::domain::DomainDef;
use conf::error::{ErrorCode, ErrorDomain, VirError};
use conf::xml::Element;
use qemu_caps::{QemuCaps, VirtType};

use crate::json::Props;
use crate::{CommandConfig, FdNumbering, FdSource, PassedFd, QemuCommand, SecretRef, TapSpec};

type Res<T> = Result<T, VirError>;

/// The numbers shown (pretend mode) for descriptors that cannot be named
/// by path (TPM passthrough, vhost-vsock).
const FIRST_PRETEND_FD: u32 = 3;

fn config_error(what: String) -> VirError {
    VirError::new(ErrorCode::ConfigUnsupported, ErrorDomain::Qemu, what)
}

/// An on/off switch attribute as a boolean.
fn on_off(v: Option<&str>) -> Option<bool> {
    match v {
        Some("on") => Some(true),
        Some("off") => Some(false),
        _ => None,
    }
}

fn unsupported(what: &str) -> VirError {
    VirError::new(
        ErrorCode::ConfigUnsupported,
        ErrorDomain::Qemu,
        format!("not yet: {what}"),
    )
}

/// What the builder keeps while it walks the definition.
struct Ctx<'a> {
    def: &'a DomainDef,
    caps: &'a QemuCaps,
    virt: VirtType,
    machine: String,
    q35: bool,
    args: Vec<String>,
    /// Boot devices of `<os><boot dev>` still to hand out: (dev, index).
    boot: Vec<(String, u32)>,
    /// The next `-add-fd` set number.
    fdset: u32,
    /// Whether chardev TLS is on in qemu.conf.
    chardev_tls: bool,
    /// qemu.conf chardev_tls_x509_verify.
    chardev_tls_verify: bool,
    /// qemu.conf chardev_tls_x509_secret_uuid.
    chardev_tls_secret: Option<String>,
    /// The settings (secrets, randomness).
    cfg: &'a CommandConfig,
    /// The descriptors handed out so far.
    fds: Vec<PassedFd>,
    /// Where generated channel sockets go
    /// (`LIBDIR/channel/target/domain-ID-NAME`).
    chan_dir: String,
}

impl Ctx<'_> {
    fn arg(&mut self, a: impl Into<String>) {
        self.args.push(a.into());
    }
    fn opt(&mut self, o: &str, v: impl Into<String>) {
        self.args.push(o.into());
        self.args.push(v.into());
    }
    fn device(&mut self, p: Props) {
        self.opt("-device", p.to_json());
    }
    fn object(&mut self, p: Props) {
        self.opt("-object", p.to_json());
    }
    fn devices(&self) -> impl Iterator<Item = &Element> {
        self.def.devices.iter()
    }
    fn root_bus(&self) -> &'static str {
        if self.q35 {
            "pcie.0"
        } else {
            "pci.0"
        }
    }
    /// Numbers a descriptor QEMU inherits (`harness`: the number libvirt's
    /// test harness prints for it) and records what it is.
    /// Whether nothing is passed (a command line only shown): sockets
    /// and files are named by path.
    fn pretend(&self) -> bool {
        self.cfg.fd_numbering == FdNumbering::Pretend
    }
    fn pass_fd(&mut self, harness: u32, source: FdSource) -> u32 {
        let fd = match self.cfg.fd_numbering {
            FdNumbering::Harness => harness,
            FdNumbering::Pretend => FIRST_PRETEND_FD + u32::try_from(self.fds.len()).unwrap_or(0),
            FdNumbering::From(first) => {
                first + u32::try_from(self.fds.len()).unwrap_or(u32::MAX - first)
            }
        };
        self.fds.push(PassedFd { fd, source });
        fd
    }
    /// The first still-unclaimed boot index for a device class.
    fn take_boot(&mut self, dev: &str) -> Option<u32> {
        let i = self.boot.iter().position(|(d, _)| d == dev)?;
        Some(self.boot.remove(i).1)
    }
}

/// Escapes a value for QEMU's comma-separated option syntax.
fn qemu_opt_escape(s: &str) -> String {
    s.replace(',', ",,")
}

fn parse_num(s: &str) -> Option<u64> {
    if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        u64::from_str_radix(h, 16).ok()
    } else {
        s.parse().ok()
    }
}

/// Adds `bus` and `addr` of a PCI `<address>` (libvirt's order: bus, then
/// multifunction, then addr).
fn pci_address(c: &Ctx, el: &Element, p: Props) -> Res<Props> {
    let Some(a) = el.child("address") else {
        return Err(unsupported("device without address"));
    };
    if a.attr("type") != Some("pci") {
        return Err(unsupported("non-PCI device address"));
    }
    if a.attr("domain").and_then(parse_num).unwrap_or(0) != 0 {
        return Err(unsupported("PCI domain other than 0"));
    }
    let bus = a.attr("bus").and_then(parse_num).unwrap_or(0);
    let slot = a.attr("slot").and_then(parse_num).unwrap_or(0);
    let func = a.attr("function").and_then(parse_num).unwrap_or(0);
    let busname = if bus == 0 {
        c.root_bus().to_string()
    } else {
        format!("pci.{bus}")
    };
    let mut p = p.s("bus", busname);
    match a.attr("multifunction") {
        Some("on") => p = p.b("multifunction", true),
        Some("off") => p = p.b("multifunction", false),
        _ => {}
    }
    let addr = if func == 0 {
        format!("{slot:#x}")
    } else {
        format!("{slot:#x}.{func:#x}")
    };
    if a.attr("zpci").is_some() || a.child("zpci").is_some() {
        return Err(unsupported("zPCI address"));
    }
    let acpi_index = el
        .child("acpi")
        .and_then(|a| a.attr("index"))
        .and_then(parse_num)
        .filter(|i| *i > 0);
    Ok(p.s("addr", addr).ou("acpi-index", acpi_index))
}

/// A USB device's place: the controller's bus and the port.
fn usb_address(c: &Ctx, el: &Element, p: Props) -> Res<Props> {
    let a = el
        .child("address")
        .filter(|a| a.attr("type") == Some("usb"))
        .ok_or_else(|| unsupported("USB device without a USB address"))?;
    let bus = a.attr("bus").and_then(parse_num).unwrap_or(0);
    Ok(p.s("bus", usb_bus(c, bus))
        .s("port", a.attr("port").unwrap_or("1")))
}

fn alias(el: &Element) -> Option<String> {
    el.child("alias")
        .and_then(|a| a.attr("name"))
        .map(str::to_string)
}

/// Builds the command line of `def` (parsed by the QEMU driver: defaults
/// and addresses assigned) for an emulator with capabilities `caps`, as
/// domain `id` (-1 for one not started).
pub fn build_command(
    def: &DomainDef,
    caps: &QemuCaps,
    cfg: &CommandConfig,
    id: i32,
) -> Res<QemuCommand> {
    let mut owned = def.clone();
    assign_usb_ports(&mut owned)?;
    let def = &owned;
    let virt = VirtType::from_domain_type(&def.virt_type)
        .ok_or_else(|| unsupported(&format!("domain type {}", def.virt_type)))?;
    let machine = def.os.machine.clone().unwrap_or_default();
    let q35 = machine.starts_with("q35") || machine.starts_with("pc-q35");
    if !machine.starts_with("pc") && !machine.starts_with("q35") {
        return Err(unsupported(&format!("machine {machine}")));
    }
    // The per-domain directory uses the name cut to 20 characters.
    let short: String = def.name.chars().take(20).collect();
    let priv_dir = format!("{}/domain-{id}-{short}", cfg.lib_dir);
    let mut c = Ctx {
        def,
        caps,
        virt,
        machine,
        q35,
        args: Vec::new(),
        boot: Vec::new(),
        fdset: 0,
        chardev_tls: cfg.chardev_tls,
        chardev_tls_verify: cfg.chardev_tls_verify,
        chardev_tls_secret: cfg.chardev_tls_secret.clone(),
        cfg,
        fds: Vec::new(),
        chan_dir: format!("{}/channel/target/domain-{id}-{short}", cfg.lib_dir),
    };
    check_unsupported(&c)?;
    for (i, d) in def.os.boot_devs.iter().enumerate() {
        c.boot.push((d.clone(), i as u32 + 1));
    }
    let mut env = vec![("LC_ALL".to_string(), "C".to_string())];
    env.extend(cfg.env_pass.iter().cloned());
    env.extend([
        ("PATH".into(), cfg.env_path.clone()),
        ("HOME".into(), priv_dir.clone()),
    ]);
    if let Some(u) = &cfg.env_user {
        env.push(("USER".into(), u.clone()));
        env.push(("LOGNAME".into(), u.clone()));
    }
    env.extend([
        ("XDG_DATA_HOME".into(), format!("{priv_dir}/.local/share")),
        ("XDG_CACHE_HOME".into(), format!("{priv_dir}/.cache")),
        ("XDG_CONFIG_HOME".into(), format!("{priv_dir}/.config")),
    ]);

    let vnc = def
        .devices
        .iter()
        .any(|d| d.local_name() == "graphics" && d.attr("type") == Some("vnc"));
    let spice = def
        .devices
        .iter()
        .any(|d| d.local_name() == "graphics" && d.attr("type") == Some("spice"));
    if (vnc && cfg.vnc_sasl) || (spice && cfg.spice_sasl) {
        env.push(("SASL_CONF_PATH".into(), "/etc/sasl2".into()));
    }
    if let Some(drv) = def
        .devices
        .iter()
        .find(|d| d.local_name() == "audio" && d.attr("type") == Some("sdl"))
        .and_then(|a| a.attr("driver"))
    {
        env.push(("SDL_AUDIODRIVER".into(), drv.to_string()));
    }
    c.opt(
        "-name",
        format!("guest={},debug-threads=on", qemu_opt_escape(&def.name)),
    );
    c.arg("-S");
    c.object(
        Props::new()
            .s("qom-type", "secret")
            .s("id", "masterKey0")
            .s("format", "raw")
            .s("file", format!("{priv_dir}/master-key.aes")),
    );
    let pflash = build_pflash(&mut c)?;
    build_machine(&mut c, pflash)?;
    c.opt("-accel", accel(&c)?);
    build_tseg(&mut c)?;
    build_cpu(&mut c)?;
    build_loader(&mut c)?;
    build_memory(&mut c)?;
    build_smp(&mut c)?;
    build_iothreads(&mut c)?;
    build_numa(&mut c)?;
    c.opt("-uuid", def.uuid.to_string());
    build_genid(&mut c)?;
    let has_graphics = c.devices().any(|d| d.name == "graphics");
    if !has_graphics {
        c.opt("-display", "none");
    }
    c.arg("-no-user-config");
    c.arg("-nodefaults");
    let mon = if c.pretend() {
        format!(
            "path={}",
            qemu_opt_escape(&format!("{priv_dir}/monitor.sock"))
        )
    } else {
        format!("fd={}", c.pass_fd(1729, FdSource::Monitor))
    };
    c.opt(
        "-chardev",
        format!("socket,id=charmonitor,{mon},server=on,wait=off"),
    );
    c.opt("-mon", "chardev=charmonitor,id=monitor,mode=control");
    build_clock(&mut c)?;
    c.arg("-no-shutdown");
    build_pm(&mut c)?;
    build_boot(&mut c)?;
    build_controllers(&mut c)?;
    build_memory_devices(&mut c)?;
    build_ccid_controllers(&mut c)?;
    build_disks(&mut c)?;
    build_filesystems(&mut c)?;
    build_interfaces(&mut c)?;
    build_smartcards(&mut c)?;
    build_serials(&mut c)?;
    build_parallels(&mut c)?;
    build_channels(&mut c)?;
    build_consoles(&mut c)?;
    build_tpms(&mut c)?;
    build_inputs(&mut c)?;
    build_audio(&mut c)?;
    build_graphics(&mut c, &priv_dir, cfg)?;
    build_videos(&mut c)?;
    build_sounds(&mut c)?;
    build_watchdogs(&mut c)?;
    build_redirdevs(&mut c)?;
    build_hostdevs(&mut c)?;
    build_memballoon(&mut c)?;
    build_rngs(&mut c)?;
    if cfg.seccomp_sandbox {
        c.opt(
            "-sandbox",
            "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny",
        );
    }
    build_panics(&mut c)?;
    build_vsock(&mut c)?;
    c.opt("-msg", "timestamp=on");
    Ok(QemuCommand {
        env,
        binary: def
            .emulator
            .clone()
            .unwrap_or_else(|| "/usr/bin/qemu-system-x86_64".into()),
        args: c.args,
        fds: c.fds,
    })
}

/// Gives USB devices without an address a port on the first USB bus, as
/// libvirt does when a guest starts: hubs, host devices, disks, smartcard
/// readers, inputs, serial ports, sound cards, redirected devices.
fn assign_usb_ports(def: &mut DomainDef) -> Res<()> {
    let is_usb = |d: &Element| -> bool {
        match d.local_name() {
            "hub" => d.attr("type") == Some("usb"),
            "hostdev" => d.attr("type") == Some("usb"),
            "disk" => d.child("target").and_then(|t| t.attr("bus")) == Some("usb"),
            "controller" => d.attr("type") == Some("ccid"),
            "input" => d.attr("bus") == Some("usb"),
            "serial" => d.child("target").and_then(|t| t.attr("type")) == Some("usb-serial"),
            "sound" => d.attr("model") == Some("usb"),
            "redirdev" => d.attr("bus") == Some("usb"),
            _ => false,
        }
    };
    let needs: Vec<usize> = [
        "hub",
        "hostdev",
        "disk",
        "controller",
        "input",
        "serial",
        "sound",
        "redirdev",
    ]
    .iter()
    .flat_map(|kind| {
        def.devices
            .iter()
            .enumerate()
            .filter(|(_, d)| d.local_name() == *kind && is_usb(d) && d.child("address").is_none())
            .map(|(i, _)| i)
            .collect::<Vec<_>>()
    })
    .collect();
    if needs.is_empty() {
        return Ok(());
    }
    let root = def.devices.iter().find(|d| {
        d.local_name() == "controller"
            && d.attr("type") == Some("usb")
            && d.attr("index").and_then(parse_num).unwrap_or(0) == 0
            && !d.attr("model").is_some_and(|m| m.starts_with("ich9-uhci"))
    });
    let Some(root) = root else {
        return Err(unsupported("USB device without a USB controller"));
    };
    let ports = match (root.attr("model"), root.attr("ports").and_then(parse_num)) {
        (_, Some(n)) => n,
        (Some("piix3-uhci") | Some("piix4-uhci") | Some("vt82c686b-uhci"), _) => 2,
        (Some("ich9-ehci1"), _) => 6,
        (Some("nec-xhci"), _) => 4,
        (Some("qemu-xhci"), _) => 15,
        (m, _) => return Err(unsupported(&format!("USB ports of {m:?}"))),
    };
    let mut used: Vec<u64> = def
        .devices
        .iter()
        .filter_map(|d| d.child("address"))
        .filter(|a| {
            a.attr("type") == Some("usb") && a.attr("bus").and_then(parse_num).unwrap_or(0) == 0
        })
        .filter_map(|a| {
            a.attr("port")
                .and_then(|p| p.split('.').next())
                .and_then(parse_num)
        })
        .collect();
    for i in needs {
        let port = (1..=ports)
            .find(|p| !used.contains(p))
            .ok_or_else(|| unsupported("USB hubs for more devices than root ports"))?;
        used.push(port);
        let addr = Element::new("address")
            .with_attr("type", "usb")
            .with_attr("bus", "0")
            .with_attr("port", &port.to_string());
        def.devices[i].push(addr);
    }
    Ok(())
}

/// The `-accel` value: the accelerator, with TCG's translation block
/// cache size in MiB when `<features><tcg><tb-cache>` sets one.
fn accel(c: &Ctx) -> Res<String> {
    let mut a = c.virt.accel_str().to_string();
    let Some(tcg) = c.def.other_element("features").and_then(|f| f.child("tcg")) else {
        return Ok(a);
    };
    if c.virt != VirtType::Qemu {
        return Err(config_error(format!(
            "TCG features are incompatible with domain type '{}'",
            c.virt.domain_type()
        )));
    }
    let mib = size_kib(tcg.child("tb-cache")).unwrap_or(0) >> 10;
    if mib > 0 {
        a.push_str(&format!(",tb-size={mib}"));
    }
    Ok(a)
}

/// The SMM TSEG size of `<features><smm state='on'><tseg>` (MiB unless a
/// unit says otherwise): q35 only, whole MiB.
fn build_tseg(c: &mut Ctx) -> Res<()> {
    let Some(smm) = c
        .def
        .other_element("features")
        .and_then(|f| f.child("smm"))
        .filter(|s| s.attr("state") == Some("on"))
    else {
        return Ok(());
    };
    let Some(tseg) = smm.child("tseg") else {
        return Ok(());
    };
    if !c.q35 {
        return Err(config_error(
            "SMM TSEG is only supported with q35 machine type".into(),
        ));
    }
    let kib = match tseg.attr("unit") {
        None => parse_num(tseg.text().trim()).map(|m| m.saturating_mul(1024)),
        Some(_) => size_kib(Some(tseg)),
    }
    .ok_or_else(|| unsupported("SMM TSEG size"))?;
    if kib % 1024 != 0 {
        return Err(config_error(
            "SMM TSEG size must be divisible by 1 MiB".into(),
        ));
    }
    c.opt(
        "-global",
        format!("mch.extended-tseg-mbytes={}", kib / 1024),
    );
    Ok(())
}

/// Refuses definitions with parts the builder does not produce yet.
fn check_unsupported(c: &Ctx) -> Res<()> {
    const OTHER_OK: &[&str] = &[
        "features",
        "pm",
        "cpu",
        "memoryBacking",
        "iothreads",
        "iothreadids",
        "defaultiothread",
        "genid",
        "cputune",
        // Cgroup settings of the guest's group: nothing on the command line.
        "memtune",
        "blkiotune",
        "vcpus",
        "numatune",
        // The cgroup partition: where the guest is placed, not how QEMU
        // runs (a guest migrated from libvirt carries one).
        "resource",
    ];
    for o in &c.def.other {
        let n = o.local_name();
        if !OTHER_OK.contains(&n) {
            return Err(unsupported(&format!("<{n}>")));
        }
    }
    if let Some(f) = c.def.other_element("features") {
        for e in f.elements() {
            if ![
                "acpi",
                "apic",
                "pae",
                "smm",
                "pvspinlock",
                "hyperv",
                "vmport",
                "tcg",
            ]
            .contains(&e.local_name())
            {
                return Err(unsupported(&format!("feature {}", e.name)));
            }
            if e.local_name() == "tcg" && e.elements().any(|t| t.local_name() != "tb-cache") {
                return Err(unsupported("TCG feature options"));
            }
            if e.local_name() == "smm" && e.elements().any(|t| t.local_name() != "tseg") {
                return Err(unsupported("SMM options"));
            }
        }
    }
    if let Some(cpu) = c.def.other_element("cpu") {
        if cpu
            .attr("mode")
            .is_some_and(|m| m != "custom" && m != "host-passthrough")
        {
            return Err(unsupported("CPU mode"));
        }
        for e in cpu.elements() {
            if !["model", "topology", "numa", "feature", "maxphysaddr"].contains(&e.local_name()) {
                return Err(unsupported(&format!("<cpu><{}>", e.name)));
            }
        }
    }

    for o in &c.def.os.other {
        if !["bootmenu", "loader", "nvram", "firmware"].contains(&o.local_name()) {
            return Err(unsupported(&format!("<os><{}>", o.name)));
        }
    }
    const DEV_OK: &[&str] = &[
        "emulator",
        "disk",
        "controller",
        "input",
        "memballoon",
        "serial",
        "console",
        "video",
        "audio",
        "watchdog",
        "graphics",
        "interface",
        "parallel",
        "sound",
        "rng",
        "channel",
        "panic",
        "filesystem",
        "memory",
        "hostdev",
        "tpm",
        "vsock",
        "redirdev",
        "smartcard",
    ];
    for d in c.devices() {
        if !DEV_OK.contains(&d.local_name()) {
            return Err(unsupported(&format!("device <{}>", d.name)));
        }
    }

    // vCPU placement and <cputune> are applied to the running process
    // (affinity, cgroups), not on the command line.
    Ok(())
}

fn os_child<'a>(c: &Ctx<'a>, name: &str) -> Option<&'a Element> {
    c.def.os.other.iter().find(|e| e.local_name() == name)
}

/// The `-blockdev` pair of a firmware image (`libvirt-pflashN-*`).
fn pflash_blockdev(c: &mut Ctx, n: u32, storage: Props, format: &str, readonly: bool) {
    c.opt(
        "-blockdev",
        storage
            .s("node-name", format!("libvirt-pflash{n}-storage"))
            .b("auto-read-only", true)
            .s("discard", "unmap")
            .to_json(),
    );
    c.opt(
        "-blockdev",
        Props::new()
            .s("node-name", format!("libvirt-pflash{n}-format"))
            .b("read-only", readonly)
            .s("driver", format)
            .s("file", format!("libvirt-pflash{n}-storage"))
            .to_json(),
    );
}

/// The firmware flash images; gives how many there are (0, 1 or 2).
fn build_pflash(c: &mut Ctx) -> Res<u32> {
    let Some(loader) = os_child(c, "loader") else {
        return Ok(0);
    };
    if loader.attr("type") != Some("pflash") {
        return Ok(0);
    }
    let path = loader.text();
    if path.is_empty() {
        return Err(unsupported("pflash loader without path"));
    }
    let fmt = loader.attr("format").unwrap_or("raw").to_string();
    let ro = loader.attr("readonly") == Some("yes");
    let st = Props::new().s("driver", "file").s("filename", path);
    pflash_blockdev(c, 0, st, &fmt, ro);
    let Some(nvram) = os_child(c, "nvram") else {
        return Ok(1);
    };
    let nfmt = nvram.attr("format").unwrap_or("raw").to_string();
    let st = match nvram.attr("type") {
        None => {
            let npath = nvram.text();
            if npath.is_empty() {
                return Ok(1);
            }
            Props::new().s("driver", "file").s("filename", npath)
        }
        Some("file") => {
            let f = nvram
                .child("source")
                .and_then(|s| s.attr("file"))
                .ok_or_else(|| unsupported("NVRAM file without path"))?;
            Props::new().s("driver", "file").s("filename", f)
        }
        Some("network") => {
            let src = nvram
                .child("source")
                .ok_or_else(|| unsupported("NVRAM source"))?;
            network_storage(c, src, "libvirt-pflash1-storage")?
        }
        Some(t) => return Err(unsupported(&format!("NVRAM type {t}"))),
    };
    pflash_blockdev(c, 1, st, &nfmt, false);
    Ok(2)
}

/// `-bios` of a ROM loader, or the secure flash switch of a pflash one.
fn build_loader(c: &mut Ctx) -> Res<()> {
    let Some(loader) = os_child(c, "loader") else {
        return Ok(());
    };
    match loader.attr("type") {
        Some("pflash") => {
            if loader.attr("secure") == Some("yes") {
                c.opt("-global", "driver=cfi.pflash01,property=secure,value=on");
            }
        }
        _ => {
            let path = loader.text();
            if !path.is_empty() {
                c.opt("-bios", path);
            }
        }
    }
    Ok(())
}

fn build_machine(c: &mut Ctx, pflash: u32) -> Res<()> {
    let mut m = c.machine.clone();
    m.push_str(",usb=off");
    if let Some(smm) = c.def.other_element("features").and_then(|f| f.child("smm")) {
        match smm.attr("state") {
            Some("off") => m.push_str(",smm=off"),
            _ => m.push_str(",smm=on"),
        }
    }
    if let Some(v) = c
        .def
        .other_element("features")
        .and_then(|f| f.child("vmport"))
        .and_then(|v| v.attr("state"))
    {
        m.push_str(&format!(",vmport={v}"));
    }
    m.push_str(",dump-guest-core=off");
    if c.devices()
        .any(|d| d.local_name() == "memory" && d.attr("model") == Some("nvdimm"))
    {
        m.push_str(",nvdimm=on");
    }
    if numa_cells(c).is_empty() {
        if let Some(id) = c.caps.machine_default_ram_id(c.virt, &c.machine) {
            m.push_str(&format!(",memory-backend={id}"));
        }
    }
    for n in 0..pflash {
        m.push_str(&format!(",pflash{n}=libvirt-pflash{n}-format"));
    }
    if let Some(h) = c
        .def
        .clock
        .children_named("timer")
        .find(|t| t.attr("name") == Some("hpet"))
        .and_then(|t| t.attr("present"))
    {
        m.push_str(if h == "yes" { ",hpet=on" } else { ",hpet=off" });
    }
    // The PC speaker is a machine property, not a device.
    if let Some(pcspk) = c
        .devices()
        .find(|d| d.local_name() == "sound" && d.attr("model") == Some("pcspk"))
    {
        if let Some(a) = sound_audio(c, pcspk) {
            m.push_str(&format!(",pcspk-audiodev={a}"));
        }
    }
    let acpi = c
        .def
        .other_element("features")
        .is_some_and(|f| f.child("acpi").is_some());
    m.push_str(if acpi { ",acpi=on" } else { ",acpi=off" });
    c.opt("-machine", m);
    Ok(())
}

fn build_cpu(c: &mut Ctx) -> Res<()> {
    let cpu_el = c.def.other_element("cpu");
    let passthrough = cpu_el.and_then(|e| e.attr("mode")) == Some("host-passthrough");
    let model = if passthrough {
        Some("host".to_string())
    } else {
        cpu_el
            .and_then(|e| e.child("model"))
            .map(|m| m.text())
            .filter(|m| !m.is_empty())
            .or_else(|| {
                c.caps
                    .machine_default_cpu(c.virt, &c.machine)
                    .map(str::to_string)
            })
    };
    let Some(mut cpu) = model else {
        return Ok(());
    };
    if let Some(e) = cpu_el {
        if passthrough {
            let m = e.attr("migratable").unwrap_or("on");
            cpu.push_str(&format!(",migratable={m}"));
            if let Some(pa) = e.child("maxphysaddr") {
                match pa.attr("mode") {
                    Some("emulate") => cpu.push_str(",host-phys-bits=off"),
                    Some("passthrough") => cpu.push_str(",host-phys-bits=on"),
                    m => return Err(unsupported(&format!("maxphysaddr {m:?}"))),
                }
                if let Some(l) = pa.attr("limit") {
                    cpu.push_str(&format!(",host-phys-bits-limit={l}"));
                }
            }
        } else if e.child("maxphysaddr").is_some() {
            return Err(unsupported("maxphysaddr of a custom CPU"));
        }
        for f in e.children_named("feature") {
            let name = f.attr("name").unwrap_or("");
            let q = qemu_caps::cpu_feature_to_qemu("x86_64", name).replace('_', "-");
            match f.attr("policy").unwrap_or("require") {
                "require" | "force" => cpu.push_str(&format!(",{q}=on")),
                "disable" | "forbid" => cpu.push_str(&format!(",{q}=off")),
                p => return Err(unsupported(&format!("CPU feature policy {p}"))),
            }
        }
    }
    let timer = |name: &str| {
        c.def
            .clock
            .children_named("timer")
            .find(|t| t.attr("name") == Some(name))
    };
    if let Some(t) = timer("kvmclock") {
        match t.attr("present") {
            Some("no") => cpu.push_str(",kvmclock=off"),
            Some("yes") => cpu.push_str(",kvmclock=on"),
            _ => {}
        }
    }
    let features = c.def.other_element("features");
    let feat = |n: &str| features.and_then(|f| f.child(n));
    if let Some(eoi) = feat("apic").and_then(|a| a.attr("eoi")) {
        cpu.push_str(if eoi == "on" {
            ",kvm-pv-eoi=on"
        } else {
            ",kvm-pv-eoi=off"
        });
    }
    if let Some(st) = feat("pvspinlock").and_then(|a| a.attr("state")) {
        cpu.push_str(if st == "on" {
            ",kvm-pv-unhalt=on"
        } else {
            ",kvm-pv-unhalt=off"
        });
    }
    if let Some(hv) = feat("hyperv") {
        match hv.attr("mode") {
            Some("passthrough") => cpu.push_str(",hv-passthrough=on"),
            Some("custom") | None => {
                const ORDER: &[&str] = &[
                    "relaxed",
                    "vapic",
                    "spinlocks",
                    "vpindex",
                    "runtime",
                    "synic",
                    "stimer",
                    "reset",
                    "vendor_id",
                    "frequencies",
                    "reenlightenment",
                    "tlbflush",
                    "ipi",
                    "evmcs",
                    "avic",
                ];
                for e in hv.elements() {
                    if !ORDER.contains(&e.local_name()) {
                        return Err(unsupported(&format!("hyperv {}", e.name)));
                    }
                }
                for name in ORDER {
                    let Some(e) = hv.child(name) else { continue };
                    if e.attr("state") != Some("on") {
                        continue;
                    }
                    match *name {
                        "spinlocks" => {
                            let r = e.attr("retries").and_then(parse_num).unwrap_or(0);
                            cpu.push_str(&format!(",hv-spinlocks={r:#x}"));
                        }
                        "vendor_id" => {
                            cpu.push_str(&format!(
                                ",hv-vendor-id={}",
                                qemu_opt_escape(e.attr("value").unwrap_or(""))
                            ));
                        }
                        "stimer" => {
                            cpu.push_str(",hv-stimer=on");
                            if e.child("direct").and_then(|d| d.attr("state")) == Some("on") {
                                cpu.push_str(",hv-stimer-direct=on");
                            }
                        }
                        n => cpu.push_str(&format!(",hv-{n}=on")),
                    }
                }
            }
            Some(m) => return Err(unsupported(&format!("hyperv mode {m}"))),
        }
    }
    if c.devices()
        .any(|d| d.local_name() == "panic" && d.attr("model") == Some("hyperv"))
    {
        cpu.push_str(",hv-crash");
    }
    c.opt("-cpu", cpu);
    Ok(())
}

/// What `<memoryBacking>` asks for.
struct Backing {
    /// (page size KiB, nodeset) of `<hugepages><page>`.
    pages: Vec<(u64, Option<String>)>,
    hugepages: bool,
    source: Option<String>,
    access: Option<String>,
    prealloc: bool,
    threads: Option<u64>,
    locked: bool,
    discard: bool,
}

fn backing(c: &Ctx) -> Res<Backing> {
    let mut b = Backing {
        pages: Vec::new(),
        hugepages: false,
        source: None,
        access: None,
        prealloc: false,
        threads: None,
        locked: false,
        discard: false,
    };
    let Some(mb) = c.def.other_element("memoryBacking") else {
        return Ok(b);
    };
    for e in mb.elements() {
        match e.local_name() {
            "hugepages" => {
                b.hugepages = true;
                for p in e.children_named("page") {
                    let size = p.attr("size").and_then(parse_num).unwrap_or(0);
                    let kib = match p.attr("unit").unwrap_or("KiB") {
                        "KiB" | "k" | "K" => size,
                        "MiB" | "M" => size * 1024,
                        "GiB" | "G" => size * 1024 * 1024,
                        u => return Err(unsupported(&format!("page unit {u}"))),
                    };
                    b.pages.push((kib, p.attr("nodeset").map(str::to_string)));
                }
            }
            "source" => b.source = e.attr("type").map(str::to_string),
            "access" => b.access = e.attr("mode").map(str::to_string),
            "allocation" => {
                if e.attr("mode") == Some("immediate") {
                    b.prealloc = true;
                }
                b.threads = e.attr("threads").and_then(parse_num);
            }
            "locked" => b.locked = true,
            "discard" => b.discard = true,
            n => return Err(unsupported(&format!("<memoryBacking><{n}>"))),
        }
    }
    Ok(b)
}

/// Whether NUMA node `node` is in a libvirt bitmap string (`0,2-3`).
fn in_nodeset(set: &str, node: u64) -> bool {
    set.split(',').any(|part| match part.split_once('-') {
        Some((a, b)) => {
            let (a, b) = (parse_num(a).unwrap_or(1), parse_num(b).unwrap_or(0));
            a <= node && node <= b
        }
        None => parse_num(part) == Some(node),
    })
}

/// The huge page size (KiB) backing NUMA node `node` (None: no huge pages
/// there, or the system page size).
fn hugepage_kib(b: &Backing, node: Option<u64>) -> Option<u64> {
    if !b.hugepages {
        return None;
    }
    let size = if b.pages.is_empty() {
        2048
    } else {
        let specific = node.and_then(|n| {
            b.pages
                .iter()
                .find(|(_, ns)| ns.as_deref().is_some_and(|ns| in_nodeset(ns, n)))
        });
        let generic = b.pages.iter().find(|(_, ns)| ns.is_none());
        match specific.or(generic) {
            Some((0, _)) => 2048,
            Some((k, _)) => *k,
            None => return None,
        }
    };
    (size != 4).then_some(size)
}

/// The memory backend object of the guest RAM (`pc.ram`) or of a NUMA
/// node (`ram-nodeN`).
fn memory_backend(
    c: &Ctx,
    b: &Backing,
    id: &str,
    node: Option<(u64, &Element)>,
    bytes: u64,
) -> Res<Props> {
    let huge = hugepage_kib(b, node.map(|(n, _)| n));
    if let Some(k) = huge {
        // Huge pages come from the hugetlbfs mounts of 2 MiB and 1 GiB.
        if k != 2048 && k != 1048576 {
            return Err(VirError::new(
                ErrorCode::InternalError,
                ErrorDomain::Qemu,
                format!("Unable to find any usable hugetlbfs mount for {k} KiB"),
            ));
        }
    }
    let short: String = c.def.name.chars().take(20).collect();
    let access = node
        .and_then(|(_, cell)| cell.attr("memAccess"))
        .map(str::to_string)
        .or_else(|| b.access.clone());
    let discard = node
        .and_then(|(_, cell)| cell.attr("discard"))
        .map(|d| d == "yes")
        .or(b.discard.then_some(true));
    let memfd = b.source.as_deref() == Some("memfd");
    let file = !memfd && (huge.is_some() || b.source.as_deref() == Some("file"));
    let mut p = Props::new();
    if memfd {
        p = p.s("qom-type", "memory-backend-memfd").s("id", id);
        if let Some(k) = huge {
            p = p.b("hugetlb", true).u("hugetlbsize", k * 1024);
        }
    } else if file {
        let path = match huge {
            Some(k) => format!(
                "/dev/hugepages{}/libvirt/qemu/-1-{short}",
                if k == 2048 { "2M" } else { "1G" }
            ),
            None => format!("/var/lib/libvirt/qemu/ram/-1-{short}/{id}"),
        };
        p = p
            .s("qom-type", "memory-backend-file")
            .s("id", id)
            .s("mem-path", path);
    } else {
        p = p.s("qom-type", "memory-backend-ram").s("id", id);
    }
    if file {
        if let Some(d) = discard {
            p = p.b("discard-data", d);
        }
    }
    match access.as_deref() {
        Some("shared") => p = p.b("share", true),
        Some("private") => p = p.b("share", false),
        _ => {}
    }
    if node.is_none() && (memfd || file) {
        p = p.b("x-use-canonical-path-for-ramblock-id", false);
    }
    if huge.is_some() || b.prealloc {
        p = p.b("prealloc", true).ou("prealloc-threads", b.threads);
    }
    Ok(p.u("size", bytes))
}

/// A libvirt bitmap (`0-2,^1`) as a sorted list.
fn parse_bitmap(set: &str) -> Res<Vec<u64>> {
    let mut on = std::collections::BTreeSet::new();
    let mut off = Vec::new();
    for part in set.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (neg, part) = match part.strip_prefix('^') {
            Some(p) => (true, p),
            None => (false, part),
        };
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (parse_num(a), parse_num(b)),
            None => (parse_num(part), parse_num(part)),
        };
        let (Some(a), Some(b)) = (a, b) else {
            return Err(unsupported(&format!("bitmap {set}")));
        };
        for n in a..=b {
            if neg {
                off.push(n);
            } else {
                on.insert(n);
            }
        }
    }
    for n in off {
        on.remove(&n);
    }
    Ok(on.into_iter().collect())
}

/// The host nodes and policy `<numatune>` gives guest node `cell` (None:
/// the whole guest RAM): `(nodes, policy)`; restrictive mode gives none.
fn numatune_for(c: &Ctx, cell: Option<u64>) -> Res<Option<(Vec<u64>, &'static str)>> {
    let Some(nt) = c.def.other_element("numatune") else {
        return Ok(None);
    };
    for e in nt.elements() {
        if !["memory", "memnode"].contains(&e.local_name()) {
            return Err(unsupported(&format!("<numatune><{}>", e.name)));
        }
    }
    let node = cell.and_then(|id| {
        nt.children_named("memnode")
            .find(|m| m.attr("cellid").and_then(parse_num) == Some(id))
    });
    let Some(e) = node.or_else(|| nt.child("memory")) else {
        return Ok(None);
    };
    if e.attr("placement") == Some("auto") {
        return Err(unsupported("automatic NUMA placement"));
    }
    let Some(set) = e.attr("nodeset") else {
        return Ok(None);
    };
    let nodes = parse_bitmap(set)?;
    if let Some(bad) = nodes.iter().find(|n| **n >= c.cfg.host_numa_nodes) {
        return Err(config_error(format!("NUMA node {bad} is unavailable")));
    }
    let policy = match e.attr("mode").unwrap_or("strict") {
        "strict" => "bind",
        "preferred" => "preferred",
        "interleave" => "interleave",
        "restrictive" => return Ok(None),
        m => return Err(unsupported(&format!("numatune mode {m}"))),
    };
    Ok(Some((nodes, policy)))
}

/// Adds `host-nodes`/`policy` to a memory backend, and the thread context
/// object its preallocation runs in (emitted before it).
fn numa_bind(c: &mut Ctx, p: Props, id: &str, cell: Option<u64>) -> Res<Props> {
    use crate::json::Prop;
    let Some((nodes, policy)) = numatune_for(c, cell)? else {
        return Ok(p);
    };
    let arr = || Prop::Arr(nodes.iter().map(|n| Prop::Scalar((*n).into())).collect());
    let prealloc = p.0.iter().any(|(k, _)| k == "prealloc");
    let mut p = p.raw("host-nodes", arr()).s("policy", policy);
    if prealloc {
        c.object(
            Props::new()
                .s("qom-type", "thread-context")
                .s("id", format!("tc-{id}"))
                .raw("node-affinity", arr()),
        );
        p = p.s("prealloc-context", format!("tc-{id}"));
    }
    Ok(p)
}

fn numa_cells(c: &Ctx) -> Vec<Element> {
    c.def
        .other_element("cpu")
        .and_then(|e| e.child("numa"))
        .map(|n| n.children_named("cell").cloned().collect())
        .unwrap_or_default()
}

fn build_memory(c: &mut Ctx) -> Res<()> {
    let b = backing(c)?;
    // Guest RAM is a whole number of MiB on x86 (rounded up).
    let cells = numa_cells(c);
    let devices: u64 = c
        .devices()
        .filter(|d| d.local_name() == "memory")
        .map(memory_device_kib)
        .sum();
    let kib = if cells.is_empty() {
        c.def.memory_kib.saturating_sub(devices).div_ceil(1024) * 1024
    } else {
        cells
            .iter()
            .map(|e| {
                e.attr("memory")
                    .and_then(parse_num)
                    .unwrap_or(0)
                    .div_ceil(1024)
                    * 1024
            })
            .sum()
    };
    let mut m = format!("size={kib}k");
    if c.def.max_memory_kib != 0 {
        let max = c.def.max_memory_kib.div_ceil(4) * 4;
        if c.def.memory_slots != 0 {
            m.push_str(&format!(",slots={}", c.def.memory_slots));
        }
        m.push_str(&format!(",maxmem={max}k"));
    }
    c.opt("-m", m);
    if cells.is_empty() {
        if let Some(id) = c.caps.machine_default_ram_id(c.virt, &c.machine) {
            let id = id.to_string();
            let p = memory_backend(c, &b, &id, None, kib * 1024)?;
            let p = numa_bind(c, p, &id, None)?;
            c.object(p);
        }
    }
    c.opt(
        "-overcommit",
        if b.locked {
            "mem-lock=on"
        } else {
            "mem-lock=off"
        },
    );
    Ok(())
}

fn build_numa(c: &mut Ctx) -> Res<()> {
    let numa = c.def.other_element("cpu").and_then(|e| e.child("numa"));
    let Some(numa) = numa else {
        return Ok(());
    };
    for e in numa.elements() {
        if e.local_name() != "cell" {
            return Err(unsupported(&format!("NUMA <{}>", e.name)));
        }
        if e.elements().next().is_some() {
            return Err(unsupported("NUMA cell distances or caches"));
        }
        for (k, _) in &e.attrs {
            if !["id", "cpus", "memory", "unit", "memAccess", "discard"].contains(&k.as_str()) {
                return Err(unsupported(&format!("NUMA cell {k}")));
            }
        }
    }
    let b = backing(c)?;
    let cells = numa_cells(c);
    // Old machine types take a node's RAM size directly, unless a node
    // needs a backend object of its own.
    let legacy = c.caps.machine_numa_mem_supported(c.virt, &c.machine)
        && !b.hugepages
        && b.source.is_none()
        && b.access.is_none()
        && cells.iter().all(|e| e.attr("memAccess").is_none())
        && c.def.other_element("numatune").is_none();
    if legacy {
        if b.prealloc {
            c.arg("-mem-prealloc");
        }
        for (i, cell) in cells.iter().enumerate() {
            let id = cell.attr("id").and_then(parse_num).unwrap_or(i as u64);
            let kib = cell.attr("memory").and_then(parse_num).unwrap_or(0);
            let mut n = format!("node,nodeid={id}");
            if let Some(cpus) = cell.attr("cpus") {
                for part in cpus.split(',').filter(|p| !p.is_empty()) {
                    n.push_str(&format!(",cpus={part}"));
                }
            }
            n.push_str(&format!(",mem={}", kib / 1024));
            c.opt("-numa", n);
        }
        return Ok(());
    }
    for (i, cell) in cells.iter().enumerate() {
        let id = cell.attr("id").and_then(parse_num).unwrap_or(i as u64);
        let kib = cell
            .attr("memory")
            .and_then(parse_num)
            .unwrap_or(0)
            .div_ceil(1024)
            * 1024;
        let bid = format!("ram-node{id}");
        let p = memory_backend(c, &b, &bid, Some((id, cell)), kib * 1024)?;
        let p = numa_bind(c, p, &bid, Some(id))?;
        c.object(p);
        let mut n = format!("node,nodeid={id}");
        if let Some(cpus) = cell.attr("cpus") {
            for part in cpus.split(',').filter(|p| !p.is_empty()) {
                n.push_str(&format!(",cpus={part}"));
            }
        }
        n.push_str(&format!(",memdev=ram-node{id}"));
        c.opt("-numa", n);
    }
    Ok(())
}

fn build_smp(c: &mut Ctx) -> Res<()> {
    let n = c.def.vcpus_max;
    let cur = c.def.vcpus_current;
    let mut smp = format!("{cur}");
    if cur != n {
        smp.push_str(&format!(",maxcpus={n}"));
    }
    let topo = c
        .def
        .other_element("cpu")
        .and_then(|e| e.child("topology"))
        .cloned();
    match topo {
        Some(t) => {
            let g = |k: &str| t.attr(k).and_then(parse_num).unwrap_or(1);
            if t.attr("clusters").is_some() {
                return Err(unsupported("CPU clusters"));
            }
            smp.push_str(&format!(
                ",sockets={},dies={},cores={},threads={}",
                g("sockets"),
                g("dies"),
                g("cores"),
                g("threads")
            ));
        }
        None => smp.push_str(&format!(",sockets={n},cores=1,threads=1")),
    }
    c.opt("-smp", smp);
    Ok(())
}

fn build_genid(c: &mut Ctx) -> Res<()> {
    let Some(g) = c.def.other_element("genid") else {
        return Ok(());
    };
    let guid = g.text().trim().to_string();
    if guid.is_empty() {
        return Err(unsupported("generating a genid"));
    }
    c.device(
        Props::new()
            .s("driver", "vmgenid")
            .s("guid", guid)
            .s("id", "vmgenid0"),
    );
    Ok(())
}

fn build_clock(c: &mut Ctx) -> Res<()> {
    let clock = &c.def.clock;
    let mut rtc = match clock.attr("offset").unwrap_or("utc") {
        "utc" if clock.attr("adjustment").is_none() => "base=utc".to_string(),
        "localtime" if matches!(clock.attr("adjustment"), None | Some("reset")) => {
            "base=localtime".to_string()
        }
        // A fixed start, or the host's UTC time moved by the adjustment.
        "absolute" => match clock.attr("start").map(str::parse::<i64>) {
            Some(Ok(start)) => format!("base={}", crate::utc_date_time(start)),
            _ => return Err(unsupported("clock offset absolute without a start")),
        },
        "variable" if clock.attr("basis").unwrap_or("utc") == "utc" => {
            let adjustment = match clock.attr("adjustment").map(str::parse::<i64>) {
                None => 0,
                Some(Ok(a)) => a,
                Some(Err(_)) => return Err(unsupported("clock adjustment")),
            };
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0));
            format!(
                "base={}",
                crate::utc_date_time(now.saturating_add(adjustment))
            )
        }
        o => return Err(unsupported(&format!("clock offset {o}"))),
    };
    let mut pit = None;
    for t in clock.elements() {
        let name = t.attr("name").unwrap_or("");
        let known = t
            .attrs
            .iter()
            .all(|(k, _)| ["name", "present", "tickpolicy"].contains(&k.as_str()))
            && t.elements().next().is_none();
        if !known {
            return Err(unsupported(&format!("timer {name} options")));
        }
        match (name, t.attr("tickpolicy")) {
            ("rtc", Some("catchup")) => rtc.push_str(",driftfix=slew"),
            ("rtc", None) | ("kvmclock", None) | ("hpet", None) => {}
            ("pit", Some("delay")) => pit = Some("delay"),
            ("pit", None) => {}
            (n, tp) => return Err(unsupported(&format!("timer {n} {tp:?}"))),
        }
    }
    c.opt("-rtc", rtc);
    if let Some(p) = pit {
        c.opt("-global", format!("kvm-pit.lost_tick_policy={p}"));
    }
    Ok(())
}

fn build_boot(c: &mut Ctx) -> Res<()> {
    let mut b = String::new();
    for o in &c.def.os.other {
        if o.local_name() == "bootmenu" {
            match o.attr("enable") {
                Some("yes") => b.push_str("menu=on,"),
                Some("no") => b.push_str("menu=off,"),
                _ => {}
            }
            if let Some(t) = o.attr("timeout") {
                b.push_str(&format!("splash-time={t},"));
            }
        }
    }
    b.push_str("strict=on");
    c.opt("-boot", b);
    // Direct kernel boot: the files as given, no option escaping.
    let os = &c.def.os.boot;
    let direct = [
        ("-kernel", os.kernel.clone()),
        ("-initrd", os.initrd.clone()),
        ("-append", os.cmdline.clone()),
        ("-dtb", os.dtb.clone()),
    ];
    for (opt, v) in direct {
        if let Some(v) = v {
            c.opt(opt, v);
        }
    }
    Ok(())
}

fn build_controllers(c: &mut Ctx) -> Res<()> {
    let ctrls: Vec<Element> = c
        .devices()
        .filter(|d| d.local_name() == "controller")
        .cloned()
        .collect();
    // The i440fx root bus's ACPI hotplug switch is a global property.
    for el in &ctrls {
        if el.attr("type") == Some("pci") && el.attr("model") == Some("pci-root") {
            if let Some(h) = el.child("target").and_then(|t| t.attr("hotplug")) {
                c.opt("-global", format!("PIIX4_PM.acpi-root-pci-hotplug={h}"));
            }
        }
    }
    // libvirt emits controllers grouped by type: PCI first (by index),
    // then the others in definition order.
    for el in &ctrls {
        let ty = el.attr("type").unwrap_or("");
        let model = el.attr("model").unwrap_or("");
        if ty != "pci" {
            continue;
        }
        match model {
            "pci-root" | "pcie-root" => {}
            "pcie-root-port"
            | "pci-bridge"
            | "dmi-to-pci-bridge"
            | "pcie-to-pci-bridge"
            | "pcie-switch-upstream-port"
            | "pcie-switch-downstream-port" => {
                let idx = el.attr("index").and_then(parse_num).unwrap_or(0);
                let t = el.child("target");
                let port = t.and_then(|t| t.attr("port")).and_then(parse_num);
                let chassis = t.and_then(|t| t.attr("chassis")).and_then(parse_num);
                let chassis_nr = t.and_then(|t| t.attr("chassisNr")).and_then(parse_num);
                let default_name = match model {
                    "pcie-root-port" => "pcie-root-port",
                    "pci-bridge" => "pci-bridge",
                    "dmi-to-pci-bridge" => "i82801b11-bridge",
                    "pcie-to-pci-bridge" => "pcie-pci-bridge",
                    "pcie-switch-upstream-port" => "x3130-upstream",
                    _ => "xio3130-downstream",
                };
                let mname = el
                    .child("model")
                    .and_then(|m| m.attr("name"))
                    .unwrap_or(default_name);
                if el.child("driver").is_some()
                    || t.is_some_and(|t| {
                        t.attrs.iter().any(|(k, _)| {
                            !["port", "chassis", "hotplug", "chassisNr"].contains(&k.as_str())
                        })
                    })
                {
                    return Err(unsupported(&format!("{model} options")));
                }
                let mut p = Props::new()
                    .s("driver", mname)
                    .ou("chassis_nr", chassis_nr)
                    .ou("port", port)
                    .ou("chassis", chassis)
                    .s("id", format!("pci.{idx}"));
                match t.and_then(|t| t.attr("hotplug")) {
                    Some("off") => p = p.b("hotplug", false),
                    Some("on") => p = p.b("hotplug", true),
                    _ => {}
                }
                let p = pci_address(c, el, p)?;
                c.device(p);
            }
            m => return Err(unsupported(&format!("PCI controller {m}"))),
        }
    }
    for kind in ["usb", "scsi", "ide", "sata", "virtio-serial"] {
        for el in ctrls.iter().filter(|e| e.attr("type") == Some(kind)) {
            build_controller(c, el)?;
        }
    }
    for el in &ctrls {
        let ty = el.attr("type").unwrap_or("");
        if ![
            "pci",
            "usb",
            "scsi",
            "ide",
            "sata",
            "virtio-serial",
            "fdc",
            "ccid",
        ]
        .contains(&ty)
        {
            return Err(unsupported(&format!("{ty} controller")));
        }
    }
    Ok(())
}

fn build_controller(c: &mut Ctx, el: &Element) -> Res<()> {
    let ty = el.attr("type").unwrap_or("");
    let model = el.attr("model");
    let idx = el.attr("index").and_then(parse_num).unwrap_or(0);
    for ch in el.elements() {
        if !["address", "alias", "driver", "master"].contains(&ch.local_name()) {
            return Err(unsupported(&format!("{ty} controller <{}>", ch.name)));
        }
    }
    let drv_el = el.child("driver");
    if let Some(d) = drv_el {
        let virtio = ty == "virtio-serial"
            || (ty == "scsi" && model.is_some_and(|m| m.starts_with("virtio")));
        if !virtio {
            return Err(unsupported(&format!("{ty} controller <driver>")));
        }
        for (k, _) in &d.attrs {
            if ![
                "iommu",
                "ats",
                "packed",
                "page_per_vq",
                "iothread",
                "queues",
                "cmd_per_lun",
                "max_sectors",
                "ioeventfd",
            ]
            .contains(&k.as_str())
            {
                return Err(unsupported(&format!("{ty} controller driver {k}")));
            }
        }
    }
    let extra_attrs = el
        .attrs
        .iter()
        .any(|(k, _)| !["type", "index", "model", "ports"].contains(&k.as_str()));
    if el.attr("ports").is_some() && !matches!(model, Some("qemu-xhci" | "nec-xhci")) {
        return Err(unsupported(&format!("{ty} controller ports")));
    }
    if extra_attrs {
        return Err(unsupported(&format!("{ty} controller options")));
    }
    let (drv, id) = match ty {
        "ide" | "fdc" => return Ok(()),
        "sata" if c.q35 && idx == 0 => return Ok(()),
        "sata" => ("ahci", format!("sata{idx}")),
        "usb" => {
            let drv = match model {
                Some("none") => return Ok(()),
                Some("piix3-uhci") => "piix3-usb-uhci",
                Some("qemu-xhci") => "qemu-xhci",
                Some("nec-xhci") => "nec-usb-xhci",
                Some("ich9-ehci1") => "ich9-usb-ehci1",
                Some(m @ ("ich9-uhci1" | "ich9-uhci2" | "ich9-uhci3")) => {
                    // A companion controller: no id, hangs off its EHCI
                    // master (same index).
                    let master = c
                        .devices()
                        .find(|d| {
                            d.local_name() == "controller"
                                && d.attr("type") == Some("usb")
                                && d.attr("model") == Some("ich9-ehci1")
                                && d.attr("index").and_then(parse_num).unwrap_or(0) == idx
                        })
                        .map(|d| {
                            alias(d).unwrap_or_else(|| {
                                if idx == 0 {
                                    "usb".into()
                                } else {
                                    format!("usb{idx}")
                                }
                            })
                        })
                        .ok_or_else(|| unsupported("USB companion without master"))?;
                    let start = el
                        .child("master")
                        .and_then(|m| m.attr("startport"))
                        .and_then(parse_num)
                        .unwrap_or(0);
                    let p = Props::new()
                        .s("driver", format!("ich9-usb-{}", &m[5..]))
                        .s("masterbus", format!("{master}.0"))
                        .u("firstport", start);
                    let p = pci_address(c, el, p)?;
                    c.device(p);
                    return Ok(());
                }
                Some(m) => return Err(unsupported(&format!("USB controller {m}"))),
                None => return Err(unsupported("USB controller without model")),
            };
            let id = alias(el).unwrap_or_else(|| {
                if idx == 0 {
                    "usb".to_string()
                } else {
                    format!("usb{idx}")
                }
            });
            if let Some(n) = el.attr("ports").and_then(parse_num) {
                let p = Props::new()
                    .s("driver", drv)
                    .u("p2", n)
                    .u("p3", n)
                    .s("id", id);
                let p = pci_address(c, el, p)?;
                c.device(p);
                return Ok(());
            }
            (drv, id)
        }
        "scsi" => {
            let drv = match model {
                Some("lsilogic") => "lsi",
                Some("virtio-scsi") => "virtio-scsi-pci",
                Some("virtio-transitional") => "virtio-scsi-pci-transitional",
                Some("virtio-non-transitional") => "virtio-scsi-pci-non-transitional",
                Some(m) => return Err(unsupported(&format!("SCSI controller {m}"))),
                None => return Err(unsupported("SCSI controller without model")),
            };
            (drv, format!("scsi{idx}"))
        }
        "virtio-serial" => {
            let drv = match model {
                None | Some("virtio") => "virtio-serial-pci",
                Some("virtio-transitional") => "virtio-serial-pci-transitional",
                Some("virtio-non-transitional") => "virtio-serial-pci-non-transitional",
                Some(m) => return Err(unsupported(&format!("virtio-serial model {m}"))),
            };
            (drv, format!("virtio-serial{idx}"))
        }
        t => return Err(unsupported(&format!("{t} controller"))),
    };
    let p = virtio_options(el, Props::new().s("driver", drv))?
        .os(
            "iothread",
            drv_el
                .and_then(|d| d.attr("iothread"))
                .map(|t| format!("iothread{t}")),
        )
        .s("id", id);
    let dn = |k: &str| drv_el.and_then(|d| d.attr(k)).and_then(parse_num);
    let mut p = p
        .ou("num_queues", dn("queues"))
        .ou("cmd_per_lun", dn("cmd_per_lun"))
        .ou("max_sectors", dn("max_sectors"));
    if let Some(v) = drv_el.and_then(|d| d.attr("ioeventfd")) {
        p = p.b("ioeventfd", v == "on");
    }
    let p = pci_address(c, el, p)?;
    c.device(p);
    Ok(())
}

/// A size element (`<size unit='KiB'>N</size>`) in KiB.
fn size_kib(e: Option<&Element>) -> Option<u64> {
    let e = e?;
    let n = parse_num(e.text().trim())?;
    Some(match e.attr("unit").unwrap_or("KiB") {
        "b" | "bytes" => n / 1024,
        "MiB" | "M" => n * 1024,
        "GiB" | "G" => n * 1024 * 1024,
        _ => n,
    })
}

/// The guest-visible size of a memory device: DIMMs are whole 2 MiB
/// blocks on x86.
fn memory_device_kib(el: &Element) -> u64 {
    let kib = size_kib(el.child("target").and_then(|t| t.child("size"))).unwrap_or(0);
    match el.attr("model") {
        Some("dimm") | Some("nvdimm") => kib.div_ceil(2048) * 2048,
        _ => kib,
    }
}

fn build_memory_devices(c: &mut Ctx) -> Res<()> {
    let mems: Vec<Element> = c
        .devices()
        .filter(|d| d.local_name() == "memory")
        .cloned()
        .collect();
    let b = backing(c)?;
    let mut counters = std::collections::HashMap::new();
    for el in &mems {
        let model = el.attr("model").unwrap_or("");
        let src = el.child("source");
        let target = el.child("target");
        for (k, _) in &el.attrs {
            if !["model", "access", "discard"].contains(&k.as_str()) {
                return Err(unsupported(&format!("memory device {k}")));
            }
        }
        let slot = el
            .child("address")
            .filter(|a| a.attr("type") == Some("dimm"))
            .and_then(|a| a.attr("slot"))
            .and_then(parse_num);
        let base = el
            .child("address")
            .filter(|a| a.attr("type") == Some("dimm"))
            .and_then(|a| a.attr("base"))
            .and_then(parse_num);
        let node = target
            .and_then(|t| t.child("node"))
            .and_then(|n| parse_num(n.text().trim()));
        let (prefix, drv) = match model {
            "dimm" => ("dimm", "pc-dimm"),
            "nvdimm" => ("nvdimm", "nvdimm"),
            "virtio-pmem" => ("virtiopmem", "virtio-pmem-pci"),
            "virtio-mem" => ("virtiomem", "virtio-mem-pci"),
            m => return Err(unsupported(&format!("memory model {m}"))),
        };
        let id = match alias(el) {
            Some(a) => a,
            None if prefix == "dimm" || prefix == "nvdimm" => {
                format!(
                    "{prefix}{}",
                    slot.ok_or_else(|| unsupported("DIMM without slot"))?
                )
            }
            None => {
                let n = counters.entry(prefix).or_insert(0u64);
                *n += 1;
                format!("{prefix}{}", *n - 1)
            }
        };
        let memdev = format!("mem{id}");
        let kib = memory_device_kib(el);
        let path = src.and_then(|s| s.child_text("path"));
        let pagesize = size_kib(src.and_then(|s| s.child("pagesize")));
        // Unset access and discard come from the target NUMA node, then
        // from <memoryBacking>.
        let cell = node.and_then(|n| {
            numa_cells(c)
                .into_iter()
                .find(|e| e.attr("id").and_then(parse_num) == Some(n))
        });
        let access = el
            .attr("access")
            .or_else(|| cell.as_ref().and_then(|e| e.attr("memAccess")))
            .map(str::to_string)
            .or_else(|| b.access.clone());
        let discard = el
            .attr("discard")
            .or_else(|| cell.as_ref().and_then(|e| e.attr("discard")))
            .map(|d| d == "yes")
            .or(b.discard.then_some(true));
        let huge = match pagesize {
            Some(4) => None,
            Some(k) => Some(k),
            None if path.is_none() => hugepage_kib(&b, node),
            None => None,
        };
        let short: String = c.def.name.chars().take(20).collect();
        let mut p = Props::new();
        let file = path.is_some()
            || huge.is_some()
            || b.source.as_deref() == Some("file")
            || (discard == Some(true) && model == "dimm");
        let memfd = !file && b.source.as_deref() == Some("memfd");
        if memfd {
            p = p
                .s("qom-type", "memory-backend-memfd")
                .s("id", memdev.clone());
            if let Some(k) = huge {
                p = p.b("hugetlb", true).u("hugetlbsize", k * 1024);
            }
        } else if file {
            let mp = match (&path, huge) {
                (Some(p), _) => p.clone(),
                (None, Some(k)) => format!(
                    "/dev/hugepages{}/libvirt/qemu/-1-{short}",
                    if k == 2048 { "2M" } else { "1G" }
                ),
                (None, None) => format!("/var/lib/libvirt/qemu/ram/-1-{short}/{id}"),
            };
            p = p
                .s("qom-type", "memory-backend-file")
                .s("id", memdev.clone())
                .s("mem-path", mp);
            if path.is_none() {
                if let Some(d) = discard {
                    p = p.b("discard-data", d);
                }
            }
        } else {
            p = p
                .s("qom-type", "memory-backend-ram")
                .s("id", memdev.clone());
        }
        match access.as_deref() {
            Some("shared") => p = p.b("share", true),
            Some("private") => p = p.b("share", false),
            _ => {}
        }
        let pmem = src.and_then(|s| s.child("pmem")).is_some();
        let prealloc = match model {
            "virtio-mem" | "virtio-pmem" => false,
            "nvdimm" => !pmem,
            _ => huge.is_some() || b.prealloc,
        };
        if model == "virtio-mem" {
            p = p.b("reserve", false);
        } else if prealloc {
            p = p.b("prealloc", true).ou("prealloc-threads", b.threads);
        }
        p = p.u("size", kib * 1024);
        let align = size_kib(src.and_then(|s| s.child("alignsize")));
        let nodemask = src.and_then(|s| s.child_text("nodemask"));
        let bind = match &nodemask {
            Some(ns) => Some((parse_bitmap(ns)?, "bind")),
            None => numatune_for(c, node)?,
        };
        if let Some((nodes, policy)) = bind {
            use crate::json::Prop;
            let arr = || Prop::Arr(nodes.iter().map(|n| Prop::Scalar((*n).into())).collect());
            p = p.raw("host-nodes", arr()).s("policy", policy);
            if prealloc {
                c.object(
                    Props::new()
                        .s("qom-type", "thread-context")
                        .s("id", format!("tc-{memdev}"))
                        .raw("node-affinity", arr()),
                );
                p = p.s("prealloc-context", format!("tc-{memdev}"));
            }
        }
        p = p.ou("align", align.map(|a| a * 1024));
        if pmem {
            p = p.b("pmem", true);
        }
        c.object(p);
        let mut d = Props::new().s("driver", drv);
        match model {
            "dimm" | "nvdimm" => {
                d = d.ou("node", node);
                if model == "nvdimm" {
                    d = d.ou(
                        "label-size",
                        size_kib(
                            target
                                .and_then(|t| t.child("label"))
                                .and_then(|l| l.child("size")),
                        )
                        .map(|k| k * 1024),
                    );
                    if target.and_then(|t| t.child("readonly")).is_some() {
                        d = d.b("unarmed", true);
                    }
                }
                d = d
                    .s("memdev", memdev)
                    .s("id", id)
                    .ou("slot", slot)
                    .ou("addr", base);
                c.device(d);
            }
            "virtio-pmem" => {
                let addr = target
                    .and_then(|t| t.child("address"))
                    .and_then(|a| a.attr("base"))
                    .and_then(parse_num);
                d = d.s("memdev", memdev).ou("memaddr", addr).s("id", id);
                let d = pci_address(c, el, d)?;
                c.device(d);
            }
            _ => {
                let t = target.ok_or_else(|| unsupported("virtio-mem target"))?;
                let addr = t
                    .child("address")
                    .and_then(|a| a.attr("base"))
                    .and_then(parse_num);
                d = d
                    .ou("node", node)
                    .ou("block-size", size_kib(t.child("block")).map(|k| k * 1024))
                    .ou(
                        "requested-size",
                        size_kib(t.child("requested")).map(|k| k * 1024),
                    )
                    .s("memdev", memdev);
                if huge.is_some() || b.prealloc {
                    d = d.b("prealloc", true);
                }
                d = d.ou("memaddr", addr).s("id", id);
                let d = pci_address(c, el, d)?;
                c.device(d);
            }
        }
    }
    Ok(())
}

fn build_disks(c: &mut Ctx) -> Res<()> {
    let disks: Vec<Element> = c
        .devices()
        .filter(|d| d.local_name() == "disk")
        .cloned()
        .collect();
    // Boot indexes, claimed in definition order.
    let mut boots = Vec::new();
    for el in &disks {
        let boot = match el.child("boot") {
            Some(b) => b.attr("order").and_then(parse_num),
            None => {
                let class = match el.attr("device").unwrap_or("disk") {
                    "cdrom" => "cdrom",
                    "floppy" => "fd",
                    _ => "hd",
                };
                c.take_boot(class).map(u64::from)
            }
        };
        boots.push(boot);
    }
    // Floppies hang off the ISA floppy controller, which takes their
    // boot indexes.
    let mut fdc = Vec::new();
    for (el, boot) in disks.iter().zip(&boots) {
        if el.child("target").and_then(|t| t.attr("bus")) == Some("fdc") {
            let unit = el
                .child("address")
                .and_then(|a| a.attr("unit"))
                .and_then(parse_num)
                .unwrap_or(0);
            fdc.push((if unit == 0 { "A" } else { "B" }, *boot));
        }
    }
    if c.q35 && !fdc.is_empty() {
        let mut p = Props::new().s("driver", "isa-fdc");
        for (u, b) in &fdc {
            p = p.ou(&format!("bootindex{u}"), *b);
        }
        c.device(p);
    } else {
        for (u, b) in &fdc {
            if let Some(b) = b {
                c.opt("-global", format!("isa-fdc.bootindex{u}={b}"));
            }
        }
    }
    let total = disks.len();
    for (i, (el, boot)) in disks.iter().zip(boots).enumerate() {
        let n = total - i;
        build_disk(c, el, n, boot)?;
    }
    Ok(())
}

/// Passes `value` to QEMU as secret object `id`, encrypted with the master
/// key under a fresh IV.
fn secret_value_object(c: &mut Ctx, id: &str, value: &[u8]) -> Res<()> {
    let mut iv = [0u8; 16];
    if !(c.cfg.random)(&mut iv) {
        return Err(VirError::new(
            ErrorCode::InternalError,
            ErrorDomain::Qemu,
            "no random bytes for a secret's IV",
        ));
    }
    let data = crate::aes::encrypt_cbc(&c.cfg.master_key, &iv, value);
    c.object(
        Props::new()
            .s("qom-type", "secret")
            .s("id", id)
            .s("data", crate::aes::base64(&data))
            .s("keyid", "masterKey0")
            .s("iv", crate::aes::base64(&iv))
            .s("format", "base64"),
    );
    Ok(())
}

/// A secret of the secret driver as secret object `id`.
fn secret_object(c: &mut Ctx, id: &str, r: &SecretRef) -> Res<()> {
    let lookup = c
        .cfg
        .secrets
        .clone()
        .ok_or_else(|| unsupported("secrets without a secret driver"))?;
    let value = lookup(r).ok_or_else(|| {
        config_error(format!(
            "no secret with {}",
            r.uuid.as_deref().or(r.usage.as_deref()).unwrap_or("?")
        ))
    })?;
    secret_value_object(c, id, &value)
}

/// The `<auth>` of a source: (username, secret reference).
fn source_auth(src: &Element) -> Option<(String, SecretRef)> {
    let auth = src.child("auth")?;
    let sec = auth.child("secret")?;
    Some((
        auth.attr("username").unwrap_or("").to_string(),
        SecretRef {
            kind: sec.attr("type").unwrap_or("").to_string(),
            uuid: sec.attr("uuid").map(str::to_string),
            usage: sec.attr("usage").map(str::to_string),
        },
    ))
}

/// The protocol part of a network storage `-blockdev` (everything before
/// `node-name`), from a `<source protocol=...>`.
fn network_storage(c: &mut Ctx, src: &Element, node: &str) -> Res<Props> {
    use crate::json::Prop;
    let proto = src.attr("protocol").unwrap_or("");
    let name = src.attr("name").unwrap_or("");
    let auth = source_auth(src);
    let auth_id = format!("{node}-auth-secret0");
    if let Some((_, r)) = &auth {
        secret_object(c, &auth_id, r)?;
    }
    let mut cookie_id = None;
    if let Some(ck) = src.child("cookies") {
        let v: Vec<String> = ck
            .children_named("cookie")
            .map(|k| format!("{}={}", k.attr("name").unwrap_or(""), k.text()))
            .collect();
        let id = format!("{node}-httpcookie-secret0");
        secret_value_object(c, &id, v.join("; ").as_bytes())?;
        cookie_id = Some(id);
    }
    for e in src.elements() {
        if ![
            "host",
            "timeout",
            "readahead",
            "ssl",
            "initiator",
            "reconnect",
            "auth",
            "cookies",
        ]
        .contains(&e.local_name())
        {
            return Err(unsupported(&format!("{proto} source <{}>", e.name)));
        }
    }
    for (k, _) in &src.attrs {
        if !["protocol", "name", "query", "index"].contains(&k.as_str()) {
            return Err(unsupported(&format!("{proto} source {k}")));
        }
    }
    let hosts: Vec<&Element> = src.children_named("host").collect();
    let default_port = match proto {
        "nbd" => "10809",
        "iscsi" => "3260",
        "gluster" => "24007",
        "http" => "80",
        "https" => "443",
        "ftp" => "21",
        "ftps" => "990",
        _ => "",
    };
    let port_of = |h: &Element| h.attr("port").unwrap_or(default_port).to_string();
    let server = |h: &Element, typed: bool| -> Prop {
        let mut o = Props::new();
        if h.attr("transport") == Some("unix") {
            o = o.s("type", "unix").os("path", h.attr("socket"));
        } else {
            if typed {
                o = o.s("type", "inet");
            }
            o = o.os("host", h.attr("name")).s("port", port_of(h));
        }
        Prop::Obj(o)
    };
    let first = hosts.first().copied();
    let p = Props::new().s("driver", proto);
    Ok(match proto {
        "nbd" => {
            let h = first.ok_or_else(|| unsupported("NBD without host"))?;
            let mut p = p.raw("server", server(h, true));
            if !name.is_empty() {
                p = p.s("export", name);
            }
            p.ou(
                "reconnect-delay",
                src.child("reconnect")
                    .and_then(|r| r.attr("delay"))
                    .and_then(parse_num),
            )
        }
        "iscsi" => {
            let h = first.ok_or_else(|| unsupported("iSCSI without host"))?;
            let (target, lun) = match name.rsplit_once('/') {
                Some((t, l)) => (t, parse_num(l).unwrap_or(0)),
                None => (name, 0),
            };
            p.s(
                "portal",
                format!("{}:{}", h.attr("name").unwrap_or(""), port_of(h)),
            )
            .s("target", target)
            .u("lun", lun)
            .s("transport", "tcp")
            .os("user", auth.as_ref().map(|(u, _)| u.clone()))
            .os("password-secret", auth.as_ref().map(|_| auth_id.clone()))
            .os(
                "initiator-name",
                src.child("initiator")
                    .and_then(|i| i.child("iqn"))
                    .and_then(|i| i.attr("name")),
            )
        }
        _ if auth.is_some()
            && !["iscsi", "rbd", "http", "https", "ftp", "ftps"].contains(&proto) =>
        {
            return Err(unsupported(&format!("{proto} authentication")));
        }
        "gluster" => {
            let (vol, path) = name
                .split_once('/')
                .ok_or_else(|| unsupported("gluster name without volume"))?;
            let servers = hosts.iter().map(|h| server(h, true)).collect();
            p.s("volume", vol)
                .s("path", path)
                .raw("server", Prop::Arr(servers))
                .u("debug", 4)
        }
        "http" | "https" | "ftp" | "ftps" => {
            let h = first.ok_or_else(|| unsupported("URL without host"))?;
            let mut url = format!(
                "{proto}://{}:{}/{}",
                h.attr("name").unwrap_or(""),
                port_of(h),
                name.trim_start_matches('/')
            );
            if let Some(q) = src.attr("query") {
                url.push('?');
                url.push_str(q);
            }
            let mut p = p
                .s("url", url)
                .os("username", auth.as_ref().map(|(u, _)| u.clone()))
                .os("password-secret", auth.as_ref().map(|_| auth_id.clone()));
            if let Some(v) = src.child("ssl").and_then(|s| s.attr("verify")) {
                p = p.b("sslverify", v == "yes");
            }
            p = p.os("cookie-secret", cookie_id.clone());
            p.ou(
                "timeout",
                src.child("timeout")
                    .and_then(|t| t.attr("seconds"))
                    .and_then(parse_num),
            )
            .ou(
                "readahead",
                src.child("readahead")
                    .and_then(|t| t.attr("size"))
                    .and_then(parse_num),
            )
        }
        "rbd" => {
            let (pool, image) = name
                .split_once('/')
                .ok_or_else(|| unsupported("rbd name without pool"))?;
            let mut p = p.s("pool", pool).s("image", image);
            if !hosts.is_empty() {
                let servers = hosts
                    .iter()
                    .map(|h| {
                        Prop::Obj(
                            Props::new()
                                .os("host", h.attr("name"))
                                .os("port", h.attr("port")),
                        )
                    })
                    .collect();
                p = p.raw("server", Prop::Arr(servers));
            }
            if let Some((u, _)) = &auth {
                p = p
                    .s("user", u.clone())
                    .raw(
                        "auth-client-required",
                        Prop::Arr(vec![
                            Prop::Scalar("cephx".into()),
                            Prop::Scalar("none".into()),
                        ]),
                    )
                    .s("key-secret", auth_id.clone());
            }
            p
        }
        p => return Err(unsupported(&format!("{p} storage"))),
    })
}

/// A disk serial as QEMU's option parser wants it (spaces escaped).
fn disk_serial(s: &str) -> String {
    s.replace(' ', "\\ ")
}

fn build_disk(c: &mut Ctx, el: &Element, n: usize, boot: Option<u64>) -> Res<()> {
    let ty = el.attr("type").unwrap_or("file");
    let device = el.attr("device").unwrap_or("disk");
    for ch in el.elements() {
        if ![
            "driver",
            "source",
            "target",
            "address",
            "readonly",
            "alias",
            "boot",
            "serial",
            "blockio",
            "geometry",
            "shareable",
            "vendor",
            "product",
            "iotune",
            "wwn",
            "encryption",
            "acpi",
        ]
        .contains(&ch.local_name())
        {
            if ch.local_name() == "backingStore" && ch.attrs.is_empty() && ch.is_empty() {
                continue;
            }
            // A running block copy's destination (live state only): the
            // disk itself is still its source.
            if ch.local_name() == "mirror" {
                continue;
            }
            return Err(unsupported(&format!("disk <{}>", ch.name)));
        }
    }
    let drv = el.child("driver");
    if let Some(d) = drv {
        for (k, _) in &d.attrs {
            if ![
                "name",
                "type",
                "cache",
                "io",
                "discard",
                "detect_zeroes",
                "discard_no_unref",
                "error_policy",
                "rerror_policy",
                "ioeventfd",
                "event_idx",
                "queues",
                "queue_size",
                "copy_on_read",
                "iommu",
                "ats",
                "packed",
                "page_per_vq",
                "iothread",
            ]
            .contains(&k.as_str())
            {
                return Err(unsupported(&format!("disk driver {k}")));
            }
        }
    }
    let dattr = |k: &str| drv.and_then(|d| d.attr(k));
    let fmt = dattr("type").unwrap_or("raw");
    // A directory is shown as a FAT disk (QEMU's vvfat) in raw format.
    let fat = ty == "dir";
    if fat != (fmt == "fat") {
        return Err(unsupported(&format!("disk format {fmt} of a {ty} disk")));
    }
    if !["raw", "qcow2", "fat"].contains(&fmt) {
        return Err(unsupported(&format!("disk format {fmt}")));
    }
    let readonly = el.child("readonly").is_some() || device == "cdrom";
    // (direct, no-flush, write-cache) of the cache mode.
    // Shared disks default to the host page cache off.
    let cache_mode = dattr("cache").or(el.child("shareable").map(|_| "none"));
    let cache = match cache_mode {
        None | Some("default") => None,
        Some("none") => Some((true, false, true)),
        Some("writethrough") => Some((false, false, false)),
        Some("writeback") => Some((false, false, true)),
        Some("directsync") => Some((true, false, false)),
        Some("unsafe") => Some((false, true, true)),
        Some(m) => return Err(unsupported(&format!("disk cache {m}"))),
    };
    let cache_props =
        |(d, nf, _): (bool, bool, bool)| Props::new().b("direct", d).b("no-flush", nf);
    let src = el.child("source");
    if let Some(s) = src {
        if ty != "network"
            && (s.elements().next().is_some()
                || s.attrs.iter().any(|(k, _)| {
                    !["file", "dev", "dir", "index", "startupPolicy"].contains(&k.as_str())
                }))
        {
            return Err(unsupported("disk source options"));
        }
    }
    let path = match ty {
        "file" => src.and_then(|s| s.attr("file")),
        "block" => src.and_then(|s| s.attr("dev")),
        "dir" => src.and_then(|s| s.attr("dir")),
        "network" => src.and_then(|s| s.attr("protocol")),
        t => return Err(unsupported(&format!("disk type {t}"))),
    };
    let target = el
        .child("target")
        .ok_or_else(|| unsupported("disk target"))?;
    let bus = target.attr("bus").unwrap_or("ide");
    if target
        .attrs
        .iter()
        .any(|(k, _)| !["dev", "bus", "removable", "tray", "rotation_rate"].contains(&k.as_str()))
    {
        return Err(unsupported("disk target options"));
    }
    let tdev = target.attr("dev").unwrap_or("");
    let mut drive = format!("libvirt-{n}-format");
    // A LUKS layer QEMU opens with a passphrase secret.
    let luks_secret = match el.child("encryption") {
        None => None,
        Some(enc) => {
            if enc.attr("format") != Some("luks") || enc.attr("engine").is_some_and(|e| e != "qemu")
            {
                return Err(unsupported("disk encryption other than QEMU's LUKS"));
            }
            let sec = enc
                .child("secret")
                .ok_or_else(|| unsupported("encryption without secret"))?;
            let r = SecretRef {
                kind: sec.attr("type").unwrap_or("passphrase").to_string(),
                uuid: sec.attr("uuid").map(str::to_string),
                usage: sec.attr("usage").map(str::to_string),
            };
            let id = format!("{drive}-encryption-secret0");
            secret_object(c, &id, &r)?;
            Some(id)
        }
    };
    if let Some(path) = path {
        let storage_drv = if ty == "block" {
            if device == "cdrom" && path == "/dev/cdrom" {
                "host_cdrom"
            } else {
                "host_device"
            }
        } else {
            "file"
        };
        let mut st = if ty == "network" {
            network_storage(
                c,
                src.ok_or_else(|| unsupported("network disk source"))?,
                &format!("libvirt-{n}-storage"),
            )?
        } else if fat {
            Props::new()
                .s("driver", "vvfat")
                .s("dir", path)
                .b("floppy", device == "floppy")
                .b("rw", !readonly)
        } else {
            Props::new()
                .s("driver", storage_drv)
                .s("filename", path)
                .os("aio", dattr("io"))
        }
        .s("node-name", format!("libvirt-{n}-storage"));
        if let Some(cm) = cache {
            st = st.obj("cache", cache_props(cm));
        }
        st = st.b("auto-read-only", true).s("discard", "unmap");
        c.opt("-blockdev", st.to_json());
        // Zero detection 'unmap' needs discard 'unmap'; otherwise it is 'on'.
        let detect_zeroes = match dattr("detect_zeroes") {
            Some("unmap") if dattr("discard") != Some("unmap") => Some("on"),
            d => d,
        };
        let mut f = Props::new()
            .s("node-name", drive.clone())
            .b("read-only", readonly)
            .os("discard", dattr("discard"))
            .os("detect-zeroes", detect_zeroes);
        if let Some(cm) = cache {
            f = f.obj("cache", cache_props(cm));
        }
        f = match (&luks_secret, fmt) {
            (None, "fat") => f.s("driver", "raw"),
            (None, _) => f.s("driver", fmt),
            (Some(id), "raw") => f.s("driver", "luks").s("key-secret", id.clone()),
            (Some(id), _) => f.s("driver", fmt).obj(
                "encrypt",
                Props::new().s("format", "luks").s("key-secret", id.clone()),
            ),
        };
        if fmt == "qcow2" {
            f = f.ob("discard-no-unref", on_off(dattr("discard_no_unref")));
        }
        f = f.s("file", format!("libvirt-{n}-storage"));
        c.opt("-blockdev", f.to_json());
        if dattr("copy_on_read") == Some("on") {
            let cor = format!("libvirt-CoR-{tdev}");
            c.opt(
                "-blockdev",
                Props::new()
                    .s("driver", "copy-on-read")
                    .s("node-name", cor.clone())
                    .s("file", drive.clone())
                    .s("discard", "unmap")
                    .to_json(),
            );
            drive = cor;
        }
    }
    let has_src = path.is_some();
    let scsi_ctrl = el
        .child("address")
        .and_then(|a| a.attr("controller"))
        .and_then(parse_num)
        .unwrap_or(0);
    let scsi_model = c
        .devices()
        .find(|d| {
            d.local_name() == "controller"
                && d.attr("type") == Some("scsi")
                && d.attr("index").and_then(parse_num).unwrap_or(0) == scsi_ctrl
        })
        .and_then(|d| d.attr("model"))
        .unwrap_or("")
        .to_string();
    let dev_alias = disk_alias(el, bus, tdev, scsi_model != "lsilogic")?;
    if bus != "virtio"
        && [
            "ioeventfd",
            "event_idx",
            "queues",
            "queue_size",
            "iommu",
            "ats",
            "packed",
        ]
        .iter()
        .any(|k| dattr(k).is_some())
    {
        return Err(unsupported("virtio options on a non-virtio disk"));
    }
    let mut device_id = None;
    let p = match bus {
        "ide" | "sata" => {
            let a = el
                .child("address")
                .ok_or_else(|| unsupported("disk address"))?;
            let ctrl = a.attr("controller").and_then(parse_num).unwrap_or(0);
            let abus = a.attr("bus").and_then(parse_num).unwrap_or(0);
            let unit = a.attr("unit").and_then(parse_num).unwrap_or(0);
            let (busname, unit) = if bus == "sata" || c.q35 {
                if c.q35 && ctrl == 0 {
                    (format!("ide.{unit}"), None)
                } else {
                    (format!("sata{ctrl}.{unit}"), None)
                }
            } else {
                if ctrl != 0 {
                    return Err(unsupported("second IDE controller"));
                }
                (format!("ide.{abus}"), Some(unit))
            };
            let drvname = if device == "cdrom" {
                "ide-cd"
            } else {
                "ide-hd"
            };
            Props::new()
                .s("driver", drvname)
                .s("bus", busname)
                .ou("unit", unit)
        }
        "virtio" => {
            let drv = virtio_driver("virtio-blk-pci", el.attr("model"))?;
            let mut p = virtio_options(el, Props::new().s("driver", drv))?.os(
                "iothread",
                dattr("iothread").map(|t| format!("iothread{t}")),
            );
            let onoff = |k: &str| dattr(k).map(|v| v == "on");
            if let Some(v) = onoff("ioeventfd") {
                p = p.b("ioeventfd", v);
            }
            if let Some(v) = onoff("event_idx") {
                p = p.b("event_idx", v);
            }
            if device == "lun" {
                p = p.b("scsi", true);
            }
            p = p
                .ou("num-queues", dattr("queues").and_then(parse_num))
                .ou("queue-size", dattr("queue_size").and_then(parse_num));
            pci_address(c, el, p)?
        }
        "usb" => {
            let a = el.child("address");
            if a.and_then(|a| a.attr("type")) != Some("usb") {
                return Err(unsupported("USB disk address"));
            }
            let a = a.ok_or_else(|| unsupported("USB disk address"))?;
            let ubus = a.attr("bus").and_then(parse_num).unwrap_or(0);
            Props::new()
                .s("driver", "usb-storage")
                .s("bus", usb_bus(c, ubus))
                .s("port", a.attr("port").unwrap_or("1"))
        }
        "scsi" => {
            let a = el
                .child("address")
                .ok_or_else(|| unsupported("disk address"))?;
            let g = |k: &str| a.attr(k).and_then(parse_num).unwrap_or(0);
            let ctrl = scsi_ctrl;
            let model = scsi_model.as_str();
            let drvname = match device {
                "cdrom" => "scsi-cd",
                "lun" => "scsi-block",
                _ => "scsi-hd",
            };
            let p = Props::new()
                .s("driver", drvname)
                .s("bus", format!("scsi{ctrl}.0"));
            let p = match model {
                "lsilogic" => {
                    if g("bus") != 0 || g("target") != 0 {
                        return Err(unsupported("lsi SCSI address"));
                    }
                    p.u("scsi-id", g("unit"))
                }
                "virtio-scsi" | "virtio-transitional" | "virtio-non-transitional" => p
                    .u("channel", g("bus"))
                    .u("scsi-id", g("target"))
                    .u("lun", g("unit")),
                m => return Err(unsupported(&format!("SCSI disk on {m}"))),
            };
            if device != "lun" {
                // The SCSI VPD device id: the serial when there is one.
                device_id = Some(
                    el.child_text("serial")
                        .map(|s| disk_serial(&s))
                        .unwrap_or_else(|| format!("drive-{dev_alias}")),
                );
            }
            p
        }
        "fdc" => {
            let a = el
                .child("address")
                .ok_or_else(|| unsupported("disk address"))?;
            let unit = a.attr("unit").and_then(parse_num).unwrap_or(0);
            Props::new().s("driver", "floppy").u("unit", unit)
        }
        b => return Err(unsupported(&format!("disk bus {b}"))),
    };
    let boot = if bus == "fdc" { None } else { boot };
    let mut p = p.os("device_id", device_id);
    if el.child("shareable").is_some() {
        p = p.b("share-rw", true);
    }
    if has_src {
        p = p.s("drive", drive);
    }
    p = p.s("id", dev_alias).ou("bootindex", boot);
    if let Some(bio) = el.child("blockio") {
        for (k, _) in &bio.attrs {
            if !["logical_block_size", "physical_block_size"].contains(&k.as_str()) {
                return Err(unsupported(&format!("blockio {k}")));
            }
        }
        p = p
            .ou(
                "logical_block_size",
                bio.attr("logical_block_size").and_then(parse_num),
            )
            .ou(
                "physical_block_size",
                bio.attr("physical_block_size").and_then(parse_num),
            );
    }
    if let Some(w) = el.child_text("wwn") {
        let w = w.trim();
        let hex = w.strip_prefix("0x").unwrap_or(w);
        let n = u64::from_str_radix(hex, 16).map_err(|_| unsupported("disk wwn"))?;
        p = p.u("wwn", n);
    }
    p = p.ou(
        "rotation_rate",
        target.attr("rotation_rate").and_then(parse_num),
    );
    p = p
        .os("vendor", el.child_text("vendor"))
        .os("product", el.child_text("product"));
    if bus == "usb" {
        p = p.b("removable", target.attr("removable") == Some("on"));
    } else if target.attr("removable").is_some() {
        return Err(unsupported("removable on this bus"));
    }
    if let Some((_, _, wc)) = cache {
        p = p.s("write-cache", if wc { "on" } else { "off" });
    }
    if let Some(g) = el.child("geometry") {
        p = p
            .ou("cyls", g.attr("cyls").and_then(parse_num))
            .ou("heads", g.attr("heads").and_then(parse_num))
            .ou("secs", g.attr("secs").and_then(parse_num))
            .os("bios-chs-trans", g.attr("trans"));
    }
    if let Some(s) = el.child("serial") {
        p = p.s("serial", disk_serial(&s.text()));
    }
    let fix = |v: &str| {
        if v == "enospace" {
            "enospc".to_string()
        } else {
            v.to_string()
        }
    };
    let wpolicy = dattr("error_policy").map(fix);
    let rpolicy = dattr("rerror_policy")
        .map(fix)
        .or_else(|| wpolicy.clone().filter(|w| w != "enospc"));
    p = p.os("werror", wpolicy).os("rerror", rpolicy);
    c.device(p);
    Ok(())
}

/// The arguments disk `el` of the running guest `def` contributes (its
/// secret objects, `-blockdev` nodes numbered `n` and `-device`), for
/// hot-plugging it as libvirt does.
pub(crate) fn disk_args(
    def: &DomainDef,
    caps: &QemuCaps,
    cfg: &CommandConfig,
    el: &Element,
    n: usize,
) -> Res<Vec<String>> {
    let virt = VirtType::from_domain_type(&def.virt_type)
        .ok_or_else(|| unsupported(&format!("domain type {}", def.virt_type)))?;
    let machine = def.os.machine.clone().unwrap_or_default();
    let q35 = machine.starts_with("q35") || machine.starts_with("pc-q35");
    let mut c = Ctx {
        def,
        caps,
        virt,
        machine,
        q35,
        args: Vec::new(),
        boot: Vec::new(),
        fdset: 0,
        chardev_tls: cfg.chardev_tls,
        chardev_tls_verify: cfg.chardev_tls_verify,
        chardev_tls_secret: cfg.chardev_tls_secret.clone(),
        cfg,
        fds: Vec::new(),
        chan_dir: String::new(),
    };
    let boot = el
        .child("boot")
        .and_then(|b| b.attr("order"))
        .and_then(parse_num);
    build_disk(&mut c, el, n, boot)?;
    Ok(c.args)
}

/// The arguments NIC `el` (with its alias) of the running guest `def`
/// contributes (`-netdev` and `-device`), for hot-plugging it.
pub(crate) fn interface_args(
    def: &DomainDef,
    caps: &QemuCaps,
    cfg: &CommandConfig,
    el: &Element,
) -> Res<(Vec<String>, Vec<PassedFd>)> {
    let mut only = def.clone();
    only.devices = vec![el.clone()];
    let virt = VirtType::from_domain_type(&def.virt_type)
        .ok_or_else(|| unsupported(&format!("domain type {}", def.virt_type)))?;
    let machine = def.os.machine.clone().unwrap_or_default();
    let q35 = machine.starts_with("q35") || machine.starts_with("pc-q35");
    let mut c = Ctx {
        def: &only,
        caps,
        virt,
        machine,
        q35,
        args: Vec::new(),
        boot: Vec::new(),
        fdset: 0,
        chardev_tls: cfg.chardev_tls,
        chardev_tls_verify: cfg.chardev_tls_verify,
        chardev_tls_secret: cfg.chardev_tls_secret.clone(),
        cfg,
        fds: Vec::new(),
        chan_dir: String::new(),
    };
    build_interfaces(&mut c)?;
    Ok((c.args, c.fds))
}

/// The alias libvirt gives a disk: by controller position for IDE/SATA,
/// by target name for virtio.
fn disk_alias(el: &Element, bus: &str, dev: &str, scsi_4: bool) -> Res<String> {
    if let Some(a) = alias(el) {
        return Ok(a);
    }
    let a = el.child("address");
    let get = |k: &str| a.and_then(|a| a.attr(k)).and_then(parse_num).unwrap_or(0);
    match bus {
        "scsi" if scsi_4 => Ok(format!(
            "scsi{}-{}-{}-{}",
            get("controller"),
            get("bus"),
            get("target"),
            get("unit")
        )),
        "usb" => {
            let idx = dev
                .strip_prefix("sd")
                .and_then(disk_index)
                .ok_or_else(|| unsupported("USB disk name"))?;
            Ok(format!("usb-disk{idx}"))
        }
        "ide" | "sata" | "fdc" | "scsi" => Ok(format!(
            "{bus}{}-{}-{}",
            get("controller"),
            get("bus"),
            get("unit")
        )),
        "virtio" => {
            let idx = dev
                .strip_prefix("vd")
                .and_then(disk_index)
                .ok_or_else(|| unsupported("virtio disk name"))?;
            Ok(format!("virtio-disk{idx}"))
        }
        b => Err(unsupported(&format!("disk bus {b}"))),
    }
}

/// `a` -> 0, `z` -> 25, `aa` -> 26, ...
fn disk_index(s: &str) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    let mut n: u64 = 0;
    for ch in s.chars() {
        if !ch.is_ascii_lowercase() {
            return None;
        }
        n = n * 26 + (ch as u64 - 'a' as u64 + 1);
    }
    Some(n - 1)
}

/// The QEMU driver name of a virtio device for its `model`
/// (`virtio-transitional` / `virtio-non-transitional` pick the variants).
fn virtio_driver(base: &str, model: Option<&str>) -> Res<String> {
    match model {
        None | Some("virtio") => Ok(base.to_string()),
        Some("virtio-transitional") => Ok(format!("{base}-transitional")),
        Some("virtio-non-transitional") => Ok(format!("{base}-non-transitional")),
        Some(m) => Err(unsupported(&format!("virtio model {m}"))),
    }
}

fn build_filesystems(c: &mut Ctx) -> Res<()> {
    let fss: Vec<Element> = c
        .devices()
        .filter(|d| d.local_name() == "filesystem")
        .cloned()
        .collect();
    for (i, el) in fss.iter().enumerate() {
        if el.attr("type").unwrap_or("mount") != "mount" {
            return Err(unsupported("filesystem type"));
        }
        for e in el.elements() {
            if !["driver", "source", "target", "address", "alias", "readonly"]
                .contains(&e.local_name())
            {
                return Err(unsupported(&format!("filesystem <{}>", e.name)));
            }
        }
        for (k, _) in &el.attrs {
            if !["type", "accessmode", "fmode", "dmode", "multidevs", "model"].contains(&k.as_str())
            {
                return Err(unsupported(&format!("filesystem {k}")));
            }
        }
        let drv = el.child("driver");
        let dtype = drv.and_then(|d| d.attr("type")).unwrap_or("path");
        if let Some(d) = drv {
            for (k, _) in &d.attrs {
                if !["type", "wrpolicy", "iommu", "ats", "packed", "page_per_vq"]
                    .contains(&k.as_str())
                {
                    return Err(unsupported(&format!("filesystem driver {k}")));
                }
            }
        }
        let id = alias(el).unwrap_or_else(|| format!("fs{i}"));
        let mut f = match dtype {
            "path" => {
                let model = match el.attr("accessmode").unwrap_or("passthrough") {
                    "squash" => "none",
                    m => m,
                };
                format!("local,security_model={model}")
            }
            "handle" => "handle".to_string(),
            t => return Err(unsupported(&format!("filesystem driver {t}"))),
        };
        if let Some(w) = drv.and_then(|d| d.attr("wrpolicy")) {
            f.push_str(&format!(",writeout={w}"));
        }
        if el.child("readonly").is_some() {
            f.push_str(",readonly=on");
        }
        for k in ["fmode", "dmode"] {
            if let Some(v) = el.attr(k).and_then(|v| u64::from_str_radix(v, 8).ok()) {
                f.push_str(&format!(",{k}=0{v:o}"));
            }
        }
        if let Some(m) = el.attr("multidevs") {
            f.push_str(&format!(",multidevs={m}"));
        }
        let src = el
            .child("source")
            .and_then(|s| s.attr("dir"))
            .ok_or_else(|| unsupported("filesystem without source dir"))?;
        f.push_str(&format!(",id=fsdev-{id},path={}", qemu_opt_escape(src)));
        c.opt("-fsdev", f);
        let tag = el
            .child("target")
            .and_then(|t| t.attr("dir"))
            .unwrap_or("")
            .to_string();
        let p = Props::new().s("driver", virtio_driver("virtio-9p-pci", el.attr("model"))?);
        let p = virtio_options(el, p)?
            .s("id", id.clone())
            .s("fsdev", format!("fsdev-{id}"))
            .s("mount_tag", tag);
        let p = pci_address(c, el, p)?;
        c.device(p);
    }
    Ok(())
}

fn build_interfaces(c: &mut Ctx) -> Res<()> {
    let nets: Vec<Element> = c
        .devices()
        .filter(|d| d.local_name() == "interface")
        .cloned()
        .collect();
    for (i, el) in nets.iter().enumerate() {
        let ty = el.attr("type").unwrap_or("");
        let tap = TAP_NIC_TYPES.contains(&ty);
        if ty != "user" && !tap {
            return Err(unsupported(&format!("{ty} interface")));
        }
        for e in el.elements() {
            let known = ["mac", "model", "address", "alias", "boot", "driver", "acpi"];
            let of_tap = ["source", "target", "mtu"];
            let name = e.local_name();
            if !(known.contains(&name) || tap && of_tap.contains(&name)) {
                return Err(unsupported(&format!("interface <{}>", e.name)));
            }
        }
        let nd = el.child("driver");
        if let Some(d) = nd {
            if d.elements().next().is_some() {
                return Err(unsupported("interface host/guest offloads"));
            }
            for (k, _) in &d.attrs {
                if ![
                    "name",
                    "txmode",
                    "ioeventfd",
                    "event_idx",
                    "rx_queue_size",
                    "tx_queue_size",
                    "rss",
                    "rss_hash_report",
                    "iommu",
                    "ats",
                    "packed",
                    "page_per_vq",
                ]
                .contains(&k.as_str())
                {
                    return Err(unsupported(&format!("interface driver {k}")));
                }
            }
        }
        if el.attrs.len() > 1 {
            return Err(unsupported("interface options"));
        }
        let id = alias(el).unwrap_or_else(|| format!("net{i}"));
        let host = format!("host{id}");
        let model = el
            .child("model")
            .and_then(|m| m.attr("type"))
            .unwrap_or("rtl8139");
        let drv = match model {
            "virtio" | "virtio-transitional" | "virtio-non-transitional" => {
                virtio_driver("virtio-net-pci", Some(model))?
            }
            "rtl8139" | "e1000" | "e1000e" => model.to_string(),
            m => return Err(unsupported(&format!("NIC model {m}"))),
        };
        let boot = match el.child("boot") {
            Some(b) => b.attr("order").and_then(parse_num),
            None => c.take_boot("network").map(u64::from),
        };
        let mac = el
            .child("mac")
            .and_then(|m| m.attr("address"))
            .ok_or_else(|| unsupported("interface without MAC"))?;
        let is_virtio = drv.starts_with("virtio");
        let netdev = if tap {
            tap_netdev(c, el, ty, mac, is_virtio)?
        } else {
            Props::new().s("type", "user")
        };
        c.opt("-netdev", netdev.s("id", host.clone()).to_json());
        if nd.is_some() && !is_virtio {
            return Err(unsupported("driver options of a non-virtio NIC"));
        }
        let mut p = Props::new().s("driver", drv);
        if let Some(d) = nd {
            p = virtio_options(el, p)?;
            let onoff = |k: &str| d.attr(k).map(|v| v == "on");
            match d.attr("txmode") {
                Some("iothread") => p = p.s("tx", "bh"),
                Some("timer") => p = p.s("tx", "timer"),
                _ => {}
            }
            if let Some(v) = onoff("ioeventfd") {
                p = p.b("ioeventfd", v);
            }
            if let Some(v) = onoff("event_idx") {
                p = p.b("event_idx", v);
            }
            p = p
                .ou("rx_queue_size", d.attr("rx_queue_size").and_then(parse_num))
                .ou("tx_queue_size", d.attr("tx_queue_size").and_then(parse_num));
            if let Some(v) = onoff("rss") {
                p = p.b("rss", v);
            }
            if let Some(v) = onoff("rss_hash_report") {
                p = p.b("hash", v);
            }
        }
        let p = p
            .s("netdev", host)
            .s("id", id)
            .s("mac", mac)
            .ou("bootindex", boot);
        let p = pci_address(c, el, p)?;
        c.device(p);
    }
    Ok(())
}

/// The NIC types whose host end is a tap device QEMU is handed.
pub const TAP_NIC_TYPES: [&str; 3] = ["ethernet", "bridge", "network"];

/// The `-netdev` of a tap-backed NIC (before its id): the tap's
/// descriptor, and vhost-net's for a virtio NIC of a KVM guest (libvirt
/// uses vhost-net only with KVM, unless the driver says `qemu`).
fn tap_netdev(c: &mut Ctx, el: &Element, ty: &str, mac: &str, virtio: bool) -> Res<Props> {
    let src = el.child("source");
    let bridge = match ty {
        "bridge" => Some(
            src.and_then(|s| s.attr("bridge"))
                .ok_or_else(|| unsupported("bridge interface without source bridge"))?
                .to_string(),
        ),
        // The bridge of the network's port, recorded when it was taken.
        "network" => src.and_then(|s| s.attr("bridge")).map(str::to_string),
        _ => None,
    };
    let spec = TapSpec {
        ifname: el
            .child("target")
            .and_then(|t| t.attr("dev"))
            .unwrap_or_default()
            .to_string(),
        mac: mac.to_string(),
        bridge,
        mtu: el
            .child("mtu")
            .and_then(|m| m.attr("size"))
            .and_then(parse_num)
            .and_then(|m| u32::try_from(m).ok()),
        vnet_hdr: virtio,
    };
    let fd = c.pass_fd(3, FdSource::Tap(spec));
    let mut p = Props::new().s("type", "tap").s("fd", fd.to_string());
    let driver_name = el.child("driver").and_then(|d| d.attr("name"));
    if virtio && c.virt == VirtType::Kvm && driver_name != Some("qemu") {
        let vfd = c.pass_fd(44, FdSource::VhostNet);
        p = p.b("vhost", true).s("vhostfd", vfd.to_string());
    }
    Ok(p)
}

fn build_iothreads(c: &mut Ctx) -> Res<()> {
    let count = c
        .def
        .other_element("iothreads")
        .and_then(|e| parse_num(e.text().trim()))
        .unwrap_or(0);
    let defined: Vec<Element> = c
        .def
        .other_element("iothreadids")
        .map(|e| e.children_named("iothread").cloned().collect())
        .unwrap_or_default();
    let mut ids: Vec<(u64, Option<Element>)> = defined
        .iter()
        .map(|e| {
            (
                e.attr("id").and_then(parse_num).unwrap_or(0),
                Some(e.clone()),
            )
        })
        .collect();
    // Threads counted but not listed get the lowest free ids.
    let mut next = 1;
    while (ids.len() as u64) < count {
        if !ids.iter().any(|(i, _)| *i == next) {
            ids.push((next, None));
        }
        next += 1;
    }
    for (id, el) in ids {
        let mut p = Props::new()
            .s("qom-type", "iothread")
            .s("id", format!("iothread{id}"));
        if let Some(e) = el {
            for (k, _) in &e.attrs {
                if !["id", "thread_pool_min", "thread_pool_max"].contains(&k.as_str()) {
                    return Err(unsupported(&format!("iothread {k}")));
                }
            }
            let poll = e.child("poll");
            let pn = |k: &str| poll.and_then(|p| p.attr(k)).and_then(parse_num);
            p = p
                .ou(
                    "thread-pool-min",
                    e.attr("thread_pool_min").and_then(parse_num),
                )
                .ou(
                    "thread-pool-max",
                    e.attr("thread_pool_max").and_then(parse_num),
                )
                .ou("poll-max-ns", pn("max"))
                .ou("poll-grow", pn("grow"))
                .ou("poll-shrink", pn("shrink"));
        }
        c.object(p);
    }
    // The main loop's thread pool (`<defaultiothread>`).
    if let Some(d) = c.def.other_element("defaultiothread") {
        let pool = |k: &str| d.attr(k).and_then(parse_num);
        c.object(
            Props::new()
                .s("qom-type", "main-loop")
                .s("id", "main-loop")
                .ou("thread-pool-min", pool("thread_pool_min"))
                .ou("thread-pool-max", pool("thread_pool_max")),
        );
    }
    Ok(())
}

/// The `-chardev` of a `<channel>`/`<console>` source that only these
/// devices have (SPICE agent channels), or the common back ends.
fn build_channel_chardev(c: &mut Ctx, el: &Element, id: &str) -> Res<()> {
    match el.attr("type") {
        Some("spicevmc") => {
            let name = if el.local_name() == "redirdev" {
                "usbredir"
            } else {
                "vdagent"
            };
            c.opt("-chardev", format!("spicevmc,id=char{id},name={name}"));
            Ok(())
        }
        Some("qemu-vdagent") => {
            let src = el.child("source");
            let onoff = |b: bool| if b { "on" } else { "off" };
            let clip = src
                .and_then(|s| s.child("clipboard"))
                .and_then(|e| e.attr("copypaste"))
                == Some("yes");
            let mouse = src
                .and_then(|s| s.child("mouse"))
                .and_then(|e| e.attr("mode"))
                == Some("client");
            c.opt(
                "-chardev",
                format!(
                    "qemu-vdagent,id=char{id},name=vdagent,clipboard={},mouse={}",
                    onoff(clip),
                    onoff(mouse)
                ),
            );
            Ok(())
        }
        Some("unix") => {
            // A listening socket is passed in as an fd; the source path
            // may be the generated one.
            let src = el.child("source");
            if src.and_then(|s| s.attr("mode")) == Some("bind") || src.is_none() {
                let path = match src.and_then(|s| s.attr("path")) {
                    Some(p) => p.to_string(),
                    None => format!(
                        "{}/{}",
                        c.chan_dir,
                        el.child("target")
                            .and_then(|t| t.attr("name"))
                            .unwrap_or(id)
                    ),
                };
                let sock = if c.pretend() {
                    format!("path={}", qemu_opt_escape(&path))
                } else {
                    format!("fd={}", c.pass_fd(1729, FdSource::ListenSocket(path)))
                };
                c.opt(
                    "-chardev",
                    format!("socket,id=char{id},{sock},server=on,wait=off"),
                );
                return Ok(());
            }
            build_chardev(c, el, id)
        }
        _ => build_chardev(c, el, id),
    }
}

fn virtio_serial_address(el: &Element, p: Props) -> Res<Props> {
    let Some(a) = el.child("address") else {
        return Ok(p);
    };
    if a.attr("type") != Some("virtio-serial") {
        return Err(unsupported("channel address"));
    }
    let g = |k: &str| a.attr(k).and_then(parse_num).unwrap_or(0);
    Ok(p.s(
        "bus",
        format!("virtio-serial{}.{}", g("controller"), g("bus")),
    )
    .u("nr", g("port")))
}

fn build_channels(c: &mut Ctx) -> Res<()> {
    let chans: Vec<Element> = c
        .devices()
        .filter(|d| d.local_name() == "channel")
        .cloned()
        .collect();
    for (i, el) in chans.iter().enumerate() {
        let id = alias(el).unwrap_or_else(|| format!("channel{i}"));
        let t = el
            .child("target")
            .ok_or_else(|| unsupported("channel target"))?;
        match t.attr("type") {
            Some("virtio") => {
                build_channel_chardev(c, el, &id)?;
                let p = virtio_serial_address(el, Props::new().s("driver", "virtserialport"))?
                    .s("chardev", format!("char{id}"))
                    .s("id", id)
                    .os("name", t.attr("name"));
                c.device(p);
            }
            Some("guestfwd") => {
                build_channel_chardev(c, el, &id)?;
                let fwd = format!(
                    "tcp:{}:{}-chardev:char{id}",
                    t.attr("address").unwrap_or(""),
                    t.attr("port").unwrap_or("")
                );
                let mut one = Props::new();
                one = one.s("str", fwd);
                c.opt(
                    "-netdev",
                    Props::new()
                        .s("type", "user")
                        .raw(
                            "guestfwd",
                            crate::json::Prop::Arr(vec![crate::json::Prop::Obj(one)]),
                        )
                        .s("id", id)
                        .to_json(),
                );
            }
            t => return Err(unsupported(&format!("channel target {t:?}"))),
        }
    }
    Ok(())
}

fn build_consoles(c: &mut Ctx) -> Res<()> {
    let cons: Vec<Element> = c
        .devices()
        .filter(|d| d.local_name() == "console")
        .cloned()
        .collect();
    for (i, el) in cons.iter().enumerate() {
        let tt = el.child("target").and_then(|t| t.attr("type"));
        match tt {
            Some("serial") | None if i == 0 => {}
            Some("virtio") => {
                let id = alias(el).unwrap_or_else(|| format!("console{i}"));
                build_channel_chardev(c, el, &id)?;
                let p = virtio_serial_address(el, Props::new().s("driver", "virtconsole"))?
                    .s("chardev", format!("char{id}"))
                    .s("id", id);
                c.device(p);
            }
            t => return Err(unsupported(&format!("console target {t:?}"))),
        }
    }
    Ok(())
}

/// The `-chardev` of a character device element (`<serial>`, ...),
/// preceded by the `-add-fd` its files need; `id` is the device alias.
fn build_chardev(c: &mut Ctx, el: &Element, id: &str) -> Res<()> {
    let ty = el.attr("type").unwrap_or("pty");
    let sources: Vec<&Element> = el.children_named("source").collect();
    let src = sources.first().copied();
    for e in el.elements() {
        if !["source", "target", "address", "alias", "protocol", "log"].contains(&e.local_name()) {
            return Err(unsupported(&format!("chardev <{}>", e.name)));
        }
    }
    for s in &sources {
        if s.elements().next().is_some() {
            return Err(unsupported("chardev source options"));
        }
    }
    let log = el.child("log");
    if log.is_some() && ty != "file" {
        return Err(unsupported("chardev log"));
    }
    let chr = format!("char{id}");
    let v = match ty {
        "pty" => format!("pty,id={chr}"),
        "pipe" => {
            let path = src.and_then(|s| s.attr("path")).unwrap_or("");
            format!("pipe,id={chr},path={}", qemu_opt_escape(path))
        }
        "spiceport" => {
            let ch = src.and_then(|s| s.attr("channel")).unwrap_or("");
            format!("spiceport,id={chr},name={}", qemu_opt_escape(ch))
        }
        "vc" => format!("vc,id={chr}"),
        "null" => format!("null,id={chr}"),
        "dev" => {
            let path = src.and_then(|s| s.attr("path")).unwrap_or("");
            format!("serial,id={chr},path={}", qemu_opt_escape(path))
        }
        "file" if c.pretend() => {
            // Nothing is opened: QEMU is told the paths.
            let path = src.and_then(|s| s.attr("path")).unwrap_or("");
            let mut v = format!("file,id={chr},path={}", qemu_opt_escape(path));
            if let Some(a) = src.and_then(|s| s.attr("append")) {
                v.push_str(&format!(",append={a}"));
            }
            if let Some(l) = log {
                let lp = l.attr("file").unwrap_or("");
                v.push_str(&format!(",logfile={}", qemu_opt_escape(lp)));
                if let Some(a) = l.attr("append") {
                    v.push_str(&format!(",logappend={a}"));
                }
            }
            v
        }
        "file" => {
            let path = src.and_then(|s| s.attr("path")).unwrap_or("").to_string();
            let set = c.fdset;
            c.fdset += 1;
            let fd = c.pass_fd(1750, FdSource::AppendFile(path));
            c.opt("-add-fd", format!("set={set},fd={fd},opaque={id}-source"));
            let mut v = format!("file,id={chr},path=/dev/fdset/{set},append=on");
            if let Some(l) = log {
                let lp = l.attr("file").unwrap_or("").to_string();
                let lset = c.fdset;
                c.fdset += 1;
                let lfd = c.pass_fd(1751, FdSource::AppendFile(lp));
                c.opt("-add-fd", format!("set={lset},fd={lfd},opaque={id}-log"));
                v.push_str(&format!(",logfile=/dev/fdset/{lset},logappend=on"));
            }
            v
        }
        "tcp" => {
            let s = src.ok_or_else(|| unsupported("tcp chardev without source"))?;
            let tls = match s.attr("tls") {
                Some("yes") => true,
                Some("no") => false,
                _ => c.chardev_tls,
            };
            let tls_obj = format!("obj{chr}_tls0");
            if tls {
                let pw = match c.chardev_tls_secret.clone() {
                    Some(uuid) => {
                        let sid = format!("{chr}-secret0");
                        let r = SecretRef {
                            kind: "tls".into(),
                            uuid: Some(uuid),
                            usage: None,
                        };
                        secret_object(c, &sid, &r)?;
                        Some(sid)
                    }
                    None => None,
                };
                let server = s.attr("mode") == Some("bind");
                c.object(
                    Props::new()
                        .s("qom-type", "tls-creds-x509")
                        .s("id", tls_obj.clone())
                        .s("dir", "/etc/pki/libvirt-chardev")
                        .s("endpoint", if server { "server" } else { "client" })
                        .b("verify-peer", !server || c.chardev_tls_verify)
                        .os("passwordid", pw),
                );
            }
            let mut v = format!(
                "socket,id={chr},host={},port={}",
                s.attr("host").unwrap_or(""),
                s.attr("service").unwrap_or("")
            );
            let proto = el.child("protocol").and_then(|p| p.attr("type"));
            if proto == Some("telnet") {
                v.push_str(",telnet=on");
            } else if proto.is_some_and(|p| p != "raw") {
                return Err(unsupported("chardev protocol"));
            }
            if s.attr("mode") == Some("bind") {
                v.push_str(",server=on,wait=off");
            }
            if tls {
                v.push_str(&format!(",tls-creds={tls_obj}"));
            }
            v
        }
        "udp" => {
            let bind = sources.iter().find(|s| s.attr("mode") == Some("bind"));
            let conn = sources.iter().find(|s| s.attr("mode") != Some("bind"));
            format!(
                "udp,id={chr},host={},port={},localaddr={},localport={}",
                conn.and_then(|s| s.attr("host")).unwrap_or(""),
                conn.and_then(|s| s.attr("service")).unwrap_or("0"),
                bind.and_then(|s| s.attr("host")).unwrap_or(""),
                bind.and_then(|s| s.attr("service")).unwrap_or("0"),
            )
        }
        "unix" => {
            let s = src.ok_or_else(|| unsupported("unix chardev without source"))?;
            if s.attr("mode") == Some("bind") {
                let path = s.attr("path").unwrap_or("").to_string();
                let sock = if c.pretend() {
                    format!("path={}", qemu_opt_escape(&path))
                } else {
                    format!("fd={}", c.pass_fd(1729, FdSource::ListenSocket(path)))
                };
                format!("socket,id={chr},{sock},server=on,wait=off")
            } else {
                format!(
                    "socket,id={chr},path={}",
                    qemu_opt_escape(s.attr("path").unwrap_or(""))
                )
            }
        }
        t => return Err(unsupported(&format!("{t} chardev"))),
    };
    c.opt("-chardev", v);
    Ok(())
}

fn build_serials(c: &mut Ctx) -> Res<()> {
    let serials: Vec<Element> = c
        .devices()
        .filter(|d| d.local_name() == "serial")
        .cloned()
        .collect();
    for el in &serials {
        let t = el.child("target");
        let port = t
            .and_then(|t| t.attr("port"))
            .and_then(parse_num)
            .unwrap_or(0);
        let tt = t.and_then(|t| t.attr("type")).unwrap_or("isa-serial");
        let model = t
            .and_then(|t| t.child("model"))
            .and_then(|m| m.attr("name"))
            .unwrap_or(tt);
        let id = alias(el).unwrap_or_else(|| format!("serial{port}"));
        build_chardev(c, el, &id)?;
        let p = Props::new()
            .s("driver", model)
            .s("chardev", format!("char{id}"))
            .s("id", id.clone());
        match (tt, model) {
            ("isa-serial", "isa-serial") => {
                let mut p = p.u("index", port);
                if let Some(a) = el.child("address") {
                    if a.attr("type") != Some("isa") {
                        return Err(unsupported("serial address"));
                    }
                    p = p
                        .ou("iobase", a.attr("iobase").and_then(parse_num))
                        .ou("irq", a.attr("irq").and_then(parse_num));
                }
                c.device(p);
            }
            ("isa-debug", "isa-debugcon") | ("isa-debug", "isa-debug") => {
                let io = el
                    .child("address")
                    .filter(|a| a.attr("type") == Some("isa"))
                    .and_then(|a| a.attr("iobase"))
                    .and_then(parse_num);
                let p = Props::new()
                    .s("driver", "isa-debugcon")
                    .s("chardev", format!("char{id}"))
                    .s("id", id)
                    .ou("iobase", io);
                c.device(p);
            }
            ("pci-serial", "pci-serial") => {
                let p = pci_address(c, el, p)?;
                c.device(p);
            }
            _ => return Err(unsupported(&format!("serial target {tt} {model}"))),
        }
    }
    Ok(())
}

fn build_inputs(c: &mut Ctx) -> Res<()> {
    let inputs: Vec<Element> = c
        .devices()
        .filter(|d| d.local_name() == "input")
        .cloned()
        .collect();
    for (i, el) in inputs.iter().enumerate() {
        match (el.attr("type").unwrap_or(""), el.attr("bus").unwrap_or("")) {
            (_, "ps2") => {}
            (t @ ("tablet" | "mouse" | "keyboard"), "usb") => {
                let a = el.child("address");
                if a.and_then(|a| a.attr("type")) != Some("usb")
                    || el.elements().any(|e| e.local_name() != "address")
                {
                    return Err(unsupported("USB input options"));
                }
                let drv = match t {
                    "tablet" => "usb-tablet",
                    "mouse" => "usb-mouse",
                    _ => "usb-kbd",
                };
                let p = Props::new()
                    .s("driver", drv)
                    .s("id", alias(el).unwrap_or_else(|| format!("input{i}")));
                let p = usb_address(c, el, p)?;
                c.device(p);
            }
            (t @ ("tablet" | "mouse" | "keyboard" | "passthrough"), "virtio") => {
                let base = match t {
                    "tablet" => "virtio-tablet-pci",
                    "mouse" => "virtio-mouse-pci",
                    "keyboard" => "virtio-keyboard-pci",
                    _ => "virtio-input-host-pci",
                };
                for e in el.elements() {
                    if !["address", "alias", "driver", "source"].contains(&e.local_name()) {
                        return Err(unsupported(&format!("input <{}>", e.name)));
                    }
                }
                let drv = virtio_driver(base, el.attr("model"))?;
                let mut p = virtio_options(el, Props::new().s("driver", drv))?
                    .s("id", alias(el).unwrap_or_else(|| format!("input{i}")));
                if t == "passthrough" {
                    let dev = el
                        .child("source")
                        .and_then(|s| s.attr("evdev"))
                        .ok_or_else(|| unsupported("passthrough input without evdev"))?;
                    p = p.s("evdev", dev);
                }
                let p = pci_address(c, el, p)?;
                c.device(p);
            }
            (t, b) => return Err(unsupported(&format!("{t} input on {b}"))),
        }
    }
    Ok(())
}

fn yes(v: &str) -> bool {
    v == "yes"
}

/// An `in`/`out` object of `-audiodev`: the common settings, then the
/// back end's own, in QEMU's schema order.
fn audio_direction(ty: &str, d: &Element) -> Res<Props> {
    let mut p = Props::new();
    let num = |k: &str| d.attr(k).and_then(parse_num);
    if let Some(v) = d.attr("mixingEngine") {
        p = p.b("mixing-engine", yes(v));
    }
    if let Some(v) = d.attr("fixedSettings") {
        p = p.b("fixed-settings", yes(v));
    }
    p = p
        .ou("voices", num("voices"))
        .ou("buffer-length", num("bufferLength"));
    if let Some(st) = d.child("settings") {
        p = p
            .ou("frequency", st.attr("frequency").and_then(parse_num))
            .ou("channels", st.attr("channels").and_then(parse_num))
            .os("format", st.attr("format"));
    }
    // (XML attribute, property, kind: s string, n number, b bool)
    let own: &[(&str, &str, char)] = match ty {
        "alsa" => &[("dev", "dev", 's')],
        "oss" => &[
            ("dev", "dev", 's'),
            ("bufferCount", "buffer-count", 'n'),
            ("tryPoll", "try-poll", 'b'),
        ],
        "pulseaudio" => &[
            ("name", "name", 's'),
            ("streamName", "stream-name", 's'),
            ("latency", "latency", 'n'),
        ],
        "sdl" | "coreaudio" => &[("bufferCount", "buffer-count", 'n')],
        "jack" => &[
            ("serverName", "server-name", 's'),
            ("clientName", "client-name", 's'),
            ("connectPorts", "connect-ports", 's'),
            ("exactName", "exact-name", 'b'),
        ],
        _ => &[],
    };
    let common = ["mixingEngine", "fixedSettings", "voices", "bufferLength"];
    for (k, _) in &d.attrs {
        if !common.contains(&k.as_str()) && !own.iter().any(|(a, _, _)| a == k) {
            return Err(unsupported(&format!("audio {ty} {k}")));
        }
    }
    for (a, prop, kind) in own {
        if let Some(v) = d.attr(a) {
            p = match kind {
                's' => p.s(prop, v),
                'n' => p.ou(prop, parse_num(v)),
                _ => p.b(prop, yes(v)),
            };
        }
    }
    Ok(p)
}

fn build_audio(c: &mut Ctx) -> Res<()> {
    let audios: Vec<Element> = c
        .devices()
        .filter(|d| d.local_name() == "audio")
        .cloned()
        .collect();
    for a in &audios {
        let id = a.attr("id").unwrap_or("1");
        let ty = a.attr("type").unwrap_or("none");
        let drv = match ty {
            "none" | "alsa" | "coreaudio" | "jack" | "oss" | "sdl" | "spice" | "dbus" => ty,
            "pulseaudio" => "pa",
            "file" => "wav",
            t => return Err(unsupported(&format!("audio {t}"))),
        };
        let mut p = Props::new()
            .s("id", format!("audio{id}"))
            .s("driver", drv)
            .ou("timer-period", a.attr("timerPeriod").and_then(parse_num));
        let top: &[(&str, &str, char)] = match ty {
            "pulseaudio" => &[("serverName", "server", 's')],
            "file" => &[("path", "path", 's')],
            "oss" => &[
                ("tryMMap", "try-mmap", 'b'),
                ("exclusive", "exclusive", 'b'),
                ("dspPolicy", "dsp-policy", 'n'),
            ],
            _ => &[],
        };
        for (k, _) in &a.attrs {
            let sdl_driver = ty == "sdl" && k == "driver";
            if !sdl_driver
                && !["id", "type", "timerPeriod"].contains(&k.as_str())
                && !top.iter().any(|(x, _, _)| x == k)
            {
                return Err(unsupported(&format!("audio {ty} {k}")));
            }
        }
        for (x, prop, kind) in top {
            if let Some(v) = a.attr(x) {
                p = match kind {
                    's' => p.s(prop, v),
                    'n' => p.ou(prop, parse_num(v)),
                    _ => p.b(prop, yes(v)),
                };
            }
        }
        for e in a.elements() {
            if !["input", "output"].contains(&e.local_name()) {
                return Err(unsupported(&format!("audio <{}>", e.name)));
            }
        }
        if let Some(i) = a.child("input") {
            p = p.obj("in", audio_direction(ty, i)?);
        }
        if let Some(o) = a.child("output") {
            p = p.obj("out", audio_direction(ty, o)?);
        }
        c.opt("-audiodev", p.to_json());
    }
    Ok(())
}

fn build_graphics(c: &mut Ctx, priv_dir: &str, cfg: &CommandConfig) -> Res<()> {
    let gs: Vec<Element> = c
        .devices()
        .filter(|d| d.local_name() == "graphics")
        .cloned()
        .collect();
    for g in &gs {
        match g.attr("type").unwrap_or("") {
            "vnc" => build_vnc(c, g, priv_dir, cfg)?,
            "spice" => build_spice(c, g, priv_dir, cfg)?,
            "egl-headless" => {
                for e in g.elements() {
                    if e.local_name() != "gl" {
                        return Err(unsupported(&format!("egl-headless <{}>", e.name)));
                    }
                }
                let node = match g.child("gl").and_then(|gl| gl.attr("rendernode")) {
                    Some(n) => n.to_string(),
                    None => c
                        .cfg
                        .render_node
                        .clone()
                        .ok_or_else(|| unsupported("OpenGL without a DRM render node"))?,
                };
                c.opt(
                    "-display",
                    format!("egl-headless,rendernode={}", qemu_opt_escape(&node)),
                );
            }
            t => return Err(unsupported(&format!("{t} graphics"))),
        }
    }
    Ok(())
}

fn build_spice(c: &mut Ctx, g: &Element, priv_dir: &str, cfg: &CommandConfig) -> Res<()> {
    for (k, _) in &g.attrs {
        if ![
            "type",
            "port",
            "tlsPort",
            "autoport",
            "listen",
            "defaultMode",
            "passwd",
            "passwdValidTo",
            "connected",
        ]
        .contains(&k.as_str())
        {
            return Err(unsupported(&format!("SPICE {k}")));
        }
    }
    let listen = g.child("listen");
    let num = |k: &str| g.attr(k).and_then(|p| p.parse::<i64>().ok()).unwrap_or(0);
    let mut v = match listen.and_then(|l| l.attr("type")) {
        Some("socket") => {
            let path = listen
                .and_then(|l| l.attr("socket"))
                .map(str::to_string)
                .unwrap_or_else(|| format!("{priv_dir}/spice.sock"));
            format!("unix,addr={}", qemu_opt_escape(&path))
        }
        Some("network") => return Err(unsupported("SPICE listen network")),
        Some("address") | None
            if cfg.spice_auto_unix_socket
                && g.attr("port").is_none()
                && listen.and_then(|l| l.attr("address")).is_none() =>
        {
            format!(
                "unix,addr={}",
                qemu_opt_escape(&format!("{priv_dir}/spice.sock"))
            )
        }
        lt => {
            let port = num("port").max(0);
            let tls = num("tlsPort").max(0);
            let mut v = format!("port={port}");
            if tls > 0 {
                if !cfg.spice_tls {
                    return Err(unsupported("SPICE TLS port without spice_tls"));
                }
                v.push_str(&format!(",tls-port={tls}"));
            }
            if lt != Some("none") && (port > 0 || tls > 0) {
                let addr = listen
                    .and_then(|l| l.attr("address"))
                    .or_else(|| g.attr("listen"))
                    .unwrap_or("127.0.0.1");
                v.push_str(&format!(",addr={}", qemu_opt_escape(addr)));
            }
            v
        }
    };
    let tls_on = num("tlsPort") > 0 && cfg.spice_tls;
    if let Some(m) = g.child("mouse").and_then(|m| m.attr("mode")) {
        v.push_str(if m == "client" {
            ",agent-mouse=on"
        } else {
            ",agent-mouse=off"
        });
    }
    if cfg.spice_sasl {
        v.push_str(",sasl=on");
    }
    if tls_on {
        v.push_str(",x509-dir=/etc/pki/libvirt-spice");
    }
    match g.attr("defaultMode") {
        Some("secure") => v.push_str(",tls-channel=default"),
        Some("insecure") => v.push_str(",plaintext-channel=default"),
        _ => {}
    }
    for e in g.elements() {
        match e.local_name() {
            "listen" | "mouse" | "audio" => {}
            "channel" => {
                let name = e.attr("name").unwrap_or("");
                match e.attr("mode") {
                    Some("secure") => v.push_str(&format!(",tls-channel={name}")),
                    Some("insecure") => v.push_str(&format!(",plaintext-channel={name}")),
                    _ => {}
                }
            }
            "image" | "jpeg" | "zlib" | "playback" | "streaming" | "clipboard" | "filetransfer"
            | "gl" => {}
            n => return Err(unsupported(&format!("SPICE <{n}>"))),
        }
    }
    let get = |el: &str, a: &str| g.child(el).and_then(|e| e.attr(a)).map(str::to_string);
    if let Some(x) = get("image", "compression") {
        v.push_str(&format!(",image-compression={x}"));
    }
    if let Some(x) = get("jpeg", "compression") {
        v.push_str(&format!(",jpeg-wan-compression={x}"));
    }
    if let Some(x) = get("zlib", "compression") {
        v.push_str(&format!(",zlib-glz-wan-compression={x}"));
    }
    if let Some(x) = get("playback", "compression") {
        v.push_str(&format!(",playback-compression={x}"));
    }
    if let Some(x) = get("streaming", "mode") {
        v.push_str(&format!(",streaming-video={x}"));
    }
    if get("clipboard", "copypaste").as_deref() == Some("no") {
        v.push_str(",disable-copy-paste=on");
    }
    if get("filetransfer", "enable").as_deref() == Some("no") {
        v.push_str(",disable-agent-file-xfer=on");
    }
    if get("gl", "enable").as_deref() == Some("yes") {
        v.push_str(",gl=on");
        let node = match get("gl", "rendernode") {
            Some(n) => n,
            None => cfg
                .render_node
                .clone()
                .ok_or_else(|| unsupported("OpenGL without a DRM render node"))?,
        };
        v.push_str(&format!(",rendernode={}", qemu_opt_escape(&node)));
    }
    v.push_str(",seamless-migration=on");
    c.opt("-spice", v);
    Ok(())
}

fn build_vnc(c: &mut Ctx, g: &Element, priv_dir: &str, cfg: &CommandConfig) -> Res<()> {
    for (k, _) in &g.attrs {
        if ![
            "type",
            "port",
            "autoport",
            "listen",
            "sharePolicy",
            "powerControl",
            "socket",
            "websocket",
        ]
        .contains(&k.as_str())
        {
            return Err(unsupported(&format!("VNC {k}")));
        }
    }
    for e in g.elements() {
        if !["listen", "audio"].contains(&e.local_name()) {
            return Err(unsupported(&format!("VNC <{}>", e.name)));
        }
    }
    let listen = g.child("listen");
    let mut v = match listen.and_then(|l| l.attr("type")) {
        Some("none") => "none".to_string(),
        Some("socket") => {
            let path = listen
                .and_then(|l| l.attr("socket"))
                .map(str::to_string)
                .unwrap_or_else(|| format!("{priv_dir}/vnc.sock"));
            format!("vnc=unix:{}", qemu_opt_escape(&path))
        }
        Some("network") => return Err(unsupported("VNC listen network")),
        Some("address") | None
            if cfg.vnc_auto_unix_socket
                && listen.and_then(|l| l.attr("address")).is_none()
                && g.attr("listen").is_none() =>
        {
            format!(
                "vnc=unix:{}",
                qemu_opt_escape(&format!("{priv_dir}/vnc.sock"))
            )
        }
        _ => {
            let addr = listen
                .and_then(|l| l.attr("address"))
                .or_else(|| g.attr("listen"))
                .unwrap_or("127.0.0.1");
            // An automatic port is the one the driver chose at start
            // (the live definition's), else the first.
            let port = g
                .attr("port")
                .and_then(|p| p.parse::<i64>().ok())
                .filter(|p| *p >= 5900)
                .unwrap_or(5900);
            let addr = if addr.contains(':') {
                format!("[{addr}]")
            } else {
                addr.to_string()
            };
            let mut v = format!("{addr}:{}", port - 5900);
            match g.attr("websocket").map(str::parse::<u16>) {
                None => {}
                Some(Ok(ws)) if ws > 0 => v.push_str(&format!(",websocket={ws}")),
                Some(_) => return Err(unsupported("VNC websocket port allocation")),
            }
            v
        }
    };
    if let Some(sp) = g.attr("sharePolicy") {
        v.push_str(&format!(",share={sp}"));
    }
    if cfg.vnc_tls {
        let pw = match cfg.vnc_tls_secret.clone() {
            Some(uuid) => {
                let sid = "vnc-tls-creds0-secret0".to_string();
                let r = SecretRef {
                    kind: "tls".into(),
                    uuid: Some(uuid),
                    usage: None,
                };
                secret_object(c, &sid, &r)?;
                Some(sid)
            }
            None => None,
        };
        c.object(
            Props::new()
                .s("qom-type", "tls-creds-x509")
                .s("id", "vnc-tls-creds0")
                .s("dir", "/etc/pki/libvirt-vnc")
                .s("endpoint", "server")
                .b("verify-peer", cfg.vnc_tls_verify)
                .os("passwordid", pw),
        );
        v.push_str(",tls-creds=vnc-tls-creds0");
    }
    if cfg.vnc_sasl {
        v.push_str(",sasl=on");
    }
    if g.attr("powerControl") == Some("yes") {
        v.push_str(",power-control=on");
    }
    let audio = g
        .child("audio")
        .and_then(|a| a.attr("id"))
        .map(str::to_string)
        .or_else(|| {
            c.devices()
                .find(|d| d.local_name() == "audio")
                .and_then(|a| a.attr("id"))
                .map(str::to_string)
        });
    if let Some(a) = audio {
        v.push_str(&format!(",audiodev=audio{a}"));
    }
    c.opt("-vnc", v);
    Ok(())
}

fn build_videos(c: &mut Ctx) -> Res<()> {
    let vids: Vec<Element> = c
        .devices()
        .filter(|d| d.local_name() == "video")
        .cloned()
        .collect();
    for (i, v) in vids.iter().enumerate() {
        let m = v
            .child("model")
            .ok_or_else(|| unsupported("video without model"))?;
        for e in v.elements() {
            if !["model", "address", "alias", "driver", "acpi"].contains(&e.local_name()) {
                return Err(unsupported(&format!("video <{}>", e.name)));
            }
        }
        for e in m.elements() {
            if e.local_name() != "acceleration" || m.attr("type") != Some("virtio") {
                return Err(unsupported("video model options"));
            }
            if e.attrs
                .iter()
                .any(|(k, _)| k != "accel3d" && k != "rendernode")
            {
                return Err(unsupported("video acceleration options"));
            }
        }
        let ty = m.attr("type").unwrap_or("");
        let primary = i == 0;
        let id = alias(v).unwrap_or_else(|| format!("video{i}"));
        let kib = |k: &str| m.attr(k).and_then(parse_num);
        let p = match ty {
            "none" => continue,
            "cirrus" => Props::new().s("driver", "cirrus-vga").s("id", id),
            "vga" => Props::new()
                .s("driver", "VGA")
                .s("id", id)
                .ou("vgamem_mb", kib("vram").map(|v| v / 1024)),
            "qxl" => Props::new()
                .s("driver", if primary { "qxl-vga" } else { "qxl" })
                .s("id", id)
                .u("max_outputs", kib("heads").unwrap_or(1))
                .ou("ram_size", kib("ram").map(|v| v * 1024))
                .ou("vram_size", kib("vram").map(|v| v * 1024))
                .u("vram64_size_mb", kib("vram64").unwrap_or(0) / 1024)
                .ou("vgamem_mb", kib("vgamem").map(|v| v / 1024)),
            "virtio" => {
                if m.attrs
                    .iter()
                    .any(|(k, _)| !["type", "heads", "primary"].contains(&k.as_str()))
                {
                    return Err(unsupported("virtio video options"));
                }
                let gl = m.child("acceleration").and_then(|a| a.attr("accel3d")) == Some("yes");
                let drv = match (primary, gl) {
                    (true, false) => "virtio-vga",
                    (false, false) => "virtio-gpu-pci",
                    (true, true) => "virtio-vga-gl",
                    (false, true) => "virtio-gpu-gl-pci",
                };
                virtio_options(v, Props::new().s("driver", drv))?
                    .s("id", id)
                    .u("max_outputs", kib("heads").unwrap_or(1))
            }
            "bochs" => Props::new()
                .s("driver", "bochs-display")
                .s("id", id)
                .ou("vgamem", kib("vram").map(|v| v * 1024)),
            // A platform device: no PCI address.
            "ramfb" => {
                c.device(Props::new().s("driver", "ramfb").s("id", id));
                continue;
            }
            t => return Err(unsupported(&format!("video {t}"))),
        };
        let p = pci_address(c, v, p)?;
        c.device(p);
    }
    Ok(())
}

fn build_watchdogs(c: &mut Ctx) -> Res<()> {
    let wds: Vec<Element> = c
        .devices()
        .filter(|d| d.local_name() == "watchdog")
        .cloned()
        .collect();
    for (i, w) in wds.iter().enumerate() {
        let id = alias(w).unwrap_or_else(|| format!("watchdog{i}"));
        match w.attr("model").unwrap_or("") {
            "itco" => c.opt("-global", "ICH9-LPC.noreboot=off"),
            "ib700" => c.device(Props::new().s("driver", "ib700").s("id", id)),
            "i6300esb" => {
                let p = Props::new().s("driver", "i6300esb").s("id", id);
                let p = pci_address(c, w, p)?;
                c.device(p);
            }
            m => return Err(unsupported(&format!("watchdog {m}"))),
        }
    }
    // One action for the guest, that of the first watchdog.
    if let Some(w) = wds.first() {
        let action = match w.attr("action").unwrap_or("reset") {
            "dump" => "pause",
            a => a,
        };
        c.opt("-watchdog-action", action);
    }
    Ok(())
}

/// The virtio transport options of a device's `<driver>` (iommu, ats,
/// packed, page_per_vq), right after its driver name.
fn virtio_options(el: &Element, mut p: Props) -> Res<Props> {
    let Some(d) = el.child("driver") else {
        return Ok(p);
    };
    // A disk's <driver> has its own attributes too, checked by its builder.
    if !["disk", "filesystem", "controller", "interface"].contains(&el.local_name()) {
        for (k, _) in &d.attrs {
            if !["iommu", "ats", "packed", "page_per_vq"].contains(&k.as_str()) {
                return Err(unsupported(&format!("{} driver {k}", el.local_name())));
            }
        }
    }
    for (a, prop) in [
        ("iommu", "iommu_platform"),
        ("ats", "ats"),
        ("packed", "packed"),
        ("page_per_vq", "page-per-vq"),
    ] {
        if let Some(v) = d.attr(a) {
            p = p.b(prop, v == "on");
        }
    }
    Ok(p)
}

fn build_pm(c: &mut Ctx) -> Res<()> {
    let Some(pm) = c.def.other_element("pm") else {
        return Ok(());
    };
    let dev = if c.q35 { "ICH9-LPC" } else { "PIIX4_PM" };
    for (el, n) in [("suspend-to-mem", 3), ("suspend-to-disk", 4)] {
        if let Some(e) = pm.child(el) {
            let v = match e.attr("enabled") {
                Some("no") => 1,
                Some("yes") => 0,
                _ => continue,
            };
            c.opt("-global", format!("{dev}.disable_s{n}={v}"));
        }
    }
    Ok(())
}

fn build_parallels(c: &mut Ctx) -> Res<()> {
    let ps: Vec<Element> = c
        .devices()
        .filter(|d| d.local_name() == "parallel")
        .cloned()
        .collect();
    for (i, el) in ps.iter().enumerate() {
        let port = el
            .child("target")
            .and_then(|t| t.attr("port"))
            .and_then(parse_num)
            .unwrap_or(i as u64);
        let id = alias(el).unwrap_or_else(|| format!("parallel{port}"));
        if el.attr("type") == Some("dev") {
            let path = el
                .child("source")
                .and_then(|s| s.attr("path"))
                .unwrap_or("");
            c.opt(
                "-chardev",
                format!("parallel,id=char{id},path={}", qemu_opt_escape(path)),
            );
        } else {
            build_chardev(c, el, &id)?;
        }
        c.device(
            Props::new()
                .s("driver", "isa-parallel")
                .s("chardev", format!("char{id}"))
                .s("id", id),
        );
    }
    Ok(())
}

fn default_audio(c: &Ctx) -> Option<String> {
    c.devices()
        .find(|d| d.local_name() == "audio")
        .and_then(|a| a.attr("id"))
        .map(str::to_string)
}

/// The audio backend a sound device plays through (`audioN`): its own
/// `<audio id>`, else the first backend's.
fn sound_audio(c: &Ctx, el: &Element) -> Option<String> {
    el.child("audio")
        .and_then(|a| a.attr("id"))
        .map(str::to_string)
        .or_else(|| default_audio(c))
        .map(|a| format!("audio{a}"))
}

fn build_sounds(c: &mut Ctx) -> Res<()> {
    let ss: Vec<Element> = c
        .devices()
        .filter(|d| d.local_name() == "sound")
        .cloned()
        .collect();
    for (i, el) in ss.iter().enumerate() {
        for e in el.elements() {
            if !["address", "alias", "codec", "audio"].contains(&e.local_name()) {
                return Err(unsupported(&format!("sound <{}>", e.name)));
            }
        }
        let id = alias(el).unwrap_or_else(|| format!("sound{i}"));
        let audio = sound_audio(c, el);
        let model = el.attr("model").unwrap_or("");
        match model {
            // On the machine's command line (build_machine).
            "pcspk" => {}
            "usb" => {
                let multi = match el.attr("multichannel") {
                    Some("yes") => Some(true),
                    Some("no") => Some(false),
                    _ => None,
                };
                let p = Props::new()
                    .s("driver", "usb-audio")
                    .s("id", id)
                    .os("audiodev", audio)
                    .ob("multi", multi);
                let p = usb_address(c, el, p)?;
                c.device(p);
            }
            "ac97" | "es1370" => {
                let drv = if model == "ac97" { "AC97" } else { "ES1370" };
                let p = Props::new()
                    .s("driver", drv)
                    .s("id", id)
                    .os("audiodev", audio);
                let p = pci_address(c, el, p)?;
                c.device(p);
            }
            "sb16" => c.device(
                Props::new()
                    .s("driver", "sb16")
                    .s("id", id)
                    .os("audiodev", audio),
            ),
            "ich6" | "ich9" => {
                let drv = if model == "ich6" {
                    "intel-hda"
                } else {
                    "ich9-intel-hda"
                };
                let p = Props::new().s("driver", drv).s("id", id.clone());
                let p = pci_address(c, el, p)?;
                c.device(p);
                let codecs: Vec<&str> = el
                    .children_named("codec")
                    .map(|cd| cd.attr("type").unwrap_or("duplex"))
                    .collect();
                let codecs = if codecs.is_empty() {
                    vec!["duplex"]
                } else {
                    codecs
                };
                for (n, t) in codecs.iter().enumerate() {
                    let drv = match *t {
                        "duplex" => "hda-duplex",
                        "micro" => "hda-micro",
                        "output" => "hda-output",
                        t => return Err(unsupported(&format!("sound codec {t}"))),
                    };
                    c.device(
                        Props::new()
                            .s("driver", drv)
                            .s("id", format!("{id}-codec{n}"))
                            .s("bus", format!("{id}.0"))
                            .u("cad", n as u64)
                            .os("audiodev", audio.clone()),
                    );
                }
            }
            m => return Err(unsupported(&format!("sound {m}"))),
        }
    }
    Ok(())
}

fn build_rngs(c: &mut Ctx) -> Res<()> {
    let rs: Vec<Element> = c
        .devices()
        .filter(|d| d.local_name() == "rng")
        .cloned()
        .collect();
    for (i, el) in rs.iter().enumerate() {
        let drv = virtio_driver("virtio-rng-pci", el.attr("model"))?;
        for e in el.elements() {
            if !["address", "alias", "backend", "rate", "driver"].contains(&e.local_name()) {
                return Err(unsupported(&format!("rng <{}>", e.name)));
            }
        }
        let id = alias(el).unwrap_or_else(|| format!("rng{i}"));
        let obj = format!("obj{id}");
        let be = el
            .child("backend")
            .ok_or_else(|| unsupported("rng backend"))?;
        match be.attr("model") {
            Some("random") => {
                let f = be.text();
                let f = if f.is_empty() {
                    "/dev/urandom".to_string()
                } else {
                    f
                };
                c.object(
                    Props::new()
                        .s("qom-type", "rng-random")
                        .s("id", obj.clone())
                        .s("filename", f),
                );
            }
            Some("builtin") => c.object(
                Props::new()
                    .s("qom-type", "rng-builtin")
                    .s("id", obj.clone()),
            ),
            _ => return Err(unsupported("rng backend model")),
        }
        let mut p = virtio_options(el, Props::new().s("driver", drv))?
            .s("rng", obj)
            .s("id", id);
        if let Some(r) = el.child("rate") {
            p = p
                .ou("max-bytes", r.attr("bytes").and_then(parse_num))
                .ou("period", r.attr("period").and_then(parse_num));
        }
        let p = pci_address(c, el, p)?;
        c.device(p);
    }
    Ok(())
}

/// The QEMU bus of USB port addresses on controller `bus` (its alias).
fn usb_bus(c: &Ctx, bus: u64) -> String {
    let ctrl = c.devices().find(|d| {
        d.local_name() == "controller"
            && d.attr("type") == Some("usb")
            && d.attr("index").and_then(parse_num).unwrap_or(0) == bus
            && !d.attr("model").is_some_and(|m| m.starts_with("ich9-uhci"))
    });
    let name = ctrl.and_then(alias).unwrap_or_else(|| {
        if bus == 0 {
            "usb".into()
        } else {
            format!("usb{bus}")
        }
    });
    format!("{name}.0")
}

fn ccid_alias(c: &Ctx, idx: u64) -> String {
    c.devices()
        .find(|d| {
            d.local_name() == "controller"
                && d.attr("type") == Some("ccid")
                && d.attr("index").and_then(parse_num).unwrap_or(0) == idx
        })
        .and_then(alias)
        .unwrap_or_else(|| format!("ccid{idx}"))
}

fn build_ccid_controllers(c: &mut Ctx) -> Res<()> {
    let cs: Vec<Element> = c
        .devices()
        .filter(|d| d.local_name() == "controller" && d.attr("type") == Some("ccid"))
        .cloned()
        .collect();
    for el in &cs {
        let idx = el.attr("index").and_then(parse_num).unwrap_or(0);
        let a = el
            .child("address")
            .filter(|a| a.attr("type") == Some("usb"))
            .ok_or_else(|| unsupported("CCID controller address"))?;
        let bus = usb_bus(c, a.attr("bus").and_then(parse_num).unwrap_or(0));
        c.device(
            Props::new()
                .s("driver", "usb-ccid")
                .s("id", ccid_alias(c, idx))
                .s("bus", bus)
                .s("port", a.attr("port").unwrap_or("1")),
        );
    }
    Ok(())
}

fn build_smartcards(c: &mut Ctx) -> Res<()> {
    let scs: Vec<Element> = c
        .devices()
        .filter(|d| d.local_name() == "smartcard")
        .cloned()
        .collect();
    for (i, el) in scs.iter().enumerate() {
        let id = alias(el).unwrap_or_else(|| format!("smartcard{i}"));
        let ctrl = el
            .child("address")
            .filter(|a| a.attr("type") == Some("ccid"))
            .and_then(|a| a.attr("controller"))
            .and_then(parse_num)
            .unwrap_or(0);
        let bus = format!("{}.0", ccid_alias(c, ctrl));
        let p = match el.attr("mode") {
            Some("host") => Props::new()
                .s("driver", "ccid-card-emulated")
                .s("backend", "nss-emulated"),
            Some("host-certificates") => {
                let certs: Vec<String> =
                    el.children_named("certificate").map(|e| e.text()).collect();
                if certs.len() != 3 {
                    return Err(unsupported("smartcard without three certificates"));
                }
                let db = el
                    .child_text("database")
                    .unwrap_or_else(|| "/etc/pki/nssdb".into());
                Props::new()
                    .s("driver", "ccid-card-emulated")
                    .s("backend", "certificates")
                    .s("cert1", certs[0].clone())
                    .s("cert2", certs[1].clone())
                    .s("cert3", certs[2].clone())
                    .s("db", db)
            }
            Some("passthrough") => {
                build_channel_chardev(c, el, &id)?;
                Props::new()
                    .s("driver", "ccid-card-passthru")
                    .s("chardev", format!("char{id}"))
            }
            m => return Err(unsupported(&format!("smartcard mode {m:?}"))),
        };
        c.device(p.s("id", id).s("bus", bus));
    }
    Ok(())
}

fn build_redirdevs(c: &mut Ctx) -> Res<()> {
    let rs: Vec<Element> = c
        .devices()
        .filter(|d| d.local_name() == "redirdev")
        .cloned()
        .collect();
    for (i, el) in rs.iter().enumerate() {
        if el.attr("bus") != Some("usb") {
            return Err(unsupported("redirdev bus"));
        }
        for e in el.elements() {
            if !["source", "address", "alias", "boot", "protocol"].contains(&e.local_name()) {
                return Err(unsupported(&format!("redirdev <{}>", e.name)));
            }
        }
        let id = alias(el).unwrap_or_else(|| format!("redir{i}"));
        build_channel_chardev(c, el, &id)?;
        let a = el
            .child("address")
            .filter(|a| a.attr("type") == Some("usb"))
            .ok_or_else(|| unsupported("redirdev address"))?;
        let bus = usb_bus(c, a.attr("bus").and_then(parse_num).unwrap_or(0));
        let p = Props::new()
            .s("driver", "usb-redir")
            .s("chardev", format!("char{id}"))
            .s("id", id)
            .ou(
                "bootindex",
                el.child("boot")
                    .and_then(|b| b.attr("order"))
                    .and_then(parse_num),
            )
            .s("bus", bus)
            .s("port", a.attr("port").unwrap_or("1"));
        c.device(p);
    }
    Ok(())
}

fn build_hostdevs(c: &mut Ctx) -> Res<()> {
    let hds: Vec<Element> = c
        .devices()
        .filter(|d| d.local_name() == "hostdev")
        .cloned()
        .collect();
    let mut n = 0;
    for el in &hds {
        if el.attr("mode") != Some("subsystem") {
            return Err(unsupported("hostdev mode"));
        }
        for e in el.elements() {
            if !["source", "address", "alias", "boot"].contains(&e.local_name()) {
                return Err(unsupported(&format!("hostdev <{}>", e.name)));
            }
        }
        let id = match alias(el) {
            Some(a) => a,
            None => {
                n += 1;
                format!("hostdev{}", n - 1)
            }
        };
        let boot = el
            .child("boot")
            .and_then(|b| b.attr("order"))
            .and_then(parse_num);
        let src = el
            .child("source")
            .ok_or_else(|| unsupported("hostdev source"))?;
        match el.attr("type") {
            Some("pci") => {
                let a = src
                    .child("address")
                    .ok_or_else(|| unsupported("PCI hostdev address"))?;
                let g = |k: &str| a.attr(k).and_then(parse_num).unwrap_or(0);
                if src.attrs.iter().any(|_| true) || el.child("driver").is_some() {
                    return Err(unsupported("PCI hostdev options"));
                }
                let host = format!(
                    "{:04x}:{:02x}:{:02x}.{:x}",
                    g("domain"),
                    g("bus"),
                    g("slot"),
                    g("function")
                );
                let p = Props::new()
                    .s("driver", "vfio-pci")
                    .s("host", host)
                    .s("id", id)
                    .ou("bootindex", boot);
                let p = pci_address(c, el, p)?;
                c.device(p);
            }
            Some("mdev") => {
                let uuid = src
                    .child("address")
                    .and_then(|a| a.attr("uuid"))
                    .ok_or_else(|| unsupported("mdev without UUID"))?;
                if el.attr("model") != Some("vfio-pci") {
                    return Err(unsupported("mdev model"));
                }
                let ramfb = el.attr("ramfb") == Some("on");
                let p = Props::new()
                    .s(
                        "driver",
                        if ramfb {
                            "vfio-pci-nohotplug"
                        } else {
                            "vfio-pci"
                        },
                    )
                    .s("id", id)
                    .s("sysfsdev", format!("/sys/bus/mdev/devices/{uuid}"))
                    .os("display", el.attr("display"));
                let p = if ramfb { p.b("ramfb", true) } else { p };
                let p = pci_address(c, el, p)?;
                c.device(p);
            }
            Some("usb") => {
                let a = src
                    .child("address")
                    .ok_or_else(|| unsupported("USB hostdev by vendor"))?;
                let g = |k: &str| a.attr(k).and_then(parse_num).unwrap_or(0);
                let mut p = Props::new()
                    .s("driver", "usb-host")
                    .s(
                        "hostdevice",
                        format!("/dev/bus/usb/{:03}/{:03}", g("bus"), g("device")),
                    )
                    .s("id", id);
                match src.attr("guestReset") {
                    None => {}
                    Some("off") => p = p.b("guest-reset", false),
                    Some("uninitialized") => {
                        p = p.b("guest-reset", true).b("guest-resets-all", false)
                    }
                    Some(r) => return Err(unsupported(&format!("USB guestReset {r}"))),
                }
                p = p.ou("bootindex", boot);
                let ua = el.child("address");
                if ua.and_then(|a| a.attr("type")) != Some("usb") {
                    return Err(unsupported("USB hostdev guest address"));
                }
                let ua = ua.ok_or_else(|| unsupported("USB hostdev guest address"))?;
                let bus = usb_bus(c, ua.attr("bus").and_then(parse_num).unwrap_or(0));
                p = p.s("bus", bus).s("port", ua.attr("port").unwrap_or("1"));
                c.device(p);
            }
            t => return Err(unsupported(&format!("{} hostdev", t.unwrap_or("?")))),
        }
    }
    Ok(())
}

fn build_tpms(c: &mut Ctx) -> Res<()> {
    let tpms: Vec<Element> = c
        .devices()
        .filter(|d| d.local_name() == "tpm")
        .cloned()
        .collect();
    for (i, el) in tpms.iter().enumerate() {
        let id = alias(el).unwrap_or_else(|| format!("tpm{i}"));
        let model = el.attr("model").unwrap_or("tpm-tis");
        if !["tpm-tis", "tpm-crb"].contains(&model) {
            return Err(unsupported(&format!("TPM model {model}")));
        }
        let be = el
            .child("backend")
            .ok_or_else(|| unsupported("TPM backend"))?;
        let tpmdev = format!("tpm-{id}");
        match be.attr("type") {
            Some("passthrough") => {
                let dev = be
                    .child("device")
                    .and_then(|d| d.attr("path"))
                    .unwrap_or("/dev/tpm0")
                    .to_string();
                let cancel = tpm_cancel_path(&dev);
                let s0 = c.fdset;
                c.fdset += 2;
                let fd = c.pass_fd(1730, FdSource::ReadWrite(dev));
                let cfd = c.pass_fd(1731, FdSource::ReadWrite(cancel));
                c.opt("-add-fd", format!("set={s0},fd={fd},opaque={id}-tpm"));
                c.opt(
                    "-add-fd",
                    format!("set={},fd={cfd},opaque={id}-cancel", s0 + 1),
                );
                c.opt(
                    "-tpmdev",
                    format!(
                        "passthrough,id={tpmdev},path=/dev/fdset/{s0},cancel-path=/dev/fdset/{}",
                        s0 + 1
                    ),
                );
            }
            Some("emulator") => {
                let sock = c
                    .cfg
                    .tpm_emulator_socket
                    .clone()
                    .ok_or_else(|| unsupported("TPM emulator"))?;
                c.opt(
                    "-chardev",
                    format!("socket,id=chrtpm,path={}", qemu_opt_escape(&sock)),
                );
                c.opt("-tpmdev", format!("emulator,id={tpmdev},chardev=chrtpm"));
            }
            Some("external") => {
                let path = be
                    .child("source")
                    .and_then(|s| s.attr("path"))
                    .ok_or_else(|| unsupported("external TPM without socket"))?;
                c.opt(
                    "-chardev",
                    format!("socket,id=chrtpm,path={}", qemu_opt_escape(path)),
                );
                c.opt("-tpmdev", format!("emulator,id={tpmdev},chardev=chrtpm"));
            }
            t => return Err(unsupported(&format!("TPM backend {t:?}"))),
        }
        c.device(
            Props::new()
                .s("driver", model)
                .s("tpmdev", tpmdev)
                .s("id", id),
        );
    }
    Ok(())
}

/// The sysfs file that cancels a TPM command of device `dev`
/// (`/dev/tpm0`: `/sys/class/tpm/tpm0/device/cancel`).
fn tpm_cancel_path(dev: &str) -> String {
    let name = dev.rsplit('/').next().unwrap_or("tpm0");
    format!("/sys/class/tpm/{name}/device/cancel")
}

fn build_vsock(c: &mut Ctx) -> Res<()> {
    let Some(el) = c.devices().find(|d| d.local_name() == "vsock").cloned() else {
        return Ok(());
    };
    let auto = c.cfg.vsock_auto_cid.ok_or_else(|| unsupported("vsock"))?;
    let cid = el.child("cid");
    let guest_cid = match cid.and_then(|c| c.attr("auto")) {
        Some("yes") | None if cid.and_then(|c| c.attr("address")).is_none() => u64::from(auto),
        _ => cid
            .and_then(|c| c.attr("address"))
            .and_then(parse_num)
            .unwrap_or(u64::from(auto)),
    };
    let vhostfd = c.pass_fd(6789, FdSource::VhostVsock);
    let drv = virtio_driver("vhost-vsock-pci", el.attr("model"))?;
    let p = virtio_options(&el, Props::new().s("driver", drv))?
        .s("id", alias(&el).unwrap_or_else(|| "vsock0".into()))
        .u("guest-cid", guest_cid)
        .s("vhostfd", vhostfd.to_string());
    let p = pci_address(c, &el, p)?;
    c.device(p);
    Ok(())
}

fn build_panics(c: &mut Ctx) -> Res<()> {
    let ps: Vec<Element> = c
        .devices()
        .filter(|d| d.local_name() == "panic")
        .cloned()
        .collect();
    for el in &ps {
        match el.attr("model").unwrap_or("isa") {
            "hyperv" => {}
            "isa" => {
                let io = el
                    .child("address")
                    .and_then(|a| a.attr("iobase"))
                    .and_then(parse_num);
                c.device(Props::new().s("driver", "pvpanic").ou("ioport", io));
            }
            "pvpanic" => {
                let p = pci_address(c, el, Props::new().s("driver", "pvpanic-pci"))?;
                c.device(p);
            }
            m => return Err(unsupported(&format!("panic {m}"))),
        }
    }
    Ok(())
}

fn build_memballoon(c: &mut Ctx) -> Res<()> {
    let Some(el) = c
        .devices()
        .find(|d| d.local_name() == "memballoon")
        .cloned()
    else {
        return Ok(());
    };
    match el.attr("model") {
        Some("none") => Ok(()),
        Some(m @ ("virtio" | "virtio-transitional" | "virtio-non-transitional")) => {
            if el
                .elements()
                .any(|e| !["address", "alias", "driver"].contains(&e.local_name()))
                || el.attrs.iter().any(|(k, _)| {
                    !["model", "freePageReporting", "autodeflate"].contains(&k.as_str())
                })
            {
                return Err(unsupported("memballoon options"));
            }
            let drv = virtio_driver("virtio-balloon-pci", Some(m))?;
            let p = virtio_options(&el, Props::new().s("driver", drv))?
                .s("id", alias(&el).unwrap_or_else(|| "balloon0".into()));
            let mut p = p;
            if let Some(v) = el.attr("autodeflate") {
                p = p.b("deflate-on-oom", v == "on");
            }
            if let Some(v) = el.attr("freePageReporting") {
                p = p.b("free-page-reporting", v == "on");
            }
            let p = pci_address(c, &el, p)?;
            c.device(p);
            Ok(())
        }
        Some(m) => Err(unsupported(&format!("memballoon {m}"))),
        None => Err(unsupported("memballoon without model")),
    }
}

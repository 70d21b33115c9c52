// SPDX-License-Identifier: LGPL-2.1-or-later
//! What the QEMU driver's end-to-end tests share: the emulator, virtqemud
//! on a scratch directory, a reaper for the guests a failed test leaves,
//! the domain type this host can run, the test guest of
//! `../shared/guest` (a Debian kernel with a busybox initramfs) and a
//! boot-sector floppy.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::{bin, eventually_within, is_root, skip, text, tool_exists, Daemon, Spec, TempDir};

/// The emulator the tests run.
pub const QEMU: &str = "/usr/bin/qemu-system-x86_64";

/// Debian's C libvirtd, the differential tests' reference.
pub const C_LIBVIRTD: &str = "/usr/sbin/libvirtd";
/// Its QEMU driver module.
pub const C_QEMU_MODULE: &str =
    "/usr/lib/x86_64-linux-gnu/libvirt/connection-driver/libvirt_driver_qemu.so";

/// Why the QEMU end-to-end tests cannot run here, if they cannot.
pub fn qemu_cant_run() -> Option<String> {
    if !Path::new(QEMU).exists() {
        return Some(format!("{QEMU} is not installed (qemu-system-x86)"));
    }
    if !tool_exists("virsh") {
        return Some("virsh is not installed (libvirt-clients)".into());
    }
    if !bin("virtqemud").exists() {
        return Some("virtqemud is not built (cargo build --bins)".into());
    }
    None
}

/// Kills, when dropped, every QEMU whose command line names a directory:
/// the guests of a test outlive its daemon by design, so a test that
/// fails half-way must not leave them running.
pub struct Reaper(pub String);

impl Drop for Reaper {
    fn drop(&mut self) {
        for pid in qemu_pids(&self.0) {
            let _ = host::process::kill(pid, 9);
        }
    }
}

/// The reaper of the guests started under `t` (the trailing slash keeps
/// `/tmp/x-1` from matching the guests of `/tmp/x-12`).
pub fn reaper(t: &TempDir) -> Reaper {
    Reaper(format!("{}/", t.path().display()))
}

/// The QEMU processes whose command line contains `needle`.
pub fn qemu_pids(needle: &str) -> Vec<u32> {
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    procs
        .flatten()
        .filter_map(|p| {
            let pid = p.file_name().to_str()?.parse::<u32>().ok()?;
            let cmd = text(&std::fs::read(p.path().join("cmdline")).ok()?);
            (cmd.contains(needle) && cmd.contains("qemu-system")).then_some(pid)
        })
        .collect()
}

/// virtqemud on sockets in `t/run`, everything else under `t/root`, and
/// the URI that reaches it.
pub fn start_virtqemud(t: &TempDir) -> (Daemon, String) {
    start_virtqemud_with(t, "")
}

/// [`start_virtqemud`] with `extra_conf` appended to virtqemud.conf.
pub fn start_virtqemud_with(t: &TempDir, extra_conf: &str) -> (Daemon, String) {
    let spec = Spec::new("virtqemud", t, extra_conf);
    let sock = spec.ready.clone();
    let d = spec.start();
    let scheme = if is_root() { "system" } else { "session" };
    (d, format!("qemu:///{scheme}?socket={}", sock.display()))
}

/// Whether the emulator's probe finds KVM usable (it opens /dev/kvm with
/// the daemon's privileges).
pub fn kvm_usable() -> bool {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
        .is_ok()
}

/// The domain type a boot-sector guest of the system instance can run
/// with: its QEMU runs as qemu.conf's user without privileges, so KVM only
/// when /dev/kvm is open to everyone.
pub fn system_guest_type() -> &'static str {
    let public = std::fs::metadata("/dev/kvm")
        .map(|m| m.permissions().mode() & 0o006 == 0o006)
        .unwrap_or(false);
    if kvm_usable() && public {
        "kvm"
    } else {
        "qemu"
    }
}

/// The pid of running guest `name` of the daemon under `t`, from its
/// status file.
pub fn guest_pid(t: &TempDir, name: &str) -> u32 {
    let status = t.join(&format!("root/run/libvirt/qemu/{name}.xml"));
    let st =
        std::fs::read_to_string(&status).unwrap_or_else(|e| panic!("{}: {e}", status.display()));
    st.split("pid='")
        .nth(1)
        .and_then(|r| r.split('\'').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no pid in {}:\n{st}", status.display()))
}

/// A 1.44 MB floppy whose boot sector loops forever (`jmp $`): enough for
/// QEMU's BIOS to boot something and keep the guest running.
pub fn boot_floppy(path: &Path) {
    let mut img = vec![0u8; 1_474_560];
    img[0] = 0xeb; // jmp $
    img[1] = 0xfe;
    img[510] = 0x55;
    img[511] = 0xaa;
    std::fs::write(path, img).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

/// The test guest of `../shared/guest/build.sh`: a Linux kernel and an
/// initramfs that print markers on ttyS0 (`GUEST-BOOT-OK`, ...), give a
/// root shell there and power off on the ACPI button. Boot it with
/// `<domain type='qemu'>` (TCG).
#[derive(Debug, Clone)]
pub struct TestGuest {
    /// The uncompressed kernel (boots faster under TCG).
    pub vmlinux: PathBuf,
    /// The compressed kernel.
    pub kernel: PathBuf,
    /// The initramfs.
    pub initrd: PathBuf,
    /// The kernel command line the guest expects.
    pub cmdline: String,
}

/// The guest build script, beside the project checkout.
fn guest_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/guest/build.sh")
}

/// Builds (or finds already built) the test guest in `$GUEST_DIR` or
/// /var/tmp/guest; the reason when it cannot.
pub fn test_guest() -> Result<TestGuest, String> {
    let script = guest_script();
    if !script.exists() {
        return Err(format!("{} is missing", script.display()));
    }
    // One build at a time: tests run in parallel.
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let out = crate::run_cmd_within(
        {
            let mut c = Command::new("bash");
            c.arg(&script);
            c
        },
        Duration::from_secs(600),
    );
    let stdout = text(&out.stdout);
    if !out.status.success() {
        return Err(format!(
            "{} failed: {}{}",
            script.display(),
            stdout,
            text(&out.stderr)
        ));
    }
    let var = |k: &str| {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{k}=")))
            .map(str::to_string)
    };
    match (var("KERNEL"), var("VMLINUX"), var("INITRD"), var("CMDLINE")) {
        (Some(k), Some(v), Some(i), Some(c)) => Ok(TestGuest {
            kernel: k.into(),
            vmlinux: v.into(),
            initrd: i.into(),
            cmdline: c,
        }),
        _ => Err(format!("{} printed no paths: {stdout}", script.display())),
    }
}

impl TestGuest {
    /// The `<os>` element booting this guest directly.
    pub fn os_xml(&self) -> String {
        format!(
            "<os><type arch='x86_64' machine='pc'>hvm</type><kernel>{}</kernel><initrd>{}</initrd><cmdline>{}</cmdline></os>",
            self.vmlinux.display(),
            self.initrd.display(),
            self.cmdline
        )
    }
}

/// Waits until file `path` contains `marker`; its text either way.
pub fn wait_for_marker(path: &Path, marker: &str, limit: Duration) -> (bool, String) {
    let mut last = String::new();
    let found = eventually_within(limit, || {
        last = std::fs::read(path).map(|b| text(&b)).unwrap_or_default();
        last.contains(marker)
    });
    (found, last)
}

/// Debian's C libvirtd with the driver modules named (`qemu`, `nodedev`),
/// in a mount namespace where /run/libvirt, /etc/libvirt,
/// /var/lib/libvirt and /var/cache/libvirt are empty (its probe and state
/// stay private), on sockets in `t/c-run`; None (the test skipped, with
/// the reason) when Debian's daemon or `unshare` is missing.
pub fn start_c_libvirtd(t: &TempDir, modules: &[&str]) -> Option<(Daemon, PathBuf)> {
    start_c_libvirtd_with(t, modules, None)
}

/// [`start_c_libvirtd`] with `qemu_conf` as its /etc/libvirt/qemu.conf
/// (for guests it starts: `stdio_handler = "file"` spares it virtlogd).
pub fn start_c_libvirtd_with(
    t: &TempDir,
    modules: &[&str],
    qemu_conf: Option<&str>,
) -> Option<(Daemon, PathBuf)> {
    c_libvirtd(t, modules, qemu_conf, None)
}

/// [`start_c_libvirtd_with`] inside network namespace `netns`, listening
/// with `--listen` on plain TCP at `addr` (`auth_tcp = "none"`), as a
/// remote host's daemon is reached with `qemu+tcp://ADDR/system`.
pub fn start_c_libvirtd_in_netns(
    t: &TempDir,
    modules: &[&str],
    qemu_conf: Option<&str>,
    netns: &str,
    addr: &str,
) -> Option<(Daemon, PathBuf)> {
    c_libvirtd(t, modules, qemu_conf, Some((netns, addr)))
}

fn c_libvirtd(
    t: &TempDir,
    modules: &[&str],
    qemu_conf: Option<&str>,
    listen: Option<(&str, &str)>,
) -> Option<(Daemon, PathBuf)> {
    for (p, pkg) in [
        (C_LIBVIRTD, "libvirt-daemon"),
        (C_QEMU_MODULE, "libvirt-daemon-driver-qemu"),
    ] {
        if !Path::new(p).exists() {
            skip(format!("{p} is missing (Debian package {pkg})"));
            return None;
        }
    }
    if !tool_exists("unshare") {
        skip("unshare is not installed");
        return None;
    }
    let run = t.join("c-run");
    let drivers = t.join("c-drivers");
    std::fs::create_dir_all(&run).unwrap_or_else(|e| panic!("{e}"));
    std::fs::create_dir_all(&drivers).unwrap_or_else(|e| panic!("{e}"));
    for m in modules {
        let so = format!("libvirt_driver_{m}.so");
        let module = Path::new(C_QEMU_MODULE).with_file_name(&so);
        if !module.exists() {
            skip(format!("{} is missing", module.display()));
            return None;
        }
        std::os::unix::fs::symlink(&module, drivers.join(&so)).unwrap_or_else(|e| panic!("{e}"));
    }
    let conf = t.join("c-libvirtd.conf");
    let tcp = match listen {
        Some((_, addr)) => {
            format!("listen_tcp = 1\nauth_tcp = \"none\"\nlisten_addr = \"{addr}\"\n")
        }
        None => "listen_tcp = 0\n".into(),
    };
    std::fs::write(
        &conf,
        format!(
            "unix_sock_dir = \"{}\"\nauth_unix_rw = \"none\"\nauth_unix_ro = \"none\"\n\
             listen_tls = 0\n{tcp}log_outputs = \"3:file:{}\"\n",
            run.display(),
            t.join("c-libvirtd.log").display()
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let copy_qemu_conf = match qemu_conf {
        Some(text) => {
            let path = t.join("c-qemu.conf");
            std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
            format!("cp '{}' /etc/libvirt/qemu.conf || exit 1;", path.display())
        }
        None => String::new(),
    };
    let script = format!(
        "for d in /run/libvirt /etc/libvirt /var/lib/libvirt /var/cache/libvirt; do \
         mkdir -p $d && mount -t tmpfs tmpfs $d || exit 1; done; {} \
         exec {C_LIBVIRTD} {}-f '{}' -p '{}'",
        copy_qemu_conf,
        if listen.is_some() { "--listen " } else { "" },
        conf.display(),
        t.join("c-libvirtd.pid").display()
    );
    let unshare = [
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        &script,
    ];
    let mut cmd = match listen {
        Some((netns, _)) => {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", netns]).args(unshare);
            c
        }
        None => {
            let mut c = Command::new(unshare[0]);
            c.args(&unshare[1..]);
            c
        }
    };
    cmd.env("LIBVIRT_DRIVER_DIR", &drivers);
    let sock = run.join("libvirt-sock");
    Some((Daemon::start_cmd(cmd, t.path(), &sock), sock))
}

/// The stdout of virsh call `o`, asserting it succeeded (`what` names the
/// step in the failure).
pub fn ok(o: &crate::Out, what: &str) -> String {
    assert!(o.ok, "{what}: {}{}", o.stdout, o.stderr);
    o.stdout.clone()
}

/// `virsh domstate --reason NAME`, trimmed: `running (booted)`, ...
pub fn domstate(uri: &str, name: &str) -> String {
    ok(
        &crate::virsh_uri(uri, &["domstate", "--reason", name]),
        "domstate",
    )
    .trim()
    .to_string()
}

/// `virsh domstate NAME`, trimmed: `running`, `shut off`, ...
pub fn domstate_plain(uri: &str, name: &str) -> String {
    ok(&crate::virsh_uri(uri, &["domstate", name]), "domstate")
        .trim()
        .to_string()
}

/// The event names `virsh event --all --loop` printed for domain `name`
/// (the text after the last `: ` of each of its lines).
pub fn lifecycle_lines(out: &str, name: &str) -> Vec<String> {
    out.lines()
        .filter(|l| l.contains(&format!("for domain '{name}'")))
        .map(|l| l.rsplit(": ").next().unwrap_or("").to_string())
        .collect()
}

/// Whether a test of the system instance with real guests can run: QEMU
/// and virsh present and root; otherwise says why (skipped) and false.
pub fn system_qemu_or_skip() -> bool {
    if let Some(why) = qemu_cant_run() {
        skip(why);
        return false;
    }
    if !is_root() {
        skip("the test runs the system instance (root)");
        return false;
    }
    true
}

/// [`system_qemu_or_skip`], then the Linux test guest; None (skipped,
/// saying why) when either is missing.
pub fn linux_guest_or_skip() -> Option<TestGuest> {
    if !system_qemu_or_skip() {
        return None;
    }
    match test_guest() {
        Ok(g) => Some(g),
        Err(e) => {
            skip(format!("no test guest: {e}"));
            None
        }
    }
}

/// A domain of type `ty` booting the floppy `floppy` (see [`boot_floppy`]).
pub fn bootsector_xml(ty: &str, name: &str, floppy: &Path) -> String {
    format!(
        "<domain type='{ty}'>\n  <name>{name}</name>\n  <memory unit='KiB'>32768</memory>\n  <vcpu>1</vcpu>\n  <os>\n    <type arch='x86_64'>hvm</type>\n    <boot dev='fd'/>\n  </os>\n  <devices>\n    <disk type='file' device='floppy'>\n      <source file='{}'/>\n      <target dev='fda' bus='fdc'/>\n      <readonly/>\n    </disk>\n  </devices>\n</domain>\n",
        floppy.display()
    )
}

/// Writes `xml` to `t/NAME.xml` and defines it on `uri`.
pub fn define_xml(t: &TempDir, uri: &str, name: &str, xml: &str) {
    let path = t.join(&format!("{name}.xml"));
    std::fs::write(&path, xml).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    ok(
        &crate::virsh_uri(uri, &["define", &path.display().to_string()]),
        "define",
    );
}

/// Defines boot-sector guest `name` (of the type this host runs) whose
/// floppy is `t/boot.img`, made on first use.
pub fn define_bootsector(t: &TempDir, uri: &str, name: &str) {
    let floppy = t.join("boot.img");
    if !floppy.exists() {
        boot_floppy(&floppy);
    }
    define_xml(
        t,
        uri,
        name,
        &bootsector_xml(system_guest_type(), name, &floppy),
    );
}

/// The test guest as domain `name` (TCG, one vCPU, ACPI), its console a
/// pty on ttyS0 and ttyS1 logged into `serial` (where the boot markers
/// also go), with `devices` (XML) added.
pub fn linux_guest_xml(
    g: &TestGuest,
    name: &str,
    mem_mib: u32,
    devices: &str,
    serial: &Path,
) -> String {
    format!(
        "<domain type='qemu'>\n  <name>{name}</name>\n  <memory unit='MiB'>{mem_mib}</memory>\n  <vcpu>1</vcpu>\n  {}\n  <features><acpi/></features>\n  <devices>\n{devices}    <serial type='pty'><target port='0'/></serial>\n    <serial type='file'><source path='{}'/><target port='1'/></serial>\n    <console type='pty'><target type='serial' port='0'/></console>\n  </devices>\n</domain>\n",
        g.os_xml(),
        serial.display()
    )
}

/// Starts domain `name` on `uri` and waits for the test guest's
/// `GUEST-BOOT-OK` in its serial log `serial`.
pub fn start_and_boot(uri: &str, name: &str, serial: &Path) {
    ok(&crate::virsh_uri(uri, &["start", name]), "start");
    let (booted, log) = wait_for_marker(serial, "GUEST-BOOT-OK", Duration::from_secs(90));
    assert!(booted, "{name}: no boot marker:\n{log}");
}

/// The test guest's shell on a console socket (`<serial type='unix'>`
/// with `mode='bind'`), for typing commands and reading their output.
pub struct GuestShell {
    sock: std::os::unix::net::UnixStream,
    seen: String,
    n: u32,
}

impl GuestShell {
    /// Connects to the console socket at `path`.
    pub fn open(path: &Path) -> GuestShell {
        let sock = std::os::unix::net::UnixStream::connect(path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        sock.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap_or_else(|e| panic!("{e}"));
        GuestShell {
            sock,
            seen: String::new(),
            n: 0,
        }
    }

    /// Runs `cmd` in the guest's shell and returns what it printed. The
    /// end marker is computed by the shell, so the echoed command line
    /// does not end the wait.
    pub fn run(&mut self, cmd: &str) -> String {
        use std::io::{Read, Write};
        self.n += 1;
        let n = self.n;
        let line = format!("{cmd}; echo END$((1000+{n}))\n");
        self.sock
            .write_all(line.as_bytes())
            .unwrap_or_else(|e| panic!("console: {e}"));
        let end = format!("END{}", 1000 + n);
        let start = self.seen.len();
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        let mut buf = [0u8; 4096];
        while std::time::Instant::now() < deadline {
            match self.sock.read(&mut buf) {
                Ok(0) => break,
                Ok(k) => self.seen.push_str(&String::from_utf8_lossy(&buf[..k])),
                Err(_) => {}
            }
            let out = &self.seen[start..];
            if let Some(i) = out.find(&end) {
                return out[..i].to_string();
            }
        }
        panic!(
            "no answer to {cmd:?} from the guest:\n{}",
            &self.seen[start..]
        );
    }

    /// Runs `cmd` until whether its output contains `want` is `present`
    /// (the guest may take a moment to notice a device), for at most a
    /// minute; the last output.
    pub fn wait_for(&mut self, cmd: &str, want: &str, present: bool) -> String {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            let out = self.run(cmd);
            if out.contains(want) == present || std::time::Instant::now() > deadline {
                return out;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }
}

/// The test guest's initramfs with Debian's QEMU guest agent added: an
/// extra gzip'd cpio (`qemu-ga`, the shared libraries `ldd` names, the
/// loader, `/sbin/shutdown` and `/sbin/hwclock` for its shutdown and
/// clock commands) appended to `guest.initrd` (the kernel unpacks
/// concatenated archives), cached under /var/tmp/guest-agent. Start the
/// agent in the guest with [`AGENT_START`]. The reason when it cannot be
/// built.
pub fn agent_initrd(guest: &TestGuest) -> Result<PathBuf, String> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let dir = PathBuf::from(
        std::env::var("GUEST_AGENT_DIR").unwrap_or_else(|_| "/var/tmp/guest-agent".into()),
    );
    let out = dir.join("initrd-agent.img");
    let base =
        std::fs::read(&guest.initrd).map_err(|e| format!("{}: {e}", guest.initrd.display()))?;
    let cpio = dir.join("agent.cpio.gz");
    if !cpio.exists() {
        build_agent_cpio(&dir, &cpio)?;
    }
    let extra = std::fs::read(&cpio).map_err(|e| format!("{}: {e}", cpio.display()))?;
    // Rewritten each time: the guest's own initramfs may have been rebuilt.
    let mut all = base;
    all.extend_from_slice(&extra);
    let tmp = dir.join(format!("initrd-agent.img.{}", std::process::id()));
    std::fs::write(&tmp, &all)
        .and_then(|()| std::fs::rename(&tmp, &out))
        .map_err(|e| format!("{}: {e}", out.display()))?;
    Ok(out)
}

/// What to type on the guest's shell to start the agent on its virtio
/// port (the guest has no udev: the port is found by name in sysfs).
pub const AGENT_START: &str = "for p in /sys/class/virtio-ports/*; do \
     [ \"$(cat $p/name)\" = org.qemu.guest_agent.0 ] && \
     (qemu-ga -m virtio-serial -p /dev/${p##*/} -t /run -f /run/qga.pid </dev/null >/dev/null 2>&1 &); \
     done";

fn build_agent_cpio(dir: &Path, cpio: &Path) -> Result<(), String> {
    let run = |c: &mut Command| -> Result<String, String> {
        let o = c.output().map_err(|e| format!("{c:?}: {e}"))?;
        if !o.status.success() {
            return Err(format!("{c:?}: {}{}", text(&o.stdout), text(&o.stderr)));
        }
        Ok(text(&o.stdout))
    };
    let work = dir.join(format!("build.{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
    let result = (|| {
        run(Command::new("apt-get")
            .args(["download", "qemu-guest-agent"])
            .current_dir(&work))?;
        let deb = std::fs::read_dir(&work)
            .map_err(|e| e.to_string())?
            .flatten()
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|x| x == "deb"))
            .ok_or("apt-get download left no package")?;
        let x = work.join("x");
        run(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&x))?;
        let ga = x.join("usr/sbin/qemu-ga");
        let root = work.join("root");
        let copy = |from: &Path, to: &str| -> Result<(), String> {
            let dest = root.join(to.trim_start_matches('/'));
            if let Some(p) = dest.parent() {
                std::fs::create_dir_all(p).map_err(|e| e.to_string())?;
            }
            std::fs::copy(from, &dest)
                .map(drop)
                .map_err(|e| format!("{}: {e}", from.display()))
        };
        copy(&ga, "/bin/qemu-ga")?;
        let libs = run(Command::new("ldd").arg(&ga))?;
        for l in libs.lines() {
            if l.contains("not found") {
                return Err(format!(
                    "a library qemu-ga needs is missing on the host: {l}"
                ));
            }
            // "libx.so => /lib/.../libx.so (0x...)" or "/lib64/ld-linux... (0x...)".
            let path = l
                .split("=>")
                .last()
                .and_then(|r| r.split_whitespace().next())
                .filter(|p| p.starts_with('/'));
            if let Some(p) = path {
                // Resolved, so the guest finds it under the same name.
                let real = std::fs::canonicalize(p).map_err(|e| format!("{p}: {e}"))?;
                copy(&real, p)?;
            }
        }
        let sbin = root.join("sbin");
        std::fs::create_dir_all(&sbin).map_err(|e| e.to_string())?;
        // qemu-ga runs `/sbin/shutdown -P|-H|-r +0 MSG`; busybox has the
        // separate commands.
        std::fs::write(
            sbin.join("shutdown"),
            "#!/bin/sh\ncase \"$1\" in -r) exec reboot;; -H) exec halt;; *) exec poweroff;; esac\n",
        )
        .map_err(|e| e.to_string())?;
        std::fs::set_permissions(
            sbin.join("shutdown"),
            std::fs::Permissions::from_mode(0o755),
        )
        .map_err(|e| e.to_string())?;
        std::os::unix::fs::symlink("/bin/busybox", sbin.join("hwclock"))
            .map_err(|e| e.to_string())?;
        let part = work.join("agent.cpio.gz");
        run(Command::new("sh").current_dir(&root).arg("-c").arg(format!(
            "find . | cpio -o -H newc --quiet | gzip -9 > '{}'",
            part.display()
        )))?;
        std::fs::rename(&part, cpio).map_err(|e| e.to_string())
    })();
    let _ = std::fs::remove_dir_all(&work);
    result
}

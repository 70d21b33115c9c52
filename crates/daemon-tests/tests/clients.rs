// SPDX-License-Identifier: LGPL-2.1-or-later
//! Differential tests with client libraries: the same fixed sequence of
//! calls (tests/clients/) against Debian's C libvirtd and against our
//! libvirtd, both serving test:///default on private sockets, outputs
//! compared line by line. Every step prints its result or its error
//! (code, domain where the library exposes it, message).
//!
//! - go-libvirt (`tests/clients/go`): a pure-Go client with its own XDR
//!   encoder, built offline from Debian's golang-go and
//!   golang-github-digitalocean-go-libvirt-dev;
//! - libvirt-python (`tests/clients/python/sweep.py`): mostly failing calls
//!   (unknown names and UUIDs, bad XML, duplicates, wrong states, bad
//!   flags, unsupported procedures, read-only writes); `lxc_sweep.py` the
//!   same on lxc:///system (C's LXC driver alone, in a private mount
//!   namespace; nothing is started).
//!
//! A step listed in `tests/clients/known_differences.txt` may differ (each
//! line says why); any other difference fails the test. Each test skips,
//! saying why, without root, without the C daemon, or without the client.
//!
//! The C daemon runs with an empty driver directory: only the drivers built
//! into libvirt itself (test, remote) load, so it starts in a moment and
//! shares no state directory with another libvirtd on the machine.

use std::path::{Path, PathBuf};
use std::process::Command;

use test_support::*;

const C_LIBVIRTD: &str = "/usr/sbin/libvirtd";
const C_LXC_MODULE: &str =
    "/usr/lib/x86_64-linux-gnu/libvirt/connection-driver/libvirt_driver_lxc.so";
const GO_LIBVIRT: &str = "/usr/share/gocode/src/github.com/digitalocean/go-libvirt";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Why the C reference cannot run here, if it cannot.
fn c_daemon_missing() -> Option<String> {
    if !is_root() {
        return Some("the C libvirtd reference runs as root".into());
    }
    if !Path::new(C_LIBVIRTD).exists() {
        return Some(format!(
            "{C_LIBVIRTD} is not installed (Debian package libvirt-daemon)"
        ));
    }
    None
}

/// Debian's C libvirtd on sockets under `dir/run`, killed on drop.
fn start_c(dir: &TempDir) -> (Daemon, PathBuf) {
    let (cmd, sock) = c_command(dir);
    (Daemon::start_cmd(cmd, dir, &sock), sock)
}

/// The command line of Debian's C libvirtd on sockets under `dir/run`,
/// without driver modules, and its read-write socket.
fn c_command(dir: &TempDir) -> (Command, PathBuf) {
    let run = dir.join("run");
    let drivers = dir.join("no-drivers");
    std::fs::create_dir_all(&drivers).expect("driver dir");
    std::fs::create_dir_all(&run).expect("socket dir");
    let conf = dir.join("c-libvirtd.conf");
    std::fs::write(
        &conf,
        format!(
            "unix_sock_dir = \"{}\"\nunix_sock_ro_perms = \"0777\"\n\
             auth_unix_rw = \"none\"\nauth_unix_ro = \"none\"\n\
             listen_tls = 0\nlisten_tcp = 0\nlog_outputs = \"3:file:{}\"\n",
            run.display(),
            dir.join("c-libvirtd.log").display()
        ),
    )
    .expect("conf");
    let mut cmd = Command::new(C_LIBVIRTD);
    cmd.arg("-f")
        .arg(&conf)
        .arg("-p")
        .arg(dir.join("c-libvirtd.pid"))
        .env("LIBVIRT_DRIVER_DIR", &drivers);
    (cmd, run.join("libvirt-sock"))
}

/// Debian's C libvirtd with its LXC driver and the secondary drivers our
/// libvirtd hosts beside it (network, secret, storage, node device,
/// interface), in a mount
/// namespace of its own where /run/libvirt and /etc/libvirt are empty tmpfs
/// mounts (the drivers' state and definitions stay private; nothing is
/// started).
fn start_c_lxc(dir: &TempDir) -> Option<(Daemon, PathBuf)> {
    let module = Path::new(C_LXC_MODULE);
    if !module.exists() {
        skip(format!(
            "{C_LXC_MODULE} is missing (Debian package libvirt-daemon-driver-lxc)"
        ));
        return None;
    }
    if !tool_exists("unshare") {
        skip("unshare is not installed");
        return None;
    }
    let (mut cmd, sock) = c_command(dir);
    let drivers = dir.join("lxc-driver");
    std::fs::create_dir_all(&drivers).expect("driver dir");
    std::os::unix::fs::symlink(module, drivers.join("libvirt_driver_lxc.so")).expect("link");
    // Our libvirtd hosts the network, secret, storage, node device and
    // interface drivers beside LXC, which its connections share, as C's does.
    for name in [
        "libvirt_driver_network.so",
        "libvirt_driver_secret.so",
        "libvirt_driver_storage.so",
        "libvirt_driver_nodedev.so",
        "libvirt_driver_interface.so",
    ] {
        let other = module.with_file_name(name);
        if other.exists() {
            std::os::unix::fs::symlink(&other, drivers.join(name)).expect("link");
        }
    }
    let args: Vec<String> = std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| format!("'{}'", a.to_string_lossy()))
        .collect();
    let script = format!(
        "mount -t tmpfs tmpfs /run/libvirt && mount -t tmpfs tmpfs /etc/libvirt && exec {}",
        args.join(" ")
    );
    let mut ns = Command::new("unshare");
    ns.args(["-m", "--propagation", "private", "sh", "-c", &script])
        .env("LIBVIRT_DRIVER_DIR", &drivers);
    cmd = ns;
    // C's LXC driver refuses to start on some hosts (its cgroup and
    // namespace checks): that is a reason to skip, not a failure of ours.
    let mut d = Daemon::spawn(cmd, dir);
    let start = std::time::Instant::now();
    while std::os::unix::net::UnixStream::connect(&sock).is_err() {
        if !d.running() || start.elapsed() > WAIT {
            let log = std::fs::read_to_string(dir.join("c-libvirtd.log")).unwrap_or_default();
            let last = log.lines().last().unwrap_or("").to_string();
            skip(format!(
                "C libvirtd with its LXC driver did not start here: {} {last}",
                d.stderr_text().trim()
            ));
            return None;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    Some((d, sock))
}

/// Our libvirtd on sockets under `dir/run`.
fn start_ours(dir: &TempDir) -> (Daemon, PathBuf) {
    let spec = Spec::new("libvirtd", dir, "");
    let sock = spec.ready.clone();
    (spec.start(), sock)
}

/// The steps of `client` allowed to differ, from known_differences.txt.
fn known_differences(client: &str) -> Vec<String> {
    let path = repo().join("tests/clients/known_differences.txt");
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    text.lines()
        .filter_map(|l| l.split('#').next())
        .filter_map(|l| l.trim().split_once(": "))
        .filter(|(c, _)| *c == client)
        .map(|(_, step)| step.trim().to_string())
        .collect()
}

fn step_name(line: &str) -> &str {
    line.split_once(": ").map_or(line, |(s, _)| s)
}

/// Compares the two transcripts step by step; panics on a difference not
/// in the known list, and says which known differences have gone.
fn compare(client: &str, c_out: &str, ours: &str) {
    let known = known_differences(client);
    let c_lines: Vec<&str> = c_out.lines().collect();
    let our_lines: Vec<&str> = ours.lines().collect();
    let steps = |lines: &[&str]| {
        lines
            .iter()
            .map(|l| step_name(l).to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        steps(&c_lines),
        steps(&our_lines),
        "{client}: the runs took different steps\n--- C\n{c_out}\n--- ours\n{ours}"
    );
    let mut unexpected = Vec::new();
    for (c, o) in c_lines.iter().zip(&our_lines) {
        let step = step_name(c);
        let allowed = known.iter().any(|k| k == step);
        if c != o && !allowed {
            unexpected.push(format!("C:    {c}\nours: {o}"));
        } else if c == o && allowed {
            eprintln!("{client}: '{step}' now matches C; remove it from known_differences.txt");
        }
    }
    assert!(
        unexpected.is_empty(),
        "{client}: {} step(s) differ from C libvirtd:\n{}",
        unexpected.len(),
        unexpected.join("\n")
    );
}

/// Runs `cmd` and returns its stdout, failing the test on a non-zero exit.
fn output(mut cmd: Command, what: &str) -> String {
    cmd.stdin(std::process::Stdio::null());
    let out = run_cmd(cmd);
    assert!(
        out.status.success(),
        "{what} failed: {}\n{}",
        text(&out.stderr),
        text(&out.stdout)
    );
    text(&out.stdout)
}

fn python_sweep(sock: &Path) -> String {
    let mut cmd = Command::new(PYTHON);
    cmd.arg(repo().join("tests/clients/python/sweep.py"))
        .arg(sock);
    output(cmd, "sweep.py")
}

#[test]
fn libvirt_python_sweep_matches_c_libvirtd() {
    skip_if!(c_daemon_missing());
    if !python_available() {
        skip("/usr/bin/python3 cannot import libvirt (python3-libvirt)");
        return;
    }
    let t = TempDir::new("clients-py");
    let c_dir = TempDir::new("clients-py-c");
    let (_c, c_sock) = start_c(&c_dir);
    let (_ours, our_sock) = start_ours(&t);
    let c_out = python_sweep(&c_sock);
    compare("python", &c_out, &python_sweep(&our_sock));

    // The same through virtproxyd.
    let p = TempDir::new("clients-py-proxy");
    let mut spec = Spec::new("virtproxyd", &p, "");
    spec.ready = p.join("run/libvirt-sock");
    let _proxy = spec.start();
    compare("python", &c_out, &python_sweep(&spec.ready));
}

#[test]
fn libvirt_python_lxc_sweep_matches_c_libvirtd() {
    skip_if!(c_daemon_missing());
    if !python_available() {
        skip("/usr/bin/python3 cannot import libvirt (python3-libvirt)");
        return;
    }
    let c_dir = TempDir::new("clients-lxc-c");
    let Some((_c, c_sock)) = start_c_lxc(&c_dir) else {
        return;
    };
    let t = TempDir::new("clients-lxc");
    let (_ours, our_sock) = start_ours(&t);
    let sweep = |sock: &Path| {
        let mut cmd = Command::new(PYTHON);
        cmd.arg(repo().join("tests/clients/python/lxc_sweep.py"))
            .arg(sock);
        output(cmd, "lxc_sweep.py")
    };
    compare("python-lxc", &sweep(&c_sock), &sweep(&our_sock));
}

/// Builds the Go client offline (GOPATH mode, Debian's go-libvirt) into
/// the target directory, with its build cache there too.
fn build_go_client() -> PathBuf {
    let out_dir = target_dir().join("go-clients");
    std::fs::create_dir_all(&out_dir).expect("go output dir");
    let bin = out_dir.join("golibvirt-sweep");
    let mut cmd = Command::new("go");
    cmd.current_dir(repo().join("tests/clients/go"))
        .args(["build", "-o"])
        .arg(&bin)
        .arg(".")
        .env("GO111MODULE", "off")
        .env("GOPATH", "/usr/share/gocode")
        .env("GOFLAGS", "")
        .env("GOPROXY", "off")
        .env("GOCACHE", out_dir.join("cache"));
    output(cmd, "go build");
    bin
}

#[test]
fn go_libvirt_client_matches_c_libvirtd() {
    skip_if!(c_daemon_missing());
    if !tool_exists("go") {
        skip("go is not installed (Debian package golang-go)");
        return;
    }
    if !Path::new(GO_LIBVIRT).exists() {
        skip(format!(
            "{GO_LIBVIRT} is missing (Debian package golang-github-digitalocean-go-libvirt-dev)"
        ));
        return;
    }
    let bin = build_go_client();
    let t = TempDir::new("clients-go");
    let c_dir = TempDir::new("clients-go-c");
    let (_c, c_sock) = start_c(&c_dir);
    let (_ours, our_sock) = start_ours(&t);
    let run = |sock: &Path| {
        let mut cmd = Command::new(&bin);
        cmd.arg(sock);
        output(cmd, "golibvirt-sweep")
    };
    let c_out = run(&c_sock);
    assert!(c_out.starts_with("connect: OK"), "C run: {c_out}");
    compare("go", &c_out, &run(&our_sock));

    // The same through virtproxyd, which serves test:/// in-process.
    let p = TempDir::new("clients-go-proxy");
    let mut spec = Spec::new("virtproxyd", &p, "");
    spec.ready = p.join("run/libvirt-sock");
    let _proxy = spec.start();
    compare("go", &c_out, &run(&spec.ready));
}

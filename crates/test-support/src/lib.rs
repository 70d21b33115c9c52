// SPDX-License-Identifier: LGPL-2.1-or-later
//! What the tests that run real processes share: scratch directories
//! removed on drop ([`TempDir`]), the binaries of the target directory
//! ([`bin`]), daemons started, signalled and killed on drop ([`Spec`],
//! [`Daemon`]), the real clients with a timeout guard ([`virsh`],
//! [`virt_admin`], [`python`], [`run_cmd`]), polling ([`eventually`]),
//! free TCP ports, uniform skips ([`skip`], [`skip_if!`]), busybox root
//! file systems for containers ([`BusyboxRoot`]) and the SASL files of
//! the auth tests ([`sasl_dir`]), and for the QEMU driver's tests
//! virtqemud, a guest reaper and the test guest ([`test_guest`]), and
//! two "hosts" in network namespaces joined by a veth pair
//! ([`NetnsPair`]).
//!
//! Used from tests only (dev-dependencies, and the harness module of
//! `reliability-tests`). Must not depend on any daemon, driver or rpc
//! crate: a test reaches a daemon from outside, as a process; `host` is
//! used for signals, the effective uid and the cgroup check only.
//! Helpers panic with the path or command in the message, as a test
//! wants.
#![forbid(unsafe_code)]

mod busybox;
mod clients;
mod daemon;
mod dir;
mod netns;
mod qemu;
mod sasl;
mod skip;

pub use busybox::{link_applets, BusyboxRoot, BUSYBOX};
pub use clients::{
    python, python_available, run, run_cmd, run_cmd_within, text, virsh, virsh_uri, virt_admin,
    Out, CLIENT_WAIT, PYTHON,
};
pub use daemon::{proc_status_number, socket_activated, Daemon, Spec};
pub use dir::TempDir;
pub use netns::{netns_cant_run, NetnsPair, NETNS_ADDRS};
pub use qemu::{
    agent_initrd, boot_floppy, bootsector_xml, define_bootsector, define_xml, domstate,
    domstate_plain, guest_pid, kvm_usable, lifecycle_lines, linux_guest_or_skip, linux_guest_xml,
    ok, qemu_cant_run, qemu_pids, reaper, start_and_boot, start_c_libvirtd,
    start_c_libvirtd_in_netns, start_c_libvirtd_with, start_virtqemud, start_virtqemud_with,
    system_guest_type, system_qemu_or_skip, test_guest, wait_for_marker, GuestShell, Reaper,
    TestGuest, AGENT_START, C_LIBVIRTD, C_QEMU_MODULE, QEMU,
};
pub use sasl::{auth_file, sasl_dir, virsh_auth, SASL_PASSWORD, SASL_USER};
pub use skip::{
    container_skip_reason, have, is_root, missing_busybox, missing_cgroups, skip, skip_without,
    tool_exists,
};

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long a daemon may take to start or stop, or a condition to come
/// true, before a test gives up.
pub const WAIT: Duration = Duration::from_secs(60);

/// The directory the test executables and the workspace's binaries are
/// built into (`target/debug/deps/TEST` → `target/debug`); it follows
/// `CARGO_TARGET_DIR`.
pub fn target_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .as_deref()
        .and_then(Path::parent)
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// Binary `name` of the target directory, which may not be built.
pub fn bin_path(name: &str) -> PathBuf {
    target_dir().join(name)
}

/// Binary `name` of the target directory; panics, saying how to build it,
/// when it is missing (cargo does not build other packages' binaries for
/// a package's tests).
pub fn bin(name: &str) -> PathBuf {
    let p = bin_path(name);
    assert!(
        p.exists(),
        "{} is missing: build the daemons first with `cargo build --bins` \
         (same CARGO_TARGET_DIR), then run the tests again",
        p.display()
    );
    p
}

/// Polls `f` until it returns true or [`WAIT`] passes.
pub fn eventually(f: impl FnMut() -> bool) -> bool {
    eventually_within(WAIT, f)
}

/// Polls `f` until it returns true or `limit` passes.
pub fn eventually_within(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("free port: {e}"))
}

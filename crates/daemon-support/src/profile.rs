// SPDX-License-Identifier: LGPL-2.1-or-later
//! What distinguishes one daemon from another: name, socket prefix, config
//! file, root requirement, TCP/IP support and the drivers it hosts.

/// One daemon's fixed properties.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Profile {
    /// Program name, also the pid file and config file stem.
    pub name: &'static str,
    /// Socket file prefix: `PREFIX-sock`, `PREFIX-sock-ro`,
    /// `PREFIX-admin-sock`. `libvirt` for libvirtd and virtproxyd (the proxy
    /// serves the classic sockets), the daemon name otherwise.
    pub sock_prefix: &'static str,
    /// Config file name inside the config directory.
    pub config_file: &'static str,
    /// The daemon refuses to run unprivileged (virtlxcd, virtxend).
    pub requires_root: bool,
    /// `-l` / `--listen` exists (libvirtd only). Without it libvirtd
    /// ignores listen_tcp / listen_tls.
    pub has_listen: bool,
    /// The daemon reads the TCP/IP keys and may listen on TCP/TLS
    /// (libvirtd with `--listen`; virtproxyd per listen_tcp / listen_tls).
    pub with_ip: bool,
    /// Driver names the daemon hosts (libvirt's module names); empty for
    /// the proxy, which forwards to the per-driver daemons.
    pub drivers: &'static [&'static str],
    /// Human description used in the usage text.
    pub description: &'static str,
}

const ALL: [Profile; 11] = [
    Profile {
        name: "libvirtd",
        sock_prefix: "libvirt",
        config_file: "libvirtd.conf",
        requires_root: false,
        has_listen: true,
        with_ip: true,
        drivers: &["test", "network", "secret", "qemu", "lxc", "libxl", "vz"],
        description: "libvirt management daemon",
    },
    Profile {
        name: "virtproxyd",
        sock_prefix: "libvirt",
        config_file: "virtproxyd.conf",
        requires_root: false,
        has_listen: false,
        with_ip: true,
        drivers: &[],
        description: "libvirt proxy daemon",
    },
    Profile {
        name: "virtlxcd",
        sock_prefix: "virtlxcd",
        config_file: "virtlxcd.conf",
        requires_root: true,
        has_listen: false,
        with_ip: false,
        drivers: &["lxc"],
        description: "libvirt LXC daemon",
    },
    Profile {
        name: "virtxend",
        sock_prefix: "virtxend",
        config_file: "virtxend.conf",
        requires_root: true,
        has_listen: false,
        with_ip: false,
        drivers: &["libxl"],
        description: "libvirt Xen daemon",
    },
    Profile {
        name: "virtvzd",
        sock_prefix: "virtvzd",
        config_file: "virtvzd.conf",
        requires_root: false,
        has_listen: false,
        with_ip: false,
        drivers: &["vz"],
        description: "libvirt Virtuozzo daemon",
    },
    Profile {
        name: "virtqemud",
        sock_prefix: "virtqemud",
        config_file: "virtqemud.conf",
        requires_root: false,
        has_listen: false,
        with_ip: false,
        drivers: &["qemu"],
        description: "libvirt QEMU daemon",
    },
    Profile {
        name: "virtnetworkd",
        sock_prefix: "virtnetworkd",
        config_file: "virtnetworkd.conf",
        requires_root: false,
        has_listen: false,
        with_ip: false,
        drivers: &["network"],
        description: "libvirt network daemon",
    },
    Profile {
        name: "virtsecretd",
        sock_prefix: "virtsecretd",
        config_file: "virtsecretd.conf",
        requires_root: false,
        has_listen: false,
        with_ip: false,
        drivers: &["secret"],
        description: "libvirt secret daemon",
    },
    Profile {
        name: "virtstoraged",
        sock_prefix: "virtstoraged",
        config_file: "virtstoraged.conf",
        requires_root: false,
        has_listen: false,
        with_ip: false,
        drivers: &["storage"],
        description: "libvirt storage daemon",
    },
    Profile {
        name: "virtnodedevd",
        sock_prefix: "virtnodedevd",
        config_file: "virtnodedevd.conf",
        requires_root: false,
        has_listen: false,
        with_ip: false,
        drivers: &["nodedev"],
        description: "libvirt nodedev daemon",
    },
    Profile {
        name: "virtinterfaced",
        sock_prefix: "virtinterfaced",
        config_file: "virtinterfaced.conf",
        requires_root: false,
        has_listen: false,
        with_ip: false,
        drivers: &["interface"],
        description: "libvirt interface daemon",
    },
];

impl Profile {
    /// The profile of a daemon by program name.
    pub fn by_name(name: &str) -> Option<Profile> {
        ALL.iter().copied().find(|p| p.name == name)
    }

    /// Every daemon this project builds.
    pub fn all() -> &'static [Profile] {
        &ALL
    }

    /// libvirtd's profile.
    pub fn libvirtd() -> Profile {
        ALL[0]
    }

    /// The systemd socket unit names the daemon may be activated with, in
    /// the order: main, read-only, admin, then TCP and TLS for daemons with
    /// TCP/IP.
    pub fn socket_unit_names(&self) -> Vec<String> {
        let mut v = vec![
            format!("{}.socket", self.name),
            format!("{}-ro.socket", self.name),
            format!("{}-admin.socket", self.name),
        ];
        if self.with_ip {
            v.push(format!("{}-tcp.socket", self.name));
            v.push(format!("{}-tls.socket", self.name));
        }
        v
    }
}

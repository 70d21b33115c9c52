// SPDX-License-Identifier: LGPL-2.1-or-later
//! The network driver (libvirt's bridge driver): virtual networks on the
//! host, answering `network:///system` (`network:///session` when
//! unprivileged) and, as libvirt's shared network driver, the network
//! calls of every hypervisor connection of the daemon that hosts it
//! (`driver::Registry::set_network_driver`).
//!
//! Starting a network of forward mode nat, route, open or none builds, in
//! this order and undoing it all in reverse when a step fails: the route
//! collision check, the bridge with its MAC, MTU, STP, delay and
//! addresses (`host::net`), the firewall rules (`network::firewall`
//! through [`fw`], nftables or iptables as `network.conf`'s
//! `firewall_backend` or the host decide), IP forwarding, and one
//! dnsmasq with the configuration `network::dnsmasq` generates. A network
//! of forward mode bridge uses an existing host bridge and needs nothing
//! started. Destroying undoes the same steps.
//!
//! Files, as libvirt keeps them (the roots come from the daemon, so tests
//! redirect them): persistent configs `/etc/libvirt/qemu/networks/NAME.xml`
//! and autostart links in its `autostart/`, live status
//! `/run/libvirt/network/NAME.xml` and dnsmasq's pid file `NAME.pid`
//! beside it, dnsmasq's config, hosts and leases files in
//! `/var/lib/libvirt/dnsmasq`. At daemon start-up a network whose status
//! file remains and whose bridge exists is taken back as running, with
//! its dnsmasq (started again only when it is gone): a restart never
//! starts a second dnsmasq. A supervisor thread notices a dnsmasq that
//! died, logs it and starts it again.
//!
//! Guest NICs plug into a running network as network ports ([`ports`]):
//! the hypervisor drivers create one per NIC (virNetworkPortCreateXML) and
//! delete it when the guest stops; each is kept in
//! `/run/libvirt/network/NAME/ports/UUID.xml` while the network runs.
//!
//! Must not depend on: the RPC layer or other drivers. Host access goes
//! through [`runtime::NetHost`] only, so the logic is tested on a fake.
#![forbid(unsafe_code)]

pub mod driver;
pub mod fw;
pub mod leases;
pub mod ports;
pub mod runtime;
pub mod status;

use std::path::PathBuf;
use std::sync::Arc;

pub use driver::NetworkDriver;

/// Where the driver keeps its files, and its settings.
#[derive(Debug, Clone)]
pub struct NetworkDriverConfig {
    pub privileged: bool,
    /// Persistent network configs.
    pub config_dir: PathBuf,
    /// Autostart links.
    pub autostart_dir: PathBuf,
    /// Live status files.
    pub state_dir: PathBuf,
    /// dnsmasq pid files.
    pub pid_dir: PathBuf,
    /// dnsmasq's config, hosts and leases files.
    pub dnsmasq_dir: PathBuf,
    /// `network.conf`.
    pub network_conf: Option<PathBuf>,
}

impl NetworkDriverConfig {
    /// libvirt's layout under the daemon's directories: `config_root`
    /// (/etc/libvirt), `run_root` (/run/libvirt) and `lib_root`
    /// (/var/lib/libvirt) for root; the user's config and runtime
    /// directories otherwise (where libvirt puts `network/lib`,
    /// `network/run` and `dnsmasq/lib`).
    pub fn from_roots(
        privileged: bool,
        config_root: PathBuf,
        run_root: PathBuf,
        lib_root: PathBuf,
    ) -> NetworkDriverConfig {
        let config_dir = config_root.join("qemu").join("networks");
        let (state_dir, pid_dir, dnsmasq_dir) = if privileged {
            (
                run_root.join("network"),
                run_root.join("network"),
                lib_root.join("dnsmasq"),
            )
        } else {
            (
                run_root.join("network").join("lib"),
                run_root.join("network").join("run"),
                run_root.join("dnsmasq").join("lib"),
            )
        };
        NetworkDriverConfig {
            privileged,
            autostart_dir: config_dir.join("autostart"),
            config_dir,
            state_dir,
            pid_dir,
            dnsmasq_dir,
            network_conf: Some(config_root.join("network.conf")),
        }
    }
}

/// The factory a daemon registers, on the real host.
pub fn factory(cfg: NetworkDriverConfig) -> Arc<driver::NetworkFactory> {
    Arc::new(driver::NetworkFactory::new(
        cfg,
        Arc::new(runtime::SystemHost),
    ))
}

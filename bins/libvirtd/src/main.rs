// SPDX-License-Identifier: LGPL-2.1-or-later
//! libvirtd: the monolithic daemon hosting every driver.
#![forbid(unsafe_code)]

use driver::Registry;

/// The drivers libvirtd hosts: test, Xen, QEMU, LXC, the network, secret, storage, node device and interface drivers (the Xen driver runs
/// guests only on a Xen dom0 and offers its config conversions anywhere).
fn registry(ctx: &daemon::DaemonContext) -> Registry {
    let mut registry = Registry::new();
    // libvirt's order: the test driver, then libxl before LXC, which is
    // also the order in which an empty URI probes them.
    registry.add(driver_test::factory());
    // The network driver answers network:///… and the network calls of
    // the hypervisor drivers' connections (the test driver has its own),
    // and plugs the LXC and Xen guests' NICs into networks, in process.
    let net = driver_network::NetworkDriverConfig::from_roots(
        ctx.privileged,
        ctx.paths.config_dir.clone(),
        ctx.paths.run_dir.clone(),
        ctx.paths.lib_dir.clone(),
    );
    let uri = if ctx.privileged {
        "network:///system"
    } else {
        "network:///session"
    };
    let network: std::sync::Arc<dyn driver::DriverFactory> = driver_network::factory(net);
    let plug = driver_xen::NetworkAccess(driver::in_process_network(network.clone(), uri));
    // The storage driver (registered below) also resolves the Xen guests'
    // <disk type='volume'> disks, in process.
    let storage_dirs = ctx.driver_dirs("storage");
    let storage_uri = if ctx.privileged {
        "storage:///system"
    } else {
        "storage:///session"
    };
    let storage_factory = driver_storage::StorageFactory::from_dirs(
        ctx.privileged,
        storage_dirs.config_dir,
        storage_dirs.state_dir,
    );
    // Encrypted volumes' passphrases come from the secret driver (below),
    // in process.
    let secret_uri = if ctx.privileged {
        "secret:///system"
    } else {
        "secret:///session"
    };
    let secrets = std::sync::Arc::new(driver_secret::SecretFactory::new(
        ctx.paths.config_dir.join("secrets"),
        ctx.privileged,
    ));
    storage_factory
        .driver()
        .set_secrets(secrets.internal_opener(secret_uri));
    let storage: std::sync::Arc<dyn driver::DriverFactory> = std::sync::Arc::new(storage_factory);
    let xen = driver_xen::XenOptions {
        config_file: ctx.paths.config_dir.join("libxl.conf"),
        privileged: Some(ctx.privileged),
        network: Some(plug.clone()),
        storage: Some(driver_xen::StorageAccess(driver::in_process_network(
            storage.clone(),
            storage_uri,
        ))),
        ..Default::default()
    };
    registry.add(std::sync::Arc::new(driver_xen::XenFactory::new(xen)));
    // QEMU after libxl, before LXC, as libvirt probes them.
    let qemu = ctx.driver_dirs("qemu");
    let mut qemu_opts = driver_qemu::QemuOptions::from_roots(
        ctx.privileged,
        ctx.paths.config_dir.clone(),
        ctx.paths.cache_dir.clone(),
        qemu.config_dir,
        qemu.state_dir,
        qemu.lib_dir,
        qemu.log_dir,
    );
    qemu_opts.host_uuid = ctx.host_uuid.clone();
    qemu_opts.network = Some(plug.clone());
    qemu_opts.storage = Some(driver_qemu::StorageAccess(driver::in_process_network(
        storage.clone(),
        storage_uri,
    )));
    registry.add(std::sync::Arc::new(driver_qemu::QemuFactory::new(
        qemu_opts,
    )));
    let lxc = ctx.driver_dirs("lxc");
    let mut cfg = driver_lxc::LxcDriverConfig::from_dirs(
        ctx.privileged,
        lxc.config_dir,
        lxc.state_dir,
        lxc.log_dir,
    );
    cfg.lxc_conf = Some(ctx.paths.config_dir.join("lxc.conf"));
    cfg.network = Some(plug.clone());
    registry.add(driver_lxc::factory(cfg));
    registry.set_network_driver(network, uri);
    // The secret driver answers secret:///… and the secret calls of the
    // hypervisor drivers' connections (secrets kept in the daemon's config
    // directory, as libvirt keeps them).
    registry.set_secret_driver(secrets, secret_uri);
    // The storage driver answers storage:///… and the storage calls of
    // the hypervisor drivers' connections (definitions in
    // /etc/libvirt/storage, status in /run/libvirt/storage).
    registry.set_storage_driver(storage, storage_uri);
    // The node device driver answers nodedev:///… and the node device
    // calls of the hypervisor drivers' connections (the test driver has
    // its own devices).
    let nodedev_uri = if ctx.privileged {
        "nodedev:///system"
    } else {
        "nodedev:///session"
    };
    registry.set_nodedev_driver(
        std::sync::Arc::new(driver_nodedev::NodedevFactory::new(ctx.privileged)),
        nodedev_uri,
    );
    // The interface driver answers interface:///… and the interface
    // calls of the hypervisor drivers' connections.
    let iface_uri = if ctx.privileged {
        "interface:///system"
    } else {
        "interface:///session"
    };
    registry.set_interface_driver(
        std::sync::Arc::new(driver_interface::InterfaceFactory::new(ctx.privileged)),
        iface_uri,
    );
    registry
}

fn main() -> std::process::ExitCode {
    daemon::run("libvirtd", registry)
}

// SPDX-License-Identifier: LGPL-2.1-or-later
//! Device add, change, move and remove from the kernel's uevent netlink
//! socket (`NETLINK_KOBJECT_UEVENT`, the kernel's multicast group), kept
//! in the driver's list and told to subscribers as libvirt's udev backend
//! does: a new device is CREATED, a known one UPDATED, a gone one DELETED.
//!
//! libvirt listens to udevd's own group (events after udevd's rules ran);
//! this monitor listens to the kernel's, so that it works on hosts
//! without udevd as well; properties from udev's database are read when
//! the device is read, as at enumeration.

use std::path::PathBuf;
use std::sync::Arc;

use kobject_uevent::{ActionType, UEvent};
use netlink_sys::{protocols::NETLINK_KOBJECT_UEVENT, Socket, SocketAddr};

use crate::NodedevDriver;

/// The kernel's uevent multicast group.
const KERNEL_GROUP: u32 = 1;

/// Opens the socket and starts the thread that applies events to
/// `driver` for the rest of the process.
pub fn start(driver: Arc<NodedevDriver>) -> std::io::Result<()> {
    let mut socket = Socket::new(NETLINK_KOBJECT_UEVENT)?;
    socket.bind(&SocketAddr::new(0, KERNEL_GROUP))?;
    // Bursts (a hotplugged hub, many links) must not be dropped.
    let _ = socket.set_rx_buf_sz(4 * 1024 * 1024);
    std::thread::Builder::new()
        .name("nodedev-uevent".into())
        .spawn(move || run(socket, driver))?;
    Ok(())
}

fn run(socket: Socket, driver: Arc<NodedevDriver>) {
    loop {
        let buf = match socket.recv_from_full() {
            Ok((buf, _)) => buf,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                // ENOBUFS: events were lost; the next ones still come.
                if e.raw_os_error() == Some(105) {
                    continue;
                }
                eprintln!("nodedev: failed to receive device from udev monitor: {e}");
                return;
            }
        };
        // Kernel messages start with "ACTION@DEVPATH"; udevd's own
        // ("libudev" headers) are not for this group.
        if buf.starts_with(b"libudev") {
            continue;
        }
        if let Ok(ev) = UEvent::from_netlink_packet(&buf) {
            apply(&driver, &ev);
        }
    }
}

/// Applies one event to the driver and publishes what changed.
pub fn apply(driver: &NodedevDriver, ev: &UEvent) {
    let sys = &driver.sysfs().sys;
    let path = |devpath: &std::path::Path| -> PathBuf {
        sys.join(devpath.strip_prefix("/").unwrap_or(devpath))
    };
    let syspath = path(&ev.devpath);
    let out = match ev.action {
        ActionType::Add | ActionType::Change => vec![driver.add_device(&syspath)],
        ActionType::Remove => vec![driver.remove_device(&syspath)],
        ActionType::Move => {
            let mut v = Vec::new();
            if let Some(old) = ev.env.get("DEVPATH_OLD") {
                v.push(driver.remove_device(&path(std::path::Path::new(old))));
            }
            v.push(driver.add_device(&syspath));
            v
        }
        _ => Vec::new(),
    };
    for e in out.into_iter().flatten() {
        driver.publish(e);
    }
}

// SPDX-License-Identifier: LGPL-2.1-or-later
//! What libudev tells libvirt about a device, read the way libudev reads
//! it: the kernel's view from sysfs (the device's directory, its `uevent`
//! file, `subsystem` and attributes) merged with udev's database
//! (`/run/udev/data/ID`: the properties and device links udev's rules
//! added) when udevd keeps one.
//!
//! Enumeration scans `/sys/bus/*/devices` and `/sys/class/*` as libudev's
//! enumerator does, without the subsystems libvirt asks it to leave out,
//! and sorts the devices by path so that a parent comes before its
//! children.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Where the host's device information lives.
#[derive(Debug, Clone)]
pub struct Sysfs {
    /// The sysfs mount (`/sys`).
    pub sys: PathBuf,
    /// udev's database (`/run/udev/data`).
    pub udev_data: PathBuf,
}

impl Default for Sysfs {
    fn default() -> Self {
        Sysfs {
            sys: PathBuf::from("/sys"),
            udev_data: PathBuf::from("/run/udev/data"),
        }
    }
}

/// Subsystems libvirt's enumeration skips.
const IGNORED_SUBSYSTEMS: [&str; 4] = ["acpi", "tty", "vc", "i2c"];

/// One device as libudev reports it.
#[derive(Debug, Clone, Default)]
pub struct DevInfo {
    /// Its canonical sysfs directory.
    pub syspath: PathBuf,
    pub sysname: String,
    pub subsystem: Option<String>,
    pub devtype: Option<String>,
    /// Properties: the `uevent` file's, then the database's.
    pub props: BTreeMap<String, String>,
    /// `/dev/...` node.
    pub devnode: Option<String>,
    /// Symbolic links to the node udev made.
    pub devlinks: Vec<String>,
}

/// The last path component as text.
pub fn basename(p: &Path) -> String {
    p.file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// A sysfs attribute file's text without trailing newlines, as libudev
/// gives it; `None` when it cannot be read.
pub fn read_attr(p: &Path) -> Option<String> {
    let bytes = std::fs::read(p).ok()?;
    let mut s = String::from_utf8_lossy(&bytes).into_owned();
    while s.ends_with('\n') || s.ends_with('\r') {
        s.pop();
    }
    Some(s)
}

/// The base name of a symbolic link's target.
pub fn link_basename(p: &Path) -> Option<String> {
    std::fs::read_link(p).ok().map(|t| basename(&t))
}

impl DevInfo {
    /// The device whose sysfs directory is `syspath` (canonical), or
    /// `None` when that is not a device (no `uevent` file).
    pub fn read(sysfs: &Sysfs, syspath: &Path) -> Option<DevInfo> {
        let uevent = std::fs::read_to_string(syspath.join("uevent")).ok()?;
        let mut d = DevInfo {
            syspath: syspath.to_path_buf(),
            sysname: basename(syspath),
            subsystem: link_basename(&syspath.join("subsystem")),
            ..Default::default()
        };
        for line in uevent.lines() {
            if let Some((k, v)) = line.split_once('=') {
                d.props.insert(k.to_string(), v.to_string());
            }
        }
        Self::complete(&mut d, sysfs);
        Some(d)
    }

    /// A device from a kernel event's properties (for a removed device
    /// whose directory is gone).
    pub fn from_event(sysfs: &Sysfs, props: BTreeMap<String, String>) -> Option<DevInfo> {
        let devpath = props.get("DEVPATH")?.clone();
        let syspath = sysfs.sys.join(devpath.trim_start_matches('/'));
        let mut d = DevInfo {
            sysname: basename(&syspath),
            syspath,
            subsystem: props.get("SUBSYSTEM").cloned(),
            props,
            ..Default::default()
        };
        Self::complete(&mut d, sysfs);
        Some(d)
    }

    fn complete(d: &mut DevInfo, sysfs: &Sysfs) {
        if let Some(s) = &d.subsystem {
            d.props.insert("SUBSYSTEM".into(), s.clone());
        }
        d.devtype = d.props.get("DEVTYPE").cloned();
        if let Some(name) = d.props.get("DEVNAME").cloned() {
            let node = if name.starts_with('/') {
                name
            } else {
                format!("/dev/{name}")
            };
            d.props.insert("DEVNAME".into(), node.clone());
            d.devnode = Some(node);
        }
        if let Some(id) = d.db_id() {
            if let Ok(text) = std::fs::read_to_string(sysfs.udev_data.join(id)) {
                for line in text.lines() {
                    if let Some(kv) = line.strip_prefix("E:") {
                        if let Some((k, v)) = kv.split_once('=') {
                            d.props.insert(k.to_string(), v.to_string());
                        }
                    } else if let Some(l) = line.strip_prefix("S:") {
                        d.devlinks.push(format!("/dev/{l}"));
                    }
                }
            }
        }
    }

    /// The name of the device's file in udev's database.
    fn db_id(&self) -> Option<String> {
        if let (Some(maj), Some(min)) = (self.props.get("MAJOR"), self.props.get("MINOR")) {
            let kind = if self.subsystem.as_deref() == Some("block") {
                'b'
            } else {
                'c'
            };
            return Some(format!("{kind}{maj}:{min}"));
        }
        if let Some(i) = self.props.get("IFINDEX") {
            return Some(format!("n{i}"));
        }
        let sub = self.subsystem.as_deref()?;
        Some(format!("+{sub}:{}", self.sysname))
    }

    /// A property.
    pub fn prop(&self, k: &str) -> Option<&str> {
        self.props.get(k).map(String::as_str)
    }

    /// An attribute of the device (a file below its directory).
    pub fn attr(&self, name: &str) -> Option<String> {
        read_attr(&self.syspath.join(name))
    }

    /// An attribute as libvirt's string getter takes it: control
    /// characters removed, empty as absent.
    pub fn attr_string(&self, name: &str) -> Option<String> {
        let v: String = self
            .attr(name)?
            .chars()
            .filter(|c| !c.is_control())
            .collect();
        (!v.is_empty()).then_some(v)
    }

    /// The syspaths of the device's ancestors, nearest first (only
    /// directories that are devices, within sysfs).
    pub fn ancestors(&self, sysfs: &Sysfs) -> Vec<PathBuf> {
        let mut v = Vec::new();
        let mut p = self.syspath.parent();
        while let Some(dir) = p {
            if !dir.starts_with(&sysfs.sys) || dir == sysfs.sys {
                break;
            }
            if dir.join("uevent").is_file() {
                v.push(dir.to_path_buf());
            }
            p = dir.parent();
        }
        v
    }
}

/// Every device's canonical syspath, sorted.
pub fn enumerate(sysfs: &Sysfs) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    let list = |p: PathBuf| -> Vec<PathBuf> {
        std::fs::read_dir(p)
            .map(|rd| rd.flatten().map(|e| e.path()).collect())
            .unwrap_or_default()
    };
    for bus in list(sysfs.sys.join("bus")) {
        if IGNORED_SUBSYSTEMS.contains(&basename(&bus).as_str()) {
            continue;
        }
        dirs.extend(list(bus.join("devices")));
    }
    for class in list(sysfs.sys.join("class")) {
        if IGNORED_SUBSYSTEMS.contains(&basename(&class).as_str()) {
            continue;
        }
        dirs.extend(list(class));
    }
    let mut out: Vec<PathBuf> = dirs
        .into_iter()
        .filter_map(|p| std::fs::canonicalize(p).ok())
        .filter(|p| p.join("uevent").is_file())
        .collect();
    out.sort();
    out.dedup();
    out
}

// SPDX-License-Identifier: LGPL-2.1-or-later
//! The xl disk specification (Xen's xl-disk-configuration): comma-separated
//! `key=value` pairs, bare flags and the positional parameters
//! `target,format,vdev,access`. `target=` swallows the rest of the string.

use crate::error::XenConfigError;

/// libxl's disk image format as the spec names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiskFormat {
    /// Not given.
    Unknown,
    /// `qcow`
    Qcow,
    /// `qcow2`
    Qcow2,
    /// `vhd`
    Vhd,
    /// `raw`
    Raw,
    /// `empty`
    Empty,
    /// `qed`
    Qed,
}

/// libxl's disk backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiskBackend {
    /// Not given.
    Unknown,
    /// `phy`
    Phy,
    /// `tap`
    Tap,
    /// `qdisk`
    Qdisk,
    /// `standalone`
    Standalone,
}

/// One parsed disk specification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XlDisk {
    /// The backing path or URL (`None`: empty drive).
    pub pdev_path: Option<String>,
    /// Guest device name.
    pub vdev: String,
    /// Image format.
    pub format: DiskFormat,
    /// Backend kind.
    pub backend: DiskBackend,
    /// Writable.
    pub readwrite: bool,
    /// A CD-ROM drive.
    pub is_cdrom: bool,
    /// Media can be changed.
    pub removable: bool,
}

fn bad(spec: &str) -> XenConfigError {
    XenConfigError::internal(format!("failed to parse disk specification '{spec}'"))
}

fn parse_format(v: &str, spec: &str) -> Result<DiskFormat, XenConfigError> {
    Ok(match v {
        "" => DiskFormat::Unknown,
        "raw" => DiskFormat::Raw,
        "qcow" => DiskFormat::Qcow,
        "qcow2" => DiskFormat::Qcow2,
        "vhd" => DiskFormat::Vhd,
        "empty" => DiskFormat::Empty,
        "qed" => DiskFormat::Qed,
        _ => return Err(bad(spec)),
    })
}

fn parse_access(v: &str, spec: &str) -> Result<bool, XenConfigError> {
    match v {
        "" | "w" | "rw" => Ok(true),
        "r" | "ro" => Ok(false),
        _ => Err(bad(spec)),
    }
}

/// Strips the deprecated `phy:`, `file:`, `tap:aio:`, `qcow2:` ... prefixes
/// a target may carry, applying what they imply.
fn strip_legacy_prefix(target: &str, d: &mut XlDisk) -> String {
    let mut t = target;
    while let Some((head, rest)) = t.split_once(':') {
        match head {
            "phy" => d.backend = DiskBackend::Phy,
            "file" | "aio" => {}
            "tap" | "tap2" => d.backend = DiskBackend::Tap,
            "raw" => d.format = DiskFormat::Raw,
            "qcow" => d.format = DiskFormat::Qcow,
            "qcow2" => d.format = DiskFormat::Qcow2,
            "vhd" => d.format = DiskFormat::Vhd,
            _ => break,
        }
        t = rest;
    }
    t.to_string()
}

/// Parses one disk specification (xlu_disk_parse's grammar).
pub fn parse(spec: &str) -> Result<XlDisk, XenConfigError> {
    let mut d = XlDisk {
        pdev_path: None,
        vdev: String::new(),
        format: DiskFormat::Unknown,
        backend: DiskBackend::Unknown,
        readwrite: true,
        is_cdrom: false,
        removable: false,
    };
    let mut target: Option<String> = None;
    let mut vdev: Option<String> = None;
    let mut positional = 0usize;
    let mut rest = spec;
    loop {
        let tok_full = rest.trim_start_matches([' ', '\t', '\n']);
        if let Some(t) = tok_full.strip_prefix("target=") {
            target = Some(t.to_string());
            break;
        }
        let (tok, next) = match tok_full.find(',') {
            Some(i) => (&tok_full[..i], Some(&tok_full[i + 1..])),
            None => (tok_full, None),
        };
        if let Some((k, v)) = tok.split_once('=') {
            match k {
                "format" => d.format = parse_format(v, spec)?,
                "vdev" => vdev = Some(v.to_string()),
                "access" => d.readwrite = parse_access(v, spec)?,
                "devtype" => match v {
                    "cdrom" => d.is_cdrom = true,
                    "disk" | "" => {}
                    _ => return Err(bad(spec)),
                },
                "backendtype" => {
                    d.backend = match v {
                        "phy" => DiskBackend::Phy,
                        "tap" => DiskBackend::Tap,
                        "qdisk" => DiskBackend::Qdisk,
                        "standalone" => DiskBackend::Standalone,
                        "" => DiskBackend::Unknown,
                        _ => return Err(bad(spec)),
                    }
                }
                // Accepted and not represented in the domain definition.
                "backend" | "script" | "specification" | "transport" | "colo-host"
                | "colo-port" | "colo-export" | "active-disk" | "hidden-disk" => {}
                _ => return Err(bad(spec)),
            }
        } else {
            match tok {
                "cdrom" => d.is_cdrom = true,
                "removable" => d.removable = true,
                "direct-io-safe" | "discard" | "no-discard" | "trusted" | "untrusted" | "colo" => {}
                "" if positional >= 4 => {}
                _ => {
                    match positional {
                        0 => target = Some(tok.to_string()),
                        1 => d.format = parse_format(tok, spec)?,
                        2 => vdev = Some(tok.to_string()),
                        3 => d.readwrite = parse_access(tok, spec)?,
                        _ => return Err(bad(spec)),
                    }
                    positional += 1;
                }
            }
        }
        match next {
            Some(n) => rest = n,
            None => break,
        }
    }
    d.vdev = vdev.filter(|v| !v.is_empty()).ok_or_else(|| bad(spec))?;
    if let Some(t) = target {
        let t = strip_legacy_prefix(&t, &mut d);
        if !t.is_empty() {
            d.pdev_path = Some(t);
        }
    }
    if d.is_cdrom {
        d.removable = true;
        d.readwrite = false;
        if d.pdev_path.is_none() {
            d.format = DiskFormat::Empty;
        }
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positional_parameters_fill_in_order() {
        let d = parse("/dev/HostVG/XenGuest2,raw,hda,rw,backendtype=phy").unwrap();
        assert_eq!(d.pdev_path.as_deref(), Some("/dev/HostVG/XenGuest2"));
        assert_eq!(d.vdev, "hda");
        assert_eq!(d.format, DiskFormat::Raw);
        assert_eq!(d.backend, DiskBackend::Phy);
        assert!(d.readwrite);
    }

    #[test]
    fn named_target_takes_the_rest() {
        let d = parse("vdev=xvda,target=/a,b c").unwrap();
        assert_eq!(d.pdev_path.as_deref(), Some("/a,b c"));
    }

    #[test]
    fn cdrom_without_media_is_empty_and_readonly() {
        let d = parse("vdev=hdc,devtype=cdrom,target=").unwrap();
        assert!(d.is_cdrom && !d.readwrite && d.pdev_path.is_none());
        assert_eq!(d.format, DiskFormat::Empty);
    }

    #[test]
    fn missing_vdev_is_an_error() {
        assert!(parse("/tmp/x,raw").is_err());
        assert!(parse("format=bogus,vdev=xvda").is_err());
    }
}

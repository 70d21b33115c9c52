// SPDX-License-Identifier: LGPL-2.1-or-later
//! The commands the storage driver runs for a definition: `qemu-img`
//! to create or convert a volume, `mount` to start an fs/netfs pool,
//! `vgchange` to start a logical one. Pure functions of the
//! definitions (no I/O), so the driver runs exactly what the
//! conformance corpus expects.

use crate::error::{ConfError, CONFIG_UNSUPPORTED, INTERNAL_ERROR, XML_ERROR};
use crate::storage::{PoolDef, VolDef};
use crate::xml::Element;

/// VIR_STORAGE_VOL_CREATE_PREALLOC_METADATA.
pub const PREALLOC_METADATA: u32 = 1;

/// Which step of an encrypted conversion a command is for
/// (virStorageVolEncryptConvertStep).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConvertStep {
    /// A plain create or convert.
    None,
    /// Create the encrypted image with the input's size.
    Create,
    /// Copy the input into it.
    Convert,
}

/// What `qemu-img` is told, gathered from the definitions.
#[derive(Debug, Clone, Default)]
pub struct CreateSpec {
    pub name: String,
    pub path: String,
    /// Output format name as qemu-img knows it (`raw`, `qcow2`, `luks`).
    pub format: String,
    /// libvirt's format of the target (`qcow2`, `raw`, `iso`, ...).
    pub vol_format: String,
    pub input_path: Option<String>,
    pub input_format: Option<String>,
    pub input_name: Option<String>,
    /// The input's encryption format when it is encrypted.
    pub input_encryption: Option<String>,
    pub input_vol_format: Option<String>,
    pub backing_path: Option<String>,
    pub backing_format: Option<String>,
    /// KiB, rounded up.
    pub size_kib: u64,
    pub allocation_kib: u64,
    pub preallocate: bool,
    pub compat: Option<String>,
    pub cluster_size: Option<u64>,
    pub features: Vec<String>,
    pub nocow: bool,
    pub encryption: Option<Element>,
}

fn unsupported(msg: impl Into<String>) -> ConfError {
    ConfError::new(CONFIG_UNSUPPORTED, msg)
}

fn enc_format(e: &Element) -> &str {
    e.attr("format").unwrap_or("default")
}

/// The qemu-img name of a volume's format, as libvirt maps it (block
/// volumes and ISO images are written as raw).
fn qemu_format(vol: &VolDef) -> String {
    let f = vol.format.as_deref().unwrap_or("raw");
    if vol.vol_type == "block" || f == "iso" || f == "none" {
        "raw".into()
    } else {
        f.into()
    }
}

impl CreateSpec {
    /// The spec for creating `vol` (from `input` when given), with
    /// libvirt's checks of what qemu-img can be asked.
    pub fn from_defs(
        _pool: &PoolDef,
        vol: &VolDef,
        input: Option<&VolDef>,
        flags: u32,
    ) -> Result<CreateSpec, ConfError> {
        let enc = vol.encryption.as_ref();
        let vol_format = vol.format.clone().unwrap_or_else(|| "raw".into());
        if let Some(e) = enc {
            if matches!(enc_format(e), "qcow" | "default")
                && matches!(vol_format.as_str(), "qcow" | "qcow2")
            {
                return Err(unsupported(
                    "creation of qcow2 encrypted image is not supported",
                ));
            }
        }
        if let Some(ie) = input.and_then(|i| i.encryption.as_ref()) {
            if enc_format(ie) != "luks" {
                return Err(unsupported("encryption format of inputvol must be LUKS"));
            }
        }
        let mut format = qemu_format(vol);
        let preallocate = flags & PREALLOC_METADATA != 0;
        let features: Vec<String> = vol.features.clone().unwrap_or_default();
        if preallocate && format != "qcow2" {
            return Err(unsupported(
                "metadata preallocation only available with qcow2",
            ));
        }
        if vol.compat.is_some() && format != "qcow2" {
            return Err(unsupported(
                "compatibility option only available with qcow2",
            ));
        }
        if vol.features.is_some() && format != "qcow2" {
            return Err(unsupported("format features only available with qcow2"));
        }
        if format == "raw" && enc.is_some() {
            if enc.map(enc_format) == Some("luks") {
                format = "luks".into();
            } else {
                return Err(ConfError::new(
                    INTERNAL_ERROR,
                    "Only luks encryption is supported for raw files",
                ));
            }
        }
        let mut spec = CreateSpec {
            name: vol.name.clone(),
            path: vol.target_path.clone().unwrap_or_default(),
            format,
            vol_format: vol_format.clone(),
            size_kib: vol.capacity.div_ceil(1024),
            allocation_kib: vol.allocation.div_ceil(1024),
            preallocate,
            compat: vol.compat.clone(),
            cluster_size: vol.cluster_size.filter(|c| *c > 0),
            features,
            nocow: vol.nocow,
            encryption: enc.cloned(),
            ..Default::default()
        };
        if let Some(i) = input {
            let mut f = qemu_format(i);
            if f == "raw" && i.encryption.is_some() {
                f = "luks".into();
            }
            spec.input_path = i.target_path.clone();
            spec.input_format = Some(f);
            spec.input_name = Some(i.name.clone());
            spec.input_encryption = i.encryption.as_ref().map(|e| enc_format(e).to_string());
            spec.input_vol_format = Some(i.format.clone().unwrap_or_else(|| "raw".into()));
        }
        if let Some(b) = &vol.backing_store {
            if spec.vol_format == "raw" && enc.is_none() {
                return Err(unsupported("cannot set backing store for raw volume"));
            }
            if preallocate {
                return Err(unsupported(
                    "metadata preallocation conflicts with backing store",
                ));
            }
            let bpath = b.child_text("path").unwrap_or_default();
            if let Some(ib) = input.and_then(|i| i.backing_store.as_ref()) {
                if ib.child_text("path").as_deref() != Some(bpath.as_str()) {
                    return Err(ConfError::new(
                        INTERNAL_ERROR,
                        "a different backing store cannot be specified.",
                    ));
                }
            }
            spec.backing_format = Some(
                b.child("format")
                    .and_then(|f| f.attr("type"))
                    .unwrap_or("raw")
                    .to_string(),
            );
            spec.backing_path = Some(bpath);
        }
        if let Some(e) = enc {
            check_encryption(&spec.vol_format, &spec.format, e)?;
        }
        Ok(spec)
    }

    /// The `-o` options (without `-o`), empty when there are none.
    fn options(&self, backing: bool, secret_alias: Option<&str>) -> Result<String, ConfError> {
        let mut o: Vec<String> = Vec::new();
        if backing {
            if let Some(f) = &self.backing_format {
                o.push(format!("backing_fmt={f}"));
            }
        }
        if let (Some(e), Some(alias)) = (&self.encryption, secret_alias) {
            let prefix = if self.vol_format == "qcow2" {
                o.push("encrypt.format=luks".into());
                "encrypt."
            } else {
                ""
            };
            o.push(format!("{prefix}key-secret={alias}"));
            if let Some(c) = e.child("cipher").filter(|c| c.attr("name").is_some()) {
                o.push(format!(
                    "{prefix}cipher-alg={}-{}",
                    escape_comma(c.attr("name").unwrap_or_default()),
                    c.attr("size").unwrap_or("0")
                ));
                if let Some(m) = c.attr("mode") {
                    o.push(format!("{prefix}cipher-mode={}", escape_comma(m)));
                }
                if let Some(h) = c.attr("hash") {
                    o.push(format!("{prefix}hash-alg={}", escape_comma(h)));
                }
                if let Some(iv) = e.child("ivgen").filter(|i| i.attr("name").is_some()) {
                    o.push(format!(
                        "{prefix}ivgen-alg={}",
                        escape_comma(iv.attr("name").unwrap_or_default())
                    ));
                    if let Some(h) = iv.attr("hash") {
                        o.push(format!("{prefix}ivgen-hash-alg={}", escape_comma(h)));
                    }
                }
            }
        }
        if self.preallocate {
            if self.size_kib > self.allocation_kib {
                o.push("preallocation=metadata".into());
            } else {
                o.push("preallocation=falloc".into());
            }
        }
        if self.nocow {
            o.push("nocow=on".into());
        }
        if let Some(c) = &self.compat {
            o.push(format!("compat={c}"));
        } else if self.vol_format == "qcow2" {
            o.push("compat=0.10".into());
        }
        if let Some(c) = self.cluster_size {
            o.push(format!("cluster_size={c}"));
        }
        if self.vol_format == "qcow2" {
            let old = self.compat.as_deref() == Some("0.10");
            if self.features.iter().any(|f| f == "lazy_refcounts") {
                if old {
                    return Err(unsupported(
                        "lazy_refcounts not supported with compat level 0.10",
                    ));
                }
                o.push("lazy_refcounts".into());
            }
            if self.features.iter().any(|f| f == "extended_l2") {
                if old {
                    return Err(unsupported(
                        "'extended_l2' not supported with compat level 0.10",
                    ));
                }
                o.push("extended_l2=on".into());
            }
        }
        Ok(o.join(","))
    }

    /// The command (or commands, for an encrypted conversion: create,
    /// then convert) that make the volume, `tool` being qemu-img's path;
    /// `secret` and `input_secret` the files holding the passphrases.
    pub fn commands(
        &self,
        tool: &str,
        secret: Option<&str>,
        input_secret: Option<&str>,
    ) -> Result<Vec<Vec<String>>, ConfError> {
        if (self.encryption.is_some() || self.input_encryption.is_some())
            && self.input_path.is_some()
        {
            Ok(vec![
                self.command(tool, secret, input_secret, ConvertStep::Create)?,
                self.command(tool, secret, input_secret, ConvertStep::Convert)?,
            ])
        } else {
            Ok(vec![self.command(
                tool,
                secret,
                input_secret,
                ConvertStep::None,
            )?])
        }
    }

    /// A plain (unencrypted) create or convert.
    pub fn argv(&self, tool: &str) -> Result<Vec<String>, ConfError> {
        self.command(tool, None, None, ConvertStep::None)
    }

    /// virStorageBackendCreateQemuImgCmdFromVol for one step.
    pub fn command(
        &self,
        tool: &str,
        secret: Option<&str>,
        input_secret: Option<&str>,
        step: ConvertStep,
    ) -> Result<Vec<String>, ConfError> {
        let mut a: Vec<String> = vec![tool.to_string()];
        let input_path = if step == ConvertStep::Create {
            None
        } else {
            self.input_path.as_deref()
        };
        let backing = input_path.is_none() && step != ConvertStep::Create;
        match (input_path, step) {
            (Some(_), ConvertStep::None) => {
                a.extend(
                    [
                        "convert",
                        "-f",
                        self.input_format.as_deref().unwrap_or("raw"),
                        "-O",
                        &self.format,
                    ]
                    .map(String::from),
                );
            }
            (Some(_), ConvertStep::Convert) => {
                a.extend(
                    ["convert", "--image-opts", "-n", "--target-image-opts"].map(String::from),
                );
            }
            _ => a.extend(["create", "-f", &self.format].map(String::from)),
        }
        if backing {
            if let Some(b) = &self.backing_path {
                a.push("-b".into());
                a.push(b.clone());
            }
        }
        let alias = format!("{}_encrypt0", self.name);
        if self.encryption.is_some() {
            let Some(s) = secret else {
                return Err(ConfError::new(
                    INTERNAL_ERROR,
                    "path to secret data file is required",
                ));
            };
            a.push("--object".into());
            a.push(format!("secret,id={alias},file={}", escape_comma(s)));
        }
        let input_alias = self
            .input_name
            .as_deref()
            .map(|n| format!("{n}_encrypt0"))
            .unwrap_or_default();
        if self.input_encryption.is_some() && step == ConvertStep::Convert {
            let Some(s) = input_secret else {
                return Err(ConfError::new(
                    INTERNAL_ERROR,
                    "path to inputvol secret data file is required",
                ));
            };
            a.push("--object".into());
            a.push(format!("secret,id={input_alias},file={}", escape_comma(s)));
        }
        if step != ConvertStep::Convert {
            let opts = self.options(backing, self.encryption.as_ref().map(|_| alias.as_str()))?;
            if !opts.is_empty() {
                a.push("-o".into());
                a.push(opts);
            }
            if let Some(i) = input_path {
                a.push(i.to_string());
            }
            a.push(self.path.clone());
            let backing_path = if backing {
                self.backing_path.as_ref()
            } else {
                None
            };
            if input_path.is_none() && (self.size_kib > 0 || backing_path.is_none()) {
                a.push(format!("{}K", self.size_kib));
            }
        } else {
            let ipath = input_path.unwrap_or_default();
            let itype = self.input_format.as_deref().unwrap_or("raw");
            if self.input_encryption.is_some() {
                let prefix = if self.input_vol_format.as_deref() == Some("qcow2") {
                    "encrypt."
                } else {
                    ""
                };
                a.push(format!(
                    "driver={itype},file.filename={ipath},{prefix}key-secret={input_alias}"
                ));
            } else {
                a.push(format!("driver={itype},file.filename={ipath}"));
            }
            if self.encryption.is_some() {
                let prefix = if self.vol_format == "qcow2" {
                    "encrypt."
                } else {
                    ""
                };
                a.push(format!(
                    "driver={},file.filename={},{prefix}key-secret={alias}",
                    self.format, self.path
                ));
            } else {
                a.push(format!(
                    "driver={},file.filename={}",
                    self.format, self.path
                ));
            }
        }
        Ok(a)
    }
}

fn enc_number(f: &str) -> i32 {
    match f {
        "default" => 0,
        "qcow" => 1,
        "luks" => 2,
        _ => -1,
    }
}

/// libvirt's check of a volume's `<encryption>` before qemu-img is run
/// on it: LUKS with one secret, on a raw or qcow2 volume (`vol_format`;
/// `qemu_type` is the format qemu-img is given, named in the error).
pub fn check_encryption(vol_format: &str, qemu_type: &str, e: &Element) -> Result<(), ConfError> {
    if !matches!(vol_format, "raw" | "qcow2") {
        return Err(unsupported(format!(
            "volume encryption unsupported with format {qemu_type}"
        )));
    }
    if enc_format(e) != "luks" {
        return Err(unsupported(format!(
            "unsupported volume encryption format {}",
            enc_number(enc_format(e))
        )));
    }
    match e.children_named("secret").count() {
        0 => Err(ConfError::new(
            XML_ERROR,
            "no secret provided for luks encryption",
        )),
        1 => Ok(()),
        _ => Err(ConfError::new(
            XML_ERROR,
            "too many secrets for luks encryption",
        )),
    }
}

/// QEMU's option escaping: a comma is doubled.
pub fn escape_comma(s: &str) -> String {
    s.replace(',', ",,")
}

/// Prints a command as libvirt's tests do: one argument per line joined
/// by ` \`, an option and its value on one line.
pub fn format_argv(argv: &[String]) -> String {
    let mut lines: Vec<String> = Vec::new();
    let mut i = 0;
    while i < argv.len() {
        let a = &argv[i];
        let next = argv.get(i + 1);
        if a.starts_with('-') && i > 0 && next.is_some_and(|n| !n.starts_with('-')) {
            lines.push(format!("{a} {}", next.map(String::as_str).unwrap_or("")));
            i += 2;
        } else {
            lines.push(a.clone());
            i += 1;
        }
    }
    let mut s = lines.join(" \\\n");
    s.push('\n');
    s
}

/// libvirt's default mount options on Linux.
const DEFAULT_MOUNT_OPTS: &str = "nodev,nosuid,noexec";

fn source_attr(def: &PoolDef, child: &str, attr: &str) -> Option<String> {
    def.source
        .as_ref()
        .and_then(|s| s.child(child))
        .and_then(|c| c.attr(attr))
        .map(str::to_string)
}

/// The command that starts a pool: `mount` for fs and netfs pools,
/// `vgchange -aly` for logical ones; `None` for types started otherwise.
pub fn start_argv(def: &PoolDef) -> Option<Vec<String>> {
    match def.pool_type.as_str() {
        "fs" | "netfs" => Some(mount_argv(def)),
        "logical" => Some(vgchange_argv(def, true)),
        _ => None,
    }
}

/// `vgchange -aly NAME` (or `-aln` to stop).
pub fn vgchange_argv(def: &PoolDef, on: bool) -> Vec<String> {
    let name = def
        .source
        .as_ref()
        .and_then(|s| s.child_text("name"))
        .unwrap_or_default();
    vec![
        "vgchange".into(),
        if on { "-aly" } else { "-aln" }.into(),
        name,
    ]
}

/// What an fs/netfs pool mounts: the device, `HOST:DIR`, or
/// `//HOST/DIR` for CIFS.
pub fn mount_source(def: &PoolDef) -> String {
    if def.pool_type == "netfs" {
        let host = source_attr(def, "host", "name").unwrap_or_default();
        let dir = source_attr(def, "dir", "path").unwrap_or_default();
        if source_attr(def, "format", "type").as_deref() == Some("cifs") {
            format!("//{host}/{dir}")
        } else {
            format!("{host}:{dir}")
        }
    } else {
        source_attr(def, "device", "path").unwrap_or_default()
    }
}

/// virStorageBackendFileSystemMountCmd: `mount -o OPTS [-t TYPE] SRC TARGET`.
pub fn mount_argv(def: &PoolDef) -> Vec<String> {
    let format = source_attr(def, "format", "type").unwrap_or_else(|| "auto".into());
    let netfs = def.pool_type == "netfs";
    let nfs_vers = source_attr(def, "protocol", "ver")
        .filter(|_| netfs)
        .map(|v| format!("nfsvers={v}"));
    let mut opts = vec![DEFAULT_MOUNT_OPTS.to_string()];
    let provided = match (netfs, format.as_str()) {
        (true, "glusterfs") => Some("direct-io-mode=1".to_string()),
        (true, "cifs") => Some("guest".to_string()),
        _ => nfs_vers,
    };
    opts.extend(provided);
    for e in &def.other {
        if e.local_name() == "mount_opts" {
            for o in e.elements().filter(|o| o.local_name() == "option") {
                if let Some(n) = o.attr("name") {
                    opts.push(n.to_string());
                }
            }
        }
    }
    let mut a = vec!["mount".to_string(), "-o".into(), opts.join(",")];
    if !(netfs && format == "auto") {
        a.push("-t".into());
        a.push(format);
    }
    a.push(mount_source(def));
    a.push(def.target_path.clone().unwrap_or_default());
    a
}

// SPDX-License-Identifier: LGPL-2.1-or-later
//! `iscsi-direct` pools: the target's LUNs reached from userspace with
//! libiscsi (crate `libiscsi-sys`), no kernel SCSI. Each refresh logs in
//! to the target named by the pool's `<device path>` at its `<host>`
//! portal as the `<initiator><iqn>`, with CHAP when `<auth>` says so
//! (the password is a secret of usage type iscsi read from the secret
//! driver), lists the LUNs with REPORT LUNS and sizes each with READ
//! CAPACITY(16), and logs out. Wiping a volume writes zeros over it
//! through a session of its own. Names, keys, sizes and error texts are
//! libvirt's.

use conf::xml::Element;
use conf::{PoolDef, VolDef};
use libiscsi_sys::{Chap, Login, Session};
use virterror::{ErrorCode, ErrorDomain, VirError};

use crate::backend::Refreshed;

type Result<T> = std::result::Result<T, VirError>;

/// The default iSCSI port.
const DEFAULT_PORT: u16 = 3260;
/// Volume names are this and the LUN.
const VOL_NAME_PREFIX: &str = "unit:0:0:";
/// Blocks written per WRITE(16) when wiping.
const BLOCKS_PER_WRITE: u64 = 128;
/// VIR_SECRET_USAGE_TYPE_ISCSI.
const USAGE_ISCSI: i32 = 3;
/// VIR_STORAGE_VOL_WIPE_ALG_ZERO.
const WIPE_ALG_ZERO: u32 = 0;

/// Whether this host can run the pools (libiscsi loads).
pub fn available() -> bool {
    libiscsi_sys::available()
}

fn internal(msg: impl Into<String>) -> VirError {
    VirError::new(ErrorCode::InternalError, ErrorDomain::Storage, msg)
}

fn iscsi_err(e: libiscsi_sys::Error) -> VirError {
    internal(e.to_string())
}

fn one_host(source: Option<&Element>) -> Result<&Element> {
    let hosts: Vec<&Element> = source
        .map(|s| s.children_named("host").collect())
        .unwrap_or_default();
    match hosts.as_slice() {
        [h] => Ok(h),
        _ => Err(VirError::new(
            ErrorCode::ConfigUnsupported,
            ErrorDomain::Storage,
            "Expected exactly 1 host for the storage pool",
        )),
    }
}

/// "host:port" (an IPv6 address in brackets when a port is given), the
/// port 3260 when the definition has none.
fn portal(source: Option<&Element>) -> Result<String> {
    let h = one_host(source)?;
    let name = h.attr("name").unwrap_or_default();
    let port = h
        .attr("port")
        .and_then(|p| p.parse::<u16>().ok())
        .unwrap_or(0);
    Ok(if port == 0 {
        format!("{name}:{DEFAULT_PORT}")
    } else if name.contains(':') {
        format!("[{name}]:{port}")
    } else {
        format!("{name}:{port}")
    })
}

fn initiator_iqn(source: Option<&Element>) -> Option<&str> {
    source
        .and_then(|s| s.child("initiator"))
        .and_then(|i| i.child("iqn"))
        .and_then(|q| q.attr("name"))
}

fn target_iqn(def: &PoolDef) -> Result<String> {
    def.source
        .as_ref()
        .and_then(|s| s.child("device"))
        .and_then(|d| d.attr("path"))
        .map(str::to_string)
        .ok_or_else(|| internal("missing source device"))
}

/// The CHAP user and password of the pool's `<auth>`, if any.
fn chap(
    source: Option<&Element>,
    secrets: Option<&driver::NetworkOpener>,
) -> Result<Option<(String, Vec<u8>)>> {
    let Some(auth) = source.and_then(|s| s.child("auth")) else {
        return Ok(None);
    };
    match auth.attr("type") {
        None | Some("none") => return Ok(None),
        Some("chap") => {}
        Some(_) => {
            return Err(VirError::new(
                ErrorCode::XmlError,
                ErrorDomain::Storage,
                "iscsi-direct pool only supports 'chap' auth type",
            ))
        }
    }
    let user = auth.attr("username").unwrap_or_default().to_string();
    let Some(secret) = auth.child("secret") else {
        return Err(VirError::new(
            ErrorCode::XmlError,
            ErrorDomain::Storage,
            "missing auth secret uuid or usage attribute",
        ));
    };
    let Some(opener) = secrets else {
        return Err(VirError::new(
            ErrorCode::NoSupport,
            ErrorDomain::Storage,
            "no secret driver is available to read the CHAP password",
        ));
    };
    let conn = opener()?;
    let sec = crate::vols::lookup_secret(&*conn, secret, USAGE_ISCSI)?;
    let value = conn.secret_get_value(&sec, 0)?;
    Ok(Some((user, value)))
}

/// A session logged in to the pool's target, and the portal it used.
fn connect(def: &PoolDef, secrets: Option<&driver::NetworkOpener>) -> Result<(Session, String)> {
    let source = def.source.as_ref();
    let iqn = initiator_iqn(source).unwrap_or_default().to_string();
    let portal = portal(source)?;
    let mut cred = chap(source, secrets)?;
    let target = target_iqn(def)?;
    let r = Session::connect(
        &iqn,
        &portal,
        Login::Target { target: &target },
        cred.as_ref()
            .map(|(u, p)| Chap {
                username: u,
                password: p,
            })
            .as_ref(),
    );
    if let Some((_, p)) = cred.as_mut() {
        p.iter_mut().for_each(|b| *b = 0);
    }
    Ok((r.map_err(iscsi_err)?, portal))
}

/// The size of a LUN as libvirt's backend computes it: block length
/// times the last block's address (READ CAPACITY's returned LBA), zero
/// for a device that is not direct access.
fn lun_size(s: &mut Session, lun: u16) -> Result<(u32, u64)> {
    s.test_unit_ready(lun).map_err(iscsi_err)?;
    Ok(match s.lun_capacity(lun).map_err(iscsi_err)? {
        Some(c) => (c.block_length, c.returned_lba),
        None => (0, 0),
    })
}

/// The pool's volumes: one per LUN.
pub fn refresh(def: &PoolDef, secrets: Option<&driver::NetworkOpener>) -> Result<Refreshed> {
    let (mut s, portal) = connect(def, secrets)?;
    let target = target_iqn(def)?;
    let luns = s.report_luns().map_err(iscsi_err)?;
    let mut vols = Vec::new();
    let mut total = 0u64;
    for lun in luns {
        let (bs, blocks) = lun_size(&mut s, lun)?;
        let size = u64::from(bs).saturating_mul(blocks);
        total = total.saturating_add(size);
        let path = format!("ip-{portal}-iscsi-{target}-lun-{lun}");
        vols.push(VolDef {
            vol_type: "network".into(),
            name: format!("{VOL_NAME_PREFIX}{lun}"),
            key: Some(path.clone()),
            capacity: size,
            allocation: size,
            physical: None,
            target_path: Some(path),
            format: None,
            target_perms: Default::default(),
            backing_store: None,
            source: None,
            encryption: None,
            compat: None,
            cluster_size: None,
            features: None,
            timestamps: None,
            nocow: false,
        });
    }
    // A failed logout is logged by libvirt, not reported.
    let _ = s.logout();
    Ok(Refreshed {
        vols,
        capacity: total,
        allocation: total,
        available: 0,
        perms: None,
        free_extents: None,
    })
}

fn lun_of(vol: &VolDef) -> Result<u16> {
    vol.name
        .strip_prefix(VOL_NAME_PREFIX)
        .and_then(|n| n.parse::<u16>().ok())
        .ok_or_else(|| internal(format!("Invalid volume name {}", vol.name)))
}

/// Zeros written over a LUN, [`BLOCKS_PER_WRITE`] blocks at a time, up
/// to and including the last block.
pub fn wipe(
    def: &PoolDef,
    vol: &VolDef,
    algorithm: u32,
    flags: u32,
    secrets: Option<&driver::NetworkOpener>,
) -> Result<()> {
    crate::check_flags(flags, 0, "virStorageBackenISCSIDirectWipeVol")?;
    let (mut s, _) = connect(def, secrets)?;
    if algorithm != WIPE_ALG_ZERO {
        return Err(VirError::new(
            ErrorCode::InvalidArg,
            ErrorDomain::Storage,
            format!("unsupported algorithm {algorithm}"),
        ));
    }
    let lun = lun_of(vol)?;
    let (bs, last) = lun_size(&mut s, lun)?;
    let mut zeros = vec![0u8; usize::try_from(u64::from(bs) * BLOCKS_PER_WRITE).unwrap_or(0)];
    let mut lba = 0u64;
    while lba < last {
        let count = (last - lba + 1).min(BLOCKS_PER_WRITE);
        let len = usize::try_from(count * u64::from(bs)).unwrap_or(0);
        let Some(buf) = zeros.get_mut(..len) else {
            break;
        };
        s.write16(lun, lba, buf, bs)
            .map_err(|e| internal(format!("failed to write to LUN {lun}: {}", e.detail)))?;
        lba += count;
    }
    let _ = s.logout();
    Ok(())
}

/// find-storage-pool-sources for iscsi-direct: the targets a discovery
/// session to the spec's host lists, each as a source with that host,
/// the spec's initiator and the target as its device.
pub fn find_sources(spec: Option<&str>, flags: u32) -> Result<String> {
    crate::check_flags(flags, 0, "virStorageBackendISCSIDirectFindPoolSources")?;
    let Some(spec) = spec else {
        return Err(VirError::new(
            ErrorCode::InvalidArg,
            ErrorDomain::Storage,
            "hostname must be specified for iscsi sources",
        ));
    };
    let src = conf::xml::parse_document(spec, "(storage_source_specification)", "source")
        .map_err(|e| e.in_domain(ErrorDomain::Storage))?;
    let host = one_host(Some(&src))?;
    let Some(iqn) = initiator_iqn(Some(&src)) else {
        return Err(VirError::new(
            ErrorCode::ConfigUnsupported,
            ErrorDomain::Storage,
            "missing initiator IQN",
        ));
    };
    let portal = portal(Some(&src))?;
    let mut s = Session::connect(iqn, &portal, Login::Discovery, None).map_err(iscsi_err)?;
    let targets = s.discover().map_err(iscsi_err)?;
    let _ = s.logout();
    let name = conf::xml::escape(host.attr("name").unwrap_or_default());
    let port = host
        .attr("port")
        .and_then(|p| p.parse::<u16>().ok())
        .filter(|p| *p != 0);
    let mut x = String::from("<sources>\n");
    for t in targets {
        x.push_str("  <source>\n");
        match port {
            Some(p) => x.push_str(&format!("    <host name='{name}' port='{p}'/>\n")),
            None => x.push_str(&format!("    <host name='{name}'/>\n")),
        }
        x.push_str(&format!("    <device path='{}'/>\n", conf::xml::escape(&t)));
        x.push_str("    <initiator>\n");
        x.push_str(&format!("      <iqn name='{}'/>\n", conf::xml::escape(iqn)));
        x.push_str("    </initiator>\n");
        x.push_str("  </source>\n");
    }
    x.push_str("</sources>\n");
    Ok(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(xml: &str) -> Element {
        conf::xml::parse_document(xml, "(test)", "source").expect("source xml")
    }

    #[test]
    fn portal_defaults_the_port_and_brackets_ipv6() {
        let p = |x: &str| portal(Some(&src(x)));
        assert_eq!(
            p("<source><host name='10.0.0.1'/></source>").ok(),
            Some("10.0.0.1:3260".into())
        );
        assert_eq!(
            p("<source><host name='h' port='13260'/></source>").ok(),
            Some("h:13260".into())
        );
        assert_eq!(
            p("<source><host name='::1' port='3261'/></source>").ok(),
            Some("[::1]:3261".into())
        );
        let e = p("<source><host name='a'/><host name='b'/></source>").unwrap_err();
        assert_eq!(
            e.message(),
            "unsupported configuration: Expected exactly 1 host for the storage pool"
        );
    }

    #[test]
    fn volume_names_give_their_lun() {
        let mut v =
            VolDef::parse_str("<volume><name>unit:0:0:7</name><capacity>0</capacity></volume>")
                .expect("vol");
        assert_eq!(lun_of(&v).ok(), Some(7));
        v.name = "lun7".into();
        assert!(lun_of(&v)
            .unwrap_err()
            .message()
            .contains("Invalid volume name lun7"));
    }

    #[test]
    fn auth_other_than_chap_is_refused() {
        let s = src("<source><auth type='ceph' username='u'><secret usage='x'/></auth></source>");
        let e = chap(Some(&s), None).unwrap_err();
        assert_eq!(
            e.message(),
            "XML error: iscsi-direct pool only supports 'chap' auth type"
        );
        assert!(chap(Some(&src("<source/>")), None)
            .expect("no auth")
            .is_none());
    }
}

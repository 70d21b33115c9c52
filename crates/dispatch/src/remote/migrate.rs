// SPDX-License-Identifier: LGPL-2.1-or-later
//! Peer-to-peer migration (VIR_MIGRATE_PEER2PEER): the client asks the
//! source daemon once (Perform3Params with the destination's URI) and the
//! source daemon runs the version 3 phases itself, as libvirt's daemon
//! does: Begin here, Prepare on the destination daemon, Perform here,
//! Finish there, Confirm here. The local phases are the driver's; the
//! destination is reached through its socket with the public procedures
//! (`daemon-link`), so any driver with the phases migrates this way.
//!
//! Destinations: `DRIVER+unix:///PATH[?socket=SOCK]` and `DRIVER:///PATH`
//! (another daemon's socket on this host), and `DRIVER+tcp://HOST[:PORT]/PATH`
//! (a daemon on another host listening with `listen_tcp`). TLS and SSH
//! transports are not reachable from here yet.

use std::path::PathBuf;

use daemon_link::DaemonLink;
use driver::consts::migrate as m;
use driver::error::{ErrorCode, ErrorDomain};
use driver::{Connection, DomainRef, Error, Result, TypedParams, TypedValue, Uri};
use protocol::remote as r;
use protocol::RemoteProc as P;

use crate::convert::params_out;

/// libvirt's port for plain TCP connections (`tcp_port`).
const DEFAULT_TCP_PORT: u16 = 16509;

/// Opens the destination daemon of `dconnuri` with its driver URI: a
/// socket on this host (`DRIVER+unix:///PATH[?socket=SOCK]`,
/// `DRIVER:///PATH`) or a daemon listening on TCP
/// (`DRIVER+tcp://HOST[:PORT]/PATH`).
fn open_destination(dconnuri: &str) -> Result<DaemonLink> {
    let uri = Uri::parse(dconnuri)?;
    match uri.transport.as_deref() {
        Some("tcp") => {
            let Some(host) = uri.server.as_deref().filter(|h| !h.is_empty()) else {
                return Err(Error::invalid_arg(
                    ErrorDomain::Remote,
                    format!("no host name in the destination URI '{dconnuri}'"),
                ));
            };
            let port = uri.port.unwrap_or(DEFAULT_TCP_PORT);
            // The remote daemon is asked for its local URI, without the
            // server (as libvirt's remote driver names it).
            let local = Uri {
                server: None,
                port: None,
                user: None,
                ..uri.clone()
            };
            DaemonLink::open_tcp(host, port, &local.driver_uri())
        }
        _ => {
            let (socket, driver_uri) = destination(dconnuri)?;
            DaemonLink::open(&socket, &driver_uri)
        }
    }
}

/// The socket and the URI to open of a destination on this host.
fn destination(dconnuri: &str) -> Result<(PathBuf, String)> {
    let uri = Uri::parse(dconnuri)?;
    match uri.transport.as_deref() {
        None | Some("unix") => {}
        Some(t) => {
            return Err(Error::new(
                ErrorCode::ArgumentUnsupported,
                ErrorDomain::Remote,
                format!("peer-to-peer migration over transport '{t}' is not supported"),
            ))
        }
    }
    if uri.server.is_some() {
        return Err(Error::new(
            ErrorCode::ArgumentUnsupported,
            ErrorDomain::Remote,
            format!("peer-to-peer migration to a remote server ('{dconnuri}') needs a network transport"),
        ));
    }
    let socket = match uri.query.iter().find(|(k, _)| k == "socket") {
        Some((_, s)) => PathBuf::from(s),
        None => {
            let dir = if uri.path == "/session" {
                std::env::var_os("XDG_RUNTIME_DIR")
                    .map(|d| PathBuf::from(d).join("libvirt"))
                    .unwrap_or_else(|| PathBuf::from("/run/libvirt"))
            } else {
                PathBuf::from("/run/libvirt")
            };
            let modular = dir.join(format!("virt{}d-sock", uri.scheme));
            if modular.exists() {
                modular
            } else {
                dir.join("libvirt-sock")
            }
        }
    };
    Ok((socket, uri.driver_uri()))
}

fn set_string(params: &mut TypedParams, name: &str, value: &str) {
    params.retain(|(k, _)| k != name);
    params.push((name.to_string(), TypedValue::String(value.to_string())));
}

fn has(params: &TypedParams, name: &str) -> bool {
    params.iter().any(|(k, _)| k == name)
}

/// The destination's answer to virConnectSupportsFeature.
fn dest_supports(link: &DaemonLink, feature: i32) -> Result<bool> {
    let ret: r::ConnectSupportsFeatureRet = link.call(
        P::ConnectSupportsFeature as i32,
        &r::ConnectSupportsFeatureArgs { feature },
    )?;
    Ok(ret.supported > 0)
}

/// Runs a peer-to-peer migration of `dom` from `conn` to `dconnuri`.
pub(crate) fn perform_p2p(
    conn: &dyn Connection,
    dom: &DomainRef,
    dconnuri: &str,
    params: &TypedParams,
    flags: u32,
) -> Result<()> {
    if !conn.supports_feature(m::FEATURE_MIGRATION_P2P)? {
        return Err(Error::new(
            ErrorCode::ArgumentUnsupported,
            ErrorDomain::None,
            "Requested operation is not supported by the source host",
        ));
    }
    let link = open_destination(dconnuri)?;
    let offline = flags & m::OFFLINE != 0;
    if !dest_supports(&link, m::FEATURE_MIGRATION_V3)?
        || !dest_supports(&link, m::FEATURE_MIGRATION_PARAMS)?
    {
        return Err(Error::new(
            ErrorCode::OperationFailed,
            ErrorDomain::Qemu,
            "Destination libvirt does not support peer-to-peer migration protocol",
        ));
    }
    if offline && !dest_supports(&link, m::FEATURE_MIGRATION_OFFLINE)? {
        return Err(Error::new(
            ErrorCode::ArgumentUnsupported,
            ErrorDomain::Qemu,
            "offline migration is not supported by the destination host",
        ));
    }
    let local_flags = flags & !m::PEER2PEER;
    let mut params = params.clone();

    // Begin.
    let (cookie, xml) = conn.domain_migrate_begin3_params(dom, &params, local_flags)?;
    let mut dest_flags = local_flags & !(m::ABORT_ON_ERROR | m::AUTO_CONVERGE);
    if !offline && conn.domain_get_state(dom, 0).map(|(s, _)| s).ok() == Some(3) {
        dest_flags |= m::PAUSED;
    }
    set_string(&mut params, m::PARAM_DEST_XML, &xml);
    if !has(&params, m::PARAM_DEST_NAME) {
        set_string(&mut params, m::PARAM_DEST_NAME, &dom.name);
    }

    // Prepare on the destination.
    let prepared: Result<r::DomainMigratePrepare3ParamsRet> = link.call(
        P::DomainMigratePrepare3Params as i32,
        &r::DomainMigratePrepare3ParamsArgs {
            params: params_out(params.clone()),
            cookie_in: xdr::Opaque(cookie),
            flags: dest_flags,
        },
    );
    let prepared = match prepared {
        Ok(p) => p,
        Err(e) => {
            // Begin marked the domain as migrating; let it go.
            let _ = conn.domain_migrate_confirm3_params(dom, &params, &[], local_flags, true);
            return Err(e);
        }
    };
    if let Some(u) = &prepared.uri_out {
        set_string(&mut params, m::PARAM_URI, u);
    }

    // Perform here (nothing to send offline).
    let (cookie, mut failure) = if offline {
        (Vec::new(), None)
    } else {
        match conn.domain_migrate_perform3_params(
            dom,
            None,
            &params,
            &prepared.cookie_out.0,
            local_flags,
        ) {
            Ok(c) => (c, None),
            Err(e) => (Vec::new(), Some(e)),
        }
    };
    let perform_failed = failure.is_some();

    // Finish on the destination.
    let finished: Result<r::DomainMigrateFinish3ParamsRet> = link.call(
        P::DomainMigrateFinish3Params as i32,
        &r::DomainMigrateFinish3ParamsArgs {
            params: params_out(params.clone()),
            cookie_in: xdr::Opaque(cookie),
            flags: dest_flags,
            cancelled: i32::from(perform_failed),
        },
    );
    let (cancelled, cookie) = match finished {
        Ok(f) => (false, f.cookie_out.0),
        Err(e) => {
            if failure.is_none() && e.code != ErrorCode::MigrateFinishOk {
                failure = Some(e);
            }
            (true, Vec::new())
        }
    };

    // Confirm here, unless Perform already failed (it then rolled back).
    if !perform_failed {
        if let Err(e) =
            conn.domain_migrate_confirm3_params(dom, &params, &cookie, local_flags, cancelled)
        {
            failure.get_or_insert(e);
        }
    }
    match failure {
        Some(e) => Err(e),
        None if cancelled => Err(Error::new(
            ErrorCode::OperationFailed,
            ErrorDomain::Qemu,
            "migration failed on the destination",
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_name_a_socket_and_a_driver_uri() {
        let (s, u) = destination("qemu+unix:///system?socket=/tmp/x/sock").unwrap();
        assert_eq!(s, PathBuf::from("/tmp/x/sock"));
        assert_eq!(u, "qemu:///system");
        let e = destination("qemu+tcp://otherhost/system").unwrap_err();
        assert_eq!(e.code, ErrorCode::ArgumentUnsupported);
    }
}

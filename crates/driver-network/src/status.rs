// SPDX-License-Identifier: LGPL-2.1-or-later
//! The files a network leaves on the host: its persistent config
//! (`NAME.xml` under the config directory, with libvirt's warning
//! header), the autostart link, and the live status file
//! (`<networkstatus>` under the state directory) from which a restarted
//! daemon finds the running network again.

use std::path::Path;

use conf::network::NetworkFormatFlags;
use conf::NetworkDef;
use virterror::{ErrorCode, ErrorDomain, VirError};

use crate::fw::{self, Applied};

/// The system error libvirt reports for a file operation.
pub fn file_error(what: &str, path: &Path, e: &std::io::Error) -> VirError {
    VirError::new(
        ErrorCode::SystemError,
        ErrorDomain::Network,
        format!(
            "{what} '{}': {}",
            path.display(),
            virterror::os_error_text(e)
        ),
    )
}

fn host_error(what: &str, path: &Path, e: host::Error) -> VirError {
    VirError::new(
        ErrorCode::SystemError,
        ErrorDomain::Network,
        format!("{what} '{}': {e}", path.display()),
    )
}

/// virXMLSaveFile's header and the definition as `virsh net-dumpxml
/// --inactive` shows it.
pub fn config_text(def: &NetworkDef) -> String {
    format!(
        "<!--\nWARNING: THIS IS AN AUTO-GENERATED FILE. CHANGES TO IT ARE LIKELY TO BE\n\
         OVERWRITTEN AND LOST. Changes to this xml configuration should be made using:\n  \
         virsh net-edit {}\nor other application using the libvirt API.\n-->\n\n{}",
        def.name,
        def.to_xml(&NetworkFormatFlags { inactive: true })
    )
}

/// Writes `def`'s persistent config into `dir`.
pub fn save_config(dir: &Path, def: &NetworkDef) -> Result<(), VirError> {
    std::fs::create_dir_all(dir)
        .map_err(|e| file_error("cannot create config directory", dir, &e))?;
    let path = dir.join(format!("{}.xml", def.name));
    host::fs::write_atomic(&path, config_text(def).as_bytes(), 0o600)
        .map_err(|e| host_error("cannot save config file", &path, e))
}

/// The live status of a running network.
pub struct Status {
    pub def: NetworkDef,
    pub firewall: Option<Applied>,
}

/// virNetworkObjFormat plus the firewall state this driver needs to undo
/// its rules.
pub fn status_text(
    def: &NetworkDef,
    firewall: Option<&Applied>,
    ports: &[conf::network::port::NetworkPortDef],
) -> String {
    let mut s = format!(
        "<networkstatus>\n  <class_id bitmap='{}'/>\n  <floor sum='{}'/>\n",
        crate::ports::format_bitmap(&crate::ports::class_ids(ports)),
        crate::ports::floor_sum(ports)
    );
    if let Some(a) = firewall {
        s.push_str(&fw::format(a));
    }
    for line in def.to_xml(&NetworkFormatFlags::default()).lines() {
        s.push_str("  ");
        s.push_str(line);
        s.push('\n');
    }
    s.push_str("</networkstatus>\n");
    s
}

pub fn save_status(
    dir: &Path,
    def: &NetworkDef,
    firewall: Option<&Applied>,
    ports: &[conf::network::port::NetworkPortDef],
) -> Result<(), VirError> {
    std::fs::create_dir_all(dir).map_err(|e| file_error("cannot create directory", dir, &e))?;
    let path = dir.join(format!("{}.xml", def.name));
    host::fs::write_atomic(&path, status_text(def, firewall, ports).as_bytes(), 0o600)
        .map_err(|e| host_error("cannot save status file", &path, e))
}

/// Reads a status file back.
pub fn parse_status(text: &str) -> Result<Status, VirError> {
    let root = conf::xml::parse_document(text, "(network_status)", "networkstatus")
        .map_err(|e| e.in_domain(ErrorDomain::Network))?;
    let net = root.child("network").ok_or_else(|| {
        VirError::new(
            ErrorCode::InternalError,
            ErrorDomain::Network,
            "Could not find any 'network' element in status file",
        )
    })?;
    let def = NetworkDef::from_element(net).map_err(|e| e.in_domain(ErrorDomain::Network))?;
    let firewall = root.child("firewall").and_then(fw::parse);
    Ok(Status { def, firewall })
}

/// Reads a persistent config (a file whose name does not match the
/// network is refused, as libvirt does).
pub fn load_config(path: &Path, name: &str) -> Result<NetworkDef, VirError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| file_error("cannot read config file", path, &e))?;
    let def = NetworkDef::parse_str(&text).map_err(|e| e.in_domain(ErrorDomain::Network))?;
    if def.name != name {
        return Err(VirError::new(
            ErrorCode::InternalError,
            ErrorDomain::Network,
            format!(
                "Network config filename '{}' does not match network name '{}'",
                path.display(),
                def.name
            ),
        ));
    }
    Ok(def)
}

/// Removes a file, a missing one being fine.
pub fn remove_file(path: &Path) -> Result<(), VirError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(file_error("cannot remove config file", path, &e))
        }
        _ => Ok(()),
    }
}

// SPDX-License-Identifier: LGPL-2.1-or-later
//! The secret driver as virtstoraged reaches it: a client of virtsecretd's
//! socket that opens `secret:///system` and speaks the public remote
//! procedures, as libvirt's modular daemons do through their remote
//! driver. It is a [`driver::Connection`] for the calls that read a
//! volume's passphrase (lookup by UUID or usage, get value), so the storage
//! driver cannot tell it from libvirtd's in-process secret driver.
//!
//! Must not depend on any driver. One connection per opener call, one call
//! at a time; the connection is closed when dropped. The connection
//! forwards the caller's identity elevated by the host's system token, so
//! virtsecretd answers it a private secret's value, as it does libvirt's
//! storage driver and no ordinary client.
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use daemon_link::DaemonLink;
use driver::{Connection, NetworkOpener, Result, SecretRef};
use protocol::remote as r;

/// Procedure numbers of the remote program used here.
mod procs {
    pub const SECRET_LOOKUP_BY_UUID: i32 = 141;
    pub const SECRET_GET_VALUE: i32 = 145;
    pub const SECRET_LOOKUP_BY_USAGE: i32 = 147;
}

/// virtsecretd's socket, and the URI opened on it.
#[derive(Debug, Clone)]
pub struct RemoteSecrets {
    pub socket: PathBuf,
    pub uri: String,
}

impl RemoteSecrets {
    /// The secret daemon beside a modular daemon whose own socket is
    /// `own_socket` (`/run/libvirt/virtstoraged-sock` →
    /// `/run/libvirt/virtsecretd-sock`), opening `uri`.
    pub fn beside(own_socket: &Path, uri: &str) -> RemoteSecrets {
        RemoteSecrets {
            socket: daemon_link::socket_beside(own_socket, "virtsecretd"),
            uri: uri.to_string(),
        }
    }

    /// Connects, authenticates as libvirt's client does and opens the URI.
    pub fn connect(&self) -> Result<RemoteSecretConn> {
        Ok(RemoteSecretConn {
            uri: self.uri.clone(),
            // Elevated: the storage driver reads a volume's passphrase,
            // which a private secret gives to the host's daemons only.
            link: DaemonLink::open_elevated(&self.socket, &self.uri)?,
        })
    }

    /// The opener the storage driver is given.
    pub fn opener(self) -> NetworkOpener {
        Arc::new(move || Ok(Arc::new(self.connect()?) as Arc<dyn Connection>))
    }
}

/// One open connection to virtsecretd.
pub struct RemoteSecretConn {
    uri: String,
    link: DaemonLink,
}

fn secret_in(s: r::NonnullSecret) -> SecretRef {
    SecretRef {
        uuid: s.uuid,
        usage_type: s.usage_type,
        usage_id: s.usage_id,
    }
}

impl Connection for RemoteSecretConn {
    fn get_type(&self) -> &'static str {
        "secret"
    }
    fn uri(&self) -> String {
        self.uri.clone()
    }
    fn secret_lookup_by_uuid(&self, uuid: &[u8; 16]) -> Result<SecretRef> {
        let ret: r::SecretLookupByUuidRet = self.link.call(
            procs::SECRET_LOOKUP_BY_UUID,
            &r::SecretLookupByUuidArgs { uuid: *uuid },
        )?;
        Ok(secret_in(ret.secret))
    }
    fn secret_lookup_by_usage(&self, usage_type: i32, usage_id: &str) -> Result<SecretRef> {
        let ret: r::SecretLookupByUsageRet = self.link.call(
            procs::SECRET_LOOKUP_BY_USAGE,
            &r::SecretLookupByUsageArgs {
                usage_type,
                usage_id: usage_id.to_string(),
            },
        )?;
        Ok(secret_in(ret.secret))
    }
    fn secret_get_value(&self, secret: &SecretRef, flags: u32) -> Result<Vec<u8>> {
        let ret: r::SecretGetValueRet = self.link.call(
            procs::SECRET_GET_VALUE,
            &r::SecretGetValueArgs {
                secret: r::NonnullSecret {
                    uuid: secret.uuid,
                    usage_type: secret.usage_type,
                    usage_id: secret.usage_id.clone(),
                },
                flags,
            },
        )?;
        Ok(ret.value.0)
    }
}

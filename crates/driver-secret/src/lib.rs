// SPDX-License-Identifier: LGPL-2.1-or-later
//! The secret driver's state: the secrets a daemon keeps and their values.
//!
//! Role: libvirt's secret driver behind `secret:///system` (and the secret
//! calls of a hypervisor connection): define, undefine, lookup by UUID or
//! usage, listing with libvirt's filters, XML, and the value, with
//! libvirt's rules: a UUID keeps its usage, a usage belongs to one UUID, a
//! private secret stays private, ephemeral secrets live in memory only.
//! Persistent secrets are `DIR/UUID.xml` with their value in
//! `DIR/UUID.base64` (DIR is `/etc/libvirt/secrets` for a root daemon),
//! both written atomically, owner-only, as libvirt writes them, and read
//! back when the driver starts.
//!
//! Must not depend on: rpc, dispatch, protocol. Errors are `virterror`
//! errors from the secret domain; file I/O goes through `host::fs`.
//!
//! Invariants: the table is changed under one lock, and a definition or
//! value is in memory only once it is on disk (for persistent secrets);
//! a failed define or set leaves the previous state.
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use base64::Engine as _;
use conf::secret::{SecretDef, UsageType};
use virterror::{ErrorCode, ErrorDomain, VirError};

pub use driver::SecretRef;

/// Listing filters (VIR_CONNECT_LIST_SECRETS_*).
pub mod list {
    pub const EPHEMERAL: u32 = 1 << 0;
    pub const NO_EPHEMERAL: u32 = 1 << 1;
    pub const PRIVATE: u32 = 1 << 2;
    pub const NO_PRIVATE: u32 = 1 << 3;
    pub const ALL: u32 = EPHEMERAL | NO_EPHEMERAL | PRIVATE | NO_PRIVATE;
}

/// VIR_SECRET_DEFINE_VALIDATE.
pub const DEFINE_VALIDATE: u32 = 1 << 0;

/// A change clients can be told about (virConnectSecretEvent*).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretEvent {
    /// VIR_SECRET_EVENT_DEFINED (0) / VIR_SECRET_EVENT_UNDEFINED (1).
    Lifecycle { secret: SecretRef, event: i32 },
    /// The value was set.
    ValueChanged { secret: SecretRef },
}

type Result<T> = std::result::Result<T, VirError>;

struct Secret {
    def: SecretDef,
    value: Option<Vec<u8>>,
}

impl Secret {
    fn reference(&self) -> SecretRef {
        SecretRef {
            uuid: self.def.uuid.0,
            usage_type: self.def.usage_type.number(),
            usage_id: self.def.usage_id.clone(),
        }
    }
}

/// The driver: a table of secrets and, for persistent ones, a directory.
pub struct SecretDriver {
    dir: PathBuf,
    secrets: Mutex<Vec<Secret>>,
    /// Where the connections' clients hear of changes.
    events: driver::EventBus,
}

fn err(code: ErrorCode, detail: impl Into<String>) -> VirError {
    VirError::new(code, ErrorDomain::Secret, detail)
}

fn uuid_str(u: &[u8; 16]) -> String {
    conf::Uuid(*u).to_string()
}

fn no_uuid(u: &[u8; 16]) -> VirError {
    err(
        ErrorCode::NoSecret,
        format!("no secret with matching uuid '{}'", uuid_str(u)),
    )
}

/// Mode of the definition and value files.
const FILE_MODE: u32 = 0o600;

impl SecretDriver {
    /// The driver on `dir`, with the persistent secrets found there
    /// (files that cannot be read or whose UUID does not match their
    /// name are skipped, saying why on stderr, as libvirt logs them).
    pub fn new(dir: impl Into<PathBuf>) -> SecretDriver {
        let d = SecretDriver {
            dir: dir.into(),
            secrets: Mutex::new(Vec::new()),
            events: driver::EventBus::new(),
        };
        d.load();
        d
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Secret>> {
        self.secrets.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn xml_path(&self, u: &[u8; 16]) -> PathBuf {
        self.dir.join(format!("{}.xml", uuid_str(u)))
    }

    fn value_path(&self, u: &[u8; 16]) -> PathBuf {
        self.dir.join(format!("{}.base64", uuid_str(u)))
    }

    fn load(&self) {
        let Ok(rd) = std::fs::read_dir(&self.dir) else {
            return;
        };
        let mut files: Vec<PathBuf> = rd
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "xml"))
            .collect();
        files.sort();
        let mut table = self.lock();
        for p in files {
            match self.load_one(&p) {
                Ok(s) => table.push(s),
                Err(e) => eprintln!("Error reading secret: {}", e.message()),
            }
        }
    }

    fn load_one(&self, path: &Path) -> Result<Secret> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            err(
                ErrorCode::SystemError,
                format!("cannot open '{}': {e}", path.display()),
            )
        })?;
        let def = SecretDef::parse_str(&text).map_err(|e| e.in_domain(ErrorDomain::Secret))?;
        let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned());
        if stem.as_deref() != Some(def.uuid.to_string().as_str()) {
            return Err(err(
                ErrorCode::InternalError,
                format!(
                    "<uuid> does not match secret file name '{}'",
                    path.display()
                ),
            ));
        }
        let value = match std::fs::read_to_string(self.value_path(&def.uuid.0)) {
            Ok(b64) => Some(
                base64::engine::general_purpose::STANDARD
                    .decode(b64.trim())
                    .map_err(|_| {
                        err(
                            ErrorCode::InternalError,
                            format!("invalid secret value in '{}'", path.display()),
                        )
                    })?,
            ),
            Err(_) => None,
        };
        Ok(Secret { def, value })
    }

    fn write(&self, path: &Path, data: &[u8]) -> Result<()> {
        std::fs::create_dir_all(&self.dir).map_err(|e| {
            err(
                ErrorCode::SystemError,
                format!(
                    "cannot create config directory '{}': {e}",
                    self.dir.display()
                ),
            )
        })?;
        host::fs::write_atomic(path, data, FILE_MODE).map_err(|e| {
            err(
                ErrorCode::SystemError,
                format!("cannot write '{}': {}", path.display(), e.into_io()),
            )
        })
    }

    fn save_value(&self, u: &[u8; 16], value: &[u8]) -> Result<()> {
        let b64 = base64::engine::general_purpose::STANDARD.encode(value);
        self.write(&self.value_path(u), b64.as_bytes())
    }

    fn remove_files(&self, u: &[u8; 16]) {
        let _ = std::fs::remove_file(self.xml_path(u));
        let _ = std::fs::remove_file(self.value_path(u));
    }

    /// Tells the subscribed clients of `ev` (after the change is made;
    /// never under the table's lock).
    pub fn publish(&self, ev: SecretEvent) {
        self.events.publish(match ev {
            SecretEvent::Lifecycle { secret, event } => driver::Event::SecretLifecycle {
                secret,
                event,
                detail: 0,
            },
            SecretEvent::ValueChanged { secret } => driver::Event::SecretValueChanged { secret },
        });
    }

    /// virConnectNumOfSecrets.
    pub fn count(&self) -> usize {
        self.lock().len()
    }

    /// virConnectListAllSecrets with libvirt's filters.
    pub fn list_all(&self, flags: u32) -> Result<Vec<SecretRef>> {
        VirError::check_flags(flags, list::ALL, "secretConnectListAllSecrets")?;
        let pick = |flag_yes: u32, flag_no: u32, v: bool| {
            flags & (flag_yes | flag_no) == 0
                || (flags & flag_yes != 0 && v)
                || (flags & flag_no != 0 && !v)
        };
        Ok(self
            .lock()
            .iter()
            .filter(|s| pick(list::EPHEMERAL, list::NO_EPHEMERAL, s.def.ephemeral))
            .filter(|s| pick(list::PRIVATE, list::NO_PRIVATE, s.def.private))
            .map(Secret::reference)
            .collect())
    }

    /// virSecretLookupByUUID.
    pub fn lookup_uuid(&self, u: &[u8; 16]) -> Result<SecretRef> {
        self.lock()
            .iter()
            .find(|s| s.def.uuid.0 == *u)
            .map(Secret::reference)
            .ok_or_else(|| no_uuid(u))
    }

    /// virSecretLookupByUsage.
    pub fn lookup_usage(&self, usage_type: i32, usage_id: &str) -> Result<SecretRef> {
        let ty = UsageType::from_number(usage_type);
        self.lock()
            .iter()
            .find(|s| {
                Some(s.def.usage_type) == ty
                    && s.def.usage_type != UsageType::None
                    && s.def.usage_id == usage_id
            })
            .map(Secret::reference)
            .ok_or_else(|| {
                err(
                    ErrorCode::NoSecret,
                    format!("no secret with matching usage '{usage_id}'"),
                )
            })
    }

    /// virSecretDefineXML: a new secret, or a new definition of the
    /// secret with that UUID (same usage; a private one stays private).
    pub fn define(&self, xml: &str, flags: u32) -> Result<(SecretRef, SecretEvent)> {
        VirError::check_flags(flags, DEFINE_VALIDATE, "secretDefineXML")?;
        let def = SecretDef::parse_str(xml).map_err(|e| e.in_domain(ErrorDomain::Secret))?;
        let u = def.uuid.0;
        let mut table = self.lock();
        let existing = table.iter().position(|s| s.def.uuid.0 == u);
        match existing {
            Some(i) => {
                let old = &table[i].def;
                if old.usage_id != def.usage_id {
                    return Err(err(
                        ErrorCode::InternalError,
                        format!(
                            "a secret with UUID {} is already defined for use with {}",
                            uuid_str(&u),
                            old.usage_id
                        ),
                    ));
                }
                if old.private && !def.private {
                    return Err(err(
                        ErrorCode::InternalError,
                        "cannot change private flag on existing secret",
                    ));
                }
            }
            None => {
                if def.usage_type != UsageType::None {
                    if let Some(other) = table.iter().find(|s| {
                        s.def.usage_type == def.usage_type && s.def.usage_id == def.usage_id
                    }) {
                        return Err(err(
                            ErrorCode::InternalError,
                            format!(
                                "a secret with UUID {} already defined for use with {}",
                                other.def.uuid, def.usage_id
                            ),
                        ));
                    }
                }
            }
        }
        let was_ephemeral = existing.map(|i| table[i].def.ephemeral);
        let value = existing.and_then(|i| table[i].value.clone());
        if !def.ephemeral {
            // An ephemeral secret becoming persistent takes its value to
            // disk first; the definition is written last.
            if was_ephemeral == Some(true) {
                if let Some(v) = &value {
                    self.save_value(&u, v)?;
                }
            }
            if let Err(e) = self.write(&self.xml_path(&u), def.to_xml().as_bytes()) {
                if was_ephemeral == Some(true) {
                    let _ = std::fs::remove_file(self.value_path(&u));
                }
                return Err(e);
            }
        } else if was_ephemeral == Some(false) {
            self.remove_files(&u);
        }
        let secret = Secret { def, value };
        let r = secret.reference();
        match existing {
            Some(i) => table[i] = secret,
            None => table.push(secret),
        }
        Ok((
            r.clone(),
            SecretEvent::Lifecycle {
                secret: r,
                event: 0,
            },
        ))
    }

    /// virSecretGetXMLDesc.
    pub fn xml(&self, u: &[u8; 16], flags: u32) -> Result<String> {
        VirError::check_flags(flags, 0, "secretGetXMLDesc")?;
        self.lock()
            .iter()
            .find(|s| s.def.uuid.0 == *u)
            .map(|s| s.def.to_xml())
            .ok_or_else(|| no_uuid(u))
    }

    /// virSecretSetValue.
    pub fn set_value(&self, u: &[u8; 16], value: &[u8], flags: u32) -> Result<SecretEvent> {
        VirError::check_flags(flags, 0, "secretSetValue")?;
        let mut table = self.lock();
        let s = table
            .iter_mut()
            .find(|s| s.def.uuid.0 == *u)
            .ok_or_else(|| no_uuid(u))?;
        if !s.def.ephemeral {
            self.save_value(u, value)?;
        }
        s.value = Some(value.to_vec());
        Ok(SecretEvent::ValueChanged {
            secret: s.reference(),
        })
    }

    /// virSecretGetValue. `elevated`: the caller runs with the daemon's
    /// own credentials inside its process (only such a caller reads a
    /// private secret; a client over the RPC layer never does, as with
    /// libvirt, whatever its user).
    pub fn get_value(&self, u: &[u8; 16], flags: u32, elevated: bool) -> Result<Vec<u8>> {
        VirError::check_flags(flags, 0, "secretGetValue")?;
        let table = self.lock();
        let s = table
            .iter()
            .find(|s| s.def.uuid.0 == *u)
            .ok_or_else(|| no_uuid(u))?;
        if s.def.private && !elevated {
            return Err(err(ErrorCode::InvalidSecret, "secret is private"));
        }
        s.value.clone().ok_or_else(|| {
            err(
                ErrorCode::NoSecret,
                format!("secret '{}' does not have a value", uuid_str(u)),
            )
        })
    }

    /// virSecretUndefine.
    pub fn undefine(&self, u: &[u8; 16]) -> Result<SecretEvent> {
        let mut table = self.lock();
        let i = table
            .iter()
            .position(|s| s.def.uuid.0 == *u)
            .ok_or_else(|| no_uuid(u))?;
        let xml = self.xml_path(u);
        if !table[i].def.ephemeral {
            if let Err(e) = std::fs::remove_file(&xml) {
                if e.kind() != std::io::ErrorKind::NotFound {
                    return Err(err(
                        ErrorCode::SystemError,
                        format!("cannot unlink '{}': {e}", xml.display()),
                    ));
                }
            }
            let _ = std::fs::remove_file(self.value_path(u));
        }
        let s = table.remove(i);
        Ok(SecretEvent::Lifecycle {
            secret: s.reference(),
            event: 1,
        })
    }
}

/// The factory a daemon registers: claims `secret:///system` (and
/// `secret:///session`) and opens connections onto one shared driver.
pub struct SecretFactory {
    driver: std::sync::Arc<SecretDriver>,
    privileged: bool,
}

impl SecretFactory {
    /// A factory whose driver keeps its persistent secrets in `dir`.
    pub fn new(dir: impl Into<PathBuf>, privileged: bool) -> SecretFactory {
        SecretFactory {
            driver: std::sync::Arc::new(SecretDriver::new(dir)),
            privileged,
        }
    }

    /// The driver behind the connections.
    pub fn driver(&self) -> &std::sync::Arc<SecretDriver> {
        &self.driver
    }

    /// How another driver of this daemon reads secret values (the storage
    /// driver, for an encrypted volume's passphrase): connections running
    /// with the daemon's own credentials, so private secrets are readable
    /// to them as to libvirt's drivers, never to a client.
    pub fn internal_opener(&self, uri: &str) -> driver::NetworkOpener {
        let driver = self.driver.clone();
        let uri = uri.to_string();
        std::sync::Arc::new(move || {
            Ok(std::sync::Arc::new(SecretConnection {
                driver: driver.clone(),
                uri: uri.clone(),
                elevated: true,
            }) as std::sync::Arc<dyn driver::Connection>)
        })
    }
}

impl driver::DriverFactory for SecretFactory {
    fn name(&self) -> &'static str {
        "secret"
    }

    fn claims(&self, uri: &driver::Uri) -> bool {
        uri.scheme == "secret"
    }

    fn uses_shared_network(&self) -> bool {
        false
    }

    fn open(
        &self,
        uri: &driver::Uri,
        _auth: &driver::ConnectAuth,
    ) -> driver::Result<std::sync::Arc<dyn driver::Connection>> {
        let want = if self.privileged {
            "/system"
        } else {
            "/session"
        };
        if uri.path != want {
            // libvirt's check of a driver URI's path (from no domain).
            return Err(VirError::new(
                ErrorCode::InternalError,
                ErrorDomain::None,
                format!(
                    "unexpected secret URI path '{}', try secret://{want}",
                    uri.path
                ),
            ));
        }
        Ok(std::sync::Arc::new(SecretConnection {
            driver: self.driver.clone(),
            uri: format!("secret://{want}"),
            elevated: false,
        }))
    }
}

/// A client's connection to the secret driver.
pub struct SecretConnection {
    driver: std::sync::Arc<SecretDriver>,
    uri: String,
    /// Runs with the daemon's own credentials (reads private secrets).
    elevated: bool,
}

impl SecretConnection {
    /// A connection onto `driver` (for daemons that answer the secret
    /// calls of their other connections with it).
    pub fn new(driver: std::sync::Arc<SecretDriver>, uri: impl Into<String>) -> Self {
        SecretConnection {
            driver,
            uri: uri.into(),
            elevated: false,
        }
    }
}

impl driver::Connection for SecretConnection {
    fn get_type(&self) -> &'static str {
        "secret"
    }

    fn uri(&self) -> String {
        self.uri.clone()
    }

    fn subscribe(&self, sink: driver::EventSink) -> Option<u64> {
        Some(self.driver.events.subscribe(sink))
    }

    fn unsubscribe(&self, token: u64) {
        self.driver.events.unsubscribe(token);
    }

    fn list_all_secrets(&self, flags: u32) -> driver::Result<Vec<SecretRef>> {
        self.driver.list_all(flags)
    }

    fn secret_lookup_by_uuid(&self, uuid: &[u8; 16]) -> driver::Result<SecretRef> {
        self.driver.lookup_uuid(uuid)
    }

    fn secret_lookup_by_usage(&self, usage_type: i32, usage_id: &str) -> driver::Result<SecretRef> {
        self.driver.lookup_usage(usage_type, usage_id)
    }

    fn secret_define_xml(&self, xml: &str, flags: u32) -> driver::Result<SecretRef> {
        let (r, ev) = self.driver.define(xml, flags)?;
        self.driver.publish(ev);
        Ok(r)
    }

    fn secret_get_xml_desc(&self, secret: &SecretRef, flags: u32) -> driver::Result<String> {
        self.driver.xml(&secret.uuid, flags)
    }

    fn secret_set_value(&self, secret: &SecretRef, value: &[u8], flags: u32) -> driver::Result<()> {
        let ev = self.driver.set_value(&secret.uuid, value, flags)?;
        self.driver.publish(ev);
        Ok(())
    }

    fn secret_get_value(&self, secret: &SecretRef, flags: u32) -> driver::Result<Vec<u8>> {
        // A private secret's value goes to this daemon's own drivers and
        // to a caller whose forwarded identity carries the host's system
        // token (another daemon acting for its client), to no one else.
        let elevated = self.elevated || driver::identity::is_current_elevated();
        self.driver.get_value(&secret.uuid, flags, elevated)
    }

    fn secret_undefine(&self, secret: &SecretRef) -> driver::Result<()> {
        let ev = self.driver.undefine(&secret.uuid)?;
        self.driver.publish(ev);
        Ok(())
    }
}

// SPDX-License-Identifier: LGPL-2.1-or-later
//! The TLS listener's credentials: the server certificate and key, the CA
//! that client certificates must chain to, an optional revocation list,
//! the `tls_allowed_dn_list` check on the client's subject, and the
//! protocol versions and cipher suites `tls_priority` selects.
//!
//! File problems are reported the way libvirtd reports them
//! ("Cannot read CA certificate '<path>': <reason>") and stop start-up, as
//! does a `tls_priority` element this implementation cannot honour
//! ([`priority`]).
//!
//! The client's certificate is asked for during the handshake, but its
//! chain (CA, revocation, validity) and subject are judged once the
//! handshake is over, before the one-byte acceptance libvirt clients wait
//! for, as libvirt does. A refused client then reads a plain end of
//! stream ("Unable to read TLS confirmation") instead of a connection
//! reset in the middle of its last handshake flight, which can kill the
//! client with SIGPIPE. With `tls_no_verify_certificate` nothing is judged:
//! libvirt lets such a client in whatever the checks say, and does not
//! apply `tls_allowed_dn_list` either.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use daemon_support::log as dlog;
use daemon_support::DaemonConfig;
use rpc::tokio_rustls::rustls;
use rpc::tokio_rustls::TlsAcceptor;
use rustls::client::danger::HandshakeSignatureValid;
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::WebPkiClientVerifier;
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};

use crate::DaemonContext;

/// The chain check of the files last (re)loaded: the CA and the CRLs.
type ChainCheck = Arc<dyn ClientCertVerifier>;

/// What the TLS listener needs: the handshake side and the check run on
/// the client's certificate chain once the handshake is done, and a way to
/// read the files again (virt-admin server-update-tls).
pub struct TlsSetup {
    pub acceptor: rpc::SharedAcceptor,
    pub on_peer: rpc::PeerCheck,
    chain_check: Arc<RwLock<ChainCheck>>,
    rebuild: Arc<dyn Fn() -> Result<(TlsAcceptor, ChainCheck), String> + Send + Sync>,
}

impl TlsSetup {
    /// Reads the certificate, key, CA and CRL files again from the paths
    /// the configuration names; connections accepted from now on use them.
    /// On failure the credentials in use stay as they are.
    pub fn reload(&self) -> Result<(), String> {
        let (acceptor, check) = (self.rebuild)()?;
        match self.acceptor.write() {
            Ok(mut a) => *a = acceptor,
            Err(p) => *p.into_inner() = acceptor,
        }
        match self.chain_check.write() {
            Ok(mut c) => *c = check,
            Err(p) => *p.into_inner() = check,
        }
        Ok(())
    }
}

/// Loads the files named by `ca_file`, `cert_file`, `key_file` and
/// `crl_file` (or the default PKI locations) and builds the server side.
pub fn load(ctx: &DaemonContext, config: &DaemonConfig) -> Result<TlsSetup, String> {
    let (acceptor, check) = build_acceptor(ctx, config)?;
    let chain_check = Arc::new(RwLock::new(check));
    let on_peer: rpc::PeerCheck = if config.tls_no_verify_certificate {
        Arc::new(|_: &[Vec<u8>]| true)
    } else {
        let allowed = config.tls_allowed_dn_list.clone();
        let current = chain_check.clone();
        Arc::new(move |chain: &[Vec<u8>]| {
            let check = match current.read() {
                Ok(c) => c.clone(),
                Err(p) => p.into_inner().clone(),
            };
            match peer_verdict(check.as_ref(), allowed.as_deref(), chain) {
                Ok(()) => true,
                Err(why) => {
                    dlog::log(
                        dlog::Priority::Warning,
                        "daemon.tls",
                        format_args!("client certificate refused: {why}"),
                    );
                    false
                }
            }
        })
    };
    let (ctx, config) = (ctx.clone(), config.clone());
    Ok(TlsSetup {
        acceptor: Arc::new(RwLock::new(acceptor)),
        on_peer,
        chain_check,
        rebuild: Arc::new(move || build_acceptor(&ctx, &config)),
    })
}

/// Whether the client with certificate chain `chain` (DER, leaf first)
/// may in: the chain leads to the CA, nothing in it is revoked, and the
/// leaf's subject matches `tls_allowed_dn_list` if one is set.
fn peer_verdict(
    check: &dyn ClientCertVerifier,
    allowed: Option<&[String]>,
    chain: &[Vec<u8>],
) -> Result<(), String> {
    let (leaf, rest) = chain
        .split_first()
        .ok_or("the client sent no certificate")?;
    let intermediates: Vec<CertificateDer<'_>> = rest
        .iter()
        .map(|c| CertificateDer::from(c.as_slice()))
        .collect();
    check
        .verify_client_cert(
            &CertificateDer::from(leaf.as_slice()),
            &intermediates,
            UnixTime::now(),
        )
        .map_err(|e| e.to_string())?;
    if let Some(list) = allowed {
        let dn = dn::subject_dn(leaf).ok_or("its subject cannot be read")?;
        if !list.iter().any(|pat| dn::glob_match(pat, &dn)) {
            return Err(format!("'{dn}' is not in tls_allowed_dn_list"));
        }
    }
    Ok(())
}

/// The handshake side of the client certificate check: asks for a
/// certificate (naming the CA, as the strict check would) and checks the
/// client's signature with it, but leaves the chain to [`peer_verdict`]
/// after the handshake.
#[derive(Debug)]
struct AskOnly(ChainCheck);

impl ClientCertVerifier for AskOnly {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.0.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

fn read_file(what: &str, path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| {
        let reason = std::io::Error::from_raw_os_error(e.raw_os_error().unwrap_or(libc::EIO));
        let text = virterror::os_error_text(&reason);
        format!("Cannot read {what} '{}': {text}", path.display())
    })
}

fn pem_certs(what: &str, path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let data = read_file(what, path)?;
    let certs: Vec<_> = rustls_pemfile::certs(&mut data.as_slice())
        .collect::<Result<_, _>>()
        .map_err(|e| format!("Unable to import {what} '{}': {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!(
            "Unable to import {what} '{}': no PEM certificate found",
            path.display()
        ));
    }
    Ok(certs)
}

fn pick(set: &Option<String>, default: &Path) -> PathBuf {
    match set {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => default.to_path_buf(),
    }
}

/// The revocation list to load, if any: `crl_file` when set, else, when
/// none of `ca_file`, `cert_file` and `key_file` is set either, `cacrl.pem`
/// beside the default CA certificate. As in libvirt, a list that does not
/// exist is skipped rather than an error.
fn crl_path(ctx: &DaemonContext, config: &DaemonConfig) -> Option<PathBuf> {
    let set = |o: &Option<String>| o.as_deref().is_some_and(|s| !s.is_empty());
    let path = if set(&config.crl_file) {
        PathBuf::from(config.crl_file.as_deref().unwrap_or_default())
    } else if !set(&config.ca_file) && !set(&config.cert_file) && !set(&config.key_file) {
        ctx.paths.tls_ca_cert.with_file_name("cacrl.pem")
    } else {
        return None;
    };
    if path.exists() {
        Some(path)
    } else {
        dlog::log(
            dlog::Priority::Debug,
            "daemon.tls",
            format_args!("no CA revocation list at {}: none loaded", path.display()),
        );
        None
    }
}

/// The handshake side and the chain check from the files the
/// configuration names.
fn build_acceptor(
    ctx: &DaemonContext,
    config: &DaemonConfig,
) -> Result<(TlsAcceptor, ChainCheck), String> {
    // The setting is checked first: it is wrong whatever the files hold.
    let priority = match config.tls_priority.as_deref() {
        Some(s) => Some(priority::parse(s)?),
        None => None,
    };
    let ca_path = pick(&config.ca_file, &ctx.paths.tls_ca_cert);
    let cert_path = pick(&config.cert_file, &ctx.paths.tls_server_cert);
    let key_path = pick(&config.key_file, &ctx.paths.tls_server_key);

    let ca = pem_certs("CA certificate", &ca_path)?;
    let certs = pem_certs("certificate", &cert_path)?;
    let key_pem = read_file("private key", &key_path)?;
    let key: PrivateKeyDer<'static> = rustls_pemfile::private_key(&mut key_pem.as_slice())
        .map_err(|e| format!("Unable to import private key '{}': {e}", key_path.display()))?
        .ok_or_else(|| {
            format!(
                "Unable to import private key '{}': no PEM private key found",
                key_path.display()
            )
        })?;
    let mut crls: Vec<CertificateRevocationListDer<'static>> = Vec::new();
    if let Some(crl_path) = crl_path(ctx, config) {
        let data = read_file("CA revocation list", &crl_path)?;
        crls = rustls_pemfile::crls(&mut data.as_slice())
            .collect::<Result<_, _>>()
            .map_err(|e| {
                format!(
                    "Unable to import CA revocation list '{}': {e}",
                    crl_path.display()
                )
            })?;
    }

    let mut provider = rustls::crypto::ring::default_provider();
    if let Some(p) = &priority {
        provider.cipher_suites = p.suites();
        provider.kx_groups = p.kx_groups();
    }
    let provider = Arc::new(provider);
    let mut roots = rustls::RootCertStore::empty();
    for c in ca {
        roots.add(c).map_err(|e| {
            format!(
                "Unable to import CA certificate '{}': {e}",
                ca_path.display()
            )
        })?;
    }
    // As GnuTLS checks CRLs: every certificate of the chain against the
    // lists its issuer published, a certificate no list speaks for is not
    // revoked, and a list past its next update still counts (rustls's
    // default there).
    let check: ChainCheck =
        WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .with_crls(crls)
            .allow_unknown_revocation_status()
            .build()
            .map_err(|e| format!("Unable to set up client certificate checks: {e}"))?;
    let versions = match &priority {
        Some(p) => p.protocol_versions(),
        None => rustls::DEFAULT_VERSIONS.to_vec(),
    };
    let server = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&versions)
        .map_err(|e| format!("Unable to set up TLS: {e}"))?
        .with_client_cert_verifier(Arc::new(AskOnly(check.clone())))
        .with_single_cert(certs, key)
        .map_err(|e| {
            format!(
                "Unable to use certificate '{}' with key '{}': {e}",
                cert_path.display(),
                key_path.display()
            )
        })?;

    // No TLS 1.3 session tickets: libvirt clients read the one-byte
    // acceptance right after the handshake and take a ticket arriving
    // first for a failed read. Resumption is not used by them anyway.
    let mut server = server;
    server.send_tls13_tickets = 0;
    server.ignore_client_order = priority.is_some_and(|p| p.server_precedence);

    Ok((TlsAcceptor::from(Arc::new(server)), check))
}

/// `tls_priority`: the part of GnuTLS's priority-string syntax that maps
/// onto what rustls (ring provider) can offer. Anything else is refused
/// with an error naming the element, so a setting is never silently
/// ignored.
///
/// Grammar: elements separated by `:`; the first is a base keyword
/// (case-insensitive), each later one is `+NAME` (append), `-NAME` or
/// `!NAME` (remove) or `%FLAG` (case-sensitive), as in GnuTLS.
///
/// Base keywords, with GnuTLS's meaning cut down to rustls's suites
/// (AEAD only, ECDHE only) and groups (x25519, secp256r1, secp384r1):
///
/// | keyword | ciphers, in order | groups |
/// |---|---|---|
/// | `NORMAL`, `PFS`, `SECURE128`, `SECURE` | AES-256-GCM, CHACHA20-POLY1305, AES-128-GCM | all three |
/// | `PERFORMANCE` | AES-128-GCM, AES-256-GCM, CHACHA20-POLY1305 | all three |
/// | `SECURE192`, `SECURE256` | AES-256-GCM, CHACHA20-POLY1305 | secp384r1 |
///
/// Every keyword enables TLS 1.3 and 1.2 and both TLS 1.2 key exchanges
/// (ECDHE-ECDSA, ECDHE-RSA). `PFS` differs from `NORMAL` in GnuTLS only by
/// dropping RSA key exchange, which rustls never offers; `SECURE` is
/// GnuTLS's alias of `SECURE128` and `SECURE256` of `SECURE192`. What the
/// levels also set in GnuTLS beyond ciphers, versions and groups (the
/// handshake signature algorithms, the certificate verification
/// profile's minimum key sizes) is not mapped.
///
/// Later elements:
/// - `±VERS-TLS1.2`, `±VERS-TLS1.3`; `-VERS-ALL`, `-VERS-TLS-ALL`;
/// - `±AES-256-GCM`, `±AES-128-GCM`, `±CHACHA20-POLY1305`; `-CIPHER-ALL`;
/// - `±ECDHE-ECDSA`, `±ECDHE-RSA` (TLS 1.2 suites only, as in GnuTLS);
///   `-KX-ALL`;
/// - `±GROUP-X25519`, `±GROUP-SECP256R1`, `±GROUP-SECP384R1` (or
///   `CURVE-…`); `-GROUP-ALL`, `-CURVE-ALL`;
/// - `%SERVER_PRECEDENCE`: the server's order picks the cipher suite
///   (rustls's `ignore_client_order`; by default, in GnuTLS and rustls
///   alike, the client's order does);
/// - removing what rustls never offers is accepted and changes nothing:
///   `-VERS-SSL3.0`, `-VERS-TLS1.0`, `-VERS-TLS1.1`, `-VERS-DTLS1.0`,
///   `-VERS-DTLS1.2`, `-VERS-DTLS-ALL`, `-AES-128-CBC`, `-AES-256-CBC`,
///   `-AES-128-CCM`, `-AES-256-CCM`, `-3DES-CBC`, `-ARCFOUR-128`, `-RSA`,
///   `-DHE-RSA`, `-DHE-DSS`, `-SHA1`, `-MD5`, `-GROUP-SECP521R1`,
///   `-GROUP-X448`, `-GROUP-FFDHE2048` … `-GROUP-FFDHE8192`,
///   `-CURVE-SECP521R1`, `-CURVE-X448`.
///
/// A string leaving no protocol version, no cipher suite or no key
/// exchange group is refused too.
pub mod priority {
    use rpc::tokio_rustls::rustls;
    use rustls::crypto::ring::{cipher_suite as cs, kx_group};
    use rustls::crypto::SupportedKxGroup;
    use rustls::{SupportedCipherSuite, SupportedProtocolVersion};

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Version {
        Tls13,
        Tls12,
    }

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Cipher {
        Aes256Gcm,
        Chacha20Poly1305,
        Aes128Gcm,
    }

    /// TLS 1.2 key exchange (and with it the server key type).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Kx {
        EcdheEcdsa,
        EcdheRsa,
    }

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Group {
        Secp256r1,
        Secp384r1,
        X25519,
    }

    /// What a priority string selects.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Priority {
        pub versions: Vec<Version>,
        pub ciphers: Vec<Cipher>,
        pub kx: Vec<Kx>,
        pub groups: Vec<Group>,
        pub server_precedence: bool,
    }

    /// The supported subset, for error messages.
    const SUPPORTED: &str = "supported: a first element NORMAL, PERFORMANCE, PFS, SECURE128, \
        SECURE, SECURE192 or SECURE256, then +/-VERS-TLS1.2, +/-VERS-TLS1.3, -VERS-ALL, \
        -VERS-TLS-ALL, +/-AES-256-GCM, +/-AES-128-GCM, +/-CHACHA20-POLY1305, -CIPHER-ALL, \
        +/-ECDHE-ECDSA, +/-ECDHE-RSA, -KX-ALL, +/-GROUP-X25519, +/-GROUP-SECP256R1, \
        +/-GROUP-SECP384R1, -GROUP-ALL, %SERVER_PRECEDENCE, and removal of what is never \
        offered (-VERS-TLS1.0, -VERS-TLS1.1, -VERS-SSL3.0, -RSA, -DHE-RSA, -SHA1, \
        -3DES-CBC, -AES-128-CBC, ...)";

    /// One named thing a `+`/`-` element acts on.
    enum Item {
        Version(Version),
        AllVersions,
        Cipher(Cipher),
        AllCiphers,
        Kx(Kx),
        AllKx,
        Group(Group),
        AllGroups,
        /// Something rustls never offers: removing it changes nothing.
        NeverOffered,
    }

    fn item(name: &str) -> Option<Item> {
        let name = name.to_ascii_uppercase();
        let name = name.as_str();
        // CURVE-* is GnuTLS's older spelling of GROUP-*.
        let group = name
            .strip_prefix("GROUP-")
            .or_else(|| name.strip_prefix("CURVE-"));
        if let Some(g) = group {
            return Some(match g {
                "X25519" => Item::Group(Group::X25519),
                "SECP256R1" => Item::Group(Group::Secp256r1),
                "SECP384R1" => Item::Group(Group::Secp384r1),
                "ALL" => Item::AllGroups,
                "SECP521R1" | "X448" => Item::NeverOffered,
                "FFDHE2048" | "FFDHE3072" | "FFDHE4096" | "FFDHE6144" | "FFDHE8192"
                    if name.starts_with("GROUP-") =>
                {
                    Item::NeverOffered
                }
                _ => return None,
            });
        }
        Some(match name {
            "VERS-TLS1.3" => Item::Version(Version::Tls13),
            "VERS-TLS1.2" => Item::Version(Version::Tls12),
            "VERS-ALL" | "VERS-TLS-ALL" => Item::AllVersions,
            "VERS-SSL3.0" | "VERS-TLS1.0" | "VERS-TLS1.1" | "VERS-DTLS1.0" | "VERS-DTLS1.2"
            | "VERS-DTLS-ALL" => Item::NeverOffered,
            "AES-256-GCM" => Item::Cipher(Cipher::Aes256Gcm),
            "AES-128-GCM" => Item::Cipher(Cipher::Aes128Gcm),
            "CHACHA20-POLY1305" => Item::Cipher(Cipher::Chacha20Poly1305),
            "CIPHER-ALL" => Item::AllCiphers,
            "AES-128-CBC" | "AES-256-CBC" | "AES-128-CCM" | "AES-256-CCM" | "3DES-CBC"
            | "ARCFOUR-128" => Item::NeverOffered,
            "ECDHE-ECDSA" => Item::Kx(Kx::EcdheEcdsa),
            "ECDHE-RSA" => Item::Kx(Kx::EcdheRsa),
            "KX-ALL" => Item::AllKx,
            "RSA" | "DHE-RSA" | "DHE-DSS" => Item::NeverOffered,
            "SHA1" | "MD5" => Item::NeverOffered,
            _ => return None,
        })
    }

    /// Appends `v` unless present (GnuTLS's `+`).
    fn add<T: PartialEq>(list: &mut Vec<T>, v: T) {
        if !list.contains(&v) {
            list.push(v);
        }
    }

    fn base(keyword: &str) -> Option<Priority> {
        use Cipher::*;
        let all_groups = vec![Group::Secp256r1, Group::Secp384r1, Group::X25519];
        let (ciphers, groups) = match keyword.to_ascii_uppercase().as_str() {
            "NORMAL" | "PFS" | "SECURE128" | "SECURE" => {
                (vec![Aes256Gcm, Chacha20Poly1305, Aes128Gcm], all_groups)
            }
            "PERFORMANCE" => (vec![Aes128Gcm, Aes256Gcm, Chacha20Poly1305], all_groups),
            "SECURE192" | "SECURE256" => {
                (vec![Aes256Gcm, Chacha20Poly1305], vec![Group::Secp384r1])
            }
            _ => return None,
        };
        Some(Priority {
            versions: vec![Version::Tls13, Version::Tls12],
            ciphers,
            kx: vec![Kx::EcdheEcdsa, Kx::EcdheRsa],
            groups,
            server_precedence: false,
        })
    }

    /// Parses `s`; the error names the key, the element and the string.
    pub fn parse(s: &str) -> Result<Priority, String> {
        let unsupported =
            |el: &str| format!("tls_priority: unsupported element '{el}' in '{s}'; {SUPPORTED}");
        let mut elements = s.split(':');
        let first = elements.next().unwrap_or_default();
        let mut p = base(first).ok_or_else(|| unsupported(first))?;
        for el in elements {
            if el == "%SERVER_PRECEDENCE" {
                p.server_precedence = true;
                continue;
            }
            let (adding, name) = match el.as_bytes().first() {
                Some(b'+') => (true, &el[1..]),
                Some(b'-' | b'!') => (false, &el[1..]),
                _ => return Err(unsupported(el)),
            };
            match (item(name).ok_or_else(|| unsupported(el))?, adding) {
                (Item::Version(v), true) => add(&mut p.versions, v),
                (Item::Version(v), false) => p.versions.retain(|x| *x != v),
                (Item::AllVersions, false) => p.versions.clear(),
                (Item::Cipher(c), true) => add(&mut p.ciphers, c),
                (Item::Cipher(c), false) => p.ciphers.retain(|x| *x != c),
                (Item::AllCiphers, false) => p.ciphers.clear(),
                (Item::Kx(k), true) => add(&mut p.kx, k),
                (Item::Kx(k), false) => p.kx.retain(|x| *x != k),
                (Item::AllKx, false) => p.kx.clear(),
                (Item::Group(g), true) => add(&mut p.groups, g),
                (Item::Group(g), false) => p.groups.retain(|x| *x != g),
                (Item::AllGroups, false) => p.groups.clear(),
                (Item::NeverOffered, false) => {}
                // Adding everything, or something rustls cannot offer,
                // would not be honoured.
                (
                    Item::AllVersions
                    | Item::AllCiphers
                    | Item::AllKx
                    | Item::AllGroups
                    | Item::NeverOffered,
                    true,
                ) => return Err(unsupported(el)),
            }
        }
        if p.versions.is_empty() {
            return Err(format!(
                "tls_priority: '{s}' leaves no protocol version (TLS 1.2 and 1.3 can be offered)"
            ));
        }
        if p.suites().is_empty() {
            return Err(format!("tls_priority: '{s}' leaves no cipher suite"));
        }
        if p.groups.is_empty() {
            return Err(format!("tls_priority: '{s}' leaves no key exchange group"));
        }
        Ok(p)
    }

    fn tls13_suite(c: Cipher) -> SupportedCipherSuite {
        match c {
            Cipher::Aes256Gcm => cs::TLS13_AES_256_GCM_SHA384,
            Cipher::Chacha20Poly1305 => cs::TLS13_CHACHA20_POLY1305_SHA256,
            Cipher::Aes128Gcm => cs::TLS13_AES_128_GCM_SHA256,
        }
    }

    fn tls12_suite(k: Kx, c: Cipher) -> SupportedCipherSuite {
        match (k, c) {
            (Kx::EcdheEcdsa, Cipher::Aes256Gcm) => cs::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
            (Kx::EcdheEcdsa, Cipher::Chacha20Poly1305) => {
                cs::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
            }
            (Kx::EcdheEcdsa, Cipher::Aes128Gcm) => cs::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
            (Kx::EcdheRsa, Cipher::Aes256Gcm) => cs::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
            (Kx::EcdheRsa, Cipher::Chacha20Poly1305) => {
                cs::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256
            }
            (Kx::EcdheRsa, Cipher::Aes128Gcm) => cs::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        }
    }

    impl Priority {
        /// The cipher suites, in priority order: TLS 1.3 ones by cipher,
        /// then TLS 1.2 ones by key exchange and cipher (GnuTLS's order).
        pub fn suites(&self) -> Vec<SupportedCipherSuite> {
            let mut out = Vec::new();
            if self.versions.contains(&Version::Tls13) {
                out.extend(self.ciphers.iter().map(|c| tls13_suite(*c)));
            }
            if self.versions.contains(&Version::Tls12) {
                for k in &self.kx {
                    out.extend(self.ciphers.iter().map(|c| tls12_suite(*k, *c)));
                }
            }
            out
        }

        pub fn kx_groups(&self) -> Vec<&'static dyn SupportedKxGroup> {
            self.groups
                .iter()
                .map(|g| match g {
                    Group::Secp256r1 => kx_group::SECP256R1,
                    Group::Secp384r1 => kx_group::SECP384R1,
                    Group::X25519 => kx_group::X25519,
                })
                .collect()
        }

        pub fn protocol_versions(&self) -> Vec<&'static SupportedProtocolVersion> {
            self.versions
                .iter()
                .map(|v| match v {
                    Version::Tls13 => &rustls::version::TLS13,
                    Version::Tls12 => &rustls::version::TLS12,
                })
                .collect()
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use rustls::CipherSuite as S;

        fn suites(s: &str) -> Vec<S> {
            parse(s)
                .unwrap_or_else(|e| panic!("{e}"))
                .suites()
                .iter()
                .map(|c| c.suite())
                .collect()
        }

        #[test]
        fn normal_offers_every_rustls_suite_in_gnutls_order() {
            let p = parse("NORMAL").unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(p.versions, vec![Version::Tls13, Version::Tls12]);
            assert_eq!(p.groups.len(), 3);
            assert!(!p.server_precedence);
            assert_eq!(
                suites("NORMAL"),
                vec![
                    S::TLS13_AES_256_GCM_SHA384,
                    S::TLS13_CHACHA20_POLY1305_SHA256,
                    S::TLS13_AES_128_GCM_SHA256,
                    S::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
                    S::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
                    S::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
                    S::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
                    S::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
                    S::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
                ]
            );
            // Every rustls suite is reachable.
            let all = rustls::crypto::ring::ALL_CIPHER_SUITES;
            assert_eq!(suites("NORMAL").len(), all.len());
        }

        #[test]
        fn base_keywords_are_case_insensitive_and_aliases_agree() {
            for (a, b) in [
                ("normal", "NORMAL"),
                ("PFS", "NORMAL"),
                ("SECURE", "SECURE128"),
                ("SECURE128", "NORMAL"),
                ("SECURE256", "SECURE192"),
                ("Performance", "PERFORMANCE"),
            ] {
                assert_eq!(parse(a), parse(b), "{a} vs {b}");
            }
            assert_eq!(
                suites("PERFORMANCE")[..3],
                [
                    S::TLS13_AES_128_GCM_SHA256,
                    S::TLS13_AES_256_GCM_SHA384,
                    S::TLS13_CHACHA20_POLY1305_SHA256,
                ]
            );
        }

        #[test]
        fn secure192_keeps_256_bit_ciphers_and_secp384r1() {
            let p = parse("SECURE192").unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(p.groups, vec![Group::Secp384r1]);
            assert_eq!(
                suites("SECURE192"),
                vec![
                    S::TLS13_AES_256_GCM_SHA384,
                    S::TLS13_CHACHA20_POLY1305_SHA256,
                    S::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
                    S::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
                    S::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
                    S::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
                ]
            );
        }

        #[test]
        fn version_modifiers() {
            let v = |s: &str| parse(s).map(|p| p.versions);
            assert_eq!(v("NORMAL:-VERS-ALL:+VERS-TLS1.2"), Ok(vec![Version::Tls12]));
            assert_eq!(
                v("NORMAL:-VERS-TLS-ALL:+VERS-TLS1.3"),
                Ok(vec![Version::Tls13])
            );
            assert_eq!(v("NORMAL:-VERS-TLS1.3"), Ok(vec![Version::Tls12]));
            assert_eq!(v("NORMAL:!VERS-TLS1.2"), Ok(vec![Version::Tls13]));
            assert_eq!(v("NORMAL:-vers-tls1.2"), Ok(vec![Version::Tls13]));
            assert_eq!(
                v("NORMAL:-VERS-ALL:+VERS-TLS1.2:+VERS-TLS1.3:+VERS-TLS1.2"),
                Ok(vec![Version::Tls12, Version::Tls13])
            );
            // TLS 1.2 only: no TLS 1.3 suite is offered.
            assert!(suites("NORMAL:-VERS-TLS1.3")
                .iter()
                .all(|s| !format!("{s:?}").starts_with("TLS13")));
            // Old versions are never offered: removing them is a no-op.
            assert_eq!(
                parse("NORMAL:-VERS-SSL3.0:-VERS-TLS1.0:-VERS-TLS1.1:-VERS-DTLS-ALL"),
                parse("NORMAL")
            );
        }

        #[test]
        fn cipher_kx_and_group_modifiers() {
            assert_eq!(
                suites("NORMAL:-CIPHER-ALL:+AES-128-GCM:-KX-ALL:+ECDHE-RSA"),
                vec![
                    S::TLS13_AES_128_GCM_SHA256,
                    S::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
                ]
            );
            // `+` appends: a removed and re-added cipher goes last.
            assert_eq!(
                suites("NORMAL:-AES-256-GCM:+AES-256-GCM:-VERS-TLS1.2"),
                vec![
                    S::TLS13_CHACHA20_POLY1305_SHA256,
                    S::TLS13_AES_128_GCM_SHA256,
                    S::TLS13_AES_256_GCM_SHA384,
                ]
            );
            // Without TLS 1.2 key exchanges only TLS 1.3 remains, as in GnuTLS.
            assert_eq!(suites("NORMAL:-KX-ALL").len(), 3);
            let g = |s: &str| parse(s).map(|p| p.groups);
            assert_eq!(
                g("NORMAL:-GROUP-ALL:+GROUP-X25519"),
                Ok(vec![Group::X25519])
            );
            assert_eq!(
                g("NORMAL:-CURVE-ALL:+CURVE-SECP384R1"),
                Ok(vec![Group::Secp384r1])
            );
            assert_eq!(
                g("SECURE192:+GROUP-X25519"),
                Ok(vec![Group::Secp384r1, Group::X25519])
            );
            assert_eq!(
                parse("NORMAL:-RSA:-DHE-RSA:-DHE-DSS:-SHA1:-MD5:-3DES-CBC:-ARCFOUR-128:-AES-128-CBC:-AES-256-CBC:-AES-128-CCM:-AES-256-CCM:-GROUP-FFDHE2048:-GROUP-X448:-CURVE-SECP521R1"),
                parse("NORMAL")
            );
        }

        #[test]
        fn server_precedence_flag() {
            assert!(parse("NORMAL:%SERVER_PRECEDENCE").is_ok_and(|p| p.server_precedence));
            // GnuTLS spells flags in capitals only.
            assert!(parse("NORMAL:%server_precedence").is_err());
        }

        #[test]
        fn unsupported_elements_are_named_with_the_string() {
            for (s, el) in [
                ("NORMAL:+VERS-TLS1.1", "+VERS-TLS1.1"),
                ("NORMAL:-VERS-ALL:+VERS-ALL", "+VERS-ALL"),
                ("NORMAL:+AES-128-CBC", "+AES-128-CBC"),
                ("NORMAL:-CAMELLIA-128-GCM", "-CAMELLIA-128-GCM"),
                ("NORMAL:%COMPAT", "%COMPAT"),
                ("NORMAL:SECURE192", "SECURE192"),
                ("NORMAL::", ""),
                ("LEGACY", "LEGACY"),
                ("NONE:+VERS-TLS1.2", "NONE"),
                ("@SYSTEM", "@SYSTEM"),
                ("", ""),
            ] {
                let e = parse(s).err().unwrap_or_default();
                assert!(
                    e.starts_with(&format!(
                        "tls_priority: unsupported element '{el}' in '{s}'; supported: "
                    )),
                    "{s}: {e}"
                );
                assert!(
                    e.contains("SECURE192") && e.contains("%SERVER_PRECEDENCE"),
                    "{e}"
                );
            }
        }

        #[test]
        fn empty_results_are_refused() {
            let e = |s: &str| parse(s).err().unwrap_or_default();
            assert!(e("NORMAL:-VERS-ALL").contains("leaves no protocol version"));
            assert!(e("NORMAL:-VERS-TLS1.2:-VERS-TLS1.3").contains("leaves no protocol version"));
            assert!(e("NORMAL:-CIPHER-ALL").contains("leaves no cipher suite"));
            assert!(e("NORMAL:-VERS-TLS1.3:-KX-ALL").contains("leaves no cipher suite"));
            assert!(e("NORMAL:-GROUP-ALL").contains("leaves no key exchange group"));
            assert!(e("SECURE192:-GROUP-SECP384R1").contains("'SECURE192:-GROUP-SECP384R1'"));
        }
    }
}

/// Just enough DER to read a certificate's subject and format it as
/// "C=GB,ST=London,L=London,O=Example,CN=name" (attributes in the order
/// the certificate lists them, the form `tls_allowed_dn_list` patterns
/// are written in).
pub mod dn {
    /// One TLV: (tag, contents, rest).
    fn tlv(data: &[u8]) -> Option<(u8, &[u8], &[u8])> {
        let (&tag, rest) = data.split_first()?;
        let (&first, rest) = rest.split_first()?;
        let (len, rest) = if first < 0x80 {
            (first as usize, rest)
        } else {
            let n = (first & 0x7f) as usize;
            if n == 0 || n > 4 || rest.len() < n {
                return None;
            }
            let len = rest[..n].iter().fold(0usize, |a, &b| (a << 8) | b as usize);
            (len, &rest[n..])
        };
        if rest.len() < len {
            return None;
        }
        Some((tag, &rest[..len], &rest[len..]))
    }

    fn oid_name(oid: &[u8]) -> Option<&'static str> {
        // 2.5.4.x attribute types and emailAddress.
        Some(match oid {
            [0x55, 0x04, 0x03] => "CN",
            [0x55, 0x04, 0x06] => "C",
            [0x55, 0x04, 0x07] => "L",
            [0x55, 0x04, 0x08] => "ST",
            [0x55, 0x04, 0x09] => "street",
            [0x55, 0x04, 0x0a] => "O",
            [0x55, 0x04, 0x0b] => "OU",
            [0x55, 0x04, 0x05] => "serialNumber",
            [0x55, 0x04, 0x0c] => "title",
            [0x55, 0x04, 0x2a] => "GN",
            [0x55, 0x04, 0x04] => "SN",
            [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01] => "EMAIL",
            [0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x19] => "DC",
            [0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x01] => "UID",
            _ => return None,
        })
    }

    fn oid_dotted(oid: &[u8]) -> String {
        let mut parts = Vec::new();
        let mut v: u64 = 0;
        for (i, &b) in oid.iter().enumerate() {
            v = (v << 7) | (b & 0x7f) as u64;
            if b & 0x80 == 0 {
                if parts.is_empty() && i < oid.len() {
                    let (a, b) = if v < 80 {
                        (v / 40, v % 40)
                    } else {
                        (2, v - 80)
                    };
                    parts.push(a.to_string());
                    parts.push(b.to_string());
                } else {
                    parts.push(v.to_string());
                }
                v = 0;
            }
        }
        parts.join(".")
    }

    fn escape(value: &str) -> String {
        let mut out = String::with_capacity(value.len());
        for (i, c) in value.chars().enumerate() {
            let special = matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';')
                || (i == 0 && (c == '#' || c == ' '));
            if special {
                out.push('\\');
            }
            out.push(c);
        }
        out
    }

    /// The subject of a DER certificate, or None if it cannot be read.
    pub fn subject_dn(cert: &[u8]) -> Option<String> {
        let (_, cert, _) = tlv(cert)?; // Certificate
        let (_, tbs, _) = tlv(cert)?; // TBSCertificate
        let mut rest = tbs;
        // [0] version is optional.
        let (tag, _, r) = tlv(rest)?;
        if tag == 0xa0 {
            rest = r;
        }
        let (_, _, r) = tlv(rest)?; // serial
        let (_, _, r) = tlv(r)?; // signature algorithm
        let (_, _, r) = tlv(r)?; // issuer
        let (_, _, r) = tlv(r)?; // validity
        let (_, mut subject, _) = tlv(r)?;
        let mut rdns = Vec::new();
        while !subject.is_empty() {
            let (_, mut set, r) = tlv(subject)?;
            subject = r;
            let mut attrs = Vec::new();
            while !set.is_empty() {
                let (_, atv, r) = tlv(set)?;
                set = r;
                let (_, oid, r) = tlv(atv)?;
                let (vtag, value, _) = tlv(r)?;
                let name = oid_name(oid).map(str::to_string);
                let text = match vtag {
                    // BMPString: UTF-16BE.
                    0x1e => {
                        let units: Vec<u16> = value
                            .chunks_exact(2)
                            .map(|p| u16::from_be_bytes([p[0], p[1]]))
                            .collect();
                        String::from_utf16_lossy(&units)
                    }
                    _ => String::from_utf8_lossy(value).into_owned(),
                };
                attrs.push(match name {
                    Some(n) => format!("{n}={}", escape(&text)),
                    None => format!("{}={}", oid_dotted(oid), escape(&text)),
                });
            }
            rdns.push(attrs.join("+"));
        }
        Some(rdns.join(","))
    }

    /// Shell-style match: `*` any run, `?` one character, others literal
    /// (the same matcher as log filters).
    pub use daemon_support::log::glob_match;

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn globs() {
            assert!(glob_match("C=GB,O=Example,CN=*", "C=GB,O=Example,CN=fred"));
            assert!(!glob_match("C=GB,O=Example,CN=*", "C=US,O=Example,CN=fred"));
            assert!(glob_match("*", ""));
            assert!(glob_match("a?c", "abc"));
            assert!(!glob_match("a?c", "ac"));
        }

        /// The subject of a certificate made by openssl reads as
        /// libvirt's `virt-pki-query-dn` prints it.
        #[test]
        fn subject_reads_like_gnutls() {
            let dir = std::env::temp_dir().join(format!("dn-test-{}", std::process::id()));
            let _ = std::fs::create_dir_all(&dir);
            let made = std::process::Command::new("openssl")
                .current_dir(&dir)
                .args([
                    "req",
                    "-x509",
                    "-newkey",
                    "rsa:1024",
                    "-nodes",
                    "-keyout",
                    "k.pem",
                    "-outform",
                    "DER",
                    "-out",
                    "c.der",
                    "-days",
                    "1",
                    "-subj",
                    "/C=GB/ST=London/L=London/O=Red Hat, Inc./OU=Virt+UID=x/CN=fred",
                ])
                .output();
            let Ok(out) = made else {
                eprintln!("skipped: openssl is not installed");
                return;
            };
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let der = std::fs::read(dir.join("c.der")).unwrap_or_default();
            let _ = std::fs::remove_dir_all(&dir);
            assert_eq!(
                subject_dn(&der).as_deref(),
                Some("C=GB,ST=London,L=London,O=Red Hat\\, Inc.,OU=Virt+UID=x,CN=fred")
            );
        }

        #[test]
        fn truncated_der_is_refused() {
            assert_eq!(subject_dn(&[0x30, 0x82, 0xff]), None);
            assert_eq!(subject_dn(&[]), None);
        }
    }
}

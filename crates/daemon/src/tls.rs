// SPDX-License-Identifier: LGPL-2.1-or-later
//! The TLS listener's credentials: the server certificate and key, the CA
//! that client certificates must chain to, an optional revocation list,
//! and the `tls_allowed_dn_list` check on the client's subject.
//!
//! File problems are reported the way libvirtd reports them
//! ("Cannot read CA certificate '<path>': <reason>") and stop start-up.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use daemon_support::DaemonConfig;
use rpc::tokio_rustls::rustls;
use rpc::tokio_rustls::TlsAcceptor;
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;

use crate::DaemonContext;

/// What the TLS listener needs: the handshake side and the check run on
/// the client's certificate chain once the handshake is done, and a way to
/// read the files again (virt-admin server-update-tls).
pub struct TlsSetup {
    pub acceptor: rpc::SharedAcceptor,
    pub on_peer: rpc::PeerCheck,
    rebuild: Arc<dyn Fn() -> Result<TlsAcceptor, String> + Send + Sync>,
}

impl TlsSetup {
    /// Reads the certificate, key, CA and CRL files again from the paths
    /// the configuration names; connections accepted from now on use them.
    /// On failure the credentials in use stay as they are.
    pub fn reload(&self) -> Result<(), String> {
        let fresh = (self.rebuild)()?;
        match self.acceptor.write() {
            Ok(mut a) => *a = fresh,
            Err(p) => *p.into_inner() = fresh,
        }
        Ok(())
    }
}

/// Loads the files named by `ca_file`, `cert_file`, `key_file` and
/// `crl_file` (or the default PKI locations) and builds the server side.
pub fn load(ctx: &DaemonContext, config: &DaemonConfig) -> Result<TlsSetup, String> {
    let acceptor = build_acceptor(ctx, config)?;
    let allowed = if config.tls_no_verify_certificate {
        None
    } else {
        config.tls_allowed_dn_list.clone()
    };
    let on_peer: rpc::PeerCheck = Arc::new(move |chain: &[Vec<u8>]| match &allowed {
        None => true,
        Some(list) => {
            let Some(leaf) = chain.first() else {
                return false;
            };
            let Some(dn) = dn::subject_dn(leaf) else {
                return false;
            };
            list.iter().any(|pat| dn::glob_match(pat, &dn))
        }
    });
    let (ctx, config) = (ctx.clone(), config.clone());
    Ok(TlsSetup {
        acceptor: Arc::new(std::sync::RwLock::new(acceptor)),
        on_peer,
        rebuild: Arc::new(move || build_acceptor(&ctx, &config)),
    })
}

fn read_file(what: &str, path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| {
        let reason = std::io::Error::from_raw_os_error(e.raw_os_error().unwrap_or(libc::EIO));
        // io::Error's Display appends " (os error N)": keep the text only.
        let text = reason.to_string();
        let text = text.split(" (os error").next().unwrap_or(&text).to_string();
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

/// The handshake side from the files the configuration names.
fn build_acceptor(ctx: &DaemonContext, config: &DaemonConfig) -> Result<TlsAcceptor, String> {
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
    if let Some(crl) = config.crl_file.as_deref().filter(|s| !s.is_empty()) {
        let crl_path = PathBuf::from(crl);
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

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for c in ca {
        roots.add(c).map_err(|e| {
            format!(
                "Unable to import CA certificate '{}': {e}",
                ca_path.display()
            )
        })?;
    }
    let verifier = if config.tls_no_verify_certificate {
        WebPkiClientVerifier::no_client_auth()
    } else {
        WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .with_crls(crls)
            .build()
            .map_err(|e| format!("Unable to set up client certificate checks: {e}"))?
    };
    let server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("Unable to set up TLS: {e}"))?
        .with_client_cert_verifier(verifier)
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

    Ok(TlsAcceptor::from(Arc::new(server)))
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

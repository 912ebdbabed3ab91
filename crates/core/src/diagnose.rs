//! Diagnosis of untrusted server certificates.
//!
//! When verification fails with an unknown issuer, the inspector opens one more TLS handshake
//! that records the certificates the server presents (and trusts nothing: the connection is
//! dropped right after the handshake, no credentials are sent). That tells apart a server that
//! sends only its leaf certificate from a CA that simply is not trusted, and names the issuer
//! so the user knows which CA bundle to fetch.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

use crate::error::{CoreError, Result};
use crate::tls::TlsSettings;

/// One certificate as presented by the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertSummary {
    pub subject: String,
    pub issuer: String,
    pub self_signed: bool,
}

/// The chain the server presented, leaf first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresentedChain {
    pub certs: Vec<CertSummary>,
}

#[derive(Debug)]
struct Recorder {
    chain: Mutex<Vec<Vec<u8>>>,
    schemes: Vec<SignatureScheme>,
}

impl ServerCertVerifier for Recorder {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        let mut chain = self.chain.lock().unwrap_or_else(|p| p.into_inner());
        chain.push(end_entity.to_vec());
        chain.extend(intermediates.iter().map(|c| c.to_vec()));
        // Recorded; the handshake is abandoned by the caller right after this.
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _m: &[u8],
        _c: &CertificateDer<'_>,
        _d: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn verify_tls13_signature(
        &self,
        _m: &[u8],
        _c: &CertificateDer<'_>,
        _d: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.schemes.clone()
    }
}

/// Asks the server for TLS the PostgreSQL way (SSLRequest) and records the certificates it
/// presents. Sends no credentials.
pub async fn fetch_chain(host: &str, port: u16, timeout: Duration) -> Result<PresentedChain> {
    let host = host.to_string();
    tokio::task::spawn_blocking(move || fetch_chain_blocking(&host, port, timeout))
        .await
        .map_err(|e| CoreError::Internal(format!("certificate probe failed: {e}")))?
}

fn fetch_chain_blocking(host: &str, port: u16, timeout: Duration) -> Result<PresentedChain> {
    let probe_err = |m: String| CoreError::Tls {
        server: format!("{host}:{port}"),
        detail: m,
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let recorder = Arc::new(Recorder {
        chain: Mutex::new(Vec::new()),
        schemes: provider
            .signature_verification_algorithms
            .supported_schemes(),
    });
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| probe_err(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(recorder.clone())
        .with_no_client_auth();
    let name = ServerName::try_from(host.to_string()).map_err(|e| probe_err(e.to_string()))?;
    let mut tls = rustls::ClientConnection::new(Arc::new(config), name)
        .map_err(|e| probe_err(e.to_string()))?;
    let addr = (host, port)
        .to_socket_addrs()
        .map_err(|e| probe_err(e.to_string()))?
        .next()
        .ok_or_else(|| probe_err("no address".into()))?;
    let mut sock =
        TcpStream::connect_timeout(&addr, timeout).map_err(|e| probe_err(e.to_string()))?;
    sock.set_read_timeout(Some(timeout)).ok();
    sock.set_write_timeout(Some(timeout)).ok();
    // SSLRequest: length 8, code 80877103.
    sock.write_all(&[0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f])
        .map_err(|e| probe_err(e.to_string()))?;
    let mut answer = [0u8; 1];
    sock.read_exact(&mut answer)
        .map_err(|e| probe_err(e.to_string()))?;
    if answer[0] != b'S' {
        return Err(probe_err("the server does not offer TLS".into()));
    }
    while tls.is_handshaking() {
        if let Err(e) = tls.complete_io(&mut sock) {
            if recorder
                .chain
                .lock()
                .map(|c| !c.is_empty())
                .unwrap_or(false)
            {
                break;
            }
            return Err(probe_err(e.to_string()));
        }
        if recorder
            .chain
            .lock()
            .map(|c| !c.is_empty())
            .unwrap_or(false)
        {
            break;
        }
    }
    let ders = recorder.chain.lock().map(|c| c.clone()).unwrap_or_default();
    Ok(PresentedChain {
        certs: ders.iter().filter_map(|d| summarise(d)).collect(),
    })
}

fn summarise(der: &[u8]) -> Option<CertSummary> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let subject = cert.subject().to_string();
    let issuer = cert.issuer().to_string();
    Some(CertSummary {
        self_signed: subject == issuer,
        subject,
        issuer,
    })
}

/// Subjects of the certificates in the profile's CA file or inline PEM.
fn trusted_subjects(tls: &TlsSettings) -> Vec<String> {
    let pem = match (&tls.root_cert, &tls.root_cert_pem) {
        (Some(path), _) => std::fs::read(path).unwrap_or_default(),
        (None, Some(pem)) => pem.as_bytes().to_vec(),
        (None, None) => return Vec::new(),
    };
    rustls_pemfile::certs(&mut pem.as_slice())
        .flatten()
        .filter_map(|c| summarise(&c))
        .map(|c| c.subject)
        .collect()
}

const CA_HINT: &str = "give the CA that signed it as a PEM file with sslrootcert (Backstage: \
    `ssl.ca`). Azure Database for PostgreSQL: a bundle of DigiCert Global Root G2 and Microsoft \
    RSA Root Certificate Authority 2017; Amazon RDS: the `global-bundle.pem` CA bundle (or your \
    region's); self-managed servers: your own CA's certificate. sslmode=require encrypts without \
    checking the certificate";

/// Builds the error for an unknown-issuer failure from what the server presented.
pub fn untrusted(
    server: String,
    tls: &TlsSettings,
    detail: String,
    chain: Option<PresentedChain>,
) -> CoreError {
    // rustls' reason, in words.
    let detail = if detail.contains("BadSignature") {
        "a signature in the server's certificate chain does not verify".to_string()
    } else if detail.contains("UnknownIssuer") {
        "no CA this connection trusts issued the server's certificate".to_string()
    } else {
        detail
    };
    let Some(chain) = chain.filter(|c| !c.certs.is_empty()) else {
        return CoreError::TlsUntrusted {
            server,
            detail,
            hint: CA_HINT.to_string(),
        };
    };
    let leaf = &chain.certs[0];
    let top = chain.certs.last().unwrap_or(leaf);
    let trusted = trusted_subjects(tls);
    let leaf_only = chain.certs.len() == 1;
    if leaf_only && !leaf.self_signed && tls.has_ca() && !trusted.contains(&leaf.issuer) {
        return CoreError::TlsIncompleteChain {
            server,
            detail: format!(
                "the certificate for `{}` is issued by `{}`, which is neither sent by the server nor in the CA file{}",
                leaf.subject,
                leaf.issuer,
                if trusted.is_empty() {
                    String::new()
                } else {
                    format!(" (the CA file holds: {})", trusted.join("; "))
                }
            ),
        };
    }
    let what = if top.self_signed && chain.certs.len() == 1 {
        format!("the server's certificate `{}` is self-signed", leaf.subject)
    } else {
        format!(
            "the chain ends at `{}`, issued by `{}`",
            top.subject, top.issuer
        )
    };
    let trusts = if !tls.has_ca() {
        "; no CA file is given, so only the public roots are trusted".to_string()
    } else if trusted.is_empty() {
        String::new()
    } else {
        format!(
            ", which is not in the CA file (it holds: {})",
            trusted.join("; ")
        )
    };
    CoreError::TlsUntrusted {
        server,
        detail: format!("{detail}: {what}{trusts}"),
        hint: CA_HINT.to_string(),
    }
}

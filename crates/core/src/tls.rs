//! TLS settings with libpq's `sslmode` semantics, and the diagnosis of TLS failures.
//!
//! Modes map onto sqlx/rustls as libpq defines them, with one deliberate libpq rule on top:
//! `require` with an explicit root certificate behaves like `verify-ca` (libpq verifies when a
//! root CA file is present; sqlx alone would not). Backstage's `ssl: { rejectUnauthorized:
//! false }` is `require` without a CA; `rejectUnauthorized: true` or a given `ca` is
//! `verify-full`. Without a CA file the system-independent Mozilla roots of webpki-roots are
//! used, which is what Azure and RDS certificates chain to when the bundle is current.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::CoreError;

/// libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum SslMode {
    Disable,
    Allow,
    #[default]
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    pub const ALL: [SslMode; 6] = [
        SslMode::Disable,
        SslMode::Allow,
        SslMode::Prefer,
        SslMode::Require,
        SslMode::VerifyCa,
        SslMode::VerifyFull,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Allow => "allow",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }

    /// Whether this mode checks the server certificate against trusted roots.
    pub fn verifies(self) -> bool {
        matches!(self, SslMode::VerifyCa | SslMode::VerifyFull)
    }
}

impl fmt::Display for SslMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SslMode {
    type Err = CoreError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SslMode::ALL
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                CoreError::config(format!(
                    "unknown sslmode `{s}`; use one of disable, allow, prefer, require, verify-ca, verify-full"
                ))
            })
    }
}

/// TLS settings of a profile.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default)]
pub struct TlsSettings {
    pub sslmode: SslMode,
    /// A PEM file with the CA certificate(s) to trust (libpq's `sslrootcert`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub root_cert: Option<PathBuf>,
    /// CA certificates given inline (for example Backstage's `ssl.ca` read through `$file`).
    /// Certificates are public: this is not a secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub root_cert_pem: Option<String>,
}

impl TlsSettings {
    pub fn has_ca(&self) -> bool {
        self.root_cert.is_some() || self.root_cert_pem.is_some()
    }

    /// The mode actually used: `require` with a CA becomes `verify-ca`, as in libpq.
    pub fn effective_mode(&self) -> SslMode {
        if self.sslmode == SslMode::Require && self.has_ca() {
            SslMode::VerifyCa
        } else {
            self.sslmode
        }
    }

    /// Checks the CA file (or the inline certificates) before a connection uses them, so that
    /// a wrong path or a file that is not PEM is named as such, not as an unreachable server.
    /// Reads at most 1 MiB of a regular file.
    pub fn check_ca(&self) -> crate::error::Result<()> {
        use crate::error::CoreError;
        use std::io::Read;
        let fix = "set the profile's CA file to a PEM file of the CA certificate(s) \
                   (`bsi profile add --update NAME --ca FILE`)";
        let (what, text) = if let Some(path) = &self.root_cert {
            let meta = std::fs::metadata(path)
                .map_err(|e| CoreError::io("cannot read the CA file (sslrootcert)", path, e))?;
            if !meta.is_file() {
                return Err(CoreError::config(format!(
                    "the CA file (sslrootcert) {} is not a regular file; {fix}",
                    path.display()
                )));
            }
            let mut text = String::new();
            std::fs::File::open(path)
                .and_then(|f| f.take(1 << 20).read_to_string(&mut text))
                .map_err(|e| CoreError::io("cannot read the CA file (sslrootcert)", path, e))?;
            (
                format!("the CA file (sslrootcert) {}", path.display()),
                text,
            )
        } else if let Some(pem) = &self.root_cert_pem {
            (
                "the CA certificates given inline (ssl.ca)".to_string(),
                pem.clone(),
            )
        } else {
            return Ok(());
        };
        if !text.contains("-----BEGIN CERTIFICATE-----") {
            return Err(CoreError::config(format!(
                "{what} holds no PEM certificate (no -----BEGIN CERTIFICATE----- line); {fix}"
            )));
        }
        Ok(())
    }

    pub(crate) fn apply(
        &self,
        mut opts: sqlx::postgres::PgConnectOptions,
    ) -> sqlx::postgres::PgConnectOptions {
        use sqlx::postgres::PgSslMode;
        let mode = match self.effective_mode() {
            SslMode::Disable => PgSslMode::Disable,
            SslMode::Allow => PgSslMode::Allow,
            SslMode::Prefer => PgSslMode::Prefer,
            SslMode::Require => PgSslMode::Require,
            SslMode::VerifyCa => PgSslMode::VerifyCa,
            SslMode::VerifyFull => PgSslMode::VerifyFull,
        };
        opts = opts.ssl_mode(mode);
        if let Some(path) = &self.root_cert {
            opts = opts.ssl_root_cert(path);
        } else if let Some(pem) = &self.root_cert_pem {
            opts = opts.ssl_root_cert_from_pem(pem.as_bytes().to_vec());
        }
        opts
    }
}

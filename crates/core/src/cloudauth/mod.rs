//! Token authentication: the password of a new connection is a token the inspector obtains
//! itself, as Backstage's `connection.type` `azure`, `rds` and `cloudsql` do.
//!
//! - `azure`: Microsoft Entra ID access tokens for the scope
//!   `https://ossrdbms-aad.database.windows.net/.default`, in Backstage's order: a client
//!   secret when the client id, tenant id and secret are known; a user-assigned managed identity
//!   when only the client id is; else the default chain (environment client secret, workload
//!   identity, managed identity, Azure CLI).
//! - `rds`: AWS RDS IAM tokens, a SigV4-presigned `HOST:PORT/?Action=connect&DBUser=USER`
//!   (`sigv4`) valid for 15 minutes, signed with credentials from the standard chain (`aws`):
//!   environment, shared files, web identity, container, instance metadata (IMDSv2).
//! - `cloudsql`: Google OAuth2 access tokens for Cloud SQL IAM database authentication (scope
//!   [`CLOUDSQL_SCOPE`]), from Application Default Credentials (`gcp`): the
//!   `GOOGLE_APPLICATION_CREDENTIALS` file, gcloud's file, the metadata server. The profile
//!   connects to a Cloud SQL Auth Proxy or to the instance's IP (route `proxy`), or as Google's
//!   connectors do (route `connector`): `cloudsql` asks the Cloud SQL Admin API for the
//!   instance's metadata and an ephemeral client certificate; `connect` runs the TLS.
//!
//! A [`TokenSource`] keeps each token with its expiry and fetches a new one when less than
//! [`RENEW_BEFORE`] is left, so the connect options of a new connection never carry a stale
//! token. Tokens and secrets stay in [`Secret`]s and are never logged. The environment and
//! the clock are injectable ([`SharedEnv`], [`Clock`]): tests point the endpoints at local
//! emulators (`AZURE_AUTHORITY_HOST`, `IDENTITY_ENDPOINT`, `AZURE_POD_IDENTITY_AUTHORITY_HOST`,
//! `AWS_ENDPOINT_URL_STS`, `AWS_EC2_METADATA_SERVICE_ENDPOINT`, a credentials file's
//! `token_uri`, `GCE_METADATA_HOST`...).
//!
//! The rooms: `http` (a minimal HTTP/1.1 client), `sigv4`, `azure`, `aws`, `gcp`,
//! `cloudsql` (the Admin API of the connector route), and this file.

mod aws;
mod azure;
pub mod cloudsql;
mod gcp;
pub mod http;
mod oauth;
pub mod sigv4;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::appconfig::{Env, ProcessEnv};
use crate::error::{CoreError, Result};
use crate::profile::{AuthMethod, Profile};
use crate::secrets::{Keyring, Secret};
use crate::tls::{SslMode, TlsSettings};

pub use aws::resolve_credentials;
pub use gcp::GOOGLE_TOKEN_URI;

/// The environment token sources read (variables, `HOME`).
pub type SharedEnv = Arc<dyn Env + Send + Sync>;
/// The time a token is signed at and checked against.
pub type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

/// A token with less than this left is renewed (Backstage's default
/// `tokenRenewableOffsetTime`).
pub const RENEW_BEFORE: Duration = Duration::from_secs(300);
/// How long an RDS IAM token is valid.
pub const RDS_TOKEN_SECS: u64 = 900;
/// The Entra ID scope of Azure Database for PostgreSQL.
pub const AZURE_SCOPE: &str = "https://ossrdbms-aad.database.windows.net/.default";
/// The OAuth2 scope of Cloud SQL IAM database authentication (the one Google's Cloud SQL
/// connectors ask for; `cloud-platform` tokens are accepted too).
pub const CLOUDSQL_SCOPE: &str = "https://www.googleapis.com/auth/sqlservice.login";
/// Where the RDS CA bundle is published.
pub const RDS_CA_BUNDLE: &str = "https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem";

/// A token and when it expires.
#[derive(Debug, Clone)]
pub struct Token {
    pub secret: Secret,
    pub expires_at: SystemTime,
}

/// Obtains and caches the tokens of one profile.
pub struct TokenSource {
    method: AuthMethod,
    env: SharedEnv,
    clock: Clock,
    /// Keyring and account of an Entra ID client secret.
    secret_in: Option<(Keyring, String)>,
    cache: tokio::sync::Mutex<HashMap<(String, u16, String), Token>>,
}

impl std::fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSource")
            .field("method", &self.method)
            .finish_non_exhaustive()
    }
}

impl TokenSource {
    /// The token source of `profile` (none for passwords): this process's environment, the
    /// system clock, and the OS keyring for an Entra ID client secret.
    pub fn for_profile(profile: &Profile) -> Option<Self> {
        if profile.auth.is_password() {
            return None;
        }
        Some(
            Self::new(profile.auth.clone(), Arc::new(ProcessEnv), system_clock())
                .with_keyring(Keyring::default(), profile.azure_secret_account()),
        )
    }

    pub fn new(method: AuthMethod, env: SharedEnv, clock: Clock) -> Self {
        Self {
            method,
            env,
            clock,
            secret_in: None,
            cache: tokio::sync::Mutex::new(HashMap::new()),
        }
    }

    /// Looks for an Entra ID client secret in `keyring` under `account` (after
    /// `AZURE_CLIENT_SECRET`).
    pub fn with_keyring(mut self, keyring: Keyring, account: String) -> Self {
        self.secret_in = Some((keyring, account));
        self
    }

    pub fn method(&self) -> &AuthMethod {
        &self.method
    }

    pub(crate) fn var(&self, name: &str) -> Option<String> {
        self.env.var(name).filter(|v| !v.is_empty())
    }

    pub(crate) fn now(&self) -> SystemTime {
        (self.clock)()
    }

    /// Refuses TLS settings the method cannot work with: RDS IAM authentication needs TLS.
    pub fn check_tls(&self, tls: &TlsSettings) -> Result<()> {
        if matches!(self.method, AuthMethod::Rds { .. })
            && matches!(
                tls.effective_mode(),
                SslMode::Disable | SslMode::Allow | SslMode::Prefer
            )
        {
            return Err(CoreError::config(format!(
                "RDS IAM authentication needs TLS, but sslmode is `{}`: RDS refuses IAM tokens \
                 over unencrypted connections; use sslmode=verify-full with the RDS CA bundle \
                 ({RDS_CA_BUNDLE}) as the CA file, e.g. `--sslmode verify-full --ca \
                 global-bundle.pem` (sslmode=require encrypts without checking the server)",
                tls.effective_mode()
            )));
        }
        Ok(())
    }

    /// The token for a connection of `user` to `host:port`: the cached one while more than
    /// [`RENEW_BEFORE`] is left, else a new one.
    pub async fn token(&self, host: &str, port: u16, user: &str) -> Result<Secret> {
        self.token_entry(host, port, user).await.map(|t| t.secret)
    }

    /// [`TokenSource::token`] with its expiry.
    pub(crate) async fn token_entry(&self, host: &str, port: u16, user: &str) -> Result<Token> {
        let key = match self.method {
            AuthMethod::Rds { .. } => (host.to_string(), port, user.to_string()),
            _ => (String::new(), 0, String::new()),
        };
        self.cached(key, None).await
    }

    /// A Google token for the Cloud SQL Admin API (the connector's instance metadata and
    /// ephemeral certificates), cached apart from the login token.
    pub(crate) async fn admin_token(&self) -> Result<Secret> {
        let key = ("cloudsql-admin".to_string(), 0, String::new());
        let t = self.cached(key, Some(cloudsql::ADMIN_SCOPE)).await?;
        Ok(t.secret)
    }

    /// The token cached under `key` while more than [`RENEW_BEFORE`] is left, else a new one
    /// (for `scope`, a Google token of that scope).
    async fn cached(&self, key: (String, u16, String), scope: Option<&str>) -> Result<Token> {
        let (host, port, user) = (key.0.clone(), key.1, key.2.clone());
        let (host, user) = (host.as_str(), user.as_str());
        let mut cache = self.cache.lock().await;
        let now = self.now();
        if let Some(t) = cache.get(&key)
            && t.expires_at.duration_since(now).unwrap_or_default() > RENEW_BEFORE
        {
            return Ok(t.clone());
        }
        let token = match &self.method {
            AuthMethod::Password => {
                return Err(CoreError::Internal(
                    "a token was asked of a password profile".into(),
                ));
            }
            AuthMethod::Azure {
                client_id,
                tenant_id,
            } => {
                let secret = self.client_secret().await;
                azure::fetch(self, client_id.as_deref(), tenant_id.as_deref(), secret).await?
            }
            AuthMethod::Rds {
                region,
                aws_profile,
            } => {
                aws::rds_token(
                    self,
                    region.as_deref(),
                    aws_profile.as_deref(),
                    host,
                    port,
                    user,
                )
                .await?
            }
            AuthMethod::Cloudsql { instance, .. } => {
                let scope = scope.unwrap_or(CLOUDSQL_SCOPE);
                gcp::fetch(self, instance.as_deref(), scope).await?
            }
        };
        tracing::debug!(
            method = self.method.as_str(),
            valid_secs = token
                .expires_at
                .duration_since(now)
                .unwrap_or_default()
                .as_secs(),
            "token obtained"
        );
        cache.insert(key, token.clone());
        Ok(token)
    }

    /// `AZURE_CLIENT_SECRET`, else the keyring's entry (a keyring that cannot be read counts
    /// as none).
    async fn client_secret(&self) -> Option<Secret> {
        if let Some(s) = self.var("AZURE_CLIENT_SECRET") {
            return Some(Secret::new(s));
        }
        let (keyring, account) = self.secret_in.as_ref()?;
        match keyring.get_async(account).await {
            Ok(s) => s.filter(|s| !s.is_empty()),
            Err(e) => {
                tracing::debug!(error = %e, "no client secret from the keyring");
                None
            }
        }
    }
}

/// The system clock.
pub fn system_clock() -> Clock {
    Arc::new(SystemTime::now)
}

/// The message of a token endpoint's error answer: OAuth's `error` and `error_description`,
/// else a `message`, else the start of the body.
pub(crate) fn describe_error_body(body: &str) -> String {
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(body) {
        let field = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
        let error = field("error").or_else(|| {
            v.get("error")
                .and_then(|e| e.get("code"))
                .and_then(|c| c.as_str())
                .map(str::to_string)
        });
        let desc = field("error_description")
            .or_else(|| field("message"))
            .or_else(|| {
                v.get("error")
                    .and_then(|e| e.get("message"))
                    .and_then(|c| c.as_str())
                    .map(str::to_string)
            });
        match (error, desc) {
            (Some(e), Some(d)) => return format!("{e}: {}", first_line(&d)),
            (Some(e), None) => return e,
            (None, Some(d)) => return first_line(&d),
            (None, None) => {}
        }
    }
    let text: String = body.trim().chars().take(300).collect();
    if text.is_empty() {
        "no details in the answer".into()
    } else {
        text
    }
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or_default().trim().to_string()
}

/// A number or a numeric string (token answers use both).
pub(crate) fn json_u64(v: Option<&serde_json::Value>) -> Option<u64> {
    match v? {
        serde_json::Value::Number(n) => n.as_u64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

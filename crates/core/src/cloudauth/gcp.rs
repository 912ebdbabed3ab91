//! Google OAuth2 access tokens for Cloud SQL IAM database authentication, from Application
//! Default Credentials in Google's order: the JSON file of `GOOGLE_APPLICATION_CREDENTIALS`,
//! gcloud's well-known file (`application_default_credentials.json` in `CLOUDSDK_CONFIG`, else
//! `~/.config/gcloud`, `%APPDATA%\gcloud` on Windows), then the metadata server
//! (`GCE_METADATA_HOST` overrides its host). A file is a `service_account` key (a JWT signed
//! with RS256 and exchanged at the key's `token_uri`) or an `authorized_user` (a refresh-token
//! grant).

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::http::{self, Request};
use super::oauth;
use super::{Token, TokenSource, describe_error_body};
use crate::error::{CoreError, Result};
use crate::secrets::Secret;

/// Google's token endpoint (the default `token_uri`).
pub const GOOGLE_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";
const METADATA_HOST: &str = "metadata.google.internal";
const METADATA_PATH: &str = "/computeMetadata/v1/instance/service-accounts/default/token";
const TIMEOUT: Duration = Duration::from_secs(20);
/// How long the metadata server may take to answer at all (off Google Cloud it never does).
const METADATA_PROBE: Duration = Duration::from_secs(2);
/// The lifetime a service-account assertion asks for (Google's maximum).
const ASSERTION_SECS: u64 = 3600;
const LOGIN_HINT: &str = "run `gcloud auth application-default login`, set \
     GOOGLE_APPLICATION_CREDENTIALS to a service account key file, or run on Google Cloud \
     with a service account attached";

/// A token for `scope` (the login scope for passwords, the Admin API's for the connector).
pub(super) async fn fetch(src: &TokenSource, instance: Option<&str>, scope: &str) -> Result<Token> {
    let mut tried = Vec::new();
    match src.var("GOOGLE_APPLICATION_CREDENTIALS") {
        Some(path) => {
            let text = std::fs::read_to_string(&path).map_err(|e| {
                CoreError::config(format!(
                    "Google token: the credentials file {path} (GOOGLE_APPLICATION_CREDENTIALS) \
                     cannot be read: {e}; fix the variable or unset it"
                ))
            })?;
            let source = format!("the credentials file {path} (GOOGLE_APPLICATION_CREDENTIALS)");
            return from_file(src, &source, &text, scope).await;
        }
        None => tried.push("GOOGLE_APPLICATION_CREDENTIALS is not set".to_string()),
    }
    match well_known_file(src) {
        Some(path) if path.is_file() => {
            let text = std::fs::read_to_string(&path).map_err(|e| {
                CoreError::config(format!(
                    "Google token: gcloud's credentials file {} cannot be read: {e}",
                    path.display()
                ))
            })?;
            let source = format!("gcloud's credentials file {}", path.display());
            return from_file(src, &source, &text, scope).await;
        }
        Some(path) => tried.push(format!("gcloud's file {} does not exist", path.display())),
        None => tried.push("gcloud's file: no home folder (HOME, CLOUDSDK_CONFIG)".to_string()),
    }
    match metadata(src, scope).await? {
        Ok(t) => return Ok(t),
        Err(why) => tried.push(why),
    }
    let what = instance
        .map(|i| format!(" for the Cloud SQL instance `{i}`"))
        .unwrap_or_default();
    Err(CoreError::config(format!(
        "no Google credentials found{what}; tried {}; {LOGIN_HINT}",
        tried.join("; ")
    )))
}

/// `application_default_credentials.json` in gcloud's configuration folder.
fn well_known_file(src: &TokenSource) -> Option<PathBuf> {
    let dir = match src.var("CLOUDSDK_CONFIG") {
        Some(d) => PathBuf::from(d),
        None if cfg!(windows) => PathBuf::from(src.var("APPDATA")?).join("gcloud"),
        None => PathBuf::from(src.var("HOME")?)
            .join(".config")
            .join("gcloud"),
    };
    Some(dir.join("application_default_credentials.json"))
}

/// A credentials file: `service_account` or `authorized_user`.
async fn from_file(src: &TokenSource, source: &str, text: &str, scope: &str) -> Result<Token> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|_| {
        CoreError::config(format!("Google token: {source} is not JSON; {LOGIN_HINT}"))
    })?;
    let field = |k: &str| {
        v.get(k)
            .and_then(|x| x.as_str())
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let need = |k: &str| {
        field(k).ok_or_else(|| {
            CoreError::config(format!(
                "Google token: {source} has no `{k}`; download the key or sign in again"
            ))
        })
    };
    let token_uri = field("token_uri").unwrap_or_else(|| GOOGLE_TOKEN_URI.to_string());
    match field("type").as_deref() {
        Some("service_account") => {
            let email = need("client_email")?;
            let key = Secret::new(need("private_key")?);
            let now = unix_secs(src.now());
            let assertion = sign_assertion(
                &key,
                field("private_key_id").as_deref(),
                &email,
                &token_uri,
                scope,
                now,
            )
            .map_err(|why| {
                CoreError::config(format!(
                    "Google token: the private key of {source} cannot be used: {why}"
                ))
            })?;
            let req = Request::form(
                &token_uri,
                &[
                    ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
                    ("assertion", assertion.expose()),
                ],
                TIMEOUT,
            );
            let method = format!("the service account {email} of {source}");
            oauth::post(src, "Google", &method, &token_uri, req).await.map_err(|e| {
                oauth::with_fix(
                    e,
                    "check that the key is not deleted or disabled (gcloud iam service-accounts \
                     keys list) and that the clock of this machine is right",
                )
            })
        }
        Some("authorized_user") => {
            let client_id = need("client_id")?;
            let client_secret = Secret::new(need("client_secret")?);
            let refresh = Secret::new(need("refresh_token")?);
            let req = Request::form(
                &token_uri,
                &[
                    ("grant_type", "refresh_token"),
                    ("client_id", &client_id),
                    ("client_secret", client_secret.expose()),
                    ("refresh_token", refresh.expose()),
                ],
                TIMEOUT,
            );
            let method = format!("the signed-in user of {source}");
            oauth::post(src, "Google", &method, &token_uri, req)
                .await
                .map_err(|e| {
                    oauth::with_fix(
                        e,
                        "the sign-in has expired or was revoked: run `gcloud auth \
                     application-default login`",
                    )
                })
        }
        Some(other) => Err(CoreError::config(format!(
            "Google token: {source} is of type `{other}`, which the inspector does not support \
             (it knows service_account and authorized_user); {LOGIN_HINT}"
        ))),
        None => Err(CoreError::config(format!(
            "Google token: {source} has no `type`; {LOGIN_HINT}"
        ))),
    }
}

/// The metadata server's token of the attached service account. `Ok(Err(why))` when no
/// metadata server answers (the machine is not on Google Cloud).
async fn metadata(src: &TokenSource, scope: &str) -> Result<std::result::Result<Token, String>> {
    let host = src
        .var("GCE_METADATA_HOST")
        .unwrap_or_else(|| METADATA_HOST.to_string());
    let host = host.trim_end_matches('/');
    let base = if host.starts_with("http://") || host.starts_with("https://") {
        host.to_string()
    } else {
        format!("http://{host}")
    };
    let url = format!("{base}{METADATA_PATH}?scopes={}", http::form_encode(scope));
    let req = Request::get(&url, METADATA_PROBE).header("Metadata-Flavor", "Google");
    let r = match http::send(req).await {
        Ok(r) => r,
        Err(e) => {
            return Ok(Err(format!("metadata server: {base} did not answer ({e})")));
        }
    };
    if r.status != 200 {
        return Err(CoreError::config(format!(
            "Google token from the metadata server failed: {url} answered HTTP {}: {}; check \
             that a service account is attached to this resource",
            r.status,
            describe_error_body(&r.body)
        )));
    }
    oauth::parse(src, "Google", "the metadata server", &url, &r.body).map(Ok)
}

/// A JWT (RS256) asserting `email` for `scope`, audience `token_uri`.
fn sign_assertion(
    pem: &Secret,
    key_id: Option<&str>,
    email: &str,
    token_uri: &str,
    scope: &str,
    now: u64,
) -> std::result::Result<Secret, String> {
    let der = match rustls_pemfile::private_key(&mut pem.expose().as_bytes()) {
        Ok(Some(rustls::pki_types::PrivateKeyDer::Pkcs8(k))) => k,
        Ok(Some(_)) => return Err("it is not a PKCS#8 key (BEGIN PRIVATE KEY)".into()),
        Ok(None) | Err(_) => return Err("it is not a PEM private key".into()),
    };
    let pair = ring::signature::RsaKeyPair::from_pkcs8(der.secret_pkcs8_der())
        .map_err(|e| format!("it is not an RSA key ({e})"))?;
    let mut header = serde_json::json!({"alg": "RS256", "typ": "JWT"});
    if let Some(kid) = key_id {
        header["kid"] = kid.into();
    }
    let claims = serde_json::json!({
        "iss": email,
        "scope": scope,
        "aud": token_uri,
        "iat": now,
        "exp": now + ASSERTION_SECS,
    });
    let signed = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let mut sig = vec![0u8; pair.public().modulus_len()];
    pair.sign(
        &ring::signature::RSA_PKCS1_SHA256,
        &ring::rand::SystemRandom::new(),
        signed.as_bytes(),
        &mut sig,
    )
    .map_err(|_| "signing failed".to_string())?;
    Ok(Secret::new(format!(
        "{signed}.{}",
        URL_SAFE_NO_PAD.encode(sig)
    )))
}

fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloudauth::CLOUDSQL_SCOPE;

    #[test]
    fn a_key_that_is_not_pem_is_refused_without_echoing_it() {
        let key = Secret::new("not-a-key-material");
        let e = sign_assertion(&key, None, "a@b", GOOGLE_TOKEN_URI, CLOUDSQL_SCOPE, 1).unwrap_err();
        assert!(e.contains("PEM"), "{e}");
        assert!(!e.contains("not-a-key-material"), "{e}");
    }
}

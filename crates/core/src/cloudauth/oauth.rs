//! The OAuth token answer shared by Entra ID and Google: a token request POSTed, its
//! `access_token` read with `expires_on` (epoch seconds) or `expires_in` (seconds from now),
//! and every failure a configuration error naming the provider, the method and the URL.

use std::time::{Duration, SystemTime};

use super::http::{self, Request};
use super::{Token, TokenSource, describe_error_body, json_u64};
use crate::error::{CoreError, Result};
use crate::secrets::Secret;

/// POSTs a token request of `provider` (`Entra ID`, `Google`) and reads its answer.
pub(super) async fn post(
    src: &TokenSource,
    provider: &str,
    method: &str,
    url: &str,
    req: Request,
) -> Result<Token> {
    let r = http::send(req).await.map_err(|e| {
        CoreError::config(format!(
            "{provider} token from {method} failed: {url} could not be reached: {e}"
        ))
    })?;
    if r.status != 200 {
        return Err(CoreError::config(format!(
            "{provider} token from {method} failed: {url} answered HTTP {}: {}",
            r.status,
            describe_error_body(&r.body)
        )));
    }
    parse(src, provider, method, url, &r.body)
}

/// `access_token` with `expires_on` (epoch seconds) or `expires_in` (seconds from now); ten
/// minutes when the answer says neither.
pub(super) fn parse(
    src: &TokenSource,
    provider: &str,
    method: &str,
    url: &str,
    body: &str,
) -> Result<Token> {
    let v: serde_json::Value = serde_json::from_str(body).map_err(|_| {
        CoreError::config(format!(
            "{provider} token from {method}: {url} answered something that is not JSON"
        ))
    })?;
    let Some(token) = v.get("access_token").and_then(|t| t.as_str()) else {
        return Err(CoreError::config(format!(
            "{provider} token from {method}: {url} answered without an access_token"
        )));
    };
    let expires_at = match (json_u64(v.get("expires_on")), json_u64(v.get("expires_in"))) {
        (Some(on), _) => SystemTime::UNIX_EPOCH + Duration::from_secs(on),
        (None, Some(secs)) => src.now() + Duration::from_secs(secs),
        (None, None) => src.now() + Duration::from_secs(600),
    };
    Ok(Token {
        secret: Secret::new(token),
        expires_at,
    })
}

/// A configuration error with what to do added.
pub(super) fn with_fix(e: CoreError, fix: &str) -> CoreError {
    match e {
        CoreError::Config(m) => CoreError::Config(format!("{m}; {fix}")),
        other => other,
    }
}

//! Microsoft Entra ID access tokens, in Backstage's order (its `buildAzurePgConfig`): a client
//! secret when client id, tenant id and secret are all known; the user-assigned managed
//! identity of the client id when only that is; else `DefaultAzureCredential`'s chain as far
//! as it applies here: environment client secret, workload identity, managed identity, Azure
//! CLI.

use std::time::{Duration, SystemTime};

use super::http::{self, Request};
use super::oauth;
use super::{AZURE_SCOPE, Token, TokenSource, describe_error_body, json_u64};
use crate::error::{CoreError, Result};
use crate::secrets::Secret;

const DEFAULT_AUTHORITY: &str = "https://login.microsoftonline.com";
const IMDS: &str = "http://169.254.169.254";
const RESOURCE: &str = "https://ossrdbms-aad.database.windows.net";
const TIMEOUT: Duration = Duration::from_secs(20);
/// How long the instance metadata service may take to answer at all (off Azure it never does).
const IMDS_PROBE: Duration = Duration::from_secs(2);

/// Why a source of the chain was not used, or how it failed.
enum Outcome {
    Got(Token),
    /// Not configured here (the next source is tried).
    Unavailable(String),
}

pub(super) async fn fetch(
    src: &TokenSource,
    client_id: Option<&str>,
    tenant_id: Option<&str>,
    secret: Option<Secret>,
) -> Result<Token> {
    // Backstage: clientId + tenantId + clientSecret → client secret; clientId alone →
    // managed identity; else the default chain.
    if let (Some(c), Some(t), Some(s)) = (client_id, tenant_id, secret.as_ref()) {
        return client_secret(src, t, c, s).await;
    }
    if let Some(c) = client_id {
        return match managed_identity(src, Some(c)).await? {
            Outcome::Got(t) => Ok(t),
            Outcome::Unavailable(why) => Err(CoreError::config(format!(
                "no Entra ID token: the profile names the client id `{c}` without a tenant id \
                 and client secret, so a managed identity is used (as Backstage does), but {why}; \
                 run where the managed identity is available, or give --azure-tenant-id and a \
                 client secret (AZURE_CLIENT_SECRET or the keyring)"
            ))),
        };
    }
    let mut tried = Vec::new();
    match (
        src.var("AZURE_TENANT_ID"),
        src.var("AZURE_CLIENT_ID"),
        src.var("AZURE_CLIENT_SECRET"),
    ) {
        (Some(t), Some(c), Some(s)) => return client_secret(src, &t, &c, &Secret::new(s)).await,
        _ => tried.push(
            "environment: AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET are not all set"
                .to_string(),
        ),
    }
    match workload_identity(src).await? {
        Outcome::Got(t) => return Ok(t),
        Outcome::Unavailable(why) => tried.push(format!("workload identity: {why}")),
    }
    match managed_identity(src, src.var("AZURE_CLIENT_ID").as_deref()).await? {
        Outcome::Got(t) => return Ok(t),
        Outcome::Unavailable(why) => tried.push(format!("managed identity: {why}")),
    }
    match azure_cli(src).await? {
        Outcome::Got(t) => return Ok(t),
        Outcome::Unavailable(why) => tried.push(format!("Azure CLI: {why}")),
    }
    Err(CoreError::config(format!(
        "no Entra ID credentials found; tried {}; set AZURE_TENANT_ID, AZURE_CLIENT_ID and \
         AZURE_CLIENT_SECRET, give the profile --azure-client-id and --azure-tenant-id with a \
         client secret in the keyring, or sign in with `az login`",
        tried.join("; ")
    )))
}

fn authority(src: &TokenSource) -> String {
    src.var("AZURE_AUTHORITY_HOST")
        .unwrap_or_else(|| DEFAULT_AUTHORITY.to_string())
        .trim_end_matches('/')
        .to_string()
}

/// Client credentials at `{authority}/{tenant}/oauth2/v2.0/token`.
async fn client_secret(
    src: &TokenSource,
    tenant: &str,
    client_id: &str,
    secret: &Secret,
) -> Result<Token> {
    let url = format!("{}/{tenant}/oauth2/v2.0/token", authority(src));
    let req = Request::form(
        &url,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_secret", secret.expose()),
            ("scope", AZURE_SCOPE),
        ],
        TIMEOUT,
    );
    oauth::post(src, "Entra ID", "client secret", &url, req)
        .await
        .map_err(|e| {
            oauth::with_fix(
                e,
                "check the tenant id, the client id and the client secret (AZURE_CLIENT_SECRET or \
             the keyring entry of the profile)",
            )
        })
}

/// Workload identity (AKS): the federated token file as a client assertion.
async fn workload_identity(src: &TokenSource) -> Result<Outcome> {
    let (Some(file), Some(client), Some(tenant)) = (
        src.var("AZURE_FEDERATED_TOKEN_FILE"),
        src.var("AZURE_CLIENT_ID"),
        src.var("AZURE_TENANT_ID"),
    ) else {
        return Ok(Outcome::Unavailable(
            "AZURE_FEDERATED_TOKEN_FILE, AZURE_CLIENT_ID and AZURE_TENANT_ID are not all set"
                .into(),
        ));
    };
    let assertion = std::fs::read_to_string(&file).map_err(|e| {
        CoreError::config(format!(
            "workload identity: the federated token file {file} (AZURE_FEDERATED_TOKEN_FILE) \
             cannot be read: {e}"
        ))
    })?;
    let url = format!("{}/{tenant}/oauth2/v2.0/token", authority(src));
    let req = Request::form(
        &url,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &client),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", assertion.trim()),
            ("scope", AZURE_SCOPE),
        ],
        TIMEOUT,
    );
    oauth::post(src, "Entra ID", "workload identity", &url, req)
        .await
        .map(Outcome::Got)
        .map_err(|e| {
            oauth::with_fix(
                e,
                "check the federated identity credential of the app registration (issuer and \
                 subject of the service account)",
            )
        })
}

/// Managed identity: App Service / Container Apps (`IDENTITY_ENDPOINT` + `IDENTITY_HEADER`),
/// else the instance metadata service.
async fn managed_identity(src: &TokenSource, client_id: Option<&str>) -> Result<Outcome> {
    let client = client_id
        .map(|c| format!("&client_id={}", http::form_encode(c)))
        .unwrap_or_default();
    let resource = http::form_encode(RESOURCE);
    let (url, req, method) = if let (Some(endpoint), Some(header)) =
        (src.var("IDENTITY_ENDPOINT"), src.var("IDENTITY_HEADER"))
    {
        let sep = if endpoint.contains('?') { '&' } else { '?' };
        let url = format!("{endpoint}{sep}api-version=2019-08-01&resource={resource}{client}");
        let req = Request::get(&url, TIMEOUT).header("X-IDENTITY-HEADER", header);
        (url, req, "managed identity (IDENTITY_ENDPOINT)")
    } else {
        let host = src
            .var("AZURE_POD_IDENTITY_AUTHORITY_HOST")
            .unwrap_or_else(|| IMDS.to_string());
        let url = format!(
            "{}/metadata/identity/oauth2/token?api-version=2018-02-01&resource={resource}{client}",
            host.trim_end_matches('/')
        );
        let req = Request::get(&url, IMDS_PROBE).header("Metadata", "true");
        (url, req, "managed identity (instance metadata)")
    };
    match http::send(req).await {
        Err(e) if method.contains("metadata") => Ok(Outcome::Unavailable(format!(
            "the instance metadata service at {url} did not answer ({e})"
        ))),
        Err(e) => Err(CoreError::config(format!(
            "Entra ID token from {method} failed: {url} could not be reached: {e}; check \
             IDENTITY_ENDPOINT"
        ))),
        Ok(r) if r.status == 200 => {
            oauth::parse(src, "Entra ID", method, &url, &r.body).map(Outcome::Got)
        }
        Ok(r) => Err(CoreError::config(format!(
            "Entra ID token from {method} failed: {url} answered HTTP {}: {}; check that the \
             identity is assigned to this resource{}",
            r.status,
            describe_error_body(&r.body),
            if client_id.is_some() {
                " and that the client id names it"
            } else {
                ""
            }
        ))),
    }
}

/// `az account get-access-token` (the signed-in user of the Azure CLI).
async fn azure_cli(src: &TokenSource) -> Result<Outcome> {
    let mut cmd = tokio::process::Command::new("az");
    cmd.args([
        "account",
        "get-access-token",
        "--output",
        "json",
        "--resource",
        RESOURCE,
    ]);
    if let Some(t) = src.var("AZURE_TENANT_ID") {
        cmd.args(["--tenant", &t]);
    }
    cmd.stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return Ok(Outcome::Unavailable(format!("`az` cannot be run ({e})"))),
    };
    let out = match tokio::time::timeout(TIMEOUT, child.wait_with_output()).await {
        Ok(Ok(out)) => out,
        Ok(Err(e)) => return Ok(Outcome::Unavailable(format!("`az` failed to run ({e})"))),
        Err(_) => return Ok(Outcome::Unavailable("`az` did not answer in 20 s".into())),
    };
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let first = err.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        return Ok(Outcome::Unavailable(format!(
            "`az account get-access-token` failed ({first}); run `az login`"
        )));
    }
    let body = String::from_utf8_lossy(&out.stdout);
    let v: serde_json::Value = serde_json::from_str(&body).map_err(|_| {
        CoreError::config("`az account get-access-token` did not print JSON; update the Azure CLI")
    })?;
    let Some(token) = v.get("accessToken").and_then(|t| t.as_str()) else {
        return Err(CoreError::config(
            "`az account get-access-token` printed no accessToken; update the Azure CLI",
        ));
    };
    // `expires_on` (epoch seconds) in newer CLIs; `expiresOn` is local time and not used.
    let expires_at = json_u64(v.get("expires_on"))
        .map(|s| SystemTime::UNIX_EPOCH + Duration::from_secs(s))
        .unwrap_or_else(|| src.now() + Duration::from_secs(600));
    Ok(Outcome::Got(Token {
        secret: Secret::new(token),
        expires_at,
    }))
}

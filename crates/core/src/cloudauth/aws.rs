//! AWS credentials from the standard chain, and RDS IAM tokens signed with them.
//!
//! The chain, as the AWS SDK for JavaScript (which Backstage's `@aws-sdk/rds-signer` uses)
//! walks it: the environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
//! `AWS_SESSION_TOKEN`; skipped when a profile is named), the shared files
//! (`~/.aws/credentials` and `~/.aws/config`, or `AWS_SHARED_CREDENTIALS_FILE` and
//! `AWS_CONFIG_FILE`; static keys, `credential_process`, `web_identity_token_file`), web
//! identity (`AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN` → STS
//! `AssumeRoleWithWebIdentity`), the container endpoint (`AWS_CONTAINER_CREDENTIALS_*`), and
//! the instance metadata service (IMDSv2).

use std::collections::HashMap;
use std::time::Duration;

use super::http::{self, Request};
use super::sigv4::{self, AwsCredentials, EMPTY_PAYLOAD_SHA256, Presign};
use super::{RDS_TOKEN_SECS, Token, TokenSource, describe_error_body};
use crate::error::{CoreError, Result};
use crate::secrets::Secret;

const TIMEOUT: Duration = Duration::from_secs(20);
const IMDS: &str = "http://169.254.169.254";
const IMDS_PROBE: Duration = Duration::from_secs(2);

enum Outcome {
    Got(AwsCredentials, &'static str),
    Unavailable(String),
}

/// An RDS IAM token for `user` at `host:port`, valid [`RDS_TOKEN_SECS`].
pub(super) async fn rds_token(
    src: &TokenSource,
    region: Option<&str>,
    aws_profile: Option<&str>,
    host: &str,
    port: u16,
    user: &str,
) -> Result<Token> {
    let region = region
        .map(str::to_string)
        .or_else(|| src.var("AWS_REGION"))
        .or_else(|| src.var("AWS_DEFAULT_REGION"))
        .ok_or_else(|| {
            CoreError::config(
                "RDS IAM authentication needs a region: set the profile's region \
                 (--aws-region) or AWS_REGION",
            )
        })?;
    let (creds, from) = resolve_credentials(src, aws_profile, &region).await?;
    tracing::debug!(credentials = from, region = %region, "signing an RDS IAM token");
    let now = src.now();
    let host_port = format!("{host}:{port}");
    let query = sigv4::presign(
        &Presign {
            host: &host_port,
            path: "/",
            params: &[("Action", "connect"), ("DBUser", user)],
            service: "rds-db",
            region: &region,
            expires_secs: RDS_TOKEN_SECS,
            payload_hash: EMPTY_PAYLOAD_SHA256,
        },
        &creds,
        now,
    );
    Ok(Token {
        secret: Secret::new(format!("{host_port}/?{query}")),
        expires_at: now + Duration::from_secs(RDS_TOKEN_SECS),
    })
}

/// The first credentials of the chain, and which source gave them.
pub async fn resolve_credentials(
    src: &TokenSource,
    aws_profile: Option<&str>,
    region: &str,
) -> Result<(AwsCredentials, &'static str)> {
    let named = aws_profile
        .map(str::to_string)
        .or_else(|| src.var("AWS_PROFILE"));
    let mut tried = Vec::new();
    if named.is_none() {
        match (
            src.var("AWS_ACCESS_KEY_ID"),
            src.var("AWS_SECRET_ACCESS_KEY"),
        ) {
            (Some(id), Some(secret)) => {
                return Ok((
                    AwsCredentials {
                        access_key_id: id,
                        secret_access_key: Secret::new(secret),
                        session_token: src.var("AWS_SESSION_TOKEN").map(Secret::new),
                    },
                    "environment",
                ));
            }
            _ => tried.push(
                "environment: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set".to_string(),
            ),
        }
    }
    let profile = named.clone().unwrap_or_else(|| "default".into());
    match shared_files(src, &profile, named.is_some(), region).await? {
        Outcome::Got(c, from) => return Ok((c, from)),
        Outcome::Unavailable(why) => tried.push(format!("shared files: {why}")),
    }
    match (
        src.var("AWS_WEB_IDENTITY_TOKEN_FILE"),
        src.var("AWS_ROLE_ARN"),
    ) {
        (Some(file), Some(role)) => {
            return web_identity(src, &file, &role, region)
                .await
                .map(|c| (c, "web identity"));
        }
        _ => tried.push(
            "web identity: AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN are not set".to_string(),
        ),
    }
    match container(src).await? {
        Outcome::Got(c, from) => return Ok((c, from)),
        Outcome::Unavailable(why) => tried.push(format!("container: {why}")),
    }
    match imds(src).await? {
        Outcome::Got(c, from) => return Ok((c, from)),
        Outcome::Unavailable(why) => tried.push(format!("instance metadata: {why}")),
    }
    Err(CoreError::config(format!(
        "no AWS credentials found to sign the RDS IAM token; tried {}; set AWS_ACCESS_KEY_ID and \
         AWS_SECRET_ACCESS_KEY, name a profile of ~/.aws/credentials (--aws-profile or \
         AWS_PROFILE), or run where a role is attached",
        tried.join("; ")
    )))
}

fn home_file(src: &TokenSource, var: &str, name: &str) -> Option<std::path::PathBuf> {
    if let Some(p) = src.var(var) {
        return Some(p.into());
    }
    let home = src.var("HOME").or_else(|| src.var("USERPROFILE"))?;
    Some(std::path::Path::new(&home).join(".aws").join(name))
}

/// The sections of an INI file: `[name]` → keys (lower-case) → values.
pub(super) fn parse_ini(text: &str) -> HashMap<String, HashMap<String, String>> {
    let mut out: HashMap<String, HashMap<String, String>> = HashMap::new();
    let mut section = None;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let name = name.trim().to_string();
            out.entry(name.clone()).or_default();
            section = Some(name);
        } else if let (Some(s), Some((k, v))) = (&section, line.split_once('=')) {
            out.entry(s.clone())
                .or_default()
                .insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    out
}

async fn shared_files(
    src: &TokenSource,
    profile: &str,
    named: bool,
    region: &str,
) -> Result<Outcome> {
    let cred_path = home_file(src, "AWS_SHARED_CREDENTIALS_FILE", "credentials");
    let conf_path = home_file(src, "AWS_CONFIG_FILE", "config");
    let read = |p: &Option<std::path::PathBuf>| {
        p.as_ref()
            .and_then(|p| std::fs::read_to_string(p).ok())
            .map(|t| parse_ini(&t))
            .unwrap_or_default()
    };
    let creds = read(&cred_path);
    let conf = read(&conf_path);
    let mut section: HashMap<String, String> = HashMap::new();
    let conf_name = if profile == "default" {
        "default".to_string()
    } else {
        format!("profile {profile}")
    };
    let mut found = false;
    for s in [conf.get(&conf_name), conf.get(profile), creds.get(profile)]
        .into_iter()
        .flatten()
    {
        found = true;
        section.extend(s.clone());
    }
    let files = [&cred_path, &conf_path]
        .iter()
        .filter_map(|p| p.as_ref().map(|p| p.display().to_string()))
        .collect::<Vec<_>>()
        .join(" and ");
    if !found {
        let why = format!("no profile `{profile}` in {files}");
        return if named {
            Err(CoreError::config(format!(
                "the AWS profile `{profile}` is not in {files}; name a profile that exists \
                 (--aws-profile or AWS_PROFILE)"
            )))
        } else {
            Ok(Outcome::Unavailable(why))
        };
    }
    if let (Some(id), Some(secret)) = (
        section.get("aws_access_key_id"),
        section.get("aws_secret_access_key"),
    ) {
        return Ok(Outcome::Got(
            AwsCredentials {
                access_key_id: id.clone(),
                secret_access_key: Secret::new(secret.clone()),
                session_token: section.get("aws_session_token").cloned().map(Secret::new),
            },
            "shared credentials file",
        ));
    }
    if let (Some(file), Some(role)) = (
        section.get("web_identity_token_file"),
        section.get("role_arn"),
    ) {
        return web_identity(src, file, role, region)
            .await
            .map(|c| Outcome::Got(c, "shared config (web identity)"));
    }
    if let Some(cmd) = section.get("credential_process") {
        return credential_process(cmd)
            .await
            .map(|c| Outcome::Got(c, "credential_process"));
    }
    let why = format!(
        "the profile `{profile}` has no keys, web_identity_token_file or credential_process \
         (SSO and role chaining with source_profile are not supported: run \
         `aws configure export-credentials --profile {profile} --format env` and use the \
         environment)"
    );
    if named {
        Err(CoreError::config(format!("AWS credentials: {why}")))
    } else {
        Ok(Outcome::Unavailable(why))
    }
}

async fn credential_process(cmd: &str) -> Result<AwsCredentials> {
    let secret = crate::secrets::run_password_command(&format!("{cmd} | tr -d '\\n'"))
        .await
        .map_err(|e| CoreError::config(format!("AWS credential_process: {e}")))?;
    let v: serde_json::Value = serde_json::from_str(secret.expose())
        .map_err(|_| CoreError::config("AWS credential_process did not print JSON"))?;
    creds_from_json(&v, "AWS credential_process", "Token")
        .or_else(|_| creds_from_json(&v, "AWS credential_process", "SessionToken"))
}

fn creds_from_json(v: &serde_json::Value, what: &str, token_key: &str) -> Result<AwsCredentials> {
    let field = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
    match (field("AccessKeyId"), field("SecretAccessKey")) {
        (Some(id), Some(secret)) => Ok(AwsCredentials {
            access_key_id: id,
            secret_access_key: Secret::new(secret),
            session_token: field(token_key).map(Secret::new),
        }),
        _ => Err(CoreError::config(format!(
            "{what} answered without AccessKeyId and SecretAccessKey"
        ))),
    }
}

/// The text of `<tag>` in an XML answer, unescaped.
fn xml_text(body: &str, tag: &str) -> Option<String> {
    let start = body.find(&format!("<{tag}>"))? + tag.len() + 2;
    let end = body[start..].find(&format!("</{tag}>"))? + start;
    Some(
        body[start..end]
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&amp;", "&"),
    )
}

/// STS `AssumeRoleWithWebIdentity` with the token in `file`.
async fn web_identity(
    src: &TokenSource,
    file: &str,
    role: &str,
    region: &str,
) -> Result<AwsCredentials> {
    let token = std::fs::read_to_string(file).map_err(|e| {
        CoreError::config(format!(
            "AWS web identity: the token file {file} cannot be read: {e}"
        ))
    })?;
    let endpoint = src
        .var("AWS_ENDPOINT_URL_STS")
        .or_else(|| src.var("AWS_ENDPOINT_URL"))
        .unwrap_or_else(|| format!("https://sts.{region}.amazonaws.com"));
    let url = format!("{}/", endpoint.trim_end_matches('/'));
    let session = src
        .var("AWS_ROLE_SESSION_NAME")
        .unwrap_or_else(|| "backstage-inspector".into());
    let req = Request::form(
        &url,
        &[
            ("Action", "AssumeRoleWithWebIdentity"),
            ("Version", "2011-06-15"),
            ("RoleArn", role),
            ("RoleSessionName", &session),
            ("WebIdentityToken", token.trim()),
        ],
        TIMEOUT,
    );
    let r = http::send(req).await.map_err(|e| {
        CoreError::config(format!(
            "AWS web identity failed: {url} could not be reached: {e}"
        ))
    })?;
    if r.status != 200 {
        let detail = match (xml_text(&r.body, "Code"), xml_text(&r.body, "Message")) {
            (Some(c), Some(m)) => format!("{c}: {m}"),
            _ => describe_error_body(&r.body),
        };
        return Err(CoreError::config(format!(
            "AWS web identity failed: STS at {url} answered HTTP {}: {detail}; check the role \
             {role} and its trust policy for this identity provider",
            r.status
        )));
    }
    match (
        xml_text(&r.body, "AccessKeyId"),
        xml_text(&r.body, "SecretAccessKey"),
        xml_text(&r.body, "SessionToken"),
    ) {
        (Some(id), Some(secret), token) => Ok(AwsCredentials {
            access_key_id: id,
            secret_access_key: Secret::new(secret),
            session_token: token.map(Secret::new),
        }),
        _ => Err(CoreError::config(format!(
            "AWS web identity: STS at {url} answered without credentials"
        ))),
    }
}

/// The ECS/EKS container credentials endpoint.
async fn container(src: &TokenSource) -> Result<Outcome> {
    let url = if let Some(rel) = src.var("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") {
        format!("http://169.254.170.2{rel}")
    } else if let Some(full) = src.var("AWS_CONTAINER_CREDENTIALS_FULL_URI") {
        full
    } else {
        return Ok(Outcome::Unavailable(
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and _FULL_URI are not set".into(),
        ));
    };
    let mut req = Request::get(&url, TIMEOUT);
    let auth = match src.var("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE") {
        Some(f) => std::fs::read_to_string(&f)
            .ok()
            .map(|t| t.trim().to_string()),
        None => src.var("AWS_CONTAINER_AUTHORIZATION_TOKEN"),
    };
    if let Some(a) = auth {
        req = req.header("Authorization", a);
    }
    let r = http::send(req).await.map_err(|e| {
        CoreError::config(format!(
            "AWS container credentials failed: {url} could not be reached: {e}"
        ))
    })?;
    if r.status != 200 {
        return Err(CoreError::config(format!(
            "AWS container credentials failed: {url} answered HTTP {}: {}",
            r.status,
            describe_error_body(&r.body)
        )));
    }
    let v: serde_json::Value = serde_json::from_str(&r.body)
        .map_err(|_| CoreError::config(format!("AWS container credentials: {url} sent no JSON")))?;
    creds_from_json(&v, "the container credentials endpoint", "Token")
        .map(|c| Outcome::Got(c, "container"))
}

/// IMDSv2: a session token (PUT), the role name, the role's credentials.
async fn imds(src: &TokenSource) -> Result<Outcome> {
    if src
        .var("AWS_EC2_METADATA_DISABLED")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    {
        return Ok(Outcome::Unavailable(
            "AWS_EC2_METADATA_DISABLED is set".into(),
        ));
    }
    let base = src
        .var("AWS_EC2_METADATA_SERVICE_ENDPOINT")
        .unwrap_or_else(|| IMDS.to_string());
    let base = base.trim_end_matches('/');
    let token_url = format!("{base}/latest/api/token");
    let mut put = Request::get(&token_url, IMDS_PROBE)
        .header("X-aws-ec2-metadata-token-ttl-seconds", "21600");
    put.method = "PUT";
    let r = match http::send(put).await {
        Ok(r) => r,
        Err(e) => {
            return Ok(Outcome::Unavailable(format!(
                "{token_url} did not answer ({e})"
            )));
        }
    };
    let fail = |url: &str, r: &http::Response| {
        CoreError::config(format!(
            "AWS instance metadata failed: {url} answered HTTP {}: {}; check that the instance \
             has an IAM role (instance profile) and that IMDSv2 is reachable (hop limit)",
            r.status,
            describe_error_body(&r.body)
        ))
    };
    if r.status != 200 {
        return Err(fail(&token_url, &r));
    }
    let session = r.body.trim().to_string();
    let list_url = format!("{base}/latest/meta-data/iam/security-credentials/");
    let get =
        |url: &str| Request::get(url, TIMEOUT).header("X-aws-ec2-metadata-token", session.clone());
    let r = http::send(get(&list_url))
        .await
        .map_err(|e| CoreError::config(format!("AWS instance metadata: {list_url}: {e}")))?;
    if r.status != 200 {
        return Err(fail(&list_url, &r));
    }
    let Some(role) = r.body.lines().map(str::trim).find(|l| !l.is_empty()) else {
        return Err(CoreError::config(
            "AWS instance metadata: the instance has no IAM role; attach an instance profile",
        ));
    };
    let role_url = format!("{list_url}{role}");
    let r = http::send(get(&role_url))
        .await
        .map_err(|e| CoreError::config(format!("AWS instance metadata: {role_url}: {e}")))?;
    if r.status != 200 {
        return Err(fail(&role_url, &r));
    }
    let v: serde_json::Value = serde_json::from_str(&r.body).map_err(|_| {
        CoreError::config(format!("AWS instance metadata: {role_url} sent no JSON"))
    })?;
    creds_from_json(&v, "the instance metadata service", "Token")
        .map(|c| Outcome::Got(c, "instance metadata"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ini_and_xml() {
        let ini = parse_ini("[default]\naws_access_key_id = A\n# c\n[profile x]\nRegion=eu\n");
        assert_eq!(ini["default"]["aws_access_key_id"], "A");
        assert_eq!(ini["profile x"]["region"], "eu");
        assert_eq!(
            xml_text("<a><Code>X&amp;Y</Code></a>", "Code").as_deref(),
            Some("X&Y")
        );
    }
}

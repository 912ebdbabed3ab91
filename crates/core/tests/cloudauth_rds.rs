//! RDS IAM token authentication end to end against local emulators (never AWS itself): the
//! clock is fixed, so the token is known before connecting and becomes the password of a role
//! of the test server; a successful connection proves the token was used. Credentials from the
//! environment, a shared credentials file, web identity (an STS emulator) and IMDSv2 (an
//! instance metadata emulator); the token's structure and signature are checked against an
//! independent signing of the same request. Also: TLS is required, and no credentials lists
//! what was tried.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod emulator;

use bsi_core::cloudauth::sigv4::{self, AwsCredentials, EMPTY_PAYLOAD_SHA256, Presign};
use bsi_core::cloudauth::{SharedEnv, TokenSource};
use bsi_core::connect::Connections;
use bsi_core::profile::AuthMethod;
use bsi_core::secrets::Secret;
use bsi_core::tls::SslMode;
use emulator::{Emulator, closed, env, fixed_clock, profile, role_with_password};

/// 2026-03-01T12:00:00Z.
const SIGNED_AT: u64 = 1_772_366_400;

fn rds(region: Option<&str>, aws_profile: Option<&str>) -> AuthMethod {
    AuthMethod::Rds {
        region: region.map(str::to_string),
        aws_profile: aws_profile.map(str::to_string),
    }
}

/// The token signed for `user` at the harness's server with these credentials, computed here
/// with the signer alone (no credential chain).
fn expected_token(user: &str, region: &str, creds: &AwsCredentials) -> String {
    let host = format!("localhost:{}", bsi_testkit::shared().port);
    let q = sigv4::presign(
        &Presign {
            host: &host,
            path: "/",
            params: &[("Action", "connect"), ("DBUser", user)],
            service: "rds-db",
            region,
            expires_secs: 900,
            payload_hash: EMPTY_PAYLOAD_SHA256,
        },
        creds,
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(SIGNED_AT),
    );
    format!("{host}/?{q}")
}

fn creds(id: &str, secret: &str, token: Option<&str>) -> AwsCredentials {
    AwsCredentials {
        access_key_id: id.into(),
        secret_access_key: Secret::new(secret),
        session_token: token.map(Secret::new),
    }
}

/// Signs a token with `method` and `vars`, checks it against `expected`, makes it the role's
/// password and connects with it.
/// `region` is the one the token must be signed for (the profile's or the environment's).
async fn signs_in(
    name: &str,
    method: AuthMethod,
    region: &str,
    vars: SharedEnv,
    expected: &AwsCredentials,
) {
    let role = format!("{name}_{}", std::process::id());
    let source = || TokenSource::new(method.clone(), vars.clone(), fixed_clock(SIGNED_AT));
    let port = bsi_testkit::shared().port;
    let token = source().token("localhost", port, &role).await.unwrap();
    let token = token.expose().to_string();
    assert_eq!(token, expected_token(&role, region, expected));
    assert!(token.starts_with(&format!("localhost:{port}/?Action=connect&DBUser={role}&")));
    assert!(token.contains(&format!(
        "X-Amz-Credential={}%2F20260301%2F{region}%2Frds-db%2Faws4_request",
        expected.access_key_id
    )));
    assert!(token.contains("&X-Amz-Date=20260301T120000Z&X-Amz-Expires=900&"));
    assert_eq!(
        token.contains("X-Amz-Security-Token="),
        expected.session_token.is_some()
    );
    assert!(!token.starts_with("https://"));

    role_with_password(&role, &token);
    let conns = Connections::with_token_source(profile(name, &role), source());
    assert_eq!(conns.test().await.unwrap().user, role);
    conns.close().await;
}

#[tokio::test]
async fn credentials_from_the_environment() {
    let vars = env(&[
        ("AWS_ACCESS_KEY_ID", "AKIDENVEXAMPLE".into()),
        ("AWS_SECRET_ACCESS_KEY", "env/secret+key".into()),
        ("AWS_SESSION_TOKEN", "session/token=".into()),
        ("AWS_REGION", "eu-west-1".into()),
        ("AWS_EC2_METADATA_SERVICE_ENDPOINT", closed()),
    ]);
    signs_in(
        "rds_env",
        rds(None, None),
        "eu-west-1",
        vars,
        &creds("AKIDENVEXAMPLE", "env/secret+key", Some("session/token=")),
    )
    .await;
}

#[tokio::test]
async fn credentials_from_a_shared_credentials_file_profile() {
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir(home.path().join(".aws")).unwrap();
    std::fs::write(
        home.path().join(".aws/credentials"),
        "[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = nope\n\n\
         [prod]\naws_access_key_id = AKIDPRODFILE\naws_secret_access_key = prod-secret\n",
    )
    .unwrap();
    let vars = env(&[
        ("HOME", home.path().display().to_string()),
        // A named profile wins over keys in the environment, as in the AWS SDKs.
        ("AWS_ACCESS_KEY_ID", "AKIDENVIGNORED".into()),
        ("AWS_SECRET_ACCESS_KEY", "ignored".into()),
        ("AWS_EC2_METADATA_SERVICE_ENDPOINT", closed()),
    ]);
    signs_in(
        "rds_file",
        rds(Some("us-east-2"), Some("prod")),
        "us-east-2",
        vars,
        &creds("AKIDPRODFILE", "prod-secret", None),
    )
    .await;
}

#[tokio::test]
async fn credentials_from_web_identity_through_sts() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, "oidc.jwt.token").unwrap();
    let sts = Emulator::start(|r| {
        let form = r.form();
        if form.get("Action").map(String::as_str) != Some("AssumeRoleWithWebIdentity")
            || form.get("WebIdentityToken").map(String::as_str) != Some("oidc.jwt.token")
            || form.get("RoleArn").map(String::as_str) != Some("arn:aws:iam::123:role/bs")
        {
            return (400, "<ErrorResponse><Error><Code>InvalidIdentityToken</Code><Message>bad</Message></Error></ErrorResponse>".into());
        }
        (200, "<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials>\
               <AccessKeyId>ASIAWEBIDENTITY</AccessKeyId><SecretAccessKey>wi/secret</SecretAccessKey>\
               <SessionToken>wi-session&amp;token</SessionToken><Expiration>2026-03-01T13:00:00Z</Expiration>\
               </Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>".into())
    });
    let vars = env(&[
        ("AWS_WEB_IDENTITY_TOKEN_FILE", file.display().to_string()),
        ("AWS_ROLE_ARN", "arn:aws:iam::123:role/bs".into()),
        ("AWS_ENDPOINT_URL_STS", sts.url()),
        ("AWS_REGION", "ap-south-1".into()),
        ("HOME", dir.path().display().to_string()),
    ]);
    signs_in(
        "rds_wi",
        rds(None, None),
        "ap-south-1",
        vars,
        &creds("ASIAWEBIDENTITY", "wi/secret", Some("wi-session&token")),
    )
    .await;
    assert_eq!(sts.requests()[0].method, "POST");
}

#[tokio::test]
async fn credentials_from_instance_metadata_v2() {
    let imds = Emulator::start(|r| {
        let session = r.headers.get("x-aws-ec2-metadata-token").cloned();
        match (r.method.as_str(), r.path()) {
            ("PUT", "/latest/api/token")
                if r.headers.contains_key("x-aws-ec2-metadata-token-ttl-seconds") =>
            {
                (200, "imds-session-1".into())
            }
            (_, _) if session.as_deref() != Some("imds-session-1") => (401, String::new()),
            ("GET", "/latest/meta-data/iam/security-credentials/") => (200, "bs-role".into()),
            ("GET", "/latest/meta-data/iam/security-credentials/bs-role") => (
                200,
                r#"{"Code":"Success","Type":"AWS-HMAC","AccessKeyId":"ASIAIMDS","SecretAccessKey":"imds/secret","Token":"imds-token","Expiration":"2026-03-01T18:00:00Z"}"#.into(),
            ),
            _ => (404, String::new()),
        }
    });
    let home = tempfile::tempdir().unwrap();
    let vars = env(&[
        ("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.url()),
        ("HOME", home.path().display().to_string()),
    ]);
    signs_in(
        "rds_imds",
        rds(Some("eu-north-1"), None),
        "eu-north-1",
        vars,
        &creds("ASIAIMDS", "imds/secret", Some("imds-token")),
    )
    .await;
    // Session token, role name, credentials: once for the token checked above, once for the
    // connection.
    assert_eq!(imds.requests().len(), 6);
}

#[tokio::test]
async fn tls_is_required() {
    let vars = env(&[
        ("AWS_ACCESS_KEY_ID", "AKID".into()),
        ("AWS_SECRET_ACCESS_KEY", "s".into()),
    ]);
    let mut p = profile("rds-plain", "nobody");
    p.tls.sslmode = SslMode::Prefer;
    let conns = Connections::with_token_source(
        p,
        TokenSource::new(rds(Some("eu-west-1"), None), vars, fixed_clock(SIGNED_AT)),
    );
    let msg = conns.test().await.unwrap_err().to_string();
    assert!(msg.contains("RDS IAM authentication needs TLS"), "{msg}");
    assert!(msg.contains("verify-full"), "{msg}");
    assert!(msg.contains("global-bundle.pem"), "{msg}");
}

#[tokio::test]
async fn no_credentials_lists_what_was_tried() {
    let home = tempfile::tempdir().unwrap();
    let vars = env(&[
        ("HOME", home.path().display().to_string()),
        ("AWS_EC2_METADATA_SERVICE_ENDPOINT", closed()),
    ]);
    let tokens = TokenSource::new(rds(Some("eu-west-1"), None), vars, fixed_clock(SIGNED_AT));
    let msg = tokens.token("h", 5432, "u").await.unwrap_err().to_string();
    for tried in [
        "environment",
        "shared files",
        "web identity",
        "container",
        "instance metadata",
    ] {
        assert!(msg.contains(tried), "{tried}: {msg}");
    }

    let tokens = TokenSource::new(rds(None, None), env(&[]), fixed_clock(SIGNED_AT));
    let msg = tokens.token("h", 5432, "u").await.unwrap_err().to_string();
    assert!(msg.contains("needs a region"), "{msg}");
}

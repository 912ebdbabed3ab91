//! Cloud SQL IAM token authentication end to end against local emulators of Google's token
//! endpoint and metadata server (never Google itself): the token an emulator serves is the
//! password of a role of the test server, so a successful connection proves the token was
//! used. A service account key (made by openssl for the test; the emulator checks the
//! assertion's claims and its RS256 signature with the public key) with renewal before expiry,
//! a key the emulator does not know, gcloud's `authorized_user` file (the refresh grant's
//! fields checked), the metadata server (its header checked), an HTTP 400 `invalid_grant`, and
//! no credentials at all.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod emulator;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bsi_core::cloudauth::{CLOUDSQL_SCOPE, TokenSource};
use bsi_core::connect::Connections;
use bsi_core::profile::AuthMethod;
use emulator::{Emulator, Req, TestClock, closed, env, fixed_clock, profile, role_with_password};

fn cloudsql() -> AuthMethod {
    AuthMethod::Cloudsql {
        instance: Some("proj:europe-west1:backstage".into()),
        route: Default::default(),
        ip_type: Default::default(),
    }
}

/// A fresh RSA key made by openssl: (PKCS#8 PEM, PKCS#1 public key DER).
fn test_key(dir: &Path, name: &str) -> (String, Vec<u8>) {
    let pem = dir.join(format!("{name}.pem"));
    let der = dir.join(format!("{name}.pub.der"));
    let run = |args: &[&str]| {
        let out = std::process::Command::new("openssl")
            .args(args)
            .output()
            .expect("openssl runs");
        assert!(out.status.success(), "openssl {args:?}: {out:?}");
    };
    run(&[
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        "rsa_keygen_bits:2048",
        "-out",
        pem.to_str().unwrap(),
    ]);
    run(&[
        "rsa",
        "-in",
        pem.to_str().unwrap(),
        "-RSAPublicKey_out",
        "-outform",
        "DER",
        "-out",
        der.to_str().unwrap(),
    ]);
    (
        std::fs::read_to_string(pem).unwrap(),
        std::fs::read(der).unwrap(),
    )
}

fn write_json(path: &Path, v: &serde_json::Value) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, serde_json::to_string_pretty(v).unwrap()).unwrap();
}

/// What is wrong with the service-account assertion of `r`, checked as Google does: the
/// grant type, the RS256 signature with `public_der`, and the claims (`iat` near `now`).
fn check_assertion(
    r: &Req,
    public_der: &[u8],
    email: &str,
    aud: &str,
    now: u64,
) -> Result<(), String> {
    let form = r.form();
    if form.get("grant_type").map(String::as_str)
        != Some("urn:ietf:params:oauth:grant-type:jwt-bearer")
    {
        return Err(format!("grant_type {:?}", form.get("grant_type")));
    }
    let jwt = form.get("assertion").ok_or("no assertion")?;
    let parts: Vec<&str> = jwt.split('.').collect();
    let [header, claims, sig] = parts[..] else {
        return Err("not three parts".into());
    };
    let sig = URL_SAFE_NO_PAD.decode(sig).map_err(|e| e.to_string())?;
    ring::signature::UnparsedPublicKey::new(
        &ring::signature::RSA_PKCS1_2048_8192_SHA256,
        public_der,
    )
    .verify(format!("{header}.{claims}").as_bytes(), &sig)
    .map_err(|_| "Invalid JWT Signature.".to_string())?;
    let json = |part: &str| -> serde_json::Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    };
    let (header, claims) = (json(header), json(claims));
    if header["alg"] != "RS256" || header["kid"] != "key-id-1" {
        return Err(format!("header {header}"));
    }
    let iat = claims["iat"].as_u64().ok_or("no iat")?;
    let exp = claims["exp"].as_u64().ok_or("no exp")?;
    if claims["iss"] != email
        || claims["aud"] != aud
        || claims["scope"] != CLOUDSQL_SCOPE
        || iat.abs_diff(now) > 60
        || exp != iat + 3600
    {
        return Err(format!("claims {claims} at {now}"));
    }
    Ok(())
}

fn epoch_secs(clock: &TestClock) -> u64 {
    (clock.clock())()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test]
async fn service_account_key_signs_in_and_is_renewed_before_it_expires() {
    let role = format!("gcp_sa_{}", std::process::id());
    let (token_a, token_b) = (format!("{role}-token-A"), format!("{role}-token-B"));
    let dir = tempfile::tempdir().unwrap();
    let (pem, public) = test_key(dir.path(), "sa");
    let email = "inspector@proj.iam.gserviceaccount.com";
    let clock = TestClock::default();

    let served = Arc::new(AtomicUsize::new(0));
    let (a, b, n, c) = (
        token_a.clone(),
        token_b.clone(),
        served.clone(),
        clock.clone(),
    );
    let aud = Arc::new(std::sync::Mutex::new(String::new()));
    let aud_in = aud.clone();
    let emu = Emulator::start(move |r| {
        let aud = aud_in.lock().unwrap().clone();
        if let Err(why) = check_assertion(r, &public, email, &aud, epoch_secs(&c)) {
            return (
                400,
                format!(r#"{{"error":"invalid_grant","error_description":"{why}"}}"#),
            );
        }
        let token = if n.fetch_add(1, Ordering::SeqCst) == 0 {
            &a
        } else {
            &b
        };
        (
            200,
            format!(r#"{{"access_token":"{token}","expires_in":3599,"token_type":"Bearer"}}"#),
        )
    });
    let token_uri = format!("{}/token", emu.url());
    *aud.lock().unwrap() = token_uri.clone();
    let key_file = dir.path().join("key.json");
    write_json(
        &key_file,
        &serde_json::json!({
            "type": "service_account",
            "project_id": "proj",
            "private_key_id": "key-id-1",
            "private_key": pem,
            "client_email": email,
            "client_id": "1234",
            "token_uri": token_uri,
        }),
    );
    role_with_password(&role, &token_a);

    let tokens = TokenSource::new(
        cloudsql(),
        env(&[(
            "GOOGLE_APPLICATION_CREDENTIALS",
            key_file.display().to_string(),
        )]),
        clock.clock(),
    );
    let conns = Connections::with_token_source(profile("gcp-sa", &role), tokens);
    let staged = conns.test_stages().await;
    assert!(staged.failure.is_none(), "{staged:?}");
    assert_eq!(
        staged.stages[0].detail.as_deref(),
        Some("a token (cloudsql)")
    );
    assert_eq!(staged.server.as_ref().unwrap().user, role);
    let pool = conns.database("postgres").await.unwrap();
    let one: i32 = sqlx::query_scalar("SELECT 1")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(one, 1);
    let reqs = emu.requests();
    assert_eq!(reqs.len(), 1, "one token for several connections: {reqs:?}");
    assert_eq!(
        (reqs[0].method.as_str(), reqs[0].path()),
        ("POST", "/token")
    );

    // 56 minutes later the token has less than 5 minutes left: the next connection signs in
    // with a new one, asked for with an assertion of the new time.
    clock.advance(Duration::from_secs(56 * 60));
    role_with_password(&role, &token_b);
    conns.release_idle().await;
    assert_eq!(conns.test().await.unwrap().user, role);
    assert_eq!(emu.requests().len(), 2);
    let pool = conns.database("postgres").await.unwrap();
    let who: String = sqlx::query_scalar("SELECT current_user::text")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(who, role);
    conns.close().await;
}

#[tokio::test]
async fn an_assertion_signed_with_another_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (pem, _) = test_key(dir.path(), "mine");
    let (_, other_public) = test_key(dir.path(), "other");
    let aud = Arc::new(std::sync::Mutex::new(String::new()));
    let aud_in = aud.clone();
    let emu = Emulator::start(move |r| {
        let aud = aud_in.lock().unwrap().clone();
        match check_assertion(
            r,
            &other_public,
            "sa@p.iam",
            &aud,
            epoch_secs(&TestClock::default()),
        ) {
            Ok(()) => (200, r#"{"access_token":"x","expires_in":3600}"#.into()),
            Err(why) => (
                400,
                format!(r#"{{"error":"invalid_grant","error_description":"{why}"}}"#),
            ),
        }
    });
    let token_uri = format!("{}/token", emu.url());
    *aud.lock().unwrap() = token_uri.clone();
    let key_file = dir.path().join("key.json");
    write_json(
        &key_file,
        &serde_json::json!({"type": "service_account", "private_key_id": "key-id-1",
            "private_key": pem, "client_email": "sa@p.iam", "token_uri": token_uri}),
    );
    let tokens = TokenSource::new(
        cloudsql(),
        env(&[(
            "GOOGLE_APPLICATION_CREDENTIALS",
            key_file.display().to_string(),
        )]),
        TestClock::default().clock(),
    );
    let msg = tokens.token("h", 5432, "u").await.unwrap_err().to_string();
    assert!(msg.contains("service account sa@p.iam"), "{msg}");
    assert!(msg.contains("HTTP 400"), "{msg}");
    assert!(
        msg.contains("invalid_grant: Invalid JWT Signature."),
        "{msg}"
    );
    assert!(!msg.contains("PRIVATE KEY"), "{msg}");
}

#[tokio::test]
async fn gcloud_user_credentials_refresh_their_token() {
    let role = format!("gcp_user_{}", std::process::id());
    let token = format!("{role}-token");
    let t = token.clone();
    let emu = Emulator::start(move |_| {
        (
            200,
            format!(r#"{{"access_token":"{t}","expires_in":"3599"}}"#),
        )
    });
    let config = tempfile::tempdir().unwrap();
    write_json(
        &config.path().join("application_default_credentials.json"),
        &serde_json::json!({
            "type": "authorized_user",
            "client_id": "764086051850-x.apps.googleusercontent.com",
            "client_secret": "d-FL95Q19q7MQmFpd7hHD0Ty",
            "refresh_token": "1//refresh+token/value",
            "quota_project_id": "proj",
            "token_uri": format!("{}/oauth2/token", emu.url()),
        }),
    );
    role_with_password(&role, &token);
    let tokens = TokenSource::new(
        cloudsql(),
        env(&[
            ("CLOUDSDK_CONFIG", config.path().display().to_string()),
            ("GCE_METADATA_HOST", closed()),
        ]),
        TestClock::default().clock(),
    );
    let conns = Connections::with_token_source(profile("gcp-user", &role), tokens);
    assert_eq!(conns.test().await.unwrap().user, role);
    let reqs = emu.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(
        (reqs[0].method.as_str(), reqs[0].path()),
        ("POST", "/oauth2/token")
    );
    let form = reqs[0].form();
    assert_eq!(form["grant_type"], "refresh_token");
    assert_eq!(
        form["client_id"],
        "764086051850-x.apps.googleusercontent.com"
    );
    assert_eq!(form["client_secret"], "d-FL95Q19q7MQmFpd7hHD0Ty");
    assert_eq!(form["refresh_token"], "1//refresh+token/value");
    conns.close().await;
}

#[tokio::test]
async fn metadata_server_token_of_the_attached_service_account() {
    let role = format!("gcp_md_{}", std::process::id());
    let token = format!("{role}-token");
    let t = token.clone();
    let emu = Emulator::start(move |r| {
        if r.headers.get("metadata-flavor").map(String::as_str) != Some("Google") {
            return (403, "Missing Metadata-Flavor:Google header.".into());
        }
        (
            200,
            format!(r#"{{"access_token":"{t}","expires_in":3599,"token_type":"Bearer"}}"#),
        )
    });
    role_with_password(&role, &token);
    let home = tempfile::tempdir().unwrap();
    let tokens = TokenSource::new(
        cloudsql(),
        env(&[
            ("HOME", home.path().display().to_string()),
            ("GCE_METADATA_HOST", format!("127.0.0.1:{}", emu.port)),
        ]),
        TestClock::default().clock(),
    );
    let conns = Connections::with_token_source(profile("gcp-md", &role), tokens);
    assert_eq!(conns.test().await.unwrap().user, role);
    let r = &emu.requests()[0];
    assert_eq!(r.method, "GET");
    assert_eq!(
        r.path(),
        "/computeMetadata/v1/instance/service-accounts/default/token"
    );
    assert_eq!(r.form()["scopes"], CLOUDSQL_SCOPE);
    conns.close().await;
}

#[tokio::test]
async fn a_revoked_sign_in_names_the_endpoint_status_and_google_error() {
    let emu = Emulator::start(|_| {
        (
            400,
            r#"{"error":"invalid_grant","error_description":"Token has been expired or revoked."}"#
                .into(),
        )
    });
    let home = tempfile::tempdir().unwrap();
    let file = home
        .path()
        .join(".config/gcloud/application_default_credentials.json");
    write_json(
        &file,
        &serde_json::json!({"type": "authorized_user", "client_id": "cid",
            "client_secret": "the-client-secret", "refresh_token": "the-refresh-token",
            "token_uri": format!("{}/token", emu.url())}),
    );
    let tokens = TokenSource::new(
        cloudsql(),
        env(&[("HOME", home.path().display().to_string())]),
        fixed_clock(1_700_000_000),
    );
    let msg = tokens.token("h", 5432, "u").await.unwrap_err().to_string();
    assert!(msg.contains("gcloud's credentials file"), "{msg}");
    assert!(msg.contains(&format!("{}/token", emu.url())), "{msg}");
    assert!(msg.contains("HTTP 400"), "{msg}");
    assert!(
        msg.contains("invalid_grant: Token has been expired or revoked."),
        "{msg}"
    );
    assert!(
        msg.contains("gcloud auth application-default login"),
        "{msg}"
    );
    for secret in ["the-client-secret", "the-refresh-token"] {
        assert!(!msg.contains(secret), "{msg}");
    }
}

#[tokio::test]
async fn no_credentials_lists_what_was_tried() {
    let home = tempfile::tempdir().unwrap();
    let tokens = TokenSource::new(
        cloudsql(),
        env(&[
            ("HOME", home.path().display().to_string()),
            ("GCE_METADATA_HOST", closed()),
        ]),
        fixed_clock(1_700_000_000),
    );
    let msg = tokens.token("h", 5432, "u").await.unwrap_err().to_string();
    for tried in [
        "GOOGLE_APPLICATION_CREDENTIALS is not set",
        "application_default_credentials.json does not exist",
        "metadata server",
        "proj:europe-west1:backstage",
        "gcloud auth application-default login",
    ] {
        assert!(msg.contains(tried), "{tried}: {msg}");
    }
}

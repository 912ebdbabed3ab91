//! Entra ID token authentication end to end against local emulators of the token endpoints
//! (never Azure itself): the token an emulator serves is the password of a role of the test
//! server, so a successful connection proves the token was used. Client secret (its form
//! fields checked), renewal before expiry (a new connection after the first token's time is
//! nearly up signs in with the next one), managed identity (`IDENTITY_ENDPOINT`), workload
//! identity (federated token file), an HTTP 401 with an AAD error, and no credentials at all.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod emulator;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bsi_core::cloudauth::{AZURE_SCOPE, TokenSource};
use bsi_core::connect::Connections;
use bsi_core::profile::AuthMethod;
use emulator::{Emulator, TestClock, closed, env, fixed_clock, profile, role_with_password};

fn azure(client_id: Option<&str>, tenant_id: Option<&str>) -> AuthMethod {
    AuthMethod::Azure {
        client_id: client_id.map(str::to_string),
        tenant_id: tenant_id.map(str::to_string),
    }
}

#[tokio::test]
async fn client_secret_token_signs_in_and_is_renewed_before_it_expires() {
    let role = format!("entra_cs_{}", std::process::id());
    let (token_a, token_b) = (format!("{role}-token-A"), format!("{role}-token-B"));
    let served = Arc::new(AtomicUsize::new(0));
    let (a, b, n) = (token_a.clone(), token_b.clone(), served.clone());
    let emu = Emulator::start(move |_| {
        let token = if n.fetch_add(1, Ordering::SeqCst) == 0 {
            &a
        } else {
            &b
        };
        (
            200,
            format!(r#"{{"token_type":"Bearer","expires_in":3600,"access_token":"{token}"}}"#),
        )
    });
    role_with_password(&role, &token_a);

    let clock = TestClock::default();
    let tokens = TokenSource::new(
        azure(Some("app-123"), Some("tenant-x")),
        env(&[
            ("AZURE_AUTHORITY_HOST", emu.url()),
            ("AZURE_CLIENT_SECRET", "s3cret value&=".to_string()),
        ]),
        clock.clock(),
    );
    let conns = Connections::with_token_source(profile("entra-cs", &role), tokens);
    let info = conns.test().await.unwrap();
    assert_eq!(info.user, role);
    let pool = conns.database("postgres").await.unwrap();
    let one: i32 = sqlx::query_scalar("SELECT 1")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(one, 1);

    let reqs = emu.requests();
    assert_eq!(reqs.len(), 1, "one token for several connections: {reqs:?}");
    let r = &reqs[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.path(), "/tenant-x/oauth2/v2.0/token");
    let form = r.form();
    assert_eq!(form["grant_type"], "client_credentials");
    assert_eq!(form["client_id"], "app-123");
    assert_eq!(form["client_secret"], "s3cret value&=");
    assert_eq!(form["scope"], AZURE_SCOPE);

    // 56 minutes later the token has less than 5 minutes left: the next connection (pooled
    // or not) signs in with a new one.
    clock.advance(Duration::from_secs(56 * 60));
    role_with_password(&role, &token_b);
    conns.release_idle().await;
    let info = conns.test().await.unwrap();
    assert_eq!(info.user, role);
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
async fn managed_identity_endpoint_of_app_service() {
    let role = format!("entra_mi_{}", std::process::id());
    let token = format!("{role}-token");
    let t = token.clone();
    let emu = Emulator::start(move |r| {
        if r.headers.get("x-identity-header").map(String::as_str) != Some("hdr-value") {
            return (401, r#"{"error":"unauthorized"}"#.into());
        }
        let expires_on = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + 3600;
        (
            200,
            format!(r#"{{"access_token":"{t}","expires_on":"{expires_on}","resource":"x"}}"#),
        )
    });
    role_with_password(&role, &token);
    let tokens = TokenSource::new(
        azure(Some("user-assigned-1"), None),
        env(&[
            ("IDENTITY_ENDPOINT", format!("{}/msi/token", emu.url())),
            ("IDENTITY_HEADER", "hdr-value".into()),
        ]),
        TestClock::default().clock(),
    );
    let conns = Connections::with_token_source(profile("entra-mi", &role), tokens);
    // The staged test fetches the token as its first stage, then signs in with it.
    let staged = conns.test_stages().await;
    assert!(staged.failure.is_none(), "{staged:?}");
    assert_eq!(
        staged.stages[0].name,
        bsi_core::connect::StageName::Credentials
    );
    assert_eq!(staged.stages[0].detail.as_deref(), Some("a token (azure)"));
    assert_eq!(staged.server.as_ref().unwrap().user, role);
    assert_eq!(conns.test().await.unwrap().user, role);
    let r = &emu.requests()[0];
    assert_eq!(r.method, "GET");
    assert_eq!(r.path(), "/msi/token");
    let q = r.form();
    assert_eq!(q["resource"], "https://ossrdbms-aad.database.windows.net");
    assert_eq!(q["client_id"], "user-assigned-1");
    assert_eq!(q["api-version"], "2019-08-01");
}

#[tokio::test]
async fn workload_identity_sends_the_federated_token() {
    let role = format!("entra_wi_{}", std::process::id());
    let token = format!("{role}-token");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("azure-identity-token");
    std::fs::write(&file, "federated.jwt.value\n").unwrap();
    let t = token.clone();
    let emu = Emulator::start(move |_| {
        (
            200,
            format!(r#"{{"access_token":"{t}","expires_in":"3599"}}"#),
        )
    });
    role_with_password(&role, &token);
    let tokens = TokenSource::new(
        azure(None, None),
        env(&[
            ("AZURE_AUTHORITY_HOST", format!("{}/", emu.url())),
            ("AZURE_FEDERATED_TOKEN_FILE", file.display().to_string()),
            ("AZURE_CLIENT_ID", "wi-client".into()),
            ("AZURE_TENANT_ID", "wi-tenant".into()),
        ]),
        TestClock::default().clock(),
    );
    let conns = Connections::with_token_source(profile("entra-wi", &role), tokens);
    assert_eq!(conns.test().await.unwrap().user, role);
    let r = &emu.requests()[0];
    assert_eq!(r.path(), "/wi-tenant/oauth2/v2.0/token");
    let form = r.form();
    assert_eq!(form["client_assertion"], "federated.jwt.value");
    assert_eq!(
        form["client_assertion_type"],
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    );
    assert_eq!(form["client_id"], "wi-client");
    assert_eq!(form["scope"], AZURE_SCOPE);
}

#[tokio::test]
async fn a_refused_client_secret_names_the_endpoint_status_and_aad_error() {
    let emu = Emulator::start(|_| {
        (
            401,
            r#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value.\r\nTrace ID: 1","error_codes":[7000215]}"#.into(),
        )
    });
    let tokens = TokenSource::new(
        azure(Some("app-1"), Some("t-1")),
        env(&[
            ("AZURE_AUTHORITY_HOST", emu.url()),
            ("AZURE_CLIENT_SECRET", "wrong-secret".into()),
        ]),
        fixed_clock(1_700_000_000),
    );
    let err = tokens.token("h", 5432, "u").await.unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("client secret"), "{msg}");
    // In a staged test, the credentials stage is the one that fails.
    let tokens = TokenSource::new(
        azure(Some("app-1"), Some("t-1")),
        env(&[
            ("AZURE_AUTHORITY_HOST", emu.url()),
            ("AZURE_CLIENT_SECRET", "wrong-secret".into()),
        ]),
        fixed_clock(1_700_000_000),
    );
    let conns = Connections::with_token_source(profile("entra-bad", "nobody"), tokens);
    let staged = conns.test_stages().await;
    assert_eq!(staged.stages.len(), 1, "{staged:?}");
    assert_eq!(
        staged.stages[0].name,
        bsi_core::connect::StageName::Credentials
    );
    assert!(
        staged.stages[0]
            .error
            .as_ref()
            .unwrap()
            .message
            .contains("HTTP 401")
    );
    assert!(msg.contains("HTTP 401"), "{msg}");
    assert!(
        msg.contains(&format!("{}/t-1/oauth2/v2.0/token", emu.url())),
        "{msg}"
    );
    assert!(msg.contains("invalid_client: AADSTS7000215"), "{msg}");
    assert!(!msg.contains("Trace ID"), "first line only: {msg}");
    assert!(!msg.contains("wrong-secret"), "{msg}");
}

#[tokio::test]
async fn no_credentials_lists_what_was_tried() {
    let tokens = TokenSource::new(
        azure(None, None),
        env(&[("AZURE_POD_IDENTITY_AUTHORITY_HOST", closed())]),
        fixed_clock(1_700_000_000),
    );
    let msg = tokens.token("h", 5432, "u").await.unwrap_err().to_string();
    for tried in [
        "environment",
        "workload identity",
        "managed identity",
        "Azure CLI",
    ] {
        assert!(msg.contains(tried), "{tried}: {msg}");
    }
    assert!(msg.contains("az login"), "{msg}");
}

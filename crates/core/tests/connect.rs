//! Connections against a real PostgreSQL with TLS (CA → intermediate → server certificate
//! for `localhost`) and SCRAM, started by the test harness.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use bsi_core::ErrorCode;
use bsi_core::connect::Connections;
use bsi_core::profile::{DivisionMode, Profile};
use bsi_core::secrets::Secret;
use bsi_core::tls::SslMode;
use bsi_testkit::{PgServer, TlsSetup, shared};

fn profile(server: &PgServer, host: &str, mode: SslMode) -> Profile {
    let mut p = Profile::new("t", host, "postgres");
    p.port = server.port;
    p.tls.sslmode = mode;
    p.pool.connect_timeout_secs = 5;
    p
}

fn conns(p: Profile, server: &PgServer) -> std::sync::Arc<Connections> {
    Connections::new(p, Some(Secret::new(server.password.clone())))
}

#[tokio::test]
async fn require_connects_without_a_ca() {
    let s = shared();
    let info = conns(profile(s, "localhost", SslMode::Require), s)
        .test()
        .await
        .unwrap();
    assert!(
        info.tls.as_deref().unwrap_or("").starts_with("TLS"),
        "{info:?}"
    );
    assert!(info.read_only);
    assert_eq!(info.user, "postgres");
    assert!(info.version_num >= 110000);
}

#[tokio::test]
async fn verify_full_without_the_ca_is_untrusted_and_connects_with_it() {
    let s = shared();
    let err = conns(profile(s, "localhost", SslMode::VerifyFull), s)
        .test()
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::TlsUntrusted, "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("Azure") && msg.contains("RDS"),
        "hint about CA bundles: {msg}"
    );
    assert!(
        msg.contains("Backstage Inspector Test Root CA"),
        "names the issuer: {msg}"
    );

    let mut p = profile(s, "localhost", SslMode::VerifyFull);
    p.tls.root_cert = Some(s.root_ca.clone());
    let info = conns(p, s).test().await.unwrap();
    assert!(info.tls.is_some());

    // The same CA given inline (as app-config's `ssl.ca`) works too.
    let mut p = profile(s, "localhost", SslMode::VerifyFull);
    p.tls.root_cert_pem = Some(std::fs::read_to_string(&s.root_ca).unwrap());
    conns(p, s).test().await.unwrap();
}

#[tokio::test]
async fn a_ca_that_signed_nothing_here_is_untrusted() {
    let s = shared();
    let mut p = profile(s, "localhost", SslMode::VerifyCa);
    p.tls.root_cert = Some(s.unrelated_ca.clone());
    let err = conns(p, s).test().await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::TlsUntrusted, "{err}");
    // The cause (who issued the server's certificate, what the CA file holds instead) and the
    // next step, in words: no library names or debug formatting.
    let msg = err.to_string();
    for w in [
        "is not trusted",
        "no CA this connection trusts issued the server's certificate",
        "issued by `CN=Backstage Inspector Test Root CA`, which is not in the CA file (it holds: ",
        "sslrootcert",
    ] {
        assert!(msg.contains(w), "`{w}` missing from: {msg}");
    }
    plain_words(&msg);
}

/// No library debug strings in a message meant for people.
fn plain_words(msg: &str) {
    for bad in [
        "Other(",
        "Io(",
        "Custom {",
        "kind:",
        "docs.rs",
        "rustls",
        "Error(",
        "UnknownIssuer",
    ] {
        assert!(!msg.contains(bad), "`{bad}` in: {msg}");
    }
}

#[tokio::test]
async fn require_with_a_ca_verifies_like_libpq() {
    let s = shared();
    let mut p = profile(s, "localhost", SslMode::Require);
    p.tls.root_cert = Some(s.unrelated_ca.clone());
    let err = conns(p, s).test().await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::TlsUntrusted, "{err}");
}

#[tokio::test]
async fn a_certificate_for_another_name_is_the_wrong_host() {
    let s = shared();
    let mut p = profile(s, "127.0.0.1", SslMode::VerifyFull);
    p.tls.root_cert = Some(s.root_ca.clone());
    let err = conns(p.clone(), s).test().await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::TlsWrongHost, "{err}");
    assert!(err.to_string().contains("127.0.0.1"), "{err}");
    // verify-ca does not check the name.
    p.tls.sslmode = SslMode::VerifyCa;
    conns(p, s).test().await.unwrap();
}

#[tokio::test]
async fn disable_against_a_tls_only_server_fails_clearly() {
    let s = shared();
    let err = conns(profile(s, "localhost", SslMode::Disable), s)
        .test()
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::TlsRequired, "{err}");
    assert!(err.to_string().contains("sslmode=require"), "{err}");
}

#[tokio::test]
async fn a_wrong_password_is_an_authentication_error_naming_the_user() {
    let s = shared();
    let (user, _) = s.create_role("auth_probe", "");
    let mut p = profile(s, "localhost", SslMode::Require);
    p.user = user.clone();
    let err = Connections::new(p, Some(Secret::new("not-the-password")))
        .test()
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Authentication, "{err}");
    let msg = err.to_string();
    assert!(msg.contains(&format!("\"{user}\"")), "{msg}");
    assert!(!msg.contains("not-the-password"));
}

#[tokio::test]
async fn an_unreachable_port_fails_fast_and_a_silent_one_within_the_connect_timeout() {
    let s = shared();
    let mut p = profile(s, "127.0.0.1", SslMode::Prefer);
    p.port = bsi_testkit::closed_port();
    let started = Instant::now();
    let err = conns(p, s).test().await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::Unreachable, "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));

    let (_listener, port) = bsi_testkit::silent_listener();
    let mut p = profile(s, "127.0.0.1", SslMode::Prefer);
    p.port = port;
    p.pool.connect_timeout_secs = 2;
    let started = Instant::now();
    let err = conns(p, s).test().await.unwrap_err();
    let elapsed = started.elapsed();
    assert_eq!(err.code(), ErrorCode::Timeout, "{err}");
    assert!(
        elapsed >= Duration::from_secs(2) && elapsed < Duration::from_secs(4),
        "{elapsed:?}"
    );
}

#[tokio::test]
async fn sessions_are_read_only_unless_write_mode() {
    let s = shared();
    let db = s.create_database("bsi_rw_");
    s.psql(&db, "CREATE TABLE t (x int)");
    let mut p = profile(s, "localhost", SslMode::Require);
    p.mode = DivisionMode::Single;
    p.database = Some(db.clone());

    let ro = conns(p.clone(), s);
    let pool = ro.database(&db).await.unwrap();
    let err = sqlx::query("INSERT INTO t VALUES (1)")
        .execute(&pool)
        .await
        .unwrap_err();
    let err = bsi_core::connect::map_query_error(err, &ro.endpoint(&db));
    assert_eq!(err.code(), ErrorCode::ReadOnly, "{err}");
    assert!(err.to_string().contains("write mode"), "{err}");
    ro.close().await;
    assert_eq!(s.psql(&db, "SELECT count(*) FROM t"), "0");

    p.write_mode = true;
    let rw = conns(p, s);
    let pool = rw.database(&db).await.unwrap();
    sqlx::query("INSERT INTO t VALUES (1)")
        .execute(&pool)
        .await
        .unwrap();
    rw.close().await;
    assert_eq!(s.psql(&db, "SELECT count(*) FROM t"), "1");
}

#[tokio::test]
async fn pools_are_bounded_named_and_time_out_statements() {
    let s = shared();
    let db = s.create_database("bsi_pool_");
    let mut p = profile(s, "localhost", SslMode::Require);
    p.mode = DivisionMode::Single;
    p.database = Some(db.clone());
    p.pool.max_connections = 2;
    p.pool.statement_timeout_secs = 1;
    let c = conns(p, s);
    let pool = c.database(&db).await.unwrap();
    assert_eq!(pool.options().get_max_connections(), 2);
    let app: String = sqlx::query_scalar("SELECT current_setting('application_name')")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(app, "Backstage Inspector");
    let err = sqlx::query("SELECT pg_sleep(3)")
        .execute(&pool)
        .await
        .unwrap_err();
    let err = bsi_core::connect::map_query_error(err, &c.endpoint(&db));
    assert_eq!(err.code(), ErrorCode::Timeout, "{err}");
    // The same pool is handed out again, not a new one.
    let again = c.database(&db).await.unwrap();
    assert_eq!(again.options().get_max_connections(), 2);
    c.close().await;
    assert!(pool.is_closed());
}

#[tokio::test]
async fn a_server_that_sends_only_its_leaf_is_diagnosed() {
    let s = PgServer::start(TlsSetup::LeafOnly);
    let mut p = profile(&s, "localhost", SslMode::VerifyFull);
    p.tls.root_cert = Some(s.root_ca.clone());
    let err = conns(p.clone(), &s).test().await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::TlsIncompleteChain, "{err}");
    assert!(err.to_string().contains("Intermediate"), "{err}");

    // With the intermediate in the CA file, it connects.
    let bundle = s.dir.join("bundle.pem");
    let text = format!(
        "{}{}",
        std::fs::read_to_string(&s.root_ca).unwrap(),
        std::fs::read_to_string(&s.intermediate_ca).unwrap()
    );
    std::fs::write(&bundle, text).unwrap();
    p.tls.root_cert = Some(bundle);
    conns(p, &s).test().await.unwrap();
}

#[tokio::test]
async fn a_server_without_tls() {
    let s = PgServer::start(TlsSetup::Off);
    let err = conns(profile(&s, "localhost", SslMode::Require), &s)
        .test()
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::TlsNotSupported, "{err}");
    let msg = err.to_string();
    for w in [
        "does not offer TLS",
        "sslmode is `require`",
        "sslmode=prefer",
        "postgresql.conf",
    ] {
        assert!(msg.contains(w), "`{w}` missing from: {msg}");
    }
    plain_words(&msg);
    let info = conns(profile(&s, "localhost", SslMode::Prefer), &s)
        .test()
        .await
        .unwrap();
    assert_eq!(info.tls, None);
}

/// libpq's `allow`: plain first, TLS when the server refuses plain. Against a server whose
/// `pg_hba.conf` has `hostssl` lines only, the session ends up on TLS; against one without
/// TLS, plain.
#[tokio::test]
async fn allow_falls_back_to_tls_when_the_server_refuses_plain_and_stays_plain_otherwise() {
    let s = shared();
    let c = conns(profile(s, "localhost", SslMode::Allow), s);
    let info = c.test().await.unwrap();
    assert!(
        info.tls.as_deref().is_some_and(|t| t.starts_with("TLS")),
        "{info:?}"
    );
    // The pool's sessions too.
    let pool = c.database("postgres").await.unwrap();
    let ssl: bool = sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(ssl);
    let plain = PgServer::start(TlsSetup::Off);
    let info = conns(profile(&plain, "localhost", SslMode::Allow), &plain)
        .test()
        .await
        .unwrap();
    assert_eq!(info.tls, None);
}

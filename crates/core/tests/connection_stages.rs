//! A connection test in stages against the real TLS PostgreSQL and against servers that fail
//! at each stage: every stage up to the failure is reported with its time, the failing one
//! with its precise error, and nothing after it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use bsi_core::ErrorCode;
use bsi_core::connect::{StageName, StageOutcome, StagedTest, test_profile};
use bsi_core::profile::Profile;
use bsi_core::secrets::{PasswordSources, Secret};
use bsi_core::tls::SslMode;
use bsi_testkit::shared;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn profile(port: u16) -> Profile {
    let mut p = Profile::new("stages", "localhost", "postgres");
    p.port = port;
    p.tls.sslmode = SslMode::Require;
    p.pool.connect_timeout_secs = 3;
    p
}

fn password(pw: &str) -> PasswordSources {
    PasswordSources {
        for_run: Some(Secret::new(pw.to_string())),
        ..PasswordSources::default()
    }
}

fn names(t: &StagedTest) -> Vec<StageName> {
    t.stages.iter().map(|s| s.name).collect()
}

fn outcomes(t: &StagedTest) -> Vec<StageOutcome> {
    t.stages.iter().map(|s| s.outcome).collect()
}

/// A loopback server that reads PostgreSQL's TLS request and answers `answer`, then closes.
async fn answering(answer: &'static [u8]) -> u16 {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let mut req = [0u8; 8];
            let _ = s.read_exact(&mut req).await;
            let _ = s.write_all(answer).await;
        }
    });
    port
}

#[tokio::test]
async fn every_stage_passes_on_the_tls_server_with_its_time_and_what_it_found() {
    let s = shared();
    let t = test_profile(profile(s.port), password(&s.password)).await;
    use StageName::*;
    assert_eq!(
        names(&t),
        [Credentials, Tcp, TlsOffer, Session, Query],
        "{t:?}"
    );
    assert!(
        outcomes(&t).iter().all(|o| *o == StageOutcome::Passed),
        "{t:?}"
    );
    assert!(t.error().is_none());
    let info = t.server.as_ref().unwrap();
    assert!(
        info.tls.as_deref().unwrap().starts_with("TLSv1."),
        "{info:?}"
    );
    assert_eq!(info.user, "postgres");
    let d = |n: StageName| {
        t.stages
            .iter()
            .find(|s| s.name == n)
            .unwrap()
            .detail
            .clone()
            .unwrap()
    };
    assert!(d(Tcp).contains(&s.port.to_string()), "{}", d(Tcp));
    assert_eq!(d(TlsOffer), "the server offers TLS");
    assert!(d(Query).contains(&info.version), "{}", d(Query));
}

#[tokio::test]
async fn a_wrong_password_fails_the_sign_in_after_tcp_and_tls() {
    let s = shared();
    let t = test_profile(profile(s.port), password("not-the-password")).await;
    use StageName::*;
    assert_eq!(names(&t), [Credentials, Tcp, TlsOffer, Session], "{t:?}");
    assert_eq!(t.stages[3].outcome, StageOutcome::Failed);
    let e = t.error().unwrap();
    assert_eq!(e.code, ErrorCode::Authentication, "{e:?}");
    assert!(t.server.is_none());
}

#[tokio::test]
async fn a_failing_password_command_stops_at_the_credentials() {
    let s = shared();
    let sources = PasswordSources {
        command: Some("echo 'no token for you' >&2; exit 4".into()),
        ..PasswordSources::default()
    };
    let t = test_profile(profile(s.port), sources).await;
    assert_eq!(names(&t), [StageName::Credentials], "{t:?}");
    let e = t.error().unwrap();
    assert!(e.message.contains("exit status 4"), "{}", e.message);
    assert!(e.message.contains("no token for you"), "{}", e.message);
}

#[tokio::test]
async fn nothing_listening_fails_at_tcp() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut p = profile(port);
    p.host = "127.0.0.1".into();
    let t = test_profile(p, password("x")).await;
    assert_eq!(names(&t), [StageName::Credentials, StageName::Tcp], "{t:?}");
    let e = t.error().unwrap();
    assert_eq!(e.code, ErrorCode::Unreachable, "{e:?}");
    assert!(
        e.message.contains(&format!("127.0.0.1:{port}")),
        "{}",
        e.message
    );
}

#[tokio::test]
async fn a_server_without_tls_fails_the_offer_when_tls_is_required_and_not_when_preferred() {
    let port = answering(b"N").await;
    let mut p = profile(port);
    p.host = "127.0.0.1".into();
    let t = test_profile(p.clone(), password("x")).await;
    assert_eq!(names(&t).last(), Some(&StageName::TlsOffer), "{t:?}");
    assert_eq!(t.error().unwrap().code, ErrorCode::TlsNotSupported, "{t:?}");

    // With sslmode=prefer the offer passes and the session is where this fake server fails.
    p.tls.sslmode = SslMode::Prefer;
    let t = test_profile(p, password("x")).await;
    let offer = t
        .stages
        .iter()
        .find(|s| s.name == StageName::TlsOffer)
        .unwrap();
    assert_eq!(offer.outcome, StageOutcome::Passed, "{t:?}");
    assert!(
        offer
            .detail
            .as_deref()
            .unwrap()
            .contains("does not offer TLS")
    );
    assert_eq!(names(&t).last(), Some(&StageName::Session), "{t:?}");
}

#[tokio::test]
async fn something_else_than_postgresql_is_named_at_the_offer() {
    let port = answering(b"HTTP/1.1 400 Bad Request\r\n\r\n").await;
    let mut p = profile(port);
    p.host = "127.0.0.1".into();
    let t = test_profile(p, password("x")).await;
    assert_eq!(names(&t).last(), Some(&StageName::TlsOffer), "{t:?}");
    let e = t.error().unwrap();
    assert!(e.message.contains("PostgreSQL"), "{}", e.message);
}

#[tokio::test]
async fn sslmode_disable_skips_the_offer() {
    let port = answering(b"N").await;
    let mut p = profile(port);
    p.host = "127.0.0.1".into();
    p.tls.sslmode = SslMode::Disable;
    let t = test_profile(p, password("x")).await;
    let offer = t
        .stages
        .iter()
        .find(|s| s.name == StageName::TlsOffer)
        .unwrap();
    assert_eq!(offer.outcome, StageOutcome::Skipped, "{t:?}");
}

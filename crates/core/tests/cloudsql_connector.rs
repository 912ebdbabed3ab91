//! The Cloud SQL connector route end to end against local emulators (never Google itself):
//! Google's metadata server (the login and Admin API tokens), the Cloud SQL Admin API
//! (`connectSettings`, and `generateEphemeralCert`, which signs the submitted public key with a
//! test CA and checks the tokens it is given) and an instance's server-side proxy (a TLS
//! listener on port 3307 of a loopback address of its own that requires a client certificate
//! of that CA, presents a certificate for `project:instance`, and forwards to a test
//! PostgreSQL whose role's password is the login token). A profile on the connector route
//! connects and queries; the certificate is renewed before it expires (the proxy accepts only
//! the newest one); a server CA that did not sign the instance's certificate, a certificate of
//! another instance and a client certificate the instance does not accept are refused with
//! errors that say so.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod emulator;

use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use bsi_core::cloudauth::TokenSource;
use bsi_core::cloudauth::cloudsql::ADMIN_SCOPE;
use bsi_core::connect::{Connections, StageName};
use bsi_core::profile::{AuthMethod, CloudsqlIpType, CloudsqlRoute, Profile};
use bsi_testkit::{PgServer, TlsSetup};
use emulator::{Emulator, TestClock, env};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    PublicKeyData, SignatureAlgorithm,
};
use rsa::pkcs1::EncodeRsaPublicKey;
use rsa::pkcs8::DecodePublicKey;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

const INSTANCE: &str = "proj:europe-west1:backstage";
const SETTINGS: &str = "/sql/v1beta4/projects/proj/instances/backstage/connectSettings";
const GENERATE: &str = "/sql/v1beta4/projects/proj/instances/backstage:generateEphemeralCert";

/// A PostgreSQL without TLS: the connector's TLS ends at the server-side proxy.
fn plain_server() -> &'static PgServer {
    static SERVER: OnceLock<PgServer> = OnceLock::new();
    SERVER.get_or_init(|| PgServer::start(TlsSetup::Off))
}

fn role_with_password(name: &str, password: &str) {
    plain_server().psql(
        "postgres",
        &format!(
            "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{name}') THEN \
             CREATE ROLE \"{name}\" LOGIN PASSWORD '{password}'; ELSE \
             ALTER ROLE \"{name}\" PASSWORD '{password}'; END IF; END $$"
        ),
    );
}

/// A loopback address of this test's own, whose port 3307 is free.
fn instance_ip() -> Ipv4Addr {
    static NEXT: AtomicU8 = AtomicU8::new(1);
    let pid = std::process::id();
    Ipv4Addr::new(
        127,
        50 + (pid % 150) as u8,
        (pid / 150 % 250) as u8,
        NEXT.fetch_add(1, Ordering::SeqCst),
    )
}

/// A CA made for the test.
struct Ca {
    pem: String,
    issuer: Issuer<'static, KeyPair>,
}

fn ca(name: &str) -> Ca {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let cert = params.self_signed(&key).unwrap();
    Ca {
        pem: cert.pem(),
        issuer: Issuer::new(params, key),
    }
}

/// A server certificate with the common name `cn` (as Cloud SQL's per-instance CA makes
/// them: no DNS name), and its key.
fn server_cert(ca: &Ca, cn: &str) -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, cn);
    let cert = params.signed_by(&key, &ca.issuer).unwrap();
    (
        cert.der().clone(),
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    )
}

/// An RSA public key as submitted to `generateEphemeralCert`.
struct RsaPublic(Vec<u8>);

impl PublicKeyData for RsaPublic {
    fn der_bytes(&self) -> &[u8] {
        &self.0
    }

    fn algorithm(&self) -> &'static SignatureAlgorithm {
        &rcgen::PKCS_RSA_SHA256
    }
}

/// Signs a PEM public key (SubjectPublicKeyInfo) for client authentication, valid for an hour
/// of `clock` (from a minute ago in real time, as the instance checks it).
fn sign_public_key(ca: &Ca, pem: &str, clock: &TestClock) -> Result<rcgen::Certificate, String> {
    let key = rsa::RsaPublicKey::from_public_key_pem(pem).map_err(|e| e.to_string())?;
    let bits = rsa::traits::PublicKeyParts::n(&key).bits();
    if bits != 2048 {
        return Err(format!("a {bits}-bit key"));
    }
    let der = key.to_pkcs1_der().map_err(|e| e.to_string())?;
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(DnType::CommonName, "ephemeral");
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let now = time::OffsetDateTime::from((clock.clock())());
    params.not_before = time::OffsetDateTime::now_utc() - time::Duration::minutes(1);
    params.not_after = now + time::Duration::hours(1);
    params
        .signed_by(&RsaPublic(der.as_bytes().to_vec()), &ca.issuer)
        .map_err(|e| e.to_string())
}

/// What the emulated Google serves and has seen.
struct Google {
    http: Emulator,
    /// Certificates issued, the newest last.
    issued: Arc<Mutex<Vec<CertificateDer<'static>>>>,
    generated: Arc<AtomicUsize>,
}

/// The metadata server and the Admin API on one port. Login tokens are `{role}-token-N`
/// (N counts the login tokens served); the Admin API wants the admin token and, in
/// `generateEphemeralCert`, the current login token.
fn google(
    role: &str,
    ip: Ipv4Addr,
    server_ca: String,
    client_ca: Arc<Ca>,
    clock: &TestClock,
) -> Google {
    let clock = clock.clone();
    let issued: Arc<Mutex<Vec<CertificateDer<'static>>>> = Arc::default();
    let generated = Arc::new(AtomicUsize::new(0));
    let logins = Arc::new(AtomicUsize::new(0));
    let (issued_in, generated_in, role) = (issued.clone(), generated.clone(), role.to_string());
    let http = Emulator::start(move |r| {
        let path = r.path();
        if path.starts_with("/computeMetadata/") {
            if r.headers.get("metadata-flavor").map(String::as_str) != Some("Google") {
                return (403, "missing Metadata-Flavor".into());
            }
            let scopes = r.form().get("scopes").cloned().unwrap_or_default();
            let token = if scopes == ADMIN_SCOPE {
                "admin-token".to_string()
            } else {
                let n = logins.fetch_add(1, Ordering::SeqCst);
                format!("{role}-token-{n}")
            };
            return (
                200,
                format!(r#"{{"access_token":"{token}","expires_in":3600,"token_type":"Bearer"}}"#),
            );
        }
        if r.headers.get("authorization").map(String::as_str) != Some("Bearer admin-token") {
            return (
                401,
                r#"{"error":{"code":401,"message":"Request had invalid authentication credentials.","status":"UNAUTHENTICATED"}}"#.into(),
            );
        }
        match (r.method.as_str(), path) {
            ("GET", SETTINGS) => (
                200,
                serde_json::json!({
                    "kind": "sql#connectSettings",
                    "region": "europe-west1",
                    "databaseVersion": "POSTGRES_15",
                    "backendType": "SECOND_GEN",
                    "ipAddresses": [{"type": "PRIMARY", "ipAddress": ip.to_string()}],
                    "serverCaCert": {"cert": server_ca},
                    "serverCaMode": "GOOGLE_MANAGED_INTERNAL_CA",
                })
                .to_string(),
            ),
            ("POST", GENERATE) => {
                let body: serde_json::Value = serde_json::from_str(&r.body).unwrap_or_default();
                let served = logins.load(Ordering::SeqCst).saturating_sub(1);
                let expected = format!("{role}-token-{served}");
                if body["access_token"] != expected.as_str() {
                    return (
                        400,
                        format!(
                            r#"{{"error":{{"code":400,"message":"access_token is not the current login token ({expected})"}}}}"#
                        ),
                    );
                }
                match sign_public_key(
                    &client_ca,
                    body["public_key"].as_str().unwrap_or(""),
                    &clock,
                ) {
                    Ok(cert) => {
                        generated_in.fetch_add(1, Ordering::SeqCst);
                        issued_in.lock().unwrap().push(cert.der().clone());
                        (
                            200,
                            serde_json::json!({"ephemeralCert": {"cert": cert.pem()}}).to_string(),
                        )
                    }
                    Err(why) => (
                        400,
                        format!(
                            r#"{{"error":{{"code":400,"message":"invalid public key: {why}"}}}}"#
                        ),
                    ),
                }
            }
            _ => (
                404,
                r#"{"error":{"code":404,"message":"not found"}}"#.into(),
            ),
        }
    });
    Google {
        http,
        issued,
        generated,
    }
}

/// The instance's server-side proxy on `ip:3307`: TLS 1.3 first, a client certificate of
/// `client_ca` required (and, with `newest_only`, the newest one issued), then the bytes
/// forwarded to the plain test server.
fn server_side_proxy(
    ip: Ipv4Addr,
    cert: (CertificateDer<'static>, PrivateKeyDer<'static>),
    client_ca: &Ca,
    issued: Arc<Mutex<Vec<CertificateDer<'static>>>>,
    newest_only: bool,
) {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    let ca_der = rustls_pemfile::certs(&mut client_ca.pem.as_bytes())
        .next()
        .unwrap()
        .unwrap();
    roots.add(ca_der).unwrap();
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .unwrap();
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(vec![cert.0], cert.1)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = std::net::TcpListener::bind((ip, 3307)).expect("bind the instance's port");
    listener.set_nonblocking(true).unwrap();
    let pg_port = plain_server().port;
    tokio::spawn(async move {
        let listener = tokio::net::TcpListener::from_std(listener).unwrap();
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, issued) = (acceptor.clone(), issued.clone());
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let presented = tls.get_ref().1.peer_certificates().map(|c| c[0].clone());
                if newest_only && presented.as_ref() != issued.lock().unwrap().last() {
                    return;
                }
                let mut pg = tokio::net::TcpStream::connect(("127.0.0.1", pg_port))
                    .await
                    .unwrap();
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut pg).await;
            });
        }
    });
}

fn connector_profile(name: &str, user: &str) -> Profile {
    let mut p = Profile::new(name, "localhost", user);
    p.auth = AuthMethod::Cloudsql {
        instance: Some(INSTANCE.into()),
        route: CloudsqlRoute::Connector,
        ip_type: CloudsqlIpType::Public,
    };
    p.pool.connect_timeout_secs = 5;
    p
}

fn connections(name: &str, role: &str, google: &Google, clock: &TestClock) -> Arc<Connections> {
    let tokens = TokenSource::new(
        connector_profile(name, role).auth,
        env(&[
            ("GCE_METADATA_HOST", google.http.url()),
            ("BSI_CLOUDSQL_ADMIN_URL", google.http.url()),
        ]),
        clock.clock(),
    );
    Connections::with_token_source(connector_profile(name, role), tokens)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connector_signs_in_with_an_ephemeral_certificate_and_renews_it() {
    let role = format!("csql_conn_{}", std::process::id());
    role_with_password(&role, &format!("{role}-token-0"));
    let ip = instance_ip();
    let (server_ca, client_ca) = (ca("Cloud SQL Server CA"), Arc::new(ca("ephemeral CA")));
    let clock = TestClock::default();
    let google = google(&role, ip, server_ca.pem.clone(), client_ca.clone(), &clock);
    let cert = server_cert(&server_ca, "proj:backstage");
    server_side_proxy(ip, cert, &client_ca, google.issued.clone(), true);
    let conns = connections("csql", &role, &google, &clock);

    let staged = conns.test_stages().await;
    assert!(staged.failure.is_none(), "{staged:?}");
    let stage = staged
        .stages
        .iter()
        .find(|s| s.name == StageName::Cloudsql)
        .expect("a connector stage");
    let detail = stage.detail.clone().unwrap_or_default();
    assert!(
        detail.contains(&format!("{INSTANCE} ({ip}:3307)")),
        "{detail}"
    );
    let pool = conns.database("postgres").await.unwrap();
    let (who, ssl): (String, bool) = sqlx::query_as(
        "SELECT current_user::text, coalesce((SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()), false)",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(who, role);
    assert!(!ssl, "PostgreSQL runs plain inside the connector's TLS");
    assert_eq!(
        google.generated.load(Ordering::SeqCst),
        1,
        "one certificate for every connection so far"
    );
    let paths: Vec<String> = google
        .http
        .requests()
        .iter()
        .map(|r| r.path().to_string())
        .collect();
    assert!(paths.iter().any(|p| p == SETTINGS), "{paths:?}");

    // 56 minutes later the certificate has less than 5 minutes left: a new connection gets a
    // new one (with a new login token), and the instance accepts only that one.
    clock.advance(Duration::from_secs(56 * 60));
    role_with_password(&role, &format!("{role}-token-1"));
    conns.release_idle().await;
    assert_eq!(conns.test().await.unwrap().user, role);
    assert_eq!(google.generated.load(Ordering::SeqCst), 2);
    let pool = conns.database("postgres").await.unwrap();
    let one: i32 = sqlx::query_scalar("SELECT 1")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(one, 1);
    assert_eq!(google.generated.load(Ordering::SeqCst), 2);
    conns.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_ca_that_did_not_sign_the_instance_is_refused() {
    let role = format!("csql_ca_{}", std::process::id());
    role_with_password(&role, &format!("{role}-token-0"));
    let ip = instance_ip();
    let (real_ca, announced, client_ca) = (
        ca("Cloud SQL Server CA"),
        ca("another CA"),
        Arc::new(ca("ephemeral CA")),
    );
    let google = google(
        &role,
        ip,
        announced.pem.clone(),
        client_ca.clone(),
        &TestClock::default(),
    );
    server_side_proxy(
        ip,
        server_cert(&real_ca, "proj:backstage"),
        &client_ca,
        google.issued.clone(),
        false,
    );
    let conns = connections("csql-ca", &role, &google, &TestClock::default());
    let e = conns.test().await.unwrap_err();
    let text = e.to_string();
    assert_eq!(e.code().as_str(), "tls_untrusted", "{text}");
    assert!(
        text.contains(INSTANCE) && text.contains("server CA"),
        "{text}"
    );
    conns.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_of_another_instance_is_refused() {
    let role = format!("csql_cn_{}", std::process::id());
    role_with_password(&role, &format!("{role}-token-0"));
    let ip = instance_ip();
    let (server_ca, client_ca) = (ca("Cloud SQL Server CA"), Arc::new(ca("ephemeral CA")));
    let google = google(
        &role,
        ip,
        server_ca.pem.clone(),
        client_ca.clone(),
        &TestClock::default(),
    );
    server_side_proxy(
        ip,
        server_cert(&server_ca, "proj:other"),
        &client_ca,
        google.issued.clone(),
        false,
    );
    let conns = connections("csql-cn", &role, &google, &TestClock::default());
    let e = conns.test().await.unwrap_err();
    let text = e.to_string();
    assert_eq!(e.code().as_str(), "tls", "{text}");
    assert!(
        text.contains("common name is `proj:other`") && text.contains("`proj:backstage`"),
        "{text}"
    );
    conns.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_certificate_the_instance_does_not_accept_is_refused() {
    let role = format!("csql_client_{}", std::process::id());
    role_with_password(&role, &format!("{role}-token-0"));
    let ip = instance_ip();
    let (server_ca, signing_ca, trusted_ca) = (
        ca("Cloud SQL Server CA"),
        Arc::new(ca("ephemeral CA")),
        ca("the instance's client CA"),
    );
    let google = google(
        &role,
        ip,
        server_ca.pem.clone(),
        signing_ca,
        &TestClock::default(),
    );
    server_side_proxy(
        ip,
        server_cert(&server_ca, "proj:backstage"),
        &trusted_ca,
        google.issued.clone(),
        false,
    );
    let conns = connections("csql-client", &role, &google, &TestClock::default());
    let e = conns.test().await.unwrap_err();
    let text = e.to_string();
    assert_eq!(e.code().as_str(), "tls", "{text}");
    assert!(
        text.contains("refused the connector's ephemeral client certificate"),
        "{text}"
    );
    conns.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_api_refusal_fails_the_connector_stage() {
    let role = format!("csql_403_{}", std::process::id());
    let ip = instance_ip();
    let client_ca = Arc::new(ca("ephemeral CA"));
    let google = google(&role, ip, String::new(), client_ca, &TestClock::default());
    let tokens = TokenSource::new(
        connector_profile("csql-403", &role).auth,
        env(&[
            ("GCE_METADATA_HOST", google.http.url()),
            // Tokens from the metadata server, but an Admin API that knows no such token.
            (
                "BSI_CLOUDSQL_ADMIN_URL",
                format!("{}/elsewhere", google.http.url()),
            ),
        ]),
        TestClock::default().clock(),
    );
    let conns = Connections::with_token_source(connector_profile("csql-403", &role), tokens);
    let staged = conns.test_stages().await;
    let failed = staged.stages.last().unwrap();
    assert_eq!(failed.name, StageName::Cloudsql, "{staged:?}");
    let text = staged.failure.unwrap().to_string();
    assert!(
        text.contains("HTTP 404") && text.contains("instance connection name"),
        "{text}"
    );
}

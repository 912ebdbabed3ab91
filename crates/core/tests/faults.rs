//! Faults against a real PostgreSQL and a loopback proxy in front of it: each failure is
//! classified to our error code with a message that names the cause and the next step, and
//! none carries a library's debug formatting or documentation links.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use bsi_core::connect::{Connections, PgPool, map_query_error};
use bsi_core::profile::Profile;
use bsi_core::secrets::Secret;
use bsi_core::tls::SslMode;
use bsi_core::{CoreError, ErrorCode};
use bsi_testkit::{PgServer, Proxy, TlsSetup, shared};

fn profile(server: &PgServer, host: &str, mode: SslMode) -> Profile {
    let mut p = Profile::new("faults", host, "postgres");
    p.port = server.port;
    p.tls.sslmode = mode;
    p.pool.connect_timeout_secs = 5;
    p.pool.statement_timeout_secs = 120;
    p
}

fn conns(p: Profile, password: &str) -> Arc<Connections> {
    Connections::new(p, Some(Secret::new(password.to_string())))
}

/// Asserts `err` has `code`, its message every one of `words`, and no debug formatting.
fn check(err: &CoreError, code: ErrorCode, words: &[&str]) {
    let msg = err.to_string();
    assert_eq!(err.code(), code, "{msg}");
    for w in words {
        assert!(msg.contains(w), "`{w}` missing from: {msg}");
    }
    for bad in [
        "Other(", "Io(", "Custom {", "kind:", "docs.rs", "rustls", "Error(",
    ] {
        assert!(!msg.contains(bad), "`{bad}` in: {msg}");
    }
}

/// Runs `pg_sleep(30)` tagged `tag` (a comment, for `wait_active`) on `pool`, in the background.
fn sleeping(
    pool: &PgPool,
    tag: &str,
) -> tokio::task::JoinHandle<Result<sqlx::postgres::PgQueryResult, sqlx::Error>> {
    let pool = pool.clone();
    let sql = format!("SELECT pg_sleep(30) /* {tag} */");
    tokio::spawn(async move { sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&pool).await })
}

/// The pool answers a query (opening a new session when the last one ended).
async fn answers(pool: &PgPool) {
    let one: i32 = sqlx::query_scalar("SELECT 1")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(one, 1);
}

/// Waits until a session of `server` runs a query containing `tag`.
fn wait_active(server: &PgServer, tag: &str) {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(10) {
        let n = server.psql(
            "postgres",
            &format!(
                "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' \
                 AND query LIKE '%{tag}%' AND pid <> pg_backend_pid()"
            ),
        );
        if n != "0" {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the query tagged {tag} never ran");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_at_its_connection_limit_is_named_with_the_fix() {
    let s = shared();
    let (user, password) = s.create_role("bsi_fault_limited", "CONNECTION LIMIT 1");
    let mut p = profile(s, "localhost", SslMode::Require);
    p.user = user.clone();
    let c = conns(p, &password);
    let held = c.connect_once(&c.endpoint("postgres")).await.unwrap();
    let err = c.test().await.unwrap_err();
    check(
        &err,
        ErrorCode::Database,
        &[
            &format!("`{user}`"),
            "connection limit",
            "close them",
            "CONNECTION LIMIT",
        ],
    );
    assert!(!err.to_string().contains("max_connections"), "{err}");
    drop(held);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_at_max_connections_is_told_apart() {
    // A cluster of its own: max_connections needs a restart.
    let s = PgServer::start(TlsSetup::FullChain);
    s.psql("postgres", "ALTER SYSTEM SET max_connections = 5");
    s.psql(
        "postgres",
        "ALTER SYSTEM SET superuser_reserved_connections = 3",
    );
    s.restart();
    let (user, password) = s.create_role("bsi_fault_many", "");
    let mut p = profile(&s, "localhost", SslMode::Require);
    p.user = user;
    let c = conns(p, &password);
    let ep = c.endpoint("postgres");
    let mut held = Vec::new();
    let err = loop {
        match c.connect_once(&ep).await {
            Ok(conn) => held.push(conn),
            Err(e) => break e,
        }
        assert!(held.len() < 10, "max_connections never applied");
    };
    check(
        &err,
        ErrorCode::Database,
        &[
            "max_connections",
            "accepts no more connections",
            "localhost:",
        ],
    );
    assert!(!err.to_string().contains("connection limit"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_pool_times_out_naming_the_acquire_timeout() {
    let s = shared();
    let mut p = profile(s, "localhost", SslMode::Require);
    p.pool.max_connections = 1;
    p.pool.acquire_timeout_secs = 1;
    let c = conns(p, &s.password);
    let pool = c.database("postgres").await.unwrap();
    let held = pool.acquire().await.unwrap();
    let started = Instant::now();
    let err = sqlx::query("SELECT 1").execute(&pool).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    let err = map_query_error(err, &c.endpoint("postgres"));
    check(
        &err,
        ErrorCode::Timeout,
        &["after 1s", "acquire timeout (1 s)", "pool.max_connections"],
    );
    drop(held);
    c.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_statement_past_the_timeout_names_the_profiles_timeout() {
    let s = shared();
    let mut p = profile(s, "localhost", SslMode::Require);
    p.pool.statement_timeout_secs = 1;
    let c = conns(p, &s.password);
    let pool = c.database("postgres").await.unwrap();
    let err = sqlx::query("SELECT pg_sleep(5)")
        .execute(&pool)
        .await
        .unwrap_err();
    let err = map_query_error(err, &c.endpoint("postgres"));
    check(
        &err,
        ErrorCode::Timeout,
        &["after 1s", "statement timeout (1 s)", "--statement-timeout"],
    );
    assert!(!err.to_string().contains("pg_sleep"), "{err}");
    c.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminated_backend_says_the_server_ended_the_session() {
    let s = shared();
    let c = conns(profile(s, "localhost", SslMode::Require), &s.password);
    let pool = c.database("postgres").await.unwrap();
    let running = sleeping(&pool, "bsi fault terminate");
    tokio::task::spawn_blocking(|| wait_active(shared(), "bsi fault terminate"))
        .await
        .unwrap();
    s.psql(
        "postgres",
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE query LIKE '%bsi fault terminate%' AND pid <> pg_backend_pid()",
    );
    let err = running.await.unwrap().unwrap_err();
    let err = map_query_error(err, &c.endpoint("postgres"));
    check(
        &err,
        ErrorCode::Unreachable,
        &["the server ended the session", "retrying reconnects"],
    );
    // The pool opens a new session for the next query.
    answers(&pool).await;
    c.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_server_restart_the_next_query_reconnects() {
    let s = Arc::new(PgServer::start(TlsSetup::FullChain));
    let c = conns(profile(&s, "localhost", SslMode::Require), &s.password);
    let pool = c.database("postgres").await.unwrap();
    sqlx::query("SELECT 1").execute(&pool).await.unwrap();
    let running = sleeping(&pool, "bsi fault restart");
    let s2 = s.clone();
    tokio::task::spawn_blocking(move || {
        wait_active(&s2, "bsi fault restart");
        s2.restart();
    })
    .await
    .unwrap();
    let err = running.await.unwrap().unwrap_err();
    let err = map_query_error(err, &c.endpoint("postgres"));
    check(
        &err,
        ErrorCode::Unreachable,
        &["ended", "server restart", "retrying reconnects"],
    );
    answers(&pool).await;
    c.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_network_ends_in_a_timeout_that_names_it() {
    let s = shared();
    let proxy = Proxy::start(s.port);
    let mut p = profile(s, "127.0.0.1", SslMode::Require);
    p.port = proxy.port;
    p.pool.connect_timeout_secs = 2;
    p.pool.acquire_timeout_secs = 2;
    p.pool.max_connections = 1;
    let c = conns(p, &s.password);

    // Connecting through a stalled network: the connect timeout.
    proxy.stall();
    let started = Instant::now();
    let err = tokio::time::timeout(Duration::from_secs(20), c.test())
        .await
        .expect("hung")
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    check(
        &err,
        ErrorCode::Timeout,
        &["connect timeout (2 s)", "--connect-timeout"],
    );

    // A pooled connection whose network stalls: the next query ends with the acquire timeout.
    proxy.resume();
    let pool = c.database("postgres").await.unwrap();
    sqlx::query("SELECT 1").execute(&pool).await.unwrap();
    proxy.stall();
    let started = Instant::now();
    let err = tokio::time::timeout(
        Duration::from_secs(20),
        sqlx::query("SELECT 1").execute(&pool),
    )
    .await
    .expect("hung")
    .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(10));
    let err = map_query_error(err, &c.endpoint("postgres"));
    check(&err, ErrorCode::Timeout, &["acquire timeout (2 s)"]);
    proxy.resume();
    c.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_connection_says_it_ended_and_the_next_query_reconnects() {
    let s = shared();
    let proxy = Proxy::start(s.port);
    let mut p = profile(s, "127.0.0.1", SslMode::Require);
    p.port = proxy.port;
    let c = conns(p, &s.password);
    let pool = c.database("postgres").await.unwrap();
    let running = sleeping(&pool, "bsi fault cut");
    tokio::task::spawn_blocking(|| wait_active(shared(), "bsi fault cut"))
        .await
        .unwrap();
    proxy.cut();
    let err = tokio::time::timeout(Duration::from_secs(20), running)
        .await
        .expect("hung")
        .unwrap()
        .unwrap_err();
    let err = map_query_error(err, &c.endpoint("postgres"));
    check(
        &err,
        ErrorCode::Unreachable,
        &[
            &format!("127.0.0.1:{}", proxy.port),
            "network cut it",
            "retrying reconnects",
        ],
    );
    answers(&pool).await;
    c.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_port_that_does_not_speak_postgresql_is_named() {
    let s = shared();
    let port = bsi_testkit::http_responder();
    for mode in [SslMode::Prefer, SslMode::Require] {
        let mut p = profile(s, "127.0.0.1", mode);
        p.port = port;
        let err = conns(p, &s.password).test().await.unwrap_err();
        check(
            &err,
            ErrorCode::Unreachable,
            &[
                &format!("127.0.0.1:{port} does not speak PostgreSQL"),
                "check the host and port",
            ],
        );
        assert!(!err.to_string().contains("0x48"), "{err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_self_signed_leaf_under_verify_full_says_what_to_use() {
    let s = PgServer::start(TlsSetup::SelfSigned);
    let mut p = profile(&s, "localhost", SslMode::VerifyFull);
    p.tls.root_cert = Some(s.server_cert.clone());
    let err = conns(p, &s.password).test().await.unwrap_err();
    check(
        &err,
        ErrorCode::TlsUntrusted,
        &["self-signed", "sslrootcert", "sslmode=require"],
    );
    assert!(!err.to_string().contains("CaUsedAsEndEntity"), "{err}");

    // Encrypting without verifying connects.
    let p = profile(&s, "localhost", SslMode::Require);
    conns(p, &s.password).test().await.unwrap();
}

/// Records the events at WARN or above, their fields as text.
#[derive(Clone, Default)]
struct Warnings(Arc<std::sync::Mutex<Vec<String>>>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Warnings {
    fn on_event(
        &self,
        event: &tracing::Event<'_>,
        _ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        struct Text(String);
        impl tracing::field::Visit for Text {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                self.0.push_str(&format!("{}={value:?} ", field.name()));
            }
        }
        if *event.metadata().level() <= tracing::Level::WARN {
            let mut t = Text(String::new());
            event.record(&mut t);
            self.0.lock().unwrap().push(t.0);
        }
    }
}

#[tokio::test]
async fn a_statement_stopped_by_the_timeout_is_not_logged_at_warn() {
    use tracing_subscriber::layer::SubscriberExt;
    let warnings = Warnings::default();
    let _guard =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(warnings.clone()));
    let s = shared();
    let mut p = profile(s, "localhost", SslMode::Require);
    p.pool.statement_timeout_secs = 1;
    let c = conns(p, &s.password);
    let pool = c.database("postgres").await.unwrap();
    let err = sqlx::query("SELECT pg_sleep(3) /* bsi fault warn */")
        .execute(&pool)
        .await
        .unwrap_err();
    let err = map_query_error(err, &c.endpoint("postgres"));
    assert_eq!(err.code(), ErrorCode::Timeout, "{err}");
    c.close().await;
    let logged = warnings.0.lock().unwrap().clone();
    assert!(
        !logged.iter().any(|w| w.contains("bsi fault warn")),
        "{logged:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_at_its_limit_behind_a_pool_is_named_not_a_busy_pool() {
    let s = shared();
    let (user, password) = s.create_role("bsi_fault_pool_limited", "CONNECTION LIMIT 1");
    let mut p = profile(s, "localhost", SslMode::Require);
    p.user = user.clone();
    p.pool.acquire_timeout_secs = 2;
    p.pool.connect_timeout_secs = 2;
    let c = conns(p.clone(), &password);
    let pool = c.database("postgres").await.unwrap();
    // Another client of the same role takes its one slot.
    let other = conns(p, &password);
    let held = other
        .connect_once(&other.endpoint("postgres"))
        .await
        .unwrap();
    let err = sqlx::query("SELECT 1").execute(&pool).await.unwrap_err();
    let err = map_query_error(err, &c.endpoint("postgres"));
    assert!(
        matches!(err, CoreError::PoolTimeout { .. }),
        "the pool alone cannot tell: {err}"
    );
    let err = c.explain(err).await;
    check(
        &err,
        ErrorCode::Database,
        &[&format!("`{user}`"), "connection limit", "CONNECTION LIMIT"],
    );
    assert!(!err.to_string().contains("acquire timeout"), "{err}");
    // Once the slot is free, the pool answers.
    drop(held);
    answers(&pool).await;
    c.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_connection_limit_of_one_every_database_is_read_and_search_counts_its_index() {
    let s = shared();
    let (user, password) = s.create_role("bsi_fault_one_slot", "CONNECTION LIMIT 1");
    let prefix = format!("bsi_fault_one_{}_", std::process::id());
    let mut names = Vec::new();
    for plugin in ["catalog", "scaffolder", "auth", "search"] {
        let db = format!("{prefix}{plugin}");
        s.psql(
            "postgres",
            &format!("CREATE DATABASE \"{db}\" OWNER \"{user}\""),
        );
        s.psql(
            &db,
            &format!(
                "SET ROLE \"{user}\"; CREATE TABLE knex_migrations (id serial PRIMARY KEY, \
                 name varchar(255), batch int, migration_time timestamptz)"
            ),
        );
        names.push(db);
    }
    // The search index, as search-backend-module-pg makes it, with two documents.
    let documents = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../migrations/search/0002_documents.sql"
    ))
    .unwrap();
    s.psql(
        &format!("{prefix}search"),
        &format!(
            "SET ROLE \"{user}\"; {documents}; INSERT INTO documents (type, document, hash) VALUES \
             ('software-catalog', '{{\"title\": \"billing\", \"text\": \"Billing service\", \"location\": \"/a\"}}', 'a'), \
             ('techdocs', '{{\"title\": \"Runbook\", \"text\": \"How billing is run\", \"location\": \"/b\"}}', 'b')"
        ),
    );
    let before = s.fingerprint(&prefix);
    let mut p = profile(s, "localhost", SslMode::Require);
    p.user = user;
    p.prefix = prefix.clone();
    let c = conns(p, &password);
    // `bsi search` asks for the matches, then for the index's make-up: both are read through
    // the one slot (before, the second answered "empty" next to the matches).
    let q = bsi_core::search::SearchQuery {
        query: "billing".into(),
        ..Default::default()
    };
    let hits = bsi_core::search::search(&c, &q).await.unwrap();
    assert_eq!(hits.total, 2, "{hits:?}");
    let types = bsi_core::search::document_types(&c).await.unwrap();
    let types: Vec<_> = types
        .iter()
        .map(|t| (t.doc_type.as_str(), t.count))
        .collect();
    assert_eq!(types, [("software-catalog", 1), ("techdocs", 1)]);
    let found = bsi_core::discovery::discover(&c).await.unwrap();
    let read: Vec<_> = found
        .databases
        .iter()
        .map(|d| {
            (
                d.database.clone(),
                d.error.as_ref().map(|e| e.message.clone()),
            )
        })
        .collect();
    assert_eq!(found.databases.len(), names.len(), "{read:?}");
    for d in &found.databases {
        assert!(d.error.is_none(), "{read:?}");
        assert!(d.knex_managed, "{read:?}");
    }
    // `knex status` reads every database's Knex table too, none "absent".
    let tables = bsi_core::knex::status(&c).await.unwrap();
    assert_eq!(tables.len(), names.len(), "{tables:?}");
    assert!(tables.iter().all(|t| t.error.is_none()), "{tables:?}");
    c.close().await;
    assert_eq!(
        s.fingerprint(&prefix),
        before,
        "reading wrote to the databases"
    );
}

/// A connection set to the shared server through a fresh [`Proxy`], with a statement timeout
/// of 1 s, and the pool of `postgres`, known to answer.
async fn through_proxy() -> (Proxy, Arc<Connections>, PgPool) {
    let s = shared();
    let proxy = Proxy::start(s.port);
    let mut p = profile(s, "127.0.0.1", SslMode::Require);
    p.port = proxy.port;
    p.pool.statement_timeout_secs = 1;
    let c = conns(p, &s.password);
    let pool = c.database("postgres").await.unwrap();
    answers(&pool).await;
    (proxy, c, pool)
}

/// A slow network is not a stalled one: with every chunk held 150 ms each way, queries that
/// each finish inside the statement timeout keep answering for longer than the stall window,
/// and none is reported stalled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_network_is_not_taken_for_a_stall() {
    let (proxy, c, pool) = through_proxy().await;
    proxy.slow(Duration::from_millis(150));
    let window = Duration::from_secs(1) + Duration::from_secs(5);
    let started = Instant::now();
    let mut runs = 0;
    while started.elapsed() < window + Duration::from_secs(1) {
        let n: i64 = c
            .watch(async {
                sqlx::query_scalar("SELECT count(*) FROM generate_series(1, 1000)")
                    .fetch_one(&pool)
                    .await
                    .map_err(|e| map_query_error(e, &c.endpoint("postgres")))
            })
            .await
            .unwrap_or_else(|e| panic!("run {runs} after {:?}: {e}", started.elapsed()));
        assert_eq!(n, 1000);
        runs += 1;
    }
    assert!(runs >= 3, "{runs} runs");
    proxy.slow(Duration::ZERO);
    c.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_the_network_leaves_waiting_ends_as_stalled() {
    let (proxy, c, pool) = through_proxy().await;
    let running = {
        let (c, pool) = (c.clone(), pool.clone());
        tokio::spawn(async move {
            c.watch(async {
                sqlx::query("SELECT pg_sleep(30) /* bsi fault stall */")
                    .execute(&pool)
                    .await
                    .map_err(|e| map_query_error(e, &c.endpoint("postgres")))
            })
            .await
        })
    };
    tokio::task::spawn_blocking(|| wait_active(shared(), "bsi fault stall"))
        .await
        .unwrap();
    proxy.stall();
    let started = Instant::now();
    let err = tokio::time::timeout(Duration::from_secs(30), running)
        .await
        .expect("hung")
        .unwrap()
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(15));
    check(
        &err,
        ErrorCode::Timeout,
        &[
            &format!("127.0.0.1:{}", proxy.port),
            "network to the server stalled",
            "statement timeout",
        ],
    );
    proxy.resume();
    c.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_dropped_mid_read_ends_the_read_and_is_then_not_found() {
    let s = shared();
    let db = s.create_database("bsi_fault_dropped_");
    let c = conns(profile(s, "localhost", SslMode::Require), &s.password);
    let pool = c.database(&db).await.unwrap();
    let running = sleeping(&pool, "bsi fault dropped");
    tokio::task::spawn_blocking(|| wait_active(shared(), "bsi fault dropped"))
        .await
        .unwrap();
    s.psql("postgres", &format!("DROP DATABASE \"{db}\" WITH (FORCE)"));
    let err = running.await.unwrap().unwrap_err();
    let err = map_query_error(err, &c.endpoint(&db));
    check(
        &err,
        ErrorCode::Unreachable,
        &["ended", "retrying reconnects"],
    );
    let err = sqlx::query("SELECT 1").execute(&pool).await.unwrap_err();
    let err = map_query_error(err, &c.endpoint(&db));
    check(
        &err,
        ErrorCode::NotFound,
        &[&db, "does not exist", "bsi databases"],
    );
    c.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_locked_by_another_session_is_named_before_the_statement_timeout() {
    let s = shared();
    let db = s.create_database("bsi_fault_locked_");
    s.psql(&db, "CREATE TABLE final_entities (entity_id text)");
    // A session in write mode holds the lock, as a migration would.
    let mut writer = profile(s, "localhost", SslMode::Require);
    writer.write_mode = true;
    let w = conns(writer, &s.password);
    let mut holder = w.connect_once(&w.endpoint(&db)).await.unwrap();
    sqlx::query("BEGIN").execute(&mut holder).await.unwrap();
    sqlx::query("LOCK TABLE final_entities IN ACCESS EXCLUSIVE MODE")
        .execute(&mut holder)
        .await
        .unwrap();
    let mut p = profile(s, "localhost", SslMode::Require);
    p.pool.statement_timeout_secs = 4;
    let c = conns(p, &s.password);
    let pool = c.database(&db).await.unwrap();
    let started = Instant::now();
    let err = sqlx::query("SELECT count(*) FROM final_entities")
        .execute(&pool)
        .await
        .unwrap_err();
    let waited = started.elapsed();
    assert!(waited < Duration::from_secs(4), "{waited:?}");
    let err = map_query_error(err, &c.endpoint(&db));
    check(
        &err,
        ErrorCode::Timeout,
        &[
            "waiting for a lock",
            "another session holds a lock",
            "pg_locks",
        ],
    );
    assert!(!err.to_string().contains("statement timeout"), "{err}");
    sqlx::query("ROLLBACK").execute(&mut holder).await.unwrap();
    answers(&pool).await;
    c.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_certificate_says_it_expired() {
    let s = PgServer::start(TlsSetup::Expired);
    for mode in [SslMode::VerifyCa, SslMode::VerifyFull] {
        let mut p = profile(&s, "localhost", mode);
        p.tls.root_cert = Some(s.root_ca.clone());
        let err = conns(p, &s.password).test().await.unwrap_err();
        check(
            &err,
            ErrorCode::TlsUntrusted,
            &["expired", "renew", "sslmode=require"],
        );
    }
    conns(profile(&s, "localhost", SslMode::Require), &s.password)
        .test()
        .await
        .unwrap();
}

/// A server whose pg_hba.conf asks for a client certificate (`clientcert=verify-ca`): the
/// error says so, that none is presented, and what to change; not "wrong password".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_requires_a_client_certificate_says_so() {
    let s = PgServer::start(TlsSetup::ClientCertRequired);
    for mode in [SslMode::Require, SslMode::VerifyFull] {
        let mut p = profile(&s, "localhost", mode);
        p.tls.root_cert = Some(s.root_ca.clone());
        let err = conns(p, &s.password).test().await.unwrap_err();
        check(
            &err,
            ErrorCode::Tls,
            &[
                "requires a client certificate",
                "user \"postgres\"",
                "does not present one",
                "clientcert",
            ],
        );
        assert!(!err.to_string().contains("password"), "{err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ca_file_that_is_missing_or_not_pem_is_named() {
    let s = shared();
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("not-a-ca.crt");
    std::fs::write(&garbage, "this is not a certificate\n").unwrap();
    let missing = dir.path().join("missing-ca.crt");
    for (file, words) in [
        (&missing, vec!["missing-ca.crt"]),
        (&garbage, vec!["not-a-ca.crt"]),
    ] {
        let mut p = profile(s, "localhost", SslMode::VerifyFull);
        p.tls.root_cert = Some(file.clone());
        let err = conns(p, &s.password).test().await.unwrap_err();
        let msg = err.to_string();
        assert!(
            matches!(
                err.code(),
                ErrorCode::Config | ErrorCode::Io | ErrorCode::Tls
            ),
            "{msg}"
        );
        check(&err, err.code(), &words);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_ca_accepts_a_host_name_the_certificate_does_not_list() {
    // 127.0.0.1 is not in the certificate: verify-full refuses it, verify-ca (like libpq)
    // checks only the chain.
    let s = shared();
    let mut p = profile(s, "127.0.0.1", SslMode::VerifyFull);
    p.tls.root_cert = Some(s.root_ca.clone());
    let err = conns(p.clone(), &s.password).test().await.unwrap_err();
    check(&err, ErrorCode::TlsWrongHost, &["127.0.0.1"]);
    p.tls.sslmode = SslMode::VerifyCa;
    conns(p, &s.password).test().await.unwrap();
}

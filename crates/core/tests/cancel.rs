//! Cancelling running operations on a real server: the query ends on the server (its backend
//! goes idle), the operation fails with `cancelled`, read-only sessions can cancel, and an
//! operation cancelled before it starts never runs.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use bsi_core::connect::Connections;
use bsi_core::profile::Profile;
use bsi_core::secrets::Secret;
use bsi_core::tls::SslMode;
use bsi_core::{CoreError, ErrorCode};
use bsi_testkit::shared;

fn conns(write: bool) -> Arc<Connections> {
    let s = shared();
    let mut p = Profile::new("cancel", "localhost", "postgres");
    p.port = s.port;
    p.tls.sslmode = SslMode::Require;
    p.write_mode = write;
    p.pool.statement_timeout_secs = 120;
    Connections::new(p, Some(Secret::new(s.password.clone())))
}

/// The number of sessions running the `pg_sleep` query tagged `tag`.
async fn sleeping(c: &Connections, tag: &str) -> i64 {
    let pool = c.database("postgres").await.unwrap();
    sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity \
         WHERE state = 'active' AND query = $1 AND pid <> pg_backend_pid()",
    )
    .bind(sleep_sql(tag))
    .fetch_one(&pool)
    .await
    .unwrap()
}

fn sleep_sql(tag: &str) -> String {
    format!("SELECT pg_sleep(30) /* bsi cancel test {tag} */")
}

async fn wait_for(c: &Connections, tag: &str, want: i64) -> bool {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(10) {
        if sleeping(c, tag).await == want {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

async fn long_query(c: Arc<Connections>, tag: &str) -> bsi_core::Result<()> {
    let pool = c.database("postgres").await?;
    sqlx::query(sqlx::AssertSqlSafe(sleep_sql(tag)))
        .execute(&pool)
        .await
        .map_err(|e| bsi_core::connect::map_query_error(e, &c.endpoint("postgres")))?;
    Ok(())
}

#[tokio::test]
async fn a_read_only_operation_is_cancelled_on_the_server_within_a_second() {
    let c = conns(false);
    let observer = conns(false);
    let runner = {
        let c = c.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            let r = c.run_op("sleep-1", long_query(c.clone(), "one")).await;
            (r, started.elapsed())
        })
    };
    assert!(
        wait_for(&observer, "one", 1).await,
        "the query never started"
    );
    assert_eq!(c.running_ops(), vec!["sleep-1".to_string()]);
    let asked = Instant::now();
    let signalled = c.cancel("sleep-1").await.unwrap();
    assert_eq!(signalled, 1, "one backend signalled");
    let (r, elapsed) = runner.await.unwrap();
    let err = r.unwrap_err();
    assert_eq!(err.code(), ErrorCode::Cancelled, "{err}");
    assert_eq!(err.to_payload().code.as_str(), "cancelled");
    assert!(
        asked.elapsed() < Duration::from_secs(1),
        "ended {:?} after the cancel",
        asked.elapsed()
    );
    assert!(elapsed < Duration::from_secs(10));
    // The server really stopped the query: nothing sleeps any more.
    assert!(
        wait_for(&observer, "one", 0).await,
        "the query still runs on the server"
    );
    assert!(c.running_ops().is_empty());
    // The pool is still usable afterwards.
    let pool = c.database("postgres").await.unwrap();
    let one: i32 = sqlx::query_scalar("SELECT 1")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(one, 1);
    c.close().await;
    observer.close().await;
}

#[tokio::test]
async fn the_server_error_of_a_cancelled_query_maps_to_cancelled() {
    // Without the operation's own bookkeeping: the raw 57014 "user request" error.
    let c = conns(false);
    let pool = c.database("postgres").await.unwrap();
    let pid: i32 = {
        let mut conn = pool.acquire().await.unwrap();
        let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        let canceller = {
            let pool = c.database("postgres").await.unwrap();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(300)).await;
                sqlx::query("SELECT pg_cancel_backend($1)")
                    .bind(pid)
                    .execute(&pool)
                    .await
                    .unwrap();
            })
        };
        let e = sqlx::query("SELECT pg_sleep(30)")
            .execute(&mut *conn)
            .await
            .unwrap_err();
        canceller.await.unwrap();
        let mapped = bsi_core::connect::map_query_error(e, &c.endpoint("postgres"));
        assert!(matches!(mapped, CoreError::Cancelled), "{mapped:?}");
        pid
    };
    assert!(pid > 0);
    c.close().await;
}

#[tokio::test]
async fn an_operation_cancelled_before_it_starts_never_runs() {
    let c = conns(false);
    assert_eq!(c.cancel("early").await.unwrap(), 0);
    let ran = std::sync::atomic::AtomicBool::new(false);
    let err = c
        .run_op("early", async {
            ran.store(true, std::sync::atomic::Ordering::SeqCst);
            Ok(())
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Cancelled);
    assert!(!ran.load(std::sync::atomic::Ordering::SeqCst));
    // The id is free again.
    c.run_op("early", async { Ok(()) }).await.unwrap();
    c.close().await;
}

#[tokio::test]
async fn finished_operations_are_not_cancelled_and_other_operations_keep_running() {
    let c = conns(false);
    let observer = conns(false);
    c.run_op("quick", async { Ok(()) }).await.unwrap();
    assert_eq!(c.cancel("quick").await.unwrap(), 0, "nothing to signal");
    // Two operations at once: cancelling one leaves the other alone.
    let a = {
        let c = c.clone();
        tokio::spawn(async move { c.run_op("a", long_query(c.clone(), "two")).await })
    };
    let b = {
        let c = c.clone();
        tokio::spawn(async move {
            c.run_op("b", async {
                let pool = c.database("postgres").await?;
                let v: i32 = sqlx::query_scalar("SELECT 7 FROM pg_sleep(1.5)")
                    .fetch_one(&pool)
                    .await
                    .map_err(|e| bsi_core::connect::map_query_error(e, &c.endpoint("postgres")))?;
                Ok(v)
            })
            .await
        })
    };
    assert!(wait_for(&observer, "two", 1).await);
    c.cancel("a").await.unwrap();
    assert_eq!(a.await.unwrap().unwrap_err().code(), ErrorCode::Cancelled);
    assert_eq!(b.await.unwrap().unwrap(), 7);
    c.close().await;
    observer.close().await;
}

#[tokio::test]
async fn a_duplicate_running_id_is_refused() {
    let c = conns(false);
    let first = {
        let c = c.clone();
        tokio::spawn(async move {
            c.run_op("dup", async {
                tokio::time::sleep(Duration::from_millis(500)).await;
                Ok(())
            })
            .await
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let err = c.run_op("dup", async { Ok(()) }).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::Config);
    first.await.unwrap().unwrap();
    c.close().await;
}

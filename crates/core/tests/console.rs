//! The SQL console on databases real Backstage backends wrote (every era of the fixtures for
//! reads and masking, `current` for the rest), over TLS:
//! read-only enforced by the server, multi-statement results, transaction control refused,
//! masking of secret columns, the statement timeout and Cancel, and writes that need write
//! mode and the typed database name, committed only when asked.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use bsi_core::ErrorCode;
use bsi_core::console::{Outcome, RunOptions, run};
use bsi_core::tables::Target;
use bsi_testkit::backstage::{restore, shared_installation};
use bsi_testkit::shared;
use serde_json::{Value, json};

fn catalog() -> Target {
    Target::Area {
        area: "catalog".into(),
    }
}

fn scaffolder() -> Target {
    Target::Area {
        area: "scaffolder".into(),
    }
}

fn count(db: &str, sql: &str) -> i64 {
    shared().psql(db, sql).trim().parse().unwrap()
}

#[tokio::test]
async fn statements_run_in_order_with_their_rows_tags_and_columns() {
    for era in ERAS {
        statements_in_order(era).await;
    }
}

/// The fixtures' eras: databases that Backstage of 2022, 2023 and today wrote.
const ERAS: [&str; 3] = ["2022-08", "2023-10", "current"];

async fn statements_in_order(era: &str) {
    let prefix = shared_installation(era);
    let c = common::conns("console-read", &prefix, false);
    let db = format!("{prefix}catalog");
    let want = count(&db, "SELECT count(*) FROM final_entities");
    let r = run(
        &c,
        &catalog(),
        "SELECT count(*) AS n FROM final_entities;\n\
         -- the kinds\n\
         SELECT final_entity::json->>'kind' AS kind, entity_id FROM final_entities ORDER BY entity_id LIMIT 3;\n\
         SHOW transaction_read_only",
        &RunOptions::default(),
    )
    .await
    .unwrap();
    assert!(r.failed.is_none(), "{era}: {:?}", r.failed);
    assert_eq!(r.outcome, Outcome::ReadOnly);
    assert_eq!(r.statements.len(), 3);
    let first = &r.statements[0];
    assert_eq!(first.command, "SELECT 1");
    assert_eq!(first.columns[0].name, "n");
    assert_eq!(first.columns[0].type_name, "INT8");
    assert_eq!(first.rows[0][0], json!(want));
    let second = &r.statements[1];
    assert_eq!(second.line, 3);
    assert_eq!(second.command, "SELECT 3");
    assert_eq!(second.columns[1].table.as_deref(), Some("final_entities"));
    assert!(second.rows.iter().all(|row| row[0].is_string()));
    // The server says the session is read-only.
    assert_eq!(r.statements[2].rows[0][0], json!("on"));
}

#[tokio::test]
async fn a_write_without_write_mode_is_refused_and_writes_nothing() {
    let prefix = shared_installation("current");
    let c = common::conns("console-ro", &prefix, false);
    let db = format!("{prefix}catalog");
    let before = count(&db, "SELECT count(*) FROM locations");
    // Seen as a write: refused before anything runs.
    let err = run(
        &c,
        &catalog(),
        "DELETE FROM locations",
        &RunOptions {
            confirm: Some(db.clone()),
            commit: true,
            ..RunOptions::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), ErrorCode::ReadOnly, "{err}");
    // Hidden in a query (a sequence advanced by a SELECT): the server refuses it (SQLSTATE
    // 25006), after a set_config that the rollback undoes.
    let r = run(
        &c,
        &catalog(),
        "SELECT 1; SELECT set_config('default_transaction_read_only', 'off', false); \
         SELECT nextval(pg_get_serial_sequence('knex_migrations', 'id')); SELECT 2",
        &RunOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(r.outcome, Outcome::ReadOnly);
    assert_eq!(r.statements.len(), 2, "the results before the failure stay");
    let (i, e) = r.failed.unwrap();
    assert_eq!(i, 2);
    assert_eq!(e.code, ErrorCode::ReadOnly, "{e:?}");
    // The transaction's end and its mode are the console's.
    for sql in [
        "COMMIT; DELETE FROM locations",
        "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE",
        "/* x */ begin read write",
    ] {
        let err = run(&c, &catalog(), sql, &RunOptions::default())
            .await
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::Config, "{sql}: {err}");
    }
    // The session that ran set_config is read-only again.
    let r = run(
        &c,
        &catalog(),
        "SHOW default_transaction_read_only",
        &RunOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(r.statements[0].rows[0][0], json!("on"));
    assert_eq!(count(&db, "SELECT count(*) FROM locations"), before);
}

#[tokio::test]
async fn secret_columns_are_masked_and_json_is_redacted() {
    for era in ERAS {
        secrets_masked(era).await;
    }
}

async fn secrets_masked(era: &str) {
    let prefix = shared_installation(era);
    let c = common::conns("console-mask", &prefix, false);
    let db = format!("{prefix}scaffolder");
    let stored = shared().psql(
        &db,
        "SELECT secrets FROM tasks WHERE secrets IS NOT NULL AND secrets <> '{}' LIMIT 1",
    );
    let r = run(
        &c,
        &scaffolder(),
        "SELECT id, secrets, secrets AS copy, spec FROM tasks WHERE secrets IS NOT NULL LIMIT 50",
        &RunOptions::default(),
    )
    .await
    .unwrap();
    let s = &r.statements[0];
    assert!(s.columns[1].masked && !s.columns[0].masked);
    let text = serde_json::to_string(&r).unwrap();
    for v in serde_json::from_str::<Value>(stored.trim())
        .ok()
        .and_then(|v| v.as_object().cloned())
        .unwrap_or_default()
        .values()
        .filter_map(Value::as_str)
        .filter(|v| v.len() > 3)
    {
        assert!(!text.contains(v), "a stored secret value is shown");
    }
}

#[tokio::test]
async fn secrets_carried_through_expressions_are_masked_and_a_filter_taints_nothing() {
    let prefix = shared_installation("current");
    let c = common::conns("console-taint", &prefix, false);
    let db = format!("{prefix}scaffolder");
    let values: Vec<String> = shared()
        .psql(
            &db,
            "SELECT value FROM tasks, jsonb_each_text(secrets::jsonb) WHERE secrets IS NOT NULL",
        )
        .lines()
        .filter(|v| v.len() > 8)
        .map(str::to_string)
        .collect();
    assert!(!values.is_empty());
    let r = run(
        &c,
        &scaffolder(),
        "SELECT id, secrets::jsonb AS j, upper(secrets) AS u FROM tasks WHERE secrets IS NOT NULL;\n\
         SELECT secrets::jsonb ->> 'npmToken' AS npm, length(spec) AS n FROM tasks WHERE secrets IS NOT NULL;\n\
         SELECT string_agg(secrets, ',') FROM tasks;\n\
         WITH c AS (SELECT id, secrets AS s FROM tasks) SELECT lower(s) AS l FROM c WHERE s IS NOT NULL;\n\
         SELECT count(*) AS n FROM tasks WHERE secrets IS NOT NULL;\n\
         SELECT id, length(spec) AS n FROM tasks ORDER BY id LIMIT 1",
        &RunOptions::default(),
    )
    .await
    .unwrap();
    assert!(r.failed.is_none(), "{:?}", r.failed);
    let masked =
        |i: usize| -> Vec<bool> { r.statements[i].columns.iter().map(|c| c.masked).collect() };
    // A plain `id` keeps its origin and stays; a computed column over a secret is masked,
    // one beside it over other columns is not.
    assert_eq!(masked(0), vec![false, true, true]);
    assert_eq!(masked(1), vec![true, false]);
    assert_eq!(masked(2), vec![true]);
    assert_eq!(masked(3), vec![true]);
    // A secret read only in a filter, and a query without secrets, mask nothing.
    assert_eq!(masked(4), vec![false]);
    assert_eq!(masked(5), vec![false, false]);
    assert!(r.statements[4].rows[0][0].as_i64().unwrap() > 0);
    let text = serde_json::to_string(&r).unwrap();
    for v in &values {
        assert!(
            !text.contains(v.as_str()),
            "a secret travelled through an expression"
        );
    }
    // The run's transaction stayed usable after the plans were asked for.
    assert_eq!(r.statements.len(), 6);
    c.close().await;
}

#[tokio::test]
async fn the_statement_timeout_and_cancel_stop_a_slow_statement_on_the_server() {
    let prefix = shared_installation("current");
    let mut p = common::conns("console-t", &prefix, false).profile().clone();
    p.pool.statement_timeout_secs = 1;
    let c = bsi_core::connect::Connections::new(
        p,
        Some(bsi_core::secrets::Secret::new(shared().password.clone())),
    );
    let started = Instant::now();
    let r = run(
        &c,
        &catalog(),
        "SELECT pg_sleep(30)",
        &RunOptions::default(),
    )
    .await
    .unwrap();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(
        r.failed.as_ref().unwrap().1.code,
        ErrorCode::Timeout,
        "{:?}",
        r.failed
    );

    let c = common::conns("console-cancel", &prefix, false);
    let c2 = c.clone();
    let task = tokio::spawn(async move {
        c2.run_op(
            "console-1",
            run(
                &c2,
                &catalog(),
                "SELECT 1; SELECT pg_sleep(60)",
                &RunOptions::default(),
            ),
        )
        .await
    });
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let started = Instant::now();
    assert!(c.cancel("console-1").await.unwrap() >= 1);
    let res = task.await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(10));
    match res {
        Err(e) => assert_eq!(e.code(), ErrorCode::Cancelled, "{e}"),
        Ok(r) => assert_eq!(r.failed.unwrap().1.code, ErrorCode::Cancelled),
    }
    let left = count(
        "postgres",
        "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(60)%' AND pid <> pg_backend_pid()",
    );
    assert_eq!(left, 0, "the statement still runs on the server");
}

#[tokio::test]
async fn writes_need_write_mode_and_the_typed_name_and_commit_only_when_asked() {
    let s = shared();
    let prefix = format!("bsicon{}_", std::process::id());
    restore(s, "current", &prefix);
    let db = format!("{prefix}catalog");
    let c = common::conns("console-w", &prefix, true);
    let before = count(&db, "SELECT count(*) FROM locations");
    assert!(before > 0);
    let sql = "DELETE FROM locations WHERE id IN (SELECT id FROM locations LIMIT 1)";
    // Without the typed name: refused.
    let err = run(&c, &catalog(), sql, &RunOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Config, "{err}");
    assert!(err.to_string().contains(&db), "{err}");
    // Typed, not committed: the count is seen, then rolled back.
    let opts = RunOptions {
        confirm: Some(db.clone()),
        ..RunOptions::default()
    };
    let r = run(&c, &catalog(), sql, &opts).await.unwrap();
    assert_eq!(r.outcome, Outcome::RolledBack);
    assert_eq!(r.statements[0].rows_affected, 1);
    assert_eq!(r.statements[0].command, "DELETE 1");
    assert_eq!(count(&db, "SELECT count(*) FROM locations"), before);
    // A failing statement rolls the whole run back, committed or not.
    let r = run(
        &c,
        &catalog(),
        &format!("{sql}; SELECT * FROM no_such_table"),
        &RunOptions {
            commit: true,
            ..opts.clone()
        },
    )
    .await
    .unwrap();
    assert_eq!(r.outcome, Outcome::RolledBack);
    assert_eq!(r.failed.as_ref().unwrap().0, 1);
    assert_eq!(count(&db, "SELECT count(*) FROM locations"), before);
    // Committed.
    let r = run(
        &c,
        &catalog(),
        sql,
        &RunOptions {
            commit: true,
            ..opts
        },
    )
    .await
    .unwrap();
    assert_eq!(r.outcome, Outcome::Committed);
    assert_eq!(count(&db, "SELECT count(*) FROM locations"), before - 1);
}

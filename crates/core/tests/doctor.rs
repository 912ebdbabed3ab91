//! The doctor on databases real Backstage backends wrote (the committed fixtures of three
//! eras) and on generated faults in throw-away copies of them: a stopped catalog, a stuck
//! task, a held Knex lock, a stale scheduler ticket, connection pressure and a bloated table
//! each give their finding, severity and next step. Expectations are read from the fixture's
//! data with SQL at test time (the fixtures were made at a fixed moment, so their "stalled"
//! findings depend on today's date), never written down.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use bsi_core::connect::Connections;
use bsi_core::doctor::{self, Finding, Report, Severity, Thresholds};
use bsi_core::profile::{DivisionMode, Profile};
use bsi_core::secrets::Secret;
use bsi_core::tls::SslMode;
use bsi_testkit::backstage::{ERAS, restore, shared_installation};
use bsi_testkit::shared;
use sqlx::Connection;

fn conns(era: &str) -> Arc<Connections> {
    common::conns(&format!("doctor-{era}"), &shared_installation(era), false)
}

fn sql_i64(db: &str, sql: &str) -> i64 {
    shared().psql(db, sql).trim().parse().unwrap()
}

fn one<'a>(r: &'a Report, id: &str) -> &'a Finding {
    let mut it = r.with_id(id);
    let f = it
        .next()
        .unwrap_or_else(|| panic!("no {id} finding in {:#?}", r.findings));
    assert!(it.next().is_none(), "more than one {id}");
    f
}

fn has_next(f: &Finding, args: &[&str]) -> bool {
    f.next.iter().any(|n| n.args == args)
}

/// The Knex lock tables held in `db` (psql over every `*knex_migrations_lock`).
fn held_locks(db: &str) -> Vec<String> {
    let tables = shared().psql(
        db,
        "SELECT relname FROM pg_class WHERE relkind = 'r' AND relname LIKE '%knex\\_migrations\\_lock' ORDER BY 1",
    );
    tables
        .lines()
        .filter(|t| {
            sql_i64(
                db,
                &format!("SELECT count(*) FROM \"{t}\" WHERE is_locked = 1"),
            ) > 0
        })
        .map(|t| format!("{db}: public.{t}"))
        .collect()
}

fn databases(prefix: &str) -> Vec<String> {
    shared()
        .psql(
            "postgres",
            &format!(
                "SELECT datname FROM pg_database WHERE left(datname, {}) = '{prefix}' ORDER BY 1",
                prefix.len()
            ),
        )
        .lines()
        .map(str::to_string)
        .collect()
}

fn has_table(db: &str, table: &str) -> bool {
    shared().psql(
        db,
        &format!("SELECT to_regclass('public.{table}') IS NOT NULL"),
    ) == "t"
}

#[tokio::test]
async fn every_era_reports_what_its_data_holds() {
    for era in ERAS {
        let prefix = shared_installation(era);
        let c = conns(era);
        let r = doctor::doctor(&c).await.unwrap();
        c.close().await;
        let catalog = format!("{prefix}catalog");
        let scaffolder = format!("{prefix}scaffolder");

        // Nothing fails on any era; findings are ranked worst first.
        assert!(
            r.with_id("doctor.check_failed").next().is_none(),
            "{era}: {:#?}",
            r.findings
        );
        assert!(
            r.findings
                .windows(2)
                .all(|w| w[0].severity <= w[1].severity)
        );
        assert_eq!(
            r.worst,
            r.findings.first().map_or(Severity::Ok, |f| f.severity)
        );

        // Catalog processing: overdue by more than the threshold, by the database's clock.
        let total = sql_i64(&catalog, "SELECT count(*) FROM refresh_state");
        let overdue = sql_i64(
            &catalog,
            "SELECT count(*) FROM refresh_state WHERE next_update_at < now() - interval '1 hour'",
        );
        let f = one(&r, "catalog.processing_stalled");
        assert_eq!(f.count, Some(overdue), "{era}");
        let want = if overdue == 0 {
            Severity::Ok
        } else if overdue == total {
            Severity::Critical
        } else {
            Severity::Warning
        };
        assert_eq!(f.severity, want, "{era}: {f:#?}");
        if overdue > 0 {
            assert!(has_next(f, &["stale", "--older-than", "3600s"]), "{f:#?}");
        }

        // Processing errors, grouped, with the count of the rows that hold errors.
        let errors = sql_i64(
            &catalog,
            "SELECT count(*) FROM refresh_state WHERE errors NOT IN ('', '[]')",
        );
        assert!(errors > 0, "{era}: the fixtures hold processing errors");
        let f = one(&r, "catalog.processing_errors");
        assert_eq!((f.count, f.severity), (Some(errors), Severity::Warning));
        let grouped: i64 = f
            .evidence
            .iter()
            .filter_map(|e| {
                e.split_once(" ×")
                    .and_then(|(_, rest)| rest.split(':').next())
            })
            .map(|n| n.parse::<i64>().unwrap())
            .sum();
        assert_eq!(grouped, errors, "{era}: the groups add up: {f:#?}");

        // Orphans as the orphan list defines them.
        let orphans = sql_i64(
            &catalog,
            "SELECT count(*) FROM refresh_state rs WHERE NOT EXISTS \
             (SELECT 1 FROM refresh_state_references x WHERE x.target_entity_ref = rs.entity_ref) \
             OR EXISTS (SELECT 1 FROM search s WHERE s.entity_id = rs.entity_id \
             AND s.key = 'metadata.annotations.backstage.io/orphan' AND s.value = 'true')",
        );
        let f = one(&r, "catalog.orphans");
        assert_eq!(f.count, Some(orphans), "{era}");
        assert_eq!(f.examples.len() as i64, orphans.min(10));

        // Knex: a held-lock finding for exactly the locks held in the data.
        let mut want: Vec<String> = databases(&prefix)
            .iter()
            .flat_map(|db| held_locks(db))
            .collect();
        want.sort();
        let mut got: Vec<String> = r
            .with_id("knex.lock_held")
            .filter(|f| f.severity == Severity::Critical)
            .flat_map(|f| f.examples.clone())
            .collect();
        got.sort();
        assert_eq!(got, want, "{era}");
        if era == "2022-08" {
            assert!(!want.is_empty(), "the 2022-08 fixture holds a Knex lock");
            assert!(want.iter().any(|w| w.starts_with(&scaffolder)), "{want:?}");
        }
        for f in r
            .with_id("knex.lock_held")
            .filter(|f| f.severity == Severity::Critical)
        {
            let (db, table) = f.examples[0].split_once(": ").unwrap();
            assert!(f.title.contains(table) && f.title.contains(db), "{f:#?}");
            assert!(
                has_next(f, &["--write", "knex", "unlock", db, table]),
                "{f:#?}"
            );
        }

        // Stuck scaffolder tasks.
        let stuck = sql_i64(
            &scaffolder,
            "SELECT count(*) FROM tasks WHERE status = 'processing' \
             AND coalesce(last_heartbeat_at, created_at) < now() - interval '600 seconds'",
        );
        let f = one(&r, "scaffolder.task_stuck");
        assert_eq!(f.count, Some(stuck), "{era}");
        assert_eq!(
            f.severity,
            if stuck > 0 {
                Severity::Warning
            } else {
                Severity::Ok
            }
        );

        // The scheduler: every late task of every plugin database.
        let mut late = 0;
        for db in databases(&prefix) {
            if has_table(&db, "backstage_backend_tasks__tasks") {
                late += sql_i64(
                    &db,
                    "SELECT count(*) FROM backstage_backend_tasks__tasks WHERE \
                     (current_run_ticket IS NOT NULL AND current_run_expires_at < now() - interval '600 seconds') \
                     OR (current_run_ticket IS NULL AND next_run_start_at < now() - interval '3600 seconds')",
                );
            }
        }
        let got: i64 = r
            .findings
            .iter()
            .filter(|f| f.area == "scheduler" && f.severity != Severity::Ok)
            .filter_map(|f| f.count)
            .sum();
        assert_eq!(got, late, "{era}");

        // Auth: key counts as stored.
        let keys = sql_i64(
            &format!("{prefix}auth"),
            "SELECT count(*) FROM signing_keys",
        );
        assert_eq!(one(&r, "auth.signing_keys").count, Some(keys), "{era}");
    }
}

/// Restores `era` under a fresh prefix for faults.
fn copy(era: &str, tag: &str) -> String {
    let prefix = format!("dr{tag}_{}_", std::process::id());
    restore(shared(), era, &prefix);
    prefix
}

#[tokio::test]
async fn generated_faults_give_their_findings() {
    let prefix = copy("current", "faults");
    let (cat, scaf) = (format!("{prefix}catalog"), format!("{prefix}scaffolder"));
    let s = shared();
    // A healthy baseline: every entity due soon, no unfinished task, no lock, no late run.
    s.psql(
        &cat,
        "UPDATE refresh_state SET next_update_at = now() + interval '2 minutes'",
    );
    s.psql(
        &scaf,
        "UPDATE tasks SET status = 'completed' WHERE status IN ('open', 'processing')",
    );
    for db in databases(&prefix) {
        for t in held_locks(&db) {
            let table = t.split_once(": public.").unwrap().1.to_string();
            s.psql(&db, &format!("UPDATE \"{table}\" SET is_locked = 0"));
        }
        if has_table(&db, "backstage_backend_tasks__tasks") {
            s.psql(
                &db,
                "UPDATE backstage_backend_tasks__tasks SET next_run_start_at = now() + interval '1 hour', \
                 current_run_ticket = NULL, current_run_started_at = NULL, current_run_expires_at = NULL",
            );
        }
    }
    let c = common::conns("doctor-faults", &prefix, false);
    let r = doctor::doctor(&c).await.unwrap();
    assert_eq!(one(&r, "catalog.processing_stalled").severity, Severity::Ok);
    assert_eq!(one(&r, "scaffolder.task_stuck").severity, Severity::Ok);
    assert_eq!(one(&r, "knex.lock_held").severity, Severity::Ok);
    assert!(
        r.with_id("scheduler.ticket_stale")
            .all(|f| f.severity == Severity::Ok)
    );
    assert!(r.with_id("scheduler.run_overdue").next().is_none());
    assert_eq!(one(&r, "tables.dead_tuples").severity, Severity::Ok);

    // The faults.
    let total = sql_i64(&cat, "SELECT count(*) FROM refresh_state");
    s.psql(
        &cat,
        "UPDATE refresh_state SET next_update_at = now() - interval '3 days'",
    );
    let task = s.psql(&scaf, "SELECT id FROM tasks ORDER BY created_at LIMIT 1");
    s.psql(
        &scaf,
        &format!(
            "UPDATE tasks SET status = 'processing', last_heartbeat_at = now() - interval '2 days' WHERE id = '{task}'"
        ),
    );
    s.psql(&cat, "UPDATE knex_migrations_lock SET is_locked = 1");
    if !has_table(&scaf, "backstage_backend_tasks__tasks") {
        panic!("the current fixture's scaffolder database has the scheduler's table");
    }
    s.psql(
        &scaf,
        "INSERT INTO backstage_backend_tasks__tasks (id, settings_json, next_run_start_at, current_run_ticket, \
         current_run_started_at, current_run_expires_at) VALUES ('doctor-test-task', '{}', now() - interval '2 hours', \
         'ticket-1', now() - interval '3 hours', now() - interval '2 hours')",
    );
    s.psql(
        &scaf,
        "ALTER TABLE task_events SET (autovacuum_enabled = false)",
    );
    let before = sql_i64(&scaf, "SELECT max(id) FROM task_events");
    s.psql(
        &scaf,
        "INSERT INTO task_events (task_id, body, event_type) \
         SELECT e.task_id, e.body, e.event_type FROM task_events e, generate_series(1, 400) LIMIT 20000",
    );
    s.psql(
        &scaf,
        &format!("DELETE FROM task_events WHERE id > {before}"),
    );
    // The statistics of the delete reach pg_stat_user_tables when psql's session ends; wait
    // until they show.
    for _ in 0..50 {
        let dead = sql_i64(
            &scaf,
            "SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = 'task_events'",
        );
        if dead >= 20_000 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let r = doctor::doctor(&c).await.unwrap();
    c.close().await;
    assert_eq!(r.worst, Severity::Critical);

    let f = one(&r, "catalog.processing_stalled");
    assert_eq!((f.severity, f.count), (Severity::Critical, Some(total)));
    assert!(f.title.contains("stopped"), "{f:#?}");
    assert!(has_next(f, &["stale", "--older-than", "3600s"]));

    let f = one(&r, "scaffolder.task_stuck");
    assert_eq!((f.severity, f.count), (Severity::Warning, Some(1)));
    assert_eq!(f.examples, vec![task.clone()]);
    assert!(
        f.evidence.iter().any(|e| e.contains("close_stale_tasks")),
        "{f:#?}"
    );
    assert!(has_next(f, &["task", &task, "--log"]));

    let f = one(&r, "knex.lock_held");
    assert_eq!(f.severity, Severity::Critical);
    assert_eq!(
        f.examples,
        vec![format!("{cat}: public.knex_migrations_lock")]
    );
    assert!(has_next(
        f,
        &[
            "--write",
            "knex",
            "unlock",
            &cat,
            "public.knex_migrations_lock"
        ]
    ));

    let f = one(&r, "scheduler.ticket_stale");
    assert_eq!((f.severity, f.count), (Severity::Warning, Some(1)));
    assert_eq!(f.examples, vec![format!("{scaf}: doctor-test-task")]);
    assert!(has_next(
        f,
        &[
            "table",
            "backstage_backend_tasks__tasks",
            "--area",
            "scaffolder"
        ]
    ));

    let f = one(&r, "tables.dead_tuples");
    assert_eq!(f.severity, Severity::Warning);
    assert!(
        f.examples.contains(&format!("{scaf}.task_events")),
        "{f:#?}"
    );
    assert!(has_next(f, &["tables", "--area", "scaffolder"]));
}

#[tokio::test]
async fn connection_pressure_and_idle_transactions() {
    let prefix = copy("2022-08", "conn");
    let s = shared();
    let role = format!("bsi_doctor_limited_{}", std::process::id());
    let (user, password) = s.create_role(&role, "CONNECTION LIMIT 20");
    let db = format!("{prefix}catalog");
    // 15 sessions of the role, as Backstage's catalog pool names them, each idle in a transaction.
    let mut held = Vec::new();
    for _ in 0..15 {
        let url = s.url(&user, &password, &db, "sslmode=require");
        let opts = sqlx::postgres::PgConnectOptions::from_str(&url)
            .unwrap()
            .application_name("backstage_plugin_catalog");
        let mut conn = sqlx::PgConnection::connect_with(&opts).await.unwrap();
        sqlx::query("BEGIN").execute(&mut conn).await.unwrap();
        sqlx::query("SELECT 1").execute(&mut conn).await.unwrap();
        held.push(conn);
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let mut p = Profile::new("doctor-limited", "localhost", &user);
    p.port = s.port;
    p.prefix = prefix.clone();
    p.mode = DivisionMode::Database;
    p.tls.sslmode = SslMode::Require;
    p.pool.max_connections = 1;
    let c = Connections::new(p, Some(Secret::new(password.clone())));
    let t = Thresholds {
        idle_in_transaction_secs: 1,
        ..Thresholds::default()
    };
    let r = doctor::run(&c, &t).await.unwrap();
    c.close().await;

    let f = one(&r, "connections.pressure");
    assert!(
        matches!(f.severity, Severity::Warning | Severity::Critical),
        "{f:#?}"
    );
    assert!(f.title.contains(&role), "{f:#?}");
    assert!(
        f.evidence
            .iter()
            .any(|e| e.starts_with(&format!("backstage_plugin_catalog on {db}: 15 "))),
        "{f:#?}"
    );
    assert!(!f.next.is_empty());

    let f = one(&r, "connections.idle_in_transaction");
    assert_eq!((f.severity, f.count), (Severity::Warning, Some(15)));
    assert!(
        f.examples
            .iter()
            .all(|e| e.contains("(backstage_plugin_catalog)") && e.contains(&db)),
        "{f:#?}"
    );
    // The role may not read the plugin's tables: those checks say so, the report still stands.
    assert!(r.with_id("doctor.check_failed").next().is_some());
    drop(held);
}

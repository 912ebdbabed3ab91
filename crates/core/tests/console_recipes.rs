//! The console's recipes and EXPLAIN on databases real Backstage backends wrote, over TLS.
//! Every recipe runs on every era of the fixtures: where it says it was checked it must run and
//! answer what the fixture holds (its manifest's facts, counted by the fixture's maker, or a
//! count read with psql); where it does not, it must fail as `schema_degraded`, naming the
//! missing table and the migration that adds it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};

use bsi_core::ErrorCode;
use bsi_core::console::explain::explain;
use bsi_core::console::recipes::{self, run_recipe};
use bsi_core::console::{ConsoleRun, Outcome, RunOptions};
use bsi_core::tables::Target;
use bsi_testkit::backstage::{ERAS, manifest, shared_installation};
use bsi_testkit::shared;
use serde_json::{Value, json};

fn facts(db: &str) -> Value {
    let m: Value = serde_json::from_str(&manifest("current")).unwrap();
    m["databases"][db]["facts"].clone()
}

fn strings(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

/// Column `col` of the first statement's rows, as text.
fn column(r: &ConsoleRun, col: &str) -> Vec<Value> {
    let s = &r.statements[0];
    let i = s.columns.iter().position(|c| c.name == col).unwrap();
    s.rows.iter().map(|row| row[i].clone()).collect()
}

fn texts(r: &ConsoleRun, col: &str) -> BTreeSet<String> {
    column(r, col)
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

fn sum(r: &ConsoleRun, col: &str) -> i64 {
    column(r, col).iter().map(|v| v.as_i64().unwrap()).sum()
}

fn count(db: &str, sql: &str) -> i64 {
    shared().psql(db, sql).trim().parse().unwrap()
}

fn params(p: &[(&str, &str)]) -> BTreeMap<String, String> {
    p.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[tokio::test]
async fn every_recipe_runs_where_it_says_and_degrades_clearly_elsewhere() {
    let mut ran = 0;
    for era in ERAS {
        let prefix = shared_installation(era);
        let c = common::conns("recipes", &prefix, false);
        for recipe in recipes::all() {
            let r = run_recipe(
                &c,
                &Target::Anywhere,
                recipe.id,
                &BTreeMap::new(),
                &RunOptions::default(),
            )
            .await;
            if recipe.checked_on.contains(&era) {
                let r = r.unwrap_or_else(|e| panic!("{} on {era}: {e}", recipe.id));
                assert!(r.failed.is_none(), "{} on {era}: {:?}", recipe.id, r.failed);
                assert_eq!(r.outcome, Outcome::ReadOnly);
                ran += 1;
            } else {
                let e = r.expect_err(recipe.id);
                assert_eq!(
                    e.code(),
                    ErrorCode::SchemaDegraded,
                    "{} on {era}: {e}",
                    recipe.id
                );
                let msg = e.to_string();
                let table = recipe.needs[0].table;
                assert!(
                    msg.contains(table) && msg.contains("migration"),
                    "{} on {era}: {msg}",
                    recipe.id
                );
            }
        }
        c.close().await;
    }
    assert!(ran >= recipes::all().count() * 2, "{ran}");
}

#[tokio::test]
async fn catalog_recipes_answer_what_the_fixtures_hold() {
    let catalog = facts("catalog");
    for era in ERAS {
        let prefix = shared_installation(era);
        let c = common::conns("recipes-catalog", &prefix, false);
        let db = format!("{prefix}catalog");
        let run = |id: &'static str, p: &'static [(&'static str, &'static str)]| {
            let c = c.clone();
            async move {
                run_recipe(
                    &c,
                    &Target::Anywhere,
                    id,
                    &params(p),
                    &RunOptions::default(),
                )
                .await
                .unwrap()
            }
        };
        let errors = run("entities-with-errors", &[]).await;
        assert_eq!(
            texts(&errors, "entity_ref"),
            strings(&catalog["entities_with_errors"]),
            "{era}"
        );
        assert!(
            column(&errors, "first_error").iter().all(|m| m.is_string()),
            "{era}: every error has a message"
        );
        let apis = run("entities-with-errors", &[("kind", "api")]).await;
        assert!(
            texts(&apis, "entity_ref")
                .iter()
                .all(|r| r.starts_with("api:"))
        );
        assert_eq!(apis.statements[0].row_count, 2, "{era}");

        let orphans = run("orphan-candidates", &[]).await;
        assert_eq!(
            texts(&orphans, "entity_ref"),
            strings(&catalog["orphans"]),
            "{era}"
        );
        let missing = run("relations-to-missing-targets", &[]).await;
        assert_eq!(
            texts(&missing, "missing_target"),
            strings(&catalog["relation_targets_missing"]),
            "{era}"
        );
        let largest = run("largest-entities", &[("limit", "1000")]).await;
        assert_eq!(
            largest.statements[0].row_count as i64,
            catalog["final_entities"].as_i64().unwrap(),
            "{era}"
        );
        let sizes: Vec<i64> = column(&largest, "bytes")
            .iter()
            .map(|v| v.as_i64().unwrap())
            .collect();
        assert!(
            sizes.windows(2).all(|w| w[0] >= w[1]),
            "{era}: largest first"
        );
        let rows = run("catalog-search-rows-per-entity", &[("limit", "1000")]).await;
        assert_eq!(
            sum(&rows, "search_rows"),
            count(
                &db,
                "SELECT count(*) FROM search WHERE entity_id IS NOT NULL"
            ),
            "{era}"
        );
        // The fixtures were made days before any test run: every entity is overdue.
        let overdue = run("refresh-overdue", &[("limit", "1000")]).await;
        assert_eq!(
            overdue.statements[0].row_count as i64,
            catalog["refresh_state"].as_i64().unwrap(),
            "{era}"
        );
        let loops = run(
            "refresh-loop-candidates",
            &[("min_parents", "1"), ("limit", "1000")],
        )
        .await;
        assert_eq!(
            loops.statements[0].row_count as i64,
            count(
                &db,
                "SELECT count(DISTINCT target_entity_ref) FROM refresh_state_references"
            ),
            "{era}"
        );
        c.close().await;
    }
}

#[tokio::test]
async fn scaffolder_search_auth_knex_and_scheduler_recipes_answer_what_the_fixtures_hold() {
    let scaffolder = facts("scaffolder");
    for era in ERAS {
        let prefix = shared_installation(era);
        let c = common::conns("recipes-others", &prefix, false);
        let run = |id: &'static str, target: Target, p: &'static [(&'static str, &'static str)]| {
            let c = c.clone();
            async move {
                run_recipe(&c, &target, id, &params(p), &RunOptions::default())
                    .await
                    .unwrap()
            }
        };
        let tasks = run("tasks-by-template-and-status", Target::Anywhere, &[]).await;
        let mut by_status: BTreeMap<String, i64> = BTreeMap::new();
        for (status, n) in column(&tasks, "status").iter().zip(column(&tasks, "tasks")) {
            *by_status
                .entry(status.as_str().unwrap().into())
                .or_default() += n.as_i64().unwrap();
        }
        let want: BTreeMap<String, i64> =
            serde_json::from_value(scaffolder["tasks_by_status"].clone()).unwrap();
        assert_eq!(by_status, want, "{era}");
        let failed = run(
            "tasks-by-template-and-status",
            Target::Anywhere,
            &[("status", "failed")],
        )
        .await;
        assert_eq!(sum(&failed, "tasks"), want["failed"], "{era}");
        let stuck = run("stuck-tasks", Target::Anywhere, &[]).await;
        assert_eq!(
            stuck.statements[0].row_count as i64, want["processing"],
            "{era}"
        );

        let docs = run("search-documents-by-type", Target::Anywhere, &[]).await;
        assert_eq!(
            sum(&docs, "documents"),
            count(&format!("{prefix}search"), "SELECT count(*) FROM documents"),
            "{era}"
        );
        let tickets = run("scheduler-tickets", Target::Anywhere, &[]).await;
        assert_eq!(
            tickets.statements[0].row_count as i64,
            count(
                &format!("{prefix}search"),
                "SELECT count(*) FROM backstage_backend_tasks__tasks"
            ),
            "{era}"
        );
        // Knex state on the scaffolder: 2022-08's holds a lock left behind.
        let knex = run(
            "knex-state",
            Target::Area {
                area: "scaffolder".into(),
            },
            &[],
        )
        .await;
        assert_eq!(knex.statements.len(), 2);
        let locks: BTreeMap<String, String> = column(&knex, "lock_table")
            .iter()
            .zip(column(&knex, "is_locked"))
            .map(|(t, l)| (t.as_str().unwrap().into(), l.as_str().unwrap().into()))
            .collect();
        let db = format!("{prefix}scaffolder");
        assert_eq!(
            locks["knex_migrations_lock"],
            count(&db, "SELECT is_locked FROM knex_migrations_lock").to_string(),
            "{era}"
        );
        assert_eq!(
            locks["knex_migrations_lock"] == "1",
            era == "2022-08",
            "{era}"
        );
        assert!(locks.contains_key("backstage_backend_tasks__knex_migrations_lock"));
        assert_eq!(
            knex.statements[1].row_count as i64,
            count(&db, "SELECT least(count(*), 10) FROM knex_migrations"),
            "{era}"
        );
        if era == "current" {
            let s = run("offline-sessions-by-user", Target::Anywhere, &[]).await;
            assert_eq!(
                texts(&s, "user_entity_ref"),
                ["user:default/guest".to_string()].into()
            );
            assert_eq!(column(&s, "clients"), vec![json!("backstage-cli")]);
        }
        c.close().await;
    }
}

#[tokio::test]
async fn explain_gives_a_tree_and_analyze_is_only_for_reads() {
    let prefix = shared_installation("current");
    let c = common::conns("console-explain", &prefix, false);
    let catalog = Target::Area {
        area: "catalog".into(),
    };
    let sql = "SELECT r.type, count(*) FROM relations r \
               JOIN refresh_state s ON s.entity_ref = r.source_entity_ref \
               WHERE r.type <> 'x' GROUP BY r.type ORDER BY 2 DESC";
    let plan = explain(&c, &catalog, sql, false).await.unwrap();
    assert!(!plan.analyzed);
    assert_eq!(plan.execution_ms, None);
    fn walk<'a>(
        n: &'a bsi_core::console::explain::PlanNode,
        out: &mut Vec<&'a bsi_core::console::explain::PlanNode>,
    ) {
        out.push(n);
        for c in &n.children {
            walk(c, out);
        }
    }
    let mut nodes = Vec::new();
    walk(&plan.root, &mut nodes);
    assert!(nodes.len() >= 3, "{nodes:?}");
    assert_eq!(nodes.iter().filter(|n| n.slowest).count(), 1);
    assert!(nodes.iter().any(|n| {
        n.relation
            .as_deref()
            .is_some_and(|r| r.starts_with("relations"))
    }));
    let analyzed = explain(&c, &catalog, sql, true).await.unwrap();
    assert!(analyzed.analyzed && analyzed.execution_ms.is_some());
    // The root's rows: one per relation type in the fixture.
    assert_eq!(analyzed.root.actual_rows, Some(14.0));

    // ANALYZE would run a write: refused before anything reaches the server.
    let e = explain(&c, &catalog, "DELETE FROM relations", true)
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::Config);
    assert!(e.to_string().contains("may write"), "{e}");
    // Without ANALYZE a write is only planned, in the read-only transaction.
    let p = explain(&c, &catalog, "DELETE FROM relations", false)
        .await
        .unwrap();
    assert_eq!(p.root.node_type, "Delete");
    assert_eq!(
        count(
            &format!("{prefix}catalog"),
            "SELECT count(*) FROM relations"
        ),
        314
    );
    let e = explain(&c, &catalog, "SELECT 1; SELECT 2", false)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("one statement"), "{e}");
    c.close().await;
}

//! The guarded fixes on throw-away copies of databases real Backstage backends wrote: each
//! shows its SQL, is refused in read-only mode and with a wrong confirmation (nothing
//! changes), and in write mode changes what Backstage's own code would, reads the result
//! again and leaves one audit line.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use bsi_core::fixes::{self, FixOutcome, FixPlan, FixRequest};
use bsi_core::{CoreError, ErrorCode};
use bsi_testkit::backstage::restore;
use bsi_testkit::shared;

fn copy(era: &str, tag: &str) -> String {
    let prefix = format!("fx{tag}_{}_", std::process::id());
    restore(shared(), era, &prefix);
    prefix
}

fn q(db: &str, sql: &str) -> String {
    shared().psql(db, sql).trim().to_string()
}

/// Plans `req`, checks that read-only mode and a wrong confirmation refuse it with `db`
/// unchanged (`probe` reads the state), then applies it in write mode with its audit log in a
/// fresh folder. Returns the plan, the outcome and the audit log's text.
async fn guarded(
    prefix: &str,
    req: FixRequest,
    db: &str,
    probe: &str,
) -> (FixPlan, FixOutcome, String) {
    let ro = common::conns("fix-ro", prefix, false);
    let plan = fixes::plan(&ro, &req).await.unwrap();
    assert!(!plan.statements.is_empty());
    assert!(plan.script().starts_with("BEGIN;") && plan.script().ends_with("COMMIT;\n"));
    let before = q(db, probe);
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.log");
    let err = fixes::apply_logged(&ro, &plan, &plan.confirm, Ok(log.clone()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::ReadOnly, "{err}");
    assert_eq!(q(db, probe), before, "read-only mode changed something");
    ro.close().await;

    let rw = common::conns("fix-rw", prefix, true);
    let plan = fixes::plan(&rw, &req).await.unwrap();
    let err = fixes::apply_logged(&rw, &plan, "not-the-name", Ok(log.clone()))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, CoreError::Config(m) if m.contains(&plan.confirm)),
        "{err}"
    );
    assert_eq!(
        q(db, probe),
        before,
        "a wrong confirmation changed something"
    );
    assert!(!log.exists());

    let done = fixes::apply_logged(&rw, &plan, &plan.confirm, Ok(log.clone()))
        .await
        .unwrap();
    rw.close().await;
    assert_eq!(done.audit_log.as_deref(), Some(log.as_path()));
    assert!(done.notes.is_empty(), "{:?}", done.notes);
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(text.lines().count(), 1, "{text}");
    let line: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
    assert_eq!(line["fix"], plan.fix.as_str());
    assert_eq!(line["database"], plan.database.as_str());
    assert_eq!(line["profile"], "fix-rw");
    assert_eq!(line["db_user"], "postgres");
    assert_eq!(
        line["rows"].as_array().unwrap().len(),
        plan.statements.len()
    );
    assert!(line["at"].as_str().unwrap().ends_with('Z'));
    (plan, done, text)
}

async fn refresh_schedules_the_entity_and_its_location(era: &str) {
    let prefix = copy(era, &format!("refresh{}", era.replace('-', "")));
    let cat = format!("{prefix}catalog");
    // An entity that a location emits, both due far in the future.
    let entity = q(
        &cat,
        "SELECT target_entity_ref FROM refresh_state_references \
         WHERE source_entity_ref LIKE 'location:%' ORDER BY 1 LIMIT 1",
    );
    let location = q(
        &cat,
        &format!(
            "SELECT source_entity_ref FROM refresh_state_references \
             WHERE target_entity_ref = '{entity}' AND source_entity_ref LIKE 'location:%' ORDER BY 1 LIMIT 1"
        ),
    );
    q(
        &cat,
        "UPDATE refresh_state SET next_update_at = now() + interval '1 day'",
    );
    let probe = "SELECT count(*) FROM refresh_state WHERE next_update_at <= now()";
    let (plan, done, _) = guarded(
        &prefix,
        FixRequest::Refresh {
            entity_ref: entity.to_uppercase(),
        },
        &cat,
        probe,
    )
    .await;
    assert!(
        plan.script().contains("SET next_update_at = now()"),
        "{}",
        plan.script()
    );
    assert!(plan.source.contains("DefaultRefreshService"));
    assert_eq!(plan.touches.len(), 2, "{:?}", plan.touches);
    assert_eq!(done.rows, vec![2]);
    assert_eq!(q(&cat, probe), "2");
    for r in [&entity, &location] {
        assert_eq!(
            q(
                &cat,
                &format!(
                    "SELECT next_update_at <= now() FROM refresh_state WHERE entity_ref = '{r}'"
                )
            ),
            "t"
        );
        assert!(
            done.after.iter().any(|a| a.starts_with(r.as_str())),
            "{:?}",
            done.after
        );
    }
}

#[tokio::test]
async fn refresh_current() {
    refresh_schedules_the_entity_and_its_location("current").await;
}

#[tokio::test]
async fn refresh_2022_08() {
    refresh_schedules_the_entity_and_its_location("2022-08").await;
}

async fn an_orphan_is_removed_as_the_catalog_api_does(era: &str) {
    let prefix = copy(era, &format!("orphan{}", era.replace('-', "")));
    let cat = format!("{prefix}catalog");
    let orphans = "SELECT entity_ref FROM refresh_state s WHERE entity_ref NOT LIKE 'location:%' \
                   AND NOT EXISTS (SELECT 1 FROM refresh_state_references r WHERE r.target_entity_ref = s.entity_ref) \
                   ORDER BY 1";
    let orphan = q(&cat, &format!("{orphans} LIMIT 1"));
    assert!(!orphan.is_empty(), "the {era} fixture has orphans");
    let id = q(
        &cat,
        &format!("SELECT entity_id FROM refresh_state WHERE entity_ref = '{orphan}'"),
    );
    let relations = q(
        &cat,
        &format!("SELECT count(*) FROM relations WHERE originating_entity_id = '{id}'"),
    );
    // An entity that is still emitted is refused, naming its parent.
    let emitted = q(
        &cat,
        "SELECT target_entity_ref FROM refresh_state_references ORDER BY 1 LIMIT 1",
    );
    let ro = common::conns("fix-ro", &prefix, false);
    let err = fixes::plan(
        &ro,
        &FixRequest::DeleteOrphan {
            entity_ref: emitted.clone(),
        },
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("is not an orphan"), "{err}");
    assert!(
        err.to_string().contains(&format!("bsi why {emitted}")),
        "{err}"
    );
    ro.close().await;

    let probe = format!("SELECT count(*) FROM refresh_state WHERE entity_id = '{id}'");
    let (plan, done, _) = guarded(
        &prefix,
        FixRequest::DeleteOrphan {
            entity_ref: orphan.clone(),
        },
        &cat,
        &probe,
    )
    .await;
    assert!(plan.source.contains("removeEntityByUid"));
    assert!(plan.script().contains("child-was-deleted"));
    assert!(plan.script().contains("DELETE FROM"));
    assert_eq!(*done.rows.last().unwrap(), 1);
    assert_eq!(q(&cat, &probe), "0");
    assert_eq!(
        q(
            &cat,
            &format!("SELECT count(*) FROM relations WHERE originating_entity_id = '{id}'")
        ),
        "0",
        "its {relations} relations went with it"
    );
    assert_eq!(
        q(
            &cat,
            &format!("SELECT count(*) FROM final_entities WHERE entity_id = '{id}'")
        ),
        "0"
    );
    assert!(done.after[0].contains("is gone"), "{:?}", done.after);
}

#[tokio::test]
async fn orphan_current() {
    an_orphan_is_removed_as_the_catalog_api_does("current").await;
}

#[tokio::test]
async fn orphan_2022_08() {
    an_orphan_is_removed_as_the_catalog_api_does("2022-08").await;
}

#[tokio::test]
async fn an_expired_scheduler_ticket_is_cleared_and_a_live_one_is_kept() {
    let prefix = copy("current", "ticket");
    let scaf = format!("{prefix}scaffolder");
    q(
        &scaf,
        "INSERT INTO backstage_backend_tasks__tasks (id, settings_json, next_run_start_at, current_run_ticket, \
         current_run_started_at, current_run_expires_at) VALUES \
         ('fix-expired', '{}', now() - interval '2 hours', 'ticket-1', now() - interval '3 hours', now() - interval '2 hours'), \
         ('fix-live', '{}', now(), 'ticket-2', now(), now() + interval '1 hour')",
    );
    let ro = common::conns("fix-ro", &prefix, false);
    let err = fixes::plan(
        &ro,
        &FixRequest::ClearTicket {
            area: "scaffolder".into(),
            task_id: "fix-live".into(),
        },
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string().contains("a worker may still be running it"),
        "{err}"
    );
    ro.close().await;
    let probe = "SELECT coalesce(current_run_ticket, 'none') FROM backstage_backend_tasks__tasks WHERE id = 'fix-expired'";
    let (plan, done, _) = guarded(
        &prefix,
        FixRequest::ClearTicket {
            area: "scaffolder".into(),
            task_id: "fix-expired".into(),
        },
        &scaf,
        probe,
    )
    .await;
    assert!(plan.source.contains("PluginTaskSchedulerJanitor"));
    assert_eq!(done.rows, vec![1]);
    assert_eq!(q(&scaf, probe), "none");
    assert_eq!(
        q(
            &scaf,
            "SELECT current_run_ticket FROM backstage_backend_tasks__tasks WHERE id = 'fix-live'"
        ),
        "ticket-2"
    );
    assert!(
        done.after[0].contains("run ticket none"),
        "{:?}",
        done.after
    );
}

async fn a_stuck_task_is_failed_as_the_scaffolder_does(era: &str) {
    let prefix = copy(era, &format!("task{}", era.replace('-', "")));
    let scaf = format!("{prefix}scaffolder");
    let task = q(&scaf, "SELECT id FROM tasks ORDER BY created_at LIMIT 1");
    q(
        &scaf,
        &format!(
            "UPDATE tasks SET status = 'processing', secrets = '{{\"backstageToken\":\"x\"}}', \
             last_heartbeat_at = now() - interval '2 days' WHERE id = '{task}'; \
             DELETE FROM task_events WHERE task_id = '{task}' AND event_type = 'completion'; \
             INSERT INTO task_events (task_id, event_type, body) VALUES \
               ('{task}', 'log', '{{\"message\":\"Beginning step Fetch\",\"stepId\":\"fetch\",\"status\":\"processing\"}}'), \
               ('{task}', 'log', 'not json')"
        ),
    );
    // A task that beats is refused.
    let live = q(
        &scaf,
        &format!("SELECT id FROM tasks WHERE id <> '{task}' ORDER BY created_at LIMIT 1"),
    );
    q(
        &scaf,
        &format!(
            "UPDATE tasks SET status = 'processing', last_heartbeat_at = now() WHERE id = '{live}'"
        ),
    );
    let ro = common::conns("fix-ro", &prefix, false);
    let err = fixes::plan(&ro, &FixRequest::FailTask { task_id: live })
        .await
        .unwrap_err();
    assert!(err.to_string().contains("its worker is alive"), "{err}");
    ro.close().await;

    let probe = format!("SELECT status || coalesce(secrets, '') FROM tasks WHERE id = '{task}'");
    let (plan, done, text) = guarded(
        &prefix,
        FixRequest::FailTask {
            task_id: task.clone(),
        },
        &scaf,
        &probe,
    )
    .await;
    assert!(plan.source.contains("shutdownTask"));
    assert!(
        plan.touches.iter().any(|t| t.contains("fetch")),
        "{:?}",
        plan.touches
    );
    assert_eq!(done.rows, vec![1, 1, 1]);
    assert_eq!(q(&scaf, &probe), "failed");
    assert_eq!(
        q(
            &scaf,
            &format!(
                "SELECT count(*) FROM task_events WHERE task_id = '{task}' AND event_type = 'completion'"
            )
        ),
        "1"
    );
    assert_eq!(
        q(
            &scaf,
            &format!(
                "SELECT count(*) FROM task_events WHERE task_id = '{task}' AND event_type = 'log' \
                 AND body LIKE '%\"stepId\":\"fetch\"%' AND body LIKE '%\"status\":\"failed\"%'"
            )
        ),
        "1"
    );
    assert_eq!(done.after, vec![format!("{task}: failed")]);
    // The secrets' values never reach the audit log.
    assert!(!text.contains("backstageToken"));
}

#[tokio::test]
async fn stuck_task_current() {
    a_stuck_task_is_failed_as_the_scaffolder_does("current").await;
}

#[tokio::test]
async fn stuck_task_2022_08() {
    a_stuck_task_is_failed_as_the_scaffolder_does("2022-08").await;
}

#[tokio::test]
async fn the_held_knex_lock_of_2022_08_is_released() {
    let prefix = copy("2022-08", "knex");
    let scaf = format!("{prefix}scaffolder");
    let probe = "SELECT is_locked FROM knex_migrations_lock";
    assert_eq!(q(&scaf, probe), "1", "the 2022-08 fixture holds this lock");
    let (plan, done, _) = guarded(
        &prefix,
        FixRequest::KnexUnlock {
            database: scaf.clone(),
            lock_table: "public.knex_migrations_lock".into(),
        },
        &scaf,
        probe,
    )
    .await;
    assert!(plan.touches[0].contains("held"));
    assert_eq!(done.rows, vec![1]);
    assert_eq!(q(&scaf, probe), "0");
    assert_eq!(
        done.after,
        vec!["public.knex_migrations_lock: free".to_string()]
    );
}

//! What each fix reads and runs, mirroring Backstage's own code (cited per fix). Every plan
//! reads the live schema first, so a fix works on each era of the tables it touches.

use sqlx::Row;

use super::FixPlan;
use crate::area;
use crate::connect::Connections;
use crate::error::{CoreError, Result};
use crate::refs::parse_ref;
use crate::sql::{Param, Sql, age_secs, iso_text, qualified, quote_ident};

/// A ref as Backstage stores it in `refresh_state` (lower case, `toLocaleLowerCase('en-US')`).
fn stored_ref(input: &str) -> Result<String> {
    Ok(parse_ref(input)?.to_lowercase())
}

fn sql(text: String, params: Vec<Param>) -> Sql {
    Sql {
        text,
        params,
        replan: false,
    }
}

/// The next step for a ref that is not where a fix needs it.
fn why_hint(entity_ref: &str) -> String {
    format!("`bsi why {entity_ref}` explains where it is")
}

/// Schedules an entity for processing now: `DefaultRefreshService.refresh` in
/// `@backstage/plugin-catalog-backend` (what `POST /api/catalog/refresh` runs) sets
/// `next_update_at = now()` on the entity's `refresh_state` row and on its nearest `location:`
/// ancestor's (found through `refresh_state_references`, `DefaultProcessingDatabase.listAncestors`).
pub(super) async fn refresh(conns: &Connections, input: &str) -> Result<FixPlan> {
    let entity_ref = stored_ref(input)?;
    let loc = area::locate(conns, "catalog")?;
    let (pool, schema) = loc.open(conns).await?;
    if !schema.has_table("refresh_state") || !schema.has_table("refresh_state_references") {
        return Err(CoreError::not_found("catalog table", "refresh_state"));
    }
    let rs = qualified(&loc.schema, "refresh_state");
    let rsr = qualified(&loc.schema, "refresh_state_references");
    let find = sql(
        format!(
            "WITH RECURSIVE anc(ref, depth) AS ( \
               SELECT $1::text, 0 \
               UNION \
               SELECT r.source_entity_ref, a.depth + 1 FROM anc a \
               JOIN {rsr} r ON r.target_entity_ref = a.ref \
               WHERE r.source_entity_ref IS NOT NULL AND a.depth < 64) \
             SELECT s.entity_ref::text AS entity_ref, {} AS next_update_at \
             FROM {rs} s WHERE s.entity_ref = $1 OR s.entity_ref = \
               (SELECT ref FROM anc WHERE ref LIKE 'location:%' ORDER BY depth, ref LIMIT 1) \
             ORDER BY s.entity_ref = $1 DESC",
            iso_text("s.next_update_at")
        ),
        vec![Param::Text(entity_ref.clone())],
    );
    let rows = find.fetch_all(&pool, &loc.endpoint).await?;
    let refs: Vec<String> = rows.iter().map(|r| r.get("entity_ref")).collect();
    if !refs.contains(&entity_ref) {
        return Err(CoreError::NotFound {
            what: "entity in refresh_state",
            name: entity_ref.clone(),
            hint: Some(format!(
                "the catalog does not process it, so it cannot be scheduled; {}",
                why_hint(&entity_ref)
            )),
        });
    }
    let mut plan = FixPlan::new(
        "refresh",
        format!("Schedule {entity_ref} for processing now"),
        &loc.endpoint,
        "DefaultRefreshService.refresh in @backstage/plugin-catalog-backend (POST /api/catalog/refresh)",
    );
    plan.touches = rows
        .iter()
        .map(|r| {
            format!(
                "refresh_state {}: next update at {}",
                r.get::<String, _>("entity_ref"),
                r.get::<Option<String>, _>("next_update_at")
                    .unwrap_or_else(|| "-".into())
            )
        })
        .collect();
    plan.statements.push(sql(
        format!("UPDATE {rs} SET next_update_at = now() WHERE entity_ref = ANY($1)"),
        vec![Param::TextArray(refs.clone())],
    ));
    plan.check = Some(sql(
        format!(
            "SELECT entity_ref || ': next update at ' || {} FROM {rs} WHERE entity_ref = ANY($1) ORDER BY 1",
            iso_text("next_update_at")
        ),
        vec![Param::TextArray(refs)],
    ));
    Ok(plan)
}

/// Removes an orphan as `DefaultEntitiesCatalog.removeEntityByUid` in
/// `@backstage/plugin-catalog-backend` does (`DELETE /api/catalog/entities/by-uid/:uid`): the
/// parents' `result_hash` is set to `child-was-deleted` (so that a parent that does emit it
/// writes it again), the entities it had relations with are marked for stitching
/// (`markForStitching`: a `stitch_queue` row where that table exists, else the
/// `force-stitching` hashes and, where the columns exist, `next_stitch_at`), and its
/// `refresh_state` row is deleted, which removes its `final_entities`, `search` and
/// `relations` rows by their foreign keys.
pub(super) async fn delete_orphan(conns: &Connections, input: &str) -> Result<FixPlan> {
    let entity_ref = stored_ref(input)?;
    let loc = area::locate(conns, "catalog")?;
    let (pool, schema) = loc.open(conns).await?;
    for t in ["refresh_state", "refresh_state_references", "relations"] {
        if !schema.has_table(t) {
            return Err(CoreError::not_found("catalog table", t));
        }
    }
    let q = |t: &str| qualified(&loc.schema, t);
    let (rs, rsr, rel) = (
        q("refresh_state"),
        q("refresh_state_references"),
        q("relations"),
    );
    let ep = &loc.endpoint;
    let found = sql(
        format!(
            "SELECT s.entity_id::text AS id, \
               (SELECT coalesce(array_agg(DISTINCT coalesce(r.source_entity_ref, 'provider ' || r.source_key)), '{{}}') \
                FROM {rsr} r WHERE r.target_entity_ref = s.entity_ref) AS parents, \
               (SELECT count(*) FROM {rel} WHERE originating_entity_id = s.entity_id) AS relations \
             FROM {rs} s WHERE s.entity_ref = $1"
        ),
        vec![Param::Text(entity_ref.clone())],
    )
    .fetch_all(&pool, ep)
    .await?;
    let Some(row) = found.first() else {
        return Err(CoreError::NotFound {
            what: "entity in refresh_state",
            name: entity_ref.clone(),
            hint: Some(why_hint(&entity_ref)),
        });
    };
    let id: String = row.get("id");
    let parents: Vec<String> = row.get("parents");
    let relations: i64 = row.get("relations");
    if !parents.is_empty() {
        return Err(CoreError::config(format!(
            "{entity_ref} is not an orphan: {} still emits it, so it would come back at their next \
             processing; remove it where it is defined, or {}",
            parents.join(", "),
            why_hint(&entity_ref)
        )));
    }
    // The entities it had relations with, which are stitched again without it.
    let peers: Vec<String> = sql(
        format!(
            "SELECT DISTINCT p.ref FROM ( \
               SELECT target_entity_ref AS ref FROM {rel} WHERE originating_entity_id = $1 \
               UNION SELECT source_entity_ref FROM {rel} WHERE originating_entity_id = $1) p \
             JOIN {rs} s ON s.entity_ref = p.ref WHERE s.entity_id <> $1 ORDER BY 1"
        ),
        vec![Param::Text(id.clone())],
    )
    .fetch_all(&pool, ep)
    .await?
    .iter()
    .map(|r| r.get::<String, _>(0))
    .collect();

    let mut plan = FixPlan::new(
        "delete_orphan",
        format!("Remove the orphan {entity_ref}"),
        ep,
        "DefaultEntitiesCatalog.removeEntityByUid in @backstage/plugin-catalog-backend \
         (DELETE /api/catalog/entities/by-uid/:uid)",
    );
    plan.touches.push(format!(
        "refresh_state {entity_ref} (entity_id {id}), and with it its final_entities and search \
         rows and the {relations} relations it originated"
    ));
    if !peers.is_empty() {
        plan.touches.push(format!(
            "{} related entities to stitch again: {}",
            peers.len(),
            peers.join(", ")
        ));
    }
    plan.statements.push(sql(
        format!(
            "UPDATE {rs} SET result_hash = 'child-was-deleted', next_update_at = now() \
             WHERE entity_ref IN (SELECT r.source_entity_ref FROM {rs} s \
               JOIN {rsr} r ON r.target_entity_ref = s.entity_ref WHERE s.entity_id = $1)"
        ),
        vec![Param::Text(id.clone())],
    ));
    if !peers.is_empty() {
        let ticket = "md5(random()::text || clock_timestamp()::text)";
        if schema.has_table("stitch_queue") {
            plan.statements.push(sql(
                format!(
                    "INSERT INTO {} (entity_ref, stitch_ticket, next_stitch_at) \
                     SELECT ref, {ticket}, now() FROM unnest($1::text[]) AS ref \
                     ON CONFLICT (entity_ref) DO UPDATE SET stitch_ticket = EXCLUDED.stitch_ticket",
                    q("stitch_queue")
                ),
                vec![Param::TextArray(peers.clone())],
            ));
        } else {
            if schema.has_column("final_entities", "hash") {
                plan.statements.push(sql(
                    format!(
                        "UPDATE {} SET hash = 'force-stitching' WHERE entity_id IN \
                         (SELECT entity_id FROM {rs} WHERE entity_ref = ANY($1))",
                        q("final_entities")
                    ),
                    vec![Param::TextArray(peers.clone())],
                ));
            }
            let deferred = if schema.has_column("refresh_state", "next_stitch_at") {
                format!(", next_stitch_at = now(), next_stitch_ticket = {ticket}")
            } else {
                String::new()
            };
            plan.statements.push(sql(
                format!(
                    "UPDATE {rs} SET result_hash = 'force-stitching', next_update_at = now(){deferred} \
                     WHERE entity_ref = ANY($1)"
                ),
                vec![Param::TextArray(peers)],
            ));
        }
    }
    plan.statements.push(sql(
        format!("DELETE FROM {rs} WHERE entity_id = $1"),
        vec![Param::Text(id)],
    ));
    plan.check = Some(sql(
        format!(
            "SELECT CASE WHEN EXISTS (SELECT 1 FROM {rs} WHERE entity_ref = $1) \
               THEN $1 || ' is still in refresh_state' \
               ELSE $1 || ' is gone from refresh_state, final_entities, search and relations' END"
        ),
        vec![Param::Text(entity_ref)],
    ));
    Ok(plan)
}

/// Clears a scheduler task's expired run ticket, as `PluginTaskSchedulerJanitor` of Backstage's
/// scheduler (`@backstage/backend-defaults`, formerly `@backstage/backend-tasks`) does on its
/// rounds: a ticket whose `current_run_expires_at` passed belongs to a worker that is gone.
pub(super) async fn clear_ticket(
    conns: &Connections,
    area_id: &str,
    task_id: &str,
) -> Result<FixPlan> {
    const TABLE: &str = "backstage_backend_tasks__tasks";
    let loc = area::locate(conns, area_id)?;
    let (pool, schema) = loc.open(conns).await?;
    if !schema.has_table(TABLE) {
        return Err(CoreError::NotFound {
            what: "scheduler table",
            name: format!("{TABLE} in {}", loc.database),
            hint: Some(
                "each plugin database has its own; `bsi doctor` names the one with the stale ticket (--area)"
                    .to_string(),
            ),
        });
    }
    let t = qualified(&loc.schema, TABLE);
    let ep = &loc.endpoint;
    let rows = sql(
        format!(
            "SELECT current_run_ticket IS NOT NULL AS held, {} AS expires, \
                    coalesce(current_run_expires_at < now(), false) AS expired \
             FROM {t} WHERE id = $1",
            iso_text("current_run_expires_at")
        ),
        vec![Param::Text(task_id.to_string())],
    )
    .fetch_all(&pool, ep)
    .await?;
    let Some(row) = rows.first() else {
        return Err(CoreError::NotFound {
            what: "scheduler task",
            name: format!("{task_id} in {}", loc.database),
            hint: Some(format!(
                "`bsi table {TABLE} --area {area_id}` lists the scheduler's tasks"
            )),
        });
    };
    let expires: Option<String> = row.get("expires");
    if !row.get::<bool, _>("held") {
        return Err(CoreError::config(format!(
            "the scheduler task {task_id} holds no run ticket: nothing to clear"
        )));
    }
    if !row.get::<bool, _>("expired") {
        return Err(CoreError::config(format!(
            "the run ticket of {task_id} expires at {}: a worker may still be running it; \
             Backstage clears it itself once it has expired",
            expires.unwrap_or_else(|| "-".into())
        )));
    }
    let mut plan = FixPlan::new(
        "clear_ticket",
        format!("Clear the expired run ticket of the scheduler task {task_id}"),
        ep,
        "PluginTaskSchedulerJanitor in Backstage's scheduler (@backstage/backend-defaults)",
    );
    plan.touches.push(format!(
        "{TABLE} {task_id}: run ticket expired at {}",
        expires.unwrap_or_else(|| "-".into())
    ));
    plan.statements.push(sql(
        format!(
            "UPDATE {t} SET current_run_ticket = NULL, current_run_started_at = NULL, \
             current_run_expires_at = NULL WHERE id = $1 AND current_run_expires_at < now()"
        ),
        vec![Param::Text(task_id.to_string())],
    ));
    plan.check = Some(sql(
        format!(
            "SELECT id || ': run ticket ' || CASE WHEN current_run_ticket IS NULL THEN 'none' ELSE 'held' END \
             || ', next run at ' || coalesce({}, '-') FROM {t} WHERE id = $1",
            iso_text("next_run_start_at")
        ),
        vec![Param::Text(task_id.to_string())],
    ));
    Ok(plan)
}

/// How long a `processing` task may go without a heartbeat before it can be failed here: the
/// doctor's threshold ([`crate::doctor::Thresholds`]).
fn heartbeat_stale_secs() -> i64 {
    crate::doctor::Thresholds::default().heartbeat_stale_secs
}

/// Marks a stuck scaffolder task failed as `DatabaseTaskStore.shutdownTask` and `completeTask`
/// in `@backstage/plugin-scaffolder-backend` do for a stale task: each step still
/// `processing` gets a `failed` log event, the task `status = 'failed'` with its `secrets`
/// cleared, and a `completion` event carries the message.
pub(super) async fn fail_task(conns: &Connections, task_id: &str) -> Result<FixPlan> {
    let loc = area::locate(conns, "scaffolder")?;
    let (pool, schema) = loc.open(conns).await?;
    for t in ["tasks", "task_events"] {
        if !schema.has_table(t) {
            return Err(CoreError::not_found("scaffolder table", t));
        }
    }
    let (tasks, events) = (
        qualified(&loc.schema, "tasks"),
        qualified(&loc.schema, "task_events"),
    );
    let ep = &loc.endpoint;
    let heartbeat = if schema.has_column("tasks", "last_heartbeat_at") {
        age_secs("last_heartbeat_at")
    } else {
        "NULL::bigint".to_string()
    };
    let rows = sql(
        format!(
            "SELECT status, {heartbeat} AS quiet, {} AS last_beat FROM {tasks} WHERE id::text = $1",
            if schema.has_column("tasks", "last_heartbeat_at") {
                iso_text("last_heartbeat_at")
            } else {
                "NULL::text".to_string()
            }
        ),
        vec![Param::Text(task_id.to_string())],
    )
    .fetch_all(&pool, ep)
    .await?;
    let Some(row) = rows.first() else {
        return Err(CoreError::NotFound {
            what: "scaffolder task",
            name: task_id.to_string(),
            hint: Some("`bsi tasks --status processing` lists the running ones".to_string()),
        });
    };
    let status: String = row.get("status");
    let quiet: Option<i64> = row.get("quiet");
    let last_beat: Option<String> = row.get("last_beat");
    if status != "processing" {
        return Err(CoreError::config(format!(
            "the task {task_id} is `{status}`, not processing: only a running task can be failed"
        )));
    }
    let limit = heartbeat_stale_secs();
    if quiet.is_some_and(|q| q < limit) {
        return Err(CoreError::config(format!(
            "the task {task_id} sent a heartbeat {} s ago: its worker is alive; a task is failed \
             here only after {limit} s without one",
            quiet.unwrap_or_default()
        )));
    }
    // The steps still processing: a `processing` status event and no `completed`/`failed` one
    // (bodies that are not JSON are skipped, as they say nothing of a step).
    let bodies = sql(
        format!(
            "SELECT body FROM {events} WHERE task_id::text = $1 AND event_type = 'log' ORDER BY id"
        ),
        vec![Param::Text(task_id.to_string())],
    )
    .fetch_all(&pool, ep)
    .await?;
    let mut started = Vec::<String>::new();
    let mut finished = std::collections::BTreeSet::<String>::new();
    for b in &bodies {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&b.get::<String, _>(0)) else {
            continue;
        };
        let (Some(step), Some(st)) = (
            v.get("stepId").and_then(|s| s.as_str()),
            v.get("status").and_then(|s| s.as_str()),
        ) else {
            continue;
        };
        match st {
            "processing" if !started.iter().any(|s| s == step) => started.push(step.to_string()),
            "completed" | "failed" => {
                finished.insert(step.to_string());
            }
            _ => {}
        }
    }
    let hung: Vec<String> = started
        .into_iter()
        .filter(|s| !finished.contains(s))
        .collect();
    let since = last_beat.clone().unwrap_or_else(|| "never".to_string());
    let message = format!(
        "This task was marked as failed from Backstage Inspector: its worker sent no heartbeat since {since}"
    );
    let mut plan = FixPlan::new(
        "fail_task",
        format!("Mark the stuck scaffolder task {task_id} failed"),
        ep,
        "DatabaseTaskStore.shutdownTask and completeTask in @backstage/plugin-scaffolder-backend",
    );
    plan.touches.push(format!(
        "tasks {task_id}: processing, last heartbeat {since}"
    ));
    if !hung.is_empty() {
        plan.touches
            .push(format!("steps still processing: {}", hung.join(", ")));
    }
    for step in &hung {
        let body = serde_json::json!({ "message": message, "stepId": step, "status": "failed" });
        plan.statements.push(sql(
            format!(
                "INSERT INTO {events} (task_id, event_type, body) \
                 SELECT id, 'log', $2 FROM {tasks} WHERE id::text = $1"
            ),
            vec![
                Param::Text(task_id.to_string()),
                Param::Text(body.to_string()),
            ],
        ));
    }
    let clear_secrets = if schema.has_column("tasks", "secrets") {
        ", secrets = NULL"
    } else {
        ""
    };
    plan.statements.push(sql(
        format!(
            "UPDATE {tasks} SET status = 'failed'{clear_secrets} \
             WHERE id::text = $1 AND status = 'processing'"
        ),
        vec![Param::Text(task_id.to_string())],
    ));
    plan.statements.push(sql(
        format!(
            "INSERT INTO {events} (task_id, event_type, body) \
             SELECT id, 'completion', $2 FROM {tasks} WHERE id::text = $1"
        ),
        vec![
            Param::Text(task_id.to_string()),
            Param::Text(serde_json::json!({ "message": message }).to_string()),
        ],
    ));
    plan.check = Some(sql(
        format!("SELECT id::text || ': ' || status FROM {tasks} WHERE id::text = $1"),
        vec![Param::Text(task_id.to_string())],
    ));
    Ok(plan)
}

/// Releases a Knex migration lock as `knex migrate:unlock` does
/// (`Migrator.forceFreeMigrationsLock`: `is_locked = 0`).
pub(super) async fn knex_unlock(
    conns: &Connections,
    database: &str,
    lock_table: &str,
) -> Result<FixPlan> {
    let (schema_name, table) = crate::knex::lock_table_of(lock_table);
    let (schema_name, table) = (schema_name.as_str(), table.as_str());
    if !table.ends_with("knex_migrations_lock") {
        return Err(CoreError::config(format!(
            "`{lock_table}` is not a Knex migrations or lock table (their names end in \
             knex_migrations or knex_migrations_lock); `bsi knex status` names them"
        )));
    }
    let ep = conns.endpoint(database);
    let pool = conns.pool(&ep).await?;
    let t = format!("{}.{}", quote_ident(schema_name), quote_ident(table));
    let held: i64 = sql(
        format!("SELECT count(*) FROM {t} WHERE is_locked = 1"),
        Vec::new(),
    )
    .query()
    .fetch_one(&pool)
    .await
    .map_err(|e| match crate::sql::query_error(e, &ep) {
        CoreError::SchemaDegraded { .. } => CoreError::NotFound {
            what: "Knex lock table",
            name: format!("{schema_name}.{table} in {database}"),
            hint: Some("`bsi knex status` names the lock tables".to_string()),
        },
        other => other,
    })?
    .get(0);
    let mut plan = FixPlan::new(
        "knex_unlock",
        format!("Release the Knex lock {schema_name}.{table} in {database}"),
        &ep,
        "knex's Migrator.forceFreeMigrationsLock (knex migrate:unlock)",
    );
    plan.touches.push(if held > 0 {
        format!("{schema_name}.{table}: held (is_locked = 1)")
    } else {
        format!("{schema_name}.{table}: not held; nothing will change")
    });
    plan.statements.push(sql(
        format!("UPDATE {t} SET is_locked = 0 WHERE is_locked = 1"),
        Vec::new(),
    ));
    plan.check = Some(sql(
        format!(
            "SELECT '{}: ' || CASE WHEN bool_or(is_locked = 1) THEN 'held' ELSE 'free' END FROM {t}",
            format!("{schema_name}.{table}").replace('\'', "''")
        ),
        Vec::new(),
    ));
    Ok(plan)
}

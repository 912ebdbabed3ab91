//! The backend's scheduler, `backstage_backend_tasks__tasks` in every plugin database (or
//! schema): tasks whose run ticket expired long ago and tasks whose next run is long past.
//!
//! Semantics, from backend-tasks' and backend-defaults' scheduler (`TaskWorker`,
//! `PluginTaskSchedulerJanitor`): a worker claims a run by setting `current_run_ticket`,
//! `current_run_started_at` and `current_run_expires_at` (now + the task's timeout), clears
//! them and sets `next_run_start_at` when the run ends; the janitor clears tickets whose
//! `current_run_expires_at` has passed, about once a minute while a backend runs. An expired
//! ticket that stays means no backend of that plugin runs its janitor; a `next_run_start_at`
//! long past with no ticket means no worker picks the task up (the backend is down, or the
//! task is no longer scheduled by any code and its row stays behind).

use std::sync::Arc;

use sqlx::Row;

use super::{Finding, Out, Severity, Thresholds, plural};
use crate::area::Area;
use crate::connect::{Connections, map_query_error};
use crate::discovery::{DatabaseInfo, Discovery};
use crate::error::Result;
use crate::refs::time::human_duration;
use crate::sql::{Param, Sql, age_secs, qualified};

const AREA: &str = "scheduler";
const TABLE: &str = "backstage_backend_tasks__tasks";

/// One scheduled task in trouble.
struct Late {
    place: String,
    id: String,
    expired: bool,
    secs: i64,
}

pub(super) async fn check(conns: &Arc<Connections>, d: &Discovery, t: &Thresholds) -> Out {
    let mut out = Out::default();
    let mut late = Vec::new();
    let mut places = Vec::new();
    let mut tasks = 0i64;
    for db in d
        .databases
        .iter()
        .filter(|db| db.error.is_none() && db.areas.contains(&Area::Scheduler))
    {
        match read(conns, db, t).await {
            Ok(Some((n, l))) => {
                tasks += n;
                places.push(db.clone());
                late.extend(l);
            }
            Ok(None) => out.skip(
                "scheduler",
                format!(
                    "{TABLE} in {} has no current_run_expires_at or next_run_start_at",
                    db.database
                ),
            ),
            Err(e) => out.take(AREA, &format!("scheduler of {}", db.database), Err(e)),
        }
    }
    if places.is_empty() {
        if out.skipped.is_empty() && out.findings.is_empty() {
            out.skip(
                "scheduler",
                format!("no database of this installation has {TABLE}"),
            );
        }
        return out;
    }
    let area_of = |place: &str| {
        places
            .iter()
            .find(|p| place_of(p) == place)
            .and_then(|p| p.plugin.clone())
    };
    let next_for = |f: Finding, first: Option<&Late>| match first.and_then(|l| area_of(&l.place)) {
        Some(plugin) => f.next(
            "the scheduler's table of that plugin",
            &["table", TABLE, "--area", &plugin],
        ),
        None => f,
    };
    let (expired, overdue): (Vec<Late>, Vec<Late>) = late.into_iter().partition(|l| l.expired);
    if expired.is_empty() && overdue.is_empty() {
        out.findings.push(
            Finding::new(
                "scheduler.ticket_stale",
                Severity::Ok,
                AREA,
                format!(
                    "Every scheduled task ran on time ({} in {}).",
                    plural(tasks, "task", "tasks"),
                    plural(places.len() as i64, "database", "databases")
                ),
            )
            .count(0),
        );
    }
    if !expired.is_empty() {
        let n = expired.len() as i64;
        let f = Finding::new(
            "scheduler.ticket_stale",
            Severity::Warning,
            AREA,
            format!(
                "{} a run ticket that expired more than {} ago: no backend of {} clears it, so {} never run again.",
                plural(n, "scheduled task holds", "scheduled tasks hold"),
                human_duration(t.scheduler_expired_secs),
                if n == 1 { "its plugin" } else { "their plugins" },
                if n == 1 { "it may" } else { "they may" }
            ),
        )
        .count(n);
        let f = evidence(f, &expired, "ticket expired");
        let first = expired.first();
        out.findings.push(next_for(
            f.advice("start (or restart) that plugin's backend: its scheduler janitor clears expired tickets; or clear current_run_ticket of the row"),
            first,
        ));
    }
    if !overdue.is_empty() {
        let n = overdue.len() as i64;
        let f = Finding::new(
            "scheduler.run_overdue",
            Severity::Warning,
            AREA,
            format!(
                "{} overdue by more than {}: no backend runs {}.",
                plural(n, "scheduled task is", "scheduled tasks are"),
                human_duration(t.scheduler_overdue_secs),
                if n == 1 { "it" } else { "them" }
            ),
        )
        .count(n);
        let f = evidence(f, &overdue, "next run was due");
        let first = overdue.first();
        out.findings.push(next_for(
            f.advice("check that the plugin's backend runs; a task no code schedules any more keeps its row and never runs"),
            first,
        ));
    }
    out
}

fn place_of(db: &DatabaseInfo) -> String {
    match &db.schema {
        Some(s) => format!("{}.{s}", db.database),
        None => db.database.clone(),
    }
}

fn evidence(mut f: Finding, late: &[Late], what: &str) -> Finding {
    for l in late.iter().take(5) {
        f = f.evidence(format!(
            "{} in {}: {what} {} ago",
            l.id,
            l.place,
            human_duration(l.secs)
        ));
    }
    f.examples(late.iter().map(|l| format!("{}: {}", l.place, l.id)))
}

/// How many tasks the table holds and those in trouble; `None` when it lacks the columns.
async fn read(
    conns: &Connections,
    db: &DatabaseInfo,
    t: &Thresholds,
) -> Result<Option<(i64, Vec<Late>)>> {
    let ep = crate::knex::endpoint_of(conns, db);
    let pool = conns.pool(&ep).await?;
    let schema = db.schema.clone().unwrap_or_else(|| "public".to_string());
    let live = crate::schema::DbSchema::read(&pool, &ep, &schema).await?;
    let cols = [
        "id",
        "next_run_start_at",
        "current_run_ticket",
        "current_run_expires_at",
    ];
    if !cols.iter().all(|c| live.has_column(TABLE, c)) {
        return Ok(None);
    }
    let mut sql = Sql::new();
    let exp = sql.bind(Param::Int(t.scheduler_expired_secs));
    let due = sql.bind(Param::Int(t.scheduler_overdue_secs));
    sql.text = format!(
        "SELECT id::text AS id, \
                (current_run_ticket IS NOT NULL AND current_run_expires_at < now() - make_interval(secs => {exp})) AS expired, \
                CASE WHEN current_run_ticket IS NOT NULL THEN {} ELSE {} END AS secs \
         FROM {} \
         WHERE (current_run_ticket IS NOT NULL AND current_run_expires_at < now() - make_interval(secs => {exp})) \
            OR (current_run_ticket IS NULL AND next_run_start_at < now() - make_interval(secs => {due})) \
         ORDER BY id",
        age_secs("current_run_expires_at"),
        age_secs("next_run_start_at"),
        qualified(&schema, TABLE)
    );
    let place = place_of(db);
    let late = sql
        .fetch_all(&pool, &ep)
        .await?
        .iter()
        .map(|r| Late {
            place: place.clone(),
            id: r.get("id"),
            expired: r.get::<Option<bool>, _>("expired").unwrap_or(false),
            secs: r.get::<Option<i64>, _>("secs").unwrap_or_default(),
        })
        .collect();
    let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) FROM {}",
        qualified(&schema, TABLE)
    )))
    .fetch_one(&pool)
    .await
    .map_err(|e| map_query_error(e, &ep))?;
    Ok(Some((total, late)))
}

//! The scaffolder's health: `processing` tasks whose worker stopped heartbeating, `open` tasks
//! no worker claimed, tasks still storing secrets (key names only), and failures of the last
//! 24 hours by template.
//!
//! Semantics, from scaffolder-backend's `DatabaseTaskStore`: a worker claims an `open` task
//! (status `processing`, `secrets` set to NULL unless the template recovers with
//! `startOver`), heartbeats it (`last_heartbeat_at = now()`) while it runs, and completes it as
//! `completed` or `failed`; the `close_stale_tasks` job fails `processing` tasks whose
//! heartbeat is older than `scaffolder.taskTimeout` (24 h by default).
//! Spec JSON is parsed here, not in SQL, so that one unreadable row cannot fail a check.

use std::collections::BTreeMap;
use std::sync::Arc;

use sqlx::Row;

use super::{Finding, Out, Severity, Thresholds, missing, plural};
use crate::connect::{Connections, Endpoint, PgPool, map_query_error};
use crate::error::Result;
use crate::refs::time::human_duration;
use crate::schema::DbSchema;
use crate::sql::{Param, Sql, age_secs, qualified};

const AREA: &str = "scaffolder";

pub(super) async fn check(conns: &Arc<Connections>, t: &Thresholds) -> Out {
    let mut out = Out::default();
    let place = match crate::area::locate(conns, AREA) {
        Ok(p) => p,
        Err(e) => {
            out.take(AREA, "scaffolder", Err(e));
            return out;
        }
    };
    let (pool, db) = match place.open(conns).await {
        Ok(x) => x,
        Err(e) => {
            out.take(AREA, "scaffolder", Err(e));
            return out;
        }
    };
    let s = Tasks {
        pool: &pool,
        db: &db,
        ep: &place.endpoint,
    };
    if let Err(e) = s.need(&["id", "spec", "status", "created_at"]) {
        out.take(AREA, "scaffolder tasks", Err(e));
        return out;
    }
    out.take(AREA, "stuck tasks", s.stuck(t).await);
    out.take(AREA, "waiting tasks", s.waiting(t.open_wait_secs).await);
    out.take(AREA, "stored secrets", s.secrets().await);
    out.take(AREA, "failures in the last 24 h", s.failures().await);
    out
}

struct Tasks<'a> {
    pool: &'a PgPool,
    db: &'a DbSchema,
    ep: &'a Endpoint,
}

/// `spec.templateInfo.entityRef` of a task's spec text, when it says.
fn template_of(spec: Option<&str>) -> String {
    spec.and_then(|s| serde_json::from_str::<serde_json::Value>(s).ok())
        .and_then(|v| {
            v.pointer("/templateInfo/entityRef")
                .and_then(|r| r.as_str())
                .map(str::to_string)
        })
        .unwrap_or_else(|| "(unknown template)".to_string())
}

impl Tasks<'_> {
    fn need(&self, cols: &[&str]) -> Result<()> {
        for c in cols {
            if !self.db.has_column("tasks", c) {
                return Err(missing(
                    "scaffolder tasks",
                    format!("tasks.{c} does not exist"),
                ));
            }
        }
        Ok(())
    }

    fn t(&self) -> String {
        qualified(&self.db.schema, "tasks")
    }

    async fn rows(&self, sql: &Sql) -> Result<Vec<sqlx::postgres::PgRow>> {
        sql.query()
            .fetch_all(self.pool)
            .await
            .map_err(|e| map_query_error(e, self.ep))
    }

    /// Tasks of `status` idle (by `since`, a timestamp expression) for more than `secs`:
    /// `(id, idle seconds, template)`, oldest first.
    async fn idle(
        &self,
        status: &str,
        since: &str,
        secs: i64,
    ) -> Result<Vec<(String, i64, String)>> {
        let mut sql = Sql::new();
        let st = sql.text(status);
        let p = sql.bind(Param::Int(secs));
        sql.text = format!(
            "SELECT id::text AS id, {} AS idle, spec::text AS spec FROM {} \
             WHERE status = {st} AND {since} < now() - make_interval(secs => {p}) \
             ORDER BY {since}, id",
            age_secs(since),
            self.t()
        );
        Ok(self
            .rows(&sql)
            .await?
            .iter()
            .map(|r| {
                (
                    r.get::<String, _>("id"),
                    r.get::<Option<i64>, _>("idle").unwrap_or_default(),
                    template_of(r.get::<Option<&str>, _>("spec")),
                )
            })
            .collect())
    }

    async fn stuck(&self, t: &Thresholds) -> Result<Vec<Finding>> {
        self.need(&["last_heartbeat_at"])?;
        let id = "scaffolder.task_stuck";
        let tasks = self
            .idle(
                "processing",
                "coalesce(last_heartbeat_at, created_at)",
                t.heartbeat_stale_secs,
            )
            .await?;
        if tasks.is_empty() {
            return Ok(vec![
                Finding::new(
                    id,
                    Severity::Ok,
                    AREA,
                    format!(
                        "Every processing task heartbeated within the last {}.",
                        human_duration(t.heartbeat_stale_secs)
                    ),
                )
                .count(0),
            ]);
        }
        let n = tasks.len() as i64;
        let oldest = tasks.first().map_or(0, |x| x.1);
        let past_timeout = tasks
            .iter()
            .filter(|x| x.1 > t.scaffolder_task_timeout_secs)
            .count();
        let mut f = Finding::new(
            id,
            Severity::Warning,
            AREA,
            format!(
                "{} `processing` with no heartbeat for more than {}: no worker runs {}.",
                plural(n, "scaffolder task is", "scaffolder tasks are"),
                human_duration(t.heartbeat_stale_secs),
                if n == 1 { "it" } else { "them" }
            ),
        )
        .count(n)
        .evidence(format!(
            "the oldest heartbeat is {} old",
            human_duration(oldest)
        ));
        for (task, idle, template) in tasks.iter().take(3) {
            f = f.evidence(format!(
                "{task} ({template}): last heartbeat {} ago",
                human_duration(*idle)
            ));
        }
        if past_timeout > 0 {
            f = f.evidence(format!(
                "{past_timeout} of them are past scaffolder.taskTimeout (24 h by default), so the \
                 scaffolder's close_stale_tasks job that fails such tasks is not running"
            ));
        }
        let first = tasks.first().map(|x| x.0.clone()).unwrap_or_default();
        Ok(vec![
            f.examples(tasks.into_iter().map(|x| x.0))
                .next("the processing tasks", &["tasks", "--status", "processing"])
                .next("the oldest one's steps and log", &["task", &first, "--log"]),
        ])
    }

    async fn waiting(&self, secs: i64) -> Result<Vec<Finding>> {
        let tasks = self.idle("open", "created_at", secs).await?;
        if tasks.is_empty() {
            return Ok(Vec::new());
        }
        let n = tasks.len() as i64;
        let mut f = Finding::new(
            "scaffolder.task_waiting",
            Severity::Warning,
            AREA,
            format!(
                "{} `open` for more than {}: no scaffolder worker claims {}.",
                plural(n, "scaffolder task has been", "scaffolder tasks have been"),
                human_duration(secs),
                if n == 1 { "it" } else { "them" }
            ),
        )
        .count(n)
        .evidence(format!(
            "the oldest was created {} ago",
            human_duration(tasks.first().map_or(0, |x| x.1))
        ));
        for (task, idle, template) in tasks.iter().take(3) {
            f = f.evidence(format!(
                "{task} ({template}): waiting {}",
                human_duration(*idle)
            ));
        }
        Ok(vec![
            f.examples(tasks.into_iter().map(|x| x.0))
                .advice("check that a scaffolder backend runs with scaffolder.concurrentTasksLimit above 0")
                .next("the open tasks", &["tasks", "--status", "open"]),
        ])
    }

    /// Tasks whose `secrets` column is set: key names only, never values.
    async fn secrets(&self) -> Result<Vec<Finding>> {
        self.need(&["secrets"])?;
        let t = self.t();
        let sql = Sql {
            text: format!(
                "SELECT status::text AS status, count(*) AS n FROM {t} WHERE secrets IS NOT NULL GROUP BY 1 ORDER BY 1"
            ),
            ..Sql::default()
        };
        let by_status: Vec<(String, i64)> = self
            .rows(&sql)
            .await?
            .iter()
            .map(|r| (r.get("status"), r.get("n")))
            .collect();
        let n: i64 = by_status.iter().map(|x| x.1).sum();
        if n == 0 {
            return Ok(Vec::new());
        }
        // Only the key names leave the database.
        let keys = Sql {
            text: format!(
                "SELECT DISTINCT k FROM {t}, LATERAL json_object_keys(CASE WHEN json_typeof(secrets::json) = 'object' \
                 THEN secrets::json ELSE '{{}}'::json END) AS k WHERE secrets IS NOT NULL ORDER BY k LIMIT 50"
            ),
            ..Sql::default()
        };
        let keys: Vec<String> = match self.rows(&keys).await {
            Ok(rows) => rows.iter().map(|r| r.get("k")).collect(),
            Err(_) => vec!["(key names unreadable: a secrets value is not JSON)".to_string()],
        };
        let finished: i64 = by_status
            .iter()
            .filter(|(s, _)| s != "open" && s != "processing")
            .map(|x| x.1)
            .sum();
        let mut f = Finding::new(
            "scaffolder.secrets_stored",
            if finished > 0 {
                Severity::Warning
            } else {
                Severity::Info
            },
            AREA,
            format!(
                "{} still {} secrets in plain text in the database (key names: {}).",
                plural(n, "scaffolder task", "scaffolder tasks"),
                if n == 1 { "stores" } else { "store" },
                keys.join(", ")
            ),
        )
        .count(n)
        .evidence(
            by_status
                .iter()
                .map(|(s, c)| format!("{c} {s}"))
                .collect::<Vec<_>>()
                .join(", "),
        );
        if finished > 0 {
            f = f.evidence(format!(
                "{finished} of them finished, yet keep their secrets (Backstage clears them when a worker claims the task)"
            ));
        }
        Ok(vec![f.examples(keys).next(
            "the open tasks (secrets shown as key names)",
            &["tasks", "--status", "open"],
        )])
    }

    async fn failures(&self) -> Result<Vec<Finding>> {
        let sql = Sql {
            text: format!(
                "SELECT id::text AS id, spec::text AS spec FROM {} \
                 WHERE status = 'failed' AND created_at >= now() - interval '24 hours' ORDER BY created_at DESC",
                self.t()
            ),
            ..Sql::default()
        };
        let rows = self.rows(&sql).await?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let mut by: BTreeMap<String, i64> = BTreeMap::new();
        let mut ids = Vec::new();
        for r in &rows {
            *by.entry(template_of(r.get::<Option<&str>, _>("spec")))
                .or_default() += 1;
            ids.push(r.get::<String, _>("id"));
        }
        let mut ranked: Vec<_> = by.into_iter().collect();
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let n = rows.len() as i64;
        let worst = ranked.first().map_or(0, |x| x.1);
        Ok(vec![
            Finding::new(
                "scaffolder.failures_24h",
                if worst >= 3 {
                    Severity::Warning
                } else {
                    Severity::Info
                },
                AREA,
                format!(
                    "{} failed in the last 24 h: {}.",
                    plural(n, "scaffolder task", "scaffolder tasks"),
                    ranked
                        .iter()
                        .map(|(t, c)| format!("{c} of {t}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
            .count(n)
            .examples(ids)
            .next(
                "the failed tasks of the last 24 h",
                &["tasks", "--status", "failed", "--since", "24h"],
            ),
        ])
    }
}

//! Scaffolder history: owns the views over the scaffolder plugin's `tasks` and `task_events`
//! (database `<prefix>scaffolder`, or schema `scaffolder`): the task list with filters and
//! keyset paging, a task's detail (template, parameters, steps and their timings, the log as
//! styled spans, the error, the output, which secrets are still stored), and the tasks that
//! created or touched a catalog entity. It also owns [`Sql`], the built-query type that the
//! auth views share, so that every operation can hand its exact SQL to a benchmark.
//!
//! Secrets: `tasks.secrets` is plaintext JSON in real Backstage while a task is open. Its value
//! never leaves the database: the only queries that touch it are `secrets IS NOT NULL` and
//! `json_object_keys(secrets::json)`, so only the key names reach this process. Everything
//! else that leaves this module passes [`redact`](crate::redact) (JWTs in log lines, secret-
//! named keys in parameters and outputs).
//!
//! Performance: Backstage has no index on `tasks.created_at` or `tasks.status`, and we may not
//! add one. A page is therefore one scan of `tasks` reading only `(id, created_at, status
//! [, created_by])` with a top-N sort, in an inner query; the wide columns (`spec`) and the
//! per-task event aggregate (through `task_events_task_id_idx`) are read for the page's rows
//! only. The template filter must read `spec`; it first tests the raw text with `strpos` and
//! parses JSON only for candidate rows.
//!
//! Measured on 100,200 tasks / 1,025,380 events (PostgreSQL 15, `tasks` heap 157 MB because
//! `spec` stays inline compressed; a 2-core machine at load average ~8): the inner top-N scan
//! is ~190-250 ms and the whole page ~20 ms more, while `count(*)` of the same table is
//! ~35-55 ms; the difference is deforming every row past `spec` to reach `created_at`, which
//! no query can avoid without an index. The template filter decompresses every `spec`
//! (~1.5 s there). A detail (one task, its events through the index) is ~8 ms.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;
use sqlx::Row;
use sqlx::postgres::PgRow;

use crate::ansi::{self, Span};
use crate::connect::{Connections, Endpoint, PgPool};
use crate::error::{CoreError, Result};
use crate::page::{Page, decode_cursor, encode_cursor, limit};
use crate::redact::{redact_json, redact_text};
use crate::refs::normalize_ref;
use crate::refs::time::parse_time;
use crate::schema::{DbSchema, Need, Unavailable};
use crate::sql::{Param, Sql, iso_text, micros, query_error, quote_ident};

// ---------------------------------------------------------------------------------------------
// The views' types.

/// A task's status as stored, plus `cancelled` (stored as `failed` with a `cancelled` event).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum StatusFilter {
    Open,
    Processing,
    Completed,
    Failed,
    Cancelled,
}

impl StatusFilter {
    pub fn parse(s: &str) -> Result<Self> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "open" => StatusFilter::Open,
            "processing" | "running" => StatusFilter::Processing,
            "completed" | "succeeded" => StatusFilter::Completed,
            "failed" => StatusFilter::Failed,
            "cancelled" | "canceled" => StatusFilter::Cancelled,
            _ => {
                return Err(CoreError::config(format!(
                    "unknown task status `{s}`: use open, processing, completed, failed or cancelled"
                )));
            }
        })
    }

    fn stored(self) -> &'static str {
        match self {
            StatusFilter::Open => "open",
            StatusFilter::Processing => "processing",
            StatusFilter::Completed => "completed",
            StatusFilter::Failed | StatusFilter::Cancelled => "failed",
        }
    }
}

/// What the task list shows.
#[derive(Debug, Clone, Default)]
pub struct TaskFilter {
    pub status: Option<StatusFilter>,
    /// A template ref (`template:default/x`, `default/x` or `x`).
    pub template: Option<String>,
    /// A user ref (`user:default/ada`, `ada`): `tasks.created_by`, else `spec.user.ref`.
    pub creator: Option<String>,
    /// Tasks created at or after this (see [`parse_time`]).
    pub since: Option<String>,
    /// Tasks created before this.
    pub until: Option<String>,
    pub limit: Option<usize>,
    pub cursor: Option<String>,
}

/// One row of the task list.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TaskSummary {
    pub id: String,
    /// As stored: open, processing, completed or failed.
    pub status: String,
    /// A failed task with a `cancelled` event. `--status failed` lists these too (they are
    /// stored as failed); `--status cancelled` lists only these.
    pub cancelled: bool,
    /// `cancelled` for cancelled tasks, else the stored status.
    pub display_status: String,
    pub created_at: String,
    pub last_heartbeat_at: Option<String>,
    /// `spec.templateInfo.entityRef`.
    pub template_ref: Option<String>,
    pub creator: Option<String>,
    /// `created_by` or `spec.user.ref`.
    pub creator_source: Option<&'static str>,
    pub duration_ms: Option<i64>,
    /// `events` (first event to last event) or `heartbeat` (created_at to last_heartbeat_at).
    pub duration_source: Option<&'static str>,
    /// Whether `tasks.secrets` still holds something; absent when the column does not exist.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub secrets_stored: Option<bool>,
    pub events: i64,
}

/// The template a task ran.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TemplateInfo {
    pub entity_ref: Option<String>,
    pub base_url: Option<String>,
    pub title: Option<String>,
    pub description: Option<String>,
}

/// A step of a task, with what its events say.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct StepView {
    pub id: String,
    pub name: Option<String>,
    pub action: Option<String>,
    /// pending, processing, completed, failed, skipped, cancelled, or not_run (the task
    /// finished without this step starting).
    pub status: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub duration_ms: Option<i64>,
}

/// One event of the log.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LogLine {
    pub id: i64,
    pub at: String,
    /// log, completion, cancelled or recovered.
    pub event_type: String,
    pub step_id: Option<String>,
    pub status: Option<String>,
    /// The message without escape sequences (JWTs masked).
    pub text: String,
    /// The message as styled spans (JWTs masked).
    pub spans: Vec<Span>,
}

/// What `tasks.secrets` holds: key names only, never values.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct StoredSecrets {
    pub keys: Vec<String>,
    pub warning: Option<String>,
}

/// A task in full.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TaskDetail {
    #[serde(flatten)]
    pub summary: TaskSummary,
    /// `tasks.created_by`; absent when the column does not exist.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub created_by: Option<String>,
    pub template: Option<TemplateInfo>,
    /// `spec.parameters`, redacted.
    #[cfg_attr(feature = "ts", ts(type = "unknown"))]
    pub parameters: Value,
    pub steps: Vec<StepView>,
    pub log: Vec<LogLine>,
    /// `body.error` of the completion event, redacted.
    #[cfg_attr(feature = "ts", ts(type = "unknown"))]
    pub error: Option<Value>,
    /// `body.output` of the completion event, else `tasks.state`; redacted.
    #[cfg_attr(feature = "ts", ts(type = "unknown"))]
    pub output: Option<Value>,
    /// `completion` or `tasks.state`.
    pub output_source: Option<&'static str>,
    /// Present when `tasks.secrets` is not NULL.
    pub secrets: Option<StoredSecrets>,
    /// What this database lacks and what that changes here.
    pub notes: Vec<String>,
}

/// A task linked to an entity, and why.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct EntityTask {
    #[serde(flatten)]
    pub task: TaskSummary,
    /// `output` (the completion output names the entity) and/or `source-template` (the task
    /// ran the template of the entity's `backstage.io/source-template` annotation).
    pub via: Vec<&'static str>,
}

/// The tasks linked to an entity, newest first.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct EntityTasks {
    pub entity_ref: String,
    pub items: Vec<EntityTask>,
    /// How many tasks matched before the limit.
    pub matched: usize,
}

// ---------------------------------------------------------------------------------------------
// The views.

const NEED_TASKS: Need = Need {
    table: "tasks",
    columns: &["id", "spec", "status", "created_at"],
    since: "scaffolder-backend's first migration, 20210120143715_init",
};
const NEED_EVENTS: Need = Need {
    table: "task_events",
    columns: &["id", "task_id", "body", "event_type", "created_at"],
    since: "scaffolder-backend's first migration, 20210120143715_init",
};
const SINCE_CREATED_BY: &str =
    "added by scaffolder-backend migration 20220129100000_created_by (2022)";
const SINCE_STATE: &str = "added by scaffolder-backend migration 20240203232000_state (2024)";
const SINCE_SECRETS: &str = "added by scaffolder-backend migration 20210409225200_secrets (2021)";

/// The scaffolder database of a profile, with what its schema holds.
#[derive(Debug, Clone)]
pub struct Scaffolder {
    pool: PgPool,
    ep: Endpoint,
    db: DbSchema,
    schema: String,
}

impl Scaffolder {
    /// Opens the scaffolder's database (or schema) and reads which tables and columns exist.
    pub async fn open(conns: &Connections) -> Result<Self> {
        let place = crate::area::locate(conns, "scaffolder")?;
        let ep = place.endpoint.clone();
        let pool = place.pool(conns).await?;
        Self::with_pool(pool, ep, &place.schema).await
    }

    /// The same on a given pool and schema (`public` in database mode).
    pub async fn with_pool(pool: PgPool, ep: Endpoint, schema: &str) -> Result<Self> {
        let db = DbSchema::read(&pool, &ep, schema).await?;
        Ok(Scaffolder {
            pool,
            ep,
            db,
            schema: schema.to_string(),
        })
    }

    pub fn schema(&self) -> &DbSchema {
        &self.db
    }

    fn t(&self, table: &str) -> String {
        format!("{}.{}", quote_ident(&self.schema), quote_ident(table))
    }

    fn has(&self, column: &str) -> bool {
        self.db.has_column("tasks", column)
    }

    fn has_events(&self) -> bool {
        self.db.check("task events", &[NEED_EVENTS]).is_ok()
    }

    fn id_is_uuid(&self) -> bool {
        self.db
            .table("tasks")
            .and_then(|t| t.columns.iter().find(|c| c.name == "id"))
            .is_some_and(|c| c.data_type == "uuid")
    }

    fn id_cast(&self) -> &'static str {
        if self.id_is_uuid() {
            "::uuid"
        } else {
            "::text"
        }
    }

    /// What this database lacks for the scaffolder views, with what that changes.
    pub fn degraded(&self) -> Vec<Unavailable> {
        let mut out = Vec::new();
        if let Err(u) = self.db.check("scaffolder tasks", &[NEED_TASKS]) {
            out.push(u);
        }
        if let Err(u) = self.db.check(
            "task events (log, steps, durations from events)",
            &[NEED_EVENTS],
        ) {
            out.push(u);
        }
        for (col, since, view) in [
            (
                "created_by",
                SINCE_CREATED_BY,
                "task creator from tasks.created_by (spec.user.ref is used instead)",
            ),
            ("state", SINCE_STATE, "task output from tasks.state"),
            ("secrets", SINCE_SECRETS, "stored task secrets"),
        ] {
            if self.db.has_table("tasks") && !self.has(col) {
                out.push(Unavailable {
                    view: view.to_string(),
                    missing: vec![format!("tasks.{col}")],
                    reason: format!(
                        "column `tasks.{col}` does not exist ({since}) in {}.{}",
                        self.db.database, self.db.schema
                    ),
                });
            }
        }
        out
    }

    fn notes(&self) -> Vec<String> {
        self.degraded()
            .into_iter()
            .map(|u| format!("{}: {}", u.view, u.reason))
            .collect()
    }

    fn require_tasks(&self) -> Result<()> {
        self.db.check("scaffolder tasks", &[NEED_TASKS])?;
        Ok(())
    }

    /// The expression of the task's creator: `created_by`, falling back to `spec.user.ref`.
    fn creator_expr(&self) -> &'static str {
        if self.has("created_by") {
            "coalesce(t.created_by, t.spec::json #>> '{user,ref}')"
        } else {
            "(t.spec::json #>> '{user,ref}')"
        }
    }

    /// The summary columns (plus `extra`, a column list ending with a comma) for the task ids
    /// chosen by `keys` (a subquery with `id` and `created_at`, already ordered and limited).
    fn summary_sql(&self, keys: &str, extra: &str) -> String {
        let tasks = self.t("tasks");
        let hb = if self.has("last_heartbeat_at") {
            "t.last_heartbeat_at"
        } else {
            "NULL::timestamptz"
        };
        let secrets = if self.has("secrets") {
            "(t.secrets IS NOT NULL)"
        } else {
            "NULL::boolean"
        };
        let created_by = if self.has("created_by") {
            "t.created_by"
        } else {
            "NULL::text"
        };
        let events = if self.has_events() {
            format!(
                "LEFT JOIN LATERAL (SELECT {first} AS first_us, {last} AS last_us, count(*)::bigint AS n, \
                        coalesce(bool_or(e.event_type = 'cancelled'), false) AS cancelled \
                 FROM {ev} e WHERE e.task_id = t.id) ev ON true",
                first = micros("min(e.created_at)"),
                last = micros("max(e.created_at)"),
                ev = self.t("task_events"),
            )
        } else {
            "LEFT JOIN LATERAL (SELECT NULL::bigint AS first_us, NULL::bigint AS last_us, 0::bigint AS n, \
                    false AS cancelled) ev ON true"
                .to_string()
        };
        format!(
            "SELECT {extra} t.id::text AS id, t.status, {created} AS created_at, {hb_iso} AS last_heartbeat_at, \
                    (extract(epoch FROM {hb} - t.created_at) * 1000)::bigint AS hb_ms, \
                    {secrets} AS secrets_stored, {created_by} AS created_by, t.spec, \
                    ev.first_us, ev.last_us, ev.n, ev.cancelled \
             FROM ({keys}) k JOIN {tasks} t ON t.id = k.id \
             {events} \
             ORDER BY k.created_at DESC, k.id DESC",
            created = iso_text("t.created_at"),
            hb_iso = iso_text(hb),
        )
    }

    /// The SQL of a task page: what [`Scaffolder::tasks`] runs for `filter`.
    pub fn task_page_sql(&self, filter: &TaskFilter) -> Result<Sql> {
        self.require_tasks()?;
        let mut q = Sql::new();
        let mut wh: Vec<String> = Vec::new();
        let ev = self.t("task_events");
        if let Some(st) = filter.status {
            let p = q.bind(Param::Text(st.stored().into()));
            wh.push(format!("t.status = {p}"));
            if self.has_events() {
                let cancelled = format!(
                    "EXISTS (SELECT 1 FROM {ev} e WHERE e.task_id = t.id AND e.event_type = 'cancelled')"
                );
                if st == StatusFilter::Cancelled {
                    wh.push(cancelled);
                }
            }
        }
        if let Some(tpl) = filter.template.as_deref().filter(|s| !s.trim().is_empty()) {
            let r = normalize_ref(tpl, "template");
            let p = q.bind(Param::Text(r));
            wh.push(format!(
                "strpos(lower(t.spec), {p}) > 0 AND lower(t.spec::json #>> '{{templateInfo,entityRef}}') = {p}"
            ));
        }
        if let Some(c) = filter.creator.as_deref().filter(|s| !s.trim().is_empty()) {
            let r = normalize_ref(c, "user");
            let p = q.bind(Param::Text(r));
            if self.has("created_by") {
                wh.push(format!("lower({}) = {p}", self.creator_expr()));
            } else {
                wh.push(format!(
                    "strpos(lower(t.spec), {p}) > 0 AND lower({}) = {p}",
                    self.creator_expr()
                ));
            }
        }
        if let Some(s) = &filter.since {
            let p = q.bind(Param::Text(parse_time(s, "--since")?));
            wh.push(format!("t.created_at >= {p}::timestamptz"));
        }
        if let Some(u) = &filter.until {
            let p = q.bind(Param::Text(parse_time(u, "--until")?));
            wh.push(format!("t.created_at < {p}::timestamptz"));
        }
        if let Some(c) = &filter.cursor {
            let key = decode_cursor(c, 2)?;
            let (Some(at), Some(id)) = (key[0].as_str(), key[1].as_str()) else {
                return Err(CoreError::config(format!(
                    "invalid page cursor `{c}`: use the next_cursor value of the previous page unchanged"
                )));
            };
            let (pa, pi) = (
                q.bind(Param::Text(at.into())),
                q.bind(Param::Text(id.into())),
            );
            wh.push(format!(
                "(t.created_at, t.id) < ({pa}::timestamptz, {pi}{})",
                self.id_cast()
            ));
        }
        let n = limit(filter.limit);
        let pl = q.bind(Param::Int(n as i64 + 1));
        let keys = format!(
            "SELECT t.id, t.created_at FROM {tasks} t {where_} ORDER BY t.created_at DESC, t.id DESC LIMIT {pl}",
            tasks = self.t("tasks"),
            where_ = if wh.is_empty() {
                String::new()
            } else {
                format!("WHERE {}", wh.join(" AND "))
            },
        );
        q.text = self.summary_sql(&keys, "");
        Ok(q)
    }

    /// A page of tasks, newest first.
    pub async fn tasks(&self, filter: &TaskFilter) -> Result<Page<TaskSummary>> {
        let q = self.task_page_sql(filter)?;
        let rows = q.fetch_all(&self.pool, &self.ep).await?;
        let n = limit(filter.limit);
        let mut items: Vec<TaskSummary> = rows
            .iter()
            .map(|r| self.summary(r))
            .collect::<Result<_>>()?;
        let next_cursor = if items.len() > n {
            items.truncate(n);
            items.last().map(|t| {
                encode_cursor(&[
                    Value::String(t.created_at.clone()),
                    Value::String(t.id.clone()),
                ])
            })
        } else {
            None
        };
        Ok(Page { items, next_cursor })
    }

    fn summary(&self, r: &PgRow) -> Result<TaskSummary> {
        let get = |e: sqlx::Error| query_error(e, &self.ep);
        let spec: Option<String> = r.try_get("spec").map_err(get)?;
        let spec: Value = spec
            .as_deref()
            .and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or(Value::Null);
        let status: String = r.try_get("status").map_err(get)?;
        let cancelled: bool = r
            .try_get::<Option<bool>, _>("cancelled")
            .map_err(get)?
            .unwrap_or(false);
        let created_by: Option<String> = r.try_get("created_by").map_err(get)?;
        let spec_user = spec
            .pointer("/user/ref")
            .and_then(Value::as_str)
            .map(str::to_string);
        let (creator, creator_source) = match (created_by, spec_user) {
            (Some(c), _) => (Some(c), Some("created_by")),
            (None, Some(u)) => (Some(u), Some("spec.user.ref")),
            (None, None) => (None, None),
        };
        let (first, last): (Option<i64>, Option<i64>) = (
            r.try_get("first_us").map_err(get)?,
            r.try_get("last_us").map_err(get)?,
        );
        let hb_ms: Option<i64> = r.try_get("hb_ms").map_err(get)?;
        let (duration_ms, duration_source) = match (first, last, hb_ms) {
            (Some(f), Some(l), _) => (Some((l - f) / 1000), Some("events")),
            (_, _, Some(h)) => (Some(h), Some("heartbeat")),
            _ => (None, None),
        };
        let display_status = if cancelled && status == "failed" {
            "cancelled".to_string()
        } else {
            status.clone()
        };
        Ok(TaskSummary {
            id: r.try_get("id").map_err(get)?,
            cancelled: cancelled && status == "failed",
            display_status,
            status,
            created_at: r.try_get("created_at").map_err(get)?,
            last_heartbeat_at: r.try_get("last_heartbeat_at").map_err(get)?,
            template_ref: spec
                .pointer("/templateInfo/entityRef")
                .and_then(Value::as_str)
                .map(redact_text),
            creator: creator.map(|c| redact_text(&c)),
            creator_source,
            duration_ms,
            duration_source,
            secrets_stored: r.try_get("secrets_stored").map_err(get)?,
            events: r.try_get::<Option<i64>, _>("n").map_err(get)?.unwrap_or(0),
        })
    }

    /// Finds a task by its id or by a unique prefix of at least 4 characters.
    pub async fn resolve_id(&self, id: &str) -> Result<String> {
        self.require_tasks()?;
        let s = id.trim().to_ascii_lowercase();
        let not_found = || CoreError::NotFound {
            what: "task",
            name: id.to_string(),
            hint: Some("`bsi tasks` lists task ids".into()),
        };
        if !self.id_is_uuid() {
            return Ok(id.trim().to_string());
        }
        let is_uuid = s.len() == 36
            && s.char_indices().all(|(i, c)| {
                if [8, 13, 18, 23].contains(&i) {
                    c == '-'
                } else {
                    c.is_ascii_hexdigit()
                }
            });
        if is_uuid {
            return Ok(s);
        }
        if s.len() < 4 || !s.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
            return Err(CoreError::config(format!(
                "`{id}` is not a task id: task ids are UUIDs like 0cc2227c-c40d-4d4f-8226-0a70be545c0d, \
                 or at least their first 4 characters"
            )));
        }
        let mut q = Sql::new();
        let p = q.bind(Param::Text(format!("{s}%")));
        q.text = format!(
            "SELECT t.id::text AS id FROM {} t WHERE t.id::text LIKE {p} LIMIT 2",
            self.t("tasks")
        );
        let rows = q.fetch_all(&self.pool, &self.ep).await?;
        match rows.as_slice() {
            [] => Err(not_found()),
            [one] => one.try_get("id").map_err(|e| query_error(e, &self.ep)),
            _ => Err(CoreError::config(format!(
                "task id prefix `{id}` is ambiguous: give more characters"
            ))),
        }
    }

    /// The SQL of a task's row (summary columns plus `state`), for [`Scaffolder::task`].
    pub fn task_sql(&self, id: &str) -> Result<Sql> {
        self.require_tasks()?;
        let mut q = Sql::new();
        let p = q.bind(Param::Text(id.to_string()));
        let keys = format!(
            "SELECT t.id, t.created_at FROM {} t WHERE t.id = {p}{}",
            self.t("tasks"),
            self.id_cast()
        );
        let state = if self.has("state") {
            "t.state"
        } else {
            "NULL::text"
        };
        q.text = self.summary_sql(&keys, &format!("{state} AS state,"));
        Ok(q)
    }

    /// The SQL of a task's events in order (`task_events_task_id_idx`).
    pub fn task_events_sql(&self, id: &str) -> Result<Sql> {
        self.db.check("task log", &[NEED_EVENTS])?;
        let mut q = Sql::new();
        let p = q.bind(Param::Text(id.to_string()));
        q.text = format!(
            "SELECT e.id::bigint AS id, e.event_type, e.body, {at} AS at, {us} AS at_us \
             FROM {ev} e WHERE e.task_id = {p}{cast} ORDER BY e.id",
            at = iso_text("e.created_at"),
            us = micros("e.created_at"),
            ev = self.t("task_events"),
            cast = self.id_cast(),
        );
        Ok(q)
    }

    /// The key names of a task's stored secrets, read inside the database: the values never
    /// leave it. `None` when nothing is stored.
    pub fn secret_keys_sql(&self, id: &str) -> Result<Sql> {
        self.db.check(
            "stored task secrets",
            &[Need {
                table: "tasks",
                columns: &["id", "secrets"],
                since: SINCE_SECRETS,
            }],
        )?;
        let mut q = Sql::new();
        let p = q.bind(Param::Text(id.to_string()));
        q.text = format!(
            "SELECT CASE WHEN json_typeof(t.secrets::json) = 'object' \
                         THEN (SELECT coalesce(json_agg(k), '[]'::json)::text FROM json_object_keys(t.secrets::json) AS k) \
                         ELSE '[]' END AS keys \
             FROM {} t WHERE t.id = {p}{} AND t.secrets IS NOT NULL",
            self.t("tasks"),
            self.id_cast()
        );
        Ok(q)
    }

    /// A task in full: id or unique id prefix.
    pub async fn task(&self, id: &str) -> Result<TaskDetail> {
        let id = self.resolve_id(id).await?;
        let rows = self.task_sql(&id)?.fetch_all(&self.pool, &self.ep).await?;
        let row = rows.first().ok_or_else(|| CoreError::NotFound {
            what: "task",
            name: id.clone(),
            hint: Some("`bsi tasks` lists task ids".into()),
        })?;
        let summary = self.summary(row)?;
        let get = |e: sqlx::Error| query_error(e, &self.ep);
        let created_by: Option<String> = if self.has("created_by") {
            row.try_get("created_by").map_err(get)?
        } else {
            None
        };
        let state: Option<String> = row.try_get("state").map_err(get)?;
        let spec_text: Option<String> = row.try_get("spec").map_err(get)?;
        let mut notes = self.notes();
        let spec: Value = match spec_text.as_deref().map(serde_json::from_str::<Value>) {
            Some(Ok(v)) => v,
            Some(Err(e)) => {
                notes.push(format!("tasks.spec is not valid JSON ({e}); template, parameters and steps cannot be shown"));
                Value::Null
            }
            None => Value::Null,
        };

        let events = if self.has_events() {
            self.task_events_sql(&id)?
                .fetch_all(&self.pool, &self.ep)
                .await?
        } else {
            Vec::new()
        };
        let mut log = Vec::with_capacity(events.len());
        let mut bodies = Vec::with_capacity(events.len());
        for r in &events {
            let body_text: String = r.try_get("body").map_err(get)?;
            let body: Value = serde_json::from_str(&body_text)
                .unwrap_or_else(|_| serde_json::json!({ "message": body_text }));
            let message = match body.get("message") {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Null) | None => String::new(),
                Some(other) => other.to_string(),
            };
            let spans = ansi::parse(&redact_text(&message));
            let event_type: String = r.try_get("event_type").map_err(get)?;
            log.push(LogLine {
                id: r.try_get("id").map_err(get)?,
                at: r.try_get("at").map_err(get)?,
                event_type,
                step_id: body
                    .get("stepId")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                status: body
                    .get("status")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                text: spans.iter().map(|s| s.text.as_str()).collect(),
                spans,
            });
            bodies.push((body, r.try_get::<Option<i64>, _>("at_us").map_err(get)?));
        }

        let steps = derive_steps(&spec, &log, &bodies, &summary.status);
        let completion = log
            .iter()
            .zip(&bodies)
            .rev()
            .find(|(l, _)| l.event_type == "completion")
            .map(|(_, (b, _))| b);
        let mut error = completion.and_then(|b| b.get("error")).cloned();
        error.iter_mut().for_each(redact_json);
        let (mut output, output_source) = match completion.and_then(|b| b.get("output")) {
            Some(o) if !o.is_null() => (Some(o.clone()), Some("completion")),
            _ => match state.as_deref() {
                Some(s) => (
                    Some(serde_json::from_str(s).unwrap_or_else(|_| Value::String(s.to_string()))),
                    Some("tasks.state"),
                ),
                None => (None, None),
            },
        };
        output.iter_mut().for_each(redact_json);

        let secrets = if summary.secrets_stored == Some(true) {
            let keys = match self
                .secret_keys_sql(&id)?
                .query()
                .fetch_optional(&self.pool)
                .await
            {
                Ok(Some(r)) => {
                    let text: Option<String> = r.try_get("keys").map_err(get)?;
                    text.and_then(|t| serde_json::from_str::<Vec<String>>(&t).ok())
                        .unwrap_or_default()
                }
                Ok(None) => Vec::new(),
                Err(sqlx::Error::Database(db)) if db.code().as_deref() == Some("22P02") => {
                    // Never pass PostgreSQL's message on: its detail may quote the value.
                    notes.push(
                        "tasks.secrets is not valid JSON: its key names cannot be shown".into(),
                    );
                    Vec::new()
                }
                Err(e) => return Err(query_error(e, &self.ep)),
            };
            let warning = match summary.status.as_str() {
                "open" | "processing" => Some(format!(
                    "this {} task still stores its secrets in plaintext in tasks.secrets ({}); Backstage clears \
                     them when a worker claims the task (or, for EXPERIMENTAL_recovery startOver templates, when it \
                     ends); anyone who can read this database can read them",
                    summary.status,
                    if keys.is_empty() {
                        "keys unknown".to_string()
                    } else {
                        keys.join(", ")
                    }
                )),
                _ => Some(format!(
                    "this {} task still stores secrets in tasks.secrets although it has ended; Backstage normally \
                     clears them when a worker claims the task",
                    summary.status
                )),
            };
            Some(StoredSecrets { keys, warning })
        } else {
            None
        };

        let template = spec.get("templateInfo").map(|ti| {
            let s = |p: &str| ti.pointer(p).and_then(Value::as_str).map(redact_text);
            TemplateInfo {
                entity_ref: s("/entityRef"),
                base_url: s("/baseUrl"),
                title: s("/entity/metadata/title"),
                description: s("/entity/metadata/description"),
            }
        });
        let mut parameters = spec.get("parameters").cloned().unwrap_or(Value::Null);
        redact_json(&mut parameters);
        if !self.has_events() {
            notes.push(
                "the task_events table does not exist: no log, step timings or completion".into(),
            );
        }
        Ok(TaskDetail {
            summary,
            created_by: created_by.map(|c| redact_text(&c)),
            template,
            parameters,
            steps,
            log,
            error,
            output,
            output_source,
            secrets,
            notes,
        })
    }

    /// The SQL that finds tasks whose completion output mentions an entity: `$1` the lower-cased
    /// ref, `$2` the lower-cased catalog path `/catalog/<ns>/<kind>/<name>`.
    pub fn output_mentions_sql(&self, entity_ref: &str) -> Result<Sql> {
        self.db.check("tasks of an entity", &[NEED_EVENTS])?;
        let r = normalize_ref(entity_ref, "component");
        let mut q = Sql::new();
        let p1 = q.bind(Param::Text(r.clone()));
        let p2 = q.bind(Param::Text(catalog_path(&r)));
        q.text = format!(
            "SELECT e.task_id::text AS task_id, e.body FROM {} e \
             WHERE e.event_type = 'completion' AND (strpos(lower(e.body), {p1}) > 0 OR strpos(lower(e.body), {p2}) > 0)",
            self.t("task_events")
        );
        Ok(q)
    }

    /// The SQL that finds the tasks that ran a template.
    pub fn template_tasks_sql(&self, template: &str) -> Result<Sql> {
        self.require_tasks()?;
        let mut q = Sql::new();
        let p = q.bind(Param::Text(normalize_ref(template, "template")));
        q.text = format!(
            "SELECT t.id::text AS task_id FROM {} t \
             WHERE strpos(lower(t.spec), {p}) > 0 AND lower(t.spec::json #>> '{{templateInfo,entityRef}}') = {p}",
            self.t("tasks")
        );
        Ok(q)
    }

    /// The tasks whose completion output links to or names `entity_ref`, and those that ran
    /// `source_template` (the entity's `backstage.io/source-template` annotation), newest
    /// first, at most `limit` (default 100).
    pub async fn tasks_for_entity(
        &self,
        entity_ref: &str,
        source_template: Option<&str>,
        limit_: Option<usize>,
    ) -> Result<EntityTasks> {
        self.require_tasks()?;
        let r = normalize_ref(entity_ref, "component");
        let mut via: BTreeMap<String, BTreeSet<&'static str>> = BTreeMap::new();
        if self.has_events() {
            let path = catalog_path(&r);
            for row in self
                .output_mentions_sql(&r)?
                .fetch_all(&self.pool, &self.ep)
                .await?
            {
                let get = |e: sqlx::Error| query_error(e, &self.ep);
                let id: String = row.try_get("task_id").map_err(get)?;
                let body: String = row.try_get("body").map_err(get)?;
                let Ok(body) = serde_json::from_str::<Value>(&body) else {
                    continue;
                };
                if body.get("output").is_some_and(|o| mentions(o, &r, &path)) {
                    via.entry(id).or_default().insert("output");
                }
            }
        }
        if let Some(tpl) = source_template.filter(|s| !s.trim().is_empty()) {
            for row in self
                .template_tasks_sql(tpl)?
                .fetch_all(&self.pool, &self.ep)
                .await?
            {
                let id: String = row
                    .try_get("task_id")
                    .map_err(|e| query_error(e, &self.ep))?;
                via.entry(id).or_default().insert("source-template");
            }
        }
        let matched = via.len();
        if via.is_empty() {
            return Ok(EntityTasks {
                entity_ref: r,
                items: Vec::new(),
                matched,
            });
        }
        let mut q = Sql::new();
        let ids = q.bind(Param::TextArray(via.keys().cloned().collect()));
        let pl = q.bind(Param::Int(limit(limit_) as i64));
        let keys = format!(
            "SELECT t.id, t.created_at FROM {} t WHERE t.id = ANY({ids}::text[]{}) \
             ORDER BY t.created_at DESC, t.id DESC LIMIT {pl}",
            self.t("tasks"),
            if self.id_is_uuid() { "::uuid[]" } else { "" },
        );
        q.text = self.summary_sql(&keys, "");
        let rows = q.fetch_all(&self.pool, &self.ep).await?;
        let items = rows
            .iter()
            .map(|row| {
                let task = self.summary(row)?;
                let v = via
                    .get(&task.id)
                    .map(|s| s.iter().copied().collect())
                    .unwrap_or_default();
                Ok(EntityTask { task, via: v })
            })
            .collect::<Result<_>>()?;
        Ok(EntityTasks {
            entity_ref: r,
            items,
            matched,
        })
    }
}

/// `/catalog/<ns>/<kind>/<name>` of a normalised ref: how Backstage links to an entity page.
fn catalog_path(r: &str) -> String {
    let (kind, rest) = r.split_once(':').unwrap_or(("component", r));
    let (ns, name) = rest.split_once('/').unwrap_or(("default", rest));
    format!("/catalog/{ns}/{kind}/{name}")
}

/// Whether an output names the entity: an `entityRef` equal to it (case-insensitively), or
/// a link whose URL points at its catalog page.
fn mentions(v: &Value, r: &str, path: &str) -> bool {
    match v {
        Value::Object(m) => m.iter().any(|(k, val)| match (k.as_str(), val) {
            ("entityRef", Value::String(s)) if s.eq_ignore_ascii_case(r) => true,
            ("url" | "href", Value::String(s)) => {
                let s = s.to_lowercase();
                s.contains(&format!("{path}/"))
                    || s.ends_with(path)
                    || s.contains(&format!("{path}?"))
            }
            _ => mentions(val, r, path),
        }),
        Value::Array(a) => a.iter().any(|x| mentions(x, r, path)),
        _ => false,
    }
}

/// Step status and timings from the events: a step starts at the first event with its
/// `stepId` and ends at the event whose `status` is completed or failed.
fn derive_steps(
    spec: &Value,
    log: &[LogLine],
    bodies: &[(Value, Option<i64>)],
    task_status: &str,
) -> Vec<StepView> {
    let Some(steps) = spec.get("steps").and_then(Value::as_array) else {
        return Vec::new();
    };
    steps
        .iter()
        .filter_map(|s| {
            let id = s.get("id").and_then(Value::as_str)?.to_string();
            let mut v = StepView {
                name: s.get("name").and_then(Value::as_str).map(redact_text),
                action: s.get("action").and_then(Value::as_str).map(str::to_string),
                status: String::new(),
                started_at: None,
                finished_at: None,
                duration_ms: None,
                id,
            };
            let (mut start_us, mut end_us, mut cancelled, mut status) =
                (None, None, false, None::<String>);
            for (l, (_, us)) in log.iter().zip(bodies) {
                if l.step_id.as_deref() != Some(v.id.as_str()) {
                    continue;
                }
                if v.started_at.is_none() {
                    v.started_at = Some(l.at.clone());
                    start_us = *us;
                }
                if l.event_type == "cancelled" || l.status.as_deref() == Some("cancelled") {
                    cancelled = true;
                }
                match l.status.as_deref() {
                    Some(st @ ("completed" | "failed")) => {
                        if v.finished_at.is_none() {
                            v.finished_at = Some(l.at.clone());
                            end_us = *us;
                        }
                        status = Some(st.to_string());
                    }
                    Some(st @ ("processing" | "skipped")) => status = Some(st.to_string()),
                    _ => {}
                }
            }
            v.status = if cancelled {
                "cancelled".to_string()
            } else if let Some(st) = status {
                st
            } else if v.started_at.is_some() {
                "processing".to_string()
            } else if matches!(task_status, "open" | "processing") {
                "pending".to_string()
            } else {
                "not_run".to_string()
            };
            if let (Some(a), Some(b)) = (start_us, end_us) {
                v.duration_ms = Some((b - a) / 1000);
            }
            Some(v)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refs_and_paths() {
        assert_eq!(
            catalog_path("component:default/svc"),
            "/catalog/default/component/svc"
        );
        let out = serde_json::json!({"links": [{"title": "x", "url": "https://b.example/catalog/default/component/svc"}]});
        assert!(mentions(
            &out,
            "component:default/svc",
            "/catalog/default/component/svc"
        ));
        assert!(!mentions(
            &out,
            "component:default/sv",
            "/catalog/default/component/sv"
        ));
        let out = serde_json::json!({"entityRef": "Component:default/Svc"});
        assert!(mentions(
            &out,
            "component:default/svc",
            "/catalog/default/component/svc"
        ));
    }

    #[test]
    fn statuses() {
        assert_eq!(
            StatusFilter::parse("Cancelled").unwrap(),
            StatusFilter::Cancelled
        );
        assert!(
            StatusFilter::parse("done")
                .unwrap_err()
                .to_string()
                .contains("open, processing")
        );
    }
}

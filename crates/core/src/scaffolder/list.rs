//! The task list: its filters ([`TaskFilter`], [`StatusFilter`]), its keyset pages (newest
//! first, by `(created_at, id)`), and the summary of one task ([`TaskSummary`]) that the
//! detail and the tasks of an entity show too.
//!
//! A page is one scan of `tasks` reading only `(id, created_at, status [, created_by])` with a
//! top-N sort, in an inner query; the wide columns and the per-task event aggregate are read
//! for the page's rows only (see the module documentation of [`crate::scaffolder`]).

use serde::Serialize;
use serde_json::Value;
use sqlx::Row;
use sqlx::postgres::PgRow;

use super::handle::Scaffolder;
use crate::error::{CoreError, Result};
use crate::page::{Page, decode_cursor, encode_cursor, limit};
use crate::redact::redact_text;
use crate::refs::normalize_ref;
use crate::refs::time::parse_time;
use crate::sql::{Param, Sql, age_secs, iso_text, micros, query_error};

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
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default)]
pub struct TaskFilter {
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub status: Option<StatusFilter>,
    /// A template ref (`template:default/x`, `default/x` or `x`).
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub template: Option<String>,
    /// A user ref (`user:default/ada`, `ada`): `tasks.created_by`, else `spec.user.ref`.
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub creator: Option<String>,
    /// Tasks created at or after this (see [`parse_time`]).
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub since: Option<String>,
    /// Tasks created before this.
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub until: Option<String>,
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub limit: Option<usize>,
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
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
    /// How long a finished task ran; absent while it is `open` or `processing` (see
    /// `age_secs` and `heartbeat_age_secs` for those).
    pub duration_ms: Option<i64>,
    /// `events` (first event to last event) or `heartbeat` (created_at to last_heartbeat_at).
    pub duration_source: Option<&'static str>,
    /// For an `open` or `processing` task: seconds since it was created, by the database's
    /// clock.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub age_secs: Option<i64>,
    /// For a `processing` task: seconds since its last heartbeat, by the database's clock.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub heartbeat_age_secs: Option<i64>,
    /// A `processing` task whose worker stopped heartbeating: no heartbeat, one older than
    /// [`HEARTBEAT_STALE_SECS`], or one older than its last event.
    pub heartbeat_stale: bool,
    /// Whether `tasks.secrets` still holds something; absent when the column does not exist.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub secrets_stored: Option<bool>,
    /// The key names of the stored secrets (never their values), read when `secrets_stored`;
    /// absent when nothing is stored or they could not be read (then `problem` says why).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub secret_keys: Option<Vec<String>>,
    pub events: i64,
    /// Set when the row cannot be read in full (a `tasks.spec` that is not JSON): the task is
    /// still listed, with what could not be told.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub problem: Option<String>,
}

/// A live task worker heartbeats every few seconds (`DatabaseTaskStore.heartbeatTask`); a
/// `processing` task with no heartbeat for this long has lost its worker.
pub const HEARTBEAT_STALE_SECS: i64 = 600;

/// Whether the task's text is that of a task not yet ended.
fn unfinished(status: &str) -> bool {
    matches!(status, "open" | "processing")
}

impl Scaffolder {
    /// The summary columns (plus `extra`, a column list ending with a comma) for the task ids
    /// chosen by `keys` (a subquery with `id` and `created_at`, already ordered and limited).
    /// `tasks.secrets` is only tested for NULL here.
    pub(super) fn summary_sql(&self, keys: &str, extra: &str) -> String {
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
                    {hb_age} AS hb_age_s, {age} AS age_s, {hb_us} AS hb_us, \
                    {secrets} AS secrets_stored, {created_by} AS created_by, t.spec, \
                    ev.first_us, ev.last_us, ev.n, ev.cancelled \
             FROM ({keys}) k JOIN {tasks} t ON t.id = k.id \
             {events} \
             ORDER BY k.created_at DESC, k.id DESC",
            created = iso_text("t.created_at"),
            hb_iso = iso_text(hb),
            hb_age = age_secs(hb),
            age = age_secs("t.created_at"),
            hb_us = micros(hb),
        )
    }

    /// The SQL of a task page: what [`Scaffolder::tasks`] runs for `filter`.
    pub fn task_page_sql(&self, filter: &TaskFilter) -> Result<Sql> {
        self.require_tasks()?;
        let mut q = Sql::new();
        let mut wh = self.filter_conditions(&mut q, filter)?;
        if let Some(c) = &filter.cursor {
            wh.push(self.cursor_condition(&mut q, c)?);
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

    /// The conditions of `filter` on `tasks t` (status, template, creator, time range), their
    /// values bound to `q` in that order.
    fn filter_conditions(&self, q: &mut Sql, filter: &TaskFilter) -> Result<Vec<String>> {
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
        // Template and creator are narrowed on the server by text only (`spec` is never cast
        // there, so one spec that is not JSON cannot fail the page) and decided exactly on the
        // parsed rows by `matches`.
        if let Some(r) = template_filter(filter) {
            let p = q.bind(Param::Text(r));
            wh.push(format!("strpos(lower(t.spec), {p}) > 0"));
        }
        if let Some(r) = creator_filter(filter) {
            let p = q.bind(Param::Text(r));
            if self.has("created_by") {
                wh.push(format!(
                    "(lower(t.created_by) = {p} OR (t.created_by IS NULL AND strpos(lower(t.spec), {p}) > 0))"
                ));
            } else {
                wh.push(format!("strpos(lower(t.spec), {p}) > 0"));
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
        Ok(wh)
    }

    /// The keyset condition of a page cursor: the tasks after `(created_at, id)` of the last
    /// row of the previous page.
    fn cursor_condition(&self, q: &mut Sql, c: &str) -> Result<String> {
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
        Ok(format!(
            "(t.created_at, t.id) < ({pa}::timestamptz, {pi}{})",
            self.id_cast()
        ))
    }

    /// A page of tasks, newest first.
    pub async fn tasks(&self, filter: &TaskFilter) -> Result<Page<TaskSummary>> {
        let q = self.task_page_sql(filter)?;
        let rows = q.fetch_all(&self.pool, &self.ep).await?;
        let n = limit(filter.limit);
        let mut scanned: Vec<TaskSummary> = rows
            .iter()
            .map(|r| self.summary(r))
            .collect::<Result<_>>()?;
        // The cursor follows the rows scanned, so a page narrowed by `matches` may hold fewer
        // than `n` tasks and still have a next one.
        let next_cursor = if scanned.len() > n {
            scanned.truncate(n);
            scanned.last().map(|t| {
                encode_cursor(&[
                    Value::String(t.created_at.clone()),
                    Value::String(t.id.clone()),
                ])
            })
        } else {
            None
        };
        let (template, creator) = (template_filter(filter), creator_filter(filter));
        let mut items: Vec<TaskSummary> = scanned
            .into_iter()
            .filter(|t| matches(t, template.as_deref(), creator.as_deref()))
            .collect();
        // Backstage clears `secrets` when a worker claims a task, so few rows hold any: their
        // key names are read one task at a time, and one that cannot be read stays a note.
        for t in items.iter_mut().filter(|t| t.secrets_stored == Some(true)) {
            match self.secret_key_names(&t.id).await? {
                Ok(keys) => t.secret_keys = Some(keys),
                Err(note) => {
                    t.problem = Some(match t.problem.take() {
                        Some(p) => format!("{p}; {note}"),
                        None => note,
                    })
                }
            }
        }
        Ok(Page { items, next_cursor })
    }

    /// A row of [`Scaffolder::summary_sql`] as a [`TaskSummary`].
    pub(super) fn summary(&self, r: &PgRow) -> Result<TaskSummary> {
        let get = |e: sqlx::Error| query_error(e, &self.ep);
        let spec: Option<String> = r.try_get("spec").map_err(get)?;
        let id: String = r.try_get("id").map_err(get)?;
        let mut problem = None;
        let spec: Value = match spec.as_deref().map(serde_json::from_str::<Value>) {
            Some(Ok(v)) => v,
            Some(Err(e)) => {
                problem = Some(format!(
                    "unreadable row: tasks.spec of task {id} is not valid JSON ({e}); its template \
                     and creator cannot be told from it"
                ));
                Value::Null
            }
            None => Value::Null,
        };
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
        let hb_us: Option<i64> = r.try_get("hb_us").map_err(get)?;
        let hb_age: Option<i64> = r.try_get("hb_age_s").map_err(get)?;
        let age: Option<i64> = r.try_get("age_s").map_err(get)?;
        let open = unfinished(&status);
        // An unfinished task has no duration yet: first to last event would read as if it
        // had ended.
        let (duration_ms, duration_source) = match (open, first, last, hb_ms) {
            (true, ..) => (None, None),
            (false, Some(f), Some(l), _) => (Some((l - f) / 1000), Some("events")),
            (false, _, _, Some(h)) => (Some(h), Some("heartbeat")),
            _ => (None, None),
        };
        let processing = status == "processing";
        let heartbeat_stale = processing
            && (hb_us.is_none()
                || hb_age.is_some_and(|a| a > HEARTBEAT_STALE_SECS)
                || matches!((hb_us, last), (Some(h), Some(l)) if h < l));
        let display_status = if cancelled && status == "failed" {
            "cancelled".to_string()
        } else {
            status.clone()
        };
        Ok(TaskSummary {
            id,
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
            age_secs: if open { age } else { None },
            heartbeat_age_secs: if processing { hb_age } else { None },
            heartbeat_stale,
            secrets_stored: r.try_get("secrets_stored").map_err(get)?,
            secret_keys: None,
            events: r.try_get::<Option<i64>, _>("n").map_err(get)?.unwrap_or(0),
            problem,
        })
    }
}

/// The template ref a filter asks for, normalised (lower case, kind `template`).
fn template_filter(filter: &TaskFilter) -> Option<String> {
    filter
        .template
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .map(|t| normalize_ref(t, "template"))
}

/// The creator ref a filter asks for, normalised (lower case, kind `user`).
fn creator_filter(filter: &TaskFilter) -> Option<String> {
    filter
        .creator
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .map(|c| normalize_ref(c, "user"))
}

/// Whether a task the server narrowed by text matches the template and creator asked for. A
/// task whose spec cannot be read is kept, with its problem, rather than silently dropped: its
/// text names the ref, and whether it is the template or creator cannot be told.
fn matches(t: &TaskSummary, template: Option<&str>, creator: Option<&str>) -> bool {
    let same = |have: &Option<String>, want: &str| {
        have.as_deref().is_some_and(|h| h.to_lowercase() == want)
    };
    let unknown = t.problem.is_some();
    let template_ok = template.is_none_or(|w| unknown || same(&t.template_ref, w));
    let creator_ok = creator
        .is_none_or(|w| same(&t.creator, w) || (unknown && t.creator_source != Some("created_by")));
    template_ok && creator_ok
}

#[cfg(test)]
mod tests {
    use super::*;

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

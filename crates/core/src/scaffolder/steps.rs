//! What a task did, from its `task_events`: the log, each event's message as styled spans
//! (escape sequences parsed, JWTs masked), and the steps of the task's spec with the status
//! and timings the events give them.

use serde::Serialize;
use serde_json::Value;
use sqlx::Row;
use sqlx::postgres::PgRow;

use super::handle::{NEED_EVENTS, Scaffolder};
use crate::ansi::{self, Span};
use crate::error::Result;
use crate::redact::redact_text;
use crate::sql::{Param, Sql, iso_text, micros, query_error};

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

/// An event's parsed body (unredacted; what leaves passes [`crate::redact`]) and its time in
/// microseconds since the epoch, side by side with its [`LogLine`].
pub(super) type EventBody = (Value, Option<i64>);

impl Scaffolder {
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

    /// A task's log and the bodies of its events, in order; both empty without `task_events`.
    pub(super) async fn task_log(&self, id: &str) -> Result<(Vec<LogLine>, Vec<EventBody>)> {
        let events = if self.has_events() {
            self.task_events_sql(id)?
                .fetch_all(&self.pool, &self.ep)
                .await?
        } else {
            Vec::new()
        };
        let mut log = Vec::with_capacity(events.len());
        let mut bodies = Vec::with_capacity(events.len());
        for r in &events {
            let (line, body) = self.log_line(r)?;
            log.push(line);
            bodies.push(body);
        }
        Ok((log, bodies))
    }

    /// One row of [`Scaffolder::task_events_sql`]: its log line and its body. A body that is
    /// not JSON is taken as the message.
    fn log_line(&self, r: &PgRow) -> Result<(LogLine, EventBody)> {
        let get = |e: sqlx::Error| query_error(e, &self.ep);
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
        let line = LogLine {
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
        };
        let at_us = r.try_get::<Option<i64>, _>("at_us").map_err(get)?;
        Ok((line, (body, at_us)))
    }
}

/// Step status and timings from the events: a step starts at the first event with its
/// `stepId` and ends at the event whose `status` is completed or failed.
pub(super) fn derive_steps(
    spec: &Value,
    log: &[LogLine],
    bodies: &[EventBody],
    task_status: &str,
) -> Vec<StepView> {
    let Some(steps) = spec.get("steps").and_then(Value::as_array) else {
        return Vec::new();
    };
    steps
        .iter()
        .filter_map(|s| step_view(s, log, bodies, task_status))
        .collect()
}

/// One step of the spec (`None` without an `id`) with what its events say.
fn step_view(
    s: &Value,
    log: &[LogLine],
    bodies: &[EventBody],
    task_status: &str,
) -> Option<StepView> {
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
    let (mut start_us, mut end_us, mut cancelled, mut status) = (None, None, false, None::<String>);
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
}

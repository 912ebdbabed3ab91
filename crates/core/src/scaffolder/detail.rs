//! One task in full: finding it by id or id prefix, its template and parameters, its steps
//! and log (from [`super::steps`]), the error and output of its completion, its recovery
//! checkpoints (`tasks.state`), and the key names of the secrets it still stores.
//!
//! `tasks.secrets` is read here and only here, and only as `json_object_keys` inside the
//! database: its values never reach this process (see the module documentation of
//! [`crate::scaffolder`]).

use serde::Serialize;
use serde_json::Value;
use sqlx::Row;

use super::handle::{SINCE_SECRETS, Scaffolder};
use super::list::TaskSummary;
use super::steps::{EventBody, LogLine, StepView, derive_steps};
use crate::error::{CoreError, Result};
use crate::redact::{redact_json, redact_text};
use crate::schema::Need;
use crate::sql::{Param, Sql, query_error};

/// The template a task ran.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TemplateInfo {
    pub entity_ref: Option<String>,
    pub base_url: Option<String>,
    pub title: Option<String>,
    pub description: Option<String>,
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
    /// `body.output` of the completion event; redacted.
    #[cfg_attr(feature = "ts", ts(type = "unknown"))]
    pub output: Option<Value>,
    /// Where the output came from: `completion` (the completion event's body).
    pub output_source: Option<&'static str>,
    /// `tasks.state`: the checkpoints a template's steps saved for recovery (Backstage writes
    /// `{"state": {"checkpoints": ...}}` there; it is not the task's output); redacted. The
    /// column came with scaffolder-backend migration 20240203232000_state.
    #[cfg_attr(feature = "ts", ts(type = "unknown"))]
    pub checkpoints: Option<Value>,
    /// Present when `tasks.secrets` is not NULL.
    pub secrets: Option<StoredSecrets>,
    /// What this database lacks and what that changes here.
    pub notes: Vec<String>,
}

fn task_not_found(id: &str) -> CoreError {
    CoreError::NotFound {
        what: "task",
        name: id.to_string(),
        hint: Some("`bsi tasks` lists task ids".into()),
    }
}

impl Scaffolder {
    /// Finds a task by its id or by a unique prefix of at least 4 characters.
    pub async fn resolve_id(&self, id: &str) -> Result<String> {
        self.require_tasks()?;
        let s = id.trim().to_ascii_lowercase();
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
            [] => Err(task_not_found(id)),
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
        let row = rows.first().ok_or_else(|| task_not_found(&id))?;
        let mut summary = self.summary(row)?;
        let get = |e: sqlx::Error| query_error(e, &self.ep);
        let created_by: Option<String> = if self.has("created_by") {
            row.try_get("created_by").map_err(get)?
        } else {
            None
        };
        let state: Option<String> = row.try_get("state").map_err(get)?;
        let spec_text: Option<String> = row.try_get("spec").map_err(get)?;
        let mut notes = self.notes();
        let spec = parse_spec(spec_text.as_deref(), &mut notes);

        let (log, bodies) = self.task_log(&id).await?;
        let steps = derive_steps(&spec, &log, &bodies, &summary.status);
        let (error, output, output_source) = completion_result(&log, &bodies);
        let checkpoints = state.map(|s| {
            let mut v = serde_json::from_str(&s).unwrap_or(Value::String(s));
            redact_json(&mut v);
            v
        });
        let secrets = if summary.secrets_stored == Some(true) {
            Some(
                self.stored_secrets(&id, &summary.status, &mut notes)
                    .await?,
            )
        } else {
            None
        };
        summary.secret_keys = secrets.as_ref().map(|s| s.keys.clone());
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
            template: template_info(&spec),
            parameters,
            steps,
            log,
            error,
            output,
            output_source,
            checkpoints,
            secrets,
            notes,
        })
    }

    /// The key names of a task's stored secrets (empty when nothing is stored or it is not a
    /// JSON object), or a note when `secrets` is not JSON: never PostgreSQL's message, whose
    /// detail may quote the value.
    pub(super) async fn secret_key_names(
        &self,
        id: &str,
    ) -> Result<std::result::Result<Vec<String>, String>> {
        match self
            .secret_keys_sql(id)?
            .query()
            .fetch_optional(&self.pool)
            .await
        {
            Ok(Some(r)) => {
                let text: Option<String> =
                    r.try_get("keys").map_err(|e| query_error(e, &self.ep))?;
                Ok(Ok(text
                    .and_then(|t| serde_json::from_str::<Vec<String>>(&t).ok())
                    .unwrap_or_default()))
            }
            Ok(None) => Ok(Ok(Vec::new())),
            Err(sqlx::Error::Database(db)) if db.code().as_deref() == Some("22P02") => Ok(Err(
                "tasks.secrets is not valid JSON: its key names cannot be shown".into(),
            )),
            Err(e) => Err(query_error(e, &self.ep)),
        }
    }

    /// The key names of a task's stored secrets and the warning that goes with them. Values
    /// are never read; a `secrets` that is not JSON gives a note, never PostgreSQL's message.
    async fn stored_secrets(
        &self,
        id: &str,
        status: &str,
        notes: &mut Vec<String>,
    ) -> Result<StoredSecrets> {
        let keys = match self.secret_key_names(id).await? {
            Ok(keys) => keys,
            Err(note) => {
                notes.push(note);
                Vec::new()
            }
        };
        let warning = secrets_warning(status, &keys);
        Ok(StoredSecrets { keys, warning })
    }
}

/// `tasks.spec` as JSON; `Null` (with a note when it is not JSON) otherwise.
fn parse_spec(spec_text: Option<&str>, notes: &mut Vec<String>) -> Value {
    match spec_text.map(serde_json::from_str::<Value>) {
        Some(Ok(v)) => v,
        Some(Err(e)) => {
            notes.push(format!(
                "tasks.spec is not valid JSON ({e}); template, parameters and steps cannot be shown"
            ));
            Value::Null
        }
        None => Value::Null,
    }
}

/// The error and output of the last completion event, redacted, with where the output came
/// from.
fn completion_result(
    log: &[LogLine],
    bodies: &[EventBody],
) -> (Option<Value>, Option<Value>, Option<&'static str>) {
    let completion = log
        .iter()
        .zip(bodies)
        .rev()
        .find(|(l, _)| l.event_type == "completion")
        .map(|(_, (b, _))| b);
    let mut error = completion.and_then(|b| b.get("error")).cloned();
    error.iter_mut().for_each(redact_json);
    let (mut output, output_source) = match completion.and_then(|b| b.get("output")) {
        Some(o) if !o.is_null() => (Some(o.clone()), Some("completion")),
        _ => (None, None),
    };
    output.iter_mut().for_each(redact_json);
    (error, output, output_source)
}

/// What a task that still stores secrets should be told, by its status.
fn secrets_warning(status: &str, keys: &[String]) -> Option<String> {
    match status {
        "open" | "processing" => Some(format!(
            "this {status} task still stores its secrets in plaintext in tasks.secrets ({}); Backstage clears \
             them when a worker claims the task (or, for EXPERIMENTAL_recovery startOver templates, when it \
             ends); anyone who can read this database can read them",
            if keys.is_empty() {
                "keys unknown".to_string()
            } else {
                keys.join(", ")
            }
        )),
        _ => Some(format!(
            "this {status} task still stores secrets in tasks.secrets although it has ended; Backstage normally \
             clears them when a worker claims the task"
        )),
    }
}

/// `spec.templateInfo`, its texts redacted.
fn template_info(spec: &Value) -> Option<TemplateInfo> {
    spec.get("templateInfo").map(|ti| {
        let s = |p: &str| ti.pointer(p).and_then(Value::as_str).map(redact_text);
        TemplateInfo {
            entity_ref: s("/entityRef"),
            base_url: s("/baseUrl"),
            title: s("/entity/metadata/title"),
            description: s("/entity/metadata/description"),
        }
    })
}

//! Guarded fixes: the few writes an operator makes by hand in a Backstage database, done the
//! way Backstage's own code does them, and only in write mode.
//!
//! A fix is planned first ([`plan`], read-only: it works in read-only mode too, for a dry run):
//! the plan names the database, what the fix touches (rows read before), where the semantics
//! come from in Backstage's code, and the exact statements with their bound values. Applying it
//! ([`apply`]) needs write mode and the database's name typed as confirmation, runs every
//! statement in one transaction (all or nothing), reads the result again, and appends one line
//! to the audit log (`audit.log` in the config folder: who, when, profile, server, database,
//! statements, values, rows changed).
//!
//! The rooms: this file (plans, apply, audit) and `plans` (what each fix reads and runs).

mod plans;

use std::io::Write;
use std::path::PathBuf;

use serde::Serialize;
use sqlx::Row;

use crate::connect::{Connections, Endpoint};
use crate::error::{CoreError, Result};
use crate::sql::{Param, Sql, query_error};

/// A fix to plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FixRequest {
    /// Schedule an entity (and its location) for processing now.
    Refresh { entity_ref: String },
    /// Remove an entity that no parent emits any more.
    DeleteOrphan { entity_ref: String },
    /// Clear a scheduler task's expired run ticket in the database of plugin `area`.
    ClearTicket { area: String, task_id: String },
    /// Mark a scaffolder task whose worker stopped sending heartbeats as failed.
    FailTask { task_id: String },
    /// Release a held Knex migration lock.
    KnexUnlock {
        database: String,
        lock_table: String,
    },
}

/// What a fix will do, before it does it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct FixPlan {
    /// `refresh`, `delete_orphan`, `clear_ticket`, `fail_task`, `knex_unlock`.
    pub fix: String,
    /// One sentence: what it does.
    pub title: String,
    pub server: String,
    pub database: String,
    /// What the user types to confirm: the database's name.
    pub confirm: String,
    /// The rows it touches, as read now.
    pub touches: Vec<String>,
    /// Where the semantics come from in Backstage's code.
    pub source: String,
    /// The statements, in order, with their bound values; run in one transaction.
    #[cfg_attr(
        feature = "ts",
        ts(type = "Array<{ text: string, params: Array<unknown> }>")
    )]
    pub statements: Vec<Sql>,
    /// A query whose rows, read after the fix, show its result.
    #[serde(skip)]
    check: Option<Sql>,
    #[serde(skip)]
    endpoint: Option<Endpoint>,
}

/// What a fix did.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct FixOutcome {
    pub plan: FixPlan,
    /// Rows changed by each statement.
    pub rows: Vec<u64>,
    /// The result, read again after the commit.
    pub after: Vec<String>,
    /// The audit log the fix was recorded in (`None` when it could not be written; the
    /// database change stands and the failure is said in `notes`).
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub audit_log: Option<PathBuf>,
    pub notes: Vec<String>,
}

impl FixPlan {
    fn new(fix: &str, title: String, ep: &Endpoint, source: &str) -> Self {
        FixPlan {
            fix: fix.to_string(),
            title,
            server: ep.server(),
            database: ep.database.clone(),
            confirm: ep.database.clone(),
            touches: Vec::new(),
            source: source.to_string(),
            statements: Vec::new(),
            check: None,
            endpoint: Some(ep.clone()),
        }
    }

    /// The statements as a reader sees them: each statement's text, then its values.
    pub fn script(&self) -> String {
        let mut out = String::from("BEGIN;\n");
        for s in &self.statements {
            out.push_str(s.text.trim());
            out.push_str(";\n");
            for (i, p) in s.params.iter().enumerate() {
                out.push_str(&format!("--   ${} = {}\n", i + 1, show_param(p)));
            }
        }
        out.push_str("COMMIT;\n");
        out
    }
}

fn show_param(p: &Param) -> String {
    let quote = |s: &str| format!("'{}'", s.replace('\'', "''"));
    match p {
        Param::Text(s) => quote(s),
        Param::OptText(Some(s)) => quote(s),
        Param::OptText(None) => "NULL".to_string(),
        Param::TextArray(a) => format!(
            "ARRAY[{}]",
            a.iter().map(|s| quote(s)).collect::<Vec<_>>().join(", ")
        ),
        Param::Int(i) => i.to_string(),
        Param::Float(f) => f.to_string(),
    }
}

/// Plans `req`: reads what it touches and refuses what Backstage would not do (an entity that
/// is still emitted, a ticket that has not expired, a task that still beats). Read-only.
pub async fn plan(conns: &Connections, req: &FixRequest) -> Result<FixPlan> {
    // Each plan boxed: their futures are large, and only one runs.
    match req {
        FixRequest::Refresh { entity_ref } => Box::pin(plans::refresh(conns, entity_ref)).await,
        FixRequest::DeleteOrphan { entity_ref } => {
            Box::pin(plans::delete_orphan(conns, entity_ref)).await
        }
        FixRequest::ClearTicket { area, task_id } => {
            Box::pin(plans::clear_ticket(conns, area, task_id)).await
        }
        FixRequest::FailTask { task_id } => Box::pin(plans::fail_task(conns, task_id)).await,
        FixRequest::KnexUnlock {
            database,
            lock_table,
        } => Box::pin(plans::knex_unlock(conns, database, lock_table)).await,
    }
}

/// Applies `plan` after `typed` matched its confirmation: in write mode only, in one
/// transaction, then reads the result and records the fix in the audit log
/// ([`audit_log_path`]).
pub async fn apply(conns: &Connections, plan: &FixPlan, typed: &str) -> Result<FixOutcome> {
    apply_logged(conns, plan, typed, audit_log_path()).await
}

/// [`apply`], recording the fix in the audit log `log` (the error of finding it is reported in
/// the outcome's notes, after the change).
pub async fn apply_logged(
    conns: &Connections,
    plan: &FixPlan,
    typed: &str,
    log: Result<PathBuf>,
) -> Result<FixOutcome> {
    conns.require_write(&plan.title)?;
    Connections::confirm_typed(
        typed,
        &plan.confirm,
        &plan.title.to_lowercase(),
        "the database name",
    )?;
    let ep = plan
        .endpoint
        .clone()
        .ok_or_else(|| CoreError::Internal("a fix plan without its database".into()))?;
    let pool = conns.pool(&ep).await?;
    let mut tx = pool.begin().await.map_err(|e| query_error(e, &ep))?;
    let mut rows = Vec::new();
    for s in &plan.statements {
        let done = s
            .query()
            .execute(&mut *tx)
            .await
            .map_err(|e| query_error(e, &ep))?;
        rows.push(done.rows_affected());
    }
    // The server's time of the transaction, for the audit line.
    let at: String = sqlx::query_scalar(
        "SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')",
    )
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| query_error(e, &ep))?;
    tx.commit().await.map_err(|e| query_error(e, &ep))?;
    tracing::info!(fix = %plan.fix, database = %ep.database, ?rows, "fix applied");
    let mut notes = Vec::new();
    let after = match &plan.check {
        Some(check) => match check.fetch_all(&pool, &ep).await {
            Ok(found) => found
                .iter()
                .map(|r| r.try_get::<String, _>(0).unwrap_or_default())
                .collect(),
            Err(e) => {
                notes.push(format!("the result could not be read again: {e}"));
                Vec::new()
            }
        },
        None => Vec::new(),
    };
    let audit_log = match log.and_then(|path| audit(&path, conns, plan, &rows, &at)) {
        Ok(p) => Some(p),
        Err(e) => {
            notes.push(format!("the fix was NOT recorded in the audit log: {e}"));
            None
        }
    };
    Ok(FixOutcome {
        plan: plan.clone(),
        rows,
        after,
        audit_log,
        notes,
    })
}

/// The audit log: `audit.log` in the config folder, one JSON object per line.
pub fn audit_log_path() -> Result<PathBuf> {
    Ok(crate::profile::config_dir()?.join("audit.log"))
}

/// Appends one line for `plan`, committed at the server's time `at` (in a single write, so
/// concurrent runs never interleave).
fn audit(
    path: &std::path::Path,
    conns: &Connections,
    plan: &FixPlan,
    rows: &[u64],
    at: &str,
) -> Result<PathBuf> {
    let path = path.to_path_buf();
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| CoreError::io("cannot create the folder of", &path, e))?;
    }
    let who = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".to_string());
    let ep = plan.endpoint.as_ref();
    let line = serde_json::json!({
        "at": at,
        "os_user": who,
        "db_user": ep.map(|e| e.user.clone()),
        "profile": conns.profile().name,
        "server": plan.server,
        "database": plan.database,
        "fix": plan.fix,
        "title": plan.title,
        "statements": plan.statements,
        "rows": rows,
    });
    let mut text = line.to_string();
    text.push('\n');
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|e| CoreError::io("cannot open the audit log", &path, e))?;
    f.write_all(text.as_bytes())
        .map_err(|e| CoreError::io("cannot write the audit log", &path, e))?;
    Ok(path)
}

//! The doctor: one read-only pass over an installation that answers with findings instead of
//! rows. Each [`Finding`] is a conclusion (its `title`), ranked by [`Severity`], with the
//! evidence behind it (counts, names, times; a bounded list of examples) and the next steps as
//! `bsi` sub-commands ([`NextStep::args`]) that the shells prefix with the run's connection
//! options, so they can be pasted as they are.
//!
//! The rooms, one per question: `catalog` (processing stalled, stitching, errors, orphans,
//! broken references, locations), `scaffolder` (stuck and waiting tasks, stored secrets,
//! failures), `knex` (held locks, partial upgrades), `scheduler` (the backend's
//! `backstage_backend_tasks__tasks` in every plugin database), `connections`
//! (`pg_stat_activity`), `tables` (dead tuples, the tables that grow) and `auth` (signing keys,
//! offline sessions). Beside the pass, [`why`] answers for one entity ref: its pipeline stage by
//! stage and a verdict, with next steps of the same shape. Every check reads the live schema first: what an older Backstage lacks is
//! listed in [`Report::skipped`], and a check that fails (a permission, an unreadable row)
//! becomes a `doctor.check_failed` finding about that check, never a failed report. Times are
//! the database's (`now()`), never this machine's.

mod auth;
mod catalog;
mod connections;
mod knex;
mod scaffolder;
mod scheduler;
mod tables;
pub mod why;

use std::sync::Arc;

use serde::Serialize;

use crate::area::Area;
use crate::cmdline;
use crate::connect::{Connections, map_query_error};
use crate::discovery::{Discovery, discover};
use crate::error::{CoreError, Result};

/// How bad a finding is. Ordered worst first, so sorting ranks findings.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Backstage is broken for its users now (the catalog stopped, a migration lock blocks
    /// start-up).
    Critical,
    /// Something is wrong or about to be, and needs a look.
    Warning,
    /// Worth knowing; nothing to do right now.
    Info,
    /// The check ran and found nothing wrong.
    Ok,
}

impl Severity {
    pub const fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::Warning => "warning",
            Severity::Info => "info",
            Severity::Ok => "ok",
        }
    }
}

/// A next step: a `bsi` sub-command (without the connection options, which the shell adds) or,
/// when `args` is empty, advice to follow outside the inspector.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NextStep {
    /// What it does or shows, in a few words.
    pub what: String,
    /// The command's words after `bsi` and the connection options, each one word (not
    /// shell-quoted). `--write` comes first for a step that needs write mode.
    pub args: Vec<String>,
    /// The whole command line to paste, with the run's options ([`Report::with_commands`]);
    /// `None` for advice, and until a shell fills it in.
    pub command: Option<String>,
}

impl NextStep {
    /// The step as a `bsi` command line with `options` (shell words) before its words; `None`
    /// for advice.
    pub fn command_line(&self, options: &[String]) -> Option<String> {
        (!self.args.is_empty()).then(|| cmdline::line(options, &self.args))
    }
}

/// The most examples a finding lists.
pub const MAX_EXAMPLES: usize = 10;

/// One conclusion of the doctor.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Finding {
    /// Stable, dotted: `catalog.processing_stalled`, `knex.lock_held`, ...
    pub id: String,
    pub severity: Severity,
    /// The Backstage area it is about (`catalog`, `scaffolder`, `knex`, `scheduler`,
    /// `connections`, `tables`, `auth`).
    pub area: String,
    /// One plain sentence: the conclusion.
    pub title: String,
    /// How many things it is about (entities, tasks, tables, sessions), when it counts.
    pub count: Option<i64>,
    /// The facts behind it, one line each.
    pub evidence: Vec<String>,
    /// Up to [`MAX_EXAMPLES`] of the things it is about (refs, task ids, table names).
    pub examples: Vec<String>,
    pub next: Vec<NextStep>,
}

impl Finding {
    pub(crate) fn new(id: &str, severity: Severity, area: &str, title: impl Into<String>) -> Self {
        Finding {
            id: id.to_string(),
            severity,
            area: area.to_string(),
            title: title.into(),
            count: None,
            evidence: Vec::new(),
            examples: Vec::new(),
            next: Vec::new(),
        }
    }

    pub(crate) fn count(mut self, n: i64) -> Self {
        self.count = Some(n);
        self
    }

    pub(crate) fn evidence(mut self, line: impl Into<String>) -> Self {
        self.evidence.push(line.into());
        self
    }

    pub(crate) fn examples(mut self, items: impl IntoIterator<Item = String>) -> Self {
        self.examples = items.into_iter().take(MAX_EXAMPLES).collect();
        self
    }

    pub(crate) fn next(mut self, what: &str, args: &[&str]) -> Self {
        self.next.push(NextStep {
            what: what.to_string(),
            args: args.iter().map(|a| a.to_string()).collect(),
            command: None,
        });
        self
    }

    pub(crate) fn advice(self, what: &str) -> Self {
        self.next(what, &[])
    }
}

/// When the doctor calls something a problem. The defaults follow Backstage's own defaults,
/// named at each field.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Thresholds {
    /// An entity is overdue when its `refresh_state.next_update_at` is this far in the past.
    /// The catalog reprocesses every entity every 100–150 s by default
    /// (`createRandomProcessingInterval({ minSeconds: 100, maxSeconds: 150 })` in
    /// catalog-backend's `CatalogBuilder` when `catalog.processingInterval` is unset), so the
    /// default is max(1 h, 10 × 150 s) = 1 h.
    pub refresh_overdue_secs: i64,
    /// A stitch that waits this long past its `next_stitch_at` is a backlog (stitching
    /// normally follows processing within seconds).
    pub stitch_lag_secs: i64,
    /// A `processing` scaffolder task whose `last_heartbeat_at` is older than this is stuck:
    /// a live task worker heartbeats every few seconds (`DatabaseTaskStore.heartbeatTask`).
    pub heartbeat_stale_secs: i64,
    /// Scaffolder's own limit, `scaffolder.taskTimeout` (default 24 h): its
    /// `close_stale_tasks` job fails tasks whose heartbeat is older, every
    /// `taskTimeoutJanitorFrequency` (default 5 min). A task past it means that job is not running.
    pub scaffolder_task_timeout_secs: i64,
    /// An `open` task waiting longer than this was never claimed by a worker.
    pub open_wait_secs: i64,
    /// A scheduler run ticket whose `current_run_expires_at` passed this long ago: the
    /// scheduler's janitor (`PluginTaskSchedulerJanitor`, in backend-tasks and
    /// backend-defaults) clears expired tickets about once a minute while a backend runs.
    pub scheduler_expired_secs: i64,
    /// A scheduled task whose `next_run_start_at` passed this long ago without a run.
    pub scheduler_overdue_secs: i64,
    /// A session idle in a transaction for longer than this holds locks and a connection.
    pub idle_in_transaction_secs: i64,
    /// A query running longer than this.
    pub long_query_secs: i64,
    /// Connections in use, in percent of what is available, from which it is a warning...
    pub connections_warning_pct: i64,
    /// ...and critical.
    pub connections_critical_pct: i64,
    /// A table with at least this many dead tuples...
    pub dead_tuples_min: i64,
    /// ...that are at least this share (percent) of its tuples needs a vacuum.
    pub dead_tuples_pct: i64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            refresh_overdue_secs: 3600,
            stitch_lag_secs: 600,
            heartbeat_stale_secs: 600,
            scaffolder_task_timeout_secs: 86_400 + 300,
            open_wait_secs: 3600,
            scheduler_expired_secs: 600,
            scheduler_overdue_secs: 3600,
            idle_in_transaction_secs: 300,
            long_query_secs: 300,
            connections_warning_pct: 80,
            connections_critical_pct: 95,
            dead_tuples_min: 10_000,
            dead_tuples_pct: 20,
        }
    }
}

/// What the doctor found.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Report {
    /// The database server's `now()` when the pass began (UTC, ISO 8601).
    pub checked_at: Option<String>,
    /// The worst severity among the findings (`ok` when there are none).
    pub worst: Severity,
    /// Worst first; within a severity, in the order the checks ran.
    pub findings: Vec<Finding>,
    /// Checks that did not run here, and why (a table an older Backstage lacks, an area this
    /// installation does not have).
    pub skipped: Vec<String>,
    pub thresholds: Thresholds,
}

impl Report {
    /// The findings with this id.
    pub fn with_id<'a>(&'a self, id: &str) -> impl Iterator<Item = &'a Finding> + use<'a> {
        let id = id.to_string();
        self.findings.iter().filter(move |f| f.id == id)
    }

    /// The report with every step's [`NextStep::command`] filled in: `bsi`, the `options`
    /// (shell words: the connection and layout options of the run, see [`cmdline`]), the
    /// step's words.
    pub fn with_commands(mut self, options: &[String]) -> Self {
        for step in self.findings.iter_mut().flat_map(|f| f.next.iter_mut()) {
            step.command = step.command_line(options);
        }
        self
    }
}

/// The findings and skipped checks of one room.
#[derive(Debug, Default)]
pub(crate) struct Out {
    pub findings: Vec<Finding>,
    pub skipped: Vec<String>,
}

impl Out {
    /// Takes the result of one check: its findings; a missing table or column as a skipped
    /// check; any other error as a `doctor.check_failed` finding about the check.
    pub(crate) fn take(&mut self, area: &str, check: &str, r: Result<Vec<Finding>>) {
        match r {
            Ok(f) => self.findings.extend(f),
            Err(CoreError::SchemaDegraded { reason, .. }) => {
                self.skipped
                    .push(format!("{check}: not available in this version: {reason}"));
            }
            Err(e) => self.findings.push(
                Finding::new(
                    "doctor.check_failed",
                    Severity::Info,
                    area,
                    format!("The check \"{check}\" could not run, so its answer is unknown."),
                )
                .evidence(format!("{}: {e}", e.code().as_str())),
            ),
        }
    }

    pub(crate) fn skip(&mut self, check: &str, why: impl Into<String>) {
        self.skipped.push(format!("{check}: {}", why.into()));
    }
}

/// A missing table or column, as a check that does not run here.
pub(crate) fn missing(check: &str, what: impl Into<String>) -> CoreError {
    CoreError::SchemaDegraded {
        view: check.to_string(),
        reason: what.into(),
    }
}

/// `n thing` or `n things`.
pub(crate) fn plural(n: i64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// Runs every check with the default thresholds.
pub async fn doctor(conns: &Arc<Connections>) -> Result<Report> {
    run(conns, &Thresholds::default()).await
}

/// One pass over the installation of `conns`. Fails only when the server cannot be reached
/// (discovery fails); everything after that degrades check by check.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn run(conns: &Arc<Connections>, t: &Thresholds) -> Result<Report> {
    let d = discover(conns).await?;
    let ep = conns.endpoint(conns.profile().maintenance_database());
    let pool = conns.pool(&ep).await?;
    let checked_at: Option<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT {}",
        crate::sql::iso_text("now()")
    )))
    .fetch_one(&pool)
    .await
    .map_err(|e| map_query_error(e, &ep))?;

    let has = |a: Area| {
        d.databases
            .iter()
            .any(|db| db.error.is_none() && db.areas.contains(&a))
    };
    let area_out = |a: Area| async move {
        let mut out = Out::default();
        if !has(a) {
            out.skip(
                a.as_str(),
                format!("this installation has no readable {} database", a.as_str()),
            );
            return out;
        }
        match a {
            Area::Catalog => catalog::check(conns, t).await,
            Area::Scaffolder => scaffolder::check(conns, t).await,
            Area::Auth => auth::check(conns).await,
            _ => out,
        }
    };
    // Each room's future is large: boxed, the pass leaves room on a runtime worker thread's
    // stack in a debug build (the app runs it on one).
    let (cat, scaf, auth, knex, sched, connections, tables) = tokio::join!(
        Box::pin(area_out(Area::Catalog)),
        Box::pin(area_out(Area::Scaffolder)),
        Box::pin(area_out(Area::Auth)),
        Box::pin(knex::check(conns, &d)),
        Box::pin(scheduler::check(conns, &d, t)),
        Box::pin(connections::check(conns, &d, t)),
        Box::pin(tables::check(conns, &d, t)),
    );
    let mut all = Out::default();
    all.findings.extend(unreadable_databases(&d));
    for o in [cat, scaf, knex, sched, connections, tables, auth] {
        all.findings.extend(o.findings);
        all.skipped.extend(o.skipped);
    }
    all.findings.sort_by_key(|f| f.severity);
    Ok(Report {
        checked_at,
        worst: all
            .findings
            .iter()
            .map(|f| f.severity)
            .min()
            .unwrap_or(Severity::Ok),
        findings: all.findings,
        skipped: all.skipped,
        thresholds: t.clone(),
    })
}

/// Databases of the installation that the role could not read.
fn unreadable_databases(d: &Discovery) -> Vec<Finding> {
    let bad: Vec<_> = d.databases.iter().filter(|db| db.error.is_some()).collect();
    if bad.is_empty() {
        return Vec::new();
    }
    let mut f = Finding::new(
        "doctor.database_unreadable",
        Severity::Warning,
        "connections",
        format!(
            "{} of this installation could not be read, so the doctor did not check them.",
            plural(bad.len() as i64, "database", "databases")
        ),
    )
    .count(bad.len() as i64)
    .examples(bad.iter().map(|db| db.database.clone()));
    for db in &bad {
        if let Some(e) = &db.error {
            f = f.evidence(format!("{}: {}", db.database, e.message));
        }
    }
    vec![f.next("the databases and what each holds", &["databases"])]
}

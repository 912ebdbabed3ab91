//! `bsi tasks` and `bsi task ID [--log]`: scaffolder history. Secrets stored with a task are
//! shown by key name only; log lines keep their colours only when stdout is a terminal, and
//! then only as SGR codes rebuilt from parsed spans (never raw escape sequences from the
//! database).

use std::io::IsTerminal;

use bsi_core::scaffolder::{Scaffolder, StatusFilter, TaskDetail, TaskFilter, TaskSummary};
use bsi_core::{CoreError, Result, ansi};
use serde_json::Value;

use crate::global::Global;
use crate::{context, output};

#[derive(Debug, clap::Subcommand)]
pub enum ScaffolderCommand {
    /// Scaffolder tasks, newest first: status, template, creator, duration, stored secrets.
    Tasks(TasksArgs),
    /// One scaffolder task: template, parameters, steps, error, output and stored secret names.
    Task(TaskArgs),
}

#[derive(Debug, clap::Args)]
pub struct TasksArgs {
    /// open, processing, completed, failed or cancelled.
    #[arg(long)]
    pub status: Option<String>,
    /// The template's ref (template:default/NAME, or just NAME).
    #[arg(long)]
    pub template: Option<String>,
    /// Who started it (user:default/NAME, or just NAME).
    #[arg(long)]
    pub creator: Option<String>,
    /// Created at or after: an ISO date/time or an age such as 7d, 24h, 30m.
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Created before: an ISO date/time or an age such as 7d.
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// The tasks linked to this entity (its completion output names it).
    #[arg(long, value_name = "REF", conflicts_with_all = ["status", "template", "creator", "since", "until", "cursor"])]
    pub entity: Option<String>,
    /// With --entity: also the tasks of this template (the entity's
    /// backstage.io/source-template annotation).
    #[arg(long, value_name = "REF", requires = "entity")]
    pub source_template: Option<String>,
    /// Tasks per page (1-1000, default 100).
    #[arg(long)]
    pub limit: Option<usize>,
    /// The next_cursor printed by the previous page.
    #[arg(long)]
    pub cursor: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct TaskArgs {
    /// The task id, or a unique prefix of it (at least 4 characters).
    pub id: String,
    /// Print the full log.
    #[arg(long)]
    pub log: bool,
}

pub async fn run(global: &Global, cmd: ScaffolderCommand) -> Result<()> {
    let conns = context::resolve(global, None).await?.connections();
    let result = async {
        let sc = Scaffolder::open(&conns).await?;
        match cmd {
            ScaffolderCommand::Tasks(a) => tasks(global, &sc, a).await,
            ScaffolderCommand::Task(a) => task(global, &sc, a).await,
        }
    }
    .await;
    conns.close().await;
    result
}

async fn tasks(global: &Global, sc: &Scaffolder, a: TasksArgs) -> Result<()> {
    if let Some(entity) = &a.entity {
        let found = sc
            .tasks_for_entity(entity, a.source_template.as_deref(), a.limit)
            .await?;
        if global.json {
            return output::json(&found);
        }
        if found.items.is_empty() {
            outln!(
                "No task names {} in its output{}.",
                found.entity_ref,
                if a.source_template.is_some() {
                    " or ran its source template"
                } else {
                    ""
                }
            );
            return Ok(());
        }
        let rows = found
            .items
            .iter()
            .map(|t| {
                let mut row = summary_row(&t.task);
                row.push(t.via.join(", "));
                row
            })
            .collect();
        output::table(
            &[
                "id", "status", "created", "duration", "template", "creator", "secrets", "via",
            ],
            rows,
        );
        if found.matched > found.items.len() {
            outln!(
                "\n{} of {} linked tasks shown (--limit).",
                found.items.len(),
                found.matched
            );
        }
        return Ok(());
    }
    let filter = TaskFilter {
        status: a.status.as_deref().map(StatusFilter::parse).transpose()?,
        template: a.template,
        creator: a.creator,
        since: a.since,
        until: a.until,
        limit: a.limit,
        cursor: a.cursor,
    };
    let page = sc.tasks(&filter).await?;
    if global.json {
        return output::json(&page);
    }
    for u in sc.degraded() {
        errln!("note: {}: {}", u.view, u.reason);
    }
    if page.items.is_empty() && page.next_cursor.is_none() {
        outln!("No tasks match.");
        return Ok(());
    }
    if page.items.is_empty() {
        outln!("No tasks match in this page of the scan.");
    } else {
        output::table(
            &[
                "id", "status", "created", "duration", "template", "creator", "secrets",
            ],
            page.items.iter().map(summary_row).collect(),
        );
    }
    for p in page.items.iter().filter_map(|t| t.problem.as_deref()) {
        errln!("note: {p}");
    }
    if let Some(c) = &page.next_cursor {
        outln!(
            "\nMore: {}",
            global.rerun_line(&["--cursor"], &["--cursor", c])
        );
    }
    Ok(())
}

fn summary_row(t: &TaskSummary) -> Vec<String> {
    vec![
        t.id.clone(),
        t.display_status.clone(),
        short_time(&t.created_at),
        timing(t),
        t.template_ref.clone().unwrap_or_else(|| "-".into()),
        t.creator.clone().unwrap_or_else(|| "-".into()),
        match (t.secrets_stored, &t.secret_keys) {
            (Some(true), Some(keys)) if !keys.is_empty() => format!("STORED: {}", keys.join(",")),
            (Some(true), _) => "STORED (keys unknown)".into(),
            (Some(false), _) => "-".into(),
            (None, _) => "?".into(),
        },
    ]
}

/// The duration of a finished task; for an unfinished one how long it has waited or run, and
/// for a `processing` task whose worker stopped heartbeating, for how long.
fn timing(t: &TaskSummary) -> String {
    if t.heartbeat_stale {
        return match t.heartbeat_age_secs {
            Some(s) => format!("no heartbeat for {}", span(s)),
            None => "no heartbeat".into(),
        };
    }
    match (t.status.as_str(), t.age_secs) {
        ("open", Some(s)) => format!("waiting {}", span(s)),
        ("processing", Some(s)) => format!("running {}", span(s)),
        _ => duration(t.duration_ms, t.duration_source),
    }
}

/// Seconds as `4d 2h`, `3h 05m`, `12m 30s` or `45s`.
fn span(secs: i64) -> String {
    let s = secs.max(0);
    if s >= 86_400 {
        format!("{}d {}h", s / 86_400, (s % 86_400) / 3600)
    } else if s >= 3600 {
        format!("{}h {:02}m", s / 3600, (s % 3600) / 60)
    } else if s >= 60 {
        format!("{}m {:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

/// `2026-11-29T20:34:01.060416Z` as `2026-11-29 20:34:01`.
fn short_time(iso: &str) -> String {
    iso.get(..19)
        .map(|s| s.replace('T', " "))
        .unwrap_or_else(|| iso.to_string())
}

fn duration(ms: Option<i64>, source: Option<&str>) -> String {
    let Some(ms) = ms else {
        return "-".into();
    };
    let s = ms / 1000;
    let text = if ms < 1000 {
        format!("{ms}ms")
    } else if s < 60 {
        format!("{:.1}s", ms as f64 / 1000.0)
    } else if s < 3600 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    };
    match source {
        Some("heartbeat") => format!("{text} (hb)"),
        _ => text,
    }
}

async fn task(global: &Global, sc: &Scaffolder, a: TaskArgs) -> Result<()> {
    let d = sc.task(&a.id).await?;
    if global.json {
        if a.log {
            return output::json(&d);
        }
        // Without --log the JSON leaves the log out, as the table output does.
        let mut v = serde_json::to_value(&d).map_err(|e| CoreError::Internal(e.to_string()))?;
        if let Some(o) = v.as_object_mut() {
            o.remove("log");
        }
        return output::json(&v);
    }
    print_detail(global, &d);
    if a.log {
        outln!("\nLog ({} events):", d.log.len());
        let color = std::io::stdout().is_terminal();
        for l in &d.log {
            let text = if color {
                let spans: Vec<ansi::Span> = l
                    .spans
                    .iter()
                    .map(|s| ansi::Span {
                        text: printable(&s.text),
                        ..s.clone()
                    })
                    .collect();
                ansi::render(&spans)
            } else {
                printable(&l.text)
            };
            let step = l
                .step_id
                .as_deref()
                .map(|s| format!(" [{s}]"))
                .unwrap_or_default();
            let kind = if l.event_type == "log" {
                String::new()
            } else {
                format!(" <{}>", l.event_type)
            };
            // The log text is made safe above; the line keeps its colours on a terminal.
            let (step, kind) = (output::sanitize(&step), output::sanitize(&kind));
            let mut lines = text.lines();
            outln_raw!(
                "{}{step}{kind} {}",
                output::sanitize(&short_time(&l.at)),
                lines.next().unwrap_or("")
            );
            for more in lines {
                outln_raw!("    {more}");
            }
        }
    } else if !d.log.is_empty() {
        outln!(
            "\n{} log events: `{}` prints them.",
            d.log.len(),
            global.rerun_line(&[], &["--log"])
        );
    }
    Ok(())
}

fn print_detail(global: &Global, d: &TaskDetail) {
    let s = &d.summary;
    outln!(
        "Task {} · {} · {}",
        s.id,
        s.display_status,
        match s.duration_source {
            _ if s.heartbeat_stale || s.age_secs.is_some() => timing(s),
            Some("events") => format!("{} (first to last event)", duration(s.duration_ms, None)),
            Some(_) => format!(
                "{} (created to last heartbeat)",
                duration(s.duration_ms, None)
            ),
            None => "no duration yet".into(),
        }
    );
    if let Some(t) = &d.template {
        outln!(
            "Template:  {}{}",
            t.entity_ref.as_deref().unwrap_or("-"),
            t.title
                .as_deref()
                .map(|x| format!(" ({})", plain(x)))
                .unwrap_or_default()
        );
    }
    outln!(
        "Creator:   {}{}",
        s.creator.as_deref().unwrap_or("-"),
        s.creator_source
            .map(|x| format!(" (from {x})"))
            .unwrap_or_default()
    );
    outln!("Created:   {}", short_time(&s.created_at));
    if let Some(h) = &s.last_heartbeat_at {
        outln!(
            "Heartbeat: {}{}",
            short_time(h),
            match (s.heartbeat_stale, s.heartbeat_age_secs) {
                (true, Some(a)) => format!(
                    " (no heartbeat for {}: its worker has stopped; `{}` lists stuck tasks)",
                    span(a),
                    global.same_run_line(&["doctor".into()])
                ),
                _ => String::new(),
            }
        );
    }
    if let Some(sec) = &d.secrets {
        outln!(
            "Secrets:   still stored in tasks.secrets, keys: {}",
            if sec.keys.is_empty() {
                "(unknown)".to_string()
            } else {
                sec.keys.join(", ")
            }
        );
        if let Some(w) = &sec.warning {
            outln!("WARNING:   {w}");
        }
    }
    if let Some(p) = d.parameters.as_object().filter(|p| !p.is_empty()) {
        outln!("\nParameters:");
        for (k, v) in p {
            outln!("  {k}: {}", scalar(v));
        }
    }
    if !d.steps.is_empty() {
        outln!("\nSteps:");
        output::table(
            &["step", "name", "action", "status", "started", "duration"],
            d.steps
                .iter()
                .map(|st| {
                    vec![
                        st.id.clone(),
                        plain(st.name.as_deref().unwrap_or_default()),
                        st.action.clone().unwrap_or_default(),
                        st.status.clone(),
                        st.started_at
                            .as_deref()
                            .map(short_time)
                            .unwrap_or_else(|| "-".into()),
                        duration(st.duration_ms, None),
                    ]
                })
                .collect(),
        );
    }
    if let Some(e) = &d.error {
        let msg = e
            .get("message")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| e.to_string());
        outln!("\nError: {}", plain(&msg));
    }
    if let Some(o) = &d.output {
        outln!("\nOutput (from {}):", d.output_source.unwrap_or("?"));
        match o.get("links").and_then(Value::as_array) {
            Some(links) => {
                for l in links {
                    let title = plain(l.get("title").and_then(Value::as_str).unwrap_or("link"));
                    let target = l
                        .get("url")
                        .or_else(|| l.get("entityRef"))
                        .map(scalar)
                        .unwrap_or_default();
                    outln!("  {title}: {target}");
                }
            }
            None => outln!("  {}", serde_json::to_string_pretty(o).unwrap_or_default()),
        }
    }
    if let Some(c) = &d.checkpoints {
        outln!("\nRecovery checkpoints (tasks.state):");
        outln!("  {}", serde_json::to_string_pretty(c).unwrap_or_default());
    }
    for n in &d.notes {
        errln!("note: {n}");
    }
}

/// Control characters other than newline and tab (a carriage return that overwrites a line,
/// a bell) are shown as U+FFFD instead of being sent to the terminal.
fn printable(s: &str) -> String {
    output::sanitize(s).into_owned()
}

/// Text from the database as it may reach a terminal: escape sequences removed, control
/// characters made visible.
fn plain(s: &str) -> String {
    printable(&ansi::strip(s))
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => plain(s),
        other => other.to_string(),
    }
}

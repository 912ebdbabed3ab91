//! `bsi sql`: the SQL console from the shell. Statements (an argument, `--file`, or standard
//! input) run in order in one read-only transaction that the server enforces, with the
//! profile's statement timeout; Ctrl-C cancels them on the server. In write mode a script
//! that may write needs the database's name (`--confirm NAME`, or typed on a terminal) and is
//! rolled back unless `--commit` is given. `--explain` shows a statement's plan as a tree,
//! `--recipe` runs one of the Backstage recipes. Secret columns are masked.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;

use bsi_core::connect::Connections;
use bsi_core::console::copy::{self, CopyFormat};
use bsi_core::console::recipes;
use bsi_core::console::{self, ConsoleRun, Outcome, RunOptions, StatementResult, explain, guard};
use bsi_core::sql::split;
use bsi_core::tables::{Target, scopes};
use bsi_core::{CoreError, Result};
use serde_json::Value;

use crate::commands::browse::PlaceArgs;
use crate::global::{Global, shell_word};
use crate::signals::interrupt;
use crate::{context, output};

/// The operation id of a console run, for Cancel.
const OP: &str = "sql";

#[derive(Debug, clap::Args)]
pub struct SqlArgs {
    /// The SQL: one or more statements separated by `;`. Without it (and without --file or
    /// --recipe), the SQL is read from standard input.
    #[arg(value_name = "SQL")]
    pub sql: Option<String>,
    /// Read the SQL from this file (`-` for standard input).
    #[arg(long, short = 'f', value_name = "FILE", conflicts_with = "sql")]
    pub file: Option<PathBuf>,
    #[command(flatten)]
    pub place: PlaceArgs,
    /// Rows printed per statement at most (the rest are counted); default 1000.
    #[arg(long, value_name = "N")]
    pub max_rows: Option<usize>,
    /// table (default), csv, tsv, json (an array of objects per statement) or markdown.
    /// `--json` prints the whole run (every statement, its columns, counts and times).
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Show the statement's plan (EXPLAIN, as a tree) instead of running it.
    #[arg(long, conflicts_with_all = ["recipe", "recipes"])]
    pub explain: bool,
    /// With --explain: run the statement and measure each node (EXPLAIN ANALYZE; only for
    /// statements that only read).
    #[arg(long, requires = "explain")]
    pub analyze: bool,
    /// Run a Backstage recipe (see --recipes) instead of SQL of your own.
    #[arg(long, value_name = "ID", conflicts_with_all = ["sql", "file"])]
    pub recipe: Option<String>,
    /// A recipe parameter, NAME=VALUE (repeat for several).
    #[arg(long = "param", value_name = "NAME=VALUE", requires = "recipe")]
    pub params: Vec<String>,
    /// List the recipes: what each answers, its parameters and the Backstage versions it
    /// works on.
    #[arg(long, conflicts_with_all = ["sql", "file"])]
    pub recipes: bool,
    /// Write mode: the database's name, confirming a script that may write.
    #[arg(long, value_name = "DATABASE")]
    pub confirm: Option<String>,
    /// Write mode: commit a script that may write (without it, it is rolled back after its
    /// affected row counts are shown).
    #[arg(long)]
    pub commit: bool,
}

/// Runs `bsi sql`; returns the exit code (that of a failed statement's error).
pub async fn run(global: &Global, args: SqlArgs) -> Result<i32> {
    let format = match &args.format {
        Some(f) if f.eq_ignore_ascii_case("table") => None,
        Some(f) => Some(f.parse::<CopyFormat>().map_err(|_| {
            CoreError::config(format!(
                "unknown --format `{f}`: use table, csv, tsv, json or markdown"
            ))
        })?),
        None => None,
    };
    if args.recipes {
        return list_recipes(global).map(|()| 0);
    }
    let sql = match (&args.recipe, &args.sql, &args.file) {
        (Some(_), _, _) => String::new(),
        (None, Some(s), _) => s.clone(),
        (None, None, Some(p)) if p.as_os_str() != "-" => read_file(p)?,
        (None, None, _) => read_stdin()?,
    };
    let conns = context::resolve(global, None).await?.connections();
    let result = async {
        let target = args.place.target();
        if args.explain {
            return explain_cmd(global, &conns, &target, &sql, args.analyze).await;
        }
        let mut opts = RunOptions {
            row_cap: args.max_rows,
            confirm: args.confirm.clone(),
            commit: args.commit,
        };
        let run = if let Some(id) = &args.recipe {
            let values = params(&args.params)?;
            cancellable(
                &conns,
                recipes::run_recipe(&conns, &target, id, &values, &opts),
            )
            .await?
        } else {
            if opts.confirm.is_none() && may_write(&sql) && conns.write_mode() {
                opts.confirm = Some(confirmation(global, &conns, &target, &args)?);
            }
            cancellable(&conns, console::run(&conns, &target, &sql, &opts)).await?
        };
        print_run(global, &run, format)
    }
    .await;
    conns.close().await;
    result
}

/// Runs `fut` as the console's operation; SIGINT or SIGTERM cancels its query on the server,
/// and the run ends as the signal would (130, 143).
async fn cancellable<T>(
    conns: &Connections,
    fut: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    let op = conns.run_op(OP, fut);
    tokio::pin!(op);
    tokio::select! {
        r = &mut op => r,
        code = interrupt() => {
            let signalled = conns.cancel(OP).await.unwrap_or(0);
            // The run ends once the server has stopped its statement (or at once when none
            // was running).
            let _ = tokio::time::timeout(std::time::Duration::from_secs(5), op).await;
            errln!(
                "Cancelled: {signalled} running statement(s) stopped on the server; the \
                 transaction was rolled back."
            );
            conns.close().await;
            std::process::exit(code);
        }
    }
}

fn may_write(sql: &str) -> bool {
    split(sql).iter().any(|s| !guard::only_reads(&s.sql))
}

/// The database's name, asked on a terminal; elsewhere an error whose hint is the command
/// again with `--confirm`.
fn confirmation(
    global: &Global,
    conns: &Connections,
    target: &Target,
    args: &SqlArgs,
) -> Result<String> {
    let database = scopes(conns, target)?
        .into_iter()
        .next()
        .map(|s| s.database)
        .unwrap_or_default();
    let from_stdin = args.sql.is_none() && args.file.as_ref().is_none_or(|p| p.as_os_str() == "-");
    if from_stdin || !std::io::stdin().is_terminal() {
        return Err(CoreError::config(format!(
            "the SQL may write to `{database}`: confirm with the database's name: `{}`",
            global.rerun_line(&["--confirm"], &["--confirm", &shell_word(&database)])
        )));
    }
    out!(
        "The SQL may write to `{database}`. Type the database's name to run it ({}): ",
        if args.commit {
            "it is committed"
        } else {
            "it is rolled back afterwards; --commit keeps it"
        }
    );
    std::io::stdout().flush().ok();
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer).ok();
    if answer.trim() != database {
        return Err(CoreError::Cancelled);
    }
    Ok(database)
}

fn read_file(p: &std::path::Path) -> Result<String> {
    let meta = std::fs::metadata(p).map_err(|e| CoreError::io("cannot read", p, e))?;
    if !meta.is_file() {
        return Err(CoreError::config(format!(
            "{} is not a regular file: give the SQL file's path, or `-` for standard input",
            p.display()
        )));
    }
    std::fs::read_to_string(p).map_err(|e| CoreError::io("cannot read", p, e))
}

fn read_stdin() -> Result<String> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return Err(CoreError::config(
            "no SQL given: `bsi sql \"SELECT ...\"`, `bsi sql --file query.sql`, or the SQL on \
             standard input (`bsi sql < query.sql`)",
        ));
    }
    let mut s = String::new();
    stdin
        .lock()
        .take(16 * 1024 * 1024)
        .read_to_string(&mut s)
        .map_err(|e| CoreError::io("cannot read", "standard input", e))?;
    Ok(s)
}

fn params(raw: &[String]) -> Result<BTreeMap<String, String>> {
    raw.iter()
        .map(|p| {
            p.split_once('=')
                .map(|(k, v)| (k.trim().to_string(), v.to_string()))
                .ok_or_else(|| CoreError::config(format!("--param `{p}`: write it as NAME=VALUE")))
        })
        .collect()
}

fn list_recipes(global: &Global) -> Result<()> {
    let list = recipes::list();
    if global.json {
        return output::json(&list);
    }
    for r in &list {
        outln!("{}  {}", r.id, r.title);
        outln!("    {}", r.description);
        let place = if r.any_database {
            format!("any plugin database (default: the {} area)", r.area)
        } else {
            format!("the {} area", r.area)
        };
        outln!("    runs in: {place}; works on: {}", r.works_on);
        outln!(
            "    checked on the Backstage fixtures: {}",
            r.checked_on.join(", ")
        );
        for p in &r.params {
            outln!(
                "    --param {}=...  {} (default: {})",
                p.name,
                p.description,
                if p.default.is_empty() {
                    "empty"
                } else {
                    p.default
                }
            );
        }
        outln!();
    }
    outln!(
        "Run one: {}",
        global.same_run_line(&["sql".into(), "--recipe".into(), list[0].id.into()])
    );
    Ok(())
}

async fn explain_cmd(
    global: &Global,
    conns: &Connections,
    target: &Target,
    sql: &str,
    analyze: bool,
) -> Result<i32> {
    let plan = cancellable(conns, explain::explain(conns, target, sql, analyze)).await?;
    if global.json {
        output::json(&plan)?;
    } else {
        for line in explain::render(&plan) {
            outln!("{line}");
        }
    }
    Ok(0)
}

fn print_run(global: &Global, run: &ConsoleRun, format: Option<CopyFormat>) -> Result<i32> {
    let code = run.failed.as_ref().map_or(0, |(_, e)| e.code.exit_code());
    if global.json {
        output::json(run)?;
        if let Some((i, e)) = &run.failed {
            errln!(
                "error[{}]: statement {}: {}",
                e.code.as_str(),
                i + 1,
                e.message
            );
        }
        return Ok(code);
    }
    let several = run.statements.len() + usize::from(run.failed.is_some()) > 1;
    for (i, s) in run.statements.iter().enumerate() {
        if let Some(f) = format {
            if i > 0 {
                outln!();
            }
            // Data for another tool, byte for byte (CSV's CRLF too); on a terminal, made safe.
            output::write_out(&copy::render(s, f), std::io::stdout().is_terminal());
            continue;
        }
        if several || s.columns.is_empty() {
            outln!("-- line {}: {} ({:.1} ms)", s.line, s.command, s.elapsed_ms);
        }
        print_statement(s);
        if several {
            outln!();
        }
    }
    if let Some((i, e)) = &run.failed {
        errln!(
            "error[{}]: statement {} failed: {}",
            e.code.as_str(),
            i + 1,
            e.message
        );
    }
    // The transaction's fate goes to standard error when the rows are data for another tool.
    let note = match run.outcome {
        Outcome::ReadOnly => None,
        Outcome::RolledBack if run.failed.is_some() => {
            Some("Rolled back: a statement failed, nothing was kept.".to_string())
        }
        Outcome::RolledBack => Some(format!(
            "Rolled back: {} row(s) affected, nothing kept. To keep them: {}",
            run.statements.iter().map(|s| s.rows_affected).sum::<u64>(),
            global.rerun_line(&["--commit"], &["--commit"])
        )),
        Outcome::Committed => Some(format!(
            "Committed: {} row(s) affected in {}.",
            run.statements.iter().map(|s| s.rows_affected).sum::<u64>(),
            run.database
        )),
    };
    if let Some(n) = note {
        if format.is_some() {
            errln!("{n}");
        } else {
            outln!("{n}");
        }
    }
    Ok(code)
}

fn print_statement(s: &StatementResult) {
    if s.columns.is_empty() {
        return;
    }
    let headers: Vec<&str> = s.columns.iter().map(|c| c.name.as_str()).collect();
    output::table(
        &headers,
        s.rows
            .iter()
            .map(|r| r.iter().map(cell).collect())
            .collect(),
    );
    if s.truncated {
        outln!(
            "({} of {} rows shown; --max-rows N shows more)",
            s.rows.len(),
            s.row_count
        );
    } else {
        outln!(
            "({} row{})",
            s.row_count,
            if s.row_count == 1 { "" } else { "s" }
        );
    }
    let masked: Vec<&str> = s
        .columns
        .iter()
        .filter(|c| c.masked)
        .map(|c| c.name.as_str())
        .collect();
    if !masked.is_empty() {
        outln!("note: {} masked", masked.join(", "));
    }
}

/// A cell on one line: NULL as `NULL`, JSON compact, long text cut.
fn cell(v: &Value) -> String {
    let s = match v {
        Value::Null => return "NULL".to_string(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let flat: String = s.chars().map(|c| if c == '\n' { ' ' } else { c }).collect();
    if flat.chars().count() > 120 {
        format!("{}…", flat.chars().take(119).collect::<String>())
    } else {
        flat
    }
}

//! The SQL console: statements typed by the user, run on one database of the profile.
//!
//! A run is one transaction of the console's own. Without write mode it is `READ ONLY` (the
//! server refuses any write, SQLSTATE 25006, reported as `read_only`) and rolled back, so even
//! a `set_config` leaves nothing behind. Statements that end or reshape that transaction
//! (`COMMIT`, `BEGIN`, `SET TRANSACTION`...) are refused ([`guard`]). A script with a statement
//! that may write needs write mode and the database's name typed as confirmation; it runs in a
//! read-write transaction that is committed only when asked ([`RunOptions::commit`]), after
//! the affected row counts can be seen (a run without `commit` rolls back).
//!
//! Each statement is first parsed by the server on its own (the extended protocol takes one
//! statement at a time, so the split is the server's, not a guess), then run with the simple
//! protocol, whose results come as text ([`cells`]). The profile's statement timeout applies;
//! callers run the whole script as an operation ([`Connections::run_op`]) so that Cancel
//! stops it on the server. Secret columns are masked and values redacted before they leave.

pub mod cells;
pub mod copy;
pub mod explain;
pub mod guard;
pub mod history;
pub mod recipes;
pub mod taint;

use std::collections::HashMap;
use std::time::Instant;

use futures_util::TryStreamExt;
use serde::Serialize;
use serde_json::Value;
use sqlx::postgres::PgRow;
use sqlx::{Either, Executor, Row as _, SqlSafeStr};

use crate::connect::{Connections, map_query_error};
use crate::error::{CoreError, ErrorPayload, Result};
use crate::sql::{quote_ident, split};
use crate::tables::{Target, scopes};

pub use cells::ConsoleColumn;

/// Rows kept per statement unless asked otherwise.
pub const DEFAULT_ROW_CAP: usize = 1000;

/// How a script is run.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RunOptions {
    /// Rows kept per statement (the rest are counted, not kept); default [`DEFAULT_ROW_CAP`].
    #[serde(default)]
    pub row_cap: Option<usize>,
    /// The database's name typed to confirm a script that may write (write mode only).
    #[serde(default)]
    pub confirm: Option<String>,
    /// Commit a script that may write; without it, it is rolled back after running.
    #[serde(default)]
    pub commit: bool,
}

/// One statement's outcome.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct StatementResult {
    /// The statement as run.
    pub sql: String,
    /// Its line in the script (1-based).
    pub line: usize,
    /// The command tag as psql shows it: `SELECT 3`, `UPDATE 2`, `CREATE TABLE`...
    pub command: String,
    pub columns: Vec<ConsoleColumn>,
    /// Up to the row cap, each a list of values in column order.
    #[cfg_attr(feature = "ts", ts(type = "Array<Array<unknown>>"))]
    pub rows: Vec<Vec<Value>>,
    /// Rows the statement returned (more than `rows` when the cap cut them).
    pub row_count: u64,
    /// Rows it inserted, updated or deleted.
    pub rows_affected: u64,
    pub truncated: bool,
    pub elapsed_ms: f64,
}

/// What became of the run's transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Read-only, rolled back (nothing to keep).
    ReadOnly,
    /// It could write and was rolled back (not committed, or a statement failed).
    RolledBack,
    Committed,
}

/// A whole run: the results in order, and the first failure, which stops the run.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ConsoleRun {
    pub database: String,
    pub schema: String,
    /// A statement may write (the run needed write mode and the confirmation).
    pub writes: bool,
    pub outcome: Outcome,
    pub statements: Vec<StatementResult>,
    /// The failing statement's index in the script and its error; the statements before it
    /// keep their results (rolled back).
    pub failed: Option<(usize, ErrorPayload)>,
    pub elapsed_ms: f64,
}

/// Runs the statements of `sql` on the database `target` names (an area or a database).
pub async fn run(
    conns: &Connections,
    target: &Target,
    sql: &str,
    opts: &RunOptions,
) -> Result<ConsoleRun> {
    run_script(conns, target, sql, opts).await.map(|(r, _)| r)
}

/// [`run`], and the run recorded in the profile's console history ([`history`]; only the SQL,
/// where and when, never results). A history that cannot be written is logged, never fails the
/// run.
pub async fn run_recorded(
    conns: &Connections,
    target: &Target,
    sql: &str,
    opts: &RunOptions,
) -> Result<ConsoleRun> {
    let started = Instant::now();
    let res = run(conns, target, sql, opts).await;
    let entry = history::HistoryEntry {
        sql: sql.to_string(),
        target: history::target_label(target),
        at: history::now(),
        statements: split(sql).len(),
        failed: match &res {
            Ok(r) => r.failed.as_ref().map(|(_, e)| e.code.as_str().to_string()),
            Err(e) => Some(e.code().as_str().to_string()),
        },
        elapsed_ms: started.elapsed().as_secs_f64() * 1000.0,
    };
    if let Err(e) =
        history::History::for_profile(&conns.profile().name).and_then(|h| h.record(entry))
    {
        tracing::warn!(error = %e, "the console history was not written");
    }
    res
}

/// [`run`], with the failing statement's error as it is (for callers that stop on it or
/// exit with its code).
#[tracing::instrument(level = "debug", skip_all, fields(statements))]
pub async fn run_script(
    conns: &Connections,
    target: &Target,
    sql: &str,
    opts: &RunOptions,
) -> Result<(ConsoleRun, Option<CoreError>)> {
    let scope = match target {
        Target::Anywhere => {
            return Err(CoreError::config(
                "choose the database: an area (--area catalog) or a database (--database NAME)",
            ));
        }
        t => scopes(conns, t)?
            .into_iter()
            .next()
            .ok_or_else(|| CoreError::config("no database chosen"))?,
    };
    let statements = split(sql);
    tracing::Span::current().record("statements", statements.len());
    if statements.is_empty() {
        return Err(CoreError::config("no SQL statement given"));
    }
    for s in &statements {
        guard::refuse_transaction_control(&s.sql)?;
    }
    let writes = statements.iter().any(|s| !guard::only_reads(&s.sql));
    if writes {
        conns.require_write("a console statement that is not a query")?;
        Connections::confirm_typed(
            opts.confirm.as_deref().unwrap_or_default(),
            &scope.database,
            "run statements that may write",
            "the database's name",
        )?;
    }
    let ep = &scope.endpoint;
    let pool = conns.pool(ep).await?;
    let mut conn = pool.acquire().await.map_err(|e| map_query_error(e, ep))?;
    let started = Instant::now();
    let begin = if writes {
        "BEGIN READ WRITE"
    } else {
        "BEGIN READ ONLY"
    };
    conn.execute(begin)
        .await
        .map_err(|e| map_query_error(e, ep))?;
    if scope.schema != "public" {
        let set = format!(
            "SET LOCAL search_path TO {}, public",
            quote_ident(&scope.schema)
        );
        conn.execute(sqlx::AssertSqlSafe(set).into_sql_str())
            .await
            .map_err(|e| map_query_error(e, ep))?;
    }
    let cap = opts.row_cap.unwrap_or(DEFAULT_ROW_CAP);
    let mut tables: HashMap<u32, Option<Origin>> = HashMap::new();
    let mut results = Vec::new();
    let mut failed = None;
    let mut failure = None;
    for (i, s) in statements.iter().enumerate() {
        match run_one(&mut conn, &s.sql, s.line, cap, &mut tables).await {
            Ok(r) => results.push(r),
            Err(e) => {
                let e = map_query_error(e, ep);
                failed = Some((i, e.to_payload()));
                failure = Some(e);
                break;
            }
        }
    }
    let commit = writes && opts.commit && failed.is_none();
    let end = if commit { "COMMIT" } else { "ROLLBACK" };
    conn.execute(end)
        .await
        .map_err(|e| map_query_error(e, ep))?;
    let run = ConsoleRun {
        database: scope.database.clone(),
        schema: scope.schema.clone(),
        writes,
        outcome: match (writes, commit) {
            (false, _) => Outcome::ReadOnly,
            (true, false) => Outcome::RolledBack,
            (true, true) => Outcome::Committed,
        },
        statements: results,
        failed,
        elapsed_ms: started.elapsed().as_secs_f64() * 1000.0,
    };
    Ok((run, failure))
}

/// A table that result columns come from: its name and its columns' names by number.
struct Origin {
    table: String,
    columns: HashMap<i16, String>,
}

/// Parses `sql` on the server as one statement, then runs it and keeps up to `cap` rows.
async fn run_one(
    conn: &mut sqlx::PgConnection,
    sql: &str,
    line: usize,
    cap: usize,
    tables: &mut HashMap<u32, Option<Origin>>,
) -> std::result::Result<StatementResult, sqlx::Error> {
    let started = Instant::now();
    // One statement, as the server reads it: the extended protocol refuses several.
    (&mut *conn)
        .prepare(sqlx::AssertSqlSafe(sql.to_string()).into_sql_str())
        .await?;
    let mut rows: Vec<PgRow> = Vec::new();
    let mut row_count = 0u64;
    let mut rows_affected = 0u64;
    {
        let mut stream = sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string())).fetch_many(&mut *conn);
        while let Some(item) = stream.try_next().await? {
            match item {
                Either::Left(done) => rows_affected += done.rows_affected(),
                Either::Right(row) => {
                    row_count += 1;
                    if rows.len() < cap {
                        rows.push(row);
                    }
                }
            }
        }
    }
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    let columns = match rows.first() {
        Some(r) => {
            let oids: Vec<i64> = r
                .columns()
                .iter()
                .filter_map(|c| c.relation_id().map(|o| i64::from(o.0)))
                .filter(|o| !tables.contains_key(&(*o as u32)))
                .collect();
            if !oids.is_empty() {
                let found: Vec<(i64, String, i32, String)> = sqlx::query_as(
                    "SELECT c.oid::int8, c.relname::text, a.attnum::int4, a.attname::text \
                     FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid \
                     WHERE c.oid::int8 = ANY($1) AND a.attnum > 0",
                )
                .bind(&oids)
                .fetch_all(&mut *conn)
                .await?;
                for o in oids {
                    let mut origin: Option<Origin> = None;
                    for (_, table, attnum, column) in found.iter().filter(|f| f.0 == o) {
                        origin
                            .get_or_insert_with(|| Origin {
                                table: table.clone(),
                                columns: HashMap::new(),
                            })
                            .columns
                            .insert(*attnum as i16, column.clone());
                    }
                    tables.insert(o as u32, origin);
                }
            }
            cells::columns(r, &|oid, attnum| {
                let origin = tables.get(&oid)?.as_ref()?;
                Some((origin.table.clone(), origin.columns.get(&attnum?).cloned()))
            })
        }
        None => Vec::new(),
    };
    let mut columns = columns;
    if columns.iter().any(|c| c.table.is_none() && !c.masked) {
        let carries = secret_outputs(conn, sql, columns.len()).await?;
        for (c, secret) in columns.iter_mut().zip(carries) {
            if c.table.is_none() && secret {
                c.masked = true;
            }
        }
    }
    let mut out_rows = Vec::with_capacity(rows.len());
    for r in &rows {
        out_rows.push(
            cells::values(r, &columns).map_err(|e| sqlx::Error::Decode(e.to_string().into()))?,
        );
    }
    let truncated = row_count > rows.len() as u64;
    Ok(StatementResult {
        command: command_tag(sql, row_count, rows_affected, !columns.is_empty()),
        sql: sql.to_string(),
        line,
        columns,
        rows: out_rows,
        row_count,
        rows_affected,
        truncated,
        elapsed_ms,
    })
}

/// For each result column of the statement, whether its expression may carry a secret
/// ([`taint`]), read off its verbose plan, asked in a savepoint so that a statement the
/// planner refuses leaves the run's transaction usable. Fails closed: every column of a
/// statement that cannot be explained counts as carrying one.
async fn secret_outputs(
    conn: &mut sqlx::PgConnection,
    sql: &str,
    n: usize,
) -> std::result::Result<Vec<bool>, sqlx::Error> {
    match taint::explainable(sql) {
        Some(true) => {}
        // Settings and plans hold no table data.
        Some(false) => return Ok(vec![false; n]),
        None => return Ok(vec![true; n]),
    }
    conn.execute("SAVEPOINT bsi_console_plan").await?;
    let plan = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "EXPLAIN (VERBOSE, FORMAT JSON) {sql}"
    )))
    .fetch_one(&mut *conn)
    .await
    .and_then(|row| {
        let raw = row.try_get_raw(0)?;
        Ok(raw.as_str().map(str::to_string).ok())
    });
    conn.execute("ROLLBACK TO SAVEPOINT bsi_console_plan")
        .await?;
    conn.execute("RELEASE SAVEPOINT bsi_console_plan").await?;
    Ok(match plan {
        Ok(Some(text)) => serde_json::from_str(&text)
            .map_or_else(|_| vec![true; n], |v| taint::masked_outputs(&v, n)),
        _ => vec![true; n],
    })
}

/// The command tag as psql prints it, from the statement's words and its counts (sqlx does not
/// pass the server's tag on).
pub fn command_tag(sql: &str, rows: u64, affected: u64, returned_rows: bool) -> String {
    let words = guard::leading_words(sql, 2);
    let first = words.first().map(String::as_str).unwrap_or("");
    match first {
        "SELECT" | "VALUES" | "TABLE" | "WITH" if returned_rows || affected == 0 => {
            format!("SELECT {rows}")
        }
        "INSERT" => format!("INSERT 0 {affected}"),
        "UPDATE" | "DELETE" | "MERGE" => format!("{first} {affected}"),
        "SHOW" | "EXPLAIN" => format!("{first} {rows}"),
        _ => {
            let tag = words.join(" ");
            if affected > 0 {
                format!("{tag} {affected}")
            } else {
                tag
            }
        }
    }
}

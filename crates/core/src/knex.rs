//! The Knex migration state of real Backstage databases: every `knex_migrations` table (the
//! plugin's own and the backend services' prefixed ones such as
//! `backstage_backend_tasks__knex_migrations`), what ran, the newest migration, and the lock.
//! A lock left at `is_locked = 1` is the classic "Migration table is already locked" outage
//! after a crash during start-up; it is reported with what to check first, and released only
//! in write mode.

use serde::Serialize;
use sqlx::Row;

use crate::connect::{Connections, Endpoint, map_query_error};
use crate::error::{CoreError, Result};
use crate::sql::quote_ident;

/// One Knex migrations table and its lock.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct KnexTable {
    pub database: String,
    pub schema: String,
    pub table: String,
    pub lock_table: Option<String>,
    pub applied: i64,
    pub newest: Option<String>,
    pub newest_at: Option<String>,
    /// `is_locked = 1` in the lock table.
    pub locked: bool,
    /// Other sessions connected to this database right now (a running Backstage shows here).
    pub other_sessions: i64,
    /// What to check first when the lock is held.
    pub hint: Option<String>,
    /// Why the table (or its lock table) exists but could not be read, e.g. permission denied
    /// for this user; `applied`, `newest` and `locked` are then unknown (0, empty, false).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub error: Option<String>,
}

/// The Knex state of one database as `bsi databases` shows it: the same tables and locks
/// [`status`] reports.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct KnexSummary {
    /// Knex migrations tables (the plugin's own and the backend services' prefixed ones).
    pub tables: usize,
    /// The migrations tables whose lock is held, as `knex status` names them.
    pub locked: Vec<String>,
    /// Tables that could not be read.
    pub unreadable: usize,
}

impl KnexSummary {
    /// `3 tables, lock HELD (knex_migrations)`, `2 tables`, or `none`.
    pub fn text(&self) -> String {
        if self.tables == 0 {
            return "none".into();
        }
        let mut s = format!(
            "{} table{}",
            self.tables,
            if self.tables == 1 { "" } else { "s" }
        );
        if !self.locked.is_empty() {
            s.push_str(&format!(", lock HELD ({})", self.locked.join(", ")));
        }
        if self.unreadable > 0 {
            s.push_str(&format!(", {} unreadable", self.unreadable));
        }
        s
    }
}

/// How `knex status` names a migrations table: `table`, or `schema.table` outside `public`.
pub fn display_name(t: &KnexTable) -> String {
    if t.schema == "public" {
        t.table.clone()
    } else {
        format!("{}.{}", t.schema, t.table)
    }
}

/// The [`KnexSummary`] of one database (and schema, in schema mode) out of [`status`]'s tables.
pub fn summary_of(tables: &[KnexTable], database: &str, schema: Option<&str>) -> KnexSummary {
    let mine: Vec<&KnexTable> = tables
        .iter()
        .filter(|t| t.database == database && schema.is_none_or(|s| t.schema == s))
        .collect();
    KnexSummary {
        tables: mine.len(),
        locked: mine
            .iter()
            .filter(|t| t.locked)
            .map(|t| display_name(t))
            .collect(),
        unreadable: mine.iter().filter(|t| t.error.is_some()).count(),
    }
}

/// Reads every Knex migrations table of one database.
pub async fn tables_in(conns: &Connections, ep: &Endpoint) -> Result<Vec<KnexTable>> {
    let pool = conns.pool(ep).await?;
    let found = sqlx::query(
        "SELECT n.nspname::text AS schema, c.relname::text AS tbl, \
                to_regclass(format('%I.%I', n.nspname, c.relname || '_lock'))::text IS NOT NULL AS has_lock \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relkind IN ('r','p') AND (c.relname = 'knex_migrations' OR c.relname LIKE '%knex\\_migrations') \
           AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
         ORDER BY 1, 2",
    )
    .fetch_all(&pool)
    .await
    .map_err(|e| map_query_error(e, ep))?;
    let other_sessions: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() \
           AND coalesce(application_name, '') <> $1",
    )
    .bind(crate::PRODUCT_NAME)
    .fetch_one(&pool)
    .await
    .map_err(|e| map_query_error(e, ep))?;
    let mut out = Vec::new();
    for row in found {
        let schema: String = row.get("schema");
        let table: String = row.get("tbl");
        let has_lock: bool = row.get("has_lock");
        let q = format!(
            "SELECT count(*) AS n, \
                    (SELECT name FROM {s}.{t} ORDER BY id DESC LIMIT 1) AS newest, \
                    (SELECT to_char(migration_time AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM {s}.{t} ORDER BY id DESC LIMIT 1) AS newest_at \
             FROM {s}.{t}",
            s = quote_ident(&schema),
            t = quote_ident(&table)
        );
        let lock_table = has_lock.then(|| format!("{table}_lock"));
        // A table that is there but cannot be read is reported as such, not skipped.
        let unreadable = |e: CoreError| {
            if matches!(&e, CoreError::Database { code: Some(c), .. } if c == "42501") {
                Ok(e.to_string())
            } else {
                Err(e)
            }
        };
        let stats = match sqlx::query(sqlx::AssertSqlSafe(q))
            .fetch_one(&pool)
            .await
            .map_err(|e| map_query_error(e, ep))
        {
            Ok(stats) => stats,
            Err(e) => {
                let reason = unreadable(e)?;
                out.push(KnexTable {
                    database: ep.database.clone(),
                    schema,
                    table,
                    lock_table,
                    applied: 0,
                    newest: None,
                    newest_at: None,
                    locked: false,
                    other_sessions,
                    hint: None,
                    error: Some(reason),
                });
                continue;
            }
        };
        let mut error = None;
        let locked = match &lock_table {
            Some(lt) => {
                let q = format!(
                    "SELECT coalesce(bool_or(is_locked = 1), false) FROM {}.{}",
                    quote_ident(&schema),
                    quote_ident(lt)
                );
                match sqlx::query_scalar::<_, bool>(sqlx::AssertSqlSafe(q))
                    .fetch_one(&pool)
                    .await
                    .map_err(|e| map_query_error(e, ep))
                {
                    Ok(l) => l,
                    Err(e) => {
                        error = Some(format!("{lt}: {}", unreadable(e)?));
                        false
                    }
                }
            }
            None => false,
        };
        let hint = locked.then(|| {
            format!(
                "the lock is held: a Backstage backend was most likely stopped during its start-up \
                 migrations and now fails with \"Migration table is already locked\". First check that \
                 no Backstage instance is migrating right now ({other_sessions} other session(s) are \
                 connected to {db}; see pg_stat_activity), then release it with \
                 `bsi knex unlock --write {db} {schema}.{lt}` and restart Backstage",
                db = ep.database,
                lt = lock_table.as_deref().unwrap_or_default()
            )
        });
        out.push(KnexTable {
            database: ep.database.clone(),
            schema,
            table,
            lock_table,
            applied: stats.get("n"),
            newest: stats.get("newest"),
            newest_at: stats.get("newest_at"),
            locked,
            other_sessions,
            hint,
            error,
        });
    }
    Ok(out)
}

/// The lock table a user names, as `(schema, lock table)`: `TABLE` or `SCHEMA.TABLE` (schema
/// `public` when absent), where TABLE is the lock table itself (`knex_migrations_lock`) or the
/// migrations table `knex status` lists (`knex_migrations`, `backstage_backend_tasks__knex_migrations`),
/// whose lock table is its name with `_lock`.
pub fn lock_table_of(given: &str) -> (String, String) {
    let given = given.trim();
    let (schema, table) = given.split_once('.').unwrap_or(("public", given));
    let table = if table.ends_with("knex_migrations") {
        format!("{table}_lock")
    } else {
        table.to_string()
    };
    (schema.to_string(), table)
}

/// The Knex tables of every database of the profile (as discovery finds them). A database
/// that cannot be read is skipped with a warning in the log, not fatal; but when no table
/// could be read and some database could not, that is an error naming them, not an empty
/// list (which would say that no database here is managed by Backstage).
pub async fn status(conns: &std::sync::Arc<Connections>) -> Result<Vec<KnexTable>> {
    let d = crate::discovery::discover(conns).await?;
    let (tables, mut errors) = status_of(conns, &d).await;
    if !tables.is_empty() {
        return Ok(tables);
    }
    errors.extend(d.databases.iter().filter_map(|db| {
        db.error.as_ref().map(|e| crate::ErrorPayload {
            code: e.code,
            message: format!("{}: {}", db.database, e.message),
        })
    }));
    if errors.is_empty() {
        return Ok(tables);
    }
    Err(CoreError::Database {
        code: None,
        message: format!(
            "no Knex table could be read, and these databases could not be: {}",
            errors
                .iter()
                .map(|e| e.message.as_str())
                .collect::<Vec<_>>()
                .join("; ")
        ),
    })
}

/// Where the Knex tables of a discovered database are read: the plugin's own endpoint when
/// the profile overrides it, else the database on the profile's server.
pub fn endpoint_of(conns: &Connections, db: &crate::discovery::DatabaseInfo) -> Endpoint {
    match &db.plugin {
        Some(p) if conns.profile().plugins.contains_key(p) => crate::area::locate(conns, p)
            .map(|at| at.endpoint)
            .unwrap_or_else(|_| conns.endpoint(&db.database)),
        _ => conns.endpoint(&db.database),
    }
}

/// [`status`] of the databases a discovery found, with the errors of the databases whose Knex
/// tables could not be read.
pub async fn status_of(
    conns: &Connections,
    d: &crate::discovery::Discovery,
) -> (Vec<KnexTable>, Vec<crate::ErrorPayload>) {
    let mut errors = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for db in d.databases.iter().filter(|db| db.error.is_none()) {
        if !seen.insert(db.database.clone()) {
            continue;
        }
        let ep = endpoint_of(conns, db);
        match tables_in(conns, &ep).await {
            Ok(t) => out.extend(t),
            Err(e) => {
                tracing::warn!(database = %db.database, error = %e, "cannot read the Knex tables");
                let mut p = e.to_payload();
                p.message = format!("{}: {}", db.database, p.message);
                errors.push(p);
            }
        }
    }
    (out, errors)
}

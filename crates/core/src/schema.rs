//! Schema awareness: what tables and columns a database really has, read from the live
//! catalog before any view runs. Backstage's schema moves between versions (the catalog alone
//! has had 47 migrations); a view asks [`DbSchema::check`] for what it needs and, when
//! something is missing, reports itself unavailable with the reason and the Backstage version
//! that points to, instead of failing.

use std::collections::BTreeMap;

use serde::Serialize;
use sqlx::Row;

use crate::connect::{Endpoint, PgPool, map_query_error};
use crate::error::{CoreError, Result};
use crate::sql::quote_ident;

/// One column.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ColumnInfo {
    pub name: String,
    /// `format_type` of the column, for example `character varying(255)` or `jsonb`.
    pub data_type: String,
    pub nullable: bool,
}

/// One table or view.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TableInfo {
    pub name: String,
    /// `table`, `view`, `partitioned table`...
    pub kind: String,
    pub columns: Vec<ColumnInfo>,
    /// The planner's row estimate (`reltuples`); -1 when never analysed.
    pub estimated_rows: i64,
    pub size_bytes: i64,
}

impl TableInfo {
    pub fn has_column(&self, name: &str) -> bool {
        self.columns.iter().any(|c| c.name == name)
    }
}

/// The tables of one schema of one database.
#[derive(Debug, Clone, Serialize)]
pub struct DbSchema {
    pub database: String,
    pub schema: String,
    pub tables: BTreeMap<String, TableInfo>,
}

/// Why a view cannot run here.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Unavailable {
    pub view: String,
    /// The tables and `table.column`s that are missing.
    pub missing: Vec<String>,
    pub reason: String,
}

/// What a view needs: a table and the columns it reads.
#[derive(Debug, Clone, Copy)]
pub struct Need {
    pub table: &'static str,
    pub columns: &'static [&'static str],
    /// What the absence usually means, e.g. "added by catalog migration
    /// 20221201085245_add_last_updated_at_in_final_entities".
    pub since: &'static str,
}

impl DbSchema {
    /// Reads the live catalog of `schema` (`public` in database mode).
    pub async fn read(pool: &PgPool, ep: &Endpoint, schema: &str) -> Result<DbSchema> {
        let rows = sqlx::query(
            "SELECT c.relname::text AS tbl, \
                    CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'partitioned table' WHEN 'v' THEN 'view' \
                                   WHEN 'm' THEN 'materialized view' ELSE 'other' END AS kind, \
                    c.reltuples::bigint AS est, \
                    CASE WHEN c.relkind IN ('r','p','m') THEN pg_total_relation_size(c.oid) ELSE 0 END AS size, \
                    a.attname::text AS col, format_type(a.atttypid, a.atttypmod) AS typ, NOT a.attnotnull AS nullable \
             FROM pg_class c \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped \
             WHERE n.nspname = $1 AND c.relkind IN ('r','p','v','m') \
             ORDER BY c.relname, a.attnum",
        )
        .bind(schema)
        .fetch_all(pool)
        .await
        .map_err(|e| map_query_error(e, ep))?;
        let mut tables: BTreeMap<String, TableInfo> = BTreeMap::new();
        for r in rows {
            let name: String = r.get("tbl");
            let t = tables.entry(name.clone()).or_insert_with(|| TableInfo {
                name,
                kind: r.get("kind"),
                columns: Vec::new(),
                estimated_rows: r.get("est"),
                size_bytes: r.get("size"),
            });
            if let Some(col) = r.get::<Option<String>, _>("col") {
                t.columns.push(ColumnInfo {
                    name: col,
                    data_type: r.get::<Option<String>, _>("typ").unwrap_or_default(),
                    nullable: r.get::<Option<bool>, _>("nullable").unwrap_or(true),
                });
            }
        }
        Ok(DbSchema {
            database: ep.database.clone(),
            schema: schema.to_string(),
            tables,
        })
    }

    pub fn table(&self, name: &str) -> Option<&TableInfo> {
        self.tables.get(name)
    }

    pub fn has_table(&self, name: &str) -> bool {
        self.tables.contains_key(name)
    }

    pub fn has_column(&self, table: &str, column: &str) -> bool {
        self.tables.get(table).is_some_and(|t| t.has_column(column))
    }

    /// Checks that every need is met; otherwise says what is missing and what that means.
    pub fn check(&self, view: &str, needs: &[Need]) -> std::result::Result<(), Unavailable> {
        let mut missing = Vec::new();
        let mut why = Vec::new();
        for need in needs {
            match self.tables.get(need.table) {
                None => {
                    missing.push(need.table.to_string());
                    why.push(format!(
                        "table `{}` does not exist ({})",
                        need.table, need.since
                    ));
                }
                Some(t) => {
                    for c in need.columns.iter().filter(|c| !t.has_column(c)) {
                        missing.push(format!("{}.{c}", need.table));
                        why.push(format!(
                            "column `{}.{c}` does not exist ({})",
                            need.table, need.since
                        ));
                    }
                }
            }
        }
        if missing.is_empty() {
            Ok(())
        } else {
            Err(Unavailable {
                view: view.to_string(),
                reason: format!("{} in {}.{}", why.join("; "), self.database, self.schema),
                missing,
            })
        }
    }
}

impl From<Unavailable> for crate::CoreError {
    fn from(u: Unavailable) -> Self {
        crate::CoreError::SchemaDegraded {
            view: u.view,
            reason: u.reason,
        }
    }
}

/// `r`, or `None` with a note when the database lacks what a view needs
/// ([`CoreError::SchemaDegraded`]) or the user may not read one of its tables (SQLSTATE
/// 42501): for pages that show several views and degrade one by one.
pub fn or_note<T>(r: Result<T>, notes: &mut Vec<String>) -> Result<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(CoreError::SchemaDegraded { view, reason }) => {
            notes.push(format!("{view}: {reason}"));
            Ok(None)
        }
        // A table this user may not read leaves that part out, named, as a missing one does.
        Err(e @ CoreError::Database { .. }) if matches!(&e, CoreError::Database { code: Some(c), .. } if c == "42501") =>
        {
            notes.push(format!("unavailable: {e}"));
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// Those of `tables` that exist in `schema` but that the connected user may not SELECT from
/// (a view reads them as absent and says why).
pub async fn unreadable_tables(
    pool: &PgPool,
    ep: &Endpoint,
    schema: &str,
    tables: &[&str],
) -> Result<Vec<String>> {
    let names: Vec<String> = tables.iter().map(|t| t.to_string()).collect();
    sqlx::query_scalar::<_, String>(
        "SELECT t FROM unnest($1::text[]) AS t \
         WHERE to_regclass(quote_ident($2) || '.' || quote_ident(t)) IS NOT NULL \
           AND NOT has_table_privilege(quote_ident($2) || '.' || quote_ident(t), 'SELECT') \
         ORDER BY t",
    )
    .bind(&names)
    .bind(schema)
    .fetch_all(pool)
    .await
    .map_err(|e| map_query_error(e, ep))
}

/// Counts the rows of `table` in the pool's current schema (identifier quoted, no values).
pub async fn count_rows(pool: &PgPool, table: &str) -> Result<i64> {
    let sql = format!("SELECT count(*) FROM {}", quote_ident(table));
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .fetch_one(pool)
        .await
        .map_err(|e| CoreError::Database {
            code: None,
            message: e.to_string(),
        })
}

//! Listing the tables of a target: each table's kind, columns (with whether they are masked),
//! estimated rows, size and primary key ([`list_tables`]), scope by scope ([`ScopeTables`]).

use std::collections::HashMap;

use serde::Serialize;
use sqlx::Row as _;

use crate::connect::{Connections, Endpoint, PgPool};
use crate::error::{CoreError, ErrorCode, ErrorPayload, Result};
use crate::schema::TableInfo;
use crate::sql::{Param, Sql};

use super::scope::{Scope, Target, scopes};
use super::values::is_masked_column;

/// One column as listed.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ColumnSummary {
    pub name: String,
    pub data_type: String,
    pub nullable: bool,
    /// Values of this column are always masked.
    pub masked: bool,
}

/// One table as listed.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TableSummary {
    pub name: String,
    /// `table`, `view`, `partitioned table`, `materialized view`.
    pub kind: String,
    pub columns: Vec<ColumnSummary>,
    /// The planner's estimate (`reltuples`); -1 when never analysed.
    pub estimated_rows: i64,
    pub size_bytes: i64,
    /// The primary key's columns, in key order; empty when there is none.
    pub primary_key: Vec<String>,
}

/// The tables of one scope.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ScopeTables {
    #[serde(flatten)]
    pub scope: Scope,
    pub tables: Vec<TableSummary>,
    /// Why this scope could not be read (only when several scopes were asked for).
    pub error: Option<ErrorPayload>,
}

/// The SQL that reads the primary keys of every table of schema `$1`.
pub const PRIMARY_KEYS_SQL: &str = "SELECT c.relname::text AS tbl, array_agg(a.attname::text ORDER BY k.ord) AS cols \
     FROM pg_index i \
     JOIN pg_class c ON c.oid = i.indrelid \
     JOIN pg_namespace n ON n.oid = c.relnamespace \
     CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) \
     JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum \
     WHERE i.indisprimary AND n.nspname = $1 \
     GROUP BY c.relname";

async fn primary_keys(
    pool: &PgPool,
    ep: &Endpoint,
    schema: &str,
) -> Result<HashMap<String, Vec<String>>> {
    let sql = Sql {
        text: PRIMARY_KEYS_SQL.to_string(),
        params: vec![Param::Text(schema.to_string())],
        ..Sql::default()
    };
    let rows = sql.fetch_all(pool, ep).await?;
    Ok(rows
        .iter()
        .map(|r| (r.get::<String, _>("tbl"), r.get::<Vec<String>, _>("cols")))
        .collect())
}

/// Lists the tables of the target's scopes. With [`Target::Anywhere`], databases that do not
/// exist are left out and unreadable ones carry their error; otherwise errors are returned.
pub async fn list_tables(conns: &Connections, target: &Target) -> Result<Vec<ScopeTables>> {
    let many = matches!(target, Target::Anywhere);
    let mut out = Vec::new();
    for scope in scopes(conns, target)? {
        let res = async {
            let (pool, schema) = scope.open(conns).await?;
            let pks = primary_keys(&pool, &scope.endpoint, &scope.schema).await?;
            Ok::<_, CoreError>((schema, pks))
        }
        .await;
        match res {
            Ok((schema, pks)) => {
                if many && schema.tables.is_empty() {
                    continue;
                }
                let tables = schema
                    .tables
                    .values()
                    .map(|t| summarize(t, pks.get(&t.name).cloned().unwrap_or_default()))
                    .collect();
                out.push(ScopeTables {
                    scope,
                    tables,
                    error: None,
                });
            }
            Err(e) if many && e.code() == ErrorCode::NotFound => {}
            Err(e) if many => out.push(ScopeTables {
                scope,
                tables: Vec::new(),
                error: Some(e.to_payload()),
            }),
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// A table of one scope, in a list across scopes.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ScopedTable {
    /// The scope's [`Scope::label`]: the database, or `database.schema`.
    pub scope: String,
    pub area: Option<String>,
    pub name: String,
    pub kind: String,
    pub estimated_rows: i64,
    /// With its indexes and TOAST (`pg_total_relation_size`).
    pub size_bytes: i64,
}

/// Every table of every scope listed, largest first (then by scope and name).
pub fn largest_first(list: &[ScopeTables]) -> Vec<ScopedTable> {
    let mut out: Vec<ScopedTable> = list
        .iter()
        .flat_map(|s| {
            s.tables.iter().map(|t| ScopedTable {
                scope: s.scope.label(),
                area: s.scope.area.clone(),
                name: t.name.clone(),
                kind: t.kind.clone(),
                estimated_rows: t.estimated_rows,
                size_bytes: t.size_bytes,
            })
        })
        .collect();
    out.sort_by(|a, b| {
        b.size_bytes
            .cmp(&a.size_bytes)
            .then_with(|| a.scope.cmp(&b.scope))
            .then_with(|| a.name.cmp(&b.name))
    });
    out
}

fn summarize(t: &TableInfo, primary_key: Vec<String>) -> TableSummary {
    TableSummary {
        name: t.name.clone(),
        kind: t.kind.clone(),
        columns: t
            .columns
            .iter()
            .map(|c| ColumnSummary {
                name: c.name.clone(),
                data_type: c.data_type.clone(),
                nullable: c.nullable,
                masked: is_masked_column(&t.name, &c.name),
            })
            .collect(),
        estimated_rows: t.estimated_rows,
        size_bytes: t.size_bytes,
        primary_key,
    }
}

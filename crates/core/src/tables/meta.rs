//! One table as a query needs it: its columns with their types (schema and name, for casts),
//! nullability, masking and rendering, and its primary key ([`TableMeta`]), read from the live
//! catalog in one round trip ([`read_table`]) and found by name across a target's scopes
//! ([`table_meta`], with helpful `NotFound` errors for tables and columns).

use serde::Serialize;
use sqlx::Row as _;
use sqlx::postgres::PgRow;

use crate::connect::{Connections, PgPool};
use crate::error::{CoreError, ErrorCode, Result};
use crate::schema::{ColumnInfo, DbSchema, TableInfo};
use crate::sql::{Param, Sql, qualified};

use super::missing::{closest_names, not_found_table};
use super::scope::{Scope, Target, scopes};
use super::values::is_masked_column;

/// One column with what the planner needs.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ColumnMeta {
    pub name: String,
    /// `format_type`, e.g. `character varying(255)`.
    pub data_type: String,
    pub nullable: bool,
    pub masked: bool,
    /// How values are shown: `masked`, `bytea`, `json`, `text` (text that holds JSON becomes a
    /// tree), or `value`.
    pub render: &'static str,
    #[serde(skip)]
    pub type_schema: String,
    #[serde(skip)]
    pub type_name: String,
}

impl ColumnMeta {
    /// The column's type, quoted and qualified, for casts.
    pub(super) fn cast(&self) -> String {
        qualified(&self.type_schema, &self.type_name)
    }
    pub(super) fn is_json(&self) -> bool {
        self.type_schema == "pg_catalog" && matches!(self.type_name.as_str(), "json" | "jsonb")
    }
    pub(super) fn is_textual(&self) -> bool {
        self.type_schema == "pg_catalog"
            && matches!(
                self.type_name.as_str(),
                "text" | "varchar" | "bpchar" | "name" | "json" | "jsonb"
            )
    }
    pub(super) fn orderable(&self) -> bool {
        !(self.type_schema == "pg_catalog"
            && matches!(
                self.type_name.as_str(),
                "json" | "xml" | "point" | "line" | "lseg" | "box" | "path" | "polygon" | "circle"
            ))
    }
    fn shown_as(&self) -> &'static str {
        if self.masked {
            "masked"
        } else if self.type_schema == "pg_catalog" && self.type_name == "bytea" {
            "bytea"
        } else if self.is_json() {
            "json"
        } else if self.is_textual() {
            "text"
        } else {
            "value"
        }
    }
}

/// A table with its columns' types and primary key.
#[derive(Debug, Clone, Serialize)]
pub struct TableMeta {
    pub scope: Scope,
    pub name: String,
    pub kind: String,
    pub columns: Vec<ColumnMeta>,
    pub primary_key: Vec<String>,
    pub estimated_rows: i64,
    pub size_bytes: i64,
    #[serde(skip)]
    info: TableInfo,
}

impl TableMeta {
    pub fn column(&self, name: &str) -> Option<&ColumnMeta> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The column `col`, checked against the live catalog (the authority on what exists); a
    /// `NotFound` naming the closest columns otherwise.
    pub(super) fn checked_column(&self, col: &str) -> Result<&ColumnMeta> {
        if !self.info.has_column(col) {
            return Err(self.unknown_column(col));
        }
        self.column(col).ok_or_else(|| self.unknown_column(col))
    }

    fn unknown_column(&self, col: &str) -> CoreError {
        let names: Vec<&str> = self.columns.iter().map(|c| c.name.as_str()).collect();
        let closest = closest_names(col, names.iter().copied(), 3);
        CoreError::NotFound {
            what: "column",
            name: col.to_string(),
            hint: Some(format!(
                "table `{}` in {} has no such column{}; its columns are {}",
                self.name,
                self.scope.label(),
                if closest.is_empty() {
                    String::new()
                } else {
                    format!(" (closest: {})", closest.join(", "))
                },
                names.join(", ")
            )),
        }
    }
}

/// The SQL that reads one table (or view) of schema `$1` named `$2`: its kind, row estimate
/// and size, and its columns with their types' schema and name, nullability and primary-key
/// position. One round trip; no row when the table does not exist.
pub const TABLE_META_SQL: &str = "SELECT CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'partitioned table' WHEN 'v' THEN 'view' \
                   WHEN 'm' THEN 'materialized view' ELSE 'other' END AS kind, \
            c.reltuples::bigint AS est, \
            CASE WHEN c.relkind IN ('r','p','m') THEN pg_total_relation_size(c.oid) ELSE 0 END AS size, \
            a.attname::text AS col, tn.nspname::text AS tschema, t.typname::text AS tname, \
            format_type(a.atttypid, a.atttypmod) AS typ, NOT a.attnotnull AS nullable, \
            (SELECT array_position(i.indkey::int2[], a.attnum) FROM pg_index i \
              WHERE i.indrelid = c.oid AND i.indisprimary) AS pk_pos \
     FROM pg_class c \
     JOIN pg_namespace n ON n.oid = c.relnamespace \
     JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped \
     JOIN pg_type t ON t.oid = a.atttypid \
     JOIN pg_namespace tn ON tn.oid = t.typnamespace \
     WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r','p','v','m') \
     ORDER BY a.attnum";

/// Reads one table of a scope from the live catalog; `None` when it does not exist there.
pub async fn read_table(pool: &PgPool, scope: &Scope, table: &str) -> Result<Option<TableMeta>> {
    let sql = Sql {
        text: TABLE_META_SQL.to_string(),
        params: vec![
            Param::Text(scope.schema.clone()),
            Param::Text(table.to_string()),
        ],
        ..Sql::default()
    };
    let rows = sql.fetch_all(pool, &scope.endpoint).await?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let mut info = TableInfo {
        name: table.to_string(),
        kind: first.get("kind"),
        columns: Vec::new(),
        estimated_rows: first.get("est"),
        size_bytes: first.get("size"),
    };
    let mut pk: Vec<(i32, String)> = Vec::new();
    let mut columns = Vec::new();
    for r in &rows {
        let c = column_of(table, r);
        if let Some(pos) = r.get::<Option<i32>, _>("pk_pos") {
            pk.push((pos, c.name.clone()));
        }
        info.columns.push(ColumnInfo {
            name: c.name.clone(),
            data_type: c.data_type.clone(),
            nullable: c.nullable,
        });
        columns.push(c);
    }
    pk.sort();
    Ok(Some(TableMeta {
        scope: scope.clone(),
        name: info.name.clone(),
        kind: info.kind.clone(),
        estimated_rows: info.estimated_rows,
        size_bytes: info.size_bytes,
        primary_key: pk.into_iter().map(|(_, n)| n).collect(),
        columns,
        info,
    }))
}

/// One column of a [`TABLE_META_SQL`] row.
fn column_of(table: &str, r: &PgRow) -> ColumnMeta {
    let name: String = r.get("col");
    let mut c = ColumnMeta {
        masked: is_masked_column(table, &name),
        name,
        data_type: r.get("typ"),
        nullable: r.get("nullable"),
        render: "value",
        type_schema: r.get("tschema"),
        type_name: r.get("tname"),
    };
    c.render = c.shown_as();
    c
}

/// Finds `table` in the target and reads its columns' types and primary key (one catalog
/// query per scope). A table that does not exist is a `NotFound` naming the closest existing
/// tables (and what the famous wrong names really are); with [`Target::Anywhere`] a table
/// found in several databases asks to choose.
pub async fn table_meta(
    conns: &Connections,
    target: &Target,
    table: &str,
) -> Result<(PgPool, TableMeta)> {
    let many = matches!(target, Target::Anywhere);
    let mut reachable: Vec<(Scope, PgPool)> = Vec::new();
    let mut hits: Vec<(PgPool, TableMeta)> = Vec::new();
    for scope in scopes(conns, target)? {
        let pool = match conns.pool(&scope.endpoint).await {
            Ok(p) => p,
            Err(e) if many && e.code() == ErrorCode::NotFound => continue,
            Err(e) => return Err(e),
        };
        if let Some(meta) = read_table(&pool, &scope, table).await? {
            hits.push((pool.clone(), meta));
        }
        reachable.push((scope, pool));
    }
    match hits.len() {
        0 => {
            // Only now read the whole schemas, to suggest the closest names.
            let mut found = Vec::new();
            for (scope, pool) in reachable {
                let schema = DbSchema::read(&pool, &scope.endpoint, &scope.schema).await?;
                found.push((scope, schema));
            }
            Err(not_found_table(table, &found))
        }
        1 => Ok(hits.remove(0)),
        _ => Err(CoreError::config(format!(
            "table `{table}` exists in several databases: {}; choose one with --area or --database",
            hits.iter()
                .map(|(_, m)| match &m.scope.area {
                    Some(a) => format!("{} (area {a})", m.scope.label()),
                    None => m.scope.label(),
                })
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

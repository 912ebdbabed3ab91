//! Any table of any plugin database: the list of tables (name, kind, columns, estimated rows,
//! size, primary key) and a keyset-paginated, sorted and filtered view of any one of them.
//!
//! Safety: identifiers enter SQL only through [`crate::sql::quote_ident`] and only after the
//! column was found in the live catalog ([`crate::schema::DbSchema`]); every value is bound
//! (`$n`) and cast to the column's own type (named by its `pg_type` schema and name, quoted).
//! Pages are keyset paginated on the sort column plus a unique tiebreaker: the primary key when
//! the table has one (read from `pg_index`), else `ctid` (`tableoid, ctid` for partitioned
//! tables, a hash of the row for views); never OFFSET. Columns whose name says secret, token,
//! password, hash or sid are always masked (`tasks.secrets` keeps only its key names).
//!
//! The rooms, each building only on those listed before it:
//! - `scope`: which database and schema a [`Target`] names ([`Scope`], [`scopes`]), on top of
//!   [`crate::area::locate`];
//! - `values`: masking ([`is_masked_column`], [`mask_value`]) and the decoding of values into
//!   JSON ([`TableRow`]);
//! - `list`: the tables of a target with their sizes and columns ([`list_tables`]);
//! - `missing`: what to say when a table is not found ([`closest_names`],
//!   [`explain_missing_table`]);
//! - `meta`: one table's columns, types and primary key, found by name ([`table_meta`]);
//! - `query`: what a page asks for ([`TableQuery`], [`Filter`]);
//! - `plan`: the query of a page or export ([`plan`]: order, filters, keyset, select list);
//! - this file: a page of a table ([`browse`], [`TablePage`]) and the errors of its query.

mod list;
mod meta;
mod missing;
mod plan;
mod query;
mod scope;
mod values;

use serde::Serialize;
use serde_json::Value;

use crate::connect::{Connections, Endpoint, PgPool, map_query_error};
use crate::error::{CoreError, Result};
use crate::page::{Page, encode_cursor};

pub use list::{
    ColumnSummary, PRIMARY_KEYS_SQL, ScopeTables, ScopedTable, TableSummary, largest_first,
    list_tables,
};
pub use meta::{ColumnMeta, TABLE_META_SQL, TableMeta, read_table, table_meta};
pub use missing::{TECHDOCS_METADATA_EXPLANATION, closest_names, explain_missing_table};
pub use plan::{Plan, PlanFor, plan};
pub use query::{Filter, FilterOp, TableQuery};
pub use scope::{Scope, Target, area_scope, scopes};
pub use values::{BYTEA_PREVIEW_BYTES, TEXT_PREVIEW_CHARS, TableRow, is_masked_column, mask_value};

/// A page of a table.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TablePage {
    pub scope: Scope,
    pub table: String,
    pub kind: String,
    pub columns: Vec<ColumnMeta>,
    #[serde(flatten)]
    pub page: Page<TableRow>,
    /// The sort column(s) and tiebreaker, in order.
    pub order: Vec<String>,
    pub desc: bool,
    pub primary_key: Vec<String>,
    pub estimated_rows: i64,
    /// The SQL that produced the page (values are bound, not shown).
    pub sql: String,
}

/// A page of any table, sorted, filtered and keyset paginated.
pub async fn browse(
    conns: &Connections,
    target: &Target,
    table: &str,
    q: &TableQuery,
) -> Result<TablePage> {
    let (pool, meta) = table_meta(conns, target, table).await?;
    browse_meta(&pool, &meta, q).await
}

/// [`browse`] with the table already looked up.
pub async fn browse_meta(pool: &PgPool, meta: &TableMeta, q: &TableQuery) -> Result<TablePage> {
    let p = plan(meta, q, PlanFor::Page)?;
    let n = p.limit.unwrap_or(100);
    let rows = p
        .query()
        .fetch_all(pool)
        .await
        .map_err(|e| map_table_error(e, &meta.scope.endpoint))?;
    let mut items = Vec::with_capacity(rows.len().min(n));
    let mut last_key = None;
    let more = rows.len() > n;
    for r in rows.iter().take(n) {
        let (row, key) = p.decode(r)?;
        items.push(row);
        last_key = Some(key);
    }
    let next_cursor = match (more, last_key) {
        (true, Some(key)) => {
            let mut parts = vec![Value::String(plan::sort_tag(q))];
            parts.extend(key);
            Some(encode_cursor(&parts))
        }
        _ => None,
    };
    Ok(TablePage {
        scope: meta.scope.clone(),
        table: meta.name.clone(),
        kind: meta.kind.clone(),
        columns: meta.columns.clone(),
        page: Page { items, next_cursor },
        order: p.order.clone(),
        desc: p.desc,
        primary_key: meta.primary_key.clone(),
        estimated_rows: meta.estimated_rows,
        sql: p.sql.text,
    })
}

/// Maps errors of a table query: a value that does not fit its column's type, or a column
/// without a sort order, is the user's to fix.
pub(crate) fn map_table_error(e: sqlx::Error, ep: &Endpoint) -> CoreError {
    match map_query_error(e, ep) {
        CoreError::Database {
            code: Some(code),
            message,
        } if code.starts_with("22") => CoreError::config(format!(
            "a filter or cursor value does not fit its column's type: {message}; give a value of the column's type \
             (see `bsi tables` for the types), or use COL~VALUE to match text"
        )),
        CoreError::Database {
            code: Some(code),
            message,
        } if code == "42883" => CoreError::config(format!(
            "this column cannot be sorted or compared that way: {message}; choose another column or use COL~VALUE"
        )),
        other => other,
    }
}

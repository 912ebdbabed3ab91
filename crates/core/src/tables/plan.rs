//! Building the query of a table page or export ([`plan`]), in named steps: the keyset order
//! (the sort column, then a unique tiebreaker), the filters, the cursor condition, the select
//! list (what each column is read as, masked columns never read in clear) and the statement.
//! Pure: every column is checked against the live catalog first, identifiers are quoted and
//! every value is bound (`$n`) and cast to its column's own type. A [`Plan`] runs as it is
//! ([`Plan::query`]), so a benchmark measures the very same statement.

use serde_json::Value;
use sqlx::postgres::{PgArguments, PgRow};

use crate::error::{CoreError, Result};
use crate::page::{decode_cursor, limit};
use crate::sql::{Param, Sql, like_contains, qualified, quote_ident};

use super::meta::{ColumnMeta, TableMeta};
use super::query::{Filter, FilterOp, TableQuery};
use super::values::{BYTEA_PREVIEW_BYTES, Out, TEXT_PREVIEW_CHARS, TableRow, decode_row};

/// The SQL of a table page or export, with its binds (all text or NULL, cast in the SQL) and
/// what is needed to decode its rows. Run `sql` directly to measure the same query.
#[derive(Debug, Clone)]
pub struct Plan {
    pub sql: Sql,
    /// The sort and tiebreaker, as `column` (or `ctid`) labels, with the direction.
    pub order: Vec<String>,
    pub desc: bool,
    /// The page size, when paging.
    pub limit: Option<usize>,
    outs: Vec<(String, Out)>,
    keys: usize,
}

/// What the plan is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanFor {
    /// A page of `limit` rows (one more is fetched to know whether another page follows).
    Page,
    /// Every row (an export): no LIMIT, `bytea` in full.
    Export,
}

/// One key of the keyset order: its expression, the type a cursor value is cast to, and the
/// label shown in [`Plan::order`].
struct Key {
    expr: String,
    cast: String,
    label: String,
}

impl Key {
    fn column(c: &ColumnMeta) -> Key {
        Key {
            expr: col_ref(c),
            cast: c.cast(),
            label: c.name.clone(),
        }
    }

    /// A system column or expression, cast to a `pg_catalog` type.
    fn system(expr: &str, type_name: &str, label: &str) -> Key {
        Key {
            expr: expr.to_string(),
            cast: qualified("pg_catalog", type_name),
            label: label.to_string(),
        }
    }
}

fn col_ref(c: &ColumnMeta) -> String {
    format!("t.{}", quote_ident(&c.name))
}

/// The keyset order: the sort column (unless it is the tiebreaker itself), then the tiebreaker.
struct Order {
    keys: Vec<Key>,
    /// The first key is a sort column that may be NULL (in a cursor too).
    sort_nullable: bool,
}

/// Plans the query of a page (or an export) of `meta` for `q`. Pure: checks every column
/// against the live catalog, quotes identifiers, binds values.
pub fn plan(meta: &TableMeta, q: &TableQuery, purpose: PlanFor) -> Result<Plan> {
    let order = order(meta, q)?;
    let mut binds = Sql::new();
    let mut conds: Vec<String> = Vec::new();
    for f in &q.filters {
        conds.push(filter_cond(meta, f, &mut binds)?);
    }
    if let Some(cursor) = q.cursor.as_deref() {
        conds.push(cursor_cond(cursor, q, &order, &mut binds)?);
    }
    let (select, outs) = select_list(meta, purpose);
    let limit_n = match purpose {
        PlanFor::Page => Some(limit(q.limit)),
        PlanFor::Export => None,
    };
    let dir = if q.desc { "DESC" } else { "ASC" };
    binds.text = statement(meta, &order.keys, dir, select, &conds, limit_n);
    Ok(Plan {
        sql: binds,
        order: order.keys.iter().map(|k| k.label.clone()).collect(),
        desc: q.desc,
        limit: limit_n,
        keys: order.keys.len(),
        outs,
    })
}

/// The tiebreaker that makes the order unique: the primary key, else ctid (tableoid + ctid
/// when partitioned), else a hash of the row for views.
fn tiebreaker(meta: &TableMeta) -> Vec<Key> {
    let pk_cols: Vec<&ColumnMeta> = meta
        .primary_key
        .iter()
        .filter_map(|n| meta.column(n))
        .collect();
    if !pk_cols.is_empty()
        && pk_cols.len() == meta.primary_key.len()
        && pk_cols.iter().all(|c| !c.masked && c.orderable())
    {
        return pk_cols.into_iter().map(Key::column).collect();
    }
    match meta.kind.as_str() {
        "table" | "materialized view" => vec![Key::system("t.ctid", "tid", "ctid")],
        "partitioned table" => vec![
            Key::system("t.tableoid", "oid", "tableoid"),
            Key::system("t.ctid", "tid", "ctid"),
        ],
        _ => vec![Key::system("md5(t::text)", "text", "md5(row)")],
    }
}

/// The sort column of `q` (checked: it exists, is not masked and has an order) before the
/// tiebreaker.
fn order(meta: &TableMeta, q: &TableQuery) -> Result<Order> {
    let mut tiebreak = tiebreaker(meta);
    let mut keys: Vec<Key> = Vec::new();
    let mut sort_nullable = false;
    if let Some(s) = q.sort.as_deref() {
        let c = meta.checked_column(s)?;
        if c.masked {
            return Err(CoreError::config(format!(
                "column `{s}` holds secrets and is always masked: it cannot be sorted on; sort by another column"
            )));
        }
        if !c.orderable() {
            return Err(CoreError::config(format!(
                "column `{s}` is of type {} which has no sort order; sort by another column",
                c.data_type
            )));
        }
        if !(tiebreak.len() == 1 && tiebreak[0].label == c.name) {
            sort_nullable = c.nullable || meta.kind.contains("view");
            keys.push(Key::column(c));
        }
    }
    keys.append(&mut tiebreak);
    Ok(Order {
        keys,
        sort_nullable,
    })
}

/// The condition of one filter. A masked column can only be tested for NULL.
fn filter_cond(meta: &TableMeta, f: &Filter, binds: &mut Sql) -> Result<String> {
    let c = meta.checked_column(&f.column)?;
    let r = col_ref(c);
    let value = || {
        f.value
            .clone()
            .ok_or_else(|| CoreError::config(format!("filter on `{}` needs a value", f.column)))
    };
    if c.masked && !matches!(f.op, FilterOp::IsNull | FilterOp::NotNull) {
        return Err(CoreError::config(format!(
            "column `{}` holds secrets and is always masked: it can only be filtered with {0}:null or {0}:notnull",
            f.column
        )));
    }
    let cond = match f.op {
        FilterOp::IsNull => format!("{r} IS NULL"),
        FilterOp::NotNull => format!("{r} IS NOT NULL"),
        FilterOp::Contains => {
            let p = binds.bind(Param::OptText(Some(like_contains(&value()?))));
            format!("{r}::text ILIKE {p}")
        }
        FilterOp::Eq if c.is_json() || c.type_name == "tsvector" => {
            let p = binds.bind(Param::OptText(Some(value()?)));
            format!("{r}::text = {p}")
        }
        FilterOp::Eq | FilterOp::Gt | FilterOp::Lt => {
            if f.op != FilterOp::Eq && !c.orderable() {
                return Err(CoreError::config(format!(
                    "column `{}` is of type {} which cannot be compared with > or <",
                    f.column, c.data_type
                )));
            }
            let p = binds.bind(Param::OptText(Some(value()?)));
            let sym = match f.op {
                FilterOp::Gt => ">",
                FilterOp::Lt => "<",
                _ => "=",
            };
            format!("{r} {sym} {p}::{}", c.cast())
        }
    };
    Ok(cond)
}

/// The key values of a cursor (text, or NULL for a nullable sort column), checked against the
/// sort it was made for: its first part records the sort, so that a cursor is not reused with
/// another one.
fn cursor_values(cursor: &str, q: &TableQuery, order: &Order) -> Result<Vec<Option<String>>> {
    let bad = || {
        CoreError::config(format!(
            "invalid page cursor `{cursor}`: use the next_cursor value of the previous page unchanged, with the same sort"
        ))
    };
    let vals = decode_cursor(cursor, order.keys.len() + 1)?;
    if vals[0].as_str() != Some(sort_tag(q).as_str()) {
        return Err(bad());
    }
    vals[1..]
        .iter()
        .enumerate()
        .map(|(i, v)| match v {
            Value::String(s) => Ok(Some(s.clone())),
            Value::Null if i == 0 && order.sort_nullable => Ok(None),
            _ => Err(bad()),
        })
        .collect()
}

/// The condition of the rows after the cursor: a row comparison on the keys, with the NULLs
/// of a nullable sort column last in ascending order and first in descending order.
fn cursor_cond(cursor: &str, q: &TableQuery, order: &Order, binds: &mut Sql) -> Result<String> {
    let texts = cursor_values(cursor, q, order)?;
    let keys = &order.keys;
    let cmp = if q.desc { "<" } else { ">" };
    if !order.sort_nullable {
        return Ok(row_compare(keys, &texts, cmp, binds));
    }
    let s = &keys[0].expr;
    Ok(match (&texts[0], q.desc) {
        // ASC NULLS LAST: after a value come greater values, then the NULLs.
        (Some(_), false) => format!("({} OR {s} IS NULL)", row_compare(keys, &texts, cmp, binds)),
        (None, false) => format!(
            "({s} IS NULL AND {})",
            row_compare(&keys[1..], &texts[1..], cmp, binds)
        ),
        // DESC NULLS FIRST: the NULLs come first, then smaller values.
        (Some(_), true) => row_compare(keys, &texts, cmp, binds),
        (None, true) => format!(
            "({s} IS NOT NULL OR {})",
            row_compare(&keys[1..], &texts[1..], cmp, binds)
        ),
    })
}

/// `(k1, k2, ...) > ($n::type1, ...)` (or `<`), binding the values.
fn row_compare(keys: &[Key], values: &[Option<String>], cmp: &str, binds: &mut Sql) -> String {
    let lhs = keys
        .iter()
        .map(|k| k.expr.clone())
        .collect::<Vec<_>>()
        .join(", ");
    let rhs = keys
        .iter()
        .zip(values)
        .map(|(k, v)| format!("{}::{}", binds.bind(Param::OptText(v.clone())), k.cast))
        .collect::<Vec<_>>()
        .join(", ");
    format!("({lhs}) {cmp} ({rhs})")
}

/// What the query selects for each column, and how each is decoded.
fn select_list(meta: &TableMeta, purpose: PlanFor) -> (Vec<String>, Vec<(String, Out)>) {
    let mut select: Vec<String> = Vec::new();
    let outs = meta
        .columns
        .iter()
        .map(|c| (c.name.clone(), select_column(c, purpose, &mut select)))
        .collect();
    (select, outs)
}

/// Adds what the query selects for `c`: a masked column only as text to mask in Rust (or
/// whether it is NULL), `bytea` as its length and hex (capped on a page), JSON and text as
/// text (with their length, capped on a page), anything else as `to_jsonb`.
fn select_column(c: &ColumnMeta, purpose: PlanFor, select: &mut Vec<String>) -> Out {
    let r = col_ref(c);
    if c.masked {
        if c.is_textual() {
            select.push(format!("{r}::text"));
            Out::MaskedText
        } else {
            select.push(format!("CASE WHEN {r} IS NULL THEN NULL ELSE true END"));
            Out::MaskedPresence
        }
    } else if c.render == "bytea" {
        select.push(format!("octet_length({r})"));
        match purpose {
            PlanFor::Page => select.push(format!(
                "encode(substring({r} FROM 1 FOR {BYTEA_PREVIEW_BYTES}), 'hex')"
            )),
            PlanFor::Export => select.push(format!("encode({r}, 'hex')")),
        }
        Out::Bytea {
            capped: purpose == PlanFor::Page,
        }
    } else if c.is_json() || c.is_textual() {
        // On a page, long text (a 10 MB description, a huge entity) comes as its first
        // TEXT_PREVIEW_CHARS characters with its length; exports carry all of it.
        let capped = purpose == PlanFor::Page;
        if capped {
            select.push(format!("char_length({r}::text)"));
            select.push(format!("left({r}::text, {TEXT_PREVIEW_CHARS})"));
        } else {
            select.push(format!("{r}::text"));
        }
        if c.is_json() {
            Out::Json { capped }
        } else {
            Out::Text { capped }
        }
    } else {
        select.push(format!("to_jsonb({r})"));
        Out::Plain
    }
}

/// The statement: the selected values followed by the keys as text, sorted by the keys, with
/// the conditions; a page is limited to one more row than it shows.
fn statement(
    meta: &TableMeta,
    keys: &[Key],
    dir: &str,
    mut select: Vec<String>,
    conds: &[String],
    limit_n: Option<usize>,
) -> String {
    let order_sql = keys
        .iter()
        .map(|k| format!("{} {dir}", k.expr))
        .collect::<Vec<_>>()
        .join(", ");
    let from = format!("{} AS t", qualified(&meta.scope.schema, &meta.name));
    let where_sql = if conds.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conds.join(" AND "))
    };
    let Some(n) = limit_n else {
        // Every row is shown: one level.
        for k in keys {
            select.push(format!("({})::text", k.expr));
        }
        return format!(
            "SELECT {} FROM {from}{where_sql} ORDER BY {order_sql}",
            aliased(select)
        );
    };
    // A page: sort and limit the raw rows first, then render only the page's rows (the
    // planner would otherwise render every row before a top-N sort).
    let mut prefix = "bsi_k".to_string();
    while meta.columns.iter().any(|c| c.name.starts_with(&prefix)) {
        prefix.push('_');
    }
    let alias = |i: usize| quote_ident(&format!("{prefix}{i}"));
    let inner_keys = keys
        .iter()
        .enumerate()
        .map(|(i, k)| format!("{} AS {}", k.expr, alias(i)))
        .collect::<Vec<_>>()
        .join(", ");
    for i in 0..keys.len() {
        select.push(format!("t.{}::text", alias(i)));
    }
    let outer_order = (0..keys.len())
        .map(|i| format!("t.{} {dir}", alias(i)))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "SELECT {} FROM (SELECT t.*, {inner_keys} FROM {from}{where_sql} ORDER BY {order_sql} LIMIT {}) AS t \
         ORDER BY {outer_order}",
        aliased(select),
        n + 1
    )
}

fn aliased(select: Vec<String>) -> String {
    select
        .into_iter()
        .enumerate()
        .map(|(i, s)| format!("{s} AS c{i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The first part of a cursor: the sort it was made for.
pub(super) fn sort_tag(q: &TableQuery) -> String {
    format!(
        "{}:{}",
        q.sort.as_deref().unwrap_or(""),
        if q.desc { "desc" } else { "asc" }
    )
}

impl Plan {
    /// The column names, in table order.
    pub fn columns(&self) -> Vec<String> {
        self.outs.iter().map(|(n, _)| n.clone()).collect()
    }

    /// Builds the query with its binds.
    pub fn query(&self) -> sqlx::query::Query<'static, sqlx::Postgres, PgArguments> {
        self.sql.query()
    }

    /// Decodes one row: the shown values (masked and redacted) and the row's cursor key.
    pub fn decode(&self, row: &PgRow) -> Result<(TableRow, Vec<Value>)> {
        decode_row(&self.outs, self.keys, row)
    }
}

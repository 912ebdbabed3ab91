//! Any table of any plugin database: the list of tables (name, kind, columns, estimated rows,
//! size, primary key) and a keyset-paginated, sorted and filtered view of any one of them.
//!
//! This module owns where a table lives ([`Target`], [`Scope`]), the lookup of a table with
//! helpful errors (the closest existing names, and [`explain_missing_table`] for the famous
//! wrong ones), the query planner of a table page ([`plan`], whose SQL a benchmark can run
//! directly), the masking of secret columns ([`is_masked_column`]) and the rendering of values:
//! JSON and JSONB, and text that holds JSON (`final_entity`, `spec`...), become JSON trees after
//! [`redact_json`]; `bytea` becomes hex with its length; columns whose name says secret, token,
//! password, hash or sid are always masked (`tasks.secrets` keeps only its key names).
//!
//! Safety: identifiers enter SQL only through [`quote_ident`] and only after the column was
//! found in the live catalog ([`DbSchema`]); every value is bound (`$n`) and cast to the
//! column's own type (named by its `pg_type` schema and name, quoted). Pages are keyset
//! paginated on the sort column plus a unique tiebreaker: the primary key when the table has
//! one (read from `pg_index`), else `ctid` (`tableoid, ctid` for partitioned tables, a hash of
//! the row for views); never OFFSET.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;
use sqlx::Row as _;
use sqlx::postgres::PgRow;

use crate::area::{PLUGIN_AREAS, locate};
use crate::connect::{Connections, Endpoint, PgPool, map_query_error};
use crate::error::{CoreError, ErrorCode, ErrorPayload, Result};
use crate::page::{Page, decode_cursor, encode_cursor, limit};
use crate::redact::{REDACTED, redact_json};
use crate::schema::{DbSchema, TableInfo};
use crate::sql::{like_contains, quote_ident};

pub use crate::techdocs::explain_missing_table;

/// How many bytes of a `bytea` value a page shows (as hex); exports show all of it.
pub const BYTEA_PREVIEW_BYTES: usize = 64;

// ---------------------------------------------------------------------------------------------
// Where a table lives.

/// Which database (and schema) to look in.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum Target {
    /// Every known plugin area of the profile ([`PLUGIN_AREAS`]).
    #[default]
    Anywhere,
    /// A plugin area (plugin id) such as `catalog`, honouring the profile's layout and overrides.
    Area { area: String },
    /// A database by name on the profile's server, in `schema` (default `public`).
    Database {
        database: String,
        #[serde(default)]
        schema: Option<String>,
    },
}

/// One database and schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Scope {
    /// The plugin area, when the scope was chosen by area.
    pub area: Option<String>,
    pub database: String,
    pub schema: String,
    #[serde(skip)]
    pub endpoint: Endpoint,
}

impl Scope {
    /// `database` or `database.schema` when the schema is not `public`.
    pub fn label(&self) -> String {
        if self.schema == "public" {
            self.database.clone()
        } else {
            format!("{}.{}", self.database, self.schema)
        }
    }
}

/// The database and schema of a plugin area (plugin id) in the profile's layout.
pub fn area_scope(conns: &Connections, area: &str) -> Result<Scope> {
    let at = locate(conns, area)?;
    Ok(Scope {
        area: Some(at.area),
        database: at.database,
        schema: at.schema,
        endpoint: at.endpoint,
    })
}

/// The scopes a target names (several for [`Target::Anywhere`], without duplicates).
pub fn scopes(conns: &Connections, target: &Target) -> Result<Vec<Scope>> {
    match target {
        Target::Area { area } => Ok(vec![area_scope(conns, area)?]),
        Target::Database { database, schema } => {
            if database.trim().is_empty() {
                return Err(CoreError::config("give a database name"));
            }
            let endpoint = conns.endpoint(database);
            Ok(vec![Scope {
                area: None,
                database: database.clone(),
                schema: schema.clone().unwrap_or_else(|| "public".to_string()),
                endpoint,
            }])
        }
        Target::Anywhere => {
            let mut out: Vec<Scope> = Vec::new();
            for a in PLUGIN_AREAS {
                let s = area_scope(conns, a)?;
                match out
                    .iter_mut()
                    .find(|o| o.endpoint == s.endpoint && o.schema == s.schema)
                {
                    Some(existing) => existing.area = None,
                    None => out.push(s),
                }
            }
            Ok(out)
        }
    }
}

async fn read_scope(conns: &Connections, scope: &Scope) -> Result<(PgPool, DbSchema)> {
    let pool = conns.pool(&scope.endpoint).await?;
    let schema = DbSchema::read(&pool, &scope.endpoint, &scope.schema).await?;
    Ok((pool, schema))
}

// ---------------------------------------------------------------------------------------------
// Listing tables.

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
) -> Result<std::collections::HashMap<String, Vec<String>>> {
    let rows = sqlx::query(PRIMARY_KEYS_SQL)
        .bind(schema)
        .fetch_all(pool)
        .await
        .map_err(|e| map_query_error(e, ep))?;
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
            let (pool, schema) = read_scope(conns, &scope).await?;
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

// ---------------------------------------------------------------------------------------------
// Finding one table.

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The existing names closest to `wanted`, best first: names sharing a word (split on `_`),
/// containing it or contained in it rank first, then by edit distance.
pub fn closest_names<'a>(
    wanted: &str,
    names: impl IntoIterator<Item = &'a str>,
    n: usize,
) -> Vec<String> {
    let w = wanted.to_ascii_lowercase();
    let words: BTreeSet<&str> = w.split('_').filter(|p| p.len() > 2).collect();
    let mut scored: Vec<(usize, usize, String)> = names
        .into_iter()
        .map(|name| {
            let l = name.to_ascii_lowercase();
            let shared = l.split('_').filter(|p| words.contains(p)).count();
            let contains = usize::from(l.contains(&w) || w.contains(&l));
            let rank = 10 - (shared + 2 * contains).min(10);
            (rank, levenshtein(&w, &l), name.to_string())
        })
        .collect();
    scored.sort();
    let best: Vec<String> = scored
        .iter()
        .filter(|(rank, dist, name)| *rank < 10 || *dist <= name.len().max(w.len()) / 2)
        .take(n)
        .map(|(_, _, s)| s.clone())
        .collect();
    if best.is_empty() {
        scored.into_iter().take(n).map(|(_, _, s)| s).collect()
    } else {
        best
    }
}

fn not_found_table(wanted: &str, found: &[(Scope, DbSchema)]) -> CoreError {
    let mut candidates: Vec<(String, String)> = Vec::new();
    for (scope, schema) in found {
        for t in schema.tables.keys() {
            candidates.push((t.clone(), scope.label()));
        }
    }
    let closest = closest_names(wanted, candidates.iter().map(|(t, _)| t.as_str()), 5);
    let mut hint = String::new();
    if let Some(explain) = explain_missing_table(wanted) {
        // It follows "table `x` not found; ".
        let mut chars = explain.chars();
        if let Some(first) = chars.next() {
            hint.push(first.to_ascii_lowercase());
            hint.push_str(chars.as_str());
        }
        hint.push(' ');
    }
    let where_ = found
        .iter()
        .map(|(s, _)| s.label())
        .collect::<Vec<_>>()
        .join(", ");
    if found.is_empty() {
        hint.push_str(
            "no Backstage database was found to look in; check the profile (`bsi databases`)",
        );
    } else if closest.is_empty() {
        hint.push_str(&format!("{where_} has no tables"));
    } else {
        let named: Vec<String> = closest
            .iter()
            .map(|t| {
                let at: Vec<&str> = candidates
                    .iter()
                    .filter(|(c, _)| c == t)
                    .map(|(_, s)| s.as_str())
                    .collect();
                format!("{t} ({})", at.join(", "))
            })
            .collect();
        hint.push_str(&format!(
            "looked in {where_}; the closest existing tables are {}; `bsi tables` lists them all",
            named.join(", ")
        ));
    }
    CoreError::NotFound {
        what: "table",
        name: wanted.to_string(),
        hint: Some(hint),
    }
}

// ---------------------------------------------------------------------------------------------
// Masking.

/// Whether values of `column` (of `table`) are secrets that are never shown: names that say
/// secret, token, password, hash, credential or private key, a `sid` word (session ids), and
/// the auth backend's flow values: `oidc_authorization_codes.code` and `session_id`,
/// `oauth_authorization_sessions` `id`, `state`, `nonce` and `code_challenge`, and
/// `offline_sessions.id`. Such values appear as [`REDACTED`] (or, for a JSON object
/// such as `tasks.secrets`, as its key names with redacted values); NULL stays NULL.
pub fn is_masked_column(table: &str, column: &str) -> bool {
    const PARTS: [&str; 9] = [
        "secret",
        "token",
        "password",
        "passwd",
        "hash",
        "credential",
        "private_key",
        "privatekey",
        "apikey",
    ];
    let c = column.to_ascii_lowercase();
    PARTS.iter().any(|p| c.contains(p))
        || c.split(|ch: char| !ch.is_ascii_alphanumeric())
            .any(|w| w == "sid")
        || matches!(
            (table.to_ascii_lowercase().as_str(), c.as_str()),
            // An authorization code, and the ids, state and nonce of the OAuth flows of the
            // auth backend's OIDC provider: each lets a flow be replayed or a session be named.
            ("oidc_authorization_codes", "code" | "session_id")
                | ("oauth_authorization_sessions", "id" | "state" | "nonce" | "code_challenge")
                // The refresh-token session id (the auth views mask it too).
                | ("offline_sessions", "id")
        )
}

/// The masked form of a secret value: JSON objects keep their key names only.
pub fn mask_value(raw: Option<&str>) -> Value {
    match raw {
        None => Value::Null,
        Some(s) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Object(m)) => Value::Object(
                m.into_iter()
                    .map(|(k, _)| (k, Value::String(REDACTED.to_string())))
                    .collect(),
            ),
            _ => Value::String(REDACTED.to_string()),
        },
    }
}

// ---------------------------------------------------------------------------------------------
// Table metadata.

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
    fn cast(&self) -> String {
        format!(
            "{}.{}",
            quote_ident(&self.type_schema),
            quote_ident(&self.type_name)
        )
    }
    fn is_json(&self) -> bool {
        self.type_schema == "pg_catalog" && matches!(self.type_name.as_str(), "json" | "jsonb")
    }
    fn is_textual(&self) -> bool {
        self.type_schema == "pg_catalog"
            && matches!(
                self.type_name.as_str(),
                "text" | "varchar" | "bpchar" | "name" | "json" | "jsonb"
            )
    }
    fn orderable(&self) -> bool {
        !(self.type_schema == "pg_catalog"
            && matches!(
                self.type_name.as_str(),
                "json" | "xml" | "point" | "line" | "lseg" | "box" | "path" | "polygon" | "circle"
            ))
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
    let rows = sqlx::query(TABLE_META_SQL)
        .bind(&scope.schema)
        .bind(table)
        .fetch_all(pool)
        .await
        .map_err(|e| map_query_error(e, &scope.endpoint))?;
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
        let name: String = r.get("col");
        if let Some(pos) = r.get::<Option<i32>, _>("pk_pos") {
            pk.push((pos, name.clone()));
        }
        info.columns.push(crate::schema::ColumnInfo {
            name: name.clone(),
            data_type: r.get("typ"),
            nullable: r.get("nullable"),
        });
        let masked = is_masked_column(table, &name);
        let mut c = ColumnMeta {
            name,
            data_type: r.get("typ"),
            nullable: r.get("nullable"),
            masked,
            render: "value",
            type_schema: r.get("tschema"),
            type_name: r.get("tname"),
        };
        c.render = if c.masked {
            "masked"
        } else if c.type_schema == "pg_catalog" && c.type_name == "bytea" {
            "bytea"
        } else if c.is_json() {
            "json"
        } else if c.is_textual() {
            "text"
        } else {
            "value"
        };
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

// ---------------------------------------------------------------------------------------------
// Filters and queries.

/// A filter operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum FilterOp {
    /// `COL=VALUE`: equal (the value is read as the column's type).
    Eq,
    /// `COL~VALUE`: the value's text contains VALUE, case-insensitively (`ILIKE` on `::text`).
    Contains,
    /// `COL:null`.
    IsNull,
    /// `COL:notnull`.
    NotNull,
    /// `COL>VALUE`.
    Gt,
    /// `COL<VALUE`.
    Lt,
}

/// One filter on one column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Filter {
    pub column: String,
    pub op: FilterOp,
    #[serde(default)]
    pub value: Option<String>,
}

impl FromStr for Filter {
    type Err = CoreError;

    /// Parses `COL=VALUE`, `COL~VALUE`, `COL>VALUE`, `COL<VALUE`, `COL:null`, `COL:notnull`.
    fn from_str(s: &str) -> Result<Self> {
        let bad = || {
            CoreError::config(format!(
                "invalid filter `{s}`: use COL=VALUE (equals), COL~VALUE (contains), COL>VALUE, COL<VALUE, COL:null or COL:notnull"
            ))
        };
        let i = s.find(['=', '~', '>', '<', ':']).ok_or_else(bad)?;
        let column = s[..i].trim().to_string();
        if column.is_empty() {
            return Err(bad());
        }
        let rest = &s[i + 1..];
        let (op, value) = match &s[i..=i] {
            "=" => (FilterOp::Eq, Some(rest.to_string())),
            "~" => (FilterOp::Contains, Some(rest.to_string())),
            ">" => (FilterOp::Gt, Some(rest.to_string())),
            "<" => (FilterOp::Lt, Some(rest.to_string())),
            _ => match rest.trim().to_ascii_lowercase().as_str() {
                "null" => (FilterOp::IsNull, None),
                "notnull" | "not-null" | "!null" => (FilterOp::NotNull, None),
                _ => return Err(bad()),
            },
        };
        Ok(Filter { column, op, value })
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = self.value.as_deref().unwrap_or_default();
        match self.op {
            FilterOp::Eq => write!(f, "{}={v}", self.column),
            FilterOp::Contains => write!(f, "{}~{v}", self.column),
            FilterOp::Gt => write!(f, "{}>{v}", self.column),
            FilterOp::Lt => write!(f, "{}<{v}", self.column),
            FilterOp::IsNull => write!(f, "{}:null", self.column),
            FilterOp::NotNull => write!(f, "{}:notnull", self.column),
        }
    }
}

/// What to show of a table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default)]
pub struct TableQuery {
    /// The column to sort by; default the primary key (else the physical order).
    pub sort: Option<String>,
    pub desc: bool,
    pub filters: Vec<Filter>,
    /// Page size (1..=1000, default 100).
    pub limit: Option<usize>,
    pub cursor: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// The plan.

#[derive(Debug, Clone)]
enum Out {
    /// One text column, masked in Rust.
    MaskedText,
    /// One boolean: whether a value is present.
    MaskedPresence,
    /// Two columns: length and hex.
    Bytea { capped: bool },
    /// One text column holding JSON.
    Json,
    /// One text column of a textual type; text that holds a JSON object or array is parsed.
    Text,
    /// One jsonb column (`to_jsonb(col)`): numbers, booleans, timestamps, arrays...
    Plain,
}

/// The SQL of a table page or export, with its binds (all text, cast in the SQL) and what is
/// needed to decode its rows. Run `sql` with `binds` directly to measure the same query.
#[derive(Debug, Clone)]
pub struct Plan {
    pub sql: String,
    pub binds: Vec<Option<String>>,
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

struct Key {
    expr: String,
    cast: String,
    label: String,
}

fn unknown_column(meta: &TableMeta, col: &str) -> CoreError {
    let names: Vec<&str> = meta.columns.iter().map(|c| c.name.as_str()).collect();
    let closest = closest_names(col, names.iter().copied(), 3);
    CoreError::NotFound {
        what: "column",
        name: col.to_string(),
        hint: Some(format!(
            "table `{}` in {} has no such column{}; its columns are {}",
            meta.name,
            meta.scope.label(),
            if closest.is_empty() {
                String::new()
            } else {
                format!(" (closest: {})", closest.join(", "))
            },
            names.join(", ")
        )),
    }
}

fn check_column<'a>(meta: &'a TableMeta, col: &str) -> Result<&'a ColumnMeta> {
    // The live catalog (DbSchema) is the authority on what exists.
    if !meta.info.has_column(col) {
        return Err(unknown_column(meta, col));
    }
    meta.column(col).ok_or_else(|| unknown_column(meta, col))
}

/// Plans the query of a page (or an export) of `meta` for `q`. Pure: checks every column
/// against the live catalog, quotes identifiers, binds values.
pub fn plan(meta: &TableMeta, q: &TableQuery, purpose: PlanFor) -> Result<Plan> {
    let mut binds: Vec<Option<String>> = Vec::new();
    let mut bind = |v: Option<String>| {
        binds.push(v);
        format!("${}", binds.len())
    };
    let col_ref = |c: &ColumnMeta| format!("t.{}", quote_ident(&c.name));

    // Tiebreaker: the primary key, else ctid (tableoid + ctid when partitioned), else a hash of
    // the row for views.
    let pk_cols: Vec<&ColumnMeta> = meta
        .primary_key
        .iter()
        .filter_map(|n| meta.column(n))
        .collect();
    let mut tiebreak: Vec<Key> = if !pk_cols.is_empty()
        && pk_cols.len() == meta.primary_key.len()
        && pk_cols.iter().all(|c| !c.masked && c.orderable())
    {
        pk_cols
            .iter()
            .map(|c| Key {
                expr: col_ref(c),
                cast: c.cast(),
                label: c.name.clone(),
            })
            .collect()
    } else {
        match meta.kind.as_str() {
            "table" | "materialized view" => vec![Key {
                expr: "t.ctid".into(),
                cast: "\"pg_catalog\".\"tid\"".into(),
                label: "ctid".into(),
            }],
            "partitioned table" => vec![
                Key {
                    expr: "t.tableoid".into(),
                    cast: "\"pg_catalog\".\"oid\"".into(),
                    label: "tableoid".into(),
                },
                Key {
                    expr: "t.ctid".into(),
                    cast: "\"pg_catalog\".\"tid\"".into(),
                    label: "ctid".into(),
                },
            ],
            _ => vec![Key {
                expr: "md5(t::text)".into(),
                cast: "\"pg_catalog\".\"text\"".into(),
                label: "md5(row)".into(),
            }],
        }
    };

    // The sort column, unless it is the tiebreaker itself.
    let mut sort_nullable = false;
    let mut keys: Vec<Key> = Vec::new();
    let mut sort_is_key = true;
    if let Some(s) = q.sort.as_deref() {
        let c = check_column(meta, s)?;
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
            sort_is_key = false;
            sort_nullable = c.nullable || meta.kind.contains("view");
            keys.push(Key {
                expr: col_ref(c),
                cast: c.cast(),
                label: c.name.clone(),
            });
        }
    }
    keys.append(&mut tiebreak);
    let dir = if q.desc { "DESC" } else { "ASC" };
    let order_sql = keys
        .iter()
        .map(|k| format!("{} {dir}", k.expr))
        .collect::<Vec<_>>()
        .join(", ");

    let mut conds: Vec<String> = Vec::new();

    // Filters.
    for f in &q.filters {
        let c = check_column(meta, &f.column)?;
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
                let p = bind(Some(like_contains(&value()?)));
                format!("{r}::text ILIKE {p}")
            }
            FilterOp::Eq if c.is_json() || c.type_name == "tsvector" => {
                let p = bind(Some(value()?));
                format!("{r}::text = {p}")
            }
            FilterOp::Eq | FilterOp::Gt | FilterOp::Lt => {
                if f.op != FilterOp::Eq && !c.orderable() {
                    return Err(CoreError::config(format!(
                        "column `{}` is of type {} which cannot be compared with > or <",
                        f.column, c.data_type
                    )));
                }
                let p = bind(Some(value()?));
                let sym = match f.op {
                    FilterOp::Gt => ">",
                    FilterOp::Lt => "<",
                    _ => "=",
                };
                format!("{r} {sym} {p}::{}", c.cast())
            }
        };
        conds.push(cond);
    }

    // The cursor.
    if let Some(cursor) = q.cursor.as_deref() {
        let bad = || {
            CoreError::config(format!(
                "invalid page cursor `{cursor}`: use the next_cursor value of the previous page unchanged, with the same sort"
            ))
        };
        let vals = decode_cursor(cursor, keys.len() + 1)?;
        // The first part records the sort, so that a cursor is not reused with another one.
        let tag = sort_tag(q);
        if vals[0].as_str() != Some(tag.as_str()) {
            return Err(bad());
        }
        let vals = &vals[1..];
        let mut texts: Vec<Option<String>> = Vec::new();
        for (i, v) in vals.iter().enumerate() {
            match v {
                Value::String(s) => texts.push(Some(s.clone())),
                Value::Null if i == 0 && sort_nullable => texts.push(None),
                _ => return Err(bad()),
            }
        }
        let cmp = if q.desc { "<" } else { ">" };
        let row =
            |ks: &[Key], ts: &[Option<String>], bind: &mut dyn FnMut(Option<String>) -> String| {
                let lhs = ks
                    .iter()
                    .map(|k| k.expr.clone())
                    .collect::<Vec<_>>()
                    .join(", ");
                let rhs = ks
                    .iter()
                    .zip(ts)
                    .map(|(k, t)| format!("{}::{}", bind(t.clone()), k.cast))
                    .collect::<Vec<_>>()
                    .join(", ");
                format!("({lhs}) {cmp} ({rhs})")
            };
        let cond = if sort_is_key || !sort_nullable {
            row(&keys, &texts, &mut bind)
        } else {
            let s = &keys[0].expr;
            match (&texts[0], q.desc) {
                // ASC NULLS LAST: after a value come greater values, then the NULLs.
                (Some(_), false) => format!("({} OR {s} IS NULL)", row(&keys, &texts, &mut bind)),
                (None, false) => format!(
                    "({s} IS NULL AND {})",
                    row(&keys[1..], &texts[1..], &mut bind)
                ),
                // DESC NULLS FIRST: the NULLs come first, then smaller values.
                (Some(_), true) => row(&keys, &texts, &mut bind),
                (None, true) => format!(
                    "({s} IS NOT NULL OR {})",
                    row(&keys[1..], &texts[1..], &mut bind)
                ),
            }
        };
        conds.push(cond);
    }

    // The select list.
    let mut select: Vec<String> = Vec::new();
    let mut outs: Vec<(String, Out)> = Vec::new();
    for c in &meta.columns {
        let r = col_ref(c);
        let out = if c.masked {
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
        } else if c.is_json() {
            select.push(format!("{r}::text"));
            Out::Json
        } else if c.is_textual() {
            select.push(format!("{r}::text"));
            Out::Text
        } else {
            select.push(format!("to_jsonb({r})"));
            Out::Plain
        };
        outs.push((c.name.clone(), out));
    }

    let limit_n = match purpose {
        PlanFor::Page => Some(limit(q.limit)),
        PlanFor::Export => None,
    };
    let from = format!(
        "{}.{} AS t",
        quote_ident(&meta.scope.schema),
        quote_ident(&meta.name)
    );
    let where_sql = if conds.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conds.join(" AND "))
    };
    let sql = match limit_n {
        // Every row is shown: one level.
        None => {
            for k in &keys {
                select.push(format!("({})::text", k.expr));
            }
            format!(
                "SELECT {} FROM {from}{where_sql} ORDER BY {order_sql}",
                aliased(select)
            )
        }
        // A page: sort and limit the raw rows first, then render only the page's rows (the
        // planner would otherwise render every row before a top-N sort).
        Some(n) => {
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
    };
    Ok(Plan {
        sql,
        binds,
        order: keys.iter().map(|k| k.label.clone()).collect(),
        desc: q.desc,
        limit: limit_n,
        keys: keys.len(),
        outs,
    })
}

fn aliased(select: Vec<String>) -> String {
    select
        .into_iter()
        .enumerate()
        .map(|(i, s)| format!("{s} AS c{i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn sort_tag(q: &TableQuery) -> String {
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
    pub fn query(&self) -> sqlx::query::Query<'_, sqlx::Postgres, sqlx::postgres::PgArguments> {
        let mut q = sqlx::query(sqlx::AssertSqlSafe(self.sql.clone()));
        for b in &self.binds {
            q = q.bind(b.clone());
        }
        q
    }

    /// Decodes one row: the shown values (masked and redacted) and the row's cursor key.
    pub fn decode(&self, row: &PgRow) -> Result<(TableRow, Vec<Value>)> {
        let mut i = 0usize;
        let mut cells = Vec::with_capacity(self.outs.len());
        for (name, out) in &self.outs {
            let dec = |e: sqlx::Error| {
                CoreError::Internal(format!("cannot decode the value of column `{name}`: {e}"))
            };
            let mut v = match out {
                Out::MaskedText => {
                    let raw: Option<String> = row.try_get(i).map_err(dec)?;
                    i += 1;
                    mask_value(raw.as_deref())
                }
                Out::MaskedPresence => {
                    let present: Option<bool> = row.try_get(i).map_err(dec)?;
                    i += 1;
                    present.map_or(Value::Null, |_| Value::String(REDACTED.to_string()))
                }
                Out::Bytea { capped } => {
                    let len: Option<i32> = row.try_get(i).map_err(dec)?;
                    let hex: Option<String> = row.try_get(i + 1).map_err(dec)?;
                    i += 2;
                    match (len, hex) {
                        (Some(len), Some(hex)) => serde_json::json!({
                            "hex": hex,
                            "length": len,
                            "truncated": *capped && len as usize > BYTEA_PREVIEW_BYTES,
                        }),
                        _ => Value::Null,
                    }
                }
                Out::Json => {
                    let raw: Option<String> = row.try_get(i).map_err(dec)?;
                    i += 1;
                    raw.map(|s| serde_json::from_str(&s).unwrap_or(Value::String(s)))
                        .unwrap_or(Value::Null)
                }
                Out::Text => {
                    let v: Option<String> = row.try_get(i).map_err(dec)?;
                    i += 1;
                    match v {
                        Some(s) if looks_like_json(&s) => {
                            serde_json::from_str(&s).unwrap_or(Value::String(s))
                        }
                        Some(s) => Value::String(s),
                        None => Value::Null,
                    }
                }
                Out::Plain => {
                    let v: Option<Value> = row.try_get(i).map_err(dec)?;
                    i += 1;
                    v.unwrap_or(Value::Null)
                }
            };
            redact_json(&mut v);
            cells.push((name.clone(), v));
        }
        let dec =
            |e: sqlx::Error| CoreError::Internal(format!("cannot decode a row's cursor key: {e}"));
        let mut key = Vec::with_capacity(self.keys);
        for _ in 0..self.keys {
            let k: Option<String> = row.try_get(i).map_err(dec)?;
            i += 1;
            key.push(k.map_or(Value::Null, Value::String));
        }
        Ok((TableRow(cells), key))
    }
}

fn looks_like_json(s: &str) -> bool {
    let t = s.trim_start();
    (t.starts_with('{') && s.trim_end().ends_with('}'))
        || (t.starts_with('[') && s.trim_end().ends_with(']'))
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

// ---------------------------------------------------------------------------------------------
// Rows and pages.

/// One row: column names and values, in table order (serialised as a JSON object in that
/// order).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(type = "Record<string, unknown>")
)]
pub struct TableRow(pub Vec<(String, Value)>);

impl TableRow {
    pub fn get(&self, column: &str) -> Option<&Value> {
        self.0.iter().find(|(n, _)| n == column).map(|(_, v)| v)
    }
}

impl Serialize for TableRow {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

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
            let mut parts = vec![Value::String(sort_tag(q))];
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
        sql: p.sql,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_parse() {
        let f: Filter = "status=open".parse().unwrap();
        assert_eq!(
            (f.column.as_str(), f.op, f.value.as_deref()),
            ("status", FilterOp::Eq, Some("open"))
        );
        let f: Filter = "spec~a=b".parse().unwrap();
        assert_eq!(
            (f.op, f.value.as_deref()),
            (FilterOp::Contains, Some("a=b"))
        );
        assert_eq!(
            "secrets:null".parse::<Filter>().unwrap().op,
            FilterOp::IsNull
        );
        assert_eq!(
            "secrets:notnull".parse::<Filter>().unwrap().op,
            FilterOp::NotNull
        );
        assert_eq!(
            "created_at>2026-01-01".parse::<Filter>().unwrap().op,
            FilterOp::Gt
        );
        assert!("nothing".parse::<Filter>().is_err());
        assert!("=x".parse::<Filter>().is_err());
        assert!("a:maybe".parse::<Filter>().is_err());
        assert_eq!("a:null".parse::<Filter>().unwrap().to_string(), "a:null");
    }

    #[test]
    fn masking_rules() {
        for (t, c) in [
            ("tasks", "secrets"),
            ("offline_sessions", "token_hash"),
            ("sessions", "sid"),
            ("user_settings", "settings_key_hash"),
            ("x", "client_secret"),
            ("x", "password"),
            ("oidc_authorization_codes", "code"),
            ("oidc_authorization_codes", "session_id"),
            ("oauth_authorization_sessions", "state"),
            ("oauth_authorization_sessions", "nonce"),
            ("oauth_authorization_sessions", "code_challenge"),
            ("oauth_authorization_sessions", "id"),
            ("offline_sessions", "id"),
        ] {
            assert!(is_masked_column(t, c), "{t}.{c}");
        }
        for (t, c) in [
            ("tasks", "spec"),
            ("sessions", "sess"),
            ("x", "inside"),
            ("x", "code"),
            ("oauth_authorization_sessions", "user_entity_ref"),
            ("oauth_authorization_sessions", "redirect_uri"),
            ("offline_sessions", "user_entity_ref"),
        ] {
            assert!(!is_masked_column(t, c), "{t}.{c}");
        }
        assert_eq!(
            mask_value(Some(r#"{"backstageToken":"eyJ...","a":1}"#)),
            serde_json::json!({"a": REDACTED, "backstageToken": REDACTED})
        );
        assert_eq!(mask_value(Some("abc")), Value::String(REDACTED.into()));
        assert_eq!(mask_value(None), Value::Null);
    }

    #[test]
    fn like_values_are_escaped_and_names_ranked() {
        let names = ["documents", "refresh_state", "relations", "search"];
        assert_eq!(
            closest_names("documents_search", names, 2),
            vec!["documents", "search"]
        );
        assert_eq!(
            closest_names("refresh_stat", names, 1),
            vec!["refresh_state"]
        );
        assert_eq!(levenshtein("kitten", "sitting"), 3);
    }
}

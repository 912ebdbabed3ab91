//! Exports: any list as CSV (RFC 4180) or JSON, streamed to an [`std::io::Write`] row by row.
//!
//! This module owns the writers ([`CsvWriter`], [`JsonWriter`], [`RowWriter`]), the generic
//! exports of serialisable rows ([`write_csv`], [`write_json`], [`write_rows`]: top-level
//! fields become columns, nested values JSON text), the streamed exports of a table with its
//! filters and sort ([`export_table`]) and of catalog entities ([`export_entities`]), and
//! [`AtomicFile`], a file that appears complete or not at all.
//!
//! Streaming: a query runs once, in a read-only transaction, through a server-side cursor
//! (`DECLARE ... NO SCROLL CURSOR`, then `FETCH FORWARD 500` until empty), and each row is
//! written as soon as it is decoded; memory holds one batch, never the table. Values go through
//! the same masking and redaction as table pages ([`crate::tables`]).

use std::borrow::Cow;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::Row as _;
use sqlx::postgres::PgRow;

use crate::connect::{Connections, Endpoint, PgPool};
use crate::error::{CoreError, Result};
use crate::redact::redact_json;
use crate::schema::{DbSchema, Need};
use crate::sql::quote_ident;
use crate::tables::{self, PlanFor, TableQuery, TableRow, Target, area_scope};

/// Rows fetched from the server-side cursor at a time.
pub const BATCH_ROWS: usize = 500;

/// An export format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    /// RFC 4180: a header line, fields quoted when needed, CRLF line ends.
    Csv,
    /// One JSON array of objects, one object per line.
    Json,
}

impl FromStr for ExportFormat {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "csv" => Ok(ExportFormat::Csv),
            "json" => Ok(ExportFormat::Json),
            other => Err(CoreError::config(format!(
                "unknown export format `{other}`: use csv or json"
            ))),
        }
    }
}

impl fmt::Display for ExportFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ExportFormat::Csv => "csv",
            ExportFormat::Json => "json",
        })
    }
}

/// What an export wrote.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ExportSummary {
    pub format: ExportFormat,
    pub rows: u64,
    pub columns: Vec<String>,
    /// The SQL that produced the rows, when they came from a query (values are bound).
    pub sql: Option<String>,
}

fn io_err(e: std::io::Error) -> CoreError {
    CoreError::io("cannot write the export to", "<output>", e)
}

// ---------------------------------------------------------------------------------------------
// CSV.

/// Escapes one CSV field per RFC 4180: quoted when it holds a comma, a quote, CR or LF (or
/// starts or ends with a space), quotes doubled.
pub fn csv_field(s: &str) -> Cow<'_, str> {
    let needs = s.contains([',', '"', '\r', '\n']) || s.starts_with(' ') || s.ends_with(' ');
    if needs {
        Cow::Owned(format!("\"{}\"", s.replace('"', "\"\"")))
    } else {
        Cow::Borrowed(s)
    }
}

/// The CSV text of a value: strings as they are, NULL empty, numbers and booleans as JSON
/// writes them, objects and arrays as compact JSON.
///
/// A string that a spreadsheet would run as a formula (it starts with `=`, `+`, `-`, `@`, a
/// tab or a CR, and is not a number) gets a leading `'`, the usual defence against CSV
/// injection: an entity description or a task parameter can hold anything.
pub fn csv_text(v: &Value) -> Cow<'_, str> {
    match v {
        Value::Null => Cow::Borrowed(""),
        Value::String(s) if is_formula(s) => Cow::Owned(format!("'{s}")),
        Value::String(s) => Cow::Borrowed(s.as_str()),
        other => Cow::Owned(other.to_string()),
    }
}

fn is_formula(s: &str) -> bool {
    s.starts_with(['=', '+', '-', '@', '\t', '\r']) && s.trim().parse::<f64>().is_err()
}

/// Writes CSV records.
pub struct CsvWriter<W: Write> {
    w: W,
    columns: Vec<String>,
    rows: u64,
}

impl<W: Write> CsvWriter<W> {
    /// Starts a CSV with its header line.
    pub fn new(mut w: W, columns: Vec<String>) -> Result<Self> {
        write_record(&mut w, columns.iter().map(|c| Cow::Borrowed(c.as_str())))?;
        Ok(Self {
            w,
            columns,
            rows: 0,
        })
    }

    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// Writes one record of values in column order.
    pub fn write_values<'a>(&mut self, values: impl IntoIterator<Item = &'a Value>) -> Result<()> {
        write_record(&mut self.w, values.into_iter().map(csv_text))?;
        self.rows += 1;
        Ok(())
    }

    /// Writes one record from named fields: each column's field, empty when absent.
    pub fn write_fields(&mut self, fields: &[(String, Value)]) -> Result<()> {
        let null = Value::Null;
        let vals: Vec<&Value> = self
            .columns
            .iter()
            .map(|c| {
                fields
                    .iter()
                    .find(|(k, _)| k == c)
                    .map_or(&null, |(_, v)| v)
            })
            .collect();
        self.write_values(vals)
    }

    /// Flushes and returns the number of records (header excluded).
    pub fn finish(mut self) -> Result<u64> {
        self.w.flush().map_err(io_err)?;
        Ok(self.rows)
    }
}

fn write_record<'a>(w: &mut impl Write, fields: impl Iterator<Item = Cow<'a, str>>) -> Result<()> {
    let mut line = String::new();
    for (i, f) in fields.enumerate() {
        if i > 0 {
            line.push(',');
        }
        line.push_str(&csv_field(&f));
    }
    line.push_str("\r\n");
    w.write_all(line.as_bytes()).map_err(io_err)
}

// ---------------------------------------------------------------------------------------------
// JSON.

/// Writes a JSON array, one element per line, as elements come.
pub struct JsonWriter<W: Write> {
    w: W,
    rows: u64,
}

impl<W: Write> JsonWriter<W> {
    pub fn new(mut w: W) -> Result<Self> {
        w.write_all(b"[").map_err(io_err)?;
        Ok(Self { w, rows: 0 })
    }

    pub fn write<T: Serialize + ?Sized>(&mut self, row: &T) -> Result<()> {
        self.w
            .write_all(if self.rows == 0 { b"\n" } else { b",\n" })
            .map_err(io_err)?;
        serde_json::to_writer(&mut self.w, row)
            .map_err(|e| CoreError::Internal(format!("cannot serialise a row: {e}")))?;
        self.rows += 1;
        Ok(())
    }

    pub fn finish(mut self) -> Result<u64> {
        self.w.write_all(b"\n]\n").map_err(io_err)?;
        self.w.flush().map_err(io_err)?;
        Ok(self.rows)
    }
}

/// Either writer, for rows given as named fields.
pub enum RowWriter<W: Write> {
    Csv(CsvWriter<W>),
    Json(JsonWriter<W>),
}

impl<W: Write> RowWriter<W> {
    pub fn new(format: ExportFormat, w: W, columns: Vec<String>) -> Result<Self> {
        Ok(match format {
            ExportFormat::Csv => RowWriter::Csv(CsvWriter::new(w, columns)?),
            ExportFormat::Json => RowWriter::Json(JsonWriter::new(w)?),
        })
    }

    pub fn write_row(&mut self, row: &TableRow) -> Result<()> {
        match self {
            RowWriter::Csv(c) => c.write_fields(&row.0),
            RowWriter::Json(j) => j.write(row),
        }
    }

    pub fn finish(self) -> Result<u64> {
        match self {
            RowWriter::Csv(c) => c.finish(),
            RowWriter::Json(j) => j.finish(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Generic rows.

/// A value's top-level fields in their serialisation order (objects), or one `value` field.
struct Fields(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for Fields {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Fields;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut m: A,
            ) -> std::result::Result<Fields, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = m.next_entry::<String, Value>()? {
                    out.push((k, v));
                }
                Ok(Fields(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// The top-level fields of a serialisable value, in order (a non-object is one `value` field).
pub fn flatten_fields<T: Serialize>(row: &T) -> Result<Vec<(String, Value)>> {
    let text = serde_json::to_string(row)
        .map_err(|e| CoreError::Internal(format!("cannot serialise a row: {e}")))?;
    match serde_json::from_str::<Fields>(&text) {
        Ok(f) => Ok(f.0),
        Err(_) => Ok(vec![(
            "value".to_string(),
            serde_json::from_str(&text).unwrap_or(Value::Null),
        )]),
    }
}

/// Writes serialisable rows as CSV: the columns are the first row's top-level fields (in
/// declaration order), nested values become JSON text, fields that later rows lack are empty
/// and fields the first row lacked are left out. Rows are written as the iterator yields them.
/// Returns the number of rows. No rows: nothing is written.
pub fn write_csv<T: Serialize>(rows: impl IntoIterator<Item = T>, w: impl Write) -> Result<u64> {
    let mut writer: Option<CsvWriter<_>> = None;
    let mut w = Some(w);
    for row in rows {
        let mut fields = flatten_fields(&row)?;
        fields.iter_mut().for_each(|(_, v)| redact_json(v));
        let cw = match writer.as_mut() {
            Some(cw) => cw,
            None => {
                let cols = fields.iter().map(|(k, _)| k.clone()).collect();
                let out = w
                    .take()
                    .ok_or_else(|| CoreError::Internal("csv writer lost its output".into()))?;
                writer.insert(CsvWriter::new(out, cols)?)
            }
        };
        cw.write_fields(&fields)?;
    }
    match writer {
        Some(cw) => cw.finish(),
        None => Ok(0),
    }
}

/// Writes serialisable rows as one JSON array, each row as it comes (redacted).
pub fn write_json<T: Serialize>(rows: impl IntoIterator<Item = T>, w: impl Write) -> Result<u64> {
    let mut jw = JsonWriter::new(w)?;
    for row in rows {
        let mut v = serde_json::to_value(&row)
            .map_err(|e| CoreError::Internal(format!("cannot serialise a row: {e}")))?;
        redact_json(&mut v);
        jw.write(&v)?;
    }
    jw.finish()
}

/// [`write_csv`] or [`write_json`].
pub fn write_rows<T: Serialize>(
    format: ExportFormat,
    rows: impl IntoIterator<Item = T>,
    w: impl Write,
) -> Result<u64> {
    match format {
        ExportFormat::Csv => write_csv(rows, w),
        ExportFormat::Json => write_json(rows, w),
    }
}

// ---------------------------------------------------------------------------------------------
// Streaming a query.

/// Runs `sql` with text binds through a server-side cursor in a read-only transaction and
/// calls `each` on every row as batches arrive. Returns the number of rows.
pub async fn stream_query(
    pool: &PgPool,
    ep: &Endpoint,
    sql: &str,
    binds: &[Option<String>],
    mut each: impl FnMut(&PgRow) -> Result<()>,
) -> Result<u64> {
    let map = |e| tables::map_table_error(e, ep);
    let mut tx = pool.begin().await.map_err(map)?;
    sqlx::raw_sql("SET TRANSACTION READ ONLY")
        .execute(&mut *tx)
        .await
        .map_err(map)?;
    // Not prepared statements: a cached `FETCH` would keep the row shape of the first cursor
    // it met on this connection.
    let mut declare = sqlx::query(sqlx::AssertSqlSafe(format!(
        "DECLARE bsi_export NO SCROLL CURSOR FOR {sql}"
    )))
    .persistent(false);
    for b in binds {
        declare = declare.bind(b.clone());
    }
    declare.execute(&mut *tx).await.map_err(map)?;
    let fetch = format!("FETCH FORWARD {BATCH_ROWS} FROM bsi_export");
    let mut n = 0u64;
    loop {
        let rows = sqlx::query(sqlx::AssertSqlSafe(fetch.clone()))
            .persistent(false)
            .fetch_all(&mut *tx)
            .await
            .map_err(map)?;
        if rows.is_empty() {
            break;
        }
        for r in &rows {
            each(r)?;
            n += 1;
        }
        if rows.len() < BATCH_ROWS {
            break;
        }
    }
    tx.rollback().await.map_err(map)?;
    Ok(n)
}

/// Exports a table with the filters and sort of `q` (its `limit` and `cursor` are ignored:
/// every matching row is written, from the start), masked and redacted like table pages,
/// `bytea` in full.
pub async fn export_table<W: Write + Send>(
    conns: &Connections,
    target: &Target,
    table: &str,
    q: &TableQuery,
    format: ExportFormat,
    w: W,
) -> Result<ExportSummary> {
    let (pool, meta) = tables::table_meta(conns, target, table).await?;
    let q = TableQuery {
        cursor: None,
        limit: None,
        ..q.clone()
    };
    let plan = tables::plan(&meta, &q, PlanFor::Export)?;
    let columns = plan.columns();
    let mut out = RowWriter::new(format, w, columns.clone())?;
    stream_query(&pool, &meta.scope.endpoint, &plan.sql, &plan.binds, |r| {
        let (row, _) = plan.decode(r)?;
        out.write_row(&row)
    })
    .await?;
    let rows = out.finish()?;
    Ok(ExportSummary {
        format,
        rows,
        columns,
        sql: Some(plan.sql),
    })
}

// ---------------------------------------------------------------------------------------------
// Entities.

/// Which entities to export.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default)]
pub struct EntityExport {
    /// Only these kinds (case-insensitive).
    pub kinds: Vec<String>,
    /// Only this namespace.
    pub namespace: Option<String>,
    /// Only entity refs containing this text (case-insensitive).
    pub contains: Option<String>,
    /// Add the whole entity as a JSON tree (`entity` column).
    pub full: bool,
}

/// The columns of an entity export (plus `entity` with [`EntityExport::full`]).
pub const ENTITY_COLUMNS: [&str; 12] = [
    "entity_ref",
    "kind",
    "namespace",
    "name",
    "title",
    "type",
    "lifecycle",
    "owner",
    "system",
    "tags",
    "description",
    "last_updated_at",
];

/// The SQL of [`export_entities`]: `$1` kinds (lower-case array, or NULL), `$2` namespace (or
/// NULL), `$3` an ILIKE pattern on the entity ref (or NULL); ordered by entity ref.
pub fn entities_sql(schema: &str) -> String {
    let s = quote_ident(schema);
    format!(
        "SELECT f.entity_ref, f.final_entity, to_jsonb(f.last_updated_at) AS last_updated_at \
         FROM {s}.final_entities f \
         WHERE f.final_entity IS NOT NULL \
           AND ($1::text[] IS NULL OR split_part(f.entity_ref, ':', 1) = ANY($1::text[])) \
           AND ($2::text IS NULL OR split_part(split_part(f.entity_ref, ':', 2), '/', 1) = lower($2::text)) \
           AND ($3::text IS NULL OR f.entity_ref ILIKE $3::text) \
         ORDER BY f.entity_ref"
    )
}

const NEED_FINAL: Need = Need {
    table: "final_entities",
    columns: &["entity_ref", "final_entity", "last_updated_at"],
    since: "the catalog's stitched entities, present in every catalog-backend",
};

fn entity_fields(
    entity_ref: String,
    raw: Option<String>,
    updated: Option<Value>,
    full: bool,
) -> TableRow {
    let mut e: Value = raw
        .as_deref()
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or(Value::Null);
    redact_json(&mut e);
    let (meta, spec) = (&e["metadata"], &e["spec"]);
    let s = |v: &Value| {
        v.as_str()
            .map_or(Value::Null, |s| Value::String(s.to_string()))
    };
    let mut cells = vec![
        ("entity_ref".to_string(), Value::String(entity_ref)),
        ("kind".to_string(), s(&e["kind"])),
        (
            "namespace".to_string(),
            Value::String(meta["namespace"].as_str().unwrap_or("default").to_string()),
        ),
        ("name".to_string(), s(&meta["name"])),
        ("title".to_string(), s(&meta["title"])),
        ("type".to_string(), s(&spec["type"])),
        ("lifecycle".to_string(), s(&spec["lifecycle"])),
        ("owner".to_string(), s(&spec["owner"])),
        ("system".to_string(), s(&spec["system"])),
        (
            "tags".to_string(),
            meta.get("tags").cloned().unwrap_or(Value::Null),
        ),
        ("description".to_string(), s(&meta["description"])),
        (
            "last_updated_at".to_string(),
            updated.unwrap_or(Value::Null),
        ),
    ];
    if full {
        cells.push(("entity".to_string(), e));
    }
    TableRow(cells)
}

/// Exports catalog entities (from `final_entities`), streamed, ordered by entity ref.
pub async fn export_entities<W: Write + Send>(
    conns: &Connections,
    q: &EntityExport,
    format: ExportFormat,
    w: W,
) -> Result<ExportSummary> {
    let scope = area_scope(conns, "catalog")?;
    let pool = conns.pool(&scope.endpoint).await?;
    let schema = DbSchema::read(&pool, &scope.endpoint, &scope.schema).await?;
    schema.check("Entity export", &[NEED_FINAL])?;
    let mut columns: Vec<String> = ENTITY_COLUMNS.iter().map(|c| c.to_string()).collect();
    if q.full {
        columns.push("entity".to_string());
    }
    let kinds: Option<String> = (!q.kinds.is_empty()).then(|| {
        // A text[] literal, bound as one value and cast in the SQL.
        let items: Vec<String> = q
            .kinds
            .iter()
            .map(|k| {
                format!(
                    "\"{}\"",
                    k.trim()
                        .to_lowercase()
                        .replace('\\', "\\\\")
                        .replace('"', "\\\"")
                )
            })
            .collect();
        format!("{{{}}}", items.join(","))
    });
    let pattern = q.contains.as_deref().map(|c| {
        let mut p = String::from("%");
        for ch in c.chars() {
            if matches!(ch, '\\' | '%' | '_') {
                p.push('\\');
            }
            p.push(ch);
        }
        p.push('%');
        p
    });
    let binds = vec![kinds, q.namespace.clone(), pattern];
    let sql = entities_sql(&scope.schema);
    let mut out = RowWriter::new(format, w, columns.clone())?;
    stream_query(&pool, &scope.endpoint, &sql, &binds, |r| {
        let row = entity_fields(
            r.try_get("entity_ref")
                .map_err(|e| CoreError::Internal(e.to_string()))?,
            r.try_get("final_entity")
                .map_err(|e| CoreError::Internal(e.to_string()))?,
            r.try_get("last_updated_at")
                .map_err(|e| CoreError::Internal(e.to_string()))?,
            q.full,
        );
        out.write_row(&row)
    })
    .await?;
    let rows = out.finish()?;
    Ok(ExportSummary {
        format,
        rows,
        columns,
        sql: Some(sql),
    })
}

// ---------------------------------------------------------------------------------------------
// Files.

/// A file written through a temporary file in the same folder and renamed into place on
/// [`AtomicFile::commit`]: readers see the old file or the complete new one, never half of
/// one; dropped without commit, the temporary file is removed.
pub struct AtomicFile {
    path: PathBuf,
    tmp: tempfile::NamedTempFile,
}

impl AtomicFile {
    pub fn create(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf();
        if path.is_dir() {
            return Err(CoreError::config(format!(
                "{} is a folder: give a file name for the export",
                path.display()
            )));
        }
        let tmp = tempfile::Builder::new()
            .prefix(".bsi-export-")
            .tempfile_in(&dir)
            .map_err(|e| CoreError::io("cannot create a file in", dir, e))?;
        Ok(Self { path, tmp })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Flushes, syncs and renames the file into place.
    pub fn commit(mut self) -> Result<()> {
        self.tmp
            .flush()
            .and_then(|_| self.tmp.as_file().sync_all())
            .map_err(|e| CoreError::io("cannot write", self.path.clone(), e))?;
        let path = self.path.clone();
        self.tmp
            .persist(&path)
            .map_err(|e| CoreError::io("cannot replace", path, e.error))?;
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.tmp.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.tmp.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct R {
        zeta: &'static str,
        alpha: Option<i32>,
        nested: Value,
    }

    #[test]
    fn csv_follows_rfc_4180_and_field_order() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
        let rows = vec![
            R {
                zeta: "x,y",
                alpha: Some(1),
                nested: serde_json::json!({"b": [1, 2]}),
            },
            R {
                zeta: "q\"",
                alpha: None,
                nested: serde_json::json!({"password": "p"}),
            },
        ];
        let mut out = Vec::new();
        assert_eq!(write_csv(rows, &mut out).unwrap(), 2);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "zeta,alpha,nested\r\n\"x,y\",1,\"{\"\"b\"\":[1,2]}\"\r\n\"q\"\"\",,\"{\"\"password\"\":\"\"<redacted>\"\"}\"\r\n"
        );
        let mut empty = Vec::new();
        assert_eq!(write_csv(Vec::<R>::new(), &mut empty).unwrap(), 0);
        // Spreadsheet formulas are neutralised; numbers are not.
        for (raw, want) in [
            ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
            ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\t=1", "'\t=1"),
            ("-5", "-5"),
            ("+3.5", "+3.5"),
            ("a=b", "a=b"),
        ] {
            assert_eq!(csv_text(&Value::String(raw.into())), want, "{raw}");
        }
        assert!(empty.is_empty());
    }

    #[test]
    fn json_streams_an_array() {
        let mut out = Vec::new();
        assert_eq!(
            write_json(
                vec![
                    serde_json::json!({"a": 1}),
                    serde_json::json!({"token": "t"})
                ],
                &mut out
            )
            .unwrap(),
            2
        );
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v, serde_json::json!([{"a": 1}, {"token": "<redacted>"}]));
        let mut out = Vec::new();
        write_json(Vec::<Value>::new(), &mut out).unwrap();
        assert_eq!(
            serde_json::from_slice::<Value>(&out).unwrap(),
            serde_json::json!([])
        );
        assert_eq!("CSV".parse::<ExportFormat>().unwrap(), ExportFormat::Csv);
        assert!("xml".parse::<ExportFormat>().is_err());
    }

    #[test]
    fn atomic_file_appears_on_commit_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.csv");
        let mut f = AtomicFile::create(&path).unwrap();
        f.write_all(b"a\r\n").unwrap();
        assert!(!path.exists());
        f.commit().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"a\r\n");
        let mut f = AtomicFile::create(&path).unwrap();
        f.write_all(b"b").unwrap();
        drop(f);
        assert_eq!(std::fs::read(&path).unwrap(), b"a\r\n");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}

//! Streaming a query into a writer: [`RowWriter`] (CSV or JSON, for rows of named fields),
//! [`stream_query`] (a server-side cursor in a read-only transaction, [`BATCH_ROWS`] at a
//! time) and the two together, which every streamed export goes through; [`write_rows`] for
//! rows already in memory.
//!
//! Memory holds one batch, never the table: each row is written as soon as it is decoded.

use std::io::Write;

use serde::Serialize;
use sqlx::postgres::PgRow;

use crate::connect::{Endpoint, PgPool};
use crate::error::Result;
use crate::sql::Sql;
use crate::tables::{TableRow, map_table_error};

use super::csv::{CsvWriter, write_csv};
use super::format::{ExportFormat, ExportSummary};
use super::json::{JsonWriter, write_json};

/// Rows fetched from the server-side cursor at a time.
pub const BATCH_ROWS: usize = 500;

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

/// Runs `sql` through a server-side cursor in a read-only transaction and
/// calls `each` on every row as batches arrive. Returns the number of rows.
pub async fn stream_query(
    pool: &PgPool,
    ep: &Endpoint,
    sql: &Sql,
    mut each: impl FnMut(&PgRow) -> Result<()>,
) -> Result<u64> {
    let map = |e| map_table_error(e, ep);
    let mut tx = pool.begin().await.map_err(map)?;
    sqlx::raw_sql("SET TRANSACTION READ ONLY")
        .execute(&mut *tx)
        .await
        .map_err(map)?;
    // Not prepared statements: a cached `FETCH` would keep the row shape of the first cursor
    // it met on this connection.
    sql.wrapped(|s| format!("DECLARE bsi_export NO SCROLL CURSOR FOR {s}"))
        .query()
        .persistent(false)
        .execute(&mut *tx)
        .await
        .map_err(map)?;
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

/// A query whose rows an export streams: where it runs, its SQL and its binds.
pub(super) struct Source<'a> {
    pub pool: &'a PgPool,
    pub ep: &'a Endpoint,
    pub sql: &'a Sql,
}

/// Streams the rows of `src` to `w` as `format` with `columns`, each row made by `row`, and
/// says what was written.
pub(super) async fn export_rows<W: Write + Send>(
    src: Source<'_>,
    format: ExportFormat,
    w: W,
    columns: Vec<String>,
    mut row: impl FnMut(&PgRow) -> Result<TableRow>,
) -> Result<ExportSummary> {
    let mut out = RowWriter::new(format, w, columns.clone())?;
    stream_query(src.pool, src.ep, src.sql, |r| out.write_row(&row(r)?)).await?;
    let rows = out.finish()?;
    Ok(ExportSummary {
        format,
        rows,
        columns,
        sql: Some(src.sql.text.clone()),
    })
}

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
//!
//! The rooms, each building only on those listed before it:
//! - `format`: [`ExportFormat`] and [`ExportSummary`];
//! - `csv`: CSV fields and records, spreadsheet formulas neutralised, [`write_csv`];
//! - `json`: the streamed JSON array, [`write_json`];
//! - `stream`: [`RowWriter`], [`stream_query`] and the two together;
//! - `entities`: [`export_entities`];
//! - `file`: [`AtomicFile`];
//! - this file: [`export_table`].

mod csv;
mod entities;
mod file;
mod format;
mod json;
mod stream;

use std::io::Write;

use crate::connect::Connections;
use crate::error::Result;
use crate::tables::{self, PlanFor, TableQuery, Target};

pub use csv::{CsvWriter, csv_field, csv_text, flatten_fields, write_csv};
pub use entities::{ENTITY_COLUMNS, EntityExport, entities_sql, export_entities};
pub use file::AtomicFile;
pub use format::{ExportFormat, ExportSummary};
pub use json::{JsonWriter, write_json};
pub use stream::{BATCH_ROWS, RowWriter, stream_query, write_rows};

use stream::{Source, export_rows};

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
    let src = Source {
        pool: &pool,
        ep: &meta.scope.endpoint,
        sql: &plan.sql,
    };
    export_rows(src, format, w, plan.columns(), |r| {
        let (row, _) = plan.decode(r)?;
        Ok(row)
    })
    .await
}

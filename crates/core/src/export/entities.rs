//! The export of catalog entities ([`export_entities`]): one row per entity of
//! `final_entities`, with the usual columns ([`ENTITY_COLUMNS`]) read from its redacted JSON,
//! optionally the whole entity, filtered by kind, namespace and text in the entity ref.

use std::io::Write;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::Row as _;

use crate::area::locate;
use crate::connect::Connections;
use crate::error::{CoreError, Result};
use crate::redact::redact_json;
use crate::schema::Need;
use crate::sql::{Param, Sql, like_contains};
use crate::tables::TableRow;

use super::format::{ExportFormat, ExportSummary};
use super::stream::{Source, export_rows};

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
/// NULL), `$3` an ILIKE pattern on the entity ref (or NULL); ordered by entity ref. `stitched`
/// is the stitched entities as a `FROM` item ([`crate::catalog::stitched`]); `updated` whether
/// they have `last_updated_at` (catalog migration
/// 20221201085245_add_last_updated_at_in_final_entities added it).
pub fn entities_sql(stitched: &str, updated: bool) -> String {
    let updated = if updated {
        "to_jsonb(f.last_updated_at)"
    } else {
        "NULL::jsonb"
    };
    format!(
        "SELECT f.entity_ref, f.final_entity, {updated} AS last_updated_at \
         FROM {stitched} f \
         WHERE f.final_entity IS NOT NULL \
           AND ($1::text[] IS NULL OR split_part(f.entity_ref, ':', 1) = ANY($1::text[])) \
           AND ($2::text IS NULL OR split_part(split_part(f.entity_ref, ':', 2), '/', 1) = lower($2::text)) \
           AND ($3::text IS NULL OR f.entity_ref ILIKE $3::text) \
         ORDER BY f.entity_ref"
    )
}

const NEED_FINAL: Need = Need {
    table: "final_entities",
    columns: &["entity_id", "final_entity"],
    since: "the catalog's stitched entities",
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

/// The `text[]` literal of the kinds (lower-cased), bound as one value and cast in the SQL;
/// `None` for no kinds.
fn kinds_literal(kinds: &[String]) -> Option<String> {
    (!kinds.is_empty()).then(|| {
        let items: Vec<String> = kinds
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
    })
}

/// Exports catalog entities (from `final_entities`), streamed, ordered by entity ref.
pub async fn export_entities<W: Write + Send>(
    conns: &Connections,
    q: &EntityExport,
    format: ExportFormat,
    w: W,
) -> Result<ExportSummary> {
    let at = locate(conns, "catalog")?;
    let (pool, schema) = at.open(conns).await?;
    schema.check("Entity export", &[NEED_FINAL])?;
    let stitched = crate::catalog::require_stitched(&schema, "Entity export")?;
    let mut columns: Vec<String> = ENTITY_COLUMNS.iter().map(|c| c.to_string()).collect();
    if q.full {
        columns.push("entity".to_string());
    }
    let sql = Sql {
        text: entities_sql(
            &stitched,
            schema.has_column("final_entities", "last_updated_at"),
        ),
        params: vec![
            Param::OptText(kinds_literal(&q.kinds)),
            Param::OptText(q.namespace.clone()),
            Param::OptText(q.contains.as_deref().map(like_contains)),
        ],
        replan: false,
    };
    let src = Source {
        pool: &pool,
        ep: &at.endpoint,
        sql: &sql,
    };
    export_rows(src, format, w, columns, |r| {
        let dec = |e: sqlx::Error| CoreError::Internal(e.to_string());
        Ok(entity_fields(
            r.try_get("entity_ref").map_err(dec)?,
            r.try_get("final_entity").map_err(dec)?,
            r.try_get("last_updated_at").map_err(dec)?,
            q.full,
        ))
    })
    .await
}

//! TechDocs as the databases know it, and where its data really lives.
//!
//! This module owns: the list of catalog entities with a `backstage.io/techdocs-ref`
//! annotation (read from the catalog's own `search` key/value table, falling back to the
//! `final_entities` JSON on installs without it), whether the search index (`documents` of
//! search-backend-module-pg) holds `techdocs` pages for each of them. The explanations for
//! table names people look for that do not exist ([`explain_missing_table`], `techdocs_metadata`
//! among them) belong to the table lookup, [`crate::tables`], and are re-exported here.
//!
//! TechDocs has **no tables of its own**: the metadata of a built site is a file,
//! `techdocs_metadata.json`, beside the site in the publisher's storage ([`METADATA_EXPLANATION`]).

use std::collections::HashMap;

use serde::Serialize;
use sqlx::Row;

use crate::connect::{Connections, map_query_error};
use crate::error::{CoreError, Result};
use crate::page::{Page, decode_cursor, encode_cursor, limit};
use crate::redact::redact_text;
use crate::schema::{DbSchema, Need};
use crate::sql::quote_ident;
use crate::tables::{Scope, area_scope};

/// The annotation that marks an entity as having TechDocs.
pub const TECHDOCS_REF_ANNOTATION: &str = "backstage.io/techdocs-ref";
/// The key of that annotation in the catalog's `search` table (keys are lower-cased there).
pub const TECHDOCS_REF_SEARCH_KEY: &str = "metadata.annotations.backstage.io/techdocs-ref";
/// The file that holds a site's metadata in the publisher's storage.
pub const METADATA_FILE: &str = "techdocs_metadata.json";
/// The search document type of TechDocs pages.
pub const SEARCH_TYPE: &str = "techdocs";

/// Where TechDocs metadata really lives.
pub use crate::tables::TECHDOCS_METADATA_EXPLANATION as METADATA_EXPLANATION;
pub use crate::tables::explain_missing_table;

/// One entity with TechDocs.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TechDocsEntity {
    pub entity_ref: String,
    /// The annotation's value, e.g. `dir:.` or `url:https://github.com/org/repo`.
    pub techdocs_ref: String,
    pub title: Option<String>,
    /// How many `techdocs` documents the search index holds for this entity; `None` when the
    /// search index could not be read (see [`TechDocsList::search`]).
    pub search_documents: Option<i64>,
    /// Why the entity's stored JSON could not be read (then `title`, and `techdocs_ref` when the
    /// `search` table has no value for it, are blank); absent when it was read.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub problem: Option<String>,
}

/// Whether the search index could be consulted.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SearchIndexStatus {
    pub available: bool,
    /// Why not, when not.
    pub reason: Option<String>,
}

/// A page of entities with TechDocs.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TechDocsList {
    #[serde(flatten)]
    pub page: Page<TechDocsEntity>,
    /// All entities with the annotation.
    pub total: i64,
    pub search: SearchIndexStatus,
    /// Where the annotation was read: `search_table` (the catalog's key/value index) or
    /// `final_entities` (the entities' JSON, on installs without a usable `search` table).
    pub source: &'static str,
    /// Where TechDocs metadata really lives ([`METADATA_EXPLANATION`]).
    pub metadata: &'static str,
}

/// Paging through [`list`].
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default)]
pub struct TechDocsQuery {
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub limit: Option<usize>,
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub cursor: Option<String>,
}

const NEED_FINAL: Need = Need {
    table: "final_entities",
    columns: &["entity_id", "final_entity"],
    since: "the catalog's stitched entities",
};
const NEED_SEARCH: Need = Need {
    table: "search",
    columns: &["entity_id", "key", "value", "original_value"],
    since: "search.original_value was added by catalog migration 20221109192547_search_add_original_value_column",
};
const NEED_DOCUMENTS: Need = Need {
    table: "documents",
    columns: &["type", "document"],
    since: "created by search-backend-module-pg; without it the search index is not PostgreSQL",
};

/// The SQL of one page of [`list`], with the total: `$1` the search key (or, for the
/// fallback, the annotation), then `$2` the last entity_ref of the previous page when `after`
/// is set, then the limit. Always returns one row at least (the total; the entity columns are
/// NULL when the page is empty).
///
/// `from_search_table` reads the annotation's rows from the catalog's `search` table (the
/// covering index `search_facets_covering_idx`, and `search_key_value_entity_idx` for values
/// over 200 characters), resolves their refs through `final_entities`' primary key, and sorts
/// them: its cost follows the number of entities with TechDocs, not the catalog's size.
/// Otherwise the entities whose JSON text names the annotation are read, and the annotation's
/// value is taken from the text (no cast on the server, so one entity that is not JSON cannot
/// fail the statement).
///
/// `fe` is the stitched entities as a `FROM` item ([`crate::catalog::stitched`]: older
/// catalogs take the ref from `refresh_state`).
///
/// The page's entities come back as text (`raw`) and are parsed here, for their titles (and
/// the annotation where the `search` table has no value for it), so one entity that is not
/// JSON is reported on its row instead of failing the statement.
pub fn list_sql(schema: &str, fe: &str, from_search_table: bool, after: bool) -> String {
    let s = quote_ident(schema);
    let (cursor, lim) = if after {
        ("WHERE j.entity_ref > $2 ", "$3")
    } else {
        ("", "$2")
    };
    let matched = if from_search_table {
        format!(
            "td AS MATERIALIZED ( \
               SELECT s.entity_id, s.original_value FROM {s}.search s WHERE s.key = $1 AND s.original_value IS NOT NULL \
               UNION ALL \
               SELECT s.entity_id, NULL FROM {s}.search s WHERE s.key = $1 AND s.value IS NULL AND s.original_value IS NULL), \
             j AS MATERIALIZED ( \
               SELECT x.entity_id, x.entity_ref, x.original_value FROM ( \
                 SELECT td.entity_id, td.original_value, \
                        (SELECT f.entity_ref FROM {fe} f WHERE f.entity_id = td.entity_id) AS entity_ref \
                 FROM td) x \
               WHERE x.entity_ref IS NOT NULL)"
        )
    } else {
        let pattern = format!(
            "\"{}\"\\s*:\\s*\"([^\"]*)\"",
            TECHDOCS_REF_ANNOTATION.replace('.', "\\.")
        );
        format!(
            "j AS MATERIALIZED ( \
               SELECT x.* FROM ( \
                 SELECT f.entity_id, f.entity_ref, substring(f.final_entity from '{pattern}') AS original_value \
                 FROM {fe} f WHERE f.final_entity LIKE '%' || $1 || '%') x \
               WHERE x.original_value IS NOT NULL)"
        )
    };
    format!(
        "WITH {matched}, \
         page AS (SELECT j.* FROM j {cursor}ORDER BY j.entity_ref LIMIT {lim}) \
         SELECT t.total, p.entity_ref, p.original_value AS techdocs_ref, f.final_entity::text AS raw \
         FROM (SELECT count(*) AS total FROM j) t \
         LEFT JOIN (page p JOIN {fe} f ON f.entity_id = p.entity_id) ON true \
         ORDER BY p.entity_ref"
    )
}

/// The SQL that counts the `techdocs` search documents of the entity refs in `$2` (`$1` is the
/// document type). A TechDocs document names its entity with `kind`, `namespace` and `name`
/// (older collators only with `location`, `/docs/<namespace>/<kind>/<name>/...`).
pub fn search_documents_sql(schema: &str) -> String {
    let s = quote_ident(schema);
    format!(
        "SELECT ref, count(*) AS n FROM ( \
           SELECT lower(coalesce(d.document->>'kind', split_part(d.document->>'location', '/', 4))) || ':' || \
                  lower(coalesce(d.document->>'namespace', nullif(split_part(d.document->>'location', '/', 3), ''), 'default')) || '/' || \
                  lower(coalesce(d.document->>'name', split_part(d.document->>'location', '/', 5))) AS ref \
           FROM {s}.documents d WHERE d.type = $1) x \
         WHERE ref = ANY($2) GROUP BY ref"
    )
}

/// Entities with TechDocs, a page at a time, ordered by entity ref, each with the number of
/// its pages in the search index.
pub async fn list(conns: &Connections, q: &TechDocsQuery) -> Result<TechDocsList> {
    let scope = area_scope(conns, "catalog")?;
    let pool = conns.pool(&scope.endpoint).await?;
    let ep = &scope.endpoint;
    let schema = DbSchema::read(&pool, ep, &scope.schema).await?;
    schema.check("TechDocs", &[NEED_FINAL])?;
    let fe = crate::catalog::require_stitched(&schema, "TechDocs")?;
    let from_search = schema.check("TechDocs", &[NEED_SEARCH]).is_ok();
    let key = if from_search {
        TECHDOCS_REF_SEARCH_KEY
    } else {
        TECHDOCS_REF_ANNOTATION
    };
    let n = limit(q.limit);
    let after = match q.cursor.as_deref() {
        Some(c) => Some(
            decode_cursor(c, 1)?
                .remove(0)
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| CoreError::config("invalid page cursor: use the next_cursor value of the previous page unchanged"))?,
        ),
        None => None,
    };
    let sql = list_sql(&scope.schema, &fe, from_search, after.is_some());
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(key);
    if let Some(a) = &after {
        query = query.bind(a);
    }
    let rows = query
        .bind((n + 1) as i64)
        .fetch_all(&pool)
        .await
        .map_err(|e| map_query_error(e, ep))?;
    let total: i64 = rows.first().map_or(0, |r| r.get("total"));
    let mut items: Vec<TechDocsEntity> = rows
        .iter()
        .filter_map(|r| {
            let entity_ref = r.get::<Option<String>, _>("entity_ref")?;
            let raw: Option<String> = r.get("raw");
            let (doc, problem) = match raw.as_deref().map(serde_json::from_str::<serde_json::Value>) {
                Some(Ok(v)) => (Some(v), None),
                Some(Err(e)) => (
                    None,
                    Some(format!(
                        "unreadable row in final_entities: the stored entity is not valid JSON ({e})"
                    )),
                ),
                None => (None, None),
            };
            let at = |p: &str| {
                doc.as_ref()
                    .and_then(|d| d.pointer(p))
                    .and_then(serde_json::Value::as_str)
                    .map(str::to_string)
            };
            let techdocs_ref = at("/metadata/annotations/backstage.io~1techdocs-ref")
                .or_else(|| r.get::<Option<String>, _>("techdocs_ref"));
            Some(TechDocsEntity {
                entity_ref,
                techdocs_ref: redact_text(&techdocs_ref.unwrap_or_default()),
                title: at("/metadata/title"),
                search_documents: None,
                problem,
            })
        })
        .collect();
    let next_cursor = if items.len() > n {
        items.truncate(n);
        items
            .last()
            .map(|e| encode_cursor(&[serde_json::Value::String(e.entity_ref.clone())]))
    } else {
        None
    };
    let search = match search_counts(conns, &items).await {
        Ok(counts) => {
            for e in &mut items {
                e.search_documents = Some(counts.get(&e.entity_ref).copied().unwrap_or(0));
            }
            SearchIndexStatus {
                available: true,
                reason: None,
            }
        }
        Err(e) => SearchIndexStatus {
            available: false,
            reason: Some(e.to_string()),
        },
    };
    Ok(TechDocsList {
        page: Page { items, next_cursor },
        total,
        search,
        source: if from_search {
            "search_table"
        } else {
            "final_entities"
        },
        metadata: METADATA_EXPLANATION,
    })
}

async fn search_counts(
    conns: &Connections,
    items: &[TechDocsEntity],
) -> Result<HashMap<String, i64>> {
    let scope: Scope = area_scope(conns, "search")?;
    let pool = conns.pool(&scope.endpoint).await?;
    let schema = DbSchema::read(&pool, &scope.endpoint, &scope.schema).await?;
    schema.check("TechDocs search documents", &[NEED_DOCUMENTS])?;
    if items.is_empty() {
        return Ok(HashMap::new());
    }
    let refs: Vec<String> = items.iter().map(|e| e.entity_ref.to_lowercase()).collect();
    let rows = sqlx::query(sqlx::AssertSqlSafe(search_documents_sql(&scope.schema)))
        .bind(SEARCH_TYPE)
        .bind(&refs)
        .fetch_all(&pool)
        .await
        .map_err(|e| map_query_error(e, &scope.endpoint))?;
    let counts: HashMap<String, i64> = rows
        .iter()
        .map(|r| (r.get::<String, _>("ref"), r.get::<i64, _>("n")))
        .collect();
    Ok(items
        .iter()
        .filter_map(|e| {
            counts
                .get(&e.entity_ref.to_lowercase())
                .map(|n| (e.entity_ref.clone(), *n))
        })
        .collect())
}

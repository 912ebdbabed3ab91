//! The reads the relation-graph questions are built from: one level of a BFS over
//! `relations` ([`bfs_level_sql`], [`RelationGraph::level_sql`]), whether each of a set of refs
//! is an entity and its title ([`RelationGraph::node_info_sql`]), the one read-only,
//! worker-free transaction a walk runs in, the note about a missing target index, and the
//! typed column getter every question reads rows with.

use std::collections::HashMap;
use std::fmt::Write as _;

use sqlx::Row;
use sqlx::postgres::{PgConnection, PgRow};

use super::RelationGraph;
use super::vocab::Direction;
use crate::connect::map_query_error;
use crate::error::{CoreError, Result};
use crate::redact::redact_text;
use crate::sql::qualified;

/// A relation row: `(source_entity_ref, type, target_entity_ref)`.
pub(super) type Row3 = (String, String, String);

/// What [`RelationGraph::node_info`] knows of a ref: whether it is a final entity, its title,
/// whether `refresh_state` knows it.
pub(super) type NodeInfo = (bool, Option<String>, bool);

/// Column `i` of a relation query's row.
pub(super) fn get<'r, T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>>(
    row: &'r PgRow,
    i: usize,
) -> Result<T> {
    row.try_get(i)
        .map_err(|e| CoreError::Internal(format!("reading column {i} of a relation query: {e}")))
}

/// The SQL of one BFS level over `relations` in `schema`.
///
/// Binds `$1 text[]` (the frontier's refs), then `text[]` of relation types when `with_types`,
/// then `text[]` of lower-cased kinds of the far end when `with_kinds`. Returns
/// `source_entity_ref, type, target_entity_ref`, not de-duplicated. `Out` uses
/// `relations_source_entity_ref_idx`, `In` `relations_target_entity_ref_idx`, `Both` a
/// BitmapOr of the two (each row once, whichever end is in the frontier).
pub fn bfs_level_sql(
    schema: &str,
    direction: Direction,
    with_types: bool,
    with_kinds: bool,
) -> String {
    let rel = qualified(schema, "relations");
    let types = with_types.then_some(2);
    let kinds = with_kinds.then_some(if with_types { 3 } else { 2 });
    let kind_of = |end: &str| match kinds {
        Some(n) => format!(" AND lower(split_part({end}, ':', 1)) = ANY(${n}::text[])"),
        None => String::new(),
    };
    let mut s = format!("SELECT source_entity_ref, type, target_entity_ref FROM {rel} WHERE ");
    match direction {
        Direction::Out => {
            let _ = write!(
                s,
                "source_entity_ref = ANY($1::text[]){}",
                kind_of("target_entity_ref")
            );
        }
        Direction::In => {
            let _ = write!(
                s,
                "target_entity_ref = ANY($1::text[]){}",
                kind_of("source_entity_ref")
            );
        }
        Direction::Both => {
            let _ = write!(
                s,
                "((source_entity_ref = ANY($1::text[]){}) OR (target_entity_ref = ANY($1::text[]){}))",
                kind_of("target_entity_ref"),
                kind_of("source_entity_ref")
            );
        }
    }
    if let Some(n) = types {
        let _ = write!(s, " AND type = ANY(${n}::text[])");
    }
    s
}

impl RelationGraph {
    /// See [`bfs_level_sql`].
    pub fn level_sql(&self, direction: Direction, with_types: bool, with_kinds: bool) -> String {
        bfs_level_sql(&self.schema, direction, with_types, with_kinds)
    }

    /// The SQL that tells, for `$1 text[]` of refs, whether each is a final entity, its title,
    /// and whether `refresh_state` knows it: columns `ref, in_final, title, in_refresh, raw`.
    ///
    /// The title comes from the catalog's own `search` index (`metadata.title`, one probe of
    /// `search_entity_key_value_idx` per entity) rather than from parsing every entity's JSON;
    /// only for titles too long for that index (over 200 characters), or without that index,
    /// the stored entity comes back as text in `raw` and is parsed here, so one entity that is
    /// not JSON cannot fail the statement.
    pub fn node_info_sql(&self) -> String {
        let raw_text = "f.final_entity::text";
        let (title, raw, title_join) = match (&self.search, self.fe_has_body) {
            (Some(search), body) => (
                "t.v".to_string(),
                if body {
                    format!("CASE WHEN t.v IS NULL AND t.found THEN {raw_text} END")
                } else {
                    "NULL::text".to_string()
                },
                format!(
                    " LEFT JOIN LATERAL (SELECT x.original_value AS v, true AS found FROM {search} x \
                     WHERE x.entity_id = f.entity_id AND x.key = 'metadata.title' LIMIT 1) t ON true"
                ),
            ),
            (None, true) => (
                "NULL::text".to_string(),
                raw_text.to_string(),
                String::new(),
            ),
            (None, false) => (
                "NULL::text".to_string(),
                "NULL::text".to_string(),
                String::new(),
            ),
        };
        let fe = &self.fe;
        let (in_refresh, joins) = match (&self.rs, self.fe_has_ref) {
            (Some(rs), true) => (
                format!(
                    "CASE WHEN f.entity_id IS NULL \
                     THEN EXISTS (SELECT 1 FROM {rs} s WHERE s.entity_ref = u.ref) ELSE true END"
                ),
                format!("LEFT JOIN {fe} f ON f.entity_ref = u.ref"),
            ),
            (Some(rs), false) => (
                "s.entity_id IS NOT NULL".to_string(),
                format!(
                    "LEFT JOIN {rs} s ON s.entity_ref = u.ref LEFT JOIN {fe} f ON f.entity_id = s.entity_id"
                ),
            ),
            (None, _) => (
                "f.entity_id IS NOT NULL".to_string(),
                format!("LEFT JOIN {fe} f ON f.entity_ref = u.ref"),
            ),
        };
        format!(
            "SELECT u.ref, f.entity_id IS NOT NULL AS in_final, {title} AS title, {in_refresh} AS in_refresh, \
             {raw} AS raw FROM unnest($1::text[]) AS u(ref) {joins}{title_join}"
        )
    }

    /// A note for the result when the walk looked rows up by target and `relations` has no
    /// index for that.
    pub(super) fn notes(&self, uses_target: bool) -> Vec<String> {
        if uses_target && !self.target_index {
            vec![format!(
                "{}.relations has no index on target_entity_ref (Backstage adds it in catalog migration \
                 20260516000000_relations_target_index): incoming lookups scan the whole table",
                self.schema
            )]
        } else {
            Vec::new()
        }
    }

    /// The rows of one BFS level: `sql` (from [`RelationGraph::level_sql`]) bound to the
    /// frontier's refs, then the types and kinds it filters on.
    pub(super) async fn fetch_level(
        &self,
        conn: &mut PgConnection,
        sql: &str,
        refs: &[String],
        types: Option<&Vec<String>>,
        kinds: Option<&Vec<String>>,
    ) -> Result<Vec<PgRow>> {
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(refs);
        if let Some(t) = types {
            q = q.bind(t);
        }
        if let Some(k) = kinds {
            q = q.bind(k);
        }
        q.fetch_all(&mut *conn)
            .await
            .map_err(|e| map_query_error(e, &self.ep))
    }

    /// One connection for a whole operation, in a transaction whose statements run without
    /// parallel workers: each BFS level is a few index probes, and starting workers for them
    /// costs more than the probes (and much more on a busy server).
    pub(super) async fn session(&self) -> Result<sqlx::Transaction<'static, sqlx::Postgres>> {
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(|e| map_query_error(e, &self.ep))?;
        sqlx::query("SET LOCAL max_parallel_workers_per_gather = 0")
            .execute(&mut *tx)
            .await
            .map_err(|e| map_query_error(e, &self.ep))?;
        Ok(tx)
    }

    /// Existence, title and refresh-state presence of each ref, and a note for each entity
    /// whose stored JSON had to be read for its title but is not readable.
    pub(super) async fn node_info(
        &self,
        conn: &mut PgConnection,
        refs: &[String],
    ) -> Result<(HashMap<String, NodeInfo>, Vec<String>)> {
        let sql = self.node_info_sql();
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(refs)
            .fetch_all(&mut *conn)
            .await
            .map_err(|e| map_query_error(e, &self.ep))?;
        let mut out = HashMap::with_capacity(rows.len());
        let mut notes = Vec::new();
        for r in &rows {
            let ref_: String = get(r, 0)?;
            let in_final: bool = get(r, 1)?;
            let mut title: Option<String> = get(r, 2)?;
            let in_refresh: Option<bool> = get(r, 3)?;
            let raw: Option<String> = get(r, 4)?;
            if let Some(raw) = raw {
                match serde_json::from_str::<serde_json::Value>(&raw) {
                    Ok(v) => {
                        title = v
                            .pointer("/metadata/title")
                            .and_then(serde_json::Value::as_str)
                            .map(str::to_string);
                    }
                    Err(e) => notes.push(format!(
                        "{}: unreadable row in final_entities, its title is not shown: the stored \
                         entity is not valid JSON ({e})",
                        redact_text(&ref_)
                    )),
                }
            }
            out.insert(ref_, (in_final, title, in_refresh.unwrap_or(false)));
        }
        Ok((out, notes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_sql_binds_in_order() {
        let s = bfs_level_sql("public", Direction::Both, true, true);
        assert!(s.contains("\"public\".\"relations\""));
        assert_eq!(s.matches("$3::text[]").count(), 2);
        let s = bfs_level_sql("we\"ird", Direction::Out, false, true);
        assert!(s.contains("\"we\"\"ird\".\"relations\""));
        assert!(s.contains("$2::text[]") && !s.contains("$3"));
    }
}

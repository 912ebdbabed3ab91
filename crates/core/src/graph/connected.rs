//! The most connected entity: the source of the most relation rows, optionally among one kind
//! (the most connected group, say), found with one scan of `relations` — a starting point for
//! a neighbourhood and the root the benchmark draws its graph around.

use serde::Serialize;

use super::RelationGraph;
use super::reads::get;
use super::vocab::normalize_kind;
use crate::connect::{Connections, map_query_error};
use crate::error::Result;
use crate::redact::redact_text;

/// An entity and how many relation rows have it as source.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Connected {
    pub entity_ref: String,
    pub relations: i64,
}

impl RelationGraph {
    /// The SQL of [`RelationGraph::most_connected`]: binds `$1 text` (a lower-cased kind) when
    /// `with_kind`.
    pub fn most_connected_sql(&self, with_kind: bool) -> String {
        let rel = &self.rel;
        let cond = if with_kind {
            "WHERE lower(split_part(source_entity_ref, ':', 1)) = $1 "
        } else {
            ""
        };
        format!(
            "SELECT source_entity_ref, count(*) AS n FROM {rel} {cond}\
             GROUP BY source_entity_ref ORDER BY n DESC, source_entity_ref LIMIT 1"
        )
    }

    /// The entity that is the source of the most relation rows, optionally of one kind (for
    /// example the most connected group). Scans `relations` once.
    pub async fn most_connected(&self, kind: Option<&str>) -> Result<Option<Connected>> {
        let kind = kind.map(normalize_kind).transpose()?;
        let sql = self.most_connected_sql(kind.is_some());
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        if let Some(k) = &kind {
            q = q.bind(k);
        }
        let row = q
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| map_query_error(e, &self.ep))?;
        row.map(|r| {
            Ok(Connected {
                entity_ref: redact_text(&get::<String>(&r, 0)?),
                relations: get(&r, 1)?,
            })
        })
        .transpose()
    }
}

/// [`RelationGraph::most_connected`] on the profile's catalog.
pub async fn most_connected(conns: &Connections, kind: Option<&str>) -> Result<Option<Connected>> {
    RelationGraph::open(conns).await?.most_connected(kind).await
}

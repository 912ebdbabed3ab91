//! Broken references across the whole catalog: relations whose target is not a final entity,
//! grouped by missing target, keyset-paginated on the target ref, each target with how many
//! distinct relations point at it, a sample of them, and whether the processing loop knows it
//! (an entity whose processing fails) or nothing does.

use std::collections::HashMap;

use serde::Serialize;

use super::RelationGraph;
use super::reads::{Row3, get};
use super::vocab::{GraphEdge, NodeStatus, redact_edge, status};
use crate::connect::{Connections, map_query_error};
use crate::error::{CoreError, Result};
use crate::page::{Page, decode_cursor, encode_cursor};
use crate::redact::redact_text;
use crate::refs::EntityRef;

/// Default number of referring relations listed per missing target.
pub const DEFAULT_BROKEN_SAMPLES: usize = 20;

/// A missing target and the relations that point at it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct BrokenTarget {
    pub target: String,
    pub kind: String,
    /// [`NodeStatus::Errored`] when the processing loop knows it (its processing fails),
    /// else [`NodeStatus::Missing`].
    pub status: NodeStatus,
    /// Distinct `(source, type)` relations pointing at it.
    pub count: i64,
    /// Up to the requested number of them, sorted.
    pub relations: Vec<GraphEdge>,
}

/// What page of broken references to read.
#[derive(Debug, Clone)]
pub struct BrokenRefsOptions {
    /// Missing targets per page (1..=1000, default 100).
    pub limit: Option<usize>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Referring relations listed per target (0..=1000, default 20).
    pub samples: usize,
}

impl Default for BrokenRefsOptions {
    fn default() -> Self {
        Self {
            limit: None,
            cursor: None,
            samples: DEFAULT_BROKEN_SAMPLES,
        }
    }
}

/// A missing target as its page query reads it: the ref, how many distinct relations point
/// at it, whether `refresh_state` knows it.
type Missing = (String, i64, bool);

/// The last target of the previous page, from its cursor.
fn after_cursor(cursor: Option<&String>) -> Result<Option<String>> {
    let Some(c) = cursor else {
        return Ok(None);
    };
    let key = decode_cursor(c, 1)?;
    match key.into_iter().next() {
        Some(serde_json::Value::String(s)) => Ok(Some(s)),
        _ => Err(CoreError::config(format!(
            "invalid page cursor `{c}`: use the next_cursor value of the previous page unchanged"
        ))),
    }
}

impl RelationGraph {
    /// An SQL condition: no final entity has the ref `expr`.
    fn not_final(&self, expr: &str) -> String {
        let fe = &self.fe;
        match (&self.rs, self.fe_has_ref) {
            (_, true) | (None, _) => {
                format!("NOT EXISTS (SELECT 1 FROM {fe} f WHERE f.entity_ref = {expr})")
            }
            (Some(rs), false) => format!(
                "NOT EXISTS (SELECT 1 FROM {rs} s JOIN {fe} f ON f.entity_id = s.entity_id \
                 WHERE s.entity_ref = {expr})"
            ),
        }
    }

    /// The SQL of one page of missing targets. Binds `$1 text` (the last target of the previous
    /// page) when `after`, then `$n bigint` (the page size). Columns `target, n, in_refresh`.
    pub fn broken_refs_sql(&self, after: bool) -> String {
        let rel = &self.rel;
        let in_refresh = match &self.rs {
            Some(rs) => {
                format!("EXISTS (SELECT 1 FROM {rs} s WHERE s.entity_ref = r.target_entity_ref)")
            }
            None => "false".to_string(),
        };
        let (cond, limit) = if after {
            ("r.target_entity_ref > $1 AND ", "$2")
        } else {
            ("", "$1")
        };
        format!(
            "SELECT r.target_entity_ref AS target, count(DISTINCT (r.source_entity_ref, r.type)) AS n, \
                    {in_refresh} AS in_refresh \
             FROM {rel} r \
             WHERE {cond}{} \
             GROUP BY r.target_entity_ref \
             ORDER BY r.target_entity_ref \
             LIMIT {limit}",
            self.not_final("r.target_entity_ref")
        )
    }

    /// The SQL listing up to `$2 bigint` distinct relations per target of `$1 text[]`.
    pub fn broken_samples_sql(&self) -> String {
        let rel = &self.rel;
        format!(
            "SELECT source_entity_ref, type, target_entity_ref FROM ( \
               SELECT d.*, row_number() OVER (PARTITION BY target_entity_ref ORDER BY source_entity_ref, type) AS k \
               FROM (SELECT DISTINCT source_entity_ref, type, target_entity_ref FROM {rel} \
                     WHERE target_entity_ref = ANY($1::text[])) d) x \
             WHERE k <= $2 ORDER BY target_entity_ref, source_entity_ref, type"
        )
    }

    /// One page of missing targets (keyset-paginated on the target ref), each with the number
    /// of distinct relations that point at it and up to `samples` of them.
    pub async fn broken_refs(&self, opts: &BrokenRefsOptions) -> Result<Page<BrokenTarget>> {
        let limit = crate::page::limit(opts.limit);
        let samples = opts.samples.min(1000);
        let after = after_cursor(opts.cursor.as_ref())?;
        let (targets, more) = self.missing_targets(after.as_deref(), limit).await?;
        let mut by_target = self.samples_of(&targets, samples).await?;
        let next_cursor = match (more, targets.last()) {
            (true, Some(last)) => Some(encode_cursor(&[serde_json::Value::String(last.0.clone())])),
            _ => None,
        };
        let items = targets
            .into_iter()
            .map(|(target, count, in_refresh)| BrokenTarget {
                kind: EntityRef::split(&target).kind,
                status: status(false, in_refresh),
                count,
                relations: by_target.remove(&target).unwrap_or_default(),
                target: redact_text(&target),
            })
            .collect();
        Ok(Page { items, next_cursor })
    }

    /// Up to `limit` missing targets after `after`, and whether there are more.
    async fn missing_targets(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<Missing>, bool)> {
        let sql = self.broken_refs_sql(after.is_some());
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        if let Some(a) = after {
            q = q.bind(a);
        }
        let rows = q
            .bind((limit + 1) as i64)
            .fetch_all(&self.pool)
            .await
            .map_err(|e| map_query_error(e, &self.ep))?;
        let more = rows.len() > limit;
        let mut targets = Vec::with_capacity(limit);
        for r in rows.iter().take(limit) {
            let target: String = get(r, 0)?;
            let n: i64 = get(r, 1)?;
            let in_refresh: Option<bool> = get(r, 2)?;
            targets.push((target, n, in_refresh.unwrap_or(false)));
        }
        Ok((targets, more))
    }

    /// Up to `samples` redacted relations pointing at each of the targets, by target.
    async fn samples_of(
        &self,
        targets: &[Missing],
        samples: usize,
    ) -> Result<HashMap<String, Vec<GraphEdge>>> {
        let mut by_target: HashMap<String, Vec<GraphEdge>> = HashMap::new();
        if samples == 0 || targets.is_empty() {
            return Ok(by_target);
        }
        let refs: Vec<String> = targets.iter().map(|t| t.0.clone()).collect();
        let rows = sqlx::query(sqlx::AssertSqlSafe(self.broken_samples_sql()))
            .bind(&refs)
            .bind(samples as i64)
            .fetch_all(&self.pool)
            .await
            .map_err(|e| map_query_error(e, &self.ep))?;
        for r in &rows {
            let (s, t, tg): Row3 = (get(r, 0)?, get(r, 1)?, get(r, 2)?);
            by_target
                .entry(tg.clone())
                .or_default()
                .push(redact_edge(GraphEdge {
                    source: s,
                    relation: t,
                    target: tg,
                }));
        }
        Ok(by_target)
    }
}

/// [`RelationGraph::broken_refs`] on the profile's catalog.
pub async fn broken_refs(
    conns: &Connections,
    opts: &BrokenRefsOptions,
) -> Result<Page<BrokenTarget>> {
    RelationGraph::open(conns).await?.broken_refs(opts).await
}

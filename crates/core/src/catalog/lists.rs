//! The catalog's trouble lists — processing errors, orphans, stale entities — and the
//! registered locations with their latest update status. Each is keyset-paged: the first three
//! on `refresh_state.entity_ref` (unique), locations on `(target, id)`.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::Row;

pub use super::stale::StaleSummary;
use super::{
    Catalog, NEED_FINAL, NEED_LOCATIONS, NEED_REFERENCES, NEED_SEARCH, NEED_STATE,
    NEED_STATE_ERRORS, NEED_STATE_TIMES, Param, ProcessingError, Sql, cursor_str, finish,
    make_cursor, parse_errors, read_cursor, views,
};
use crate::error::Result;
use crate::page::{Page, limit};
use crate::redact::redact_text;
use crate::sql::iso_text;

/// A page request of a list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default)]
pub struct ListQuery {
    /// Page size, 1..=1000 (default 100).
    pub limit: Option<usize>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// An entity whose processing reported errors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ErroredEntity {
    pub entity_ref: String,
    pub errors: Vec<ProcessingError>,
    /// Whether an earlier stitched version is in `final_entities` (absent without that table).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub in_final: Option<bool>,
    pub location_key: Option<String>,
    pub last_discovery_at: Option<String>,
}

/// An orphaned entity: its parent no longer emits it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct OrphanEntity {
    pub entity_ref: String,
    /// No `refresh_state_references` row targets it (absent without that table).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub unreferenced: Option<bool>,
    /// It carries `backstage.io/orphan: 'true'` (absent without the `search` table).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub orphan_annotation: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub in_final: Option<bool>,
    pub location_key: Option<String>,
}

/// An entity not discovered or not refreshed for longer than asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct StaleEntity {
    pub entity_ref: String,
    pub last_discovery_at: String,
    pub next_update_at: String,
    /// `last_discovery_at` is before the cutoff: its parent has not emitted it since.
    pub discovery_stale: bool,
    /// `next_update_at` is before the cutoff: the processing loop is that far behind with it.
    pub refresh_overdue: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub in_final: Option<bool>,
    pub location_key: Option<String>,
}

/// A page of stale entities and the instant they are older than.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct StaleList {
    /// `now() - older_than` on the server when the first page was read; later pages keep it.
    pub cutoff: String,
    #[serde(flatten)]
    pub page: Page<StaleEntity>,
    /// What the whole list says, read with the first page (absent on later pages).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub summary: Option<StaleSummary>,
}

/// A registered location (`locations`) and its latest update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LocationRow {
    pub id: String,
    #[serde(rename = "type")]
    pub location_type: String,
    pub target: String,
    /// The location entity standing for it (absent in catalogs before that column).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub location_entity_ref: Option<String>,
    /// `success` or `fail` from the latest `location_update_log` row.
    pub status: Option<String>,
    pub message: Option<String>,
    pub status_at: Option<String>,
}

impl Catalog {
    /// Whether the page row `p` (with `p.entity_id`) is stitched; evaluated per page row,
    /// outside the LIMIT, so it costs one index probe per row.
    fn in_final_expr(&self) -> String {
        if self.has(&NEED_FINAL) {
            format!(
                "EXISTS (SELECT 1 FROM {} f WHERE f.entity_id = p.entity_id)",
                self.fe()
            )
        } else {
            "NULL::bool".to_string()
        }
    }

    fn ts_or_null(&self, table: &str, alias: &str, col: &str) -> String {
        if self.has_col(table, col) {
            iso_text(&format!("{alias}.{col}"))
        } else {
            "NULL::text".to_string()
        }
    }

    /// Adds `rs.entity_ref > $cursor` for a list keyed on the ref alone.
    fn ref_keyset(sql: &mut Sql, conds: &mut Vec<String>, q: &ListQuery, tag: &str) -> Result<()> {
        if let Some(key) = read_cursor(q.cursor.as_deref(), tag, 1)? {
            let p = sql.text(cursor_str(
                &key[0],
                q.cursor.as_deref().unwrap_or_default(),
            )?);
            conds.push(format!("rs.entity_ref > {p}"));
        }
        Ok(())
    }

    /// The statement [`Catalog::errors`] runs.
    pub fn errors_sql(&self, q: &ListQuery) -> Result<Sql> {
        self.check(views::ERRORS, &[NEED_STATE_ERRORS])?;
        let mut sql = Sql::default();
        let mut conds = vec!["rs.errors NOT IN ('', '[]')".to_string()];
        Self::ref_keyset(&mut sql, &mut conds, q, "errors")?;
        let lim = sql.bind(Param::Int(limit(q.limit) as i64 + 1));
        sql.text = format!(
            "SELECT p.*, {} AS in_final FROM (\
               SELECT rs.entity_id, rs.entity_ref::text AS entity_ref, rs.errors::text AS errors, \
                      {}::text AS location_key, {} AS discovered \
               FROM {} rs WHERE {} ORDER BY rs.entity_ref LIMIT {lim}) p \
             ORDER BY p.entity_ref",
            self.in_final_expr(),
            self.col_or_null("rs", "refresh_state", "location_key", "text"),
            self.ts_or_null("refresh_state", "rs", "last_discovery_at"),
            self.t("refresh_state"),
            conds.join(" AND ")
        );
        Ok(sql)
    }

    /// Entities whose processing failed (`refresh_state.errors` neither `''` nor `'[]'`),
    /// including those that never reached `final_entities`.
    pub async fn errors(&self, q: &ListQuery) -> Result<Page<ErroredEntity>> {
        let rows = self.fetch(&self.errors_sql(q)?).await?;
        let items = rows
            .iter()
            .map(|r| ErroredEntity {
                entity_ref: r.get("entity_ref"),
                errors: parse_errors(r.get::<Option<&str>, _>("errors")),
                in_final: r.get("in_final"),
                location_key: r
                    .get::<Option<String>, _>("location_key")
                    .map(|s| redact_text(&s)),
                last_discovery_at: r.get("discovered"),
            })
            .collect();
        Ok(finish(items, limit(q.limit), |e: &ErroredEntity| {
            make_cursor("errors", vec![Value::String(e.entity_ref.clone())])
        }))
    }

    /// The statement [`Catalog::orphans`] runs.
    pub fn orphans_sql(&self, q: &ListQuery) -> Result<Sql> {
        self.check(views::ORPHANS, &[NEED_STATE])?;
        let refs = self.has(&NEED_REFERENCES);
        let search = self.has(&NEED_SEARCH);
        if !refs && !search {
            self.check(views::ORPHANS, &[NEED_REFERENCES, NEED_SEARCH])?;
        }
        let (rs, refs_t, search_t) = (
            self.t("refresh_state"),
            self.t("refresh_state_references"),
            self.t("search"),
        );
        let unreferenced = |r: &str| {
            if refs {
                format!("NOT EXISTS (SELECT 1 FROM {refs_t} x WHERE x.target_entity_ref = {r})")
            } else {
                "NULL::bool".to_string()
            }
        };
        let annotated = |id: &str| {
            if search {
                format!(
                    "EXISTS (SELECT 1 FROM {search_t} s WHERE s.entity_id = {id} \
                     AND s.key = 'metadata.annotations.backstage.io/orphan' AND s.value = 'true')"
                )
            } else {
                "NULL::bool".to_string()
            }
        };
        let mut sql = Sql::default();
        let mut after = String::new();
        if let Some(key) = read_cursor(q.cursor.as_deref(), "orphans", 1)? {
            let p = sql.text(cursor_str(
                &key[0],
                q.cursor.as_deref().unwrap_or_default(),
            )?);
            after = format!(" AND rs.entity_ref > {p}");
        }
        let lim = sql.bind(Param::Int(limit(q.limit) as i64 + 1));
        // Each criterion on its own (an anti-join over the ref indexes; the annotation from
        // the search index), merged, then the page's details per row.
        let mut parts = Vec::new();
        if refs {
            parts.push(format!(
                "(SELECT rs.entity_ref FROM {rs} rs WHERE {}{after} ORDER BY rs.entity_ref LIMIT {lim})",
                unreferenced("rs.entity_ref")
            ));
        }
        if search {
            parts.push(format!(
                "(SELECT rs.entity_ref FROM {search_t} s JOIN {rs} rs ON rs.entity_id = s.entity_id \
                 WHERE s.key = 'metadata.annotations.backstage.io/orphan' AND s.value = 'true'{after} \
                 ORDER BY rs.entity_ref LIMIT {lim})"
            ));
        }
        sql.text = format!(
            "SELECT p.entity_ref::text AS entity_ref, {} AS unreferenced, {} AS annotated, \
                    {} AS in_final, p.location_key \
             FROM (SELECT rs.entity_id, rs.entity_ref, {}::text AS location_key \
                   FROM (SELECT o.entity_ref FROM ({}) o ORDER BY o.entity_ref LIMIT {lim}) o \
                   JOIN {rs} rs ON rs.entity_ref = o.entity_ref) p \
             ORDER BY p.entity_ref",
            unreferenced("p.entity_ref"),
            annotated("p.entity_id"),
            self.in_final_expr(),
            self.col_or_null("rs", "refresh_state", "location_key", "text"),
            parts.join(" UNION ")
        );
        Ok(sql)
    }

    /// Orphaned entities: no `refresh_state_references` row targets them, or they carry the
    /// annotation `backstage.io/orphan: 'true'` (read from the `search` index).
    pub async fn orphans(&self, q: &ListQuery) -> Result<Page<OrphanEntity>> {
        let rows = self.fetch(&self.orphans_sql(q)?).await?;
        let items = rows
            .iter()
            .map(|r| OrphanEntity {
                entity_ref: r.get("entity_ref"),
                unreferenced: r.get("unreferenced"),
                orphan_annotation: r.get("annotated"),
                in_final: r.get("in_final"),
                location_key: r
                    .get::<Option<String>, _>("location_key")
                    .map(|s| redact_text(&s)),
            })
            .collect();
        Ok(finish(items, limit(q.limit), |e: &OrphanEntity| {
            make_cursor("orphans", vec![Value::String(e.entity_ref.clone())])
        }))
    }

    /// The statement that computes the cutoff of [`Catalog::stale`] on the server.
    pub fn stale_cutoff_sql(older_than: Duration) -> Sql {
        let mut sql = Sql::default();
        let p = sql.bind(Param::Float(older_than.as_secs_f64()));
        sql.text = format!(
            "SELECT {} AS cutoff",
            iso_text(&format!("(now() - make_interval(secs => {p}))"))
        );
        sql
    }

    /// The statement [`Catalog::stale`] runs for a cutoff (ISO 8601).
    pub fn stale_sql(&self, cutoff: &str, q: &ListQuery) -> Result<Sql> {
        self.check(views::STALE, &[NEED_STATE_TIMES])?;
        let mut sql = Sql::default();
        let c = sql.text(cutoff);
        let mut conds = vec![format!(
            "(rs.last_discovery_at < {c}::timestamptz OR rs.next_update_at < {c}::timestamptz)"
        )];
        if let Some(key) = read_cursor(q.cursor.as_deref(), "stale", 2)? {
            let p = sql.text(cursor_str(
                &key[1],
                q.cursor.as_deref().unwrap_or_default(),
            )?);
            conds.push(format!("rs.entity_ref > {p}"));
        }
        let lim = sql.bind(Param::Int(limit(q.limit) as i64 + 1));
        sql.text = format!(
            "SELECT p.*, {} AS in_final FROM (\
               SELECT rs.entity_id, rs.entity_ref::text AS entity_ref, {} AS discovered, \
                      {} AS next_update, \
                      rs.last_discovery_at < {c}::timestamptz AS discovery_stale, \
                      rs.next_update_at < {c}::timestamptz AS refresh_overdue, \
                      {}::text AS location_key \
               FROM {} rs WHERE {} ORDER BY rs.entity_ref LIMIT {lim}) p \
             ORDER BY p.entity_ref",
            self.in_final_expr(),
            iso_text("rs.last_discovery_at"),
            iso_text("rs.next_update_at"),
            self.col_or_null("rs", "refresh_state", "location_key", "text"),
            self.t("refresh_state"),
            conds.join(" AND ")
        );
        Ok(sql)
    }

    /// Entities whose `last_discovery_at` or `next_update_at` is older than `older_than`.
    /// The cutoff is taken on the server at the first page and carried by the cursor.
    pub async fn stale(&self, older_than: Duration, q: &ListQuery) -> Result<StaleList> {
        self.check(views::STALE, &[NEED_STATE_TIMES])?;
        if older_than.as_secs() > 100 * 366 * 86_400 {
            return Err(crate::CoreError::config(format!(
                "the duration {}s is longer than 100 years; use a shorter one",
                older_than.as_secs()
            )));
        }
        let cutoff = match read_cursor(q.cursor.as_deref(), "stale", 2)? {
            Some(key) => cursor_str(&key[0], q.cursor.as_deref().unwrap_or_default())?,
            None => {
                let rows = self.fetch(&Self::stale_cutoff_sql(older_than)).await?;
                rows.first()
                    .and_then(|r| r.get::<Option<String>, _>("cutoff"))
                    .ok_or_else(|| {
                        crate::CoreError::config(format!(
                            "the duration {}s reaches before the start of time; use a shorter one",
                            older_than.as_secs()
                        ))
                    })?
            }
        };
        let summary = if q.cursor.is_none() {
            Some(self.stale_summary(&cutoff).await?)
        } else {
            None
        };
        let rows = self.fetch(&self.stale_sql(&cutoff, q)?).await?;
        let items = rows
            .iter()
            .map(|r| StaleEntity {
                entity_ref: r.get("entity_ref"),
                last_discovery_at: r.get::<Option<String>, _>("discovered").unwrap_or_default(),
                next_update_at: r
                    .get::<Option<String>, _>("next_update")
                    .unwrap_or_default(),
                discovery_stale: r.get::<Option<bool>, _>("discovery_stale").unwrap_or(false),
                refresh_overdue: r.get::<Option<bool>, _>("refresh_overdue").unwrap_or(false),
                in_final: r.get("in_final"),
                location_key: r
                    .get::<Option<String>, _>("location_key")
                    .map(|s| redact_text(&s)),
            })
            .collect();
        let c = cutoff.clone();
        let page = finish(items, limit(q.limit), move |e: &StaleEntity| {
            make_cursor(
                "stale",
                vec![
                    Value::String(c.clone()),
                    Value::String(e.entity_ref.clone()),
                ],
            )
        });
        Ok(StaleList {
            cutoff,
            page,
            summary,
        })
    }

    /// The statement [`Catalog::locations`] runs.
    pub fn locations_sql(&self, q: &ListQuery) -> Result<Sql> {
        self.check(views::LOCATIONS, &[NEED_LOCATIONS])?;
        let mut sql = Sql::default();
        let mut conds = vec!["true".to_string()];
        if let Some(key) = read_cursor(q.cursor.as_deref(), "locations", 2)? {
            let c = q.cursor.as_deref().unwrap_or_default();
            let t = sql.text(cursor_str(&key[0], c)?);
            let i = sql.text(cursor_str(&key[1], c)?);
            conds.push(format!("(l.target::text, l.id::text) > ({t}, {i})"));
        }
        let log_cols = ["status", "message", "created_at", "location_id"];
        let has_log = |table: &str| {
            self.db
                .table(table)
                .is_some_and(|t| log_cols.iter().all(|c| t.has_column(c)))
        };
        let (status, join) = if has_log("location_update_log_latest") {
            (
                format!(
                    "lu.status::text AS status, lu.message::text AS message, {} AS status_at",
                    iso_text("lu.created_at")
                ),
                format!(
                    "LEFT JOIN {} lu ON lu.location_id = l.id",
                    self.t("location_update_log_latest")
                ),
            )
        } else if has_log("location_update_log") && self.has_col("location_update_log", "id") {
            (
                format!(
                    "lu.status::text AS status, lu.message::text AS message, {} AS status_at",
                    iso_text("lu.created_at")
                ),
                format!(
                    "LEFT JOIN LATERAL (SELECT u.status, u.message, u.created_at FROM {} u \
                     WHERE u.location_id = l.id ORDER BY u.id DESC LIMIT 1) lu ON true",
                    self.t("location_update_log")
                ),
            )
        } else {
            (
                "NULL::text AS status, NULL::text AS message, NULL::text AS status_at".to_string(),
                String::new(),
            )
        };
        let lim = sql.bind(Param::Int(limit(q.limit) as i64 + 1));
        sql.text = format!(
            "SELECT l.id::text AS id, l.type::text AS type, l.target::text AS target, \
                    {}::text AS location_entity_ref, {status} \
             FROM {} l {join} WHERE {} ORDER BY l.target::text, l.id::text LIMIT {lim}",
            self.col_or_null("l", "locations", "location_entity_ref", "text"),
            self.t("locations"),
            conds.join(" AND ")
        );
        Ok(sql)
    }

    /// Registered locations with the status of their latest update (from the view
    /// `location_update_log_latest` when it exists, else the log table; none without either).
    pub async fn locations(&self, q: &ListQuery) -> Result<Page<LocationRow>> {
        let rows = self.fetch(&self.locations_sql(q)?).await?;
        let has_ref = self.has_col("locations", "location_entity_ref");
        let items: Vec<(LocationRow, String)> = rows
            .iter()
            .map(|r| {
                let raw_target: String = r.get("target");
                let row = LocationRow {
                    id: r.get("id"),
                    location_type: r.get("type"),
                    target: redact_text(&raw_target),
                    location_entity_ref: if has_ref {
                        Some(
                            r.get::<Option<String>, _>("location_entity_ref")
                                .unwrap_or_default(),
                        )
                    } else {
                        None
                    },
                    status: r.get("status"),
                    message: r
                        .get::<Option<String>, _>("message")
                        .map(|s| redact_text(&s)),
                    status_at: r.get("status_at"),
                };
                (row, raw_target)
            })
            .collect();
        // The cursor holds the stored target, which redaction may have changed.
        let page = finish(items, limit(q.limit), |(l, raw): &(LocationRow, String)| {
            make_cursor(
                "locations",
                vec![Value::String(raw.clone()), Value::String(l.id.clone())],
            )
        });
        Ok(Page {
            items: page.items.into_iter().map(|(l, _)| l).collect(),
            next_cursor: page.next_cursor,
        })
    }
}

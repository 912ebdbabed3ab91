//! The reads behind one answer of [`super::why`]: each stage of the catalog's pipeline for one
//! ref, from the live schema (a table or column an older catalog lacks is read as absent),
//! with times as ISO text and ages in seconds by the database's clock.

use sqlx::Row;
use sqlx::postgres::PgRow;

use crate::catalog::{ProcessingError, parse_errors, stitched};
use crate::connect::{Endpoint, PgPool};
use crate::error::Result;
use crate::schema::DbSchema;
use crate::sql::{Param, Sql, age_secs, iso_text, qualified};

/// A time and how many seconds ago it was (negative: in the future).
#[derive(Debug, Clone, Default)]
pub(super) struct At {
    pub at: Option<String>,
    pub ago: Option<i64>,
}

impl At {
    fn read(r: &PgRow, name: &str) -> At {
        At {
            at: r.get(format!("{name}_at").as_str()),
            ago: r.get(format!("{name}_ago").as_str()),
        }
    }
}

/// The entity's `refresh_state` row.
#[derive(Debug, Clone, Default)]
pub(super) struct State {
    pub entity_id: String,
    pub errors_raw: String,
    pub errors: Vec<ProcessingError>,
    pub processed: Option<String>,
    pub unprocessed: Option<String>,
    pub location_key: Option<String>,
    pub result_hash: Option<String>,
    pub discovered: At,
    pub next_update: At,
    pub next_stitch: At,
    pub next_stitch_ticket: Option<String>,
}

/// The entity's stitched row.
#[derive(Debug, Clone, Default)]
pub(super) struct Final {
    pub entity_id: String,
    pub entity: Option<String>,
    pub hash: Option<String>,
    pub updated: At,
    pub stitch_ticket: Option<String>,
}

/// One `refresh_state_references` row that targets the entity, and its source.
#[derive(Debug, Clone)]
pub(super) struct Emission {
    pub source_key: Option<String>,
    pub source_ref: Option<String>,
    /// The source entity has a `refresh_state` row.
    pub source_exists: bool,
    pub source_errors: Vec<ProcessingError>,
}

/// The entity's `stitch_queue` row.
#[derive(Debug, Clone)]
pub(super) struct Queued {
    pub ticket: Option<String>,
    pub next: At,
    pub failures: Option<i64>,
}

/// A registered location (`locations`) and its latest update.
#[derive(Debug, Clone)]
pub(super) struct Registered {
    pub id: String,
    pub kind: String,
    pub target: String,
    pub entity_ref: Option<String>,
    pub status: Option<String>,
    pub message: Option<String>,
    pub status_at: At,
}

/// A relation row as seen from the entity.
#[derive(Debug, Clone)]
pub(super) struct Rel {
    pub kind: String,
    pub other: String,
    pub other_exists: bool,
}

pub(super) struct Reader<'a> {
    pub pool: &'a PgPool,
    pub ep: &'a Endpoint,
    pub db: &'a DbSchema,
}

impl Reader<'_> {
    pub fn t(&self, table: &str) -> String {
        qualified(&self.db.schema, table)
    }

    pub fn has(&self, table: &str, column: &str) -> bool {
        self.db.has_column(table, column)
    }

    async fn rows(&self, sql: &Sql) -> Result<Vec<PgRow>> {
        sql.fetch_all(self.pool, self.ep).await
    }

    /// `alias.col AS name` as text, or a text NULL when the column does not exist.
    fn text(&self, table: &str, alias: &str, col: &str, name: &str) -> String {
        if self.has(table, col) {
            format!("{alias}.{col}::text AS {name}")
        } else {
            format!("NULL::text AS {name}")
        }
    }

    /// `name_at` and `name_ago` of a timestamp column, NULL when it does not exist.
    fn time(&self, table: &str, alias: &str, col: &str, name: &str) -> String {
        if self.has(table, col) {
            let e = format!("{alias}.{col}");
            format!(
                "{} AS {name}_at, {} AS {name}_ago",
                iso_text(&e),
                age_secs(&e)
            )
        } else {
            format!("NULL::text AS {name}_at, NULL::bigint AS {name}_ago")
        }
    }

    /// The database's `now()`.
    pub async fn now(&self) -> Result<Option<String>> {
        let sql = Sql {
            text: format!("SELECT {} AS now", iso_text("now()")),
            ..Sql::default()
        };
        Ok(self.rows(&sql).await?.first().and_then(|r| r.get("now")))
    }

    pub async fn state(&self, entity_ref: &str) -> Result<Option<State>> {
        if !self.has("refresh_state", "entity_ref") {
            return Ok(None);
        }
        let mut sql = Sql::new();
        let r = sql.text(entity_ref);
        let t = "refresh_state";
        sql.text = format!(
            "SELECT rs.entity_id::text AS entity_id, {}, {}, {}, {}, {}, {}, {}, {}, {} \
             FROM {} rs WHERE rs.entity_ref = {r}",
            self.text(t, "rs", "errors", "errors"),
            self.text(t, "rs", "processed_entity", "processed"),
            self.text(t, "rs", "unprocessed_entity", "unprocessed"),
            self.text(t, "rs", "location_key", "location_key"),
            self.text(t, "rs", "result_hash", "result_hash"),
            self.text(t, "rs", "next_stitch_ticket", "next_stitch_ticket"),
            self.time(t, "rs", "last_discovery_at", "discovered"),
            self.time(t, "rs", "next_update_at", "next_update"),
            self.time(t, "rs", "next_stitch_at", "next_stitch"),
            self.t(t)
        );
        let rows = self.rows(&sql).await?;
        Ok(rows.first().map(|r| {
            let raw: Option<String> = r.get("errors");
            State {
                entity_id: r.get("entity_id"),
                errors: parse_errors(raw.as_deref()),
                errors_raw: raw.unwrap_or_default(),
                processed: r.get("processed"),
                unprocessed: r.get("unprocessed"),
                location_key: r.get("location_key"),
                result_hash: r.get("result_hash"),
                discovered: At::read(r, "discovered"),
                next_update: At::read(r, "next_update"),
                next_stitch: At::read(r, "next_stitch"),
                next_stitch_ticket: r.get("next_stitch_ticket"),
            }
        }))
    }

    pub async fn stitched(&self, entity_ref: &str) -> Result<Option<Final>> {
        let Some(fe) = stitched(self.db) else {
            return Ok(None);
        };
        let mut sql = Sql::new();
        let r = sql.text(entity_ref);
        let t = "final_entities";
        sql.text = format!(
            "SELECT f.entity_id::text AS entity_id, f.final_entity::text AS entity, {}, {}, {} \
             FROM {fe} f WHERE f.entity_ref = {r}",
            self.text(t, "f", "hash", "hash"),
            self.text(t, "f", "stitch_ticket", "stitch_ticket"),
            self.time(t, "f", "last_updated_at", "updated"),
        );
        let rows = self.rows(&sql).await?;
        Ok(rows.first().map(|r| Final {
            entity_id: r.get("entity_id"),
            entity: r.get("entity"),
            hash: r.get("hash"),
            updated: At::read(r, "updated"),
            stitch_ticket: r.get("stitch_ticket"),
        }))
    }

    /// The rows of `refresh_state_references` that target the entity, with their sources.
    pub async fn emissions(&self, entity_ref: &str) -> Result<Vec<Emission>> {
        let mut sql = Sql::new();
        let r = sql.text(entity_ref);
        sql.text = format!(
            "SELECT x.source_key::text AS source_key, x.source_entity_ref::text AS source_ref, \
                    p.entity_ref IS NOT NULL AS source_exists, {} \
             FROM {} x LEFT JOIN {} p ON p.entity_ref = x.source_entity_ref \
             WHERE x.target_entity_ref = {r} ORDER BY x.source_entity_ref, x.source_key LIMIT 100",
            self.text("refresh_state", "p", "errors", "errors"),
            self.t("refresh_state_references"),
            self.t("refresh_state"),
        );
        Ok(self
            .rows(&sql)
            .await?
            .iter()
            .map(|r| Emission {
                source_key: r.get("source_key"),
                source_ref: r.get("source_ref"),
                source_exists: r.get("source_exists"),
                source_errors: parse_errors(r.get::<Option<&str>, _>("errors")),
            })
            .collect())
    }

    /// The entities that still emit other entities read from the same location (`location_key`),
    /// with how many each emits: the parent this entity would have.
    pub async fn sibling_parents(
        &self,
        entity_ref: &str,
        location_key: &str,
    ) -> Result<Vec<(String, i64)>> {
        let mut sql = Sql::new();
        let r = sql.text(entity_ref);
        let k = sql.text(location_key);
        sql.text = format!(
            "SELECT x.source_entity_ref::text AS parent, count(*) AS n \
             FROM {} s JOIN {} x ON x.target_entity_ref = s.entity_ref \
             WHERE s.location_key = {k} AND s.entity_ref <> {r} AND x.source_entity_ref IS NOT NULL \
             GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 5",
            self.t("refresh_state"),
            self.t("refresh_state_references"),
        );
        Ok(self
            .rows(&sql)
            .await?
            .iter()
            .map(|r| (r.get("parent"), r.get("n")))
            .collect())
    }

    /// Whether `entity_ref` has a `refresh_state` row, and its errors.
    pub async fn known(&self, entity_ref: &str) -> Result<Option<Vec<ProcessingError>>> {
        let mut sql = Sql::new();
        let r = sql.text(entity_ref);
        sql.text = format!(
            "SELECT {} FROM {} rs WHERE rs.entity_ref = {r}",
            self.text("refresh_state", "rs", "errors", "errors"),
            self.t("refresh_state")
        );
        Ok(self
            .rows(&sql)
            .await?
            .first()
            .map(|r| parse_errors(r.get::<Option<&str>, _>("errors"))))
    }

    pub async fn queued(&self, entity_ref: &str) -> Result<Option<Queued>> {
        let mut sql = Sql::new();
        let r = sql.text(entity_ref);
        let t = "stitch_queue";
        let failures = if self.has(t, "failure_count") {
            "q.failure_count::bigint AS failures"
        } else {
            "NULL::bigint AS failures"
        };
        sql.text = format!(
            "SELECT {}, {}, {failures} FROM {} q WHERE q.entity_ref = {r}",
            self.text(t, "q", "stitch_ticket", "ticket"),
            self.time(t, "q", "next_stitch_at", "next"),
            self.t(t)
        );
        Ok(self.rows(&sql).await?.first().map(|r| Queued {
            ticket: r.get("ticket"),
            next: At::read(r, "next"),
            failures: r.get("failures"),
        }))
    }

    /// Registered locations whose `type:target` is one of `locations`.
    pub async fn registered(&self, locations: &[String]) -> Result<Vec<Registered>> {
        let mut sql = Sql::new();
        let list = sql.bind(Param::TextArray(locations.to_vec()));
        let log_cols = ["status", "message", "created_at", "location_id"];
        let has_log = |table: &str| {
            self.db
                .table(table)
                .is_some_and(|t| log_cols.iter().all(|c| t.has_column(c)))
        };
        let (cols, join) = if has_log("location_update_log_latest") {
            (
                format!(
                    "lu.status::text AS status, lu.message::text AS message, {}",
                    self.time("location_update_log_latest", "lu", "created_at", "status")
                ),
                format!(
                    "LEFT JOIN {} lu ON lu.location_id = l.id",
                    self.t("location_update_log_latest")
                ),
            )
        } else {
            (
                "NULL::text AS status, NULL::text AS message, NULL::text AS status_at, \
                 NULL::bigint AS status_ago"
                    .to_string(),
                String::new(),
            )
        };
        sql.text = format!(
            "SELECT l.id::text AS id, l.type::text AS type, l.target::text AS target, {}, {cols} \
             FROM {} l {join} WHERE (l.type::text || ':' || l.target::text) = ANY({list}) \
             ORDER BY l.target::text, l.id::text LIMIT 10",
            self.text("locations", "l", "location_entity_ref", "entity_ref"),
            self.t("locations"),
        );
        Ok(self
            .rows(&sql)
            .await?
            .iter()
            .map(|r| Registered {
                id: r.get("id"),
                kind: r.get("type"),
                target: r.get("target"),
                entity_ref: r
                    .get::<Option<String>, _>("entity_ref")
                    .filter(|s| !s.is_empty()),
                status: r.get("status"),
                message: r.get("message"),
                status_at: At::read(r, "status"),
            })
            .collect())
    }

    pub async fn search_rows(&self, entity_id: &str) -> Result<i64> {
        let mut sql = Sql::new();
        let id = sql.text(entity_id);
        sql.text = format!(
            "SELECT count(*) AS n FROM {} s WHERE s.entity_id = {id}",
            self.t("search")
        );
        Ok(self
            .rows(&sql)
            .await?
            .first()
            .map_or(0, |r| r.get::<i64, _>("n")))
    }

    /// Relations from the entity (with whether the target is stitched) and to it.
    pub async fn relations(&self, entity_ref: &str) -> Result<(Vec<Rel>, Vec<Rel>)> {
        let exists = match stitched(self.db) {
            Some(fe) => format!("EXISTS (SELECT 1 FROM {fe} t WHERE t.entity_ref = d.other)"),
            None => "false".to_string(),
        };
        let mut out = Vec::new();
        for (here, there) in [
            ("source_entity_ref", "target_entity_ref"),
            ("target_entity_ref", "source_entity_ref"),
        ] {
            let mut sql = Sql::new();
            let r = sql.text(entity_ref);
            sql.text = format!(
                "SELECT d.type, d.other, {exists} AS other_exists FROM (\
                   SELECT DISTINCT r.type::text AS type, r.{there}::text AS other \
                   FROM {} r WHERE r.{here} = {r}) d ORDER BY d.type, d.other LIMIT 500",
                self.t("relations")
            );
            out.push(
                self.rows(&sql)
                    .await?
                    .iter()
                    .map(|r| Rel {
                        kind: r.get("type"),
                        other: r.get("other"),
                        other_exists: r.get("other_exists"),
                    })
                    .collect::<Vec<_>>(),
            );
        }
        let incoming = out.pop().unwrap_or_default();
        let outgoing = out.pop().unwrap_or_default();
        Ok((outgoing, incoming))
    }
}

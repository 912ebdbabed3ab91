//! The catalog area: Backstage's software catalog read straight from its tables
//! (`final_entities`, `refresh_state`, `relations`, `search`, `refresh_state_references`,
//! `locations`, `location_update_log`), shown as Backstage concepts.
//!
//! This module owns:
//! - [`Catalog`]: a handle on one catalog database (or schema) whose live schema is read once
//!   at [`Catalog::open`]; every query is built from what that schema really has, so a missing
//!   table or column makes one view unavailable ([`CoreError::SchemaDegraded`]) or one field
//!   absent, never an error page ([`Catalog::capabilities`] says which up front);
//! - the entity list with filters, sorts and keyset pages ([`Catalog::entities`]), facets
//!   ([`Catalog::facets`]), one entity in full ([`Catalog::entity`]), and the lists of processing
//!   errors, orphans, stale entities and registered locations;
//! - for every operation a `*_sql` twin that returns the exact [`Sql`] it runs (text and
//!   parameters), so benchmarks can run the same statement directly.
//!
//! Filters use the catalog's own key/value index, the `search` table (lower-cased keys and
//! values, indexed on `(key, value, entity_id)`), as Backstage does; lists are keyset-paged on
//! indexed columns (`entity_ref` is unique in `final_entities` and `refresh_state`), never with
//! OFFSET. Identifiers go through [`quote_ident`], every value is bound, and everything that
//! leaves passes [`crate::redact`].

mod detail;
mod entities;
mod filter;
mod lists;
mod stale;

use serde::Serialize;
use serde_json::Value;

use crate::connect::{Connections, Endpoint, PgPool, map_query_error};
use crate::error::{CoreError, Result};
use crate::page::{Page, decode_cursor, encode_cursor};
use crate::schema::{DbSchema, Need, Unavailable};
use crate::sql::{Param, Sql, quote_ident};

pub use detail::{EntityDetail, EntitySource, ProcessingError, ProcessingState, RelationEdge};
pub use entities::{
    EntityFilter, EntityQuery, EntitySort, EntitySummary, Facet, FacetCount, FacetField, Facets,
};
pub use lists::{
    ErroredEntity, ListQuery, LocationRow, OrphanEntity, StaleEntity, StaleList, StaleSummary,
};

/// Whether one view can run here, and which of its fields are absent.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ViewStatus {
    pub view: String,
    pub available: bool,
    /// Why the view is unavailable (missing tables/columns and what that usually means).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub reason: Option<String>,
    /// Fields (or features) this view shows without, e.g. `last_updated_at`.
    pub absent_fields: Vec<String>,
}

/// What the catalog views can do on this database.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Capabilities {
    pub database: String,
    pub schema: String,
    pub views: Vec<ViewStatus>,
}

impl Capabilities {
    pub fn view(&self, name: &str) -> Option<&ViewStatus> {
        self.views.iter().find(|v| v.view == name)
    }
}

// What the views need. `since` says what an absence usually means.
const NEED_FINAL: Need = Need {
    table: "final_entities",
    columns: &["entity_id", "final_entity"],
    since: "the stitched entities",
};
const NEED_SEARCH: Need = Need {
    table: "search",
    columns: &["entity_id", "key", "value"],
    since: "the catalog's filter index",
};
const NEED_STATE: Need = Need {
    table: "refresh_state",
    columns: &["entity_id", "entity_ref"],
    since: "the processing state, made by catalog migration 20210302150147_refresh_state",
};
const NEED_STATE_ERRORS: Need = Need {
    table: "refresh_state",
    columns: &["entity_id", "entity_ref", "errors"],
    since: "the processing state, made by catalog migration 20210302150147_refresh_state",
};
const NEED_STATE_TIMES: Need = Need {
    table: "refresh_state",
    columns: &["entity_ref", "last_discovery_at", "next_update_at"],
    since: "the processing state, made by catalog migration 20210302150147_refresh_state",
};
const NEED_REFERENCES: Need = Need {
    table: "refresh_state_references",
    columns: &["target_entity_ref"],
    since: "made by catalog migration 20210302150147_refresh_state",
};
const NEED_RELATIONS: Need = Need {
    table: "relations",
    columns: &["source_entity_ref", "type", "target_entity_ref"],
    since: "the catalog's relation rows",
};
const NEED_LOCATIONS: Need = Need {
    table: "locations",
    columns: &["id", "type", "target"],
    since: "registered locations",
};
const NEED_UPDATED: Need = Need {
    table: "final_entities",
    columns: &["last_updated_at"],
    since: "added by catalog migration 20221201085245_add_last_updated_at_in_final_entities",
};

/// Where a field a view shows without (see [`ViewStatus::absent_fields`]) comes from, when it
/// is a later catalog migration.
pub fn absent_field_origin(field: &str) -> Option<&'static str> {
    match field {
        "last_updated_at" => Some(NEED_UPDATED.since),
        "location_entity_ref" => {
            Some("added by catalog migration 20260403000000_add_location_entity_ref")
        }
        "unreferenced" => Some(NEED_REFERENCES.since),
        _ => None,
    }
}

/// View names, as used in [`CoreError::SchemaDegraded`] and [`Capabilities`].
pub mod views {
    pub const ENTITIES: &str = "entities";
    pub const ENTITY_FILTERS: &str = "entity filters";
    pub const SORT_BY_UPDATE: &str = "sort by last update";
    pub const FACETS: &str = "facets";
    pub const ENTITY: &str = "entity";
    pub const ERRORS: &str = "processing errors";
    pub const ORPHANS: &str = "orphans";
    pub const STALE: &str = "stale entities";
    pub const LOCATIONS: &str = "locations";
}

/// The catalog migration that added `final_entities.entity_ref`; before it, the ref of a
/// stitched entity is its `refresh_state` row's (the migration filled the column from there).
pub const ENTITY_REF_MIGRATION: &str = "20241024104700_add_entity_ref_to_final_entities";

/// Where the stitched entities are read from, as a `FROM` item (give it an alias) whose rows
/// have `entity_id`, `entity_ref` and `final_entity`: `final_entities` itself where it has
/// `entity_ref`; in older catalogs `final_entities` joined to `refresh_state` by `entity_id`.
/// `None` when neither can give a stitched entity its ref.
pub fn stitched(db: &DbSchema) -> Option<String> {
    let s = quote_ident(&db.schema);
    if !db.has_column("final_entities", "entity_id") {
        return None;
    }
    if db.has_column("final_entities", "entity_ref") {
        return Some(format!("{s}.final_entities"));
    }
    if db.has_column("refresh_state", "entity_id") && db.has_column("refresh_state", "entity_ref") {
        return Some(format!(
            "(SELECT f.*, r.entity_ref FROM {s}.final_entities f \
             JOIN {s}.refresh_state r ON r.entity_id = f.entity_id)"
        ));
    }
    None
}

/// [`stitched`], or the degraded error of `view` saying why there is none.
pub fn require_stitched(db: &DbSchema, view: &str) -> Result<String> {
    stitched(db).ok_or_else(|| CoreError::SchemaDegraded {
        view: view.to_string(),
        reason: stitched_missing(db),
    })
}

/// Why [`stitched`] found nothing, for a view's degraded note.
fn stitched_missing(db: &DbSchema) -> String {
    format!(
        "final_entities has no entity_ref column (added by catalog migration {ENTITY_REF_MIGRATION}) \
         and refresh_state cannot stand in for it (it needs entity_id and entity_ref) in {}.{}",
        db.database, db.schema
    )
}

/// A catalog database (or schema) and what its schema has.
#[derive(Debug, Clone)]
pub struct Catalog {
    pool: PgPool,
    ep: Endpoint,
    db: DbSchema,
    /// Whether the collation of `final_entities.entity_ref` keeps every `kind:...` ref
    /// between `kind:` and `kind;` (true for C and for ICU and glibc 2.28+ locales, where
    /// punctuation is not ignored); then a kind filter also bounds the walk of the ref index.
    kind_ranges: bool,
}

impl Catalog {
    /// Opens the catalog of a profile: its database (or schema, in schema mode) and live schema.
    pub async fn open(conns: &Connections) -> Result<Catalog> {
        let place = crate::area::locate(conns, "catalog")?;
        let ep = place.endpoint.clone();
        let pool = place.pool(conns).await?;
        Catalog::with_pool(pool, ep, &place.schema).await
    }

    /// Opens a catalog on a given pool and schema.
    pub async fn with_pool(pool: PgPool, ep: Endpoint, schema: &str) -> Result<Catalog> {
        let db = DbSchema::read(&pool, &ep, schema).await?;
        let mut cat = Catalog {
            pool,
            ep,
            db,
            kind_ranges: false,
        };
        cat.kind_ranges = cat.probe_kind_ranges().await?;
        Ok(cat)
    }

    /// Reads the live schema again (after an upgrade of Backstage, say).
    pub async fn refresh_schema(&mut self) -> Result<()> {
        self.db = DbSchema::read(&self.pool, &self.ep, &self.db.schema).await?;
        self.kind_ranges = self.probe_kind_ranges().await?;
        Ok(())
    }

    /// Checks, with the collation of the stitched entities' refs, that refs of one kind sort
    /// between `kind:` and `kind;` and nothing of another kind does.
    async fn probe_kind_ranges(&self) -> Result<bool> {
        if !self.has(&NEED_FINAL) {
            return Ok(false);
        }
        let coll: Option<(String, String)> = sqlx::query_as(
            "SELECT n.nspname::text, c.collname::text FROM pg_attribute a \
             JOIN pg_class t ON t.oid = a.attrelid JOIN pg_namespace tn ON tn.oid = t.relnamespace \
             JOIN pg_collation c ON c.oid = a.attcollation JOIN pg_namespace n ON n.oid = c.collnamespace \
             WHERE tn.nspname = $1 AND t.relname = $2 AND a.attname = 'entity_ref'",
        )
        .bind(&self.db.schema)
        .bind(if self.has_col("final_entities", "entity_ref") {
            "final_entities"
        } else {
            "refresh_state"
        })
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| map_query_error(e, &self.ep))?;
        let Some((ns, name)) = coll else {
            return Ok(false);
        };
        let c = format!("COLLATE {}.{}", quote_ident(&ns), quote_ident(&name));
        // Every ref of kind `k` must sort at or after `k:` and strictly before `k;`; refs of
        // other kinds inside the range would only cost time, as the kind filter still applies.
        let inside = [
            "k:",
            "k: ",
            "k:!!",
            "k:-",
            "k:default/a",
            "k:default/this name is not valid!!",
            "k:zz/zz",
            "k:~~~",
            "k:\u{10ffff}",
            "k:\u{10ffff}\u{10ffff}",
        ];
        let mut sql = Sql::default();
        let (lo, hi) = (sql.text("k:"), sql.text("k;"));
        let mut checks = Vec::new();
        for r in inside {
            let p = sql.text(r);
            checks.push(format!(
                "({lo}::text {c} <= {p}::text {c} AND {p}::text {c} < {hi}::text {c})"
            ));
        }
        sql.text = format!("SELECT {}", checks.join(" AND "));
        let ok = sql
            .query()
            .fetch_one(&self.pool)
            .await
            .ok()
            .and_then(|r| sqlx::Row::try_get::<bool, _>(&r, 0).ok())
            .unwrap_or(false);
        Ok(ok)
    }

    pub fn schema(&self) -> &DbSchema {
        &self.db
    }

    /// Whether a single-kind filter also bounds the ref index walk (see the collation probe).
    pub fn kind_ranges(&self) -> bool {
        self.kind_ranges
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// A table of this catalog, schema-qualified and quoted.
    fn t(&self, table: &str) -> String {
        format!("{}.{}", quote_ident(&self.db.schema), quote_ident(table))
    }

    fn has(&self, need: &Need) -> bool {
        self.check("", std::slice::from_ref(need)).is_ok()
    }

    fn has_col(&self, table: &str, column: &str) -> bool {
        self.db.has_column(table, column)
    }

    /// `alias.column` when the column exists, else a typed NULL.
    fn col_or_null(&self, alias: &str, table: &str, column: &str, ty: &str) -> String {
        if self.has_col(table, column) {
            format!("{alias}.{}", quote_ident(column))
        } else {
            format!("NULL::{ty}")
        }
    }

    /// Checks the needs, and that stitched entities have a ref where `final_entities` is
    /// needed (see [`stitched`]).
    fn check(&self, view: &str, needs: &[Need]) -> std::result::Result<(), Unavailable> {
        self.db.check(view, needs)?;
        if needs.iter().any(|n| n.table == "final_entities") && stitched(&self.db).is_none() {
            return Err(Unavailable {
                view: view.to_string(),
                reason: stitched_missing(&self.db),
                missing: vec!["final_entities.entity_ref".into()],
            });
        }
        Ok(())
    }

    /// The stitched entities as a `FROM` item (see [`stitched`]); the bare table when they
    /// are not readable, so that a statement that should not have run names it.
    fn fe(&self) -> String {
        stitched(&self.db).unwrap_or_else(|| self.t("final_entities"))
    }

    /// Those of `tables` that exist here but that this user may not SELECT from.
    async fn unreadable_tables(&self, tables: &[&str]) -> Result<Vec<String>> {
        crate::schema::unreadable_tables(&self.pool, &self.ep, &self.db.schema, tables).await
    }

    async fn fetch(&self, sql: &Sql) -> Result<Vec<sqlx::postgres::PgRow>> {
        sql.query()
            .fetch_all(&self.pool)
            .await
            .map_err(|e| map_query_error(e, &self.ep))
    }

    /// Which views run here and which fields they show without.
    pub fn capabilities(&self) -> Capabilities {
        let mut views = Vec::new();
        let mut add = |view: &str, res: std::result::Result<(), Unavailable>, absent: Vec<&str>| {
            views.push(ViewStatus {
                view: view.to_string(),
                available: res.is_ok(),
                reason: res.err().map(|u| u.reason),
                absent_fields: absent.into_iter().map(str::to_string).collect(),
            });
        };
        let updated = self.has(&NEED_UPDATED);
        let absent_updated = if updated {
            vec![]
        } else {
            vec!["last_updated_at"]
        };
        add(
            views::ENTITIES,
            self.check(views::ENTITIES, &[NEED_FINAL]),
            absent_updated.clone(),
        );
        add(
            views::ENTITY_FILTERS,
            self.check(views::ENTITY_FILTERS, &[NEED_FINAL, NEED_SEARCH]),
            vec![],
        );
        add(
            views::SORT_BY_UPDATE,
            self.check(views::SORT_BY_UPDATE, &[NEED_FINAL, NEED_UPDATED]),
            vec![],
        );
        add(
            views::FACETS,
            self.check(views::FACETS, &[NEED_SEARCH]),
            vec![],
        );
        let entity = if self.has(&NEED_STATE) || self.has(&NEED_FINAL) {
            Ok(())
        } else {
            self.check(views::ENTITY, &[NEED_FINAL, NEED_STATE])
        };
        let mut absent = absent_updated;
        if !self.has(&NEED_RELATIONS) {
            absent.push("relations");
        }
        if !self.has(&NEED_STATE_ERRORS) {
            absent.push("processing");
        }
        if !self.has(&NEED_REFERENCES) {
            absent.push("unreferenced");
        }
        add(views::ENTITY, entity, absent);
        let mut absent = vec![];
        if !self.has(&NEED_FINAL) {
            absent.push("in_final");
        }
        add(
            views::ERRORS,
            self.check(views::ERRORS, &[NEED_STATE_ERRORS]),
            absent.clone(),
        );
        let orphans = self.check(views::ORPHANS, &[NEED_STATE]).and_then(|()| {
            if self.has(&NEED_REFERENCES) || self.has(&NEED_SEARCH) {
                Ok(())
            } else {
                self.check(views::ORPHANS, &[NEED_REFERENCES, NEED_SEARCH])
            }
        });
        let mut orphan_absent = absent.clone();
        if !self.has(&NEED_REFERENCES) {
            orphan_absent.push("unreferenced");
        }
        if !self.has(&NEED_SEARCH) {
            orphan_absent.push("orphan_annotation");
        }
        add(views::ORPHANS, orphans, orphan_absent);
        add(
            views::STALE,
            self.check(views::STALE, &[NEED_STATE_TIMES]),
            absent,
        );
        let mut absent = vec![];
        if !self.has_col("locations", "location_entity_ref") {
            absent.push("location_entity_ref");
        }
        if !self.db.has_table("location_update_log_latest")
            && !self.db.has_table("location_update_log")
        {
            absent.extend(["status", "message", "status_at"]);
        }
        add(
            views::LOCATIONS,
            self.check(views::LOCATIONS, &[NEED_LOCATIONS]),
            absent,
        );
        Capabilities {
            database: self.db.database.clone(),
            schema: self.db.schema.clone(),
            views,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Cursors: `[tag, key...]`, the tag naming the list and sort so a cursor is not reused elsewhere.

fn make_cursor(tag: &str, key: Vec<Value>) -> String {
    let mut all = vec![Value::String(tag.to_string())];
    all.extend(key);
    encode_cursor(&all)
}

/// Decodes a cursor of `tag` with `len` key parts.
fn read_cursor(cursor: Option<&str>, tag: &str, len: usize) -> Result<Option<Vec<Value>>> {
    let Some(c) = cursor.filter(|c| !c.trim().is_empty()) else {
        return Ok(None);
    };
    let mut v = decode_cursor(c, len + 1)?;
    if v.first().and_then(Value::as_str) != Some(tag) {
        return Err(CoreError::config(format!(
            "the page cursor `{c}` belongs to another list or sort order; start again without a cursor"
        )));
    }
    v.remove(0);
    Ok(Some(v))
}

fn cursor_str(v: &Value, cursor: &str) -> Result<String> {
    v.as_str().map(str::to_string).ok_or_else(|| {
        CoreError::config(format!(
            "invalid page cursor `{cursor}`: use the next_cursor value of the previous page unchanged"
        ))
    })
}

/// Cuts the extra row fetched to learn whether there is a next page and makes its cursor.
fn finish<T>(mut items: Vec<T>, limit: usize, key: impl Fn(&T) -> String) -> Page<T> {
    let next_cursor = if items.len() > limit {
        items.truncate(limit);
        items.last().map(key)
    } else {
        None
    };
    Page { items, next_cursor }
}

/// The errors JSON of `refresh_state.errors`: `''` before first processing, `'[]'` when fine.
pub(crate) fn parse_errors(raw: Option<&str>) -> Vec<ProcessingError> {
    let raw = raw.unwrap_or_default().trim();
    if raw.is_empty() || raw == "[]" {
        return Vec::new();
    }
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    match serde_json::from_str::<Value>(raw) {
        Ok(Value::Array(list)) => list
            .iter()
            .map(|e| ProcessingError {
                name: e
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("Error")
                    .to_string(),
                message: crate::redact::redact_text(
                    &e.get("message").map(text).unwrap_or_else(|| text(e)),
                ),
                cause: e.get("cause").filter(|c| !c.is_null()).map(|c| {
                    crate::redact::redact_text(
                        &c.get("message").map(text).unwrap_or_else(|| text(c)),
                    )
                }),
            })
            .collect(),
        _ => vec![ProcessingError {
            name: "Unparsed".to_string(),
            message: crate::redact::redact_text(raw),
            cause: None,
        }],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_parse_and_redact() {
        assert!(parse_errors(Some("")).is_empty());
        assert!(parse_errors(Some("[]")).is_empty());
        let e = parse_errors(Some(
            r#"[{"name":"InputError","message":"bad","cause":{"name":"Error","message":"root"}}]"#,
        ));
        assert_eq!(e[0].name, "InputError");
        assert_eq!(e[0].cause.as_deref(), Some("root"));
        let e = parse_errors(Some("not json"));
        assert_eq!(e[0].name, "Unparsed");
    }

    #[test]
    fn cursors_carry_their_list() {
        let c = make_cursor("ref", vec![Value::String("a".into())]);
        assert!(read_cursor(Some(&c), "ref", 1).unwrap().is_some());
        assert!(read_cursor(Some(&c), "errors", 1).is_err());
        assert!(read_cursor(None, "ref", 1).unwrap().is_none());
    }
}

//! One entity in full: the stitched entity (JSON and YAML, redacted), its relations in both
//! directions with whether the other side exists, and its processing state — in one statement
//! over the unique `entity_ref` indexes of `refresh_state` and `final_entities` and the
//! `relations` indexes on source and target ref.

use serde::Serialize;
use serde_json::Value;
use sqlx::Row;

use super::{
    Catalog, NEED_FINAL, NEED_REFERENCES, NEED_RELATIONS, NEED_STATE, NEED_UPDATED, Sql,
    parse_errors, views,
};
use crate::error::{CoreError, Result};
use crate::redact::redact_json;
use crate::refs::EntityRef;
use crate::sql::iso_text;

/// One relation as seen from the entity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RelationEdge {
    /// The relation type as stored (`ownedBy`, `hasPart`...), read from this entity to
    /// `entity_ref` for outgoing edges and from `entity_ref` to this entity for incoming ones.
    #[serde(rename = "type")]
    pub relation_type: String,
    /// The other side.
    pub entity_ref: String,
    /// Whether the other side is a stitched entity (in `final_entities`).
    pub exists: bool,
}

/// One processing error of `refresh_state.errors`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ProcessingError {
    pub name: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub cause: Option<String>,
}

/// What the processing loop knows of the entity (`refresh_state`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ProcessingState {
    pub entity_id: String,
    pub errors: Vec<ProcessingError>,
    /// True while the entity was never processed (`errors` is `''`).
    pub never_processed: bool,
    pub last_discovery_at: Option<String>,
    pub next_update_at: Option<String>,
    pub location_key: Option<String>,
}

/// Where [`EntityDetail::entity`] comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum EntitySource {
    /// The stitched entity of `final_entities`.
    Final,
    /// `refresh_state.processed_entity`: processed but not (yet) stitched.
    Processed,
    /// `refresh_state.unprocessed_entity`: as its provider emitted it.
    Unprocessed,
}

/// Everything about one entity.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct EntityDetail {
    pub entity_ref: String,
    /// Whether the entity reached `final_entities` (processing and stitching succeeded).
    pub in_final: bool,
    /// The entity, redacted; `None` when no stored form is readable JSON.
    #[cfg_attr(feature = "ts", ts(type = "unknown"))]
    pub entity: Option<Value>,
    pub source: Option<EntitySource>,
    /// [`EntityDetail::entity`] as YAML.
    pub yaml: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub last_updated_at: Option<String>,
    /// Relations whose source is this entity; absent without a `relations` table.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub outgoing: Option<Vec<RelationEdge>>,
    /// Relations whose target is this entity.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub incoming: Option<Vec<RelationEdge>>,
    /// Absent when the entity has no `refresh_state` row (or the table is missing).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub processing: Option<ProcessingState>,
    /// Orphaned: no `refresh_state_references` row targets it, or it carries the annotation
    /// `backstage.io/orphan: 'true'`.
    pub orphan: bool,
    /// No `refresh_state_references` row targets it; absent without that table.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub unreferenced: Option<bool>,
    pub orphan_annotation: bool,
    /// What this detail shows without or could not read, each naming the part and why: a
    /// stored entity that is not a readable entity document, the fallback to
    /// `refresh_state`, a table this user may not read. Empty when everything was read.
    pub notes: Vec<String>,
}

/// Whether `e` is PostgreSQL's `insufficient_privilege` (SQLSTATE 42501).
pub(crate) fn permission_denied(e: &CoreError) -> bool {
    matches!(e, CoreError::Database { code: Some(c), .. } if c == "42501")
}

impl Catalog {
    /// The statement [`Catalog::entity`] runs for a normalised ref.
    pub fn entity_sql(&self, entity_ref: &EntityRef) -> Result<Sql> {
        self.entity_sql_without(entity_ref, &[])
    }

    /// [`Catalog::entity_sql`] without reading the tables in `skip` (tables this user may not
    /// read): their parts come back NULL.
    fn entity_sql_without(&self, entity_ref: &EntityRef, skip: &[String]) -> Result<Sql> {
        let readable = |t: &str| !skip.iter().any(|s| s == t);
        let has_state = self.has(&NEED_STATE) && readable("refresh_state");
        // Older catalogs read a stitched entity's ref from refresh_state (see `stitched`).
        let has_final = self.has(&NEED_FINAL)
            && readable("final_entities")
            && (self.has_col("final_entities", "entity_ref") || readable("refresh_state"));
        if !has_state && !has_final && !skip.is_empty() {
            return Err(CoreError::Database {
                code: Some("42501".into()),
                message: format!(
                    "permission denied for {}: neither final_entities nor refresh_state can be read",
                    skip.join(", ")
                ),
            });
        }
        if !has_state && !has_final {
            self.check(views::ENTITY, &[NEED_FINAL, NEED_STATE])?;
        }
        let mut sql = Sql::default();
        let r = sql.text(entity_ref.to_string());
        let mut cols = vec!["q.ref".to_string()];
        let mut joins = Vec::new();
        if has_state {
            let c = |col: &str, ty: &str| self.col_or_null("rs", "refresh_state", col, ty);
            cols.push("rs.entity_id::text AS rs_id".into());
            cols.push(format!("{}::text AS errors", c("errors", "text")));
            cols.push(format!(
                "{}::text AS location_key",
                c("location_key", "text")
            ));
            cols.push(format!(
                "{}::text AS processed",
                c("processed_entity", "text")
            ));
            cols.push(format!(
                "{}::text AS unprocessed",
                c("unprocessed_entity", "text")
            ));
            for (col, alias) in [
                ("last_discovery_at", "discovered"),
                ("next_update_at", "next_update"),
            ] {
                cols.push(if self.has_col("refresh_state", col) {
                    format!("{} AS {alias}", iso_text(&format!("rs.{col}")))
                } else {
                    format!("NULL::text AS {alias}")
                });
            }
            joins.push(format!(
                "LEFT JOIN {} rs ON rs.entity_ref = q.ref",
                self.t("refresh_state")
            ));
        } else {
            for a in [
                "rs_id",
                "errors",
                "location_key",
                "processed",
                "unprocessed",
                "discovered",
                "next_update",
            ] {
                cols.push(format!("NULL::text AS {a}"));
            }
        }
        if has_final {
            cols.push("fe.entity_id::text AS fe_id".into());
            cols.push("fe.final_entity::text AS final_entity".into());
            cols.push(if self.has(&NEED_UPDATED) {
                format!("{} AS updated", iso_text("fe.last_updated_at"))
            } else {
                "NULL::text AS updated".into()
            });
            joins.push(format!(
                "LEFT JOIN {} fe ON fe.entity_ref = q.ref",
                self.fe()
            ));
        } else {
            cols.extend([
                "NULL::text AS fe_id".into(),
                "NULL::text AS final_entity".into(),
                "NULL::text AS updated".into(),
            ]);
        }
        cols.push(
            if self.has(&NEED_REFERENCES) && readable("refresh_state_references") {
                format!(
                    "EXISTS (SELECT 1 FROM {} x WHERE x.target_entity_ref = q.ref) AS referenced",
                    self.t("refresh_state_references")
                )
            } else {
                "NULL::bool AS referenced".into()
            },
        );
        if self.has(&NEED_RELATIONS) && readable("relations") {
            let rel = self.t("relations");
            let exists = if has_final {
                format!(
                    "EXISTS (SELECT 1 FROM {} t WHERE t.entity_ref = d.other)",
                    self.fe()
                )
            } else {
                "false".to_string()
            };
            for (alias, here, there) in [
                ("outgoing", "source_entity_ref", "target_entity_ref"),
                ("incoming", "target_entity_ref", "source_entity_ref"),
            ] {
                cols.push(format!(
                    "(SELECT coalesce(json_agg(json_build_array(d.type, d.other, {exists}) \
                       ORDER BY d.type, d.other), '[]')::text \
                     FROM (SELECT DISTINCT r.type::text AS type, r.{there}::text AS other \
                           FROM {rel} r WHERE r.{here} = q.ref) d) AS {alias}"
                ));
            }
        } else {
            cols.push("NULL::text AS outgoing".into());
            cols.push("NULL::text AS incoming".into());
        }
        sql.text = format!(
            "SELECT {} FROM (SELECT {r}::text AS ref) q {}",
            cols.join(", "),
            joins.join(" ")
        );
        Ok(sql)
    }

    /// One entity by ref (`kind:namespace/name`, or `kind:name` in namespace `default`),
    /// case-insensitively.
    pub async fn entity(&self, entity_ref: &str) -> Result<EntityDetail> {
        let parsed = EntityRef::parse(entity_ref)?;
        let sql = self.entity_sql(&parsed)?;
        let mut notes = Vec::new();
        let rows = match self.fetch(&sql).await {
            Ok(rows) => rows,
            Err(e) if permission_denied(&e) => {
                // One table this user may not read: show the rest, and name what is missing.
                let skip = self
                    .unreadable_tables(&[
                        "final_entities",
                        "refresh_state",
                        "relations",
                        "refresh_state_references",
                    ])
                    .await?;
                if skip.is_empty() {
                    return Err(e);
                }
                for t in &skip {
                    notes.push(format!(
                        "{t}: permission denied (SQLSTATE 42501) for the user `{}`; the parts read \
                         from it are not shown",
                        self.ep.user
                    ));
                }
                self.fetch(&self.entity_sql_without(&parsed, &skip)?)
                    .await?
            }
            Err(e) => return Err(e),
        };
        let row = rows
            .first()
            .ok_or_else(|| CoreError::Internal("the entity query returned no row".into()))?;
        let s = |c: &str| row.get::<Option<String>, _>(c);
        let (rs_id, fe_id) = (s("rs_id"), s("fe_id"));
        let normalized = parsed.to_string();
        if rs_id.is_none() && fe_id.is_none() {
            return Err(CoreError::NotFound {
                what: "entity",
                name: normalized,
                hint: Some(format!(
                    "no entity has this ref in {}.{} (neither processed nor stitched); refs are \
                     kind:namespace/name, and `bsi entities --text {}` finds entities by name",
                    self.db.database, self.db.schema, parsed.name
                )),
            });
        }
        let parse = |raw: Option<String>| {
            raw.and_then(|r| serde_json::from_str::<Value>(&r).ok())
                .filter(|v| v.is_object())
        };
        // Each stored form that is there but not a readable entity document is named.
        let mut read = |col: &str, what: &str| {
            let raw = s(col);
            let parsed = raw
                .as_deref()
                .and_then(|r| serde_json::from_str::<Value>(r).ok());
            if let Some(p) = super::entities::entity_problem(raw.as_deref(), parsed.as_ref()) {
                notes.push(format!("{what}: {p}"));
            }
            parse(raw)
        };
        let (entity, source) = if let Some(v) = read("final_entity", "final_entities.final_entity")
        {
            (Some(v), Some(EntitySource::Final))
        } else if let Some(v) = read("processed", "refresh_state.processed_entity") {
            (Some(v), Some(EntitySource::Processed))
        } else if let Some(v) = read("unprocessed", "refresh_state.unprocessed_entity") {
            (Some(v), Some(EntitySource::Unprocessed))
        } else {
            (None, None)
        };
        match source {
            Some(EntitySource::Processed) => notes.push(format!(
                "shown from refresh_state.processed_entity: {}",
                if fe_id.is_some() {
                    "its final_entities row is not a readable entity"
                } else {
                    "it has no final_entities row (not stitched yet, or stitching failed)"
                }
            )),
            Some(EntitySource::Unprocessed) => notes.push(
                "shown from refresh_state.unprocessed_entity (as its provider emitted it): neither \
                 final_entities nor processed_entity holds a readable entity"
                    .to_string(),
            ),
            _ => {}
        }
        let entity = entity.map(|mut v| {
            redact_json(&mut v);
            v
        });
        let yaml = entity
            .as_ref()
            .map(serde_yaml::to_string)
            .transpose()
            .map_err(|e| CoreError::Internal(format!("entity as YAML: {e}")))?;
        let edges = |c: &str| -> Option<Vec<RelationEdge>> {
            let raw = s(c)?;
            let list: Vec<(String, String, bool)> = serde_json::from_str(&raw).ok()?;
            Some(
                list.into_iter()
                    .map(|(t, r, exists)| RelationEdge {
                        relation_type: t,
                        entity_ref: r,
                        exists,
                    })
                    .collect(),
            )
        };
        let processing = rs_id.map(|id| {
            let raw = s("errors");
            ProcessingState {
                entity_id: id,
                never_processed: raw.as_deref().is_some_and(|e| e.trim().is_empty()),
                errors: parse_errors(raw.as_deref()),
                last_discovery_at: s("discovered"),
                next_update_at: s("next_update"),
                location_key: s("location_key"),
            }
        });
        let orphan_annotation = entity
            .as_ref()
            .and_then(|e| e.pointer("/metadata/annotations/backstage.io~1orphan"))
            .and_then(Value::as_str)
            == Some("true");
        let unreferenced = match (&processing, row.get::<Option<bool>, _>("referenced")) {
            (Some(_), Some(referenced)) => Some(!referenced),
            _ => None,
        };
        Ok(EntityDetail {
            entity_ref: normalized,
            in_final: fe_id.is_some(),
            entity,
            source,
            yaml,
            last_updated_at: s("updated"),
            outgoing: edges("outgoing"),
            incoming: edges("incoming"),
            processing,
            orphan: orphan_annotation || unreferenced == Some(true),
            unreferenced,
            orphan_annotation,
            notes,
        })
    }
}

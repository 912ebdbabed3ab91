//! The entity list (filters, sorts, keyset pages of summaries) and facets.
//!
//! Filters are semi-joins on the catalog's `search` table (see [`super::filter`]). Sorting by ref walks `final_entities_entity_ref_uniq`; sorting by last update has
//! no index in Backstage's schema (a top-N sort), and pages start strictly after the cursor key
//! `(last_updated_at, entity_ref)`.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::Row;

pub use super::filter::{EntityFilter, FacetField};
use super::{
    Catalog, NEED_FINAL, NEED_SEARCH, NEED_UPDATED, Param, Sql, cursor_str, finish, make_cursor,
    read_cursor, views,
};
use crate::error::Result;
use crate::page::{Page, limit};
use crate::redact::redact_text;
use crate::refs::EntityRef;
use crate::sql::{iso_text, like_contains};

/// How the entity list is ordered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum EntitySort {
    /// By `entity_ref` (kind, namespace, name).
    #[default]
    Ref,
    /// By `final_entities.last_updated_at`, then ref; entities without a time come first.
    Updated,
}

/// One request for a page of entities.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default)]
pub struct EntityQuery {
    pub filter: EntityFilter,
    pub sort: EntitySort,
    pub descending: bool,
    /// Page size, 1..=1000 (default 100).
    pub limit: Option<usize>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// An entity as a list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct EntitySummary {
    pub entity_ref: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub title: Option<String>,
    #[serde(rename = "type")]
    pub entity_type: Option<String>,
    pub lifecycle: Option<String>,
    pub owner: Option<String>,
    /// `spec.system` as written.
    pub system: Option<String>,
    pub tags: Vec<String>,
    /// Absent when this catalog has no `final_entities.last_updated_at`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub last_updated_at: Option<String>,
    /// What is wrong with the stored entity when it is not a readable entity document (not
    /// JSON, not an object, or `kind`/`metadata` of the wrong type); the fields above then come
    /// from the ref. Absent for a well-formed entity.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub problem: Option<String>,
}

/// What is wrong with a stored entity document, if anything a list or a detail would show as
/// blanks: not JSON, not an object, or `kind`, `metadata`, `metadata.name` or `spec` of the
/// wrong type.
pub(crate) fn entity_problem(raw: Option<&str>, parsed: Option<&Value>) -> Option<String> {
    let raw = raw?;
    let v = match parsed {
        Some(v) => v,
        None => {
            return serde_json::from_str::<Value>(raw)
                .err()
                .map(|e| format!("the stored entity is not valid JSON ({e})"));
        }
    };
    let kind_of = |v: &Value| match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    };
    let Some(o) = v.as_object() else {
        return Some(format!(
            "the stored entity is {} (JSON), not an object",
            kind_of(v)
        ));
    };
    let mut wrong = Vec::new();
    match o.get("kind") {
        Some(Value::String(_)) => {}
        None => wrong.push("kind is missing".to_string()),
        Some(k) => wrong.push(format!("kind is {}, not a string", kind_of(k))),
    }
    match o.get("metadata") {
        Some(Value::Object(m)) => match m.get("name") {
            Some(Value::String(_)) => {}
            None => wrong.push("metadata.name is missing".to_string()),
            Some(n) => wrong.push(format!("metadata.name is {}, not a string", kind_of(n))),
        },
        None => wrong.push("metadata is missing".to_string()),
        Some(m) => wrong.push(format!("metadata is {}, not an object", kind_of(m))),
    }
    match o.get("spec") {
        None | Some(Value::Object(_)) => {}
        Some(s) => wrong.push(format!("spec is {}, not an object", kind_of(s))),
    }
    (!wrong.is_empty()).then(|| {
        format!(
            "the stored entity has the wrong shape: {}",
            wrong.join("; ")
        )
    })
}

/// The longest text a list row carries for one field, in characters; the detail has all of it.
pub const LIST_FIELD_MAX: usize = 1000;
/// The most tags a list row carries.
pub const LIST_TAGS_MAX: usize = 50;

/// `text` cut to [`LIST_FIELD_MAX`] characters, with an ellipsis when cut.
fn clip(text: String) -> String {
    match text.char_indices().nth(LIST_FIELD_MAX) {
        Some((at, _)) => {
            let mut t = text;
            t.truncate(at);
            t.push('…');
            t
        }
        None => text,
    }
}

impl EntitySummary {
    fn from_row(entity_ref: String, raw: Option<&str>, updated: Option<String>) -> Self {
        // The common case reads only the listed fields and skips the rest of the document
        // without building it; a document whose fields have unexpected types takes the slow,
        // tolerant path below.
        if let Some(r) = raw.and_then(|r| serde_json::from_str::<ListFields>(r).ok()) {
            let parts = EntityRef::split(&entity_ref);
            let s = |v: Option<Cow<'_, str>>| v.map(|v| clip(redact_text(&v)));
            let (meta, spec) = (r.metadata.unwrap_or_default(), r.spec.unwrap_or_default());
            return EntitySummary {
                kind: s(r.kind).unwrap_or(parts.kind),
                namespace: s(meta.namespace).unwrap_or(parts.namespace),
                name: s(meta.name).unwrap_or(parts.name),
                title: s(meta.title),
                entity_type: s(spec.entity_type),
                lifecycle: s(spec.lifecycle),
                owner: s(spec.owner),
                system: s(spec.system),
                tags: meta
                    .tags
                    .unwrap_or_default()
                    .iter()
                    .take(LIST_TAGS_MAX)
                    .map(|t| clip(redact_text(t)))
                    .collect(),
                last_updated_at: updated,
                problem: None,
                entity_ref,
            };
        }
        let parsed: Option<Value> = raw.and_then(|r| serde_json::from_str(r).ok());
        let problem = entity_problem(raw, parsed.as_ref());
        let v = parsed.unwrap_or(Value::Null);
        let s = |p: &str| {
            v.pointer(p)
                .and_then(Value::as_str)
                .map(|t| clip(redact_text(t)))
        };
        let parts = EntityRef::split(&entity_ref);
        EntitySummary {
            kind: s("/kind").unwrap_or(parts.kind),
            namespace: s("/metadata/namespace").unwrap_or(parts.namespace),
            name: s("/metadata/name").unwrap_or(parts.name),
            title: s("/metadata/title"),
            entity_type: s("/spec/type"),
            lifecycle: s("/spec/lifecycle"),
            owner: s("/spec/owner"),
            system: s("/spec/system"),
            tags: v
                .pointer("/metadata/tags")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .take(LIST_TAGS_MAX)
                        .map(|t| clip(redact_text(t)))
                        .collect()
                })
                .unwrap_or_default(),
            last_updated_at: updated,
            problem,
            entity_ref,
        }
    }
}

/// The fields of an entity document that a list shows (see [`EntitySummary::from_row`]).
#[derive(Deserialize)]
struct ListFields<'a> {
    #[serde(borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow)]
    metadata: Option<ListMeta<'a>>,
    #[serde(borrow)]
    spec: Option<ListSpec<'a>>,
}

#[derive(Deserialize, Default)]
struct ListMeta<'a> {
    #[serde(borrow)]
    namespace: Option<Cow<'a, str>>,
    #[serde(borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    title: Option<Cow<'a, str>>,
    #[serde(borrow)]
    tags: Option<Vec<Cow<'a, str>>>,
}

#[derive(Deserialize, Default)]
struct ListSpec<'a> {
    #[serde(borrow, rename = "type")]
    entity_type: Option<Cow<'a, str>>,
    #[serde(borrow)]
    lifecycle: Option<Cow<'a, str>>,
    #[serde(borrow)]
    owner: Option<Cow<'a, str>>,
    #[serde(borrow)]
    system: Option<Cow<'a, str>>,
}

/// The count of one value of a facet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct FacetCount {
    /// The value as written in the entities (`search.original_value`).
    pub value: String,
    pub count: i64,
}

/// The values of one field and how many entities have each.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Facet {
    pub field: FacetField,
    pub values: Vec<FacetCount>,
}

/// Facets under the current filters, one per requested field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Facets {
    pub facets: Vec<Facet>,
}

impl Facets {
    pub fn get(&self, field: FacetField) -> Option<&Facet> {
        self.facets.iter().find(|f| f.field == field)
    }
}

impl Catalog {
    /// The statement [`Catalog::entities`] runs for `q` (it fetches one row more than the page
    /// size to know whether a next page exists).
    pub fn entities_sql(&self, q: &EntityQuery) -> Result<Sql> {
        self.check(views::ENTITIES, &[NEED_FINAL])?;
        if q.sort == EntitySort::Updated {
            self.check(views::SORT_BY_UPDATE, &[NEED_UPDATED])?;
        }
        let has_updated = self.has(&NEED_UPDATED);
        let mut sql = Sql::default();
        let mut conds = vec!["f.final_entity IS NOT NULL".to_string()];
        // Free text in ref order: the longest word drives the query (see `text_first_page`),
        // the other words are conditions like any filter.
        let words: Vec<&str> = q
            .filter
            .text
            .as_deref()
            .unwrap_or_default()
            .split_whitespace()
            .collect();
        let driver = (q.sort == EntitySort::Ref
            && self.has_col("final_entities", "entity_ref")
            && !words.is_empty())
        .then(|| {
            let longest = words
                .iter()
                .enumerate()
                .max_by_key(|(i, w)| (w.chars().count(), std::cmp::Reverse(*i)))
                .map_or(0, |(i, _)| i);
            let mut rest = q.filter.clone();
            rest.text = Some(
                words
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i != longest)
                    .map(|(_, w)| *w)
                    .collect::<Vec<_>>()
                    .join(" "),
            );
            (words[longest].to_lowercase(), rest)
        });
        match &driver {
            Some((_, rest)) => {
                self.check(views::ENTITY_FILTERS, &[NEED_SEARCH])?;
                sql.replan = true;
                self.filter_conditions(rest, "f.entity_id", &mut sql, &mut conds)?;
            }
            None => self.filter_conditions(&q.filter, "f.entity_id", &mut sql, &mut conds)?,
        }
        // Bounds on the ref (kind range, cursor): on `f`, and for the name branch on `n`.
        let mut bounds: Vec<String> = Vec::new();
        // Refs start with their kind: one kind also bounds the walk of the ref index, so a
        // page of a kind late in the alphabet does not scan every earlier kind first.
        let kinds: Vec<String> = q
            .filter
            .kind
            .iter()
            .map(|k| k.trim().to_lowercase())
            .filter(|k| !k.is_empty())
            .collect();
        if self.kind_ranges && kinds.len() == 1 && !kinds[0].contains([':', ';', '/']) {
            let lo = sql.text(format!("{}:", kinds[0]));
            let hi = sql.text(format!("{};", kinds[0]));
            bounds.push(format!(
                "{{a}}.entity_ref >= {lo} AND {{a}}.entity_ref < {hi}"
            ));
        }
        let (cmp, dir) = if q.descending {
            ("<", "DESC")
        } else {
            (">", "ASC")
        };
        let order = match q.sort {
            EntitySort::Ref => {
                if let Some(key) = read_cursor(q.cursor.as_deref(), "ref", 1)? {
                    let c = q.cursor.as_deref().unwrap_or_default();
                    let p = sql.text(cursor_str(&key[0], c)?);
                    bounds.push(format!("{{a}}.entity_ref {cmp} {p}"));
                }
                format!("f.entity_ref {dir}")
            }
            EntitySort::Updated => {
                if let Some(key) = read_cursor(q.cursor.as_deref(), "updated", 2)? {
                    let c = q.cursor.as_deref().unwrap_or_default();
                    let r = sql.text(cursor_str(&key[1], c)?);
                    // Ascending puts entities without a time first, descending last.
                    conds.push(match (key[0].is_null(), q.descending) {
                        (true, false) => format!(
                            "((f.last_updated_at IS NULL AND f.entity_ref > {r}) OR f.last_updated_at IS NOT NULL)"
                        ),
                        (true, true) => {
                            format!("(f.last_updated_at IS NULL AND f.entity_ref < {r})")
                        }
                        (false, desc) => {
                            let t = sql.text(cursor_str(&key[0], c)?);
                            let nulls = if desc { " OR f.last_updated_at IS NULL" } else { "" };
                            format!(
                                "(f.last_updated_at {cmp} {t}::timestamptz \
                                 OR (f.last_updated_at = {t}::timestamptz AND f.entity_ref {cmp} {r}){nulls})"
                            )
                        }
                    });
                }
                let nulls = if q.descending { "LAST" } else { "FIRST" };
                format!("f.last_updated_at {dir} NULLS {nulls}, f.entity_ref {dir}")
            }
        };
        let on = |a: &'static str| bounds.iter().map(move |b| b.replace("{a}", a));
        conds.extend(on("f"));
        let lim = sql.bind(Param::Int(limit(q.limit) as i64 + 1));
        let updated = if has_updated {
            iso_text("f.last_updated_at")
        } else {
            "NULL::text".to_string()
        };
        let fe = self.fe();
        let conds = conds.join(" AND ");
        let filter = match &driver {
            Some((word, _)) => {
                let w = sql.text(like_contains(word));
                // In the name: anywhere after the ref's `/` (names and namespaces hold none).
                let in_name = sql.text(format!("%/{}", like_contains(word)));
                let n_bounds: String = on("n").map(|b| format!(" AND {b}")).collect();
                text_first_page(
                    &fe,
                    &self.t("search"),
                    &conds,
                    &n_bounds,
                    (&in_name, &w),
                    dir,
                    &lim,
                )
            }
            None => conds,
        };
        sql.text = format!(
            "SELECT f.entity_ref::text AS entity_ref, f.final_entity, {updated} AS updated \
             FROM {fe} f WHERE {filter} ORDER BY {order} LIMIT {lim}"
        );
        Ok(sql)
    }

    /// A page of entity summaries.
    pub async fn entities(&self, q: &EntityQuery) -> Result<Page<EntitySummary>> {
        let sql = self.entities_sql(q)?;
        let rows = self.fetch(&sql).await?;
        let items = rows
            .iter()
            .map(|r| {
                EntitySummary::from_row(
                    r.get("entity_ref"),
                    r.get::<Option<&str>, _>("final_entity"),
                    r.get("updated"),
                )
            })
            .collect();
        let sort = q.sort;
        Ok(finish(
            items,
            limit(q.limit),
            |e: &EntitySummary| match sort {
                EntitySort::Ref => make_cursor("ref", vec![Value::String(e.entity_ref.clone())]),
                EntitySort::Updated => make_cursor(
                    "updated",
                    vec![
                        e.last_updated_at.clone().map_or(Value::Null, Value::String),
                        Value::String(e.entity_ref.clone()),
                    ],
                ),
            },
        ))
    }

    /// The statement [`Catalog::facets`] runs.
    pub fn facets_sql(&self, filter: &EntityFilter, fields: &[FacetField]) -> Result<Sql> {
        self.check(views::FACETS, &[NEED_SEARCH])?;
        let fields: Vec<FacetField> = if fields.is_empty() {
            FacetField::ALL.to_vec()
        } else {
            fields.to_vec()
        };
        let mut sql = Sql::default();
        let value = if self.has_col("search", "original_value") {
            "s.original_value"
        } else {
            "s.value"
        };
        let mut conds = vec![format!("{value} IS NOT NULL")];
        self.filter_conditions(filter, "s.entity_id", &mut sql, &mut conds)?;
        let mut keys: Vec<&str> = Vec::new();
        for f in &fields {
            if !keys.contains(&f.search_key()) {
                keys.push(f.search_key());
            }
        }
        let search = self.t("search");
        sql.text = if conds.len() == 1 {
            // Unfiltered: one aggregate per key, each an index-only walk of
            // `search_facets_covering_idx` grouped on one column.
            let parts: Vec<String> = keys
                .iter()
                .map(|key| {
                    format!(
                        "(SELECT '{key}'::text AS key, {value}::text AS value, count(*) AS n \
                         FROM {search} s WHERE s.key = '{key}' AND {value} IS NOT NULL GROUP BY {value})"
                    )
                })
                .collect();
            format!(
                "SELECT key, value, n FROM ({}) x ORDER BY key, n DESC, value",
                parts.join(" UNION ALL ")
            )
        } else {
            // Filtered: the filter's semi-joins once, for all keys together.
            let keys: Vec<String> = keys.iter().map(|k| format!("'{k}'")).collect();
            format!(
                "SELECT s.key::text AS key, {value}::text AS value, count(*) AS n FROM {search} s \
                 WHERE s.key IN ({}) AND {} GROUP BY s.key, {value} ORDER BY 1, n DESC, 2",
                keys.join(", "),
                conds.join(" AND ")
            )
        };
        Ok(sql)
    }

    /// Counts per value of each field (all fields when `fields` is empty) under `filter`.
    pub async fn facets(&self, filter: &EntityFilter, fields: &[FacetField]) -> Result<Facets> {
        let sql = self.facets_sql(filter, fields)?;
        let rows = self.fetch(&sql).await?;
        let mut wanted: Vec<FacetField> = Vec::new();
        for f in if fields.is_empty() {
            &FacetField::ALL[..]
        } else {
            fields
        } {
            if !wanted.contains(f) {
                wanted.push(*f);
            }
        }
        let mut facets: Vec<Facet> = wanted
            .iter()
            .map(|f| Facet {
                field: *f,
                values: Vec::new(),
            })
            .collect();
        for r in rows {
            let key: String = r.get("key");
            if let Some(facet) = facets.iter_mut().find(|f| f.field.search_key() == key) {
                facet.values.push(FacetCount {
                    value: redact_text(&r.get::<String, _>("value")),
                    count: r.get("n"),
                });
            }
        }
        Ok(Facets { facets })
    }
}

/// The condition of a free-text page in ref order, driven by one word `w` (a LIKE pattern):
/// the refs of the first page of each of two branches, and the page is the first of their union
/// (exact: the union's first `lim` refs are within the first `lim` of each branch).
/// - Names: `metadata.name` is the part of the ref after its `/` (Backstage stores refs
///   lowercased, as it stores `search` values), so `in_name`
///   (`%/%word%`) is matched inside the `entity_ref` index in ref order, which stops after
///   `lim` hits; the entity's other conditions are checked only for the hits. No `search` row
///   is read.
/// - Titles and descriptions: entities whose id has a matching `search` row of those two keys.
///   The planner picks the way by the word: a common one walks the entities in ref order and
///   stops after `lim`, a rare one reads the two keys' ranges of `search`'s
///   (key, value, entity_id) index once.
///
/// Backstage's own catalog API answers the same question (`fullTextFilterTerm` with these
/// fields) from `search` alone, over every key's range, sorted by entity id, with a count.
#[allow(clippy::too_many_arguments)]
fn text_first_page(
    fe: &str,
    search: &str,
    conds: &str,
    n_bounds: &str,
    (in_name, w): (&str, &str),
    dir: &str,
    lim: &str,
) -> String {
    format!(
        "f.entity_ref IN (\
           (SELECT n.entity_ref FROM {fe} n \
            WHERE n.entity_ref LIKE {in_name}{n_bounds} \
            AND EXISTS (SELECT 1 FROM {fe} f WHERE f.entity_ref = n.entity_ref AND {conds}) \
            ORDER BY n.entity_ref {dir} LIMIT {lim}) \
           UNION ALL \
           (SELECT f.entity_ref FROM {fe} f WHERE f.entity_id IN (SELECT s.entity_id FROM {search} s \
            WHERE s.key IN ('metadata.title', 'metadata.description') AND s.value LIKE {w}) \
            AND {conds} ORDER BY f.entity_ref {dir} LIMIT {lim}))"
    )
}

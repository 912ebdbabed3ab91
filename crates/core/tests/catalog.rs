//! The catalog views against generated data on a real server: every filter, sort and facet
//! checked against direct SQL over the stitched JSON, one entity in full, the trouble lists,
//! keyset pages that neither skip nor repeat while entities come and go, and views that degrade
//! one by one when tables and columns are missing.
//!
//! One data set is generated once per test binary and read through READ-ONLY connections; the
//! tests that write (paging under changes, degradation) generate their own copies.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use bsi_core::ErrorCode;
use bsi_core::catalog::{
    Catalog, EntityFilter, EntityQuery, EntitySort, EntitySource, EntitySummary, FacetField,
    ListQuery, views,
};
use bsi_core::connect::{Connections, PgPool};
use bsi_core::demo::generate::GenerateOptions;
use bsi_core::migrate::{self, AREAS, ApplyOptions};
use bsi_core::profile::{DivisionMode, Profile};
use bsi_core::redact::redact_json;
use bsi_core::secrets::Secret;
use bsi_core::tls::SslMode;
use bsi_testkit::shared;
use serde_json::{Value, json};
use sqlx::Row;

fn conns(prefix: &str, write: bool) -> Arc<Connections> {
    common::conns("cat", prefix, write)
}

/// Migrates fresh databases `<prefix><area>` and fills them with generated data.
async fn generated(prefix: &str, seed: u64, entities: usize) {
    let o = GenerateOptions {
        seed,
        tasks: 20,
        events_per_task: 4,
        ..GenerateOptions::size(entities)
    };
    let (w, t) = common::filled("cat", prefix, &AREAS, &o).await;
    // Fresh statistics, as a live catalog has them.
    sqlx::query("ANALYZE").execute(&t.catalog).await.unwrap();
    w.close().await;
}

/// The prefix of the data set shared by the read-only tests, generated on first use.
async fn data() -> &'static str {
    static DATA: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    DATA.get_or_init(|| async {
        let prefix = format!("bsicat{}_", std::process::id());
        generated(&prefix, 7, 400).await;
        prefix
    })
    .await
}

/// A read-only catalog on `prefix` and its pool for direct SQL.
async fn reader(prefix: &str) -> (Arc<Connections>, Catalog, PgPool) {
    let c = conns(prefix, false);
    let cat = Catalog::open(&c).await.unwrap();
    let pool = cat.pool().clone();
    (c, cat, pool)
}

async fn strings(pool: &PgPool, sql: &str, binds: &[&str]) -> Vec<String> {
    let mut q = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql.to_string()));
    for b in binds {
        q = q.bind(b.to_string());
    }
    q.fetch_all(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

async fn count(pool: &PgPool, sql: &str, binds: &[&str]) -> i64 {
    let mut q = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql.to_string()));
    for b in binds {
        q = q.bind(b.to_string());
    }
    q.fetch_one(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Every page of a query, in order.
async fn all_pages(cat: &Catalog, mut q: EntityQuery) -> Vec<EntitySummary> {
    let mut out = Vec::new();
    loop {
        let page = cat.entities(&q).await.unwrap();
        assert!(page.items.len() <= bsi_core::page::limit(q.limit));
        out.extend(page.items);
        match page.next_cursor {
            Some(c) => q.cursor = Some(c),
            None => return out,
        }
    }
}

fn refs(items: &[EntitySummary]) -> Vec<String> {
    items.iter().map(|e| e.entity_ref.clone()).collect()
}

/// Direct SQL over the stitched JSON (not the search index) for each filter field.
fn json_condition(field: FacetField) -> &'static str {
    match field {
        FacetField::Kind => "lower(j->>'kind') = $1",
        FacetField::Namespace => "lower(j->'metadata'->>'namespace') = $1",
        FacetField::Owner => "lower(j->'spec'->>'owner') = $1",
        FacetField::Lifecycle => "lower(j->'spec'->>'lifecycle') = $1",
        FacetField::Type => "lower(j->'spec'->>'type') = $1",
        FacetField::Tag => {
            "EXISTS (SELECT 1 FROM json_array_elements_text(CASE WHEN json_typeof(j->'metadata'->'tags') = 'array' \
             THEN j->'metadata'->'tags' ELSE '[]'::json END) t WHERE lower(t) = $1)"
        }
    }
}

const FINAL_JSON: &str = "(SELECT entity_ref::text AS entity_ref, final_entity::json AS j FROM final_entities \
                          WHERE final_entity IS NOT NULL) e";

fn filter_for(field: FacetField, value: &str) -> EntityFilter {
    let mut f = EntityFilter::default();
    let v = vec![value.to_string()];
    match field {
        FacetField::Kind => f.kind = v,
        FacetField::Namespace => f.namespace = v,
        FacetField::Owner => f.owner = v,
        FacetField::Lifecycle => f.lifecycle = v,
        FacetField::Type => f.entity_type = v,
        FacetField::Tag => f.tag = v,
    }
    f
}

#[tokio::test]
async fn every_filter_narrows_and_matches_direct_sql() {
    let prefix = data().await;
    let (c, cat, pool) = reader(prefix).await;
    let total = count(&pool, &format!("SELECT count(*) FROM {FINAL_JSON}"), &[]).await;
    let everything = all_pages(&cat, EntityQuery::default()).await;
    assert_eq!(everything.len() as i64, total);

    let facets = cat.facets(&EntityFilter::default(), &[]).await.unwrap();
    for field in FacetField::ALL {
        let facet = facets.get(field).unwrap();
        // A value that some but not all entities have (the namespace is `default` for all:
        // it must match everything).
        let value = facet
            .values
            .iter()
            .filter(|v| v.count > 1 && v.count < total)
            .map(|v| v.value.clone())
            .next()
            .or_else(|| facet.values.first().map(|v| v.value.clone()))
            .unwrap_or_else(|| panic!("no values for {field:?}"));
        let q = EntityQuery {
            filter: filter_for(field, &value.to_uppercase()),
            limit: Some(23),
            ..Default::default()
        };
        let got = refs(&all_pages(&cat, q).await);
        let expected = strings(
            &pool,
            &format!(
                "SELECT entity_ref FROM {FINAL_JSON} WHERE {} ORDER BY entity_ref",
                json_condition(field)
            ),
            &[&value.to_lowercase()],
        )
        .await;
        assert_eq!(got, expected, "{field:?} = {value}");
        assert!(!got.is_empty(), "{field:?} = {value}");
        if field != FacetField::Namespace {
            assert!(
                (got.len() as i64) < total,
                "{field:?} = {value} does not narrow"
            );
        }
    }

    // Every kind, one at a time (a single kind also bounds the ref index walk when the
    // collation allows, as it does here).
    assert!(cat.kind_ranges());
    for kind in &facets.get(FacetField::Kind).unwrap().values {
        for descending in [false, true] {
            let q = EntityQuery {
                filter: filter_for(FacetField::Kind, &kind.value),
                descending,
                limit: Some(31),
                ..Default::default()
            };
            let mut got = refs(&all_pages(&cat, q).await);
            if descending {
                got.reverse();
            }
            let expected = strings(
                &pool,
                &format!("SELECT entity_ref FROM {FINAL_JSON} WHERE lower(j->>'kind') = $1 ORDER BY entity_ref"),
                &[&kind.value.to_lowercase()],
            )
            .await;
            assert_eq!(got, expected, "kind {}", kind.value);
            assert_eq!(got.len() as i64, kind.count);
        }
    }

    // Free text: each word in the name, title or description.
    let name = everything
        .iter()
        .find(|e| e.kind == "Component")
        .unwrap()
        .name
        .clone();
    let word = name.split('-').next().unwrap().to_string();
    for text in [
        word.clone(),
        format!("{} {}", word.to_uppercase(), &name[name.len() - 3..]),
    ] {
        let q = EntityQuery {
            filter: EntityFilter {
                text: Some(text.clone()),
                ..Default::default()
            },
            ..Default::default()
        };
        let got = refs(&all_pages(&cat, q).await);
        let words: Vec<String> = text
            .split_whitespace()
            .map(|w| format!("%{}%", w.to_lowercase()))
            .collect();
        let conds: Vec<String> = (1..=words.len())
            .map(|i| {
                format!(
                    "(lower(j->'metadata'->>'name') LIKE ${i} OR lower(j->'metadata'->>'title') LIKE ${i} \
                     OR lower(j->'metadata'->>'description') LIKE ${i})"
                )
            })
            .collect();
        let binds: Vec<&str> = words.iter().map(String::as_str).collect();
        let expected = strings(
            &pool,
            &format!(
                "SELECT entity_ref FROM {FINAL_JSON} WHERE {} ORDER BY entity_ref",
                conds.join(" AND ")
            ),
            &binds,
        )
        .await;
        assert_eq!(got, expected, "text {text}");
        assert!(!got.is_empty() && (got.len() as i64) < total, "text {text}");
        // Small pages, both directions, with a kind: the same entities, page after page.
        for descending in [false, true] {
            let q = EntityQuery {
                filter: EntityFilter {
                    text: Some(text.clone()),
                    kind: vec!["component".into()],
                    ..Default::default()
                },
                descending,
                limit: Some(3),
                ..Default::default()
            };
            let mut want: Vec<String> = expected
                .iter()
                .filter(|r| r.starts_with("component:"))
                .cloned()
                .collect();
            if descending {
                want.reverse();
            }
            assert_eq!(
                refs(&all_pages(&cat, q).await),
                want,
                "text {text}, descending {descending}"
            );
        }
    }
    // LIKE wildcards in the text are literal.
    let q = EntityQuery {
        filter: EntityFilter {
            text: Some("%_".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    assert!(cat.entities(&q).await.unwrap().items.is_empty());

    // Combined filters: AND across fields, OR within one.
    let q = EntityQuery {
        filter: EntityFilter {
            kind: vec!["component".into(), "API".into()],
            lifecycle: vec!["production".into()],
            ..Default::default()
        },
        limit: Some(50),
        ..Default::default()
    };
    let got = refs(&all_pages(&cat, q).await);
    let expected = strings(
        &pool,
        &format!(
            "SELECT entity_ref FROM {FINAL_JSON} WHERE lower(j->>'kind') IN ('component', 'api') \
             AND lower(j->'spec'->>'lifecycle') = 'production' ORDER BY entity_ref"
        ),
        &[],
    )
    .await;
    assert_eq!(got, expected);
    assert!(!got.is_empty());

    // Summaries carry the entity's own fields.
    let e = everything
        .iter()
        .find(|e| e.kind == "Component" && !e.tags.is_empty())
        .unwrap();
    let raw = strings(
        &pool,
        "SELECT final_entity FROM final_entities WHERE entity_ref = $1",
        &[&e.entity_ref],
    )
    .await;
    let j: Value = serde_json::from_str(&raw[0]).unwrap();
    assert_eq!(e.name, j["metadata"]["name"].as_str().unwrap());
    assert_eq!(e.owner.as_deref(), j["spec"]["owner"].as_str());
    assert_eq!(e.lifecycle.as_deref(), j["spec"]["lifecycle"].as_str());
    assert_eq!(e.entity_type.as_deref(), j["spec"]["type"].as_str());
    assert_eq!(json!(e.tags), j["metadata"]["tags"]);
    assert!(e.last_updated_at.as_deref().unwrap().ends_with('Z'));
    c.close().await;
}

#[tokio::test]
async fn sorts_and_pages_match_direct_sql() {
    let prefix = data().await;
    let (c, cat, pool) = reader(prefix).await;
    let cases = [
        (EntitySort::Ref, false, "entity_ref ASC"),
        (EntitySort::Ref, true, "entity_ref DESC"),
        (
            EntitySort::Updated,
            false,
            "last_updated_at ASC NULLS FIRST, entity_ref ASC",
        ),
        (
            EntitySort::Updated,
            true,
            "last_updated_at DESC NULLS LAST, entity_ref DESC",
        ),
    ];
    for (sort, descending, order) in cases {
        let q = EntityQuery {
            sort,
            descending,
            limit: Some(37),
            ..Default::default()
        };
        let got = all_pages(&cat, q).await;
        let expected = strings(
            &pool,
            &format!(
                "SELECT entity_ref::text FROM final_entities WHERE final_entity IS NOT NULL ORDER BY {order}"
            ),
            &[],
        )
        .await;
        assert_eq!(refs(&got), expected, "{sort:?} desc={descending}");
        if sort == EntitySort::Updated {
            let times: Vec<&str> = got
                .iter()
                .map(|e| e.last_updated_at.as_deref().unwrap())
                .collect();
            let mut sorted = times.clone();
            sorted.sort_unstable();
            if descending {
                sorted.reverse();
            }
            assert_eq!(times, sorted);
        }
    }
    // A cursor of one sort order is refused by another, and garbage is refused clearly.
    let first = cat
        .entities(&EntityQuery {
            limit: Some(5),
            ..Default::default()
        })
        .await
        .unwrap();
    let err = cat
        .entities(&EntityQuery {
            sort: EntitySort::Updated,
            cursor: first.next_cursor.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Config, "{err}");
    let err = cat
        .entities(&EntityQuery {
            cursor: Some("not-a-cursor".into()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Config, "{err}");
    // The SQL exposed for benchmarks is the SQL that runs.
    let sql = cat.entities_sql(&EntityQuery::default()).unwrap();
    let direct = sql.query().fetch_all(&pool).await.unwrap();
    assert_eq!(direct.len(), 101.min(expected_total(&pool).await as usize));
    c.close().await;
}

async fn expected_total(pool: &PgPool) -> i64 {
    count(
        pool,
        "SELECT count(*) FROM final_entities WHERE final_entity IS NOT NULL",
        &[],
    )
    .await
}

#[tokio::test]
async fn facets_equal_direct_counts() {
    let prefix = data().await;
    let (c, cat, pool) = reader(prefix).await;
    let facets = cat.facets(&EntityFilter::default(), &[]).await.unwrap();
    assert_eq!(facets.facets.len(), FacetField::ALL.len());
    for field in FacetField::ALL {
        let got: BTreeMap<String, i64> = facets
            .get(field)
            .unwrap()
            .values
            .iter()
            .map(|v| (v.value.clone(), v.count))
            .collect();
        let rows = sqlx::query(
            "SELECT original_value::text AS v, count(*) AS n FROM search \
             WHERE key = $1 AND original_value IS NOT NULL GROUP BY 1",
        )
        .bind(field.search_key())
        .fetch_all(&pool)
        .await
        .unwrap();
        let expected: BTreeMap<String, i64> =
            rows.iter().map(|r| (r.get("v"), r.get("n"))).collect();
        assert_eq!(got, expected, "{field:?}");
        assert!(!got.is_empty(), "{field:?}");
    }
    // Kinds, counted independently from the stitched JSON.
    let kinds: BTreeMap<String, i64> = facets
        .get(FacetField::Kind)
        .unwrap()
        .values
        .iter()
        .map(|v| (v.value.clone(), v.count))
        .collect();
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT j->>'kind' AS k, count(*) AS n FROM {FINAL_JSON} GROUP BY 1"
    )))
    .fetch_all(&pool)
    .await
    .unwrap();
    let expected: BTreeMap<String, i64> = rows.iter().map(|r| (r.get("k"), r.get("n"))).collect();
    assert_eq!(kinds, expected);
    assert!(kinds.len() >= 9, "{kinds:?}");

    // Under a filter.
    let filter = EntityFilter {
        lifecycle: vec!["Production".into()],
        ..Default::default()
    };
    let facets = cat
        .facets(&filter, &[FacetField::Kind, FacetField::Owner])
        .await
        .unwrap();
    assert_eq!(facets.facets.len(), 2);
    let kinds: BTreeMap<String, i64> = facets
        .get(FacetField::Kind)
        .unwrap()
        .values
        .iter()
        .map(|v| (v.value.clone(), v.count))
        .collect();
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT j->>'kind' AS k, count(*) AS n FROM {FINAL_JSON} \
         WHERE lower(j->'spec'->>'lifecycle') = 'production' GROUP BY 1"
    )))
    .fetch_all(&pool)
    .await
    .unwrap();
    let expected: BTreeMap<String, i64> = rows.iter().map(|r| (r.get("k"), r.get("n"))).collect();
    assert_eq!(kinds, expected);
    let listed = all_pages(
        &cat,
        EntityQuery {
            filter,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(kinds.values().sum::<i64>(), listed.len() as i64);
    c.close().await;
}

#[tokio::test]
async fn one_entity_in_full() {
    let prefix = data().await;
    let (c, cat, pool) = reader(prefix).await;
    // The most connected stitched entity.
    let r = strings(
        &pool,
        "SELECT r.source_entity_ref::text FROM relations r \
         JOIN final_entities f ON f.entity_ref = r.source_entity_ref \
         GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1",
        &[],
    )
    .await
    .remove(0);
    let d = cat.entity(&r.to_uppercase()).await.unwrap();
    assert_eq!(d.entity_ref, r);
    assert!(d.in_final);
    assert_eq!(d.source, Some(EntitySource::Final));
    let mut expected: Value = serde_json::from_str(
        &strings(
            &pool,
            "SELECT final_entity FROM final_entities WHERE entity_ref = $1",
            &[&r],
        )
        .await[0],
    )
    .unwrap();
    redact_json(&mut expected);
    assert_eq!(d.entity.as_ref().unwrap(), &expected);
    let from_yaml: Value = serde_yaml::from_str(d.yaml.as_deref().unwrap()).unwrap();
    assert_eq!(&from_yaml, d.entity.as_ref().unwrap());
    assert!(d.last_updated_at.is_some());

    for (edges, here, there) in [
        (
            d.outgoing.as_ref().unwrap(),
            "source_entity_ref",
            "target_entity_ref",
        ),
        (
            d.incoming.as_ref().unwrap(),
            "target_entity_ref",
            "source_entity_ref",
        ),
    ] {
        assert!(!edges.is_empty(), "{here}");
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT DISTINCT type::text AS t, {there}::text AS o, \
             EXISTS (SELECT 1 FROM final_entities f WHERE f.entity_ref = r.{there}) AS e \
             FROM relations r WHERE {here} = $1"
        )))
        .bind(&r)
        .fetch_all(&pool)
        .await
        .unwrap();
        let expected: BTreeSet<(String, String, bool)> = rows
            .iter()
            .map(|x| (x.get("t"), x.get("o"), x.get("e")))
            .collect();
        let got: BTreeSet<(String, String, bool)> = edges
            .iter()
            .map(|e| (e.relation_type.clone(), e.entity_ref.clone(), e.exists))
            .collect();
        assert_eq!(got, expected, "{here}");
        assert_eq!(got.len(), edges.len());
    }
    let p = d.processing.as_ref().unwrap();
    assert!(p.errors.is_empty() && !p.never_processed);
    assert!(p.last_discovery_at.is_some() && p.next_update_at.is_some());
    assert!(!d.orphan);
    assert_eq!(d.unreferenced, Some(false));

    // The namespace defaults to `default`.
    let short = r.replacen("default/", "", 1);
    assert_eq!(cat.entity(&short).await.unwrap().entity_ref, r);

    // A relation to an entity that does not exist says so.
    let src = strings(
        &pool,
        "SELECT r.source_entity_ref::text FROM relations r JOIN final_entities f ON f.entity_ref = r.source_entity_ref \
         WHERE NOT EXISTS (SELECT 1 FROM final_entities t WHERE t.entity_ref = r.target_entity_ref) \
         ORDER BY 1 LIMIT 1",
        &[],
    )
    .await
    .remove(0);
    let d = cat.entity(&src).await.unwrap();
    assert!(d.outgoing.unwrap().iter().any(|e| !e.exists));

    // An entity that never reached final_entities: its errors and the entity as emitted.
    let bad = strings(
        &pool,
        "SELECT entity_ref::text FROM refresh_state WHERE errors NOT IN ('', '[]') ORDER BY 1 LIMIT 1",
        &[],
    )
    .await
    .remove(0);
    let d = cat.entity(&bad).await.unwrap();
    assert!(!d.in_final);
    assert!(matches!(
        d.source,
        Some(EntitySource::Processed | EntitySource::Unprocessed)
    ));
    let errs = &d.processing.as_ref().unwrap().errors;
    assert!(
        !errs.is_empty()
            && errs
                .iter()
                .all(|e| !e.name.is_empty() && !e.message.is_empty())
    );
    assert!(d.entity.is_some() && d.yaml.is_some());

    // An orphan.
    let orphan = strings(
        &pool,
        "SELECT entity_ref::text FROM final_entities \
         WHERE final_entity::json->'metadata'->'annotations'->>'backstage.io/orphan' = 'true' ORDER BY 1 LIMIT 1",
        &[],
    )
    .await
    .remove(0);
    let d = cat.entity(&orphan).await.unwrap();
    assert!(d.orphan && d.orphan_annotation);
    assert_eq!(d.unreferenced, Some(true));

    // The exposed SQL is what runs.
    let parsed = bsi_core::refs::EntityRef::parse(&r).unwrap();
    let rows = cat
        .entity_sql(&parsed)
        .unwrap()
        .query()
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    c.close().await;
}

#[tokio::test]
async fn a_bad_ref_is_not_found_with_a_clear_message() {
    let prefix = data().await;
    let (c, cat, _) = reader(prefix).await;
    let err = cat
        .entity("Component:default/Does-Not-Exist")
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::NotFound, "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("entity `component:default/does-not-exist` not found"),
        "{msg}"
    );
    assert!(
        msg.contains("kind:namespace/name") && msg.contains("bsi entities"),
        "{msg}"
    );
    let err = cat.entity("does-not-exist").await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::Config, "{err}");
    assert!(err.to_string().contains("has no kind"), "{err}");
    let err = cat.entity("component:default/").await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::Config, "{err}");
    c.close().await;
}

#[tokio::test]
async fn errors_orphans_stale_and_locations() {
    let prefix = data().await;
    let (c, cat, pool) = reader(prefix).await;
    let small = |cursor: Option<String>| ListQuery {
        limit: Some(3),
        cursor,
    };

    // Processing errors, paged.
    let mut errored = Vec::new();
    let mut cursor = None;
    loop {
        let p = cat.errors(&small(cursor)).await.unwrap();
        errored.extend(p.items);
        match p.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    let expected = strings(
        &pool,
        "SELECT entity_ref::text FROM refresh_state WHERE errors NOT IN ('', '[]') ORDER BY entity_ref",
        &[],
    )
    .await;
    assert!(expected.len() > 3);
    assert_eq!(
        errored
            .iter()
            .map(|e| e.entity_ref.clone())
            .collect::<Vec<_>>(),
        expected
    );
    for e in &errored {
        assert!(!e.errors.is_empty() && e.errors.iter().all(|x| !x.message.is_empty()));
        assert_eq!(e.in_final, Some(false), "{}", e.entity_ref);
        assert!(e.location_key.is_some() || e.entity_ref.starts_with("location:"));
    }

    // Orphans: unreferenced or annotated.
    let mut orphans = Vec::new();
    let mut cursor = None;
    loop {
        let p = cat.orphans(&small(cursor)).await.unwrap();
        orphans.extend(p.items);
        match p.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    let rows = sqlx::query(
        "SELECT rs.entity_ref::text AS r, \
                NOT EXISTS (SELECT 1 FROM refresh_state_references x WHERE x.target_entity_ref = rs.entity_ref) AS u, \
                coalesce(f.final_entity::json->'metadata'->'annotations'->>'backstage.io/orphan' = 'true', false) AS a \
         FROM refresh_state rs LEFT JOIN final_entities f ON f.entity_id = rs.entity_id ORDER BY rs.entity_ref",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let expected: Vec<(String, bool, bool)> = rows
        .iter()
        .map(|r| {
            (
                r.get::<String, _>("r"),
                r.get::<bool, _>("u"),
                r.get::<bool, _>("a"),
            )
        })
        .filter(|(_, u, a)| *u || *a)
        .collect();
    assert!(!expected.is_empty());
    let got: Vec<(String, bool, bool)> = orphans
        .iter()
        .map(|o| {
            (
                o.entity_ref.clone(),
                o.unreferenced.unwrap(),
                o.orphan_annotation.unwrap(),
            )
        })
        .collect();
    assert_eq!(got, expected);

    // Stale: a cutoff in the middle of the discovery times splits the entities.
    let secs = count(
        &pool,
        "SELECT ceil(extract(epoch FROM now() - percentile_disc(0.5) WITHIN GROUP (ORDER BY last_discovery_at)))::bigint \
         FROM refresh_state",
        &[],
    )
    .await;
    let older = Duration::from_secs(secs as u64);
    let first = cat.stale(older, &small(None)).await.unwrap();
    let cutoff = first.cutoff.clone();
    let mut stale = first.page.items;
    let mut cursor = first.page.next_cursor;
    while let Some(c) = cursor {
        let p = cat.stale(older, &small(Some(c))).await.unwrap();
        assert_eq!(p.cutoff, cutoff, "later pages keep the first cutoff");
        stale.extend(p.page.items);
        cursor = p.page.next_cursor;
    }
    let expected = strings(
        &pool,
        "SELECT entity_ref::text FROM refresh_state \
         WHERE last_discovery_at < $1::timestamptz OR next_update_at < $1::timestamptz ORDER BY entity_ref",
        &[&cutoff],
    )
    .await;
    let all_states = count(&pool, "SELECT count(*) FROM refresh_state", &[]).await as usize;
    assert!(
        !expected.is_empty() && expected.len() < all_states,
        "{}",
        expected.len()
    );
    assert_eq!(
        stale
            .iter()
            .map(|s| s.entity_ref.clone())
            .collect::<Vec<_>>(),
        expected
    );
    assert!(stale.iter().all(|s| s.discovery_stale || s.refresh_overdue));
    assert!(
        stale
            .iter()
            .all(|s| s.last_discovery_at < cutoff || s.next_update_at < cutoff)
    );
    // Nothing is ten years old.
    let none = cat
        .stale(Duration::from_secs(3650 * 86_400), &ListQuery::default())
        .await
        .unwrap();
    assert!(none.page.items.is_empty());

    // Locations with their latest status.
    let locs = cat
        .locations(&ListQuery {
            limit: Some(1000),
            cursor: None,
        })
        .await
        .unwrap();
    let mut paged = Vec::new();
    let mut cursor = None;
    loop {
        let p = cat.locations(&small(cursor)).await.unwrap();
        paged.extend(p.items);
        match p.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(paged, locs.items);
    let rows = sqlx::query(
        "SELECT l.id::text AS id, (SELECT u.status FROM location_update_log u WHERE u.location_id = l.id \
         ORDER BY u.id DESC LIMIT 1) AS s FROM locations l",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let expected: HashMap<String, Option<String>> =
        rows.iter().map(|r| (r.get("id"), r.get("s"))).collect();
    assert!(expected.len() > 3);
    assert_eq!(locs.items.len(), expected.len());
    for l in &locs.items {
        assert_eq!(&l.status, expected.get(&l.id).unwrap(), "{}", l.target);
        assert!(l.location_entity_ref.is_some());
        if l.status.as_deref() == Some("fail") {
            assert!(l.message.is_some());
        }
    }
    assert!(
        locs.items
            .iter()
            .any(|l| l.status.is_none() && l.target == "bootstrap")
    );
    assert!(locs.items.iter().filter(|l| l.status.is_some()).count() > 1);
    c.close().await;
}

// ---------------------------------------------------------------------------------------------
// Paging while data changes.

async fn insert_entity(pool: &PgPool, n: u32, name: &str, updated: &str) -> String {
    let id = format!("00000000-0000-4000-8000-{n:012}");
    let eref = format!("component:default/{}", name.to_lowercase());
    let entity = json!({
        "apiVersion": "backstage.io/v1alpha1", "kind": "Component",
        "metadata": {"name": name, "namespace": "default", "uid": id},
        "spec": {"type": "service", "lifecycle": "production", "owner": "team-x"},
        "relations": []
    })
    .to_string();
    let mut tx = pool.begin().await.unwrap();
    sqlx::query(
        "INSERT INTO refresh_state (entity_id, entity_ref, unprocessed_entity, processed_entity, errors, \
         next_update_at, last_discovery_at) VALUES ($1, $2, $3, $3, '[]', now(), now())",
    )
    .bind(&id)
    .bind(&eref)
    .bind(&entity)
    .execute(&mut *tx)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO final_entities (entity_id, hash, final_entity, last_updated_at, entity_ref) \
         VALUES ($1, 'h', $2, $3::timestamptz, $4)",
    )
    .bind(&id)
    .bind(&entity)
    .bind(updated)
    .bind(&eref)
    .execute(&mut *tx)
    .await
    .unwrap();
    for (k, v, o) in [
        ("kind", "component", "Component"),
        ("metadata.name", name, name),
        ("metadata.namespace", "default", "default"),
        ("spec.lifecycle", "production", "production"),
    ] {
        sqlx::query(
            "INSERT INTO search (entity_id, key, value, original_value) VALUES ($1, $2, $3, $4)",
        )
        .bind(&id)
        .bind(k)
        .bind(v)
        .bind(o)
        .execute(&mut *tx)
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    eref
}

async fn delete_entity(pool: &PgPool, eref: &str) {
    sqlx::query("DELETE FROM refresh_state WHERE entity_ref = $1")
        .bind(eref)
        .execute(pool)
        .await
        .unwrap();
}

#[tokio::test]
async fn keyset_pages_neither_skip_nor_repeat_while_data_changes() {
    let prefix = format!("bsicatpg{}_", std::process::id());
    generated(&prefix, 9, 250).await;
    let (c, cat, read_pool) = reader(&prefix).await;
    let w = conns(&prefix, true);
    let write = w.pool(&w.plugin_endpoint("catalog")).await.unwrap();
    let mut n = 0u32;
    let component = EntityFilter {
        kind: vec!["component".into()],
        ..Default::default()
    };
    let cases = [
        (
            EntitySort::Ref,
            false,
            EntityFilter::default(),
            "entity_ref ASC",
        ),
        (
            EntitySort::Ref,
            true,
            EntityFilter::default(),
            "entity_ref DESC",
        ),
        (
            EntitySort::Updated,
            false,
            EntityFilter::default(),
            "last_updated_at ASC NULLS FIRST, entity_ref ASC",
        ),
        (
            EntitySort::Updated,
            true,
            component.clone(),
            "last_updated_at DESC NULLS LAST, entity_ref DESC",
        ),
        (EntitySort::Ref, false, component, "entity_ref ASC"),
    ];
    for (case, (sort, descending, filter, order)) in cases.into_iter().enumerate() {
        let kind_only = if filter.kind.is_empty() {
            ""
        } else {
            "AND lower(final_entity::json->>'kind') = 'component'"
        };
        let initial = strings(
            &read_pool,
            &format!(
                "SELECT entity_ref::text FROM final_entities WHERE final_entity IS NOT NULL {kind_only} ORDER BY {order}"
            ),
            &[],
        )
        .await;
        assert!(initial.len() > 20, "{case}: {}", initial.len());
        let mut q = EntityQuery {
            filter,
            sort,
            descending,
            limit: Some(7),
            cursor: None,
        };
        let mut seen: Vec<EntitySummary> = Vec::new();
        let mut deleted: HashSet<String> = HashSet::new();
        let mut inserted: HashSet<String> = HashSet::new();
        loop {
            let page = cat.entities(&q).await.unwrap();
            seen.extend(page.items);
            let Some(cursor) = page.next_cursor else {
                break;
            };
            q.cursor = Some(cursor);
            // Between pages: entities appear before, at and after the cursor, and disappear
            // both ahead of it and behind it.
            let seen_set: HashSet<&str> = seen.iter().map(|e| e.entity_ref.as_str()).collect();
            let last = seen.last().unwrap();
            let at = last.last_updated_at.clone().unwrap();
            for (name, when) in [
                (
                    format!("aaa-new-{case}-{n}"),
                    "2020-01-01T00:00:00Z".to_string(),
                ),
                (
                    format!("zzz-new-{case}-{n}"),
                    "2030-01-01T00:00:00Z".to_string(),
                ),
                (format!("{}-x{case}-{n}", last.name), at.clone()),
                (format!("a{}-x{case}-{n}", last.name), at),
            ] {
                n += 1;
                inserted.insert(insert_entity(&write, n, &name, &when).await);
            }
            let ahead = initial
                .iter()
                .find(|r| !seen_set.contains(r.as_str()) && !deleted.contains(*r))
                .cloned();
            let behind = seen
                .iter()
                .map(|e| e.entity_ref.clone())
                .find(|r| !deleted.contains(r) && !inserted.contains(r));
            for r in ahead.into_iter().chain(behind) {
                delete_entity(&write, &r).await;
                deleted.insert(r);
            }
        }
        // Nothing repeats, nothing that existed throughout is missing, nothing comes from nowhere.
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for e in &seen {
            *counts.entry(e.entity_ref.as_str()).or_default() += 1;
        }
        assert!(
            counts.values().all(|&c| c == 1),
            "case {case}: a row repeated"
        );
        for r in initial.iter().filter(|r| !deleted.contains(*r)) {
            assert_eq!(counts.get(r.as_str()), Some(&1), "case {case}: {r} skipped");
        }
        let initial_set: HashSet<&String> = initial.iter().collect();
        assert!(
            seen.iter()
                .all(|e| initial_set.contains(&e.entity_ref) || inserted.contains(&e.entity_ref))
        );
        assert!(deleted.len() >= 6 && inserted.len() >= 12, "case {case}");
        // The pages are in order.
        let key = |e: &EntitySummary| match sort {
            EntitySort::Ref => (String::new(), e.entity_ref.clone()),
            EntitySort::Updated => (e.last_updated_at.clone().unwrap(), e.entity_ref.clone()),
        };
        for pair in seen.windows(2) {
            let (a, b) = (key(&pair[0]), key(&pair[1]));
            if descending {
                assert!(a > b, "case {case}: {a:?} then {b:?}");
            } else {
                assert!(a < b, "case {case}: {a:?} then {b:?}");
            }
        }
        // Clean up this case's inserts so the next one starts from generated data only.
        for r in &inserted {
            delete_entity(&write, r).await;
        }
    }
    w.close().await;
    c.close().await;
}

// ---------------------------------------------------------------------------------------------
// Degradation.

#[tokio::test]
async fn views_degrade_one_by_one() {
    let prefix = format!("bsicatdg{}_", std::process::id());
    generated(&prefix, 5, 200).await;
    let db = format!("{prefix}catalog");
    let s = shared();
    s.psql(
        &db,
        "ALTER TABLE final_entities DROP COLUMN last_updated_at",
    );
    s.psql(&db, "DROP TABLE location_update_log CASCADE");

    let (c, cat, _) = reader(&prefix).await;
    let caps = cat.capabilities();
    let entities = caps.view(views::ENTITIES).unwrap();
    assert!(entities.available);
    assert_eq!(entities.absent_fields, vec!["last_updated_at"]);
    let sort = caps.view(views::SORT_BY_UPDATE).unwrap();
    assert!(!sort.available);
    assert!(
        sort.reason
            .as_deref()
            .unwrap()
            .contains("final_entities.last_updated_at")
    );
    let locations = caps.view(views::LOCATIONS).unwrap();
    assert!(locations.available && locations.absent_fields.contains(&"status".to_string()));

    // The list works without the field, and the field is absent from its JSON.
    let page = cat.entities(&EntityQuery::default()).await.unwrap();
    assert!(!page.items.is_empty());
    assert!(page.items.iter().all(|e| e.last_updated_at.is_none()));
    let v = serde_json::to_value(&page.items[0]).unwrap();
    assert!(v.get("last_updated_at").is_none(), "{v}");
    // Sorting by it reports the view degraded, naming what is missing.
    let err = cat
        .entities(&EntityQuery {
            sort: EntitySort::Updated,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::SchemaDegraded, "{err}");
    assert!(err.to_string().contains("last_updated_at"), "{err}");
    // Locations list without status.
    let locs = cat.locations(&ListQuery::default()).await.unwrap();
    assert!(locs.items.len() > 3 && locs.items.iter().all(|l| l.status.is_none()));
    // Everything else still works.
    let some = page.items[0].entity_ref.clone();
    let d = cat.entity(&some).await.unwrap();
    assert!(d.in_final && d.last_updated_at.is_none() && d.outgoing.is_some());
    assert!(
        !cat.facets(&EntityFilter::default(), &[])
            .await
            .unwrap()
            .facets
            .is_empty()
    );
    let filtered = EntityQuery {
        filter: EntityFilter {
            kind: vec!["component".into()],
            ..Default::default()
        },
        ..Default::default()
    };
    assert!(!cat.entities(&filtered).await.unwrap().items.is_empty());
    assert!(
        !cat.errors(&ListQuery::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert!(
        !cat.orphans(&ListQuery::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert!(
        cat.stale(Duration::from_secs(60), &ListQuery::default())
            .await
            .is_ok()
    );
    c.close().await;

    // Without refresh_state_references (removed upstream in work in progress): orphans come
    // from the annotation alone, the entity has no `unreferenced`.
    s.psql(&db, "DROP TABLE refresh_state_references");
    let (c, cat, pool) = reader(&prefix).await;
    let orphans = cat
        .orphans(&ListQuery {
            limit: Some(1000),
            cursor: None,
        })
        .await
        .unwrap();
    let annotated = count(
        &pool,
        "SELECT count(*) FROM final_entities \
         WHERE final_entity::json->'metadata'->'annotations'->>'backstage.io/orphan' = 'true'",
        &[],
    )
    .await;
    assert_eq!(orphans.items.len() as i64, annotated);
    assert!(
        orphans
            .items
            .iter()
            .all(|o| o.unreferenced.is_none() && o.orphan_annotation == Some(true))
    );
    let d = cat.entity(&some).await.unwrap();
    assert!(d.unreferenced.is_none());
    assert!(
        serde_json::to_value(&d)
            .unwrap()
            .get("unreferenced")
            .is_none()
    );
    c.close().await;

    // Without the search index: filters, facets and orphans are unavailable; the rest works.
    s.psql(&db, "DROP TABLE search");
    let (c, cat, _) = reader(&prefix).await;
    for err in [
        cat.entities(&filtered).await.unwrap_err(),
        cat.facets(&EntityFilter::default(), &[]).await.unwrap_err(),
        cat.orphans(&ListQuery::default()).await.unwrap_err(),
    ] {
        assert_eq!(err.code(), ErrorCode::SchemaDegraded, "{err}");
        assert!(err.to_string().contains("search"), "{err}");
    }
    assert!(!cat.capabilities().view(views::FACETS).unwrap().available);
    assert!(
        !cat.entities(&EntityQuery::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert!(cat.entity(&some).await.is_ok());
    assert!(
        !cat.errors(&ListQuery::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert!(cat.locations(&ListQuery::default()).await.is_ok());
    c.close().await;
}

// ---------------------------------------------------------------------------------------------
// Schema mode.

#[tokio::test]
async fn schema_mode_reads_the_plugin_schema() {
    let s = shared();
    let db = s.create_database("bsicatschema_");
    let mk = |write: bool| {
        let mut p = Profile::new("cats", "localhost", "postgres");
        p.port = s.port;
        p.mode = DivisionMode::Schema;
        p.database = Some(db.clone());
        p.tls.sslmode = SslMode::Require;
        p.write_mode = write;
        Connections::new(p, Some(Secret::new(s.password.clone())))
    };
    let w = mk(true);
    let places = migrate::places(&w, &["catalog".to_string()]).unwrap();
    assert_eq!(places[0].schema, "catalog");
    let opts = ApplyOptions {
        create_databases: true,
        ..Default::default()
    };
    migrate::apply(&w, &places, &opts).await.unwrap();
    w.close().await;
    let ok = r#"{"apiVersion":"backstage.io/v1alpha1","kind":"Component","metadata":{"name":"a","namespace":"default"},"spec":{"type":"service","owner":"team","lifecycle":"production"}}"#;
    let bad = r#"{"apiVersion":"backstage.io/v1alpha1","kind":"API","metadata":{"name":"b"}}"#;
    s.psql(
        &db,
        &format!(
            "SET search_path TO catalog; \
             INSERT INTO refresh_state (entity_id, entity_ref, unprocessed_entity, processed_entity, errors, next_update_at, last_discovery_at) VALUES \
               ('id-a', 'component:default/a', '{ok}', '{ok}', '[]', now(), now()), \
               ('id-b', 'api:default/b', '{bad}', NULL, '[{{\"name\":\"InputError\",\"message\":\"no spec\"}}]', now(), now()); \
             INSERT INTO final_entities (entity_id, hash, final_entity, last_updated_at, entity_ref) VALUES \
               ('id-a', 'h', '{ok}', now(), 'component:default/a'); \
             INSERT INTO search (entity_id, key, value, original_value) VALUES ('id-a', 'kind', 'component', 'Component'); \
             INSERT INTO relations (originating_entity_id, source_entity_ref, type, target_entity_ref) VALUES \
               ('id-a', 'component:default/a', 'ownedBy', 'group:default/team'), \
               ('id-a', 'group:default/team', 'ownerOf', 'component:default/a');"
        ),
    );
    let r = mk(false);
    let cat = Catalog::open(&r).await.unwrap();
    assert_eq!(cat.schema().schema, "catalog");
    let page = cat.entities(&EntityQuery::default()).await.unwrap();
    assert_eq!(refs(&page.items), vec!["component:default/a"]);
    let only_components = EntityQuery {
        filter: filter_for(FacetField::Kind, "component"),
        ..Default::default()
    };
    assert_eq!(cat.entities(&only_components).await.unwrap().items.len(), 1);
    let d = cat.entity("component:a").await.unwrap();
    let out = d.outgoing.unwrap();
    assert_eq!(out.len(), 1);
    assert!(out[0].relation_type == "ownedBy" && !out[0].exists);
    assert_eq!(d.incoming.unwrap().len(), 1);
    let errors = cat.errors(&ListQuery::default()).await.unwrap();
    assert_eq!(errors.items.len(), 1);
    assert_eq!(errors.items[0].entity_ref, "api:default/b");
    assert_eq!(errors.items[0].in_final, Some(false));
    let kinds = cat
        .facets(&EntityFilter::default(), &[FacetField::Kind])
        .await
        .unwrap();
    assert_eq!(kinds.facets[0].values[0].count, 1);
    assert!(
        cat.locations(&ListQuery::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    // Both entities are unreferenced (no refresh_state_references rows): orphans.
    assert_eq!(
        cat.orphans(&ListQuery::default())
            .await
            .unwrap()
            .items
            .len(),
        2
    );
    r.close().await;
}

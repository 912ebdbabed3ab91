//! Every era of Backstage answers alike: the databases real Backstage backends wrote (restored
//! from the committed dumps in `tests/fixtures/backstage/`), read by every view. Older eras
//! give the same answers as today's wherever their schema can hold the data, and what they
//! lack is named by the migration that adds it, never by a guessed version.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use bsi_core::auth::{Auth, AuthQuery};
use bsi_core::catalog::{Catalog, EntityFilter, EntityQuery, ListQuery, views};
use bsi_core::connect::Connections;
use bsi_core::export::{EntityExport, ExportFormat, export_entities};
use bsi_core::graph::{self, GraphOptions};
use bsi_core::scaffolder::{Scaffolder, TaskFilter};
use bsi_core::techdocs::{self, TechDocsQuery};
use bsi_core::{CoreError, knex};
use bsi_testkit::backstage::{ERAS, manifest, shared_installation};
use serde_json::Value;
use tokio::sync::OnceCell;

/// Today's era: the one a current backend wrote.
const CURRENT: &str = "current";

fn conns(era: &str) -> Arc<Connections> {
    common::conns(&format!("era-{era}"), &shared_installation(era), false)
}

fn manifest_json(era: &str) -> Value {
    serde_json::from_str(&manifest(era)).unwrap()
}

/// Whether an era's fixture holds rows (not only a schema).
fn has_rows(era: &str) -> bool {
    manifest_json(era)
        .pointer("/facts/catalog/entities")
        .and_then(Value::as_u64)
        .is_some_and(|n| n > 0)
}

/// What every view answers on one era.
#[derive(Debug, Default)]
struct Answers {
    entities: BTreeSet<String>,
    errors: BTreeSet<String>,
    orphans: BTreeSet<String>,
    /// The entity with the most relations today: whether it is stitched, its relations.
    detail: Option<(bool, BTreeSet<(String, String)>)>,
    graph: BTreeSet<String>,
    tasks_by_status: BTreeMap<String, usize>,
    task_ids: BTreeSet<String>,
    techdocs: BTreeSet<String>,
    exported: u64,
    knex_tables: usize,
    locked: Vec<String>,
}

async fn all_entities(cat: &Catalog) -> BTreeSet<String> {
    refs_of(
        cat,
        EntityQuery {
            limit: Some(1000),
            ..Default::default()
        },
    )
    .await
}

/// The refs of every entity `q` finds, page after page.
async fn refs_of(cat: &Catalog, mut q: EntityQuery) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    loop {
        let page = cat.entities(&q).await.unwrap();
        out.extend(page.items.into_iter().map(|e| e.entity_ref));
        match page.next_cursor {
            Some(c) => q.cursor = Some(c),
            None => return out,
        }
    }
}

/// The refs of every entity matching `text`, in small pages.
async fn matching(cat: &Catalog, text: &str) -> BTreeSet<String> {
    let q = EntityQuery {
        filter: EntityFilter {
            text: Some(text.to_string()),
            ..Default::default()
        },
        limit: Some(7),
        ..Default::default()
    };
    refs_of(cat, q).await
}

/// The ref whose relations the per-era comparison looks at: today's most connected
/// component.
async fn probe_ref() -> &'static str {
    static REF: OnceCell<String> = OnceCell::const_new();
    REF.get_or_init(|| async {
        let c = conns(CURRENT);
        let r = graph::most_connected(&c, Some("component"))
            .await
            .unwrap()
            .expect("today's fixture has a component with relations")
            .entity_ref;
        c.close().await;
        r
    })
    .await
}

async fn answers(era: &str) -> Answers {
    let c = conns(era);
    let mut a = Answers::default();
    let cat = Catalog::open(&c).await.unwrap();
    a.entities = all_entities(&cat).await;
    let big = ListQuery {
        limit: Some(1000),
        cursor: None,
    };
    a.errors = cat
        .errors(&big)
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|e| e.entity_ref)
        .collect();
    a.orphans = cat
        .orphans(&big)
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|e| e.entity_ref)
        .collect();
    let probe = probe_ref().await;
    let d = cat.entity(probe).await.unwrap();
    let mut rel = BTreeSet::new();
    for (dir, edges) in [("out", &d.outgoing), ("in", &d.incoming)] {
        for e in edges.as_deref().unwrap_or_default() {
            rel.insert((format!("{dir} {}", e.relation_type), e.entity_ref.clone()));
        }
    }
    a.detail = Some((d.in_final, rel));
    let g = graph::neighbourhood(
        &c,
        &GraphOptions {
            roots: vec![probe.to_string()],
            depth: 1,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    a.graph = g.nodes.into_iter().map(|n| n.entity_ref).collect();
    let sc = Scaffolder::open(&c).await.unwrap();
    let tasks = sc
        .tasks(&TaskFilter {
            limit: Some(1000),
            ..Default::default()
        })
        .await
        .unwrap();
    for t in tasks.items {
        *a.tasks_by_status.entry(t.status.clone()).or_default() += 1;
        a.task_ids.insert(t.id);
    }
    a.techdocs = techdocs::list(
        &c,
        &TechDocsQuery {
            limit: Some(1000),
            cursor: None,
        },
    )
    .await
    .unwrap()
    .page
    .items
    .into_iter()
    .map(|e| e.entity_ref)
    .collect();
    let mut sink = Vec::new();
    a.exported = export_entities(&c, &EntityExport::default(), ExportFormat::Json, &mut sink)
        .await
        .unwrap()
        .rows;
    let k = knex::status(&c).await.unwrap();
    a.knex_tables = k.len();
    a.locked = k
        .iter()
        .filter(|t| t.locked)
        .map(|t| format!("{}/{}", t.database, t.table))
        .collect();
    c.close().await;
    a
}

#[tokio::test]
async fn every_view_reads_every_era() {
    for era in ERAS {
        let a = answers(era).await;
        let m = manifest_json(era);
        if let Some(n) = m.pointer("/facts/catalog/entities").and_then(Value::as_u64) {
            assert_eq!(a.entities.len() as u64, n, "{era}: entities");
            assert_eq!(a.exported, n, "{era}: exported entities");
        }
        assert!(a.knex_tables > 0, "{era}: Backstage's Knex tables are read");
    }
}

#[tokio::test]
async fn older_eras_answer_as_today() {
    let today = answers(CURRENT).await;
    assert!(!today.entities.is_empty() && !today.task_ids.is_empty());
    for era in ERAS.into_iter().filter(|e| *e != CURRENT && has_rows(e)) {
        let a = answers(era).await;
        assert_eq!(a.entities, today.entities, "{era}: entities");
        assert_eq!(a.errors, today.errors, "{era}: processing errors");
        assert_eq!(a.orphans, today.orphans, "{era}: orphans");
        assert_eq!(
            a.detail,
            today.detail,
            "{era}: the detail of {}",
            probe_ref().await
        );
        assert!(
            a.detail
                .as_ref()
                .is_some_and(|(stitched, rel)| *stitched && !rel.is_empty()),
            "{era}: the probe entity is stitched and has relations"
        );
        assert_eq!(a.graph, today.graph, "{era}: graph neighbours");
        assert_eq!(a.tasks_by_status, today.tasks_by_status, "{era}: tasks");
        assert_eq!(a.task_ids, today.task_ids, "{era}: task ids");
        assert_eq!(a.techdocs, today.techdocs, "{era}: TechDocs entities");
        assert_eq!(a.exported, today.exported, "{era}: export");
    }
}

#[tokio::test]
async fn what_an_era_lacks_is_named_by_the_migration_that_adds_it() {
    for era in ERAS.into_iter().filter(|e| *e != CURRENT) {
        let c = conns(era);
        let cat = Catalog::open(&c).await.unwrap();
        let caps = cat.capabilities();
        // Entities, their detail, errors and orphans all read on an older catalog.
        for v in [
            views::ENTITIES,
            views::ENTITY,
            views::ERRORS,
            views::ORPHANS,
        ] {
            let s = caps.view(v).unwrap();
            assert!(s.available, "{era}: {v}: {:?}", s.reason);
        }
        // Every reason a view gives names a migration, never a package version.
        for v in &caps.views {
            if let Some(r) = &v.reason {
                assert!(r.contains("migration "), "{era}: {}: {r}", v.view);
                assert!(!r.contains("catalog-backend 0."), "{era}: {r}");
            }
        }
        let sc = Scaffolder::open(&c).await.unwrap();
        let notes: Vec<String> = sc.degraded().into_iter().map(|u| u.reason).collect();
        assert!(
            notes.iter().any(|n| n.contains("20240203232000_state")),
            "{era}: tasks.state is named by its migration: {notes:?}"
        );
        match Auth::open(&c).await {
            Ok(auth) => {
                // Sessions tables this era lacks are named by their migration.
                if let Err(e) = auth.offline_sessions(&AuthQuery::default()).await {
                    let text = e.to_string();
                    assert!(
                        matches!(e, CoreError::SchemaDegraded { .. })
                            && text.contains("20251020000000_offline_sessions"),
                        "{era}: {text}"
                    );
                }
            }
            Err(e) => panic!("{era}: auth opens on an older schema: {e}"),
        }
        c.close().await;
    }
}

#[tokio::test]
async fn the_knex_lock_left_by_a_crash_is_seen() {
    for era in ERAS {
        let m = manifest_json(era);
        let stuck: Vec<String> = m
            .get("stuck_knex_locks")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| {
                        v.as_str().map(str::to_string).or_else(|| {
                            v.get("database")
                                .and_then(Value::as_str)
                                .map(str::to_string)
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        if stuck.is_empty() {
            continue;
        }
        let a = answers(era).await;
        assert!(!a.locked.is_empty(), "{era}: a held lock is reported");
        for s in &stuck {
            // `backstage_plugin_scaffolder.knex_migrations_lock`: the plugin and its Knex table.
            let (db, table) = s
                .split_once('.')
                .unwrap_or((s.as_str(), "knex_migrations_lock"));
            let plugin = db.strip_prefix("backstage_plugin_").unwrap_or(db);
            let table = table.strip_suffix("_lock").unwrap_or(table);
            let want = format!("_{plugin}/{table}");
            assert!(
                a.locked.iter().any(|l| l.ends_with(&want)),
                "{era}: {s} in {:?}",
                a.locked
            );
        }
    }
}

/// Free text on what real backends wrote (their `search` rows, not ours): the entities whose
/// name, title or description holds the word, as the entities themselves say, for words taken
/// from each field and one found nowhere, in every era that holds rows.
#[tokio::test]
async fn free_text_finds_what_the_entities_say() {
    // Today's manifest holds no counts, but its fixture holds rows.
    for era in ERAS.into_iter().filter(|e| *e == CURRENT || has_rows(e)) {
        let c = conns(era);
        let mut sink = Vec::new();
        let export = EntityExport {
            full: true,
            ..Default::default()
        };
        export_entities(&c, &export, ExportFormat::Json, &mut sink)
            .await
            .unwrap();
        let exported: Value = serde_json::from_slice(&sink).unwrap();
        // Each entity's ref and its name, title and description, lowercased.
        let fields: Vec<(String, [String; 3])> = exported
            .as_array()
            .unwrap_or_else(|| panic!("{era}: the export is not a list"))
            .iter()
            .map(|row| {
                let md = &row["entity"]["metadata"];
                let f = |k: &str| md[k].as_str().unwrap_or_default().to_lowercase();
                (
                    row["entity_ref"].as_str().unwrap().to_string(),
                    [f("name"), f("title"), f("description")],
                )
            })
            .collect();
        assert!(!fields.is_empty(), "{era}");
        // A word from a field: its first run of 4 or more letters, in the first entity that
        // has one there.
        let word_in = |i: usize| -> Option<String> {
            fields.iter().find_map(|(_, f)| {
                f[i].split(|ch: char| !ch.is_ascii_alphabetic())
                    .find(|w| w.len() >= 4)
                    .map(str::to_string)
            })
        };
        let mut words: Vec<String> = (0..3).filter_map(word_in).collect();
        assert!(
            words.len() >= 2,
            "{era}: the fixture has names and titles or descriptions"
        );
        words.push("zqxjv".into());
        let cat = Catalog::open(&c).await.unwrap();
        let mut beyond_names = false;
        for word in &words {
            let want: BTreeSet<String> = fields
                .iter()
                .filter(|(_, f)| f.iter().any(|v| v.contains(word.as_str())))
                .map(|(r, _)| r.clone())
                .collect();
            beyond_names |= fields.iter().any(|(_, f)| {
                !f[0].contains(word.as_str())
                    && (f[1].contains(word.as_str()) || f[2].contains(word.as_str()))
            });
            assert_eq!(matching(&cat, word).await, want, "{era}: {word}");
            // Upper case finds the same.
            assert_eq!(
                matching(&cat, &word.to_uppercase()).await,
                want,
                "{era}: {word} in upper case"
            );
        }
        assert!(
            beyond_names,
            "{era}: one of {words:?} is found by a title or description only"
        );
        c.close().await;
    }
}

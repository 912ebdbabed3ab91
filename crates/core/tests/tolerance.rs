//! One bad row never fails a view: generated data on a real server, damaged with SQL (an
//! entity that is not JSON, entities of the wrong shape, an entity only in `refresh_state`, a
//! role that may not read one table), and each view still shows the good rows with the bad row
//! or the missing part named.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use bsi_core::auth::Auth;
use bsi_core::catalog::{Catalog, EntityQuery, EntitySource, EntitySummary};
use bsi_core::connect::{Connections, PgPool};
use bsi_core::demo::generate::{GenerateOptions, Targets};
use bsi_core::graph::{Direction, GraphOptions, RelationGraph};
use bsi_core::migrate::AREAS;
use bsi_core::profile::{DivisionMode, Profile};
use bsi_core::scaffolder::{Scaffolder, TaskFilter};
use bsi_core::secrets::Secret;
use bsi_core::techdocs::{self, TechDocsQuery};
use bsi_core::tls::SslMode;
use bsi_testkit::shared;
use tokio::sync::OnceCell;

/// The damaged data set: its prefix and the refs of the damaged entities.
struct Damaged {
    prefix: String,
    /// `final_entity` is `{not json`; it has TechDocs and relations.
    not_json: String,
    /// `{"kind":5}`, `null` and `[1,2]`.
    wrong_shape: Vec<(String, &'static str)>,
    /// Its `final_entities` row is gone; `refresh_state` still has it.
    only_processed: String,
    /// A role that may read everything but the catalog's `relations` and `knex_migrations`,
    /// the scaffolder's `task_events` and auth's `sessions`.
    role: String,
    /// A user with offline sessions.
    session_user: String,
    /// A `tasks.created_by` with tasks.
    creator: String,
    /// A task whose `spec` is not JSON (and `created_by` NULL), with the template and the
    /// creator its text still names.
    bad_task: (String, String, String),
    /// [`bsi_testkit::PgServer::fingerprint`] of the damaged data, before any view read it.
    fingerprint: String,
}

/// Nothing the views read was written to: the data is as damaged, row for row.
fn untouched(d: &Damaged) {
    assert_eq!(
        shared().fingerprint(&d.prefix),
        d.fingerprint,
        "a view wrote to the inspected databases"
    );
}

async fn one(pool: &PgPool, sql: &str) -> String {
    sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

async fn exec(pool: &PgPool, sql: &str) {
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
        .execute(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

const ROLE_PASSWORD: &str = "tolerance-reader";

async fn damage(t: &Targets, prefix: &str) -> Damaged {
    let cat = &t.catalog;
    // An entity with TechDocs (in the search index) and relations: not JSON any more. Its
    // title is read from the JSON (a `metadata.title` row without a value, as for long titles).
    let not_json = one(
        cat,
        "SELECT f.entity_ref FROM final_entities f JOIN search s ON s.entity_id = f.entity_id \
         WHERE s.key = 'metadata.annotations.backstage.io/techdocs-ref' \
           AND EXISTS (SELECT 1 FROM relations r WHERE r.source_entity_ref = f.entity_ref) \
         ORDER BY f.entity_ref LIMIT 1",
    )
    .await;
    exec(
        cat,
        &format!(
            "DELETE FROM search WHERE key = 'metadata.title' AND entity_id = \
               (SELECT entity_id FROM final_entities WHERE entity_ref = '{not_json}'); \
             INSERT INTO search (entity_id, key, value, original_value) \
               SELECT entity_id, 'metadata.title', NULL, NULL FROM final_entities WHERE entity_ref = '{not_json}'; \
             UPDATE final_entities SET final_entity = '{{not json' WHERE entity_ref = '{not_json}'"
        ),
    )
    .await;
    let mut wrong_shape = Vec::new();
    for (i, body) in [r#"{"kind":5}"#, "null", "[1,2]"].into_iter().enumerate() {
        let r = one(
            cat,
            &format!(
                "SELECT entity_ref FROM final_entities WHERE entity_ref LIKE 'component:%' \
                 AND entity_ref <> '{not_json}' ORDER BY entity_ref OFFSET {i} LIMIT 1"
            ),
        )
        .await;
        exec(
            cat,
            &format!("UPDATE final_entities SET final_entity = '{body}' WHERE entity_ref = '{r}'"),
        )
        .await;
        wrong_shape.push((r, body));
    }
    let only_processed = one(
        cat,
        "SELECT f.entity_ref FROM final_entities f JOIN refresh_state r ON r.entity_ref = f.entity_ref \
         WHERE f.entity_ref LIKE 'system:%' AND r.processed_entity IS NOT NULL ORDER BY 1 LIMIT 1",
    )
    .await;
    exec(
        cat,
        &format!("DELETE FROM final_entities WHERE entity_ref = '{only_processed}'"),
    )
    .await;
    // A role that reads every table of every area but a few.
    let role = format!("{prefix}reader");
    exec(
        cat,
        &format!("CREATE ROLE \"{role}\" LOGIN PASSWORD '{ROLE_PASSWORD}'"),
    )
    .await;
    // Knex's tables, as a real Backstage leaves them, in two of the databases.
    for pool in [&t.catalog, &t.scaffolder] {
        exec(
            pool,
            "CREATE TABLE knex_migrations (id serial PRIMARY KEY, name varchar(255), batch integer, \
               migration_time timestamptz); \
             CREATE TABLE knex_migrations_lock (index serial PRIMARY KEY, is_locked integer); \
             INSERT INTO knex_migrations (name, batch, migration_time) VALUES ('20210101_init.js', 1, now()); \
             INSERT INTO knex_migrations_lock (is_locked) VALUES (0)",
        )
        .await;
    }
    for pool in [&t.catalog, &t.scaffolder, &t.auth, &t.search] {
        exec(
            pool,
            &format!(
                "GRANT USAGE ON SCHEMA public TO \"{role}\"; \
                 GRANT SELECT ON ALL TABLES IN SCHEMA public TO \"{role}\""
            ),
        )
        .await;
    }
    exec(
        cat,
        &format!(
            "REVOKE SELECT ON relations FROM \"{role}\"; REVOKE SELECT ON knex_migrations FROM \"{role}\""
        ),
    )
    .await;
    exec(
        &t.scaffolder,
        &format!("REVOKE SELECT ON task_events FROM \"{role}\""),
    )
    .await;
    exec(
        &t.auth,
        &format!("REVOKE SELECT ON sessions FROM \"{role}\""),
    )
    .await;
    // A second role that may not even connect to the data set's databases.
    exec(
        cat,
        &format!("CREATE ROLE \"{role}_none\" LOGIN PASSWORD '{ROLE_PASSWORD}'"),
    )
    .await;
    for area in AREAS {
        exec(
            cat,
            &format!(
                "REVOKE CONNECT ON DATABASE \"{prefix}{area}\" FROM PUBLIC; \
                 GRANT CONNECT ON DATABASE \"{prefix}{area}\" TO \"{role}\""
            ),
        )
        .await;
    }
    let session_user = one(
        &t.auth,
        "SELECT user_entity_ref FROM offline_sessions GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1",
    )
    .await;
    let creator = one(
        &t.scaffolder,
        "SELECT created_by FROM tasks WHERE created_by IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1",
    )
    .await;
    let template = one(
        &t.scaffolder,
        "SELECT spec::json #>> '{templateInfo,entityRef}' FROM tasks \
         WHERE spec::json #>> '{templateInfo,entityRef}' IS NOT NULL \
         GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1",
    )
    .await;
    let bad_id = one(
        &t.scaffolder,
        &format!(
            "SELECT id::text FROM tasks WHERE spec::json #>> '{{templateInfo,entityRef}}' = '{template}' \
             ORDER BY created_at DESC LIMIT 1"
        ),
    )
    .await;
    exec(
        &t.scaffolder,
        &format!(
            "UPDATE tasks SET created_by = NULL, spec = '{{not json \"{template}\" \"{creator}\"' \
             WHERE id::text = '{bad_id}'"
        ),
    )
    .await;
    Damaged {
        fingerprint: shared().fingerprint(prefix),
        bad_task: (bad_id, template, creator.clone()),
        prefix: prefix.to_string(),
        not_json,
        wrong_shape,
        only_processed,
        role,
        session_user,
        creator,
    }
}

async fn data() -> &'static Damaged {
    static DATA: OnceCell<Damaged> = OnceCell::const_new();
    DATA.get_or_init(|| async {
        let prefix = format!("bsitol{}_", std::process::id());
        let o = GenerateOptions {
            seed: 5,
            tasks: 10,
            events_per_task: 3,
            ..GenerateOptions::size(200)
        };
        let (c, t) = common::filled("tol", &prefix, &AREAS, &o).await;
        let d = damage(&t, &prefix).await;
        c.close().await;
        d
    })
    .await
}

fn reader(prefix: &str) -> Arc<Connections> {
    common::conns("tol", prefix, false)
}

/// Read-only connections as the role that may not read `relations`.
fn limited(d: &Damaged) -> Arc<Connections> {
    as_role(d, &d.role)
}

fn as_role(d: &Damaged, role: &str) -> Arc<Connections> {
    let s = shared();
    let mut p = Profile::new("tol-limited", "localhost", role);
    p.port = s.port;
    p.prefix = d.prefix.clone();
    p.mode = DivisionMode::Database;
    p.tls.sslmode = SslMode::Require;
    Connections::new(p, Some(Secret::new(ROLE_PASSWORD.to_string())))
}

async fn all_entities(cat: &Catalog) -> Vec<EntitySummary> {
    let mut q = EntityQuery::default();
    let mut out = Vec::new();
    loop {
        let page = cat.entities(&q).await.unwrap();
        out.extend(page.items);
        match page.next_cursor {
            Some(c) => q.cursor = Some(c),
            None => return out,
        }
    }
}

#[tokio::test]
async fn an_entity_that_is_not_json_is_named_and_the_rest_shows() {
    let d = data().await;
    let c = reader(&d.prefix);

    // The graph around it: every node, a note naming the unreadable row.
    let g = RelationGraph::open(&c).await.unwrap();
    let graph = g
        .neighbourhood(&GraphOptions {
            roots: vec![d.not_json.clone()],
            depth: 1,
            direction: Direction::Both,
            max_nodes: 10_000,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(graph.nodes.len() > 1, "{graph:?}");
    assert!(graph.nodes.iter().any(|n| n.entity_ref == d.not_json));
    assert!(
        graph
            .notes
            .iter()
            .any(|n| n.contains(&d.not_json) && n.contains("not valid JSON")),
        "{:?}",
        graph.notes
    );

    // TechDocs: every entity with the annotation, the bad one marked.
    let mut q = TechDocsQuery {
        limit: Some(1000),
        ..Default::default()
    };
    let mut items = Vec::new();
    loop {
        let l = techdocs::list(&c, &q).await.unwrap();
        items.extend(l.page.items);
        match l.page.next_cursor {
            Some(n) => q.cursor = Some(n),
            None => break,
        }
    }
    assert!(items.len() > 1);
    let bad = items.iter().find(|e| e.entity_ref == d.not_json).unwrap();
    assert!(bad.problem.as_deref().unwrap().contains("not valid JSON"));
    assert_eq!(bad.techdocs_ref, "dir:.");
    assert!(
        items
            .iter()
            .filter(|e| e.entity_ref != d.not_json)
            .all(|e| e.problem.is_none() && !e.techdocs_ref.is_empty())
    );

    // The list and the detail.
    let cat = Catalog::open(&c).await.unwrap();
    let all = all_entities(&cat).await;
    let e = all.iter().find(|e| e.entity_ref == d.not_json).unwrap();
    assert!(e.problem.as_deref().unwrap().contains("not valid JSON"));
    let detail = cat.entity(&d.not_json).await.unwrap();
    assert!(detail.in_final);
    assert!(
        detail
            .notes
            .iter()
            .any(|n| n.contains("final_entities.final_entity") && n.contains("not valid JSON")),
        "{:?}",
        detail.notes
    );
    c.close().await;
    untouched(d);
}

#[tokio::test]
async fn entities_of_the_wrong_shape_are_marked_not_blank() {
    let d = data().await;
    let c = reader(&d.prefix);
    let cat = Catalog::open(&c).await.unwrap();
    let all = all_entities(&cat).await;
    let good = all.iter().filter(|e| e.problem.is_none()).count();
    assert!(good > 100, "{good}");
    for (r, body) in &d.wrong_shape {
        let e = all.iter().find(|e| &e.entity_ref == r).unwrap();
        let p = e
            .problem
            .as_deref()
            .unwrap_or_else(|| panic!("{r}: no problem"));
        match *body {
            "null" => assert!(p.contains("null"), "{p}"),
            "[1,2]" => assert!(p.contains("an array"), "{p}"),
            _ => assert!(p.contains("kind is a number"), "{p}"),
        }
        // The list still names it from its ref.
        assert_eq!(e.kind, "component");
        let detail = cat.entity(r).await.unwrap();
        assert!(
            detail
                .notes
                .iter()
                .any(|n| n.starts_with("final_entities.final_entity")),
            "{r}: {:?}",
            detail.notes
        );
    }
    c.close().await;
    untouched(d);
}

#[tokio::test]
async fn the_fallback_to_refresh_state_is_said() {
    let d = data().await;
    let c = reader(&d.prefix);
    let cat = Catalog::open(&c).await.unwrap();
    let detail = cat.entity(&d.only_processed).await.unwrap();
    assert!(!detail.in_final);
    assert_eq!(detail.source, Some(EntitySource::Processed));
    assert!(detail.entity.is_some());
    assert!(
        detail
            .notes
            .iter()
            .any(|n| n.contains("refresh_state.processed_entity")
                && n.contains("no final_entities row")),
        "{:?}",
        detail.notes
    );
    let json = serde_json::to_value(&detail).unwrap();
    assert_eq!(json["source"], "processed");
    c.close().await;
    untouched(d);
}

#[tokio::test]
async fn a_table_this_user_may_not_read_leaves_the_rest_of_the_entity() {
    let d = data().await;
    let c = limited(d);
    let cat = Catalog::open(&c).await.unwrap();
    let good = one(
        cat.pool(),
        "SELECT entity_ref FROM final_entities WHERE entity_ref LIKE 'component:%' \
         AND final_entity LIKE '{%' ORDER BY entity_ref DESC LIMIT 1",
    )
    .await;
    let detail = cat.entity(&good).await.unwrap();
    assert!(detail.in_final && detail.entity.is_some());
    assert_eq!(detail.source, Some(EntitySource::Final));
    assert!(detail.processing.is_some());
    assert!(detail.outgoing.is_none() && detail.incoming.is_none());
    assert!(
        detail
            .notes
            .iter()
            .any(|n| n.starts_with("relations: permission denied") && n.contains("42501")),
        "{:?}",
        detail.notes
    );
    c.close().await;
    untouched(d);
}

#[tokio::test]
async fn a_knex_table_this_user_may_not_read_is_reported_not_absent() {
    let d = data().await;
    let c = limited(d);
    let tables = bsi_core::knex::status(&c).await.unwrap();
    let cat_db = format!("{}catalog", d.prefix);
    let denied = tables
        .iter()
        .find(|t| t.database == cat_db && t.table == "knex_migrations")
        .unwrap_or_else(|| panic!("{tables:?}"));
    assert!(
        denied
            .error
            .as_deref()
            .is_some_and(|e| e.contains("permission denied")),
        "{denied:?}"
    );
    // The other databases' tables are read as before.
    let scaf = tables
        .iter()
        .find(|t| t.database == format!("{}scaffolder", d.prefix) && t.table == "knex_migrations")
        .unwrap_or_else(|| panic!("{tables:?}"));
    assert!(scaf.error.is_none() && scaf.applied > 0, "{scaf:?}");
    c.close().await;

    // A user who may not connect to any of the databases: an error that names them, not
    // "no database here is managed by Backstage".
    let c = as_role(d, &format!("{}_none", d.role));
    let e = bsi_core::knex::status(&c).await.unwrap_err().to_string();
    assert!(e.contains("no Knex table could be read"), "{e}");
    assert!(e.contains(&cat_db), "{e}");
    c.close().await;
    untouched(d);
}

#[tokio::test]
async fn tasks_show_without_the_events_this_user_may_not_read() {
    let d = data().await;
    let c = limited(d);
    let sc = Scaffolder::open(&c).await.unwrap();
    let page = sc.tasks(&TaskFilter::default()).await.unwrap();
    assert!(!page.items.is_empty());
    assert!(page.items.iter().all(|t| t.events == 0));
    let mine = sc
        .tasks(&TaskFilter {
            creator: Some(d.creator.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(!mine.items.is_empty());
    // All match, but the task whose spec is unreadable (listed with its problem).
    assert!(
        mine.items
            .iter()
            .filter(|t| t.problem.is_none())
            .all(|t| t.creator.as_deref() == Some(d.creator.as_str()))
    );
    let degraded = sc.degraded();
    assert!(
        degraded.iter().any(|u| u.missing == ["task_events"]
            && u.reason.contains("permission denied")
            && u.reason.contains("42501")),
        "{degraded:?}"
    );
    c.close().await;
    untouched(d);
}

#[tokio::test]
async fn sessions_show_without_the_table_this_user_may_not_read() {
    let d = data().await;
    let c = limited(d);
    let auth = Auth::open(&c).await.unwrap();
    let s = auth.sessions_for(&d.session_user).await.unwrap();
    assert!(!s.offline.is_empty());
    assert!(
        s.offline
            .iter()
            .all(|o| o.user_entity_ref == d.session_user)
    );
    assert!(s.browser.is_empty());
    assert!(
        s.notes
            .iter()
            .any(|n| n.contains("permission denied for table sessions") && n.contains("42501")),
        "{:?}",
        s.notes
    );
    c.close().await;
    untouched(d);
}

#[tokio::test]
async fn a_task_spec_that_is_not_json_is_named_not_a_failed_filter() {
    let d = data().await;
    let c = reader(&d.prefix);
    let sc = Scaffolder::open(&c).await.unwrap();
    let (id, template, creator) = &d.bad_task;
    for f in [
        TaskFilter {
            template: Some(template.clone()),
            limit: Some(500),
            ..Default::default()
        },
        TaskFilter {
            creator: Some(creator.clone()),
            limit: Some(500),
            ..Default::default()
        },
    ] {
        let page = sc.tasks(&f).await.unwrap();
        let bad = page
            .items
            .iter()
            .find(|t| &t.id == id)
            .unwrap_or_else(|| panic!("the unreadable task is listed for {f:?}"));
        let why = bad.problem.as_deref().unwrap();
        assert!(
            why.contains(id) && why.contains("tasks.spec") && why.contains("not valid JSON"),
            "{why}"
        );
        // Every other task is one that matches.
        let good: Vec<_> = page.items.iter().filter(|t| &t.id != id).collect();
        assert!(!good.is_empty(), "{f:?}");
        for t in good {
            if f.template.is_some() {
                assert_eq!(t.template_ref.as_deref(), Some(template.as_str()));
            } else {
                assert_eq!(t.creator.as_deref(), Some(creator.as_str()));
            }
        }
    }
    // Without a filter the task is listed once, with its problem.
    let all = sc
        .tasks(&TaskFilter {
            limit: Some(500),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        all.items
            .iter()
            .filter(|t| &t.id == id && t.problem.is_some())
            .count(),
        1
    );
    c.close().await;
    untouched(d);
}

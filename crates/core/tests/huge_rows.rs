//! Huge and hostile rows in every area: a 10 MB entity, a 10 MB log line, a 10 MB session,
//! with terminal escape sequences among them. Every view still answers, lists stay small (a list row never carries a huge value), and text keeps its
//! bytes exactly (escaping is the terminal output's business, not the data's).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use bsi_core::auth::{Auth, AuthQuery};
use bsi_core::catalog::{Catalog, EntityQuery};
use bsi_core::demo::generate::GenerateOptions;
use bsi_core::export::{self, ExportFormat};
use bsi_core::graph::{Direction, GraphOptions, RelationGraph};
use bsi_core::migrate::AREAS;
use bsi_core::scaffolder::{Scaffolder, TaskFilter};
use bsi_core::search::{self, SearchQuery};
use bsi_core::tables::{self, TableQuery, Target};

const MB10: usize = 10 * 1024 * 1024;
const HOSTILE: &str = "\u{1b}[2J\u{1b}]0;owned\u{7}";

async fn exec(pool: &sqlx::PgPool, sql: &str) {
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
        .execute(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

async fn one(pool: &sqlx::PgPool, sql: &str) -> String {
    sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_view_answers_over_huge_and_hostile_rows() {
    let prefix = format!("bsihuge{}_", std::process::id());
    let o = GenerateOptions {
        seed: 9,
        tasks: 6,
        events_per_task: 3,
        ..GenerateOptions::size(80)
    };
    let (w, t) = common::filled("huge", &prefix, &AREAS, &o).await;

    // Catalog: one entity whose title and description are 10 MB each (the search table's
    // values are varchar(255): Backstage cuts them, so no huge value can be there), and one
    // whose title carries escape sequences.
    let huge = one(
        &t.catalog,
        "SELECT f.entity_ref FROM final_entities f \
         WHERE EXISTS (SELECT 1 FROM relations r WHERE r.source_entity_ref = f.entity_ref) \
         AND f.entity_ref LIKE 'component:%' ORDER BY 1 LIMIT 1",
    )
    .await;
    exec(
        &t.catalog,
        &format!(
            "UPDATE final_entities SET final_entity = jsonb_set(jsonb_set(final_entity::jsonb, \
               '{{metadata,description}}', to_jsonb(repeat('d', {MB10}))), \
               '{{metadata,title}}', to_jsonb(repeat('t', {MB10})))::text \
             WHERE entity_ref = '{huge}'"
        ),
    )
    .await;
    let hostile = one(
        &t.catalog,
        &format!(
            "SELECT entity_ref FROM final_entities WHERE entity_ref LIKE 'component:%' \
             AND entity_ref <> '{huge}' ORDER BY 1 LIMIT 1"
        ),
    )
    .await;
    exec(
        &t.catalog,
        &format!(
            "UPDATE final_entities SET final_entity = jsonb_set(final_entity::jsonb, \
               '{{metadata,title}}', to_jsonb(E'{}'::text))::text WHERE entity_ref = '{hostile}'",
            HOSTILE.replace('\u{1b}', "\\x1b").replace('\u{7}', "\\x07")
        ),
    )
    .await;
    // Scaffolder: a 10 MB log line with escapes in a task's events.
    let task = one(
        &t.scaffolder,
        "SELECT id::text FROM tasks ORDER BY created_at LIMIT 1",
    )
    .await;
    exec(
        &t.scaffolder,
        &format!(
            "INSERT INTO task_events (task_id, body, event_type, created_at) VALUES ('{task}', \
             json_build_object('message', E'\\x1b[31mred\\x1b[0m ' || repeat('m', {MB10}), 'stepId', 'fetch')::text, \
             'log', now())"
        ),
    )
    .await;
    // Auth: a 10 MB offline session token hash.
    exec(
        &t.auth,
        &format!(
            "UPDATE offline_sessions SET token_hash = repeat('h', {MB10}) \
             WHERE id = (SELECT id FROM offline_sessions ORDER BY 1 LIMIT 1)"
        ),
    )
    .await;
    w.close().await;

    // What the views read, row for row, to show afterwards that they wrote nothing.
    let before = bsi_testkit::shared().fingerprint(&prefix);
    let c = common::conns("huge", &prefix, false);
    // The list: every page answers and stays small; the huge title is cut, the hostile one kept.
    let cat = Catalog::open(&c).await.unwrap();
    let mut q = EntityQuery::default();
    let mut seen = Vec::new();
    loop {
        let page = cat.entities(&q).await.unwrap();
        let size = serde_json::to_string(&page).unwrap().len();
        assert!(size < 1024 * 1024, "a page of the list is {size} bytes");
        seen.extend(page.items);
        match page.next_cursor {
            Some(n) => q.cursor = Some(n),
            None => break,
        }
    }
    let h = seen.iter().find(|e| e.entity_ref == huge).unwrap();
    let title = h.title.as_deref().unwrap();
    assert!(
        title.len() < 10_000 && title.starts_with("ttt"),
        "{}",
        title.len()
    );
    let x = seen.iter().find(|e| e.entity_ref == hostile).unwrap();
    assert_eq!(x.title.as_deref(), Some(HOSTILE));
    // The detail has all of it.
    let detail = cat.entity(&huge).await.unwrap();
    let text = serde_json::to_string(&detail).unwrap();
    assert!(text.len() > 2 * MB10, "{}", text.len());

    // The graph around it.
    let g = RelationGraph::open(&c).await.unwrap();
    let graph = g
        .neighbourhood(&GraphOptions {
            roots: vec![huge.clone()],
            depth: 1,
            direction: Direction::Both,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(graph.nodes.len() > 1);
    let size = serde_json::to_string(&graph).unwrap().len();
    assert!(size < 1024 * 1024, "the graph is {size} bytes");

    // Search over a catalog holding the huge entity.
    let found = search::search(
        &c,
        &SearchQuery {
            query: "service".to_string(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let size = serde_json::to_string(&found).unwrap().len();
    assert!(size < 1024 * 1024, "search results are {size} bytes");

    // The task: its list row is small, its log has the huge line with its escapes as data.
    let sc = Scaffolder::open(&c).await.unwrap();
    let page = sc.tasks(&TaskFilter::default()).await.unwrap();
    assert!(serde_json::to_string(&page).unwrap().len() < 1024 * 1024);
    let d = sc.task(&task).await.unwrap();
    let line = d
        .log
        .iter()
        .find(|l| l.text.contains("mmmm"))
        .expect("the huge line is in the log");
    // Its text is plain, its colours are spans.
    assert!(line.text.starts_with("red mmm"), "{}", &line.text[..20]);
    assert!(!line.text.contains('\u{1b}'));
    assert!(line.spans.iter().any(|s| s.text == "red" && !s.is_plain()));

    // Sessions: the huge hash is never shown, the list stays small.
    let auth = Auth::open(&c).await.unwrap();
    let sessions = auth.offline_sessions(&AuthQuery::default()).await.unwrap();
    let text = serde_json::to_string(&sessions).unwrap();
    assert!(text.len() < 1024 * 1024, "{}", text.len());
    assert!(!text.contains("hhhhhhhh"));

    // The table browser: a page of final_entities carries the huge entity's start and its
    // length, not its 20 MB; an export of the same row carries all of it.
    let only_huge = TableQuery {
        filters: vec![format!("entity_ref={huge}").parse().unwrap()],
        ..TableQuery::default()
    };
    let catalog = Target::Area {
        area: "catalog".into(),
    };
    let page = tables::browse(&c, &catalog, "final_entities", &TableQuery::default())
        .await
        .unwrap();
    let size = serde_json::to_string(&page).unwrap().len();
    assert!(size < 2 * 1024 * 1024, "a table page is {size} bytes");
    let page = tables::browse(&c, &catalog, "final_entities", &only_huge)
        .await
        .unwrap();
    let cell = page.page.items[0].get("final_entity").unwrap();
    assert_eq!(cell["truncated"], true, "{}", &cell.to_string()[..200]);
    assert!(cell["length"].as_i64().unwrap() > 2 * MB10 as i64);
    assert_eq!(
        cell["text"].as_str().unwrap().chars().count(),
        tables::TEXT_PREVIEW_CHARS
    );
    let mut out = Vec::new();
    export::export_table(
        &c,
        &catalog,
        "final_entities",
        &only_huge,
        ExportFormat::Json,
        &mut out,
    )
    .await
    .unwrap();
    assert!(out.len() > 2 * MB10, "the export holds {} bytes", out.len());
    c.close().await;
    assert_eq!(
        bsi_testkit::shared().fingerprint(&prefix),
        before,
        "a view wrote to the inspected databases"
    );
}

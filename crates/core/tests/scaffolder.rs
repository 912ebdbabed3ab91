//! Scaffolder history against a real server: generated data (once per binary), then a
//! read-only profile for every view. Filters are checked against direct SQL counts, paging
//! against the full set, details against the raw events, and a copy without
//! `tasks.created_by` and `tasks.state` degrades instead of failing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashSet;
use std::sync::Arc;

use bsi_core::ErrorCode;
use bsi_core::ansi::Color;
use bsi_core::connect::{Connections, PgPool};
use bsi_core::demo::generate::GenerateOptions;
use bsi_core::migrate::AREAS;
use bsi_core::scaffolder::{Scaffolder, StatusFilter, TaskFilter, TaskSummary};
use tokio::sync::OnceCell;

fn conns(prefix: &str, write: bool) -> Arc<Connections> {
    common::conns("scaf", prefix, write)
}

/// Migrates fresh databases under a new prefix and fills them; returns the prefix.
async fn make(tag: &str, entities: usize) -> String {
    let prefix = format!("bsi{tag}{}_", std::process::id());
    let o = GenerateOptions {
        seed: 11,
        ..GenerateOptions::size(entities)
    };
    let (c, _) = common::filled("scaf", &prefix, &AREAS, &o).await;
    c.close().await;
    prefix
}

/// The shared data set's prefix (generated once per test binary).
async fn data() -> &'static str {
    static DATA: OnceCell<String> = OnceCell::const_new();
    DATA.get_or_init(|| make("scaf", 250)).await
}

struct Ro {
    conns: Arc<Connections>,
    sc: Scaffolder,
    pool: PgPool,
}

async fn ro(prefix: &str) -> Ro {
    let conns = conns(prefix, false);
    let sc = Scaffolder::open(&conns).await.unwrap();
    let pool = conns
        .pool(&conns.plugin_endpoint("scaffolder"))
        .await
        .unwrap();
    Ro { conns, sc, pool }
}

async fn count(pool: &PgPool, sql: &str, binds: &[&str]) -> usize {
    let mut q = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql.to_string()));
    for b in binds {
        q = q.bind(b.to_string());
    }
    q.fetch_one(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}")) as usize
}

/// Every task matching `f`, following the cursors.
async fn all(sc: &Scaffolder, mut f: TaskFilter) -> Vec<TaskSummary> {
    let mut out = Vec::new();
    loop {
        let p = sc.tasks(&f).await.unwrap();
        assert!(p.items.len() <= bsi_core::page::limit(f.limit));
        out.extend(p.items);
        match p.next_cursor {
            Some(c) => f.cursor = Some(c),
            None => return out,
        }
    }
}

#[tokio::test]
async fn status_template_creator_and_time_filters_match_sql() {
    let r = ro(data().await).await;
    let total = count(&r.pool, "SELECT count(*) FROM tasks", &[]).await;
    assert!(total >= 200, "{total}");
    assert_eq!(all(&r.sc, TaskFilter::default()).await.len(), total);

    for st in ["open", "processing", "completed", "failed"] {
        let f = TaskFilter {
            status: Some(StatusFilter::parse(st).unwrap()),
            limit: Some(1000),
            ..Default::default()
        };
        let got = all(&r.sc, f).await;
        let want = count(
            &r.pool,
            "SELECT count(*) FROM tasks WHERE status = $1",
            &[st],
        )
        .await;
        assert_eq!(got.len(), want, "status {st}");
        assert!(want > 0, "the generator makes tasks of every status ({st})");
        assert!(got.iter().all(|t| t.status == st));
    }
    let cancelled = all(
        &r.sc,
        TaskFilter {
            status: Some(StatusFilter::Cancelled),
            ..Default::default()
        },
    )
    .await;
    let want = count(
        &r.pool,
        "SELECT count(*) FROM tasks t WHERE status = 'failed' AND EXISTS \
         (SELECT 1 FROM task_events e WHERE e.task_id = t.id AND e.event_type = 'cancelled')",
        &[],
    )
    .await;
    assert!(want > 0);
    assert_eq!(cancelled.len(), want);
    assert!(
        cancelled
            .iter()
            .all(|t| t.cancelled && t.display_status == "cancelled")
    );

    // Template: the most used one, given in full and in its short form.
    let tpl: String = sqlx::query_scalar(
        "SELECT spec::json #>> '{templateInfo,entityRef}' FROM tasks GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1",
    )
    .fetch_one(&r.pool)
    .await
    .unwrap();
    let want = count(
        &r.pool,
        "SELECT count(*) FROM tasks WHERE spec::json #>> '{templateInfo,entityRef}' = $1",
        &[&tpl],
    )
    .await;
    let short = tpl.rsplit('/').next().unwrap().to_string();
    for given in [tpl.clone(), short, tpl.to_uppercase()] {
        let got = all(
            &r.sc,
            TaskFilter {
                template: Some(given.clone()),
                ..Default::default()
            },
        )
        .await;
        assert_eq!(got.len(), want, "template {given}");
        assert!(
            got.iter()
                .all(|t| t.template_ref.as_deref() == Some(tpl.as_str()))
        );
    }

    // Creator: created_by, falling back to spec.user.ref.
    let creator: String = sqlx::query_scalar(
        "SELECT coalesce(created_by, spec::json #>> '{user,ref}') FROM tasks GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1",
    )
    .fetch_one(&r.pool)
    .await
    .unwrap();
    let want = count(
        &r.pool,
        "SELECT count(*) FROM tasks WHERE coalesce(created_by, spec::json #>> '{user,ref}') = $1",
        &[&creator],
    )
    .await;
    let got = all(
        &r.sc,
        TaskFilter {
            creator: Some(creator.clone()),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(got.len(), want);
    assert!(
        got.iter()
            .all(|t| t.creator.as_deref() == Some(creator.as_str())
                && t.creator_source == Some("created_by"))
    );

    // Time range: between the 25th and 75th percentile of creation times.
    let (since, until): (String, String) = sqlx::query_as(
        "SELECT to_char(percentile_disc(0.25) WITHIN GROUP (ORDER BY created_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), \
                to_char(percentile_disc(0.75) WITHIN GROUP (ORDER BY created_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM tasks",
    )
    .fetch_one(&r.pool)
    .await
    .unwrap();
    let want = count(
        &r.pool,
        "SELECT count(*) FROM tasks WHERE created_at >= $1::timestamptz AND created_at < $2::timestamptz",
        &[&since, &until],
    )
    .await;
    let got = all(
        &r.sc,
        TaskFilter {
            since: Some(since.clone()),
            until: Some(until.clone()),
            limit: Some(9),
            ..Default::default()
        },
    )
    .await;
    assert!(want > 10);
    assert_eq!(got.len(), want);
    assert!(
        got.iter()
            .all(|t| t.created_at >= since && t.created_at < until)
    );

    // Combined filters, and a relative time that covers everything.
    let got = all(
        &r.sc,
        TaskFilter {
            status: Some(StatusFilter::Completed),
            since: Some(since.clone()),
            ..Default::default()
        },
    )
    .await;
    let want = count(
        &r.pool,
        "SELECT count(*) FROM tasks WHERE status = 'completed' AND created_at >= $1::timestamptz",
        &[&since],
    )
    .await;
    assert_eq!(got.len(), want);
    let every = TaskFilter {
        since: Some("5200w".into()),
        ..Default::default()
    };
    assert_eq!(all(&r.sc, every).await.len(), total);

    // Bad input is a clear config error, not a database error.
    for f in [
        TaskFilter {
            since: Some("last tuesday".into()),
            ..Default::default()
        },
        TaskFilter {
            since: Some("2026-13-45".into()),
            ..Default::default()
        },
        TaskFilter {
            cursor: Some("garbage".into()),
            ..Default::default()
        },
    ] {
        let e = r.sc.tasks(&f).await.unwrap_err();
        assert_eq!(e.code(), ErrorCode::Config, "{e}");
    }
    r.conns.close().await;
}

#[tokio::test]
async fn keyset_paging_has_no_skips_or_repeats() {
    let r = ro(data().await).await;
    let total = count(&r.pool, "SELECT count(*) FROM tasks", &[]).await;
    for size in [1, 7, 100] {
        let f = TaskFilter {
            limit: Some(size),
            ..Default::default()
        };
        let got = all(&r.sc, f).await;
        assert_eq!(got.len(), total, "page size {size}");
        let ids: HashSet<&str> = got.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(ids.len(), total, "repeats with page size {size}");
        for w in got.windows(2) {
            assert!(
                (w[0].created_at.as_str(), w[0].id.as_str())
                    > (w[1].created_at.as_str(), w[1].id.as_str()),
                "newest first: {} then {}",
                w[0].created_at,
                w[1].created_at
            );
        }
    }
    // The SQL of a page is exposed and is what runs.
    let q = r.sc.task_page_sql(&TaskFilter::default()).unwrap();
    assert!(q.text.contains("ORDER BY t.created_at DESC, t.id DESC"));
    assert_eq!(
        q.query().fetch_all(&r.pool).await.unwrap().len(),
        101.min(total)
    );
    r.conns.close().await;
}

#[tokio::test]
async fn failed_and_cancelled_tasks_show_their_error_steps_and_log() {
    let r = ro(data().await).await;
    let id: String = sqlx::query_scalar(
        "SELECT t.id::text FROM tasks t WHERE t.status = 'failed' AND NOT EXISTS \
         (SELECT 1 FROM task_events e WHERE e.task_id = t.id AND e.event_type = 'cancelled') ORDER BY t.id LIMIT 1",
    )
    .fetch_one(&r.pool)
    .await
    .unwrap();
    let d = r.sc.task(&id).await.unwrap();
    assert_eq!(d.summary.status, "failed");
    assert!(!d.summary.cancelled);
    let msg = d.error.as_ref().unwrap()["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(!msg.is_empty());
    assert!(
        d.log.iter().any(|l| l.text.contains(&msg)),
        "the error is in the log"
    );
    let events = count(
        &r.pool,
        "SELECT count(*) FROM task_events WHERE task_id = $1::uuid",
        &[&id],
    )
    .await;
    assert_eq!(d.log.len(), events);
    assert!(d.log.windows(2).all(|w| w[0].id < w[1].id));
    let failed: Vec<_> = d.steps.iter().filter(|s| s.status == "failed").collect();
    assert_eq!(failed.len(), 1, "{:?}", d.steps);
    assert!(failed[0].started_at.is_some() && failed[0].finished_at.is_some());
    assert!(failed[0].duration_ms.unwrap() >= 0);
    for s in &d.steps {
        if s.status == "completed" {
            assert!(s.finished_at >= s.started_at && s.duration_ms.is_some());
        }
        assert!(
            ["completed", "failed", "skipped", "not_run"].contains(&s.status.as_str()),
            "{s:?}"
        );
    }
    assert_eq!(
        d.template.as_ref().unwrap().entity_ref,
        d.summary.template_ref
    );
    assert!(d.parameters.get("name").is_some());
    assert_eq!(d.summary.duration_source, Some("events"));
    assert_eq!(d.output, None);
    // ANSI colour codes became spans: winston's green `info`.
    let info = d
        .log
        .iter()
        .flat_map(|l| &l.spans)
        .find(|s| s.text == "info")
        .expect("a green info level");
    assert!(matches!(info.fg, Some(Color::Named { name: "green", .. })));
    assert!(d.log.iter().all(|l| !l.text.contains('\u{1b}')));
    // Unique prefixes work; garbage does not.
    assert_eq!(r.sc.task(&id[..8]).await.unwrap().summary.id, id);
    assert_eq!(r.sc.task("zz").await.unwrap_err().code(), ErrorCode::Config);
    assert_eq!(
        r.sc.task("00000000-0000-0000-0000-000000000000")
            .await
            .unwrap_err()
            .code(),
        ErrorCode::NotFound
    );

    // A cancelled task: failed plus a cancelled event; its step shows cancelled.
    let id: String = sqlx::query_scalar(
        "SELECT t.id::text FROM tasks t WHERE EXISTS \
         (SELECT 1 FROM task_events e WHERE e.task_id = t.id AND e.event_type = 'cancelled') ORDER BY t.id LIMIT 1",
    )
    .fetch_one(&r.pool)
    .await
    .unwrap();
    let d = r.sc.task(&id).await.unwrap();
    assert!(d.summary.cancelled);
    assert_eq!(d.summary.display_status, "cancelled");
    assert!(d.steps.iter().any(|s| s.status == "cancelled"));
    assert!(d.error.is_some());

    // A completed task: output from the completion event, every step completed.
    let id: String = sqlx::query_scalar(
        "SELECT id::text FROM tasks WHERE status = 'completed' ORDER BY id LIMIT 1",
    )
    .fetch_one(&r.pool)
    .await
    .unwrap();
    let d = r.sc.task(&id).await.unwrap();
    assert_eq!(d.output_source, Some("completion"));
    assert!(d.output.as_ref().unwrap()["links"].is_array());
    assert!(
        d.steps.iter().all(|s| s.status == "completed"),
        "{:?}",
        d.steps
    );
    assert!(d.error.is_none());
    r.conns.close().await;
}

#[tokio::test]
async fn an_open_task_with_secrets_shows_key_names_and_a_warning() {
    let r = ro(data().await).await;
    let id: String =
        sqlx::query_scalar("SELECT id::text FROM tasks WHERE secrets IS NOT NULL LIMIT 1")
            .fetch_one(&r.pool)
            .await
            .unwrap();
    let keys: Vec<String> = sqlx::query_scalar(
        "SELECT k FROM tasks, json_object_keys(secrets::json) AS k WHERE id = $1::uuid",
    )
    .bind(&id)
    .fetch_all(&r.pool)
    .await
    .unwrap();
    assert!(keys.contains(&"backstageToken".to_string()));
    let d = r.sc.task(&id).await.unwrap();
    assert!(["open", "processing"].contains(&d.summary.status.as_str()));
    assert_eq!(d.summary.secrets_stored, Some(true));
    let s = d.secrets.as_ref().unwrap();
    assert_eq!(s.keys, keys);
    let w = s.warning.as_deref().unwrap();
    assert!(
        w.contains("plaintext") && w.contains("backstageToken"),
        "{w}"
    );
    // The list says so too, and a task without secrets has none.
    let page =
        r.sc.tasks(&TaskFilter {
            limit: Some(1000),
            ..Default::default()
        })
        .await
        .unwrap();
    let listed = page.items.iter().find(|t| t.id == id).unwrap();
    assert_eq!(listed.secrets_stored, Some(true));
    let other = page
        .items
        .iter()
        .find(|t| t.secrets_stored == Some(false))
        .unwrap();
    assert!(r.sc.task(&other.id).await.unwrap().secrets.is_none());
    // Pending steps of an open task.
    if d.summary.status == "open" {
        assert!(d.steps.iter().all(|s| s.status == "pending"));
        assert_eq!(d.summary.events, 0);
    }
    r.conns.close().await;
}

#[tokio::test]
async fn tasks_are_linked_to_the_entities_they_created() {
    let r = ro(data().await).await;
    // A completion output names an entity.
    let (id, eref): (String, String) = sqlx::query_as(
        "SELECT task_id::text, l->>'entityRef' FROM task_events, json_array_elements(body::json->'output'->'links') l \
         WHERE event_type = 'completion' AND l->>'entityRef' IS NOT NULL ORDER BY id LIMIT 1",
    )
    .fetch_one(&r.pool)
    .await
    .unwrap();
    let got = r.sc.tasks_for_entity(&eref, None, None).await.unwrap();
    let hit = got.items.iter().find(|t| t.task.id == id).unwrap();
    assert_eq!(hit.via, vec!["output"]);
    assert!(got.items.iter().all(|t| t.via == vec!["output"]));

    // The entity's backstage.io/source-template annotation.
    let catalog = r
        .conns
        .pool(&r.conns.plugin_endpoint("catalog"))
        .await
        .unwrap();
    let (entity, tpl): (String, String) = sqlx::query_as(
        "SELECT entity_ref, final_entity::json->'metadata'->'annotations'->>'backstage.io/source-template' \
         FROM final_entities WHERE final_entity::json->'metadata'->'annotations'->>'backstage.io/source-template' IS NOT NULL \
         ORDER BY entity_ref LIMIT 1",
    )
    .fetch_one(&catalog)
    .await
    .unwrap();
    let want = count(
        &r.pool,
        "SELECT count(*) FROM tasks WHERE spec::json #>> '{templateInfo,entityRef}' = $1",
        &[&tpl],
    )
    .await;
    let got =
        r.sc.tasks_for_entity(&entity, Some(&tpl), Some(1000))
            .await
            .unwrap();
    let by_template = got
        .items
        .iter()
        .filter(|t| t.via.contains(&"source-template"))
        .count();
    assert_eq!(by_template, want);
    assert!(
        got.items
            .windows(2)
            .all(|w| w[0].task.created_at >= w[1].task.created_at)
    );
    let none =
        r.sc.tasks_for_entity("component:default/does-not-exist-anywhere", None, None)
            .await
            .unwrap();
    assert!(none.items.is_empty() && none.matched == 0);
    r.conns.close().await;
}

#[tokio::test]
async fn without_created_by_and_state_the_views_degrade() {
    let prefix = make("scafdeg", 60).await;
    {
        let w = conns(&prefix, true);
        let pool = w.pool(&w.plugin_endpoint("scaffolder")).await.unwrap();
        sqlx::raw_sql(
            "ALTER TABLE tasks DROP COLUMN created_by; ALTER TABLE tasks DROP COLUMN state",
        )
        .execute(&pool)
        .await
        .unwrap();
        w.close().await;
    }
    let r = ro(&prefix).await;
    let missing: Vec<String> =
        r.sc.degraded()
            .into_iter()
            .flat_map(|u| u.missing)
            .collect();
    assert!(
        missing.contains(&"tasks.created_by".into()) && missing.contains(&"tasks.state".into())
    );
    let all_tasks = all(&r.sc, TaskFilter::default()).await;
    let total = count(&r.pool, "SELECT count(*) FROM tasks", &[]).await;
    assert_eq!(all_tasks.len(), total);
    assert!(
        all_tasks
            .iter()
            .all(|t| t.creator_source == Some("spec.user.ref") && t.creator.is_some())
    );
    // The creator filter falls back to spec.user.ref.
    let who = all_tasks[0].creator.clone().unwrap();
    let want = count(
        &r.pool,
        "SELECT count(*) FROM tasks WHERE spec::json #>> '{user,ref}' = $1",
        &[&who],
    )
    .await;
    let got = all(
        &r.sc,
        TaskFilter {
            creator: Some(who),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(got.len(), want);
    // The detail has no created_by field and says why.
    let d = r.sc.task(&all_tasks[0].id).await.unwrap();
    let v = serde_json::to_value(&d).unwrap();
    assert!(v.get("created_by").is_none());
    assert!(
        d.notes.iter().any(|n| n.contains("tasks.created_by")),
        "{:?}",
        d.notes
    );
    r.conns.close().await;
}

#[tokio::test]
async fn without_task_tables_the_views_are_unavailable() {
    let prefix = make("scafnone", 20).await;
    {
        let w = conns(&prefix, true);
        let pool = w.pool(&w.plugin_endpoint("scaffolder")).await.unwrap();
        sqlx::raw_sql("DROP TABLE task_events")
            .execute(&pool)
            .await
            .unwrap();
        w.close().await;
    }
    let r = ro(&prefix).await;
    // No events: the list still works, durations come from heartbeats.
    let page = r.sc.tasks(&TaskFilter::default()).await.unwrap();
    assert!(!page.items.is_empty());
    assert!(
        page.items
            .iter()
            .all(|t| t.duration_source != Some("events"))
    );
    let d = r.sc.task(&page.items[0].id).await.unwrap();
    assert!(d.log.is_empty() && d.notes.iter().any(|n| n.contains("task_events")));
    let e =
        r.sc.tasks_for_entity("component:default/x", None, None)
            .await;
    assert!(e.unwrap().items.is_empty());
    r.conns.close().await;
    // No tasks table at all.
    {
        let w = conns(&prefix, true);
        let pool = w.pool(&w.plugin_endpoint("scaffolder")).await.unwrap();
        sqlx::raw_sql("DROP TABLE tasks")
            .execute(&pool)
            .await
            .unwrap();
        w.close().await;
    }
    let r = ro(&prefix).await;
    let e = r.sc.tasks(&TaskFilter::default()).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::SchemaDegraded, "{e}");
    assert!(e.to_string().contains("tasks"));
    r.conns.close().await;
}

/// Timing of a task page, a filtered page and a detail on a large data set against the same
/// SQL run directly (`BSI_BENCH_ENTITIES`, default 100,000). Run with `--ignored --nocapture`.
#[tokio::test]
#[ignore = "generates a large data set; run on demand"]
async fn bench_task_page() {
    let n: usize = std::env::var("BSI_BENCH_ENTITIES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let started = std::time::Instant::now();
    let prefix = make("scafbench", n).await;
    eprintln!("generated {n} entities in {:?}", started.elapsed());
    let r = ro(&prefix).await;
    sqlx::raw_sql("ANALYZE")
        .execute(
            &conns(&prefix, true)
                .pool(&r.conns.plugin_endpoint("scaffolder"))
                .await
                .unwrap(),
        )
        .await
        .unwrap();
    async fn median<F, Fut>(mut f: F) -> f64
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        let mut t = Vec::new();
        for _ in 0..15 {
            let s = std::time::Instant::now();
            f().await;
            t.push(s.elapsed().as_secs_f64() * 1000.0);
        }
        t.sort_by(|a, b| a.partial_cmp(b).unwrap());
        t[t.len() / 2]
    }
    let cursor =
        r.sc.tasks(&TaskFilter {
            limit: Some(50),
            ..Default::default()
        })
        .await
        .unwrap()
        .next_cursor;
    let cases = [
        (
            "first page (50)",
            TaskFilter {
                limit: Some(50),
                ..Default::default()
            },
        ),
        (
            "second page (50)",
            TaskFilter {
                limit: Some(50),
                cursor: cursor.clone(),
                ..Default::default()
            },
        ),
        (
            "status failed",
            TaskFilter {
                limit: Some(50),
                status: Some(StatusFilter::Failed),
                ..Default::default()
            },
        ),
        (
            "status cancelled",
            TaskFilter {
                limit: Some(50),
                status: Some(StatusFilter::Cancelled),
                ..Default::default()
            },
        ),
        (
            "last 7 days",
            TaskFilter {
                limit: Some(50),
                since: Some("2026-10-25".into()),
                ..Default::default()
            },
        ),
        (
            "creator",
            TaskFilter {
                limit: Some(50),
                creator: Some("user:default/guest".into()),
                ..Default::default()
            },
        ),
        (
            "template",
            TaskFilter {
                limit: Some(50),
                template: Some("template:default/x".into()),
                ..Default::default()
            },
        ),
    ];
    for (name, f) in cases {
        let api = median(|| async {
            r.sc.tasks(&f).await.unwrap();
        })
        .await;
        let q = r.sc.task_page_sql(&f).unwrap();
        let direct = median(|| async {
            q.query().fetch_all(&r.pool).await.unwrap();
        })
        .await;
        eprintln!("{name:<20} api {api:7.2} ms   direct SQL {direct:7.2} ms");
    }
    let id =
        r.sc.tasks(&TaskFilter {
            limit: Some(1),
            status: Some(StatusFilter::Failed),
            ..Default::default()
        })
        .await
        .unwrap()
        .items[0]
            .id
            .clone();
    let api = median(|| async {
        r.sc.task(&id).await.unwrap();
    })
    .await;
    eprintln!("{:<20} api {api:7.2} ms", "task detail");
    let open = median(|| async {
        Scaffolder::open(&r.conns).await.unwrap();
    })
    .await;
    eprintln!("{:<20} api {open:7.2} ms", "Scaffolder::open");
    r.conns.close().await;
}

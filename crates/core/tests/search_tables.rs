//! Search, TechDocs, any-table browsing and exports against generated data on a real server:
//! document types and full-text hits equal direct SQL, TechDocs equals a direct count, the
//! famous wrong table names are explained, table pages neither skip nor repeat under any sort
//! and filter, bad names and injection attempts are refused or bound, and exports of `tasks`,
//! `offline_sessions` and `sessions` hold no secret.
//!
//! One data set is generated once per test binary; every test reads it through READ-ONLY
//! connections of its own.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use bsi_core::ErrorCode;
use bsi_core::connect::{Connections, PgPool};
use bsi_core::demo::generate::GenerateOptions;
use bsi_core::export::{self, EntityExport, ExportFormat};
use bsi_core::migrate::{self, AREAS, ApplyOptions};
use bsi_core::profile::{DivisionMode, Profile};
use bsi_core::search::{self, HIGHLIGHT_END, HIGHLIGHT_START, SearchQuery};
use bsi_core::secrets::Secret;
use bsi_core::tables::{self, Filter, TableQuery, TableRow, Target};
use bsi_core::techdocs::{self, TechDocsQuery, explain_missing_table};
use bsi_core::tls::SslMode;
use bsi_testkit::shared;
use serde_json::Value;
use sqlx::Row;

fn conns(prefix: &str, write: bool) -> Arc<Connections> {
    common::conns("browse", prefix, write)
}

/// The prefix of the data set, generated on first use.
async fn data() -> &'static str {
    static DATA: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    DATA.get_or_init(|| async {
        let prefix = format!("bsibrowse{}_", std::process::id());
        let o = GenerateOptions {
            seed: 9,
            tasks: 150,
            events_per_task: 6,
            ..GenerateOptions::size(300)
        };
        let (w, _) = common::filled("browse", &prefix, &AREAS, &o).await;
        w.close().await;
        prefix
    })
    .await
}

/// Read-only connections on the data set, and a pool of an area for direct SQL.
async fn reader() -> Arc<Connections> {
    conns(data().await, false)
}

async fn pool(c: &Connections, area: &str) -> PgPool {
    c.pool(&c.plugin_endpoint(area)).await.unwrap()
}

fn area(a: &str) -> Target {
    Target::Area {
        area: a.to_string(),
    }
}

fn filters(fs: &[&str]) -> Vec<Filter> {
    fs.iter().map(|f| f.parse().unwrap()).collect()
}

/// Every page of a table, following the cursors.
async fn all_pages(c: &Connections, target: &Target, table: &str, q: &TableQuery) -> Vec<TableRow> {
    let mut q = q.clone();
    let mut rows = Vec::new();
    for _ in 0..10_000 {
        let p = tables::browse(c, target, table, &q).await.unwrap();
        assert!(p.page.items.len() <= q.limit.unwrap_or(100));
        rows.extend(p.page.items);
        match p.page.next_cursor {
            Some(cur) => q.cursor = Some(cur),
            None => return rows,
        }
    }
    panic!("endless paging");
}

fn col(rows: &[TableRow], c: &str) -> Vec<String> {
    rows.iter()
        .map(|r| match r.get(c).unwrap() {
            Value::String(s) => s.clone(),
            Value::Null => "NULL".to_string(),
            other => other.to_string(),
        })
        .collect()
}

async fn strings(pool: &PgPool, sql: &str) -> Vec<String> {
    sqlx::query_scalar::<_, Option<String>>(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_all(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .into_iter()
        .map(|s| s.unwrap_or_else(|| "NULL".to_string()))
        .collect()
}

async fn count(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

// ---------------------------------------------------------------------------------------------
// Search.

#[tokio::test]
async fn document_types_and_counts_equal_direct_sql() {
    let c = reader().await;
    let s = pool(&c, "search").await;
    let types = search::document_types(&c).await.unwrap();
    let direct: Vec<(String, i64)> =
        sqlx::query("SELECT type, count(*) FROM documents GROUP BY type ORDER BY type")
            .fetch_all(&s)
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
    let got: Vec<(String, i64)> = types
        .iter()
        .map(|t| (t.doc_type.clone(), t.count))
        .collect();
    assert_eq!(got, direct);
    assert!(
        got.iter().any(|(t, n)| t == "techdocs" && *n > 0),
        "{got:?}"
    );
    assert!(
        got.iter().any(|(t, n)| t == "software-catalog" && *n > 0),
        "{got:?}"
    );
    c.close().await;
}

#[tokio::test]
async fn full_text_search_ranks_and_highlights() {
    let c = reader().await;
    let s = pool(&c, "search").await;
    let direct = |ty: Option<&str>| {
        let s = s.clone();
        let ty = ty.map(str::to_string);
        async move {
            sqlx::query(
                "SELECT document->>'location', ts_rank_cd(body, q) FROM documents, websearch_to_tsquery('english', 'runbook') q \
                 WHERE body @@ q AND ($1::text IS NULL OR type = $1) ORDER BY ts_rank_cd(body, q) DESC, hash",
            )
            .bind(ty)
            .fetch_all(&s)
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get::<String, _>(0), r.get::<f32, _>(1)))
            .collect::<Vec<_>>()
        }
    };

    // Every page, in rank order, equals the direct query; every hit highlights the term.
    let mut q = SearchQuery {
        query: "runbook".into(),
        limit: Some(4),
        ..Default::default()
    };
    let mut seen = Vec::new();
    let mut total = None;
    loop {
        let r = search::search(&c, &q).await.unwrap();
        assert_eq!(r.tsquery, "'runbook'");
        assert!(r.notice.is_none());
        total.get_or_insert(r.total);
        assert_eq!(Some(r.total), total);
        for h in &r.page.items {
            let marked = format!("{HIGHLIGHT_START}runbook{HIGHLIGHT_END}");
            let both = format!("{} {}", h.title_highlight, h.text_highlight).to_lowercase();
            assert!(both.contains(&marked), "no highlight in {h:?}");
            assert_eq!(
                search::render_highlight(&h.title_highlight, "", ""),
                h.title.clone().unwrap_or_default()
            );
            seen.push((h.location.clone().unwrap(), h.rank));
        }
        match r.page.next_cursor {
            Some(cur) => q.cursor = Some(cur),
            None => break,
        }
    }
    let want = direct(None).await;
    assert!(want.len() > 4, "too few matches to page: {}", want.len());
    assert_eq!(seen, want);
    assert_eq!(total, Some(want.len() as i64));
    assert!(seen.windows(2).all(|w| w[0].1 >= w[1].1));

    // Filtered by type; and a title (weight A) outranks a text-only (weight B) match.
    let r = search::search(
        &c,
        &SearchQuery {
            query: "runbook".into(),
            doc_type: Some("techdocs".into()),
            limit: Some(1000),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(r.page.items.iter().all(|h| h.doc_type == "techdocs"));
    assert_eq!(r.page.items.len(), direct(Some("techdocs")).await.len());
    let first = &r.page.items[0];
    assert_eq!(first.title.as_deref(), Some("Runbook"));
    assert!(first.title_highlight.contains(HIGHLIGHT_START));

    // Web-search syntax: a phrase and an exclusion; stop words alone; nothing at all.
    let r = search::search(
        &c,
        &SearchQuery {
            query: "\"getting started\" -runbook".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(r.total > 0 && r.tsquery.contains("<->"), "{}", r.tsquery);
    let r = search::search(
        &c,
        &SearchQuery {
            query: "the and".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!((r.total, r.page.items.len()), (0, 0));
    assert!(r.notice.unwrap().contains("stop words"));
    let e = search::search(
        &c,
        &SearchQuery {
            query: "  ".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(e.code(), ErrorCode::Config);
    let e = search::search(
        &c,
        &SearchQuery {
            query: "x".into(),
            cursor: Some("garbage".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(e.code(), ErrorCode::Config);
    // Quotes and SQL in the query are just text.
    let r = search::search(
        &c,
        &SearchQuery {
            query: "'; DROP TABLE documents; --".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(r.total >= 0);
    assert!(count(&s, "SELECT count(*) FROM documents").await > 0);
    c.close().await;
}

// ---------------------------------------------------------------------------------------------
// TechDocs.

#[tokio::test]
async fn techdocs_list_equals_direct_count() {
    let c = reader().await;
    let cat = pool(&c, "catalog").await;
    let s = pool(&c, "search").await;
    let want = strings(
        &cat,
        "SELECT entity_ref || ' ' || (final_entity::json->'metadata'->'annotations'->>'backstage.io/techdocs-ref') FROM final_entities \
         WHERE final_entity::json->'metadata'->'annotations'->>'backstage.io/techdocs-ref' IS NOT NULL ORDER BY entity_ref",
    )
    .await;
    assert!(!want.is_empty());
    let docs: HashMap<String, i64> = sqlx::query(
        "SELECT lower(document->>'kind') || ':' || lower(document->>'namespace') || '/' || lower(document->>'name'), count(*) \
         FROM documents WHERE type = 'techdocs' GROUP BY 1",
    )
    .fetch_all(&s)
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get(1)))
    .collect();

    let mut q = TechDocsQuery {
        limit: Some(17),
        cursor: None,
    };
    let mut got = Vec::new();
    loop {
        let l = techdocs::list(&c, &q).await.unwrap();
        assert_eq!(l.total as usize, want.len());
        assert_eq!(l.source, "search_table");
        assert!(l.search.available, "{:?}", l.search);
        assert!(l.metadata.contains("techdocs_metadata.json"));
        for e in &l.page.items {
            assert_eq!(
                e.search_documents,
                Some(docs.get(&e.entity_ref).copied().unwrap_or(0)),
                "{}",
                e.entity_ref
            );
            got.push(format!("{} {}", e.entity_ref, e.techdocs_ref));
        }
        match l.page.next_cursor {
            Some(cur) => q.cursor = Some(cur),
            None => break,
        }
    }
    assert_eq!(got, want);
    assert!(docs.values().sum::<i64>() > 0);
    c.close().await;
}

#[tokio::test]
async fn famous_missing_tables_are_explained() {
    let c = reader().await;
    for (name, says) in [
        ("techdocs_metadata", "techdocs_metadata.json"),
        ("documents_search", "`documents`"),
        ("refresh_tokens", "offline_sessions"),
    ] {
        assert!(explain_missing_table(name).unwrap().contains(says));
        for target in [Target::Anywhere, area("auth"), area("search")] {
            let e = tables::browse(&c, &target, name, &TableQuery::default())
                .await
                .unwrap_err();
            assert_eq!(e.code(), ErrorCode::NotFound, "{e}");
            let m = e.to_string();
            assert!(m.contains(says) && m.contains(name), "{m}");
        }
    }
    // The closest existing names are suggested.
    let e = tables::browse(
        &c,
        &Target::Anywhere,
        "refresh_stat",
        &TableQuery::default(),
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("refresh_state"), "{e}");
    let e = tables::browse(
        &c,
        &Target::Anywhere,
        "documents_search",
        &TableQuery::default(),
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("documents ("), "{e}");
    let e = tables::browse(&c, &area("auth"), "refresh_tokens", &TableQuery::default())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("offline_sessions"), "{e}");
    // A table in several databases asks to choose.
    let e = tables::browse(
        &c,
        &Target::Anywhere,
        "backstage_backend_tasks__tasks",
        &TableQuery::default(),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code(), ErrorCode::Config);
    assert!(e.to_string().contains("--area"), "{e}");
    c.close().await;
}

// ---------------------------------------------------------------------------------------------
// Tables.

#[tokio::test]
async fn table_list_includes_refresh_state_with_columns() {
    let c = reader().await;
    let list = tables::list_tables(&c, &area("catalog")).await.unwrap();
    assert_eq!(list.len(), 1);
    let rs = list[0]
        .tables
        .iter()
        .find(|t| t.name == "refresh_state")
        .unwrap();
    assert_eq!(rs.kind, "table");
    assert_eq!(rs.primary_key, vec!["entity_id"]);
    let cols: Vec<&str> = rs.columns.iter().map(|c| c.name.as_str()).collect();
    for want in [
        "entity_id",
        "entity_ref",
        "unprocessed_entity",
        "processed_entity",
        "errors",
        "next_update_at",
    ] {
        assert!(cols.contains(&want), "{cols:?}");
    }
    assert!(rs.size_bytes > 0);
    assert!(
        list[0]
            .tables
            .iter()
            .any(|t| t.name == "location_update_log_latest" && t.kind == "view")
    );

    let all = tables::list_tables(&c, &Target::Anywhere).await.unwrap();
    let areas: BTreeSet<String> = all.iter().filter_map(|s| s.scope.area.clone()).collect();
    for a in ["catalog", "scaffolder", "auth", "search"] {
        assert!(areas.contains(a), "{areas:?}");
    }
    assert!(all.iter().all(|s| s.error.is_none()));
    let auth = all
        .iter()
        .find(|s| s.scope.area.as_deref() == Some("auth"))
        .unwrap();
    let off = auth
        .tables
        .iter()
        .find(|t| t.name == "offline_sessions")
        .unwrap();
    assert!(
        off.columns
            .iter()
            .any(|c| c.name == "token_hash" && c.masked)
    );
    assert!(
        off.columns
            .iter()
            .any(|c| c.name == "user_entity_ref" && !c.masked)
    );
    let e = tables::list_tables(
        &c,
        &Target::Database {
            database: "bsi_no_such_db_x".into(),
            schema: None,
        },
    )
    .await
    .unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotFound);
    c.close().await;
}

#[tokio::test]
async fn pages_with_filters_and_sorts_neither_skip_nor_repeat() {
    let c = reader().await;
    let cat = pool(&c, "catalog").await;
    let sc = pool(&c, "scaffolder").await;
    let auth = pool(&c, "auth").await;

    // A non-unique sort with a filter: the primary key breaks ties.
    for desc in [false, true] {
        let q = TableQuery {
            sort: Some("next_update_at".into()),
            desc,
            filters: filters(&["entity_ref~COMPONENT"]),
            limit: Some(13),
            cursor: None,
        };
        let rows = all_pages(&c, &area("catalog"), "refresh_state", &q).await;
        let d = if desc { "DESC" } else { "ASC" };
        let want = strings(&cat, &format!(
            "SELECT entity_id FROM refresh_state WHERE entity_ref::text ILIKE '%component%' ORDER BY next_update_at {d}, entity_id {d}"
        ))
        .await;
        assert!(want.len() > 13);
        assert_eq!(col(&rows, "entity_id"), want);
        // JSON text columns come back as trees.
        assert!(rows[0].get("unprocessed_entity").unwrap().is_object());
    }

    // A nullable sort column (open tasks have no heartbeat), both directions.
    for desc in [false, true] {
        let q = TableQuery {
            sort: Some("last_heartbeat_at".into()),
            desc,
            limit: Some(7),
            ..Default::default()
        };
        let rows = all_pages(&c, &area("scaffolder"), "tasks", &q).await;
        let d = if desc { "DESC" } else { "ASC" };
        let want = strings(
            &sc,
            &format!("SELECT id::text FROM tasks ORDER BY last_heartbeat_at {d}, id {d}"),
        )
        .await;
        assert!(
            count(
                &sc,
                "SELECT count(*) FROM tasks WHERE last_heartbeat_at IS NULL"
            )
            .await
                > 0
        );
        assert_eq!(col(&rows, "id"), want);
        assert!(rows.iter().all(|r| r.get("spec").unwrap().is_object()));
    }

    // No primary key: ctid breaks ties. Equality and comparison filters.
    let q = TableQuery {
        sort: Some("type".into()),
        filters: filters(&["source_entity_ref~group:", "type>hasMember"]),
        limit: Some(11),
        ..Default::default()
    };
    let rows = all_pages(&c, &area("catalog"), "relations", &q).await;
    let want = strings(
        &cat,
        "SELECT source_entity_ref || ' ' || type || ' ' || target_entity_ref FROM relations \
         WHERE source_entity_ref::text ILIKE '%group:%' AND type > 'hasMember' ORDER BY type, ctid",
    )
    .await;
    assert!(want.len() > 11);
    let got: Vec<String> = rows
        .iter()
        .map(|r| {
            format!(
                "{} {} {}",
                r.get("source_entity_ref").unwrap().as_str().unwrap(),
                r.get("type").unwrap().as_str().unwrap(),
                r.get("target_entity_ref").unwrap().as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(got, want);

    // Timestamps compared as timestamps, equality on a uuid, IS NULL.
    let cut: String = sqlx::query_scalar(
        "SELECT (percentile_disc(0.5) WITHIN GROUP (ORDER BY created_at))::text FROM task_events",
    )
    .fetch_one(&sc)
    .await
    .unwrap();
    let q = TableQuery {
        sort: Some("created_at".into()),
        desc: true,
        filters: vec![
            format!("created_at>{cut}").parse().unwrap(),
            "event_type=log".parse().unwrap(),
        ],
        limit: Some(25),
        ..Default::default()
    };
    let rows = all_pages(&c, &area("scaffolder"), "task_events", &q).await;
    let want: Vec<String> = sqlx::query_scalar::<_, String>(
        "SELECT id::text FROM task_events WHERE created_at > $1::timestamptz AND event_type = 'log' ORDER BY created_at DESC, id DESC",
    )
    .bind(&cut)
    .fetch_all(&sc)
    .await
    .unwrap();
    assert!(want.len() > 25);
    assert_eq!(col(&rows, "id"), want);
    let one: String = sqlx::query_scalar("SELECT id::text FROM tasks ORDER BY id LIMIT 1")
        .fetch_one(&sc)
        .await
        .unwrap();
    let q = TableQuery {
        filters: vec![format!("id={one}").parse().unwrap()],
        ..Default::default()
    };
    assert_eq!(
        col(&all_pages(&c, &area("scaffolder"), "tasks", &q).await, "id"),
        vec![one]
    );
    let q = TableQuery {
        filters: filters(&["secrets:notnull"]),
        ..Default::default()
    };
    let open = all_pages(&c, &area("scaffolder"), "tasks", &q).await;
    assert_eq!(
        open.len() as i64,
        count(&sc, "SELECT count(*) FROM tasks WHERE secrets IS NOT NULL").await
    );

    // A masked primary key (sessions.sid): ctid breaks ties, the sid never shows.
    let rows = all_pages(
        &c,
        &area("auth"),
        "sessions",
        &TableQuery {
            limit: Some(3),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(
        rows.len() as i64,
        count(&auth, "SELECT count(*) FROM sessions").await
    );
    let sids = strings(&auth, "SELECT sid FROM sessions").await;
    let shown = serde_json::to_string(
        &rows
            .iter()
            .map(|r| serde_json::to_value(r).unwrap())
            .collect::<Vec<_>>(),
    )
    .unwrap();
    for sid in &sids {
        assert!(!shown.contains(sid.as_str()));
    }
    assert!(rows.iter().all(|r| r.get("sid").unwrap() == "<redacted>"));
    let mut expired = col(&rows, "expired");
    expired.sort();
    let mut want: Vec<String> =
        sqlx::query_scalar::<_, Value>("SELECT to_jsonb(expired) FROM sessions")
            .fetch_all(&auth)
            .await
            .unwrap()
            .into_iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
    want.sort();
    assert_eq!(expired, want);

    // A view: a hash of the row breaks ties.
    let rows = all_pages(
        &c,
        &area("catalog"),
        "location_update_log_latest",
        &TableQuery {
            limit: Some(2),
            ..Default::default()
        },
    )
    .await;
    let mut ids = col(&rows, "id");
    ids.sort();
    let mut want = strings(&cat, "SELECT id::text FROM location_update_log_latest").await;
    want.sort();
    assert!(want.len() > 2);
    assert_eq!(ids, want);

    // bytea: hex with its length.
    let p = tables::browse(
        &c,
        &area("search"),
        "documents",
        &TableQuery {
            limit: Some(1),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(p.page.items[0].get("hash").unwrap(), "<redacted>");
    assert!(p.page.items[0].get("document").unwrap().is_object());
    assert_eq!(p.order, vec!["ctid"]);
    c.close().await;
}

#[tokio::test]
async fn bad_names_and_injection_are_refused_or_bound() {
    let c = reader().await;
    let cat = pool(&c, "catalog").await;
    let before = count(&cat, "SELECT count(*) FROM relations").await;
    let t = area("catalog");
    let browse = |table: &'static str, q: TableQuery| {
        let c = c.clone();
        let t = t.clone();
        async move { tables::browse(&c, &t, table, &q).await }
    };

    for sort in [
        "entity_ref; DROP TABLE relations",
        "entity_ref\" DESC, (SELECT 1)--",
        "nope",
    ] {
        let e = browse(
            "refresh_state",
            TableQuery {
                sort: Some(sort.into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
        assert_eq!(e.code(), ErrorCode::NotFound, "{e}");
        assert!(
            e.to_string().contains("entity_ref"),
            "the columns are listed: {e}"
        );
    }
    let f = Filter {
        column: "x\" OR 1=1 --".into(),
        op: tables::FilterOp::Eq,
        value: Some("1".into()),
    };
    let e = browse(
        "refresh_state",
        TableQuery {
            filters: vec![f],
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotFound);
    for table in [
        "refresh_state; DROP TABLE relations",
        "refresh_state\" --",
        "pg_class",
    ] {
        let e = browse(table, TableQuery::default()).await.unwrap_err();
        assert_eq!(e.code(), ErrorCode::NotFound, "{e}");
    }
    // Values are bound: they match nothing rather than run.
    for v in ["' OR '1'='1", "x'); DROP TABLE relations; --", "%", "_"] {
        let q = TableQuery {
            filters: vec![format!("entity_ref={v}").parse().unwrap()],
            ..Default::default()
        };
        assert!(
            browse("refresh_state", q)
                .await
                .unwrap()
                .page
                .items
                .is_empty(),
            "{v}"
        );
        let q = TableQuery {
            filters: vec![format!("entity_ref~{v}").parse().unwrap()],
            ..Default::default()
        };
        assert!(
            browse("refresh_state", q)
                .await
                .unwrap()
                .page
                .items
                .is_empty(),
            "{v}"
        );
    }
    // A value that does not fit the column's type, masked columns, bad cursors.
    let sc = area("scaffolder");
    let e = tables::browse(
        &c,
        &sc,
        "tasks",
        &TableQuery {
            filters: filters(&["id=not-a-uuid"]),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(e.code(), ErrorCode::Config);
    assert!(e.to_string().contains("does not fit"), "{e}");
    let e = tables::browse(
        &c,
        &sc,
        "tasks",
        &TableQuery {
            sort: Some("secrets".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(e.code(), ErrorCode::Config);
    let e = tables::browse(
        &c,
        &sc,
        "tasks",
        &TableQuery {
            filters: filters(&["secrets~ghp_"]),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(e.code(), ErrorCode::Config);
    for cursor in ["garbage", "WyJ4Il0"] {
        let e = tables::browse(
            &c,
            &sc,
            "tasks",
            &TableQuery {
                cursor: Some(cursor.into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
        assert_eq!(e.code(), ErrorCode::Config, "{e}");
    }
    // A cursor of one sort is refused by another.
    let p = tables::browse(
        &c,
        &sc,
        "tasks",
        &TableQuery {
            limit: Some(2),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let q = TableQuery {
        sort: Some("status".into()),
        cursor: p.page.next_cursor,
        ..Default::default()
    };
    assert_eq!(
        tables::browse(&c, &sc, "tasks", &q)
            .await
            .unwrap_err()
            .code(),
        ErrorCode::Config
    );
    assert_eq!(count(&cat, "SELECT count(*) FROM relations").await, before);
    c.close().await;
}

// ---------------------------------------------------------------------------------------------
// Exports.

/// Parses RFC 4180 CSV.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut rec = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(ch) = chars.next() {
        match (quoted, ch) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, ch) => field.push(ch),
            (false, '"') => quoted = true,
            (false, ',') => rec.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                rec.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut rec));
            }
            (false, ch) => field.push(ch),
        }
    }
    assert!(
        field.is_empty() && rec.is_empty(),
        "CSV must end with a line break"
    );
    records
}

async fn export_bytes(
    c: &Connections,
    a: &str,
    table: &str,
    q: &TableQuery,
    f: ExportFormat,
) -> (String, u64) {
    let mut out = Vec::new();
    let s = export::export_table(c, &area(a), table, q, f, &mut out)
        .await
        .unwrap();
    (String::from_utf8(out).unwrap(), s.rows)
}

#[tokio::test]
async fn exports_hold_no_secrets_and_counts_match() {
    let c = reader().await;
    let sc = pool(&c, "scaffolder").await;
    let auth = pool(&c, "auth").await;

    // The values of tasks.secrets (githubToken, backstageToken, __initiatorCredentials), and
    // the token inside the credentials.
    let mut secrets = Vec::new();
    for raw in strings(&sc, "SELECT secrets FROM tasks WHERE secrets IS NOT NULL").await {
        let v: Value = serde_json::from_str(&raw).unwrap();
        for (_, x) in v.as_object().unwrap() {
            secrets.push(x.as_str().map_or_else(|| x.to_string(), str::to_string));
            // Inside the credentials: the token.
            if let Some(Value::Object(inner)) =
                x.as_str().and_then(|s| serde_json::from_str(s).ok())
            {
                secrets.extend(
                    inner
                        .get("token")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                );
            }
        }
    }
    secrets.sort();
    secrets.dedup();
    assert!(secrets.len() >= 3, "{secrets:?}");
    // The parts of the JWT, too.
    let jwt_parts: BTreeSet<String> = secrets
        .iter()
        .filter(|s| s.starts_with("eyJ") && s.matches('.').count() == 2)
        .flat_map(|s| s.split('.').skip(1).map(str::to_string).collect::<Vec<_>>())
        .collect();
    assert_eq!(jwt_parts.len(), 2);
    secrets.extend(jwt_parts);
    let hashes = strings(&auth, "SELECT token_hash FROM offline_sessions").await;
    assert!(!hashes.is_empty());
    let mut hash_parts: Vec<String> = hashes
        .iter()
        .flat_map(|h| h.split('.').map(str::to_string).collect::<Vec<_>>())
        .collect();
    hash_parts.extend(hashes.clone());
    let sids = strings(&auth, "SELECT sid FROM sessions").await;
    let oauth_values = strings(
        &auth,
        "SELECT v FROM oauth_authorization_sessions, \
           unnest(ARRAY[id, state, nonce, code_challenge]) v WHERE v IS NOT NULL AND length(v) > 8 \
         UNION SELECT code FROM oidc_authorization_codes",
    )
    .await;
    assert!(!oauth_values.is_empty());
    let offline_ids = strings(&auth, "SELECT id FROM offline_sessions").await;

    for f in [ExportFormat::Csv, ExportFormat::Json] {
        // tasks
        let (text, rows) = export_bytes(&c, "scaffolder", "tasks", &TableQuery::default(), f).await;
        let n = count(&sc, "SELECT count(*) FROM tasks").await;
        assert_eq!(rows as i64, n);
        for s in &secrets {
            assert!(
                !text.contains(s.as_str()),
                "{f}: a secret of tasks.secrets leaked: {s}"
            );
        }
        match f {
            ExportFormat::Json => {
                let v: Vec<Value> = serde_json::from_str(&text).unwrap();
                assert_eq!(v.len() as i64, n);
                let open: Vec<&Value> = v.iter().filter(|t| !t["secrets"].is_null()).collect();
                assert_eq!(open.len(), 1);
                let keys: BTreeSet<&str> = open[0]["secrets"]
                    .as_object()
                    .unwrap()
                    .keys()
                    .map(String::as_str)
                    .collect();
                assert!(
                    keys.contains("backstageToken") && keys.contains("__initiatorCredentials"),
                    "{keys:?}"
                );
                assert!(
                    open[0]["secrets"]
                        .as_object()
                        .unwrap()
                        .values()
                        .all(|x| x == "<redacted>")
                );
                assert!(v[0]["spec"].is_object(), "spec is a JSON tree");
            }
            ExportFormat::Csv => {
                let recs = parse_csv(&text);
                assert_eq!(recs.len() as i64, n + 1);
                let header = &recs[0];
                assert!(
                    header.contains(&"secrets".to_string()) && header.contains(&"spec".to_string())
                );
                assert!(recs.iter().all(|r| r.len() == header.len()));
            }
        }
        // offline_sessions and sessions
        let (text, rows) =
            export_bytes(&c, "auth", "offline_sessions", &TableQuery::default(), f).await;
        assert_eq!(
            rows as i64,
            count(&auth, "SELECT count(*) FROM offline_sessions").await
        );
        for h in hash_parts.iter().chain(&offline_ids) {
            assert!(
                !text.contains(h.as_str()),
                "{f}: a token hash or session id leaked"
            );
        }
        assert!(text.contains("<redacted>"));
        let (text, rows) = export_bytes(&c, "auth", "sessions", &TableQuery::default(), f).await;
        assert_eq!(
            rows as i64,
            count(&auth, "SELECT count(*) FROM sessions").await
        );
        for s in &sids {
            assert!(!text.contains(s.as_str()), "{f}: a session id leaked");
        }
        // OAuth flows: ids, state, nonce, code challenge; authorization codes.
        let (text, rows) = export_bytes(
            &c,
            "auth",
            "oauth_authorization_sessions",
            &TableQuery::default(),
            f,
        )
        .await;
        assert!(rows > 0);
        for v in &oauth_values {
            assert!(
                !text.contains(v.as_str()),
                "{f}: an OAuth flow value leaked: {v}"
            );
        }
        assert!(
            text.contains("user:default/"),
            "{f}: the user stays visible"
        );
        let (text, _) = export_bytes(
            &c,
            "auth",
            "oidc_authorization_codes",
            &TableQuery::default(),
            f,
        )
        .await;
        for v in &oauth_values {
            assert!(
                !text.contains(v.as_str()),
                "{f}: an authorization code leaked: {v}"
            );
        }
        for v in &offline_ids {
            assert!(
                !text.contains(v.as_str()),
                "{f}: an offline session id leaked"
            );
        }
        // With filters and a sort.
        let q = TableQuery {
            sort: Some("created_at".into()),
            desc: true,
            filters: filters(&["status=failed"]),
            ..Default::default()
        };
        let (text, rows) = export_bytes(&c, "scaffolder", "tasks", &q, f).await;
        assert_eq!(
            rows as i64,
            count(&sc, "SELECT count(*) FROM tasks WHERE status = 'failed'").await
        );
        if f == ExportFormat::Json {
            let v: Vec<Value> = serde_json::from_str(&text).unwrap();
            let want = strings(&sc, "SELECT id::text FROM tasks WHERE status = 'failed' ORDER BY created_at DESC, id DESC").await;
            assert_eq!(
                v.iter()
                    .map(|t| t["id"].as_str().unwrap().to_string())
                    .collect::<Vec<_>>(),
                want
            );
        }
    }

    // Larger than one fetch batch: task_events streams in several batches.
    let (text, rows) = export_bytes(
        &c,
        "scaffolder",
        "task_events",
        &TableQuery::default(),
        ExportFormat::Csv,
    )
    .await;
    let n = count(&sc, "SELECT count(*) FROM task_events").await;
    assert!(n as usize > export::BATCH_ROWS, "{n}");
    assert_eq!(rows as i64, n);
    assert_eq!(parse_csv(&text).len() as i64, n + 1);

    // Entities.
    let cat = pool(&c, "catalog").await;
    let mut out = Vec::new();
    let s = export::export_entities(&c, &EntityExport::default(), ExportFormat::Json, &mut out)
        .await
        .unwrap();
    assert_eq!(
        s.rows as i64,
        count(
            &cat,
            "SELECT count(*) FROM final_entities WHERE final_entity IS NOT NULL"
        )
        .await
    );
    let v: Vec<Value> = serde_json::from_slice(&out).unwrap();
    assert_eq!(v.len() as u64, s.rows);
    let q = EntityExport {
        kinds: vec!["Component".into(), "api".into()],
        full: true,
        ..Default::default()
    };
    let mut out = Vec::new();
    let s = export::export_entities(&c, &q, ExportFormat::Csv, &mut out)
        .await
        .unwrap();
    let want = count(&cat, "SELECT count(*) FROM final_entities WHERE split_part(entity_ref, ':', 1) IN ('component', 'api')").await;
    assert_eq!(s.rows as i64, want);
    let recs = parse_csv(&String::from_utf8(out).unwrap());
    assert_eq!(recs.len() as i64, want + 1);
    assert_eq!(recs[0].last().unwrap(), "entity");
    let kinds: BTreeMap<String, usize> = recs[1..].iter().fold(BTreeMap::new(), |mut m, r| {
        *m.entry(r[1].clone()).or_default() += 1;
        m
    });
    assert_eq!(
        kinds.keys().cloned().collect::<Vec<_>>(),
        vec!["API", "Component"]
    );
    c.close().await;
}

// ---------------------------------------------------------------------------------------------
// Schema mode.

#[tokio::test]
async fn schema_mode_is_followed() {
    let s = shared();
    let make = |write: bool| {
        let mut p = Profile::new("schemas", "localhost", "postgres");
        p.port = s.port;
        p.mode = DivisionMode::Schema;
        p.database = Some(format!("bsibrowse_schemas_{}", std::process::id()));
        p.tls.sslmode = SslMode::Require;
        p.write_mode = write;
        Connections::new(p, Some(Secret::new(s.password.clone())))
    };
    // The one database, created through the server's maintenance database.
    let admin = conns("bsibrowse_admin_", true);
    let db = format!("bsibrowse_schemas_{}", std::process::id());
    let maint = admin.database("postgres").await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{db}\"")))
        .execute(&maint)
        .await
        .unwrap();
    admin.close().await;
    let w = make(true);
    let areas: Vec<String> = AREAS.iter().map(|a| a.to_string()).collect();
    let places = migrate::places(&w, &areas).unwrap();
    let opts = ApplyOptions {
        create_databases: true,
        ..Default::default()
    };
    migrate::apply(&w, &places, &opts).await.unwrap();
    w.close().await;

    let c = make(false);
    let list = tables::list_tables(&c, &area("catalog")).await.unwrap();
    assert_eq!(list[0].scope.schema, "catalog");
    assert!(list[0].tables.iter().any(|t| t.name == "refresh_state"));
    assert!(!list[0].tables.iter().any(|t| t.name == "tasks"));
    let all = tables::list_tables(&c, &Target::Anywhere).await.unwrap();
    let schemas: BTreeSet<&str> = all.iter().map(|s| s.scope.schema.as_str()).collect();
    assert!(
        schemas.contains("scaffolder") && schemas.contains("search"),
        "{schemas:?}"
    );
    let p = tables::browse(&c, &Target::Anywhere, "tasks", &TableQuery::default())
        .await
        .unwrap();
    assert_eq!(
        (p.scope.schema.as_str(), p.page.items.len()),
        ("scaffolder", 0)
    );
    assert!(p.sql.contains("\"scaffolder\".\"tasks\""), "{}", p.sql);
    let r = search::search(
        &c,
        &SearchQuery {
            query: "team".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(r.total, 0);
    assert!(search::document_types(&c).await.unwrap().is_empty());
    let l = techdocs::list(&c, &TechDocsQuery::default()).await.unwrap();
    assert_eq!((l.total, l.page.items.len()), (0, 0));
    let mut out = Vec::new();
    let s = export::export_table(
        &c,
        &area("auth"),
        "offline_sessions",
        &TableQuery::default(),
        ExportFormat::Csv,
        &mut out,
    )
    .await
    .unwrap();
    assert_eq!(s.rows, 0);
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "id,user_entity_ref,oidc_client_id,token_hash,created_at,last_used_at\r\n"
    );
    c.close().await;
}

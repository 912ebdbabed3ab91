//! The inspector's hot operations timed on a large demo catalog, each through the core API and
//! as the same SQL run directly with sqlx on the same pool, against the performance targets.
//!
//! Run with `cargo bench -p bsi-core --bench inspect`. Environment:
//! - `BSI_BENCH_URL`: a libpq URI of a server whose `<prefix>catalog`, `<prefix>scaffolder`, ...
//!   databases already hold generated data (nothing is generated then, unless
//!   `BSI_BENCH_GENERATE=1` asks to create and fill them once); without it a private
//!   PostgreSQL with TLS is started, our migrations are applied to fresh databases and the demo
//!   generator fills them;
//! - `BSI_BENCH_PREFIX`: the database prefix with `BSI_BENCH_URL` (default `bsibench_`);
//! - `BSI_BENCH_ENTITIES`: the demo size to generate (default 100000; 2000 for a smoke run);
//! - `BSI_BENCH_RUNS`: timed runs per operation (default 25, after 3 warm-up runs);
//! - `BSI_BENCH_TEXT`: the free-text word (default `billing`, a word of many names);
//! - `BSI_BENCH_TEXT_RARE`: a second word for the comparison with Backstage's query (default
//!   `zqx`, found nowhere, so every name, title and description is read);
//! - `BSI_BENCH_ONLY`: time only these operations (comma-separated: `page`, `ref`, `facets`,
//!   `text`, `graph`, `tasks`);
//! - `BSI_BENCH_ANALYZE=0`: skip the `VACUUM (ANALYZE)` that runs first;
//! - `BSI_BENCH_TSV=FILE`: append each operation's medians (and its floor's) to FILE as
//!   tab-separated rows, for `scripts/bench-scale`;
//! - `BSI_BENCH_EXPLAIN=1`: print the plan (`EXPLAIN (ANALYZE, BUFFERS)`) of the core's free
//!   text statement for each word of the comparison with Backstage's query.
//!
//! Every timed operation runs on a READ-ONLY connection set; only the set-up (migrations,
//! generation, `ANALYZE`) uses a write-mode one.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeSet, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use bsi_core::catalog::{Catalog, EntityFilter, EntityQuery, EntitySort, FacetField};
use bsi_core::connect::{Connections, PgPool};
use bsi_core::conninfo::ConnInfo;
use bsi_core::demo::generate::GenerateOptions;
use bsi_core::demo::{self, FillOptions, FillProgress};
use bsi_core::graph::{Direction, GraphOptions, RelationGraph};
use bsi_core::migrate::AREAS;
use bsi_core::profile::{DivisionMode, Profile};
use bsi_core::refs::EntityRef;
use bsi_core::scaffolder::{Scaffolder, TaskFilter};
use bsi_core::secrets::Secret;
use bsi_core::tls::SslMode;
use bsi_testkit::{PgServer, TlsSetup};

const WARMUP: usize = 3;
/// The node cap of [`GraphOptions::default`], mirrored by the direct BFS.
const MAX_NODES: usize = 500;

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn env_num(name: &str, default: usize) -> usize {
    match env(name) {
        None => default,
        Some(v) => v.trim().parse().unwrap_or_else(|_| {
            eprintln!("{name}={v} is not a whole number; using {default}");
            default
        }),
    }
}

/// Where the data is: a connection set per mode, and the private server kept alive.
struct Setup {
    write: Arc<Connections>,
    read: Arc<Connections>,
    _server: Option<PgServer>,
}

fn connections(base: &Profile, password: Option<Secret>, write: bool) -> Arc<Connections> {
    let mut p = base.clone();
    p.write_mode = write;
    Connections::new(p, password)
}

async fn setup() -> Setup {
    if let Some(url) = env("BSI_BENCH_URL") {
        let ci = ConnInfo::parse(&url).expect("BSI_BENCH_URL is not a libpq URI");
        let (mut p, password) = Profile::from_conninfo("bench", ci).expect("BSI_BENCH_URL");
        p.mode = DivisionMode::Database;
        p.database = None;
        p.prefix = env("BSI_BENCH_PREFIX").unwrap_or_else(|| "bsibench_".into());
        println!(
            "server: {} (BSI_BENCH_URL), databases {}*, data as found",
            p.server(),
            p.prefix
        );
        p.pool.statement_timeout_secs = 3600;
        let write = connections(&p, password.clone(), true);
        if env("BSI_BENCH_GENERATE").is_some_and(|v| v == "1") {
            fill(&write, env_num("BSI_BENCH_ENTITIES", 100_000)).await;
        }
        return Setup {
            write,
            read: connections(&p, password, false),
            _server: None,
        };
    }

    let n = env_num("BSI_BENCH_ENTITIES", 100_000);
    let started = Instant::now();
    let server = PgServer::start(TlsSetup::FullChain);
    println!(
        "server: private PostgreSQL on port {} with TLS (started in {:.1} s)",
        server.port,
        started.elapsed().as_secs_f64()
    );
    let mut p = Profile::new("bench", "localhost", server.superuser.clone());
    p.port = server.port;
    p.prefix = format!("bsibench{}_", std::process::id());
    p.mode = DivisionMode::Database;
    p.tls.sslmode = SslMode::Require;
    // Generation and ANALYZE of a large catalog outlast the default statement timeout.
    p.pool.statement_timeout_secs = 3600;
    let password = Some(Secret::new(server.password.clone()));
    let write = connections(&p, password.clone(), true);

    fill(&write, n).await;
    Setup {
        read: connections(&p, password, false),
        write,
        _server: Some(server),
    }
}

/// Applies our migrations (creating the databases) and generates `n` entities' worth of data.
async fn fill(write: &Arc<Connections>, n: usize) {
    let opts = FillOptions::all(GenerateOptions::size(n));
    let progress = |step: FillProgress<'_>| {
        if let FillProgress::Generating = step {
            println!("generating {n} entities ...");
        }
    };
    let filled = demo::fill(write, &opts, &progress).await.unwrap();
    let report = filled.generated.expect("generated data");
    println!(
        "generated in {:.1} s: {} entities ({} final), {} relation rows, {} search rows, {} tasks, \
         {} task events",
        report.elapsed_ms as f64 / 1000.0,
        report.entities,
        report.final_entities,
        report.relations,
        report.search_rows,
        report.tasks,
        report.task_events
    );
}

/// `VACUUM (ANALYZE)` on every plugin database: the state autovacuum keeps a running Backstage
/// in (statistics, and a visibility map that lets index-only scans skip the heap).
async fn analyze(write: &Connections) {
    if env("BSI_BENCH_ANALYZE").is_some_and(|v| v == "0") {
        return;
    }
    let started = Instant::now();
    for area in AREAS {
        let ep = write.plugin_endpoint(area);
        match write.pool(&ep).await {
            Ok(pool) => {
                if let Err(e) = sqlx::raw_sql("VACUUM (ANALYZE)").execute(&pool).await {
                    eprintln!("VACUUM (ANALYZE) in {}: {e}", ep.database);
                }
            }
            Err(e) => eprintln!("no {area} database to analyze: {e}"),
        }
    }
    println!(
        "VACUUM (ANALYZE) done in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// Whether the operation `name` is to be timed (`BSI_BENCH_ONLY`, a comma-separated list of
/// `page`, `ref`, `facets`, `text`, `graph`, `tasks`; unset: all).
fn only(name: &str) -> bool {
    env("BSI_BENCH_ONLY").is_none_or(|v| v.split(',').any(|x| x.trim() == name))
}

/// Median and 90th percentile of one side, in milliseconds, and the rows of its last run.
struct Stats {
    median: f64,
    p90: f64,
    rows: usize,
}

fn stats(mut ms: Vec<f64>, rows: usize) -> Stats {
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms[((ms.len() as f64 - 1.0) * q).round() as usize];
    Stats {
        median: at(0.5),
        p90: at(0.9),
        rows,
    }
}

/// Runs both sides `WARMUP` times, then `runs` times each, alternating which goes first so
/// that neither profits from the other's caching more than it pays for it.
async fn measure<C, CF, D, DF>(runs: usize, mut core: C, mut direct: D) -> (Stats, Stats)
where
    C: FnMut() -> CF,
    CF: Future<Output = usize>,
    D: FnMut() -> DF,
    DF: Future<Output = usize>,
{
    for _ in 0..WARMUP {
        core().await;
        direct().await;
    }
    let (mut c_ms, mut d_ms) = (Vec::with_capacity(runs), Vec::with_capacity(runs));
    let (mut c_rows, mut d_rows) = (0, 0);
    for i in 0..runs {
        for side in [i % 2, 1 - i % 2] {
            let t = Instant::now();
            if side == 0 {
                c_rows = core().await;
                c_ms.push(t.elapsed().as_secs_f64() * 1e3);
            } else {
                d_rows = direct().await;
                d_ms.push(t.elapsed().as_secs_f64() * 1e3);
            }
        }
    }
    (stats(c_ms, c_rows), stats(d_ms, d_rows))
}

struct Line {
    op: &'static str,
    /// The operation's name in `BSI_BENCH_ONLY` and in the `BSI_BENCH_TSV` rows.
    key: &'static str,
    core: Stats,
    direct: Stats,
    target: f64,
}

async fn direct_rows(
    pool: &PgPool,
    q: sqlx::query::Query<'static, sqlx::Postgres, sqlx::postgres::PgArguments>,
) -> usize {
    q.fetch_all(pool).await.expect("direct query").len()
}

/// A LIKE pattern for `word` as both sides build it (lowercased, wildcards escaped).
fn contains(word: &str) -> String {
    let mut p = String::from("%");
    for c in word.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// The core's free-text statement before the name branch: a semi-join on the three keys of
/// `search`, in ref order.
async fn previous_text(pool: &PgPool, word: &str) -> usize {
    sqlx::query(
        "SELECT f.entity_ref::text AS entity_ref, f.final_entity, \
         to_char(f.last_updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS updated \
         FROM final_entities f WHERE f.final_entity IS NOT NULL AND f.entity_id IN \
         (SELECT s.entity_id FROM search s WHERE s.key IN ('metadata.name', 'metadata.title', \
         'metadata.description') AND s.value LIKE $1) ORDER BY f.entity_ref ASC LIMIT 101",
    )
    .bind(contains(word))
    .persistent(false)
    .fetch_all(pool)
    .await
    .expect("previous free text")
    .len()
}

/// Backstage's `queryEntities` with `fullTextFilterTerm` and `fullTextFilterFields` =
/// metadata.name, metadata.title, metadata.description and no sort field, as catalog-backend
/// builds it (`DefaultEntitiesCatalog.ts`): a page of `final_entities` whose id is in the
/// matching `search` rows, in entity id order, and the total count of the same filter, the two
/// statements sent at the same time as its `Promise.all` does.
async fn backstage_text(pool: &PgPool, word: &str) -> usize {
    const MATCH: &str = "SELECT search.entity_id FROM search WHERE search.key IN \
        ('metadata.name', 'metadata.title', 'metadata.description') AND search.value like $1";
    let page = format!(
        "WITH filtered (entity_id, final_entity) AS (SELECT final_entities.entity_id, \
         final_entities.final_entity FROM final_entities WHERE final_entity IS NOT NULL AND \
         final_entities.entity_id IN ({MATCH})) SELECT * FROM filtered \
         ORDER BY filtered.entity_id asc LIMIT 101"
    );
    let count = format!(
        "SELECT count(*) AS count FROM final_entities WHERE final_entity IS NOT NULL AND \
         final_entities.entity_id IN ({MATCH})"
    );
    let pattern = format!("%{}%", word.to_lowercase());
    let (rows, _n) = tokio::join!(
        sqlx::query(sqlx::AssertSqlSafe(page))
            .bind(pattern.clone())
            .persistent(false)
            .fetch_all(pool),
        sqlx::query(sqlx::AssertSqlSafe(count))
            .bind(pattern)
            .persistent(false)
            .fetch_one(pool),
    );
    rows.expect("Backstage's page").len()
}

/// The depth-2 BFS as the core runs it: one transaction without parallel workers, one level
/// query per level over the frontier, the far ends capped at [`MAX_NODES`], then the node
/// info query over every node.
async fn direct_graph(pool: &PgPool, level_sql: &str, info_sql: &str, root: &str) -> usize {
    let mut tx = pool.begin().await.expect("begin");
    if std::env::var_os("BSI_GRAPH_PARALLEL").is_none() {
        sqlx::query("SET LOCAL max_parallel_workers_per_gather = 0")
            .execute(&mut *tx)
            .await
            .expect("set");
    }
    let mut seen: HashSet<String> = HashSet::from([root.to_string()]);
    let mut order = vec![root.to_string()];
    let mut frontier = vec![root.to_string()];
    for _ in 0..2 {
        if frontier.is_empty() {
            break;
        }
        let rows: Vec<(String, String, String)> =
            sqlx::query_as(sqlx::AssertSqlSafe(level_sql.to_string()))
                .bind(&frontier)
                .fetch_all(&mut *tx)
                .await
                .expect("level query");
        let near: HashSet<&str> = frontier.iter().map(String::as_str).collect();
        let mut far: BTreeSet<String> = BTreeSet::new();
        for (s, _, t) in rows {
            if near.contains(s.as_str()) {
                far.insert(t.clone());
            }
            if near.contains(t.as_str()) {
                far.insert(s);
            }
        }
        let mut next = Vec::new();
        for f in far {
            if order.len() >= MAX_NODES {
                break;
            }
            if seen.insert(f.clone()) {
                order.push(f.clone());
                next.push(f);
            }
        }
        frontier = next;
    }
    let info = sqlx::query(sqlx::AssertSqlSafe(info_sql.to_string()))
        .bind(&order)
        .fetch_all(&mut *tx)
        .await
        .expect("node info query");
    tx.commit().await.expect("commit");
    info.len()
}

#[tokio::main]
async fn main() {
    let s = setup().await;
    analyze(&s.write).await;
    let runs = env_num("BSI_BENCH_RUNS", 25).max(1);
    let text = env("BSI_BENCH_TEXT").unwrap_or_else(|| "billing".into());

    // Everything timed goes through read-only sessions.
    let conns = &s.read;
    let catalog = Catalog::open(conns).await.expect("open the catalog");
    let graph = RelationGraph::open(conns)
        .await
        .expect("open the relation graph");
    let scaffolder = Scaffolder::open(conns).await.expect("open the scaffolder");
    let cat_pool = catalog.pool().clone();
    let sc_pool = conns
        .pool(&conns.plugin_endpoint("scaffolder"))
        .await
        .expect("scaffolder pool");
    let rel_count: i64 = sqlx::query_scalar("SELECT count(*) FROM relations")
        .fetch_one(&cat_pool)
        .await
        .expect("count relations");
    let ent_count: i64 = sqlx::query_scalar("SELECT count(*) FROM final_entities")
        .fetch_one(&cat_pool)
        .await
        .expect("count entities");
    println!(
        "data: {ent_count} final entities, {rel_count} relation rows; {runs} runs per side after {WARMUP} warm-ups\n"
    );

    let mut lines = Vec::new();

    // 1. An entity page: the first 100, by ref.
    let page_q = EntityQuery {
        sort: EntitySort::Ref,
        limit: Some(100),
        ..Default::default()
    };
    let page_sql = catalog.entities_sql(&page_q).unwrap();
    if only("page") {
        let (core, direct) = measure(
            runs,
            || async {
                catalog
                    .entities(&page_q)
                    .await
                    .expect("entity page")
                    .items
                    .len()
            },
            || direct_rows(&cat_pool, page_sql.query()),
        )
        .await;
        lines.push(Line {
            op: "entity page (100, by ref)",
            key: "page",
            core,
            direct,
            target: 10.0,
        });
    }

    // 2. An entity by ref: one from the middle of the first page.
    let first = catalog.entities(&page_q).await.unwrap();
    let one = first.items[first.items.len() / 2].entity_ref.clone();
    let one_sql = catalog
        .entity_sql(&EntityRef::parse(&one).unwrap())
        .unwrap();
    if only("ref") {
        let (core, direct) = measure(
            runs,
            || async { usize::from(catalog.entity(&one).await.expect("entity by ref").in_final) },
            || direct_rows(&cat_pool, one_sql.query()),
        )
        .await;
        lines.push(Line {
            op: "entity by ref",
            key: "ref",
            core,
            direct,
            target: 2.0,
        });
    }

    // 3. Kind facets over the whole catalog.
    let none = EntityFilter::default();
    let kinds = [FacetField::Kind];
    let facets_sql = catalog.facets_sql(&none, &kinds).unwrap();
    if only("facets") {
        let (core, direct) = measure(
            runs,
            || async {
                let f = catalog.facets(&none, &kinds).await.expect("facets");
                f.facets.iter().map(|x| x.values.len()).sum()
            },
            || direct_rows(&cat_pool, facets_sql.query()),
        )
        .await;
        lines.push(Line {
            op: "kind facets",
            key: "facets",
            core,
            direct,
            target: 20.0,
        });
    }

    // 4. A free-text filter, first page.
    let text_q = EntityQuery {
        filter: EntityFilter {
            text: Some(text.clone()),
            ..Default::default()
        },
        limit: Some(100),
        ..Default::default()
    };
    let text_sql = catalog.entities_sql(&text_q).unwrap();
    if only("text") {
        let (core, direct) = measure(
            runs,
            || async {
                catalog
                    .entities(&text_q)
                    .await
                    .expect("free text")
                    .items
                    .len()
            },
            || direct_rows(&cat_pool, text_sql.query()),
        )
        .await;
        lines.push(Line {
            op: "free text (first page)",
            key: "text",
            core,
            direct,
            target: 50.0,
        });
    }

    // 5. A depth-2 graph around the most connected group (found once, not timed).
    let t = Instant::now();
    let root = graph
        .most_connected(Some("group"))
        .await
        .expect("most connected")
        .expect("a group with relations");
    println!(
        "most connected group: {} ({} relation rows; found in {:.0} ms, not timed below)",
        root.entity_ref,
        root.relations,
        t.elapsed().as_secs_f64() * 1e3
    );
    let g_opts = GraphOptions {
        roots: vec![root.entity_ref.clone()],
        depth: 2,
        direction: Direction::Both,
        max_nodes: MAX_NODES,
        ..Default::default()
    };
    let level_sql = graph.level_sql(Direction::Both, false, false);
    let info_sql = graph.node_info_sql();
    if only("graph") {
        let (core, direct) = measure(
            runs,
            || async {
                graph
                    .neighbourhood(&g_opts)
                    .await
                    .expect("graph")
                    .nodes
                    .len()
            },
            || direct_graph(&cat_pool, &level_sql, &info_sql, &root.entity_ref),
        )
        .await;
        lines.push(Line {
            op: "depth-2 graph (most connected group)",
            key: "graph",
            core,
            direct,
            target: 50.0,
        });
    }

    // 6. A task page: the newest 100.
    let task_f = TaskFilter {
        limit: Some(100),
        ..Default::default()
    };
    let task_sql = scaffolder.task_page_sql(&task_f).unwrap();
    if only("tasks") {
        let (core, direct) = measure(
            runs,
            || async {
                scaffolder
                    .tasks(&task_f)
                    .await
                    .expect("task page")
                    .items
                    .len()
            },
            || direct_rows(&sc_pool, task_sql.query()),
        )
        .await;
        lines.push(Line {
            op: "task page (newest first)",
            key: "tasks",
            core,
            direct,
            target: 50.0,
        });
    }

    print_table(&lines);

    // Free text against Backstage's own catalog API query (the same question: entities whose
    // name, title or description contains the word, a first page), and against the core's
    // previous statement, in one run per word.
    if only("text") {
        let rare = env("BSI_BENCH_TEXT_RARE").unwrap_or_else(|| "zqx".into());
        println!(
            "\n| free text, first page | core median ms | core p90 ms | previous statement median ms | Backstage's query median ms | Backstage's p90 ms | core / Backstage | rows core/previous/Backstage |\n|---|---:|---:|---:|---:|---:|---:|---|"
        );
        for word in [text.clone(), rare] {
            let q = EntityQuery {
                filter: EntityFilter {
                    text: Some(word.clone()),
                    ..Default::default()
                },
                limit: Some(100),
                ..Default::default()
            };
            if env("BSI_BENCH_EXPLAIN").as_deref() == Some("1") {
                let sql = catalog
                    .entities_sql(&q)
                    .unwrap()
                    .wrapped(|t| format!("EXPLAIN (ANALYZE, BUFFERS) {t}"));
                let plan: Vec<String> = sql
                    .query()
                    .fetch_all(&cat_pool)
                    .await
                    .expect("explain")
                    .iter()
                    .map(|r| sqlx::Row::get::<String, _>(r, 0))
                    .collect();
                println!(
                    "\nplan of the core's free text `{word}`:\n{}\n",
                    plan.join("\n")
                );
            }
            let (core, previous) = measure(
                runs,
                || async { catalog.entities(&q).await.expect("free text").items.len() },
                || previous_text(&cat_pool, &word),
            )
            .await;
            let (backstage, _) = measure(
                runs,
                || backstage_text(&cat_pool, &word),
                || backstage_text(&cat_pool, &word),
            )
            .await;
            println!(
                "| `{word}` | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {}/{}/{} |",
                core.median,
                core.p90,
                previous.median,
                backstage.median,
                backstage.p90,
                core.median / backstage.median,
                core.rows,
                previous.rows,
                backstage.rows
            );
        }
    }

    // Floors: the cheapest statement that must read every row the operation has to consider,
    // returning one number. No query that answers the operation exactly can be faster on
    // Backstage's schema (it has no narrower index for them).
    println!("\n| floor (cheapest exact statement) | median ms | p90 ms |\n|---|---:|---:|");
    let floors: [(&str, &str, &PgPool, &str); 2] = [
        (
            "facets",
            "kind facets: count every `kind` row of search (index-only)",
            &cat_pool,
            "SELECT count(*) FROM search WHERE key = 'kind' AND original_value IS NOT NULL",
        ),
        (
            "tasks",
            "task page: read every tasks.created_at (no index has it)",
            &sc_pool,
            "SELECT max(created_at) FROM tasks",
        ),
    ];
    let mut floor_ms: Vec<(&str, f64)> = Vec::new();
    for (name, label, pool, sql) in floors {
        if !only(name) {
            continue;
        }
        let (a, _) = measure(
            runs,
            || direct_rows(pool, sqlx::query(sql)),
            || direct_rows(pool, sqlx::query(sql)),
        )
        .await;
        println!("| {label} | {:.2} | {:.2} |", a.median, a.p90);
        floor_ms.push((name, a.median));
    }
    if let Some(path) = env("BSI_BENCH_TSV") {
        write_tsv(&path, ent_count, &lines, &floor_ms);
    }
}

/// Appends one row per operation to the TSV file at `path` (a header first when it is new):
/// final entities, operation, core median and p90, direct median, and the floor statement's
/// median where the operation has one (else empty). `scripts/bench-scale` collects these.
fn write_tsv(path: &str, entities: i64, lines: &[Line], floors: &[(&str, f64)]) {
    use std::io::Write as _;
    let new = !std::path::Path::new(path).exists();
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("open BSI_BENCH_TSV");
    if new {
        writeln!(
            f,
            "entities\top\tcore_median_ms\tcore_p90_ms\tdirect_median_ms\tfloor_median_ms"
        )
        .expect("write BSI_BENCH_TSV");
    }
    for l in lines {
        let floor = floors
            .iter()
            .find(|(k, _)| *k == l.key)
            .map(|(_, ms)| format!("{ms:.3}"))
            .unwrap_or_default();
        writeln!(
            f,
            "{entities}\t{}\t{:.3}\t{:.3}\t{:.3}\t{floor}",
            l.key, l.core.median, l.core.p90, l.direct.median
        )
        .expect("write BSI_BENCH_TSV");
    }
}

fn print_table(lines: &[Line]) {
    println!(
        "| operation | core median ms | core p90 ms | direct median ms | direct p90 ms | ratio core/direct | target ms | meets target | ratio <= 2 | rows core/direct |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---|---|---|");
    let mut all = true;
    for l in lines {
        let ratio = l.core.median / l.direct.median;
        let meets = l.core.median < l.target;
        let ratio_ok = ratio <= 2.0;
        all &= meets && ratio_ok;
        println!(
            "| {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | < {} | {} | {} | {}/{} |",
            l.op,
            l.core.median,
            l.core.p90,
            l.direct.median,
            l.direct.p90,
            ratio,
            l.target,
            if meets { "yes" } else { "NO" },
            if ratio_ok { "yes" } else { "NO" },
            l.core.rows,
            l.direct.rows
        );
    }
    println!(
        "\n{}",
        if all {
            "every target met"
        } else {
            "some targets NOT met (see above)"
        }
    );
}

//! The demo data generator against a real server: our migrations on fresh databases, then
//! generated data that satisfies every constraint, is shaped like Backstage's, and is the same
//! for the same seed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Instant;

use bsi_core::connect::{Connections, PgPool};
use bsi_core::demo::generate::{GenerateOptions, GenerateReport, Targets};
use bsi_core::demo::{FillOptions, FillProgress, fill};
use bsi_core::profile::{DivisionMode, Profile};
use bsi_core::secrets::Secret;
use bsi_core::tls::SslMode;
use bsi_testkit::shared;

struct Demo {
    conns: Arc<Connections>,
    t: Targets,
}

/// Write-mode connections on databases `<prefix><area>` that do not exist yet.
fn fresh(tag: &str) -> Arc<Connections> {
    static N: AtomicU32 = AtomicU32::new(0);
    let s = shared();
    let mut p = Profile::new("gen", "localhost", "postgres");
    p.port = s.port;
    p.prefix = format!(
        "bsigen{}{}{}_",
        tag,
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    );
    p.mode = DivisionMode::Database;
    p.tls.sslmode = SslMode::Require;
    p.write_mode = true;
    Connections::new(p, Some(Secret::new(s.password.clone())))
}

/// Our migrations on fresh databases, filled by the generator: the pools and its report.
async fn run(conns: Arc<Connections>, opts: &GenerateOptions) -> (Demo, GenerateReport) {
    run_with(conns, opts, &|_| {}).await
}

async fn run_with(
    conns: Arc<Connections>,
    opts: &GenerateOptions,
    progress: &(dyn Fn(FillProgress<'_>) + Send + Sync),
) -> (Demo, GenerateReport) {
    let filled = fill(&conns, &FillOptions::all(opts.clone()), progress)
        .await
        .unwrap();
    let t = filled.targets;
    (Demo { conns, t }, filled.generated.unwrap())
}

async fn num(pool: &PgPool, sql: &'static str) -> i64 {
    sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

async fn text(pool: &PgPool, sql: &'static str) -> String {
    sqlx::query_scalar::<_, Option<String>>(sql)
        .fetch_one(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .unwrap_or_default()
}

const PAIRS: &str = "(VALUES ('ownedBy','ownerOf'), ('dependsOn','dependencyOf'), ('partOf','hasPart'), \
    ('providesApi','apiProvidedBy'), ('consumesApi','apiConsumedBy'), ('memberOf','hasMember'), \
    ('childOf','parentOf')) AS p(a, b)";

fn opts(seed: u64, entities: usize) -> GenerateOptions {
    GenerateOptions {
        seed,
        ..GenerateOptions::size(entities)
    }
}

#[tokio::test]
async fn catalog_is_consistent_and_counts_match() {
    let o = opts(7, 400);
    let (d, r) = run(fresh("c"), &o).await;
    let c = &d.t.catalog;

    assert_eq!(r.entities, o.entities);
    assert_eq!(
        num(c, "SELECT count(*) FROM refresh_state").await as usize,
        r.entities
    );
    assert_eq!(
        num(c, "SELECT count(*) FROM final_entities").await as usize,
        r.final_entities
    );
    assert_eq!(
        num(c, "SELECT count(*) FROM relations").await as usize,
        r.relations
    );
    assert_eq!(
        num(c, "SELECT count(*) FROM search").await as usize,
        r.search_rows
    );
    assert_eq!(
        num(c, "SELECT count(*) FROM locations").await as usize,
        r.locations
    );
    assert_eq!(r.final_entities + r.errored_entities, r.entities);
    assert!(r.relations > 2 * r.entities, "{r:?}");

    // Every relation has its reverse, and only the known types are used.
    let sql = format!(
        "SELECT count(*) FROM relations r WHERE NOT EXISTS (SELECT 1 FROM relations x, {PAIRS} \
         WHERE x.originating_entity_id = r.originating_entity_id AND x.source_entity_ref = r.target_entity_ref \
           AND x.target_entity_ref = r.source_entity_ref \
           AND ((p.a = r.type AND p.b = x.type) OR (p.b = r.type AND p.a = x.type)))"
    );
    let unpaired: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .fetch_one(c)
        .await
        .unwrap();
    assert_eq!(unpaired, 0);
    assert_eq!(
        num(c, "SELECT count(DISTINCT type) FROM relations").await,
        14
    );

    // Final entities, errors, orphans, broken references.
    assert_eq!(
        num(
            c,
            "SELECT count(*) FROM final_entities f LEFT JOIN refresh_state r USING (entity_id) \
                WHERE r.entity_id IS NULL OR r.entity_ref <> f.entity_ref"
        )
        .await,
        0
    );
    let errored = num(
        c,
        "SELECT count(*) FROM refresh_state WHERE errors NOT IN ('[]', '')",
    )
    .await;
    assert!(errored > 0);
    assert_eq!(errored as usize, r.errored_entities);
    assert_eq!(
        num(
            c,
            "SELECT count(*) FROM refresh_state r JOIN final_entities f USING (entity_id) \
                WHERE r.errors NOT IN ('[]', '')"
        )
        .await,
        0
    );
    assert_eq!(
        num(
            c,
            "SELECT count(*) FROM refresh_state WHERE errors NOT IN ('[]', '') \
                AND (errors::json->0->>'name' <> 'InputError' OR processed_entity IS NOT NULL)"
        )
        .await,
        0
    );
    assert_eq!(
        num(c, "SELECT count(*) FROM relations r JOIN refresh_state s ON s.entity_id = r.originating_entity_id \
                WHERE s.errors <> '[]'").await,
        0
    );
    let orphans = num(
        c,
        "SELECT count(*) FROM final_entities \
        WHERE final_entity::json->'metadata'->'annotations'->>'backstage.io/orphan' = 'true'",
    )
    .await;
    assert!(orphans > 0);
    assert_eq!(orphans as usize, r.orphans);
    assert_eq!(
        num(c, "SELECT count(*) FROM final_entities f WHERE (final_entity::json->'metadata'->'annotations'->>'backstage.io/orphan' = 'true') \
                = EXISTS (SELECT 1 FROM refresh_state_references x WHERE x.target_entity_ref = f.entity_ref)").await,
        0
    );
    assert!(
        num(
            c,
            "SELECT count(*) FROM relations r WHERE NOT EXISTS \
                (SELECT 1 FROM refresh_state s WHERE s.entity_ref = r.target_entity_ref)"
        )
        .await
            > 0
    );
    assert_eq!(
        num(
            c,
            "SELECT count(*) FROM final_entities WHERE generation IS NULL"
        )
        .await,
        0
    );
    // Stitched relations are the relation rows whose source is the entity.
    assert_eq!(
        num(c, "SELECT count(*) FROM final_entities f WHERE json_array_length(final_entity::json->'relations') <> \
                (SELECT count(DISTINCT (type, target_entity_ref)) FROM relations r WHERE r.source_entity_ref = f.entity_ref)").await,
        0
    );
    for kind in [
        "user",
        "group",
        "component",
        "api",
        "resource",
        "system",
        "domain",
        "template",
        "location",
    ] {
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM final_entities WHERE entity_ref LIKE $1 || ':%'",
        )
        .bind(kind)
        .fetch_one(c)
        .await
        .unwrap();
        assert!(n > 0, "no {kind}");
    }
    assert!(num(c, "SELECT count(*) FROM final_entities WHERE final_entity LIKE '%backstage.io/techdocs-ref%'").await > 0);
    assert!(num(c, "SELECT count(*) FROM final_entities WHERE final_entity LIKE '%backstage.io/source-template\":\"template:default/%'").await > 0);
    assert!(
        num(
            c,
            "SELECT count(*) FROM search WHERE key = 'metadata.tags' AND value = original_value"
        )
        .await
            > 0
    );
    d.conns.close().await;
}

#[tokio::test]
async fn scaffolder_tasks_in_every_status_with_one_secret() {
    let o = GenerateOptions {
        tasks: 300,
        ..opts(3, 200)
    };
    let (d, r) = run(fresh("t"), &o).await;
    let s = &d.t.scaffolder;
    assert_eq!(r.tasks, 300);
    assert_eq!(num(s, "SELECT count(*) FROM tasks").await as usize, r.tasks);
    assert_eq!(
        num(s, "SELECT count(*) FROM task_events").await as usize,
        r.task_events
    );
    assert!(r.task_events > 5 * r.tasks, "{r:?}");
    assert_eq!(
        num(s, "SELECT count(*) FROM tasks WHERE secrets IS NOT NULL").await,
        1
    );
    assert_eq!(num(s, "SELECT count(*) FROM tasks WHERE secrets IS NOT NULL AND status = 'open' \
        AND secrets::json->>'backstageToken' ~ '^[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$' \
        AND secrets::json->>'__initiatorCredentials' IS NOT NULL").await, 1);
    assert_eq!(
        text(
            s,
            "SELECT string_agg(DISTINCT status, ',' ORDER BY status) FROM tasks"
        )
        .await,
        "completed,failed,open,processing"
    );
    assert_eq!(
        text(
            s,
            "SELECT string_agg(DISTINCT event_type, ',' ORDER BY event_type) FROM task_events"
        )
        .await,
        "cancelled,completion,log"
    );
    // Cancelled tasks end failed; failed ones carry an error; open ones have no events nor heartbeat.
    assert_eq!(
        num(
            s,
            "SELECT count(*) FROM task_events e JOIN tasks t ON t.id = e.task_id \
        WHERE e.event_type = 'cancelled' AND t.status <> 'failed'"
        )
        .await,
        0
    );
    assert_eq!(num(s, "SELECT count(*) FROM tasks t WHERE status = 'failed' AND NOT EXISTS (SELECT 1 FROM task_events e \
        WHERE e.task_id = t.id AND e.event_type = 'completion' AND e.body::json->'error'->>'message' IS NOT NULL)").await, 0);
    assert_eq!(num(s, "SELECT count(*) FROM tasks t WHERE status = 'open' \
        AND (last_heartbeat_at IS NOT NULL OR EXISTS (SELECT 1 FROM task_events e WHERE e.task_id = t.id))").await, 0);
    assert_eq!(num(s, "SELECT count(*) FROM tasks t WHERE status = 'completed' AND NOT EXISTS (SELECT 1 FROM task_events e \
        WHERE e.task_id = t.id AND e.event_type = 'completion')").await, 0);
    assert!(num(s, "SELECT count(*) FROM task_events WHERE body::json->>'message' LIKE E'\\u001b[32minfo\\u001b[39m: %'").await > 0);
    assert!(
        num(
            s,
            "SELECT count(*) FROM task_events WHERE body::json->>'message' LIKE '%***%'"
        )
        .await
            > 0
    );
    assert!(
        num(
            s,
            "SELECT count(*) FROM task_events WHERE body::json->>'status' = 'skipped'"
        )
        .await
            > 0
    );
    assert_eq!(num(s, "SELECT count(*) FROM tasks WHERE spec::json->'templateInfo'->>'entityRef' NOT LIKE 'template:default/%' \
        OR spec::json->'user'->>'ref' <> created_by").await, 0);
    assert_eq!(num(s, "SELECT count(*) FROM tasks WHERE created_at > '2026-11-01' OR last_heartbeat_at < created_at").await, 0);
    d.conns.close().await;
}

#[tokio::test]
async fn auth_search_notifications_and_events() {
    let (d, r) = run(fresh("a"), &opts(5, 300)).await;
    let (a, s, c) = (&d.t.auth, &d.t.search, &d.t.catalog);
    assert_eq!(
        num(a, "SELECT count(*) FROM signing_keys").await as usize,
        r.signing_keys
    );
    assert_eq!(
        num(a, "SELECT count(*) FROM user_info").await as usize,
        r.users
    );
    assert_eq!(
        num(a, "SELECT count(*) FROM sessions").await as usize,
        r.sessions
    );
    assert_eq!(
        num(a, "SELECT count(*) FROM offline_sessions").await as usize,
        r.offline_sessions
    );
    assert_eq!(
        num(s, "SELECT count(*) FROM documents").await as usize,
        r.documents
    );
    assert!(r.signing_keys > 0 && r.users > 0 && r.sessions > 0 && r.offline_sessions > 0);
    // Public keys only; user_info claims name the user; sessions partly expired.
    assert_eq!(
        num(
            a,
            "SELECT count(*) FROM signing_keys WHERE key::json->>'d' IS NOT NULL \
        OR key::json->>'kid' <> kid"
        )
        .await,
        0
    );
    assert_eq!(num(a, "SELECT count(*) FROM user_info WHERE user_info::json->'claims'->>'sub' <> user_entity_ref \
        OR user_info::json->'claims'->'ent'->>0 <> user_entity_ref").await, 0);
    assert!(
        num(
            a,
            "SELECT count(*) FROM sessions WHERE expired < '2026-11-01'"
        )
        .await
            > 0
    );
    assert!(
        num(
            a,
            "SELECT count(*) FROM sessions WHERE expired > '2026-11-01'"
        )
        .await
            > 0
    );
    assert_eq!(
        num(
            a,
            "SELECT count(*) FROM sessions WHERE sess::json->'passport'->'user' IS NULL \
        OR sess::json->'cookie'->>'expires' IS NULL"
        )
        .await,
        0
    );
    assert_eq!(
        num(
            a,
            "SELECT count(*) FROM (SELECT 1 FROM offline_sessions \
        GROUP BY user_entity_ref, oidc_client_id HAVING count(*) > 1) x"
        )
        .await,
        0
    );
    assert!(num(a, "SELECT count(*) FROM oidc_authorization_codes").await > 0);
    // Search: one software-catalog document per final entity, techdocs pages too.
    assert_eq!(
        num(
            s,
            "SELECT count(*) FROM documents WHERE type = 'software-catalog'"
        )
        .await as usize,
        r.final_entities
    );
    assert!(
        num(
            s,
            "SELECT count(*) FROM documents WHERE type = 'techdocs' AND document ? 'path'"
        )
        .await
            > 0
    );
    assert!(
        num(
            s,
            "SELECT count(*) FROM documents WHERE body @@ to_tsquery('english', 'team')"
        )
        .await
            > 0
    );
    let n = num(
        c,
        "SELECT count(*) FROM final_entities f WHERE final_entity LIKE '%techdocs-ref%'",
    )
    .await;
    assert!(n > 0);
    // Notifications and the event bus.
    let nt = d.t.notifications.as_ref().unwrap();
    let ev = d.t.events.as_ref().unwrap();
    assert!(num(nt, "SELECT count(*) FROM notification").await > 0);
    assert!(num(nt, "SELECT count(*) FROM broadcast_user_status").await > 0);
    assert!(num(nt, "SELECT count(*) FROM user_settings").await > 0);
    assert_eq!(
        num(ev, "SELECT count(*) FROM event_bus_events").await,
        num(
            nt,
            "SELECT (SELECT count(*) FROM notification) + (SELECT count(*) FROM broadcast)"
        )
        .await
    );
    assert_eq!(
        num(ev, "SELECT count(*) FROM event_bus_subscriptions").await,
        3
    );
    d.conns.close().await;
}

#[tokio::test]
async fn same_seed_same_data_other_seed_other_data() {
    let digest = |d: Demo| async move {
        let c = &d.t.catalog;
        let fe = text(
            c,
            "SELECT md5(string_agg(final_entity, '' ORDER BY entity_ref)) FROM final_entities",
        )
        .await;
        let rel = text(c, "SELECT md5(string_agg(source_entity_ref || type || target_entity_ref || originating_entity_id, ',' \
             ORDER BY source_entity_ref, type, target_entity_ref, originating_entity_id)) FROM relations").await;
        d.conns.close().await;
        (fe, rel)
    };
    let (same, other) = (opts(11, 250), opts(12, 250));
    let ((a, _), (b, _), (c, _)) = tokio::join!(
        run(fresh("s1"), &same),
        run(fresh("s2"), &same),
        run(fresh("s3"), &other)
    );
    let (a, b, c) = (digest(a).await, digest(b).await, digest(c).await);
    assert_eq!(a, b);
    assert_ne!(a.0, c.0);
    assert_ne!(a.1, c.1);
}

#[tokio::test]
#[ignore = "large: 100,000 entities; run in release"]
async fn large_100k() {
    let started = Instant::now();
    let progress = |step: FillProgress<'_>| {
        if let FillProgress::Phase { phase, done, total } = step
            && done == total
        {
            eprintln!(
                "{phase}: {total} ({:.1} s)",
                started.elapsed().as_secs_f64()
            );
        }
    };
    let (d, r) = run_with(fresh("big"), &GenerateOptions::size(100_000), &progress).await;
    println!("elapsed {:.1} s: {r:#?}", started.elapsed().as_secs_f64());
    assert_eq!(r.entities, 100_000);
    d.conns.close().await;
}

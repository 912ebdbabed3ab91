//! Relation graphs against a real server: generated demo data (once per test binary), read
//! through a read-only profile, compared with what direct SQL says.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

use bsi_core::ErrorCode;
use bsi_core::connect::{Connections, PgPool};
use bsi_core::demo::generate::GenerateOptions;
use bsi_core::graph::{
    self, BrokenRefsOptions, Direction, Graph, GraphEdge, GraphNode, GraphOptions, NodeStatus,
    PathOptions, RelationGraph,
};
use tokio::sync::OnceCell;

fn conns(prefix: &str, write: bool) -> Arc<Connections> {
    common::conns("graph", prefix, write)
}

async fn migrated(prefix: &str, areas: &[&str]) -> Arc<Connections> {
    common::migrated("graph", prefix, areas).await
}

/// The prefix of the generated data set, made once per test binary.
async fn data() -> &'static str {
    static DATA: OnceCell<String> = OnceCell::const_new();
    DATA.get_or_init(|| async {
        let prefix = format!("bsigraph{}_", std::process::id());
        let opts = GenerateOptions {
            seed: 21,
            tasks: 20,
            events_per_task: 3,
            ..GenerateOptions::size(600)
        };
        let areas = ["catalog", "scaffolder", "auth", "search"];
        let (c, _) = common::filled("graph", &prefix, &areas, &opts).await;
        c.close().await;
        prefix
    })
    .await
}

/// A read-only profile on the generated data, its relation graph and its catalog pool.
async fn ro() -> (Arc<Connections>, RelationGraph, PgPool) {
    let c = conns(data().await, false);
    let g = RelationGraph::open(&c).await.unwrap();
    let pool = c.pool(&c.plugin_endpoint("catalog")).await.unwrap();
    (c, g, pool)
}

async fn strings(pool: &PgPool, sql: &str, refs: &[String]) -> BTreeSet<String> {
    sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql))
        .bind(refs)
        .fetch_all(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .into_iter()
        .collect()
}

async fn edges(pool: &PgPool, sql: &str, refs: &[String]) -> BTreeSet<GraphEdge> {
    sqlx::query_as::<_, (String, String, String)>(sqlx::AssertSqlSafe(sql))
        .bind(refs)
        .fetch_all(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .into_iter()
        .map(|(source, relation, target)| GraphEdge {
            source,
            relation,
            target,
        })
        .collect()
}

async fn one(pool: &PgPool, sql: &str) -> String {
    sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql))
        .fetch_one(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

fn node_refs(g: &Graph) -> BTreeSet<String> {
    g.nodes.iter().map(|n| n.entity_ref.clone()).collect()
}

fn edge_set(g: &Graph) -> BTreeSet<GraphEdge> {
    g.edges.iter().cloned().collect()
}

fn v(s: &BTreeSet<String>) -> Vec<String> {
    s.iter().cloned().collect()
}

const OUT_NODES: &str = "SELECT target_entity_ref FROM relations WHERE source_entity_ref = ANY($1) \
                         UNION SELECT unnest($1::text[])";
const OUT_EDGES: &str = "SELECT DISTINCT source_entity_ref, type, target_entity_ref FROM relations \
                         WHERE source_entity_ref = ANY($1)";
const BOTH_NODES: &str = "SELECT target_entity_ref FROM relations WHERE source_entity_ref = ANY($1) \
                          UNION SELECT source_entity_ref FROM relations WHERE target_entity_ref = ANY($1) \
                          UNION SELECT unnest($1::text[])";
/// Rows touching $1, each folded with its reverse into the first type of its pair.
const BOTH_EDGES: &str = "WITH p(a, b) AS (VALUES ('ownedBy','ownerOf'), ('dependsOn','dependencyOf'), \
        ('partOf','hasPart'), ('providesApi','apiProvidedBy'), ('consumesApi','apiConsumedBy'), \
        ('memberOf','hasMember'), ('childOf','parentOf')), \
    r AS (SELECT source_entity_ref s, type t, target_entity_ref g FROM relations \
          WHERE source_entity_ref = ANY($1) OR target_entity_ref = ANY($1)) \
    SELECT DISTINCT CASE WHEN p.a IS NULL THEN r.s ELSE r.g END, coalesce(p.a, r.t), \
                    CASE WHEN p.a IS NULL THEN r.g ELSE r.s END \
    FROM r LEFT JOIN p ON p.b = r.t";

async fn most_connected_group(g: &RelationGraph) -> String {
    g.most_connected(Some("group"))
        .await
        .unwrap()
        .unwrap()
        .entity_ref
}

fn opts(root: &str, depth: usize, direction: Direction) -> GraphOptions {
    GraphOptions {
        roots: vec![root.to_string()],
        depth,
        direction,
        max_nodes: 100_000,
        ..Default::default()
    }
}

#[tokio::test]
async fn depth_one_and_two_equal_direct_sql() {
    let (c, g, pool) = ro().await;
    let root = most_connected_group(&g).await;
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM relations WHERE source_entity_ref = $1")
        .bind(&root)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(
        g.most_connected(Some("group"))
            .await
            .unwrap()
            .unwrap()
            .relations,
        n
    );
    let max: i64 = sqlx::query_scalar(
        "SELECT max(n) FROM (SELECT count(*) n FROM relations WHERE source_entity_ref LIKE 'group:%' \
         GROUP BY source_entity_ref) x",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(n, max);

    // Outgoing.
    let r0 = vec![root.clone()];
    let g1 = g
        .neighbourhood(&opts(&root, 1, Direction::Out))
        .await
        .unwrap();
    let s1 = strings(&pool, OUT_NODES, &r0).await;
    assert_eq!(node_refs(&g1), s1);
    assert_eq!(edge_set(&g1), edges(&pool, OUT_EDGES, &r0).await);
    assert!(g1.nodes.len() > 5, "{}", g1.nodes.len());
    assert!(g1.truncated.is_none());
    assert!(
        g1.nodes
            .iter()
            .all(|n| n.depth == usize::from(n.entity_ref != root))
    );
    assert!(g1.nodes.iter().all(|n| n.root == (n.entity_ref == root)));

    let g2 = g
        .neighbourhood(&opts(&root, 2, Direction::Out))
        .await
        .unwrap();
    assert_eq!(node_refs(&g2), strings(&pool, OUT_NODES, &v(&s1)).await);
    assert_eq!(edge_set(&g2), edges(&pool, OUT_EDGES, &v(&s1)).await);
    assert!(g2.nodes.len() > g1.nodes.len());
    for n in &g2.nodes {
        let d = if n.entity_ref == root {
            0
        } else if s1.contains(&n.entity_ref) {
            1
        } else {
            2
        };
        assert_eq!(n.depth, d, "{}", n.entity_ref);
    }

    // Both directions: the same facts once each, in canonical direction.
    let b1 = g
        .neighbourhood(&opts(&root, 1, Direction::Both))
        .await
        .unwrap();
    let sb1 = strings(&pool, BOTH_NODES, &r0).await;
    assert_eq!(node_refs(&b1), sb1);
    assert_eq!(edge_set(&b1), edges(&pool, BOTH_EDGES, &r0).await);
    let b2 = g
        .neighbourhood(&opts(&root, 2, Direction::Both))
        .await
        .unwrap();
    assert_eq!(node_refs(&b2), strings(&pool, BOTH_NODES, &v(&sb1)).await);
    assert_eq!(edge_set(&b2), edges(&pool, BOTH_EDGES, &v(&sb1)).await);
    let reverse = [
        "ownerOf",
        "dependencyOf",
        "hasPart",
        "apiProvidedBy",
        "apiConsumedBy",
        "hasMember",
        "parentOf",
    ];
    assert!(
        b2.edges
            .iter()
            .all(|e| !reverse.contains(&e.relation.as_str()))
    );
    // Stored both ways, so "both" is the outgoing rows folded: no edge is doubled.
    let folded: BTreeSet<GraphEdge> = g1
        .edges
        .iter()
        .map(|e| graph::canonical_edge(&e.source, &e.relation, &e.target))
        .collect();
    assert_eq!(edge_set(&b1), folded);
    assert_eq!(node_refs(&b1), node_refs(&g1));
    assert!(b2.notes.is_empty(), "{:?}", b2.notes);

    // Depth 0: the roots alone.
    let g0 = g
        .neighbourhood(&opts(&root, 0, Direction::Both))
        .await
        .unwrap();
    assert_eq!(g0.nodes.len(), 1);
    assert!(g0.edges.is_empty());
    c.close().await;
}

#[tokio::test]
async fn type_kind_and_direction_filters() {
    let (c, g, pool) = ro().await;
    let root = most_connected_group(&g).await;
    let r0 = vec![root.clone()];

    // Types, outgoing: exactly the rows of those types.
    let o = GraphOptions {
        types: vec!["hasmember".into(), "ownerOf".into()],
        ..opts(&root, 2, Direction::Out)
    };
    let t2 = g.neighbourhood(&o).await.unwrap();
    let typed_nodes = "SELECT target_entity_ref FROM relations WHERE source_entity_ref = ANY($1) \
                       AND type IN ('hasMember', 'ownerOf') UNION SELECT unnest($1::text[])";
    let typed_edges = "SELECT DISTINCT source_entity_ref, type, target_entity_ref FROM relations \
                       WHERE source_entity_ref = ANY($1) AND type IN ('hasMember', 'ownerOf')";
    let s1 = strings(&pool, typed_nodes, &r0).await;
    assert_eq!(node_refs(&t2), strings(&pool, typed_nodes, &v(&s1)).await);
    assert_eq!(edge_set(&t2), edges(&pool, typed_edges, &v(&s1)).await);
    assert!(t2.edges.iter().any(|e| e.relation == "hasMember"));
    assert!(t2.edges.iter().any(|e| e.relation == "ownerOf"));

    // A type in "both" also finds its reverse rows, shown canonically.
    let o = GraphOptions {
        types: vec!["ownedBy".into()],
        ..opts(&root, 1, Direction::Both)
    };
    let owned = g.neighbourhood(&o).await.unwrap();
    let owned_sql = strings(
        &pool,
        "SELECT target_entity_ref FROM relations WHERE source_entity_ref = ANY($1) AND type = 'ownerOf'",
        &r0,
    )
    .await;
    assert!(!owned_sql.is_empty());
    assert_eq!(owned.edges.len(), owned_sql.len());
    assert!(
        owned
            .edges
            .iter()
            .all(|e| e.relation == "ownedBy" && e.target == root)
    );

    // Kinds: only neighbours of those kinds, at every level.
    let o = GraphOptions {
        kinds: vec!["Component".into(), "user".into()],
        ..opts(&root, 2, Direction::Both)
    };
    let k2 = g.neighbourhood(&o).await.unwrap();
    let kind_nodes = "SELECT x FROM (SELECT target_entity_ref x FROM relations WHERE source_entity_ref = ANY($1) \
                      UNION SELECT source_entity_ref FROM relations WHERE target_entity_ref = ANY($1)) y \
                      WHERE split_part(x, ':', 1) IN ('component', 'user') UNION SELECT unnest($1::text[])";
    let s1 = strings(&pool, kind_nodes, &r0).await;
    assert_eq!(node_refs(&k2), strings(&pool, kind_nodes, &v(&s1)).await);
    assert!(k2.nodes.iter().any(|n| n.kind == "component"));
    assert!(k2.nodes.iter().any(|n| n.kind == "user"));
    assert!(
        k2.nodes
            .iter()
            .all(|n| n.root || n.kind == "component" || n.kind == "user")
    );

    // Incoming: rows whose target is the node.
    let comp = one(
        &pool,
        "SELECT target_entity_ref FROM relations WHERE source_entity_ref LIKE 'group:%' \
                          AND type = 'ownerOf' AND target_entity_ref LIKE 'component:%' \
                          ORDER BY target_entity_ref LIMIT 1",
    )
    .await;
    let i1 = g
        .neighbourhood(&opts(&comp, 1, Direction::In))
        .await
        .unwrap();
    let c0 = vec![comp.clone()];
    assert_eq!(
        edge_set(&i1),
        edges(
            &pool,
            "SELECT DISTINCT source_entity_ref, type, target_entity_ref FROM relations \
                      WHERE target_entity_ref = ANY($1)",
            &c0
        )
        .await
    );
    assert!(i1.edges.iter().all(|e| e.target == comp));
    assert!(i1.edges.iter().any(|e| e.relation == "ownerOf"));
    let out1 = g
        .neighbourhood(&opts(&comp, 1, Direction::Out))
        .await
        .unwrap();
    assert_eq!(
        node_refs(&i1),
        node_refs(&out1),
        "stored both ways: same neighbours"
    );
    assert!(out1.edges.iter().all(|e| e.source == comp));

    // Bad input is a clear configuration error.
    for bad in [
        GraphOptions {
            roots: vec!["nokind".into()],
            ..Default::default()
        },
        GraphOptions {
            roots: vec![],
            ..Default::default()
        },
        GraphOptions {
            depth: 99,
            ..opts(&root, 1, Direction::Both)
        },
        GraphOptions {
            max_nodes: 0,
            ..opts(&root, 1, Direction::Both)
        },
        GraphOptions {
            kinds: vec!["a:b".into()],
            ..opts(&root, 1, Direction::Both)
        },
    ] {
        let e = g.neighbourhood(&bad).await.unwrap_err();
        assert_eq!(e.code(), ErrorCode::Config, "{e}");
    }
    c.close().await;
}

#[tokio::test]
async fn the_node_cap_reports_where_it_cut() {
    let (c, g, pool) = ro().await;
    let root = most_connected_group(&g).await;
    let r0 = vec![root.clone()];
    let o = GraphOptions {
        max_nodes: 5,
        ..opts(&root, 1, Direction::Out)
    };
    let cut = g.neighbourhood(&o).await.unwrap();
    assert_eq!(cut.nodes.len(), 5);
    let t = cut.truncated.as_ref().expect("the cap cut the graph");
    assert_eq!(t.max_nodes, 5);
    let all_nodes = strings(&pool, OUT_NODES, &r0).await;
    let all_edges = edges(&pool, OUT_EDGES, &r0).await;
    assert_eq!(t.nodes.len(), 1);
    assert_eq!(t.nodes[0].entity_ref, root);
    assert_eq!(t.nodes[0].unexpanded, all_nodes.len() - 5);
    assert_eq!(t.dropped_edges + cut.edges.len(), all_edges.len());
    assert!(t.dropped_edges > 0);
    // Every kept edge joins kept nodes.
    let kept = node_refs(&cut);
    assert!(
        cut.edges
            .iter()
            .all(|e| kept.contains(&e.source) && kept.contains(&e.target))
    );

    // Cut at depth 2: the cut nodes are depth-1 nodes whose neighbours did not fit.
    let full = g
        .neighbourhood(&opts(&root, 2, Direction::Both))
        .await
        .unwrap();
    let o = GraphOptions {
        max_nodes: full.nodes.len() - 3,
        ..opts(&root, 2, Direction::Both)
    };
    let cut2 = g.neighbourhood(&o).await.unwrap();
    assert_eq!(cut2.nodes.len(), full.nodes.len() - 3);
    let t2 = cut2.truncated.unwrap();
    assert!(t2.nodes.iter().map(|n| n.unexpanded).sum::<usize>() >= 3);
    assert!(t2.dropped_edges >= 3);
    assert_eq!(cut2.edges.len() + t2.dropped_edges, full.edges.len());
    let depth1: HashSet<&str> = cut2
        .nodes
        .iter()
        .filter(|n| n.depth == 1)
        .map(|n| n.entity_ref.as_str())
        .collect();
    assert!(
        t2.nodes
            .iter()
            .all(|n| depth1.contains(n.entity_ref.as_str()))
    );
    c.close().await;
}

#[tokio::test]
async fn missing_and_errored_entities_are_marked() {
    let (c, g, pool) = ro().await;
    let (source, target) = sqlx::query_as::<_, (String, String)>(
        "SELECT source_entity_ref, target_entity_ref FROM relations r \
         WHERE NOT EXISTS (SELECT 1 FROM refresh_state s WHERE s.entity_ref = r.target_entity_ref) \
           AND EXISTS (SELECT 1 FROM final_entities f WHERE f.entity_ref = r.source_entity_ref) \
         ORDER BY 1, 2 LIMIT 1",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let gr = g
        .neighbourhood(&opts(&source, 1, Direction::Both))
        .await
        .unwrap();
    let find = |g: &Graph, r: &str| -> GraphNode {
        g.nodes.iter().find(|n| n.entity_ref == r).cloned().unwrap()
    };
    let m = find(&gr, &target);
    assert!(!m.exists);
    assert_eq!(m.status, NodeStatus::Missing);
    assert_eq!(m.depth, 1);
    let s = find(&gr, &source);
    assert!(s.exists && s.status == NodeStatus::Ok && s.root);
    // Titles come from the final entity.
    let titled: Option<(String, String)> = sqlx::query_as(
        "SELECT entity_ref, final_entity::json->'metadata'->>'title' FROM final_entities \
         WHERE final_entity::json->'metadata'->>'title' IS NOT NULL ORDER BY 1 LIMIT 1",
    )
    .fetch_optional(&pool)
    .await
    .unwrap();
    if let Some((r, title)) = titled {
        let t = g
            .neighbourhood(&opts(&r, 0, Direction::Both))
            .await
            .unwrap();
        assert_eq!(t.nodes[0].title.as_deref(), Some(title.as_str()));
    }

    // A missing root is a node too, with the relations others state towards it.
    let gm = g
        .neighbourhood(&opts(&target, 1, Direction::Both))
        .await
        .unwrap();
    let root = find(&gm, &target);
    assert!(!root.exists && root.root);
    assert!(gm.nodes.iter().any(|n| n.entity_ref == source));

    // An errored entity (only in refresh_state) that something points at.
    let errored: Option<(String, String)> = sqlx::query_as(
        "SELECT r.source_entity_ref, r.target_entity_ref FROM relations r \
         JOIN refresh_state s ON s.entity_ref = r.target_entity_ref \
         WHERE NOT EXISTS (SELECT 1 FROM final_entities f WHERE f.entity_id = s.entity_id) \
         ORDER BY 1, 2 LIMIT 1",
    )
    .fetch_optional(&pool)
    .await
    .unwrap();
    let lone: String = one(
        &pool,
        "SELECT entity_ref FROM refresh_state s WHERE NOT EXISTS \
        (SELECT 1 FROM final_entities f WHERE f.entity_id = s.entity_id) ORDER BY 1 LIMIT 1",
    )
    .await;
    let ge = g
        .neighbourhood(&opts(&lone, 0, Direction::Both))
        .await
        .unwrap();
    assert_eq!(ge.nodes[0].status, NodeStatus::Errored);
    assert!(!ge.nodes[0].exists);
    if let Some((s, t)) = errored {
        let ge = g.neighbourhood(&opts(&s, 1, Direction::Out)).await.unwrap();
        assert_eq!(find(&ge, &t).status, NodeStatus::Errored);
    }
    c.close().await;
}

#[tokio::test]
async fn broken_references_equal_an_anti_join() {
    let (c, g, pool) = ro().await;
    let expected: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT DISTINCT source_entity_ref, type, target_entity_ref FROM relations r \
         WHERE NOT EXISTS (SELECT 1 FROM final_entities f WHERE f.entity_ref = r.target_entity_ref)) x",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(expected > 0);
    let targets = strings(
        &pool,
        "SELECT DISTINCT target_entity_ref FROM relations r WHERE cardinality($1::text[]) = 0 AND NOT EXISTS \
         (SELECT 1 FROM final_entities f WHERE f.entity_ref = r.target_entity_ref)",
        &[],
    )
    .await;
    let errored = strings(
        &pool,
        "SELECT entity_ref FROM refresh_state s WHERE cardinality($1::text[]) = 0 AND NOT EXISTS \
         (SELECT 1 FROM final_entities f WHERE f.entity_id = s.entity_id)",
        &[],
    )
    .await;

    let mut cursor = None;
    let (mut total, mut pages) = (0i64, 0);
    let mut seen = Vec::new();
    loop {
        let o = BrokenRefsOptions {
            limit: Some(7),
            cursor: cursor.clone(),
            samples: 3,
        };
        let page = g.broken_refs(&o).await.unwrap();
        pages += 1;
        assert!(page.items.len() <= 7);
        for t in &page.items {
            total += t.count;
            assert_eq!(t.relations.len() as i64, t.count.min(3), "{}", t.target);
            assert!(t.relations.iter().all(|r| r.target == t.target));
            assert_eq!(
                t.status == NodeStatus::Errored,
                errored.contains(&t.target),
                "{}",
                t.target
            );
            assert_eq!(t.kind, t.target.split(':').next().unwrap());
            seen.push(t.target.clone());
        }
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    assert!(pages > 1);
    assert_eq!(total, expected);
    let sorted: Vec<String> = targets.iter().cloned().collect();
    assert_eq!(seen, sorted, "every missing target once, in order");

    // The one-call form and a bad cursor.
    let c2 = conns(data().await, false);
    let first = graph::broken_refs(&c2, &BrokenRefsOptions::default())
        .await
        .unwrap();
    assert_eq!(first.items.len(), targets.len().min(100));
    let bad = BrokenRefsOptions {
        cursor: Some("garbage".into()),
        ..Default::default()
    };
    assert_eq!(
        g.broken_refs(&bad).await.unwrap_err().code(),
        ErrorCode::Config
    );
    c2.close().await;
    c.close().await;
}

#[tokio::test]
async fn path_from_a_user_to_a_component_through_its_group() {
    let (c, g, pool) = ro().await;
    let (user, group, comp) = sqlx::query_as::<_, (String, String, String)>(
        "SELECT m.source_entity_ref, m.target_entity_ref, o.target_entity_ref \
         FROM relations m JOIN relations o ON o.source_entity_ref = m.target_entity_ref AND o.type = 'ownerOf' \
         WHERE m.type = 'memberOf' AND m.source_entity_ref LIKE 'user:%' \
           AND o.target_entity_ref LIKE 'component:%' \
           AND EXISTS (SELECT 1 FROM final_entities f WHERE f.entity_ref = o.target_entity_ref) \
           AND NOT EXISTS (SELECT 1 FROM relations d WHERE d.source_entity_ref = m.source_entity_ref \
                           AND d.target_entity_ref = o.target_entity_ref) \
         ORDER BY 1, 2, 3 LIMIT 1",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let p = g.path(&user, &comp, &PathOptions::default()).await.unwrap();
    assert!(p.found, "{}", p.message);
    assert_eq!(p.hops, Some(2));
    assert!(p.from_exists && p.to_exists);
    assert_eq!(p.steps.len(), 2);
    assert_eq!(p.steps[0].source, user);
    assert_eq!(p.steps[1].target, comp);
    assert_eq!(p.steps[0].target, p.steps[1].source);
    // Through one of the user's groups that owns the component (maybe not the one picked above).
    let via = &p.steps[0].target;
    assert!(via.starts_with("group:"), "{via} (expected e.g. {group})");
    assert_eq!(p.steps[0].relation, "memberOf");
    assert_eq!(p.steps[1].relation, "ownerOf");
    for s in &p.steps {
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM relations WHERE source_entity_ref = $1 AND type = $2 AND target_entity_ref = $3",
        )
        .bind(&s.source)
        .bind(&s.relation)
        .bind(&s.target)
        .fetch_one(&pool)
        .await
        .unwrap();
        assert!(n > 0, "{s:?} is a stored relation");
    }
    assert!(
        p.message.contains("-memberOf->") && p.message.contains("-ownerOf->"),
        "{}",
        p.message
    );

    // The other way round reads the stored reverse rows.
    let back = g.path(&comp, &user, &PathOptions::default()).await.unwrap();
    assert_eq!(back.hops, Some(2));
    assert_eq!(back.steps[0].relation, "ownedBy");
    assert_eq!(back.steps[1].relation, "hasMember");

    // Input spelled loosely, and the same entity.
    let upper = user.to_uppercase();
    let same = g
        .path(&upper, &user, &PathOptions::default())
        .await
        .unwrap();
    assert!(same.found && same.hops == Some(0));

    // One-call form.
    let c2 = conns(data().await, false);
    let p2 = graph::path(&c2, &user, &comp, &PathOptions::default())
        .await
        .unwrap();
    assert_eq!(p2.hops, Some(2));
    c2.close().await;
    c.close().await;
}

#[tokio::test]
async fn no_path_is_said_clearly() {
    let (c, g, pool) = ro().await;
    let (user, comp) = sqlx::query_as::<_, (String, String)>(
        "SELECT m.source_entity_ref, o.target_entity_ref \
         FROM relations m JOIN relations o ON o.source_entity_ref = m.target_entity_ref AND o.type = 'ownerOf' \
         WHERE m.type = 'memberOf' AND m.source_entity_ref LIKE 'user:%' AND o.target_entity_ref LIKE 'component:%' \
           AND NOT EXISTS (SELECT 1 FROM relations d WHERE d.source_entity_ref = m.source_entity_ref \
                           AND d.target_entity_ref = o.target_entity_ref) \
         ORDER BY 1, 2 LIMIT 1",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let o = PathOptions {
        max_depth: 1,
        ..Default::default()
    };
    let p = g.path(&user, &comp, &o).await.unwrap();
    assert!(!p.found && p.steps.is_empty() && p.hops.is_none());
    assert!(
        p.message.contains("no relation path") && p.message.contains("within 1 hop"),
        "{}",
        p.message
    );

    // Only dependsOn edges: a user depends on nothing.
    let o = PathOptions {
        types: vec!["dependsOn".into()],
        ..Default::default()
    };
    let p = g.path(&user, &comp, &o).await.unwrap();
    assert!(!p.found, "{}", p.message);
    assert!(p.message.contains("within 6 hops"), "{}", p.message);

    let p = g
        .path(
            &user,
            "component:default/no-such-thing-anywhere",
            &PathOptions::default(),
        )
        .await
        .unwrap();
    assert!(!p.found && !p.to_exists);
    assert!(
        p.message.contains("is not an entity of the catalog"),
        "{}",
        p.message
    );

    for bad in [0, 99] {
        let o = PathOptions {
            max_depth: bad,
            ..Default::default()
        };
        assert_eq!(
            g.path(&user, &comp, &o).await.unwrap_err().code(),
            ErrorCode::Config
        );
    }
    assert_eq!(
        g.path("user", &comp, &PathOptions::default())
            .await
            .unwrap_err()
            .code(),
        ErrorCode::Config
    );
    c.close().await;
}

type Pairs = Vec<(String, String)>;

/// Reads a double-quoted DOT string at the start of `s`: (its text, the rest).
fn dot_string(s: &str) -> (String, &str) {
    let s = s
        .strip_prefix('"')
        .unwrap_or_else(|| panic!("expected a quoted string: {s}"));
    let mut out = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => {
                let (_, n) = chars.next().expect("an escape ends the string");
                out.push('\\');
                out.push(n);
            }
            '"' => return (out, &s[i + 1..]),
            c => out.push(c),
        }
    }
    panic!("unterminated string: {s}");
}

/// Checks DOT text: every statement parses, every edge's endpoints are declared nodes.
/// Returns (declared nodes with their attribute text, edges).
fn check_dot(dot: &str) -> (Pairs, Pairs) {
    let mut lines = dot.lines();
    assert_eq!(lines.next(), Some("digraph relations {"));
    assert_eq!(dot.lines().last(), Some("}"));
    let (mut nodes, mut edges) = (Vec::new(), Vec::new());
    for line in lines {
        let l = line.trim();
        if l == "}"
            || l.starts_with("rankdir")
            || l.starts_with("node [")
            || l.starts_with("edge [")
        {
            continue;
        }
        let (a, rest) = dot_string(l);
        if let Some(rest) = rest.strip_prefix(" -> ") {
            let (b, rest) = dot_string(rest);
            let rest = rest.strip_prefix(" [label=").expect(line);
            let (_, rest) = dot_string(rest);
            assert_eq!(rest, "];", "{line}");
            edges.push((a, b));
        } else {
            let attrs = rest
                .strip_prefix(" [")
                .and_then(|r| r.strip_suffix("];"))
                .expect(line);
            let (_, after_label) = dot_string(attrs.strip_prefix("label=").expect(line));
            assert_eq!(after_label.matches('"').count() % 2, 0, "{line}");
            nodes.push((a, attrs.to_string()));
        }
    }
    let declared: HashSet<&String> = nodes.iter().map(|(n, _)| n).collect();
    for (a, b) in &edges {
        assert!(
            declared.contains(a) && declared.contains(b),
            "undeclared endpoint of {a} -> {b}"
        );
    }
    (nodes, edges)
}

/// Checks Mermaid text the same way. Returns (node id → label, edges, class lines).
fn check_mermaid(m: &str) -> (Pairs, Pairs, Vec<String>) {
    let mut lines = m.lines();
    assert_eq!(lines.next(), Some("flowchart LR"));
    let (mut nodes, mut edges, mut classes) = (Vec::new(), Vec::new(), Vec::new());
    for line in lines {
        let l = line.strip_prefix("  ").expect(line);
        if l.starts_with("classDef ") {
            continue;
        }
        if let Some(c) = l.strip_prefix("class ") {
            classes.push(c.to_string());
            continue;
        }
        let is_id = |s: &str| {
            s.starts_with('n') && s.len() > 1 && s[1..].chars().all(|c| c.is_ascii_digit())
        };
        if let Some((a, rest)) = l.split_once(" -->|\"") {
            let (label, b) = rest.split_once("\"| ").expect(line);
            assert!(is_id(a) && is_id(b), "{line}");
            assert!(!label.contains('"') && !label.contains('|'), "{line}");
            edges.push((a.to_string(), b.to_string()));
        } else {
            let (id, rest) = l.split_once("[\"").expect(line);
            let label = rest.strip_suffix("\"]").expect(line);
            assert!(is_id(id), "{line}");
            assert!(!label.contains('"'), "unescaped quote: {line}");
            nodes.push((id.to_string(), label.to_string()));
        }
    }
    let declared: HashSet<&String> = nodes.iter().map(|(n, _)| n).collect();
    for (a, b) in &edges {
        assert!(
            declared.contains(a) && declared.contains(b),
            "undeclared endpoint of {a} --> {b}"
        );
    }
    (nodes, edges, classes)
}

#[tokio::test]
async fn dot_and_mermaid_are_well_formed() {
    let (c, g, _pool) = ro().await;
    let root = most_connected_group(&g).await;
    let o = GraphOptions {
        max_nodes: 60,
        ..opts(&root, 2, Direction::Both)
    };
    let gr = g.neighbourhood(&o).await.unwrap();
    let (nodes, edges, _) = check_mermaid(&gr.to_mermaid());
    assert_eq!(nodes.len(), gr.nodes.len());
    assert_eq!(edges.len(), gr.edges.len());
    let (dn, de) = check_dot(&gr.to_dot());
    assert_eq!(dn.len(), gr.nodes.len());
    assert_eq!(de.len(), gr.edges.len());
    let json = serde_json::to_value(&gr).unwrap();
    assert_eq!(
        json["edges"][0]["type"].as_str(),
        Some(gr.edges[0].relation.as_str())
    );
    assert_eq!(json["direction"], "both");
    c.close().await;

    // Hostile refs and titles: quotes, backslashes, markup, newlines.
    let node = |r: &str, title: Option<&str>, status: NodeStatus| GraphNode {
        entity_ref: r.into(),
        kind: "component".into(),
        namespace: "default".into(),
        name: r.into(),
        title: title.map(str::to_string),
        depth: 0,
        exists: status == NodeStatus::Ok,
        status,
        root: false,
    };
    let a = "component:default/a\"b";
    let b = "group:default/x\\";
    let m = "user:default/<gone>|#1";
    let e = "api:default/end";
    let g = Graph {
        roots: vec![a.into()],
        depth: 1,
        direction: Direction::Both,
        nodes: vec![
            node(a, Some("Say \"hi\"\nthere"), NodeStatus::Ok),
            node(b, None, NodeStatus::Ok),
            node(m, None, NodeStatus::Missing),
            node(e, Some("a & b"), NodeStatus::Errored),
        ],
        edges: vec![
            GraphEdge {
                source: a.into(),
                relation: "ownedBy".into(),
                target: b.into(),
            },
            GraphEdge {
                source: b.into(),
                relation: "we\"ird|".into(),
                target: m.into(),
            },
            GraphEdge {
                source: a.into(),
                relation: "providesApi".into(),
                target: e.into(),
            },
            // An endpoint that is not among the nodes still gets declared.
            GraphEdge {
                source: e.into(),
                relation: "x".into(),
                target: "resource:default/undeclared".into(),
            },
        ],
        truncated: None,
        notes: vec![],
    };
    let dot = graph::to_dot(&g);
    let (dn, de) = check_dot(&dot);
    assert_eq!(dn.len(), 5);
    assert_eq!(de.len(), 4);
    assert!(dn.iter().any(|(n, _)| n == "component:default/a\\\"b"));
    assert!(dn.iter().any(|(n, _)| n == "group:default/x\\\\"));
    let missing = dn.iter().find(|(n, _)| n.contains("gone")).unwrap();
    assert!(
        missing.1.contains("dashed") && missing.1.contains("red"),
        "{}",
        missing.1
    );
    let errored = dn.iter().find(|(n, _)| n.contains("end")).unwrap();
    assert!(
        errored.1.contains("dashed") && !errored.1.contains("\"red\""),
        "{}",
        errored.1
    );
    assert!(dot.contains("Say \\\"hi\\\"\\nthere"), "{dot}");

    let mer = graph::to_mermaid(&g);
    let (mn, me, classes) = check_mermaid(&mer);
    assert_eq!(mn.len(), 5);
    assert_eq!(me.len(), 4);
    assert!(
        mer.contains("#quot;") && mer.contains("#lt;gone#gt;"),
        "{mer}"
    );
    let missing_id = &mn.iter().find(|(_, l)| l.contains("gone")).unwrap().0;
    assert!(
        classes
            .iter()
            .any(|c| c.ends_with(" missing;") && c.split([' ', ',']).any(|x| x == missing_id)),
        "{classes:?}"
    );
    assert!(mer.contains("classDef missing") && mer.contains("stroke-dasharray"));
}

#[tokio::test]
async fn without_relations_the_views_are_degraded() {
    let prefix = format!("bsigraphdeg{}_", std::process::id());
    let w = migrated(&prefix, &["catalog"]).await;
    let pool = w.pool(&w.plugin_endpoint("catalog")).await.unwrap();
    sqlx::raw_sql("DROP TABLE relations")
        .execute(&pool)
        .await
        .unwrap();
    w.close().await;

    let c = conns(&prefix, false);
    let e = RelationGraph::open(&c).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::SchemaDegraded);
    assert!(e.to_string().contains("relations"), "{e}");
    let o = GraphOptions {
        roots: vec!["group:default/a".into()],
        ..Default::default()
    };
    assert_eq!(
        graph::neighbourhood(&c, &o).await.unwrap_err().code(),
        ErrorCode::SchemaDegraded
    );
    assert_eq!(
        graph::broken_refs(&c, &BrokenRefsOptions::default())
            .await
            .unwrap_err()
            .code(),
        ErrorCode::SchemaDegraded
    );
    assert_eq!(
        graph::path(&c, "user:a", "group:b", &PathOptions::default())
            .await
            .unwrap_err()
            .code(),
        ErrorCode::SchemaDegraded
    );
    assert_eq!(
        graph::most_connected(&c, None).await.unwrap_err().code(),
        ErrorCode::SchemaDegraded
    );
    c.close().await;
}

/// An older catalog: no final_entities.entity_ref (before 2024-10) and no target index (before
/// 2026-05). Existence goes through refresh_state; incoming lookups still work, with a note.
#[tokio::test]
async fn an_older_catalog_still_answers() {
    let prefix = format!("bsigraphold{}_", std::process::id());
    let w = migrated(&prefix, &["catalog"]).await;
    let pool = w.pool(&w.plugin_endpoint("catalog")).await.unwrap();
    let long = "G".repeat(250);
    let sql = "INSERT INTO refresh_state (entity_id, entity_ref, unprocessed_entity, errors, next_update_at, last_discovery_at) VALUES \
           ('1', 'component:default/a', '{}', '[]', now(), now()), \
           ('2', 'group:default/g', '{}', '[]', now(), now()), \
           ('3', 'system:default/broken', '{}', '[{\"name\":\"InputError\"}]', now(), now()); \
         INSERT INTO final_entities (entity_id, hash, final_entity, entity_ref) VALUES \
           ('1', 'h1', '{\"metadata\":{\"title\":\"A\"}}', 'component:default/a'), \
           ('2', 'h2', '{\"metadata\":{\"title\":\"LONG\"}}', 'group:default/g'); \
         INSERT INTO search (entity_id, key, value, original_value) VALUES \
           ('1', 'metadata.title', 'a', 'A'), ('2', 'metadata.title', NULL, NULL); \
         INSERT INTO relations (originating_entity_id, source_entity_ref, type, target_entity_ref) VALUES \
           ('1', 'component:default/a', 'ownedBy', 'group:default/g'), \
           ('1', 'group:default/g', 'ownerOf', 'component:default/a'), \
           ('1', 'component:default/a', 'partOf', 'system:default/broken'), \
           ('1', 'system:default/broken', 'hasPart', 'component:default/a'), \
           ('1', 'component:default/a', 'dependsOn', 'resource:default/gone'), \
           ('1', 'resource:default/gone', 'dependencyOf', 'component:default/a');"
        .replace("LONG", &long);
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(&pool)
        .await
        .unwrap();
    // Separately: the generation trigger on final_entities is deferred to the commit above.
    sqlx::raw_sql(
        "ALTER TABLE final_entities DROP COLUMN entity_ref CASCADE; \
         DROP INDEX relations_target_entity_ref_idx;",
    )
    .execute(&pool)
    .await
    .unwrap();
    w.close().await;

    let c = conns(&prefix, false);
    let g = RelationGraph::open(&c).await.unwrap();
    assert!(!g.has_target_index());
    let gr = g
        .neighbourhood(&GraphOptions {
            roots: vec!["component:a".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    // Titles: from the search index, or from the entity when too long for it.
    let st: Vec<(&str, NodeStatus, Option<&str>)> = gr
        .nodes
        .iter()
        .map(|n| (n.entity_ref.as_str(), n.status, n.title.as_deref()))
        .collect();
    assert_eq!(
        st,
        vec![
            ("component:default/a", NodeStatus::Ok, Some("A")),
            ("group:default/g", NodeStatus::Ok, Some(long.as_str())),
            ("resource:default/gone", NodeStatus::Missing, None),
            ("system:default/broken", NodeStatus::Errored, None),
        ]
    );
    assert_eq!(gr.edges.len(), 3);
    assert!(
        gr.notes.iter().any(|n| n.contains("target_entity_ref")),
        "{:?}",
        gr.notes
    );
    let b = g.broken_refs(&BrokenRefsOptions::default()).await.unwrap();
    let got: Vec<(&str, NodeStatus, i64)> = b
        .items
        .iter()
        .map(|t| (t.target.as_str(), t.status, t.count))
        .collect();
    assert_eq!(
        got,
        vec![
            ("resource:default/gone", NodeStatus::Missing, 1),
            ("system:default/broken", NodeStatus::Errored, 1),
        ]
    );
    let p = g
        .path("group:g", "resource:gone", &PathOptions::default())
        .await
        .unwrap();
    assert_eq!(p.hops, Some(2), "{}", p.message);
    assert!(!p.to_exists);
    c.close().await;
}

//! Relation graphs over the catalog's `relations` table: the neighbourhood of entities (a
//! level-by-level BFS, one query per level), the whole-catalog list of broken references
//! (relations whose target is not a final entity), the shortest relation path between two
//! entities (a bidirectional BFS), the most connected entity, and the Graphviz DOT and Mermaid
//! renderings of a graph.
//!
//! Backstage stores every relation in both directions (`A ownedBy G` and `G ownerOf A`, both
//! originated by A), and the same fact may be stored by several originating entities. Rows are
//! therefore de-duplicated on `(source, type, target)`, and when both directions are asked for,
//! an edge and its reverse are folded into one canonical edge (the first type of each pair in
//! [`RELATION_PAIRS`](crate::refs::RELATION_PAIRS)).
//!
//! Everything is read through [`RelationGraph`], which reads the live schema once
//! ([`RelationGraph::open`]) and builds its SQL from what exists: without `relations` every view
//! here is [`CoreError::SchemaDegraded`]; without `final_entities.entity_ref` (catalog
//! migrations before 2024-10) existence is looked up through `refresh_state`; without
//! `refresh_state` errored entities are reported as missing. The SQL of every operation is
//! public ([`bfs_level_sql`], [`RelationGraph::node_info_sql`], [`RelationGraph::broken_refs_sql`],
//! [`RelationGraph::most_connected_sql`]) so a benchmark can run the same statements directly.
//! Queries use the indexes Backstage has: `relations_source_entity_ref_idx`,
//! `relations_target_entity_ref_idx` (since catalog migration 20260516000000), the unique
//! `final_entities.entity_ref` and, for titles, `search_entity_key_value_idx`. A neighbourhood or
//! a path runs on one connection in one (read-only) transaction with
//! `SET LOCAL max_parallel_workers_per_gather = 0`: its statements are a few index probes each,
//! cheaper than starting parallel workers. Everything returned passes
//! [`redact_text`](crate::redact::redact_text).
//!
//! This file owns the [`RelationGraph`] handle (what the catalog's schema offers, read once at
//! [`RelationGraph::open`]) and declares one submodule per question, re-exporting their public
//! items here:
//! - `vocab`: the shared words — relation types and their reverses ([`reverse_type`],
//!   [`canonical_edge`]), [`Direction`], [`GraphNode`], [`GraphEdge`], [`NodeStatus`];
//! - `reads`: the statements the walks are built from — one BFS level ([`bfs_level_sql`]),
//!   existence and titles of nodes ([`RelationGraph::node_info_sql`]) — and the read-only,
//!   worker-free transaction they run in;
//! - `neighbourhood`: the BFS neighbourhood of some roots, filtered by relation type and kind
//!   and capped in nodes ([`RelationGraph::neighbourhood`], [`Graph`], [`GraphOptions`]);
//! - `path`: the shortest relation path between two entities ([`RelationGraph::path`],
//!   [`RelationPath`]);
//! - `broken`: relations whose target is not an entity, by missing target
//!   ([`RelationGraph::broken_refs`], [`BrokenTarget`]);
//! - `connected`: the entity that is the source of the most relations
//!   ([`RelationGraph::most_connected`]);
//! - `render`: a [`Graph`] as Graphviz DOT ([`to_dot`]) or Mermaid ([`to_mermaid`]).
//!
//! The submodules are layered, so none imports one that imports it back: `vocab` uses nothing
//! of this module; this file's own code uses no submodule (it only declares and re-exports
//! them); `reads` adds methods to the handle; the questions use the handle, `vocab` and
//! `reads`; `render` uses `vocab` and the neighbourhood's [`Graph`].

mod broken;
mod connected;
mod neighbourhood;
mod path;
mod reads;
mod render;
mod vocab;

pub use broken::{BrokenRefsOptions, BrokenTarget, DEFAULT_BROKEN_SAMPLES, broken_refs};
pub use connected::{Connected, most_connected};
pub use neighbourhood::{
    CutNode, Cutoff, DEFAULT_DEPTH, DEFAULT_MAX_NODES, Graph, GraphOptions, MAX_DEPTH, MAX_NODES,
    neighbourhood,
};
pub use path::{
    DEFAULT_PATH_DEPTH, MAX_PATH_DEPTH, PATH_VISIT_LIMIT, PathOptions, RelationPath, path,
};
pub use reads::bfs_level_sql;
pub use render::{dot_escape, mermaid_escape, to_dot, to_mermaid};
pub use vocab::{Direction, GraphEdge, GraphNode, NodeStatus, canonical_edge, reverse_type};

use crate::connect::{Connections, Endpoint, PgPool, map_query_error};
use crate::error::{CoreError, Result};
use crate::schema::{DbSchema, Need};
use crate::sql::qualified;

const VIEW: &str = "relation graphs";

/// The catalog's relation data, with what its schema offers. Open once, query many times.
#[derive(Debug, Clone)]
pub struct RelationGraph {
    pool: PgPool,
    ep: Endpoint,
    schema: String,
    rel: String,
    fe: String,
    /// `refresh_state`, when it has `entity_id` and `entity_ref`.
    rs: Option<String>,
    fe_has_ref: bool,
    fe_has_body: bool,
    /// `search`, when it has `entity_id`, `key` and `original_value` (titles).
    search: Option<String>,
    target_index: bool,
}

impl RelationGraph {
    /// Reads the catalog's schema and checks that relation graphs can be served.
    pub async fn open(conns: &Connections) -> Result<Self> {
        let place = crate::area::locate(conns, "catalog")?;
        let (pool, db) = place.open(conns).await?;
        Self::with_schema(pool, place.endpoint, &db).await
    }

    /// Like [`RelationGraph::open`] for a pool and a schema already read.
    pub async fn with_schema(pool: PgPool, ep: Endpoint, db: &DbSchema) -> Result<Self> {
        db.check(
            VIEW,
            &[
                Need {
                    table: "relations",
                    columns: &["source_entity_ref", "type", "target_entity_ref"],
                    since: "made by catalog migration 20210302150147_refresh_state; is this the catalog \
                            database?",
                },
                Need {
                    table: "final_entities",
                    columns: &["entity_id"],
                    since: "made by catalog migration 20210302150147_refresh_state",
                },
            ],
        )?;
        let schema = db.schema.clone();
        let fe_has_ref = db.has_column("final_entities", "entity_ref");
        let rs_ok = db.has_column("refresh_state", "entity_ref")
            && db.has_column("refresh_state", "entity_id");
        // The same condition as the catalog's stitched entities (`catalog::stitched`).
        if crate::catalog::stitched(db).is_none() {
            return Err(CoreError::SchemaDegraded {
                view: VIEW.to_string(),
                reason: format!(
                    "final_entities has no entity_ref column (added by catalog migration {}) and \
                     refresh_state cannot stand in for it, so whether an entity exists cannot be \
                     told, in {}.{}",
                    crate::catalog::ENTITY_REF_MIGRATION,
                    db.database,
                    db.schema
                ),
            });
        }
        let target_index: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM pg_index i \
               JOIN pg_class c ON c.oid = i.indrelid \
               JOIN pg_namespace n ON n.oid = c.relnamespace \
               JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = i.indkey[0] \
             WHERE n.nspname = $1 AND c.relname = 'relations' AND a.attname = 'target_entity_ref')",
        )
        .bind(&schema)
        .fetch_one(&pool)
        .await
        .map_err(|e| map_query_error(e, &ep))?;
        Ok(Self {
            rel: qualified(&schema, "relations"),
            fe: qualified(&schema, "final_entities"),
            rs: rs_ok.then(|| qualified(&schema, "refresh_state")),
            fe_has_ref,
            fe_has_body: db.has_column("final_entities", "final_entity"),
            search: ["entity_id", "key", "original_value"]
                .iter()
                .all(|c| db.has_column("search", c))
                .then(|| qualified(&schema, "search")),
            target_index,
            schema,
            pool,
            ep,
        })
    }

    /// The schema the catalog lives in (`public` in database mode).
    pub fn schema(&self) -> &str {
        &self.schema
    }

    /// Whether `relations` has an index led by `target_entity_ref` (incoming lookups).
    pub fn has_target_index(&self) -> bool {
        self.target_index
    }
}

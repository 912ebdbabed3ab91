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
//! [`RELATION_PAIRS`]).
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
//! cheaper than starting parallel workers. Everything returned passes [`redact_text`].

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::str::FromStr;

use serde::Serialize;
use sqlx::Row;
use sqlx::postgres::{PgConnection, PgRow};

use crate::connect::{Connections, Endpoint, PgPool, map_query_error};
use crate::error::{CoreError, Result};
use crate::page::{Page, decode_cursor, encode_cursor};
use crate::redact::redact_text;
use crate::refs::{EntityRef, RELATION_PAIRS, parse_ref};
use crate::schema::{DbSchema, Need};
use crate::sql::quote_ident;

/// Default depth of a neighbourhood.
pub const DEFAULT_DEPTH: usize = 2;
/// Deepest neighbourhood allowed.
pub const MAX_DEPTH: usize = 10;
/// Default cap on the nodes of a neighbourhood.
pub const DEFAULT_MAX_NODES: usize = 500;
/// Largest cap on the nodes of a neighbourhood.
pub const MAX_NODES: usize = 100_000;
/// Default hop limit of a path search.
pub const DEFAULT_PATH_DEPTH: usize = 6;
/// Largest hop limit of a path search.
pub const MAX_PATH_DEPTH: usize = 12;
/// A path search stops after visiting this many entities.
pub const PATH_VISIT_LIMIT: usize = 250_000;
/// Default number of referring relations listed per missing target.
pub const DEFAULT_BROKEN_SAMPLES: usize = 20;

const VIEW: &str = "relation graphs";

// ---------------------------------------------------------------------------------------------
// Entity references and relation types
// ---------------------------------------------------------------------------------------------

/// The reverse of a known relation type (`ownedBy` ↔ `ownerOf`, ...).
pub fn reverse_type(t: &str) -> Option<&'static str> {
    RELATION_PAIRS.iter().find_map(|&(a, b)| {
        if a == t {
            Some(b)
        } else if b == t {
            Some(a)
        } else {
            None
        }
    })
}

/// The canonical form of an edge: a reverse-direction type (`ownerOf`...) is turned around
/// (`G ownerOf A` becomes `A ownedBy G`); other edges are unchanged.
pub fn canonical_edge(source: &str, relation: &str, target: &str) -> GraphEdge {
    match RELATION_PAIRS.iter().find(|&&(_, b)| b == relation) {
        Some(&(a, _)) => GraphEdge {
            source: target.to_string(),
            relation: a.to_string(),
            target: source.to_string(),
        },
        None => GraphEdge {
            source: source.to_string(),
            relation: relation.to_string(),
            target: target.to_string(),
        },
    }
}

/// A user-given relation type in the catalog's spelling (`ownedby` → `ownedBy`); unknown types
/// are kept as given (custom processors may add their own).
fn normalize_type(t: &str) -> Result<String> {
    let t = t.trim();
    if t.is_empty() {
        return Err(CoreError::config(
            "an empty relation type was given; name one such as ownedBy, dependsOn or memberOf",
        ));
    }
    Ok(RELATION_PAIRS
        .iter()
        .flat_map(|&(a, b)| [a, b])
        .find(|k| k.eq_ignore_ascii_case(t))
        .map(str::to_string)
        .unwrap_or_else(|| t.to_string()))
}

fn normalize_kind(k: &str) -> Result<String> {
    let k = k.trim().to_lowercase();
    if k.is_empty() || k.contains(':') || k.contains('/') {
        return Err(CoreError::config(format!(
            "invalid kind `{k}`: give a bare kind such as component, group or api"
        )));
    }
    Ok(k)
}

// ---------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------

/// Which relation rows a BFS step follows from a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Default, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Rows whose source is the node.
    Out,
    /// Rows whose target is the node.
    In,
    /// Both, with every edge folded with its reverse into one canonical edge.
    #[default]
    Both,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Out => "out",
            Direction::In => "in",
            Direction::Both => "both",
        }
    }
}

impl std::fmt::Display for Direction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Direction {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_lowercase().as_str() {
            "out" | "outgoing" => Ok(Direction::Out),
            "in" | "incoming" => Ok(Direction::In),
            "both" | "any" => Ok(Direction::Both),
            other => Err(CoreError::config(format!(
                "invalid direction `{other}`: use out, in or both"
            ))),
        }
    }
}

/// What neighbourhood to build.
#[derive(Debug, Clone)]
pub struct GraphOptions {
    /// Entity references to start from (any spelling [`parse_ref`] accepts).
    pub roots: Vec<String>,
    /// How many relation hops from the roots (0..=[`MAX_DEPTH`], default 2).
    pub depth: usize,
    /// Only these relation types (empty: all). With [`Direction::Both`] a type also matches its
    /// reverse (`ownedBy` finds `ownerOf` rows too), since they are the same fact.
    pub types: Vec<String>,
    /// Only neighbours of these kinds (empty: all); the roots are always included.
    pub kinds: Vec<String>,
    pub direction: Direction,
    /// Stop adding nodes at this many (default 500); the cut is reported in [`Graph::truncated`].
    pub max_nodes: usize,
}

impl Default for GraphOptions {
    fn default() -> Self {
        Self {
            roots: Vec::new(),
            depth: DEFAULT_DEPTH,
            types: Vec::new(),
            kinds: Vec::new(),
            direction: Direction::Both,
            max_nodes: DEFAULT_MAX_NODES,
        }
    }
}

/// Whether a referenced entity exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum NodeStatus {
    /// A final (stitched) entity.
    Ok,
    /// Known to the processing loop (`refresh_state`) but not a final entity: its processing
    /// fails, or it was not stitched yet.
    Errored,
    /// Neither: the reference points at nothing.
    Missing,
}

/// One entity of a graph.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct GraphNode {
    pub entity_ref: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
    /// `metadata.title` of the final entity, when it has one.
    pub title: Option<String>,
    /// Hops from the nearest root.
    pub depth: usize,
    /// Whether it is a final entity.
    pub exists: bool,
    pub status: NodeStatus,
    pub root: bool,
}

/// One relation, de-duplicated over originating entities.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct GraphEdge {
    pub source: String,
    #[serde(rename = "type")]
    pub relation: String,
    pub target: String,
}

/// A node whose neighbours did not all fit under the node cap.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CutNode {
    pub entity_ref: String,
    /// Neighbours left out.
    pub unexpanded: usize,
}

/// Where a neighbourhood was cut off by its node cap.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Cutoff {
    pub max_nodes: usize,
    /// Edges to neighbours that were left out.
    pub dropped_edges: usize,
    pub nodes: Vec<CutNode>,
}

/// A neighbourhood: nodes (sorted by depth, then reference) and edges (sorted). The edges are the
/// relations followed from every node closer than `depth`; relations between two nodes at the
/// depth limit are not fetched.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Graph {
    pub roots: Vec<String>,
    pub depth: usize,
    pub direction: Direction,
    pub nodes: Vec<GraphNode>,
    pub edges: Vec<GraphEdge>,
    /// Set when the node cap cut the graph.
    pub truncated: Option<Cutoff>,
    /// Things worth knowing about how it was read (a missing index...).
    pub notes: Vec<String>,
}

/// A missing target and the relations that point at it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct BrokenTarget {
    pub target: String,
    pub kind: String,
    /// [`NodeStatus::Errored`] when the processing loop knows it (its processing fails),
    /// else [`NodeStatus::Missing`].
    pub status: NodeStatus,
    /// Distinct `(source, type)` relations pointing at it.
    pub count: i64,
    /// Up to the requested number of them, sorted.
    pub relations: Vec<GraphEdge>,
}

/// What page of broken references to read.
#[derive(Debug, Clone)]
pub struct BrokenRefsOptions {
    /// Missing targets per page (1..=1000, default 100).
    pub limit: Option<usize>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Referring relations listed per target (0..=1000, default 20).
    pub samples: usize,
}

impl Default for BrokenRefsOptions {
    fn default() -> Self {
        Self {
            limit: None,
            cursor: None,
            samples: DEFAULT_BROKEN_SAMPLES,
        }
    }
}

/// How to search for a path.
#[derive(Debug, Clone)]
pub struct PathOptions {
    /// Most hops (1..=[`MAX_PATH_DEPTH`], default 6).
    pub max_depth: usize,
    /// Only these relation types (empty: all), matched on the rows as stored.
    pub types: Vec<String>,
}

impl Default for PathOptions {
    fn default() -> Self {
        Self {
            max_depth: DEFAULT_PATH_DEPTH,
            types: Vec::new(),
        }
    }
}

/// The shortest relation path from one entity to another: each step is a stored relation row,
/// oriented from `from` towards `to`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RelationPath {
    pub from: String,
    pub to: String,
    pub max_depth: usize,
    pub found: bool,
    pub hops: Option<usize>,
    pub steps: Vec<GraphEdge>,
    pub from_exists: bool,
    pub to_exists: bool,
    /// One line for people: the chain, or why there is none.
    pub message: String,
    pub notes: Vec<String>,
}

/// An entity and how many relation rows have it as source.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Connected {
    pub entity_ref: String,
    pub relations: i64,
}

// ---------------------------------------------------------------------------------------------
// SQL
// ---------------------------------------------------------------------------------------------

fn qualified(schema: &str, table: &str) -> String {
    format!("{}.{}", quote_ident(schema), quote_ident(table))
}

/// The SQL of one BFS level over `relations` in `schema`.
///
/// Binds `$1 text[]` (the frontier's refs), then `text[]` of relation types when `with_types`,
/// then `text[]` of lower-cased kinds of the far end when `with_kinds`. Returns
/// `source_entity_ref, type, target_entity_ref`, not de-duplicated. `Out` uses
/// `relations_source_entity_ref_idx`, `In` `relations_target_entity_ref_idx`, `Both` a
/// BitmapOr of the two (each row once, whichever end is in the frontier).
pub fn bfs_level_sql(
    schema: &str,
    direction: Direction,
    with_types: bool,
    with_kinds: bool,
) -> String {
    let rel = qualified(schema, "relations");
    let types = with_types.then_some(2);
    let kinds = with_kinds.then_some(if with_types { 3 } else { 2 });
    let kind_of = |end: &str| match kinds {
        Some(n) => format!(" AND lower(split_part({end}, ':', 1)) = ANY(${n}::text[])"),
        None => String::new(),
    };
    let mut s = format!("SELECT source_entity_ref, type, target_entity_ref FROM {rel} WHERE ");
    match direction {
        Direction::Out => {
            let _ = write!(
                s,
                "source_entity_ref = ANY($1::text[]){}",
                kind_of("target_entity_ref")
            );
        }
        Direction::In => {
            let _ = write!(
                s,
                "target_entity_ref = ANY($1::text[]){}",
                kind_of("source_entity_ref")
            );
        }
        Direction::Both => {
            let _ = write!(
                s,
                "((source_entity_ref = ANY($1::text[]){}) OR (target_entity_ref = ANY($1::text[]){}))",
                kind_of("target_entity_ref"),
                kind_of("source_entity_ref")
            );
        }
    }
    if let Some(n) = types {
        let _ = write!(s, " AND type = ANY(${n}::text[])");
    }
    s
}

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

type Row3 = (String, String, String);
/// An edge of interned (source, type, target).
type Edge = (u32, u32, u32);

/// Strings to small ids and back.
#[derive(Default)]
struct Interner {
    ids: HashMap<String, u32>,
    names: Vec<String>,
}

impl Interner {
    fn id(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.ids.get(s) {
            return i;
        }
        let i = self.names.len() as u32;
        self.names.push(s.to_string());
        self.ids.insert(s.to_string(), i);
        i
    }

    fn get(&self, id: u32) -> &str {
        self.names.get(id as usize).map_or("", String::as_str)
    }
}

fn get<'r, T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>>(
    row: &'r PgRow,
    i: usize,
) -> Result<T> {
    row.try_get(i)
        .map_err(|e| CoreError::Internal(format!("reading column {i} of a relation query: {e}")))
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
                    since: "the catalog's relations table exists since catalog-backend's 2020 migrations; \
                            is this the catalog database?",
                },
                Need {
                    table: "final_entities",
                    columns: &["entity_id"],
                    since: "final_entities came with the catalog's processing engine (2021)",
                },
            ],
        )?;
        let schema = db.schema.clone();
        let fe_has_ref = db.has_column("final_entities", "entity_ref");
        let rs_ok = db.has_column("refresh_state", "entity_ref")
            && db.has_column("refresh_state", "entity_id");
        if !fe_has_ref && !rs_ok {
            return Err(CoreError::SchemaDegraded {
                view: VIEW.to_string(),
                reason: format!(
                    "final_entities has no entity_ref column (added by catalog migration \
                     20241024104700_add_entity_ref_to_final_entities) and refresh_state cannot stand in \
                     for it, so whether an entity exists cannot be told, in {}.{}",
                    db.database, db.schema
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

    /// See [`bfs_level_sql`].
    pub fn level_sql(&self, direction: Direction, with_types: bool, with_kinds: bool) -> String {
        bfs_level_sql(&self.schema, direction, with_types, with_kinds)
    }

    /// The SQL that tells, for `$1 text[]` of refs, whether each is a final entity, its title,
    /// and whether `refresh_state` knows it: columns `ref, in_final, title, in_refresh`.
    ///
    /// The title comes from the catalog's own `search` index (`metadata.title`, one probe of
    /// `search_entity_key_value_idx` per entity) rather than from parsing every entity's JSON;
    /// only titles too long for that index (over 200 characters) are read from `final_entity`.
    pub fn node_info_sql(&self) -> String {
        let json_title = "f.final_entity::json->'metadata'->>'title'";
        let (title, title_join) = match (&self.search, self.fe_has_body) {
            (Some(search), body) => (
                if body {
                    format!("CASE WHEN t.v IS NOT NULL THEN t.v WHEN t.found THEN {json_title} END")
                } else {
                    "t.v".to_string()
                },
                format!(
                    " LEFT JOIN LATERAL (SELECT x.original_value AS v, true AS found FROM {search} x \
                     WHERE x.entity_id = f.entity_id AND x.key = 'metadata.title' LIMIT 1) t ON true"
                ),
            ),
            (None, true) => (json_title.to_string(), String::new()),
            (None, false) => ("NULL::text".to_string(), String::new()),
        };
        let fe = &self.fe;
        let (in_refresh, joins) = match (&self.rs, self.fe_has_ref) {
            (Some(rs), true) => (
                format!(
                    "CASE WHEN f.entity_id IS NULL \
                     THEN EXISTS (SELECT 1 FROM {rs} s WHERE s.entity_ref = u.ref) ELSE true END"
                ),
                format!("LEFT JOIN {fe} f ON f.entity_ref = u.ref"),
            ),
            (Some(rs), false) => (
                "s.entity_id IS NOT NULL".to_string(),
                format!(
                    "LEFT JOIN {rs} s ON s.entity_ref = u.ref LEFT JOIN {fe} f ON f.entity_id = s.entity_id"
                ),
            ),
            (None, _) => (
                "f.entity_id IS NOT NULL".to_string(),
                format!("LEFT JOIN {fe} f ON f.entity_ref = u.ref"),
            ),
        };
        format!(
            "SELECT u.ref, f.entity_id IS NOT NULL AS in_final, {title} AS title, {in_refresh} AS in_refresh \
             FROM unnest($1::text[]) AS u(ref) {joins}{title_join}"
        )
    }

    /// An SQL condition: no final entity has the ref `expr`.
    fn not_final(&self, expr: &str) -> String {
        let fe = &self.fe;
        match (&self.rs, self.fe_has_ref) {
            (_, true) | (None, _) => {
                format!("NOT EXISTS (SELECT 1 FROM {fe} f WHERE f.entity_ref = {expr})")
            }
            (Some(rs), false) => format!(
                "NOT EXISTS (SELECT 1 FROM {rs} s JOIN {fe} f ON f.entity_id = s.entity_id \
                 WHERE s.entity_ref = {expr})"
            ),
        }
    }

    /// The SQL of one page of missing targets. Binds `$1 text` (the last target of the previous
    /// page) when `after`, then `$n bigint` (the page size). Columns `target, n, in_refresh`.
    pub fn broken_refs_sql(&self, after: bool) -> String {
        let rel = &self.rel;
        let in_refresh = match &self.rs {
            Some(rs) => {
                format!("EXISTS (SELECT 1 FROM {rs} s WHERE s.entity_ref = r.target_entity_ref)")
            }
            None => "false".to_string(),
        };
        let (cond, limit) = if after {
            ("r.target_entity_ref > $1 AND ", "$2")
        } else {
            ("", "$1")
        };
        format!(
            "SELECT r.target_entity_ref AS target, count(DISTINCT (r.source_entity_ref, r.type)) AS n, \
                    {in_refresh} AS in_refresh \
             FROM {rel} r \
             WHERE {cond}{} \
             GROUP BY r.target_entity_ref \
             ORDER BY r.target_entity_ref \
             LIMIT {limit}",
            self.not_final("r.target_entity_ref")
        )
    }

    /// The SQL listing up to `$2 bigint` distinct relations per target of `$1 text[]`.
    pub fn broken_samples_sql(&self) -> String {
        let rel = &self.rel;
        format!(
            "SELECT source_entity_ref, type, target_entity_ref FROM ( \
               SELECT d.*, row_number() OVER (PARTITION BY target_entity_ref ORDER BY source_entity_ref, type) AS k \
               FROM (SELECT DISTINCT source_entity_ref, type, target_entity_ref FROM {rel} \
                     WHERE target_entity_ref = ANY($1::text[])) d) x \
             WHERE k <= $2 ORDER BY target_entity_ref, source_entity_ref, type"
        )
    }

    /// The SQL of [`RelationGraph::most_connected`]: binds `$1 text` (a lower-cased kind) when
    /// `with_kind`.
    pub fn most_connected_sql(&self, with_kind: bool) -> String {
        let rel = &self.rel;
        let cond = if with_kind {
            "WHERE lower(split_part(source_entity_ref, ':', 1)) = $1 "
        } else {
            ""
        };
        format!(
            "SELECT source_entity_ref, count(*) AS n FROM {rel} {cond}\
             GROUP BY source_entity_ref ORDER BY n DESC, source_entity_ref LIMIT 1"
        )
    }

    fn notes(&self, uses_target: bool) -> Vec<String> {
        if uses_target && !self.target_index {
            vec![format!(
                "{}.relations has no index on target_entity_ref (Backstage adds it in catalog migration \
                 20260516000000_relations_target_index): incoming lookups scan the whole table",
                self.schema
            )]
        } else {
            Vec::new()
        }
    }

    async fn fetch_level(
        &self,
        conn: &mut PgConnection,
        sql: &str,
        refs: &[String],
        types: Option<&Vec<String>>,
        kinds: Option<&Vec<String>>,
    ) -> Result<Vec<PgRow>> {
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(refs);
        if let Some(t) = types {
            q = q.bind(t);
        }
        if let Some(k) = kinds {
            q = q.bind(k);
        }
        q.fetch_all(&mut *conn)
            .await
            .map_err(|e| map_query_error(e, &self.ep))
    }

    /// One connection for a whole operation, in a transaction whose statements run without
    /// parallel workers: each BFS level is a few index probes, and starting workers for them
    /// costs more than the probes (and much more on a busy server).
    async fn session(&self) -> Result<sqlx::Transaction<'static, sqlx::Postgres>> {
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(|e| map_query_error(e, &self.ep))?;
        sqlx::query("SET LOCAL max_parallel_workers_per_gather = 0")
            .execute(&mut *tx)
            .await
            .map_err(|e| map_query_error(e, &self.ep))?;
        Ok(tx)
    }

    /// Existence, title and refresh-state presence of each ref.
    async fn node_info(
        &self,
        conn: &mut PgConnection,
        refs: &[String],
    ) -> Result<HashMap<String, (bool, Option<String>, bool)>> {
        let sql = self.node_info_sql();
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(refs)
            .fetch_all(&mut *conn)
            .await
            .map_err(|e| map_query_error(e, &self.ep))?;
        let mut out = HashMap::with_capacity(rows.len());
        for r in &rows {
            let ref_: String = get(r, 0)?;
            let in_final: bool = get(r, 1)?;
            let title: Option<String> = get(r, 2)?;
            let in_refresh: Option<bool> = get(r, 3)?;
            out.insert(ref_, (in_final, title, in_refresh.unwrap_or(false)));
        }
        Ok(out)
    }

    /// The neighbourhood of the roots: a BFS, one query per level.
    pub async fn neighbourhood(&self, opts: &GraphOptions) -> Result<Graph> {
        if opts.roots.is_empty() {
            return Err(CoreError::config(
                "no entity given: name at least one entity reference, for example group:default/team-a",
            ));
        }
        if opts.depth > MAX_DEPTH {
            return Err(CoreError::config(format!(
                "depth {} is too deep: use a depth of at most {MAX_DEPTH}",
                opts.depth
            )));
        }
        if opts.max_nodes == 0 || opts.max_nodes > MAX_NODES {
            return Err(CoreError::config(format!(
                "a node cap of {} is out of range: use 1 to {MAX_NODES}",
                opts.max_nodes
            )));
        }
        let mut roots = Vec::new();
        for r in &opts.roots {
            let r = parse_ref(r)?;
            if !roots.contains(&r) {
                roots.push(r);
            }
        }
        let types = opts
            .types
            .iter()
            .map(|t| normalize_type(t))
            .collect::<Result<Vec<_>>>()?;
        let mut types: Vec<String> = if opts.direction == Direction::Both {
            types
                .iter()
                .flat_map(|t| std::iter::once(t.clone()).chain(reverse_type(t).map(str::to_string)))
                .collect()
        } else {
            types
        };
        types.sort();
        types.dedup();
        let mut kinds = opts
            .kinds
            .iter()
            .map(|k| normalize_kind(k))
            .collect::<Result<Vec<_>>>()?;
        kinds.sort();
        kinds.dedup();
        let types = (!types.is_empty()).then_some(types);
        let kinds = (!kinds.is_empty()).then_some(kinds);
        let dir = opts.direction;
        let sql = self.level_sql(dir, types.is_some(), kinds.is_some());

        let cap = opts.max_nodes.max(roots.len());
        // Refs and types are interned: a level may return thousands of rows that mostly repeat
        // a few hundred refs, and most of them are dropped or folded.
        let mut names = Interner::default();
        let mut depth_of: HashMap<u32, usize> = HashMap::new();
        let mut order: Vec<u32> = Vec::new();
        for r in &roots {
            let id = names.id(r);
            depth_of.insert(id, 0);
            order.push(id);
        }
        let root_ids: HashSet<u32> = order.iter().copied().collect();
        let pairs: Vec<(u32, u32)> = RELATION_PAIRS
            .iter()
            .map(|&(a, b)| (names.id(a), names.id(b)))
            .collect();
        let wanted = |far: &str| {
            kinds.as_ref().is_none_or(|k| {
                let kind = far.split_once(':').map_or("", |(k, _)| k);
                k.iter().any(|w| w.eq_ignore_ascii_case(kind))
            })
        };
        let mut edges: HashSet<Edge> = HashSet::new();
        let mut dropped: HashSet<Edge> = HashSet::new();
        let mut cut: HashMap<u32, HashSet<u32>> = HashMap::new();
        let mut frontier = roots.clone();
        let mut tx = self.session().await?;
        for level in 0..opts.depth {
            if frontier.is_empty() {
                break;
            }
            let rows = self
                .fetch_level(&mut tx, &sql, &frontier, types.as_ref(), kinds.as_ref())
                .await?;
            let in_frontier: HashSet<u32> = frontier.iter().map(|r| names.id(r)).collect();
            // (near, far, edge): the frontier node, the neighbour, the edge as shown.
            let mut items: Vec<(u32, u32, Edge)> = Vec::with_capacity(rows.len());
            for r in &rows {
                let (s, t, g): (&str, &str, &str) = (get(r, 0)?, get(r, 1)?, get(r, 2)?);
                let (si, ti, gi) = (names.id(s), names.id(t), names.id(g));
                let edge = match pairs.iter().find(|p| p.1 == ti) {
                    Some(&(fwd, _)) if dir == Direction::Both => (gi, fwd, si),
                    _ => (si, ti, gi),
                };
                // The far end must be of a wanted kind (the SQL filters the same way; this
                // keeps a row matched through one end from being read through the other).
                if dir != Direction::In && in_frontier.contains(&si) && wanted(g) {
                    items.push((si, gi, edge));
                }
                if dir != Direction::Out && in_frontier.contains(&gi) && wanted(s) {
                    items.push((gi, si, edge));
                }
            }
            drop(rows);
            items.sort_unstable();
            items.dedup();
            let fresh: HashSet<u32> = items
                .iter()
                .filter(|i| !depth_of.contains_key(&i.1))
                .map(|i| i.1)
                .collect();
            if order.len() + fresh.len() > cap {
                // Not all fit: take them in a stable order (by near ref, then far ref), ranking
                // each distinct ref once rather than comparing strings in the sort.
                let mut ids: Vec<u32> = items.iter().flat_map(|i| [i.0, i.1]).collect();
                ids.sort_unstable();
                ids.dedup();
                ids.sort_by(|a, b| names.get(*a).cmp(names.get(*b)));
                let rank: HashMap<u32, u32> = ids
                    .iter()
                    .enumerate()
                    .map(|(r, &id)| (id, r as u32))
                    .collect();
                let rank_of = |id: u32| rank.get(&id).copied().unwrap_or(u32::MAX);
                items.sort_by_cached_key(|i| (rank_of(i.0), rank_of(i.1), i.2));
            }
            let mut next = Vec::new();
            for (near, far, edge) in items {
                match depth_of.entry(far) {
                    std::collections::hash_map::Entry::Occupied(_) => {
                        edges.insert(edge);
                    }
                    std::collections::hash_map::Entry::Vacant(slot) if order.len() < cap => {
                        slot.insert(level + 1);
                        order.push(far);
                        next.push(names.get(far).to_string());
                        edges.insert(edge);
                    }
                    std::collections::hash_map::Entry::Vacant(_) => {
                        cut.entry(near).or_default().insert(far);
                        dropped.insert(edge);
                    }
                }
            }
            frontier = next;
        }
        dropped.retain(|e| !edges.contains(e));

        let order_refs: Vec<String> = order.iter().map(|&i| names.get(i).to_string()).collect();
        let info = self.node_info(&mut tx, &order_refs).await?;
        tx.commit()
            .await
            .map_err(|e| map_query_error(e, &self.ep))?;
        let to_edge = |&(s, t, g): &Edge| GraphEdge {
            source: redact_text(names.get(s)),
            relation: redact_text(names.get(t)),
            target: redact_text(names.get(g)),
        };
        let mut edges: Vec<GraphEdge> = edges.iter().map(to_edge).collect();
        edges.sort_unstable();
        let mut cut: Vec<CutNode> = cut
            .into_iter()
            .map(|(n, far)| CutNode {
                entity_ref: redact_text(names.get(n)),
                unexpanded: far.len(),
            })
            .collect();
        cut.sort_by(|a, b| a.entity_ref.cmp(&b.entity_ref));
        let mut nodes: Vec<GraphNode> = order
            .iter()
            .map(|&id| {
                let r = names.get(id);
                let (in_final, title, in_refresh) = info.get(r).cloned().unwrap_or_default();
                let EntityRef {
                    kind,
                    namespace,
                    name,
                } = EntityRef::split(r);
                GraphNode {
                    entity_ref: redact_text(r),
                    kind,
                    namespace: redact_text(&namespace),
                    name: redact_text(&name),
                    title: title.map(|t| redact_text(&t)),
                    depth: depth_of.get(&id).copied().unwrap_or(0),
                    exists: in_final,
                    status: status(in_final, in_refresh),
                    root: root_ids.contains(&id),
                }
            })
            .collect();
        nodes.sort_by(|a, b| (a.depth, &a.entity_ref).cmp(&(b.depth, &b.entity_ref)));
        let truncated = (!cut.is_empty()).then_some(Cutoff {
            max_nodes: cap,
            dropped_edges: dropped.len(),
            nodes: cut,
        });
        Ok(Graph {
            roots: roots.iter().map(|r| redact_text(r)).collect(),
            depth: opts.depth,
            direction: dir,
            nodes,
            edges,
            truncated,
            notes: self.notes(dir != Direction::Out && opts.depth > 0),
        })
    }

    /// One page of missing targets (keyset-paginated on the target ref), each with the number
    /// of distinct relations that point at it and up to `samples` of them.
    pub async fn broken_refs(&self, opts: &BrokenRefsOptions) -> Result<Page<BrokenTarget>> {
        let limit = crate::page::limit(opts.limit);
        let samples = opts.samples.min(1000);
        let after = match &opts.cursor {
            Some(c) => {
                let key = decode_cursor(c, 1)?;
                match key.into_iter().next() {
                    Some(serde_json::Value::String(s)) => Some(s),
                    _ => {
                        return Err(CoreError::config(format!(
                            "invalid page cursor `{c}`: use the next_cursor value of the previous page unchanged"
                        )));
                    }
                }
            }
            None => None,
        };
        let sql = self.broken_refs_sql(after.is_some());
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        if let Some(a) = &after {
            q = q.bind(a);
        }
        let rows = q
            .bind((limit + 1) as i64)
            .fetch_all(&self.pool)
            .await
            .map_err(|e| map_query_error(e, &self.ep))?;
        let more = rows.len() > limit;
        let mut targets = Vec::with_capacity(limit);
        for r in rows.iter().take(limit) {
            let target: String = get(r, 0)?;
            let n: i64 = get(r, 1)?;
            let in_refresh: Option<bool> = get(r, 2)?;
            targets.push((target, n, in_refresh.unwrap_or(false)));
        }
        let mut by_target: HashMap<String, Vec<GraphEdge>> = HashMap::new();
        if samples > 0 && !targets.is_empty() {
            let refs: Vec<String> = targets.iter().map(|t| t.0.clone()).collect();
            let rows = sqlx::query(sqlx::AssertSqlSafe(self.broken_samples_sql()))
                .bind(&refs)
                .bind(samples as i64)
                .fetch_all(&self.pool)
                .await
                .map_err(|e| map_query_error(e, &self.ep))?;
            for r in &rows {
                let (s, t, tg): Row3 = (get(r, 0)?, get(r, 1)?, get(r, 2)?);
                by_target
                    .entry(tg.clone())
                    .or_default()
                    .push(redact_edge(GraphEdge {
                        source: s,
                        relation: t,
                        target: tg,
                    }));
            }
        }
        let next_cursor = match (more, targets.last()) {
            (true, Some(last)) => Some(encode_cursor(&[serde_json::Value::String(last.0.clone())])),
            _ => None,
        };
        let items = targets
            .into_iter()
            .map(|(target, count, in_refresh)| BrokenTarget {
                kind: EntityRef::split(&target).kind,
                status: status(false, in_refresh),
                count,
                relations: by_target.remove(&target).unwrap_or_default(),
                target: redact_text(&target),
            })
            .collect();
        Ok(Page { items, next_cursor })
    }

    /// The shortest relation path from `from` to `to`: a bidirectional BFS, forward over rows
    /// whose source is on the `from` side, backward over rows whose target is on the `to` side,
    /// one query per level, the smaller frontier first.
    pub async fn path(&self, from: &str, to: &str, opts: &PathOptions) -> Result<RelationPath> {
        let from = parse_ref(from)?;
        let to = parse_ref(to)?;
        if opts.max_depth == 0 || opts.max_depth > MAX_PATH_DEPTH {
            return Err(CoreError::config(format!(
                "a path depth of {} is out of range: use 1 to {MAX_PATH_DEPTH}",
                opts.max_depth
            )));
        }
        let mut types = opts
            .types
            .iter()
            .map(|t| normalize_type(t))
            .collect::<Result<Vec<_>>>()?;
        types.sort();
        types.dedup();
        let types = (!types.is_empty()).then_some(types);
        let fwd_sql = self.level_sql(Direction::Out, types.is_some(), false);
        let bwd_sql = self.level_sql(Direction::In, types.is_some(), false);

        let mut tx = self.session().await?;
        let info = self.node_info(&mut tx, &[from.clone(), to.clone()]).await?;
        let from_exists = info.get(&from).is_some_and(|i| i.0);
        let to_exists = info.get(&to).is_some_and(|i| i.0);

        // node -> (depth, link towards the start of its side)
        let mut fwd: HashMap<String, (usize, Option<(String, String)>)> = HashMap::new();
        let mut bwd: HashMap<String, (usize, Option<(String, String)>)> = HashMap::new();
        fwd.insert(from.clone(), (0, None));
        bwd.insert(to.clone(), (0, None));
        let (mut ff, mut fb) = (vec![from.clone()], vec![to.clone()]);
        let (mut df, mut db) = (0usize, 0usize);
        let mut meet: Option<String> = (from == to).then(|| from.clone());
        let mut stopped = None;
        while meet.is_none() && df + db < opts.max_depth && !ff.is_empty() && !fb.is_empty() {
            if fwd.len() + bwd.len() > PATH_VISIT_LIMIT {
                stopped = Some(fwd.len() + bwd.len());
                break;
            }
            let forward = ff.len() <= fb.len();
            let (sql, frontier) = if forward {
                (&fwd_sql, &ff)
            } else {
                (&bwd_sql, &fb)
            };
            let mut rows = self
                .fetch_level(&mut tx, sql, frontier, types.as_ref(), None)
                .await?
                .iter()
                .map(|r| Ok((get(r, 0)?, get(r, 1)?, get(r, 2)?)))
                .collect::<Result<Vec<Row3>>>()?;
            rows.sort();
            rows.dedup();
            let (mine, other, depth) = if forward {
                (&mut fwd, &bwd, df + 1)
            } else {
                (&mut bwd, &fwd, db + 1)
            };
            let mut next = Vec::new();
            let mut best: Option<(usize, String)> = None;
            for (s, t, tg) in rows {
                let (near, far) = if forward { (s, tg) } else { (tg, s) };
                if mine.contains_key(&far) {
                    continue;
                }
                mine.insert(far.clone(), (depth, Some((near, t))));
                if let Some((d, _)) = other.get(&far)
                    && best
                        .as_ref()
                        .is_none_or(|(bd, bref)| (*d, &far) < (*bd, bref))
                {
                    best = Some((*d, far.clone()));
                }
                next.push(far);
            }
            if forward {
                ff = next;
                df += 1;
            } else {
                fb = next;
                db += 1;
            }
            meet = best.map(|(_, r)| r);
        }

        tx.commit()
            .await
            .map_err(|e| map_query_error(e, &self.ep))?;
        let notes = self.notes(true);
        let Some(m) = meet else {
            let mut why = Vec::new();
            if !from_exists {
                why.push(format!("{from} is not an entity of the catalog"));
            }
            if !to_exists {
                why.push(format!("{to} is not an entity of the catalog"));
            }
            if let Some(n) = stopped {
                why.push(format!("the search stopped after visiting {n} entities"));
            } else if ff.is_empty() || fb.is_empty() {
                why.push("every relation reachable from one side was followed".to_string());
            }
            let hops = if opts.max_depth == 1 { "hop" } else { "hops" };
            let mut message = format!(
                "no relation path from {from} to {to} within {} {hops}",
                opts.max_depth
            );
            if !why.is_empty() {
                let _ = write!(message, " ({})", why.join("; "));
            }
            return Ok(RelationPath {
                from: redact_text(&from),
                to: redact_text(&to),
                max_depth: opts.max_depth,
                found: false,
                hops: None,
                steps: Vec::new(),
                from_exists,
                to_exists,
                message: redact_text(&message),
                notes,
            });
        };
        // Walk back to `from`, then forward to `to`.
        let mut steps = Vec::new();
        let mut cur = m.clone();
        while let Some((_, Some((prev, t)))) = fwd.get(&cur) {
            steps.push(GraphEdge {
                source: prev.clone(),
                relation: t.clone(),
                target: cur.clone(),
            });
            cur = prev.clone();
        }
        steps.reverse();
        let mut cur = m;
        while let Some((_, Some((next, t)))) = bwd.get(&cur) {
            steps.push(GraphEdge {
                source: cur.clone(),
                relation: t.clone(),
                target: next.clone(),
            });
            cur = next.clone();
        }
        let mut message = from.clone();
        for s in &steps {
            let _ = write!(message, " -{}-> {}", s.relation, s.target);
        }
        if steps.is_empty() {
            message.push_str(" (the same entity)");
        }
        Ok(RelationPath {
            from: redact_text(&from),
            to: redact_text(&to),
            max_depth: opts.max_depth,
            found: true,
            hops: Some(steps.len()),
            steps: steps.into_iter().map(redact_edge).collect(),
            from_exists,
            to_exists,
            message: redact_text(&message),
            notes,
        })
    }

    /// The entity that is the source of the most relation rows, optionally of one kind (for
    /// example the most connected group). Scans `relations` once.
    pub async fn most_connected(&self, kind: Option<&str>) -> Result<Option<Connected>> {
        let kind = kind.map(normalize_kind).transpose()?;
        let sql = self.most_connected_sql(kind.is_some());
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        if let Some(k) = &kind {
            q = q.bind(k);
        }
        let row = q
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| map_query_error(e, &self.ep))?;
        row.map(|r| {
            Ok(Connected {
                entity_ref: redact_text(&get::<String>(&r, 0)?),
                relations: get(&r, 1)?,
            })
        })
        .transpose()
    }
}

fn status(in_final: bool, in_refresh: bool) -> NodeStatus {
    if in_final {
        NodeStatus::Ok
    } else if in_refresh {
        NodeStatus::Errored
    } else {
        NodeStatus::Missing
    }
}

fn redact_edge(e: GraphEdge) -> GraphEdge {
    GraphEdge {
        source: redact_text(&e.source),
        relation: redact_text(&e.relation),
        target: redact_text(&e.target),
    }
}

// ---------------------------------------------------------------------------------------------
// One-call conveniences
// ---------------------------------------------------------------------------------------------

/// [`RelationGraph::neighbourhood`] on the profile's catalog.
pub async fn neighbourhood(conns: &Connections, opts: &GraphOptions) -> Result<Graph> {
    RelationGraph::open(conns).await?.neighbourhood(opts).await
}

/// [`RelationGraph::broken_refs`] on the profile's catalog.
pub async fn broken_refs(
    conns: &Connections,
    opts: &BrokenRefsOptions,
) -> Result<Page<BrokenTarget>> {
    RelationGraph::open(conns).await?.broken_refs(opts).await
}

/// [`RelationGraph::path`] on the profile's catalog.
pub async fn path(
    conns: &Connections,
    from: &str,
    to: &str,
    opts: &PathOptions,
) -> Result<RelationPath> {
    RelationGraph::open(conns).await?.path(from, to, opts).await
}

/// [`RelationGraph::most_connected`] on the profile's catalog.
pub async fn most_connected(conns: &Connections, kind: Option<&str>) -> Result<Option<Connected>> {
    RelationGraph::open(conns).await?.most_connected(kind).await
}

// ---------------------------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------------------------

/// Escapes text for a double-quoted Graphviz string (ids and labels).
pub fn dot_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Escapes text for a double-quoted Mermaid label (entity codes, so no quote, bracket or `#`
/// can end it early or be read as markup).
pub fn mermaid_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    for c in s.chars() {
        match c {
            '#' => out.push_str("#35;"),
            '"' => out.push_str("#quot;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '&' => out.push_str("#amp;"),
            '|' => out.push_str("#124;"),
            '`' => out.push_str("#96;"),
            '\n' => out.push_str("<br/>"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

fn label(n: &GraphNode) -> String {
    match &n.title {
        Some(t) if !t.is_empty() => format!("{}\n{t}", n.entity_ref),
        _ => n.entity_ref.clone(),
    }
}

/// All refs of a graph: its nodes, then any edge endpoint that is not a node (so every edge's
/// endpoints are declared even in a hand-made graph).
fn all_nodes(g: &Graph) -> Vec<GraphNode> {
    let mut nodes = g.nodes.clone();
    let mut seen: HashSet<String> = nodes.iter().map(|n| n.entity_ref.clone()).collect();
    for e in &g.edges {
        for r in [&e.source, &e.target] {
            if seen.insert(r.clone()) {
                let EntityRef {
                    kind,
                    namespace,
                    name,
                } = EntityRef::split(r);
                nodes.push(GraphNode {
                    entity_ref: r.clone(),
                    kind,
                    namespace,
                    name,
                    title: None,
                    depth: g.depth,
                    exists: false,
                    status: NodeStatus::Missing,
                    root: false,
                });
            }
        }
    }
    nodes
}

/// The graph as Graphviz DOT: nodes are their quoted refs; missing entities are dashed red,
/// errored ones dashed orange, roots bold.
pub fn to_dot(g: &Graph) -> String {
    let mut s = String::from("digraph relations {\n  rankdir=LR;\n");
    s.push_str("  node [shape=box, style=\"rounded\", fontname=\"Helvetica\"];\n");
    s.push_str("  edge [fontname=\"Helvetica\", fontsize=10];\n");
    for n in all_nodes(g) {
        let mut attrs = vec![format!("label=\"{}\"", dot_escape(&label(&n)))];
        match n.status {
            NodeStatus::Ok => {}
            NodeStatus::Errored => attrs.push(
                "style=\"rounded,dashed\", color=\"darkorange\", fontcolor=\"darkorange\"".into(),
            ),
            NodeStatus::Missing => {
                attrs.push("style=\"rounded,dashed\", color=\"red\", fontcolor=\"red\"".into())
            }
        }
        if n.root {
            attrs.push("penwidth=2".into());
        }
        let _ = writeln!(
            s,
            "  \"{}\" [{}];",
            dot_escape(&n.entity_ref),
            attrs.join(", ")
        );
    }
    for e in &g.edges {
        let _ = writeln!(
            s,
            "  \"{}\" -> \"{}\" [label=\"{}\"];",
            dot_escape(&e.source),
            dot_escape(&e.target),
            dot_escape(&e.relation)
        );
    }
    s.push_str("}\n");
    s
}

/// The graph as a Mermaid `flowchart LR`: nodes get safe ids (`n0`, `n1`...) and quoted,
/// escaped labels; missing entities are dashed red (`missing` class), errored ones dashed
/// orange (`errored`), roots thick (`root`).
pub fn to_mermaid(g: &Graph) -> String {
    let nodes = all_nodes(g);
    let ids: HashMap<&str, String> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.entity_ref.as_str(), format!("n{i}")))
        .collect();
    let mut s = String::from("flowchart LR\n");
    let mut classes: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for n in &nodes {
        let id = &ids[n.entity_ref.as_str()];
        let _ = writeln!(s, "  {id}[\"{}\"]", mermaid_escape(&label(n)));
        match n.status {
            NodeStatus::Ok => {}
            NodeStatus::Errored => classes.entry("errored").or_default().push(id.clone()),
            NodeStatus::Missing => classes.entry("missing").or_default().push(id.clone()),
        }
        if n.root {
            classes.entry("root").or_default().push(id.clone());
        }
    }
    for e in &g.edges {
        let _ = writeln!(
            s,
            "  {} -->|\"{}\"| {}",
            ids[e.source.as_str()],
            mermaid_escape(&e.relation),
            ids[e.target.as_str()]
        );
    }
    s.push_str(
        "  classDef missing stroke:#d32f2f,stroke-width:2px,stroke-dasharray:5 5,color:#d32f2f;\n",
    );
    s.push_str(
        "  classDef errored stroke:#ef6c00,stroke-width:2px,stroke-dasharray:5 5,color:#ef6c00;\n",
    );
    s.push_str("  classDef root stroke-width:3px;\n");
    for (class, members) in classes {
        let _ = writeln!(s, "  class {} {class};", members.join(","));
    }
    s
}

impl Graph {
    /// See [`to_dot`].
    pub fn to_dot(&self) -> String {
        to_dot(self)
    }
    /// See [`to_mermaid`].
    pub fn to_mermaid(&self) -> String {
        to_mermaid(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_fold_to_one_canonical_edge() {
        let a = canonical_edge("group:default/g", "ownerOf", "component:default/c");
        let b = canonical_edge("component:default/c", "ownedBy", "group:default/g");
        assert_eq!(a, b);
        assert_eq!(a.relation, "ownedBy");
        assert_eq!(reverse_type("hasMember"), Some("memberOf"));
        assert_eq!(reverse_type("custom"), None);
        assert_eq!(normalize_type("OWNEDBY").ok().as_deref(), Some("ownedBy"));
        assert_eq!("Incoming".parse::<Direction>().ok(), Some(Direction::In));
        assert!("sideways".parse::<Direction>().is_err());
    }

    #[test]
    fn level_sql_binds_in_order() {
        let s = bfs_level_sql("public", Direction::Both, true, true);
        assert!(s.contains("\"public\".\"relations\""));
        assert_eq!(s.matches("$3::text[]").count(), 2);
        let s = bfs_level_sql("we\"ird", Direction::Out, false, true);
        assert!(s.contains("\"we\"\"ird\".\"relations\""));
        assert!(s.contains("$2::text[]") && !s.contains("$3"));
    }

    #[test]
    fn escaping() {
        assert_eq!(dot_escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        assert_eq!(mermaid_escape("a\"b#c<d>|"), "a#quot;b#35;c#lt;d#gt;#124;");
    }
}

//! The neighbourhood of some entities: a level-by-level BFS over `relations` (one query per
//! level, on one connection), filtered by relation type and by the kind of the far end, with
//! a cap on the nodes that says where it cut ([`Cutoff`]).
//!
//! [`RelationGraph::neighbourhood`] runs in named steps: the options are checked and
//! normalised into a `Plan`; a `Walk` keeps the BFS state (interned refs, depths, edges, what
//! the cap left out), turns each level's rows into `(near, far, edge)` items, orders them when
//! not all fit and admits them under the cap; the last step looks up the nodes' existence and
//! titles and builds the [`Graph`].

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};
use sqlx::postgres::PgRow;

use super::RelationGraph;
use super::reads::{NodeInfo, get};
use super::vocab::{
    Direction, GraphEdge, GraphNode, normalize_kind, normalize_type, reverse_type, status,
};
use crate::connect::{Connections, map_query_error};
use crate::error::{CoreError, Result};
use crate::redact::redact_text;
use crate::refs::{EntityRef, RELATION_PAIRS, kind_of, parse_ref};

/// Default depth of a neighbourhood.
pub const DEFAULT_DEPTH: usize = 2;
/// Deepest neighbourhood allowed.
pub const MAX_DEPTH: usize = 10;
/// Default cap on the nodes of a neighbourhood.
pub const DEFAULT_MAX_NODES: usize = 500;
/// Largest cap on the nodes of a neighbourhood.
pub const MAX_NODES: usize = 100_000;

/// What neighbourhood to build. Unset (or null) fields take their defaults.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default)]
pub struct GraphOptions {
    /// Entity references to start from (any spelling [`parse_ref`] accepts).
    pub roots: Vec<String>,
    /// How many relation hops from the roots (0..=[`MAX_DEPTH`], default 2).
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    #[serde(deserialize_with = "depth_or_default")]
    pub depth: usize,
    /// Only these relation types (empty: all). With [`Direction::Both`] a type also matches its
    /// reverse (`ownedBy` finds `ownerOf` rows too), since they are the same fact.
    pub types: Vec<String>,
    /// Only neighbours of these kinds (empty: all); the roots are always included.
    pub kinds: Vec<String>,
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    #[serde(deserialize_with = "direction_or_default")]
    pub direction: Direction,
    /// Stop adding nodes at this many (default 500); the cut is reported in [`Graph::truncated`].
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    #[serde(deserialize_with = "nodes_or_default")]
    pub max_nodes: usize,
}

// A null from the UI means "the default", as a missing field does.
fn null_or<'de, D, T>(d: D, default: T) -> std::result::Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or(default))
}

fn depth_or_default<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<usize, D::Error> {
    null_or(d, DEFAULT_DEPTH)
}

fn nodes_or_default<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<usize, D::Error> {
    null_or(d, DEFAULT_MAX_NODES)
}

fn direction_or_default<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Direction, D::Error> {
    null_or(d, Direction::default())
}

impl Default for GraphOptions {
    fn default() -> Self {
        Self {
            roots: Vec::new(),
            depth: DEFAULT_DEPTH,
            types: Vec::new(),
            kinds: Vec::new(),
            direction: Direction::default(),
            max_nodes: DEFAULT_MAX_NODES,
        }
    }
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

// ---------------------------------------------------------------------------------------------
// The options, checked
// ---------------------------------------------------------------------------------------------

/// [`GraphOptions`] checked and normalised: distinct parsed roots, the relation types (with
/// their reverses under [`Direction::Both`]) and lower-cased kinds to filter on, the node cap.
struct Plan {
    roots: Vec<String>,
    types: Option<Vec<String>>,
    kinds: Option<Vec<String>>,
    dir: Direction,
    depth: usize,
    /// The node cap, never below the number of roots.
    cap: usize,
}

impl Plan {
    fn new(opts: &GraphOptions) -> Result<Self> {
        check_limits(opts)?;
        let mut roots = Vec::new();
        for r in &opts.roots {
            let r = parse_ref(r)?;
            if !roots.contains(&r) {
                roots.push(r);
            }
        }
        let types = filter_types(&opts.types, opts.direction)?;
        let kinds = filter_kinds(&opts.kinds)?;
        Ok(Self {
            cap: opts.max_nodes.max(roots.len()),
            roots,
            types,
            kinds,
            dir: opts.direction,
            depth: opts.depth,
        })
    }

    /// Whether a neighbour of this ref is of a wanted kind.
    fn wants(&self, far: &str) -> bool {
        self.kinds.as_ref().is_none_or(|k| {
            let kind = kind_of(far);
            k.iter().any(|w| w.eq_ignore_ascii_case(kind))
        })
    }
}

/// Refuses a neighbourhood without roots, too deep, or with a node cap out of range.
fn check_limits(opts: &GraphOptions) -> Result<()> {
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
    Ok(())
}

/// The relation types to follow, in the catalog's spelling, sorted and distinct (`None`: all).
/// With [`Direction::Both`] each type brings its reverse.
fn filter_types(given: &[String], dir: Direction) -> Result<Option<Vec<String>>> {
    let types = given
        .iter()
        .map(|t| normalize_type(t))
        .collect::<Result<Vec<_>>>()?;
    let mut types: Vec<String> = if dir == Direction::Both {
        types
            .iter()
            .flat_map(|t| std::iter::once(t.clone()).chain(reverse_type(t).map(str::to_string)))
            .collect()
    } else {
        types
    };
    types.sort();
    types.dedup();
    Ok((!types.is_empty()).then_some(types))
}

/// The kinds of neighbour to keep, lower-cased, sorted and distinct (`None`: all).
fn filter_kinds(given: &[String]) -> Result<Option<Vec<String>>> {
    let mut kinds = given
        .iter()
        .map(|k| normalize_kind(k))
        .collect::<Result<Vec<_>>>()?;
    kinds.sort();
    kinds.dedup();
    Ok((!kinds.is_empty()).then_some(kinds))
}

// ---------------------------------------------------------------------------------------------
// The walk
// ---------------------------------------------------------------------------------------------

/// An edge of interned (source, type, target).
type Edge = (u32, u32, u32);
/// `(near, far, edge)`: the frontier node, the neighbour, the edge as shown.
type Item = (u32, u32, Edge);

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

/// The state of a BFS under a node cap. Refs and types are interned: a level may return
/// thousands of rows that mostly repeat a few hundred refs, and most of them are dropped or
/// folded.
struct Walk {
    names: Interner,
    /// Depth of every admitted node.
    depth_of: HashMap<u32, usize>,
    /// Admitted nodes, in admission order.
    order: Vec<u32>,
    root_ids: HashSet<u32>,
    /// The interned [`RELATION_PAIRS`]: (forward type, reverse type).
    pairs: Vec<(u32, u32)>,
    edges: HashSet<Edge>,
    /// Edges to neighbours the cap left out.
    dropped: HashSet<Edge>,
    /// Per node, the neighbours the cap left out.
    cut: HashMap<u32, HashSet<u32>>,
}

impl Walk {
    fn new(roots: &[String]) -> Self {
        let mut names = Interner::default();
        let mut depth_of: HashMap<u32, usize> = HashMap::new();
        let mut order: Vec<u32> = Vec::new();
        for r in roots {
            let id = names.id(r);
            depth_of.insert(id, 0);
            order.push(id);
        }
        let root_ids: HashSet<u32> = order.iter().copied().collect();
        let pairs: Vec<(u32, u32)> = RELATION_PAIRS
            .iter()
            .map(|&(a, b)| (names.id(a), names.id(b)))
            .collect();
        Self {
            names,
            depth_of,
            order,
            root_ids,
            pairs,
            edges: HashSet::new(),
            dropped: HashSet::new(),
            cut: HashMap::new(),
        }
    }

    /// The items of one level's rows: each row read from the end that is
    /// in the frontier (both ends under [`Direction::Both`]), its edge folded to the forward
    /// type under [`Direction::Both`].
    fn level_items(
        &mut self,
        rows: &[PgRow],
        frontier: &[String],
        plan: &Plan,
    ) -> Result<Vec<Item>> {
        let dir = plan.dir;
        let in_frontier: HashSet<u32> = frontier.iter().map(|r| self.names.id(r)).collect();
        let mut items: Vec<Item> = Vec::with_capacity(rows.len());
        for r in rows {
            let (s, t, g): (&str, &str, &str) = (get(r, 0)?, get(r, 1)?, get(r, 2)?);
            let (si, ti, gi) = (self.names.id(s), self.names.id(t), self.names.id(g));
            let edge = match self.pairs.iter().find(|p| p.1 == ti) {
                Some(&(fwd, _)) if dir == Direction::Both => (gi, fwd, si),
                _ => (si, ti, gi),
            };
            // The far end must be of a wanted kind (the SQL filters the same way; this
            // keeps a row matched through one end from being read through the other).
            if dir != Direction::In && in_frontier.contains(&si) && plan.wants(g) {
                items.push((si, gi, edge));
            }
            if dir != Direction::Out && in_frontier.contains(&gi) && plan.wants(s) {
                items.push((gi, si, edge));
            }
        }
        Ok(items)
    }

    /// Whether the new neighbours among `items` do not all fit under `cap`.
    fn overflows(&self, items: &[Item], cap: usize) -> bool {
        let fresh: HashSet<u32> = items
            .iter()
            .filter(|i| !self.depth_of.contains_key(&i.1))
            .map(|i| i.1)
            .collect();
        self.order.len() + fresh.len() > cap
    }

    /// Puts the items in a stable order (by near ref, then far ref), ranking each distinct ref
    /// once rather than comparing strings in the sort.
    fn order_by_refs(&self, items: &mut [Item]) {
        let mut ids: Vec<u32> = items.iter().flat_map(|i| [i.0, i.1]).collect();
        ids.sort_unstable();
        ids.dedup();
        ids.sort_by(|a, b| self.names.get(*a).cmp(self.names.get(*b)));
        let rank: HashMap<u32, u32> = ids
            .iter()
            .enumerate()
            .map(|(r, &id)| (id, r as u32))
            .collect();
        let rank_of = |id: u32| rank.get(&id).copied().unwrap_or(u32::MAX);
        items.sort_by_cached_key(|i| (rank_of(i.0), rank_of(i.1), i.2));
    }

    /// Takes the items in order: an edge to a known node is kept, a new neighbour is admitted
    /// at `level + 1` while the cap allows, else recorded as cut. Returns the next frontier.
    fn admit(&mut self, items: Vec<Item>, level: usize, cap: usize) -> Vec<String> {
        let mut next = Vec::new();
        for (near, far, edge) in items {
            match self.depth_of.entry(far) {
                Entry::Occupied(_) => {
                    self.edges.insert(edge);
                }
                Entry::Vacant(slot) if self.order.len() < cap => {
                    slot.insert(level + 1);
                    self.order.push(far);
                    next.push(self.names.get(far).to_string());
                    self.edges.insert(edge);
                }
                Entry::Vacant(_) => {
                    self.cut.entry(near).or_default().insert(far);
                    self.dropped.insert(edge);
                }
            }
        }
        next
    }

    /// The admitted nodes' refs, in admission order.
    fn order_refs(&self) -> Vec<String> {
        self.order
            .iter()
            .map(|&i| self.names.get(i).to_string())
            .collect()
    }

    // -----------------------------------------------------------------------------------------
    // The result
    // -----------------------------------------------------------------------------------------

    /// The kept edges, redacted and sorted.
    fn graph_edges(&self) -> Vec<GraphEdge> {
        let to_edge = |&(s, t, g): &Edge| GraphEdge {
            source: redact_text(self.names.get(s)),
            relation: redact_text(self.names.get(t)),
            target: redact_text(self.names.get(g)),
        };
        let mut edges: Vec<GraphEdge> = self.edges.iter().map(to_edge).collect();
        edges.sort_unstable();
        edges
    }

    /// Where the cap cut, if it did: the nodes with neighbours left out (sorted), and the
    /// edges to them that are not kept through another node.
    fn cutoff(&mut self, cap: usize) -> Option<Cutoff> {
        let edges = &self.edges;
        self.dropped.retain(|e| !edges.contains(e));
        let mut cut: Vec<CutNode> = self
            .cut
            .iter()
            .map(|(&n, far)| CutNode {
                entity_ref: redact_text(self.names.get(n)),
                unexpanded: far.len(),
            })
            .collect();
        cut.sort_by(|a, b| a.entity_ref.cmp(&b.entity_ref));
        (!cut.is_empty()).then_some(Cutoff {
            max_nodes: cap,
            dropped_edges: self.dropped.len(),
            nodes: cut,
        })
    }

    /// The admitted nodes with what `info` says of them, sorted by depth, then ref.
    fn graph_nodes(&self, info: &HashMap<String, NodeInfo>) -> Vec<GraphNode> {
        let mut nodes: Vec<GraphNode> = self
            .order
            .iter()
            .map(|&id| {
                let r = self.names.get(id);
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
                    depth: self.depth_of.get(&id).copied().unwrap_or(0),
                    exists: in_final,
                    status: status(in_final, in_refresh),
                    root: self.root_ids.contains(&id),
                }
            })
            .collect();
        nodes.sort_by(|a, b| (a.depth, &a.entity_ref).cmp(&(b.depth, &b.entity_ref)));
        nodes
    }
}

impl RelationGraph {
    /// The neighbourhood of the roots: a BFS, one query per level.
    pub async fn neighbourhood(&self, opts: &GraphOptions) -> Result<Graph> {
        let plan = Plan::new(opts)?;
        let sql = self.level_sql(plan.dir, plan.types.is_some(), plan.kinds.is_some());
        let mut walk = Walk::new(&plan.roots);
        let mut frontier = plan.roots.clone();
        let mut tx = self.session().await?;
        for level in 0..plan.depth {
            if frontier.is_empty() {
                break;
            }
            let rows = self
                .fetch_level(
                    &mut tx,
                    &sql,
                    &frontier,
                    plan.types.as_ref(),
                    plan.kinds.as_ref(),
                )
                .await?;
            let mut items = walk.level_items(&rows, &frontier, &plan)?;
            drop(rows);
            items.sort_unstable();
            items.dedup();
            if walk.overflows(&items, plan.cap) {
                walk.order_by_refs(&mut items);
            }
            frontier = walk.admit(items, level, plan.cap);
        }
        let (info, unreadable) = self.node_info(&mut tx, &walk.order_refs()).await?;
        tx.commit()
            .await
            .map_err(|e| map_query_error(e, &self.ep))?;
        Ok(Graph {
            roots: plan.roots.iter().map(|r| redact_text(r)).collect(),
            depth: plan.depth,
            direction: plan.dir,
            nodes: walk.graph_nodes(&info),
            edges: walk.graph_edges(),
            truncated: walk.cutoff(plan.cap),
            notes: {
                let mut notes = self.notes(plan.dir != Direction::Out && plan.depth > 0);
                notes.extend(unreadable);
                notes
            },
        })
    }
}

/// [`RelationGraph::neighbourhood`] on the profile's catalog.
pub async fn neighbourhood(conns: &Connections, opts: &GraphOptions) -> Result<Graph> {
    RelationGraph::open(conns).await?.neighbourhood(opts).await
}

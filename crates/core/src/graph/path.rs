//! The shortest relation path between two entities ("why does A depend on B"): a
//! bidirectional BFS over `relations`, forward over rows whose source is on the `from` side,
//! backward over rows whose target is on the `to` side, one query per level, the smaller
//! frontier first, with a hop limit and a cap on the entities visited.
//!
//! [`RelationGraph::path`] checks its options, looks up whether both ends exist, runs the
//! `Search` level by level, then either walks the links back from the meeting node into
//! [`RelationPath::steps`] or says why there is no path.

use std::collections::HashMap;
use std::fmt::Write as _;

use serde::Serialize;
use sqlx::postgres::PgConnection;

use super::RelationGraph;
use super::reads::{Row3, get};
use super::vocab::{Direction, GraphEdge, normalize_type, redact_edge};
use crate::connect::{Connections, map_query_error};
use crate::error::{CoreError, Result};
use crate::redact::redact_text;
use crate::refs::parse_ref;

/// Default hop limit of a path search.
pub const DEFAULT_PATH_DEPTH: usize = 6;
/// Largest hop limit of a path search.
pub const MAX_PATH_DEPTH: usize = 12;
/// A path search stops after visiting this many entities.
pub const PATH_VISIT_LIMIT: usize = 250_000;

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

/// The two ends of a path and whether each is an entity of the catalog.
struct Ends {
    from: String,
    to: String,
    from_exists: bool,
    to_exists: bool,
}

/// The relation types a path may follow, as stored, sorted and distinct (`None`: all).
fn path_types(given: &[String]) -> Result<Option<Vec<String>>> {
    let mut types = given
        .iter()
        .map(|t| normalize_type(t))
        .collect::<Result<Vec<_>>>()?;
    types.sort();
    types.dedup();
    Ok((!types.is_empty()).then_some(types))
}

/// One side of the search: node -> (depth, link towards the start of its side).
type Side = HashMap<String, (usize, Option<(String, String)>)>;

/// The state of a bidirectional BFS: each side's visited nodes, frontier and depth, where they
/// met, and whether the visit limit stopped it.
struct Search {
    fwd: Side,
    bwd: Side,
    /// The forward frontier (from `from`) and the backward one (from `to`).
    ff: Vec<String>,
    fb: Vec<String>,
    df: usize,
    db: usize,
    meet: Option<String>,
    stopped: Option<usize>,
}

impl Search {
    fn new(from: &str, to: &str) -> Self {
        let mut fwd = Side::new();
        let mut bwd = Side::new();
        fwd.insert(from.to_string(), (0, None));
        bwd.insert(to.to_string(), (0, None));
        Self {
            fwd,
            bwd,
            ff: vec![from.to_string()],
            fb: vec![to.to_string()],
            df: 0,
            db: 0,
            meet: (from == to).then(|| from.to_string()),
            stopped: None,
        }
    }

    /// Whether to search one more level: not met yet, hops left, neither side exhausted, and
    /// under [`PATH_VISIT_LIMIT`] (else it records where it stopped).
    fn go_on(&mut self, max_depth: usize) -> bool {
        if self.meet.is_some()
            || self.df + self.db >= max_depth
            || self.ff.is_empty()
            || self.fb.is_empty()
        {
            return false;
        }
        if self.fwd.len() + self.bwd.len() > PATH_VISIT_LIMIT {
            self.stopped = Some(self.fwd.len() + self.bwd.len());
            return false;
        }
        true
    }

    /// Takes one level of rows (sorted and distinct) on one side: every new far end is linked
    /// to its near end and becomes the side's next frontier; among those the other side has
    /// seen, the one nearest to the other end (then the smallest ref) is where they meet.
    fn expand(&mut self, rows: Vec<Row3>, forward: bool) {
        let (mine, other, depth) = if forward {
            (&mut self.fwd, &self.bwd, self.df + 1)
        } else {
            (&mut self.bwd, &self.fwd, self.db + 1)
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
            self.ff = next;
            self.df += 1;
        } else {
            self.fb = next;
            self.db += 1;
        }
        self.meet = best.map(|(_, r)| r);
    }

    /// The path through `meet`: walked back to `from`, then forward to `to`.
    fn steps(&self, meet: &str) -> Vec<GraphEdge> {
        let mut steps = Vec::new();
        let mut cur = meet.to_string();
        while let Some((_, Some((prev, t)))) = self.fwd.get(&cur) {
            steps.push(GraphEdge {
                source: prev.clone(),
                relation: t.clone(),
                target: cur.clone(),
            });
            cur = prev.clone();
        }
        steps.reverse();
        let mut cur = meet.to_string();
        while let Some((_, Some((next, t)))) = self.bwd.get(&cur) {
            steps.push(GraphEdge {
                source: cur.clone(),
                relation: t.clone(),
                target: next.clone(),
            });
            cur = next.clone();
        }
        steps
    }
}

/// The message of a path found: the chain of relations.
fn found_message(from: &str, steps: &[GraphEdge]) -> String {
    let mut message = from.to_string();
    for s in steps {
        let _ = write!(message, " -{}-> {}", s.relation, s.target);
    }
    if steps.is_empty() {
        message.push_str(" (the same entity)");
    }
    message
}

/// The message of no path: within how many hops, and why when it can be told.
fn not_found_message(ends: &Ends, search: &Search, max_depth: usize) -> String {
    let Ends { from, to, .. } = ends;
    let mut why = Vec::new();
    if !ends.from_exists {
        why.push(format!("{from} is not an entity of the catalog"));
    }
    if !ends.to_exists {
        why.push(format!("{to} is not an entity of the catalog"));
    }
    if let Some(n) = search.stopped {
        why.push(format!("the search stopped after visiting {n} entities"));
    } else if search.ff.is_empty() || search.fb.is_empty() {
        why.push("every relation reachable from one side was followed".to_string());
    }
    let hops = if max_depth == 1 { "hop" } else { "hops" };
    let mut message = format!("no relation path from {from} to {to} within {max_depth} {hops}");
    if !why.is_empty() {
        let _ = write!(message, " ({})", why.join("; "));
    }
    message
}

impl RelationGraph {
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
        let types = path_types(&opts.types)?;

        let mut tx = self.session().await?;
        let (info, _) = self.node_info(&mut tx, &[from.clone(), to.clone()]).await?;
        let ends = Ends {
            from_exists: info.get(&from).is_some_and(|i| i.0),
            to_exists: info.get(&to).is_some_and(|i| i.0),
            from,
            to,
        };
        let search = self
            .search(&mut tx, &ends, opts.max_depth, types.as_ref())
            .await?;
        tx.commit()
            .await
            .map_err(|e| map_query_error(e, &self.ep))?;

        let steps = search.meet.as_deref().map(|m| search.steps(m));
        let message = match &steps {
            Some(steps) => found_message(&ends.from, steps),
            None => not_found_message(&ends, &search, opts.max_depth),
        };
        Ok(RelationPath {
            from: redact_text(&ends.from),
            to: redact_text(&ends.to),
            max_depth: opts.max_depth,
            found: steps.is_some(),
            hops: steps.as_ref().map(Vec::len),
            steps: steps
                .unwrap_or_default()
                .into_iter()
                .map(redact_edge)
                .collect(),
            from_exists: ends.from_exists,
            to_exists: ends.to_exists,
            message: redact_text(&message),
            notes: self.notes(true),
        })
    }

    /// Runs the bidirectional BFS between the ends, one level query at a time on `conn`.
    async fn search(
        &self,
        conn: &mut PgConnection,
        ends: &Ends,
        max_depth: usize,
        types: Option<&Vec<String>>,
    ) -> Result<Search> {
        let fwd_sql = self.level_sql(Direction::Out, types.is_some(), false);
        let bwd_sql = self.level_sql(Direction::In, types.is_some(), false);
        let mut search = Search::new(&ends.from, &ends.to);
        while search.go_on(max_depth) {
            let forward = search.ff.len() <= search.fb.len();
            let (sql, frontier) = if forward {
                (&fwd_sql, &search.ff)
            } else {
                (&bwd_sql, &search.fb)
            };
            let mut rows = self
                .fetch_level(conn, sql, frontier, types, None)
                .await?
                .iter()
                .map(|r| Ok((get(r, 0)?, get(r, 1)?, get(r, 2)?)))
                .collect::<Result<Vec<Row3>>>()?;
            rows.sort();
            rows.dedup();
            search.expand(rows, forward);
        }
        Ok(search)
    }
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

//! The words every relation-graph question shares: relation types and their reverses
//! ([`reverse_type`], [`canonical_edge`], the normalisation of user-given types and kinds), the
//! [`Direction`] a walk follows, and what comes back — [`GraphEdge`], [`GraphNode`] and its
//! [`NodeStatus`] — and the two small functions the questions build them with (redaction of an
//! edge, the status of a node).
//!
//! A leaf: it uses nothing else of the graph module.

use std::str::FromStr;

use serde::Serialize;

use crate::error::{CoreError, Result};
use crate::redact::redact_text;
use crate::refs::RELATION_PAIRS;

// ---------------------------------------------------------------------------------------------
// Relation types
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
pub(super) fn normalize_type(t: &str) -> Result<String> {
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

/// A user-given kind, lower-cased; a ref or an empty kind is refused.
pub(super) fn normalize_kind(k: &str) -> Result<String> {
    let k = k.trim().to_lowercase();
    if k.is_empty() || k.contains(':') || k.contains('/') {
        return Err(CoreError::config(format!(
            "invalid kind `{k}`: give a bare kind such as component, group or api"
        )));
    }
    Ok(k)
}

// ---------------------------------------------------------------------------------------------
// Direction
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

// ---------------------------------------------------------------------------------------------
// Nodes and edges
// ---------------------------------------------------------------------------------------------

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

/// The status of an entity that is (or is not) final and known (or not) to `refresh_state`.
pub(super) fn status(in_final: bool, in_refresh: bool) -> NodeStatus {
    if in_final {
        NodeStatus::Ok
    } else if in_refresh {
        NodeStatus::Errored
    } else {
        NodeStatus::Missing
    }
}

/// The edge with every part passed through [`redact_text`].
pub(super) fn redact_edge(e: GraphEdge) -> GraphEdge {
    GraphEdge {
        source: redact_text(&e.source),
        relation: redact_text(&e.relation),
        target: redact_text(&e.target),
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
}

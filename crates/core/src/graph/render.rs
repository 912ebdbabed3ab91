//! A [`Graph`] for people and tools: Graphviz DOT ([`to_dot`]) and a Mermaid flowchart
//! ([`to_mermaid`]), with the escaping each needs ([`dot_escape`], [`mermaid_escape`]).
//! Missing entities are drawn dashed red, errored ones dashed orange, roots bold; every edge
//! endpoint is declared as a node, even in a hand-made graph.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;

use super::neighbourhood::Graph;
use super::vocab::{GraphNode, NodeStatus};
use crate::refs::EntityRef;

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

/// A node's label: its ref, and its title on a second line when it has one.
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
    fn escaping() {
        assert_eq!(dot_escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        assert_eq!(mermaid_escape("a\"b#c<d>|"), "a#quot;b#35;c#lt;d#gt;#124;");
    }
}

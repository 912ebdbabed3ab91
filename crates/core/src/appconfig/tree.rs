//! The config tree: `backend.database` as YAML after Backstage's transforms, each leaf knowing
//! where it came from (the app-config file, and a `${VAR}`, `$env` or `$file` it went through),
//! and the deep merge of the files' trees in order, as `ConfigReader` does.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::error::{CoreError, Result};

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Node {
    Map(BTreeMap<String, Node>),
    Seq(Vec<Node>),
    Leaf(Leaf),
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Leaf {
    pub(super) value: Scalar,
    pub(super) origin: Origin,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Scalar {
    Null,
    Bool(bool),
    Number(String),
    Str(String),
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Origin {
    /// The app-config file.
    pub(super) file: PathBuf,
    pub(super) via: Via,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Via {
    /// Written in the file.
    Literal,
    /// `${VAR}` substitutions or `$env`.
    Env(Vec<String>),
    /// `$file`, with the file's absolute path.
    File(PathBuf),
}

impl Origin {
    pub(super) fn source(&self) -> String {
        match &self.via {
            Via::Literal => self.file.display().to_string(),
            Via::Env(vars) => vars
                .iter()
                .map(|v| format!("env {v}"))
                .collect::<Vec<_>>()
                .join(", "),
            Via::File(path) => format!("file {}", path.display()),
        }
    }
}

impl Node {
    pub(super) fn kind(&self) -> &'static str {
        match self {
            Node::Map(_) => "a mapping",
            Node::Seq(_) => "a list",
            Node::Leaf(l) => match l.value {
                Scalar::Null => "empty (null)",
                Scalar::Bool(_) => "a boolean",
                Scalar::Number(_) => "a number",
                Scalar::Str(_) => "a string",
            },
        }
    }

    pub(super) fn first_origin(&self) -> Option<&Origin> {
        match self {
            Node::Leaf(l) => Some(&l.origin),
            Node::Seq(items) => items.iter().find_map(Node::first_origin),
            Node::Map(m) => m.values().find_map(Node::first_origin),
        }
    }

    /// ` in FILE` when the node's file is known.
    pub(super) fn in_file(&self) -> String {
        self.first_origin()
            .map(|o| format!(" in {}", o.file.display()))
            .unwrap_or_default()
    }

    pub(super) fn source(&self) -> String {
        self.first_origin().map(Origin::source).unwrap_or_default()
    }

    /// A scalar as text (`None` for null); an error for mappings and lists. Never quotes the
    /// value, so it is safe for secrets.
    pub(super) fn text(&self, key: &str) -> Result<Option<String>> {
        match self {
            Node::Leaf(l) => Ok(match &l.value {
                Scalar::Null => None,
                Scalar::Bool(b) => Some(b.to_string()),
                Scalar::Number(n) => Some(n.clone()),
                Scalar::Str(s) => Some(s.clone()),
            }),
            other => Err(CoreError::config(format!(
                "{key}{} is {}; expected a single value",
                other.in_file(),
                other.kind()
            ))),
        }
    }

    /// How a (non-secret) value is shown in [`ReadValue`](crate::appconfig::ReadValue).
    pub(super) fn display(&self) -> String {
        match self {
            Node::Leaf(l) => match &l.value {
                Scalar::Null => "null".to_string(),
                Scalar::Bool(b) => b.to_string(),
                Scalar::Number(n) => n.clone(),
                Scalar::Str(s) => s.clone(),
            },
            Node::Seq(_) => "(list)".to_string(),
            Node::Map(_) => "(mapping)".to_string(),
        }
    }
}

/// Deep merge as `ConfigReader` does: mappings key by key, everything else replaced.
pub(super) fn merge(base: Option<Node>, over: Node) -> Node {
    match (base, over) {
        (Some(Node::Map(mut into)), Node::Map(from)) => {
            for (key, value) in from {
                let previous = into.remove(&key);
                into.insert(key, merge(previous, value));
            }
            Node::Map(into)
        }
        (_, over) => over,
    }
}

/// Drops what `null` removed, as `ConfigReader` reads merged layers: a key whose value is
/// `null` is absent (`None` for a null node itself). Lists are kept as they are.
pub(super) fn strip_nulls(node: Node) -> Option<Node> {
    match node {
        Node::Leaf(Leaf {
            value: Scalar::Null,
            ..
        }) => None,
        Node::Map(m) => Some(Node::Map(
            m.into_iter()
                .filter_map(|(k, v)| strip_nulls(v).map(|v| (k, v)))
                .collect(),
        )),
        other => Some(other),
    }
}

/// The file a node came from (its first leaf's), for messages; empty when it has no leaf.
pub(super) fn file_of(node: &Node) -> String {
    node.first_origin()
        .map(|o| o.file.display().to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(s: &str, file: &str) -> Node {
        Node::Leaf(Leaf {
            value: Scalar::Str(s.into()),
            origin: Origin {
                file: file.into(),
                via: Via::Literal,
            },
        })
    }

    fn map(entries: Vec<(&str, Node)>) -> Node {
        Node::Map(
            entries
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        )
    }

    #[test]
    fn merge_is_deep_for_mappings_and_replaces_the_rest() {
        let a = map(vec![
            ("client", leaf("pg", "a")),
            (
                "connection",
                map(vec![("host", leaf("h1", "a")), ("port", leaf("5432", "a"))]),
            ),
            ("list", Node::Seq(vec![leaf("x", "a"), leaf("y", "a")])),
            ("scalar", leaf("s", "a")),
        ]);
        let b = map(vec![
            ("connection", map(vec![("port", leaf("6543", "b"))])),
            ("list", Node::Seq(vec![leaf("z", "b")])),
            ("scalar", map(vec![("now", leaf("a map", "b"))])),
        ]);
        let merged = merge(Some(a), b);
        let expected = map(vec![
            ("client", leaf("pg", "a")),
            (
                "connection",
                map(vec![("host", leaf("h1", "a")), ("port", leaf("6543", "b"))]),
            ),
            ("list", Node::Seq(vec![leaf("z", "b")])),
            ("scalar", map(vec![("now", leaf("a map", "b"))])),
        ]);
        assert_eq!(merged, expected);
        // A scalar over a mapping replaces it too.
        assert_eq!(merge(Some(expected), leaf("x", "c")), leaf("x", "c"));
    }
}

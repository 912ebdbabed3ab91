//! Entity references and the relation types between entities, as Backstage stores them, and
//! the times and durations users type ([`time`]).
//!
//! Backstage stores refs lower-cased as `kind:namespace/name` (`entity_ref` columns,
//! `relations.source_entity_ref`/`target_entity_ref`) and compares them case-insensitively.
//! A ref typed by a user is parsed strictly ([`EntityRef::parse`]); a ref read from a
//! database is split leniently ([`EntityRef::split`]), since a malformed stored row must
//! still be shown; a short ref with a known default kind (a task's creator, a template) is
//! completed by [`normalize_ref`].

pub mod time;

use serde::Serialize;

use crate::error::{CoreError, Result};

/// The relation type pairs Backstage stores both ways; the first of each pair is the canonical
/// direction (the one the originating entity states) and the second its reverse.
pub const RELATION_PAIRS: [(&str, &str); 7] = [
    ("ownedBy", "ownerOf"),
    ("dependsOn", "dependencyOf"),
    ("partOf", "hasPart"),
    ("providesApi", "apiProvidedBy"),
    ("consumesApi", "apiConsumedBy"),
    ("memberOf", "hasMember"),
    ("childOf", "parentOf"),
];

/// An entity reference, normalised as Backstage stores it in `entity_ref` columns
/// (`kind:namespace/name`, lower case).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct EntityRef {
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

impl EntityRef {
    /// Parses a user-given reference, `kind:namespace/name` or `kind:name` (namespace
    /// `default`), case-insensitively.
    pub fn parse(input: &str) -> Result<EntityRef> {
        let s = input.trim();
        let bad = |why: &str| {
            CoreError::config(format!(
                "invalid entity reference `{input}`: {why}; write it as kind:namespace/name or kind:name \
                 (namespace `default`), for example component:default/my-service"
            ))
        };
        let (kind, rest) = s.split_once(':').ok_or_else(|| bad("it has no kind"))?;
        let (namespace, name) = rest.split_once('/').unwrap_or(("default", rest));
        if kind.trim().is_empty() {
            return Err(bad("the kind is empty"));
        }
        if namespace.trim().is_empty() {
            return Err(bad("the namespace is empty"));
        }
        if name.trim().is_empty() {
            return Err(bad("the name is empty"));
        }
        if name.contains('/') || name.contains(':') || kind.contains('/') {
            return Err(bad("too many `:` or `/` separators"));
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad("it contains white space"));
        }
        Ok(EntityRef {
            kind: kind.to_lowercase(),
            namespace: namespace.to_lowercase(),
            name: name.to_lowercase(),
        })
    }

    /// Splits a stored ref; the kind is lower-cased, a missing namespace is `default`, and
    /// parts missing from a malformed ref are empty.
    pub fn split(stored: &str) -> EntityRef {
        let (kind, rest) = stored.split_once(':').unwrap_or(("", stored));
        let (namespace, name) = rest.split_once('/').unwrap_or(("default", rest));
        EntityRef {
            kind: kind.to_lowercase(),
            namespace: namespace.to_string(),
            name: name.to_string(),
        }
    }
}

impl EntityRef {
    /// The path of the entity's page in Backstage's UI: `/catalog/<namespace>/<kind>/<name>`.
    pub fn catalog_path(&self) -> String {
        format!("/catalog/{}/{}/{}", self.namespace, self.kind, self.name)
    }
}

/// The kind part of a stored ref as written (`component` of `component:default/x`; empty
/// without a kind), without allocating: for filters run on every neighbour of a graph.
pub fn kind_of(stored: &str) -> &str {
    stored.split_once(':').map_or("", |(k, _)| k)
}

impl std::fmt::Display for EntityRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}/{}", self.kind, self.namespace, self.name)
    }
}

/// Parses a user-given ref ([`EntityRef::parse`]) into the stored `kind:namespace/name` form.
pub fn parse_ref(input: &str) -> Result<String> {
    EntityRef::parse(input).map(|r| r.to_string())
}

/// Normalises a ref typed by a user where the kind is known from the context: adds
/// `default_kind` and the `default` namespace when absent, and lower-cases it.
pub fn normalize_ref(input: &str, default_kind: &str) -> String {
    let s = input.trim();
    let (kind, rest) = match s.split_once(':') {
        Some((k, r)) if !k.contains('/') => (k, r),
        _ => (default_kind, s),
    };
    let (ns, name) = rest.split_once('/').unwrap_or(("default", rest));
    format!("{kind}:{ns}/{name}").to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refs_parse_case_insensitively_with_default_namespace() {
        let r = EntityRef::parse(" Component:Default/Artist-Lookup ").unwrap();
        assert_eq!(r.to_string(), "component:default/artist-lookup");
        assert_eq!(
            parse_ref("api:petstore").ok().as_deref(),
            Some("api:default/petstore")
        );
        assert_eq!(
            parse_ref(" group:team-a ").ok().as_deref(),
            Some("group:default/team-a")
        );
        let e = EntityRef::parse("artist-lookup").unwrap_err().to_string();
        assert!(
            e.contains("has no kind") && e.contains("kind:namespace/name"),
            "{e}"
        );
        for bad in [
            "foo",
            ":x",
            "a:",
            "a:/b",
            "a:b/",
            "a:b/c/d",
            "a b:c",
            "a:b:c",
            "component:/x",
            ":default/x",
        ] {
            let e = parse_ref(bad)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(e.contains("kind:namespace/name"), "{bad}: {e}");
        }
    }

    #[test]
    fn stored_refs_split_leniently() {
        assert_eq!(
            EntityRef::split("Component:default/x"),
            EntityRef {
                kind: "component".into(),
                namespace: "default".into(),
                name: "x".into()
            }
        );
        assert_eq!(EntityRef::split("x").to_string(), ":default/x");
        assert_eq!(
            EntityRef::split("component:default/svc").catalog_path(),
            "/catalog/default/component/svc"
        );
        assert_eq!(kind_of("Group:default/a"), "Group");
        assert_eq!(kind_of("a"), "");
    }

    #[test]
    fn short_refs_take_the_default_kind() {
        assert_eq!(normalize_ref("ada", "user"), "user:default/ada");
        assert_eq!(normalize_ref("User:Acme/Ada", "user"), "user:acme/ada");
        assert_eq!(normalize_ref("acme/x", "template"), "template:acme/x");
    }
}

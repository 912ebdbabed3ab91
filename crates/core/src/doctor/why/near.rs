//! The refs closest to one that is nowhere in the catalog: the same name in another namespace
//! or of another kind, and near names (typos) ranked by edit distance. The candidates are a
//! bounded set read with plain SQL (equal names, the same kind and namespace, names sharing a
//! beginning or an end), ranked here; no extension (`pg_trgm`, `fuzzystrmatch`) is needed.

use serde::Serialize;
use sqlx::Row;

use crate::connect::{Endpoint, PgPool};
use crate::error::Result;
use crate::refs::EntityRef;
use crate::sql::{Param, Sql, like_escape, qualified};

/// The most suggestions given.
pub const MAX_SUGGESTIONS: usize = 5;
/// The most candidates each part of the candidate query reads.
const CANDIDATES: i64 = 2000;

/// An existing ref close to the one asked about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "RefSuggestion"))]
pub struct Suggestion {
    pub entity_ref: String,
    /// How it differs, in a few words: `same name in namespace acme`, `1 edit away`.
    pub reason: String,
    /// Its rank: edits to the name, plus one for another kind and one for another namespace.
    pub distance: u32,
}

/// Levenshtein distance over characters.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The edits a name of `len` characters may be away to be suggested: 1 for short names, about
/// a third of the name for longer ones, at most 4.
fn max_edits(len: usize) -> usize {
    (len / 3).clamp(1, 4)
}

/// Ranks `candidates` (stored refs) against `wanted`; the closest first, at most
/// [`MAX_SUGGESTIONS`].
pub(crate) fn rank(wanted: &EntityRef, candidates: &[String]) -> Vec<Suggestion> {
    let mut out: Vec<Suggestion> = Vec::new();
    for c in candidates {
        let got = EntityRef::split(c);
        let name = got.name.to_lowercase();
        let ns = got.namespace.to_lowercase();
        let edits = edit_distance(&wanted.name, &name);
        let contains = wanted.name.chars().count() >= 3
            && name.chars().count() >= 3
            && (name.contains(&wanted.name) || wanted.name.contains(&name));
        if edits > max_edits(wanted.name.chars().count()) && !contains {
            continue;
        }
        let other_kind = got.kind != wanted.kind;
        let other_ns = ns != wanted.namespace;
        if edits == 0 && !other_kind && !other_ns {
            continue;
        }
        let mut why = Vec::new();
        match edits {
            0 => why.push("same name".to_string()),
            1 => why.push("1 edit away".to_string()),
            n if n <= max_edits(wanted.name.chars().count()) => why.push(format!("{n} edits away")),
            _ => why.push("a name that contains the other".to_string()),
        }
        if other_kind {
            why.push(format!("kind {}", got.kind));
        }
        if other_ns {
            why.push(format!("namespace {ns}"));
        }
        let distance = edits.min(50) as u32 + u32::from(other_kind) + u32::from(other_ns);
        out.push(Suggestion {
            entity_ref: c.clone(),
            reason: why.join(", "),
            distance,
        });
    }
    out.sort_by(|a, b| {
        a.distance
            .cmp(&b.distance)
            .then(a.entity_ref.cmp(&b.entity_ref))
    });
    out.dedup_by(|a, b| a.entity_ref == b.entity_ref);
    out.truncate(MAX_SUGGESTIONS);
    out
}

/// The statement that reads the candidates for `wanted` from `refresh_state` in `schema`.
pub(crate) fn candidates_sql(schema: &str, wanted: &EntityRef) -> Sql {
    let rs = qualified(schema, "refresh_state");
    let mut sql = Sql::new();
    let name = sql.text(wanted.name.clone());
    let same_place = sql.text(format!(
        "{}%",
        like_escape(&format!("{}:{}/", wanted.kind, wanted.namespace))
    ));
    let chars: Vec<char> = wanted.name.chars().collect();
    let head: String = chars.iter().take(3).collect();
    let tail: String = chars[chars.len().saturating_sub(3)..].iter().collect();
    let head = sql.text(format!("{}%", like_escape(&head)));
    let tail = sql.text(format!("%{}", like_escape(&tail)));
    let lim = sql.bind(Param::Int(CANDIDATES));
    let n = "lower(split_part(entity_ref::text, '/', 2))";
    sql.text = format!(
        "SELECT DISTINCT c.r FROM (\
           (SELECT entity_ref::text AS r FROM {rs} WHERE {n} = {name} LIMIT {lim}) \
           UNION ALL (SELECT entity_ref::text FROM {rs} WHERE lower(entity_ref::text) LIKE {same_place} LIMIT {lim}) \
           UNION ALL (SELECT entity_ref::text FROM {rs} WHERE {n} LIKE {head} LIMIT {lim}) \
           UNION ALL (SELECT entity_ref::text FROM {rs} WHERE {n} LIKE {tail} LIMIT {lim})\
         ) c"
    );
    sql
}

/// The existing refs closest to `wanted`.
pub(crate) async fn closest(
    pool: &PgPool,
    ep: &Endpoint,
    schema: &str,
    wanted: &EntityRef,
) -> Result<Vec<Suggestion>> {
    let rows = candidates_sql(schema, wanted).fetch_all(pool, ep).await?;
    let refs: Vec<String> = rows.iter().map(|r| r.get::<String, _>("r")).collect();
    Ok(rank(wanted, &refs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_count_characters() {
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("artist-lookup", "artist-lokup"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("ü", "u"), 1);
    }

    #[test]
    fn close_refs_rank_first() {
        let wanted = EntityRef::parse("component:default/cart-servce").unwrap();
        let got = rank(
            &wanted,
            &[
                "component:default/cart-service".into(),
                "api:default/cart-service".into(),
                "component:default/payments".into(),
                "component:acme/cart-servce".into(),
            ],
        );
        let refs: Vec<&str> = got.iter().map(|s| s.entity_ref.as_str()).collect();
        assert_eq!(
            refs,
            [
                "component:acme/cart-servce",
                "component:default/cart-service",
                "api:default/cart-service"
            ]
        );
        assert_eq!(got[0].reason, "same name, namespace acme");
        assert_eq!(got[1].reason, "1 edit away");
    }
}

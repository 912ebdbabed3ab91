//! What to say when a table is not where it was looked for: the existing names closest to the
//! one given ([`closest_names`], also used for unknown columns), what the famous wrong names
//! really are ([`explain_missing_table`]: `techdocs_metadata`, `documents_search`,
//! `refresh_tokens`), and the `NotFound` error that says both and where it looked.

use std::collections::BTreeSet;

use crate::error::CoreError;
use crate::schema::DbSchema;

use super::scope::Scope;

/// Where TechDocs metadata really lives: in no table (TechDocs has none) but in a file beside
/// each built site; [`crate::techdocs`] shows it as its `METADATA_EXPLANATION`.
pub const TECHDOCS_METADATA_EXPLANATION: &str = "TechDocs keeps no tables in any database. The metadata of each built \
site is a file, `techdocs_metadata.json`, stored beside the site in the TechDocs publisher's storage, at \
`<namespace>/<kind>/<name>/techdocs_metadata.json`: with `techdocs.publisher.type: local` under \
`techdocs.publisher.local.publishDirectory` (by default the techdocs-backend package's `static/docs` folder), \
with googleGcs, awsS3, azureBlobStorage or openStackSwift in that bucket or container. What the databases \
know about TechDocs is the `backstage.io/techdocs-ref` annotation of catalog entities (`bsi techdocs`) and the \
`techdocs` documents of the search index (`bsi search QUERY --type techdocs`).";

const DOCUMENTS_SEARCH_EXPLANATION: &str = "There is no `documents_search` table in Backstage. The full-text \
search index of search-backend-module-pg is the table `documents` in the search plugin's database \
(`backstage_plugin_search` by default): `type`, `document` (jsonb), `body` (a tsvector generated from the \
document) and `hash`. `bsi search QUERY` searches it and `bsi table documents --area search` browses it. \
(The catalog's own `search` table, in the catalog database, is a key/value filter index, not full-text search.)";

const REFRESH_TOKENS_EXPLANATION: &str = "There is no `refresh_tokens` table in Backstage. Refresh tokens \
(OIDC offline access of the auth backend) are the rows of `offline_sessions` in the auth plugin's database \
(`backstage_plugin_auth` by default): one row per user and OIDC client, holding only a scrypt hash of the \
token (`token_hash`), never the token itself. `bsi table offline_sessions --area auth` browses it, with \
`token_hash` masked.";

/// A clear message for table names that people look for but that do not exist in Backstage
/// (`techdocs_metadata`, `documents_search`, `refresh_tokens`, and close variants, with or
/// without a schema or quotes); `None` for any other name.
pub fn explain_missing_table(name: &str) -> Option<&'static str> {
    let mut n = name
        .trim()
        .trim_matches('"')
        .replace('"', "")
        .to_ascii_lowercase();
    if let Some(stem) = n.strip_suffix(".json") {
        n = stem.to_string();
    }
    let n = n.rsplit('.').next().unwrap_or_default().replace('-', "_");
    match n.as_str() {
        "techdocs_metadata" | "techdoc_metadata" | "techdocs_metadatas" | "techdocs_meta"
        | "techdocs" => Some(TECHDOCS_METADATA_EXPLANATION),
        "documents_search" | "document_search" | "search_documents" | "search_document" => {
            Some(DOCUMENTS_SEARCH_EXPLANATION)
        }
        "refresh_tokens" | "refresh_token" | "refreshtokens" => Some(REFRESH_TOKENS_EXPLANATION),
        _ => None,
    }
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The existing names closest to `wanted`, best first: names sharing a word (split on `_`),
/// containing it or contained in it rank first, then by edit distance.
pub fn closest_names<'a>(
    wanted: &str,
    names: impl IntoIterator<Item = &'a str>,
    n: usize,
) -> Vec<String> {
    let w = wanted.to_ascii_lowercase();
    let words: BTreeSet<&str> = w.split('_').filter(|p| p.len() > 2).collect();
    let mut scored: Vec<(usize, usize, String)> = names
        .into_iter()
        .map(|name| {
            let l = name.to_ascii_lowercase();
            let shared = l.split('_').filter(|p| words.contains(p)).count();
            let contains = usize::from(l.contains(&w) || w.contains(&l));
            let rank = 10 - (shared + 2 * contains).min(10);
            (rank, levenshtein(&w, &l), name.to_string())
        })
        .collect();
    scored.sort();
    let best: Vec<String> = scored
        .iter()
        .filter(|(rank, dist, name)| *rank < 10 || *dist <= name.len().max(w.len()) / 2)
        .take(n)
        .map(|(_, _, s)| s.clone())
        .collect();
    if best.is_empty() {
        scored.into_iter().take(n).map(|(_, _, s)| s).collect()
    } else {
        best
    }
}

/// The error for a table `wanted` that none of the scopes `found` (with their live schemas)
/// holds.
pub(super) fn not_found_table(wanted: &str, found: &[(Scope, DbSchema)]) -> CoreError {
    let mut candidates: Vec<(String, String)> = Vec::new();
    for (scope, schema) in found {
        for t in schema.tables.keys() {
            candidates.push((t.clone(), scope.label()));
        }
    }
    let closest = closest_names(wanted, candidates.iter().map(|(t, _)| t.as_str()), 5);
    let mut hint = String::new();
    if let Some(explain) = explain_missing_table(wanted) {
        // It follows "table `x` not found; ".
        let mut chars = explain.chars();
        if let Some(first) = chars.next() {
            hint.push(first.to_ascii_lowercase());
            hint.push_str(chars.as_str());
        }
        hint.push(' ');
    }
    let where_ = found
        .iter()
        .map(|(s, _)| s.label())
        .collect::<Vec<_>>()
        .join(", ");
    if found.is_empty() {
        hint.push_str(
            "no Backstage database was found to look in; check the profile (`bsi databases`)",
        );
    } else if closest.is_empty() {
        hint.push_str(&format!("{where_} has no tables"));
    } else {
        let named: Vec<String> = closest
            .iter()
            .map(|t| {
                let at: Vec<&str> = candidates
                    .iter()
                    .filter(|(c, _)| c == t)
                    .map(|(_, s)| s.as_str())
                    .collect();
                format!("{t} ({})", at.join(", "))
            })
            .collect();
        hint.push_str(&format!(
            "looked in {where_}; the closest existing tables are {}; `bsi tables` lists them all",
            named.join(", ")
        ));
    }
    CoreError::NotFound {
        what: "table",
        name: wanted.to_string(),
        hint: Some(hint),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_values_are_escaped_and_names_ranked() {
        let names = ["documents", "refresh_state", "relations", "search"];
        assert_eq!(
            closest_names("documents_search", names, 2),
            vec!["documents", "search"]
        );
        assert_eq!(
            closest_names("refresh_stat", names, 1),
            vec!["refresh_state"]
        );
        assert_eq!(levenshtein("kitten", "sitting"), 3);
    }

    #[test]
    fn famous_wrong_names_are_explained() {
        assert!(
            explain_missing_table("techdocs_metadata")
                .unwrap()
                .contains("techdocs_metadata.json")
        );
        assert!(explain_missing_table("public.\"techdocs_metadata\"").is_some());
        assert!(explain_missing_table("techdocs_metadata.json").is_some());
        assert!(
            explain_missing_table("DOCUMENTS_SEARCH")
                .unwrap()
                .contains("`documents`")
        );
        assert!(
            explain_missing_table("refresh_tokens")
                .unwrap()
                .contains("offline_sessions")
        );
        assert!(explain_missing_table("refresh_state").is_none());
        assert!(explain_missing_table("").is_none());
    }
}

//! The search index of search-backend-module-pg: the `documents` table of the search plugin's
//! database (`type`, `document` jsonb, `body` tsvector generated from the document, `hash`).
//!
//! This module owns: the document types with their counts ([`document_types`]) and full-text
//! search ([`search`]) with the same text search configuration as the generated `body` column
//! (`english`: title weighted A, text B, the other fields C), `websearch_to_tsquery`, ranking
//! by `ts_rank_cd`, keyset pages on (rank, hash), and highlighted fragments of the title and
//! the text (`ts_headline`) delimited by [`HIGHLIGHT_START`] and [`HIGHLIGHT_END`], private-use
//! characters that no document holds (they are stripped from the text before highlighting),
//! which the UI and the CLI render ([`highlight_segments`], [`render_highlight`]). Documents
//! pass [`redact_json`] before they leave.
//!
//! Performance: the match uses the GIN index on `body` (`documents_body_index`), the type
//! filter the btree on `type`; ranking and highlighting touch only the matches, and
//! `ts_headline` runs only on the page's rows.

use serde::Serialize;
use serde_json::Value;
use sqlx::Row;

use crate::connect::{Connections, map_query_error};
use crate::error::{CoreError, Result};
use crate::page::{Page, decode_cursor, encode_cursor, limit};
use crate::redact::{redact_json, redact_text};
use crate::schema::{DbSchema, Need};
use crate::sql::quote_ident;
use crate::tables::{Scope, area_scope};

/// The text search configuration of the generated `body` column.
pub const TS_CONFIG: &str = "english";
/// Starts a highlighted term in [`SearchHit::title_highlight`] and [`SearchHit::text_highlight`].
pub const HIGHLIGHT_START: &str = "\u{E000}";
/// Ends a highlighted term.
pub const HIGHLIGHT_END: &str = "\u{E001}";

const NEED: Need = Need {
    table: "documents",
    columns: &["type", "document", "body", "hash"],
    since: "created by search-backend-module-pg (body and hash since its 2021 delta_update migration); \
            without it this Backstage does not use PostgreSQL for search",
};

/// The scope of the search index.
pub fn search_scope(conns: &Connections) -> Result<Scope> {
    area_scope(conns, "search")
}

async fn open(conns: &Connections, view: &str) -> Result<(Scope, crate::connect::PgPool)> {
    let scope = search_scope(conns)?;
    let pool = conns.pool(&scope.endpoint).await?;
    let schema = DbSchema::read(&pool, &scope.endpoint, &scope.schema).await?;
    schema.check(view, &[NEED])?;
    Ok((scope, pool))
}

/// One document type with its number of documents.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DocumentTypeCount {
    #[serde(rename = "type")]
    pub doc_type: String,
    pub count: i64,
}

/// The SQL of [`document_types`].
pub fn document_types_sql(schema: &str) -> String {
    format!(
        "SELECT type, count(*) AS n FROM {}.documents GROUP BY type ORDER BY type",
        quote_ident(schema)
    )
}

/// The document types of the index (`software-catalog`, `techdocs`...) with their counts.
pub async fn document_types(conns: &Connections) -> Result<Vec<DocumentTypeCount>> {
    let (scope, pool) = open(conns, "Search document types").await?;
    let rows = sqlx::query(sqlx::AssertSqlSafe(document_types_sql(&scope.schema)))
        .fetch_all(&pool)
        .await
        .map_err(|e| map_query_error(e, &scope.endpoint))?;
    Ok(rows
        .iter()
        .map(|r| DocumentTypeCount {
            doc_type: r.get("type"),
            count: r.get("n"),
        })
        .collect())
}

/// A full-text search.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default)]
pub struct SearchQuery {
    /// Web-search syntax: words, `"quoted phrases"`, `or`, `-excluded`.
    pub query: String,
    /// Only documents of this type.
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub doc_type: Option<String>,
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub limit: Option<usize>,
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub cursor: Option<String>,
}

/// One match.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SearchHit {
    #[serde(rename = "type")]
    pub doc_type: String,
    /// `ts_rank_cd` of the document's body for the query.
    pub rank: f32,
    pub title: Option<String>,
    pub location: Option<String>,
    /// The title with the matching terms between [`HIGHLIGHT_START`] and [`HIGHLIGHT_END`].
    pub title_highlight: String,
    /// Up to two fragments of the text around the matches, joined by ` … `, highlighted alike.
    pub text_highlight: String,
    /// The whole document, redacted.
    #[cfg_attr(feature = "ts", ts(type = "unknown"))]
    pub document: Value,
}

/// A page of matches.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SearchResults {
    pub query: String,
    /// The query as PostgreSQL understood it (`websearch_to_tsquery`), e.g. `'team' & 'alpha'`.
    pub tsquery: String,
    /// All matching documents (of the type, when one is given).
    pub total: i64,
    #[serde(flatten)]
    pub page: Page<SearchHit>,
    /// Something the user should know, e.g. that the query held only stop words.
    pub notice: Option<String>,
    /// The SQL that ran (values are bound): `$1` the query, `$2` the highlight markers,
    /// `$3` and `$4` the `ts_headline` options for title and text, `$5` the limit plus one,
    /// then the type and the cursor's rank and hash when given.
    pub sql: String,
}

/// The `ts_headline` options for titles.
pub fn title_headline_options() -> String {
    format!("HighlightAll=true, StartSel=\"{HIGHLIGHT_START}\", StopSel=\"{HIGHLIGHT_END}\"")
}

/// The `ts_headline` options for texts: up to two fragments around the matches.
pub fn text_headline_options() -> String {
    format!(
        "MaxWords=30, MinWords=12, ShortWord=3, MaxFragments=2, FragmentDelimiter=\" … \", \
         StartSel=\"{HIGHLIGHT_START}\", StopSel=\"{HIGHLIGHT_END}\""
    )
}

/// The SQL of [`search`]. Binds: `$1` query text, `$2` the marker characters to strip,
/// `$3` title options, `$4` text options, `$5` limit + 1, then (when `with_type`) the type,
/// then (when `with_cursor`) the rank (`real`) and the hash (hex) of the previous page's last hit.
pub fn search_sql(schema: &str, with_type: bool, with_cursor: bool) -> String {
    let s = quote_ident(schema);
    let mut n = 5;
    let mut next = || {
        n += 1;
        format!("${n}")
    };
    let type_cond = if with_type {
        format!(" AND d.type = {}", next())
    } else {
        String::new()
    };
    let cursor_cond = if with_cursor {
        let (r, h) = (next(), next());
        format!(
            " WHERE (m.rank < {r}::real OR (m.rank = {r}::real AND m.hash > decode({h}, 'hex')))"
        )
    } else {
        String::new()
    };
    format!(
        "WITH q AS MATERIALIZED (SELECT websearch_to_tsquery('{TS_CONFIG}', $1) AS q), \
         matched AS MATERIALIZED ( \
           SELECT d.hash, ts_rank_cd(d.body, q.q) AS rank \
           FROM {s}.documents d, q WHERE d.body @@ q.q{type_cond}), \
         page AS ( \
           SELECT m.hash, m.rank FROM matched m{cursor_cond} ORDER BY m.rank DESC, m.hash LIMIT $5) \
         SELECT t.total, q.q::text AS tsq, d.type, d.document::text AS document, p.rank, \
                encode(p.hash, 'hex') AS hash, \
                ts_headline('{TS_CONFIG}', translate(coalesce(d.document->>'title', ''), $2, ''), q.q, $3) AS title_hl, \
                ts_headline('{TS_CONFIG}', translate(coalesce(d.document->>'text', ''), $2, ''), q.q, $4) AS text_hl \
         FROM (SELECT count(*) AS total FROM matched) t CROSS JOIN q \
         LEFT JOIN (page p JOIN {s}.documents d ON d.hash = p.hash) ON true \
         ORDER BY p.rank DESC, p.hash"
    )
}

/// Full-text search of the index, best matches first, a page at a time.
pub async fn search(conns: &Connections, q: &SearchQuery) -> Result<SearchResults> {
    if q.query.trim().is_empty() {
        return Err(CoreError::config(
            "give words to search for, e.g. `bsi search \"payment service\"`",
        ));
    }
    let (scope, pool) = open(conns, "Search").await?;
    let n = limit(q.limit);
    let cursor = match q.cursor.as_deref() {
        Some(c) => {
            let bad = || {
                CoreError::config(format!(
                    "invalid page cursor `{c}`: use the next_cursor value of the previous page unchanged"
                ))
            };
            let v = decode_cursor(c, 2)?;
            let rank = v[0].as_f64().ok_or_else(bad)? as f32;
            let hash = v[1].as_str().ok_or_else(bad)?.to_string();
            if !hash.chars().all(|ch| ch.is_ascii_hexdigit()) {
                return Err(bad());
            }
            Some((rank, hash))
        }
        None => None,
    };
    let doc_type = q
        .doc_type
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let sql = search_sql(&scope.schema, doc_type.is_some(), cursor.is_some());
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
        .bind(q.query.trim())
        .bind(format!("{HIGHLIGHT_START}{HIGHLIGHT_END}"))
        .bind(title_headline_options())
        .bind(text_headline_options())
        .bind((n + 1) as i64);
    if let Some(t) = doc_type {
        query = query.bind(t);
    }
    if let Some((rank, hash)) = &cursor {
        query = query.bind(*rank).bind(hash);
    }
    let rows = query
        .fetch_all(&pool)
        .await
        .map_err(|e| map_query_error(e, &scope.endpoint))?;
    let mut total = 0;
    let mut tsquery = String::new();
    let mut hits = Vec::new();
    let mut keys = Vec::new();
    for r in &rows {
        total = r.get::<i64, _>("total");
        tsquery = r.get::<Option<String>, _>("tsq").unwrap_or_default();
        let Some(doc_type) = r.get::<Option<String>, _>("type") else {
            continue;
        };
        let raw: String = r.get("document");
        let mut document: Value = serde_json::from_str(&raw).unwrap_or(Value::Null);
        redact_json(&mut document);
        let field = |k: &str| document.get(k).and_then(Value::as_str).map(str::to_string);
        let rank: f32 = r.get("rank");
        keys.push((rank, r.get::<String, _>("hash")));
        hits.push(SearchHit {
            doc_type,
            rank,
            title: field("title"),
            location: field("location"),
            title_highlight: redact_text(
                &r.get::<Option<String>, _>("title_hl").unwrap_or_default(),
            ),
            text_highlight: redact_text(&r.get::<Option<String>, _>("text_hl").unwrap_or_default()),
            document,
        });
    }
    let next_cursor = if hits.len() > n {
        hits.truncate(n);
        keys.get(n - 1).map(|(rank, hash)| {
            encode_cursor(&[Value::from(f64::from(*rank)), Value::String(hash.clone())])
        })
    } else {
        None
    };
    let notice = tsquery.trim().is_empty().then(|| {
        format!(
            "`{}` holds no searchable words for the `{TS_CONFIG}` configuration (only stop words such as \
             `the` or `and`, or punctuation); search for other words",
            q.query.trim()
        )
    });
    Ok(SearchResults {
        query: q.query.trim().to_string(),
        tsquery,
        total,
        page: Page {
            items: hits,
            next_cursor,
        },
        notice,
        sql,
    })
}

/// Splits a highlighted string into `(highlighted, text)` segments.
pub fn highlight_segments(s: &str) -> Vec<(bool, &str)> {
    let mut out = Vec::new();
    let mut rest = s;
    let mut on = false;
    while !rest.is_empty() {
        let marker = if on { HIGHLIGHT_END } else { HIGHLIGHT_START };
        match rest.find(marker) {
            Some(i) => {
                if i > 0 {
                    out.push((on, &rest[..i]));
                }
                rest = &rest[i + marker.len()..];
                on = !on;
            }
            None => {
                out.push((on, rest));
                break;
            }
        }
    }
    out
}

/// Replaces the highlight markers with `pre` and `post` (e.g. ANSI bold, `<mark>`, `**`).
pub fn render_highlight(s: &str, pre: &str, post: &str) -> String {
    highlight_segments(s)
        .into_iter()
        .map(|(on, t)| {
            if on {
                format!("{pre}{t}{post}")
            } else {
                t.to_string()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn highlights_split_and_render() {
        let s = format!("Runbook of {HIGHLIGHT_START}team{HIGHLIGHT_END} alpha");
        assert_eq!(
            highlight_segments(&s),
            vec![(false, "Runbook of "), (true, "team"), (false, " alpha")]
        );
        assert_eq!(render_highlight(&s, "[", "]"), "Runbook of [team] alpha");
        assert_eq!(render_highlight("plain", "[", "]"), "plain");
    }

    #[test]
    fn sql_numbers_its_binds() {
        let sql = search_sql("public", true, true);
        assert!(
            sql.contains("d.type = $6")
                && sql.contains("$7::real")
                && sql.contains("decode($8, 'hex')")
        );
        assert!(search_sql("public", false, true).contains("$6::real"));
    }
}

//! The one SQL vocabulary of the core: every statement the inspector sends is an [`Sql`] (text
//! with `$n` placeholders and its bound values), identifiers enter text only through
//! [`quote_ident`], user text used in `LIKE` goes through [`like_escape`], and timestamps are
//! turned into text by [`iso_text`] / [`micros`]. [`split`] cuts SQL files into statements.
//!
//! Every area module builds its queries here, so that each operation can hand the exact
//! statement it runs to a benchmark (the `*_sql` twins) and no value is ever formatted into SQL.

mod split;

use serde::Serialize;
use sqlx::postgres::{PgArguments, PgRow};

use crate::connect::{Endpoint, PgPool, map_query_error};
use crate::error::{CoreError, Result};

pub use split::{Statement, comment_end, split};

/// One SQL statement: the text and its bound parameters, in order.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Sql {
    pub text: String,
    pub params: Vec<Param>,
    /// Planned for its parameter values on every run (an unnamed statement) rather than
    /// prepared once: set for filters, whose selectivity varies by orders of magnitude with
    /// the value (a `LIKE '%word%'` on a common word or a rare one). A prepared statement
    /// switches to a generic plan after five runs, which for the free-text filter on 100,000
    /// entities was 150 ms instead of 30 ms.
    #[serde(skip)]
    pub replan: bool,
}

/// A value bound to a `$n` placeholder of an [`Sql`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Param {
    Text(String),
    /// Text, or NULL (a cursor value of a nullable column, an unset filter).
    OptText(Option<String>),
    TextArray(Vec<String>),
    Int(i64),
    Float(f64),
}

impl Sql {
    pub fn new() -> Self {
        Sql::default()
    }

    /// Adds a parameter and returns its placeholder (`$n`).
    pub fn bind(&mut self, p: Param) -> String {
        self.params.push(p);
        format!("${}", self.params.len())
    }

    /// Binds a text value and returns its placeholder.
    pub fn text(&mut self, v: impl Into<String>) -> String {
        self.bind(Param::Text(v.into()))
    }

    /// The statement ready to run, with every parameter bound.
    pub fn query(&self) -> sqlx::query::Query<'static, sqlx::Postgres, PgArguments> {
        let mut q = sqlx::query(sqlx::AssertSqlSafe(self.text.clone())).persistent(!self.replan);
        for p in &self.params {
            q = match p {
                Param::Text(s) => q.bind(s.clone()),
                Param::OptText(s) => q.bind(s.clone()),
                Param::TextArray(a) => q.bind(a.clone()),
                Param::Int(i) => q.bind(*i),
                Param::Float(f) => q.bind(*f),
            };
        }
        q
    }

    /// The same parameters with the text made by `f` from this statement's text (a statement
    /// wrapped in another, such as `DECLARE ... CURSOR FOR`).
    pub fn wrapped(&self, f: impl FnOnce(&str) -> String) -> Sql {
        Sql {
            text: f(&self.text),
            params: self.params.clone(),
            replan: self.replan,
        }
    }

    /// Runs the statement and reads every row; errors are classified by [`query_error`].
    pub async fn fetch_all(&self, pool: &PgPool, ep: &Endpoint) -> Result<Vec<PgRow>> {
        self.query()
            .fetch_all(pool)
            .await
            .map_err(|e| query_error(e, ep))
    }
}

/// Maps a query error, turning PostgreSQL's rejection of a time or id value into a config
/// error that says what to pass instead.
pub fn query_error(e: sqlx::Error, ep: &Endpoint) -> CoreError {
    if let sqlx::Error::Database(db) = &e {
        match db.code().as_deref() {
            Some("22007" | "22008") => {
                return CoreError::config(format!(
                    "{}: give times as an ISO date or timestamp (2026-01-31, 2026-01-31T12:00:00Z) or as a \
                     relative age (30m, 24h, 7d, 2w)",
                    db.message()
                ));
            }
            Some("22P02") if db.message().contains("uuid") => {
                return CoreError::config(format!(
                    "{}: task ids are UUIDs (like 0cc2227c-c40d-4d4f-8226-0a70be545c0d); `bsi tasks` lists them",
                    db.message()
                ));
            }
            _ => {}
        }
    }
    map_query_error(e, ep)
}

/// Quotes an identifier for PostgreSQL. The one place identifiers enter SQL text.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `table` qualified by `schema`, both quoted.
pub fn qualified(schema: &str, table: &str) -> String {
    format!("{}.{}", quote_ident(schema), quote_ident(table))
}

/// Escapes `\`, `%` and `_` so that `v` matches itself literally in a `LIKE` pattern
/// (PostgreSQL's default escape character is the backslash).
pub fn like_escape(v: &str) -> String {
    let mut s = String::with_capacity(v.len() + 2);
    for ch in v.chars() {
        if matches!(ch, '\\' | '%' | '_') {
            s.push('\\');
        }
        s.push(ch);
    }
    s
}

/// A `LIKE` pattern matching any text that contains `v` literally.
pub fn like_contains(v: &str) -> String {
    format!("%{}%", like_escape(v))
}

/// An SQL expression that formats a `timestamptz` as UTC ISO 8601 with microseconds; the text
/// round-trips exactly through `::timestamptz`, which keyset cursors rely on.
pub fn iso_text(expr: &str) -> String {
    format!(r#"to_char({expr} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"#)
}

/// An SQL expression giving a `timestamptz` as microseconds since the epoch.
pub fn micros(expr: &str) -> String {
    format!("(extract(epoch FROM {expr}) * 1000000)::bigint")
}

/// An SQL expression giving how many whole seconds ago the `timestamptz` `expr` was, by the
/// server's clock (`now()`), or NULL when it is NULL.
pub fn age_secs(expr: &str) -> String {
    format!("(extract(epoch FROM now() - {expr}))::bigint")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binds_number_placeholders_in_order() {
        let mut q = Sql::new();
        assert_eq!(q.text("a"), "$1");
        assert_eq!(q.bind(Param::Int(2)), "$2");
        assert_eq!(q.params, vec![Param::Text("a".into()), Param::Int(2)]);
    }

    #[test]
    fn quoting_and_like_escaping() {
        assert_eq!(quote_ident(r#"a"b"#), r#""a""b""#);
        assert_eq!(qualified("public", "tasks"), r#""public"."tasks""#);
        assert_eq!(like_escape(r"50%_a\b"), r"50\%\_a\\b");
        assert_eq!(like_contains("x_y"), r"%x\_y%");
    }
}

//! The plain summary `bsi sessions` opens with: how many sessions of each kind there are and
//! which token material the auth database stores, in sentences. Only counts and NULL tests
//! are read: no hash, code, session id or `sess` value is selected.

use serde::Serialize;
use sqlx::Row;

use super::handle::Auth;
use crate::error::Result;
use crate::sql::{Sql, query_error};

/// Counts per kind (absent when this database lacks the table) and what they mean.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SessionsSummary {
    /// `offline_sessions` rows (refresh-token sessions).
    pub offline: Option<i64>,
    /// Of those, how many store a token hash.
    pub offline_token_hashes: Option<i64>,
    /// `sessions` rows (browser sessions, connect-session-knex).
    pub browser: Option<i64>,
    /// Of those, not yet expired by the database's clock.
    pub browser_active: Option<i64>,
    /// `oauth_authorization_sessions` rows.
    pub oauth: Option<i64>,
    /// `oidc_authorization_codes` rows, and of those neither used nor expired.
    pub oauth_codes: Option<i64>,
    pub oauth_codes_live: Option<i64>,
    /// `signing_keys` rows (public keys only).
    pub signing_keys: Option<i64>,
    /// `user_info` rows.
    pub user_info: Option<i64>,
    /// The summary in sentences, the conclusion first.
    pub lines: Vec<String>,
}

impl Auth {
    /// The statement [`Auth::summary`] runs: one row of counts, NULL for a missing table.
    pub fn summary_sql(&self) -> Sql {
        let has = |t: &str, cols: &[&str]| {
            self.db.has_table(t) && cols.iter().all(|c| self.db.has_column(t, c))
        };
        let count = |t: &str, cols: &[&str], cond: &str| {
            if has(t, cols) {
                format!("(SELECT count(*) FROM {} WHERE {cond})", self.t(t))
            } else {
                "NULL::bigint".to_string()
            }
        };
        let parts = [
            count("offline_sessions", &[], "true"),
            count(
                "offline_sessions",
                &["token_hash"],
                "token_hash IS NOT NULL AND token_hash <> ''",
            ),
            count("sessions", &[], "true"),
            count("sessions", &["expired"], "expired > now()"),
            count("oauth_authorization_sessions", &[], "true"),
            count("oidc_authorization_codes", &[], "true"),
            count(
                "oidc_authorization_codes",
                &["used", "expires_at"],
                "coalesce(used, false) = false AND expires_at > now()",
            ),
            count("signing_keys", &[], "true"),
            count("user_info", &[], "true"),
        ];
        let names = [
            "offline",
            "offline_hashes",
            "browser",
            "browser_active",
            "oauth",
            "codes",
            "codes_live",
            "keys",
            "users",
        ];
        let cols: Vec<String> = parts
            .iter()
            .zip(names)
            .map(|(p, n)| format!("{p} AS {n}"))
            .collect();
        let mut q = Sql::new();
        q.text = format!("SELECT {}", cols.join(", "));
        q
    }

    /// How many sessions of each kind there are and which token material is stored.
    pub async fn summary(&self) -> Result<SessionsSummary> {
        let row = self
            .summary_sql()
            .query()
            .fetch_one(&self.pool)
            .await
            .map_err(|e| query_error(e, &self.ep))?;
        let get = |n: &str| row.try_get::<Option<i64>, _>(n).ok().flatten();
        let mut s = SessionsSummary {
            offline: get("offline"),
            offline_token_hashes: get("offline_hashes"),
            browser: get("browser"),
            browser_active: get("browser_active"),
            oauth: get("oauth"),
            oauth_codes: get("codes"),
            oauth_codes_live: get("codes_live"),
            signing_keys: get("keys"),
            user_info: get("users"),
            lines: Vec::new(),
        };
        s.lines = sentences(&s);
        Ok(s)
    }
}

/// The summary in sentences: counts per kind, then the token material, none of it shown.
fn sentences(s: &SessionsSummary) -> Vec<String> {
    let part = |v: Option<i64>, what: &str, table: &str| match v {
        Some(v) => format!("{v} {what}"),
        None => format!("no {table} table"),
    };
    let mut out = vec![format!(
        "{}, {}{}, {}; {}, {}.",
        part(
            s.offline,
            "offline session(s) (refresh tokens)",
            "offline_sessions"
        ),
        part(s.browser, "browser session(s)", "sessions"),
        s.browser_active
            .map(|a| format!(" ({a} not expired)"))
            .unwrap_or_default(),
        part(
            s.oauth,
            "OAuth authorization session(s)",
            "oauth_authorization_sessions"
        ),
        part(s.signing_keys, "signing key(s)", "signing_keys"),
        part(s.user_info, "user_info row(s)", "user_info"),
    )];
    match (s.offline, s.offline_token_hashes) {
        (Some(_), Some(h)) => out.push(format!(
            "offline_sessions stores scrypt token hashes for {h} session(s) (token_hash); no refresh \
             token values are stored."
        )),
        (Some(_), None) => out.push(
            "offline_sessions stores no token_hash column here; no refresh token values are stored."
                .into(),
        ),
        _ => {}
    }
    if let Some(b) = s.browser.filter(|b| *b > 0) {
        out.push(format!(
            "sessions holds {b} browser session(s) (sess JSON: the cookie and the signed-in user)."
        ));
    }
    if let Some(c) = s.oauth_codes {
        out.push(format!(
            "oidc_authorization_codes stores {c} authorization code(s) in plain text, {} neither used nor \
             expired.",
            s.oauth_codes_live.unwrap_or(0)
        ));
    }
    if s.signing_keys.is_some() {
        out.push("signing_keys holds public keys only.".into());
    }
    out.push("No token, hash, code or session id is shown.".into());
    out
}

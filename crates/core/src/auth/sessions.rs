//! Sessions that let a client act for a user: refresh-token sessions (`offline_sessions`, most
//! recently used first, keyset pages) and OAuth authorization sessions
//! (`oauth_authorization_sessions`, counted and listed per status, with the codes issued for
//! them). Session ids are masked; cursors use their `md5`; `token_hash`, codes, `state`,
//! `nonce` and `code_challenge` are never selected.

use serde::Serialize;
use sqlx::postgres::PgRow;

use super::handle::{Auth, AuthQuery, CatalogUser, InCatalog, NEED_OAUTH, NEED_OFFLINE};
use super::rows::{col, cursor2, page_rows, users_condition, where_};
use crate::error::Result;
use crate::page::{Page, limit};
use crate::redact::redact_text;
use crate::schema::Need;
use crate::secrets::mask;
use crate::sql::{Param, Sql, iso_text, quote_ident};

/// A refresh-token session.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct OfflineSession {
    /// Masked.
    pub id: String,
    pub user_entity_ref: String,
    pub oidc_client_id: Option<String>,
    pub created_at: String,
    pub last_used_at: String,
    pub age_seconds: i64,
    pub idle_seconds: i64,
    pub in_catalog: InCatalog,
}

/// An OAuth (OIDC) authorization session.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct OAuthSession {
    /// Masked.
    pub id: String,
    pub client_id: String,
    pub user_entity_ref: Option<String>,
    pub status: Option<String>,
    pub scope: Option<String>,
    pub redirect_uri: Option<String>,
    pub response_type: Option<String>,
    pub expires_at: String,
    pub expired: bool,
    /// Authorization codes issued for it and how many were used; absent without the table.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub codes: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub codes_used: Option<i64>,
    pub in_catalog: InCatalog,
}

/// The OAuth sessions of one status.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct OAuthStatusGroup {
    /// pending, approved, rejected, expired (or `null`).
    pub status: Option<String>,
    pub count: i64,
    /// The most recent sessions of this status (by expiry), at most the limit.
    pub sessions: Vec<OAuthSession>,
}

impl CatalogUser for OfflineSession {
    fn user_ref(&self) -> Option<&str> {
        Some(&self.user_entity_ref)
    }
    fn set_in_catalog(&mut self, found: InCatalog) {
        self.in_catalog = found;
    }
}

impl CatalogUser for OAuthSession {
    fn user_ref(&self) -> Option<&str> {
        self.user_entity_ref.as_deref()
    }
    fn set_in_catalog(&mut self, found: InCatalog) {
        self.in_catalog = found;
    }
}

impl Auth {
    /// The SQL of a page of offline sessions.
    pub fn offline_sessions_sql(&self, q: &AuthQuery) -> Result<Sql> {
        self.db.check("offline sessions", &[NEED_OFFLINE])?;
        let mut s = Sql::new();
        let mut wh = Vec::new();
        wh.extend(users_condition(
            &mut s,
            q.users.as_deref(),
            "o.user_entity_ref",
        ));
        if let Some(c) = &q.cursor {
            let (at, h) = cursor2(c)?;
            let (pa, ph) = (s.bind(Param::Text(at)), s.bind(Param::Text(h)));
            wh.push(format!(
                "(o.last_used_at, md5(o.id)) < ({pa}::timestamptz, {ph})"
            ));
        }
        let pl = s.bind(Param::Int(limit(q.limit) as i64 + 1));
        s.text = format!(
            "SELECT o.id, o.user_entity_ref, o.oidc_client_id, {c} AS created_at, {l} AS last_used_at, \
                    {lraw} AS last_used_key, md5(o.id) AS h, \
                    extract(epoch FROM now() - o.created_at)::bigint AS age, \
                    extract(epoch FROM now() - o.last_used_at)::bigint AS idle \
             FROM {t} o {w} ORDER BY o.last_used_at DESC, md5(o.id) DESC LIMIT {pl}",
            c = iso_text("o.created_at"),
            l = iso_text("o.last_used_at"),
            lraw = iso_text("o.last_used_at"),
            t = self.t("offline_sessions"),
            w = where_(&wh),
        );
        Ok(s)
    }

    /// Refresh-token sessions, most recently used first.
    pub async fn offline_sessions(&self, q: &AuthQuery) -> Result<Page<OfflineSession>> {
        let rows = self
            .offline_sessions_sql(q)?
            .fetch_all(&self.pool, &self.ep)
            .await?;
        let (rows, next_cursor) = page_rows(rows, q.limit, |r| {
            Ok(vec![
                col::<String>(r, "last_used_key")?,
                col::<String>(r, "h")?,
            ])
        })?;
        let mut items = Vec::with_capacity(rows.len());
        for r in &rows {
            let id: String = col(r, "id")?;
            items.push(OfflineSession {
                id: mask(&id),
                user_entity_ref: col(r, "user_entity_ref")?,
                oidc_client_id: col(r, "oidc_client_id")?,
                created_at: col(r, "created_at")?,
                last_used_at: col(r, "last_used_at")?,
                age_seconds: col::<Option<i64>>(r, "age")?.unwrap_or(0),
                idle_seconds: col::<Option<i64>>(r, "idle")?.unwrap_or(0),
                in_catalog: None,
            });
        }
        self.link_users(&mut items).await;
        Ok(Page { items, next_cursor })
    }

    /// The SQL of the OAuth authorization sessions: counts per status, and the most recent
    /// `limit` sessions of each status.
    pub fn oauth_sessions_sql(&self, q: &AuthQuery) -> Result<Sql> {
        self.db
            .check("OAuth authorization sessions", &[NEED_OAUTH])?;
        let mut s = Sql::new();
        let mut wh = Vec::new();
        wh.extend(users_condition(
            &mut s,
            q.users.as_deref(),
            "o.user_entity_ref",
        ));
        let col_or_null = |c: &str| {
            if self.db.has_column("oauth_authorization_sessions", c) {
                format!("o.{}", quote_ident(c))
            } else {
                "NULL::text".to_string()
            }
        };
        let (codes_ok, codes) = self.codes_join();
        let pl = s.bind(Param::Int(limit(q.limit) as i64));
        s.text = format!(
            "SELECT * FROM ( \
               SELECT o.id, o.client_id, o.user_entity_ref, o.status, {scope} AS scope, {redirect} AS redirect_uri, \
                      {rt} AS response_type, {e} AS expires_at, (o.expires_at <= now()) AS expired, \
                      {codes_n} AS codes, {codes_u} AS codes_used, \
                      count(*) OVER (PARTITION BY o.status) AS status_count, \
                      row_number() OVER (PARTITION BY o.status ORDER BY o.expires_at DESC, o.id) AS rn \
               FROM {t} o {codes} {w}) x \
             WHERE x.rn <= {pl} ORDER BY x.status NULLS LAST, x.rn",
            scope = col_or_null("scope"),
            redirect = col_or_null("redirect_uri"),
            rt = col_or_null("response_type"),
            e = iso_text("o.expires_at"),
            codes_n = if codes_ok {
                "coalesce(c.n, 0)"
            } else {
                "NULL::bigint"
            },
            codes_u = if codes_ok {
                "coalesce(c.used, 0)"
            } else {
                "NULL::bigint"
            },
            t = self.t("oauth_authorization_sessions"),
            w = where_(&wh),
        );
        Ok(s)
    }

    /// Whether `oidc_authorization_codes` can be counted, and the join that counts the codes
    /// of each session (`c.n`, `c.used`), or joins nothing.
    fn codes_join(&self) -> (bool, String) {
        let codes_ok = self
            .db
            .check(
                "codes",
                &[Need {
                    table: "oidc_authorization_codes",
                    columns: &["session_id", "used"],
                    since: "",
                }],
            )
            .is_ok();
        let codes = if codes_ok {
            format!(
                "LEFT JOIN (SELECT c.session_id, count(*)::bigint AS n, count(*) FILTER (WHERE c.used)::bigint AS used \
                 FROM {} c GROUP BY c.session_id) c ON c.session_id = o.id",
                self.t("oidc_authorization_codes")
            )
        } else {
            "LEFT JOIN (SELECT NULL::text AS session_id, NULL::bigint AS n, NULL::bigint AS used) c ON false".into()
        };
        (codes_ok, codes)
    }

    /// OAuth authorization sessions grouped by status.
    pub async fn oauth_sessions(&self, q: &AuthQuery) -> Result<Vec<OAuthStatusGroup>> {
        let rows = self
            .oauth_sessions_sql(q)?
            .fetch_all(&self.pool, &self.ep)
            .await?;
        let mut groups: Vec<OAuthStatusGroup> = Vec::new();
        for r in &rows {
            let s = oauth_session(r)?;
            match groups.last_mut() {
                Some(g) if g.status == s.status => g.sessions.push(s),
                _ => groups.push(OAuthStatusGroup {
                    status: s.status.clone(),
                    count: col(r, "status_count")?,
                    sessions: vec![s],
                }),
            }
        }
        self.link_users(groups.iter_mut().flat_map(|g| g.sessions.iter_mut()))
            .await;
        Ok(groups)
    }
}

/// A row of [`Auth::oauth_sessions_sql`], its id masked and its redirect URI redacted.
fn oauth_session(r: &PgRow) -> Result<OAuthSession> {
    let status: Option<String> = col(r, "status")?;
    let id: String = col(r, "id")?;
    Ok(OAuthSession {
        id: mask(&id),
        client_id: col(r, "client_id")?,
        user_entity_ref: col(r, "user_entity_ref")?,
        status,
        scope: col(r, "scope")?,
        redirect_uri: col::<Option<String>>(r, "redirect_uri")?.map(|u| redact_text(&u)),
        response_type: col(r, "response_type")?,
        expires_at: col(r, "expires_at")?,
        expired: col::<Option<bool>>(r, "expired")?.unwrap_or(false),
        codes: col(r, "codes")?,
        codes_used: col(r, "codes_used")?,
        in_catalog: None,
    })
}

//! Sign-in state: owns the views over the auth plugin's database (`<prefix>auth`, or schema
//! `auth`): offline sessions (refresh tokens), browser sessions (`sessions`, connect-session-
//! knex), OAuth authorization sessions grouped by status, signing keys (public JWKs), the
//! per-user `user_info` claims, which of those users exist in the catalog, the sessions of a
//! user or of every member of a group, and decoding a JWT to its header and claims.
//!
//! Nothing secret leaves: `offline_sessions.token_hash`, `oidc_authorization_codes.code`,
//! `oauth_authorization_sessions.state/nonce/code_challenge` are never selected; session ids
//! (`sessions.sid`, `offline_sessions.id`, `oauth_authorization_sessions.id`) are masked, and
//! keyset cursors use their `md5`, not the id; the `sess` JSON is reduced to its cookie expiry
//! and the passport user (redacted); JWK private members are dropped; every JSON value passes
//! [`redact_json`].
//!
//! Refresh tokens: a widely read guide names a `refresh_tokens` table that Backstage does not
//! have; [`locate_table`] answers that the data is in `offline_sessions`.
//!
//! Indexes used: `offline_sessions_user_idx` and `offline_sessions_last_used_idx`,
//! `sessions_expired_idx`, `user_info_pkey`, and in the catalog `final_entities_entity_ref_uniq`
//! and `relations_source_entity_ref_idx` / `relations_target_entity_ref_idx`.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;
use sqlx::Row;
use sqlx::postgres::PgRow;

use crate::connect::{Connections, Endpoint, PgPool};
use crate::error::{CoreError, Result};
use crate::page::{Page, decode_cursor, encode_cursor, limit};
use crate::redact::{self, DecodedJwt, REDACTED, redact_json, redact_text};
use crate::refs::normalize_ref;
use crate::refs::time::iso_from_unix;
use crate::schema::{DbSchema, Need, Unavailable};
use crate::secrets::mask;
use crate::sql::quote_ident;
use crate::sql::{Param, Sql, iso_text};

/// The tables of the auth plugin, in its final schema.
pub const AUTH_TABLES: [&str; 6] = [
    "offline_sessions",
    "sessions",
    "oauth_authorization_sessions",
    "oidc_authorization_codes",
    "signing_keys",
    "user_info",
];

/// Says where the data of an auth table is: the table itself, or, for names that do not exist
/// in Backstage but that people look for (`refresh_tokens`), where it really is.
pub fn locate_table(name: &str) -> Result<&'static str> {
    let n = name.trim().to_ascii_lowercase();
    if let Some(t) = AUTH_TABLES.iter().find(|t| **t == n) {
        return Ok(t);
    }
    let hint = match n.as_str() {
        "refresh_tokens" | "refresh_token" | "refreshtokens" | "tokens" => {
            "Backstage has no such table: refresh tokens live in `offline_sessions` (one row per user and \
             OIDC client; `token_hash` is a scrypt hash of the token, never the token); \
             `bsi sessions --kind offline` lists them"
                .to_string()
        }
        "oidc_clients" => "Backstage dropped `oidc_clients` (auth-backend 20261030120000_remove_dcr); client ids \
                           are plain values in `offline_sessions.oidc_client_id` and \
                           `oauth_authorization_sessions.client_id`"
            .to_string(),
        _ => format!("the auth plugin's tables are {}", AUTH_TABLES.join(", ")),
    };
    Err(CoreError::NotFound {
        what: "table",
        name: name.to_string(),
        hint: Some(hint),
    })
}

/// Which list `bsi sessions` shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum SessionKind {
    /// `offline_sessions` (refresh tokens).
    Offline,
    /// `sessions` (browser sign-in cookies).
    Browser,
    /// `oauth_authorization_sessions`.
    Oauth,
    /// `signing_keys`.
    Keys,
    /// `user_info`.
    Users,
}

impl SessionKind {
    /// Parses a kind or a table name; `refresh_tokens` gets the answer of [`locate_table`].
    pub fn parse(s: &str) -> Result<Self> {
        Ok(
            match s.trim().to_ascii_lowercase().replace('-', "_").as_str() {
                "offline" | "offline_sessions" => SessionKind::Offline,
                "browser" | "sessions" | "cookie" | "cookies" => SessionKind::Browser,
                "oauth" | "oauth_authorization_sessions" | "oidc" => SessionKind::Oauth,
                "keys" | "signing_keys" | "jwks" => SessionKind::Keys,
                "users" | "user_info" => SessionKind::Users,
                other => {
                    locate_table(other)?;
                    return Err(CoreError::config(format!(
                        "unknown session kind `{s}`: use offline, browser, oauth, keys or users"
                    )));
                }
            },
        )
    }
}

/// Whether a user exists in the catalog: `None` when the catalog could not be read.
pub type InCatalog = Option<bool>;

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

/// A browser session of connect-session-knex.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct BrowserSession {
    /// Masked.
    pub sid: String,
    /// The `expired` column: when the store drops the session.
    pub expires_at: String,
    pub is_expired: bool,
    /// `sess.cookie.expires`.
    pub cookie_expires: Option<String>,
    /// `sess.passport.user`, redacted.
    #[cfg_attr(feature = "ts", ts(type = "unknown"))]
    pub passport_user: Option<Value>,
    /// A user ref when the passport user names one, else the user name it carries.
    pub user: Option<String>,
    pub provider: Option<String>,
    /// The catalog user this session belongs to: `user` when it is a ref, else the one
    /// `user:default/<name>` (with `.` and `-` tried both ways) that exists in the catalog.
    pub user_ref: Option<String>,
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

/// A signing key: public parts only.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SigningKey {
    pub kid: String,
    pub alg: Option<String>,
    pub kty: Option<String>,
    pub crv: Option<String>,
    pub created_at: String,
    pub age_seconds: i64,
    /// The JWK's public members.
    #[cfg_attr(feature = "ts", ts(type = "unknown"))]
    pub public_jwk: Value,
    /// The stored key had private members (`d`, `p`, `q`...), which are not shown; Backstage
    /// stores public keys only, so this deserves a look.
    pub private_material: bool,
}

/// The claims Backstage cached for a user at sign-in.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct UserInfo {
    pub user_entity_ref: String,
    /// `user_info`, redacted.
    #[cfg_attr(feature = "ts", ts(type = "unknown"))]
    pub claims: Value,
    pub updated_at: String,
    /// Absent before auth-backend 20250707164600_user_created_at.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub created_at: Option<String>,
    pub in_catalog: InCatalog,
}

/// A user and whether the catalog has it.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct UserLink {
    pub entity_ref: String,
    pub in_catalog: InCatalog,
}

/// Everything about the sessions of a user or of a group's members.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct UserSessions {
    pub subject: String,
    /// `user` or `group`.
    pub kind: &'static str,
    pub users: Vec<UserLink>,
    pub offline: Vec<OfflineSession>,
    pub browser: Vec<BrowserSession>,
    pub oauth: Vec<OAuthSession>,
    pub user_info: Vec<UserInfo>,
    /// What could not be shown and why.
    pub notes: Vec<String>,
}

/// A decoded JWT: header and claims (redacted), never the signature.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TokenView {
    #[serde(flatten)]
    pub decoded: DecodedJwt,
    /// `exp` as ISO time, and whether it is past.
    pub expires_at: Option<String>,
    pub expired: Option<bool>,
    pub issued_at: Option<String>,
    /// `vnd.backstage.user` tokens are Backstage user tokens.
    pub backstage_user_token: bool,
}

/// Decodes a JWT (a `Bearer ` prefix is accepted): header and claims, never the signature.
/// Claims that are credentials themselves (`uip`, the user identity proof) and JWTs nested in
/// claims are masked.
pub fn decode_token(token: &str) -> Result<TokenView> {
    let t = token.trim();
    let t = t
        .strip_prefix("Bearer ")
        .or_else(|| t.strip_prefix("bearer "))
        .unwrap_or(t)
        .trim();
    let mut d = redact::decode_jwt(t)?;
    redact_json(&mut d.header);
    redact_json(&mut d.claims);
    if let Some(uip) = d.claims.get_mut("uip") {
        *uip = Value::String(REDACTED.to_string());
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let num = |k: &str| d.claims.get(k).and_then(Value::as_i64);
    let (exp, iat) = (num("exp"), num("iat"));
    Ok(TokenView {
        expires_at: exp.map(iso_from_unix),
        expired: exp.map(|e| e <= now),
        issued_at: iat.map(iso_from_unix),
        backstage_user_token: d.header.get("typ").and_then(Value::as_str)
            == Some("vnd.backstage.user"),
        decoded: d,
    })
}

/// Which of `refs` exist in the catalog's `final_entities` (compared case-insensitively;
/// one indexed lookup through `final_entities_entity_ref_uniq`). Returns the refs as given.
pub async fn users_in_catalog(
    pool: &PgPool,
    ep: &Endpoint,
    schema: &str,
    refs: &[String],
) -> Result<BTreeSet<String>> {
    if refs.is_empty() {
        return Ok(BTreeSet::new());
    }
    let q = users_in_catalog_sql(schema, refs);
    let rows = q.fetch_all(pool, ep).await?;
    let found: BTreeSet<String> = rows
        .iter()
        .filter_map(|r| r.try_get::<String, _>("entity_ref").ok())
        .map(|r| r.to_lowercase())
        .collect();
    Ok(refs
        .iter()
        .filter(|r| found.contains(&r.to_lowercase()))
        .cloned()
        .collect())
}

/// The SQL of [`users_in_catalog`].
pub fn users_in_catalog_sql(schema: &str, refs: &[String]) -> Sql {
    let mut q = Sql::new();
    let p = q.bind(Param::TextArray(with_lower(refs)));
    q.text = format!(
        "SELECT f.entity_ref FROM {}.final_entities f WHERE f.entity_ref = ANY({p}::text[])",
        quote_ident(schema)
    );
    q
}

/// The refs as given and lower-cased (so that an equality on an indexed column matches both
/// the stored spelling and Backstage's lower-cased one).
fn with_lower(refs: &[String]) -> Vec<String> {
    let mut v: Vec<String> = refs
        .iter()
        .flat_map(|r| [r.clone(), r.to_lowercase()])
        .collect();
    v.sort();
    v.dedup();
    v
}

struct Catalog {
    pool: PgPool,
    ep: Endpoint,
    schema: String,
    has_relations: bool,
}

/// The auth database of a profile (and the catalog, to link users), with what its schema holds.
pub struct Auth {
    pool: PgPool,
    ep: Endpoint,
    db: DbSchema,
    schema: String,
    catalog: std::result::Result<Catalog, String>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("database", &self.db.database)
            .field("schema", &self.schema)
            .field(
                "catalog",
                &self.catalog.as_ref().map(|c| c.ep.database.clone()),
            )
            .finish()
    }
}

const SINCE_OFFLINE: &str =
    "added by auth-backend migration 20251020000000_offline_sessions (2025)";
const NEED_OFFLINE: Need = Need {
    table: "offline_sessions",
    columns: &[
        "id",
        "user_entity_ref",
        "oidc_client_id",
        "created_at",
        "last_used_at",
    ],
    since: SINCE_OFFLINE,
};
const NEED_SESSIONS: Need = Need {
    table: "sessions",
    columns: &["sid", "sess", "expired"],
    since: "added by auth-backend migration 20230428155633_sessions (2023)",
};
const NEED_OAUTH: Need = Need {
    table: "oauth_authorization_sessions",
    columns: &["id", "client_id", "user_entity_ref", "status", "expires_at"],
    since: "added by auth-backend migration 20250909120000_oidc_client_registration (2025)",
};
const NEED_KEYS: Need = Need {
    table: "signing_keys",
    columns: &["kid", "created_at", "key"],
    since: "auth-backend's first migration, 20200619125845_init",
};
const NEED_USERS: Need = Need {
    table: "user_info",
    columns: &["user_entity_ref", "user_info", "updated_at"],
    since: "added by auth-backend migration 20240510120825_user_info (2024)",
};

/// Filter and page of an auth list.
#[derive(Debug, Clone, Default)]
pub struct AuthQuery {
    /// Only these users (entity refs).
    pub users: Option<Vec<String>>,
    pub limit: Option<usize>,
    pub cursor: Option<String>,
}

impl Auth {
    /// Opens the auth database (or schema) and the catalog's, and reads what tables exist.
    /// A catalog that cannot be read only turns `in_catalog` into `None`.
    pub async fn open(conns: &Connections) -> Result<Self> {
        let place = crate::area::locate(conns, "auth")?;
        let ep = place.endpoint.clone();
        let pool = place.pool(conns).await?;
        let catalog = match open_catalog(conns).await {
            Ok(c) => Ok(c),
            Err(e) => Err(e.to_string()),
        };
        let mut auth = Self::with_pool(pool, ep, &place.schema).await?;
        auth.catalog = catalog;
        Ok(auth)
    }

    /// The same on a given pool and schema, without a catalog link.
    pub async fn with_pool(pool: PgPool, ep: Endpoint, schema: &str) -> Result<Self> {
        let db = DbSchema::read(&pool, &ep, schema).await?;
        Ok(Auth {
            pool,
            ep,
            db,
            schema: schema.to_string(),
            catalog: Err("no catalog connection".into()),
        })
    }

    pub fn schema(&self) -> &DbSchema {
        &self.db
    }

    fn t(&self, table: &str) -> String {
        format!("{}.{}", quote_ident(&self.schema), quote_ident(table))
    }

    /// What this database lacks for the auth views.
    pub fn degraded(&self) -> Vec<Unavailable> {
        [
            ("offline sessions", NEED_OFFLINE),
            ("browser sessions", NEED_SESSIONS),
            ("OAuth authorization sessions", NEED_OAUTH),
            ("signing keys", NEED_KEYS),
            ("user info", NEED_USERS),
        ]
        .into_iter()
        .filter_map(|(v, n)| self.db.check(v, &[n]).err())
        .collect()
    }

    /// Whether the catalog can be read to link users, and if not, why.
    pub fn catalog_status(&self) -> std::result::Result<(), String> {
        self.catalog.as_ref().map(|_| ()).map_err(Clone::clone)
    }

    /// `in_catalog` of each ref: `None` for all when the catalog cannot be read.
    async fn link(&self, refs: &[String]) -> BTreeMap<String, bool> {
        let Ok(c) = &self.catalog else {
            return BTreeMap::new();
        };
        let mut uniq: Vec<String> = refs.to_vec();
        uniq.sort();
        uniq.dedup();
        match users_in_catalog(&c.pool, &c.ep, &c.schema, &uniq).await {
            Ok(found) => uniq
                .into_iter()
                .map(|r| {
                    let f = found.contains(&r);
                    (r, f)
                })
                .collect(),
            Err(e) => {
                tracing::debug!(error = %e, "catalog link failed");
                BTreeMap::new()
            }
        }
    }

    /// The SQL of a page of offline sessions.
    pub fn offline_sessions_sql(&self, q: &AuthQuery) -> Result<Sql> {
        self.db.check("offline sessions", &[NEED_OFFLINE])?;
        let mut s = Sql::new();
        let mut wh = Vec::new();
        if let Some(u) = &q.users {
            let p = s.bind(Param::TextArray(with_lower(u)));
            wh.push(format!("o.user_entity_ref = ANY({p}::text[])"));
        }
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
        let links = self
            .link(
                &items
                    .iter()
                    .map(|i| i.user_entity_ref.clone())
                    .collect::<Vec<_>>(),
            )
            .await;
        for i in &mut items {
            i.in_catalog = links.get(&i.user_entity_ref).copied();
        }
        Ok(Page { items, next_cursor })
    }

    /// The SQL of a page of browser sessions. With a user filter, rows whose `sess` does not
    /// even contain one of `names` are skipped in SQL; the match is confirmed after parsing.
    pub fn browser_sessions_sql(&self, q: &AuthQuery, names: Option<&[String]>) -> Result<Sql> {
        self.db.check("browser sessions", &[NEED_SESSIONS])?;
        let mut s = Sql::new();
        let mut wh = Vec::new();
        if let Some(n) = names {
            let p = s.bind(Param::TextArray(n.to_vec()));
            wh.push(format!("EXISTS (SELECT 1 FROM unnest({p}::text[]) AS u(n) WHERE strpos(lower(s.sess), u.n) > 0)"));
        }
        if let Some(c) = &q.cursor {
            let (at, h) = cursor2(c)?;
            let (pa, ph) = (s.bind(Param::Text(at)), s.bind(Param::Text(h)));
            wh.push(format!(
                "(s.expired, md5(s.sid)) < ({pa}::timestamptz, {ph})"
            ));
        }
        let pl = s.bind(Param::Int(limit(q.limit) as i64 + 1));
        s.text = format!(
            "SELECT s.sid, s.sess, {e} AS expires_at, (s.expired <= now()) AS is_expired, md5(s.sid) AS h \
             FROM {t} s {w} ORDER BY s.expired DESC, md5(s.sid) DESC LIMIT {pl}",
            e = iso_text("s.expired"),
            t = self.t("sessions"),
            w = where_(&wh),
        );
        Ok(s)
    }

    /// Browser sessions, latest expiry first. The `sess` JSON is reduced to the cookie's
    /// expiry and the passport user.
    pub async fn browser_sessions(&self, q: &AuthQuery) -> Result<Page<BrowserSession>> {
        let wanted: Option<Vec<String>> = q
            .users
            .as_ref()
            .map(|u| u.iter().map(|r| normalize_ref(r, "user")).collect());
        let names: Option<Vec<String>> = wanted.as_ref().map(|w| {
            let mut n: Vec<String> = w.iter().flat_map(|r| name_variants(r)).collect();
            n.sort();
            n.dedup();
            n
        });
        let rows = self
            .browser_sessions_sql(q, names.as_deref())?
            .fetch_all(&self.pool, &self.ep)
            .await?;
        let (rows, next_cursor) = page_rows(rows, q.limit, |r| {
            Ok(vec![
                col::<String>(r, "expires_at")?,
                col::<String>(r, "h")?,
            ])
        })?;
        let mut items = Vec::with_capacity(rows.len());
        for r in &rows {
            let sid: String = col(r, "sid")?;
            let sess: String = col(r, "sess")?;
            let sess: Value = serde_json::from_str(&sess).unwrap_or(Value::Null);
            let mut user = sess.pointer("/passport/user").cloned();
            let (user_ref, provider) = passport_identity(user.as_ref());
            user.iter_mut().for_each(redact_json);
            let cookie_expires = sess
                .pointer("/cookie/expires")
                .and_then(Value::as_str)
                .map(redact_text);
            let item = BrowserSession {
                sid: mask(&sid),
                expires_at: col(r, "expires_at")?,
                is_expired: col::<Option<bool>>(r, "is_expired")?.unwrap_or(false),
                cookie_expires,
                passport_user: user,
                user: user_ref.map(|u| redact_text(&u)),
                provider,
                user_ref: None,
                in_catalog: None,
            };
            if let Some(w) = &wanted
                && !w.iter().any(|r| session_matches(&item, r))
            {
                continue;
            }
            items.push(item);
        }
        // Candidate refs: the user itself when it is a ref, else user:default/<name variants>.
        let candidates = |u: &str| -> Vec<String> {
            if u.contains(':') {
                vec![normalize_ref(u, "user")]
            } else {
                let local = u.split('@').next().unwrap_or(u);
                name_variants(local)
                    .into_iter()
                    .map(|n| format!("user:default/{n}"))
                    .collect()
            }
        };
        let refs: Vec<String> = items
            .iter()
            .filter_map(|i| i.user.as_deref())
            .flat_map(candidates)
            .collect();
        let links = self.link(&refs).await;
        if !links.is_empty() {
            for i in &mut items {
                let Some(u) = i.user.clone() else { continue };
                let found: Vec<String> = candidates(&u)
                    .into_iter()
                    .filter(|c| links.get(c).copied().unwrap_or(false))
                    .collect();
                i.in_catalog = Some(found.len() == 1);
                i.user_ref = (found.len() == 1).then(|| found[0].clone());
            }
        }
        if let Some(w) = &wanted {
            items.retain(|i| w.iter().any(|r| session_matches(i, r)));
        }
        Ok(Page { items, next_cursor })
    }

    /// The SQL of the OAuth authorization sessions: counts per status, and the most recent
    /// `limit` sessions of each status.
    pub fn oauth_sessions_sql(&self, q: &AuthQuery) -> Result<Sql> {
        self.db
            .check("OAuth authorization sessions", &[NEED_OAUTH])?;
        let mut s = Sql::new();
        let mut wh = Vec::new();
        if let Some(u) = &q.users {
            let p = s.bind(Param::TextArray(with_lower(u)));
            wh.push(format!("o.user_entity_ref = ANY({p}::text[])"));
        }
        let col_or_null = |c: &str| {
            if self.db.has_column("oauth_authorization_sessions", c) {
                format!("o.{}", quote_ident(c))
            } else {
                "NULL::text".to_string()
            }
        };
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

    /// OAuth authorization sessions grouped by status.
    pub async fn oauth_sessions(&self, q: &AuthQuery) -> Result<Vec<OAuthStatusGroup>> {
        let rows = self
            .oauth_sessions_sql(q)?
            .fetch_all(&self.pool, &self.ep)
            .await?;
        let mut groups: Vec<OAuthStatusGroup> = Vec::new();
        for r in &rows {
            let status: Option<String> = col(r, "status")?;
            let id: String = col(r, "id")?;
            let s = OAuthSession {
                id: mask(&id),
                client_id: col(r, "client_id")?,
                user_entity_ref: col(r, "user_entity_ref")?,
                status: status.clone(),
                scope: col(r, "scope")?,
                redirect_uri: col::<Option<String>>(r, "redirect_uri")?.map(|u| redact_text(&u)),
                response_type: col(r, "response_type")?,
                expires_at: col(r, "expires_at")?,
                expired: col::<Option<bool>>(r, "expired")?.unwrap_or(false),
                codes: col(r, "codes")?,
                codes_used: col(r, "codes_used")?,
                in_catalog: None,
            };
            match groups.last_mut() {
                Some(g) if g.status == status => g.sessions.push(s),
                _ => groups.push(OAuthStatusGroup {
                    status,
                    count: col(r, "status_count")?,
                    sessions: vec![s],
                }),
            }
        }
        let refs: Vec<String> = groups
            .iter()
            .flat_map(|g| g.sessions.iter().filter_map(|s| s.user_entity_ref.clone()))
            .collect();
        let links = self.link(&refs).await;
        for s in groups.iter_mut().flat_map(|g| g.sessions.iter_mut()) {
            s.in_catalog = s
                .user_entity_ref
                .as_ref()
                .and_then(|u| links.get(u).copied());
        }
        Ok(groups)
    }

    /// The SQL of the signing keys.
    pub fn signing_keys_sql(&self) -> Result<Sql> {
        self.db.check("signing keys", &[NEED_KEYS])?;
        let mut s = Sql::new();
        s.text = format!(
            "SELECT k.kid, k.key, {c} AS created_at, extract(epoch FROM now() - k.created_at)::bigint AS age \
             FROM {t} k ORDER BY k.created_at DESC, k.kid",
            c = iso_text("k.created_at"),
            t = self.t("signing_keys"),
        );
        Ok(s)
    }

    /// Signing keys, newest first, with their public JWK only.
    pub async fn signing_keys(&self) -> Result<Vec<SigningKey>> {
        let rows = self
            .signing_keys_sql()?
            .fetch_all(&self.pool, &self.ep)
            .await?;
        rows.iter()
            .map(|r| {
                let key: String = col(r, "key")?;
                let jwk: Value = serde_json::from_str(&key).unwrap_or(Value::Null);
                let (public_jwk, private_material) = public_jwk(&jwk);
                let s = |k: &str| jwk.get(k).and_then(Value::as_str).map(str::to_string);
                Ok(SigningKey {
                    kid: col(r, "kid")?,
                    alg: s("alg"),
                    kty: s("kty"),
                    crv: s("crv"),
                    created_at: col(r, "created_at")?,
                    age_seconds: col::<Option<i64>>(r, "age")?.unwrap_or(0),
                    public_jwk,
                    private_material,
                })
            })
            .collect()
    }

    /// The SQL of a page of `user_info` (by `user_entity_ref`, its primary key).
    pub fn user_info_sql(&self, q: &AuthQuery) -> Result<Sql> {
        self.db.check("user info", &[NEED_USERS])?;
        let mut s = Sql::new();
        let mut wh = Vec::new();
        if let Some(u) = &q.users {
            let p = s.bind(Param::TextArray(with_lower(u)));
            wh.push(format!("u.user_entity_ref = ANY({p}::text[])"));
        }
        if let Some(c) = &q.cursor {
            let key = decode_cursor(c, 1)?;
            let Some(k) = key[0].as_str() else {
                return Err(bad_cursor(c));
            };
            let p = s.bind(Param::Text(k.to_string()));
            wh.push(format!("u.user_entity_ref > {p}"));
        }
        let created = if self.db.has_column("user_info", "created_at") {
            iso_text("u.created_at")
        } else {
            "NULL::text".into()
        };
        let pl = s.bind(Param::Int(limit(q.limit) as i64 + 1));
        s.text = format!(
            "SELECT u.user_entity_ref, u.user_info, {up} AS updated_at, {created} AS created_at \
             FROM {t} u {w} ORDER BY u.user_entity_ref LIMIT {pl}",
            up = iso_text("u.updated_at"),
            t = self.t("user_info"),
            w = where_(&wh),
        );
        Ok(s)
    }

    /// The claims of each signed-in user, by ref.
    pub async fn user_info(&self, q: &AuthQuery) -> Result<Page<UserInfo>> {
        let rows = self
            .user_info_sql(q)?
            .fetch_all(&self.pool, &self.ep)
            .await?;
        let (rows, next_cursor) = page_rows(rows, q.limit, |r| {
            Ok(vec![col::<String>(r, "user_entity_ref")?])
        })?;
        let mut items = Vec::with_capacity(rows.len());
        for r in &rows {
            let raw: String = col(r, "user_info")?;
            let mut claims =
                serde_json::from_str(&raw).unwrap_or_else(|_| Value::String(redact_text(&raw)));
            redact_json(&mut claims);
            items.push(UserInfo {
                user_entity_ref: col(r, "user_entity_ref")?,
                claims,
                updated_at: col(r, "updated_at")?,
                created_at: col(r, "created_at")?,
                in_catalog: None,
            });
        }
        let links = self
            .link(
                &items
                    .iter()
                    .map(|i| i.user_entity_ref.clone())
                    .collect::<Vec<_>>(),
            )
            .await;
        for i in &mut items {
            i.in_catalog = links.get(&i.user_entity_ref).copied();
        }
        Ok(Page { items, next_cursor })
    }

    /// The SQL that lists the members of groups in the catalog (both directions of the
    /// relation, each through its own index).
    pub fn group_members_sql(schema: &str, groups: &[String]) -> Sql {
        let mut s = Sql::new();
        let p = s.bind(Param::TextArray(with_lower(groups)));
        let rel = format!("{}.relations", quote_ident(schema));
        s.text = format!(
            "SELECT r.target_entity_ref AS m FROM {rel} r WHERE r.source_entity_ref = ANY({p}::text[]) AND r.type = 'hasMember' \
             UNION \
             SELECT r.source_entity_ref FROM {rel} r WHERE r.target_entity_ref = ANY({p}::text[]) AND r.type = 'memberOf' \
             ORDER BY 1"
        );
        s
    }

    /// The sessions of a user, or of every member of a group (catalog relations `hasMember`
    /// and `memberOf`). A missing table leaves its list empty with a note.
    pub async fn sessions_for(&self, entity_ref: &str) -> Result<UserSessions> {
        let is_group = entity_ref.trim().to_ascii_lowercase().starts_with("group:");
        let subject = normalize_ref(entity_ref, if is_group { "group" } else { "user" });
        let mut notes = Vec::new();
        let users: Vec<String> = if is_group {
            let c = self.catalog.as_ref().map_err(|why| CoreError::SchemaDegraded {
                view: "group members".into(),
                reason: format!("the catalog cannot be read ({why}); members of a group come from its relations"),
            })?;
            if !c.has_relations {
                return Err(CoreError::SchemaDegraded {
                    view: "group members".into(),
                    reason: format!(
                        "table `relations` does not exist in {}.{}",
                        c.ep.database, c.schema
                    ),
                });
            }
            let rows = Self::group_members_sql(&c.schema, std::slice::from_ref(&subject))
                .fetch_all(&c.pool, &c.ep)
                .await?;
            let mut m: Vec<String> = rows
                .iter()
                .filter_map(|r| r.try_get::<String, _>("m").ok())
                .filter(|m| m.to_ascii_lowercase().starts_with("user:"))
                .collect();
            m.sort();
            m.dedup();
            if m.is_empty() {
                notes.push(format!(
                    "{subject} has no members in the catalog (or does not exist there)"
                ));
            }
            m
        } else {
            vec![subject.clone()]
        };
        let links = self.link(&users).await;
        let q = AuthQuery {
            users: Some(users.clone()),
            limit: Some(1000),
            cursor: None,
        };
        let mut out = UserSessions {
            subject,
            kind: if is_group { "group" } else { "user" },
            users: users
                .iter()
                .map(|u| UserLink {
                    entity_ref: u.clone(),
                    in_catalog: links.get(u).copied(),
                })
                .collect(),
            offline: Vec::new(),
            browser: Vec::new(),
            oauth: Vec::new(),
            user_info: Vec::new(),
            notes,
        };
        if users.is_empty() {
            return Ok(out);
        }
        fn keep<T>(r: Result<Page<T>>, what: &str, notes: &mut Vec<String>) -> Result<Vec<T>> {
            match r {
                Ok(p) => {
                    if p.next_cursor.is_some() {
                        notes.push(format!("{what}: only the first 1000 are shown"));
                    }
                    Ok(p.items)
                }
                Err(CoreError::SchemaDegraded { view, reason }) => {
                    notes.push(format!("{view}: {reason}"));
                    Ok(Vec::new())
                }
                Err(e) => Err(e),
            }
        }
        out.offline = keep(
            self.offline_sessions(&q).await,
            "offline sessions",
            &mut out.notes,
        )?;
        out.browser = keep(
            self.browser_sessions(&q).await,
            "browser sessions",
            &mut out.notes,
        )?;
        out.user_info = keep(self.user_info(&q).await, "user info", &mut out.notes)?;
        match self.oauth_sessions(&q).await {
            Ok(groups) => out.oauth = groups.into_iter().flat_map(|g| g.sessions).collect(),
            Err(CoreError::SchemaDegraded { view, reason }) => {
                out.notes.push(format!("{view}: {reason}"))
            }
            Err(e) => return Err(e),
        }
        Ok(out)
    }
}

async fn open_catalog(conns: &Connections) -> Result<Catalog> {
    let place = crate::area::locate(conns, "catalog")?;
    let ep = place.endpoint.clone();
    let pool = place.pool(conns).await?;
    let db = DbSchema::read(&pool, &ep, &place.schema).await?;
    db.check(
        "catalog users",
        &[Need {
            table: "final_entities",
            columns: &["entity_ref"],
            since: "catalog-backend",
        }],
    )?;
    Ok(Catalog {
        has_relations: db.has_column("relations", "source_entity_ref")
            && db.has_column("relations", "target_entity_ref"),
        pool,
        ep,
        schema: place.schema,
    })
}

fn where_(wh: &[String]) -> String {
    if wh.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", wh.join(" AND "))
    }
}

fn bad_cursor(c: &str) -> CoreError {
    CoreError::config(format!(
        "invalid page cursor `{c}`: use the next_cursor value of the previous page unchanged"
    ))
}

fn cursor2(c: &str) -> Result<(String, String)> {
    let key = decode_cursor(c, 2)?;
    match (key[0].as_str(), key[1].as_str()) {
        (Some(a), Some(b)) => Ok((a.to_string(), b.to_string())),
        _ => Err(bad_cursor(c)),
    }
}

fn col<T>(r: &PgRow, name: &str) -> Result<T>
where
    T: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    r.try_get(name).map_err(|e| CoreError::Database {
        code: None,
        message: format!("reading column {name}: {e}"),
    })
}

/// Cuts the extra row fetched to know whether there is a next page, and makes the cursor from
/// the last row kept.
fn page_rows(
    mut rows: Vec<PgRow>,
    requested: Option<usize>,
    key: impl Fn(&PgRow) -> Result<Vec<String>>,
) -> Result<(Vec<PgRow>, Option<String>)> {
    let n = limit(requested);
    if rows.len() <= n {
        return Ok((rows, None));
    }
    rows.truncate(n);
    let next = match rows.last() {
        Some(r) => Some(encode_cursor(
            &key(r)?.into_iter().map(Value::String).collect::<Vec<_>>(),
        )),
        None => None,
    };
    Ok((rows, next))
}

/// A JWK's public members, and whether it had private ones.
fn public_jwk(jwk: &Value) -> (Value, bool) {
    const PUBLIC: &[&str] = &[
        "kty", "kid", "alg", "use", "key_ops", "crv", "x", "y", "n", "e", "x5c", "x5t", "x5t#S256",
    ];
    const PRIVATE: &[&str] = &["d", "p", "q", "dp", "dq", "qi", "k", "oth"];
    let Some(m) = jwk.as_object() else {
        return (Value::Null, false);
    };
    let private = m.keys().any(|k| PRIVATE.contains(&k.as_str()));
    let mut out: serde_json::Map<String, Value> = m
        .iter()
        .filter(|(k, _)| PUBLIC.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut v = Value::Object(std::mem::take(&mut out));
    // Public members are not secret, but a JWT hidden in one would be.
    if let Value::Object(m) = &mut v {
        for val in m.values_mut() {
            if let Value::String(s) = val {
                *s = redact_text(s);
            }
        }
    }
    (v, private)
}

/// The user ref (or user name) and provider a passport user carries.
fn passport_identity(user: Option<&Value>) -> (Option<String>, Option<String>) {
    match user {
        Some(Value::String(s)) => (Some(s.clone()), None),
        Some(Value::Object(m)) => {
            let s = |k: &str| m.get(k).and_then(Value::as_str).map(str::to_string);
            let r = s("userEntityRef")
                .or_else(|| s("entityRef"))
                .or_else(|| s("ref"))
                .or_else(|| s("username"))
                .or_else(|| s("login"))
                .or_else(|| s("email"));
            (r, s("provider"))
        }
        _ => (None, None),
    }
}

/// The lower-cased names under which a user may appear in a session: the ref's name, and the
/// same with `.` and `-` swapped (sign-in resolvers map `jane.doe` to `jane-doe`).
fn name_variants(r: &str) -> Vec<String> {
    let name = r.rsplit('/').next().unwrap_or(r).to_lowercase();
    let mut v = vec![name.clone(), name.replace('.', "-"), name.replace('-', ".")];
    v.sort();
    v.dedup();
    v
}

/// Whether a browser session belongs to the user `r` (a normalised ref): the passport user is
/// that ref, or carries its name.
fn session_matches(s: &BrowserSession, r: &str) -> bool {
    if let Some(u) = &s.user_ref {
        return u.eq_ignore_ascii_case(r);
    }
    let Some(u) = &s.user else {
        return false;
    };
    let u = u.to_lowercase();
    if u.contains(':') {
        return normalize_ref(&u, "user") == r;
    }
    let local = u.split('@').next().unwrap_or(&u).to_string();
    name_variants(r).iter().any(|n| *n == local || *n == u)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_tokens_point_to_offline_sessions() {
        let e = locate_table("refresh_tokens").unwrap_err();
        assert_eq!(e.code(), crate::ErrorCode::NotFound);
        assert!(e.to_string().contains("offline_sessions"), "{e}");
        assert_eq!(
            locate_table("Offline_Sessions").unwrap(),
            "offline_sessions"
        );
        assert!(
            SessionKind::parse("refresh_tokens")
                .unwrap_err()
                .to_string()
                .contains("offline_sessions")
        );
        assert_eq!(SessionKind::parse("keys").unwrap(), SessionKind::Keys);
        assert!(SessionKind::parse("nope").is_err());
    }

    #[test]
    fn jwks_lose_private_members() {
        let (p, private) = public_jwk(
            &serde_json::json!({"kty": "EC", "d": "secret", "x": "a", "y": "b", "crv": "P-256"}),
        );
        assert!(private);
        assert!(p.get("d").is_none() && p["x"] == "a");
    }

    #[test]
    fn tokens_decode_without_signature_or_proof() {
        use base64::Engine;
        let e = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let t = format!(
            "{}.{}.SIGPART",
            e(r#"{"typ":"vnd.backstage.user","alg":"ES256","kid":"k"}"#),
            e(r#"{"sub":"user:default/ada","exp":1,"iat":0,"uip":"proof-value"}"#)
        );
        let v = decode_token(&format!("Bearer {t}")).unwrap();
        let json = serde_json::to_string(&v).unwrap();
        assert!(
            !json.contains("SIGPART") && !json.contains("proof-value"),
            "{json}"
        );
        assert!(v.backstage_user_token);
        assert_eq!(v.expired, Some(true));
        assert_eq!(v.expires_at.as_deref(), Some("1970-01-01T00:00:01Z"));
        assert!(decode_token("nope").is_err());
    }

    #[test]
    fn browser_session_matching() {
        let s = BrowserSession {
            sid: String::new(),
            expires_at: String::new(),
            is_expired: false,
            cookie_expires: None,
            passport_user: None,
            user: Some("jane-doe".into()),
            provider: None,
            user_ref: None,
            in_catalog: None,
        };
        assert!(session_matches(&s, "user:default/jane.doe"));
        assert!(!session_matches(&s, "user:default/jane"));
    }
}

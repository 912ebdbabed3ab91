//! Who a user is: the claims Backstage cached at sign-in (`user_info`, by ref), the members
//! of a group in the catalog (`hasMember` / `memberOf` relations), and everything about the
//! sessions of a user or of every member of a group ([`UserSessions`]).

use serde::Serialize;
use serde_json::Value;
use sqlx::Row;

use super::browser::BrowserSession;
use super::handle::{Auth, AuthQuery, CatalogUser, InCatalog, NEED_USERS};
use super::rows::{bad_cursor, col, page_rows, users_condition, where_, with_lower};
use super::sessions::{OAuthSession, OfflineSession};
use crate::error::{CoreError, Result};
use crate::page::{Page, decode_cursor, limit};
use crate::redact::{redact_json, redact_text};
use crate::refs::normalize_ref;
use crate::schema::or_note;
use crate::sql::{Param, Sql, iso_text, quote_ident};

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

impl CatalogUser for UserInfo {
    fn user_ref(&self) -> Option<&str> {
        Some(&self.user_entity_ref)
    }
    fn set_in_catalog(&mut self, found: InCatalog) {
        self.in_catalog = found;
    }
}

impl CatalogUser for UserLink {
    fn user_ref(&self) -> Option<&str> {
        Some(&self.entity_ref)
    }
    fn set_in_catalog(&mut self, found: InCatalog) {
        self.in_catalog = found;
    }
}

impl Auth {
    /// The SQL of a page of `user_info` (by `user_entity_ref`, its primary key).
    pub fn user_info_sql(&self, q: &AuthQuery) -> Result<Sql> {
        self.db.check("user info", &[NEED_USERS])?;
        let mut s = Sql::new();
        let mut wh = Vec::new();
        wh.extend(users_condition(
            &mut s,
            q.users.as_deref(),
            "u.user_entity_ref",
        ));
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
        self.link_users(&mut items).await;
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

    /// The user refs that are members of `group` (a normalised ref) in the catalog, sorted;
    /// a note when there are none. Fails when the catalog or its relations cannot be read.
    async fn group_members(&self, group: &str, notes: &mut Vec<String>) -> Result<Vec<String>> {
        let c = self
            .catalog
            .as_ref()
            .map_err(|why| CoreError::SchemaDegraded {
                view: "group members".into(),
                reason: format!(
                    "the catalog cannot be read ({why}); members of a group come from its relations"
                ),
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
        let rows = Self::group_members_sql(&c.schema, &[group.to_string()])
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
                "{group} has no members in the catalog (or does not exist there)"
            ));
        }
        Ok(m)
    }

    /// The sessions of a user, or of every member of a group (catalog relations `hasMember`
    /// and `memberOf`). A missing table leaves its list empty with a note.
    pub async fn sessions_for(&self, entity_ref: &str) -> Result<UserSessions> {
        let is_group = entity_ref.trim().to_ascii_lowercase().starts_with("group:");
        let subject = normalize_ref(entity_ref, if is_group { "group" } else { "user" });
        let mut notes = Vec::new();
        let users: Vec<String> = if is_group {
            self.group_members(&subject, &mut notes).await?
        } else {
            vec![subject.clone()]
        };
        let mut out = UserSessions {
            subject,
            kind: if is_group { "group" } else { "user" },
            users: users
                .iter()
                .map(|u| UserLink {
                    entity_ref: u.clone(),
                    in_catalog: None,
                })
                .collect(),
            offline: Vec::new(),
            browser: Vec::new(),
            oauth: Vec::new(),
            user_info: Vec::new(),
            notes,
        };
        self.link_users(&mut out.users).await;
        if users.is_empty() {
            return Ok(out);
        }
        let q = AuthQuery {
            users: Some(users),
            limit: Some(1000),
            cursor: None,
        };
        let notes = &mut out.notes;
        out.offline = keep(self.offline_sessions(&q).await, "offline sessions", notes)?;
        out.browser = keep(self.browser_sessions(&q).await, "browser sessions", notes)?;
        out.user_info = keep(self.user_info(&q).await, "user info", notes)?;
        if let Some(groups) = or_note(self.oauth_sessions(&q).await, notes)? {
            out.oauth = groups.into_iter().flat_map(|g| g.sessions).collect();
        }
        Ok(out)
    }
}

/// The items of a page of `what` (with a note when there were more), or none with a note when
/// the database lacks what it needs.
fn keep<T>(r: Result<Page<T>>, what: &str, notes: &mut Vec<String>) -> Result<Vec<T>> {
    let Some(p) = or_note(r, notes)? else {
        return Ok(Vec::new());
    };
    if p.next_cursor.is_some() {
        notes.push(format!("{what}: only the first 1000 are shown"));
    }
    Ok(p.items)
}

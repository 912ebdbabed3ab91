//! Browser sessions: connect-session-knex's `sessions` table, latest expiry first, each
//! `sess` JSON reduced to its cookie expiry and the passport user (redacted), and which
//! catalog user a session belongs to: its passport user when that is a ref, else the one
//! `user:default/<name>` that exists (sign-in resolvers turn `jane.doe` into `jane-doe`).

use serde::Serialize;
use serde_json::Value;
use sqlx::postgres::PgRow;

use super::handle::{Auth, AuthQuery, InCatalog, NEED_SESSIONS};
use super::rows::{col, cursor2, page_rows, where_};
use crate::error::Result;
use crate::page::{Page, limit};
use crate::redact::{redact_json, redact_text};
use crate::refs::normalize_ref;
use crate::secrets::mask;
use crate::sql::{Param, Sql, iso_text};

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

impl Auth {
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
            let item = browser_session(r)?;
            if let Some(w) = &wanted
                && !w.iter().any(|r| session_matches(&item, r))
            {
                continue;
            }
            items.push(item);
        }
        self.link_browser_users(&mut items).await;
        if let Some(w) = &wanted {
            items.retain(|i| w.iter().any(|r| session_matches(i, r)));
        }
        Ok(Page { items, next_cursor })
    }

    /// Finds the catalog user of each session: of the candidate refs of its user, the one
    /// that exists in the catalog. Leaves the sessions as they are when the catalog cannot be
    /// read.
    async fn link_browser_users(&self, items: &mut [BrowserSession]) {
        let refs: Vec<String> = items
            .iter()
            .filter_map(|i| i.user.as_deref())
            .flat_map(candidates)
            .collect();
        let links = self.link(&refs).await;
        if links.is_empty() {
            return;
        }
        for i in items {
            let Some(u) = i.user.clone() else { continue };
            let found: Vec<String> = candidates(&u)
                .into_iter()
                .filter(|c| links.get(c).copied().unwrap_or(false))
                .collect();
            i.in_catalog = Some(found.len() == 1);
            i.user_ref = (found.len() == 1).then(|| found[0].clone());
        }
    }
}

/// A row of [`Auth::browser_sessions_sql`]: the sid masked, `sess` reduced and redacted.
fn browser_session(r: &PgRow) -> Result<BrowserSession> {
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
    Ok(BrowserSession {
        sid: mask(&sid),
        expires_at: col(r, "expires_at")?,
        is_expired: col::<Option<bool>>(r, "is_expired")?.unwrap_or(false),
        cookie_expires,
        passport_user: user,
        user: user_ref.map(|u| redact_text(&u)),
        provider,
        user_ref: None,
        in_catalog: None,
    })
}

/// Candidate refs of a session's user: the user itself when it is a ref, else
/// `user:default/<name variants>` of its local part.
fn candidates(u: &str) -> Vec<String> {
    if u.contains(':') {
        vec![normalize_ref(u, "user")]
    } else {
        let local = u.split('@').next().unwrap_or(u);
        name_variants(local)
            .into_iter()
            .map(|n| format!("user:default/{n}"))
            .collect()
    }
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

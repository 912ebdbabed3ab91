//! Sign-in state against a real server: generated data (once per binary), then a read-only
//! profile for every view. Lists are checked against direct SQL, users against the catalog,
//! and a leak test serialises every list, detail and log of the auth AND scaffolder views and
//! looks for every secret the databases hold. A copy without `offline_sessions` degrades.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use bsi_core::ErrorCode;
use bsi_core::auth::{self, Auth, AuthQuery, SessionKind};
use bsi_core::connect::{Connections, PgPool};
use bsi_core::demo::generate::GenerateOptions;
use bsi_core::migrate::AREAS;
use bsi_core::redact;
use bsi_core::scaffolder::{Scaffolder, TaskFilter};
use serde_json::Value;
use tokio::sync::OnceCell;

fn conns(prefix: &str, write: bool) -> Arc<Connections> {
    common::conns("auth", prefix, write)
}

async fn make(tag: &str, entities: usize) -> String {
    let prefix = format!("bsi{tag}{}_", std::process::id());
    let o = GenerateOptions {
        seed: 5,
        ..GenerateOptions::size(entities)
    };
    let (c, _) = common::filled("auth", &prefix, &AREAS, &o).await;
    c.close().await;
    prefix
}

async fn data() -> &'static str {
    static DATA: OnceCell<String> = OnceCell::const_new();
    DATA.get_or_init(|| make("auth", 400)).await
}

struct Ro {
    conns: Arc<Connections>,
    auth: Auth,
    pool: PgPool,
    catalog: PgPool,
}

async fn ro(prefix: &str) -> Ro {
    let conns = conns(prefix, false);
    let auth = Auth::open(&conns).await.unwrap();
    let pool = conns.pool(&conns.plugin_endpoint("auth")).await.unwrap();
    let catalog = conns.pool(&conns.plugin_endpoint("catalog")).await.unwrap();
    Ro {
        conns,
        auth,
        pool,
        catalog,
    }
}

async fn strings(pool: &PgPool, sql: &str) -> Vec<String> {
    sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_all(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

async fn count(pool: &PgPool, sql: &str) -> usize {
    sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}")) as usize
}

fn q(limit: usize) -> AuthQuery {
    AuthQuery {
        limit: Some(limit),
        ..Default::default()
    }
}

#[tokio::test]
async fn offline_sessions_page_and_link_users_to_the_catalog() {
    let r = ro(data().await).await;
    let total = count(&r.pool, "SELECT count(*) FROM offline_sessions").await;
    assert!(total > 5, "{total}");
    let mut got = Vec::new();
    let mut query = q(4);
    loop {
        let p = r.auth.offline_sessions(&query).await.unwrap();
        got.extend(p.items);
        match p.next_cursor {
            Some(c) => query.cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(got.len(), total);
    let ids: HashSet<String> = strings(&r.pool, "SELECT id FROM offline_sessions")
        .await
        .into_iter()
        .collect();
    for s in &got {
        assert!(!ids.contains(&s.id), "ids are masked");
        assert!(s.oidc_client_id.is_some());
    }
    assert!(
        got.windows(2)
            .all(|w| w[0].last_used_at >= w[1].last_used_at)
    );
    // Every user of the generated sessions is in the catalog.
    let in_catalog: HashSet<String> = strings(&r.catalog, "SELECT entity_ref FROM final_entities")
        .await
        .into_iter()
        .collect();
    for s in &got {
        assert_eq!(s.in_catalog, Some(in_catalog.contains(&s.user_entity_ref)));
    }
    // By user.
    let user = got[0].user_entity_ref.clone();
    let want = sqlx::query_scalar::<_, i64>(
        "SELECT count(*) FROM offline_sessions WHERE user_entity_ref = $1",
    )
    .bind(&user)
    .fetch_one(&r.pool)
    .await
    .unwrap() as usize;
    let mine = r
        .auth
        .offline_sessions(&AuthQuery {
            users: Some(vec![user.clone()]),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(mine.items.len(), want);
    r.conns.close().await;
}

#[tokio::test]
async fn users_in_catalog_tells_which_exist() {
    let r = ro(data().await).await;
    let users = strings(
        &r.catalog,
        "SELECT entity_ref FROM final_entities WHERE entity_ref LIKE 'user:%' ORDER BY 1 LIMIT 3",
    )
    .await;
    assert_eq!(users.len(), 3);
    let mut refs = users.clone();
    refs.push("user:default/nobody-at-all".into());
    refs.push(users[0].to_uppercase());
    let ep = r.conns.plugin_endpoint("catalog");
    let found = auth::users_in_catalog(&r.catalog, &ep, "public.final_entities", &refs)
        .await
        .unwrap();
    assert_eq!(found.len(), 4, "{found:?}");
    assert!(!found.contains("user:default/nobody-at-all"));
    assert!(found.contains(&users[0].to_uppercase()));
    assert!(
        auth::users_in_catalog(&r.catalog, &ep, "public.final_entities", &[])
            .await
            .unwrap()
            .is_empty()
    );
    r.conns.close().await;
}

#[tokio::test]
async fn browser_oauth_keys_and_user_info() {
    let r = ro(data().await).await;
    // Browser sessions: sid masked, user parsed from sess.
    let total = count(&r.pool, "SELECT count(*) FROM sessions").await;
    let p = r.auth.browser_sessions(&q(1000)).await.unwrap();
    assert_eq!(p.items.len(), total);
    assert!(total > 0);
    let sids: HashSet<String> = strings(&r.pool, "SELECT sid FROM sessions")
        .await
        .into_iter()
        .collect();
    for s in &p.items {
        assert!(!sids.contains(&s.sid));
        assert!(
            s.user.is_some() && s.provider.as_deref() == Some("github"),
            "{s:?}"
        );
        assert!(s.cookie_expires.is_some());
        // The GitHub user name leads to the catalog user (jane.doe signs in as jane-doe).
        assert_eq!(s.in_catalog, Some(true), "{s:?}");
        assert!(s.user_ref.as_deref().unwrap().starts_with("user:default/"));
    }
    // By user: the sessions of one of them.
    let who = p.items[0].user_ref.clone().unwrap();
    let mine = r
        .auth
        .browser_sessions(&AuthQuery {
            users: Some(vec![who.clone()]),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(!mine.items.is_empty());
    assert!(
        mine.items
            .iter()
            .all(|s| s.user_ref.as_deref() == Some(who.as_str()))
    );
    // OAuth sessions grouped by status, with the counts of SQL.
    let groups = r.auth.oauth_sessions(&q(100)).await.unwrap();
    let rows: Vec<(Option<String>, i64)> =
        sqlx::query_as("SELECT status, count(*) FROM oauth_authorization_sessions GROUP BY 1 ORDER BY 1 NULLS LAST")
            .fetch_all(&r.pool)
            .await
            .unwrap();
    let got: Vec<(Option<String>, i64)> =
        groups.iter().map(|g| (g.status.clone(), g.count)).collect();
    assert_eq!(got, rows);
    let approved = groups
        .iter()
        .find(|g| g.status.as_deref() == Some("approved"))
        .unwrap();
    assert!(
        approved
            .sessions
            .iter()
            .all(|s| s.codes == Some(1) && s.codes_used == Some(1))
    );
    // Signing keys: public JWK only, with their age.
    let keys = r.auth.signing_keys().await.unwrap();
    assert_eq!(
        keys.len(),
        count(&r.pool, "SELECT count(*) FROM signing_keys").await
    );
    for k in &keys {
        assert_eq!(k.alg.as_deref(), Some("ES256"));
        assert!(k.public_jwk.get("x").is_some() && k.public_jwk.get("d").is_none());
        assert!(!k.private_material);
    }
    assert!(keys.windows(2).all(|w| w[0].created_at >= w[1].created_at));
    // User info: claims, paged by ref.
    let total = count(&r.pool, "SELECT count(*) FROM user_info").await;
    let mut all = Vec::new();
    let mut query = q(9);
    loop {
        let p = r.auth.user_info(&query).await.unwrap();
        all.extend(p.items);
        match p.next_cursor {
            Some(c) => query.cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(all.len(), total);
    assert!(
        all.windows(2)
            .all(|w| w[0].user_entity_ref < w[1].user_entity_ref)
    );
    assert!(
        all.iter()
            .all(|u| u.claims["claims"]["sub"] == u.user_entity_ref.as_str())
    );
    assert!(
        all.iter()
            .all(|u| u.in_catalog == Some(true) && u.created_at.is_some())
    );
    r.conns.close().await;
}

#[tokio::test]
async fn sessions_of_a_user_and_of_a_group() {
    let r = ro(data().await).await;
    let user: String = sqlx::query_scalar(
        "SELECT user_entity_ref FROM offline_sessions GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1",
    )
    .fetch_one(&r.pool)
    .await
    .unwrap();
    let s = r.auth.sessions_for(&user).await.unwrap();
    assert_eq!(s.kind, "user");
    assert_eq!(s.users.len(), 1);
    assert_eq!(s.users[0].in_catalog, Some(true));
    assert!(!s.offline.is_empty() && s.offline.iter().all(|o| o.user_entity_ref == user));
    assert_eq!(s.user_info.len(), 1);

    // A group: its members from the catalog's relations, and their sessions.
    let group: String = sqlx::query_scalar(
        "SELECT source_entity_ref FROM relations WHERE type = 'hasMember' GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1",
    )
    .fetch_one(&r.catalog)
    .await
    .unwrap();
    let members = sqlx::query_scalar::<_, String>(
        "SELECT target_entity_ref FROM relations WHERE source_entity_ref = $1 AND type = 'hasMember' \
         UNION SELECT source_entity_ref FROM relations WHERE target_entity_ref = $1 AND type = 'memberOf' ORDER BY 1",
    )
    .bind(&group)
    .fetch_all(&r.catalog)
    .await
    .unwrap();
    let s = r.auth.sessions_for(&group).await.unwrap();
    assert_eq!(s.kind, "group");
    let got: Vec<String> = s.users.iter().map(|u| u.entity_ref.clone()).collect();
    assert_eq!(got, members);
    let want = sqlx::query_scalar::<_, i64>(
        "SELECT count(*) FROM offline_sessions WHERE user_entity_ref = ANY($1)",
    )
    .bind(&members)
    .fetch_one(&r.pool)
    .await
    .unwrap() as usize;
    assert_eq!(s.offline.len(), want);
    assert!(
        s.offline
            .iter()
            .all(|o| members.contains(&o.user_entity_ref))
    );
    let nobody = r
        .auth
        .sessions_for("group:default/no-such-group")
        .await
        .unwrap();
    assert!(nobody.users.is_empty() && !nobody.notes.is_empty());
    r.conns.close().await;
}

#[tokio::test]
async fn refresh_tokens_are_in_offline_sessions() {
    let e = auth::locate_table("refresh_tokens").unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotFound);
    assert!(e.to_string().contains("offline_sessions"));
    let e = SessionKind::parse("refresh_tokens").unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotFound);
    assert_eq!(
        auth::locate_table("offline_sessions").unwrap(),
        "offline_sessions"
    );
}

/// Every secret the data holds, read directly: the values of each `tasks.secrets` object,
/// token hashes, session ids, OAuth codes/state/nonce/challenges, and the signature of every
/// JWT anywhere in the scaffolder and auth databases.
async fn secrets_in_data(scaffolder: &PgPool, authdb: &PgPool) -> BTreeMap<String, &'static str> {
    let mut out = BTreeMap::new();
    for raw in strings(
        scaffolder,
        "SELECT secrets FROM tasks WHERE secrets IS NOT NULL",
    )
    .await
    {
        let v: Value = serde_json::from_str(&raw).unwrap();
        for val in v.as_object().unwrap().values() {
            let s = val
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| val.to_string());
            out.insert(s, "tasks.secrets value");
        }
    }
    for h in strings(authdb, "SELECT token_hash FROM offline_sessions").await {
        out.insert(h, "offline_sessions.token_hash");
    }
    for h in strings(authdb, "SELECT id FROM offline_sessions").await {
        out.insert(h, "offline_sessions.id");
    }
    for h in strings(authdb, "SELECT sid FROM sessions").await {
        out.insert(h, "sessions.sid");
    }
    for h in strings(authdb, "SELECT code FROM oidc_authorization_codes").await {
        out.insert(h, "oidc_authorization_codes.code");
    }
    for h in strings(
        authdb,
        "SELECT x FROM oauth_authorization_sessions, LATERAL (VALUES (id), (state), (nonce), (code_challenge)) v(x) WHERE x IS NOT NULL",
    )
    .await
    {
        out.insert(h, "oauth_authorization_sessions secret column");
    }
    let mut text = String::new();
    for (pool, tables) in [
        (scaffolder, &["tasks", "task_events"][..]),
        (
            authdb,
            &["sessions", "user_info", "signing_keys", "offline_sessions"][..],
        ),
    ] {
        for t in tables {
            text.extend(
                strings(pool, &format!("SELECT t::text FROM {t} t"))
                    .await
                    .into_iter()
                    .map(|s| s + "\n"),
            );
        }
    }
    // JSON text escapes nothing in a JWT; split on anything a JWT cannot contain.
    let mut jwts = 0;
    for cand in text.split(|c: char| !(c.is_ascii_alphanumeric() || "-_.=".contains(c))) {
        if redact::is_jwt(cand) {
            let sig = cand.split('.').nth(2).unwrap();
            out.insert(sig.to_string(), "JWT signature");
            out.insert(
                cand.split('.').nth(1).unwrap().to_string(),
                "JWT claims part",
            );
            jwts += 1;
        }
    }
    assert!(
        jwts > 0,
        "the data holds JWTs (the open task's backstageToken)"
    );
    out.retain(|k, _| k.len() >= 8);
    out
}

#[tokio::test]
async fn nothing_secret_leaks_from_either_area() {
    let prefix = data().await;
    let r = ro(prefix).await;
    let sc = Scaffolder::open(&r.conns).await.unwrap();
    let scpool = r
        .conns
        .pool(&r.conns.plugin_endpoint("scaffolder"))
        .await
        .unwrap();
    let secrets = secrets_in_data(&scpool, &r.pool).await;
    assert!(secrets.values().any(|w| *w == "tasks.secrets value"));
    assert!(
        secrets
            .values()
            .any(|w| *w == "offline_sessions.token_hash")
    );
    assert!(secrets.values().any(|w| *w == "sessions.sid"));

    let mut out: Vec<String> = Vec::new();
    let mut push = |v: &dyn erased::Ser| out.push(v.json());

    // Scaffolder: every page, every task's detail (with its log), entity links.
    let mut f = TaskFilter {
        limit: Some(50),
        ..Default::default()
    };
    let mut ids = Vec::new();
    loop {
        let p = sc.tasks(&f).await.unwrap();
        push(&p);
        ids.extend(p.items.iter().map(|t| t.id.clone()));
        match p.next_cursor {
            Some(c) => f.cursor = Some(c),
            None => break,
        }
    }
    for id in &ids {
        push(&sc.task(id).await.unwrap());
    }
    let creators = strings(
        &scpool,
        "SELECT DISTINCT created_by FROM tasks WHERE secrets IS NOT NULL",
    )
    .await;
    for c in &creators {
        push(
            &sc.tasks(&TaskFilter {
                creator: Some(c.clone()),
                ..Default::default()
            })
            .await
            .unwrap(),
        );
    }
    push(
        &sc.tasks_for_entity(
            "component:default/anything",
            Some("template:default/x"),
            None,
        )
        .await
        .unwrap(),
    );

    // Auth: every list, the sessions of every user and group, and decoded tokens.
    let mut query = q(20);
    loop {
        let p = r.auth.offline_sessions(&query).await.unwrap();
        push(&p);
        match p.next_cursor {
            Some(c) => query.cursor = Some(c),
            None => break,
        }
    }
    let mut query = q(5);
    loop {
        let p = r.auth.browser_sessions(&query).await.unwrap();
        push(&p);
        match p.next_cursor {
            Some(c) => query.cursor = Some(c),
            None => break,
        }
    }
    push(&r.auth.oauth_sessions(&q(1000)).await.unwrap());
    push(&r.auth.signing_keys().await.unwrap());
    push(&r.auth.user_info(&q(1000)).await.unwrap());
    let users = strings(
        &r.pool,
        "SELECT user_entity_ref FROM user_info ORDER BY 1 LIMIT 40",
    )
    .await;
    for u in users.iter().chain(&creators) {
        push(&r.auth.sessions_for(u).await.unwrap());
    }
    let groups = strings(
        &r.catalog,
        "SELECT DISTINCT source_entity_ref FROM relations WHERE type = 'hasMember' LIMIT 10",
    )
    .await;
    for g in &groups {
        push(&r.auth.sessions_for(g).await.unwrap());
    }
    let token: String = sqlx::query_scalar(
        "SELECT secrets::json->>'backstageToken' FROM tasks WHERE secrets IS NOT NULL LIMIT 1",
    )
    .fetch_one(&scpool)
    .await
    .unwrap();
    let decoded = auth::decode_token(&token).unwrap();
    assert!(decoded.backstage_user_token);
    assert!(decoded.decoded.claims.get("sub").is_some());
    push(&decoded);

    // Errors carry no secrets either.
    out.push(
        auth::decode_token(&format!("{token}.extra"))
            .unwrap_err()
            .to_string(),
    );

    let all = out.join("\n");
    assert!(all.len() > 10_000, "the views produced output");
    for (secret, what) in &secrets {
        assert!(!all.contains(secret.as_str()), "{what} leaked: {secret}");
    }
    r.conns.close().await;
}

/// Serialising heterogeneous views through one closure.
mod erased {
    pub trait Ser {
        fn json(&self) -> String;
    }
    impl<T: serde::Serialize> Ser for T {
        fn json(&self) -> String {
            serde_json::to_string(self).unwrap()
        }
    }
}

#[tokio::test]
async fn without_offline_sessions_the_rest_works() {
    let prefix = make("authdeg", 80).await;
    {
        let w = conns(&prefix, true);
        let pool = w.pool(&w.plugin_endpoint("auth")).await.unwrap();
        sqlx::raw_sql("DROP TABLE offline_sessions; ALTER TABLE user_info DROP COLUMN created_at")
            .execute(&pool)
            .await
            .unwrap();
        w.close().await;
    }
    let r = ro(&prefix).await;
    let e = r
        .auth
        .offline_sessions(&AuthQuery::default())
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::SchemaDegraded);
    assert!(e.to_string().contains("offline_sessions"), "{e}");
    assert!(
        r.auth
            .degraded()
            .iter()
            .any(|u| u.missing == vec!["offline_sessions".to_string()])
    );
    assert!(!r.auth.signing_keys().await.unwrap().is_empty());
    assert!(r.auth.oauth_sessions(&AuthQuery::default()).await.is_ok());
    assert!(r.auth.browser_sessions(&AuthQuery::default()).await.is_ok());
    let users = r.auth.user_info(&AuthQuery::default()).await.unwrap();
    assert!(!users.items.is_empty());
    let v = serde_json::to_value(&users.items[0]).unwrap();
    assert!(v.get("created_at").is_none(), "absent, not null: {v}");
    let s = r
        .auth
        .sessions_for(&users.items[0].user_entity_ref)
        .await
        .unwrap();
    assert!(s.offline.is_empty() && s.user_info.len() == 1);
    assert!(
        s.notes.iter().any(|n| n.contains("offline_sessions")),
        "{:?}",
        s.notes
    );
    r.conns.close().await;
}

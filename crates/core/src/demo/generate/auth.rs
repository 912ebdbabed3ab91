//! The auth backend's tables: signing keys (public halves only), user info with ownership
//! claims, browser sessions, refresh tokens (offline sessions), and a few OIDC authorization
//! sessions with their codes.

use serde_json::json;
use sqlx::postgres::PgPool;

use super::copy::Writer;
use super::encode::{b64, title_case};
use super::options::{GenerateReport, Progress};
use super::plan::Plan;
use super::rng::{Rng, STREAM_AUTH, STREAM_KID};
use super::time::{DAY, HOUR, MIN, SEC, iso, ts};
use crate::error::Result;

/// The id of the k-th signing key (auth), which user tokens name.
pub(super) fn kid(seed: u64, k: u64) -> String {
    Rng::new(seed, STREAM_KID + k).uuid()
}

/// Fills the auth tables.
pub(super) async fn write_auth(
    pool: &PgPool,
    p: &Plan,
    progress: Progress<'_>,
) -> Result<GenerateReport> {
    let mut rng = Rng::new(p.seed, STREAM_AUTH);
    let signing_keys = write_signing_keys(pool, p, &mut rng).await?;
    let users: Vec<usize> = p.healthy_users().collect();
    let mut report = write_users(pool, p, &mut rng, &users, progress).await?;
    write_authorizations(pool, p, &mut rng, &users).await?;
    report.signing_keys = signing_keys;
    Ok(report)
}

/// Three signing keys, a few hours apart; returns how many.
async fn write_signing_keys(pool: &PgPool, p: &Plan, rng: &mut Rng) -> Result<usize> {
    let mut keys = Writer::new(pool, "signing_keys", "kid, created_at, key");
    for k in 0..3 {
        let kid = kid(p.seed, k);
        let (x, y) = (rng.b64(32), rng.b64(32));
        let key = json!({"kty": "EC", "x": x, "y": y, "crv": "P-256", "kid": kid, "alg": "ES256"});
        let at = ts(p.epoch - k as i64 * 3 * HOUR - rng.range(0, HOUR));
        keys.row(&[&kid, &at, &key.to_string()]);
    }
    keys.flush().await?;
    Ok(keys.rows)
}

/// Each user's info, and for some a browser session and refresh tokens of the CLI or the IDE.
async fn write_users(
    pool: &PgPool,
    p: &Plan,
    rng: &mut Rng,
    users: &[usize],
    progress: Progress<'_>,
) -> Result<GenerateReport> {
    let cols = "user_entity_ref, user_info, updated_at, created_at";
    let mut info = Writer::new(pool, "user_info", cols);
    let mut sessions = Writer::new(pool, "sessions", "sid, sess, expired");
    let cols = "id, user_entity_ref, oidc_client_id, token_hash, created_at, last_used_at";
    let mut offline = Writer::new(pool, "offline_sessions", cols);
    for (k, &u) in users.iter().enumerate() {
        let (uref, name) = (p.eref(u), &p.ents[u].name);
        let created = p.epoch - rng.range(30 * DAY, 300 * DAY);
        let updated = p.epoch - rng.range(0, 30 * DAY);
        let claims = json!({"claims": {"sub": uref, "ent": p.ent_claims(u)}}).to_string();
        info.row(&[&uref, &claims, &ts(updated), &ts(created)]);
        if rng.chance(0.3) {
            // connect-session-knex: the cookie and the passport user of a sign-in in progress.
            let expires = p.epoch + rng.range(-3 * DAY, DAY);
            let cookie = json!({"originalMaxAge": 86_400_000, "expires": iso(expires), "secure": true,
                "httpOnly": true, "path": "/", "sameSite": "lax"});
            let user = json!({"provider": "github", "id": rng.range(100_000, 99_999_999).to_string(),
                "username": name.replace('.', "-"), "displayName": title_case(name)});
            let sess = json!({"cookie": cookie, "passport": {"user": user}}).to_string();
            sessions.row(&[&rng.b64(24), &sess, &ts(expires)]);
        }
        for (client, share) in [("backstage-cli", 0.4), ("vscode-backstage", 0.15)] {
            if rng.chance(share) {
                let (salt, key) = (b64(&rng.bytes(16), false), b64(&rng.bytes(64), false));
                let hash = format!("{salt}.{key}");
                let created = ts(updated - rng.range(0, 20 * DAY));
                offline.row(&[&rng.uuid(), &uref, &client, &hash, &created, &ts(updated)]);
            }
        }
        if info.full() || sessions.full() || offline.full() || k + 1 == users.len() {
            tokio::try_join!(info.flush(), sessions.flush(), offline.flush())?;
            progress("auth", (k + 1) as u64, users.len() as u64);
        }
    }
    Ok(GenerateReport {
        sessions: sessions.rows,
        offline_sessions: offline.rows,
        users: info.rows,
        ..Default::default()
    })
}

/// A few OIDC authorization sessions (CLI sign-ins) and the codes of the approved ones.
async fn write_authorizations(
    pool: &PgPool,
    p: &Plan,
    rng: &mut Rng,
    users: &[usize],
) -> Result<()> {
    let cols = "id, client_id, user_entity_ref, redirect_uri, scope, state, response_type, \
                code_challenge, code_challenge_method, nonce, status, expires_at";
    let mut oauth = Writer::new(pool, "oauth_authorization_sessions", cols);
    let cols = "code, session_id, expires_at, used";
    let mut codes = Writer::new(pool, "oidc_authorization_codes", cols);
    let statuses = ["approved", "approved", "pending", "rejected", "expired"];
    for (k, status) in statuses.into_iter().enumerate() {
        let (id, at) = (rng.uuid(), p.epoch - rng.range(MIN, 3 * DAY) / SEC * SEC);
        let user = (status != "pending").then(|| users.get(k).map(|&u| p.eref(u)));
        let (state, nonce) = (format!("st-{}", rng.hex(12)), format!("n-{}", rng.hex(12)));
        let (uri, scope) = ("http://127.0.0.1:9999/callback", "openid offline_access");
        let (challenge, expires) = (rng.b64(32), ts(at + HOUR));
        let client = "backstage-cli";
        oauth.row(&[
            &id, &client, &user, &uri, &scope, &state, &"code", &challenge, &"S256", &nonce,
            &status, &expires,
        ]);
        if status == "approved" {
            codes.row(&[&rng.b64(32), &id, &ts(at + 10 * MIN), &"t"]);
        }
    }
    oauth.flush().await?;
    codes.flush().await?;
    Ok(())
}

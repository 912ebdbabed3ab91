//! Sign-in state: the age of auth-backend's signing keys (`signing_keys`, public keys only),
//! and offline sessions (`offline_sessions`): how many, and whether token hashes are stored
//! (a scrypt hash of each refresh token, never the token). Only counts and ages are read.

use std::sync::Arc;

use sqlx::Row;

use super::{Finding, Out, Severity, missing, plural};
use crate::connect::Connections;
use crate::error::Result;
use crate::refs::time::human_duration;
use crate::schema::DbSchema;
use crate::sql::{Sql, age_secs, qualified};

const AREA: &str = "auth";

pub(super) async fn check(conns: &Arc<Connections>) -> Out {
    let mut out = Out::default();
    let place = match crate::area::locate(conns, AREA) {
        Ok(p) => p,
        Err(e) => {
            out.take(AREA, "auth", Err(e));
            return out;
        }
    };
    let (pool, db) = match place.open(conns).await {
        Ok(x) => x,
        Err(e) => {
            out.take(AREA, "auth", Err(e));
            return out;
        }
    };
    let ep = &place.endpoint;
    let keys = async {
        if !db.has_column("signing_keys", "created_at") {
            return Err(missing(
                "signing keys",
                "signing_keys.created_at does not exist",
            ));
        }
        let sql = Sql {
            text: format!(
                "SELECT count(*) AS n, {} AS newest, {} AS oldest FROM {}",
                age_secs("max(created_at)"),
                age_secs("min(created_at)"),
                qualified(&db.schema, "signing_keys")
            ),
            ..Sql::default()
        };
        let rows = sql.fetch_all(&pool, ep).await?;
        let Some(r) = rows.first() else {
            return Ok(Vec::new());
        };
        let n: i64 = r.get("n");
        let mut f = Finding::new(
            "auth.signing_keys",
            Severity::Info,
            AREA,
            if n == 0 {
                "No signing key is stored: the auth backend has not issued a token yet.".to_string()
            } else {
                format!(
                    "{} stored, the newest made {} ago.",
                    plural(n, "signing key is", "signing keys are"),
                    human_duration(r.get::<Option<i64>, _>("newest").unwrap_or_default())
                )
            },
        )
        .count(n);
        if n > 0 {
            f = f.evidence(format!(
                "the oldest made {} ago; the auth backend makes a new key as it rotates them",
                human_duration(r.get::<Option<i64>, _>("oldest").unwrap_or_default())
            ));
        }
        Ok(vec![f.next(
            "the signing keys and sessions, masked",
            &["sessions"],
        )])
    };
    let r = keys.await;
    out.take(AREA, "signing keys", r);
    out.take(AREA, "offline sessions", offline(&pool, ep, &db).await);
    out
}

async fn offline(
    pool: &crate::connect::PgPool,
    ep: &crate::connect::Endpoint,
    db: &DbSchema,
) -> Result<Vec<Finding>> {
    if !db.has_column("offline_sessions", "id") {
        return Err(missing(
            "offline sessions",
            "offline_sessions does not exist (added by auth-backend's offline access migrations)",
        ));
    }
    let hashed = db.has_column("offline_sessions", "token_hash");
    let sql = Sql {
        text: format!(
            "SELECT count(*) AS n, {} AS hashed FROM {}",
            if hashed {
                "count(*) FILTER (WHERE coalesce(token_hash, '') <> '')"
            } else {
                "0::bigint"
            },
            qualified(&db.schema, "offline_sessions")
        ),
        ..Sql::default()
    };
    let rows = sql.fetch_all(pool, ep).await?;
    let Some(r) = rows.first() else {
        return Ok(Vec::new());
    };
    let (n, h): (i64, i64) = (r.get("n"), r.get("hashed"));
    Ok(vec![
        Finding::new(
            "auth.offline_sessions",
            Severity::Info,
            AREA,
            format!(
                "{} (refresh tokens); {}.",
                plural(n, "offline session is", "offline sessions are"),
                if hashed {
                    format!("{h} store a token hash (a scrypt hash of the token, never the token)")
                } else {
                    "this version stores no token hash".to_string()
                }
            ),
        )
        .count(n)
        .next("the offline sessions, masked", &["sessions"]),
    ])
}

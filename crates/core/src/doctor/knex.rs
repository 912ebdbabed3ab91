//! Knex: held migration locks (`<prefix>knex_migrations_lock.is_locked = 1`, the "Migration
//! table is already locked" outage at start-up), with the sessions on that database, and
//! migration sets that no published version ships because an upgrade stopped half-way
//! ([`crate::eras`]' `between` verdict). Read through [`crate::knex`] and [`crate::eras`].

use std::sync::Arc;

use sqlx::Row;

use super::{Finding, Out, Severity, plural};
use crate::connect::{Connections, map_query_error};
use crate::discovery::Discovery;
use crate::eras::{self, Verdict};
use crate::error::Result;
use crate::knex::{self as knex_state, KnexTable};
use crate::sql::Sql;

const AREA: &str = "knex";

pub(super) async fn check(conns: &Arc<Connections>, d: &Discovery) -> Out {
    let mut out = Out::default();
    let (tables, errors) = knex_state::status_of(conns, d).await;
    for e in errors {
        out.take(
            AREA,
            "Knex migration tables",
            Err(crate::CoreError::Database {
                code: None,
                message: e.message,
            }),
        );
    }
    let held: Vec<&KnexTable> = tables.iter().filter(|t| t.locked).collect();
    if held.is_empty() {
        if !tables.is_empty() {
            out.findings.push(
                Finding::new(
                    "knex.lock_held",
                    Severity::Ok,
                    AREA,
                    format!(
                        "No Knex migration lock is held ({} checked).",
                        plural(tables.len() as i64, "migrations table", "migrations tables")
                    ),
                )
                .count(0),
            );
        }
    } else {
        for t in held {
            let r = lock_finding(conns, t).await;
            out.take(AREA, "Knex locks", r);
        }
    }
    let (eras, _) = eras::of_discovery(conns, d).await;
    for e in eras
        .iter()
        .filter(|e| e.identity.verdict == Verdict::Between)
    {
        let table = if e.schema == "public" {
            e.table.clone()
        } else {
            format!("{}.{}", e.schema, e.table)
        };
        out.findings.push(
            Finding::new(
                "knex.partial_upgrade",
                Severity::Warning,
                AREA,
                format!(
                    "{} in {} holds a migration set no published version ships: an upgrade stopped half-way.",
                    table, e.database
                ),
            )
            .count(e.identity.missing.len() as i64)
            .evidence(e.identity.summary.clone())
            .evidence(format!(
                "{} migrations applied, the newest {}",
                e.applied,
                e.newest.clone().unwrap_or_default()
            ))
            .examples(e.identity.missing.iter().cloned())
            .next("the Knex state of every database", &["knex", "status"])
            .next("which Backstage each database is", &["databases"]),
        );
    }
    out
}

/// A held lock, with the sessions connected to its database by application name.
async fn lock_finding(conns: &Connections, t: &KnexTable) -> Result<Vec<Finding>> {
    let lock = t.lock_table.clone().unwrap_or_default();
    let qualified = format!("{}.{}", t.schema, lock);
    let ep = conns.endpoint(&t.database);
    let pool = conns.pool(&ep).await?;
    let mut sql = Sql::new();
    let me = sql.text(crate::PRODUCT_NAME);
    sql.text = format!(
        "SELECT coalesce(nullif(application_name, ''), '(no application_name)') AS app, \
                count(*) AS n, coalesce(string_agg(DISTINCT state, ', '), '') AS states \
         FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() \
           AND coalesce(application_name, '') <> {me} GROUP BY 1 ORDER BY 2 DESC, 1"
    );
    let sessions: Vec<String> = sql
        .query()
        .fetch_all(&pool)
        .await
        .map_err(|e| map_query_error(e, &ep))?
        .iter()
        .map(|r| {
            format!(
                "{} ×{} ({})",
                r.get::<String, _>("app"),
                r.get::<i64, _>("n"),
                r.get::<String, _>("states")
            )
        })
        .collect();
    let mut f = Finding::new(
        "knex.lock_held",
        Severity::Critical,
        AREA,
        format!(
            "The Knex migration lock {qualified} in {} is held: a Backstage backend starting on it fails with \"Migration table is already locked\".",
            t.database
        ),
    )
    .count(1)
    .evidence(format!(
        "{} has is_locked = 1; {} applied, the newest {}",
        qualified,
        t.applied,
        t.newest.clone().unwrap_or_default()
    ))
    .evidence(if sessions.is_empty() {
        format!(
            "no other session is connected to {}: nothing is migrating now",
            t.database
        )
    } else {
        format!(
            "{} connected to {}: {}",
            plural(t.other_sessions, "other session is", "other sessions are"),
            t.database,
            sessions.join("; ")
        )
    })
    .examples([format!("{}: {qualified}", t.database)])
    .next("the Knex state of every database", &["knex", "status"]);
    f = f.next(
        "release the lock once no Backstage is migrating (write mode, asks for confirmation)",
        &["--write", "knex", "unlock", &t.database, &qualified],
    );
    Ok(vec![f])
}

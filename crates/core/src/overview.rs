//! The first screen of a profile: its databases and areas, the Knex state of every plugin
//! database (held locks first), and a few counts that tell whether Backstage is healthy:
//! entities, processing errors, orphans, scaffolder tasks failed in the last 24 hours and
//! active browser sessions. A count whose database or table is missing is reported as
//! unavailable with the reason, never as a failure of the whole overview.

use std::sync::Arc;

use serde::Serialize;

use crate::connect::{Connections, map_query_error};
use crate::discovery::{Discovery, discover};
use crate::eras::{self, Era};
use crate::error::{ErrorPayload, Result};
use crate::knex::{self, KnexTable};
use crate::sql::quote_ident;
use crate::tables::area_scope;

/// One count, or why it is unavailable.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Count {
    pub value: Option<i64>,
    /// Why there is no value (a missing database, table or column, or an error).
    pub unavailable: Option<ErrorPayload>,
}

impl Count {
    fn from(r: Result<i64>) -> Self {
        match r {
            Ok(v) => Count {
                value: Some(v),
                unavailable: None,
            },
            Err(e) => Count {
                value: None,
                unavailable: Some(e.to_payload()),
            },
        }
    }
}

/// The health counts of an installation.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Counts {
    /// Entities in `final_entities` (stitched).
    pub entities: Count,
    /// `refresh_state` rows with processing errors.
    pub processing_errors: Count,
    /// Orphaned entities, as the orphan list counts them: no `refresh_state_references` row
    /// targets them, or they carry `backstage.io/orphan: 'true'`.
    pub orphans: Count,
    /// Scaffolder tasks with status `failed` created in the last 24 hours.
    pub failed_tasks_24h: Count,
    /// Browser sessions (`sessions`) that have not expired.
    pub active_sessions: Count,
}

/// Everything the overview shows.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Overview {
    pub discovery: Discovery,
    /// Knex migration tables of every plugin database, held locks first.
    pub knex: Vec<KnexTable>,
    /// Why the Knex tables of a database could not be read (the first such database).
    pub knex_error: Option<ErrorPayload>,
    /// Which Backstage each Knex table says this is: its package and version range, per
    /// database, the plugin's own table first.
    pub eras: Vec<Era>,
    pub counts: Counts,
}

/// What a count needs: `(table, Some(column))` or `(table, None)` for the table alone.
type Need<'a> = (&'a str, Option<&'a str>);

async fn present(
    pool: &crate::connect::PgPool,
    scope: &crate::tables::Scope,
    (table, column): Need<'_>,
) -> Result<bool> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_class c \
           JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
           WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p', 'v', 'm') \
             AND ($3::text IS NULL OR EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a \
               WHERE a.attrelid = c.oid AND a.attname = $3 AND a.attnum > 0 AND NOT a.attisdropped)))",
    )
    .bind(&scope.schema)
    .bind(table)
    .bind(column)
    .fetch_one(pool)
    .await
    .map_err(|e| map_query_error(e, &scope.endpoint))
}

/// Runs `sql` (a `count(*)`) in the area's database when every `(table, column)` it needs is
/// there; else a `schema_degraded` error that names what is missing. `sql` gets a function
/// that quotes a table's name and one that tells whether an `optional` need is met.
async fn count_in(
    conns: &Connections,
    area: &str,
    view: &str,
    needs: &[Need<'_>],
    optional: &[Need<'_>],
    sql: impl Fn(&dyn Fn(&str) -> String, &dyn Fn(&str) -> bool) -> String,
) -> Result<i64> {
    let scope = area_scope(conns, area)?;
    let pool = conns.pool(&scope.endpoint).await?;
    for &(table, column) in needs {
        if !present(&pool, &scope, (table, column)).await? {
            return Err(crate::CoreError::SchemaDegraded {
                view: view.to_string(),
                reason: match column {
                    Some(c) => format!("{}.{table} has no column {c}", scope.label()),
                    None => format!("{} has no table {table}", scope.label()),
                },
            });
        }
    }
    let mut met = Vec::new();
    for &need in optional {
        if present(&pool, &scope, need).await? {
            met.push(need.0.to_string());
        }
    }
    let has = move |table: &str| met.iter().any(|m| m == table);
    let schema = scope.schema.clone();
    let t = move |table: &str| format!("{}.{}", quote_ident(&schema), quote_ident(table));
    let q = sql(&t, &has);
    sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(q))
        .fetch_one(&pool)
        .await
        .map_err(|e| map_query_error(e, &scope.endpoint))
}

/// The health counts; each is read on its own and may be unavailable.
pub async fn counts(conns: &Connections) -> Counts {
    let entities = count_in(
        conns,
        "catalog",
        "the entity count",
        &[("final_entities", Some("final_entity"))],
        &[],
        |t, _| {
            format!(
                "SELECT count(*) FROM {} WHERE final_entity IS NOT NULL",
                t("final_entities")
            )
        },
    );
    let errors = count_in(
        conns,
        "catalog",
        "the processing error count",
        &[("refresh_state", Some("errors"))],
        &[],
        |t, _| {
            format!(
                "SELECT count(*) FROM {} WHERE errors NOT IN ('', '[]')",
                t("refresh_state")
            )
        },
    );
    // As the orphan list: no longer referenced by a parent, or annotated backstage.io/orphan.
    let orphans = count_in(
        conns,
        "catalog",
        "the orphan count",
        &[
            ("refresh_state", None),
            ("refresh_state_references", Some("target_entity_ref")),
        ],
        &[("search", Some("value"))],
        |t, has| {
            let annotated = if has("search") {
                format!(
                    " OR EXISTS (SELECT 1 FROM {} s WHERE s.entity_id = rs.entity_id \
                     AND s.key = 'metadata.annotations.backstage.io/orphan' AND s.value = 'true')",
                    t("search")
                )
            } else {
                String::new()
            };
            format!(
                "SELECT count(*) FROM {} rs WHERE NOT EXISTS \
                 (SELECT 1 FROM {} x WHERE x.target_entity_ref = rs.entity_ref){annotated}",
                t("refresh_state"),
                t("refresh_state_references")
            )
        },
    );
    let failed = count_in(
        conns,
        "scaffolder",
        "the failed task count",
        &[("tasks", Some("status")), ("tasks", Some("created_at"))],
        &[],
        |t, _| {
            format!(
                "SELECT count(*) FROM {} WHERE status = 'failed' \
                 AND created_at >= now() - interval '24 hours'",
                t("tasks")
            )
        },
    );
    let sessions = count_in(
        conns,
        "auth",
        "the active session count",
        &[("sessions", Some("expired"))],
        &[],
        |t, _| {
            format!(
                "SELECT count(*) FROM {} WHERE expired > now()",
                t("sessions")
            )
        },
    );
    let (entities, errors, orphans, failed, sessions) =
        tokio::join!(entities, errors, orphans, failed, sessions);
    Counts {
        entities: Count::from(entities),
        processing_errors: Count::from(errors),
        orphans: Count::from(orphans),
        failed_tasks_24h: Count::from(failed),
        active_sessions: Count::from(sessions),
    }
}

/// The overview of a profile. Fails only when the server cannot be reached at all.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn overview(conns: &Arc<Connections>) -> Result<Overview> {
    let discovery = discover(conns).await?;
    let ((mut knex, knex_errors), (eras, _), counts) = tokio::join!(
        knex::status_of(conns, &discovery),
        eras::of_discovery(conns, &discovery),
        counts(conns)
    );
    knex.sort_by_key(|k| !k.locked);
    Ok(Overview {
        discovery,
        knex,
        knex_error: knex_errors.into_iter().next(),
        eras,
        counts,
    })
}

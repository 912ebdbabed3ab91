//! Our migrations: SQL under `migrations/<area>/NNNN_name.sql` that builds a Backstage-shaped
//! database (embedded at build time), their status in a database, the plan, and applying them.
//!
//! Each migration runs in its own transaction, statement by statement, so that a failure
//! rolls everything of that migration back and says which statement failed. What ran is
//! recorded in `bsi_migrations` (area, version, name, SHA-256 checksum) in the target schema;
//! a recorded checksum that no longer matches the file is reported. Applying needs write
//! mode, and a database that real Backstage manages (it has `knex_migrations`) is refused
//! unless forced.
//!
//! A database whose tables Backstage's own Knex migrations made (`knex_migrations` and no
//! record of ours) has nothing pending here: its status says so and points at the Knex state,
//! its plan is empty, and applying is refused.

use std::time::Instant;

use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::connect::{Connections, Endpoint, map_query_error};
use crate::error::{CoreError, ErrorCode, Result};
use crate::profile::DivisionMode;
use crate::sql::{self, quote_ident};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/migrations.rs"));
}

/// The plugin areas we have migrations for, in the order they are applied.
pub use crate::area::MIGRATED_AREAS as AREAS;

/// The table that records what we applied.
pub const TRACKING_TABLE: &str = "bsi_migrations";

/// One migration file.
#[derive(Debug, Clone, Serialize)]
pub struct Migration {
    pub area: &'static str,
    pub version: i32,
    pub name: String,
    pub file: &'static str,
    #[serde(skip)]
    pub sql: &'static str,
    pub checksum: String,
}

impl Migration {
    /// A migration from its file name (`NNNN_name.sql`) and SQL.
    pub fn new(area: &'static str, file: &'static str, sql: &'static str) -> Self {
        let stem = file.trim_end_matches(".sql");
        let (v, name) = stem.split_once('_').unwrap_or((stem, stem));
        Migration {
            area,
            version: v.parse().unwrap_or(0),
            name: name.to_string(),
            file,
            sql,
            checksum: hex(&Sha256::digest(sql.as_bytes())),
        }
    }
}

/// Every migration of `area`, in order.
pub fn migrations(area: &str) -> Vec<Migration> {
    embedded::EMBEDDED
        .iter()
        .filter(|(a, _, _)| *a == area)
        .map(|(a, file, sql)| Migration::new(a, file, sql))
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Where an area's migrations go.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Place {
    pub area: String,
    pub database: String,
    /// The schema: the area's name in schema mode, else `public`.
    pub schema: String,
}

/// The places of `areas` for the profile's layout.
pub fn places(conns: &Connections, areas: &[String]) -> Result<Vec<Place>> {
    let p = conns.profile();
    for a in areas {
        if !AREAS.contains(&a.as_str()) {
            return Err(CoreError::config(format!(
                "no migrations for `{a}`; areas with migrations: {}",
                AREAS.join(", ")
            )));
        }
    }
    if p.mode == DivisionMode::Single && areas.len() != 1 {
        return Err(CoreError::config(
            "a single-database profile holds one plugin area: name it with --area (catalog, scaffolder, ...)",
        ));
    }
    areas
        .iter()
        .map(|a| {
            let at = crate::area::locate(conns, a)?;
            Ok(Place {
                area: at.area,
                database: at.database,
                schema: at.schema,
            })
        })
        .collect()
}

/// The default areas: all of them, or, for a single database, none until one is named.
pub fn default_areas() -> Vec<String> {
    AREAS.iter().map(|s| s.to_string()).collect()
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AppliedMigration {
    pub version: i32,
    pub name: String,
    pub applied_at: String,
    /// False when the file changed since it was applied.
    pub checksum_matches: bool,
    /// False when no file has this version any more.
    pub known: bool,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PendingMigration {
    pub version: i32,
    pub name: String,
    pub file: String,
}

/// The migration state of one place.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AreaStatus {
    #[serde(flatten)]
    pub place: Place,
    pub database_exists: bool,
    pub schema_exists: bool,
    /// Real Backstage manages this schema: it has `knex_migrations`.
    pub knex_managed: bool,
    /// Backstage's own migrations made it: `knex_migrations` and no record of ours. Nothing is
    /// pending then; its migrations are the Knex ones (`bsi knex status`, the Knex view).
    pub backstage_managed: bool,
    pub applied: Vec<AppliedMigration>,
    pub pending: Vec<PendingMigration>,
}

impl AreaStatus {
    pub fn mismatched(&self) -> impl Iterator<Item = &AppliedMigration> {
        self.applied
            .iter()
            .filter(|a| a.known && !a.checksum_matches)
    }
}

fn endpoint(conns: &Connections, place: &Place) -> Result<Endpoint> {
    Ok(crate::area::locate(conns, &place.area)?.endpoint)
}

/// Reads the migration state of each place. A missing database is a state, not an error.
pub async fn status(conns: &Connections, places: &[Place]) -> Result<Vec<AreaStatus>> {
    let mut out = Vec::new();
    for place in places {
        out.push(status_with(conns, place, &migrations(&place.area)).await?);
    }
    Ok(out)
}

/// The state of `place` with respect to the migrations `files`.
pub async fn status_with(
    conns: &Connections,
    place: &Place,
    files: &[Migration],
) -> Result<AreaStatus> {
    let mut st = AreaStatus {
        place: place.clone(),
        database_exists: false,
        schema_exists: false,
        knex_managed: false,
        backstage_managed: false,
        applied: Vec::new(),
        pending: Vec::new(),
    };
    let ep = endpoint(conns, place)?;
    let pool = match conns.pool(&ep).await {
        Ok(p) => p,
        Err(e) if e.code() == ErrorCode::NotFound => {
            st.pending = files.iter().map(pending).collect();
            return Ok(st);
        }
        Err(e) => return Err(e),
    };
    st.database_exists = true;
    let row = sqlx::query(
        "SELECT EXISTS (SELECT FROM pg_namespace WHERE nspname = $1) AS schema_exists, \
                to_regclass(format('%I.%I', $1::text, 'knex_migrations')) IS NOT NULL AS knex, \
                to_regclass(format('%I.%I', $1::text, $2::text)) IS NOT NULL AS tracked",
    )
    .bind(&place.schema)
    .bind(TRACKING_TABLE)
    .fetch_one(&pool)
    .await
    .map_err(|e| map_query_error(e, &ep))?;
    st.schema_exists = row.get("schema_exists");
    st.knex_managed = row.get("knex");
    let tracked: bool = row.get("tracked");
    let mut applied_versions = Vec::new();
    if tracked {
        let sql = format!(
            "SELECT version, name, checksum, to_char(applied_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS at \
             FROM {}.{} WHERE area = $1 ORDER BY version",
            quote_ident(&place.schema),
            quote_ident(TRACKING_TABLE)
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&place.area)
            .fetch_all(&pool)
            .await
            .map_err(|e| map_query_error(e, &ep))?;
        for r in rows {
            let version: i32 = r.get("version");
            let checksum: String = r.get("checksum");
            let file = files.iter().find(|f| f.version == version);
            applied_versions.push(version);
            st.applied.push(AppliedMigration {
                version,
                name: r.get("name"),
                applied_at: r.get("at"),
                checksum_matches: file.is_some_and(|f| f.checksum == checksum),
                known: file.is_some(),
            });
        }
    }
    st.backstage_managed = st.knex_managed && !tracked;
    if !st.backstage_managed {
        st.pending = files
            .iter()
            .filter(|f| !applied_versions.contains(&f.version))
            .map(pending)
            .collect();
    }
    Ok(st)
}

fn pending(m: &Migration) -> PendingMigration {
    PendingMigration {
        version: m.version,
        name: m.name.clone(),
        file: format!("{}/{}", m.area, m.file),
    }
}

/// One migration that would run.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PlannedMigration {
    #[serde(flatten)]
    pub place: Place,
    pub version: i32,
    pub name: String,
    pub sql: String,
}

/// The SQL that `apply` would run, in order.
pub fn plan(statuses: &[AreaStatus]) -> Vec<PlannedMigration> {
    let mut out = Vec::new();
    for st in statuses {
        let files = migrations(&st.place.area);
        for p in &st.pending {
            if let Some(m) = files.iter().find(|m| m.version == p.version) {
                out.push(PlannedMigration {
                    place: st.place.clone(),
                    version: m.version,
                    name: m.name.clone(),
                    sql: m.sql.to_string(),
                });
            }
        }
    }
    out
}

#[derive(Debug, Clone, Default)]
pub struct ApplyOptions {
    /// Apply even where `knex_migrations` says real Backstage manages the database.
    pub force: bool,
    /// Create missing plugin databases (database mode) or schemas (schema mode).
    pub create_databases: bool,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AppliedNow {
    #[serde(flatten)]
    pub place: Place,
    pub version: i32,
    pub name: String,
    pub statements: usize,
    pub elapsed_ms: u64,
}

/// What applying migrations is called in the read-only refusal.
const APPLYING: &str = "applying migrations";

/// The places of `areas` to apply migrations to, checked before anything is asked or
/// written: refused with [`CoreError::ReadOnly`] unless the profile is in write mode.
pub fn prepare_apply(conns: &Connections, areas: &[String]) -> Result<Vec<Place>> {
    conns.require_write(APPLYING)?;
    places(conns, areas)
}

/// Applies every pending migration of `places`. Needs write mode.
#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub async fn apply(
    conns: &Connections,
    places: &[Place],
    opts: &ApplyOptions,
) -> Result<Vec<AppliedNow>> {
    conns.require_write(APPLYING)?;
    let mut done = Vec::new();
    for place in places {
        done.extend(apply_with(conns, place, &migrations(&place.area), opts).await?);
    }
    Ok(done)
}

/// Applies the pending ones of `files` to `place`. Needs write mode.
pub async fn apply_with(
    conns: &Connections,
    place: &Place,
    files: &[Migration],
    opts: &ApplyOptions,
) -> Result<Vec<AppliedNow>> {
    conns.require_write(APPLYING)?;
    let mut done = Vec::new();
    {
        let mut st = status_with(conns, place, files).await?;
        if !st.database_exists {
            if !opts.create_databases {
                return Err(CoreError::NotFound {
                    what: "database",
                    name: place.database.clone(),
                    hint: Some(
                        "pass --create-databases to create it (the role needs CREATEDB)"
                            .to_string(),
                    ),
                });
            }
            create_database(conns, &place.database).await?;
            st = status_with(conns, place, files).await?;
        }
        if st.backstage_managed && !opts.force {
            return Err(CoreError::config(format!(
                "{} (schema {}) is managed by Backstage's own migrations: its tables were made by \
                 Knex (it has knex_migrations) and none of ours ran there, so there is nothing to \
                 apply. Its migration state is the Knex one: `bsi knex status` (the Knex view in \
                 the app). Our migrations build a local Backstage-shaped database; pass --force only \
                 if you really mean to add their tables there",
                place.database, place.schema
            )));
        }
        if st.backstage_managed {
            // Forced: every file is pending, as nothing of ours was recorded.
            st.pending = files.iter().map(pending).collect();
        }
        if st.knex_managed && !opts.force {
            return Err(CoreError::config(format!(
                "{} (schema {}) is managed by a real Backstage: it has a knex_migrations table. \
                 Applying our migrations there would mix two schemas' histories; point at an empty \
                 database, or pass --force if you really mean it",
                place.database, place.schema
            )));
        }
        let ep = endpoint(conns, place)?;
        let pool = conns.pool(&ep).await?;
        if !st.schema_exists {
            if !opts.create_databases {
                return Err(CoreError::NotFound {
                    what: "schema",
                    name: format!("{}.{}", place.database, place.schema),
                    hint: Some("pass --create-databases to create it".to_string()),
                });
            }
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "CREATE SCHEMA IF NOT EXISTS {}",
                quote_ident(&place.schema)
            )))
            .execute(&pool)
            .await
            .map_err(|e| map_query_error(e, &ep))?;
        }
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "CREATE TABLE IF NOT EXISTS {}.{} (\
               area text NOT NULL, version integer NOT NULL, name text NOT NULL, \
               checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now(), \
               execution_ms integer NOT NULL, PRIMARY KEY (area, version))",
            quote_ident(&place.schema),
            quote_ident(TRACKING_TABLE)
        )))
        .execute(&pool)
        .await
        .map_err(|e| map_query_error(e, &ep))?;

        for p in &st.pending {
            let Some(m) = files.iter().find(|m| m.version == p.version) else {
                continue;
            };
            let started = Instant::now();
            let statements = sql::split(m.sql);
            let mut tx = pool.begin().await.map_err(|e| map_query_error(e, &ep))?;
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "SET LOCAL search_path TO {}",
                quote_ident(&place.schema)
            )))
            .execute(&mut *tx)
            .await
            .map_err(|e| map_query_error(e, &ep))?;
            for (i, stmt) in statements.iter().enumerate() {
                if let Err(e) = sqlx::raw_sql(sqlx::AssertSqlSafe(stmt.sql.clone()))
                    .execute(&mut *tx)
                    .await
                {
                    let cause = map_query_error(e, &ep);
                    let _ = tx.rollback().await;
                    let first_line = stmt.sql.lines().next().unwrap_or_default();
                    return Err(CoreError::Database {
                        code: None,
                        message: format!(
                            "migration {}/{} failed at statement {} of {} (line {}: `{}`): {}; \
                             it was rolled back, nothing of it was applied",
                            m.area,
                            m.file,
                            i + 1,
                            statements.len(),
                            stmt.line,
                            first_line,
                            cause
                        ),
                    });
                }
            }
            let elapsed_ms = started.elapsed().as_millis() as u64;
            let record = format!(
                "INSERT INTO {}.{} (area, version, name, checksum, execution_ms) VALUES ($1, $2, $3, $4, $5)",
                quote_ident(&place.schema),
                quote_ident(TRACKING_TABLE)
            );
            sqlx::query(sqlx::AssertSqlSafe(record))
                .bind(m.area)
                .bind(m.version)
                .bind(&m.name)
                .bind(&m.checksum)
                .bind(elapsed_ms as i32)
                .execute(&mut *tx)
                .await
                .map_err(|e| map_query_error(e, &ep))?;
            tx.commit().await.map_err(|e| map_query_error(e, &ep))?;
            tracing::debug!(
                area = m.area,
                file = m.file,
                elapsed_ms,
                "migration applied"
            );
            done.push(AppliedNow {
                place: place.clone(),
                version: m.version,
                name: m.name.clone(),
                statements: statements.len(),
                elapsed_ms,
            });
        }
    }
    Ok(done)
}

/// Creates a database on the profile's server (database mode).
async fn create_database(conns: &Connections, name: &str) -> Result<()> {
    let ep = conns.endpoint(conns.profile().maintenance_database());
    let pool = conns.pool(&ep).await?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)")
            .bind(name)
            .fetch_one(&pool)
            .await
            .map_err(|e| map_query_error(e, &ep))?;
    if exists {
        return Ok(());
    }
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {}", quote_ident(name))))
        .execute(&pool)
        .await
        .map_err(|e| match map_query_error(e, &ep) {
            CoreError::Database { code: Some(c), message } if c == "42501" => CoreError::Database {
                code: Some(c),
                message: format!(
                    "{message}; the role `{}` may not create databases: create `{name}` as an administrator or grant CREATEDB",
                    ep.user
                ),
            },
            other => other,
        })?;
    tracing::info!(database = name, "database created");
    Ok(())
}

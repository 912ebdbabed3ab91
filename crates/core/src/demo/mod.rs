//! The demo: a local PostgreSQL ([`cluster`]) filled with generated Backstage data
//! ([`generate`]); [`fill()`] migrates a profile's areas and runs the generator on them.

pub mod cluster;
mod fill;
pub mod generate;
mod names;

pub use fill::{FillOptions, FillProgress, FillReport, fill, migrate_areas};

use crate::area::{MIGRATED_AREAS, locate};
use crate::connect::{Connections, map_query_error};
use crate::error::Result;
use crate::sql::quote_ident;

/// Drops the plugin databases of every area of `conns`' profile (database mode), so that the
/// demo can be generated afresh; returns the databases that existed. Meant for the demo's own
/// cluster: it needs write mode and the right to drop those databases.
pub async fn drop_databases(conns: &Connections) -> Result<Vec<String>> {
    let ep = conns.endpoint("postgres");
    let admin = conns.pool(&ep).await?;
    let mut dropped = Vec::new();
    for area in MIGRATED_AREAS {
        let db = locate(conns, area)?.database;
        let exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
                .bind(&db)
                .fetch_one(&admin)
                .await
                .map_err(|e| map_query_error(e, &ep))?;
        if !exists {
            continue;
        }
        let sql = format!("DROP DATABASE {} WITH (FORCE)", quote_ident(&db));
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(&admin)
            .await
            .map_err(|e| map_query_error(e, &ep))?;
        dropped.push(db);
    }
    Ok(dropped)
}

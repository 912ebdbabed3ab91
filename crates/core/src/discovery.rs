//! Discovery: which Backstage plugin databases (or schemas) a server holds, which Backstage
//! areas each one serves, judged by the tables that exist, and their sizes.
//!
//! Nothing is assumed from names alone: a database is called a catalog because it has the
//! catalog's tables. Every plugin database also holds the backend's service tables
//! (`backstage_backend_*`, `*knex_migrations*`); those mark a database as managed by Backstage
//! but are not an area.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde::Serialize;
use sqlx::Row;

use crate::area::{Area, locate};
use crate::connect::{Connections, Endpoint, ServerInfo, in_current_op, map_query_error};
use crate::error::{ErrorPayload, Result};
use crate::profile::DivisionMode;

/// The areas served by a set of table names.
pub fn areas_of<'a>(tables: impl IntoIterator<Item = &'a str>) -> Vec<Area> {
    let set: BTreeSet<&str> = tables.into_iter().collect();
    Area::ALL
        .into_iter()
        .filter(|a| {
            a.signatures()
                .iter()
                .any(|sig| sig.iter().all(|t| set.contains(t)))
        })
        .collect()
}

/// One plugin database (or schema, in schema mode).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DatabaseInfo {
    /// The database name.
    pub database: String,
    /// The schema, in schema mode.
    pub schema: Option<String>,
    /// The Backstage plugin id this holds, when the name says it (`<prefix><pluginId>`).
    pub plugin: Option<String>,
    pub server: String,
    pub areas: Vec<Area>,
    pub tables: usize,
    pub size_bytes: Option<i64>,
    /// Whether a plugin's own `knex_migrations` table exists: real Backstage manages it.
    pub knex_managed: bool,
    /// Why this database could not be read, when it could not.
    pub error: Option<ErrorPayload>,
}

/// What a server holds for a profile.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Discovery {
    pub server: ServerInfo,
    pub mode: DivisionMode,
    pub databases: Vec<DatabaseInfo>,
}

/// Lists the profile's Backstage databases with their areas.
#[tracing::instrument(level = "debug", skip(conns), fields(profile = %conns.profile().name), err(level = "debug"))]
pub async fn discover(conns: &Arc<Connections>) -> Result<Discovery> {
    let server = conns.test().await?;
    let profile = conns.profile().clone();
    let mut databases = match profile.mode {
        DivisionMode::Database => {
            let ep = conns.endpoint(profile.maintenance_database());
            let pool = conns.pool(&ep).await?;
            let rows = sqlx::query(
                "SELECT datname::text AS name, \
                        CASE WHEN has_database_privilege(datname, 'CONNECT') THEN pg_database_size(datname) END AS size \
                 FROM pg_database \
                 WHERE NOT datistemplate AND datallowconn AND left(datname, length($1)) = $1 \
                 ORDER BY datname",
            )
            .bind(&profile.prefix)
            .fetch_all(&pool)
            .await
            .map_err(|e| map_query_error(e, &ep))?;
            let mut set = tokio::task::JoinSet::new();
            for row in rows {
                let name: String = row.get("name");
                let size: Option<i64> = row.get("size");
                let plugin = name.strip_prefix(&profile.prefix).map(str::to_string);
                let conns = conns.clone();
                set.spawn(in_current_op(async move {
                    let ep = conns.endpoint(&name);
                    inspect_database(&conns, ep, plugin, size).await
                }));
            }
            // Plugins whose database lives on another server.
            for plugin in profile.plugins.keys() {
                let ep = locate(conns, plugin)?.endpoint;
                if ep.host != profile.host || ep.port != profile.port {
                    let conns = conns.clone();
                    let plugin = plugin.clone();
                    set.spawn(in_current_op(async move {
                        inspect_database(&conns, ep, Some(plugin), None).await
                    }));
                }
            }
            let mut out = Vec::new();
            while let Some(r) = set.join_next().await {
                out.push(r.map_err(|e| crate::CoreError::Internal(e.to_string()))?);
            }
            out
        }
        DivisionMode::Schema => {
            let ep = conns.endpoint(profile.maintenance_database());
            let pool = conns.pool(&ep).await?;
            let rows = sqlx::query(
                "SELECT n.nspname::text AS schema, \
                        coalesce(array_agg(c.relname::text) FILTER (WHERE c.relkind IN ('r','p','v')), '{}') AS tables, \
                        coalesce(sum(pg_total_relation_size(c.oid)) FILTER (WHERE c.relkind IN ('r','p')), 0)::bigint AS size, \
                        bool_or(c.relname = 'knex_migrations') AS knex \
                 FROM pg_namespace n LEFT JOIN pg_class c ON c.relnamespace = n.oid \
                 WHERE n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema' \
                 GROUP BY n.nspname ORDER BY n.nspname",
            )
            .fetch_all(&pool)
            .await
            .map_err(|e| map_query_error(e, &ep))?;
            rows.into_iter()
                .map(|row| {
                    let schema: String = row.get("schema");
                    let tables: Vec<String> = row.get("tables");
                    let plugin = schema
                        .strip_prefix(profile.schema_prefix.as_str())
                        .unwrap_or(&schema)
                        .to_string();
                    DatabaseInfo {
                        database: ep.database.clone(),
                        plugin: Some(plugin),
                        schema: Some(schema),
                        server: ep.server(),
                        areas: areas_of(tables.iter().map(String::as_str)),
                        tables: tables.len(),
                        size_bytes: row.get("size"),
                        knex_managed: row.get::<Option<bool>, _>("knex").unwrap_or(false),
                        error: None,
                    }
                })
                .filter(|d| d.tables > 0)
                .collect()
        }
        DivisionMode::Single => {
            let ep = conns.endpoint(profile.maintenance_database());
            vec![inspect_database(conns, ep, None, None).await]
        }
    };
    databases.sort_by(|a, b| (&a.database, &a.schema).cmp(&(&b.database, &b.schema)));
    Ok(Discovery {
        server,
        mode: profile.mode,
        databases,
    })
}

/// Reads one database's tables. A database that cannot be read is reported with its error,
/// not dropped and not fatal: one broken plugin database must not hide the others.
async fn inspect_database(
    conns: &Connections,
    ep: Endpoint,
    plugin: Option<String>,
    size: Option<i64>,
) -> DatabaseInfo {
    let mut info = DatabaseInfo {
        database: ep.database.clone(),
        schema: None,
        plugin,
        server: ep.server(),
        areas: Vec::new(),
        tables: 0,
        size_bytes: size,
        knex_managed: false,
        error: None,
    };
    let result: Result<(Vec<String>, i64)> = async {
        let pool = conns.pool(&ep).await?;
        let row = sqlx::query(
            "SELECT coalesce(array_agg(c.relname::text ORDER BY c.relname), '{}') AS tables, \
                    pg_database_size(current_database()) AS size \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind IN ('r','p','v') AND n.nspname = ANY (current_schemas(false))",
        )
        .fetch_one(&pool)
        .await
        .map_err(|e| map_query_error(e, &ep))?;
        Ok((row.get("tables"), row.get("size")))
    }
    .await;
    match result {
        Ok((tables, size)) => {
            info.areas = areas_of(tables.iter().map(String::as_str));
            info.knex_managed = tables.iter().any(|t| t == "knex_migrations");
            info.tables = tables.len();
            info.size_bytes = Some(size);
        }
        Err(e) => info.error = Some(e.to_payload()),
    }
    info
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn areas_come_from_tables() {
        assert_eq!(
            areas_of([
                "final_entities",
                "refresh_state",
                "relations",
                "backstage_backend_tasks__tasks"
            ]),
            vec![Area::Catalog, Area::Scheduler]
        );
        assert_eq!(areas_of(["tasks"]), Vec::<Area>::new());
        assert_eq!(areas_of(["tasks", "task_events"]), vec![Area::Scaffolder]);
        assert_eq!(
            areas_of(["backstage_backend_public_keys__keys"]),
            Vec::<Area>::new()
        );
    }
}

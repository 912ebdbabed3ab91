//! Which Backstage is this: from the migrations recorded in each Knex table of a plugin
//! database (the plugin's own `knex_migrations`, the backend services' prefixed ones), the
//! package, the newest migration, and the range of published package versions that ship
//! exactly that set, or why none does (newer than any known version, a partial upgrade,
//! migrations no version ships), with the migrations newer versions add.
//!
//! The answers come from `migrations.tsv` (`table`), generated from the npm registry by
//! `scripts/backstage-versions/generate.mjs`; [`added_by`] names the migration that adds a
//! table or column, for messages about what an older database lacks.

mod table;

use std::collections::BTreeSet;

use serde::Serialize;

use crate::connect::{Connections, Endpoint, map_query_error};
use crate::discovery::Discovery;
use crate::error::{ErrorPayload, Result};
use crate::knex::{self, KnexTable};
use crate::sql::quote_ident;

pub use table::{
    Identity, NextMigration, Verdict, VersionRange, added_by, identify, migration_name, short_name,
};

/// The era of one Knex migrations table.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Era {
    pub database: String,
    pub schema: String,
    /// The Knex table: `knex_migrations` (the plugin's own) or a backend service's
    /// `<prefix>knex_migrations`.
    pub table: String,
    /// How many migrations ran.
    pub applied: usize,
    /// The newest migration (the last that ran), without its extension.
    pub newest: Option<String>,
    pub identity: Identity,
    /// Why the table could not be read, when it could not (then `identity` is `empty`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub error: Option<String>,
}

impl Era {
    /// Whether this is the plugin's own migrations table (not a backend service's).
    pub fn is_plugin_own(&self) -> bool {
        self.table == "knex_migrations"
    }

    /// The era of a table whose migrations (as recorded, in the order they ran) are known.
    pub fn of(database: &str, schema: &str, table: &str, applied: &[String]) -> Era {
        Era {
            database: database.to_string(),
            schema: schema.to_string(),
            table: table.to_string(),
            applied: applied.len(),
            newest: applied.last().map(|n| migration_name(n).to_string()),
            identity: identify(table, applied),
            error: None,
        }
    }
}

/// The migration names of one Knex table, in the order they ran.
async fn names_in(
    conns: &Connections,
    ep: &Endpoint,
    schema: &str,
    table: &str,
) -> Result<Vec<String>> {
    let pool = conns.pool(ep).await?;
    let q = format!(
        "SELECT name::text FROM {}.{} ORDER BY id",
        quote_ident(schema),
        quote_ident(table)
    );
    sqlx::query_scalar::<_, Option<String>>(sqlx::AssertSqlSafe(q))
        .fetch_all(&pool)
        .await
        .map(|v| v.into_iter().flatten().collect())
        .map_err(|e| map_query_error(e, ep))
}

/// The eras of the Knex tables `tables` found in the database at `ep`.
pub async fn of_tables(conns: &Connections, ep: &Endpoint, tables: &[KnexTable]) -> Vec<Era> {
    let mut out = Vec::new();
    for t in tables {
        let read = match &t.error {
            Some(e) => Err(e.clone()),
            None => names_in(conns, ep, &t.schema, &t.table)
                .await
                .map_err(|e| e.to_string()),
        };
        out.push(match read {
            Ok(names) => Era::of(&t.database, &t.schema, &t.table, &names),
            Err(e) => {
                let mut era = Era::of(&t.database, &t.schema, &t.table, &[]);
                era.identity.summary = format!("unknown: {e}");
                era.error = Some(e);
                era
            }
        });
    }
    out
}

/// The eras of every Knex table of the databases a discovery found, the plugin's own tables
/// first within each database; with the errors of the databases that could not be read.
pub async fn of_discovery(conns: &Connections, d: &Discovery) -> (Vec<Era>, Vec<ErrorPayload>) {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for db in d.databases.iter().filter(|db| db.error.is_none()) {
        if !seen.insert(db.database.clone()) {
            continue;
        }
        let ep = knex::endpoint_of(conns, db);
        match knex::tables_in(conns, &ep).await {
            Ok(tables) => out.extend(of_tables(conns, &ep, &tables).await),
            Err(e) => {
                tracing::warn!(database = %db.database, error = %e, "cannot read the Knex tables");
                let mut p = e.to_payload();
                p.message = format!("{}: {}", db.database, p.message);
                errors.push(p);
            }
        }
    }
    out.sort_by(|a, b| {
        (&a.database, &a.schema, !a.is_plugin_own(), &a.table).cmp(&(
            &b.database,
            &b.schema,
            !b.is_plugin_own(),
            &b.table,
        ))
    });
    (out, errors)
}

/// The eras of the Knex tables in one database or schema (`schema` in schema mode): those of
/// `eras` that belong to it.
pub fn of_database<'a>(eras: &'a [Era], database: &str, schema: Option<&str>) -> Vec<&'a Era> {
    eras.iter()
        .filter(|e| e.database == database && schema.is_none_or(|s| e.schema == s))
        .collect()
}

//! Every Backstage installation on a server, whatever the profile's prefix says.
//!
//! A Backstage plugin database is `<prefix><pluginId>` (database mode) and a plugin schema is
//! `<pluginId>` in one database (schema mode, where Backstage names schemas after the plugin
//! id alone). A plugin is recognised by its tables ([`crate::discovery::areas_of`]), never by
//! its name; the prefix is then what is left once the plugin id is stripped from the name.
//! Databases of plugins without an area of their own (they hold only the backend's service
//! tables or Knex tables) join the installation whose prefix starts their name.
//!
//! Only databases the role may connect to are read; the others are named with the reason.
//! Each database is read over one connection of its own, closed afterwards, so that listing a
//! large server leaves no pool behind.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sqlx::{Connection, Row};

use crate::area::Area;
use crate::connect::{Connections, in_current_op, map_query_error};
use crate::discovery::areas_of;
use crate::error::{CoreError, ErrorPayload, Result};
use crate::profile::{DivisionMode, Profile};

/// How many databases are read at once.
const PARALLEL: usize = 4;

/// One plugin of an installation: its database (and schema, in schema mode).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct InstalledPlugin {
    /// The plugin id (`catalog`, `scaffolder`, ...).
    pub plugin: String,
    pub database: String,
    /// The schema, in schema mode.
    pub schema: Option<String>,
    /// The Backstage areas its tables hold (empty for a plugin known only by its name).
    pub areas: Vec<Area>,
    pub size_bytes: i64,
}

impl InstalledPlugin {
    /// `database` or `database.schema`.
    pub fn label(&self) -> String {
        match &self.schema {
            Some(s) => format!("{}.{s}", self.database),
            None => self.database.clone(),
        }
    }
}

/// One Backstage installation: plugin databases sharing a prefix, or plugin schemas sharing a
/// database.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Installation {
    /// `database` or `schema`.
    pub mode: DivisionMode,
    /// The database prefix (database mode); empty in schema mode.
    pub prefix: String,
    /// The one database holding the plugin schemas (schema mode).
    pub database: Option<String>,
    pub plugins: Vec<InstalledPlugin>,
    pub size_bytes: i64,
    /// Whether the profile in use points at it.
    pub current: bool,
}

impl Installation {
    /// How a person names it: `acme_staging_` or `backstage (schemas)`.
    pub fn label(&self) -> String {
        match (&self.mode, &self.database) {
            (DivisionMode::Schema, Some(db)) => format!("{db} (schemas)"),
            _ => self.prefix.clone(),
        }
    }

    /// Where a profile finds it.
    pub fn layout(&self) -> Layout {
        Layout {
            mode: self.mode,
            prefix: self.prefix.clone(),
            database: self.database.clone(),
        }
    }

    fn key(&self) -> (u8, String) {
        match self.mode {
            DivisionMode::Schema => (1, self.database.clone().unwrap_or_default()),
            _ => (0, self.prefix.clone()),
        }
    }
}

/// Where a profile finds an installation: what [`Installation::layout`] gives and
/// [`Layout::apply`] puts into a profile (to switch a run to another installation or to save
/// a profile for it).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Layout {
    /// `database` or `schema`.
    pub mode: DivisionMode,
    /// The database prefix (database mode).
    pub prefix: String,
    /// The database of the plugin schemas (schema mode).
    pub database: Option<String>,
}

impl Layout {
    /// Points `profile` at this layout. Plugin overrides are dropped: they belong to the
    /// installation the profile was made for. In database mode the profile keeps the database
    /// it lists the others from.
    pub fn apply(&self, profile: &mut Profile) -> Result<()> {
        match self.mode {
            DivisionMode::Database => {
                if self.prefix.is_empty() || self.prefix.len() > 63 {
                    return Err(CoreError::config(
                        "a database-mode installation needs its database prefix (such as backstage_plugin_)",
                    ));
                }
                if profile.mode == DivisionMode::Single {
                    profile.database = None;
                }
                profile.prefix = self.prefix.clone();
            }
            DivisionMode::Schema => {
                let Some(db) = self.database.as_ref().filter(|d| !d.is_empty()) else {
                    return Err(CoreError::config(
                        "a schema-mode installation needs the database that holds its plugin schemas",
                    ));
                };
                profile.database = Some(db.clone());
            }
            DivisionMode::Single => {
                return Err(CoreError::config(
                    "an installation is in database or schema mode, not single",
                ));
            }
        }
        profile.mode = self.mode;
        profile.plugins.clear();
        profile.validate()
    }

    /// The layout `profile` has now.
    pub fn of(profile: &Profile) -> Layout {
        Layout {
            mode: profile.mode,
            prefix: profile.prefix.clone(),
            database: profile.database.clone(),
        }
    }
}

/// A database that was not read, and why.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct UnreadDatabase {
    pub database: String,
    pub error: ErrorPayload,
}

/// Every installation on the profile's server.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Installations {
    pub server: String,
    pub installations: Vec<Installation>,
    /// Databases the role may not connect to or that failed to answer.
    pub unread: Vec<UnreadDatabase>,
    /// The profile finds no installation, or its prefix also takes in databases of other
    /// installations: the others are worth naming.
    pub suggest_others: bool,
}

impl Installations {
    /// The installations the profile does not point at, the largest (most plugins) first.
    pub fn others(&self) -> Vec<&Installation> {
        let mut out: Vec<&Installation> =
            self.installations.iter().filter(|i| !i.current).collect();
        out.sort_by_key(|i| std::cmp::Reverse(i.plugins.len()));
        out
    }
}

/// What one database holds: its size and, per schema, the tables and their size.
#[derive(Debug, Clone, Default)]
struct DatabaseTables {
    name: String,
    size: i64,
    schemas: Vec<(String, Vec<String>, i64)>,
}

/// Lists every Backstage installation on the profile's server.
#[tracing::instrument(level = "debug", skip(conns), fields(profile = %conns.profile().name), err(level = "debug"))]
pub async fn installations(conns: &Arc<Connections>) -> Result<Installations> {
    let profile = conns.profile().clone();
    let ep = conns.endpoint(profile.maintenance_database());
    let mut conn = conns.connect_once(&ep).await?;
    let rows = sqlx::query(
        "SELECT datname::text AS name, has_database_privilege(datname, 'CONNECT') AS can \
         FROM pg_database WHERE NOT datistemplate AND datallowconn ORDER BY datname",
    )
    .fetch_all(&mut conn)
    .await
    .map_err(|e| map_query_error(e, &ep))?;
    let _ = conn.close().await;

    let mut unread = Vec::new();
    let limit = Arc::new(tokio::sync::Semaphore::new(PARALLEL));
    let mut set = tokio::task::JoinSet::new();
    for row in rows {
        let name: String = row.get("name");
        if !row.get::<bool, _>("can") {
            unread.push(UnreadDatabase {
                error: crate::CoreError::Database {
                    code: Some("42501".into()),
                    message: format!(
                        "the role `{}` may not connect to {name} (no CONNECT privilege); \
                         GRANT CONNECT ON DATABASE {name} TO {} to include it",
                        profile.user, profile.user
                    ),
                }
                .to_payload(),
                database: name,
            });
            continue;
        }
        let (conns, limit) = (conns.clone(), limit.clone());
        set.spawn(in_current_op(async move {
            let _permit = limit.acquire_owned().await;
            let r = read_database(&conns, &name).await;
            (name, r)
        }));
    }
    let mut databases = Vec::new();
    while let Some(r) = set.join_next().await {
        let (name, r) = r.map_err(|e| crate::CoreError::Internal(e.to_string()))?;
        match r {
            Ok(d) => databases.push(d),
            Err(e) => unread.push(UnreadDatabase {
                database: name,
                error: e.to_payload(),
            }),
        }
    }
    databases.sort_by(|a, b| a.name.cmp(&b.name));
    unread.sort_by(|a, b| a.database.cmp(&b.database));
    let mut list = group(&databases);
    let mut suggest_others = true;
    for i in &mut list {
        i.current = match profile.mode {
            DivisionMode::Database => {
                i.mode == DivisionMode::Database && i.prefix == profile.prefix
            }
            DivisionMode::Schema => {
                i.mode == DivisionMode::Schema
                    && i.database.as_deref() == profile.database.as_deref()
            }
            DivisionMode::Single => i
                .plugins
                .iter()
                .any(|p| Some(p.database.as_str()) == profile.database.as_deref()),
        };
        if i.current {
            suggest_others = false;
        }
    }
    // The profile's prefix also takes in another installation's databases
    // (`acme_` reads `acme_staging_catalog` as a plugin `staging_catalog`).
    if profile.mode == DivisionMode::Database
        && list.iter().any(|i| {
            !i.current && i.mode == DivisionMode::Database && i.prefix.starts_with(&profile.prefix)
        })
    {
        suggest_others = true;
    }
    let others = list.iter().filter(|i| !i.current).count();
    Ok(Installations {
        server: profile.server(),
        installations: list,
        unread,
        suggest_others: suggest_others && others > 0,
    })
}

/// Reads the tables of every schema of one database over a connection of its own.
async fn read_database(conns: &Connections, name: &str) -> Result<DatabaseTables> {
    let ep = conns.endpoint(name);
    let mut conn = conns.connect_once(&ep).await?;
    let rows = sqlx::query(
        "SELECT n.nspname::text AS schema, array_agg(c.relname::text ORDER BY c.relname) AS tables, \
                coalesce(sum(pg_total_relation_size(c.oid)) FILTER (WHERE c.relkind IN ('r','p','m')), 0)::bigint AS size, \
                pg_database_size(current_database()) AS dbsize \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relkind IN ('r','p','v','m') AND n.nspname NOT LIKE 'pg\\_%' \
           AND n.nspname <> 'information_schema' \
         GROUP BY n.nspname ORDER BY n.nspname",
    )
    .fetch_all(&mut conn)
    .await
    .map_err(|e| map_query_error(e, &ep));
    let _ = conn.close().await;
    let rows = rows?;
    let mut out = DatabaseTables {
        name: name.to_string(),
        ..Default::default()
    };
    for r in rows {
        out.size = r.get("dbsize");
        out.schemas
            .push((r.get("schema"), r.get("tables"), r.get("size")));
    }
    Ok(out)
}

/// Whether a set of tables is a Backstage plugin's even without a known area: the backend's
/// service tables or a plugin's Knex tables.
fn backstage_managed(tables: &[String]) -> bool {
    tables
        .iter()
        .any(|t| t == "knex_migrations" || t.starts_with("backstage_backend_"))
}

/// The plugin id a name ends with among the areas its tables hold.
fn plugin_of<'a>(name: &'a str, areas: &[Area]) -> Option<(&'a str, Area)> {
    areas
        .iter()
        .filter(|a| a.is_plugin())
        .filter_map(|&a| name.strip_suffix(a.as_str()).map(|prefix| (prefix, a)))
        // The longest plugin id wins (none is a suffix of another today).
        .min_by_key(|(prefix, _)| prefix.len())
}

/// Groups databases (and schemas) into installations.
fn group(databases: &[DatabaseTables]) -> Vec<Installation> {
    let mut by_key: BTreeMap<(u8, String), Installation> = BTreeMap::new();
    let mut unplaced: Vec<(&DatabaseTables, &Vec<String>)> = Vec::new();
    for db in databases {
        let public = db.schemas.iter().find(|(s, _, _)| s == "public");
        if let Some((_, tables, _)) = public {
            let areas = areas_of(tables.iter().map(String::as_str));
            match plugin_of(&db.name, &areas) {
                Some((prefix, area)) => {
                    let inst =
                        by_key
                            .entry((0, prefix.to_string()))
                            .or_insert_with(|| Installation {
                                mode: DivisionMode::Database,
                                prefix: prefix.to_string(),
                                database: None,
                                plugins: Vec::new(),
                                size_bytes: 0,
                                current: false,
                            });
                    inst.size_bytes += db.size;
                    inst.plugins.push(InstalledPlugin {
                        plugin: area.as_str().to_string(),
                        database: db.name.clone(),
                        schema: None,
                        areas,
                        size_bytes: db.size,
                    });
                }
                None if backstage_managed(tables) => unplaced.push((db, tables)),
                None => {}
            }
        }
        // Schema mode: schemas named after the plugin whose tables they hold; then, in a
        // database that has such schemas, those of plugins without an area of their own.
        let plugin_schemas: Vec<&(String, Vec<String>, i64)> = db
            .schemas
            .iter()
            .filter(|(schema, tables, _)| {
                Area::parse(schema).is_some_and(|a| {
                    a.is_plugin() && areas_of(tables.iter().map(String::as_str)).contains(&a)
                })
            })
            .collect();
        if plugin_schemas.is_empty() {
            continue;
        }
        let inst = by_key
            .entry((1, db.name.clone()))
            .or_insert_with(|| Installation {
                mode: DivisionMode::Schema,
                prefix: String::new(),
                database: Some(db.name.clone()),
                plugins: Vec::new(),
                size_bytes: 0,
                current: false,
            });
        for entry @ (schema, tables, size) in &db.schemas {
            let own = plugin_schemas.iter().any(|p| std::ptr::eq(*p, entry));
            if !own && (schema == "public" || !backstage_managed(tables)) {
                continue;
            }
            inst.size_bytes += size;
            inst.plugins.push(InstalledPlugin {
                plugin: schema.clone(),
                database: db.name.clone(),
                schema: Some(schema.clone()),
                areas: areas_of(tables.iter().map(String::as_str)),
                size_bytes: *size,
            });
        }
    }
    // Plugin databases without an area of their own join the longest prefix that starts
    // their name.
    for (db, tables) in unplaced {
        let found = by_key
            .values_mut()
            .filter(|i| {
                i.mode == DivisionMode::Database
                    && db.name.len() > i.prefix.len()
                    && db.name.starts_with(&i.prefix)
            })
            .max_by_key(|i| i.prefix.len());
        if let Some(inst) = found {
            inst.size_bytes += db.size;
            inst.plugins.push(InstalledPlugin {
                plugin: db.name[inst.prefix.len()..].to_string(),
                database: db.name.clone(),
                schema: None,
                areas: areas_of(tables.iter().map(String::as_str)),
                size_bytes: db.size,
            });
        }
    }
    let mut out: Vec<Installation> = by_key.into_values().collect();
    for i in &mut out {
        i.plugins.sort_by(|a, b| a.plugin.cmp(&b.plugin));
    }
    out.sort_by_key(Installation::key);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db(name: &str, schemas: &[(&str, &[&str])]) -> DatabaseTables {
        DatabaseTables {
            name: name.into(),
            size: 10,
            schemas: schemas
                .iter()
                .map(|(s, t)| (s.to_string(), t.iter().map(|t| t.to_string()).collect(), 5))
                .collect(),
        }
    }

    const CATALOG: &[&str] = &[
        "final_entities",
        "knex_migrations",
        "refresh_state",
        "relations",
    ];
    const TASKS: &[&str] = &["knex_migrations", "task_events", "tasks"];

    #[test]
    fn a_layout_points_a_profile_at_an_installation() {
        let mut p = Profile::new("p", "h", "u");
        p.mode = DivisionMode::Single;
        p.database = Some("backstage_plugin_catalog".into());
        p.plugins.insert("catalog".into(), Default::default());
        let staging = Layout {
            mode: DivisionMode::Database,
            prefix: "acme_staging_".into(),
            database: None,
        };
        staging.apply(&mut p).unwrap();
        assert_eq!(
            (p.mode, p.prefix.as_str(), p.database.as_deref()),
            (DivisionMode::Database, "acme_staging_", None)
        );
        assert!(p.plugins.is_empty());
        let schemas = Layout {
            mode: DivisionMode::Schema,
            prefix: String::new(),
            database: Some("backstage".into()),
        };
        schemas.apply(&mut p).unwrap();
        assert_eq!(
            Layout::of(&p),
            Layout {
                prefix: "acme_staging_".into(),
                ..schemas.clone()
            }
        );
        let bad = Layout {
            database: None,
            ..schemas
        };
        assert_eq!(
            bad.apply(&mut p).unwrap_err().code(),
            crate::ErrorCode::Config
        );
    }

    #[test]
    fn prefixes_come_from_the_plugin_the_tables_show() {
        let list = group(&[
            db("acme_staging_catalog", &[("public", CATALOG)]),
            db("acme_staging_scaffolder", &[("public", TASKS)]),
            db("acme_staging_proxy", &[("public", &["knex_migrations"])]),
            db("backstage_plugin_catalog", &[("public", CATALOG)]),
            db("catalog_copy", &[("public", CATALOG)]),
            db("shop", &[("public", &["orders", "tasks"])]),
            db(
                "one",
                &[
                    ("catalog", CATALOG),
                    ("scaffolder", TASKS),
                    ("billing", &["x"]),
                ],
            ),
        ]);
        let labels: Vec<String> = list.iter().map(Installation::label).collect();
        assert_eq!(
            labels,
            ["acme_staging_", "backstage_plugin_", "one (schemas)"]
        );
        let plugins: Vec<&str> = list[0].plugins.iter().map(|p| p.plugin.as_str()).collect();
        assert_eq!(plugins, ["catalog", "proxy", "scaffolder"]);
        assert_eq!(list[0].size_bytes, 30);
        let schemas: Vec<String> = list[2].plugins.iter().map(InstalledPlugin::label).collect();
        assert_eq!(schemas, ["one.catalog", "one.scaffolder"]);
        assert_eq!(list[2].size_bytes, 10);
    }
}

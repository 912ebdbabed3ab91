//! The one list of Backstage areas, and where each lives in a profile's layout.
//!
//! An area is a Backstage plugin (or backend service) that keeps tables: the catalog, the
//! scaffolder, auth, ... [`Area`] lists them once, with the tables that identify each;
//! [`MIGRATED_AREAS`] are those our migrations build and [`PLUGIN_AREAS`] those looked at when
//! no database is named. [`locate`] answers "which database and schema does this area live in"
//! for the database, schema and single-database layouts (honouring per-plugin overrides), and
//! [`Location::open`] opens it: its pool and live schema. Every area module, our migrations,
//! Knex state, tables, the overview and discovery find their database through it.

use serde::Serialize;

use crate::connect::{Connections, Endpoint, PgPool};
use crate::error::{CoreError, Result};
use crate::profile::DivisionMode;
use crate::schema::DbSchema;

/// A Backstage area, recognised by its tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Area {
    Catalog,
    Scaffolder,
    Auth,
    Search,
    Notifications,
    Events,
    App,
    /// The backend's scheduler tables (`backstage_backend_tasks__tasks`).
    Scheduler,
}

impl Area {
    pub const fn as_str(self) -> &'static str {
        match self {
            Area::Catalog => "catalog",
            Area::Scaffolder => "scaffolder",
            Area::Auth => "auth",
            Area::Search => "search",
            Area::Notifications => "notifications",
            Area::Events => "events",
            Area::App => "app",
            Area::Scheduler => "scheduler",
        }
    }

    /// Whether it is a plugin (with a database or schema of its own), not the backend's
    /// service tables that every plugin database holds.
    pub const fn is_plugin(self) -> bool {
        !matches!(self, Area::Scheduler)
    }

    /// The tables that identify an area; any one of the sets must be fully present.
    pub(crate) fn signatures(self) -> &'static [&'static [&'static str]] {
        match self {
            Area::Catalog => &[
                &["final_entities", "refresh_state"],
                &["refresh_state", "relations"],
            ],
            Area::Scaffolder => &[&["tasks", "task_events"]],
            Area::Auth => &[&["signing_keys"], &["offline_sessions"], &["user_info"]],
            Area::Search => &[&["documents"]],
            Area::Notifications => &[&["notification"], &["broadcast"]],
            Area::Events => &[&["event_bus_events"], &["event_bus_subscriptions"]],
            Area::App => &[&["static_assets_cache"]],
            Area::Scheduler => &[&["backstage_backend_tasks__tasks"]],
        }
    }

    /// Every area: the plugins and the backend's scheduler tables.
    pub const ALL: [Area; 8] = {
        let p = Area::PLUGINS;
        [p[0], p[1], p[2], p[3], p[4], p[5], p[6], Area::Scheduler]
    };
}

impl Area {
    /// The areas our migrations build, in the order they are applied.
    pub const MIGRATED: [Area; 6] = [
        Area::Catalog,
        Area::Scaffolder,
        Area::Auth,
        Area::Search,
        Area::Notifications,
        Area::Events,
    ];

    /// The Backstage plugins that keep tables, looked at when no database is named.
    pub const PLUGINS: [Area; 7] = {
        let m = Area::MIGRATED;
        [m[0], m[1], m[2], m[3], m[4], m[5], Area::App]
    };

    /// The area of a plugin id (`catalog`, `scaffolder`, ...).
    pub fn parse(id: &str) -> Option<Area> {
        Area::ALL.into_iter().find(|a| a.as_str() == id)
    }
}

const fn names<const N: usize>(areas: [Area; N]) -> [&'static str; N] {
    let mut out = [""; N];
    let mut i = 0;
    while i < N {
        out[i] = areas[i].as_str();
        i += 1;
    }
    out
}

/// The plugin ids of [`Area::MIGRATED`].
pub const MIGRATED_AREAS: [&str; 6] = names(Area::MIGRATED);
/// The plugin ids of [`Area::PLUGINS`].
pub const PLUGIN_AREAS: [&str; 7] = names(Area::PLUGINS);

/// Where one area lives: its database (on the profile's server or a plugin override's) and
/// schema (the area's name in schema mode, else `public`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub area: String,
    pub database: String,
    pub schema: String,
    pub endpoint: Endpoint,
}

impl Location {
    /// The area's pool and its live schema.
    pub async fn open(&self, conns: &Connections) -> Result<(PgPool, DbSchema)> {
        let pool = conns.pool(&self.endpoint).await?;
        let schema = DbSchema::read(&pool, &self.endpoint, &self.schema).await?;
        Ok((pool, schema))
    }

    /// Its pool alone.
    pub async fn pool(&self, conns: &Connections) -> Result<PgPool> {
        conns.pool(&self.endpoint).await
    }
}

/// Where the area (plugin id) `area` lives in the profile's layout. Any plugin id is accepted,
/// known or not, since Backstage installations have plugins of their own.
pub fn locate(conns: &Connections, area: &str) -> Result<Location> {
    let ok = !area.is_empty()
        && area.len() <= 63
        && area
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !ok {
        return Err(CoreError::config(format!(
            "invalid plugin area `{area}`: use a Backstage plugin id such as {}",
            PLUGIN_AREAS.join(", ")
        )));
    }
    let endpoint = conns.plugin_endpoint(area);
    let schema = if conns.profile().mode == DivisionMode::Schema {
        let schema = conns.profile().plugin_schema(area);
        if schema.len() > 63 {
            return Err(CoreError::config(format!(
                "the schema `{schema}` of `{area}` is longer than PostgreSQL's 63 bytes, so \
                 Backstage cannot use it either; use a shorter schemaPrefix"
            )));
        }
        schema
    } else {
        "public".to_string()
    };
    Ok(Location {
        area: area.to_string(),
        database: endpoint.database.clone(),
        schema,
        endpoint,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lists_come_from_the_one_enum() {
        assert_eq!(MIGRATED_AREAS[0], "catalog");
        assert_eq!(PLUGIN_AREAS.len(), 7);
        assert!(PLUGIN_AREAS.contains(&"app"));
        assert!(!MIGRATED_AREAS.contains(&"app"));
        for a in Area::ALL {
            assert_eq!(Area::parse(a.as_str()), Some(a));
        }
        assert_eq!(Area::parse("nope"), None);
    }
}

//! Which database and schema a [`Target`] names: a plugin area (found through
//! [`crate::area::locate`], honouring the profile's layout and overrides), a database by name,
//! or every plugin area at once ([`scopes`]), each as a [`Scope`].

use serde::{Deserialize, Serialize};

use crate::area::{Location, PLUGIN_AREAS, locate};
use crate::connect::{Connections, Endpoint, PgPool};
use crate::error::{CoreError, Result};
use crate::schema::DbSchema;

/// Which database (and schema) to look in.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum Target {
    /// Every known plugin area of the profile ([`PLUGIN_AREAS`]).
    #[default]
    Anywhere,
    /// A plugin area (plugin id) such as `catalog`, honouring the profile's layout and overrides.
    Area { area: String },
    /// A database by name on the profile's server, in `schema` (default `public`).
    Database {
        database: String,
        #[serde(default)]
        schema: Option<String>,
    },
}

/// One database and schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Scope {
    /// The plugin area, when the scope was chosen by area.
    pub area: Option<String>,
    pub database: String,
    pub schema: String,
    #[serde(skip)]
    pub endpoint: Endpoint,
}

impl Scope {
    /// `database` or `database.schema` when the schema is not `public`.
    pub fn label(&self) -> String {
        if self.schema == "public" {
            self.database.clone()
        } else {
            format!("{}.{}", self.database, self.schema)
        }
    }

    /// The scope's pool and its live schema.
    pub(super) async fn open(&self, conns: &Connections) -> Result<(PgPool, DbSchema)> {
        let pool = conns.pool(&self.endpoint).await?;
        let schema = DbSchema::read(&pool, &self.endpoint, &self.schema).await?;
        Ok((pool, schema))
    }
}

impl From<Location> for Scope {
    fn from(at: Location) -> Self {
        Scope {
            area: Some(at.area),
            database: at.database,
            schema: at.schema,
            endpoint: at.endpoint,
        }
    }
}

/// The database and schema of a plugin area (plugin id) in the profile's layout.
pub fn area_scope(conns: &Connections, area: &str) -> Result<Scope> {
    Ok(locate(conns, area)?.into())
}

/// The scopes a target names (several for [`Target::Anywhere`], without duplicates).
pub fn scopes(conns: &Connections, target: &Target) -> Result<Vec<Scope>> {
    match target {
        Target::Area { area } => Ok(vec![area_scope(conns, area)?]),
        Target::Database { database, schema } => {
            if database.trim().is_empty() {
                return Err(CoreError::config("give a database name"));
            }
            let endpoint = conns.endpoint(database);
            Ok(vec![Scope {
                area: None,
                database: database.clone(),
                schema: schema.clone().unwrap_or_else(|| "public".to_string()),
                endpoint,
            }])
        }
        Target::Anywhere => {
            let mut out: Vec<Scope> = Vec::new();
            for a in PLUGIN_AREAS {
                let s = area_scope(conns, a)?;
                match out
                    .iter_mut()
                    .find(|o| o.endpoint == s.endpoint && o.schema == s.schema)
                {
                    Some(existing) => existing.area = None,
                    None => out.push(s),
                }
            }
            Ok(out)
        }
    }
}

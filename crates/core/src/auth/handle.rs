//! The auth handle: [`Auth`] (the auth plugin's pool and schema, and the catalog it links
//! users to), opening it, the tables and columns each view needs, the filter and page of a
//! list ([`AuthQuery`]), and which users exist in the catalog ([`users_in_catalog`], one
//! indexed lookup through `final_entities_entity_ref_uniq`), linked to the items of a list
//! ([`InCatalog`]). Every list of the auth views builds on this room.

use std::collections::{BTreeMap, BTreeSet};

use sqlx::Row;

use super::rows::with_lower;
use crate::connect::{Connections, Endpoint, PgPool};
use crate::error::Result;
use crate::schema::{DbSchema, Need, Unavailable};
use crate::sql::{Param, Sql, quote_ident};

/// Whether a user exists in the catalog: `None` when the catalog could not be read.
pub type InCatalog = Option<bool>;

/// Filter and page of an auth list.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default)]
pub struct AuthQuery {
    /// Only these users (entity refs); null: everyone.
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub users: Option<Vec<String>>,
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub limit: Option<usize>,
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub cursor: Option<String>,
}

const SINCE_OFFLINE: &str =
    "added by auth-backend migration 20251020000000_offline_sessions (2025)";
pub(super) const NEED_OFFLINE: Need = Need {
    table: "offline_sessions",
    columns: &[
        "id",
        "user_entity_ref",
        "oidc_client_id",
        "created_at",
        "last_used_at",
    ],
    since: SINCE_OFFLINE,
};
pub(super) const NEED_SESSIONS: Need = Need {
    table: "sessions",
    columns: &["sid", "sess", "expired"],
    since: "added by auth-backend migration 20230428155633_sessions (2023)",
};
pub(super) const NEED_OAUTH: Need = Need {
    table: "oauth_authorization_sessions",
    columns: &["id", "client_id", "user_entity_ref", "status", "expires_at"],
    since: "added by auth-backend migration 20250909120000_oidc_client_registration (2025)",
};
pub(super) const NEED_KEYS: Need = Need {
    table: "signing_keys",
    columns: &["kid", "created_at", "key"],
    since: "auth-backend's first migration, 20200619125845_init",
};
pub(super) const NEED_USERS: Need = Need {
    table: "user_info",
    columns: &["user_entity_ref", "user_info", "updated_at"],
    since: "added by auth-backend migration 20240510120825_user_info (2024)",
};

/// The auth database of a profile (and the catalog, to link users), with what its schema holds.
pub struct Auth {
    pub(super) pool: PgPool,
    pub(super) ep: Endpoint,
    pub(super) db: DbSchema,
    schema: String,
    pub(super) catalog: std::result::Result<Catalog, String>,
}

/// The catalog's pool and schema, and whether its `relations` table can list group members.
pub(super) struct Catalog {
    pub(super) pool: PgPool,
    pub(super) ep: Endpoint,
    pub(super) schema: String,
    /// The stitched entities as a `FROM` item ([`crate::catalog::stitched`]).
    pub(super) stitched: String,
    pub(super) has_relations: bool,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("database", &self.db.database)
            .field("schema", &self.schema)
            .field(
                "catalog",
                &self.catalog.as_ref().map(|c| c.ep.database.clone()),
            )
            .finish()
    }
}

/// An item of a list that names a user, and says whether the catalog has that user.
pub(super) trait CatalogUser {
    /// The user's entity ref as the item holds it.
    fn user_ref(&self) -> Option<&str>;
    fn set_in_catalog(&mut self, found: InCatalog);
}

impl Auth {
    /// Opens the auth database (or schema) and the catalog's, and reads what tables exist.
    /// A catalog that cannot be read only turns `in_catalog` into `None`.
    pub async fn open(conns: &Connections) -> Result<Self> {
        let place = crate::area::locate(conns, "auth")?;
        let ep = place.endpoint.clone();
        let pool = place.pool(conns).await?;
        let catalog = match open_catalog(conns).await {
            Ok(c) => Ok(c),
            Err(e) => Err(e.to_string()),
        };
        let mut auth = Self::with_pool(pool, ep, &place.schema).await?;
        auth.catalog = catalog;
        Ok(auth)
    }

    /// The same on a given pool and schema, without a catalog link.
    pub async fn with_pool(pool: PgPool, ep: Endpoint, schema: &str) -> Result<Self> {
        let db = DbSchema::read(&pool, &ep, schema).await?;
        Ok(Auth {
            pool,
            ep,
            db,
            schema: schema.to_string(),
            catalog: Err("no catalog connection".into()),
        })
    }

    pub fn schema(&self) -> &DbSchema {
        &self.db
    }

    /// A table of the auth schema, quoted and qualified.
    pub(super) fn t(&self, table: &str) -> String {
        format!("{}.{}", quote_ident(&self.schema), quote_ident(table))
    }

    /// What this database lacks for the auth views.
    pub fn degraded(&self) -> Vec<Unavailable> {
        [
            ("offline sessions", NEED_OFFLINE),
            ("browser sessions", NEED_SESSIONS),
            ("OAuth authorization sessions", NEED_OAUTH),
            ("signing keys", NEED_KEYS),
            ("user info", NEED_USERS),
        ]
        .into_iter()
        .filter_map(|(v, n)| self.db.check(v, &[n]).err())
        .collect()
    }

    /// Whether the catalog can be read to link users, and if not, why.
    pub fn catalog_status(&self) -> std::result::Result<(), String> {
        self.catalog.as_ref().map(|_| ()).map_err(Clone::clone)
    }

    /// `in_catalog` of each ref: `None` for all when the catalog cannot be read.
    pub(super) async fn link(&self, refs: &[String]) -> BTreeMap<String, bool> {
        let Ok(c) = &self.catalog else {
            return BTreeMap::new();
        };
        let mut uniq: Vec<String> = refs.to_vec();
        uniq.sort();
        uniq.dedup();
        match users_in_catalog(&c.pool, &c.ep, &c.stitched, &uniq).await {
            Ok(found) => uniq
                .into_iter()
                .map(|r| {
                    let f = found.contains(&r);
                    (r, f)
                })
                .collect(),
            Err(e) => {
                tracing::debug!(error = %e, "catalog link failed");
                BTreeMap::new()
            }
        }
    }

    /// Sets `in_catalog` of every item from one catalog lookup of the users they name
    /// (`None` for an item without a user, and for all when the catalog cannot be read).
    pub(super) async fn link_users<'a, T: CatalogUser + 'a>(
        &self,
        items: impl IntoIterator<Item = &'a mut T>,
    ) {
        let mut items: Vec<&mut T> = items.into_iter().collect();
        let refs: Vec<String> = items
            .iter()
            .filter_map(|i| i.user_ref())
            .map(str::to_string)
            .collect();
        let links = self.link(&refs).await;
        for i in &mut items {
            let found = i.user_ref().and_then(|u| links.get(u).copied());
            i.set_in_catalog(found);
        }
    }
}

/// Opens the catalog's database (or schema); fails when it has no `final_entities`.
async fn open_catalog(conns: &Connections) -> Result<Catalog> {
    let place = crate::area::locate(conns, "catalog")?;
    let ep = place.endpoint.clone();
    let pool = place.pool(conns).await?;
    let db = DbSchema::read(&pool, &ep, &place.schema).await?;
    db.check(
        "catalog users",
        &[Need {
            table: "final_entities",
            columns: &["entity_id"],
            since: "the catalog's stitched entities",
        }],
    )?;
    let stitched = crate::catalog::require_stitched(&db, "catalog users")?;
    Ok(Catalog {
        stitched,
        has_relations: db.has_column("relations", "source_entity_ref")
            && db.has_column("relations", "target_entity_ref"),
        pool,
        ep,
        schema: place.schema,
    })
}

/// Which of `refs` exist among the catalog's stitched entities, `stitched` being their `FROM`
/// item ([`crate::catalog::stitched`]), compared case-insensitively (one indexed lookup
/// through `final_entities_entity_ref_uniq`, or `refresh_state`'s ref index in catalogs
/// older than that column). Returns the refs as given.
pub async fn users_in_catalog(
    pool: &PgPool,
    ep: &Endpoint,
    stitched: &str,
    refs: &[String],
) -> Result<BTreeSet<String>> {
    if refs.is_empty() {
        return Ok(BTreeSet::new());
    }
    let q = users_in_catalog_sql(stitched, refs);
    let rows = q.fetch_all(pool, ep).await?;
    let found: BTreeSet<String> = rows
        .iter()
        .filter_map(|r| r.try_get::<String, _>("entity_ref").ok())
        .map(|r| r.to_lowercase())
        .collect();
    Ok(refs
        .iter()
        .filter(|r| found.contains(&r.to_lowercase()))
        .cloned()
        .collect())
}

/// The SQL of [`users_in_catalog`].
pub fn users_in_catalog_sql(stitched: &str, refs: &[String]) -> Sql {
    let mut q = Sql::new();
    let p = q.bind(Param::TextArray(with_lower(refs)));
    q.text = format!("SELECT f.entity_ref FROM {stitched} f WHERE f.entity_ref = ANY({p}::text[])");
    q
}

//! The scaffolder handle: [`Scaffolder`] (the pool, the endpoint and what the schema holds),
//! opening it, the tables and columns each view needs, and what this database lacks. Every
//! other room of the scaffolder builds on this one.

use crate::connect::{Connections, Endpoint, PgPool};
use crate::error::Result;
use crate::schema::{DbSchema, Need, Unavailable};
use crate::sql::quote_ident;

pub(super) const NEED_TASKS: Need = Need {
    table: "tasks",
    columns: &["id", "spec", "status", "created_at"],
    since: "scaffolder-backend's first migration, 20210120143715_init",
};
pub(super) const NEED_EVENTS: Need = Need {
    table: "task_events",
    columns: &["id", "task_id", "body", "event_type", "created_at"],
    since: "scaffolder-backend's first migration, 20210120143715_init",
};
const SINCE_CREATED_BY: &str =
    "added by scaffolder-backend migration 20220129100000_created_by (2022)";
const SINCE_STATE: &str = "added by scaffolder-backend migration 20240203232000_state (2024)";
pub(super) const SINCE_SECRETS: &str =
    "added by scaffolder-backend migration 20210409225200_secrets (2021)";

/// The scaffolder database of a profile, with what its schema holds.
#[derive(Debug, Clone)]
pub struct Scaffolder {
    pub(super) pool: PgPool,
    pub(super) ep: Endpoint,
    pub(super) db: DbSchema,
    schema: String,
    /// Tables that exist but that this user may not read; the views read them as absent.
    unreadable: Vec<String>,
}

impl Scaffolder {
    /// Opens the scaffolder's database (or schema) and reads which tables and columns exist.
    pub async fn open(conns: &Connections) -> Result<Self> {
        let place = crate::area::locate(conns, "scaffolder")?;
        let ep = place.endpoint.clone();
        let pool = place.pool(conns).await?;
        Self::with_pool(pool, ep, &place.schema).await
    }

    /// The same on a given pool and schema (`public` in database mode).
    pub async fn with_pool(pool: PgPool, ep: Endpoint, schema: &str) -> Result<Self> {
        let mut db = DbSchema::read(&pool, &ep, schema).await?;
        let unreadable =
            crate::schema::unreadable_tables(&pool, &ep, schema, &["tasks", "task_events"]).await?;
        for t in &unreadable {
            db.tables.remove(t);
        }
        Ok(Scaffolder {
            pool,
            ep,
            db,
            schema: schema.to_string(),
            unreadable,
        })
    }

    pub fn schema(&self) -> &DbSchema {
        &self.db
    }

    /// A table of the scaffolder's schema, quoted and qualified.
    pub(super) fn t(&self, table: &str) -> String {
        format!("{}.{}", quote_ident(&self.schema), quote_ident(table))
    }

    /// Whether `tasks` has this column.
    pub(super) fn has(&self, column: &str) -> bool {
        self.db.has_column("tasks", column)
    }

    pub(super) fn has_events(&self) -> bool {
        self.db.check("task events", &[NEED_EVENTS]).is_ok()
    }

    pub(super) fn id_is_uuid(&self) -> bool {
        self.db
            .table("tasks")
            .and_then(|t| t.columns.iter().find(|c| c.name == "id"))
            .is_some_and(|c| c.data_type == "uuid")
    }

    /// The cast that turns a bound text into a `tasks.id`.
    pub(super) fn id_cast(&self) -> &'static str {
        if self.id_is_uuid() {
            "::uuid"
        } else {
            "::text"
        }
    }

    /// What this database lacks for the scaffolder views, with what that changes.
    pub fn degraded(&self) -> Vec<Unavailable> {
        let mut out = Vec::new();
        for (view, need) in [
            ("scaffolder tasks", NEED_TASKS),
            (
                "task events (log, steps, durations from events)",
                NEED_EVENTS,
            ),
        ] {
            if self.unreadable.iter().any(|t| t == need.table) {
                out.push(Unavailable {
                    view: view.to_string(),
                    missing: vec![need.table.to_string()],
                    reason: format!(
                        "permission denied for table {} (SQLSTATE 42501): the user `{}` may not \
                         read it, so this part is not shown",
                        need.table, self.ep.user
                    ),
                });
            } else if let Err(u) = self.db.check(view, &[need]) {
                out.push(u);
            }
        }
        for (col, since, view) in [
            (
                "created_by",
                SINCE_CREATED_BY,
                "task creator from tasks.created_by (spec.user.ref is used instead)",
            ),
            (
                "state",
                SINCE_STATE,
                "recovery checkpoints from tasks.state",
            ),
            ("secrets", SINCE_SECRETS, "stored task secrets"),
        ] {
            if self.db.has_table("tasks") && !self.has(col) {
                out.push(Unavailable {
                    view: view.to_string(),
                    missing: vec![format!("tasks.{col}")],
                    reason: format!(
                        "column `tasks.{col}` does not exist ({since}) in {}.{}",
                        self.db.database, self.db.schema
                    ),
                });
            }
        }
        out
    }

    /// [`Scaffolder::degraded`] as sentences, for a task's notes.
    pub(super) fn notes(&self) -> Vec<String> {
        self.degraded()
            .into_iter()
            .map(|u| format!("{}: {}", u.view, u.reason))
            .collect()
    }

    pub(super) fn require_tasks(&self) -> Result<()> {
        self.db.check("scaffolder tasks", &[NEED_TASKS])?;
        Ok(())
    }
}

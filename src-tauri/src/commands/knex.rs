//! Knex migration state of the plugin databases, and releasing a held lock.

use bsi_core::connect::Connections;
use bsi_core::fixes;
use bsi_core::knex::{self, KnexTable};
use serde::Serialize;
use tauri::State;

use super::{CmdResult, command, to_ipc};
use crate::state::AppState;

/// Every Knex migrations table of every plugin database, with its lock.
#[command]
#[tracing::instrument(skip(state))]
pub async fn knex_status(
    state: State<'_, AppState>,
    op: Option<String>,
) -> CmdResult<Vec<KnexTable>> {
    state
        .run(op, |c| async move { knex::status(&c).await })
        .await
        .map_err(to_ipc)
}

/// What releasing a lock changed.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct UnlockOutcome {
    pub database: String,
    pub table: String,
    /// Lock rows changed (0: it was not locked).
    pub released: u32,
}

/// Releases a held Knex lock (`lock_table`, optionally `schema.table`) in `database`. Needs
/// write mode, and `confirm` must be the database's name typed back.
#[command]
#[tracing::instrument(skip(state))]
pub async fn knex_unlock(
    state: State<'_, AppState>,
    database: String,
    lock_table: String,
    confirm: String,
) -> CmdResult<UnlockOutcome> {
    let conns = state.connections().await.map_err(to_ipc)?;
    // A guarded fix: planned, confirmed, one transaction, recorded in the audit log.
    let req = fixes::FixRequest::KnexUnlock {
        database: database.clone(),
        lock_table: lock_table.clone(),
    };
    conns
        .require_write(&format!(
            "releasing the Knex lock {lock_table} in {database}"
        ))
        .map_err(to_ipc)?;
    // The typed name first: a wrong one is refused before anything is read.
    Connections::confirm_typed(&confirm, &database, "release the lock", "the database name")
        .map_err(to_ipc)?;
    let plan = Box::pin(fixes::plan(&conns, &req)).await.map_err(to_ipc)?;
    let done = Box::pin(fixes::apply(&conns, &plan, &confirm))
        .await
        .map_err(to_ipc)?;
    // The lock table itself, also when the migrations table was named.
    let (schema, table) = knex::lock_table_of(&lock_table);
    let table = format!("{schema}.{table}");
    Ok(UnlockOutcome {
        database,
        table,
        released: u32::try_from(done.rows.first().copied().unwrap_or(0)).unwrap_or(u32::MAX),
    })
}

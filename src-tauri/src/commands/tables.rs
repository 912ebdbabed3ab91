//! Any table of any plugin database: the list, and a page of one table sorted and filtered,
//! secrets masked.

use bsi_core::tables::{self, ScopeTables, TablePage, TableQuery, Target};
use tauri::State;

use super::{CmdResult, command, to_ipc};
use crate::state::AppState;

/// The tables of a target (an area, a database, or every known area) with columns and sizes.
#[command]
#[tracing::instrument(skip(state))]
pub async fn list_tables(
    state: State<'_, AppState>,
    target: Target,
    op: Option<String>,
) -> CmdResult<Vec<ScopeTables>> {
    state
        .run(
            op,
            |c| async move { tables::list_tables(&c, &target).await },
        )
        .await
        .map_err(to_ipc)
}

/// A page of one table, keyset paginated, sorted and filtered; masked columns never leave the
/// core unmasked.
#[command]
#[tracing::instrument(skip(state))]
pub async fn browse_table(
    state: State<'_, AppState>,
    target: Target,
    table: String,
    query: TableQuery,
    op: Option<String>,
) -> CmdResult<TablePage> {
    state
        .run(op, |c| async move {
            tables::browse(&c, &target, &table, &query).await
        })
        .await
        .map_err(to_ipc)
}

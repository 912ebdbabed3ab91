//! The SQL console: scripts run read-only (or, in write mode, confirmed and committed only when
//! asked), EXPLAIN as a tree, the Backstage recipes, copying rows, and the profile's history
//! and saved queries (SQL only, never results).

use std::collections::BTreeMap;

use bsi_core::console::copy::CopyRequest;
use bsi_core::console::explain::{self, Plan};
use bsi_core::console::history::{self, History, HistoryEntry, SavedQuery};
use bsi_core::console::recipes::{self, RecipeInfo};
use bsi_core::console::{self, ConsoleRun, RunOptions};
use bsi_core::tables::Target;
use tauri::State;

use super::{CmdResult, command, to_ipc};
use crate::state::AppState;

/// Runs the statements of `sql` on `target` in order, in one transaction of the console's own,
/// and records the run in the profile's history.
#[command]
#[tracing::instrument(skip(state, sql))]
pub async fn console_run(
    state: State<'_, AppState>,
    target: Target,
    sql: String,
    options: RunOptions,
    op: Option<String>,
) -> CmdResult<ConsoleRun> {
    state
        .run(op, |c| async move {
            console::run_recorded(&c, &target, &sql, &options).await
        })
        .await
        .map_err(to_ipc)
}

/// The plan of one statement as a tree; with `analyze` it is run and measured (statements that
/// only read).
#[command]
#[tracing::instrument(skip(state, sql))]
pub async fn console_explain(
    state: State<'_, AppState>,
    target: Target,
    sql: String,
    analyze: bool,
    op: Option<String>,
) -> CmdResult<Plan> {
    state
        .run(op, |c| async move {
            explain::explain(&c, &target, &sql, analyze).await
        })
        .await
        .map_err(to_ipc)
}

/// The Backstage recipes: what each answers, its parameters, the releases it works on.
#[command]
#[tracing::instrument]
pub async fn console_recipes() -> CmdResult<Vec<RecipeInfo>> {
    Ok(recipes::list())
}

/// Runs recipe `id` with `params` (by name; defaults for the rest) on `target`, or on the
/// recipe's own area when `target` is `anywhere`.
#[command]
#[tracing::instrument(skip(state))]
pub async fn console_recipe(
    state: State<'_, AppState>,
    target: Target,
    id: String,
    params: BTreeMap<String, String>,
    options: RunOptions,
    op: Option<String>,
) -> CmdResult<ConsoleRun> {
    state
        .run(op, |c| async move {
            recipes::run_recipe(&c, &target, &id, &params, &options).await
        })
        .await
        .map_err(to_ipc)
}

/// Rows as CSV, TSV, JSON or a Markdown table, for the clipboard.
#[command]
#[tracing::instrument(skip(request))]
pub async fn console_copy(request: CopyRequest) -> CmdResult<String> {
    Ok(request.render())
}

/// The open profile's console history, newest first, whose SQL or target contains `search`.
#[command]
#[tracing::instrument(skip(state))]
pub async fn console_history(
    state: State<'_, AppState>,
    search: String,
    limit: Option<u32>,
) -> CmdResult<Vec<HistoryEntry>> {
    let h = history_of(&state).await?;
    h.search(&search, limit.unwrap_or(100) as usize)
        .map_err(to_ipc)
}

/// The open profile's saved queries, by name.
#[command]
#[tracing::instrument(skip(state))]
pub async fn console_saved(state: State<'_, AppState>) -> CmdResult<Vec<SavedQuery>> {
    history_of(&state).await?.saved().map_err(to_ipc)
}

/// Saves `sql` under `name` for the open profile (replacing a query of that name).
#[command]
#[tracing::instrument(skip(state, sql))]
pub async fn console_save(
    state: State<'_, AppState>,
    name: String,
    sql: String,
    target: Target,
) -> CmdResult<Vec<SavedQuery>> {
    let h = history_of(&state).await?;
    h.save_query(&name, &sql, &history::target_label(&target), history::now())
        .and_then(|()| h.saved())
        .map_err(to_ipc)
}

/// Deletes the saved query `name` of the open profile.
#[command]
#[tracing::instrument(skip(state))]
pub async fn console_delete_saved(
    state: State<'_, AppState>,
    name: String,
) -> CmdResult<Vec<SavedQuery>> {
    let h = history_of(&state).await?;
    h.delete_query(&name)
        .and_then(|()| h.saved())
        .map_err(to_ipc)
}

async fn history_of(state: &AppState) -> CmdResult<History> {
    let conns = state.connections().await.map_err(to_ipc)?;
    History::for_profile(&conns.profile().name).map_err(to_ipc)
}

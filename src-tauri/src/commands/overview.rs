//! The overview: databases, areas and sizes, Knex state with held locks, health counts.

use bsi_core::installations::Installations;
use bsi_core::overview::Overview;
use tauri::State;

use super::{CmdResult, command, to_ipc};
use crate::state::AppState;

/// The open profile's databases, Knex state and health counts; a count whose table is missing
/// is unavailable with its reason.
#[command]
#[tracing::instrument(skip(state))]
pub async fn overview(state: State<'_, AppState>, op: Option<String>) -> CmdResult<Overview> {
    // The window's first overview was read at launch.
    if let Some(o) = state.take_first_screen().await {
        return Ok(o);
    }
    state
        .run(
            op,
            |c| async move { bsi_core::overview::overview(&c).await },
        )
        .await
        .map_err(to_ipc)
}

/// Every Backstage installation on the open profile's server (plugin databases by prefix,
/// plugin schemas by database), which one the profile points at, and the databases the role
/// may not read.
#[command]
#[tracing::instrument(skip(state))]
pub async fn installations(
    state: State<'_, AppState>,
    op: Option<String>,
) -> CmdResult<Installations> {
    state
        .run(op, |c| async move {
            bsi_core::installations::installations(&c).await
        })
        .await
        .map_err(to_ipc)
}

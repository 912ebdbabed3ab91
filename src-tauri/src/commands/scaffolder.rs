//! Scaffolder task history and one task with its steps and log.

use bsi_core::page::Page;
use bsi_core::scaffolder::{Scaffolder, TaskDetail, TaskFilter, TaskSummary};
use tauri::State;

use super::{CmdResult, command, to_ipc};
use crate::state::AppState;

/// A page of scaffolder tasks, newest first.
#[command]
#[tracing::instrument(skip(state))]
pub async fn tasks(
    state: State<'_, AppState>,
    args: TaskFilter,
    op: Option<String>,
) -> CmdResult<Page<TaskSummary>> {
    let filter = args;
    state
        .run(op, |c| async move {
            c.reuse(|| Scaffolder::open(&c)).await?.tasks(&filter).await
        })
        .await
        .map_err(to_ipc)
}

/// One task (its id or a unique prefix): parameters, steps, log with ANSI spans, output; the
/// stored secrets only by key name.
#[command]
#[tracing::instrument(skip(state))]
pub async fn task(
    state: State<'_, AppState>,
    id: String,
    op: Option<String>,
) -> CmdResult<TaskDetail> {
    state
        .run(op, |c| async move {
            c.reuse(|| Scaffolder::open(&c)).await?.task(&id).await
        })
        .await
        .map_err(to_ipc)
}

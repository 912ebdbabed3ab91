//! Scaffolder task history and one task with its steps and log.

use bsi_core::page::Page;
use bsi_core::scaffolder::{Scaffolder, StatusFilter, TaskDetail, TaskFilter, TaskSummary};
use serde::Deserialize;
use tauri::State;

use super::{CmdResult, command, to_ipc};
use crate::state::AppState;

/// What the task list shows.
#[derive(Debug, Clone, Default, Deserialize, ts_rs::TS)]
#[serde(default)]
pub struct TaskArgs {
    #[ts(optional = nullable)]
    pub status: Option<StatusFilter>,
    /// A template ref (`template:default/x`, `default/x` or `x`).
    #[ts(optional = nullable)]
    pub template: Option<String>,
    /// A user ref (`user:default/ada`, `ada`).
    #[ts(optional = nullable)]
    pub creator: Option<String>,
    /// Created at or after this (an RFC 3339 time, a date, or an age such as 24h).
    #[ts(optional = nullable)]
    pub since: Option<String>,
    /// Created before this.
    #[ts(optional = nullable)]
    pub until: Option<String>,
    #[ts(optional = nullable)]
    pub limit: Option<usize>,
    #[ts(optional = nullable)]
    pub cursor: Option<String>,
}

/// A page of scaffolder tasks, newest first.
#[command]
#[tracing::instrument(skip(state))]
pub async fn tasks(
    state: State<'_, AppState>,
    args: TaskArgs,
    op: Option<String>,
) -> CmdResult<Page<TaskSummary>> {
    let filter = TaskFilter {
        status: args.status,
        template: args.template,
        creator: args.creator,
        since: args.since,
        until: args.until,
        limit: args.limit,
        cursor: args.cursor,
    };
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

//! The doctor: one read-only pass over the open installation, findings ranked by severity.

use bsi_core::cmdline;
use bsi_core::doctor::Report;
use tauri::State;

use super::{CmdResult, command, to_ipc};
use crate::state::AppState;

/// The doctor's findings on the open profile's installation with the default thresholds, worst
/// first, each with its evidence; every next step's `command` is a `bsi --profile NAME ...`
/// line (with `--prefix` or `--schema-mode --database` when this run was switched to another
/// installation). Checks that did not run here are in `skipped`.
#[command]
#[tracing::instrument(skip(state))]
pub async fn doctor(state: State<'_, AppState>, op: Option<String>) -> CmdResult<Report> {
    // The profile and installation the pass reads, taken before it starts.
    let profile = state.profile_name().await.unwrap_or_default();
    let options = cmdline::profile_options(&profile, state.switched().await.as_ref());
    let report = state
        .run(op, |c| async move { bsi_core::doctor::doctor(&c).await })
        .await
        .map_err(to_ipc)?;
    Ok(report.with_commands(&options))
}

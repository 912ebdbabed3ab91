//! Cancelling a running operation on the server.

use serde::Serialize;
use tauri::State;

use super::{CmdResult, command, to_ipc};
use crate::state::AppState;

/// What a cancellation did.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct CancelOutcome {
    /// Server sessions sent `pg_cancel_backend`.
    pub signalled: u32,
}

/// Cancels the operation started with this `op` id: its running query is cancelled on the
/// server and the command fails with `cancelled`. Allowed in read-only mode (it writes
/// nothing).
#[command]
#[tracing::instrument(skip(state))]
pub async fn cancel(state: State<'_, AppState>, op: String) -> CmdResult<CancelOutcome> {
    let n = state.cancel(&op).await.map_err(to_ipc)?;
    Ok(CancelOutcome {
        signalled: u32::try_from(n).unwrap_or(u32::MAX),
    })
}

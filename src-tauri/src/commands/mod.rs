//! The app's commands, one module per area. Each takes its state, calls the core, and maps
//! the error to `{code, message}`.

pub mod status;

use bsi_core::{CoreError, ErrorPayload};

/// The error every command returns over IPC.
pub type CommandError = ErrorPayload;

pub fn to_ipc(e: CoreError) -> CommandError {
    e.to_payload()
}

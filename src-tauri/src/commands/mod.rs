//! The app's commands, one module per area. Each takes the state, calls the core, and maps
//! [`CoreError`] to the one error type the UI sees, `{code, message}` ([`ErrorPayload`]) with a
//! stable snake_case code. No logic lives here: what a command needs beyond a call belongs in
//! `bsi-core`.
//!
//! Long commands take an optional `op` id: [`ops::cancel`] with the same id cancels the running
//! query on the server and the command fails with `cancelled`.

pub mod auth;
pub mod catalog;
pub mod connections;
pub mod graph;
pub mod knex;
pub mod migrations;
pub mod ops;
pub mod overview;
pub mod scaffolder;
pub mod search;
pub mod status;
pub mod tables;
pub mod techdocs;

use bsi_core::{CoreError, ErrorPayload};
use serde::Deserialize;

/// The error every command returns over IPC.
pub type CommandError = ErrorPayload;

/// The result of every command.
pub type CmdResult<T> = Result<T, CommandError>;

pub fn to_ipc(e: CoreError) -> CommandError {
    e.to_payload()
}

/// A page request: rows per page (1-1000, default 100) and the `next_cursor` of the previous
/// page.
#[derive(Debug, Clone, Default, Deserialize, ts_rs::TS)]
#[serde(default)]
pub struct PageArgs {
    #[ts(optional = nullable)]
    pub limit: Option<usize>,
    #[ts(optional = nullable)]
    pub cursor: Option<String>,
}

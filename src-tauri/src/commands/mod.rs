//! The app's commands, one module per area. Each takes the state, calls the core, and maps
//! [`CoreError`] to the one error type the UI sees, `{code, message}` ([`ErrorPayload`]) with a
//! stable snake_case code. No logic lives here: what a command needs beyond a call belongs in
//! `bsi-core`.
//!
//! A command is declared once: its function with its doc comment, marked [`command`] (instead of
//! `#[tauri::command]`), and one line `module::name` in the registry, `src-tauri/registry.rs`.
//! The handler, the names the capability allows (`build.rs`) and the command's TypeScript
//! function ([`crate::bindings`]: its doc, its arguments' names and types, its result) all come
//! from those two. The state parameter, `state: State<'_, AppState>`, is not an argument; the
//! UI sends each other parameter under its camelCase name. A command without a doc comment, or
//! declared but left out of the registry, does not compile.
//!
//! Long commands take an optional `op` id: [`ops::cancel`] with the same id cancels the running
//! query on the server and the command fails with `cancelled`.

pub mod about;
pub mod auth;
pub mod catalog;
pub mod connections;
pub mod console;
pub mod doctor;
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

pub use bsi_app_macros::command;
use bsi_core::{CoreError, ErrorPayload};

/// The error every command returns over IPC.
pub type CommandError = ErrorPayload;

/// The result of every command.
pub type CmdResult<T> = Result<T, CommandError>;

pub fn to_ipc(e: CoreError) -> CommandError {
    e.to_payload()
}

/// What a command's result holds when it succeeds: the result type of its TypeScript function.
pub trait Returns {
    type Ok;
}

impl<T> Returns for CmdResult<T> {
    type Ok = T;
}

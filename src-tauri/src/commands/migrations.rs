//! Our embedded migrations (a Backstage-shaped database): status, plan, apply.

use bsi_core::connect::Connections;
use bsi_core::migrate::{self, AppliedNow, ApplyOptions, AreaStatus, PlannedMigration};
use tauri::State;

use super::{CmdResult, command, to_ipc};
use crate::state::AppState;

fn or_default_areas(a: Vec<String>) -> Vec<String> {
    if a.is_empty() {
        migrate::default_areas()
    } else {
        a
    }
}

/// Applied, pending and changed migrations per area (empty `areas`: every area).
#[command]
#[tracing::instrument(skip(state))]
pub async fn migration_status(
    state: State<'_, AppState>,
    areas: Vec<String>,
    op: Option<String>,
) -> CmdResult<Vec<AreaStatus>> {
    state
        .run(op, |c| async move {
            let places = migrate::places(&c, &or_default_areas(areas))?;
            migrate::status(&c, &places).await
        })
        .await
        .map_err(to_ipc)
}

/// The migrations [`apply_migrations`] would run, in order, with their SQL.
#[command]
#[tracing::instrument(skip(state))]
pub async fn migration_plan(
    state: State<'_, AppState>,
    areas: Vec<String>,
    op: Option<String>,
) -> CmdResult<Vec<PlannedMigration>> {
    state
        .run(op, |c| async move {
            let places = migrate::places(&c, &or_default_areas(areas))?;
            Ok(migrate::plan(&migrate::status(&c, &places).await?))
        })
        .await
        .map_err(to_ipc)
}

/// Applies the pending migrations, each in its own transaction. Needs write mode, and
/// `confirm` must be the open profile's name typed back.
#[command]
#[tracing::instrument(skip(state))]
pub async fn apply_migrations(
    state: State<'_, AppState>,
    areas: Vec<String>,
    create_databases: bool,
    force: bool,
    confirm: String,
) -> CmdResult<Vec<AppliedNow>> {
    let c = state.connections().await.map_err(to_ipc)?;
    let places = migrate::prepare_apply(&c, &or_default_areas(areas)).map_err(to_ipc)?;
    Connections::confirm_typed(
        &confirm,
        &c.profile().name,
        "apply migrations",
        "the profile name",
    )
    .map_err(to_ipc)?;
    migrate::apply(
        &c,
        &places,
        &ApplyOptions {
            force,
            create_databases,
        },
    )
    .await
    .map_err(to_ipc)
}

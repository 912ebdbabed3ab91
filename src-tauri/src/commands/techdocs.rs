//! TechDocs: which entities have documentation and the state of its search index.

use bsi_core::techdocs::{self, TechDocsList, TechDocsQuery};
use tauri::State;

use super::{CmdResult, command, to_ipc};
use crate::state::AppState;

/// A page of entities with TechDocs.
#[command]
#[tracing::instrument(skip(state))]
pub async fn techdocs(
    state: State<'_, AppState>,
    page: TechDocsQuery,
    op: Option<String>,
) -> CmdResult<TechDocsList> {
    let q = page;
    state
        .run(op, |c| async move { techdocs::list(&c, &q).await })
        .await
        .map_err(to_ipc)
}

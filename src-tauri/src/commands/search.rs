//! The search backend's documents: types and full-text queries.

use bsi_core::search::{self, DocumentTypeCount, SearchQuery, SearchResults};
use tauri::State;

use super::{CmdResult, command, to_ipc};
use crate::state::AppState;

/// The document types in the search index with their counts.
#[command]
#[tracing::instrument(skip(state))]
pub async fn search_types(
    state: State<'_, AppState>,
    op: Option<String>,
) -> CmdResult<Vec<DocumentTypeCount>> {
    state
        .run(op, |c| async move { search::document_types(&c).await })
        .await
        .map_err(to_ipc)
}

/// Matches of a full-text query, best first, with highlighted fragments.
#[command]
#[tracing::instrument(skip(state))]
pub async fn search(
    state: State<'_, AppState>,
    args: SearchQuery,
    op: Option<String>,
) -> CmdResult<SearchResults> {
    let q = args;
    state
        .run(op, |c| async move { search::search(&c, &q).await })
        .await
        .map_err(to_ipc)
}

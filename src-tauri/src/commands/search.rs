//! The search backend's documents: types and full-text queries.

use bsi_core::search::{self, DocumentTypeCount, SearchQuery, SearchResults};
use serde::Deserialize;
use tauri::State;

use super::{CmdResult, command, to_ipc};
use crate::state::AppState;

/// A full-text search.
#[derive(Debug, Clone, Default, Deserialize, ts_rs::TS)]
#[serde(default)]
pub struct SearchArgs {
    /// Web-search syntax: words, `"quoted phrases"`, `or`, `-excluded`.
    pub query: String,
    /// Only documents of this type.
    #[ts(optional = nullable)]
    pub doc_type: Option<String>,
    #[ts(optional = nullable)]
    pub limit: Option<usize>,
    #[ts(optional = nullable)]
    pub cursor: Option<String>,
}

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
    args: SearchArgs,
    op: Option<String>,
) -> CmdResult<SearchResults> {
    let q = SearchQuery {
        query: args.query,
        doc_type: args.doc_type,
        limit: args.limit,
        cursor: args.cursor,
    };
    state
        .run(op, |c| async move { search::search(&c, &q).await })
        .await
        .map_err(to_ipc)
}

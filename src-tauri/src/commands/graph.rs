//! Relation graphs: neighbourhoods, shortest paths and broken references.

use bsi_core::graph::{
    BrokenRefsOptions, BrokenTarget, Graph, GraphOptions, PathOptions, RelationGraph, RelationPath,
};
use bsi_core::page::Page;
use tauri::State;

use super::{CmdResult, command, to_ipc};
use crate::state::AppState;

/// The neighbourhood of some entities.
#[command]
#[tracing::instrument(skip(state))]
pub async fn graph_neighbourhood(
    state: State<'_, AppState>,
    args: GraphOptions,
    op: Option<String>,
) -> CmdResult<Graph> {
    let opts = args;
    state
        .run(op, |c| async move {
            c.reuse(|| RelationGraph::open(&c))
                .await?
                .neighbourhood(&opts)
                .await
        })
        .await
        .map_err(to_ipc)
}

/// The shortest relation path from one entity to another.
#[command]
#[tracing::instrument(skip(state))]
pub async fn graph_path(
    state: State<'_, AppState>,
    from: String,
    to: String,
    max_depth: Option<usize>,
    types: Vec<String>,
    op: Option<String>,
) -> CmdResult<RelationPath> {
    let opts = PathOptions {
        max_depth: max_depth.unwrap_or(PathOptions::default().max_depth),
        types,
    };
    state
        .run(op, |c| async move {
            c.reuse(|| RelationGraph::open(&c))
                .await?
                .path(&from, &to, &opts)
                .await
        })
        .await
        .map_err(to_ipc)
}

/// Relation targets that are not entities, a page at a time, with referring samples.
#[command]
#[tracing::instrument(skip(state))]
pub async fn broken_refs(
    state: State<'_, AppState>,
    limit: Option<usize>,
    cursor: Option<String>,
    samples: Option<usize>,
    op: Option<String>,
) -> CmdResult<Page<BrokenTarget>> {
    let opts = BrokenRefsOptions {
        limit,
        cursor,
        samples: samples.unwrap_or(BrokenRefsOptions::default().samples),
    };
    state
        .run(op, |c| async move {
            c.reuse(|| RelationGraph::open(&c))
                .await?
                .broken_refs(&opts)
                .await
        })
        .await
        .map_err(to_ipc)
}

//! The software catalog: entities with filters and facets, one entity with its cross-links
//! (the scaffolder tasks that created it, sessions of a user or group), processing errors,
//! orphans, stale entities and locations.

use bsi_core::catalog::{
    Capabilities, Catalog, EntityFilter, EntityQuery, EntitySummary, ErroredEntity, FacetField,
    Facets, ListQuery, LocationRow, OrphanEntity, StaleList,
};
pub use bsi_core::crosslinks::EntityView;
use bsi_core::crosslinks::entity_with_links;
use bsi_core::doctor::why::Why;
use bsi_core::page::Page;
use tauri::State;

use super::{CmdResult, command, to_ipc};
use crate::state::AppState;

/// A page of entities, filtered and sorted; pass `next_cursor` back for the next page.
#[command]
#[tracing::instrument(skip(state))]
pub async fn entities(
    state: State<'_, AppState>,
    query: EntityQuery,
    op: Option<String>,
) -> CmdResult<Page<EntitySummary>> {
    state
        .run(op, |c| async move {
            c.reuse(|| Catalog::open(&c)).await?.entities(&query).await
        })
        .await
        .map_err(to_ipc)
}

/// Counts per value of `fields` (all when empty) among the entities `filter` matches.
#[command]
#[tracing::instrument(skip(state))]
pub async fn facets(
    state: State<'_, AppState>,
    filter: EntityFilter,
    fields: Vec<FacetField>,
    op: Option<String>,
) -> CmdResult<Facets> {
    state
        .run(op, |c| async move {
            c.reuse(|| Catalog::open(&c))
                .await?
                .facets(&filter, &fields)
                .await
        })
        .await
        .map_err(to_ipc)
}

/// Why an entity is missing, stale, orphaned or fine (also for a ref the catalog does not
/// have): its pipeline stage by stage, one verdict, the next steps, and for a ref nowhere the
/// closest refs.
#[command]
#[tracing::instrument(skip(state))]
pub async fn why(
    state: State<'_, AppState>,
    entity_ref: String,
    op: Option<String>,
) -> CmdResult<Why> {
    state
        .run(op, |c| async move {
            bsi_core::doctor::why::why(&c, &entity_ref).await
        })
        .await
        .map_err(to_ipc)
}

/// One entity (`kind:namespace/name`, or `kind:name` for namespace default): relations both
/// ways, processing state, orphan status, the redacted entity and its cross-links.
#[command]
#[tracing::instrument(skip(state))]
pub async fn entity(
    state: State<'_, AppState>,
    entity_ref: String,
    op: Option<String>,
) -> CmdResult<EntityView> {
    state
        .run(op, |c| async move {
            let catalog = c.reuse(|| Catalog::open(&c)).await?;
            entity_with_links(&c, &catalog, &entity_ref).await
        })
        .await
        .map_err(to_ipc)
}

/// Entities whose processing failed, including those that never reached the catalog.
#[command]
#[tracing::instrument(skip(state))]
pub async fn processing_errors(
    state: State<'_, AppState>,
    page: ListQuery,
    op: Option<String>,
) -> CmdResult<Page<ErroredEntity>> {
    state
        .run(op, |c| async move {
            c.reuse(|| Catalog::open(&c)).await?.errors(&page).await
        })
        .await
        .map_err(to_ipc)
}

/// Orphaned entities: no longer emitted by their parent, or annotated backstage.io/orphan.
#[command]
#[tracing::instrument(skip(state))]
pub async fn orphans(
    state: State<'_, AppState>,
    page: ListQuery,
    op: Option<String>,
) -> CmdResult<Page<OrphanEntity>> {
    state
        .run(op, |c| async move {
            c.reuse(|| Catalog::open(&c)).await?.orphans(&page).await
        })
        .await
        .map_err(to_ipc)
}

/// Entities not discovered or refreshed for longer than `older_than` (90s, 30m, 24h, 7d...).
#[command]
#[tracing::instrument(skip(state))]
pub async fn stale(
    state: State<'_, AppState>,
    older_than: String,
    page: ListQuery,
    op: Option<String>,
) -> CmdResult<StaleList> {
    let d = bsi_core::refs::time::parse_duration(&older_than).map_err(to_ipc)?;
    state
        .run(op, |c| async move {
            c.reuse(|| Catalog::open(&c)).await?.stale(d, &page).await
        })
        .await
        .map_err(to_ipc)
}

/// Registered locations and the status of their latest update.
#[command]
#[tracing::instrument(skip(state))]
pub async fn locations(
    state: State<'_, AppState>,
    page: ListQuery,
    op: Option<String>,
) -> CmdResult<Page<LocationRow>> {
    state
        .run(op, |c| async move {
            c.reuse(|| Catalog::open(&c)).await?.locations(&page).await
        })
        .await
        .map_err(to_ipc)
}

/// Which catalog views this database can serve, why not, and which fields they show without
/// (an older or trimmed schema).
#[command]
#[tracing::instrument(skip(state))]
pub async fn catalog_capabilities(
    state: State<'_, AppState>,
    op: Option<String>,
) -> CmdResult<Capabilities> {
    state
        .run(op, |c| async move {
            Ok(c.reuse(|| Catalog::open(&c)).await?.capabilities())
        })
        .await
        .map_err(to_ipc)
}

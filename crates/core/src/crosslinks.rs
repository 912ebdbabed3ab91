//! Links from one entity to the other plugins' data: the scaffolder tasks that created it or
//! ran its source template, and the sessions of a user (or of a group's members). Each link
//! is read on its own; one that cannot be read (its database or table is missing) carries its
//! error and does not hide the entity. [`entity_with_links`] is an entity with its links, as
//! both shells show it.

use serde::Serialize;

use crate::auth::{Auth, UserSessions};
use crate::catalog::{Catalog, EntityDetail};
use crate::connect::Connections;
use crate::error::{ErrorPayload, Result};
use crate::refs::EntityRef;
use crate::scaffolder::{EntityTasks, Scaffolder};

/// How many tasks an entity shows.
pub const TASK_LIMIT: usize = 50;

/// What [`for_entity`] found.
#[derive(Debug, Clone, Default)]
pub struct CrossLinks {
    pub tasks: Option<EntityTasks>,
    pub tasks_error: Option<ErrorPayload>,
    pub sessions: Option<UserSessions>,
    pub sessions_error: Option<ErrorPayload>,
}

/// The entity's `metadata.annotations[name]`, when it is a string.
pub fn annotation<'a>(detail: &'a EntityDetail, name: &str) -> Option<&'a str> {
    detail
        .entity
        .as_ref()?
        .get("metadata")?
        .get("annotations")?
        .get(name)?
        .as_str()
}

/// Tasks for every entity; sessions for users and groups.
pub async fn for_entity(conns: &Connections, detail: &EntityDetail) -> CrossLinks {
    let mut out = CrossLinks::default();
    let template = annotation(detail, "backstage.io/source-template");
    let tasks = async {
        conns
            .reuse(|| Scaffolder::open(conns))
            .await?
            .tasks_for_entity(&detail.entity_ref, template, Some(TASK_LIMIT))
            .await
    };
    let kind = EntityRef::split(&detail.entity_ref).kind;
    let sessions = async {
        if kind == "user" || kind == "group" {
            conns
                .reuse(|| Auth::open(conns))
                .await?
                .sessions_for(&detail.entity_ref)
                .await
                .map(Some)
        } else {
            Ok(None)
        }
    };
    let (tasks, sessions) = tokio::join!(tasks, sessions);
    match tasks {
        Ok(t) => out.tasks = Some(t),
        Err(e) => out.tasks_error = Some(e.to_payload()),
    }
    match sessions {
        Ok(s) => out.sessions = s,
        Err(e) => out.sessions_error = Some(e.to_payload()),
    }
    out
}

/// One entity with its cross-links. A cross-link that cannot be read (its database or table
/// is missing) carries its error instead of failing the entity.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct EntityView {
    pub detail: EntityDetail,
    /// Scaffolder tasks that created or ran for this entity.
    pub tasks: Option<EntityTasks>,
    pub tasks_error: Option<ErrorPayload>,
    /// Sessions of this user, or of the members of this group; `null` for other kinds.
    pub sessions: Option<UserSessions>,
    pub sessions_error: Option<ErrorPayload>,
}

/// The entity `entity_ref` of `catalog` in full ([`Catalog::entity`]) with its cross-links
/// ([`for_entity`]). Only the entity itself can fail.
pub async fn entity_with_links(
    conns: &Connections,
    catalog: &Catalog,
    entity_ref: &str,
) -> Result<EntityView> {
    let detail = catalog.entity(entity_ref).await?;
    let links = for_entity(conns, &detail).await;
    Ok(EntityView {
        detail,
        tasks: links.tasks,
        tasks_error: links.tasks_error,
        sessions: links.sessions,
        sessions_error: links.sessions_error,
    })
}

//! The demo data generator (being written): fills migrated plugin databases the way a real
//! Backstage would, deterministically from a seed.

use serde::Serialize;
use sqlx::postgres::PgPool;

use crate::error::{CoreError, Result};

/// What to generate.
#[derive(Debug, Clone)]
pub struct GenerateOptions {
    pub seed: u64,
    pub entities: usize,
    pub tasks: usize,
    pub events_per_task: usize,
}

impl GenerateOptions {
    /// The default demo: a few hundred entities.
    pub fn small() -> Self {
        Self::size(300)
    }

    /// Everything scaled from the number of entities: 100,000 entities give about 700,000
    /// relation rows, 100,000 tasks and 1,000,000 task events.
    pub fn size(entities: usize) -> Self {
        Self {
            seed: 42,
            entities,
            tasks: entities,
            events_per_task: 10,
        }
    }
}

/// Pools on migrated, empty plugin databases (or schemas).
#[derive(Debug, Clone)]
pub struct Targets {
    pub catalog: PgPool,
    pub scaffolder: PgPool,
    pub auth: PgPool,
    pub search: PgPool,
    pub notifications: Option<PgPool>,
    pub events: Option<PgPool>,
}

/// What was written.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct GenerateReport {
    pub entities: usize,
    pub final_entities: usize,
    pub errored_entities: usize,
    pub orphans: usize,
    pub relations: usize,
    pub search_rows: usize,
    pub locations: usize,
    pub tasks: usize,
    pub task_events: usize,
    pub sessions: usize,
    pub offline_sessions: usize,
    pub signing_keys: usize,
    pub users: usize,
    pub documents: usize,
    pub elapsed_ms: u64,
}

/// Fills the targets. `progress(phase, done, total)` is called as phases advance.
pub async fn generate(
    _targets: &Targets,
    _opts: &GenerateOptions,
    _progress: &(dyn Fn(&str, u64, u64) + Send + Sync),
) -> Result<GenerateReport> {
    Err(CoreError::Internal(
        "the demo data generator is not built yet".into(),
    ))
}

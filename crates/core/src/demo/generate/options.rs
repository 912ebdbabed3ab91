//! What the generator is asked for ([`GenerateOptions`]), where it writes ([`Targets`]) and
//! what it wrote ([`GenerateReport`]); every area's writer shares these.

use serde::Serialize;
use sqlx::postgres::PgPool;

use super::time::EPOCH;

/// What to generate.
#[derive(Debug, Clone)]
pub struct GenerateOptions {
    pub seed: u64,
    pub entities: usize,
    pub tasks: usize,
    pub events_per_task: usize,
    /// The moment the data is generated "at", in microseconds since the Unix epoch: the
    /// newest tasks, sessions and refreshes lie just before it, expiries just after. Fixed by
    /// default (2026-11-01) so that a seed always gives the same data; the demo sets the
    /// current time so that its data looks alive (recent failures, active sessions).
    pub epoch_us: i64,
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
            epoch_us: EPOCH,
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

/// How writers report progress: `progress(phase, done, total)`.
pub(super) type Progress<'a> = &'a (dyn Fn(&str, u64, u64) + Send + Sync);

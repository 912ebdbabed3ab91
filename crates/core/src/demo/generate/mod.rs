//! The demo data generator: fills migrated plugin databases the way a real Backstage would,
//! deterministically from a seed (timestamps count back from a fixed epoch, never from now).
//!
//! Only the small entity graph (kinds, names, ids, edges: `plan`) is kept in memory; each
//! entity's JSON (`entity`) is built as it is written. Every table is filled with
//! `COPY ... FROM STDIN` (text format, `copy`) in chunks of about 1 MB, each chunk its own
//! statement and transaction, flushed in foreign-key order. One writer per area: `catalog`,
//! `scaffolder`, `auth`, `documents` (search) and `notifications` (with the event
//! bus); each draws from a random stream of its own (`rng`), so the areas are written at once.

mod auth;
mod catalog;
mod copy;
mod documents;
mod encode;
mod entity;
mod notifications;
mod options;
mod plan;
mod rng;
mod scaffolder;
mod time;

use std::time::Instant;

pub use options::{GenerateOptions, GenerateReport, Targets};

use crate::error::Result;

/// Fills the targets. `progress(phase, done, total)` is called as phases advance.
pub async fn generate(
    targets: &Targets,
    opts: &GenerateOptions,
    progress: &(dyn Fn(&str, u64, u64) + Send + Sync),
) -> Result<GenerateReport> {
    let started = Instant::now();
    let mut plan = plan::Plan::build(opts.seed, opts.entities)?;
    plan.epoch = opts.epoch_us;
    let (mut r, sc, auth, docs, ()) = tokio::try_join!(
        catalog::write_catalog(&targets.catalog, &plan, progress),
        scaffolder::write_scaffolder(&targets.scaffolder, &plan, opts, progress),
        auth::write_auth(&targets.auth, &plan, progress),
        documents::write_documents(&targets.search, &plan, progress),
        notifications::write_notifications(targets, &plan, opts, progress),
    )?;
    (r.tasks, r.task_events) = (sc.tasks, sc.task_events);
    (r.sessions, r.offline_sessions) = (auth.sessions, auth.offline_sessions);
    (r.signing_keys, r.users, r.documents) = (auth.signing_keys, auth.users, docs.documents);
    r.elapsed_ms = started.elapsed().as_millis() as u64;
    Ok(r)
}

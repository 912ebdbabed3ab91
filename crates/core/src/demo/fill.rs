//! Filling a profile's plugin databases with demo data, in one place for the demo, the tests
//! and the benchmark: our migrations for the areas (creating missing databases), the areas'
//! pools, and the generator on them.

use crate::area::{MIGRATED_AREAS, locate};
use crate::connect::Connections;
use crate::error::Result;
use crate::migrate::{self, AppliedNow, ApplyOptions};
use crate::schema::count_rows;

use super::generate::{GenerateOptions, GenerateReport, Targets, generate};

/// What to fill, and how.
#[derive(Debug, Clone)]
pub struct FillOptions {
    /// The areas (plugin ids) to migrate and fill. The generator needs catalog, scaffolder,
    /// auth and search; notifications and events are filled when listed.
    pub areas: Vec<String>,
    /// What the generator makes.
    pub generate: GenerateOptions,
    /// Generate nothing when the catalog already holds entities (the demo's second run).
    pub keep_existing: bool,
}

impl FillOptions {
    /// The areas `areas`, filled with what `generate` asks for.
    pub fn new(areas: &[&str], generate: GenerateOptions) -> Self {
        FillOptions {
            areas: areas.iter().map(|a| a.to_string()).collect(),
            generate,
            keep_existing: false,
        }
    }

    /// Every area our migrations build.
    pub fn all(generate: GenerateOptions) -> Self {
        Self::new(&MIGRATED_AREAS, generate)
    }
}

/// What a fill did.
#[derive(Debug, Clone)]
pub struct FillReport {
    /// The migrations applied now (none when every area was up to date).
    pub migrations: Vec<AppliedNow>,
    /// The generator's report; `None` when the existing data was kept.
    pub generated: Option<GenerateReport>,
    /// The pools of the filled areas.
    pub targets: Targets,
}

/// How a fill advances.
#[derive(Debug, Clone, Copy)]
pub enum FillProgress<'a> {
    /// The migrations are applied (these ones now).
    Migrated(&'a [AppliedNow]),
    /// The catalog already holds this many entities, and they are kept.
    Kept(i64),
    /// The generator starts.
    Generating,
    /// A phase of the generator advances (`done` of `total`).
    Phase {
        phase: &'a str,
        done: u64,
        total: u64,
    },
}

/// Applies our migrations of `areas` under `conns`' profile, creating missing databases (or
/// schemas). Needs write mode.
pub async fn migrate_areas(conns: &Connections, areas: &[String]) -> Result<Vec<AppliedNow>> {
    let places = migrate::places(conns, areas)?;
    let opts = ApplyOptions {
        create_databases: true,
        force: false,
    };
    migrate::apply(conns, &places, &opts).await
}

/// The generator's pools on the areas of `areas`: notifications and events only when listed.
async fn targets(conns: &Connections, areas: &[String]) -> Result<Targets> {
    let pool = |a: &'static str| async move { locate(conns, a)?.pool(conns).await };
    let optional = |a: &'static str| async move {
        match areas.iter().any(|x| x == a) {
            true => pool(a).await.map(Some),
            false => Ok(None),
        }
    };
    Ok(Targets {
        catalog: pool("catalog").await?,
        scaffolder: pool("scaffolder").await?,
        auth: pool("auth").await?,
        search: pool("search").await?,
        notifications: optional("notifications").await?,
        events: optional("events").await?,
    })
}

/// Migrates the areas of `opts` (creating their databases), opens their pools and fills them
/// with generated data. Needs write mode.
pub async fn fill(
    conns: &Connections,
    opts: &FillOptions,
    progress: &(dyn Fn(FillProgress<'_>) + Send + Sync),
) -> Result<FillReport> {
    let migrations = migrate_areas(conns, &opts.areas).await?;
    progress(FillProgress::Migrated(&migrations));
    let targets = targets(conns, &opts.areas).await?;
    if opts.keep_existing {
        let existing = count_rows(&targets.catalog, "refresh_state").await?;
        if existing > 0 {
            progress(FillProgress::Kept(existing));
            return Ok(FillReport {
                migrations,
                generated: None,
                targets,
            });
        }
    }
    progress(FillProgress::Generating);
    let phase = |phase: &str, done, total| progress(FillProgress::Phase { phase, done, total });
    let report = generate(&targets, &opts.generate, &phase).await?;
    Ok(FillReport {
        migrations,
        generated: Some(report),
        targets,
    })
}

//! Set-up shared by the integration tests that read generated data: connections to the
//! harness's PostgreSQL under a database prefix, and the demo's fill (our migrations on fresh
//! databases, the generator on them).

#![allow(dead_code)]

use std::sync::Arc;

use bsi_core::connect::Connections;
use bsi_core::demo::generate::{GenerateOptions, Targets};
use bsi_core::demo::{FillOptions, fill, migrate_areas};
use bsi_core::profile::{DivisionMode, Profile};
use bsi_core::secrets::Secret;
use bsi_core::tls::SslMode;
use bsi_testkit::shared;

/// Connections named `name` to the databases `<prefix><area>`, over TLS (`require`). Write-mode
/// sets wait longer for connections and statements: generation runs on them, under load.
pub fn conns(name: &str, prefix: &str, write: bool) -> Arc<Connections> {
    let s = shared();
    let mut p = Profile::new(name, "localhost", "postgres");
    p.port = s.port;
    p.prefix = prefix.to_string();
    p.mode = DivisionMode::Database;
    p.tls.sslmode = SslMode::Require;
    p.write_mode = write;
    if write {
        p.pool.max_connections = 8;
        p.pool.acquire_timeout_secs = 600;
        p.pool.statement_timeout_secs = 600;
    }
    Connections::new(p, Some(Secret::new(s.password.clone())))
}

/// Write-mode connections on `prefix` after our migrations of `areas` created and filled the
/// databases' schema.
pub async fn migrated(name: &str, prefix: &str, areas: &[&str]) -> Arc<Connections> {
    let c = conns(name, prefix, true);
    let areas: Vec<String> = areas.iter().map(|a| a.to_string()).collect();
    migrate_areas(&c, &areas).await.unwrap();
    c
}

/// Migrates `areas` (at least catalog, scaffolder, auth and search) under `prefix` and fills
/// them with generated data; returns the write-mode connections and the generator's targets
/// (the caller closes the connections).
pub async fn filled(
    name: &str,
    prefix: &str,
    areas: &[&str],
    opts: &GenerateOptions,
) -> (Arc<Connections>, Targets) {
    let c = conns(name, prefix, true);
    let o = FillOptions::new(areas, opts.clone());
    let filled = fill(&c, &o, &|_| {}).await.unwrap();
    (c, filled.targets)
}

//! Discovery of plugin databases on a real server, with tables from the project's own
//! migrations.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use bsi_core::area::Area;
use bsi_core::connect::Connections;
use bsi_core::discovery::discover;
use bsi_core::profile::{DivisionMode, Profile};
use bsi_core::secrets::Secret;
use bsi_core::tls::SslMode;
use bsi_testkit::shared;

fn migrate(server: &bsi_testkit::PgServer, db: &str, area: &str, schema: Option<&str>) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../migrations")
        .join(area);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for f in files {
        let sql = std::fs::read_to_string(&f).unwrap();
        let sql = match schema {
            Some(s) => format!("SET search_path TO {s}; {sql}"),
            None => sql,
        };
        server.psql(db, &format!("BEGIN; {sql}; COMMIT;"));
    }
}

fn profile(prefix: &str) -> Profile {
    let s = shared();
    let mut p = Profile::new("disc", "localhost", "postgres");
    p.port = s.port;
    p.prefix = prefix.to_string();
    p.tls.sslmode = SslMode::Require;
    p
}

#[tokio::test]
async fn lists_plugin_databases_with_their_areas() {
    let s = shared();
    let prefix = format!("bsidisc{}_", std::process::id());
    for (plugin, area) in [
        ("catalog", "catalog"),
        ("scaffolder", "scaffolder"),
        ("auth", "auth"),
        ("search", "search"),
    ] {
        let db = format!("{prefix}{plugin}");
        s.psql("postgres", &format!("CREATE DATABASE {db}"));
        migrate(s, &db, area, None);
    }
    s.psql("postgres", &format!("CREATE DATABASE {prefix}proxy"));
    s.psql(
        &format!("{prefix}proxy"),
        "CREATE TABLE knex_migrations (id serial primary key, name text)",
    );
    s.psql("postgres", &format!("CREATE DATABASE not{prefix}catalog"));

    let conns = Connections::new(profile(&prefix), Some(Secret::new(s.password.clone())));
    let d = discover(&conns).await.unwrap();
    conns.close().await;
    let names: Vec<_> = d.databases.iter().map(|d| d.database.as_str()).collect();
    assert_eq!(
        names,
        vec![
            format!("{prefix}auth"),
            format!("{prefix}catalog"),
            format!("{prefix}proxy"),
            format!("{prefix}scaffolder"),
            format!("{prefix}search")
        ]
    );
    let by = |plugin: &str| {
        d.databases
            .iter()
            .find(|d| d.plugin.as_deref() == Some(plugin))
            .unwrap()
    };
    assert_eq!(by("catalog").areas, vec![Area::Catalog, Area::Scheduler]);
    assert!(by("scaffolder").areas.contains(&Area::Scaffolder));
    assert!(by("auth").areas.contains(&Area::Auth));
    assert!(by("search").areas.contains(&Area::Search));
    assert!(by("proxy").areas.is_empty());
    assert!(by("proxy").knex_managed);
    assert!(!by("catalog").knex_managed);
    assert!(by("catalog").size_bytes.unwrap() > 1_000_000);
    assert!(by("catalog").tables >= 10);
    assert!(d.server.version.starts_with(|c: char| c.is_ascii_digit()));
}

#[tokio::test]
async fn schema_mode_lists_schemas() {
    let s = shared();
    let db = s.create_database("bsi_schemas_");
    for area in ["catalog", "scaffolder"] {
        s.psql(&db, &format!("CREATE SCHEMA {area}"));
        migrate(s, &db, area, Some(area));
    }
    let mut p = profile("unused_");
    p.mode = DivisionMode::Schema;
    p.database = Some(db.clone());
    let conns = Connections::new(p, Some(Secret::new(s.password.clone())));
    let d = discover(&conns).await.unwrap();
    conns.close().await;
    let found: Vec<_> = d
        .databases
        .iter()
        .map(|d| (d.schema.clone().unwrap(), d.areas.first().copied()))
        .collect();
    assert_eq!(
        found,
        vec![
            ("catalog".to_string(), Some(Area::Catalog)),
            ("scaffolder".to_string(), Some(Area::Scaffolder))
        ]
    );
}

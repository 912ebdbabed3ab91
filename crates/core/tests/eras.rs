//! Eras on a real server: Knex tables filled with migration sets taken from the generated
//! table (`crates/core/src/eras/migrations.tsv`), read through discovery and the overview.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use bsi_core::connect::Connections;
use bsi_core::discovery::discover;
use bsi_core::eras::{self, Verdict};
use bsi_core::profile::Profile;
use bsi_core::secrets::Secret;
use bsi_core::tls::SslMode;
use bsi_testkit::shared;

const CATALOG: &str = "@backstage/plugin-catalog-backend";

/// A published set of a package, read from the generated table: its first and last version
/// and its migration names in order.
#[derive(Debug, Clone)]
struct Published {
    first: String,
    last: String,
    names: Vec<String>,
}

fn published(package: &str, table: &str) -> Vec<Published> {
    let tsv = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/eras/migrations.tsv"),
    )
    .unwrap();
    let rows: Vec<Vec<&str>> = tsv
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split('\t').collect())
        .filter(|f: &Vec<&str>| f[1] == package && f[2] == table)
        .collect();
    let migrations: Vec<&str> = rows
        .iter()
        .filter(|f| f[0] == "migration")
        .map(|f| f[4])
        .collect();
    rows.iter()
        .filter(|f| f[0] == "set")
        .map(|f| {
            let mut names = Vec::new();
            for span in f[9].split(',') {
                let (a, b) = span.split_once('-').unwrap_or((span, span));
                let (a, b) = (a.parse::<usize>().unwrap(), b.parse::<usize>().unwrap());
                names.extend(migrations[a..=b].iter().map(|m| m.to_string()));
            }
            Published {
                first: f[4].to_string(),
                last: f[5].to_string(),
                names,
            }
        })
        .collect()
}

/// A Knex migrations table (and its lock) as Knex creates it, holding `names` (as `.js` files).
fn knex_table(db: &str, table: &str, names: &[String]) {
    let s = shared();
    let mut sql = format!(
        "CREATE TABLE {table} (id serial PRIMARY KEY, name varchar(255), batch integer, \
         migration_time timestamptz); \
         CREATE TABLE {table}_lock (index serial PRIMARY KEY, is_locked integer); \
         INSERT INTO {table}_lock (is_locked) VALUES (0);"
    );
    for n in names {
        sql.push_str(&format!(
            "INSERT INTO {table} (name, batch, migration_time) VALUES ('{n}.js', 1, now());"
        ));
    }
    s.psql(db, &sql);
}

fn profile(prefix: &str) -> Profile {
    let s = shared();
    let mut p = Profile::new("eras", "localhost", "postgres");
    p.port = s.port;
    p.prefix = prefix.to_string();
    p.tls.sslmode = SslMode::Require;
    p
}

#[tokio::test]
async fn names_the_versions_of_each_knex_table() {
    let s = shared();
    let prefix = format!("bsieras{}_", std::process::id());
    let sets = published(CATALOG, "knex_migrations");
    assert!(sets.len() >= 3, "the table has catalog sets: {sets:?}");
    // A set in the middle of the catalog's history, shipped as is.
    let mid = sets.len() / 2;
    let exact = &sets[mid];
    // A partial upgrade: a set, plus only the first of the migrations the next set (one that
    // adds two or more) brings.
    let k = (0..sets.len() - 1)
        .find(|&k| sets[k + 1].names.len() >= sets[k].names.len() + 2)
        .expect("some catalog release adds two migrations at once");
    let added: Vec<String> = sets[k + 1]
        .names
        .iter()
        .filter(|n| !sets[k].names.contains(n))
        .cloned()
        .collect();
    let mut partial = sets[k].names.clone();
    partial.push(added[0].clone());

    let catalog = format!("{prefix}catalog");
    let old_catalog = format!("{prefix}catalog_partial");
    let scaffolder = format!("{prefix}scaffolder");
    for db in [&catalog, &old_catalog, &scaffolder] {
        s.psql("postgres", &format!("CREATE DATABASE {db}"));
    }
    knex_table(&catalog, "knex_migrations", &exact.names);
    let scheduler = ["20210928160613_init", "20240712211735_nullable_next_run"].map(String::from);
    knex_table(
        &catalog,
        "backstage_backend_tasks__knex_migrations",
        &scheduler,
    );
    knex_table(&old_catalog, "knex_migrations", &partial);
    // A scaffolder newer than any known version: every known migration and one after.
    let scaffolder_sets = published("@backstage/plugin-scaffolder-backend", "knex_migrations");
    let mut newer = scaffolder_sets.last().unwrap().names.clone();
    newer.push("29991231000000_from_the_future".into());
    knex_table(&scaffolder, "knex_migrations", &newer);

    let conns = Connections::new(profile(&prefix), Some(Secret::new(s.password.clone())));
    let d = discover(&conns).await.unwrap();
    let (found, errors) = eras::of_discovery(&conns, &d).await;
    let overview = bsi_core::overview::overview(&conns).await.unwrap();
    conns.close().await;
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(overview.eras, found, "the overview carries the same eras");

    let era = |db: &str, table: &str| {
        found
            .iter()
            .find(|e| e.database == db && e.table == table)
            .unwrap_or_else(|| panic!("no era for {db} {table} in {found:?}"))
    };
    // Plugin's own table first within a database.
    let in_catalog = eras::of_database(&found, &catalog, None);
    assert_eq!(in_catalog.len(), 2);
    assert_eq!(in_catalog[0].table, "knex_migrations");

    let e = era(&catalog, "knex_migrations");
    assert_eq!(e.identity.verdict, Verdict::Exact, "{e:?}");
    assert_eq!(e.identity.package.as_deref(), Some(CATALOG));
    assert_eq!(e.applied, exact.names.len());
    assert_eq!(e.newest.as_deref(), exact.names.last().map(String::as_str));
    let range = if exact.first == exact.last {
        format!("catalog-backend {}", exact.first)
    } else {
        format!("catalog-backend {} – {}", exact.first, exact.last)
    };
    assert_eq!(e.identity.summary, range);
    // What newer versions add: the next set's migrations come first, with its first version.
    let next = &sets[mid + 1];
    let first_next = next
        .names
        .iter()
        .find(|n| !exact.names.contains(n))
        .unwrap();
    assert!(
        e.identity
            .next
            .iter()
            .any(|n| &n.name == first_next && n.first_version == next.first),
        "{:?}",
        e.identity.next
    );
    assert_eq!(e.identity.next[0].first_version, next.first);

    // The scheduler's migrations ship in backend-tasks and in backend-defaults.
    let e = era(&catalog, "backstage_backend_tasks__knex_migrations");
    assert_eq!(e.identity.verdict, Verdict::Exact, "{e:?}");
    let packages: Vec<&str> = e
        .identity
        .ranges
        .iter()
        .map(|r| r.package.as_str())
        .collect();
    assert!(
        packages.contains(&"@backstage/backend-tasks"),
        "{packages:?}"
    );
    assert!(
        packages.contains(&"@backstage/backend-defaults"),
        "{packages:?}"
    );

    let e = era(&old_catalog, "knex_migrations");
    assert_eq!(e.identity.verdict, Verdict::Between, "{e:?}");
    assert_eq!(e.identity.missing, added[1..].to_vec());
    assert_eq!(
        e.identity.summary,
        format!(
            "not a published set: between catalog-backend {} and {} ({} migrations of {} missing)",
            sets[k].last,
            sets[k + 1].first,
            added.len() - 1,
            sets[k + 1].first
        )
        .replace("(1 migrations", "(1 migration")
    );

    let e = era(&scaffolder, "knex_migrations");
    assert_eq!(e.identity.verdict, Verdict::Newer, "{e:?}");
    assert_eq!(
        e.identity.unknown,
        vec!["29991231000000_from_the_future".to_string()]
    );
    assert!(
        e.identity
            .summary
            .starts_with("newer than any known scaffolder-backend"),
        "{}",
        e.identity.summary
    );
}

//! `bsi knex` and `bsi migrate` against the harness's real PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use bsi_testkit::shared;
use common::{bsi, text, url};

#[test]
fn knex_status_reports_a_held_lock_and_unlock_needs_write_mode() {
    let s = shared();
    let prefix = format!("bsiknex{}_", std::process::id());
    let db = format!("{prefix}catalog");
    s.psql("postgres", &format!("CREATE DATABASE {db}"));
    s.psql(
        &db,
        "CREATE TABLE knex_migrations (id serial PRIMARY KEY, name varchar(255), batch int, migration_time timestamptz);
         CREATE TABLE knex_migrations_lock (index serial PRIMARY KEY, is_locked int);
         INSERT INTO knex_migrations (name, batch, migration_time) VALUES
           ('20200511113813_init.js', 1, '2026-01-01'), ('20260301000000_generation.js', 2, '2026-03-01');
         INSERT INTO knex_migrations_lock (is_locked) VALUES (1);
         CREATE TABLE backstage_backend_tasks__knex_migrations (id serial PRIMARY KEY, name varchar(255), batch int, migration_time timestamptz);
         CREATE TABLE backstage_backend_tasks__knex_migrations_lock (index serial PRIMARY KEY, is_locked int);
         INSERT INTO backstage_backend_tasks__knex_migrations_lock (is_locked) VALUES (0);",
    );
    let u = url();
    let out = bsi(&["--url", &u, "--prefix", &prefix, "knex", "status", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let tables = v.as_array().unwrap();
    assert_eq!(tables.len(), 2, "{v}");
    let own = tables
        .iter()
        .find(|t| t["table"] == "knex_migrations")
        .unwrap();
    assert_eq!(own["locked"], true);
    assert_eq!(own["applied"], 2);
    assert_eq!(own["newest"], "20260301000000_generation.js");
    assert!(own["hint"].as_str().unwrap().contains("already locked"));
    let tasks = tables
        .iter()
        .find(|t| t["table"] == "backstage_backend_tasks__knex_migrations")
        .unwrap();
    assert_eq!(tasks["locked"], false);

    let out = bsi(&["--url", &u, "--prefix", &prefix, "knex", "status"]);
    assert!(text(&out).contains("HELD"), "{}", text(&out));

    // Read-only: refused, and the lock is still held.
    let out = bsi(&[
        "--url",
        &u,
        "--prefix",
        &prefix,
        "knex",
        "unlock",
        &db,
        "knex_migrations_lock",
        "--yes",
    ]);
    assert_eq!(out.status.code(), Some(8), "{}", text(&out));
    assert!(text(&out).contains("write mode"));
    assert_eq!(
        s.psql(&db, "SELECT is_locked FROM knex_migrations_lock"),
        "1"
    );

    // No confirmation without a terminal.
    let out = bsi(&[
        "--url",
        &u,
        "--write",
        "knex",
        "unlock",
        &db,
        "knex_migrations_lock",
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert_eq!(
        s.psql(&db, "SELECT is_locked FROM knex_migrations_lock"),
        "1"
    );

    let out = bsi(&[
        "--url",
        &u,
        "--write",
        "knex",
        "unlock",
        &db,
        "public.knex_migrations_lock",
        "--yes",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        s.psql(&db, "SELECT is_locked FROM knex_migrations_lock"),
        "0"
    );
}

#[test]
fn migrate_status_plan_apply() {
    let prefix = format!("bsimigcli{}_", std::process::id());
    let u = url();
    let out = bsi(&[
        "--url",
        &u,
        "--prefix",
        &prefix,
        "migrate",
        "apply",
        "--area",
        "search",
        "--create-databases",
    ]);
    assert_eq!(
        out.status.code(),
        Some(8),
        "read-only first: {}",
        text(&out)
    );

    let out = bsi(&[
        "--url", &u, "--prefix", &prefix, "migrate", "plan", "--area", "search",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("CREATE TABLE documents"),
        "{}",
        text(&out)
    );

    let out = bsi(&[
        "--url",
        &u,
        "--prefix",
        &prefix,
        "--write",
        "migrate",
        "apply",
        "--area",
        "search",
        "--create-databases",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("applied search/0001"), "{}", text(&out));

    let out = bsi(&[
        "--url", &u, "--prefix", &prefix, "migrate", "status", "--area", "search", "--json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v[0]["pending"].as_array().unwrap().len(), 0, "{v}");
    assert_eq!(v[0]["database"], format!("{prefix}search"));

    let out = bsi(&[
        "--url", &u, "--prefix", &prefix, "--write", "migrate", "apply", "--area", "search",
    ]);
    assert!(text(&out).contains("Nothing to apply"), "{}", text(&out));
}

//! Our migrations against a real server: faithful to the reference schema, idempotent,
//! transactional, and careful with databases that real Backstage manages.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::Arc;

use bsi_core::ErrorCode;
use bsi_core::connect::Connections;
use bsi_core::migrate::{self, AREAS, ApplyOptions, Migration, Place};
use bsi_core::profile::{DivisionMode, Profile};
use bsi_core::secrets::Secret;
use bsi_core::tls::SslMode;
use bsi_testkit::shared;
use sqlx::Connection;

/// The same catalog query that produced the reference fixtures (fixtures/reference/generate.sh).
const DESCRIBE: &str = r#"
WITH t AS (
  SELECT c.oid, c.relname, n.nspname
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')
    AND c.relname = ANY ($1)
)
SELECT json_object_agg(t.relname, json_build_object(
  'columns', (
    SELECT json_agg(json_build_object(
             'name', a.attname,
             'type', format_type(a.atttypid, a.atttypmod),
             'nullable', NOT a.attnotnull,
             'default', pg_get_expr(ad.adbin, ad.adrelid))
           ORDER BY a.attnum)
    FROM pg_attribute a
    LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
    WHERE a.attrelid = t.oid AND a.attnum > 0 AND NOT a.attisdropped),
  'indexes', (
    SELECT coalesce(json_agg(d ORDER BY d COLLATE "C"), '[]'::json)
    FROM (SELECT replace(i.indexdef, ' ON ' || quote_ident(i.schemaname) || '.', ' ON ') AS d
          FROM pg_indexes i WHERE i.schemaname = t.nspname AND i.tablename = t.relname) x),
  'constraints', (
    SELECT coalesce(json_agg(d ORDER BY d COLLATE "C"), '[]'::json)
    FROM (SELECT co.conname || ': ' || pg_get_constraintdef(co.oid) AS d
          FROM pg_constraint co WHERE co.conrelid = t.oid) y)
))::text
FROM t
"#;

fn reference(area: &str) -> serde_json::Value {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/reference/{area}.json"));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    v["tables"].clone()
}

fn conns_for(
    mode: DivisionMode,
    prefix: &str,
    database: Option<&str>,
    write: bool,
) -> Arc<Connections> {
    let s = shared();
    let mut p = Profile::new("mig", "localhost", "postgres");
    p.port = s.port;
    p.prefix = prefix.to_string();
    p.mode = mode;
    p.database = database.map(str::to_string);
    p.tls.sslmode = SslMode::Require;
    p.write_mode = write;
    Connections::new(p, Some(Secret::new(s.password.clone())))
}

async fn describe(conns: &Connections, place: &Place, tables: Vec<String>) -> serde_json::Value {
    let mut conn = conns
        .connect_once(&conns.plugin_endpoint(&place.area))
        .await
        .unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "SET search_path TO \"{}\"",
        place.schema
    )))
    .execute(&mut conn)
    .await
    .unwrap();
    let text: Option<String> = sqlx::query_scalar(DESCRIBE)
        .bind(&tables)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    serde_json::from_str(&text.unwrap_or_else(|| "{}".into())).unwrap()
}

fn all_areas() -> Vec<String> {
    AREAS.iter().map(|a| a.to_string()).collect()
}

async fn compare_with_reference(conns: &Connections, places: &[Place]) {
    for place in places {
        let expected = reference(&place.area);
        let tables: Vec<String> = expected.as_object().unwrap().keys().cloned().collect();
        let actual = describe(conns, place, tables.clone()).await;
        for t in &tables {
            assert_eq!(
                actual[t], expected[t],
                "{}: table {t} differs from the reference (left: ours, right: reference)",
                place.area
            );
        }
        assert_eq!(
            actual.as_object().unwrap().len(),
            tables.len(),
            "{}",
            place.area
        );
    }
}

#[tokio::test]
async fn migrations_build_the_reference_schema_and_rerun_as_a_no_op() {
    let prefix = format!("bsimig{}_", std::process::id());
    let conns = conns_for(DivisionMode::Database, &prefix, None, true);
    let places = migrate::places(&conns, &all_areas()).unwrap();

    let before = migrate::status(&conns, &places).await.unwrap();
    assert!(
        before
            .iter()
            .all(|s| !s.database_exists && !s.pending.is_empty())
    );
    let plan = migrate::plan(&before);
    assert!(
        plan.iter()
            .any(|m| m.sql.contains("CREATE TABLE") && m.sql.contains("final_entities"))
    );

    let opts = ApplyOptions {
        create_databases: true,
        ..Default::default()
    };
    let applied = migrate::apply(&conns, &places, &opts).await.unwrap();
    let expected: usize = AREAS.iter().map(|a| migrate::migrations(a).len()).sum();
    assert_eq!(applied.len(), expected);

    compare_with_reference(&conns, &places).await;

    // Again: nothing to do.
    assert!(
        migrate::apply(&conns, &places, &opts)
            .await
            .unwrap()
            .is_empty()
    );
    let after = migrate::status(&conns, &places).await.unwrap();
    for st in &after {
        assert!(st.pending.is_empty(), "{st:?}");
        assert!(st.applied.iter().all(|a| a.checksum_matches && a.known));
        assert!(migrate::plan(std::slice::from_ref(st)).is_empty());
    }

    // A changed file shows as a checksum mismatch.
    shared().psql(
        &format!("{prefix}catalog"),
        "UPDATE bsi_migrations SET checksum = 'x' WHERE version = 2",
    );
    let st = migrate::status(&conns, &places[..1]).await.unwrap();
    let mismatched: Vec<_> = st[0].mismatched().map(|m| m.version).collect();
    assert_eq!(mismatched, vec![2]);
    conns.close().await;
}

#[tokio::test]
async fn schema_mode_puts_each_area_in_its_schema() {
    let db = shared().create_database("bsi_migschema_");
    let conns = conns_for(DivisionMode::Schema, "unused_", Some(&db), true);
    let places =
        migrate::places(&conns, &["catalog".to_string(), "scaffolder".to_string()]).unwrap();
    assert_eq!(places[0].schema, "catalog");
    let err = migrate::apply(&conns, &places, &ApplyOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::NotFound, "{err}");
    assert!(err.to_string().contains("--create-databases"));
    migrate::apply(
        &conns,
        &places,
        &ApplyOptions {
            create_databases: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    compare_with_reference(&conns, &places).await;
    assert_eq!(
        shared().psql(
            &db,
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
        ),
        "0"
    );
    conns.close().await;
}

#[tokio::test]
async fn a_broken_migration_leaves_the_database_as_it_was() {
    let db = shared().create_database("bsi_migbroken_");
    let conns = conns_for(DivisionMode::Single, "unused_", Some(&db), true);
    let place = migrate::places(&conns, &["catalog".to_string()])
        .unwrap()
        .remove(0);
    let files = vec![
        Migration::new("catalog", "0001_good.sql", "CREATE TABLE good (id int);"),
        Migration::new(
            "catalog",
            "0002_broken.sql",
            "-- creates a table, then fails\nCREATE TABLE half (id int);\nINSERT INTO good VALUES (1);\nSELECT 1/0;\nCREATE TABLE never (id int);",
        ),
    ];
    let err = migrate::apply_with(&conns, &place, &files, &ApplyOptions::default())
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("catalog/0002_broken.sql"), "{msg}");
    assert!(
        msg.contains("statement 3 of 4") && msg.contains("line 4"),
        "{msg}"
    );
    assert!(msg.contains("division by zero"), "{msg}");
    let s = shared();
    assert_eq!(s.psql(&db, "SELECT to_regclass('half') IS NULL"), "t");
    assert_eq!(s.psql(&db, "SELECT count(*) FROM good"), "0");
    assert_eq!(
        s.psql(
            &db,
            "SELECT string_agg(version::text, ',') FROM bsi_migrations"
        ),
        "1"
    );
    let st = migrate::status_with(&conns, &place, &files).await.unwrap();
    assert_eq!(st.pending.len(), 1);
    conns.close().await;
}

#[tokio::test]
async fn a_database_managed_by_backstage_is_refused_without_force() {
    let s = shared();
    let db = s.create_database("bsi_migknex_");
    // What Knex leaves after Backstage's search plugin ran its migrations.
    s.psql(
        &db,
        "CREATE TABLE knex_migrations (id serial PRIMARY KEY, name varchar(255), batch integer, migration_time timestamptz);
         CREATE TABLE knex_migrations_lock (index serial PRIMARY KEY, is_locked integer);
         INSERT INTO knex_migrations_lock (is_locked) VALUES (0);
         INSERT INTO knex_migrations (name, batch, migration_time) VALUES
           ('20210311110000_init.js', 1, now()), ('20210727180000_delta_update.js', 1, now());
         CREATE TABLE documents (type text NOT NULL, document jsonb NOT NULL, hash bytea NOT NULL);",
    );
    let conns = conns_for(DivisionMode::Single, "unused_", Some(&db), true);
    let places = migrate::places(&conns, &["search".to_string()]).unwrap();
    // Nothing of ours is pending there: it is Backstage's own.
    let st = migrate::status(&conns, &places).await.unwrap();
    assert!(st[0].knex_managed && st[0].backstage_managed, "{st:?}");
    assert!(st[0].pending.is_empty() && st[0].applied.is_empty());
    assert!(migrate::plan(&st).is_empty());
    let err = migrate::apply(&conns, &places, &ApplyOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Config, "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("managed by Backstage's own migrations")
            && msg.contains("bsi knex status")
            && msg.contains("--force"),
        "{msg}"
    );
    assert_eq!(
        s.psql(&db, "SELECT to_regclass('bsi_migrations') IS NULL"),
        "t"
    );
    s.psql(&db, "DROP TABLE documents");
    assert_eq!(s.psql(&db, "SELECT to_regclass('documents') IS NULL"), "t");
    let done = migrate::apply(
        &conns,
        &places,
        &ApplyOptions {
            force: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(!done.is_empty());
    assert_eq!(s.psql(&db, "SELECT to_regclass('documents') IS NULL"), "f");
    // Now that ours ran there (forced), its status is ours again.
    let st = migrate::status(&conns, &places).await.unwrap();
    assert!(st[0].knex_managed && !st[0].backstage_managed, "{st:?}");
    assert_eq!(st[0].applied.len(), done.len());
    conns.close().await;
}

#[tokio::test]
async fn a_read_only_profile_is_refused_and_nothing_is_written() {
    let s = shared();
    let db = s.create_database("bsi_migro_");
    let conns = conns_for(DivisionMode::Single, "unused_", Some(&db), false);
    let places = migrate::places(&conns, &["auth".to_string()]).unwrap();
    let err = migrate::apply(&conns, &places, &ApplyOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::ReadOnly, "{err}");
    assert!(err.to_string().contains("write mode"), "{err}");
    assert_eq!(
        s.psql(
            &db,
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
        ),
        "0"
    );
    // Status works read-only.
    let st = migrate::status(&conns, &places).await.unwrap();
    assert!(st[0].database_exists && st[0].applied.is_empty());
    conns.close().await;
}

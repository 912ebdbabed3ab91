//! `bsi installations`, the note of `bsi databases` on other installations, and `bsi migrate`
//! on a database made by Backstage's own migrations, against the harness's real PostgreSQL.
//! The command lines the notes print are run as printed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::{Command, Output, Stdio};

use bsi_testkit::shared;
use common::{bsi, text, url};

/// Runs a printed `bsi ...` command line through the shell, as a person pasting it would.
fn paste(line: &str) -> Output {
    let rest = line.strip_prefix("bsi ").expect("a bsi command line");
    let config = tempfile::tempdir().unwrap();
    Command::new("sh")
        .arg("-c")
        .arg(format!("\"$BSI\" {rest}"))
        .env("BSI", env!("CARGO_BIN_EXE_bsi"))
        .env("BSI_CONFIG_DIR", config.path())
        .env("PGPASSWORD", &shared().password)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// The line of `out` that starts (after blanks) with `bsi `.
fn command_line(out: &str) -> String {
    out.lines()
        .map(str::trim)
        .find(|l| l.starts_with("bsi "))
        .unwrap_or_else(|| panic!("no command line in: {out}"))
        .to_string()
}

fn migrate(prefix: &str, areas: &[&str]) {
    let u = url();
    let mut args = vec![
        "--url",
        &u,
        "--prefix",
        prefix,
        "--write",
        "migrate",
        "apply",
        "--create-databases",
    ];
    for a in areas {
        args.extend(["--area", a]);
    }
    let out = bsi(&args);
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn installations_are_listed_and_the_others_named_with_a_command_that_works() {
    let s = shared();
    let tag = format!("bsicliinst{}_", std::process::id());
    let (main, staging, prod) = (
        format!("{tag}plugin_"),
        format!("{tag}acme_staging_"),
        format!("{tag}acme_prod_"),
    );
    migrate(&main, &["catalog", "scaffolder"]);
    migrate(&staging, &["catalog", "scaffolder", "auth"]);
    migrate(&prod, &["catalog"]);
    s.psql("postgres", &format!("CREATE DATABASE {tag}warehouse"));
    s.psql(&format!("{tag}warehouse"), "CREATE TABLE tasks (id int)");
    let u = url();

    let out = bsi(&["--url", &u, "--prefix", &main, "installations", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let list = v["installations"].as_array().unwrap();
    let ours: Vec<&serde_json::Value> = list
        .iter()
        .filter(|i| i["prefix"].as_str().unwrap().starts_with(&tag))
        .collect();
    let prefixes: Vec<&str> = ours.iter().map(|i| i["prefix"].as_str().unwrap()).collect();
    assert_eq!(
        prefixes,
        [prod.as_str(), staging.as_str(), main.as_str()],
        "{v}"
    );
    let plugins = |i: &serde_json::Value| -> Vec<String> {
        i["plugins"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["plugin"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(plugins(ours[1]), ["auth", "catalog", "scaffolder"]);
    assert_eq!(ours[2]["current"], true);
    assert_eq!(ours[1]["current"], false);
    assert_eq!(ours[2]["mode"], "database");
    assert!(ours.iter().all(|i| i["size_bytes"].as_i64().unwrap() > 0));
    assert!(!v.to_string().contains("warehouse"), "not Backstage: {v}");

    let out = bsi(&["--url", &u, "--prefix", &main, "installations"]);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains(&format!("{main} *")), "{t}");
    assert!(
        t.contains(&format!(
            "{staging}auth, {staging}catalog, {staging}scaffolder"
        )),
        "{t}"
    );

    // The profile finds its installation: no note.
    let out = bsi(&["--url", &u, "--prefix", &main, "databases"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        !text(&out).contains("installations on this server"),
        "{}",
        text(&out)
    );

    // A prefix that finds nothing: the others are named, with a command line that works.
    let out = bsi(&[
        "--url",
        &u,
        "--prefix",
        &format!("{tag}nothing_"),
        "databases",
    ]);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(
        t.contains("Backstage installations on this server: "),
        "{t}"
    );
    assert!(t.contains(&format!("{staging} (3 plugins)")), "{t}");
    assert!(t.contains(&format!("{main} (2 plugins)")), "{t}");
    assert!(t.contains(&format!("{prod} (1 plugin)")), "{t}");
    // The largest first.
    assert!(t.contains(&format!("use --prefix {staging}")), "{t}");
    let line = command_line(&t);
    assert_eq!(
        line,
        format!("bsi --url '{u}' --prefix {staging} databases")
    );
    let pasted = paste(&line);
    assert!(pasted.status.success(), "{}", text(&pasted));
    assert!(
        text(&pasted).contains(&format!("{staging}auth")),
        "{}",
        text(&pasted)
    );
    assert!(!text(&pasted).contains("installations on this server"));
}

#[test]
fn migrate_leaves_a_database_made_by_backstage_to_knex() {
    let s = shared();
    let prefix = format!("bsiclibs{}_", std::process::id());
    let db = format!("{prefix}search");
    s.psql("postgres", &format!("CREATE DATABASE {db}"));
    s.psql(
        &db,
        "CREATE TABLE knex_migrations (id serial PRIMARY KEY, name varchar(255), batch integer, migration_time timestamptz);
         CREATE TABLE knex_migrations_lock (index serial PRIMARY KEY, is_locked integer);
         INSERT INTO knex_migrations_lock (is_locked) VALUES (0);
         INSERT INTO knex_migrations (name, batch, migration_time) VALUES ('20210311110000_init.js', 1, now());
         CREATE TABLE documents (type text NOT NULL, document jsonb NOT NULL, hash bytea NOT NULL);",
    );
    let u = url();
    let out = bsi(&[
        "--url", &u, "--prefix", &prefix, "migrate", "status", "--area", "search",
    ]);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("managed by Backstage's own migrations"), "{t}");
    assert!(t.contains("Backstage's own)"), "the pending column: {t}");
    let line = command_line(&t);
    assert_eq!(
        line,
        format!("bsi --url '{u}' --prefix {prefix} knex status")
    );
    let pasted = paste(&line);
    assert!(pasted.status.success(), "{}", text(&pasted));
    assert!(
        text(&pasted).contains("20210311110000_init.js"),
        "{}",
        text(&pasted)
    );

    let out = bsi(&[
        "--url", &u, "--prefix", &prefix, "migrate", "status", "--area", "search", "--json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v[0]["backstage_managed"], true);
    assert_eq!(v[0]["pending"].as_array().unwrap().len(), 0);

    let out = bsi(&[
        "--url", &u, "--prefix", &prefix, "migrate", "plan", "--area", "search",
    ]);
    let t = text(&out);
    assert!(
        t.contains("Nothing to apply") && t.contains("managed by Backstage"),
        "{t}"
    );
    assert!(!t.contains("CREATE TABLE"), "{t}");

    let out = bsi(&[
        "--url", &u, "--prefix", &prefix, "--write", "migrate", "apply", "--area", "search",
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let t = text(&out);
    assert!(
        t.contains(&format!("--prefix {prefix} knex status`")) && t.contains("`bsi --url "),
        "{t}"
    );
    assert_eq!(
        s.psql(&db, "SELECT to_regclass('bsi_migrations') IS NULL"),
        "t"
    );
}

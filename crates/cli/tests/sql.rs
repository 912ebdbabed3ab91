//! `bsi sql` on databases real Backstage backends wrote (the `current` fixtures, and a private
//! restore of 2022-08 for the one test that commits), over TLS: results checked against psql,
//! every output format, masking of `tasks.secrets`, read-only enforcement, the write
//! confirmation and commit, a failing statement's exit code, EXPLAIN, recipes, Ctrl-C cancelling
//! on the server, and a closed pipe.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bsi_testkit::backstage::{restore, shared_installation};
use bsi_testkit::shared;
use common::{bsi, text, url};
use serde_json::Value;

fn prefix() -> String {
    shared_installation("current")
}

fn command(prefix: &str, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_bsi"));
    c.args(["--url", &url(), "--prefix", prefix])
        .args(args)
        .env("BSI_CONFIG_DIR", tempfile::tempdir().unwrap().keep())
        .env("PGPASSWORD", &shared().password)
        .env_remove("RUST_LOG")
        .env_remove("BSI_PROFILE");
    c
}

fn run(args: &[&str]) -> std::process::Output {
    let p = prefix();
    let u = url();
    let mut all = vec!["--url", u.as_str(), "--prefix", p.as_str()];
    all.extend(args.iter().copied());
    bsi(&all)
}

fn psql(plugin: &str, sql: &str) -> String {
    shared()
        .psql(&format!("{}{plugin}", prefix()), sql)
        .trim()
        .to_string()
}

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn statements_print_their_rows_tags_and_counts() {
    let n = psql("catalog", "SELECT count(*) FROM final_entities");
    let refs = psql(
        "catalog",
        "SELECT string_agg(entity_ref, ',' ORDER BY entity_ref) FROM \
         (SELECT entity_ref FROM refresh_state ORDER BY entity_ref LIMIT 3) r",
    );
    let out = run(&[
        "sql",
        "--area",
        "catalog",
        "SELECT count(*) AS n FROM final_entities;\n\
         SELECT entity_ref FROM refresh_state ORDER BY entity_ref LIMIT 3",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let s = stdout(&out);
    assert!(s.contains("-- line 1: SELECT 1"), "{s}");
    assert!(s.contains("-- line 2: SELECT 3"), "{s}");
    assert!(s.lines().any(|l| l.trim() == n), "{s}");
    for r in refs.split(',') {
        assert!(s.contains(r), "{r} in {s}");
    }
    assert!(s.contains("(3 rows)"), "{s}");
}

#[test]
fn sql_from_stdin_prints_csv_tsv_markdown_and_json_rows() {
    let want = psql(
        "scaffolder",
        "SELECT string_agg(id || ',' || status, E'\\n' ORDER BY created_at, id) FROM tasks",
    );
    let sql = "SELECT id, status FROM tasks ORDER BY created_at, id";
    let with_stdin = |args: &[&str]| {
        let mut child = command(&prefix(), args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(sql.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let csv = with_stdin(&["sql", "--area", "scaffolder", "--format", "csv"]);
    assert_eq!(csv.status.code(), Some(0), "{}", text(&csv));
    assert_eq!(
        stdout(&csv),
        format!("id,status\r\n{}\r\n", want.replace('\n', "\r\n"))
    );
    let tsv = with_stdin(&["sql", "--area", "scaffolder", "--format", "tsv"]);
    assert_eq!(
        stdout(&tsv),
        format!("id\tstatus\n{}\n", want.replace(',', "\t"))
    );
    let md = with_stdin(&["sql", "--area", "scaffolder", "--format", "markdown"]);
    assert!(stdout(&md).starts_with("| id | status |\n| --- | --- |\n"));
    assert_eq!(stdout(&md).lines().count(), want.lines().count() + 2);
    let json = with_stdin(&["sql", "--area", "scaffolder", "--format", "json"]);
    let rows: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), want.lines().count());
    assert_eq!(
        rows[0]["status"].as_str().unwrap(),
        want.lines().next().unwrap().split(',').nth(1).unwrap()
    );
    let bad = run(&["sql", "--area", "catalog", "--format", "yaml", "SELECT 1"]);
    assert_eq!(bad.status.code(), Some(3), "{}", text(&bad));
    assert!(text(&bad).contains("table, csv, tsv, json or markdown"));
}

#[test]
fn task_secrets_are_masked_under_any_alias_in_every_format() {
    let raw = psql(
        "scaffolder",
        "SELECT secrets FROM tasks WHERE secrets IS NOT NULL ORDER BY id LIMIT 1",
    );
    let raw_value: Value = serde_json::from_str(&raw).unwrap();
    let values: Vec<String> = raw_value
        .as_object()
        .unwrap()
        .values()
        .filter_map(|v| v.as_str().map(str::to_string))
        .filter(|v| v.len() > 8)
        .collect();
    assert!(!values.is_empty());
    let sql =
        "SELECT id, secrets AS harmless, secrets::jsonb AS j FROM tasks WHERE secrets IS NOT NULL";
    for format in ["table", "csv", "json", "markdown"] {
        let out = run(&["sql", "--area", "scaffolder", "--format", format, sql]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        let all = text(&out);
        for v in &values {
            assert!(
                !all.contains(v.as_str()),
                "{format}: a secret leaked: {all}"
            );
        }
    }
    let out = run(&["--json", "sql", "--area", "scaffolder", sql]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let cols = &v["statements"][0]["columns"];
    assert_eq!(cols[1]["masked"], true, "{cols}");
    assert_eq!(cols[1]["table"], "tasks");
}

#[test]
fn a_write_without_write_mode_is_refused_and_nothing_changes() {
    let before = psql("catalog", "SELECT count(*) FROM relations");
    let out = run(&["sql", "--area", "catalog", "DELETE FROM relations"]);
    assert_eq!(out.status.code(), Some(8), "{}", text(&out));
    assert!(
        text(&out).contains("writes to the database"),
        "{}",
        text(&out)
    );
    // A write the console's keyword reading misses is refused by the server.
    let out = run(&[
        "sql",
        "--area",
        "catalog",
        "SELECT 1; SELECT set_config('x.y', 'z', false); WITH d AS (SELECT 1) SELECT * FROM d",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(psql("catalog", "SELECT count(*) FROM relations"), before);
}

#[test]
fn a_failing_statement_stops_the_run_with_its_exit_code() {
    let out = run(&[
        "sql",
        "--area",
        "catalog",
        "SELECT 41 + 1 AS answer;\nSELECT * FROM no_such_table;\nSELECT 'never' AS x",
    ]);
    assert_eq!(out.status.code(), Some(10), "{}", text(&out));
    let s = stdout(&out);
    assert!(s.contains("42"), "{s}");
    assert!(!s.contains("never"), "{s}");
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        e.contains("statement 2 failed") && e.contains("no_such_table"),
        "{e}"
    );
    let out = run(&["sql", "--area", "catalog", "COMMIT"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains("one transaction of its own"));
}

#[test]
fn writes_need_the_database_name_and_commit_only_when_asked() {
    // A private restore: this test commits.
    let p = format!("sqlw{}_", std::process::id());
    restore(shared(), "2022-08", &p);
    let db = format!("{p}scaffolder");
    let locked = || {
        shared()
            .psql(&db, "SELECT is_locked FROM knex_migrations_lock")
            .trim()
            .to_string()
    };
    assert_eq!(locked(), "1");
    let unlock = "UPDATE knex_migrations_lock SET is_locked = 0";
    let go = |args: &[&str]| command(&p, args).stdin(Stdio::null()).output().unwrap();
    let out = go(&["--write", "sql", "--area", "scaffolder", unlock]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let hint = text(&out);
    assert!(hint.contains(&format!("--confirm {db}")), "{hint}");
    assert!(
        hint.contains("bsi --url"),
        "the hint is a whole command: {hint}"
    );
    let out = go(&[
        "--write",
        "sql",
        "--area",
        "scaffolder",
        "--confirm",
        "wrong",
        unlock,
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert_eq!(locked(), "1");
    let out = go(&[
        "--write",
        "sql",
        "--area",
        "scaffolder",
        "--confirm",
        &db,
        unlock,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        stdout(&out).contains("Rolled back: 1 row(s) affected"),
        "{}",
        text(&out)
    );
    assert!(stdout(&out).contains("--commit"), "{}", text(&out));
    assert_eq!(locked(), "1");
    let out = go(&[
        "--write",
        "sql",
        "--area",
        "scaffolder",
        "--confirm",
        &db,
        "--commit",
        unlock,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(stdout(&out).contains(&format!("Committed: 1 row(s) affected in {db}")));
    assert_eq!(locked(), "0");
}

#[test]
fn explain_prints_a_tree_and_refuses_to_analyze_a_write() {
    let out = run(&[
        "sql",
        "--area",
        "catalog",
        "--explain",
        "--analyze",
        "SELECT type, count(*) FROM relations GROUP BY type",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let s = stdout(&out);
    assert!(s.contains("Seq Scan on relations"), "{s}");
    assert_eq!(s.matches("◀ slowest").count(), 1, "{s}");
    assert!(
        s.contains("actual time=") && s.contains("Execution time:"),
        "{s}"
    );
    let out = run(&[
        "sql",
        "--area",
        "catalog",
        "--explain",
        "--analyze",
        "DELETE FROM relations",
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains("may write"));
}

#[test]
fn recipes_are_listed_and_run_with_parameters() {
    let out = run(&["sql", "--recipes"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    for id in bsi_core::console::recipes::all().map(|r| r.id) {
        assert!(stdout(&out).contains(id), "{id}");
    }
    let out = run(&[
        "--json",
        "sql",
        "--recipe",
        "entities-with-errors",
        "--param",
        "kind=component",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let got: Vec<&str> = v["statements"][0]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[0].as_str().unwrap())
        .collect();
    let want = psql(
        "catalog",
        "SELECT string_agg(entity_ref, ',' ORDER BY entity_ref) FROM refresh_state \
         WHERE errors NOT IN ('', '[]') AND entity_ref LIKE 'component:%'",
    );
    assert_eq!(got.join(","), want);
    let out = run(&["sql", "--recipe", "no-such"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(text(&out).contains("knex-state"));
    let out = run(&["sql", "--recipe", "stuck-tasks", "--param", "minutes"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(text(&out).contains("NAME=VALUE"));
}

#[test]
fn ctrl_c_cancels_the_statement_on_the_server() {
    let child = command(
        &prefix(),
        &[
            "sql",
            "--area",
            "catalog",
            "SELECT pg_sleep(60), 'bsi-sleep'",
        ],
    )
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let running = "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(60), ''bsi-sleep''%' \
                   AND pid <> pg_backend_pid()";
    let started = Instant::now();
    while shared().psql("postgres", running).trim() != "1" {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the query never started"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", text(&out));
    assert!(
        text(&out).contains("Cancelled: 1 running statement"),
        "{}",
        text(&out)
    );
    assert!(started.elapsed() < Duration::from_secs(30));
    assert_eq!(shared().psql("postgres", running).trim(), "0");
}

#[test]
fn a_reader_that_stops_reading_ends_the_run_quietly() {
    let mut child = command(
        &prefix(),
        &[
            "sql",
            "--area",
            "catalog",
            "--max-rows",
            "200000",
            "--format",
            "csv",
            "SELECT g, repeat('x', 100) FROM generate_series(1, 200000) g",
        ],
    )
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.starts_with("g,repeat"), "{first}");
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(out.stderr.is_empty(), "{}", text(&out));
}

//! How `bsi` prints and reads its arguments: a closed pipe ends the run quietly, a full disk is
//! a file error, data never reaches the terminal as control sequences, the README's
//! `--app-config` form works, `bsi keyring` says when the keyring is unusable, and
//! `bsi demo --reset/--stop` refuse connection options, and a bug is exit code 1. Against the
//! harness's PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use bsi_testkit::shared;
use common::{bsi, prepare, text, url};

/// `bsi` with the harness's password, its standard output given by `stdout`.
fn bsi_to(args: &[&str], stdout: Stdio) -> Output {
    let config = tempfile::tempdir().unwrap();
    Command::new(env!("CARGO_BIN_EXE_bsi"))
        .args(args)
        .env("BSI_CONFIG_DIR", config.path())
        .env("PGPASSWORD", &shared().password)
        .env_remove("RUST_LOG")
        .env_remove("BSI_PROFILE")
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

/// `bsi` whose standard output is a pipe nobody reads: the read end is closed before it
/// prints, so every write fails with a broken pipe.
fn bsi_closed_pipe(args: &[&str]) -> Output {
    let config = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_bsi"))
        .args(args)
        .env("BSI_CONFIG_DIR", config.path())
        .env("PGPASSWORD", &shared().password)
        .env_remove("RUST_LOG")
        .env_remove("BSI_PROFILE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    child.wait_with_output().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn closed_pipes_end_quietly_and_full_disks_are_file_errors() {
    let prefix = format!("bsipipe{}_", std::process::id());
    prepare(&prefix, &["catalog"], 100, 7).await;
    let u = url();
    let base = ["--url", u.as_str(), "--prefix", prefix.as_str()];
    let with = |more: &[&str]| -> Vec<String> {
        base.iter()
            .chain(more)
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
    };
    let entity = shared()
        .psql(
            &format!("{prefix}catalog"),
            "SELECT min(entity_ref) FROM final_entities",
        )
        .trim()
        .to_string();
    let commands: Vec<Vec<String>> = vec![
        with(&["entities", "--limit", "1000"]),
        with(&["entities", "--limit", "1000", "--json"]),
        with(&["entity", &entity]),
        with(&["entity", &entity, "--yaml"]),
        with(&["databases"]),
    ];
    for args in &commands {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = bsi_closed_pipe(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
        assert!(err.is_empty(), "{args:?} printed on stderr: {err}");

        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let out = bsi_to(&args, Stdio::from(full));
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(11), "{args:?}: {err}");
        assert!(
            err.contains("stdout") && err.contains("No space left on device"),
            "{args:?}: {err}"
        );
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }

    // As a shell runs them: a table, and streamed exports in each format, cut short by `head`.
    for (cmd, cut, lines) in [
        ("entities --limit 1000", "head -1", Some(1)),
        ("export entities --format json", "head -c 400", None),
        ("export entities --format csv", "head -c 400", None),
        (
            "export table --area catalog final_entities",
            "head -2",
            Some(2),
        ),
    ] {
        let line = format!(
            "set -o pipefail; '{}' --url '{u}' --prefix '{prefix}' {cmd} | {cut}",
            env!("CARGO_BIN_EXE_bsi")
        );
        let out = Command::new("bash")
            .args(["-c", &line])
            .env("PGPASSWORD", &shared().password)
            .env("BSI_CONFIG_DIR", tempfile::tempdir().unwrap().path())
            .env_remove("RUST_LOG")
            .env_remove("BSI_PROFILE")
            .output()
            .unwrap();
        assert!(out.status.success(), "{cmd} | {cut}: {}", text(&out));
        match lines {
            Some(n) => assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), n),
            None => assert_eq!(out.stdout.len(), 400, "{cmd} | {cut}"),
        }
        assert!(out.stderr.is_empty(), "{cmd} | {cut}: {}", text(&out));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn control_sequences_in_data_are_printed_escaped_and_json_stays_exact() {
    let s = shared();
    let prefix = format!("bsiesc{}_", std::process::id());
    prepare(&prefix, &["catalog"], 100, 7).await;
    let u = url();
    let db = format!("{prefix}catalog");
    let entity = s
        .psql(
            &db,
            "SELECT min(entity_ref) FROM final_entities WHERE final_entity::jsonb ? 'spec'",
        )
        .trim()
        .to_string();
    s.psql(
        &db,
        &format!(
            "UPDATE final_entities SET final_entity = \
               jsonb_set(jsonb_set(jsonb_set(jsonb_set(final_entity::jsonb, \
                 '{{metadata,title}}', to_jsonb(text E'T\\033[2J')), \
                 '{{metadata,description}}', to_jsonb(text E'D\\033]0;pwned\\007 \\033[2J\\r' || chr(155))), \
                 '{{spec,lifecycle}}', to_jsonb(text E'L\\033[2J')), \
                 '{{spec,owner}}', to_jsonb(text E'O\\033]0;pwned\\007'))::text \
             WHERE entity_ref = '{entity}'"
        ),
    );
    let is_control = |c: char| c.is_control() && c != '\n' && c != '\t';

    let out = bsi(&[
        "--url", &u, "--prefix", &prefix, "entities", "--limit", "1000",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let t = String::from_utf8(out.stdout.clone()).unwrap();
    assert!(!out.stdout.contains(&0x1b), "ESC in the table:\n{t}");
    assert!(!t.chars().any(is_control), "{t:?}");
    let row = t.lines().find(|l| l.contains(&entity)).unwrap();
    assert!(row.contains("L\\u{1b}[2J"), "{row}");
    assert!(row.contains("O\\u{1b}]0;pwned\\u{7}"), "{row}");

    for yaml in [false, true] {
        let mut args = vec!["--url", &u, "--prefix", &prefix, "entity", &entity];
        if yaml {
            args.push("--yaml");
        }
        let out = bsi(&args);
        assert!(out.status.success(), "{}", text(&out));
        let t = String::from_utf8(out.stdout.clone()).unwrap();
        assert!(!out.stdout.contains(&0x1b), "ESC in the entity:\n{t}");
        assert!(!t.chars().any(is_control), "{t:?}");
        if !yaml {
            assert!(t.contains("title: T\\u{1b}[2J"), "{t}");
            assert!(t.contains("D\\u{1b}]0;pwned\\u{7}"), "{t}");
        }
    }

    let out = bsi(&[
        "--url", &u, "--prefix", &prefix, "--json", "entity", &entity,
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["entity"]["metadata"]["title"], "T\u{1b}[2J", "{v}");
    assert_eq!(
        v["entity"]["metadata"]["description"],
        "D\u{1b}]0;pwned\u{7} \u{1b}[2J\r\u{9b}"
    );
    let out = bsi(&[
        "--url", &u, "--prefix", &prefix, "--json", "entities", "--limit", "1000",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let item = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["entity_ref"] == entity.as_str())
        .unwrap();
    assert_eq!(item["lifecycle"], "L\u{1b}[2J", "{item}");
    assert_eq!(item["owner"], "O\u{1b}]0;pwned\u{7}", "{item}");
}

/// One bad row never fails a listing: an entity stored as something other than JSON is listed
/// and named in a note with the reason, the others print as usual; an entity that was never
/// stitched is shown from `refresh_state`, and the output says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreadable_entities_are_named_and_the_fallback_is_said() {
    let s = shared();
    let prefix = format!("bsibad{}_", std::process::id());
    prepare(&prefix, &["catalog"], 100, 11).await;
    let u = url();
    let db = format!("{prefix}catalog");
    let refs = s.psql(
        &db,
        "SELECT entity_ref FROM final_entities WHERE entity_ref LIKE 'component:%' ORDER BY 1 LIMIT 2",
    );
    let (bad, unstitched) = refs.split_once('\n').expect("two components");
    s.psql(
        &db,
        &format!(
            "UPDATE final_entities SET final_entity = '{{not json' WHERE entity_ref = '{bad}'"
        ),
    );
    s.psql(
        &db,
        &format!("DELETE FROM final_entities WHERE entity_ref = '{unstitched}'"),
    );
    let listed: usize = s
        .psql(&db, "SELECT count(*) FROM final_entities")
        .trim()
        .parse()
        .unwrap();

    let out = bsi(&[
        "--url", &u, "--prefix", &prefix, "entities", "--limit", "1000",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let t = String::from_utf8(out.stdout).unwrap();
    let note = format!("note: {bad}: the stored entity is not valid JSON");
    assert!(t.contains(&note), "{t}");
    // Every stitched entity is a row, the unreadable one too.
    let rows = t
        .lines()
        .filter(|l| {
            l.starts_with(|c: char| c.is_ascii_lowercase())
                && l.contains(':')
                && !l.starts_with("note:")
        })
        .filter(|l| l.split_whitespace().next().is_some_and(|r| r.contains('/')))
        .count();
    assert_eq!(rows, listed, "{t}");

    let out = bsi(&["--url", &u, "--prefix", &prefix, "entity", unstitched]);
    assert!(out.status.success(), "{}", text(&out));
    let t = String::from_utf8(out.stdout).unwrap();
    assert!(
        t.contains("shown from: refresh_state.processed_entity (not stitched)"),
        "{t}"
    );
}

#[test]
fn app_config_files_run_up_to_the_command_as_the_readme_writes_them() {
    let s = shared();
    let prefix = format!("bsiacf{}_", std::process::id());
    s.psql("postgres", &format!("CREATE DATABASE {prefix}catalog"));
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.yaml");
    let b = dir.path().join("b.yaml");
    std::fs::write(
        &a,
        "backend:\n  database:\n    client: pg\n    prefix: nothing_here_\n    connection:\n      host: localhost\n      port: 5432\n      user: postgres\n      ssl:\n        rejectUnauthorized: false\n",
    )
    .unwrap();
    std::fs::write(
        &b,
        format!(
            "backend:\n  database:\n    prefix: {prefix}\n    connection:\n      port: {}\n",
            s.port
        ),
    )
    .unwrap();
    let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());
    // bsi --app-config a.yaml b.yaml databases
    let out = bsi(&["--app-config", a, b, "databases", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["databases"][0]["database"],
        format!("{prefix}catalog"),
        "{v}"
    );
    // After the command, and ended by an option.
    let out = bsi(&["databases", "--app-config", a, b, "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["databases"][0]["database"],
        format!("{prefix}catalog"),
        "{v}"
    );
    // Repeated, as before.
    let out = bsi(&["--app-config", a, "--app-config", b, "databases", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    // Only the first file: its port 5432, where no server listens.
    let out = bsi(&["--app-config", a, "databases"]);
    assert_eq!(out.status.code(), Some(7), "{}", text(&out));
    assert!(text(&out).contains(":5432"), "{}", text(&out));
}

#[test]
fn keyring_exits_9_when_the_keyring_is_unusable() {
    let config = tempfile::tempdir().unwrap();
    let run = |json: bool| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_bsi"));
        c.arg("keyring")
            .env("BSI_CONFIG_DIR", config.path())
            .env(
                "DBUS_SESSION_BUS_ADDRESS",
                "unix:path=/nonexistent/bsi-no-bus",
            )
            .env_remove("RUST_LOG")
            .stdin(Stdio::null());
        if json {
            c.arg("--json");
        }
        c.output().unwrap()
    };
    let out = run(false);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(9), "{t}");
    assert!(t.contains("NOT usable"), "{t}");
    assert!(t.contains("Secret Service"), "says what to do: {t}");
    let out = run(true);
    assert_eq!(out.status.code(), Some(9), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["available"], false, "{v}");
    assert!(
        v["hint"].as_str().unwrap().contains("Secret Service"),
        "{v}"
    );
}

#[test]
fn demo_reset_and_stop_refuse_connection_options() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    for action in ["--reset", "--stop"] {
        for opts in [
            vec!["--url", "postgresql://elsewhere/db"],
            vec!["--prefix", "other_"],
            vec!["--profile", "prod"],
            vec!["--app-config", "app-config.yaml"],
        ] {
            let mut args = opts.clone();
            args.extend(["demo", action, "--dir", d, "--no-open"]);
            let out = bsi(&args);
            let t = text(&out);
            assert_eq!(out.status.code(), Some(2), "{args:?}: {t}");
            assert!(t.contains("own local PostgreSQL server"), "{t}");
            assert!(t.contains(opts[0]), "{t}");
            // After the subcommand too.
            let mut args = vec!["demo", action, "--dir", d];
            args.extend(&opts);
            let out = bsi(&args);
            assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        }
    }
    // BSI_PROFILE in the environment is not a conflict: `--stop` on a demo that never ran.
    let out = Command::new(env!("CARGO_BIN_EXE_bsi"))
        .args(["demo", "--stop", "--dir", d])
        .env("BSI_PROFILE", "prod")
        .env("BSI_CONFIG_DIR", dir.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(Path::new(d).exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_next_page_hint_is_a_command_that_pastes_as_is() {
    let prefix = format!("bsimore{}_", std::process::id());
    prepare(&prefix, &["catalog"], 60, 3).await;
    let u = url();
    let out = bsi(&["--url", &u, "--prefix", &prefix, "entities", "--limit", "5"]);
    assert!(out.status.success(), "{}", text(&out));
    let first = String::from_utf8_lossy(&out.stdout).to_string();
    let line = first
        .lines()
        .find_map(|l| l.strip_prefix("More: "))
        .unwrap_or_else(|| panic!("no More: line in\n{first}"))
        .to_string();
    assert!(
        line.starts_with(&format!(
            "bsi --url '{u}' --prefix {prefix} entities --limit 5 --cursor "
        )),
        "{line}"
    );
    // Pasted into a shell, as is: the next page.
    let bin = Path::new(env!("CARGO_BIN_EXE_bsi")).parent().unwrap();
    let config = tempfile::tempdir().unwrap();
    let out = Command::new("bash")
        .args(["-c", &line])
        .env(
            "PATH",
            format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
        )
        .env("BSI_CONFIG_DIR", config.path())
        .env("PGPASSWORD", &shared().password)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let second = String::from_utf8_lossy(&out.stdout).to_string();
    let refs = |t: &str| -> Vec<String> {
        t.lines()
            .filter(|l| l.contains(':') && l.contains('/') && !l.starts_with("More"))
            .map(|l| l.split_whitespace().next().unwrap_or_default().to_string())
            .collect()
    };
    let (a, b) = (refs(&first), refs(&second));
    assert_eq!(b.len(), 5, "{second}");
    assert!(
        a.iter().all(|r| !b.contains(r)),
        "the same rows twice:\n{first}\n{second}"
    );
}

/// Exit code 1: a bug (a panic, reached in debug builds through `BSI_TEST_PANIC`) is reported
/// as an internal error in the run's format, never as Rust's panic message and exit code 101.
#[test]
fn a_panic_is_an_internal_error_with_exit_code_1() {
    for json in [false, true] {
        let mut c = Command::new(env!("CARGO_BIN_EXE_bsi"));
        c.args(["profile", "list"])
            .env("BSI_TEST_PANIC", "1")
            .env("BSI_CONFIG_DIR", tempfile::tempdir().unwrap().path())
            .env_remove("RUST_BACKTRACE")
            .stdin(Stdio::null());
        if json {
            c.arg("--json");
        }
        let out = c.output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        assert!(
            err.starts_with("error[internal]: internal error: BSI_TEST_PANIC is set at "),
            "{err}"
        );
        assert!(
            err.contains("This is a bug in bsi") && err.contains("bsi --version"),
            "{err}"
        );
        assert!(!err.contains("panicked at"), "Rust's own message: {err}");
        if json {
            let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(v["error"]["code"], "internal", "{v}");
        }
    }
}

/// A password given to store that the keyring cannot take: the profile is saved (nothing
/// lost), the warning says the password is not, and the run ends with exit code 9 so that a
/// script does not take it as stored. Both `profile add` and `profile import`.
#[test]
fn a_password_the_keyring_cannot_store_exits_9_with_the_profile_saved() {
    let config = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let app_config = dir.path().join("app-config.yaml");
    std::fs::write(
        &app_config,
        "backend:\n  database:\n    client: pg\n    connection:\n      host: db.example.com\n      user: backstage\n      password: from-the-file\n",
    )
    .unwrap();
    let run = |args: &[&str], stdin: &str| {
        use std::io::Write;
        let mut child = Command::new(env!("CARGO_BIN_EXE_bsi"))
            .args(args)
            .env("BSI_CONFIG_DIR", config.path())
            .env(
                "DBUS_SESSION_BUS_ADDRESS",
                "unix:path=/nonexistent/bsi-no-bus",
            )
            .env_remove("RUST_LOG")
            .env_remove("PGPASSWORD")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let added = run(
        &[
            "profile",
            "add",
            "stored-nowhere",
            "--from-url",
            "postgresql://backstage@db.example.com/postgres",
            "--password-stdin",
        ],
        "typed-secret\n",
    );
    let imported = run(
        &[
            "profile",
            "import",
            "imported-nowhere",
            app_config.to_str().unwrap(),
        ],
        "",
    );
    for (name, out) in [("stored-nowhere", added), ("imported-nowhere", imported)] {
        let t = text(&out);
        assert_eq!(out.status.code(), Some(9), "{name}: {t}");
        assert!(t.contains("password was NOT stored"), "{name}: {t}");
        assert!(t.contains("Secret Service"), "says what to do: {t}");
        assert!(
            !t.contains("typed-secret") && !t.contains("from-the-file"),
            "{t}"
        );
        let saved = std::fs::read_to_string(config.path().join("profiles.toml")).unwrap();
        assert!(saved.contains(name), "{name} not saved: {saved}");
        assert!(
            !saved.contains("typed-secret") && !saved.contains("from-the-file"),
            "a password in the profile file: {saved}"
        );
    }
    // With a usable keyring this exit code never comes: without a password to store, the
    // same command succeeds.
    let out = run(
        &[
            "profile",
            "add",
            "no-password",
            "--from-url",
            "postgresql://backstage@db.example.com/postgres",
        ],
        "",
    );
    assert!(out.status.success(), "{}", text(&out));
}

/// `bsi keyring` where a Secret Service answers (the test command's own gnome-keyring): usable,
/// exit 0, and no reason given. Without a session bus the run says why and exits 9 (above).
#[test]
fn keyring_says_usable_where_a_secret_service_answers() {
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none() {
        panic!("run inside a D-Bus session with a Secret Service (scripts/test does)");
    }
    let out = bsi(&["keyring", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["available"], true, "{v}");
    assert!(v["reason"].is_null(), "{v}");
    let out = bsi(&["keyring"]);
    assert!(out.status.success(), "{}", text(&out));
    let t = String::from_utf8_lossy(&out.stdout);
    assert!(t.contains("usable") && !t.contains("NOT"), "{t}");
}

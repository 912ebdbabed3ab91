//! The `bsi` binary end to end: profiles, the keyring (real Secret Service), connections to
//! the harness's real PostgreSQL, JSON output, exit codes, and that no password leaks.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use bsi_testkit::shared;

struct Env {
    config: tempfile::TempDir,
}

impl Env {
    fn new() -> Self {
        Self {
            config: tempfile::tempdir().unwrap(),
        }
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_bsi"));
        c.args(args)
            .env("BSI_CONFIG_DIR", self.config.path())
            .env_remove("PGPASSWORD")
            .env_remove("PGHOST")
            .env_remove("PGUSER")
            .env_remove("BSI_PROFILE")
            .env_remove("RUST_LOG")
            .env_remove("BSI_LOG")
            .stdin(Stdio::null());
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    fn run_stdin(&self, args: &[&str], input: &str) -> Output {
        let mut child = self
            .cmd(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }

    fn profile_file(&self) -> String {
        std::fs::read_to_string(self.config.path().join("profiles.toml")).unwrap_or_default()
    }
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn ok(o: Output) -> Output {
    assert!(
        o.status.success(),
        "exit {:?}: {}",
        o.status.code(),
        text(&o)
    );
    o
}

fn url(params: &str) -> String {
    let s = shared();
    s.url("postgres", &s.password, "postgres", params)
}

fn make_catalog_db(prefix: &str) {
    let s = shared();
    let db = format!("{prefix}catalog");
    s.psql("postgres", &format!("CREATE DATABASE {db}"));
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations/catalog");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for f in files {
        s.psql(
            &db,
            &format!("BEGIN; {}; COMMIT;", std::fs::read_to_string(f).unwrap()),
        );
    }
}

#[test]
fn a_profile_keeps_its_password_in_the_keyring_only() {
    let s = shared();
    let env = Env::new();
    let name = format!("kr{}", std::process::id());
    let u = url("sslmode=verify-full");
    let out = ok(env.run(&[
        "profile",
        "add",
        &name,
        "--from-url",
        &u,
        "--ca",
        s.root_ca.to_str().unwrap(),
    ]));
    assert!(
        text(&out).contains("password stored in the OS keyring"),
        "{}",
        text(&out)
    );

    let file = env.profile_file();
    assert!(
        file.contains(&name) && file.contains("verify-full"),
        "{file}"
    );
    assert!(
        !file.contains(&s.password),
        "password in the profile file:\n{file}"
    );

    let show = ok(env.run(&["profile", "show", &name, "--json"]));
    let v: serde_json::Value = serde_json::from_slice(&show.stdout).unwrap();
    assert_eq!(v["password_stored"], true);
    assert_eq!(v["write_mode"], false);
    assert!(!text(&show).contains(&s.password));

    // The password comes from the keyring: no PGPASSWORD, no prompt (stdin is not a terminal).
    // At the most verbose log level, nothing prints the password.
    let test = ok(env
        .cmd(&["profile", "test", &name])
        .env("RUST_LOG", "trace")
        .output()
        .unwrap());
    let t = text(&test);
    assert!(t.contains("OK:") && t.contains("read-only session"), "{t}");
    // Each stage with its time, before the summary.
    let out = String::from_utf8_lossy(&test.stdout);
    for stage in [
        "TCP",
        "TLS offer",
        "TLS handshake and sign-in",
        "first query",
    ] {
        assert!(
            out.lines()
                .any(|l| l.starts_with(stage) && l.contains(" ms ")),
            "{stage}: {out}"
        );
    }
    assert!(
        t.contains("DEBUG") || t.contains("TRACE"),
        "trace logging was on: {t}"
    );
    assert!(!t.contains(&s.password), "password in the output or logs");

    let list = ok(env.run(&["profile", "list", "--json"]));
    let v: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(v[0]["name"], name.as_str());

    ok(env.run(&["profile", "remove", &name]));
    assert!(!env.profile_file().contains(&name));
    // The keyring entry went with it: the same profile made again has no password stored,
    // and a connection without one is refused by the server.
    let no_pw = format!(
        "postgresql://postgres@localhost:{}/postgres?sslmode=require",
        s.port
    );
    ok(env.run(&["profile", "add", &name, "--from-url", &no_pw]));
    let show = ok(env.run(&["profile", "show", &name, "--json"]));
    let v: serde_json::Value = serde_json::from_slice(&show.stdout).unwrap();
    assert_eq!(v["password_stored"], false);
    let again = env.run(&["profile", "test", &name]);
    assert_eq!(again.status.code(), Some(5), "{}", text(&again));
    ok(env.run(&["profile", "remove", &name]));
}

#[test]
fn exit_codes_and_json_errors() {
    let s = shared();
    let env = Env::new();
    let bad = s.url("postgres", "wrong-password", "postgres", "sslmode=require");
    let out = env.run(&["--url", &bad, "profile", "test", "--json"]);
    assert_eq!(out.status.code(), Some(5), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["error"]["code"], "authentication");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("\"postgres\"")
    );
    assert!(!text(&out).contains("wrong-password"));

    // A command the error names is pasteable with this run's connection options (never its
    // password).
    let good = s.url("postgres", &s.password, "postgres", "sslmode=require");
    let out = env.run(&["--url", &good, "--prefix", "acme_", "tasks"]);
    let t = text(&out);
    assert!(t.contains("`bsi --url '"), "{t}");
    assert!(t.contains(" --prefix acme_ databases` lists"), "{t}");
    assert!(!t.contains(&s.password), "{t}");

    let out = env.run(&["--profile", "nope", "databases"]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    assert!(text(&out).contains("bsi profile list"));

    let out = env.run(&["--url", "postgres://h/db?sslmode=sometimes", "databases"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));

    let out = env.run(&["--url", &url("sslmode=verify-full"), "profile", "test"]);
    assert_eq!(out.status.code(), Some(6), "{}", text(&out));
    assert!(text(&out).contains("not trusted"));
    // The stages that passed, then the one that failed, on stderr before the error.
    let err = String::from_utf8_lossy(&out.stderr);
    let tls_offer = err
        .lines()
        .find(|l| l.starts_with("TLS offer"))
        .unwrap_or_default();
    assert!(tls_offer.contains(" ok "), "{err}");
    let handshake = err
        .lines()
        .find(|l| l.starts_with("TLS handshake"))
        .unwrap_or_default();
    assert!(
        handshake.contains("FAILED") && handshake.contains("tls_untrusted"),
        "{err}"
    );

    let out = env.run(&["databases"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains("--profile"));
}

#[test]
fn pgpassword_and_password_stdin_work_for_scripts() {
    let s = shared();
    let env = Env::new();
    let no_pw = format!(
        "postgresql://postgres@localhost:{}/postgres?sslmode=require",
        s.port
    );
    ok(env
        .cmd(&["--url", &no_pw, "profile", "test"])
        .env("PGPASSWORD", &s.password)
        .output()
        .unwrap());
    ok(env.run_stdin(
        &["--url", &no_pw, "--password-stdin", "profile", "test"],
        &format!("{}\n", s.password),
    ));
}

#[test]
fn databases_lists_plugin_databases_with_their_areas() {
    let _server = shared();
    let env = Env::new();
    let prefix = format!("bsicli{}_", std::process::id());
    make_catalog_db(&prefix);
    // The Knex table of a real catalog: the oldest set the generated table knows.
    let tsv = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../core/src/eras/migrations.tsv"),
    )
    .unwrap();
    let catalog_row = |kind: &str| -> Vec<Vec<String>> {
        tsv.lines()
            .map(|l| l.split('\t').map(str::to_string).collect::<Vec<_>>())
            .filter(|f| f[0] == kind && f[1] == "@backstage/plugin-catalog-backend")
            .collect()
    };
    let set = catalog_row("set").remove(0);
    let (a, b) = set[9].split_once('-').unwrap();
    let names: Vec<String> = catalog_row("migration")[a.parse().unwrap()..=b.parse().unwrap()]
        .iter()
        .map(|m| m[4].clone())
        .collect();
    let mut sql = "CREATE TABLE knex_migrations (id serial PRIMARY KEY, name varchar(255), \
                   batch integer, migration_time timestamptz);"
        .to_string();
    for n in &names {
        sql.push_str(&format!(
            "INSERT INTO knex_migrations (name, batch, migration_time) VALUES ('{n}.js', 1, now());"
        ));
    }
    shared().psql(&format!("{prefix}catalog"), &sql);
    let out = ok(env.run(&[
        "--url",
        &url("sslmode=require"),
        "--prefix",
        &prefix,
        "databases",
        "--json",
    ]));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let dbs = v["databases"].as_array().unwrap();
    assert_eq!(dbs.len(), 1, "{v}");
    assert_eq!(dbs[0]["database"], format!("{prefix}catalog"));
    assert_eq!(dbs[0]["plugin"], "catalog");
    assert_eq!(dbs[0]["areas"], serde_json::json!(["catalog", "scheduler"]));
    let era = &dbs[0]["eras"][0];
    assert_eq!(era["table"], "knex_migrations", "{v}");
    assert_eq!(era["applied"], names.len());
    assert_eq!(era["identity"]["verdict"], "exact", "{v}");
    assert_eq!(era["identity"]["ranges"][0]["first"], set[4], "{v}");
    assert_eq!(era["identity"]["ranges"][0]["last"], set[5], "{v}");

    let out = ok(env.run(&[
        "--url",
        &url("sslmode=require"),
        "--prefix",
        &prefix,
        "databases",
    ]));
    let t = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        t.contains("catalog, scheduler") && t.contains("read-only"),
        "{t}"
    );
    assert!(
        t.contains(&format!("catalog-backend {}", set[4])) && t.contains(&names[names.len() - 1]),
        "{t}"
    );
}

#[test]
fn app_config_files_make_a_profile() {
    let s = shared();
    let env = Env::new();
    let prefix = format!("bsiac{}_", std::process::id());
    make_catalog_db(&prefix);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("app-config.yaml"),
        "backend:\n  database:\n    client: pg\n    prefix: nothing_here_\n    connection:\n      host: ${POSTGRES_HOST}\n      port: 5432\n      user: postgres\n      password: ${POSTGRES_PASSWORD}\n      ssl:\n        rejectUnauthorized: false\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("app-config.local.yaml"),
        format!(
            "backend:\n  database:\n    prefix: {prefix}\n    connection:\n      port: {}\n",
            s.port
        ),
    )
    .unwrap();
    let files = [
        dir.path().join("app-config.yaml"),
        dir.path().join("app-config.local.yaml"),
    ];
    let f: Vec<&str> = files.iter().map(|p| p.to_str().unwrap()).collect();
    let out = ok(env
        .cmd(&["profile", "import", "fromcfg", f[0], f[1]])
        .env("POSTGRES_HOST", "localhost")
        .env("POSTGRES_PASSWORD", &s.password)
        .output()
        .unwrap());
    let t = text(&out);
    assert!(
        t.contains("app-config.local.yaml"),
        "shows where values came from: {t}"
    );
    assert!(!t.contains(&s.password), "{t}");
    assert!(!env.profile_file().contains(&s.password));
    let out = ok(env.run(&["--profile", "fromcfg", "databases", "--json"]));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["databases"][0]["plugin"], "catalog", "{v}");
    assert!(v["server"]["tls"].as_str().unwrap().starts_with("TLS"));
    ok(env.run(&["profile", "remove", "fromcfg"]));
}

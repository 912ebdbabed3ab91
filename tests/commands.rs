//! The app's commands called through Tauri's IPC (a mock runtime, the real command handlers
//! and state) against a real PostgreSQL from the test harness: migrated databases with a small
//! generated Backstage installation. Every area answers once, and every error the UI acts on
//! arrives as `{code, message}` with its stable code.
//!
//! Profiles live in a temporary profile file; passwords are given per run
//! (`open_profile`, `test_connection`), so no keyring is needed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use backstage_inspector_app::state::{AppState, Launch};
use bsi_core::connect::Connections;
use bsi_core::demo::generate::GenerateOptions;
use bsi_core::demo::{FillOptions, fill, migrate_areas};
use bsi_core::migrate::AREAS;
use bsi_core::profile::{DivisionMode, Profile};
use bsi_core::secrets::Secret;
use bsi_core::tls::SslMode;
use bsi_testkit::shared;
use serde_json::{Value, json};
use tauri::Manager;
use tauri::test::{MockRuntime, mock_builder, mock_context};
use tauri::webview::{WebviewWindow, WebviewWindowBuilder};

/// A mock app with the real commands and a fresh state, and its main window.
struct App {
    _app: tauri::App<MockRuntime>,
    ipc: Ipc,
    /// Holds this app's profile file: profiles never touch the user's config.
    _profiles: tempfile::TempDir,
}

impl std::ops::Deref for App {
    type Target = Ipc;
    fn deref(&self) -> &Ipc {
        &self.ipc
    }
}

/// The main window's side of IPC (cloneable, for calls from other threads).
#[derive(Clone)]
struct Ipc {
    window: WebviewWindow<MockRuntime>,
}

fn app() -> App {
    let profiles = tempfile::tempdir().unwrap();
    let app = backstage_inspector_app::setup(mock_builder())
        .build(mock_context(tauri::test::noop_assets()))
        .unwrap();
    app.manage(AppState::with_profile_file(
        Launch::default(),
        profiles.path().join("profiles.toml"),
    ));
    let window = WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .unwrap();
    App {
        _app: app,
        ipc: Ipc { window },
        _profiles: profiles,
    }
}

impl Ipc {
    /// Invokes a command through IPC: `Ok(result)` or `Err(rejection)`.
    fn call(&self, cmd: &str, args: Value) -> Result<Value, Value> {
        common::call(&self.window, cmd, args)
    }

    fn ok(&self, cmd: &str, args: Value) -> Value {
        match self.call(cmd, args) {
            Ok(v) => v,
            Err(e) => panic!("{cmd} failed: {e}"),
        }
    }

    /// The stable code of a command's rejection (it must be `{code, message}`).
    fn code(&self, cmd: &str, args: Value) -> String {
        match self.call(cmd, args) {
            Ok(v) => panic!("{cmd} succeeded: {v}"),
            Err(e) => {
                assert!(
                    e["message"].as_str().is_some_and(|m| !m.is_empty()),
                    "{cmd}: no message in {e}"
                );
                e["code"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{cmd}: no code in {e}"))
                    .to_string()
            }
        }
    }

    /// Tests the saved profile `name` with `password` for this test only: the stage that
    /// failed and its error's code (a failed test is an answer, not a rejection).
    fn failed_stage(&self, name: &str, password: &str) -> (String, String) {
        let t = self.ok(
            "test_connection",
            json!({ "name": name, "password": password }),
        );
        assert!(t["server"].is_null(), "{t}");
        let last = arr(&t["stages"]).last().unwrap().clone();
        assert_eq!(last["outcome"], "failed", "{t}");
        assert!(
            arr(&t["stages"])[..arr(&t["stages"]).len() - 1]
                .iter()
                .all(|s| s["outcome"] != "failed"),
            "{t}"
        );
        let code = last["error"]["code"].as_str().unwrap().to_string();
        assert!(
            last["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
        (last["name"].as_str().unwrap().to_string(), code)
    }

    /// Saves a profile through `add_profile` and opens it with the password for this run.
    fn open(&self, input: Value, password: &str) {
        let name = input["name"].as_str().unwrap().to_string();
        self.ok("add_profile", json!({ "input": input }));
        self.ok(
            "open_profile",
            json!({ "name": name, "password": password }),
        );
    }
}

fn password() -> String {
    shared().password.clone()
}

fn profile_input(name: &str, prefix: &str) -> Value {
    json!({
        "name": name,
        "host": "localhost",
        "port": shared().port,
        "user": "postgres",
        "prefix": prefix,
        "sslmode": "require",
        "update": false,
    })
}

fn writer(prefix: &str) -> std::sync::Arc<Connections> {
    let s = shared();
    let mut p = Profile::new("setup", "localhost", "postgres");
    p.port = s.port;
    p.prefix = prefix.to_string();
    p.mode = DivisionMode::Database;
    p.tls.sslmode = SslMode::Require;
    p.write_mode = true;
    Connections::new(p, Some(Secret::new(s.password.clone())))
}

/// Migrates `<prefix><area>` for `areas` and, with `data`, fills them with generated data.
async fn prepare(prefix: &str, areas: &[&str], data: bool) {
    let w = writer(prefix);
    if data {
        let o = GenerateOptions {
            seed: 7,
            tasks: 20,
            events_per_task: 4,
            ..GenerateOptions::size(300)
        };
        fill(&w, &FillOptions::new(areas, o), &|_| {})
            .await
            .unwrap();
    } else {
        let areas: Vec<String> = areas.iter().map(|a| a.to_string()).collect();
        migrate_areas(&w, &areas).await.unwrap();
    }
    w.close().await;
}

/// The prefix of the generated installation shared by the read-only tests.
fn data() -> &'static str {
    static DATA: OnceLock<String> = OnceLock::new();
    DATA.get_or_init(|| {
        let prefix = format!("bsiapp{}_", std::process::id());
        tauri::async_runtime::block_on(prepare(&prefix, &AREAS, true));
        prefix
    })
}

fn arr(v: &Value) -> &Vec<Value> {
    v.as_array().unwrap_or_else(|| panic!("not an array: {v}"))
}

/// The doctor's findings come worst first, and `worst` is the first one's severity.
fn assert_ranked(report: &Value) {
    let rank = |s: &Value| match s.as_str().unwrap() {
        "critical" => 0,
        "warning" => 1,
        "info" => 2,
        "ok" => 3,
        other => panic!("unknown severity {other}"),
    };
    let findings = arr(&report["findings"]);
    assert!(!findings.is_empty(), "{report}");
    let ranks: Vec<i32> = findings.iter().map(|f| rank(&f["severity"])).collect();
    assert!(
        ranks.windows(2).all(|w| w[0] <= w[1]),
        "not ranked: {report}"
    );
    assert_eq!(report["worst"], findings[0]["severity"], "{report}");
}

/// Every next step's command line of a doctor's report.
fn next_commands(report: &Value) -> Vec<String> {
    arr(&report["findings"])
        .iter()
        .flat_map(|f| arr(&f["next"]).iter())
        .filter_map(|n| n["command"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn profiles_are_added_listed_opened_and_removed() {
    let a = app();
    assert_eq!(a.ok("current_profile", json!({})), Value::Null);
    assert_eq!(
        a.code("get_profile", json!({ "name": "nope" })),
        "not_found"
    );
    assert_eq!(
        a.code("open_profile", json!({ "name": "nope", "password": null })),
        "not_found"
    );
    let saved = a.ok(
        "add_profile",
        json!({ "input": { "name": "from-url", "url": format!("postgresql://postgres@localhost:{}/postgres?sslmode=require", shared().port) } }),
    );
    assert_eq!(saved["view"]["profile"]["name"], "from-url");
    assert_eq!(saved["view"]["profile"]["write_mode"], false);
    assert_eq!(saved["view"]["effective_sslmode"], "require");
    // A name that exists is refused unless `update`.
    assert_eq!(
        a.code(
            "add_profile",
            json!({ "input": { "name": "from-url", "host": "x", "user": "y" } })
        ),
        "config"
    );
    let list = a.ok("list_profiles", json!({}));
    assert!(
        arr(&list)
            .iter()
            .any(|p| p["profile"]["name"] == "from-url")
    );
    // Tested with the password of this run only: the server answers, read-only.
    let test = a.ok(
        "test_connection",
        json!({ "name": "from-url", "password": password() }),
    );
    let stages: Vec<(&str, &str)> = arr(&test["stages"])
        .iter()
        .map(|s| (s["name"].as_str().unwrap(), s["outcome"].as_str().unwrap()))
        .collect();
    assert_eq!(
        stages,
        [
            ("credentials", "passed"),
            ("tcp", "passed"),
            ("tls_offer", "passed"),
            ("session", "passed"),
            ("query", "passed")
        ],
        "{test}"
    );
    let info = &test["server"];
    assert_eq!(info["read_only"], true);
    assert!(info["tls"].as_str().unwrap().starts_with("TLS"), "{info}");
    let opened = a.ok(
        "open_profile",
        json!({ "name": "from-url", "password": password() }),
    );
    assert_eq!(opened["open"], true);
    assert_eq!(
        a.ok("current_profile", json!({}))["profile"]["name"],
        "from-url"
    );
    let status = a.ok("app_status", json!({}));
    assert_eq!(status["connected"], true, "{status}");
    // Closed: nothing is current, the views say no profile is open, the profile stays saved.
    a.ok("close_profile", json!({}));
    assert_eq!(a.ok("current_profile", json!({})), Value::Null);
    assert_eq!(a.ok("app_status", json!({}))["connected"], false);
    assert_eq!(
        a.code("entities", json!({ "query": { "limit": 1 } })),
        "config"
    );
    assert!(
        arr(&a.ok("list_profiles", json!({})))
            .iter()
            .any(|p| p["profile"]["name"] == "from-url")
    );
    a.ok(
        "open_profile",
        json!({ "name": "from-url", "password": password() }),
    );
    assert_eq!(a.ok("remove_profile", json!({ "name": "from-url" })), true);
    assert_eq!(a.ok("current_profile", json!({})), Value::Null);
    assert_eq!(a.ok("remove_profile", json!({ "name": "from-url" })), false);
    // The keyring status: the test command runs inside a D-Bus session with an unlocked
    // gnome-keyring, where it is usable; without a session bus it is not, and says why.
    let k = a.ok("keyring_status", json!({}));
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some() {
        assert_eq!(k["available"], true, "{k}");
        assert!(k["reason"].is_null(), "{k}");
    } else {
        assert_eq!(k["available"], false, "{k}");
        assert!(k["hint"].as_str().is_some_and(|h| !h.is_empty()), "{k}");
    }
}

#[test]
fn an_app_config_import_tells_what_was_read_with_the_password_masked() {
    let a = app();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("app-config.yaml");
    std::fs::write(
        &file,
        format!(
            "backend:\n  database:\n    client: pg\n    connection:\n      host: localhost\n      port: {}\n      user: postgres\n      password: very-secret-pw\n",
            shared().port
        ),
    )
    .unwrap();
    let r = a.ok(
        "import_app_config",
        json!({ "name": "imported", "files": [file.display().to_string()], "update": true }),
    );
    let text = r.to_string();
    assert!(!text.contains("very-secret-pw"), "secret leaked: {text}");
    assert_eq!(r["saved"]["view"]["profile"]["host"], "localhost");
    let read = arr(&r["read"]);
    let pw = read
        .iter()
        .find(|v| v["key"].as_str().unwrap().ends_with("password"))
        .expect("the password is listed as read");
    assert!(
        pw["source"].as_str().unwrap().contains("app-config.yaml"),
        "{pw}"
    );
    a.ok("remove_profile", json!({ "name": "imported" }));
}

#[test]
fn connection_failures_arrive_with_their_codes() {
    let a = app();
    let s = shared();
    // A form tested before it is saved: nothing is saved.
    let mut form = profile_input("unsaved", "backstage_plugin_");
    form["password"] = json!(password());
    let info = a.ok("test_profile_input", json!({ "input": form }));
    assert_eq!(info["user"], "postgres");
    form["password"] = json!("not-the-password");
    assert_eq!(
        a.code("test_profile_input", json!({ "input": form })),
        "authentication"
    );
    assert_eq!(
        a.code("get_profile", json!({ "name": "unsaved" })),
        "not_found"
    );
    // Wrong password.
    a.ok(
        "add_profile",
        json!({ "input": profile_input("bad-pw", "backstage_plugin_") }),
    );
    assert_eq!(
        a.failed_stage("bad-pw", "not-the-password"),
        ("session".to_string(), "authentication".to_string())
    );
    a.ok(
        "open_profile",
        json!({ "name": "bad-pw", "password": "not-the-password" }),
    );
    let e = a.call("overview", json!({})).unwrap_err();
    assert_eq!(e["code"], "authentication");
    assert!(!e.to_string().contains("not-the-password"));
    // verify-full without the CA.
    let mut p = profile_input("untrusted", "backstage_plugin_");
    p["sslmode"] = json!("verify-full");
    a.ok("add_profile", json!({ "input": p }));
    assert_eq!(
        a.failed_stage("untrusted", &password()),
        ("session".to_string(), "tls_untrusted".to_string())
    );
    // A certificate for localhost, reached as 127.0.0.1.
    let mut p = profile_input("wrong-host", "backstage_plugin_");
    p["host"] = json!("127.0.0.1");
    p["sslmode"] = json!("verify-full");
    p["ca_file"] = json!(s.root_ca.display().to_string());
    a.ok("add_profile", json!({ "input": p }));
    assert_eq!(
        a.failed_stage("wrong-host", &password()),
        ("session".to_string(), "tls_wrong_host".to_string())
    );
    // Nothing listens.
    let mut p = profile_input("closed", "backstage_plugin_");
    p["host"] = json!("127.0.0.1");
    p["port"] = json!(bsi_testkit::closed_port());
    a.ok("add_profile", json!({ "input": p }));
    assert_eq!(
        a.failed_stage("closed", &password()),
        ("tcp".to_string(), "unreachable".to_string())
    );
    // Something listens and never answers.
    let (_listener, silent) = bsi_testkit::silent_listener();
    let mut p = profile_input("silent", "backstage_plugin_");
    p["host"] = json!("127.0.0.1");
    p["port"] = json!(silent);
    p["connect_timeout_secs"] = json!(1);
    a.ok("add_profile", json!({ "input": p }));
    let started = Instant::now();
    assert_eq!(
        a.failed_stage("silent", &password()),
        ("tls_offer".to_string(), "timeout".to_string())
    );
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn every_area_answers_on_generated_data() {
    let prefix = data();
    let a = app();
    a.open(profile_input("areas", prefix), &password());

    let o = a.ok("overview", json!({ "op": "ov-1" }));
    assert!(arr(&o["discovery"]["databases"]).len() >= 4, "{o}");

    // The doctor's findings, worst first, with next steps for this profile.
    let report = a.ok("doctor", json!({ "op": "doctor-1" }));
    assert_ranked(&report);
    let ids: Vec<&str> = arr(&report["findings"])
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"catalog.processing_errors"), "{ids:?}");
    assert!(ids.contains(&"catalog.orphans"), "{ids:?}");
    let commands = next_commands(&report);
    assert!(!commands.is_empty(), "{report}");
    for c in &commands {
        assert!(c.starts_with("bsi --profile areas "), "{c}");
    }
    assert!(
        commands.contains(&"bsi --profile areas errors".to_string()),
        "{commands:?}"
    );
    let counts = &o["counts"];
    assert!(
        counts["entities"]["value"].as_i64().unwrap() > 0,
        "{counts}"
    );
    for c in [
        "processing_errors",
        "orphans",
        "failed_tasks_24h",
        "active_sessions",
    ] {
        assert!(counts[c]["value"].is_i64(), "{c}: {counts}");
    }

    let page = a.ok(
        "entities",
        json!({ "query": { "filter": { "kind": ["user"] }, "limit": 5 }, "op": null }),
    );
    let users = arr(&page["items"]);
    assert!(!users.is_empty());
    assert!(page["next_cursor"].is_string());
    let user = users[0]["entity_ref"].as_str().unwrap().to_string();
    let next = a.ok(
        "entities",
        json!({ "query": { "filter": { "kind": ["user"] }, "limit": 5, "cursor": page["next_cursor"] } }),
    );
    assert_ne!(arr(&next["items"])[0]["entity_ref"], json!(user));

    let f = a.ok("facets", json!({ "filter": {}, "fields": ["kind"] }));
    assert!(!arr(&f["facets"]).is_empty());

    let e = a.ok("entity", json!({ "entityRef": user }));
    assert_eq!(e["detail"]["entity_ref"], json!(user));
    assert!(e["sessions"].is_object(), "sessions for a user: {e}");
    assert!(e["tasks"].is_object(), "tasks link: {e}");
    // An entity named in a task's completion output lists that task.
    let rows = shared().psql(
        &format!("{prefix}scaffolder"),
        "SELECT task_id::text || '|' || (l->>'entityRef') FROM task_events, \
           json_array_elements(body::json->'output'->'links') l \
         WHERE event_type = 'completion' AND l->>'entityRef' IS NOT NULL ORDER BY id",
    );
    let created = rows
        .lines()
        .filter_map(|l| l.split_once('|'))
        .find_map(|(task, r)| {
            a.call("entity", json!({ "entityRef": r }))
                .ok()
                .map(|e| (task.to_string(), e))
        });
    let (task, e) = created.expect("an entity created by a task is in the catalog");
    assert!(
        arr(&e["tasks"]["items"])
            .iter()
            .any(|t| t["id"] == json!(task)),
        "{e}"
    );
    let component = arr(&a.ok(
        "entities",
        json!({ "query": { "filter": { "kind": ["component"] }, "limit": 1 } }),
    )["items"])[0]["entity_ref"]
        .clone();
    let c = a.ok("entity", json!({ "entityRef": component }));
    assert!(c["sessions"].is_null());
    assert_eq!(
        a.code(
            "entity",
            json!({ "entityRef": "component:default/no-such-entity-here" })
        ),
        "not_found"
    );

    // The overview's counts agree with the lists.
    let all = |cmd: &str| {
        let (mut n, mut cursor) = (0, Value::Null);
        loop {
            let p = a.ok(cmd, json!({ "page": { "limit": 1000, "cursor": cursor } }));
            n += arr(&p["items"]).len();
            if p["next_cursor"].is_null() {
                return n;
            }
            cursor = p["next_cursor"].clone();
        }
    };
    assert!(counts["orphans"]["value"].as_i64().unwrap() > 0, "{counts}");
    assert!(counts["processing_errors"]["value"].as_i64().unwrap() > 0);
    assert_eq!(
        counts["orphans"]["value"],
        json!(all("orphans")),
        "{counts}"
    );
    assert_eq!(
        counts["processing_errors"]["value"],
        json!(all("processing_errors")),
        "{counts}"
    );
    // Stale and locations, counted in SQL.
    let catalog = format!("{prefix}catalog");
    let sql_count = |db: &str, q: &str| -> i64 { shared().psql(db, q).trim().parse().unwrap() };
    let stale = a.ok(
        "stale",
        json!({ "olderThan": "1h", "page": { "limit": 1000 } }),
    );
    let summary = &stale["summary"];
    assert_eq!(
        summary["total"],
        json!(sql_count(&catalog, "SELECT count(*) FROM refresh_state")),
        "{summary}"
    );
    assert_eq!(
        summary["stale"],
        json!(sql_count(
            &catalog,
            "SELECT count(*) FROM refresh_state WHERE last_discovery_at < now() - interval '1 hour' \
               OR next_update_at < now() - interval '1 hour'"
        )),
        "{summary}"
    );
    for e in arr(&stale["items"]) {
        assert!(
            e["discovery_stale"] == true || e["refresh_overdue"] == true,
            "not stale: {e}"
        );
    }
    let locations = a.ok("locations", json!({ "page": { "limit": 1000 } }));
    let targets: std::collections::BTreeSet<String> = arr(&locations["items"])
        .iter()
        .map(|l| l["target"].as_str().unwrap().to_string())
        .collect();
    let want: std::collections::BTreeSet<String> = shared()
        .psql(&catalog, "SELECT target FROM locations")
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    assert!(!want.is_empty());
    assert_eq!(targets, want);
    let caps = a.ok("catalog_capabilities", json!({}));
    assert!(
        arr(&caps["views"]).iter().all(|v| v["available"] == true),
        "{caps}"
    );
    assert_eq!(
        a.code("stale", json!({ "olderThan": "soon", "page": {} })),
        "config"
    );

    let g = a.ok(
        "graph_neighbourhood",
        json!({ "args": { "roots": [user], "depth": 1, "direction": "both" } }),
    );
    assert!(!arr(&g["nodes"]).is_empty(), "{g}");
    // A path along a stored relation: the user to its group, one hop.
    let group = shared()
        .psql(
            &catalog,
            &format!(
                "SELECT min(target_entity_ref) FROM relations \
                 WHERE source_entity_ref = '{user}' AND type = 'memberOf'"
            ),
        )
        .trim()
        .to_string();
    assert!(!group.is_empty(), "{user} is a member of a group");
    let path = a.ok(
        "graph_path",
        json!({ "from": user, "to": group, "maxDepth": 3, "types": [] }),
    );
    assert_eq!(path["found"], true, "{path}");
    assert_eq!(path["hops"], 1, "{path}");
    assert_eq!(arr(&path["steps"])[0]["type"], "memberOf", "{path}");
    assert!(path["message"].as_str().unwrap().contains(&group), "{path}");
    let none = a.ok(
        "graph_path",
        json!({ "from": user, "to": "component:default/no-such-entity-here", "maxDepth": 3, "types": [] }),
    );
    assert_eq!(none["found"], false, "{none}");
    assert_eq!(none["to_exists"], false, "{none}");
    // Broken references: each target is missing from the catalog.
    let broken = a.ok("broken_refs", json!({ "limit": 5 }));
    let broken = broken.as_array().or(broken["items"].as_array()).unwrap();
    for b in broken {
        let t = b["target"].as_str().unwrap();
        assert_eq!(
            sql_count(
                &catalog,
                &format!(
                    "SELECT count(*) FROM final_entities WHERE lower(entity_ref) = lower('{t}')"
                )
            ),
            0,
            "{t} is in the catalog"
        );
    }

    let tasks = a.ok("tasks", json!({ "args": { "limit": 5 } }));
    let t = arr(&tasks["items"]);
    assert!(!t.is_empty());
    let id = t[0]["id"].as_str().unwrap();
    let detail = a.ok("task", json!({ "id": id }));
    assert_eq!(detail["id"], json!(id));
    let scaffolder = format!("{prefix}scaffolder");
    let failed = a.ok(
        "tasks",
        json!({ "args": { "status": "failed", "limit": 1000 } }),
    );
    let failed = arr(&failed["items"]);
    assert!(failed.iter().all(|t| t["status"] == "failed"), "{failed:?}");
    assert_eq!(
        failed.len() as i64,
        sql_count(
            &scaffolder,
            "SELECT count(*) FROM tasks WHERE status = 'failed'"
        )
    );

    let auth = format!("{prefix}auth");
    let has = |table: &str| {
        sql_count(
            &auth,
            &format!("SELECT count(*) FROM pg_tables WHERE tablename = '{table}'"),
        ) == 1
    };
    let items_of = |v: &Value| -> usize {
        v.as_array()
            .or(v["items"].as_array())
            .unwrap_or_else(|| panic!("no list in {v}"))
            .len()
    };
    for (cmd, table) in [
        ("offline_sessions", "offline_sessions"),
        ("oauth_sessions", "oidc_authorization_sessions"),
    ] {
        if has(table) {
            let v = a.ok(cmd, json!({ "args": { "limit": 1000 } }));
            assert_eq!(
                items_of(&v) as i64,
                sql_count(&auth, &format!("SELECT count(*) FROM {table}")),
                "{cmd}: {v}"
            );
        }
    }
    let browser = a.ok("browser_sessions", json!({ "args": { "limit": 3 } }));
    assert!(browser["items"].is_array());
    let keys = a.ok("signing_keys", json!({}));
    assert_eq!(
        items_of(&keys) as i64,
        sql_count(&auth, "SELECT count(*) FROM signing_keys"),
        "{keys}"
    );
    assert!(
        !keys.to_string().contains("\"d\""),
        "no private member: {keys}"
    );
    let info = a.ok("user_info", json!({ "args": { "users": [user] } }));
    let stored = sql_count(
        &auth,
        &format!("SELECT count(*) FROM user_info WHERE user_entity_ref = '{user}'"),
    );
    assert_eq!(items_of(&info) as i64, stored, "{info}");
    // A JWT: header and claims, never the signature.
    let token = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c2VyOmRlZmF1bHQvYWRhIn0.c2lnbmF0dXJlLXNlY3JldA";
    let jwt = a.ok("decode_jwt", json!({ "token": token }));
    assert!(!jwt.to_string().contains("c2lnbmF0dXJlLXNlY3JldA"), "{jwt}");
    assert_eq!(
        a.code("decode_jwt", json!({ "token": "not a token" })),
        "config"
    );

    let types = a.ok("search_types", json!({}));
    assert!(!arr(&types).is_empty());
    let found = a.ok("search", json!({ "args": { "query": "service" } }));
    let search = format!("{prefix}search");
    assert_eq!(
        found["total"],
        json!(sql_count(
            &search,
            "SELECT count(*) FROM documents WHERE body @@ websearch_to_tsquery('english', 'service')"
        )),
        "{found}"
    );
    let docs = a.ok("techdocs", json!({ "page": { "limit": 1000 } }));
    assert_eq!(
        docs["total"],
        json!(sql_count(
            &catalog,
            "SELECT count(*) FROM final_entities \
             WHERE final_entity::jsonb->'metadata'->'annotations' ? 'backstage.io/techdocs-ref'"
        )),
        "{docs}"
    );

    let tables = a.ok(
        "list_tables",
        json!({ "target": { "by": "area", "area": "catalog" } }),
    );
    assert!(!arr(&tables).is_empty());
    let rows = a.ok(
        "browse_table",
        json!({
            "target": { "by": "area", "area": "scaffolder" },
            "table": "tasks",
            "query": { "limit": 3, "sort": "created_at", "desc": true, "filters": [] }
        }),
    );
    assert_eq!(arr(&rows["items"]).len(), 3);
    // tasks.secrets leave the core as key names only.
    for row in arr(&rows["items"]) {
        if let Some(secrets) = row["secrets"].as_object() {
            assert!(
                secrets.values().all(|v| v == "<redacted>"),
                "secrets masked: {secrets:?}"
            );
        }
    }
    assert_eq!(
        a.code("browse_table", json!({ "target": { "by": "area", "area": "catalog" }, "table": "no_such_table", "query": {} })),
        "not_found"
    );

    let st = a.ok("migration_status", json!({ "areas": ["catalog"] }));
    assert_eq!(arr(&st).len(), 1);
    let plan = a.ok("migration_plan", json!({ "areas": [] }));
    assert!(arr(&plan).is_empty(), "everything applied: {plan}");
    // Knex: one row per migrations table of the installation, none locked.
    let knex = a.ok("knex_status", json!({}));
    let knex = knex.as_array().or(knex["tables"].as_array()).unwrap();
    let dbs: Vec<String> = shared()
        .psql(
            "postgres",
            &format!("SELECT datname FROM pg_database WHERE datname LIKE '{prefix}%' ORDER BY 1"),
        )
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    let want: i64 = dbs
        .iter()
        .map(|db| {
            sql_count(
                db,
                "SELECT count(*) FROM pg_tables WHERE tablename LIKE '%knex_migrations'",
            )
        })
        .sum();
    assert_eq!(knex.len() as i64, want, "{knex:?}");
    assert!(knex.iter().all(|t| t["locked"] == false), "{knex:?}");
}

#[test]
fn writes_are_refused_in_read_only_mode_and_need_a_typed_confirmation() {
    let prefix = data();
    let a = app();
    a.open(profile_input("guarded", prefix), &password());
    let db = format!("{prefix}catalog");
    assert_eq!(
        a.code(
            "knex_unlock",
            json!({ "database": db, "lockTable": "knex_migrations_lock", "confirm": db })
        ),
        "read_only"
    );
    assert_eq!(
        a.code(
            "apply_migrations",
            json!({ "areas": [], "createDatabases": false, "force": false, "confirm": "guarded" })
        ),
        "read_only"
    );
    // Write mode needs the profile's name typed back.
    assert_eq!(
        a.code(
            "set_write_mode",
            json!({ "profile": "guarded", "enabled": true, "confirmName": "yes" })
        ),
        "config"
    );
    let v = a.ok(
        "set_write_mode",
        json!({ "profile": "guarded", "enabled": true, "confirmName": "guarded" }),
    );
    assert_eq!(v["profile"]["write_mode"], true);
    // Now a wrong confirmation is refused, and the right one releases nothing (no lock held).
    assert_eq!(
        a.code(
            "knex_unlock",
            json!({ "database": db, "lockTable": "knex_migrations_lock", "confirm": "catalog" })
        ),
        "config"
    );
    assert_eq!(
        a.code(
            "apply_migrations",
            json!({ "areas": [], "createDatabases": false, "force": false, "confirm": "nope" })
        ),
        "config"
    );
    let applied = a.ok(
        "apply_migrations",
        json!({ "areas": ["catalog"], "createDatabases": false, "force": false, "confirm": "guarded" }),
    );
    assert!(arr(&applied).is_empty(), "nothing pending: {applied}");
    // Back to read-only: no confirmation needed to turn it off.
    let v = a.ok(
        "set_write_mode",
        json!({ "profile": "guarded", "enabled": false, "confirmName": "" }),
    );
    assert_eq!(v["profile"]["write_mode"], false);
    assert_eq!(
        a.code(
            "knex_unlock",
            json!({ "database": db, "lockTable": "knex_migrations_lock", "confirm": db })
        ),
        "read_only"
    );
}

#[test]
fn a_view_whose_table_is_missing_is_schema_degraded_and_the_overview_degrades_per_count() {
    let prefix = format!("bsiappdeg{}_", std::process::id());
    tauri::async_runtime::block_on(prepare(&prefix, &["catalog"], false));
    shared().psql(&format!("{prefix}catalog"), "DROP TABLE locations CASCADE");
    let a = app();
    a.open(profile_input("degraded", &prefix), &password());
    assert_eq!(
        a.code("locations", json!({ "page": {} })),
        "schema_degraded"
    );
    // The table comes back: the next call reads the live schema again.
    shared().psql(
        &format!("{prefix}catalog"),
        "CREATE TABLE locations (id uuid PRIMARY KEY, type text NOT NULL, target text NOT NULL, \
         location_entity_ref text NOT NULL)",
    );
    let l = a.ok("locations", json!({ "page": {} }));
    assert!(arr(&l["items"]).is_empty());
    shared().psql(&format!("{prefix}catalog"), "DROP TABLE locations");
    // Within the reuse window the opened view still expects the table: the query itself
    // fails (42P01), as schema_degraded, and the next call reads the schema again.
    assert_eq!(
        a.code("locations", json!({ "page": {} })),
        "schema_degraded"
    );
    let e = a.call("locations", json!({ "page": {} })).unwrap_err();
    assert_eq!(e["code"], "schema_degraded");
    assert!(e["message"].as_str().unwrap().contains("locations"), "{e}");
    let caps = a.ok("catalog_capabilities", json!({}));
    let loc = arr(&caps["views"])
        .iter()
        .find(|v| v["available"] == false)
        .expect("one view unavailable");
    assert!(
        loc["reason"].as_str().unwrap().contains("locations"),
        "{caps}"
    );
    // The other catalog views still answer.
    a.ok("processing_errors", json!({ "page": {} }));
    let o = a.ok("overview", json!({}));
    let counts = &o["counts"];
    assert_eq!(counts["entities"]["value"], 0, "{counts}");
    // No scaffolder or auth database here: those counts say why.
    assert!(counts["failed_tasks_24h"]["value"].is_null());
    assert!(
        counts["failed_tasks_24h"]["unavailable"]["code"].is_string(),
        "{counts}"
    );
    assert!(counts["active_sessions"]["unavailable"]["code"].is_string());
}

#[test]
fn a_running_command_is_cancelled_on_the_server() {
    // A catalog of its own: the lock below must not hold up the other tests.
    let prefix = format!("bsiappcancel{}_", std::process::id());
    tauri::async_runtime::block_on(prepare(&prefix, &["catalog"], false));
    let a = app();
    a.open(profile_input("cancelling", &prefix), &password());
    let db = format!("{prefix}catalog");
    // Another session holds a lock that the entity list must wait for.
    let (locked_tx, locked_rx) = std::sync::mpsc::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let holder = {
        let db = db.clone();
        std::thread::spawn(move || {
            tauri::async_runtime::block_on(async move {
                let w = writer("x");
                let pool = w.database(&db).await.unwrap();
                let mut tx = pool.begin().await.unwrap();
                sqlx::query("LOCK TABLE final_entities IN ACCESS EXCLUSIVE MODE")
                    .execute(&mut *tx)
                    .await
                    .unwrap();
                locked_tx.send(()).unwrap();
                let _ = release_rx.recv_timeout(Duration::from_secs(60));
                tx.rollback().await.unwrap();
                w.close().await;
            })
        })
    };
    locked_rx.recv().unwrap();
    let runner = {
        let a = a.ipc.clone();
        std::thread::spawn(move || {
            let started = Instant::now();
            let r = a.call(
                "entities",
                json!({ "query": { "limit": 5 }, "op": "list-under-lock" }),
            );
            (r, started.elapsed())
        })
    };
    // Wait until the query waits for the lock on the server.
    let started = Instant::now();
    loop {
        let waiting = shared().psql(
            &db,
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' \
             AND application_name = 'Backstage Inspector' AND datname = current_database()",
        );
        if waiting.trim() == "1" {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "never waited");
        std::thread::sleep(Duration::from_millis(50));
    }
    let asked = Instant::now();
    let out = a.ok("cancel", json!({ "op": "list-under-lock" }));
    assert_eq!(out["signalled"], 1, "{out}");
    let (r, _) = runner.join().unwrap();
    let e = r.unwrap_err();
    assert_eq!(e["code"], "cancelled", "{e}");
    assert!(
        asked.elapsed() < Duration::from_secs(2),
        "{:?}",
        asked.elapsed()
    );
    release_tx.send(()).unwrap();
    holder.join().unwrap();
    // The same profile keeps working.
    a.ok("entities", json!({ "query": { "limit": 1 } }));
    // A cancel that arrives before its command: the command does not run.
    assert_eq!(a.ok("cancel", json!({ "op": "early" }))["signalled"], 0);
    assert_eq!(
        a.code(
            "entities",
            json!({ "query": { "limit": 1 }, "op": "early" })
        ),
        "cancelled"
    );
    a.ok(
        "entities",
        json!({ "query": { "limit": 1 }, "op": "later" }),
    );
}

/// The real context (tauri.conf.json and the capability): the main window may call the app's
/// commands; any other window may call none.
#[test]
fn the_capability_allows_the_app_commands_to_the_main_window_only() {
    let app = backstage_inspector_app::setup(mock_builder())
        .build(tauri::generate_context!(test = true))
        .unwrap();
    let profiles = tempfile::tempdir().unwrap();
    app.manage(AppState::with_profile_file(
        Launch::default(),
        profiles.path().join("profiles.toml"),
    ));
    let main = Ipc {
        window: WebviewWindowBuilder::new(&app, "main", Default::default())
            .build()
            .unwrap(),
    };
    let other = Ipc {
        window: WebviewWindowBuilder::new(&app, "other", Default::default())
            .build()
            .unwrap(),
    };
    assert!(main.ok("keyring_status", json!({}))["available"].is_boolean());
    assert_eq!(main.ok("list_profiles", json!({})), json!([]));
    for cmd in ["keyring_status", "list_profiles", "decode_jwt"] {
        let e = other.call(cmd, json!({ "token": "x" })).unwrap_err();
        assert!(e.to_string().contains("not allowed"), "{cmd}: {e}");
    }
    // No core plugin permission was granted either.
    let e = main.call("plugin:event|listen", json!({})).unwrap_err();
    assert!(e.to_string().contains("not allowed"), "{e}");
}

/// A Knex lock left held (the "Migration table is already locked" outage): the overview shows
/// it first, and write mode with the database's name typed back releases it.
#[test]
fn a_held_knex_lock_is_shown_and_released_in_write_mode() {
    let prefix = format!("bsiappknex{}_", std::process::id());
    tauri::async_runtime::block_on(prepare(&prefix, &["catalog"], false));
    let db = format!("{prefix}catalog");
    shared().psql(
        &db,
        "CREATE TABLE knex_migrations (id serial PRIMARY KEY, name text, batch int, \
           migration_time timestamptz); \
         INSERT INTO knex_migrations (name, batch, migration_time) \
           VALUES ('20200511113813_init.js', 1, now()); \
         CREATE TABLE knex_migrations_lock (index serial PRIMARY KEY, is_locked int); \
         INSERT INTO knex_migrations_lock (is_locked) VALUES (1)",
    );
    let a = app();
    a.open(profile_input("knex", &prefix), &password());
    let o = a.ok("overview", json!({}));
    let first = &arr(&o["knex"])[0];
    assert_eq!(first["database"], json!(db), "{o}");
    assert_eq!(first["locked"], true, "{o}");
    assert!(first["hint"].is_string());
    // The doctor ranks it first, as critical, with the unlock command for this profile.
    let report = a.ok("doctor", json!({ "op": null }));
    assert_ranked(&report);
    let held = &arr(&report["findings"])[0];
    assert_eq!(held["id"], "knex.lock_held", "{report}");
    assert_eq!(held["severity"], "critical");
    assert_eq!(report["worst"], "critical");
    assert!(
        next_commands(&report).contains(&format!(
            "bsi --profile knex --write knex unlock {db} public.knex_migrations_lock"
        )),
        "{report}"
    );
    let unlock = json!({ "database": db, "lockTable": "knex_migrations_lock", "confirm": db });
    assert_eq!(a.code("knex_unlock", unlock.clone()), "read_only");
    a.ok(
        "set_write_mode",
        json!({ "profile": "knex", "enabled": true, "confirmName": "knex" }),
    );
    let out = a.ok("knex_unlock", unlock.clone());
    assert_eq!(out["released"], 1, "{out}");
    assert_eq!(out["table"], "public.knex_migrations_lock");
    let status = a.ok("knex_status", json!({}));
    let t = arr(&status)
        .iter()
        .find(|t| t["database"] == json!(db))
        .unwrap();
    assert_eq!(t["locked"], false, "{status}");
    assert_eq!(a.ok("knex_unlock", unlock)["released"], 0);
    // The migrations table names its lock, as `knex status` shows it.
    let by_migrations = a.ok(
        "knex_unlock",
        json!({ "database": db, "lockTable": "knex_migrations", "confirm": db }),
    );
    assert_eq!(by_migrations["table"], "public.knex_migrations_lock");
    // Not a Knex table: refused before anything is written.
    assert_eq!(
        a.code(
            "knex_unlock",
            json!({ "database": db, "lockTable": "refresh_state", "confirm": db })
        ),
        "config"
    );
}

#[test]
fn installations_are_listed_chosen_for_the_run_and_saved_as_profiles() {
    let tag = format!("bsiappinst{}_", std::process::id());
    let (a_prefix, b_prefix) = (format!("{tag}a_"), format!("{tag}b_"));
    tauri::async_runtime::block_on(async {
        prepare(&a_prefix, &["catalog", "scaffolder"], false).await;
        prepare(&b_prefix, &["catalog"], false).await;
    });
    let a = app();
    a.open(profile_input("inst", &format!("{tag}none_")), &password());

    // The profile finds nothing: both installations are named.
    let list = a.ok("installations", json!({ "op": null }));
    assert_eq!(list["suggest_others"], true, "{list}");
    let ours: Vec<&Value> = arr(&list["installations"])
        .iter()
        .filter(|i| i["prefix"].as_str().unwrap().starts_with(&tag))
        .collect();
    assert_eq!(ours.len(), 2, "{list}");
    assert_eq!(ours[0]["prefix"], a_prefix.as_str());
    assert_eq!(arr(&ours[0]["plugins"]).len(), 2);
    assert!(ours.iter().all(|i| i["current"] == false));

    // This run looks at b; the saved profile does not change.
    let b_layout = json!({ "mode": "database", "prefix": b_prefix, "database": null });
    let view = a.ok("switch_installation", json!({ "layout": b_layout }));
    assert_eq!(view["profile"]["prefix"], b_prefix.as_str());
    assert_eq!(view["switched"]["prefix"], b_prefix.as_str());
    let status = a.ok("app_status", json!({}));
    assert_eq!(status["profile"]["switched"], true, "{status}");
    assert_eq!(
        status["profile"]["layout"],
        format!("database {b_prefix}").as_str()
    );
    let overview = a.ok("overview", json!({ "op": null }));
    let names: Vec<&str> = arr(&overview["discovery"]["databases"])
        .iter()
        .map(|d| d["database"].as_str().unwrap())
        .collect();
    assert_eq!(names, [format!("{b_prefix}catalog")]);
    // The doctor's next steps point a pasted command at the installation of this run.
    let report = a.ok("doctor", json!({ "op": null }));
    let commands = next_commands(&report);
    assert!(!commands.is_empty(), "{report}");
    for c in &commands {
        assert!(
            c.starts_with(&format!("bsi --profile inst --prefix {b_prefix} ")),
            "{c}"
        );
    }
    let list = a.ok("installations", json!({ "op": null }));
    assert_eq!(list["suggest_others"], false, "{list}");
    let saved = a.ok("get_profile", json!({ "name": "inst" }));
    assert_eq!(saved["profile"]["prefix"], format!("{tag}none_").as_str());

    // A profile for a, saved read-only with the same server.
    let a_layout = json!({ "mode": "database", "prefix": a_prefix, "database": null });
    let r = a.ok(
        "save_installation",
        json!({ "name": "inst-a", "layout": a_layout }),
    );
    assert_eq!(r["view"]["profile"]["prefix"], a_prefix.as_str());
    assert_eq!(r["view"]["profile"]["write_mode"], false);
    assert_eq!(r["view"]["profile"]["port"], shared().port);
    assert_eq!(
        a.code(
            "save_installation",
            json!({ "name": "inst-a", "layout": a_layout })
        ),
        "config",
        "an existing name is not replaced"
    );
    assert_eq!(
        a.code(
            "switch_installation",
            json!({ "layout": { "mode": "schema", "prefix": "", "database": null } })
        ),
        "config"
    );

    // Back to the saved layout.
    let view = a.ok("switch_installation", json!({ "layout": null }));
    assert_eq!(view["switched"], Value::Null);
    assert_eq!(view["profile"]["prefix"], format!("{tag}none_").as_str());
    assert_eq!(a.ok("app_status", json!({}))["profile"]["switched"], false);
}

/// Connections being made when the run switches to another installation (here: while a slow
/// password command runs) never outlive the switch: the next read is of the new installation.
#[test]
fn a_switch_while_connections_are_being_made_reads_the_new_installation() {
    let tag = format!("bsiappswitch{}_", std::process::id());
    let (a_prefix, b_prefix) = (format!("{tag}a_"), format!("{tag}b_"));
    tauri::async_runtime::block_on(async {
        prepare(&a_prefix, &["catalog"], false).await;
        prepare(&b_prefix, &["catalog"], false).await;
    });
    let a = app();
    let mut input = profile_input("slow", &a_prefix);
    // The password comes from a command that takes a second (as a token command may).
    let pw = password().replace('\'', "'\\''");
    input["password_command"] = json!(format!("sleep 1; printf '%s\\n' '{pw}'"));
    a.ok("add_profile", json!({ "input": input }));
    a.ok("open_profile", json!({ "name": "slow", "password": null }));

    let databases = |overview: &Value| -> Vec<String> {
        arr(&overview["discovery"]["databases"])
            .iter()
            .map(|d| d["database"].as_str().unwrap().to_string())
            .collect()
    };
    // A read starts making connections for a; the switch to b comes while the command runs.
    let ipc = a.ipc.clone();
    let first = std::thread::spawn(move || ipc.call("overview", json!({ "op": null })));
    std::thread::sleep(Duration::from_millis(300));
    let b_layout = json!({ "mode": "database", "prefix": b_prefix, "database": null });
    a.ok("switch_installation", json!({ "layout": b_layout }));
    // The first read belongs to a (or fails as its connections were closed): either way the
    // UI drops it. What comes after the switch is b's.
    if let Ok(v) = first.join().unwrap() {
        assert_eq!(databases(&v), [format!("{a_prefix}catalog")]);
    }
    let overview = a.ok("overview", json!({ "op": null }));
    assert_eq!(databases(&overview), [format!("{b_prefix}catalog")]);
}

#[test]
fn the_first_screen_read_at_launch_is_shown_once_then_read_afresh() {
    let prefix = format!("bsiappwarm{}_", std::process::id());
    tauri::async_runtime::block_on(prepare(&prefix, &AREAS, true));
    let catalog = format!("{prefix}catalog");
    let stitched = || -> i64 {
        shared()
            .psql(
                &catalog,
                "SELECT count(*) FROM final_entities WHERE final_entity IS NOT NULL",
            )
            .parse()
            .unwrap()
    };
    let drop_five = || {
        shared().psql(
            &catalog,
            "DELETE FROM final_entities WHERE entity_id IN \
             (SELECT entity_id FROM final_entities WHERE final_entity IS NOT NULL LIMIT 5)",
        );
    };
    let entities = |o: &Value| o["counts"]["entities"]["value"].as_i64().unwrap();
    let names = |status: &Value| -> Vec<String> {
        let mut names: Vec<String> = arr(&status["databases"])
            .iter()
            .map(|d| d["name"].as_str().unwrap().to_string())
            .collect();
        names.sort();
        names
    };
    let search = format!("{prefix}search");
    let a = app();
    a.open(profile_input("warm", &prefix), &password());
    let state = a.window.state::<AppState>();
    let at_launch = stitched();
    assert!(at_launch > 10, "{at_launch}");

    // The launch's read (as the app starts it beside the webview), then the data moves on: five
    // entities and the search database go.
    tauri::async_runtime::block_on(state.warm_up());
    drop_five();
    shared().psql(
        "postgres",
        &format!("DROP DATABASE \"{search}\" WITH (FORCE)"),
    );

    // The window's first status and overview are the launch's read, not a second one.
    let status = a.ok("app_status", json!({}));
    assert_eq!(status["connected"], true, "{status}");
    assert!(names(&status).contains(&search), "{status}");
    assert_eq!(entities(&a.ok("overview", json!({}))), at_launch);
    // Shown once: what comes after reads the database as it is now.
    assert_eq!(entities(&a.ok("overview", json!({}))), at_launch - 5);
    let status = a.ok("app_status", json!({}));
    let now = names(&status);
    assert!(now.contains(&catalog) && !now.contains(&search), "{status}");

    // A read made for the connections of before is never shown after they were closed (the
    // profile opened again).
    tauri::async_runtime::block_on(state.warm_up());
    drop_five();
    a.ok(
        "open_profile",
        json!({ "name": "warm", "password": password() }),
    );
    assert_eq!(entities(&a.ok("overview", json!({}))), at_launch - 10);
}

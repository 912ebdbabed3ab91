//! The registry (`src-tauri/registry.rs`) against what the app really does: every registered
//! command is bound to a handler, the capability allows the main window exactly the registered
//! commands (through the app's real access control, resolved at build time), and every one has
//! its function in the generated TypeScript. A command declared with `#[command]` but not
//! registered does not compile. No database is needed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use backstage_inspector_app::state::{AppState, Launch};
use backstage_inspector_app::{COMMANDS, SPECS, bindings};
use common::call;
use serde_json::{Value, json};
use tauri::test::{MockRuntime, mock_builder, mock_context};
use tauri::webview::{WebviewWindow, WebviewWindowBuilder};
use tauri::{Context, Manager};

/// A mock app with the real commands and a fresh state, built with `context`.
fn app(context: Context<MockRuntime>, profiles: &tempfile::TempDir) -> tauri::App<MockRuntime> {
    let app = backstage_inspector_app::setup(mock_builder())
        .build(context)
        .unwrap();
    app.manage(AppState::with_profile_file(
        Launch::default(),
        profiles.path().join("profiles.toml"),
    ));
    app
}

/// The window `label`: the app's own when its configuration creates it, else a new one.
fn window(app: &tauri::App<MockRuntime>, label: &str) -> WebviewWindow<MockRuntime> {
    app.get_webview_window(label).unwrap_or_else(|| {
        WebviewWindowBuilder::new(app, label, Default::default())
            .build()
            .unwrap()
    })
}

/// Tauri's rejection of a command that no handler knows.
fn not_found(cmd: &str) -> Value {
    Value::String(format!("Command {cmd} not found"))
}

/// Whether a rejection is Tauri's access control refusing the command.
fn refused(e: &Value) -> bool {
    e.as_str().is_some_and(|s| s.contains("not allowed"))
}

/// Well-formed arguments for each command, and what it answers on a fresh app with no
/// profile open: `Ok` for the commands that need none, else its own domain error code.
fn calls() -> Vec<(&'static str, Value, Result<(), &'static str>)> {
    let entity = json!("component:default/x");
    let layout = json!({ "mode": "database", "prefix": "backstage_plugin_" });
    let target = json!({ "by": "area", "area": "catalog" });
    let no_profile = Err("config");
    vec![
        ("app_status", json!({}), Ok(())),
        ("about", json!({}), Ok(())),
        ("list_profiles", json!({}), Ok(())),
        ("get_profile", json!({ "name": "nope" }), Err("not_found")),
        (
            "add_profile",
            json!({ "input": { "name": "" } }),
            Err("config"),
        ),
        (
            "import_app_config",
            json!({ "name": "x", "files": ["/nonexistent/app-config.yaml"], "update": false }),
            Err("config"),
        ),
        ("remove_profile", json!({ "name": "nope" }), Ok(())),
        (
            "test_connection",
            json!({ "name": "nope", "password": null }),
            Err("not_found"),
        ),
        (
            "test_profile_input",
            json!({ "input": { "name": "" } }),
            Err("config"),
        ),
        ("keyring_status", json!({}), Ok(())),
        (
            "set_write_mode",
            json!({ "profile": "nope", "enabled": true, "confirmName": "nope" }),
            Err("not_found"),
        ),
        (
            "open_profile",
            json!({ "name": "nope", "password": null }),
            Err("not_found"),
        ),
        ("current_profile", json!({}), Ok(())),
        ("close_profile", json!({}), Ok(())),
        (
            "switch_installation",
            json!({ "layout": layout }),
            no_profile,
        ),
        (
            "save_installation",
            json!({ "name": "x", "layout": layout }),
            no_profile,
        ),
        ("cancel", json!({ "op": "nothing-running" }), Ok(())),
        ("overview", json!({ "op": null }), no_profile),
        ("installations", json!({ "op": null }), no_profile),
        ("doctor", json!({ "op": null }), no_profile),
        ("entities", json!({ "query": { "limit": 1 } }), no_profile),
        (
            "facets",
            json!({ "filter": {}, "fields": ["kind"] }),
            no_profile,
        ),
        ("entity", json!({ "entityRef": entity }), no_profile),
        ("why", json!({ "entityRef": entity }), no_profile),
        ("processing_errors", json!({ "page": {} }), no_profile),
        ("orphans", json!({ "page": {} }), no_profile),
        (
            "stale",
            json!({ "olderThan": "1h", "page": {} }),
            no_profile,
        ),
        ("locations", json!({ "page": {} }), no_profile),
        ("catalog_capabilities", json!({}), no_profile),
        (
            "graph_neighbourhood",
            json!({ "args": { "roots": [entity], "depth": 1, "direction": "both" } }),
            no_profile,
        ),
        (
            "graph_path",
            json!({ "from": entity, "to": entity, "maxDepth": 3, "types": [] }),
            no_profile,
        ),
        ("broken_refs", json!({ "limit": 5 }), no_profile),
        ("tasks", json!({ "args": { "limit": 5 } }), no_profile),
        (
            "task",
            json!({ "id": "00000000-0000-0000-0000-000000000000" }),
            no_profile,
        ),
        ("offline_sessions", json!({ "args": {} }), no_profile),
        ("browser_sessions", json!({ "args": {} }), no_profile),
        ("oauth_sessions", json!({ "args": {} }), no_profile),
        ("signing_keys", json!({}), no_profile),
        (
            "user_info",
            json!({ "args": { "users": ["user:default/x"] } }),
            no_profile,
        ),
        (
            "decode_jwt",
            json!({ "token": "not a token" }),
            Err("config"),
        ),
        ("search_types", json!({}), no_profile),
        ("search", json!({ "args": { "query": "x" } }), no_profile),
        ("techdocs", json!({ "page": {} }), no_profile),
        ("list_tables", json!({ "target": target }), no_profile),
        (
            "browse_table",
            json!({ "target": target, "table": "locations", "query": {} }),
            no_profile,
        ),
        (
            "console_run",
            json!({ "target": target, "sql": "SELECT 1", "options": {} }),
            no_profile,
        ),
        (
            "console_explain",
            json!({ "target": target, "sql": "SELECT 1", "analyze": false }),
            no_profile,
        ),
        ("console_recipes", json!({}), Ok(())),
        (
            "console_recipe",
            json!({ "target": target, "id": "knex-state", "params": {}, "options": {} }),
            no_profile,
        ),
        (
            "console_copy",
            json!({ "request": { "columns": ["a"], "rows": [[1]], "format": "csv" } }),
            Ok(()),
        ),
        ("console_history", json!({ "search": "" }), no_profile),
        ("console_saved", json!({}), no_profile),
        (
            "console_save",
            json!({ "name": "q", "sql": "SELECT 1", "target": target }),
            no_profile,
        ),
        ("console_delete_saved", json!({ "name": "q" }), no_profile),
        ("migration_status", json!({ "areas": [] }), no_profile),
        ("migration_plan", json!({ "areas": [] }), no_profile),
        (
            "apply_migrations",
            json!({ "areas": [], "createDatabases": false, "force": false, "confirm": "x" }),
            no_profile,
        ),
        ("knex_status", json!({}), no_profile),
        (
            "knex_unlock",
            json!({ "database": "x", "lockTable": "knex_migrations_lock", "confirm": "x" }),
            no_profile,
        ),
    ]
}

#[test]
fn every_listed_command_is_registered_and_answers_for_itself() {
    // Without the app's access control: every call reaches the handler.
    let profiles = tempfile::tempdir().unwrap();
    let app = app(mock_context(tauri::test::noop_assets()), &profiles);
    let main = window(&app, "main");
    let calls = calls();
    let listed: Vec<&str> = calls.iter().map(|(c, _, _)| *c).collect();
    assert_eq!(
        listed, COMMANDS,
        "one call per registered command, in order"
    );
    let mut wrong = Vec::new();
    for (cmd, args, want) in calls {
        // Well-formed arguments reach the command itself: it answers, or rejects with its own
        // `{code, message}`, never with Tauri's complaint about its arguments.
        match (call(&main, cmd, args), want) {
            (Ok(_), Ok(())) => {}
            (Err(e), Err(code))
                if e["code"] == code && e["message"].as_str().is_some_and(|m| !m.is_empty()) => {}
            (got, want) => wrong.push(format!("{cmd}: expected {want:?}, got {got:?}")),
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert_eq!(
        call(&main, "no_such_command", json!({})).unwrap_err(),
        not_found("no_such_command")
    );
}

#[test]
fn the_capability_allows_the_main_window_exactly_the_registered_commands() {
    // The app's real context: its configuration (which creates the main window) and the access
    // control resolved from src-tauri/capabilities at build time.
    let profiles = tempfile::tempdir().unwrap();
    let app = app(backstage_inspector_app::context(), &profiles);
    let main = window(&app, "main");
    for cmd in COMMANDS {
        if let Err(e) = call(&main, cmd, json!({})) {
            assert!(!refused(&e), "{cmd} is not allowed: {e}");
            assert_ne!(e, not_found(cmd), "{cmd} has no handler");
        }
    }
    // Nothing else: no other name, no core plugin command.
    for cmd in [
        "no_such_command",
        "plugin:app|version",
        "plugin:event|listen",
    ] {
        match call(&main, cmd, json!({})) {
            Err(e) if refused(&e) => {}
            other => panic!("{cmd} is allowed: {other:?}"),
        }
    }
    // And no other window.
    let other = window(&app, "other");
    match call(&other, "app_status", json!({})) {
        Err(e) if refused(&e) => {}
        other => panic!("app_status is allowed in another window: {other:?}"),
    }
}

#[test]
fn every_listed_command_has_its_typescript_function() {
    let names: Vec<&str> = SPECS.iter().map(|s| s.name).collect();
    assert_eq!(names, COMMANDS);
    let files = bindings::render().unwrap();
    let ts = &files[std::path::Path::new("commands.ts")];
    for spec in SPECS {
        let function = camel(spec.name);
        assert!(
            ts.contains(&format!("export function {function}(")),
            "no function {function} for {}",
            spec.name
        );
        let call = ts
            .lines()
            .find(|l| l.contains(&format!("('{}'", spec.name)))
            .unwrap_or_else(|| panic!("{function} does not call {}", spec.name));
        for arg in spec.args {
            assert!(
                call.contains(&camel(arg.name)),
                "{function} does not send {}: {call}",
                arg.name
            );
        }
    }
}

fn camel(s: &str) -> String {
    let mut parts = s.split('_');
    let mut out = parts.next().unwrap_or_default().to_string();
    for p in parts {
        let mut chars = p.chars();
        if let Some(c) = chars.next() {
            out.extend(c.to_uppercase());
            out.push_str(chars.as_str());
        }
    }
    out
}

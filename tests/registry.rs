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

#[test]
fn every_listed_command_is_registered() {
    // Without the app's access control: every call reaches the handler.
    let profiles = tempfile::tempdir().unwrap();
    let app = app(mock_context(tauri::test::noop_assets()), &profiles);
    let main = window(&app, "main");
    for cmd in COMMANDS {
        // Without arguments, a command answers, rejects with {code, message}, or rejects its
        // missing arguments: whatever it does, its handler is found.
        if let Err(e) = call(&main, cmd, json!({})) {
            assert_ne!(e, not_found(cmd), "{cmd} has no handler");
        }
    }
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

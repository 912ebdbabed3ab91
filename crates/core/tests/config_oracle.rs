//! The import of app-config files against Backstage's own reading of them: every case folder
//! in fixtures/appconfig/oracle/ goes through `tests/config-oracle/run` (Backstage's
//! `@backstage/config-loader` and `@backstage/backend-defaults` DatabaseManager, pinned in
//! tests/config-oracle/package-lock.json) and through [`import`], and the settings each plugin
//! connects with must be the same. Where Backstage refuses the files, the import must refuse
//! them too, naming the file or variable and the key.
//!
//! Deliberate differences, normalised here: where Backstage uses no TLS because `ssl` is unset,
//! the profile says `prefer` (TLS when the server offers it); the tokens of the `azure` and
//! `rds` connection types are not fetched, so the profile has no password there.

use std::path::{Path, PathBuf};
use std::process::Command;

use bsi_core::appconfig::{Imported, VarList, import};
use bsi_core::profile::DivisionMode;
use bsi_core::tls::{SslMode, TlsSettings};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/appconfig/oracle")
}

fn oracle_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/config-oracle/run")
}

fn sha(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    digest
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>()[..16]
        .to_string()
}

/// The case's environment: `NAME=value` lines, values taken as written, in order.
fn read_env(dir: &Path) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(dir.join("env")).unwrap_or_default();
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (k, v) = l.split_once('=').expect("env lines are NAME=value");
            (k.to_string(), v.to_string())
        })
        .collect()
}

fn read_files(dir: &Path) -> Vec<PathBuf> {
    match std::fs::read_to_string(dir.join("files")) {
        Ok(text) => text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(|l| dir.join(l))
            .collect(),
        Err(_) => vec![dir.join("app-config.yaml")],
    }
}

fn ssl_of(tls: &TlsSettings) -> Value {
    match tls.sslmode {
        // `prefer` stands where node-postgres uses no TLS (see the module comment).
        SslMode::Disable | SslMode::Allow | SslMode::Prefer => json!({ "mode": "off" }),
        SslMode::Require => json!({ "mode": "no-verify" }),
        SslMode::VerifyCa | SslMode::VerifyFull => {
            let ca = match (&tls.root_cert_pem, &tls.root_cert) {
                (Some(pem), _) => Some(sha(pem.trim())),
                (None, Some(path)) => Some(sha(std::fs::read_to_string(path)
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
                    .trim())),
                (None, None) => None,
            };
            json!({ "mode": "verify", "ca": ca })
        }
    }
}

/// What the import says plugin `id` connects with, in the oracle's shape.
fn ours(imported: &Imported, id: &str) -> Value {
    let p = &imported.profile;
    if let Some(client) = imported.other_clients.get(id) {
        return json!({ "client": client });
    }
    let over = p.plugins.get(id).cloned().unwrap_or_default();
    let (database, schema) = match p.mode {
        DivisionMode::Schema => (
            over.database.clone().or_else(|| p.database.clone()),
            Some(format!("{}{id}", p.schema_prefix)),
        ),
        DivisionMode::Single => (over.database.clone().or_else(|| p.database.clone()), None),
        DivisionMode::Database => (Some(p.plugin_database(id)), None),
    };
    let tls = over.tls.clone().unwrap_or_else(|| p.tls.clone());
    let kind = over
        .connection_type
        .or(p.connection_type)
        .map(|t| t.as_str().to_string());
    let password = if over.own_password {
        imported.plugin_passwords.get(id)
    } else {
        imported.password.as_ref()
    };
    let password = match (kind.as_deref(), password) {
        (Some("azure" | "rds"), None) => Some("token".to_string()),
        (_, pw) => pw.map(|s| sha(s.expose())),
    };
    let user = over.user.clone().unwrap_or_else(|| p.user.clone());
    json!({
        "client": "pg",
        "host": over.host.clone().unwrap_or_else(|| p.host.clone()),
        "port": over.port.unwrap_or(p.port),
        "user": if user.is_empty() { Value::Null } else { Value::String(user) },
        "database": database,
        "schema": schema,
        "ssl": ssl_of(&tls),
        "password": password,
        "type": kind,
    })
}

/// The oracle's values as the profile holds them: node-postgres keeps a number as given
/// (`user: 42`), the profile as text.
fn normalise(mut v: Value) -> Value {
    if let Some(user) = v.get_mut("user")
        && let Value::Number(n) = user
    {
        *user = Value::String(n.to_string());
    }
    if let Some(Value::Object(ssl)) = v.get_mut("ssl")
        && ssl.get("mode") == Some(&json!("verify"))
    {
        ssl.entry("ca").or_insert(Value::Null);
    }
    v
}

fn run_oracle(cases: &[PathBuf]) -> Value {
    let script = oracle_script();
    let output = Command::new(&script)
        .args(cases)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {}: {e}; it needs Node.js and npm (scripts/setup installs them)",
                script.display()
            )
        });
    assert!(
        output.status.success(),
        "the config oracle failed ({}): {}\nrun scripts/setup, or `npm ci` in tests/config-oracle",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("the oracle prints JSON")
}

/// Compares one case; `Err` describes the disagreement.
fn compare(dir: &Path, expected: &Value) -> Result<(), String> {
    let env = VarList(read_env(dir));
    let files = read_files(dir);
    let result = import("oracle", &files, &env);

    let refused = expected.get("error").cloned().or_else(|| {
        expected["plugins"]
            .as_object()
            .and_then(|m| m.values().find_map(|v| v.get("error").cloned()))
    });
    if let Some(reason) = refused {
        return match result {
            Ok(i) => Err(format!(
                "Backstage refuses ({reason}) but the import gave {:?}",
                i.profile
            )),
            Err(e) => {
                let msg = e.to_string();
                let names_place = msg.contains(&dir.display().to_string())
                    || msg.contains("APP_CONFIG_")
                    || msg.contains("app-config");
                let names_key = msg.contains("backend.database") || msg.contains("APP_CONFIG_");
                if names_place && names_key {
                    Ok(())
                } else {
                    Err(format!(
                        "refused as Backstage does, but the message names no file and key: {msg}"
                    ))
                }
            }
        };
    }
    let imported = result.map_err(|e| format!("Backstage accepts it, the import fails: {e}"))?;
    let mut problems = Vec::new();
    for (id, theirs) in expected["plugins"].as_object().expect("plugins") {
        let theirs = normalise(theirs.clone());
        let mine = ours(&imported, id);
        if theirs != mine {
            problems.push(format!(
                "  {id}: Backstage {theirs}\n  {id}: import    {mine}"
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

#[test]
fn the_import_reads_app_config_as_backstage_does() {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(cases_dir())
        .expect("case folders")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(cases.len() >= 30, "only {} cases", cases.len());
    let oracle = run_oracle(&cases);

    let mut failures = Vec::new();
    for dir in &cases {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let expected = oracle
            .get(&name)
            .unwrap_or_else(|| panic!("the oracle gave nothing for {name}"));
        if let Err(why) = compare(dir, expected) {
            failures.push(format!("{name}:\n{why}"));
        }
    }
    eprintln!(
        "{} of {} cases agree with Backstage",
        cases.len() - failures.len(),
        cases.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} cases differ from Backstage:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}

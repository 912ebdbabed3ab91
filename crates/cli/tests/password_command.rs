//! `--password-command` and a profile's saved password command: the first line of the
//! command's output connects; a failing command is a configuration error (exit 3) that shows
//! what the command said.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use bsi_testkit::shared;
use common::text;

#[test]
fn the_password_command_connects_and_its_failure_is_shown() {
    let s = shared();
    let config = tempfile::tempdir().unwrap();
    let url = format!(
        "postgresql://postgres@localhost:{}/postgres?sslmode=require",
        s.port
    );
    let cmd = format!("printf '%s\\n' '{}'", s.password);

    let out = run_in(
        config.path(),
        &["--url", &url, "--password-command", &cmd, "profile", "test"],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        !text(&out).contains(&s.password),
        "the password was printed"
    );

    let out = run_in(
        config.path(),
        &[
            "--url",
            &url,
            "--password-command",
            "echo 'op: not signed in' >&2; exit 1",
            "profile",
            "test",
        ],
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let t = text(&out);
    assert!(
        t.contains("exit status 1") && t.contains("op: not signed in"),
        "{t}"
    );

    // Saved with a profile: used whenever the profile is, and shown (it is not a secret).
    let out = run_in(
        config.path(),
        &[
            "profile",
            "add",
            "vaulted",
            "--from-url",
            &url,
            "--password-command",
            &cmd,
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let out = run_in(config.path(), &["--profile", "vaulted", "profile", "test"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = run_in(config.path(), &["profile", "show", "vaulted", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["password_command"], cmd.as_str());
    let saved = std::fs::read_to_string(config.path().join("profiles.toml")).unwrap();
    assert!(saved.contains("password_command"));
}

fn run_in(config: &Path, args: &[&str]) -> std::process::Output {
    common::bsi_in(config, args, None)
}

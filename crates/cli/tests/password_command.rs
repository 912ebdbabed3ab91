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

/// The CLI's password order, first found wins: the URL's password, then the password
/// command, then `PGPASSWORD`. A wrong password earlier in the order is used (and fails with
/// exit code 5) even when a later source has the right one.
#[test]
fn the_first_password_found_is_used_in_the_documented_order() {
    let s = shared();
    let config = tempfile::tempdir().unwrap();
    let with_password = |pw: &str| {
        format!(
            "postgresql://postgres:{pw}@localhost:{}/postgres?sslmode=require",
            s.port
        )
    };
    let bare = common::url();
    let right_cmd = format!("printf '%s\\n' '{}'", s.password);
    let wrong_cmd = "echo not-the-password".to_string();
    let cases: [(&str, String, Option<&String>, &str, bool); 5] = [
        // (case, URL, password command, PGPASSWORD, connects)
        (
            "URL right, PGPASSWORD wrong",
            with_password(&s.password),
            None,
            "wrong",
            true,
        ),
        (
            "URL wrong, PGPASSWORD right",
            with_password("wrong"),
            None,
            &s.password,
            false,
        ),
        (
            "URL wrong, command right",
            with_password("wrong"),
            Some(&right_cmd),
            &s.password,
            false,
        ),
        (
            "command right, PGPASSWORD wrong",
            bare.clone(),
            Some(&right_cmd),
            "wrong",
            true,
        ),
        (
            "command wrong, PGPASSWORD right",
            bare.clone(),
            Some(&wrong_cmd),
            &s.password,
            false,
        ),
    ];
    for (case, url, cmd, pg, connects) in cases {
        let mut args = vec!["--url", url.as_str()];
        if let Some(c) = cmd {
            args.extend(["--password-command", c.as_str()]);
        }
        args.extend(["profile", "test"]);
        let out = common::bsi_in(config.path(), &args, Some(pg));
        if connects {
            assert!(out.status.success(), "{case}: {}", text(&out));
        } else {
            assert_eq!(out.status.code(), Some(5), "{case}: {}", text(&out));
        }
    }
}

//! `bsi --version`, `bsi completions SHELL` and `bsi man`: none of them needs a profile or a
//! database.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Output, Stdio};

fn bsi(args: &[&str]) -> Output {
    let config = tempfile::tempdir().unwrap();
    Command::new(env!("CARGO_BIN_EXE_bsi"))
        .args(args)
        .env("BSI_CONFIG_DIR", config.path())
        .env_remove("BSI_PROFILE")
        .env_remove("PGPASSWORD")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// `YYYY-MM-DD` with a plausible month and day.
fn is_date(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    let digits = |p: &str, n: usize| p.len() == n && p.bytes().all(|b| b.is_ascii_digit());
    parts.len() == 3
        && digits(parts[0], 4)
        && digits(parts[1], 2)
        && digits(parts[2], 2)
        && (1..=12).contains(&parts[1].parse::<u32>().unwrap())
        && (1..=31).contains(&parts[2].parse::<u32>().unwrap())
}

#[test]
fn version_names_the_commit_and_the_build_date() {
    let out = bsi(&["--version"]);
    assert!(out.status.success(), "{out:?}");
    let line = stdout(&out);
    let line = line.trim_end();
    // bsi 0.1.0 (commit <10 hex digits or unknown>, built YYYY-MM-DD)
    let rest = line
        .strip_prefix(concat!("bsi ", env!("CARGO_PKG_VERSION"), " (commit "))
        .unwrap_or_else(|| panic!("unexpected version line: {line:?}"));
    let (commit, rest) = rest.split_once(", built ").expect(line);
    let date = rest.strip_suffix(')').expect(line);
    assert!(
        commit == "unknown"
            || (commit.len() == 10 && commit.bytes().all(|b| b.is_ascii_hexdigit())),
        "commit {commit:?} in {line:?}"
    );
    assert!(is_date(date), "date {date:?} in {line:?}");
}

#[test]
fn completions_know_the_subcommands() {
    for shell in ["bash", "zsh", "fish"] {
        let out = bsi(&["completions", shell]);
        assert!(out.status.success(), "{shell}: {out:?}");
        let script = stdout(&out);
        for sub in ["entities", "sql", "doctor", "completions"] {
            assert!(script.contains(sub), "{shell} completions lack {sub}");
        }
    }
    for shell in ["elvish", "powershell"] {
        let out = bsi(&["completions", shell]);
        assert!(out.status.success(), "{shell}: {out:?}");
        assert!(stdout(&out).contains("entities"), "{shell}");
    }
}

#[test]
fn an_unknown_shell_is_a_usage_error() {
    let out = bsi(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(out.stdout.is_empty());
}

#[test]
fn man_writes_a_roff_page() {
    let out = bsi(&["man"]);
    assert!(out.status.success(), "{out:?}");
    let page = stdout(&out);
    // The page opens with roff: clap_mangen's two-line quote preamble, then the title.
    let th = page
        .lines()
        .take(3)
        .find(|l| l.starts_with(".TH"))
        .unwrap_or_else(|| panic!("no .TH at the start: {page:.200}"));
    assert!(th.contains("bsi"), "{th}");
    assert!(page.contains("entities"));
}

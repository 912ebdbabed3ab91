//! `bsi fix ...` on a throw-away copy of a database a real Backstage backend wrote: the dry
//! run prints the plan and the SQL and changes nothing; read-only mode refuses with a
//! command to paste; without a terminal a confirmation is needed; `--write --yes` changes the
//! row, prints the result read again and leaves one line in the audit log.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use bsi_testkit::backstage::restore;
use bsi_testkit::shared;
use common::{text, url};

fn bsi_in(config: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bsi"))
        .args(args)
        .env("BSI_CONFIG_DIR", config)
        .env("PGPASSWORD", &shared().password)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn refresh_through_the_cli_dry_run_read_only_confirmation_write_and_audit() {
    let s = shared();
    let prefix = format!("bsifixcli{}_", std::process::id());
    restore(s, "current", &prefix);
    let cat = format!("{prefix}catalog");
    let entity = s
        .psql(
            &cat,
            "SELECT target_entity_ref FROM refresh_state_references \
             WHERE source_entity_ref LIKE 'location:%' ORDER BY 1 LIMIT 1",
        )
        .trim()
        .to_string();
    s.psql(
        &cat,
        "UPDATE refresh_state SET next_update_at = now() + interval '1 day'",
    );
    let due = || {
        s.psql(
            &cat,
            &format!(
                "SELECT next_update_at <= now() FROM refresh_state WHERE entity_ref = '{entity}'"
            ),
        )
        .trim()
        .to_string()
    };
    let config = tempfile::tempdir().unwrap();
    let u = url();
    let base = ["--url", u.as_str(), "--prefix", prefix.as_str()];
    let run = |extra: &[&str]| {
        let mut args: Vec<&str> = base.to_vec();
        args.extend_from_slice(extra);
        bsi_in(config.path(), &args)
    };

    // The dry run: the plan, the SQL with its values, nothing changed.
    let out = run(&["fix", "refresh", &entity, "--dry-run"]);
    assert!(out.status.success(), "{}", text(&out));
    let t = String::from_utf8_lossy(&out.stdout).to_string();
    for want in [
        "Schedule",
        "DefaultRefreshService",
        "SQL (one transaction)",
        "BEGIN;",
        "SET next_update_at = now() WHERE entity_ref = ANY($1);",
        &format!("--   $1 = ARRAY['{entity}'"),
        "Dry run: nothing was changed.",
    ] {
        assert!(t.contains(want), "`{want}` missing from:\n{t}");
    }
    assert_eq!(due(), "f");

    // Read-only mode refuses before asking, with a command to paste.
    let out = run(&["fix", "refresh", &entity, "--yes"]);
    assert_eq!(out.status.code(), Some(8), "{}", text(&out));
    let t = text(&out);
    assert!(t.contains("--dry-run"), "{t}");
    assert!(
        t.contains(&format!(
            "bsi --write --url '{u}' --prefix {prefix} fix refresh {entity} --yes"
        )),
        "{t}"
    );
    assert_eq!(due(), "f");

    // Without a terminal, a confirmation is needed.
    let out = run(&["--write", "fix", "refresh", &entity]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains("--yes"));
    assert_eq!(due(), "f");
    assert!(!config.path().join("audit.log").exists());

    // Write mode and --yes: done, read again, recorded.
    let out = run(&["--write", "fix", "refresh", &entity, "--yes"]);
    assert!(out.status.success(), "{}", text(&out));
    let t = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(t.contains("Done: Schedule"), "{t}");
    assert!(t.contains(&format!("{entity}: next update at")), "{t}");
    assert!(t.contains("Recorded in"), "{t}");
    assert_eq!(due(), "t");
    let log = std::fs::read_to_string(config.path().join("audit.log")).unwrap();
    assert_eq!(log.lines().count(), 1);
    let line: serde_json::Value = serde_json::from_str(log.trim()).unwrap();
    assert_eq!(line["fix"], "refresh");
    assert_eq!(line["database"], cat.as_str());
    assert_eq!(line["rows"][0], 2);

    // JSON, and a ref nowhere in the catalog.
    let out = run(&["--json", "--write", "fix", "refresh", &entity, "--yes"]);
    assert!(out.status.success(), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["rows"][0], 2, "{v}");
    assert_eq!(v["plan"]["fix"], "refresh");
    let out = run(&[
        "fix",
        "refresh",
        "component:default/never-registered",
        "--dry-run",
    ]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    // The hint is pasteable: this run's connection options, then the command.
    let t = text(&out);
    assert!(t.contains("`bsi --"), "{t}");
    assert!(
        t.contains(" why component:default/never-registered`"),
        "{t}"
    );
    assert_eq!(
        std::fs::read_to_string(config.path().join("audit.log"))
            .unwrap()
            .lines()
            .count(),
        2
    );
}

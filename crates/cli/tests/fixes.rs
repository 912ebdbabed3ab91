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

/// The other fixes through the CLI on a copy of the 2022-08 databases (a held Knex lock, orphans,
/// tasks left processing): each dry run names its target and changes nothing; `--write --yes`
/// changes exactly the row psql then reads.
#[test]
fn every_other_fix_plans_then_applies_through_the_cli() {
    let s = shared();
    let prefix = format!("fixall{}_", std::process::id());
    restore(s, "2022-08", &prefix);
    let cat = format!("{prefix}catalog");
    let scaf = format!("{prefix}scaffolder");
    let q = |db: &str, sql: &str| s.psql(db, sql).trim().to_string();
    q(
        &scaf,
        "INSERT INTO backstage_backend_tasks__tasks (id, settings_json, next_run_start_at, \
         current_run_ticket, current_run_started_at, current_run_expires_at) VALUES \
         ('cli-expired', '{}', now() - interval '2 hours', 'ticket-1', now() - interval '3 hours', \
          now() - interval '2 hours')",
    );
    let orphan = "component:default/old-checkout";
    let task = q(
        &scaf,
        "SELECT id FROM tasks WHERE status = 'processing' ORDER BY created_at LIMIT 1",
    );
    assert!(!task.is_empty());
    let config = tempfile::tempdir().unwrap();
    let u = url();
    let run = |extra: &[&str]| {
        let mut args = vec!["--url", u.as_str(), "--prefix", prefix.as_str()];
        args.extend_from_slice(extra);
        bsi_in(config.path(), &args)
    };
    let probes: [(&[&str], &str, &str, &str, &str); 4] = [
        (
            &["delete-orphan", orphan],
            cat.as_str(),
            "SELECT count(*) FROM refresh_state WHERE entity_ref = 'component:default/old-checkout'",
            "1",
            "0",
        ),
        (
            &["clear-ticket", "cli-expired", "--area", "scaffolder"],
            scaf.as_str(),
            "SELECT coalesce(current_run_ticket, 'none') FROM backstage_backend_tasks__tasks WHERE id = 'cli-expired'",
            "ticket-1",
            "none",
        ),
        (
            &["fail-task", task.as_str()],
            scaf.as_str(),
            &format!("SELECT status FROM tasks WHERE id = '{task}'"),
            "processing",
            "failed",
        ),
        (
            &["knex-unlock", scaf.as_str(), "knex_migrations"],
            scaf.as_str(),
            "SELECT is_locked FROM knex_migrations_lock",
            "1",
            "0",
        ),
    ];
    for (fix, db, probe, before, after) in probes {
        assert_eq!(q(db, probe), before, "{fix:?}");
        let mut args = vec!["fix"];
        args.extend_from_slice(fix);
        let mut dry = args.clone();
        dry.push("--dry-run");
        let out = run(&dry);
        assert!(out.status.success(), "{fix:?}: {}", text(&out));
        let t = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(t.contains("Dry run: nothing was changed."), "{fix:?}: {t}");
        assert!(
            t.contains(fix[1]),
            "{fix:?}: the plan names its target: {t}"
        );
        assert_eq!(q(db, probe), before, "{fix:?}: the dry run changed nothing");
        // Read-only refuses.
        let mut yes = args.clone();
        yes.push("--yes");
        let out = run(&yes);
        assert_eq!(out.status.code(), Some(8), "{fix:?}: {}", text(&out));
        let mut write = vec!["--write"];
        write.extend_from_slice(&yes);
        let out = run(&write);
        assert!(out.status.success(), "{fix:?}: {}", text(&out));
        assert_eq!(q(db, probe), after, "{fix:?}");
    }
    let log = std::fs::read_to_string(config.path().join("audit.log")).unwrap();
    assert_eq!(log.lines().count(), 4, "{log}");
}

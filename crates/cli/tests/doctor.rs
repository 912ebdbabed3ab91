//! `bsi doctor` on databases real Backstage backends wrote: `--json` is the core's report
//! with each next step's pasteable command line (the run's `--url` and `--prefix`, no
//! password), the text lists the findings worst first with their evidence and commands, and
//! the exit code says the worst severity (13 critical, 12 warning, 0 otherwise).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use bsi_testkit::backstage::restore;
use bsi_testkit::shared;
use common::{bsi, text, url};
use serde_json::Value;

#[test]
fn doctor_reports_findings_with_commands_and_exit_codes() {
    let prefix = format!("clidoc_{}_", std::process::id());
    restore(shared(), "2022-08", &prefix);
    let u = url();
    let scaf = format!("{prefix}scaffolder");

    let out = bsi(&["--url", &u, "--prefix", &prefix, "--json", "doctor"]);
    let v: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)));
    let findings = v["findings"].as_array().unwrap();
    let worst = v["worst"].as_str().unwrap();
    assert_eq!(Some(worst), findings[0]["severity"].as_str());
    let code = out.status.code().unwrap();
    assert_eq!(
        code,
        match worst {
            "critical" => 13,
            "warning" => 12,
            _ => 0,
        },
        "{}",
        text(&out)
    );
    // The fixture's held Knex lock in the scaffolder database is critical, with the command
    // that releases it, carrying this run's options and no password.
    let lock = findings
        .iter()
        .find(|f| {
            f["id"] == "knex.lock_held"
                && f["examples"][0]
                    .as_str()
                    .is_some_and(|e| e.starts_with(&scaf))
        })
        .unwrap_or_else(|| panic!("no held lock in {findings:#?}"));
    assert_eq!(lock["severity"], "critical");
    assert_eq!(code, 13);
    let commands: Vec<&str> = lock["next"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n["command"].as_str())
        .collect();
    let want = format!(
        "bsi --url '{u}' --prefix {prefix} --write knex unlock {scaf} public.knex_migrations_lock"
    );
    assert!(commands.contains(&want.as_str()), "{commands:#?}");
    assert!(commands.iter().all(|c| !c.contains(&shared().password)));

    // The text: the same findings, worst first, with evidence and commands.
    let out = bsi(&["--url", &u, "--prefix", &prefix, "doctor"]);
    assert_eq!(out.status.code(), Some(13), "{}", text(&out));
    let t = String::from_utf8(out.stdout).unwrap();
    let first = t.lines().nth(2).unwrap_or_default();
    assert!(first.starts_with("CRITICAL ["), "{t}");
    assert!(t.contains(&format!("→ {want}")), "{t}");
    let pos = |s: &str| t.find(s).unwrap_or(usize::MAX);
    assert!(pos("CRITICAL [") < pos("WARNING ["), "{t}");
    let orphans = findings
        .iter()
        .find(|f| f["id"] == "catalog.orphans")
        .unwrap();
    assert!(t.contains(orphans["title"].as_str().unwrap()), "{t}");

    // With the lock released and the catalog processing again, the processing errors remain:
    // the worst is a warning, and the exit code says so.
    shared().psql(&scaf, "UPDATE knex_migrations_lock SET is_locked = 0");
    shared().psql(
        &format!("{prefix}catalog"),
        "UPDATE refresh_state SET next_update_at = now() + interval '2 minutes'",
    );
    let out = bsi(&["--url", &u, "--prefix", &prefix, "--json", "doctor"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["worst"], "warning", "{v:#}");
    assert_eq!(out.status.code(), Some(12), "{}", text(&out));
}

/// A healthy installation: the current fixture with what its makers left wrong on purpose put
/// right (processing errors and the entities they kept from stitching, orphans, unfinished and
/// secret-holding tasks, scheduler runs, the clock of the catalog's refresh). The doctor finds
/// nothing at warning or above and exits 0, so it can run in monitoring.
#[test]
fn a_healthy_installation_exits_0() {
    let prefix = format!("clidocok_{}_", std::process::id());
    restore(shared(), "current", &prefix);
    let s = shared();
    let (cat, scaf) = (format!("{prefix}catalog"), format!("{prefix}scaffolder"));
    s.psql(
        &cat,
        "DELETE FROM refresh_state r WHERE r.errors IS NOT NULL AND r.errors NOT IN ('', '[]') \
            OR NOT EXISTS (SELECT 1 FROM final_entities f WHERE f.entity_id = r.entity_id AND f.final_entity IS NOT NULL) \
            OR NOT EXISTS (SELECT 1 FROM refresh_state_references p WHERE p.target_entity_ref = r.entity_ref)",
    );
    s.psql(
        &cat,
        "UPDATE refresh_state SET next_update_at = now() + interval '2 minutes'",
    );
    s.psql(
        &scaf,
        "UPDATE tasks SET status = 'completed', secrets = NULL WHERE status IN ('open', 'processing') \
         OR secrets IS NOT NULL",
    );
    for db in s
        .psql(
            "postgres",
            &format!("SELECT datname FROM pg_database WHERE datname LIKE '{prefix}%' ORDER BY 1"),
        )
        .lines()
    {
        let has = s.psql(
            db,
            "SELECT count(*) FROM pg_tables WHERE tablename = 'backstage_backend_tasks__tasks'",
        );
        if has.trim() == "1" {
            s.psql(
                db,
                "UPDATE backstage_backend_tasks__tasks SET next_run_start_at = now() + interval '1 hour', \
                 current_run_ticket = NULL, current_run_started_at = NULL, current_run_expires_at = NULL",
            );
        }
        s.psql(db, "VACUUM");
    }

    let u = url();
    let out = bsi(&["--url", &u, "--prefix", &prefix, "--json", "doctor"]);
    let v: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)));
    let loud: Vec<&Value> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "warning" || f["severity"] == "critical")
        .collect();
    assert!(loud.is_empty(), "{loud:#?}");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    let out = bsi(&["--url", &u, "--prefix", &prefix, "doctor"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let t = String::from_utf8(out.stdout).unwrap();
    assert!(t.starts_with("0 critical, 0 warning, "), "{t}");
    assert!(
        t.contains("\nOK: ") && t.contains("catalog.processing_stalled"),
        "{t}"
    );
}

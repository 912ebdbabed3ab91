//! `bsi entity` shows an entity's cross-links: the scaffolder tasks that created it and, for a
//! user, its sessions; against generated data in the harness's real PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use bsi_core::connect::Connections;
use bsi_core::demo::generate::GenerateOptions;
use bsi_core::demo::{FillOptions, fill};
use bsi_core::profile::{DivisionMode, Profile};
use bsi_core::secrets::Secret;
use bsi_core::tls::SslMode;
use bsi_testkit::shared;
use common::{bsi, text, url};

/// Migrations applied through `bsi migrate apply`, then generated data.
async fn prepare(prefix: &str) {
    let u = url();
    let out = bsi(&[
        "--url",
        &u,
        "--prefix",
        prefix,
        "--write",
        "migrate",
        "apply",
        "--create-databases",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let s = shared();
    let mut p = Profile::new("links", "localhost", "postgres");
    p.port = s.port;
    p.prefix = prefix.to_string();
    p.mode = DivisionMode::Database;
    p.tls.sslmode = SslMode::Require;
    p.write_mode = true;
    p.pool.statement_timeout_secs = 600;
    let c = Connections::new(p, Some(Secret::new(s.password.clone())));
    let o = GenerateOptions {
        seed: 5,
        ..GenerateOptions::size(200)
    };
    // The migrations are there already: the fill finds nothing to apply and generates.
    let areas = ["catalog", "scaffolder", "auth", "search"];
    fill(&c, &FillOptions::new(&areas, o), &|_| {})
        .await
        .unwrap();
    c.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_entity_shows_its_tasks_and_a_user_its_sessions() {
    let s = shared();
    let prefix = format!("bsilinks{}_", std::process::id());
    prepare(&prefix).await;
    let u = url();

    // An entity of the catalog named in a task's completion output.
    let rows = s.psql(
        &format!("{prefix}scaffolder"),
        "SELECT task_id::text || '|' || (l->>'entityRef') FROM task_events, \
           json_array_elements(body::json->'output'->'links') l \
         WHERE event_type = 'completion' AND l->>'entityRef' IS NOT NULL ORDER BY id",
    );
    let pairs: Vec<(&str, &str)> = rows.lines().filter_map(|l| l.split_once('|')).collect();
    let list: Vec<String> = pairs
        .iter()
        .map(|(_, r)| format!("'{}'", r.replace('\'', "''")))
        .collect();
    let existing = s.psql(
        &format!("{prefix}catalog"),
        &format!(
            "SELECT entity_ref FROM final_entities WHERE entity_ref IN ({}) ORDER BY entity_ref",
            list.join(",")
        ),
    );
    let entity = existing
        .lines()
        .next()
        .expect("a created entity in the catalog");
    let task = pairs.iter().find(|(_, r)| *r == entity).unwrap().0;
    let out = bsi(&["--url", &u, "--prefix", &prefix, "entity", entity]);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("scaffolder tasks ("), "{t}");
    let line = t
        .lines()
        .find(|l| l.contains(task))
        .unwrap_or_else(|| panic!("task {task} not listed:\n{t}"));
    assert!(line.contains("output"), "{line}");

    let out = bsi(&["--url", &u, "--prefix", &prefix, "--json", "entity", entity]);
    assert!(out.status.success(), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["entity_ref"], entity);
    let items = v["tasks"]["items"].as_array().unwrap();
    assert!(items.iter().any(|i| i["id"] == task), "{v}");
    assert!(v["sessions"].is_null(), "a component has no sessions: {v}");

    // A user with an offline session: the session is listed, its id masked.
    let row = s.psql(
        &format!("{prefix}auth"),
        "SELECT user_entity_ref || '|' || id FROM offline_sessions ORDER BY user_entity_ref LIMIT 1",
    );
    let (user, session_id) = row.split_once('|').expect("an offline session");
    let out = bsi(&["--url", &u, "--prefix", &prefix, "entity", user]);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("sessions: "), "{t}");
    assert!(t.contains("  offline "), "{t}");
    assert!(
        !t.contains(session_id),
        "the session id is shown unmasked:\n{t}"
    );
    let out = bsi(&["--url", &u, "--prefix", &prefix, "--json", "entity", user]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let offline = v["sessions"]["offline"].as_array().unwrap();
    assert!(offline.iter().any(|o| o["user_entity_ref"] == user), "{v}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains(session_id));

    // Without the scaffolder database the entity is still shown, the link says why not.
    s.psql(
        "postgres",
        &format!("DROP DATABASE {prefix}scaffolder WITH (FORCE)"),
    );
    let out = bsi(&["--url", &u, "--prefix", &prefix, "entity", entity]);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains(entity), "{t}");
    assert!(t.contains("scaffolder tasks: not available"), "{t}");
}

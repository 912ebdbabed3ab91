//! `bsi entity` shows an entity's cross-links: the scaffolder tasks that created it and, for a
//! user, its sessions; against generated data in the harness's real PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use bsi_testkit::shared;
use common::{bsi, prepare, text, url};

#[tokio::test(flavor = "multi_thread")]
async fn an_entity_shows_its_tasks_and_a_user_its_sessions() {
    let s = shared();
    let prefix = format!("bsilinks{}_", std::process::id());
    prepare(
        &prefix,
        &["catalog", "scaffolder", "auth", "search"],
        200,
        5,
    )
    .await;
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

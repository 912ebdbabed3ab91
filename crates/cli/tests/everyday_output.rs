//! What operators meet in the everyday commands, on databases real Backstage backends wrote:
//! hints that paste as whole commands, owners and systems in any spelling, the stored secret
//! key names of tasks, the summaries `sessions` and `stale` open with, `tables --sort size`,
//! Knex locks named alike by `databases` and `knex status`, and the words `search` shows.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use bsi_testkit::backstage::shared_installation;
use common::{bsi, text, url};
use serde_json::Value;

/// `bsi --url U --prefix P ARGS...` on the shared restore of `era`.
fn run(era: &str, args: &[&str]) -> std::process::Output {
    let prefix = shared_installation(era);
    let u = url();
    let mut all = vec!["--url", u.as_str(), "--prefix", prefix.as_str()];
    all.extend(args.iter().copied());
    bsi(&all)
}

/// Standard output of a run that must succeed.
fn ok(era: &str, args: &[&str]) -> String {
    let out = run(era, args);
    assert!(
        out.status.success(),
        "bsi {}: {}",
        args.join(" "),
        text(&out)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The refs of `bsi --json entities ARGS...`.
fn refs(era: &str, args: &[&str]) -> Vec<String> {
    let mut all = vec!["--json", "entities", "--limit", "1000"];
    all.extend(args.iter().copied());
    let v: Value = serde_json::from_str(&ok(era, &all)).unwrap();
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["entity_ref"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn hints_paste_as_whole_commands_with_this_runs_options() {
    let prefix = shared_installation("current");
    let out = ok("current", &["entity", "component:default/cart-service"]);
    let line = format!("--prefix {prefix} entity component:default/cart-service --yaml");
    assert!(
        out.contains("bsi --url ") && out.contains(&line),
        "the --yaml hint carries the connection and the prefix: {out}"
    );
    // The held lock of the 2022-08 era: the unlock command to paste, with the prefix.
    let old = shared_installation("2022-08");
    let out = ok("2022-08", &["knex", "status"]);
    assert!(
        out.contains(&format!("--prefix {old} --write knex unlock {old}")),
        "{out}"
    );
}

#[test]
fn owner_in_any_spelling_gives_the_same_rows() {
    let want = refs("current", &["--owner", "group:default/team-a"]);
    assert_eq!(want.len(), 14, "team-a owns 14 stitched entities: {want:?}");
    for spelling in [
        "team-a",
        "default/team-a",
        "group:team-a",
        "Group:Default/Team-A",
    ] {
        assert_eq!(
            refs("current", &["--owner", spelling]),
            want,
            "--owner {spelling}"
        );
    }
    // A bare name also matches owners written that way in another namespace.
    let infra = refs("current", &["--owner", "infra-eu"]);
    assert!(!infra.is_empty(), "spec.owner infra-eu as written");
    assert_eq!(
        refs("current", &["--owner", "user:fatima"]),
        refs("current", &["--owner", "user:default/fatima"])
    );
}

#[test]
fn system_column_and_filter_in_any_spelling() {
    let want = refs("current", &["--system", "system:default/storefront"]);
    assert!(!want.is_empty());
    assert_eq!(refs("current", &["--system", "storefront"]), want);
    assert_eq!(refs("current", &["--system", "default/storefront"]), want);
    let v: Value = serde_json::from_str(&ok(
        "current",
        &[
            "--json",
            "entities",
            "--system",
            "storefront",
            "--kind",
            "component",
        ],
    ))
    .unwrap();
    let items = v["items"].as_array().unwrap();
    assert!(!items.is_empty());
    assert!(items.iter().all(|e| e["system"] == "storefront"), "{v:#}");
    let out = ok("current", &["entities", "--system", "storefront"]);
    assert!(
        out.lines().next().unwrap_or_default().contains("SYSTEM"),
        "{out}"
    );
    assert!(out.contains("storefront"), "{out}");
}

#[test]
fn tasks_show_stored_secret_key_names_never_values() {
    let v: Value =
        serde_json::from_str(&ok("current", &["--json", "tasks", "--status", "open"])).unwrap();
    let items = v["items"].as_array().unwrap();
    assert!(!items.is_empty(), "the fixture has open tasks: {v:#}");
    for t in items {
        assert_eq!(t["secrets_stored"], true, "{t:#}");
        let keys: Vec<&str> = t["secret_keys"]
            .as_array()
            .unwrap_or_else(|| panic!("secret key names listed: {t:#}"))
            .iter()
            .map(|k| k.as_str().unwrap())
            .collect();
        assert!(keys.contains(&"backstageToken"), "{keys:?}");
    }
    let out = ok("current", &["tasks", "--status", "open"]);
    assert!(
        out.contains("STORED: ") && out.contains("backstageToken"),
        "{out}"
    );
    assert!(
        !out.contains("fixture-") && !out.contains("eyJ"),
        "no secret value: {out}"
    );
}

#[test]
fn a_task_whose_secrets_are_not_json_is_listed_with_a_note() {
    let prefix = format!("evsec{}_", std::process::id());
    bsi_testkit::backstage::restore(bsi_testkit::shared(), "current", &prefix);
    let db = format!("{prefix}scaffolder");
    let id = bsi_testkit::shared().psql(
        &db,
        "UPDATE tasks SET secrets = 'not json: hunter2' WHERE id = \
         (SELECT id FROM tasks WHERE status = 'open' ORDER BY id LIMIT 1) RETURNING id",
    );
    let id = id.lines().next().unwrap_or_default().trim().to_string();
    assert!(!id.is_empty());
    let u = url();
    let out = bsi(&[
        "--url", &u, "--prefix", &prefix, "tasks", "--status", "open",
    ]);
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    assert!(all.contains(&id), "the task is still listed: {all}");
    assert!(all.contains("tasks.secrets is not valid JSON"), "{all}");
    assert!(
        all.contains("backstageToken"),
        "the other tasks keep their keys: {all}"
    );
    assert!(!all.contains("hunter2"), "{all}");
}

#[test]
fn processing_tasks_without_a_heartbeat_say_so_not_a_duration() {
    let v: Value = serde_json::from_str(&ok(
        "current",
        &["--json", "tasks", "--status", "processing"],
    ))
    .unwrap();
    let items = v["items"].as_array().unwrap();
    assert!(!items.is_empty(), "{v:#}");
    for t in items {
        assert!(
            t["duration_ms"].is_null(),
            "no duration while unfinished: {t:#}"
        );
        assert_eq!(t["heartbeat_stale"], true, "{t:#}");
        assert!(t["heartbeat_age_secs"].as_i64().unwrap() > 600, "{t:#}");
    }
    let out = ok("current", &["tasks", "--status", "processing"]);
    let rows: Vec<&str> = out
        .lines()
        .skip(1)
        .filter(|l| l.contains("processing"))
        .collect();
    assert_eq!(rows.len(), items.len(), "{out}");
    for r in rows {
        assert!(r.contains("no heartbeat for "), "{r}");
        assert!(!r.contains("ms "), "{r}");
    }
    let id = items[0]["id"].as_str().unwrap();
    let out = ok("current", &["task", id]);
    assert!(
        out.lines().next().unwrap().contains("no heartbeat for "),
        "{out}"
    );
}

#[test]
fn sessions_open_with_a_plain_summary_of_what_is_stored() {
    let out = ok("current", &["sessions"]);
    let first: Vec<&str> = out.lines().take(3).collect();
    assert!(
        first[0].starts_with("1 offline session(s) (refresh tokens), 0 browser session(s)")
            && first[0].contains("4 OAuth authorization session(s)"),
        "{out}"
    );
    assert!(
        first[1].contains("offline_sessions stores scrypt token hashes for 1 session(s)")
            && first[1].contains("no refresh token values are stored"),
        "{out}"
    );
    assert!(
        out.contains("oidc_authorization_codes stores 2 authorization code(s)"),
        "{out}"
    );
    assert!(!out.contains("fixture-"), "no hash or code is shown: {out}");
    let v: Value = serde_json::from_str(&ok("current", &["--json", "sessions"])).unwrap();
    assert_eq!(v["summary"]["offline_token_hashes"], 1, "{v:#}");
    // An era before offline sessions says so rather than counting nothing.
    let out = ok("2022-08", &["sessions"]);
    assert!(
        out.lines()
            .next()
            .unwrap()
            .starts_with("no offline_sessions table, "),
        "{out}"
    );
}

#[test]
fn tables_sorted_by_size_span_every_plugin_database() {
    let v: Value =
        serde_json::from_str(&ok("current", &["--json", "tables", "--sort", "size"])).unwrap();
    let list = v.as_array().unwrap();
    let sizes: Vec<i64> = list
        .iter()
        .map(|t| t["size_bytes"].as_i64().unwrap())
        .collect();
    assert!(
        sizes.windows(2).all(|w| w[0] >= w[1]),
        "largest first: {sizes:?}"
    );
    let mut scopes: Vec<&str> = list.iter().map(|t| t["scope"].as_str().unwrap()).collect();
    scopes.sort();
    scopes.dedup();
    let prefix = shared_installation("current");
    for db in ["catalog", "scaffolder", "auth", "search"] {
        assert!(
            scopes.contains(&format!("{prefix}{db}").as_str()),
            "{db} in {scopes:?}"
        );
    }
    let out = ok("current", &["tables", "--sort", "size"]);
    assert!(
        out.lines().next().unwrap().contains("largest first"),
        "{out}"
    );
    assert_eq!(
        out.lines().nth(2).unwrap().split_whitespace().nth(1),
        list[0]["name"].as_str(),
        "{out}"
    );
}

/// The held locks `bsi --json knex status` reports, as (database, table as named).
fn held_locks(args: &[&str]) -> Vec<(String, String)> {
    let out = bsi(args);
    assert!(out.status.success(), "{}", text(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .filter(|t| t["locked"] == true)
        .map(|t| {
            let (schema, table) = (t["schema"].as_str().unwrap(), t["table"].as_str().unwrap());
            let name = if schema == "public" {
                table.to_string()
            } else {
                format!("{schema}.{table}")
            };
            (t["database"].as_str().unwrap().to_string(), name)
        })
        .collect()
}

#[test]
fn databases_and_knex_status_name_the_same_held_lock() {
    let prefix = shared_installation("2022-08");
    let u = url();
    let held = held_locks(&["--url", &u, "--prefix", &prefix, "--json", "knex", "status"]);
    assert!(!held.is_empty(), "the 2022-08 era has a held lock");
    let v: Value = serde_json::from_str(&ok("2022-08", &["--json", "databases"])).unwrap();
    let mut from_databases = Vec::new();
    for db in v["databases"].as_array().unwrap() {
        for t in db["knex"]["locked"].as_array().unwrap() {
            from_databases.push((
                db["database"].as_str().unwrap().to_string(),
                t.as_str().unwrap().to_string(),
            ));
        }
        // A database with only the backend services' Knex tables still counts them.
        assert!(db["knex"]["tables"].as_u64().unwrap() > 0, "{db:#}");
    }
    assert_eq!(from_databases, held);
    let out = ok("2022-08", &["databases"]);
    let (db, table) = &held[0];
    let row = out
        .lines()
        .find(|l| l.starts_with(&format!("{db} ")))
        .unwrap_or_else(|| panic!("{db} listed: {out}"));
    assert!(row.contains(&format!("lock HELD ({table})")), "{row}");
}

#[test]
fn knex_unlock_takes_the_table_as_knex_status_names_it() {
    let prefix = format!("evknex{}_", std::process::id());
    bsi_testkit::backstage::restore(bsi_testkit::shared(), "2022-08", &prefix);
    let u = url();
    let base = ["--url", u.as_str(), "--prefix", prefix.as_str()];
    let status = [&base[..], &["--json", "knex", "status"]].concat();
    let held = held_locks(&status);
    let (db, table) = held[0].clone();
    // The text form names the same table in the same row.
    let out = bsi(&[&base[..], &["knex", "status"]].concat());
    assert!(
        text(&out)
            .lines()
            .any(|l| l.starts_with(&db) && l.contains(&table) && l.contains("HELD")),
        "{}",
        text(&out)
    );
    // Each spelling is accepted: as listed, schema-qualified, and the lock table itself.
    for name in [
        table.clone(),
        format!("public.{table}"),
        format!("{table}_lock"),
    ] {
        let out = bsi(&[
            &base[..],
            &["--write", "knex", "unlock", &db, &name, "--dry-run"],
        ]
        .concat());
        assert!(out.status.success(), "{name}: {}", text(&out));
        assert!(
            text(&out).contains("held (is_locked = 1)"),
            "{name}: {}",
            text(&out)
        );
    }
    let out = bsi(&[
        &base[..],
        &["--write", "knex", "unlock", &db, &table, "--yes"],
    ]
    .concat());
    assert!(out.status.success(), "{}", text(&out));
    assert!(held_locks(&status).is_empty(), "released");
    // A table that is neither is refused, naming the forms.
    let out = bsi(&[
        &base[..],
        &[
            "--write",
            "knex",
            "unlock",
            &db,
            "refresh_state",
            "--dry-run",
        ],
    ]
    .concat());
    assert!(!out.status.success());
    assert!(
        text(&out).contains("knex_migrations or knex_migrations_lock"),
        "{}",
        text(&out)
    );
}

#[test]
fn search_shows_the_words_typed_not_their_stems() {
    let out = ok("current", &["search", "Payments services"]);
    let first = out.lines().next().unwrap();
    assert!(first.contains("for \"Payments services\""), "{first}");
    assert!(
        !first.contains("servic'") && !first.contains("'payment'"),
        "{first}"
    );
    let out = ok("current", &["search", "payments"]);
    let first = out.lines().next().unwrap();
    assert!(
        first.contains("for \"payments\"") && !first.starts_with("0 "),
        "{first}"
    );
}

#[test]
fn stale_opens_with_its_conclusion() {
    let out = ok("current", &["stale", "--older-than", "90s"]);
    let mut lines = out.lines();
    let first = lines.next().unwrap();
    assert!(
        first.starts_with("All 82 entities are overdue for refresh by ")
            && first.contains("catalog processing has stopped (the latest refresh was due at "),
        "{out}"
    );
    let next = lines.next().unwrap();
    assert!(
        next.starts_with("Next: `bsi --url ") && next.contains(" doctor`"),
        "{out}"
    );
    // Some entities refreshed on time: the conclusion counts the others.
    let prefix = format!("evstale{}_", std::process::id());
    bsi_testkit::backstage::restore(bsi_testkit::shared(), "current", &prefix);
    bsi_testkit::shared().psql(
        &format!("{prefix}catalog"),
        "UPDATE refresh_state SET next_update_at = now() + interval '1 hour', last_discovery_at = now() \
         WHERE entity_id IN (SELECT entity_id FROM refresh_state ORDER BY entity_ref LIMIT 3)",
    );
    let u = url();
    let out = bsi(&[
        "--url",
        &u,
        "--prefix",
        &prefix,
        "stale",
        "--older-than",
        "90s",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let first = String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .unwrap()
        .to_string();
    assert!(
        first.starts_with("79 of 82 entities are overdue for refresh by ")
            && first.contains("processing is behind with them, not stopped"),
        "{first}"
    );
}

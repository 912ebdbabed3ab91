//! Every read command of `bsi --help` on one restore of the `current` fixtures, with its
//! `--json` content checked against the restored tables queried directly (psql as the
//! superuser): counts, refs, statuses and ids come from SQL, never from the command itself.
//! Also the exit codes no other test asserts: 2 for an unknown flag, 10 for a database error,
//! 11 for an output file that cannot be created.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};

use bsi_testkit::backstage::shared_installation;
use bsi_testkit::shared;
use common::{bsi, text, url};
use serde_json::Value;

fn prefix() -> String {
    shared_installation("current")
}

/// `bsi --url U --prefix P ARGS...` on the shared restore.
fn run(args: &[&str]) -> std::process::Output {
    let p = prefix();
    let u = url();
    let mut all = vec!["--url", u.as_str(), "--prefix", p.as_str()];
    all.extend(args.iter().copied());
    bsi(&all)
}

/// The JSON of `bsi --json ARGS...`, which must succeed.
fn json(args: &[&str]) -> Value {
    let mut all = vec!["--json"];
    all.extend(args.iter().copied());
    let out = run(&all);
    assert!(
        out.status.success(),
        "bsi {}: {}",
        args.join(" "),
        text(&out)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("bsi {}: {e}: {}", args.join(" "), text(&out)))
}

/// The rows of `sql` in the plugin database `plugin` of the restore, one string a row
/// (columns joined with `|`).
fn sql(plugin: &str, sql: &str) -> Vec<String> {
    let out = shared().psql(&format!("{}{plugin}", prefix()), sql);
    out.lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// The set of `field` over `v[key]`, as strings.
fn set_of(v: &Value, key: &str, field: &str) -> BTreeSet<String> {
    v[key]
        .as_array()
        .unwrap_or_else(|| panic!("no array {key} in {v:#}"))
        .iter()
        .map(|i| match &i[field] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect()
}

fn set(rows: Vec<String>) -> BTreeSet<String> {
    rows.into_iter().collect()
}

fn lower(s: &BTreeSet<String>) -> BTreeSet<String> {
    s.iter().map(|r| r.to_lowercase()).collect()
}

#[test]
fn entities_are_the_stitched_entities() {
    let want = set(sql(
        "catalog",
        "SELECT entity_ref FROM final_entities WHERE final_entity IS NOT NULL",
    ));
    assert!(want.len() > 10, "fixture has entities: {want:?}");
    let v = json(&["entities", "--limit", "1000"]);
    assert_eq!(lower(&set_of(&v, "items", "entity_ref")), lower(&want));
    // A filter narrows to exactly the rows SQL finds.
    let apis = set(sql(
        "catalog",
        "SELECT entity_ref FROM final_entities \
         WHERE final_entity::jsonb->>'kind' = 'API'",
    ));
    assert!(!apis.is_empty());
    let v = json(&["entities", "--kind", "API", "--limit", "1000"]);
    assert_eq!(lower(&set_of(&v, "items", "entity_ref")), lower(&apis));
}

#[test]
fn errors_are_the_refresh_states_with_errors() {
    let want = set(sql(
        "catalog",
        "SELECT entity_ref FROM refresh_state WHERE errors IS NOT NULL AND errors <> '[]'",
    ));
    assert!(!want.is_empty(), "fixture has processing errors");
    let v = json(&["errors", "--limit", "1000"]);
    assert_eq!(lower(&set_of(&v, "items", "entity_ref")), lower(&want));
    // The message shown is the stored one, and in_final says whether it reached the catalog.
    let stitched = lower(&set(sql(
        "catalog",
        "SELECT entity_ref FROM final_entities WHERE final_entity IS NOT NULL",
    )));
    for item in v["items"].as_array().unwrap() {
        let r = item["entity_ref"].as_str().unwrap();
        let stored: Value = serde_json::from_str(
            &sql(
                "catalog",
                &format!("SELECT errors FROM refresh_state WHERE lower(entity_ref) = lower('{r}')"),
            )[0],
        )
        .unwrap();
        let stored: Vec<String> = stored
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["message"].as_str().unwrap().to_string())
            .collect();
        let shown: Vec<String> = item["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["message"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(shown, stored, "{r}");
        assert_eq!(
            item["in_final"],
            stitched.contains(&r.to_lowercase()),
            "{r}: {item:#}"
        );
    }
}

#[test]
fn orphans_are_the_annotated_and_the_unreferenced() {
    let annotated = set(sql(
        "catalog",
        "SELECT entity_ref FROM final_entities \
         WHERE final_entity::jsonb #>> '{metadata,annotations,backstage.io/orphan}' = 'true'",
    ));
    let unreferenced = set(sql(
        "catalog",
        "SELECT entity_ref FROM refresh_state r WHERE NOT EXISTS \
         (SELECT 1 FROM refresh_state_references x WHERE x.target_entity_ref = r.entity_ref)",
    ));
    assert!(!annotated.is_empty(), "fixture has orphans");
    let want: BTreeSet<String> = annotated.union(&unreferenced).cloned().collect();
    let v = json(&["orphans", "--limit", "1000"]);
    assert_eq!(lower(&set_of(&v, "items", "entity_ref")), lower(&want));
    for item in v["items"].as_array().unwrap() {
        let r = item["entity_ref"].as_str().unwrap().to_string();
        assert_eq!(item["orphan_annotation"], annotated.contains(&r), "{item}");
        assert_eq!(item["unreferenced"], unreferenced.contains(&r), "{item}");
    }
}

#[test]
fn stale_counts_what_was_not_refreshed_in_time() {
    let total: u64 = sql("catalog", "SELECT count(*) FROM refresh_state")[0]
        .parse()
        .unwrap();
    // The fixtures were recorded long ago: with a cutoff of one second, every entity whose
    // refresh was due before it is stale.
    let overdue: u64 = sql(
        "catalog",
        "SELECT count(*) FROM refresh_state WHERE next_update_at < now() - interval '1 second'",
    )[0]
    .parse()
    .unwrap();
    let v = json(&["stale", "--older-than", "1s", "--limit", "1000"]);
    assert_eq!(v["summary"]["total"], total, "{:#}", v["summary"]);
    assert_eq!(v["summary"]["overdue"], overdue, "{:#}", v["summary"]);
    assert_eq!(
        v["items"].as_array().unwrap().len() as u64,
        v["summary"]["stale"].as_u64().unwrap()
    );
    assert!(v["summary"]["stale"].as_u64().unwrap() >= overdue);
}

#[test]
fn locations_are_the_registered_locations() {
    let want = set(sql("catalog", "SELECT id || '|' || target FROM locations"));
    assert!(!want.is_empty());
    let v = json(&["locations", "--limit", "1000"]);
    let got: BTreeSet<String> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            format!(
                "{}|{}",
                i["id"].as_str().unwrap(),
                i["target"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(got, want);
}

/// An entity with both outgoing and incoming relations, picked by SQL.
fn hub() -> String {
    sql(
        "catalog",
        "SELECT r.source_entity_ref FROM relations r \
         JOIN final_entities f ON f.entity_ref = r.source_entity_ref \
         WHERE r.type = 'ownedBy' \
         GROUP BY 1 ORDER BY 1 LIMIT 1",
    )
    .remove(0)
}

#[test]
fn graph_at_depth_one_is_the_entity_and_its_related_entities() {
    let root = hub();
    let want = lower(&set(sql(
        "catalog",
        &format!(
            "SELECT target_entity_ref FROM relations WHERE source_entity_ref = '{root}' \
             UNION SELECT source_entity_ref FROM relations WHERE target_entity_ref = '{root}' \
             UNION SELECT '{root}'"
        ),
    )));
    let v = json(&["graph", &root, "--depth", "1"]);
    assert_eq!(lower(&set_of(&v, "nodes", "entity_ref")), want, "{v:#}");
    let stitched = lower(&set(sql(
        "catalog",
        "SELECT entity_ref FROM final_entities WHERE final_entity IS NOT NULL",
    )));
    for n in v["nodes"].as_array().unwrap() {
        let r = n["entity_ref"].as_str().unwrap().to_lowercase();
        assert_eq!(n["exists"], stitched.contains(&r), "{n}");
        assert_eq!(n["root"], r == root.to_lowercase(), "{n}");
    }
}

#[test]
fn broken_refs_are_the_relations_to_missing_entities() {
    let rows = sql(
        "catalog",
        "SELECT lower(target_entity_ref), count(*) FROM relations r WHERE NOT EXISTS \
         (SELECT 1 FROM final_entities f WHERE lower(f.entity_ref) = lower(r.target_entity_ref) \
          AND f.final_entity IS NOT NULL) GROUP BY 1",
    );
    let want: BTreeMap<String, u64> = rows
        .iter()
        .map(|l| {
            let (t, n) = l.split_once('|').unwrap();
            (t.to_string(), n.parse().unwrap())
        })
        .collect();
    assert!(!want.is_empty(), "fixture has broken refs");
    let v = json(&["broken-refs", "--limit", "1000", "--samples", "1000"]);
    let got: BTreeMap<String, u64> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["target"].as_str().unwrap().to_lowercase(),
                i["count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, want);
    // A target that has a processing state but never reached the catalog is errored.
    let errored = lower(&set(sql("catalog", "SELECT entity_ref FROM refresh_state")));
    for i in v["items"].as_array().unwrap() {
        let t = i["target"].as_str().unwrap().to_lowercase();
        let status = if errored.contains(&t) {
            "errored"
        } else {
            "missing"
        };
        assert_eq!(i["status"], status, "{i}");
        assert_eq!(i["relations"].as_array().unwrap().len() as u64, want[&t]);
    }
}

#[test]
fn path_follows_a_stored_relation() {
    let row = sql(
        "catalog",
        "SELECT r.source_entity_ref, r.type, r.target_entity_ref FROM relations r \
         JOIN final_entities a ON a.entity_ref = r.source_entity_ref \
         JOIN final_entities b ON b.entity_ref = r.target_entity_ref \
         WHERE r.type = 'ownedBy' ORDER BY 1 LIMIT 1",
    )
    .remove(0);
    let parts: Vec<&str> = row.split('|').collect();
    let (from, ty, to) = (parts[0], parts[1], parts[2]);
    let v = json(&["path", from, to]);
    assert_eq!(v["found"], true, "{v:#}");
    assert_eq!(v["hops"], 1, "{v:#}");
    let step = &v["steps"][0];
    assert_eq!(
        step["source"].as_str().unwrap().to_lowercase(),
        from.to_lowercase()
    );
    assert_eq!(step["type"], ty);
    assert_eq!(
        step["target"].as_str().unwrap().to_lowercase(),
        to.to_lowercase()
    );
    // To a user without any relation there is no path, and the output says so.
    let user = sql(
        "catalog",
        "SELECT entity_ref FROM final_entities WHERE final_entity::jsonb->>'kind' = 'User' \
         AND NOT EXISTS (SELECT 1 FROM relations WHERE source_entity_ref = entity_ref \
         OR target_entity_ref = entity_ref) LIMIT 1",
    );
    if let Some(lonely) = user.first() {
        let v = json(&["path", from, lonely]);
        assert_eq!(v["found"], false, "{v:#}");
    }
}

#[test]
fn tasks_are_every_task_with_its_status() {
    let want = set(sql("scaffolder", "SELECT id || '|' || status FROM tasks"));
    assert!(want.len() > 1);
    let v = json(&["tasks", "--limit", "1000"]);
    let got: BTreeSet<String> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            format!(
                "{}|{}",
                i["id"].as_str().unwrap(),
                i["status"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(got, want);
    // Newest first.
    let newest = sql(
        "scaffolder",
        "SELECT id FROM tasks ORDER BY created_at DESC LIMIT 1",
    );
    assert_eq!(v["items"][0]["id"], newest[0].as_str());
}

#[test]
fn task_shows_the_stored_spec_and_status() {
    let row = sql(
        "scaffolder",
        "SELECT id, status, spec::jsonb->'parameters', \
         (SELECT string_agg(s->>'id', ',' ORDER BY o) FROM \
          jsonb_array_elements(spec::jsonb->'steps') WITH ORDINALITY AS t(s, o)) \
         FROM tasks WHERE status = 'failed' ORDER BY id LIMIT 1",
    )
    .remove(0);
    let parts: Vec<&str> = row.splitn(4, '|').collect();
    let (id, status, params, steps) = (parts[0], parts[1], parts[2], parts[3]);
    // A unique prefix is enough.
    let v = json(&["task", &id[..8]]);
    assert_eq!(v["id"], id);
    assert_eq!(v["status"], status);
    let params: Value = serde_json::from_str(params).unwrap();
    assert_eq!(v["parameters"], params);
    let got: Vec<&str> = v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(got.join(","), steps);
    assert!(
        !v["error"].is_null(),
        "a failed task shows its error: {v:#}"
    );
}

#[test]
fn sessions_are_the_stored_sessions_and_keys() {
    let v = json(&["sessions", "--kind", "offline", "--limit", "1000"]);
    let want = set(sql(
        "auth",
        "SELECT user_entity_ref || '|' || oidc_client_id FROM offline_sessions",
    ));
    let got: BTreeSet<String> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            format!(
                "{}|{}",
                i["user_entity_ref"].as_str().unwrap(),
                i["oidc_client_id"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(got, want);
    // Ids are masked, never printed whole.
    for (i, id) in sql("auth", "SELECT id FROM offline_sessions")
        .iter()
        .enumerate()
    {
        assert!(
            !v.to_string().contains(id.as_str()),
            "session {i} id printed"
        );
    }
    let v = json(&["sessions"]);
    let kids = set(sql("auth", "SELECT kid FROM signing_keys"));
    assert!(!kids.is_empty());
    assert_eq!(set_of(&v, "keys", "kid"), kids);
}

#[test]
fn search_finds_what_postgres_full_text_search_finds() {
    let word = "payment";
    let want: u64 = sql(
        "search",
        &format!(
            "SELECT count(*) FROM documents WHERE body @@ websearch_to_tsquery('english', '{word}')"
        ),
    )[0]
    .parse()
    .unwrap();
    assert!(want > 0, "fixture has documents about {word}");
    let v = json(&["search", word, "--limit", "1000"]);
    assert_eq!(v["total"], want, "{v:#}");
    let locations = set(sql(
        "search",
        &format!(
            "SELECT document->>'location' FROM documents \
             WHERE body @@ websearch_to_tsquery('english', '{word}')"
        ),
    ));
    assert_eq!(set_of(&v, "items", "location"), locations);
    // --type narrows to that type's documents.
    let v = json(&["search", word, "--type", "techdocs", "--limit", "1000"]);
    for i in v["items"].as_array().unwrap() {
        assert_eq!(i["type"], "techdocs", "{i}");
    }
}

#[test]
fn techdocs_are_the_entities_with_a_techdocs_ref() {
    let want = set(sql(
        "catalog",
        "SELECT entity_ref || '|' || (final_entity::jsonb #>> \
         '{metadata,annotations,backstage.io/techdocs-ref}') FROM final_entities \
         WHERE final_entity::jsonb #>> '{metadata,annotations,backstage.io/techdocs-ref}' \
         IS NOT NULL",
    ));
    assert!(!want.is_empty());
    let v = json(&["techdocs", "--limit", "1000"]);
    let got: BTreeSet<String> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            format!(
                "{}|{}",
                i["entity_ref"].as_str().unwrap(),
                i["techdocs_ref"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(lower(&got), lower(&want));
    assert_eq!(v["total"], want.len());
}

#[test]
fn tables_are_the_tables_of_each_plugin_database() {
    let v = json(&["tables"]);
    let catalog = v
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["area"] == "catalog")
        .unwrap_or_else(|| panic!("no catalog in {v:#}"));
    assert_eq!(catalog["database"], format!("{}catalog", prefix()));
    let got: BTreeSet<String> = catalog["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect();
    let want = set(sql(
        "catalog",
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public'",
    ));
    assert!(want.is_subset(&got), "missing: {:?}", want.difference(&got));
    // The columns of a table are its columns, in order.
    let cols: Vec<String> = catalog["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "refresh_state")
        .unwrap()["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect();
    let want = sql(
        "catalog",
        "SELECT column_name FROM information_schema.columns \
         WHERE table_schema = 'public' AND table_name = 'refresh_state' ORDER BY ordinal_position",
    );
    assert_eq!(cols, want);
}

#[test]
fn table_pages_through_the_rows_of_a_table() {
    let want = sql("catalog", "SELECT id FROM locations ORDER BY id");
    assert!(!want.is_empty());
    let v = json(&["table", "--area", "catalog", "locations", "--limit", "1000"]);
    let got: Vec<String> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(got, want, "{v:#}");
    // A filter keeps exactly the matching rows.
    let want = sql(
        "scaffolder",
        "SELECT id FROM tasks WHERE status = 'completed' ORDER BY id",
    );
    let v = json(&[
        "table",
        "--area",
        "scaffolder",
        "tasks",
        "--filter",
        "status=completed",
        "--limit",
        "1000",
    ]);
    let got: Vec<String> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(got, want);
}

#[test]
fn export_entities_writes_every_stitched_entity() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("entities.json");
    let f = file.to_str().unwrap();
    let out = run(&["export", "entities", "--format", "json", "-o", f]);
    assert!(out.status.success(), "{}", text(&out));
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let got: BTreeSet<String> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["entity_ref"].as_str().unwrap().to_string())
        .collect();
    let want = set(sql(
        "catalog",
        "SELECT entity_ref FROM final_entities WHERE final_entity IS NOT NULL",
    ));
    assert_eq!(lower(&got), lower(&want));
    // CSV: a header and one line per row of the table.
    let out = run(&["export", "table", "--area", "catalog", "locations"]);
    assert!(out.status.success(), "{}", text(&out));
    let csv = String::from_utf8(out.stdout).unwrap();
    let n = sql("catalog", "SELECT count(*) FROM locations")[0].clone();
    assert_eq!(
        csv.lines().count(),
        n.parse::<usize>().unwrap() + 1,
        "{csv}"
    );
    assert!(csv.lines().next().unwrap().contains("target"), "{csv}");
}

/// base64url without padding, as JWTs are written.
fn b64url(data: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut s = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            s.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    s
}

#[test]
fn jwt_decodes_header_and_claims_and_never_prints_the_signature() {
    let header = r#"{"alg":"ES256","kid":"key-4711","typ":"vnd.backstage.user"}"#;
    let claims = r#"{"sub":"user:default/ann-example","ent":["group:default/team-q"],"exp":2000000000,"iat":1999996400}"#;
    let signature = b64url(b"the-signature-that-must-stay-hidden");
    let token = format!(
        "{}.{}.{}",
        b64url(header.as_bytes()),
        b64url(claims.as_bytes()),
        signature
    );
    // Text.
    let out = bsi(&["jwt", &format!("Bearer {token}")]);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    for shown in [
        "ES256",
        "key-4711",
        "user:default/ann-example",
        "group:default/team-q",
    ] {
        assert!(t.contains(shown), "{shown} in {t}");
    }
    assert!(t.contains("2033-05-18"), "exp as a date: {t}");
    assert!(!t.contains(&signature), "signature printed: {t}");
    // JSON.
    let out = bsi(&["--json", "jwt", &token]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(!text(&out).contains(&signature));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["header"], serde_json::from_str::<Value>(header).unwrap());
    assert_eq!(v["claims"], serde_json::from_str::<Value>(claims).unwrap());
    assert_eq!(v["expired"], false);
    // Not a JWT: a usage error, not a crash.
    let out = bsi(&["jwt", "not-a-token"]);
    assert!(!out.status.success(), "{}", text(&out));
    assert_ne!(out.status.code(), Some(1), "{}", text(&out));
}

#[test]
fn demo_help_and_argument_checks() {
    let out = bsi(&["demo", "--help"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("--dir"), "{}", text(&out));
    let out = bsi(&["demo", "--no-such-flag"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}

#[test]
fn exit_2_for_an_unknown_flag() {
    let out = bsi(&["entities", "--no-such-flag"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("--no-such-flag"), "{}", text(&out));
}

#[test]
fn exit_10_for_a_table_the_role_cannot_read() {
    let p = prefix();
    let (role, password) = shared().create_role(&format!("nopriv_{}", std::process::id()), "");
    let u = shared().url(&role, &password, "postgres", "sslmode=require");
    let out = bsi(&[
        "--url",
        &u,
        "--prefix",
        &p,
        "--json",
        "table",
        "--area",
        "catalog",
        "locations",
    ]);
    assert_eq!(out.status.code(), Some(10), "{}", text(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["error"]["code"], "database", "{v}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("42501"),
        "names the SQLSTATE: {v}"
    );
}

#[test]
fn exit_11_for_an_output_file_that_cannot_be_created() {
    let out = run(&[
        "export",
        "table",
        "--area",
        "catalog",
        "locations",
        "-o",
        "/nonexistent-dir/bsi/x.csv",
    ]);
    assert_eq!(out.status.code(), Some(11), "{}", text(&out));
    assert!(
        text(&out).contains("/nonexistent-dir/bsi"),
        "{}",
        text(&out)
    );
}

//! `bsi why REF` on a database real Backstage wrote: the text has the stages in order with
//! their marks, the verdict and next commands with this run's options; `--json` is the core's
//! answer with each next step's command line; the exit code is 0 for an entity the catalog
//! has (whatever the verdict) and 4 for a ref it never had, after the closest refs.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use bsi_testkit::backstage::shared_installation;
use bsi_testkit::shared;
use common::{bsi, text, url};
use serde_json::Value;

#[test]
fn why_prints_the_pipeline_the_verdict_and_exit_codes() {
    let prefix = shared_installation("current");
    let db = format!("{prefix}catalog");
    let u = url();
    let errored = shared().psql(
        &db,
        "SELECT entity_ref FROM refresh_state WHERE errors NOT IN ('', '[]') \
         AND entity_ref LIKE 'component:%' AND entity_ref !~ '\\s' ORDER BY 1 LIMIT 1",
    );
    let error_name = shared().psql(
        &db,
        &format!(
            "SELECT errors::json->0->>'name' FROM refresh_state WHERE entity_ref = '{errored}'"
        ),
    );

    // JSON: the verdict, the stages, and the commands with this run's options.
    let out = bsi(&["--url", &u, "--prefix", &prefix, "--json", "why", &errored]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let v: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)));
    assert_eq!(v["verdict"]["kind"], "processing_error");
    assert_eq!(v["found"], true);
    let stages: Vec<&str> = v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["stage"].as_str().unwrap())
        .collect();
    assert_eq!(stages[..3], ["location", "refresh_state", "parents"]);
    let commands: Vec<&str> = v["next"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n["command"].as_str())
        .collect();
    let want = format!("bsi --url '{u}' --prefix {prefix} errors");
    assert!(commands.contains(&want.as_str()), "{commands:#?}");
    assert!(commands.iter().all(|c| !c.contains(&shared().password)));

    // Text: the stages in order with marks, then the verdict and the commands.
    let out = bsi(&[
        "--url",
        &u,
        "--prefix",
        &prefix,
        "why",
        &errored.to_uppercase(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let t = String::from_utf8(out.stdout).unwrap();
    assert!(t.starts_with(&format!("{errored} (checked at ")), "{t}");
    let pos = |s: &str| t.find(s).unwrap_or_else(|| panic!("no `{s}` in {t}"));
    assert!(pos("where it comes from") < pos("[bad]    processing (refresh_state)"));
    assert!(pos("processing (refresh_state)") < pos("in the catalog (final_entities)"));
    assert!(pos("PROCESSING_ERROR: ") > pos("relations"));
    assert!(t.contains(&error_name), "{t}");
    assert!(t.contains(&format!("→ {want}")), "{t}");

    // A ref nowhere: the closest refs, and exit code 4 (text and JSON).
    let real = shared().psql(
        &db,
        "SELECT entity_ref FROM refresh_state WHERE entity_ref LIKE 'component:default/%' \
         AND length(entity_ref) > 30 AND errors = '[]' ORDER BY 1 LIMIT 1",
    );
    let typo = format!("{real}x");
    let out = bsi(&["--url", &u, "--prefix", &prefix, "why", &typo]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    let t = String::from_utf8(out.stdout).unwrap();
    assert!(t.contains("NEVER_REGISTERED: "), "{t}");
    assert!(t.contains("Closest refs in the catalog:"), "{t}");
    assert!(t.contains(&format!("  {real}    (1 edit away)")), "{t}");
    assert!(t.contains(&format!("--prefix {prefix} why {real}")), "{t}");
    let out = bsi(&["--url", &u, "--prefix", &prefix, "--json", "why", &typo]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["verdict"]["kind"], "never_registered");
    assert_eq!(v["suggestions"][0]["entity_ref"], real.as_str());

    // A ref that does not parse is a usage of the wrong shape: configuration error, exit 3.
    let out = bsi(&["--url", &u, "--prefix", &prefix, "why", "no-kind"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
}

//! The CLI on databases real Backstage backends wrote (the committed fixtures of three eras,
//! restored under three prefixes of one server): `bsi installations --json` lists each one
//! with its plugins, and the everyday commands read every era.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use bsi_testkit::backstage::{ERAS, plugins, restore};
use bsi_testkit::shared;
use common::{bsi, text, url};
use serde_json::Value;

/// The three eras restored once, each under its own prefix; returns (era, prefix) pairs.
fn restored() -> Vec<(&'static str, String)> {
    ERAS.iter()
        .map(|era| {
            let prefix = format!("cli{}_{}_", era.replace('-', ""), std::process::id());
            restore(shared(), era, &prefix);
            (*era, prefix)
        })
        .collect()
}

#[test]
fn installations_lists_every_era_with_its_plugins() {
    let eras = restored();
    let u = url();
    let out = bsi(&[
        "--url",
        &u,
        "--prefix",
        &eras[0].1,
        "--json",
        "installations",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let list = v["installations"].as_array().unwrap();
    for (era, prefix) in &eras {
        let inst = list
            .iter()
            .find(|i| i["prefix"] == prefix.as_str())
            .unwrap_or_else(|| panic!("{era}: {prefix} not listed in {v:#}"));
        let mut got: Vec<String> = inst["plugins"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["plugin"].as_str().unwrap().to_string())
            .collect();
        got.sort();
        // Every restored plugin database is listed under its installation.
        for p in plugins(era) {
            assert!(got.contains(&p), "{era}: {p} missing from {got:?}");
        }
        assert_eq!(inst["current"], Value::Bool(*prefix == eras[0].1), "{era}");
    }
    // Everyday commands read every era, and name what an old one lacks by its migration.
    for (era, prefix) in &eras {
        for cmd in [
            vec!["entities"],
            vec!["errors"],
            vec!["tasks"],
            vec!["knex", "status"],
            vec!["techdocs"],
            vec!["databases"],
        ] {
            let mut args = vec!["--url", &u, "--prefix", prefix.as_str()];
            args.extend(cmd.iter().copied());
            let out = bsi(&args);
            assert!(
                out.status.success(),
                "{era}: bsi {}: {}",
                cmd.join(" "),
                text(&out)
            );
        }
        let out = bsi(&["--url", &u, "--prefix", prefix.as_str(), "databases"]);
        assert!(
            text(&out).contains("catalog-backend"),
            "{era}: databases names the catalog's package: {}",
            text(&out)
        );
    }
}

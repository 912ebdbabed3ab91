//! `why` on databases real Backstage backends wrote (the committed fixtures of three eras) and
//! on throw-away copies of them with a parent's emission record or a parent taken away. Every
//! expectation is read from the data with SQL at test time: which entities fail processing,
//! which are orphans, which parent emits which entity, whether processing is overdue by the
//! database's clock.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use bsi_core::connect::Connections;
use bsi_core::doctor::why::{self, StepStatus, VerdictKind, Why, location_entity_ref};
use bsi_core::refs::EntityRef;
use bsi_testkit::backstage::{ERAS, restore, shared_installation};
use bsi_testkit::shared;

fn lines(db: &str, sql: &str) -> Vec<String> {
    shared()
        .psql(db, sql)
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

fn one(db: &str, sql: &str) -> String {
    shared().psql(db, sql)
}

/// Refs as stored, minus those `EntityRef::parse` refuses (the fixtures hold one invalid name
/// on purpose).
fn parseable(refs: Vec<String>) -> Vec<String> {
    refs.into_iter()
        .filter(|r| EntityRef::parse(r).is_ok())
        .collect()
}

fn stage<'a>(w: &'a Why, name: &str) -> &'a why::Step {
    w.steps
        .iter()
        .find(|s| s.stage == name)
        .unwrap_or_else(|| panic!("no {name} stage in {w:#?}"))
}

fn has_next(w: &Why, args: &[&str]) -> bool {
    w.next.iter().any(|n| n.args == args)
}

async fn ask(c: &Arc<Connections>, r: &str) -> Why {
    why::why(c, r)
        .await
        .unwrap_or_else(|e| panic!("why {r}: {e}"))
}

/// The stitched entities' table with their refs, in every era.
fn stitched_refs(db: &str) -> &'static str {
    if one(
        db,
        "SELECT count(*) FROM information_schema.columns WHERE table_name = 'final_entities' AND column_name = 'entity_ref'",
    ) == "1"
    {
        "final_entities"
    } else {
        "(SELECT f.*, r.entity_ref FROM final_entities f JOIN refresh_state r USING (entity_id))"
    }
}

/// Whether `r` is emitted by nothing but other entities of its location are emitted by an
/// entity (the verdict is then `not_emitted`).
fn has_sibling_parent(db: &str, r: &str) -> bool {
    one(
        db,
        &format!(
            "SELECT count(*) FROM refresh_state s JOIN refresh_state_references x ON x.target_entity_ref = s.entity_ref \
             WHERE s.location_key = (SELECT location_key FROM refresh_state WHERE entity_ref = '{r}') \
               AND s.entity_ref <> '{r}' AND x.source_entity_ref IS NOT NULL"
        ),
    ) != "0"
}

#[tokio::test]
async fn processing_errors_orphans_and_typos_on_every_era() {
    for era in ERAS {
        let prefix = shared_installation(era);
        let db = format!("{prefix}catalog");
        let c = common::conns(&format!("why-{era}"), &prefix, false);

        // Every entity whose processing fails is explained by its first error.
        let errored = parseable(lines(
            &db,
            "SELECT entity_ref FROM refresh_state WHERE errors NOT IN ('', '[]') ORDER BY 1",
        ));
        assert!(errored.len() >= 5, "{era}: {errored:?}");
        let fe = stitched_refs(&db);
        for r in &errored {
            let w = ask(&c, r).await;
            let name = one(
                &db,
                &format!(
                    "SELECT errors::json->0->>'name' FROM refresh_state WHERE entity_ref = '{r}'"
                ),
            );
            assert!(w.found, "{era} {r}");
            assert_eq!(
                w.verdict.kind,
                VerdictKind::ProcessingError,
                "{era} {r}: {w:#?}"
            );
            assert!(
                w.verdict.sentence.contains(&name),
                "{era}: {}",
                w.verdict.sentence
            );
            assert_eq!(stage(&w, "refresh_state").status, StepStatus::Bad);
            let in_final = one(
                &db,
                &format!("SELECT count(*) FROM {fe} f WHERE f.entity_ref = '{r}'"),
            ) == "1";
            assert_eq!(
                stage(&w, "final_entities").status == StepStatus::Absent,
                !in_final,
                "{era} {r}"
            );
            assert_eq!(
                w.verdict.sentence.contains("never reached the catalog"),
                !in_final,
                "{era}: {}",
                w.verdict.sentence
            );
            assert!(has_next(&w, &["errors"]) && has_next(&w, &["entity", r]));
        }

        // Orphans: nothing targets them; their verdict is `orphan` unless a sibling parent
        // still emits their location.
        let orphans = parseable(lines(
            &db,
            "SELECT rs.entity_ref FROM refresh_state rs WHERE rs.errors = '[]' AND NOT EXISTS \
             (SELECT 1 FROM refresh_state_references x WHERE x.target_entity_ref = rs.entity_ref) ORDER BY 1",
        ));
        if era == "current" {
            assert_eq!(orphans.len(), 3, "{orphans:?}");
        }
        let mut seen_orphan = false;
        for r in &orphans {
            let w = ask(&c, r).await;
            let want = if has_sibling_parent(&db, r) {
                VerdictKind::NotEmitted
            } else {
                VerdictKind::Orphan
            };
            seen_orphan |= want == VerdictKind::Orphan;
            assert_eq!(w.verdict.kind, want, "{era} {r}: {w:#?}");
            assert_eq!(stage(&w, "parents").status, StepStatus::Bad);
            if want == VerdictKind::Orphan {
                assert!(has_next(&w, &["orphans"]));
                let annotated = one(
                    &db,
                    &format!(
                        "SELECT count(*) FROM {fe} f WHERE f.entity_ref = '{r}' AND f.final_entity LIKE '%\"backstage.io/orphan\":\"true\"%'"
                    ),
                ) == "1";
                assert_eq!(
                    w.verdict.sentence.contains("marked it backstage.io/orphan"),
                    annotated,
                    "{era}: {}",
                    w.verdict.sentence
                );
            }
        }
        assert_eq!(seen_orphan, !orphans.is_empty(), "{era}");

        // A typo of an existing name, and the name in a namespace that does not exist.
        let real = one(
            &db,
            "SELECT entity_ref FROM refresh_state WHERE entity_ref LIKE 'component:default/%' \
             AND length(entity_ref) > 30 AND entity_ref !~ '\\s' ORDER BY 1 LIMIT 1",
        );
        let name = real.split('/').nth(1).unwrap().to_string();
        let mid = name.len() / 2;
        let typo = format!("component:default/{}{}", &name[..mid], &name[mid + 1..]);
        assert_eq!(
            one(
                &db,
                &format!("SELECT count(*) FROM refresh_state WHERE entity_ref = '{typo}'")
            ),
            "0"
        );
        let w = ask(&c, &typo.to_uppercase()).await;
        assert_eq!(w.entity_ref, typo);
        assert!(!w.found);
        assert_eq!(w.verdict.kind, VerdictKind::NeverRegistered, "{w:#?}");
        assert_eq!(
            w.suggestions.first().map(|s| s.entity_ref.as_str()),
            Some(real.as_str()),
            "{era}: {w:#?}"
        );
        assert_eq!(w.suggestions[0].reason, "1 edit away");
        assert!(w.verdict.sentence.contains(&real), "{}", w.verdict.sentence);
        assert!(has_next(&w, &["why", &real]));
        assert_eq!(stage(&w, "refresh_state").status, StepStatus::Absent);
        assert_eq!(stage(&w, "final_entities").status, StepStatus::Absent);

        let elsewhere = format!("component:no-such-namespace/{name}");
        let w = ask(&c, &elsewhere).await;
        assert_eq!(w.verdict.kind, VerdictKind::NeverRegistered);
        let s = w
            .suggestions
            .iter()
            .find(|s| s.entity_ref == real)
            .unwrap_or_else(|| panic!("{w:#?}"));
        assert_eq!(s.reason, "same name, namespace default");
        let w = ask(&c, &format!("api:{name}")).await;
        if w.verdict.kind == VerdictKind::NeverRegistered {
            assert!(
                w.suggestions
                    .iter()
                    .any(|s| s.entity_ref == real && s.reason == "same name, kind component"),
                "{w:#?}"
            );
        }

        // Relation targets that do not exist: named, but never registered.
        let broken = parseable(lines(
            &db,
            &format!(
                "SELECT DISTINCT r.target_entity_ref FROM relations r WHERE NOT EXISTS \
                 (SELECT 1 FROM refresh_state s WHERE s.entity_ref = r.target_entity_ref) \
                 AND NOT EXISTS (SELECT 1 FROM {fe} f WHERE f.entity_ref = r.target_entity_ref) ORDER BY 1 LIMIT 3"
            ),
        ));
        assert!(
            !broken.is_empty(),
            "{era}: the fixtures name missing entities"
        );
        for r in &broken {
            let w = ask(&c, r).await;
            assert_eq!(w.verdict.kind, VerdictKind::NeverRegistered);
            assert!(
                w.verdict.sentence.contains("broken reference"),
                "{}",
                w.verdict.sentence
            );
            assert!(has_next(&w, &["broken-refs"]));
        }

        // A stitched entity emitted by a healthy parent is fine, or stale when its refresh is
        // overdue by the database's clock (the fixtures were made at a fixed moment).
        let healthy = healthy_entity(&db);
        let w = ask(&c, &healthy).await;
        let overdue = one(
            &db,
            &format!(
                "SELECT next_update_at < now() - interval '1 hour' FROM refresh_state WHERE entity_ref = '{healthy}'"
            ),
        ) == "t";
        let want = if overdue {
            VerdictKind::Stale
        } else {
            VerdictKind::Fine
        };
        assert_eq!(w.verdict.kind, want, "{era} {healthy}: {w:#?}");
        assert_eq!(stage(&w, "search").status, StepStatus::Ok, "{w:#?}");
        assert!(stage(&w, "stitch").status != StepStatus::Bad);
        assert!(w.checked_at.is_some());
        c.close().await;
    }
}

/// A component processed without errors, stitched and not an orphan, emitted by a parent
/// that processes without errors.
fn healthy_entity(db: &str) -> String {
    let fe = stitched_refs(db);
    one(
        db,
        &format!(
            "SELECT rs.entity_ref FROM refresh_state rs JOIN {fe} f ON f.entity_ref = rs.entity_ref \
             WHERE rs.entity_ref LIKE 'component:%' AND rs.errors = '[]' \
               AND f.final_entity NOT LIKE '%backstage.io/orphan%' \
               AND EXISTS (SELECT 1 FROM refresh_state_references x JOIN refresh_state p ON p.entity_ref = x.source_entity_ref \
                           WHERE x.target_entity_ref = rs.entity_ref AND p.errors = '[]') \
               AND NOT EXISTS (SELECT 1 FROM refresh_state_references x JOIN refresh_state p ON p.entity_ref = x.source_entity_ref \
                           WHERE x.target_entity_ref = rs.entity_ref AND p.errors <> '[]') \
             ORDER BY 1 LIMIT 1"
        ),
    )
}

#[tokio::test]
async fn a_healthy_entity_a_parent_that_stopped_emitting_and_a_lost_parent() {
    for era in ERAS {
        let prefix = format!("why{}_{}_", era.replace('-', ""), std::process::id());
        restore(shared(), era, &prefix);
        let db = format!("{prefix}catalog");
        // A running catalog: every entity due in two minutes.
        one(
            &db,
            "UPDATE refresh_state SET next_update_at = now() + interval '2 minutes'",
        );
        let c = common::conns(&format!("why-copy-{era}"), &prefix, false);

        let healthy = healthy_entity(&db);
        let w = ask(&c, &healthy).await;
        assert_eq!(w.verdict.kind, VerdictKind::Fine, "{era} {healthy}: {w:#?}");
        assert!(
            w.verdict.sentence.contains("is fine"),
            "{}",
            w.verdict.sentence
        );
        assert_eq!(stage(&w, "refresh_state").status, StepStatus::Ok);
        assert_eq!(stage(&w, "parents").status, StepStatus::Ok);
        assert_eq!(stage(&w, "final_entities").status, StepStatus::Ok);
        assert!(has_next(&w, &["entity", &healthy]));
        let order: Vec<&str> = w.steps.iter().map(|s| s.stage.as_str()).collect();
        assert_eq!(
            order,
            [
                "location",
                "refresh_state",
                "parents",
                "stitch",
                "final_entities",
                "search",
                "relations"
            ]
        );

        // Registered and app-config locations have the location entity Backstage names for them.
        for row in lines(
            &db,
            "SELECT type || ':' || target FROM locations WHERE type <> 'bootstrap'",
        ) {
            let loc = location_entity_ref(&row);
            assert_eq!(
                one(
                    &db,
                    &format!("SELECT count(*) FROM refresh_state WHERE entity_ref = '{loc}'")
                ),
                "1",
                "{era}: {row} -> {loc}"
            );
        }

        // The parent's emission record of one entity is gone, its siblings' stay.
        let pair = one(
            &db,
            "SELECT x.target_entity_ref || '|' || x.source_entity_ref FROM refresh_state_references x \
             JOIN refresh_state rs ON rs.entity_ref = x.target_entity_ref \
             WHERE x.source_entity_ref IS NOT NULL AND rs.errors = '[]' AND x.target_entity_ref LIKE 'component:%' \
               AND (SELECT count(*) FROM refresh_state s JOIN refresh_state_references y ON y.target_entity_ref = s.entity_ref \
                    WHERE s.location_key = rs.location_key AND y.source_entity_ref = x.source_entity_ref) > 1 \
             ORDER BY 1 LIMIT 1",
        );
        let (child, parent) = pair.split_once('|').unwrap();
        one(
            &db,
            &format!("DELETE FROM refresh_state_references WHERE target_entity_ref = '{child}'"),
        );
        let w = ask(&c, child).await;
        assert_eq!(
            w.verdict.kind,
            VerdictKind::NotEmitted,
            "{era} {child}: {w:#?}"
        );
        assert!(
            w.verdict.sentence.contains(parent),
            "{}",
            w.verdict.sentence
        );
        assert_eq!(stage(&w, "parents").status, StepStatus::Bad);
        assert!(has_next(&w, &["why", parent]));

        // A location entity whose own parent, an app-config location, is gone.
        let pair = one(
            &db,
            "SELECT x.target_entity_ref || '|' || x.source_entity_ref FROM refresh_state_references x \
             JOIN refresh_state rs ON rs.entity_ref = x.target_entity_ref \
             WHERE x.source_entity_ref IS NOT NULL AND rs.errors = '[]' AND x.target_entity_ref LIKE 'location:%' \
               AND EXISTS (SELECT 1 FROM refresh_state_references y WHERE y.target_entity_ref = x.source_entity_ref AND y.source_key IS NOT NULL) \
             ORDER BY 1 LIMIT 1",
        );
        let (child, parent) = pair.split_once('|').unwrap();
        one(
            &db,
            &format!("DELETE FROM refresh_state WHERE entity_ref = '{parent}'"),
        );
        let w = ask(&c, child).await;
        let want = if has_sibling_parent(&db, child) {
            VerdictKind::NotEmitted
        } else {
            VerdictKind::MissingParent
        };
        assert_eq!(w.verdict.kind, want, "{era} {child}: {w:#?}");
        if era == "current" {
            assert_eq!(want, VerdictKind::MissingParent, "{w:#?}");
        }
        if want == VerdictKind::MissingParent {
            assert!(
                w.verdict.sentence.contains(parent),
                "{}",
                w.verdict.sentence
            );
            assert_eq!(stage(&w, "location").status, StepStatus::Bad);
        }
        c.close().await;
    }
}

#[tokio::test]
async fn refs_that_do_not_parse_are_refused() {
    let prefix = shared_installation("current");
    let c = common::conns("why-bad", &prefix, false);
    let e = why::why(&c, "no-kind-here").await.unwrap_err();
    assert_eq!(e.code().as_str(), "config", "{e}");
    c.close().await;
}

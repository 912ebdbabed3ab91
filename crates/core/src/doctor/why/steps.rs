//! The stages of [`super::Why`] built from the reads, in the pipeline's order, and what the
//! verdict ([`super::verdict`]) needs from them.

use serde_json::Value;

use super::read::{Final, Reader, Rel, State};
use super::verdict::Seen;
use super::{Step, StepStatus, Why, location_entity_ref, near, short, when};
use crate::doctor::{Thresholds, plural};
use crate::error::Result;
use crate::redact::redact_text;
use crate::refs::EntityRef;
use crate::refs::time::human_duration;

fn step(stage: &str, title: &str, status: StepStatus, facts: Vec<String>) -> Step {
    Step {
        stage: stage.to_string(),
        title: title.to_string(),
        status,
        facts,
    }
}

pub(super) async fn answer(r: &Reader<'_>, wanted: &EntityRef, t: &Thresholds) -> Result<Why> {
    let entity_ref = wanted.to_string();
    let checked_at = r.now().await?;
    let state = r.state(&entity_ref).await?;
    let fin = r.stitched(&entity_ref).await?;
    let entity: Option<Value> = [
        fin.as_ref().and_then(|f| f.entity.clone()),
        state.as_ref().and_then(|s| s.processed.clone()),
        state.as_ref().and_then(|s| s.unprocessed.clone()),
    ]
    .into_iter()
    .flatten()
    .find_map(|raw| {
        serde_json::from_str::<Value>(&raw)
            .ok()
            .filter(Value::is_object)
    });
    let mut seen = Seen {
        orphan_annotation: fin
            .as_ref()
            .and_then(|f| f.entity.as_deref())
            .and_then(|e| serde_json::from_str::<Value>(e).ok())
            .and_then(|e| {
                e.pointer("/metadata/annotations/backstage.io~1orphan")
                    .and_then(Value::as_str)
                    .map(|v| v == "true")
            })
            .unwrap_or(false),
        ..Seen::default()
    };
    let mut steps = vec![
        location(r, &entity_ref, entity.as_ref(), &mut seen).await?,
        processing(r, state.as_ref(), t),
        parents(r, &entity_ref, state.as_ref(), &mut seen).await?,
        stitch(r, &entity_ref, state.as_ref(), fin.as_ref(), t, &mut seen).await?,
        stitched_step(fin.as_ref(), &seen),
    ];
    steps.push(search(r, fin.as_ref()).await?);
    steps.push(relations(r, &entity_ref, fin.is_some(), &mut seen).await?);
    let found = state.is_some() || fin.is_some();
    let suggestions = if found || !r.db.has_column("refresh_state", "entity_ref") {
        Vec::new()
    } else {
        near::closest(r.pool, r.ep, &r.db.schema, wanted).await?
    };
    let (verdict, next) = super::verdict::verdict(
        &entity_ref,
        wanted,
        state.as_ref(),
        fin.as_ref(),
        &seen,
        &suggestions,
        t,
        r.db.has_table("stitch_queue"),
    );
    Ok(Why {
        entity_ref,
        checked_at,
        found,
        steps,
        verdict,
        next,
        suggestions,
    })
}

async fn location(
    r: &Reader<'_>,
    entity_ref: &str,
    entity: Option<&Value>,
    seen: &mut Seen,
) -> Result<Step> {
    const TITLE: &str = "where it comes from";
    let ann = |k: &str| {
        entity
            .and_then(|e| e.pointer(&format!("/metadata/annotations/{}", k.replace('/', "~1"))))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let own = ann("backstage.io/managed-by-location");
    let origin = ann("backstage.io/managed-by-origin-location");
    if own.is_none() && origin.is_none() {
        let fact = if entity.is_some() {
            "the entity has no backstage.io/managed-by-location annotation".to_string()
        } else {
            "no stored entity to read its location from".to_string()
        };
        return Ok(step("location", TITLE, StepStatus::Absent, vec![fact]));
    }
    let mut facts = Vec::new();
    let mut status = StepStatus::Ok;
    if let Some(o) = &own {
        facts.push(format!(
            "read from {} (backstage.io/managed-by-location)",
            redact_text(o)
        ));
    }
    if let Some(o) = origin.as_ref().filter(|o| Some(*o) != own.as_ref()) {
        facts.push(format!(
            "registered as {} (backstage.io/managed-by-origin-location)",
            redact_text(o)
        ));
    }
    let mut wanted: Vec<String> = own.iter().chain(origin.iter()).cloned().collect();
    wanted.dedup();
    let mut registered = Vec::new();
    if r.has("locations", "target") && r.has("locations", "type") {
        registered = r.registered(&wanted).await?;
        for l in &registered {
            let mut line = format!(
                "registered location {} ({} {})",
                l.id,
                l.kind,
                redact_text(&l.target)
            );
            match l.status.as_deref() {
                Some(s) => {
                    line.push_str(&format!(": latest update {s} at {}", when(&l.status_at)));
                    if s == "fail" {
                        status = StepStatus::Bad;
                        line.push_str(&format!(": {}", short(l.message.as_deref().unwrap_or(""))));
                        seen.location_failing = Some(redact_text(&l.target));
                    }
                }
                None => line.push_str(": no update logged"),
            }
            facts.push(line);
        }
        if registered.is_empty() {
            facts.push(
                "no row of `locations` matches: it comes from app-config (catalog.locations) or \
                 an entity provider"
                    .to_string(),
            );
        }
    } else {
        facts.push("this catalog has no `locations` table".to_string());
    }
    if let Some(o) = &origin {
        let loc_ref = registered
            .iter()
            .find(|l| format!("{}:{}", l.kind, l.target) == *o)
            .and_then(|l| l.entity_ref.clone())
            .unwrap_or_else(|| location_entity_ref(o));
        if loc_ref != entity_ref && r.has("refresh_state", "entity_ref") {
            match r.known(&loc_ref).await? {
                None => {
                    status = StepStatus::Bad;
                    facts.push(format!(
                        "its location entity {loc_ref} is not in the processing state"
                    ));
                    seen.origin_missing = Some(format!("{} ({loc_ref})", redact_text(o)));
                }
                Some(errors) if !errors.is_empty() => {
                    status = StepStatus::Bad;
                    facts.push(format!(
                        "its location entity {loc_ref} fails processing: {}: {}",
                        errors[0].name,
                        short(&errors[0].message)
                    ));
                    seen.location_failing.get_or_insert(loc_ref);
                }
                Some(_) => facts.push(format!("its location entity {loc_ref} is processed")),
            }
        }
    }
    Ok(step("location", TITLE, status, facts))
}

fn processing(r: &Reader<'_>, state: Option<&State>, t: &Thresholds) -> Step {
    const TITLE: &str = "processing (refresh_state)";
    if !r.has("refresh_state", "entity_ref") {
        return step(
            "refresh_state",
            TITLE,
            StepStatus::NotAvailable,
            vec!["this catalog has no refresh_state table".into()],
        );
    }
    let Some(s) = state else {
        return step(
            "refresh_state",
            TITLE,
            StepStatus::Absent,
            vec!["no refresh_state row: the processing loop does not know this ref".into()],
        );
    };
    let mut facts = vec![format!("entity id {}", s.entity_id)];
    let mut status = StepStatus::Ok;
    if !s.errors.is_empty() {
        status = StepStatus::Bad;
        for e in &s.errors {
            let cause = e
                .cause
                .as_deref()
                .map(|c| format!(" (cause: {})", short(c)))
                .unwrap_or_default();
            facts.push(format!("error {}: {}{cause}", e.name, short(&e.message)));
        }
    } else if s.errors_raw.trim().is_empty() {
        status = StepStatus::Warn;
        facts.push("never processed yet (errors is empty)".into());
    } else {
        facts.push("processed without errors".into());
    }
    if s.processed.is_none() {
        facts.push("no processed entity stored".into());
    }
    facts.push(format!(
        "last discovered (emitted by its parent) {}",
        when(&s.discovered)
    ));
    let overdue = s.next_update.ago.filter(|a| *a > t.refresh_overdue_secs);
    if overdue.is_some() {
        facts.push(format!(
            "next update overdue: it was due {} (entities are reprocessed every 100-150 s by default)",
            when(&s.next_update)
        ));
        if status == StepStatus::Ok {
            status = StepStatus::Warn;
        }
    } else {
        facts.push(format!("next update due {}", when(&s.next_update)));
    }
    if let Some(h) = &s.result_hash {
        facts.push(format!("result hash {h}"));
    }
    if let Some(k) = &s.location_key {
        facts.push(format!("location key {}", redact_text(k)));
    }
    step("refresh_state", TITLE, status, facts)
}

async fn parents(
    r: &Reader<'_>,
    entity_ref: &str,
    state: Option<&State>,
    seen: &mut Seen,
) -> Result<Step> {
    const TITLE: &str = "emitted by (refresh_state_references)";
    let cols = ["source_key", "source_entity_ref", "target_entity_ref"];
    if !cols.iter().all(|c| r.has("refresh_state_references", c)) {
        return Ok(step(
            "parents",
            TITLE,
            StepStatus::NotAvailable,
            vec!["this catalog has no refresh_state_references table".into()],
        ));
    }
    let list = r.emissions(entity_ref).await?;
    let mut facts = Vec::new();
    let mut status = StepStatus::Ok;
    for e in &list {
        match (&e.source_ref, &e.source_key) {
            (Some(p), _) if !e.source_exists => {
                status = StepStatus::Bad;
                facts.push(format!("{p}: the parent is not in the processing state"));
            }
            (Some(p), _) if !e.source_errors.is_empty() => {
                if status == StepStatus::Ok {
                    status = StepStatus::Warn;
                }
                facts.push(format!(
                    "{p} still emits it, but fails processing: {}: {}",
                    e.source_errors[0].name,
                    short(&e.source_errors[0].message)
                ));
            }
            (Some(p), _) => facts.push(format!("{p} emits it (processed without errors)")),
            (None, Some(k)) => facts.push(format!("the provider {k} emits it")),
            (None, None) => facts.push("a reference row without a source".into()),
        }
    }
    if list.is_empty() && state.is_some() {
        status = StepStatus::Bad;
        facts.push("no parent or provider emits it".into());
        if let Some(lk) = state.and_then(|s| s.location_key.as_deref()) {
            let sib = r.sibling_parents(entity_ref, lk).await?;
            match sib.first() {
                Some((p, n)) => {
                    facts.push(format!(
                        "{p} still emits {} read from {}, but not this one",
                        plural(*n, "other entity", "other entities"),
                        redact_text(lk)
                    ));
                    seen.sibling_parent = Some((p.clone(), *n));
                }
                None => facts.push(format!(
                    "no entity emits anything read from {} any more",
                    redact_text(lk)
                )),
            }
        }
    } else if list.is_empty() {
        status = StepStatus::Absent;
        facts.push("nothing emits this ref".into());
    }
    seen.emissions = Some(list);
    Ok(step("parents", TITLE, status, facts))
}

async fn stitch(
    r: &Reader<'_>,
    entity_ref: &str,
    state: Option<&State>,
    fin: Option<&Final>,
    t: &Thresholds,
    seen: &mut Seen,
) -> Result<Step> {
    const TITLE: &str = "stitching";
    let mut facts = Vec::new();
    let mut status = StepStatus::Ok;
    let late = |ago: Option<i64>| ago.filter(|a| *a > t.stitch_lag_secs);
    if r.has("stitch_queue", "entity_ref") {
        match r.queued(entity_ref).await? {
            Some(q) => {
                facts.push(format!(
                    "queued in stitch_queue for {}{}",
                    when(&q.next),
                    q.ticket
                        .as_deref()
                        .map(|t| format!(", ticket {t}"))
                        .unwrap_or_default()
                ));
                if let Some(f) = q.failures.filter(|f| *f > 0) {
                    status = StepStatus::Bad;
                    facts.push(format!(
                        "{} so far",
                        plural(f, "failed stitch", "failed stitches")
                    ));
                }
                if let Some(a) = late(q.next.ago) {
                    if status == StepStatus::Ok {
                        status = StepStatus::Warn;
                    }
                    seen.queued_late = Some(a);
                    facts.push(format!(
                        "waiting for longer than {}",
                        human_duration(t.stitch_lag_secs)
                    ));
                }
            }
            None => facts.push("no stitch pending (no stitch_queue row)".into()),
        }
    } else if r.has("refresh_state", "next_stitch_at") {
        match state.filter(|s| s.next_stitch.at.is_some()) {
            Some(s) => {
                facts.push(format!(
                    "stitch due {}{}",
                    when(&s.next_stitch),
                    s.next_stitch_ticket
                        .as_deref()
                        .map(|t| format!(", ticket {t}"))
                        .unwrap_or_default()
                ));
                if let Some(a) = late(s.next_stitch.ago) {
                    status = StepStatus::Warn;
                    seen.queued_late = Some(a);
                }
            }
            None => facts.push("no stitch pending (refresh_state.next_stitch_at is empty)".into()),
        }
    } else if let Some(tk) = fin.and_then(|f| f.stitch_ticket.as_deref()) {
        facts.push(format!(
            "stitched at once after processing in this catalog (no queue); last ticket {tk}"
        ));
    } else {
        return Ok(step(
            "stitch",
            TITLE,
            StepStatus::NotAvailable,
            vec!["this catalog keeps no stitch queue or ticket".into()],
        ));
    }
    Ok(step("stitch", TITLE, status, facts))
}

fn stitched_step(fin: Option<&Final>, seen: &Seen) -> Step {
    const TITLE: &str = "in the catalog (final_entities)";
    let Some(f) = fin else {
        return step(
            "final_entities",
            TITLE,
            StepStatus::Absent,
            vec!["no stitched entity: the catalog's API does not return it".into()],
        );
    };
    let mut facts = vec![format!("stitched entity {}", f.entity_id)];
    let mut status = StepStatus::Ok;
    if f.updated.at.is_some() {
        facts.push(format!("last changed {}", when(&f.updated)));
    }
    if let Some(h) = &f.hash {
        facts.push(format!("hash {h}"));
    }
    if f.entity.is_none() {
        status = StepStatus::Warn;
        facts.push("final_entity is empty".into());
    }
    if seen.orphan_annotation {
        status = StepStatus::Warn;
        facts.push("marked backstage.io/orphan: 'true' by the stitcher".into());
    }
    step("final_entities", TITLE, status, facts)
}

async fn search(r: &Reader<'_>, fin: Option<&Final>) -> Result<Step> {
    const TITLE: &str = "filter index (search)";
    if !r.has("search", "entity_id") {
        return Ok(step(
            "search",
            TITLE,
            StepStatus::NotAvailable,
            vec!["this catalog has no search table".into()],
        ));
    }
    let Some(f) = fin else {
        return Ok(step(
            "search",
            TITLE,
            StepStatus::Absent,
            vec!["no rows: only stitched entities are indexed".into()],
        ));
    };
    let n = r.search_rows(&f.entity_id).await?;
    Ok(if n == 0 {
        step(
            "search",
            TITLE,
            StepStatus::Warn,
            vec!["no rows: filtered and sorted lists of the catalog leave it out".into()],
        )
    } else {
        step(
            "search",
            TITLE,
            StepStatus::Ok,
            vec![format!(
                "{} (the catalog's filters find it)",
                plural(n, "row", "rows")
            )],
        )
    })
}

async fn relations(
    r: &Reader<'_>,
    entity_ref: &str,
    in_final: bool,
    seen: &mut Seen,
) -> Result<Step> {
    const TITLE: &str = "relations";
    if !r.has("relations", "source_entity_ref") || !r.has("relations", "target_entity_ref") {
        return Ok(step(
            "relations",
            TITLE,
            StepStatus::NotAvailable,
            vec!["this catalog has no relations table".into()],
        ));
    }
    let (out, inc) = r.relations(entity_ref).await?;
    let summary = |list: &[Rel]| {
        let mut types: Vec<&str> = list.iter().map(|x| x.kind.as_str()).collect();
        types.dedup();
        types.join(", ")
    };
    let mut facts = Vec::new();
    let mut status = StepStatus::Ok;
    let broken: Vec<&Rel> = out.iter().filter(|x| !x.other_exists).collect();
    seen.broken_targets = broken.len();
    seen.relations = out.len();
    seen.named_by = inc
        .iter()
        .map(|x| &x.other)
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    if out.is_empty() && inc.is_empty() {
        return Ok(step(
            "relations",
            TITLE,
            if in_final {
                StepStatus::Ok
            } else {
                StepStatus::Absent
            },
            vec!["no relation from or to it".into()],
        ));
    }
    if !out.is_empty() {
        facts.push(format!(
            "{} from it ({})",
            plural(out.len() as i64, "relation", "relations"),
            summary(&out)
        ));
    }
    if !broken.is_empty() {
        status = StepStatus::Warn;
        let names: Vec<String> = broken
            .iter()
            .take(5)
            .map(|x| format!("{} {}", x.kind, x.other))
            .collect();
        facts.push(format!(
            "{} to entities that do not exist: {}",
            broken.len(),
            names.join(", ")
        ));
    }
    if !inc.is_empty() {
        let from: Vec<&str> = inc.iter().take(5).map(|x| x.other.as_str()).collect();
        facts.push(format!(
            "{} to it ({}) from {}{}",
            plural(inc.len() as i64, "relation", "relations"),
            summary(&inc),
            from.join(", "),
            if seen.named_by > 5 { ", ..." } else { "" }
        ));
    }
    if !in_final && !inc.is_empty() {
        status = StepStatus::Warn;
        facts.push("the entities above name it, but it is not in the catalog".into());
    }
    Ok(step("relations", TITLE, status, facts))
}

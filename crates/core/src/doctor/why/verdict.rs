//! The verdict drawn from the stages, most fundamental cause first: not there at all,
//! processing fails, never processed, nothing emits it (its parent stopped, its parent is
//! gone, an orphan), not stitched, not refreshed; else fine. Each kind comes with its next
//! steps.

use super::near;
use super::read::{Emission, Final, State};
use super::{Verdict, VerdictKind, next, short, when};
use crate::doctor::{NextStep, Thresholds, plural};
use crate::refs::EntityRef;
use crate::refs::time::human_duration;

/// What the stages found that the verdict needs.
#[derive(Default)]
pub(super) struct Seen {
    /// A registered or origin location whose latest update failed, or whose entity fails.
    pub(super) location_failing: Option<String>,
    /// The origin location's entity is not in the processing state.
    pub(super) origin_missing: Option<String>,
    pub(super) emissions: Option<Vec<Emission>>,
    /// A parent that emits the other entities of the same location.
    pub(super) sibling_parent: Option<(String, i64)>,
    pub(super) queued_late: Option<i64>,
    pub(super) orphan_annotation: bool,
    pub(super) broken_targets: usize,
    pub(super) relations: usize,
    pub(super) named_by: usize,
}

#[allow(clippy::too_many_arguments)]
pub(super) fn verdict(
    r: &str,
    wanted: &EntityRef,
    state: Option<&State>,
    fin: Option<&Final>,
    seen: &Seen,
    suggestions: &[near::Suggestion],
    t: &Thresholds,
    has_queue: bool,
) -> (Verdict, Vec<NextStep>) {
    let v = |kind: VerdictKind, sentence: String| Verdict { kind, sentence };
    let emissions = seen.emissions.as_deref();
    let stitched_at = fin
        .map(|f| format!("as stitched {}", when(&f.updated)))
        .filter(|s| !s.ends_with(" -"))
        .unwrap_or_else(|| "as last stitched".into());
    let Some(s) = state else {
        if fin.is_some() {
            return (
                v(
                    VerdictKind::Stale,
                    format!(
                        "{r} is in the catalog but has no processing state (refresh_state row), so Backstage no longer refreshes it."
                    ),
                ),
                vec![next("the entity", &["entity", r])],
            );
        }
        let mut sentence = format!("{r} was never registered: no location or provider emitted it");
        if seen.named_by > 0 {
            sentence.push_str(&format!(
                ", though {} name it in relations (a broken reference)",
                plural(seen.named_by as i64, "entity", "entities")
            ));
        }
        let mut steps = Vec::new();
        match suggestions.first() {
            Some(sug) => {
                sentence.push_str(&format!("; did you mean {}?", sug.entity_ref));
                steps.push(next("the closest existing ref", &["why", &sug.entity_ref]));
            }
            None => sentence.push('.'),
        }
        steps.push(next(
            "entities with this name",
            &["entities", "--text", &wanted.name],
        ));
        if seen.named_by > 0 {
            steps.push(next(
                "relations to entities that do not exist",
                &["broken-refs"],
            ));
        }
        return (v(VerdictKind::NeverRegistered, sentence), steps);
    };
    if let Some(e) = s.errors.first() {
        let served = if fin.is_some() {
            format!("the catalog still serves it {stitched_at}")
        } else {
            "so it never reached the catalog".to_string()
        };
        let mut steps = vec![
            next("its processing state and the entity", &["entity", r]),
            next("every entity whose processing fails", &["errors"]),
        ];
        if seen.location_failing.is_some() {
            steps.push(next(
                "the locations and their latest update",
                &["locations"],
            ));
        }
        return (
            v(
                VerdictKind::ProcessingError,
                format!(
                    "{r} fails processing with {}: {}; {served}.",
                    e.name,
                    short(&e.message)
                ),
            ),
            steps,
        );
    }
    if s.errors_raw.trim().is_empty() {
        return (
            v(
                VerdictKind::NotProcessed,
                format!(
                    "{r} was discovered {} but never processed, so it is not in the catalog yet.",
                    when(&s.discovered)
                ),
            ),
            vec![next("the installation's health", &["doctor"])],
        );
    }
    if let Some(list) = emissions {
        let gone: Vec<&str> = list
            .iter()
            .filter(|e| !e.source_exists)
            .filter_map(|e| e.source_ref.as_deref())
            .collect();
        if list.is_empty() {
            if let Some((p, n)) = &seen.sibling_parent {
                return (
                    v(
                        VerdictKind::NotEmitted,
                        format!(
                            "{r} is no longer emitted by its parent {p}, which still emits {} from the same location; Backstage treats it as an orphan until it is emitted again.",
                            plural(*n, "other entity", "other entities")
                        ),
                    ),
                    vec![
                        next("why the parent does not emit it", &["why", p]),
                        next("the parent", &["entity", p]),
                    ],
                );
            }
            if let Some(o) = &seen.origin_missing {
                return (
                    v(
                        VerdictKind::MissingParent,
                        format!(
                            "{r} has lost its parent: nothing emits it, and the location it came from, {o}, is no longer in the catalog."
                        ),
                    ),
                    vec![
                        next("the registered locations", &["locations"]),
                        next("every orphan", &["orphans"]),
                    ],
                );
            }
            return (
                v(
                    VerdictKind::Orphan,
                    format!(
                        "{r} is an orphan: no parent or provider emits it any more{}; it stays {stitched_at} until it is deleted.",
                        if seen.orphan_annotation {
                            ", and the catalog marked it backstage.io/orphan"
                        } else {
                            ""
                        }
                    ),
                ),
                vec![
                    next("every orphan", &["orphans"]),
                    next("the entity", &["entity", r]),
                ],
            );
        }
        if gone.len() == list.len() {
            return (
                v(
                    VerdictKind::MissingParent,
                    format!(
                        "{r} is emitted only by {}, which is no longer in the processing state.",
                        gone.join(", ")
                    ),
                ),
                vec![next("every orphan", &["orphans"])],
            );
        }
    }
    if fin.is_none() {
        let queued = seen
            .queued_late
            .map(|a| format!(": its stitch has waited {}", human_duration(a)))
            .unwrap_or_default();
        let mut steps = vec![next("the installation's health", &["doctor"])];
        if has_queue {
            steps.push(next(
                "the stitch queue",
                &[
                    "table",
                    "stitch_queue",
                    "--area",
                    "catalog",
                    "--sort",
                    "next_stitch_at",
                ],
            ));
        }
        return (
            v(
                VerdictKind::NotStitched,
                format!(
                    "{r} was processed without errors but is not stitched into the catalog{queued}."
                ),
            ),
            steps,
        );
    }
    let stale_steps = |extra: Option<&str>| {
        let older = format!("{}s", t.refresh_overdue_secs);
        let mut s = vec![
            next(
                "entities not refreshed lately",
                &["stale", "--older-than", &older],
            ),
            next("the installation's health", &["doctor"]),
        ];
        if let Some(p) = extra {
            s.insert(0, next("why its parent fails", &["why", p]));
        }
        s
    };
    if let Some(a) = s.next_update.ago.filter(|a| *a > t.refresh_overdue_secs) {
        return (
            v(
                VerdictKind::Stale,
                format!(
                    "{r} is stale: its refresh was due {} ago (entities are reprocessed every 100-150 s by default), so the catalog's processing has stopped or fallen behind; it is served {stitched_at}.",
                    human_duration(a)
                ),
            ),
            stale_steps(None),
        );
    }
    if let Some(a) = seen.queued_late {
        return (
            v(
                VerdictKind::NotStitched,
                format!(
                    "{r} waits for its stitch for {}, so the catalog serves an older version.",
                    human_duration(a)
                ),
            ),
            vec![next("the installation's health", &["doctor"])],
        );
    }
    if let Some(p) = emissions
        .unwrap_or_default()
        .iter()
        .find(|e| !e.source_errors.is_empty())
        .and_then(|e| e.source_ref.as_deref())
    {
        return (
            v(
                VerdictKind::Stale,
                format!(
                    "{r} is stale: its parent {p} fails processing, so it has not been rediscovered since {}.",
                    when(&s.discovered)
                ),
            ),
            stale_steps(Some(p)),
        );
    }
    let by = emissions
        .and_then(|l| l.first())
        .map(|e| {
            e.source_ref
                .clone()
                .or_else(|| e.source_key.clone())
                .map(|p| format!(", emitted by {p}"))
                .unwrap_or_default()
        })
        .unwrap_or_default();
    (
        v(
            VerdictKind::Fine,
            format!(
                "{r} is fine: processed without errors{by}, refreshed on time and in the catalog {stitched_at}{}.",
                match (seen.relations, seen.broken_targets) {
                    (0, _) => String::new(),
                    (n, 0) => format!(" with {}", plural(n as i64, "relation", "relations")),
                    (n, b) => format!(
                        " with {} ({b} to entities that do not exist)",
                        plural(n as i64, "relation", "relations")
                    ),
                }
            ),
        ),
        vec![
            next("the entity", &["entity", r]),
            next("its relations", &["graph", r]),
        ],
    )
}

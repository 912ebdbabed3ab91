//! Why one entity is missing, stale, orphaned or fine: the catalog's pipeline for one ref, in
//! the order Backstage runs it, each stage with its status and plain facts, ending in one
//! sentence ([`Verdict`]) with a stable [`VerdictKind`] and the next steps as `bsi`
//! sub-commands (like the doctor's findings).
//!
//! The stages: where the entity comes from (its `backstage.io/managed-by-location` and
//! `managed-by-origin-location` annotations, the registered `locations` row with its latest
//! update, and the origin's location entity), its processing state (`refresh_state`: errors,
//! last discovery, next update, result hash), its parents (`refresh_state_references`: the
//! row that targets it is the record that its parent's last processing still emits it), the
//! stitch (`stitch_queue`, or the stitch ticket of older catalogs), the stitched entity
//! (`final_entities`), its rows in the catalog's `search` index, and its relations both ways.
//! A ref that is nowhere gets the closest existing refs instead ([`near`]).
//!
//! Every read follows the live schema: a stage whose table an older catalog lacks is
//! [`StepStatus::NotAvailable`], never an error. Ages are by the database's clock (`now()`).

mod near;
mod read;
mod steps;
mod verdict;

use serde::Serialize;

use super::{NextStep, Thresholds};
use crate::catalog::stitched;
use crate::connect::Connections;
use crate::error::{CoreError, Result};
use crate::redact::redact_text;
use crate::refs::EntityRef;
use crate::refs::time::human_duration;
use read::At;

pub use near::Suggestion;

/// How one stage of the pipeline stands for the entity.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "WhyStepStatus"))]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    /// The stage did its part.
    Ok,
    /// Done, with something to look at (a late refresh, a failing location).
    Warn,
    /// The stage failed for this entity; the verdict usually names it.
    Bad,
    /// The entity is not in this stage (no row).
    Absent,
    /// This catalog has no such stage (a table or column of another Backstage version).
    NotAvailable,
}

impl StepStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            StepStatus::Ok => "ok",
            StepStatus::Warn => "warn",
            StepStatus::Bad => "bad",
            StepStatus::Absent => "absent",
            StepStatus::NotAvailable => "not_available",
        }
    }
}

/// One stage of the pipeline for the entity.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "WhyStep"))]
pub struct Step {
    /// Stable: `location`, `refresh_state`, `parents`, `stitch`, `final_entities`, `search`,
    /// `relations`.
    pub stage: String,
    /// What the stage is, in a few words.
    pub title: String,
    pub status: StepStatus,
    /// What was found, one line each; times with their age by the database's clock.
    pub facts: Vec<String>,
}

/// What the answer comes down to. Stable names (snake_case in JSON).
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "WhyVerdictKind"))]
#[serde(rename_all = "snake_case")]
pub enum VerdictKind {
    /// Processed without errors, emitted by a parent, stitched, refreshed on time.
    Fine,
    /// `refresh_state.errors` holds errors.
    ProcessingError,
    /// Known to the processing loop but never processed (`errors` is `''`).
    NotProcessed,
    /// Its parent still emits the other entities of its location but not this one.
    NotEmitted,
    /// The parent that emitted it, or the location it came from, is gone.
    MissingParent,
    /// Nothing emits it any more (or the catalog marked it `backstage.io/orphan`).
    Orphan,
    /// Processed without errors, but not (or not lately) stitched.
    NotStitched,
    /// In the catalog, but not refreshed: processing overdue, or its parent fails.
    Stale,
    /// No entity has this ref: not in `refresh_state` nor `final_entities`.
    NeverRegistered,
}

impl VerdictKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            VerdictKind::Fine => "fine",
            VerdictKind::ProcessingError => "processing_error",
            VerdictKind::NotProcessed => "not_processed",
            VerdictKind::NotEmitted => "not_emitted",
            VerdictKind::MissingParent => "missing_parent",
            VerdictKind::Orphan => "orphan",
            VerdictKind::NotStitched => "not_stitched",
            VerdictKind::Stale => "stale",
            VerdictKind::NeverRegistered => "never_registered",
        }
    }
}

/// The conclusion: one sentence and its kind.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "WhyVerdict"))]
pub struct Verdict {
    pub kind: VerdictKind,
    pub sentence: String,
}

/// Why an entity is as it is.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Why {
    /// The ref asked about, normalised (`kind:namespace/name`, lower case).
    pub entity_ref: String,
    /// The database's `now()` when the answer was read (UTC, ISO 8601).
    pub checked_at: Option<String>,
    /// Whether the catalog has the entity (in `refresh_state` or `final_entities`).
    pub found: bool,
    /// The pipeline's stages, in order.
    pub steps: Vec<Step>,
    pub verdict: Verdict,
    pub next: Vec<NextStep>,
    /// For a ref the catalog does not have: the closest refs it has, closest first.
    pub suggestions: Vec<Suggestion>,
}

/// Why `entity_ref` (`kind:namespace/name` or `kind:name`, case-insensitive) is missing,
/// stale, orphaned or fine, with the doctor's default thresholds.
pub async fn why(conns: &Connections, entity_ref: &str) -> Result<Why> {
    why_with(conns, entity_ref, &Thresholds::default()).await
}

/// [`why`] with given thresholds (a refresh overdue by `refresh_overdue_secs` is stale, a stitch
/// waiting `stitch_lag_secs` is late).
#[tracing::instrument(level = "debug", skip(conns, t), err(level = "debug"))]
pub async fn why_with(conns: &Connections, entity_ref: &str, t: &Thresholds) -> Result<Why> {
    let wanted = EntityRef::parse(entity_ref)?;
    let place = crate::area::locate(conns, "catalog")?;
    let (pool, db) = place.open(conns).await?;
    if !db.has_column("refresh_state", "entity_ref") && stitched(&db).is_none() {
        return Err(CoreError::SchemaDegraded {
            view: "why".into(),
            reason: format!(
                "{}.{} has neither refresh_state nor readable final_entities: is it a catalog database?",
                db.database, db.schema
            ),
        });
    }
    let reader = read::Reader {
        pool: &pool,
        ep: &place.endpoint,
        db: &db,
    };
    // Boxed: the reads of every stage make a large future, kept off the caller's stack.
    Box::pin(steps::answer(&reader, &wanted, t)).await
}

/// `location:default/generated-<sha1 of "type:target">`: the location entity Backstage makes
/// for a location (`locationSpecToMetadataName` in backstage/backstage
/// `plugins/catalog-node/src/conversion.ts`), for both registered and app-config locations.
pub fn location_entity_ref(location: &str) -> String {
    use sha1::{Digest, Sha1};
    let hash = Sha1::digest(location.as_bytes());
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    format!("location:default/generated-{hex}")
}

/// `2026-12-04T20:25:20Z (3.5 days ago)`, `... (in 40 s)`, or `-`.
fn when(t: &At) -> String {
    let Some(at) = &t.at else {
        return "-".to_string();
    };
    let at = if at.len() >= 19 {
        format!("{}Z", &at[..19])
    } else {
        at.clone()
    };
    match t.ago {
        Some(s) if s >= 0 => format!("{at} ({} ago)", human_duration(s)),
        Some(s) => format!("{at} (in {})", human_duration(-s)),
        None => at,
    }
}

/// One line of a message, at most 200 characters, redacted.
fn short(s: &str) -> String {
    let one: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    let cut: String = one.chars().take(200).collect();
    let cut = if cut.len() < one.len() {
        format!("{cut}…")
    } else {
        cut
    };
    redact_text(&cut)
}

fn next(what: &str, args: &[&str]) -> NextStep {
    NextStep {
        what: what.to_string(),
        args: args.iter().map(|a| a.to_string()).collect(),
        command: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_entities_are_named_by_the_sha1_of_the_location() {
        // SHA-1's published test vector for "abc".
        assert_eq!(
            location_entity_ref("abc"),
            "location:default/generated-a9993e364706816aba3e25717850c26c9cd0d89d"
        );
    }
}

//! `bsi why REF`: the catalog's pipeline for one ref, stage by stage with a status mark and
//! its facts, then the verdict in one sentence and the next steps as command lines with this
//! run's connection and layout options. Exits 0 when the catalog has the entity, whatever the
//! verdict, and 4 (not found) for a ref it never had, after printing the closest refs.

use bsi_core::doctor::why::{self, StepStatus, Why};
use bsi_core::{ErrorCode, Result};

use crate::commands::doctor::command;
use crate::global::Global;
use crate::{context, output};

#[derive(Debug, clap::Args)]
pub struct WhyArgs {
    /// kind:namespace/name, or kind:name for namespace `default` (case-insensitive).
    #[arg(value_name = "REF")]
    pub entity_ref: String,
}

/// The exit code of an answer: not found for a ref the catalog never had.
fn exit_code(w: &Why) -> i32 {
    if w.found {
        0
    } else {
        ErrorCode::NotFound.exit_code()
    }
}

/// Answers why; returns the exit code.
pub async fn run(global: &Global, args: WhyArgs) -> Result<i32> {
    let conns = context::resolve(global, None).await?.connections();
    let result = why::why(&conns, &args.entity_ref).await;
    conns.close().await;
    let w = result?;
    if global.json {
        let mut v =
            serde_json::to_value(&w).map_err(|e| bsi_core::CoreError::Internal(e.to_string()))?;
        for (step, n) in v["next"].as_array_mut().into_iter().flatten().zip(&w.next) {
            step["command"] = command(global, n).into();
        }
        output::json(&v)?;
        return Ok(exit_code(&w));
    }
    print(global, &w);
    Ok(exit_code(&w))
}

fn mark(s: StepStatus) -> &'static str {
    match s {
        StepStatus::Ok => "[ok]    ",
        StepStatus::Warn => "[warn]  ",
        StepStatus::Bad => "[bad]   ",
        StepStatus::Absent => "[absent]",
        StepStatus::NotAvailable => "[n/a]   ",
    }
}

fn print(global: &Global, w: &Why) {
    outln!(
        "{} (checked at {} by the database's clock)",
        w.entity_ref,
        w.checked_at.as_deref().unwrap_or("-")
    );
    for s in &w.steps {
        outln!("\n{} {}", mark(s.status), s.title);
        for f in &s.facts {
            outln!("         {f}");
        }
    }
    outln!(
        "\n{}: {}",
        w.verdict.kind.as_str().to_uppercase(),
        w.verdict.sentence
    );
    if !w.suggestions.is_empty() {
        outln!("\nClosest refs in the catalog:");
        for s in &w.suggestions {
            outln!("  {}    ({})", s.entity_ref, s.reason);
        }
    }
    if !w.next.is_empty() {
        outln!();
    }
    for n in &w.next {
        match command(global, n) {
            Some(c) => outln!("  → {c}    # {}", n.what),
            None => outln!("  → {}", n.what),
        }
    }
}

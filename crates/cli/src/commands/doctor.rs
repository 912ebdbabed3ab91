//! `bsi doctor`: the core's findings, worst first, each with its evidence and the next steps as
//! command lines with this run's connection and layout options. The exit code says the worst
//! severity: 0 when nothing is at warning or above, [`EXIT_WARNING`] for warnings,
//! [`EXIT_CRITICAL`] for critical findings.

use bsi_core::Result;
use bsi_core::doctor::{self, Finding, NextStep, Report, Severity};

use crate::global::{Global, shell_word};
use crate::{context, output};

/// The exit code when the worst finding is a warning.
pub const EXIT_WARNING: i32 = 12;
/// The exit code when a finding is critical.
pub const EXIT_CRITICAL: i32 = 13;

/// The exit code of a report.
pub fn exit_code(r: &Report) -> i32 {
    match r.worst {
        Severity::Critical => EXIT_CRITICAL,
        Severity::Warning => EXIT_WARNING,
        Severity::Info | Severity::Ok => 0,
    }
}

/// The options of this run that a pasted next step needs: the connection, then the layout.
fn run_options(global: &Global) -> Vec<String> {
    let mut options = global.connection_args();
    options.extend(global.layout_args());
    options
}

/// A next step as the user pastes it.
pub(crate) fn command(global: &Global, n: &NextStep) -> Option<String> {
    if n.args.is_empty() {
        return None;
    }
    let words: Vec<String> = n.args.iter().map(|a| shell_word(a)).collect();
    Some(global.same_run_line(&words))
}

/// Runs the doctor; returns the exit code.
pub async fn run(global: &Global) -> Result<i32> {
    let conns = context::resolve(global, None).await?.connections();
    let result = doctor::doctor(&conns).await;
    conns.close().await;
    // The pasteable command lines ride along with each step.
    let report = result?.with_commands(&run_options(global));
    if global.json {
        output::json(&report)?;
        return Ok(exit_code(&report));
    }
    print(&report);
    Ok(exit_code(&report))
}

fn print(r: &Report) {
    let count = |s: Severity| r.findings.iter().filter(|f| f.severity == s).count();
    outln!(
        "{} critical, {} warning, {} info, {} ok (checked at {} by the database's clock)",
        count(Severity::Critical),
        count(Severity::Warning),
        count(Severity::Info),
        count(Severity::Ok),
        r.checked_at.as_deref().unwrap_or("-")
    );
    for f in r.findings.iter().filter(|f| f.severity != Severity::Ok) {
        finding(f);
    }
    let ok: Vec<&str> = r
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Ok)
        .map(|f| f.id.as_str())
        .collect();
    if !ok.is_empty() {
        outln!("\nOK: {}", ok.join(", "));
    }
    if !r.skipped.is_empty() {
        outln!("\nNot checked:");
        for s in &r.skipped {
            outln!("  - {s}");
        }
    }
}

fn finding(f: &Finding) {
    outln!(
        "\n{} [{}] {}",
        f.severity.as_str().to_uppercase(),
        f.id,
        f.title
    );
    for e in &f.evidence {
        outln!("    {e}");
    }
    if !f.examples.is_empty() {
        outln!("    e.g. {}", f.examples.join(", "));
    }
    for n in &f.next {
        match &n.command {
            Some(c) => outln!("  → {c}    # {}", n.what),
            None => outln!("  → {}", n.what),
        }
    }
}

//! `bsi fix ...`: the guarded fixes. Each prints its plan (what it touches, where the semantics
//! come from in Backstage's code, the exact SQL with its values), asks for the database's name
//! (or takes `--yes`), runs in one transaction, prints the result read again and the audit log
//! line's file. `--dry-run` prints the plan only, also in read-only mode; without it, read-only
//! mode refuses before anything is asked.

use std::io::{BufRead, IsTerminal, Write};

use clap::{Args, Subcommand};

use bsi_core::fixes::{self, FixOutcome, FixPlan, FixRequest};
use bsi_core::{CoreError, Result};

use crate::global::Global;
use crate::{context, output};

#[derive(Debug, Subcommand)]
pub enum FixCommand {
    /// Schedule an entity (and its location) for processing now, as Backstage's refresh API does.
    Refresh {
        /// The entity ref (kind:namespace/name).
        entity_ref: String,
        #[command(flatten)]
        guard: Guard,
    },
    /// Remove an orphaned entity the way Backstage's catalog API deletes one.
    DeleteOrphan {
        entity_ref: String,
        #[command(flatten)]
        guard: Guard,
    },
    /// Clear a scheduler task's expired run ticket (as Backstage's scheduler janitor does).
    ClearTicket {
        /// The scheduler task id (`backstage_backend_tasks__tasks.id`).
        task_id: String,
        /// The plugin whose database holds it.
        #[arg(long, default_value = "catalog")]
        area: String,
        #[command(flatten)]
        guard: Guard,
    },
    /// Mark a scaffolder task whose worker stopped sending heartbeats as failed.
    FailTask {
        task_id: String,
        #[command(flatten)]
        guard: Guard,
    },
    /// Release a held Knex migration lock (the same as `bsi knex unlock`).
    KnexUnlock {
        database: String,
        /// The table as `bsi knex status` names it (knex_migrations, or SCHEMA.TABLE outside
        /// public), or its lock table (knex_migrations_lock).
        table: String,
        #[command(flatten)]
        guard: Guard,
    },
}

#[derive(Debug, Args)]
pub struct Guard {
    /// Print the plan and the SQL only; change nothing (works in read-only mode).
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask for the database's name (for scripts).
    #[arg(long)]
    pub yes: bool,
}

impl FixCommand {
    fn split(self) -> (FixRequest, Guard) {
        match self {
            FixCommand::Refresh { entity_ref, guard } => {
                (FixRequest::Refresh { entity_ref }, guard)
            }
            FixCommand::DeleteOrphan { entity_ref, guard } => {
                (FixRequest::DeleteOrphan { entity_ref }, guard)
            }
            FixCommand::ClearTicket {
                task_id,
                area,
                guard,
            } => (FixRequest::ClearTicket { area, task_id }, guard),
            FixCommand::FailTask { task_id, guard } => (FixRequest::FailTask { task_id }, guard),
            FixCommand::KnexUnlock {
                database,
                table,
                guard,
            } => (
                FixRequest::KnexUnlock {
                    database,
                    lock_table: table,
                },
                guard,
            ),
        }
    }
}

pub async fn run(global: &Global, cmd: FixCommand) -> Result<()> {
    let (req, guard) = cmd.split();
    run_request(global, req, guard.dry_run, guard.yes).await
}

/// Plans `req`, and unless `dry_run`, confirms and applies it.
pub async fn run_request(global: &Global, req: FixRequest, dry_run: bool, yes: bool) -> Result<()> {
    let conns = context::resolve(global, None).await?.connections();
    let result = async {
        if !dry_run && !conns.write_mode() {
            return Err(CoreError::ReadOnly {
                message: format!(
                    "this fix writes to the database; see what it would run with `--dry-run`, \
                     or run it in write mode: `{}`",
                    global
                        .rerun_line(&[], &[])
                        .replacen("bsi ", "bsi --write ", 1)
                ),
            });
        }
        let plan = fixes::plan(&conns, &req).await?;
        if global.json && dry_run {
            return output::json(&plan);
        }
        if !global.json {
            print_plan(&plan);
        }
        if dry_run {
            outln!("\nDry run: nothing was changed.");
            return Ok(());
        }
        let typed = if yes {
            plan.confirm.clone()
        } else {
            if !std::io::stdin().is_terminal() {
                return Err(CoreError::config(
                    "a fix needs a confirmation: run it on a terminal, or pass --yes",
                ));
            }
            out!("\nType the database name `{}` to run it: ", plan.confirm);
            std::io::stdout().flush().ok();
            let mut answer = String::new();
            std::io::stdin().lock().read_line(&mut answer).ok();
            if answer.trim() != plan.confirm {
                return Err(CoreError::Cancelled);
            }
            plan.confirm.clone()
        };
        let outcome = fixes::apply(&conns, &plan, &typed).await?;
        if global.json {
            return output::json(&outcome);
        }
        print_outcome(&outcome);
        Ok(())
    }
    .await;
    conns.close().await;
    result
}

fn print_plan(plan: &FixPlan) {
    outln!("{}", plan.title);
    outln!("  on {} / {}", plan.server, plan.database);
    outln!("  as Backstage does it: {}", plan.source);
    outln!("\nTouches:");
    for t in &plan.touches {
        outln!("  - {t}");
    }
    outln!("\nSQL (one transaction):");
    for line in plan.script().lines() {
        outln!("  {line}");
    }
}

fn print_outcome(o: &FixOutcome) {
    outln!(
        "\nDone: {} (rows changed per statement: {}).",
        o.plan.title,
        o.rows
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    );
    if !o.after.is_empty() {
        outln!("Now:");
        for a in &o.after {
            outln!("  {a}");
        }
    }
    if let Some(p) = &o.audit_log {
        outln!("Recorded in {}", p.display());
    }
    for n in &o.notes {
        errln!("warning: {n}");
    }
}

//! `bsi knex status|unlock`.

use clap::Subcommand;

use bsi_core::{Result, knex};

use crate::global::{Global, shell_word};
use crate::{context, output};

#[derive(Debug, Subcommand)]
pub enum KnexCommand {
    /// Every knex_migrations table: what ran, the newest migration, and the lock.
    Status,
    /// Release a held Knex migration lock (needs write mode).
    Unlock {
        /// The database holding the lock table.
        database: String,
        /// The table as `knex status` names it (knex_migrations, or SCHEMA.TABLE outside
        /// public), or its lock table (knex_migrations_lock).
        table: String,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
        /// Print the plan and the SQL only; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

/// The pasteable command that releases `t`'s lock, with this run's connection options.
fn unlock_line(global: &Global, t: &knex::KnexTable) -> String {
    global.same_run_line(&[
        "--write".into(),
        "knex".into(),
        "unlock".into(),
        shell_word(&t.database),
        shell_word(&knex::display_name(t)),
    ])
}

pub async fn run(global: &Global, cmd: KnexCommand) -> Result<()> {
    // Releasing a lock is a guarded fix: its plan, the confirmation, one transaction, the audit log.
    if let KnexCommand::Unlock {
        database,
        table,
        yes,
        dry_run,
    } = cmd
    {
        let req = bsi_core::fixes::FixRequest::KnexUnlock {
            database,
            lock_table: table,
        };
        return crate::commands::fix::run_request(global, req, dry_run, yes).await;
    }
    let conns = context::resolve(global, None).await?.connections();
    let result = async {
        match cmd {
            KnexCommand::Status => {
                let tables = knex::status(&conns).await?;
                if global.json {
                    return output::json(&tables);
                }
                if tables.is_empty() {
                    outln!("No knex_migrations tables: no database here is managed by Backstage.");
                    return Ok(());
                }
                output::table(
                    &["database", "table", "applied", "newest", "lock"],
                    tables
                        .iter()
                        .map(|t| {
                            vec![
                                t.database.clone(),
                                knex::display_name(t),
                                if t.error.is_some() {
                                    "unreadable".into()
                                } else {
                                    t.applied.to_string()
                                },
                                t.newest.clone().unwrap_or_else(|| "-".into()),
                                if t.locked {
                                    "HELD".into()
                                } else if t.lock_table.is_some() {
                                    "free".into()
                                } else {
                                    "no lock table".into()
                                },
                            ]
                        })
                        .collect(),
                );
                for t in tables.iter().filter(|t| t.error.is_some()) {
                    outln!(
                        "\n{}.{}: cannot be read: {}",
                        t.database,
                        t.table,
                        t.error.as_deref().unwrap_or_default()
                    );
                }
                for t in tables.iter().filter(|t| t.locked) {
                    outln!(
                        "\n{}.{}: {}",
                        t.database,
                        t.table,
                        t.hint.as_deref().unwrap_or_default()
                    );
                    outln!("  release it with: {}", unlock_line(global, t));
                }
                Ok(())
            }
            KnexCommand::Unlock { .. } => Ok(()),
        }
    }
    .await;
    conns.close().await;
    result
}

//! `bsi knex status|unlock`.

use clap::Subcommand;
use std::io::{BufRead, IsTerminal, Write};

use bsi_core::{CoreError, Result, knex};

use crate::global::Global;
use crate::{context, output};

#[derive(Debug, Subcommand)]
pub enum KnexCommand {
    /// Every knex_migrations table: what ran, the newest migration, and the lock.
    Status,
    /// Release a held Knex migration lock (needs write mode).
    Unlock {
        /// The database holding the lock table.
        database: String,
        /// The lock table, as SCHEMA.TABLE or TABLE (schema public).
        table: String,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
}

pub async fn run(global: &Global, cmd: KnexCommand) -> Result<()> {
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
                                if t.schema == "public" { t.table.clone() } else { format!("{}.{}", t.schema, t.table) },
                                if t.error.is_some() { "unreadable".into() } else { t.applied.to_string() },
                                t.newest.clone().unwrap_or_else(|| "-".into()),
                                if t.locked { "HELD".into() } else if t.lock_table.is_some() { "free".into() } else { "no lock table".into() },
                            ]
                        })
                        .collect(),
                );
                for t in tables.iter().filter(|t| t.error.is_some()) {
                    outln!("\n{}.{}: cannot be read: {}", t.database, t.table, t.error.as_deref().unwrap_or_default());
                }
                for t in tables.iter().filter(|t| t.locked) {
                    outln!("\n{}.{}: {}", t.database, t.table, t.hint.as_deref().unwrap_or_default());
                }
                Ok(())
            }
            KnexCommand::Unlock { database, table, yes } => {
                let release = knex::LockRelease::prepare(&conns, &database, &table)?;
                let (schema, table) = (&release.schema, &release.table);
                if !yes {
                    if !std::io::stdin().is_terminal() {
                        return Err(CoreError::config("unlocking needs a confirmation: run it on a terminal or pass --yes"));
                    }
                    out!("Release the Knex lock {schema}.{table} in database {database} on {}? Type the database name to confirm: ", conns.profile().server());
                    std::io::stdout().flush().ok();
                    let mut answer = String::new();
                    std::io::stdin().lock().read_line(&mut answer).ok();
                    if answer.trim() != database {
                        return Err(CoreError::Cancelled);
                    }
                }
                let n = release.run(&conns).await?;
                if global.json {
                    return output::json(&serde_json::json!({ "database": database, "table": format!("{schema}.{table}"), "released": n }));
                }
                if n == 0 {
                    outln!("{schema}.{table} in {database} was not locked; nothing changed.");
                } else {
                    outln!("Released the lock {schema}.{table} in {database}. Restart Backstage to let it finish its migrations.");
                }
                Ok(())
            }
        }
    }
    .await;
    conns.close().await;
    result
}

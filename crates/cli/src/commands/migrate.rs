//! `bsi migrate status|plan|apply`.

use bsi_core::Result;
use bsi_core::migrate::{self, ApplyOptions};
use clap::{Args, Subcommand};

use crate::global::Global;
use crate::{context, output};

#[derive(Debug, Args, Clone)]
pub struct AreaArgs {
    /// Only these plugin areas (catalog, scaffolder, auth, search, notifications, events).
    #[arg(long = "area", value_name = "AREA")]
    pub areas: Vec<String>,
}
#[derive(Debug, Subcommand)]
pub enum MigrateCommand {
    /// Applied, pending and changed migrations of each area.
    Status(AreaArgs),
    /// The SQL that `apply` would run.
    Plan(AreaArgs),
    /// Apply the pending migrations (needs write mode), each in its own transaction.
    Apply {
        #[command(flatten)]
        areas: AreaArgs,
        /// Apply even to a database that real Backstage manages (it has knex_migrations).
        #[arg(long)]
        force: bool,
        /// Create missing plugin databases (or schemas) when the role may.
        #[arg(long)]
        create_databases: bool,
    },
}

fn areas(a: &AreaArgs) -> Vec<String> {
    if a.areas.is_empty() {
        migrate::default_areas()
    } else {
        a.areas.clone()
    }
}

pub async fn run(global: &Global, cmd: MigrateCommand) -> Result<()> {
    let conns = context::resolve(global, None).await?.connections();
    let result = async {
        match cmd {
            MigrateCommand::Status(a) => {
                let places = migrate::places(&conns, &areas(&a))?;
                let st = migrate::status(&conns, &places).await?;
                if global.json {
                    return output::json(&st);
                }
                let rows = st
                    .iter()
                    .map(|s| {
                        let changed: Vec<String> = s
                            .mismatched()
                            .map(|m| format!("{:04}_{}", m.version, m.name))
                            .collect();
                        vec![
                            s.place.area.clone(),
                            if s.place.schema == "public" {
                                s.place.database.clone()
                            } else {
                                format!("{}.{}", s.place.database, s.place.schema)
                            },
                            if s.database_exists {
                                s.applied.len().to_string()
                            } else {
                                "no database".into()
                            },
                            if s.backstage_managed {
                                "- (Backstage's own)".into()
                            } else {
                                s.pending.len().to_string()
                            },
                            if changed.is_empty() {
                                "-".into()
                            } else {
                                changed.join(", ")
                            },
                            if s.knex_managed {
                                "yes (managed by Backstage)"
                            } else {
                                "no"
                            }
                            .to_string(),
                        ]
                    })
                    .collect();
                output::table(
                    &[
                        "area",
                        "database",
                        "applied",
                        "pending",
                        "changed since applied",
                        "knex",
                    ],
                    rows,
                );
                let managed: Vec<String> = st
                    .iter()
                    .filter(|s| s.backstage_managed)
                    .map(|s| s.place.database.clone())
                    .collect();
                if !managed.is_empty() {
                    outln!(
                        "\n{} {} managed by Backstage's own migrations (Knex): nothing of ours is \
                         pending there. Their migration state:\n  {}",
                        managed.join(", "),
                        if managed.len() == 1 { "is" } else { "are" },
                        global.same_run_line(&["knex".into(), "status".into()])
                    );
                }
                Ok(())
            }
            MigrateCommand::Plan(a) => {
                let places = migrate::places(&conns, &areas(&a))?;
                let st = migrate::status(&conns, &places).await?;
                let plan = migrate::plan(&st);
                if global.json {
                    return output::json(&plan);
                }
                if plan.is_empty() {
                    outln!("-- Nothing to apply.");
                }
                for s in st.iter().filter(|s| s.backstage_managed) {
                    outln!(
                        "-- {} (schema {}) is managed by Backstage's own migrations (Knex); see: {}",
                        s.place.database,
                        s.place.schema,
                        global.same_run_line(&["knex".into(), "status".into()])
                    );
                }
                for m in plan {
                    outln!(
                        "-- {}/{:04}_{}.sql -> {} (schema {})\n{}\n",
                        m.place.area,
                        m.version,
                        m.name,
                        m.place.database,
                        m.place.schema,
                        m.sql.trim_end()
                    );
                }
                Ok(())
            }
            MigrateCommand::Apply {
                areas: a,
                force,
                create_databases,
            } => {
                let places = migrate::places(&conns, &areas(&a))?;
                let done = migrate::apply(
                    &conns,
                    &places,
                    &ApplyOptions {
                        force,
                        create_databases,
                    },
                )
                .await?;
                if global.json {
                    return output::json(&done);
                }
                if done.is_empty() {
                    outln!("Nothing to apply: every migration is applied.");
                }
                for m in done {
                    outln!(
                        "applied {}/{:04}_{} to {} ({} statements, {} ms)",
                        m.place.area,
                        m.version,
                        m.name,
                        m.place.database,
                        m.statements,
                        m.elapsed_ms
                    );
                }
                Ok(())
            }
        }
    }
    .await;
    conns.close().await;
    result
}

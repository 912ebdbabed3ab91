//! One module per command group.

pub mod auth;
pub mod browse;
pub mod catalog;
mod databases;
mod demo;
pub mod graph;
mod knex;
mod migrate;
mod profile;
pub mod scaffolder;

use bsi_core::Result;

use crate::cli::{Cli, Command};

pub async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Profile(cmd) => profile::run(&cli.global, cmd).await,
        Command::Databases => databases::run(&cli.global).await,
        Command::Keyring => profile::keyring_status(&cli.global).await,
        Command::Migrate(cmd) => migrate::run(&cli.global, cmd).await,
        Command::Knex(cmd) => knex::run(&cli.global, cmd).await,
        Command::Demo(args) => demo::run(&cli.global, args).await,
        Command::Catalog(cmd) => catalog::run(&cli.global, cmd).await,
        Command::Graph(cmd) => graph::run(&cli.global, cmd).await,
        Command::Scaffolder(cmd) => scaffolder::run(&cli.global, cmd).await,
        Command::Auth(cmd) => auth::run(&cli.global, cmd).await,
        Command::Browse(cmd) => browse::run(&cli.global, cmd).await,
    }
}

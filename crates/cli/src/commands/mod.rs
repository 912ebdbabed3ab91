//! One module per command group.

mod databases;
mod demo;
mod knex;
mod migrate;
mod profile;

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
    }
}

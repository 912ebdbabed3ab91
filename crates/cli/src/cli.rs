//! The command line: the top-level arguments and the dispatch to one module per command
//! group, each of which defines its own arguments.

use bsi_core::Result;
use clap::{Parser, Subcommand};

use crate::commands::demo::DemoArgs;
use crate::commands::knex::KnexCommand;
use crate::commands::migrate::MigrateCommand;
use crate::commands::profile::ProfileCommand;
use crate::commands::{
    auth, browse, catalog, databases, demo, doctor, fix, generate, graph, installations, knex,
    migrate, profile, scaffolder, why,
};
use crate::global::Global;

/// `bsi --version`: the package version, the commit and the build date.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("BSI_BUILD_COMMIT"),
    ", built ",
    env!("BSI_BUILD_DATE"),
    ")"
);

#[derive(Debug, Parser)]
#[command(
    name = "bsi",
    version = VERSION,
    about = "Backstage Inspector: read Backstage's PostgreSQL databases as Backstage concepts",
    after_help = "Exit codes: 0 ok, 1 internal, 2 usage, 3 config, 4 not found, 5 authentication, \
                  6 TLS, 7 unreachable or timeout, 8 read-only, 9 keyring, 10 database, 11 file; \
                  `bsi doctor`: 12 a finding at warning, 13 a critical finding; `bsi why`: 4 for a \
                  ref the catalog never had."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Manage connection profiles.
    #[command(subcommand)]
    Profile(ProfileCommand),
    /// List the Backstage plugin databases of the server and the areas each one holds.
    Databases,
    /// Every Backstage installation on the server: plugin databases grouped by prefix, plugin
    /// schemas grouped by database.
    Installations,
    /// Show whether the OS keyring is usable.
    Keyring,
    /// Our migrations: build a Backstage-shaped database for local work and demos.
    #[command(subcommand)]
    Migrate(MigrateCommand),
    /// The Knex migration state of real Backstage databases, and stuck locks.
    #[command(subcommand)]
    Knex(KnexCommand),
    /// Check the installation's health in one pass: findings ranked by severity, each with
    /// its evidence and the next command. Exits 0 when nothing is at warning or above, 12 for
    /// warnings, 13 for critical findings.
    Doctor,
    /// Guarded fixes, done as Backstage's own code does them (write mode only): each shows its
    /// SQL, asks for the database's name (or --yes), runs in one transaction and is recorded in
    /// the audit log. --dry-run shows the plan without changing anything.
    #[command(subcommand)]
    Fix(crate::commands::fix::FixCommand),
    /// Why one entity is missing, stale, orphaned or fine: its location, processing state,
    /// parents, stitch, stitched entity, search rows and relations, in order, ending in one
    /// sentence and the next commands; for a ref the catalog never had, the closest refs
    /// (exit code 4).
    Why(crate::commands::why::WhyArgs),
    /// Start a local PostgreSQL with generated Backstage data and open the app on it.
    Demo(DemoArgs),
    /// The SQL console: run statements (an argument, --file, or standard input) in a read-only
    /// transaction the server enforces, secrets masked; Ctrl-C cancels on the server.
    /// --explain shows a plan as a tree; --recipes lists Backstage recipes, --recipe runs one.
    /// In write mode, a script that may write needs --confirm DATABASE and is rolled back
    /// unless --commit is given. Exits with the failing statement's error code.
    Sql(crate::commands::sql::SqlArgs),
    /// Print a shell completion script on standard output (bash, zsh, fish, elvish,
    /// powershell).
    Completions {
        /// The shell to write completions for.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff) on standard output.
    Man,
    #[command(flatten)]
    Catalog(crate::commands::catalog::CatalogCommand),
    #[command(flatten)]
    Graph(crate::commands::graph::GraphCommand),
    #[command(flatten)]
    Scaffolder(crate::commands::scaffolder::ScaffolderCommand),
    #[command(flatten)]
    Auth(crate::commands::auth::AuthCommand),
    #[command(flatten)]
    Browse(crate::commands::browse::BrowseCommand),
}

/// Runs the command the arguments name; returns the exit code of a run that did not fail
/// (0, or the doctor's code for its findings).
pub async fn run(cli: Cli) -> Result<i32> {
    let command = match cli.command {
        Command::Completions { shell } => {
            return generate::completions(shell, <Cli as clap::CommandFactory>::command());
        }
        Command::Man => return generate::man(<Cli as clap::CommandFactory>::command()),
        Command::Doctor => return doctor::run(&cli.global).await,
        Command::Why(args) => return why::run(&cli.global, args).await,
        Command::Sql(args) => return crate::commands::sql::run(&cli.global, args).await,
        other => other,
    };
    let done = match command {
        Command::Doctor
        | Command::Why(_)
        | Command::Sql(_)
        | Command::Completions { .. }
        | Command::Man => Ok(()),
        Command::Profile(cmd) => profile::run(&cli.global, cmd).await,
        Command::Databases => databases::run(&cli.global).await,
        Command::Installations => installations::run(&cli.global).await,
        Command::Keyring => profile::keyring_status(&cli.global).await,
        Command::Migrate(cmd) => migrate::run(&cli.global, cmd).await,
        Command::Knex(cmd) => knex::run(&cli.global, cmd).await,
        Command::Fix(cmd) => fix::run(&cli.global, cmd).await,
        Command::Demo(args) => demo::run(&cli.global, args).await,
        Command::Catalog(cmd) => catalog::run(&cli.global, cmd).await,
        Command::Graph(cmd) => graph::run(&cli.global, cmd).await,
        Command::Scaffolder(cmd) => scaffolder::run(&cli.global, cmd).await,
        Command::Auth(cmd) => auth::run(&cli.global, cmd).await,
        Command::Browse(cmd) => browse::run(&cli.global, cmd).await,
    };
    done.map(|()| 0)
}

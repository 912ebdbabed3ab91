//! Argument definitions.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "bsi",
    version,
    about = "Backstage Inspector: read Backstage's PostgreSQL databases as Backstage concepts",
    after_help = "Exit codes: 0 ok, 1 internal, 2 usage, 3 config, 4 not found, 5 authentication, \
                  6 TLS, 7 unreachable or timeout, 8 read-only, 9 keyring, 10 database, 11 file."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes: where to connect and how to print.
#[derive(Debug, Args, Clone, Default)]
pub struct Global {
    /// Use the saved profile NAME.
    #[arg(long, global = true, env = "BSI_PROFILE", conflicts_with_all = ["url", "app_config"])]
    pub profile: Option<String>,
    /// Connect ad hoc with a libpq URI or key=value string.
    #[arg(long, global = true, conflicts_with = "app_config")]
    pub url: Option<String>,
    /// Connect ad hoc with Backstage's app-config files, merged in order.
    #[arg(long = "app-config", global = true, num_args = 1.., value_name = "FILE")]
    pub app_config: Vec<PathBuf>,
    /// Database name prefix (database mode); default `backstage_plugin_`.
    #[arg(long, global = true)]
    pub prefix: Option<String>,
    /// The plugins are schemas of one database (Backstage's pluginDivisionMode: schema).
    #[arg(long, global = true)]
    pub schema_mode: bool,
    /// Write mode for this run (sessions are read-only otherwise).
    #[arg(long, global = true)]
    pub write: bool,
    /// Read the password from the first line of standard input.
    #[arg(long, global = true)]
    pub password_stdin: bool,
    /// Print JSON instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Manage connection profiles.
    #[command(subcommand)]
    Profile(ProfileCommand),
    /// List the Backstage plugin databases of the server and the areas each one holds.
    Databases,
    /// Show whether the OS keyring is usable.
    Keyring,
    /// Our migrations: build a Backstage-shaped database for local work and demos.
    #[command(subcommand)]
    Migrate(MigrateCommand),
    /// The Knex migration state of real Backstage databases, and stuck locks.
    #[command(subcommand)]
    Knex(KnexCommand),
    /// Start a local PostgreSQL with generated Backstage data and open the app on it.
    Demo(DemoArgs),
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

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// The demo's data folder (default: in the OS data folder; BSI_DEMO_DIR overrides).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Number of entities to generate on first run.
    #[arg(long, default_value_t = 300)]
    pub size: usize,
    /// Seed of the generated data.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Prepare everything but do not open the app.
    #[arg(long)]
    pub no_open: bool,
    /// Stop the demo's PostgreSQL and exit.
    #[arg(long)]
    pub stop: bool,
    /// Drop the demo's databases first and generate them afresh (with --size and --seed).
    #[arg(long, conflicts_with = "stop")]
    pub reset: bool,
}

#[derive(Debug, Subcommand)]
pub enum ProfileCommand {
    /// Save a profile from a URI, from fields, or from the PG* environment variables.
    Add(Box<AddArgs>),
    /// Save a profile from Backstage's app-config.yaml files (merged in order).
    Import {
        /// The profile's name.
        name: String,
        /// app-config files, merged in order (app-config.yaml, then app-config.local.yaml...).
        #[arg(required = true, num_args = 1..)]
        files: Vec<PathBuf>,
        /// Replace an existing profile of this name.
        #[arg(long)]
        update: bool,
    },
    /// List the saved profiles.
    List,
    /// Show one profile (never its password).
    Show { name: String },
    /// Connect with a profile and report the server, TLS and session mode.
    Test { name: Option<String> },
    /// Remove a profile and its keyring entries.
    Remove { name: String },
}

#[derive(Debug, Args)]
pub struct AddArgs {
    /// The profile's name.
    pub name: String,
    /// A libpq URI or key=value string (its password goes to the keyring).
    #[arg(long = "from-url", value_name = "URL")]
    pub from_url: Option<String>,
    /// Take the connection from PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE, PGSSLMODE...
    #[arg(long)]
    pub from_env: bool,
    #[arg(long)]
    pub host: Option<String>,
    #[arg(long)]
    pub port: Option<u16>,
    #[arg(long)]
    pub user: Option<String>,
    /// Single-database mode with this database (or the database of schema mode).
    #[arg(long)]
    pub database: Option<String>,
    /// disable, allow, prefer, require, verify-ca, verify-full.
    #[arg(long)]
    pub sslmode: Option<String>,
    /// A PEM file with the CA certificate(s) to trust.
    #[arg(long = "ca", value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// Connections per database.
    #[arg(long)]
    pub pool_size: Option<u32>,
    /// Seconds to establish a connection.
    #[arg(long)]
    pub connect_timeout: Option<u64>,
    /// Seconds a statement may run.
    #[arg(long)]
    pub statement_timeout: Option<u64>,
    /// Turn write mode on for this profile (off by default).
    #[arg(long, conflicts_with = "read_only")]
    pub write_mode: bool,
    /// Turn write mode off.
    #[arg(long)]
    pub read_only: bool,
    /// Ask for the password on the terminal and store it in the keyring.
    #[arg(long)]
    pub ask_password: bool,
    /// Change an existing profile: unspecified fields keep their values.
    #[arg(long)]
    pub update: bool,
}

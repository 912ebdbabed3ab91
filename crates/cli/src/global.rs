//! Options every command takes: where to connect and how to print.

use std::path::PathBuf;

use clap::Args;

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

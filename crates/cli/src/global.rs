//! Options every command takes: where to connect and how to print.

use std::collections::HashSet;
use std::ffi::OsString;
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
    /// Connect ad hoc with Backstage's app-config files, merged in order. The files run up to
    /// the next option or command name (`--app-config a.yaml b.yaml databases`).
    #[arg(long = "app-config", global = true, value_name = "FILE")]
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

/// Rewrites `--app-config A B C` into `--app-config A --app-config B --app-config C`, so that
/// the files end at the next option or at the first word that names a command: the command
/// line `bsi --app-config a.yaml b.yaml databases` names two files and the command
/// `databases`. The first word after `--app-config` is always a file (`./databases` names a
/// file called like a command in the later places).
pub fn expand_app_config(args: Vec<OsString>, commands: &HashSet<String>) -> Vec<OsString> {
    let mut out = Vec::with_capacity(args.len());
    let mut iter = args.into_iter().peekable();
    while let Some(arg) = iter.next() {
        if arg == "--" {
            out.push(arg);
            out.extend(iter);
            break;
        }
        if arg != "--app-config" {
            out.push(arg);
            continue;
        }
        out.push(arg);
        let Some(first) = iter.next() else { break };
        out.push(first);
        while let Some(next) = iter.peek() {
            let word = next.to_string_lossy();
            if word.starts_with('-') || commands.contains(word.as_ref()) {
                break;
            }
            out.push(OsString::from("--app-config"));
            out.extend(iter.next());
        }
    }
    out
}

/// The names (and aliases) of all commands and subcommands of `cmd`.
pub fn command_names(cmd: &clap::Command) -> HashSet<String> {
    let mut names = HashSet::new();
    let mut stack = vec![cmd];
    while let Some(c) = stack.pop() {
        for sub in c.get_subcommands() {
            names.insert(sub.get_name().to_string());
            names.extend(sub.get_all_aliases().map(str::to_string));
            stack.push(sub);
        }
    }
    names.insert("help".to_string());
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand(args: &[&str]) -> Vec<String> {
        let commands: HashSet<String> = ["databases", "entities"].map(String::from).into();
        expand_app_config(args.iter().map(OsString::from).collect(), &commands)
            .into_iter()
            .map(|a| a.into_string().unwrap_or_default())
            .collect()
    }

    #[test]
    fn app_config_files_end_at_a_command_or_an_option() {
        assert_eq!(
            expand(&["bsi", "--app-config", "a.yaml", "b.yaml", "databases"]),
            [
                "bsi",
                "--app-config",
                "a.yaml",
                "--app-config",
                "b.yaml",
                "databases"
            ]
        );
        assert_eq!(
            expand(&["bsi", "entities", "--app-config", "a", "b", "--json"]),
            [
                "bsi",
                "entities",
                "--app-config",
                "a",
                "--app-config",
                "b",
                "--json"
            ]
        );
        assert_eq!(
            expand(&["bsi", "--app-config", "databases", "databases"]),
            ["bsi", "--app-config", "databases", "databases"]
        );
        assert_eq!(
            expand(&["bsi", "--app-config=a", "databases"]),
            ["bsi", "--app-config=a", "databases"]
        );
        assert_eq!(expand(&["bsi", "--app-config"]), ["bsi", "--app-config"]);
    }
}

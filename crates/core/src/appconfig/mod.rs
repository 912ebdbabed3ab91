//! Importing a connection profile from Backstage's own `app-config.yaml` files.
//!
//! The files are read the way Backstage's config loader reads them (`@backstage/config-loader`:
//! `FileConfigSource`, `transform/substitution.ts`, `transform/include.ts`, `transform/apply.ts`;
//! `@backstage/config`: `ConfigReader`), and `backend.database` is interpreted the way
//! `@backstage/backend-defaults` does (`DatabaseManager.ts`, `connectors/postgres.ts`:
//! `computePgPluginConfig`, `normalizeConnection`) on top of node-postgres
//! (`pg/lib/connection-parameters.js`, `pg-connection-string`):
//!
//! - Each file is transformed on its own, relative to its own folder: `${VAR}` in a string is
//!   replaced by the (trimmed) variable; if any variable of a string is missing the whole value
//!   is *undefined*, that is the key is dropped from that file (so an earlier file's value shows
//!   through); `${VAR:-default}` takes the trimmed default when the variable is unset or empty;
//!   `$${` is a literal `${`. `{ $env: VAR }`, `{ $file: path }` (trailing whitespace trimmed,
//!   as Backstage's `trimEnd()` does) and `{ $include: file.yaml#a.b }` (YAML or JSON, what it
//!   holds transformed relative to its own folder) replace the mapping; no other key may sit
//!   next to them.
//! - The files are merged in order, then the `APP_CONFIG_*` variables as one more layer
//!   (`EnvConfigSource`): later layers win; mappings merge key by key, lists and scalars are
//!   replaced; `null` removes the key.
//! - `client: pg` is read; a plugin on another client Backstage knows (`sqlite3`,
//!   `better-sqlite3`, `mysql`, `mysql2`) is left out, and anything else is refused, as
//!   `DatabaseManager` refuses it (`postgres`/`postgresql` are not aliases there either).
//! - A plugin's `connection` is spread over the base connection (`{...base, ...plugin}`), after
//!   removing the base `database` unless `pluginDivisionMode` is `schema`, and the base is then
//!   merged under it key by key (lodash `merge` in `buildPgDatabaseConfig`), so `ssl` mappings
//!   merge. A connection string is parsed by `pg-connection-string`, which always sets host,
//!   port, user and password (empty when absent) and `database` (null when absent), so those do
//!   not fall back to the base connection; its `ssl` only exists when the string has TLS
//!   parameters. A `connectionString` key applies over everything, the database included.
//! - `schemaPrefix` is checked as `DatabaseManager.fromConfig` does and prefixes each plugin's
//!   schema in schema mode (at most 63 bytes); `connection.type` is kept on the profile.
//! - node-postgres fills what is still unset from `PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD`,
//!   `PGDATABASE` and `PGSSLMODE`, then `localhost`, 5432, `$USER`, and for the database the user
//!   name. The same `env` is used for these as for `${VAR}`.
//!
//! Secrets (passwords) go to [`Imported::password`] and [`Imported::plugin_passwords`] and
//! nowhere else: not into the profile, an error message, a warning or a [`ReadValue`].
//!
//! The rooms, each building only on those listed before it:
//! - `tree`: the config tree (values knowing their file and substitution), the deep merge and
//!   `null` removal;
//! - `yaml`: parsing YAML with limits, and its errors;
//! - `vars`: the `APP_CONFIG_*` variables as a config layer;
//! - `load`: reading and transforming each file (`${VAR}`, `$${`, `$env`, `$file`, `$include`)
//!   and merging the files' `backend.database` in order, the variables over them;
//! - `report`: what the user is shown of an import ([`ReadValue`], warnings, the secret mask);
//! - `resolve`: a connection as given, and node-postgres' fallbacks for what is unset;
//! - `connstring`: pg connection strings (URIs and libpq key=value strings);
//! - `ssl`: the `ssl` setting of a connection object;
//! - `connection`: a `connection` as mapping or string, and its `type`;
//! - `database`: the `backend.database` section (client, prefix, pluginDivisionMode, flags,
//!   per-plugin overrides) turned into a profile;
//! - this file: [`import`] and its result, [`Imported`].

mod connection;
mod connstring;
mod database;
mod load;
mod report;
mod resolve;
mod ssl;
mod tree;
mod vars;
mod yaml;

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::error::{CoreError, Result};
use crate::profile::{Profile, validate_name};
use crate::secrets::Secret;

use database::Interpreted;
use report::Cx;

pub use report::ReadValue;

/// The environment an import reads: `${VAR}`, `$env`, node-postgres' `PG*` fallbacks, and the
/// `APP_CONFIG_*` overrides. A closure `Fn(&str) -> Option<String>` is an environment without
/// `APP_CONFIG_*` variables; [`ProcessEnv`] is this process's environment.
pub trait Env {
    /// The variable `name`, if set.
    fn var(&self, name: &str) -> Option<String>;
    /// Every variable, in the environment's order (only `APP_CONFIG_*` ones are used).
    fn vars(&self) -> Vec<(String, String)> {
        Vec::new()
    }
}

impl<F: Fn(&str) -> Option<String>> Env for F {
    fn var(&self, name: &str) -> Option<String> {
        self(name)
    }
}

/// This process's environment.
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }

    fn vars(&self) -> Vec<(String, String)> {
        std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect()
    }
}

/// An environment made of exactly these variables, in this order.
pub struct VarList(pub Vec<(String, String)>);

impl Env for VarList {
    fn var(&self, name: &str) -> Option<String> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }

    fn vars(&self) -> Vec<(String, String)> {
        self.0.clone()
    }
}

/// The result of [`import`]: a profile, the secrets found next to it, and an account of what
/// was read.
#[derive(Debug)]
pub struct Imported {
    /// The profile; holds no secret.
    pub profile: Profile,
    /// The password of `backend.database.connection` (or of its connection string).
    pub password: Option<Secret>,
    /// Passwords of plugin overrides that differ from [`Imported::password`] (plugin id ->
    /// secret); those overrides have `own_password` set.
    pub plugin_passwords: BTreeMap<String, Secret>,
    /// The files read, in merge order.
    pub files: Vec<PathBuf>,
    /// The values used, in the order they were read.
    pub read: Vec<ReadValue>,
    /// Things the user should know: unset variables, ignored settings, differences between how
    /// Backstage and the inspector connect.
    pub warnings: Vec<String>,
    /// Plugins whose `client` is not `pg` (plugin id -> client): Backstage keeps their data
    /// outside PostgreSQL, so the profile does not cover them.
    pub other_clients: BTreeMap<String, String>,
    /// The Entra ID client secret of an `azure` connection (`tokenCredential.clientSecret`),
    /// for the keyring account [`Profile::azure_secret_account`](crate::profile::Profile::azure_secret_account).
    pub azure_client_secret: Option<Secret>,
}

/// Imports the profile `name` from Backstage app-config files, merged in the order given
/// (`app-config.yaml` first, then `app-config.local.yaml` or the `--config` files). `env`
/// answers `${VAR}`, `$env` and node-postgres' `PG*` fallbacks, and its `APP_CONFIG_*`
/// variables override the files as Backstage's `EnvConfigSource` does.
pub fn import(name: &str, files: &[PathBuf], env: &dyn Env) -> Result<Imported> {
    let app_config_vars: Vec<(String, String)> = env
        .vars()
        .into_iter()
        .filter(|(k, _)| k.starts_with(vars::PREFIX))
        .collect();
    let lookup = |name: &str| env.var(name);
    let env: &dyn Fn(&str) -> Option<String> = &lookup;

    validate_name(name)?;
    if files.is_empty() {
        return Err(CoreError::config(
            "no app-config file given; name the files Backstage is started with, in order \
             (for example app-config.yaml app-config.production.yaml)",
        ));
    }
    let files_label = files
        .iter()
        .map(|f| f.display().to_string())
        .collect::<Vec<_>>()
        .join(", ");

    let mut cx = Cx {
        env,
        read: Vec::new(),
        warnings: Vec::new(),
    };
    let merged = load::load_database(files, env, &app_config_vars, &mut cx.warnings)?;
    let Interpreted {
        profile,
        password,
        plugin_passwords,
        other_clients,
        azure_client_secret,
    } = database::interpret(name, merged, &files_label, &mut cx)?;

    tracing::debug!(
        files = files.len(),
        plugins = profile.plugins.len(),
        warnings = cx.warnings.len(),
        "imported a profile from app-config"
    );
    Ok(Imported {
        profile,
        password,
        plugin_passwords,
        files: files.to_vec(),
        read: cx.read,
        warnings: cx.warnings,
        other_clients,
        azure_client_secret,
    })
}

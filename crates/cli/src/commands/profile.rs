//! `bsi profile add|import|list|show|test|remove` and `bsi keyring`.

use bsi_core::profile::{AuthMethod, DivisionMode, Profile, ProfilePatch, ProfileStore};
use bsi_core::secrets::{Credentials, Keyring, PasswordSources, Prompt, Secret};
use bsi_core::tls::SslMode;
use bsi_core::{CoreError, Result};
use clap::{Args, Subcommand};
use serde::Serialize;
use std::path::PathBuf;

use crate::global::Global;
use crate::{context, output};

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
    /// A shell command whose first line of output is the password, run when the profile is
    /// used (Vault, 1Password, `aws rds generate-db-auth-token`...); "" removes it.
    #[arg(long, value_name = "CMD")]
    pub password_command: Option<String>,
    /// Ask for the password on the terminal and store it in the keyring.
    #[arg(long)]
    pub ask_password: bool,
    /// Change an existing profile: unspecified fields keep their values.
    #[arg(long)]
    pub update: bool,
}

pub async fn run(global: &Global, cmd: ProfileCommand) -> Result<()> {
    match cmd {
        ProfileCommand::Add(args) => add(global, *args).await,
        ProfileCommand::Import {
            name,
            files,
            update,
        } => import(global, &name, &files, update).await,
        ProfileCommand::List => list(global),
        ProfileCommand::Show { name } => show(global, &name).await,
        ProfileCommand::Test { name } => test(global, name.as_deref()).await,
        ProfileCommand::Remove { name } => remove(global, &name).await,
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Stores a password; a keyring that cannot be used is a warning (the profile itself is
/// saved), never a plaintext file. Also notes the failure in `failed`, which makes the run end
/// with the keyring's exit code ([`exit_if_not_stored`]).
async fn store_password(account: &str, secret: Secret, failed: &mut Option<i32>) -> bool {
    match Keyring::default().set_async(account, secret).await {
        Ok(()) => true,
        Err(e) => {
            errln!("warning: the profile is saved, but its password was NOT stored: {e}");
            failed.get_or_insert(e.code().exit_code());
            false
        }
    }
}

/// Ends the run with the keyring's exit code (9) when a password given to store could not
/// be stored, after everything else was printed: a script must not take it as stored.
fn exit_if_not_stored(failed: Option<i32>) {
    if let Some(code) = failed {
        std::process::exit(code);
    }
}

async fn add(global: &Global, a: AddArgs) -> Result<()> {
    let store = ProfileStore::open_default()?;
    let existing = store.for_change(&a.name, a.update)?;
    // A new Cloud SQL profile without a host goes through the connector.
    let url_host = a
        .from_url
        .as_deref()
        .map(|u| bsi_core::conninfo::ConnInfo::parse(u).map_or(true, |ci| ci.host.is_some()));
    let host_given = existing.is_some() || a.host.is_some() || a.from_env || url_host == Some(true);
    let auth = global.auth_method(
        &existing
            .as_ref()
            .map(|p| p.auth.clone())
            .unwrap_or_default(),
        global.default_cloudsql_route(host_given),
    )?;
    let patch = ProfilePatch {
        name: a.name.clone(),
        auth,
        password_command: a.password_command.clone(),
        url: a.from_url.clone(),
        from_env: a.from_env,
        host: a.host.clone(),
        port: a.port,
        user: a.user.clone(),
        database: a.database.clone(),
        // `--prefix` is database mode; `--schema-mode` wins.
        mode: if global.schema_mode {
            Some(DivisionMode::Schema)
        } else {
            global.prefix.as_ref().map(|_| DivisionMode::Database)
        },
        prefix: global.prefix.clone(),
        sslmode: a
            .sslmode
            .as_deref()
            .map(str::parse::<SslMode>)
            .transpose()?,
        ca_file: a.ca.clone(),
        pool_size: a.pool_size,
        connect_timeout_secs: a.connect_timeout,
        statement_timeout_secs: a.statement_timeout,
        write_mode: if a.read_only {
            Some(false)
        } else {
            a.write_mode.then_some(true)
        },
        password: None,
        ssh: global.ssh_over(existing.as_ref().and_then(|p| p.ssh.as_ref())),
        made_by: "bsi profile add".into(),
    };
    let (profile, from_url) = patch.apply(existing, &env)?;
    let sources = PasswordSources {
        for_run: if global.password_stdin {
            Some(context::password_from_stdin()?)
        } else {
            None
        },
        with_connection: from_url,
        ..PasswordSources::default()
    };
    let mut ask = |_: Option<&CoreError>| context::prompt_password(&profile);
    let prompt: Option<Prompt<'_>> = if a.ask_password { Some(&mut ask) } else { None };
    let password = Credentials::resolve(sources, prompt).await?.password;
    store.save(&profile)?;
    // An Entra ID profile keeps its client secret where a password would be.
    let account = match profile.auth {
        AuthMethod::Azure { .. } => profile.azure_secret_account(),
        _ => profile.keyring_account(),
    };
    let mut failed = None;
    let stored = match password {
        Some(pw) => store_password(&account, pw, &mut failed).await,
        None => false,
    };
    if global.json {
        output::json(&ShowProfile::new(&profile, Some(stored)))?;
        exit_if_not_stored(failed);
        return Ok(());
    }
    outln!(
        "Saved profile `{}` ({}, {} mode, sslmode {}, {}) in {}{}",
        profile.name,
        profile.server(),
        profile.mode.as_str(),
        profile.tls.effective_mode(),
        if profile.write_mode {
            "WRITE MODE"
        } else {
            "read-only"
        },
        store.path().display(),
        if stored {
            "; password stored in the OS keyring"
        } else {
            ""
        }
    );
    exit_if_not_stored(failed);
    Ok(())
}

async fn import(
    global: &Global,
    name: &str,
    files: &[std::path::PathBuf],
    update: bool,
) -> Result<()> {
    let store = ProfileStore::open_default()?;
    store.check_replace(name, update)?;
    let mut imported = bsi_core::appconfig::import(name, files, &bsi_core::appconfig::ProcessEnv)?;
    if global.write {
        imported.profile.write_mode = true;
    }
    if let Some(prefix) = &global.prefix {
        imported.profile.prefix = prefix.clone();
    }
    store.save(&imported.profile)?;
    let mut stored = false;
    let mut failed = None;
    if let Some(pw) = imported.password.take() {
        stored = store_password(&imported.profile.keyring_account(), pw, &mut failed).await;
    }
    for (plugin, pw) in std::mem::take(&mut imported.plugin_passwords) {
        let account = imported.profile.plugin_keyring_account(&plugin);
        store_password(&account, pw, &mut failed).await;
    }
    if let Some(secret) = imported.azure_client_secret.take() {
        store_password(
            &imported.profile.azure_secret_account(),
            secret,
            &mut failed,
        )
        .await;
    }
    if global.json {
        #[derive(Serialize)]
        struct Out<'a> {
            profile: ShowProfile<'a>,
            files: &'a [std::path::PathBuf],
            read: &'a [bsi_core::appconfig::ReadValue],
            warnings: &'a [String],
        }
        output::json(&Out {
            profile: ShowProfile::new(&imported.profile, Some(stored)),
            files: &imported.files,
            read: &imported.read,
            warnings: &imported.warnings,
        })?;
        exit_if_not_stored(failed);
        return Ok(());
    }
    outln!("Read {} file(s):", imported.files.len());
    output::table(
        &["key", "value", "from"],
        imported
            .read
            .iter()
            .map(|r| vec![r.key.clone(), r.value.clone(), r.source.clone()])
            .collect(),
    );
    for w in &imported.warnings {
        errln!("warning: {w}");
    }
    outln!(
        "Saved profile `{name}` ({}, {} mode){}",
        imported.profile.server(),
        imported.profile.mode.as_str(),
        if stored {
            "; password stored in the OS keyring"
        } else {
            ""
        }
    );
    exit_if_not_stored(failed);
    Ok(())
}

/// A profile as shown to people and scripts: never a password, only whether one is stored.
#[derive(Serialize)]
struct ShowProfile<'a> {
    #[serde(flatten)]
    profile: &'a Profile,
    password_stored: Option<bool>,
}

impl<'a> ShowProfile<'a> {
    fn new(profile: &'a Profile, password_stored: Option<bool>) -> Self {
        Self {
            profile,
            password_stored,
        }
    }
}

fn list(global: &Global) -> Result<()> {
    let store = ProfileStore::open_default()?;
    let profiles = store.list()?;
    if global.json {
        return output::json(&profiles);
    }
    if profiles.is_empty() {
        outln!(
            "No profiles yet. Add one with `bsi profile add NAME --from-url URL` or `bsi profile import NAME app-config.yaml`."
        );
        return Ok(());
    }
    output::table(
        &["name", "server", "user", "mode", "sslmode", "access"],
        profiles
            .iter()
            .map(|p| {
                vec![
                    p.name.clone(),
                    p.server(),
                    p.user.clone(),
                    match p.mode {
                        DivisionMode::Database => format!("database ({}*)", p.prefix),
                        DivisionMode::Schema => format!("schema ({})", p.maintenance_database()),
                        DivisionMode::Single => format!("single ({})", p.maintenance_database()),
                    },
                    p.tls.effective_mode().to_string(),
                    if p.write_mode { "WRITE" } else { "read-only" }.to_string(),
                ]
            })
            .collect(),
    );
    Ok(())
}

async fn show(global: &Global, name: &str) -> Result<()> {
    let profile = ProfileStore::open_default()?.get(name)?;
    let stored = match Keyring::default()
        .get_async(&profile.keyring_account())
        .await
    {
        Ok(p) => Some(p.is_some()),
        Err(_) => None,
    };
    if global.json {
        return output::json(&ShowProfile::new(&profile, stored));
    }
    let text = toml::to_string_pretty(&profile).map_err(|e| CoreError::Internal(e.to_string()))?;
    out!("{text}");
    if !profile.auth.is_password() {
        outln!(
            "# password: none needed, each connection signs in with a fresh `{}` token",
            profile.auth.as_str()
        );
        return Ok(());
    }
    outln!(
        "# password: {}",
        match stored {
            Some(true) => "stored in the OS keyring",
            Some(false) => "none stored",
            None => "unknown (the OS keyring is not usable: `bsi keyring`)",
        }
    );
    Ok(())
}

async fn test(global: &Global, name: Option<&str>) -> Result<()> {
    let conns = context::resolve(global, name).await?.connections();
    let staged = conns.test_stages().await;
    conns.close().await;
    if global.json {
        return output::json(&staged.into_result()?);
    }
    // The stages, then the summary; a failed test's stages go to stderr before its error.
    for line in bsi_core::connect::stage_lines(&staged) {
        if staged.failure.is_some() {
            errln!("{line}");
        } else {
            outln!("{line}");
        }
    }
    let info = staged.into_result()?;
    outln!(
        "OK: {} as {} · database {} · PostgreSQL {} · {} · {} · connected in {} ms",
        info.server,
        info.user,
        info.database,
        info.version,
        info.tls.as_deref().unwrap_or("no TLS"),
        if info.read_only {
            "read-only session"
        } else {
            "WRITE MODE session"
        },
        info.connect_ms
    );
    Ok(())
}

async fn remove(global: &Global, name: &str) -> Result<()> {
    let store = ProfileStore::open_default()?;
    let profile = store.get(name)?;
    store.remove(name)?;
    let keyring = Keyring::default();
    let mut accounts = vec![profile.keyring_account()];
    accounts.extend(
        profile
            .plugins
            .keys()
            .map(|p| profile.plugin_keyring_account(p)),
    );
    let mut deleted = 0;
    for account in accounts {
        match keyring.delete_async(&account).await {
            Ok(true) => deleted += 1,
            Ok(false) => {}
            Err(e) => errln!("warning: keyring entry `{account}` not removed: {e}"),
        }
    }
    if global.json {
        return output::json(
            &serde_json::json!({ "removed": name, "keyring_entries_deleted": deleted }),
        );
    }
    outln!(
        "Removed profile `{name}` and {deleted} keyring entr{}.",
        if deleted == 1 { "y" } else { "ies" }
    );
    Ok(())
}

pub async fn keyring_status(global: &Global) -> Result<()> {
    let status = tokio::task::spawn_blocking(Keyring::status)
        .await
        .map_err(|e| CoreError::Internal(e.to_string()))?;
    if global.json {
        output::json(&status)?;
    } else if status.available {
        outln!(
            "The OS keyring is usable (service `{}`).",
            Keyring::default().service()
        );
    } else {
        outln!(
            "The OS keyring is NOT usable: {}\n{}",
            status.reason.as_deref().unwrap_or_default(),
            status.hint.as_deref().unwrap_or_default()
        );
    }
    if !status.available {
        // Unusable: the keyring exit code, after the reason and what to do were printed.
        std::process::exit(bsi_core::ErrorCode::KeyringUnavailable.exit_code());
    }
    Ok(())
}

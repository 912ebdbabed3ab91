//! Which profile a command works on and with which password.
//!
//! The profile comes from `--profile` (or `BSI_PROFILE`), `--url` or `--app-config`, then the
//! run's overrides (`--prefix`, `--schema-mode`, `--database`, `--write`) apply. The password, first found
//! wins (the core's `Credentials::resolve`): `--password-stdin`, the password inside `--url` or
//! the app-config, the password command (`--password-command`, else the profile's),
//! `PGPASSWORD`, the OS keyring, and a prompt on a terminal (kept for this run only).

use std::collections::HashMap;
use std::io::{BufRead, IsTerminal};
use std::sync::Arc;

use bsi_core::connect::Connections;
use bsi_core::conninfo::ConnInfo;
use bsi_core::profile::{DivisionMode, Profile, ProfileStore};
use bsi_core::secrets::{Credentials, PasswordSources, Secret};
use bsi_core::{CoreError, Result};

use crate::global::Global;

pub struct Target {
    pub profile: Profile,
    pub password: Option<Secret>,
    pub plugin_passwords: HashMap<String, Secret>,
}

impl Target {
    /// The connections of this run's profile; [`current`] returns them afterwards.
    pub fn connections(self) -> Arc<Connections> {
        let conns =
            Connections::with_plugin_passwords(self.profile, self.password, self.plugin_passwords);
        let _ = CURRENT.set(conns.clone());
        conns
    }
}

/// The connections a command of this run opened, if any: `main` watches them for a stalled
/// network and asks them why a pool timed out.
static CURRENT: std::sync::OnceLock<Arc<Connections>> = std::sync::OnceLock::new();

pub fn current() -> Option<Arc<Connections>> {
    CURRENT.get().cloned()
}

/// Runs `fut` (a command) under the stall watch of the connections it opens, and explains a
/// pool timeout with its cause.
pub async fn watched<T>(fut: impl std::future::Future<Output = Result<T>>) -> Result<T> {
    tokio::pin!(fut);
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(200));
    // Until the command opens its connections there is nothing to watch.
    let res = loop {
        tokio::select! {
            r = &mut fut => break r,
            _ = tick.tick() => if let Some(c) = current() {
                break c.watch(&mut fut).await;
            }
        }
    };
    match (res, current()) {
        (Err(e), Some(c)) => Err(c.explain(e).await),
        (res, _) => res,
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Reads one line of standard input as a password (`--password-stdin`).
pub fn password_from_stdin() -> Result<Secret> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).map_err(|e| {
        CoreError::config(format!("cannot read the password from standard input: {e}"))
    })?;
    let pw = line.trim_end_matches(['\r', '\n']).to_string();
    if pw.is_empty() {
        return Err(CoreError::config(
            "--password-stdin was given but standard input was empty",
        ));
    }
    Ok(Secret::new(pw))
}

/// Asks for a password on the terminal; `None` when there is no terminal.
pub fn prompt_password(profile: &Profile) -> Result<Option<Secret>> {
    if !std::io::stdin().is_terminal() {
        return Ok(None);
    }
    let pw = rpassword::prompt_password(format!(
        "Password for {} on {}: ",
        profile.user,
        profile.server()
    ))
    .map_err(|e| CoreError::config(format!("cannot read the password: {e}")))?;
    Ok(Some(Secret::new(pw)))
}

/// Resolves the profile of this run. `name` overrides `--profile`.
pub async fn resolve(global: &Global, name: Option<&str>) -> Result<Target> {
    let mut plugin_passwords = HashMap::new();
    let (mut profile, password, saved) = if let Some(name) = name.or(global.profile.as_deref()) {
        (ProfileStore::open_default()?.get(name)?, None, true)
    } else if let Some(url) = &global.url {
        // PGPASSWORD is a password source of its own, after the password command.
        let env_without_password = |k: &str| env(k).filter(|_| k != "PGPASSWORD");
        let ci = ConnInfo::parse(url)?.or(ConnInfo::from_env(&env_without_password)?);
        let (mut p, pw) = Profile::from_conninfo("url", ci)?;
        p.source = Some("--url".to_string());
        (p, pw, false)
    } else if !global.app_config.is_empty() {
        let imported = bsi_core::appconfig::import(
            "app-config",
            &global.app_config,
            &bsi_core::appconfig::ProcessEnv,
        )?;
        for w in &imported.warnings {
            errln!("warning: {w}");
        }
        plugin_passwords = imported.plugin_passwords.into_iter().collect();
        (imported.profile, imported.password, false)
    } else {
        return Err(CoreError::config(
            "no connection given: use --profile NAME (see `bsi profile list`), --url URL, or --app-config FILE...",
        ));
    };

    if let Some(prefix) = &global.prefix {
        profile.prefix = prefix.clone();
        if profile.mode == DivisionMode::Single {
            profile.database = None;
        }
        profile.mode = DivisionMode::Database;
    }
    if global.schema_mode {
        profile.mode = DivisionMode::Schema;
    }
    if let Some(db) = &global.database {
        profile.database = Some(db.clone());
        if global.prefix.is_none() && !global.schema_mode {
            profile.mode = DivisionMode::Single;
        }
    }
    if global.write {
        profile.write_mode = true;
    }
    if let Some(ssh) = global.ssh_over(profile.ssh.as_ref()) {
        profile.ssh = Some(ssh).filter(|s| !s.destination.is_empty());
    }
    if let Some(auth) = global.auth_method(&profile.auth, global.default_cloudsql_route(true))? {
        profile.auth = auth;
    }
    profile.validate()?;
    if !profile.auth.is_password() {
        // The password of each new connection is a token the core obtains.
        return Ok(Target {
            profile,
            password: None,
            plugin_passwords: HashMap::new(),
        });
    }

    let sources = PasswordSources {
        for_run: if global.password_stdin {
            Some(password_from_stdin()?)
        } else {
            None
        },
        with_connection: password,
        plugins_with_connection: plugin_passwords,
        command: global
            .password_command
            .clone()
            .or_else(|| profile.password_command.clone()),
        pg_password: PasswordSources::pg_password(&env),
        keyring: saved.then(|| profile.keyring_accounts()),
    };
    let mut prompt = |keyring: Option<&CoreError>| {
        if let Some(e) = keyring {
            errln!("warning: {e}");
        }
        prompt_password(&profile)
    };
    let creds = Credentials::resolve(sources, Some(&mut prompt)).await?;
    Ok(Target {
        profile,
        password: creds.password,
        plugin_passwords: creds.plugin_passwords,
    })
}

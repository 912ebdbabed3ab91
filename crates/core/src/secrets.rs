//! Secrets: the one place that touches the OS keyring and the type that carries a secret.
//!
//! [`Secret`] wraps a password or token. Its `Debug` and `Display` print `<redacted>` and it
//! implements neither `Serialize` nor `Clone`-into-string, so it cannot reach a log line, a
//! profile file or an IPC payload by accident; [`Secret::expose`] is the single, greppable
//! way to read it.
//!
//! [`Keyring`] stores one entry per profile (service [`KEYRING_SERVICE`], user = profile
//! name; a per-plugin override with its own password uses `profile/pluginId`). Keyring calls
//! block on D-Bus on Linux, so async callers go through [`Keyring::get_async`] and friends,
//! which run them on the blocking pool. When no keyring is usable, [`KeyringStatus`] says why
//! (the store's own cause) and callers fall back to a password for this run only; nothing is
//! ever written to a plaintext file.
//!
//! [`Credentials::resolve`] is the one password lookup: it asks the sources its caller lists,
//! in order, and the first that has a password wins (the CLI: `--password-stdin`, the password
//! inside the URL or app-config, `PGPASSWORD`, the keyring, a prompt on a terminal; the app:
//! the password given for this run, the keyring).

use std::collections::HashMap;
use std::fmt;

use serde::Serialize;

use crate::error::{CoreError, Result};

/// The keyring service name. Debug builds use their own namespace so that a development
/// build never reads or overwrites the credentials of an installed release.
pub const KEYRING_SERVICE: &str = if cfg!(debug_assertions) {
    "backstage-inspector-dev"
} else {
    "backstage-inspector"
};

/// A secret value (password, token). Never printed, never serialised.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// Reads the secret. Every call site is a place where the value leaves this type.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

/// Masks a token-like value for display: keeps a short prefix so that two values can be told
/// apart, hides the rest. Empty stays empty.
pub fn mask(value: &str) -> String {
    if value.is_empty() {
        return String::new();
    }
    let prefix: String = value.chars().take(4).collect();
    if value.chars().count() <= 8 {
        "••••••••".to_string()
    } else {
        format!("{prefix}••••••••")
    }
}

/// Whether the OS keyring can be used, and if not, why.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct KeyringStatus {
    pub available: bool,
    /// The store's own explanation when it is not available.
    pub reason: Option<String>,
    /// What the user can do about it.
    pub hint: Option<String>,
}

/// Access to the OS keyring (Keychain, Credential Manager, Secret Service).
#[derive(Debug, Clone)]
pub struct Keyring {
    service: String,
}

impl Default for Keyring {
    fn default() -> Self {
        Self::new(KEYRING_SERVICE)
    }
}

impl Keyring {
    pub fn new(service: impl Into<String>) -> Self {
        Self {
            service: service.into(),
        }
    }

    pub fn service(&self) -> &str {
        &self.service
    }

    /// The state of the platform's credential store. Blocking.
    pub fn status() -> KeyringStatus {
        match keyring::Entry::store_status() {
            Ok(()) => KeyringStatus {
                available: true,
                reason: None,
                hint: None,
            },
            Err(e) => KeyringStatus {
                available: false,
                reason: Some(describe_keyring_error(e)),
                hint: Some(keyring_hint(e).to_string()),
            },
        }
    }

    fn entry(&self, account: &str) -> Result<keyring::Entry> {
        keyring::Entry::new(&self.service, account).map_err(|e| self.unavailable(e))
    }

    fn unavailable(&self, e: keyring::Error) -> CoreError {
        let cause = match (&e, keyring::Entry::store_status()) {
            (keyring::Error::NoDefaultStore, Err(status)) => describe_keyring_error(status),
            _ => describe_keyring_error(&e),
        };
        CoreError::KeyringUnavailable {
            cause,
            hint: keyring_hint(&e).to_string(),
        }
    }

    /// Stores `secret` for `account`, replacing any previous value. Blocking.
    pub fn set(&self, account: &str, secret: &Secret) -> Result<()> {
        let entry = self.entry(account)?;
        entry
            .set_password(secret.expose())
            .map_err(|e| self.unavailable(e))?;
        tracing::debug!(account, service = %self.service, "credential stored in keyring");
        Ok(())
    }

    /// Reads the secret for `account`; `Ok(None)` when there is none. Blocking.
    pub fn get(&self, account: &str) -> Result<Option<Secret>> {
        let entry = self.entry(account)?;
        match entry.get_password() {
            Ok(p) => Ok(Some(Secret::new(p))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(self.unavailable(e)),
        }
    }

    /// Deletes the secret for `account`; returns whether there was one. Blocking.
    pub fn delete(&self, account: &str) -> Result<bool> {
        let entry = self.entry(account)?;
        match entry.delete_credential() {
            Ok(()) => Ok(true),
            Err(keyring::Error::NoEntry) => Ok(false),
            Err(e) => Err(self.unavailable(e)),
        }
    }

    pub async fn get_async(&self, account: &str) -> Result<Option<Secret>> {
        let this = self.clone();
        let account = account.to_string();
        blocking(move || this.get(&account)).await
    }

    pub async fn set_async(&self, account: &str, secret: Secret) -> Result<()> {
        let this = self.clone();
        let account = account.to_string();
        blocking(move || this.set(&account, &secret)).await
    }

    pub async fn delete_async(&self, account: &str) -> Result<bool> {
        let this = self.clone();
        let account = account.to_string();
        blocking(move || this.delete(&account)).await
    }
}

/// The keyring entries of one profile: the account of its password and, per plugin override
/// with a password of its own, that plugin's account (made by `Profile::keyring_accounts`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyringAccounts {
    pub account: String,
    /// `(plugin id, account)`.
    pub plugins: Vec<(String, String)>,
}

/// Where a connection's password may come from. The shells say what they have; the order
/// is the core's, in [`Credentials::resolve`]. An empty password counts as none.
#[derive(Debug, Default)]
pub struct PasswordSources {
    /// Given for this run: `--password-stdin`, a form, the app's password for this run.
    pub for_run: Option<Secret>,
    /// Found with the connection: inside a URL or app-config.
    pub with_connection: Option<Secret>,
    /// Plugin overrides' own passwords found with the connection (app-config files).
    pub plugins_with_connection: HashMap<String, Secret>,
    /// A command whose first line of output is the password: `--password-command`, else the
    /// profile's ([`crate::profile::Profile::password_command`]); run only when the sources
    /// before it have none.
    pub command: Option<String>,
    /// `PGPASSWORD`, for the shells that honour it as libpq does ([`PasswordSources::pg_password`]).
    pub pg_password: Option<Secret>,
    /// The OS keyring entries of a saved profile, its plugins' own passwords included.
    pub keyring: Option<KeyringAccounts>,
}

impl PasswordSources {
    /// `PGPASSWORD`, read through `env`.
    pub fn pg_password(env: &dyn Fn(&str) -> Option<String>) -> Option<Secret> {
        env("PGPASSWORD").map(Secret::new)
    }
}

/// The passwords of one connection: the profile's and its plugin overrides' own.
#[derive(Debug, Default)]
pub struct Credentials {
    pub password: Option<Secret>,
    pub plugin_passwords: HashMap<String, Secret>,
}

/// Asks for the password when no source has it; told why the keyring did not answer, if it
/// failed. `Ok(None)`: it cannot ask (no terminal).
pub type Prompt<'a> = &'a mut (dyn FnMut(Option<&CoreError>) -> Result<Option<Secret>> + Send);

impl Credentials {
    /// The password lookup, the one order of the CLI and the app: the first source that has
    /// the profile's password wins, in this order: the password given for this run, the one
    /// found with the connection (URL or app-config), `PGPASSWORD`, the OS keyring, and last
    /// `prompt` (only a shell with a terminal has one; it may answer `None`, and then there is
    /// no password). Each plugin's own password comes from the connection, else the keyring.
    /// A keyring that cannot be read is passed to the prompt when one is offered, and is the
    /// error otherwise, unless an earlier source had the password.
    pub async fn resolve(
        sources: PasswordSources,
        prompt: Option<Prompt<'_>>,
    ) -> Result<Credentials> {
        Self::resolve_with(&Keyring::default(), sources, prompt).await
    }

    /// [`Credentials::resolve`] with this keyring.
    pub async fn resolve_with(
        keyring: &Keyring,
        sources: PasswordSources,
        prompt: Option<Prompt<'_>>,
    ) -> Result<Credentials> {
        let nonempty = |p: Option<Secret>| p.filter(|p| !p.is_empty());
        let mut password = nonempty(sources.for_run).or_else(|| nonempty(sources.with_connection));
        if password.is_none()
            && let Some(cmd) = sources.command.as_deref().filter(|c| !c.trim().is_empty())
        {
            password = Some(run_password_command(cmd).await?);
        }
        let mut out = Credentials {
            password: password.or_else(|| nonempty(sources.pg_password)),
            plugin_passwords: sources
                .plugins_with_connection
                .into_iter()
                .filter(|(_, p)| !p.is_empty())
                .collect(),
        };
        let mut keyring_error = None;
        if let Some(accounts) = sources.keyring {
            if out.password.is_none() {
                match keyring.get_async(&accounts.account).await {
                    Ok(pw) => out.password = nonempty(pw),
                    Err(e) => keyring_error = Some(e),
                }
            }
            for (plugin, account) in accounts.plugins {
                if out.plugin_passwords.contains_key(&plugin) {
                    continue;
                }
                // A plugin's own password that cannot be read falls back to the profile's.
                if let Ok(Some(pw)) = keyring.get_async(&account).await {
                    out.plugin_passwords.insert(plugin, pw);
                }
            }
        }
        if out.password.is_some() {
            return Ok(out);
        }
        match (prompt, keyring_error) {
            (Some(prompt), error) => {
                out.password = prompt(error.as_ref())?;
                Ok(out)
            }
            (None, Some(error)) => Err(error),
            (None, None) => Ok(out),
        }
    }
}

/// How long a password command may run.
pub const PASSWORD_COMMAND_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// Runs `cmd` with `sh -c` (no input) and returns the first line of its output. Its output is
/// never logged; a failure says the exit status and the first lines of its standard error
/// (which a command uses for its own messages).
pub async fn run_password_command(cmd: &str) -> Result<Secret> {
    use tokio::process::Command;
    tracing::debug!("running the password command");
    let child = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| {
            CoreError::config(format!("the password command could not be started: {e}"))
        })?;
    let out = tokio::time::timeout(PASSWORD_COMMAND_TIMEOUT, child.wait_with_output())
        .await
        .map_err(|_| {
            CoreError::config(format!(
                "the password command did not finish within {} s (it gets no input: a command \
                 that asks for something on the terminal cannot answer here)",
                PASSWORD_COMMAND_TIMEOUT.as_secs()
            ))
        })?
        .map_err(|e| CoreError::config(format!("the password command failed to run: {e}")))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let err: Vec<&str> = err
            .lines()
            .filter(|l| !l.trim().is_empty())
            .take(5)
            .collect();
        let status = match out.status.code() {
            Some(c) => format!("exit status {c}"),
            None => "ended by a signal".to_string(),
        };
        return Err(CoreError::config(format!(
            "the password command failed ({status}){}; check it in a shell: its first line of \
             output must be the password",
            if err.is_empty() {
                String::new()
            } else {
                format!(", saying: {}", err.join(" / "))
            }
        )));
    }
    let text = String::from_utf8(out.stdout)
        .map_err(|_| CoreError::config("the password command's output is not UTF-8 text"))?;
    let first = text
        .lines()
        .next()
        .unwrap_or_default()
        .trim_end_matches('\r');
    if first.is_empty() {
        return Err(CoreError::config(
            "the password command printed nothing on its first line; its first line of output \
             must be the password",
        ));
    }
    tracing::debug!("the password command answered");
    Ok(Secret::new(first.to_string()))
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| CoreError::Internal(format!("keyring task failed: {e}")))?
}

fn describe_keyring_error(e: &keyring::Error) -> String {
    match e {
        keyring::Error::NoDefaultStore => "no credential store could be opened".to_string(),
        keyring::Error::NoStorageAccess(inner) => {
            format!("the credential store is locked or refused access: {inner}")
        }
        keyring::Error::PlatformFailure(inner) => format!("the credential store failed: {inner}"),
        other => other.to_string(),
    }
}

fn keyring_hint(e: &keyring::Error) -> &'static str {
    match e {
        keyring::Error::NoStorageAccess(_) => {
            "unlock your login keyring (for example by logging in to the desktop session) and try again"
        }
        _ if cfg!(target_os = "linux") => {
            "start a Secret Service provider such as gnome-keyring or KeePassXC in a D-Bus session; \
             until then the password is asked for and kept for this run only"
        }
        _ => "the password is asked for and kept for this run only",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_never_prints() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "<redacted>");
        assert_eq!(format!("{s}"), "<redacted>");
        assert_eq!(format!("{:?}", Some(&s)), "Some(<redacted>)");
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn mask_keeps_only_a_prefix() {
        assert_eq!(mask(""), "");
        assert_eq!(mask("short"), "••••••••");
        let m = mask("eyJhbGciOiJFUzI1NiJ9.payload.signature");
        assert!(m.starts_with("eyJh"));
        assert!(!m.contains("signature"));
    }

    #[tokio::test]
    async fn the_first_source_with_a_password_wins_and_empty_is_none() {
        let empty = |k: &str| (k == "PGPASSWORD").then(String::new);
        let sources = PasswordSources {
            for_run: PasswordSources::pg_password(&empty),
            with_connection: Some(Secret::new("second")),
            pg_password: Some(Secret::new("third")),
            plugins_with_connection: HashMap::from([("auth".to_string(), Secret::new("own"))]),
            command: None,
            keyring: None,
        };
        let mut asked = false;
        let mut prompt = |_: Option<&CoreError>| {
            asked = true;
            Ok(Some(Secret::new("typed")))
        };
        let c = Credentials::resolve(sources, Some(&mut prompt))
            .await
            .unwrap();
        assert_eq!(c.password.unwrap().expose(), "second");
        assert_eq!(c.plugin_passwords["auth"].expose(), "own");
        assert!(!asked, "no prompt when a source has the password");
        // PGPASSWORD comes before the keyring and after what was given.
        let pg = |k: &str| (k == "PGPASSWORD").then(|| "from-env".to_string());
        let sources = PasswordSources {
            pg_password: PasswordSources::pg_password(&pg),
            ..PasswordSources::default()
        };
        let c = Credentials::resolve(sources, None).await.unwrap();
        assert_eq!(c.password.unwrap().expose(), "from-env");
    }

    #[tokio::test]
    async fn the_prompt_is_last_and_may_have_no_answer() {
        let mut prompt = |e: Option<&CoreError>| {
            assert!(e.is_none());
            Ok(Some(Secret::new("typed")))
        };
        let c = Credentials::resolve(PasswordSources::default(), Some(&mut prompt))
            .await
            .unwrap();
        assert_eq!(c.password.unwrap().expose(), "typed");
        let mut no_terminal = |_: Option<&CoreError>| Ok(None);
        let c = Credentials::resolve(PasswordSources::default(), Some(&mut no_terminal))
            .await
            .unwrap();
        assert!(c.password.is_none());
        let c = Credentials::resolve(PasswordSources::default(), None)
            .await
            .unwrap();
        assert!(c.password.is_none() && c.plugin_passwords.is_empty());
    }
}

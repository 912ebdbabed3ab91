//! Profiles: list, show, add (from a URI or fields), import from app-config files, remove,
//! test, keyring status, write mode, and which profile this window has open.

use bsi_core::conninfo::ConnInfo;
use bsi_core::profile::{DEFAULT_MAINTENANCE_DB, DivisionMode, Profile};
use bsi_core::secrets::{Keyring, KeyringStatus, Secret};
use bsi_core::tls::SslMode;
use bsi_core::{CoreError, ErrorCode};
use serde::{Deserialize, Serialize};
use tauri::State;

use super::{CmdResult, command, to_ipc};
use crate::state::AppState;

/// A profile as the UI sees it: the saved settings (never a secret) and whether a password is
/// stored in the keyring (`null` when the keyring cannot be asked).
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct ProfileView {
    pub profile: Profile,
    pub server: String,
    /// The TLS mode in effect (`require` with a CA file is `verify-ca`, as in libpq).
    pub effective_sslmode: String,
    pub password_stored: Option<bool>,
    /// Whether this window has it open.
    pub open: bool,
}

/// A new or changed profile, from a URI (`postgresql://...` or `key=value`) and/or fields.
// Its `Debug` (below) never shows the password, nor the URI, which may hold one.
#[derive(Clone, Default, Deserialize, ts_rs::TS)]
#[serde(default)]
pub struct ProfileInput {
    pub name: String,
    /// A libpq URI or key=value string; fields below override what it says.
    #[ts(optional = nullable)]
    pub url: Option<String>,
    #[ts(optional = nullable)]
    pub host: Option<String>,
    #[ts(optional = nullable)]
    pub port: Option<u16>,
    #[ts(optional = nullable)]
    pub user: Option<String>,
    /// A database other than `postgres` makes a single-database profile.
    #[ts(optional = nullable)]
    pub database: Option<String>,
    #[ts(optional = nullable)]
    pub mode: Option<DivisionMode>,
    #[ts(optional = nullable)]
    pub prefix: Option<String>,
    #[ts(optional = nullable)]
    pub sslmode: Option<SslMode>,
    /// A PEM file of CA certificates to trust.
    #[ts(optional = nullable)]
    pub ca_file: Option<String>,
    #[ts(optional = nullable)]
    pub pool_size: Option<u32>,
    #[ts(optional = nullable)]
    pub connect_timeout_secs: Option<u64>,
    #[ts(optional = nullable)]
    pub statement_timeout_secs: Option<u64>,
    /// Stored in the OS keyring, never in the profile file.
    #[ts(optional = nullable)]
    pub password: Option<String>,
    /// Replace an existing profile of that name.
    pub update: bool,
}

impl std::fmt::Debug for ProfileInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProfileInput")
            .field("name", &self.name)
            .field("url", &self.url.as_ref().map(|_| "<redacted>"))
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

/// What saving a profile did.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct SavedProfile {
    pub view: ProfileView,
    /// Whether a password was given and stored in the keyring.
    pub password_stored: bool,
    /// Why a given password could not be stored (the keyring is not usable).
    pub warning: Option<String>,
}

/// What an app-config import read, from where (secrets masked), and the profile it saved.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct ImportResult {
    pub saved: SavedProfile,
    pub files: Vec<String>,
    pub read: Vec<bsi_core::appconfig::ReadValue>,
    pub warnings: Vec<String>,
}

async fn password_stored(profile: &Profile) -> Option<bool> {
    Keyring::default()
        .get_async(&profile.keyring_account())
        .await
        .ok()
        .map(|p| p.is_some())
}

async fn view(state: &AppState, profile: Profile) -> ProfileView {
    let open = state.profile_name().await.as_deref() == Some(profile.name.as_str());
    ProfileView {
        server: profile.server(),
        effective_sslmode: profile.tls.effective_mode().to_string(),
        password_stored: password_stored(&profile).await,
        open,
        profile,
    }
}

async fn store_password(account: &str, pw: Secret) -> (bool, Option<String>) {
    match Keyring::default().set_async(account, pw).await {
        Ok(()) => (true, None),
        Err(e) => (
            false,
            Some(format!(
                "the password was not stored: {e}; give it when opening the profile instead"
            )),
        ),
    }
}

/// Every saved profile, by name.
#[command]
#[tracing::instrument(skip(state))]
pub async fn list_profiles(state: State<'_, AppState>) -> CmdResult<Vec<ProfileView>> {
    let profiles = state.store().and_then(|s| s.list()).map_err(to_ipc)?;
    let mut out = Vec::with_capacity(profiles.len());
    for p in profiles {
        out.push(view(&state, p).await);
    }
    Ok(out)
}

/// One saved profile.
#[command]
#[tracing::instrument(skip(state))]
pub async fn get_profile(state: State<'_, AppState>, name: String) -> CmdResult<ProfileView> {
    let p = state.store().and_then(|s| s.get(&name)).map_err(to_ipc)?;
    Ok(view(&state, p).await)
}

fn build_profile(
    existing: Option<Profile>,
    a: &ProfileInput,
) -> bsi_core::Result<(Profile, Option<Secret>)> {
    let (mut profile, password) =
        if let Some(url) = a.url.as_deref().filter(|u| !u.trim().is_empty()) {
            let (mut p, pw) = Profile::from_conninfo(&a.name, ConnInfo::parse(url)?)?;
            if let Some(prev) = &existing {
                p.pool = prev.pool.clone();
                p.plugins = prev.plugins.clone();
                p.write_mode = prev.write_mode;
            }
            (p, pw)
        } else if let Some(p) = existing {
            (p, None)
        } else {
            let host = a
                .host
                .clone()
                .filter(|h| !h.is_empty())
                .ok_or_else(|| CoreError::config("give a URI or at least a host and a user"))?;
            let user = a
                .user
                .clone()
                .filter(|u| !u.is_empty())
                .ok_or_else(|| CoreError::config("give a user name"))?;
            (Profile::new(&a.name, host, user), None)
        };
    if let Some(h) = a.host.as_ref().filter(|h| !h.is_empty()) {
        profile.host = h.clone();
    }
    if let Some(p) = a.port {
        profile.port = p;
    }
    if let Some(u) = a.user.as_ref().filter(|u| !u.is_empty()) {
        profile.user = u.clone();
    }
    if let Some(db) = a.database.as_ref().filter(|d| !d.is_empty()) {
        profile.database = Some(db.clone());
        if profile.mode == DivisionMode::Database && db != DEFAULT_MAINTENANCE_DB {
            profile.mode = DivisionMode::Single;
        }
    }
    if let Some(m) = a.mode {
        profile.mode = m;
    }
    if let Some(prefix) = a.prefix.as_ref().filter(|p| !p.is_empty()) {
        profile.prefix = prefix.clone();
    }
    if let Some(m) = a.sslmode {
        profile.tls.sslmode = m;
    }
    if let Some(ca) = a.ca_file.as_ref().filter(|c| !c.is_empty()) {
        let abs = std::fs::canonicalize(ca)
            .map_err(|e| CoreError::config(format!("the CA file {ca} cannot be read: {e}")))?;
        profile.tls.root_cert = Some(abs);
        profile.tls.root_cert_pem = None;
    }
    if let Some(n) = a.pool_size {
        profile.pool.max_connections = n;
    }
    if let Some(t) = a.connect_timeout_secs {
        profile.pool.connect_timeout_secs = t;
    }
    if let Some(t) = a.statement_timeout_secs {
        profile.pool.statement_timeout_secs = t;
    }
    if profile.source.is_none() {
        profile.source = Some("Backstage Inspector app".into());
    }
    profile.validate()?;
    let password = a
        .password
        .as_ref()
        .filter(|p| !p.is_empty())
        .map(|p| Secret::new(p.clone()))
        .or(password);
    Ok((profile, password))
}

/// Adds a profile (or changes one with `update`). Write mode is never turned on here: use
/// [`set_write_mode`].
#[command]
#[tracing::instrument(skip(state, input), fields(name = %input.name))]
pub async fn add_profile(
    state: State<'_, AppState>,
    input: ProfileInput,
) -> CmdResult<SavedProfile> {
    let store = state.store().map_err(to_ipc)?;
    bsi_core::profile::validate_name(&input.name).map_err(to_ipc)?;
    let existing = match store.get(&input.name) {
        Ok(p) => Some(p),
        Err(e) if e.code() == ErrorCode::NotFound => None,
        Err(e) => return Err(to_ipc(e)),
    };
    if existing.is_some() && !input.update {
        return Err(to_ipc(CoreError::config(format!(
            "profile `{}` already exists; update it or choose another name",
            input.name
        ))));
    }
    if existing.is_none() && input.update {
        return Err(to_ipc(CoreError::not_found("profile", input.name.clone())));
    }
    let (profile, password) = build_profile(existing, &input).map_err(to_ipc)?;
    store.save(&profile).map_err(to_ipc)?;
    let (stored, warning) = match password {
        Some(pw) => store_password(&profile.keyring_account(), pw).await,
        None => (false, None),
    };
    if state.profile_name().await.as_deref() == Some(profile.name.as_str()) {
        state.reset().await;
    }
    Ok(SavedProfile {
        view: view(&state, profile).await,
        password_stored: stored,
        warning,
    })
}

/// Reads Backstage app-config files (in the order Backstage is started with) into a profile;
/// passwords found go to the keyring. Returns what was read and from where, secrets masked.
#[command]
#[tracing::instrument(skip(state))]
pub async fn import_app_config(
    state: State<'_, AppState>,
    name: String,
    files: Vec<String>,
    update: bool,
) -> CmdResult<ImportResult> {
    bsi_core::profile::validate_name(&name).map_err(to_ipc)?;
    let store = state.store().map_err(to_ipc)?;
    if store.get(&name).is_ok() && !update {
        return Err(to_ipc(CoreError::config(format!(
            "profile `{name}` already exists; update it or choose another name"
        ))));
    }
    let paths: Vec<std::path::PathBuf> = files.iter().map(Into::into).collect();
    let env = |k: &str| std::env::var(k).ok();
    let mut imported = bsi_core::appconfig::import(&name, &paths, &env).map_err(to_ipc)?;
    store.save(&imported.profile).map_err(to_ipc)?;
    let (mut stored, mut warning) = (false, None);
    if let Some(pw) = imported.password.take() {
        (stored, warning) = store_password(&imported.profile.keyring_account(), pw).await;
    }
    for (plugin, pw) in std::mem::take(&mut imported.plugin_passwords) {
        let (_, w) = store_password(&imported.profile.plugin_keyring_account(&plugin), pw).await;
        if warning.is_none() {
            warning = w;
        }
    }
    if state.profile_name().await.as_deref() == Some(name.as_str()) {
        state.reset().await;
    }
    Ok(ImportResult {
        files: imported
            .files
            .iter()
            .map(|f| f.display().to_string())
            .collect(),
        read: imported.read,
        warnings: imported.warnings,
        saved: SavedProfile {
            view: view(&state, imported.profile).await,
            password_stored: stored,
            warning,
        },
    })
}

/// Removes a profile and its stored passwords. Returns whether it existed.
#[command]
#[tracing::instrument(skip(state))]
pub async fn remove_profile(state: State<'_, AppState>, name: String) -> CmdResult<bool> {
    let store = state.store().map_err(to_ipc)?;
    let profile = match store.get(&name) {
        Ok(p) => Some(p),
        Err(e) if e.code() == ErrorCode::NotFound => None,
        Err(e) => return Err(to_ipc(e)),
    };
    let removed = store.remove(&name).map_err(to_ipc)?;
    if let Some(p) = profile {
        let keyring = Keyring::default();
        let _ = keyring.delete_async(&p.keyring_account()).await;
        for plugin in p.plugins.keys() {
            let _ = keyring
                .delete_async(&p.plugin_keyring_account(plugin))
                .await;
        }
    }
    if state.profile_name().await.as_deref() == Some(name.as_str()) {
        state.close_profile().await;
    }
    Ok(removed)
}

/// Connects once to a profile's server (the open profile when `name` is null) and reports it,
/// or fails with the precise reason (authentication, tls_untrusted, unreachable, timeout...).
/// `password` is used for this test only.
#[command]
#[tracing::instrument(skip(state, password))]
pub async fn test_connection(
    state: State<'_, AppState>,
    name: Option<String>,
    password: Option<String>,
) -> CmdResult<bsi_core::connect::ServerInfo> {
    let password = password.filter(|p| !p.is_empty()).map(Secret::new);
    let same = match &name {
        None => true,
        Some(n) => state.profile_name().await.as_deref() == Some(n.as_str()),
    };
    if same && password.is_none() {
        let conns = state.connections().await.map_err(to_ipc)?;
        return conns.test().await.map_err(to_ipc);
    }
    let name = match name {
        Some(n) => n,
        None => state
            .profile_name()
            .await
            .ok_or_else(|| to_ipc(CoreError::config("no profile is open")))?,
    };
    let profile = state.store().and_then(|s| s.get(&name)).map_err(to_ipc)?;
    let password = match password {
        Some(p) => Some(p),
        None => Keyring::default()
            .get_async(&profile.keyring_account())
            .await
            .map_err(to_ipc)?,
    };
    let conns = bsi_core::connect::Connections::new(profile, password);
    let r = conns.test().await;
    conns.close().await;
    r.map_err(to_ipc)
}

/// Tests a profile as a form describes it, before (or without) saving it: connects once with
/// the form's password (else the stored one of a profile being updated) and reports the server
/// or the precise error. Nothing is saved.
#[command]
#[tracing::instrument(skip(state, input), fields(name = %input.name))]
pub async fn test_profile_input(
    state: State<'_, AppState>,
    input: ProfileInput,
) -> CmdResult<bsi_core::connect::ServerInfo> {
    let existing = if input.update {
        Some(
            state
                .store()
                .and_then(|s| s.get(&input.name))
                .map_err(to_ipc)?,
        )
    } else {
        None
    };
    let mut input = input;
    if input.name.is_empty() {
        input.name = "unsaved".to_string();
    }
    let (profile, password) = build_profile(existing, &input).map_err(to_ipc)?;
    let password = match password {
        Some(p) => Some(p),
        None if input.update => Keyring::default()
            .get_async(&profile.keyring_account())
            .await
            .unwrap_or(None),
        None => None,
    };
    let conns = bsi_core::connect::Connections::new(profile, password);
    let r = conns.test().await;
    conns.close().await;
    r.map_err(to_ipc)
}

/// Whether the OS keyring can be used, and if not why and what to do.
#[command]
#[tracing::instrument]
pub async fn keyring_status() -> CmdResult<KeyringStatus> {
    tokio::task::spawn_blocking(Keyring::status)
        .await
        .map_err(|e| to_ipc(CoreError::Internal(e.to_string())))
}

/// Turns write mode on or off for a profile, saved in the profile. Turning it on needs the
/// profile's name typed back in `confirm_name`. The open connections are replaced.
#[command]
#[tracing::instrument(skip(state))]
pub async fn set_write_mode(
    state: State<'_, AppState>,
    profile: String,
    enabled: bool,
    confirm_name: String,
) -> CmdResult<ProfileView> {
    let store = state.store().map_err(to_ipc)?;
    let mut p = store.get(&profile).map_err(to_ipc)?;
    if enabled && confirm_name != p.name {
        return Err(to_ipc(CoreError::config(format!(
            "to turn on write mode, type the profile's name `{}` to confirm",
            p.name
        ))));
    }
    p.write_mode = enabled;
    store.save(&p).map_err(to_ipc)?;
    tracing::info!(profile = %p.name, enabled, "write mode changed");
    if state.profile_name().await.as_deref() == Some(p.name.as_str()) {
        state.reset().await;
    }
    Ok(view(&state, p).await)
}

/// Opens a profile in this window. `password` is kept in memory for this run only (for
/// machines without a keyring); without it the keyring is asked on the first connection.
/// Nothing is connected until a view needs it: use [`test_connection`] to check at once.
#[command]
#[tracing::instrument(skip(state, password))]
pub async fn open_profile(
    state: State<'_, AppState>,
    name: String,
    password: Option<String>,
) -> CmdResult<ProfileView> {
    let password = password.filter(|p| !p.is_empty()).map(Secret::new);
    let p = state.open(&name, password).await.map_err(to_ipc)?;
    Ok(view(&state, p).await)
}

/// The profile this window has open, if any.
#[command]
#[tracing::instrument(skip(state))]
pub async fn current_profile(state: State<'_, AppState>) -> CmdResult<Option<ProfileView>> {
    match state.profile().await.map_err(to_ipc)? {
        Some(p) => Ok(Some(view(&state, p).await)),
        None => Ok(None),
    }
}

/// Closes the open profile's connections and forgets its password for this run.
#[command]
#[tracing::instrument(skip(state))]
pub async fn close_profile(state: State<'_, AppState>) -> CmdResult<()> {
    state.close_profile().await;
    Ok(())
}

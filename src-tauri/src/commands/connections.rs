//! Profiles: list, show, add (from a URI or fields), import from app-config files, remove,
//! test, keyring status, write mode, which profile this window has open, and which of its
//! server's Backstage installations this run looks at.

use bsi_core::connect::{Connections, StagedTest};
use bsi_core::installations::Layout;
use bsi_core::profile::Profile;
pub use bsi_core::profile::ProfileInput;
use bsi_core::secrets::{Keyring, KeyringStatus, PasswordSources, Secret};
use bsi_core::{CoreError, ErrorCode};
use serde::Serialize;
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
    /// The installation this window's run was switched to (`profile` shows it), when it was.
    pub switched: Option<Layout>,
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

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok()
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
    let switched = match open {
        true => state.switched().await,
        false => None,
    };
    ProfileView {
        switched,
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

/// Adds a profile (or changes one with `update`). Write mode is never turned on here: use
/// [`set_write_mode`].
#[command]
#[tracing::instrument(skip(state, input), fields(name = %input.name))]
pub async fn add_profile(
    state: State<'_, AppState>,
    input: ProfileInput,
) -> CmdResult<SavedProfile> {
    let store = state.store().map_err(to_ipc)?;
    let existing = store
        .for_change(&input.name, input.update)
        .map_err(to_ipc)?;
    let (profile, password) = input.patch().apply(existing, &env).map_err(to_ipc)?;
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
    let store = state.store().map_err(to_ipc)?;
    store.check_replace(&name, update).map_err(to_ipc)?;
    let paths: Vec<std::path::PathBuf> = files.iter().map(Into::into).collect();
    let mut imported = bsi_core::appconfig::import(&name, &paths, &bsi_core::appconfig::ProcessEnv)
        .map_err(to_ipc)?;
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
    if let Some(secret) = imported.azure_client_secret.take() {
        let (_, w) = store_password(&imported.profile.azure_secret_account(), secret).await;
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

/// Tests a profile's connection in stages (the open profile when `name` is null): the
/// credentials, TCP, the TLS offer, the TLS handshake and sign-in, a first query, each with its
/// time; a failing stage carries the precise error (authentication, tls_untrusted,
/// unreachable, timeout...) and ends the test. `password` is used for this test only. Rejects
/// only when there is nothing to test (no such profile).
#[command]
#[tracing::instrument(skip(state, password))]
pub async fn test_connection(
    state: State<'_, AppState>,
    name: Option<String>,
    password: Option<String>,
) -> CmdResult<StagedTest> {
    let password = password.filter(|p| !p.is_empty()).map(Secret::new);
    let same = match &name {
        None => true,
        Some(n) => state.profile_name().await.as_deref() == Some(n.as_str()),
    };
    if same && password.is_none() {
        let conns = state.connections().await.map_err(to_ipc)?;
        return Ok(conns.test_stages().await);
    }
    let name = match name {
        Some(n) => n,
        None => state
            .profile_name()
            .await
            .ok_or_else(|| to_ipc(CoreError::config("no profile is open")))?,
    };
    let profile = state.store().and_then(|s| s.get(&name)).map_err(to_ipc)?;
    let sources = PasswordSources {
        for_run: password,
        command: profile.password_command.clone(),
        keyring: Some(profile.keyring_accounts()),
        ..PasswordSources::default()
    };
    Ok(bsi_core::connect::test_profile(profile, sources).await)
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
    let mut patch = input.patch();
    if patch.name.is_empty() {
        patch.name = "unsaved".to_string();
    }
    let (profile, password) = patch.apply(existing, &env).map_err(to_ipc)?;
    let sources = PasswordSources {
        for_run: password,
        command: profile.password_command.clone(),
        keyring: input.update.then(|| profile.keyring_accounts()),
        ..PasswordSources::default()
    };
    Connections::test_once(profile, sources)
        .await
        .map_err(to_ipc)
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
    if enabled {
        Connections::confirm_typed(
            &confirm_name,
            &p.name,
            "turn on write mode",
            "the profile's name",
        )
        .map_err(to_ipc)?;
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

/// Points this window's run of the open profile at another Backstage installation on its
/// server (a `layout` from `installations`; null: the saved layout again). The saved profile
/// does not change; its plugin overrides do not apply to another installation.
#[command]
#[tracing::instrument(skip(state))]
pub async fn switch_installation(
    state: State<'_, AppState>,
    layout: Option<Layout>,
) -> CmdResult<ProfileView> {
    let p = state.switch_layout(layout).await.map_err(to_ipc)?;
    Ok(view(&state, p).await)
}

/// Saves a new profile `name` for an installation on the open profile's server: the open
/// profile's server, user, TLS and pool with the installation's `layout`, read-only. The open
/// profile's stored password is copied to the new profile's keyring entry.
#[command]
#[tracing::instrument(skip(state))]
pub async fn save_installation(
    state: State<'_, AppState>,
    name: String,
    layout: Layout,
) -> CmdResult<SavedProfile> {
    let open = state
        .profile_name()
        .await
        .ok_or_else(|| to_ipc(CoreError::config("no profile is open: open one first")))?;
    let store = state.store().map_err(to_ipc)?;
    store.check_replace(&name, false).map_err(to_ipc)?;
    let base = store.get(&open).map_err(to_ipc)?;
    let mut p = base.clone();
    p.name = name;
    p.write_mode = false;
    layout.apply(&mut p).map_err(to_ipc)?;
    p.source = Some(format!(
        "an installation found from profile {} ({} mode{})",
        base.name,
        layout.mode.as_str(),
        match (&layout.mode, &layout.database) {
            (bsi_core::profile::DivisionMode::Schema, Some(db)) => format!(", database {db}"),
            _ => format!(", prefix {}", layout.prefix),
        }
    ));
    store.save(&p).map_err(to_ipc)?;
    let keyring = Keyring::default();
    let (stored, warning) = match keyring.get_async(&base.keyring_account()).await {
        Ok(Some(pw)) => store_password(&p.keyring_account(), pw).await,
        Ok(None) => (false, None),
        Err(e) => (
            false,
            Some(format!(
                "the password of {} could not be read to copy it: {e}; give it when opening the profile",
                base.name
            )),
        ),
    };
    Ok(SavedProfile {
        view: view(&state, p).await,
        password_stored: stored,
        warning,
    })
}

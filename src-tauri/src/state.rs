//! The app's state: which profile this window opened and its connections.

use std::sync::Arc;

use bsi_core::connect::Connections;
use bsi_core::profile::{Profile, ProfileStore};
use bsi_core::secrets::Keyring;
use bsi_core::{CoreError, Result};
use tokio::sync::RwLock;

/// What the app was started with.
#[derive(Debug, Clone, Default)]
pub struct Launch {
    pub profile: Option<String>,
}

impl Launch {
    pub fn from_args(args: impl Iterator<Item = String>) -> Self {
        let mut profile = std::env::var("BSI_PROFILE").ok().filter(|p| !p.is_empty());
        let mut args = args.peekable();
        while let Some(a) = args.next() {
            if a == "--profile" {
                profile = args.next();
            } else if let Some(v) = a.strip_prefix("--profile=") {
                profile = Some(v.to_string());
            }
        }
        Self { profile }
    }
}

pub struct AppState {
    pub launch: Launch,
    conns: RwLock<Option<Arc<Connections>>>,
}

impl AppState {
    pub fn new(launch: Launch) -> Self {
        Self {
            launch,
            conns: RwLock::new(None),
        }
    }

    /// The launch profile, if any.
    pub fn profile(&self) -> Result<Option<Profile>> {
        match &self.launch.profile {
            None => Ok(None),
            Some(name) => ProfileStore::open_default()?.get(name).map(Some),
        }
    }

    /// The connections of the launch profile, opened on first use with the password from the
    /// keyring.
    pub async fn connections(&self) -> Result<Arc<Connections>> {
        if let Some(c) = self.conns.read().await.as_ref() {
            return Ok(c.clone());
        }
        let profile = self.profile()?.ok_or_else(|| {
            CoreError::config("no profile selected: start the app with --profile NAME")
        })?;
        let password = Keyring::default()
            .get_async(&profile.keyring_account())
            .await?;
        let conns = Connections::new(profile, password);
        let mut guard = self.conns.write().await;
        Ok(guard.get_or_insert(conns).clone())
    }

    pub async fn close(&self) {
        if let Some(c) = self.conns.write().await.take() {
            c.close().await;
        }
    }
}

//! The window's first screen: which profile is connected and what its server holds.

use bsi_core::discovery::discover;
use serde::Serialize;
use tauri::State;

use super::{CommandError, command, to_ipc};
use crate::state::AppState;

#[derive(Debug, Serialize, ts_rs::TS)]
pub struct ProfileSummary {
    pub name: String,
    pub server: String,
    pub write_mode: bool,
    /// `database acme_staging_` or `schema backstage`: where this run looks.
    pub layout: String,
    /// Whether this run was switched to another installation than the saved profile's.
    pub switched: bool,
}

#[derive(Debug, Serialize, ts_rs::TS)]
pub struct DatabaseSummary {
    pub name: String,
    pub areas: Vec<String>,
    pub size_bytes: Option<i64>,
}

#[derive(Debug, Serialize, ts_rs::TS)]
pub struct AppStatus {
    pub version: String,
    pub profile: Option<ProfileSummary>,
    pub connected: bool,
    pub server_version: Option<String>,
    pub databases: Vec<DatabaseSummary>,
    pub error: Option<CommandError>,
}

/// The profile of this window, and, when it connects, its server and databases. A failure to
/// connect is part of the answer (`error`), not a failed call.
#[command]
#[tracing::instrument(skip(state))]
pub async fn app_status(state: State<'_, AppState>) -> Result<AppStatus, CommandError> {
    let mut status = AppStatus {
        version: bsi_core::VERSION.to_string(),
        profile: None,
        connected: false,
        server_version: None,
        databases: Vec::new(),
        error: None,
    };
    let Some(profile) = state.profile().await.map_err(to_ipc)? else {
        return Ok(status);
    };
    status.profile = Some(ProfileSummary {
        name: profile.name.clone(),
        server: profile.server(),
        write_mode: profile.write_mode,
        layout: match profile.mode {
            bsi_core::profile::DivisionMode::Database => format!("database {}", profile.prefix),
            mode => format!(
                "{} {}",
                mode.as_str(),
                profile.database.as_deref().unwrap_or_default()
            ),
        },
        switched: state.switched().await.is_some(),
    });
    let result = async {
        let conns = state.connections().await?;
        // The discovery read at launch, when it is there.
        if let Some(d) = state.first_discovery().await {
            return Ok(d);
        }
        discover(&conns).await
    }
    .await;
    match result {
        Ok(d) => {
            status.connected = true;
            status.server_version = Some(d.server.version);
            status.databases = d
                .databases
                .into_iter()
                .map(|db| DatabaseSummary {
                    name: match db.schema {
                        Some(s) => format!("{}.{s}", db.database),
                        None => db.database,
                    },
                    areas: db.areas.iter().map(|a| a.as_str().to_string()).collect(),
                    size_bytes: db.size_bytes,
                })
                .collect();
        }
        Err(e) => status.error = Some(to_ipc(e)),
    }
    Ok(status)
}

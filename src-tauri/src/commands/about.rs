//! Which build of the app this is.

use serde::Serialize;

use super::{CmdResult, command};

/// The app's version, the commit it was built from and the build date.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct About {
    pub version: String,
    /// The commit's short hash, or `unknown` when the build had no git checkout.
    pub commit: String,
    /// The build date, YYYY-MM-DD (UTC, or `SOURCE_DATE_EPOCH`'s).
    pub built: String,
}

/// The app's version, commit and build date, as `bsi --version` shows them. Needs no
/// connection.
#[command]
#[tracing::instrument]
pub async fn about() -> CmdResult<About> {
    Ok(About {
        version: env!("CARGO_PKG_VERSION").to_string(),
        commit: env!("BSI_BUILD_COMMIT").to_string(),
        built: env!("BSI_BUILD_DATE").to_string(),
    })
}

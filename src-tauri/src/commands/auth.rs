//! The auth backend's tables: offline, browser and OAuth sessions, signing keys, user info,
//! and decoding a JWT on request (header and claims, never the signature).

use bsi_core::auth::{
    Auth, AuthQuery, BrowserSession, OAuthStatusGroup, OfflineSession, SigningKey, TokenView,
    UserInfo, decode_token,
};
use bsi_core::page::Page;
use tauri::State;

use super::{CmdResult, command, to_ipc};
use crate::state::AppState;

/// Offline sessions (refresh tokens), token hashes never shown.
#[command]
#[tracing::instrument(skip(state))]
pub async fn offline_sessions(
    state: State<'_, AppState>,
    args: AuthQuery,
    op: Option<String>,
) -> CmdResult<Page<OfflineSession>> {
    let q = args;
    state
        .run(op, |c| async move {
            c.reuse(|| Auth::open(&c)).await?.offline_sessions(&q).await
        })
        .await
        .map_err(to_ipc)
}

/// Browser sign-in sessions, redacted.
#[command]
#[tracing::instrument(skip(state))]
pub async fn browser_sessions(
    state: State<'_, AppState>,
    args: AuthQuery,
    op: Option<String>,
) -> CmdResult<Page<BrowserSession>> {
    let q = args;
    state
        .run(op, |c| async move {
            c.reuse(|| Auth::open(&c)).await?.browser_sessions(&q).await
        })
        .await
        .map_err(to_ipc)
}

/// OAuth authorization sessions grouped by status.
#[command]
#[tracing::instrument(skip(state))]
pub async fn oauth_sessions(
    state: State<'_, AppState>,
    args: AuthQuery,
    op: Option<String>,
) -> CmdResult<Vec<OAuthStatusGroup>> {
    let q = args;
    state
        .run(op, |c| async move {
            c.reuse(|| Auth::open(&c)).await?.oauth_sessions(&q).await
        })
        .await
        .map_err(to_ipc)
}

/// The backend's signing keys (public members only).
#[command]
#[tracing::instrument(skip(state))]
pub async fn signing_keys(
    state: State<'_, AppState>,
    op: Option<String>,
) -> CmdResult<Vec<SigningKey>> {
    state
        .run(op, |c| async move {
            c.reuse(|| Auth::open(&c)).await?.signing_keys().await
        })
        .await
        .map_err(to_ipc)
}

/// `user_info` rows: the claims Backstage keeps per user, redacted.
#[command]
#[tracing::instrument(skip(state))]
pub async fn user_info(
    state: State<'_, AppState>,
    args: AuthQuery,
    op: Option<String>,
) -> CmdResult<Page<UserInfo>> {
    let q = args;
    state
        .run(op, |c| async move {
            c.reuse(|| Auth::open(&c)).await?.user_info(&q).await
        })
        .await
        .map_err(to_ipc)
}

/// Decodes a JWT the user pasted: header and claims, the signature never shown. Needs no
/// connection.
#[command]
#[tracing::instrument(skip(token))]
pub async fn decode_jwt(token: String) -> CmdResult<TokenView> {
    decode_token(&token).map_err(to_ipc)
}

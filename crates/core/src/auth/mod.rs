//! Sign-in state: owns the views over the auth plugin's database (`<prefix>auth`, or schema
//! `auth`): offline sessions (refresh tokens), browser sessions (`sessions`, connect-session-
//! knex), OAuth authorization sessions grouped by status, signing keys (public JWKs), the
//! per-user `user_info` claims, which of those users exist in the catalog, the sessions of a
//! user or of every member of a group, and decoding a JWT to its header and claims.
//!
//! Nothing secret leaves: `offline_sessions.token_hash`, `oidc_authorization_codes.code`,
//! `oauth_authorization_sessions.state/nonce/code_challenge` are never selected; session ids
//! (`sessions.sid`, `offline_sessions.id`, `oauth_authorization_sessions.id`) are masked, and
//! keyset cursors use their `md5`, not the id; the `sess` JSON is reduced to its cookie expiry
//! and the passport user (redacted); JWK private members are dropped; every JSON value passes
//! [`redact_json`](crate::redact::redact_json).
//!
//! Refresh tokens: a widely read guide names a `refresh_tokens` table that Backstage does not
//! have; [`locate_table`] answers that the data is in `offline_sessions`.
//!
//! Indexes used: `offline_sessions_user_idx` and `offline_sessions_last_used_idx`,
//! `sessions_expired_idx`, `user_info_pkey`, and in the catalog `final_entities_entity_ref_uniq`
//! and `relations_source_entity_ref_idx` / `relations_target_entity_ref_idx`.
//!
//! The rooms, each building only on those listed before it:
//! - `rows`: user filters, `WHERE` assembly, keyset cursors and column reads the lists share;
//! - `tables`: the auth tables by name ([`AUTH_TABLES`], [`locate_table`], [`SessionKind`]);
//! - `handle`: [`Auth`] (opening it and the catalog, what each view needs, [`AuthQuery`]),
//!   which users exist in the catalog ([`users_in_catalog`]) and linking the users of a list
//!   to it ([`InCatalog`]);
//! - `sessions`: offline (refresh-token) and OAuth authorization sessions;
//! - `browser`: browser sessions and which catalog user each belongs to;
//! - `keys`: signing keys (public JWKs) and decoding a JWT ([`decode_token`]);
//! - `users`: `user_info`, group members, and the sessions of a user or group
//!   ([`UserSessions`]);
//! - `summary`: counts per kind and which token material is stored ([`SessionsSummary`]);
//! - this file: only declares the rooms and re-exports what they make public.

mod browser;
mod handle;
mod keys;
mod rows;
mod sessions;
mod summary;
mod tables;
mod users;

pub use browser::BrowserSession;
pub use handle::{Auth, AuthQuery, InCatalog, users_in_catalog, users_in_catalog_sql};
pub use keys::{SigningKey, TokenView, decode_token};
pub use sessions::{OAuthSession, OAuthStatusGroup, OfflineSession};
pub use summary::SessionsSummary;
pub use tables::{AUTH_TABLES, SessionKind, locate_table};
pub use users::{UserInfo, UserLink, UserSessions};

//! The auth plugin's tables by name: which exist ([`AUTH_TABLES`]), where the data of a table
//! people look for but Backstage does not have really is ([`locate_table`]: `refresh_tokens`
//! is `offline_sessions`), and which list `bsi sessions` shows ([`SessionKind`]).

use serde::Serialize;

use crate::error::{CoreError, Result};

/// The tables of the auth plugin, in its final schema.
pub const AUTH_TABLES: [&str; 6] = [
    "offline_sessions",
    "sessions",
    "oauth_authorization_sessions",
    "oidc_authorization_codes",
    "signing_keys",
    "user_info",
];

/// Says where the data of an auth table is: the table itself, or, for names that do not exist
/// in Backstage but that people look for (`refresh_tokens`), where it really is.
pub fn locate_table(name: &str) -> Result<&'static str> {
    let n = name.trim().to_ascii_lowercase();
    if let Some(t) = AUTH_TABLES.iter().find(|t| **t == n) {
        return Ok(t);
    }
    let hint = match n.as_str() {
        "refresh_tokens" | "refresh_token" | "refreshtokens" | "tokens" => {
            "Backstage has no such table: refresh tokens live in `offline_sessions` (one row per user and \
             OIDC client; `token_hash` is a scrypt hash of the token, never the token); \
             `bsi sessions --kind offline` lists them"
                .to_string()
        }
        "oidc_clients" => "Backstage dropped `oidc_clients` (auth-backend 20261030120000_remove_dcr); client ids \
                           are plain values in `offline_sessions.oidc_client_id` and \
                           `oauth_authorization_sessions.client_id`"
            .to_string(),
        _ => format!("the auth plugin's tables are {}", AUTH_TABLES.join(", ")),
    };
    Err(CoreError::NotFound {
        what: "table",
        name: name.to_string(),
        hint: Some(hint),
    })
}

/// Which list `bsi sessions` shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum SessionKind {
    /// `offline_sessions` (refresh tokens).
    Offline,
    /// `sessions` (browser sign-in cookies).
    Browser,
    /// `oauth_authorization_sessions`.
    Oauth,
    /// `signing_keys`.
    Keys,
    /// `user_info`.
    Users,
}

impl SessionKind {
    /// Parses a kind or a table name; `refresh_tokens` gets the answer of [`locate_table`].
    pub fn parse(s: &str) -> Result<Self> {
        Ok(
            match s.trim().to_ascii_lowercase().replace('-', "_").as_str() {
                "offline" | "offline_sessions" => SessionKind::Offline,
                "browser" | "sessions" | "cookie" | "cookies" => SessionKind::Browser,
                "oauth" | "oauth_authorization_sessions" | "oidc" => SessionKind::Oauth,
                "keys" | "signing_keys" | "jwks" => SessionKind::Keys,
                "users" | "user_info" => SessionKind::Users,
                other => {
                    locate_table(other)?;
                    return Err(CoreError::config(format!(
                        "unknown session kind `{s}`: use offline, browser, oauth, keys or users"
                    )));
                }
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_tokens_point_to_offline_sessions() {
        let e = locate_table("refresh_tokens").unwrap_err();
        assert_eq!(e.code(), crate::ErrorCode::NotFound);
        assert!(e.to_string().contains("offline_sessions"), "{e}");
        assert_eq!(
            locate_table("Offline_Sessions").unwrap(),
            "offline_sessions"
        );
        assert!(
            SessionKind::parse("refresh_tokens")
                .unwrap_err()
                .to_string()
                .contains("offline_sessions")
        );
        assert_eq!(SessionKind::parse("keys").unwrap(), SessionKind::Keys);
        assert!(SessionKind::parse("nope").is_err());
    }
}

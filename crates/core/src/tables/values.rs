//! How a table's values are shown: which columns hold secrets ([`is_masked_column`]) and their
//! masked form ([`mask_value`]), and the decoding of a planned row into JSON ([`TableRow`]):
//! JSON and JSONB, and text that holds a JSON object or array (`final_entity`, `spec`...),
//! become JSON trees after [`redact_json`]; `bytea` becomes hex with its length (capped at
//! [`BYTEA_PREVIEW_BYTES`] on a page), and text or JSON longer than [`TEXT_PREVIEW_CHARS`] its
//! first characters with its length on a page; anything else comes as `to_jsonb` gives it.

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use serde_json::Value;
use sqlx::Row as _;
use sqlx::postgres::PgRow;

use crate::error::{CoreError, Result};
use crate::redact::{REDACTED, redact_json};

/// How many bytes of a `bytea` value a page shows (as hex); exports show all of it.
pub const BYTEA_PREVIEW_BYTES: usize = 64;

/// How many characters of a text or JSON value a page shows; a longer value comes as
/// `{"text": first characters, "length": characters, "truncated": true}`. Exports show all of
/// it.
pub const TEXT_PREVIEW_CHARS: usize = 65_536;

/// Whether values of `column` (of `table`) are secrets that are never shown: names that say
/// secret, token, password, hash, credential or private key, a `sid` word (session ids), and
/// the auth backend's flow values: `oidc_authorization_codes.code` and `session_id`,
/// `oauth_authorization_sessions` `id`, `state`, `nonce` and `code_challenge`, and
/// `offline_sessions.id`. Such values appear as [`REDACTED`] (or, for a JSON object
/// such as `tasks.secrets`, as its key names with redacted values); NULL stays NULL.
pub fn is_masked_column(table: &str, column: &str) -> bool {
    const PARTS: [&str; 9] = [
        "secret",
        "token",
        "password",
        "passwd",
        "hash",
        "credential",
        "private_key",
        "privatekey",
        "apikey",
    ];
    let c = column.to_ascii_lowercase();
    PARTS.iter().any(|p| c.contains(p))
        || c.split(|ch: char| !ch.is_ascii_alphanumeric())
            .any(|w| w == "sid")
        || matches!(
            (table.to_ascii_lowercase().as_str(), c.as_str()),
            // An authorization code, and the ids, state and nonce of the OAuth flows of the
            // auth backend's OIDC provider: each lets a flow be replayed or a session be named.
            ("oidc_authorization_codes", "code" | "session_id")
                | ("oauth_authorization_sessions", "id" | "state" | "nonce" | "code_challenge")
                // The refresh-token session id (the auth views mask it too).
                | ("offline_sessions", "id")
        )
}

/// The masked form of a secret value: JSON objects keep their key names only.
pub fn mask_value(raw: Option<&str>) -> Value {
    match raw {
        None => Value::Null,
        Some(s) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Object(m)) => Value::Object(
                m.into_iter()
                    .map(|(k, _)| (k, Value::String(REDACTED.to_string())))
                    .collect(),
            ),
            _ => Value::String(REDACTED.to_string()),
        },
    }
}

/// One row: column names and values, in table order (serialised as a JSON object in that
/// order).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(type = "Record<string, unknown>")
)]
pub struct TableRow(pub Vec<(String, Value)>);

impl TableRow {
    pub fn get(&self, column: &str) -> Option<&Value> {
        self.0.iter().find(|(n, _)| n == column).map(|(_, v)| v)
    }
}

impl Serialize for TableRow {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// What the query selects for one column, and so how its value is decoded.
#[derive(Debug, Clone)]
pub(super) enum Out {
    /// One text column, masked in Rust.
    MaskedText,
    /// One boolean: whether a value is present.
    MaskedPresence,
    /// Two columns: length and hex.
    Bytea { capped: bool },
    /// A text column holding JSON (after its length when capped).
    Json { capped: bool },
    /// A text column of a textual type (after its length when capped); text that holds a
    /// JSON object or array is parsed.
    Text { capped: bool },
    /// One jsonb column (`to_jsonb(col)`): numbers, booleans, timestamps, arrays...
    Plain,
}

impl Out {
    /// How many result columns the value takes.
    fn width(&self) -> usize {
        match self {
            Out::Bytea { .. } | Out::Json { capped: true } | Out::Text { capped: true } => 2,
            _ => 1,
        }
    }

    /// Decodes the value starting at result column `i`, masked but not yet redacted.
    fn decode(&self, row: &PgRow, i: usize, name: &str) -> Result<Value> {
        let dec = |e: sqlx::Error| {
            CoreError::Internal(format!("cannot decode the value of column `{name}`: {e}"))
        };
        Ok(match self {
            Out::MaskedText => {
                let raw: Option<String> = row.try_get(i).map_err(dec)?;
                mask_value(raw.as_deref())
            }
            Out::MaskedPresence => {
                let present: Option<bool> = row.try_get(i).map_err(dec)?;
                present.map_or(Value::Null, |_| Value::String(REDACTED.to_string()))
            }
            Out::Bytea { capped } => {
                let len: Option<i32> = row.try_get(i).map_err(dec)?;
                let hex: Option<String> = row.try_get(i + 1).map_err(dec)?;
                match (len, hex) {
                    (Some(len), Some(hex)) => serde_json::json!({
                        "hex": hex,
                        "length": len,
                        "truncated": *capped && len as usize > BYTEA_PREVIEW_BYTES,
                    }),
                    _ => Value::Null,
                }
            }
            Out::Json { capped } | Out::Text { capped } => {
                let (len, v): (Option<i32>, Option<String>) = if *capped {
                    (
                        row.try_get(i).map_err(dec)?,
                        row.try_get(i + 1).map_err(dec)?,
                    )
                } else {
                    (None, row.try_get(i).map_err(dec)?)
                };
                if let (Some(len), Some(text)) = (len, &v)
                    && len as usize > TEXT_PREVIEW_CHARS
                {
                    return Ok(serde_json::json!({
                        "text": text,
                        "length": len,
                        "truncated": true,
                    }));
                }
                if matches!(self, Out::Json { .. }) {
                    return Ok(v
                        .map(|s| serde_json::from_str(&s).unwrap_or(Value::String(s)))
                        .unwrap_or(Value::Null));
                }
                match v {
                    Some(s) if looks_like_json(&s) => {
                        serde_json::from_str(&s).unwrap_or(Value::String(s))
                    }
                    Some(s) => Value::String(s),
                    None => Value::Null,
                }
            }
            Out::Plain => {
                let v: Option<Value> = row.try_get(i).map_err(dec)?;
                v.unwrap_or(Value::Null)
            }
        })
    }
}

fn looks_like_json(s: &str) -> bool {
    let t = s.trim_start();
    (t.starts_with('{') && s.trim_end().ends_with('}'))
        || (t.starts_with('[') && s.trim_end().ends_with(']'))
}

/// Decodes one row selected as `outs` followed by `keys` text columns: the shown values
/// (masked and redacted) and the row's cursor key.
pub(super) fn decode_row(
    outs: &[(String, Out)],
    keys: usize,
    row: &PgRow,
) -> Result<(TableRow, Vec<Value>)> {
    let mut i = 0usize;
    let mut cells = Vec::with_capacity(outs.len());
    for (name, out) in outs {
        let mut v = out.decode(row, i, name)?;
        i += out.width();
        redact_json(&mut v);
        cells.push((name.clone(), v));
    }
    let dec =
        |e: sqlx::Error| CoreError::Internal(format!("cannot decode a row's cursor key: {e}"));
    let mut key = Vec::with_capacity(keys);
    for _ in 0..keys {
        let k: Option<String> = row.try_get(i).map_err(dec)?;
        i += 1;
        key.push(k.map_or(Value::Null, Value::String));
    }
    Ok((TableRow(cells), key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masking_rules() {
        for (t, c) in [
            ("tasks", "secrets"),
            ("offline_sessions", "token_hash"),
            ("sessions", "sid"),
            ("user_settings", "settings_key_hash"),
            ("x", "client_secret"),
            ("x", "password"),
            ("oidc_authorization_codes", "code"),
            ("oidc_authorization_codes", "session_id"),
            ("oauth_authorization_sessions", "state"),
            ("oauth_authorization_sessions", "nonce"),
            ("oauth_authorization_sessions", "code_challenge"),
            ("oauth_authorization_sessions", "id"),
            ("offline_sessions", "id"),
        ] {
            assert!(is_masked_column(t, c), "{t}.{c}");
        }
        for (t, c) in [
            ("tasks", "spec"),
            ("sessions", "sess"),
            ("x", "inside"),
            ("x", "code"),
            ("oauth_authorization_sessions", "user_entity_ref"),
            ("oauth_authorization_sessions", "redirect_uri"),
            ("offline_sessions", "user_entity_ref"),
        ] {
            assert!(!is_masked_column(t, c), "{t}.{c}");
        }
        assert_eq!(
            mask_value(Some(r#"{"backstageToken":"eyJ...","a":1}"#)),
            serde_json::json!({"a": REDACTED, "backstageToken": REDACTED})
        );
        assert_eq!(mask_value(Some("abc")), Value::String(REDACTED.into()));
        assert_eq!(mask_value(None), Value::Null);
    }
}

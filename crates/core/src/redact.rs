//! Redaction: everything that leaves the core passes through here. Tokens, token hashes,
//! session cookies and JWT signatures are masked; scaffolder `tasks.secrets` are reduced to
//! their key names. A JWT can be decoded to its header and claims, never its signature.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde_json::Value;

use crate::error::{CoreError, Result};
use crate::secrets::mask;

/// What replaces a secret value.
pub const REDACTED: &str = "<redacted>";

/// Object keys whose values are secrets wherever they appear.
const SECRET_KEYS: &[&str] = &[
    "password",
    "secret",
    "secrets",
    "token",
    "backstagetoken",
    "__initiatorcredentials",
    "access_token",
    "accesstoken",
    "refresh_token",
    "refreshtoken",
    "id_token",
    "idtoken",
    "token_hash",
    "authorization",
    "cookie",
    "client_secret",
    "private_key",
    "privatekey",
    "d",
];

fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    SECRET_KEYS.contains(&k.as_str())
        || k.ends_with("password")
        || k.ends_with("secret")
        || k.ends_with("_token")
}

fn b64_json(part: &str) -> Option<Value> {
    let bytes = URL_SAFE_NO_PAD.decode(part.trim_end_matches('=')).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Whether `s` is a JWT (three base64url parts, the first a JSON header with `alg`).
pub fn is_jwt(s: &str) -> bool {
    let mut parts = s.split('.');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(h), Some(p), Some(_), None) if h.starts_with("eyJ") && !p.is_empty() => {
            b64_json(h).is_some_and(|v| v.get("alg").is_some())
        }
        _ => false,
    }
}

/// A decoded JWT: header and claims; the signature is never shown.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DecodedJwt {
    #[cfg_attr(feature = "ts", ts(type = "unknown"))]
    pub header: Value,
    #[cfg_attr(feature = "ts", ts(type = "unknown"))]
    pub claims: Value,
    pub signature: &'static str,
}

/// Decodes a JWT's header and claims (no verification: this is for reading).
pub fn decode_jwt(token: &str) -> Result<DecodedJwt> {
    let bad = |what: &str| {
        CoreError::config(format!(
            "not a JWT: {what}; a JWT has three base64url parts separated by dots"
        ))
    };
    let mut parts = token.trim().split('.');
    let header = parts
        .next()
        .and_then(b64_json)
        .ok_or_else(|| bad("the header is not base64url JSON"))?;
    let claims = parts
        .next()
        .and_then(b64_json)
        .ok_or_else(|| bad("the claims are not base64url JSON"))?;
    if parts.next().is_none() || parts.next().is_some() {
        return Err(bad("wrong number of parts"));
    }
    Ok(DecodedJwt {
        header,
        claims,
        signature: REDACTED,
    })
}

/// Masks a JWT: the header stays readable, claims and signature do not.
pub fn mask_jwt(token: &str) -> String {
    match token.split_once('.') {
        Some((h, _)) => format!("{h}.<claims>.<signature redacted>"),
        None => mask(token),
    }
}

/// Redacts JWTs inside free text (logs, messages).
pub fn redact_text(s: &str) -> String {
    if !s.contains("eyJ") {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("eyJ") {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let end = tail
            .find(|c: char| {
                !(c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' || c == '=')
            })
            .unwrap_or(tail.len());
        let mut candidate = &tail[..end];
        // A token followed by a full stop or another dotted part: the JWT is the first three.
        if !is_jwt(candidate) {
            let three = candidate.split('.').take(3).map(str::len).sum::<usize>() + 2;
            if three < candidate.len() && is_jwt(&candidate[..three]) {
                candidate = &candidate[..three];
            }
        }
        if is_jwt(candidate) {
            out.push_str(&mask_jwt(candidate));
        } else {
            out.push_str(candidate);
        }
        rest = &tail[candidate.len()..];
    }
    out.push_str(rest);
    out
}

/// Redacts a JSON value in place: values under secret keys become [`REDACTED`], JWTs in any
/// string are masked.
pub fn redact_json(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for (k, val) in map.iter_mut() {
                if is_secret_key(k) && !val.is_null() {
                    *val = Value::String(REDACTED.to_string());
                } else {
                    redact_json(val);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(redact_json),
        Value::String(s) if s.contains("eyJ") => *s = redact_text(s),
        _ => {}
    }
}

/// The key names of a secrets JSON object (never the values).
pub fn secret_keys(raw: Option<&str>) -> Vec<String> {
    raw.and_then(|r| serde_json::from_str::<Value>(r).ok())
        .and_then(|v| v.as_object().map(|m| m.keys().cloned().collect()))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt() -> String {
        let h = URL_SAFE_NO_PAD.encode(r#"{"alg":"ES256","kid":"k1"}"#);
        let p =
            URL_SAFE_NO_PAD.encode(r#"{"sub":"user:default/ada","ent":["group:default/team-a"]}"#);
        format!("{h}.{p}.SIGNATURE-bytes_here")
    }

    #[test]
    fn a_token_at_the_end_of_a_sentence_is_masked() {
        let t = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.e30.AAAAAAAAAAAAAAAAAAAAAA";
        let out = redact_text(&format!(" {t}."));
        assert!(!out.contains("AAAAAAAAAAAAAAAAAAAAAA"), "{out}");
        assert!(out.ends_with("<signature redacted>."), "{out}");
    }

    #[test]
    fn decodes_without_the_signature() {
        let d = decode_jwt(&jwt()).unwrap();
        assert_eq!(d.header["alg"], "ES256");
        assert_eq!(d.claims["sub"], "user:default/ada");
        assert_eq!(d.signature, REDACTED);
        assert!(decode_jwt("a.b").is_err());
    }

    #[test]
    fn text_and_json_lose_tokens() {
        let t = jwt();
        let text = redact_text(&format!("Authorization: Bearer {t} done"));
        assert!(
            !text.contains("SIGNATURE") && !text.contains(t.split('.').nth(1).unwrap()),
            "{text}"
        );
        assert!(text.ends_with(" done"));
        let mut v = serde_json::json!({"backstageToken": t, "nested": {"password": "x", "note": format!("t={t}")}, "name": "ok"});
        redact_json(&mut v);
        assert_eq!(v["backstageToken"], REDACTED);
        assert_eq!(v["nested"]["password"], REDACTED);
        assert!(!v.to_string().contains("SIGNATURE"));
        assert_eq!(v["name"], "ok");
        assert_eq!(
            secret_keys(Some(r#"{"a":1,"backstageToken":"x"}"#)),
            vec!["a", "backstageToken"]
        );
    }
}

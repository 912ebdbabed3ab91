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

/// Whether the values under an object key `key` are secrets (any case): the names above, and
/// any name ending in `password`, `secret` or `_token`.
pub fn is_secret_key(key: &str) -> bool {
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

/// Characters a JWT is made of (base64url parts, dots, padding).
fn token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' || c == '='
}

/// How many starts of a JWT are tried in one run of token characters before the rest of the
/// run is masked whole (hostile text full of `eyJ` stays fast and still leaks nothing).
const MAX_TRIES_PER_RUN: usize = 64;

/// The JWT that starts `run` (a run of token characters beginning with `eyJ`): the run itself,
/// or its first three dotted parts when more follow (a token before a full stop).
fn jwt_at(run: &str) -> Option<&str> {
    if is_jwt(run) {
        return Some(run);
    }
    let three = run.split('.').take(3).map(str::len).sum::<usize>() + 2;
    (three < run.len() && is_jwt(&run[..three])).then(|| &run[..three])
}

/// Redacts JWTs inside free text (logs, messages). A token glued to other text, such as more
/// base64 that also starts with `eyJ`, is found too: every `eyJ` in a run is a possible start.
pub fn redact_text(s: &str) -> String {
    if !s.contains("eyJ") {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("eyJ") {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let end = tail.find(|c: char| !token_char(c)).unwrap_or(tail.len());
        let run = &tail[..end];
        let mut at = 0;
        let mut tries = 0;
        loop {
            // `at` is the start of an `eyJ` inside the run.
            if let Some(t) = jwt_at(&run[at..]) {
                out.push_str(&mask_jwt(t));
                at += t.len();
                // More token text glued on after a signature may hold the rest of another token
                // (its signature swallowed its header): mask it whole.
                let after = &run[at..];
                if after.contains("eyJ") && after.contains('.') {
                    out.push_str(REDACTED);
                    at = run.len();
                }
            } else {
                tries += 1;
                if tries >= MAX_TRIES_PER_RUN && run[at..].matches('.').count() >= 2 {
                    out.push_str(REDACTED);
                    at = run.len();
                } else {
                    out.push_str(&run[at..at + 3]);
                    at += 3;
                }
            }
            match run[at..].find("eyJ") {
                Some(j) => {
                    out.push_str(&run[at..at + j]);
                    at += j;
                }
                None => {
                    out.push_str(&run[at..]);
                    break;
                }
            }
        }
        rest = &tail[end..];
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
    fn a_token_glued_to_other_base64_is_masked() {
        let t = jwt();
        let sig = "SIGNATURE-bytes_here";
        for text in [
            format!("eyJ{t}"),
            format!("eyJzb21ldGhpbmc{t}"),
            format!("x=eyJhYmM.{t}"),
            format!("{t}{t}"),
        ] {
            let out = redact_text(&text);
            assert!(!out.contains(sig), "{text} -> {out}");
        }
        // Text that only looks like the start of a token is kept.
        assert_eq!(redact_text("eyJ and eyJx"), "eyJ and eyJx");
        // Hostile runs stay fast and leak no signature.
        let hostile = format!("{}{t}", "eyJ.a.".repeat(20_000));
        let started = std::time::Instant::now();
        let out = redact_text(&hostile);
        assert!(!out.contains(sig));
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
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

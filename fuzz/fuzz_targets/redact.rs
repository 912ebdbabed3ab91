//! Redaction (`redact::{redact_text, redact_json, is_jwt, decode_jwt, mask_jwt}`) on any text:
//! text without `eyJ` is left alone, everything but token characters is kept, and a JWT standing
//! on its own loses its signature; a masked JWT never holds its signature; what decodes as a
//! JWT is one; in JSON, values under secret keys are replaced and strings redacted as text.

#![no_main]

use bsi_core::redact::{
    REDACTED, decode_jwt, is_jwt, is_secret_key, mask_jwt, redact_json, redact_text,
};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// What `mask_jwt` puts after the header.
const MASKED_REST: &str = ".<claims>.<signature redacted>";

/// Characters a JWT is made of.
fn token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '=')
}

/// The signature of the JWT that a run of token characters is, or starts with (its first three
/// dotted parts, more following), when the signature is distinctive enough to look for.
fn signature_of(run: &str, text: &str) -> Option<String> {
    let three: Vec<&str> = run.splitn(4, '.').take(3).collect();
    if three.len() < 3 {
        return None;
    }
    let jwt = three.join(".");
    if !(is_jwt(run) || (jwt.len() < run.len() && is_jwt(&jwt))) {
        return None;
    }
    let sig = if is_jwt(run) {
        run.rsplit('.').next()?
    } else {
        three[2]
    };
    (sig.len() >= 8 && !MASKED_REST.contains(sig) && text.matches(sig).count() == 1)
        .then(|| sig.to_string())
}

fn check_text(text: &str) {
    let out = redact_text(text);
    if !text.contains("eyJ") {
        assert_eq!(out, text);
        return;
    }
    // Only token characters are replaced: the rest of the text is kept, in order.
    let mut kept = out.chars();
    for c in text.chars().filter(|&c| !token_char(c)) {
        assert!(kept.any(|k| k == c), "{c:?} of {text:?} lost in {out:?}");
    }
    // A JWT after a character that cannot be part of it (or at the start) loses its
    // signature, whatever follows.
    let mut checked = 0;
    let mut prev = None;
    for (i, c) in text.char_indices() {
        let starts =
            c == 'e' && prev.is_none_or(|p| !token_char(p)) && text[i..].starts_with("eyJ");
        prev = Some(c);
        if !starts || checked >= 16 {
            continue;
        }
        checked += 1;
        let rest = &text[i..];
        let run = &rest[..rest.find(|c| !token_char(c)).unwrap_or(rest.len())];
        if let Some(sig) = signature_of(run, text) {
            assert!(!out.contains(&sig), "signature {sig:?} kept: {out:?}");
        }
    }
}

fn check_jwt(text: &str) {
    let masked = mask_jwt(text);
    if let Some((header, _)) = text.split_once('.') {
        assert_eq!(masked, format!("{header}{MASKED_REST}"));
    }
    if is_jwt(text) {
        let sig = text.rsplit('.').next().unwrap_or_default();
        let header = text.split('.').next().unwrap_or_default();
        if !sig.is_empty() && !header.contains(sig) && !MASKED_REST.contains(sig) {
            assert!(!masked.contains(sig), "signature kept: {masked:?}");
        }
    }
    if let Ok(d) = decode_jwt(text) {
        assert_eq!(d.signature, REDACTED);
        let header = text.trim().split('.').next().unwrap_or_default();
        if d.header.get("alg").is_some() && header.starts_with("eyJ") {
            assert!(is_jwt(text.trim()), "{text:?} decodes but is not a JWT");
        }
    }
}

/// `redacted` is `orig` after `redact_json`.
fn check_json(orig: &Value, redacted: &Value) {
    match (orig, redacted) {
        (Value::Object(o), Value::Object(r)) => {
            assert_eq!(o.len(), r.len());
            for (k, ov) in o {
                let rv = &r[k];
                if is_secret_key(k) && !ov.is_null() {
                    assert_eq!(rv, &Value::String(REDACTED.to_string()), "{k:?} kept");
                } else {
                    check_json(ov, rv);
                }
            }
        }
        (Value::Array(o), Value::Array(r)) => {
            assert_eq!(o.len(), r.len());
            o.iter().zip(r).for_each(|(o, r)| check_json(o, r));
        }
        (Value::String(o), Value::String(r)) => assert_eq!(r, &redact_text(o)),
        (o, r) => assert_eq!(o, r),
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    check_text(&text);
    check_jwt(&text);
    let mut values = vec![serde_json::json!({ "message": text, "list": [text], "password": text })];
    if let Ok(v) = serde_json::from_slice::<Value>(data) {
        values.push(v);
    }
    for v in values {
        let mut r = v.clone();
        redact_json(&mut r);
        check_json(&v, &r);
    }
});

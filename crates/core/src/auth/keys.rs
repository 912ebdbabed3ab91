//! Keys and the tokens they sign: the auth plugin's signing keys (`signing_keys`, newest first,
//! public JWK members only; private members are dropped and only flagged), and decoding a JWT
//! to its header and claims (redacted; never the signature, never the user identity proof).

use serde::Serialize;
use serde_json::Value;

use super::handle::{Auth, NEED_KEYS};
use super::rows::col;
use crate::error::Result;
use crate::redact::{self, DecodedJwt, REDACTED, redact_json, redact_text};
use crate::refs::time::iso_from_unix;
use crate::sql::{Sql, iso_text};

/// A signing key: public parts only.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SigningKey {
    pub kid: String,
    pub alg: Option<String>,
    pub kty: Option<String>,
    pub crv: Option<String>,
    pub created_at: String,
    pub age_seconds: i64,
    /// The JWK's public members.
    #[cfg_attr(feature = "ts", ts(type = "unknown"))]
    pub public_jwk: Value,
    /// The stored key had private members (`d`, `p`, `q`...), which are not shown; Backstage
    /// stores public keys only, so this deserves a look.
    pub private_material: bool,
}

/// A decoded JWT: header and claims (redacted), never the signature.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TokenView {
    #[serde(flatten)]
    pub decoded: DecodedJwt,
    /// `exp` as ISO time, and whether it is past.
    pub expires_at: Option<String>,
    pub expired: Option<bool>,
    pub issued_at: Option<String>,
    /// `vnd.backstage.user` tokens are Backstage user tokens.
    pub backstage_user_token: bool,
}

impl Auth {
    /// The SQL of the signing keys.
    pub fn signing_keys_sql(&self) -> Result<Sql> {
        self.db.check("signing keys", &[NEED_KEYS])?;
        let mut s = Sql::new();
        s.text = format!(
            "SELECT k.kid, k.key, {c} AS created_at, extract(epoch FROM now() - k.created_at)::bigint AS age \
             FROM {t} k ORDER BY k.created_at DESC, k.kid",
            c = iso_text("k.created_at"),
            t = self.t("signing_keys"),
        );
        Ok(s)
    }

    /// Signing keys, newest first, with their public JWK only.
    pub async fn signing_keys(&self) -> Result<Vec<SigningKey>> {
        let rows = self
            .signing_keys_sql()?
            .fetch_all(&self.pool, &self.ep)
            .await?;
        rows.iter()
            .map(|r| {
                let key: String = col(r, "key")?;
                let jwk: Value = serde_json::from_str(&key).unwrap_or(Value::Null);
                let (public_jwk, private_material) = public_jwk(&jwk);
                let s = |k: &str| jwk.get(k).and_then(Value::as_str).map(str::to_string);
                Ok(SigningKey {
                    kid: col(r, "kid")?,
                    alg: s("alg"),
                    kty: s("kty"),
                    crv: s("crv"),
                    created_at: col(r, "created_at")?,
                    age_seconds: col::<Option<i64>>(r, "age")?.unwrap_or(0),
                    public_jwk,
                    private_material,
                })
            })
            .collect()
    }
}

/// A JWK's public members, and whether it had private ones.
fn public_jwk(jwk: &Value) -> (Value, bool) {
    const PUBLIC: &[&str] = &[
        "kty", "kid", "alg", "use", "key_ops", "crv", "x", "y", "n", "e", "x5c", "x5t", "x5t#S256",
    ];
    const PRIVATE: &[&str] = &["d", "p", "q", "dp", "dq", "qi", "k", "oth"];
    let Some(m) = jwk.as_object() else {
        return (Value::Null, false);
    };
    let private = m.keys().any(|k| PRIVATE.contains(&k.as_str()));
    let mut out: serde_json::Map<String, Value> = m
        .iter()
        .filter(|(k, _)| PUBLIC.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut v = Value::Object(std::mem::take(&mut out));
    // Public members are not secret, but a JWT hidden in one would be.
    if let Value::Object(m) = &mut v {
        for val in m.values_mut() {
            if let Value::String(s) = val {
                *s = redact_text(s);
            }
        }
    }
    (v, private)
}

/// Decodes a JWT (a `Bearer ` prefix is accepted): header and claims, never the signature.
/// Claims that are credentials themselves (`uip`, the user identity proof) and JWTs nested in
/// claims are masked.
pub fn decode_token(token: &str) -> Result<TokenView> {
    let t = token.trim();
    let t = t
        .strip_prefix("Bearer ")
        .or_else(|| t.strip_prefix("bearer "))
        .unwrap_or(t)
        .trim();
    let mut d = redact::decode_jwt(t)?;
    redact_json(&mut d.header);
    redact_json(&mut d.claims);
    if let Some(uip) = d.claims.get_mut("uip") {
        *uip = Value::String(REDACTED.to_string());
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let num = |k: &str| d.claims.get(k).and_then(Value::as_i64);
    let (exp, iat) = (num("exp"), num("iat"));
    Ok(TokenView {
        expires_at: exp.map(iso_from_unix),
        expired: exp.map(|e| e <= now),
        issued_at: iat.map(iso_from_unix),
        backstage_user_token: d.header.get("typ").and_then(Value::as_str)
            == Some("vnd.backstage.user"),
        decoded: d,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jwks_lose_private_members() {
        let (p, private) = public_jwk(
            &serde_json::json!({"kty": "EC", "d": "secret", "x": "a", "y": "b", "crv": "P-256"}),
        );
        assert!(private);
        assert!(p.get("d").is_none() && p["x"] == "a");
    }

    #[test]
    fn tokens_decode_without_signature_or_proof() {
        use base64::Engine;
        let e = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let t = format!(
            "{}.{}.SIGPART",
            e(r#"{"typ":"vnd.backstage.user","alg":"ES256","kid":"k"}"#),
            e(r#"{"sub":"user:default/ada","exp":1,"iat":0,"uip":"proof-value"}"#)
        );
        let v = decode_token(&format!("Bearer {t}")).unwrap();
        let json = serde_json::to_string(&v).unwrap();
        assert!(
            !json.contains("SIGPART") && !json.contains("proof-value"),
            "{json}"
        );
        assert!(v.backstage_user_token);
        assert_eq!(v.expired, Some(true));
        assert_eq!(v.expires_at.as_deref(), Some("1970-01-01T00:00:01Z"));
        assert!(decode_token("nope").is_err());
    }
}

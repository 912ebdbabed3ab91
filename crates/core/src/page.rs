//! Keyset pagination: a page of items and an opaque cursor that holds the sort key of the
//! last item. The next page starts strictly after that key, so rows are neither skipped nor
//! repeated while data changes between pages, and no page costs an OFFSET scan.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;

use crate::error::{CoreError, Result};

/// One page of a list.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass this back to get the next page; `None` on the last page.
    pub next_cursor: Option<String>,
}

/// Encodes the sort key of the last item of a page.
pub fn encode_cursor(key: &[serde_json::Value]) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::Value::Array(key.to_vec()).to_string())
}

/// Decodes a cursor made by [`encode_cursor`] with `len` key parts.
pub fn decode_cursor(cursor: &str, len: usize) -> Result<Vec<serde_json::Value>> {
    let bad = || {
        CoreError::config(format!(
            "invalid page cursor `{cursor}`: use the next_cursor value of the previous page unchanged"
        ))
    };
    let bytes = URL_SAFE_NO_PAD.decode(cursor.trim()).map_err(|_| bad())?;
    let v: serde_json::Value = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    match v {
        serde_json::Value::Array(a) if a.len() == len => Ok(a),
        _ => Err(bad()),
    }
}

/// Clamps a requested page size to 1..=1000 (default 100).
pub fn limit(requested: Option<usize>) -> usize {
    requested.unwrap_or(100).clamp(1, 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let key = vec![
            serde_json::json!("component:default/a"),
            serde_json::json!(42),
        ];
        let c = encode_cursor(&key);
        assert_eq!(decode_cursor(&c, 2).unwrap(), key);
        assert!(decode_cursor(&c, 3).is_err());
        assert!(
            decode_cursor("!!!", 2)
                .unwrap_err()
                .to_string()
                .contains("next_cursor")
        );
    }
}

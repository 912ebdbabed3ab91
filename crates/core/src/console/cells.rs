//! The console's cells: every value arrives as PostgreSQL's text form (the simple query
//! protocol) and becomes JSON by its column's type: booleans and numbers as such, `json` and
//! `jsonb` (and text holding a JSON object or array) as trees, anything else as its text.
//! Secret columns are masked ([`crate::tables::is_masked_column`]) and every value is
//! redacted ([`redact_json`]) before it leaves.

use serde::Serialize;
use serde_json::Value;
use sqlx::postgres::{PgRow, PgValueFormat};
use sqlx::{Column as _, Row as _, TypeInfo as _, ValueRef as _};

use crate::error::{CoreError, Result};
use crate::redact::redact_json;
use crate::tables::{is_masked_column, mask_value};

/// A result column: its name, its type as PostgreSQL names it, the table it comes from when it
/// is a plain table column, and whether its values are masked.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ConsoleColumn {
    pub name: String,
    pub type_name: String,
    pub table: Option<String>,
    pub masked: bool,
}

/// The columns of `row`. `origin_of` gives, for a column read straight from a table (its
/// relation id and attribute number), the table's name and the column's own name: a secret
/// column is masked under any alias. Computed values are judged by their name alone.
pub fn columns(
    row: &PgRow,
    origin_of: &dyn Fn(u32, Option<i16>) -> Option<(String, Option<String>)>,
) -> Vec<ConsoleColumn> {
    row.columns()
        .iter()
        .map(|c| {
            let origin = c
                .relation_id()
                .and_then(|oid| origin_of(oid.0, c.relation_attribute_no()));
            let name = c.name().to_string();
            let table = origin.as_ref().map(|(t, _)| t.clone());
            let t = table.as_deref().unwrap_or("");
            let masked = is_masked_column(t, &name)
                || origin
                    .as_ref()
                    .and_then(|(_, col)| col.as_deref())
                    .is_some_and(|col| is_masked_column(t, col));
            ConsoleColumn {
                masked,
                type_name: c.type_info().name().to_string(),
                table,
                name,
            }
        })
        .collect()
}

/// The values of `row`, in column order, masked and redacted.
pub fn values(row: &PgRow, cols: &[ConsoleColumn]) -> Result<Vec<Value>> {
    let mut out = Vec::with_capacity(cols.len());
    for (i, col) in cols.iter().enumerate() {
        let raw = row
            .try_get_raw(i)
            .map_err(|e| CoreError::Internal(format!("column `{}`: {e}", col.name)))?;
        let text = if raw.is_null() {
            None
        } else if raw.format() == PgValueFormat::Text {
            Some(raw.as_str().map_err(|e| {
                CoreError::Internal(format!("column `{}` is not text: {e}", col.name))
            })?)
        } else {
            return Err(CoreError::Internal(format!(
                "column `{}` arrived in binary form",
                col.name
            )));
        };
        let mut v = if col.masked {
            mask_value(text)
        } else {
            cell(&col.type_name, text)
        };
        redact_json(&mut v);
        out.push(v);
    }
    Ok(out)
}

/// One value of type `type_name` from its text form.
pub fn cell(type_name: &str, text: Option<&str>) -> Value {
    let Some(s) = text else {
        return Value::Null;
    };
    match type_name.to_ascii_uppercase().as_str() {
        "BOOL" => Value::Bool(s == "t"),
        "INT2" | "INT4" | "INT8" | "OID" => s
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or_else(|_| Value::String(s.to_string())),
        "FLOAT4" | "FLOAT8" | "NUMERIC" => number(s),
        "JSON" | "JSONB" => {
            serde_json::from_str(s).unwrap_or_else(|_| Value::String(s.to_string()))
        }
        _ if looks_like_json(s) => {
            serde_json::from_str(s).unwrap_or_else(|_| Value::String(s.to_string()))
        }
        _ => Value::String(s.to_string()),
    }
}

/// A number when it reads back the same (no precision lost), else its text.
fn number(s: &str) -> Value {
    if let Ok(i) = s.parse::<i64>() {
        return Value::from(i);
    }
    match s.parse::<f64>() {
        Ok(f) if f.is_finite() && f.to_string() == s => Value::from(f),
        _ => Value::String(s.to_string()),
    }
}

fn looks_like_json(s: &str) -> bool {
    let t = s.trim();
    (t.starts_with('{') && t.ends_with('}')) || (t.starts_with('[') && t.ends_with(']'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn text_forms_become_json_by_type() {
        assert_eq!(cell("BOOL", Some("t")), json!(true));
        assert_eq!(cell("INT8", Some("-42")), json!(-42));
        assert_eq!(cell("NUMERIC", Some("1.5")), json!(1.5));
        // Precision is kept as text rather than rounded.
        assert_eq!(
            cell("NUMERIC", Some("12345678901234567890.123")),
            json!("12345678901234567890.123")
        );
        assert_eq!(cell("JSONB", Some(r#"{"a": [1]}"#)), json!({"a": [1]}));
        assert_eq!(
            cell("TEXT", Some(r#"{"kind": "Component"}"#)),
            json!({"kind": "Component"})
        );
        assert_eq!(cell("TEXT", Some("{not json")), json!("{not json"));
        assert_eq!(
            cell("TIMESTAMPTZ", Some("2026-12-05 10:00:00+00")),
            json!("2026-12-05 10:00:00+00")
        );
        assert_eq!(cell("TEXT", None), Value::Null);
    }
}

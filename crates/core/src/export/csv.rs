//! CSV (RFC 4180): field quoting ([`csv_field`]), the text of a value with spreadsheet formulas
//! neutralised ([`csv_text`]), the record writer ([`CsvWriter`]) and the CSV of any serialisable
//! rows, whose top-level fields become columns ([`flatten_fields`], [`write_csv`]).

use std::borrow::Cow;
use std::fmt;
use std::io::Write;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{CoreError, Result};
use crate::redact::redact_json;

use super::format::io_err;

/// Escapes one CSV field per RFC 4180: quoted when it holds a comma, a quote, CR or LF (or
/// starts or ends with a space), quotes doubled.
pub fn csv_field(s: &str) -> Cow<'_, str> {
    let needs = s.contains([',', '"', '\r', '\n']) || s.starts_with(' ') || s.ends_with(' ');
    if needs {
        Cow::Owned(format!("\"{}\"", s.replace('"', "\"\"")))
    } else {
        Cow::Borrowed(s)
    }
}

/// The CSV text of a value: strings as they are, NULL empty, numbers and booleans as JSON
/// writes them, objects and arrays as compact JSON.
///
/// A string that a spreadsheet would run as a formula (it starts with `=`, `+`, `-`, `@`, a
/// tab or a CR, and is not a number) gets a leading `'`, the usual defence against CSV
/// injection: an entity description or a task parameter can hold anything.
pub fn csv_text(v: &Value) -> Cow<'_, str> {
    match v {
        Value::Null => Cow::Borrowed(""),
        Value::String(s) if is_formula(s) => Cow::Owned(format!("'{s}")),
        Value::String(s) => Cow::Borrowed(s.as_str()),
        other => Cow::Owned(other.to_string()),
    }
}

fn is_formula(s: &str) -> bool {
    s.starts_with(['=', '+', '-', '@', '\t', '\r']) && s.trim().parse::<f64>().is_err()
}

/// Writes CSV records.
pub struct CsvWriter<W: Write> {
    w: W,
    columns: Vec<String>,
    rows: u64,
}

impl<W: Write> CsvWriter<W> {
    /// Starts a CSV with its header line.
    pub fn new(mut w: W, columns: Vec<String>) -> Result<Self> {
        write_record(&mut w, columns.iter().map(|c| Cow::Borrowed(c.as_str())))?;
        Ok(Self {
            w,
            columns,
            rows: 0,
        })
    }

    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// Writes one record of values in column order.
    pub fn write_values<'a>(&mut self, values: impl IntoIterator<Item = &'a Value>) -> Result<()> {
        write_record(&mut self.w, values.into_iter().map(csv_text))?;
        self.rows += 1;
        Ok(())
    }

    /// Writes one record from named fields: each column's field, empty when absent.
    pub fn write_fields(&mut self, fields: &[(String, Value)]) -> Result<()> {
        let null = Value::Null;
        let vals: Vec<&Value> = self
            .columns
            .iter()
            .map(|c| {
                fields
                    .iter()
                    .find(|(k, _)| k == c)
                    .map_or(&null, |(_, v)| v)
            })
            .collect();
        self.write_values(vals)
    }

    /// Flushes and returns the number of records (header excluded).
    pub fn finish(mut self) -> Result<u64> {
        self.w.flush().map_err(io_err)?;
        Ok(self.rows)
    }
}

fn write_record<'a>(w: &mut impl Write, fields: impl Iterator<Item = Cow<'a, str>>) -> Result<()> {
    let mut line = String::new();
    for (i, f) in fields.enumerate() {
        if i > 0 {
            line.push(',');
        }
        line.push_str(&csv_field(&f));
    }
    line.push_str("\r\n");
    w.write_all(line.as_bytes()).map_err(io_err)
}

/// A value's top-level fields in their serialisation order (objects), or one `value` field.
struct Fields(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for Fields {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Fields;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut m: A,
            ) -> std::result::Result<Fields, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = m.next_entry::<String, Value>()? {
                    out.push((k, v));
                }
                Ok(Fields(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// The top-level fields of a serialisable value, in order (a non-object is one `value` field).
pub fn flatten_fields<T: Serialize>(row: &T) -> Result<Vec<(String, Value)>> {
    let text = serde_json::to_string(row)
        .map_err(|e| CoreError::Internal(format!("cannot serialise a row: {e}")))?;
    match serde_json::from_str::<Fields>(&text) {
        Ok(f) => Ok(f.0),
        Err(_) => Ok(vec![(
            "value".to_string(),
            serde_json::from_str(&text).unwrap_or(Value::Null),
        )]),
    }
}

/// Writes serialisable rows as CSV: the columns are the first row's top-level fields (in
/// declaration order), nested values become JSON text, fields that later rows lack are empty
/// and fields the first row lacked are left out. Rows are written as the iterator yields them.
/// Returns the number of rows. No rows: nothing is written.
pub fn write_csv<T: Serialize>(rows: impl IntoIterator<Item = T>, w: impl Write) -> Result<u64> {
    let mut writer: Option<CsvWriter<_>> = None;
    let mut w = Some(w);
    for row in rows {
        let mut fields = flatten_fields(&row)?;
        fields.iter_mut().for_each(|(_, v)| redact_json(v));
        let cw = match writer.as_mut() {
            Some(cw) => cw,
            None => {
                let cols = fields.iter().map(|(k, _)| k.clone()).collect();
                let out = w
                    .take()
                    .ok_or_else(|| CoreError::Internal("csv writer lost its output".into()))?;
                writer.insert(CsvWriter::new(out, cols)?)
            }
        };
        cw.write_fields(&fields)?;
    }
    match writer {
        Some(cw) => cw.finish(),
        None => Ok(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct R {
        zeta: &'static str,
        alpha: Option<i32>,
        nested: Value,
    }

    #[test]
    fn csv_follows_rfc_4180_and_field_order() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
        let rows = vec![
            R {
                zeta: "x,y",
                alpha: Some(1),
                nested: serde_json::json!({"b": [1, 2]}),
            },
            R {
                zeta: "q\"",
                alpha: None,
                nested: serde_json::json!({"password": "p"}),
            },
        ];
        let mut out = Vec::new();
        assert_eq!(write_csv(rows, &mut out).unwrap(), 2);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "zeta,alpha,nested\r\n\"x,y\",1,\"{\"\"b\"\":[1,2]}\"\r\n\"q\"\"\",,\"{\"\"password\"\":\"\"<redacted>\"\"}\"\r\n"
        );
        let mut empty = Vec::new();
        assert_eq!(write_csv(Vec::<R>::new(), &mut empty).unwrap(), 0);
        // Spreadsheet formulas are neutralised; numbers are not.
        for (raw, want) in [
            ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
            ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\t=1", "'\t=1"),
            ("-5", "-5"),
            ("+3.5", "+3.5"),
            ("a=b", "a=b"),
        ] {
            assert_eq!(csv_text(&Value::String(raw.into())), want, "{raw}");
        }
        assert!(empty.is_empty());
    }
}

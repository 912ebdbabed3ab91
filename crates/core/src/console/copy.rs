//! A console result as text to copy or print: CSV (RFC 4180), TSV, JSON (an array of objects)
//! or a Markdown table. The rows are the console's, so secret columns are already masked.

use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::StatementResult;
use crate::error::CoreError;

/// A text form of a result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum CopyFormat {
    Csv,
    Tsv,
    Json,
    Markdown,
}

impl FromStr for CopyFormat {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self, CoreError> {
        match s.to_ascii_lowercase().as_str() {
            "csv" => Ok(CopyFormat::Csv),
            "tsv" => Ok(CopyFormat::Tsv),
            "json" => Ok(CopyFormat::Json),
            "markdown" | "md" => Ok(CopyFormat::Markdown),
            _ => Err(CoreError::config(format!(
                "unknown format `{s}`: use csv, tsv, json or markdown"
            ))),
        }
    }
}

/// A cell as text: strings as they are, NULL as empty, anything else as compact JSON.
fn text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// TSV has no quoting: tabs and line breaks inside a value are written as `\t`, `\n`, `\r`
/// and backslashes doubled (the form PostgreSQL's `COPY ... TEXT` uses).
fn tsv_field(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('\t', "\\t")
        .replace('\n', "\\n")
        .replace('\r', "\\r")
}

fn markdown_field(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace("\r\n", "<br>")
        .replace(['\n', '\r'], "<br>")
}

/// The result's rows in `format`, with a header (JSON: objects keyed by column name; a
/// repeated name gets `_2`, `_3`...).
pub fn render(r: &StatementResult, format: CopyFormat) -> String {
    let names: Vec<&str> = r.columns.iter().map(|c| c.name.as_str()).collect();
    render_rows(&names, &r.rows, format)
}

/// Rows the app has (loaded, sorted, filtered or selected) to copy: the console's own, so
/// masked where they were masked.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CopyRequest {
    pub columns: Vec<String>,
    #[cfg_attr(feature = "ts", ts(type = "Array<Array<unknown>>"))]
    pub rows: Vec<Vec<Value>>,
    pub format: CopyFormat,
}

impl CopyRequest {
    pub fn render(&self) -> String {
        let names: Vec<&str> = self.columns.iter().map(String::as_str).collect();
        render_rows(&names, &self.rows, self.format)
    }
}

/// `rows` under the column `names` in `format`.
pub fn render_rows(names: &[&str], rows: &[Vec<Value>], format: CopyFormat) -> String {
    match format {
        CopyFormat::Csv | CopyFormat::Tsv => {
            let (sep, field): (&str, fn(&str) -> String) = match format {
                CopyFormat::Csv => (",", csv_field),
                _ => ("\t", tsv_field),
            };
            let line = |cells: Vec<String>| cells.join(sep);
            let mut out = line(names.iter().map(|n| field(n)).collect());
            out.push_str("\r\n");
            for row in rows {
                out.push_str(&line(row.iter().map(|v| field(&text(v))).collect()));
                out.push_str("\r\n");
            }
            if format == CopyFormat::Tsv {
                out = out.replace("\r\n", "\n");
            }
            out
        }
        CopyFormat::Json => {
            let keys = unique(names);
            let rows: Vec<Value> = rows
                .iter()
                .map(|row| {
                    let mut m = Map::new();
                    for (k, v) in keys.iter().zip(row) {
                        m.insert(k.clone(), v.clone());
                    }
                    Value::Object(m)
                })
                .collect();
            let mut s = serde_json::to_string_pretty(&rows).unwrap_or_else(|_| "[]".into());
            s.push('\n');
            s
        }
        CopyFormat::Markdown => {
            let mut out = format!(
                "| {} |\n|{}|\n",
                names
                    .iter()
                    .map(|n| markdown_field(n))
                    .collect::<Vec<_>>()
                    .join(" | "),
                names.iter().map(|_| " --- ").collect::<Vec<_>>().join("|")
            );
            for row in rows {
                out.push_str(&format!(
                    "| {} |\n",
                    row.iter()
                        .map(|v| markdown_field(&text(v)))
                        .collect::<Vec<_>>()
                        .join(" | ")
                ));
            }
            out
        }
    }
}

/// Column names made unique for JSON keys.
fn unique(names: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(names.len());
    for n in names {
        let mut key = n.to_string();
        let mut i = 2;
        while out.contains(&key) {
            key = format!("{n}_{i}");
            i += 1;
        }
        out.push(key);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::ConsoleColumn;
    use serde_json::json;

    fn result() -> StatementResult {
        let col = |name: &str| ConsoleColumn {
            name: name.into(),
            type_name: "TEXT".into(),
            table: None,
            masked: false,
        };
        StatementResult {
            sql: "select".into(),
            line: 1,
            command: "SELECT 2".into(),
            columns: vec![col("ref"), col("note"), col("ref")],
            rows: vec![
                vec![
                    json!("component:default/a"),
                    json!("say \"hi\", then\nleave"),
                    json!(1),
                ],
                vec![json!("x|y"), Value::Null, json!({"k": [1]})],
            ],
            row_count: 2,
            rows_affected: 0,
            truncated: false,
            elapsed_ms: 1.0,
        }
    }

    #[test]
    fn each_format_keeps_every_value_readable_back() {
        let r = result();
        assert_eq!(
            render(&r, CopyFormat::Csv),
            "ref,note,ref\r\ncomponent:default/a,\"say \"\"hi\"\", then\nleave\",1\r\nx|y,,\"{\"\"k\"\":[1]}\"\r\n"
        );
        assert_eq!(
            render(&r, CopyFormat::Tsv),
            "ref\tnote\tref\ncomponent:default/a\tsay \"hi\", then\\nleave\t1\nx|y\t\t{\"k\":[1]}\n"
        );
        let j: Value = serde_json::from_str(&render(&r, CopyFormat::Json)).unwrap();
        assert_eq!(j[0]["ref_2"], json!(1));
        assert_eq!(j[1]["note"], Value::Null);
        assert_eq!(j[1]["ref_2"], json!({"k": [1]}));
        let md = render(&r, CopyFormat::Markdown);
        assert!(md.starts_with("| ref | note | ref |\n| --- | --- | --- |\n"));
        assert!(md.contains("| x\\|y |  | {\"k\":[1]} |"));
        assert!(md.contains("then<br>leave"));
        assert!("yaml".parse::<CopyFormat>().is_err());
        assert_eq!("MD".parse::<CopyFormat>().unwrap(), CopyFormat::Markdown);
    }
}

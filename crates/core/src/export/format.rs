//! The export formats ([`ExportFormat`]: CSV or JSON) and what an export reports having
//! written ([`ExportSummary`]).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{CoreError, Result};

/// An export format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    /// RFC 4180: a header line, fields quoted when needed, CRLF line ends.
    Csv,
    /// One JSON array of objects, one object per line.
    Json,
}

impl FromStr for ExportFormat {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "csv" => Ok(ExportFormat::Csv),
            "json" => Ok(ExportFormat::Json),
            other => Err(CoreError::config(format!(
                "unknown export format `{other}`: use csv or json"
            ))),
        }
    }
}

impl fmt::Display for ExportFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ExportFormat::Csv => "csv",
            ExportFormat::Json => "json",
        })
    }
}

/// What an export wrote.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ExportSummary {
    pub format: ExportFormat,
    pub rows: u64,
    pub columns: Vec<String>,
    /// The SQL that produced the rows, when they came from a query (values are bound).
    pub sql: Option<String>,
}

pub(super) fn io_err(e: std::io::Error) -> CoreError {
    CoreError::io("cannot write the export to", "<output>", e)
}

//! What a page of a table asks for ([`TableQuery`]): the sort, the page size and cursor, and
//! the filters ([`Filter`], parsed from and shown as `COL=VALUE`, `COL~VALUE`, `COL>VALUE`,
//! `COL<VALUE`, `COL:null`, `COL:notnull`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{CoreError, Result};

/// A filter operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum FilterOp {
    /// `COL=VALUE`: equal (the value is read as the column's type).
    Eq,
    /// `COL~VALUE`: the value's text contains VALUE, case-insensitively (`ILIKE` on `::text`).
    Contains,
    /// `COL:null`.
    IsNull,
    /// `COL:notnull`.
    NotNull,
    /// `COL>VALUE`.
    Gt,
    /// `COL<VALUE`.
    Lt,
}

/// One filter on one column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Filter {
    pub column: String,
    pub op: FilterOp,
    #[serde(default)]
    pub value: Option<String>,
}

impl FromStr for Filter {
    type Err = CoreError;

    /// Parses `COL=VALUE`, `COL~VALUE`, `COL>VALUE`, `COL<VALUE`, `COL:null`, `COL:notnull`.
    fn from_str(s: &str) -> Result<Self> {
        let bad = || {
            CoreError::config(format!(
                "invalid filter `{s}`: use COL=VALUE (equals), COL~VALUE (contains), COL>VALUE, COL<VALUE, COL:null or COL:notnull"
            ))
        };
        let i = s.find(['=', '~', '>', '<', ':']).ok_or_else(bad)?;
        let column = s[..i].trim().to_string();
        if column.is_empty() {
            return Err(bad());
        }
        let rest = &s[i + 1..];
        let (op, value) = match &s[i..=i] {
            "=" => (FilterOp::Eq, Some(rest.to_string())),
            "~" => (FilterOp::Contains, Some(rest.to_string())),
            ">" => (FilterOp::Gt, Some(rest.to_string())),
            "<" => (FilterOp::Lt, Some(rest.to_string())),
            _ => match rest.trim().to_ascii_lowercase().as_str() {
                "null" => (FilterOp::IsNull, None),
                "notnull" | "not-null" | "!null" => (FilterOp::NotNull, None),
                _ => return Err(bad()),
            },
        };
        Ok(Filter { column, op, value })
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = self.value.as_deref().unwrap_or_default();
        match self.op {
            FilterOp::Eq => write!(f, "{}={v}", self.column),
            FilterOp::Contains => write!(f, "{}~{v}", self.column),
            FilterOp::Gt => write!(f, "{}>{v}", self.column),
            FilterOp::Lt => write!(f, "{}<{v}", self.column),
            FilterOp::IsNull => write!(f, "{}:null", self.column),
            FilterOp::NotNull => write!(f, "{}:notnull", self.column),
        }
    }
}

/// What to show of a table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default)]
pub struct TableQuery {
    /// The column to sort by; default the primary key (else the physical order).
    pub sort: Option<String>,
    pub desc: bool,
    pub filters: Vec<Filter>,
    /// Page size (1..=1000, default 100).
    pub limit: Option<usize>,
    pub cursor: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_parse() {
        let f: Filter = "status=open".parse().unwrap();
        assert_eq!(
            (f.column.as_str(), f.op, f.value.as_deref()),
            ("status", FilterOp::Eq, Some("open"))
        );
        let f: Filter = "spec~a=b".parse().unwrap();
        assert_eq!(
            (f.op, f.value.as_deref()),
            (FilterOp::Contains, Some("a=b"))
        );
        assert_eq!(
            "secrets:null".parse::<Filter>().unwrap().op,
            FilterOp::IsNull
        );
        assert_eq!(
            "secrets:notnull".parse::<Filter>().unwrap().op,
            FilterOp::NotNull
        );
        assert_eq!(
            "created_at>2026-01-01".parse::<Filter>().unwrap().op,
            FilterOp::Gt
        );
        assert!("nothing".parse::<Filter>().is_err());
        assert!("=x".parse::<Filter>().is_err());
        assert!("a:maybe".parse::<Filter>().is_err());
        assert_eq!("a:null".parse::<Filter>().unwrap().to_string(), "a:null");
    }
}

//! The account of an import that the user sees: each value read and where it came from
//! ([`ReadValue`]), the warnings, and the mask that stands in for a secret. [`Cx`] carries them,
//! with the environment, through the interpretation of `backend.database`.

use serde::Serialize;

/// How a secret is shown in [`ReadValue`]. Unlike [`crate::secrets::mask`] no prefix is kept:
/// four characters of a password are already too many.
pub(super) const MASKED: &str = "••••••••";

/// One value that was read, for showing the user what was used and from where.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ReadValue {
    /// The config key, e.g. `backend.database.connection.host`.
    pub key: String,
    /// The value; secrets are masked.
    pub value: String,
    /// The file it came from, or `env FOO` / `file /path` for substitutions, or `env PGHOST`
    /// for node-postgres' own fallbacks.
    pub source: String,
}

/// The environment, and what has been read and warned about so far.
pub(super) struct Cx<'a> {
    pub(super) env: &'a dyn Fn(&str) -> Option<String>,
    pub(super) read: Vec<ReadValue>,
    pub(super) warnings: Vec<String>,
}

impl Cx<'_> {
    pub(super) fn record(&mut self, key: &str, value: &str, source: String) {
        self.read.push(ReadValue {
            key: key.to_string(),
            value: value.to_string(),
            source,
        });
    }

    pub(super) fn warn(&mut self, warning: String) {
        if !self.warnings.contains(&warning) {
            self.warnings.push(warning);
        }
    }

    pub(super) fn env(&self, name: &str) -> Option<String> {
        (self.env)(name).filter(|v| !v.is_empty())
    }
}

//! The console's history and saved queries, per profile, in the config folder
//! (`console/<profile>.json`, written atomically). Only the SQL and where it ran are kept, never
//! results; JWTs and `PASSWORD '...'` literals in the SQL are masked before it is stored.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{CoreError, Result};
use crate::profile::{config_dir, write_atomic};
use crate::redact::{REDACTED, redact_text};
use crate::tables::Target;

/// Runs kept per profile (the oldest go first).
pub const HISTORY_CAP: usize = 500;

/// One run of the console.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct HistoryEntry {
    pub sql: String,
    /// Where it ran: the database (or area) as chosen.
    pub target: String,
    /// When, in seconds since 1970 (UTC).
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub at: u64,
    pub statements: usize,
    /// The error code of the statement that failed, if one did.
    pub failed: Option<String>,
    pub elapsed_ms: f64,
}

/// A query kept under a name.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SavedQuery {
    pub name: String,
    pub sql: String,
    pub target: String,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub saved_at: u64,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Book {
    #[serde(default)]
    history: Vec<HistoryEntry>,
    #[serde(default)]
    saved: Vec<SavedQuery>,
}

/// The history file of one profile.
#[derive(Debug, Clone)]
pub struct History {
    path: PathBuf,
}

impl History {
    /// The history of profile `profile` in the config folder.
    pub fn for_profile(profile: &str) -> Result<Self> {
        let safe: String = profile
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        Ok(Self::at(
            config_dir()?.join("console").join(format!("{safe}.json")),
        ))
    }

    pub fn at(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn read(&self) -> Result<Book> {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                CoreError::config(format!(
                    "the console history {} is not readable ({e}); move it away to start a new one",
                    self.path.display()
                ))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Book::default()),
            Err(e) => Err(CoreError::io("cannot read", &self.path, e)),
        }
    }

    fn write(&self, book: &Book) -> Result<()> {
        let bytes =
            serde_json::to_vec_pretty(book).map_err(|e| CoreError::Internal(e.to_string()))?;
        write_atomic(&self.path, &bytes)
    }

    /// Adds a run, newest first; the same SQL run again on the same target moves to the top.
    pub fn record(&self, mut entry: HistoryEntry) -> Result<()> {
        entry.sql = mask_sql(entry.sql.trim());
        if entry.sql.is_empty() {
            return Ok(());
        }
        let mut book = self.read()?;
        book.history
            .retain(|h| !(h.sql == entry.sql && h.target == entry.target));
        book.history.insert(0, entry);
        book.history.truncate(HISTORY_CAP);
        self.write(&book)
    }

    /// The runs whose SQL or target contains `text` (any case), newest first.
    pub fn search(&self, text: &str, limit: usize) -> Result<Vec<HistoryEntry>> {
        let needle = text.to_lowercase();
        Ok(self
            .read()?
            .history
            .into_iter()
            .filter(|h| {
                needle.is_empty()
                    || h.sql.to_lowercase().contains(&needle)
                    || h.target.to_lowercase().contains(&needle)
            })
            .take(limit)
            .collect())
    }

    /// Saves `sql` under `name`, replacing a query of that name.
    pub fn save_query(&self, name: &str, sql: &str, target: &str, now: u64) -> Result<()> {
        let name = name.trim();
        if name.is_empty() {
            return Err(CoreError::config("a saved query needs a name"));
        }
        let mut book = self.read()?;
        book.saved.retain(|q| q.name != name);
        book.saved.push(SavedQuery {
            name: name.to_string(),
            sql: mask_sql(sql.trim()),
            target: target.to_string(),
            saved_at: now,
        });
        book.saved.sort_by_key(|q| q.name.to_lowercase());
        self.write(&book)
    }

    pub fn delete_query(&self, name: &str) -> Result<()> {
        let mut book = self.read()?;
        let before = book.saved.len();
        book.saved.retain(|q| q.name != name);
        if book.saved.len() == before {
            return Err(CoreError::not_found("saved query", name));
        }
        self.write(&book)
    }

    pub fn saved(&self) -> Result<Vec<SavedQuery>> {
        Ok(self.read()?.saved)
    }
}

/// Where a run ran, as the history shows it: the area, or the database (with its schema).
pub fn target_label(target: &Target) -> String {
    match target {
        Target::Anywhere => "every plugin database".to_string(),
        Target::Area { area } => area.clone(),
        Target::Database {
            database,
            schema: Some(schema),
        } => format!("{database}.{schema}"),
        Target::Database { database, .. } => database.clone(),
    }
}

/// Seconds since 1970, now.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `sql` with JWTs masked and the literal after each `PASSWORD` keyword replaced.
pub fn mask_sql(sql: &str) -> String {
    let sql = redact_text(sql);
    let upper = sql.to_ascii_uppercase();
    let mut out = String::with_capacity(sql.len());
    let mut rest = 0;
    let mut from = 0;
    while let Some(p) = upper[from..].find("PASSWORD") {
        let kw_end = from + p + "PASSWORD".len();
        let after = &sql[kw_end..];
        let skipped = after.len() - after.trim_start().len();
        let lit_start = kw_end + skipped;
        if sql[lit_start..].starts_with('\'') {
            // The literal ends at a quote that is not doubled.
            let b = sql.as_bytes();
            let mut i = lit_start + 1;
            while i < b.len() {
                if b[i] == b'\'' {
                    if b.get(i + 1) == Some(&b'\'') {
                        i += 2;
                        continue;
                    }
                    break;
                }
                i += 1;
            }
            out.push_str(&sql[rest..lit_start]);
            out.push_str(&format!("'{REDACTED}'"));
            rest = (i + 1).min(sql.len());
            from = rest;
        } else {
            from = kw_end;
        }
    }
    out.push_str(&sql[rest..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(sql: &str, target: &str, at: u64) -> HistoryEntry {
        HistoryEntry {
            sql: sql.into(),
            target: target.into(),
            at,
            statements: 1,
            failed: None,
            elapsed_ms: 1.0,
        }
    }

    #[test]
    fn runs_are_kept_newest_first_searchable_and_capped() {
        let dir = tempfile::tempdir().unwrap();
        let h = History::at(dir.path().join("console/p.json"));
        assert!(h.search("", 10).unwrap().is_empty());
        h.record(entry("SELECT 1", "catalog", 1)).unwrap();
        h.record(entry("SELECT * FROM tasks", "scaffolder", 2))
            .unwrap();
        h.record(entry("  SELECT 1  ", "catalog", 3)).unwrap();
        let all = h.search("", 10).unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!((all[0].sql.as_str(), all[0].at), ("SELECT 1", 3));
        assert_eq!(h.search("TASKS", 10).unwrap().len(), 1);
        assert_eq!(h.search("scaffolder", 10).unwrap()[0].at, 2);
        for i in 0..(HISTORY_CAP + 20) {
            h.record(entry(&format!("SELECT {i}"), "catalog", i as u64))
                .unwrap();
        }
        assert_eq!(h.search("", usize::MAX).unwrap().len(), HISTORY_CAP);
        // Only SQL, where and when: no field for results exists in the file.
        let file = std::fs::read_to_string(h.path()).unwrap();
        assert!(!file.contains("rows"));
    }

    #[test]
    fn saved_queries_replace_by_name_and_passwords_are_masked() {
        let dir = tempfile::tempdir().unwrap();
        let h = History::at(dir.path().join("p.json"));
        h.save_query("b", "SELECT 2", "auth", 1).unwrap();
        h.save_query("a", "ALTER ROLE x PASSWORD 'it''s secret' LOGIN", "auth", 2)
            .unwrap();
        h.save_query("b", "SELECT 3", "auth", 3).unwrap();
        let saved = h.saved().unwrap();
        assert_eq!(saved.len(), 2);
        assert_eq!(saved[0].name, "a");
        assert!(!saved[0].sql.contains("secret"), "{}", saved[0].sql);
        assert!(saved[0].sql.ends_with("LOGIN"), "{}", saved[0].sql);
        assert_eq!(saved[1].sql, "SELECT 3");
        assert!(h.save_query(" ", "SELECT 1", "auth", 4).is_err());
        h.delete_query("a").unwrap();
        assert!(h.delete_query("a").is_err());
        std::fs::write(h.path(), "not json").unwrap();
        let e = h.saved().unwrap_err().to_string();
        assert!(e.contains("move it away"), "{e}");
        assert_eq!(mask_sql("select password from t"), "select password from t");
    }
}

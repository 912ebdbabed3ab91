//! Printing: aligned tables for people, JSON for scripts, errors on stderr.

use bsi_core::CoreError;
use serde::Serialize;

/// Prints rows as an aligned table with a header.
pub fn table(headers: &[&str], rows: Vec<Vec<String>>) {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<String>| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                s.push_str(c);
            } else {
                s.push_str(&format!("{c:<w$}  ", w = widths[i]));
            }
        }
        println!("{}", s.trim_end());
    };
    line(headers.iter().map(|h| h.to_uppercase()).collect());
    for row in rows {
        line(row);
    }
}

pub fn json<T: Serialize>(value: &T) -> Result<(), CoreError> {
    use std::io::Write;
    let text =
        serde_json::to_string_pretty(value).map_err(|e| CoreError::Internal(e.to_string()))?;
    // A closed pipe (`bsi ... --json | head`) ends the output quietly instead of panicking.
    match writeln!(std::io::stdout().lock(), "{text}") {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(CoreError::io("cannot write", "stdout", e))
        }
        _ => Ok(()),
    }
}

pub fn print_error(err: &CoreError, json: bool) {
    if json {
        let payload = serde_json::json!({ "error": err.to_payload() });
        println!("{payload}");
    }
    eprintln!("error[{}]: {err}", err.code().as_str());
}

pub fn human_size(bytes: Option<i64>) -> String {
    let Some(b) = bytes else {
        return "-".to_string();
    };
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < units.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", units[u])
    }
}

//! Printing: aligned tables for people, JSON for scripts, errors on stderr.
//!
//! Everything the commands print goes through [`write_out`] (the `outln!`/`out!` macros):
//! a reader that stops reading (`bsi ... | head`) ends the run quietly with exit 0, any other
//! write error (a full disk) ends it with the file error's exit code and a message naming
//! standard output. Text output is made terminal-safe by [`sanitize`]: control characters in
//! the data are printed visibly escaped, never as control sequences. JSON is exact.

use std::borrow::Cow;
use std::io::Write;

use bsi_core::CoreError;
use serde::Serialize;

/// Prints a formatted line on standard output, terminal-safe (see [`sanitize`]).
macro_rules! outln {
    () => {
        $crate::output::write_out(&::std::format!("\n"), true)
    };
    ($($arg:tt)*) => {
        $crate::output::write_out(&::std::format!("{}\n", ::std::format_args!($($arg)*)), true)
    };
}

/// Prints formatted text on standard output, terminal-safe (see [`sanitize`]).
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::output::write_out(&::std::format!($($arg)*), true)
    };
}

/// Prints a formatted line on standard output as it is: for lines whose data parts were made
/// safe already and that carry colours of our own.
macro_rules! outln_raw {
    ($($arg:tt)*) => {
        $crate::output::write_out(&::std::format!("{}\n", ::std::format_args!($($arg)*)), false)
    };
}

/// Prints a formatted line on standard error, terminal-safe (see [`sanitize`]).
macro_rules! errln {
    ($($arg:tt)*) => {
        $crate::output::write_err(&::std::format!("{}\n", ::std::format_args!($($arg)*)))
    };
}

/// Text as it may reach a terminal: control characters other than newline and tab (C0, DEL,
/// C1; so also the ESC that starts colour, screen-clearing or window-title sequences) are
/// written visibly as `\u{..}` escapes. Text without them is returned as it is.
pub fn sanitize(s: &str) -> Cow<'_, str> {
    let unsafe_char = |c: char| c.is_control() && c != '\n' && c != '\t';
    if !s.chars().any(unsafe_char) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if unsafe_char(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Writes `text` on standard output (made safe with [`sanitize`] when `safe`). A closed pipe
/// ends the run quietly (exit 0); any other write error ends it with the file exit code.
pub fn write_out(text: &str, safe: bool) {
    let text = if safe {
        sanitize(text)
    } else {
        Cow::Borrowed(text)
    };
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        drop(out);
        stdout_failed(e);
    }
}

/// Writes `text` on standard error, made safe with [`sanitize`]. Errors are ignored: there is
/// nowhere left to report them.
pub fn write_err(text: &str) {
    let _ = std::io::stderr()
        .lock()
        .write_all(sanitize(text).as_bytes());
}

/// Ends the run after standard output failed: quietly when the reader went away, with the
/// file error otherwise.
pub fn stdout_failed(e: std::io::Error) -> ! {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
    let err = CoreError::io("cannot write to", "stdout", e);
    write_err(&format!("error[{}]: {err}\n", err.code().as_str()));
    std::process::exit(err.code().exit_code());
}

/// Prints rows as an aligned table with a header.
pub fn table(headers: &[&str], rows: Vec<Vec<String>>) {
    let rows: Vec<Vec<String>> = rows
        .into_iter()
        .map(|r| r.iter().map(|c| sanitize(c).into_owned()).collect())
        .collect();
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
        outln!("{}", s.trim_end());
    };
    line(headers.iter().map(|h| h.to_uppercase()).collect());
    for row in rows {
        line(row);
    }
}

/// Prints `value` as pretty JSON, exactly (serde escapes control characters in strings).
pub fn json<T: Serialize>(value: &T) -> Result<(), CoreError> {
    let text =
        serde_json::to_string_pretty(value).map_err(|e| CoreError::Internal(e.to_string()))?;
    write_out(&format!("{text}\n"), false);
    Ok(())
}

/// Prints `err` (as JSON on stdout too with `--json`), the `bsi` commands its message names
/// made pasteable for this run by `pasteable`.
pub fn print_error(err: &CoreError, json: bool, pasteable: impl Fn(&str) -> String) {
    let message = pasteable(&err.to_string());
    if json {
        let mut payload = err.to_payload();
        payload.message = message.clone();
        let payload = serde_json::json!({ "error": payload });
        let mut out = std::io::stdout().lock();
        // The error is reported on standard error below whether or not this line got out.
        let _ = writeln!(out, "{payload}").and_then(|()| out.flush());
    }
    write_err(&format!("error[{}]: {message}\n", err.code().as_str()));
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

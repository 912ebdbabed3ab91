//! What a console statement is, read off its first words: whether it ends or opens a
//! transaction (refused: the console owns the transaction every script runs in) and whether
//! it may write (a write needs write mode and the typed confirmation).

use crate::error::{CoreError, Result};
use crate::sql::comment_end;

/// The statement's leading keywords, upper case, comments and whitespace skipped.
pub fn leading_words(sql: &str, n: usize) -> Vec<String> {
    let mut words = Vec::new();
    let b = sql.as_bytes();
    let mut i = 0;
    while i < b.len() && words.len() < n {
        match b[i] {
            b'-' | b'/' if comment_end(b, i).is_some() => {
                i = comment_end(b, i).unwrap_or(b.len());
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let start = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                    i += 1;
                }
                words.push(sql[start..i].to_ascii_uppercase());
            }
            c if c.is_ascii_whitespace() || c == b'(' => i += 1,
            _ => break,
        }
    }
    words
}

/// Refuses statements that would end the console's transaction or change what it may do:
/// the script's reads run in one read-only transaction that is rolled back, its writes in one
/// that is committed or rolled back as asked.
pub fn refuse_transaction_control(sql: &str) -> Result<()> {
    let words = leading_words(sql, 4);
    let w: Vec<&str> = words.iter().map(String::as_str).collect();
    let refused = matches!(
        w.as_slice(),
        [
            "BEGIN" | "START" | "COMMIT" | "END" | "ROLLBACK" | "ABORT",
            ..
        ] | ["SAVEPOINT" | "RELEASE", ..]
            | ["PREPARE", "TRANSACTION", ..]
            | ["SET", "TRANSACTION", ..]
            | ["SET", "SESSION", "CHARACTERISTICS", ..]
            | [
                "SET",
                "SESSION" | "LOCAL",
                "DEFAULT_TRANSACTION_READ_ONLY" | "TRANSACTION_READ_ONLY",
                ..
            ]
            | [
                "SET" | "RESET",
                "DEFAULT_TRANSACTION_READ_ONLY" | "TRANSACTION_READ_ONLY",
                ..
            ]
            | ["RESET", "ALL", ..]
            | ["DISCARD", ..]
    );
    if refused {
        return Err(CoreError::config(format!(
            "`{}` is not run by the console: each run is one transaction of its own (read-only \
             and rolled back, or in write mode committed or rolled back when you choose)",
            words.join(" ")
        )));
    }
    Ok(())
}

/// Whether a statement only reads: `SELECT`, `VALUES`, `TABLE`, `SHOW`, `EXPLAIN` without
/// `ANALYZE`, and `WITH` queries whose words name no data change. Anything else may write.
pub fn only_reads(sql: &str) -> bool {
    let words = leading_words(sql, 3);
    match words.first().map(String::as_str) {
        Some("SELECT" | "VALUES" | "TABLE" | "SHOW") => !selects_into(sql),
        Some("EXPLAIN") => match explained(sql) {
            // Without ANALYZE the statement is only planned; with it, it runs.
            Some((analyze, inner)) => !analyze || only_reads(inner),
            None => false,
        },
        Some("WITH") => {
            let upper = sql.to_ascii_uppercase();
            !["INSERT", "UPDATE", "DELETE", "MERGE"].iter().any(|k| {
                upper
                    .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
                    .any(|w| w == *k)
            })
        }
        _ => false,
    }
}

/// The statement an `EXPLAIN` explains, and whether it is run (`ANALYZE`, in the options list
/// or as a keyword); `None` when `sql` is no `EXPLAIN` the console can read.
pub fn explained(sql: &str) -> Option<(bool, &str)> {
    let b = sql.as_bytes();
    let mut i = skip_space(b, 0);
    if !sql[i..].get(..7)?.eq_ignore_ascii_case("explain") {
        return None;
    }
    i = skip_space(b, i + 7);
    let mut analyze = false;
    if b.get(i) == Some(&b'(') {
        let close = i + sql[i..].find(')')?;
        for option in sql[i + 1..close].split(',') {
            let mut parts = option.split_whitespace();
            let name = parts.next().unwrap_or_default().to_ascii_uppercase();
            let value = parts.next().map(str::to_ascii_uppercase);
            if (name == "ANALYZE" || name == "ANALYSE")
                && !matches!(value.as_deref(), Some("FALSE" | "OFF" | "0"))
            {
                analyze = true;
            }
        }
        i = skip_space(b, close + 1);
    } else {
        loop {
            let word_end = i + sql[i..]
                .find(|c: char| !c.is_ascii_alphabetic())
                .unwrap_or(sql.len() - i);
            match sql[i..word_end].to_ascii_uppercase().as_str() {
                "ANALYZE" | "ANALYSE" => analyze = true,
                "VERBOSE" => {}
                _ => break,
            }
            i = skip_space(b, word_end);
        }
    }
    Some((analyze, &sql[i..]))
}

/// The index of the first byte at or after `i` that is neither whitespace nor in a comment.
fn skip_space(b: &[u8], mut i: usize) -> usize {
    while i < b.len() {
        if b[i].is_ascii_whitespace() {
            i += 1;
        } else if let Some(end) = comment_end(b, i) {
            i = end;
        } else {
            break;
        }
    }
    i
}

/// `SELECT ... INTO new_table` creates a table.
fn selects_into(sql: &str) -> bool {
    sql.to_ascii_uppercase()
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .any(|w| w == "INTO")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transaction_control_is_refused_behind_comments_and_case() {
        for sql in [
            "commit",
            "  /* a /* nested */ comment */ COMMIT",
            "-- note\nrollback",
            "end",
            "BEGIN READ WRITE",
            "start transaction",
            "set transaction read write",
            "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE",
            "set default_transaction_read_only = off",
            "SET SESSION default_transaction_read_only TO off",
            "reset all",
            "savepoint a",
            "release a",
            "PREPARE TRANSACTION 'x'",
            "commit prepared 'x'",
            "discard all",
        ] {
            assert!(refuse_transaction_control(sql).is_err(), "{sql}");
        }
        for sql in [
            "select 1",
            "SET search_path TO public",
            "set statement_timeout = '1s'",
            "explain select 1",
            "with x as (select 1) select * from x",
        ] {
            assert!(refuse_transaction_control(sql).is_ok(), "{sql}");
        }
    }

    #[test]
    fn reads_are_told_from_possible_writes() {
        for sql in [
            "select * from t",
            "  (select 1)",
            "VALUES (1)",
            "table t",
            "show server_version",
            "explain (format json) select 1",
            "explain (format json) delete from t",
            "explain (analyze, format json) select * from t",
            "explain (analyze off) update t set a = 1",
            "EXPLAIN ANALYZE VERBOSE SELECT 1",
            "with a as (select 1) select * from a",
        ] {
            assert!(only_reads(sql), "{sql}");
        }
        for sql in [
            "delete from t",
            "update t set a = 1",
            "insert into t values (1)",
            "select * into t2 from t",
            "explain analyze delete from t",
            "explain (format json, analyze) delete from t",
            "EXPLAIN (ANALYZE true, BUFFERS) UPDATE t SET a = 1",
            "explain verbose analyze insert into t values (1)",
            "with d as (delete from t returning *) select * from d",
            "create table x (a int)",
            "do $$ begin end $$",
            "call p()",
            "vacuum t",
        ] {
            assert!(!only_reads(sql), "{sql}");
        }
    }
}

//! Splits SQL text into statements, respecting quotes, dollar quotes and comments, so that a
//! failing migration can say which statement failed.

/// One statement and the line of the file it starts on (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub line: usize,
    pub sql: String,
}

/// Whitespace as PostgreSQL's scanner reads it: space, tab, newline, carriage return, form feed
/// and vertical tab. Anything else (a no-break space too) is code.
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' | b'\x0b')
}

fn trim(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_ascii() && is_space(c as u8))
}

/// Where the comment starting at `i` ends: the newline that ends a `--` comment, or just past
/// the `*/` that closes a (nested) block comment; `None` when no comment starts at `i`.
pub fn comment_end(b: &[u8], i: usize) -> Option<usize> {
    match (b.get(i), b.get(i + 1)) {
        (Some(b'-'), Some(b'-')) => Some(
            b[i..]
                .iter()
                .position(|&c| c == b'\n')
                .map_or(b.len(), |p| i + p),
        ),
        (Some(b'/'), Some(b'*')) => {
            let (mut j, mut depth) = (i, 0usize);
            while j < b.len() {
                if b[j] == b'/' && b.get(j + 1) == Some(&b'*') {
                    depth += 1;
                    j += 2;
                } else if b[j] == b'*' && b.get(j + 1) == Some(&b'/') {
                    depth -= 1;
                    j += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    j += 1;
                }
            }
            Some(j)
        }
        _ => None,
    }
}

/// Splits `sql` at top-level semicolons. Empty statements and comment-only pieces are dropped.
/// A statement's text starts with its first code (the line given is that code's) and has no
/// whitespace at either end.
pub fn split(sql: &str) -> Vec<Statement> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    let mut has_code = false;
    let mut first_code: Option<usize> = None;
    while i < b.len() {
        let c = b[i];
        match c {
            b'-' | b'/' if comment_end(b, i).is_some() => {
                i = comment_end(b, i).unwrap_or(b.len());
                continue;
            }
            b'\'' | b'"' => {
                first_code.get_or_insert(i);
                has_code = true;
                let q = c;
                i += 1;
                while i < b.len() {
                    if b[i] == q {
                        if b.get(i + 1) == Some(&q) {
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    i += 1;
                }
                i += 1;
                continue;
            }
            b'$' => {
                // $tag$ ... $tag$
                let mut j = i + 1;
                while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                    j += 1;
                }
                if j < b.len() && b[j] == b'$' && !(j > i + 1 && b[i + 1].is_ascii_digit()) {
                    first_code.get_or_insert(i);
                    has_code = true;
                    let tag = &sql[i..=j];
                    match sql[j + 1..].find(tag) {
                        Some(end) => i = j + 1 + end + tag.len(),
                        None => i = b.len(),
                    }
                    continue;
                }
                // A parameter such as `$1`: code like any other.
                first_code.get_or_insert(i);
                has_code = true;
            }
            b';' => {
                if has_code {
                    let from = first_code.unwrap_or(start);
                    out.push(Statement {
                        line: sql[..from].matches('\n').count() + 1,
                        sql: trim(&sql[from..i]).to_string(),
                    });
                }
                start = i + 1;
                has_code = false;
                first_code = None;
                i += 1;
                continue;
            }
            c if is_space(c) => {}
            _ => {
                first_code.get_or_insert(i);
                has_code = true;
            }
        }
        i += 1;
    }
    if has_code {
        let from = first_code.unwrap_or(start);
        out.push(Statement {
            line: sql[..from].matches('\n').count() + 1,
            sql: trim(&sql[from..]).to_string(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_respecting_quotes_and_dollar_quotes() {
        let sql = "-- header; with a semicolon\nCREATE TABLE a (x text DEFAULT ';');\n\n/* block; */\nCREATE FUNCTION f() RETURNS trigger AS $fn$\nBEGIN\n  RAISE 'a;b';\nEND;\n$fn$ LANGUAGE plpgsql;\nCOMMENT ON TABLE a IS 'it''s; fine';\nSELECT $1";
        let s = split(sql);
        assert_eq!(s.len(), 4, "{s:#?}");
        assert_eq!(s[0].line, 2);
        assert!(s[0].sql.starts_with("CREATE TABLE a"));
        assert_eq!(s[1].line, 5);
        assert!(s[1].sql.ends_with("LANGUAGE plpgsql"));
        assert!(s[2].sql.contains("it''s; fine"));
        assert_eq!(s[3].sql, "SELECT $1");
        let s = split("$1 A; $2");
        assert_eq!(s[0].sql, "$1 A");
        assert_eq!(s[1].sql, "$2");
    }

    #[test]
    fn comment_only_is_empty() {
        assert!(split("-- nothing\n/* here */\n;;").is_empty());
    }

    #[test]
    fn vertical_tabs_are_whitespace_and_other_spaces_code() {
        // A vertical tab neither makes an (empty) statement nor starts one before a comment.
        assert!(split("\x0b;\x0b").is_empty());
        let s = split("SELECT 1;\x0b\n-- next\nSELECT 2\x0b");
        assert_eq!(s[1].sql, "SELECT 2");
        assert_eq!(s[1].line, 3);
        // A no-break space is no whitespace to PostgreSQL: it stays with its statement.
        let s = split("\u{a0}x;\n\u{2028}");
        assert_eq!(s[0].sql, "\u{a0}x");
        assert_eq!(s[1].sql, "\u{2028}");
        assert_eq!(s[1].line, 2);
    }
}

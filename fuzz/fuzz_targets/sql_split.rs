//! The SQL splitter (`sql::split`) on any text: every statement is non-empty, has no
//! whitespace at either end and is found in the input in order, with a line within the input's
//! lines that never goes back; a statement split again is that one statement, on its line 1.

#![no_main]

use bsi_core::sql::split;
use libfuzzer_sys::fuzz_target;

const SPACE: [char; 6] = [' ', '\t', '\n', '\r', '\x0c', '\x0b'];

fn line_at(text: &str, byte: usize) -> usize {
    text[..byte].matches('\n').count() + 1
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let statements = split(text);
    let lines = text.matches('\n').count() + 1;
    let mut from = 0;
    let mut last_line = 1;
    for st in &statements {
        assert!(!st.sql.is_empty(), "empty statement in {statements:?}");
        // No whitespace (as PostgreSQL reads it) at either end.
        assert_eq!(
            st.sql.trim_matches(SPACE),
            st.sql,
            "untrimmed statement in {statements:?}"
        );
        // Found after the previous statement (the first place it is found may be in a comment
        // before it, so the line there is at most its line).
        let at = from
            + text[from..]
                .find(st.sql.as_str())
                .unwrap_or_else(|| panic!("{st:?} is not in the text after byte {from}"));
        assert!(
            (line_at(text, at)..=lines).contains(&st.line),
            "{st:?} found on line {} of {lines}",
            line_at(text, at)
        );
        assert!(st.line >= last_line, "lines go back in {statements:?}");
        last_line = st.line;
        from = at + st.sql.len();
        // A statement is one statement on its own, starting with code.
        let again = split(&st.sql);
        assert!(
            again.len() == 1 && again[0].sql == st.sql && again[0].line == 1,
            "{st:?} splits again into {again:?}"
        );
    }
});
